/* mcpd.h - what mcpd's core modules share: the event loop thread (loop.c), the served state
 * with its generations and reload (registry.c), and the guard around every call (guard.c).
 * Kinds include kind.h only. */
#ifndef MCPD_MCPD_H
#define MCPD_MCPD_H

#include "config.h"
#include "kind.h"

#include <stdatomic.h>
#include <pthread.h>

/* ---- loop.c ------------------------------------------------------------------------------ */
/* Starts the loop thread; on_start(loop, ud) runs first on it, and has run when this returns.
 * Returns 0 or -1. */
int mcpd_loop_start(void (*on_start)(uv_loop_t *, void *), void *ud);
/* Runs on_stop on the loop (it closes the handles it owns), then waits until every handle is
 * closed and joins the thread. Main thread. */
void mcpd_loop_stop(void (*on_stop)(uv_loop_t *, void *), void *ud);
uv_loop_t *mcpd_loop(void);
/* A hold keeps the loop from stopping: taken for something whose end will still be posted
 * (a call in progress). Any thread; unhold on the loop thread or any. */
void mcpd_loop_hold(void);
void mcpd_loop_unhold(void);

/* ---- guard.c: one tool as served, and its calls -------------------------------------------- */
typedef struct mcpd_guard mcpd_guard;

typedef struct mcpd_tool {
    char *name, *title, *description, *input_schema, *output_schema, *annotations;
    const mcpd_kind *kind;
    void *inst;    /* the kind's instance of the entry the tool came from */
    void *tool;    /* mcpd_tool_spec.tool */
    char *pointer; /* where the tool is defined in the config, for logs */
    uint32_t timeout_ms, concurrency, queue_wait_ms;
    bool spawns;
    bool quick;                  /* mcpd_tool_spec.quick (see guard.c, inline calls) */
    unsigned mcp_flags;          /* MCP_INLINE (quick or try_inline), MCP_OUTPUT_TRUSTED */
    const mcp_json *breaker_cfg; /* the entry's "breaker" object, or NULL */
    const mcp_json *health;      /* mcpd_tool_spec.health, or NULL */
    uint64_t health_id;          /* its target in the checker while served; 0: none */
    mcpd_guard *guard;           /* limiter, breaker: made by guard_new */
} mcpd_tool;

typedef struct mcpd_gen mcpd_gen;

/* Makes the guard of t (its limiter and breaker). */
void mcpd_guard_new(mcpd_tool *t);
/* Starts and stops t's health probes (a target of the process's checker). Any thread but the
 * checker's. */
void mcpd_guard_probe_start(mcpd_tool *t);
void mcpd_guard_probe_stop(mcpd_tool *t);
/* Stops the checker (after every probe was stopped). */
void mcpd_guard_health_free(void);
void mcpd_guard_free(mcpd_tool *t);
/* Sets the global child-process limit (0: none). Before serving. */
void mcpd_guard_set_max_children(uint32_t n);
/* Writes t's series (breaker state and refusals, concurrency refusals and waits) into w.
 * Scraping threads. */
void mcpd_guard_collect(const mcpd_tool *t, mcp_metrics_writer *w);
/* Writes the series of mcpd's child-process limit (refusals, waits) into w. Scraping threads. */
void mcpd_guard_collect_children(mcp_metrics_writer *w);
/* Runs a tools/call for t of generation g (a reference to g is held by the call and dropped
 * when it ends). Handler thread. */
void mcpd_guard_call(mcpd_gen *g, mcpd_tool *t, mcp_ctx *ctx);

/* ---- registry.c -------------------------------------------------------------------------- */
/* Drops a reference to a generation; the last one frees it (kinds' free included). NULL is
 * fine. */
void mcpd_gen_unref(mcpd_gen *g);
/* Like mcpd_gen_unref, from any thread, but the last reference is dropped on mcpd's loop (so
 * the kinds' free runs there), or here when the loop is stopped. */
void mcpd_gen_unref_soon(mcpd_gen *g);
/* A reference to the generation served now (NULL when none); drop it with mcpd_gen_unref. */
mcpd_gen *mcpd_gen_current(void);
/* Writes the series of every tool of the generation served now into w. Scraping threads. */
void mcpd_gen_collect(mcp_metrics_writer *w);
/* Its config (NULL for NULL). */
const mcpd_config *mcpd_gen_config(const mcpd_gen *g);

/* ---- auth.c ------------------------------------------------------------------------------ */
/* libmcp's HTTP auth callback: the principal for an Authorization header, or NULL (401). */
const void *mcpd_auth_check(void *ud, const char *authorization);
/* libmcp's item filter: whether principal may see and use the tool, resource, template or
 * prompt under key (its token's allowlists in the current config). */
bool mcpd_item_allowed(void *ud, const void *principal, mcp_item_kind kind, const char *key);
/* libmcp's principal naming for sealed state: the token's name ("" for anonymous). */
size_t mcpd_principal_id(void *ud, const void *principal, char *out, size_t size);
/* Frees the interned principal names (at exit). */
void mcpd_auth_free_names(void);

/* --check-config: loads the file at path and configures every tool entry through its kind
 * without serving; prints every mistake to out. Returns the exit status: 0 if the file is
 * valid, 2 if not. */
int mcpd_check(const char *path, FILE *out);

typedef struct mcpd_serve_options {
    const char *config_path;       /* NULL: the default config */
    bool stdio;                    /* --stdio */
    const char *listen;            /* --listen, or NULL */
    const char *admin_listen;      /* --admin-listen, or NULL */
    const char *access_log;        /* --access-log, or NULL */
    const char *access_log_format; /* --access-log-format, or NULL */
    bool insecure_no_auth;
} mcpd_serve_options;

/* Loads the config, serves it until SIGTERM/SIGINT (SIGHUP reloads), and returns the exit
 * status (0; 1 if serving failed; 2 for a bad config or a refused listen address). Main
 * thread. */
int mcpd_serve(const mcpd_serve_options *o);

#endif
