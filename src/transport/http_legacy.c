/* http_legacy.c - the rules of the legacy era (2024-11-05 .. 2025-11-25 Streamable HTTP).
 *
 * A session-less POST of `initialize` creates a session (http_session.c) and its answer
 * carries Mcp-Session-Id; every other request names its session. POST hands the body to the
 * session's engine conn, on a new stream that the session keeps for resumption; GET opens the
 * standalone stream or, with Last-Event-ID, resumes a stream (http_stream.c); DELETE ends the
 * session. Loop thread of the request. */
#include "http_internal.h"

#include "base/log.h"
#include "rt/clock.h"

#include <stdio.h>
#include <string.h>

/* The engine's sink of a session: outputs of no request go to the standalone stream. A
 * notification is dropped if no GET ever opened it; a request to the client (a task's
 * elicitation or sampling) opens it, so the client's first GET gets it: its handler waits for
 * the answer, and a client that opens its GET just after its first calls (the TypeScript SDK
 * does) would otherwise never see the question. Any thread, under the conn's lock. */
static void session_sink(void *ud, const mcp_out *out)
{
    session *s = ud;
    hstream *st = out->tag;
    if (st) {
        hstream_put(st, out);
        return;
    }
    pthread_mutex_lock(&s->lock);
    st = s->get;
    if (st) hstream_ref(st);
    pthread_mutex_unlock(&s->lock);
    if (!st && out->kind == MCP_OUT_REQUEST) st = session_get_stream(s);
    if (!st) return;
    hstream_put(st, out);
    hstream_unref(st);
}

static void legacy_post(req_ctx *r, session *s)
{
    hstream *st = hstream_new(r->h, s, r->ws, r->res);
    st->legacy = true;
    session_add_stream(s, st);
    atomic_store_explicit(&s->last_active, rt_now_ms(), memory_order_relaxed);
    hstream_ref(st); /* ours, to look at it after the call */
    int n = hstream_run(r, s->conn, st, s, NULL);
    session_watch(r->ws, s); /* handler timeouts, asks and replay pruning, while any remain */
    /* a request that produced nothing, or whose answer went out as JSON, needs no replay */
    pthread_mutex_lock(&st->lock);
    bool drop = n <= 0 || (st->final && st->mode != MODE_SSE);
    pthread_mutex_unlock(&st->lock);
    if (drop) session_drop_stream(s, st);
    hstream_unref(st);
}

/* The id of a request the transport refuses, as JSON text, from the engine's parse (the
 * message is handled no further: the worker's stateless conn admits nothing). */
static void refused_id(req_ctx *r, char *out, size_t outsz)
{
    snprintf(out, outsz, "null");
    if (r->req->method != HTTP_POST || !r->req->body_len) return;
    mcp_msg_info info = {.admit = MCP_ADMIT_NONE};
    if (mcp_conn_handle(r->ws->modern, r->req->body, r->req->body_len, &info, NULL) ==
        MCP_NOT_ADMITTED)
        snprintf(out, outsz, "%s", info.id);
}

/* A session-less POST: a new session's conn gets it, admitting only initialize (the engine
 * also answers a body that does not parse, or whose _meta version contradicts the header).
 * The session is kept when initialize succeeded. */
static void legacy_initialize(req_ctx *r)
{
    mcp_http *h = r->h;
    if (atomic_load(&h->nsessions) >= h->o.max_sessions) {
        char id[80];
        refused_id(r, id, sizeof id);
        herr_send(r->ws, r->res, HERR_TOO_MANY_SESSIONS, id);
        return;
    }
    session *s = session_new(h);
    mcp_conn_options co = {.mode = MCP_CONN_HTTP_LEGACY,
                           .sink = {.send = session_sink, .ud = s},
                           .exec = http_exec,
                           .exec_ud = h,
                           .max_message = h->o.max_body,
                           .max_client_requests = h->o.max_client_requests,
                           .max_client_requests_total = h->o.max_client_requests_total};
    s->conn = mcp_conn_new(h->srv, &co);
    mcp_principal_digest(h->srv, r->principal, s->principal);
    atomic_fetch_add(&h->nsessions, 1);
    hstream *st = hstream_new(h, s, r->ws, r->res);
    st->legacy = true;
    st->num = s->next_num++;
    snprintf(st->extra_name, sizeof st->extra_name, "Mcp-Session-Id");
    snprintf(st->extra_value, sizeof st->extra_value, "%s", s->id);
    /* initialize is answered inline; the answer is held until the session is in the table (a
     * client may use the id on another connection, on another worker, the moment it reads it)
     * or, when initialize failed, until the id is taken off the answer */
    hstream_ref(st);
    bool held = false;
    r->admit = MCP_ADMIT_INITIALIZE;
    int n = hstream_run(r, s->conn, st, NULL, &held);
    if (mcp_conn_initialized(s->conn)) {
        http_access_session(r, s->id);
        session_start_expiry(r->ws, s);
        session_insert(h, s);
        mcp_log(MCP_LOGL_DEBUG, "http: session %.8s... created", s->id);
    } else {
        pthread_mutex_lock(&st->lock);
        st->extra_name[0] = '\0';
        pthread_mutex_unlock(&st->lock);
        atomic_fetch_sub(&h->nsessions, 1);
        mcp_conn_close(s->conn);
    }
    if (n == MCP_NOT_ADMITTED) herr_send(r->ws, r->res, HERR_SESSION_REQUIRED, r->id);
    if (held) hstream_pump_now(st);
    hstream_unref(st);
    session_unref(s); /* the creator's */
}

