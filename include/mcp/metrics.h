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
 * Series whose label values change while the program serves (one per tool of a config that
 * is reloaded, one per upstream) cannot be registered up front: a collector
 * (mcp_metrics_collector) writes them each time the series are read instead.
 *
 * Registration is not thread-safe: register every series (and the collector) before serving
 * (before mcp_http_start), from one thread. Names follow Prometheus conventions:
 * [a-zA-Z_:][a-zA-Z0-9_:]*, counters ending in _total, units in the name (_seconds, _bytes). Labels
 * are the inside of the braces, `rule="p99",tool="x"`: keep them to a fixed set of values.
 *
 * Names the status page reads: mcpd_alert_active{rule} (a raised alert while non-zero),
 * mcpd_breaker_state{tool} (0 closed, 1 half-open, 2 open: the tools table's breaker column),
 * mcpd_upstream_up{upstream} and mcpd_upstream_breaker_state{upstream} (the upstreams table),
 * registered or collected alike. */
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

/* ---- collected series --------------------------------------------------------------------- */
typedef struct mcp_metrics_writer mcp_metrics_writer;

typedef enum mcp_metric_type {
    MCP_METRIC_COUNTER,
    MCP_METRIC_GAUGE,
} mcp_metric_type;

/* Sets s's collector (one per server; a second call replaces it, fn NULL removes it): fn(ud,
 * w) is called each time the program's series are read (a /metrics scrape, /status and
 * /status.json, mcp_http_metrics_text), after the registered series, and writes samples with
 * mcp_metrics_write. It runs on the reading thread, possibly on several threads at once: it
 * must only read the program's state (under the program's own short locks, or atomics), never
 * block, and never call into s. Returns 0, or MCP_EINVAL for s NULL. Before serving, from one
 * thread. */
int mcp_metrics_collector(mcp_server *s, void (*fn)(void *ud, mcp_metrics_writer *w), void *ud);

/* Writes one sample inside a collector: name, labels and help as for registration; type the
 * family's. Samples of one name render together (one HELP and TYPE line: the first sample's
 * help) in any order. Returns 0; MCP_EINVAL when name, labels or help is malformed, name is
 * registered on s, its type differs from its first sample's, or its labels were written
 * already; MCP_ERANGE past 65536 samples in one read. A refused sample is left out, the rest
 * render. Only inside fn, with its w. */
int mcp_metrics_write(mcp_metrics_writer *w, const char *name, const char *labels,
                      mcp_metric_type type, const char *help, double value);

/* Returns every series of a running HTTP transport (its own, the per-method and per-tool
 * series, the program's) in Prometheus text format 0.0.4, NUL-terminated, with its length in
 * *len (len may be NULL): a snapshot, each value some recent value. The caller frees it with
 * free(). Never NULL (aborts on out of memory). Any thread while h runs. */
char *mcp_http_metrics_text(mcp_http *h, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
