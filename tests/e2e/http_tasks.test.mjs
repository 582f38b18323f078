// http_tasks.test.mjs - tasks over real Streamable HTTP against the everything server's task
// fixtures (slow_compute, failing_job, protocol_error_job, confirm_delete, multi_input,
// test_tool_with_task, greet: docs/internals/conformance-fixtures.md §8.1, docs/internals/tasks.md).
//
// Modern era (2026-07-28, io.modelcontextprotocol/tasks extension), raw fetch with the per-request
// _meta and Mcp-* headers: the flat CreateTaskResult, tasks/get polling while the handler runs on
// the work pool (also from other TCP connections / workers), inlined result / error, tool errors
// as completed+isError, tasks/update answering input_required questions one at a time,
// tasks/cancel acks (running and terminal), MRTR before task creation (test_tool_with_task),
// -32021 without the extension, -32601 for tasks/result and tasks/list, routing headers.
//
// Legacy era (2025-11-25 experimental tasks), raw fetch in a session: initialize -> Mcp-Session-Id,
// tools/call with params.task, tasks/get polling, the blocking tasks/result (with _meta
// related-task), tasks/list, tasks/cancel, notifications/tasks/status and a task's elicitation on
// the standalone GET stream, isolation between sessions. Then the official SDK client's
// experimental task helpers (client.experimental.tasks: callToolStream, getTask, listTasks,
// cancelTask) against the same server.
//
// Every test starts its own server (port 0, --workers 2) and stops it with SIGTERM: exit 0, no
// sanitizer report in its stderr.
//
// Run: MCPD_EVERYTHING=build/h-tasks/everything node --test tests/e2e/http_tasks.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateTaskResultSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { SANITIZER, startServer, withServerChecked } from './lib/http_server.mjs';
import { parseSse } from './lib/tap_fetch.mjs';

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';
const TASKS_EXT = 'io.modelcontextprotocol/tasks';
const RELATED = 'io.modelcontextprotocol/related-task';
const TASK_ID = /^[A-Za-z0-9_-]{22}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const STOP_MS = 12000;
const T = { timeout: 30000 };
const WITH_TASKS = { extensions: { [TASKS_EXT]: {} } };
const WITH_TASKS_ELICIT = { elicitation: {}, extensions: { [TASKS_EXT]: {} } };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- servers ------------------------------------------------------------------------------------

// Runs fn(srv) against a fresh server, then stops it: exit 0 within STOP_MS, no sanitizer report.
// Returns how long the stop took (ms).
const withServer = (fn, args = ['--workers', '2', '--threads', '4']) =>
  withServerChecked(fn, args, { stopMs: STOP_MS });

// ---- HTTP helpers -------------------------------------------------------------------------------

// Reads a fetch Response whole: { status, headers, contentType, text, messages }.
async function readAll(res) {
  const text = await res.text();
  const contentType = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  let messages = [];
  try {
    messages = contentType === 'text/event-stream'
      ? parseSse(text).filter((e) => e.data).map((e) => JSON.parse(e.data))
      : text ? [JSON.parse(text)].flat() : [];
  } catch { messages = []; }
  return { status: res.status, headers: res.headers, contentType, text, messages };
}

// POST through a fresh TCP connection (node:http, no agent): with several workers, requests
// land on whichever worker accepts the connection.
function postFresh(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve(readAll(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: h })));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

let nextId = 1;

// ---- modern era ---------------------------------------------------------------------------------

function modernMeta(caps) {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': caps,
    'io.modelcontextprotocol/clientInfo': { name: 'mcpd-tasks-e2e', version: '1.0.0' },
  };
}

// One modern request: { id, headers, body }. Mcp-Name is the tool name for tools/call and the
// task id for tasks/get|update|cancel (SEP-2663 routing headers). opts.headers adds/(null)
// removes headers; opts.caps the clientCapabilities (default: the tasks extension).
function modernRequest(method, params = {}, { caps = WITH_TASKS, headers = {} } = {}) {
  const id = nextId++;
  const body = { jsonrpc: '2.0', id, method, params: { ...params, _meta: modernMeta(caps) } };
  const h = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
  };
  const name = method === 'tools/call' ? params.name
    : ['tasks/get', 'tasks/update', 'tasks/cancel'].includes(method) ? params.taskId : undefined;
  if (typeof name === 'string') h['mcp-name'] = name;
  for (const [k, v] of Object.entries(headers)) {
    if (v === null) delete h[k.toLowerCase()];
    else h[k.toLowerCase()] = v;
  }
  return { id, headers: h, body: JSON.stringify(body) };
}

// POSTs a modern request; returns { status, ..., response (the message with our id) }.
async function modern(srv, method, params = {}, opts = {}) {
  const req = modernRequest(method, params, opts);
  const r = opts.fresh
    ? await postFresh(srv.url, req.headers, req.body)
    : await readAll(await fetch(srv.url, { method: 'POST', headers: req.headers, body: req.body }));
  r.response = r.messages.find((m) => m.id === req.id);
  assert.ok(r.response, `no response to ${method} #${req.id}: ${r.status} ${r.text.slice(0, 500)}`);
  return r;
}

const show = (r) => `${r.status} ${r.text.slice(0, 800)}`;

