/* http_stream.c - streams: one request's answer as JSON or SSE, kept for replay, pumped.
 *
 * Every request gets an hstream, which is the engine's tag for it. The engine's sink (called
 * from any thread, under the conn's lock) turns outputs into the stream's state under the
 * stream's own lock: the JSON answer, or SSE events with ids (kept in a bounded replay list in
 * the legacy era), and then wakes the worker that owns the stream's HTTP response; that worker
 * ("pump") writes what is new. When the sink runs on the owning loop inside the request's own
 * mcp_conn_handle call (inline handlers, engine errors), no wakeup is posted: the request pumps
 * right after the call, which is the whole fast path of a stateless tools/call.
 *
 * A resume (GET with Last-Event-ID) attaches a new response to a stream; one whose old
 * response is still attached waits on its worker's list, checked every tick. A standalone GET
 * without Last-Event-ID attaches too, and is sent the kept events no connection was given. */
#include "http_internal.h"

#include "base/alloc.h"
#include "base/spare.h"
#include "rpc/rpc.h"
#include "rt/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Thread_local hstream *tl_req;  /* the request being handled on this thread */
_Thread_local bool tl_req_wake; /* its pump was asked for during the handle call */

static void pump(hstream *st);

void hstream_ref(hstream *st)
{
    atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
}

static void events_free(event *e)
{
    while (e) {
        event *n = e->next;
        free(e);
        e = n;
    }
}

/* Unlinks st's oldest event (st->lock or the only reference held); returns its size. */
static size_t drop_oldest(hstream *st)
{
    event *o = st->ev_head;
    st->ev_head = o->next;
    if (!st->ev_head) st->ev_tail = NULL;
    st->nev--;
    st->ev_bytes -= o->len;
    size_t n = o->len;
    free(o);
    return n;
}

/* Tells st's session that n bytes of events left its replay window. */
static void unretain(hstream *st, size_t n)
{
    if (st->sess && n) atomic_fetch_sub_explicit(&st->sess->retained, n, memory_order_relaxed);
}

void hstream_unref(hstream *st)
{
    if (atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) != 1) return;
    unretain(st, st->ev_bytes);
    events_free(st->ev_head);
    mcp_buf_free(&st->json);
    pthread_mutex_destroy(&st->lock);
    if (st->sess) session_unref(st->sess);
    mcp_spare_put(MCP_SPARE_STREAM, st);
}

hstream *hstream_new(mcp_http *h, session *sess, wstate *ws, http_response *res)
{
    hstream *st = mcp_spare_take(MCP_SPARE_STREAM, sizeof *st); /* this thread's last freed */
    memset(st, 0, sizeof *st);
    atomic_init(&st->refs, 1);
    pthread_mutex_init(&st->lock, NULL);
    st->h = h;
    st->sess = sess;
    if (sess) session_ref(sess);
    st->ws = ws;
    st->res = res;
    st->expected = 1;
    mcp_buf_init(&st->json, NULL, 0, 0);
    return st;
}

void http_record_latency(wstate *ws, uint64_t t0)
{
    rt_metrics_observe(ws->h->metrics, ws->idx, ws->h->mid.latency, rt_now_ns() - t0);
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
    e->t_ms = rt_now_ms();
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
    if (st->sess) {
        atomic_fetch_add_explicit(&st->sess->retained, e->len, memory_order_relaxed);
        session_watch_any(st->sess); /* its tick prunes the replay window */
    }
    /* The replay window's count and byte bounds: the oldest events go first. */
    const mcp_http_options *o = &st->h->o;
    size_t freed = 0;
    while (st->nev > 1 && (st->nev > o->replay_events || st->ev_bytes > o->replay_bytes))
        freed += drop_oldest(st);
    unretain(st, freed);
}

size_t hstream_prune(hstream *st, uint64_t cutoff_ms, bool force_one)
{
    size_t freed = 0;
    pthread_mutex_lock(&st->lock);
    if (force_one && st->ev_head) freed += drop_oldest(st);
    while (st->ev_head && st->ev_head->t_ms < cutoff_ms) freed += drop_oldest(st);
    pthread_mutex_unlock(&st->lock);
    unretain(st, freed);
    return freed;
}

