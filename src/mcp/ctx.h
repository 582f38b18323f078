/* ctx.h - the conn (one client stream or session) and the ctx (one request in flight): their
 * structs and the functions that send, finish and free them (engine.c, ctx.c, methods.c).
 * Not a public header. */
#ifndef MCP_CTX_H
#define MCP_CTX_H

#include "mcp/protocol.h"
#include "mcp/registry.h"
#include "rpc/rpc.h"

/* Sanitizer builds (ASan, TSan: the builds tests run in) check MCP_OUTPUT_TRUSTED output. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MCP_CHECK_TRUSTED_OUTPUT 1
#else
#define MCP_CHECK_TRUSTED_OUTPUT 0
#endif

/* ---- the conn ---------------------------------------------------------------------------- */
typedef struct pending_out pending_out;
typedef struct listener listener;

enum { LEGACY_NEW = 0, LEGACY_INITIALIZED = 1, LEGACY_READY = 2 };

struct mcp_conn {
    mcp_server *srv;
    atomic_uint refs;
    uint64_t serial; /* unique per server: what a legacy task is bound to */
    mcp_conn_options opts;
    pthread_mutex_t lock; /* everything below, and every call of the sink */
    bool closed;
    uint8_t state; /* legacy lifecycle */
    char version[16];
    mcp_arena arena;         /* legacy session data (client capabilities) */
    json_value *client_caps; /* legacy: from initialize */
    atomic_int log_level;    /* legacy: logging/setLevel; -1 none */
    char **subs;             /* legacy resources/subscribe URIs (malloc'd) */
    size_t nsubs, subs_cap;
    mcp_ctx *inflight; /* requests in flight, doubly linked */
    unsigned ninflight;
    pending_out *pending; /* server-to-client requests awaiting answers */
    atomic_uint npending; /* its length, changed under lock; read without it by ask_tick */
    int64_t next_out_id;
    listener *listeners;   /* modern subscriptions/listen */
    mcp_conn *prev, *next; /* in the server's list */
};

/* A server-to-client request awaiting the client's answer (legacy asking). */
struct pending_out {
    pending_out *next;
    int64_t id;
    mcp_ctx *ctx;
    const char *key;    /* in ctx's arena */
    const char *method; /* in ctx's arena */
    uint64_t deadline;  /* monotonic ms; 0 until the first mcp_conn_tick sees it */
};

/* A modern subscriptions/listen stream (engine side): what it asked for, how to tag it. */
struct listener {
    listener *next;
    void *tag;
    rpc_id id;     /* the listen request's id (string copied into id_str) */
    char *id_str;  /* malloc'd */
    char *id_json; /* the id as JSON text, malloc'd */
    bool tools, prompts, resources;
    size_t nuris;
    char **uris; /* malloc'd */
};

void listener_free(listener *l);

/* ---- the ctx ----------------------------------------------------------------------------- */
/* The core methods (methods.c); a method of another feature is M_EXT (feature.h). */
typedef enum method_id {
    M_UNKNOWN = 0,
    M_INITIALIZE,
    M_PING,
    M_DISCOVER,
    M_TOOLS_LIST,
    M_TOOLS_CALL,
    M_RES_LIST,
    M_RES_READ,
    M_TMPL_LIST,
    M_PROMPTS_LIST,
    M_PROMPTS_GET,
    M_COMPLETE,
    M_SET_LEVEL,
    M_SUBSCRIBE,
    M_UNSUBSCRIBE,
    M_LISTEN,
    M_EXT, /* served by an extension */
    M_N_INITIALIZED,
    M_N_CANCELLED,
    M_N_OTHER,
} method_id;

typedef struct question {
    const char *key;
    const char *method;
    const char *params; /* compact JSON text */
    size_t params_len;
} question;

typedef struct answer {
    const char *key;
    const json_value *value;
} answer;

