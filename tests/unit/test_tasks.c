/* test_tasks.c - tool calls that run as tasks, driven through the engine API (src/mcp/engine.h).
 *
 * Both task protocols: the 2025-11-25 experimental tasks (legacy sessions: params.task,
 * CreateTaskResult {task:{...}}, tasks/get, the blocking tasks/result with _meta related-task,
 * tasks/list paginated and private to the session, tasks/cancel, notifications/tasks/status)
 * and the 2026-07-28 io.modelcontextprotocol/tasks extension (flat CreateTaskResult with
 * resultType "task", tasks/get with the inlined result or error, tasks/update answering
 * input_required questions one at a time, tasks/cancel acks, -32021 without the extension,
 * MCP_TASK_DEFERRED + mcp_ctx_start_task after an MRTR round). Also the store's limits, expiry
 * (through mcp_conn_tick), the ids (128 random bits, base64url) and tasks whose handlers run on
 * a real work pool (rt_pool) while this thread polls.
 *
 * Every test makes its own server (own limits, own tools) and conns with a recording sink.
 * Time: the store keeps a terminal task at least 5 s (TERMINAL_GRACE_MS) after it ended, measured
 * on the monotonic clock passed to mcp_conn_tick(), while the ttl itself is checked against the
 * real wall clock; the expiry test therefore sleeps past a tiny ttl and then ticks with a
 * monotonic "now" 6+ s in the future instead of waiting.
 *
 * Checks that fail on purpose until the engine is fixed (each test's comment cites the spec):
 * legacy_tool_error_status (isError must end "failed" in 2025-11-25), legacy_task_asks and
 * legacy_task_progress (_meta related-task on a task's requests and notifications),
 * legacy_cancelled_notification_id_reuse and modern_cancelled_notification (an id-based
 * notifications/cancelled reaches a task's detached ctx); under TSan legacy_task_asks also shows
 * a lock-order inversion (conn->lock vs tasks_lock). */
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>

#include "mcp/engine.h"
#include "mcp/internal.h"
#include "rt/clock.h"
#include "rt/pool.h"

/* ---- the recording sink --------------------------------------------------------------------- */

#define MAXOUT 4096
#include "recorder.h"

/* A copy of output i (kept in a ring of copies, so a few stay valid at once), or NULL. */
static char *ring[32];
static unsigned ring_i;

static const char *keep(char *s)
{
    unsigned k = ring_i++ % 32;
    free(ring[k]);
    ring[k] = s;
    return s;
}

static const char *out_copy(int i, rec_out *meta)
{
    char *s = NULL;
    pthread_mutex_lock(&rec_mu);
    if (i < nout) {
        s = strdup(outs[i].data);
        if (meta) *meta = outs[i];
    }
    pthread_mutex_unlock(&rec_mu);
    return s ? keep(s) : NULL;
}

/* ---- JSON paths on outputs ------------------------------------------------------------------ */

#include "jpath.h"

static size_t jlen(const char *msg, const char *path)
{
    const json_value *v = jpath(msg, path);
    return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->len : 0;
}

#define CHECK_CODE(msg, code) CHECK_INT(jint((msg), "error.code"), (code))
#define CHECK_ABSENT(msg, path)                                                                    \
    do {                                                                                           \
        if (jpath((msg), (path))) T_FAIL("%s present in %s", (path), (msg));                       \
    } while (0)

/* "2026-11-25T11:05:30.123Z": ISO 8601 / RFC 3339 in UTC. */
static bool is_iso(const char *s)
{
    if (!s || strlen(s) < 20) return false;
    int y, mo, d, h, mi, se;
    char t, z;
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &t, &h, &mi, &se) != 7) return false;
    z = s[strlen(s) - 1];
    return t == 'T' && z == 'Z' && y >= 2024 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

