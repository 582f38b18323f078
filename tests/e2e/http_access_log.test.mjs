// http_access_log.test.mjs - the access log end to end (docs/access-log.md): mcpd with
// --access-log/--access-log-format json serving calls of both eras through the official SDK
// clients with bearer tokens, a bad request, an unauthenticated one, an SSE stream and a name
// that tries to forge a line; every line is parsed and its fields checked exactly, no token,
// argument or query string may appear, and a SIGHUP after renaming the file makes a new one.
// The everything example's text format, and its SIGHUP (mcp_serve_http's), are checked too.
//
// Run: MCPD_BIN=build/asan/mcpd MCPD_EVERYTHING=build/asan/everything \
//      node --test tests/e2e/http_access_log.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import {
  SANITIZER, connectClient, startMcpd, stopChecked, tempDir, textOf, waitFor,
} from './lib/mcpd.mjs';
import { BOTH, MODERN, httpReq, meta, open, parseResponse, rpc } from './lib/raw_http.mjs';

const T = { timeout: 120000 };
const sha = (s) => createHash('sha256').update(s).digest('hex');
const SECRETS = ['ci-secret', 'admin-secret', 'ARG-SECRET', 'QUERYSECRET', 'Bearer', 'authorization'];

const config = {
  auth: { tokens: [{ name: 'ci', sha256: sha('ci-secret') }, { name: 'admin', sha256: sha('admin-secret') }] },
  tools: [
    { kind: 'exec', name: 'say', command: ['printf', '%s', '{text}'], arguments: { text: { type: 'string' } } },
    { kind: 'exec', name: 'nap', command: ['sleep', '0.3'] },
  ],
};

