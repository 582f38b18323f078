// stdio_raw.test.mjs - the everything server's stdio transport driven with raw bytes (no SDK):
// framing (newline-delimited JSON, oversize lines, empty lines, garbage), the JSON-RPC envelope
// (ids, error codes), the legacy lifecycle, modern-era (2026-07-28) requests with per-request
// _meta, MRTR (input_required + requestState), pipelining, EOF and SIGTERM. Every stdout line
// must be a valid JSON-RPC 2.0 message; stderr must hold no sanitizer report.
//
// Run: MCPD_EVERYTHING=build/r-asan/everything node --test tests/e2e/stdio_raw.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const BIN = process.env.MCPD_EVERYTHING;
const SANITIZER = /AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:/;
const LOG_LEVEL = /\b(debug|info|notice|warn|warning|error|critical|alert|emergency|fatal|trace)\b/i;
const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';

function meta(caps = {}, version = MODERN) {
  return {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientCapabilities': caps,
    'io.modelcontextprotocol/clientInfo': { name: 'stdio-raw', version: '1.0.0' },
  };
}

// Checks one parsed stdout message against JSON-RPC 2.0; returns a problem string or null.
function envelopeProblem(m) {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return 'not an object';
  if (m.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  const hasId = Object.hasOwn(m, 'id');
  if (typeof m.method === 'string') {
    if (Object.hasOwn(m, 'result') || Object.hasOwn(m, 'error')) return 'method with result/error';
    if (hasId && !(typeof m.id === 'string' || Number.isInteger(m.id))) return 'bad request id';
    return null;
  }
  if (!hasId) return 'response without id';
  if (!(m.id === null || typeof m.id === 'string' || typeof m.id === 'number')) return 'bad id type';
  const r = Object.hasOwn(m, 'result'), e = Object.hasOwn(m, 'error');
  if (r === e) return 'response needs exactly one of result/error';
  if (r && (m.result === null || typeof m.result !== 'object')) return 'result is not an object';
  if (e) {
    if (!Number.isInteger(m.error?.code)) return 'error.code not an integer';
    if (typeof m.error.message !== 'string') return 'error.message not a string';
  }
  return null;
}

class Server {
  constructor(args = []) {
    assert.ok(BIN, 'MCPD_EVERYTHING must name the everything binary');
    this.proc = spawn(BIN, ['--stdio', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = [];      // { raw, msg }
    this.problems = [];   // envelope violations
    this.stderr = '';
    this.waiters = [];
    this.nextId = 1000;
    let buf = '';
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const raw = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg;
        try { msg = JSON.parse(raw); } catch { this.problems.push(`invalid JSON: ${raw.slice(0, 200)}`); continue; }
        const p = envelopeProblem(msg);
        if (p) this.problems.push(`${p}: ${raw.slice(0, 200)}`);
        this.lines.push({ raw, msg });
        this.poke();
      }
    });
    this.proc.stdout.on('end', () => { if (buf.length) this.problems.push(`unterminated stdout: ${buf.slice(0, 200)}`); });
    this.proc.stderr.on('data', (d) => { this.stderr += d.toString(); });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    this.proc.stdin.on('error', () => {});
  }

  poke() { for (const w of [...this.waiters]) w(); }

  write(s) { this.proc.stdin.write(s); }
  send(obj) { this.write(JSON.stringify(obj) + '\n'); }

  // Waits until a line satisfying pred appears (searching lines from index `from`).
  waitFor(pred, what = 'a line', timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(pred);
        if (hit) { done(); resolve(hit); return true; }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout waiting for ${what}; stdout so far:\n${this.lines.map((l) => l.raw).join('\n').slice(-3000)}\nstderr:\n${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }

  response(id, timeoutMs) {
    return this.waitFor((l) => !l.msg.method && l.msg.id === id, `response id ${JSON.stringify(id)}`, timeoutMs)
      .then((l) => l.msg);
  }

  // The n-th (0-based) response with id null.
  nullResponse(n = 0, timeoutMs) {
    return this.waitFor((l) => !l.msg.method && l.msg.id === null
      && this.lines.filter((x) => !x.msg.method && x.msg.id === null).indexOf(l) === n,
    `null-id response #${n}`, timeoutMs).then((l) => l.msg);
  }

  async request(method, params, id = this.nextId++) {
    const req = { jsonrpc: '2.0', id, method };
    if (params !== undefined) req.params = params;
    this.send(req);
    return this.response(id);
  }

  async initialize(caps = {}) {
    const r = await this.request('initialize', {
      protocolVersion: LEGACY, capabilities: caps, clientInfo: { name: 'stdio-raw', version: '1.0.0' },
    });
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return r;
  }

  // Fails on envelope problems and sanitizer output; soft-checks stderr lines look like logs.
  checkOutput() {
    assert.deepEqual(this.problems, [], 'every stdout line must be a valid JSON-RPC 2.0 message');
    assert.doesNotMatch(this.stderr, SANITIZER, `sanitizer report on stderr:\n${this.stderr}`);
    const odd = this.stderr.split('\n').filter((l) => l.trim() && !LOG_LEVEL.test(l));
    if (odd.length) console.log(`# soft: stderr lines without a level word:\n#   ${odd.slice(0, 5).join('\n#   ')}`);
  }

  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.stdin.end();
    const ex = await Promise.race([this.exited, new Promise((r) => setTimeout(() => r(null), 5000))]);
    if (!ex) { this.proc.kill('SIGKILL'); await this.exited; }
    this.checkOutput();
    return ex;
  }
}

