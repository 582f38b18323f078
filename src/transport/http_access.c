/* http_access.c - the access log's MCP side in the Streamable HTTP transport.
 *
 * The HTTP layer measures each exchange (peer, method, path, status, bytes, duration) and hands
 * it to on_exchange when its last byte is written (src/http/server.h); it knows nothing of MCP.
 * This file adds what only the transport knows: a request to the MCP endpoint gets a note,
 * attached to its response, in which the engine's parse leaves the JSON-RPC method and the
 * tool, prompt or resource name (mcp_msg_info.names), admission the principal's name, the
 * legacy rules the session id's prefix, and the answer its JSON-RPC error code (from the
 * stream's first error response, or the transport's own error table). At the exchange's end
 * the two become one mcp_access_record, written by the access log (access_log.c) and given to
 * the program's hook. Nothing here runs when no log and no hook are configured: requests
 * carry no note and the HTTP layer reads no clock for them. */
#include "http_internal.h"

#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool http_access_setup(mcp_http *h, char *err, size_t errsize)
{
    const mcp_http_options *o = &h->o;
    if (o->access_log) {
        h->alog = access_log_open(o->access_log, o->access_log_format, h->nworkers, err, errsize);
        if (!h->alog) return false;
    } else if (o->access_log_format && strcmp(o->access_log_format, "text") &&
               strcmp(o->access_log_format, "json")) {
        snprintf(err, errsize, "access log format must be \"text\" or \"json\", not \"%.32s\"",
                 o->access_log_format);
        return false;
    }
    h->logging = h->alog || o->access_hook;
    return true;
}

void http_access_begin(req_ctx *r)
{
    if (!r->h->logging) return;
    r->note = mcp_xcalloc(1, sizeof *r->note);
    http_response_set_note(r->res, r->note);
}

void http_access_principal(req_ctx *r)
{
    const mcp_http_options *o = &r->h->o;
    if (!r->note || !r->principal || !o->principal_name) return;
    const char *name = o->principal_name(o->access_ud, r->principal);
    if (!name) return;
    snprintf(r->note->principal, sizeof r->note->principal, "%s", name);
    r->note->has_principal = true;
}

void http_access_session(req_ctx *r, const char *sid)
{
    if (r->note && sid) snprintf(r->note->session, sizeof r->note->session, "%s", sid);
}

void http_access_rpc_error(http_response *res, int code)
{
    access_note *n = http_response_note(res);
    if (n && !n->rpc_error) n->rpc_error = code;
}

static const char *or_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

void http_access_exchange(const http_exchange *x, void *ud)
{
    mcp_http *h = ud;
    access_note *n = x->note;
    mcp_access_record rec = {.time_unix_ms = x->start_unix_ms,
                             .client = x->peer,
                             .http_method = x->method,
                             .path = x->path,
                             .status = x->status,
                             .duration_us = x->duration_ns / 1000,
                             .bytes_in = x->bytes_in,
                             .bytes_out = x->bytes_out,
                             .aborted = x->aborted};
    if (n) {
        rec.mcp_method = or_null(n->names.method);
        rec.name = or_null(n->names.name);
        rec.batch = n->names.batch;
        rec.rpc_error = n->rpc_error;
        rec.session = or_null(n->session);
        rec.principal = n->has_principal ? n->principal : NULL;
    }
    if (h->alog) access_log_add(h->alog, x->worker, &rec);
    if (h->o.access_hook) h->o.access_hook(h->o.access_ud, &rec);
    free(n);
}

void http_access_tick(wstate *ws)
{
    if (ws->h->alog) access_log_flush(ws->h->alog, ws->idx);
}

void http_access_flush(mcp_http *h)
{
    for (unsigned i = 0; h->alog && i < h->nworkers; i++) access_log_flush(h->alog, i);
}

void http_access_close(mcp_http *h)
{
    access_log_close(h->alog);
    h->alog = NULL;
}

int mcp_http_reopen_access_log(mcp_http *h)
{
    return h ? access_log_reopen(h->alog) : access_log_reopen_all();
}

uint64_t mcp_http_access_log_errors(mcp_http *h)
{
    return h ? access_log_errors(h->alog) : 0;
}
