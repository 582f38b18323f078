/* internal.h - what the engine's files share: the server, its registry, the conn, the ctx.
 *
 * Not a public header. Layout of src/mcp/:
 *   server.c    mcp_server, the registry (tools, resources, templates, prompts), broadcasts
 *   engine.c    mcp_conn: decode, era selection, lifecycle, dispatch, the error map
 *   methods.c   the methods answered by the engine itself (initialize, lists, discover, ...)
 *               and the preparation of handler calls (tools/call, resources/read, ...)
 *   ctx.c       mcp_ctx: reading the request, building and sending the answer
 *   ask.c       asking the client: legacy server-to-client requests, modern requestState
 *   token.c     sealed tokens (cursors, requestState) and digests
 *   skills.c    the skills extension: skills/list, skills/get, resources/directory/read
 * See docs/internals/engine.md for the design. */
#ifndef MCP_ENGINE_INTERNAL_H
#define MCP_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "json/json.h"
#include "json/schema.h"
#include "mcp/engine.h"
#include "rpc/rpc.h"

#define MODERN_VERSION "2026-07-28"
#define LATEST_LEGACY  "2025-11-25"
#define META_PV        "io.modelcontextprotocol/protocolVersion"
#define META_CAPS      "io.modelcontextprotocol/clientCapabilities"
#define META_INFO      "io.modelcontextprotocol/clientInfo"
#define META_LOG       "io.modelcontextprotocol/logLevel"
#define META_SUB       "io.modelcontextprotocol/subscriptionId"
#define META_SERVER    "io.modelcontextprotocol/serverInfo"

/* Handlers without a timeout of their own must finish within this (mcp_server_set_timeout). */
#define DEFAULT_TIMEOUT_MS 300000u

enum { ERA_LEGACY = 0, ERA_MODERN = 1 };

/* ---- registry ---------------------------------------------------------------------------- */
typedef enum reg_kind { REG_TOOL, REG_RESOURCE, REG_TEMPLATE, REG_PROMPT, REG_NKINDS } reg_kind;

typedef struct tmpl_part {
    const char *lit; /* literal text before the variable */
    size_t lit_len;
    const char *var; /* variable name, or NULL for the trailing literal */
    size_t var_len;
} tmpl_part;

/* A tool argument mirrored into an Mcp-Param-<name> header (x-mcp-header, 2026-07-28). */
typedef struct hdr_param {
    char *header; /* "Mcp-Param-<name>" as annotated (header names compare case-blind) */
    char **path;  /* the chain of property names from the arguments object */
    uint32_t depth;
} hdr_param;

/* One registered item. Refcounted: the registry holds one reference, every call in flight
 * holds one, so removing an item never pulls it from under a running handler. Immutable
 * after registration. */
typedef struct reg_entry {
    atomic_uint refs;
    uint8_t kind;
    uint64_t seq; /* registration order; cursors point at it */
    char *key;    /* name, URI or URI template */
    uint32_t key_len, hash;
    char *json; /* the item as listed (tools/list element, ...) */
    size_t json_len;
    mcp_handler_fn handler, complete;
    void *ud;
    unsigned flags;
    json_schema *in_schema, *out_schema;
    hdr_param *hparams; /* tools: x-mcp-header annotations */
    size_t nhparams;
    char *mime;
    size_t nargs; /* prompts */
    char **arg_names;
    bool *arg_required;
    size_t nparts; /* templates */
    tmpl_part *parts;
    uint32_t timeout_ms; /* tools: 0 = the server's */
} reg_entry;

typedef struct reg_table {
    reg_entry **items; /* registration order */
    size_t n, cap;
    reg_entry **index; /* open addressing by key, index_cap a power of two */
    size_t index_cap;
} reg_table;

typedef struct task task;
typedef struct skill_set skill_set;

