// cancel_latency.mjs - how fast a cancelled exec call's process goes: abort a running call 20
// times (legacy client, notifications/cancelled) and time from the abort until the process is
// gone (killed and reaped). Run: MCPD_BIN=build/release/mcpd node bench/mcpd/cancel_latency.mjs
import { readFileSync, existsSync } from 'node:fs';
import { connectClient, startMcpd, tempDir, sleep } from '../../tests/e2e/lib/mcpd.mjs';
const tmp = tempDir();
const srv = await startMcpd({ tools: [{ kind: 'exec', name: 'hang', command: ['sh', '-c', 'echo $$ > "$1"; exec sleep 300', 'sh', `${tmp.dir}/{id}.pid`],
  arguments: { id: { type: 'string', pattern: '^[a-z0-9]+$' } }, timeout_ms: 600000 }] });
const c = await connectClient(srv.url, 'legacy');
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const ms = [];
for (let i = 0; i < 20; i++) {
  const ac = new AbortController();
  const call = c.callTool({ name: 'hang', arguments: { id: `r${i}` } }, undefined, { signal: ac.signal }).catch(() => {});
  const f = `${tmp.dir}/r${i}.pid`;
  while (!existsSync(f) || !readFileSync(f, 'utf8').trim()) await sleep(2);
  const pid = Number(readFileSync(f, 'utf8'));
  await sleep(20);
  const t0 = process.hrtime.bigint();
  ac.abort();
  while (alive(pid)) await sleep(1); // not a busy loop: it would starve mcpd of the CPU
  ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  await call;
}
ms.sort((a, b) => a - b);
console.log(`cancel -> process gone: median ${ms[10].toFixed(1)} ms, max ${ms[19].toFixed(1)} ms (20 runs)`);
await c.close();
await srv.stop();
tmp.cleanup();
