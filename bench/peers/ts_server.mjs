// Benchmark peer: the official MCP TypeScript SDK (@modelcontextprotocol/sdk, McpServer +
// StreamableHTTPServerTransport on node's `http`), exposing the same `echo` tool as
// examples/everything ({message} -> one text content holding the message).
//
//   node bench/peers/ts_server.mjs --port 9000 --mode stateless|stateful [--json|--sse] [--tools N]
//
//   --mode stateless  no sessions: a fresh McpServer + transport per request (the SDK's own
//                     stateless pattern; a transport serves one request only)
//   --mode stateful   sessions (Mcp-Session-Id from randomUUID); one McpServer per session,
//                     DELETE ends it
//   --json            answer requests with application/json (enableJsonResponse; default)
//   --sse             answer requests with text/event-stream (the SDK picks JSON or SSE by this
//                     server option, not by the client's Accept)
//   --tools N         also register N dummy tools (tool_0 .. tool_{N-1}) for tools/list
//
// Prints "ts_server: listening on http://127.0.0.1:PORT/mcp" on stderr when ready.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const args = process.argv.slice(2);
let port = 0;
let mode = 'stateless';
let json = true;
let ntools = 0;
for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--port') port = Number(args[++i]);
    else if (a === '--mode') mode = args[++i];
    else if (a === '--json') json = true;
    else if (a === '--sse') json = false;
    else if (a === '--tools') ntools = Number(args[++i]);
    else {
        console.error(`ts_server: unknown option ${a}`);
        process.exit(2);
    }
}
if (mode !== 'stateless' && mode !== 'stateful') {
    console.error(`ts_server: --mode must be stateless or stateful`);
    process.exit(2);
}

function newServer() {
    const server = new McpServer({ name: 'ts-bench', version: '1.0.0' });
    server.registerTool(
        'echo',
        { description: 'Returns the message as text', inputSchema: { message: z.string() } },
        async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
    );
    for (let i = 0; i < ntools; i++) {
        server.registerTool(
            `tool_${i}`,
            { description: `Dummy tool number ${i}`, inputSchema: { x: z.number().optional() } },
            async () => ({ content: [{ type: 'text', text: 'ok' }] }),
        );
    }
    return server;
}

// Reads the request body and parses it as JSON (undefined if it is not JSON: the transport
// then answers the parse error itself).
function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            if (chunks.length === 0) return resolve(undefined);
            try {
                resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch {
                resolve(undefined);
            }
        });
        req.on('error', reject);
    });
}

const sessions = new Map(); // session id -> transport

function sendError(res, status, message) {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

async function handleStateless(req, res, body) {
    const server = newServer();
    const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: json,
    });
    res.on('close', () => {
        transport.close();
        server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
}

async function handleStateful(req, res, body) {
    const sid = req.headers['mcp-session-id'];
    if (sid) {
        const t = sessions.get(sid);
        if (!t) return sendError(res, 404, 'Session not found');
        return t.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !body || body.method !== 'initialize') {
        return sendError(res, 400, 'Bad Request: Mcp-Session-Id header is required');
    }
    const server = newServer();
    const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: json,
        onsessioninitialized: (id) => sessions.set(id, transport),
        onsessionclosed: (id) => sessions.delete(id),
    });
    transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
}

const httpServer = http.createServer(async (req, res) => {
    try {
        const path = (req.url || '').split('?')[0];
        if (path !== '/mcp') return sendError(res, 404, 'Not found');
        const body = req.method === 'POST' ? await readBody(req) : undefined;
        if (mode === 'stateless') await handleStateless(req, res, body);
        else await handleStateful(req, res, body);
    } catch (e) {
        if (!res.headersSent) sendError(res, 500, String(e && e.message));
    }
});
httpServer.keepAliveTimeout = 75000;
httpServer.headersTimeout = 80000;
httpServer.requestTimeout = 0;
httpServer.maxRequestsPerSocket = 0;
httpServer.listen(port, '127.0.0.1', () => {
    console.error(`ts_server: listening on http://127.0.0.1:${httpServer.address().port}/mcp (${mode}, ${json ? 'json' : 'sse'}, ${ntools} extra tools)`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
