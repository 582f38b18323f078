/* guard.c - the guard around every tool call: circuit breaker, concurrency limit with a bounded
 * wait, the global child-process limit, the time limit, cancellation, and the call's end.
 *
 * A call passes, in order: the tool's circuit breaker when its entry has one ("breaker":
 * breaker.c; an open one answers at once with an isError result that says when to retry), the
 * tool's concurrency limit (limiter.c: at most `concurrency` calls run, a call beyond waits at
 * most queue_wait_ms on its handler thread, then gets an isError result that says the tool is
 * busy), the global child-process limit for kinds that spawn (a limiter too), and then runs
 * (kind->call). Inline calls (below) never wait: they take only free slots.
 *
 * Cancellation is pushed, not polled: each call registers a libmcp cancel callback
 * (mcp_ctx_on_cancel). It runs on whatever thread cancels (an I/O thread when the client sends
 * notifications/cancelled or goes away) with libmcp's locks held, so it only flips the call's
 * flags and then either wakes the limiters the call may be waiting on, or, once the kind runs,
 * posts kind->cancel to mcpd's loop (exec kills the process group there at once). The time
 * limit stays on the loop's timers: one watchdog timer for every running call (not one per
 * call: arming a timer per call cost two posts to the loop per call), ticking every 100 ms while
 * any runs; past a call's deadline it marks the call timed out and calls kind->cancel. The kind
 * still ends the call; a call that timed out is answered "tool X did not finish within N ms"
 * whatever the kind added, and counted as a timeout.
 *
 * State across reloads. A reload makes new mcpd_tools, but a tool's breaker and limiter are
 * kept (shared by the old and the new generation) when the tool keeps its name and the
 * settings of that part: an open breaker stays open, calls running on the old generation keep
 * counting against the limit. A changed breaker config gets a fresh breaker, changed limits a
 * fresh limiter. The table of kept parts is process-wide, refcounted, keyed by tool name.
 *
 * Cost per call: no post to the loop and no timer of its own; a call links itself into the
 * watchdog's list and unlinks at its end (one uncontended mutex each way), plus the cancel
 * callback's registration (one more). Only the first call after an idle spell posts the
 * watchdog's start.
 *
 * Inline calls. A tool added quick or with try_inline is registered MCP_INLINE: libmcp calls
 * the handler on the I/O thread that decoded the request, and the guard never waits there
 * (guard_inline): breaker, then a slot taken only if one is free, then the kind. Anything that
 * would wait (no free slot, a call_inline declining, a kind that spawns) hands the call to
 * libmcp's work pool with mcp_ctx_defer, where it runs the ordinary way. A quick tool's call
 * then runs as any other (cancel callback, watchdog, kind->call), only on the I/O thread: its
 * kind->call never blocks, and the call ends later from the kind's thread. A try_inline tool's
 * kind->call_inline ends the call at once or declines; such a call registers no cancel
 * callback and is not watched (it ends before its I/O thread could read a cancellation;
 * call_inline bounds its own time).
 *
 * The ctx belongs to the kind until the call ends; libmcp calls the cancel callback only
 * before the ctx ends, and the call's end unlinks it from the watchdog (under its mutex) before
 * finishing the ctx. The call is reference-counted (its end, plus a pending kind->cancel), and
 * its reference to the generation is dropped on the loop if it is the generation's last, so
 * the kind instance outlives every call on it and is freed on the loop thread. */
#include "mcpd.h"
#include "mcpd/breaker.h"
#include "mcpd/health.h"
#include "mcpd/limiter.h"
#include "mcpd/series.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 100

/* ---- what a reload keeps: breakers and limiters by tool name and settings ------------------ */
typedef struct kept {
    struct kept *next;
    char *name;   /* the tool's */
    bool breaker; /* obj is an mcpd_breaker, else an mcpd_limiter */
    char fp[96];  /* its settings, printed: equal settings, same object */
    size_t refs;  /* under kept_mu: the generations' tools holding it */
    bool linked;  /* still in kept_list (a newer one with other settings replaces it) */
    void *obj;
} kept;

