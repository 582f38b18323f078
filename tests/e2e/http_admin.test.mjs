// The admin endpoints (/metrics, /health, /ready, /status, /status.json) of the HTTP
// transport, on the MCP listener (loopback) and on --admin-listen, against the real everything
// binary over raw sockets. The metrics scrape is checked against a known load: every count and
// histogram sum must agree with what this client sent and measured; `promtool check metrics`
// must accept the text (skipped only when promtool is not installed: scripts/deps.sh installs
// Debian's prometheus package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { withServerChecked, startServer } from './lib/http_server.mjs';
import { exchange, httpReq, modernPost, rpc, meta } from './lib/raw_http.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function get(port, path, headers = {}) {
  return exchange(port, httpReq('GET', path, { host: `127.0.0.1:${port}`, headers }));
}

function adminPort(srv) {
  const m = /http: admin endpoints on http:\/\/[^:]+:(\d+)\/status/.exec(srv.stderr);
  assert.ok(m, `no admin listener log line in: ${srv.stderr}`);
  return Number(m[1]);
}

// Prometheus text: { 'name{labels}': value }.
function parseProm(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `malformed line: ${line}`);
    out.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return out;
}

const call = (id, name, args = {}) => rpc(id, 'tools/call', { name, arguments: args, _meta: meta() });

