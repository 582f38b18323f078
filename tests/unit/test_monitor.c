/* test_monitor.c - the performance monitor on injected time: raise only after the minimum
 * duration, hysteresis between the thresholds, clear after the minimum duration, windows that
 * forget old samples, ratios with a minimum count, the alert series, rule validation. */
#include "test.h"
#include "base/buf.h"
#include "rt/monitor.h"

#include <errno.h>
#include <unistd.h>

static double fake_value;

static double read_fake(void *ud)
{
    (void)ud;
    return fake_value;
}

static bool rendered_contains(rt_metrics *m, const char *needle)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    rt_metrics_render(m, &b);
    mcp_buf_putc(&b, '\0');
    bool found = strstr((const char *)b.data, needle) != NULL;
    mcp_buf_free(&b);
    return found;
}

TEST(raises_after_min_duration_clears_with_hysteresis)
{
    rt_metrics *m = rt_metrics_new(1);
    rt_monitor *mon = rt_monitor_new(m, 1000);
    rt_mon_rule r = {.name = "inflight_high",
                     .signal = RT_MON_FUNC,
                     .fn = read_fake,
                     .raise = 100,
                     .clear = 50,
                     .for_ms = 3000};
    char err[128];
    CHECK_INT(rt_monitor_add(mon, &r, err, sizeof err), 0);
    uint64_t t = 5000;
    fake_value = 10;
    CHECK_INT(rt_monitor_tick(mon, t), 0);
    CHECK(rt_monitor_ready(mon));
    /* a blip above raise shorter than for_ms: nothing */
    fake_value = 200;
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    fake_value = 90;
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    CHECK(rt_monitor_ready(mon));
    /* above for 3 s: raises at the tick that completes the duration */
    fake_value = 150;
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0); /* pending starts */
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    CHECK(rt_monitor_ready(mon));
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 1);
    CHECK(!rt_monitor_ready(mon));
    CHECK(rendered_contains(m, "mcpd_alerts 1\n"));
    CHECK(rendered_contains(m, "mcpd_alert_active{rule=\"inflight_high\"} 1\n"));
    rt_mon_alert a[2];
    CHECK_INT(rt_monitor_alerts(mon, a, 2), 1);
    CHECK_STR(a[0].rule, "inflight_high");
    CHECK(a[0].value == 150 && a[0].raise == 100 && a[0].clear == 50 && a[0].since_unix_ms > 0);
    /* between clear and raise: stays raised however long */
    fake_value = 70;
    for (int i = 0; i < 20; i++) CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    CHECK(!rt_monitor_ready(mon));
    /* below clear, interrupted: still raised */
    fake_value = 40;
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    fake_value = 60;
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    fake_value = 40;
    for (int i = 0; i < 3; i++) CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 1);
    CHECK(rt_monitor_ready(mon));
    CHECK_INT(rt_monitor_alerts(mon, a, 2), 0);
    CHECK(rendered_contains(m, "mcpd_alerts 0\n"));
    CHECK(rendered_contains(m, "mcpd_alert_active{rule=\"inflight_high\"} 0\n"));
    rt_monitor_free(mon);
    rt_metrics_free(m);
}

TEST(ticks_closer_than_tick_ms_do_nothing)
{
    rt_monitor *mon = rt_monitor_new(NULL, 1000);
    rt_mon_rule r = {.name = "x", .signal = RT_MON_FUNC, .fn = read_fake, .raise = 1, .clear = 0};
    CHECK_INT(rt_monitor_add(mon, &r, NULL, 0), 0);
    fake_value = 5;
    CHECK_INT(rt_monitor_tick(mon, 100), 1); /* for_ms 0: the first evaluation raises */
    fake_value = 0;
    CHECK_INT(rt_monitor_tick(mon, 600), 0); /* too soon: not evaluated */
    CHECK(!rt_monitor_ready(mon));
    CHECK_INT(rt_monitor_tick(mon, 1100), 1);
    CHECK(rt_monitor_ready(mon));
    rt_monitor_free(mon);
}

