/* http.c - the MCP Streamable HTTP transport: both protocol eras on one endpoint.
 *
 * Requests arrive on the worker loops of the HTTP server (src/http/server.c) and go through a
 * short pipeline of stages (route, guard Origin/Host, admit, check media types, dispatch).
 * Dispatch hands the body to an engine conn: in the modern era (2026-07-28, stateless) the
 * conn of the worker that received it; in the legacy era the conn of the request's session.
 * Every request gets an hstream, which is the engine's tag for it. The engine's sink (called
 * from any thread, under the conn's lock) turns outputs into the stream's state under the
 * stream's own lock: the JSON answer, or SSE events with ids (kept in a bounded replay list in
 * the legacy era), and then wakes the worker that owns the stream's HTTP response; that worker
 * ("pump") writes what is new. When the sink runs on the owning loop inside the request's own
 * mcp_conn_handle call (inline handlers, engine errors), no wakeup is posted: the request pumps
 * right after the call, which is the whole fast path of a stateless tools/call.
 *
 * Sessions (legacy) live in a hash table shared by the workers (rwlock; lookups take the read
 * side). A session owns its engine conn, its POST streams that may still be resumed, and its
 * standalone GET stream. Lock order: session handle lock, engine conn lock, session lock,
 * stream lock. Nothing that holds a later lock takes an earlier one.
 *
 * The main thread (mcp_serve_http) waits for signals and sweeps sessions once a second (idle
 * expiry, expiry of unanswered server-to-client requests). See docs/internals/transport-http.md
 * for the behaviour, statuses and limits. */
#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/random.h"
#include "http/server.h"
#include "json/json.h"
#include "mcp/engine.h"
#include "mcp/mcp.h"
#include "rt/clock.h"
#include "rt/pool.h"
#include "rt/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_QUEUE_MAX    1024
#define DEFAULT_MAX_SESSIONS 10000
#define DEFAULT_SESSION_IDLE (30u * 60u * 1000u)
#define DEFAULT_KEEPALIVE_MS 15000
#define DEFAULT_DRAIN_MS     10000
#define REPLAY_MAX_EVENTS    256
#define REPLAY_MAX_BYTES     (1u << 20)
#define SESSION_MAX_STREAMS  64 /* POST streams a session keeps for resumption */
#define SSE_RETRY_MS         1000
#define MAX_ALLOWED          32
#define NBUCKETS             14

static const double bucket_le[NBUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

typedef struct hstream hstream;
typedef struct session session;
typedef struct wstate wstate;

/* ---- per-worker state ---------------------------------------------------------------------- */

/* Written only by the worker's loop thread (relaxed atomics so /metrics may read anywhere). */
typedef struct wcounters {
    _Atomic uint64_t requests, errors, shed, sse_open;
    _Atomic uint64_t lat_count, lat_sum_ns, lat_bucket[NBUCKETS];
} wcounters;

struct wstate {
    mcp_http *h;
    rt_worker *w;
    mcp_conn *modern;          /* the stateless conn of this worker */
    hstream *sse;              /* SSE responses open on this worker (keep-alives, shutdown) */
    struct resume_wait *waits; /* resumes waiting for their stream's old response to go */
    uint64_t last_keepalive;
    wcounters c __attribute__((aligned(64)));
};

/* ---- streams ------------------------------------------------------------------------------- */

enum { MODE_UNDECIDED, MODE_JSON, MODE_SSE };

typedef struct event {
    struct event *next;
    uint64_t seq;
    size_t len;
    char data[]; /* the whole SSE event, "id: ..\ndata: ..\n\n" */
} event;

/* One request's answer (or a standalone/listen stream). Refcounted: the request (until its
 * response is complete or aborted), a pending wakeup, the session's list (legacy, while it may
 * be resumed) each hold one. */
struct hstream {
    _Atomic unsigned refs;
    pthread_mutex_t lock;
    mcp_http *h;
    session *sess; /* legacy: holds a reference; NULL in the modern era */
    uint32_t num;  /* stream number within the session (0: the standalone GET stream) */
    bool accept_json, accept_sse, batch, legacy, priming, standalone;
    uint64_t t0_ns;
    /* under lock */
    int mode;
    int expected;      /* responses this request will get; -1 until known (batches) */
    int nresp, nend;   /* responses written; requests ended without one (cancelled) */
    bool final;        /* every response is in */
    bool close_req;    /* the handler closed the stream (SEP-1699) */
    bool wake_pending; /* a pump is posted or scheduled */
    bool counted;      /* counted in the session's active requests */
    mcp_buf json;      /* MODE_JSON: the body */
    int json_status;
    event *ev_head, *ev_tail; /* SSE events, oldest first (legacy: kept for replay) */
    size_t nev, ev_bytes;
    uint64_t seq;      /* last event seq assigned */
    uint64_t sent_seq; /* last seq written to the attached response */
    http_response *res;
    wstate *ws;                           /* the worker owning res (NULL: detached) */
    bool started;                         /* res has its SSE head */
    char extra_name[32], extra_value[48]; /* one header for the head (Mcp-Session-Id) */
    /* loop thread of ws only */
    hstream *wprev, *wnext; /* in ws->sse */
    /* under the session's lock */
    hstream *snext;
};

/* ---- sessions ------------------------------------------------------------------------------ */

struct session {
    _Atomic unsigned refs;
    char id[33];
    mcp_http *h;
    mcp_conn *conn;
    pthread_mutex_t handle_lock; /* one mcp_conn_handle at a time */
    pthread_mutex_t lock;        /* the fields below */
    hstream *streams;            /* POST streams that may be resumed */
    unsigned nstreams;
    uint32_t next_num;
    hstream *get; /* the standalone stream, once a GET opened it */
    bool ended;
    _Atomic int active; /* requests in flight */
    _Atomic uint64_t last_active;
    session *hnext; /* hash chain */
};

struct mcp_http {
    mcp_server *srv;
    mcp_http_options o;
    char *path;
    char *origins[MAX_ALLOWED], *hosts[MAX_ALLOWED];
    size_t norigins, nhosts;
    bool any_origin, any_host, loopback;
    http_server *hs;
    rt_pool *pool;
    unsigned nworkers;
    wstate *ws; /* nworkers */
    _Atomic bool draining;
    pthread_rwlock_t sess_lock;
    session **buckets;
    size_t nbuckets;
    _Atomic size_t nsessions;
    _Atomic uint64_t sessions_total, sessions_expired;
};

static _Thread_local wstate *tl_ws;    /* the worker whose loop runs this thread */
static _Thread_local hstream *tl_req;  /* the request being handled on this thread */
static _Thread_local bool tl_req_wake; /* its pump was asked for during the handle call */

static void pump(hstream *st);
static int http_exec(void *ud, void (*fn)(void *), void *arg);

/* The per-worker state of the calling loop thread. */
static wstate *current_ws(mcp_http *h)
{
    if (!tl_ws) {
        rt_worker *w = rt_worker_current();
        tl_ws = &h->ws[rt_worker_index(w)];
        /* set by the loop thread itself before any stream of it exists; pool threads read it
         * only through a stream, after the pool's queue ordered them */
        tl_ws->w = w;
    }
    return tl_ws;
}

/* ---- small helpers ------------------------------------------------------------------------- */

static void stream_ref(hstream *st)
{
    atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
}

static void session_unref(session *s);

static void events_free(event *e)
{
    while (e) {
        event *n = e->next;
        free(e);
        e = n;
    }
}

static void stream_unref(hstream *st)
{
    if (atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) != 1) return;
    events_free(st->ev_head);
    mcp_buf_free(&st->json);
    pthread_mutex_destroy(&st->lock);
    if (st->sess) session_unref(st->sess);
    free(st);
}

static hstream *stream_new(mcp_http *h, session *sess, wstate *ws, http_response *res)
{
    hstream *st = mcp_xcalloc(1, sizeof *st);
    atomic_init(&st->refs, 1);
    pthread_mutex_init(&st->lock, NULL);
    st->h = h;
    st->sess = sess;
    if (sess) atomic_fetch_add(&sess->refs, 1);
    st->ws = ws;
    st->res = res;
    st->expected = 1;
    mcp_buf_init(&st->json, NULL, 0, 0);
    return st;
}

