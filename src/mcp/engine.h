/* engine.h - the protocol engine as transports see it: messages in, messages out, no I/O.
 *
 * A transport owns one mcp_conn per stdio stream, per legacy HTTP session, or per modern HTTP
 * request. It feeds each incoming message (one JSON text: an object, or a batch array where
 * 2025-03-26 allows) to mcp_conn_handle(), which decodes it, applies the lifecycle and era
 * rules and dispatches it. Everything the engine has to say leaves through the conn's sink:
 * responses, notifications, and requests to the client, each tagged with the transport's tag
 * of the request it belongs to (so Streamable HTTP can put it on that request's POST stream)
 * and with whether it ends that request.
 *
 * Handlers run through the executor the transport supplies (its work pool), or inline for
 * MCP_INLINE handlers; they finish from any thread, so the sink is called from any thread and
 * must hand bytes to its I/O thread safely. The engine never blocks on a handler.
 *
 * Time: the engine keeps no timers. Transports call mcp_conn_tick() now and then (every
 * second is plenty) to expire server-to-client requests that were never answered. */
#ifndef MCP_ENGINE_H
#define MCP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "mcp/mcp.h"

typedef struct mcp_conn mcp_conn;

typedef enum mcp_out_kind {
    MCP_OUT_RESPONSE,     /* a result or error for a client request */
    MCP_OUT_NOTIFICATION, /* progress, log, list_changed, resources/updated, ... */
    MCP_OUT_REQUEST,      /* a server-to-client request (sampling, elicitation, roots, ping) */
    MCP_OUT_CLOSE_STREAM, /* no data: the handler asks that the request's stream be closed now
                             (SEP-1699 polling); later outputs for the tag are to be kept for a
                             resume. Transports without streams ignore it. */
    MCP_OUT_END,          /* no data, final: the request ended without a response (it was
                             cancelled); a transport ends what it holds open for it. */
} mcp_out_kind;

/* Status hints for HTTP: how the transport should answer when this is the only output. */
typedef enum mcp_out_status {
    MCP_STATUS_OK = 0,
    MCP_STATUS_BAD_REQUEST, /* 400: invalid request, header mismatch, missing session data */
    MCP_STATUS_NOT_FOUND,   /* 404: modern unknown method */
    MCP_STATUS_OVERLOADED,  /* 503: work queue full (Retry-After) */
} mcp_out_status;

typedef struct mcp_out {
    const char *data; /* one JSON-RPC message, no trailing newline; valid during the call */
    size_t len;
    mcp_out_kind kind;
    mcp_out_status status;
    void *tag;  /* the tag given with the request this belongs to; NULL if none */
    bool final; /* this response ends the request identified by tag */
    bool whole; /* answers the whole message (a parse error, a rejected batch): never an element
                 * of a batch reply, even when the message began with '[' */
    /* When not NULL: the buffer holding data[0..len), which the sink may take during the
     * call instead of copying the bytes (move the struct out and mcp_buf_init it, or
     * mcp_buf_steal); the engine frees whatever is left in it. Large results go from the
     * handler to the socket this way. */
    mcp_buf *buf;
} mcp_out;

typedef struct mcp_sink {
    /* Called from any thread; must not call back into the engine for the same conn. */
    void (*send)(void *ud, const mcp_out *out);
    void *ud;
} mcp_sink;

/* Runs job(arg) on the transport's work pool. Returns 0, or -EAGAIN when the queue is full
 * (the engine then answers the request with an overloaded error, status MCP_STATUS_OVERLOADED). */
typedef int (*mcp_exec_fn)(void *exec_ud, void (*job)(void *arg), void *arg);

typedef enum mcp_conn_mode {
    MCP_CONN_STDIO,       /* one stream, either era (modern if requests carry _meta version) */
    MCP_CONN_HTTP_LEGACY, /* one legacy session over HTTP */
    MCP_CONN_HTTP_MODERN, /* stateless modern HTTP requests */
} mcp_conn_mode;

typedef struct mcp_conn_options {
    mcp_conn_mode mode;
    mcp_sink sink;
    mcp_exec_fn exec; /* NULL: run handlers inline */
    void *exec_ud;
    uint32_t client_request_timeout_ms; /* server-to-client requests; default 60000 */
    size_t max_message;                 /* bytes of one incoming message; default 4 MiB */
    /* Server-to-client requests (legacy elicitation, sampling, roots) awaiting an answer: at
     * most this many on this conn (default 64) and max_client_requests_total on the whole
     * server (default 4096; the first conn's value counts). A round of mcp_ctx_ask that would
     * pass either fails its call with -32000 "server overloaded" (HTTP 503 when answered as
     * JSON); see docs/limits.md. */
    size_t max_client_requests;
    size_t max_client_requests_total;
} mcp_conn_options;

