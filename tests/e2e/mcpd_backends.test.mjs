// mcpd_backends.test.mjs - mcpd's backend kinds end to end: sql (SQLite) and http (libcurl)
// through the official TypeScript SDK clients in both eras (legacy: v1 client with a session;
// modern: v2 client, 2026-07-28), and the upstream guards: a failing upstream opens its breaker
// (calls answered at once, the upstream sees no more requests), a recovered one closes it again
// through half-open probes, and a health check opens and closes it on its own.
//
// The upstream is a node HTTP server the test starts and stops; its behaviour is switched by
// the test (healthy, failing with 503, slow).
//
// Run: MCPD_BIN=build/asan/mcpd node --test tests/e2e/mcpd_backends.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { Client as StdioClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { connectClient, MCPD, runMcpd, sleep, startMcpd, stopChecked, tempDir, textOf, waitFor } from './lib/mcpd.mjs';

const T = { timeout: 90000 };

const INIT = `CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT, score REAL);
INSERT INTO users(name, email, score) VALUES ('ada', 'ada@example.com', 9.5), ('bob', 'bob@example.com', NULL),
  ('cy', 'cy@example.com', 7.25);
CREATE TABLE big(n INTEGER, pad TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)
  INSERT INTO big SELECT x, printf('%050d', x) FROM c;`;

const sqlTools = (db) => [
  { kind: 'sql', name: 'find_user', description: 'Users whose name matches exactly.', database: db, init_sql: INIT,
    sql: 'SELECT id, name, email, score FROM users WHERE name = :name',
    arguments: { name: { type: 'string', maxLength: 200 } } },
  { kind: 'sql', name: 'users_above', database: db,
    sql: 'SELECT name FROM users WHERE score > :min ORDER BY name', arguments: { min: { type: 'number' } } },
  { kind: 'sql', name: 'count_users', database: db, sql: 'SELECT count(*) AS n FROM users' },
  { kind: 'sql', name: 'count_users_pooled', database: db, sql: 'SELECT count(*) AS n FROM users',
    inline_budget_us: 0 },
  { kind: 'sql', name: 'big_rows', database: db, sql: 'SELECT n, pad FROM big ORDER BY n', max_rows: 25 },
  { kind: 'sql', name: 'big_bytes', database: db, sql: 'SELECT n, pad FROM big ORDER BY n', max_rows: 100000,
    max_bytes: 4096 },
  { kind: 'sql', name: 'spin', database: db, timeout_ms: 700,
    sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c' },
  { kind: 'sql', name: 'add_user', database: db, read_only: false,
    sql: 'INSERT INTO users(name, email) VALUES (:name, :email)',
    arguments: { name: { type: 'string', minLength: 1 }, email: { type: 'string', optional: true } } },
];

// The test's upstream: JSON echo of what it received, switchable into failure and slowness.
function startUpstream() {
  const st = { mode: 'ok', healthy: true, hits: 0, healthHits: 0, delayMs: 0, onceSeen: new Map(), aborted: 0, hangSeen: 0 };
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', async () => {
      const u = new URL(req.url, 'http://x');
      if (u.pathname === '/health') {
        st.healthHits++;
        res.writeHead(st.healthy ? 200 : 503).end(st.healthy ? 'ok' : 'down');
        return;
      }
      st.hits++;
      if (u.pathname.startsWith('/once/')) { // 503 the first time a path is asked for, then 200
        const n = (st.onceSeen.get(u.pathname) ?? 0) + 1;
        st.onceSeen.set(u.pathname, n);
        if (n === 1) { res.writeHead(503, { 'content-type': 'text/plain' }).end('try again'); return; }
      }
      if (u.pathname === '/hang') { // answers only after a minute; counts clients that give up
        st.hangSeen++;
        res.on('close', () => { if (!res.writableEnded) st.aborted++; });
        await new Promise((r) => setTimeout(r, 60000).unref());
        if (!res.destroyed) res.end('late');
        return;
      }
      if (st.delayMs) await sleep(st.delayMs);
      if (st.mode === 'fail' && u.pathname !== '/slow') { res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream down'); return; }
      if (u.pathname === '/missing') { res.writeHead(404, { 'content-type': 'text/plain' }).end('no such thing'); return; }
      if (u.pathname === '/big') { res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(100000)); return; }
      if (u.pathname === '/list') { res.writeHead(200, { 'content-type': 'application/json' }).end('[1,2,3]'); return; }
      if (u.pathname === '/spaced') { res.writeHead(200, { 'content-type': 'application/json' }).end('\n  {"a":1}\n'); return; }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, path: u.pathname, raw: req.url, query: Object.fromEntries(u.searchParams),
        header: req.headers['x-tag'] ?? null, apiKey: req.headers['x-api-key'] ?? null, body: body ? JSON.parse(body) : null }));
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => {
    st.base = `http://127.0.0.1:${srv.address().port}`;
    st.close = () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); });
    resolve(st);
  }));
}

