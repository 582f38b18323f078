/* tasks.c - tool calls that outlive their request: both task protocols, one store.
 *
 * A tools/call becomes a task when its tool opts in (MCP_TASK_OPTIONAL / MCP_TASK_REQUIRED)
 * and the client can take one: in the legacy era (2025-11-25, experimental) the request
 * carries params.task; in the modern era the request's clientCapabilities name the extension
 * io.modelcontextprotocol/tasks. task_start() answers the request at once with a
 * CreateTaskResult and detaches the ctx from it (its tag becomes NULL), so the handler goes on
 * running and its final answer lands here (task_take_final) instead of on the wire. Clients
 * then poll: tasks/get, plus tasks/result (blocks until terminal), tasks/list and tasks/cancel
 * in the legacy era; tasks/get, tasks/update (answers to the task's questions) and tasks/cancel
 * in the modern era. A modern task handler that asks the client something parks: its
 * questions show as inputRequests of an input_required task, tasks/update answers them, and
 * the handler runs again once every question has its answer. A legacy task handler asks with
 * real server-to-client requests, on the session's standalone stream.
 *
 * The store is server-wide: a hash by task id under one mutex (tasks are created and polled,
 * not hot), bounded in count, each task bounded in life (ttl from creation; a terminal task is
 * dropped once its ttl has passed, a task parked for input is cancelled then). Ids are 128
 * random bits (base64url), so they cannot be guessed; a legacy task is visible only to the
 * session that created it, and any task only to the principal that created it (the transport's
 * auth; another one is told the task is unknown). Lock order: a conn's lock may be held when taking
 * tasks_lock only through ctx_free; nothing here calls into a conn with tasks_lock held.
 *
 * This is a feature (feature.h): its methods are in tasks_methods at the end, its state (the
 * store) is private to this file, and the engine reaches it only through the hooks: a call's
 * start (before_call), the final answer and the end of a task's ctx (the ctx hooks, since a
 * task holds its ctx), asking inside a task, capabilities, registrations and the tick. */
#include "mcp/ask.h"
#include "mcp/feature.h"
#include "mcp/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/random.h"
#include "rt/clock.h"

#define LIT(b, s)         mcp_buf_append((b), (s), sizeof(s) - 1)
#define META_TASKS        "io.modelcontextprotocol/tasks"
#define META_RELATED      "io.modelcontextprotocol/related-task"
#define TASK_BUCKETS      1024
#define REAP_EVERY_MS     1000
#define TERMINAL_GRACE_MS 5000 /* a terminal task stays readable at least this long */

typedef struct task task;

/* The store: every task of a server (this feature's state). */
typedef struct task_store {
    atomic_bool has_tools; /* a tool with MCP_TASK_*: the capability is declared, methods answer */
    mcp_task_limits limits;
    pthread_mutex_t lock; /* everything below */
    task **buckets;
    task *head, *tail;
    size_t n;
    uint64_t seq;
    _Atomic uint64_t reaped_ms;
} task_store;

extern const feature tasks_feature;

static task_store *store(mcp_server *s)
{
    return feature_state(s, &tasks_feature);
}

/* The task ctx runs as, or NULL. */
static task *ctx_task(const mcp_ctx *ctx)
{
    return ctx->holder == &tasks_feature ? ctx->held : NULL;
}

static void hold(mcp_ctx *ctx, task *t)
{
    ctx->holder = &tasks_feature;
    ctx->held = t;
}

static void release(mcp_ctx *ctx)
{
    ctx->holder = NULL;
    ctx->held = NULL;
}

enum { T_WORKING, T_INPUT_REQUIRED, T_COMPLETED, T_FAILED, T_CANCELLED };
static const char *const status_names[] = {"working", "input_required", "completed", "failed",
                                           "cancelled"};

struct task {
    task *hnext;       /* hash chain */
    task *prev, *next; /* creation order */
    char id[MCP_RANDOM_TOKEN_SIZE(16)];
    char *meta; /* {"<related-task>":{"taskId":id}}: the _meta of messages about the task */
    uint8_t era;
    uint8_t status;
    bool parked;                    /* modern: the handler waits for tasks/update */
    uint64_t owner;                 /* legacy: the serial of the conn that created it; 0: anyone */
    char principal[65];             /* who created it (mcp_principal_digest; "": nobody) */
    uint64_t seq;                   /* creation order, for tasks/list cursors */
    int64_t created_ms, updated_ms; /* Unix ms */
    uint64_t terminal_mono;         /* monotonic ms when it became terminal */
    int64_t ttl_ms;
    mcp_ctx *ctx;   /* the handler's ctx while it lives */
    bool *answered; /* per question of a parked ctx (in the ctx's arena) */
    char *payload;  /* terminal: the result object, or the error object when failed */
    size_t payload_len;
    bool payload_error; /* payload is a JSON-RPC error object */
    mcp_ctx **waiters;  /* legacy tasks/result calls waiting for the end */
    size_t nwaiters;
};

