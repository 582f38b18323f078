/* mcp.h - libmcp: serve tools, resources and prompts over the Model Context Protocol.
 *
 * A program creates an mcp_server, registers what it serves with handlers, and hands the
 * server to a transport (mcp_serve_stdio() below, or the Streamable HTTP runtime). The server
 * speaks both protocol eras: modern (2026-07-28: stateless, every request carries its version
 * and capabilities in _meta) and legacy (2024-11-05 .. 2025-11-25: initialize and sessions).
 * Handler code is the same for both.
 *
 * Handlers. Every handler receives an mcp_ctx: the request (arguments already validated
 * against the tool's input schema), what the client declared, and functions that build and
 * send the answer. A handler may finish at once, or keep the ctx and finish it later from any
 * thread. Every ctx is finished exactly once: by mcp_ctx_finish(), mcp_ctx_tool_error(),
 * mcp_ctx_fail() or mcp_ctx_ask(). After that call the ctx is gone.
 *
 * Asking the client (elicitation, sampling, roots). A handler asks with mcp_ctx_elicit() etc.
 * under a key it chooses, then calls mcp_ctx_ask(). The handler is later invoked again for the
 * same request with the answers available through mcp_ctx_input(key). In the legacy era the
 * server sends real requests to the client and re-invokes the handler when all are answered;
 * in the modern era the server answers `input_required` with the questions and a sealed
 * `requestState`, and re-invokes the handler when the client retries. Handlers therefore ask
 * before they act, and keep what they need between rounds in mcp_ctx_set_state().
 *
 * Threads. Registration functions may be called from any thread, also while serving; changes
 * send list-changed notifications. mcp_ctx functions may be called from any thread, by one
 * thread at a time for a given ctx.
 *
 * Strings passed in are copied; nothing the caller passes needs to outlive the call, except
 * `ud` pointers, which are the caller's. JSON given as text ("schema", "annotations", ...) is
 * parsed and checked at registration; a mistake there is reported by the registration call. */
#ifndef MCP_MCP_H
#define MCP_MCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mcp/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MCP_PROTOCOL_LATEST "2026-07-28"

typedef struct mcp_server mcp_server;
typedef struct mcp_ctx mcp_ctx;

/* ---- errors ------------------------------------------------------------------------------- */
#define MCP_OK     0
#define MCP_EINVAL (-22) /* a bad definition: the err text says what */
#define MCP_EEXIST (-17) /* a name or URI already registered */
#define MCP_ENOENT (-2)  /* nothing registered under that name or URI */

/* JSON-RPC error codes a handler may use with mcp_ctx_fail(). */
#define MCP_ERR_PARSE            (-32700)
#define MCP_ERR_INVALID_REQUEST  (-32600)
#define MCP_ERR_METHOD_NOT_FOUND (-32601)
#define MCP_ERR_INVALID_PARAMS   (-32602)
#define MCP_ERR_INTERNAL         (-32603)

/* ---- the server ---------------------------------------------------------------------------- */
typedef struct mcp_server_info {
    const char *name;         /* required */
    const char *version;      /* required */
    const char *title;        /* optional, for people */
    const char *description;  /* optional */
    const char *website_url;  /* optional */
    const char *instructions; /* optional: how to use this server, for the model */
    const char *icons;        /* optional JSON array of Icon objects */
} mcp_server_info;

/* Returns a new server, or NULL if info lacks name or version. Free with mcp_server_free()
 * once no transport uses it. Any thread. */
mcp_server *mcp_server_new(const mcp_server_info *info);
void mcp_server_free(mcp_server *s);

/* Sets the secret from which the key that seals `requestState` and cursors is derived, so
 * that several server processes behind one balancer accept each other's tokens. Without it a
 * random key is made per process. Returns 0 or MCP_EINVAL (shorter than 16 bytes). */
int mcp_server_set_secret(mcp_server *s, const void *secret, size_t len);

/* Page size of tools/list, resources/list, resources/templates/list, prompts/list, skills/list
 * and resources/directory/read (default 100, 1..10000). */