// Runs fn with a fresh server, always stopping it and checking its output.
async function withServer(args, fn) {
  const s = new Server(args);
  try {
    await fn(s);
  } finally {
    const ex = await s.stop();
    assert.ok(ex, 'server did not exit within 5 s of EOF');
  }
}

const errCode = (m) => m.error?.code;

describe('stdio raw: legacy lifecycle', () => {
  it('initialize, initialized, tools/list, tools/call echo', () => withServer([], async (s) => {
    const init = await s.initialize();
    assert.ok(init.result, JSON.stringify(init));
    assert.equal(init.result.protocolVersion, LEGACY);
    assert.equal(typeof init.result.capabilities, 'object');
    assert.equal(typeof init.result.serverInfo?.name, 'string');
    assert.equal(typeof init.result.serverInfo?.version, 'string');
    const list = await s.request('tools/list', {});
    assert.ok(Array.isArray(list.result?.tools), JSON.stringify(list));
    const names = list.result.tools.map((t) => t.name);
    for (const n of ['echo', 'test_simple_text', 'test_elicitation', 'test_slow']) assert.ok(names.includes(n), n);
    const call = await s.request('tools/call', { name: 'echo', arguments: { message: 'hi there' } });
    assert.ok(call.result, JSON.stringify(call));
    assert.notEqual(call.result.isError, true);
    assert.ok(JSON.stringify(call.result.content).includes('hi there'), JSON.stringify(call.result));
  }));

  it('requests before initialize get -32600 (ping is allowed)', () => withServer([], async (s) => {
    const r = await s.request('tools/list', {});
    assert.equal(errCode(r), -32600, JSON.stringify(r));
    const c = await s.request('tools/call', { name: 'echo', arguments: { message: 'x' } });
    assert.equal(errCode(c), -32600, JSON.stringify(c));
    const p = await s.request('ping');
    assert.ok(p.result, JSON.stringify(p));
    const init = await s.initialize();
    assert.ok(init.result);
    const after = await s.request('tools/list', {});
    assert.ok(after.result, JSON.stringify(after));
  }));
});

