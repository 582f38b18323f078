/* metrics.h - counters, gauges and latency histograms, sharded per thread, merged when read.
 *
 * A metrics set is created with a number of shards (one per thread that records: a worker
 * loop each, say) and its series are registered before anything records. Recording is a
 * relaxed atomic add into the caller's shard: no lock, no shared cache line between shards.
 * Reading (rt_metrics_get, rt_metrics_hist_get, rt_metrics_render) sums the shards; it may run
 * on any thread at any time and sees each counter at some recent value.
 *
 * A series is a name plus an optional label set in Prometheus syntax (`method="tools/call"`);
 * series that share a name form one family (one HELP and TYPE line when rendered). Latency
 * histograms are log-linear (HDR-style): 8 linear sub-buckets per power of two of
 * nanoseconds, so any recorded value is known within 12.5%, from 1 ns to about 18 minutes
 * (larger values land in the last bucket). Rendering maps them onto fixed Prometheus `le`
 * bounds; rt_metrics_hist_get gives the fine buckets and quantiles.
 *
 * Registration (rt_metrics_counter and friends) is not thread-safe and must finish before
 * recording starts. rt_metrics_free after every recorder and reader is done. */
#ifndef MCP_RT_METRICS_H
#define MCP_RT_METRICS_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_metrics rt_metrics;

/* Fine histogram buckets: RT_HIST_SUB per power of two, up to 2^RT_HIST_MAX_EXP ns. */
#define RT_HIST_SUB_BITS 3
#define RT_HIST_SUB      (1u << RT_HIST_SUB_BITS)
#define RT_HIST_MAX_EXP  40
#define RT_HIST_BUCKETS  ((RT_HIST_MAX_EXP - RT_HIST_SUB_BITS + 1) * RT_HIST_SUB + RT_HIST_SUB)

/* Returns a new, empty metrics set with nshards shards (at least 1). Never NULL (aborts on
 * out of memory). */
rt_metrics *rt_metrics_new(unsigned nshards);

/* Frees m. No thread may use m any more. */
void rt_metrics_free(rt_metrics *m);

/* Registers a series and returns its id (>= 0) for the recording calls. name: a Prometheus
 * metric name; labels: NULL or the inside of the braces (`a="b",c="d"`); help: one line. The
 * strings are copied. A counter only grows; a gauge goes up and down (rt_metrics_add with a
 * negative delta); a histogram records durations. */
int rt_metrics_counter(rt_metrics *m, const char *name, const char *labels, const char *help);
int rt_metrics_gauge(rt_metrics *m, const char *name, const char *labels, const char *help);
int rt_metrics_histogram(rt_metrics *m, const char *name, const char *labels, const char *help);

/* Registers a series read from elsewhere when rendered: fn(ud, key) gives its value (a pool's
 * queue depth, connections open). counter: true for TYPE counter, false for gauge. */
int rt_metrics_func(rt_metrics *m, const char *name, const char *labels, const char *help,
                    bool counter, uint64_t (*fn)(void *ud, unsigned key), void *ud, unsigned key);

/* Adds delta to counter or gauge id in shard (taken modulo the shard count). Any thread;
 * lock-free. */
void rt_metrics_add(rt_metrics *m, unsigned shard, int id, int64_t delta);

/* Records one duration of ns nanoseconds in histogram id, shard shard. Any thread; lock-free. */
void rt_metrics_observe(rt_metrics *m, unsigned shard, int id, uint64_t ns);

/* Sets gauge id to value: stores it in shard 0 (meant for sets of one shard, where that is
 * the whole value). Any thread; lock-free. */
void rt_metrics_set(rt_metrics *m, int id, int64_t value);

/* The id of the series name{labels} (labels NULL or "" for none), or -1. Any thread once
 * registration is over. */
int rt_metrics_find(rt_metrics *m, const char *name, const char *labels);

/* Returns the sum over shards of counter or gauge id (func series: fn's value). Any thread. */
int64_t rt_metrics_get(rt_metrics *m, int id);

/* A histogram merged over shards. */
typedef struct rt_hist_snapshot {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t buckets[RT_HIST_BUCKETS];
} rt_hist_snapshot;

/* Fills out with histogram id summed over shards. Any thread. */
void rt_metrics_hist_get(rt_metrics *m, int id, rt_hist_snapshot *out);

/* Returns the value (ns) at quantile q (0..1) of s: the upper bound of the bucket holding
 * it, or 0 when s is empty. */
uint64_t rt_hist_quantile(const rt_hist_snapshot *s, double q);

/* The fine bucket of a value, and the largest value that bucket holds (for tests and
 * renderers). */
unsigned rt_hist_bucket(uint64_t ns);
uint64_t rt_hist_bucket_upper(unsigned bucket);

/* Appends every series in Prometheus text format (version 0.0.4) to b, families in the order
 * their first series was registered. Histograms get `le` bounds from 100 us to 5 s in
 * seconds; a fine bucket counts under the first bound not below its upper edge. Any thread. */
void rt_metrics_render(rt_metrics *m, mcp_buf *b);

#endif
