/* http_monitor.c - the HTTP transport's performance monitor and fair-degradation wiring.
 *
 * Builds the rt_monitor (src/rt/monitor.h) over the transport's metrics from the alert rules
 * in mcp_http_options (or the defaults below), evaluates it from worker 0's tick (about once a
 * second; never per request), and answers mcp_http_ready and mcp_http_alerts for /ready and the
 * status page. It also records how long each handler call waited for a pool thread (the
 * queue_wait signal and the mcpd_queue_wait_seconds histogram) and names the client a handler
 * call belongs to, so the pool can queue and shed per client. Decisions: docs/overload.md. */
#include "transport/http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "rt/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Fewer samples than this in a window read as 0: one slow call is not an incident. */
#define MIN_SAMPLES 20u

_Thread_local uint64_t tl_client;

/* Pool hook (worker threads): the wait of a handler call that starts now. Pool threads are
 * not loop threads, so they spread over the shards by a per-thread number. */
static void on_wait(void *ud, uint64_t wait_ns)
{
    static _Atomic unsigned next_shard;
    static _Thread_local unsigned shard_plus1;
    mcp_http *h = ud;
    if (!shard_plus1) shard_plus1 = atomic_fetch_add(&next_shard, 1) + 1;
    rt_metrics_observe(h->metrics, shard_plus1 - 1, h->queue_wait_id, wait_ns);
}

void http_pool_config(mcp_http *h, rt_pool_config *pc)
{
    unsigned qmax = (unsigned)h->o.queue_max;
    pc->codel_target_ms = h->o.queue_target_ms ? h->o.queue_target_ms : 100;
    pc->client_queue_max = h->o.client_queue_max ? (unsigned)h->o.client_queue_max
                           : qmax / 4            ? qmax / 4
                                                 : 1;
    pc->on_wait = on_wait;
    pc->wait_ud = h;
}

static double in_flight(void *ud)
{
    rt_pool_stats ps;
    rt_pool_stats_get(((mcp_http *)ud)->pool, &ps);
    return (double)(ps.queued + ps.running);
}

/* The defaults: a queue that stands (p99 wait over 1 s for 10 s) and fds close to the limit.
 * Latency and error rate depend on the tools (slow by design, or erring on bad arguments), so
 * they are rules an operator adds with thresholds that fit. */
static size_t default_rules(mcp_alert_rule *out)
{
    size_t n = 0;
    out[n++] = (mcp_alert_rule){.name = "queue_wait",
                                .signal = "queue_wait",
                                .raise = 1.0,
                                .clear = 0.25,
                                .window_ms = 30000,
                                .for_ms = 10000};
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 100)
        out[n++] = (mcp_alert_rule){.name = "open_fds",
                                    .signal = "fds",
                                    .raise = 0.9 * (double)rl.rlim_cur,
                                    .clear = 0.8 * (double)rl.rlim_cur,
                                    .for_ms = 5000};
    return n;
}

/* Fills r from the public rule a; false when its signal is unknown. */
static bool to_rt_rule(mcp_http *h, const mcp_alert_rule *a, rt_mon_rule *r)
{
    *r = (rt_mon_rule){.name = a->name,
                       .raise = a->raise,
                       .clear = a->clear,
                       .window_ms = a->window_ms,
                       .for_ms = a->for_ms,
                       .min_count = MIN_SAMPLES,
                       .q = 0.99,
                       .id = -1,
                       .id2 = -1};
    const char *s = a->signal ? a->signal : "";
    if (!strcmp(s, "p99_latency")) {
        r->signal = RT_MON_QUANTILE;
        r->id = h->mid.latency;
    } else if (!strcmp(s, "queue_wait")) {
        r->signal = RT_MON_QUANTILE;
        r->id = h->queue_wait_id;
    } else if (!strcmp(s, "error_rate")) {
        r->signal = RT_MON_RATIO;
        r->id = h->mid.errors;
        r->id2 = h->mid.requests;
    } else if (!strcmp(s, "in_flight")) {
        r->signal = RT_MON_FUNC;
        r->fn = in_flight;
        r->ud = h;
    } else if (!strcmp(s, "rss")) {
        r->signal = RT_MON_RSS;
    } else if (!strcmp(s, "fds")) {
        r->signal = RT_MON_FDS;
    } else {
        return false;
    }
    return true;
}