struct mcp_ctx {
    mcp_conn *conn;
    void *tag;
    mcp_arena arena; /* the request's JSON and everything the answer needs */
    rpc_id id;
    uint8_t era;
    uint8_t method;                       /* method_id */
    const struct feature_method *fmethod; /* the table row (feature.h) */
    bool linked;                          /* in conn->inflight */
    bool is_error;
    bool detached;   /* answered as a task: request-level cancellation no longer applies */
    bool whole;      /* answers the whole incoming message (mcp_out.whole) */
    bool tag_gone;   /* under conn lock: cancelled by mcp_conn_cancel_tag, tag no longer valid */
    bool inline_now; /* the handler runs inline on an I/O thread and may mcp_ctx_defer */
    mcp_loop *loop;  /* with inline_now: the loop of that I/O thread (mcp_ctx_loop), or NULL */
    atomic_bool cancelled;
    const char *method_name;
    size_t method_name_len; /* every byte: a name may hold a NUL (JSON \u0000) */
    const char *version;
    size_t version_len; /* modern: bytes of _meta's protocolVersion */
    const json_value *params, *meta, *args, *caps;
    const char *name;
    int log_level; /* modern: from _meta; -1 none */
    const json_value *progress_token;
    double last_progress;
    bool sent_progress;
    reg_entry *entry;
    mcp_ctx *prev, *next;
    /* the answer being built */
    mcp_buf body; /* comma-separated items: content blocks, contents, messages, values */
    uint32_t nitems;
    /* one big text item not copied into body: escaped straight into the result at body
     * offset big_at by mcp_ctx_finish (it lives in the arena, so it outlives the call) */
    const char *big_text;
    size_t big_len, big_at;
    const char *role;
    const char *description;
    const char *structured;
    size_t structured_len;
    const json_value *structured_v;
    int64_t total;
    bool has_total, has_more;
    /* asking the client */
    question *qs;
    uint32_t nq, qcap;
    answer *as;
    uint32_t na, acap;
    const void *state;
    size_t state_len;
    uint32_t waiting;        /* legacy: answers outstanding */
    const char *ask_error;   /* legacy: why a question went unanswered */
    const char *missing_cap; /* a capability a handler wanted but the client lacks */
    uint32_t rounds;
    /* a feature that keeps this ctx beyond its request (a task): its ctx hooks are called
     * (feature.h), held is its own record */
    const struct feature *holder;
    void *held;
    /* blocking handlers: timeouts and cancellation wake-ups (ctx.c) */
    uint64_t deadline_ms; /* under conn lock: monotonic ms the handler must finish by; 0 none */
    uint32_t timeout_ms;  /* under conn lock: what deadline_ms was armed with */
    pthread_mutex_t wake_mu;
    int cancel_fd;               /* under wake_mu: -1 until mcp_ctx_cancel_fd */
    void (*on_cancel)(void *ud); /* under wake_mu */
    void *on_cancel_ud;          /* under wake_mu */
    bool woken;                  /* under wake_mu: the cancellation was delivered */
    const char *mistake; /* a handler mistake (bad JSON given, ...): the answer is -32603 */
    const void *principal; /* who the transport authenticated the request as (auth.c) */
    mcp_ctx *serial_next;  /* in its entry's mailbox (serial.c), under the mailbox's lock */
    uint64_t t0_ns;        /* when the request arrived (the observer's duration) */
    atomic_uchar observed; /* 0: not a request; 1: begun for the observer; 2: ended for it */
    uint8_t failed;        /* the eng_fail + 1 it was answered with (ctx_fail_with), or 0 */
};

/* ctx.c: cancellation. Marks ctx cancelled and, the first time, wakes its handler (cancel fd,
 * on_cancel callback). The caller holds the lock that keeps ctx alive (its conn's lock while
 * it is in flight, the tasks lock for a task's ctx). */
