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
 * The process. libmcp starts threads of its own (handler threads, sized for handlers that
 * block; HTTP event loops; the stdio reader), all with asynchronous signals
 * blocked, so signals reach the program's threads. It changes no signal disposition (SIGPIPE
 * included: writes to a closed peer fail with EPIPE) except SIGTERM/SIGINT while
 * mcp_serve_stdio or mcp_serve_http runs, and never ends the process. See README.md, "What
 * libmcp does in your process".
 *
 * Strings passed in are copied; nothing the caller passes needs to outlive the call, except
 * `ud` pointers, which are the caller's. JSON given as text ("schema", "annotations", ...) is
 * parsed and checked at registration; a mistake there is reported by the registration call.
 *
 * Errors. Functions that can fail return 0 or a negative mcp_err (mcp_strerror() names it);
 * the few that return a pointer or a bool say what NULL or false means. Registration calls
 * also fill a caller's err[errsize] buffer with the reason.
 *
 * ABI. Definition and option structs grow only by fields appended at the end, and a zero field
 * always means "the default". The functions that take them are macros that pass the struct's
 * size as the caller's compiler saw it (e.g. mcp_server_add_tool(s, ...) calls
 * mcp_server_add_tool_sz(s, sizeof(mcp_tool_def), ...)), so a program built against an older
 * header keeps working with a newer libmcp, and one built against a newer header gets
 * MCP_EINVAL from an older libmcp only if it sets a field that libmcp does not know. Element
 * structs of arrays (mcp_prompt_arg, mcp_skill_file) never change. See docs/abi.md. */
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

/* ---- version ------------------------------------------------------------------------------- */
/* The version of the header (compile time); mcp_version() tells the library's (run time). */
#define MCP_VERSION_MAJOR  0
#define MCP_VERSION_MINOR  1
#define MCP_VERSION_PATCH  0
#define MCP_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define MCP_VERSION_NUMBER (MCP_VERSION_MAJOR * 10000 + MCP_VERSION_MINOR * 100 + MCP_VERSION_PATCH)

/* The running libmcp's version, e.g. "0.1.0" (a static string). Any thread. */
const char *mcp_version(void);

typedef struct mcp_server mcp_server;
typedef struct mcp_ctx mcp_ctx;

/* ---- errors ------------------------------------------------------------------------------- */
/* What a failing function returns: negative values named after the errno they resemble (and
 * equal to it on Linux), so that a caller can print them with mcp_strerror(). */
typedef enum mcp_err {
    MCP_OK = 0,
    MCP_ENOENT = -2,      /* nothing registered under that name or URI */
    MCP_EIO = -5,         /* an I/O error on the transport (stdin, stdout, a socket) */
    MCP_EBUSY = -16,      /* in use: already started, or serving */
    MCP_EEXIST = -17,     /* a name or URI already registered */
    MCP_EINVAL = -22,     /* a bad argument or definition: the err text, if any, says what */
    MCP_ENOSPC = -28,     /* a fixed-size table is full (e.g. 16 keys of mcp_loop_set) */
    MCP_ERANGE = -34,     /* a number outside its allowed range */
    MCP_ENOTSUP = -95,    /* not supported by this libmcp or by the client */
    MCP_EADDRINUSE = -98, /* the address is already served by another process */
    MCP_ESHUTDOWN = -108, /* stopping: an event loop no longer takes work (mcp_loop_post) */
    MCP_ETIMEDOUT = -110, /* handlers did not stop in time (a stop left them running) */
    MCP_ECANCELED = -125, /* the request was cancelled or its client went away */
} mcp_err;

/* A short English description of err (an mcp_err value), e.g. "invalid argument"; "success"
 * for 0 and "unknown error" for anything else. A static string. Any thread. */
const char *mcp_strerror(int err);

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

/* Returns a new server, or NULL with the reason in err[errsize] (err may be NULL): info is
 * NULL, lacks name or version, or its icons are not a JSON array. mcp_server_new() is the
 * same without a reason. Free with mcp_server_free() (NULL is fine) once no transport uses it.
 * Any thread. */
#define mcp_server_new(...)     mcp_server_new_sz(sizeof(mcp_server_info), __VA_ARGS__, NULL, 0)
#define mcp_server_new_err(...) mcp_server_new_sz(sizeof(mcp_server_info), __VA_ARGS__)
mcp_server *mcp_server_new_sz(size_t info_size, const mcp_server_info *info, char *err,
                              size_t errsize);
/* Frees s and everything registered in it (NULL is fine). Call after every transport serving
 * it has stopped; handlers' ud pointers are the caller's to free afterwards. */
void mcp_server_free(mcp_server *s);

/* Sets the secret from which the key that seals `requestState` and cursors is derived, so
 * that several server processes behind one balancer accept each other's tokens. Without it a
 * random key is made per process. Returns 0 or MCP_EINVAL (shorter than 16 bytes). Call
 * before serving: tokens sealed under the previous key stop being accepted. Any thread. */
int mcp_server_set_secret(mcp_server *s, const void *secret, size_t len);

/* Page size of tools/list, resources/list, resources/templates/list, prompts/list, skills/list
 * and resources/directory/read (default 100). Returns 0, or MCP_ERANGE outside 1..10000 (the
 * size is then unchanged). Any thread. */
int mcp_server_set_page_size(mcp_server *s, unsigned n);

/* Bounds of the task store (tools that run as tasks). Zero fields keep the defaults shown. */
typedef struct mcp_task_limits {
    size_t max_tasks;          /* tasks kept at once (running or finished); 10000 */
    int64_t default_ttl_ms;    /* how long a task is kept after it was created; 300000 */
    int64_t max_ttl_ms;        /* cap on a ttl the client asks for (2025-11-25); 3600000 */
    uint32_t poll_interval_ms; /* the poll interval suggested to clients; 500 */
} mcp_task_limits;

/* Sets the task store's bounds. Returns 0; MCP_EINVAL if lim is NULL; MCP_ERANGE (nothing
 * changed) if a ttl is negative or default_ttl_ms exceeds max_ttl_ms (both given). Call
 * before serving. */
