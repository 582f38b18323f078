/* http.c - the MCP Streamable HTTP transport: the endpoint and its lifecycle.
 *
 * Both protocol eras are served on one endpoint. Requests arrive on the worker loops of the
 * HTTP server (src/http/server.c); on_request routes them (the endpoint, /metrics, 404), runs
 * the admission pipeline (http_admit.c) and hands them to the rules of their era
 * (http_legacy.c, http_modern.c), which answer through streams (http_stream.c). This file
 * owns the rest of the transport's life: mcp_http_start builds the per-worker state and the
 * work pool (no thread of its own: each worker's tick runs its stateless conn's timeouts, and
 * sessions keep deadline entries on the loops' heaps, http_session.c); mcp_http_stop
 * drains and tears down, giving up on handlers that ignore cancellation after drain_ms + 5 s
 * (it then returns MCP_SERVE_ABANDONED and frees nothing they might touch); mcp_serve_http
 * waits for SIGTERM/SIGINT and stops, a second signal cutting the wait short. The library never
 * ends the process: the program decides what an abandoned stop means. The other
 * files and the lock order are listed in http_internal.h; behaviour, statuses and limits in
 * docs/internals/transport-http.md. */
#include "http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/sized.h"
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
#define STOP_GRACE_MS        5000 /* after drain_ms: streams end, sessions close, the pool joins */

_Thread_local wstate *tl_ws;

wstate *http_current_ws(mcp_http *h)
{
    if (!tl_ws) {
        rt_worker *w = rt_worker_current();
        tl_ws = &h->ws[rt_worker_index(w)];
        /* set by the loop thread itself before any stream of it exists; pool threads read it
         * only through a stream, after the pool's queue ordered them */
        tl_ws->w = w;
        mcp_engine_set_loop((mcp_loop *)(void *)w); /* lent to inline handlers (loop_api.c) */
    }
    return tl_ws;
}

int http_exec(void *ud, void (*fn)(void *), void *arg)
{
    return rt_pool_exec_as(((mcp_http *)ud)->pool, tl_client, fn, arg);
}

/* ---- metrics -------------------------------------------------------------------------------- */

enum {
    K_CONNS_OPEN,
    K_CONNS_ACCEPTED,
    K_CONNS_REFUSED,
    K_PROTO_ERRORS,
    K_SESSIONS,
    K_SESSIONS_CREATED,
    K_SESSIONS_EXPIRED,
    K_POOL_QUEUED,
    K_POOL_RUNNING,
    K_POOL_REJECTED,
    K_CONNS_LIMIT,
    K_ACCEPT_PAUSES,
    K_ASKS,
    K_ASKS_REFUSED,
    K_POOL_THREADS,
    K_POOL_THREADS_MAX,
    K_POOL_COMPLETED,
    K_POOL_WAIT_NS,
    K_ALOG_LOST
};

/* Server-to-client requests awaiting answers, and calls refused for having too many. */
static uint64_t read_asks(mcp_http *h, unsigned key)
{
    uint64_t asks = 0, refused = 0;
    mcp_server_client_requests(h->srv, &asks, &refused);
    return key == K_ASKS ? asks : refused;
}

/* The series read from elsewhere when /metrics is rendered. Any thread. */
static uint64_t read_stat(void *ud, unsigned key)
{
    mcp_http *h = ud;
    rt_stats rs = {0};
    rt_pool_stats ps = {0};
    if (key == K_CONNS_LIMIT) return h->hs ? http_server_max_conns(h->hs) * h->nworkers : 0;
    if (key == K_ALOG_LOST) return access_log_errors(h->alog);
    if (key == K_ASKS || key == K_ASKS_REFUSED) return read_asks(h, key);
    if (key >= K_POOL_THREADS) {
        rt_pool_stats_get(h->pool, &ps);
        return key == K_POOL_THREADS       ? ps.live
               : key == K_POOL_THREADS_MAX ? ps.threads
               : key == K_POOL_COMPLETED   ? ps.completed
                                           : ps.wait_ns;
    }
    if ((key <= K_PROTO_ERRORS || key == K_ACCEPT_PAUSES) && h->hs)
        rt_workers_stats(http_server_workers(h->hs), &rs);
    if (key >= K_POOL_QUEUED && key <= K_POOL_REJECTED) rt_pool_stats_get(h->pool, &ps);
    switch (key) {
    case K_ACCEPT_PAUSES:
        return rs.accept_pauses;
    case K_CONNS_OPEN:
        return rs.conns_open;
    case K_CONNS_ACCEPTED:
        return rs.conns_accepted;
    case K_CONNS_REFUSED:
        return rs.conns_refused;
    case K_PROTO_ERRORS:
        return rs.errors;
    case K_SESSIONS:
        return atomic_load(&h->nsessions);
    case K_SESSIONS_CREATED:
        return atomic_load(&h->sessions_total);
    case K_SESSIONS_EXPIRED:
        return atomic_load(&h->sessions_expired);
    case K_POOL_QUEUED:
        return ps.queued;
    case K_POOL_RUNNING:
        return ps.running;
    default:
        return ps.rejected;
    }
}

