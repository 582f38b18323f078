// mcpd_content.test.mjs - mcpd's content end to end: a directory served as resources, prompts
// from template files, and a plugin's tools, driven by the official TypeScript SDK clients over
// Streamable HTTP in both eras (legacy 2025-11-25 sessions with the v1 client, modern
// 2026-07-28 with the v2 client) and over stdio (v1).
//
// Each test writes its own tree in a temporary directory: docs/ (text, a binary file, a hidden
// file, a symlink that stays inside, symlinks to a file and a directory outside), prompts/, and
// a config that serves docs/ as resources, a prompt with arguments and completion values, and
// the example plugin (examples/plugin/hello.c). It then checks what a client sees: listing,
// reads, refusals of `..` and symlink escapes with their messages, change notifications after
// a file is written (resources/updated to a subscriber, list_changed after a file is created),
// prompts rendered with arguments, completion, and the plugin's tools called. The server must
// exit 0 on SIGTERM with no sanitizer report.
//
// Run: MCPD_BIN=build/asan/mcpd MCPD_HELLO=build/asan/libmcpd_hello.so \
//      node --test tests/e2e/mcpd_content.test.mjs
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { PromptListChangedNotificationSchema, ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';

// The shared server helper starts $MCPD_EVERYTHING; point it at mcpd before loading it.
process.env.MCPD_EVERYTHING = process.env.MCPD_BIN;
const { SANITIZER, withServerChecked } = await import('./lib/http_server.mjs');

const BIN = process.env.MCPD_BIN;
const HELLO = process.env.MCPD_HELLO;
const T = { timeout: 60000 };
const STOP_MS = 15000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (res) => res.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

async function waitFor(pred, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

const REVIEW = `Review this{{#language}} {{language}}{{/language}} code.
{{#focus}}Focus on {{focus}}.{{/focus}}
{{code}}
{{@assistant}}
I will review it.
`;

const dirs = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

// A fresh tree and config; returns { dir, config, docs }.
function tree() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpd-content-'));
  dirs.push(dir);
  const docs = join(dir, 'docs');
  mkdirSync(join(docs, 'sub'), { recursive: true });
  mkdirSync(join(dir, 'outside'));
  mkdirSync(join(dir, 'prompts'));
  writeFileSync(join(docs, 'guide.md'), '# Guide\n');
  writeFileSync(join(docs, 'sub', 'notes.txt'), 'notes');
  writeFileSync(join(docs, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2]));
  writeFileSync(join(docs, '.env'), 'TOKEN=secret');
  writeFileSync(join(dir, 'outside', 'secret.txt'), 'OUTSIDE SECRET');
  symlinkSync('../outside/secret.txt', join(docs, 'escape.txt'));
  symlinkSync(join(dir, 'outside'), join(docs, 'escape-dir'));
  symlinkSync('guide.md', join(docs, 'alias.md'));
  writeFileSync(join(dir, 'prompts', 'review.md'), REVIEW);
  const config = {
    tools: HELLO ? [{ kind: 'plugin', name: 'hello', path: HELLO, config: { greeting: 'Bonjour' } }] : [],
    resources: [{ name: 'docs', path: 'docs', description: 'Project documents', max_file_bytes: 4096 }],
    prompts: [{
      name: 'code_review',
      title: 'Code review',
      description: 'Asks for a review of a piece of code',
      file: 'prompts/review.md',
      arguments: [
        { name: 'code', description: 'The code to review', required: true },
        { name: 'language', description: 'Its language', completions: ['c', 'c++', 'go', 'python', 'perl'] },
        { name: 'focus', description: 'What to look at' },
      ],
    }],
  };
  const path = join(dir, 'mcpd.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  chmodSync(path, 0o644);
  return { dir, config: path, docs };
}

// ---- clients ------------------------------------------------------------------------------------

async function connectV1(srv) {
  const client = new ClientV1({ name: 'mcpd-content-v1', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new HttpV1(new URL(srv.url)));
  return { client, close: () => client.close() };
}

async function connectV2(srv) {
  const client = new ClientV2({ name: 'mcpd-content-v2', version: '1.0.0' }, { capabilities: {}, versionNegotiation: { mode: 'auto' } });
  await client.connect(new HttpV2(new URL(srv.url)));
  return { client, close: () => client.close() };
}

const withMcpd = (t, fn, connect) =>
  withServerChecked(fn, ['--config', t.config], { connect, stopMs: STOP_MS });

// ---- what both eras must see --------------------------------------------------------------------

async function checkListingAndReads(client) {
  const { resources } = await client.listResources();
  const uris = resources.map((r) => r.uri).sort();
  assert.deepEqual(uris, ['file:///docs/alias.md', 'file:///docs/guide.md', 'file:///docs/logo.png', 'file:///docs/sub/notes.txt']);
  const guide = resources.find((r) => r.uri === 'file:///docs/guide.md');
  assert.equal(guide.mimeType, 'text/markdown');
  assert.equal(guide.name, 'guide.md');

  const r = await client.readResource({ uri: 'file:///docs/guide.md' });
  assert.deepEqual(r.contents, [{ uri: 'file:///docs/guide.md', mimeType: 'text/markdown', text: '# Guide\n' }]);
  const png = await client.readResource({ uri: 'file:///docs/logo.png' });
  assert.equal(png.contents[0].mimeType, 'image/png');
  assert.equal(Buffer.from(png.contents[0].blob, 'base64')[1], 0x50);
  const alias = await client.readResource({ uri: 'file:///docs/alias.md' });
  assert.equal(alias.contents[0].text, '# Guide\n');

  const { resourceTemplates } = await client.listResourceTemplates();
  assert.equal(resourceTemplates[0].uriTemplate, 'file:///docs/{path}');
  const viaTemplate = await client.readResource({ uri: 'file:///docs/sub%2Fnotes.txt' });
  assert.equal(viaTemplate.contents[0].text, 'notes');
  const done = await client.complete({ ref: { type: 'ref/resource', uri: 'file:///docs/{path}' }, argument: { name: 'path', value: 'sub/' } });
  assert.deepEqual(done.completion.values, ['sub/notes.txt']);
}

// Reading uri must fail with code and a message matching re; nothing of the outside may leak.
async function refused(client, uri, code, re) {
  await assert.rejects(client.readResource({ uri }), (e) => {
    assert.equal(e.code, code, `${uri}: ${e.message}`);
    assert.match(e.message, re, uri);
    assert.doesNotMatch(e.message, /OUTSIDE SECRET|TOKEN=secret/);
    return true;
  });
}

async function checkEscapesRefused(client) {
  await refused(client, 'file:///docs/..%2F..%2F..%2Fetc%2Fpasswd', -32602, /'\.\.' segments are not allowed/);
  await refused(client, 'file:///docs/..%2Foutside%2Fsecret.txt', -32602, /'\.\.' segments are not allowed/);
  await refused(client, 'file:///docs/%2Fetc%2Fpasswd', -32602, /absolute paths are not allowed/);
  await refused(client, 'file:///docs/escape.txt', -32602, /leads out of the served directory/);
  await refused(client, 'file:///docs/escape-dir%2Fsecret.txt', -32602, /leads out of the served directory/);
  await refused(client, 'file:///docs/.env', -32602, /hidden files are not served/);
  await refused(client, 'file:///docs/sub%2F..%2F..%2Foutside%2Fsecret.txt', -32602, /'\.\.' segments/);
}

async function checkPrompts(client) {
  const { prompts } = await client.listPrompts();
  const p = prompts.find((x) => x.name === 'code_review');
  assert.ok(p, JSON.stringify(prompts));
  assert.equal(p.title, 'Code review');
  assert.deepEqual(p.arguments.map((a) => [a.name, !!a.required]), [['code', true], ['language', false], ['focus', false]]);
  const got = await client.getPrompt({ name: 'code_review', arguments: { code: 'rm -rf $(HOME) {{focus}}', language: 'c' } });
  assert.equal(got.description, 'Asks for a review of a piece of code');
  assert.deepEqual(got.messages, [
    { role: 'user', content: { type: 'text', text: 'Review this c code.\n\nrm -rf $(HOME) {{focus}}' } },
    { role: 'assistant', content: { type: 'text', text: 'I will review it.' } },
  ]);
  const focused = await client.getPrompt({ name: 'code_review', arguments: { code: 'x', focus: 'speed' } });
  assert.equal(focused.messages[0].content.text, 'Review this code.\nFocus on speed.\nx');
  await assert.rejects(client.getPrompt({ name: 'code_review', arguments: { language: 'c' } }),
    (e) => e.code === -32602 && /code/.test(e.message));
  const c = await client.complete({ ref: { type: 'ref/prompt', name: 'code_review' }, argument: { name: 'language', value: 'p' } });
  assert.deepEqual(c.completion.values, ['python', 'perl']);
  assert.equal(c.completion.total, 2);
}

async function checkPlugin(client) {
  if (!HELLO) return;
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.ok(names.includes('greet') && names.includes('word_count'), names.join(','));
  const r = await client.callTool({ name: 'greet', arguments: { name: 'Ada', times: 2 } });
  assert.equal(r.isError, undefined);
  assert.equal(text(r), 'Bonjour, Ada!Bonjour, Ada!');
  assert.deepEqual(r.structuredContent, { greeting: 'Bonjour, Ada!' });
  const w = await client.callTool({ name: 'word_count', arguments: { text: 'one two  three' } });
  assert.deepEqual(w.structuredContent, { words: 3, bytes: 14 });
  const bad = await client.callTool({ name: 'greet', arguments: { name: 'Ada', times: 9 } }).catch((e) => e);
  assert.ok(bad.isError || bad.code === -32602, JSON.stringify(bad));
}

// ---- the tests ----------------------------------------------------------------------------------

describe('mcpd content, legacy era (SDK v1, 2025-11-25 sessions)', () => {
  it('lists and reads the directory; template and completion', T, () => withMcpd(tree(), async (srv, open) => {
    const { client } = await open();
    await checkListingAndReads(client);
  }, connectV1));

  it('refuses path traversal and symlink escapes', T, () => withMcpd(tree(), async (srv, open) => {
    const { client } = await open();
    await checkEscapesRefused(client);
    await refused(client, 'file:///docs/missing.md', -32002, /Resource not found/);
  }, connectV1));

  it('sends resources/updated to a subscriber when a file is written, list_changed when one is created', T, () => {
    const t = tree();
    return withMcpd(t, async (srv, open) => {
      const { client } = await open();
      const updated = [];
      let listChanged = 0;
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updated.push(n.params.uri));
      client.setNotificationHandler(ResourceListChangedNotificationSchema, () => { listChanged++; });
      await client.subscribeResource({ uri: 'file:///docs/guide.md' });
      writeFileSync(join(t.docs, 'guide.md'), '# Guide, second edition\n');
      await waitFor(() => updated.includes('file:///docs/guide.md'), 'resources/updated for guide.md');
      const r = await client.readResource({ uri: 'file:///docs/guide.md' });
      assert.equal(r.contents[0].text, '# Guide, second edition\n');
      // not subscribed: no update for notes.txt
      writeFileSync(join(t.docs, 'sub', 'notes.txt'), 'changed');
      writeFileSync(join(t.docs, 'fresh.md'), 'fresh');
      await waitFor(() => listChanged > 0, 'resources/list_changed after a file was created');
      await waitFor(async () => (await client.listResources()).resources.some((x) => x.uri === 'file:///docs/fresh.md'), 'fresh.md listed');
      assert.ok(!updated.includes('file:///docs/sub/notes.txt'), JSON.stringify(updated));
      rmSync(join(t.docs, 'fresh.md'));
      await waitFor(async () => !(await client.listResources()).resources.some((x) => x.uri === 'file:///docs/fresh.md'), 'fresh.md gone');
      await client.unsubscribeResource({ uri: 'file:///docs/guide.md' });
    }, connectV1);
  });

  it('renders prompts with arguments and completes their values', T, () => withMcpd(tree(), async (srv, open) => {
    const { client } = await open();
    await checkPrompts(client);
  }, connectV1));

  it('calls the example plugin\'s tools', { ...T, skip: !HELLO && 'MCPD_HELLO not set' }, () => withMcpd(tree(), async (srv, open) => {
    const { client } = await open();
    await checkPlugin(client);
  }, connectV1));
});

describe('mcpd content, modern era (SDK v2, 2026-07-28)', () => {
  it('lists and reads the directory; template and completion', T, () => withMcpd(tree(), async (srv, open) => {
    const { client } = await open();
    await checkListingAndReads(client);
  }, connectV2));

  it('refuses path traversal and symlink escapes', T, () => withMcpd(tree(), async (srv, open) => {
    const { client } = await open();
    await checkEscapesRefused(client);
    await refused(client, 'file:///docs/missing.md', -32602, /Resource not found/);
  }, connectV2));

  it('delivers resources/updated and list_changed on a subscriptions/listen stream', T, () => {
    const t = tree();
    return withMcpd(t, async (srv, open) => {
      const { client } = await open();
      const updated = [];
      let listChanged = 0;
      client.setNotificationHandler('notifications/resources/updated', (n) => updated.push(n.params.uri));
      client.setNotificationHandler('notifications/resources/list_changed', () => { listChanged++; });
      const sub = await client.listen({ resourcesListChanged: true, resourceSubscriptions: ['file:///docs/guide.md'] });
      writeFileSync(join(t.docs, 'guide.md'), '# Guide, modern\n');
      await waitFor(() => updated.includes('file:///docs/guide.md'), 'resources/updated for guide.md');
      writeFileSync(join(t.docs, 'new.md'), 'new');
      await waitFor(() => listChanged > 0, 'resources/list_changed');
      const r = await client.readResource({ uri: 'file:///docs/new.md' });
      assert.equal(r.contents[0].text, 'new');
      await sub.close();
    }, connectV2);
  });

  it('renders prompts with arguments and completes their values', T, () => withMcpd(tree(), async (srv, open) => {
    const { client } = await open();
    await checkPrompts(client);
  }, connectV2));

  it('calls the example plugin\'s tools', { ...T, skip: !HELLO && 'MCPD_HELLO not set' }, () => withMcpd(tree(), async (srv, open) => {
    const { client } = await open();
    await checkPlugin(client);
  }, connectV2));
});

describe('mcpd content across reloads (SIGHUP)', () => {
  it('a good reload swaps prompts and directories in, a bad one keeps what is served', T, () => {
    const t = tree();
    const cfg = JSON.parse(readFileSync(t.config, 'utf8'));
    return withMcpd(t, async (srv, open) => {
      const { client } = await open();
      const promptsChanged = [];
      client.setNotificationHandler(PromptListChangedNotificationSchema, () => promptsChanged.push(1));
      // reads keep working while the server reloads again and again (from a modern client:
      // stateless requests, so the load does not pile streams onto the legacy session)
      const loader = await connectV2(srv);
      let reads = 0;
      const failures = [];
      let stop = false;
      const reader = (async () => {
        while (!stop) {
          try {
            const r = await loader.client.readResource({ uri: 'file:///docs/guide.md' });
            if (!r.contents[0].text.startsWith('# Guide')) failures.push(r.contents[0].text);
            reads++;
          } catch (e) { failures.push(e.message); }
        }
      })();
      try {
        mkdirSync(join(t.dir, 'more'));
        writeFileSync(join(t.dir, 'more', 'extra.md'), 'extra');
        cfg.resources.push({ name: 'more', path: 'more', uri_prefix: 'more://' + 'files/' });
        cfg.prompts[0] = { name: 'code_review', text: 'v2: {{code}}', arguments: [{ name: 'code', required: true }] };
        writeFileSync(t.config, JSON.stringify(cfg));
        for (let i = 0; i < 5; i++) {
          srv.proc.kill('SIGHUP');
          await sleep(100);
        }
        // (its arguments changed, so libmcp's registration is replaced: a get may miss it briefly)
        await waitFor(async () => (await client.getPrompt({ name: 'code_review', arguments: { code: 'k' } }).catch(() => null))?.messages[0].content.text === 'v2: k', 'the new prompt text');
        await waitFor(() => promptsChanged.length > 0, 'prompts/list_changed');
        const r = await client.readResource({ uri: 'more://files/extra.md' });
        assert.equal(r.contents[0].text, 'extra');

        // a bad reload: reported, nothing served changes
        writeFileSync(t.config, JSON.stringify({ ...cfg, resources: [{ name: 'docs', path: 'gone' }] }));
        srv.proc.kill('SIGHUP');
        await waitFor(() => /reload failed, keeping the current config/.test(srv.stderr) && /\/resources\/0\/path: expected a directory/.test(srv.stderr), 'the failed reload in the log');
        assert.equal((await client.readResource({ uri: 'more://files/extra.md' })).contents[0].text, 'extra');
        assert.equal((await client.getPrompt({ name: 'code_review', arguments: { code: 'k' } })).messages[0].content.text, 'v2: k');
      } finally {
        stop = true;
        await reader;
        await loader.close();
      }
      assert.deepEqual(failures, []);
      assert.ok(reads > 0);
    }, connectV1);
  });
});

describe('mcpd content over stdio (SDK v1)', () => {
  it('serves resources, prompts and the plugin on stdin/stdout', T, async () => {
    const t = tree();
    const transport = new StdioClientTransport({ command: BIN, args: ['--config', t.config, '--stdio'], stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (d) => { stderr += d; });
    const client = new ClientV1({ name: 'mcpd-content-stdio', version: '1.0.0' }, { capabilities: {} });
    await client.connect(transport);
    try {
      await checkListingAndReads(client);
      await checkEscapesRefused(client);
      await checkPrompts(client);
      await checkPlugin(client);
    } finally {
      await client.close();
    }
    await sleep(200);
    assert.doesNotMatch(stderr, SANITIZER, stderr);
  });
});

describe('mcpd content config mistakes', () => {
  it('--check-config explains a bad resources or prompts section and exits 2', T, async () => {
    const { spawnSync } = await import('node:child_process');
    const t = tree();
    const bad = join(t.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({
      resources: [{ name: 'docs', path: 'nope' }],
      prompts: [{ name: 'p', text: 'Hi {{nmae}}', arguments: [{ name: 'name' }] }],
    }, null, 2));
    const r = spawnSync(BIN, ['--check-config', bad], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr + r.stdout);
    const out = r.stderr + r.stdout;
    assert.match(out, /\/resources\/0\/path: expected a directory/);
    assert.match(out, /\/prompts\/0\/text: template:1:4: unknown argument 'nmae' \(declared: name\)/);
    assert.doesNotMatch(out, SANITIZER);
    const ok = spawnSync(BIN, ['--check-config', t.config], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  });

  it('--check-config refuses plugins that are missing, writable by others, or not plugins', { ...T, skip: !HELLO && 'MCPD_HELLO not set' }, async () => {
    const { spawnSync } = await import('node:child_process');
    const t = tree();
    const open = join(t.dir, 'open.so');
    writeFileSync(open, readFileSync(HELLO));
    chmodSync(open, 0o666);
    const cases = [
      [join(t.dir, 'missing.so'), /\/tools\/0\/path: expected a shared object: .*missing\.so: No such file or directory/],
      [open, /\/tools\/0\/path: .*open\.so is writable by everyone: refused \(chmod go-w it\)/],
      ['/lib/x86_64-linux-gnu/libm.so.6', /\/tools\/0\/path: .*libm\.so\.6 does not export mcpd_plugin_init/],
      [join(t.dir, 'mcpd.json'), /\/tools\/0\/path: cannot load the plugin: /],
    ];
    for (const [path, re] of cases) {
      const bad = join(t.dir, 'plugin-bad.json');
      writeFileSync(bad, JSON.stringify({ tools: [{ kind: 'plugin', name: 'p', path }] }));
      const r = spawnSync(BIN, ['--check-config', bad], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${path}: ${r.stderr}${r.stdout}`);
      assert.match(r.stderr + r.stdout, re);
      assert.doesNotMatch(r.stderr + r.stdout, SANITIZER);
    }
    const badConfig = join(t.dir, 'plugin-badcfg.json');
    writeFileSync(badConfig, JSON.stringify({ tools: [{ kind: 'plugin', name: 'p', path: HELLO, config: { greeting: 5 } }] }));
    const r = spawnSync(BIN, ['--check-config', badConfig], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr + r.stdout, /\/tools\/0: plugin: config\.greeting: expected a string of 1 to 63 bytes/);
  });
});

// ---- per-token allowlists and requestState bound to the token ---------------------------------

describe('per-token allowlists over resources and prompts; requestState bound to its token', () => {
  const sha = (s) => createHash('sha256').update(s).digest('hex');
  // limited: resources under one URI prefix, no prompt, the plugin's introduce tool only;
  // full: the docs resources entry by name, the prompt by name, every tool
  const withAuth = (t) => {
    const cfg = JSON.parse(readFileSync(t.config, 'utf8'));
    cfg.auth = { tokens: [
      { name: 'limited', sha256: sha('limited-secret'), resources: ['file:///docs/sub/'], prompts: [], tools: ['introduce'] },
      { name: 'full', sha256: sha('full-secret'), resources: ['docs'], prompts: ['code_review'] },
    ] };
    writeFileSync(t.config, JSON.stringify(cfg, null, 2));
    return t;
  };
  const bearer = (who) => ({ authorization: `Bearer ${who}-secret` });
  const modernMeta = (caps = {}) => ({
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': caps,
    'io.modelcontextprotocol/clientInfo': { name: 'mcpd-auth', version: '1.0.0' },
  });
  let nextId = 1;
  // One modern request as who; resolves to the JSON-RPC response (JSON or the last SSE event).
  async function call(srv, who, method, params, caps) {
    const body = { jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: modernMeta(caps) } };
    const r = await fetch(srv.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28', 'mcp-method': method,
        ...(params.name ?? params.uri ? { 'mcp-name': params.name ?? params.uri } : {}),
        ...bearer(who),
      },
      body: JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.headers.get('content-type')?.startsWith('text/event-stream')) return JSON.parse(text);
    const datas = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
    return datas.find((m) => m.id === body.id);
  }
  const connectAs = (who) => async (srv) => {
    const client = new ClientV1({ name: 'mcpd-auth-v1', version: '1.0.0' }, { capabilities: {} });
    await client.connect(new HttpV1(new URL(srv.url), { requestInit: { headers: bearer(who) } }));
    return { client, close: () => client.close() };
  };

  it('lists, reads, gets and completes only what the token allows; hidden is answered as missing', T, () => withMcpd(withAuth(tree()), async (srv) => {
    const uris = async (who) => (await call(srv, who, 'resources/list', {})).result.resources.map((r) => r.uri).sort();
    assert.deepEqual(await uris('limited'), ['file:///docs/sub/notes.txt']);
    assert.deepEqual(await uris('full'), ['file:///docs/alias.md', 'file:///docs/guide.md', 'file:///docs/logo.png', 'file:///docs/sub/notes.txt']);
    assert.equal((await call(srv, 'limited', 'resources/list', {})).result.cacheScope, 'private');
    assert.deepEqual((await call(srv, 'limited', 'resources/templates/list', {})).result.resourceTemplates, []);
    assert.equal((await call(srv, 'full', 'resources/templates/list', {})).result.resourceTemplates.length, 1);
    const read = (who, uri) => call(srv, who, 'resources/read', { uri });
    assert.equal((await read('limited', 'file:///docs/sub/notes.txt')).result.contents[0].text, 'notes');
    assert.equal((await read('full', 'file:///docs/guide.md')).result.contents[0].text, '# Guide\n');
    const hidden = await read('limited', 'file:///docs/guide.md');
    const missing = await read('limited', 'file:///docs/sub/missing.md');
    assert.equal(hidden.error.code, -32602);
    assert.deepEqual({ ...hidden.error, data: undefined }, { ...missing.error, data: undefined }, 'hidden and missing look the same');
    assert.deepEqual((await call(srv, 'limited', 'prompts/list', {})).result.prompts, []);
    assert.deepEqual((await call(srv, 'full', 'prompts/list', {})).result.prompts.map((p) => p.name), ['code_review']);
    const get = await call(srv, 'limited', 'prompts/get', { name: 'code_review', arguments: { code: 'x' } });
    assert.equal(get.error.code, -32602);
    assert.equal(get.error.message, 'Unknown prompt: code_review');
    const ref = { type: 'ref/prompt', name: 'code_review' };
    const comp = await call(srv, 'limited', 'completion/complete', { ref, argument: { name: 'language', value: 'p' } });
    assert.equal(comp.error.message, 'Unknown prompt: code_review');
    const ok = await call(srv, 'full', 'completion/complete', { ref, argument: { name: 'language', value: 'p' } });
    assert.deepEqual(ok.result.completion.values, ['python', 'perl']);
    const tools = (await call(srv, 'limited', 'tools/list', {})).result.tools.map((t) => t.name);
    assert.deepEqual(tools, HELLO ? ['introduce'] : []);
  }));

  it('a legacy session subscribes only to resources its token may see', T, () => withMcpd(withAuth(tree()), async (srv, open) => {
    const { client } = await open();
    const err = await client.subscribeResource({ uri: 'file:///docs/guide.md' }).then(() => null, (e) => e);
    assert.ok(err, 'subscribing to a hidden resource fails');
    assert.equal(err.code, -32002);
    assert.match(err.message, /Resource not found/);
    await client.subscribeResource({ uri: 'file:///docs/sub/notes.txt' });
    assert.deepEqual((await client.listResources()).resources.map((r) => r.uri), ['file:///docs/sub/notes.txt']);
  }, connectAs('limited')));

  it('a requestState minted for one token is refused to another', { ...T, skip: !HELLO && 'MCPD_HELLO not set' }, () => {
    const t = withAuth(tree());
    const cfg = JSON.parse(readFileSync(t.config, 'utf8'));
    cfg.auth.tokens[1].tools = ['introduce']; // both tokens may call it
    writeFileSync(t.config, JSON.stringify(cfg, null, 2));
    return withMcpd(t, async (srv) => {
      const caps = { elicitation: {} };
      const first = await call(srv, 'limited', 'tools/call', { name: 'introduce', arguments: {} }, caps);
      assert.equal(first.result.resultType, 'input_required', JSON.stringify(first));
      assert.equal(first.result.inputRequests.name.method, 'elicitation/create');
      const retry = { name: 'introduce', arguments: {}, requestState: first.result.requestState,
        inputResponses: { name: { action: 'accept', content: { name: 'Ada' } } } };
      const stolen = await call(srv, 'full', 'tools/call', retry, caps);
      assert.equal(stolen.error?.code, -32602, JSON.stringify(stolen));
      assert.equal(stolen.error.message, 'invalid params: invalid requestState: it was issued to another principal');
      const own = await call(srv, 'limited', 'tools/call', retry, caps);
      assert.equal(text(own.result), 'Bonjour, Ada!');
    });
  });
});