describe('stdio raw: envelope errors', () => {
  it('invalid JSON -> -32700 id null, then still serving', () => withServer([], async (s) => {
    await s.initialize();
    s.write('{"jsonrpc":"2.0","id":1,"method":\n');
    const e = await s.nullResponse(0);
    assert.equal(errCode(e), -32700, JSON.stringify(e));
    const ok = await s.request('ping');
    assert.ok(ok.result);
  }));

  it('wrong jsonrpc, missing method, unknown method, bad params, unknown tool', () => withServer([], async (s) => {
    await s.initialize();
    s.write('{"jsonrpc":"1.0","id":11,"method":"ping"}\n');
    const a = await s.response(11);
    assert.equal(errCode(a), -32600, JSON.stringify(a));
    s.write('{"jsonrpc":"2.0","id":12}\n');
    const b = await s.response(12);
    assert.equal(errCode(b), -32600, JSON.stringify(b));
    const c = await s.request('no/such/method', {}, 13);
    assert.equal(errCode(c), -32601, JSON.stringify(c));
    const d = await s.request('tools/call', { name: 42, arguments: {} }, 14);
    assert.equal(errCode(d), -32602, JSON.stringify(d));
    const e = await s.request('tools/call', { name: 'no_such_tool', arguments: {} }, 15);
    assert.equal(errCode(e), -32602, JSON.stringify(e));
  }));

  it('ids: null, float, object -> -32600; int64 max echoed exactly; string id', () => withServer([], async (s) => {
    await s.initialize();
    s.write('{"jsonrpc":"2.0","id":null,"method":"ping"}\n');
    const n = await s.nullResponse(0);
    assert.equal(errCode(n), -32600, JSON.stringify(n));
    s.write('{"jsonrpc":"2.0","id":1.5,"method":"ping"}\n');
    const f = await s.nullResponse(1);
    assert.equal(errCode(f), -32600, JSON.stringify(f));
    s.write('{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}\n');
    const o = await s.nullResponse(2);
    assert.equal(errCode(o), -32600, JSON.stringify(o));
    s.write('{"jsonrpc":"2.0","id":9223372036854775807,"method":"ping"}\n');
    const big = await s.waitFor((l) => /"id":\s*9223372036854775807\b/.test(l.raw) && !l.msg.method, 'int64 id');
    assert.ok(big.msg.result, big.raw);
    s.write('{"jsonrpc":"2.0","id":-9223372036854775808,"method":"ping"}\n');
    const small = await s.waitFor((l) => /"id":\s*-9223372036854775808\b/.test(l.raw), 'int64 min id');
    assert.ok(small.msg.result, small.raw);
    const str = await s.request('ping', undefined, 'abc-\u00e9-"quoted"');
    assert.ok(str.result);
  }));

  it('ids: boolean and integers beyond int64 -> -32600; legacy batch -> -32600', () => withServer([], async (s) => {
    await s.initialize();
    s.write('{"jsonrpc":"2.0","id":true,"method":"ping"}\n');
    const b = await s.nullResponse(0);
    assert.equal(errCode(b), -32600, JSON.stringify(b));
    s.write('{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}\n');
    const o = await s.nullResponse(1);
    assert.equal(errCode(o), -32600, JSON.stringify(o));
    s.write('[{"jsonrpc":"2.0","id":51,"method":"ping"}]\n');
    // 2025-11-25 was negotiated: batches are refused with one id-null error (no array back).
    const batch = await s.nullResponse(2);
    assert.equal(errCode(batch), -32600, JSON.stringify(batch));
    assert.equal(s.lines.filter((l) => Array.isArray(l.msg) || l.msg.id === 51).length, 0, 'batch must not be served');
    const ok = await s.request('ping');
    assert.ok(ok.result);
  }));

  it('framing: a line split across writes, CRLF line ending', () => withServer([], async (s) => {
    await s.initialize();
    const line = '{"jsonrpc":"2.0","id":61,"method":"tools/call","params":{"name":"echo","arguments":{"message":"split"}}}';
    s.write(line.slice(0, 20));
    await new Promise((r) => setTimeout(r, 100));
    s.write(line.slice(20) + '\n');
    const a = await s.response(61);
    assert.ok(JSON.stringify(a.result?.content).includes('split'), JSON.stringify(a));
    s.write('{"jsonrpc":"2.0","id":62,"method":"ping"}\r\n');
    const b = await s.response(62);
    assert.ok(b.result, JSON.stringify(b));
  }));

  it('oversize line -> one id-null error naming the limit, next line answered', () => withServer(['--max-line', '1024'], async (s) => {
    await s.initialize();
    const pad = 'x'.repeat(5000);
    s.write(`{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":"echo","arguments":{"message":"${pad}"}}}\n`);
    s.write('{"jsonrpc":"2.0","id":22,"method":"ping"}\n');
    const ok = await s.response(22);
    assert.ok(ok.result, JSON.stringify(ok));
    const errs = s.lines.filter((l) => !l.msg.method && l.msg.id === null);
    assert.equal(errs.length, 1, `expected exactly one id-null error, got ${errs.map((l) => l.raw).join('\n')}`);
    assert.ok(errs[0].msg.error, errs[0].raw);
    assert.match(errs[0].msg.error.message, /1024|limit|too long|too large|exceed/i, errs[0].raw);
    assert.equal(s.lines.filter((l) => l.msg.id === 21).length, 0, 'the oversize request must not be answered');
  }));

  it('empty lines are ignored', () => withServer([], async (s) => {
    await s.initialize();
    s.write('\n\n\r\n\n');
    const ok = await s.request('ping', undefined, 31);
    assert.ok(ok.result);
    assert.equal(s.lines.filter((l) => l.msg.id === null).length, 0, 'empty lines must not be answered');
  }));

  it('binary garbage -> -32700, server keeps serving', () => withServer([], async (s) => {
    await s.initialize();
    let junk = randomBytes(4096);
    junk = Buffer.from(junk.filter((b) => b !== 0x0a));
    s.write(Buffer.concat([junk, Buffer.from('\n')]));
    const e = await s.nullResponse(0);
    assert.equal(errCode(e), -32700, JSON.stringify(e));
    const ok = await s.request('ping');
    assert.ok(ok.result);
  }));

  it('10000 nested arrays as params -> error, server keeps serving', () => withServer([], async (s) => {
    await s.initialize();
    const deep = '['.repeat(10000) + ']'.repeat(10000);
    s.write(`{"jsonrpc":"2.0","id":41,"method":"tools/list","params":${deep}}\n`);
    const e = await s.waitFor((l) => !l.msg.method && (l.msg.id === 41 || l.msg.id === null), 'nesting error');
    assert.ok([-32700, -32600, -32602].includes(errCode(e.msg)), e.raw);
    if (errCode(e.msg) === -32700) assert.match(e.msg.error.message, /nest|depth|deep/i, e.raw);
    const ok = await s.request('ping');
    assert.ok(ok.result);
  }));
});

