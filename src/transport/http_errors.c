/* http_errors.c - the one table of the transport's error answers.
 *
 * Every error the transport itself answers (the engine answers the rest through its sink) is a
 * row here: its HTTP status, its JSON-RPC code, its message and at most one extra header. The
 * body is always a JSON-RPC error response in application/json, carrying the request's id when
 * it is known and null otherwise. stdio.c builds its own error lines with herr_json too, so
 * the two transports word the same error the same way. docs/internals/transport-http.md lists
 * the table. */
#include "http_internal.h"

#include "rpc/rpc.h"

#include <stdio.h>
#include <string.h>

typedef struct herr_row {
    int status;
    int code;
    const char *msg;
    const char *xname, *xvalue; /* one more header, or NULL */
} herr_row;

static const herr_row rows[HERR_COUNT] = {
    [HERR_NOT_FOUND] = {404, -32000, "Not Found", NULL, NULL},
    [HERR_ORIGIN] = {403, -32000, "Forbidden: Origin is not allowed", NULL, NULL},
    [HERR_HOST] = {403, -32000, "Forbidden: Host is not allowed (DNS rebinding protection)", NULL,
                   NULL},
    [HERR_SHUTTING_DOWN] = {503, -32000, "Service Unavailable: the server is shutting down",
                            "Retry-After", "1"},
    [HERR_METHOD] = {405, -32000, "Method not allowed", "Allow", "GET, POST, DELETE"},
    [HERR_METHOD_MODERN] = {405, -32000,
                            "Method not allowed: the 2026-07-28 protocol uses POST only", "Allow",
                            "POST"},
    [HERR_CONTENT_TYPE] = {415, -32000,
                           "Unsupported Media Type: Content-Type must be application/json", NULL,
                           NULL},
    [HERR_ACCEPT] = {406, -32000,
                     "Not Acceptable: Accept must allow application/json or text/event-stream",
                     NULL, NULL},
    [HERR_GET_ACCEPT] = {406, -32000, "Not Acceptable: GET needs Accept: text/event-stream", NULL,
                         NULL},
    [HERR_SESSION_REQUIRED] = {400, -32000, "Bad Request: Mcp-Session-Id header is required", NULL,
                               NULL},
    [HERR_SESSION_NOT_FOUND] = {404, -32001, "Session not found", NULL, NULL},
    [HERR_TOO_MANY_SESSIONS] = {503, -32000, "Too many sessions; retry later", "Retry-After", "1"},
    [HERR_BAD_LAST_EVENT_ID] = {400, -32000, "Bad Request: malformed Last-Event-ID", NULL, NULL},
    [HERR_NO_STREAM] = {400, -32000,
                        "Bad Request: no stream of this session has that Last-Event-ID", NULL,
                        NULL},
    [HERR_REPLAY_EXPIRED] = {400, -32000,
                             "Bad Request: the events after that Last-Event-ID have left the "
                             "replay window; the session goes on",
                             NULL, NULL},
    [HERR_STREAM_OPEN] = {409, -32000, "Conflict: this stream is already open on another request",
                          NULL, NULL},
    [HERR_STREAM_BUSY] = {409, -32000, "Conflict: this stream is still open on another connection",
                          NULL, NULL},
    [HERR_TOO_LARGE] = {413, -32600, "message larger than the limit", NULL, NULL},
    [HERR_UNAUTHORIZED] = {401, -32000,
                           "Unauthorized: send a valid token as Authorization: Bearer <token>",
                           "WWW-Authenticate", "Bearer"},
};

int herr_status(herr e)
{
    return rows[e].status;
}

void herr_json(mcp_buf *b, herr e, const char *id_json, const char *detail)
{
    mcp_buf_printf(b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":",
                   id_json ? id_json : "null", rows[e].code);
    if (detail) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: %s", rows[e].msg, detail);
        rpc_write_str(b, msg, strlen(msg));
    } else {
        rpc_write_str(b, rows[e].msg, strlen(rows[e].msg));
    }
    mcp_buf_puts(b, "}}");
}

void http_metric(wstate *ws, int id, int64_t delta)
{
    rt_metrics_add(ws->h->metrics, ws->idx, id, delta);
}

void http_count_error(wstate *ws)
{
    if (ws) http_metric(ws, ws->h->mid.errors, 1);
}

/* Errors are counted before they are sent: a client may read /metrics right after. */
void herr_send(wstate *ws, http_response *res, herr e, const char *id_json)
{
    const herr_row *row = &rows[e];
    char body[512];
    mcp_buf b;
    mcp_buf_init(&b, body, sizeof body, 0);
    herr_json(&b, e, id_json, NULL);
    if (e == HERR_TOO_MANY_SESSIONS && ws) http_metric(ws, ws->h->mid.shed, 1);
    http_count_error(ws);
    http_access_rpc_error(res, row->code);
    if (row->xname) http_response_header(res, row->xname, row->xvalue);
    http_response_send(res, row->status, "application/json", b.data, b.len);
    mcp_buf_free(&b);
}
