/* http_admin.c - the admin endpoints of the HTTP transport and the per-request series.
 *
 * The engine tells the transport when each request begins and ends (mcp_server_set_observer);
 * this file turns that into series in an rt_metrics set of its own: requests by method and
 * outcome, by tool and outcome, a latency histogram per method and per tool, requests in
 * flight, and a ring of the latest failures. Labels are bounded: a method label is one of the
 * methods the server knows, a tool label one of the tools registered when the transport
 * started; anything else counts under "_other". Recording is relaxed atomic adds into a
 * shard picked once per thread: no lock on the request path.
 *
 * It also serves the admin endpoints: /metrics (Prometheus text), /health (liveness),
 * /ready (503 while draining or while the program's ready hook says no), /status (an HTML
 * page, self-contained, that refreshes itself from /status.json) and /status.json. They are
 * served on the MCP listener when it is a loopback address, and on the admin listener
 * (mcp_http_options.admin_host/admin_port) whatever it is; on a non-loopback admin listener
 * /status and /status.json need the program's auth (or status_public). Every admin request
 * passes the same Origin/Host guard as the endpoint. See docs/metrics.md. */
#include "http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "mcp/metrics.h"
#include "rt/clock.h"
#include "rt/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADMIN_SHARDS    16
#define MAX_TOOL_LABELS 256
#define RECENT_ERRORS   16
#define OTHER           "_other"

/* A fixed set of label values, looked up by name without a lock (built once at start). */
typedef struct label_table {
    char **names;
    size_t n, cap;
    uint32_t *index; /* open addressing, 0 empty, else name index + 1 */
    size_t index_cap;
} label_table;

struct http_admin {
    rt_metrics *m;
    label_table methods, tools;
    int *m_req, *m_hist; /* (methods.n + 1) x MCP_OUTCOME_COUNT, methods.n + 1 */
    int *t_req, *t_hist; /* the same per tool */
    int inflight;
    _Atomic unsigned next_shard;
    uint64_t start_ns;
    time_t start_wall;
    /* the latest failures: time_ms << 24 | outcome << 20 | method << 12 | tool (packed) */
    _Atomic uint64_t errs[RECENT_ERRORS];
    _Atomic uint64_t err_next;
    /* requests per second between two status reads */
    pthread_mutex_t rate_mu;
    uint64_t rate_t, rate_n;
    double rate;
    http_server *hs; /* the admin listener, or NULL */
    bool admin_loopback;
};

static uint32_t name_hash(const char *s)
{
    uint32_t x = 2166136261u;
    while (*s) x = (x ^ (unsigned char)*s++) * 16777619u;
    return x;
}

static void lt_add(void *ud, const char *name)
{
    label_table *t = ud;
    if (t->n == t->cap) return; /* past the bound: counted under _other */
    t->names[t->n++] = mcp_xstrndup(name, strlen(name));
}

static void lt_index(label_table *t)
{
    t->index_cap = 16;
    while (t->index_cap < t->n * 2) t->index_cap *= 2;
    t->index = mcp_xcalloc(t->index_cap, sizeof *t->index);
    for (size_t i = 0; i < t->n; i++) {
        size_t k = name_hash(t->names[i]) & (t->index_cap - 1);
        while (t->index[k]) k = (k + 1) & (t->index_cap - 1);
        t->index[k] = (uint32_t)i + 1;
    }
}

/* The index of name in t, or t->n (the "_other" row) when absent or NULL. */
static size_t lt_find(const label_table *t, const char *name)
{
    if (!name) return t->n;
    for (size_t k = name_hash(name) & (t->index_cap - 1); t->index[k];
         k = (k + 1) & (t->index_cap - 1))
        if (!strcmp(t->names[t->index[k] - 1], name)) return t->index[k] - 1;
    return t->n;
}

static const char *lt_name(const label_table *t, size_t i)
{
    return i < t->n ? t->names[i] : OTHER;
}

static void lt_free(label_table *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->names[i]);
    free(t->names);
    free(t->index);
}

