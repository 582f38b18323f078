/* http_internal.h - what the files of the Streamable HTTP transport share (private).
 *
 * The transport is split by job, one file each (docs/internals/transport-http.md):
 *   http.c          the endpoint and lifecycle: start, stop, serve, signal watchdog
 *   http_admit.c    the admission pipeline: Origin/Host guard, shutdown, media types
 *   http_errors.c   the one table of error answers (HTTP status, JSON-RPC code, message)
 *   http_session.c  the session table (legacy era), its expiry and tick timers
 *   http_stream.c   streams: the engine's sink, SSE events, replay, the pump, resumes
 *   http_legacy.c   legacy-era rules (2024-11-05 .. 2025-11-25): sessions, GET, DELETE
 *   http_modern.c   modern-era rules (2026-07-28): stateless POST
 *   http_admin.c    /metrics, /health, /ready, /status(.json), the admin listener, and the
 *                   per-method and per-tool series fed by the engine's observer
 *   http_access.c   the access log's MCP side: each request's note, its record, the writer
 *
 * Lock order: session handle lock, engine conn lock, session lock, stream lock. Nothing that
 * holds a later lock takes an earlier one. The session table's rwlock comes before them all
 * (a session's tick entry locks sessions and streams under its read side); nothing takes it
 * holding one. */
#ifndef MCP_TRANSPORT_HTTP_INTERNAL_H
#define MCP_TRANSPORT_HTTP_INTERNAL_H

#include "base/buf.h"
#include "http/server.h"
#include "mcp/engine.h"
#include "mcp/mcp.h"
#include "rt/metrics.h"
#include "rt/monitor.h"
#include "rt/pool.h"
#include "rt/timer.h"
#include "transport/access_log.h"
#include "transport/errors.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define REPLAY_EVENTS        256        /* default mcp_http_options.replay_events */
#define REPLAY_BYTES         (1u << 20) /* default mcp_http_options.replay_bytes */
#define REPLAY_TTL_MS        300000     /* default mcp_http_options.replay_ttl_ms */
#define SESSION_REPLAY_BYTES (4u << 20) /* events a session keeps, all streams together */
#define SESSION_MAX_STREAMS  64         /* finished POST streams a session keeps */
#define PRUNE_PERIOD_MS      5000       /* a session's tick drops expired events this often */
#define SSE_RETRY_MS         1000
#define RESUME_WAIT_MS       2000
#define MAX_ALLOWED          32
#define SESSION_TICK_MS      1000 /* a session with requests in flight or events kept */

typedef struct hstream hstream;
typedef struct session session;
typedef struct wstate wstate;
typedef struct resume_wait resume_wait;
typedef struct http_admin http_admin;

/* ---- per-worker state ---------------------------------------------------------------------- */

/* The transport's series in its rt_metrics set (src/rt/metrics.h); one shard per worker. */
typedef struct http_metric_ids {
    int requests, errors, shed, sse_open, latency, bytes_in;
} http_metric_ids;

struct wstate {
    mcp_http *h;
    rt_worker *w;
    mcp_conn *modern;   /* the stateless conn of this worker */
    bool modern_closed; /* closed by the stop (its tick stops) */
    hstream *sse;       /* SSE responses open on this worker (keep-alives, shutdown) */
    resume_wait *waits; /* resumes waiting for their stream's old response to go */
    uint64_t last_keepalive;
    unsigned idx; /* worker index: its metrics shard */
    /* The last Host value the guard let through on this worker (clients send the same one on
     * every request): the same bytes pass again without a parse. Loop thread only. */
    char host_ok[64];
    size_t host_ok_len; /* 0: none yet */
};

/* ---- streams ------------------------------------------------------------------------------- */

enum { MODE_UNDECIDED, MODE_JSON, MODE_SSE };

typedef struct event {
    struct event *next;
    uint64_t seq;
    uint64_t t_ms; /* when it was made (the replay window's time bound) */
    size_t len;
    char data[]; /* the whole SSE event, "id: ..\ndata: ..\n\n" */
} event;

/* One request's answer (or a standalone/listen stream). Refcounted: the request (until its
 * response is complete or aborted), a pending wakeup, the session's list (legacy, while it may
 * be resumed) each hold one. */
