// blocking_latency.mjs URL - how long a quick tool call waits while three 2-second calls block
// in their handlers (issue 11: with one handler thread per core, about 1.9 s on 2 cores).
// Five rounds of: three block_ms(2000) calls, then five block_ms(0) calls timed one by one.
// Needs the everything server at URL and the e2e npm packages (scripts/e2e-deps.sh):
//   build/release/everything --listen 127.0.0.1:18931 &
//   node bench/blocking_latency.mjs http://127.0.0.1:18931/mcp
// (add --threads 2 to the server for the old one-thread-per-core pool on 2 cores).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/e2e/package.json', import.meta.url));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');

const c = new Client({ name: 'blocking-latency', version: '1' });
await c.connect(new StreamableHTTPClientTransport(new URL(process.argv[2])));
const lat = [];
for (let round = 0; round < 5; round++) {
  const slow = [0, 1, 2].map(() => c.callTool({ name: 'block_ms', arguments: { ms: 2000 } }));
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await c.callTool({ name: 'block_ms', arguments: { ms: 0 } });
    lat.push(performance.now() - t0);
  }
  await Promise.all(slow);
}
lat.sort((a, b) => a - b);
const at = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(1);
console.log(`quick calls: ${lat.length}, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`);
await c.close();
