// realistic.mjs - examples/realistic.c written with the TypeScript SDK (McpServer.registerTool),
// the reference for the line counts in docs/guide.md. Same tools, template, prompt, transports.
//   node realistic.mjs [--stdio] [--listen HOST:PORT]
// Needs @modelcontextprotocol/sdk and zod (tests/e2e/package.json pins both).
import http from 'node:http';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const notes = { groceries: 'Milk, eggs, coffee.', garden: 'Plant tulips in October.' };
const completeId = (prefix) => Object.keys(notes).filter((id) => id.startsWith(prefix ?? ''));
const notFound = (id, uri) => new McpError(ErrorCode.InvalidParams, `no note '${id}'`, { uri });

function makeServer() {
  const server = new McpServer({ name: 'realistic', version: '1.0.0' });
  server.registerTool('forecast', {
    description: 'Weather forecast for a city',
    inputSchema: {
      city: z.string().describe('City name'),
      days: z.number().int().min(1).max(7).default(3).describe('Days ahead'),
      metrics: z.array(z.enum(['temp', 'wind', 'rain'])).optional().describe('What to include'),
      at: z.object({ lat: z.number(), lon: z.number() }).optional()
        .describe('Coordinates {lat, lon}, to refine the city'),
    },
    outputSchema: { city: z.string(), at: z.object({}).passthrough().optional(), days: z.array(z.object({}).passthrough()) },
  }, async ({ city, days, metrics, at }) => {
    const base = Math.round(25 - Math.abs(at?.lat ?? 45) / 3);
    const list = metrics?.length ? metrics : ['temp'];
    const out = {
      city, ...(at ? { at } : {}),
      days: Array.from({ length: days }, (_, d) => Object.fromEntries(
        [['day', d + 1], ...list.map((m, i) => [m, base + d + i * 3])])),
    };
    return { content: [{ type: 'text', text: JSON.stringify(out) }], structuredContent: out };
  });
  server.registerTool('stats', {
    description: 'Mean of numbers',
    inputSchema: { values: z.array(z.number()) },
    outputSchema: { count: z.number().int(), mean: z.number() },
  }, async ({ values }) => {
    const out = { count: values.length, mean: values.reduce((a, b) => a + b, 0) / values.length };
    return { content: [{ type: 'text', text: JSON.stringify(out) }], structuredContent: out };
  });
  server.registerTool('slow_report', {
    description: 'Takes its time',
    inputSchema: { seconds: z.number().int().min(1).max(30).default(2) },
  }, async ({ seconds }, extra) => {
    await new Promise((resolve) => {
      const t = setTimeout(resolve, seconds * 1000);
      extra.signal.addEventListener('abort', () => {
        clearTimeout(t); console.error('realistic: slow_report cancelled'); resolve();
      });
    });
    return { content: [{ type: 'text', text: 'report ready' }] };
  });
  server.registerResource('note', new ResourceTemplate('notes:///{id}', {
    list: undefined, complete: { id: completeId },
  }), { mimeType: 'text/plain' }, async (uri, { id }) => {
    if (!notes[id]) throw notFound(id, uri.href);
    return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: notes[id] }] };
  });
  server.registerPrompt('summarize', {
    description: 'Summarize a note',
    argsSchema: { id: completable(z.string(), completeId), words: z.string().optional() },
  }, ({ id, words }) => {
    if (!notes[id]) throw notFound(id);
    return { messages: [{ role: 'user', content: {
      type: 'text', text: `Summarize this note in ${words ?? 'ten'} words:\n${notes[id]}` } }] };
  });
  return server;
}

const args = process.argv.slice(2);
const listen = args.indexOf('--listen');
if (listen < 0 || args.includes('--stdio')) await makeServer().connect(new StdioServerTransport());
if (listen >= 0) {
  const [host, port] = args[listen + 1].split(':');
  http.createServer(async (req, res) => {
    const server = makeServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => { transport.close(); server.close(); });
    await server.connect(transport);
    let body = '';
    for await (const chunk of req) body += chunk;
    await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
  }).listen(Number(port), host, () => console.error(`listening on http://${host}:${port}/mcp`));
}
