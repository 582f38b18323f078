// tap_fetch.mjs - what the SDK end-to-end tests share: an SSE parser, a fetch that records
// every exchange the SDK client makes (so tests can assert the wire: methods, headers, status,
// SSE event ids), and a fetch that opens a new TCP connection per request (so one client's
// requests spread over the server's workers).
import http from 'node:http';
import { Readable } from 'node:stream';

// Parses an SSE body into events { id, retry, data, comments }; data lines are joined by "\n".
export function parseSse(body) {
  const events = [];
  let ev = null;
  for (const line of body.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (ev) events.push(ev);
      ev = null;
      continue;
    }
    ev ??= { id: undefined, retry: undefined, data: undefined, comments: [] };
    if (line.startsWith(':')) { ev.comments.push(line.slice(1)); continue; }
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') ev.data = ev.data === undefined ? value : `${ev.data}\n${value}`;
    else if (field === 'id') ev.id = value;
    else if (field === 'retry') ev.retry = Number(value);
  }
  // An unterminated trailing event is not an event (SSE dispatches on the blank line).
  return events;
}

// The JSON-RPC messages of SSE events that carry data.
export const sseMessages = (events) => events.filter((e) => e.data).map((e) => JSON.parse(e.data));

// A fetch (over baseFetch) that records every exchange in `log`: { method, reqHeaders, body
// (parsed), status, headers, contentType, text (the body so far), events(), messages(), done
// (settles when the body ends, fails or is cancelled), ended (it ended cleanly), error,
// cancelled }. Entries are logged when the response head arrives.
export function tapFetch(log, baseFetch = fetch) {
  return async (url, init = {}) => {
    const res = await baseFetch(url, init);
    let body;
    try { body = typeof init.body === 'string' ? JSON.parse(init.body) : init.body; } catch { body = init.body; }
    const entry = {
      method: init.method ?? 'GET',
      reqHeaders: new Headers(init.headers),
      body,
      status: res.status,
      headers: res.headers,
      contentType: (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase(),
      text: '',
      ended: false,
    };
    let finish;
    entry.done = new Promise((r) => { finish = r; });
    entry.events = () => parseSse(entry.text);
    entry.messages = () => (entry.contentType === 'text/event-stream'
      ? sseMessages(entry.events())
      : entry.text ? [JSON.parse(entry.text)].flat() : []);
    log.push(entry);
    if (!res.body || [101, 204, 205, 304].includes(res.status)) {
      entry.ended = true;
      finish();
      return res;
    }
    if (entry.contentType !== 'text/event-stream') {
      // Read a non-stream body whole (the SDK cancels 202 bodies unread; we still see them).
      entry.text = await res.text();
      entry.ended = true;
      finish();
      return new Response(entry.text, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    // An SSE body is passed through as the SDK reads it. done settles when it ends (ended),
    // fails (error) or is cancelled by the reader (cancelled).
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    const passThrough = new ReadableStream({
      async pull(ctl) {
        let r;
        try {
          r = await reader.read();
        } catch (e) {
          entry.error = e;
          finish();
          ctl.error(e);
          return;
        }
        if (r.done) {
          entry.ended = true;
          finish();
          ctl.close();
          return;
        }
        entry.text += dec.decode(r.value, { stream: true });
        ctl.enqueue(r.value);
      },
      cancel(reason) {
        entry.cancelled = true;
        finish();
        return reader.cancel(reason);
      },
    });
    return new Response(passThrough, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

// A fetch that opens a new TCP connection for every request (node:http, agent: false), so a
// session's requests land on whichever worker the kernel picks, not on one pooled connection.
export function freshConnectionFetch(url, init = {}) {
  return new Promise((resolve, reject) => {
    if (init.signal?.aborted) { reject(new DOMException('aborted', 'AbortError')); return; }
    const u = new URL(url);
    const headers = Object.fromEntries(new Headers(init.headers));
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: init.method ?? 'GET', headers, agent: false }, (res) => {
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : v);
      const nullBody = [204, 205, 304].includes(res.statusCode);
      if (nullBody) res.resume();
      resolve(new Response(nullBody ? null : Readable.toWeb(res), { status: res.statusCode, statusText: res.statusMessage, headers: h }));
    });
    req.on('error', reject);
    init.signal?.addEventListener('abort', () => req.destroy(new DOMException('aborted', 'AbortError')), { once: true });
    if (init.body) req.write(init.body);
    req.end();
  });
}
