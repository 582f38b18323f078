// http_sdk.test.mjs - the everything server over Streamable HTTP (docs/internals/transport-http.md).
//
// Legacy era (sessions): driven by the official MCP TypeScript SDK client (Client +
// StreamableHTTPClientTransport, which speaks 2025-11-25 with Mcp-Session-Id). Every HTTP
// exchange the SDK makes goes through a tapping fetch, so the tests also check the wire: status
// codes, Mcp-Session-Id, JSON vs SSE answers, SSE event ids, which stream carried what, and that
// streams end. Modern era (2026-07-28, stateless): the SDK client cannot speak it, so those tests
// POST raw JSON-RPC with fetch() and the per-request _meta and Mcp-* headers. Last, sessions
// across workers: with --workers 4 and a new TCP connection per request (node:http, no agent),
// a session's requests reach other workers than the one that accepted its initialize.
//
// Every test starts its own server (port 0) and stops it with SIGTERM at the end: exit code 0
// and no sanitizer report in its stderr, or the test fails.
//
// Run: MCPD_EVERYTHING=build/h-sdk/everything node --test tests/e2e/http_sdk.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { SANITIZER, startServer, withServerChecked } from './lib/http_server.mjs';
import { parseSse, sseMessages, tapFetch, freshConnectionFetch } from './lib/tap_fetch.mjs';

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25'; // what the SDK 1.32.2 client negotiates
const SESSION_ID = /^[0-9a-f]{32}$/;
const STOP_MS = 12000; // SIGTERM to exit: the server may take up to 10 s for in-flight work
const T = { timeout: 30000 }; // per test: a hung exchange fails its test, not the whole run

// Answers the test client gives to elicitations (the conformance suite's answers).
const ELICIT_ANSWERS = {
  'Please provide your information': { username: 'testuser', email: 'test@example.com' },
  'What is your name?': { name: 'Alice' },
  'Step 1: What is your name?': { name: 'Alice' },
  'Step 2: What is your favorite color?': { color: 'blue' },
};
const SAMPLED = 'This is a test response from the client';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (res) => res.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

// Polls pred() every 10 ms until it is truthy; fails after ms with `what`.
async function waitFor(pred, what, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

// Resolves p, or fails after ms with `what` (a liveness bound, not a speed check).
async function within(p, what, ms = 5000) {
  let t;
  const timeout = new Promise((_, rej) => {
    t = setTimeout(() => rej(new assert.AssertionError({ message: `timed out after ${ms} ms: ${what}` })), ms);
  });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(t); }
}

// Waits until the server ends the SSE body of exchange e cleanly (not a reset, not our cancel).
async function streamEnds(e, what) {
  await within(e.done, what);
  assert.ok(e.ended, `${what}: the body ${e.error ? `failed (${e.error.cause?.code ?? e.error})` : 'was cancelled by the reader'} instead of ending`);
}

// ---- SSE ----------------------------------------------------------------------------------------

// "<stream>-<seq>" -> [stream, seq] (numbers), or null.
function eventId(id) {
  const m = /^(\d+)-(\d+)$/.exec(id ?? '');
  return m ? [Number(m[1]), Number(m[2])] : null;
}

// Checks the event ids of one legacy POST stream: every data event has an id "<stream>-<seq>"
// with the same stream >= 1 and seq strictly increasing from 1. Returns the stream number.
function checkPostStreamIds(events, label) {
  const data = events.filter((e) => e.data);
  assert.ok(data.length > 0, `${label}: no data events`);
  const ids = data.map((e) => eventId(e.id));
  assert.ok(ids.every(Boolean), `${label}: event ids ${JSON.stringify(data.map((e) => e.id))}`);
  const stream = ids[0][0];
  assert.ok(stream >= 1, `${label}: POST stream number ${stream} (0 is the standalone stream)`);
  assert.ok(ids.every(([s]) => s === stream), `${label}: several stream numbers ${JSON.stringify(data.map((e) => e.id))}`);
  assert.equal(ids[0][1], 1, `${label}: first seq ${ids[0][1]}, ids ${JSON.stringify(data.map((e) => e.id))}`);
  for (let i = 1; i < ids.length; i++)
    assert.ok(ids[i][1] > ids[i - 1][1], `${label}: seqs not increasing ${JSON.stringify(data.map((e) => e.id))}`);
  return stream;
}

// ---- the tapping fetch --------------------------------------------------------------------------

// One line per exchange, for failure messages.
function describeLog(log) {
  return log.map((e) => `${e.method} ${e.body?.method ?? (e.body?.result ? 'response' : '')}${e.body?.id !== undefined ? `#${e.body.id}` : ''}`
    + ` sid>${e.reqHeaders.get('mcp-session-id') ?? '-'} -> ${e.status} sid<${e.headers.get('mcp-session-id') ?? '-'}`
    + ` ${e.contentType} ${e.text.slice(0, 160)}`).join('\n');
}

// The POST exchange that carried the JSON-RPC request `method` (and tool `name`), the n-th one.
function postFor(log, method, name, n = 0) {
  const all = log.filter((e) => e.method === 'POST' && e.body?.method === method && e.body?.id !== undefined
    && (name === undefined || e.body?.params?.name === name));
  return all[n];
}
const getStreams = (log) => log.filter((e) => e.method === 'GET');

// ---- servers and clients ------------------------------------------------------------------------

// Runs fn(srv, open) against a fresh server; open(opts) connects an SDK client (closed before
// the server stops); then the server must stop cleanly (lib/http_server.mjs).
const withServer = (fn, args = []) => withServerChecked(fn, args, { connect, stopMs: STOP_MS });

