/* engine.c - mcp_conn: one message in, outputs through the sink, no I/O.
 *
 * mcp_conn_handle() gives every message its own mcp_ctx: one malloc holding the ctx and the
 * first block of its arena, into which the message is parsed, so that the JSON outlives an
 * asynchronous handler at no extra cost. The envelope is decoded (rpc/), then the era is
 * chosen: a modern request carries io.modelcontextprotocol/protocolVersion in _meta and is
 * checked statelessly (headers, version, capabilities); a legacy request follows the
 * initialize lifecycle of the conn. The method is looked up in the one table of every
 * feature (feature.c) and its handler answers or starts a handler; methods.c holds the core's.
 *
 * Threads: handle() is called by one thread at a time per conn; ctxs finish from any
 * thread. conn->lock guards the conn's mutable state and every call of the sink, which is
 * how mcp_conn_close() guarantees that nothing is sent after it returns. The conn is
 * refcounted: the transport holds one reference and every ctx holds one.
 *
 * Errors: every failure the engine itself reports is an eng_fail, mapped to a JSON-RPC code
 * (per era) and an HTTP status hint in fail_map below, the one place that does so. */
#include "mcp/ask.h"
#include "mcp/feature.h"
#include "mcp/token.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/spare.h"
#include "rt/clock.h"

#define CTX_ALLOC 8192
#define LIT(b, s) mcp_buf_append((b), (s), sizeof(s) - 1)

const char *const log_level_names[8] = {"debug", "info",     "notice", "warning",
                                        "error", "critical", "alert",  "emergency"};
const char *const supported_versions[5] = {MODERN_VERSION, "2025-11-25", "2025-06-18", "2025-03-26",
                                           "2024-11-05"};

/* ---- the error map ------------------------------------------------------------------------- */

static const struct {
    int legacy, modern;
    mcp_out_status legacy_status, modern_status;
} fail_map[] = {
    [F_PARSE] = {-32700, -32700, MCP_STATUS_BAD_REQUEST, MCP_STATUS_BAD_REQUEST},
    [F_INVALID_REQUEST] = {-32600, -32600, MCP_STATUS_BAD_REQUEST, MCP_STATUS_BAD_REQUEST},
    [F_NOT_INITIALIZED] = {-32600, -32600, MCP_STATUS_BAD_REQUEST, MCP_STATUS_BAD_REQUEST},
    [F_METHOD_NOT_FOUND] = {-32601, -32601, MCP_STATUS_OK, MCP_STATUS_NOT_FOUND},
    [F_INVALID_PARAMS] = {-32602, -32602, MCP_STATUS_OK, MCP_STATUS_OK},
    [F_MISSING_META] = {-32602, -32602, MCP_STATUS_BAD_REQUEST, MCP_STATUS_BAD_REQUEST},
    [F_INTERNAL] = {-32603, -32603, MCP_STATUS_OK, MCP_STATUS_OK},
    [F_OVERLOADED] = {-32000, -32000, MCP_STATUS_OVERLOADED, MCP_STATUS_OVERLOADED},
    [F_HEADER_MISMATCH] = {-32600, -32020, MCP_STATUS_BAD_REQUEST, MCP_STATUS_BAD_REQUEST},
    /* legacy eras define no code for it: an internal error naming the capability */
    [F_MISSING_CAPABILITY] = {-32603, -32021, MCP_STATUS_OK, MCP_STATUS_BAD_REQUEST},
    [F_UNSUPPORTED_VERSION] = {-32600, -32022, MCP_STATUS_BAD_REQUEST, MCP_STATUS_BAD_REQUEST},
    [F_RESOURCE_NOT_FOUND] = {-32002, -32602, MCP_STATUS_OK, MCP_STATUS_OK},
    [F_HANDLER] = {0, 0, MCP_STATUS_OK, MCP_STATUS_OK},
};

/* Writes an error for id in era; returns the status hint. */
static mcp_out_status write_fail(mcp_buf *b, const rpc_id *id, int era, eng_fail f, int code,
                                 const char *data_json, const char *msg)
{
    int c = f == F_HANDLER ? code : (era == ERA_MODERN ? fail_map[f].modern : fail_map[f].legacy);
    rpc_write_error(b, id, c, msg, data_json);
    return era == ERA_MODERN ? fail_map[f].modern_status : fail_map[f].legacy_status;
}

/* ---- conns --------------------------------------------------------------------------------- */

