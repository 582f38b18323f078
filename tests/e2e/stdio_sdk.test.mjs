// stdio_sdk.test.mjs - the everything server over stdio, driven by the official MCP TypeScript
// SDK client (Client + StdioClientTransport). It lists and calls every tool, reads every
// resource (a template URI too), gets every prompt, completes, and exercises progress,
// logging, sampling, elicitation, roots and cancellation the way a real client does. The
// server's stderr is collected; any sanitizer report in it fails the run.
//
// Run: MCPD_EVERYTHING=build/asan/everything node --test tests/e2e/stdio_sdk.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const BIN = process.env.MCPD_EVERYTHING;
const SANITIZER = /AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:/;

// Answers the conformance suite's client gives (docs/internals/conformance-fixtures.md §6).
const ELICIT_ANSWERS = {
  'Please provide your information': { username: 'testuser', email: 'test@example.com' },
  'Please review and update the form fields with defaults': {
    name: 'Jane Smith', age: 25, score: 88, status: 'inactive', verified: false,
  },
  'Please select options from the enum fields': {
    untitledSingle: 'option1', titledSingle: 'value1', legacyEnum: 'opt1',
    untitledMulti: ['option1', 'option2'], titledMulti: ['value1', 'value2'],
  },
  'What is your name?': { name: 'Alice' },
  'Step 1: What is your name?': { name: 'Alice' },
  'Step 2: What is your favorite color?': { color: 'blue' },
};

// Starts the binary and connects a client declaring `capabilities`; returns
// { client, stderr(), elicitations, samplings, close() }.
async function connect(capabilities) {
  assert.ok(BIN, 'MCPD_EVERYTHING must name the everything binary');
  const transport = new StdioClientTransport({ command: BIN, args: ['--stdio'], stderr: 'pipe' });
  let err = '';
  transport.stderr.on('data', (d) => { err += d.toString(); });
  const client = new Client({ name: 'mcpd-e2e', version: '1.0.0' }, { capabilities });
  const seen = { elicitations: [], samplings: [] };
  if (capabilities.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      seen.elicitations.push(req.params);
      return { action: 'accept', content: ELICIT_ANSWERS[req.params.message] ?? {} };
    });
  }
  if (capabilities.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      seen.samplings.push(req.params);
      return {
        role: 'assistant', model: 'test-model', stopReason: 'endTurn',
        content: { type: 'text', text: 'This is a test response from the client' },
      };
    });
  }
  if (capabilities.roots) {
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{ uri: 'file:///test/root', name: 'Test Root' }],
    }));
  }
  await client.connect(transport);
  // Every message the server sent, in arrival order, before the SDK's handlers see it.
  const wire = [];
  const deliver = transport.onmessage;
  transport.onmessage = (m, extra) => { wire.push(m); deliver(m, extra); };
  return {
    client,
    wire,
    ...seen,
    stderr: () => err,
    closed: false,
    async close() {
      if (this.closed) return;
      this.closed = true;
      await client.close();
      await new Promise((r) => setTimeout(r, 50)); // let the stderr pipe drain
      assert.doesNotMatch(err, SANITIZER, `server stderr:\n${err}`);
    },
  };
}

