/* kind.h - the tool-kind interface of mcpd: how exec, sql, http, openapi and plugin plug in.
 *
 * A tool kind is one `mcpd_kind` (a table of callbacks, versioned like SQLite's VFS) in its own
 * file. The core never names a kind except in the one table that lists them (kinds.c). For each
 * entry of the config's "tools" array whose "kind" is the kind's name, the core:
 *
 *   1. validates the entry against the kind's `config_schema` (plus the keys every tool has:
 *      kind, name, title, description, annotations, timeout_ms, concurrency, breaker, ...) and
 *      refuses keys that neither declares;
 *   2. calls `configure` with the entry, its JSON Pointer in the file ("/tools/3") and an
 *      `mcpd_tools` to which the kind adds one or more tools (openapi adds one per operation).
 *      A mistake is reported with mcpd_err() at a JSON Pointer; the core turns it into
 *      "FILE:LINE:COLUMN: /tools/3/argv/2: what was expected";
 *   3. wraps every tool in the guard layer (guard.c): per-tool timeout, concurrency limit with
 *      a bounded wait, circuit breaker, the global child-process limit, auth allowlists;
 *   4. on each tools/call that passes the guard, calls `call` with an `mcpd_call`. The kind ends
 *      the call exactly once, from any thread, with mcpd_call_finish() or mcpd_call_fail(),
 *      saying what happened (mcpd_outcome) so that breakers and limiters see it;
 *   5. on cancellation (the client cancelled, went away, or the tool's timeout passed) calls
 *      `cancel` on the event loop at once (libmcp's cancel callback posts it; a timeout is
 *      seen by the loop's watchdog timer): the kind stops the work (kills the process group,
 *      aborts the transfer) and still ends the call with mcpd_call_finish/fail (or
 *      mcpd_call_ask, for a round of questions); after a timeout the guard then answers
 *      "tool X did not finish within N ms" whatever the kind added (libmcp's own per-tool
 *      timeout, 5 s later, answers for a kind that never ends its call);
 *   6. calls `health` periodically for tools added with a `health` object while they are
 *      served (health.c: failed probes hold the tool's breaker open, good ones close it), and
 *      `free` when a reload replaced the config and the last call on it ended.
 *
 * Reload. Every reload configures every kind afresh into a new generation; the old one keeps
 * serving the calls that started on it and is freed (kind `free`) after the last of them.
 * A kind's instance is therefore never shared between generations and needs no locking
 * against reconfiguration.
 *
 * Threads. configure runs on the main thread at start and on a reload thread later (never two
 * at once); free runs on whichever thread drops the generation's last reference (the event
 * loop thread after a call, or the reload thread), never while a call on the instance runs.
 * call_inline, when a kind has it, runs on a libmcp I/O thread and must not block (below).
 * call runs on a libmcp handler thread (the work pool), and should return at once when the
 * work is slow: post it to the event loop (mcpd_loop_post) or a thread of the kind's own, and
 * finish later. A tool added as `quick` has its call run on the I/O thread that read the
 * request instead (a call that would wait for a concurrency slot is handed to a handler thread
 * first): such a call must never block. cancel runs on the event loop thread, possibly at the
 * same time as the work:
 * the kind synchronises with itself. health runs on the event loop thread and reports through
 * its callback from any thread. configure must not touch the loop (it may not run yet:
 * --check-config configures without serving).
 *
 * Includes only public libmcp headers and libuv. */
#ifndef MCPD_KIND_H
#define MCPD_KIND_H

#include <mcp/json.h>
#include <mcp/mcp.h>
#include <mcp/metrics.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define MCPD_KIND_VERSION 1

/* ---- configuration errors ---------------------------------------------------------------- */
typedef struct mcpd_errs mcpd_errs;

/* Records a configuration mistake at JSON Pointer `pointer` (into the config file, e.g.
 * "/tools/3/argv/2"; NULL or "" for the whole file). The message says what was expected,
 * e.g. "expected a program path, got an empty string". The core adds FILE:LINE:COLUMN.
 * The thread that runs configure. */