/* 22 characters of base64url (128 bits, no padding). */
static bool is_task_id(const char *s)
{
    if (!s || strlen(s) != 22) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- handlers ------------------------------------------------------------------------------- */

static mcp_ctx *_Atomic parked; /* the last call of a parking handler */
static atomic_int saw_cancel;   /* handlers that saw mcp_ctx_cancelled */
static atomic_int slow_ended;   /* slow handlers that returned */
static atomic_int was_task;     /* mcp_ctx_is_task seen by the last quick handler */

/* Finishes at once with "quick:<text>". */
static void h_quick(mcp_ctx *c, void *ud)
{
    (void)ud;
    atomic_store(&was_task, mcp_ctx_is_task(c));
    const char *t = mcp_ctx_arg_str(c, "text");
    char msg[200];
    snprintf(msg, sizeof msg, "quick:%s", t ? t : "");
    mcp_ctx_text(c, msg);
    mcp_ctx_finish(c);
}

/* Keeps the ctx; the test finishes it. */
static void h_park(mcp_ctx *c, void *ud)
{
    (void)ud;
    atomic_store(&parked, c);
}

static void h_tool_error(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_tool_error(c, "the job failed: %s", "bad input");
}

static void h_proto_error(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_fail(c, -32050, "backend exploded");
}

/* Sleeps arguments.ms (default 300) in 5 ms steps unless cancelled. Runs on the pool. */
static void h_slow(mcp_ctx *c, void *ud)
{
    (void)ud;
    int64_t ms = 300;
    const json_value *v = json_get(mcp_ctx_arguments(c), "ms");
    if (v && v->type == JSON_INT) ms = v->u.num.i;
    uint64_t end = rt_now_ms() + (uint64_t)ms;
    while (rt_now_ms() < end) {
        if (mcp_ctx_cancelled(c)) {
            atomic_fetch_add(&saw_cancel, 1);
            mcp_ctx_text(c, "stopped");
            mcp_ctx_finish(c);
            atomic_fetch_add(&slow_ended, 1);
            return;
        }
        sleep_ms(5);
    }
    char msg[64];
    snprintf(msg, sizeof msg, "slow done after %lld ms", (long long)ms);
    mcp_ctx_text(c, msg);
    mcp_ctx_finish(c);
    atomic_fetch_add(&slow_ended, 1);
}

/* Reports progress, then finishes. */
static void h_progress(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_progress(c, 1, 2, "half");
    mcp_ctx_text(c, "progressed");
    mcp_ctx_finish(c);
}

#define ASK_Q(what)                                                                                \
    "{\"mode\":\"form\",\"message\":\"" what "?\",\"requestedSchema\":{\"type\":\"object\","       \
    "\"properties\":{\"v\":{\"type\":\"string\"}}}}"

static const char *answer_v(const mcp_ctx *c, const char *key)
{
    const json_value *a = mcp_ctx_input(c, key);
    const json_value *v = json_get(json_get(a, "content"), "v");
    return json_is_string(v) ? v->u.str : NULL;
}

/* Asks "a" and "b" (those not answered yet), then answers "a=<a>,b=<b>". */
static void h_ask2(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *a = answer_v(c, "a"), *b = answer_v(c, "b");
    if (!a || !b) {
        if (!a) mcp_ctx_elicit(c, "a", ASK_Q("first"));
        if (!b) mcp_ctx_elicit(c, "b", ASK_Q("second"));
        mcp_ctx_ask(c);
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "a=%s,b=%s", a, b);
    mcp_ctx_text(c, msg);
    mcp_ctx_finish(c);
}

/* Two rounds: asks "a"; once answered asks "b"; then answers "a=<a>,b=<b>". */
static void h_ask_seq(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *a = answer_v(c, "a"), *b = answer_v(c, "b");
    if (!a || !b) {
        mcp_ctx_elicit(c, a ? "b" : "a", a ? ASK_Q("second") : ASK_Q("first"));
        mcp_ctx_ask(c);
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "a=%s,b=%s", a, b);
    mcp_ctx_text(c, msg);
    mcp_ctx_finish(c);
}

/* MCP_TASK_DEFERRED: asks a name synchronously, then becomes a task and greets from it. */
static atomic_int start_task_rc = -1;

static void h_deferred(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *name = answer_v(c, "name");
    if (!name) {
        mcp_ctx_elicit(c, "name", ASK_Q("name"));
        mcp_ctx_ask(c);
        return;
    }
    atomic_store(&start_task_rc, mcp_ctx_start_task(c));
    char msg[200];
    snprintf(msg, sizeof msg, "Hello, %s! (task=%d)", name, mcp_ctx_is_task(c));
    mcp_ctx_text(c, msg);
    mcp_ctx_finish(c);
}

/* A deferred optional tool that tries to become a task at once (no questions). */
static void h_try_start(mcp_ctx *c, void *ud)
{
    (void)ud;
    atomic_store(&start_task_rc, mcp_ctx_start_task(c));
    mcp_ctx_text(c, mcp_ctx_is_task(c) ? "as task" : "sync");
    mcp_ctx_finish(c);
}

/* ---- the server under test ------------------------------------------------------------------ */

static mcp_server *srv;

static void add_tool(const char *name, const char *schema, mcp_handler_fn fn, unsigned flags)
{
    mcp_tool_def d = {.name = name,
                      .description = "test tool",
                      .input_schema = schema,
                      .handler = fn,
                      .flags = flags};
    char err[256];
    int rc = mcp_server_add_tool(srv, &d, err, sizeof(err));
    if (rc) fprintf(stderr, "add_tool %s: %s\n", name, err);
}

#define TEXT_ARG "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}"
#define MS_ARG   "{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":\"integer\"}}}"

static void close_all(void);

/* A fresh server (freeing the previous one) with every tool of these tests. */
static void new_server(const mcp_task_limits *lim)
{
    close_all();
    if (srv) mcp_server_free(srv);
    mcp_server_info info = {.name = "task-server", .version = "1.0"};
    srv = mcp_server_new(&info);
    if (lim) mcp_server_set_task_limits(srv, lim);
    add_tool("quick", TEXT_ARG, h_quick, MCP_INLINE | MCP_TASK_OPTIONAL);
    add_tool("quick_req", TEXT_ARG, h_quick, MCP_INLINE | MCP_TASK_REQUIRED);
    add_tool("plain", TEXT_ARG, h_quick, MCP_INLINE);
    add_tool("park", NULL, h_park, MCP_INLINE | MCP_TASK_OPTIONAL);
    add_tool("park_req", NULL, h_park, MCP_INLINE | MCP_TASK_REQUIRED);
    add_tool("tool_error", NULL, h_tool_error, MCP_INLINE | MCP_TASK_OPTIONAL);
    add_tool("proto_error", NULL, h_proto_error, MCP_INLINE | MCP_TASK_OPTIONAL);
    add_tool("slow", MS_ARG, h_slow, MCP_TASK_OPTIONAL); /* on the executor */
    add_tool("ask2", NULL, h_ask2, MCP_TASK_OPTIONAL);
    add_tool("ask_seq", NULL, h_ask_seq, MCP_TASK_OPTIONAL);
    add_tool("deferred", NULL, h_deferred, MCP_TASK_REQUIRED | MCP_TASK_DEFERRED);
    add_tool("progress", NULL, h_progress, MCP_INLINE | MCP_TASK_OPTIONAL);
    add_tool("try_start", NULL, h_try_start, MCP_INLINE | MCP_TASK_OPTIONAL | MCP_TASK_DEFERRED);
}

/* ---- conns and requests --------------------------------------------------------------------- */

static int exec_sync(void *ud, void (*job)(void *), void *arg)
{
    (void)ud;
    job(arg);
    return 0;
}

static int exec_pool(void *ud, void (*job)(void *), void *arg)
{
    return rt_pool_exec((rt_pool *)ud, job, arg);
}

/* Conns still open (a failed check leaves some): closed before their server is freed. */
static mcp_conn *open_conns[64];

static mcp_conn *conn_ex(mcp_conn_mode mode, mcp_exec_fn exec, void *exec_ud)
{
    mcp_conn_options o = {.mode = mode, .sink = {rec_send, NULL}, .exec = exec, .exec_ud = exec_ud};
    mcp_conn *c = mcp_conn_new(srv, &o);
    for (int i = 0; i < 64; i++)
        if (!open_conns[i]) {
            open_conns[i] = c;
            break;
        }
    return c;
}

static void cclose(mcp_conn *c)
{
    for (int i = 0; i < 64; i++)
        if (open_conns[i] == c) open_conns[i] = NULL;
    mcp_conn_close(c);
}

static void close_all(void)
{
    for (int i = 0; i < 64; i++)
        if (open_conns[i]) cclose(open_conns[i]);
}

#define TAG ((void *)0x7a)

static const void *feed_principal; /* as if the transport had authenticated the message */

static int feed(mcp_conn *c, const char *msg)
{
    mcp_msg_info info = {.principal = feed_principal};
    return mcp_conn_handle(c, msg, strlen(msg), feed_principal ? &info : NULL, TAG);
}

static mcp_conn *legacy_conn(mcp_conn_mode mode, const char *caps, mcp_exec_fn exec, void *ud)
{
    mcp_conn *c = conn_ex(mode, exec, ud);
    char msg[512];
    snprintf(msg, sizeof(msg),
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"2025-11-25\",\"capabilities\":%s,\"clientInfo\":{\"name\":"
             "\"t\",\"version\":\"1\"}}}",
             caps);
    rec_clear();
    feed(c, msg);
    feed(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    return c;
}

static int next_id = 100;
static int last_id;

/* Index of the response to request id among the outputs, or -1. */
static int find_resp(int id)
{
    int found = -1;
    char pat[40];
    int n = snprintf(pat, sizeof pat, "\"id\":%d,", id);
    pthread_mutex_lock(&rec_mu);
    for (int i = 0; i < nout && found < 0; i++)
        if (outs[i].kind == MCP_OUT_RESPONSE &&
            !strncmp(outs[i].data, "{\"jsonrpc\":\"2.0\",", 17) &&
            !strncmp(outs[i].data + 17, pat, (size_t)n))
            found = i;
    pthread_mutex_unlock(&rec_mu);
    return found;
}

static rec_out last_meta; /* kind, status, tag, final of the last response rpc() returned */

/* Waits up to ms for the response to request id; a copy or NULL. */
static const char *wait_resp(int id, long ms)
{
    uint64_t end = rt_now_ms() + (uint64_t)ms;
    for (;;) {
        int i = find_resp(id);
        if (i >= 0) return out_copy(i, &last_meta);
        if (rt_now_ms() >= end) return NULL;
        sleep_ms(2);
    }
}

/* Clears the recording, sends method with params (JSON text) and returns a copy of its response
 * if it came synchronously, else NULL (wait_resp(last_id, ...) then). */
static const char *rpc(mcp_conn *c, const char *method, const char *params)
{
    char msg[8192];
    last_id = next_id++;
    snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":%s}",
             last_id, method, params);
    rec_clear();
    feed(c, msg);
    int i = find_resp(last_id);
    return i >= 0 ? out_copy(i, &last_meta) : NULL;
}

static const char *rpcf(mcp_conn *c, const char *method, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *rpcf(mcp_conn *c, const char *method, const char *fmt, ...)
{
    char params[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(params, sizeof params, fmt, ap);
    va_end(ap);
    return rpc(c, method, params);
}

#define META_(caps)                                                                                \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":" caps "}"
#define EXT_TASKS         "\"extensions\":{\"io.modelcontextprotocol/tasks\":{}}"
#define M_TASKS           META_("{" EXT_TASKS "}")
#define M_ELICIT          META_("{\"elicitation\":{}," EXT_TASKS "}")
#define M_NONE            META_("{}")
#define M_ELICIT_NO_TASKS META_("{\"elicitation\":{}}")

/* Legacy task calls and task methods. */
static const char *lcall(mcp_conn *c, const char *tool, const char *extra)
{
    return rpcf(c, "tools/call", "{\"name\":\"%s\"%s%s}", tool, extra ? "," : "",
                extra ? extra : "");
}

static const char *ltask(mcp_conn *c, const char *method, const char *id)
{
    return rpcf(c, method, "{\"taskId\":\"%s\"}", id);
}

/* Modern ones (meta: M_TASKS, M_ELICIT, M_NONE). */
static const char *mcall(mcp_conn *c, const char *tool, const char *args, const char *meta)
{
    return rpcf(c, "tools/call", "{\"name\":\"%s\",\"arguments\":%s,%s}", tool, args ? args : "{}",
                meta);
}

static const char *mtask(mcp_conn *c, const char *method, const char *id, const char *meta)
{
    return rpcf(c, method, "{\"taskId\":\"%s\",%s}", id, meta);
}

static char *dupid(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ==== legacy (2025-11-25) ===================================================================== */

TEST(legacy_lifecycle)
{
    new_server(NULL);
    mcp_conn *c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    const char *init = out_copy(0, NULL);
    CHECK(jpath(init, "result.capabilities.tasks.list"));
    CHECK(jpath(init, "result.capabilities.tasks.cancel"));
    CHECK(jpath(init, "result.capabilities.tasks.requests.tools.call"));
    CHECK_ABSENT(init, "result.capabilities.extensions");
    const char *r = rpc(c, "tools/list", "{}");
    CHECK(r);
    CHECK_STR(jstr(r, "result.tools.0.name"), "quick");
    CHECK_STR(jstr(r, "result.tools.0.execution.taskSupport"), "optional");
    CHECK_STR(jstr(r, "result.tools.1.execution.taskSupport"), "required");
    CHECK_ABSENT(r, "result.tools.2.execution"); /* plain */

    /* create: the request is answered at once with the task */
    atomic_store(&parked, NULL);
    r = lcall(c, "park", "\"task\":{\"ttl\":60000}");
    CHECK(r);
    CHECK(last_meta.final && last_meta.tag == TAG && last_meta.kind == MCP_OUT_RESPONSE);
    CHECK_INT(rec_count(), 1);
    CHECK(atomic_load(&parked));
    CHECK(mcp_ctx_is_task(atomic_load(&parked)));
    char *id = dupid(jstr(r, "result.task.taskId"));
    CHECK(is_task_id(id));
    CHECK_STR(jstr(r, "result.task.status"), "working");
    CHECK(is_iso(jstr(r, "result.task.createdAt")));
    CHECK(is_iso(jstr(r, "result.task.lastUpdatedAt")));
    CHECK_INT(jint(r, "result.task.ttl"), 60000);
    CHECK_INT(jint(r, "result.task.pollInterval"), 500);
    CHECK_ABSENT(r, "result.content");
    CHECK_ABSENT(r, "result.resultType");
    CHECK_ABSENT(r, "result.task.ttlMs");

    /* tasks/get while it runs */
    r = ltask(c, "tasks/get", id);
    CHECK_STR(jstr(r, "result.taskId"), id);
    CHECK_STR(jstr(r, "result.status"), "working");
    CHECK_INT(jint(r, "result.ttl"), 60000);
    CHECK(is_iso(jstr(r, "result.createdAt")));
    CHECK_ABSENT(r, "result.resultType");
    CHECK_ABSENT(r, "result.result");

    /* tasks/result blocks until the task ends */
    CHECK(ltask(c, "tasks/result", id) == NULL);
    int result_id = last_id;
    CHECK_INT(rec_count(), 0);
    CHECK_INT(mcp_conn_inflight(c), 2); /* the task's handler and the waiting tasks/result */
    mcp_ctx *p = atomic_exchange(&parked, NULL);
    mcp_ctx_text(p, "finished");
    CHECK_INT(mcp_ctx_finish(p), 0);
    /* a status notification (untagged: the standalone stream), then the waiter's answer */
    CHECK_INT(rec_count(), 2);
    rec_out m0;
    const char *n0 = out_copy(0, &m0);
    CHECK(m0.kind == MCP_OUT_NOTIFICATION && m0.tag == NULL && !m0.final);
    CHECK_STR(jstr(n0, "method"), "notifications/tasks/status");
    CHECK_STR(jstr(n0, "params.taskId"), id);
    CHECK_STR(jstr(n0, "params.status"), "completed");
    CHECK(is_iso(jstr(n0, "params.lastUpdatedAt")));
    CHECK_ABSENT(n0, "params._meta.io.modelcontextprotocol/related-task");
    r = wait_resp(result_id, 0);
    CHECK(r);
    CHECK(last_meta.tag == TAG && last_meta.final);
    CHECK_STR(jstr(r, "result.content.0.text"), "finished");
    CHECK_STR(jstr(r, "result._meta.io.modelcontextprotocol/related-task.taskId"), id);
    CHECK_INT(mcp_conn_inflight(c), 0);

    /* terminal: get, result again (at once), cancel refused */
    r = ltask(c, "tasks/get", id);
    CHECK_STR(jstr(r, "result.status"), "completed");
    CHECK_ABSENT(r, "result.result");
    r = ltask(c, "tasks/result", id);
    CHECK(r);
    CHECK_STR(jstr(r, "result.content.0.text"), "finished");
    CHECK_STR(jstr(r, "result._meta.io.modelcontextprotocol/related-task.taskId"), id);
    r = ltask(c, "tasks/cancel", id);
    CHECK_CODE(r, -32602);
    CHECK_CONTAINS(jstr(r, "error.message"), "completed");

    /* ttl: default when absent, capped at max_ttl_ms */
    r = lcall(c, "quick", "\"task\":{}");
    CHECK_INT(jint(r, "result.task.ttl"), 300000);
    r = lcall(c, "quick", "\"task\":{\"ttl\":999999999}");
    CHECK_INT(jint(r, "result.task.ttl"), 3600000);
    CHECK_INT(atomic_load(&was_task), 1);
    /* an optional-task tool without params.task is an ordinary call */
    r = lcall(c, "quick", "\"arguments\":{\"text\":\"sync\"}");
    CHECK_STR(jstr(r, "result.content.0.text"), "quick:sync");
    CHECK_ABSENT(r, "result.task");
    CHECK_INT(atomic_load(&was_task), 0);
    free(id);
    cclose(c);
}

TEST(legacy_result_errors)
{
    new_server(NULL);
    mcp_conn *c = legacy_conn(MCP_CONN_HTTP_LEGACY, "{}", exec_sync, NULL);
    /* a handler's JSON-RPC error: the task fails; tasks/result returns that same error */
    const char *r = lcall(c, "proto_error", "\"task\":{}");
    char *id = dupid(jstr(r, "result.task.taskId"));
    CHECK(id);
    r = ltask(c, "tasks/get", id);
    CHECK_STR(jstr(r, "result.status"), "failed");
    r = ltask(c, "tasks/result", id);
    CHECK_CODE(r, -32050);
    CHECK_STR(jstr(r, "error.message"), "backend exploded");
    CHECK_INT(jint(r, "id"), last_id);
    CHECK_ABSENT(r, "result");
    free(id);
    /* a tool error is a result: tasks/result returns it as is (isError) */
    r = lcall(c, "tool_error", "\"task\":{}");
    id = dupid(jstr(r, "result.task.taskId"));
    r = ltask(c, "tasks/result", id);
    CHECK(jpath(r, "result.isError"));
    CHECK_CONTAINS(jstr(r, "result.content.0.text"), "bad input");
    CHECK_STR(jstr(r, "result._meta.io.modelcontextprotocol/related-task.taskId"), id);
    free(id);
    cclose(c);
}

/* 2025-11-25 tasks.mdx, "Task Status": failed "includes cases where the tool call result has
 * isError set to true"; "Task Execution Errors": "when the tool result has isError set to true,
 * the task should reach failed status". (The 2026-07-28 extension says completed instead.) */
TEST(legacy_tool_error_status)
{
    new_server(NULL);
    mcp_conn *c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    const char *r = lcall(c, "tool_error", "\"task\":{}");
    char *id = dupid(jstr(r, "result.task.taskId"));
    r = ltask(c, "tasks/get", id);
    free(id);
    cclose(c);
    CHECK_STR(jstr(r, "result.status"), "failed");
}

TEST(legacy_list_and_isolation)
{
    new_server(NULL);
    mcp_server_set_page_size(srv, 2);
    mcp_conn *a = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    mcp_conn *b = legacy_conn(MCP_CONN_HTTP_LEGACY, "{}", exec_sync, NULL);
    char *ids[5], *bid = NULL;
    for (int i = 0; i < 5; i++) {
        ids[i] = dupid(jstr(lcall(a, "quick", "\"task\":{}"), "result.task.taskId"));
        CHECK(ids[i]);
        if (i == 2) { /* interleave one of b's */
            bid = dupid(jstr(lcall(b, "quick", "\"task\":{}"), "result.task.taskId"));
            CHECK(bid);
        }
    }
    /* a's list: 2 + 2 + 1, in creation order, none of b's */
    int seen = 0;
    char cursor[1024] = "";
    for (int page = 0; page < 4; page++) {
        const char *r = cursor[0] ? rpcf(a, "tasks/list", "{\"cursor\":\"%s\"}", cursor)
                                  : rpc(a, "tasks/list", "{}");
        CHECK(r);
        size_t n = jlen(r, "result.tasks");
        for (size_t k = 0; k < n; k++) {
            char path[64];
            snprintf(path, sizeof path, "result.tasks.%zu.taskId", k);
            CHECK(seen < 5);
            CHECK_STR(jstr(r, path), ids[seen]);
            snprintf(path, sizeof path, "result.tasks.%zu.status", k);
            CHECK_STR(jstr(r, path), "completed");
            seen++;
        }
        const char *next = jstr(r, "result.nextCursor");
        if (!next) {
            CHECK_INT(n, 1);
            break;
        }
        CHECK_INT(n, 2);
        snprintf(cursor, sizeof cursor, "%.1023s", next);
    }
    CHECK_INT(seen, 5);
    /* b sees only its own */
    const char *r = rpc(b, "tasks/list", "{}");
    CHECK_INT(jlen(r, "result.tasks"), 1);
    CHECK_STR(jstr(r, "result.tasks.0.taskId"), bid);
    /* and cannot touch a's: -32602 as if it did not exist */
    CHECK_CODE(ltask(b, "tasks/get", ids[0]), -32602);
    CHECK_CODE(ltask(b, "tasks/result", ids[0]), -32602);
    CHECK_CODE(ltask(b, "tasks/cancel", ids[0]), -32602);
    CHECK_CODE(ltask(a, "tasks/get", bid), -32602);
    /* a modern request cannot see a legacy task either */
    mcp_conn *m = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL);
    CHECK_CODE(mtask(m, "tasks/get", ids[0], M_TASKS), -32602);
    cclose(m);
    /* cursors: forged, or of another list */
    CHECK_CODE(rpc(a, "tasks/list", "{\"cursor\":\"nope\"}"), -32602);
    const char *tl = rpc(a, "tools/list", "{}");
    char tcur[1024];
    snprintf(tcur, sizeof tcur, "%s", jstr(tl, "result.nextCursor"));
    CHECK_CODE(rpcf(a, "tasks/list", "{\"cursor\":\"%s\"}", tcur), -32602);
    for (int i = 0; i < 5; i++) free(ids[i]);
    free(bid);
    cclose(a);
    cclose(b);
}

TEST(legacy_cancel)
{
    new_server(NULL);
    mcp_conn *c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    atomic_store(&parked, NULL);
    char *id = dupid(jstr(lcall(c, "park", "\"task\":{}"), "result.task.taskId"));
    mcp_ctx *p = atomic_exchange(&parked, NULL);
    CHECK(id && p);
    /* a tasks/result waiting when the cancel comes */
    CHECK(ltask(c, "tasks/result", id) == NULL);
    int waiter = last_id;
    CHECK(!mcp_ctx_cancelled(p));
    const char *r = ltask(c, "tasks/cancel", id);
    CHECK(r);
    CHECK_STR(jstr(r, "result.taskId"), id);
    CHECK_STR(jstr(r, "result.status"), "cancelled");
    CHECK(is_iso(jstr(r, "result.lastUpdatedAt")));
    CHECK(mcp_ctx_cancelled(p)); /* the handler is told */
    r = wait_resp(waiter, 0);
    CHECK(r); /* the waiter ends (an error: there is no result) */
    CHECK(jpath(r, "error.code"));
    r = ltask(c, "tasks/get", id);
    CHECK_STR(jstr(r, "result.status"), "cancelled");
    /* the handler finishes anyway: nothing is sent, the task stays cancelled */
    rec_clear();
    mcp_ctx_text(p, "too late");
    CHECK_INT(mcp_ctx_finish(p), MCP_ECANCELED);
    CHECK_INT(rec_count(), 0);
    r = ltask(c, "tasks/get", id);
    CHECK_STR(jstr(r, "result.status"), "cancelled");
    /* cancelling a terminal task: -32602 */
    r = ltask(c, "tasks/cancel", id);
    CHECK_CODE(r, -32602);
    CHECK_CONTAINS(jstr(r, "error.message"), "cancelled");
    CHECK_INT(mcp_conn_inflight(c), 0);
    free(id);
    cclose(c);
}

TEST(legacy_errors)
{
    new_server(NULL);
    mcp_conn *c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    /* a task-required tool called without params.task */
    const char *r = lcall(c, "quick_req", NULL);
    CHECK_CODE(r, -32601);
    CHECK_INT(last_meta.status, MCP_STATUS_OK);
    /* with it: fine */
    r = lcall(c, "quick_req", "\"task\":{}");
    CHECK_STR(jstr(r, "result.task.status"), "working");
    /* a tool that never runs as a task, called with params.task */
    r = lcall(c, "plain", "\"task\":{}");
    CHECK_CODE(r, -32601);
    /* params.task that is not an object is no task request */
    r = lcall(c, "quick", "\"task\":true");
    CHECK_STR(jstr(r, "result.content.0.text"), "quick:");
    /* the modern-only method */
    CHECK_CODE(rpc(c, "tasks/update", "{\"taskId\":\"x\",\"inputResponses\":{}}"), -32601);
    /* taskId missing, wrong type, unknown */
    CHECK_CODE(rpc(c, "tasks/get", "{}"), -32602);
    CHECK_CODE(rpc(c, "tasks/get", "{\"taskId\":7}"), -32602);
    CHECK_CODE(ltask(c, "tasks/get", "AAAAAAAAAAAAAAAAAAAAAA"), -32602);
    CHECK_CODE(ltask(c, "tasks/result", "nope"), -32602);
    CHECK_CODE(ltask(c, "tasks/cancel", "nope"), -32602);
    cclose(c);
    /* a server without task tools knows no tasks/ methods and declares no capability */
    close_all();
    if (srv) mcp_server_free(srv);
    mcp_server_info info = {.name = "no-tasks", .version = "1"};
    srv = mcp_server_new(&info);
    add_tool("plain", TEXT_ARG, h_quick, MCP_INLINE);
    c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    CHECK_ABSENT(out_copy(0, NULL), "result.capabilities.tasks");
    CHECK_CODE(ltask(c, "tasks/get", "x"), -32601);
    CHECK_CODE(rpc(c, "tasks/list", "{}"), -32601);
    /* there params.task is ignored: an ordinary call */
    r = lcall(c, "plain", "\"task\":{},\"arguments\":{\"text\":\"t\"}");
    CHECK_STR(jstr(r, "result.content.0.text"), "quick:t");
    cclose(c);
}

/* A legacy task that asks the client: the request goes on the standalone stream (tag NULL), the
 * task shows input_required meanwhile, and the request carries the related-task _meta
 * (2025-11-25 tasks.mdx "Input Required Status": "The receiver MUST include the
 * io.modelcontextprotocol/related-task metadata in the request"). A tasks/result waits meanwhile
 * (this also puts conn->lock and tasks_lock in both orders: see the report). */
TEST(legacy_task_asks)
{
    new_server(NULL);
    mcp_conn *c = legacy_conn(MCP_CONN_STDIO, "{\"elicitation\":{}}", exec_sync, NULL);
    const char *r = lcall(c, "ask2", "\"task\":{}");
    CHECK(r);
    char *id = dupid(jstr(r, "result.task.taskId"));
    CHECK(id);
    /* the handler ran (exec_sync) and sent two requests, untagged */
    CHECK_INT(rec_count(), 3);
    int64_t qid[2];
    for (int i = 0; i < 2; i++) {
        rec_out m;
        const char *q = out_copy(1 + i, &m);
        CHECK(m.kind == MCP_OUT_REQUEST && m.tag == NULL && !m.final);
        CHECK_STR(jstr(q, "method"), "elicitation/create");
        qid[i] = jint(q, "id");
    }
    r = ltask(c, "tasks/get", id);
    CHECK_STR(jstr(r, "result.status"), "input_required");
    CHECK(ltask(c, "tasks/result", id) == NULL);
    int waiter = last_id;
    char msg[256];
    rec_clear();
    for (int i = 0; i < 2; i++) {
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"action\":\"accept\","
                 "\"content\":{\"v\":\"%s\"}}}",
                 (long long)qid[i], i ? "B" : "A");
        CHECK_INT(feed(c, msg), 0);
    }
    r = wait_resp(waiter, 0);
    CHECK(r);
    CHECK_STR(jstr(r, "result.content.0.text"), "a=A,b=B");
    CHECK_STR(jstr(r, "result._meta.io.modelcontextprotocol/related-task.taskId"), id);
    r = ltask(c, "tasks/get", id);
    CHECK_STR(jstr(r, "result.status"), "completed");
    /* now the spec point about the requests themselves */
    r = lcall(c, "ask2", "\"task\":{}");
    char *id2 = dupid(jstr(r, "result.task.taskId"));
    const char *q = out_copy(1, NULL);
    bool related = q && jpath(q, "params._meta.io.modelcontextprotocol/related-task.taskId");
    free(id);
    free(id2);
    cclose(c); /* the second task's handler is dropped with the session */
    CHECK(related);
}

/* Progress of a task: the progressToken stays valid for the task's life; the notification goes
 * untagged (the request is over) and, as every message related to a task, MUST carry _meta
 * related-task (2025-11-25 tasks.mdx "Associating Task-Related Messages"). */
TEST(legacy_task_progress)
{
    new_server(NULL);
    mcp_conn *c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    const char *r = rpc(c, "tools/call",
                        "{\"name\":\"progress\",\"task\":{},\"_meta\":{\"progressToken\":\"pt\"}}");
    char *id = dupid(jstr(r, "result.task.taskId"));
    CHECK(id);
    CHECK_INT(rec_count(), 3); /* the CreateTaskResult, the progress, the status notification */
    rec_out m;
    const char *p = out_copy(1, &m);
    CHECK_STR(jstr(p, "method"), "notifications/progress");
    CHECK(m.kind == MCP_OUT_NOTIFICATION && m.tag == NULL);
    CHECK_STR(jstr(p, "params.progressToken"), "pt");
    bool related = jstr(p, "params._meta.io.modelcontextprotocol/related-task.taskId") != NULL;
    free(id);
    cclose(c);
    CHECK(related);
}

/* A JSON-RPC id is only unique among requests in flight: once the CreateTaskResult went out,
 * the client may use the id again. notifications/cancelled for that new request must not
 * cancel the task (tasks are cancelled with tasks/cancel: cancellation.mdx). */
TEST(legacy_cancelled_notification_id_reuse)
{
    new_server(NULL);
    mcp_conn *c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    atomic_store(&parked, NULL);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":\"same\",\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"park\",\"task\":{}}}");
    const char *create = out_copy(0, NULL);
    char *id = dupid(jstr(create, "result.task.taskId"));
    mcp_ctx *task_ctx = atomic_exchange(&parked, NULL);
    CHECK(id && task_ctx);
    /* the id again, for an ordinary call, then its cancellation */
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":\"same\",\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"park\"}}");
    mcp_ctx *plain_ctx = atomic_exchange(&parked, NULL);
    CHECK(plain_ctx && plain_ctx != task_ctx);
    feed(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
            "\"requestId\":\"same\"}}");
    CHECK(mcp_ctx_cancelled(plain_ctx));
    bool task_cancelled = mcp_ctx_cancelled(task_ctx);
    const char *r = ltask(c, "tasks/get", id);
    char status[32];
    snprintf(status, sizeof status, "%s",
             jstr(r, "result.status") ? jstr(r, "result.status") : "?");
    mcp_ctx_finish(plain_ctx);
    mcp_ctx_text(task_ctx, "done");
    mcp_ctx_finish(task_ctx);
    free(id);
    cclose(c);
    CHECK(!task_cancelled);
    CHECK_STR(status, "working");
}