// A successful modern result (HTTP 200, no error).
async function mresult(srv, method, params, opts) {
  const r = await modern(srv, method, params, opts);
  assert.equal(r.status, 200, show(r));
  assert.ok(r.response.result, `${method}: ${show(r)}`);
  return r.response.result;
}

// A modern JSON-RPC error: checks the code (and the HTTP status if given); returns the error.
async function merror(srv, method, params, code, status, opts) {
  const r = await modern(srv, method, params, opts);
  assert.ok(r.response.error, `${method}: expected error ${code}, got ${show(r)}`);
  assert.equal(r.response.error.code, code, show(r));
  if (status) assert.equal(r.status, status, show(r));
  return r.response.error;
}

// Checks a flat CreateTaskResult (§8.1) and returns it.
function checkCreate(res, what) {
  assert.equal(res.resultType, 'task', `${what}: ${JSON.stringify(res)}`);
  assert.match(res.taskId, TASK_ID, what);
  assert.ok(['working', 'input_required', 'completed', 'failed', 'cancelled'].includes(res.status), what);
  assert.match(res.createdAt, ISO, what);
  assert.match(res.lastUpdatedAt, ISO, what);
  assert.ok(res.ttlMs === null || (Number.isInteger(res.ttlMs) && res.ttlMs > 0), `${what}: ttlMs ${res.ttlMs}`);
  if ('pollIntervalMs' in res) assert.ok(Number.isInteger(res.pollIntervalMs) && res.pollIntervalMs > 0, what);
  for (const k of ['task', 'result', 'error', 'inputRequests', 'requestState', 'ttl', 'pollInterval', 'content'])
    assert.ok(!(k in res), `${what}: CreateTaskResult has forbidden key ${k}: ${JSON.stringify(res)}`);
  return res;
}

// Polls tasks/get every `every` ms until pred(task) (default: terminal); returns
// { task, statuses } (every status seen, in order).
async function pollModern(srv, taskId, { pred, every = 50, ms = 10000, caps = WITH_TASKS, fresh = false } = {}) {
  const statuses = [];
  const end = Date.now() + ms;
  const done = pred ?? ((t) => ['completed', 'failed', 'cancelled'].includes(t.status));
  for (;;) {
    const t = await mresult(srv, 'tasks/get', { taskId }, { caps, fresh });
    assert.equal(t.resultType, 'complete', JSON.stringify(t));
    assert.equal(t.taskId, taskId);
    assert.ok(!('requestState' in t), 'tasks/get carries requestState');
    statuses.push(t.status);
    if (done(t)) return { task: t, statuses };
    if (Date.now() > end) assert.fail(`task ${taskId} still ${t.status} after ${ms} ms (${statuses.join(',')})`);
    await sleep(every);
  }
}

