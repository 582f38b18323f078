// http_overload.test.mjs - fair degradation and the performance monitor, end to end.
//
// One legacy session floods slow tool calls far beyond what the pool can run; another calls
// one at a time. The flooder must be shed (503 with Retry-After) while the polite client keeps
// at least 95% success; the in-flight alert must raise (log line, mcpd_alert_active 1,
// mcpd_alerts 1, /ready 503) during the flood and clear after it (/ready 200). Counts are asserted, never timings:
// everything is polled with generous time-outs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withServerChecked } from './lib/http_server.mjs';

const LEGACY = '2025-11-25';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function post(srv, body, sid) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
  if (sid) {
    headers['Mcp-Session-Id'] = sid;
    headers['MCP-Protocol-Version'] = LEGACY;
  }
  return fetch(srv.url, { method: 'POST', headers, body: JSON.stringify(body) });
}

async function openSession(srv, name) {
  const r = await post(srv, { jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name, version: '1' } } });
  assert.equal(r.status, 200);
  await r.text();
  const sid = r.headers.get('mcp-session-id');
  assert.ok(sid, 'session id');
  const n = await post(srv, { jsonrpc: '2.0', method: 'notifications/initialized' }, sid);
  assert.equal(n.status, 202);
  await n.text();
  return sid;
}

// One test_slow call; resolves to 'ok', 'shed' (503 with a sane Retry-After) or 'error'.
async function slowCall(srv, sid, id, ms) {
  const r = await post(srv, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'test_slow', arguments: { steps: 1, ms } } }, sid);
  const text = await r.text();
  if (r.status === 503) {
    assert.match(r.headers.get('retry-after') ?? '', /^([1-9]|[1-5][0-9]|60)$/, 'Retry-After in whole seconds');
    assert.match(text, /-32000/);
    return 'shed';
  }
  if (r.status === 200 && /"done"/.test(text)) return 'ok';
  return `error ${r.status} ${text.slice(0, 200)}`;
}

async function metric(srv, line) {
  const r = await fetch(new URL('/metrics', srv.url));
  const text = await r.text();
  const m = text.split('\n').find((l) => l.startsWith(`${line} `));
  return m ? Number(m.slice(line.length + 1)) : undefined;
}

async function waitFor(pred, what, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await sleep(100);
  }
}

describe('overload: fair shedding and alerts', () => {
  it('a flooding client is shed, a polite one keeps >= 95% success; the alert raises and clears', () => withServerChecked(async (srv) => {
    const flooder = await openSession(srv, 'flooder');
    const polite = await openSession(srv, 'polite');
    assert.equal(await metric(srv, 'mcpd_alerts'), 0);
    let flooding = true;
    const flood = { ok: 0, shed: 0, other: [] };
    const floodLoop = async (w) => {
      for (let i = 0; flooding; i++) {
        const r = await slowCall(srv, flooder, `f${w}-${i}`, 100);
        if (r === 'ok') flood.ok++;
        else if (r === 'shed') {
          flood.shed++;
          await sleep(20); // keep the test's own CPU use sane; the server would not care
        }
        else flood.other.push(r);
      }
    };
    const floods = Array.from({ length: 24 }, (_, w) => floodLoop(w));
    // the alert raises while the flood goes on
    await waitFor(async () => (await metric(srv, 'mcpd_alert_active{rule="busy"}')) === 1, 'the busy alert to raise');
    assert.equal(await metric(srv, 'mcpd_alerts'), 1);
    const notReady = await fetch(new URL('/ready', srv.url));
    assert.equal(notReady.status, 503, '/ready while the alert is raised');
    assert.match(await notReady.text(), /alert raised: busy/);
    const N = 40;
    const mine = { ok: 0, other: [] };
    for (let i = 0; i < N; i++) {
      const r = await slowCall(srv, polite, `p${i}`, 10);
      if (r === 'ok') mine.ok++;
      else mine.other.push(r);
    }
    flooding = false;
    await Promise.all(floods);
    console.log(JSON.stringify({ polite: { ok: mine.ok, of: N }, flooder: { ok: flood.ok, shed: flood.shed } }));
    assert.ok(mine.ok >= Math.ceil(N * 0.95), `polite client: ${mine.ok}/${N} succeeded; failures: ${mine.other.slice(0, 3).join('; ')}`);
    assert.ok(flood.shed > 0, `the flooder must be shed (ok ${flood.ok}, shed ${flood.shed})`);
    assert.deepEqual(flood.other, [], 'the flooder gets answers or 503s, nothing else');
    // after the load: the alert clears
    await waitFor(async () => (await metric(srv, 'mcpd_alert_active{rule="busy"}')) === 0, 'the busy alert to clear');
    assert.equal(await metric(srv, 'mcpd_alerts'), 0);
    const ready = await fetch(new URL('/ready', srv.url));
    assert.equal(ready.status, 200, '/ready once the alert cleared');
    await ready.text();
    assert.match(srv.stderr, /alert raised: rule=busy/);
    assert.match(srv.stderr, /alert cleared: rule=busy/);
  }, ['--threads', '2', '--queue-max', '64', '--client-queue-max', '6', '--queue-target-ms', '50',
    '--alert', 'busy:in_flight:6:2:1000']));

  it('a serial tool never runs twice at once; past its mailbox bound calls get a precise 503', () => withServerChecked(async (srv) => {
    const sid = await openSession(srv, 'serial');
    const call = async (id, ms) => {
      const r = await post(srv, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'test_serial', arguments: { ms } } }, sid);
      return { status: r.status, text: await r.text() };
    };
    // 12 at once, each sleeping: served one at a time
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => call(`s${i}`, 20)));
    for (const r of rs) {
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /concurrent: 1"/, r.text);
    }
    // 90 at once: 1 runs, 64 wait, the ones past that are refused at once with the reason
    const many = await Promise.all(Array.from({ length: 90 }, (_, i) => call(`m${i}`, 100)));
    const ok = many.filter((r) => r.status === 200);
    const refused = many.filter((r) => r.status === 503);
    assert.equal(ok.length + refused.length, 90, many.map((r) => r.status).join(','));
    // a refusal means 64 were waiting behind a running one: at least 65 were accepted
    assert.ok(refused.length >= 1, 'with 90 calls of 100 ms at once, the mailbox of 64 overflows');
    assert.ok(ok.length >= 65, `accepted ${ok.length}: the mailbox holds 64 behind the running call`);
    for (const r of ok) assert.match(r.text, /concurrent: 1"/, r.text);
    for (const r of refused) assert.match(r.text, /runs one call at a time and 64 calls are already waiting/, r.text);
  }, ['--threads', '8']));
});