/* The same over a modern conn shared by many clients (Streamable HTTP keeps one modern conn per
 * worker): a notifications/cancelled naming the id of the tools/call that created a task (any
 * client's, long answered) must not cancel the task. */
TEST(modern_cancelled_notification)
{
    new_server(NULL);
    mcp_conn *c = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL);
    atomic_store(&parked, NULL);
    const char *r = mcall(c, "park", NULL, M_TASKS);
    char *id = dupid(jstr(r, "result.taskId"));
    mcp_ctx *task_ctx = atomic_exchange(&parked, NULL);
    CHECK(id && task_ctx);
    char msg[512];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
             "\"requestId\":%d," M_NONE "}}",
             last_id);
    feed(c, msg);
    bool task_cancelled = mcp_ctx_cancelled(task_ctx);
    r = mtask(c, "tasks/get", id, M_TASKS);
    char status[32];
    snprintf(status, sizeof status, "%s",
             jstr(r, "result.status") ? jstr(r, "result.status") : "?");
    mcp_ctx_text(task_ctx, "done");
    mcp_ctx_finish(task_ctx);
    free(id);
    cclose(c);
    CHECK(!task_cancelled);
    CHECK_STR(status, "working");
}

/* ==== modern (2026-07-28, io.modelcontextprotocol/tasks) ====================================== */

