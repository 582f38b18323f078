// loop_server.test.mjs - tests/servers/loop_server (its `echo` finishes from a uv_timer on the
// HTTP worker's own loop: include/mcp/loop.h) driven by the official TypeScript SDK clients in
// both eras: the v1 client (legacy, 2025-11-25, Mcp-Session-Id) and the v2 client (modern,
// 2026-07-28, stateless), with many calls in flight at once on one and two workers. Each test
// starts its own server and stops it with SIGTERM: exit 0 (the loops' on_stop closed their
// timers, the loops closed) and no sanitizer report, or the test fails.
//
// Run: MCPD_EVERYTHING=build/asan/loop_server node --test tests/e2e/loop_server.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { withServerChecked } from './lib/http_server.mjs';

const T = { timeout: 60000 };
const text = (res) => res.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

async function connect(srv, { era }) {
  if (era === 'legacy') {
    const client = new ClientV1({ name: 'loop-e2e', version: '1.0.0' });
    const transport = new TransportV1(new URL(srv.url));
    await client.connect(transport);
    return { client, transport, close: () => client.close() };
  }
  const client = new Client({ name: 'loop-e2e', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  const transport = new StreamableHTTPClientTransport(new URL(srv.url));
  await client.connect(transport);
  return { client, transport, close: () => client.close() };
}

// Calls echo n times at once; each answer must be its own message.
async function echoMany(client, n, tag) {
  const msgs = Array.from({ length: n }, (_, i) => `${tag}-${i}-${'x'.repeat(i * 37)}`);
  const results = await Promise.all(msgs.map((message) => client.callTool({ name: 'echo', arguments: { message } })));
  results.forEach((r, i) => {
    assert.notEqual(r.isError, true, JSON.stringify(r));
    assert.equal(text(r), msgs[i]);
  });
}

for (const workers of ['1', '2']) {
  describe(`echo finished from the loop, ${workers} worker(s)`, () => {
    const withServer = (fn) => withServerChecked(fn, ['--workers', workers], { connect });

    it('legacy era (SDK v1): 40 calls in flight, answered from the loop', T, () => withServer(async (srv, open) => {
      const c = await open({ era: 'legacy' });
      assert.match(c.transport.sessionId ?? '', /^[0-9a-f]{32}$/);
      await echoMany(c.client, 40, 'legacy');
      await echoMany(c.client, 5, 'again');
    }));

    it('modern era (SDK v2): 40 calls in flight, answered from the loop', T, () => withServer(async (srv, open) => {
      const c = await open({ era: 'modern' });
      assert.equal(c.client.getNegotiatedProtocolVersion(), '2026-07-28');
      await echoMany(c.client, 40, 'modern');
      await echoMany(c.client, 5, 'again');
    }));

    it('a bad argument is refused before the handler runs', T, () => withServer(async (srv, open) => {
      const c = await open({ era: 'modern' });
      const r = await c.client.callTool({ name: 'echo', arguments: { message: 7 } }).catch((e) => e);
      const failed = r instanceof Error || r.isError === true;
      assert.ok(failed, `expected an error, got ${JSON.stringify(r)}`);
      await echoMany(c.client, 3, 'after'); // the loop still serves
    }));
  });
}
