/* breaker.c - the circuit breaker: a rolling window of outcomes, cooldown with jitter, probes.
 *
 * The window is NBUCKETS buckets of window_ms/NBUCKETS each, indexed by time; a bucket carries
 * the epoch (time / bucket length) it counts for, so a stale one is emptied when time comes
 * back to it and old outcomes age out without a timer. The breaker opens when the window
 * holds at least min_calls outcomes and failures reach failure_percent of them: one bad call
 * among many good ones does not open it, and a burst of failures does, whatever came before
 * the window.
 *
 * With window_calls set the window is instead the last N outcomes (a ring of bits), for
 * backends called too rarely for a time window to hold enough of them.
 *
 * Open lasts a cooldown drawn with jitter (so breakers that opened together do not all probe
 * at once); each re-open from half-open doubles it up to max_cooldown_ms, and a close resets
 * it. After the cooldown the breaker is half-open: `probes` calls may be in flight at once, the
 * rest are refused; probe_successes successes close it, one failure opens it again.
 *
 * Each state change bumps a generation. A call carries the generation it was admitted in, so
 * the late outcome of a call admitted before the breaker opened neither counts in the new
 * window nor frees a probe slot it never held. Time comes from the caller (tests drive it). */
#include "mcpd/breaker.h"
#include "mcpd/series.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 10

typedef struct bucket {
    uint64_t epoch;
    uint32_t calls, failures;
} bucket;

struct mcpd_breaker {
    pthread_mutex_t mu;
    mcpd_breaker_config cfg;
    mcpd_breaker_state state;
    uint64_t generation;
    uint64_t open_until;                    /* open: when it turns half-open */
    uint32_t cooldown_ms;                   /* the next cooldown (before jitter) */
    bool forced;                            /* held open by a health check */
    uint32_t probes_out;                    /* half-open: probes in flight */
    uint32_t probes_ok;                     /* half-open: successes so far */
    uint32_t opened_calls, opened_failures; /* the window that opened it, for messages */
    char reason[160];                       /* forced: the health check's reason */
    uint64_t opened, refused;
    uint64_t rng;
    bucket buckets[NBUCKETS];
    uint8_t *ring; /* window_calls: 1 = failure, in call order */
    uint32_t ring_pos, ring_len, ring_failures;
};

void mcpd_breaker_config_default(mcpd_breaker_config *cfg)
{
    *cfg = (mcpd_breaker_config){.window_ms = 60000,
                                 .min_calls = 5,
                                 .failure_percent = 50,
                                 .cooldown_ms = 10000,
                                 .max_cooldown_ms = 300000,
                                 .jitter_percent = 20,
                                 .probes = 1,
                                 .probe_successes = 2};
}

static void fill_defaults(mcpd_breaker_config *c)
{
    mcpd_breaker_config d;
    mcpd_breaker_config_default(&d);
    if (!c->window_ms) c->window_ms = d.window_ms;
    if (c->window_ms < NBUCKETS) c->window_ms = NBUCKETS;
    if (!c->min_calls) c->min_calls = d.min_calls;
    if (!c->failure_percent || c->failure_percent > 100) c->failure_percent = d.failure_percent;
    if (!c->cooldown_ms) c->cooldown_ms = d.cooldown_ms;
    if (c->max_cooldown_ms < c->cooldown_ms) c->max_cooldown_ms = c->cooldown_ms;
    if (c->jitter_percent > 100) c->jitter_percent = d.jitter_percent;
    if (!c->probes) c->probes = d.probes;
    if (!c->probe_successes) c->probe_successes = d.probe_successes;
    if (c->window_calls > 10000) c->window_calls = 10000;
}

mcpd_breaker *mcpd_breaker_new(const mcpd_breaker_config *cfg, uint64_t seed)
{
    mcpd_breaker *b = calloc(1, sizeof *b);
    if (!b) abort();
    pthread_mutex_init(&b->mu, NULL);
    if (cfg) b->cfg = *cfg;
    fill_defaults(&b->cfg);
    b->state = MCPD_BREAKER_CLOSED;
    b->cooldown_ms = b->cfg.cooldown_ms;
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
    if (b->cfg.window_calls) {
        b->ring = calloc(b->cfg.window_calls, 1);
        if (!b->ring) abort();
    }
    return b;
}

void mcpd_breaker_free(mcpd_breaker *b)
{
    if (!b) return;
    pthread_mutex_destroy(&b->mu);
    free(b->ring);
    free(b);
}

static uint64_t next_random(mcpd_breaker *b)
{
    /* xorshift64*: enough to spread cooldowns; not for secrets. */
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 2685821657736338717ull;
}

