// mcpd_metrics.test.mjs - mcpd's own series on /metrics and /status.json, and the performance
// monitor's rules re-read on SIGHUP, against the real mcpd binary.
//
// The series test drives every counter to a known value (a tool breaker opened by failures and
// then refusing, exec children run to their end, timed out and killed, a concurrency limit that
// makes one call wait and refuses it, an upstream whose health checks fail, one good and one bad
// reload), scrapes /metrics, checks the exact values, and has `promtool check metrics` accept
// the text (skipped only without promtool: scripts/deps.sh installs Debian's prometheus).
// The monitor test reloads alert rules: an unchanged rule keeps its raised alert (raised once,
// never cleared), a new one starts, a bad set is refused whole, and an empty set clears every
// alert so /ready turns 200 again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startMcpd, stopChecked, connectClient, waitFor } from './lib/mcpd.mjs';

const T = { timeout: 120000 };

const textOf = (r) => r.content.map((c) => c.text ?? '').join('');

function adminBase(srv) {
  return new URL(srv.url).origin;
}

async function get(srv, path) {
  const r = await fetch(adminBase(srv) + path);
  return { status: r.status, text: await r.text() };
}

// name{labels} -> value, for every sample line.
function parseProm(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return m;
}

async function scrape(srv) {
  const r = await get(srv, '/metrics');
  assert.equal(r.status, 200);
  return { text: r.text, v: parseProm(r.text) };
}

describe("mcpd's own series", () => {
  it('counts breakers, children, limits, reloads and upstream health exactly', T, async () => {
    const config = {
      tools: [
        { kind: 'exec', name: 'broken', command: ['/nonexistent/program'],
          breaker: { min_calls: 2, failure_ratio: 0.5, cooldown_ms: 600000 } },
        { kind: 'exec', name: 'hello', command: ['echo', 'hi'] },
        { kind: 'exec', name: 'slow', command: ['sleep', '60'], timeout_ms: 300 },
        { kind: 'exec', name: 'one', command: ['sleep', '3'], concurrency: 1, queue_wait_ms: 50 },
        { kind: 'http', name: 'down_get', url: 'http://127.0.0.1:1/x',
          upstream: { name: 'down', health: { url: 'http://127.0.0.1:1/health', interval_ms: 100,
            timeout_ms: 1000, unhealthy_after: 1 } } },
      ],
    };
    const t0 = Date.now() / 1000;
    const srv = await startMcpd(config);
    try {
      // before anything: every fixed series is there, at zero
      let { v } = await scrape(srv);
      assert.equal(v.get('mcpd_children_spawned_total'), 0);
      assert.equal(v.get('mcpd_reloads_total{outcome="success"}'), 0);
      assert.equal(v.get('mcpd_last_reload_timestamp_seconds'), 0);
      assert.equal(v.get('mcpd_last_reload_success'), 1);
      assert.equal(v.get('mcpd_breaker_state{tool="broken"}'), 0);
      assert.equal(v.get('mcpd_breaker_state{tool="hello"}'), undefined, 'no breaker, no series');
      // one good reload, then one bad: the config served stays
      assert.equal(await srv.reload(), 'ok');
      srv.writeConfig('{ "tools": [ { "kind": "exec" ');
      assert.equal(await srv.reload(), 'failed');

      const c = await connectClient(srv.url, 'legacy');
      // the breaker: two failures open it, three calls are refused
      for (let i = 0; i < 2; i++) {
        const r = await c.callTool({ name: 'broken', arguments: {} });
        assert.match(textOf(r), /cannot run \/nonexistent\/program/);
      }
      for (let i = 0; i < 3; i++) {
        const r = await c.callTool({ name: 'broken', arguments: {} });
        assert.match(textOf(r), /^tool broken is unavailable/);
      }
      // children: three that end, one that times out and is killed
      for (let i = 0; i < 3; i++) assert.equal(textOf(await c.callTool({ name: 'hello', arguments: {} })), 'hi\n');
      const slow = await c.callTool({ name: 'slow', arguments: {} });
      assert.match(textOf(slow), /did not finish within 300 ms/);
      // the concurrency limit: a second call while one runs waits, then is refused
      const first = c.callTool({ name: 'one', arguments: {} });
      await waitFor(async () => (await scrape(srv)).v.get('mcpd_children_running') === 1, 'the first call to run');
      const second = await c.callTool({ name: 'one', arguments: {} });
      assert.match(textOf(second), /^tool one is busy/);
      assert.equal((await first).isError, undefined);
      // the upstream fails its health checks: down, its breaker held open
      await waitFor(async () => (await scrape(srv)).v.get('mcpd_upstream_up{upstream="down"}') === 0,
        'the upstream to be marked down');
      await waitFor(async () => (await scrape(srv)).v.get('mcpd_children_running') === 0, 'every child to be reaped');
      await c.close();

      const s = await scrape(srv);
      v = s.v;
      const exact = {
        'mcpd_breaker_state{tool="broken"}': 2,
        'mcpd_breaker_refused_total{tool="broken"}': 3,
        'mcpd_breaker_transitions_total{from="closed",to="open"}': 2, // the tool's, the upstream's
        'mcpd_breaker_transitions_total{from="open",to="half_open"}': 0,
        'mcpd_breaker_transitions_total{from="half_open",to="closed"}': 0,
        'mcpd_breaker_transitions_total{from="open",to="closed"}': 0,
        'mcpd_children_spawned_total': 5,
        'mcpd_children_running': 0,
        'mcpd_children_killed_total': 1,
        'mcpd_children_timed_out_total': 1,
        'mcpd_children_limit_refused_total': 0,
        'mcpd_concurrency_refused_total{tool="one"}': 1,
        'mcpd_concurrency_waits_total{tool="one"}': 1,
        'mcpd_concurrency_refused_total{tool="hello"}': 0,
        'mcpd_reloads_total{outcome="success"}': 1,
        'mcpd_reloads_total{outcome="failure"}': 1,
        'mcpd_last_reload_success': 0,
        'mcpd_upstream_up{upstream="down"}': 0,
        'mcpd_upstream_breaker_state{upstream="down"}': 2,
        'mcpd_upstream_breaker_refused_total{upstream="down"}': 0,
        'mcpd_upstream_concurrency_refused_total{upstream="down"}': 0,
      };
      for (const [k, want] of Object.entries(exact)) assert.equal(v.get(k), want, k);
      const when = v.get('mcpd_last_reload_timestamp_seconds');
      assert.ok(when >= Math.floor(t0) && when <= Date.now() / 1000 + 1, `last reload at ${when}`);
      assert.ok(v.get('mcpd_health_checks_total{outcome="failed"}') >= 1);
      assert.equal(v.get('mcpd_health_checks_total{outcome="ok"}'), 0);
      // the tools' calls as the transport counted them, beside mcpd's own
      assert.equal(v.get('mcpd_tool_calls_total{tool="hello",outcome="ok"}'), 3);
      // /status.json: the tools' breakers and the upstream's health
      const st = JSON.parse((await get(srv, '/status.json')).text);
      assert.equal(st.tools.find((t) => t.name === 'broken').breaker, 'open');
      assert.equal(st.tools.find((t) => t.name === 'hello').breaker, undefined);
      assert.ok(st.tools.find((t) => t.name === 'hello').p50_ms > 0);
      assert.deepEqual(st.upstreams, [{ name: 'down', up: false, breaker: 'open' }]);
      const pt = spawnSync('promtool', ['check', 'metrics'], { input: s.text, encoding: 'utf8' });
      if (pt.error?.code === 'ENOENT') {
        console.log('# promtool not installed: skipped (scripts/deps.sh installs prometheus)');
      } else {
        assert.equal(pt.status, 0, `promtool check metrics: ${pt.stdout}${pt.stderr}`);
      }
    } finally {
      await stopChecked(srv);
    }
  });
});

