// http_server.mjs - starts the everything binary on Streamable HTTP for end-to-end tests.
//
// startServer(args) spawns $MCPD_EVERYTHING --listen 127.0.0.1:0 ...args (through a wrapper
// command when given `via`, e.g. ['prlimit', '--nofile=256:256', '--']), waits for the log line
// "http: listening on http://HOST:PORT/PATH" on stderr and resolves to a handle with the URL.
// stop() sends SIGTERM and resolves to { code, signal, stderr }; callers assert a clean exit
// (code 0) and no sanitizer report in stderr.
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';

export const BIN = process.env.MCPD_EVERYTHING;
export const SANITIZER = /AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:/;

export async function startServer(args = [], { listen = '127.0.0.1:0', timeoutMs = 15000, env, via = [] } = {}) {
  assert.ok(BIN, 'MCPD_EVERYTHING must name the everything binary');
  const cmd = [...via, BIN, '--listen', listen, ...args];
  const proc = spawn(cmd[0], cmd.slice(1),
    { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
  let stderr = '';
  let stdout = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.setEncoding('utf8');
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const url = await new Promise((resolve, reject) => {
    // killed, not left running: its pipes would keep the test process alive until CTest's timeout
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`server did not start within ${timeoutMs} ms: ${stderr}`)); }, timeoutMs);
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /http: listening on (http:\/\/\S+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  const u = new URL(url);
  return {
    proc,
    url,
    host: u.hostname,
    port: Number(u.port),
    path: u.pathname,
    get stderr() { return stderr; },
    get stdout() { return stdout; },
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const r = await exited;
      return { ...r, stderr, stdout };
    },
  };
}

// Servers not stopped yet: killed if the test process exits early.
const live = new Set();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

// Runs fn(srv, open) against a fresh server started with args; open(opts) calls
// connect(srv, opts) (when given) and closes what it returned before the server stops. Then
// SIGTERM: the server must exit 0 within stopMs with no sanitizer report; a failure of fn gets
// the server's stderr (whole if it holds a report, else its tail) appended. start: options for
// startServer (env, via). Returns how long the stop took (ms).
export async function withServerChecked(fn, args = [], { connect, stopMs = 12000, start } = {}) {
  const srv = await startServer(args, start);
  live.add(srv.proc);
  srv.exited.then(() => live.delete(srv.proc));
  const clients = [];
  const open = async (opts) => {
    const c = await connect(srv, opts);
    clients.push(c);
    return c;
  };
  let failure;
  try {
    await fn(srv, open);
  } catch (e) {
    failure = e;
  }
  for (const c of clients) await c.close().catch(() => {});
  const t0 = Date.now();
  let hung = false;
  const timer = setTimeout(() => { hung = true; srv.proc.kill('SIGKILL'); }, stopMs);
  const r = await srv.stop();
  clearTimeout(timer);
  const took = Date.now() - t0;
  const err = SANITIZER.test(r.stderr) ? r.stderr : r.stderr.split('\n').slice(-30).join('\n');
  if (failure) {
    if (failure instanceof Error) failure.message += `\n--- server stderr ---\n${err}`;
    throw failure;
  }
  assert.doesNotMatch(r.stderr, SANITIZER, `sanitizer report in server stderr:\n${r.stderr}`);
  assert.ok(!hung, `server did not exit within ${stopMs} ms of SIGTERM; stderr:\n${err}`);
  assert.equal(r.code, 0, `server exit code ${r.code} signal ${r.signal}; stderr:\n${err}`);
  return took;
}
