// soak.mjs - `make soak`: SOAK_TIME seconds (default 600) of mixed valid, malformed and hostile
// clients against `everything --listen`, sampling the server's RSS and open fds every 5 s.
//
// Valid clients (each call must be answered, correctly): modern echo calls on keep-alive
// connections, legacy sessions (initialize, echo calls, a progress call over SSE, DELETE), and a
// legacy session that answers an elicitation. Hostile clients: malformed requests, non-readers
// (SSE output never read), slow senders (one byte every 500 ms), blank-line slowloris,
// connection floods, calls dropped mid-way and elicitation floods abandoned in their session.
//
// It fails (exit 1) if a valid call was not answered, if RSS or the fd count grew over the run
// (median of the last quarter of samples against the median of the second quarter: at most
// +16 MiB and +25% for RSS, +16 fds), if fds are not back to where they started once the
// clients left, or if the server did not exit 0 on SIGTERM. The figures go to stdout.
//
// Run: node tests/soak/soak.mjs build/release/everything   (SOAK_TIME=60 for a short run)
import { readFileSync } from 'node:fs';

process.env.MCPD_EVERYTHING = process.argv[2] ?? process.env.MCPD_EVERYTHING;
const { startServer } = await import('../e2e/lib/http_server.mjs');
const raw = await import('../e2e/lib/raw_http.mjs');
const { LEGACY, echo, exchange, httpReq, legacyPost, meta, metrics, modernPost, open, openSession, parseResponse, rpc, rssKb, fdCount } = raw;

const SOAK_S = Number(process.env.SOAK_TIME ?? 600);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (a) => a[Math.floor(Math.random() * a.length)];

const srv = await startServer(['--workers', '2', '--header-timeout-ms', '2000', '--write-timeout-ms', '5000',
  '--max-unsent-output', '1048576', '--idle-timeout-ms', '10000', '--session-idle-ms', '60000']);
const deadline = Date.now() + SOAK_S * 1000;
const running = () => Date.now() < deadline;
const stats = { valid: 0, answered: 0, failed: 0, malformed: 0, hostile: 0, escaped: 0, errors: [] };

// A valid call not answered (or answered wrongly).
function fail(what) {
  stats.failed++;
  if (stats.errors.length < 20) stats.errors.push(what);
}

// A hostile client that the server did not cut as docs/limits.md says it does.
function escaped(what) {
  stats.escaped++;
  if (stats.errors.length < 20) stats.errors.push(what);
}

// ---- valid clients -------------------------------------------------------------------------------

// Sends requests one after another on one keep-alive connection; reconnects when it closes.
async function modernEchoLoop() {
  let c = null;
  while (running()) {
    if (!c || c.closed) {
      c = open(srv.port);
      await c.connected;
    }
    const id = stats.valid++;
    c.sock.write(modernPost(srv, { ...echo(id), params: { ...echo(id).params, arguments: { message: `m${id}` } } }));
    let r = null;
    try {
      await c.wait((x) => (r = parseResponse(x.data)) || x.closed, 'echo', 30000);
    } catch (e) { /* r stays null */ }
    if (r) c.data = c.data.subarray(r.length);
    const m = r && r.status === 200 ? JSON.parse(r.text) : null;
    if (m?.id === id && m.result?.content?.[0]?.text === `m${id}`) stats.answered++;
    else fail(`modern echo ${id}: ${r ? `${r.status} ${r.text.slice(0, 200)}` : 'no answer'}`);
    if (!r) { c.sock.destroy(); c = null; }
    await sleep(5);
  }
  c?.sock.destroy();
}

// The final response to id in an SSE or JSON answer, or null.
function resultIn(r, id) {
  if (!r) return null;
  if (r.headers.get('content-type')?.startsWith('application/json')) return JSON.parse(r.text);
  for (const line of r.text.split('\n')) {
    if (!line.startsWith('data: ') || line.length < 7) continue;
    const m = JSON.parse(line.slice(6));
    if (m.id === id && !m.method) return m;
  }
  return null;
}