struct mcp_server {
    char *name, *version, *instructions;
    char *info_json; /* Implementation object */
    size_t info_len;
    pthread_rwlock_t reg_lock; /* read-mostly; a snapshot scheme may replace it */
    reg_table tables[REG_NKINDS];
    uint64_t next_seq;
    unsigned page_size;
    uint8_t key[32]; /* sealing key */
    pthread_mutex_t conns_lock;
    mcp_conn *conns;
    _Atomic uint64_t next_conn_serial;
    /* tasks (tasks.c) */
    bool has_task_tools; /* a tool with MCP_TASK_*: the capability is declared */
    mcp_task_limits task_limits;
    pthread_mutex_t tasks_lock;
    task **task_buckets;
    task *task_head, *task_tail;
    size_t ntasks;
    uint64_t task_seq;
    _Atomic uint64_t tasks_reaped_ms;
    skill_set *skills; /* skills.c */
    /* legacy asking (ask.c): server-to-client requests awaiting an answer, over all conns */
    _Atomic size_t asks_pending;
    _Atomic size_t asks_max; /* set by the first conn that names it; 0: default */
    _Atomic uint64_t asks_refused;
    _Atomic uint32_t timeout_ms; /* handlers without their own; MCP_TIMEOUT_NONE: none */
};

/* Finds an item and takes a reference (release with reg_release). NULL if absent. */
reg_entry *reg_find(mcp_server *s, reg_kind k, const char *key, size_t len);
void reg_release(reg_entry *e);
/* Matches uri against the templates; fills vars (an object in arena) on success. */
reg_entry *reg_match_template(mcp_server *s, const char *uri, size_t len, mcp_arena *a,
                              json_value **vars);
/* Writes the page of kind k after cursor position `after` (0: first page) as the members
 * `"<field>":[...]` and, if more remain, `,"nextCursor":"..."` into b. */
void reg_write_page(mcp_server *s, reg_kind k, uint64_t after, mcp_buf *b);

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
    M_TASKS_GET, /* tasks/...: tasks.c */
    M_TASKS_UPDATE,
    M_TASKS_CANCEL,
    M_TASKS_RESULT,
    M_TASKS_LIST,
    M_SKILLS_LIST, /* skills/..., resources/directory/read: skills.c */
    M_SKILLS_GET,
    M_DIR_READ,
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
    uint8_t method; /* method_id */
    bool linked;    /* in conn->inflight */
    bool is_error;
    bool detached; /* answered as a task: request-level cancellation no longer applies */
    bool whole;    /* answers the whole incoming message (mcp_out.whole) */
    bool tag_gone; /* under conn lock: cancelled by mcp_conn_cancel_tag, tag no longer valid */
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
    task *task; /* the call runs as this task (tasks.c) */
    /* blocking handlers: timeouts and cancellation wake-ups (ctx.c) */
    uint64_t deadline_ms; /* under conn lock: monotonic ms the handler must finish by; 0 none */
    uint32_t timeout_ms;  /* under conn lock: what deadline_ms was armed with */
    pthread_mutex_t wake_mu;
    int cancel_fd;               /* under wake_mu: -1 until mcp_ctx_cancel_fd */
    void (*on_cancel)(void *ud); /* under wake_mu */
    void *on_cancel_ud;          /* under wake_mu */
    bool woken;                  /* under wake_mu: the cancellation was delivered */
};