// Resolves p, or fails after ms with `what`.
async function within(p, what, ms = 5000) {
  let t;
  const timeout = new Promise((_, rej) => { t = setTimeout(() => rej(new assert.AssertionError({ message: `timed out after ${ms} ms: ${what}` })), ms); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(t); }
}

const textOf = (result) => (result?.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('');

describe('tasks over Streamable HTTP, modern era (io.modelcontextprotocol/tasks)', () => {
  it('discover advertises the extension; tools/list shows each tool\'s taskSupport', T, () => withServer(async (srv) => {
    const d = await mresult(srv, 'server/discover', {}, { caps: {} });
    assert.ok(d.capabilities?.extensions?.[TASKS_EXT], JSON.stringify(d.capabilities));
    assert.ok(!('tasks' in d.capabilities), 'no capabilities.tasks in the modern era');
    const l = await mresult(srv, 'tools/list', {}, { caps: {} });
    const support = Object.fromEntries(l.tools.map((t) => [t.name, t.execution?.taskSupport]));
    assert.equal(support.slow_compute, 'optional');
    assert.equal(support.failing_job, 'required');
    assert.equal(support.protocol_error_job, 'optional');
    assert.equal(support.confirm_delete, 'optional');
    assert.equal(support.multi_input, 'optional');
    assert.equal(support.test_tool_with_task, 'required');
    assert.equal(support.greet, undefined);
  }));

  it('slow_compute: CreateTaskResult at once, working while the pool runs it, then completed with the result inlined', T, () => withServer(async (srv) => {
    const t0 = Date.now();
    const c = checkCreate(await mresult(srv, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0.6, label: 'e2e' } }), 'create');
    assert.ok(Date.now() - t0 < 500, `the CreateTaskResult took ${Date.now() - t0} ms (the handler sleeps 600)`);
    assert.equal(c.status, 'working');
    // durable at once, also through another TCP connection (another worker)
    const g = await mresult(srv, 'tasks/get', { taskId: c.taskId }, { fresh: true });
    assert.equal(g.status, 'working');
    assert.equal(g.createdAt, c.createdAt);
    assert.ok(!('result' in g));
    const { task, statuses } = await pollModern(srv, c.taskId, { every: 40 });
    assert.ok(statuses.filter((s) => s === 'working').length >= 3, `statuses ${statuses}`);
    assert.equal(task.status, 'completed', JSON.stringify(task));
    assert.equal(textOf(task.result), 'Computed e2e in 0.6 s');
    assert.ok(!task.result._meta?.[RELATED], 'no related-task _meta on the inlined result');
    assert.ok(!('error' in task));
    assert.ok(Date.parse(task.lastUpdatedAt) >= Date.parse(task.createdAt));
    // still readable a while after it ended
    await sleep(500);
    assert.equal((await mresult(srv, 'tasks/get', { taskId: c.taskId })).status, 'completed');
  }));

  it('several tasks at once, polled from fresh connections on two workers', T, () => withServer(async (srv) => {
    const ids = [];
    for (let i = 0; i < 6; i++)
      ids.push(checkCreate(await mresult(srv, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0.3, label: `n${i}` } }, { fresh: true }), `create ${i}`).taskId);
    assert.equal(new Set(ids).size, 6);
    const results = await Promise.all(ids.map((id) => pollModern(srv, id, { fresh: true, every: 30 })));
    results.forEach(({ task }, i) => {
      assert.equal(task.status, 'completed');
      assert.equal(textOf(task.result), `Computed n${i} in 0.3 s`);
    });
  }));

  it('failing_job completes with isError; protocol_error_job fails with error and no result', T, () => withServer(async (srv) => {
    const f = checkCreate(await mresult(srv, 'tools/call', { name: 'failing_job', arguments: {} }), 'failing_job');
    const p = checkCreate(await mresult(srv, 'tools/call', { name: 'protocol_error_job', arguments: {} }), 'protocol_error_job');
    const pf = await pollModern(srv, p.taskId);
    assert.equal(pf.task.status, 'failed', JSON.stringify(pf.task));
    assert.equal(typeof pf.task.error?.code, 'number');
    assert.equal(typeof pf.task.error?.message, 'string');
    assert.ok(!('result' in pf.task));
    const ff = await pollModern(srv, f.taskId);
    assert.equal(ff.task.status, 'completed', JSON.stringify(ff.task));
    assert.equal(ff.task.result.isError, true);
    assert.match(textOf(ff.task.result), /failed/);
  }));

  it('tasks/cancel: an empty ack on a running task (the handler stops), and again on the terminal one', T, async () => {
    let taskId;
    const stopMs = await withServer(async (srv) => {
      const c = checkCreate(await mresult(srv, 'tools/call', { name: 'slow_compute', arguments: { seconds: 60, label: 'cancel-me' } }), 'create');
      taskId = c.taskId;
      await sleep(100);
      const ack = await mresult(srv, 'tasks/cancel', { taskId });
      assert.equal(ack.resultType, 'complete');
      for (const k of ['taskId', 'status', 'result', 'error', 'inputRequests'])
        assert.ok(!(k in ack), `cancel ack has ${k}: ${JSON.stringify(ack)}`);
      const { task } = await pollModern(srv, taskId, { ms: 3000 });
      assert.equal(task.status, 'cancelled');
      assert.ok(!('result' in task));
      const again = await mresult(srv, 'tasks/cancel', { taskId });
      assert.equal(again.resultType, 'complete');
      assert.equal((await mresult(srv, 'tasks/get', { taskId })).status, 'cancelled');
      // a terminal, completed task: the same ack
      const q = checkCreate(await mresult(srv, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0.1, label: 'q' } }), 'q');
      await pollModern(srv, q.taskId);
      assert.equal((await mresult(srv, 'tasks/cancel', { taskId: q.taskId })).resultType, 'complete');
      assert.equal((await mresult(srv, 'tasks/get', { taskId: q.taskId })).status, 'completed');
    });
    // the cancelled handler did not keep the drain waiting (it would for up to 10 s)
    assert.ok(stopMs < 3000, `stop took ${stopMs} ms`);
  });

  it('confirm_delete: input_required with one elicitation, tasks/update resumes it to completed', T, () => withServer(async (srv) => {
    const caps = WITH_TASKS_ELICIT;
    const c = checkCreate(await mresult(srv, 'tools/call', { name: 'confirm_delete', arguments: { filename: 'mrtr-input.txt' } }, { caps }), 'create');
    const { task } = await pollModern(srv, c.taskId, { caps, pred: (t) => t.status !== 'working', ms: 5000 });
    assert.equal(task.status, 'input_required', JSON.stringify(task));
    const keys = Object.keys(task.inputRequests ?? {});
    assert.equal(keys.length, 1, JSON.stringify(task.inputRequests));
    assert.equal(task.inputRequests[keys[0]].method, 'elicitation/create');
    assert.equal(task.inputRequests[keys[0]].params.message, 'Delete the file?');
    const ack = await mresult(srv, 'tasks/update', { taskId: c.taskId, inputResponses: { [keys[0]]: { action: 'accept', content: { confirm: true } } } }, { caps });
    assert.deepEqual(Object.keys(ack).filter((k) => k !== '_meta'), ['resultType']);
    assert.equal(ack.resultType, 'complete');
    const done = await pollModern(srv, c.taskId, { caps });
    assert.equal(done.task.status, 'completed', JSON.stringify(done.task));
    assert.equal(textOf(done.task.result), 'Deleted mrtr-input.txt');
    // without the extension the same tool asks synchronously (MRTR, no task)
    const sync = await mresult(srv, 'tools/call', { name: 'confirm_delete', arguments: { filename: 'x' } }, { caps: { elicitation: {} } });
    assert.equal(sync.resultType, 'input_required');
    assert.ok(!('taskId' in sync) && sync.requestState);
  }));

  it('multi_input: partial fulfilment keeps input_required with only the unanswered key', T, () => withServer(async (srv) => {
    const caps = WITH_TASKS_ELICIT;
    const c = checkCreate(await mresult(srv, 'tools/call', { name: 'multi_input', arguments: {} }, { caps }), 'create');
    const { task } = await pollModern(srv, c.taskId, { caps, pred: (t) => t.status !== 'working', ms: 5000 });
    assert.equal(task.status, 'input_required');
    const keys = Object.keys(task.inputRequests).sort();
    assert.deepEqual(keys, ['first', 'second']);
    // the first answer, plus an unknown key (ignored)
    let ack = await mresult(srv, 'tasks/update', { taskId: c.taskId, inputResponses: { first: { action: 'accept', content: { value: 'Ada' } }, 'unknown-key': { ignored: true } } }, { caps });
    assert.equal(ack.resultType, 'complete');
    const mid = await mresult(srv, 'tasks/get', { taskId: c.taskId }, { caps });
    assert.equal(mid.status, 'input_required');
    assert.deepEqual(Object.keys(mid.inputRequests), ['second']);
    ack = await mresult(srv, 'tasks/update', { taskId: c.taskId, inputResponses: { second: { action: 'accept', content: { value: 'Lovelace' } } } }, { caps });
    assert.equal(ack.resultType, 'complete');
    const done = await pollModern(srv, c.taskId, { caps });
    assert.equal(done.task.status, 'completed', JSON.stringify(done.task));
    assert.equal(textOf(done.task.result), 'Got both answers: {"value":"Ada"} and {"value":"Lovelace"}');
    assert.ok(!('inputRequests' in done.task));
    // a task parked for input can be cancelled; the server still stops at once
    const p = checkCreate(await mresult(srv, 'tools/call', { name: 'multi_input', arguments: {} }, { caps }), 'parked');
    await pollModern(srv, p.taskId, { caps, pred: (t) => t.status === 'input_required', ms: 5000 });
    assert.equal((await mresult(srv, 'tasks/cancel', { taskId: p.taskId }, { caps })).resultType, 'complete');
    assert.equal((await mresult(srv, 'tasks/get', { taskId: p.taskId }, { caps })).status, 'cancelled');
    // and one left parked when the server stops (it must not hold the drain)
    const left = checkCreate(await mresult(srv, 'tools/call', { name: 'multi_input', arguments: {} }, { caps }), 'left');
    await pollModern(srv, left.taskId, { caps, pred: (t) => t.status === 'input_required', ms: 5000 });
  }));

  it('test_tool_with_task: MRTR round 1 synchronously, round 2 creates the task, which greets Alice', T, () => withServer(async (srv) => {
    const caps = WITH_TASKS_ELICIT;
    const r1 = await mresult(srv, 'tools/call', { name: 'test_tool_with_task', arguments: {} }, { caps });
    assert.equal(r1.resultType, 'input_required', JSON.stringify(r1));
    assert.ok(!('taskId' in r1));
    assert.ok(r1.inputRequests?.user_name, JSON.stringify(r1));
    assert.equal(typeof r1.requestState, 'string');
    const r2 = await mresult(srv, 'tools/call', {
      name: 'test_tool_with_task', arguments: {}, requestState: r1.requestState,
      inputResponses: { user_name: { action: 'accept', content: { name: 'Alice' } } },
    }, { caps });
    checkCreate(r2, 'round 2');
    const { task } = await pollModern(srv, r2.taskId, { caps });
    assert.equal(task.status, 'completed', JSON.stringify(task));
    assert.match(textOf(task.result), /Alice/);
  }));

  it('without the extension: -32021 for tasks/* and required tools, optional tools run synchronously', T, () => withServer(async (srv) => {
    const none = { caps: {} };
    for (const [m, p] of [['tasks/get', { taskId: 'gate-test' }], ['tasks/update', { taskId: 'gate-test', inputResponses: {} }], ['tasks/cancel', { taskId: 'gate-test' }]]) {
      const e = await merror(srv, m, p, -32021, 400, none);
      assert.ok(e.data?.requiredCapabilities?.extensions?.[TASKS_EXT], `${m}: ${JSON.stringify(e)}`);
    }
    const s = await mresult(srv, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0, label: 'sync' } }, none);
    assert.equal(s.resultType, 'complete');
    assert.equal(textOf(s), 'Computed sync in 0 s');
    assert.ok(!('taskId' in s));
    for (const tool of ['failing_job', 'test_tool_with_task']) {
      const e = await merror(srv, 'tools/call', { name: tool, arguments: {} }, -32021, 400, none);
      assert.ok(e.data?.requiredCapabilities?.extensions?.[TASKS_EXT], `${tool}: ${JSON.stringify(e)}`);
    }
    // a legacy params.task on a sync tool is ignored
    const g = await mresult(srv, 'tools/call', { name: 'greet', arguments: { name: 'sep-2243' }, task: { ttl: 60000, pollInterval: 100 } });
    assert.equal(g.resultType, 'complete');
    assert.equal(textOf(g), 'Hello, sep-2243!');
    // removed methods, even with the extension; unknown ids
    await merror(srv, 'tasks/result', { taskId: 'x' }, -32601, 404);
    await merror(srv, 'tasks/list', {}, -32601, 404);
    await merror(srv, 'tasks/get', { taskId: 'tasks-conformance-nonexistent-12345' }, -32602);
    await merror(srv, 'tasks/cancel', { taskId: 'tasks-conformance-nonexistent-12345' }, -32602);
    await merror(srv, 'tasks/update', { taskId: 'tasks-conformance-nonexistent-12345', inputResponses: {} }, -32602);
  }));

  it('notifications/cancelled naming the id of an answered task-creating tools/call does not cancel the task', T, () => withServer(async (srv) => {
    // SEP-2663 / cancellation.mdx: tasks are cancelled with tasks/cancel. Over HTTP every modern
    // client shares the worker's conn, so an id-based cancel from anyone (ids are 1, 2, 3...)
    // must not reach a task created by someone else long ago.
    const req = modernRequest('tools/call', { name: 'slow_compute', arguments: { seconds: 3, label: 'victim' } });
    const cr = await readAll(await fetch(srv.url, { method: 'POST', headers: req.headers, body: req.body }));
    const c = checkCreate(cr.messages[0].result, 'create');
    const note = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: req.id, reason: 'another client', _meta: modernMeta({}) } };
    const n = await fetch(srv.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'notifications/cancelled' }, body: JSON.stringify(note) });
    await n.arrayBuffer();
    assert.equal(n.status, 202);
    await sleep(150);
    const g = await mresult(srv, 'tasks/get', { taskId: c.taskId });
    const status = g.status;
    if (status !== 'cancelled') await pollModern(srv, c.taskId);
    assert.equal(status, 'working', `the task was ${status} by a notifications/cancelled for request id ${req.id}`);
  }, ['--workers', '1', '--threads', '2'])); // one worker: the notification surely reaches the task's conn

  it('routing headers: Mcp-Name must equal taskId, Mcp-Method the method', T, () => withServer(async (srv) => {
    const c = checkCreate(await mresult(srv, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0.2 } }), 'create');
    assert.equal((await mresult(srv, 'tasks/get', { taskId: c.taskId })).taskId, c.taskId);
    await merror(srv, 'tasks/get', { taskId: c.taskId }, -32020, 400, { headers: { 'mcp-name': 'sep-2663-wrong-task-id-for-routing-header-mismatch' } });
    await merror(srv, 'tasks/get', { taskId: c.taskId }, -32020, 400, { headers: { 'mcp-name': null } });
    await merror(srv, 'tools/call', { name: 'greet', arguments: { name: 'x' } }, -32020, 400, { headers: { 'mcp-method': 'tasks/get' } });
    await pollModern(srv, c.taskId);
  }));
});