static uint64_t bucket_ms(const mcpd_breaker *b)
{
    return b->cfg.window_ms / NBUCKETS;
}

static void window_sum(mcpd_breaker *b, uint64_t now, uint32_t *calls, uint32_t *failures)
{
    if (b->ring) {
        *calls = b->ring_len;
        *failures = b->ring_failures;
        return;
    }
    uint64_t epoch = now / bucket_ms(b);
    *calls = *failures = 0;
    for (int i = 0; i < NBUCKETS; i++) {
        const bucket *k = &b->buckets[i];
        if (k->epoch + NBUCKETS <= epoch) continue; /* older than the window */
        *calls += k->calls;
        *failures += k->failures;
    }
}

static void window_add(mcpd_breaker *b, uint64_t now, bool ok)
{
    if (b->ring) {
        if (b->ring_len == b->cfg.window_calls)
            b->ring_failures -= b->ring[b->ring_pos];
        else
            b->ring_len++;
        b->ring[b->ring_pos] = !ok;
        b->ring_failures += !ok;
        b->ring_pos = (b->ring_pos + 1) % b->cfg.window_calls;
        return;
    }
    uint64_t epoch = now / bucket_ms(b);
    bucket *k = &b->buckets[epoch % NBUCKETS];
    if (k->epoch != epoch) *k = (bucket){.epoch = epoch};
    k->calls++;
    if (!ok) k->failures++;
}

static void window_clear(mcpd_breaker *b)
{
    memset(b->buckets, 0, sizeof b->buckets);
    if (b->ring) memset(b->ring, 0, b->cfg.window_calls);
    b->ring_pos = b->ring_len = b->ring_failures = 0;
}

/* Moves b to state s, counting the transition (mcpd_breaker_transitions_total). */
static void set_state(mcpd_breaker *b, mcpd_breaker_state s)
{
    mcpd_count_transition((int)b->state, (int)s);
    b->state = s;
}

static void go_open(mcpd_breaker *b, uint64_t now)
{
    uint64_t c = b->cooldown_ms, j = c * b->cfg.jitter_percent / 100;
    if (j) c = c - j + next_random(b) % (2 * j + 1);
    set_state(b, MCPD_BREAKER_OPEN);
    b->open_until = now + (c ? c : 1);
    b->generation++;
    b->opened++;
    b->probes_out = b->probes_ok = 0;
    /* the next open, if the probes fail, waits twice as long */
    uint64_t next = (uint64_t)b->cooldown_ms * 2;
    b->cooldown_ms = next > b->cfg.max_cooldown_ms ? b->cfg.max_cooldown_ms : (uint32_t)next;
}

static void go_closed(mcpd_breaker *b)
{
    set_state(b, MCPD_BREAKER_CLOSED);
    b->generation++;
    b->forced = false;
    b->probes_out = b->probes_ok = 0;
    b->cooldown_ms = b->cfg.cooldown_ms;
    window_clear(b);
}

/* An open breaker whose cooldown has passed becomes half-open when next looked at. */
static void advance(mcpd_breaker *b, uint64_t now)
{
    if (b->state == MCPD_BREAKER_OPEN && !b->forced && now >= b->open_until) {
        set_state(b, MCPD_BREAKER_HALF_OPEN);
        b->generation++;
        b->probes_out = b->probes_ok = 0;
    }
}

static void refuse_reason(mcpd_breaker *b, uint64_t retry, char *why, size_t whysize)
{
    if (!why || !whysize) return;
    double s = (double)retry / 1000.0;
    if (b->forced)
        snprintf(why, whysize, "circuit open: %s; retry in %.1f s", b->reason, s);
    else if (b->state == MCPD_BREAKER_HALF_OPEN)
        snprintf(why, whysize,
                 "circuit half-open: a probe call is testing the backend; retry in "
                 "%.1f s",
                 s);
    else
        snprintf(why, whysize, "circuit open after %u failures in %u calls; retry in %.1f s",
                 b->opened_failures, b->opened_calls, s);
}