static bool ieq_prefix(const char *s, const char *prefix)
{
    return !strncasecmp(s, prefix, strlen(prefix));
}

/* True if the comma-separated media range list allows type ("application/json"). */
static bool accepts(const char *accept, const char *type)
{
    if (!accept) return true;
    const char *slash = strchr(type, '/');
    size_t major = (size_t)(slash - type);
    for (const char *p = accept; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ';') e++;
        size_t n = (size_t)(e - p);
        while (n && p[n - 1] == ' ') n--;
        if ((n == strlen(type) && !strncasecmp(p, type, n)) || (n == 3 && !memcmp(p, "*/*", 3)) ||
            (n == major + 2 && !strncasecmp(p, type, major) && !memcmp(p + major, "/*", 2)))
            return true;
        while (*e && *e != ',') e++;
        p = e;
    }
    return false;
}

/* The JSON-RPC id of a body, as JSON text, when the body parses; "null" otherwise. Used only
 * on error paths (the engine parses bodies it handles). */
static void body_id(const char *body, size_t len, char *out, size_t outsz)
{
    snprintf(out, outsz, "null");
    if (!body || !len) return;
    char stack[4096];
    mcp_arena a;
    mcp_arena_init(&a, stack, sizeof stack);
    json_value *v = json_parse(body, len, &a, NULL, NULL);
    const json_value *id = v && v->type == JSON_OBJECT ? json_get(v, "id") : NULL;
    if (id && id->type == JSON_INT)
        snprintf(out, outsz, "%lld", (long long)id->u.num.i);
    else if (id && id->type == JSON_STRING && id->len < outsz - 3) {
        mcp_buf b;
        mcp_buf_init(&b, out, outsz, outsz);
        json_writer w;
        json_writer_init(&w, &b, false);
        json_write_str(&w, id->u.str, id->len);
        if (b.overflow || b.data != out)
            snprintf(out, outsz, "null");
        else
            out[b.len < outsz ? b.len : outsz - 1] = '\0';
        mcp_buf_free(&b);
    }
    mcp_arena_free(&a);
}

/* Answers with a JSON-RPC error body. extra: one more header (name, value) or NULL. */
static void send_error(http_response *res, int status, int code, const char *msg,
                       const char *id_json, const char *xname, const char *xvalue)
{
    char body[512];
    mcp_buf b;
    mcp_buf_init(&b, body, sizeof body, 0);
    mcp_buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":",
                   id_json ? id_json : "null", code);
    json_writer w;
    json_writer_init(&w, &b, false);
    json_write_strz(&w, msg);
    mcp_buf_puts(&b, "}}");
    if (xname) http_response_header(res, xname, xvalue);
    http_response_send(res, status, "application/json", b.data, b.len);
    mcp_buf_free(&b);
}

static void count_error(wstate *ws)
{
    atomic_fetch_add_explicit(&ws->c.errors, 1, memory_order_relaxed);
}

static void record_latency(wstate *ws, uint64_t t0)
{
    uint64_t d = rt_now_ns() - t0;
    double s = (double)d / 1e9;
    int i = 0;
    while (i < NBUCKETS && s > bucket_le[i]) i++;
    if (i < NBUCKETS) atomic_fetch_add_explicit(&ws->c.lat_bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&ws->c.lat_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&ws->c.lat_sum_ns, d, memory_order_relaxed);
}

/* ---- the sink: engine outputs into stream state (any thread, under the conn's lock) ---------- */

static void event_add_locked(hstream *st, const char *data, size_t len)
{
    char head[64];
    int hn = st->legacy ? snprintf(head, sizeof head, "id: %u-%llu\ndata: ", (unsigned)st->num,
                                   (unsigned long long)(st->seq + 1))
                        : snprintf(head, sizeof head, "data: ");
    event *e = mcp_xmalloc(sizeof *e + (size_t)hn + len + 2);
    e->next = NULL;
    e->seq = ++st->seq;
    memcpy(e->data, head, (size_t)hn);
    memcpy(e->data + hn, data, len);
    memcpy(e->data + hn + len, "\n\n", 2);
    e->len = (size_t)hn + len + 2;
    if (st->ev_tail)
        st->ev_tail->next = e;
    else
        st->ev_head = e;
    st->ev_tail = e;
    st->nev++;
    st->ev_bytes += e->len;
    /* Bound the replay list; events already written go first, then the oldest. */
    while (st->nev > 1 && (st->nev > REPLAY_MAX_EVENTS || st->ev_bytes > REPLAY_MAX_BYTES)) {
        event *o = st->ev_head;
        st->ev_head = o->next;
        st->nev--;
        st->ev_bytes -= o->len;
        free(o);
    }
}

/* Arranges for the owning worker to pump st. Called with st->lock held. */
static void wake_locked(hstream *st)
{
    if (st->wake_pending || !st->ws) return;
    if (tl_req == st && tl_ws == st->ws) { /* inside this request's handle call: pumped after */
        tl_req_wake = true;
        return;
    }
    st->wake_pending = true;
    stream_ref(st);
    if (rt_worker_post(st->ws->w, (void (*)(void *))pump, st) < 0) {
        st->wake_pending = false;
        atomic_fetch_sub_explicit(&st->refs, 1, memory_order_relaxed); /* not the last one */
    }
}

static void session_request_done(session *s)
{
    atomic_fetch_sub_explicit(&s->active, 1, memory_order_relaxed);
    atomic_store_explicit(&s->last_active, rt_now_ms(), memory_order_relaxed);
}

static void stream_put(hstream *st, const mcp_out *out)
{
    pthread_mutex_lock(&st->lock);
    if (out->kind == MCP_OUT_CLOSE_STREAM) {
        if (st->legacy && st->accept_sse && !st->final) {
            st->mode = MODE_SSE;
            st->close_req = true;
            wake_locked(st);
        }
        pthread_mutex_unlock(&st->lock);
        return;
    }
    if (out->kind == MCP_OUT_END) { /* a cancelled request: no answer will come */
        if (st->mode == MODE_UNDECIDED) st->mode = st->accept_sse ? MODE_SSE : MODE_JSON;
        st->nend++;
        goto counted;
    }
    if (st->mode == MODE_UNDECIDED) {
        if (out->kind == MCP_OUT_RESPONSE && st->accept_json)
            st->mode = MODE_JSON;
        else if (st->accept_sse)
            st->mode = MODE_SSE;
        else
            goto drop; /* JSON only: notifications and requests before the answer are lost */
    }
    if (out->whole && st->batch && !st->nresp) { /* a rejected batch: one error, no array */
        st->batch = false;
        st->expected = 1;
    }
    if (st->mode == MODE_JSON) {
        if (out->kind != MCP_OUT_RESPONSE) goto drop;
        if (st->batch) mcp_buf_putc(&st->json, st->nresp ? ',' : '[');
        mcp_buf_append(&st->json, out->data, out->len);
        if (!st->nresp) {
            switch (out->status) {
            case MCP_STATUS_BAD_REQUEST:
                st->json_status = 400;
                break;
            case MCP_STATUS_NOT_FOUND:
                st->json_status = 404;
                break;
            case MCP_STATUS_OVERLOADED:
                st->json_status = 503;
                break;
            default:
                st->json_status = 200;
            }
            if (st->batch) st->json_status = 200;
        }
    } else {
        event_add_locked(st, out->data, out->len);
    }
    if (out->kind == MCP_OUT_RESPONSE) st->nresp++;
counted:
    if ((out->kind == MCP_OUT_RESPONSE || out->kind == MCP_OUT_END) &&
        st->nresp + st->nend >= st->expected && st->expected >= 0 && !st->final) {
        st->final = true;
        if (st->counted) session_request_done(st->sess);
        st->counted = false;
    }
    wake_locked(st);
drop:
    pthread_mutex_unlock(&st->lock);
}

static void modern_sink(void *ud, const mcp_out *out)
{
    if (out->tag) stream_put(out->tag, out);
}

static void session_sink(void *ud, const mcp_out *out)
{
    session *s = ud;
    hstream *st = out->tag;
    if (!st) { /* belongs to no request: the standalone stream, if one was ever opened */
        pthread_mutex_lock(&s->lock);
        st = s->get;
        if (st) stream_ref(st);
        pthread_mutex_unlock(&s->lock);
        if (!st) return;
        stream_put(st, out);
        stream_unref(st);
        return;
    }
    stream_put(st, out);
}