static void stat_series(mcp_http *h, const char *name, const char *help, bool counter, unsigned key)
{
    rt_metrics_func(h->metrics, name, NULL, help, counter, read_stat, h, key);
}

/* Registers the transport's series, in the order /metrics lists them. */
static void metrics_setup(mcp_http *h)
{
    rt_metrics *m = h->metrics = rt_metrics_new(h->nworkers);
    h->mid.requests =
        rt_metrics_counter(m, "mcpd_http_requests_total", NULL, "MCP requests received.");
    h->mid.errors = rt_metrics_counter(m, "mcpd_http_errors_total", NULL,
                                       "MCP requests answered with an HTTP error.");
    stat_series(h, "mcpd_connections_open", "Open HTTP connections.", false, K_CONNS_OPEN);
    stat_series(h, "mcpd_connections_accepted_total", "HTTP connections accepted.", true,
                K_CONNS_ACCEPTED);
    stat_series(h, "mcpd_connections_refused_total", "Connections closed at once (limit).", true,
                K_CONNS_REFUSED);
    stat_series(h, "mcpd_connections_limit",
                "Most connections open at once (all workers; the fd limit may lower --max-conns).",
                false, K_CONNS_LIMIT);
    stat_series(h, "mcpd_accept_pauses_total",
                "Times accepting paused: out of file descriptors or memory.", true,
                K_ACCEPT_PAUSES);
    stat_series(h, "mcpd_client_requests_pending",
                "Server-to-client requests (elicitation, sampling, roots) awaiting an answer.",
                false, K_ASKS);
    stat_series(h, "mcpd_client_requests_refused_total",
                "Calls failed with 503: too many server-to-client requests awaiting answers.", true,
                K_ASKS_REFUSED);
    stat_series(h, "mcpd_http_protocol_errors_total", "Malformed requests, timeouts, I/O errors.",
                true, K_PROTO_ERRORS);
    stat_series(h, "mcpd_sessions", "Live legacy sessions.", false, K_SESSIONS);
    stat_series(h, "mcpd_sessions_created_total", "Legacy sessions created.", true,
                K_SESSIONS_CREATED);
    stat_series(h, "mcpd_sessions_expired_total", "Legacy sessions ended by idle time-out.", true,
                K_SESSIONS_EXPIRED);
    h->mid.sse_open = rt_metrics_gauge(m, "mcpd_sse_streams", NULL, "Open SSE responses.");
    h->mid.shed = rt_metrics_counter(m, "mcpd_shed_total", NULL,
                                     "Requests answered 503 (queue or session limit).");
    stat_series(h, "mcpd_pool_queue_depth", "Handler calls waiting for a pool thread.", false,
                K_POOL_QUEUED);
    stat_series(h, "mcpd_pool_running", "Handler calls running on the pool.", false,
                K_POOL_RUNNING);
    stat_series(h, "mcpd_pool_rejected_total", "Handler calls refused: queue full.", true,
                K_POOL_REJECTED);
    stat_series(h, "mcpd_pool_threads", "Handler threads alive (they start on demand).", false,
                K_POOL_THREADS);
    h->mid.latency = rt_metrics_histogram(m, "mcpd_request_duration_seconds", NULL,
                                          "Time from request to complete answer.");
    /* utilisation: mcpd_pool_running / mcpd_pool_threads_max; mean queue wait:
     * rate(mcpd_pool_queue_wait_seconds_total) / rate(mcpd_pool_jobs_completed_total) */
    stat_series(h, "mcpd_pool_threads_max", "Most handler threads the pool may start.", false,
                K_POOL_THREADS_MAX);
    stat_series(h, "mcpd_pool_jobs_completed_total", "Handler calls the pool ran.", true,
                K_POOL_COMPLETED);
    rt_metrics_func_ns(m, rt_metrics_func(m, "mcpd_pool_queue_wait_seconds_total", NULL,
                                          "Time handler calls spent queued, all together.", true,
                                          read_stat, h, K_POOL_WAIT_NS));
    h->mid.bytes_in = rt_metrics_counter(m, "mcpd_http_request_body_bytes_total", NULL,
                                         "Request body bytes received at the MCP endpoint.");
    stat_series(h, "mcpd_access_log_lines_lost_total",
                "Access log lines lost to write errors (docs/access-log.md).", true, K_ALOG_LOST);
}

