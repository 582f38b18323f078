/* http_engine.c - HTTP request templates sent through guarded upstreams, from the HTTP worker's
 * own loop (hclient.c) or from a transfer thread (libcurl).
 *
 * Templates. The URL, the query values, the header values and the strings of the JSON body may
 * hold {name} placeholders, checked at configure against the declared arguments. A value goes
 * in encoded for where it lands: in the path every byte but RFC 3986's unreserved ones is
 * percent-encoded (so "a/../b" stays one segment, and a value that is "." or ".." is refused,
 * since libcurl would squash it), in the query likewise, in a header it is copied but CR, LF and
 * NUL are refused (no header injection), and in the body a string that is exactly "{name}"
 * becomes the argument's JSON value (typed; the member is dropped when an optional argument is
 * absent) while a longer string gets the value's text. The origin (scheme://host:port) is
 * fixed in the config: no argument can move a request to another host.
 *
 * Upstreams. Templates with the same upstream name (by default the URL's origin) share one
 * upstream: a concurrency limiter with a bounded wait, a circuit breaker, an optional health
 * check, a stack of idle curl easy handles (set up once; a request sets only what it
 * changes), and an hclient target per origin its templates use (the worker loops' pools). Upstreams
 * live in a process-wide table with reference counts, so a reload that keeps an upstream with the
 * same settings keeps its limiter and its breaker's state (an open breaker stays open); changed
 * settings (breaker, limits, pool, health check) start a fresh upstream. Their connections are the
 * transfer thread's, kept across reloads either way.
 *
 * Two paths, the same semantics (which request takes which: httpe_start in the header, and
 * docs/mcpd-backends.md). The loop path (below, "the loop path"): a call running inline on one
 * of libmcp's HTTP worker loops, to a plain http:// origin with no proxy and no redirects, that
 * finds a free slot of the upstream's limiter, is built as bytes, passes the breaker, and is
 * sent by hclient.c from that loop, which ends the call from the answer's callback: no thread
 * hand-off. Everything else takes the transfer thread:
 *
 * A request: built and passed through the breaker (refused at once while open, with the time
 * to retry) on the caller's thread, then handed to the transfer thread (below), where it waits
 * for a slot of the limiter if it must (bounded): one libuv loop running curl's multi socket
 * interface for every upstream, so no handler thread waits on a transfer and the multi's connection
 * cache keeps every upstream's connections alive. Idempotent methods retry on connection failures
 * and 502/503/504/429 with full-jitter exponential backoff (or the server's Retry-After, a timer on
 * that loop), never past the deadline; other methods retry only when the connection failed
 * before anything was sent. The response is capped (max_response_bytes, checked on the decoded
 * bytes); stop() is polled by a tick every 100 ms, so a cancellation aborts the transfer or
 * the backoff. One breaker outcome per request: 5xx after
 * the retries, connection failures and timeouts count as failures; 4xx is the caller's
 * business and counts as a success.
 *
 * Health checks run on one checker (health.c, one loop thread for all upstreams): each probe
 * queues a blocking GET (a handle of its own) on libuv's pool; an upstream that fails them is
 * held open. */
#include "mcpd/http_engine.h"
#include "mcpd/breaker.h"
#include "mcpd/hclient.h"
#include "mcpd/health.h"
#include "mcpd/limiter.h"
#include "mcpd/series.h"
#include "mcpd/text.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_RETRIES      2u
#define DEFAULT_BACKOFF_MS   100u
#define DEFAULT_MAX_BACKOFF  2000u
#define DEFAULT_CONNECT_MS   5000u
#define DEFAULT_MAX_RESPONSE (1u << 20)
#define MAX_TEMPLATE_SEGS    256

/* No proxy variable in the environment (read once): handles then say NOPROXY "*", sparing
 * curl five getenv() per transfer. With one set, curl reads them as it always does. */
static bool no_proxy_env;
/* The sum of the upstreams' max_idle: the transfer thread's connection cache keeps as many. */
static atomic_long conns_wanted;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    no_proxy_env = !getenv("http_proxy") && !getenv("HTTP_PROXY") && !getenv("https_proxy") &&
                   !getenv("HTTPS_PROXY") && !getenv("all_proxy") && !getenv("ALL_PROXY");
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* ---- upstreams ------------------------------------------------------------------------------- */
typedef struct idle_handle {
    struct idle_handle *next;
    CURL *h;
} idle_handle;

/* An origin of the upstream's templates, for the loop path: its hclient target (the loops'
 * pools are found by it), shared by the templates with that origin. */
typedef struct origin_target {
    struct origin_target *next;
    char *origin;
    hclient_target *t;
} origin_target;

struct httpe_upstream {
    httpe_upstream *next;
    char *name;
    char *settings;      /* its config, printed: a reload keeps the upstream only if they match */
    uint64_t generation; /* the last configure pass that took it (httpe_upstream_config) */
    size_t refs;         /* guarded by the table's mutex */
    mcpd_breaker *breaker;
    mcpd_limiter *limiter;
    pthread_mutex_t mu; /* the idle stack, probes_out */
    pthread_cond_t cv;
    idle_handle *idle;
    uint32_t nidle, max_idle;
    char *health_url;
    uint32_t health_timeout_ms;
    uint64_t health_id;
    uint32_t probes_out;
    uint32_t concurrency, queue_wait_ms; /* the limiter's */
    /* requests waiting for a slot of the limiter: the transfer thread's (nwaiting is read by
     * the loops, to wake the transfer thread when they free a slot) */
    struct job *wait_head, *wait_tail;
    atomic_uint nwaiting;
    origin_target *targets;              /* under mu */
    atomic_ullong on_loops, on_transfer; /* requests started on each path */
    /* in D.admit while a loop asked the transfer thread to admit waiters: under D.mu */
    httpe_upstream *admit_next;
    bool admit_pending;
};

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static httpe_upstream *table;
static size_t upstreams_alive; /* in the table or not (a reload's replaced ones): table_mu */
static mcpd_health *checker;
static size_t checker_users;

static size_t on_data(char *p, size_t sz, size_t n, void *ud);
static int on_close_socket(void *ud, curl_socket_t s);
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a);

/* A new handle with the options every request shares (the rest are set per attempt). */
static CURL *handle_new(void)
{
    CURL *h = curl_easy_init();
    if (!h) abort();
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    /* no progress callback: the transfer thread's tick polls stop() (curl's progress meter
     * cost clock reads and sums on every socket event) */
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    if (no_proxy_env) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    return h;
}

static CURL *handle_take(httpe_upstream *u)
{
    pthread_mutex_lock(&u->mu);
    idle_handle *ih = u->idle;
    if (ih) {
        u->idle = ih->next;
        u->nidle--;
    }
    pthread_mutex_unlock(&u->mu);
    if (!ih) return handle_new();
    CURL *h = ih->h;
    free(ih);
    return h;
}

static void handle_give(httpe_upstream *u, CURL *h)
{
    pthread_mutex_lock(&u->mu);
    if (u->nidle < u->max_idle) {
        idle_handle *ih = mcpd_xcalloc(1, sizeof *ih);
        ih->h = h;
        ih->next = u->idle;
        u->idle = ih;
        u->nidle++;
        h = NULL;
    }
    pthread_mutex_unlock(&u->mu);
    if (h) curl_easy_cleanup(h);
}

/* ---- health probes (on the checker's loop; the GET runs on libuv's pool) ----------------------
 */
typedef struct probe_job {
    uv_work_t work;
    httpe_upstream *u;
    mcpd_health_report_fn report;
    void *report_ud;
    bool ok;
    char why[160];
} probe_job;

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p, (void)ud;
    return sz * n;
}

static void probe_work(uv_work_t *w)
{
    probe_job *j = w->data;
    httpe_upstream *u = j->u;
    CURL *h = curl_easy_init(); /* its own: the pool's handles run on the transfer thread */
    if (!h) abort();
    curl_easy_setopt(h, CURLOPT_URL, u->health_url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)u->health_timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)u->health_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mcpd/" MCP_VERSION " (health)");
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    j->ok = rc == CURLE_OK && status >= 200 && status < 400;
    if (rc != CURLE_OK)
        snprintf(j->why, sizeof j->why, "GET %s: %s", u->health_url, curl_easy_strerror(rc));
    else if (!j->ok)
        snprintf(j->why, sizeof j->why, "GET %s: HTTP %ld", u->health_url, status);
    curl_easy_cleanup(h);
}

static void probe_done(uv_work_t *w, int status)
{
    probe_job *j = w->data;
    httpe_upstream *u = j->u;
    j->report(j->report_ud, status == 0 && j->ok, status == 0 ? j->why : "probe cancelled");
    pthread_mutex_lock(&u->mu);
    u->probes_out--;
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
    free(j);
}

static void probe_start(void *ud, mcpd_health_report_fn report_fn, void *report_ud)
{
    httpe_upstream *u = ud;
    probe_job *j = mcpd_xcalloc(1, sizeof *j);
    j->u = u;
    j->report = report_fn;
    j->report_ud = report_ud;
    j->work.data = j;
    pthread_mutex_lock(&u->mu);
    u->probes_out++;
    pthread_mutex_unlock(&u->mu);
    if (uv_queue_work(mcpd_health_loop(checker), &j->work, probe_work, probe_done) != 0) {
        j->report(report_ud, false, "could not start the probe");
        pthread_mutex_lock(&u->mu);
        u->probes_out--;
        pthread_mutex_unlock(&u->mu);
        free(j);
    }
}