static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;
static kept *kept_list;

/* The kept part of tool name with settings fp, with a reference taken; NULL if none. */
static kept *kept_find(const char *name, bool breaker, const char *fp)
{
    pthread_mutex_lock(&kept_mu);
    kept *k = kept_list;
    while (k && (k->breaker != breaker || strcmp(k->name, name) || strcmp(k->fp, fp))) k = k->next;
    if (k) k->refs++;
    pthread_mutex_unlock(&kept_mu);
    return k;
}

static void kept_unlink_locked(kept *k)
{
    for (kept **p = &kept_list; *p; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            break;
        }
    k->linked = false;
}

/* Registers obj as tool name's part (replacing, for later lookups, one with other settings). */
static kept *kept_add(const char *name, bool breaker, const char *fp, void *obj)
{
    kept *k = calloc(1, sizeof *k);
    if (!k || !(k->name = strdup(name))) abort();
    k->breaker = breaker;
    snprintf(k->fp, sizeof k->fp, "%s", fp);
    k->refs = 1;
    k->obj = obj;
    pthread_mutex_lock(&kept_mu);
    for (kept *o = kept_list; o; o = o->next)
        if (o->breaker == breaker && !strcmp(o->name, name)) {
            kept_unlink_locked(o);
            break;
        }
    k->next = kept_list;
    kept_list = k;
    k->linked = true;
    pthread_mutex_unlock(&kept_mu);
    return k;
}

static void kept_put(kept *k)
{
    if (!k) return;
    pthread_mutex_lock(&kept_mu);
    bool last = --k->refs == 0;
    if (last && k->linked) kept_unlink_locked(k);
    pthread_mutex_unlock(&kept_mu);
    if (!last) return;
    if (k->breaker)
        mcpd_breaker_free(k->obj);
    else
        mcpd_limiter_free(k->obj);
    free(k->name);
    free(k);
}

/* ---- guards ------------------------------------------------------------------------------ */
struct mcpd_guard {
    kept *limit_k, *breaker_k;
    mcpd_limiter *limit;
    mcpd_breaker *breaker; /* the tool's own, when its entry has "breaker"; else NULL */
};

/* The tool's breaker settings from its entry's "breaker" object; false for none (absent or
 * "enabled": false, unless the tool has health probes, which need one: then the defaults). */
static bool breaker_config(const mcp_json *b, bool probed, mcpd_breaker_config *cfg)
{
    bool on = true;
    if (!probed && (!b || (mcp_json_bool(mcp_json_get(b, "enabled"), &on) && !on))) return false;
    mcpd_breaker_config_default(cfg);
    int64_t v;
    double r;
    if (mcp_json_int(mcp_json_get(b, "window_ms"), &v)) cfg->window_ms = (uint32_t)v;
    if (mcp_json_int(mcp_json_get(b, "min_calls"), &v)) cfg->min_calls = (uint32_t)v;
    if (mcp_json_double(mcp_json_get(b, "failure_ratio"), &r))
        cfg->failure_percent = (uint32_t)(r * 100 + 0.5);
    if (mcp_json_int(mcp_json_get(b, "cooldown_ms"), &v)) cfg->cooldown_ms = (uint32_t)v;
    if (mcp_json_int(mcp_json_get(b, "half_open_probes"), &v)) cfg->probes = (uint32_t)v;
    return true;
}

static mcpd_limiter *children;
static uint32_t max_children;

void mcpd_guard_set_max_children(uint32_t n)
{
    max_children = n;
    if (!children) children = mcpd_limiter_new(n ? n : UINT32_MAX, UINT32_MAX, UINT32_MAX);
}