/* Names the event loop the calling thread runs (an HTTP worker's), so that inline handlers
 * invoked on this thread get it from mcp_ctx_loop; NULL (the default) on other threads.
 * Transports call it once on each of their loop threads, before the first mcp_conn_handle
 * there. The calling thread only. */
void mcp_engine_set_loop(mcp_loop *l);

/* Returns a new conn for server s (refcounted; the transport holds one reference). */
mcp_conn *mcp_conn_new(mcp_server *s, const mcp_conn_options *opts);

/* Per-message context from the transport (HTTP headers that the engine checks). */
typedef struct mcp_msg_info {
    const char *protocol_version_header; /* MCP-Protocol-Version, or NULL */
    const char *method_header;           /* Mcp-Method, or NULL */
    const char *name_header;             /* Mcp-Name, or NULL */
    /* Looks up any other request header by name (case-insensitive); returns its value or NULL.
     * Used for Mcp-Param-* (tool arguments annotated with x-mcp-header). May be NULL. Called
     * only during mcp_conn_handle(). */
    const char *(*get_header)(const void *hctx, const char *name);
    const void *hctx;
    /* What the transport lets through (legacy HTTP, before a session exists or when the one
     * named is unknown): MCP_ADMIT_ALL handles the message; MCP_ADMIT_INITIALIZE only a single
     * initialize request (a message that does not parse, or a request whose _meta protocol
     * version disagrees with the header, is answered as usual); MCP_ADMIT_NONE nothing. A
     * message not let through gets no output: mcp_conn_handle returns MCP_NOT_ADMITTED and
     * writes the message's id as JSON text into id (null when it has none or does not parse),
     * so the transport can answer it from the one parse the engine made. */
    int admit;
    char id[80];           /* out */
    const void *principal; /* who the transport authenticated the message as, or NULL */
    /* Out, when not NULL (an access log): what the message asks, as sent (bounded copies,
     * unescaped): the request's method; params.name, else params.uri (a tool, a prompt, a
     * resource); for a batch, those of its first element and its length. Empty strings when
     * absent or the message does not parse. */
    struct mcp_msg_names *names;
} mcp_msg_info;

#define MCP_NAMES_METHOD_MAX 128
#define MCP_NAMES_NAME_MAX   256
typedef struct mcp_msg_names {
    char method[MCP_NAMES_METHOD_MAX + 1];
    char name[MCP_NAMES_NAME_MAX + 1];
    unsigned batch; /* elements of a batch; 0: not a batch */
} mcp_msg_names;

enum { MCP_ADMIT_ALL = 0, MCP_ADMIT_INITIALIZE, MCP_ADMIT_NONE };
#define MCP_NOT_ADMITTED (-1)

/* The era of a protocol version string: which rules a transport applies to a request that
 * names it (MCP-Protocol-Version). Any thread. */
typedef enum mcp_era {
    MCP_ERA_UNKNOWN = 0, /* not a version this server knows */
    MCP_ERA_LEGACY,      /* 2024-11-05 .. 2025-11-25: initialize and sessions */
    MCP_ERA_MODERN,      /* 2026-07-28: stateless, per-request _meta */
} mcp_era;
mcp_era mcp_version_era(const char *version);

/* Handles one message (msg[0..len), not NUL-terminated). tag identifies it in outputs.
 * info may be NULL. Returns the number of responses that will be sent for it (0 for a
 * notification or a client's response, so HTTP can answer 202 at once; the batch size for a
 * batch), or MCP_NOT_ADMITTED (see mcp_msg_info.admit). Any thread, but one at a time per
 * conn. */
int mcp_conn_handle(mcp_conn *c, const char *msg, size_t len, mcp_msg_info *info, void *tag);

/* The transport's tag is going away (client disconnected): requests under it are cancelled
 * and, once this returns, the sink is never called with that tag again (the sink runs under
 * the conn's lock, which this takes). */
void mcp_conn_cancel_tag(mcp_conn *c, void *tag);

/* Expires unanswered server-to-client requests. now_ms: monotonic milliseconds. */
void mcp_conn_tick(mcp_conn *c, uint64_t now_ms);

/* Server-to-client requests of s awaiting an answer now, and rounds refused since start for
 * being past a bound (max_client_requests, max_client_requests_total). Any thread. */
void mcp_server_client_requests(mcp_server *s, uint64_t *pending, uint64_t *refused);

/* ---- the request observer (metrics, access logs) ------------------------------------------ */