#define mcp_server_set_task_limits(s, ...)                                                         \
    mcp_server_set_task_limits_sz((s), sizeof(mcp_task_limits), __VA_ARGS__)
int mcp_server_set_task_limits_sz(mcp_server *s, size_t lim_size, const mcp_task_limits *lim);

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
/* The handler is not re-entrant: its calls wait in a bounded mailbox (64 calls; past it a call
 * fails at once with the overloaded error, 503 / -32000 over HTTP) and run one at a time, in
 * arrival order, on the work pool, with no lock held across the handler. Overrides
 * MCP_INLINE. */
#define MCP_SERIAL 0x10u
/* Tools only: the handler vouches that its structured content is a JSON object matching the
 * tool's output schema (it builds it by construction, e.g. with an mcp_jw writer from typed
 * data), so libmcp copies it as it is: no parse, no schema walk (about a fifth of a small
 * call's cost). Only that it starts with '{' is checked. libmcp built with ASan or TSan still
 * parses and validates it, failing the call as without the flag, so a handler's tests under
 * sanitizers catch a broken promise; other builds would send broken text to the client. */
#define MCP_OUTPUT_TRUSTED 0x20u

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
    /* How long a call may run before it is answered with an error (-32603, "tool 'name' did
     * not finish within N ms", also logged) and its ctx is cancelled; checked about once a
     * second. 0: the server's default (mcp_server_set_timeout: 5 minutes unless set);
     * MCP_TIMEOUT_NONE: no limit. A call running as a task is bounded by its ttl instead. */
    uint32_t timeout_ms;
    /* Optional, instead of input_schema: the parameters in a compact form that libmcp turns
     * into the JSON Schema, e.g.
     *     "city: string 'City name', days?: integer(1..7) = 3, units?: string(metric|imperial)"
     * Grammar (docs/guide.md): parameters separated by ',' ';' or newlines, each
     *     name['?'] ':' type ['=' default] ['\'' description '\'']
     * '?' marks an optional parameter (the others are required); type is string, integer,
     * number, boolean or object, optionally with (a|b|c) choices for string, (min..max) for
     * integer and number, and [] for an array of it; a description in single quotes ('' for
     * a quote). Setting both params and input_schema is an error. */
    const char *params;
} mcp_tool_def;

/* Registers a tool. Returns 0, MCP_EEXIST, or MCP_EINVAL with a reason in err[errsize] (err
 * may be NULL), e.g. "input_schema: /properties/a/minimum: expected a number". The input and
 * output schemas must be JSON objects with "type": "object" (the tool definition of both
 * protocol eras; structured content is an object). Any thread, also while serving. */
#define mcp_server_add_tool(s, ...) mcp_server_add_tool_sz((s), sizeof(mcp_tool_def), __VA_ARGS__)
int mcp_server_add_tool_sz(mcp_server *s, size_t def_size, const mcp_tool_def *def, char *err,
                           size_t errsize);
/* Removes a tool; calls already running finish. Returns 0 or MCP_ENOENT. Any thread. */
int mcp_server_remove_tool(mcp_server *s, const char *name);

typedef struct mcp_resource_def {
    const char *uri;  /* required, absolute URI */
    const char *name; /* required */
    const char *title;
    const char *description;
    const char *mime_type;
    int64_t size;            /* bytes; 0 (left out) or -1: unknown, not listed; see has_size */
    const char *annotations; /* optional JSON object */
    const char *icons;       /* optional JSON array */
    mcp_handler_fn handler;  /* required: answers resources/read */
    void *ud;
    unsigned flags;
    bool has_size; /* true: size is known even when 0 (an empty resource lists "size":0) */
} mcp_resource_def;

/* Registers a resource. Returns 0, MCP_EEXIST, or MCP_EINVAL with a reason in err[errsize].
 * Any thread. */
#define mcp_server_add_resource(s, ...)                                                            \
    mcp_server_add_resource_sz((s), sizeof(mcp_resource_def), __VA_ARGS__)
int mcp_server_add_resource_sz(mcp_server *s, size_t def_size, const mcp_resource_def *def,
                               char *err, size_t errsize);
/* Removes a resource. Returns 0 or MCP_ENOENT. Any thread. */
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

/* Registers a resource template. Returns 0, MCP_EEXIST, or MCP_EINVAL with a reason in
 * err[errsize]. Any thread. */
#define mcp_server_add_template(s, ...)                                                            \
    mcp_server_add_template_sz((s), sizeof(mcp_template_def), __VA_ARGS__)
int mcp_server_add_template_sz(mcp_server *s, size_t def_size, const mcp_template_def *def,
                               char *err, size_t errsize);
/* Removes a template. Returns 0 or MCP_ENOENT. Any thread. */
int mcp_server_remove_template(mcp_server *s, const char *uri_template);

/* One argument of a prompt. An array element: this struct never changes (see docs/abi.md). */
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

/* Registers a prompt. Returns 0, MCP_EEXIST, or MCP_EINVAL with a reason in err[errsize].
 * Any thread. */
#define mcp_server_add_prompt(s, ...)                                                              \
    mcp_server_add_prompt_sz((s), sizeof(mcp_prompt_def), __VA_ARGS__)
int mcp_server_add_prompt_sz(mcp_server *s, size_t def_size, const mcp_prompt_def *def, char *err,
                             size_t errsize);
/* Removes a prompt. Returns 0 or MCP_ENOENT. Any thread. */
int mcp_server_remove_prompt(mcp_server *s, const char *name);

/* Which list changed, for mcp_server_list_changed(). */
typedef enum mcp_list_kind { MCP_LIST_TOOLS, MCP_LIST_RESOURCES, MCP_LIST_PROMPTS } mcp_list_kind;

/* Sends the list-changed notification for kind to every client that wants it, without
 * changing the registry: for servers whose lists depend on state outside libmcp (adding and
 * removing entries sends it by itself). Returns 0, or MCP_EINVAL for an unknown kind. Any
 * thread. */
