// examples.test.mjs - examples/minimal.c and examples/realistic.c, end to end with the official
// TypeScript SDK clients: v1 (@modelcontextprotocol/sdk, the legacy era 2025-11-25) over stdio
// and Streamable HTTP, and v2 (@modelcontextprotocol/client, the modern era 2026-07-28) over
// HTTP. It checks what docs/guide.md promises: the compact parameter list becomes the input
// schema; typed integer, array and object arguments arrive; structured output matches its
// output schema; a template read of an unknown note is "not found" in each era's words (-32002
// in 2025-11-25, -32602 in 2026-07-28, data.uri both); the stats tool's handler mistake is a
// -32603 naming the tool and a log line, not a result; a blocking tool does not delay a quick
// one and stops when cancelled; stdio and HTTP served at once. Every server must exit 0 on
// SIGTERM (or EOF) with no sanitizer report.
//
// Run: MCPD_REALISTIC=build/asan/realistic MCPD_MINIMAL=build/asan/minimal \
//      node --test tests/e2e/examples.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  Client as Client2,
  StreamableHTTPClientTransport as StreamableHTTPClientTransport2,
} from '@modelcontextprotocol/client';
import { SANITIZER } from './lib/http_server.mjs';

const REALISTIC = process.env.MCPD_REALISTIC;
const MINIMAL = process.env.MCPD_MINIMAL;
const T = { timeout: 60000 };