/* c printed, every field that shapes the upstream's breaker, limiter, pool and probes. */
static void settings_of(const httpe_upstream_config *c, char *out, size_t size)
{
    snprintf(out, size, "%u %u %u %u %u %u %u %u %u %u %u %u %s", c->concurrency, c->queue_wait_ms,
             c->max_idle, c->health_interval_ms, c->health_timeout_ms, c->unhealthy_after,
             c->healthy_after, c->breaker_window_ms, c->breaker_min_calls,
             c->breaker_failure_percent, c->breaker_cooldown_ms, c->breaker_probes,
             c->health_url ? c->health_url : "-");
}

static httpe_upstream *upstream_new(const char *name, const httpe_upstream_config *c)
{
    httpe_upstream *u = mcpd_xcalloc(1, sizeof *u);
    u->name = mcpd_xstrdup(name);
    char set[2400];
    settings_of(c, set, sizeof set);
    u->settings = mcpd_xstrdup(set);
    u->refs = 1;
    mcpd_breaker_config bc = {.window_ms = c->breaker_window_ms,
                              .min_calls = c->breaker_min_calls,
                              .failure_percent = c->breaker_failure_percent,
                              .cooldown_ms = c->breaker_cooldown_ms,
                              .probes = c->breaker_probes};
    uint64_t seed = (uint64_t)(uintptr_t)u ^ (uint64_t)time(NULL);
    u->breaker = mcpd_breaker_new(&bc, seed);
    u->concurrency = c->concurrency ? c->concurrency : 64;
    u->queue_wait_ms = c->queue_wait_ms ? c->queue_wait_ms : 1000;
    u->limiter = mcpd_limiter_new(u->concurrency, u->queue_wait_ms, 0);
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    u->max_idle = c->max_idle ? c->max_idle : 16;
    atomic_fetch_add(&conns_wanted, (long)u->max_idle);
    if (c->health_url) {
        u->health_url = mcpd_xstrdup(c->health_url);
        u->health_timeout_ms = c->health_timeout_ms ? c->health_timeout_ms : 2000;
        if (!checker) checker = mcpd_health_new(NULL);
        checker_users++;
        mcpd_health_target def = {.name = u->name,
                                  .interval_ms = c->health_interval_ms,
                                  .timeout_ms = u->health_timeout_ms + 1000,
                                  .unhealthy_after = c->unhealthy_after,
                                  .healthy_after = c->healthy_after,
                                  .probe = probe_start,
                                  .ud = u,
                                  .breaker = u->breaker};
        u->health_id = mcpd_health_add(checker, &def);
    }
    return u;
}

static void admit_forget(httpe_upstream *u);

/* Caller holds table_mu (health_remove waits for the checker's loop, which never takes it). */
static void upstream_free(httpe_upstream *u)
{
    if (u->health_id) {
        mcpd_health_remove(checker, u->health_id);
        pthread_mutex_lock(&u->mu);
        while (u->probes_out) pthread_cond_wait(&u->cv, &u->mu);
        pthread_mutex_unlock(&u->mu);
        if (--checker_users == 0) {
            mcpd_health_free(checker);
            checker = NULL;
        }
    }
    while (u->idle) {
        idle_handle *ih = u->idle;
        u->idle = ih->next;
        curl_easy_cleanup(ih->h);
        free(ih);
    }
    while (u->targets) { /* the loops close their idle connections at their next sweep */
        origin_target *o = u->targets;
        u->targets = o->next;
        hclient_target_retire(o->t);
        hclient_target_unref(o->t);
        free(o->origin);
        free(o);
    }
    admit_forget(u);
    atomic_fetch_sub(&conns_wanted, (long)u->max_idle);
    mcpd_breaker_free(u->breaker);
    mcpd_limiter_free(u->limiter);
    pthread_mutex_destroy(&u->mu);
    pthread_cond_destroy(&u->cv);
    free(u->health_url);
    free(u->settings);
    free(u->name);
    free(u);
}

/* Unlinks u from the table (it lives on while referenced). Caller holds table_mu. */
static void upstream_unlink(httpe_upstream *u)
{
    for (httpe_upstream **p = &table; *p; p = &(*p)->next) {
        if (*p == u) {
            *p = u->next;
            break;
        }
    }
}

/* The upstream named name, shared: a reload whose config keeps its settings keeps it (its
 * breaker state, limiter, warm connections); changed settings make a fresh one, which later
 * lookups find (the old one serves the old generation until its last template goes). */
static httpe_upstream *upstream_ref(const char *name, const httpe_upstream_config *c)
{
    char set[2400];
    settings_of(c, set, sizeof set);
    pthread_mutex_lock(&table_mu);
    httpe_upstream *u = table;
    while (u && strcmp(u->name, name) != 0) u = u->next;
    if (u && u->generation != c->generation && strcmp(u->settings, set)) {
        upstream_unlink(u);
        u = NULL;
    }
    if (u) {
        u->refs++;
    } else {
        u = upstream_new(name, c);
        upstreams_alive++;
        u->next = table;
        table = u;
    }
    u->generation = c->generation;
    pthread_mutex_unlock(&table_mu);
    return u;
}

static void driver_stop(void);

static void upstream_unref(httpe_upstream *u)
{
    if (!u) return;
    pthread_mutex_lock(&table_mu);
    if (--u->refs == 0) {
        upstream_unlink(u);
        upstream_free(u);
        if (--upstreams_alive == 0) driver_stop(); /* no upstream left: no transfer can come */
    }
    pthread_mutex_unlock(&table_mu);
}

static void upstream_collect(httpe_upstream *u, mcp_metrics_writer *w)
{
    mcpd_breaker_stats st;
    mcpd_breaker_stats_get(u->breaker, mcpd_now_ms(), &st);
    bool up = u->health_id ? mcpd_health_status(checker, u->health_id, NULL, 0)
                           : st.state != MCPD_BREAKER_OPEN;
    mcpd_series_write(w, "mcpd_upstream_up", "upstream", u->name, MCP_METRIC_GAUGE,
                      "1 while the upstream passes its health checks (without: while its "
                      "breaker is not open).",
                      up);
    mcpd_series_guard(w, "mcpd_upstream_", "upstream", u->name, &st,
                      mcpd_limiter_refused(u->limiter), mcpd_limiter_waits(u->limiter));
    mcpd_series_write(w, "mcpd_upstream_loop_requests_total", "upstream", u->name,
                      MCP_METRIC_COUNTER,
                      "Requests to the upstream sent from the HTTP worker loop that ran the "
                      "call.",
                      (double)atomic_load(&u->on_loops));
    mcpd_series_write(w, "mcpd_upstream_transfer_requests_total", "upstream", u->name,
                      MCP_METRIC_COUNTER,
                      "Requests to the upstream sent from the transfer thread (libcurl).",
                      (double)atomic_load(&u->on_transfer));
}

void httpe_collect(mcp_metrics_writer *w)
{
    pthread_mutex_lock(&table_mu);
    for (httpe_upstream *u = table; u; u = u->next) upstream_collect(u, w);
    pthread_mutex_unlock(&table_mu);
}

/* ---- templates ------------------------------------------------------------------------------- */
typedef struct seg {
    char *lit; /* literal text, or NULL */
    char *arg; /* argument name, or NULL */
} seg;

typedef struct tpl {
    seg *segs;
    size_t n;
} tpl;

typedef struct kv {
    char *name;
    tpl value;
} kv;

struct httpe {
    httpe_config cfg;
    char *method;
    bool idempotent, nobody;
    char *origin; /* scheme://authority */
    tpl path;     /* the rest of the URL */
    kv *query;
    size_t nquery;
    kv *headers;
    size_t nheaders;
    mcp_json_doc *body; /* the body template, parsed again so it lives with t */
    char *body_type;
    mcp_json_doc *args_doc; /* the declared arguments */
    httpe_upstream *up;
    /* the loop path (NULL: never): the origin's target, and the fixed part of every request
     * after its request line ("HTTP/1.1\r\nHost: ...\r\n" and the default headers the
     * template does not set itself) */
    hclient_target *hct;
    char *fixed_head;
};

static bool valid_name_char(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* Length of a placeholder "{name}" at s, or 0 if s does not start one. */
static size_t placeholder_len(const char *s)
{
    if (s[0] != '{' || !valid_name_char(s[1], true)) return 0;
    size_t i = 2;
    while (valid_name_char(s[i], false)) i++;
    return s[i] == '}' && i <= 65 ? i + 1 : 0;
}

static bool tpl_parse(tpl *t, const char *s, const mcp_json *args, char *err, size_t errsize)
{
    t->segs = mcpd_xcalloc(MAX_TEMPLATE_SEGS, sizeof *t->segs);
    t->n = 0;
    const char *lit = s;
    for (const char *p = s;; p++) {
        size_t pl = *p ? placeholder_len(p) : 0;
        if (!*p || pl) {
            if (p > lit) {
                if (t->n >= MAX_TEMPLATE_SEGS) goto too_many;
                t->segs[t->n].lit = strndup(lit, (size_t)(p - lit));
                if (!t->segs[t->n++].lit) abort();
            }
            if (!*p) break;
            char *name = strndup(p + 1, pl - 2);
            if (!name) abort();
            if (args && !mcp_json_get(args, name)) {
                snprintf(err, errsize, "\"{%s}\" names no argument: declare it under \"arguments\"",
                         name);
                free(name);
                return false;
            }
            if (t->n >= MAX_TEMPLATE_SEGS) {
                free(name);
                goto too_many;
            }
            t->segs[t->n++].arg = name;
            p += pl - 1;
            lit = p + 1;
        }
    }
    return true;
too_many:
    snprintf(err, errsize, "too many placeholders and pieces (at most %d)", MAX_TEMPLATE_SEGS);
    return false;
}

static void tpl_free(tpl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->segs[i].lit);
        free(t->segs[i].arg);
    }
    free(t->segs);
}