/* Registers the counters (one per outcome) and the histogram of each row of t. */
static void register_rows(http_admin *a, const label_table *t, const char *label, const char *cname,
                          const char *chelp, const char *hname, const char *hhelp, int **req,
                          int **hist)
{
    *req = mcp_xcalloc((t->n + 1) * MCP_OUTCOME_COUNT, sizeof **req);
    *hist = mcp_xcalloc(t->n + 1, sizeof **hist);
    char labels[400];
    for (size_t i = 0; i <= t->n; i++)
        for (int o = 0; o < MCP_OUTCOME_COUNT; o++) {
            snprintf(labels, sizeof labels, "%s=\"%s\",outcome=\"%s\"", label, lt_name(t, i),
                     mcp_outcome_names[o]);
            (*req)[i * MCP_OUTCOME_COUNT + (size_t)o] =
                rt_metrics_counter(a->m, cname, labels, chelp);
        }
    for (size_t i = 0; i <= t->n; i++) {
        snprintf(labels, sizeof labels, "%s=\"%s\"", label, lt_name(t, i));
        (*hist)[i] = rt_metrics_histogram(a->m, hname, labels, hhelp);
    }
}

/* A tool name is used as a label value only if it needs no escaping. */
static void tool_add(void *ud, const char *name)
{
    for (const char *p = name; *p; p++)
        if (*p == '"' || *p == '\\' || *p == '\n' || (unsigned char)*p < 0x20) return;
    if (strlen(name) <= 128) lt_add(ud, name);
}

/* ---- recording (the engine's observer) ------------------------------------------------------ */

static unsigned admin_shard(http_admin *a)
{
    static _Thread_local unsigned shard_plus1;
    if (!shard_plus1) shard_plus1 = atomic_fetch_add(&a->next_shard, 1) % ADMIN_SHARDS + 1;
    return shard_plus1 - 1;
}

static void on_event(void *ud, const mcp_req_event *e)
{
    http_admin *a = ud;
    unsigned sh = admin_shard(a);
    if (!e->end) {
        rt_metrics_add(a->m, sh, a->inflight, 1);
        return;
    }
    rt_metrics_add(a->m, sh, a->inflight, -1);
    size_t mi = lt_find(&a->methods, e->method);
    rt_metrics_add(a->m, sh, a->m_req[mi * MCP_OUTCOME_COUNT + e->outcome], 1);
    rt_metrics_observe(a->m, sh, a->m_hist[mi], e->duration_ns);
    size_t ti = 0xfff;
    if (e->method && !strcmp(e->method, "tools/call")) {
        ti = lt_find(&a->tools, e->tool);
        rt_metrics_add(a->m, sh, a->t_req[ti * MCP_OUTCOME_COUNT + e->outcome], 1);
        rt_metrics_observe(a->m, sh, a->t_hist[ti], e->duration_ns);
    }
    if (e->outcome != MCP_OUTCOME_OK) {
        uint64_t i = atomic_fetch_add_explicit(&a->err_next, 1, memory_order_relaxed);
        uint64_t rec = (uint64_t)time(NULL) << 24 | (uint64_t)e->outcome << 20 |
                       (uint64_t)(mi & 0xff) << 12 | (ti & 0xfff);
        atomic_store_explicit(&a->errs[i % RECENT_ERRORS], rec, memory_order_relaxed);
    }
}

static void method_add(void *ud, const char *name)
{
    lt_add(ud, name);
}

