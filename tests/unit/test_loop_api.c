/* test_loop_api.c - the event loops libmcp lends to inline handlers (include/mcp/loop.h), used
 * as a program would: public headers and libuv only, a real Streamable HTTP server in this
 * process and raw HTTP/1.1 clients on sockets, in both protocol eras.
 *
 * The tools: `wait` (MCP_INLINE) starts a uv_timer on the worker's loop and returns; the
 * timer's callback finishes the call. Every loop keeps its state under a key (mcp_loop_set):
 * the calls waiting on it, and a housekeeping timer that repeats until the loop's on_stop
 * closes it. A cancelled call (its client left, or its timeout passed) is stopped through
 * on_cancel -> mcp_loop_post -> the loop. `thread_post` hands its call to a thread of its own,
 * which posts the finish back to the loop. `where` reports what mcp_ctx_loop says on a handler
 * thread, inline, and after mcp_ctx_defer; it is also served over stdio. */
#include "test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "mcp/loop.h"

#include "stdio_pipes.h"

/* ---- per-loop state -------------------------------------------------------------------------- */

typedef struct call call;

typedef struct loop_state {
    mcp_loop *loop;
    uv_timer_t housekeeping; /* repeats: a handle that stays open until on_stop */
    call *calls;             /* waiting on this loop */
    unsigned served;
} loop_state;

static int state_key; /* its address is the key */
static atomic_int loops_made, loops_stopped, cancels_posted, cancels_run, finished_by_stop;
static atomic_int calls_alive;

struct call {
    call *next, **pprev;
    mcp_ctx *ctx;
    loop_state *ls;
    uv_timer_t timer;
    atomic_bool cancel_posted; /* on_cancel posted cancel_on_loop: it frees the call */
    bool done;                 /* the ctx was finished */
};

static void housekeeping(uv_timer_t *t)
{
    (void)t;
}

static void nothing(void *ud)
{
    (void)ud;
}

static void state_closed(uv_handle_t *h)
{
    free(h->data);
    atomic_fetch_add(&loops_stopped, 1);
}

static void call_closed(uv_handle_t *h);

static void unlink_call(call *k)
{
    if (!k->pprev) return;
    *k->pprev = k->next;
    if (k->next) k->next->pprev = k->pprev;
    k->pprev = NULL;
}

/* The loop stops: calls still waiting are answered, every handle is closed. */
static void state_stop(mcp_loop *l, void *data)
{
    loop_state *ls = data;
    if (!mcp_loop_is_current(l) || ls->loop != l) abort();
    if (mcp_loop_post(l, nothing, NULL) != MCP_ESHUTDOWN) abort(); /* stopping: refused */
    if (mcp_loop_set(l, &loops_made, ls, NULL) != MCP_ESHUTDOWN) abort();
    while (ls->calls) {
        call *k = ls->calls;
        unlink_call(k);
        if (!k->done) {
            k->done = true;
            mcp_ctx_tool_error(k->ctx, "server stopping");
            atomic_fetch_add(&finished_by_stop, 1);
        }
        uv_close((uv_handle_t *)&k->timer, call_closed);
    }
    uv_close((uv_handle_t *)&ls->housekeeping, state_closed);
}

static loop_state *state_of(mcp_loop *l)
{
    loop_state *ls = mcp_loop_get(l, &state_key);
    if (ls) return ls;
    ls = calloc(1, sizeof *ls);
    ls->loop = l;
    uv_timer_init(mcp_loop_uv(l), &ls->housekeeping);
    ls->housekeeping.data = ls;
    uv_timer_start(&ls->housekeeping, housekeeping, 5, 5);
    if (mcp_loop_set(l, &state_key, ls, state_stop)) abort();
    atomic_fetch_add(&loops_made, 1);
    return ls;
}

/* ---- wait: a timer on the loop finishes the call --------------------------------------------- */

static void call_closed(uv_handle_t *h)
{
    call *k = h->data;
    free(k);
    atomic_fetch_sub(&calls_alive, 1);
}

static void call_end(call *k)
{
    unlink_call(k);
    uv_close((uv_handle_t *)&k->timer, call_closed);
}

static void on_timer(uv_timer_t *t)
{
    call *k = t->data;
    if (!mcp_loop_is_current(k->ls->loop)) abort();
    char text[64];
    snprintf(text, sizeof text, "waited on loop, call %u", ++k->ls->served);
    mcp_ctx_text(k->ctx, text);
    mcp_ctx_finish(k->ctx); /* after it returns, on_cancel never runs again */
    k->done = true;
    if (!atomic_load(&k->cancel_posted)) call_end(k); /* else cancel_on_loop ends it */
}