struct hstream {
    _Atomic unsigned refs;
    pthread_mutex_t lock;
    mcp_http *h;
    session *sess; /* legacy: holds a reference; NULL in the modern era */
    uint32_t num;  /* stream number within the session (0: the standalone GET stream) */
    bool accept_json, accept_sse, batch, legacy, priming, standalone;
    uint64_t t0_ns;
    /* under lock */
    int mode;
    int expected;      /* responses this request will get; -1 until known (batches) */
    int nresp, nend;   /* responses written; requests ended without one (cancelled) */
    bool final;        /* every response is in */
    bool close_req;    /* the handler closed the stream (SEP-1699) */
    bool wake_pending; /* a pump is posted or scheduled */
    bool counted;      /* counted in the session's active requests */
    mcp_buf json;      /* MODE_JSON: the body */
    int json_status;
    event *ev_head, *ev_tail; /* SSE events, oldest first (legacy: kept for replay) */
    size_t nev, ev_bytes;
    uint64_t seq;      /* last event seq assigned */
    uint64_t sent_seq; /* last seq written to the attached response */
    http_response *res;
    wstate *ws;                           /* the worker owning res (NULL: detached) */
    bool started;                         /* res has its SSE head */
    int rpc_error;                        /* first JSON-RPC error answered (access log) */
    char extra_name[32], extra_value[48]; /* one header for the head (Mcp-Session-Id) */
    /* loop thread of ws only */
    hstream *wprev, *wnext; /* in ws->sse */
    /* under the session's lock */
    hstream *snext;
};

/* ---- sessions ------------------------------------------------------------------------------ */

struct session {
    _Atomic unsigned refs;
    char id[33];
    char principal[65]; /* who initialized it (mcp_principal_digest; "" without auth): only
                           the same principal may use the session */
    mcp_http *h;
    mcp_conn *conn;
    pthread_mutex_t handle_lock; /* one mcp_conn_handle at a time */
    pthread_mutex_t lock;        /* the fields below */
    hstream *streams;            /* POST streams that may be resumed */
    unsigned nstreams;
    uint32_t next_num;
    hstream *get; /* the standalone stream, once a GET opened it */
    bool ended;
    _Atomic int active; /* requests in flight */
    _Atomic uint64_t last_active;
    _Atomic size_t retained; /* bytes of events its streams keep for replay */
    uint64_t next_prune;     /* its tick entry's thread only */
    session *hnext;          /* hash chain */
    /* Timers (http_session.c). The expiry entry lives in the home worker's heap (the worker
     * that created the session) and holds a reference while armed; it is re-armed lazily
     * (activity only stores last_active). The tick entry runs mcp_conn_tick once a second
     * (and prunes its replay window) while it has requests in flight or events kept, in the
     * heap of the worker that set ticking (then the only one to touch it until it clears
     * ticking); it holds a reference too. */
    wstate *home;
    rt_timer expiry;
    rt_timer tick;
    wstate *tick_ws;
    _Atomic bool ticking;
};

struct mcp_http {
    mcp_server *srv;
    mcp_http_options o;
    char *path;
    char *origins[MAX_ALLOWED], *hosts[MAX_ALLOWED];
    size_t norigins, nhosts;
    bool any_origin, any_host, loopback;
    http_server *hs;
    rt_pool *pool;
    unsigned nworkers;
    wstate *ws; /* nworkers */
    _Atomic bool draining;
    pthread_rwlock_t sess_lock;
    session **buckets;
    size_t nbuckets;
    _Atomic size_t nsessions;
    _Atomic uint64_t sessions_total, sessions_expired;
    rt_metrics *metrics;
    http_metric_ids mid;
    rt_monitor *mon;              /* http_monitor.c: alert rules, /ready */
    uint64_t alert_gen;           /* http_monitor.c: the server's alert rules applied */
    int queue_wait_id;            /* histogram: handler calls' wait for a pool thread */
    http_admin *admin;            /* http_admin.c: per-request series, admin listener */
    pthread_mutex_t sweep_run_mu; /* held during an embedder's mcp_http_sweep */
    access_log *alog;             /* http_access.c: the file or stderr, or NULL */
    bool logging;                 /* an access log or hook: requests carry notes */
};

/* What the access log learns of a request as the transport handles it (http_access.c); the
 * HTTP layer carries it with the response (http_response_set_note) to its end. Loop thread. */
typedef struct access_note {
    mcp_msg_names names; /* filled by the engine's parse */
    int rpc_error;
    char session[ACCESS_SESSION_MAX + 1];
    char principal[ACCESS_PRINCIPAL_MAX + 1];
    bool has_principal;
} access_note;

/* One MCP request on its way through the pipeline (loop thread of ws). */
/* The MCP headers the HTTP layer pre-extracts (http_limits.unique, listed in http.c in this
 * order): http_request.unique[UH_...] is the value, or NULL. */
enum { UH_PROTOCOL_VERSION, UH_SESSION_ID, UH_METHOD, UH_NAME };