describe('stdio raw: modern era (2026-07-28)', () => {
  it('server/discover, tools/list, tools/call echo without initialize', () => withServer([], async (s) => {
    const d = await s.request('server/discover', { _meta: meta() });
    const r = d.result;
    assert.ok(r, JSON.stringify(d));
    assert.equal(r.resultType, 'complete');
    assert.ok(Array.isArray(r.supportedVersions) && r.supportedVersions.includes(MODERN), JSON.stringify(r));
    assert.ok(r.supportedVersions.includes(LEGACY), JSON.stringify(r.supportedVersions));
    assert.equal(typeof r.capabilities, 'object');
    assert.equal(typeof r._meta?.['io.modelcontextprotocol/serverInfo']?.name, 'string', JSON.stringify(r));
    assert.ok(Number.isInteger(r.ttlMs) && r.ttlMs >= 0, JSON.stringify(r));
    assert.ok(['public', 'private'].includes(r.cacheScope), JSON.stringify(r));

    const l = await s.request('tools/list', { _meta: meta() });
    assert.equal(l.result?.resultType, 'complete', JSON.stringify(l).slice(0, 500));
    assert.ok(Number.isInteger(l.result.ttlMs) && l.result.ttlMs >= 0);
    assert.ok(['public', 'private'].includes(l.result.cacheScope));
    assert.ok(l.result.tools.some((t) => t.name === 'echo'));

    const c = await s.request('tools/call', { name: 'echo', arguments: { message: 'modern hi' }, _meta: meta() });
    assert.equal(c.result?.resultType, 'complete', JSON.stringify(c));
    assert.ok(JSON.stringify(c.result.content).includes('modern hi'));
  }));

  it('legacy-only method in the modern era -> -32601; legacy conn still serves modern requests', () => withServer([], async (s) => {
    const p = await s.request('ping', { _meta: meta() });
    assert.equal(errCode(p), -32601, JSON.stringify(p));
    await s.initialize();
    const l = await s.request('tools/list', { _meta: meta() });
    assert.equal(l.result?.resultType, 'complete', JSON.stringify(l).slice(0, 300));
    const legacy = await s.request('tools/list', {});
    assert.ok(legacy.result && !('resultType' in legacy.result), JSON.stringify(legacy).slice(0, 300));
  }));

  it('unsupported version -> -32022 with supported/requested', () => withServer([], async (s) => {
    const r = await s.request('tools/list', { _meta: meta({}, '1999-01-01') });
    assert.equal(errCode(r), -32022, JSON.stringify(r));
    assert.ok(Array.isArray(r.error.data?.supported) && r.error.data.supported.includes(MODERN), JSON.stringify(r));
    assert.equal(r.error.data.requested, '1999-01-01');
  }));

  it('missing clientCapabilities -> -32602', () => withServer([], async (s) => {
    const m = meta();
    delete m['io.modelcontextprotocol/clientCapabilities'];
    const r = await s.request('tools/list', { _meta: m });
    assert.equal(errCode(r), -32602, JSON.stringify(r));
  }));

  it('MRTR: test_elicitation -> input_required, retry -> complete, tampered state -> -32602', () => withServer([], async (s) => {
    const caps = { elicitation: {} };
    const args = { message: 'who are you?' };
    const first = await s.request('tools/call', { name: 'test_elicitation', arguments: args, _meta: meta(caps) });
    const r = first.result;
    assert.ok(r, JSON.stringify(first));
    assert.equal(r.resultType, 'input_required', JSON.stringify(r));
    assert.equal(typeof r.inputRequests, 'object');
    const keys = Object.keys(r.inputRequests);
    assert.equal(keys.length, 1, JSON.stringify(r.inputRequests));
    assert.equal(r.inputRequests[keys[0]].method, 'elicitation/create');
    assert.equal(typeof r.requestState, 'string');
    const content = { username: 'testuser', email: 'test@example.com' };
    const inputResponses = { [keys[0]]: { action: 'accept', content } };

    const retry = await s.request('tools/call', {
      name: 'test_elicitation', arguments: args, inputResponses, requestState: r.requestState, _meta: meta(caps),
    });
    assert.equal(retry.result?.resultType, 'complete', JSON.stringify(retry));
    assert.notEqual(retry.result.isError, true, JSON.stringify(retry));
    assert.ok(JSON.stringify(retry.result.content).includes('testuser'), JSON.stringify(retry));

    const st = r.requestState;
    const i = Math.floor(st.length / 2);
    const tampered = st.slice(0, i) + (st[i] === 'A' ? 'B' : 'A') + st.slice(i + 1);
    const bad = await s.request('tools/call', {
      name: 'test_elicitation', arguments: args, inputResponses, requestState: tampered, _meta: meta(caps),
    });
    assert.equal(errCode(bad), -32602, JSON.stringify(bad));
  }));

  it('test_elicitation without the elicitation capability -> -32021 or isError', () => withServer([], async (s) => {
    const r = await s.request('tools/call', { name: 'test_elicitation', arguments: { message: 'x' }, _meta: meta({}) });
    if (r.error) {
      assert.equal(r.error.code, -32021, JSON.stringify(r));
      assert.ok(r.error.data?.requiredCapabilities?.elicitation, JSON.stringify(r));
    } else {
      assert.equal(r.result.isError, true, JSON.stringify(r));
      assert.notEqual(r.result.resultType, 'input_required');
    }
  }));
});

