/* http_engine.c - HTTP request templates sent with libcurl through guarded upstreams.
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
 * upstream: a stack of idle curl easy handles (each keeps its connections alive, so the pool
 * is a keep-alive pool), a concurrency limiter with a bounded wait, a circuit breaker, and an
 * optional health check. Upstreams live in a process-wide table with reference counts, so a
 * reload that keeps an upstream with the same settings keeps its warm connections, its
 * limiter and its breaker's state (an open breaker stays open); changed settings (breaker,
 * limits, pool, health check) start a fresh upstream.
 *
 * A run: breaker (refused at once while open, with the time to retry), limiter (bounded
 * wait), then attempts. Idempotent methods retry on connection failures and 502/503/504/429
 * with full-jitter exponential backoff (or the server's Retry-After), never past the deadline;
 * other methods retry only when the connection failed before anything was sent. The response
 * is capped (max_response_bytes, checked on the decoded bytes), transfers poll stop() through
 * curl's progress callback, so a cancellation aborts the transfer. One breaker outcome per run:
 * 5xx after the retries, connection failures and timeouts count as failures; 4xx is the
 * caller's business and counts as a success.
 *
 * Health checks run on one checker (health.c, one loop thread for all upstreams): each probe
 * queues a blocking GET on libuv's pool; an upstream that fails them is held open. */
#include "mcpd/http_engine.h"
#include "mcpd/breaker.h"
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
#include <time.h>

#define DEFAULT_RETRIES      2u
#define DEFAULT_BACKOFF_MS   100u
#define DEFAULT_MAX_BACKOFF  2000u
#define DEFAULT_CONNECT_MS   5000u
#define DEFAULT_MAX_RESPONSE (1u << 20)
#define MAX_TEMPLATE_SEGS    256

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* ---- upstreams ------------------------------------------------------------------------------- */
typedef struct idle_handle {
    struct idle_handle *next;
    CURL *h;
} idle_handle;

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
};

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static httpe_upstream *table;
static mcpd_health *checker;
static size_t checker_users;

static CURL *handle_take(httpe_upstream *u)
{
    pthread_mutex_lock(&u->mu);
    idle_handle *ih = u->idle;
    if (ih) {
        u->idle = ih->next;
        u->nidle--;
    }
    pthread_mutex_unlock(&u->mu);
    if (!ih) {
        CURL *h = curl_easy_init();
        if (!h) abort();
        return h;
    }
    CURL *h = ih->h;
    free(ih);
    curl_easy_reset(h); /* options go; the connection cache stays */
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
    CURL *h = handle_take(u);
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
    handle_give(u, h);
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
    u->limiter = mcpd_limiter_new(c->concurrency ? c->concurrency : 64,
                                  c->queue_wait_ms ? c->queue_wait_ms : 1000, 0);
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    u->max_idle = c->max_idle ? c->max_idle : 16;
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
        u->next = table;
        table = u;
    }
    u->generation = c->generation;
    pthread_mutex_unlock(&table_mu);
    return u;
}