typedef struct req_ctx {
    mcp_http *h;
    wstate *ws;
    http_request *req;
    http_response *res;
    const char *pv;  /* MCP-Protocol-Version, or NULL */
    const char *sid; /* Mcp-Session-Id, or NULL (legacy era: read by http_legacy) */
    bool modern;
    bool accept_json, accept_sse; /* what Accept allows (set by the admission's validation) */
    int admit;                    /* mcp_msg_info.admit for the handle call */
    char id[80];                  /* after MCP_NOT_ADMITTED: the body's id as JSON text */
    const void *principal;        /* what mcp_http_options.auth returned, or NULL */
    access_note *note;            /* when logging (the MCP endpoint only), else NULL */
} req_ctx;

/* ---- http.c ---------------------------------------------------------------------------------- */

/* The worker whose loop runs this thread (NULL on other threads until http_current_ws). */
extern _Thread_local wstate *tl_ws;
/* The per-worker state of the calling loop thread. */
wstate *http_current_ws(mcp_http *h);
/* The engine's executor: handler calls go to the transport's pool, queued as tl_client's. */
int http_exec(void *ud, void (*fn)(void *), void *arg);

/* ---- http_monitor.c -------------------------------------------------------------------------- */

/* The client the request being handled on this loop thread belongs to (pool fairness key);
 * set by on_request around the dispatch, 0 elsewhere. */
extern _Thread_local uint64_t tl_client;
/* Sets the fair-degradation fields of the pool's configuration from h->o. */
void http_pool_config(mcp_http *h, rt_pool_config *pc);
/* Registers the queue-wait histogram and builds the monitor from h->o's rules (or the
 * defaults). False with err set when a rule is invalid. Before the transport starts. */
bool http_monitor_setup(mcp_http *h, char *err, size_t errsize);
/* True when no alert is raised; else false with "alert raised: NAME (VALUE), ..." in
 * reason (size bytes). Any thread. */
bool http_monitor_ready(mcp_http *h, char *reason, size_t size);
/* Evaluates the rules when a second has passed. Worker 0's loop thread. */
void http_monitor_tick(mcp_http *h, uint64_t now_ms);

/* ---- http_errors.c --------------------------------------------------------------------------- */

/* Answers res with e (its status, headers and JSON-RPC error body) and counts the error in ws
 * (NULL: not counted). Loop thread of res. */
void herr_send(wstate *ws, http_response *res, herr e, const char *id_json);
/* Counts one error answer (ws NULL: nothing). */
void http_count_error(wstate *ws);
/* Adds delta to the transport's series id in ws's shard. Loop thread of ws. */
void http_metric(wstate *ws, int id, int64_t delta);

/* ---- http_admit.c ---------------------------------------------------------------------------- */

/* True if the comma-separated media range list allows type ("application/json"); NULL (no
 * Accept) allows everything. */
bool http_accepts(const char *accept, const char *type);
/* Both answers for two types in one pass over the list: *a1 for t1, *a2 for t2. */
void http_accepts2(const char *accept, const char *t1, bool *a1, const char *t2, bool *a2);
/* The Origin/Host guard (DNS rebinding), for the endpoint and /metrics alike: answers 403
 * and returns true when the request is refused. */
bool http_guard(req_ctx *r);
/* Runs the admission stages; returns true when one of them answered the request. Sets
 * r->modern. */
bool http_admit(req_ctx *r);
/* Whether a bind address is loopback (the Host guard applies then). */
bool http_bind_is_loopback(const char *host);

/* ---- http_stream.c --------------------------------------------------------------------------- */

hstream *hstream_new(mcp_http *h, session *sess, wstate *ws, http_response *res);
void hstream_ref(hstream *st);
void hstream_unref(hstream *st);
/* The engine's sink for st (any thread, under the conn's lock). */
void hstream_put(hstream *st, const mcp_out *out);
/* Hands the request's body to conn with st as the tag and answers: 202 when nothing will come.
 * With held, an answer ready at return is not written yet: *held says whether the caller must
 * hstream_pump_now(st). Returns mcp_conn_handle's count; on MCP_NOT_ADMITTED (r->admit) the
 * request's reference to st is gone, nothing is answered and r->id holds the body's id. */
int hstream_run(req_ctx *r, mcp_conn *conn, hstream *st, session *sess, bool *held);
void hstream_pump_now(hstream *st);
/* Attaches res to st (loop thread of ws) and sends what follows event seq after (resume) or
 * what comes next. Returns 0, ATTACH_BUSY when st is still attached elsewhere, or
 * ATTACH_EXPIRED when events after `after` have left the replay window (nothing done). */
enum { ATTACH_BUSY = -1, ATTACH_EXPIRED = -2 };
int hstream_attach(wstate *ws, hstream *st, http_response *res, bool resume, uint64_t after);
/* Drops st's events older than cutoff_ms (and, with force_one, its oldest). Returns the bytes
 * freed. Called with st's session lock held (lock order: session, stream). */
