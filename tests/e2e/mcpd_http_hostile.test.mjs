// mcpd_http_hostile.test.mjs - mcpd's http kind against a hostile upstream: a raw TCP server
// (node's `net`, bytes written by hand) behind http tools, called with the official TypeScript
// SDK clients in both eras (legacy: v1 client with a session; modern: v2 client, 2026-07-28).
//
// Each tool has its own upstream (upstream.name), so one case's failures never open another
// case's breaker, and its own path: the upstream picks its misbehaviour by the request's path.
// Every case asserts the exact error text mcpd gives (docs/mcpd-backends.md), and, after it, that
// mcpd holds no connection to the upstream once the upstream has closed its side (no fd leak:
// /proc/PID/fd against /proc/net/tcp), and that its fd count is back to where it started.
//
// Run: MCPD_BIN=build/asan/mcpd node --test tests/e2e/mcpd_http_hostile.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connectClient, sleep, startMcpd, stopChecked, textOf, waitFor, SANITIZER } from './lib/mcpd.mjs';

const T = { timeout: 120000 };

// ---- the hostile upstream -------------------------------------------------------------------
// Reads requests off each connection (request line + headers; the tools send no body) and
// answers by path. Tracks every socket so tests can see what mcpd closed.
function startHostile() {
  const st = {
    hits: {}, // requests seen per path
    sockets: new Set(),
    closed: 0, // sockets that mcpd (or we) closed
    inflight: 0, maxInflight: 0,
    stormDown: true,
    later: [], // sockets kept open unanswered (hang, trickle)
  };
  const ok = (body, extra = '') =>
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
  const handlers = {
    '/garbage': (s) => { s.end('HELLO WORLD THIS IS NOT HTTP\r\n\r\n'); },
    '/many-headers': (s) => {
      let h = 'HTTP/1.1 200 OK\r\n';
      for (let i = 0; i < 100000; i++) h += `X-H${i}: v\r\n`;
      s.end(`${h}Content-Length: 2\r\n\r\nok`);
    },
    '/long-header': (s) => { s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(1 << 20)}\r\nContent-Length: 2\r\n\r\nok`); },
    '/huge-chunk': (s) => {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n');
      s.write('z'.repeat(4000));
    },
    '/overflow-chunk': (s) => { s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\nzz'); },
    '/big-cl': (s) => { s.end(`HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n${'b'.repeat(5000)}`); },
    '/big-close': (s) => { s.end(`HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n${'b'.repeat(5000)}`); },
    '/short': (s) => { s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'); },
    '/rst': (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf');
      setTimeout(() => s.resetAndDestroy(), 50);
    },
    '/trickle': (s) => {
      const msg = 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n';
      let i = 0;
      const t = setInterval(() => {
        if (s.destroyed) { clearInterval(t); return; }
        s.write(i < msg.length ? msg[i] : 'x');
        i++;
      }, 100);
      s.on('close', () => clearInterval(t));
    },
    '/hang': (s) => { st.later.push(s); },
    '/gzip': (s) => { s.end('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd'); },
    '/retry-after': (s, n) => {
      s.write(n === 1 ? 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy' : ok(`fine ${n}`));
    },
    '/storm': (s, n) => {
      s.write(st.stormDown ? 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nstorm' : ok(`calm ${n}`));
    },
    '/seq': (s, n) => { s.write(ok(`seq ${n}`)); },
    // the answer, and in the same write a second, unasked one
    '/extra': (s, n) => { s.write(ok(`extra ${n}`) + ok('EVIL')); },
    // the answer, and a second one a little later, while the connection is idle in mcpd's pool
    '/extra-late': (s, n) => {
      s.write(ok(`late ${n}`));
      setTimeout(() => { if (!s.destroyed) s.write(ok('EVIL')); }, 30);
    },
    // the second request on a kept connection finds it closed (the keep-alive race)
    '/stale': (s, n, k) => { if (k >= 2) s.destroy(); else s.write(ok(`stale ${n}`)); },
    '/slowok': (s, n) => { setTimeout(() => { if (!s.destroyed) s.write(ok(`slow ${n}`)); }, 300); },
    '/limited': (s, n) => {
      st.inflight++;
      st.maxInflight = Math.max(st.maxInflight, st.inflight);
      setTimeout(() => { st.inflight--; if (!s.destroyed) s.write(ok(`lim ${n}`)); }, 20);
    },
  };
  const server = net.createServer((s) => {
    st.sockets.add(s);
    let buf = '';
    let k = 0; // requests on this connection
    s.on('error', () => {});
    s.on('close', () => { st.sockets.delete(s); st.closed++; });
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end; (end = buf.indexOf('\r\n\r\n')) >= 0;) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const path = head.split(' ')[1] ?? '';
        const n = (st.hits[path] = (st.hits[path] ?? 0) + 1);
        k++;
        const h = handlers[path];
        if (h) h(s, n, k); else s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    st.port = server.address().port;
    st.dropAll = () => { for (const s of st.sockets) s.destroy(); st.later = []; };
    st.close = () => new Promise((r) => { st.dropAll(); server.close(r); });
    resolve(st);
  }));
}

// ---- mcpd's fds -----------------------------------------------------------------------------
function socketInodes(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  return inodes;
}

// pid's TCP sockets in /proc/net/tcp: [local port, remote port] of each.
function tcpOf(pid) {
  const inodes = socketInodes(pid);
  const out = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && inodes.has(f[9])) out.push([parseInt(f[1].split(':')[1], 16), parseInt(f[2].split(':')[1], 16)]);
  }
  return out;
}

// The TCP connections pid holds to 127.0.0.1:port.
const connsTo = (pid, port) => tcpOf(pid).filter(([, r]) => r === port).length;

// pid's fds but the connections its clients opened to it (the SDK's keep-alive pool comes and
// goes): files, pipes, listeners, upstream connections.
function fdCount(pid, listenPort) {
  const n = readdirSync(`/proc/${pid}/fd`).length;
  return n - tcpOf(pid).filter(([l, r]) => l === listenPort && r !== 0).length;
}

const tool = (name, path, extra = {}) => ({
  kind: 'http', name, url: `BASE${path}`, retries: 0, timeout_ms: 20000, ...extra,
  upstream: { name: `up_${name}`, ...(extra.upstream ?? {}) },
});

function config(port, { without = [], limPort = port } = {}) {
  const tools = [
    tool('garbage', '/garbage'),
    tool('many_headers', '/many-headers'),
    tool('long_header', '/long-header'),
    tool('huge_chunk', '/huge-chunk', { max_response_bytes: 1000 }),
    tool('overflow_chunk', '/overflow-chunk'),
    tool('big_cl', '/big-cl', { max_response_bytes: 1000 }),
    tool('big_close', '/big-close', { max_response_bytes: 1000 }),
    tool('short', '/short'),
    tool('rst', '/rst'),
    tool('trickle', '/trickle', { timeout_ms: 1500 }),
    tool('hang', '/hang', { timeout_ms: 1500 }),
    tool('hang_long', '/hang', { timeout_ms: 60000 }),
    tool('gzip', '/gzip'),
    tool('retry_after', '/retry-after', { retries: 2 }),
    tool('storm', '/storm', { upstream: { breaker: { min_calls: 3, failure_percent: 50, cooldown_ms: 400, probes: 1 } } }),
    tool('seq', '/seq'),
    tool('extra', '/extra'),
    tool('extra_late', '/extra-late'),
    tool('stale', '/stale'),
    tool('slowok', '/slowok'),
    tool('limited', '/limited', { upstream: { concurrency: 8, queue_wait_ms: 30000 } }),
  ].filter((t) => !without.includes(t.name));
  return JSON.parse(JSON.stringify({ tools }).replaceAll('BASE/limited', `http://127.0.0.1:${limPort}/limited`)
    .replaceAll('BASE', `http://127.0.0.1:${port}`));
}