void conn_ref(mcp_conn *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void conn_destroy(mcp_conn *c)
{
    for (size_t i = 0; i < c->nsubs; i++) free(c->subs[i]);
    free(c->subs);
    mcp_arena_free(&c->arena);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void conn_unref(mcp_conn *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) conn_destroy(c);
}

mcp_conn *mcp_conn_new(mcp_server *s, const mcp_conn_options *opts)
{
    if (!s || !opts) return NULL;
    mcp_conn *c = mcp_xcalloc(1, sizeof(*c));
    c->srv = s;
    atomic_init(&c->refs, 1);
    c->opts = *opts;
    if (!c->opts.client_request_timeout_ms) c->opts.client_request_timeout_ms = 60000;
    if (!c->opts.max_message) c->opts.max_message = 4u << 20;
    if (!c->opts.max_client_requests) c->opts.max_client_requests = 64;
    size_t none = 0,
           total = opts->max_client_requests_total ? opts->max_client_requests_total : 4096;
    atomic_compare_exchange_strong(&s->asks_max, &none, total);
    pthread_mutex_init(&c->lock, NULL);
    mcp_arena_init(&c->arena, NULL, 0);
    c->arena.next_size = 256; /* session data is small (client capabilities): keep it so */
    atomic_init(&c->log_level, -1);
    c->next_out_id = 1;
    c->serial = atomic_fetch_add(&s->next_conn_serial, 1) + 1;
    pthread_mutex_lock(&s->conns_lock);
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    pthread_mutex_unlock(&s->conns_lock);
    return c;
}

static void conn_unlink(mcp_conn *c)
{
    mcp_server *s = c->srv;
    pthread_mutex_lock(&s->conns_lock);
    if (c->prev)
        c->prev->next = c->next;
    else if (s->conns == c)
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    pthread_mutex_unlock(&s->conns_lock);
}

void listener_free(listener *l)
{
    for (size_t i = 0; i < l->nuris; i++) free(l->uris[i]);
    free(l->uris);
    free(l->id_str);
    free(l->id_json);
    free(l);
}

/* Collects the ctxs waiting for client answers (they run no handler) so they can be freed. */
static size_t take_waiting_locked(mcp_conn *c, mcp_ctx **out, size_t max)
{
    size_t n = 0;
    while (c->pending && n < max) {
        mcp_ctx *ctx = c->pending->ctx;
        ask_forget_locked(c, ctx);
        out[n++] = ctx;
    }
    return n;
}

void mcp_conn_close(mcp_conn *c)
{
    if (!c) return;
    mcp_ctx *waiting[64];
    size_t n;
    pthread_mutex_lock(&c->lock);
    c->closed = true;
    for (mcp_ctx *x = c->inflight; x; x = x->next) ctx_cancel(x);
    while (c->listeners) {
        listener *l = c->listeners;
        c->listeners = l->next;
        listener_free(l);
    }
    do {
        n = take_waiting_locked(c, waiting, 64);
        pthread_mutex_unlock(&c->lock);
        for (size_t i = 0; i < n; i++) ctx_free(waiting[i]);
        pthread_mutex_lock(&c->lock);
    } while (n == 64);
    pthread_mutex_unlock(&c->lock);
    conn_unlink(c);
    conn_unref(c);
}

void mcp_conn_shutdown(mcp_conn *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->listeners) {
        listener *l = c->listeners;
        c->listeners = l->next;
        char stack[512];
        mcp_buf b;
        mcp_buf_init(&b, stack, sizeof(stack), 0);
        rpc_begin_result(&b, &l->id);
        LIT(&b, "{\"resultType\":\"complete\",\"_meta\":{\"" META_SUB "\":");
        mcp_buf_puts(&b, l->id_json);
        LIT(&b, ",\"" META_SERVER "\":"); /* every modern result names its server */
        mcp_buf_append(&b, c->srv->info_json, c->srv->info_len);
        LIT(&b, "}}");
        rpc_end_result(&b);
        mcp_out out = {b.data, b.len, MCP_OUT_RESPONSE, MCP_STATUS_OK, l->tag, true, false, NULL};
        if (!c->closed && !b.overflow) c->opts.sink.send(c->opts.sink.ud, &out);
        mcp_buf_free(&b);
        listener_free(l);
    }
    pthread_mutex_unlock(&c->lock);
}

void ctx_send(mcp_ctx *ctx, const char *data, size_t len, mcp_out_kind kind)
{
    mcp_conn *c = ctx->conn;
    mcp_out out = {data, len, kind, MCP_STATUS_OK, ctx->tag, false, false, NULL};
    pthread_mutex_lock(&c->lock);
    if (!c->closed && !atomic_load(&ctx->cancelled)) c->opts.sink.send(c->opts.sink.ud, &out);
    pthread_mutex_unlock(&c->lock);
}

unsigned mcp_conn_inflight(const mcp_conn *c)
{
    pthread_mutex_lock((pthread_mutex_t *)&c->lock);
    unsigned n = c->ninflight;
    pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
    return n;
}

bool mcp_conn_initialized(const mcp_conn *c)
{
    return c->state >= LEGACY_INITIALIZED;
}

const char *mcp_conn_protocol_version(const mcp_conn *c)
{
    return c->state >= LEGACY_INITIALIZED ? c->version : NULL;
}

/* What kind of handler ctx runs, for the timeout's log line and message. */
static const char *handler_kind(const mcp_ctx *ctx)
{
    switch (ctx->method) {
    case M_TOOLS_CALL:
        return "tool";
    case M_PROMPTS_GET:
        return "prompt";
    case M_COMPLETE:
        return "completion of";
    default:
        return "resource";
    }
}

static void observe_end(mcp_ctx *ctx, mcp_outcome o);

/* Answers a request whose handler ran past its deadline with -32603, cancels the ctx (the
 * handler is woken; its finish later sends nothing) and forgets the tag (the request is over
 * for the transport). The handler still owns ctx. Conn lock held. */
static void ctx_expire_locked(mcp_ctx *x)
{
    char msg[256], data[48];
    snprintf(msg, sizeof msg, "%s '%.128s' did not finish within %u ms", handler_kind(x),
             x->name ? x->name : "", x->timeout_ms);
    snprintf(data, sizeof data, "{\"timeoutMs\":%u}", x->timeout_ms);
    mcp_log(MCP_LOGL_WARN, "%s", msg);
    char stack[512];
    mcp_buf b;
    mcp_buf_init(&b, stack, sizeof stack, 0);
    mcp_out_status st = write_fail(&b, &x->id, x->era, F_INTERNAL, 0, data, msg);
    mcp_out out = {b.data, b.len, MCP_OUT_RESPONSE, st, x->tag, true, x->whole, NULL};
    mcp_conn *c = x->conn;
    if (!c->closed && !atomic_load(&x->cancelled) && !x->tag_gone)
        c->opts.sink.send(c->opts.sink.ud, &out);
    mcp_buf_free(&b);
    x->deadline_ms = 0;
    x->tag_gone = true; /* answered: no MCP_OUT_END for it later */
    observe_end(x, MCP_OUTCOME_TIMEOUT);
    ctx_cancel(x);
}

static void expire_handlers(mcp_conn *c, uint64_t now_ms)
{
    pthread_mutex_lock(&c->lock);
    for (mcp_ctx *x = c->inflight; x; x = x->next)
        if (x->deadline_ms && now_ms >= x->deadline_ms && !x->detached && !x->waiting &&
            !atomic_load(&x->cancelled))
            ctx_expire_locked(x);
    pthread_mutex_unlock(&c->lock);
}

void mcp_conn_tick(mcp_conn *c, uint64_t now_ms)
{
    expire_handlers(c, now_ms);
    ask_tick(c, now_ms);
    features_tick(c->srv, now_ms);
}

