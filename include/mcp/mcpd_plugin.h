/* mcpd_plugin.h - write tools for mcpd in C: a shared object that mcpd loads with dlopen.
 *
 * A tool entry of kind "plugin" in mcpd's config names a shared object and an optional
 * config object for it:
 *     { "kind": "plugin", "name": "hello", "path": "plugins/libhello.so",
 *       "config": { "greeting": "Hello" } }
 * mcpd opens it (RTLD_NOW | RTLD_LOCAL; refused if the file or its directory is writable by
 * others), checks it exports mcpd_plugin_init, and calls it with a host and the config. The
 * plugin adds its tools through host->add_tool; each is served like any other mcpd tool: its
 * arguments are validated against its input schema before the call, and it is guarded by the
 * entry's timeout, concurrency limit, circuit breaker and the auth allowlists.
 *
 * Calls. A tool's call function runs on one of mcpd's handler threads (it may block, but every
 * call it blocks holds a thread). It adds content to ctx with the public API (mcp_ctx_text,
 * mcp_ctx_structured, mcp_ctx_image, ...) and returns MCPD_PLUGIN_OK; or it writes a message
 * into err and returns MCPD_PLUGIN_TOOL_ERROR (the model sees an isError result with that
 * text; the backend counts as healthy) or MCPD_PLUGIN_BACKEND_ERROR (counted by the breaker).
 * It must never end ctx itself (no mcp_ctx_finish, mcp_ctx_tool_error, mcp_ctx_fail,
 * mcp_ctx_ask): mcpd does; to ask the client first, queue the questions and return
 * MCPD_PLUGIN_INPUT_REQUIRED. mcp_ctx_cancelled(ctx) turns true when the client cancels; when the tool's timeout
 * passes, mcpd has already answered and drops what the call adds.
 *
 * Reload. On SIGHUP mcpd configures everything afresh: mcpd_plugin_init is called again (in
 * the same loaded object) with a new host, and mcpd_plugin_fini(state) of the old one is called
 * once no call runs on the old tools any more. Keep state in *state, not in globals, or make
 * globals safe for two generations at once.
 *
 * Only include/mcp/ headers are available to plugins; libmcp's symbols come from the mcpd
 * executable itself (link the plugin with no libmcp). Build with the same compiler flags as
 * any shared object: cc -shared -fPIC -I<mcpd>/include -o libhello.so hello.c.
 * examples/plugin/hello.c is a complete plugin. */
#ifndef MCP_MCPD_PLUGIN_H
#define MCP_MCPD_PLUGIN_H

#include <mcp/json.h>
#include <mcp/mcp.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface; the host passes it in host->abi. */
#define MCPD_PLUGIN_ABI 1

/* What a call returns. */
#define MCPD_PLUGIN_OK            0
#define MCPD_PLUGIN_TOOL_ERROR    1
#define MCPD_PLUGIN_BACKEND_ERROR 2
/* The call queued questions for the client (mcp_ctx_elicit, mcp_ctx_sample,
 * mcp_ctx_list_roots; state for the next round with mcp_ctx_set_state): mcpd ends this round
 * with mcp_ctx_ask, and the tool is called again with the answers (mcp_ctx_input). In the
 * modern era the client's retry carries a requestState sealed for the principal (the bearer
 * token) that made the call: another token cannot complete it. A host older than this value
 * treats it as MCPD_PLUGIN_BACKEND_ERROR. */
#define MCPD_PLUGIN_INPUT_REQUIRED 3

/* A tool's call: args is the arguments object (valid against input_schema), ud the tool's ud.
 * Returns MCPD_PLUGIN_*; on an error, err[errsize] (NUL-terminated, at most errsize - 1 bytes)
 * says what went wrong. */
typedef int (*mcpd_plugin_call_fn)(mcp_ctx *ctx, const mcp_json *args, void *ud, char *err,
                                   size_t errsize);

typedef struct mcpd_plugin_tool {
    const char *name;          /* 1-128 of [A-Za-z0-9_.-]; NULL: the config entry's name */
    const char *title;         /* optional */
    const char *description;   /* optional but strongly advised */
    const char *input_schema;  /* JSON Schema text; NULL: {"type":"object"} */
    const char *output_schema; /* optional JSON Schema text for structured content */
    const char *annotations;   /* optional JSON object text (readOnlyHint, ...) */
    mcpd_plugin_call_fn call;  /* required */
    void *ud;                  /* given back to call */
} mcpd_plugin_tool;

typedef struct mcpd_plugin_host mcpd_plugin_host;
struct mcpd_plugin_host {
    unsigned abi;       /* MCPD_PLUGIN_ABI of the host */
    mcp_server *server; /* for mcp_server_list_changed / resource_updated; register tools with
                         * add_tool, not with mcp_server_add_tool */
    /* Adds a tool (strings are copied). Returns 0, or -1 with the reason in err (a bad name, a
     * duplicate, a schema that does not compile). Only during mcpd_plugin_init. */
    int (*add_tool)(mcpd_plugin_host *host, const mcpd_plugin_tool *tool, char *err,
                    size_t errsize);
    void *host_data; /* mcpd's; do not touch */
};

/* The entry point every plugin exports. config is the entry's "config" value (NULL when absent;
 * valid during the call only: copy what you keep). Store the plugin's state in *state (given
 * back to mcpd_plugin_fini and typically used as the tools' ud). Returns 0, or non-zero with
 * the reason in err, which mcpd reports as a config mistake ("/tools/4: plugin: ..."). When
 * *state is not NULL, mcpd_plugin_fini(*state) is called later in either case. Runs on mcpd's
 * main thread. */
int mcpd_plugin_init(mcpd_plugin_host *host, const mcp_json *config, void **state, char *err,
                     size_t errsize);
typedef int (*mcpd_plugin_init_fn)(mcpd_plugin_host *host, const mcp_json *config, void **state,
                                   char *err, size_t errsize);

/* Optional: frees a non-NULL state once no call of the generation that made it runs any more
 * (or at once when init or the config failed). */
void mcpd_plugin_fini(void *state);
typedef void (*mcpd_plugin_fini_fn)(void *state);

#ifdef __cplusplus
}
#endif
#endif
