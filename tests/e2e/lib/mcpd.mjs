// mcpd.mjs - starts mcpd (the binary in $MCPD_BIN) for end-to-end tests, and connects the
// official TypeScript SDK clients to it: the v1 client (legacy era: initialize, sessions) and
// the v2 client (modern era, 2026-07-28, stateless).
//
// startMcpd(config, { args, env, stdio }) writes config (an object, or text for files with
// comments) to a temporary file and runs `mcpd --config FILE --listen 127.0.0.1:0 ...args`; it
// resolves once mcpd logs its URL. The handle can rewrite the file (writeConfig) and reload it
// with SIGHUP (reload: resolves to 'ok' or 'failed' from mcpd's log line). stop() sends SIGTERM
// and resolves to { code, signal, stderr }; callers assert code 0 and no sanitizer report.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';

export const MCPD = process.env.MCPD_BIN;
export const SANITIZER = /AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:/;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls pred() every 20 ms until it is truthy (liveness bound, not a speed check).
export async function waitFor(pred, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

const live = new Set();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

// A temporary directory for a test's files; removed by cleanup().
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpd-e2e-'));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Runs mcpd with args and resolves to { code, stdout, stderr } when it exits.
export function runMcpd(args, { env, input } = {}) {
  assert.ok(MCPD, 'MCPD_BIN must name the mcpd binary');
  return new Promise((resolve) => {
    const p = spawn(MCPD, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    if (input !== undefined) p.stdin.end(input); else p.stdin.end();
    p.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

// config null: no --config (the default config), run in cwd.
export async function startMcpd(config, { args = [], env, listen = '127.0.0.1:0', timeoutMs = 20000, cwd } = {}) {
  assert.ok(MCPD, 'MCPD_BIN must name the mcpd binary');
  const tmp = tempDir();
  const file = tmp.path('mcpd.jsonc');
  const write = (c) => writeFileSync(file, typeof c === 'string' ? c : JSON.stringify(c, null, 2));
  if (config !== null) write(config);
  const proc = spawn(MCPD, [...(config !== null ? ['--config', file] : []), ...(listen ? ['--listen', listen] : []), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
  live.add(proc);
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => { live.delete(proc); resolve({ code, signal }); }));
  const url = await new Promise((resolve, reject) => {
    // killed, not left running: its pipes would keep the test process alive until CTest's timeout
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`mcpd did not start within ${timeoutMs} ms: ${stderr}`)); }, timeoutMs);
    const look = () => {
      const m = /http: listening on (http:\/\/\S+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    proc.stderr.on('data', look);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`mcpd exited ${code}: ${stderr}`)); });
  });
  return {
    proc,
    url,
    file,
    tmp,
    get stderr() { return stderr; },
    writeConfig: write,
    // Sends SIGHUP and resolves to 'ok' or 'failed' once mcpd logs the outcome.
    async reload() {
      const seen = (stderr.match(/reloaded |reload failed/g) ?? []).length;
      proc.kill('SIGHUP');
      await waitFor(() => (stderr.match(/reloaded |reload failed/g) ?? []).length > seen, 'the reload log line');
      const all = stderr.match(/reloaded |reload failed/g);
      return all[all.length - 1].startsWith('reloaded') ? 'ok' : 'failed';
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const r = await exited;
      tmp.cleanup();
      return { ...r, stderr };
    },
  };
}

// Stops srv and checks a clean exit: code 0, no sanitizer report.
export async function stopChecked(srv) {
  const r = await srv.stop();
  assert.doesNotMatch(r.stderr, SANITIZER, `sanitizer report:\n${r.stderr}`);
  assert.equal(r.code, 0, `mcpd exit ${r.code} ${r.signal}:\n${r.stderr.slice(-3000)}`);
}

// Connects a client of the given era: 'legacy' (SDK v1, initialize + session) or 'modern' (SDK
// v2, 2026-07-28). headers are sent with every request (e.g. Authorization).
export async function connectClient(url, era, { headers, name = 'mcpd-e2e', onListChanged } = {}) {
  const requestInit = headers ? { headers } : undefined;
  if (era === 'legacy') {
    const client = new ClientV1({ name, version: '1.0.0' }, { capabilities: {} });
    if (onListChanged) {
      const { ToolListChangedNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
      client.setNotificationHandler(ToolListChangedNotificationSchema, onListChanged);
    }
    await client.connect(new TransportV1(new URL(url), { requestInit }));
    return client;
  }
  const client = new ClientV2({ name, version: '1.0.0' }, {
    capabilities: {},
    versionNegotiation: { mode: 'auto' },
    ...(onListChanged && { listChanged: { tools: { onChanged: onListChanged } } }),
  });
  await client.connect(new TransportV2(new URL(url), { requestInit }));
  return client;
}

// The text of a tool result's text blocks.
export const textOf = (res) => res.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