const httpTools = (base) => [
  { kind: 'http', name: 'get_item', description: 'One item by id.', url: `${base}/items/{id}`,
    query: { q: '{q}', v: '2' }, headers: { 'X-Tag': 'tag-{id}' },
    arguments: { id: { type: 'string' }, q: { type: 'string', optional: true } }, upstream: { name: 'api' } },
  // two tools on one upstream whose breaker the test trips
  { kind: 'http', name: 'flaky_get', url: `${base}/items/{id}`, arguments: { id: { type: 'string' } },
    upstream: { name: 'flaky', breaker: { min_calls: 3, failure_percent: 50, cooldown_ms: 400, probes: 1 } },
    retries: 0 },
  { kind: 'http', name: 'flaky_list', url: `${base}/list`, upstream: { name: 'flaky' } },
  { kind: 'http', name: 'create_item', method: 'POST', url: `${base}/items`,
    body: { name: '{name}', count: '{count}', note: 'made by {name}', tags: ['{tag}'] },
    arguments: { name: { type: 'string' }, count: { type: 'integer' }, tag: { type: 'string', optional: true } },
    upstream: { name: 'api' } },
  { kind: 'http', name: 'missing', url: `${base}/missing`, upstream: { name: 'api' } },
  { kind: 'http', name: 'big', url: `${base}/big`, max_response_bytes: 1000, upstream: { name: 'api' } },
  { kind: 'http', name: 'list', url: `${base}/list`, upstream: { name: 'api' } },
  // an object after whitespace: handed over trusted (no output_schema), or checked (one given)
  { kind: 'http', name: 'spaced', url: `${base}/spaced`, upstream: { name: 'api' } },
  { kind: 'http', name: 'spaced_typed', url: `${base}/spaced`, upstream: { name: 'api' },
    output_schema: { type: 'object', required: ['b'] } },
  { kind: 'http', name: 'slow', url: `${base}/slow`, timeout_ms: 600, retries: 0 },
  { kind: 'http', name: 'retry_get', url: `${base}/once/{id}`, arguments: { id: { type: 'string' } },
    retries: 2, backoff_ms: 10, upstream: { name: 'once' } },
  { kind: 'http', name: 'retry_post', method: 'POST', url: `${base}/once/{id}`, arguments: { id: { type: 'string' } },
    retries: 2, backoff_ms: 10, upstream: { name: 'once' } },
  { kind: 'http', name: 'hang', url: `${base}/hang`, timeout_ms: 30000, upstream: { name: 'hang' } },
  // full limits: the tool's own (its waiting call leaves the I/O thread), an upstream's
  { kind: 'http', name: 'one_at_a_time', url: `${base}/hang`, timeout_ms: 30000, concurrency: 1,
    queue_wait_ms: 300, upstream: { name: 'solo' } },
  { kind: 'http', name: 'tight_hang', url: `${base}/hang`, timeout_ms: 30000,
    upstream: { name: 'tight', concurrency: 1, queue_wait_ms: 300 } },
  { kind: 'http', name: 'tight_list', url: `${base}/list`, upstream: { name: 'tight' } },
  { kind: 'http', name: 'roomy_hang', url: `${base}/hang`, timeout_ms: 30000,
    upstream: { name: 'roomy', concurrency: 1, queue_wait_ms: 20000 } },
  { kind: 'http', name: 'roomy_list', url: `${base}/list`, upstream: { name: 'roomy' } },
];