async function timed(srv, body) {
  const t0 = process.hrtime.bigint();
  const r = await exchange(srv.port, modernPost(srv, body));
  return { r, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

test('a scrape during a known load counts what the client sent; promtool accepts it', async () => {
  await withServerChecked(async (srv) => {
    const ECHO = 60, TOOL_ERRORS = 5, UNKNOWN = 3, LISTS = 4;
    let echoMs = 0;
    // the load, 6 at a time; a scrape in the middle of it must parse (and in-flight is bounded)
    for (let i = 0; i < ECHO; i += 6) {
      const batch = [];
      for (let k = i; k < i + 6 && k < ECHO; k++) batch.push(timed(srv, call(k + 1, 'echo', { message: `m${k}` })));
      if (i === 30) {
        const mid = await get(srv.port, '/metrics');
        assert.equal(mid.status, 200);
        const inflight = parseProm(mid.text).get('mcpd_requests_in_flight');
        assert.ok(inflight >= 0 && inflight <= 6, `in flight mid-load: ${inflight}`);
      }
      for (const { r, ms } of await Promise.all(batch)) {
        assert.equal(r.status, 200, r.text);
        echoMs += ms;
      }
    }
    for (let i = 0; i < TOOL_ERRORS; i++) {
      const { r } = await timed(srv, call(100 + i, 'test_error_handling'));
      assert.equal(JSON.parse(r.text).result.isError, true);
    }
    for (let i = 0; i < UNKNOWN; i++) {
      const { r } = await timed(srv, call(200 + i, `no_such_tool_${i}`));
      assert.ok(JSON.parse(r.text).error, r.text);
    }
    for (let i = 0; i < LISTS; i++) {
      const { r } = await timed(srv, rpc(300 + i, 'tools/list', { _meta: meta() }));
      assert.equal(r.status, 200);
    }
    const res = await get(srv.port, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const m = parseProm(res.text);
    const v = (k) => { assert.ok(m.has(k), `missing series ${k}`); return m.get(k); };
    assert.equal(v('mcpd_tool_calls_total{tool="echo",outcome="ok"}'), ECHO);
    assert.equal(v('mcpd_tool_calls_total{tool="echo",outcome="error"}'), 0);
    assert.equal(v('mcpd_tool_calls_total{tool="test_error_handling",outcome="tool_error"}'), TOOL_ERRORS);
    assert.equal(v('mcpd_tool_calls_total{tool="_other",outcome="error"}'), UNKNOWN,
      'unknown tool names collapse into _other');
    assert.ok(![...m.keys()].some((k) => k.includes('no_such_tool')), 'no label for an unknown tool');
    assert.equal(v('mcpd_requests_total{method="tools/call",outcome="ok"}'), ECHO);
    assert.equal(v('mcpd_requests_total{method="tools/call",outcome="tool_error"}'), TOOL_ERRORS);
    assert.equal(v('mcpd_requests_total{method="tools/call",outcome="error"}'), UNKNOWN);
    assert.equal(v('mcpd_requests_total{method="tools/list",outcome="ok"}'), LISTS);
    assert.equal(v('mcpd_requests_in_flight'), 0);
    // the echo histogram: count, cumulative buckets, +Inf, and a sum no larger than what the
    // client itself measured around the same requests
    assert.equal(v('mcpd_tool_call_seconds_count{tool="echo"}'), ECHO);
    assert.equal(v('mcpd_tool_call_seconds_bucket{tool="echo",le="+Inf"}'), ECHO);
    const sum = v('mcpd_tool_call_seconds_sum{tool="echo"}');
    assert.ok(sum > 0 && sum * 1000 <= echoMs, `server sum ${sum * 1000} ms vs client ${echoMs} ms`);
    let prev = 0;
    for (const [k, val] of m) {
      if (!k.startsWith('mcpd_tool_call_seconds_bucket{tool="echo"')) continue;
      assert.ok(val >= prev, `buckets are cumulative: ${k}`);
      prev = val;
    }
    assert.equal(v('mcpd_request_seconds_count{method="tools/call"}'), ECHO + TOOL_ERRORS + UNKNOWN);
    assert.equal(v('mcpd_request_seconds_count{method="tools/list"}'), LISTS);
    // promtool
    const pt = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    if (pt.error?.code === 'ENOENT') {
      console.log('# promtool not installed: skipped (scripts/deps.sh installs prometheus)');
    } else {
      assert.equal(pt.status, 0, `promtool check metrics: ${pt.stdout}${pt.stderr}`);
    }
  });
});

test('/health, /ready, /status and /status.json on a loopback MCP listener and on --admin-listen', async () => {
  await withServerChecked(async (srv) => {
    const ap = adminPort(srv);
    assert.notEqual(ap, srv.port);
    await exchange(srv.port, modernPost(srv, call(1, 'echo', { message: 'x' })));
    await exchange(srv.port, modernPost(srv, call(2, 'test_error_handling')));
    for (const port of [srv.port, ap]) {
      const h = await get(port, '/health');
      assert.equal(h.status, 200);
      assert.equal(h.text, 'ok\n');
      const r = await get(port, '/ready');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'ready\n');
      const j = await get(port, '/status.json');
      assert.equal(j.status, 200);
      assert.match(j.headers.get('content-type'), /^application\/json/);
      const s = JSON.parse(j.text);
      assert.equal(s.ready, true);
      assert.ok(s.uptime_s >= 0);
      assert.equal(s.requests.total, 2);
      assert.equal(s.requests.errors, 1);
      assert.equal(s.requests.in_flight, 0);
      assert.ok(s.latency_ms.p99 >= s.latency_ms.p50);
      assert.ok(s.tools.some((t) => t.name === 'echo' && t.requests === 1 && t.errors === 0));
      assert.ok(s.tools.some((t) => t.name === 'test_error_handling' && t.errors === 1));
      assert.deepEqual(s.methods.map((x) => x.name), ['tools/call']);
      assert.equal(s.recent_errors.length, 1);
      assert.equal(s.recent_errors[0].tool, 'test_error_handling');
      assert.equal(s.recent_errors[0].outcome, 'tool_error');
      assert.deepEqual(s.alerts, []);
      const p = await get(port, '/status');
      assert.equal(p.status, 200);
      assert.match(p.headers.get('content-type'), /^text\/html/);
      assert.match(p.text, /<title>mcpd status<\/title>/);
      assert.doesNotMatch(p.text, /(src|href)="https?:/, 'no external assets');
      const m = await get(port, '/metrics');
      assert.equal(m.status, 200);
      // the same Origin guard as /mcp
      const evil = await get(port, '/status.json', { Origin: 'http://evil.example' });
      assert.equal(evil.status, 403);
      const post = await exchange(port, httpReq('POST', '/health', { host: `127.0.0.1:${port}`, body: {} }));
      assert.equal(post.status, 405);
    }
    const nf = await get(ap, '/mcp');
    assert.equal(nf.status, 404, 'the admin listener serves no MCP');
  }, ['--admin-listen', '127.0.0.1:0']);
});

test('a non-loopback MCP listener serves no admin endpoint; a non-loopback admin listener keeps /status closed', async () => {
  await withServerChecked(async (srv) => {
    const ap = adminPort(srv);
    for (const p of ['/metrics', '/health', '/status']) {
      assert.equal((await get(srv.port, p)).status, 404, `${p} on a non-loopback MCP listener`);
    }
    assert.equal((await get(ap, '/metrics')).status, 200);
    assert.equal((await get(ap, '/health')).status, 200);
    assert.equal((await get(ap, '/status')).status, 403);
    assert.equal((await get(ap, '/status.json')).status, 403);
  }, ['--admin-listen', '0.0.0.0:0'], { start: { listen: '0.0.0.0:0' } });
  await withServerChecked(async (srv) => {
    assert.equal((await get(adminPort(srv), '/status.json')).status, 200);
  }, ['--admin-listen', '0.0.0.0:0', '--status-public']);
});

test('/ready turns 503 while the server drains; /health stays 200', async () => {
  const srv = await startServer(['--admin-listen', '127.0.0.1:0', '--drain-ms', '20000']);
  try {
    const ap = adminPort(srv);
    assert.equal((await get(ap, '/ready')).status, 200);
    // a slow call keeps the drain going
    const slow = exchange(srv.port, modernPost(srv, call(1, 'test_slow', { steps: 30, ms: 100 })), 30000)
      .catch(() => null);
    await sleep(300);
    srv.proc.kill('SIGTERM');
    let ready;
    for (let i = 0; i < 100; i++) {
      ready = await get(ap, '/ready').catch(() => null);
      if (ready?.status === 503) break;
      await sleep(50);
    }
    assert.equal(ready?.status, 503, `no 503 during the drain: ${ready?.status} ${ready?.text}`);
    assert.match(ready.text, /draining/);
    assert.equal((await get(ap, '/health')).status, 200);
    await slow;
  } finally {
    const r = await srv.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:/);
  }
});

// The status page in headless Debian chromium: its script must fetch status.json and fill the
// page. With STATUS_PNG=path the test also keeps a screenshot there (docs/status.png is made
// so: `STATUS_PNG=$PWD/docs/status.png ctest -R e2e_http_admin`).
test('the /status page renders in headless chromium', async (t) => {
  if (spawnSync('chromium', ['--version']).error?.code === 'ENOENT') {
    t.skip('chromium is not installed (scripts/deps.sh installs it)');
    return;
  }
  await withServerChecked(async (srv) => {
    const ap = adminPort(srv);
    for (let i = 0; i < 20; i++) await exchange(srv.port, modernPost(srv, call(i + 1, 'echo', { message: 'x' })));
    await exchange(srv.port, modernPost(srv, call(99, 'test_error_handling')));
    const { mkdtempSync, rmSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/chromium-`);
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${dir}`, '--virtual-time-budget=5000', '--hide-scrollbars'];
    const url = `http://127.0.0.1:${ap}/status`;
    try {
      const dom = spawnSync('chromium', [...flags, '--dump-dom', url], { encoding: 'utf8', timeout: 120000 });
      assert.equal(dom.status, 0, dom.stderr);
      const html = dom.stdout;
      assert.match(html, /<span id="ready" class="ok">ready<\/span>/, 'the script filled in readiness');
      assert.match(html, /<b>21<\/b><span>requests<\/span>/);
      assert.match(html, /<b>1<\/b><span>errors<\/span>/);
      assert.match(html, /<td>echo<\/td><td>-<\/td><td class="n">20<\/td><td class="n">0<\/td>/);
      assert.match(html, /<td>test_error_handling<\/td><td>-<\/td><td class="n">1<\/td><td class="n">1<\/td>/);
      assert.match(html, /<td>tools\/call<\/td><td class="n">21<\/td>/);
      assert.match(html, /<td>tool_error<\/td>/, 'recent errors are listed');
      assert.match(html, /<span id="err"><\/span>/, "no fetch error shown");
      if (process.env.STATUS_PNG) {
        const shot = spawnSync('chromium', [...flags, `--screenshot=${process.env.STATUS_PNG}`,
          '--window-size=1200,900', url], { encoding: 'utf8', timeout: 120000 });
        assert.equal(shot.status, 0, shot.stderr);
        assert.ok(statSync(process.env.STATUS_PNG).size > 10000);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, ['--admin-listen', '127.0.0.1:0']);
});