void http_admin_setup(mcp_http *h)
{
    http_admin *a = h->admin = mcp_xcalloc(1, sizeof *a);
    a->m = rt_metrics_new(ADMIN_SHARDS);
    a->start_ns = rt_now_ns();
    a->start_wall = time(NULL);
    pthread_mutex_init(&a->rate_mu, NULL);
    a->methods.cap = 255;
    a->methods.names = mcp_xcalloc(a->methods.cap, sizeof(char *));
    mcp_each_method(method_add, &a->methods);
    lt_index(&a->methods);
    a->tools.cap = MAX_TOOL_LABELS;
    a->tools.names = mcp_xcalloc(a->tools.cap, sizeof(char *));
    mcp_server_each_tool(h->srv, tool_add, &a->tools);
    lt_index(&a->tools);
    a->inflight = rt_metrics_gauge(a->m, "mcpd_requests_in_flight", NULL,
                                   "JSON-RPC requests begun and not yet answered.");
    register_rows(a, &a->methods, "method", "mcpd_requests_total",
                  "JSON-RPC requests answered, by method and outcome.", "mcpd_request_seconds",
                  "Time from a request's arrival to its answer, by method.", &a->m_req, &a->m_hist);
    register_rows(a, &a->tools, "tool", "mcpd_tool_calls_total",
                  "tools/call requests answered, by tool and outcome (_other: not registered at "
                  "start).",
                  "mcpd_tool_call_seconds",
                  "Time from a tools/call's arrival to its answer, by tool.", &a->t_req,
                  &a->t_hist);
    if (!h->o.no_request_metrics) mcp_server_set_observer(h->srv, on_event, a);
}

void http_admin_free(mcp_http *h)
{
    http_admin *a = h->admin;
    if (!a) return;
    mcp_server_unset_observer(h->srv, a);
    lt_free(&a->methods);
    lt_free(&a->tools);
    free(a->m_req);
    free(a->m_hist);
    free(a->t_req);
    free(a->t_hist);
    rt_metrics_free(a->m);
    pthread_mutex_destroy(&a->rate_mu);
    free(a);
    h->admin = NULL;
}

/* ---- reading -------------------------------------------------------------------------------- */

void http_admin_render(mcp_http *h, mcp_buf *b)
{
    rt_metrics_render(h->metrics, b);
    rt_metrics_render(h->admin->m, b);
    mcp_server_metrics_render(h->srv, b);
}

typedef struct row_stats {
    uint64_t n, errors;
    uint64_t p50, p90, p99; /* ns */
} row_stats;

static void row_get(http_admin *a, const int *req, const int *hist, size_t i, row_stats *out,
                    rt_hist_snapshot *snap, rt_hist_snapshot *total)
{
    memset(out, 0, sizeof *out);
    for (int o = 0; o < MCP_OUTCOME_COUNT; o++) {
        uint64_t v = (uint64_t)rt_metrics_get(a->m, req[i * MCP_OUTCOME_COUNT + (size_t)o]);
        out->n += v;
        if (o != MCP_OUTCOME_OK) out->errors += v;
    }
    rt_metrics_hist_get(a->m, hist[i], snap);
    out->p50 = rt_hist_quantile(snap, 0.5);
    out->p90 = rt_hist_quantile(snap, 0.9);
    out->p99 = rt_hist_quantile(snap, 0.99);
    if (total) {
        total->count += snap->count;
        total->sum_ns += snap->sum_ns;
        for (unsigned k = 0; k < RT_HIST_BUCKETS; k++) total->buckets[k] += snap->buckets[k];
    }
}

static void json_str(mcp_buf *b, const char *s)
{
    mcp_buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            mcp_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            mcp_buf_printf(b, "\\u%04x", c);
        else
            mcp_buf_append(b, s, 1);
    }
    mcp_buf_append(b, "\"", 1);
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static void row_json(mcp_buf *b, const char *name, const row_stats *r)
{
    mcp_buf_append(b, "{\"name\":", 8);
    json_str(b, name);
    mcp_buf_printf(b,
                   ",\"requests\":%llu,\"errors\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
                   "\"p99_ms\":%.3f",
                   (unsigned long long)r->n, (unsigned long long)r->errors, ms(r->p50), ms(r->p90),
                   ms(r->p99));
}

/* Whether the server should get traffic now; reason says why not. */
static bool is_ready(mcp_http *h, char *reason, size_t size)
{
    if (atomic_load(&h->draining)) {
        snprintf(reason, size, "draining: the server is stopping");
        return false;
    }
    if (!http_monitor_ready(h, reason, size)) return false; /* an alert is raised */
    if (h->o.ready && !h->o.ready(h->o.ready_ud, reason, size)) {
        if (!reason[0]) snprintf(reason, size, "not ready");
        return false;
    }
    return true;
}

/* The value of series name{labels} (labels "" for none) in app, the program's series as
 * Prometheus text: true when there. */