/* GET with Last-Event-ID: the stream to resume, with a reference, and the seq to resume
 * after; NULL when the request was answered. */
static hstream *resume_target(req_ctx *r, session *s, uint64_t *after)
{
    unsigned num;
    unsigned long long seq;
    char tail;
    if (sscanf(r->req->last_event_id, "%u-%llu%c", &num, &seq, &tail) != 2) {
        herr_send(r->ws, r->res, HERR_BAD_LAST_EVENT_ID, NULL);
        return NULL;
    }
    bool expired;
    hstream *st = session_stream(s, num, &expired);
    if (!st) {
        herr_send(r->ws, r->res, expired ? HERR_REPLAY_EXPIRED : HERR_NO_STREAM, NULL);
        return NULL;
    }
    *after = seq;
    return st;
}

static void legacy_get(req_ctx *r, session *s)
{
    http_request *req = r->req;
    if (!http_accepts(req->accept, "text/event-stream") || !req->accept) {
        herr_send(r->ws, r->res, HERR_GET_ACCEPT, NULL);
        return;
    }
    uint64_t after = 0;
    bool resume = req->last_event_id != NULL;
    hstream *st = resume ? resume_target(r, s, &after) : session_get_stream(s);
    if (!st) {
        if (!resume) herr_send(NULL, r->res, HERR_SESSION_NOT_FOUND, NULL);
        return;
    }
    int rc = hstream_attach(r->ws, st, r->res, resume, after);
    if (rc == 0) return;
    if (rc == ATTACH_BUSY && resume) { /* most likely the client's old connection is gone and
                                          we have not seen it yet */
        hstream_wait_resume(r->ws, st, r->res, after);
        return;
    }
    hstream_unref(st);
    herr_send(r->ws, r->res, rc == ATTACH_EXPIRED ? HERR_REPLAY_EXPIRED : HERR_STREAM_OPEN, NULL);
}

/* Whether r comes from the principal that initialized s (both none without auth). */
static bool same_principal(const req_ctx *r, const session *s)
{
    if (!r->principal) return s->principal[0] == '\0';
    char hex[65];
    mcp_principal_digest(r->h->srv, r->principal, hex);
    return strcmp(hex, s->principal) == 0;
}

void http_legacy(req_ctx *r)
{
    http_request *req = r->req;
    const char *sid = r->sid = req->unique[UH_SESSION_ID];
    if (!sid && req->method == HTTP_POST) {
        legacy_initialize(r);
        return;
    }
    session *s = sid ? session_find(r->h, sid) : NULL;
    if (s && !same_principal(r, s)) {
        mcp_log(MCP_LOGL_DEBUG, "http: session %.8s... used by another principal: refused", s->id);
        session_unref(s);
        s = NULL; /* answered as unknown: another principal learns nothing of it */
    }
    if (!s) {
        char id[80];
        refused_id(r, id, sizeof id);
        herr_send(r->ws, r->res, sid ? HERR_SESSION_NOT_FOUND : HERR_SESSION_REQUIRED, id);
        return;
    }
    http_access_session(r, s->id);
    switch (req->method) {
    case HTTP_POST:
        legacy_post(r, s);
        break;
    case HTTP_GET:
        legacy_get(r, s);
        break;
    case HTTP_DELETE:
        session_end(r->h, s);
        mcp_log(MCP_LOGL_DEBUG, "http: session %.8s... deleted", s->id);
        http_response_send(r->res, 204, NULL, NULL, 0);
        break;
    default:
        break;
    }
    session_unref(s);
}
