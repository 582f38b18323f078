/* monitor.c - alert rules evaluated on a timer from deltas of cumulative metrics.
 *
 * Each rule keeps a ring of the cumulative values it reads (a whole fine-bucket histogram for
 * a quantile, two counters for a ratio), one entry per evaluation; the window's value is the
 * newest entry minus the one window_ms older (or the oldest kept, while the ring fills). So a
 * p99 over the last minute costs one histogram copy per second, and nothing on the request
 * path: recorders keep adding into their per-thread shards as before.
 *
 * The alert state machine has two states, inactive and active. Inactive: the value at or above
 * `raise` starts a pending period; it raises once the period reaches for_ms, and any value below
 * `raise` cancels the period. Active: the same with `clear` and "at or below". Between clear and
 * raise nothing changes (hysteresis).
 *
 * Rule state lives behind one mutex: rt_monitor_tick takes it to publish, readers (ready,
 * alerts, the metrics series) take it to copy. The ring is touched only by the ticking thread,
 * which is also the one that replaces the rules (a reload): a rule whose definition did not
 * change keeps its state object (ring, pending period, raised alert) in the new set; the
 * others start afresh, and a removed rule's alert clears with it. mcpd_alert_active is
 * collected at render time (rt_metrics_collector), so its series follow the rules. */
#include "rt/monitor.h"
#include "base/alloc.h"
#include "base/log.h"
#include "rt/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_RULES    64
#define MAX_RING     3600u
#define DEFAULT_TICK 1000u
#define DEFAULT_WIN  60000u

typedef struct mrule {
    rt_mon_rule r;
    char name[64];
    /* ticking thread only */
    unsigned ring_len, ring_n, ring_head; /* capacity, entries kept, next slot */
    rt_hist_snapshot *hring;              /* RT_MON_QUANTILE */
    uint64_t (*cring)[2];                 /* RT_MON_RATIO: numerator, denominator */
    bool pending;
    uint64_t pending_since;
    /* guarded by mon->mu */
    bool active;
    double value;
    uint64_t since_unix_ms;
} mrule;

struct rt_monitor {
    rt_metrics *m;
    uint64_t tick_ms, last_eval;
    bool evaluated;
    pthread_mutex_t mu;
    unsigned nrules;
    mrule *rules[MAX_RULES];
    rt_hist_snapshot cur, delta; /* ticking thread: scratch for quantile rules */
};

/* ---- process probes -------------------------------------------------------------------------- */

/* The probes use raw system calls, not stdio or opendir: libuv closes descriptors with a raw
 * close(2) that ThreadSanitizer does not see, so a number it freed and we reuse would be
 * reported as a race on the descriptor; and these run every second, so cheaper is better. */
static int open_ro(const char *path, int flags)
{
    return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC | flags);
}

uint64_t rt_proc_rss_bytes(void)
{
    int fd = open_ro("/proc/self/statm", 0);
    if (fd < 0) return 0;
    char buf[128];
    long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    unsigned long long size = 0, rss = 0;
    long page = sysconf(_SC_PAGESIZE);
    if (sscanf(buf, "%llu %llu", &size, &rss) != 2 || page <= 0) return 0;
    return (uint64_t)rss * (uint64_t)page;
}

uint64_t rt_proc_open_fds(void)
{
    int fd = open_ro("/proc/self/fd", O_DIRECTORY);
    if (fd < 0) return 0;
    union {
        char bytes[8192];
        uint64_t align;
    } buf;
    uint64_t count = 0;
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf.bytes, sizeof buf.bytes)) > 0) {
        for (long off = 0; off < n;) {
            /* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[] */
            const char *d = buf.bytes + off;
            unsigned short reclen;
            memcpy(&reclen, d + 16, sizeof reclen);
            if (d[19] != '.') count++;
            off += reclen ? reclen : n;
        }
    }
    syscall(SYS_close, fd);
    return count ? count - 1 : 0; /* not the directory's own descriptor */
}

/* ---- metrics series -------------------------------------------------------------------------- */

#define KEY_COUNT 0xffffffffu