/* ---- store ------------------------------------------------------------------------------- */

static void *tasks_init(mcp_server *s)
{
    task_store *ts = mcp_xcalloc(1, sizeof *ts);
    pthread_mutex_init(&ts->lock, NULL);
    ts->buckets = mcp_xcalloc(TASK_BUCKETS, sizeof(task *));
    ts->limits.max_tasks = 10000;
    ts->limits.default_ttl_ms = 300000;
    ts->limits.max_ttl_ms = 3600000;
    ts->limits.poll_interval_ms = 500;
    return ts;
}

int srv_set_task_limits(mcp_server *s, const mcp_task_limits *lim)
{
    if (!s || !lim) return MCP_EINVAL;
    if (lim->default_ttl_ms < 0 || lim->max_ttl_ms < 0 ||
        (lim->default_ttl_ms > 0 && lim->max_ttl_ms > 0 && lim->default_ttl_ms > lim->max_ttl_ms))
        return MCP_ERANGE;
    task_store *ts = store(s);
    if (lim->max_tasks) ts->limits.max_tasks = lim->max_tasks;
    if (lim->default_ttl_ms > 0) ts->limits.default_ttl_ms = lim->default_ttl_ms;
    if (lim->max_ttl_ms > 0) ts->limits.max_ttl_ms = lim->max_ttl_ms;
    if (lim->poll_interval_ms) ts->limits.poll_interval_ms = lim->poll_interval_ms;
    return 0;
}

static size_t bucket_of(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = id; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (size_t)(h & (TASK_BUCKETS - 1));
}

static task *find_locked(task_store *ts, const char *id, size_t len)
{
    if (len >= sizeof(((task *)0)->id)) return NULL;
    char key[sizeof(((task *)0)->id)];
    memcpy(key, id, len);
    key[len] = '\0';
    for (task *t = ts->buckets[bucket_of(key)]; t; t = t->hnext)
        if (!strcmp(t->id, key)) return t;
    return NULL;
}

static void unlink_locked(task_store *ts, task *t)
{
    for (task **p = &ts->buckets[bucket_of(t->id)]; *p; p = &(*p)->hnext)
        if (*p == t) {
            *p = t->hnext;
            break;
        }
    if (t->prev)
        t->prev->next = t->next;
    else
        ts->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        ts->tail = t->prev;
    ts->n--;
}

static void task_free(task *t)
{
    free(t->meta);
    free(t->payload);
    free(t->waiters);
    free(t);
}

static bool terminal(const task *t)
{
    return t->status >= T_COMPLETED;
}

static void set_status_locked(task *t, int st)
{
    if (terminal(t)) return; /* terminal states never change */
    t->status = (uint8_t)st;
    t->updated_ms = (int64_t)rt_now_unix_ms();
    if (terminal(t)) t->terminal_mono = rt_now_ms();
}

/* Collects what must be freed outside the lock: dropped tasks, and the ctxs of parked tasks
 * whose ttl passed (those tasks end cancelled and stay readable for the grace period). */
static size_t reap_locked(task_store *ts, uint64_t mono, int64_t unix_ms, task **dead,
                          mcp_ctx **ctxs, size_t *nctx, size_t max)
{
    size_t n = 0;
    for (task *t = ts->head, *next; t && n < max && *nctx < max; t = next) {
        next = t->next;
        if (unix_ms < t->created_ms + t->ttl_ms) continue;
        if (t->parked) { /* nobody answered in time: the task ends cancelled */
            set_status_locked(t, T_CANCELLED);
            t->parked = false;
            if (t->ctx) ctxs[(*nctx)++] = t->ctx;
            t->ctx = NULL;
            continue;
        }
        if (!terminal(t) || t->ctx || mono < t->terminal_mono + TERMINAL_GRACE_MS || t->nwaiters)
            continue;
        unlink_locked(ts, t);
        dead[n++] = t;
    }
    return n;
}