TEST(modern_lifecycle)
{
    new_server(NULL);
    mcp_conn *c = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL);
    const char *r = rpc(c, "server/discover", "{" M_NONE "}");
    CHECK(jpath(r, "result.capabilities.extensions.io.modelcontextprotocol/tasks"));
    CHECK_ABSENT(r, "result.capabilities.tasks");

    atomic_store(&parked, NULL);
    r = mcall(c, "park", NULL, M_TASKS);
    CHECK(r);
    CHECK(last_meta.final && last_meta.tag == TAG);
    CHECK_STR(jstr(r, "result.resultType"), "task");
    char *id = dupid(jstr(r, "result.taskId"));
    CHECK(is_task_id(id));
    CHECK_STR(jstr(r, "result.status"), "working");
    CHECK(is_iso(jstr(r, "result.createdAt")));
    CHECK(is_iso(jstr(r, "result.lastUpdatedAt")));
    CHECK_INT(jint(r, "result.ttlMs"), 300000);
    CHECK_INT(jint(r, "result.pollIntervalMs"), 500);
    CHECK_STR(jstr(r, "result._meta.io.modelcontextprotocol/serverInfo.name"), "task-server");
    static const char *const forbidden[] = {
        "result.task",         "result.result", "result.error",        "result.inputRequests",
        "result.requestState", "result.ttl",    "result.pollInterval", "result.content"};
    for (size_t i = 0; i < sizeof forbidden / sizeof *forbidden; i++) CHECK_ABSENT(r, forbidden[i]);
    /* durable at once */
    r = mtask(c, "tasks/get", id, M_TASKS);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    CHECK_STR(jstr(r, "result.taskId"), id);
    CHECK_STR(jstr(r, "result.status"), "working");
    CHECK_INT(jint(r, "result.ttlMs"), 300000);
    CHECK_ABSENT(r, "result.result");
    CHECK_ABSENT(r, "result.requestState");
    /* the handler finishes: nothing on the wire (no status notifications in this era) */
    rec_clear();
    mcp_ctx *p = atomic_exchange(&parked, NULL);
    mcp_ctx_text(p, "modern done");
    CHECK_INT(mcp_ctx_finish(p), 0);
    CHECK_INT(rec_count(), 0);
    r = mtask(c, "tasks/get", id, M_TASKS);
    CHECK_STR(jstr(r, "result.status"), "completed");
    CHECK_STR(jstr(r, "result.result.content.0.text"), "modern done");
    CHECK_ABSENT(r, "result.result._meta.io.modelcontextprotocol/related-task");
    CHECK_ABSENT(r, "result.error");
    free(id);

    /* a tool error: completed with result.isError */
    r = mcall(c, "tool_error", NULL, M_TASKS);
    id = dupid(jstr(r, "result.taskId"));
    r = mtask(c, "tasks/get", id, M_TASKS);
    CHECK_STR(jstr(r, "result.status"), "completed");
    CHECK(jpath(r, "result.result.isError"));
    free(id);
    /* a protocol error: failed with error {code, message}, no result */
    r = mcall(c, "proto_error", NULL, M_TASKS);
    id = dupid(jstr(r, "result.taskId"));
    r = mtask(c, "tasks/get", id, M_TASKS);
    CHECK_STR(jstr(r, "result.status"), "failed");
    CHECK_INT(jint(r, "result.error.code"), -32050);
    CHECK_STR(jstr(r, "result.error.message"), "backend exploded");
    CHECK_ABSENT(r, "result.result");
    free(id);

    /* cancel a running task: an empty ack; the handler sees it; the task stays cancelled */
    r = mcall(c, "park", NULL, M_TASKS);
    id = dupid(jstr(r, "result.taskId"));
    p = atomic_exchange(&parked, NULL);
    r = mtask(c, "tasks/cancel", id, M_TASKS);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    CHECK_ABSENT(r, "result.taskId");
    CHECK_ABSENT(r, "result.status");
    CHECK_ABSENT(r, "result.result");
    CHECK_ABSENT(r, "result.error");
    CHECK_ABSENT(r, "result.inputRequests");
    CHECK(mcp_ctx_cancelled(p));
    r = mtask(c, "tasks/get", id, M_TASKS);
    CHECK_STR(jstr(r, "result.status"), "cancelled");
    rec_clear();
    mcp_ctx_text(p, "ignored");
    CHECK_INT(mcp_ctx_finish(p), MCP_ECANCELED);
    CHECK_INT(rec_count(), 0);
    r = mtask(c, "tasks/get", id, M_TASKS);
    CHECK_STR(jstr(r, "result.status"), "cancelled");
    CHECK_ABSENT(r, "result.result");
    /* cancel again (terminal): the same ack, idempotent */
    r = mtask(c, "tasks/cancel", id, M_TASKS);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    CHECK_ABSENT(r, "error");
    free(id);
    /* unknown id */
    r = mtask(c, "tasks/get", "tasks-conformance-nonexistent-12345", M_TASKS);
    CHECK_CODE(r, -32602);
    /* a legacy-style params.task without the extension: ignored, a synchronous call */
    r = rpc(c, "tools/call",
            "{\"name\":\"quick\",\"arguments\":{\"text\":\"x\"},\"task\":{\"ttl\":60000}," M_NONE
            "}");
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    CHECK_STR(jstr(r, "result.content.0.text"), "quick:x");
    /* a non-task tool with the extension: synchronous */
    r = mcall(c, "plain", "{\"text\":\"y\"}", M_TASKS);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    CHECK_STR(jstr(r, "result.content.0.text"), "quick:y");
    cclose(c);
}

