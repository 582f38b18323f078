/* health.c - the health checker: a timer per target on one libuv loop, asynchronous probes.
 *
 * Targets live in a list guarded by h->mu (status reads and probe reports come from any
 * thread). Only the loop thread touches their timers: add and remove link or mark a target
 * under the mutex and wake the loop through a uv_async. One timer per target serves both jobs:
 * while idle it waits interval_ms for the next probe; while a probe runs it waits timeout_ms
 * for the report. A report (any thread) stores its verdict in the target under the mutex and
 * wakes the loop, which applies it and starts the next interval.
 *
 * Every probe carries (target id, sequence number) in a small record it gives back with its
 * report: a report that comes after its probe timed out, or after its target was removed, finds
 * no match and is dropped. The checker counts outstanding probes, and its free waits for them,
 * so no report ever touches freed memory.
 *
 * Verdicts have hysteresis: `unhealthy_after` failures in a row force the breaker open (the
 * reason and the time to the next probe become the refusal's text), `healthy_after` successes
 * in a row close it. One failed probe among good ones changes nothing. */
#include "mcpd/health.h"
#include "mcpd/series.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct target {
    struct target *next;
    struct mcpd_health *h;
    uint64_t id;
    char *name;
    mcpd_health_target def;
    uv_timer_t timer;
    /* loop thread only */
    bool started, closing;
    /* guarded by h->mu */
    bool removing;
    bool probing;  /* a probe is out */
    bool reported; /* its report arrived, not yet applied */
    bool report_ok;
    uint64_t seq; /* the probe out now */
    char report_why[160];
    bool healthy;
    uint32_t fails, oks;
    char why[160];
} target;

typedef struct probe_run {
    struct mcpd_health *h;
    uint64_t id, seq;
} probe_run;

struct mcpd_health {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uv_loop_t own_loop;
    uv_loop_t *loop;
    uv_async_t wake;
    pthread_t thread;
    bool own_thread;
    /* guarded by mu */
    target *targets;
    uint64_t next_id;
    bool stopping, wake_closing, wake_closed;
    size_t outstanding;
    atomic_uint_fast64_t checks_done;
};

static void on_timer(uv_timer_t *tm);

