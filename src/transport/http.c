/* http.c - the MCP Streamable HTTP transport: the endpoint and its lifecycle.
 *
 * Both protocol eras are served on one endpoint. Requests arrive on the worker loops of the
 * HTTP server (src/http/server.c); on_request routes them (the endpoint, /metrics, 404), runs
 * the admission pipeline (http_admit.c) and hands them to the rules of their era
 * (http_legacy.c, http_modern.c), which answer through streams (http_stream.c). This file
 * owns the rest of the transport's life: mcp_http_start builds the per-worker state and the
 * work pool, mcp_http_sweep ends idle sessions once a second, mcp_http_stop drains and tears
 * down, and mcp_serve_http waits for signals with a watchdog that bounds the stop. The other
 * files and the lock order are listed in http_internal.h; behaviour, statuses and limits in
 * docs/internals/transport-http.md. */
#include "http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "rt/clock.h"
#include "rt/pool.h"
#include "rt/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_QUEUE_MAX    1024
#define DEFAULT_MAX_SESSIONS 10000
#define DEFAULT_SESSION_IDLE (30u * 60u * 1000u)
#define DEFAULT_KEEPALIVE_MS 15000
#define DEFAULT_DRAIN_MS     10000

_Thread_local wstate *tl_ws;

wstate *http_current_ws(mcp_http *h)
{
    if (!tl_ws) {
        rt_worker *w = rt_worker_current();
        tl_ws = &h->ws[rt_worker_index(w)];
        /* set by the loop thread itself before any stream of it exists; pool threads read it
         * only through a stream, after the pool's queue ordered them */
        tl_ws->w = w;
    }
    return tl_ws;
}

int http_exec(void *ud, void (*fn)(void *), void *arg)
{
    return rt_pool_exec(((mcp_http *)ud)->pool, fn, arg);
}

/* ---- metrics -------------------------------------------------------------------------------- */

static void write_histogram(mcp_buf *b, const uint64_t *lb, uint64_t lc, uint64_t ls);

static void write_metrics(mcp_http *h, mcp_buf *b)
{
    uint64_t req = 0, err = 0, shed = 0, sse = 0, lc = 0, ls = 0, lb[NBUCKETS] = {0};
    for (unsigned i = 0; i < h->nworkers; i++) {
        wcounters *c = &h->ws[i].c;
        req += atomic_load_explicit(&c->requests, memory_order_relaxed);
        err += atomic_load_explicit(&c->errors, memory_order_relaxed);
        shed += atomic_load_explicit(&c->shed, memory_order_relaxed);
        sse += atomic_load_explicit(&c->sse_open, memory_order_relaxed);
        lc += atomic_load_explicit(&c->lat_count, memory_order_relaxed);
        ls += atomic_load_explicit(&c->lat_sum_ns, memory_order_relaxed);
        for (int k = 0; k < NBUCKETS; k++)
            lb[k] += atomic_load_explicit(&c->lat_bucket[k], memory_order_relaxed);
    }
    rt_stats rs;
    rt_workers_stats(http_server_workers(h->hs), &rs);
    rt_pool_stats ps;
    rt_pool_stats_get(h->pool, &ps);
#define METRIC(name, type, help, fmt, v)                                                           \
    mcp_buf_printf(b, "# HELP " name " " help "\n# TYPE " name " " type "\n" name " " fmt "\n", v)
    METRIC("mcpd_http_requests_total", "counter", "MCP requests received.", "%llu",
           (unsigned long long)req);
    METRIC("mcpd_http_errors_total", "counter", "MCP requests answered with an HTTP error.", "%llu",
           (unsigned long long)err);
    METRIC("mcpd_connections_open", "gauge", "Open HTTP connections.", "%llu",
           (unsigned long long)rs.conns_open);
    METRIC("mcpd_connections_accepted_total", "counter", "HTTP connections accepted.", "%llu",
           (unsigned long long)rs.conns_accepted);
    METRIC("mcpd_connections_refused_total", "counter", "Connections closed at once (limit).",
           "%llu", (unsigned long long)rs.conns_refused);
    METRIC("mcpd_http_protocol_errors_total", "counter",
           "Malformed requests, timeouts, I/O errors.", "%llu", (unsigned long long)rs.errors);
    METRIC("mcpd_sessions", "gauge", "Live legacy sessions.", "%zu", atomic_load(&h->nsessions));
    METRIC("mcpd_sessions_created_total", "counter", "Legacy sessions created.", "%llu",
           (unsigned long long)atomic_load(&h->sessions_total));
    METRIC("mcpd_sessions_expired_total", "counter", "Legacy sessions ended by idle time-out.",
           "%llu", (unsigned long long)atomic_load(&h->sessions_expired));
    METRIC("mcpd_sse_streams", "gauge", "Open SSE responses.", "%llu", (unsigned long long)sse);
    METRIC("mcpd_shed_total", "counter", "Requests answered 503 (queue or session limit).", "%llu",
           (unsigned long long)shed);
    METRIC("mcpd_pool_queue_depth", "gauge", "Handler calls waiting for a pool thread.", "%llu",
           (unsigned long long)ps.queued);
    METRIC("mcpd_pool_running", "gauge", "Handler calls running on the pool.", "%llu",
           (unsigned long long)ps.running);
    METRIC("mcpd_pool_rejected_total", "counter", "Handler calls refused: queue full.", "%llu",
           (unsigned long long)ps.rejected);
#undef METRIC
    write_histogram(b, lb, lc, ls);
}