// Spawns bin with args; resolves once it logs its listening URL (HTTP) or at once (stdio).
// Returns { proc, url, stderr(), stop() }: stop sends SIGTERM (after closing stdin) and checks
// a clean exit without sanitizer reports.
async function launch(bin, args, { http = true, stdin = 'ignore' } = {}) {
  assert.ok(bin, 'MCPD_REALISTIC and MCPD_MINIMAL must name the example binaries');
  const proc = spawn(bin, args, { stdio: [stdin, 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = !http ? null : await new Promise((resolve, reject) => {
    // killed, not left running: its pipes would keep the test process alive until CTest's timeout
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`no listening line within 20 s: ${stderr}`)); }, 20000);
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${stderr}`)); });
  });
  if (!http) proc.stderr.on('data', (d) => { stderr += d; });
  return {
    proc, url, stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const r = await exited;
      assert.equal(r.code, 0, `exit ${r.code} ${r.signal}: ${stderr}`);
      assert.doesNotMatch(stderr, SANITIZER, stderr);
    },
  };
}

async function v1stdio(bin, args = []) {
  assert.ok(bin, 'MCPD_REALISTIC and MCPD_MINIMAL must name the example binaries');
  const transport = new StdioClientTransport({ command: bin, args, stderr: 'pipe' });
  let stderr = '';
  transport.stderr.on('data', (d) => { stderr += d.toString(); });
  const client = new Client({ name: 'examples-e2e', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return {
    client, stderr: () => stderr,
    async close() {
      await client.close();
      assert.doesNotMatch(stderr, SANITIZER, stderr);
    },
  };
}

async function v1http(url) {
  const client = new Client({ name: 'examples-e2e', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

async function v2http(url) {
  const client = new Client2({ name: 'examples-e2e2', version: '1.0.0' },
    { capabilities: {}, versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport2(new URL(url)));
  return client;
}

const rejection = async (p) => {
  try { await p; } catch (e) { return e; }
  assert.fail('expected a rejection');
};

// What both transports and both eras must answer the same way.
async function typedAndStructured(client) {
  const { tools } = await client.listTools();
  const forecast = tools.find((t) => t.name === 'forecast');
  assert.deepEqual(forecast.inputSchema.required, ['city']);
  assert.equal(forecast.inputSchema.properties.days.maximum, 7);
  assert.deepEqual(forecast.inputSchema.properties.metrics.items.enum, ['temp', 'wind', 'rain']);
  assert.equal(forecast.inputSchema.properties.at.type, 'object');
  assert.equal(forecast.outputSchema.type, 'object');
  const r = await client.callTool({
    name: 'forecast',
    arguments: { city: 'Oslo', days: 2, metrics: ['temp', 'wind'], at: { lat: 60, lon: 10.7 } },
  });
  assert.deepEqual(r.structuredContent, {
    city: 'Oslo', at: { lat: 60, lon: 10.7 },
    days: [{ day: 1, temp: 5, wind: 8 }, { day: 2, temp: 6, wind: 9 }],
  });
  assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent);
  const d = await client.callTool({ name: 'forecast', arguments: { city: 'Rome' } });
  assert.equal(d.structuredContent.days.length, 3); // the getter's default
  const bad = await client.callTool({ name: 'forecast', arguments: { city: 'Rome', days: 9 } });
  assert.equal(bad.isError, true); // validated against the schema made from the params
  assert.match(bad.content[0].text, /days/);
  const s = await client.callTool({ name: 'stats', arguments: { values: [1, 2, 6] } });
  assert.deepEqual(s.structuredContent, { count: 3, mean: 3 });
  const note = await client.readResource({ uri: 'notes:///garden' });
  assert.equal(note.contents[0].text, 'Plant tulips in October.');
  const comp = await client.complete({ ref: { type: 'ref/prompt', name: 'summarize' }, argument: { name: 'id', value: 'g' } });
  assert.deepEqual(comp.completion.values, ['groceries', 'garden']);
  const tcomp = await client.complete({ ref: { type: 'ref/resource', uri: 'notes:///{id}' }, argument: { name: 'id', value: 'ga' } });
  assert.deepEqual(tcomp.completion.values, ['garden']);
  const p = await client.getPrompt({ name: 'summarize', arguments: { id: 'garden', words: 'five' } });
  assert.match(p.messages[0].content.text, /in five words:\nPlant tulips/);
}

// The handler mistake in stats: -32603 naming the tool, and a log line saying why.
async function mistake(client, stderr) {
  const e = await rejection(client.callTool({ name: 'stats', arguments: { values: [] } }));
  assert.equal(e.code, -32603, `${e.code} ${e.message}`);
  assert.match(e.message, /tool 'stats': mcp_ctx_structured: invalid JSON/);
  for (let i = 0; i < 100 && !/handler mistake: tool 'stats'/.test(stderr()); i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.match(stderr(), /error: handler mistake: tool 'stats'/);
}

async function notFound(client, code) {
  const e = await rejection(client.readResource({ uri: 'notes:///nope' }));
  assert.equal(e.code, code, `${e.code} ${e.message}`);
  assert.match(e.message, /no note 'nope'/);
  assert.equal(e.data?.uri, 'notes:///nope');
}

describe('realistic over stdio (2025-11-25)', () => {
  it('typed arguments, structured output, template, prompt and completion', T, async () => {
    const c = await v1stdio(REALISTIC);
    await typedAndStructured(c.client);
    await notFound(c.client, -32002);
    await mistake(c.client, c.stderr);
    await c.close();
  });
});

describe('realistic over Streamable HTTP', () => {
  it('2025-11-25 (SDK v1): the same answers; not found is -32002', T, async () => {
    const srv = await launch(REALISTIC, ['--listen', '127.0.0.1:0']);
    const client = await v1http(srv.url);
    await typedAndStructured(client);
    await notFound(client, -32002);
    await mistake(client, srv.stderr);
    await client.close();
    await srv.stop();
  });

  it('2026-07-28 (SDK v2): the same answers; not found is -32602', T, async () => {
    const srv = await launch(REALISTIC, ['--listen', '127.0.0.1:0']);
    const client = await v2http(srv.url);
    await typedAndStructured(client);
    await notFound(client, -32602);
    await mistake(client, srv.stderr);
    await client.close();
    await srv.stop();
  });

  it('a blocking tool does not delay a quick one, and stops when cancelled', T, async () => {
    const srv = await launch(REALISTIC, ['--listen', '127.0.0.1:0']);
    const client = await v1http(srv.url);
    const ac = new AbortController();
    let slowDone = false;
    const slow = client.callTool({ name: 'slow_report', arguments: { seconds: 30 } }, undefined,
      { signal: ac.signal, timeout: 120000 }).finally(() => { slowDone = true; });
    const quick = await client.callTool({ name: 'forecast', arguments: { city: 'Oslo', days: 1 } });
    assert.equal(quick.structuredContent.city, 'Oslo');
    assert.equal(slowDone, false, 'the quick call was answered while the slow one still blocks');
    ac.abort('test cancels');
    await rejection(slow);
    // the cancellation reaches the server (a separate notification) and wakes the handler
    for (let i = 0; i < 400 && !/slow_report cancelled/.test(srv.stderr()); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(srv.stderr(), /realistic: slow_report cancelled/);
    // the handler woke on its cancel fd and finished: nothing is left in flight at the stop
    // (a handler that ignored it would be reported "still in flight ... abandoning them")
    await client.close();
    await srv.stop();
    assert.doesNotMatch(srv.stderr(), /still in flight/);
  });
});

describe('realistic over stdio and HTTP at once', () => {
  it('both transports serve the same server', T, async () => {
    const srv = await launch(REALISTIC, ['--stdio', '--listen', '127.0.0.1:0'], { stdin: 'pipe' });
    const client = await v2http(srv.url);
    const r = await client.callTool({ name: 'forecast', arguments: { city: 'Bergen', days: 1 } });
    assert.equal(r.structuredContent.city, 'Bergen');
    // and stdio answers on the same process
    let out = '';
    srv.proc.stdout.setEncoding('utf8');
    srv.proc.stdout.on('data', (d) => { out += d; });
    srv.proc.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: {
      name: 'forecast', arguments: { city: 'Tromso', days: 1 },
      _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } })}\n`);
    for (let i = 0; i < 200 && !out.includes('"id":7'); i++) await new Promise((res) => setTimeout(res, 50));
    assert.match(out, /"id":7,"result":\{.*"structuredContent":\{"city":"Tromso"/);
    await client.close();
    srv.proc.stdin.end(); // end of input ends stdio, then HTTP is stopped
    const exit = await new Promise((res) => (srv.proc.exitCode !== null ? res(srv.proc.exitCode) : srv.proc.on('exit', res)));
    assert.equal(exit, 0, srv.stderr());
    assert.doesNotMatch(srv.stderr(), SANITIZER);
  });
});

describe('minimal', () => {
  it('over stdio: the greet tool, its schema from params', T, async () => {
    const c = await v1stdio(MINIMAL);
    const { tools } = await c.client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['greet']);
    assert.equal(tools[0].inputSchema.properties.name.description, 'Who to greet');
    const r = await c.client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
    assert.equal(r.content[0].text, 'Hello, Ada!');
    const d = await c.client.callTool({ name: 'greet', arguments: {} });
    assert.equal(d.content[0].text, 'Hello, world!');
    await c.close();
  });

  it('over Streamable HTTP, both eras', T, async () => {
    const srv = await launch(MINIMAL, ['--listen', '127.0.0.1:0']);
    for (const connect of [v1http, v2http]) {
      const client = await connect(srv.url);
      const r = await client.callTool({ name: 'greet', arguments: { name: 'Lin' } });
      assert.equal(r.content[0].text, 'Hello, Lin!');
      await client.close();
    }
    await srv.stop();
  });
});
