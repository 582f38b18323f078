/* series.h - mcpd's own metrics: what its modules count, and the collector that publishes them.
 *
 * Modules count events with mcpd_count (one relaxed atomic add: any thread, no lock, fine on a
 * call's path); breaker.c counts its transitions with mcpd_count_transition. Series that
 * belong to a tool or an upstream are not counted here: the collector reads them from the
 * served generation's guards (registry.c) and from the kinds (kind.h `collect`) at each scrape,
 * so a reload that adds or drops a tool adds or drops its series. docs/metrics.md lists them. */
#ifndef MCPD_SERIES_H
#define MCPD_SERIES_H

#include <mcp/metrics.h>

#include <stdbool.h>
#include <stdint.h>

typedef enum mcpd_counter {
    MCPD_CHILDREN_RUNNING, /* a gauge: +1 at spawn, -1 at exit */
    MCPD_CHILDREN_SPAWNED,
    MCPD_CHILDREN_KILLED,    /* stopped by mcpd (cancel, timeout, output cap) */
    MCPD_CHILDREN_TIMED_OUT, /* calls of spawning tools that passed their timeout */
    MCPD_RELOADS_SUCCESS,
    MCPD_RELOADS_FAILURE,
    MCPD_HEALTH_CHECKS_OK,
    MCPD_HEALTH_CHECKS_FAILED,
    MCPD_COUNTER_COUNT
} mcpd_counter;

/* Adds delta to counter c. Any thread; lock-free. */
void mcpd_count(mcpd_counter c, int64_t delta);
/* The value of c (for tests). Any thread. */
int64_t mcpd_counted(mcpd_counter c);

/* Counts a breaker's move between states (mcpd_breaker_state values). Any thread. */
void mcpd_count_transition(int from, int to);

/* Records a reload's end: its outcome and the wall-clock time. Any thread. */
void mcpd_count_reload(bool ok);

/* Writes one labelled sample (labels: `key="value"`, value escaped as Prometheus needs). */
void mcpd_series_write(mcp_metrics_writer *w, const char *name, const char *key, const char *value,
                       mcp_metric_type type, const char *help, double v);

struct mcpd_breaker_stats;
/* Writes the guard series of one tool (prefix "mcpd_", key "tool") or upstream (prefix
 * "mcpd_upstream_", key "upstream") called name: <prefix>concurrency_refused_total and
 * _waits_total, and with st (NULL: no breaker) <prefix>breaker_state (0 closed, 1 half-open,
 * 2 open) and <prefix>breaker_refused_total. Scraping threads. */
void mcpd_series_guard(mcp_metrics_writer *w, const char *prefix, const char *key, const char *name,
                       const struct mcpd_breaker_stats *st, uint64_t limit_refused,
                       uint64_t limit_waits);

/* Writes every series counted here into w (registry.c's collector adds the tools' and kinds'
 * own). Scraping threads. */
void mcpd_series_collect(mcp_metrics_writer *w);

#endif
