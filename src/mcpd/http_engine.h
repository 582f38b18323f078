/* http_engine.h - one HTTP request template, filled from arguments and sent to an upstream that
 * has keep-alive pools, a circuit breaker, a concurrency limit and optionally a health check:
 * from the HTTP worker loop that runs the call (hclient.h) when it can, else with libcurl.
 *
 * The engine of the `http` kind (and of `openapi`, whose operations become requests); http.c
 * is its glue to kind.h. It knows libcurl, hclient, the public JSON and loop APIs and mcpd's
 * guard pieces (breaker, limiter, health), nothing of mcpd's calls, so it is unit-tested alone. */
#ifndef MCPD_HTTP_ENGINE_H
#define MCPD_HTTP_ENGINE_H

#include <mcp/json.h>
#include <mcp/metrics.h>
#include <mcp/loop.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- upstreams ------------------------------------------------------------------------------ */
typedef struct httpe_upstream httpe_upstream;

typedef struct httpe_upstream_config {
    const char *name;       /* shared by every template naming it; NULL: the URL's origin */
    uint32_t concurrency;   /* requests in flight at once; 0: 64 */
    uint32_t queue_wait_ms; /* wait for a slot at most; 0: 1000 */
    uint32_t max_idle;      /* keep-alive handles kept; 0: 16 */
    const char *health_url; /* absolute URL probed periodically; NULL: no health check */
    uint32_t health_interval_ms, health_timeout_ms, unhealthy_after, healthy_after;
    /* breaker settings (0: the defaults of breaker.h) */
    uint32_t breaker_window_ms, breaker_min_calls, breaker_failure_percent, breaker_cooldown_ms,
        breaker_probes;
    /* mcpd_env.generation of the configure pass: within one pass the first template naming
     * an upstream decides its settings and the others share it; a later pass keeps it only if
     * its first template has the same settings (else a fresh upstream starts) */
    uint64_t generation;
} httpe_upstream_config;

/* ---- request templates ---------------------------------------------------------------------- */
typedef struct httpe httpe;

typedef struct httpe_header {
    const char *name, *value; /* value is a template */
} httpe_header;

typedef struct httpe_config {
    const char *method;             /* GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS */
    const char *url;                /* template: {name} only after the origin (path, query) */
    const mcp_json *query;          /* object: name -> template string (or number, bool) */
    const mcp_json *headers;        /* object: name -> template string */
    const mcp_json *body;           /* JSON template, or NULL */
    const char *body_type;          /* Content-Type of the body; default application/json */
    const mcp_json *arguments;      /* the declared arguments (object), for checks */
    uint32_t retries;               /* extra attempts for idempotent methods; default 2 */
    bool retries_set;               /* retries given (0 allowed) */
    uint32_t backoff_ms;            /* first backoff (full jitter, doubling); 0: 100 */
    uint32_t max_backoff_ms;        /* 0: 2000 */
    uint32_t connect_timeout_ms;    /* 0: 5000 */
    size_t max_response_bytes;      /* 0: 1 MiB */
    bool follow_redirects;          /* default false */
    httpe_upstream_config upstream; /* the upstream's settings (the first template that names an
                                       upstream sets them; later ones share it) */
} httpe_config;

/* Checks and compiles a template, and finds or makes its upstream. Returns the template, or
 * NULL with the reason in err[errsize] and the config key it concerns (e.g. "url") in
 * key[keysize]. Free with httpe_free() (which drops its upstream reference). Any thread. */
httpe *httpe_new(const httpe_config *cfg, char *err, size_t errsize, char *key, size_t keysize);
void httpe_free(httpe *t);

/* The upstream's name (its origin unless named). */
const char *httpe_upstream_name(const httpe *t);
/* Writes every upstream's series (up, breaker state and refusals, concurrency refusals and
 * waits; docs/metrics.md) into w: the http kind's collect. Any thread. */
