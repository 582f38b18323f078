/* monitor.h - the performance monitor: alert rules on sliding windows, with hysteresis.
 *
 * A monitor watches a metrics set (rt/metrics.h) and the process (RSS, open fds). Each rule
 * reads one signal over a sliding window: a histogram quantile (p99 latency, p99 queue wait),
 * the ratio of two counters (error rate), a gauge (in-flight requests), the process's RSS or
 * open fds, or a caller's function. It has a raise threshold and a lower (or equal) clear
 * threshold, and a minimum duration: the value must stay at or above `raise` for `for_ms`
 * before the alert raises, and at or below `clear` for `for_ms` before it clears, so a value
 * hovering at the threshold neither flaps nor raises on one bad sample.
 *
 * Windows are computed from deltas: every tick copies the cumulative histograms and counters
 * into a ring, and the window's value is newest minus the copy window_ms old. Nothing runs per
 * request. Ticks are driven by the caller (rt_monitor_tick with the current monotonic time), so
 * the owner decides which timer runs them and tests inject time.
 *
 * A raised alert is a WARN log line (its cleared counterpart an INFO line), the series
 * mcpd_alerts (how many are active) and mcpd_alert_active{rule="NAME"} (0 or 1, collected at
 * render time) in the metrics set, an entry in rt_monitor_alerts, and rt_monitor_ready returning
 * false.
 *
 * Threads: rules are added before the first tick, from one thread. rt_monitor_tick is called
 * from one thread at a time. rt_monitor_ready, rt_monitor_alerts and the metrics series may be
 * read from any thread at any time (the state is behind a short mutex, never on the request
 * path). */
#ifndef MCP_RT_MONITOR_H
#define MCP_RT_MONITOR_H

#include "rt/metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_monitor rt_monitor;

enum rt_mon_signal {
    RT_MON_QUANTILE, /* quantile `q` of histogram `id` over the window, in seconds */
    RT_MON_RATIO,    /* delta of counter `id` / delta of counter `id2` over the window, 0..1 */
    RT_MON_GAUGE,    /* the current value of counter or gauge `id` */
    RT_MON_RSS,      /* resident set size of this process, bytes */
    RT_MON_FDS,      /* open file descriptors of this process */
    RT_MON_FUNC,     /* fn(ud) */
};

typedef struct rt_mon_rule {
    const char *name;   /* [a-z0-9_], at most 63 chars: the alert's name and its rule label */
    int signal;         /* enum rt_mon_signal */
    int id, id2;        /* metric ids, as the signal needs */
    double q;           /* RT_MON_QUANTILE: 0..1 (0: 0.99) */
    double raise;       /* raise when value >= raise for for_ms */
    double clear;       /* clear when value <= clear for for_ms; must be <= raise */
    uint64_t window_ms; /* sliding window (QUANTILE, RATIO); 0: 60000 */
    uint64_t for_ms;    /* minimum duration on either side; 0: at once (next tick) */
    uint64_t min_count; /* QUANTILE, RATIO: fewer samples (or denominator) in the window: value 0 */
    double (*fn)(void *ud); /* RT_MON_FUNC */
    void *ud;
} rt_mon_rule;

/* One active alert, as rt_monitor_alerts reports it. */
typedef struct rt_mon_alert {
    char rule[64];
    double value;           /* the value at the last tick */
    double raise, clear;    /* the rule's thresholds */
    uint64_t since_unix_ms; /* wall-clock time it was raised */
} rt_mon_alert;

/* Returns a new monitor over m (may be NULL when no rule reads metrics and no series should be
 * registered), evaluating every tick_ms (0: 1000). Registers mcpd_alerts in m. Never NULL.
 * Free with rt_monitor_free after the last tick and read. Any thread. */
rt_monitor *rt_monitor_new(rt_metrics *m, uint64_t tick_ms);

/* Whether s is a usable rule name: 1-63 characters of [a-z0-9_]. */
bool rt_monitor_name_ok(const char *s);

/* Frees mon; NULL is fine. No thread may use it (or read its metrics series) any more. */
void rt_monitor_free(rt_monitor *mon);

/* Adds a rule (copied; the name too) and registers its mcpd_alert_active series. Returns 0, or
 * -EINVAL with err (errsize bytes) saying what is wrong: a bad name, a duplicate name, clear
 * above raise, an unknown signal, a missing function or metric, a window too long (at most
 * 3600 ticks). Before the first tick only, one thread. */
int rt_monitor_add(rt_monitor *mon, const rt_mon_rule *rule, char *err, size_t errsize);

/* Replaces the rules with rules[0..n) (copied), all checked first as rt_monitor_add does:
 * on a mistake nothing changes and -EINVAL returns with err saying what. A rule equal to one
 * already there (same name and every field) keeps its state: a raised alert stays raised, its
 * window keeps its history. Others start inactive; a rule no longer there goes, with its alert
 * (an INFO line if it was raised) and its mcpd_alert_active series. Returns 0. The ticking
 * thread (or any, before the first tick). */
int rt_monitor_replace(rt_monitor *mon, const rt_mon_rule *rules, size_t n, char *err,
                       size_t errsize);

/* Evaluates every rule if tick_ms has passed since the last evaluation (the first call always
 * evaluates); now_ms is the monotonic time (rt_now_ms). Returns the number of alerts that
 * changed state. Logs each change. One thread at a time. */
int rt_monitor_tick(rt_monitor *mon, uint64_t now_ms);

/* Returns true when no alert is active (a load balancer may send traffic). NULL: true. Any
 * thread. */
bool rt_monitor_ready(rt_monitor *mon);

/* Copies up to max active alerts into out (in rule order) and returns how many are active
 * (possibly more than max). Any thread. */
size_t rt_monitor_alerts(rt_monitor *mon, rt_mon_alert *out, size_t max);

/* The process's resident set size in bytes and its open fd count (from /proc/self); 0 when
 * unreadable. Any thread. */
uint64_t rt_proc_rss_bytes(void);
uint64_t rt_proc_open_fds(void);

#endif