/* A task belongs to the principal that created it: another one is told it is unknown. */
TEST(modern_task_principal)
{
    static const char alice[] = "alice", bob[] = "bob";
    new_server(NULL);
    mcp_conn *c = conn_ex(MCP_CONN_STDIO, exec_sync, NULL); /* stdio: no header checks */
    atomic_store(&parked, NULL);
    feed_principal = alice;
    const char *r = mcall(c, "park", NULL, M_TASKS);
    char *id = dupid(jstr(r, "result.taskId"));
    CHECK(is_task_id(id));
    const void *others[] = {bob, NULL};
    for (size_t i = 0; i < 2; i++) {
        feed_principal = others[i];
        r = mtask(c, "tasks/get", id, M_TASKS);
        CHECK_CODE(r, -32602);
        CHECK_CONTAINS(jstr(r, "error.message"), "unknown or expired task");
        CHECK_CODE(mtask(c, "tasks/cancel", id, M_TASKS), -32602);
    }
    feed_principal = alice;
    CHECK_STR(jstr(mtask(c, "tasks/get", id, M_TASKS), "result.status"), "working");
    mcp_ctx *p = atomic_exchange(&parked, NULL);
    mcp_ctx_text(p, "done");
    CHECK_INT(mcp_ctx_finish(p), 0);
    CHECK_STR(jstr(mtask(c, "tasks/get", id, M_TASKS), "result.status"), "completed");
    feed_principal = NULL;
    free(id);
    cclose(c);
}

TEST(modern_without_extension)
{
    new_server(NULL);
    mcp_conn *c = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL);
    /* make a real task, then talk about it without declaring the extension */
    char *id = dupid(jstr(mcall(c, "quick", NULL, M_TASKS), "result.taskId"));
    CHECK(id);
    static const char *const methods[] = {"tasks/get", "tasks/cancel"};
    for (int i = 0; i < 2; i++) {
        const char *r = mtask(c, methods[i], id, M_NONE);
        CHECK_CODE(r, -32021);
        CHECK(jpath(r, "error.data.requiredCapabilities.extensions.io.modelcontextprotocol/tasks"));
        CHECK_INT(last_meta.status, MCP_STATUS_BAD_REQUEST);
    }
    const char *r =
        rpcf(c, "tasks/update", "{\"taskId\":\"gate-test\",\"inputResponses\":{}," M_NONE "}");
    CHECK_CODE(r, -32021);
    /* optional tools run synchronously */
    r = mcall(c, "quick", "{\"text\":\"s\"}", M_NONE);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    CHECK_STR(jstr(r, "result.content.0.text"), "quick:s");
    CHECK_ABSENT(r, "result.taskId");
    /* required tools: -32021 naming the extension, HTTP 400 */
    r = mcall(c, "quick_req", NULL, M_NONE);
    CHECK_CODE(r, -32021);
    CHECK(jpath(r, "error.data.requiredCapabilities.extensions.io.modelcontextprotocol/tasks"));
    CHECK_INT(last_meta.status, MCP_STATUS_BAD_REQUEST);
    r = mcall(c, "deferred", NULL, M_ELICIT_NO_TASKS);
    CHECK_CODE(r, -32021);
    /* removed methods: -32601 (404) even with the extension */
    r = mtask(c, "tasks/result", id, M_TASKS);
    CHECK_CODE(r, -32601);
    CHECK_INT(last_meta.status, MCP_STATUS_NOT_FOUND);
    r = rpc(c, "tasks/list", "{" M_TASKS "}");
    CHECK_CODE(r, -32601);
    CHECK_INT(last_meta.status, MCP_STATUS_NOT_FOUND);
    free(id);
    cclose(c);
}

