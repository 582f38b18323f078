/* test_blocking.c - handlers that block: cancellation they can wait on (the mcp_ctx_on_cancel
 * callback and the mcp_ctx_cancel_fd descriptor) and handler timeouts (per tool, the server's
 * default, none), driven through the engine with a recording sink and mcp_conn_tick. */
#include "test.h"

#include <poll.h>
#include <stdatomic.h>

#include "mcp/engine.h"
#include "mcp/internal.h"
#include "rt/clock.h"

#include "recorder.h"

#include "jpath.h"

static mcp_server *srv;
static mcp_ctx *parked;

static void h_park(mcp_ctx *c, void *ud)
{
    (void)ud;
    parked = c; /* the test plays the handler's thread from here */
}

static atomic_int woken;
static void *woken_ud;

static void on_cancel(void *ud)
{
    woken_ud = ud;
    atomic_fetch_add(&woken, 1);
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static mcp_conn *session(void)
{
    mcp_conn *c = rec_session(srv, NULL);
    nend = 0;
    return c;
}

/* Calls tool `name` with id 7 and returns the parked ctx. */
static mcp_ctx *call(mcp_conn *c, const char *name)
{
    char msg[256];
    snprintf(
        msg, sizeof msg,
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\"}}",
        name);
    parked = NULL;
    mcp_conn_handle(c, msg, strlen(msg), NULL, (void *)0x7a);
    return parked;
}

static void cancel_id7(mcp_conn *c)
{
    const char *n = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
                    "\"requestId\":7}}";
    mcp_conn_handle(c, n, strlen(n), NULL, (void *)0x7a);
}

TEST(cancel_callback_and_fd_wake_the_handler)
{
    mcp_conn *c = session();
    mcp_ctx *x = call(c, "park");
    CHECK(x != NULL);
    atomic_store(&woken, 0);
    CHECK_INT(mcp_ctx_on_cancel(x, on_cancel, &woken_ud), 0);
    int fd = mcp_ctx_cancel_fd(x);
    CHECK(fd >= 0);
    CHECK_INT(mcp_ctx_cancel_fd(x), fd); /* one per ctx */
    CHECK(!readable(fd));
    CHECK_INT(atomic_load(&woken), 0);
    cancel_id7(c);
    CHECK(mcp_ctx_cancelled(x));
    CHECK_INT(atomic_load(&woken), 1);
    CHECK(woken_ud == &woken_ud);
    CHECK(readable(fd));
    cancel_id7(c); /* a second cancellation wakes nobody twice */
    mcp_conn_cancel_tag(c, (void *)0x7a);
    CHECK_INT(atomic_load(&woken), 1);
    /* registered after the cancellation: called at once, on this thread */
    CHECK_INT(mcp_ctx_on_cancel(x, on_cancel, NULL), 0);
    CHECK_INT(atomic_load(&woken), 2);
    CHECK(woken_ud == NULL);
    CHECK_INT(mcp_ctx_finish(x), MCP_ECANCELED); /* accepted, nothing sent */
    CHECK_INT(rec_count(), 0);

    /* a descriptor asked for after the cancellation is readable from the start */
    x = call(c, "park");
    cancel_id7(c);
    fd = mcp_ctx_cancel_fd(x);
    CHECK(fd >= 0 && readable(fd));
    mcp_ctx_finish(x);

    /* a handler that finishes normally is never called back, not even when the conn closes */
    atomic_store(&woken, 0);
    x = call(c, "park");
    mcp_ctx_on_cancel(x, on_cancel, NULL);
    mcp_ctx_text(x, "ok");
    CHECK_INT(mcp_ctx_finish(x), 0);
    CHECK_STR(jstr(outs[0].data, "result.content.0.text"), "ok");
    mcp_conn_close(c);
    CHECK_INT(atomic_load(&woken), 0);
    rec_clear();
}

TEST(a_tool_past_its_timeout_is_answered_and_cancelled)
{
    mcp_conn *c = session();
    mcp_ctx *x = call(c, "park_50ms");
    CHECK(x != NULL);
    atomic_store(&woken, 0);
    mcp_ctx_on_cancel(x, on_cancel, NULL);
    mcp_conn_tick(c, rt_now_ms()); /* not yet */
    CHECK_INT(rec_count(), 0);
    CHECK(!mcp_ctx_cancelled(x));
    mcp_conn_tick(c, rt_now_ms() + 51);
    CHECK_INT(rec_count(), 1);
    CHECK_INT(jint(outs[0].data, "id"), 7);
    CHECK_INT(jint(outs[0].data, "error.code"), -32603);
    CHECK_STR(jstr(outs[0].data, "error.message"), "tool 'park_50ms' did not finish within 50 ms");
    CHECK_INT(jint(outs[0].data, "error.data.timeoutMs"), 50);
    CHECK(outs[0].final);
    CHECK(mcp_ctx_cancelled(x));
    CHECK_INT(atomic_load(&woken), 1);
    mcp_conn_tick(c, rt_now_ms() + 5000); /* answered once */
    CHECK_INT(rec_count(), 1);
    CHECK_INT(mcp_conn_inflight(c), 1); /* the handler still runs */
    mcp_ctx_text(x, "late");
    CHECK_INT(mcp_ctx_finish(x), MCP_ECANCELED); /* the late finish is dropped */
    CHECK_INT(rec_count(), 1);
    CHECK_INT(nend, 0); /* the request was answered: no end-without-answer either */
    CHECK_INT(mcp_conn_inflight(c), 0);
    rec_clear();
    mcp_conn_close(c);
}

TEST(the_server_default_timeout_and_none)
{
    mcp_conn *c = session();
    CHECK_INT(mcp_server_set_timeout(srv, 30), 0);
    mcp_ctx *x = call(c, "park");
    mcp_conn_tick(c, rt_now_ms() + 31);
    CHECK_INT(rec_count(), 1);
    CHECK_STR(jstr(outs[0].data, "error.message"), "tool 'park' did not finish within 30 ms");
    mcp_ctx_finish(x);
    rec_clear();
    /* the tool's own timeout wins over the server's */
    x = call(c, "park_50ms");
    mcp_conn_tick(c, rt_now_ms() + 40);
    CHECK_INT(rec_count(), 0);
    mcp_ctx_fail(x, -32603, "gave up");
    CHECK_INT(rec_count(), 1);
    rec_clear();
    /* none: never expires */
    CHECK_INT(mcp_server_set_timeout(srv, MCP_TIMEOUT_NONE), 0);
    x = call(c, "park");
    mcp_conn_tick(c, rt_now_ms() + 86400000u);
    CHECK_INT(rec_count(), 0);
    CHECK(!mcp_ctx_cancelled(x));
    mcp_ctx_finish(x);
    CHECK_INT(rec_count(), 1);
    /* 0 restores the default (5 minutes) */
    CHECK_INT(mcp_server_set_timeout(srv, 0), 0);
    rec_clear();
    x = call(c, "park");
    mcp_conn_tick(c, rt_now_ms() + 299000u);
    CHECK_INT(rec_count(), 0);
    mcp_conn_tick(c, rt_now_ms() + 300001u);
    CHECK_INT(rec_count(), 1);
    CHECK_STR(jstr(outs[0].data, "error.message"), "tool 'park' did not finish within 300000 ms");
    mcp_ctx_finish(x);
    rec_clear();
    mcp_conn_close(c);
}

int main(void)
{
    mcp_server_info info = {.name = "t", .version = "1"};
    srv = mcp_server_new(&info);
    mcp_tool_def park = {.name = "park", .handler = h_park};
    mcp_tool_def park50 = {.name = "park_50ms", .handler = h_park, .timeout_ms = 50};
    if (mcp_server_add_tool(srv, &park, NULL, 0) || mcp_server_add_tool(srv, &park50, NULL, 0))
        return 1;
    RUN(cancel_callback_and_fd_wake_the_handler);
    RUN(a_tool_past_its_timeout_is_answered_and_cancelled);
    RUN(the_server_default_timeout_and_none);
    mcp_server_free(srv);
    rec_clear();
    return test_summary();
}