static void tasks_reap(mcp_server *s, uint64_t now_ms)
{
    task_store *ts = store(s);
    uint64_t last = atomic_load_explicit(&ts->reaped_ms, memory_order_relaxed);
    if (now_ms - last < REAP_EVERY_MS && last) return;
    if (!atomic_compare_exchange_strong(&ts->reaped_ms, &last, now_ms)) return;
    task *dead[64];
    mcp_ctx *ctxs[64];
    size_t n, nctx;
    do {
        nctx = 0;
        pthread_mutex_lock(&ts->lock);
        n = reap_locked(ts, now_ms, (int64_t)rt_now_unix_ms(), dead, ctxs, &nctx, 64);
        pthread_mutex_unlock(&ts->lock);
        for (size_t i = 0; i < nctx; i++) {
            release(ctxs[i]);
            ctx_free(ctxs[i]);
        }
        for (size_t i = 0; i < n; i++) task_free(dead[i]);
    } while (n == 64 || nctx == 64);
}

void mcp_server_cancel_tasks(mcp_server *s)
{
    task_store *ts = store(s);
    mcp_ctx *parked[64];
    size_t n;
    do {
        n = 0;
        pthread_mutex_lock(&ts->lock);
        for (task *t = ts->head; t && n < 64; t = t->next) {
            if (terminal(t)) continue;
            set_status_locked(t, T_CANCELLED);
            if (t->parked && t->ctx) {
                parked[n++] = t->ctx;
                t->ctx = NULL;
                t->parked = false;
            } else if (t->ctx) {
                ctx_cancel(t->ctx);
            }
        }
        pthread_mutex_unlock(&ts->lock);
        for (size_t i = 0; i < n; i++) {
            release(parked[i]);
            ctx_free(parked[i]);
        }
    } while (n == 64);
}

static void tasks_free(mcp_server *s, void *st)
{
    task_store *ts = st;
    while (ts->head) {
        task *t = ts->head;
        unlink_locked(ts, t);
        if (t->ctx) {
            release(t->ctx);
            ctx_free(t->ctx);
        }
        for (size_t i = 0; i < t->nwaiters; i++) ctx_free(t->waiters[i]);
        task_free(t);
    }
    free(ts->buckets);
    pthread_mutex_destroy(&ts->lock);
    free(ts);
}

/* ---- writing tasks ----------------------------------------------------------------------- */

static void write_iso(mcp_buf *b, int64_t ms)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    mcp_buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The Task fields (no braces): taskId, status, timestamps, ttl, poll interval. */
static void write_task_fields(task_store *ts, const task *t, mcp_buf *b)
{
    bool modern = t->era == ERA_MODERN;
    LIT(b, "\"taskId\":");
    rpc_write_str(b, t->id, strlen(t->id));
    LIT(b, ",\"status\":\"");
    mcp_buf_puts(b, status_names[t->status]);
    LIT(b, "\",\"createdAt\":");
    write_iso(b, t->created_ms);
    LIT(b, ",\"lastUpdatedAt\":");
    write_iso(b, t->updated_ms);
    mcp_buf_printf(
        b, modern ? ",\"ttlMs\":%lld,\"pollIntervalMs\":%u" : ",\"ttl\":%lld,\"pollInterval\":%u",
        (long long)t->ttl_ms, ts->limits.poll_interval_ms);
}

/* Modern inputRequests of a parked task: the questions not yet answered. */
static void write_input_requests(const task *t, mcp_buf *b)
{
    const mcp_ctx *c = t->ctx;
    LIT(b, ",\"inputRequests\":{");
    bool first = true;
    for (uint32_t i = 0; c && i < c->nq; i++) {
        if (t->answered && t->answered[i]) continue;
        if (!first) mcp_buf_putc(b, ',');
        first = false;
        rpc_write_str(b, c->qs[i].key, strlen(c->qs[i].key));
        LIT(b, ":{\"method\":");
        rpc_write_str(b, c->qs[i].method, strlen(c->qs[i].method));
        LIT(b, ",\"params\":");
        mcp_buf_append(b, c->qs[i].params, c->qs[i].params_len);
        mcp_buf_putc(b, '}');
    }
    mcp_buf_putc(b, '}');
}

/* Legacy notifications/tasks/status on the conn's standalone stream. */
static void notify_status(mcp_ctx *ctx, mcp_server *s, const task *snapshot)
{
    if (!ctx || snapshot->era != ERA_LEGACY) return;
    mcp_buf p, b;
    mcp_buf_init(&p, NULL, 0, 0);
    mcp_buf_putc(&p, '{');
    write_task_fields(store(s), snapshot, &p);
    mcp_buf_putc(&p, '}');
    mcp_buf_init(&b, NULL, 0, 0);
    rpc_write_notification(&b, "notifications/tasks/status", p.data, p.len);
    ctx_send(ctx, b.data, b.len, MCP_OUT_NOTIFICATION);
    mcp_buf_free(&p);
    mcp_buf_free(&b);
}