/* Posted by on_cancel: runs on the loop, after whatever callback was running. */
static void cancel_on_loop(void *ud)
{
    call *k = ud;
    atomic_fetch_add(&cancels_run, 1);
    if (!mcp_loop_is_current(k->ls->loop)) abort();
    if (!k->done) {
        uv_timer_stop(&k->timer);
        k->done = true;
        mcp_ctx_tool_error(k->ctx, "cancelled");
    }
    if (k->pprev || !uv_is_closing((uv_handle_t *)&k->timer)) call_end(k);
}

/* Any thread, libmcp's locks held: only a post. */
static void on_cancel(void *ud)
{
    call *k = ud;
    atomic_store(&k->cancel_posted, true);
    if (mcp_loop_post(k->ls->loop, cancel_on_loop, k) == 0)
        atomic_fetch_add(&cancels_posted, 1);
    else
        atomic_store(&k->cancel_posted, false); /* the loop stops: its on_stop answers */
}

static void h_wait(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_loop *l = mcp_ctx_loop(c);
    if (!l) {
        mcp_ctx_tool_error(c, "no loop");
        return;
    }
    if (!mcp_loop_is_current(l)) abort();
    const mcp_json *a = mcp_ctx_arguments(c);
    int64_t ms = 0;
    if (!mcp_json_int(mcp_json_get(a, "ms"), &ms) || ms < 0) ms = 0;
    loop_state *ls = state_of(l);
    call *k = calloc(1, sizeof *k);
    atomic_fetch_add(&calls_alive, 1);
    k->ctx = c;
    k->ls = ls;
    k->next = ls->calls;
    if (ls->calls) ls->calls->pprev = &k->next;
    k->pprev = &ls->calls;
    ls->calls = k;
    uv_timer_init(mcp_loop_uv(l), &k->timer);
    k->timer.data = k;
    uv_timer_start(&k->timer, on_timer, (uint64_t)ms, 0);
    mcp_ctx_on_cancel(c, on_cancel, k);
}

/* ---- thread_post: another thread posts the finish to the loop -------------------------------- */

typedef struct handoff {
    mcp_ctx *ctx;
    mcp_loop *loop;
    bool current_there; /* mcp_loop_is_current on the other thread */
} handoff;

static void finish_on_loop(void *ud)
{
    handoff *hd = ud;
    mcp_ctx_text(hd->ctx, mcp_loop_is_current(hd->loop) && !hd->current_there
                              ? "posted back to the loop"
                              : "wrong thread");
    mcp_ctx_finish(hd->ctx);
    free(hd);
}

static void *poster(void *arg)
{
    handoff *hd = arg;
    hd->current_there = mcp_loop_is_current(hd->loop);
    if (mcp_loop_post(hd->loop, finish_on_loop, hd)) abort();
    return NULL;
}

static void h_thread_post(mcp_ctx *c, void *ud)
{
    (void)ud;
    handoff *hd = calloc(1, sizeof *hd);
    hd->ctx = c;
    hd->loop = mcp_ctx_loop(c);
    pthread_t t;
    if (!hd->loop || pthread_create(&t, NULL, poster, hd)) abort();
    pthread_detach(t);
}

/* ---- where: what mcp_ctx_loop says ----------------------------------------------------------- */

static void h_where(mcp_ctx *c, void *ud)
{
    const char *mode = ud; /* "inline", "pool", "defer" */
    char text[96];
    if (!strcmp(mode, "defer") && mcp_ctx_is_inline(c)) {
        if (!mcp_ctx_loop(c)) {
            mcp_ctx_tool_error(c, "inline without a loop");
            return;
        }
        if (mcp_ctx_defer(c)) abort();
        return;
    }
    snprintf(text, sizeof text, "%s: inline=%d loop=%s", mode, mcp_ctx_is_inline(c),
             mcp_ctx_loop(c) ? "yes" : "no");
    mcp_ctx_text(c, text);
    mcp_ctx_finish(c);
}

static void h_loop_id(mcp_ctx *c, void *ud)
{
    (void)ud;
    char text[64];
    snprintf(text, sizeof text, "loop %p.", (void *)mcp_ctx_loop(c));
    mcp_ctx_text(c, text);
    mcp_ctx_finish(c);
}

/* ---- the server and a raw client ------------------------------------------------------------- */

