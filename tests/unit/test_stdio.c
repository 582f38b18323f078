/* test_stdio.c - the stdio transport's start/stop pair as an embedder uses it, and SIGPIPE:
 * stdin and stdout are replaced by pipes; the test writes requests, reads answers, stops the
 * transport while stdin is still open, and finishes a call on its own thread after the client
 * closed its end (the write fails with EPIPE; SIGPIPE keeps its default disposition, so a
 * raised one would kill the test). */
#include "test.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "mcp/mcp.h"

static mcp_ctx *_Atomic parked;

static void h_park(mcp_ctx *c, void *ud)
{
    (void)ud;
    atomic_store(&parked, c);
}

static void h_echo(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_text(c, "pong");
    mcp_ctx_finish(c);
}

#include "stdio_pipes.h"

#define INIT                                                                                       \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"     \
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"

TEST(start_serve_and_stop_while_stdin_is_open)
{
    signal(SIGPIPE, SIG_DFL);
    mcp_server_info info = {.name = "t", .version = "1"};
    mcp_server *s = mcp_server_new(&info);
    mcp_tool_def echo = {.name = "echo", .handler = h_echo};
    mcp_tool_def park = {.name = "park", .handler = h_park};
    CHECK_INT(mcp_server_add_tool(s, &echo, NULL, 0), 0);
    CHECK_INT(mcp_server_add_tool(s, &park, NULL, 0), 0);
    int si, so;
    swap_stdio(&si, &so);
    char err[128] = "";
    mcp_stdio *h = mcp_stdio_start(s, NULL, err, sizeof err);
    CHECK(h != NULL);
    char line[4096];
    send_line(INIT);
    CHECK(read_line(line, sizeof line) > 0);
    CHECK_CONTAINS(line, "\"id\":0,\"result\"");
    send_line("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    send_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
              "\"echo\"}}");
    CHECK(read_line(line, sizeof line) > 0);
    CHECK_CONTAINS(line, "pong");
    CHECK_INT(mcp_stdio_wait(h, 0), 0); /* the input has not ended */

    /* a call parked on the pool, then the client closes stdout's read end */
    send_line("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
              "\"park\"}}");
    for (int i = 0; i < 12000 && !atomic_load(&parked); i++) usleep(5000);
    mcp_ctx *c = atomic_load(&parked);
    CHECK(c != NULL);
    close(out_r);
    /* finished on this (the embedder's) thread: EPIPE, not a SIGPIPE that kills us */
    mcp_ctx_text(c, "late");
    mcp_ctx_finish(c);
    sigset_t pending;
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGPIPE)); /* consumed, not left pending on our thread */
    /* the broken stdout ends the input side too */
    CHECK_INT(mcp_stdio_wait(h, 60000), 1);
    CHECK_INT(mcp_stdio_stop(h), MCP_SERVE_FAILED); /* writing failed */
    close(in_w);
    restore_stdio(si, so);
    mcp_server_free(s);
}

TEST(stop_with_stdin_open_is_clean)
{
    mcp_server_info info = {.name = "t", .version = "1"};
    mcp_server *s = mcp_server_new(&info);
    int si, so;
    swap_stdio(&si, &so);
    mcp_stdio *h = mcp_stdio_start(s, NULL, NULL, 0);
    CHECK(h != NULL);
    char line[4096];
    send_line(INIT);
    CHECK(read_line(line, sizeof line) > 0);
    CHECK_INT(mcp_stdio_stop(h), 0); /* stdin still open: stop does not wait for EOF */
    close(in_w);
    close(out_r);
    restore_stdio(si, so);
    mcp_server_free(s);
}

int main(void)
{
    RUN(start_serve_and_stop_while_stdin_is_open);
    RUN(stop_with_stdin_open_is_clean);
    return test_summary();
}