/* ---- starting a task --------------------------------------------------------------------- */

static bool tasks_in_version(const char *v);

static bool task_client_can(const mcp_ctx *ctx)
{
    if (ctx->era == ERA_MODERN) {
        const json_value *ext = json_get(ctx->caps, "extensions");
        return json_get(ext, META_TASKS) != NULL;
    }
    const json_value *t = json_get(ctx->params, "task");
    return json_is_object(t) && tasks_in_version(ctx->conn->version);
}

static bool tasks_in_version(const char *v)
{
    return strcmp(v, "2025-11-25") >= 0; /* tasks came with 2025-11-25 */
}

static void task_write_missing(mcp_ctx *ctx)
{
    if (ctx->era == ERA_MODERN)
        ctx_fail_with(ctx, F_MISSING_CAPABILITY, 0,
                      "{\"requiredCapabilities\":{\"extensions\":{\"" META_TASKS "\":{}}}}",
                      "Missing required client capability: extensions." META_TASKS);
    else
        ctx_fail_with(ctx, F_METHOD_NOT_FOUND, 0, NULL,
                      "Method not found: this tool runs only as a task (params.task required)");
}

bool mcp_ctx_start_task(mcp_ctx *ctx)
{
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    if (ctx_task(ctx)) return true;
    if (ctx->method != M_TOOLS_CALL || !ctx->entry ||
        !(ctx->entry->flags & (MCP_TASK_OPTIONAL | MCP_TASK_REQUIRED)) || !task_client_can(ctx))
        return false;
    int64_t ttl = ts->limits.default_ttl_ms;
    int64_t want;
    if (ctx->era == ERA_LEGACY &&
        json_get_int(json_get(ctx->params, "task"), "ttl", &want, NULL, NULL, 0) == 1 && want > 0)
        ttl = want;
    if (ttl > ts->limits.max_ttl_ms) ttl = ts->limits.max_ttl_ms;
    tasks_reap(s, rt_now_ms());
    task *t = mcp_xcalloc(1, sizeof *t);
    mcp_random_token(t->id, 16);
    mcp_buf m;
    mcp_buf_init(&m, NULL, 0, 0);
    LIT(&m, "{\"" META_RELATED "\":{\"taskId\":");
    rpc_write_str(&m, t->id, strlen(t->id));
    LIT(&m, "}}");
    t->meta = mcp_buf_steal(&m, NULL);
    t->era = ctx->era;
    t->owner = ctx->era == ERA_LEGACY ? ctx->conn->serial : 0;
    mcp_principal_digest(s, ctx->principal, t->principal);
    t->created_ms = t->updated_ms = (int64_t)rt_now_unix_ms();
    t->ttl_ms = ttl;
    t->ctx = ctx;

    char stack[1024];
    mcp_buf b;
    mcp_buf_init(&b, stack, sizeof stack, 0);
    rpc_begin_result(&b, &ctx->id);
    if (ctx->era == ERA_MODERN) {
        LIT(&b, "{\"resultType\":\"task\",");
        write_task_fields(ts, t, &b);
        LIT(&b, ",\"_meta\":{\"" META_SERVER "\":");
        mcp_buf_append(&b, s->info_json, s->info_len);
        LIT(&b, "}}");
    } else {
        LIT(&b, "{\"task\":{");
        write_task_fields(ts, t, &b);
        LIT(&b, "}}");
    }
    rpc_end_result(&b);

    pthread_mutex_lock(&ts->lock);
    bool full = ts->n >= ts->limits.max_tasks;
    if (!full) {
        t->seq = ++ts->seq;
        size_t k = bucket_of(t->id);
        t->hnext = ts->buckets[k];
        ts->buckets[k] = t;
        t->prev = ts->tail;
        if (ts->tail)
            ts->tail->next = t;
        else
            ts->head = t;
        ts->tail = t;
        ts->n++;
        hold(ctx, t);
    }
    pthread_mutex_unlock(&ts->lock);
    if (full) {
        task_free(t);
        mcp_buf_free(&b);
        return false;
    }
    /* the request ends here; the ctx lives on under the task, tied to no request */
    ctx_answer_detach(ctx, &b);
    mcp_buf_free(&b);
    return true;
}

bool mcp_ctx_is_task(const mcp_ctx *ctx)
{
    return ctx_task(ctx) != NULL;
}

/* ---- the end of a task's handler ----------------------------------------------------------- */