TEST(modern_input_required)
{
    new_server(NULL);
    mcp_conn *c = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL);
    const char *r = mcall(c, "ask2", NULL, M_ELICIT);
    CHECK_STR(jstr(r, "result.resultType"), "task");
    CHECK_ABSENT(r, "result.inputRequests");
    CHECK_ABSENT(r, "result.requestState");
    char *id = dupid(jstr(r, "result.taskId"));
    CHECK(id);
    CHECK_INT(mcp_conn_inflight(c), 0); /* parked: not in flight */
    r = mtask(c, "tasks/get", id, M_ELICIT);
    CHECK_STR(jstr(r, "result.status"), "input_required");
    CHECK_INT(jlen(r, "result.inputRequests"), 2);
    CHECK_STR(jstr(r, "result.inputRequests.a.method"), "elicitation/create");
    CHECK_STR(jstr(r, "result.inputRequests.a.params.message"), "first?");
    CHECK_STR(jstr(r, "result.inputRequests.b.method"), "elicitation/create");
    CHECK_ABSENT(r, "result.requestState");
    /* answer a only: ack, still input_required, only b left */
    r = rpcf(c, "tasks/update",
             "{\"taskId\":\"%s\",\"inputResponses\":{\"a\":{\"action\":\"accept\",\"content\":{"
             "\"v\":\"A\"}}}," M_ELICIT "}",
             id);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    CHECK_ABSENT(r, "result.taskId");
    CHECK_ABSENT(r, "result.status");
    r = mtask(c, "tasks/get", id, M_ELICIT);
    CHECK_STR(jstr(r, "result.status"), "input_required");
    CHECK_INT(jlen(r, "result.inputRequests"), 1);
    CHECK_ABSENT(r, "result.inputRequests.a");
    CHECK(jpath(r, "result.inputRequests.b"));
    /* unknown keys are ignored (acked) */
    r = rpcf(c, "tasks/update",
             "{\"taskId\":\"%s\",\"inputResponses\":{\"unknown-key\":{\"ignored\":true}}," M_ELICIT
             "}",
             id);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    r = mtask(c, "tasks/get", id, M_ELICIT);
    CHECK_STR(jstr(r, "result.status"), "input_required");
    CHECK_INT(jlen(r, "result.inputRequests"), 1);
    /* inputResponses must be an object */
    r = rpcf(c, "tasks/update", "{\"taskId\":\"%s\",\"inputResponses\":[1]," M_ELICIT "}", id);
    CHECK_CODE(r, -32602);
    /* answer b: the handler runs again with both answers and completes */
    r = rpcf(c, "tasks/update",
             "{\"taskId\":\"%s\",\"inputResponses\":{\"b\":{\"action\":\"accept\",\"content\":{"
             "\"v\":\"B\"}}}," M_ELICIT "}",
             id);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    r = mtask(c, "tasks/get", id, M_ELICIT);
    CHECK_STR(jstr(r, "result.status"), "completed");
    CHECK_STR(jstr(r, "result.result.content.0.text"), "a=A,b=B");
    CHECK_ABSENT(r, "result.inputRequests");
    /* an update of a finished task is acked and changes nothing */
    r = rpcf(c, "tasks/update", "{\"taskId\":\"%s\",\"inputResponses\":{\"a\":{}}," M_ELICIT "}",
             id);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    r = mtask(c, "tasks/get", id, M_ELICIT);
    CHECK_STR(jstr(r, "result.result.content.0.text"), "a=A,b=B");
    free(id);
    CHECK_CODE(rpc(c, "tasks/update", "{\"taskId\":\"nope\",\"inputResponses\":{}," M_ELICIT "}"),
               -32602);

    /* cancel a task parked for input: cancelled, its handler state freed (ASan checks) */
    r = mcall(c, "ask2", NULL, M_ELICIT);
    id = dupid(jstr(r, "result.taskId"));
    r = mtask(c, "tasks/cancel", id, M_ELICIT);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    r = mtask(c, "tasks/get", id, M_ELICIT);
    CHECK_STR(jstr(r, "result.status"), "cancelled");
    CHECK_ABSENT(r, "result.inputRequests");
    /* an answer after the cancel does not revive it */
    r = rpcf(c, "tasks/update",
             "{\"taskId\":\"%s\",\"inputResponses\":{\"a\":{\"action\":\"accept\",\"content\":{"
             "\"v\":\"A\"}},\"b\":{\"action\":\"accept\",\"content\":{\"v\":\"B\"}}}," M_ELICIT "}",
             id);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    r = mtask(c, "tasks/get", id, M_ELICIT);
    CHECK_STR(jstr(r, "result.status"), "cancelled");
    free(id);
    /* a task left parked when the server goes away is freed by mcp_server_free (ASan checks) */
    r = mcall(c, "ask2", NULL, M_ELICIT);
    CHECK_STR(jstr(r, "result.resultType"), "task");
    /* asking without the elicitation capability inside a task: the task fails with -32021 */
    r = mcall(c, "ask2", NULL, M_TASKS);
    id = dupid(jstr(r, "result.taskId"));
    r = mtask(c, "tasks/get", id, M_TASKS);
    CHECK_STR(jstr(r, "result.status"), "failed");
    CHECK_INT(jint(r, "result.error.code"), -32021);
    free(id);
    cclose(c);
}

TEST(modern_deferred)
{
    new_server(NULL);
    mcp_conn *c = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL);
    /* round 1: an ordinary input_required result (no task yet) */
    atomic_store(&start_task_rc, -1);
    const char *r = mcall(c, "deferred", NULL, M_ELICIT);
    CHECK_STR(jstr(r, "result.resultType"), "input_required");
    CHECK_ABSENT(r, "result.taskId");
    CHECK_STR(jstr(r, "result.inputRequests.name.method"), "elicitation/create");
    char state[4096];
    snprintf(state, sizeof state, "%s", jstr(r, "result.requestState"));
    CHECK(state[0]);
    CHECK_INT(atomic_load(&start_task_rc), -1);
    /* round 2: the handler starts the task: CreateTaskResult, no requestState/inputRequests */
    r = rpcf(c, "tools/call",
             "{\"name\":\"deferred\",\"arguments\":{},\"requestState\":\"%s\",\"inputResponses\":"
             "{\"name\":{\"action\":\"accept\",\"content\":{\"v\":\"Alice\"}}}," M_ELICIT "}",
             state);
    CHECK_STR(jstr(r, "result.resultType"), "task");
    CHECK_ABSENT(r, "result.requestState");
    CHECK_ABSENT(r, "result.inputRequests");
    CHECK_ABSENT(r, "result.content");
    CHECK_INT(atomic_load(&start_task_rc), 1);
    char *id = dupid(jstr(r, "result.taskId"));
    r = mtask(c, "tasks/get", id, M_ELICIT);
    CHECK_STR(jstr(r, "result.status"), "completed");
    CHECK_STR(jstr(r, "result.result.content.0.text"), "Hello, Alice! (task=1)");
    free(id);
    /* an optional deferred tool: start_task works with the extension, not without */
    r = mcall(c, "try_start", NULL, M_TASKS);
    CHECK_STR(jstr(r, "result.resultType"), "task");
    CHECK_INT(atomic_load(&start_task_rc), 1);
    r = mtask(c, "tasks/get", jstr(r, "result.taskId"), M_TASKS);
    CHECK_STR(jstr(r, "result.result.content.0.text"), "as task");
    r = mcall(c, "try_start", NULL, M_NONE);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    CHECK_STR(jstr(r, "result.content.0.text"), "sync");
    CHECK_INT(atomic_load(&start_task_rc), 0);
    cclose(c);
    /* legacy: the same tool with params.task works too */
    c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    r = lcall(c, "try_start", "\"task\":{}");
    CHECK_STR(jstr(r, "result.task.status"), "working");
    id = dupid(jstr(r, "result.task.taskId"));
    r = ltask(c, "tasks/result", id);
    CHECK_STR(jstr(r, "result.content.0.text"), "as task");
    free(id);
    cclose(c);
}