size_t hstream_prune(hstream *st, uint64_t cutoff_ms, bool force_one);
/* The creation time of st's oldest stored event, UINT64_MAX when none. Session lock held. */
uint64_t hstream_oldest(hstream *st);
/* Detaches st from its response wherever it is (posted to the owning worker). */
void hstream_end_async(hstream *st);
/* Queues a resume of st that waits for its old response to go (loop thread of ws). */
void hstream_wait_resume(wstate *ws, hstream *st, http_response *res, uint64_t after);
/* Tries the waiting resumes of ws (its loop thread); with force, answers all. */
void hstream_resume_waits(wstate *ws, uint64_t now, bool force);
/* Ends every SSE response open on ws (its loop thread; shutdown). */
void hstream_end_worker(wstate *ws);
/* Writes a keep-alive comment on every SSE response of ws (its loop thread). */
void hstream_keepalive(wstate *ws);
/* Records a request's latency (from t0, rt_now_ns) in ws's histogram. */
void http_record_latency(wstate *ws, uint64_t t0);

/* ---- http_admin.c -----------------------------------------------------------------------------
 */

/* Registers the per-method and per-tool series and becomes the server's observer. */
void http_admin_setup(mcp_http *h);
/* Starts the admin listener if admin_host is set. Returns 0 or a negative errno (err set). */
int http_admin_listen(mcp_http *h, char *err, size_t errsize);
/* Stops the admin listener (before the transport's state goes). */
void http_admin_stop(mcp_http *h);
void http_admin_free(mcp_http *h);
/* Serves /metrics, /health, /ready, /status(.json) on the MCP listener (loopback only);
 * returns true when it answered. Loop thread of r. */
bool http_admin_route(req_ctx *r);
/* Every series in Prometheus text; the status as JSON. Any thread. */
void http_admin_render(mcp_http *h, mcp_buf *b);
void http_admin_status_json(mcp_http *h, mcp_buf *b);

/* ---- http_access.c --------------------------------------------------------------------------- */

/* Opens the access log of h->o (if any) and sets h->logging. False with err set. */
bool http_access_setup(mcp_http *h, char *err, size_t errsize);
/* Gives r a note (logging only). Loop thread of r. */
void http_access_begin(req_ctx *r);
/* Notes r's principal's name, once admitted. */
void http_access_principal(req_ctx *r);
/* Notes the session id's prefix. */
void http_access_session(req_ctx *r, const char *sid);
/* Notes a JSON-RPC error code answered on res (the first one counts). Loop thread of res. */
void http_access_rpc_error(http_response *res, int code);
/* The HTTP layer's on_exchange: formats, writes, calls the hook, frees the note. */
void http_access_exchange(const http_exchange *x, void *ud);
/* The worker's tick: writes its buffered lines. */
void http_access_tick(wstate *ws);
/* Writes every buffer (the workers have stopped); closes with close. */
void http_access_flush(mcp_http *h);
void http_access_close(mcp_http *h);

/* ---- http_session.c -------------------------------------------------------------------------- */

session *session_find(mcp_http *h, const char *id);
session *session_new(mcp_http *h);
void session_ref(session *s);
void session_unref(session *s);
void session_insert(mcp_http *h, session *s);
bool session_end(mcp_http *h, session *s);
void session_drop_stream(session *s, hstream *st);
void session_request_done(session *s);
bool session_listening(session *s, uint64_t now);
/* Applies the replay window's time and session byte bounds to s (its tick entry, once a second;
 * does nothing more often than PRUNE_PERIOD_MS unless s is over its byte bound). */
void session_prune(mcp_http *h, session *s, uint64_t now);
/* Starts s's idle timer on ws (its home from now on); s is about to enter the table. Loop
 * thread of ws. */
void session_start_expiry(wstate *ws, session *s);
/* A request of s was handed to its conn on ws: until nothing is in flight, s's conn is ticked
 * once a second (handler timeouts, unanswered server-to-client requests). Loop thread of ws. */
void session_watch(wstate *ws, session *s);
/* Events were kept for replay in s: its tick entry (which prunes them: session_prune) is
 * armed if it is not, through s's home loop. Any thread; a relaxed load when it is armed. */
void session_watch_any(session *s);
/* Adds a new POST stream to s's resumable list (evicting the oldest finished one past
 * SESSION_MAX_STREAMS) and numbers it. */
void session_add_stream(session *s, hstream *st);
/* The stream numbered num (0: the standalone one), with a reference, or NULL; *expired says
 * whether that number was handed out and its stream has since been forgotten. */
hstream *session_stream(session *s, uint32_t num, bool *expired);
/* The standalone GET stream, created on first use, with a reference; NULL once ended. */
hstream *session_get_stream(session *s);

/* ---- http_legacy.c / http_modern.c ----------------------------------------------------------- */

void http_legacy(req_ctx *r);
void http_modern(req_ctx *r);
void http_modern_sink(void *ud, const mcp_out *out);

#endif