static uint64_t read_alert(void *ud, unsigned key)
{
    rt_monitor *mon = ud;
    uint64_t n = 0;
    pthread_mutex_lock(&mon->mu);
    if (key == KEY_COUNT) {
        for (unsigned i = 0; i < mon->nrules; i++) n += mon->rules[i]->active;
    } else if (key < mon->nrules) {
        n = mon->rules[key]->active;
    }
    pthread_mutex_unlock(&mon->mu);
    return n;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

/* mcpd_alert_active{rule="NAME"} for each rule now: collected, as reloads change the rules. */
static void collect_alerts(void *ud, rt_metrics_writer *w)
{
    rt_monitor *mon = ud;
    pthread_mutex_lock(&mon->mu);
    for (unsigned i = 0; i < mon->nrules; i++) {
        char labels[80];
        snprintf(labels, sizeof labels, "rule=\"%s\"", mon->rules[i]->name);
        rt_metrics_write(w, "mcpd_alert_active", labels, false,
                         "1 while the alert of that rule is raised.", mon->rules[i]->active);
    }
    pthread_mutex_unlock(&mon->mu);
}

rt_monitor *rt_monitor_new(rt_metrics *m, uint64_t tick_ms)
{
    rt_monitor *mon = mcp_xcalloc(1, sizeof *mon);
    mon->m = m;
    mon->tick_ms = tick_ms ? tick_ms : DEFAULT_TICK;
    pthread_mutex_init(&mon->mu, NULL);
    if (m) {
        rt_metrics_func(m, "mcpd_alerts", NULL, "Alerts active now (any makes /ready answer 503).",
                        false, read_alert, mon, KEY_COUNT);
        rt_metrics_collector(m, collect_alerts, mon);
    }
    return mon;
}

static void mrule_free(mrule *mr)
{
    free(mr->hring);
    free(mr->cring);
    free(mr);
}

void rt_monitor_free(rt_monitor *mon)
{
    if (!mon) return;
    for (unsigned i = 0; i < mon->nrules; i++) mrule_free(mon->rules[i]);
    pthread_mutex_destroy(&mon->mu);
    free(mon);
}

bool rt_monitor_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 63) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Returns NULL when r is usable beside the nothers rules in others, else what is wrong. */
static const char *rule_problem(const rt_monitor *mon, const rt_mon_rule *r,
                                const rt_mon_rule *others, size_t nothers)
{
    if (!rt_monitor_name_ok(r->name)) return "name must be 1-63 characters of [a-z0-9_]";
    for (size_t i = 0; i < nothers; i++)
        if (!strcmp(others[i].name, r->name)) return "a rule of that name exists";
    if (nothers >= MAX_RULES) return "too many rules (at most 64)";
    if (!(r->clear <= r->raise)) return "clear threshold is above the raise threshold";
    if (r->signal < RT_MON_QUANTILE || r->signal > RT_MON_FUNC) return "unknown signal";
    if (r->signal == RT_MON_FUNC && !r->fn) return "function signal without a function";
    bool metric = r->signal <= RT_MON_GAUGE;
    if (metric && (!mon->m || r->id < 0)) return "signal needs a metric";
    if (r->signal == RT_MON_RATIO && r->id2 < 0) return "ratio needs a denominator metric";
    if (r->signal == RT_MON_QUANTILE && (r->q < 0 || r->q > 1)) return "quantile outside 0..1";
    uint64_t win = r->window_ms ? r->window_ms : DEFAULT_WIN;
    if (win / mon->tick_ms > MAX_RING) return "window longer than 3600 ticks";
    return NULL;
}

static int rule_error(const rt_mon_rule *rule, const char *why, char *err, size_t errsize)
{
    if (err && errsize)
        snprintf(err, errsize, "alert rule %s: %s", rule->name ? rule->name : "(null)", why);
    return -EINVAL;
}