static void write_histogram(mcp_buf *b, const uint64_t *lb, uint64_t lc, uint64_t ls)
{
    mcp_buf_puts(b, "# HELP mcpd_request_duration_seconds Time from request to complete answer.\n"
                    "# TYPE mcpd_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int k = 0; k < NBUCKETS; k++) {
        cum += lb[k];
        mcp_buf_printf(b, "mcpd_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                       http_bucket_le[k], (unsigned long long)cum);
    }
    mcp_buf_printf(b,
                   "mcpd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                   "mcpd_request_duration_seconds_sum %.9f\n"
                   "mcpd_request_duration_seconds_count %llu\n",
                   (unsigned long long)lc, (double)ls / 1e9, (unsigned long long)lc);
}

/* ---- HTTP server callbacks ------------------------------------------------------------------ */

static void on_request(http_request *req, http_response *res, void *ud)
{
    mcp_http *h = ud;
    wstate *ws = http_current_ws(h);
    if (strcmp(req->path, h->path)) {
        if (!strcmp(req->path, "/metrics") && req->method == HTTP_GET && http_host_ok(h, req)) {
            mcp_buf b;
            mcp_buf_init(&b, NULL, 0, 0);
            write_metrics(h, &b);
            http_response_send(res, 200, "text/plain; version=0.0.4", b.data, b.len);
            mcp_buf_free(&b);
            return;
        }
        herr_send(NULL, res, HERR_NOT_FOUND, NULL);
        return;
    }
    atomic_fetch_add_explicit(&ws->c.requests, 1, memory_order_relaxed);
    req_ctx r = {.h = h, .ws = ws, .req = req, .res = res};
    if (http_admit(&r)) return;
    if (r.modern)
        http_modern(&r);
    else
        http_legacy(&r);
}

static void keepalive_tick(rt_worker *w, uint64_t now, void *ud)
{
    mcp_http *h = ud;
    wstate *ws = http_current_ws(h);
    if (ws->waits) hstream_resume_waits(ws, now, false);
    if (now - ws->last_keepalive < h->o.sse_keepalive_ms) return;
    ws->last_keepalive = now;
    hstream_keepalive(ws);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void free_http(mcp_http *h)
{
    for (size_t i = 0; i < h->norigins; i++) free(h->origins[i]);
    for (size_t i = 0; i < h->nhosts; i++) free(h->hosts[i]);
    free(h->path);
    free(h->buckets);
    free(h->ws);
    pthread_rwlock_destroy(&h->sess_lock);
    free(h);
}

/* Fills in the defaults of o; returns false (err set) when o cannot work. */
static bool options_check(mcp_http_options *o, char *err, size_t errsize)
{
    if (!o->host) o->host = "127.0.0.1";
    if (!o->path) o->path = "/mcp";
    if (!o->queue_max) o->queue_max = DEFAULT_QUEUE_MAX;
    if (!o->max_sessions) o->max_sessions = DEFAULT_MAX_SESSIONS;
    if (!o->session_idle_ms) o->session_idle_ms = DEFAULT_SESSION_IDLE;
    if (!o->sse_keepalive_ms) o->sse_keepalive_ms = DEFAULT_KEEPALIVE_MS;
    if (!o->max_body) o->max_body = HTTP_DEFAULT_MAX_BODY;
    if (!o->drain_ms) o->drain_ms = DEFAULT_DRAIN_MS;
    if (o->path[0] != '/') {
        snprintf(err, errsize, "path must start with '/': %s", o->path);
        return false;
    }
    if (o->n_allowed_origins > MAX_ALLOWED || o->n_allowed_hosts > MAX_ALLOWED) {
        snprintf(err, errsize, "at most %d allowed origins and hosts", MAX_ALLOWED);
        return false;
    }
    return true;
}

/* A new transport with o's configuration copied (no threads yet). */
static mcp_http *http_new(mcp_server *srv, const mcp_http_options *o)
{
    mcp_http *h = mcp_xcalloc(1, sizeof *h);
    h->srv = srv;
    h->o = *o;
    h->path = mcp_xstrndup(o->path, strlen(o->path));
    h->o.path = h->path;
    for (size_t i = 0; i < o->n_allowed_origins; i++) {
        if (!strcmp(o->allowed_origins[i], "*")) h->any_origin = true;
        h->origins[h->norigins++] =
            mcp_xstrndup(o->allowed_origins[i], strlen(o->allowed_origins[i]));
    }
    for (size_t i = 0; i < o->n_allowed_hosts; i++) {
        if (!strcmp(o->allowed_hosts[i], "*")) h->any_host = true;
        h->hosts[h->nhosts++] = mcp_xstrndup(o->allowed_hosts[i], strlen(o->allowed_hosts[i]));
    }
    h->o.allowed_origins = h->o.allowed_hosts = NULL;
    h->loopback = http_bind_is_loopback(o->host);
    pthread_rwlock_init(&h->sess_lock, NULL);
    h->nbuckets = 1024;
    while (h->nbuckets < o->max_sessions && h->nbuckets < (1u << 20)) h->nbuckets *= 2;
    h->buckets = mcp_xcalloc(h->nbuckets, sizeof *h->buckets);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    h->nworkers = o->workers ? o->workers : (unsigned)(cores > 0 ? cores : 1);
    h->ws = mcp_xcalloc(h->nworkers, sizeof *h->ws);
    for (unsigned i = 0; i < h->nworkers; i++) {
        h->ws[i].h = h;
        mcp_conn_options co = {.mode = MCP_CONN_HTTP_MODERN,
                               .sink = {.send = http_modern_sink, .ud = &h->ws[i]},
                               .exec = http_exec,
                               .exec_ud = h,
                               .max_message = o->max_body};
        h->ws[i].modern = mcp_conn_new(srv, &co);
    }
    return h;
}

static int http_listen(mcp_http *h)
{
    const mcp_http_options *o = &h->o;
    http_server_config hc = {
        .host = o->host,
        .port = o->port,
        .workers = h->nworkers,
        .max_conns = o->max_conns,
        .header_timeout_ms = o->header_timeout_ms,
        .idle_timeout_ms = o->idle_timeout_ms,
        .limits = {.max_body = o->max_body},
        .on_request = on_request,
        .on_tick = keepalive_tick,
        .ud = h,
    };
    return http_server_start(&h->hs, &hc);
}

mcp_http *mcp_http_start(mcp_server *srv, const mcp_http_options *opts, char *err, size_t errsize)
{
    mcp_http_options o = opts ? *opts : (mcp_http_options){0};
    if (!options_check(&o, err, errsize)) return NULL;
    rt_pool_config pc = {
        .threads = o.threads, .queue_max = (unsigned)o.queue_max, .name = "mcp-http"};
    rt_pool *pool = rt_pool_new(&pc);
    if (!pool) {
        snprintf(err, errsize, "cannot start the work pool: %s", strerror(errno));
        return NULL;
    }
    mcp_http *h = http_new(srv, &o);
    h->pool = pool;
    int rc = http_listen(h);
    if (rc) {
        snprintf(err, errsize, "cannot listen on %s:%d: %s", o.host, o.port, strerror(-rc));
        for (unsigned i = 0; i < h->nworkers; i++) mcp_conn_close(h->ws[i].modern);
        rt_pool_free(h->pool);
        free_http(h);
        return NULL;
    }
    bool v6 = strchr(o.host, ':') != NULL;
    mcp_log(MCP_LOGL_INFO, "http: listening on http://%s%s%s:%d%s", v6 ? "[" : "", o.host,
            v6 ? "]" : "", http_server_port(h->hs), h->path);
    return h;
}

int mcp_http_port(const mcp_http *h)
{
    return http_server_port(h->hs);
}

/* Ends idle sessions; expires unanswered server-to-client requests. Any non-worker thread. */
void mcp_http_sweep(mcp_http *h)
{
    uint64_t now = rt_now_ms();
    size_t cap = 64, n = 0;
    session **expired = mcp_xmalloc(cap * sizeof *expired);
    pthread_rwlock_rdlock(&h->sess_lock);
    for (size_t b = 0; b < h->nbuckets; b++)
        for (session *s = h->buckets[b]; s; s = s->hnext) {
            mcp_conn_tick(s->conn, now);
            uint64_t last = atomic_load_explicit(&s->last_active, memory_order_relaxed);
            if (atomic_load(&s->active) <= 0 && now > last && now - last >= h->o.session_idle_ms &&
                !session_listening(s, now)) {
                if (n == cap) expired = mcp_xrealloc(expired, (cap *= 2) * sizeof *expired);
                atomic_fetch_add(&s->refs, 1);
                expired[n++] = s;
            }
        }
    pthread_rwlock_unlock(&h->sess_lock);
    for (size_t i = 0; i < n; i++) {
        if (session_end(h, expired[i])) {
            atomic_fetch_add(&h->sessions_expired, 1);
            mcp_log(MCP_LOGL_DEBUG, "http: session %.8s... expired", expired[i]->id);
        }
        session_unref(expired[i]);
    }
    free(expired);
}

static unsigned inflight(mcp_http *h)
{
    unsigned n = 0;
    for (unsigned i = 0; i < h->nworkers; i++) n += mcp_conn_inflight(h->ws[i].modern);
    pthread_rwlock_rdlock(&h->sess_lock);
    for (size_t b = 0; b < h->nbuckets; b++)
        for (session *s = h->buckets[b]; s; s = s->hnext) n += mcp_conn_inflight(s->conn);
    pthread_rwlock_unlock(&h->sess_lock);
    return n;
}

static void end_worker_streams(void *arg)
{
    hstream_end_worker(arg);
}

void mcp_http_stop(mcp_http *h)
{
    if (!h) return;
    atomic_store(&h->draining, true);
    http_server_stop_accepting(h->hs);
    mcp_server_cancel_tasks(h->srv); /* tasks are not requests: nobody waits on them here */
    uint64_t deadline = rt_now_ms() + h->o.drain_ms;
    unsigned n;
    while ((n = inflight(h)) > 0 && rt_now_ms() < deadline) usleep(5000);
    if (n)
        mcp_log(MCP_LOGL_WARN, "http: %u requests still in flight after %u ms; abandoning them", n,
                h->o.drain_ms);
    /* listen streams get their final result; then every SSE response ends */
    for (unsigned i = 0; i < h->nworkers; i++) mcp_conn_shutdown(h->ws[i].modern);
    usleep(20000);
    for (unsigned i = 0; i < h->nworkers; i++)
        rt_worker_post(rt_workers_get(http_server_workers(h->hs), i), end_worker_streams,
                       &h->ws[i]);
    usleep(50000); /* let the last chunks reach the sockets */
    /* no sink call may happen once the server stops: close every conn first */
    for (;;) {
        session *s = NULL;
        pthread_rwlock_rdlock(&h->sess_lock);
        for (size_t b = 0; b < h->nbuckets && !s; b++)
            if (h->buckets[b]) {
                s = h->buckets[b];
                atomic_fetch_add(&s->refs, 1);
            }
        pthread_rwlock_unlock(&h->sess_lock);
        if (!s) break;
        session_end(h, s);
        session_unref(s);
    }
    for (unsigned i = 0; i < h->nworkers; i++) mcp_conn_close(h->ws[i].modern);
    http_server_stop(h->hs);
    rt_pool_shutdown(h->pool, true);
    rt_pool_free(h->pool);
    free_http(h);
    mcp_log(MCP_LOGL_INFO, "http: stopped");
}

/* ---- mcp_serve_http: signals and the sweeper ------------------------------------------------- */

/* Watches a stop: a handler that ignores cancellation must not keep the process alive past
 * the drain deadline, and a second signal means "now". Either ends the process with _exit(0)
 * after a log line: nothing can be freed while a handler may still run on it. */
typedef struct stop_watch {
    int sigfd;
    uint32_t grace_ms;
    atomic_bool done;
} stop_watch;

#define STOP_GRACE_MS 5000 /* after drain_ms: streams end, sessions close, the pool joins */

static void *stop_watchdog(void *arg)
{
    stop_watch *sw = arg;
    char drain[64];
    while (read(sw->sigfd, drain, sizeof drain) > 0) { /* the signal that started the stop */
    }
    uint64_t end = rt_now_ms() + sw->grace_ms;
    while (!atomic_load(&sw->done)) {
        uint64_t now = rt_now_ms();
        if (now >= end) {
            mcp_log(MCP_LOGL_ERROR,
                    "http: handlers still running %u ms after the stop began; exiting without them",
                    sw->grace_ms);
            _exit(0);
        }
        struct pollfd p = {.fd = sw->sigfd, .events = POLLIN};
        int t = (int)(end - now < 100 ? end - now : 100);
        if (poll(&p, 1, t) > 0 && !atomic_load(&sw->done)) {
            mcp_log(MCP_LOGL_WARN, "http: second signal: exiting now");
            _exit(0);
        }
    }
    return NULL;
}

int mcp_serve_http(mcp_server *s, const mcp_http_options *opts)
{
    rt_signals sig;
    if (rt_signals_open(&sig) < 0) return 1;
    char err[256] = "";
    mcp_http *h = mcp_http_start(s, opts, err, sizeof err);
    int rc = 0;
    if (!h) {
        mcp_log(MCP_LOGL_ERROR, "http: %s", err);
        rc = 1;
    } else {
        struct pollfd p = {.fd = sig.fd, .events = POLLIN};
        while (poll(&p, 1, 1000) <= 0) mcp_http_sweep(h); /* once a second, and on EINTR */
        mcp_log(MCP_LOGL_INFO, "http: signal received, finishing in-flight work");
        uint32_t drain_ms = opts && opts->drain_ms ? opts->drain_ms : DEFAULT_DRAIN_MS;
        stop_watch sw = {.sigfd = sig.fd, .grace_ms = drain_ms + STOP_GRACE_MS};
        atomic_init(&sw.done, false);
        int fl = fcntl(sig.fd, F_GETFL);
        if (fl >= 0) fcntl(sig.fd, F_SETFL, fl | O_NONBLOCK);
        pthread_t wt;
        bool watching = pthread_create(&wt, NULL, stop_watchdog, &sw) == 0;
        mcp_http_stop(h);
        atomic_store(&sw.done, true);
        if (watching) pthread_join(wt, NULL);
    }
    rt_signals_close(&sig);
    return rc;
}
