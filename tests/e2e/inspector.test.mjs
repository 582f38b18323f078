// inspector.test.mjs - the official MCP Inspector CLI (npm @modelcontextprotocol/inspector,
// pinned in tests/inspector/package.json) against examples/everything over Streamable HTTP:
// what `make run` promises a person, that the Inspector can list and call, checked for real.
// Each case runs `mcp-inspector --cli URL --transport http --method ...` as a child process and
// reads the JSON it prints on stdout.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { SANITIZER, startServer } from './lib/http_server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, '..', 'inspector', 'node_modules', '.bin', 'mcp-inspector');

function inspector(url, ...args) {
  return new Promise((resolve, reject) => {
    execFile(CLI, ['--cli', url, '--transport', 'http', ...args], { timeout: 30000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`mcp-inspector ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`));
        else {
          try { resolve(JSON.parse(stdout)); } catch (e) { reject(new Error(`not JSON: ${stdout}\n${stderr}`)); }
        }
      });
  });
}

describe('MCP Inspector CLI against everything --listen', { skip: !existsSync(CLI) && 'run scripts/e2e-deps.sh' }, () => {
  it('lists and calls tools, lists and reads resources, lists and gets prompts', { timeout: 120000 }, async () => {
    const srv = await startServer();
    try {
      const tools = await inspector(srv.url, '--method', 'tools/list');
      const names = tools.tools.map((t) => t.name);
      assert.ok(names.includes('echo') && names.includes('test_simple_text'), JSON.stringify(names));
      const echo = await inspector(srv.url, '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hello inspector');
      assert.deepEqual(echo.content, [{ type: 'text', text: 'hello inspector' }]);
      const res = await inspector(srv.url, '--method', 'resources/list');
      assert.ok(res.resources.some((r) => r.uri === 'test://static-text'), JSON.stringify(res));
      const read = await inspector(srv.url, '--method', 'resources/read', '--uri', 'test://static-text');
      assert.match(read.contents[0].text, /static text resource/);
      const prompts = await inspector(srv.url, '--method', 'prompts/list');
      assert.ok(prompts.prompts.length > 0, JSON.stringify(prompts));
      const p = prompts.prompts.find((x) => !x.arguments?.length) ?? prompts.prompts[0];
      const got = await inspector(srv.url, '--method', 'prompts/get', '--prompt-name', p.name);
      assert.ok(Array.isArray(got.messages) && got.messages.length > 0, JSON.stringify(got));
    } finally {
      const { code, stderr } = await srv.stop();
      assert.equal(code, 0, stderr);
      assert.doesNotMatch(stderr, SANITIZER);
    }
  });
});