void ctx_cancel(mcp_ctx *ctx);
void ctx_wake_init(mcp_ctx *ctx);
void ctx_wake_free(mcp_ctx *ctx);
/* The handler's round ended (ask): the callback may no longer be called. */
void ctx_wake_forget(mcp_ctx *ctx);

/* engine.c */
mcp_ctx *ctx_new(mcp_conn *c, void *tag);
void ctx_free(mcp_ctx *ctx);
/* Sends the final answer in b for ctx's request (unless closed or cancelled) but keeps ctx:
 * its tag becomes NULL, the request is over and the handler goes on (a task). */
void ctx_answer_detach(mcp_ctx *ctx, mcp_buf *b);
/* Puts ctx in / takes it out of its conn's in-flight list (cancellation, drain). */
void ctx_link(mcp_ctx *ctx);
void ctx_unlink(mcp_ctx *ctx);
/* Sends a non-final output of ctx (notification, close-stream) through the sink unless the
 * conn is closed or ctx cancelled; checks both under the conn's lock, so that nothing goes out
 * with a tag after mcp_conn_cancel_tag() returned. */
void ctx_send(mcp_ctx *ctx, const char *data, size_t len, mcp_out_kind kind);
/* Ends ctx with an error (code per era from the map; `code` used for F_HANDLER), sends it
 * unless cancelled, and frees ctx. */
void ctx_fail_with(mcp_ctx *ctx, eng_fail f, int code, const char *data_json, const char *msg);
/* Closes the result in b (the modern tail: resultType, cache hints when cacheable, serverInfo),
 * sends it and frees ctx; a result over its cap becomes an internal error. Any thread. */
void result_finish(mcp_ctx *ctx, mcp_buf *b, bool cacheable, bool priv);
/* Answers ctx with -32602 and the formatted message (at most 320 bytes). Any thread. */
void ctx_invalid(mcp_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends ctx saying that what it asks for does not exist, in its era's words (msg NULL: the
 * standard message). The one mapping for the engine's and handlers' not-found answers. */
void ctx_not_found(mcp_ctx *ctx, const char *msg);
/* Records a handler mistake on ctx (the first one wins); returns MCP_EINVAL. */
int ctx_mistake(mcp_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends the response message in b for ctx (unless cancelled) and frees ctx. */
void ctx_send_final(mcp_ctx *ctx, mcp_buf *b, mcp_out_status status);
/* Runs the ctx's handler inline or through the executor; answers overloaded on -EAGAIN.
 * MCP_SERIAL entries go through their mailbox (serial_submit). */
void ctx_run_handler(mcp_ctx *ctx);
/* Calls ctx's handler on this thread. */
void ctx_invoke(mcp_ctx *ctx);

/* serial.c: the mailbox of an MCP_SERIAL entry. Queues ctx (bounded: past SERIAL_MAILBOX_MAX
 * waiting, ctx fails overloaded) and starts a drainer on the executor if none runs. */
#define SERIAL_MAILBOX_MAX 64u
serial_box *serial_box_new(void);
void serial_box_free(serial_box *b);
void serial_submit(mcp_ctx *ctx);
void conn_ref(mcp_conn *c);
void conn_unref(mcp_conn *c);

/* Modern HTTP tools/call: every argument annotated with x-mcp-header that has a value must
 * come with a matching Mcp-Param-<name> header. Returns 0, or -1 after failing ctx (-32020). */
int check_param_headers(mcp_ctx *ctx, const mcp_msg_info *info);

/* methods.c: a result for ctx: `{"jsonrpc":..,"result":{` then the caller's members, then
 * result_end_send adds the era's tail, sends and frees ctx. */
void result_begin(mcp_ctx *ctx, mcp_buf *b);
void result_end_send(mcp_ctx *ctx, mcp_buf *b);

/* methods.c */
void write_result_tail(mcp_ctx *ctx, mcp_buf *b, bool cacheable, bool priv);
void ctx_reset_answer(mcp_ctx *ctx);

#endif
