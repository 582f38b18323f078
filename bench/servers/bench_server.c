/* bench_server: a tiny libmcp program for the benchmarks (scenario 7, tools/list with many
 * registered tools). It registers the same `echo` tool as examples/everything ({message} ->
 * one text content holding the message) plus --tools N dummy tools, and serves Streamable
 * HTTP until SIGTERM or SIGINT.
 *
 *   bench_server --listen 127.0.0.1:PORT [--tools N] [--page-size N]
 *                [--workers N] [--threads N] [--max-sessions N] [--max-conns N] [--max-body N]
 *
 * Built only with -DMCP_BENCH=ON (top-level CMakeLists.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp.h"

static void tool_echo(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *m = mcp_ctx_arg_str(c, "message");
    mcp_ctx_text(c, m ? m : "");
    mcp_ctx_finish(c);
}

static void tool_dummy(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_text(c, "ok");
    mcp_ctx_finish(c);
}

static int usage(const char *what)
{
    fprintf(stderr,
            "bench_server: %s\n"
            "usage: bench_server --listen HOST:PORT [--tools N] [--page-size N] [--workers N]\n"
            "                    [--threads N] [--max-sessions N] [--max-conns N] "
            "[--max-body N]\n",
            what);
    return 2;
}

/* A positive decimal, or 0 if s is not one. */
static unsigned long num(const char *s)
{
    char *end;
    if (!s || *s < '0' || *s > '9') return 0;
    unsigned long v = strtoul(s, &end, 10);
    return *end ? 0 : v;
}

int main(int argc, char **argv)
{
    static char host[256];
    mcp_http_options o;
    memset(&o, 0, sizeof o);
    unsigned long ntools = 0, page = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage("missing value");
        i++;
        if (!strcmp(a, "--listen")) {
            const char *colon = strrchr(v, ':');
            size_t n = colon ? (size_t)(colon - v) : 0;
            if (!colon || n == 0 || n >= sizeof host) return usage("--listen: not HOST:PORT");
            memcpy(host, v, n);
            host[n] = '\0';
            o.host = host;
            o.port = atoi(colon + 1);
        } else if (!strcmp(a, "--tools")) {
            ntools = strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--page-size")) {
            page = num(v);
        } else if (!strcmp(a, "--workers")) {
            o.workers = (unsigned)num(v);
        } else if (!strcmp(a, "--threads")) {
            o.threads = (unsigned)num(v);
        } else if (!strcmp(a, "--max-sessions")) {
            o.max_sessions = num(v);
        } else if (!strcmp(a, "--max-conns")) {
            o.max_conns = num(v);
        } else if (!strcmp(a, "--max-body")) {
            o.max_body = num(v);
        } else {
            return usage("unknown option");
        }
    }
    if (!o.host) return usage("--listen is required");

    mcp_server_info info = {.name = "bench_server", .version = "1.0.0"};
    mcp_server *s = mcp_server_new(&info);
    if (!s) return 1;
    if (page) mcp_server_set_page_size(s, (unsigned)page);
    char err[256];
    mcp_tool_def echo = {
        .name = "echo",
        .description = "Returns the message as text",
        .input_schema = "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}},"
                        "\"required\":[\"message\"]}",
        .handler = tool_echo,
        .flags = MCP_INLINE,
    };
    if (mcp_server_add_tool(s, &echo, err, sizeof err)) {
        fprintf(stderr, "bench_server: echo: %s\n", err);
        return 1;
    }
    for (unsigned long i = 0; i < ntools; i++) {
        char name[32], desc[64];
        snprintf(name, sizeof name, "tool_%lu", i);
        snprintf(desc, sizeof desc, "Dummy tool number %lu", i);
        mcp_tool_def d = {
            .name = name,
            .description = desc,
            .input_schema = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\"}}}",
            .handler = tool_dummy,
            .flags = MCP_INLINE,
        };
        if (mcp_server_add_tool(s, &d, err, sizeof err)) {
            fprintf(stderr, "bench_server: %s: %s\n", name, err);
            return 1;
        }
    }
    int rc = mcp_serve_http(s, &o);
    mcp_server_free(s);
    return rc == 0 ? 0 : 1;
}