/* A task whose handler asks twice in a row (two rounds of input_required), on the pool. */
TEST(modern_two_rounds_on_pool)
{
    new_server(NULL);
    rt_pool_config pc = {.threads = 2, .queue_max = 16};
    rt_pool *pool = rt_pool_new(&pc);
    mcp_conn *c = conn_ex(MCP_CONN_HTTP_MODERN, exec_pool, pool);
    mcp_conn *other = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL); /* polls and answers */
    char *id = dupid(jstr(mcall(c, "ask_seq", NULL, M_ELICIT), "result.taskId"));
    CHECK(id);
    const char *r = NULL;
    for (int i = 0; i < 500; i++) {
        r = mtask(other, "tasks/get", id, M_ELICIT);
        if (jpath(r, "result.inputRequests.a")) break;
        sleep_ms(2);
    }
    CHECK_STR(jstr(r, "result.status"), "input_required");
    CHECK_INT(jlen(r, "result.inputRequests"), 1);
    r = rpcf(other, "tasks/update",
             "{\"taskId\":\"%s\",\"inputResponses\":{\"a\":{\"action\":\"accept\",\"content\":{"
             "\"v\":\"A\"}}}," M_ELICIT "}",
             id);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    for (int i = 0; i < 500; i++) {
        r = mtask(other, "tasks/get", id, M_ELICIT);
        if (jpath(r, "result.inputRequests.b")) break;
        const char *st = jstr(r, "result.status");
        CHECK(st && (!strcmp(st, "working") || !strcmp(st, "input_required")));
        sleep_ms(2);
    }
    CHECK_STR(jstr(r, "result.status"), "input_required");
    CHECK_INT(jlen(r, "result.inputRequests"), 1);
    CHECK_STR(jstr(r, "result.inputRequests.b.params.message"), "second?");
    r = rpcf(other, "tasks/update",
             "{\"taskId\":\"%s\",\"inputResponses\":{\"b\":{\"action\":\"accept\",\"content\":{"
             "\"v\":\"B\"}}}," M_ELICIT "}",
             id);
    for (int i = 0; i < 500; i++) {
        r = mtask(other, "tasks/get", id, M_ELICIT);
        const char *st = jstr(r, "result.status");
        if (st && !strcmp(st, "completed")) break;
        sleep_ms(2);
    }
    CHECK_STR(jstr(r, "result.status"), "completed");
    CHECK_STR(jstr(r, "result.result.content.0.text"), "a=A,b=B");
    free(id);
    rt_pool_shutdown(pool, true);
    rt_pool_free(pool);
    cclose(c);
    cclose(other);
}

/* A legacy task whose question the client answers with an error: the task completes with an
 * isError result naming the error. */
TEST(legacy_task_ask_declined)
{
    new_server(NULL);
    mcp_conn *c = legacy_conn(MCP_CONN_STDIO, "{\"elicitation\":{}}", exec_sync, NULL);
    const char *r = lcall(c, "ask_seq", "\"task\":{}");
    char *id = dupid(jstr(r, "result.task.taskId"));
    CHECK(id);
    int64_t qid = jint(out_copy(1, NULL), "id");
    char msg[256];
    snprintf(
        msg, sizeof msg,
        "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-1,\"message\":\"user said no\"}}",
        (long long)qid);
    feed(c, msg);
    r = ltask(c, "tasks/get", id);
    CHECK_STR(jstr(r, "result.status"), "failed"); /* 2025-11-25: a tool error is "failed" */
    r = ltask(c, "tasks/result", id);
    CHECK(jpath(r, "result.isError"));
    CHECK_CONTAINS(jstr(r, "result.content.0.text"), "user said no");
    free(id);
    cclose(c);
}

/* ==== the store: limits, expiry, ids ========================================================== */

TEST(limits)
{
    mcp_task_limits lim = {.max_tasks = 2, .poll_interval_ms = 250, .max_ttl_ms = 10000};
    new_server(&lim);
    mcp_conn *c = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL);
    const char *r = mcall(c, "quick", NULL, M_TASKS);
    CHECK_STR(jstr(r, "result.resultType"), "task");
    CHECK_INT(jint(r, "result.pollIntervalMs"), 250);
    r = mcall(c, "quick", NULL, M_TASKS);
    CHECK_STR(jstr(r, "result.resultType"), "task");
    /* full (finished tasks count: they are kept for their ttl) */
    r = mcall(c, "quick", "{\"text\":\"third\"}", M_TASKS);
    CHECK_STR(jstr(r, "result.resultType"), "complete"); /* optional: runs synchronously */
    CHECK_STR(jstr(r, "result.content.0.text"), "quick:third");
    r = mcall(c, "quick_req", NULL, M_TASKS);
    CHECK(jpath(r, "error.code")); /* required: an error */
    CHECK_CODE(r, -32000);
    CHECK_INT(last_meta.status, MCP_STATUS_OVERLOADED);
    cclose(c);
    /* legacy: the same; and a ttl above max_ttl_ms is capped */
    c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    r = lcall(c, "quick", "\"task\":{\"ttl\":60000},\"arguments\":{\"text\":\"l\"}");
    CHECK_STR(jstr(r, "result.content.0.text"), "quick:l");
    r = lcall(c, "quick_req", "\"task\":{}");
    CHECK_CODE(r, -32000);
    cclose(c);
    new_server(&lim);
    c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    r = lcall(c, "quick", "\"task\":{\"ttl\":60000}");
    CHECK_INT(jint(r, "result.task.ttl"), 10000);
    CHECK_INT(jint(r, "result.task.pollInterval"), 250);
    cclose(c);
}

static uint64_t fake_future = 6000; /* grows: reaping is throttled to once a second */

static void tick_future(mcp_conn *c)
{
    fake_future += 2000;
    mcp_conn_tick(c, rt_now_ms() + fake_future);
}

TEST(expiry)
{
    mcp_task_limits lim = {.default_ttl_ms = 40};
    new_server(&lim);
    mcp_conn *c = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL);
    char *done = dupid(jstr(mcall(c, "quick", NULL, M_TASKS), "result.taskId"));
    atomic_store(&parked, NULL);
    char *running = dupid(jstr(mcall(c, "park", NULL, M_TASKS), "result.taskId"));
    mcp_ctx *p = atomic_exchange(&parked, NULL);
    char *asking = dupid(jstr(mcall(c, "ask2", NULL, M_ELICIT), "result.taskId"));
    CHECK(done && running && asking && p);
    CHECK_INT(jint(mtask(c, "tasks/get", done, M_TASKS), "result.ttlMs"), 40);
    sleep_ms(80); /* past every ttl */
    /* a tick now: the terminal task is within its 5 s grace, readable */
    mcp_conn_tick(c, rt_now_ms());
    CHECK_STR(jstr(mtask(c, "tasks/get", done, M_TASKS), "result.status"), "completed");
    /* a tick 6+ s later: the terminal task goes; the parked one ends cancelled and stays
     * readable for the grace period; the running one stays (a running task is never
     * dropped) */
    tick_future(c);
    CHECK_CODE(mtask(c, "tasks/get", done, M_TASKS), -32602);
    CHECK_STR(jstr(mtask(c, "tasks/get", asking, M_ELICIT), "result.status"), "cancelled");
    CHECK_STR(jstr(mtask(c, "tasks/get", running, M_TASKS), "result.status"), "working");
    /* it ends; readable until the grace passes, then gone */
    mcp_ctx_text(p, "late");
    mcp_ctx_finish(p);
    tick_future(c); /* ended just now: within the grace on the real clock... */
    /* ...but the fake clock is 8+ s ahead, so it is reaped at once: what mcp_conn_tick's now
     * means is the caller's monotonic clock; the engine compares it with its own rt_now_ms() */
    const char *r = mtask(c, "tasks/get", running, M_TASKS);
    CHECK(jpath(r, "error.code") || jpath(r, "result.status"));
    cclose(c);
    /* legacy, with a requested ttl */
    new_server(NULL);
    c = legacy_conn(MCP_CONN_STDIO, "{}", exec_sync, NULL);
    char *lid = dupid(jstr(lcall(c, "quick", "\"task\":{\"ttl\":30}"), "result.task.taskId"));
    char *keepid =
        dupid(jstr(lcall(c, "quick", "\"task\":{\"ttl\":600000}"), "result.task.taskId"));
    sleep_ms(60);
    tick_future(c);
    CHECK_CODE(ltask(c, "tasks/get", lid), -32602);
    CHECK_CODE(ltask(c, "tasks/result", lid), -32602);
    CHECK_STR(jstr(ltask(c, "tasks/get", keepid), "result.status"), "completed");
    r = rpc(c, "tasks/list", "{}");
    CHECK_INT(jlen(r, "result.tasks"), 1);
    free(done);
    free(running);
    free(asking);
    free(lid);
    free(keepid);
    cclose(c);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(unguessable_ids)
{
    new_server(NULL);
    mcp_conn *c = conn_ex(MCP_CONN_HTTP_MODERN, exec_sync, NULL);
    enum { N = 1000 };
    static char *ids[N];
    for (int i = 0; i < N; i++) {
        const char *r = mcall(c, "quick", NULL, M_TASKS);
        ids[i] = dupid(jstr(r, "result.taskId"));
        if (!is_task_id(ids[i])) T_FAIL("task %d: bad id '%s'", i, ids[i] ? ids[i] : "(null)");
    }
    qsort(ids, N, sizeof *ids, cmp_str);
    for (int i = 1; i < N; i++)
        if (!strcmp(ids[i - 1], ids[i])) T_FAIL("duplicate id %s", ids[i]);
    /* a neighbour of a real id is unknown */
    char other[32];
    snprintf(other, sizeof other, "%s", ids[0]);
    other[21] = other[21] == 'A' ? 'B' : 'A';
    CHECK_CODE(mtask(c, "tasks/get", other, M_TASKS), -32602);
    for (int i = 0; i < N; i++) free(ids[i]);
    cclose(c);
}

