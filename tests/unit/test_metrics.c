/* test_metrics.c - the runtime's metrics: bucket arithmetic of the log-linear histograms,
 * counters and gauges summed over shards, quantiles, Prometheus text, and many threads
 * recording while another reads (run it under TSan too). */
#include "test.h"
#include "rt/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

TEST(buckets_are_contiguous_and_within_an_eighth)
{
    /* every bucket starts right after the previous one ends */
    for (unsigned i = 1; i < RT_HIST_BUCKETS; i++)
        CHECK_INT(rt_hist_bucket(rt_hist_bucket_upper(i - 1) + 1), i);
    /* a value lands in a bucket whose bounds hold it, and that bucket is at most 1/8 wide */
    const uint64_t probes[] = {0,
                               1,
                               7,
                               8,
                               9,
                               15,
                               16,
                               17,
                               100,
                               999,
                               1000,
                               1024,
                               123456,
                               1000000,
                               999999999,
                               1ull << 39,
                               (1ull << 41) - 1};
    for (size_t k = 0; k < sizeof probes / sizeof *probes; k++) {
        uint64_t v = probes[k];
        unsigned b = rt_hist_bucket(v);
        uint64_t hi = rt_hist_bucket_upper(b), lo = b ? rt_hist_bucket_upper(b - 1) + 1 : 0;
        CHECK(lo <= v && v <= hi);
        CHECK(hi - lo <= v / 8 + 1);
    }
    /* beyond the range: the last bucket */
    CHECK_INT(rt_hist_bucket(UINT64_MAX), RT_HIST_BUCKETS - 1);
    CHECK_INT(rt_hist_bucket(1ull << 45), RT_HIST_BUCKETS - 1);
}

TEST(counters_and_gauges_sum_over_shards)
{
    rt_metrics *m = rt_metrics_new(4);
    int c = rt_metrics_counter(m, "x_total", NULL, "X.");
    int g = rt_metrics_gauge(m, "open", NULL, "Open.");
    for (unsigned s = 0; s < 9; s++) rt_metrics_add(m, s, c, 2); /* shard 8 wraps to 0 */
    rt_metrics_add(m, 1, g, 5);
    rt_metrics_add(m, 3, g, -2);
    CHECK_INT(rt_metrics_get(m, c), 18);
    CHECK_INT(rt_metrics_get(m, g), 3);
    rt_metrics_free(m);
}

TEST(histogram_counts_sums_and_quantiles)
{
    rt_metrics *m = rt_metrics_new(2);
    int h = rt_metrics_histogram(m, "lat_seconds", NULL, "Latency.");
    for (unsigned i = 1; i <= 100; i++) rt_metrics_observe(m, i, h, i * 1000000ull); /* i ms */
    rt_hist_snapshot s;
    rt_metrics_hist_get(m, h, &s);
    CHECK_INT(s.count, 100);
    CHECK_INT(s.sum_ns, 5050ull * 1000000ull);
    uint64_t p50 = rt_hist_quantile(&s, 0.5), p99 = rt_hist_quantile(&s, 0.99);
    CHECK(p50 >= 50000000ull && p50 <= 50000000ull + 50000000ull / 8);
    CHECK(p99 >= 99000000ull && p99 <= 99000000ull + 99000000ull / 8);
    rt_hist_snapshot empty = {0};
    CHECK_INT(rt_hist_quantile(&empty, 0.5), 0);
    rt_metrics_free(m);
}

static uint64_t answer(void *ud, unsigned key)
{
    return *(uint64_t *)ud + key;
}

TEST(prometheus_text)
{
    rt_metrics *m = rt_metrics_new(2);
    int a = rt_metrics_counter(m, "req_total", "method=\"ping\"", "Requests.");
    rt_metrics_gauge(m, "depth", NULL, "Queue depth.");
    int b = rt_metrics_counter(m, "req_total", "method=\"tools/call\"", "ignored");
    int h = rt_metrics_histogram(m, "dur_seconds", NULL, "Durations.");
    uint64_t base = 40;
    rt_metrics_func(m, "fn_value", NULL, "From a function.", false, answer, &base, 2);
    rt_metrics_add(m, 0, a, 3);
    rt_metrics_add(m, 1, b, 4);
    rt_metrics_observe(m, 0, h, 50000);      /* 50 us: under every bound */
    rt_metrics_observe(m, 1, h, 2000000);    /* 2 ms: from le=0.0025 on */
    rt_metrics_observe(m, 1, h, 9000000000); /* 9 s: only +Inf */
    mcp_buf out;
    mcp_buf_init(&out, NULL, 0, 0);
    rt_metrics_render(m, &out);
    mcp_buf_putc(&out, '\0');
    const char *t = out.data;
    CHECK(strstr(t, "# HELP req_total Requests.\n# TYPE req_total counter\n"
                    "req_total{method=\"ping\"} 3\nreq_total{method=\"tools/call\"} 4\n"));
    CHECK(strstr(t, "# TYPE depth gauge\ndepth 0\n"));
    CHECK(strstr(t, "# TYPE fn_value gauge\nfn_value 42\n"));
    CHECK(strstr(t, "# TYPE dur_seconds histogram\n"));
    CHECK(strstr(t, "dur_seconds_bucket{le=\"0.0001\"} 1\n"));
    CHECK(strstr(t, "dur_seconds_bucket{le=\"0.001\"} 1\n"));
    CHECK(strstr(t, "dur_seconds_bucket{le=\"0.0025\"} 2\n"));
    CHECK(strstr(t, "dur_seconds_bucket{le=\"5\"} 2\n"));
    CHECK(strstr(t, "dur_seconds_bucket{le=\"+Inf\"} 3\n"));
    CHECK(strstr(t, "dur_seconds_count 3\n"));
    CHECK(strstr(t, "dur_seconds_sum 9.002050000\n"));
    /* one family header only */
    CHECK(strstr(strstr(t, "# HELP req_total") + 1, "# HELP req_total") == NULL);
    mcp_buf_free(&out);
    rt_metrics_free(m);
}