for (const era of ['legacy', 'modern']) {
  describe(`sql kind (${era})`, () => {
    let tmp; let srv; let c;
    before(async () => {
      tmp = tempDir();
      srv = await startMcpd({ tools: sqlTools(tmp.path('t.db')) });
      c = await connectClient(srv.url, era);
    });
    after(async () => { await c.close(); await stopChecked(srv); tmp.cleanup(); });

    it('lists tools with schemas derived from the SQL', T, async () => {
      const { tools } = await c.listTools();
      const t = tools.find((x) => x.name === 'find_user');
      assert.equal(t.description, 'Users whose name matches exactly.');
      assert.deepEqual(t.inputSchema.required, ['name']);
      assert.deepEqual(t.outputSchema.properties.rows.items.properties.id, { type: ['integer', 'null'] });
      assert.deepEqual(t.outputSchema.properties.rows.items.properties.score, { type: ['number', 'null'] });
      assert.equal(t.annotations.readOnlyHint, true);
      assert.equal(tools.find((x) => x.name === 'add_user').annotations.destructiveHint, true);
    });

    it('binds arguments by name; structured rows and a text table', T, async () => {
      const r = await c.callTool({ name: 'find_user', arguments: { name: 'ada' } });
      assert.equal(r.isError, undefined, textOf(r));
      assert.deepEqual(r.structuredContent, {
        columns: ['id', 'name', 'email', 'score'],
        rows: [{ id: 1, name: 'ada', email: 'ada@example.com', score: 9.5 }], row_count: 1, truncated: false });
      assert.match(textOf(r), /\| id \| name \| email \| score \|\n\| --- \| --- \| --- \| --- \|\n\| 1 \| ada \| ada@example.com \| 9.5 \|\n1 row\(s\)/);
      const a = await c.callTool({ name: 'users_above', arguments: { min: 7 } });
      assert.deepEqual(a.structuredContent.rows, [{ name: 'ada' }, { name: 'cy' }]);
    });

    it('SQL injection through parameters stays data', T, async () => {
      const attempts = ["' OR '1'='1", "ada' --", "ada'; DROP TABLE users; --", '" OR ""="',
        "x' UNION SELECT 1, sqlite_version(), 3, 4 --", 'ada\u0000 OR 1=1', '%', '*'];
      for (const name of attempts) {
        const r = await c.callTool({ name: 'find_user', arguments: { name } });
        assert.equal(r.isError, undefined, textOf(r));
        assert.equal(r.structuredContent.row_count, 0, `${JSON.stringify(name)} matched rows`);
      }
      const n = await c.callTool({ name: 'count_users', arguments: {} });
      assert.ok(n.structuredContent.rows[0].n >= 3, 'the users table is intact');
    });

    it('bad arguments are refused by the input schema', T, async () => {
      const bad = [{}, { name: 42 }, { name: 'x'.repeat(201) }, { name: 'ada', extra: 1 }];
      for (const args of bad) {
        let failed = false;
        try {
          const r = await c.callTool({ name: 'find_user', arguments: args });
          failed = r.isError === true;
        } catch (e) {
          failed = /Invalid|invalid|-32602/.test(String(e.message ?? e));
        }
        assert.ok(failed, `accepted ${JSON.stringify(args)}`);
      }
    });

    it('row and byte caps mark the result truncated', T, async () => {
      const r = await c.callTool({ name: 'big_rows', arguments: {} });
      assert.equal(r.structuredContent.row_count, 25);
      assert.equal(r.structuredContent.truncated, true);
      assert.match(textOf(r), /25 row\(s\); more were left out/);
      const b = await c.callTool({ name: 'big_bytes', arguments: {} });
      assert.equal(b.structuredContent.truncated, true);
      assert.ok(JSON.stringify(b.structuredContent.rows).length <= 4096);
      assert.ok(b.structuredContent.row_count > 10 && b.structuredContent.row_count < 2000);
    });

    it('the inline fast path and the handler-thread path answer alike, also in parallel', T, async () => {
      const calls = [];
      for (let i = 0; i < 24; i++) {
        calls.push(c.callTool({ name: i % 2 ? 'count_users' : 'count_users_pooled', arguments: {} }));
        calls.push(c.callTool({ name: 'find_user', arguments: { name: 'ada' } }));
      }
      const rs = await Promise.all(calls);
      for (let i = 0; i < rs.length; i += 2) {
        assert.equal(rs[i].isError, undefined, textOf(rs[i]));
        assert.deepEqual(rs[i].structuredContent.columns, ['n']);
        assert.equal(rs[i + 1].structuredContent.rows[0].email, 'ada@example.com');
      }
      assert.deepEqual(rs[0].structuredContent, rs[2].structuredContent);
    });

    it('a query past its timeout is interrupted; the server goes on', T, async () => {
      const r = await c.callTool({ name: 'spin', arguments: {} });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /did not finish within 700 ms/);
      const n = await c.callTool({ name: 'count_users', arguments: {} });
      assert.equal(n.isError, undefined);
    });

    it('writes only where the tool allows it; constraints are tool errors', T, async () => {
      const name = `eve_${era}`;
      let r = await c.callTool({ name: 'add_user', arguments: { name, email: 'e@x' } });
      assert.equal(r.isError, undefined, textOf(r));
      assert.equal(r.structuredContent.changes, 1);
      r = await c.callTool({ name: 'add_user', arguments: { name } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /SQL error: UNIQUE constraint failed: users\.name/);
    });
  });
}