void mcpd_guard_new(mcpd_tool *t)
{
    mcpd_guard *g = calloc(1, sizeof *g);
    if (!g) abort();
    char fp[96];
    uint32_t max = t->concurrency ? t->concurrency : UINT32_MAX;
    snprintf(fp, sizeof fp, "%u/%u", max, t->queue_wait_ms);
    g->limit_k = kept_find(t->name, false, fp);
    if (!g->limit_k) /* waiters are bounded by the handler threads, their wait by queue_wait_ms */
        g->limit_k =
            kept_add(t->name, false, fp, mcpd_limiter_new(max, t->queue_wait_ms, UINT32_MAX));
    g->limit = g->limit_k->obj;
    mcpd_breaker_config bc;
    if (breaker_config(t->breaker_cfg, t->health != NULL, &bc)) {
        snprintf(fp, sizeof fp, "%u/%u/%u/%u/%u", bc.window_ms, bc.min_calls, bc.failure_percent,
                 bc.cooldown_ms, bc.probes);
        g->breaker_k = kept_find(t->name, true, fp);
        if (!g->breaker_k)
            g->breaker_k = kept_add(t->name, true, fp,
                                    mcpd_breaker_new(&bc, (uint64_t)(uintptr_t)t ^ mcpd_now_ms()));
        g->breaker = g->breaker_k->obj;
    }
    t->guard = g;
}

/* ---- health probes (health.c: one checker thread for the process) ------------------------- */
static pthread_mutex_t checker_mu = PTHREAD_MUTEX_INITIALIZER;
static mcpd_health *checker;
static bool checker_closed; /* serving ended: no new probes */

static void probe_tool(void *ud, mcpd_health_report_fn report, void *report_ud)
{
    mcpd_tool *t = ud;
    t->kind->health(t->inst, report, report_ud);
}

static uint32_t health_u32(const mcp_json *h, const char *key, uint32_t dflt)
{
    int64_t v;
    return mcp_json_int(mcp_json_get(h, key), &v) ? (uint32_t)v : dflt;
}

/* t->health_id is read and written under checker_mu (a reload and the stop may race). */
void mcpd_guard_probe_start(mcpd_tool *t)
{
    if (!t->health || !t->kind->health || !t->guard->breaker) return;
    pthread_mutex_lock(&checker_mu);
    if (!checker && !checker_closed) checker = mcpd_health_new(NULL);
    if (!checker || t->health_id) {
        pthread_mutex_unlock(&checker_mu);
        return;
    }
    mcpd_health_target def = {.name = t->name,
                              .interval_ms = health_u32(t->health, "interval_ms", 10000),
                              .timeout_ms = health_u32(t->health, "timeout_ms", 5000),
                              .unhealthy_after = health_u32(t->health, "unhealthy_after", 2),
                              .healthy_after = health_u32(t->health, "healthy_after", 1),
                              .probe = probe_tool,
                              .ud = t,
                              .breaker = t->guard->breaker};
    t->health_id = mcpd_health_add(checker, &def);
    pthread_mutex_unlock(&checker_mu);
}

void mcpd_guard_probe_stop(mcpd_tool *t)
{
    /* under the lock, so the checker cannot be freed meanwhile (probes never take it) */
    pthread_mutex_lock(&checker_mu);
    if (checker && t->health_id) mcpd_health_remove(checker, t->health_id);
    t->health_id = 0;
    pthread_mutex_unlock(&checker_mu);
}

void mcpd_guard_health_free(void)
{
    pthread_mutex_lock(&checker_mu);
    mcpd_health_free(checker);
    checker = NULL;
    checker_closed = true;
    pthread_mutex_unlock(&checker_mu);
}

void mcpd_guard_collect(const mcpd_tool *t, mcp_metrics_writer *w)
{
    mcpd_breaker_stats st;
    if (t->guard->breaker) mcpd_breaker_stats_get(t->guard->breaker, mcpd_now_ms(), &st);
    mcpd_series_guard(w, "mcpd_", "tool", t->name, t->guard->breaker ? &st : NULL,
                      mcpd_limiter_refused(t->guard->limit), mcpd_limiter_waits(t->guard->limit));
}

void mcpd_guard_collect_children(mcp_metrics_writer *w)
{
    const mcp_metric_type C = MCP_METRIC_COUNTER;
    mcp_metrics_write(w, "mcpd_children_limit_refused_total", NULL, C,
                      "Calls refused at limits.max_children (no slot within queue_wait_ms).",
                      children ? (double)mcpd_limiter_refused(children) : 0);
    mcp_metrics_write(w, "mcpd_children_limit_waits_total", NULL, C,
                      "Calls that waited for a slot under limits.max_children.",
                      children ? (double)mcpd_limiter_waits(children) : 0);
}