int mcp_server_list_changed(mcp_server *s, mcp_list_kind kind);

/* Tells subscribed clients that the resource at uri changed (notifications/resources/updated
 * in legacy sessions that subscribed, and modern subscriptions/listen streams). Returns 0, or
 * MCP_EINVAL if uri is NULL. Any thread. */
int mcp_server_resource_updated(mcp_server *s, const char *uri);

/* ---- the request: what a handler can read -------------------------------------------------- */
/* Every pointer returned here lives as long as the ctx (until it is finished); copy what must
 * outlive it. All of them may be called from the thread that holds the ctx. */

/* The server the request came to (to register or remove items, notify, ...). */
mcp_server *mcp_ctx_server(const mcp_ctx *c);
/* The method being answered: "tools/call", "resources/read", "prompts/get",
 * "completion/complete". */
const char *mcp_ctx_method(const mcp_ctx *c);
/* The tool or prompt name; the resource URI for resources/read; for completion the prompt
 * name or the template's URI. */
const char *mcp_ctx_name(const mcp_ctx *c);
/* Arguments: tools/call and prompts/get arguments (an object, possibly empty); for a resource
 * template the matched variables (strings); for completion {"ref":..,"argument":..,
 * "context":..}. Read them with <mcp/json.h> or the typed getters below. */
const mcp_json *mcp_ctx_arguments(const mcp_ctx *c);

/* One argument by name (NULL if absent). For tools/call and prompts/get an argument, for a
 * template read a matched variable, for completion an argument already given in
 * context.arguments. Tool arguments were validated against the input schema before the
 * handler runs, so a getter with the schema's type only falls back for optional ones. */
const mcp_json *mcp_ctx_arg(const mcp_ctx *c, const char *name);
/* The argument as a string (NUL-terminated; its length in *len if len is not NULL), or dflt
 * if it is absent or not a string (*len then strlen(dflt), or 0 for NULL). */
const char *mcp_ctx_arg_strn(const mcp_ctx *c, const char *name, const char *dflt, size_t *len);
/* The argument as a string, or NULL if absent or not a string. */
const char *mcp_ctx_arg_str(const mcp_ctx *c, const char *name);
/* The argument as an int64 (an integral number: 3 and 3.0), or dflt. */
int64_t mcp_ctx_arg_int(const mcp_ctx *c, const char *name, int64_t dflt);
/* The argument as a double (any number), or dflt. */
double mcp_ctx_arg_double(const mcp_ctx *c, const char *name, double dflt);
/* The argument as a bool (true or false), or dflt. */
bool mcp_ctx_arg_bool(const mcp_ctx *c, const char *name, bool dflt);

/* completion/complete: the name of the argument being completed, and its partial value in
 * *value (if value is not NULL). NULL for other methods. */
const char *mcp_ctx_completing(const mcp_ctx *c, const char **value);

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
 * finish call is then accepted and nothing is sent. Any thread. */
bool mcp_ctx_cancelled(const mcp_ctx *c);

/* ---- the answer ---------------------------------------------------------------------------- */
/* Content blocks, in order, for tools/call results and prompt messages. Text is UTF-8; binary
 * data is given raw and base64-encoded for you. The ctx copies what it is given. Everything
 * in this section is called by the thread that holds the ctx.
 *
 * Handler mistakes are not silent: a call given bad input (JSON text that does not parse or
 * is not an object where one is needed, a failed writer, a NULL text) fails and marks the
 * answer as broken; the request then ends with -32603 "tool 'x': ..." (also logged, with the
 * tool's name) instead of a result, whatever the handler does next (finish, tool_error). */
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
/* Any content block given as JSON text (checked to be an object); for fields not covered.
 * Returns 0 or MCP_EINVAL (a handler mistake, see above). */
int mcp_ctx_content_json(mcp_ctx *c, const char *json);
/* Prompts: starts a new message with role "user" or "assistant" (anything else is a handler
 * mistake); content added after it belongs to it; before any, the role is "user". prompts/get
 * may also set a description. */
void mcp_ctx_message(mcp_ctx *c, const char *role);
void mcp_ctx_description(mcp_ctx *c, const char *description);
/* Tools: structured content as JSON text (an object); validated against the output schema at
 * finish. Returns 0 or MCP_EINVAL (a handler mistake, see above). */
int mcp_ctx_structured(mcp_ctx *c, const char *json);
/* The same from a writer (<mcp/json.h>) holding a complete object; the text is copied, w
 * stays the caller's. A failed or incomplete writer is a handler mistake (MCP_EINVAL). */
int mcp_ctx_structured_jw(mcp_ctx *c, const mcp_jw *w);
/* Completion: a suggested value (at most 100 are sent), and optionally the total count. */
void mcp_ctx_complete_value(mcp_ctx *c, const char *value);
void mcp_ctx_complete_total(mcp_ctx *c, int64_t total, bool has_more);

/* The calls that end the ctx (exactly one of these, or mcp_ctx_ask, per ctx; afterwards the
 * ctx and every pointer it gave out are gone). */
/* Sends the result built so far and ends the ctx. Returns 0; MCP_ECANCELED if the request
 * was cancelled (nothing sent); MCP_EINVAL if the answer was broken by a handler mistake or a
 * structured result failed the output schema (-32603 was sent and logged). */
int mcp_ctx_finish(mcp_ctx *c);
/* Ends a tools/call with isError: true and the formatted text as its content (content
 * added before is discarded). For failures the model should see and may correct. Other
 * methods have no tool errors: they get -32603 with the text. */