uint64_t hstream_oldest(hstream *st)
{
    pthread_mutex_lock(&st->lock);
    uint64_t t = st->ev_head ? st->ev_head->t_ms : UINT64_MAX;
    pthread_mutex_unlock(&st->lock);
    return t;
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
    hstream_ref(st);
    if (rt_worker_post(st->ws->w, (void (*)(void *))pump, st) < 0) {
        st->wake_pending = false;
        atomic_fetch_sub_explicit(&st->refs, 1, memory_order_relaxed); /* not the last one */
    }
}

/* Marks st final once every response (or end) it expects is in. Called with st->lock held. */
static void check_final_locked(hstream *st)
{
    if (st->nresp + st->nend >= st->expected && st->expected >= 0 && !st->final) {
        st->final = true;
        if (st->counted) session_request_done(st->sess);
        st->counted = false;
    }
}

static int json_status(mcp_out_status s)
{
    switch (s) {
    case MCP_STATUS_BAD_REQUEST:
        return 400;
    case MCP_STATUS_NOT_FOUND:
        return 404;
    case MCP_STATUS_OVERLOADED:
        return 503;
    default:
        return 200;
    }
}

/* Picks JSON or SSE at the first output; false when the output is to be dropped (a client
 * that takes only JSON loses what precedes the answer). Called with st->lock held. */
static bool decide_mode_locked(hstream *st, const mcp_out *out)
{
    if (st->mode != MODE_UNDECIDED) return true;
    if (out->kind == MCP_OUT_RESPONSE && st->accept_json)
        st->mode = MODE_JSON;
    else if (st->accept_sse)
        st->mode = MODE_SSE;
    else
        return false;
    return true;
}

/* Stores one message of st (a response, notification or request). Called with st->lock held;
 * false when it was dropped. */
static bool store_locked(hstream *st, const mcp_out *out)
{
    if (!decide_mode_locked(st, out)) return false;
    if (out->whole && st->batch && !st->nresp) { /* a rejected batch: one error, no array */
        st->batch = false;
        st->expected = 1;
    }
    if (st->mode == MODE_JSON) {
        if (out->kind != MCP_OUT_RESPONSE) return false;
        if (st->batch) mcp_buf_putc(&st->json, st->nresp ? ',' : '[');
        if (!st->json.len && out->buf && out->buf->owned) { /* taken, not copied */
            mcp_buf_free(&st->json);
            st->json = *out->buf;
            mcp_buf_init(out->buf, NULL, 0, 0);
        } else {
            mcp_buf_append(&st->json, out->data, out->len);
        }
        if (!st->nresp) st->json_status = st->batch ? 200 : json_status(out->status);
    } else {
        event_add_locked(st, out->data, out->len);
    }
    if (out->kind == MCP_OUT_RESPONSE) st->nresp++;
    return true;
}

void hstream_put(hstream *st, const mcp_out *out)
{
    pthread_mutex_lock(&st->lock);
    if (out->kind == MCP_OUT_RESPONSE && st->h->logging && !st->rpc_error)
        st->rpc_error = rpc_response_error_code(out->data, out->len);
    if (out->kind == MCP_OUT_CLOSE_STREAM) {
        if (st->legacy && st->accept_sse && !st->final) {
            st->mode = MODE_SSE;
            st->close_req = true;
            wake_locked(st);
        }
    } else if (out->kind == MCP_OUT_END) { /* a cancelled request: no answer will come */
        if (st->mode == MODE_UNDECIDED) st->mode = st->accept_sse ? MODE_SSE : MODE_JSON;
        st->nend++;
        check_final_locked(st);
        wake_locked(st);
    } else if (store_locked(st, out)) {
        if (out->kind == MCP_OUT_RESPONSE) check_final_locked(st);
        wake_locked(st);
    }
    pthread_mutex_unlock(&st->lock);
}

/* ---- the pump: writes a stream's new output to its response (owning loop thread) ----------- */

static void sse_link(wstate *ws, hstream *st)
{
    st->wprev = NULL;
    st->wnext = ws->sse;
    if (ws->sse) ws->sse->wprev = st;
    ws->sse = st;
    http_metric(ws, ws->h->mid.sse_open, 1);
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
    http_metric(ws, ws->h->mid.sse_open, -1);
}