/* Makes rules[0..n) (NULL: the defaults) the monitor's rules. Returns false with err. */
static bool set_rules(mcp_http *h, const mcp_alert_rule *rules, size_t n, char *err, size_t errsize)
{
    mcp_alert_rule dflt[2];
    if (!rules) {
        n = default_rules(dflt);
        rules = dflt;
    }
    rt_mon_rule r[64];
    if (n > 64) {
        snprintf(err, errsize, "too many alert rules: %zu (at most 64)", n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!to_rt_rule(h, &rules[i], &r[i])) {
            snprintf(err, errsize, "alert rule %s: unknown signal \"%s\"",
                     rules[i].name ? rules[i].name : "(null)",
                     rules[i].signal ? rules[i].signal : "(null)");
            return false;
        }
    }
    return rt_monitor_replace(h->mon, r, n, err, errsize) == 0;
}

/* The rules of mcp_server_set_alert_rules, when they changed since h last looked: true with
 * *a filled (the caller frees it). */
static srv_alert_rules *server_rules(mcp_http *h)
{
    if (srv_alert_rules_gen(h->srv) == h->alert_gen) return NULL;
    srv_alert_rules *a = mcp_xmalloc(sizeof *a);
    if (srv_alert_rules_get(h->srv, h->alert_gen, a)) {
        h->alert_gen = a->gen;
        return a;
    }
    free(a);
    return NULL;
}

bool http_monitor_setup(mcp_http *h, char *err, size_t errsize)
{
    h->queue_wait_id = rt_metrics_histogram(h->metrics, "mcpd_queue_wait_seconds", NULL,
                                            "Time handler calls waited for a pool thread.");
    h->mon = rt_monitor_new(h->metrics, 1000);
    srv_alert_rules *a = server_rules(h); /* set on the server already: they win */
    bool ok = a ? set_rules(h, a->defaults ? NULL : a->r, a->n, err, errsize)
                : set_rules(h, h->o.alert_rules, h->o.n_alert_rules, err, errsize);
    free(a);
    h->o.alert_rules = NULL; /* the caller's array is not kept */
    return ok;
}

void http_monitor_tick(mcp_http *h, uint64_t now_ms)
{
    srv_alert_rules *a = server_rules(h);
    if (a) {
        char err[256];
        if (set_rules(h, a->defaults ? NULL : a->r, a->n, err, sizeof err))
            mcp_log(MCP_LOGL_INFO, "http: alert rules replaced: %zu rules%s", a->n,
                    a->defaults ? " (the defaults)" : "");
        else
            mcp_log(MCP_LOGL_ERROR, "http: new alert rules refused, keeping the old: %s", err);
        free(a);
    }
    rt_monitor_tick(h->mon, now_ms);
}

bool http_monitor_ready(mcp_http *h, char *reason, size_t size)
{
    rt_mon_alert a[8];
    size_t n = rt_monitor_alerts(h->mon, a, 8);
    if (!n) return true;
    int len = snprintf(reason, size, "alert raised:");
    for (size_t i = 0; i < n && i < 8 && len > 0 && (size_t)len < size; i++)
        len += snprintf(reason + len, size - (size_t)len, "%s %.63s (%g)", i ? "," : "", a[i].rule,
                        a[i].value);
    return false;
}

bool mcp_http_ready(mcp_http *h)
{
    char reason[8];
    if (atomic_load(&h->draining) || !rt_monitor_ready(h->mon)) return false;
    return !h->o.ready || h->o.ready(h->o.ready_ud, reason, sizeof reason);
}

size_t mcp_http_alerts(mcp_http *h, mcp_alert *out, size_t max)
{
    rt_mon_alert a[16];
    size_t n = rt_monitor_alerts(h->mon, a, 16);
    for (size_t i = 0; i < n && i < max && i < 16; i++) {
        _Static_assert(sizeof out[i].rule == sizeof a[i].rule, "rule names have one size");
        memcpy(out[i].rule, a[i].rule, sizeof out[i].rule);
        out[i].rule[sizeof out[i].rule - 1] = '\0';
        out[i].value = a[i].value;
        out[i].raise = a[i].raise;
        out[i].clear = a[i].clear;
        out[i].since_unix_ms = a[i].since_unix_ms;
    }
    return n;
}