/* ---- HTTP server callbacks ------------------------------------------------------------------ */

/* Who the request is from, for the pool's per-client queues: the principal, else the legacy
 * session, else the peer's address. Never 0. */
static uint64_t client_key(req_ctx *r)
{
    uint64_t k = 0xcbf29ce484222325ull;
    const char *sid;
    if (r->principal) {
        k ^= (uint64_t)(uintptr_t)r->principal;
        k *= 0x100000001b3ull;
    } else if ((sid = r->req->unique[UH_SESSION_ID]) != NULL) {
        for (const char *c = sid; *c; c++) k = (k ^ (unsigned char)*c) * 0x100000001b3ull;
    } else {
        return http_response_peer_key(r->res);
    }
    return k ? k : 1;
}

static void on_request(http_request *req, http_response *res, void *ud)
{
    mcp_http *h = ud;
    wstate *ws = http_current_ws(h);
    req_ctx r = {.h = h, .ws = ws, .req = req, .res = res, .pv = req->unique[UH_PROTOCOL_VERSION]};
    if (strcmp(req->path, h->path)) {
        if (http_admin_route(&r)) return; /* /metrics, /health, /ready, /status(.json) */
        herr_send(NULL, res, HERR_NOT_FOUND, NULL);
        return;
    }
    http_metric(ws, h->mid.requests, 1);
    http_metric(ws, h->mid.bytes_in, (int64_t)req->body_len);
    http_access_begin(&r);
    if (http_admit(&r)) return;
    http_access_principal(&r);
    tl_client = client_key(&r);
    if (r.modern)
        http_modern(&r);
    else
        http_legacy(&r);
    tl_client = 0;
}

static void keepalive_tick(rt_worker *w, uint64_t now, void *ud)
{
    mcp_http *h = ud;
    wstate *ws = http_current_ws(h);
    if (ws->idx == 0) http_monitor_tick(h, now);
    http_access_tick(ws);
    if (!ws->modern_closed) mcp_conn_tick(ws->modern, now); /* handler timeouts; tasks' reaping */
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
    rt_monitor_free(h->mon);
    http_admin_free(h);
    http_access_close(h);
    rt_metrics_free(h->metrics);
    pthread_rwlock_destroy(&h->sess_lock);
    pthread_mutex_destroy(&h->sweep_run_mu);
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
    if (!o->replay_events) o->replay_events = REPLAY_EVENTS;
    if (!o->replay_bytes) o->replay_bytes = REPLAY_BYTES;
    if (!o->replay_ttl_ms) o->replay_ttl_ms = REPLAY_TTL_MS;
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

static void http_sweep(mcp_http *h);

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
    pthread_mutex_init(&h->sweep_run_mu, NULL);
    h->nbuckets = 1024;
    while (h->nbuckets < o->max_sessions && h->nbuckets < (1u << 20)) h->nbuckets *= 2;
    h->buckets = mcp_xcalloc(h->nbuckets, sizeof *h->buckets);
    h->nworkers = o->workers ? o->workers : rt_cpu_count(); /* the affinity mask's CPUs */
    h->ws = mcp_xcalloc(h->nworkers, sizeof *h->ws);
    metrics_setup(h);
    http_admin_setup(h);
    for (unsigned i = 0; i < h->nworkers; i++) {
        h->ws[i].h = h;
        h->ws[i].idx = i;
        mcp_conn_options co = {.mode = MCP_CONN_HTTP_MODERN,
                               .sink = {.send = http_modern_sink, .ud = &h->ws[i]},
                               .exec = http_exec,
                               .exec_ud = h,
                               .max_message = o->max_body,
                               .max_client_requests = o->max_client_requests,
                               .max_client_requests_total = o->max_client_requests_total};
        h->ws[i].modern = mcp_conn_new(srv, &co);
    }
    return h;
}

/* The MCP headers a request may carry once (a repeat is a 400 from the HTTP layer); the order
 * is UH_*'s (http_internal.h). */