void mcpd_guard_free(mcpd_tool *t)
{
    mcpd_guard_probe_stop(t);
    if (!t->guard) return;
    kept_put(t->guard->limit_k);
    kept_put(t->guard->breaker_k);
    free(t->guard);
    t->guard = NULL;
}

/* ---- calls ------------------------------------------------------------------------------- */
/* Where a call is, for its cancel callback: waiting for slots, running in its kind, or ended
 * before it ran (cancelled while it waited). */
enum { PH_WAITING, PH_RUNNING, PH_CANCELLED_EARLY };

struct mcpd_call {
    mcp_ctx *ctx;
    mcpd_gen *gen;
    mcpd_tool *tool;
    uint64_t deadline_ms;
    void *data;
    struct mcpd_call *prev, *next; /* in W.live while the call runs: under W.mu */
    struct mcpd_call *victim;      /* the watchdog's list of calls to cancel: its thread */
    atomic_uint refs;              /* the call's end, and a pending kind->cancel */
    atomic_bool cancelled, timed_out;
    atomic_int phase;
    bool linked; /* in W.live: under W.mu */
    bool child;
    bool ticketed; /* admitted by the tool's breaker: the outcome is reported to it */
    mcpd_breaker_ticket ticket;
};

/* The watchdog: one timer on mcpd's loop for every call running (not one per call: arming a
 * timer per call cost two posts to the loop, hence two thread hand-offs, per call). A call
 * links itself into `live` on its own thread; the first one while the watchdog sleeps posts its
 * start. The timer ticks every TICK_MS while calls run and closes itself at the first tick
 * that finds none, so an idle server has no timer. It looks at deadlines only: cancellation
 * comes through the cancel callback. */
static struct {
    pthread_mutex_t mu;
    mcpd_call *live;
    bool armed; /* a timer runs, or its start is posted */
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

mcp_ctx *mcpd_call_ctx(mcpd_call *c)
{
    return c->ctx;
}
const mcp_json *mcpd_call_args(const mcpd_call *c)
{
    return (const mcp_json *)(const void *)mcp_ctx_arguments(c->ctx);
}
const char *mcpd_call_name(const mcpd_call *c)
{
    return c->tool->name;
}
void *mcpd_call_tool(const mcpd_call *c)
{
    return c->tool->tool;
}
uint32_t mcpd_call_timeout_ms(const mcpd_call *c)
{
    return c->tool->timeout_ms;
}
int64_t mcpd_call_remaining_ms(const mcpd_call *c)
{
    return (int64_t)c->deadline_ms - (int64_t)mcpd_now_ms();
}
void mcpd_call_set_data(mcpd_call *c, void *data)
{
    c->data = data;
}
void *mcpd_call_data(const mcpd_call *c)
{
    return c->data;
}
bool mcpd_call_cancelled(const mcpd_call *c)
{
    return atomic_load(&c->cancelled);
}

/* Drops a reference; the last frees the call (any thread: the generation's own last reference,
 * if it is that, is dropped on the loop). */
static void call_unref(mcpd_call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1) return;
    mcpd_gen_unref_soon(c->gen);
    free(c);
    mcpd_loop_unhold();
}

/* kind->cancel for a call that still runs (one that ended meanwhile is left alone: its kind
 * has let go of what cancel would stop). Loop thread. */
static void cancel_on_loop(uv_loop_t *loop, void *ud)
{
    (void)loop;
    mcpd_call *c = ud;
    pthread_mutex_lock(&W.mu);
    bool running = c->linked;
    pthread_mutex_unlock(&W.mu);
    if (running && c->tool->kind->cancel) c->tool->kind->cancel(c->tool->inst, c);
    call_unref(c);
}