/* --- many recorders, one reader ----------------------------------------------------------------
 */

typedef struct rec_arg {
    rt_metrics *m;
    unsigned shard;
    int c, h;
} rec_arg;

#define PER_THREAD 20000

static void *recorder(void *p)
{
    rec_arg *a = p;
    for (unsigned i = 0; i < PER_THREAD; i++) {
        rt_metrics_add(a->m, a->shard, a->c, 1);
        rt_metrics_observe(a->m, a->shard, a->h, i);
    }
    return NULL;
}

static atomic_bool stop_reading;

static void *reader(void *p)
{
    rt_metrics *m = p;
    mcp_buf out;
    mcp_buf_init(&out, NULL, 0, 0);
    while (!atomic_load(&stop_reading)) {
        out.len = 0;
        rt_metrics_render(m, &out);
    }
    mcp_buf_free(&out);
    return NULL;
}

TEST(concurrent_recorders_lose_nothing)
{
    enum { N = 4 };
    rt_metrics *m = rt_metrics_new(N);
    int c = rt_metrics_counter(m, "n_total", NULL, "N.");
    int h = rt_metrics_histogram(m, "v_seconds", NULL, "V.");
    pthread_t t[N + 1];
    rec_arg args[N];
    atomic_store(&stop_reading, false);
    pthread_create(&t[N], NULL, reader, m);
    for (unsigned i = 0; i < N; i++) {
        args[i] = (rec_arg){m, i % 3, c, h}; /* two threads share shard 0: still exact */
        pthread_create(&t[i], NULL, recorder, &args[i]);
    }
    for (unsigned i = 0; i < N; i++) pthread_join(t[i], NULL);
    atomic_store(&stop_reading, true);
    pthread_join(t[N], NULL);
    CHECK_INT(rt_metrics_get(m, c), N * PER_THREAD);
    rt_hist_snapshot s;
    rt_metrics_hist_get(m, h, &s);
    CHECK_INT(s.count, N * PER_THREAD);
    CHECK_INT(s.sum_ns, (uint64_t)N * PER_THREAD * (PER_THREAD - 1) / 2);
    rt_metrics_free(m);
}

static int big_rc[3];

/* 10000 tools' series, one written twice, then writes up to the cap and one past it. */
static void collect_big(void *ud, rt_metrics_writer *w)
{
    (void)ud;
    char labels[40];
    for (int i = 0; i < 10000; i++) {
        snprintf(labels, sizeof labels, "tool=\"t%d\"", i);
        rt_metrics_write(w, "big_state", labels, false, "Big.", i);
    }
    big_rc[0] = rt_metrics_write(w, "big_state", "tool=\"t5000\"", false, "Big.", 1);
    big_rc[1] = 0;
    for (int i = 10000; i < RT_METRICS_MAX_COLLECTED && !big_rc[1]; i++) {
        snprintf(labels, sizeof labels, "tool=\"t%d\"", i);
        big_rc[1] = rt_metrics_write(w, "big_state", labels, false, "Big.", i);
    }
    big_rc[2] = rt_metrics_write(w, "big_more", NULL, false, "More.", 1);
}

TEST(collected_series_scale_and_cap)
{
    rt_metrics *m = rt_metrics_new(1);
    CHECK_INT(rt_metrics_collector(m, collect_big, NULL), 0);
    mcp_buf out;
    mcp_buf_init(&out, NULL, 0, 0);
    rt_metrics_render(m, &out);
    mcp_buf_putc(&out, '\0');
    CHECK_INT(big_rc[0], -EINVAL);
    CHECK_INT(big_rc[1], 0);
    CHECK_INT(big_rc[2], -ENOSPC);
    size_t lines = 0;
    for (const char *p = (const char *)out.data; *p; p++) lines += *p == '\n';
    CHECK_INT(lines, RT_METRICS_MAX_COLLECTED + 2); /* one family: HELP, TYPE, the samples */
    CHECK(strstr((const char *)out.data, "big_state{tool=\"t5000\"} 5000\n") != NULL);
    mcp_buf_free(&out);
    rt_metrics_free(m);
}

int main(void)
{
    RUN(buckets_are_contiguous_and_within_an_eighth);
    RUN(counters_and_gauges_sum_over_shards);
    RUN(histogram_counts_sums_and_quantiles);
    RUN(prometheus_text);
    RUN(concurrent_recorders_lose_nothing);
    RUN(collected_series_scale_and_cap);
    return test_summary();
}