/* Answers one legacy tasks/result waiter from a terminal task's payload. */
static void answer_waiter(mcp_ctx *w, const char *id, bool failed, const char *payload, size_t len)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    if (failed) {
        rpc_begin_error(&b, &w->id);
        mcp_buf_append(&b, payload, len);
    } else {
        /* the result, with _meta.related-task added (an existing _meta is kept) */
        mcp_arena a;
        mcp_arena_init(&a, NULL, 0);
        json_value *v = json_parse(payload, len, &a, NULL, NULL);
        rpc_begin_result(&b, &w->id);
        json_writer jw;
        json_writer_init(&jw, &b, false);
        json_write_obj_begin(&jw);
        const json_value *meta = NULL;
        for (uint32_t i = 0; v && i < v->len; i++) {
            const json_member *m = &v->u.members[i];
            if (!strcmp(m->key, "_meta")) {
                meta = &m->value;
                continue;
            }
            json_write_key(&jw, m->key, m->key_len);
            json_write_value(&jw, &m->value);
        }
        json_write_keyz(&jw, "_meta");
        json_write_obj_begin(&jw);
        for (uint32_t i = 0; json_is_object(meta) && i < meta->len; i++) {
            if (!strcmp(meta->u.members[i].key, META_RELATED)) continue;
            json_write_key(&jw, meta->u.members[i].key, meta->u.members[i].key_len);
            json_write_value(&jw, &meta->u.members[i].value);
        }
        json_write_keyz(&jw, META_RELATED);
        json_write_obj_begin(&jw);
        json_write_keyz(&jw, "taskId");
        json_write_strz(&jw, id);
        json_write_obj_end(&jw);
        json_write_obj_end(&jw);
        json_write_obj_end(&jw);
        mcp_arena_free(&a);
    }
    rpc_end_result(&b);
    ctx_send_final(w, &b, MCP_STATUS_OK);
    mcp_buf_free(&b);
}

/* Ends the waiters of t (taken out under the lock by the caller). */
static void answer_waiters(mcp_ctx **ws, size_t n, const char *id, int status, bool is_error,
                           const char *payload, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (status == T_CANCELLED || !payload)
            ctx_fail_with(ws[i], F_INVALID_PARAMS, 0, NULL, "task was cancelled");
        else
            answer_waiter(ws[i], id, is_error, payload, len);
    }
    free(ws);
}

static bool task_take_final(mcp_ctx *ctx, const char *msg, size_t len)
{
    task *t = ctx_task(ctx);
    if (!t) return false;
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    /* split the response into result or error */
    mcp_arena a;
    mcp_arena_init(&a, NULL, 0);
    json_value *v = json_parse(msg, len, &a, NULL, NULL);
    const json_value *res = json_get(v, "result"), *err = json_get(v, "error");
    const json_value *ie = json_get(res, "isError");
    bool tool_error = ie && ie->type == JSON_BOOL && ie->b;
    mcp_buf p;
    mcp_buf_init(&p, NULL, 0, 0);
    if (res)
        json_serialize(&p, res, false);
    else if (err)
        json_serialize(&p, err, false);
    mcp_arena_free(&a);

    pthread_mutex_lock(&ts->lock);
    if (atomic_load(&ctx->cancelled)) set_status_locked(t, T_CANCELLED);
    if (!terminal(t)) {
        /* a tool error is "completed" in 2026-07-28 and "failed" in 2025-11-25 */
        set_status_locked(t, !res || (t->era == ERA_LEGACY && tool_error) ? T_FAILED : T_COMPLETED);
        t->payload = mcp_buf_steal(&p, &t->payload_len);
        t->payload_error = !res;
    }
    t->ctx = NULL;
    t->parked = false;
    release(ctx);
    mcp_ctx **ws = t->waiters;
    size_t nw = t->nwaiters;
    t->waiters = NULL;
    t->nwaiters = 0;
    task snap = *t;
    char id[sizeof t->id];
    memcpy(id, t->id, sizeof id);
    char *payload = t->payload ? mcp_xstrndup(t->payload, t->payload_len) : NULL;
    pthread_mutex_unlock(&ts->lock);
    mcp_buf_free(&p);
    notify_status(ctx, s, &snap);
    answer_waiters(ws, nw, id, snap.status, snap.payload_error, payload, snap.payload_len);
    free(payload);
    return true;
}

