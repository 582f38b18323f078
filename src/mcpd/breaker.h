/* breaker.h - a circuit breaker for one tool or one upstream.
 *
 * States: closed (calls pass, outcomes are counted in a rolling time window), open (calls are
 * refused at once until a cooldown with jitter has passed), half-open (at most `probes` calls
 * pass at once; `probe_successes` successes close the breaker, one failure opens it again with
 * a longer cooldown). A health checker may force it open or closed.
 *
 * Time is passed in by the caller (monotonic milliseconds), so tests need no sleeps. Every
 * function may be called from any thread; a mutex guards the state (held for a few loads and
 * stores, never across a call). */
#ifndef MCPD_BREAKER_H
#define MCPD_BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The clock every breaker user shares: CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t mcpd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

typedef struct mcpd_breaker_config {
    uint32_t window_ms;       /* rolling window of outcomes; 60000 (10 buckets) */
    uint32_t window_calls;    /* if not 0: the window is the last window_calls outcomes instead
                                 (at most 10000), whatever their age */
    uint32_t min_calls;       /* outcomes in the window before it may open; 5 */
    uint32_t failure_percent; /* opens when failures reach this share of the window; 50 */
    uint32_t cooldown_ms;     /* first open period; 10000 */
    uint32_t max_cooldown_ms; /* cap when re-opening doubles it; 300000 */
    uint32_t jitter_percent;  /* cooldown drawn in [c - j%, c + j%]; 20 */
    uint32_t probes;          /* concurrent calls let through when half-open; 1 */
    uint32_t probe_successes; /* successes in half-open that close it; 2 */
} mcpd_breaker_config;

typedef enum mcpd_breaker_state {
    MCPD_BREAKER_CLOSED,
    MCPD_BREAKER_OPEN,
    MCPD_BREAKER_HALF_OPEN,
} mcpd_breaker_state;

typedef struct mcpd_breaker mcpd_breaker;

/* What a call admitted by mcpd_breaker_allow() hands back to mcpd_breaker_record(). */
typedef struct mcpd_breaker_ticket {
    uint64_t generation; /* state changes bump it: outcomes of older calls are not counted */
    bool probe;          /* admitted as a half-open probe */
} mcpd_breaker_ticket;

/* Fills cfg with the defaults above. */
void mcpd_breaker_config_default(mcpd_breaker_config *cfg);

/* Returns a new closed breaker (cfg copied; NULL takes the defaults; zero fields take their
 * default). `seed` feeds the jitter. Free with mcpd_breaker_free(). Aborts on out-of-memory. */
mcpd_breaker *mcpd_breaker_new(const mcpd_breaker_config *cfg, uint64_t seed);
void mcpd_breaker_free(mcpd_breaker *b);

/* Asks whether a call may go now. Returns true and fills *t (report the outcome with
 * mcpd_breaker_record, exactly once); or false and stores in *retry_ms how long until a call
 * may be tried again (at least 1), and in why[whysize] (may be NULL) a sentence for the
 * caller, e.g. "circuit open after 5 failures in 6 calls; retry in 8.2 s". */
bool mcpd_breaker_allow(mcpd_breaker *b, uint64_t now_ms, mcpd_breaker_ticket *t,
                        uint64_t *retry_ms, char *why, size_t whysize);

/* Reports the outcome of an admitted call. A failure is the backend's fault (timeout,
 * connection refused, 5xx), not the caller's (bad arguments). */
void mcpd_breaker_record(mcpd_breaker *b, uint64_t now_ms, const mcpd_breaker_ticket *t, bool ok);

/* Gives back a ticket whose call never reached the backend (refused by a limiter, cancelled
 * first): nothing is counted, a probe slot is freed. */
void mcpd_breaker_release(mcpd_breaker *b, const mcpd_breaker_ticket *t);

/* Health checks: force_open keeps it open (calls refused, `reason` quoted) until
 * force_close, which closes it with an empty window. retry_ms is the hint given to callers
 * while it is held open (the next check). */
void mcpd_breaker_force_open(mcpd_breaker *b, uint64_t now_ms, uint64_t retry_ms,
                             const char *reason);
void mcpd_breaker_force_close(mcpd_breaker *b, uint64_t now_ms);
/* True while a health checker holds it open (force_open, not yet force_close). */
bool mcpd_breaker_forced(mcpd_breaker *b);

/* The state at now_ms (an open breaker whose cooldown has passed reads half-open). */
mcpd_breaker_state mcpd_breaker_state_at(mcpd_breaker *b, uint64_t now_ms);
/* "closed", "open", "half-open". */
const char *mcpd_breaker_state_name(mcpd_breaker_state s);

/* Counters for status pages and tests. */
typedef struct mcpd_breaker_stats {
    mcpd_breaker_state state;
    uint32_t window_calls, window_failures;
    uint64_t opened;  /* times it opened */
    uint64_t refused; /* calls refused while open */
} mcpd_breaker_stats;
void mcpd_breaker_stats_get(mcpd_breaker *b, uint64_t now_ms, mcpd_breaker_stats *out);

#endif