// ---- legacy era: raw fetch in a session ---------------------------------------------------------

class Session {
  constructor(srv, sid, init) { this.srv = srv; this.sid = sid; this.init = init; }

  static async open(srv, capabilities = {}) {
    const res = await fetch(srv.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'initialize', params: { protocolVersion: LEGACY, capabilities, clientInfo: { name: 'mcpd-tasks-e2e', version: '1' } } }),
    });
    const r = await readAll(res);
    assert.equal(r.status, 200, r.text);
    const sid = res.headers.get('mcp-session-id');
    assert.match(sid ?? '', /^[0-9a-f]{32}$/);
    const s = new Session(srv, sid, r.messages[0].result);
    const n = await s.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(n.status, 202);
    return s;
  }

  headers() {
    return { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': LEGACY, 'mcp-session-id': this.sid };
  }

  async post(msg) {
    return readAll(await fetch(this.srv.url, { method: 'POST', headers: this.headers(), body: JSON.stringify(msg) }));
  }

  // Sends a request; resolves to the response message (with .http = the whole exchange).
  async req(method, params) {
    const id = nextId++;
    const r = await this.post({ jsonrpc: '2.0', id, method, params });
    const m = r.messages.find((x) => x.id === id);
    assert.ok(m, `no response to ${method}: ${r.status} ${r.text.slice(0, 500)}`);
    Object.defineProperty(m, 'http', { value: r, enumerable: false });
    return m;
  }

  async result(method, params) {
    const m = await this.req(method, params);
    assert.ok(m.result, `${method}: ${JSON.stringify(m)}`);
    return m.result;
  }

  async error(method, params, code) {
    const m = await this.req(method, params);
    assert.ok(m.error, `${method}: expected error ${code}, got ${JSON.stringify(m)}`);
    assert.equal(m.error.code, code, JSON.stringify(m));
    return m.error;
  }

  // Opens the standalone GET stream; returns { messages, waitFor(pred, what, ms), close() }.
  async standalone() {
    const ac = new AbortController();
    const res = await fetch(this.srv.url, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-protocol-version': LEGACY, 'mcp-session-id': this.sid }, signal: ac.signal });
    assert.equal(res.status, 200);
    const st = { messages: [], buf: '' };
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    const pump = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          st.buf += dec.decode(value, { stream: true });
          const cut = st.buf.lastIndexOf('\n\n');
          if (cut >= 0) {
            for (const e of parseSse(st.buf.slice(0, cut + 2))) if (e.data) st.messages.push(JSON.parse(e.data));
            st.buf = st.buf.slice(cut + 2);
          }
        }
      } catch { /* aborted */ }
    })();
    st.waitFor = async (pred, what, ms = 5000) => {
      const end = Date.now() + ms;
      for (;;) {
        const m = st.messages.find(pred);
        if (m) return m;
        if (Date.now() > end) assert.fail(`standalone stream: no ${what} within ${ms} ms; got ${JSON.stringify(st.messages).slice(0, 800)}`);
        await sleep(10);
      }
    };
    st.close = async () => { ac.abort(); await pump; };
    return st;
  }

  async close() {
    const res = await fetch(this.srv.url, { method: 'DELETE', headers: { 'mcp-session-id': this.sid, 'mcp-protocol-version': LEGACY } });
    await res.arrayBuffer();
    assert.equal(res.status, 204);
  }
}

