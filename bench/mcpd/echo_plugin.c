/* echo_plugin.c - the reference of bench/mcpd/sql.sh: an mcpd plugin tool "echo" that answers
 * its "message" argument as text, so that a call through mcpd (HTTP, JSON-RPC, the registry,
 * the guard, a handler thread) costs everything but a backend. sql.sh subtracts its CPU per call
 * from the sql tool's to give what the sql kind itself costs.
 *
 *   cc -shared -fPIC -I include -o libecho.so bench/mcpd/echo_plugin.c */
#include <mcp/mcpd_plugin.h>

static int echo(mcp_ctx *ctx, const mcp_json *args, void *ud, char *err, size_t errsize)
{
    (void)ud, (void)err, (void)errsize;
    size_t n = 0;
    const char *m = mcp_json_str(mcp_json_get(args, "message"), &n);
    mcp_ctx_textn(ctx, m ? m : "", n);
    return MCPD_PLUGIN_OK;
}

int mcpd_plugin_init(mcpd_plugin_host *host, const mcp_json *config, void **state, char *err,
                     size_t errsize)
{
    (void)config, (void)state;
    mcpd_plugin_tool t = {
        .input_schema = "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}},"
                        "\"required\":[\"message\"]}",
        .call = echo};
    return host->add_tool(host, &t, err, errsize);
}