void mcp_server_set_page_size(mcp_server *s, unsigned n);

/* Bounds of the task store (tools that run as tasks). Zero fields keep the defaults shown. */
typedef struct mcp_task_limits {
    size_t max_tasks;          /* tasks kept at once (running or finished); 10000 */
    int64_t default_ttl_ms;    /* how long a task is kept after it was created; 300000 */
    int64_t max_ttl_ms;        /* cap on a ttl the client asks for (2025-11-25); 3600000 */
    uint32_t poll_interval_ms; /* the poll interval suggested to clients; 500 */
} mcp_task_limits;

/* Sets the task store's bounds. Call before serving. */
void mcp_server_set_task_limits(mcp_server *s, const mcp_task_limits *lim);

/* ---- handlers ------------------------------------------------------------------------------ */
typedef void (*mcp_handler_fn)(mcp_ctx *ctx, void *ud);

/* Handler flags. By default a handler runs on the work pool, never on an I/O thread, so it
 * may block. MCP_INLINE declares it quick and non-blocking: it runs where the request is
 * decoded, which saves a thread hop (microseconds) per call. */
#define MCP_INLINE 0x1u
/* Tools only: the call may run as a task (it outlives its request; the client polls for the
 * result). The engine makes it one, before the handler runs, when the client can take a task:
 * in 2025-11-25 a request with params.task, in 2026-07-28 a client that declares the extension
 * io.modelcontextprotocol/tasks. Otherwise it is an ordinary call. The handler is the same
 * code either way. */
#define MCP_TASK_OPTIONAL 0x2u
/* Tools only: the call always runs as a task; a client that cannot take one gets an error
 * (-32021 naming the extension in 2026-07-28, -32601 in 2025-11-25). */
#define MCP_TASK_REQUIRED 0x4u
/* With MCP_TASK_*: the engine does not start the task; the handler does, with
 * mcp_ctx_start_task(), e.g. after a first round of questions answered synchronously. */
#define MCP_TASK_DEFERRED 0x8u

typedef struct mcp_tool_def {
    const char *name;          /* required; 1-128 of [A-Za-z0-9_.-] */
    const char *title;         /* optional */
    const char *description;   /* optional but strongly advised */
    const char *input_schema;  /* JSON Schema text; NULL means {"type":"object"} */
    const char *output_schema; /* optional JSON Schema text; structured results must match */
    const char *annotations;   /* optional JSON object (readOnlyHint, destructiveHint, ...) */
    const char *icons;         /* optional JSON array */
    const char *meta;          /* optional JSON object sent as the tool's _meta */
    mcp_handler_fn handler;    /* required */
    void *ud;
    unsigned flags; /* MCP_INLINE, MCP_TASK_* */
} mcp_tool_def;

/* Registers a tool. Returns 0, MCP_EEXIST, or MCP_EINVAL with a reason in err[errsize] (err
 * may be NULL), e.g. "input_schema: /properties/a/minimum: expected a number". */
int mcp_server_add_tool(mcp_server *s, const mcp_tool_def *def, char *err, size_t errsize);
/* Removes a tool; calls already running finish. Returns 0 or MCP_ENOENT. */
int mcp_server_remove_tool(mcp_server *s, const char *name);

typedef struct mcp_resource_def {
    const char *uri;  /* required, absolute URI */
    const char *name; /* required */
    const char *title;
    const char *description;
    const char *mime_type;
    int64_t size;            /* bytes, or -1 if unknown */
    const char *annotations; /* optional JSON object */
    const char *icons;       /* optional JSON array */
    mcp_handler_fn handler;  /* required: answers resources/read */
    void *ud;
    unsigned flags;
} mcp_resource_def;

int mcp_server_add_resource(mcp_server *s, const mcp_resource_def *def, char *err, size_t errsize);
int mcp_server_remove_resource(mcp_server *s, const char *uri);

/* A resource template: uri is an RFC 6570 level-1 template such as "file:///logs/{name}".
 * A read whose URI matches calls handler with the variables in mcp_ctx_arguments().
 * complete (optional) answers completion/complete for its variables. */
