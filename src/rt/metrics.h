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
 * Series whose label sets change while the program runs (one per tool of a config that is
 * reloaded, one per alert rule) are not registered: a collector (rt_metrics_collector) writes
 * them at each render, after the registered ones.
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

/* Marks func series id as nanoseconds: rendered in seconds (value / 1e9), for a total of
 * durations kept elsewhere (`..._seconds_total`). Registration time only. */
void rt_metrics_func_ns(rt_metrics *m, int id);

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

/* ---- collected series --------------------------------------------------------------------- */
typedef struct rt_metrics_writer rt_metrics_writer;
typedef void (*rt_metrics_collect_fn)(void *ud, rt_metrics_writer *w);

/* At most this many collectors per set, and samples written per render (over all of them). */
#define RT_METRICS_MAX_COLLECTORS 8
#define RT_METRICS_MAX_COLLECTED  65536

/* Adds a collector: fn(ud, w) runs at every rt_metrics_render of m, on the rendering thread
 * (possibly several at once), and writes samples with rt_metrics_write. Returns 0, or -ENOSPC
 * past RT_METRICS_MAX_COLLECTORS. Registration time only. */
int rt_metrics_collector(rt_metrics *m, rt_metrics_collect_fn fn, void *ud);

/* Writes one sample of a collected series: name and labels as for registration (checked:
 * rt_metrics_name_ok, rt_metrics_labels_ok), help one line (the first sample of a name gives
 * the family's), counter true for TYPE counter, else gauge. Samples of one name are rendered
 * together whatever the order they were written in. Returns 0, or -EINVAL (a bad name, labels
 * or help; a name registered in m; a type other than the name's first sample's; labels already
 * written for that name), or -ENOSPC past RT_METRICS_MAX_COLLECTED samples in this render. A
 * refused sample is left out; the others render. The collector's thread. */
int rt_metrics_write(rt_metrics_writer *w, const char *name, const char *labels, bool counter,
                     const char *help, double value);

/* Whether name is a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, at most 200 chars), and
 * labels NULL, "" or `k="v",...` (names [a-zA-Z_][a-zA-Z0-9_]*, values without '"', '\\' or
 * control characters; at most 400 chars). */
bool rt_metrics_name_ok(const char *name);
bool rt_metrics_labels_ok(const char *labels);

/* Appends every series in Prometheus text format (version 0.0.4) to b, families in the order
 * their first series was registered. Histograms get `le` bounds from 100 us to 5 s in
 * seconds; a fine bucket counts under the first bound not below its upper edge. Then the
 * collectors' samples, grouped by name. Any thread. */
void rt_metrics_render(rt_metrics *m, mcp_buf *b);

#endif
