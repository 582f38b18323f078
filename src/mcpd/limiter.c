/* limiter.c - the concurrency limiter: a mutex, a condition variable on CLOCK_MONOTONIC, counts.
 *
 * A waiter sleeps on the condition variable until a slot frees or its deadline passes; the
 * deadline is absolute on the monotonic clock, so spurious wakeups and clock changes neither
 * shorten nor stretch the wait. The number of waiters is capped: past the cap a call is
 * refused at once (a bounded queue, not an unbounded crowd of threads). Release signals one
 * waiter; FIFO order among waiters is not promised (the kernel's futex order decides), which
 * is fine for a bound that only protects a backend. */
#include "mcpd/limiter.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct mcpd_limiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t max, wait_ms, max_waiters;
    uint32_t used, waiting;
    uint64_t refused;
    uint64_t waits; /* calls that found every slot taken and waited */
};

mcpd_limiter *mcpd_limiter_new(uint32_t max, uint32_t wait_ms, uint32_t max_waiters)
{
    mcpd_limiter *l = calloc(1, sizeof *l);
    if (!l) abort();
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    l->max = max ? max : 1;
    l->wait_ms = wait_ms;
    l->max_waiters = max_waiters ? max_waiters : l->max;
    return l;
}

void mcpd_limiter_free(mcpd_limiter *l)
{
    if (!l) return;
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static void deadline_after(struct timespec *ts, uint32_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

bool mcpd_limiter_acquire(mcpd_limiter *l, uint32_t wait_ms_cap, char *why, size_t whysize)
{
    return mcpd_limiter_acquire_unless(l, wait_ms_cap, NULL, why, whysize);
}

void mcpd_limiter_wake(mcpd_limiter *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->waiting) pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

bool mcpd_limiter_acquire_unless(mcpd_limiter *l, uint32_t wait_ms_cap, const atomic_bool *stop,
                                 char *why, size_t whysize)
{
    uint32_t wait = l->wait_ms;
    if (wait_ms_cap && wait_ms_cap < wait) wait = wait_ms_cap;
    pthread_mutex_lock(&l->mu);
    if (l->used < l->max) {
        l->used++;
        pthread_mutex_unlock(&l->mu);
        return true;
    }
    if (!wait || l->waiting >= l->max_waiters) {
        l->refused++;
        if (why && whysize)
            snprintf(why, whysize, "too many concurrent calls (limit %u, %u more waiting)", l->max,
                     l->waiting);
        pthread_mutex_unlock(&l->mu);
        return false;
    }
    struct timespec dl;
    deadline_after(&dl, wait);
    l->waiting++;
    l->waits++;
    int rc = 0;
    bool stopped = false;
    while (l->used >= l->max && rc != ETIMEDOUT && !(stopped = stop && atomic_load(stop)))
        rc = pthread_cond_timedwait(&l->cv, &l->mu, &dl);
    l->waiting--;
    bool ok = l->used < l->max && !stopped;
    if (ok) {
        l->used++;
    } else if (stopped) {
        /* a release may have signalled this waiter: pass its wakeup on */
        if (l->used < l->max && l->waiting) pthread_cond_signal(&l->cv);
        if (why && whysize) snprintf(why, whysize, "cancelled while waiting for a slot");
    } else {
        l->refused++;
        if (why && whysize)
            snprintf(why, whysize,
                     "too many concurrent calls (limit %u): no slot freed within %u ms", l->max,
                     wait);
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

static bool try_take(mcpd_limiter *l, bool count_miss)
{
    pthread_mutex_lock(&l->mu);
    bool ok = l->used < l->max;
    if (ok)
        l->used++;
    else if (count_miss)
        l->refused++;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

bool mcpd_limiter_try(mcpd_limiter *l)
{
    return try_take(l, true);
}

bool mcpd_limiter_try_first(mcpd_limiter *l)
{
    return try_take(l, false);
}

/* Signals after unlocking: a waiter woken under the mutex would find it held and sleep again
 * (two more context switches per call when calls queue for a slot, as exec calls do at
 * concurrency 1 under load). */
void mcpd_limiter_release(mcpd_limiter *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->used) l->used--;
    bool wake = l->waiting > 0;
    pthread_mutex_unlock(&l->mu);
    if (wake) pthread_cond_signal(&l->cv);
}

uint32_t mcpd_limiter_in_use(mcpd_limiter *l)
{
    pthread_mutex_lock(&l->mu);
    uint32_t n = l->used;
    pthread_mutex_unlock(&l->mu);
    return n;
}

uint32_t mcpd_limiter_waiting(mcpd_limiter *l)
{
    pthread_mutex_lock(&l->mu);
    uint32_t n = l->waiting;
    pthread_mutex_unlock(&l->mu);
    return n;
}

uint64_t mcpd_limiter_refused(mcpd_limiter *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t n = l->refused;
    pthread_mutex_unlock(&l->mu);
    return n;
}

uint64_t mcpd_limiter_waits(mcpd_limiter *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t n = l->waits;
    pthread_mutex_unlock(&l->mu);
    return n;
}