// The message of a failed call: a tool error result's text.
async function failure(c, name, args = {}) {
  const r = await c.callTool({ name, arguments: args });
  assert.equal(r.isError, true, `${name} succeeded: ${textOf(r)}`);
  return textOf(r);
}

const TIMEOUT = (name, ms) => new RegExp(`tool ${name} did not finish within ${ms} ms|GET up_${name}: no answer in time`);

for (const era of ['legacy', 'modern']) {
  describe(`http kind against a hostile upstream (${era})`, () => {
    let up; let lim; let srv; let c; let fd0;
    const pid = () => srv.proc.pid;
    const fds = () => fdCount(pid(), Number(new URL(srv.url).port));
    // the upstream drops every connection; mcpd must then hold none to it, and no fd more
    async function noLeak() {
      up.dropAll();
      await waitFor(() => connsTo(pid(), up.port) === 0, 'mcpd to close its connections to the upstream');
      await waitFor(() => fds() <= fd0, `mcpd's fds back to ${fd0} (now ${fds()})`);
    }
    before(async () => {
      up = await startHostile();
      lim = await startHostile(); // its own port: the transfer thread's cache may keep connections to it
      srv = await startMcpd(config(up.port, { limPort: lim.port }));
      c = await connectClient(srv.url, era);
      await c.listTools();
      fd0 = fds();
    });
    after(async () => {
      await c.close();
      await stopChecked(srv);
      await up.close();
      await lim.close();
    });

    it('a garbage status line is a malformed response', T, async () => {
      assert.match(await failure(c, 'garbage'),
        new RegExp(`^GET up_garbage failed: 127\\.0\\.0\\.1:${up.port}: malformed response: .+ \\(HPE_[A-Z_]+\\)$`));
      await noLeak();
    });

    it('100k header fields and a 1 MB header line are refused at their caps', T, async () => {
      assert.equal(await failure(c, 'many_headers'),
        `GET up_many_headers failed: 127.0.0.1:${up.port}: the response has more than 128 header fields`);
      assert.equal(await failure(c, 'long_header'),
        `GET up_long_header failed: 127.0.0.1:${up.port}: the response's status line and headers pass 65536 bytes`);
      await noLeak();
    });

    it('a huge chunk is cut at max_response_bytes; an overflowing chunk size is malformed', T, async () => {
      assert.equal(await failure(c, 'huge_chunk'), 'the response is larger than the limit of 1000 bytes (max_response_bytes)');
      assert.match(await failure(c, 'overflow_chunk'),
        new RegExp(`^GET up_overflow_chunk failed: 127\\.0\\.0\\.1:${up.port}: malformed response: .*\\(HPE_INVALID_CHUNK_SIZE\\)$`));
      await noLeak();
    });

    it('a body over max_response_bytes: by Content-Length and close-delimited', T, async () => {
      assert.equal(await failure(c, 'big_cl'), 'the response is larger than the limit of 1000 bytes (max_response_bytes)');
      assert.equal(await failure(c, 'big_close'), 'the response is larger than the limit of 1000 bytes (max_response_bytes)');
      await noLeak();
    });

    it('a Content-Length larger than what comes, then close; a reset mid-body', T, async () => {
      assert.equal(await failure(c, 'short'),
        `GET up_short failed: 127.0.0.1:${up.port}: the connection was closed in the middle of the answer`);
      assert.match(await failure(c, 'rst'),
        new RegExp(`^GET up_rst failed: 127\\.0\\.0\\.1:${up.port}: the connection .*reset by peer.* the answer$`));
      await noLeak();
    });

    it('a trickle slower than the timeout ends at the timeout; the socket is closed', T, async () => {
      const closed = up.closed;
      assert.match(await failure(c, 'trickle'), TIMEOUT('trickle', 1500));
      await waitFor(() => up.closed > closed && connsTo(pid(), up.port) === 0, 'mcpd to close the trickling connection');
      await noLeak();
    });

    it('no answer at all ends at the timeout; the socket is closed', T, async () => {
      const closed = up.closed;
      assert.match(await failure(c, 'hang'), TIMEOUT('hang', 1500));
      await waitFor(() => up.closed > closed && connsTo(pid(), up.port) === 0, 'mcpd to close the silent connection');
      await noLeak();
    });

    it('Content-Encoding gzip is refused with a clear error', T, async () => {
      assert.equal(await failure(c, 'gzip'),
        `GET up_gzip failed: 127.0.0.1:${up.port}: the response has Content-Encoding "gzip" (none was asked for; only identity is accepted)`);
      await noLeak();
    });

    it('a 503 with Retry-After is retried after it, then 200', T, async () => {
      const before = up.hits['/retry-after'] ?? 0;
      const t0 = Date.now();
      const r = await c.callTool({ name: 'retry_after', arguments: {} });
      assert.equal(r.isError, undefined, textOf(r));
      assert.equal(up.hits['/retry-after'] - before, 2);
      assert.ok(Date.now() - t0 >= 900, 'waited for Retry-After: 1');
      up.hits['/retry-after'] = 0; // the next era starts over with a 503
      await noLeak();
    });

    it('a keep-alive connection closed by the upstream at the next request: the call succeeds', T, async () => {
      const a = await c.callTool({ name: 'stale', arguments: {} });
      assert.equal(a.isError, undefined, textOf(a));
      const b = await c.callTool({ name: 'stale', arguments: {} });
      assert.equal(b.isError, undefined, textOf(b));
      assert.match(textOf(b), /^stale \d+$/);
      await noLeak();
    });

    it('extra bytes after a complete answer are never read as the next answer', T, async () => {
      for (const [name, word] of [['extra', 'extra'], ['extra_late', 'late']]) {
        for (let i = 0; i < 6; i++) {
          const r = await c.callTool({ name, arguments: {} });
          assert.equal(r.isError, undefined, textOf(r));
          assert.match(textOf(r), new RegExp(`^${word} \\d+$`));
          if (name === 'extra_late') await sleep(60);
        }
      }
      await noLeak();
    });

    it('a 5xx storm opens the breaker; recovery closes it', T, async () => {
      up.stormDown = true;
      for (let i = 0; i < 3; i++)
        assert.equal(await failure(c, 'storm'), 'HTTP 500 from up_storm: storm');
      const hits = up.hits['/storm'];
      assert.match(await failure(c, 'storm'),
        /^upstream up_storm is unavailable: circuit open after 3 failures in 3 calls; retry in \d+\.\d s$/);
      assert.equal(up.hits['/storm'], hits, 'no request reached the upstream while open');
      up.stormDown = false;
      await waitFor(async () => {
        const r = await c.callTool({ name: 'storm', arguments: {} });
        return r.isError === undefined;
      }, 'the breaker to let a probe through', 30000);
      for (let i = 0; i < 5; i++) {
        const r = await c.callTool({ name: 'storm', arguments: {} });
        assert.equal(r.isError, undefined, textOf(r));
      }
      up.stormDown = true;
      await noLeak();
    });

    // Calls that find no free slot wait on the transfer thread and go through libcurl, whose
    // connection cache keeps up to the upstream's limit of idle connections open until it next
    // uses them (CLOSE_WAIT once the upstream closed them), and the transfer thread's loop starts
    // on first use: after the first round the fds are counted again, and must not grow.
    it('200 calls in flight on an upstream limited to 8, twice: all answered, at most 8 at the upstream', T, async () => {
      for (let round = 0; round < 2; round++) {
        lim.maxInflight = 0;
        const rs = await Promise.all(Array.from({ length: 200 }, () => c.callTool({ name: 'limited', arguments: {} })));
        let ok = 0;
        for (const r of rs) {
          if (r.isError) assert.match(textOf(r), /^upstream up_limited is busy: too many concurrent calls \(limit 8\)/);
          else { ok++; assert.match(textOf(r), /^lim \d+$/); }
        }
        assert.ok(ok >= 8, `only ${ok} of 200 succeeded`);
        assert.ok(lim.maxInflight <= 8, `${lim.maxInflight} requests at once at the upstream`);
        lim.dropAll();
        await sleep(500);
        assert.ok(connsTo(pid(), lim.port) <= 8, `${connsTo(pid(), lim.port)} connections held to the upstream`);
        if (round === 0) fd0 = Math.max(fd0, fds());
      }
      await noLeak();
    });

    it('a cancelled call closes its connection to the upstream; the tool goes on', T, async () => {
      const closed = up.closed;
      const ac = new AbortController();
      const p = c.callTool({ name: 'hang_long', arguments: {} }, undefined, { signal: ac.signal }).then(() => 'answered', () => 'aborted');
      await waitFor(() => up.later.length > 0, 'the request at the upstream');
      ac.abort();
      assert.equal(await p, 'aborted');
      await waitFor(() => up.closed > closed && connsTo(pid(), up.port) === 0, 'mcpd to close the cancelled request\'s connection');
      const r = await c.callTool({ name: 'seq', arguments: {} });
      assert.equal(r.isError, undefined, textOf(r));
      await noLeak();
    });

    // cancellations (another thread wakes the loops) while the loops start and end calls: the
    // race TSan once saw on a loop's list of requests
    it('cancellations racing new calls: each answered once, no connection left', T, async () => {
      const aborted = [];
      const others = [];
      for (let i = 0; i < 16; i++) {
        const ac = new AbortController();
        aborted.push(c.callTool({ name: 'hang_long', arguments: {} }, undefined, { signal: ac.signal }).then(() => 'answered', () => 'aborted'));
        others.push(c.callTool({ name: 'seq', arguments: {} }));
        setTimeout(() => ac.abort(), 50 + i * 10);
      }
      for (const o of await Promise.all(aborted)) assert.equal(o, 'aborted');
      for (const r of await Promise.all(others)) assert.equal(r.isError, undefined, textOf(r));
      await noLeak();
    });
  });
}

