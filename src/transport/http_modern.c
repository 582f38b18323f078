/* http_modern.c - the rules of the modern era (2026-07-28): stateless POST.
 *
 * Each worker has one engine conn for every stateless request it receives; a request is a
 * stream of that conn (http_stream.c), answered as JSON or SSE. There are no sessions: GET and
 * DELETE get 405, and a client that disconnects cancels its request (http_stream.c, on_abort).
 * The engine checks the era's headers (_meta, MCP-Protocol-Version, Mcp-Method, Mcp-Name,
 * Mcp-Param-*). Loop thread of the request. */
#include "http_internal.h"

/* The engine's sink of a worker's stateless conn. Any thread, under the conn's lock. */
void http_modern_sink(void *ud, const mcp_out *out)
{
    (void)ud;
    if (out->tag) hstream_put(out->tag, out);
}

void http_modern(req_ctx *r)
{
    if (r->req->method != HTTP_POST) {
        herr_send(r->ws, r->res, HERR_METHOD_MODERN, NULL);
        return;
    }
    hstream *st = hstream_new(r->h, NULL, r->ws, r->res);
    hstream_run(r, r->ws->modern, st, NULL, NULL);
}