function checkLegacyTask(t, what) {
  assert.match(t.taskId, TASK_ID, what);
  assert.match(t.createdAt, ISO, what);
  assert.match(t.lastUpdatedAt, ISO, what);
  assert.ok(Number.isInteger(t.ttl) && t.ttl > 0, `${what}: ttl ${t.ttl}`);
  assert.ok(Number.isInteger(t.pollInterval) && t.pollInterval > 0, `${what}: pollInterval`);
  assert.ok(!('ttlMs' in t) && !('pollIntervalMs' in t) && !('resultType' in t), `${what}: modern fields ${JSON.stringify(t)}`);
  return t;
}

async function pollLegacy(s, taskId, { pred, every = 50, ms = 10000 } = {}) {
  const statuses = [];
  const end = Date.now() + ms;
  const done = pred ?? ((t) => ['completed', 'failed', 'cancelled'].includes(t.status));
  for (;;) {
    const t = checkLegacyTask(await s.result('tasks/get', { taskId }), 'tasks/get');
    assert.equal(t.taskId, taskId);
    statuses.push(t.status);
    if (done(t)) return { task: t, statuses };
    if (Date.now() > end) assert.fail(`task ${taskId} still ${t.status} after ${ms} ms`);
    await sleep(every);
  }
}

describe('tasks over Streamable HTTP, legacy era (2025-11-25 sessions, raw fetch)', () => {
  it('tools/call with params.task, tasks/get polling, tasks/result, tasks/list, status notification', T, () => withServer(async (srv) => {
    const s = await Session.open(srv);
    const caps = s.init.capabilities.tasks;
    assert.ok(caps?.list && caps?.cancel && caps?.requests?.tools?.call, JSON.stringify(s.init.capabilities));
    const stream = await s.standalone();
    const cr = await s.result('tools/call', { name: 'slow_compute', arguments: { seconds: 0.5, label: 'legacy' }, task: { ttl: 60000 } });
    const t = checkLegacyTask(cr.task, 'create');
    assert.equal(t.status, 'working');
    assert.equal(t.ttl, 60000);
    assert.ok(!('content' in cr));
    const { task, statuses } = await pollLegacy(s, t.taskId, { every: 40 });
    assert.ok(statuses.filter((x) => x === 'working').length >= 3, `statuses ${statuses}`);
    assert.equal(task.status, 'completed');
    const r = await s.result('tasks/result', { taskId: t.taskId });
    assert.equal(textOf(r), 'Computed legacy in 0.5 s');
    assert.equal(r._meta?.[RELATED]?.taskId, t.taskId);
    const note = await stream.waitFor((m) => m.method === 'notifications/tasks/status' && m.params?.taskId === t.taskId, 'notifications/tasks/status');
    assert.equal(note.params.status, 'completed');
    checkLegacyTask(note.params, 'notification');
    const list = await s.result('tasks/list', {});
    assert.deepEqual(list.tasks.map((x) => x.taskId), [t.taskId]);
    assert.ok(!('nextCursor' in list));
    const e = await s.error('tasks/cancel', { taskId: t.taskId }, -32602);
    assert.match(e.message, /completed/);
    await stream.close();
    await s.close();
  }));

  it('tasks/result blocks until the pool finishes the handler while another request polls', T, () => withServer(async (srv) => {
    const s = await Session.open(srv);
    const { task: t } = await s.result('tools/call', { name: 'slow_compute', arguments: { seconds: 1, label: 'blocked' }, task: {} });
    assert.equal(t.ttl, 300000); // the default
    const t0 = Date.now();
    let settled = false;
    const pending = s.req('tasks/result', { taskId: t.taskId }).then((m) => { settled = true; return m; });
    const seen = [];
    while (!settled && Date.now() - t0 < 5000) {
      seen.push((await s.result('tasks/get', { taskId: t.taskId })).status);
      await sleep(50);
    }
    const m = await pending;
    assert.ok(Date.now() - t0 >= 700, `tasks/result came after ${Date.now() - t0} ms`);
    assert.ok(seen.includes('working'), `polled statuses ${seen}`);
    assert.equal(textOf(m.result), 'Computed blocked in 1 s');
    assert.equal(m.result._meta?.[RELATED]?.taskId, t.taskId);
    // errors: failing_job is a tool error (a result); protocol_error_job returns its error
    const f = (await s.result('tools/call', { name: 'failing_job', arguments: {}, task: {} })).task;
    const p = (await s.result('tools/call', { name: 'protocol_error_job', arguments: {}, task: {} })).task;
    const fr = await s.result('tasks/result', { taskId: f.taskId });
    assert.equal(fr.isError, true);
    assert.equal(fr._meta?.[RELATED]?.taskId, f.taskId);
    const pe = await s.req('tasks/result', { taskId: p.taskId });
    assert.equal(pe.error?.code, -32603, JSON.stringify(pe));
    assert.equal((await s.result('tasks/get', { taskId: p.taskId })).status, 'failed');
    await s.close();
  }));

  it('tasks/cancel of a running task: cancelled, the waiter ends, a second cancel is -32602', T, async () => {
    const stopMs = await withServer(async (srv) => {
      const s = await Session.open(srv);
      const { task: t } = await s.result('tools/call', { name: 'slow_compute', arguments: { seconds: 60 }, task: {} });
      const waiter = s.req('tasks/result', { taskId: t.taskId });
      await sleep(100);
      const c = checkLegacyTask(await s.result('tasks/cancel', { taskId: t.taskId }), 'cancel');
      assert.equal(c.status, 'cancelled');
      assert.equal(c.taskId, t.taskId);
      const w = await waiter;
      assert.ok(w.error, `tasks/result of a cancelled task: ${JSON.stringify(w)}`);
      assert.equal((await s.result('tasks/get', { taskId: t.taskId })).status, 'cancelled');
      await s.error('tasks/cancel', { taskId: t.taskId }, -32602);
      await s.close();
    });
    assert.ok(stopMs < 3000, `stop took ${stopMs} ms: the cancelled handler kept running`);
  });

  it('sessions are isolated; task support errors are -32601', T, () => withServer(async (srv) => {
    const a = await Session.open(srv);
    const b = await Session.open(srv);
    const { task: t } = await a.result('tools/call', { name: 'slow_compute', arguments: { seconds: 0.2 }, task: {} });
    await b.error('tasks/get', { taskId: t.taskId }, -32602);
    await b.error('tasks/result', { taskId: t.taskId }, -32602);
    await b.error('tasks/cancel', { taskId: t.taskId }, -32602);
    assert.deepEqual((await b.result('tasks/list', {})).tasks, []);
    // a modern request cannot reach a legacy task either
    await merror(srv, 'tasks/get', { taskId: t.taskId }, -32602);
    await a.error('tools/call', { name: 'failing_job', arguments: {} }, -32601); // required, no params.task
    await a.error('tools/call', { name: 'greet', arguments: { name: 'x' }, task: {} }, -32601); // never a task
    await a.error('tasks/update', { taskId: t.taskId, inputResponses: {} }, -32601);
    await a.error('tasks/list', { cursor: 'forged' }, -32602);
    // without params.task an optional tool is an ordinary call
    assert.equal(textOf(await a.result('tools/call', { name: 'slow_compute', arguments: { seconds: 0, label: 's' } })), 'Computed s in 0 s');
    await pollLegacy(a, t.taskId);
    assert.equal((await a.result('tasks/list', {})).tasks.length, 1);
    await a.close();
    await b.close();
  }));

  it('a task that asks: elicitation/create on the standalone stream, input_required, then completed', T, () => withServer(async (srv) => {
    const s = await Session.open(srv, { elicitation: {} });
    const stream = await s.standalone();
    const { task: t } = await s.result('tools/call', { name: 'confirm_delete', arguments: { filename: 'legacy.txt' }, task: {} });
    const q = await stream.waitFor((m) => m.method === 'elicitation/create', 'elicitation/create');
    assert.equal(q.params.message, 'Delete the file?');
    await pollLegacy(s, t.taskId, { pred: (x) => x.status === 'input_required', ms: 3000 });
    const waiter = s.req('tasks/result', { taskId: t.taskId });
    const ans = await s.post({ jsonrpc: '2.0', id: q.id, result: { action: 'accept', content: { confirm: true } } });
    assert.equal(ans.status, 202);
    const r = await waiter;
    assert.equal(textOf(r.result), 'Deleted legacy.txt', JSON.stringify(r));
    assert.equal((await s.result('tasks/get', { taskId: t.taskId })).status, 'completed');
    await stream.close();
    await s.close();
  }));

  it('a task that asks before the client listens: the first standalone GET gets the question', T, () => withServer(async (srv) => {
    // (the TypeScript SDK opens its GET just after its first calls: the question used to be
    // dropped, and the task waited for ever)
    const s = await Session.open(srv, { elicitation: {} });
    const { task: t } = await s.result('tools/call', { name: 'confirm_delete', arguments: { filename: 'late.txt' }, task: {} });
    await pollLegacy(s, t.taskId, { pred: (x) => x.status === 'input_required', ms: 20000 });
    const stream = await s.standalone();
    const q = await stream.waitFor((m) => m.method === 'elicitation/create', 'elicitation/create');
    assert.equal(q.params.message, 'Delete the file?');
    const ans = await s.post({ jsonrpc: '2.0', id: q.id, result: { action: 'accept', content: { confirm: true } } });
    assert.equal(ans.status, 202);
    const r = await s.req('tasks/result', { taskId: t.taskId });
    assert.equal(textOf(r.result), 'Deleted late.txt', JSON.stringify(r));
    assert.equal(stream.messages.filter((m) => m.method === 'elicitation/create').length, 1);
    await stream.close();
    await s.close();
  }));
});

