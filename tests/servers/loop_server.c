/* loop_server: a libmcp program whose `echo` tool finishes from a libuv callback on the HTTP
 * worker's own loop, as a proxying tool does (include/mcp/loop.h): the MCP_INLINE handler starts
 * a uv_timer(0) on mcp_loop_uv(mcp_ctx_loop(c)) and returns; the timer's callback adds the
 * message and finishes the call. Each loop keeps its idle timers under a key (mcp_loop_set),
 * closed by the key's on_stop when the server stops. With --inline the tool answers at once
 * instead, for comparison. Serves Streamable HTTP until SIGTERM or SIGINT.
 *
 *   loop_server --listen HOST:PORT [--workers N] [--threads N] [--max-body N] [--inline]
 *
 * It measures what a finish made later on the loop costs (docs/internals/runtime.md, "Posts"):
 * bench/http/callgrind_echo.sh and strace -c -f drive it as they drive everything's echo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "mcp/mcp.h"

typedef struct loop_state loop_state;

typedef struct echo_call {
    uv_timer_t timer;
    mcp_ctx *ctx;
    loop_state *ls;
    struct echo_call *next_free;
} echo_call;

struct loop_state {
    mcp_loop *loop;
    echo_call *free_list; /* timers kept open for the next call */
};

static int state_key; /* its address is the key */

static void call_closed(uv_handle_t *h)
{
    free(h->data);
}

/* The loop stops: every timer kept is closed (no call waits: the drain saw to that). */
static void state_stop(mcp_loop *l, void *data)
{
    (void)l;
    loop_state *ls = data;
    for (echo_call *k = ls->free_list, *next; k; k = next) {
        next = k->next_free;
        uv_close((uv_handle_t *)&k->timer, call_closed);
    }
    free(ls);
}

static void on_timer(uv_timer_t *t)
{
    echo_call *k = t->data;
    const char *m = mcp_ctx_arg_str(k->ctx, "message");
    mcp_ctx_text(k->ctx, m ? m : "");
    mcp_ctx_finish(k->ctx);
    k->ctx = NULL;
    k->next_free = k->ls->free_list;
    k->ls->free_list = k;
}

static loop_state *state_of(mcp_loop *l)
{
    loop_state *ls = mcp_loop_get(l, &state_key);
    if (ls) return ls;
    ls = calloc(1, sizeof *ls);
    if (!ls) return NULL;
    ls->loop = l;
    if (mcp_loop_set(l, &state_key, ls, state_stop)) {
        free(ls);
        return NULL;
    }
    return ls;
}

static void tool_echo(mcp_ctx *c, void *ud)
{
    bool at_once = ud != NULL;
    mcp_loop *l = at_once ? NULL : mcp_ctx_loop(c);
    loop_state *ls = l ? state_of(l) : NULL;
    if (!ls) { /* --inline, or no loop here (stdio, a handler thread) */
        const char *m = mcp_ctx_arg_str(c, "message");
        mcp_ctx_text(c, m ? m : "");
        mcp_ctx_finish(c);
        return;
    }
    echo_call *k = ls->free_list;
    if (k) {
        ls->free_list = k->next_free;
    } else {
        k = calloc(1, sizeof *k);
        if (!k) {
            mcp_ctx_tool_error(c, "out of memory");
            return;
        }
        uv_timer_init(mcp_loop_uv(l), &k->timer);
        k->timer.data = k;
        k->ls = ls;
    }
    k->ctx = c;
    uv_timer_start(&k->timer, on_timer, 0, 0);
}

static int usage(const char *what)
{
    fprintf(stderr,
            "loop_server: %s\n"
            "usage: loop_server --listen HOST:PORT [--workers N] [--threads N] [--max-body N] "
            "[--inline]\n",
            what);
    return 2;
}

int main(int argc, char **argv)
{
    static char host[256];
    mcp_http_options o = {0};
    bool at_once = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--inline")) {
            at_once = true;
            continue;
        }
        if (!v) return usage("missing value");
        i++;
        if (!strcmp(a, "--listen")) {
            if (mcp_parse_hostport(v, host, sizeof host, &o.port))
                return usage("--listen: not HOST:PORT");
            o.host = host;
        } else if (!strcmp(a, "--workers")) {
            o.workers = (unsigned)atoi(v);
        } else if (!strcmp(a, "--threads")) {
            o.threads = (unsigned)atoi(v);
        } else if (!strcmp(a, "--max-body")) {
            o.max_body = (size_t)atol(v);
        } else {
            return usage("unknown option");
        }
    }
    if (!o.host) return usage("--listen is required");
    mcp_keep_freed_memory();
    mcp_server *s = mcp_server_new(&(mcp_server_info){.name = "loop_server", .version = "1"});
    if (!s) return 1;
    char err[256];
    mcp_tool_def echo = {
        .name = "echo",
        .description = "Returns the message as text, from a timer on the loop",
        .params = "message: string",
        .handler = tool_echo,
        .ud = at_once ? (void *)1 : NULL,
        .flags = MCP_INLINE,
    };
    if (mcp_server_add_tool(s, &echo, err, sizeof err)) {
        fprintf(stderr, "loop_server: echo: %s\n", err);
        return 1;
    }
    int rc = mcp_serve_http(s, &o);
    mcp_server_free(s);
    return rc == 0 ? 0 : 1;
}