/* A new rule's state: r (checked) with its defaults filled in, and an empty ring. */
static mrule *mrule_new(const rt_monitor *mon, const rt_mon_rule *rule)
{
    mrule *mr = mcp_xcalloc(1, sizeof *mr);
    mr->r = *rule;
    snprintf(mr->name, sizeof mr->name, "%s", rule->name);
    mr->r.name = mr->name;
    if (!mr->r.window_ms) mr->r.window_ms = DEFAULT_WIN;
    if (mr->r.signal == RT_MON_QUANTILE && mr->r.q == 0) mr->r.q = 0.99;
    mr->ring_len = (unsigned)(mr->r.window_ms / mon->tick_ms);
    if (!mr->ring_len) mr->ring_len = 1;
    if (mr->r.signal == RT_MON_QUANTILE)
        mr->hring = mcp_xcalloc(mr->ring_len, sizeof *mr->hring);
    else if (mr->r.signal == RT_MON_RATIO)
        mr->cring = mcp_xcalloc(mr->ring_len, sizeof *mr->cring);
    return mr;
}

int rt_monitor_add(rt_monitor *mon, const rt_mon_rule *rule, char *err, size_t errsize)
{
    rt_mon_rule cur[MAX_RULES];
    for (unsigned i = 0; i < mon->nrules; i++) cur[i] = mon->rules[i]->r;
    const char *why = rule_problem(mon, rule, cur, mon->nrules);
    if (why) return rule_error(rule, why, err, errsize);
    mrule *mr = mrule_new(mon, rule);
    pthread_mutex_lock(&mon->mu);
    mon->rules[mon->nrules++] = mr;
    pthread_mutex_unlock(&mon->mu);
    return 0;
}

/* Whether a (kept) and b (new, its defaults filled in) define the same rule. */
static bool same_rule(const rt_mon_rule *a, const rt_mon_rule *b)
{
    return !strcmp(a->name, b->name) && a->signal == b->signal && a->id == b->id &&
           a->id2 == b->id2 && a->q == b->q && a->raise == b->raise && a->clear == b->clear &&
           a->window_ms == b->window_ms && a->for_ms == b->for_ms && a->min_count == b->min_count &&
           a->fn == b->fn && a->ud == b->ud;
}

int rt_monitor_replace(rt_monitor *mon, const rt_mon_rule *rules, size_t n, char *err,
                       size_t errsize)
{
    for (size_t i = 0; i < n; i++) {
        const char *why = rule_problem(mon, &rules[i], rules, i);
        if (why) return rule_error(&rules[i], why, err, errsize);
    }
    mrule *next[MAX_RULES], *gone[MAX_RULES];
    bool kept[MAX_RULES] = {0};
    unsigned ngone = 0;
    for (size_t i = 0; i < n; i++) {
        mrule *fresh = mrule_new(mon, &rules[i]), *old = NULL;
        for (unsigned k = 0; k < mon->nrules && !old; k++)
            if (!kept[k] && same_rule(&mon->rules[k]->r, &fresh->r))
                old = mon->rules[k], kept[k] = true;
        if (old) mrule_free(fresh);
        next[i] = old ? old : fresh;
    }
    pthread_mutex_lock(&mon->mu);
    for (unsigned k = 0; k < mon->nrules; k++)
        if (!kept[k]) gone[ngone++] = mon->rules[k];
    memcpy(mon->rules, next, n * sizeof *next);
    mon->nrules = (unsigned)n;
    pthread_mutex_unlock(&mon->mu);
    for (unsigned k = 0; k < ngone; k++) {
        if (gone[k]->active)
            mcp_log(MCP_LOGL_INFO, "alert cleared: rule=%s (the rule was removed or changed)",
                    gone[k]->name);
        mrule_free(gone[k]);
    }
    return 0;
}

/* ---- evaluation ------------------------------------------------------------------------------ */

/* The slot written ring_n ticks ago: window_ms ago once the ring is full (ring_len ticks of
 * tick_ms), the oldest kept before. */
static unsigned oldest_slot(const mrule *mr)
{
    return (mr->ring_head + mr->ring_len - mr->ring_n) % mr->ring_len;
}

static void ring_advance(mrule *mr)
{
    mr->ring_head = (mr->ring_head + 1) % mr->ring_len;
    if (mr->ring_n < mr->ring_len) mr->ring_n++;
}