describe("the monitor's rules on SIGHUP", () => {
  // fds >= 1 always: a rule on it raises at the first evaluation
  const always = (name, signal = 'fds') => ({ name, signal, raise: 1, clear: 0 });
  const count = (s, re) => (s.match(re) ?? []).length;

  it('keeps unchanged rules raised, adds new ones, refuses a bad set, clears removed ones', T, async () => {
    const cfg = (alerts) => ({ http: { alerts }, tools: [{ kind: 'exec', name: 'hello', command: ['echo', 'hi'] }] });
    const srv = await startMcpd(cfg([always('fds_high')]));
    try {
      await waitFor(async () => (await get(srv, '/ready')).status === 503, '/ready to turn 503');
      assert.match((await get(srv, '/ready')).text, /alert raised: fds_high/);
      // unchanged fds_high, new rss_high
      srv.writeConfig(cfg([always('fds_high'), always('rss_high', 'rss')]));
      assert.equal(await srv.reload(), 'ok');
      await waitFor(() => /alert raised: rule=rss_high/.test(srv.stderr), 'the new rule to raise');
      let m = (await scrape(srv)).v;
      assert.equal(m.get('mcpd_alert_active{rule="fds_high"}'), 1);
      assert.equal(m.get('mcpd_alert_active{rule="rss_high"}'), 1);
      assert.equal(m.get('mcpd_alerts'), 2);
      assert.equal(count(srv.stderr, /alert raised: rule=fds_high/g), 1, 'fds_high kept its state');
      assert.equal(count(srv.stderr, /alert cleared: rule=fds_high/g), 0);
      // a bad set (clear above raise) fails the reload whole
      srv.writeConfig(cfg([{ name: 'bad', signal: 'fds', raise: 1, clear: 2 }]));
      assert.equal(await srv.reload(), 'failed');
      assert.match(srv.stderr, /\/http\/alerts\/0\/clear: must be at most raise \(1\), got 2/);
      // none: both alerts clear, /ready follows, their series go
      srv.writeConfig(cfg([]));
      assert.equal(await srv.reload(), 'ok');
      await waitFor(async () => (await get(srv, '/ready')).status === 200, '/ready to turn 200');
      m = (await scrape(srv)).v;
      assert.equal(m.get('mcpd_alerts'), 0);
      assert.equal(m.get('mcpd_alert_active{rule="fds_high"}'), undefined);
      assert.match(srv.stderr, /alert cleared: rule=fds_high \(the rule was removed or changed\)/);
      const st = JSON.parse((await get(srv, '/status.json')).text);
      assert.deepEqual(st.alerts, []);
      assert.equal(st.ready, true);
    } finally {
      await stopChecked(srv);
    }
  });
});