typedef struct mcp_template_def {
    const char *uri_template; /* required */
    const char *name;         /* required */
    const char *title;
    const char *description;
    const char *mime_type;
    const char *annotations;
    const char *icons;
    mcp_handler_fn handler;  /* required */
    mcp_handler_fn complete; /* optional */
    void *ud;
    unsigned flags;
} mcp_template_def;

int mcp_server_add_template(mcp_server *s, const mcp_template_def *def, char *err, size_t errsize);
int mcp_server_remove_template(mcp_server *s, const char *uri_template);

typedef struct mcp_prompt_arg {
    const char *name; /* required */
    const char *title;
    const char *description;
    bool required;
} mcp_prompt_arg;

typedef struct mcp_prompt_def {
    const char *name; /* required */
    const char *title;
    const char *description;
    const mcp_prompt_arg *args;
    size_t nargs;
    const char *icons;
    mcp_handler_fn handler;  /* required: answers prompts/get */
    mcp_handler_fn complete; /* optional: answers completion/complete for its arguments */
    void *ud;
    unsigned flags;
} mcp_prompt_def;

int mcp_server_add_prompt(mcp_server *s, const mcp_prompt_def *def, char *err, size_t errsize);
int mcp_server_remove_prompt(mcp_server *s, const char *name);

/* Which list changed, for mcp_server_list_changed(). */
typedef enum mcp_list_kind { MCP_LIST_TOOLS, MCP_LIST_RESOURCES, MCP_LIST_PROMPTS } mcp_list_kind;

/* Sends the list-changed notification for kind to every client that wants it, without
 * changing the registry: for servers whose lists depend on state outside libmcp (adding and
 * removing entries sends it by itself). Any thread. */
void mcp_server_list_changed(mcp_server *s, mcp_list_kind kind);

/* Tells subscribed clients that the resource at uri changed (notifications/resources/updated
 * in legacy sessions that subscribed, and modern subscriptions/listen streams). Any thread. */
void mcp_server_resource_updated(mcp_server *s, const char *uri);

/* ---- the request: what a handler can read -------------------------------------------------- */
/* The method being answered: "tools/call", "resources/read", "prompts/get",
 * "completion/complete". */
const char *mcp_ctx_method(const mcp_ctx *c);
/* The tool or prompt name; the resource URI for resources/read. */
const char *mcp_ctx_name(const mcp_ctx *c);
/* Arguments: tools/call and prompts/get arguments (an object, possibly empty); for a resource
 * template the matched variables; for completion {"ref":..,"argument":..,"context":..}. */
const mcp_json *mcp_ctx_arguments(const mcp_ctx *c);
/* A string argument, or NULL if absent or not a string. */
const char *mcp_ctx_arg_str(const mcp_ctx *c, const char *name);
/* The negotiated protocol version, e.g. "2025-11-25" or "2026-07-28". */
const char *mcp_ctx_protocol_version(const mcp_ctx *c);
/* The client's declared capabilities object (never NULL; may be empty). */
const mcp_json *mcp_ctx_client_capabilities(const mcp_ctx *c);
/* True if the client declared a capability by dotted path: "sampling", "elicitation",
 * "elicitation.url", "roots". */
bool mcp_ctx_client_supports(const mcp_ctx *c, const char *path);
/* The request's params._meta object, or NULL. */
const mcp_json *mcp_ctx_meta(const mcp_ctx *c);
/* True once the client cancelled the request or went away. The handler should stop soon; its
 * finish call is then accepted and nothing is sent. */
bool mcp_ctx_cancelled(const mcp_ctx *c);

/* ---- the answer ---------------------------------------------------------------------------- */
/* Content blocks, in order, for tools/call results and prompt messages. Text is UTF-8; binary
 * data is given raw and base64-encoded for you. */
