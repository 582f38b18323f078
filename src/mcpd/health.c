/* health.c - the health checker: one loop thread, a timer per target, checks on the uv pool.
 *
 * Targets live in a list guarded by a mutex (status reads come from any thread). Only the loop
 * thread touches their timers and work requests: add and remove post to it through a uv_async
 * and the list. A target's life: added (timer started at 0) -> timer fires -> check queued on
 * the pool -> after_work on the loop applies the verdict and restarts the timer for the next
 * interval. Removal marks the target; the loop closes its timer once no check of it runs, and
 * the close callback unlinks and frees it and wakes whoever waits in mcpd_health_remove.
 *
 * Verdicts have hysteresis: `unhealthy_after` failures in a row force the breaker open (with
 * the reason and the time to the next check as the retry hint), `healthy_after` successes in a
 * row close it. One failed check among good ones changes nothing. */
#include "mcpd/health.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct target {
    struct target *next;
    struct mcpd_health *h;
    uint64_t id;
    char *name;
    mcpd_health_target def;
    uv_timer_t timer;
    uv_work_t work;
    bool started;         /* the loop has set up its timer */
    bool running;         /* a check is on the pool */
    atomic_bool removing; /* remove asked (any thread) */
    bool closing;         /* timer close requested */
    bool result;          /* the last check's answer (pool thread writes, after_work reads) */
    char check_why[160];
    /* guarded by h->mu */
    bool healthy;
    uint32_t fails, oks;
    char why[160];
} target;

struct mcpd_health {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uv_loop_t loop;
    uv_async_t wake;
    pthread_t thread;
    target *targets;
    uint64_t next_id;
    atomic_bool stopping;
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

static void close_target(target *t)
{
    if (t->closing) return;
    t->closing = true;
    if (!t->started) {
        uv_timer_init(&t->h->loop, &t->timer);
        t->timer.data = t;
    }
    uv_timer_stop(&t->timer);
    uv_close((uv_handle_t *)&t->timer, on_target_closed);
}

/* Applies one check's outcome (loop thread). */
static void verdict(mcpd_health *h, target *t, uint64_t now, bool ok, const char *why)
{
    pthread_mutex_lock(&h->mu);
    if (ok) {
        t->fails = 0;
        t->oks++;
        if (!t->healthy && t->oks >= t->def.healthy_after) {
            t->healthy = true;
            mcpd_breaker_force_close(t->def.breaker, now);
            fprintf(stderr, "mcpd: info: health: %s is healthy again; its circuit is closed\n",
                    t->name);
        }
    } else {
        t->oks = 0;
        t->fails++;
        snprintf(t->why, sizeof t->why, "%s", why && *why ? why : "check failed");
        if (t->fails >= t->def.unhealthy_after) {
            char reason[200];
            snprintf(reason, sizeof reason, "%s failed its health check (%s)", t->name, t->why);
            /* held open until the checks pass again; the hint is the next check */
            mcpd_breaker_force_open(t->def.breaker, now, t->def.interval_ms, reason);
            if (t->healthy)
                fprintf(stderr,
                        "mcpd: warning: health: %s is unhealthy (%s); its circuit is open\n",
                        t->name, t->why);
            t->healthy = false;
        }
    }
    pthread_mutex_unlock(&h->mu);
}

static void run_check(uv_work_t *w)
{
    target *t = w->data;
    t->check_why[0] = 0;
    t->result = t->def.check(t->def.ud, t->check_why, sizeof t->check_why);
}

static void after_check(uv_work_t *w, int status)
{
    target *t = w->data;
    mcpd_health *h = t->h;
    t->running = false;
    if (status == 0) verdict(h, t, mcpd_now_ms(), t->result, t->check_why);
    atomic_fetch_add(&h->checks_done, 1);
    if (atomic_load(&t->removing) || atomic_load(&h->stopping))
        close_target(t);
    else
        uv_timer_start(&t->timer, on_timer, t->def.interval_ms, 0);
}

static void on_timer(uv_timer_t *tm)
{
    target *t = tm->data;
    if (t->running || atomic_load(&t->removing)) return;
    t->running = true;
    t->work.data = t;
    if (uv_queue_work(&t->h->loop, &t->work, run_check, after_check) != 0) {
        t->running = false;
        uv_timer_start(&t->timer, on_timer, t->def.interval_ms, 0);
    }
}

/* The loop's mailbox: start new targets, close removed ones, or everything on stop. */
static void on_wake(uv_async_t *a)
{
    mcpd_health *h = a->data;
    pthread_mutex_lock(&h->mu);
    bool stopping = atomic_load(&h->stopping);
    target *list = h->targets;
    pthread_mutex_unlock(&h->mu);
    /* only this thread unlinks targets, so walking the list unlocked is safe; new ones are
     * pushed at the head by other threads and seen at the next wake */
    for (target *t = list, *next; t; t = next) {
        next = t->next;
        if (t->closing) continue;
        if (stopping || atomic_load(&t->removing)) {
            if (!t->running) close_target(t);
            continue;
        }
        if (!t->started) {
            uv_timer_init(&h->loop, &t->timer);
            t->timer.data = t;
            t->started = true;
            uv_timer_start(&t->timer, on_timer, 0, 0);
        }
    }
    if (stopping) uv_close((uv_handle_t *)&h->wake, NULL);
}

static void *loop_main(void *arg)
{
    mcpd_health *h = arg;
    uv_run(&h->loop, UV_RUN_DEFAULT);
    return NULL;
}

mcpd_health *mcpd_health_new(void)
{
    mcpd_health *h = calloc(1, sizeof *h);
    if (!h) abort();
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (uv_loop_init(&h->loop) != 0) goto fail_loop;
    uv_async_init(&h->loop, &h->wake, on_wake);
    h->wake.data = h;
    if (pthread_create(&h->thread, NULL, loop_main, h) != 0) goto fail_thread;
    return h;
fail_thread:
    uv_close((uv_handle_t *)&h->wake, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    uv_loop_close(&h->loop);
fail_loop:
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
    return NULL;
}

void mcpd_health_free(mcpd_health *h)
{
    if (!h) return;
    atomic_store(&h->stopping, true);
    uv_async_send(&h->wake);
    pthread_join(h->thread, NULL);
    uv_loop_close(&h->loop);
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
    if (!t->def.unhealthy_after) t->def.unhealthy_after = 2;
    if (!t->def.healthy_after) t->def.healthy_after = 1;
    t->healthy = true;
    pthread_mutex_lock(&h->mu);
    t->id = ++h->next_id;
    t->next = h->targets;
    h->targets = t;
    uint64_t id = t->id;
    pthread_mutex_unlock(&h->mu);
    uv_async_send(&h->wake);
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
    if (t) atomic_store(&t->removing, true);
    pthread_mutex_unlock(&h->mu);
    if (!t) return;
    uv_async_send(&h->wake);
    pthread_mutex_lock(&h->mu);
    while (find(h, id)) pthread_cond_wait(&h->cv, &h->mu);
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

uint64_t mcpd_health_checks_done(mcpd_health *h)
{
    return atomic_load(&h->checks_done);
}
