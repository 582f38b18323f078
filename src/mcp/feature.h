/* feature.h - how protocol features plug into the engine: a table of methods plus hooks.
 *
 * A feature (the core methods, tasks, skills, what comes next) is one `feature` object: the
 * methods it answers (name, the eras it exists in, the handler) and hooks the engine calls at
 * fixed points. The engine names no feature: it looks methods up in one table built from every
 * registered feature (feature.c), calls hooks through the struct, and keeps each feature's
 * private state in the server (feature_state). Registering a feature is one line in the list
 * of feature.c. See docs/internals/engine.md, "Features". Not a public header. */
#ifndef MCP_FEATURE_H
#define MCP_FEATURE_H

#include "mcp/ctx.h"

/* The eras a method exists in. */
enum { ERAS_LEGACY = 1, ERAS_MODERN = 2, ERAS_BOTH = 3 };

typedef struct feature feature;

/* Answers the request in ctx (exactly once, any thread later) or hands it on. info is what the
 * transport knows of the message (headers), NULL from stdio and tests. */
typedef void (*method_fn)(mcp_ctx *ctx, const mcp_msg_info *info);

typedef struct feature_method {
    const char *name; /* "tools/call" */
    uint8_t eras;     /* ERAS_*: in any other era the method is -32601 */
    uint8_t id;       /* the core's method_id; M_EXT for an extension's methods */
    /* the params member that the Mcp-Name header mirrors (2026-07-28 HTTP), or NULL */
    const char *name_param;
    method_fn fn; /* NULL: a notification the core handles (core only) */
} feature_method;

/* Every hook may be NULL. `st` is the feature's state (what init returned). */
struct feature {
    const char *name;
    const feature_method *methods;
    size_t nmethods;
    /* the server is being made / freed: the feature's private state */
    void *(*init)(mcp_server *s);
    void (*free)(mcp_server *s, void *st);
    /* false: the feature's methods are -32601 for now (nothing registered that needs them) */
    bool (*available)(mcp_server *s, void *st);
    /* appends what the server advertises for the feature in era: members of `capabilities`
     * (to caps) or of `capabilities.extensions` (to exts), each as `,"name":value` */
    void (*capabilities)(mcp_server *s, void *st, int era, mcp_buf *caps, mcp_buf *exts);
    /* a tool, resource, template or prompt was registered, with these flags (MCP_TASK_*) */
    void (*registered)(mcp_server *s, void *st, reg_kind kind, unsigned flags);
    /* a tools/call is about to run its handler: 0 to go on, -1 when the hook answered or took
     * the ctx over */
    int (*before_call)(mcp_ctx *ctx, void *st);
    /* the periodic tick (mcp_conn_tick): timeouts, reaping. Any thread; must be cheap. */
    void (*tick)(mcp_server *s, void *st, uint64_t now_ms);

    /* Hooks on a ctx this feature holds (ctx->holder, set by the feature): */
    /* the final result of ctx (a whole JSON-RPC response): true to keep it (nothing is sent) */
    bool (*final_result)(mcp_ctx *ctx, const char *msg, size_t len);
    /* ctx is being freed (finished, cancelled, or dropped) */
    void (*ctx_finished)(mcp_ctx *ctx);
    /* the handler asked the client in the modern era: the feature takes the questions (0) */
    int (*ask)(mcp_ctx *ctx);
    /* legacy asking of ctx started (true) or ended (false); called without the conn's lock */
    void (*asking)(mcp_ctx *ctx, bool on);
    /* the `_meta` object (JSON text) every message about ctx carries, or NULL */
    const char *(*message_meta)(const mcp_ctx *ctx);
};

/* ---- feature.c: the list, the one method table, hooks over all features ---------------------- */

/* Finds a method of any feature (NULL: unknown); *owner gets its feature. */
const feature_method *feature_find_method(const char *name, size_t len, const feature **owner);
/* The state of f in s (what f->init returned), or NULL. */
void *feature_state(mcp_server *s, const feature *f);
/* Calls init / free of every feature. */
void features_init(mcp_server *s);
void features_free(mcp_server *s);
bool feature_available(mcp_server *s, const feature *f);
void features_capabilities(mcp_server *s, int era, mcp_buf *caps, mcp_buf *exts);
void features_registered(mcp_server *s, reg_kind kind, unsigned flags);
int features_before_call(mcp_ctx *ctx);
void features_tick(mcp_server *s, uint64_t now_ms);

/* ---- cursor.c: the one cursor codec ---------------------------------------------------------- */

/* Appends `,"nextCursor":"<token>"` to b: a sealed token (purpose "cursor", no expiry) that
 * names the list it belongs to (a short name: "tools", "tasks", "skills", "directory"), the
 * position after which the next page starts, and optionally a scope (bytes the next request
 * must repeat, e.g. the directory's URI). Any thread. */
void cursor_write(mcp_server *s, mcp_buf *b, const char *list, uint64_t pos, const char *scope,
                  size_t scope_len);
/* Reads params.cursor of ctx for list (and scope, when not NULL). Returns 0 with *pos the
 * position (0: no cursor, the first page), or -1 after answering -32602 ("invalid cursor (it
 * belongs to another list)", "... another <list>" for a scope mismatch, or why the token does
 * not open). */
int cursor_read(mcp_ctx *ctx, const char *list, const char *scope, size_t scope_len, uint64_t *pos);

#endif
