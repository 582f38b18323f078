/* series.c - mcpd's own metrics: event counters, breaker transitions, reloads, and the
 * collector that publishes them with the tools' and upstreams' series.
 *
 * mcpd publishes through libmcp's public metrics API alone (include/mcp/metrics.h): one
 * collector (mcp_metrics_collector) writes every series at scrape time. Counters are process
 * globals, one relaxed atomic each, so counting costs a call's path nothing worth measuring and
 * works without a server (--check-config, unit tests). Per-tool series come from the served
 * generation (mcpd_gen_collect: its tools' guards), per-upstream ones from the kinds' collect
 * callbacks: both follow a reload (registry.c's collector calls all three). Names and labels:
 * docs/metrics.md. */
#include "mcpd/series.h"
#include "mcpd/breaker.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t counters[MCPD_COUNTER_COUNT];
static _Atomic uint64_t transitions[3][3]; /* [from][to], mcpd_breaker_state order */
static _Atomic int64_t last_reload_ms;     /* wall clock; 0: none yet */
static atomic_bool last_reload_failed;

void mcpd_count(mcpd_counter c, int64_t delta)
{
    atomic_fetch_add_explicit(&counters[c], delta, memory_order_relaxed);
}

int64_t mcpd_counted(mcpd_counter c)
{
    return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

void mcpd_count_transition(int from, int to)
{
    if (from >= 0 && from < 3 && to >= 0 && to < 3 && from != to)
        atomic_fetch_add_explicit(&transitions[from][to], 1, memory_order_relaxed);
}

void mcpd_count_reload(bool ok)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    mcpd_count(ok ? MCPD_RELOADS_SUCCESS : MCPD_RELOADS_FAILURE, 1);
    atomic_store(&last_reload_failed, !ok);
    atomic_store(&last_reload_ms, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void mcpd_series_write(mcp_metrics_writer *w, const char *name, const char *key, const char *value,
                       mcp_metric_type type, const char *help, double v)
{
    char labels[512];
    size_t n = (size_t)snprintf(labels, sizeof labels, "%s=\"", key);
    for (const char *p = value; *p && n + 3 < sizeof labels; p++) {
        /* label values are names from the config: keep them one line, without quotes */
        unsigned char c = (unsigned char)*p;
        labels[n++] = c == '"' || c == '\\' || c < 0x20 ? '_' : (char)c;
    }
    labels[n++] = '"';
    labels[n] = '\0';
    mcp_metrics_write(w, name, labels, type, help, v);
}

void mcpd_series_guard(mcp_metrics_writer *w, const char *prefix, const char *key, const char *name,
                       const mcpd_breaker_stats *st, uint64_t limit_refused, uint64_t limit_waits)
{
    char fam[64], help[160];
    snprintf(fam, sizeof fam, "%sconcurrency_refused_total", prefix);
    snprintf(help, sizeof help, "Calls refused at the %s's concurrency limit (no slot in time).",
             key);
    mcpd_series_write(w, fam, key, name, MCP_METRIC_COUNTER, help, (double)limit_refused);
    snprintf(fam, sizeof fam, "%sconcurrency_waits_total", prefix);
    snprintf(help, sizeof help, "Calls that waited for a slot under the %s's concurrency limit.",
             key);
    mcpd_series_write(w, fam, key, name, MCP_METRIC_COUNTER, help, (double)limit_waits);
    if (!st) return;
    static const double gauge[] = {
        [MCPD_BREAKER_CLOSED] = 0, [MCPD_BREAKER_HALF_OPEN] = 1, [MCPD_BREAKER_OPEN] = 2};
    snprintf(fam, sizeof fam, "%sbreaker_state", prefix);
    snprintf(help, sizeof help, "The %s's circuit breaker: 0 closed, 1 half-open, 2 open.", key);
    mcpd_series_write(w, fam, key, name, MCP_METRIC_GAUGE, help, gauge[st->state]);
    snprintf(fam, sizeof fam, "%sbreaker_refused_total", prefix);
    snprintf(help, sizeof help, "Calls refused at once by the %s's open circuit breaker.", key);
    mcpd_series_write(w, fam, key, name, MCP_METRIC_COUNTER, help, (double)st->refused);
}

static void write_plain(mcp_metrics_writer *w, const char *name, const char *labels,
                        mcp_metric_type type, const char *help, mcpd_counter c)
{
    mcp_metrics_write(w, name, labels, type, help, (double)mcpd_counted(c));
}

static const struct plain {
    const char *name;
    bool gauge;
    mcpd_counter c;
    const char *help;
} children[] = {
    {"mcpd_children_running", true, MCPD_CHILDREN_RUNNING,
     "Child processes of tool calls running now."},
    {"mcpd_children_spawned_total", false, MCPD_CHILDREN_SPAWNED,
     "Child processes started for tool calls."},
    {"mcpd_children_killed_total", false, MCPD_CHILDREN_KILLED,
     "Child processes mcpd stopped (cancelled, timed out, output over its cap)."},
    {"mcpd_children_timed_out_total", false, MCPD_CHILDREN_TIMED_OUT,
     "Calls of process-spawning tools stopped at their timeout."},
};

static void collect_children(mcp_metrics_writer *w)
{
    for (size_t i = 0; i < sizeof children / sizeof *children; i++)
        write_plain(w, children[i].name, NULL,
                    children[i].gauge ? MCP_METRIC_GAUGE : MCP_METRIC_COUNTER, children[i].help,
                    children[i].c);
}

static void collect_reloads(mcp_metrics_writer *w)
{
    const char *help = "Config reloads (SIGHUP), by outcome.";
    write_plain(w, "mcpd_reloads_total", "outcome=\"success\"", MCP_METRIC_COUNTER, help,
                MCPD_RELOADS_SUCCESS);
    write_plain(w, "mcpd_reloads_total", "outcome=\"failure\"", MCP_METRIC_COUNTER, help,
                MCPD_RELOADS_FAILURE);
    mcp_metrics_write(w, "mcpd_last_reload_timestamp_seconds", NULL, MCP_METRIC_GAUGE,
                      "Wall-clock time of the last reload, successful or not (0: none yet).",
                      (double)atomic_load(&last_reload_ms) / 1000.0);
    mcp_metrics_write(w, "mcpd_last_reload_success", NULL, MCP_METRIC_GAUGE,
                      "1 if the last reload succeeded (or none was tried), 0 if it failed.",
                      atomic_load(&last_reload_failed) ? 0 : 1);
}

static void collect_transitions(mcp_metrics_writer *w)
{
    static const char *const names[3] = {"closed", "open", "half_open"};
    for (int f = 0; f < 3; f++) {
        for (int t = 0; t < 3; t++) {
            if (f == t) continue;
            char labels[64];
            snprintf(labels, sizeof labels, "from=\"%s\",to=\"%s\"", names[f], names[t]);
            mcp_metrics_write(
                w, "mcpd_breaker_transitions_total", labels, MCP_METRIC_COUNTER,
                "Circuit breaker state changes (tools' and upstreams').",
                (double)atomic_load_explicit(&transitions[f][t], memory_order_relaxed));
        }
    }
}

void mcpd_series_collect(mcp_metrics_writer *w)
{
    collect_children(w);
    collect_reloads(w);
    collect_transitions(w);
    const char *help = "Health probes of tools and upstreams, by verdict.";
    write_plain(w, "mcpd_health_checks_total", "outcome=\"ok\"", MCP_METRIC_COUNTER, help,
                MCPD_HEALTH_CHECKS_OK);
    write_plain(w, "mcpd_health_checks_total", "outcome=\"failed\"", MCP_METRIC_COUNTER, help,
                MCPD_HEALTH_CHECKS_FAILED);
}