void httpe_collect(mcp_metrics_writer *w);

typedef enum httpe_status {
    HTTPE_OK,             /* a 2xx (or 3xx not followed) answer */
    HTTPE_CLIENT_ERROR,   /* a 4xx answer, a response over the cap, a bad argument value: the
                             upstream is healthy */
    HTTPE_UPSTREAM_ERROR, /* 5xx after the retries, connection failures */
    HTTPE_TIMEOUT,        /* the time ran out */
    HTTPE_CANCELLED,      /* stop() said stop */
    HTTPE_REFUSED,        /* the upstream's breaker is open or its limit is full: not sent */
} httpe_status;

typedef struct httpe_result {
    httpe_status status;
    long http_status; /* 0 if no answer */
    char *body;       /* the response body (NUL-terminated, malloc'd), or NULL */
    size_t body_len;
    char *content_type; /* malloc'd, or NULL */
    bool json;          /* the body is JSON (by its content type) and parsed */
    unsigned attempts;
    char message[512]; /* what went wrong, for the isError text */
} httpe_result;

/* Called once when a request ends. r is valid during the call; the callee frees its strings
 * with httpe_result_free (or takes them, leaving NULL). */
typedef void (*httpe_done_fn)(void *ud, httpe_result *r);

/* Fills the template from args and starts sending it; never blocks. The upstream's breaker
 * refuses at once while open. Two paths, with the same semantics:
 * - the loop path: with loop (the libmcp event loop the call runs inline on, mcp_ctx_loop), a
 *   plain http:// URL, no proxy for its host, no redirects to follow, and a free slot of the
 *   upstream's limiter at once, the request is sent by hclient.c on that loop (its keep-alive
 *   pool there) and done(ud, r) is called on that loop's thread;
 * - otherwise (loop NULL, https, a proxy, redirects, a full limiter) it goes to the engine's
 *   transfer thread (libcurl), where it waits for a slot of the limiter if it must (FIFO, at
 *   most queue_wait_ms and never past deadline_ms; past as many waiters as the limit, refused
 *   at once), and done is called on the transfer thread.
 * Idempotent methods are retried on connection errors and 502/503/504/429 with jittered
 * exponential backoff (or the answer's Retry-After), never past deadline_ms (on the breaker's
 * clock, mcpd_now_ms). A request stops when stop(ud) turns true: httpe_wake_cancelled() makes
 * the loops look at once; the transfer thread polls every 100 ms. done(ud, r) is called exactly
 * once: on the calling thread, before httpe_start returns, when the request cannot be built or
 * the breaker refuses it; otherwise as above. args are read only before httpe_start returns.
 * t must outlive the request. Any thread but the transfer thread (loop, when given: its own). */
void httpe_start(httpe *t, const mcp_json *args, uint64_t deadline_ms, mcp_loop *loop,
                 bool (*stop)(void *ud), void *ud, httpe_done_fn done);
/* Some request's stop(ud) may have turned true: every loop with requests in flight looks at
 * them soon (a post to each). Any thread but a loop's own with libmcp's locks held. */
void httpe_wake_cancelled(void);
/* Whether requests of t may take the loop path (http://, no proxy, no redirects). */
bool httpe_loop_eligible(const httpe *t);
void httpe_result_free(httpe_result *r);

/* Builds the request without sending it (for tests): the URL, headers ("Name: value" lines)
 * and body. Returns false with the reason in err (a value that cannot be sent). Strings are
 * malloc'd; the caller frees them. */
bool httpe_build(const httpe *t, const mcp_json *args, char **url, char **headers, char **body,
                 char *err, size_t errsize);

/* The backoff before retry number `attempt` (1-based): uniform in [0, min(max, base * 2^(a-1))]
 * (full jitter). rnd is any random 64-bit value. */
uint32_t httpe_backoff(uint32_t base, uint32_t max, unsigned attempt, uint64_t rnd);

#endif
