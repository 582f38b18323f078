/* metrics.h - libmcp's public metrics: a program's own series, and a snapshot of every series.
 *
 * A program registers counters and gauges on its mcp_server (breaker states, child processes,
 * reloads, alerts: whatever it wants an operator to see) and updates them from any thread
 * without a lock: each update is one relaxed atomic operation. The HTTP transport renders them
 * after its own series at /metrics, and /status lists them (a gauge named mcpd_alert_active
 * with a `rule` label is shown as an alert while non-zero; mcpd_breaker_state{tool="x"},
 * 0 closed, 1 half-open, 2 open, is shown beside tool x). mcp_http_metrics_text gives a program
 * the same text /metrics serves.
 *
 * Registration is not thread-safe: register every series before serving (before
 * mcp_http_start), from one thread. Names follow Prometheus conventions: [a-zA-Z_:][a-zA-Z0-9_:]*,
 * counters ending in _total, units in the name (_seconds, _bytes). Labels are the inside of the
 * braces, `rule="p99",tool="x"`: keep them to a fixed set of values. */
#ifndef MCP_METRICS_H
#define MCP_METRICS_H

#include "mcp/mcp.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Registers a counter (only grows) or a gauge (goes up and down) on s. name: as above; labels:
 * NULL or `k="v",...` (values without '"', '\\' or newlines); help: one line, NULL for none.
 * The strings are copied. Returns the series id (>= 0) for the calls below, or MCP_EINVAL
 * when a name or label set is malformed. Call before serving, from one thread. */
int mcp_metrics_counter(mcp_server *s, const char *name, const char *labels, const char *help);
int mcp_metrics_gauge(mcp_server *s, const char *name, const char *labels, const char *help);

/* Adds delta to series id (a counter: delta >= 0). Any thread; lock-free. */
void mcp_metrics_add(mcp_server *s, int id, int64_t delta);

/* Sets gauge id to value. Any thread; lock-free. */
void mcp_metrics_set(mcp_server *s, int id, int64_t value);

/* Returns the current value of series id. Any thread. */
int64_t mcp_metrics_get(mcp_server *s, int id);

/* Returns every series of a running HTTP transport (its own, the per-method and per-tool
 * series, the program's) in Prometheus text format 0.0.4, NUL-terminated, with its length in
 * *len (len may be NULL): a snapshot, each value some recent value. The caller frees it with
 * free(). Never NULL (aborts on out of memory). Any thread while h runs. */
char *mcp_http_metrics_text(mcp_http *h, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