// ---- legacy era: the SDK client's experimental task helpers ------------------------------------

describe('tasks with the SDK client (client.experimental.tasks)', () => {
  async function sdkClient(srv, capabilities = {}) {
    const transport = new StreamableHTTPClientTransport(new URL(srv.url), {
      reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1, maxRetries: 1 },
    });
    const client = new Client({ name: 'mcpd-tasks-sdk', version: '1.0.0' }, { capabilities });
    const elicitations = [];
    if (capabilities.elicitation) {
      client.setRequestHandler(ElicitRequestSchema, async (req) => {
        elicitations.push(req.params);
        return { action: 'accept', content: { confirm: true } };
      });
    }
    await client.connect(transport);
    await client.listTools(); // the SDK learns each tool's taskSupport from the list
    return { client, elicitations };
  }

  async function collect(stream) {
    const out = [];
    for await (const m of stream) out.push(m);
    return out;
  }

  it('callToolStream, getTask, listTasks, cancelTask', T, () => withServer(async (srv) => {
    const { client } = await sdkClient(srv);
    assert.ok(client.experimental?.tasks, 'client.experimental.tasks');
    const msgs = await collect(client.experimental.tasks.callToolStream({ name: 'slow_compute', arguments: { seconds: 0.3, label: 'sdk' } }));
    const types = msgs.map((m) => m.type);
    assert.equal(types[0], 'taskCreated', JSON.stringify(msgs));
    assert.equal(types.at(-1), 'result', JSON.stringify(msgs));
    assert.ok(types.includes('taskStatus'));
    assert.equal(textOf(msgs.at(-1).result), 'Computed sdk in 0.3 s');
    const id = msgs[0].task.taskId;
    assert.equal((await client.experimental.tasks.getTask(id)).status, 'completed');
    // failing_job (required): its result has isError, so the task ends `failed` (2025-11-25
    // tasks: "for tool calls ... when the tool result has isError set to true"); the SDK's stream
    // then yields an error, and tasks/result still hands back the tool's own result.
    const f = await collect(client.experimental.tasks.callToolStream({ name: 'failing_job', arguments: {} }));
    assert.equal(f.at(-2).task?.status, 'failed', JSON.stringify(f));
    assert.equal(f.at(-1).type, 'error', JSON.stringify(f));
    const fr = await client.experimental.tasks.getTaskResult(f[0].task.taskId, CallToolResultSchema);
    assert.equal(fr.isError, true, JSON.stringify(fr));
    const p = await collect(client.experimental.tasks.callToolStream({ name: 'protocol_error_job', arguments: {} }));
    assert.equal(p.at(-1).type, 'error', JSON.stringify(p));
    // cancel a long one
    const cr = await client.request({ method: 'tools/call', params: { name: 'slow_compute', arguments: { seconds: 60 } } }, CreateTaskResultSchema, { task: { ttl: 60000 } });
    assert.equal(cr.task.status, 'working');
    const c = await client.experimental.tasks.cancelTask(cr.task.taskId);
    assert.equal(c.status, 'cancelled');
    assert.equal((await client.experimental.tasks.getTask(cr.task.taskId)).status, 'cancelled');
    const list = await client.experimental.tasks.listTasks();
    const ids = list.tasks.map((t) => t.taskId);
    assert.ok(ids.includes(id) && ids.includes(cr.task.taskId), JSON.stringify(list));
    assert.equal(ids.length, 4);
    await client.close();
  }));

  it('a task that elicits: the SDK answers on the standalone stream and gets the result', T, () => withServer(async (srv) => {
    const { client, elicitations } = await sdkClient(srv, { elicitation: {} });
    const msgs = await collect(client.experimental.tasks.callToolStream({ name: 'confirm_delete', arguments: { filename: 'sdk.txt' } }));
    assert.equal(msgs.at(-1).type, 'result', JSON.stringify(msgs));
    assert.equal(textOf(msgs.at(-1).result), 'Deleted sdk.txt');
    assert.equal(elicitations.length, 1);
    assert.equal(elicitations[0].message, 'Delete the file?');
    await client.close();
  }));
});