static double eval_quantile(rt_monitor *mon, mrule *mr)
{
    rt_hist_snapshot *cur = &mon->cur, *d = &mon->delta;
    rt_metrics_hist_get(mon->m, mr->r.id, cur);
    double v = 0;
    if (mr->ring_n) {
        const rt_hist_snapshot *old = &mr->hring[oldest_slot(mr)];
        d->count = cur->count - old->count;
        for (unsigned i = 0; i < RT_HIST_BUCKETS; i++)
            d->buckets[i] = cur->buckets[i] - old->buckets[i];
        if (d->count && d->count >= mr->r.min_count) v = (double)rt_hist_quantile(d, mr->r.q) / 1e9;
    }
    mr->hring[mr->ring_head] = *cur;
    ring_advance(mr);
    return v;
}

static double eval_ratio(rt_monitor *mon, mrule *mr)
{
    uint64_t num = (uint64_t)rt_metrics_get(mon->m, mr->r.id);
    uint64_t den = (uint64_t)rt_metrics_get(mon->m, mr->r.id2);
    double v = 0;
    if (mr->ring_n) {
        const uint64_t *old = mr->cring[oldest_slot(mr)];
        uint64_t dn = num - old[0], dd = den - old[1];
        if (dd && dd >= mr->r.min_count) v = (double)dn / (double)dd;
    }
    mr->cring[mr->ring_head][0] = num;
    mr->cring[mr->ring_head][1] = den;
    ring_advance(mr);
    return v;
}

static double eval_value(rt_monitor *mon, mrule *mr)
{
    switch (mr->r.signal) {
    case RT_MON_QUANTILE:
        return eval_quantile(mon, mr);
    case RT_MON_RATIO:
        return eval_ratio(mon, mr);
    case RT_MON_GAUGE:
        return (double)rt_metrics_get(mon->m, mr->r.id);
    case RT_MON_RSS:
        return (double)rt_proc_rss_bytes();
    case RT_MON_FDS:
        return (double)rt_proc_open_fds();
    default:
        return mr->r.fn(mr->r.ud);
    }
}

/* Advances mr's state machine with value v at now; returns true when it changed state. */
static bool step(mrule *mr, bool active, double v, uint64_t now)
{
    bool toward = active ? v <= mr->r.clear : v >= mr->r.raise;
    if (!toward) {
        mr->pending = false;
        return false;
    }
    if (!mr->pending) {
        mr->pending = true;
        mr->pending_since = now;
    }
    if (now - mr->pending_since < mr->r.for_ms) return false;
    mr->pending = false;
    return true;
}

int rt_monitor_tick(rt_monitor *mon, uint64_t now_ms)
{
    if (mon->evaluated && now_ms - mon->last_eval < mon->tick_ms) return 0;
    mon->evaluated = true;
    mon->last_eval = now_ms;
    int changed = 0;
    for (unsigned i = 0; i < mon->nrules; i++) {
        mrule *mr = mon->rules[i];
        double v = eval_value(mon, mr);
        pthread_mutex_lock(&mon->mu);
        bool was = mr->active;
        bool flip = step(mr, was, v, now_ms);
        mr->value = v;
        if (flip) {
            mr->active = !was;
            if (mr->active) mr->since_unix_ms = rt_now_unix_ms();
        }
        pthread_mutex_unlock(&mon->mu);
        if (!flip) continue;
        changed++;
        if (!was)
            mcp_log(MCP_LOGL_WARN, "alert raised: rule=%s value=%g raise=%g for_ms=%llu", mr->name,
                    v, mr->r.raise, (unsigned long long)mr->r.for_ms);
        else
            mcp_log(MCP_LOGL_INFO, "alert cleared: rule=%s value=%g clear=%g", mr->name, v,
                    mr->r.clear);
    }
    return changed;
}

bool rt_monitor_ready(rt_monitor *mon)
{
    return !mon || read_alert(mon, KEY_COUNT) == 0;
}

size_t rt_monitor_alerts(rt_monitor *mon, rt_mon_alert *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&mon->mu);
    for (unsigned i = 0; i < mon->nrules; i++) {
        const mrule *mr = mon->rules[i];
        if (!mr->active) continue;
        if (n < max) {
            rt_mon_alert *a = &out[n];
            snprintf(a->rule, sizeof a->rule, "%s", mr->name);
            a->value = mr->value;
            a->raise = mr->r.raise;
            a->clear = mr->r.clear;
            a->since_unix_ms = mr->since_unix_ms;
        }
        n++;
    }
    pthread_mutex_unlock(&mon->mu);
    return n;
}
