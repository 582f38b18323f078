/* guard.c - the guard around every tool call: concurrency limit with a bounded wait, the global
 * child-process limit, the time limit, cancellation, and the call's end.
 *
 * A call passes, in order: the tool's circuit breaker when its entry has one ("breaker":
 * breaker.c; an open one answers at once with an isError result that says when to retry), the
 * tool's concurrency limit (a semaphore: at most `concurrency`
 * calls run, a call beyond waits at most queue_wait_ms on its handler thread, then gets an
 * isError result that says the tool is busy), the global child-process limit for kinds that
 * spawn, and then runs (kind->call). While it runs, the watchdog (one timer on mcpd's loop for
 * all calls, ticking every 100 ms while any runs) looks at it: past the tool's timeout, or once
 * the client cancelled (mcp_ctx_cancelled), it marks the call cancelled and calls kind->cancel,
 * which stops the work (exec kills the process group). The kind still ends the call; a call
 * that timed out is answered "tool X did not finish within N ms" whatever the kind added, and
 * counted as a timeout.
 *
 * Cost per call: no post to the loop and no timer of its own; a call links itself into the
 * watchdog's list and unlinks at its end (one uncontended mutex each way). Only the first call
 * after an idle spell posts the watchdog's start.
 *
 * The ctx belongs to the kind until the call ends; the watchdog reads it (mcp_ctx_cancelled)
 * only under the list's mutex while the call is linked, and the end unlinks it under the same
 * mutex before finishing the ctx. The call is reference-counted (its end, plus the watchdog
 * while it runs kind->cancel), and its reference to the generation is dropped on the loop if
 * it is the generation's last, so the kind instance outlives every call on it and is freed on
 * the loop thread. */
#include "mcpd.h"
#include "mcpd/breaker.h"
#include "mcpd/health.h"
#include "mcpd/series.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 100

/* ---- a counting semaphore with a bounded wait --------------------------------------------- */
typedef struct slots {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t in_use, max;
    uint64_t waits, refused; /* under mu: calls that found no slot free; that got none */
} slots;

static void slots_init(slots *s, uint32_t max)
{
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &a);
    pthread_condattr_destroy(&a);
    s->in_use = 0;
    s->max = max;
    s->waits = s->refused = 0;
}