void mcpd_err(mcpd_errs *e, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mcpd_verr(mcpd_errs *e, const char *pointer, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Number of mistakes recorded so far. */
size_t mcpd_err_count(const mcpd_errs *e);

/* ---- what a kind is given ---------------------------------------------------------------- */
typedef struct mcpd_env {
    mcp_server *server;      /* to register what is not a tool (plugins, resources) */
    const char *config_path; /* the config file, or "(default)" */
    const char *config_dir;  /* its directory: relative paths in the config are resolved here */
    uv_loop_t *loop;         /* mcpd's event loop: touch it only on its thread (mcpd_loop_post) */
    bool reload;             /* true when this configure is part of a reload */
    uint64_t generation;     /* numbers the configure passes (1, 2, ...; 0: --check-config), so
                                state kept across reloads can tell this pass from the last */
} mcpd_env;

/* Runs fn(loop, ud) on the event loop thread, soon. Any thread. fn must not block. Returns 0,
 * or -1 if the loop is stopping (fn is then not called; the caller cleans up). */
int mcpd_loop_post(void (*fn)(uv_loop_t *loop, void *ud), void *ud);

/* ---- registering tools ------------------------------------------------------------------- */
typedef struct mcpd_tools mcpd_tools;

/* One tool to serve. Strings are copied. NULL fields are taken from the config entry the kind
 * is configuring (name, title, description, annotations, and the guard settings), so a kind
 * that makes one tool from one entry sets only input_schema, output_schema and tool. */
typedef struct mcpd_tool_spec {
    const char *name;          /* NULL: the entry's "name" */
    const char *title;         /* NULL: the entry's "title" */
    const char *description;   /* NULL: the entry's "description" */
    const char *input_schema;  /* JSON Schema text; NULL: {"type":"object"} */
    const char *output_schema; /* optional JSON Schema text */
    const char *annotations;   /* JSON object text; NULL: the entry's "annotations" */
    void *tool;                /* the kind's per-tool state, given back to call and cancel */
    /* Guard overrides (0: the entry's value, or the default). */
    uint32_t timeout_ms;
    uint32_t concurrency;
    /* An upstream name shared by tools that call the same backend (openapi operations, http
     * tools with the same base URL): they then share one breaker and one concurrency limit
     * besides their own. NULL: none. */
    const char *upstream;
    /* True if each call starts a child process (counted against the global limit). */
    bool spawns;
    /* Probe this tool's backend with the kind's `health` while it is served: the timing keys
     * interval_ms, timeout_ms, unhealthy_after, healthy_after of this object (the kind reads
     * the rest). The tool then always has a breaker, which failed probes hold open. NULL: no
     * probes. */
    const mcp_json *health;
    /* Inline calls. Both register the tool MCP_INLINE (libmcp calls it on the I/O thread that
     * decoded the request, saving the hand-off to a handler thread: two context switches per
     * call), and in both the guard never waits on that thread: a call that finds no free
     * concurrency slot is handed to a handler thread (mcp_ctx_defer) and runs the ordinary way.
     *
     * quick: `call` never blocks (it only starts the work, which ends the call later from a
     * thread of the kind's, as http does): it runs inline, cancellable and watched like any.
     * try_inline: the kind's call_inline tries the call inline and ends it there, or declines
     * and the call goes to a handler thread and `call` (as read-only sql does). Neither applies
     * to a kind that spawns. */
    bool quick;
    bool try_inline;
    /* The structured content the kind adds matches output_schema by construction: libmcp
     * copies it unparsed and unchecked in release builds (MCP_OUTPUT_TRUSTED). */
    bool output_trusted;
} mcpd_tool_spec;

/* Adds a tool. pointer locates it in the config for messages (NULL: the entry). Returns 0, or
 * -1 after recording the reason in errs (duplicate name, bad schema text). The thread that runs
 * configure. */
int mcpd_tools_add(mcpd_tools *t, const mcpd_tool_spec *spec, const char *pointer, mcpd_errs *errs);

/* ---- calls --------------------------------------------------------------------------------- */
typedef struct mcpd_call mcpd_call;

/* How a call ended, as the guard layer counts it. */
typedef enum mcpd_outcome {
    MCPD_OK = 0,        /* it worked */
    MCPD_TOOL_ERROR,    /* the tool ran and said no (non-zero exit, SQL constraint, HTTP 4xx):
                           the backend is healthy; the breaker counts it as a success */
    MCPD_BACKEND_ERROR, /* the backend failed (spawn failed, upstream 5xx, connection refused,
                           database locked): counts against the breaker */
    MCPD_TIMEOUT,       /* the work did not finish in time: counts against the breaker */
    MCPD_CANCELLED,     /* the client cancelled or left: not counted */
} mcpd_outcome;

/* The call's ctx, to add content (mcp_ctx_text, mcp_ctx_structured, ...) before finishing.
 * Never call mcp_ctx_finish/tool_error/fail on it yourself: end through mcpd_call_*. Valid
 * until the call ends. The thread that ends the call is the one that may use it. */
mcp_ctx *mcpd_call_ctx(mcpd_call *c);
/* The arguments, already validated against the tool's input schema (an object). */
const mcp_json *mcpd_call_args(const mcpd_call *c);
/* The tool's name and the `tool` pointer given in its mcpd_tool_spec. */
const char *mcpd_call_name(const mcpd_call *c);
void *mcpd_call_tool(const mcpd_call *c);
/* The call's time limit in milliseconds (the tool's timeout), and milliseconds left. */
uint32_t mcpd_call_timeout_ms(const mcpd_call *c);
int64_t mcpd_call_remaining_ms(const mcpd_call *c);
/* Per-call state for the kind (e.g. the child process), for cancel to find. */
void mcpd_call_set_data(mcpd_call *c, void *data);
void *mcpd_call_data(const mcpd_call *c);
/* True once the call was cancelled or timed out: stop and end it. Any thread. */
bool mcpd_call_cancelled(const mcpd_call *c);

/* Ends the call with the content added to its ctx: sends the result (unless the guard already
 * answered a timeout or the client left), releases the concurrency slot and records outcome.
 * Exactly once per call; any thread. c is gone afterwards. */
void mcpd_call_finish(mcpd_call *c, mcpd_outcome outcome);
/* Ends the call with an isError result whose text is the formatted message (content added
 * before is discarded), e.g. "exit status 2: grep: bad regex". Otherwise like finish. */
void mcpd_call_fail(mcpd_call *c, mcpd_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends this round of the call with mcp_ctx_ask(): the questions queued on its ctx
 * (mcp_ctx_elicit, mcp_ctx_sample, mcp_ctx_list_roots; state kept with mcp_ctx_set_state) go
 * to the client, and the tool is called again, through the guard, with the answers
 * (mcp_ctx_input). The round is not counted by the breaker. Otherwise like finish. */
void mcpd_call_ask(mcpd_call *c);

/* ---- the kind ------------------------------------------------------------------------------ */
/* Health probe result: ok, or not with a reason ("connect: connection refused"). Any thread. */
typedef void (*mcpd_health_done)(void *done_ud, bool ok, const char *reason);

typedef struct mcpd_kind {
    unsigned version; /* MCPD_KIND_VERSION */
    const char *name; /* the config's "kind" value, e.g. "exec" */
    /* JSON Schema (2020-12) text for a tool entry of this kind: its own keys under
     * "properties" (the core adds the common keys and refuses others), "required", etc. */
    const char *config_schema;
    /* Reads one config entry (already valid against config_schema) and adds its tools to t.
     * Stores the kind's instance for this entry in *inst (freed with free). Returns 0, or -1
     * after recording every mistake found with mcpd_err (pointers below `pointer`). On -1
     * the kind has freed what it allocated. */
    int (*configure)(const mcpd_env *env, const mcp_json *entry, const char *pointer, mcpd_tools *t,
                     mcpd_errs *errs, void **inst);
    /* Starts a call (see the header comment). Handler thread; returns at once if it can. */
    void (*call)(void *inst, mcpd_call *c);
    /* Stops a call in progress (optional: without it the call just runs to its end). Event
     * loop thread. The kind still ends the call. */
    void (*cancel)(void *inst, mcpd_call *c);
    /* Optional periodic probe of the backend, on the event loop thread; reports through
     * done(done_ud, ...) exactly once, from any thread, without blocking the loop. A tool
     * asks for it with mcpd_tool_spec.health. */
    void (*health)(void *inst, mcpd_health_done done, void *done_ud);
    /* Frees the instance; no call is running on it any more (see Threads above). */
    void (*free)(void *inst);
    /* Optional, for tools added with try_inline: tries the call on the I/O thread that decoded
     * the request, after the guard admitted it (breaker, a free concurrency slot). Returns true
     * after ending the call there (mcpd_call_finish/fail); or false, having ended nothing,
     * when the work could block or run long (a resource is busy, a lock is held, a time
     * budget ran out): the guard then hands the call to a handler thread and `call`. It must
     * never wait and must bound its own time (a slow call holds every connection of that I/O
     * thread); nothing cancels it (the watchdog does not see it). */
    bool (*call_inline)(void *inst, mcpd_call *c);
    /* Optional: writes the kind's own series (state shared by its instances, such as the http
     * kind's upstreams) with mcp_metrics_write at each scrape (docs/metrics.md). Any scraping
     * thread, several at once: read under short locks, never block. */
    void (*collect)(mcp_metrics_writer *w);
} mcpd_kind;

/* The kind named name, or NULL. */
const mcpd_kind *mcpd_kind_find(const char *name);
/* Comma-separated names of the kinds built in, for messages ("exec, sql, http"). */
const char *mcpd_kind_names(void);
/* Calls every kind's collect (kinds.c). Scraping threads. */
void mcpd_kinds_collect(mcp_metrics_writer *w);

#endif