describe('http kind against a hostile upstream: reload and stop with calls in flight', () => {
  it('a reload that removes the tool answers every call in flight on it', T, async () => {
    const up = await startHostile();
    const srv = await startMcpd(config(up.port));
    const c = await connectClient(srv.url, 'modern');
    await c.listTools();
    const lport = Number(new URL(srv.url).port);
    const fd0 = fdCount(srv.proc.pid, lport);
    // 16: the tool's default concurrency, so that every call runs inline on a worker loop (the
    // 17th would go to the work pool, then libcurl's transfer thread, whose connection cache
    // keeps connections the upstream closed in CLOSE_WAIT until it next uses them)
    const calls = Array.from({ length: 16 }, () => c.callTool({ name: 'slowok', arguments: {} }));
    await waitFor(() => (up.hits['/slowok'] ?? 0) >= 8, 'calls at the upstream');
    srv.writeConfig(config(up.port, { without: ['slowok', 'limited'] }));
    assert.equal(await srv.reload(), 'ok');
    const rs = await Promise.all(calls);
    for (const r of rs) {
      assert.equal(r.isError, undefined, textOf(r));
      assert.match(textOf(r), /^slow \d+$/);
    }
    const gone = await c.callTool({ name: 'slowok', arguments: {} }).then((r) => textOf(r), (e) => String(e.message ?? e));
    assert.match(gone, /slowok/);
    const r = await c.callTool({ name: 'seq', arguments: {} });
    assert.equal(r.isError, undefined, textOf(r));
    up.dropAll();
    await waitFor(() => connsTo(srv.proc.pid, up.port) === 0, 'no connection to the upstream');
    // + 8: under TSan some calls miss the inline path and start libcurl's transfer thread, whose
    // loop holds 7 fds of its own from then on (measured); upstream connections are checked above
    await waitFor(() => fdCount(srv.proc.pid, lport) <= fd0 + 8, `mcpd's fds back (${fd0}, now ${fdCount(srv.proc.pid, lport)})`);
    await c.close();
    await stopChecked(srv);
    await up.close();
  });

  it('SIGTERM with calls in flight: a clean exit, status 0', T, async () => {
    const up = await startHostile();
    const srv = await startMcpd(config(up.port));
    const c = await connectClient(srv.url, 'legacy');
    const calls = [];
    for (let i = 0; i < 8; i++) calls.push(c.callTool({ name: 'hang_long', arguments: {} }).then(() => 'answered', () => 'failed'));
    for (let i = 0; i < 8; i++) calls.push(c.callTool({ name: 'retry_after', arguments: {} }).then(() => 'answered', () => 'failed'));
    await waitFor(() => up.later.length >= 8, 'the calls at the upstream');
    const r = await srv.stop();
    assert.doesNotMatch(r.stderr, SANITIZER, r.stderr);
    assert.equal(r.code, 0, `mcpd exit ${r.code} ${r.signal}:\n${r.stderr.slice(-3000)}`);
    const outcomes = await Promise.all(calls);
    assert.equal(outcomes.length, 16);
    await c.close().catch(() => {});
    await up.close();
  });
});