/* Engine failures: one list, mapped to JSON-RPC codes and HTTP statuses in engine.c only. */
typedef enum eng_fail {
    F_PARSE,
    F_INVALID_REQUEST,
    F_NOT_INITIALIZED,
    F_METHOD_NOT_FOUND,
    F_INVALID_PARAMS,
    F_MISSING_META, /* modern: -32602 with 400 */
    F_INTERNAL,
    F_OVERLOADED,
    F_HEADER_MISMATCH,
    F_MISSING_CAPABILITY,
    F_UNSUPPORTED_VERSION,
    F_RESOURCE_NOT_FOUND,
    F_HANDLER, /* a handler's own code via mcp_ctx_fail */
} eng_fail;

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
/* Formats into err[errsize] (either may be 0) and returns MCP_EINVAL: registration errors. */
int srv_seterr(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends the response message in b for ctx (unless cancelled) and frees ctx. */
void ctx_send_final(mcp_ctx *ctx, mcp_buf *b, mcp_out_status status);
/* Runs the ctx's handler inline or through the executor; answers overloaded on -EAGAIN. */
void ctx_run_handler(mcp_ctx *ctx);
void conn_ref(mcp_conn *c);
void conn_unref(mcp_conn *c);
/* Sends a notification to every conn of s that wants it (list_changed: kind k; updated: uri). */
void conns_broadcast_list_changed(mcp_server *s, reg_kind k);
void conns_broadcast_updated(mcp_server *s, const char *uri);
int log_level_from_name(const char *s, size_t len);
extern const char *const log_level_names[8];
extern const char *const supported_versions[5];
bool legacy_version_supported(const char *v, size_t len);

/* Modern HTTP tools/call: every argument annotated with x-mcp-header that has a value must
 * come with a matching Mcp-Param-<name> header. Returns 0, or -1 after failing ctx (-32020). */
int check_param_headers(mcp_ctx *ctx, const mcp_msg_info *info);

/* methods.c: a result for ctx: `{"jsonrpc":..,"result":{` then the caller's members, then
 * result_end_send adds the era's tail, sends and frees ctx. */
void result_begin(mcp_ctx *ctx, mcp_buf *b);
void result_end_send(mcp_ctx *ctx, mcp_buf *b);

/* tasks.c */
void tasks_init(mcp_server *s);
void tasks_free(mcp_server *s);
void tasks_reap(mcp_server *s, uint64_t now_ms);
/* True if the request lets the call run as a task (modern: the extension in the client's
 * capabilities; legacy: params.task). */
bool task_client_can(const mcp_ctx *ctx);
/* True if legacy protocol version v has tasks (2025-11-25 and later). */
bool tasks_in_version(const char *v);
/* Fails a call of a task-only tool from a client that cannot take a task. */
void task_write_missing(mcp_ctx *ctx);
/* If ctx runs as a task, stores its final answer msg there and returns true (the caller frees
 * ctx without sending). */
bool task_take_final(mcp_ctx *ctx, const char *msg, size_t len);
/* ctx is being freed: its task (if any) ends without an answer. */
void task_ctx_gone(mcp_ctx *ctx);
/* Modern: the task's handler asked questions; the task waits for tasks/update. */
int task_park(mcp_ctx *ctx);
/* Legacy: the task's handler waits for the client's answers (true) or got them (false). */
void task_legacy_asking(mcp_ctx *ctx, bool asking);
method_id tasks_method(const char *name, size_t n);
/* The task's id (immutable while the task's ctx lives). */
const char *task_id(const task *t);
/* Cancels every running or parked task of s (shutdown). Any thread. */
void tasks_cancel_all(mcp_server *s);
void tasks_dispatch(mcp_ctx *ctx);

/* skills.c */
void skills_init(mcp_server *s);
void skills_free(mcp_server *s);
/* True once a skill is registered: the extension is declared, its methods answer. */
bool skills_any(mcp_server *s);
method_id skills_method(const char *name, size_t n);
/* skills/list, skills/get, resources/directory/read (-32601 in legacy eras or with no skill). */
void skills_dispatch(mcp_ctx *ctx);

/* methods.c */
void methods_dispatch(mcp_ctx *ctx, const mcp_msg_info *info);
void write_result_tail(mcp_ctx *ctx, mcp_buf *b, bool cacheable, bool priv);
void ctx_reset_answer(mcp_ctx *ctx);

/* ask.c */
int ask_legacy(mcp_ctx *ctx);
int ask_modern(mcp_ctx *ctx);
/* Restores answers and state from params.requestState/inputResponses. Returns 0, or -1 after
 * failing the ctx with -32602. */
int ask_restore(mcp_ctx *ctx);
/* A client's response to one of our requests: correlates it. */
void ask_on_response(mcp_conn *c, const rpc_msg *m);
void ask_tick(mcp_conn *c, uint64_t now_ms);
/* Drops the pending requests of ctx (it is ending). Conn lock held. */
void ask_forget_locked(mcp_conn *c, mcp_ctx *ctx);
/* Records an answer under key (replacing one with the same key). */
void ctx_add_answer(mcp_ctx *c, const char *key, const json_value *v);

/* token.c */
int token_seal(mcp_server *s, const char *purpose, const void *data, size_t len, uint32_t ttl_s,
               mcp_buf *out);
/* Opens a token; returns the payload in arena, or NULL with a reason in err. */
void *token_open(mcp_server *s, const char *purpose, const char *tok, size_t len, mcp_arena *a,
                 size_t *out_len, char *err, size_t errsize);
void token_digest_hex(const void *data, size_t len, char out[65]);
void token_random_key(uint8_t key[32]);
/* Decodes strict padded base64 (RFC 4648) into out (room for n bytes). -1 if bad. */
long token_b64_decode(const char *s, size_t n, void *out);
extern int64_t token_clock_skew_s; /* seconds added to the clock (tests) */
/* Derives the key from a configured secret (at least 16 bytes). Returns 0 or -1. */
int token_derive_key(const void *secret, size_t len, uint8_t key[32]);

#endif