// Connects an SDK client to srv over Streamable HTTP. opts: { capabilities, sessionId (resume
// an existing session: no initialize), name, freshConnections (a new TCP connection per
// request), noStandalone (never open the standalone GET stream) }. Returns { client,
// transport, log, samplings, elicitations, errors, close() }.
async function connect(srv, { capabilities = {}, sessionId, name = 'mcpd-http-e2e', freshConnections = false, noStandalone = false } = {}) {
  const log = [];
  let base = freshConnections ? freshConnectionFetch : fetch;
  if (noStandalone) {
    // Answer the SDK's standalone GET with 405 ourselves: the SDK then goes on without one.
    const inner = base;
    base = (url, init = {}) => ((init.method ?? 'GET') === 'GET' ? Promise.resolve(new Response(null, { status: 405 })) : inner(url, init));
  }
  const transport = new StreamableHTTPClientTransport(new URL(srv.url), {
    fetch: tapFetch(log, base),
    sessionId,
    // Few retries: a broken stream should show, not be papered over (the server's retry: 1000
    // sets the delay of the SEP-1699 resume).
    reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1, maxRetries: 1 },
  });
  const errors = [];
  const client = new Client({ name, version: '1.0.0' }, { capabilities });
  client.onerror = (e) => errors.push(e);
  const seen = { samplings: [], elicitations: [] };
  if (capabilities.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      seen.samplings.push(req.params);
      return { role: 'assistant', model: 'test-model', stopReason: 'endTurn', content: { type: 'text', text: SAMPLED } };
    });
  }
  if (capabilities.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      seen.elicitations.push(req.params);
      return { action: 'accept', content: ELICIT_ANSWERS[req.params.message] ?? {} };
    });
  }
  if (capabilities.roots) {
    client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///test/root', name: 'Test Root' }] }));
  }
  try {
    await client.connect(transport);
  } catch (e) {
    e.message += `\n--- HTTP exchanges of this client ---\n${describeLog(log)}`;
    throw e;
  }
  let closed = false;
  return {
    client, transport, log, errors, ...seen,
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

// Waits until the SDK's standalone GET stream is open (the SDK opens it after `initialized`).
async function standaloneStream(c) {
  return waitFor(() => getStreams(c.log).find((e) => e.status === 200), 'the standalone GET stream to open');
}

// ---- legacy era with the SDK client -------------------------------------------------------------

describe('Streamable HTTP, legacy era (sessions), SDK client', () => {
  it('initialize creates a session with a 32-hex Mcp-Session-Id; the SDK opens the standalone stream', T, () => withServer(async (srv, open) => {
    const c = await open();
    const sid = c.transport.sessionId;
    assert.match(sid ?? '', SESSION_ID, `session id ${sid}`);
    assert.equal(c.client.getServerVersion().name, 'everything');
    const caps = c.client.getServerCapabilities();
    for (const k of ['tools', 'resources', 'prompts', 'logging', 'completions']) assert.ok(caps[k], `capability ${k}`);
    assert.equal(caps.tools.listChanged, true);

    const init = postFor(c.log, 'initialize');
    assert.equal(init.status, 200);
    assert.equal(init.reqHeaders.get('mcp-session-id'), null);
    assert.equal(init.headers.get('mcp-session-id'), sid);
    assert.equal(init.messages().at(-1).result.protocolVersion, LEGACY);

    // notifications/initialized: 202, no body, with the session id.
    const inited = c.log.find((e) => e.method === 'POST' && e.body?.method === 'notifications/initialized');
    assert.ok(inited, 'no notifications/initialized POST');
    assert.equal(inited.status, 202);
    assert.equal(inited.reqHeaders.get('mcp-session-id'), sid);
    await inited.done;
    assert.equal(inited.text, '');

    // The standalone stream: SSE, no-cache, and for 2025-11-25 a priming event "0-0" with retry.
    const get = await standaloneStream(c);
    assert.equal(get.contentType, 'text/event-stream');
    assert.match(get.headers.get('cache-control') ?? '', /no-cache/);
    assert.equal(get.reqHeaders.get('mcp-session-id'), sid);
    const first = await waitFor(() => get.events()[0], 'the priming event on the standalone stream');
    assert.equal(first.id, '0-0', `priming event ${JSON.stringify(first)}`);
    assert.equal(first.retry, 1000, `priming event ${JSON.stringify(first)}`);
    assert.ok(!first.data, `priming event carries data ${JSON.stringify(first)}`);

    // Every later request carries the session id and the negotiated version.
    assert.deepEqual(await c.client.ping(), {});
    const ping = postFor(c.log, 'ping');
    assert.equal(ping.reqHeaders.get('mcp-session-id'), sid);
    assert.equal(ping.reqHeaders.get('mcp-protocol-version'), LEGACY);
    assert.equal(ping.status, 200);
    assert.deepEqual(c.errors, []);
  }));

  it('lists tools and calls echo (a plain JSON answer)', T, () => withServer(async (srv, open) => {
    const c = await open();
    const { tools } = await c.client.listTools();
    const names = tools.map((t) => t.name);
    assert.equal(names[0], 'test_simple_text');
    for (const n of ['echo', 'test_slow', 'test_tool_with_progress', 'test_tool_with_logging', 'test_sampling',
      'test_elicitation', 'test_trigger_tool_change', 'test_trigger_prompt_change']) assert.ok(names.includes(n), `missing tool ${n}`);
    const r = await c.client.callTool({ name: 'echo', arguments: { message: 'héllo "world" ✓' } });
    assert.equal(text(r), 'héllo "world" ✓');
    assert.equal(r.isError, undefined);
    const post = postFor(c.log, 'tools/call', 'echo');
    assert.equal(post.status, 200);
    assert.equal(post.contentType, 'application/json', 'nothing precedes the response: the answer is JSON');
    assert.equal(post.messages().length, 1);
    assert.equal(post.messages()[0].id, post.body.id);

    assert.equal(text(await c.client.callTool({ name: 'test_simple_text', arguments: {} })), 'This is a simple text response for testing.');
    const img = (await c.client.callTool({ name: 'test_image_content', arguments: {} })).content[0];
    assert.deepEqual([img.type, img.mimeType, img.data.length > 0], ['image', 'image/png', true]);
    const bad = await c.client.callTool({ name: 'echo', arguments: { message: 7 } });
    assert.equal(bad.isError, true);
  }));

  it('reports progress on the POST stream (SSE, ids <stream>-<seq>, response last, stream ends)', T, () => withServer(async (srv, open) => {
    const c = await open();
    const seen = [];
    const r = await c.client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined,
      { onprogress: (p) => seen.push(p) });
    assert.equal(text(r), 'Progress test completed');
    assert.ok(seen.length >= 2, `onprogress saw ${seen.length} notifications`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress > seen[i - 1].progress);

    const post = postFor(c.log, 'tools/call', 'test_tool_with_progress');
    assert.equal(post.status, 200);
    assert.equal(post.contentType, 'text/event-stream', 'progress precedes the response: the answer is SSE');
    assert.match(post.headers.get('cache-control') ?? '', /no-cache/);
    await streamEnds(post, 'the POST stream to end after the response');
    const msgs = post.messages();
    const token = post.body.params._meta.progressToken;
    assert.deepEqual(msgs.slice(0, -1).map((m) => [m.method, m.params.progressToken, m.params.progress, m.params.total]), [
      ['notifications/progress', token, 0, 100], ['notifications/progress', token, 50, 100], ['notifications/progress', token, 100, 100],
    ]);
    assert.equal(msgs.at(-1).id, post.body.id);
    assert.ok(msgs.at(-1).result);
    const s1 = checkPostStreamIds(post.events(), 'first progress call');

    // A second call gets another stream number: event ids are unique within the session.
    await c.client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, { onprogress: () => {} });
    const post2 = postFor(c.log, 'tools/call', 'test_tool_with_progress', 1);
    const s2 = checkPostStreamIds(post2.events(), 'second progress call');
    assert.notEqual(s2, s1, 'two POST streams of one session share a stream number');
    // Nothing of a request went to the standalone stream.
    const get = getStreams(c.log).find((e) => e.status === 200);
    if (get) assert.deepEqual(sseMessages(get.events()), []);
  }));

  it('sends log messages at the level set with logging/setLevel, on the POST stream', T, () => withServer(async (srv, open) => {
    const c = await open();
    const logs = [];
    c.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
    assert.deepEqual(await c.client.setLoggingLevel('debug'), {});
    const r = await c.client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    assert.equal(text(r), 'Tool with logging executed successfully');
    await waitFor(() => logs.length >= 3, 'three log messages');
    assert.deepEqual(logs.map((l) => [l.level, l.data]), [
      ['info', 'Tool execution started'], ['info', 'Tool processing data'], ['info', 'Tool execution completed'],
    ]);
    const post = postFor(c.log, 'tools/call', 'test_tool_with_logging');
    assert.equal(post.contentType, 'text/event-stream');
    assert.deepEqual(post.messages().map((m) => m.method ?? 'response'),
      ['notifications/message', 'notifications/message', 'notifications/message', 'response']);

    logs.length = 0;
    await c.client.setLoggingLevel('error');
    const r2 = await c.client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    assert.equal(text(r2), 'Tool with logging executed successfully');
    await sleep(100);
    assert.equal(logs.length, 0, 'info messages sent although the level is error');
    const post2 = postFor(c.log, 'tools/call', 'test_tool_with_logging', 1);
    assert.equal(post2.contentType, 'application/json', 'nothing precedes the response any more: JSON');
  }));

  it('sampling: the server asks on the POST stream, the client answers with a POST (202)', T, () => withServer(async (srv, open) => {
    const c = await open({ capabilities: { sampling: {} } });
    const r = await c.client.callTool({ name: 'test_sampling', arguments: { prompt: 'Test prompt for sampling' } });
    assert.equal(text(r), `LLM response: ${SAMPLED}`);
    assert.equal(c.samplings.length, 1);
    assert.equal(c.samplings[0].maxTokens, 100);
    assert.deepEqual(c.samplings[0].messages, [{ role: 'user', content: { type: 'text', text: 'Test prompt for sampling' } }]);

    const post = postFor(c.log, 'tools/call', 'test_sampling');
    assert.equal(post.contentType, 'text/event-stream');
    const msgs = post.messages();
    assert.equal(msgs[0].method, 'sampling/createMessage', JSON.stringify(msgs));
    assert.notEqual(msgs[0].id, undefined);
    assert.equal(msgs.at(-1).id, post.body.id);
    checkPostStreamIds(post.events(), 'sampling call');
    // The answer's 202 may reach us after the result it unblocked: wait for the exchange.
    const answer = await waitFor(() => c.log.find((e) => e.method === 'POST' && e.body?.id === msgs[0].id && e.body?.result),
      'the client\'s POST of its sampling answer');
    assert.equal(answer.status, 202);
    assert.equal(answer.reqHeaders.get('mcp-session-id'), c.transport.sessionId);

    // A client that did not declare sampling is not asked: a tool error instead.
    const plain = await open();
    const e = await plain.client.callTool({ name: 'test_sampling', arguments: { prompt: 'x' } });
    assert.equal(e.isError, true, JSON.stringify(e));
    const ep = postFor(plain.log, 'tools/call', 'test_sampling');
    assert.ok(!ep.messages().some((m) => m.method === 'sampling/createMessage'), ep.text);
  }));

  it('elicitation round trips on the POST stream (one question, then three at once)', T, () => withServer(async (srv, open) => {
    const c = await open({ capabilities: { elicitation: {}, sampling: {}, roots: { listChanged: true } } });
    const r = await c.client.callTool({ name: 'test_elicitation', arguments: { message: 'Please provide your information' } });
    assert.equal(text(r), 'User response: action=accept, content={"username":"testuser","email":"test@example.com"}');
    assert.deepEqual(c.elicitations[0].requestedSchema.required, ['username', 'email']);
    const post = postFor(c.log, 'tools/call', 'test_elicitation');
    const ask = post.messages()[0];
    assert.equal(ask.method, 'elicitation/create');
    const answer = await waitFor(() => c.log.find((e) => e.method === 'POST' && e.body?.id === ask.id && e.body?.result),
      'the client\'s POST of its elicitation answer');
    assert.equal(answer.status, 202);

    // Elicitation, sampling and roots in one round: three requests on one POST stream.
    const m = await c.client.callTool({ name: 'test_input_required_result_multiple_inputs', arguments: {} });
    assert.equal(text(m), `name=Alice, greeting=${SAMPLED}, roots=[{"uri":"file:///test/root","name":"Test Root"}]`);
    const post2 = postFor(c.log, 'tools/call', 'test_input_required_result_multiple_inputs');
    const asked = post2.messages().filter((x) => x.method).map((x) => x.method).sort();
    assert.deepEqual(asked, ['elicitation/create', 'roots/list', 'sampling/createMessage']);
    // Two rounds of questions.
    const two = await c.client.callTool({ name: 'test_input_required_result_multi_round', arguments: {} });
    assert.equal(text(two), 'Alice likes blue');
    // A client notification is a POST answered 202.
    await c.client.sendRootsListChanged();
    const n = await waitFor(() => c.log.find((e) => e.body?.method === 'notifications/roots/list_changed'), 'the roots/list_changed POST');
    assert.equal(n.status, 202);
  }));

  it('resources: list, read (text, blob, template), unknown URI fails', T, () => withServer(async (srv, open) => {
    const c = await open();
    const { resources } = await c.client.listResources();
    assert.deepEqual(resources.map((r) => r.uri).filter((u) => u.startsWith('test://')),
      ['test://static-text', 'test://static-binary', 'test://watched-resource']);
    const t = (await c.client.readResource({ uri: 'test://static-text' })).contents[0];
    assert.deepEqual(t, { uri: 'test://static-text', mimeType: 'text/plain', text: 'This is the content of the static text resource.' });
    const b = (await c.client.readResource({ uri: 'test://static-binary' })).contents[0];
    assert.equal(Buffer.from(b.blob, 'base64').subarray(1, 4).toString(), 'PNG');
    const { resourceTemplates } = await c.client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((x) => x.uriTemplate), ['test://template/{id}/data']);
    const d = (await c.client.readResource({ uri: 'test://template/123/data' })).contents[0];
    assert.deepEqual(JSON.parse(d.text), { id: '123', templateTest: true, data: 'Data for ID: 123' });
    await assert.rejects(c.client.readResource({ uri: 'test://nonexistent-resource-for-conformance-testing' }));
    assert.deepEqual(await c.client.subscribeResource({ uri: 'test://watched-resource' }), {});
    assert.deepEqual(await c.client.unsubscribeResource({ uri: 'test://watched-resource' }), {});
    // A JSON-RPC error is still a 200 JSON answer in the legacy era.
    const miss = c.log.find((e) => e.body?.method === 'resources/read' && e.body.params.uri.startsWith('test://nonexistent'));
    assert.equal(miss.status, 200);
    assert.ok(miss.messages()[0].error, miss.text);
  }));

  it('prompts: list and get; completion; ping', T, () => withServer(async (srv, open) => {
    const c = await open();
    const { prompts } = await c.client.listPrompts();
    const names = prompts.map((p) => p.name);
    for (const n of ['test_simple_prompt', 'test_prompt_with_arguments', 'test_prompt_with_embedded_resource', 'test_prompt_with_image'])
      assert.ok(names.includes(n), n);
    const simple = await c.client.getPrompt({ name: 'test_simple_prompt' });
    assert.deepEqual(simple.messages, [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }]);
    const args = await c.client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'testValue1', arg2: 'testValue2' } });
    assert.equal(args.messages[0].content.text, "Prompt with arguments: arg1='testValue1', arg2='testValue2'");
    await assert.rejects(c.client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'x' } }));

    const comp = await c.client.complete({ ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'test' } });
    assert.deepEqual(comp.completion.values, ['testValue1', 'testValue2', 'test']);
    const tc = await c.client.complete({ ref: { type: 'ref/resource', uri: 'test://template/{id}/data' }, argument: { name: 'id', value: '12' } });
    assert.deepEqual(tc.completion.values, ['123']);
    assert.deepEqual(await c.client.ping(), {});
  }));

  // With --threads 1 the cancelled test_slow (50 s of work) holds the only handler thread
  // unless it really stops: the next pool-run call finishing proves it did.
  it('cancels test_slow through an AbortSignal: the call rejects, the work stops, the server goes on', T, () => withServer(async (srv, open) => {
    const c = await open();
    const ac = new AbortController();
    let progress = 0;
    const slow = c.client.callTool({ name: 'test_slow', arguments: { steps: 2000, ms: 25 } }, undefined,
      { signal: ac.signal, onprogress: () => { if (++progress === 2) ac.abort('test cancels'); } });
    const fallback = setTimeout(() => ac.abort('no progress within 5 s'), 5000);
    await assert.rejects(slow);
    clearTimeout(fallback);
    assert.ok(progress >= 1, 'cancelled without any progress');

    const post = postFor(c.log, 'tools/call', 'test_slow');
    assert.equal(post.contentType, 'text/event-stream');
    const cancel = await waitFor(() => c.log.find((e) => e.method === 'POST' && e.body?.method === 'notifications/cancelled'),
      'the notifications/cancelled POST');
    assert.equal(cancel.body.params.requestId, post.body.id);
    assert.equal(cancel.status, 202);

    // The handler thread is free again: another test_slow runs to the end.
    const again = c.client.callTool({ name: 'test_slow', arguments: { steps: 3, ms: 10 } });
    assert.equal(text(await within(again, 'a test_slow after the cancel (the cancelled one still holds the only handler thread?)', 8000)), 'done');
    const r = await c.client.callTool({ name: 'echo', arguments: { message: 'still here' } });
    assert.equal(text(r), 'still here');
    const msgs = post.messages();
    assert.ok(msgs.length < 40, `${msgs.length} messages on the cancelled stream: the cancel was not seen`);
    assert.ok(!msgs.some((m) => m.id === post.body.id), `a response to the cancelled call: ${JSON.stringify(msgs.at(-1))}`);
    // The cancelled request is over and will never have a response: its POST stream ends.
    await streamEnds(post, 'the cancelled request\'s POST stream to end');
  }, ['--threads', '1']));

  it('serves 20 concurrent calls on one session', T, () => withServer(async (srv, open) => {
    const c = await open();
    const msgs = Array.from({ length: 20 }, (_, i) => `message #${i} ${'x'.repeat(i * 37)}`);
    const slow = Array.from({ length: 4 }, () => c.client.callTool({ name: 'test_slow', arguments: { steps: 3, ms: 20 } },
      undefined, { onprogress: () => {} }));
    const res = await Promise.all(msgs.map((m) => c.client.callTool({ name: 'echo', arguments: { message: m } })));
    assert.deepEqual(res.map(text), msgs);
    assert.deepEqual((await Promise.all(slow)).map(text), ['done', 'done', 'done', 'done']);
    const posts = c.log.filter((e) => e.body?.method === 'tools/call');
    assert.equal(posts.length, 24);
    assert.ok(posts.every((p) => p.status === 200), JSON.stringify(posts.map((p) => p.status)));
    // Each answer came on its own request's POST, with the right id.
    for (const p of posts) assert.equal(p.messages().at(-1).id, p.body.id);
    // The four SSE streams have four distinct stream numbers.
    const streams = posts.filter((p) => p.contentType === 'text/event-stream').map((p) => checkPostStreamIds(p.events(), 'slow'));
    assert.equal(new Set(streams).size, streams.length, `stream numbers ${streams}`);
  }));

  it('terminateSession(): DELETE 204, then the session is gone (404) and a request without a session id is 400', T, () => withServer(async (srv, open) => {
    const c = await open();
    const sid = c.transport.sessionId;
    assert.match(sid, SESSION_ID);
    const get = await standaloneStream(c);
    await c.transport.terminateSession();
    const del = c.log.find((e) => e.method === 'DELETE');
    assert.equal(del.status, 204);
    assert.equal(del.reqHeaders.get('mcp-session-id'), sid);
    assert.equal(c.transport.sessionId, undefined);
    // The standalone stream of the ended session ends.
    await streamEnds(get, 'the standalone stream to end after DELETE');

    // The SDK now sends no session id: 400 "Mcp-Session-Id header is required".
    const e400 = await c.client.listTools().then(() => null, (e) => e);
    assert.ok(e400, 'a request without Mcp-Session-Id succeeded after terminateSession()');
    assert.equal(e400.code, 400, String(e400));
    const noSid = c.log.filter((e) => e.body?.method === 'tools/list').at(-1);
    assert.equal(noSid.contentType, 'application/json');
    assert.equal(noSid.messages()[0].error?.code, -32000, noSid.text);
    assert.equal(noSid.messages()[0].id, noSid.body.id);

    // A client that resumes the ended session id: 404 / -32001 "Session not found".
    const stale = await open({ sessionId: sid });
    const e404 = await stale.client.listTools().then(() => null, (e) => e);
    assert.ok(e404, 'the ended session still serves requests');
    assert.equal(e404.code, 404, String(e404));
    const nf = stale.log.find((e) => e.body?.method === 'tools/list');
    assert.equal(nf.status, 404);
    assert.equal(nf.contentType, 'application/json');
    assert.equal(nf.messages()[0].error?.code, -32001, nf.text);
    assert.match(nf.messages()[0].error?.message ?? '', /Session not found/);

    // A fresh client gets a new session and is served.
    const fresh = await open();
    assert.match(fresh.transport.sessionId, SESSION_ID);
    assert.notEqual(fresh.transport.sessionId, sid);
    assert.equal(text(await fresh.client.callTool({ name: 'echo', arguments: { message: 'again' } })), 'again');
  }));

  it('DELETE cancels the session\'s in-flight request and ends its streams', T, () => withServer(async (srv, open) => {
    const c = await open();
    const get = await standaloneStream(c);
    let progress = 0;
    const slow = c.client.callTool({ name: 'test_slow', arguments: { steps: 2000, ms: 25 } }, undefined,
      { onprogress: () => { progress++; }, timeout: 120000 });
    slow.catch(() => {}); // settles (rejects) when the client closes
    await waitFor(() => progress >= 1, 'progress from test_slow');
    const post = postFor(c.log, 'tools/call', 'test_slow');
    await c.transport.terminateSession();
    assert.equal(c.log.find((e) => e.method === 'DELETE').status, 204);
    // With --threads 1 a new session's pool-run call finishing proves the old one stopped.
    const d = await open();
    const again = d.client.callTool({ name: 'test_slow', arguments: { steps: 3, ms: 10 } });
    assert.equal(text(await within(again, 'a test_slow in a new session (the DELETEd session\'s call still holds the only handler thread?)', 8000)), 'done');
    assert.ok(!post.messages().some((m) => m.id === post.body.id && m.result), 'test_slow finished although its session ended');
    await streamEnds(post, 'the in-flight POST stream to end after DELETE');
    await streamEnds(get, 'the standalone stream to end after DELETE');
  }, ['--threads', '1']));

  it('SEP-1699: test_reconnection closes its POST stream; the SDK resumes with GET Last-Event-ID and gets the result', T, () => withServer(async (srv, open) => {
    const c = await open();
    const standalone = await standaloneStream(c); // the resume GET must not be taken for a second standalone GET (409)
    const r = await within(c.client.callTool({ name: 'test_reconnection', arguments: {} }),
      'the result of test_reconnection through a resumed stream', 10000);
    assert.equal(text(r), 'Reconnection test completed');

    const post = postFor(c.log, 'tools/call', 'test_reconnection');
    assert.equal(post.status, 200);
    assert.equal(post.contentType, 'text/event-stream');
    await streamEnds(post, 'the closed POST stream to end');
    assert.ok(!post.messages().some((m) => m.id === post.body.id), `the answer came on the closed stream: ${post.text}`);
    // The client can only resume a stream it has an event id of: a priming event "<stream>-0".
    const withId = post.events().filter((e) => e.id);
    assert.ok(withId.length >= 1, `no event id on the POST stream before it closed: ${JSON.stringify(post.text)}`);
    const [stream] = eventId(withId.at(-1).id) ?? [];
    assert.ok(stream >= 1, `POST stream event id ${withId.at(-1).id}`);

    const resume = c.log.find((e) => e.method === 'GET' && e.reqHeaders.get('last-event-id'));
    assert.ok(resume, 'the SDK never resumed with Last-Event-ID');
    assert.equal(resume.reqHeaders.get('last-event-id'), withId.at(-1).id);
    assert.equal(resume.status, 200, resume.text);
    assert.equal(resume.contentType, 'text/event-stream');
    await streamEnds(resume, 'the resumed stream to end after the response');
    const msgs = resume.messages();
    assert.equal(msgs.at(-1)?.id, post.body.id, resume.text);
    assert.equal(text(msgs.at(-1).result), 'Reconnection test completed');
    // The resumed events continue the same stream's ids.
    for (const e of resume.events().filter((x) => x.data)) assert.equal(eventId(e.id)?.[0], stream, `resumed event id ${e.id}`);
    assert.equal(standalone.ended, false, 'the standalone stream ended');
    assert.equal(getStreams(c.log).filter((e) => e.status === 409).length, 0, 'a GET was refused with 409');
  }));

  // The SDK's own resumability: onresumptiontoken records the last event id of a request's
  // stream; a client that lost the connection passes it as resumptionToken and the SDK GETs
  // with Last-Event-ID. Disconnecting does not cancel a legacy request.
  it('resumability: a client drops mid-call, a new one resumes the stream (resumptionToken) and gets the rest', T, () => withServer(async (srv, open) => {
    const c = await open();
    const sid = c.transport.sessionId;
    let token;
    let progress = 0;
    const call = { method: 'tools/call', params: { name: 'test_slow', arguments: { steps: 12, ms: 100 } } };
    const first = c.client.request(call, CallToolResultSchema, { onprogress: () => { progress++; }, onresumptiontoken: (t) => { token = t; } });
    first.catch(() => {});
    await waitFor(() => progress >= 3, 'three progress notifications');
    const post = postFor(c.log, 'tools/call', 'test_slow');
    await c.close(); // aborts the connection: not a cancel
    const before = post.events().filter((e) => e.data);
    assert.ok(token, 'no resumption token');
    assert.equal(token, before.at(-1).id, 'the token is the last event id received');

    const d = await open({ sessionId: sid });
    const r = await within(d.client.request(call, CallToolResultSchema, { resumptionToken: token }),
      'the resumed call to finish', 10000);
    assert.equal(text(r), 'done');
    const get = d.log.find((e) => e.method === 'GET' && e.reqHeaders.get('last-event-id'));
    assert.ok(get, 'no GET with Last-Event-ID');
    assert.equal(get.reqHeaders.get('last-event-id'), token);
    assert.equal(get.status, 200, get.text);
    await streamEnds(get, 'the resumed stream to end after the response');
    const after = get.events().filter((e) => e.data);
    // Together the two streams carry progress 1..12 once each, then the result: nothing lost,
    // nothing repeated, the same stream number, seqs going on from the token.
    const all = [...before, ...after];
    const ids = all.map((e) => eventId(e.id));
    assert.ok(ids.every((x) => x && x[0] === ids[0][0]), `event ids ${all.map((e) => e.id)}`);
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i][1], ids[i - 1][1] + 1, `event ids ${all.map((e) => e.id)}`);
    const msgs = all.map((e) => JSON.parse(e.data));
    assert.deepEqual(msgs.slice(0, -1).map((m) => m.params?.progress), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.equal(msgs.at(-1).id, post.body.id);
    assert.equal(text(msgs.at(-1).result), 'done');
  }));

  it('two clients in parallel get different sessions and only their own messages', T, () => withServer(async (srv, open) => {
    const [a, b] = await Promise.all([open({ name: 'client-a' }), open({ name: 'client-b' })]);
    assert.match(a.transport.sessionId, SESSION_ID);
    assert.match(b.transport.sessionId, SESSION_ID);
    assert.notEqual(a.transport.sessionId, b.transport.sessionId);
    const pa = [], pb = [];
    const [ra, rb, ea, eb] = await Promise.all([
      a.client.callTool({ name: 'test_slow', arguments: { steps: 4, ms: 20 } }, undefined, { onprogress: (p) => pa.push(p) }),
      b.client.callTool({ name: 'test_slow', arguments: { steps: 6, ms: 15 } }, undefined, { onprogress: (p) => pb.push(p) }),
      a.client.callTool({ name: 'echo', arguments: { message: 'from a' } }),
      b.client.callTool({ name: 'echo', arguments: { message: 'from b' } }),
    ]);
    assert.deepEqual([text(ra), text(rb), text(ea), text(eb)], ['done', 'done', 'from a', 'from b']);
    const wa = postFor(a.log, 'tools/call', 'test_slow').messages().filter((m) => m.method === 'notifications/progress');
    const wb = postFor(b.log, 'tools/call', 'test_slow').messages().filter((m) => m.method === 'notifications/progress');
    assert.deepEqual(wa.map((m) => m.params.total), [4, 4, 4, 4]);
    assert.deepEqual(wb.map((m) => m.params.total), [6, 6, 6, 6, 6, 6]);
    // Each session's requests carried its own id.
    for (const [c, sid] of [[a, a.transport.sessionId], [b, b.transport.sessionId]])
      for (const e of c.log.filter((x) => x.body?.method === 'tools/call')) assert.equal(e.reqHeaders.get('mcp-session-id'), sid);
    // Ending one session leaves the other serving.
    await a.transport.terminateSession();
    assert.equal(text(await b.client.callTool({ name: 'echo', arguments: { message: 'b lives' } })), 'b lives');
  }));

  // Each request on a new TCP connection: a session's requests land on any of the 4 workers,
  // not only on the one that accepted its initialize. The sampling answer must reach the
  // waiting request and a list change the standalone streams, wherever they were accepted.
  it('a new connection per request: sessions, answers and notifications cross workers (--workers 4)', T, () => withServer(async (srv, open) => {
    const watchers = await Promise.all([0, 1, 2].map((i) => open({ name: `watcher-${i}`, freshConnections: true })));
    const changed = [0, 0, 0];
    watchers.forEach((w, i) => w.client.setNotificationHandler(ToolListChangedNotificationSchema, () => { changed[i]++; }));
    await Promise.all(watchers.map(standaloneStream));
    for (let i = 0; i < 12; i++) {
      const c = await open({ name: `client-${i}`, capabilities: { sampling: {} }, freshConnections: true });
      assert.equal(text(await c.client.callTool({ name: 'echo', arguments: { message: `hi ${i}` } })), `hi ${i}`);
      const r = await within(c.client.callTool({ name: 'test_sampling', arguments: { prompt: `p${i}` } }),
        `client ${i}: test_sampling (its answer POST on another connection)`);
      assert.equal(text(r), `LLM response: ${SAMPLED}`);
      await c.close();
    }
    const trig = await open({ name: 'trigger', freshConnections: true });
    await trig.client.callTool({ name: 'test_trigger_tool_change', arguments: {} });
    await waitFor(() => changed.every((n) => n === 1), `list_changed at all three watchers (got ${changed})`);
  }, ['--workers', '4']));

  it('SIGTERM with a client connected: the in-flight call finishes, the streams end, exit 0', T, () => withServer(async (srv, open) => {
    const c = await open();
    const get = await standaloneStream(c);
    let progress = 0;
    const slow = c.client.callTool({ name: 'test_slow', arguments: { steps: 10, ms: 100 } }, undefined, { onprogress: () => { progress++; } });
    await waitFor(() => progress >= 1, 'progress from test_slow');
    const post = postFor(c.log, 'tools/call', 'test_slow');
    const stopped = srv.stop();
    assert.equal(text(await within(slow, 'the in-flight call to finish after SIGTERM', 10000)), 'done');
    await streamEnds(post, 'the POST stream to end');
    await streamEnds(get, 'the standalone stream to end at shutdown');
    const r = await within(stopped, 'the server to exit after SIGTERM', STOP_MS);
    assert.equal(r.code, 0, r.stderr);
  }));

  // The POST stream starts with its first event (progress after 400 ms): it then stays open
  // 800 ms more, the standalone stream about 1.5 s. Keep-alives are counted, not timed.
  it('SSE keep-alive comments (--sse-keepalive-ms 200); --idle-timeout-ms does not cut open streams', T, () => withServer(async (srv, open) => {
    const c = await open();
    const got = [];
    c.client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => got.push(n));
    const get = await standaloneStream(c);
    const r = await c.client.callTool({ name: 'test_slow', arguments: { steps: 3, ms: 400 } }, undefined, { onprogress: () => {} });
    assert.equal(text(r), 'done');
    await sleep(300); // the standalone stream has now been open for > 3 idle time-outs
    const keepalives = (e) => e.events().flatMap((x) => x.comments).filter((t) => /keep-alive/.test(t)).length;
    assert.ok(keepalives(get) >= 3, `${keepalives(get)} keep-alive comments on the standalone stream: ${JSON.stringify(get.text)}`);
    assert.equal(get.ended || get.error !== undefined, false, 'the standalone stream was cut');
    const post = postFor(c.log, 'tools/call', 'test_slow');
    assert.ok(keepalives(post) >= 2, `${keepalives(post)} keep-alive comments on a POST stream open 800 ms: ${JSON.stringify(post.text)}`);
    await c.client.callTool({ name: 'test_trigger_tool_change', arguments: {} });
    await waitFor(() => got.length === 1, 'notifications/tools/list_changed on the long-open standalone stream');
  }, ['--sse-keepalive-ms', '200', '--idle-timeout-ms', '250']));

  it('an idle session ends (--session-idle-ms 300), one with a request in flight does not', T, () => withServer(async (srv, open) => {
    const [idle, busy] = await Promise.all([open({ noStandalone: true }), open({ noStandalone: true })]);
    assert.equal(text(await idle.client.callTool({ name: 'echo', arguments: { message: 'x' } })), 'x');
    // busy keeps a request in flight for 2 s, idle does nothing: the sweeper (1/s) ends idle.
    const r = await busy.client.callTool({ name: 'test_slow', arguments: { steps: 20, ms: 100 } }, undefined, { onprogress: () => {} });
    assert.equal(text(r), 'done');
    assert.equal(text(await busy.client.callTool({ name: 'echo', arguments: { message: 'y' } })), 'y', 'the busy session ended');
    const e = await idle.client.listTools().then(() => null, (x) => x);
    assert.ok(e, 'the idle session still serves requests');
    assert.equal(e.code, 404, String(e));
  }, ['--session-idle-ms', '300']));

  it('the standalone GET stream carries notifications/tools/list_changed to every session', T, () => withServer(async (srv, open) => {
    const [a, b] = await Promise.all([open({ name: 'client-a' }), open({ name: 'client-b' })]);
    const got = { a: [], b: [], ap: [] };
    a.client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => got.a.push(n));
    b.client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => got.b.push(n));
    a.client.setNotificationHandler(PromptListChangedNotificationSchema, (n) => got.ap.push(n));
    const [ga, gb] = await Promise.all([standaloneStream(a), standaloneStream(b)]);

    const r = await a.client.callTool({ name: 'test_trigger_tool_change', arguments: {} });
    assert.equal(text(r), 'tools/list_changed sent');
    await waitFor(() => got.a.length >= 1, 'notifications/tools/list_changed at the calling client');
    await waitFor(() => got.b.length >= 1, 'notifications/tools/list_changed at the other client');
    assert.equal(got.a.length, 1);

    // It came on the standalone stream (stream 0), not on the trigger call's POST.
    for (const [g, who] of [[ga, 'a'], [gb, 'b']]) {
      const ev = g.events().filter((e) => e.data);
      assert.deepEqual(ev.map((e) => JSON.parse(e.data).method), ['notifications/tools/list_changed'], `${who}: ${g.text}`);
      const id = eventId(ev[0].id);
      assert.ok(id && id[0] === 0 && id[1] >= 1, `${who}: standalone event id ${ev[0].id}`);
    }
    const post = postFor(a.log, 'tools/call', 'test_trigger_tool_change');
    assert.ok(!post.messages().some((m) => m.method), `notification on the POST stream: ${post.text}`);

    await a.client.callTool({ name: 'test_trigger_prompt_change', arguments: {} });
    await waitFor(() => got.ap.length >= 1, 'notifications/prompts/list_changed');
    const ids = ga.events().filter((e) => e.data).map((e) => eventId(e.id)[1]);
    assert.ok(ids[1] > ids[0], `standalone seqs ${ids}`);
    assert.deepEqual(a.errors, []);
  }));
});

