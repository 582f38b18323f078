/* metrics_api.c - the program's own series (include/mcp/metrics.h) and alert rules on an
 * mcp_server.
 *
 * Series live in an rt_metrics set of one shard made on the first registration: a program's
 * series are updated rarely (a breaker trips, a child starts), so one shard costs nothing and
 * lets a gauge be set, not only moved. The program's collector is a collector of that set
 * (rt_metrics_collector), so its samples render after the registered ones, checked the same
 * way. The HTTP transport renders them after its own.
 *
 * Alert rules set while serving (mcp_server_set_alert_rules) are checked here and kept as a
 * copy with a generation number; each HTTP transport polls the number on its monitor's tick
 * and applies a new set on its own ticking thread (http_monitor.c), so no rule changes under a
 * running evaluation and a transport never has to be reached from a reload thread. */
#include "mcp/metrics.h"

#include "mcp/engine.h"
#include "mcp/registry.h"
#include "rt/metrics.h"
#include "rt/monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rt_metrics *app_set(mcp_server *s)
{
    if (!s->app_metrics) s->app_metrics = rt_metrics_new(1);
    return s->app_metrics;
}

static int reg(mcp_server *s, const char *name, const char *labels, const char *help, bool counter)
{
    if (!s || !rt_metrics_name_ok(name) || !rt_metrics_labels_ok(labels) ||
        (help && strchr(help, '\n')))
        return MCP_EINVAL;
    return counter ? rt_metrics_counter(app_set(s), name, labels, help)
                   : rt_metrics_gauge(app_set(s), name, labels, help);
}

int mcp_metrics_counter(mcp_server *s, const char *name, const char *labels, const char *help)
{
    return reg(s, name, labels, help, true);
}

int mcp_metrics_gauge(mcp_server *s, const char *name, const char *labels, const char *help)
{
    return reg(s, name, labels, help, false);
}

void mcp_metrics_add(mcp_server *s, int id, int64_t delta)
{
    if (s && s->app_metrics && id >= 0) rt_metrics_add(s->app_metrics, 0, id, delta);
}

void mcp_metrics_set(mcp_server *s, int id, int64_t value)
{
    if (s && s->app_metrics && id >= 0) rt_metrics_set(s->app_metrics, id, value);
}

int64_t mcp_metrics_get(mcp_server *s, int id)
{
    return s && s->app_metrics && id >= 0 ? rt_metrics_get(s->app_metrics, id) : 0;
}

void mcp_server_metrics_render(mcp_server *s, mcp_buf *b)
{
    if (s->app_metrics) rt_metrics_render(s->app_metrics, b);
}

/* ---- the collector ------------------------------------------------------------------------- */

/* rt_metrics calls this; it calls the program's collector with the same writer. */
static void app_collect(void *ud, rt_metrics_writer *w)
{
    mcp_server *s = ud;
    if (s->app_collect) s->app_collect(s->app_collect_ud, (mcp_metrics_writer *)w);
}

int mcp_metrics_collector(mcp_server *s, void (*fn)(void *ud, mcp_metrics_writer *w), void *ud)
{
    if (!s) return MCP_EINVAL;
    s->app_collect = fn;
    s->app_collect_ud = ud;
    if (!s->app_collect_on) rt_metrics_collector(app_set(s), app_collect, s); /* once */
    s->app_collect_on = true;
    return 0;
}

int mcp_metrics_write(mcp_metrics_writer *w, const char *name, const char *labels,
                      mcp_metric_type type, const char *help, double value)
{
    if (!w) return MCP_EINVAL;
    int rc = rt_metrics_write((rt_metrics_writer *)w, name, labels, type == MCP_METRIC_COUNTER,
                              help, value);
    return rc == -ENOSPC ? MCP_ERANGE : rc ? MCP_EINVAL : 0;
}

/* ---- alert rules -------------------------------------------------------------------------- */

static const char *const alert_signals[] = {"p99_latency", "queue_wait", "error_rate",
                                            "in_flight",   "rss",        "fds"};

static bool alert_signal_ok(const char *sig)
{
    for (size_t i = 0; sig && i < sizeof alert_signals / sizeof *alert_signals; i++)
        if (!strcmp(sig, alert_signals[i])) return true;
    return false;
}

/* NULL when rules[i] is fine beside rules[0..i), else what is wrong. */
static const char *alert_problem(const mcp_alert_rule *rules, size_t i)
{
    const mcp_alert_rule *r = &rules[i];
    if (!rt_monitor_name_ok(r->name)) return "name must be 1-63 characters of [a-z0-9_]";
    for (size_t k = 0; k < i; k++)
        if (!strcmp(rules[k].name, r->name)) return "a rule of that name comes before";
    if (!alert_signal_ok(r->signal))
        return "unknown signal (p99_latency, queue_wait, error_rate, in_flight, rss, fds)";
    if (!(r->clear <= r->raise)) return "clear threshold is above the raise threshold";
    if (r->window_ms > 3600000u) return "window_ms over 3600000";
    return NULL;
}

int mcp_server_set_alert_rules(mcp_server *s, const mcp_alert_rule *rules, size_t n, char *err,
                               size_t errsize)
{
    if (!s) return MCP_EINVAL;
    if (!rules) n = 0;
    if (n > 64) return srv_seterr(err, errsize, "too many alert rules: %zu (at most 64)", n);
    for (size_t i = 0; i < n; i++) {
        const char *why = alert_problem(rules, i);
        if (why)
            return srv_seterr(err, errsize, "alert rule %zu (%s): %s", i,
                              rules[i].name ? rules[i].name : "no name", why);
    }
    srv_alert_rules *a = calloc(1, sizeof *a);
    if (!a) abort();
    a->defaults = rules == NULL;
    a->n = n;
    for (size_t i = 0; i < n; i++) {
        a->r[i] = rules[i];
        snprintf(a->names[i], sizeof a->names[i], "%s", rules[i].name);
        snprintf(a->signals[i], sizeof a->signals[i], "%s", rules[i].signal);
    }
    pthread_mutex_lock(&s->alert_mu);
    free(s->alert_rules);
    s->alert_rules = a;
    a->gen = atomic_load(&s->alert_gen) + 1;
    atomic_store(&s->alert_gen, a->gen);
    pthread_mutex_unlock(&s->alert_mu);
    return 0;
}

bool srv_alert_rules_get(mcp_server *s, uint64_t seen, srv_alert_rules *out)
{
    if (atomic_load(&s->alert_gen) == seen) return false;
    pthread_mutex_lock(&s->alert_mu);
    bool changed = s->alert_rules && s->alert_rules->gen != seen;
    if (changed) {
        *out = *s->alert_rules;
        for (size_t i = 0; i < out->n; i++) {
            out->r[i].name = out->names[i];
            out->r[i].signal = out->signals[i];
        }
    }
    pthread_mutex_unlock(&s->alert_mu);
    return changed;
}

uint64_t srv_alert_rules_gen(mcp_server *s)
{
    return atomic_load(&s->alert_gen);
}
