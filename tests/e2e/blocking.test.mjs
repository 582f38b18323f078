// blocking.test.mjs - handlers that block, through the official TypeScript SDK client over stdio
// and over Streamable HTTP (everything's block_ms, block_timeout and block_stats tools):
//   - six calls blocked in their handlers at once (more than the cores) do not delay a quick
//     call: it is answered while all six are still blocked;
//   - cancelled blocking calls stop: each is woken through its cancel fd or its on_cancel
//     callback, and block_stats sees them end "cancelled" long before their 120 s;
//   - a call past its tool's timeout (1000 ms) is answered with -32603 naming the tool, the
//     server logs it, and the handler is woken and stops.
// No timing is asserted: "not delayed" means "answered while the others still block".
//
// Run: MCPD_EVERYTHING=build/asan/everything node --test tests/e2e/blocking.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SANITIZER, withServerChecked } from './lib/http_server.mjs';

const BIN = process.env.MCPD_EVERYTHING;
const T = { timeout: 90000 };
const SLOW = 6; // more than the 2 cores of the test machine
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function stats(client) {
  const r = await client.callTool({ name: 'block_stats', arguments: {} });
  return JSON.parse(r.content[0].text);
}

async function waitStats(client, pred, what, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const s = await stats(client);
    if (pred(s)) return s;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; last ${JSON.stringify(s)}`);
    await sleep(50);
  }
}

// The scenario, on a connected client; logs() returns the server's stderr so far.
async function scenario(client, logs) {
  // Six calls that block for 120 s each, half waiting on the fd, half on the callback.
  const acs = [];
  const calls = [];
  for (let i = 0; i < SLOW; i++) {
    const ac = new AbortController();
    acs.push(ac);
    const via = i % 2 ? 'callback' : 'fd';
    calls.push(client.callTool({ name: 'block_ms', arguments: { ms: 120000, via } }, undefined,
      { signal: ac.signal, timeout: 600000 }).then(() => 'answered', (e) => e));
  }
  // The quick call is answered while all six are blocked in their handlers.
  const s = await waitStats(client, (x) => x.running === SLOW, `${SLOW} blocked handlers`);
  assert.deepEqual(s, { running: SLOW, completed: 0, cancelled: 0 });
  // Cancelled, each one stops.
  for (const ac of acs) ac.abort('test cancels');
  for (const r of await Promise.all(calls)) assert.notEqual(r, 'answered');
  const end = await waitStats(client, (x) => x.running === 0, 'the cancelled handlers to stop');
  assert.deepEqual(end, { running: 0, completed: 0, cancelled: SLOW });

  // Past its timeout: answered with an error that names the tool; the handler is woken.
  await assert.rejects(
    client.callTool({ name: 'block_timeout', arguments: { ms: 120000 } }, undefined,
      { timeout: 600000 }),
    (e) => {
      assert.equal(e.code, -32603);
      assert.match(e.message, /tool 'block_timeout' did not finish within 1000 ms/);
      return true;
    });
  await waitStats(client, (x) => x.running === 0 && x.cancelled === SLOW + 1,
    'the timed-out handler to stop');
  assert.match(logs(), /warn: tool 'block_timeout' did not finish within 1000 ms/);
  // A call within its time still works.
  const ok = await client.callTool({ name: 'block_ms', arguments: { ms: 1 } });
  assert.equal(ok.content[0].text, 'done');
}

describe('blocking handlers', () => {
  it('over stdio', T, async () => {
    assert.ok(BIN, 'MCPD_EVERYTHING must name the everything binary');
    const transport = new StdioClientTransport({ command: BIN, args: ['--stdio'], stderr: 'pipe' });
    let err = '';
    transport.stderr.on('data', (d) => { err += d.toString(); });
    const client = new Client({ name: 'mcpd-e2e', version: '1.0.0' }, { capabilities: {} });
    await client.connect(transport);
    try {
      await scenario(client, () => err);
    } finally {
      await client.close();
    }
    await sleep(100);
    assert.doesNotMatch(err, SANITIZER, err);
  });

  it('over Streamable HTTP', T, async () => {
    await withServerChecked(async (srv) => {
      const client = new Client({ name: 'mcpd-e2e', version: '1.0.0' }, { capabilities: {} });
      await client.connect(new StreamableHTTPClientTransport(new URL(srv.url)));
      try {
        await scenario(client, () => srv.stderr);
      } finally {
        await client.close();
      }
    });
  });
});