/* libmcp's cancel callback: the client cancelled or left, or the server stops. Runs on the
 * cancelling thread with libmcp's locks held: flags, wakeups and a post, nothing more. The
 * call's end holds its reference until after the ctx ended, and libmcp calls this only before
 * that, so c is alive here. */
static void on_ctx_cancel(void *ud)
{
    mcpd_call *c = ud;
    if (atomic_exchange(&c->cancelled, true)) return; /* the watchdog got there first */
    int ph = PH_WAITING;
    if (atomic_compare_exchange_strong(&c->phase, &ph, PH_CANCELLED_EARLY)) {
        mcpd_limiter_wake(c->tool->guard->limit);
        if (c->child) mcpd_limiter_wake(children);
        return;
    }
    atomic_fetch_add(&c->refs, 1);
    if (mcpd_loop_post(cancel_on_loop, c) != 0)
        atomic_fetch_sub(&c->refs, 1); /* the loop stops: the kind ends its calls itself */
}

static void timer_free(uv_handle_t *h)
{
    free(h);
}

static void on_tick(uv_timer_t *t)
{
    mcpd_call *victims = NULL;
    pthread_mutex_lock(&W.mu);
    if (!W.live) {
        W.armed = false;
        pthread_mutex_unlock(&W.mu);
        uv_close((uv_handle_t *)t, timer_free);
        return;
    }
    uint64_t now = mcpd_now_ms();
    for (mcpd_call *c = W.live; c; c = c->next) {
        if (now < c->deadline_ms || atomic_load(&c->cancelled)) continue;
        if (!atomic_exchange(&c->timed_out, true) && c->child)
            mcpd_count(MCPD_CHILDREN_TIMED_OUT, 1);
        if (atomic_exchange(&c->cancelled, true)) continue; /* the callback got there first */
        atomic_fetch_add(&c->refs, 1);
        c->victim = victims;
        victims = c;
    }
    pthread_mutex_unlock(&W.mu);
    while (victims) {
        mcpd_call *c = victims;
        victims = c->victim;
        fprintf(stderr, "mcpd: warning: tool %s did not finish within %u ms; stopping it\n",
                c->tool->name, c->tool->timeout_ms);
        cancel_on_loop(NULL, c);
    }
}

static void watchdog_start(uv_loop_t *loop, void *ud)
{
    (void)ud;
    uv_timer_t *t = malloc(sizeof *t);
    if (!t) abort();
    uv_timer_init(loop, t);
    uv_timer_start(t, on_tick, TICK_MS, TICK_MS);
}

/* Links c into the watchdog's list, waking the watchdog if it sleeps. Returns 0, or -1 if the
 * loop is stopping (c is then not linked). */
static int watch(mcpd_call *c)
{
    pthread_mutex_lock(&W.mu);
    c->prev = NULL;
    c->next = W.live;
    if (W.live) W.live->prev = c;
    W.live = c;
    c->linked = true;
    bool wake = !W.armed;
    W.armed = true;
    if (wake && mcpd_loop_post(watchdog_start, NULL) != 0) {
        W.armed = false;
        W.live = c->next;
        if (W.live) W.live->prev = NULL;
        c->linked = false;
        pthread_mutex_unlock(&W.mu);
        return -1;
    }
    pthread_mutex_unlock(&W.mu);
    return 0;
}

/* Marks the call ended (out of the watchdog's sight; a pending kind->cancel skips it);
 * returns whether it had timed out. */