// ---- modern era (2026-07-28) with raw fetch -----------------------------------------------------

function modernMeta(caps = {}, extra = {}) {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': caps,
    'io.modelcontextprotocol/clientInfo': { name: 'mcpd-http-e2e', version: '1.0.0' },
    ...extra,
  };
}

let nextId = 1;
// Builds one modern request: { id, headers, body }. params._meta is filled in (extend it with
// opts.meta); headers get MCP-Protocol-Version, Mcp-Method and, for tools/call|prompts/get|
// resources/read, Mcp-Name; opts.headers adds or (null) removes headers.
function modernRequest(method, params = {}, { caps = {}, meta = {}, headers = {}, accept = 'application/json, text/event-stream' } = {}) {
  const id = nextId++;
  const body = { jsonrpc: '2.0', id, method, params: { ...params, _meta: modernMeta(caps, meta) } };
  const h = {
    'content-type': 'application/json',
    accept,
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
  };
  const name = method === 'resources/read' ? params.uri : ['tools/call', 'prompts/get'].includes(method) ? params.name : undefined;
  if (name !== undefined) h['mcp-name'] = name;
  for (const [k, v] of Object.entries(headers)) {
    if (v === null) delete h[k.toLowerCase()];
    else h[k.toLowerCase()] = v;
  }
  return { id, headers: h, body: JSON.stringify(body) };
}