describe('stdio raw: concurrency and shutdown', () => {
  it('50 pipelined echo requests in one write -> 50 matched responses', () => withServer([], async (s) => {
    await s.initialize();
    let batch = '';
    for (let i = 0; i < 50; i++) {
      batch += JSON.stringify({ jsonrpc: '2.0', id: `p${i}`, method: 'tools/call', params: { name: 'echo', arguments: { message: `m${i}` } } }) + '\n';
    }
    s.write(batch);
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => s.response(`p${i}`, 10000)));
    rs.forEach((r, i) => {
      assert.ok(r.result, JSON.stringify(r));
      assert.ok(JSON.stringify(r.result.content).includes(`"m${i}"`), JSON.stringify(r.result));
    });
    const ids = s.lines.filter((l) => typeof l.msg.id === 'string' && l.msg.id.startsWith('p')).map((l) => l.msg.id);
    assert.equal(ids.length, 50, 'no duplicate responses');
  }));

  it('EOF after a test_slow call: response arrives, exit 0', async () => {
    const s = new Server();
    await s.initialize();
    s.send({ jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'test_slow', arguments: { steps: 3, ms: 50 } } });
    s.proc.stdin.end();
    const r = await s.response('slow', 5000);
    assert.ok(r.result, JSON.stringify(r));
    assert.notEqual(r.result.isError, true, JSON.stringify(r));
    const ex = await s.stop();
    assert.deepEqual(ex, { code: 0, signal: null });
  });

  it('SIGTERM during a test_slow call: its response arrives, exit 0', async () => {
    const s = new Server();
    await s.initialize();
    s.send({ jsonrpc: '2.0', id: 'slow2', method: 'tools/call', params: { name: 'test_slow', arguments: { steps: 4, ms: 100 } } });
    await new Promise((r) => setTimeout(r, 150));
    s.proc.kill('SIGTERM');
    const r = await s.response('slow2', 5000);
    assert.ok(r.result, JSON.stringify(r));
    const ex = await s.stop();
    assert.deepEqual(ex, { code: 0, signal: null });
  });

  it('notifications/cancelled stops a test_slow call: no response for it, others served', () => withServer([], async (s) => {
    await s.initialize();
    s.send({ jsonrpc: '2.0', id: 'slow3', method: 'tools/call', params: { name: 'test_slow', arguments: { steps: 20, ms: 50 } } });
    await new Promise((r) => setTimeout(r, 120));
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow3', reason: 'test' } });
    const p = await s.request('ping');
    assert.ok(p.result);
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(s.lines.filter((l) => l.msg.id === 'slow3').length, 0, 'a cancelled request must not be answered');
  }));

  it('SIGTERM with nothing in flight -> exit 0', async () => {
    const s = new Server();
    await s.initialize();
    const p = await s.request('ping');
    assert.ok(p.result);
    s.proc.kill('SIGTERM');
    const ex = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r(null), 5000))]);
    if (!ex) s.proc.kill('SIGKILL');
    assert.deepEqual(ex, { code: 0, signal: null });
    await s.stop();
  });
});