/* The text of an argument value: strings as they are, numbers and booleans as JSON, arrays
 * and objects as JSON text; absent or null: empty. */
static void value_text(mcpd_sbuf *b, const mcp_json *v)
{
    size_t len;
    const char *s = mcp_json_str(v, &len);
    if (s) {
        mcpd_sb_put(b, s, len);
        return;
    }
    if (!v || mcp_json_is_null(v)) return;
    char *t = mcp_json_text(v, &len);
    if (t) mcpd_sb_put(b, t, len);
    free(t);
}

/* How a value goes in: percent-encoded (path, query), copied with line breaks refused (header),
 * or copied as it is (text inside a JSON body string, escaped by the writer). */
typedef enum enc { ENC_PATH, ENC_QUERY, ENC_QUERY_ALL, ENC_RAW, ENC_TEXT } enc;

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static void encode(mcpd_sbuf *out, const char *s, size_t n, enc how)
{
    static const char hex[] = "0123456789ABCDEF";
    if (how == ENC_RAW || how == ENC_TEXT) {
        mcpd_sb_put(out, s, n);
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t run = i; /* a run of bytes that go in as they are, copied at once */
        while (run < n && unreserved((unsigned char)s[run])) run++;
        if (run > i) mcpd_sb_put(out, s + i, run - i);
        if (run == n) break;
        unsigned char c = (unsigned char)s[run];
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        mcpd_sb_put(out, e, 3);
        i = run + 1;
    }
}

/* Fills t into out with values encoded by how. Returns false with err set for a value that
 * cannot be sent. A template whose only piece is one absent argument sets *absent. */
static bool tpl_fill(const tpl *t, const mcp_json *args, enc how, mcpd_sbuf *out, bool *absent,
                     const char *where, char *err, size_t errsize)
{
    if (absent) {
        *absent = t->n == 1 && t->segs[0].arg &&
                  (!mcp_json_get(args, t->segs[0].arg) ||
                   mcp_json_is_null(mcp_json_get(args, t->segs[0].arg)));
        if (*absent) return true;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->segs[i].lit) {
            if (how == ENC_QUERY_ALL) /* a query value: its fixed text is encoded too */
                encode(out, t->segs[i].lit, strlen(t->segs[i].lit), ENC_QUERY);
            else
                mcpd_sb_str(out, t->segs[i].lit);
            continue;
        }
        mcpd_sbuf v = {0};
        const mcp_json *val = mcp_json_get(args, t->segs[i].arg);
        size_t slen;
        const char *str = mcp_json_str(val, &slen);
        if (str) /* a string (the usual case) is read in place */
            v = (mcpd_sbuf){.p = (char *)str, .len = slen};
        else
            value_text(&v, val);
        bool ok = true;
        if (how == ENC_PATH && v.p &&
            ((v.len == 1 && v.p[0] == '.') || (v.len == 2 && !memcmp(v.p, "..", 2)))) {
            snprintf(err, errsize, "argument \"%s\": \"%.*s\" cannot be a path segment",
                     t->segs[i].arg, (int)v.len, v.p);
            ok = false;
        }
        if (how == ENC_RAW && v.len &&
            (memchr(v.p, '\r', v.len) || memchr(v.p, '\n', v.len) || memchr(v.p, '\0', v.len))) {
            snprintf(err, errsize, "argument \"%s\": a line break or NUL cannot go into %s",
                     t->segs[i].arg, where);
            ok = false;
        }
        if (ok) encode(out, v.p ? v.p : "", v.len, how);
        if (!str) free(v.p);
        if (!ok) return false;
    }
    return true;
}

/* Compiles an object of name -> template into kvs. */
static bool kv_parse(kv **out, size_t *n, const mcp_json *obj, const mcp_json *args, bool header,
                     char *err, size_t errsize)
{
    *n = mcp_json_len(obj);
    *out = mcpd_xcalloc(*n, sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        const char *name;
        const mcp_json *v = mcp_json_member(obj, i, &name, NULL);
        (*out)[i].name = mcpd_xstrdup(name);
        if (header) {
            for (const char *c = name; *c; c++) {
                if (*c <= ' ' || *c == ':' || *c == 0x7f) {
                    snprintf(err, errsize, "header name \"%s\" is not a valid HTTP token", name);
                    return false;
                }
            }
        }
        mcpd_sbuf s = {0};
        value_text(&s, v);
        bool ok = tpl_parse(&(*out)[i].value, s.p ? s.p : "", args, err, errsize);
        if (ok && header && s.p && (strchr(s.p, '\r') || strchr(s.p, '\n'))) {
            snprintf(err, errsize, "header \"%s\": the value has a line break", name);
            ok = false;
        }
        free(s.p);
        if (!ok) return false;
    }
    return true;
}

static void kv_free(kv *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(k[i].name);
        tpl_free(&k[i].value);
    }
    free(k);
}

/* Checks the placeholders in every string of the body template. */
static bool body_check(const mcp_json *v, const mcp_json *args, char *err, size_t errsize)
{
    if (mcp_json_typeof(v) == MCP_JSON_STRING) {
        tpl t = {0};
        bool ok = tpl_parse(&t, mcp_json_str(v, NULL), args, err, errsize);
        tpl_free(&t);
        return ok;
    }
    for (size_t i = 0; i < mcp_json_len(v); i++) {
        const mcp_json *c = mcp_json_typeof(v) == MCP_JSON_ARRAY
                                ? mcp_json_at(v, i)
                                : mcp_json_member(v, i, NULL, NULL);
        if (!body_check(c, args, err, errsize)) return false;
    }
    return true;
}

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

static bool parse_url(httpe *t, const char *url, char *err, size_t errsize)
{
    const char *rest;
    if (!strncmp(url, "http://", 7))
        rest = url + 7;
    else if (!strncmp(url, "https://", 8))
        rest = url + 8;
    else {
        snprintf(err, errsize, "expected an http:// or https:// URL");
        return false;
    }
    const char *end = rest + strcspn(rest, "/?#");
    if (end == rest) {
        snprintf(err, errsize, "the URL has no host");
        return false;
    }
    /* the template's own text goes out as written: a space, control byte or non-ASCII byte in
     * it would make a request line libcurl refuses (or another request) at every call */
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            snprintf(err, errsize,
                     "the URL may hold only printable ASCII (percent-encode the rest): byte "
                     "0x%02x at offset %zu",
                     (unsigned char)*p, (size_t)(p - url));
            return false;
        }
    }
    if (memchr(url, '{', (size_t)(end - url))) {
        snprintf(err, errsize,
                 "the scheme, host and port must be fixed, not filled from an "
                 "argument (placeholders may follow the host)");
        return false;
    }
    if (*end == '#' || strchr(end, '#')) {
        snprintf(err, errsize, "the URL must not have a fragment (#)");
        return false;
    }
    t->origin = strndup(url, (size_t)(end - url));
    if (!t->origin) abort();
    return tpl_parse(&t->path, *end ? end : "/", t->cfg.arguments, err, errsize);
}

static void loop_path_setup(httpe *t);

httpe *httpe_new(const httpe_config *cfg, char *err, size_t errsize, char *key, size_t keysize)
{
    pthread_once(&curl_once, curl_init_once);
    httpe *t = mcpd_xcalloc(1, sizeof *t);
    t->cfg = *cfg;
    char *args_text = mcp_json_text(cfg->arguments, NULL);
    t->args_doc =
        mcp_json_parse(args_text ? args_text : "{}", args_text ? strlen(args_text) : 2, 0, NULL);
    free(args_text);
    const mcp_json *args = mcp_json_root(t->args_doc);
    t->cfg.arguments = args;
    const char *m = cfg->method ? cfg->method : "GET";
    for (size_t i = 0; i < sizeof methods / sizeof *methods && !t->method; i++)
        if (!strcmp(m, methods[i])) t->method = mcpd_xstrdup(m);
    const char *k = "method";
    if (!t->method) {
        snprintf(err, errsize, "expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
        goto fail;
    }
    t->idempotent = strcmp(m, "POST") != 0 && strcmp(m, "PATCH") != 0;
    t->nobody = !strcmp(m, "HEAD");
    k = "url";
    if (!parse_url(t, cfg->url ? cfg->url : "", err, errsize)) goto fail;
    k = "query";
    if (!kv_parse(&t->query, &t->nquery, cfg->query, args, false, err, errsize)) goto fail;
    k = "headers";
    if (!kv_parse(&t->headers, &t->nheaders, cfg->headers, args, true, err, errsize)) goto fail;
    k = "body";
    if (cfg->body) {
        if (t->nobody || !strcmp(m, "GET")) {
            snprintf(err, errsize, "a %s request has no body", m);
            goto fail;
        }
        if (!body_check(cfg->body, args, err, errsize)) goto fail;
        char *bt = mcp_json_text(cfg->body, NULL);
        t->body = mcp_json_parse(bt, strlen(bt), 0, NULL);
        free(bt);
    }
    t->body_type = mcpd_xstrdup(cfg->body_type ? cfg->body_type : "application/json");
    if (!t->cfg.retries_set) t->cfg.retries = DEFAULT_RETRIES;
    if (!t->cfg.backoff_ms) t->cfg.backoff_ms = DEFAULT_BACKOFF_MS;
    if (!t->cfg.max_backoff_ms) t->cfg.max_backoff_ms = DEFAULT_MAX_BACKOFF;
    if (!t->cfg.connect_timeout_ms) t->cfg.connect_timeout_ms = DEFAULT_CONNECT_MS;
    if (!t->cfg.max_response_bytes) t->cfg.max_response_bytes = DEFAULT_MAX_RESPONSE;
    t->cfg.method = t->method;
    t->cfg.url = NULL;
    t->cfg.query = t->cfg.headers = t->cfg.body = NULL;
    t->cfg.body_type = t->body_type;
    t->up = upstream_ref(cfg->upstream.name ? cfg->upstream.name : t->origin, &cfg->upstream);
    loop_path_setup(t);
    return t;
fail:
    if (key && keysize) snprintf(key, keysize, "%s", k);
    httpe_free(t);
    return NULL;
}

void httpe_free(httpe *t)
{
    if (!t) return;
    hclient_target_unref(t->hct);
    free(t->fixed_head);
    upstream_unref(t->up);
    tpl_free(&t->path);
    kv_free(t->query, t->nquery);
    kv_free(t->headers, t->nheaders);
    mcp_json_doc_free(t->body);
    mcp_json_doc_free(t->args_doc);
    free(t->body_type);
    free(t->origin);
    free(t->method);
    free(t);
}

const char *httpe_upstream_name(const httpe *t)
{
    return t->up->name;
}

/* ---- building a request -----------------------------------------------------------------------
 */
static bool body_fill(mcp_jw *w, const mcp_json *v, const mcp_json *args, char *err,
                      size_t errsize);

/* Writes a body string: "{name}" alone is the typed value (absent: null), otherwise text. */
static bool body_string(mcp_jw *w, const char *s, const mcp_json *args, char *err, size_t errsize)
{
    size_t pl = placeholder_len(s);
    if (pl && pl == strlen(s)) {
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)(pl - 2), s + 1);
        const mcp_json *v = mcp_json_get(args, name);
        if (v)
            mcp_jw_value(w, v);
        else
            mcp_jw_null(w);
        return true;
    }
    tpl t = {0};
    mcpd_sbuf out = {0};
    /* placeholders were checked at configure; ENC_TEXT refuses nothing */
    bool ok = tpl_parse(&t, s, NULL, err, errsize) &&
              tpl_fill(&t, args, ENC_TEXT, &out, NULL, "the body", err, errsize);
    if (ok) mcp_jw_stringn(w, out.p ? out.p : "", out.len);
    free(out.p);
    tpl_free(&t);
    return ok;
}