static mcp_server *new_server(void)
{
    char err[256];
    mcp_server *s =
        mcp_server_new_err(&(mcp_server_info){.name = "loops", .version = "1"}, err, sizeof err);
    if (!s) abort();
    mcp_tool_def tools[] = {
        {.name = "wait", .params = "ms: integer", .handler = h_wait, .flags = MCP_INLINE},
        {.name = "wait_timeout",
         .params = "ms: integer",
         .handler = h_wait,
         .flags = MCP_INLINE,
         .timeout_ms = 300},
        {.name = "thread_post", .handler = h_thread_post, .flags = MCP_INLINE},
        {.name = "where_inline", .handler = h_where, .ud = (void *)"inline", .flags = MCP_INLINE},
        {.name = "where_pool", .handler = h_where, .ud = (void *)"pool"},
        {.name = "where_defer", .handler = h_where, .ud = (void *)"defer", .flags = MCP_INLINE},
        {.name = "loop_id", .handler = h_loop_id, .flags = MCP_INLINE},
    };
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if (mcp_server_add_tool(s, &tools[i], err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            abort();
        }
    return s;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) abort();
    return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t k = write(fd, s, n);
        if (k <= 0) abort();
        s += k;
        n -= (size_t)k;
    }
}

/* Sends one POST of body (with the extra header lines hdrs) on a new connection; returns it. */
static int post(int port, const char *hdrs, const char *body)
{
    char req[4096];
    int n =
        snprintf(req, sizeof req,
                 "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                 "Content-Type: application/json\r\n"
                 "Accept: application/json, text/event-stream\r\n%sContent-Length: %zu\r\n\r\n%s",
                 hdrs, strlen(body), body);
    int fd = connect_to(port);
    send_all(fd, req, (size_t)n);
    return fd;
}

/* Reads until the server closes fd (or 60 s pass), into buf; closes fd. */
static char *read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 60000) != 1) break;
        ssize_t k = read(fd, buf + len, cap - 1 - len);
        if (k <= 0) break;
        len += (size_t)k;
        if (len == cap - 1) break;
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

#define META                                                                                       \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":{},"                                           \
    "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}"

/* Starts a modern-era tools/call of tool with args (JSON object text); returns the connection. */
static int modern_call(int port, const char *tool, const char *args)
{
    char body[1024], hdrs[512];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s," META "}}",
             tool, args);
    snprintf(hdrs, sizeof hdrs,
             "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: %s\r\n",
             tool);
    return post(port, hdrs, body);
}

static char resp[65536];

static const char *modern(int port, const char *tool, const char *args)
{
    return read_all(modern_call(port, tool, args), resp, sizeof resp);
}

static const char *session_version = "2025-11-25"; /* of the last legacy_open */

/* POSTs body in session sid; returns the connection. */
static int legacy_post(int port, const char *sid, const char *body)
{
    char hdrs[256];
    snprintf(hdrs, sizeof hdrs, "Mcp-Session-Id: %s\r\nMCP-Protocol-Version: %s\r\n", sid,
             session_version);
    return post(port, hdrs, body);
}

/* A legacy session of version (NULL: 2025-11-25): initialize, initialized; its id in sid. */
static void legacy_open(int port, const char *version, char *sid, size_t cap)
{
    session_version = version ? version : "2025-11-25";
    char init[512];
    snprintf(init, sizeof init,
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"%s\",\"capabilities\":{},"
             "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
             session_version);
    read_all(post(port, "", init), resp, sizeof resp);
    const char *h = strcasestr(resp, "mcp-session-id: ");
    if (!h) abort();
    h += strlen("mcp-session-id: ");
    size_t n = strcspn(h, "\r\n");
    if (n >= cap) abort();
    memcpy(sid, h, n);
    sid[n] = '\0';
    read_all(
        legacy_post(port, sid, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"),
        resp, sizeof resp);
}

/* Starts a tools/call in session sid; returns the connection. */
static int legacy_call(int port, const char *sid, const char *tool, const char *args)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s}}",
             tool, args);
    return legacy_post(port, sid, body);
}

static const char *legacy(int port, const char *sid, const char *tool, const char *args)
{
    return read_all(legacy_call(port, sid, tool, args), resp, sizeof resp);
}

/* Waits (up to 60 s) until *v reaches want. */
static bool wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 6000 && atomic_load(v) < want; i++) usleep(10000);
    return atomic_load(v) >= want;
}

static mcp_server *srv;
static mcp_http *http;
static int port;

