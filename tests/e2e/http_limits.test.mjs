// http_limits.test.mjs - every resource one client can make the server hold is bounded
// (docs/limits.md), tried from outside as an attacker would: running the process out of file
// descriptors, non-reading SSE clients, floods of server-to-client requests, empty-line
// slowloris, and header values built to fool the Origin, Host, Mcp-Method and Mcp-Name checks.
// Each test starts the everything binary on port 0 over real sockets (node:net, raw bytes); at
// the end the server must exit 0 with no sanitizer report.
//
// Run: MCPD_EVERYTHING=build/asan/everything node --test tests/e2e/http_limits.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { withServerChecked } from './lib/http_server.mjs';
import {
  BOTH, LEGACY, MODERN, echo, echoWorks, exchange, httpReq, legacyPost, meta, metrics, modernPost, open,
  openSession, parseResponse, rpc, rssKb, waitServing,
} from './lib/raw_http.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Under ASan, freed memory waits in a quarantine (256 MB by default) and counts in RSS: keep it
// small so that RSS shows what the server holds.
const SMALL_QUARANTINE = { env: { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:quarantine_size_mb=1` } };

// Opens n connections at once and resolves when each is connected or closed.
async function flood(port, n) {
  const cs = [];
  for (let i = 0; i < n; i++) cs.push(open(port));
  await Promise.all(cs.map((c) => c.connected));
  return cs;
}

// ---- file descriptors ---------------------------------------------------------------------------

describe('file descriptors', () => {
  // (the old server, spinning in accept4 on EMFILE, stopped serving at the 2nd or 3rd round)
  it('with the fd limit at 256, floods of 600 connections leave the server serving', async () => {
    await withServerChecked(async (srv) => {
      for (let round = 0; round < 5; round++) {
        const cs = await flood(srv.port, 600);
        await sleep(1000);
        for (const c of cs) c.sock.destroy();
        await waitServing(srv, 30000);
      }
      assert.match(srv.stderr, /the fd limit 256 allows \d+/, 'the budget is logged');
    }, ['--workers', '2'], { start: { via: ['prlimit', '--nofile=256:256', '--'] } });
  });

  it('out of fds after start (limit lowered to 64): accepting pauses, then resumes', async () => {
    await withServerChecked(async (srv) => {
      assert.ok(await echoWorks(srv));
      execFileSync('prlimit', ['--pid', String(srv.proc.pid), '--nofile=64:64']);
      const cs = await flood(srv.port, 200);
      const end = Date.now() + 15000;
      while (!/accepting paused/.test(srv.stderr) && Date.now() < end) await sleep(50);
      assert.match(srv.stderr, /accept failed \(Too many open files\): accepting paused/);
      for (const c of cs) c.sock.destroy();
      await waitServing(srv, 30000);
    }, ['--workers', '2']);
  });
});

// ---- time limits --------------------------------------------------------------------------------

describe('time limits', () => {
  it('a client sending only empty lines is cut with 408 within the header timeout', async () => {
    await withServerChecked(async (srv) => {
      const cs = await flood(srv.port, 20);
      const t0 = Date.now();
      const timer = setInterval(() => { for (const c of cs) if (!c.closed) c.sock.write('\r\n'); }, 200);
      try {
        for (const c of cs) await c.wait((x) => x.closed, 'the server to close the connection', 20000);
      } finally {
        clearInterval(timer);
      }
      const took = Date.now() - t0;
      for (const c of cs) assert.match(c.text(), /^HTTP\/1\.1 408 /, c.text());
      assert.ok(took < 15000, `cut after ${took} ms`);
    }, ['--header-timeout-ms', '1000']);
  });
});

// ---- unread output ------------------------------------------------------------------------------

describe('unread output', () => {
  // Each client asks for 100k progress notifications (about 13 MB of SSE) and never reads:
  // the old server held all of it (8 clients: RSS +100 MB and more) and kept the connections.
  // With 256 KiB of unsent output allowed per connection the server peaks near +10 MB.
  // The kernel's socket buffers take megabytes before the server holds any: on a loaded machine
  // under TSan the handlers took more than 30 s to fill them, so the wait is bounded at 120 s.
  it('non-reading SSE clients: RSS stays under +32 MB (TSan: 96), the connections end', async () => {
    await withServerChecked(async (srv) => {
      await echoWorks(srv);
      const rss0 = rssKb(srv.proc.pid);
      const body = rpc(1, 'tools/call', { name: 'test_slow', arguments: { steps: 100000, ms: 0 }, _meta: { ...meta(), progressToken: 'p' } });
      const socks = [];
      for (let i = 0; i < 8; i++) {
        const sock = net.connect({ port: srv.port, host: '127.0.0.1' });
        sock.on('error', () => {});
        await new Promise((r) => sock.on('connect', r));
        sock.pause(); // never read
        sock.write(modernPost(srv, body, { Accept: 'text/event-stream' }));
        socks.push(sock);
      }
      const t0 = Date.now();
      let maxRss = rss0, m;
      for (;;) {
        maxRss = Math.max(maxRss, rssKb(srv.proc.pid));
        m = await metrics(srv);
        if (m.mcpd_connections_open <= 1 && m.mcpd_sse_streams === 0) break;
        assert.ok(Date.now() - t0 < 120000, `still open after 120 s: ${JSON.stringify(m)}`);
        await sleep(100);
      }
      const grew = maxRss - rss0;
      // ThreadSanitizer's shadow memory and allocator triple what the server holds
      const limitMb = readFileSync(`/proc/${srv.proc.pid}/maps`, 'utf8').includes('libtsan') ? 96 : 32;
      assert.ok(grew < limitMb * 1024, `RSS grew by ${grew} KiB (limit ${limitMb} MiB)`);
      assert.match(srv.stderr, /bytes of output unsent \(limit 262144\): the client does not read|the client took no byte for 3000 ms/);
      for (const sock of socks) sock.destroy();
      assert.ok(await echoWorks(srv));
    }, ['--max-unsent-output', '262144', '--write-timeout-ms', '3000'], { start: SMALL_QUARANTINE });
  });
});

describe('unread legacy stream', () => {
  // A legacy POST stream cut for its unread output is detached, not ended: the call goes on and
  // a GET with Last-Event-ID gets what the replay window kept, the result last.
  it('is detached past the unsent-output cap and resumes with Last-Event-ID', async () => {
    await withServerChecked(async (srv) => {
      const sid = await openSession(srv, {});
      const c = open(srv.port);
      await c.connected;
      c.sock.pause();
      c.sock.write(legacyPost(srv, rpc(7, 'tools/call', {
        name: 'test_slow', arguments: { steps: 100000, ms: 0 }, _meta: { progressToken: 'p' },
      }), sid));
      const end = Date.now() + 60000;
      for (;;) {
        const m = await metrics(srv);
        if (m.mcpd_sse_streams === 0 && m.mcpd_pool_running === 0 && /bytes of output unsent/.test(srv.stderr)) break;
        assert.ok(Date.now() < end, `not cut, or the call did not end: ${JSON.stringify(m)}`);
        await sleep(100);
      }
      c.sock.resume();
      await c.wait((x) => x.closed, 'the cut connection to end');
      assert.doesNotMatch(c.text(), /"id":7,"result"/, 'the cut stream carried the result');
      const ids = [...c.text().matchAll(/^id: (\d+)-(\d+)$/gm)];
      assert.ok(ids.length > 0, 'events before the cut');
      const [, stream] = ids[ids.length - 1];
      const resume = async (lastId) => {
        const g = open(srv.port);
        await g.connected;
        g.sock.write(httpReq('GET', srv.path, {
          host: `127.0.0.1:${srv.port}`,
          headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': LEGACY, 'Last-Event-ID': lastId },
        }));
        let r = null;
        await g.wait((x) => (r = parseResponse(x.data)), 'the resumed stream');
        g.sock.destroy();
        return r;
      };
      // 100000 progress events, then the result (seq 100001): the window keeps the last 256
      const r = await resume(`${stream}-99990`);
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /^id: \d+-99991$/m);
      assert.match(r.text, /"id":7,"result":\{"content":\[\{"type":"text","text":"done"\}/);
      const [, , seen] = ids[ids.length - 1];
      if (Number(seen) < 100001 - 256) { // what the cut client saw last has left the window
        const old = await resume(`${stream}-${seen}`);
        assert.equal(old.status, 400, old.text);
        assert.match(old.text, /left the replay window/);
      }
    }, ['--max-unsent-output', '262144'], { start: SMALL_QUARANTINE });
  });
});

// ---- pending server-to-client requests ---------------------------------------------------------

describe('server-to-client requests', () => {
  it('a flood of elicitations from one legacy session: 503 past 64 waiting, memory bounded', async () => {
    await withServerChecked(async (srv) => {
      const sid = await openSession(srv, { elicitation: {} });
      await echoWorks(srv);
      const rss0 = rssKb(srv.proc.pid);
      const call = (id) => legacyPost(srv, rpc(id, 'tools/call', { name: 'test_elicitation', arguments: { message: 'who?' } }), sid);
      let asked = 0, refused = 0;
      for (let i = 1; i <= 300; i++) {
        const c = open(srv.port);
        await c.connected;
        c.sock.write(call(i));
        await c.wait((x) => /elicitation\/create/.test(x.text()) || parseResponse(x.data) || x.closed, 'an answer');
        if (/elicitation\/create/.test(c.text())) {
          asked++;
        } else {
          const r = parseResponse(c.data);
          assert.equal(r?.status, 503, c.text());
          assert.equal(r.headers.get('retry-after'), '1');
          const m = JSON.parse(r.text);
          assert.equal(m.error.code, -32000);
          assert.match(m.error.message, /awaiting an answer \(64 in this session, at most 64/);
          refused++;
        }
        c.sock.destroy(); // drops the stream: the question stays pending
      }
      assert.equal(asked, 64);
      assert.equal(refused, 300 - 64);
      const grew = rssKb(srv.proc.pid) - rss0;
      assert.ok(grew < 32 * 1024, `RSS grew by ${grew} KiB`);
      const d = await exchange(srv.port, httpReq('DELETE', srv.path, {
        host: `127.0.0.1:${srv.port}`, headers: { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': LEGACY },
      }));
      assert.equal(d.status, 204);
      const m = await metrics(srv);
      assert.equal(m.mcpd_client_requests_pending, 0, 'every waiting request is freed with its session');
      assert.equal(m.mcpd_client_requests_refused_total, 300 - 64);
      const sid2 = await openSession(srv, { elicitation: {} });
      const c = open(srv.port);
      await c.connected;
      c.sock.write(legacyPost(srv, rpc(1, 'tools/call', { name: 'test_elicitation', arguments: { message: 'who?' } }), sid2));
      await c.wait((x) => /elicitation\/create/.test(x.text()), 'the question of a new session');
      c.sock.destroy();
    }, [], { start: SMALL_QUARANTINE });
  });
});

// ---- fooled headers -----------------------------------------------------------------------------

describe('header checks', () => {
  it('Mcp-Method is literal only: the =?base64?...?= form is refused', async () => {
    await withServerChecked(async (srv) => {
      const r = await exchange(srv.port, modernPost(srv, echo(1), { 'Mcp-Method': '=?base64?dG9vbHMvY2FsbA==?=' }));
      assert.equal(r.status, 400, r.text);
      assert.equal(JSON.parse(r.text).error.code, -32020);
      const ok = await exchange(srv.port, modernPost(srv, echo(2), { 'Mcp-Name': '=?base64?ZWNobw==?=' }));
      assert.equal(ok.status, 200, ok.text); // Mcp-Name may be encoded
    });
  });

  it('a body name with a NUL inside does not match the header holding its prefix', async () => {
    await withServerChecked(async (srv) => {
      const body = rpc(1, 'tools/call', { name: 'echo\u0000evil', arguments: { message: 'hi' }, _meta: meta() });
      const r = await exchange(srv.port, modernPost(srv, body, { 'Mcp-Name': 'echo' }));
      assert.equal(r.status, 400, r.text);
      const m = JSON.parse(r.text);
      assert.equal(m.error.code, -32020);
      assert.match(m.error.message, /Mcp-Name/);
    });
  });
});

describe('Origin and Host', () => {
  const get = (srv, path, headers, host = `127.0.0.1:${srv.port}`) => exchange(srv.port, httpReq('GET', path, { host, headers }));
  const post = (srv, headers, host) => exchange(srv.port, httpReq('POST', srv.path, {
    host: host ?? `127.0.0.1:${srv.port}`,
    headers: {
      'Content-Type': 'application/json', Accept: BOTH, 'MCP-Protocol-Version': MODERN,
      'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo', ...headers,
    },
    body: echo(1),
  }));

  it('origins and hosts that only look like loopback are refused (403), on /mcp and /metrics', async () => {
    await withServerChecked(async (srv) => {
      const badOrigins = ['http://127.0.0.1:80.evil.com', 'http://[::1].evil.com', 'http://localhost:80@evil.com',
        'http://localhost.evil.com', 'http://127.0.0.1/', 'null', 'file://localhost'];
      for (const o of badOrigins) {
        const r = await post(srv, { Origin: o });
        assert.equal(r.status, 403, `Origin: ${o}: ${r.text}`);
        assert.match(JSON.parse(r.text).error.message, /Origin/);
        const m = await get(srv, '/metrics', { Origin: o });
        assert.equal(m.status, 403, `/metrics with Origin: ${o}`);
      }
      const badHosts = ['[::1].evil.com', 'localhost:80@evil.com', '127.0.0.1.evil.com', 'localhost:8080/x', 'evil.com'];
      for (const h of badHosts) {
        const r = await post(srv, {}, h);
        assert.ok([400, 403].includes(r.status), `Host: ${h}: ${r.status} ${r.text}`);
        const m = await get(srv, '/metrics', {}, h);
        assert.ok([400, 403].includes(m.status), `/metrics with Host: ${h}: ${m.status}`);
      }
      for (const [o, h] of [['http://localhost:5173', 'localhost:1'], ['https://127.0.0.1', '127.0.0.1'], ['http://[::1]:3000', '[::1]:9']]) {
        const r = await post(srv, { Origin: o }, h);
        assert.equal(r.status, 200, `Origin ${o}, Host ${h}: ${r.text}`);
      }
      assert.equal((await get(srv, '/metrics', { Origin: 'http://localhost:3000' })).status, 200);
    });
  });
});