void mcp_ctx_text(mcp_ctx *c, const char *text);
void mcp_ctx_textn(mcp_ctx *c, const char *text, size_t len);
void mcp_ctx_image(mcp_ctx *c, const void *data, size_t len, const char *mime_type);
void mcp_ctx_audio(mcp_ctx *c, const void *data, size_t len, const char *mime_type);
/* An already base64-encoded image/audio payload. */
void mcp_ctx_image_b64(mcp_ctx *c, const char *base64, const char *mime_type);
void mcp_ctx_audio_b64(mcp_ctx *c, const char *base64, const char *mime_type);
void mcp_ctx_resource_link(mcp_ctx *c, const char *uri, const char *name, const char *mime_type,
                           const char *description);
/* An embedded resource (tools, prompts), or one entry of resources/read contents. */
void mcp_ctx_resource_text(mcp_ctx *c, const char *uri, const char *mime_type, const char *text);
void mcp_ctx_resource_blob(mcp_ctx *c, const char *uri, const char *mime_type, const void *data,
                           size_t len);
/* Any content block given as JSON text (checked to be an object); for fields not covered. */
int mcp_ctx_content_json(mcp_ctx *c, const char *json);
/* Prompts: starts a new message with role "user" or "assistant"; content added after it
 * belongs to it. prompts/get may also set a description. */
void mcp_ctx_message(mcp_ctx *c, const char *role);
void mcp_ctx_description(mcp_ctx *c, const char *description);
/* Tools: structured content as JSON text; validated against the output schema at finish. */
int mcp_ctx_structured(mcp_ctx *c, const char *json);
/* Completion: a suggested value (at most 100 are sent), and optionally the total count. */
void mcp_ctx_complete_value(mcp_ctx *c, const char *value);
void mcp_ctx_complete_total(mcp_ctx *c, int64_t total, bool has_more);

/* Sends the result built so far and ends the ctx. Returns 0; -1 if the request was cancelled
 * (nothing sent) or a structured result failed the output schema (an error was sent). */
int mcp_ctx_finish(mcp_ctx *c);
/* Ends a tools/call with isError: true and the formatted text as its content (content
 * added before is discarded). For failures the model should see and may correct. */