static bool app_value(const char *app, const char *name, const char *labels, double *v)
{
    char needle[512];
    int n = snprintf(needle, sizeof needle, "\n%s%s%s%s ", name, *labels ? "{" : "", labels,
                     *labels ? "}" : "");
    if (n < 0 || (size_t)n >= sizeof needle) return false;
    const char *p = strstr(app, needle);
    return p && sscanf(p + n, "%lf", v) == 1;
}

static const char *breaker_name(double st)
{
    return st == 0 ? "closed" : st == 1 ? "half-open" : "open";
}

/* The upstreams array: one row per mcpd_upstream_up{upstream="X"} the program published, with
 * its breaker state from mcpd_upstream_breaker_state. */
static void upstreams_json(const char *app, mcp_buf *b)
{
    static const char key[] = "\nmcpd_upstream_up{upstream=\"";
    mcp_buf_append(b, ",\"upstreams\":[", 14);
    bool first = true;
    for (const char *p = strstr(app, key); p; p = strstr(p + 1, key)) {
        const char *name = p + sizeof key - 1, *end = strstr(name, "\"} ");
        double up, st;
        if (!end || end - name > 200 || sscanf(end + 3, "%lf", &up) != 1) continue;
        char nm[201], labels[220];
        snprintf(nm, sizeof nm, "%.*s", (int)(end - name), name);
        mcp_buf_append(b, first ? "{\"name\":" : ",{\"name\":", first ? 8 : 9);
        first = false;
        json_str(b, nm);
        mcp_buf_printf(b, ",\"up\":%s", up != 0 ? "true" : "false");
        snprintf(labels, sizeof labels, "upstream=\"%s\"", nm);
        if (app_value(app, "mcpd_upstream_breaker_state", labels, &st))
            mcp_buf_printf(b, ",\"breaker\":\"%s\"", breaker_name(st));
        mcp_buf_append(b, "}", 1);
    }
    mcp_buf_append(b, "]", 1);
}

/* The application's series (mcp_metrics_*, as Prometheus text in app) as
 * "series":[{name,labels,value}], and alerts from mcpd_alert_active and the monitor. */
static void series_json(mcp_http *h, const char *app, mcp_buf *b)
{
    mcp_buf text;
    mcp_buf_init(&text, NULL, 0, 0);
    mcp_buf_append(&text, app, strlen(app) + 1);
    mcp_buf alerts;
    mcp_buf_init(&alerts, NULL, 0, 0);
    mcp_buf_append(b, ",\"series\":[", 11);
    bool first = true;
    for (char *line = text.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (line[0] == '#') continue;
        char *sp = strrchr(line, ' ');
        if (!sp) continue;
        *sp = 0;
        char *brace = strchr(line, '{');
        const char *labels = "";
        if (brace) {
            *brace = 0;
            labels = brace + 1;
            char *close = strrchr(brace + 1, '}');
            if (close) *close = 0;
        }
        mcp_buf_append(b, first ? "{\"name\":" : ",{\"name\":", first ? 8 : 9);
        first = false;
        json_str(b, line);
        mcp_buf_append(b, ",\"labels\":", 10);
        json_str(b, labels);
        mcp_buf_printf(b, ",\"value\":%s}", sp + 1);
        if (!strcmp(line, "mcpd_alert_active") && strcmp(sp + 1, "0")) {
            mcp_buf_append(&alerts, alerts.len ? "," : "", alerts.len ? 1 : 0);
            json_str(&alerts, labels);
        }
    }
    mcp_alert mon[16]; /* the performance monitor's (http_monitor.c) */
    size_t nmon = mcp_http_alerts(h, mon, 16);
    for (size_t i = 0; i < nmon && i < 16; i++) {
        char one[160];
        snprintf(one, sizeof one, "rule=\"%.63s\" value=%g raise=%g", mon[i].rule, mon[i].value,
                 mon[i].raise);
        mcp_buf_append(&alerts, alerts.len ? "," : "", alerts.len ? 1 : 0);
        json_str(&alerts, one);
    }
    mcp_buf_append(b, "],\"alerts\":[", 12);
    if (alerts.len) mcp_buf_append(b, alerts.data, alerts.len);
    mcp_buf_append(b, "]", 1);
    mcp_buf_free(&alerts);
    mcp_buf_free(&text);
}