/* ---- the pump: writes a stream's new output to its response (owning loop thread) ----------- */

static void sse_link(wstate *ws, hstream *st)
{
    st->wprev = NULL;
    st->wnext = ws->sse;
    if (ws->sse) ws->sse->wprev = st;
    ws->sse = st;
    atomic_fetch_add_explicit(&ws->c.sse_open, 1, memory_order_relaxed);
}

static void sse_unlink(wstate *ws, hstream *st)
{
    if (st->wprev)
        st->wprev->wnext = st->wnext;
    else if (ws->sse == st)
        ws->sse = st->wnext;
    else
        return; /* not linked */
    if (st->wnext) st->wnext->wprev = st->wprev;
    st->wprev = st->wnext = NULL;
    atomic_fetch_sub_explicit(&ws->c.sse_open, 1, memory_order_relaxed);
}

/* Removes a finished POST stream from its session once nothing is left to resume. */
static void session_drop_stream(session *s, hstream *st)
{
    bool found = false;
    pthread_mutex_lock(&s->lock);
    for (hstream **p = &s->streams; *p; p = &(*p)->snext)
        if (*p == st) {
            *p = st->snext;
            s->nstreams--;
            found = true;
            break;
        }
    pthread_mutex_unlock(&s->lock);
    if (found) stream_unref(st);
}

/* Writes priming + the events after sent_seq; returns the bytes (caller frees) in *out. */
static void take_events_locked(hstream *st, mcp_buf *out)
{
    for (event *e = st->ev_head; e; e = e->next)
        if (e->seq > st->sent_seq) mcp_buf_append(out, e->data, e->len);
    st->sent_seq = st->seq;
    if (!st->legacy || st->standalone) { /* nothing to replay: drop what was written */
        events_free(st->ev_head);
        st->ev_head = st->ev_tail = NULL;
        st->nev = 0;
        st->ev_bytes = 0;
    }
}

static void pump(hstream *st)
{
    wstate *ws = current_ws(st->h);
    pthread_mutex_lock(&st->lock);
    st->wake_pending = false;
    if (!st->res || st->ws != ws) { /* detached meanwhile, or moved to another worker */
        if (st->res && st->ws) wake_locked(st);
        pthread_mutex_unlock(&st->lock);
        stream_unref(st);
        return;
    }
    http_response *res = st->res;
    bool was_started = st->started;
    bool end = false, start_sse = false, json = false;
    mcp_buf out;
    mcp_buf_init(&out, NULL, 0, 0);
    char xname[32], xvalue[48];
    memcpy(xname, st->extra_name, sizeof xname);
    memcpy(xvalue, st->extra_value, sizeof xvalue);
    int status = 200;
    if (st->mode == MODE_JSON && st->final) {
        json = true;
        if (!st->nresp)
            status = 202; /* every request was cancelled: nothing to answer */
        else if (st->batch)
            mcp_buf_putc(&st->json, ']');
        out = st->json; /* moved, not copied: the stream is final, nothing more is added */
        mcp_buf_init(&st->json, NULL, 0, 0);
        if (st->nresp) status = st->json_status;
        end = true;
    } else if (st->mode == MODE_SSE) {
        if (!st->started) {
            start_sse = true;
            st->started = true;
            if (st->priming)
                mcp_buf_printf(&out, "id: %u-%llu\nretry: %u\ndata: \n\n", (unsigned)st->num,
                               (unsigned long long)st->sent_seq, SSE_RETRY_MS);
        }
        take_events_locked(st, &out);
        end = st->final || st->close_req;
    }
    if (end) {
        if (was_started) sse_unlink(ws, st);
        st->res = NULL;
        st->ws = NULL;
    }
    bool final = st->final, legacy_post = st->legacy && !st->standalone;
    pthread_mutex_unlock(&st->lock);

    if (end && final) record_latency(ws, st->t0_ns); /* before the bytes: /metrics may follow */
    if (json) {
        if (xname[0]) http_response_header(res, xname, xvalue);
        if (status == 503) {
            http_response_header(res, "Retry-After", "1");
            atomic_fetch_add_explicit(&ws->c.shed, 1, memory_order_relaxed);
        }
        if (status >= 400) count_error(ws);
        http_response_send(res, status, out.len ? "application/json" : NULL, out.data, out.len);
    } else if (start_sse || out.len || end) {
        if (start_sse) {
            if (xname[0]) http_response_header(res, xname, xvalue);
            http_response_header(res, "Cache-Control", "no-cache");
            http_response_start_stream(res, 200, "text/event-stream");
            if (!end) sse_link(ws, st); /* still ours: only this thread lets res go */
        }
        if (out.len) http_response_write_chunk(res, out.data, out.len);
        if (end) http_response_end(res);
    }
    mcp_buf_free(&out);
    if (end) {
        /* the response's reference; a finished legacy POST stream leaves its session */
        if (final && legacy_post) session_drop_stream(st->sess, st);
        stream_unref(st);
    }
    stream_unref(st); /* the wakeup's reference */
}

/* Pumps st after its handle call on the owning loop if the sink asked for it. */
static void pump_now(hstream *st)
{
    stream_ref(st);
    pthread_mutex_lock(&st->lock);
    bool busy = st->wake_pending;
    pthread_mutex_unlock(&st->lock);
    if (busy) { /* a posted pump will do it */
        stream_unref(st);
        return;
    }
    pump(st);
}

/* The connection of st's response went away (loop thread of st->ws). */
static void on_abort(http_response *res, void *ud)
{
    hstream *st = ud;
    wstate *ws = current_ws(st->h);
    pthread_mutex_lock(&st->lock);
    bool mine = st->res == res;
    if (mine) { /* unlinked before res goes: then another worker may attach and link st */
        sse_unlink(ws, st);
        st->res = NULL;
        st->ws = NULL;
    }
    bool legacy = st->legacy, final = st->final;
    pthread_mutex_unlock(&st->lock);
    if (!mine) return;
    /* stateless: a client that leaves cancels; also while draining, since st is freed below
     * and the engine must never be handed it again (a listen stream ends at shutdown) */
    if (!legacy && !final) mcp_conn_cancel_tag(ws->modern, st);
    http_response_end(res);
    if (legacy && final && !st->standalone) session_drop_stream(st->sess, st);
    stream_unref(st);
}

/* ---- sessions ------------------------------------------------------------------------------ */

static size_t sess_hash(const mcp_http *h, const char *id)
{
    uint64_t x = 1469598103934665603ull;
    for (const char *p = id; *p; p++) x = (x ^ (unsigned char)*p) * 1099511628211ull;
    return (size_t)(x & (h->nbuckets - 1));
}

/* Returns the live session with that id, with a reference, or NULL. Any thread. */
static session *session_find(mcp_http *h, const char *id)
{
    if (!id || strlen(id) != 32) return NULL;
    pthread_rwlock_rdlock(&h->sess_lock);
    session *s = h->buckets[sess_hash(h, id)];
    while (s && strcmp(s->id, id)) s = s->hnext;
    if (s) atomic_fetch_add(&s->refs, 1);
    pthread_rwlock_unlock(&h->sess_lock);
    return s;
}