static void slots_destroy(slots *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

/* Takes a slot, waiting at most wait_ms, or until ctx is cancelled (checked every 100 ms: a
 * client that leaves, or a server that stops, frees the waiting thread). Returns true with the
 * slot held. */
static bool slots_acquire(slots *s, uint32_t wait_ms, const mcp_ctx *ctx, bool *waited)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    *waited = s->in_use >= s->max;
    if (*waited) s->waits++;
    while (s->in_use >= s->max && rc == 0 && !mcp_ctx_cancelled(ctx)) {
        struct timespec now, slice;
        clock_gettime(CLOCK_MONOTONIC, &now);
        slice = now;
        slice.tv_nsec += TICK_MS * 1000000L;
        if (slice.tv_nsec >= 1000000000L) slice.tv_sec++, slice.tv_nsec -= 1000000000L;
        bool last = slice.tv_sec > until.tv_sec ||
                    (slice.tv_sec == until.tv_sec && slice.tv_nsec >= until.tv_nsec);
        rc = pthread_cond_timedwait(&s->cv, &s->mu, last ? &until : &slice);
        if (rc == ETIMEDOUT && !last) rc = 0;
    }
    bool ok = s->in_use < s->max;
    if (ok)
        s->in_use++;
    else
        s->refused++;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void slots_counts(slots *s, uint64_t *waits, uint64_t *refused)
{
    pthread_mutex_lock(&s->mu);
    *waits = s->waits;
    *refused = s->refused;
    pthread_mutex_unlock(&s->mu);
}

static void slots_release(slots *s)
{
    pthread_mutex_lock(&s->mu);
    s->in_use--;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- guards ------------------------------------------------------------------------------ */
struct mcpd_guard {
    slots limit;
    mcpd_breaker *breaker; /* the tool's own, when its entry has "breaker"; else NULL */
};

/* The tool's breaker from its entry's "breaker" object (absent or "enabled": false: none, unless
 * the tool has health probes, which need one: then the defaults). */
static mcpd_breaker *breaker_from(const mcp_json *b, bool probed, const void *seed)
{
    bool on = true;
    if (!probed && (!b || (mcp_json_bool(mcp_json_get(b, "enabled"), &on) && !on))) return NULL;
    mcpd_breaker_config cfg;
    mcpd_breaker_config_default(&cfg);
    int64_t v;
    double r;
    if (mcp_json_int(mcp_json_get(b, "window_ms"), &v)) cfg.window_ms = (uint32_t)v;
    if (mcp_json_int(mcp_json_get(b, "min_calls"), &v)) cfg.min_calls = (uint32_t)v;
    if (mcp_json_double(mcp_json_get(b, "failure_ratio"), &r))
        cfg.failure_percent = (uint32_t)(r * 100 + 0.5);
    if (mcp_json_int(mcp_json_get(b, "cooldown_ms"), &v)) cfg.cooldown_ms = (uint32_t)v;
    if (mcp_json_int(mcp_json_get(b, "half_open_probes"), &v)) cfg.probes = (uint32_t)v;
    return mcpd_breaker_new(&cfg, (uint64_t)(uintptr_t)seed ^ mcpd_now_ms());
}

static slots children;
static uint32_t max_children;

void mcpd_guard_set_max_children(uint32_t n)
{
    max_children = n;
    slots_init(&children, n ? n : UINT32_MAX);
}

void mcpd_guard_new(mcpd_tool *t)
{
    t->guard = calloc(1, sizeof *t->guard);
    if (!t->guard) abort();
    slots_init(&t->guard->limit, t->concurrency ? t->concurrency : UINT32_MAX);
    t->guard->breaker = breaker_from(t->breaker_cfg, t->health != NULL, t);
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
    uint64_t waits, refused;
    slots_counts(&t->guard->limit, &waits, &refused);
    mcpd_breaker_stats st;
    if (t->guard->breaker) mcpd_breaker_stats_get(t->guard->breaker, mcpd_now_ms(), &st);
    mcpd_series_guard(w, "mcpd_", "tool", t->name, t->guard->breaker ? &st : NULL, refused, waits);
}

void mcpd_guard_free(mcpd_tool *t)
{
    mcpd_guard_probe_stop(t);
    if (!t->guard) return;
    slots_destroy(&t->guard->limit);
    mcpd_breaker_free(t->guard->breaker);
    free(t->guard);
    t->guard = NULL;
}

/* ---- calls ------------------------------------------------------------------------------- */
struct mcpd_call {
    mcp_ctx *ctx;
    mcpd_gen *gen;
    mcpd_tool *tool;
    uint64_t deadline_ms;
    void *data;
    struct mcpd_call *prev, *next; /* in W.live while the call runs: under W.mu */
    struct mcpd_call *victim;      /* the watchdog's list of calls to cancel: its thread */
    atomic_uint refs;              /* the call's end, and a watchdog cancelling it */
    atomic_bool cancelled, timed_out;
    bool child;
    bool ticketed; /* admitted by the tool's breaker: the outcome is reported to it */
    mcpd_breaker_ticket ticket;
};

/* The watchdog: one timer on mcpd's loop for every call running (not one per call: arming a
 * timer per call cost two posts to the loop, hence two thread hand-offs, per call). A call
 * links itself into `live` on its own thread; the first one while the watchdog sleeps posts its
 * start. The timer ticks every TICK_MS while calls run and closes itself at the first tick
 * that finds none, so an idle server has no timer. */
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
        if (atomic_load(&c->cancelled)) continue;
        bool timeout = now >= c->deadline_ms;
        if (!timeout && !mcp_ctx_cancelled(c->ctx)) continue; /* ctx lives while c is live */
        if (timeout) atomic_store(&c->timed_out, true);
        if (timeout && c->child) mcpd_count(MCPD_CHILDREN_TIMED_OUT, 1);
        atomic_store(&c->cancelled, true);
        atomic_fetch_add(&c->refs, 1);
        c->victim = victims;
        victims = c;
    }
    pthread_mutex_unlock(&W.mu);
    while (victims) {
        mcpd_call *c = victims;
        victims = c->victim;
        if (atomic_load(&c->timed_out))
            fprintf(stderr, "mcpd: warning: tool %s did not finish within %u ms; stopping it\n",
                    c->tool->name, c->tool->timeout_ms);
        if (c->tool->kind->cancel) c->tool->kind->cancel(c->tool->inst, c);
        call_unref(c);
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
    bool wake = !W.armed;
    W.armed = true;
    if (wake && mcpd_loop_post(watchdog_start, NULL) != 0) {
        W.armed = false;
        W.live = c->next;
        if (W.live) W.live->prev = NULL;
        pthread_mutex_unlock(&W.mu);
        return -1;
    }
    pthread_mutex_unlock(&W.mu);
    return 0;
}

/* Marks the call ended (out of the watchdog's sight: it no longer reads the ctx); returns
 * whether it had timed out. */
static bool call_end_begin(mcpd_call *c)
{
    pthread_mutex_lock(&W.mu);
    if (c->prev)
        c->prev->next = c->next;
    else if (W.live == c)
        W.live = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    pthread_mutex_unlock(&W.mu);
    return atomic_load(&c->timed_out);
}

static void call_end_finish(mcpd_call *c, mcpd_outcome outcome)
{
    mcpd_breaker *b = c->tool->guard->breaker;
    if (c->ticketed && outcome == MCPD_CANCELLED)
        mcpd_breaker_release(b, &c->ticket);
    else if (c->ticketed)
        mcpd_breaker_record(b, mcpd_now_ms(), &c->ticket,
                            outcome == MCPD_OK || outcome == MCPD_TOOL_ERROR);
    if (c->child) slots_release(&children);
    slots_release(&c->tool->guard->limit);
    call_unref(c);
}

void mcpd_call_finish(mcpd_call *c, mcpd_outcome outcome)
{
    if (call_end_begin(c)) {
        mcp_ctx_tool_error(c->ctx, "tool %s did not finish within %u ms", c->tool->name,
                           c->tool->timeout_ms);
        outcome = MCPD_TIMEOUT;
    } else {
        mcp_ctx_finish(c->ctx);
    }
    call_end_finish(c, outcome);
}

void mcpd_call_fail(mcpd_call *c, mcpd_outcome outcome, const char *fmt, ...)
{
    if (call_end_begin(c)) {
        mcp_ctx_tool_error(c->ctx, "tool %s did not finish within %u ms", c->tool->name,
                           c->tool->timeout_ms);
        outcome = MCPD_TIMEOUT;
    } else {
        char msg[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        mcp_ctx_tool_error(c->ctx, "%s", msg);
    }
    call_end_finish(c, outcome);
}

void mcpd_guard_call(mcpd_gen *g, mcpd_tool *t, mcp_ctx *ctx)
{
    mcpd_breaker_ticket ticket = {0};
    mcpd_breaker *b = t->guard->breaker;
    uint64_t retry_ms;
    char why[256];
    if (b && !mcpd_breaker_allow(b, mcpd_now_ms(), &ticket, &retry_ms, why, sizeof why)) {
        mcp_ctx_tool_error(ctx, "tool %s is unavailable: %s", t->name, why);
        mcpd_gen_unref(g);
        return;
    }
    bool waited;
    if (!slots_acquire(&t->guard->limit, t->queue_wait_ms, ctx, &waited)) {
        if (b) mcpd_breaker_release(b, &ticket);
        mcp_ctx_tool_error(ctx,
                           "tool %s is busy: %u calls are running (its concurrency limit) and "
                           "none ended within %u ms; try again later",
                           t->name, t->concurrency, t->queue_wait_ms);
        mcpd_gen_unref(g);
        return;
    }
    bool got = !t->spawns || slots_acquire(&children, t->queue_wait_ms, ctx, &waited);
    if (t->spawns && waited) mcpd_count(MCPD_CHILDREN_LIMIT_WAITS, 1);
    if (!got) {
        mcpd_count(MCPD_CHILDREN_LIMIT_REFUSED, 1);
        slots_release(&t->guard->limit);
        if (b) mcpd_breaker_release(b, &ticket);
        mcp_ctx_tool_error(ctx,
                           "tool %s cannot start: %u child processes are running (mcpd's "
                           "limits.max_children) and none ended within %u ms; try again later",
                           t->name, max_children, t->queue_wait_ms);
        mcpd_gen_unref(g);
        return;
    }
    mcpd_call *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->ctx = ctx;
    c->gen = g;
    c->tool = t;
    c->child = t->spawns;
    c->ticketed = b != NULL;
    c->ticket = ticket;
    c->deadline_ms = mcpd_now_ms() + t->timeout_ms;
    atomic_init(&c->refs, 1);
    atomic_init(&c->cancelled, false);
    atomic_init(&c->timed_out, false);
    mcpd_loop_hold();
    if (watch(c) != 0) {
        mcp_ctx_tool_error(ctx, "mcpd is stopping");
        call_end_finish(c, MCPD_CANCELLED);
        return;
    }
    t->kind->call(t->inst, c);
}