static void recent_errors_json(http_admin *a, mcp_buf *b)
{
    mcp_buf_append(b, ",\"recent_errors\":[", 18);
    uint64_t next = atomic_load(&a->err_next);
    bool first = true;
    for (uint64_t k = 0; k < RECENT_ERRORS && k < next; k++) {
        uint64_t rec =
            atomic_load_explicit(&a->errs[(next - 1 - k) % RECENT_ERRORS], memory_order_relaxed);
        if (!rec) continue;
        time_t t = (time_t)(rec >> 24);
        struct tm tm;
        gmtime_r(&t, &tm);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        size_t mi = (rec >> 12) & 0xff, ti = rec & 0xfff;
        mcp_buf_printf(b, "%s{\"time\":\"%s\",\"method\":", first ? "" : ",", when);
        first = false;
        json_str(b, lt_name(&a->methods, mi < a->methods.n ? mi : a->methods.n));
        mcp_buf_append(b, ",\"tool\":", 8);
        if (ti == 0xfff)
            mcp_buf_append(b, "null", 4);
        else
            json_str(b, lt_name(&a->tools, ti < a->tools.n ? ti : a->tools.n));
        mcp_buf_printf(b, ",\"outcome\":\"%s\"}", mcp_outcome_names[(rec >> 20) & 0xf]);
    }
    mcp_buf_append(b, "]", 1);
}

/* The methods' rows into rows (JSON objects, comma-separated), their sum into all and total. */
static void methods_rows(http_admin *a, mcp_buf *rows, row_stats *all, rt_hist_snapshot *snap,
                         rt_hist_snapshot *total)
{
    row_stats r;
    for (size_t i = 0; i <= a->methods.n; i++) {
        row_get(a, a->m_req, a->m_hist, i, &r, snap, total);
        all->n += r.n;
        all->errors += r.errors;
        if (!r.n) continue;
        mcp_buf_append(rows, rows->len ? "," : "", rows->len ? 1 : 0);
        row_json(rows, lt_name(&a->methods, i), &r);
        mcp_buf_append(rows, "}", 1);
    }
}

/* Requests per second between two reads at least a second apart (the first: since start). */
static double status_rate(http_admin *a, uint64_t now, uint64_t n)
{
    pthread_mutex_lock(&a->rate_mu);
    if (!a->rate_t || now - a->rate_t >= 1000000000ull) {
        uint64_t t0 = a->rate_t ? a->rate_t : a->start_ns;
        if (now > t0) a->rate = (double)(n - a->rate_n) * 1e9 / (double)(now - t0);
        a->rate_t = now;
        a->rate_n = n;
    }
    double rate = a->rate;
    pthread_mutex_unlock(&a->rate_mu);
    return rate;
}

/* The tools array: one row per registered tool (and "_other" when it counted), with the
 * breaker state the program published (in app) as mcpd_breaker_state{tool=...}. */
static void tools_json(mcp_http *h, const char *app, mcp_buf *b, rt_hist_snapshot *snap)
{
    http_admin *a = h->admin;
    row_stats r;
    mcp_buf_append(b, "],\"tools\":[", 11);
    for (size_t i = 0; i <= a->tools.n; i++) {
        row_get(a, a->t_req, a->t_hist, i, &r, snap, NULL);
        if (i == a->tools.n && !r.n) continue;
        mcp_buf_append(b, i ? "," : "", i ? 1 : 0);
        row_json(b, lt_name(&a->tools, i), &r);
        char key[220];
        snprintf(key, sizeof key, "tool=\"%.200s\"", lt_name(&a->tools, i));
        double st;
        if (app_value(app, "mcpd_breaker_state", key, &st))
            mcp_buf_printf(b, ",\"breaker\":\"%s\"", breaker_name(st));
        mcp_buf_append(b, "}", 1);
    }
    mcp_buf_append(b, "]", 1);
}