// POSTs one modern request and reads the whole answer: { id, status, headers, contentType,
// text, events, messages, response (the message with the request's id) }.
async function modern(srv, method, params = {}, opts = {}) {
  const req = modernRequest(method, params, opts);
  const res = await fetch(srv.url, { method: 'POST', headers: req.headers, body: req.body });
  const txt = await res.text();
  const contentType = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  const events = contentType === 'text/event-stream' ? parseSse(txt) : [];
  let messages;
  try { messages = contentType === 'text/event-stream' ? sseMessages(events) : txt ? [JSON.parse(txt)] : []; } catch { messages = []; }
  return { id: req.id, status: res.status, headers: res.headers, contentType, text: txt, events, messages, response: messages.find((m) => m.id === req.id) };
}

const show = (r) => `${r.status} ${r.contentType} ${r.text.slice(0, 600)}`;

describe('Streamable HTTP, modern era (2026-07-28, stateless), raw fetch', () => {
  it('server/discover, tools/list, tools/call echo: JSON answers, no Mcp-Session-Id', T, () => withServer(async (srv) => {
    const d = await modern(srv, 'server/discover');
    assert.equal(d.status, 200, show(d));
    assert.equal(d.contentType, 'application/json', show(d));
    assert.equal(d.headers.get('mcp-session-id'), null);
    const dr = d.response?.result;
    assert.ok(dr, show(d));
    assert.equal(dr.resultType, 'complete');
    assert.ok(dr.supportedVersions.includes(MODERN) && dr.supportedVersions.includes(LEGACY), JSON.stringify(dr.supportedVersions));
    assert.ok(dr.capabilities.tools, JSON.stringify(dr.capabilities));
    assert.equal(dr._meta?.['io.modelcontextprotocol/serverInfo']?.name, 'everything');

    const l = await modern(srv, 'tools/list');
    assert.equal(l.status, 200, show(l));
    assert.equal(l.contentType, 'application/json');
    assert.equal(l.headers.get('mcp-session-id'), null);
    assert.equal(l.response?.result?.resultType, 'complete', show(l));
    assert.ok(l.response.result.tools.some((t) => t.name === 'echo'));

    const c = await modern(srv, 'tools/call', { name: 'echo', arguments: { message: 'modern hi ✓' } });
    assert.equal(c.status, 200, show(c));
    assert.equal(c.contentType, 'application/json');
    assert.equal(c.headers.get('mcp-session-id'), null);
    assert.equal(c.response?.result?.resultType, 'complete', show(c));
    assert.equal(text(c.response.result), 'modern hi ✓');

    // Mcp-Name carries params.uri for resources/read, params.name for prompts/get.
    const rr = await modern(srv, 'resources/read', { uri: 'test://static-text' });
    assert.equal(rr.status, 200, show(rr));
    assert.equal(rr.response?.result?.contents?.[0]?.text, 'This is the content of the static text resource.', show(rr));
    const pg = await modern(srv, 'prompts/get', { name: 'test_simple_prompt' });
    assert.equal(pg.status, 200, show(pg));
    assert.equal(pg.response?.result?.messages?.[0]?.content?.text, 'This is a simple prompt for testing.', show(pg));

    // Stateless: a stray Mcp-Session-Id is ignored, never echoed (transport-http.md; spec SHOULD).
    const s = await modern(srv, 'tools/call', { name: 'echo', arguments: { message: 'x' } },
      { headers: { 'mcp-session-id': '0123456789abcdef0123456789abcdef' } });
    assert.equal(s.status, 200, show(s));
    assert.equal(s.headers.get('mcp-session-id'), null);
    assert.equal(text(s.response.result), 'x');
  }));

  it('a progress-emitting tool answers with SSE: progress notifications, then the result', T, () => withServer(async (srv) => {
    const r = await modern(srv, 'tools/call', { name: 'test_tool_with_progress', arguments: {} }, { meta: { progressToken: 'p-1' } });
    assert.equal(r.status, 200, show(r));
    assert.equal(r.contentType, 'text/event-stream', show(r));
    assert.match(r.headers.get('cache-control') ?? '', /no-cache/);
    assert.equal(r.headers.get('mcp-session-id'), null);
    const m = r.messages;
    assert.deepEqual(m.slice(0, -1).map((x) => [x.method, x.params?.progressToken, x.params?.progress, x.params?.total]), [
      ['notifications/progress', 'p-1', 0, 100], ['notifications/progress', 'p-1', 50, 100], ['notifications/progress', 'p-1', 100, 100],
    ], show(r));
    assert.equal(m.at(-1).id, r.id);
    assert.equal(m.at(-1).result?.resultType, 'complete');
    assert.equal(text(m.at(-1).result), 'Progress test completed');
    for (const e of r.events.filter((x) => x.data)) assert.doesNotThrow(() => JSON.parse(e.data), e.data);

    // Without a progress token nothing precedes the response: plain JSON.
    const j = await modern(srv, 'tools/call', { name: 'test_tool_with_progress', arguments: {} });
    assert.equal(j.contentType, 'application/json', show(j));
    assert.equal(text(j.response.result), 'Progress test completed');
    // A client that accepts only SSE always gets SSE.
    const s = await modern(srv, 'tools/call', { name: 'echo', arguments: { message: 'sse' } }, { accept: 'text/event-stream' });
    assert.equal(s.contentType, 'text/event-stream', show(s));
    assert.equal(text(s.response.result), 'sse');
    // A client that accepts only JSON gets the response, the progress dropped.
    const o = await modern(srv, 'tools/call', { name: 'test_tool_with_progress', arguments: {} },
      { meta: { progressToken: 'p-2' }, accept: 'application/json' });
    assert.equal(o.contentType, 'application/json', show(o));
    assert.equal(text(o.response.result), 'Progress test completed');
  }));

  it('MRTR over HTTP: test_sampling -> input_required, the retry with inputResponses completes', T, () => withServer(async (srv) => {
    const caps = { sampling: {} };
    const first = await modern(srv, 'tools/call', { name: 'test_sampling', arguments: { prompt: 'hi' } }, { caps });
    assert.equal(first.status, 200, show(first));
    const r = first.response?.result;
    assert.equal(r?.resultType, 'input_required', show(first));
    const [key] = Object.keys(r.inputRequests);
    assert.equal(r.inputRequests[key].method, 'sampling/createMessage');
    const retry = await modern(srv, 'tools/call', {
      name: 'test_sampling', arguments: { prompt: 'hi' }, requestState: r.requestState,
      inputResponses: { [key]: { role: 'assistant', model: 'm', content: { type: 'text', text: 'sampled!' } } },
    }, { caps });
    assert.equal(retry.status, 200, show(retry));
    assert.equal(retry.response?.result?.resultType, 'complete', show(retry));
    assert.equal(text(retry.response.result), 'LLM response: sampled!');
  }));

  it('modern error answers: status codes and JSON-RPC bodies', T, () => withServer(async (srv) => {
    const code = (r) => r.response?.error?.code ?? r.messages[0]?.error?.code;
    // GET and DELETE in the modern era: 405, Allow: POST.
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(srv.url, { method, headers: { 'mcp-protocol-version': MODERN, accept: 'text/event-stream' } });
      await res.text();
      assert.equal(res.status, 405, `${method}`);
      assert.match(res.headers.get('allow') ?? '', /^\s*POST\s*$/, `${method} Allow: ${res.headers.get('allow')}`);
    }
    // Unknown method: 404 / -32601.
    const u = await modern(srv, 'no/such/method');
    assert.equal(u.status, 404, show(u));
    assert.equal(u.contentType, 'application/json');
    assert.equal(code(u), -32601, show(u));
    // Mcp-Name that does not match params.name: 400 / -32020.
    const mm = await modern(srv, 'tools/call', { name: 'echo', arguments: { message: 'x' } }, { headers: { 'mcp-name': 'test_slow' } });
    assert.equal(mm.status, 400, show(mm));
    assert.equal(code(mm), -32020, show(mm));
    assert.equal(mm.response?.id, mm.id, 'the error carries the request id');
    // Missing Mcp-Method: 400 / -32020.
    const nm = await modern(srv, 'tools/list', {}, { headers: { 'mcp-method': null } });
    assert.equal(nm.status, 400, show(nm));
    assert.equal(code(nm), -32020, show(nm));
    // _meta version differs from the header: 400 / -32020.
    const vm = await modern(srv, 'tools/list', {}, { headers: { 'mcp-protocol-version': '2099-01-01' } });
    assert.equal(vm.status, 400, show(vm));
    assert.ok([-32020, -32022].includes(code(vm)), show(vm));
    // Missing clientCapabilities: 400 / -32602.
    const mc = await modern(srv, 'tools/list', {}, { meta: { 'io.modelcontextprotocol/clientCapabilities': undefined } });
    assert.equal(mc.status, 400, show(mc));
    assert.equal(code(mc), -32602, show(mc));
    // Wrong Content-Type: 415; Accept that allows neither: 406.
    const ct = await fetch(srv.url, { method: 'POST', headers: { 'content-type': 'text/plain', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }, body: '{}' });
    assert.equal(ct.status, 415, await ct.text());
    const ac = await modern(srv, 'tools/list', {}, { accept: 'text/html' });
    assert.equal(ac.status, 406, show(ac));
    // Still serving.
    const ok = await modern(srv, 'tools/call', { name: 'echo', arguments: { message: 'ok' } });
    assert.equal(text(ok.response.result), 'ok');
  }));
  it('subscriptions/listen: acknowledgement, only the asked-for list changes (tagged), the result at shutdown', T, () => withServer(async (srv) => {
    const listen = async (id, notifications, signal) => {
      const req = modernRequest('subscriptions/listen', { notifications });
      const body = JSON.parse(req.body);
      body.id = id;
      const res = await fetch(srv.url, { method: 'POST', headers: req.headers, body: JSON.stringify(body), signal });
      assert.equal(res.status, 200);
      assert.equal((res.headers.get('content-type') ?? '').split(';')[0], 'text/event-stream');
      assert.equal(res.headers.get('mcp-session-id'), null);
      const st = { text: '', ended: false, messages: () => sseMessages(parseSse(st.text)) };
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      st.done = (async () => {
        for (;;) {
          const r = await reader.read().catch(() => ({ done: true, failed: true }));
          if (r.done) { st.ended = !r.failed; return; }
          st.text += dec.decode(r.value, { stream: true });
        }
      })();
      return st;
    };
    const sub = 'io.modelcontextprotocol/subscriptionId';
    const a = await listen('listen-1', { toolsListChanged: true });
    const ack = await waitFor(() => a.messages()[0], 'the acknowledgement');
    assert.equal(ack.method, 'notifications/subscriptions/acknowledged', a.text);
    assert.equal(ack.params?._meta?.[sub], 'listen-1', a.text);
    assert.equal(ack.params?.notifications?.toolsListChanged, true, a.text);
    const ac = new AbortController();
    const b = await listen(2, { promptsListChanged: true }, ac.signal);
    await waitFor(() => b.messages()[0], 'the second acknowledgement');

    for (const tool of ['test_trigger_prompt_change', 'test_trigger_tool_change']) {
      const t = await modern(srv, 'tools/call', { name: tool, arguments: {} });
      assert.equal(t.status, 200, show(t));
    }
    await waitFor(() => a.messages().length >= 2, 'notifications/tools/list_changed on listen-1');
    await waitFor(() => b.messages().length >= 2, 'notifications/prompts/list_changed on listen 2');
    await sleep(100);
    assert.deepEqual(a.messages().slice(1).map((m) => [m.method, m.params?._meta?.[sub]]), [['notifications/tools/list_changed', 'listen-1']], a.text);
    assert.deepEqual(b.messages().slice(1).map((m) => [m.method, m.params?._meta?.[sub]]), [['notifications/prompts/list_changed', 2]], b.text);

    // A client that closes its listen stream ends that subscription (the SSE gauge drops to 1).
    ac.abort();
    const gauge = async () => Number(/^mcpd_sse_streams (\d+)/m.exec(await (await fetch(new URL('/metrics', srv.url))).text())?.[1]);
    const end = Date.now() + 5000;
    let n;
    while ((n = await gauge()) !== 1 && Date.now() < end) await sleep(20);
    assert.equal(n, 1, 'mcpd_sse_streams after one of two listen streams closed');

    // SIGTERM: the remaining listen stream ends with its result.
    const stopped = srv.stop();
    await within(a.done, 'the listen stream to end at shutdown', 10000);
    assert.ok(a.ended, 'the listen stream was cut instead of ending');
    const last = a.messages().at(-1);
    assert.equal(last.id, 'listen-1', a.text);
    assert.equal(last.result?.resultType, 'complete', a.text);
    assert.equal(last.result?._meta?.[sub], 'listen-1', a.text);
    assert.equal((await stopped).code, 0);
  }));

  it('Mcp-Param-* headers for x-mcp-header arguments (test_header_param)', T, () => withServer(async (srv) => {
    const call = (region, headers) => modern(srv, 'tools/call', { name: 'test_header_param', arguments: { region } }, { headers });
    const code = (r) => r.response?.error?.code ?? r.messages[0]?.error?.code;
    const ok = await call('eu-west-1', { 'mcp-param-region': 'eu-west-1' });
    assert.equal(ok.status, 200, show(ok));
    assert.equal(text(ok.response.result), 'eu-west-1');
    // A value outside visible ASCII travels Base64-encoded and is decoded before the comparison.
    const b64 = await call('Zürich 1', { 'mcp-param-region': `=?base64?${Buffer.from('Zürich 1').toString('base64')}?=` });
    assert.equal(b64.status, 200, show(b64));
    assert.equal(text(b64.response.result), 'Zürich 1');
    const missing = await call('eu-west-1', {});
    assert.equal(missing.status, 400, show(missing));
    assert.equal(code(missing), -32020, show(missing));
    const wrong = await call('eu-west-1', { 'mcp-param-region': 'us-east-1' });
    assert.equal(wrong.status, 400, show(wrong));
    assert.equal(code(wrong), -32020, show(wrong));
  }));

  // With --threads 1 the abandoned test_slow (50 s of work) holds the only handler thread
  // unless the disconnect cancelled it: the next pool-run call finishing proves it did.
  it('a client that disconnects cancels its request', T, () => withServer(async (srv) => {
    const req = modernRequest('tools/call', { name: 'test_slow', arguments: { steps: 2000, ms: 25 } }, { meta: { progressToken: 7 } });
    const ac = new AbortController();
    const res = await fetch(srv.url, { method: 'POST', headers: req.headers, body: req.body, signal: ac.signal });
    assert.equal(res.status, 200);
    assert.equal((res.headers.get('content-type') ?? '').split(';')[0], 'text/event-stream');
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let got = '';
    await within((async () => {
      while (!sseMessages(parseSse(got)).some((m) => m.method === 'notifications/progress')) {
        const { value, done } = await reader.read();
        assert.ok(!done, `stream ended early: ${got}`);
        got += dec.decode(value, { stream: true });
      }
    })(), 'the first progress notification');
    ac.abort();
    await reader.cancel().catch(() => {});
    const next = await within(modern(srv, 'tools/call', { name: 'test_slow', arguments: { steps: 3, ms: 10 } }),
      'a test_slow after the disconnect (the abandoned one still holds the only handler thread?)', 8000);
    assert.equal(next.status, 200, show(next));
    assert.equal(text(next.response.result), 'done');
  }, ['--threads', '1']));
});

