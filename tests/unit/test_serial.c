/* test_serial.c - MCP_SERIAL through the engine with a hand-run executor: calls to a serial
 * tool start one drainer job, which runs them one at a time in arrival order; past the
 * mailbox bound (64 waiting) a call is refused at once with the precise overloaded error; an
 * executor that refuses the drainer fails the waiting calls and leaves the mailbox usable. */
#include "test.h"

#include <errno.h>

#include "mcp/engine.h"
#include "mcp/internal.h"

#include "recorder.h"

static mcp_server *srv;

/* The executor: jobs are kept until the test runs them. */
static struct {
    void (*fn)(void *);
    void *arg;
} jobs[8];
static int njobs;
static bool refuse;

static int fake_exec(void *ud, void (*fn)(void *), void *arg)
{
    (void)ud;
    if (refuse || njobs == 8) return -EAGAIN;
    jobs[njobs].fn = fn;
    jobs[njobs].arg = arg;
    njobs++;
    return 0;
}

static int order[128], norder, running, most_running;

static void h_serial(mcp_ctx *c, void *ud)
{
    (void)ud;
    if (++running > most_running) most_running = running;
    order[norder++] = (int)mcp_ctx_arg_int(c, "n", -1);
    mcp_ctx_text(c, "ok");
    mcp_ctx_finish(c);
    running--;
}

static mcp_conn *session(void)
{
    mcp_conn *c = rec_session(srv, fake_exec);
    njobs = norder = most_running = 0;
    return c;
}

static void call(mcp_conn *c, int n)
{
    char msg[256];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"ser\",\"arguments\":{\"n\":%d}}}",
             n, n);
    mcp_conn_handle(c, msg, strlen(msg), NULL, (void *)0x7a);
}

static void run_jobs(void)
{
    while (njobs) {
        njobs--;
        jobs[njobs].fn(jobs[njobs].arg);
    }
}

static int count_containing(const char *needle)
{
    int n = 0;
    for (int i = 0; i < rec_count(); i++) n += strstr(outs[i].data, needle) != NULL;
    return n;
}

TEST(calls_run_one_at_a_time_in_order_from_one_drainer)
{
    mcp_conn *c = session();
    for (int i = 1; i <= 5; i++) call(c, i);
    CHECK_INT(njobs, 1); /* one drainer for the five calls */
    CHECK_INT(rec_count(), 0);
    run_jobs();
    CHECK_INT(norder, 5);
    for (int i = 0; i < 5; i++) CHECK_INT(order[i], i + 1);
    CHECK_INT(most_running, 1);
    CHECK_INT(count_containing("\"text\":\"ok\""), 5);
    /* idle again: the next call starts a new drainer */
    call(c, 6);
    CHECK_INT(njobs, 1);
    run_jobs();
    CHECK_INT(norder, 6);
    mcp_conn_close(c);
    rec_clear();
}

TEST(past_the_mailbox_bound_calls_are_refused_precisely)
{
    mcp_conn *c = session();
    for (int i = 1; i <= 66; i++) call(c, i);
    CHECK_INT(njobs, 1);
    CHECK_INT(rec_count(), 2); /* 65 and 66, at once */
    CHECK_INT(count_containing("'ser' runs one call at a time and 64 calls are already waiting"),
              2);
    CHECK_INT(count_containing("\"id\":65"), 1);
    run_jobs();
    CHECK_INT(norder, 64);
    CHECK_INT(order[63], 64);
    CHECK_INT(count_containing("\"text\":\"ok\""), 64);
    mcp_conn_close(c);
    rec_clear();
}

TEST(a_refused_drainer_fails_the_calls_and_the_mailbox_recovers)
{
    mcp_conn *c = session();
    refuse = true;
    call(c, 1);
    refuse = false;
    CHECK_INT(rec_count(), 1);
    CHECK_INT(count_containing("overloaded"), 1);
    call(c, 2);
    CHECK_INT(njobs, 1);
    run_jobs();
    CHECK_INT(norder, 1);
    CHECK_INT(order[0], 2);
    mcp_conn_close(c);
    rec_clear();
}

int main(void)
{
    mcp_server_info info = {.name = "t", .version = "1"};
    srv = mcp_server_new(&info);
    mcp_tool_def ser = {.name = "ser", .handler = h_serial, .flags = MCP_SERIAL | MCP_INLINE};
    if (mcp_server_add_tool(srv, &ser, NULL, 0)) return 1;
    RUN(calls_run_one_at_a_time_in_order_from_one_drainer);
    RUN(past_the_mailbox_bound_calls_are_refused_precisely);
    RUN(a_refused_drainer_fails_the_calls_and_the_mailbox_recovers);
    mcp_server_free(srv);
    return test_summary();
}
