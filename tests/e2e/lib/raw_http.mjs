// raw_http.mjs - a small raw HTTP/1.1 client over node:net for tests that must control every
// byte and every read: build request bytes, open a connection that collects what it reads, split
// one complete response (Content-Length or chunked) off the bytes, or do one exchange.
import net from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Builds request bytes; headers is an object written in order after Host.
export function httpReq(method, path, { host, headers = {}, body } = {}) {
  let h = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h += `${k}: ${v}\r\n`;
  const b = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  if (b) h += `Content-Length: ${b.length}\r\n`;
  return Buffer.concat([Buffer.from(`${h}\r\n`, 'latin1'), b ?? Buffer.alloc(0)]);
}

// A connection that collects what it reads; wait(pred, what, ms) polls pred(conn) until true.
export function open(port) {
  const sock = net.connect({ port, host: '127.0.0.1' });
  const c = { sock, data: Buffer.alloc(0), closed: false, error: null };
  c.connected = new Promise((resolve) => { sock.on('connect', resolve); sock.on('error', resolve); sock.on('close', resolve); });
  sock.on('data', (d) => { c.data = Buffer.concat([c.data, d]); });
  sock.on('error', (e) => { c.error = e; });
  sock.on('close', () => { c.closed = true; });
  c.text = () => c.data.toString('latin1');
  c.wait = async (pred, what, timeoutMs = 15000) => {
    const end = Date.now() + timeoutMs;
    while (!pred(c)) {
      if (Date.now() > end) throw new Error(`timeout (${timeoutMs} ms) waiting for ${what}; got:\n${c.text().slice(0, 1500)}`);
      await sleep(20);
    }
  };
  return c;
}

// Parses the complete response at the start of buf (Content-Length or chunked; no trailers);
// null if it is not complete yet. length: the bytes it takes, for keep-alive connections.
export function parseResponse(buf) {
  const he = buf.indexOf('\r\n\r\n');
  if (he < 0) return null;
  const head = buf.subarray(0, he).toString('latin1');
  const status = Number(head.slice(9, 12));
  const headers = new Map();
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  let at = he + 4;
  let body;
  if (headers.get('transfer-encoding') === 'chunked') {
    const parts = [];
    for (;;) {
      const le = buf.indexOf('\r\n', at);
      if (le < 0) return null;
      const n = parseInt(buf.subarray(at, le).toString('latin1'), 16);
      if (buf.length < le + 2 + n + 2) return null;
      if (n) parts.push(buf.subarray(le + 2, le + 2 + n));
      at = le + 2 + n + 2;
      if (n === 0) break;
    }
    body = Buffer.concat(parts);
  } else {
    const n = Number(headers.get('content-length') ?? 0);
    if (buf.length < at + n) return null;
    body = buf.subarray(at, at + n);
    at += n;
  }
  return { status, headers, body, text: body.toString('utf8'), length: at };
}

// Sends bytes on a fresh connection and resolves to its one response (then closes it).
export async function exchange(port, bytes, timeoutMs = 15000) {
  const c = open(port);
  await c.connected;
  c.sock.write(bytes);
  let r = null;
  await c.wait((x) => (r = parseResponse(x.data)) || x.closed, 'a response', timeoutMs);
  c.sock.destroy();
  if (!r) throw new Error(`connection closed without a response; got:\n${c.text()}`);
  return r;
}

export const MODERN = '2026-07-28';
export const LEGACY = '2025-11-25';
export const BOTH = 'application/json, text/event-stream';

// ---- MCP over raw bytes (srv: { port, path }) --------------------------------------------------

export const meta = () => ({
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'http-limits', version: '1.0.0' },
});
export const rpc = (id, method, params) => ({ jsonrpc: '2.0', id, method, params });

export function modernPost(srv, body, headers = {}) {
  return httpReq('POST', srv.path, {
    host: `127.0.0.1:${srv.port}`,
    headers: {
      'Content-Type': 'application/json', Accept: BOTH, 'MCP-Protocol-Version': MODERN,
      'Mcp-Method': body.method, 'Mcp-Name': body.params?.name, ...headers,
    },
    body,
  });
}

export function legacyPost(srv, body, sid, headers = {}) {
  return httpReq('POST', srv.path, {
    host: `127.0.0.1:${srv.port}`,
    headers: {
      'Content-Type': 'application/json', Accept: BOTH, 'Mcp-Session-Id': sid,
      'MCP-Protocol-Version': sid ? LEGACY : undefined, ...headers,
    },
    body,
  });
}

export const echo = (id) => rpc(id, 'tools/call', { name: 'echo', arguments: { message: 'hi' }, _meta: meta() });

export async function echoWorks(srv, timeoutMs = 5000) {
  const r = await exchange(srv.port, modernPost(srv, echo(1)), timeoutMs);
  return r.status === 200 && JSON.parse(r.text).result?.content?.[0]?.text === 'hi';
}

// Polls until a valid call is answered (the server serves again), for up to timeoutMs.
export async function waitServing(srv, timeoutMs) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try { if (await echoWorks(srv)) return; } catch (e) { last = e; }
    await sleep(200);
  }
  throw new Error(`the server did not serve again within ${timeoutMs} ms: ${last?.message ?? ''}`);
}

export async function openSession(srv, caps) {
  const r = await exchange(srv.port, legacyPost(srv, rpc(0, 'initialize', {
    protocolVersion: LEGACY, capabilities: caps, clientInfo: { name: 'http-limits', version: '1' },
  })));
  const sid = r.headers.get('mcp-session-id');
  if (r.status !== 200 || !sid) throw new Error(`initialize: ${r.status} ${r.text}`);
  const n = await exchange(srv.port, legacyPost(srv, { jsonrpc: '2.0', method: 'notifications/initialized' }, sid));
  if (n.status !== 202) throw new Error(`notifications/initialized: ${n.status} ${n.text}`);
  return sid;
}

export const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
export const fdCount = (pid) => readdirSync(`/proc/${pid}/fd`).length;

// Reads /metrics into { name: value } (sums over labels).
export async function metrics(srv) {
  const r = await exchange(srv.port, httpReq('GET', '/metrics', { host: `127.0.0.1:${srv.port}` }));
  if (r.status !== 200) throw new Error(`/metrics: ${r.status} ${r.text}`);
  const out = {};
  for (const line of r.text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(m[3]);
  }
  return out;
}