/* The head of the document: start, uptime, readiness and why not. */
static void status_head(mcp_http *h, mcp_buf *b, uint64_t now)
{
    http_admin *a = h->admin;
    char reason[200] = "", started[32];
    bool ready = is_ready(h, reason, sizeof reason);
    struct tm tm;
    gmtime_r(&a->start_wall, &tm);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    mcp_buf_printf(b, "{\"started\":\"%s\",\"uptime_s\":%.1f,\"ready\":%s,\"not_ready_reason\":",
                   started, (double)(now - a->start_ns) / 1e9, ready ? "true" : "false");
    if (ready)
        mcp_buf_append(b, "null", 4);
    else
        json_str(b, reason);
}

void http_admin_status_json(mcp_http *h, mcp_buf *b)
{
    http_admin *a = h->admin;
    rt_hist_snapshot *snap = mcp_xcalloc(2, sizeof *snap), *total = snap + 1;
    uint64_t now = rt_now_ns();
    row_stats all = {0};
    mcp_buf rows;
    mcp_buf_init(&rows, NULL, 0, 0);
    methods_rows(a, &rows, &all, snap, total);
    double rate = status_rate(a, now, all.n);
    rt_pool_stats ps = {0};
    rt_pool_stats_get(h->pool, &ps);
    rt_stats rs = {0};
    if (h->hs) rt_workers_stats(http_server_workers(h->hs), &rs);
    status_head(h, b, now);
    mcp_buf_printf(b,
                   ",\"requests\":{\"total\":%llu,\"errors\":%llu,\"per_second\":%.2f,"
                   "\"in_flight\":%lld},\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
                   "\"mean\":%.3f},\"pool\":{\"queued\":%llu,\"running\":%llu,\"threads\":%llu,"
                   "\"rejected\":%llu},\"connections\":%llu,\"sessions\":%llu,"
                   "\"sse_streams\":%lld,\"methods\":[",
                   (unsigned long long)all.n, (unsigned long long)all.errors, rate,
                   (long long)rt_metrics_get(a->m, a->inflight), ms(rt_hist_quantile(total, 0.5)),
                   ms(rt_hist_quantile(total, 0.9)), ms(rt_hist_quantile(total, 0.99)),
                   total->count ? ms(total->sum_ns / total->count) : 0.0,
                   (unsigned long long)ps.queued, (unsigned long long)ps.running,
                   (unsigned long long)ps.live, (unsigned long long)ps.rejected,
                   (unsigned long long)rs.conns_open,
                   (unsigned long long)atomic_load(&h->nsessions),
                   (long long)rt_metrics_get(h->metrics, h->mid.sse_open));
    if (rows.len) mcp_buf_append(b, rows.data, rows.len);
    mcp_buf app; /* the program's series, read once for the tools, upstreams and series */
    mcp_buf_init(&app, NULL, 0, 0);
    mcp_buf_append(&app, "\n", 1);
    mcp_server_metrics_render(h->srv, &app);
    mcp_buf_append(&app, "", 1);
    tools_json(h, app.data, b, snap);
    upstreams_json(app.data, b);
    series_json(h, app.data + 1, b);
    recent_errors_json(a, b);
    mcp_buf_append(b, "}\n", 2);
    mcp_buf_free(&app);
    mcp_buf_free(&rows);
    free(snap);
}

/* ---- the endpoints -------------------------------------------------------------------------- */

static const char status_html[] =
#include "status_html.inc"
    ;

static bool status_allowed(req_ctx *r, bool loopback)
{
    mcp_http *h = r->h;
    if (loopback || h->o.status_public) return true;
    if (h->o.auth) {
        if (h->o.auth(h->o.auth_ud, http_header_get(r->req, "Authorization"))) return true;
        http_response_header(r->res, "WWW-Authenticate", "Bearer");
        http_response_send(r->res, 401, "text/plain; charset=utf-8",
                           "401: /status needs authentication on this listener\n", 51);
        return false;
    }
    static const char msg[] = "403: /status is off on a non-loopback listener (no auth is set, "
                              "status_public is false)\n";
    http_response_send(r->res, 403, "text/plain; charset=utf-8", msg, sizeof msg - 1);
    return false;
}