async function validCall(what, bytes, id, check, timeoutMs = 30000) {
  stats.valid++;
  let r = null;
  try { r = await exchange(srv.port, bytes, timeoutMs); } catch (e) { fail(`${what}: ${e.message.slice(0, 200)}`); return null; }
  const m = resultIn(r, id);
  if (m && check(m)) stats.answered++;
  else fail(`${what}: ${r.status} ${r.text.slice(0, 300)}`);
  return r;
}

async function legacySessionLoop() {
  while (running()) {
    let sid;
    try { sid = await openSession(srv, {}); } catch (e) { stats.valid++; fail(`initialize: ${e.message}`); continue; }
    for (let i = 0; i < 20 && running(); i++) {
      await validCall('legacy echo', legacyPost(srv, rpc(i, 'tools/call', { name: 'echo', arguments: { message: `l${i}` } }), sid),
        i, (m) => m.result?.content?.[0]?.text === `l${i}`);
    }
    await validCall('legacy progress', legacyPost(srv, rpc(99, 'tools/call', {
      name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'p' },
    }), sid), 99, (m) => !!m.result);
    stats.valid++;
    const d = await exchange(srv.port, httpReq('DELETE', srv.path, {
      host: `127.0.0.1:${srv.port}`, headers: { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': LEGACY },
    })).catch((e) => ({ status: 0, text: e.message }));
    if (d.status === 204) stats.answered++; else fail(`DELETE: ${d.status} ${d.text}`);
  }
}

