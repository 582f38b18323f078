/* minimal.c - the smallest useful libmcp server: one tool, over stdio or Streamable HTTP.
 *
 *   minimal                          stdio: a client starts this program and talks on its pipes
 *   minimal --listen 127.0.0.1:8000  Streamable HTTP on http://127.0.0.1:8000/mcp
 *
 * Build: cc minimal.c $(pkg-config --cflags --libs mcp). docs/guide.md starts from here. */
#include <mcp/mcp.h>

#include <stdio.h>
#include <string.h>

/* A handler reads its arguments, adds content and finishes the call (here at once; it may also
 * keep the ctx and finish later, from any thread). */
static void greet(mcp_ctx *c, void *ud)
{
    char text[256];
    snprintf(text, sizeof text, "Hello, %s!", mcp_ctx_arg_strn(c, "name", "world", NULL));
    mcp_ctx_text(c, text);
    mcp_ctx_finish(c);
}

int main(int argc, char **argv)
{
    char err[256] = "", host[64];
    int port;
    mcp_server *s = mcp_server_new(&(mcp_server_info){.name = "minimal", .version = "1.0.0"});
    mcp_tool_def greet_def = {.name = "greet",
                              .description = "Greets someone by name",
                              .params = "name?: string 'Who to greet'",
                              .handler = greet};
    if (!s || mcp_server_add_tool(s, &greet_def, err, sizeof err) != 0) {
        fprintf(stderr, "minimal: %s\n", err);
        return 1;
    }
    int rc;
    if (argc == 3 && !strcmp(argv[1], "--listen") &&
        sscanf(argv[2], "%63[^:]:%d", host, &port) == 2)
        rc = mcp_serve_http(s, &(mcp_http_options){.host = host, .port = port});
    else
        rc = mcp_serve_stdio(s, NULL);
    if (rc == MCP_SERVE_ABANDONED) return 1; /* handlers still run: leave s to the exit */
    mcp_server_free(s);
    return rc == MCP_OK ? 0 : 1;
}