TEST(p99_over_a_sliding_window_forgets_old_samples)
{
    rt_metrics *m = rt_metrics_new(2);
    int lat = rt_metrics_histogram(m, "lat_seconds", NULL, "latency");
    rt_monitor *mon = rt_monitor_new(m, 1000);
    rt_mon_rule r = {.name = "p99_latency",
                     .signal = RT_MON_QUANTILE,
                     .id = lat,
                     .q = 0.99,
                     .raise = 0.5,
                     .clear = 0.2,
                     .window_ms = 10000,
                     .min_count = 10};
    CHECK_INT(rt_monitor_add(mon, &r, NULL, 0), 0);
    uint64_t t = 0;
    CHECK_INT(rt_monitor_tick(mon, t), 0);
    /* 5 slow samples: below min_count, no alert */
    for (int i = 0; i < 5; i++) rt_metrics_observe(m, 0, lat, 2000000000u);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    /* 100 slow samples in the window: p99 is about 2 s */
    for (int i = 0; i < 100; i++) rt_metrics_observe(m, (unsigned)i, lat, 2000000000u);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 1);
    CHECK(!rt_monitor_ready(mon));
    rt_mon_alert a;
    CHECK_INT(rt_monitor_alerts(mon, &a, 1), 1);
    CHECK(a.value >= 2.0 && a.value <= 2.3);
    /* then only fast samples; once the slow ones leave the 10 s window, it clears */
    int ticks = 0, changed = 0;
    while (!changed && ticks < 30) {
        for (int i = 0; i < 100; i++) rt_metrics_observe(m, 1, lat, 1000000u);
        changed = rt_monitor_tick(mon, t += 1000);
        ticks++;
    }
    CHECK_INT(changed, 1);
    CHECK(ticks >= 8 && ticks <= 10); /* the window is 10 ticks; 99 fast of 100 sooner */
    CHECK(rt_monitor_ready(mon));
    rt_monitor_free(mon);
    rt_metrics_free(m);
}

TEST(error_rate_ratio_with_min_count)
{
    rt_metrics *m = rt_metrics_new(1);
    int errs = rt_metrics_counter(m, "errs_total", NULL, "e");
    int reqs = rt_metrics_counter(m, "reqs_total", NULL, "r");
    rt_monitor *mon = rt_monitor_new(m, 1000);
    rt_mon_rule r = {.name = "error_rate",
                     .signal = RT_MON_RATIO,
                     .id = errs,
                     .id2 = reqs,
                     .raise = 0.1,
                     .clear = 0.05,
                     .window_ms = 5000,
                     .for_ms = 1000,
                     .min_count = 20};
    CHECK_INT(rt_monitor_add(mon, &r, NULL, 0), 0);
    uint64_t t = 0;
    rt_monitor_tick(mon, t);
    /* 1 error in 2 requests: under min_count */
    rt_metrics_add(m, 0, errs, 1);
    rt_metrics_add(m, 0, reqs, 2);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    /* 30% errors over 100 requests, sustained */
    rt_metrics_add(m, 0, errs, 30);
    rt_metrics_add(m, 0, reqs, 100);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 0);
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 1);
    rt_mon_alert a;
    CHECK_INT(rt_monitor_alerts(mon, &a, 1), 1);
    CHECK(a.value > 0.25 && a.value < 0.35);
    /* healthy traffic: errors leave the window, it clears */
    int changed = 0;
    for (int i = 0; i < 10 && !changed; i++) {
        rt_metrics_add(m, 0, reqs, 100);
        changed = rt_monitor_tick(mon, t += 1000);
    }
    CHECK_INT(changed, 1);
    CHECK(rt_monitor_ready(mon));
    rt_monitor_free(mon);
    rt_metrics_free(m);
}

TEST(bad_rules_are_refused_with_a_reason)
{
    rt_metrics *m = rt_metrics_new(1);
    rt_monitor *mon = rt_monitor_new(m, 1000);
    char err[160];
    rt_mon_rule r = {.name = "Bad-Name", .signal = RT_MON_FDS, .raise = 1, .clear = 0};
    CHECK_INT(rt_monitor_add(mon, &r, err, sizeof err), -EINVAL);
    CHECK_CONTAINS(err, "[a-z0-9_]");
    r.name = "fds";
    r.clear = 2;
    CHECK_INT(rt_monitor_add(mon, &r, err, sizeof err), -EINVAL);
    CHECK_CONTAINS(err, "clear threshold is above");
    r.clear = 0;
    CHECK_INT(rt_monitor_add(mon, &r, err, sizeof err), 0);
    CHECK_INT(rt_monitor_add(mon, &r, err, sizeof err), -EINVAL);
    CHECK_CONTAINS(err, "exists");
    rt_mon_rule q = {.name = "q", .signal = RT_MON_QUANTILE, .id = -1, .raise = 1};
    CHECK_INT(rt_monitor_add(mon, &q, err, sizeof err), -EINVAL);
    CHECK_CONTAINS(err, "needs a metric");
    rt_mon_rule f = {.name = "f", .signal = RT_MON_FUNC, .raise = 1};
    CHECK_INT(rt_monitor_add(mon, &f, err, sizeof err), -EINVAL);
    CHECK_CONTAINS(err, "without a function");
    rt_mon_rule w = {.name = "w", .signal = RT_MON_FDS, .raise = 1, .window_ms = 4000000};
    CHECK_INT(rt_monitor_add(mon, &w, err, sizeof err), -EINVAL);
    CHECK_CONTAINS(err, "3600 ticks");
    rt_monitor_free(mon);
    rt_metrics_free(m);
}