bool mcpd_breaker_allow(mcpd_breaker *b, uint64_t now_ms, mcpd_breaker_ticket *t,
                        uint64_t *retry_ms, char *why, size_t whysize)
{
    pthread_mutex_lock(&b->mu);
    advance(b, now_ms);
    bool ok = true;
    uint64_t retry = 0;
    if (b->state == MCPD_BREAKER_OPEN) {
        ok = false;
        retry = b->open_until > now_ms ? b->open_until - now_ms : 1;
    } else if (b->state == MCPD_BREAKER_HALF_OPEN) {
        if (b->probes_out >= b->cfg.probes) {
            ok = false;
            retry = 1000; /* a probe is out; its outcome decides within a call's time */
        } else {
            b->probes_out++;
        }
    }
    if (ok) {
        t->generation = b->generation;
        t->probe = b->state == MCPD_BREAKER_HALF_OPEN;
    } else {
        b->refused++;
        if (retry_ms) *retry_ms = retry ? retry : 1;
        refuse_reason(b, retry ? retry : 1, why, whysize);
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

static void record_locked(mcpd_breaker *b, uint64_t now, const mcpd_breaker_ticket *t, bool ok)
{
    advance(b, now);
    if (t->generation != b->generation) return; /* admitted under another state */
    if (b->state == MCPD_BREAKER_HALF_OPEN && t->probe) {
        if (b->probes_out) b->probes_out--;
        if (!ok) {
            b->opened_calls = b->probes_ok + 1;
            b->opened_failures = 1;
            go_open(b, now);
        } else if (++b->probes_ok >= b->cfg.probe_successes) {
            go_closed(b);
        }
        return;
    }
    if (b->state != MCPD_BREAKER_CLOSED) return;
    window_add(b, now, ok);
    if (ok) return;
    uint32_t calls, failures;
    window_sum(b, now, &calls, &failures);
    if (calls >= b->cfg.min_calls &&
        (uint64_t)failures * 100 >= (uint64_t)calls * b->cfg.failure_percent) {
        b->opened_calls = calls;
        b->opened_failures = failures;
        window_clear(b);
        go_open(b, now);
    }
}

void mcpd_breaker_record(mcpd_breaker *b, uint64_t now_ms, const mcpd_breaker_ticket *t, bool ok)
{
    pthread_mutex_lock(&b->mu);
    record_locked(b, now_ms, t, ok);
    pthread_mutex_unlock(&b->mu);
}

void mcpd_breaker_release(mcpd_breaker *b, const mcpd_breaker_ticket *t)
{
    pthread_mutex_lock(&b->mu);
    if (t->probe && t->generation == b->generation && b->probes_out) b->probes_out--;
    pthread_mutex_unlock(&b->mu);
}

void mcpd_breaker_force_open(mcpd_breaker *b, uint64_t now_ms, uint64_t retry_ms,
                             const char *reason)
{
    pthread_mutex_lock(&b->mu);
    if (!(b->state == MCPD_BREAKER_OPEN && b->forced)) {
        set_state(b, MCPD_BREAKER_OPEN);
        b->generation++;
        b->opened++;
        b->probes_out = b->probes_ok = 0;
    }
    b->forced = true;
    b->open_until = now_ms + (retry_ms ? retry_ms : 1);
    snprintf(b->reason, sizeof b->reason, "%s", reason ? reason : "health check failed");
    pthread_mutex_unlock(&b->mu);
}

bool mcpd_breaker_forced(mcpd_breaker *b)
{
    pthread_mutex_lock(&b->mu);
    bool f = b->state == MCPD_BREAKER_OPEN && b->forced;
    pthread_mutex_unlock(&b->mu);
    return f;
}

void mcpd_breaker_force_close(mcpd_breaker *b, uint64_t now_ms)
{
    pthread_mutex_lock(&b->mu);
    if (b->state != MCPD_BREAKER_CLOSED) go_closed(b);
    pthread_mutex_unlock(&b->mu);
}

mcpd_breaker_state mcpd_breaker_state_at(mcpd_breaker *b, uint64_t now_ms)
{
    pthread_mutex_lock(&b->mu);
    advance(b, now_ms);
    mcpd_breaker_state s = b->state;
    pthread_mutex_unlock(&b->mu);
    return s;
}

const char *mcpd_breaker_state_name(mcpd_breaker_state s)
{
    switch (s) {
    case MCPD_BREAKER_CLOSED:
        return "closed";
    case MCPD_BREAKER_OPEN:
        return "open";
    case MCPD_BREAKER_HALF_OPEN:
        return "half-open";
    }
    return "?";
}

void mcpd_breaker_stats_get(mcpd_breaker *b, uint64_t now_ms, mcpd_breaker_stats *out)
{
    pthread_mutex_lock(&b->mu);
    advance(b, now_ms);
    out->state = b->state;
    window_sum(b, now_ms, &out->window_calls, &out->window_failures);
    out->opened = b->opened;
    out->refused = b->refused;
    pthread_mutex_unlock(&b->mu);
}