/* Appends the events after sent_seq to out. */
static void take_events_locked(hstream *st, mcp_buf *out)
{
    for (event *e = st->ev_head; e; e = e->next)
        if (e->seq > st->sent_seq) mcp_buf_append(out, e->data, e->len);
    st->sent_seq = st->seq;
    if (!st->legacy) { /* nothing to replay: drop what was written */
        events_free(st->ev_head);
        st->ev_head = st->ev_tail = NULL;
        st->nev = 0;
        st->ev_bytes = 0;
    }
}

/* What one pump writes, taken from the stream under its lock. */
typedef struct pump_out {
    http_response *res;
    mcp_buf out;
    char xname[32], xvalue[48];
    int status;
    int rpc_error; /* for the access log */
    bool end, start_sse, json, final;
} pump_out;

/* Takes what is new in st into po. Called with st->lock held, on the owning loop thread. */
static void pump_take_locked(hstream *st, wstate *ws, pump_out *po)
{
    bool was_started = st->started;
    memcpy(po->xname, st->extra_name, sizeof po->xname);
    memcpy(po->xvalue, st->extra_value, sizeof po->xvalue);
    if (st->mode == MODE_JSON && st->final) {
        po->json = true;
        if (!st->nresp)
            po->status = 202; /* every request was cancelled: nothing to answer */
        else if (st->batch)
            mcp_buf_putc(&st->json, ']');
        po->out = st->json; /* moved, not copied: the stream is final, nothing more is added */
        mcp_buf_init(&st->json, NULL, 0, 0);
        if (st->nresp) po->status = st->json_status;
        po->end = true;
    } else if (st->mode == MODE_SSE) {
        if (!st->started) {
            po->start_sse = true;
            st->started = true;
            if (st->priming)
                mcp_buf_printf(&po->out, "id: %u-%llu\nretry: %u\ndata: \n\n", (unsigned)st->num,
                               (unsigned long long)st->sent_seq, SSE_RETRY_MS);
        }
        take_events_locked(st, &po->out);
        po->end = st->final || st->close_req;
    }
    if (po->end) {
        if (was_started) sse_unlink(ws, st);
        st->res = NULL;
        st->ws = NULL;
    }
    po->final = st->final;
    po->rpc_error = st->rpc_error;
}

/* Writes po to its response (owning loop thread, no lock held). */
static void pump_write(wstate *ws, hstream *st, pump_out *po)
{
    http_response *res = po->res;
    if (po->rpc_error) http_access_rpc_error(res, po->rpc_error);
    if (po->json) {
        if (po->xname[0]) http_response_header(res, po->xname, po->xvalue);
        if (po->status == 503) { /* shed: come back when the queue should have drained */
            char ra[12];
            snprintf(ra, sizeof ra, "%u", rt_pool_retry_after_s(ws->h->pool));
            http_response_header(res, "Retry-After", ra);
            http_metric(ws, ws->h->mid.shed, 1);
        }
        if (po->status >= 400) http_count_error(ws);
        /* the answer's buffer goes to the socket as it is (from the handler's result on) */
        http_response_send_buf(res, po->status, po->out.len ? "application/json" : NULL, &po->out);
    } else if (po->start_sse || po->out.len || po->end) {
        if (po->start_sse) {
            if (po->xname[0]) http_response_header(res, po->xname, po->xvalue);
            http_response_header(res, "Cache-Control", "no-cache");
            http_response_start_stream(res, 200, "text/event-stream");
            if (!po->end) sse_link(ws, st); /* still ours: only this thread lets res go */
        }
        if (po->out.len) http_response_write_chunk(res, po->out.data, po->out.len);
        if (po->end) http_response_end(res);
    }
}

static void pump(hstream *st)
{
    wstate *ws = http_current_ws(st->h);
    pthread_mutex_lock(&st->lock);
    st->wake_pending = false;
    if (!st->res || st->ws != ws) { /* detached meanwhile, or moved to another worker */
        if (st->res && st->ws) wake_locked(st);
        pthread_mutex_unlock(&st->lock);
        hstream_unref(st);
        return;
    }
    pump_out po = {.res = st->res, .status = 200};
    mcp_buf_init(&po.out, NULL, 0, 0);
    pump_take_locked(st, ws, &po);
    pthread_mutex_unlock(&st->lock);

    if (po.end && po.final) http_record_latency(ws, st->t0_ns); /* before the bytes */
    pump_write(ws, st, &po);
    mcp_buf_free(&po.out);
    if (po.end) hstream_unref(st); /* the response's (a legacy stream stays for replay) */
    hstream_unref(st);             /* the wakeup's reference */
}