static void upstream_unref(httpe_upstream *u)
{
    if (!u) return;
    pthread_mutex_lock(&table_mu);
    if (--u->refs == 0) {
        upstream_unlink(u);
        upstream_free(u);
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

static void encode(mcpd_sbuf *out, const char *s, size_t n, enc how)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool keep = how == ENC_RAW || how == ENC_TEXT || (c >= 'A' && c <= 'Z') ||
                    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_' || c == '~';
        if (keep) {
            mcpd_sb_put(out, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            mcpd_sb_put(out, e, 3);
        }
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
        value_text(&v, mcp_json_get(args, t->segs[i].arg));
        bool ok = true;
        if (how == ENC_PATH && v.p && (!strcmp(v.p, ".") || !strcmp(v.p, ".."))) {
            snprintf(err, errsize, "argument \"%s\": \"%s\" cannot be a path segment",
                     t->segs[i].arg, v.p);
            ok = false;
        }
        if (how == ENC_RAW && v.len &&
            (memchr(v.p, '\r', v.len) || memchr(v.p, '\n', v.len) || memchr(v.p, '\0', v.len))) {
            snprintf(err, errsize, "argument \"%s\": a line break or NUL cannot go into %s",
                     t->segs[i].arg, where);
            ok = false;
        }
        if (ok) encode(out, v.p ? v.p : "", v.len, how);
        free(v.p);
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
    return t;
fail:
    if (key && keysize) snprintf(key, keysize, "%s", k);
    httpe_free(t);
    return NULL;
}

void httpe_free(httpe *t)
{
    if (!t) return;
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

static bool build_url(const httpe *t, const mcp_json *args, mcpd_sbuf *url, char *err,
                      size_t errsize)
{
    mcpd_sb_str(url, t->origin);
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

bool httpe_build(const httpe *t, const mcp_json *args, char **url, char **headers, char **body,
                 char *err, size_t errsize)
{
    mcpd_sbuf u = {0}, h = {0};
    *url = *headers = *body = NULL;
    if (!build_url(t, args, &u, err, errsize)) goto fail;
    for (size_t i = 0; i < t->nheaders; i++) {
        mcpd_sbuf v = {0};
        bool absent = false;
        char where[160];
        snprintf(where, sizeof where, "the header %s", t->headers[i].name);
        if (!tpl_fill(&t->headers[i].value, args, ENC_RAW, &v, &absent, where, err, errsize)) {
            free(v.p);
            goto fail;
        }
        if (!absent) {
            mcpd_sb_str(&h, t->headers[i].name);
            mcpd_sb_str(&h, ": ");
            mcpd_sb_put(&h, v.p ? v.p : "", v.len);
            mcpd_sb_str(&h, "\n");
        }
        free(v.p);
    }
    const char *lone = mcp_json_str(t->body ? mcp_json_root(t->body) : NULL, NULL);
    size_t lone_len = lone ? placeholder_len(lone) : 0;
    bool no_body = false; /* a body that is one absent argument: no body at all */
    if (lone_len && lone_len == strlen(lone)) {
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)(lone_len - 2), lone + 1);
        no_body = !mcp_json_get(args, name);
    }
    if (t->body && !no_body) {
        mcp_jw *w = mcp_jw_new();
        bool ok = body_fill(w, mcp_json_root(t->body), args, err, errsize);
        const char *text = mcp_jw_text(w, NULL);
        if (!ok) {
            mcp_jw_free(w);
            goto fail;
        }
        if (!text) {
            snprintf(err, errsize, "the body could not be built: %s",
                     mcp_jw_error(w) ? mcp_jw_error(w) : "?");
            mcp_jw_free(w);
            goto fail;
        }
        *body = mcpd_xstrdup(text);
        mcp_jw_free(w);
    }
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

typedef struct xfer {
    mcpd_sbuf body;
    size_t cap;
    bool over;
    bool (*stop)(void *);
    void *ud;
} xfer;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = sz * n;
    if (x->body.len + len > x->cap) {
        x->over = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    mcpd_sb_put(&x->body, p, len);
    return len;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    xfer *x = ud;
    return x->stop && x->stop(x->ud) ? 1 : 0;
}

static bool sleep_until(uint64_t until, bool (*stop)(void *), void *ud)
{
    for (;;) {
        if (stop && stop(ud)) return false;
        uint64_t now = mcpd_now_ms();
        if (now >= until) return true;
        uint64_t ms = until - now > 20 ? 20 : until - now;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static struct curl_slist *header_list(const httpe *t, const char *lines, bool has_body)
{
    struct curl_slist *l = NULL;
    char line[8192];
    for (const char *p = lines; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        l = curl_slist_append(l, line);
        p += n + (e ? 1 : 0);
    }
    if (has_body) {
        snprintf(line, sizeof line, "Content-Type: %s", t->body_type);
        l = curl_slist_append(l, line);
    }
    l = curl_slist_append(l, "Expect:");
    return l;
}

/* One attempt. Returns curl's code; fills status, the body, content type, retry-after. */
static CURLcode attempt(httpe *t, CURL *h, const char *url, struct curl_slist *hdrs,
                        const char *body, uint64_t deadline, xfer *x, long *status,
                        long *retry_after_s)
{
    uint64_t now = mcpd_now_ms();
    long left = deadline > now ? (long)(deadline - now) : 1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, t->cfg.follow_redirects ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)t->cfg.connect_timeout_ms < left ? (long)t->cfg.connect_timeout_ms
                                                            : left);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mcpd/" MCP_VERSION);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->cfg.max_response_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    if (t->nobody) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (!strcmp(t->method, "POST"))
        curl_easy_setopt(h, CURLOPT_POST, 1L);
    else if (strcmp(t->method, "GET") && strcmp(t->method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, t->method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (!strcmp(t->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    x->body.len = 0;
    x->over = false;
    CURLcode rc = curl_easy_perform(h);
    *status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_off_t ra = 0;
    curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra);
    *retry_after_s = (long)ra;
    return rc;
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

static void finish_result(httpe *t, CURL *h, CURLcode rc, long status, xfer *x, httpe_result *r)
{
    r->http_status = status;
    if (x->over || rc == CURLE_FILESIZE_EXCEEDED) {
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
    r->body_len = x->body.len;
    r->body = mcpd_sb_take(&x->body);
    const char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    r->content_type = ct ? mcpd_xstrdup(ct) : NULL;
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

void httpe_run(httpe *t, const mcp_json *args, uint64_t deadline_ms, bool (*stop)(void *ud),
               void *ud, httpe_result *r)
{
    memset(r, 0, sizeof *r);
    char *url, *hdr_lines, *body;
    if (!httpe_build(t, args, &url, &hdr_lines, &body, r->message, sizeof r->message)) {
        r->status = HTTPE_CLIENT_ERROR;
        return;
    }
    httpe_upstream *u = t->up;
    mcpd_breaker_ticket ticket;
    uint64_t retry_ms;
    char why[300];
    if (!mcpd_breaker_allow(u->breaker, mcpd_now_ms(), &ticket, &retry_ms, why, sizeof why)) {
        r->status = HTTPE_REFUSED;
        snprintf(r->message, sizeof r->message, "upstream %s is unavailable: %s", u->name, why);
        goto out;
    }
    uint64_t now = mcpd_now_ms();
    uint32_t cap = deadline_ms > now ? (uint32_t)(deadline_ms - now) : 1;
    if (!mcpd_limiter_acquire(u->limiter, cap, why, sizeof why)) {
        mcpd_breaker_release(u->breaker, &ticket);
        r->status = HTTPE_REFUSED;
        snprintf(r->message, sizeof r->message, "upstream %s is busy: %s", u->name, why);
        goto out;
    }
    CURL *h = handle_take(u);
    struct curl_slist *hdrs = header_list(t, hdr_lines, body != NULL);
    xfer x = {.cap = t->cfg.max_response_bytes, .stop = stop, .ud = ud};
    CURLcode rc;
    long status, retry_after;
    for (unsigned a = 1;; a++) {
        rc = attempt(t, h, url, hdrs, body, deadline_ms, &x, &status, &retry_after);
        r->attempts = a;
        bool again =
            a <= t->cfg.retries && !x.over &&
            (rc == CURLE_OK ? retryable_status(status) && t->idempotent : retryable_code(t, rc));
        if (!again) break;
        uint64_t wait = retry_after > 0 ? (uint64_t)retry_after * 1000u
                                        : httpe_backoff(t->cfg.backoff_ms, t->cfg.max_backoff_ms, a,
                                                        thread_random());
        if (mcpd_now_ms() + wait >= deadline_ms) break; /* no time for another try */
        if (!sleep_until(mcpd_now_ms() + wait, stop, ud)) {
            rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
    }
    finish_result(t, h, rc, status, &x, r);
    free(x.body.p);
    curl_slist_free_all(hdrs);
    handle_give(u, h);
    mcpd_limiter_release(u->limiter);
    if (r->status == HTTPE_CANCELLED)
        mcpd_breaker_release(u->breaker, &ticket);
    else
        mcpd_breaker_record(u->breaker, mcpd_now_ms(), &ticket,
                            r->status != HTTPE_UPSTREAM_ERROR && r->status != HTTPE_TIMEOUT);
out:
    free(url);
    free(hdr_lines);
    free(body);
}

void httpe_result_free(httpe_result *r)
{
    free(r->body);
    free(r->content_type);
    r->body = r->content_type = NULL;
}