/* A fresh server on HTTP (workers 0: the default), counters reset. false if it did not start. */
static bool serve(unsigned workers, uint32_t drain_ms)
{
    atomic_store(&loops_made, 0);
    atomic_store(&loops_stopped, 0);
    atomic_store(&cancels_posted, 0);
    atomic_store(&cancels_run, 0);
    atomic_store(&finished_by_stop, 0);
    srv = new_server();
    char err[256];
    mcp_http_options o = {.host = "127.0.0.1", .workers = workers, .drain_ms = drain_ms};
    http = mcp_http_start(srv, &o, err, sizeof err);
    if (!http) fprintf(stderr, "start: %s\n", err);
    port = http ? mcp_http_port(http) : 0;
    return http != NULL;
}

/* Stops it; returns mcp_http_stop's result. */
static int unserve(void)
{
    int rc = mcp_http_stop(http);
    mcp_server_free(srv);
    return rc;
}

/* ---- tests ----------------------------------------------------------------------------------- */

TEST(timer_on_the_loop_finishes_the_call_both_eras)
{
    CHECK(serve(1, 0));
    CHECK_CONTAINS(modern(port, "wait", "{\"ms\":0}"), "waited on loop, call 1");
    CHECK_CONTAINS(resp, "HTTP/1.1 200");
    CHECK_CONTAINS(modern(port, "wait", "{\"ms\":20}"), "waited on loop, call 2");
    char sid[128];
    legacy_open(port, NULL, sid, sizeof sid);
    CHECK_CONTAINS(legacy(port, sid, "wait", "{\"ms\":0}"), "waited on loop, call 3");
    CHECK_CONTAINS(legacy(port, sid, "wait", "{\"ms\":15}"), "waited on loop, call 4");
    CHECK_INT(atomic_load(&loops_made), 1); /* one worker: one loop, its state kept */
    CHECK_INT(unserve(), MCP_SERVE_OK);
    CHECK_INT(atomic_load(&loops_stopped), 1);
    CHECK_INT(atomic_load(&calls_alive), 0);
    CHECK_INT(atomic_load(&cancels_posted), 0);
}

/* 2025-03-26 batches: answers that come later from the loop join the one given at once */
TEST(batch_answered_later_from_the_loop)
{
    CHECK(serve(1, 0));
    char sid[128];
    legacy_open(port, "2025-03-26", sid, sizeof sid);
    const char *batch =
        "[{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"wait\",\"arguments\":{\"ms\":30}}},"
        "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"wait\",\"arguments\":{\"ms\":0}}},"
        "{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"where_inline\",\"arguments\":{}}}]";
    read_all(legacy_post(port, sid, batch), resp, sizeof resp);
    CHECK_CONTAINS(resp, "HTTP/1.1 200");
    CHECK_CONTAINS(resp, "\"id\":11");
    CHECK_CONTAINS(resp, "\"id\":12");
    CHECK_CONTAINS(resp, "\"id\":13");
    CHECK_CONTAINS(resp, "inline: inline=1 loop=yes");
    const char *first = strstr(resp, "waited on loop, call ");
    CHECK(first != NULL);
    CHECK(strstr(first + 1, "waited on loop, call ") != NULL);
    CHECK_INT(unserve(), MCP_SERVE_OK);
}

TEST(another_thread_posts_to_the_loop)
{
    CHECK(serve(2, 0));
    for (int i = 0; i < 4; i++)
        CHECK_CONTAINS(modern(port, "thread_post", "{}"), "posted back to the loop");
    char sid[128];
    legacy_open(port, NULL, sid, sizeof sid);
    CHECK_CONTAINS(legacy(port, sid, "thread_post", "{}"), "posted back to the loop");
    CHECK_INT(unserve(), MCP_SERVE_OK);
}

TEST(cancelled_while_the_timer_is_pending)
{
    CHECK(serve(1, 0));
    /* the client leaves: the loop's own thread cancels, the post runs after that callback */
    int fd = modern_call(port, "wait", "{\"ms\":600000}");
    CHECK(wait_for(&calls_alive, 1));
    close(fd);
    CHECK(wait_for(&cancels_run, 1));
    CHECK_INT(atomic_load(&cancels_posted), 1);
    /* the call's timeout passes: cancelled by the engine's timeout sweep */
    CHECK_CONTAINS(modern(port, "wait_timeout", "{\"ms\":600000}"), "did not finish within");
    CHECK(wait_for(&cancels_run, 2));
    for (int i = 0; i < 6000 && atomic_load(&calls_alive); i++) usleep(10000);
    CHECK_INT(atomic_load(&calls_alive), 0);
    /* the loop still serves */
    CHECK_CONTAINS(modern(port, "wait", "{\"ms\":1}"), "waited on loop");
    CHECK_INT(unserve(), MCP_SERVE_OK);
    CHECK_INT(atomic_load(&loops_stopped), 1);
}