static void send_buf(http_response *res, int status, const char *type, mcp_buf *b)
{
    http_response_header(res, "Cache-Control", "no-store");
    http_response_send(res, status, type, b->data, b->len);
    mcp_buf_free(b);
}

/* Serves an admin path; false when path is not one. */
static bool admin_serve(req_ctx *r, bool loopback)
{
    const char *p = r->req->path;
    bool known = !strcmp(p, "/metrics") || !strcmp(p, "/health") || !strcmp(p, "/ready") ||
                 !strcmp(p, "/status") || !strcmp(p, "/status.json");
    if (!known) return false;
    if (http_guard(r)) return true;
    if (r->req->method != HTTP_GET && r->req->method != HTTP_HEAD) {
        http_response_header(r->res, "Allow", "GET, HEAD");
        http_response_send(r->res, 405, "text/plain; charset=utf-8", "405: GET only\n", 14);
        return true;
    }
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    if (!strcmp(p, "/metrics")) {
        http_admin_render(r->h, &b);
        send_buf(r->res, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
    } else if (!strcmp(p, "/health")) {
        mcp_buf_append(&b, "ok\n", 3);
        send_buf(r->res, 200, "text/plain; charset=utf-8", &b);
    } else if (!strcmp(p, "/ready")) {
        char reason[200] = "";
        bool ok = is_ready(r->h, reason, sizeof reason);
        mcp_buf_printf(&b, "%s\n", ok ? "ready" : reason);
        send_buf(r->res, ok ? 200 : 503, "text/plain; charset=utf-8", &b);
    } else if (!status_allowed(r, loopback)) {
        mcp_buf_free(&b);
    } else if (!strcmp(p, "/status.json")) {
        http_admin_status_json(r->h, &b);
        send_buf(r->res, 200, "application/json", &b);
    } else {
        mcp_buf_append(&b, status_html, sizeof status_html - 1);
        http_response_header(r->res, "Content-Security-Policy",
                             "default-src 'none'; script-src 'unsafe-inline'; "
                             "style-src 'unsafe-inline'; connect-src 'self'");
        send_buf(r->res, 200, "text/html; charset=utf-8", &b);
    }
    return true;
}

bool http_admin_route(req_ctx *r)
{
    if (!r->h->loopback) return false; /* only on the admin listener then */
    return admin_serve(r, true);
}

static void admin_on_request(http_request *req, http_response *res, void *ud)
{
    mcp_http *h = ud;
    req_ctx r = {.h = h, .ws = NULL, .req = req, .res = res};
    if (!admin_serve(&r, h->admin->admin_loopback)) herr_send(NULL, res, HERR_NOT_FOUND, NULL);
}

int http_admin_listen(mcp_http *h, char *err, size_t errsize)
{
    const mcp_http_options *o = &h->o;
    if (!o->admin_host) return 0;
    http_admin *a = h->admin;
    a->admin_loopback = http_bind_is_loopback(o->admin_host);
    http_server_config hc = {.host = o->admin_host,
                             .port = o->admin_port,
                             .workers = 1,
                             .max_conns = 256,
                             .on_request = admin_on_request,
                             .ud = h};
    int rc = http_server_start(&a->hs, &hc);
    if (rc) {
        snprintf(err, errsize, "cannot listen on admin address %s:%d: %s", o->admin_host,
                 o->admin_port, strerror(-rc));
        return rc;
    }
    bool v6 = strchr(o->admin_host, ':') != NULL;
    mcp_log(MCP_LOGL_INFO, "http: admin endpoints on http://%s%s%s:%d/status", v6 ? "[" : "",
            o->admin_host, v6 ? "]" : "", http_server_port(a->hs));
    return 0;
}

void http_admin_stop(mcp_http *h)
{
    if (h->admin && h->admin->hs) {
        http_server_stop(h->admin->hs);
        h->admin->hs = NULL;
    }
}

int mcp_http_admin_port(const mcp_http *h)
{
    return h->admin && h->admin->hs ? http_server_port(h->admin->hs) : 0;
}

char *mcp_http_metrics_text(mcp_http *h, size_t *len)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    http_admin_render(h, &b);
    return mcp_buf_steal(&b, len);
}