static void task_ctx_gone(mcp_ctx *ctx)
{
    task *t = ctx_task(ctx);
    if (!t) return;
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    pthread_mutex_lock(&ts->lock);
    if (t->ctx == ctx) {
        t->ctx = NULL;
        t->parked = false;
        set_status_locked(t, atomic_load(&ctx->cancelled) ? T_CANCELLED : T_FAILED);
        if (t->status == T_FAILED && !t->payload) {
            static const char e[] =
                "{\"code\":-32603,\"message\":\"the task ended without an answer\"}";
            t->payload = mcp_xstrndup(e, sizeof e - 1);
            t->payload_len = sizeof e - 1;
        }
    }
    mcp_ctx **ws = t->waiters;
    size_t nw = t->nwaiters;
    t->waiters = NULL;
    t->nwaiters = 0;
    int st = t->status;
    bool perr = t->payload_error;
    char id[sizeof t->id];
    memcpy(id, t->id, sizeof id);
    char *payload = t->payload ? mcp_xstrndup(t->payload, t->payload_len) : NULL;
    size_t plen = t->payload_len;
    pthread_mutex_unlock(&ts->lock);
    release(ctx);
    answer_waiters(ws, nw, id, st, perr, payload, plen);
    free(payload);
}

/* ---- asking inside a task ------------------------------------------------------------------- */

static int task_park(mcp_ctx *ctx)
{
    task *t = ctx_task(ctx);
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    bool *answered = mcp_arena_alloc(&ctx->arena, ctx->nq * sizeof(bool));
    memset(answered, 0, ctx->nq * sizeof(bool));
    ctx_unlink(ctx); /* parked: not in flight (a shutdown need not wait for the user) */
    pthread_mutex_lock(&ts->lock);
    bool cancelled = t->status == T_CANCELLED;
    if (!cancelled) {
        t->answered = answered;
        t->parked = true;
        set_status_locked(t, T_INPUT_REQUIRED);
    }
    pthread_mutex_unlock(&ts->lock);
    if (cancelled) {
        release(ctx);
        pthread_mutex_lock(&ts->lock);
        t->ctx = NULL;
        pthread_mutex_unlock(&ts->lock);
        ctx_free(ctx);
    }
    return 0;
}

static void task_legacy_asking(mcp_ctx *ctx, bool asking)
{
    task *t = ctx_task(ctx);
    if (!t) return;
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    pthread_mutex_lock(&ts->lock);
    if (t->status == (asking ? T_WORKING : T_INPUT_REQUIRED))
        set_status_locked(t, asking ? T_INPUT_REQUIRED : T_WORKING);
    pthread_mutex_unlock(&ts->lock);
}

/* ---- the tasks/ methods --------------------------------------------------------------------- */

static void fail_unknown(mcp_ctx *ctx, const char *id)
{
    char msg[200];
    snprintf(msg, sizeof msg, "invalid params: unknown or expired task '%.64s'", id);
    ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL, msg);
}

/* Finds the task named by params.taskId that this ctx may see; locks tasks_lock on success. */
static task *lookup(mcp_ctx *ctx)
{
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    const char *id = NULL;
    size_t n = 0;
    char err[160];
    int rc = json_get_str(ctx->params, "taskId", &id, &n, "params", err, sizeof err);
    if (rc != 1) {
        if (rc == 0) snprintf(err, sizeof err, "params.taskId: required");
        char msg[200];
        snprintf(msg, sizeof msg, "invalid params: %s", err);
        ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL, msg);
        return NULL;
    }
    char who[65];
    mcp_principal_digest(s, ctx->principal, who);
    pthread_mutex_lock(&ts->lock);
    task *t = find_locked(ts, id, n);
    if (t && (t->era != ctx->era || (t->owner && t->owner != ctx->conn->serial) ||
              strcmp(t->principal, who)))
        t = NULL; /* another principal's task is answered as unknown */
    if (!t) {
        pthread_mutex_unlock(&ts->lock);
        fail_unknown(ctx, id);
    }
    return t;
}

static void do_get(mcp_ctx *ctx)
{
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    task *t = lookup(ctx);
    if (!t) return;
    mcp_buf b;
    result_begin(ctx, &b);
    write_task_fields(ts, t, &b);
    if (t->status == T_INPUT_REQUIRED && t->parked) write_input_requests(t, &b);
    if (ctx->era == ERA_MODERN && t->payload) {
        if (!t->payload_error)
            LIT(&b, ",\"result\":");
        else
            LIT(&b, ",\"error\":");
        mcp_buf_append(&b, t->payload, t->payload_len);
    }
    pthread_mutex_unlock(&ts->lock);
    result_end_send(ctx, &b);
}