const text = (res) => res.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('everything over stdio with the SDK client', () => {
  let s;
  before(async () => {
    s = await connect({ sampling: {}, elicitation: {}, roots: { listChanged: true } });
  });
  after(async () => { if (s) await s.close(); });

  it('initializes with the declared capabilities', () => {
    const caps = s.client.getServerCapabilities();
    for (const k of ['tools', 'resources', 'prompts', 'logging', 'completions']) assert.ok(caps[k], k);
    assert.equal(s.client.getServerVersion().name, 'everything');
  });

  it('lists every tool with a description and an object input schema', async () => {
    const { tools } = await s.client.listTools();
    const names = tools.map((t) => t.name);
    assert.equal(names[0], 'test_simple_text');
    for (const n of [
      'test_simple_text', 'test_image_content', 'test_audio_content', 'test_embedded_resource',
      'test_multiple_content_types', 'test_tool_with_logging', 'test_error_handling',
      'test_tool_with_progress', 'test_sampling', 'test_elicitation',
      'test_elicitation_sep1034_defaults', 'test_elicitation_sep1330_enums',
      'json_schema_2020_12_tool', 'test_reconnection', 'echo', 'test_slow',
    ]) assert.ok(names.includes(n), `missing tool ${n}`);
    for (const t of tools) {
      assert.match(t.name, /^[A-Za-z0-9_.-]{1,128}$/);
      assert.ok(t.description, `${t.name} has no description`);
      assert.equal(t.inputSchema.type, 'object', t.name);
    }
    const js = tools.find((t) => t.name === 'json_schema_2020_12_tool').inputSchema;
    assert.equal(js.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(js.$defs.address.$anchor, 'addressDef');
    assert.equal(js.additionalProperties, false);
    assert.ok(Array.isArray(js.allOf[0].anyOf));
    assert.ok(js.if && js.then && js.else);
  });

  it('calls every plain tool and gets the fixture shapes', async () => {
    const call = (name, args) => s.client.callTool({ name, arguments: args });
    assert.equal(text(await call('test_simple_text')), 'This is a simple text response for testing.');
    const img = (await call('test_image_content', {})).content[0];
    assert.equal(img.type, 'image');
    assert.equal(img.mimeType, 'image/png');
    assert.ok(img.data.length > 0);
    const aud = (await call('test_audio_content', {})).content[0];
    assert.deepEqual([aud.type, aud.mimeType, aud.data.length > 0], ['audio', 'audio/wav', true]);
    assert.deepEqual((await call('test_embedded_resource', {})).content, [{
      type: 'resource',
      resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
    }]);
    const mixed = (await call('test_multiple_content_types', {})).content;
    assert.deepEqual(mixed.map((b) => b.type), ['text', 'image', 'resource']);
    assert.equal(mixed[2].resource.text, '{"test":"data","value":123}');
    const e = await call('test_error_handling', {});
    assert.equal(e.isError, true);
    assert.equal(e.content[0].text, 'This tool intentionally returns an error for testing');
    assert.ok(text(await call('json_schema_2020_12_tool', { name: 'x', email: 'a@b.c' })));
    assert.ok(text(await call('test_reconnection', {})));
    assert.equal(text(await call('echo', { message: 'héllo "world"' })), 'héllo "world"');
    assert.equal(text(await call('test_slow', { steps: 2, ms: 1 })), 'done');
  });

  it('rejects bad arguments as a tool error result', async () => {
    const r = await s.client.callTool({ name: 'echo', arguments: { message: 7 } });
    assert.equal(r.isError, true);
    const r2 = await s.client.callTool({ name: 'json_schema_2020_12_tool', arguments: { name: 'x' } });
    assert.equal(r2.isError, true);
  });

  it('reports progress before the result', async () => {
    const seen = [];
    const from = s.wire.length;
    const r = await s.client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined,
      { onprogress: (p) => seen.push(p) });
    assert.ok(text(r));
    // What the server sent: three notifications for the request's token, then the response.
    // (The SDK may drop the last one from onprogress when it arrives in the same read as the
    // response: its notification handler runs a microtask after the response handler.)
    const msgs = s.wire.slice(from);
    const resp = msgs.findIndex((m) => m.id !== undefined && m.result);
    const token = msgs[resp].id;
    const prog = msgs.slice(0, resp).filter((m) => m.method === 'notifications/progress')
      .map((m) => m.params);
    assert.deepEqual(prog.map((p) => [p.progressToken, p.progress, p.total]),
      [[token, 0, 100], [token, 50, 100], [token, 100, 100]]);
    assert.ok(!msgs.slice(resp + 1).some((m) => m.method === 'notifications/progress'));
    assert.ok(seen.length >= 2, `onprogress saw ${seen.length} notifications`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress > seen[i - 1].progress);
  });

  it('sends log messages at the level the client set', async () => {
    const logs = [];
    s.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
    await s.client.setLoggingLevel('debug');
    const r = await s.client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    assert.equal(text(r), 'Tool with logging executed successfully');
    await sleep(50);
    assert.deepEqual(logs.map((l) => [l.level, l.data]), [
      ['info', 'Tool execution started'], ['info', 'Tool processing data'], ['info', 'Tool execution completed'],
    ]);
    logs.length = 0;
    await s.client.setLoggingLevel('error');
    await s.client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    await sleep(50);
    assert.equal(logs.length, 0, 'info messages sent although the level is error');
  });

  it('asks the client to sample', async () => {
    const r = await s.client.callTool({ name: 'test_sampling', arguments: { prompt: 'Test prompt for sampling' } });
    assert.equal(text(r), 'LLM response: This is a test response from the client');
    const req = s.samplings.at(-1);
    assert.equal(req.maxTokens, 100);
    assert.deepEqual(req.messages, [{ role: 'user', content: { type: 'text', text: 'Test prompt for sampling' } }]);
  });

  it('elicits from the user', async () => {
    const r = await s.client.callTool({ name: 'test_elicitation', arguments: { message: 'Please provide your information' } });
    assert.equal(text(r), 'User response: action=accept, content={"username":"testuser","email":"test@example.com"}');
    assert.deepEqual(s.elicitations.at(-1).requestedSchema.required, ['username', 'email']);
  });

  it('elicits with defaults (SEP-1034)', async () => {
    const r = await s.client.callTool({ name: 'test_elicitation_sep1034_defaults', arguments: {} });
    assert.match(text(r), /^Elicitation completed: action=accept, content=\{"name":"Jane Smith"/);
    const req = s.elicitations.at(-1);
    assert.equal(req.mode, 'form');
    const p = req.requestedSchema.properties;
    assert.deepEqual([p.name.default, p.age.default, p.score.default, p.status.default, p.verified.default],
      ['John Doe', 30, 95.5, 'active', true]);
    assert.equal(p.age.type, 'integer');
  });

  it('elicits with every enum shape (SEP-1330)', async () => {
    const r = await s.client.callTool({ name: 'test_elicitation_sep1330_enums', arguments: {} });
    assert.match(text(r), /action=accept/);
    const p = s.elicitations.at(-1).requestedSchema.properties;
    assert.deepEqual(p.untitledSingle.enum, ['option1', 'option2', 'option3']);
    assert.equal(p.titledSingle.oneOf.length, 3);
    assert.equal(p.legacyEnum.enumNames.length, p.legacyEnum.enum.length);
    assert.equal(p.untitledMulti.items.type, 'string');
    assert.equal(p.titledMulti.items.anyOf[0].const, 'value1');
  });

  it('asks several questions at once (elicitation, sampling, roots)', async () => {
    const r = await s.client.callTool({ name: 'test_input_required_result_multiple_inputs', arguments: {} });
    assert.equal(r.isError, undefined);
    assert.match(text(r), /name=Alice/);
    assert.match(text(r), /file:\/\/\/test\/root/);
    const r2 = await s.client.callTool({ name: 'test_input_required_result_multi_round', arguments: {} });
    assert.equal(text(r2), 'Alice likes blue');
  });

  it('lists and reads every resource and the template', async () => {
    const { resources } = await s.client.listResources();
    assert.deepEqual(resources.map((r) => r.uri), ['test://static-text', 'test://static-binary', 'test://watched-resource',
      'skill://mcpd.example/code-review/SKILL.md', 'skill://mcpd.example/code-review/checklist.md',
      'skill://mcpd.example/code-review/scripts/lint.sh', 'skill://release-notes/SKILL.md']);
    for (const r of resources) assert.ok(r.name && r.description, r.uri);
    const { resourceTemplates } = await s.client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => [t.uriTemplate, t.name]), [['test://template/{id}/data', 'template']]);

    const t = (await s.client.readResource({ uri: 'test://static-text' })).contents[0];
    assert.deepEqual(t, { uri: 'test://static-text', mimeType: 'text/plain', text: 'This is the content of the static text resource.' });
    const b = (await s.client.readResource({ uri: 'test://static-binary' })).contents[0];
    assert.equal(b.mimeType, 'image/png');
    assert.equal(Buffer.from(b.blob, 'base64').subarray(1, 4).toString(), 'PNG');
    const w = (await s.client.readResource({ uri: 'test://watched-resource' })).contents[0];
    assert.equal(w.text, 'Watched resource content');
    const d = (await s.client.readResource({ uri: 'test://template/123/data' })).contents[0];
    assert.equal(d.uri, 'test://template/123/data');
    assert.deepEqual(JSON.parse(d.text), { id: '123', templateTest: true, data: 'Data for ID: 123' });
    await assert.rejects(s.client.readResource({ uri: 'test://nonexistent-resource-for-conformance-testing' }));
  });

  it('subscribes and unsubscribes', async () => {
    assert.deepEqual(await s.client.subscribeResource({ uri: 'test://watched-resource' }), {});
    assert.deepEqual(await s.client.unsubscribeResource({ uri: 'test://watched-resource' }), {});
  });

  it('lists and gets every prompt', async () => {
    const { prompts } = await s.client.listPrompts();
    const names = prompts.map((p) => p.name);
    for (const n of ['test_simple_prompt', 'test_prompt_with_arguments', 'test_prompt_with_embedded_resource', 'test_prompt_with_image'])
      assert.ok(names.includes(n), n);
    for (const p of prompts) assert.ok(p.description, p.name);

    const simple = await s.client.getPrompt({ name: 'test_simple_prompt' });
    assert.deepEqual(simple.messages, [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }]);
    const args = await s.client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'testValue1', arg2: 'testValue2' } });
    assert.equal(args.messages[0].content.text, "Prompt with arguments: arg1='testValue1', arg2='testValue2'");
    const emb = await s.client.getPrompt({ name: 'test_prompt_with_embedded_resource', arguments: { resourceUri: 'test://example-resource' } });
    assert.equal(emb.messages[0].content.type, 'resource');
    assert.equal(emb.messages[0].content.resource.uri, 'test://example-resource');
    assert.equal(emb.messages[1].content.text, 'Please process the embedded resource above.');
    const img = await s.client.getPrompt({ name: 'test_prompt_with_image' });
    assert.equal(img.messages[0].content.type, 'image');
    assert.equal(img.messages[0].content.mimeType, 'image/png');
    await assert.rejects(s.client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'x' } }));
  });

  it('completes prompt arguments and template variables', async () => {
    const c = await s.client.complete({ ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'test' } });
    assert.ok(Array.isArray(c.completion.values));
    assert.ok(c.completion.values.includes('testValue1'));
    const t = await s.client.complete({ ref: { type: 'ref/resource', uri: 'test://template/{id}/data' }, argument: { name: 'id', value: '12' } });
    assert.deepEqual(t.completion.values, ['123']);
  });

  it('cancels test_slow through an AbortSignal, then serves the next call', async () => {
    const ac = new AbortController();
    const from = s.wire.length;
    const slow = s.client.callTool({ name: 'test_slow', arguments: { steps: 100, ms: 50 } }, undefined,
      { signal: ac.signal, onprogress: () => ac.abort('test cancels') });
    const fallback = setTimeout(() => ac.abort('no progress within 5 s'), 5000);
    await assert.rejects(slow);
    clearTimeout(fallback);
    const progressOf = () => s.wire.slice(from).filter((m) => m.method === 'notifications/progress');
    assert.ok(progressOf().length >= 1, 'cancelled without any progress');
    const token = progressOf()[0].params.progressToken;
    await sleep(300); // the handler notices the cancel between steps and stops
    const sent = progressOf().length;
    await sleep(300);
    assert.equal(progressOf().length, sent, 'test_slow kept running after the cancel');
    assert.ok(sent < 20, `${sent} progress notifications: the cancel was not seen`);
    assert.ok(!s.wire.slice(from).some((m) => m.id === token), 'a response to the cancelled call');
    const r = await s.client.callTool({ name: 'echo', arguments: { message: 'still here' } });
    assert.equal(text(r), 'still here');
    assert.equal(text(await s.client.callTool({ name: 'test_slow', arguments: { steps: 3, ms: 10 } })), 'done');
  });

  it('pings', async () => {
    assert.deepEqual(await s.client.ping(), {});
  });

  it('exits on EOF with no sanitizer report', async () => { await s.close(); });
});

describe('a client without sampling or elicitation', () => {
  let s;
  before(async () => { s = await connect({}); });
  after(async () => { if (s) await s.close(); });

  it('gets an error instead of a question it cannot answer', async () => {
    const r = await s.client.callTool({ name: 'test_sampling', arguments: { prompt: 'x' } });
    assert.equal(r.isError, true);
    await assert.rejects(s.client.callTool({ name: 'test_missing_capability', arguments: {} }));
    const c = await s.client.callTool({ name: 'test_input_required_result_capabilities', arguments: {} });
    assert.ok(text(c));
  });

  it('exits on EOF with no sanitizer report', async () => { await s.close(); });
});