void mcp_ctx_tool_error(mcp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the ctx with a JSON-RPC error (protocol failure, e.g. MCP_ERR_INVALID_PARAMS). */
void mcp_ctx_fail(mcp_ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Ends the ctx saying that what was asked for does not exist, in the words of the request's
 * protocol era, exactly as the engine says it for what is not registered: for resources/read
 * "Resource not found" with data {"uri":...} and code -32002 (2025-11-25 and earlier) or
 * -32602 (2026-07-28); for tools/call a tool error (isError) with the message; for prompts/get
 * and completion -32602. fmt may be NULL for the standard message. */
void mcp_ctx_not_found(mcp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- progress, logging --------------------------------------------------------------------- */
/* Sends notifications/progress if the client gave a progressToken; progress must increase
 * (a non-increasing value is dropped). total < 0 means unknown; message may be NULL. The
 * thread holding the ctx. */
void mcp_ctx_progress(mcp_ctx *c, double progress, double total, const char *message);

/* Makes the running tools/call a task now (tools with MCP_TASK_*): the request is answered at
 * once with the task's id, and the handler goes on; what it finishes with becomes the task's
 * result. Returns true if the call is (now) a task, false if it cannot be one (the tool has
 * no MCP_TASK_* flag, the client cannot take a task, the store is full): the call goes on as
 * an ordinary one. Handler's thread. */
bool mcp_ctx_start_task(mcp_ctx *c);
/* True if the call runs as a task. The thread holding the ctx. */
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
 * logging/setLevel; modern: the request's _meta log level; none set: nothing is sent). Its
 * data is the string msg (NULL: ""); logger (may be NULL) names the source. Nothing goes to
 * the server's own log. The handler's thread. */
void mcp_ctx_log(mcp_ctx *c, mcp_log_level level, const char *logger, const char *msg);

/* ---- the library's own log ------------------------------------------------------------------- */
/* libmcp logs what happens to it (listening, stopping, a handler past its timeout, input it
 * dropped) one line per event, never to stdout. By default each line goes to stderr as
 * "<name>: <level>: <message>", name being the program's (program_invocation_short_name) and
 * levels debug, info, warn, error; the minimum is info, or MCPD_LOG=debug|info|warn|error.
 * These settings are process-wide (the log is the library's, not a server's); any thread, also
 * while serving. Each returns 0. */

/* Sets the name that starts every stderr line (copied, at most 63 bytes; NULL: the program's
 * own name). */
int mcp_log_set_name(const char *name);
/* Drops events below level (MCP_LOG_NOTICE counts as info; CRITICAL and above as error). */
int mcp_log_set_level(mcp_log_level level);

/* Receives each event instead of stderr: level is MCP_LOG_DEBUG, _INFO, _WARNING or _ERROR,
 * msg the message alone (no name, level or newline; valid during the call). Called from any
 * libmcp thread, possibly from several at once; it must not call back into libmcp. */
typedef void (*mcp_log_fn)(mcp_log_level level, const char *msg, void *ud);
/* Sets the callback (fn NULL: back to stderr). */
int mcp_log_set_callback(mcp_log_fn fn, void *ud);

/* ---- asking the client --------------------------------------------------------------------- */
/* Everything here is called by the thread that holds the ctx. */
/* The client's answer to the question asked under key in an earlier round, or NULL; it lives
 * as long as the ctx. */
const mcp_json *mcp_ctx_input(const mcp_ctx *c, const char *key);
/* Queues a question: params is the JSON text of the request's params (copied). Returns 0, or
 * MCP_EINVAL if the client did not declare the capability (elicitation, sampling, roots),
 * params is not a JSON object, or the method cannot ask (completion). A second question
 * under the same key replaces the first. */
int mcp_ctx_elicit(mcp_ctx *c, const char *key, const char *params);
int mcp_ctx_sample(mcp_ctx *c, const char *key, const char *params);
int mcp_ctx_list_roots(mcp_ctx *c, const char *key);
/* Opaque handler state carried to the next round (copied, sealed on the way out). Returns 0,
 * or MCP_EINVAL if len exceeds 16 KiB or data is NULL with a length. */
int mcp_ctx_set_state(mcp_ctx *c, const void *data, size_t len);
/* The state the previous round set, its length in *len (NULL and 0 if none); it lives as long
 * as the ctx. */
const void *mcp_ctx_state(const mcp_ctx *c, size_t *len);
/* Ends this round: the questions queued go to the client and the handler runs again with
 * the answers. Returns 0, or MCP_EINVAL if nothing was queued (the ctx then fails with an
 * internal error). */
int mcp_ctx_ask(mcp_ctx *c);

/* ---- handlers that block: timeouts and cancellation ----------------------------------------- */
/* Handlers run on an elastic pool sized for blocking work (see mcp_stdio_options.threads), so
 * a handler may sleep, wait on a socket or query a database without holding up other calls.
 * What it must do is stop when told: the client cancelled, went away, the server stops, or the
 * call ran past its timeout. mcp_ctx_cancelled() polls; the two functions below let a handler
 * that waits on something else be woken instead. See docs/internals/pool.md. */

/* No timeout (mcp_tool_def.timeout_ms, mcp_server_set_timeout). */
#define MCP_TIMEOUT_NONE UINT32_MAX

/* Sets the timeout of every handler that has none of its own (tools without timeout_ms, and
 * resources, templates, prompts, completions): ms milliseconds, 0 for the built-in default
 * (300000, 5 minutes), or MCP_TIMEOUT_NONE. Past it the request is answered with -32603 and a
 * log line names the handler; the ctx is cancelled, and the handler's later finish is accepted
 * and sends nothing. Returns 0. Any thread; calls already running keep their deadline. */
int mcp_server_set_timeout(mcp_server *s, uint32_t ms);

/* Calls fn(ud) once when ctx is cancelled (at once, on this thread, if it already is). fn runs
 * on the cancelling thread (an I/O thread, the timeout sweep, the one stopping the server)
 * with libmcp's locks held: it must only wake the handler (signal a condition variable, write
 * to a pipe, set an atomic flag, mcp_loop_post to the loop the call waits on), never call
 * other mcp_* functions or block. It is not called after the ctx ends (finish, fail, ask), so
 * ud may live on the handler's stack. A second call
 * replaces the first; fn NULL removes it. Returns 0. The handler's thread. */
int mcp_ctx_on_cancel(mcp_ctx *c, void (*fn)(void *ud), void *ud);

/* Returns a file descriptor that becomes readable (POLLIN) when ctx is cancelled, to poll or
 * select together with the handler's own descriptors; or a negative errno (-EMFILE, ...). It
 * belongs to the ctx: don't read, write or close it; it is closed when the ctx ends. The
 * handler's thread. */
int mcp_ctx_cancel_fd(mcp_ctx *c);

/* ---- handlers that run inline but may need a thread ------------------------------------------ */
/* An MCP_INLINE handler runs on the I/O thread that decoded the request, which must never block.
 * A handler that is quick most of the time but not always (a database read that may meet a
 * lock, a cache that may miss) is registered MCP_INLINE, tries the quick path, and hands the
 * call to the work pool when it finds it would block. One that waits on I/O instead may start
 * it on the I/O thread's own event loop and finish later from there (<mcp/loop.h>:
 * mcp_ctx_loop). */

/* True while the handler runs inline on an I/O thread and may still hand the call over with
 * mcp_ctx_defer(); false on a handler thread (and for an MCP_INLINE tool served where there is
 * no pool, e.g. an embedding without threads). The handler's thread, during its invocation. */
bool mcp_ctx_is_inline(const mcp_ctx *c);

/* From a handler running inline (mcp_ctx_is_inline true): hands the call to the work pool, where
 * the same handler is invoked again with the same ctx, from its start, and mcp_ctx_is_inline
 * false. Content added so far is dropped. Returns 0: c is no longer the caller's (return at
 * once without touching it; if the pool's queue is full the call was answered "overloaded", as
 * any call would be). Returns MCP_EINVAL when not running inline (c stays the caller's: go on
 * on this thread). */
int mcp_ctx_defer(mcp_ctx *c);

/* ---- serving --------------------------------------------------------------------------------- */
typedef struct mcp_stdio_options {
    size_t max_line;    /* bytes per incoming line; default 4 MiB */
    unsigned threads;   /* most handler threads; default max(64, 8 x cores) (see below) */
    unsigned queue_max; /* queued handler calls; default 1024 */
} mcp_stdio_options;

/* Handler threads (both transports): as many as the cores are kept; another starts whenever a
 * call arrives and none is idle, up to `threads`; one idle for 10 s beyond the cores ends. So a
 * handler that blocks holds one thread, and quick calls get their own. Calls beyond `threads`
 * wait in the queue (queue_max; beyond it: overloaded). See docs/internals/pool.md. */

/* Serves s on stdin/stdout until EOF or SIGTERM/SIGINT, finishing in-flight work first:
 * mcp_stdio_start, a wait for the end of input or a signal, mcp_stdio_stop. For the signals it
 * installs SIGTERM and SIGINT handlers while it runs and puts the previous ones back (use the
 * start/stop pair to keep your own). Logs go to stderr. Returns what mcp_stdio_stop returns,
 * or MCP_SERVE_FAILED if it could not start. Blocks the calling thread. opts may be NULL. */
#define mcp_serve_stdio(s, ...) mcp_serve_stdio_sz((s), sizeof(mcp_stdio_options), __VA_ARGS__)
int mcp_serve_stdio_sz(mcp_server *s, size_t opts_size, const mcp_stdio_options *opts);

typedef struct mcp_stdio mcp_stdio;

/* Starts serving s on stdin/stdout and returns at once: a reader thread of the library's own
 * reads stdin, handlers run on the pool, answers go to stdout. Touches no signal disposition.
 * Returns the transport, or NULL with a reason in err (err may be NULL). s must outlive it.
 * One per process (there is one stdin). Any thread. */
#define mcp_stdio_start(s, ...) mcp_stdio_start_sz((s), sizeof(mcp_stdio_options), __VA_ARGS__)
mcp_stdio *mcp_stdio_start_sz(mcp_server *s, size_t opts_size, const mcp_stdio_options *opts,
                              char *err, size_t errsize);
/* Waits up to timeout_ms (-1: for ever) for the input to end (EOF, a read error, a broken
 * stdout). Returns 1 if it has ended, 0 on timeout. Any thread. */
int mcp_stdio_wait(mcp_stdio *h, int timeout_ms);
/* Stops reading (if the input has not ended), cancels running tasks, waits up to 10 s for
 * requests in flight, then frees h. Returns MCP_SERVE_OK, MCP_SERVE_FAILED if reading or
 * writing failed, or MCP_SERVE_ABANDONED (h not freed; see below) if handlers still run 5 s
 * after that. Blocks; call it once, from a thread that is not a handler's. */
int mcp_stdio_stop(mcp_stdio *h);

/* ---- Streamable HTTP ------------------------------------------------------------------------ */
typedef struct mcp_access_record mcp_access_record; /* below */

/* Zero fields take the defaults shown. See docs/internals/transport-http.md. */
typedef struct mcp_http_options {
    const char *host;           /* bind address, IPv4 or IPv6 literal; "127.0.0.1" */
    int port;                   /* 0: the kernel picks one (mcp_http_port tells) */
    const char *path;           /* the MCP endpoint; "/mcp" */
    unsigned workers;           /* event-loop threads; the CPUs the process may run on */
    unsigned threads;           /* most handler threads; max(64, 8 x cores) (see mcp_stdio_options) */
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
    /* Bounds on what one client can make the server hold (docs/limits.md); 0: the default.
     * write_timeout_ms: a client that takes no byte of pending output for this long is
     * disconnected; 30000. max_unsent_output: output bytes held for one connection (one SSE
     * stream); a write past it disconnects the client (a legacy stream can be resumed); 8 MiB.
     * max_client_requests: server-to-client requests (elicitation, sampling, roots) awaiting an
     * answer per legacy session; 64. max_client_requests_total: the same over all sessions;
     * 4096. Past either, the asking call fails with 503 / -32000. */
    uint32_t write_timeout_ms;
    size_t max_unsent_output;
    size_t max_client_requests;
    size_t max_client_requests_total;
    /* The replay window of legacy SSE streams (resumption with Last-Event-ID): each stream
     * keeps its last replay_events events (256) and replay_bytes bytes (1 MiB), none older
     * than replay_ttl_ms (300000); a session keeps its 64 latest finished streams and 4 MiB
     * of events. A resume from before the window gets 400. */
    uint32_t replay_events;
    size_t replay_bytes;
    uint32_t replay_ttl_ms;
    /* Authentication (optional): called for every request to the MCP endpoint with its
     * Authorization header (NULL when absent); returns the principal to serve it as (any
     * non-NULL pointer, the caller's; see mcp_ctx_principal), or NULL to answer 401 with
     * WWW-Authenticate: Bearer. Runs on an I/O thread for each request: quick, no blocking.
     * NULL: no authentication. */
    const void *(*auth)(void *auth_ud, const char *authorization);
    void *auth_ud;
    /* Fair degradation (docs/overload.md). Handler calls wait in one queue per client (the
     * principal auth returned, else the legacy session, else the peer's IP address), served
     * round robin. queue_target_ms: a client whose oldest waiting call has waited longer than
     * this for ten times as long gets 503 with a Retry-After estimated from the drain rate
     * (CoDel-style); 100. client_queue_max: calls one client may have waiting; queue_max / 4
     * (at least 1). */
    uint32_t queue_target_ms;
    size_t client_queue_max;
    /* The performance monitor's rules (mcp_alert_rule, below); NULL: the default rules
     * (docs/overload.md); non-NULL with n_alert_rules 0: none. At most 64. */
    const struct mcp_alert_rule *alert_rules;
    size_t n_alert_rules;
    /* Admin endpoints (/metrics, /health, /ready, /status, /status.json; docs/metrics.md).
     * They are served on the MCP listener when host is a loopback address, and on a listener
     * of their own at admin_host:admin_port (port 0: the kernel picks; mcp_http_admin_port
     * tells) when admin_host is set. On a non-loopback admin listener, /status and
     * /status.json need `auth` to accept the request's Authorization (403 without auth set)
     * unless status_public. ready: NULL, or called for each /ready and /status read (any
     * thread, quick): false turns /ready to 503 with the reason it wrote (a raised alert,
     * say). /ready is 503 while the server drains in any case. */
    const char *admin_host;
    int admin_port;
    bool status_public;
    bool (*ready)(void *ready_ud, char *reason, size_t reason_size);
    void *ready_ud;
    /* true: no per-method and per-tool series (the transport's own stay), for measuring
     * what they cost; the status page then lists no methods or tools. */
    bool no_request_metrics;
    /* Access log (docs/access-log.md): one line per HTTP request with its time, client,
     * method and path, MCP method and tool/prompt/resource name, status, JSON-RPC error code,
     * duration, bytes, session id prefix and principal name; never a query string, header,
     * token, argument or result. access_log: a file path, opened O_APPEND|O_CREAT (0640) at
     * start (failing the start if it cannot be), or "-" for stderr; NULL: no file.
     * access_log_format: "text" (the default: key=value, values quoted and escaped) or "json"
     * (JSON lines). Lines are buffered per worker and written within 250 ms (or at 60 KiB)
     * with one write each; write errors are counted and logged once, never fatal. See
     * mcp_http_reopen_access_log for rotation. */
    const char *access_log;
    const char *access_log_format;
    /* Called once per request with its record (mcp_access_record), on the I/O thread that
     * served it (or the stopping thread for requests cut off by mcp_http_stop): quick, no
     * blocking, no mcp_* calls. The record and its strings live during the call only. Works
     * with or without access_log. NULL: none. */
    void (*access_hook)(void *access_ud, const mcp_access_record *rec);
    void *access_ud;
    /* Names the principal auth returned, for the log (it must never be a secret): copied
     * (at most 128 bytes) when the request is admitted, on its I/O thread; quick. NULL (or
     * NULL returned): the principal is logged as absent. */
    const char *(*principal_name)(void *access_ud, const void *principal);
} mcp_http_options;

/* One request as the access log sees it (mcp_http_options.access_hook). libmcp allocates it:
 * fields may be appended in later versions (a program reads the ones it knows). Absent
 * strings are NULL. */
struct mcp_access_record {
    uint64_t time_unix_ms;   /* wall clock when the request's first byte arrived */
    const char *client;      /* the peer: "127.0.0.1:51234", "[::1]:51234" */
    const char *http_method; /* "POST"; NULL when the request line did not parse */
    const char *path;        /* the target's path, never its query; at most 256 bytes */
    const char *mcp_method;  /* the JSON-RPC method as sent (a batch: its first), or NULL */
    const char *name;        /* params.name (tool, prompt), else params.uri (resource) */
    int status;              /* HTTP status; 0 when none was sent */
    int rpc_error;           /* code of the first JSON-RPC error answered; 0: none */
    uint64_t duration_us;    /* first byte read to last byte written (SSE: to the stream's
                                end; aborted: to the close) */
    uint64_t bytes_in;       /* request bytes as received (head and body) */
    uint64_t bytes_out;      /* response bytes written (head, body, chunk framing) */
    const char *session;     /* the first 8 characters of the legacy session id */
    const char *principal;   /* principal_name's answer */
    unsigned batch;          /* messages in a JSON-RPC batch; 0: not a batch */
    bool aborted;            /* the connection ended before the response was all written */
};

typedef struct mcp_http mcp_http;

/* Starts serving s over Streamable HTTP (worker loops and a work pool; idle sessions end and
 * handler timeouts fire on the loops' own deadline timers, no extra thread) and returns at
 * once. Touches no signal disposition. Returns the server, or NULL with a reason in err and
 * errno set: when another process (or socket) already serves host:port, EADDRINUSE and
 * "address 127.0.0.1:8080 is already in use" (the workers' SO_REUSEPORT would otherwise let
 * the two share it silently). Logs the listening URL. Call from a thread that is not one of its
 * workers; s must outlive it. */
#define mcp_http_start(s, ...) mcp_http_start_sz((s), sizeof(mcp_http_options), __VA_ARGS__)
mcp_http *mcp_http_start_sz(mcp_server *s, size_t opts_size, const mcp_http_options *opts,
                            char *err, size_t errsize);

/* Returns the port it listens on. Any thread. */
int mcp_http_port(const mcp_http *h);

/* ---- helpers for a server program's main -------------------------------------------------- */

/* Parses a listen address, HOST:PORT or [IPV6]:PORT (port 0..65535, decimal digits only), into
 * host[hostsize] (without the brackets) and *port, for mcp_http_options.host/port and
 * admin_host/admin_port. Returns 0, or MCP_EINVAL (host and *port untouched) when s is not
 * one or the host does not fit. Any thread. */
int mcp_parse_hostport(const char *s, char *host, size_t hostsize, int *port);

/* Keeps memory freed after a request in the process (glibc malloc: M_MMAP_THRESHOLD and
 * M_TRIM_THRESHOLD at 32 MiB) instead of unmapping it and faulting it back in, zeroed, for
 * the next big message: without it a 1 MB tools/call echo spends over half its CPU in page
 * faults (docs/benchmarks.md, scenario 6). Process-wide, so libmcp never does it by itself:
 * a server program calls it first thing in main. Does nothing on other C libraries. Main
 * thread, before other threads start. */
void mcp_keep_freed_memory(void);

/* ---- performance monitor (docs/overload.md) -------------------------------------------------
 * Rules evaluated once a second on sliding windows of the transport's metrics. An alert
 * raises when its signal stays at or above `raise` for for_ms, and clears when it stays at or
 * below `clear` (<= raise) for for_ms. A raised alert logs a WARN line, sets the series
 * mcpd_alerts and mcpd_alert_active{rule="NAME"}, and makes mcp_http_ready false. */
typedef struct mcp_alert_rule {
    const char *name; /* [a-z0-9_], 1 to 63 chars; unique */
    /* "p99_latency" (seconds, request duration), "queue_wait" (seconds, p99 wait for a
     * handler thread), "error_rate" (HTTP errors / requests, 0..1), "in_flight" (handler calls
     * queued or running), "rss" (bytes), "fds" (open file descriptors) */
    const char *signal;
    double raise, clear;
    uint32_t window_ms; /* p99_latency, queue_wait, error_rate; 0: 60000. Fewer than 20
                         * samples in the window count as 0 */
    uint32_t for_ms;    /* 0: the next evaluation */
} mcp_alert_rule;

/* An active alert. */
typedef struct mcp_alert {
    char rule[64];
    double value;           /* the signal at the last evaluation */
    double raise, clear;    /* the rule's thresholds */
    uint64_t since_unix_ms; /* when it was raised (wall clock) */
} mcp_alert;

/* Replaces the performance monitor's rules of every HTTP transport serving s, as at a config
 * reload: rules NULL means the default rules, non-NULL with n 0 none (as in
 * mcp_http_options; the rules set here win over the options' from now on, also for a
 * transport started later). The rules are copied and checked at once: a name of [a-z0-9_]
 * (1-63 chars) unique among them, a known signal, clear <= raise, window_ms at most 3600000,
 * at most 64 rules. A transport applies them at its next evaluation (within a second): a
 * rule equal to a current one (same name and fields) keeps its state (a raised alert stays
 * raised), a changed rule starts afresh, a removed rule's alert clears (and /ready follows).
 * Returns 0, or MCP_EINVAL with err saying what is wrong (nothing changes). Any thread. */
int mcp_server_set_alert_rules(mcp_server *s, const mcp_alert_rule *rules, size_t n, char *err,
                               size_t errsize);

/* Returns false while an alert is raised or h drains (stopping): what /ready answers (503 when
 * false). Any thread. */
bool mcp_http_ready(mcp_http *h);

/* Copies up to max active alerts into out and returns how many are active (maybe more than
 * max). Any thread. */
size_t mcp_http_alerts(mcp_http *h, mcp_alert *out, size_t max);

/* Reopens the access log file of h (h NULL: of every HTTP transport of the process) at its
 * path, for log rotation: after `mv access.log access.log.1`, lines go to a new access.log.
 * Lines buffered at the time go to the new file. Returns 0, or a negative errno when a file
 * cannot be opened (logged; that log keeps writing to its old file). Transports without a
 * file, or logging to stderr, are left alone. mcp_serve_http calls it on SIGHUP when the
 * program has no SIGHUP handler of its own. Any thread. */
int mcp_http_reopen_access_log(mcp_http *h);

/* Returns the lines the access log of h could not write (write errors) since the start. Any
 * thread. */
uint64_t mcp_http_access_log_errors(mcp_http *h);

/* Returns the admin listener's port, or 0 when there is none (admin_host unset). Any
 * thread. */
int mcp_http_admin_port(const mcp_http *h);

/* Ends idle sessions and expires unanswered server-to-client requests and handler timeouts,
 * walking every session. The transport's deadline timers do all of this on time: calling it
 * is never needed (it stays for programs written when it was). Any non-worker thread. */
void mcp_http_sweep(mcp_http *h);

/* What mcp_serve_stdio, mcp_serve_http, mcp_http_stop and mcp_stdio_stop return: mcp_err
 * values under the names of the outcomes (map them to an exit status yourself, e.g. 0, 1,
 * and 2 for an address in use). */
#define MCP_SERVE_OK        MCP_OK         /* served, stopped, everything freed */
#define MCP_SERVE_FAILED    MCP_EIO        /* could not start, or an I/O error ended it (logged) */
#define MCP_SERVE_ADDRINUSE MCP_EADDRINUSE /* could not start: the address is in use (logged) */
/* Stopped, but handlers still ran drain_ms + 5 s after the stop began (they ignore
 * cancellation), or a second signal cut the wait short: their threads and everything they may
 * touch were left allocated, the server s included (mcp_server_free(s) then logs and leaves
 * it). End the process when you are ready (_exit skips leak checkers and atexit handlers that
 * might touch what the handlers use). libmcp never ends the process itself. */
#define MCP_SERVE_ABANDONED MCP_ETIMEDOUT

/* Stops gracefully: new requests get 503, in-flight ones finish (up to drain_ms), streams end
 * with their final events, then every connection closes and h is freed. Returns MCP_SERVE_OK,
 * or MCP_SERVE_ABANDONED (h not freed, see above) when handlers still run 5 s after drain_ms.
 * Blocks at most drain_ms + 5 s and a little. Call once, from the thread that started it. */
int mcp_http_stop(mcp_http *h);

/* Serves s over Streamable HTTP until SIGTERM or SIGINT, then stops as mcp_http_stop does; a
 * second signal during the stop stops the wait for handlers at once. It installs handlers for
 * SIGTERM and SIGINT while it runs and puts the previous ones back (use mcp_http_start/stop to
 * keep your own). With an access log file, SIGHUP reopens it (mcp_http_reopen_access_log)
 * unless the program handles SIGHUP itself (its disposition is not the default). Returns
 * MCP_SERVE_OK, MCP_SERVE_FAILED, MCP_SERVE_ADDRINUSE or MCP_SERVE_ABANDONED. Blocks the calling
 * thread. opts may be NULL. */
#define mcp_serve_http(s, ...) mcp_serve_http_sz((s), sizeof(mcp_http_options), __VA_ARGS__)
int mcp_serve_http_sz(mcp_server *s, size_t opts_size, const mcp_http_options *opts);

/* ---- principals and tool visibility ------------------------------------------------------ */
/* Who the transport authenticated the request as (the pointer mcp_http_options.auth returned),
 * or NULL (stdio, or HTTP without auth). Any thread. */
const void *mcp_ctx_principal(const mcp_ctx *c);

/* Decides whether principal (NULL when unauthenticated) may see and call tool `name`. */
typedef bool (*mcp_tool_visible_fn)(void *ud, const void *principal, const char *name);

/* Sets a filter applied to tools/list (hidden tools are left out of the page) and tools/call (a
 * hidden tool is answered as unknown, so its existence does not leak). fn runs on request
 * threads with the registry read-locked: quick, no mcp_* calls. NULL removes it. Call before
 * serving. */
void mcp_server_set_tool_filter(mcp_server *s, mcp_tool_visible_fn fn, void *ud);

/* What an item filter is asked about, and the key it is given. */
typedef enum mcp_item_kind {
    MCP_ITEM_TOOL,     /* the tool's name: tools/list, tools/call */
    MCP_ITEM_RESOURCE, /* a resource URI: resources/list, resources/read (also a URI read
                        * through a template), resources/subscribe, subscriptions/listen;
                        * skills by their SKILL.md URI, skill directories by theirs */
    MCP_ITEM_TEMPLATE, /* the template's uri_template: resources/templates/list, a read through
                        * it, completion/complete with ref/resource */
    MCP_ITEM_PROMPT,   /* the prompt's name: prompts/list, prompts/get, completion/complete
                        * with ref/prompt */
} mcp_item_kind;

/* Decides whether principal (NULL when unauthenticated) may see and use the item of kind
 * `kind` under key. */
typedef bool (*mcp_item_visible_fn)(void *ud, const void *principal, mcp_item_kind kind,
                                    const char *key);

/* Sets a filter over tools, resources, templates and prompts (beside the tool filter above:
 * a tool must pass both). Hidden items are left out of their lists, and a request that names
 * one is answered exactly as if it did not exist: tools/call "Unknown tool", resources/read
 * "Resource not found" (-32002 legacy, -32602 modern), prompts/get "Unknown prompt",
 * completion "Unknown prompt" / "Unknown resource template", resources/subscribe "Resource not
 * found"; subscriptions/listen drops hidden URIs from what it acknowledges. With a filter set,
 * modern list results to authenticated requests are marked cacheScope "private" (they depend
 * on who asks). fn runs on request threads, sometimes with the registry read-locked: quick, no
 * mcp_* calls. NULL removes it. Call before serving. */
void mcp_server_set_item_filter(mcp_server *s, mcp_item_visible_fn fn, void *ud);

/* Names principals for the seals that bind state to them. A modern `requestState` carries a
 * digest of the principal that made the request, and a retry presented by another principal
 * (or anonymously, for state minted for a principal, and the other way round) is refused with
 * -32602 "invalid params: invalid requestState: it was issued to another principal". fn
 * writes principal's stable identity (a user id, a token's name) into out[size] (size is 256)
 * and returns its length (at most size); it is called only for non-NULL principals, on
 * request threads, quick, no mcp_* calls. Without it a principal is identified by its pointer
 * value: right for principals that live as long as the process (interned names), wrong when
 * they are freed and reallocated, or when several processes share a secret
 * (mcp_server_set_secret): set fn then. NULL restores the pointer identity. Call before
 * serving. */
typedef size_t (*mcp_principal_id_fn)(void *ud, const void *principal, char *out, size_t size);
void mcp_server_set_principal_id(mcp_server *s, mcp_principal_id_fn fn, void *ud);

/* ---- skills (extension io.modelcontextprotocol/skills, SEP-2640) --------------------------- */
/* A skill is a directory of files served as resources under
 * skill://[<authority>/]<name>/<path>, with a SKILL.md at its root whose YAML frontmatter names
 * and describes it. Once one is registered, the server declares the extension (2026-07-28
 * server/discover, with directoryRead) and answers skills/list, skills/get and
 * resources/directory/read; in legacy sessions those methods stay -32601. Every file is also an
 * ordinary resource (resources/list, resources/read). See docs/internals/skills.md. */

/* One file of a skill besides SKILL.md. An array element: this struct never changes. */
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
#define mcp_server_add_skill(s, ...)                                                               \
    mcp_server_add_skill_sz((s), sizeof(mcp_skill_def), __VA_ARGS__)
int mcp_server_add_skill_sz(mcp_server *s, size_t def_size, const mcp_skill_def *def, char *err,
                            size_t errsize);

/* Sets the authority used by skills registered later without one (NULL: none). Returns 0 or
 * MCP_EINVAL (not a reg-name). Any thread. */
int mcp_server_set_skill_authority(mcp_server *s, const char *authority);

#ifdef __cplusplus
}
#endif

#include <mcp/loop.h> /* the event loops lent to inline handlers (mcp_ctx_loop) */

#endif