static void session_unref(session *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    pthread_mutex_destroy(&s->handle_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static session *session_new(mcp_http *h)
{
    session *s = mcp_xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1); /* the creator's */
    s->h = h;
    unsigned char r[16];
    if (mcp_random_small(r, sizeof r) < 0) abort(); /* a guessable id is worse than none */
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        s->id[2 * i] = hex[r[i] >> 4];
        s->id[2 * i + 1] = hex[r[i] & 15];
    }
    s->id[32] = '\0';
    pthread_mutex_init(&s->handle_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    s->next_num = 1;
    atomic_init(&s->last_active, rt_now_ms());
    return s;
}

static void session_insert(mcp_http *h, session *s)
{
    atomic_fetch_add(&s->refs, 1); /* the table's */
    pthread_rwlock_wrlock(&h->sess_lock);
    size_t b = sess_hash(h, s->id);
    s->hnext = h->buckets[b];
    h->buckets[b] = s;
    pthread_rwlock_unlock(&h->sess_lock);
    atomic_fetch_add(&h->sessions_total, 1);
}

/* Detaches a stream from its response wherever it is (posted to the owning worker). */
static void end_stream_msg(void *arg)
{
    hstream *st = arg;
    wstate *ws = current_ws(st->h);
    pthread_mutex_lock(&st->lock);
    http_response *res = st->ws == ws ? st->res : NULL;
    bool started = st->started;
    if (res) {
        sse_unlink(ws, st);
        st->res = NULL;
        st->ws = NULL;
    }
    pthread_mutex_unlock(&st->lock);
    if (res) {
        if (started)
            http_response_end(res);
        else
            send_error(res, 404, -32001, "Session not found", NULL, NULL, NULL);
        stream_unref(st); /* the response's */
    }
    stream_unref(st); /* the message's */
}

static void stream_end_async(hstream *st)
{
    pthread_mutex_lock(&st->lock);
    wstate *ws = st->res ? st->ws : NULL;
    pthread_mutex_unlock(&st->lock);
    if (!ws) return;
    stream_ref(st);
    if (rt_worker_post(ws->w, end_stream_msg, st) < 0) stream_unref(st);
}

/* Ends a session: out of the table (if still there), conn closed, streams ended. Any thread
 * but never with a session or stream lock held. Returns false if it was already ended. */
static bool session_end(mcp_http *h, session *s)
{
    bool in_table = false;
    pthread_rwlock_wrlock(&h->sess_lock);
    for (session **p = &h->buckets[sess_hash(h, s->id)]; *p; p = &(*p)->hnext)
        if (*p == s) {
            *p = s->hnext;
            in_table = true;
            break;
        }
    pthread_rwlock_unlock(&h->sess_lock);
    if (!in_table) return false;
    atomic_fetch_sub(&h->nsessions, 1);
    mcp_conn_close(s->conn); /* no sink call after this */
    pthread_mutex_lock(&s->lock);
    s->ended = true;
    hstream *list = s->streams, *get = s->get;
    s->streams = NULL;
    s->get = NULL;
    s->nstreams = 0;
    pthread_mutex_unlock(&s->lock);
    while (list) {
        hstream *n = list->snext;
        pthread_mutex_lock(&list->lock);
        if (list->counted) atomic_fetch_sub(&s->active, 1);
        list->counted = false;
        list->final = true;
        pthread_mutex_unlock(&list->lock);
        stream_end_async(list);
        stream_unref(list);
        list = n;
    }
    if (get) {
        stream_end_async(get);
        stream_unref(get);
    }
    session_unref(s); /* the table's */
    return true;
}

/* ---- request handling ---------------------------------------------------------------------- */

typedef struct req_ctx {
    mcp_http *h;
    wstate *ws;
    http_request *req;
    http_response *res;
    bool modern;
} req_ctx;

static const char *req_get_header(const void *hctx, const char *name)
{
    return http_header_get(hctx, name);
}

static void fill_info(const http_request *req, mcp_msg_info *info)
{
    info->protocol_version_header = req->mcp_protocol_version;
    info->method_header = req->mcp_method;
    info->name_header = req->mcp_name;
    info->get_header = req_get_header;
    info->hctx = req;
}

/* A batch whose answers are not all in when its handle call returns goes out as SSE when the
 * client accepts it, so that what its slow requests send before their answers (progress,
 * requests to the client) is delivered: the answers already gathered as a JSON array (ours,
 * well-formed) become one event each. Called with st->lock held. */
static void batch_to_sse_locked(hstream *st)
{
    const char *p = st->json.data, *end = p + st->json.len;
    if (p < end && *p == '[') p++;
    while (p < end) {
        const char *start = p;
        int depth = 0;
        bool str = false;
        for (; p < end; p++) {
            char ch = *p;
            if (str) {
                if (ch == '\\')
                    p++;
                else if (ch == '"')
                    str = false;
            } else if (ch == '"') {
                str = true;
            } else if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (--depth == 0) {
                    p++;
                    break;
                }
            }
        }
        if (p > start) event_add_locked(st, start, (size_t)(p - start));
        if (p < end && *p == ',') p++;
    }
    st->json.len = 0;
    st->mode = MODE_SSE;
}

/* Hands the body to conn with st as the tag and answers: 202 when nothing will come. With
 * hold, an answer ready at return is not written yet: *held says whether the caller must
 * pump_now(st) (legacy_initialize publishes the session first). */
static int run_request(req_ctx *r, mcp_conn *conn, hstream *st, session *sess, bool *held)
{
    http_request *req = r->req;
    mcp_msg_info info;
    fill_info(req, &info);
    const char *p = req->body;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    st->batch = *p == '[';
    if (st->batch) st->expected = -1;
    st->accept_json = accepts(req->accept, "application/json");
    st->accept_sse = accepts(req->accept, "text/event-stream");
    st->t0_ns = rt_now_ns();
    if (sess) {
        atomic_fetch_add(&sess->active, 1);
        st->counted = true;
        const char *v = mcp_conn_protocol_version(conn);
        st->priming = v && strcmp(v, "2025-11-25") >= 0;
    }
    tl_req = st;
    tl_req_wake = false;
    if (sess) pthread_mutex_lock(&sess->handle_lock);
    int n = mcp_conn_handle(conn, req->body, req->body_len, &info, st);
    if (sess) pthread_mutex_unlock(&sess->handle_lock);
    tl_req = NULL;
    if (n <= 0) { /* notifications or responses only: nothing will be sent for st */
        pthread_mutex_lock(&st->lock);
        st->res = NULL;
        st->ws = NULL;
        if (st->counted) session_request_done(sess);
        st->counted = false;
        pthread_mutex_unlock(&st->lock);
        http_response_send(r->res, 202, NULL, NULL, 0);
        stream_unref(st);
        return n;
    }
    pthread_mutex_lock(&st->lock);
    if (st->batch) {
        st->expected = n;
        if (!st->final && st->nresp + st->nend >= n) {
            st->final = true;
            if (st->counted) session_request_done(sess);
            st->counted = false;
        }
    }
    bool wake = tl_req_wake || (st->batch && st->final);
    if (st->batch && st->mode == MODE_JSON && !st->final && st->accept_sse) {
        batch_to_sse_locked(st); /* some answers come later: progress may come first */
        wake = true;
    }
    pthread_mutex_unlock(&st->lock);
    http_response_on_abort(r->res, on_abort, st);
    if (held)
        *held = wake;
    else if (wake)
        pump_now(st);
    return n;
}

static void handle_modern(req_ctx *r)
{
    if (r->req->method != HTTP_POST) {
        count_error(r->ws);
        send_error(r->res, 405, -32000,
                   "Method not allowed: the 2026-07-28 protocol uses POST only", NULL, "Allow",
                   "POST");
        return;
    }
    hstream *st = stream_new(r->h, NULL, r->ws, r->res);
    run_request(r, r->ws->modern, st, NULL, NULL);
}