const lines = (file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

// One request on a fresh connection: the response, and the bytes each way as the client saw them.
async function raw(port, bytes) {
  const c = open(port);
  await c.connected;
  const client = `127.0.0.1:${c.sock.localPort}`;
  c.sock.write(bytes);
  let r = null;
  await c.wait((x) => (r = parseResponse(x.data)) || x.closed, 'a response');
  c.sock.destroy();
  assert.ok(r, `no response: ${c.text()}`);
  return { r, client, sent: bytes.length, got: r.length };
}

function modern(port, body, { accept = BOTH, token, query = '', name } = {}) {
  return httpReq('POST', `/mcp${query}`, {
    host: `127.0.0.1:${port}`,
    headers: {
      'Content-Type': 'application/json', Accept: accept, 'MCP-Protocol-Version': MODERN,
      'Mcp-Method': typeof body === 'object' ? body.method : undefined, 'Mcp-Name': name,
      Authorization: token ? `Bearer ${token}` : undefined,
    },
    body,
  });
}

// The one line whose fields match want (a subset); fails unless exactly one does.
function theLine(all, want, what) {
  const hits = all.filter((l) => Object.entries(want).every(([k, v]) => l[k] === v));
  assert.equal(hits.length, 1, `${what}: ${hits.length} lines match ${JSON.stringify(want)} in\n${all.map((l) => JSON.stringify(l)).join('\n')}`);
  return hits[0];
}

const KEYS = ['time', 'client', 'method', 'path', 'status', 'mcp_method', 'name', 'rpc_error', 'duration_ms',
  'bytes_in', 'bytes_out', 'session', 'principal', 'batch', 'aborted'];

describe('access log (mcpd, JSON lines)', () => {
  it('one exact line per request, no secrets, and a new file after rename + SIGHUP', T, async () => {
    const t0 = Date.now();
    const tmp = tempDir();
    const file = tmp.path('access.log');
    const srv = await startMcpd(config, { args: ['--access-log', file, '--access-log-format', 'json'] });
    const port = Number(new URL(srv.url).port);
    try {
      // legacy era (SDK v1, session) as admin; modern era (SDK v2) as ci
      const legacy = await connectClient(srv.url, 'legacy', { headers: { Authorization: 'Bearer admin-secret' } });
      assert.equal(textOf(await legacy.callTool({ name: 'say', arguments: { text: 'ARG-SECRET-1' } })), 'ARG-SECRET-1');
      const sid = legacy.transport.sessionId;
      assert.match(sid, /^[0-9a-f]{32}$/);
      const mod = await connectClient(srv.url, 'modern', { headers: { Authorization: 'Bearer ci-secret' } });
      assert.equal(textOf(await mod.callTool({ name: 'say', arguments: { text: 'ARG-SECRET-2' } })), 'ARG-SECRET-2');

      // a bad request (with a secret in the query string), an unauthenticated one, an SSE stream
      const bad = await raw(port, modern(port, '{bad', { token: 'ci-secret', query: '?token=QUERYSECRET' }));
      assert.equal(bad.r.status, 400);
      const unauth = await raw(port, modern(port, rpc(3, 'tools/list', { _meta: meta() })));
      assert.equal(unauth.r.status, 401);
      const sse = await raw(port, modern(port, rpc(4, 'tools/call', { name: 'nap', arguments: {}, _meta: meta() }),
        { accept: 'text/event-stream', token: 'admin-secret', name: 'nap' }));
      assert.equal(sse.r.status, 200);
      assert.equal(sse.r.headers.get('content-type'), 'text/event-stream');
      // a name that tries to end the line and start a forged one
      const forged = 'x"}\n{"time":"forged","status":200}\r\u0001é';
      const fg = await raw(port, modern(port, rpc(5, 'tools/call', { name: forged, arguments: {}, _meta: meta() }),
        { token: 'ci-secret' }));

      await legacy.close();
      await mod.close();
      // A line is written when its request ends, which the server may see after the client is
      // done with it: the SSE stream's after its last byte went, the legacy client's standalone
      // GET (which its SDK opens with its first request) only once the server sees it aborted.
      // Waited for here, or they were missing below, or landed in the file after the rotation.
      // (one read for everything below)
      const { text, all } = await waitFor(() => {
        const t = existsSync(file) ? readFileSync(file, 'utf8') : '';
        const ls = t.split('\n').filter(Boolean).map((l) => JSON.parse(l));
        const ended = [(l) => l.name === forged, (l) => l.name === 'nap', (l) => l.method === 'GET'];
        return ended.every((f) => ls.some(f)) && ls.length >= 8 && { text: t, all: ls };
      }, 'the access log lines');

      for (const l of all) {
        assert.deepEqual(Object.keys(l), KEYS);
        assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        const t = Date.parse(l.time);
        assert.ok(t >= t0 - 1000 && t <= Date.now() + 1000, l.time);
        assert.match(l.client, /^127\.0\.0\.1:\d+$/);
        assert.equal(l.path, '/mcp');
        assert.ok(Number.isInteger(l.status) && l.bytes_in > 0 && (l.aborted || l.bytes_out > 0) && l.duration_ms >= 0,
          JSON.stringify(l));
      }
      for (const s of SECRETS) assert.ok(!text.includes(s), `${s} in the access log`);
      assert.ok(!text.includes(sid), 'a whole session id in the access log');
      assert.equal(text.split('\n').length - 1, all.length, 'one line per record');
      assert.ok(!all.some((l) => l.time === 'forged'));

      const lc = theLine(all, { mcp_method: 'tools/call', principal: 'admin', name: 'say' }, 'legacy call');
      assert.deepEqual({ ...lc, time: 0, client: 0, duration_ms: 0, bytes_in: 0, bytes_out: 0 }, {
        time: 0, client: 0, method: 'POST', path: '/mcp', status: 200, mcp_method: 'tools/call', name: 'say',
        rpc_error: null, duration_ms: 0, bytes_in: 0, bytes_out: 0, session: sid.slice(0, 8), principal: 'admin',
        batch: 0, aborted: false,
      });
      theLine(all, { mcp_method: 'initialize', principal: 'admin', session: sid.slice(0, 8), status: 200 }, 'legacy initialize');
      const mc = theLine(all, { mcp_method: 'tools/call', principal: 'ci', name: 'say' }, 'modern call');
      assert.equal(mc.session, null);
      assert.equal(mc.status, 200);
      assert.equal(mc.rpc_error, null);

      const lb = theLine(all, { status: 400, rpc_error: -32700 }, 'bad request');
      assert.deepEqual({ ...lb, time: 0, duration_ms: 0 }, {
        time: 0, client: bad.client, method: 'POST', path: '/mcp', status: 400, mcp_method: null, name: null,
        rpc_error: -32700, duration_ms: 0, bytes_in: bad.sent, bytes_out: bad.got, session: null, principal: 'ci',
        batch: 0, aborted: false,
      });
      const lu = theLine(all, { status: 401 }, 'unauthenticated');
      assert.deepEqual({ ...lu, time: 0, duration_ms: 0 }, {
        // refused before the engine: its body is never parsed, so no MCP fields
        time: 0, client: unauth.client, method: 'POST', path: '/mcp', status: 401, mcp_method: null,
        name: null, rpc_error: -32000, duration_ms: 0, bytes_in: unauth.sent, bytes_out: unauth.got, session: null,
        principal: null, batch: 0, aborted: false,
      });
      const ls = theLine(all, { name: 'nap' }, 'SSE stream');
      assert.deepEqual({ ...ls, time: 0, duration_ms: 0 }, {
        time: 0, client: sse.client, method: 'POST', path: '/mcp', status: 200, mcp_method: 'tools/call', name: 'nap',
        rpc_error: null, duration_ms: 0, bytes_in: sse.sent, bytes_out: sse.got, session: null, principal: 'admin',
        batch: 0, aborted: false,
      });
      assert.ok(ls.duration_ms >= 300, `the stream's duration runs to its end: ${ls.duration_ms}`);
      const lf = theLine(all, { name: forged }, 'forged name');
      assert.equal(lf.status, fg.r.status);
      assert.equal(lf.bytes_in, fg.sent);

      // rotation: rename, SIGHUP, the next line goes to a new file
      renameSync(file, `${file}.1`);
      srv.proc.kill('SIGHUP');
      await waitFor(() => /access log \S+ reopened/.test(srv.stderr), 'the reopen log line');
      const after = await raw(port, modern(port, rpc(6, 'tools/list', { _meta: meta() }), { token: 'ci-secret' }));
      assert.equal(after.r.status, 200);
      // the new file may also get lines of earlier exchanges: one that ended after the reopen (the
      // legacy SDK's GET stream, closed by its DELETE), or one still in a worker's buffer (written
      // within 250 ms, docs/access-log.md): the one of this request must be there, once
      const mine = (ls) => ls.map((l) => JSON.parse(l)).filter((l) => l.client === after.client);
      const fresh = await waitFor(() => mine(lines(file)).length >= 1 && mine(lines(file)), 'a line in the new file');
      assert.equal(fresh.length, 1);
      const l6 = fresh[0];
      assert.equal(l6.mcp_method, 'tools/list');
      assert.equal(l6.client, after.client);
      assert.ok(!lines(`${file}.1`).some((l) => JSON.parse(l).client === after.client), 'the new line went to the old file');
    } finally {
      await stopChecked(srv);
      tmp.cleanup();
    }
  });

  it('mcpd refuses a bad format and an unwritable file, and checks the config key', T, async () => {
    const { runMcpd } = await import('./lib/mcpd.mjs');
    const f = await runMcpd(['--access-log', '/tmp/x.log', '--access-log-format', 'xml']);
    assert.equal(f.code, 2);
    assert.match(f.stderr, /--access-log-format must be text or json, not: xml/);
    const tmp = tempDir();
    for (const [path, why] of [[tmp.path('nodir/a.log'), /No such file or directory/], [tmp.path(''), /Is a directory/]]) {
      const u = await runMcpd(['--access-log', path, '--listen', '127.0.0.1:0']);
      assert.equal(u.code, 2, u.stderr);
      assert.match(u.stderr, new RegExp(`access log ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot open: `));
      assert.match(u.stderr, why);
    }
    const { writeFileSync } = await import('node:fs');
    const cfg = tmp.path('c.json');
    writeFileSync(cfg, JSON.stringify({ access_log: { path: 'nodir/a.log', format: 'yaml' } }));
    const c = await runMcpd(['--check-config', cfg]);
    assert.equal(c.code, 2);
    assert.match(c.stdout, /\/access_log\/format/);
    assert.match(c.stdout, /\/access_log\/path: cannot create files in .*nodir: No such file or directory/);
    const h = await runMcpd(['--help']);
    assert.match(h.stdout, /--access-log FILE/);
    assert.match(h.stdout, /--access-log-format FMT/);
    tmp.cleanup();
  });
});

describe('access log (everything, text)', () => {
  it('--access-log FILE --access-log-format text: key=value lines, values quoted', T, async () => {
    const tmp = tempDir();
    const file = tmp.path('access.log');
    const p = spawn(process.env.MCPD_EVERYTHING, ['--listen', '127.0.0.1:0', '--access-log', file,
      '--access-log-format', 'text'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    try {
      const port = Number(await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1], 'the URL'));
      const body = rpc(1, 'tools/call', { name: 'echo', arguments: { message: 'ARG-SECRET' }, _meta: meta() });
      const x = await raw(port, modern(port, body, { name: 'echo' }));
      assert.equal(x.r.status, 200);
      const got = await waitFor(() => lines(file).length >= 1 && lines(file), 'a line');
      const m = /^time=(\S+) client="([^"]+)" method="POST" path="\/mcp" status=200 mcp_method="tools\/call" name="echo" rpc_error=- duration_ms=(\d+\.\d{3}) bytes_in=(\d+) bytes_out=(\d+) session=- principal=- batch=0 aborted=false$/.exec(got[0]);
      assert.ok(m, got[0]);
      assert.equal(m[2], x.client);
      assert.equal(Number(m[4]), x.sent);
      assert.equal(Number(m[5]), x.got);
      assert.ok(!readFileSync(file, 'utf8').includes('ARG-SECRET'));
      // mcp_serve_http takes SIGHUP (the program left it at its default) and reopens the file
      renameSync(file, `${file}.1`);
      p.kill('SIGHUP');
      await waitFor(() => /access log \S+ reopened/.test(stderr), 'the reopen log line');
      const y = await raw(port, modern(port, body, { name: 'echo' }));
      assert.equal(y.r.status, 200);
      const again = await waitFor(() => lines(file).length >= 1 && lines(file), 'a line in the new file');
      assert.match(again[0], new RegExp(`^time=\\S+ client="${y.client}" method="POST"`));
      assert.equal(lines(`${file}.1`).length, 1);
    } finally {
      p.kill('SIGTERM');
      const code = await new Promise((r) => p.on('exit', r));
      assert.doesNotMatch(stderr, SANITIZER);
      assert.equal(code, 0, stderr.slice(-2000));
      tmp.cleanup();
    }
  });
});