static bool call_end_begin(mcpd_call *c)
{
    pthread_mutex_lock(&W.mu);
    if (c->linked) {
        if (c->prev)
            c->prev->next = c->next;
        else
            W.live = c->next;
        if (c->next) c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
    c->linked = false;
    pthread_mutex_unlock(&W.mu);
    return atomic_load(&c->timed_out);
}

/* Gives back what the call holds (its ctx has ended) and drops the end's reference. */
static void call_end_finish(mcpd_call *c, mcpd_outcome outcome, bool slots)
{
    mcpd_breaker *b = c->tool->guard->breaker;
    if (c->ticketed && outcome == MCPD_CANCELLED)
        mcpd_breaker_release(b, &c->ticket);
    else if (c->ticketed)
        mcpd_breaker_record(b, mcpd_now_ms(), &c->ticket,
                            outcome == MCPD_OK || outcome == MCPD_TOOL_ERROR);
    if (slots && c->child) mcpd_limiter_release(children);
    if (slots) mcpd_limiter_release(c->tool->guard->limit);
    call_unref(c);
}

/* Answers a call that timed out; returns true if it did. */
static bool answered_timeout(mcpd_call *c)
{
    if (!call_end_begin(c)) return false;
    mcp_ctx_tool_error(c->ctx, "tool %s did not finish within %u ms", c->tool->name,
                       c->tool->timeout_ms);
    return true;
}

void mcpd_call_finish(mcpd_call *c, mcpd_outcome outcome)
{
    if (answered_timeout(c))
        outcome = MCPD_TIMEOUT;
    else
        mcp_ctx_finish(c->ctx);
    call_end_finish(c, outcome, true);
}

/* Answers the call's ctx with an isError result of fmt/ap. */
__attribute__((format(printf, 2, 0))) static void tool_errorv(mcpd_call *c, const char *fmt, va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    mcp_ctx_tool_error(c->ctx, "%s", msg);
}

void mcpd_call_fail(mcpd_call *c, mcpd_outcome outcome, const char *fmt, ...)
{
    if (answered_timeout(c)) {
        outcome = MCPD_TIMEOUT;
    } else {
        va_list ap;
        va_start(ap, fmt);
        tool_errorv(c, fmt, ap);
        va_end(ap);
    }
    call_end_finish(c, outcome, true);
}

void mcpd_call_ask(mcpd_call *c)
{
    mcpd_outcome outcome = MCPD_CANCELLED; /* a round of questions: nothing to count */
    if (answered_timeout(c))
        outcome = MCPD_TIMEOUT;
    else
        mcp_ctx_ask(c->ctx);
    call_end_finish(c, outcome, true);
}

/* Ends a call that never reached its kind: fmt is the answer (slots: whether it holds them).
 * The call leaves the watchdog's list first, wherever it was refused: one freed while linked
 * left the watchdog walking freed memory (mcpd spun in on_tick and never stopped). */
static void call_refuse(mcpd_call *c, bool slots, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void call_refuse(mcpd_call *c, bool slots, const char *fmt, ...)
{
    (void)call_end_begin(c);
    va_list ap;
    va_start(ap, fmt);
    tool_errorv(c, fmt, ap);
    va_end(ap);
    call_end_finish(c, MCPD_CANCELLED, slots);
}

/* A slot of l within wait_ms (0: only a free one), unless the call is cancelled meanwhile. */
static bool acquire(mcpd_limiter *l, uint32_t wait_ms, mcpd_call *c)
{
    return wait_ms ? mcpd_limiter_acquire_unless(l, wait_ms, &c->cancelled, NULL, 0)
                   : mcpd_limiter_try(l);
}

/* Takes the tool's slot and, for kinds that spawn, a child slot; false after answering. */
static bool take_slots(mcpd_call *c)
{
    mcpd_tool *t = c->tool;
    if (!acquire(t->guard->limit, t->queue_wait_ms, c)) {
        if (atomic_load(&c->cancelled))
            call_refuse(c, false, "tool %s: cancelled before it started", t->name);
        else
            call_refuse(c, false,
                        "tool %s is busy: %u calls are running (its concurrency limit) and "
                        "none ended within %u ms; try again later",
                        t->name, t->concurrency, t->queue_wait_ms);
        return false;
    }
    if (c->child && !acquire(children, t->queue_wait_ms, c)) {
        mcpd_limiter_release(t->guard->limit);
        if (atomic_load(&c->cancelled))
            call_refuse(c, false, "tool %s: cancelled before it started", t->name);
        else
            call_refuse(c, false,
                        "tool %s cannot start: %u child processes are running (mcpd's "
                        "limits.max_children) and none ended within %u ms; try again later",
                        t->name, max_children, t->queue_wait_ms);
        return false;
    }
    return true;
}

/* The call holds its slots: it is linked for the watchdog and the kind starts it. */
static void guard_start(mcpd_call *c)
{
    mcpd_tool *t = c->tool;
    c->deadline_ms = mcpd_now_ms() + t->timeout_ms;
    if (watch(c) != 0) return call_refuse(c, true, "mcpd is stopping");
    /* linked first: a cancel that sees RUNNING finds the call linked on the loop */
    int ph = PH_WAITING;
    if (!atomic_compare_exchange_strong(&c->phase, &ph, PH_RUNNING))
        return call_refuse(c, true, "tool %s: cancelled before it started", c->tool->name);
    t->kind->call(t->inst, c);
}

static mcpd_call *call_new(mcpd_gen *g, mcpd_tool *t, mcp_ctx *ctx, bool ticketed,
                           const mcpd_breaker_ticket *ticket, int phase)
{
    mcpd_call *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->ctx = ctx;
    c->gen = g;
    c->tool = t;
    c->child = t->spawns;
    c->ticketed = ticketed;
    c->ticket = *ticket;
    atomic_init(&c->refs, 1);
    atomic_init(&c->cancelled, false);
    atomic_init(&c->timed_out, false);
    atomic_init(&c->phase, phase);
    mcpd_loop_hold();
    return c;
}

/* The breaker's verdict; false after answering an open breaker. */
static bool breaker_admits(mcpd_tool *t, mcp_ctx *ctx, mcpd_breaker_ticket *ticket)
{
    mcpd_breaker *b = t->guard->breaker;
    uint64_t retry_ms;
    char why[256];
    if (!b || mcpd_breaker_allow(b, mcpd_now_ms(), ticket, &retry_ms, why, sizeof why)) return true;
    mcp_ctx_tool_error(ctx, "tool %s is unavailable: %s", t->name, why);
    return false;
}

/* The inline attempt (see the header): nothing here waits. With every concurrency slot taken,
 * or when the kind's call_inline declines, the call goes to the work pool untouched (the
 * breaker's ticket and the slot given back; the generation is looked up again there). */
static void guard_inline(mcpd_gen *g, mcpd_tool *t, mcp_ctx *ctx)
{
    mcpd_breaker_ticket ticket = {0};
    mcpd_breaker *b = t->guard->breaker;
    if ((t->quick || t->kind->call_inline) && !t->spawns) {
        if (!breaker_admits(t, ctx, &ticket)) {
            mcpd_gen_unref(g);
            return;
        }
        if (mcpd_limiter_try_first(t->guard->limit)) { /* a miss: the pool path waits */
            if (t->quick) { /* it ends later, from the kind's thread: cancellable and watched */
                mcpd_call *c = call_new(g, t, ctx, b != NULL, &ticket, PH_WAITING);
                mcp_ctx_on_cancel(ctx, on_ctx_cancel, c);
                guard_start(c);
                return;
            }
            mcpd_call *c = call_new(g, t, ctx, b != NULL, &ticket, PH_RUNNING);
            c->deadline_ms = mcpd_now_ms() + t->timeout_ms;
            if (t->kind->call_inline(t->inst, c)) return;
            mcpd_limiter_release(t->guard->limit);
            free(c);
            mcpd_loop_unhold();
        }
        if (b) mcpd_breaker_release(b, &ticket);
    }
    mcpd_gen_unref(g);
    mcp_ctx_defer(ctx);
}

void mcpd_guard_call(mcpd_gen *g, mcpd_tool *t, mcp_ctx *ctx)
{
    if (mcp_ctx_is_inline(ctx)) {
        guard_inline(g, t, ctx);
        return;
    }
    mcpd_breaker_ticket ticket = {0};
    if (!breaker_admits(t, ctx, &ticket)) {
        mcpd_gen_unref(g);
        return;
    }
    mcpd_call *c = call_new(g, t, ctx, t->guard->breaker != NULL, &ticket, PH_WAITING);
    mcp_ctx_on_cancel(ctx, on_ctx_cancel, c);
    if (!take_slots(c)) return;
    guard_start(c);
}