static void on_target_closed(uv_handle_t *hd)
{
    target *t = hd->data;
    mcpd_health *h = t->h;
    pthread_mutex_lock(&h->mu);
    for (target **p = &h->targets; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    free(t->name);
    free(t);
}

/* Loop thread. */
static void close_target(target *t)
{
    if (t->closing) return;
    t->closing = true;
    if (!t->started) {
        uv_timer_init(t->h->loop, &t->timer);
        t->timer.data = t;
    }
    uv_timer_stop(&t->timer);
    uv_close((uv_handle_t *)&t->timer, on_target_closed);
}

/* Applies one probe's verdict. Caller holds h->mu. */
static void verdict_locked(mcpd_health *h, target *t, uint64_t now, bool ok, const char *why)
{
    atomic_fetch_add(&h->checks_done, 1);
    mcpd_count(ok ? MCPD_HEALTH_CHECKS_OK : MCPD_HEALTH_CHECKS_FAILED, 1);
    if (ok) {
        t->fails = 0;
        t->oks++;
        if (!t->healthy && t->oks >= t->def.healthy_after) {
            t->healthy = true;
            mcpd_breaker_force_close(t->def.breaker, now);
            fprintf(stderr, "mcpd: info: health: %s is healthy again; its circuit is closed\n",
                    t->name);
        }
        return;
    }
    t->oks = 0;
    t->fails++;
    snprintf(t->why, sizeof t->why, "%s", why && *why ? why : "probe failed");
    if (t->fails < t->def.unhealthy_after) return;
    char reason[256];
    snprintf(reason, sizeof reason, "%s failed its health check (%s)", t->name, t->why);
    /* held open until the probes pass again; the hint is the next probe */
    mcpd_breaker_force_open(t->def.breaker, now, t->def.interval_ms, reason);
    if (t->healthy)
        fprintf(stderr, "mcpd: warning: health: %s is unhealthy (%s); its circuit is open\n",
                t->name, t->why);
    t->healthy = false;
}

static void report(void *rud, bool ok, const char *reason)
{
    probe_run *run = rud;
    mcpd_health *h = run->h;
    pthread_mutex_lock(&h->mu);
    target *t = h->targets;
    while (t && t->id != run->id) t = t->next;
    if (t && t->probing && t->seq == run->seq && !t->reported) {
        t->reported = true;
        t->report_ok = ok;
        snprintf(t->report_why, sizeof t->report_why, "%s", reason ? reason : "");
    }
    h->outstanding--;
    if (!h->wake_closing) uv_async_send(&h->wake);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    free(run);
}

static void on_timer(uv_timer_t *tm)
{
    target *t = tm->data;
    mcpd_health *h = t->h;
    pthread_mutex_lock(&h->mu);
    if (t->removing) {
        pthread_mutex_unlock(&h->mu);
        return;
    }
    if (t->probing && t->reported) { /* reported just as the timeout fired */
        t->probing = false;
        verdict_locked(h, t, mcpd_now_ms(), t->report_ok, t->report_why);
        pthread_mutex_unlock(&h->mu);
        uv_timer_start(&t->timer, on_timer, t->def.interval_ms, 0);
        return;
    }
    if (t->probing) {
        /* the probe did not report in time: a failure; its late report will be dropped */
        char why[64];
        snprintf(why, sizeof why, "no answer within %u ms", t->def.timeout_ms);
        t->probing = false;
        t->seq++;
        verdict_locked(h, t, mcpd_now_ms(), false, why);
        pthread_mutex_unlock(&h->mu);
        uv_timer_start(&t->timer, on_timer, t->def.interval_ms, 0);
        return;
    }
    probe_run *run = malloc(sizeof *run);
    if (!run) abort();
    t->probing = true;
    t->reported = false;
    *run = (probe_run){.h = h, .id = t->id, .seq = ++t->seq};
    h->outstanding++;
    pthread_mutex_unlock(&h->mu);
    uv_timer_start(&t->timer, on_timer, t->def.timeout_ms, 0);
    t->def.probe(t->def.ud, report, run); /* may report at once: that takes the mutex */
}

static void on_wake_closed(uv_handle_t *hd)
{
    mcpd_health *h = hd->data;
    pthread_mutex_lock(&h->mu);
    h->wake_closed = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* The loop's mailbox: start new targets, apply reports, close removed targets, or all of them
 * on stop. */
static void on_wake(uv_async_t *a)
{
    mcpd_health *h = a->data;
    pthread_mutex_lock(&h->mu);
    for (target *t = h->targets; t; t = t->next) {
        if (t->closing) continue;
        if (h->stopping || t->removing) {
            close_target(t);
            continue;
        }
        if (!t->started) {
            uv_timer_init(h->loop, &t->timer);
            t->timer.data = t;
            t->started = true;
            uv_timer_start(&t->timer, on_timer, 0, 0);
        } else if (t->probing && t->reported) {
            t->probing = false;
            verdict_locked(h, t, mcpd_now_ms(), t->report_ok, t->report_why);
            uv_timer_start(&t->timer, on_timer, t->def.interval_ms, 0);
        }
    }
    if (h->stopping && !h->wake_closing) {
        h->wake_closing = true;
        uv_close((uv_handle_t *)&h->wake, on_wake_closed);
    }
    pthread_mutex_unlock(&h->mu);
}

static void *loop_main(void *arg)
{
    mcpd_health *h = arg;
    uv_run(h->loop, UV_RUN_DEFAULT);
    return NULL;
}

mcpd_health *mcpd_health_new(uv_loop_t *loop)
{
    mcpd_health *h = calloc(1, sizeof *h);
    if (!h) abort();
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->loop = loop;
    if (!loop) {
        if (uv_loop_init(&h->own_loop) != 0) goto fail;
        h->loop = &h->own_loop;
    }
    uv_async_init(h->loop, &h->wake, on_wake);
    h->wake.data = h;
    if (!loop) {
        if (pthread_create(&h->thread, NULL, loop_main, h) != 0) {
            uv_close((uv_handle_t *)&h->wake, NULL);
            uv_run(h->loop, UV_RUN_DEFAULT);
            uv_loop_close(h->loop);
            goto fail;
        }
        h->own_thread = true;
    }
    return h;
fail:
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
    return NULL;
}

void mcpd_health_free(mcpd_health *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    uv_async_send(&h->wake);
    /* every target closed, every probe reported, the wake handle closed */
    while (h->targets || h->outstanding || !h->wake_closed) pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    if (h->own_thread) {
        pthread_join(h->thread, NULL);
        uv_loop_close(h->loop);
    }
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

uint64_t mcpd_health_add(mcpd_health *h, const mcpd_health_target *def)
{
    target *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->h = h;
    t->def = *def;
    t->name = strdup(def->name ? def->name : "upstream");
    if (!t->name) abort();
    t->def.name = t->name;
    if (!t->def.interval_ms) t->def.interval_ms = 10000;
    if (!t->def.timeout_ms) t->def.timeout_ms = 5000;
    if (!t->def.unhealthy_after) t->def.unhealthy_after = 2;
    if (!t->def.healthy_after) t->def.healthy_after = 1;
    /* a breaker kept across a reload may still be held open by the previous generation's
     * probes: start unhealthy then, so that the first good probes close it */
    t->healthy = !(def->breaker && mcpd_breaker_forced(def->breaker));
    if (!t->healthy) snprintf(t->why, sizeof t->why, "unhealthy before the reload");
    pthread_mutex_lock(&h->mu);
    t->id = ++h->next_id;
    t->next = h->targets;
    h->targets = t;
    uint64_t id = t->id;
    uv_async_send(&h->wake);
    pthread_mutex_unlock(&h->mu);
    return id;
}

static target *find(mcpd_health *h, uint64_t id)
{
    for (target *t = h->targets; t; t = t->next)
        if (t->id == id) return t;
    return NULL;
}

void mcpd_health_remove(mcpd_health *h, uint64_t id)
{
    pthread_mutex_lock(&h->mu);
    target *t = find(h, id);
    if (t) {
        t->removing = true;
        uv_async_send(&h->wake);
        while (find(h, id)) pthread_cond_wait(&h->cv, &h->mu);
    }
    pthread_mutex_unlock(&h->mu);
}

bool mcpd_health_status(mcpd_health *h, uint64_t id, char *why, size_t whysize)
{
    pthread_mutex_lock(&h->mu);
    target *t = find(h, id);
    bool ok = !t || t->healthy;
    if (why && whysize) snprintf(why, whysize, "%s", t && !t->healthy ? t->why : "");
    pthread_mutex_unlock(&h->mu);
    return ok;
}

uv_loop_t *mcpd_health_loop(mcpd_health *h)
{
    return h->loop;
}

uint64_t mcpd_health_checks_done(mcpd_health *h)
{
    return atomic_load(&h->checks_done);
}