// Calls test_elicitation, answers the question it asks, reads the final result off the stream.
async function elicitationLoop() {
  while (running()) {
    let sid;
    try { sid = await openSession(srv, { elicitation: {} }); } catch (e) { stats.valid++; fail(`initialize: ${e.message}`); continue; }
    for (let i = 0; i < 10 && running(); i++) {
      stats.valid++;
      const c = open(srv.port);
      await c.connected;
      c.sock.write(legacyPost(srv, rpc(i, 'tools/call', { name: 'test_elicitation', arguments: { message: 'who?' } }), sid));
      try {
        let q;
        await c.wait((x) => (q = /data: (\{[^\n]*"elicitation\/create"[^\n]*\})\n/.exec(x.text())), 'the question', 30000);
        const ask = JSON.parse(q[1]);
        const a = await exchange(srv.port, legacyPost(srv, { jsonrpc: '2.0', id: ask.id, result: { action: 'accept', content: { username: 'soak', email: 'soak@example.com' } } }, sid));
        if (a.status !== 202) throw new Error(`answer: ${a.status} ${a.text}`);
        let r = null;
        await c.wait((x) => (r = parseResponse(x.data)), 'the result', 30000);
        const m = resultIn(r, i);
        if (m?.result && !m.result.isError) stats.answered++;
        else fail(`elicitation: ${r.text.slice(0, 300)}`);
      } catch (e) {
        fail(`elicitation: ${e.message.slice(0, 300)}`);
      }
      c.sock.destroy();
    }
    await exchange(srv.port, httpReq('DELETE', srv.path, {
      host: `127.0.0.1:${srv.port}`, headers: { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': LEGACY },
    })).catch(() => {});
  }
}

// ---- malformed and hostile clients ---------------------------------------------------------------

const host = () => `127.0.0.1:${srv.port}`;
const MALFORMED = [
  () => Buffer.from('GARBAGE\r\n\r\n'),
  () => Buffer.from(`GET / HTTP/1.1\r\nHost: ${host()}\r\nX: ${'a'.repeat(20000)}\r\n\r\n`),
  () => Buffer.from(`POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`),
  () => Buffer.from(`POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: -1\r\n\r\n`),
  () => httpReq('POST', '/mcp', { host: host(), headers: { 'Content-Type': 'application/json' }, body: '{"jsonrpc":' }),
  () => httpReq('POST', '/mcp', { host: host(), headers: { 'Content-Type': 'text/plain' }, body: '{}' }),
  () => httpReq('POST', '/mcp', { host: 'evil.com', headers: { 'Content-Type': 'application/json' }, body: '{}' }),
  () => modernPost(srv, echo(1), { 'Mcp-Method': '=?base64?dG9vbHMvY2FsbA==?=' }),
  () => modernPost(srv, rpc(1, 'tools/call', { name: 'nope', _meta: meta() })),
  () => httpReq('GET', '/mcp', { host: host(), headers: { 'Mcp-Session-Id': 'f'.repeat(32) } }),
  () => Buffer.from(`POST /mcp HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 99999999\r\n\r\n`),
];

async function malformedLoop() {
  while (running()) {
    stats.malformed++;
    const c = open(srv.port);
    await c.connected;
    c.sock.write(pick(MALFORMED)());
    await c.wait((x) => parseResponse(x.data) || x.closed, 'an answer or a close', 30000)
      .catch(() => escaped('a malformed request got neither an answer nor a close within 30 s'));
    c.sock.destroy();
  }
}

// Asks for 100k progress notifications (13 MB) and does not read for 15 s: by then the server
// has dropped it (output cap or write timeout), so what it reads next ends without a result.
async function nonReaderLoop() {
  while (running()) {
    stats.hostile++;
    const c = open(srv.port);
    await c.connected;
    c.sock.pause();
    c.sock.write(modernPost(srv, rpc(1, 'tools/call', {
      name: 'test_slow', arguments: { steps: 100000, ms: 0 }, _meta: { ...meta(), progressToken: 'p' },
    }), { Accept: 'text/event-stream' }));
    await sleep(15000);
    c.sock.resume();
    await c.wait((x) => x.closed, 'the close', 30000).catch(() => {});
    if (!c.closed || /"result"/.test(c.text())) escaped('a non-reading client was not disconnected');
    c.sock.destroy();
  }
}

// Twenty connections that send a request one byte every 500 ms (or empty lines): cut by 408.
async function slowLoop(blank) {
  while (running()) {
    stats.hostile += 20;
    const req = modernPost(srv, echo(1));
    const cs = [];
    for (let i = 0; i < 20; i++) cs.push(open(srv.port));
    await Promise.all(cs.map((c) => c.connected));
    const end = Date.now() + 30000;
    for (let k = 0; cs.some((c) => !c.closed) && Date.now() < end; k++) {
      for (const c of cs) if (!c.closed) c.sock.write(blank ? '\r\n' : req.subarray(k % req.length, (k % req.length) + 1));
      await sleep(500);
    }
    if (cs.some((c) => !c.closed)) escaped(`a ${blank ? 'blank-line' : 'slow'} sender was not cut within 30 s`);
    for (const c of cs) c.sock.destroy();
  }
}

async function floodLoop() {
  while (running()) {
    stats.hostile += 300;
    const cs = [];
    for (let i = 0; i < 300; i++) cs.push(open(srv.port));
    await Promise.all(cs.map((c) => c.connected));
    await sleep(500);
    for (const c of cs) c.sock.destroy();
    await sleep(5000);
  }
}

// Calls dropped mid-way (modern: a cancel), and elicitations abandoned in a legacy session.
async function dropLoop() {
  while (running()) {
    stats.hostile += 30;
    for (let i = 0; i < 20; i++) {
      const c = open(srv.port);
      await c.connected;
      c.sock.write(modernPost(srv, rpc(1, 'tools/call', { name: 'test_slow', arguments: { steps: 20, ms: 50 }, _meta: meta() })));
      await sleep(50 + Math.random() * 200);
      c.sock.destroy();
    }
    let sid;
    try { sid = await openSession(srv, { elicitation: {} }); } catch { continue; }
    for (let i = 0; i < 10; i++) {
      const c = open(srv.port);
      await c.connected;
      c.sock.write(legacyPost(srv, rpc(i, 'tools/call', { name: 'test_elicitation', arguments: { message: 'x' } }), sid));
      await c.wait((x) => /elicitation\/create/.test(x.text()) || x.closed, 'the question', 10000).catch(() => {});
      c.sock.destroy();
    }
    if (Math.random() < 0.5) { // the other half expire (60 s) or idle out
      await exchange(srv.port, httpReq('DELETE', srv.path, {
        host: host(), headers: { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': LEGACY },
      })).catch(() => {});
    }
    await sleep(1000);
  }
}

// ---- sampling -------------------------------------------------------------------------------------

const samples = [];
async function sampler() {
  while (running()) {
    let m = {};
    try { m = await metrics(srv); } catch { /* counted below as missing */ }
    samples.push({ t: Math.round((Date.now() - (deadline - SOAK_S * 1000)) / 1000), rss: rssKb(srv.proc.pid),
      fds: fdCount(srv.proc.pid), conns: m.mcpd_connections_open, sessions: m.mcpd_sessions,
      pending: m.mcpd_client_requests_pending });
    await sleep(5000);
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

await sleep(500);
const fd0 = fdCount(srv.proc.pid), rss0 = rssKb(srv.proc.pid);
const loops = [sampler(), malformedLoop(), malformedLoop(), nonReaderLoop(), slowLoop(false), slowLoop(true),
  floodLoop(), dropLoop(), legacySessionLoop(), legacySessionLoop(), elicitationLoop()];
for (let i = 0; i < 4; i++) loops.push(modernEchoLoop());
await Promise.all(loops);
await sleep(3000); // the clients are gone: their connections close
const fdEnd = fdCount(srv.proc.pid), rssEnd = rssKb(srv.proc.pid);
const stop = await srv.stop();

const q = Math.floor(samples.length / 4);
const mid = samples.slice(q, 2 * q), last = samples.slice(3 * q);
const rssMid = median(mid.map((s) => s.rss)), rssLast = median(last.map((s) => s.rss));
const fdMid = median(mid.map((s) => s.fds)), fdLast = median(last.map((s) => s.fds));
const problems = [];
if (stats.failed || stats.escaped) {
  problems.push(`${stats.failed} valid calls not answered, ${stats.escaped} hostile clients not cut: ${stats.errors.join(' | ')}`);
}
if (q && rssLast > rssMid + Math.max(16 * 1024, rssMid / 4)) problems.push(`RSS grew: ${rssMid} -> ${rssLast} KiB`);
if (q && fdLast > fdMid + 16) problems.push(`fds grew: ${fdMid} -> ${fdLast}`);
if (fdEnd > fd0 + 4) problems.push(`fds not back after the clients left: ${fd0} -> ${fdEnd}`);
if (stop.code !== 0 || /Sanitizer|runtime error:/.test(stop.stderr)) problems.push(`server exit ${stop.code}: ${stop.stderr.slice(-2000)}`);

console.log(`soak: ${SOAK_S} s against ${process.env.MCPD_EVERYTHING}`);
console.log(`soak: valid calls ${stats.valid}, answered ${stats.answered}, failed ${stats.failed}; malformed requests ${stats.malformed}; hostile connections ${stats.hostile}, not cut ${stats.escaped}`);
console.log(`soak: RSS KiB start ${rss0}, second-quarter median ${rssMid}, last-quarter median ${rssLast}, max ${Math.max(...samples.map((s) => s.rss))}, after the clients left ${rssEnd}`);
console.log(`soak: fds start ${fd0}, second-quarter median ${fdMid}, last-quarter median ${fdLast}, max ${Math.max(...samples.map((s) => s.fds))}, after the clients left ${fdEnd}`);
console.log('soak: samples (t s, RSS KiB, fds, connections, sessions, pending client requests):');
console.log(samples.map((s) => `${s.t}:${s.rss}/${s.fds}/${s.conns}/${s.sessions}/${s.pending}`).join(' '));
if (problems.length) {
  console.log(`soak: FAILED\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('soak: passed');
process.exit(0);