TEST(stop_with_timers_pending_and_loop_handles_open)
{
    CHECK(serve(2, 200));
    int fds[6];
    for (int i = 0; i < 6; i++) fds[i] = modern_call(port, "wait", "{\"ms\":600000}");
    char sid[128];
    legacy_open(port, NULL, sid, sizeof sid);
    int lfd = legacy_call(port, sid, "wait", "{\"ms\":600000}");
    CHECK(wait_for(&calls_alive, 7));
    /* the drain gives up after 200 ms; the conns close and cancel the calls; the posts run;
     * each loop's on_stop closes its housekeeping timer */
    CHECK_INT(unserve(), MCP_SERVE_OK);
    CHECK_INT(atomic_load(&calls_alive), 0);
    CHECK_INT(atomic_load(&loops_stopped), atomic_load(&loops_made));
    CHECK(atomic_load(&loops_made) >= 1);
    CHECK_INT(atomic_load(&cancels_run) + atomic_load(&finished_by_stop), 7);
    for (int i = 0; i < 6; i++) close(fds[i]);
    close(lfd);
}

TEST(loop_is_null_on_handler_threads_and_after_defer)
{
    CHECK(serve(1, 0));
    CHECK_CONTAINS(modern(port, "where_inline", "{}"), "inline: inline=1 loop=yes");
    CHECK_CONTAINS(modern(port, "where_pool", "{}"), "pool: inline=0 loop=no");
    CHECK_CONTAINS(modern(port, "where_defer", "{}"), "defer: inline=0 loop=no");
    CHECK_INT(unserve(), MCP_SERVE_OK);
}

/* stdio: inline handlers run on the reader thread, which lends no loop */
TEST(loop_is_null_over_stdio)
{
    mcp_server *s = new_server();
    int saved_in, saved_out;
    swap_stdio(&saved_in, &saved_out);
    char err[256];
    mcp_stdio *t = mcp_stdio_start(s, NULL, err, sizeof err);
    if (t) {
        send_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                  "\"name\":\"where_inline\",\"arguments\":{}," META "}}");
        read_line(resp, sizeof resp);
        close(in_w);
        mcp_stdio_stop(t);
    }
    restore_stdio(saved_in, saved_out);
    close(out_r);
    mcp_server_free(s);
    CHECK(t != NULL);
    CHECK_CONTAINS(resp, "inline: inline=1 loop=no");
}

/* workers 0: one per CPU of the affinity mask (as under `taskset -c N`): one loop serves all */
TEST(workers_default_to_the_affinity_mask)
{
    cpu_set_t saved, one;
    CHECK_INT(sched_getaffinity(0, sizeof saved, &saved), 0);
    int cpu = 0;
    while (!CPU_ISSET(cpu, &saved)) cpu++;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    CHECK_INT(sched_setaffinity(0, sizeof one, &one), 0); /* the workers inherit it */
    bool up = serve(0, 0);
    sched_setaffinity(0, sizeof saved, &saved);
    CHECK(up);
    char first[64] = "";
    for (int i = 0; i < 8; i++) { /* new connections: SO_REUSEPORT would spread them */
        const char *r = strstr(modern(port, "loop_id", "{}"), "loop 0x");
        CHECK(r != NULL);
        size_t n = strcspn(r, ".");
        if (!i) snprintf(first, sizeof first, "%.*s", (int)n, r);
        CHECK(strncmp(r, first, n) == 0 && strlen(first) == n);
    }
    CHECK_INT(unserve(), MCP_SERVE_OK);
}

int main(void)
{
    mcp_log_set_level(MCP_LOG_WARNING);
    RUN(timer_on_the_loop_finishes_the_call_both_eras);
    RUN(batch_answered_later_from_the_loop);
    RUN(another_thread_posts_to_the_loop);
    RUN(cancelled_while_the_timer_is_pending);
    RUN(stop_with_timers_pending_and_loop_handles_open);
    RUN(loop_is_null_on_handler_threads_and_after_defer);
    RUN(loop_is_null_over_stdio);
    RUN(workers_default_to_the_affinity_mask);
    return test_summary();
}
