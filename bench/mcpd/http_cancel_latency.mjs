// http_cancel_latency.mjs - how fast a cancelled http call lets go of its upstream request:
// abort a running call 20 times (legacy client over Streamable HTTP, notifications/cancelled)
// and time from the abort until the upstream sees its connection close. The request runs on the
// HTTP worker's loop, where a cancellation is pushed (the transfer thread's path polls every
// 100 ms). Run:
//   MCPD_BIN=build/release/mcpd node bench/mcpd/http_cancel_latency.mjs
import http from 'node:http';
import { connectClient, startMcpd, sleep } from '../../tests/e2e/lib/mcpd.mjs';

let seen = 0;
let closedAt = null;
const up = http.createServer((req, res) => {
  seen++;
  res.on('close', () => { closedAt = process.hrtime.bigint(); });
});
await new Promise((r) => up.listen(0, '127.0.0.1', r));
const srv = await startMcpd({ tools: [{ kind: 'http', name: 'hang', url: `http://127.0.0.1:${up.address().port}/hang`,
  timeout_ms: 600000, retries: 0 }] });
const c = await connectClient(srv.url, 'legacy');
const ms = [];
for (let i = 0; i < 20; i++) {
  const before = seen;
  closedAt = null;
  const ac = new AbortController();
  const call = c.callTool({ name: 'hang', arguments: {} }, undefined, { signal: ac.signal }).catch(() => {});
  while (seen === before) await sleep(2);
  await sleep(20);
  const t0 = process.hrtime.bigint();
  ac.abort();
  while (closedAt === null) await sleep(1);
  ms.push(Number(closedAt - t0) / 1e6);
  await call;
}
ms.sort((a, b) => a - b);
console.log(`cancel -> upstream connection closed: median ${ms[10].toFixed(1)} ms, max ${ms[19].toFixed(1)} ms (20 runs)`);
await c.close();
await srv.stop();
up.closeAllConnections();
up.close();