static bool body_fill(mcp_jw *w, const mcp_json *v, const mcp_json *args, char *err, size_t errsize)
{
    switch (mcp_json_typeof(v)) {
    case MCP_JSON_STRING:
        return body_string(w, mcp_json_str(v, NULL), args, err, errsize);
    case MCP_JSON_ARRAY:
        mcp_jw_array(w);
        for (size_t i = 0; i < mcp_json_len(v); i++)
            if (!body_fill(w, mcp_json_at(v, i), args, err, errsize)) return false;
        mcp_jw_array_end(w);
        return true;
    case MCP_JSON_OBJECT:
        mcp_jw_object(w);
        for (size_t i = 0; i < mcp_json_len(v); i++) {
            const char *key;
            size_t klen;
            const mcp_json *m = mcp_json_member(v, i, &key, &klen);
            const char *s = mcp_json_str(m, NULL);
            size_t pl = s ? placeholder_len(s) : 0;
            if (pl && pl == strlen(s)) { /* "{name}": the member goes when the argument is absent */
                char name[80];
                snprintf(name, sizeof name, "%.*s", (int)(pl - 2), s + 1);
                if (!mcp_json_get(args, name)) continue;
            }
            mcp_jw_keyn(w, key, klen);
            if (!body_fill(w, m, args, err, errsize)) return false;
        }
        mcp_jw_object_end(w);
        return true;
    default:
        mcp_jw_value(w, v);
        return true;
    }
}

/* Appends the URL (with its origin, or from its path on) to url. */
static bool build_url(const httpe *t, const mcp_json *args, bool origin, mcpd_sbuf *url, char *err,
                      size_t errsize)
{
    if (origin) mcpd_sb_str(url, t->origin);
    /* the path template, encoded as a path up to '?', as a query after */
    bool in_query = false;
    for (size_t i = 0; i < t->path.n; i++) {
        const seg *s = &t->path.segs[i];
        if (s->lit) {
            mcpd_sb_str(url, s->lit);
            if (strchr(s->lit, '?')) in_query = true;
            continue;
        }
        tpl one = {.segs = (seg *)s, .n = 1};
        if (!tpl_fill(&one, args, in_query ? ENC_QUERY : ENC_PATH, url, NULL, "the URL", err,
                      errsize))
            return false;
    }
    bool first = !in_query;
    for (size_t i = 0; i < t->nquery; i++) {
        const kv *q = &t->query[i];
        const mcp_json *only = q->value.n == 1 && q->value.segs[0].arg
                                   ? mcp_json_get(args, q->value.segs[0].arg)
                                   : NULL;
        size_t reps = mcp_json_typeof(only) == MCP_JSON_ARRAY ? mcp_json_len(only) : 1;
        for (size_t r = 0; r < reps; r++) {
            mcpd_sbuf v = {0};
            bool absent = false;
            if (mcp_json_typeof(only) == MCP_JSON_ARRAY) {
                value_text(&v, mcp_json_at(only, r)); /* a list: the key once per item */
                mcpd_sbuf enc_v = {0};
                encode(&enc_v, v.p ? v.p : "", v.len, ENC_QUERY);
                free(v.p);
                v = enc_v;
            } else if (!tpl_fill(&q->value, args, ENC_QUERY_ALL, &v, &absent, "the query", err,
                                 errsize)) {
                free(v.p);
                return false;
            }
            if (!absent) {
                mcpd_sb_str(url, first ? "?" : "&");
                first = false;
                encode(url, q->name, strlen(q->name), ENC_QUERY);
                mcpd_sb_str(url, "=");
                mcpd_sb_put(url, v.p ? v.p : "", v.len);
            }
            free(v.p);
        }
    }
    return true;
}

/* The body (malloc'd) in *body, or NULL when the template has none or it is one absent
 * argument. Returns false with err set when it cannot be built. */
static bool build_body(const httpe *t, const mcp_json *args, char **body, char *err, size_t errsize)
{
    *body = NULL;
    if (!t->body) return true;
    const char *lone = mcp_json_str(mcp_json_root(t->body), NULL);
    size_t lone_len = lone ? placeholder_len(lone) : 0;
    if (lone_len && lone_len == strlen(lone)) { /* one absent argument: no body at all */
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)(lone_len - 2), lone + 1);
        if (!mcp_json_get(args, name)) return true;
    }
    mcp_jw *w = mcp_jw_new();
    bool ok = body_fill(w, mcp_json_root(t->body), args, err, errsize);
    const char *text = ok ? mcp_jw_text(w, NULL) : NULL;
    if (ok && !text) {
        snprintf(err, errsize, "the body could not be built: %s",
                 mcp_jw_error(w) ? mcp_jw_error(w) : "?");
        ok = false;
    }
    if (ok) *body = mcpd_xstrdup(text);
    mcp_jw_free(w);
    return ok;
}

/* Appends the template's header lines ("Name: value" and eol each; an absent lone
 * placeholder drops its header) to h. */
static bool build_headers(const httpe *t, const mcp_json *args, const char *eol, mcpd_sbuf *h,
                          char *err, size_t errsize)
{
    for (size_t i = 0; i < t->nheaders; i++) {
        bool absent = false;
        const tpl *v = &t->headers[i].value;
        size_t mark = h->len;
        mcpd_sb_str(h, t->headers[i].name);
        mcpd_sb_str(h, ": ");
        char where[160];
        snprintf(where, sizeof where, "the header %s", t->headers[i].name);
        if (!tpl_fill(v, args, ENC_RAW, h, &absent, where, err, errsize)) return false;
        if (absent) {
            h->len = mark;
            if (h->p) h->p[mark] = 0;
            continue;
        }
        mcpd_sb_str(h, eol);
    }
    return true;
}

bool httpe_build(const httpe *t, const mcp_json *args, char **url, char **headers, char **body,
                 char *err, size_t errsize)
{
    mcpd_sbuf u = {0}, h = {0};
    *url = *headers = *body = NULL;
    if (!build_url(t, args, true, &u, err, errsize) ||
        !build_headers(t, args, "\n", &h, err, errsize))
        goto fail;
    if (!build_body(t, args, body, err, errsize)) goto fail;
    *url = mcpd_sb_take(&u);
    *headers = mcpd_sb_take(&h);
    return true;
fail:
    free(u.p);
    free(h.p);
    return false;
}

/* ---- sending ------------------------------------------------------------------------------- */
uint32_t httpe_backoff(uint32_t base, uint32_t max, unsigned attempt, uint64_t rnd)
{
    uint64_t cap = base;
    for (unsigned i = 1; i < attempt && cap < max; i++) cap *= 2;
    if (cap > max) cap = max;
    return (uint32_t)(rnd % (cap + 1));
}

static uint64_t thread_random(void)
{
    static _Thread_local uint64_t s;
    if (!s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)&s ^ 0x9e3779b97f4a7c15ull;
    }
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
}

/* One request from start to done. Made on the caller's thread, then owned by the transfer
 * thread (handed over through the driver's inbox, under its mutex). */