/* How a request ended, as the observer sees it. */
typedef enum mcp_outcome {
    MCP_OUTCOME_OK,         /* answered with a result */
    MCP_OUTCOME_ERROR,      /* answered with a JSON-RPC error (bad params, unknown method, ...) */
    MCP_OUTCOME_TOOL_ERROR, /* a tool result with isError: true */
    MCP_OUTCOME_TIMEOUT,    /* the handler ran past its deadline (answered -32603) */
    MCP_OUTCOME_SHED,       /* refused: the handler queue was full (-32000 / 503) */
    MCP_OUTCOME_CANCELLED,  /* the client cancelled or left; nothing was answered */
    MCP_OUTCOME_COUNT
} mcp_outcome;

/* Names of the outcomes as metric labels: "ok", "error", "tool_error", "timeout", "shed",
 * "cancelled". */
extern const char *const mcp_outcome_names[MCP_OUTCOME_COUNT];

/* One request's begin (end false: outcome and duration_ns are 0) or end. method is the core
 * method's name when it is one the server knows ("tools/call"), else NULL (unknown or
 * extension methods: the transport decides how to label them without an unbounded name).
 * tool: the registered tool's name for a tools/call that named one, else NULL.
 * Strings live only during the call. */
typedef struct mcp_req_event {
    bool end;
    const char *method;
    const char *tool;
    mcp_outcome outcome;
    uint64_t duration_ns;
} mcp_req_event;

/* Called on whichever thread begins or ends a request (I/O thread, handler thread, the
 * sweeper), possibly with the conn's lock held: quick, lock-free, no mcp_* calls. */
typedef void (*mcp_observer_fn)(void *ud, const mcp_req_event *e);

/* Sets s's observer (NULL removes it). Call before serving: the field is read without a
 * lock. One observer per server: a second transport replaces the first's. */
void mcp_server_set_observer(mcp_server *s, mcp_observer_fn fn, void *ud);
/* Removes s's observer if its ud is ud (a transport going away leaves another's in place). */
void mcp_server_unset_observer(mcp_server *s, void *ud);

/* Calls fn(ud, name) for every registered tool, in registration order, under the registry's
 * read lock (fn must not call mcp_*). Returns how many. Any thread. */
size_t mcp_server_each_tool(mcp_server *s, void (*fn)(void *ud, const char *name), void *ud);

/* Calls fn(ud, name) for every request method the engine knows (core and extensions), in
 * table order. Returns how many. Any thread. */
size_t mcp_each_method(void (*fn)(void *ud, const char *name), void *ud);

/* The program's own series (include/mcp/metrics.h) in Prometheus text, appended to b. Any
 * thread. */
void mcp_server_metrics_render(mcp_server *s, mcp_buf *b);

/* The rules last given to mcp_server_set_alert_rules, copied out. */
typedef struct srv_alert_rules {
    uint64_t gen;  /* s->alert_gen they were set with */
    bool defaults; /* set with rules NULL: the transport's default rules */
    size_t n;
    mcp_alert_rule r[64]; /* name and signal point into names[] and signals[] */
    char names[64][64], signals[64][16];
} srv_alert_rules;
/* Copies s's alert rules into out when their generation is not `seen` (so a caller that
 * polls copies only after a change); returns whether it did. Any thread. */
bool srv_alert_rules_get(mcp_server *s, uint64_t seen, srv_alert_rules *out);
/* The generation of s's alert rules (0: never set). Any thread. */
uint64_t srv_alert_rules_gen(mcp_server *s);

/* Number of requests in flight (handlers not yet finished). */
unsigned mcp_conn_inflight(const mcp_conn *c);

/* True once `initialize` succeeded (legacy). The negotiated version, or NULL. */
bool mcp_conn_initialized(const mcp_conn *c);
const char *mcp_conn_protocol_version(const mcp_conn *c);

/* Ends the conn's subscriptions/listen streams gracefully: each gets its final result
 * (resultType "complete", tagged with its subscription id) before the transport closes them.
 * Call before mcp_conn_close() when the server shuts down. Any thread. */
void mcp_conn_shutdown(mcp_conn *c);

/* Cancels every task of server s that is still running or waiting for input (they end
 * "cancelled"): a shutting-down server keeps no work that no request waits for. Any thread. */
void mcp_server_cancel_tasks(mcp_server *s);

/* A transport stopped with handlers still running on s (they ignored cancellation): from now
 * on mcp_server_free(s) leaves s allocated, since they may still use it. Any thread. */
void mcp_server_abandon(mcp_server *s);

/* Detaches the sink (nothing more is sent), cancels in-flight requests, and drops the
 * transport's reference; memory goes when the last handler finishes. */
void mcp_conn_close(mcp_conn *c);

/* Writes the identity of principal as server s names it (mcp_server_set_principal_id, else its
 * address) into hex as a SHA-256 in hex; "" for NULL. For transports that bind state (legacy
 * sessions) to who made it: equal strings, the same principal. Any thread. */
void mcp_principal_digest(mcp_server *s, const void *principal, char hex[65]);

#endif
