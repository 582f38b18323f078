/* health.h - periodic health checks of upstreams that open and close their breakers.
 *
 * One checker runs one libuv loop on one thread of its own; each target is a timer on it, and a
 * due check runs on libuv's thread pool (uv_queue_work), so a slow check delays no other and
 * there is no thread per check. A target turns unhealthy after `unhealthy_after` failed checks
 * in a row, which forces its breaker open (calls answered at once with the reason and the time
 * of the next check); it turns healthy again after `healthy_after` good checks in a row, which
 * closes the breaker. Every function may be called from any thread except a check itself. */
#ifndef MCPD_HEALTH_H
#define MCPD_HEALTH_H

#include "mcpd/breaker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A check: returns true if the target is healthy, else false with a short reason in
 * why[whysize] (e.g. "GET /health: 503"). Runs on a libuv pool thread and may block, but should
 * bound its own time (a timeout below the interval). */
typedef bool (*mcpd_health_check_fn)(void *ud, char *why, size_t whysize);

typedef struct mcpd_health_target {
    const char *name;           /* for logs (copied) */
    uint32_t interval_ms;       /* between the end of one check and the start of the next; 10000 */
    uint32_t unhealthy_after;   /* failed checks in a row that open the breaker; 2 */
    uint32_t healthy_after;     /* good checks in a row that close it again; 1 */
    mcpd_health_check_fn check; /* required */
    void *ud;                   /* the caller's; must outlive the target */
    mcpd_breaker *breaker;      /* required; must outlive the target */
} mcpd_health_target;

typedef struct mcpd_health mcpd_health;

/* Starts a checker (its loop thread). Returns NULL if the thread cannot start. */
mcpd_health *mcpd_health_new(void);
/* Stops it: waits for running checks to end, then joins the thread. NULL is fine. All targets
 * must have been removed (those left are removed here). */
void mcpd_health_free(mcpd_health *h);

/* Adds a target (def copied); its first check runs at once. Returns an id > 0. */
uint64_t mcpd_health_add(mcpd_health *h, const mcpd_health_target *def);
/* Removes a target and waits until no check of it runs, so its ud and breaker may be freed on
 * return. Unknown ids are ignored. Must not be called from a check. */
void mcpd_health_remove(mcpd_health *h, uint64_t id);

/* Whether the target is healthy now (true before its first verdict), with the last failure's
 * reason copied into why[whysize] (may be NULL). */
bool mcpd_health_status(mcpd_health *h, uint64_t id, char *why, size_t whysize);
/* Checks finished since creation (all targets); for tests that wait for a round. */
uint64_t mcpd_health_checks_done(mcpd_health *h);

#endif