void hstream_pump_now(hstream *st)
{
    hstream_ref(st);
    pthread_mutex_lock(&st->lock);
    bool busy = st->wake_pending;
    pthread_mutex_unlock(&st->lock);
    if (busy) { /* a posted pump will do it */
        hstream_unref(st);
        return;
    }
    pump(st);
}

/* The connection of st's response went away (loop thread of st->ws). */
static void on_abort(http_response *res, void *ud)
{
    hstream *st = ud;
    wstate *ws = http_current_ws(st->h);
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
     * and the engine must never be handed it again (a listen stream ends at shutdown). Once
     * the stop closed the worker's conn (close_modern, on this thread) its calls are cancelled
     * already and the conn lives only while one of them does: it may be gone. */
    if (!legacy && !final && !ws->modern_closed) mcp_conn_cancel_tag(ws->modern, st);
    http_response_end(res);
    hstream_unref(st); /* the response's (a legacy stream stays for replay) */
}

/* Detaches a stream from its response wherever it is (posted to the owning worker). */
static void end_stream_msg(void *arg)
{
    hstream *st = arg;
    wstate *ws = http_current_ws(st->h);
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
            herr_send(NULL, res, HERR_SESSION_NOT_FOUND, NULL);
        hstream_unref(st); /* the response's */
    }
    hstream_unref(st); /* the message's */
}

void hstream_end_async(hstream *st)
{
    pthread_mutex_lock(&st->lock);
    wstate *ws = st->res ? st->ws : NULL;
    pthread_mutex_unlock(&st->lock);
    if (!ws) return;
    hstream_ref(st);
    if (rt_worker_post(ws->w, end_stream_msg, st) < 0) hstream_unref(st);
}

void hstream_end_worker(wstate *ws)
{
    hstream_resume_waits(ws, rt_now_ms(), true);
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
            hstream_unref(st);
        }
    }
}

void hstream_keepalive(wstate *ws)
{
    static const char ka[] = ": keep-alive\n\n";
    for (hstream *st = ws->sse; st; st = st->wnext) {
        pthread_mutex_lock(&st->lock);
        http_response *res = st->ws == ws ? st->res : NULL;
        pthread_mutex_unlock(&st->lock);
        if (res) http_response_write_chunk(res, ka, sizeof ka - 1);
    }
}

/* ---- running a request ----------------------------------------------------------------------- */

static const char *req_get_header(const void *hctx, const char *name)
{
    return http_header_get(hctx, name);
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
            } else if ((ch == '}' || ch == ']') && --depth == 0) {
                p++;
                break;
            }
        }
        if (p > start) event_add_locked(st, start, (size_t)(p - start));
        if (p < end && *p == ',') p++;
    }
    st->json.len = 0;
    st->mode = MODE_SSE;
}

/* Sets st up for r's request before the handle call (what Accept allows was read by the
 * admission, http_admit.c). */
static void prepare(hstream *st, const req_ctx *r, mcp_conn *conn, session *sess)
{
    const char *p = r->req->body;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    st->batch = *p == '[';
    if (st->batch) st->expected = -1;
    st->accept_json = r->accept_json;
    st->accept_sse = r->accept_sse;
    st->t0_ns = rt_now_ns();
    if (sess) {
        atomic_fetch_add(&sess->active, 1);
        st->counted = true;
        const char *v = mcp_conn_protocol_version(conn);
        st->priming = v && strcmp(v, "2025-11-25") >= 0;
    }
}

/* Nothing will be sent for st: 202 (notifications or responses only), or no answer at all
 * (not admitted: the caller answers). */
static void answer_nothing(req_ctx *r, hstream *st, session *sess, bool accepted)
{
    pthread_mutex_lock(&st->lock);
    st->res = NULL;
    st->ws = NULL;
    if (st->counted) session_request_done(sess);
    st->counted = false;
    pthread_mutex_unlock(&st->lock);
    if (accepted) http_response_send(r->res, 202, NULL, NULL, 0);
    hstream_unref(st);
}