typedef struct job {
    struct job *next, *prev; /* the inbox, then the driver's live list */
    httpe *t;
    CURL *h;
    struct curl_slist *hdrs;
    char *url, *body;
    uint64_t deadline_ms;
    bool (*stop)(void *ud);
    void *ud;
    httpe_done_fn done;
    mcpd_breaker_ticket ticket;
    uv_timer_t backoff; /* between attempts; the job is freed when it has closed */
    struct job *wnext;  /* in the upstream's wait list */
    bool in_multi, has_slot, queued;
    unsigned attempt;
    mcpd_sbuf body_in; /* the response body */
    bool over;         /* it passed max_response_bytes */
    httpe_result r;
} job;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    job *j = ud;
    size_t len = sz * n;
    if (j->body_in.len + len > j->t->cfg.max_response_bytes) {
        j->over = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    mcpd_sb_put(&j->body_in, p, len);
    return len;
}

static struct curl_slist *header_list(const httpe *t, const char *lines, bool has_body)
{
    struct curl_slist *l = NULL;
    char line[8192];
    bool ua = false;
    for (const char *p = lines; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        l = curl_slist_append(l, line);
        ua = ua || !strncasecmp(line, "User-Agent:", 11);
        p += n + (e ? 1 : 0);
    }
    /* ours as a plain header: curl would format its CURLOPT_USERAGENT line anew per request */
    if (!ua) l = curl_slist_append(l, "User-Agent: mcpd/" MCP_VERSION);
    if (has_body) {
        snprintf(line, sizeof line, "Content-Type: %s", t->body_type);
        l = curl_slist_append(l, line);
        l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
    }
    return l;
}

/* ---- the transfer thread ---------------------------------------------------------------------
 * One thread, one libuv loop and one curl multi handle for every upstream: curl's multi socket
 * interface driven by uv_poll handles (one per socket curl watches) and one uv_timer (curl's
 * timeout). Its connection cache is the keep-alive pool of every upstream. A request's handler
 * thread only builds it and passes the guards; it is queued here (a mutex-guarded inbox and a
 * uv_async wake-up) and the handler thread returns. A tick every TICK_MS while requests are in
 * flight polls their stop() (cancellation), since an idle transfer calls no curl callback. */
#define TICK_MS 100

static struct {
    pthread_mutex_t mu; /* inbox, started, users */
    job *inbox, *inbox_tail;
    bool started, stopping;
    size_t users; /* upstreams alive */
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t curl_timer, tick;
    CURLM *multi;
    job *live; /* the loop thread's */
    long max_conns;
    httpe_upstream *admit; /* upstreams whose waiters a loop's freed slot may admit: under mu */
} D = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* A loop freed a slot of u while requests wait for one on the transfer thread: it admits them
 * (at its next wake-up). Any thread. */
static void admit_soon(httpe_upstream *u)
{
    pthread_mutex_lock(&D.mu);
    if (!u->admit_pending && D.started) {
        u->admit_pending = true;
        u->admit_next = D.admit;
        D.admit = u;
        uv_async_send(&D.wake);
    }
    pthread_mutex_unlock(&D.mu);
}

/* u goes: out of the admit list. Caller holds table_mu. */
static void admit_forget(httpe_upstream *u)
{
    pthread_mutex_lock(&D.mu);
    for (httpe_upstream **p = &D.admit; *p; p = &(*p)->admit_next) {
        if (*p == u) {
            *p = u->admit_next;
            break;
        }
    }
    u->admit_pending = false;
    pthread_mutex_unlock(&D.mu);
}

/* A socket curl uses, watched with a uv_poll. curl says "remove" at the end of every transfer
 * and "watch" at the start of the next on the same kept-alive connection; a watch that came
 * and went each time cost an ioctl and three epoll_ctl per request. So a watch lives as long
 * as its socket (curl's closesocket callback ends it): between transfers it stays on reads
 * only, so an idle connection costs nothing, and one that the server closes (readable while
 * curl does not want it) is stopped until curl uses or closes it. The loop thread. */
typedef struct sock_watch {
    uv_poll_t poll;
    curl_socket_t fd;
    int events;      /* what the poll watches now; 0: stopped */
    bool curl_wants; /* curl is waiting on it */
    bool owned;      /* a connection socket made by on_open_socket: its close is ours to see */
} sock_watch;

static sock_watch **watches; /* by descriptor */
static size_t nwatches;

static void check_done(void);

static void on_sock_close(uv_handle_t *h)
{
    free(h->data);
}

static void on_sock(uv_poll_t *p, int status, int events)
{
    sock_watch *w = p->data;
    if (!w->curl_wants) { /* an idle connection the server closed, or junk: curl sees it on reuse */
        uv_poll_stop(&w->poll);
        w->events = 0;
        return;
    }
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else
        flags = (events & UV_READABLE ? CURL_CSELECT_IN : 0) |
                (events & UV_WRITABLE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(D.multi, w->fd, flags, &running);
    check_done();
}

static sock_watch *watch_get(curl_socket_t s)
{
    if ((size_t)s >= nwatches) {
        size_t n = nwatches ? nwatches : 64;
        while (n <= (size_t)s) n *= 2;
        sock_watch **nw = realloc(watches, n * sizeof *nw);
        if (!nw) abort();
        memset(nw + nwatches, 0, (n - nwatches) * sizeof *nw);
        watches = nw;
        nwatches = n;
    }
    sock_watch *w = watches[s];
    if (!w) {
        w = mcpd_xcalloc(1, sizeof *w);
        w->fd = s;
        if (uv_poll_init_socket(&D.loop, &w->poll, s) != 0) {
            free(w);
            return NULL;
        }
        w->poll.data = w;
        watches[s] = w;
    }
    return w;
}

static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sockp)
{
    (void)e, (void)ud, (void)sockp;
    sock_watch *w = watch_get(s);
    if (!w) return -1;
    if (what == CURL_POLL_REMOVE && !w->owned) { /* a resolver's socket: curl closes it itself */
        uv_close((uv_handle_t *)&w->poll, on_sock_close);
        watches[s] = NULL;
        return 0;
    }
    w->curl_wants = what != CURL_POLL_REMOVE;
    int ev = what == CURL_POLL_REMOVE ? UV_READABLE
                                      : (what & CURL_POLL_IN ? UV_READABLE : 0) |
                                            (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    if (ev != w->events) {
        w->events = ev;
        uv_poll_start(&w->poll, ev, on_sock);
    }
    return 0;
}

/* curl opens a connection socket (close-on-exec: mcpd spawns children). Only sockets made here
 * keep their watch between transfers, since only their close is sure to come through
 * on_close_socket; a watch left from a socket closed behind our back goes first. */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)ud, (void)purpose;
    curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (s == CURL_SOCKET_BAD) return s;
    if ((size_t)s < nwatches && watches[s]) {
        uv_close((uv_handle_t *)&watches[s]->poll, on_sock_close);
        watches[s] = NULL;
    }
    sock_watch *w = watch_get(s);
    if (w) w->owned = true;
    return s;
}

/* curl closes a socket: its watch goes first (uv_close takes it out of epoll). */
static int on_close_socket(void *ud, curl_socket_t s)
{
    (void)ud;
    if ((size_t)s < nwatches && watches[s]) {
        uv_close((uv_handle_t *)&watches[s]->poll, on_sock_close);
        watches[s] = NULL;
    }
    return close(s);
}

static void on_curl_timer(uv_timer_t *t)
{
    (void)t;
    int running;
    curl_multi_socket_action(D.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done();
}

static int on_curl_timeout(CURLM *m, long ms, void *ud)
{
    (void)m, (void)ud;
    if (ms < 0)
        uv_timer_stop(&D.curl_timer);
    else
        uv_timer_start(&D.curl_timer, on_curl_timer, (uint64_t)ms, 0);
    return 0;
}

/* Sets what the attempt needs on its handle and adds it to the multi. The handle's fixed
 * options were set when it was made (handle_take); every option a request may change is set
 * here each time, so a handle carries nothing from one request to the next. */
static void attempt_start(job *j)
{
    httpe *t = j->t;
    CURL *h = j->h;
    uint64_t now = mcpd_now_ms();
    long left = j->deadline_ms > now ? (long)(j->deadline_ms - now) : 1;
    long ct = (long)t->cfg.connect_timeout_ms < left ? (long)t->cfg.connect_timeout_ms : left;
    curl_easy_setopt(h, CURLOPT_URL, j->url);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, t->cfg.follow_redirects ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ct);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->hdrs);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->cfg.max_response_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(h, CURLOPT_PRIVATE, j);
    /* the method, from a known state: GET, then a body (which makes it POST), then the rest */
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    if (j->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(j->body));
    } else if (!strcmp(t->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (t->nobody)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(t->method, "GET") && strcmp(t->method, "POST"))
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, t->method);
    j->body_in.len = 0;
    j->over = false;
    j->attempt++;
    j->in_multi = true;
    curl_multi_add_handle(D.multi, h);
}

static bool retryable_status(long s)
{
    return s == 502 || s == 503 || s == 504 || s == 429;
}

/* Whether a failed transfer may be tried again: idempotent methods after any connection
 * failure; others only when nothing was sent (the connection never opened). */
static bool retryable_code(const httpe *t, CURLcode rc)
{
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) return true;
    if (!t->idempotent) return false;
    return rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_PARTIAL_FILE;
}

static void classify(const httpe *t, httpe_result *r, long status);