static void do_cancel(mcp_ctx *ctx)
{
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    task *t = lookup(ctx);
    if (!t) return;
    if (ctx->era == ERA_LEGACY && terminal(t)) {
        int st = t->status;
        pthread_mutex_unlock(&ts->lock);
        char msg[160];
        snprintf(msg, sizeof msg, "invalid params: the task is already %s", status_names[st]);
        ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL, msg);
        return;
    }
    set_status_locked(t, T_CANCELLED);
    mcp_ctx *parked = NULL, *running = t->ctx;
    if (t->parked) {
        parked = t->ctx;
        t->ctx = NULL;
        t->parked = false;
        running = NULL;
    }
    if (running) ctx_cancel(running);
    mcp_ctx **ws = t->waiters;
    size_t nw = t->nwaiters;
    t->waiters = NULL;
    t->nwaiters = 0;
    char id[sizeof t->id];
    memcpy(id, t->id, sizeof id);
    mcp_buf b;
    result_begin(ctx, &b);
    if (ctx->era == ERA_LEGACY) write_task_fields(ts, t, &b);
    pthread_mutex_unlock(&ts->lock);
    if (parked) {
        release(parked);
        ctx_free(parked);
    }
    answer_waiters(ws, nw, id, T_CANCELLED, false, NULL, 0);
    result_end_send(ctx, &b);
}

static void do_update(mcp_ctx *ctx)
{
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    const json_value *resp = json_get(ctx->params, "inputResponses");
    if (resp && !json_is_object(resp)) {
        ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL,
                      "invalid params: params.inputResponses: expected object");
        return;
    }
    task *t = lookup(ctx);
    if (!t) return;
    mcp_ctx *resume = NULL;
    if (t->parked && t->ctx) {
        mcp_ctx *c = t->ctx;
        for (uint32_t i = 0; resp && i < resp->len; i++) {
            const json_member *m = &resp->u.members[i];
            for (uint32_t q = 0; q < c->nq; q++)
                if (!t->answered[q] && !strcmp(c->qs[q].key, m->key)) {
                    ctx_add_answer(c, c->qs[q].key, json_clone(&m->value, &c->arena));
                    t->answered[q] = true;
                }
        }
        bool all = true;
        for (uint32_t q = 0; q < c->nq; q++) all &= t->answered[q];
        if (all) {
            t->parked = false;
            t->answered = NULL;
            set_status_locked(t, T_WORKING);
            resume = c;
        }
    }
    pthread_mutex_unlock(&ts->lock);
    mcp_buf b;
    result_begin(ctx, &b);
    result_end_send(ctx, &b);
    if (resume) {
        ctx_reset_answer(resume);
        ctx_run_handler(resume);
    }
}

static void do_result(mcp_ctx *ctx)
{
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    task *t = lookup(ctx);
    if (!t) return;
    if (!terminal(t)) { /* blocks: answered when the task ends */
        t->waiters = mcp_xrealloc(t->waiters, (t->nwaiters + 1) * sizeof *t->waiters);
        t->waiters[t->nwaiters++] = ctx;
        ctx_link(ctx);
        pthread_mutex_unlock(&ts->lock);
        return;
    }
    int st = t->status;
    bool perr = t->payload_error;
    char id[sizeof t->id];
    memcpy(id, t->id, sizeof id);
    char *payload = t->payload ? mcp_xstrndup(t->payload, t->payload_len) : NULL;
    size_t plen = t->payload_len;
    pthread_mutex_unlock(&ts->lock);
    mcp_ctx **one = mcp_xmalloc(sizeof *one);
    one[0] = ctx;
    answer_waiters(one, 1, id, st, perr, payload, plen);
    free(payload);
}

static void do_list(mcp_ctx *ctx)
{
    mcp_server *s = ctx->conn->srv;
    task_store *ts = store(s);
    uint64_t after;
    if (cursor_read(ctx, "tasks", NULL, 0, &after)) return;
    mcp_buf b;
    result_begin(ctx, &b);
    LIT(&b, "\"tasks\":[");
    unsigned page = s->page_size ? s->page_size : 100, count = 0;
    uint64_t last = 0;
    bool more = false;
    pthread_mutex_lock(&ts->lock);
    for (task *t = ts->head; t; t = t->next) {
        if (t->seq <= after || t->era != ERA_LEGACY || t->owner != ctx->conn->serial) continue;
        if (count == page) {
            more = true;
            break;
        }
        if (count++) mcp_buf_putc(&b, ',');
        mcp_buf_putc(&b, '{');
        write_task_fields(ts, t, &b);
        mcp_buf_putc(&b, '}');
        last = t->seq;
    }
    pthread_mutex_unlock(&ts->lock);
    mcp_buf_putc(&b, ']');
    if (more) cursor_write(s, &b, "tasks", last, NULL, 0);
    result_end_send(ctx, &b);
}