describe('sql config mistakes', () => {
  it('--check-config explains SQL mistakes at their place', T, async () => {
    const tmp = tempDir();
    const db = tmp.path('c.db');
    writeFileSync(tmp.path('c.json'), JSON.stringify({ tools: [
      { kind: 'sql', name: 'w', database: db, init_sql: 'CREATE TABLE t(x INTEGER);', sql: 'DELETE FROM t' },
      { kind: 'sql', name: 'p', database: db, sql: 'SELECT x FROM t WHERE x = :y', arguments: { x: { type: 'integer' } } },
      { kind: 'sql', name: 'm', database: db, sql: 'SELECT 1; SELECT 2' },
      { kind: 'sql', name: 'n', database: db, sql: 'SELEC x FROM t' },
      { kind: 'sql', name: 'q', database: db, sql: 'SELECT x FROM t WHERE x = ?' },
      { kind: 'sql', name: 'f', database: tmp.path('none/x.db'), sql: 'SELECT 1' },
    ] }, null, 1));
    const r = await runMcpd(['--check-config', tmp.path('c.json')]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const out = r.stdout;
    assert.match(out, /\/tools\/0\/sql: the statement writes to the database: set "read_only": false to allow it/);
    assert.match(out, /\/tools\/1\/sql: the parameter :y names no argument/);
    assert.match(out, /\/tools\/1\/arguments\/x: the SQL has no parameter :x for this argument/);
    assert.match(out, /\/tools\/2\/sql: the SQL must be one statement/);
    assert.match(out, /\/tools\/3\/sql: the SQL does not prepare: near "SELEC": syntax error/);
    assert.match(out, /\/tools\/4\/sql: parameter 1 is positional/);
    assert.match(out, /\/tools\/5\/database: cannot open the database/);
    tmp.cleanup();
  });
});

for (const era of ['legacy', 'modern']) {
  describe(`http kind (${era})`, () => {
    let up; let srv; let c;
    before(async () => {
      up = await startUpstream();
      srv = await startMcpd({ tools: httpTools(up.base) });
      c = await connectClient(srv.url, era);
    });
    after(async () => { await c.close(); await stopChecked(srv); await up.close(); });

    it('fills URL, query, headers and body with encoding per place', T, async () => {
      let r = await c.callTool({ name: 'get_item', arguments: { id: 'a/../b?c=d#e', q: 'x y&z=1' } });
      assert.equal(r.isError, undefined, textOf(r));
      const s = r.structuredContent;
      assert.equal(s.method, 'GET');
      assert.equal(s.path, '/items/a%2F..%2Fb%3Fc%3Dd%23e');
      assert.deepEqual(s.query, { q: 'x y&z=1', v: '2' });
      assert.equal(s.header, 'tag-a/../b?c=d#e');
      assert.deepEqual(JSON.parse(textOf(r)), s);
      r = await c.callTool({ name: 'get_item', arguments: { id: '7' } }); // optional q absent: no q
      assert.deepEqual(r.structuredContent.query, { v: '2' });
      r = await c.callTool({ name: 'get_item', arguments: { id: '..' } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /cannot be a path segment/);
      r = await c.callTool({ name: 'get_item', arguments: { id: 'x\r\nX-Evil: 1' } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /a line break or NUL cannot go into the header X-Tag/);
      r = await c.callTool({ name: 'create_item', arguments: { name: 'widget "w"', count: 3 } });
      assert.equal(r.isError, undefined, textOf(r));
      assert.equal(r.structuredContent.method, 'POST');
      assert.deepEqual(r.structuredContent.body, { name: 'widget "w"', count: 3, note: 'made by widget "w"', tags: [null] });
    });

    it('4xx is a tool error, the response cap holds, non-object JSON is wrapped', T, async () => {
      let r = await c.callTool({ name: 'missing', arguments: {} });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /HTTP 404 from api: no such thing/);
      r = await c.callTool({ name: 'big', arguments: {} });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /larger than the limit of 1000 bytes/);
      r = await c.callTool({ name: 'list', arguments: {} });
      assert.deepEqual(r.structuredContent, { result: [1, 2, 3] });
    });

    it('a JSON object answer is the structured content; a declared output_schema is enforced', T, async () => {
      const r = await c.callTool({ name: 'spaced', arguments: {} });
      assert.equal(r.isError, undefined, textOf(r));
      assert.deepEqual(r.structuredContent, { a: 1 });
      await assert.rejects(c.callTool({ name: 'spaced_typed', arguments: {} }),
        /does not match its output schema/);
    });

    it('a slow upstream times out', T, async () => {
      up.delayMs = 3000;
      try {
        const r = await c.callTool({ name: 'slow', arguments: {} });
        assert.equal(r.isError, true);
        assert.match(textOf(r), /did not finish within 600 ms|no answer in time/);
      } finally { up.delayMs = 0; }
    });

    it('idempotent methods are retried, POST is not', T, async () => {
      const before = up.hits;
      let r = await c.callTool({ name: 'retry_get', arguments: { id: `g-${era}` } });
      assert.equal(r.isError, undefined, textOf(r));
      assert.equal(up.hits - before, 2, 'one 503, then the retry');
      const mid = up.hits;
      r = await c.callTool({ name: 'retry_post', arguments: { id: `p-${era}` } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /HTTP 503 from once: try again/);
      assert.equal(up.hits - mid, 1, 'a POST that reached the upstream is not sent twice');
    });

    it('a cancelled call aborts its upstream request', T, async () => {
      const ac = new AbortController();
      const seen = up.hangSeen;
      const params = { name: 'hang', arguments: {} };
      // the v2 client takes the options second, the v1 client third
      const p = era === 'modern' ? c.callTool(params, { signal: ac.signal })
        : c.callTool(params, undefined, { signal: ac.signal });
      const aborted = up.aborted;
      await waitFor(() => up.hangSeen > seen, 'the request to reach the upstream');
      ac.abort();
      await assert.rejects(p);
      await waitFor(() => up.aborted > aborted, 'mcpd to drop the upstream request', 10000);
      const r = await c.callTool({ name: 'list', arguments: {} });
      assert.equal(r.isError, undefined, 'the server goes on');
    });

    it('full concurrency limits make calls wait, then say busy; a freed slot goes to a waiter', T, async () => {
      const hangCall = (name) => {
        const ac = new AbortController();
        const params = { name, arguments: {} };
        const p = era === 'modern' ? c.callTool(params, { signal: ac.signal })
          : c.callTool(params, undefined, { signal: ac.signal });
        return { ac, p: p.then(() => 'answered', () => 'aborted') };
      };
      // the tool's own limit (1): the second call waits 300 ms off the I/O thread, then is busy
      let seen = up.hangSeen;
      const a = hangCall('one_at_a_time');
      await waitFor(() => up.hangSeen > seen, 'the first call to reach the upstream');
      const busy = c.callTool({ name: 'one_at_a_time', arguments: {} });
      let r = await c.callTool({ name: 'list', arguments: {} }); // served meanwhile
      assert.equal(r.isError, undefined, textOf(r));
      r = await busy;
      assert.equal(r.isError, true);
      assert.match(textOf(r), /tool one_at_a_time is busy: 1 calls are running \(its concurrency limit\) and none ended within 300 ms/);
      a.ac.abort();
      assert.equal(await a.p, 'aborted');
      // the upstream's limit (1): a call to another tool of it waits 300 ms, then is refused
      seen = up.hangSeen;
      const b = hangCall('tight_hang');
      await waitFor(() => up.hangSeen > seen, 'the hanging call to reach the upstream');
      r = await c.callTool({ name: 'tight_list', arguments: {} });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /upstream tight is busy: too many concurrent calls \(limit 1\): no slot freed within 300 ms/);
      b.ac.abort();
      assert.equal(await b.p, 'aborted');
      // a waiting call gets the slot its upstream frees
      seen = up.hangSeen;
      const d = hangCall('roomy_hang');
      await waitFor(() => up.hangSeen > seen, 'the hanging call to reach the upstream');
      const waiting = c.callTool({ name: 'roomy_list', arguments: {} });
      await sleep(200);
      d.ac.abort();
      r = await waiting;
      assert.equal(r.isError, undefined, textOf(r));
      assert.deepEqual(r.structuredContent, { result: [1, 2, 3] });
      assert.equal(await d.p, 'aborted');
    });

    it('a failing upstream opens the breaker; a recovered one closes it', T, async () => {
      up.mode = 'fail';
      for (let i = 0; i < 3; i++) {
        const r = await c.callTool({ name: 'flaky_get', arguments: { id: `f${i}` } });
        assert.equal(r.isError, true);
        assert.match(textOf(r), /HTTP 503 from flaky: upstream down/);
      }
      // open: answered at once, the upstream sees nothing, the text says when to retry
      const hits = up.hits;
      let r = await c.callTool({ name: 'flaky_get', arguments: { id: 'x' } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /upstream flaky is unavailable: circuit open after 3 failures in 3 calls; retry in \d+\.\d s/);
      // every tool of the upstream shares it
      r = await c.callTool({ name: 'flaky_list', arguments: {} });
      assert.match(textOf(r), /upstream flaky is unavailable: circuit open/);
      assert.equal(up.hits, hits, 'no request reached the upstream while open');
      // a tool on another upstream is untouched
      r = await c.callTool({ name: 'slow', arguments: {} });
      assert.equal(r.isError, undefined, textOf(r));
      up.mode = 'ok';
      // after the cooldown, probes pass and close it
      await waitFor(async () => {
        const x = await c.callTool({ name: 'flaky_get', arguments: { id: 'p' } });
        return x.isError === undefined;
      }, 'a probe call to pass', 20000);
      r = await c.callTool({ name: 'flaky_get', arguments: { id: 'p2' } });
      assert.equal(r.isError, undefined, textOf(r));
      for (let i = 0; i < 5; i++) {
        r = await c.callTool({ name: 'flaky_list', arguments: {} });
        assert.equal(r.isError, undefined, textOf(r));
      }
    });
  });
}

// Over HTTP an http tool's call runs inline on the worker loop, which sends the request itself
// (hclient.c); over stdio there is no such loop and libcurl's transfer thread sends it. The
// answers must not differ, and the metrics say which path served.
describe('http requests from the worker loop and from the transfer thread', () => {
  it('answer the same, and each path is counted', T, async () => {
    const up = await startUpstream();
    const tools = httpTools(up.base);
    const srv = await startMcpd({ tools });
    const tmp = tempDir();
    const file = tmp.path('stdio.json');
    writeFileSync(file, JSON.stringify({ tools }));
    const stdio = new StdioClient({ name: 'stdio', version: '1.0.0' }, { capabilities: {} });
    await stdio.connect(new StdioClientTransport({ command: MCPD, args: ['--config', file, '--stdio'],
      stderr: 'pipe' }));
    let stdioErr = '';
    stdio.transport.stderr.on('data', (d) => { stdioErr += d; });
    try {
      const c = await connectClient(srv.url, 'modern');
      const calls = [
        { name: 'get_item', arguments: { id: 'a/../b?c=d#e', q: 'x y&z=1' } },
        { name: 'create_item', arguments: { name: 'widget "w"', count: 3 } },
        // a 300 KB request body, and its echo back
        { name: 'create_item', arguments: { name: 'w'.repeat(300000), count: 1 } },
        { name: 'missing', arguments: {} },
        { name: 'big', arguments: {} },
        { name: 'list', arguments: {} },
        { name: 'spaced', arguments: {} },
      ];
      for (const call of calls) {
        const pick = (r) => ({ content: r.content, structuredContent: r.structuredContent, isError: r.isError });
        const a = pick(await c.callTool(call));
        const b = pick(await stdio.callTool(call));
        assert.deepEqual(a, b, `${call.name}: the worker loop's and the transfer thread's answers`);
      }
      const r = await fetch(new URL('/metrics', srv.url));
      const text = await r.text();
      const n = (name, upstream) => Number(new RegExp(`^${name}\\{upstream="${upstream}"\\} (\\d+)`, 'm').exec(text)?.[1]);
      assert.equal(n('mcpd_upstream_loop_requests_total', 'api'), calls.length, text);
      assert.equal(n('mcpd_upstream_transfer_requests_total', 'api'), 0);
      await c.close();
    } finally {
      await stdio.close();
      tmp.cleanup();
      await stopChecked(srv);
      await up.close();
    }
    assert.doesNotMatch(stdioErr, /AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:/);
  });
});

describe('http upstreams across a reload', () => {
  it('a reload keeps an upstream and its open breaker', T, async () => {
    const up = await startUpstream();
    // a long cooldown: the breaker must still be open after the reload, however slow the machine
    const tools = httpTools(up.base).map((t) => (t.name === 'flaky_get'
      ? { ...t, upstream: { name: 'flaky', breaker: { ...t.upstream.breaker, cooldown_ms: 600000 } } } : t));
    const srv = await startMcpd({ tools });
    try {
      const c = await connectClient(srv.url, 'legacy');
      up.mode = 'fail';
      for (let i = 0; i < 3; i++) await c.callTool({ name: 'flaky_get', arguments: { id: `r${i}` } });
      let r = await c.callTool({ name: 'flaky_get', arguments: { id: 'x' } });
      assert.match(textOf(r), /upstream flaky is unavailable: circuit open/);
      srv.writeConfig({ tools: [...tools, { kind: 'http', name: 'extra', url: `${up.base}/list`, upstream: { name: 'flaky' } }] });
      assert.equal(await srv.reload(), 'ok');
      r = await c.callTool({ name: 'extra', arguments: {} });
      assert.match(textOf(r), /upstream flaky is unavailable: circuit open/, 'the new generation shares the open breaker');
      // changed breaker settings for the upstream: a fresh, closed breaker (the call gets through)
      const changed = tools.map((t) => (t.name === 'flaky_get'
        ? { ...t, upstream: { name: 'flaky', breaker: { ...t.upstream.breaker, cooldown_ms: 500000 } } } : t));
      srv.writeConfig({ tools: changed });
      assert.equal(await srv.reload(), 'ok');
      await waitFor(async () => !(await c.listTools()).tools.some((t) => t.name === 'extra'), 'the second reload served');
      up.mode = 'ok';
      r = await c.callTool({ name: 'flaky_get', arguments: { id: 'fresh' } });
      assert.doesNotMatch(textOf(r), /unavailable/, 'a changed breaker config starts closed');
      await c.close();
    } finally {
      await stopChecked(srv);
      await up.close();
    }
  });
});

describe('http upstream health checks', () => {
  it('a failing health check opens the breaker before any call fails; recovery closes it', T, async () => {
    const up = await startUpstream();
    const srv = await startMcpd({ tools: [
      { kind: 'http', name: 'ping', url: `${up.base}/ping`,
        upstream: { name: 'svc', health: { path: '/health', interval_ms: 50, timeout_ms: 1000, unhealthy_after: 2, healthy_after: 1 } } },
    ] });
    try {
      const c = await connectClient(srv.url, 'modern');
      await waitFor(() => up.healthHits >= 2, 'health probes');
      let r = await c.callTool({ name: 'ping', arguments: {} });
      assert.equal(r.isError, undefined, textOf(r));
      up.healthy = false;
      await waitFor(async () => {
        const x = await c.callTool({ name: 'ping', arguments: {} });
        return x.isError && /svc failed its health check \(GET .*\/health: HTTP 503\)/.test(textOf(x));
      }, 'the breaker to open on health');
      const hits = up.hits;
      r = await c.callTool({ name: 'ping', arguments: {} });
      assert.match(textOf(r), /upstream svc is unavailable: circuit open: svc failed its health check/);
      assert.equal(up.hits, hits);
      up.healthy = true;
      await waitFor(async () => (await c.callTool({ name: 'ping', arguments: {} })).isError === undefined,
        'the breaker to close on health');
      assert.match(srv.stderr, /health: svc is unhealthy .*its circuit is open/);
      assert.match(srv.stderr, /health: svc is healthy again; its circuit is closed/);
      await c.close();
    } finally {
      await stopChecked(srv);
      await up.close();
    }
  });

  it('http config mistakes', T, async () => {
    const tmp = tempDir();
    writeFileSync(tmp.path('h.json'), JSON.stringify({ tools: [
      { kind: 'http', name: 'a', url: 'http://{host}/x', arguments: { host: { type: 'string' } } },
      { kind: 'http', name: 'b', url: 'ftp://example.com/x' },
      { kind: 'http', name: 'c', url: 'http://example.com/{nope}' },
      { kind: 'http', name: 'd', url: 'http://example.com/', body: { a: 1 } },
      { kind: 'http', name: 'e', url: 'http://example.com/', headers: { 'Bad Name': 'x' } },
    ] }, null, 1));
    const r = await runMcpd(['--check-config', tmp.path('h.json')]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /\/tools\/0\/url: the scheme, host and port must be fixed/);
    assert.match(r.stdout, /\/tools\/1\/url: expected an http:\/\/ or https:\/\/ URL/);
    assert.match(r.stdout, /\/tools\/2\/url: "\{nope\}" names no argument/);
    assert.match(r.stdout, /\/tools\/3\/body: a GET request has no body/);
    assert.match(r.stdout, /\/tools\/4\/headers: header name "Bad Name" is not a valid HTTP token/);
    tmp.cleanup();
  });
});

const PETS = (base) => `openapi: 3.0.3
info: {title: Pets, version: "1.0"}
servers:
  - url: ${base}/v1
paths:
  /pets:
    get:
      operationId: listPets
      summary: List pets
      parameters:
        - name: limit
          in: query
          schema: {type: integer, minimum: 1, maximum: 100}
        - $ref: '#/components/parameters/Tag'
    post:
      operationId: createPet
      summary: Create a pet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Pet'}
  /pets/{pet-id}:
    parameters:
      - name: pet-id
        in: path
        required: true
        description: The pet's id
        schema: {type: string}
    get:
      operationId: getPet
      description: "One pet, by id"
    delete:
      operationId: deletePet
components:
  parameters:
    Tag: {name: X-Tag, in: header, schema: {type: string}}
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        tag: {type: string}
`;

for (const era of ['legacy', 'modern']) {
  describe(`openapi kind (${era})`, () => {
    it('serves every operation of a YAML document as a tool', T, async () => {
      const up = await startUpstream();
      const tmp = tempDir();
        writeFileSync(tmp.path('pets.yaml'), PETS(up.base));
      const srv = await startMcpd({ tools: [
        { kind: 'openapi', spec: tmp.path('pets.yaml'), prefix: 'pets_', headers: { 'X-Api-Key': 'k' } },
        { kind: 'openapi', spec: tmp.path('pets.yaml'), prefix: 'ro_', operations: ['getPet'] },
      ] });
      try {
        const c = await connectClient(srv.url, era);
        const { tools } = await c.listTools();
        assert.deepEqual(tools.map((t) => t.name).sort(),
          ['pets_createPet', 'pets_deletePet', 'pets_getPet', 'pets_listPets', 'ro_getPet']);
        const get = tools.find((t) => t.name === 'pets_getPet');
        assert.equal(get.description, 'One pet, by id');
        assert.deepEqual(get.inputSchema.required, ['pet_id']);
        assert.equal(get.annotations.readOnlyHint, true);
        assert.equal(tools.find((t) => t.name === 'pets_deletePet').annotations.destructiveHint, true);
        let r = await c.callTool({ name: 'pets_getPet', arguments: { pet_id: 'rex/../1' } });
        assert.equal(r.isError, undefined, textOf(r));
        assert.equal(r.structuredContent.path, '/v1/pets/rex%2F..%2F1');
        r = await c.callTool({ name: 'pets_listPets', arguments: { limit: 5, X_Tag: 't1' } });
        assert.deepEqual(r.structuredContent.query, { limit: '5' });
        assert.equal(r.structuredContent.header, 't1');
        assert.equal(r.structuredContent.apiKey, 'k', "the entry's headers go with every request");
        r = await c.callTool({ name: 'pets_createPet', arguments: { body: { name: 'rex', tag: 'dog' } } });
        assert.equal(r.structuredContent.method, 'POST');
        assert.deepEqual(r.structuredContent.body, { name: 'rex', tag: 'dog' });
        let refused = false;
        try {
          r = await c.callTool({ name: 'pets_createPet', arguments: { body: { tag: 'no name' } } });
          refused = r.isError === true && /name/.test(textOf(r));
        } catch (e) { refused = /name/.test(String(e.message)); }
        assert.ok(refused, 'a body without its required name was accepted');
        r = await c.callTool({ name: 'pets_deletePet', arguments: { pet_id: '9' } });
        assert.equal(r.structuredContent.method, 'DELETE');
        await c.close();
      } finally {
        await stopChecked(srv);
        await up.close();
        tmp.cleanup();
      }
    });
  });
}

describe('openapi config mistakes', () => {
  it('unknown operations, relative servers, aliases and non-OpenAPI files are explained', T, async () => {
    const tmp = tempDir();
    writeFileSync(tmp.path('pets.yaml'), PETS('http://127.0.0.1:1'));
    writeFileSync(tmp.path('rel.json'), JSON.stringify({ openapi: '3.1.0', servers: [{ url: '/api' }], paths: {} }));
    writeFileSync(tmp.path('alias.yaml'), 'openapi: 3.0.0\na: &x {b: 1}\nc: *x\n');
    writeFileSync(tmp.path('swagger.json'), JSON.stringify({ swagger: '2.0', paths: {} }));
    writeFileSync(tmp.path('c.json'), JSON.stringify({ tools: [
      { kind: 'openapi', spec: tmp.path('pets.yaml'), operations: ['getPet', 'nope'] },
      { kind: 'openapi', spec: tmp.path('rel.json') },
      { kind: 'openapi', spec: tmp.path('alias.yaml') },
      { kind: 'openapi', spec: tmp.path('swagger.json') },
      { kind: 'openapi', spec: tmp.path('missing.yaml') },
    ] }, null, 1));
    const r = await runMcpd(['--check-config', tmp.path('c.json')]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /\/tools\/0\/operations\/1: the document has no operation "nope"/);
    assert.match(r.stdout, /\/tools\/1\/spec: expected an absolute http\(s\) base URL/);
    assert.match(r.stdout, /\/tools\/2\/spec: .*alias\.yaml: not JSON, and not YAML: line 2: anchors and aliases/);
    assert.match(r.stdout, /\/tools\/3\/spec: .*swagger\.json: expected an OpenAPI 3 document/);
    assert.match(r.stdout, /\/tools\/4\/spec: cannot open .*missing\.yaml: No such file or directory/);
    tmp.cleanup();
  });
});