TEST(process_probes_read_proc)
{
    CHECK(rt_proc_rss_bytes() > 1024 * 1024 / 2);
    CHECK(rt_proc_open_fds() >= 3);
    uint64_t before = rt_proc_open_fds();
    int p[5][2];
    for (int i = 0; i < 5; i++) CHECK_INT(pipe(p[i]), 0);
    CHECK_INT(rt_proc_open_fds(), before + 10);
    for (int i = 0; i < 5; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
    CHECK_INT(rt_proc_open_fds(), before);
}

static double fake_b;

static double read_fake_b(void *ud)
{
    (void)ud;
    return fake_b;
}

/* A reload's new rule set: an unchanged rule keeps its raised alert, a removed rule's alert
 * clears (ready again when it was the only one), a changed rule starts afresh, a new rule
 * gets its series, and a bad set changes nothing. */
TEST(replace_keeps_unchanged_rules_and_clears_removed_ones)
{
    rt_metrics *m = rt_metrics_new(1);
    rt_monitor *mon = rt_monitor_new(m, 1000);
    rt_mon_rule keep = {
        .name = "keep", .signal = RT_MON_FUNC, .fn = read_fake, .raise = 10, .clear = 5};
    rt_mon_rule gone = {
        .name = "gone", .signal = RT_MON_FUNC, .fn = read_fake_b, .raise = 10, .clear = 5};
    char err[128];
    CHECK_INT(rt_monitor_replace(mon, (rt_mon_rule[]){keep, gone}, 2, err, sizeof err), 0);
    uint64_t t = 1000;
    fake_value = fake_b = 20;
    CHECK_INT(rt_monitor_tick(mon, t), 2);
    CHECK_INT(rt_monitor_alerts(mon, NULL, 0), 2);
    /* "gone" removed, "keep" unchanged, "fresh" new */
    rt_mon_rule fresh = {
        .name = "fresh", .signal = RT_MON_FUNC, .fn = read_fake_b, .raise = 100, .clear = 50};
    CHECK_INT(rt_monitor_replace(mon, (rt_mon_rule[]){fresh, keep}, 2, err, sizeof err), 0);
    rt_mon_alert a[4];
    CHECK_INT(rt_monitor_alerts(mon, a, 4), 1);
    CHECK_STR(a[0].rule, "keep");
    CHECK(!rt_monitor_ready(mon));
    CHECK(rendered_contains(m, "mcpd_alerts 1\n"));
    CHECK(rendered_contains(m, "mcpd_alert_active{rule=\"keep\"} 1\n"));
    CHECK(rendered_contains(m, "mcpd_alert_active{rule=\"fresh\"} 0\n"));
    CHECK(!rendered_contains(m, "rule=\"gone\""));
    /* a changed threshold: the rule starts afresh (inactive), evaluated from the next tick */
    keep.clear = 1;
    CHECK_INT(rt_monitor_replace(mon, &keep, 1, err, sizeof err), 0);
    CHECK(rt_monitor_ready(mon));
    CHECK_INT(rt_monitor_tick(mon, t += 1000), 1);
    CHECK(!rt_monitor_ready(mon));
    /* a bad set (duplicate names) changes nothing */
    CHECK_INT(rt_monitor_replace(mon, (rt_mon_rule[]){fresh, fresh}, 2, err, sizeof err), -EINVAL);
    CHECK_CONTAINS(err, "a rule of that name exists");
    CHECK_INT(rt_monitor_alerts(mon, a, 4), 1);
    /* no rules: every alert clears */
    CHECK_INT(rt_monitor_replace(mon, NULL, 0, err, sizeof err), 0);
    CHECK(rt_monitor_ready(mon));
    CHECK(!rendered_contains(m, "mcpd_alert_active"));
    rt_monitor_free(mon);
    rt_metrics_free(m);
}

int main(void)
{
    RUN(raises_after_min_duration_clears_with_hysteresis);
    RUN(ticks_closer_than_tick_ms_do_nothing);
    RUN(p99_over_a_sliding_window_forgets_old_samples);
    RUN(error_rate_ratio_with_min_count);
    RUN(bad_rules_are_refused_with_a_reason);
    RUN(process_probes_read_proc);
    RUN(replace_keeps_unchanged_rules_and_clears_removed_ones);
    return test_summary();
}