// ---- sessions across workers (raw node:http, a new connection per request) -----------------------

describe('Streamable HTTP, legacy sessions across workers (raw)', () => {
  // The Mcp-Session-Id of an initialize answer must be usable at once from any connection:
  // a client may send its next request on another connection, accepted by another worker.
  it('the request right after initialize, on a new connection, finds the session (600 times, --workers 4)', T, () => withServer(async (srv) => {
    const u = new URL(srv.url);
    const H = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    // Resolves at the response head; .body resolves to the whole body text.
    const post = (headers, body) => new Promise((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers, agent: false }, (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { t += d; });
        const full = new Promise((r) => res.on('end', () => r(t)));
        resolve({ status: res.statusCode, headers: res.headers, body: full });
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
    const bad = [];
    for (let i = 0; i < 600; i++) {
      const init = await post(H, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      const sid = init.headers['mcp-session-id'];
      assert.equal(init.status, 200, await init.body);
      assert.match(sid ?? '', SESSION_ID);
      // The next request goes out as soon as the answer's head (with the session id) is in.
      const h = { ...H, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY };
      const next = await post(h, { jsonrpc: '2.0', method: 'notifications/initialized' });
      assert.ok(JSON.parse(await init.body).result, 'initialize failed');
      const nextBody = await next.body;
      if (next.status !== 202) {
        await sleep(50);
        const later = await post(h, { jsonrpc: '2.0', id: 2, method: 'ping' });
        await later.body;
        bad.push(`#${i} session ${sid}: notifications/initialized right after initialize -> ${next.status} ${nextBody}; a ping 50 ms later -> ${later.status}`);
      }
    }
    assert.deepEqual(bad, [], `${bad.length} of 600 fresh sessions were not found by the next request:\n${bad.slice(0, 3).join('\n')}`);
  }, ['--workers', '4']));
});
