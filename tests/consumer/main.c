/* main.c - a server written outside libmcp's tree, as a user would: only <mcp/...> headers.
 *
 * tests/consumer/run.sh builds it against an installed libmcp (pkg-config, find_package) and
 * through add_subdirectory(), then talks to it over stdio. It serves one tool, `greet`. */
#include <mcp/loop.h> /* self-contained: it brings <mcp/mcp.h> */

#include <stdio.h>

static void greet(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *who = mcp_ctx_arg_str(c, "name");
    char text[160];
    /* over stdio no event loop is lent (the public symbol links all the same) */
    snprintf(text, sizeof text, "hello, %s%s", who ? who : "stranger",
             mcp_ctx_loop(c) ? " (from a loop)" : "");
    mcp_ctx_text(c, text);
    mcp_ctx_finish(c);
}

int main(void)
{
    mcp_server_info info = {.name = "consumer", .version = "1.0.0"};
    mcp_server *s = mcp_server_new(&info);
    if (!s) return 1;
    mcp_tool_def tool = {
        .name = "greet",
        .description = "Greets someone by name.",
        .input_schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
                        "\"required\":[\"name\"]}",
        .handler = greet,
    };
    char err[256];
    if (mcp_server_add_tool(s, &tool, err, sizeof err) != 0) {
        fprintf(stderr, "consumer: %s\n", err);
        return 1;
    }
    int rc = mcp_serve_stdio(s, NULL);
    mcp_server_free(s);
    return rc == MCP_OK ? 0 : 1;
}
