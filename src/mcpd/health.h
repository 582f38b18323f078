/* health.h - periodic health checks of upstreams that open and close their breakers.
 *
 * A checker keeps one timer per target on one libuv loop: mcpd's event loop, or a loop on a
 * thread of its own. No thread per check: a probe is started on the loop and reports its
 * verdict later, from any thread (a kind's `health` callback of kind.h has exactly this shape).
 * A target turns unhealthy after `unhealthy_after` failed probes in a row (a probe that does not
 * report within timeout_ms fails), which forces its breaker open: calls are answered at once
 * with the reason and the time to the next probe. It turns healthy again after `healthy_after`
 * good probes in a row, which closes the breaker. */
#ifndef MCPD_HEALTH_H
#define MCPD_HEALTH_H

#include "mcpd/breaker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* A probe's verdict: ok, or not with a reason ("GET /health: 503"). Exactly once per probe,
 * from any thread, at any time (also inside the probe call). */
typedef void (*mcpd_health_report_fn)(void *report_ud, bool ok, const char *reason);
/* Starts a probe on the checker's loop thread; must not block. */
typedef void (*mcpd_health_probe_fn)(void *ud, mcpd_health_report_fn report, void *report_ud);

typedef struct mcpd_health_target {
    const char *name;           /* for logs and reasons (copied) */
    uint32_t interval_ms;       /* from one probe's verdict to the next probe; 10000 */
    uint32_t timeout_ms;        /* a probe not reported by then failed; 5000 */
    uint32_t unhealthy_after;   /* failed probes in a row that open the breaker; 2 */
    uint32_t healthy_after;     /* good probes in a row that close it again; 1 */
    mcpd_health_probe_fn probe; /* required */
    void *ud;                   /* the caller's; must outlive the target */
    mcpd_breaker *breaker;      /* required; must outlive the target */
} mcpd_health_target;

typedef struct mcpd_health mcpd_health;

/* Starts a checker. With loop NULL it runs a loop on a thread of its own; otherwise it uses
 * loop, and must be created on loop's thread or before loop runs. Returns NULL if its thread
 * cannot start. */
mcpd_health *mcpd_health_new(uv_loop_t *loop);
/* Stops it: removes every target, waits for outstanding probes to report (a late report of a
 * timed-out probe included), closes its handles. Call from any thread but the loop's, while the
 * loop runs (with a loop of its own, the thread is joined). NULL is fine. */
void mcpd_health_free(mcpd_health *h);

/* Adds a target (def copied); its first probe starts at once. Returns an id > 0. Any thread
 * but the loop's (the loop's thread may add too: it never waits). */
uint64_t mcpd_health_add(mcpd_health *h, const mcpd_health_target *def);
/* Removes a target and waits until it is gone from the loop, so its breaker may be freed on
 * return (its ud too, unless a probe is still outstanding: then ud must live until that probe
 * reports). Unknown ids are ignored. Any thread but the loop's. */
void mcpd_health_remove(mcpd_health *h, uint64_t id);

/* The checker's loop: a probe (called on its thread) may queue work on it (uv_queue_work) to
 * run a blocking check on libuv's pool. */
uv_loop_t *mcpd_health_loop(mcpd_health *h);

/* Whether the target is healthy now (true before its first verdict), with the last failure's
 * reason copied into why[whysize] (may be NULL). Any thread. */
bool mcpd_health_status(mcpd_health *h, uint64_t id, char *why, size_t whysize);
/* Verdicts applied since creation (all targets), for tests that wait for a round. */
uint64_t mcpd_health_checks_done(mcpd_health *h);

#endif