int hstream_run(req_ctx *r, mcp_conn *conn, hstream *st, session *sess, bool *held)
{
    http_request *req = r->req;
    mcp_msg_info info = {.protocol_version_header = r->pv,
                         /* only the modern era has them (the engine reads them there) */
                         .method_header = r->modern ? req->unique[UH_METHOD] : NULL,
                         .name_header = r->modern ? req->unique[UH_NAME] : NULL,
                         .get_header = req_get_header,
                         .hctx = req,
                         .admit = r->admit,
                         .principal = r->principal,
                         .names = r->note ? &r->note->names : NULL};
    prepare(st, r, conn, sess);
    tl_req = st;
    tl_req_wake = false;
    if (sess) pthread_mutex_lock(&sess->handle_lock);
    int n = mcp_conn_handle(conn, req->body, req->body_len, &info, st);
    if (sess) pthread_mutex_unlock(&sess->handle_lock);
    tl_req = NULL;
    if (n <= 0) {
        if (n == MCP_NOT_ADMITTED) memcpy(r->id, info.id, sizeof r->id);
        answer_nothing(r, st, sess, n == 0);
        return n;
    }
    pthread_mutex_lock(&st->lock);
    if (st->batch) {
        st->expected = n;
        check_final_locked(st);
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
        hstream_pump_now(st);
    return n;
}

/* ---- resumption ------------------------------------------------------------------------------ */

int hstream_attach(wstate *ws, hstream *st, http_response *res, bool resume, uint64_t after)
{
    pthread_mutex_lock(&st->lock);
    uint64_t first = st->ev_head ? st->ev_head->seq : st->seq + 1; /* oldest kept */
    int rc = st->res ? ATTACH_BUSY : resume && after + 1 < first ? ATTACH_EXPIRED : 0;
    if (rc) {
        pthread_mutex_unlock(&st->lock);
        return rc;
    }
    st->res = res;
    st->ws = ws;
    st->started = false;
    st->mode = MODE_SSE;
    st->close_req = false;
    st->t0_ns = rt_now_ns();
    /* a fresh GET gets the events no connection was given (a question to the client put
     * while none listened), and what comes next */
    if (resume) st->sent_seq = after < st->seq ? after : st->seq;
    if (!st->standalone) st->priming = false; /* a resumed POST stream: events only */
    pthread_mutex_unlock(&st->lock);
    http_response_on_abort(res, on_abort, st);
    hstream_ref(st); /* for pump's wakeup reference */
    pump(st);        /* consumes the wakeup reference; st's own ref is the response's */
    return 0;
}

/* A resume (GET with Last-Event-ID) of a stream whose old response is still attached: a
 * client that dropped a connection and reconnected at once can be faster than our sight of the
 * old connection's end (it may live on another worker). It waits, up to RESUME_WAIT_MS, checked
 * every tick; then 409. */
struct resume_wait {
    resume_wait *next;
    hstream *st; /* referenced */
    http_response *res;
    uint64_t after, deadline;
    bool aborted; /* res's connection went away */
};

static void on_wait_abort(http_response *res, void *ud)
{
    ((resume_wait *)ud)->aborted = true;
}

void hstream_wait_resume(wstate *ws, hstream *st, http_response *res, uint64_t after)
{
    resume_wait *rw = mcp_xcalloc(1, sizeof *rw);
    rw->st = st; /* the caller's reference moves here */
    rw->res = res;
    rw->after = after;
    rw->deadline = rt_now_ms() + RESUME_WAIT_MS;
    rw->next = ws->waits;
    ws->waits = rw;
    http_response_on_abort(res, on_wait_abort, rw);
}

void hstream_resume_waits(wstate *ws, uint64_t now, bool force)
{
    for (resume_wait **p = &ws->waits; *p;) {
        resume_wait *rw = *p;
        bool done = rw->aborted;
        int rc = done ? ATTACH_BUSY : hstream_attach(ws, rw->st, rw->res, true, rw->after);
        if (!done && rc == 0) {
            done = true;
            rw->st = NULL; /* the reference went to the response */
        } else if (!done && rc == ATTACH_EXPIRED) {
            herr_send(ws, rw->res, HERR_REPLAY_EXPIRED, NULL);
            done = true;
        } else if (!done && (force || now >= rw->deadline)) {
            herr_send(ws, rw->res, HERR_STREAM_BUSY, NULL);
            done = true;
        }
        if (!done) {
            p = &rw->next;
            continue;
        }
        *p = rw->next;
        if (rw->st) hstream_unref(rw->st);
        free(rw);
    }
}