/* ==== on a real work pool ===================================================================== */

TEST(pool_polling)
{
    new_server(NULL);
    rt_pool_config pc = {.threads = 4, .queue_max = 64, .name = "task-test"};
    rt_pool *pool = rt_pool_new(&pc);
    CHECK(pool);
    atomic_store(&slow_ended, 0);
    atomic_store(&saw_cancel, 0);
    mcp_conn *m = conn_ex(MCP_CONN_HTTP_MODERN, exec_pool, pool);
    /* the CreateTaskResult comes before the handler ends (asserted as that, not as a time the
     * answer took: a loaded machine stretched it past 250 ms) */
    const char *r = mcall(m, "slow", "{\"ms\":1000}", M_TASKS);
    CHECK(r);
    CHECK_INT(atomic_load(&slow_ended), 0);
    char *id = dupid(jstr(r, "result.taskId"));
    CHECK(id);
    int working = 0;
    const char *st = NULL;
    for (uint64_t end = rt_now_ms() + 30000; rt_now_ms() < end;) {
        r = mtask(m, "tasks/get", id, M_TASKS);
        st = jstr(r, "result.status");
        CHECK(st);
        if (!strcmp(st, "working"))
            working++;
        else
            break;
        sleep_ms(10);
    }
    CHECK_STR(st, "completed");
    CHECK(working >= 3);
    CHECK_STR(jstr(r, "result.result.content.0.text"), "slow done after 1000 ms");

    /* eight at once, polled round-robin */
    char *many[8];
    for (int i = 0; i < 8; i++) {
        many[i] = dupid(jstr(mcall(m, "slow", "{\"ms\":100}", M_TASKS), "result.taskId"));
        CHECK(many[i]);
    }
    int left = 8;
    uint64_t end = rt_now_ms() + 5000;
    bool fin[8] = {0};
    while (left && rt_now_ms() < end) {
        for (int i = 0; i < 8; i++) {
            if (fin[i]) continue;
            r = mtask(m, "tasks/get", many[i], M_TASKS);
            st = jstr(r, "result.status");
            CHECK(st && (!strcmp(st, "working") || !strcmp(st, "completed")));
            if (!strcmp(st, "completed")) fin[i] = true, left--;
        }
        sleep_ms(5);
    }
    CHECK_INT(left, 0);
    for (int i = 0; i < 8; i++) free(many[i]);

    /* cancel while it runs on the pool */
    r = mcall(m, "slow", "{\"ms\":10000}", M_TASKS);
    char *cid = dupid(jstr(r, "result.taskId"));
    sleep_ms(30);
    r = mtask(m, "tasks/cancel", cid, M_TASKS);
    CHECK_STR(jstr(r, "result.resultType"), "complete");
    end = rt_now_ms() + 3000;
    while (atomic_load(&saw_cancel) < 1 && rt_now_ms() < end) sleep_ms(2);
    CHECK_INT(atomic_load(&saw_cancel), 1);
    r = mtask(m, "tasks/get", cid, M_TASKS);
    CHECK_STR(jstr(r, "result.status"), "cancelled");
    CHECK_ABSENT(r, "result.result");
    free(cid);

    /* legacy on the pool: tasks/result waits on this thread's conn, answered from a pool thread */
    mcp_conn *l = legacy_conn(MCP_CONN_HTTP_LEGACY, "{}", exec_pool, pool);
    r = lcall(l, "slow", "\"task\":{},\"arguments\":{\"ms\":150}");
    char *lid = dupid(jstr(r, "result.task.taskId"));
    CHECK(lid);
    CHECK_STR(jstr(ltask(l, "tasks/get", lid), "result.status"), "working");
    CHECK(ltask(l, "tasks/result", lid) == NULL);
    r = wait_resp(last_id, 3000);
    CHECK(r);
    CHECK_STR(jstr(r, "result.content.0.text"), "slow done after 150 ms");
    CHECK_STR(jstr(r, "result._meta.io.modelcontextprotocol/related-task.taskId"), lid);
    /* and a legacy cancel on the pool */
    r = lcall(l, "slow", "\"task\":{},\"arguments\":{\"ms\":10000}");
    char *lc = dupid(jstr(r, "result.task.taskId"));
    sleep_ms(20);
    r = ltask(l, "tasks/cancel", lc);
    CHECK_STR(jstr(r, "result.status"), "cancelled");
    end = rt_now_ms() + 3000;
    while (atomic_load(&saw_cancel) < 2 && rt_now_ms() < end) sleep_ms(2);
    CHECK_INT(atomic_load(&saw_cancel), 2);
    free(lid);
    free(lc);
    free(id);
    rt_pool_shutdown(pool, true);
    rt_pool_free(pool);
    CHECK_INT(atomic_load(&slow_ended), 12);
    cclose(m);
    cclose(l);
}

/* A session that goes away while its task runs on the pool: the task ends cancelled, nothing
 * is sent after the close, and everything is freed. */
TEST(pool_close_while_running)
{
    new_server(NULL);
    rt_pool_config pc = {.threads = 2, .queue_max = 16};
    rt_pool *pool = rt_pool_new(&pc);
    atomic_store(&saw_cancel, 0);
    mcp_conn *l = legacy_conn(MCP_CONN_HTTP_LEGACY, "{}", exec_pool, pool);
    const char *r = lcall(l, "slow", "\"task\":{},\"arguments\":{\"ms\":5000}");
    CHECK(jstr(r, "result.task.taskId"));
    sleep_ms(20);
    cclose(l);
    uint64_t end = rt_now_ms() + 3000;
    while (atomic_load(&saw_cancel) < 1 && rt_now_ms() < end) sleep_ms(2);
    CHECK_INT(atomic_load(&saw_cancel), 1);
    rt_pool_shutdown(pool, true);
    rt_pool_free(pool);
}

/* Many tasks on the pool, half of them cancelled at odd moments (often right as they end), all
 * polled from this thread: every task ends completed or cancelled, never changes after that,
 * and every handler returns. Mostly for TSan. */
TEST(pool_cancel_race)
{
    new_server(NULL);
    rt_pool_config pc = {.threads = 8, .queue_max = 256};
    rt_pool *pool = rt_pool_new(&pc);
    atomic_store(&slow_ended, 0);
    mcp_conn *m = conn_ex(MCP_CONN_HTTP_MODERN, exec_pool, pool);
    enum { N = 60 };
    char *ids[N];
    for (int i = 0; i < N; i++) {
        char args[32];
        snprintf(args, sizeof args, "{\"ms\":%d}", (i * 7) % 25);
        ids[i] = dupid(jstr(mcall(m, "slow", args, M_TASKS), "result.taskId"));
        CHECK(ids[i]);
        if (i % 2) {
            sleep_ms(i % 5);
            CHECK_STR(jstr(mtask(m, "tasks/cancel", ids[i], M_TASKS), "result.resultType"),
                      "complete");
        }
    }
    uint64_t end = rt_now_ms() + 10000;
    int terminal = 0;
    char first[N][16];
    memset(first, 0, sizeof first);
    while (terminal < N && rt_now_ms() < end) {
        terminal = 0;
        for (int i = 0; i < N; i++) {
            const char *st = jstr(mtask(m, "tasks/get", ids[i], M_TASKS), "result.status");
            CHECK(st);
            if (!strcmp(st, "working")) continue;
            if (!first[i][0]) snprintf(first[i], sizeof first[i], "%.15s", st);
            CHECK_STR(st, first[i]); /* terminal states never change */
            CHECK(!strcmp(st, "completed") || (i % 2 && !strcmp(st, "cancelled")));
            terminal++;
        }
        sleep_ms(5);
    }
    CHECK_INT(terminal, N);
    rt_pool_shutdown(pool, true);
    rt_pool_free(pool);
    CHECK_INT(atomic_load(&slow_ended), N);
    for (int i = 0; i < N; i++) free(ids[i]);
    cclose(m);
}

int main(void)
{
    RUN(legacy_lifecycle);
    RUN(legacy_result_errors);
    RUN(legacy_tool_error_status);
    RUN(legacy_list_and_isolation);
    RUN(legacy_cancel);
    RUN(legacy_errors);
    RUN(legacy_task_asks);
    RUN(legacy_task_progress);
    RUN(legacy_cancelled_notification_id_reuse);
    RUN(modern_lifecycle);
    RUN(modern_task_principal);
    RUN(modern_without_extension);
    RUN(modern_input_required);
    RUN(modern_deferred);
    RUN(modern_cancelled_notification);
    RUN(modern_two_rounds_on_pool);
    RUN(legacy_task_ask_declined);
    RUN(limits);
    RUN(expiry);
    RUN(unguessable_ids);
    RUN(pool_polling);
    RUN(pool_close_while_running);
    RUN(pool_cancel_race);
    close_all();
    rec_clear();
    for (int i = 0; i < 32; i++) free(ring[i]);
    if (srv) mcp_server_free(srv);
    return test_summary();
}
