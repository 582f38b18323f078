// http_addrinuse.test.mjs - a second server on an address already served. The workers listen
// with SO_REUSEPORT, which would let a second process bind the same address silently (the
// kernel would then split connections between the two, and clients would see "Session not
// found" at random). libmcp probes the address first: the second everything exits 2 with
// "address 127.0.0.1:PORT is already in use", and the first goes on serving.
//
// Run: MCPD_EVERYTHING=build/asan/everything node --test tests/e2e/http_addrinuse.test.mjs
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN, SANITIZER, withServerChecked } from './lib/http_server.mjs';

// Runs the binary to its end; resolves to { code, stderr }.
function run(args, timeoutMs = 30000, bin = BIN) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`still running: ${stderr}`)); },
      timeoutMs);
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

it('a second server on a served address exits 2 and says why', { timeout: 60000 }, async () => {
  await withServerChecked(async (srv) => {
    const second = await run(['--listen', `127.0.0.1:${srv.port}`]);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`error: http: address 127\\.0\\.0\\.1:${srv.port} is already in use`));
    assert.doesNotMatch(second.stderr, /listening on/);
    assert.doesNotMatch(second.stderr, SANITIZER);
    // the first one still answers
    const res = await fetch(`${srv.url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {
        _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {} } } }),
    });
    assert.equal(res.status, 200);
  });
});

it('mcpd on a served address exits 2 and says why', { timeout: 60000, skip: !process.env.MCPD_BIN },
  async () => {
    await withServerChecked(async (srv) => {
      const second = await run(['--listen', `127.0.0.1:${srv.port}`], 30000, process.env.MCPD_BIN);
      assert.equal(second.code, 2, second.stderr);
      assert.match(second.stderr, new RegExp(`address 127\\.0\\.0\\.1:${srv.port} is already in use`));
      assert.doesNotMatch(second.stderr, /listening on/);
      assert.doesNotMatch(second.stderr, SANITIZER);
    });
  });