static void finish_result(job *j, CURLcode rc, long status)
{
    httpe *t = j->t;
    httpe_result *r = &j->r;
    r->http_status = status;
    if (j->over || rc == CURLE_FILESIZE_EXCEEDED) {
        r->status = HTTPE_CLIENT_ERROR;
        snprintf(r->message, sizeof r->message,
                 "the response is larger than the limit of %zu bytes (max_response_bytes)",
                 t->cfg.max_response_bytes);
        return;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        r->status = HTTPE_CANCELLED;
        snprintf(r->message, sizeof r->message, "the request was cancelled");
        return;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        r->status = HTTPE_TIMEOUT;
        snprintf(r->message, sizeof r->message, "%s %s: no answer in time (%s)", t->method,
                 t->up->name, curl_easy_strerror(rc));
        return;
    }
    if (rc != CURLE_OK) {
        r->status = HTTPE_UPSTREAM_ERROR;
        snprintf(r->message, sizeof r->message, "%s %s failed: %s", t->method, t->up->name,
                 curl_easy_strerror(rc));
        return;
    }
    r->body_len = j->body_in.len;
    r->body = mcpd_sb_take(&j->body_in);
    if (!r->body) r->body = mcpd_xstrdup("");
    const char *ct = NULL;
    curl_easy_getinfo(j->h, CURLINFO_CONTENT_TYPE, &ct);
    r->content_type = ct ? mcpd_xstrdup(ct) : NULL;
    classify(t, r, status);
}

/* r holds an answer (status, body, content type): its class and message, on both paths. */
static void classify(const httpe *t, httpe_result *r, long status)
{
    const char *ct = r->content_type;
    r->http_status = status;
    if (ct && (strstr(ct, "application/json") || strstr(ct, "+json"))) r->json = true;
    if (status >= 500) {
        r->status = HTTPE_UPSTREAM_ERROR;
        snprintf(r->message, sizeof r->message, "HTTP %ld from %s: %.300s", status, t->up->name,
                 r->body);
    } else if (status >= 400) {
        r->status = HTTPE_CLIENT_ERROR;
        snprintf(r->message, sizeof r->message, "HTTP %ld from %s: %.300s", status, t->up->name,
                 r->body);
    } else {
        r->status = HTTPE_OK;
    }
}

static void job_free(uv_handle_t *h)
{
    job *j = h->data;
    free(j->body_in.p);
    free(j->url);
    free(j->body);
    free(j);
}

/* Ends j with j->r: gives back the handle, the limiter slot and the breaker ticket, tells the
 * caller and frees j once its timer has closed. The loop thread. */
static void admit_waiters(httpe_upstream *u);

static void job_end(job *j)
{
    httpe_upstream *u = j->t->up;
    if (j->queued) { /* still waiting for a slot */
        job **p = &u->wait_head, *prev = NULL;
        while (*p != j) prev = *p, p = &(*p)->wnext;
        *p = j->wnext;
        if (u->wait_tail == j) u->wait_tail = prev;
        u->nwaiting--;
        j->queued = false;
    }
    if (j->in_multi) curl_multi_remove_handle(D.multi, j->h);
    j->in_multi = false;
    uv_timer_stop(&j->backoff);
    if (j->prev)
        j->prev->next = j->next;
    else
        D.live = j->next;
    if (j->next) j->next->prev = j->prev;
    curl_slist_free_all(j->hdrs);
    curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, NULL);
    handle_give(u, j->h);
    if (j->has_slot) {
        mcpd_limiter_release(u->limiter);
        if (u->wait_head) admit_waiters(u);
    }
    if (j->r.status == HTTPE_CANCELLED || !j->has_slot)
        mcpd_breaker_release(u->breaker, &j->ticket);
    else
        mcpd_breaker_record(u->breaker, mcpd_now_ms(), &j->ticket,
                            j->r.status != HTTPE_UPSTREAM_ERROR && j->r.status != HTTPE_TIMEOUT);
    j->r.attempts = j->attempt;
    /* last: once the caller has its answer, its call may end and the template (and u) go */
    j->done(j->ud, &j->r);
    uv_close((uv_handle_t *)&j->backoff, job_free);
}

/* Starts the requests waiting for u's limiter while it has slots. */
static void admit_waiters(httpe_upstream *u)
{
    while (u->wait_head && mcpd_limiter_try(u->limiter)) {
        job *j = u->wait_head;
        u->wait_head = j->wnext;
        if (!u->wait_head) u->wait_tail = NULL;
        u->nwaiting--;
        j->queued = false;
        j->has_slot = true;
        uv_timer_stop(&j->backoff);
        attempt_start(j);
    }
}

static void on_wait_timeout(uv_timer_t *tm)
{
    job *j = tm->data;
    httpe_upstream *u = j->t->up;
    j->r.status = HTTPE_REFUSED;
    snprintf(j->r.message, sizeof j->r.message,
             "upstream %s is busy: too many concurrent calls (limit %u): no slot freed within "
             "%u ms",
             u->name, u->concurrency, u->queue_wait_ms);
    job_end(j);
}

/* A request that found u's limiter full: it waits (on the transfer thread, FIFO) at most
 * queue_wait_ms and what is left of its time; past the waiters' cap (the limit) it is
 * refused at once. */
static void wait_for_slot(job *j)
{
    httpe_upstream *u = j->t->up;
    if (mcpd_limiter_try(u->limiter)) { /* one was freed meanwhile */
        j->has_slot = true;
        attempt_start(j);
        return;
    }
    uint64_t now = mcpd_now_ms();
    uint64_t wait = j->deadline_ms > now ? j->deadline_ms - now : 0;
    if (wait > u->queue_wait_ms) wait = u->queue_wait_ms;
    if (atomic_load(&u->nwaiting) >= u->concurrency || wait == 0) {
        j->r.status = HTTPE_REFUSED;
        snprintf(j->r.message, sizeof j->r.message,
                 "upstream %s is busy: too many concurrent calls (limit %u, %u more waiting)",
                 u->name, u->concurrency, atomic_load(&u->nwaiting));
        job_end(j);
        return;
    }
    j->queued = true;
    j->wnext = NULL;
    if (u->wait_tail)
        u->wait_tail->wnext = j;
    else
        u->wait_head = j;
    u->wait_tail = j;
    u->nwaiting++;
    uv_timer_start(&j->backoff, on_wait_timeout, wait, 0);
}

static void on_backoff(uv_timer_t *tm)
{
    job *j = tm->data;
    attempt_start(j);
}

/* An attempt of j ended with rc: tries again after a backoff, or ends j. */
static void attempt_done(job *j, CURLcode rc)
{
    httpe *t = j->t;
    long status = 0;
    curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t ra = 0;
    curl_easy_getinfo(j->h, CURLINFO_RETRY_AFTER, &ra);
    curl_multi_remove_handle(D.multi, j->h);
    j->in_multi = false;
    bool again =
        j->attempt <= t->cfg.retries && !j->over &&
        (rc == CURLE_OK ? retryable_status(status) && t->idempotent : retryable_code(t, rc));
    if (again) {
        uint64_t wait = ra > 0 ? (uint64_t)ra * 1000u
                               : httpe_backoff(t->cfg.backoff_ms, t->cfg.max_backoff_ms, j->attempt,
                                               thread_random());
        if (mcpd_now_ms() + wait < j->deadline_ms) { /* time for another try */
            uv_timer_start(&j->backoff, on_backoff, wait, 0);
            return;
        }
    }
    finish_result(j, rc, status);
    job_end(j);
}

static void check_done(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(D.multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        job *j = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        attempt_done(j, m->data.result);
    }
}

/* Cancelled requests: an idle transfer or a backoff calls nothing that would notice. */
static void xfer_tick(uv_timer_t *tm)
{
    if (!D.live) {
        uv_timer_stop(tm);
        return;
    }
    for (job *j = D.live, *next; j; j = next) {
        next = j->next;
        if (!j->stop || !j->stop(j->ud)) continue;
        j->r.status = HTTPE_CANCELLED;
        snprintf(j->r.message, sizeof j->r.message, "the request was cancelled");
        job_end(j);
    }
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, h->type == UV_POLL ? on_sock_close : NULL);
}