void mcp_ctx_tool_error(mcp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the ctx with a JSON-RPC error (protocol failure, e.g. MCP_ERR_INVALID_PARAMS). */
void mcp_ctx_fail(mcp_ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- progress, logging --------------------------------------------------------------------- */
/* Sends notifications/progress if the client gave a progressToken; progress must increase
 * (a non-increasing value is dropped). total < 0 means unknown; message may be NULL. */
void mcp_ctx_progress(mcp_ctx *c, double progress, double total, const char *message);

/* Makes the running tools/call a task now (tools with MCP_TASK_*): the request is answered at
 * once with the task's id, and the handler goes on; what it finishes with becomes the task's
 * result. Returns true if the call is (now) a task, false if it cannot be one (the tool has
 * no MCP_TASK_* flag, the client cannot take a task, the store is full): the call goes on as
 * an ordinary one. Handler's thread. */
bool mcp_ctx_start_task(mcp_ctx *c);
/* True if the call runs as a task. */
bool mcp_ctx_is_task(const mcp_ctx *c);

/* Asks the transport to close this request's response stream now, without ending the request
 * (SEP-1699 polling): on Streamable HTTP in the legacy era the POST stream ends, and what the
 * handler sends afterwards (progress, its result) is kept for the client to fetch with a GET
 * carrying Last-Event-ID. Elsewhere (stdio, modern HTTP) it does nothing. Any thread. */
void mcp_ctx_close_stream(mcp_ctx *c);

typedef enum mcp_log_level {
    MCP_LOG_DEBUG,
    MCP_LOG_INFO,
    MCP_LOG_NOTICE,
    MCP_LOG_WARNING,
    MCP_LOG_ERROR,
    MCP_LOG_CRITICAL,
    MCP_LOG_ALERT,
    MCP_LOG_EMERGENCY
} mcp_log_level;

/* Sends notifications/message to the client if its log level admits it (legacy:
 * logging/setLevel; modern: the request's _meta log level; none set: nothing is sent).
 * data is JSON text (a string must be quoted) or NULL for the message text `msg`. */
void mcp_ctx_log(mcp_ctx *c, mcp_log_level level, const char *logger, const char *msg);

/* ---- asking the client --------------------------------------------------------------------- */
/* The client's answer to the question asked under key in an earlier round, or NULL. */
const mcp_json *mcp_ctx_input(const mcp_ctx *c, const char *key);
/* Queues a question: params is the JSON text of the request's params. Returns 0, or
 * MCP_EINVAL if the client did not declare the capability (elicitation, sampling, roots) or
 * params is not a JSON object. */
int mcp_ctx_elicit(mcp_ctx *c, const char *key, const char *params);
int mcp_ctx_sample(mcp_ctx *c, const char *key, const char *params);
int mcp_ctx_list_roots(mcp_ctx *c, const char *key);
/* Opaque handler state carried to the next round (sealed; at most 16 KiB). */
int mcp_ctx_set_state(mcp_ctx *c, const void *data, size_t len);
const void *mcp_ctx_state(const mcp_ctx *c, size_t *len);
/* Ends this round: the questions queued go to the client and the handler runs again with
 * the answers. Returns 0, or MCP_EINVAL if nothing was queued (the ctx then fails with an
 * internal error). */
int mcp_ctx_ask(mcp_ctx *c);

/* ---- serving --------------------------------------------------------------------------------- */
typedef struct mcp_stdio_options {
    size_t max_line;    /* bytes per incoming line; default 4 MiB */
    unsigned threads;   /* work pool threads; default number of cores */
    unsigned queue_max; /* queued handler calls; default 1024 */
} mcp_stdio_options;

/* Serves s on stdin/stdout until EOF or SIGTERM/SIGINT, finishing in-flight work first.
 * Logs go to stderr. Returns 0 on a clean end, non-zero on an I/O error. Blocks the calling
 * thread. opts may be NULL. */
int mcp_serve_stdio(mcp_server *s, const mcp_stdio_options *opts);

/* ---- Streamable HTTP ------------------------------------------------------------------------ */
/* Zero fields take the defaults shown. See docs/internals/transport-http.md. */
typedef struct mcp_http_options {
    const char *host;           /* bind address, IPv4 or IPv6 literal; "127.0.0.1" */
    int port;                   /* 0: the kernel picks one (mcp_http_port tells) */
    const char *path;           /* the MCP endpoint; "/mcp" */
    unsigned workers;           /* event-loop threads; number of cores */
    unsigned threads;           /* work-pool threads for handlers; number of cores */
    size_t queue_max;           /* handler calls waiting for a thread; 1024 (beyond: 503) */
    size_t max_sessions;        /* legacy sessions; 10000 (beyond: initialize gets 503) */
    uint32_t session_idle_ms;   /* idle legacy sessions end after this; 30 min */
    uint32_t sse_keepalive_ms;  /* comment keep-alives on open SSE streams; 15000 */
    size_t max_body;            /* request body bytes; 4 MiB (beyond: 413) */
    size_t max_conns;           /* connections per worker; 10000 */
    uint32_t header_timeout_ms; /* a request must arrive whole within it; 10000 (408) */
    uint32_t idle_timeout_ms;   /* keep-alive idle time; 60000 */
    uint32_t drain_ms;          /* on stop, wait this long for in-flight requests; 10000 */
    /* Allowed Origin values ("*": any) and Host names ("*": any). Loopback origins and names
     * are always allowed on a loopback bind. At most 32 each. */
    const char *const *allowed_origins;
    size_t n_allowed_origins;
    const char *const *allowed_hosts;
    size_t n_allowed_hosts;
} mcp_http_options;

typedef struct mcp_http mcp_http;

/* Starts serving s over Streamable HTTP (worker loops, work pool) and returns at once. Returns
 * the server, or NULL with a reason in err (e.g. the port is in use). Logs the listening URL.
 * Call from a thread that is not one of its workers; s must outlive it. */
mcp_http *mcp_http_start(mcp_server *s, const mcp_http_options *opts, char *err, size_t errsize);

/* Returns the port it listens on. Any thread. */
int mcp_http_port(const mcp_http *h);

/* Ends idle sessions and expires unanswered server-to-client requests. mcp_serve_http calls it
 * every second; call it yourself when you use mcp_http_start. Any non-worker thread. */
void mcp_http_sweep(mcp_http *h);

/* Stops gracefully: new requests get 503, in-flight ones finish (up to drain_ms), streams end
 * with their final events, then every connection closes and h is freed. Blocks. Call from the
 * thread that started it. */
void mcp_http_stop(mcp_http *h);

/* Serves s over Streamable HTTP until SIGTERM or SIGINT, then stops gracefully. Returns 0, or
 * 1 if it could not start (logged). Blocks the calling thread. opts may be NULL. If handlers
 * still run 5 s after drain_ms (they ignore mcp_ctx_cancelled), or a second signal arrives
 * during the stop, it ends the process with _exit(0) after a log line. */
int mcp_serve_http(mcp_server *s, const mcp_http_options *opts);

/* ---- skills (extension io.modelcontextprotocol/skills, SEP-2640) --------------------------- */
/* A skill is a directory of files served as resources under
 * skill://[<authority>/]<name>/<path>, with a SKILL.md at its root whose YAML frontmatter names
 * and describes it. Once one is registered, the server declares the extension (2026-07-28
 * server/discover, with directoryRead) and answers skills/list, skills/get and
 * resources/directory/read; in legacy sessions those methods stay -32601. Every file is also an
 * ordinary resource (resources/list, resources/read). See docs/internals/skills.md. */

/* One file of a skill besides SKILL.md. */
typedef struct mcp_skill_file {
    const char *path;      /* required: relative, '/'-separated segments of [A-Za-z0-9._~-],
                            * none "." or "..", not "SKILL.md"; e.g. "scripts/lint.sh" */
    const char *mime_type; /* optional; default text/plain (text) or application/octet-stream */
    const char *text;      /* UTF-8 text, or NULL to give bytes in data/len */
    const void *data;
    size_t len;
} mcp_skill_file;

typedef struct mcp_skill_def {
    /* Optional: the URI's first segment (an RFC 3986 reg-name such as "acme.example"). NULL
     * takes the server's default (mcp_server_set_skill_authority); with none either, the URI
     * is skill://<name>/SKILL.md. */
    const char *authority;
    /* Required: the SKILL.md text. It starts with "---" YAML frontmatter "---": a map, read
     * with libyaml (block and flow maps and lists, every scalar style; plain scalars resolved
     * as the YAML 1.2 core schema, numbers JSON could not carry as written refused); name
     * (1-64 of [a-z0-9-], no leading, trailing or double hyphen) and description (1-1024
     * characters) are required. Refused: anchors, aliases, tags, duplicate or non-string keys,
     * over 64 KiB, nesting over 16, over 64 keys in a map or 4096 values. */
    const char *skill_md;
    const mcp_skill_file *files; /* optional, nfiles of them */
    size_t nfiles;
} mcp_skill_def;

/* Registers a skill: copies everything, parses the frontmatter, computes each file's SHA-256
 * and size, registers every file as a resource (SKILL.md as text/markdown, named and described
 * by its frontmatter). Returns 0; MCP_EEXIST if its SKILL.md URI or a file's URI is already a
 * resource; MCP_EINVAL with a reason in err[errsize] (err may be NULL), e.g. "SKILL.md: line
 * 3: unterminated quoted value", or when a skill exceeds 512 files or 16 MiB. Skills are never
 * removed (they live as long as s). Any thread. */
int mcp_server_add_skill(mcp_server *s, const mcp_skill_def *def, char *err, size_t errsize);

/* Sets the authority used by skills registered later without one (NULL: none). Returns 0 or
 * MCP_EINVAL (not a reg-name). Any thread. */
int mcp_server_set_skill_authority(mcp_server *s, const char *authority);

#ifdef __cplusplus
}
#endif
#endif