static void legacy_post(req_ctx *r, session *s)
{
    hstream *st = stream_new(r->h, s, r->ws, r->res);
    st->legacy = true;
    pthread_mutex_lock(&s->lock);
    st->num = s->next_num++;
    /* kept for resumption: the session's list holds a reference */
    if (!s->ended) {
        stream_ref(st);
        st->snext = s->streams;
        s->streams = st;
        s->nstreams++;
    }
    hstream *evict = NULL;
    if (s->nstreams > SESSION_MAX_STREAMS) { /* forget the oldest finished, undelivered one */
        hstream **pp = NULL;
        for (hstream **p = &s->streams; *p; p = &(*p)->snext)
            if ((*p)->final && !(*p)->res) pp = p;
        if (pp) {
            evict = *pp;
            *pp = evict->snext;
            s->nstreams--;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (evict) stream_unref(evict);
    atomic_store_explicit(&s->last_active, rt_now_ms(), memory_order_relaxed);
    stream_ref(st); /* ours, to look at it after the call */
    int n = run_request(r, s->conn, st, s, NULL);
    /* a request that produced nothing, or whose answer went out as JSON, needs no replay */
    pthread_mutex_lock(&st->lock);
    bool drop = n <= 0 || (st->final && st->mode != MODE_SSE);
    pthread_mutex_unlock(&st->lock);
    if (drop) session_drop_stream(s, st);
    stream_unref(st);
}

static void legacy_initialize(req_ctx *r)
{
    mcp_http *h = r->h;
    if (atomic_load(&h->nsessions) >= h->o.max_sessions) {
        char id[64];
        body_id(r->req->body, r->req->body_len, id, sizeof id);
        atomic_fetch_add_explicit(&r->ws->c.shed, 1, memory_order_relaxed);
        count_error(r->ws);
        send_error(r->res, 503, -32000, "Too many sessions; retry later", id, "Retry-After", "1");
        return;
    }
    session *s = session_new(h);
    mcp_conn_options co = {.mode = MCP_CONN_HTTP_LEGACY,
                           .sink = {.send = session_sink, .ud = s},
                           .exec = NULL,
                           .max_message = h->o.max_body};
    co.exec = http_exec;
    co.exec_ud = h;
    s->conn = mcp_conn_new(h->srv, &co);
    atomic_fetch_add(&h->nsessions, 1);
    hstream *st = stream_new(h, s, r->ws, r->res);
    st->legacy = true;
    st->num = s->next_num++;
    snprintf(st->extra_name, sizeof st->extra_name, "Mcp-Session-Id");
    snprintf(st->extra_value, sizeof st->extra_value, "%s", s->id);
    /* initialize is answered inline; the answer is held until the session is in the table (a
     * client may use the id on another connection, on another worker, the moment it reads it)
     * or, when initialize failed, until the id is taken off the answer */
    stream_ref(st);
    bool held = false;
    run_request(r, s->conn, st, NULL, &held);
    if (mcp_conn_initialized(s->conn)) {
        session_insert(h, s);
        mcp_log(MCP_LOGL_DEBUG, "http: session %.8s... created", s->id);
    } else {
        pthread_mutex_lock(&st->lock);
        st->extra_name[0] = '\0';
        pthread_mutex_unlock(&st->lock);
        atomic_fetch_sub(&h->nsessions, 1);
        mcp_conn_close(s->conn);
    }
    if (held) pump_now(st);
    stream_unref(st);
    session_unref(s); /* the creator's */
}

/* A resume (GET with Last-Event-ID) of a stream whose old response is still attached: a
 * client that dropped a connection and reconnected at once can be faster than our sight of the
 * old connection's end (it may live on another worker). It waits, up to RESUME_WAIT_MS, checked
 * every tick; then 409. */
typedef struct resume_wait {
    struct resume_wait *next;
    hstream *st; /* referenced */
    http_response *res;
    uint64_t after, deadline;
    bool aborted; /* res's connection went away */
} resume_wait;

#define RESUME_WAIT_MS 2000

static void on_wait_abort(http_response *res, void *ud)
{
    ((resume_wait *)ud)->aborted = true;
}

/* Attaches res (owning loop thread of ws) to st and starts pumping. Returns false when st is
 * still attached to another response. On success st's reference (the caller's) becomes the
 * response's. */
static bool attach_stream(wstate *ws, hstream *st, http_response *res, bool resume, uint64_t after)
{
    pthread_mutex_lock(&st->lock);
    if (st->res) {
        pthread_mutex_unlock(&st->lock);
        return false;
    }
    st->res = res;
    st->ws = ws;
    st->started = false;
    st->mode = MODE_SSE;
    st->close_req = false;
    st->t0_ns = rt_now_ns();
    if (resume)
        st->sent_seq = after < st->seq ? after : st->seq;
    else
        st->sent_seq = st->seq;
    if (!st->standalone) st->priming = false; /* a resumed POST stream: events only */
    pthread_mutex_unlock(&st->lock);
    http_response_on_abort(res, on_abort, st);
    stream_ref(st); /* for pump's wakeup reference */
    pump(st);       /* consumes the wakeup reference; st's own ref is the response's */
    return true;
}

static void legacy_get(req_ctx *r, session *s)
{
    http_request *req = r->req;
    if (!accepts(req->accept, "text/event-stream") || !req->accept) {
        count_error(r->ws);
        send_error(r->res, 406, -32000, "Not Acceptable: GET needs Accept: text/event-stream", NULL,
                   NULL, NULL);
        return;
    }
    hstream *st = NULL;
    uint64_t after = 0;
    bool resume = req->last_event_id != NULL;
    if (resume) {
        unsigned num;
        unsigned long long seq;
        char tail;
        if (sscanf(req->last_event_id, "%u-%llu%c", &num, &seq, &tail) != 2) {
            count_error(r->ws);
            send_error(r->res, 400, -32000, "Bad Request: malformed Last-Event-ID", NULL, NULL,
                       NULL);
            return;
        }
        pthread_mutex_lock(&s->lock);
        if (num == 0)
            st = s->get;
        else
            for (hstream *x = s->streams; x; x = x->snext)
                if (x->num == num) st = x;
        if (st) stream_ref(st);
        pthread_mutex_unlock(&s->lock);
        if (!st) {
            count_error(r->ws);
            send_error(r->res, 404, -32000, "Not Found: no stream to resume for that Last-Event-ID",
                       NULL, NULL, NULL);
            return;
        }
        after = seq;
    } else {
        pthread_mutex_lock(&s->lock);
        if (!s->get && !s->ended) {
            s->get = stream_new(r->h, s, NULL, NULL);
            s->get->legacy = true;
            s->get->standalone = true;
            s->get->num = 0;
            s->get->mode = MODE_SSE;
            s->get->expected = 0x7fffffff;
            s->get->accept_sse = true;
            s->get->accept_json = false;
            const char *v = mcp_conn_protocol_version(s->conn);
            s->get->priming = v && strcmp(v, "2025-11-25") >= 0;
        }
        st = s->get;
        if (st) stream_ref(st);
        pthread_mutex_unlock(&s->lock);
        if (!st) {
            send_error(r->res, 404, -32001, "Session not found", NULL, NULL, NULL);
            return;
        }
    }
    if (attach_stream(r->ws, st, r->res, resume, after)) return;
    if (resume) { /* most likely the client's old connection is gone and we have not seen it */
        resume_wait *rw = mcp_xcalloc(1, sizeof *rw);
        rw->st = st; /* our reference moves here */
        rw->res = r->res;
        rw->after = after;
        rw->deadline = rt_now_ms() + RESUME_WAIT_MS;
        rw->next = r->ws->waits;
        r->ws->waits = rw;
        http_response_on_abort(r->res, on_wait_abort, rw);
        return;
    }
    stream_unref(st);
    count_error(r->ws);
    send_error(r->res, 409, -32000, "Conflict: this stream is already open on another request",
               NULL, NULL, NULL);
}

/* Tries the resume waits of this worker (its loop thread, each tick): attaches those whose
 * stream is free, answers 409 to those past their deadline (or all, with force). */
static void resume_waits(wstate *ws, uint64_t now, bool force)
{
    for (resume_wait **p = &ws->waits; *p;) {
        resume_wait *rw = *p;
        bool done = rw->aborted;
        if (!done && attach_stream(ws, rw->st, rw->res, true, rw->after)) {
            done = true;
            rw->st = NULL; /* the reference went to the response */
        } else if (!done && (force || now >= rw->deadline)) {
            count_error(ws);
            send_error(rw->res, 409, -32000,
                       "Conflict: this stream is still open on another connection", NULL, NULL,
                       NULL);
            done = true;
        }
        if (!done) {
            p = &rw->next;
            continue;
        }
        *p = rw->next;
        if (rw->st) stream_unref(rw->st);
        free(rw);
    }
}

/* Whether a session-less legacy POST is an initialize request (a single JSON-RPC object whose
 * method is "initialize"). Parsed properly: an argument that says "initialize" is not one. */
static bool is_initialize(const char *body, size_t len)
{
    if (!body || !len) return false;
    /* "initialize" appears literally unless escapes spell it: otherwise no parse is needed */
    if (!memmem(body, len, "initialize", 10) && !memchr(body, '\\', len)) return false;
    char buf[2048];
    mcp_arena a;
    mcp_arena_init(&a, buf, sizeof buf);
    json_error je;
    json_value *v = json_parse(body, len, &a, &json_default_limits, &je);
    const json_value *m = v && v->type == JSON_OBJECT ? json_get(v, "method") : NULL;
    bool yes = m && m->type == JSON_STRING && m->len == 10 && !memcmp(m->u.str, "initialize", 10);
    mcp_arena_free(&a);
    return yes;
}

static void handle_legacy(req_ctx *r)
{
    http_request *req = r->req;
    const char *sid = req->mcp_session_id;
    if (!sid) {
        if (req->method == HTTP_POST && is_initialize(req->body, req->body_len)) {
            legacy_initialize(r);
            return;
        }
        char id[64];
        body_id(req->body, req->body_len, id, sizeof id);
        count_error(r->ws);
        send_error(r->res, 400, -32000, "Bad Request: Mcp-Session-Id header is required", id, NULL,
                   NULL);
        return;
    }
    session *s = session_find(r->h, sid);
    if (!s) {
        char id[64];
        body_id(req->body, req->body_len, id, sizeof id);
        count_error(r->ws);
        send_error(r->res, 404, -32001, "Session not found", id, NULL, NULL);
        return;
    }
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

/* ---- the pipeline --------------------------------------------------------------------------- */

/* Each stage returns true when it answered the request (the pipeline stops there). */
typedef bool (*stage_fn)(req_ctx *r);

/* localhost, [::1], or a dotted-decimal 127.x.y.z (not a DNS name such as 127.evil.example). */
static bool host_is_loopback(const char *host, size_t n)
{
    if ((n == 9 && !strncasecmp(host, "localhost", 9)) || (n == 5 && !strncmp(host, "[::1]", 5)) ||
        (n == 3 && !strncmp(host, "::1", 3)))
        return true;
    if (n < 7 || n > 15 || strncmp(host, "127.", 4)) return false;
    int dots = 0, digits = 0;
    for (size_t i = 4; i < n; i++) {
        if (host[i] == '.') {
            if (!digits) return false;
            dots++;
            digits = 0;
        } else if (host[i] >= '0' && host[i] <= '9') {
            if (++digits > 3) return false;
        } else {
            return false;
        }
    }
    return dots == 2 && digits;
}

/* Splits "host[:port]" / "[v6]:port": returns the host's length. */
static size_t host_part(const char *hp)
{
    if (hp[0] == '[') {
        const char *e = strchr(hp, ']');
        return e ? (size_t)(e - hp) + 1 : strlen(hp);
    }
    const char *c = strchr(hp, ':');
    return c ? (size_t)(c - hp) : strlen(hp);
}

static bool listed(char *const *list, size_t n, const char *v, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !strncasecmp(list[i], v, len)) return true;
    return false;
}

static bool origin_ok(const mcp_http *h, const http_request *req)
{
    const char *o = req->origin;
    if (!o || h->any_origin) return true;
    if (listed(h->origins, h->norigins, o, strlen(o))) return true;
    const char *hp = NULL;
    if (!strncasecmp(o, "http://", 7))
        hp = o + 7;
    else if (!strncasecmp(o, "https://", 8))
        hp = o + 8;
    if (!hp || strchr(hp, '/')) return false;
    if (host_is_loopback(hp, host_part(hp)))
        return h->loopback || listed(h->hosts, h->nhosts, hp, host_part(hp));
    /* same origin as the Host the client addressed */
    return !h->loopback && req->host && !strcasecmp(hp, req->host);
}

static bool host_ok(const mcp_http *h, const http_request *req)
{
    if (h->any_host || !h->loopback) return true;
    const char *hp = req->host;
    if (!hp) return false;
    size_t n = host_part(hp);
    return host_is_loopback(hp, n) || listed(h->hosts, h->nhosts, hp, n);
}

/* Errors are counted before they are sent: a client may read /metrics right after. */
static bool stage_guard(req_ctx *r)
{
    const char *why = !origin_ok(r->h, r->req) ? "Forbidden: Origin is not allowed"
                      : !host_ok(r->h, r->req)
                          ? "Forbidden: Host is not allowed (DNS rebinding protection)"
                          : NULL;
    if (!why) return false;
    count_error(r->ws);
    send_error(r->res, 403, -32000, why, NULL, NULL, NULL);
    return true;
}

static bool stage_admit(req_ctx *r)
{
    if (!atomic_load_explicit(&r->h->draining, memory_order_relaxed)) return false;
    http_response_close_after(r->res);
    count_error(r->ws);
    send_error(r->res, 503, -32000, "Service Unavailable: the server is shutting down", NULL,
               "Retry-After", "1");
    return true;
}

static bool legacy_version(const char *v)
{
    return !strcmp(v, "2025-11-25") || !strcmp(v, "2025-06-18") || !strcmp(v, "2025-03-26") ||
           !strcmp(v, "2024-11-05");
}

static bool stage_validate(req_ctx *r)
{
    http_request *req = r->req;
    const char *pv = req->mcp_protocol_version;
    r->modern = pv && !legacy_version(pv);
    int status = 0;
    const char *why = NULL;
    if (req->method != HTTP_POST && req->method != HTTP_GET && req->method != HTTP_DELETE) {
        status = 405, why = "Method not allowed";
    } else if (req->method == HTTP_POST &&
               (!req->content_type || !ieq_prefix(req->content_type, "application/json") ||
                (req->content_type[16] && req->content_type[16] != ';' &&
                 req->content_type[16] != ' '))) {
        status = 415, why = "Unsupported Media Type: Content-Type must be application/json";
    } else if (req->method == HTTP_POST && !accepts(req->accept, "application/json") &&
               !accepts(req->accept, "text/event-stream")) {
        status = 406,
        why = "Not Acceptable: Accept must allow application/json or text/event-stream";
    } else {
        return false;
    }
    count_error(r->ws);
    send_error(r->res, status, -32000, why, NULL, status == 405 ? "Allow" : NULL,
               r->modern ? "POST" : "GET, POST, DELETE");
    return true;
}

static bool stage_dispatch(req_ctx *r)
{
    if (r->modern)
        handle_modern(r);
    else
        handle_legacy(r);
    return true;
}

static const stage_fn pipeline[] = {stage_guard, stage_admit, stage_validate, stage_dispatch};

/* ---- metrics -------------------------------------------------------------------------------- */

static void write_metrics(mcp_http *h, mcp_buf *b)
{
    uint64_t req = 0, err = 0, shed = 0, sse = 0, lc = 0, ls = 0, lb[NBUCKETS] = {0};
    for (unsigned i = 0; i < h->nworkers; i++) {
        wcounters *c = &h->ws[i].c;
        req += atomic_load_explicit(&c->requests, memory_order_relaxed);
        err += atomic_load_explicit(&c->errors, memory_order_relaxed);
        shed += atomic_load_explicit(&c->shed, memory_order_relaxed);
        sse += atomic_load_explicit(&c->sse_open, memory_order_relaxed);
        lc += atomic_load_explicit(&c->lat_count, memory_order_relaxed);
        ls += atomic_load_explicit(&c->lat_sum_ns, memory_order_relaxed);
        for (int k = 0; k < NBUCKETS; k++)
            lb[k] += atomic_load_explicit(&c->lat_bucket[k], memory_order_relaxed);
    }
    rt_stats rs;
    rt_workers_stats(http_server_workers(h->hs), &rs);
    rt_pool_stats ps;
    rt_pool_stats_get(h->pool, &ps);
#define METRIC(name, type, help, fmt, v)                                                           \
    mcp_buf_printf(b, "# HELP " name " " help "\n# TYPE " name " " type "\n" name " " fmt "\n", v)
    METRIC("mcpd_http_requests_total", "counter", "MCP requests received.", "%llu",
           (unsigned long long)req);
    METRIC("mcpd_http_errors_total", "counter", "MCP requests answered with an HTTP error.", "%llu",
           (unsigned long long)err);
    METRIC("mcpd_connections_open", "gauge", "Open HTTP connections.", "%llu",
           (unsigned long long)rs.conns_open);
    METRIC("mcpd_connections_accepted_total", "counter", "HTTP connections accepted.", "%llu",
           (unsigned long long)rs.conns_accepted);
    METRIC("mcpd_connections_refused_total", "counter", "Connections closed at once (limit).",
           "%llu", (unsigned long long)rs.conns_refused);
    METRIC("mcpd_http_protocol_errors_total", "counter",
           "Malformed requests, timeouts, I/O errors.", "%llu", (unsigned long long)rs.errors);
    METRIC("mcpd_sessions", "gauge", "Live legacy sessions.", "%zu", atomic_load(&h->nsessions));
    METRIC("mcpd_sessions_created_total", "counter", "Legacy sessions created.", "%llu",
           (unsigned long long)atomic_load(&h->sessions_total));
    METRIC("mcpd_sessions_expired_total", "counter", "Legacy sessions ended by idle time-out.",
           "%llu", (unsigned long long)atomic_load(&h->sessions_expired));
    METRIC("mcpd_sse_streams", "gauge", "Open SSE responses.", "%llu", (unsigned long long)sse);
    METRIC("mcpd_shed_total", "counter", "Requests answered 503 (queue or session limit).", "%llu",
           (unsigned long long)shed);
    METRIC("mcpd_pool_queue_depth", "gauge", "Handler calls waiting for a pool thread.", "%llu",
           (unsigned long long)ps.queued);
    METRIC("mcpd_pool_running", "gauge", "Handler calls running on the pool.", "%llu",
           (unsigned long long)ps.running);
    METRIC("mcpd_pool_rejected_total", "counter", "Handler calls refused: queue full.", "%llu",
           (unsigned long long)ps.rejected);
#undef METRIC
    mcp_buf_puts(b, "# HELP mcpd_request_duration_seconds Time from request to complete answer.\n"
                    "# TYPE mcpd_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int k = 0; k < NBUCKETS; k++) {
        cum += lb[k];
        mcp_buf_printf(b, "mcpd_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_le[k],
                       (unsigned long long)cum);
    }
    mcp_buf_printf(b,
                   "mcpd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                   "mcpd_request_duration_seconds_sum %.9f\n"
                   "mcpd_request_duration_seconds_count %llu\n",
                   (unsigned long long)lc, (double)ls / 1e9, (unsigned long long)lc);
}

/* ---- HTTP server callbacks ------------------------------------------------------------------ */

static void on_request(http_request *req, http_response *res, void *ud)
{
    mcp_http *h = ud;
    wstate *ws = current_ws(h);
    if (strcmp(req->path, h->path)) {
        if (!strcmp(req->path, "/metrics") && req->method == HTTP_GET && host_ok(h, req)) {
            mcp_buf b;
            mcp_buf_init(&b, NULL, 0, 0);
            write_metrics(h, &b);
            http_response_send(res, 200, "text/plain; version=0.0.4", b.data, b.len);
            mcp_buf_free(&b);
            return;
        }
        send_error(res, 404, -32000, "Not Found", NULL, NULL, NULL);
        return;
    }
    atomic_fetch_add_explicit(&ws->c.requests, 1, memory_order_relaxed);
    req_ctx r = {.h = h, .ws = ws, .req = req, .res = res};
    for (size_t i = 0; i < sizeof pipeline / sizeof *pipeline; i++)
        if (pipeline[i](&r)) return;
}

static void keepalive_tick(rt_worker *w, uint64_t now, void *ud)
{
    mcp_http *h = ud;
    wstate *ws = current_ws(h);
    if (ws->waits) resume_waits(ws, now, false);
    if (now - ws->last_keepalive < h->o.sse_keepalive_ms) return;
    ws->last_keepalive = now;
    static const char ka[] = ": keep-alive\n\n";
    for (hstream *st = ws->sse; st; st = st->wnext) {
        pthread_mutex_lock(&st->lock);
        http_response *res = st->ws == ws ? st->res : NULL;
        pthread_mutex_unlock(&st->lock);
        if (res) http_response_write_chunk(res, ka, sizeof ka - 1);
    }
}

/* ---- the executor ---------------------------------------------------------------------------- */

static int http_exec(void *ud, void (*fn)(void *), void *arg)
{
    return rt_pool_exec(((mcp_http *)ud)->pool, fn, arg);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static bool bind_is_loopback(const char *host)
{
    return !strncmp(host, "127.", 4) || !strcmp(host, "::1") || !strcmp(host, "localhost");
}

static void free_http(mcp_http *h)
{
    for (size_t i = 0; i < h->norigins; i++) free(h->origins[i]);
    for (size_t i = 0; i < h->nhosts; i++) free(h->hosts[i]);
    free(h->path);
    free(h->buckets);
    free(h->ws);
    pthread_rwlock_destroy(&h->sess_lock);
    free(h);
}

mcp_http *mcp_http_start(mcp_server *srv, const mcp_http_options *opts, char *err, size_t errsize)
{
    mcp_http_options o = opts ? *opts : (mcp_http_options){0};
    if (!o.host) o.host = "127.0.0.1";
    if (!o.path) o.path = "/mcp";
    if (!o.queue_max) o.queue_max = DEFAULT_QUEUE_MAX;
    if (!o.max_sessions) o.max_sessions = DEFAULT_MAX_SESSIONS;
    if (!o.session_idle_ms) o.session_idle_ms = DEFAULT_SESSION_IDLE;
    if (!o.sse_keepalive_ms) o.sse_keepalive_ms = DEFAULT_KEEPALIVE_MS;
    if (!o.max_body) o.max_body = HTTP_DEFAULT_MAX_BODY;
    if (!o.drain_ms) o.drain_ms = DEFAULT_DRAIN_MS;
    if (o.path[0] != '/') {
        snprintf(err, errsize, "path must start with '/': %s", o.path);
        return NULL;
    }
    if (o.n_allowed_origins > MAX_ALLOWED || o.n_allowed_hosts > MAX_ALLOWED) {
        snprintf(err, errsize, "at most %d allowed origins and hosts", MAX_ALLOWED);
        return NULL;
    }
    mcp_http *h = mcp_xcalloc(1, sizeof *h);
    h->srv = srv;
    h->o = o;
    h->path = mcp_xstrndup(o.path, strlen(o.path));
    h->o.path = h->path;
    for (size_t i = 0; i < o.n_allowed_origins; i++) {
        if (!strcmp(o.allowed_origins[i], "*")) h->any_origin = true;
        h->origins[h->norigins++] =
            mcp_xstrndup(o.allowed_origins[i], strlen(o.allowed_origins[i]));
    }
    for (size_t i = 0; i < o.n_allowed_hosts; i++) {
        if (!strcmp(o.allowed_hosts[i], "*")) h->any_host = true;
        h->hosts[h->nhosts++] = mcp_xstrndup(o.allowed_hosts[i], strlen(o.allowed_hosts[i]));
    }
    h->o.allowed_origins = h->o.allowed_hosts = NULL;
    h->loopback = bind_is_loopback(o.host);
    pthread_rwlock_init(&h->sess_lock, NULL);
    h->nbuckets = 1024;
    while (h->nbuckets < o.max_sessions && h->nbuckets < (1u << 20)) h->nbuckets *= 2;
    h->buckets = mcp_xcalloc(h->nbuckets, sizeof *h->buckets);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    h->nworkers = o.workers ? o.workers : (unsigned)(cores > 0 ? cores : 1);
    h->ws = mcp_xcalloc(h->nworkers, sizeof *h->ws);
    rt_pool_config pc = {
        .threads = o.threads, .queue_max = (unsigned)o.queue_max, .name = "mcp-http"};
    h->pool = rt_pool_new(&pc);
    if (!h->pool) {
        snprintf(err, errsize, "cannot start the work pool: %s", strerror(errno));
        free_http(h);
        return NULL;
    }
    for (unsigned i = 0; i < h->nworkers; i++) {
        h->ws[i].h = h;
        mcp_conn_options co = {.mode = MCP_CONN_HTTP_MODERN,
                               .sink = {.send = modern_sink, .ud = &h->ws[i]},
                               .exec = http_exec,
                               .exec_ud = h,
                               .max_message = o.max_body};
        h->ws[i].modern = mcp_conn_new(srv, &co);
    }
    http_server_config hc = {
        .host = o.host,
        .port = o.port,
        .workers = h->nworkers,
        .max_conns = o.max_conns,
        .header_timeout_ms = o.header_timeout_ms,
        .idle_timeout_ms = o.idle_timeout_ms,
        .limits = {.max_body = o.max_body},
        .on_request = on_request,
        .on_tick = keepalive_tick,
        .ud = h,
    };
    int rc = http_server_start(&h->hs, &hc);
    if (rc) {
        snprintf(err, errsize, "cannot listen on %s:%d: %s", o.host, o.port, strerror(-rc));
        for (unsigned i = 0; i < h->nworkers; i++) mcp_conn_close(h->ws[i].modern);
        rt_pool_free(h->pool);
        free_http(h);
        return NULL;
    }
    bool v6 = strchr(o.host, ':') != NULL;
    mcp_log(MCP_LOGL_INFO, "http: listening on http://%s%s%s:%d%s", v6 ? "[" : "", o.host,
            v6 ? "]" : "", http_server_port(h->hs), h->path);
    return h;
}

int mcp_http_port(const mcp_http *h)
{
    return http_server_port(h->hs);
}

/* Ends idle sessions; expires unanswered server-to-client requests. Any non-worker thread. */
/* Whether the session's standalone GET stream is open: a listening client is active (its
 * idle time then counts from now). Lock order: session, then stream. */
static bool session_listening(session *s, uint64_t now)
{
    bool yes = false;
    pthread_mutex_lock(&s->lock);
    if (s->get) {
        pthread_mutex_lock(&s->get->lock);
        yes = s->get->res != NULL;
        pthread_mutex_unlock(&s->get->lock);
    }
    pthread_mutex_unlock(&s->lock);
    if (yes) atomic_store_explicit(&s->last_active, now, memory_order_relaxed);
    return yes;
}

void mcp_http_sweep(mcp_http *h)
{
    uint64_t now = rt_now_ms();
    size_t cap = 64, n = 0;
    session **expired = mcp_xmalloc(cap * sizeof *expired);
    for (unsigned i = 0; i < h->nworkers; i++) mcp_conn_tick(h->ws[i].modern, now); /* timeouts */
    pthread_rwlock_rdlock(&h->sess_lock);
    for (size_t b = 0; b < h->nbuckets; b++)
        for (session *s = h->buckets[b]; s; s = s->hnext) {
            mcp_conn_tick(s->conn, now);
            uint64_t last = atomic_load_explicit(&s->last_active, memory_order_relaxed);
            if (atomic_load(&s->active) <= 0 && now > last && now - last >= h->o.session_idle_ms &&
                !session_listening(s, now)) {
                if (n == cap) expired = mcp_xrealloc(expired, (cap *= 2) * sizeof *expired);
                atomic_fetch_add(&s->refs, 1);
                expired[n++] = s;
            }
        }
    pthread_rwlock_unlock(&h->sess_lock);
    for (size_t i = 0; i < n; i++) {
        if (session_end(h, expired[i])) {
            atomic_fetch_add(&h->sessions_expired, 1);
            mcp_log(MCP_LOGL_DEBUG, "http: session %.8s... expired", expired[i]->id);
        }
        session_unref(expired[i]);
    }
    free(expired);
}

static unsigned inflight(mcp_http *h)
{
    unsigned n = 0;
    for (unsigned i = 0; i < h->nworkers; i++) n += mcp_conn_inflight(h->ws[i].modern);
    pthread_rwlock_rdlock(&h->sess_lock);
    for (size_t b = 0; b < h->nbuckets; b++)
        for (session *s = h->buckets[b]; s; s = s->hnext) n += mcp_conn_inflight(s->conn);
    pthread_rwlock_unlock(&h->sess_lock);
    return n;
}

static void end_worker_streams(void *arg)
{
    wstate *ws = arg;
    resume_waits(ws, rt_now_ms(), true);
    while (ws->sse) {
        hstream *st = ws->sse;
        pthread_mutex_lock(&st->lock);
        http_response *res = st->ws == ws ? st->res : NULL;
        sse_unlink(ws, st);
        st->res = NULL;
        st->ws = NULL;
        pthread_mutex_unlock(&st->lock);
        if (res) {
            http_response_end(res);
            stream_unref(st);
        }
    }
}

void mcp_http_stop(mcp_http *h)
{
    if (!h) return;
    atomic_store(&h->draining, true);
    http_server_stop_accepting(h->hs);
    mcp_server_cancel_tasks(h->srv); /* tasks are not requests: nobody waits on them here */
    uint64_t deadline = rt_now_ms() + h->o.drain_ms;
    unsigned n;
    while ((n = inflight(h)) > 0 && rt_now_ms() < deadline) usleep(5000);
    if (n)
        mcp_log(MCP_LOGL_WARN, "http: %u requests still in flight after %u ms; abandoning them", n,
                h->o.drain_ms);
    /* listen streams get their final result; then every SSE response ends */
    for (unsigned i = 0; i < h->nworkers; i++) mcp_conn_shutdown(h->ws[i].modern);
    usleep(20000);
    for (unsigned i = 0; i < h->nworkers; i++)
        rt_worker_post(rt_workers_get(http_server_workers(h->hs), i), end_worker_streams,
                       &h->ws[i]);
    usleep(50000); /* let the last chunks reach the sockets */
    /* no sink call may happen once the server stops: close every conn first */
    for (;;) {
        session *s = NULL;
        pthread_rwlock_rdlock(&h->sess_lock);
        for (size_t b = 0; b < h->nbuckets && !s; b++)
            if (h->buckets[b]) {
                s = h->buckets[b];
                atomic_fetch_add(&s->refs, 1);
            }
        pthread_rwlock_unlock(&h->sess_lock);
        if (!s) break;
        session_end(h, s);
        session_unref(s);
    }
    for (unsigned i = 0; i < h->nworkers; i++) mcp_conn_close(h->ws[i].modern);
    http_server_stop(h->hs);
    rt_pool_shutdown(h->pool, true);
    rt_pool_free(h->pool);
    free_http(h);
    mcp_log(MCP_LOGL_INFO, "http: stopped");
}

/* ---- mcp_serve_http: signals and the sweeper ------------------------------------------------- */

/* Watches a stop: a handler that ignores cancellation must not keep the process alive past
 * the drain deadline, and a second signal means "now". Either ends the process with _exit(0)
 * after a log line: nothing can be freed while a handler may still run on it. */
typedef struct stop_watch {
    int sigfd;
    uint32_t grace_ms;
    atomic_bool done;
} stop_watch;

#define STOP_GRACE_MS 5000 /* after drain_ms: streams end, sessions close, the pool joins */

static void *stop_watchdog(void *arg)
{
    stop_watch *sw = arg;
    char drain[64];
    while (read(sw->sigfd, drain, sizeof drain) > 0) { /* the signal that started the stop */
    }
    uint64_t end = rt_now_ms() + sw->grace_ms;
    while (!atomic_load(&sw->done)) {
        uint64_t now = rt_now_ms();
        if (now >= end) {
            mcp_log(MCP_LOGL_ERROR,
                    "http: handlers still running %u ms after the stop began; exiting without them",
                    sw->grace_ms);
            _exit(0);
        }
        struct pollfd p = {.fd = sw->sigfd, .events = POLLIN};
        int t = (int)(end - now < 100 ? end - now : 100);
        if (poll(&p, 1, t) > 0 && !atomic_load(&sw->done)) {
            mcp_log(MCP_LOGL_WARN, "http: second signal: exiting now");
            _exit(0);
        }
    }
    return NULL;
}

int mcp_serve_http(mcp_server *s, const mcp_http_options *opts)
{
    rt_signals sig;
    if (rt_signals_open(&sig) < 0) return 1;
    char err[256] = "";
    mcp_http *h = mcp_http_start(s, opts, err, sizeof err);
    int rc = 0;
    if (!h) {
        mcp_log(MCP_LOGL_ERROR, "http: %s", err);
        rc = 1;
    } else {
        struct pollfd p = {.fd = sig.fd, .events = POLLIN};
        while (poll(&p, 1, 1000) <= 0) mcp_http_sweep(h); /* once a second, and on EINTR */
        mcp_log(MCP_LOGL_INFO, "http: signal received, finishing in-flight work");
        uint32_t drain_ms = opts && opts->drain_ms ? opts->drain_ms : DEFAULT_DRAIN_MS;
        stop_watch sw = {.sigfd = sig.fd, .grace_ms = drain_ms + STOP_GRACE_MS};
        atomic_init(&sw.done, false);
        int fl = fcntl(sig.fd, F_GETFL);
        if (fl >= 0) fcntl(sig.fd, F_SETFL, fl | O_NONBLOCK);
        pthread_t wt;
        bool watching = pthread_create(&wt, NULL, stop_watchdog, &sw) == 0;
        mcp_http_stop(h);
        atomic_store(&sw.done, true);
        if (watching) pthread_join(wt, NULL);
    }
    rt_signals_close(&sig);
    return rc;
}