static void xfer_wake(uv_async_t *a)
{
    (void)a;
    pthread_mutex_lock(&D.mu);
    job *in = D.inbox;
    D.inbox = D.inbox_tail = NULL;
    bool stop = D.stopping;
    /* under D.mu, so that none of these upstreams is freed meanwhile (admit_forget) */
    for (httpe_upstream *u = D.admit, *next; u; u = next) {
        next = u->admit_next;
        u->admit_pending = false;
        admit_waiters(u);
    }
    D.admit = NULL;
    pthread_mutex_unlock(&D.mu);
    long want = atomic_load(&conns_wanted);
    if (want != D.max_conns) {
        D.max_conns = want;
        curl_multi_setopt(D.multi, CURLMOPT_MAXCONNECTS, want);
    }
    bool any = in != NULL;
    while (in) {
        job *j = in;
        in = j->next;
        j->prev = NULL;
        j->next = D.live;
        if (D.live) D.live->prev = j;
        D.live = j;
        uv_timer_init(&D.loop, &j->backoff);
        j->backoff.data = j;
        if (j->has_slot)
            attempt_start(j);
        else
            wait_for_slot(j);
    }
    if (any && !uv_is_active((uv_handle_t *)&D.tick))
        uv_timer_start(&D.tick, xfer_tick, TICK_MS, TICK_MS);
    if (any) { /* let curl start what was added */
        int running;
        curl_multi_socket_action(D.multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done();
    }
    if (stop) {
        while (D.live) {
            D.live->r.status = HTTPE_CANCELLED;
            snprintf(D.live->r.message, sizeof D.live->r.message, "mcpd is stopping");
            job_end(D.live);
        }
        curl_multi_cleanup(D.multi); /* closes the kept connections (their watches go) */
        D.multi = NULL;
        uv_walk(&D.loop, close_handle, NULL);
        free(watches);
        watches = NULL;
        nwatches = 0;
    }
}

static void *driver_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "mcpd-http");
    uv_run(&D.loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Starts the transfer thread if it does not run. Caller holds D.mu. */
static void driver_start(void)
{
    if (D.started) return;
    if (uv_loop_init(&D.loop) || uv_async_init(&D.loop, &D.wake, xfer_wake)) abort();
    uv_timer_init(&D.loop, &D.curl_timer);
    uv_timer_init(&D.loop, &D.tick);
    D.multi = curl_multi_init();
    if (!D.multi) abort();
    curl_multi_setopt(D.multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(D.multi, CURLMOPT_TIMERFUNCTION, on_curl_timeout);
    D.max_conns = 0;
    D.stopping = false;
    if (pthread_create(&D.thread, NULL, driver_main, NULL) != 0) abort();
    D.started = true;
}

/* Stops the transfer thread (the last upstream went). Caller holds table_mu, not D.mu; never
 * the transfer thread itself (mcpd frees generations on its own loop). */
static void driver_stop(void)
{
    pthread_mutex_lock(&D.mu);
    bool run = D.started && !pthread_equal(pthread_self(), D.thread);
    if (run) {
        D.stopping = true;
        uv_async_send(&D.wake);
    }
    pthread_mutex_unlock(&D.mu);
    if (!run) return;
    pthread_join(D.thread, NULL);
    uv_loop_close(&D.loop);
    pthread_mutex_lock(&D.mu);
    D.started = D.stopping = false;
    pthread_mutex_unlock(&D.mu);
}

/* The upstream's breaker lets the request through (ticket taken), or r says it refused. */
static bool breaker_admits(httpe_upstream *u, mcpd_breaker_ticket *ticket, httpe_result *r)
{
    uint64_t retry_ms;
    char why[300];
    if (mcpd_breaker_allow(u->breaker, mcpd_now_ms(), ticket, &retry_ms, why, sizeof why))
        return true;
    r->status = HTTPE_REFUSED;
    snprintf(r->message, sizeof r->message, "upstream %s is unavailable: %s", u->name, why);
    return false;
}

/* ---- the loop path ----------------------------------------------------------------------------
 * A call that runs inline on one of libmcp's HTTP worker loops (mcp_ctx_loop) sends a plain
 * http:// request from that loop with hclient.c and is finished there from its callback: no
 * thread hand-off. Per loop one lstate (mcp_loop_set): its hclient_loop (the keep-alive pools of
 * every upstream origin used on that loop) and its requests in flight. A registry of the
 * lstates lets httpe_wake_cancelled post a look at the requests to every loop (cancellation
 * comes from another thread); an lstate leaves it in its on_stop, under the registry's mutex,
 * so no post ever goes to a loop that stopped. */

typedef struct ljob ljob;

typedef struct lstate {
    struct lstate *next; /* in the registry */
    mcp_loop *ml;
    hclient_loop *hl;
    ljob *live;
    atomic_bool look_posted;
} lstate;

struct ljob {
    ljob *prev, *next; /* the lstate's live list */
    lstate *ls;
    httpe *t;
    char *req; /* the request's bytes, kept for a retry */
    size_t req_len;
    uint64_t deadline_ms;
    bool (*stop)(void *ud);
    void *ud;
    httpe_done_fn done;
    mcpd_breaker_ticket ticket;
    hclient_req *hr;     /* the attempt in flight */
    uv_timer_t *backoff; /* between attempts; freed with the job */
    unsigned attempt;
    httpe_result r;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static lstate *reg;
static const char lstate_key = 0;

static bool no_proxy_matches(const char *list, const char *host)
{
    size_t hl = strlen(host);
    for (const char *p = list; *p;) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        const char *e = p;
        if (n && *e == '.') e++, n--; /* ".example.com" is "example.com" and below */
        if (n == 1 && *e == '*') return true;
        if (n && n <= hl && !strncasecmp(host + hl - n, e, n) &&
            (n == hl || host[hl - n - 1] == '.'))
            return true;
        p = e + n;
    }
    return false;
}

/* Whether libcurl would send a request to host through a proxy: http_proxy (libcurl ignores
 * HTTP_PROXY), else all_proxy/ALL_PROXY, unless no_proxy/NO_PROXY names the host. */
static bool proxy_applies(const char *host)
{
    const char *p = getenv("http_proxy");
    if (!p || !*p) p = getenv("all_proxy");
    if (!p || !*p) p = getenv("ALL_PROXY");
    if (!p || !*p) return false;
    const char *np = getenv("no_proxy");
    if (!np || !*np) np = getenv("NO_PROXY");
    return !np || !no_proxy_matches(np, host);
}

/* The upstream's target for origin (shared by its templates with that origin). */
static hclient_target *upstream_target(httpe_upstream *u, const char *origin, const char *host,
                                       uint16_t port)
{
    pthread_mutex_lock(&u->mu);
    origin_target *o = u->targets;
    while (o && strcmp(o->origin, origin)) o = o->next;
    hclient_target *t = o ? hclient_target_ref(o->t) : NULL;
    if (!o) {
        char err[160];
        hclient_target_config c = {.host = host, .port = port, .max_idle = u->max_idle};
        t = hclient_target_new(&c, err, sizeof err);
        if (t) {
            o = mcpd_xcalloc(1, sizeof *o);
            o->origin = mcpd_xstrdup(origin);
            o->t = hclient_target_ref(t);
            o->next = u->targets;
            u->targets = o;
        }
    }
    pthread_mutex_unlock(&u->mu);
    return t;
}

static bool has_header(const httpe *t, const char *name)
{
    for (size_t i = 0; i < t->nheaders; i++)
        if (!strcasecmp(t->headers[i].name, name)) return true;
    return false;
}

/* Decides at configure whether t's requests may take the loop path, and prepares it. */
static void loop_path_setup(httpe *t)
{
    if (strncmp(t->origin, "http://", 7) != 0 || t->cfg.follow_redirects) return;
    const char *auth = t->origin + 7, *hp = auth, *colon;
    char host[256];
    size_t hn;
    if (strchr(auth, '@')) return; /* user:password@: libcurl's basic auth */
    if (*auth == '[') {
        const char *e = strchr(auth, ']');
        if (!e) return;
        hp = auth + 1;
        hn = (size_t)(e - hp);
        colon = e[1] == ':' ? e + 1 : NULL;
        if (e[1] && !colon) return;
    } else {
        colon = strchr(auth, ':');
        hn = colon ? (size_t)(colon - auth) : strlen(auth);
    }
    unsigned long port = 80;
    if (colon) {
        char *end;
        port = strtoul(colon + 1, &end, 10);
        if (end == colon + 1 || *end || port == 0 || port > 65535) return;
    }
    if (hn == 0 || hn >= sizeof host) return;
    memcpy(host, hp, hn);
    host[hn] = 0;
    if (proxy_applies(host)) return;
    t->hct = upstream_target(t->up, t->origin, host, (uint16_t)port);
    if (!t->hct) return;
    mcpd_sbuf f = {0};
    mcpd_sb_str(&f, " HTTP/1.1\r\n");
    if (!has_header(t, "Host")) {
        mcpd_sb_str(&f, "Host: ");
        mcpd_sb_str(&f, auth);
        mcpd_sb_str(&f, "\r\n");
    }
    if (!has_header(t, "User-Agent")) mcpd_sb_str(&f, "User-Agent: mcpd/" MCP_VERSION "\r\n");
    if (!has_header(t, "Accept")) mcpd_sb_str(&f, "Accept: */*\r\n");
    t->fixed_head = mcpd_sb_take(&f);
}

bool httpe_loop_eligible(const httpe *t)
{
    return t->hct != NULL;
}

/* The whole request in out: request line, Host and the default headers, the template's
 * headers, Content-Type and Content-Length with a body, the body. */
static bool build_raw(const httpe *t, const mcp_json *args, mcpd_sbuf *out, char *err,
                      size_t errsize)
{
    char *body = NULL;
    if (!build_body(t, args, &body, err, errsize)) return false;
    mcpd_sb_str(out, t->method);
    mcpd_sb_str(out, " ");
    bool ok = build_url(t, args, false, out, err, errsize);
    mcpd_sb_str(out, t->fixed_head);
    ok = ok && build_headers(t, args, "\r\n", out, err, errsize);
    if (ok && body) {
        char line[400];
        size_t n = strlen(body);
        snprintf(line, sizeof line, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", t->body_type,
                 n);
        mcpd_sb_str(out, line);
        mcpd_sb_put(out, body, n);
    } else if (ok) {
        bool wants_length =
            !strcmp(t->method, "POST") || !strcmp(t->method, "PUT") || !strcmp(t->method, "PATCH");
        mcpd_sb_str(out, wants_length ? "Content-Length: 0\r\n\r\n" : "\r\n");
    }
    free(body);
    return ok;
}

static void timer_free(uv_handle_t *h)
{
    free(h);
}

/* Ends j with j->r, as job_end does on the transfer thread. The loop's thread. */
static void ljob_end(ljob *j)
{
    httpe_upstream *u = j->t->up;
    lstate *ls = j->ls;
    if (j->prev)
        j->prev->next = j->next;
    else
        ls->live = j->next;
    if (j->next) j->next->prev = j->prev;
    mcpd_limiter_release(u->limiter);
    if (atomic_load(&u->nwaiting)) admit_soon(u);
    if (j->r.status == HTTPE_CANCELLED)
        mcpd_breaker_release(u->breaker, &j->ticket);
    else
        mcpd_breaker_record(u->breaker, mcpd_now_ms(), &j->ticket,
                            j->r.status != HTTPE_UPSTREAM_ERROR && j->r.status != HTTPE_TIMEOUT);
    j->r.attempts = j->attempt;
    free(j->req);
    uv_timer_t *tm = j->backoff;
    j->done(j->ud, &j->r); /* last: the call may end and the template go */
    if (tm) uv_close((uv_handle_t *)tm, timer_free);
    free(j);
}

static void lattempt(ljob *j);

static void on_lbackoff(uv_timer_t *tm)
{
    lattempt(tm->data);
}

/* An attempt ended (hclient's callback): tries again after a backoff, or ends j. */
static void on_lanswer(void *ud, hclient_err e, hclient_response *resp, const char *msg)
{
    ljob *j = ud;
    httpe *t = j->t;
    httpe_result *r = &j->r;
    j->hr = NULL;
    long status = resp ? resp->status : 0;
    bool again = j->attempt <= t->cfg.retries &&
                 (e == HC_OK ? retryable_status(status) && t->idempotent
                             : e == HC_ECONNECT || (e == HC_EIO && t->idempotent));
    if (again) {
        uint64_t wait = resp && resp->retry_after > 0
                            ? (uint64_t)resp->retry_after * 1000u
                            : httpe_backoff(t->cfg.backoff_ms, t->cfg.max_backoff_ms, j->attempt,
                                            thread_random());
        if (mcpd_now_ms() + wait < j->deadline_ms) {
            if (!j->backoff) {
                j->backoff = mcpd_xcalloc(1, sizeof *j->backoff);
                uv_timer_init(mcp_loop_uv(j->ls->ml), j->backoff);
                j->backoff->data = j;
            }
            uv_timer_start(j->backoff, on_lbackoff, wait, 0);
            return;
        }
    }
    switch (e) {
    case HC_OK:
        r->body = resp->body;
        r->body_len = resp->body_len;
        r->content_type = resp->content_type;
        resp->body = resp->content_type = NULL;
        classify(t, r, status);
        break;
    case HC_ETOOBIG:
        r->status = HTTPE_CLIENT_ERROR;
        snprintf(r->message, sizeof r->message,
                 "the response is larger than the limit of %zu bytes (max_response_bytes)",
                 t->cfg.max_response_bytes);
        break;
    case HC_ETIMEOUT:
        r->status = HTTPE_TIMEOUT;
        snprintf(r->message, sizeof r->message, "%s %s: no answer in time (%s)", t->method,
                 t->up->name, msg);
        break;
    case HC_ESTOPPED:
        r->status = HTTPE_CANCELLED;
        snprintf(r->message, sizeof r->message, "mcpd is stopping");
        break;
    default:
        r->status = HTTPE_UPSTREAM_ERROR;
        snprintf(r->message, sizeof r->message, "%s %s failed: %s", t->method, t->up->name, msg);
    }
    ljob_end(j);
}

/* One attempt: the request's bytes (a copy while another attempt may follow) to hclient. */
static void lattempt(ljob *j)
{
    httpe *t = j->t;
    uint64_t now = mcpd_now_ms();
    j->attempt++;
    hclient_request rq = {.len = j->req_len,
                          .head = t->nobody,
                          .timeout_ms = j->deadline_ms > now ? (uint32_t)(j->deadline_ms - now) : 1,
                          .connect_timeout_ms = t->cfg.connect_timeout_ms,
                          .max_body = t->cfg.max_response_bytes};
    if (j->attempt > t->cfg.retries) { /* the last one: it takes the bytes */
        rq.data = j->req;
        j->req = NULL;
    } else {
        rq.data = malloc(j->req_len);
        if (!rq.data) abort();
        memcpy(rq.data, j->req, j->req_len);
    }
    j->hr = hclient_send(j->ls->hl, t->hct, &rq, on_lanswer, j);
    if (!j->hr) { /* the loop stops */
        j->r.status = HTTPE_CANCELLED;
        snprintf(j->r.message, sizeof j->r.message, "mcpd is stopping");
        ljob_end(j);
    }
}

/* Requests of ls whose stop() turned true end now (a post from httpe_wake_cancelled). */
static void ls_look(void *ud)
{
    lstate *ls = ud;
    atomic_store(&ls->look_posted, false);
    for (ljob *j = ls->live, *next; j; j = next) {
        next = j->next;
        if (!j->stop || !j->stop(j->ud)) continue;
        if (j->hr) hclient_cancel(j->hr);
        j->hr = NULL;
        if (j->backoff) uv_timer_stop(j->backoff);
        j->r.status = HTTPE_CANCELLED;
        snprintf(j->r.message, sizeof j->r.message, "the request was cancelled");
        ljob_end(j);
    }
}

void httpe_wake_cancelled(void)
{
    pthread_mutex_lock(&reg_mu);
    for (lstate *ls = reg; ls; ls = ls->next) {
        if (atomic_exchange(&ls->look_posted, true)) continue; /* one pending look is enough */
        if (mcp_loop_post(ls->ml, ls_look, ls) != 0) atomic_store(&ls->look_posted, false);
    }
    pthread_mutex_unlock(&reg_mu);
}

/* The loop stops (after libmcp's drain): its requests end, its connections close. */
static void ls_stop(mcp_loop *ml, void *data)
{
    (void)ml;
    lstate *ls = data;
    pthread_mutex_lock(&reg_mu);
    for (lstate **p = &reg; *p; p = &(*p)->next) {
        if (*p == ls) {
            *p = ls->next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_mu);
    for (ljob *j = ls->live, *next; j; j = next) { /* those between attempts */
        next = j->next;
        if (j->hr) continue;
        j->r.status = HTTPE_CANCELLED;
        snprintf(j->r.message, sizeof j->r.message, "mcpd is stopping");
        ljob_end(j);
    }
    hclient_loop_close(ls->hl); /* the others: on_lanswer with HC_ESTOPPED */
    free(ls);
}

static lstate *lstate_of(mcp_loop *ml)
{
    lstate *ls = mcp_loop_get(ml, &lstate_key);
    if (ls) return ls;
    struct uv_loop_s *uv = mcp_loop_uv(ml);
    if (!uv) return NULL;
    ls = mcpd_xcalloc(1, sizeof *ls);
    ls->ml = ml;
    ls->hl = hclient_loop_new(uv);
    if (mcp_loop_set(ml, &lstate_key, ls, ls_stop) != 0) {
        hclient_loop_close(ls->hl);
        free(ls);
        return NULL;
    }
    pthread_mutex_lock(&reg_mu);
    ls->next = reg;
    reg = ls;
    pthread_mutex_unlock(&reg_mu);
    return ls;
}

/* The loop path, when it applies now (a free slot of the limiter): true once done is sure to
 * be called; false, having done nothing, to take the transfer thread's path. */
static bool loop_start(httpe *t, const mcp_json *args, uint64_t deadline_ms, mcp_loop *ml,
                       bool (*stop)(void *ud), void *ud, httpe_done_fn done)
{
    httpe_upstream *u = t->up;
    lstate *ls = lstate_of(ml);
    if (!ls || !mcpd_limiter_try(u->limiter)) return false;
    ljob *j = mcpd_xcalloc(1, sizeof *j);
    httpe_result *r = &j->r;
    mcpd_sbuf req = {0};
    if (!build_raw(t, args, &req, r->message, sizeof r->message)) {
        r->status = HTTPE_CLIENT_ERROR;
        goto refused;
    }
    if (!breaker_admits(u, &j->ticket, r)) goto refused;
    atomic_fetch_add(&u->on_loops, 1);
    j->ls = ls;
    j->t = t;
    j->req_len = req.len;
    j->req = mcpd_sb_take(&req);
    j->deadline_ms = deadline_ms;
    j->stop = stop;
    j->ud = ud;
    j->done = done;
    j->next = ls->live;
    if (ls->live) ls->live->prev = j;
    ls->live = j;
    lattempt(j);
    return true;
refused:
    mcpd_limiter_release(u->limiter);
    if (atomic_load(&u->nwaiting)) admit_soon(u);
    free(req.p);
    done(ud, r);
    free(j);
    return true;
}

void httpe_start(httpe *t, const mcp_json *args, uint64_t deadline_ms, mcp_loop *loop,
                 bool (*stop)(void *ud), void *ud, httpe_done_fn done)
{
    if (loop && t->hct && loop_start(t, args, deadline_ms, loop, stop, ud, done)) return;
    job *j = mcpd_xcalloc(1, sizeof *j);
    httpe_result *r = &j->r;
    char *hdr_lines = NULL;
    httpe_upstream *u = t->up;
    if (!httpe_build(t, args, &j->url, &hdr_lines, &j->body, r->message, sizeof r->message)) {
        r->status = HTTPE_CLIENT_ERROR;
        goto refused;
    }
    if (!breaker_admits(u, &j->ticket, r)) goto refused;
    j->has_slot = mcpd_limiter_try(u->limiter); /* else it waits on the transfer thread */
    atomic_fetch_add(&u->on_transfer, 1);
    j->t = t;
    j->h = handle_take(u);
    j->hdrs = header_list(t, hdr_lines, j->body != NULL);
    free(hdr_lines);
    j->deadline_ms = deadline_ms;
    j->stop = stop;
    j->ud = ud;
    j->done = done;
    pthread_mutex_lock(&D.mu);
    driver_start();
    if (D.inbox_tail)
        D.inbox_tail->next = j;
    else
        D.inbox = j;
    D.inbox_tail = j;
    uv_async_send(&D.wake);
    pthread_mutex_unlock(&D.mu);
    return;
refused:
    free(hdr_lines);
    done(ud, r);
    free(j->url);
    free(j->body);
    free(j);
}

void httpe_result_free(httpe_result *r)
{
    free(r->body);
    free(r->content_type);
    r->body = r->content_type = NULL;
}