void mcp_conn_cancel_tag(mcp_conn *c, void *tag)
{
    pthread_mutex_lock(&c->lock);
    for (mcp_ctx *x = c->inflight; x; x = x->next)
        if (x->tag == tag) {
            ctx_cancel(x);
            x->tag_gone = true; /* the transport forgets tag: no MCP_OUT_END for it */
        }
    for (listener **pl = &c->listeners; *pl;) {
        listener *l = *pl;
        if (l->tag == tag) {
            *pl = l->next;
            listener_free(l);
        } else {
            pl = &l->next;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- the observer -------------------------------------------------------------------------- */

const char *const mcp_outcome_names[MCP_OUTCOME_COUNT] = {"ok",      "error", "tool_error",
                                                          "timeout", "shed",  "cancelled"};

void mcp_server_set_observer(mcp_server *s, mcp_observer_fn fn, void *ud)
{
    s->observer = fn;
    s->observer_ud = ud;
}

void mcp_server_unset_observer(mcp_server *s, void *ud)
{
    if (s->observer_ud == ud) mcp_server_set_observer(s, NULL, NULL);
}

size_t mcp_server_each_tool(mcp_server *s, void (*fn)(void *ud, const char *name), void *ud)
{
    pthread_rwlock_rdlock(&s->reg_lock);
    const reg_table *t = &s->tables[REG_TOOL];
    for (size_t i = 0; i < t->n; i++) fn(ud, t->items[i]->key);
    size_t n = t->n;
    pthread_rwlock_unlock(&s->reg_lock);
    return n;
}

static void observe(mcp_ctx *ctx, bool end, mcp_outcome o)
{
    mcp_server *s = ctx->conn->srv;
    mcp_req_event e = {.end = end,
                       .method = ctx->fmethod ? ctx->fmethod->name : NULL,
                       .tool = ctx->method == M_TOOLS_CALL && ctx->entry ? ctx->entry->key : NULL,
                       .outcome = end ? o : MCP_OUTCOME_OK,
                       .duration_ns = end ? rt_now_ns() - ctx->t0_ns : 0};
    s->observer(s->observer_ud, &e);
}

/* A request begins: its clock starts and the observer hears of it. */
static void observe_begin(mcp_ctx *ctx)
{
    ctx->t0_ns = rt_now_ns();
    if (!ctx->conn->srv->observer) return;
    atomic_store_explicit(&ctx->observed, 1, memory_order_relaxed);
    observe(ctx, false, MCP_OUTCOME_OK);
}

/* A request ends with outcome o (once: later ends of the same ctx are ignored). */
static void observe_end(mcp_ctx *ctx, mcp_outcome o)
{
    unsigned char begun = 1; /* the timeout (sweeper) and the handler's answer may race */
    if (!atomic_compare_exchange_strong(&ctx->observed, &begun, 2)) return;
    observe(ctx, true, o);
}

/* How a final answer ends its request. */
static mcp_outcome final_outcome(mcp_ctx *ctx)
{
    if (atomic_load(&ctx->cancelled)) return MCP_OUTCOME_CANCELLED;
    if (ctx->failed == F_OVERLOADED + 1) return MCP_OUTCOME_SHED;
    if (ctx->failed) return MCP_OUTCOME_ERROR;
    return ctx->is_error ? MCP_OUTCOME_TOOL_ERROR : MCP_OUTCOME_OK;
}

/* ---- ctxs ---------------------------------------------------------------------------------- */

mcp_ctx *ctx_new(mcp_conn *c, void *tag)
{
    size_t hdr = (sizeof(mcp_ctx) + 15) & ~(size_t)15;
    char *mem = mcp_spare_take(MCP_SPARE_CTX, CTX_ALLOC); /* the last one this thread freed */
    mcp_ctx *ctx = (mcp_ctx *)(void *)mem;
    memset(ctx, 0, sizeof(*ctx));
    mcp_arena_init(&ctx->arena, mem + hdr, CTX_ALLOC - hdr);
    ctx->conn = c;
    conn_ref(c);
    ctx->tag = tag;
    ctx->log_level = -1;
    atomic_init(&ctx->cancelled, false);
    ctx_wake_init(ctx);
    return ctx;
}

static void ctx_unlink_locked(mcp_ctx *ctx)
{
    mcp_conn *c = ctx->conn;
    if (!ctx->linked) return;
    if (ctx->prev)
        ctx->prev->next = ctx->next;
    else
        c->inflight = ctx->next;
    if (ctx->next) ctx->next->prev = ctx->prev;
    ctx->linked = false;
    c->ninflight--;
}

void ctx_free(mcp_ctx *ctx)
{
    mcp_conn *c = ctx->conn;
    observe_end(ctx, MCP_OUTCOME_CANCELLED);
    if (ctx->holder && ctx->holder->ctx_finished) ctx->holder->ctx_finished(ctx);
    if (ctx->linked || ctx->waiting) {
        pthread_mutex_lock(&c->lock);
        if (ctx->linked && ctx->tag && !ctx->tag_gone && !c->closed &&
            atomic_load(&ctx->cancelled)) {
            /* a cancelled request that ends unanswered: the transport may end its stream */
            mcp_out end = {NULL, 0, MCP_OUT_END, MCP_STATUS_OK, ctx->tag, true, false, NULL};
            c->opts.sink.send(c->opts.sink.ud, &end);
        }
        ctx_unlink_locked(ctx);
        ask_forget_locked(c, ctx);
        pthread_mutex_unlock(&c->lock);
    }
    reg_release(ctx->entry);
    mcp_buf_free(&ctx->body);
    mcp_arena_free(&ctx->arena);
    ctx_wake_free(ctx);
    mcp_spare_put(MCP_SPARE_CTX, ctx);
    conn_unref(c);
}

void ctx_send_final(mcp_ctx *ctx, mcp_buf *b, mcp_out_status status)
{
    mcp_conn *c = ctx->conn;
    mcp_out out = {b->data, b->len, MCP_OUT_RESPONSE, status, ctx->tag, true, ctx->whole, b};
    bool kept =
        ctx->holder && ctx->holder->final_result && ctx->holder->final_result(ctx, b->data, b->len);
    observe_end(ctx, final_outcome(ctx));
    pthread_mutex_lock(&c->lock);
    if (!kept && !c->closed && !atomic_load(&ctx->cancelled))
        c->opts.sink.send(c->opts.sink.ud, &out);
    ctx_unlink_locked(ctx);
    pthread_mutex_unlock(&c->lock);
    ctx_free(ctx);
}

void ctx_fail_with(mcp_ctx *ctx, eng_fail f, int code, const char *data_json, const char *msg)
{
    char stack[1024];
    mcp_buf b;
    mcp_buf_init(&b, stack, sizeof(stack), 0);
    mcp_out_status st = write_fail(&b, &ctx->id, ctx->era, f, code, data_json, msg);
    ctx->failed = (uint8_t)(f + 1);
    ctx_send_final(ctx, &b, st);
    mcp_buf_free(&b);
}

/* The event loop the calling thread runs, lent to inline handlers (mcp_engine_set_loop). */
static _Thread_local mcp_loop *tl_loop;

void mcp_engine_set_loop(mcp_loop *l)
{
    tl_loop = l;
}

/* inl: the handler runs on the I/O thread and may hand itself to the pool (mcp_ctx_defer). */
static void invoke(mcp_ctx *ctx, bool inl)
{
    reg_entry *e = ctx->entry;
    mcp_handler_fn fn = ctx->method == M_COMPLETE ? e->complete : e->handler;
    ctx->inline_now = inl;
    ctx->loop = inl ? tl_loop : NULL;
    fn(ctx, e->ud);
}

static void handler_job(void *arg)
{
    invoke(arg, false);
}

void ctx_invoke(mcp_ctx *ctx)
{
    invoke(ctx, false);
}

bool mcp_ctx_is_inline(const mcp_ctx *ctx)
{
    return ctx->inline_now;
}

mcp_loop *mcp_ctx_loop(const mcp_ctx *ctx)
{
    return ctx->inline_now ? ctx->loop : NULL;
}

int mcp_ctx_defer(mcp_ctx *ctx)
{
    if (!ctx->inline_now) return MCP_EINVAL;
    ctx->inline_now = false;
    ctx_reset_answer(ctx);
    ctx->mistake = NULL;
    mcp_conn *c = ctx->conn;
    if (c->opts.exec(c->opts.exec_ud, handler_job, ctx) < 0)
        ctx_fail_with(ctx, F_OVERLOADED, 0, NULL, "server overloaded, retry later");
    return 0;
}

void ctx_link(mcp_ctx *ctx)
{
    mcp_conn *c = ctx->conn;
    pthread_mutex_lock(&c->lock);
    if (!ctx->linked) {
        ctx->next = c->inflight;
        if (c->inflight) c->inflight->prev = ctx;
        c->inflight = ctx;
        ctx->prev = NULL;
        ctx->linked = true;
        c->ninflight++;
    }
    pthread_mutex_unlock(&c->lock);
}

void ctx_unlink(mcp_ctx *ctx)
{
    pthread_mutex_lock(&ctx->conn->lock);
    ctx_unlink_locked(ctx);
    pthread_mutex_unlock(&ctx->conn->lock);
}

void ctx_answer_detach(mcp_ctx *ctx, mcp_buf *b)
{
    mcp_conn *c = ctx->conn;
    mcp_out out = {b->data, b->len, MCP_OUT_RESPONSE, MCP_STATUS_OK, ctx->tag, true, false, NULL};
    pthread_mutex_lock(&c->lock);
    if (!c->closed && !atomic_load(&ctx->cancelled)) c->opts.sink.send(c->opts.sink.ud, &out);
    observe_end(ctx, MCP_OUTCOME_OK);
    ctx->tag = NULL; /* a client that leaves the request no longer cancels the call */
    ctx->detached = true;
    pthread_mutex_unlock(&c->lock);
}

/* Links ctx (cancellation, drain) and arms its handler's deadline. */
static void ctx_arm(mcp_ctx *ctx)
{
    mcp_conn *c = ctx->conn;
    uint32_t ms = ctx->entry->timeout_ms;
    if (!ms) ms = atomic_load_explicit(&c->srv->timeout_ms, memory_order_relaxed);
    uint64_t deadline = ms == MCP_TIMEOUT_NONE || ctx->detached ? 0 : rt_now_ms() + ms;
    ctx_link(ctx);
    pthread_mutex_lock(&c->lock);
    ctx->timeout_ms = ms;
    ctx->deadline_ms = deadline;
    pthread_mutex_unlock(&c->lock);
}

void ctx_run_handler(mcp_ctx *ctx)
{
    mcp_conn *c = ctx->conn;
    ctx_arm(ctx);
    if (ctx->entry->serial) {
        serial_submit(ctx);
        return;
    }
    if ((ctx->entry->flags & MCP_INLINE) || !c->opts.exec) {
        invoke(ctx, c->opts.exec != NULL);
        return;
    }
    int rc = c->opts.exec(c->opts.exec_ud, handler_job, ctx);
    if (rc < 0) { /* -EAGAIN: the queue is full; anything else: cannot run it either */
        ctx_fail_with(ctx, F_OVERLOADED, 0, NULL, "server overloaded, retry later");
    }
}

/* ---- broadcasts ---------------------------------------------------------------------------- */

static const char *const changed_method[REG_NKINDS] = {
    "notifications/tools/list_changed", "notifications/resources/list_changed",
    "notifications/resources/list_changed", "notifications/prompts/list_changed"};

/* Sends method (params_json or none) to each listener of c that wants it. Lock held. */
static void notify_listeners_locked(mcp_conn *c, const char *method, reg_kind k, const char *uri)
{
    for (listener *l = c->listeners; l; l = l->next) {
        bool want = false;
        if (uri) {
            for (size_t i = 0; i < l->nuris && !want; i++) want = !strcmp(l->uris[i], uri);
        } else {
            want = k == REG_TOOL ? l->tools : k == REG_PROMPT ? l->prompts : l->resources;
        }
        if (!want) continue;
        char stack[1024];
        mcp_buf b;
        mcp_buf_init(&b, stack, sizeof(stack), 0);
        LIT(&b, "{\"_meta\":{\"" META_SUB "\":");
        mcp_buf_puts(&b, l->id_json);
        mcp_buf_putc(&b, '}');
        if (uri) {
            LIT(&b, ",\"uri\":");
            rpc_write_str(&b, uri, strlen(uri));
        }
        mcp_buf_putc(&b, '}');
        char ostack[1200];
        mcp_buf o;
        mcp_buf_init(&o, ostack, sizeof(ostack), 0);
        rpc_write_notification(&o, method, b.data, b.len);
        mcp_out out = {o.data, o.len, MCP_OUT_NOTIFICATION, MCP_STATUS_OK, l->tag, false,
                       false,  NULL};
        c->opts.sink.send(c->opts.sink.ud, &out);
        mcp_buf_free(&b);
        mcp_buf_free(&o);
    }
}

static bool subscribed_locked(const mcp_conn *c, const char *uri)
{
    for (size_t i = 0; i < c->nsubs; i++)
        if (!strcmp(c->subs[i], uri)) return true;
    return false;
}

/* One notification to every conn: legacy sessions untagged, listeners tagged. */
static void broadcast(mcp_server *s, const char *method, reg_kind k, const char *uri)
{
    char stack[1024];
    mcp_buf legacy;
    mcp_buf_init(&legacy, stack, sizeof(stack), 0);
    if (uri) {
        char pstack[512];
        mcp_buf p;
        mcp_buf_init(&p, pstack, sizeof(pstack), 0);
        LIT(&p, "{\"uri\":");
        rpc_write_str(&p, uri, strlen(uri));
        mcp_buf_putc(&p, '}');
        rpc_write_notification(&legacy, method, p.data, p.len);
        mcp_buf_free(&p);
    } else {
        rpc_write_notification(&legacy, method, NULL, 0);
    }
    pthread_mutex_lock(&s->conns_lock);
    for (mcp_conn *c = s->conns; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        bool want =
            !c->closed && c->state >= LEGACY_INITIALIZED && (!uri || subscribed_locked(c, uri));
        if (want) {
            mcp_out out = {legacy.data,   legacy.len, MCP_OUT_NOTIFICATION,
                           MCP_STATUS_OK, NULL,       false,
                           false,         NULL};
            c->opts.sink.send(c->opts.sink.ud, &out);
        }
        if (!c->closed) notify_listeners_locked(c, method, k, uri);
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&s->conns_lock);
    mcp_buf_free(&legacy);
}

void conns_broadcast_list_changed(mcp_server *s, reg_kind k)
{
    broadcast(s, changed_method[k], k, NULL);
}

void conns_broadcast_updated(mcp_server *s, const char *uri)
{
    broadcast(s, "notifications/resources/updated", REG_RESOURCE, uri);
}

/* ---- versions, levels -------------------------------------------------------------------- */

mcp_era mcp_version_era(const char *v)
{
    if (!strcmp(v, MODERN_VERSION)) return MCP_ERA_MODERN;
    return legacy_version_supported(v, strlen(v)) ? MCP_ERA_LEGACY : MCP_ERA_UNKNOWN;
}

bool legacy_version_supported(const char *v, size_t len)
{
    for (int i = 1; i < 5; i++)
        if (strlen(supported_versions[i]) == len && !memcmp(supported_versions[i], v, len))
            return true;
    return false;
}

int log_level_from_name(const char *s, size_t len)
{
    for (int i = 0; i < 8; i++)
        if (strlen(log_level_names[i]) == len && !memcmp(log_level_names[i], s, len)) return i;
    return -1;
}

/* ---- preludes: era rules before dispatch -------------------------------------------------- */

static bool is_modern_request(const json_value *params)
{
    const json_value *meta = json_get(params, "_meta");
    return meta && meta->type == JSON_OBJECT && json_get(meta, META_PV) != NULL;
}

/* Trims optional whitespace: the value as sent, in *len bytes (pointing into h). */
static const char *header_trim(const char *h, size_t *len)
{
    while (*h == ' ' || *h == '\t') h++;
    size_t n = strlen(h);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t')) n--;
    *len = n;
    return h;
}

/* Trims optional whitespace; decodes a strict "=?base64?<padded RFC 4648>?=" value (anything
 * else is taken literally). The result is in a, or points into h; *len is its length. Only
 * Mcp-Name and Mcp-Param-* may be encoded (2026-07-28, "Value Encoding"). */
static const char *header_value(const char *h, mcp_arena *a, size_t *len)
{
    size_t n;
    h = header_trim(h, &n);
    *len = n;
    if (n < 11 || memcmp(h, "=?base64?", 9) || memcmp(h + n - 2, "?=", 2)) return h;
    char *out = mcp_arena_alloc_unaligned(a, n);
    long m = token_b64_decode(h + 9, n - 11, out);
    if (m < 0) return h;
    *len = (size_t)m;
    return out;
}

/* True if the header value, taken literally (trimmed, never decoded), is the len bytes of
 * body: Mcp-Method and MCP-Protocol-Version, which a proxy may route on as sent. */
static bool header_is(const char *h, const char *body, size_t len)
{
    size_t n;
    const char *v = header_trim(h, &n);
    return body && n == len && !memcmp(v, body, n);
}

/* True if the header value (decoded, trimmed) is the len bytes of body: every byte counts, so
 * a body value with a NUL inside never matches a header holding its prefix. */
static bool header_eq(mcp_ctx *ctx, const char *h, const char *body, size_t len)
{
    size_t n;
    const char *v = header_value(h, &ctx->arena, &n);
    return body && len == n && !memcmp(v, body, n);
}

static int header_fail(mcp_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int header_fail(mcp_ctx *ctx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctx_fail_with(ctx, F_HEADER_MISMATCH, 0, NULL, msg);
    return -1;
}

/* Modern HTTP: Mcp-Method and Mcp-Name must be present and match the body. */
static int check_name_headers(mcp_ctx *ctx, const mcp_msg_info *info)
{
    bool http = ctx->conn->opts.mode == MCP_CONN_HTTP_MODERN;
    if (!info->method_header) {
        if (http) return header_fail(ctx, "Header mismatch: missing Mcp-Method header");
    } else if (!header_is(info->method_header, ctx->method_name, ctx->method_name_len)) {
        return header_fail(ctx,
                           "Header mismatch: Mcp-Method header value '%.100s' does not match body "
                           "value '%.100s'",
                           info->method_header, ctx->method_name);
    }
    const char *key = ctx->fmethod ? ctx->fmethod->name_param : NULL;
    if (!key) return 0;
    const char *body = NULL;
    size_t body_len = 0;
    json_get_str(ctx->params, key, &body, &body_len, NULL, NULL, 0);
    if (!info->name_header)
        return http && body ? header_fail(ctx, "Header mismatch: missing Mcp-Name header") : 0;
    if (!header_eq(ctx, info->name_header, body, body_len))
        return header_fail(ctx,
                           "Header mismatch: Mcp-Name header value '%.200s' does not match body "
                           "value '%.200s'",
                           info->name_header, body ? body : "");
    return 0;
}

/* True if the raw header value has only what RFC 9110 allows in a field value and that the
 * value encoding of 2026-07-28 leaves plain: visible ASCII, space, tab. */
static bool header_chars_ok(const char *h)
{
    for (const unsigned char *p = (const unsigned char *)h; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p >= 0x7f) return false;
    return true;
}

/* Compares a decoded header value with the argument's value in the body. */
static bool param_matches(const char *v, size_t n, const json_value *body)
{
    char text[64];
    switch (body->type) {
    case JSON_STRING:
        return body->len == n && !memcmp(v, body->u.str, n);
    case JSON_BOOL:
        return body->b ? (n == 4 && !memcmp(v, "true", 4)) : (n == 5 && !memcmp(v, "false", 5));
    case JSON_INT:
    case JSON_DOUBLE: { /* numerically: 42.0 equals 42 */
        if (!n || n >= sizeof text) return false;
        memcpy(text, v, n);
        text[n] = '\0';
        char *end;
        double d = strtod(text, &end);
        if (*end) return false;
        return body->type == JSON_INT ? d == (double)body->u.num.i : d == body->u.num.d;
    }
    default:
        return false;
    }
}

int check_param_headers(mcp_ctx *ctx, const mcp_msg_info *info)
{
    const reg_entry *e = ctx->entry;
    if (ctx->era != ERA_MODERN || !e->nhparams || !info || !info->get_header) return 0;
    for (size_t i = 0; i < e->nhparams; i++) {
        const hdr_param *hp = &e->hparams[i];
        const json_value *v = ctx->args;
        for (uint32_t k = 0; v && k < hp->depth; k++) v = json_get(v, hp->path[k]);
        const char *h = info->get_header(info->hctx, hp->header);
        const char *shown = hp->header + 10;      /* after "Mcp-Param-" */
        if (!v || v->type == JSON_NULL) continue; /* no value: no header expected */
        if (!h) return header_fail(ctx, "Header mismatch: missing Mcp-Param-%s header", shown);
        if (!header_chars_ok(h))
            return header_fail(ctx, "Header mismatch: Mcp-Param-%s header has invalid characters",
                               shown);
        size_t n;
        const char *dv = header_value(h, &ctx->arena, &n);
        if (!param_matches(dv, n, v))
            return header_fail(ctx,
                               "Header mismatch: Mcp-Param-%s header value '%.100s' does not match "
                               "the argument's value",
                               shown, h);
    }
    return 0;
}

static int unsupported_version(mcp_ctx *ctx, const char *v)
{
    char data[512];
    mcp_buf b;
    mcp_buf_init(&b, data, sizeof(data) - 1, sizeof(data) - 1);
    LIT(&b, "{\"supported\":[");
    for (int i = 0; i < 5; i++) {
        if (i) mcp_buf_putc(&b, ',');
        rpc_write_str(&b, supported_versions[i], strlen(supported_versions[i]));
    }
    LIT(&b, "],\"requested\":");
    rpc_write_str(&b, v, strnlen(v, 64));
    mcp_buf_putc(&b, '}');
    b.data[b.overflow ? 0 : b.len] = '\0';
    ctx_fail_with(ctx, F_UNSUPPORTED_VERSION, 0, b.overflow ? NULL : b.data,
                  "Unsupported protocol version");
    return -1;
}

static int meta_fail(mcp_ctx *ctx, const char *msg)
{
    ctx_fail_with(ctx, F_MISSING_META, 0, NULL, msg);
    return -1;
}

/* Reads the required _meta fields (step 2 of the order the suite checks). 0 or -1. */
static int modern_meta(mcp_ctx *ctx)
{
    const json_value *meta = json_get(ctx->params, "_meta");
    if (!json_is_object(meta))
        return meta_fail(ctx, "invalid params: missing params._meta (a modern request must "
                              "carry " META_PV " and " META_CAPS ")");
    ctx->meta = meta;
    const json_value *pv = json_get(meta, META_PV), *caps = json_get(meta, META_CAPS);
    if (!json_is_string(pv))
        return meta_fail(ctx, "invalid params: _meta." META_PV " is required (a string)");
    ctx->version = pv->u.str;
    ctx->version_len = pv->len;
    if (!json_is_object(caps))
        return meta_fail(ctx, "invalid params: _meta." META_CAPS " is required (an object)");
    ctx->caps = caps;
    const json_value *lv = json_get(meta, META_LOG);
    if (lv) {
        ctx->log_level = json_is_string(lv) ? log_level_from_name(lv->u.str, lv->len) : -1;
        if (ctx->log_level < 0)
            return meta_fail(ctx, "invalid params: _meta." META_LOG " must be a logging level");
    }
    return 0;
}

/* Checks a modern request statelessly, in the order the conformance suite expects: version
 * header present, _meta complete, header = _meta version, version supported, Mcp-Method and
 * Mcp-Name. Returns 0, or -1 after answering. */
static int modern_prelude(mcp_ctx *ctx, const mcp_msg_info *info)
{
    ctx->era = ERA_MODERN;
    bool http = ctx->conn->opts.mode == MCP_CONN_HTTP_MODERN;
    const char *pvh = info ? info->protocol_version_header : NULL;
    if (info && http && !pvh)
        return header_fail(ctx, "Header mismatch: missing MCP-Protocol-Version header");
    if (modern_meta(ctx)) return -1;
    if (pvh && !header_is(pvh, ctx->version, ctx->version_len))
        return header_fail(ctx,
                           "Header mismatch: MCP-Protocol-Version header value '%.64s' does not "
                           "match body value '%.64s'",
                           pvh, ctx->version);
    if (ctx->version_len != sizeof MODERN_VERSION - 1 || strcmp(ctx->version, MODERN_VERSION))
        return unsupported_version(ctx, ctx->version);
    return info ? check_name_headers(ctx, info) : 0;
}

static const json_value empty_object = {.type = JSON_OBJECT};

/* Applies the legacy lifecycle. Returns 0, or -1 after answering. */
static int legacy_prelude(mcp_ctx *ctx, const mcp_msg_info *info)
{
    mcp_conn *c = ctx->conn;
    ctx->era = ERA_LEGACY;
    if (c->opts.mode == MCP_CONN_HTTP_MODERN) {
        const char *msg = ctx->method == M_INITIALIZE
                              ? "initialize is not used with protocol version " MODERN_VERSION
                                ": send _meta." META_PV " with every request, or open a session"
                              : "invalid params: missing params._meta (a modern request must "
                                "carry " META_PV " and " META_CAPS ")";
        ctx_fail_with(ctx, ctx->method == M_INITIALIZE ? F_INVALID_REQUEST : F_MISSING_META, 0,
                      NULL, msg);
        return -1;
    }
    ctx->version = c->version;
    ctx->caps = c->client_caps ? c->client_caps : &empty_object;
    if (ctx->method == M_INITIALIZE && c->state != LEGACY_NEW) {
        ctx_fail_with(ctx, F_INVALID_REQUEST, 0, NULL, "invalid request: already initialized");
        return -1;
    }
    if (ctx->method != M_INITIALIZE && ctx->method != M_PING && c->state == LEGACY_NEW) {
        ctx_fail_with(ctx, F_NOT_INITIALIZED, 0, NULL,
                      "invalid request: server not initialized (send initialize first)");
        return -1;
    }
    const char *h = info ? info->protocol_version_header : NULL;
    if (h && ctx->method != M_INITIALIZE && !legacy_version_supported(h, strlen(h))) {
        char msg[160];
        snprintf(msg, sizeof(msg), "invalid request: unsupported MCP-Protocol-Version: %.64s", h);
        ctx_fail_with(ctx, F_INVALID_REQUEST, 0, NULL, msg);
        return -1;
    }
    return 0;
}

/* Whether params carry a _meta protocol version that the MCP-Protocol-Version header
 * contradicts; *body is then the body's version ("" when not a string). */
static bool version_mismatch(mcp_ctx *ctx, const json_value *params, const mcp_msg_info *info,
                             const char **body)
{
    const char *pvh = info ? info->protocol_version_header : NULL;
    if (!pvh || !json_is_object(params) || !is_modern_request(params)) return false;
    const json_value *pv = json_get(json_get(params, "_meta"), META_PV);
    *body = json_is_string(pv) ? pv->u.str : "";
    return !header_eq(ctx, pvh, *body, json_is_string(pv) ? pv->len : 0);
}

/* A request on a legacy HTTP conn whose body is a modern request (_meta carries a protocol
 * version) and whose MCP-Protocol-Version header says another version: the body is the source
 * of truth and the transport page requires a HeaderMismatch (400, -32020) rather than serving
 * it by the header. True after answering. */
static bool legacy_body_mismatch(mcp_ctx *ctx, const mcp_msg_info *info)
{
    const char *body;
    if (!version_mismatch(ctx, ctx->params, info, &body)) return false;
    ctx->era = ERA_MODERN;
    header_fail(ctx,
                "Header mismatch: MCP-Protocol-Version header value '%.64s' does not match "
                "body value '%.64s'",
                info->protocol_version_header, body);
    return true;
}

/* ---- message handling --------------------------------------------------------------------- */

static void method_not_found(mcp_ctx *ctx, const char *method)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "Method not found: %.100s", method);
    ctx_fail_with(ctx, F_METHOD_NOT_FOUND, 0, NULL, msg);
}

static void handle_request(mcp_ctx *ctx, const rpc_msg *m, const mcp_msg_info *info)
{
    const feature *f = NULL;
    const feature_method *d = feature_find_method(m->method, m->method_len, &f);
    static const json_value no_params = {.type = JSON_OBJECT};
    ctx->id = m->id;
    ctx->principal = info ? info->principal : NULL;
    ctx->params = m->params ? m->params : &no_params;
    ctx->method_name = m->method;
    ctx->method_name_len = m->method_len;
    ctx->method = d ? d->id : M_UNKNOWN;
    ctx->fmethod = d;
    observe_begin(ctx);
    mcp_conn_mode mode = ctx->conn->opts.mode;
    if (mode == MCP_CONN_HTTP_LEGACY && legacy_body_mismatch(ctx, info)) return;
    bool modern = mode != MCP_CONN_HTTP_LEGACY && is_modern_request(ctx->params);
    if (mode == MCP_CONN_HTTP_MODERN && ctx->method != M_INITIALIZE) modern = true;
    if (modern ? modern_prelude(ctx, info) : legacy_prelude(ctx, info)) return;
    if (!d || !d->fn || !(d->eras & (modern ? ERAS_MODERN : ERAS_LEGACY)) ||
        !feature_available(ctx->conn->srv, f))
        return method_not_found(ctx, m->method);
    d->fn(ctx, info);
}

static void cancel_request(mcp_conn *c, const json_value *params)
{
    rpc_id id;
    const json_value *rid = json_get(params, "requestId");
    if (!rid || rpc_id_from_json(rid, &id) < 0) return;
    pthread_mutex_lock(&c->lock);
    for (mcp_ctx *x = c->inflight; x; x = x->next) /* a task is cancelled by tasks/cancel */
        if (!x->detached && rpc_id_equal(&x->id, &id)) ctx_cancel(x);
    for (listener **pl = &c->listeners; *pl;) {
        listener *l = *pl;
        if (rpc_id_equal(&l->id, &id)) {
            *pl = l->next;
            listener_free(l);
        } else {
            pl = &l->next;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

static void handle_notification(mcp_conn *c, const rpc_msg *m)
{
    const feature_method *d = feature_find_method(m->method, m->method_len, NULL);
    if (!d) return; /* unknown notifications are ignored */
    if (d->id == M_N_INITIALIZED) {
        pthread_mutex_lock(&c->lock);
        if (c->state == LEGACY_INITIALIZED) c->state = LEGACY_READY;
        pthread_mutex_unlock(&c->lock);
    } else if (d->id == M_N_CANCELLED && m->params) {
        cancel_request(c, m->params);
    }
}

/* Handles one decoded value (a message) owned by ctx. Returns the responses promised. */
static int handle_value(mcp_ctx *ctx, const json_value *v, const mcp_msg_info *info)
{
    rpc_msg m;
    char err[160];
    int rc = rpc_decode(v, &m, err, sizeof(err));
    if (rc == RPC_INVALID_PARAMS && m.kind == RPC_NOTIFICATION) rc = 0, m.params = NULL;
    if (rc) {
        ctx->id = m.id;
        ctx->era = ctx->conn->opts.mode == MCP_CONN_HTTP_MODERN ? ERA_MODERN : ERA_LEGACY;
        ctx_fail_with(ctx, rc == RPC_INVALID_PARAMS ? F_INVALID_PARAMS : F_INVALID_REQUEST, 0, NULL,
                      err);
        return 1;
    }
    if (m.kind == RPC_REQUEST) {
        handle_request(ctx, &m, info);
        return 1;
    }
    if (m.kind == RPC_NOTIFICATION)
        handle_notification(ctx->conn, &m);
    else
        ask_on_response(ctx->conn, &m);
    ctx_free(ctx);
    return 0;
}

static int fail_message(mcp_conn *c, void *tag, eng_fail f, const char *msg)
{
    mcp_ctx *ctx = ctx_new(c, tag);
    ctx->era = c->opts.mode == MCP_CONN_HTTP_MODERN ? ERA_MODERN : ERA_LEGACY;
    ctx->whole = true;
    ctx_fail_with(ctx, f, 0, NULL, msg);
    return 1;
}

static bool batch_allowed(mcp_conn *c)
{
    return c->opts.mode != MCP_CONN_HTTP_MODERN && c->state >= LEGACY_INITIALIZED &&
           !strcmp(c->version, "2025-03-26");
}

static int handle_batch(mcp_conn *c, const json_value *arr, const mcp_msg_info *info, void *tag)
{
    if (!batch_allowed(c))
        return fail_message(c, tag, F_INVALID_REQUEST,
                            "invalid request: batches are only accepted in protocol version "
                            "2025-03-26");
    if (arr->len == 0)
        return fail_message(c, tag, F_INVALID_REQUEST, "invalid request: empty batch");
    int n = 0;
    for (uint32_t i = 0; i < arr->len; i++) {
        mcp_ctx *ctx = ctx_new(c, tag);
        json_value *v = json_clone(&arr->u.items[i], &ctx->arena);
        n += handle_value(ctx, v, info);
    }
    return n;
}

/* Whether info's admission lets v through (see mcp_msg_info.admit); writes v's id into
 * info->id when it does not. */
static bool admitted(mcp_ctx *ctx, const json_value *v, mcp_msg_info *info)
{
    const json_value *m = json_is_object(v) ? json_get(v, "method") : NULL;
    const json_value *params = json_is_object(v) ? json_get(v, "params") : NULL;
    const char *body;
    if (info->admit == MCP_ADMIT_INITIALIZE &&
        ((json_is_string(m) && m->len == 10 && !memcmp(m->u.str, "initialize", 10)) ||
         version_mismatch(ctx, params, info, &body)))
        return true;
    rpc_id id = {0};
    const json_value *jid = json_is_object(v) ? json_get(v, "id") : NULL;
    if (jid) rpc_id_from_json(jid, &id);
    mcp_buf b;
    mcp_buf_init(&b, info->id, sizeof info->id, sizeof info->id - 1);
    rpc_write_id(&b, &id);
    size_t n = b.overflow || b.data != info->id ? 0 : b.len;
    mcp_buf_free(&b);
    if (n)
        info->id[n] = '\0';
    else
        snprintf(info->id, sizeof info->id, "null");
    return false;
}

/* Copies a JSON string value into out[cap] (bounded; embedded NULs end it). */
static void copy_str(char *out, size_t cap, const json_value *v)
{
    if (!json_is_string(v)) return;
    size_t n = v->len < cap - 1 ? v->len : cap - 1;
    memcpy(out, v->u.str, n);
    out[n] = '\0';
}

/* Fills names from a parsed message (see mcp_msg_info.names). */
static void note_names(mcp_msg_names *names, const json_value *v)
{
    if (v && v->type == JSON_ARRAY) {
        names->batch = v->len;
        v = v->len ? &v->u.items[0] : NULL;
    }
    if (!json_is_object(v)) return;
    copy_str(names->method, sizeof names->method, json_get(v, "method"));
    const json_value *p = json_get(v, "params");
    if (!json_is_object(p)) return;
    const json_value *n = json_get(p, "name");
    copy_str(names->name, sizeof names->name, json_is_string(n) ? n : json_get(p, "uri"));
}

int mcp_conn_handle(mcp_conn *c, const char *msg, size_t len, mcp_msg_info *info, void *tag)
{
    if (len > c->opts.max_message)
        return fail_message(c, tag, F_INVALID_REQUEST, "invalid request: message too large");
    mcp_ctx *ctx = ctx_new(c, tag);
    json_limits lim = json_default_limits;
    lim.max_size = c->opts.max_message;
    json_error je;
    json_value *v = json_parse(msg, len, &ctx->arena, &lim, &je);
    if (info && info->names) note_names(info->names, v);
    if (info && info->admit && (v || info->admit == MCP_ADMIT_NONE) && !admitted(ctx, v, info)) {
        ctx_free(ctx);
        return MCP_NOT_ADMITTED;
    }
    if (!v) {
        char where[160], full[200];
        snprintf(full, sizeof(full), "Parse error: %s", json_error_str(&je, where, sizeof(where)));
        ctx->era = c->opts.mode == MCP_CONN_HTTP_MODERN ? ERA_MODERN : ERA_LEGACY;
        ctx->whole = true;
        ctx_fail_with(ctx, F_PARSE, 0, NULL, full);
        return 1;
    }
    if (v->type == JSON_ARRAY) {
        int n = handle_batch(c, v, info, tag);
        ctx_free(ctx);
        return n;
    }
    return handle_value(ctx, v, info);
}