static const char *const unique_headers[] = {"mcp-protocol-version", "mcp-session-id", "mcp-method",
                                             "mcp-name", NULL};

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
        .write_timeout_ms = o->write_timeout_ms,
        .max_unsent_output = o->max_unsent_output,
        .limits = {.max_body = o->max_body, .unique = unique_headers},
        .on_request = on_request,
        .on_tick = keepalive_tick,
        .on_exchange = h->logging ? http_access_exchange : NULL,
        .ud = h,
    };
    return http_server_start(&h->hs, &hc);
}

/* Starts h's work pool. Returns 0, or -errno with err set. */
static int pool_start(mcp_http *h, char *err, size_t errsize)
{
    rt_pool_config pc = {
        .threads = h->o.threads, .queue_max = (unsigned)h->o.queue_max, .name = "mcp-http"};
    http_pool_config(h, &pc);
    h->pool = rt_pool_new(&pc);
    if (h->pool) return 0;
    int e = errno;
    snprintf(err, errsize, "cannot start the work pool: %s", strerror(e));
    return -e;
}

mcp_http *mcp_http_start_sz(mcp_server *srv, size_t opts_size, const mcp_http_options *opts,
                            char *err, size_t errsize)
{
    mcp_http_options o;
    if (copy_sized(&o, sizeof o, opts, opts_size)) {
        if (err) snprintf(err, errsize, "%s", SIZED_TOO_NEW("mcp_http_options"));
        errno = EINVAL;
        return NULL;
    }
    if (!options_check(&o, err, errsize)) return NULL;
    mcp_http *h = http_new(srv, &o);
    int rc = http_monitor_setup(h, err, errsize) ? 0 : -EINVAL;
    if (!rc && !http_access_setup(h, err, errsize)) rc = -EINVAL;
    if (!rc) rc = pool_start(h, err, errsize);
    if (!rc && (rc = http_listen(h)) != 0) {
        bool v6 = strchr(o.host, ':') != NULL;
        if (rc == -EADDRINUSE) /* also when another process serves it (rt/loop.c probes) */
            snprintf(err, errsize, "address %s%s%s:%d is already in use", v6 ? "[" : "", o.host,
                     v6 ? "]" : "", o.port);
        else
            snprintf(err, errsize, "cannot listen on %s:%d: %s", o.host, o.port, strerror(-rc));
    } else if (!rc && (rc = http_admin_listen(h, err, errsize)) != 0) {
        http_server_stop(h->hs);
        h->hs = NULL;
    }
    if (rc) {
        for (unsigned i = 0; i < h->nworkers; i++) mcp_conn_close(h->ws[i].modern);
        rt_pool_free(h->pool);
        free_http(h);
        errno = -rc;
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

/* Ends idle sessions; ticks every conn (handler timeouts, unanswered server-to-client
 * requests). The loops' deadline heaps do all of this on time; an embedder's call is a
 * harmless walk. */
void mcp_http_sweep(mcp_http *h)
{
    pthread_mutex_lock(&h->sweep_run_mu);
    http_sweep(h);
    pthread_mutex_unlock(&h->sweep_run_mu);
}

static void http_sweep(mcp_http *h)
{
    uint64_t now = rt_now_ms();
    size_t cap = 64, n = 0;
    session **expired = mcp_xmalloc(cap * sizeof *expired);
    for (unsigned i = 0; i < h->nworkers; i++) mcp_conn_tick(h->ws[i].modern, now); /* timeouts */
    pthread_rwlock_rdlock(&h->sess_lock);
    for (size_t b = 0; b < h->nbuckets; b++)
        for (session *s = h->buckets[b]; s; s = s->hnext) {
            mcp_conn_tick(s->conn, now); /* (replay pruning stays with the tick entries) */
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

/* Closes the worker's stateless conn on its own loop: its tick stops using it at once (the
 * pointer stays: streams of abandoned handlers still name it, and it lives while they do). */
static void close_modern(void *arg)
{
    wstate *ws = arg;
    ws->modern_closed = true;
    mcp_conn_close(ws->modern);
}

/* Stops h; gives up on running handlers at drain_ms + STOP_GRACE_MS or once *hurry. */
static int http_stop(mcp_http *h, const _Atomic bool *hurry)
{
    uint64_t began = rt_now_ms();
    atomic_store(&h->draining, true);
    http_server_stop_accepting(h->hs);
    mcp_server_cancel_tasks(h->srv); /* tasks are not requests: nobody waits on them here */
    uint64_t deadline = began + h->o.drain_ms;
    unsigned n;
    while ((n = inflight(h)) > 0 && rt_now_ms() < deadline && !(hurry && atomic_load(hurry)))
        usleep(5000);
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
    for (unsigned i = 0; i < h->nworkers; i++) /* before the loops stop: no sink call after */
        if (rt_worker_post(rt_workers_get(http_server_workers(h->hs), i), close_modern, &h->ws[i]))
            close_modern(&h->ws[i]);
    http_admin_stop(h); /* served /ready (503) during the drain; reads the pool */
    http_server_stop(h->hs);
    http_access_flush(h); /* the exchanges cut off by the stop are in */
    if (rt_pool_shutdown_until(h->pool, true, began + h->o.drain_ms + STOP_GRACE_MS, hurry)) {
        mcp_log(MCP_LOGL_ERROR,
                "http: handlers still running %llu ms after the stop began; leaving them (what "
                "they use is not freed)",
                (unsigned long long)(rt_now_ms() - began));
        mcp_server_abandon(h->srv); /* and s: mcp_server_free leaves it too */
        return MCP_SERVE_ABANDONED; /* h and its pool stay: a handler may still touch them */
    }
    rt_pool_free(h->pool);
    free_http(h);
    mcp_log(MCP_LOGL_INFO, "http: stopped");
    return MCP_SERVE_OK;
}

int mcp_http_stop(mcp_http *h)
{
    return h ? http_stop(h, NULL) : MCP_SERVE_OK;
}

/* ---- mcp_serve_http: signals ------------------------------------------------------------------
 */

/* During the stop, a second SIGTERM/SIGINT means "now": the stop stops waiting for handlers. */
typedef struct stop_watch {
    int sigfd;
    _Atomic bool hurry, done;
} stop_watch;

static void *stop_watch_main(void *arg)
{
    stop_watch *sw = arg;
    char drain[64];
    while (read(sw->sigfd, drain, sizeof drain) > 0) { /* the signal that started the stop */
    }
    while (!atomic_load(&sw->done)) {
        struct pollfd p = {.fd = sw->sigfd, .events = POLLIN};
        char sig = 0;
        if (poll(&p, 1, 100) <= 0 || atomic_load(&sw->done) || read(sw->sigfd, &sig, 1) != 1 ||
            sig == SIGHUP) /* (a log rotation during the stop: the files are closed soon) */
            continue;
        mcp_log(MCP_LOGL_WARN, "http: second signal: not waiting for handlers any longer");
        atomic_store(&sw->hurry, true);
        break;
    }
    return NULL;
}

int mcp_serve_http_sz(mcp_server *s, size_t opts_size, const mcp_http_options *opts)
{
    rt_signals sig;
    if (rt_signals_open(&sig) < 0) return MCP_SERVE_FAILED;
    char err[256] = "";
    mcp_http *h = mcp_http_start_sz(s, opts_size, opts, err, sizeof err);
    if (!h) {
        int rc = errno == EADDRINUSE ? MCP_SERVE_ADDRINUSE : MCP_SERVE_FAILED;
        mcp_log(MCP_LOGL_ERROR, "http: %s", err);
        rt_signals_close(&sig);
        return rc;
    }
    if (h->alog && h->o.access_log && strcmp(h->o.access_log, "-"))
        rt_signals_take_hup(&sig); /* SIGHUP reopens the access log (rotation) */
    for (;;) {
        struct pollfd p = {.fd = sig.fd, .events = POLLIN};
        char c = 0;
        if (poll(&p, 1, -1) <= 0 || read(sig.fd, &c, 1) != 1) continue; /* EINTR: byte waits */
        if (c != SIGHUP) break;
        mcp_http_reopen_access_log(h);
    }
    mcp_log(MCP_LOGL_INFO, "http: signal received, finishing in-flight work");
    stop_watch sw;
    sw.sigfd = sig.fd;
    atomic_init(&sw.hurry, false);
    atomic_init(&sw.done, false);
    int fl = fcntl(sig.fd, F_GETFL);
    if (fl >= 0) fcntl(sig.fd, F_SETFL, fl | O_NONBLOCK);
    pthread_t wt;
    bool watching = rt_thread_create_quiet(&wt, NULL, stop_watch_main, &sw) == 0;
    int rc = http_stop(h, &sw.hurry);
    atomic_store(&sw.done, true);
    if (watching) pthread_join(wt, NULL);
    rt_signals_close(&sig);
    return rc;
}