/* ---- the feature --------------------------------------------------------------------------- */

/* Modern: the tasks/ methods need the extension in the client's capabilities. */
static bool gate(mcp_ctx *ctx)
{
    if (ctx->era != ERA_MODERN || task_client_can(ctx)) return true;
    ctx_fail_with(ctx, F_MISSING_CAPABILITY, 0,
                  "{\"requiredCapabilities\":{\"extensions\":{\"" META_TASKS "\":{}}}}",
                  "Missing required client capability: extensions." META_TASKS);
    return false;
}

#define GATED(name, call)                                                                          \
    static void name(mcp_ctx *ctx, const mcp_msg_info *info)                                       \
    {                                                                                              \
        (void)info;                                                                                \
        if (gate(ctx)) call(ctx);                                                                  \
    }
GATED(m_get, do_get)
GATED(m_update, do_update)
GATED(m_cancel, do_cancel)
GATED(m_result, do_result)
GATED(m_list, do_list)

/* tasks/result and tasks/list exist in 2025-11-25 only, tasks/update in 2026-07-28 only. */
static const feature_method tasks_methods[] = {
    {"tasks/get", ERAS_BOTH, M_EXT, "taskId", m_get},
    {"tasks/update", ERAS_MODERN, M_EXT, "taskId", m_update},
    {"tasks/cancel", ERAS_BOTH, M_EXT, "taskId", m_cancel},
    {"tasks/result", ERAS_LEGACY, M_EXT, NULL, m_result},
    {"tasks/list", ERAS_LEGACY, M_EXT, NULL, m_list},
};

static bool tasks_available(mcp_server *s, void *st)
{
    return atomic_load(&((task_store *)st)->has_tools);
}

/* 2025-11-25: the tasks capability; 2026-07-28: the extension (both once a tool can be one). */
static void tasks_capabilities(mcp_server *s, void *st, int era, mcp_buf *caps, mcp_buf *exts)
{
    if (!atomic_load(&((task_store *)st)->has_tools)) return;
    if (era == ERA_MODERN)
        LIT(exts, ",\"" META_TASKS "\":{}");
    else
        LIT(caps, ",\"tasks\":{\"list\":{},\"cancel\":{},\"requests\":{\"tools\":{\"call\":{}}}}");
}

static void tasks_registered(mcp_server *s, void *st, reg_kind kind, unsigned flags)
{
    if (kind == REG_TOOL && (flags & (MCP_TASK_OPTIONAL | MCP_TASK_REQUIRED)))
        atomic_store(&((task_store *)st)->has_tools, true);
}

/* A tools/call of a tool that runs as a task: start it (the call goes on under the task). */
static int tasks_before_call(mcp_ctx *ctx, void *st)
{
    unsigned f = ctx->entry->flags;
    if (f & (MCP_TASK_OPTIONAL | MCP_TASK_REQUIRED)) {
        bool can = task_client_can(ctx);
        if (!can && (f & MCP_TASK_REQUIRED)) {
            task_write_missing(ctx);
            return -1;
        }
        if (can && !(f & MCP_TASK_DEFERRED) && !mcp_ctx_start_task(ctx) &&
            (f & MCP_TASK_REQUIRED)) {
            ctx_fail_with(ctx, F_OVERLOADED, 0, NULL, "too many tasks; retry later");
            return -1;
        }
    } else if (ctx->era == ERA_LEGACY && json_is_object(json_get(ctx->params, "task")) &&
               atomic_load(&((task_store *)st)->has_tools)) {
        ctx_fail_with(ctx, F_METHOD_NOT_FOUND, 0, NULL,
                      "Method not found: this tool does not run as a task");
        return -1;
    }
    return 0;
}

static void tasks_tick(mcp_server *s, void *st, uint64_t now_ms)
{
    tasks_reap(s, now_ms);
}

static const char *task_meta(const mcp_ctx *ctx)
{
    const task *t = ctx_task(ctx);
    return t ? t->meta : NULL;
}

const feature tasks_feature = {
    .name = "tasks",
    .methods = tasks_methods,
    .nmethods = sizeof tasks_methods / sizeof *tasks_methods,
    .init = tasks_init,
    .free = tasks_free,
    .available = tasks_available,
    .capabilities = tasks_capabilities,
    .registered = tasks_registered,
    .before_call = tasks_before_call,
    .tick = tasks_tick,
    .final_result = task_take_final,
    .ctx_finished = task_ctx_gone,
    .ask = task_park,
    .asking = task_legacy_asking,
    .message_meta = task_meta,
};