describe('tasks at shutdown', () => {
  it('SIGTERM with a running modern task, a parked one and a legacy tasks/result waiting: exit 0, no sanitizer report', { timeout: 40000 }, async () => {
    let waiter;
    const stopMs = await withServer(async (srv) => {
      checkCreate(await mresult(srv, 'tools/call', { name: 'slow_compute', arguments: { seconds: 60, label: 'running' } }), 'running');
      const p = checkCreate(await mresult(srv, 'tools/call', { name: 'multi_input', arguments: {} }, { caps: WITH_TASKS_ELICIT }), 'parked');
      await pollModern(srv, p.taskId, { caps: WITH_TASKS_ELICIT, pred: (t) => t.status === 'input_required', ms: 5000 });
      const s = await Session.open(srv);
      const { task } = await s.result('tools/call', { name: 'slow_compute', arguments: { seconds: 60 }, task: {} });
      waiter = s.req('tasks/result', { taskId: task.taskId }).then((m) => ({ m }), (e) => ({ e }));
      await sleep(100);
    });
    // the running handlers hold the drain (docs/internals/tasks.md: the drain deadline bounds them)
    assert.ok(stopMs < STOP_MS, `stop took ${stopMs} ms`);
    const w = await within(waiter, 'the blocked tasks/result to end when the server stops');
    assert.ok(w.e || w.m, 'the waiter ended');
  });
});
