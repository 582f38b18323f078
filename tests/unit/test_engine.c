/* test_engine.c - the protocol engine driven through a recording sink.
 *
 * Each test feeds JSON-RPC messages to an mcp_conn and inspects what the sink collected:
 * every method of both eras, every error code the engine emits, the lifecycle, pagination,
 * cancellation, progress, logging, subscriptions, list_changed, both ways of asking the
 * client (legacy requests with correlation and timeouts; modern input_required with a sealed
 * requestState), executors (inline, queued, overloaded, another thread), output schemas,
 * prompts, completion, templates, batches and ids. Includes the engine's internal header to
 * move the token clock. */
#include "test.h"

#include <errno.h>
#include <pthread.h>

#include "mcp/engine.h"
#include "mcp/internal.h"

/* ---- the recording sink --------------------------------------------------------------------- */

#include "recorder.h"

static const char *out_at(int i)
{
    return i < nout ? outs[i].data : NULL;
}

static const char *last(void)
{
    return nout ? outs[nout - 1].data : NULL;
}

/* ---- JSON paths on outputs ------------------------------------------------------------------ */

#include "jpath.h"

#define CHECK_CODE(msg, code) CHECK_INT(jint((msg), "error.code"), (code))

/* ---- executors ------------------------------------------------------------------------------ */

static int exec_calls;

static int exec_sync(void *ud, void (*job)(void *), void *arg)
{
    (void)ud;
    exec_calls++;
    job(arg);
    return 0;
}

static int exec_full(void *ud, void (*job)(void *), void *arg)
{
    (void)ud, (void)job, (void)arg;
    return -EAGAIN;
}

typedef struct thr_job {
    void (*job)(void *);
    void *arg;
} thr_job;

static pthread_t threads[16];
static thr_job thr_jobs[16];
static int nthreads;

static void *thr_main(void *p)
{
    thr_job *j = p;
    j->job(j->arg);
    return NULL;
}

static int exec_thread(void *ud, void (*job)(void *), void *arg)
{
    (void)ud;
    thr_jobs[nthreads] = (thr_job){job, arg};
    pthread_create(&threads[nthreads], NULL, thr_main, &thr_jobs[nthreads]);
    nthreads++;
    return 0;
}

static void join_threads(void)
{
    for (int i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
    nthreads = 0;
}

/* ---- the server under test ------------------------------------------------------------------ */

static mcp_server *srv;
static mcp_ctx *parked; /* a handler that finishes later */

static void h_echo(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *t = mcp_ctx_arg_str(c, "text");
    mcp_ctx_text(c, t ? t : "hi");
    if (mcp_ctx_arg_bool(c, "twice", false)) { /* then a small item and the text again */
        mcp_ctx_text(c, "mid");
        mcp_ctx_text(c, t ? t : "hi");
    }
    mcp_ctx_finish(c);
}

static void h_park(mcp_ctx *c, void *ud)
{
    (void)ud;
    parked = c;
}

static void h_progress(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_progress(c, 1, 3, "one");
    mcp_ctx_progress(c, 1, 3, "again"); /* not increasing: dropped */
    mcp_ctx_progress(c, 0.5, 3, NULL);  /* decreasing: dropped */
    mcp_ctx_progress(c, 2.5, -1, NULL);
    mcp_ctx_text(c, "done");
    mcp_ctx_finish(c);
}

static void h_log(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_log(c, MCP_LOG_DEBUG, "t", "debug line");
    mcp_ctx_log(c, MCP_LOG_ERROR, "t", "error line");
    mcp_ctx_text(c, "logged");
    mcp_ctx_finish(c);
}

/* Asks for a name (elicitation) in round one, greets in round two. */
static void h_ask(mcp_ctx *c, void *ud)
{
    (void)ud;
    const json_value *a = mcp_ctx_input(c, "who");
    if (!a) {
        mcp_ctx_set_state(c, "round1", 6);
        if (mcp_ctx_elicit(c, "who",
                           "{\"mode\":\"form\",\"message\":\"Name?\",\"requestedSchema\":{\"type\":"
                           "\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}}") < 0) {
            mcp_ctx_ask(c); /* nothing queued: the engine names the missing capability */
            return;
        }
        mcp_ctx_ask(c);
        return;
    }
    size_t n;
    const char *st = mcp_ctx_state(c, &n);
    const json_value *name = json_get(json_get(a, "content"), "name");
    char msg[200];
    snprintf(msg, sizeof(msg), "hello %s (state %.*s)", json_is_string(name) ? name->u.str : "?",
             (int)n, st ? st : "");
    mcp_ctx_text(c, msg);
    mcp_ctx_finish(c);
}

static void h_struct(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *mode = mcp_ctx_arg_str(c, "mode");
    if (mode && !strcmp(mode, "bad"))
        mcp_ctx_structured(c, "{\"n\":\"x\"}");
    else if (mode && !strcmp(mode, "none"))
        mcp_ctx_text(c, "no structure");
    else
        mcp_ctx_structured(c, "{\"n\":3}");
    mcp_ctx_finish(c);
}

/* Tries inline; with "defer": true it hands itself to the pool (after adding content, which
 * the pool's run must not see) and answers there, saying where it ran. */
static int deferred_runs;
static void h_defer(mcp_ctx *c, void *ud)
{
    (void)ud;
    bool inl = mcp_ctx_is_inline(c);
    if (inl && mcp_ctx_arg_bool(c, "defer", false)) {
        mcp_ctx_text(c, "dropped");
        CHECK_INT(mcp_ctx_defer(c), 0);
        return;
    }
    if (!inl) {
        deferred_runs++;
        CHECK_INT(mcp_ctx_defer(c), MCP_EINVAL); /* on the pool: stays the caller's */
    }
    mcp_ctx_text(c, inl ? "inline" : "pool");
    mcp_ctx_finish(c);
}

/* Structured content that breaks its output schema, from a tool that vouches for it. */
static void h_trusted(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *mode = mcp_ctx_arg_str(c, "mode");
    mcp_ctx_structured(c, mode && !strcmp(mode, "bad")     ? "{\"n\":\"x\"}"
                          : mode && !strcmp(mode, "array") ? "[1]"
                                                           : "{\"n\":3}");
    mcp_ctx_finish(c);
}

static void h_fail(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_text(c, "discarded");
    mcp_ctx_tool_error(c, "backend down: %d", 503);
}

static void h_content(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_text(c, "t");
    mcp_ctx_image(c, "\x89PNG", 4, "image/png");
    mcp_ctx_audio_b64(c, "AAAA", "audio/wav");
    mcp_ctx_resource_link(c, "file:///a", "a", "text/plain", NULL);
    mcp_ctx_resource_text(c, "file:///b", "text/plain", "bee");
    mcp_ctx_resource_blob(c, "file:///c", "application/octet-stream", "\x01\x02", 2);
    CHECK_INT(mcp_ctx_content_json(c, "{\"type\":\"text\",\"text\":\"raw\"}"), 0);
    mcp_ctx_finish(c);
}

static void h_resource(mcp_ctx *c, void *ud)
{
    (void)ud;
    char t[300];
    const char *name = mcp_ctx_arg_str(c, "name");
    snprintf(t, sizeof(t), "content of %s%s%s", mcp_ctx_name(c), name ? " name=" : "",
             name ? name : "");
    mcp_ctx_text(c, t);
    mcp_ctx_finish(c);
}

static void h_prompt(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_description(c, "a greeting");
    mcp_ctx_message(c, "user");
    char t[200];
    snprintf(t, sizeof(t), "greet %s", mcp_ctx_arg_str(c, "who"));
    mcp_ctx_text(c, t);
    mcp_ctx_message(c, "assistant");
    mcp_ctx_text(c, "ok");
    mcp_ctx_finish(c);
}

static void h_complete(mcp_ctx *c, void *ud)
{
    (void)ud;
    char v[16];
    for (int i = 0; i < 150; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        mcp_ctx_complete_value(c, v);
    }
    mcp_ctx_finish(c);
}

static void add_tool(const char *name, const char *schema, const char *out, mcp_handler_fn fn,
                     unsigned flags)
{
    mcp_tool_def d = {.name = name,
                      .description = "test tool",
                      .input_schema = schema,
                      .output_schema = out,
                      .handler = fn,
                      .flags = flags};
    char err[256];
    int rc = mcp_server_add_tool(srv, &d, err, sizeof(err));
    if (rc) fprintf(stderr, "add_tool %s: %s\n", name, err);
}

static void setup_server(void)
{
    mcp_server_info info = {.name = "test-server", .version = "1.0", .instructions = "be nice"};
    srv = mcp_server_new(&info);
    add_tool("echo", "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}", NULL,
             h_echo, MCP_INLINE);
    add_tool("count",
             "{\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\"}},"
             "\"required\":[\"count\"]}",
             NULL, h_echo, MCP_INLINE);
    add_tool("park", NULL, NULL, h_park, 0);
    add_tool("progress", NULL, NULL, h_progress, MCP_INLINE);
    add_tool("log", NULL, NULL, h_log, MCP_INLINE);
    add_tool("ask", NULL, NULL, h_ask, 0);
    add_tool("ask2", NULL, NULL, h_ask, 0);
    add_tool("struct", NULL,
             "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":"
             "[\"n\"]}",
             h_struct, MCP_INLINE);
    add_tool("fail", NULL, NULL, h_fail, MCP_INLINE);
    add_tool("content", NULL, NULL, h_content, MCP_INLINE);
    add_tool("slow", NULL, NULL, h_echo, 0);
    mcp_resource_def r = {.uri = "file:///readme",
                          .name = "readme",
                          .mime_type = "text/plain",
                          .size = -1,
                          .handler = h_resource,
                          .flags = MCP_INLINE};
    mcp_server_add_resource(srv, &r, NULL, 0);
    mcp_template_def t = {.uri_template = "file:///logs/{name}.txt",
                          .name = "logs",
                          .handler = h_resource,
                          .complete = h_complete,
                          .flags = MCP_INLINE};
    mcp_server_add_template(srv, &t, NULL, 0);
    static const mcp_prompt_arg pargs[] = {{.name = "who", .required = true}, {.name = "tone"}};
    mcp_prompt_def p = {.name = "greet",
                        .args = pargs,
                        .nargs = 2,
                        .handler = h_prompt,
                        .complete = h_complete,
                        .flags = MCP_INLINE};
    mcp_server_add_prompt(srv, &p, NULL, 0);
}

/* ---- conns ---------------------------------------------------------------------------------- */

static mcp_conn *conn_with(mcp_conn_mode mode, mcp_exec_fn exec)
{
    mcp_conn_options o = {.mode = mode, .sink = {rec_send, NULL}, .exec = exec};
    rec_clear();
    return mcp_conn_new(srv, &o);
}

static int feed(mcp_conn *c, const char *msg)
{
    return mcp_conn_handle(c, msg, strlen(msg), NULL, (void *)0x7a);
}

static int feed_info(mcp_conn *c, const char *msg, const char *pv, const char *m, const char *n)
{
    mcp_msg_info info = {.protocol_version_header = pv, .method_header = m, .name_header = n};
    return mcp_conn_handle(c, msg, strlen(msg), &info, (void *)0x7a);
}

#define META_CAPS_(caps)                                                                           \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":" caps "}"
#define META META_CAPS_("{}")

static mcp_conn *legacy_session(const char *version, const char *caps)
{
    mcp_conn *c = conn_with(MCP_CONN_STDIO, exec_sync);
    char msg[512];
    snprintf(msg, sizeof(msg),
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"%s\",\"capabilities\":%s,\"clientInfo\":{\"name\":\"t\","
             "\"version\":\"1\"}}}",
             version, caps);
    feed(c, msg);
    feed(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    return c;
}

/* ---- the vertical slice --------------------------------------------------------------------- */

TEST(modern_tools_list_and_call)
{
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, exec_sync);
    CHECK_INT(
        feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META "}}"),
        1);
    CHECK_INT(nout, 1);
    CHECK_STR(jstr(last(), "result.tools.0.name"), "echo");
    CHECK_STR(jstr(last(), "result.resultType"), "complete");
    CHECK_STR(jstr(last(), "result.cacheScope"), "public");
    CHECK(jint(last(), "result.ttlMs") >= 0);
    CHECK_STR(jstr(last(), "result._meta.io.modelcontextprotocol/serverInfo.name"), "test-server");
    CHECK(outs[0].final && outs[0].tag == (void *)0x7a && outs[0].kind == MCP_OUT_RESPONSE);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"echo\",\"arguments\":{\"text\":\"yo\"}," META "}}");
    CHECK_INT(nout, 1);
    CHECK_STR(jstr(last(), "id"), "x");
    CHECK_STR(jstr(last(), "result.content.0.text"), "yo");
    CHECK_STR(jstr(last(), "result.resultType"), "complete");
    CHECK(!jpath(last(), "result.ttlMs"));
    CHECK_INT(exec_calls, 0); /* MCP_INLINE */
    mcp_conn_close(c);
}

/* A text content block of 170 KB with escapes (quotes, backslashes, control bytes, non-ASCII,
 * U+2028) comes back exactly, whether it took the big-text path (the first: escaped straight
 * into the result) or the items' buffer (the second), each in its place among the items. */
TEST(big_text_echo)
{
    static const char unit[] = "ab\\\"c\\\\\\n\\t\\u00e9\\u2028\\u0001/xyz"; /* JSON-escaped */
    static const char dec[] = "ab\"c\\\n\t\xc3\xa9\xe2\x80\xa8\x01/xyz";     /* decoded */
    const size_t reps = 10000, ulen = sizeof(unit) - 1, dlen = sizeof(dec) - 1;
    mcp_buf req;
    mcp_buf_init(&req, NULL, 0, 0);
    mcp_buf_puts(&req, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":"
                       "{\"name\":\"echo\",\"arguments\":{\"twice\":true,\"text\":\"");
    for (size_t i = 0; i < reps; i++) mcp_buf_append(&req, unit, ulen);
    mcp_buf_puts(&req, "\"}," META "}}");
    mcp_buf_putc(&req, '\0');
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, exec_sync);
    CHECK_INT(feed(c, req.data), 1);
    CHECK_INT(nout, 1);
    for (int i = 0; i < 3; i += 2) {
        char path[32];
        snprintf(path, sizeof path, "result.content.%d.text", i);
        const json_value *v = jpath(last(), path);
        CHECK(v && v->type == JSON_STRING && v->len == reps * dlen);
        bool same = v && v->len == reps * dlen;
        for (size_t k = 0; same && k < reps; k++) same = !memcmp(v->u.str + k * dlen, dec, dlen);
        CHECK(same);
    }
    CHECK_STR(jstr(last(), "result.content.1.text"), "mid");
    CHECK_STR(jstr(last(), "result.content.2.type"), "text");
    CHECK(!jpath(last(), "result.content.3"));
    mcp_conn_close(c);
    mcp_buf_free(&req);
    rec_clear();
}

TEST(legacy_tools_list_and_call)
{
    mcp_conn *c = legacy_session("2025-11-25", "{}");
    CHECK_STR(jstr(out_at(0), "result.protocolVersion"), "2025-11-25");
    CHECK_STR(jstr(out_at(0), "result.serverInfo.name"), "test-server");
    CHECK_STR(jstr(out_at(0), "result.instructions"), "be nice");
    CHECK(jpath(out_at(0), "result.capabilities.tools.listChanged"));
    CHECK(mcp_conn_initialized(c));
    CHECK_STR(mcp_conn_protocol_version(c), "2025-11-25");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    CHECK_STR(jstr(last(), "result.tools.1.name"), "count");
    CHECK(!jpath(last(), "result.resultType"));
    CHECK(!jpath(last(), "result.nextCursor"));
    rec_clear();
    int before = exec_calls;
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"slow\","
            "\"arguments\":{\"text\":\"a\"}}}");
    CHECK_INT(exec_calls, before + 1); /* not inline: through the executor */
    CHECK_STR(jstr(last(), "result.content.0.text"), "a");
    CHECK_INT(jint(last(), "id"), 3);
    mcp_conn_close(c);
}

TEST(version_negotiation)
{
    static const char *const vs[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};
    for (int i = 0; i < 4; i++) {
        mcp_conn *c = legacy_session(vs[i], "{}");
        CHECK_STR(jstr(out_at(0), "result.protocolVersion"), vs[i]);
        mcp_conn_close(c);
    }
    mcp_conn *c = legacy_session("1999-01-01", "{}");
    CHECK_STR(jstr(out_at(0), "result.protocolVersion"), "2025-11-25");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"initialize\",\"params\":{"
            "\"protocolVersion\":\"2025-11-25\"}}");
    CHECK_CODE(last(), -32600);
    mcp_conn_close(c);
    c = conn_with(MCP_CONN_STDIO, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}");
    CHECK_CODE(last(), -32602);
    mcp_conn_close(c);
}

TEST(before_initialize)
{
    mcp_conn *c = conn_with(MCP_CONN_STDIO, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    CHECK_CODE(last(), -32600);
    CHECK_CONTAINS(jstr(last(), "error.message"), "not initialized");
    CHECK_INT(outs[0].status, MCP_STATUS_BAD_REQUEST);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
    CHECK(jpath(last(), "result"));
    CHECK(!mcp_conn_initialized(c));
    CHECK(!mcp_conn_protocol_version(c));
    mcp_conn_close(c);
}

TEST(ids)
{
    mcp_conn *c = legacy_session("2025-11-25", "{}");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":9223372036854775807,\"method\":\"ping\"}");
    CHECK_CONTAINS(last(), "\"id\":9223372036854775807");
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775808,\"method\":\"ping\"}");
    CHECK_CONTAINS(last(), "\"id\":-9223372036854775808");
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":\"a\\\"b\",\"method\":\"ping\"}");
    CHECK_STR(jstr(last(), "id"), "a\"b");
    static const char *const bad[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":9223372036854775808,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
        "{\"id\":1,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}",
        "[1]",
        "\"str\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rec_clear();
        CHECK_INT(feed(c, bad[i]), 1);
        CHECK_INT(nout, 1);
        if (jint(last(), "error.code") != -32600) T_FAIL("%s -> %s", bad[i], last());
    }
    CHECK(jpath(last(), "id") && jpath(last(), "id")->type == JSON_NULL);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":[1]}");
    CHECK_CODE(last(), -32602);
    CHECK_INT(jint(last(), "id"), 5);
    rec_clear();
    CHECK_INT(feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,"), 1);
    CHECK_CODE(last(), -32700);
    CHECK(jpath(last(), "id")->type == JSON_NULL);
    CHECK_INT(outs[0].status, MCP_STATUS_BAD_REQUEST);
    rec_clear();
    CHECK_INT(feed(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}"), 0);
    CHECK_INT(nout, 0);
    mcp_conn_close(c);
}

TEST(unknown_methods)
{
    mcp_conn *c = legacy_session("2025-11-25", "{}");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope/nope\"}");
    CHECK_CODE(last(), -32601);
    CHECK_INT(outs[0].status, MCP_STATUS_OK);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"server/discover\"}");
    CHECK_CODE(last(), -32601);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/get\",\"params\":{}}");
    CHECK_CODE(last(), -32601);
    mcp_conn_close(c);
    c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\",\"params\":{" META "}}");
    CHECK_CODE(last(), -32601);
    CHECK_INT(outs[0].status, MCP_STATUS_NOT_FOUND);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{" META "}}");
    CHECK_CODE(last(), -32601); /* removed in 2026-07-28 */
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
            "\"protocolVersion\":\"2025-11-25\"}}");
    CHECK_CODE(last(), -32600);
    CHECK_CONTAINS(jstr(last(), "error.message"), "2026-07-28");
    mcp_conn_close(c);
}

TEST(modern_meta_errors)
{
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    CHECK_CODE(last(), -32602);
    CHECK_INT(outs[0].status, MCP_STATUS_BAD_REQUEST);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"_meta\":{"
            "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}");
    CHECK_CODE(last(), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "clientCapabilities");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"_meta\":{"
            "\"io.modelcontextprotocol/protocolVersion\":\"1900-01-01\","
            "\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    CHECK_CODE(last(), -32022);
    CHECK_STR(jstr(last(), "error.data.requested"), "1900-01-01");
    CHECK_STR(jstr(last(), "error.data.supported.0"), "2026-07-28");
    CHECK_INT(outs[0].status, MCP_STATUS_BAD_REQUEST);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META_CAPS_(
                "{}, \"io.modelcontextprotocol/logLevel\":\"loud\"") "}}");
    CHECK_CODE(last(), -32602);
    mcp_conn_close(c);
}

TEST(header_checks)
{
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"echo\"," META "}}";
    feed_info(c, call, "2026-07-28", "tools/call", "echo");
    CHECK_STR(jstr(last(), "result.content.0.text"), "hi");
    rec_clear();
    feed_info(c, call, "2025-11-25", "tools/call", "echo");
    CHECK_CODE(last(), -32020);
    CHECK_INT(outs[0].status, MCP_STATUS_BAD_REQUEST);
    rec_clear();
    feed_info(c, call, "2026-07-28", "tools/list", "echo");
    CHECK_CODE(last(), -32020);
    rec_clear();
    feed_info(c, call, "2026-07-28", "tools/call", "other");
    CHECK_CODE(last(), -32020);
    CHECK_CONTAINS(jstr(last(), "error.message"), "'other'");
    rec_clear();
    feed_info(c, call, "2026-07-28", "tools/call", "=?base64?ZWNobw==?=");
    CHECK_STR(jstr(last(), "result.content.0.text"), "hi");
    rec_clear();
    feed_info(c, call, "2026-07-28", " tools/call ", "  echo  ");
    CHECK_STR(jstr(last(), "result.content.0.text"), "hi"); /* optional whitespace trimmed */
    rec_clear();
    feed_info(c, call, "2026-07-28", "tools/call", "=?base64?ZWNobw?="); /* not padded: literal */
    CHECK_CODE(last(), -32020);
    rec_clear();
    feed_info(c, call, "2026-07-28", "tools/call", NULL);
    CHECK_CODE(last(), -32020);
    rec_clear();
    feed_info(c, call, NULL, "tools/call", "echo");
    CHECK_CODE(last(), -32020);
    rec_clear();
    /* Mcp-Method is literal only: the encoded form is for Mcp-Name and Mcp-Param-* */
    feed_info(c, call, "2026-07-28", "=?base64?dG9vbHMvY2FsbA==?=", "echo");
    CHECK_CODE(last(), -32020);
    rec_clear();
    feed_info(c, call, "=?base64?MjAyNi0wNy0yOA==?=", "tools/call", "echo");
    CHECK_CODE(last(), -32020);
    rec_clear();
    /* every byte of the body value counts: a NUL inside does not end it */
    const char *nul = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                      "\"name\":\"echo\\u0000evil\"," META "}}";
    feed_info(c, nul, "2026-07-28", "tools/call", "echo");
    CHECK_CODE(last(), -32020);
    CHECK_INT(outs[0].status, MCP_STATUS_BAD_REQUEST);
    rec_clear();
    const char *nulm = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\\u0000x\","
                       "\"params\":{\"name\":\"echo\"," META "}}";
    feed_info(c, nulm, "2026-07-28", "tools/call", "echo");
    CHECK_CODE(last(), -32020);
    rec_clear();
    const char *nulv = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"echo\",\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
                       "\"2026-07-28\\u0000\",\"io.modelcontextprotocol/clientCapabilities\":{}}}}";
    feed_info(c, nulv, "2026-07-28", "tools/call", "echo");
    CHECK_CODE(last(), -32020);
    rec_clear();
    feed(c, nulv); /* no headers (stdio-like): the version itself is unsupported */
    CHECK_CODE(last(), -32022);
    mcp_conn_close(c);
}

/* Mcp-Param-* headers: a tiny header table the engine reads through get_header. */
static const char *param_hdr_names[4], *param_hdr_values[4];

static const char *param_get_header(const void *hctx, const char *name)
{
    for (int i = 0; i < 4 && param_hdr_names[i]; i++)
        if (!strcasecmp(param_hdr_names[i], name)) return param_hdr_values[i];
    return NULL;
}

static void feed_params(mcp_conn *c, const char *args, const char *hname, const char *hvalue)
{
    char msg[1024];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
             "\"name\":\"region\",\"arguments\":%s," META "}}",
             args);
    param_hdr_names[0] = hname;
    param_hdr_values[0] = hvalue;
    mcp_msg_info info = {.protocol_version_header = "2026-07-28",
                         .method_header = "tools/call",
                         .name_header = "region",
                         .get_header = param_get_header};
    rec_clear();
    mcp_conn_handle(c, msg, strlen(msg), &info, (void *)0x7a);
}

TEST(param_headers)
{
    add_tool("region",
             "{\"type\":\"object\",\"properties\":{\"region\":{\"type\":\"string\","
             "\"x-mcp-header\":\"Region\"},\"opts\":{\"type\":\"object\",\"properties\":{"
             "\"n\":{\"type\":\"integer\",\"x-mcp-header\":\"N\"},\"b\":{\"type\":"
             "\"boolean\",\"x-mcp-header\":\"B\"}}}}}",
             NULL, h_echo, MCP_INLINE);
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed_params(c, "{\"region\":\"us-west1\"}", "Mcp-Param-Region", "us-west1");
    CHECK_STR(jstr(last(), "result.content.0.type"), "text");
    feed_params(c, "{\"region\":\"us-west1\"}", "mcp-param-region", "  us-west1 ");
    CHECK_STR(jstr(last(), "result.content.0.type"), "text"); /* name case, whitespace */
    feed_params(c, "{\"region\":\"Hello\"}", "Mcp-Param-Region", "=?base64?SGVsbG8=?=");
    CHECK_STR(jstr(last(), "result.content.0.type"), "text");
    feed_params(c, "{\"region\":\"Hello\"}", "Mcp-Param-Region", "=?base64?SGVsbG8?=");
    CHECK_CODE(last(), -32020); /* bad padding: taken literally, does not match */
    feed_params(c, "{\"region\":\"SGVsbG8=\"}", "Mcp-Param-Region", "SGVsbG8=");
    CHECK_STR(jstr(last(), "result.content.0.type"), "text");
    feed_params(c, "{\"region\":\"eu\"}", NULL, NULL);
    CHECK_CODE(last(), -32020);
    CHECK_CONTAINS(jstr(last(), "error.message"), "Mcp-Param-Region");
    CHECK_INT(outs[0].status, MCP_STATUS_BAD_REQUEST);
    feed_params(c, "{\"region\":\"eu\"}", "Mcp-Param-Region", "us");
    CHECK_CODE(last(), -32020);
    feed_params(c, "{}", NULL, NULL); /* no value: no header expected */
    CHECK_STR(jstr(last(), "result.content.0.type"), "text");
    feed_params(c, "{\"region\":null}", NULL, NULL);
    CHECK_STR(jstr(last(), "result.content.0.type"), "text");
    feed_params(c, "{\"opts\":{\"n\":42}}", "Mcp-Param-N", "42.0");
    CHECK_STR(jstr(last(), "result.content.0.type"), "text"); /* integers compare numerically */
    feed_params(c, "{\"opts\":{\"n\":42}}", "Mcp-Param-N", "43");
    CHECK_CODE(last(), -32020);
    feed_params(c, "{\"opts\":{\"b\":false}}", "Mcp-Param-B", "false");
    CHECK_STR(jstr(last(), "result.content.0.type"), "text");
    feed_params(c, "{\"opts\":{\"b\":false}}", "Mcp-Param-B", "true");
    CHECK_CODE(last(), -32020);
    feed_params(c, "{\"region\":\"caf\xc3\xa9\"}", "Mcp-Param-Region", "caf\xc3\xa9");
    CHECK_CODE(last(), -32020); /* raw non-ASCII in a header: invalid characters */
    mcp_conn_close(c);
    /* a legacy conn ignores them */
    c = conn_with(MCP_CONN_HTTP_LEGACY, NULL);
    mcp_conn_close(c);
    mcp_server_remove_tool(srv, "region");

    char err[256];
    mcp_tool_def d = {.name = "hdr", .handler = h_echo};
    d.input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\","
                     "\"x-mcp-header\":\"A\"}}}";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "x-mcp-header");
    d.input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\","
                     "\"x-mcp-header\":\"A B\"}}}";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), MCP_EINVAL);
    d.input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\","
                     "\"x-mcp-header\":\"X\"},\"b\":{\"type\":\"string\",\"x-mcp-header\":"
                     "\"x\"}}}";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "unique");
    d.input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\","
                     "\"items\":{\"type\":\"string\",\"x-mcp-header\":\"A\"}}}}";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "reached");
}

TEST(pagination)
{
    mcp_server_set_page_size(srv, 4);
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    char msg[8192], cursor[4096] = "";
    int seen = 0, pages = 0;
    do {
        rec_clear();
        if (*cursor)
            snprintf(msg, sizeof(msg),
                     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{"
                     "\"cursor\":\"%s\"," META "}}",
                     cursor);
        else
            snprintf(msg, sizeof(msg),
                     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META
                     "}}");
        feed(c, msg);
        const json_value *tools = jpath(last(), "result.tools");
        CHECK(tools && tools->len <= 4);
        seen += (int)tools->len;
        pages++;
        const char *next = jstr(last(), "result.nextCursor");
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
    } while (*cursor && pages < 10);
    CHECK_INT(seen, 11);
    CHECK_INT(pages, 3);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"cursor\":"
            "\"garbage\"," META "}}");
    CHECK_CODE(last(), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "invalid cursor");
    /* a tools cursor is refused by prompts/list */
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META "}}");
    snprintf(cursor, sizeof(cursor), "%s", jstr(last(), "result.nextCursor"));
    snprintf(msg, sizeof(msg),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\",\"params\":{"
             "\"cursor\":\"%s\"," META "}}",
             cursor);
    rec_clear();
    feed(c, msg);
    CHECK_CODE(last(), -32602);
    mcp_server_set_page_size(srv, 100);
    mcp_conn_close(c);
}

TEST(cancellation)
{
    mcp_conn *c = legacy_session("2025-11-25", "{}");
    rec_clear();
    nend = 0;
    parked = NULL;
    CHECK_INT(feed(c, "{\"jsonrpc\":\"2.0\",\"id\":\"p1\",\"method\":\"tools/call\",\"params\":{"
                      "\"name\":\"park\"}}"),
              1);
    CHECK(parked != NULL);
    CHECK_INT(mcp_conn_inflight(c), 1);
    CHECK(!mcp_ctx_cancelled(parked));
    CHECK_INT(feed(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
                      "\"requestId\":\"p1\",\"reason\":\"user\"}}"),
              0);
    CHECK(mcp_ctx_cancelled(parked));
    mcp_ctx_text(parked, "late");
    CHECK_INT(mcp_ctx_finish(parked), MCP_ECANCELED);
    CHECK_INT(nout, 0);
    CHECK_INT(nend, 1); /* no answer, but the transport learns the request is over */
    CHECK_INT(mcp_conn_inflight(c), 0);
    /* a transport's tag going away cancels too */
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":\"p2\",\"method\":\"tools/call\",\"params\":{"
            "\"name\":\"park\"}}");
    mcp_conn_cancel_tag(c, (void *)0x7a);
    mcp_ctx_fail(parked, -32603, "x");
    CHECK_INT(nout, 0);
    CHECK_INT(nend, 1); /* the tag is gone: nothing more is said about it */
    /* closing with a handler still running: its late finish sends nothing, frees all */
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":\"p3\",\"method\":\"tools/call\",\"params\":{"
            "\"name\":\"park\"}}");
    mcp_conn_close(c);
    CHECK(mcp_ctx_cancelled(parked));
    mcp_ctx_finish(parked);
    CHECK_INT(nout, 0);
    CHECK_INT(nend, 1);
}

TEST(progress)
{
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"progress\",\"_meta\":{\"progressToken\":\"tok\","
            "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
            "\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    CHECK_INT(nout, 3);
    CHECK_STR(jstr(out_at(0), "method"), "notifications/progress");
    CHECK_STR(jstr(out_at(0), "params.progressToken"), "tok");
    CHECK(json_number(jpath(out_at(0), "params.progress")) == 1);
    CHECK(json_number(jpath(out_at(0), "params.total")) == 3);
    CHECK_STR(jstr(out_at(0), "params.message"), "one");
    CHECK(outs[0].kind == MCP_OUT_NOTIFICATION && !outs[0].final && outs[0].tag == (void *)0x7a);
    CHECK(jpath(out_at(1), "params.progress")->u.num.d == 2.5);
    CHECK(!jpath(out_at(1), "params.total"));
    CHECK_STR(jstr(out_at(2), "result.content.0.text"), "done");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"progress\"," META "}}");
    CHECK_INT(nout, 1);
    mcp_conn_close(c);
}

TEST(logging)
{
    mcp_conn *c = legacy_session("2025-06-18", "{}");
    rec_clear();
    feed(c,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"log\"}}");
    CHECK_INT(nout, 1); /* no level set: no log */
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"logging/setLevel\",\"params\":{\"level\":"
            "\"warning\"}}");
    CHECK(jpath(last(), "result"));
    feed(c,
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"log\"}}");
    CHECK_INT(nout, 3);
    CHECK_STR(jstr(out_at(1), "method"), "notifications/message");
    CHECK_STR(jstr(out_at(1), "params.level"), "error");
    CHECK_STR(jstr(out_at(1), "params.data"), "error line");
    CHECK_STR(jstr(out_at(1), "params.logger"), "t");
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"logging/setLevel\",\"params\":{\"level\":"
            "\"loud\"}}");
    CHECK_CODE(last(), -32602);
    mcp_conn_close(c);
    c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/"
            "call\",\"params\":{\"name\":\"log\"," META_CAPS_(
                "{},\"io.modelcontextprotocol/logLevel\":\"debug\"") "}}");
    CHECK_INT(nout, 3);
    CHECK_STR(jstr(out_at(0), "params.level"), "debug");
    rec_clear();
    feed(
        c,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"log\"," META
        "}}");
    CHECK_INT(nout, 1);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":"
            "\"info\"," META "}}");
    CHECK_CODE(last(), -32601);
    mcp_conn_close(c);
}

TEST(subscriptions_legacy)
{
    mcp_conn *c = legacy_session("2025-11-25", "{}");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/subscribe\",\"params\":{\"uri\":"
            "\"file:///readme\"}}");
    CHECK(jpath(last(), "result"));
    rec_clear();
    mcp_server_resource_updated(srv, "file:///other");
    CHECK_INT(nout, 0);
    mcp_server_resource_updated(srv, "file:///readme");
    CHECK_INT(nout, 1);
    CHECK_STR(jstr(last(), "method"), "notifications/resources/updated");
    CHECK_STR(jstr(last(), "params.uri"), "file:///readme");
    CHECK(outs[0].tag == NULL && outs[0].kind == MCP_OUT_NOTIFICATION);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/unsubscribe\",\"params\":{"
            "\"uri\":\"file:///readme\"}}");
    rec_clear();
    mcp_server_resource_updated(srv, "file:///readme");
    CHECK_INT(nout, 0);
    mcp_conn_close(c);
}

TEST(subscriptions_modern)
{
    mcp_conn *c = conn_with(MCP_CONN_STDIO, NULL);
    CHECK_INT(feed(c, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"subscriptions/listen\","
                      "\"params\":{\"notifications\":{\"toolsListChanged\":true,"
                      "\"resourceSubscriptions\":[\"file:///readme\"]}," META "}}"),
              1);
    CHECK_INT(nout, 1);
    CHECK_STR(jstr(last(), "method"), "notifications/subscriptions/acknowledged");
    CHECK_INT(jint(last(), "params._meta.io.modelcontextprotocol/subscriptionId"), 7);
    CHECK(jpath(last(), "params.notifications.toolsListChanged"));
    CHECK(!jpath(last(), "params.notifications.promptsListChanged"));
    CHECK_STR(jstr(last(), "params.notifications.resourceSubscriptions.0"), "file:///readme");
    rec_clear();
    mcp_server_resource_updated(srv, "file:///readme");
    CHECK_INT(nout, 1);
    CHECK_INT(jint(last(), "params._meta.io.modelcontextprotocol/subscriptionId"), 7);
    CHECK_STR(jstr(last(), "params.uri"), "file:///readme");
    CHECK(outs[0].tag == (void *)0x7a);
    rec_clear();
    mcp_tool_def d = {.name = "tmp", .handler = h_echo};
    CHECK_INT(mcp_server_add_tool(srv, &d, NULL, 0), 0);
    CHECK_INT(nout, 1);
    CHECK_STR(jstr(last(), "method"), "notifications/tools/list_changed");
    CHECK_INT(jint(last(), "params._meta.io.modelcontextprotocol/subscriptionId"), 7);
    CHECK_INT(mcp_server_remove_tool(srv, "tmp"), 0);
    CHECK_INT(nout, 2);
    rec_clear();
    mcp_prompt_def p = {.name = "tmp", .handler = h_prompt};
    mcp_server_add_prompt(srv, &p, NULL, 0);
    CHECK_INT(nout, 0); /* not asked for */
    mcp_server_remove_prompt(srv, "tmp");
    mcp_conn_shutdown(c);
    CHECK_INT(nout, 1);
    CHECK_INT(jint(last(), "id"), 7);
    CHECK_STR(jstr(last(), "result.resultType"), "complete");
    CHECK(jstr(last(), "result._meta.io.modelcontextprotocol/serverInfo.name") != NULL);
    CHECK(outs[0].final);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"subscriptions/listen\","
            "\"params\":{\"notifications\":{\"toolsListChanged\":true}," META "}}");
    feed(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
            "\"requestId\":8}}");
    rec_clear();
    mcp_server_add_tool(srv, &d, NULL, 0);
    mcp_server_remove_tool(srv, "tmp");
    CHECK_INT(nout, 0);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"subscriptions/listen\",\"params\":{" META
            "}}");
    CHECK_CODE(last(), -32602);
    mcp_conn_close(c);
}

TEST(list_changed_legacy)
{
    mcp_conn *c = legacy_session("2025-11-25", "{}");
    mcp_conn *fresh = mcp_conn_new(srv, &(mcp_conn_options){.sink = {rec_send, NULL}});
    rec_clear();
    mcp_tool_def d = {.name = "tmp2", .handler = h_echo};
    mcp_server_add_tool(srv, &d, NULL, 0);
    CHECK_INT(nout, 1); /* the uninitialized conn gets nothing */
    CHECK_STR(jstr(last(), "method"), "notifications/tools/list_changed");
    CHECK(!jpath(last(), "params"));
    mcp_server_remove_tool(srv, "tmp2");
    CHECK_INT(nout, 2);
    CHECK_INT(mcp_server_remove_tool(srv, "tmp2"), MCP_ENOENT);
    mcp_resource_def r = {.uri = "file:///x", .name = "x", .size = -1, .handler = h_resource};
    mcp_server_add_resource(srv, &r, NULL, 0);
    CHECK_STR(jstr(last(), "method"), "notifications/resources/list_changed");
    mcp_server_remove_resource(srv, "file:///x");
    rec_clear();
    mcp_server_list_changed(srv, MCP_LIST_PROMPTS); /* no registry change needed */
    CHECK_INT(nout, 1);
    CHECK_STR(jstr(last(), "method"), "notifications/prompts/list_changed");
    mcp_server_list_changed(srv, (mcp_list_kind)99); /* ignored */
    CHECK_INT(nout, 1);
    mcp_conn_close(fresh);
    mcp_conn_close(c);
}

TEST(registration_errors)
{
    char err[256];
    mcp_tool_def d = {.name = "bad name", .handler = h_echo};
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof(err)), MCP_EINVAL);
    CHECK_CONTAINS(err, "name");
    d.name = "echo";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof(err)), MCP_EEXIST);
    d.name = "x";
    d.input_schema = "{\"type\":";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof(err)), MCP_EINVAL);
    CHECK_CONTAINS(err, "input_schema");
    d.input_schema = "[]";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof(err)), MCP_EINVAL);
    d.input_schema = NULL;
    d.annotations = "[1]";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof(err)), MCP_EINVAL);
    CHECK_CONTAINS(err, "annotations");
    d.annotations = NULL;
    d.handler = NULL;
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof(err)), MCP_EINVAL);
    char longname[200];
    memset(longname, 'a', 129);
    longname[129] = 0;
    mcp_tool_def l = {.name = longname, .handler = h_echo};
    CHECK_INT(mcp_server_add_tool(srv, &l, err, sizeof(err)), MCP_EINVAL);
    mcp_resource_def r = {.uri = "relative/path", .name = "x", .handler = h_resource};
    CHECK_INT(mcp_server_add_resource(srv, &r, err, sizeof(err)), MCP_EINVAL);
    mcp_template_def t = {.uri_template = "file:///{+path}", .name = "x", .handler = h_resource};
    CHECK_INT(mcp_server_add_template(srv, &t, err, sizeof(err)), MCP_EINVAL);
    t.uri_template = "file:///{a}{b}";
    CHECK_INT(mcp_server_add_template(srv, &t, err, sizeof(err)), MCP_EINVAL);
    CHECK(mcp_server_new(&(mcp_server_info){.name = "x"}) == NULL);
    CHECK_INT(mcp_server_set_secret(srv, "short", 5), MCP_EINVAL);
}

/* ---- asking: modern ------------------------------------------------------------------------- */

#define CAPS_ELICIT "{\"elicitation\":{}}"

static void retry_msg(char *out, size_t size, const char *tool, const char *args, const char *state,
                      const char *answers)
{
    snprintf(out, size,
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s,\"requestState\":\"%s\",\"inputResponses\":%s," META_CAPS_(
                 CAPS_ELICIT) "}}",
             tool, args, state, answers);
}

TEST(mrtr_modern)
{
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, exec_sync);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\","
            "\"arguments\":{\"a\":1}," META_CAPS_(CAPS_ELICIT) "}}");
    CHECK_INT(nout, 1);
    CHECK_STR(jstr(last(), "result.resultType"), "input_required");
    CHECK_STR(jstr(last(), "result.inputRequests.who.method"), "elicitation/create");
    CHECK_STR(jstr(last(), "result.inputRequests.who.params.message"), "Name?");
    char state[4096], msg[8192];
    snprintf(state, sizeof(state), "%s", jstr(last(), "result.requestState"));
    const char *answers = "{\"who\":{\"action\":\"accept\",\"content\":{\"name\":\"Ada\"}}}";
    /* the round trip */
    rec_clear();
    retry_msg(msg, sizeof(msg), "ask", "{\"a\":1}", state, answers);
    feed(c, msg);
    CHECK_STR(jstr(last(), "result.content.0.text"), "hello Ada (state round1)");
    CHECK_STR(jstr(last(), "result.resultType"), "complete");
    /* one byte changed */
    char bad[4096];
    snprintf(bad, sizeof(bad), "%s", state);
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    rec_clear();
    retry_msg(msg, sizeof(msg), "ask", "{\"a\":1}", bad, answers);
    feed(c, msg);
    CHECK_CODE(last(), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "tampered");
    /* replayed on another tool */
    rec_clear();
    retry_msg(msg, sizeof(msg), "ask2", "{\"a\":1}", state, answers);
    feed(c, msg);
    CHECK_CODE(last(), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "issued for tools/call 'ask'");
    /* other arguments */
    rec_clear();
    retry_msg(msg, sizeof(msg), "ask", "{\"a\":2}", state, answers);
    feed(c, msg);
    CHECK_CODE(last(), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "arguments");
    /* expired */
    token_clock_skew_s = 3600;
    rec_clear();
    retry_msg(msg, sizeof(msg), "ask", "{\"a\":1}", state, answers);
    feed(c, msg);
    token_clock_skew_s = 0;
    CHECK_CODE(last(), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "expired");
    /* no capability declared: -32021 */
    rec_clear();
    feed(
        c,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\"," META
        "}}");
    CHECK_CODE(last(), -32021);
    CHECK(jpath(last(), "error.data.requiredCapabilities.elicitation"));
    CHECK_INT(outs[0].status, MCP_STATUS_BAD_REQUEST);
    mcp_conn_close(c);
}

/* requestState is bound to the principal that asked (mcp_server_set_principal_id names it). */
/* As if the HTTP transport had authenticated it as principal (a stdio conn: no header
 * checks). */
static int feed_as(mcp_conn *c, const char *msg, const void *principal)
{
    mcp_msg_info info = {.principal = principal};
    return mcp_conn_handle(c, msg, strlen(msg), &info, (void *)0x7a);
}

static size_t principal_name(void *ud, const void *principal, char *out, size_t size)
{
    (void)ud;
    size_t n = strlen(principal) < size ? strlen(principal) : size;
    memcpy(out, principal, n);
    return n;
}

TEST(mrtr_principal)
{
    static const char alice[] = "alice", bob[] = "bob";
    char alice2[] = "alice"; /* the same name at another address */
    const char *answers = "{\"who\":{\"action\":\"accept\",\"content\":{\"name\":\"Ada\"}}}";
    const char *first = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"ask\",\"arguments\":{}," META_CAPS_(CAPS_ELICIT) "}}";
    char state[4096], nobody[4096], msg[8192];
    mcp_conn *c = conn_with(MCP_CONN_STDIO, exec_sync);
    feed_as(c, first, alice);
    snprintf(state, sizeof(state), "%s", jstr(last(), "result.requestState"));
    feed_as(c, first, NULL);
    snprintf(nobody, sizeof(nobody), "%s", jstr(last(), "result.requestState"));
    retry_msg(msg, sizeof(msg), "ask", "{}", state, answers);
    const void *refused[] = {bob, NULL, alice2}; /* by pointer: another address is another one */
    for (size_t i = 0; i < 3; i++) {
        rec_clear();
        feed_as(c, msg, refused[i]);
        CHECK_CODE(last(), -32602);
        CHECK_STR(jstr(last(), "error.message"),
                  "invalid params: invalid requestState: it was issued to another principal");
    }
    rec_clear();
    feed_as(c, msg, alice);
    CHECK_STR(jstr(last(), "result.content.0.text"), "hello Ada (state round1)");
    /* minted for nobody: refused to a principal, accepted from nobody */
    retry_msg(msg, sizeof(msg), "ask", "{}", nobody, answers);
    rec_clear();
    feed_as(c, msg, alice);
    CHECK_CONTAINS(jstr(last(), "error.message"), "another principal");
    rec_clear();
    feed_as(c, msg, NULL);
    CHECK_STR(jstr(last(), "result.content.0.text"), "hello Ada (state round1)");
    /* named by the program: the name decides, not the address */
    mcp_server_set_principal_id(srv, principal_name, NULL);
    rec_clear();
    feed_as(c, first, alice);
    snprintf(state, sizeof(state), "%s", jstr(last(), "result.requestState"));
    retry_msg(msg, sizeof(msg), "ask", "{}", state, answers);
    rec_clear();
    feed_as(c, msg, bob);
    CHECK_CONTAINS(jstr(last(), "error.message"), "another principal");
    rec_clear();
    feed_as(c, msg, alice2);
    CHECK_STR(jstr(last(), "result.content.0.text"), "hello Ada (state round1)");
    mcp_server_set_principal_id(srv, NULL, NULL);
    mcp_conn_close(c);
}

/* The item filter hides tools, resources, templates and prompts per principal, and a hidden
 * item is answered exactly as a missing one. */
static bool only_public(void *ud, const void *principal, mcp_item_kind kind, const char *key)
{
    (void)ud;
    if (!principal) return true;
    switch (kind) {
    case MCP_ITEM_TOOL:
        return strcmp(key, "echo") == 0;
    case MCP_ITEM_RESOURCE:
    case MCP_ITEM_TEMPLATE:
        return strncmp(key, "file:///logs/", 13) == 0;
    case MCP_ITEM_PROMPT:
        return false;
    }
    return false;
}

#define REQ(id, m, params)                                                                         \
    "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"" m "\",\"params\":{" params "}}"

TEST(item_filter)
{
    static const char eve[] = "eve";
    mcp_server_set_item_filter(srv, only_public, NULL);
    mcp_conn *c = conn_with(MCP_CONN_STDIO, exec_sync);
    feed_as(c, REQ(1, "tools/list", META), eve);
    CHECK_STR(jstr(last(), "result.tools.0.name"), "echo");
    CHECK(!jpath(last(), "result.tools.1"));
    CHECK_STR(jstr(last(), "result.cacheScope"), "private");
    rec_clear();
    feed_as(c, REQ(2, "resources/list", META), eve);
    CHECK(jpath(last(), "result.resources") && !jpath(last(), "result.resources.0"));
    rec_clear();
    feed_as(c, REQ(3, "resources/templates/list", META), eve);
    CHECK_STR(jstr(last(), "result.resourceTemplates.0.name"), "logs");
    rec_clear();
    feed_as(c, REQ(4, "prompts/list", META), eve);
    CHECK(jpath(last(), "result.prompts") && !jpath(last(), "result.prompts.0"));
    /* hidden = missing: the same error for a hidden resource and one that does not exist */
    const char *reads[] = {REQ(5, "resources/read", "\"uri\":\"file:///readme\"," META),
                           REQ(5, "resources/read", "\"uri\":\"file:///nope\"," META)};
    for (size_t i = 0; i < 2; i++) {
        rec_clear();
        feed_as(c, reads[i], eve);
        CHECK_CODE(last(), -32602);
        CHECK_STR(jstr(last(), "error.message"), "Resource not found");
    }
    rec_clear();
    feed_as(c, REQ(6, "resources/read", "\"uri\":\"file:///logs/a.txt\"," META), eve);
    CHECK(jpath(last(), "result.contents"));
    rec_clear();
    feed_as(c, REQ(7, "prompts/get", "\"name\":\"greet\",\"arguments\":{\"who\":\"x\"}," META),
            eve);
    CHECK_CODE(last(), -32602);
    CHECK_STR(jstr(last(), "error.message"), "Unknown prompt: greet");
    rec_clear();
    feed_as(c,
            REQ(8, "completion/complete",
                "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"greet\"},"
                "\"argument\":{\"name\":\"who\",\"value\":\"\"}," META),
            eve);
    CHECK_STR(jstr(last(), "error.message"), "Unknown prompt: greet");
    rec_clear();
    feed_as(c, REQ(9, "tools/call", "\"name\":\"ask\"," META), eve);
    CHECK_CONTAINS(jstr(last(), "error.message"), "Unknown tool: ask");
    /* modern listen acknowledges only what the principal may see */
    rec_clear();
    feed_as(c,
            REQ(10, "subscriptions/listen",
                "\"notifications\":{\"resourceSubscriptions\":"
                "[\"file:///readme\",\"file:///logs/a.txt\"]}," META),
            eve);
    CHECK_STR(jstr(last(), "params.notifications.resourceSubscriptions.0"), "file:///logs/a.txt");
    CHECK(!jpath(last(), "params.notifications.resourceSubscriptions.1"));
    mcp_conn_close(c);
    /* legacy subscribe to a hidden resource: not found; without a principal all is visible */
    c = legacy_session("2025-11-25", "{}");
    rec_clear();
    feed_as(c, REQ(11, "resources/subscribe", "\"uri\":\"file:///readme\""), eve);
    CHECK_CODE(last(), -32002);
    rec_clear();
    feed_as(c, REQ(12, "resources/subscribe", "\"uri\":\"file:///readme\""), NULL);
    CHECK(jpath(last(), "result"));
    rec_clear();
    feed_as(c, REQ(13, "prompts/list", ""), NULL);
    CHECK_STR(jstr(last(), "result.prompts.0.name"), "greet");
    mcp_conn_close(c);
    mcp_server_set_item_filter(srv, NULL, NULL);
}

/* ---- asking: legacy ------------------------------------------------------------------------- */

TEST(ask_legacy)
{
    mcp_conn *c = legacy_session("2025-11-25", CAPS_ELICIT);
    rec_clear();
    CHECK_INT(feed(c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{"
                      "\"name\":\"ask\"}}"),
              1);
    CHECK_INT(nout, 1);
    CHECK(outs[0].kind == MCP_OUT_REQUEST && outs[0].tag == (void *)0x7a && !outs[0].final);
    CHECK_STR(jstr(last(), "method"), "elicitation/create");
    int64_t id = jint(last(), "id");
    CHECK_INT(mcp_conn_inflight(c), 1);
    char msg[512];
    snprintf(msg, sizeof(msg),
             "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"action\":"
             "\"accept\",\"content\":{\"name\":\"Bob\"}}}",
             (long long)id);
    rec_clear();
    CHECK_INT(feed(c, msg), 0);
    CHECK_INT(nout, 1);
    CHECK_INT(jint(last(), "id"), 5);
    CHECK_STR(jstr(last(), "result.content.0.text"), "hello Bob (state round1)");
    CHECK_INT(mcp_conn_inflight(c), 0);
    /* a response nobody waits for is ignored */
    rec_clear();
    CHECK_INT(feed(c, msg), 0);
    CHECK_INT(nout, 0);
    /* the client answers with an error */
    feed(c,
         "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\"}}");
    id = jint(last(), "id");
    snprintf(msg, sizeof(msg),
             "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-1,"
             "\"message\":\"user declined\"}}",
             (long long)id);
    rec_clear();
    feed(c, msg);
    CHECK(jpath(last(), "result.isError"));
    CHECK_CONTAINS(jstr(last(), "result.content.0.text"), "user declined");
    /* the client never answers */
    rec_clear();
    feed(c,
         "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\"}}");
    mcp_conn_tick(c, 1000);
    CHECK_INT(nout, 1);
    mcp_conn_tick(c, 1000 + 59999);
    CHECK_INT(nout, 1);
    mcp_conn_tick(c, 1000 + 60000);
    CHECK_INT(nout, 2);
    CHECK_INT(jint(last(), "id"), 7);
    CHECK_CONTAINS(jstr(last(), "result.content.0.text"), "within 60000 ms");
    /* closed while waiting: freed, nothing sent */
    feed(c,
         "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\"}}");
    mcp_conn_close(c);
    c = legacy_session("2025-11-25", "{}");
    rec_clear();
    feed(c,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\"}}");
    CHECK_CODE(last(), -32603);
    CHECK_CONTAINS(jstr(last(), "error.message"), "elicitation");
    mcp_conn_close(c);
}

/* Waiting server-to-client requests are bounded per session: past 64 the call fails with
 * -32000 (HTTP 503), nothing more is sent to the client; closing frees every waiting one. */
TEST(ask_legacy_bounded)
{
    uint64_t pending, refused0, refused;
    mcp_server_client_requests(srv, &pending, &refused0);
    CHECK_INT(pending, 0);
    mcp_conn *c = legacy_session("2025-11-25", CAPS_ELICIT);
    char msg[256];
    for (int i = 1; i <= 64; i++) {
        snprintf(msg, sizeof(msg),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
                 "\"name\":\"ask\"}}",
                 i);
        feed(c, msg);
    }
    mcp_server_client_requests(srv, &pending, &refused);
    CHECK_INT(pending, 64);
    CHECK_INT(mcp_conn_inflight(c), 64);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":65,\"method\":\"tools/call\",\"params\":{"
            "\"name\":\"ask\"}}");
    CHECK_INT(nout, 1);
    CHECK_INT(jint(last(), "id"), 65);
    CHECK_CODE(last(), -32000);
    CHECK_CONTAINS(jstr(last(), "error.message"), "awaiting an answer");
    CHECK_INT(outs[0].status, MCP_STATUS_OVERLOADED);
    mcp_server_client_requests(srv, &pending, &refused);
    CHECK_INT(pending, 64);
    CHECK_INT(refused, refused0 + 1);
    mcp_conn_close(c);
    mcp_server_client_requests(srv, &pending, &refused);
    CHECK_INT(pending, 0);
}

/* ---- executors ------------------------------------------------------------------------------ */

TEST(overloaded)
{
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, exec_full);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/"
            "call\",\"params\":{\"name\":\"slow\"," META "}}");
    CHECK_CODE(last(), -32000);
    CHECK_INT(outs[0].status, MCP_STATUS_OVERLOADED);
    CHECK_CONTAINS(jstr(last(), "error.message"), "overloaded");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/"
            "call\",\"params\":{\"name\":\"echo\"," META "}}");
    CHECK_STR(jstr(last(), "result.content.0.text"), "hi"); /* inline needs no executor */
    mcp_conn_close(c);
}

/* An inline handler hands a call to the pool only when it asks; the pool's run starts afresh. */
TEST(inline_defer)
{
    add_tool("defer", NULL, NULL, h_defer, MCP_INLINE);
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, exec_thread);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"defer\"," META "}}");
    CHECK_INT(nthreads, 0);
    CHECK_STR(jstr(last(), "result.content.0.text"), "inline");
    rec_clear();
    deferred_runs = 0;
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"defer\",\"arguments\":{\"defer\":true}," META "}}");
    join_threads();
    CHECK_INT(deferred_runs, 1);
    CHECK_INT(rec_count(), 1);
    CHECK_STR(jstr(last(), "result.content.0.text"), "pool");
    CHECK(jpath(last(), "result.content.1") == NULL); /* what the inline try added is gone */
    mcp_conn_close(c);
    /* the pool's queue is full: the deferred call is answered "overloaded" */
    c = conn_with(MCP_CONN_HTTP_MODERN, exec_full);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"defer\",\"arguments\":{\"defer\":true}," META "}}");
    CHECK_INT(rec_count(), 1);
    CHECK_INT(outs[0].status, MCP_STATUS_OVERLOADED);
    mcp_conn_close(c);
    /* no pool at all: not inline (nothing to defer to), the handler just runs */
    c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    deferred_runs = 0;
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"defer\",\"arguments\":{\"defer\":true}," META "}}");
    CHECK_INT(deferred_runs, 1);
    CHECK_STR(jstr(last(), "result.content.0.text"), "pool");
    mcp_conn_close(c);
    mcp_server_remove_tool(srv, "defer");
}

/* MCP_OUTPUT_TRUSTED: copied unparsed, but checked in sanitizer builds. */
TEST(trusted_output)
{
    add_tool("trusted", NULL,
             "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":"
             "[\"n\"]}",
             h_trusted, MCP_INLINE | MCP_OUTPUT_TRUSTED);
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"trusted\"," META "}}");
    CHECK_INT(jint(last(), "result.structuredContent.n"), 3);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"trusted\",\"arguments\":{\"mode\":\"array\"}," META "}}");
    CHECK_CODE(last(), -32603); /* not an object: refused in every build */
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"trusted\",\"arguments\":{\"mode\":\"bad\"}," META "}}");
#if MCP_CHECK_TRUSTED_OUTPUT
    CHECK_CODE(last(), -32603); /* checked: a broken promise fails the tests */
#else
    CHECK_STR(jstr(last(), "result.structuredContent.n"), "x"); /* taken at its word */
#endif
    mcp_conn_close(c);
    mcp_server_remove_tool(srv, "trusted");
}

static void *finish_later(void *p)
{
    mcp_ctx *ctx = p;
    mcp_ctx_text(ctx, "from a thread");
    mcp_ctx_finish(ctx);
    return NULL;
}

TEST(threads)
{
    mcp_conn *c = conn_with(MCP_CONN_STDIO, exec_thread);
    for (int i = 0; i < 8; i++) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"slow\",\"arguments\":{\"text\":\"t%d\"}," META "}}",
                 i, i);
        feed(c, msg);
    }
    join_threads();
    CHECK_INT(rec_count(), 8);
    /* finish from a thread the handler did not run on */
    rec_clear();
    parked = NULL;
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":\"t\",\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"park\"," META "}}");
    join_threads();
    pthread_t t;
    pthread_create(&t, NULL, finish_later, parked);
    pthread_join(t, NULL);
    CHECK_INT(rec_count(), 1);
    CHECK_STR(jstr(last(), "result.content.0.text"), "from a thread");
    mcp_conn_close(c);
}

/* ---- results -------------------------------------------------------------------------------- */

TEST(tool_results)
{
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"struct\"," META "}}");
    CHECK_INT(jint(last(), "result.structuredContent.n"), 3);
    CHECK_STR(jstr(last(), "result.content.0.text"), "{\"n\":3}");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"struct\",\"arguments\":{\"mode\":\"bad\"}," META "}}");
    CHECK_CODE(last(), -32603);
    CHECK_CONTAINS(jstr(last(), "error.message"), "output schema");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"struct\",\"arguments\":{\"mode\":\"none\"}," META "}}");
    CHECK_CODE(last(), -32603);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"fail\"," META "}}");
    CHECK(jpath(last(), "result.isError"));
    CHECK_STR(jstr(last(), "result.content.0.text"), "backend down: 503");
    CHECK(!jpath(last(), "result.content.1"));
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"nope\"," META "}}");
    CHECK_CODE(last(), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "Unknown tool: nope");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"count\",\"arguments\":{\"count\":\"7\"}," META "}}");
    CHECK(jpath(last(), "result.isError"));
    CHECK_CONTAINS(jstr(last(), "result.content.0.text"), "invalid arguments: /count");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"echo\",\"arguments\":[1]," META "}}");
    CHECK_CODE(last(), -32602);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"content\"," META "}}");
    CHECK_STR(jstr(last(), "result.content.1.type"), "image");
    CHECK_STR(jstr(last(), "result.content.1.data"), "iVBORw==");
    CHECK_STR(jstr(last(), "result.content.2.type"), "audio");
    CHECK_STR(jstr(last(), "result.content.3.type"), "resource_link");
    CHECK_STR(jstr(last(), "result.content.4.resource.text"), "bee");
    CHECK_STR(jstr(last(), "result.content.5.resource.blob"), "AQI=");
    CHECK_STR(jstr(last(), "result.content.6.text"), "raw");
    mcp_conn_close(c);
}

TEST(resources)
{
    mcp_conn *c = legacy_session("2025-11-25", "{}");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"file:///readme\"}}");
    CHECK_STR(jstr(last(), "result.contents.0.text"), "content of file:///readme");
    CHECK_STR(jstr(last(), "result.contents.0.uri"), "file:///readme");
    CHECK_STR(jstr(last(), "result.contents.0.mimeType"), "text/plain");
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"file:///logs/a%20b.txt\"}}");
    CHECK_STR(jstr(last(), "result.contents.0.text"), "content of file:///logs/a%20b.txt name=a b");
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"file:///logs/x/y.txt\"}}");
    CHECK_CODE(last(), -32002);
    CHECK_STR(jstr(last(), "error.data.uri"), "file:///logs/x/y.txt");
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/list\"}");
    CHECK_STR(jstr(last(), "result.resources.0.uri"), "file:///readme");
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/templates/list\"}");
    CHECK_STR(jstr(last(), "result.resourceTemplates.0.uriTemplate"), "file:///logs/{name}.txt");
    mcp_conn_close(c);
    c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"file:///missing\"," META "}}");
    CHECK_CODE(last(), -32602);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"file:///readme\"," META "}}");
    CHECK_STR(jstr(last(), "result.cacheScope"), "private");
    CHECK_INT(jint(last(), "result.ttlMs"), 0);
    mcp_conn_close(c);
}

TEST(prompts)
{
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":{\"name\":"
            "\"greet\",\"arguments\":{\"who\":\"Ann\"}," META "}}");
    CHECK_STR(jstr(last(), "result.description"), "a greeting");
    CHECK_STR(jstr(last(), "result.messages.0.role"), "user");
    CHECK_STR(jstr(last(), "result.messages.0.content.text"), "greet Ann");
    CHECK_STR(jstr(last(), "result.messages.1.role"), "assistant");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":{\"name\":"
            "\"greet\",\"arguments\":{\"tone\":\"x\"}," META "}}");
    CHECK_CODE(last(), -32602);
    CHECK_CONTAINS(jstr(last(), "error.message"), "'who'");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":{\"name\":"
            "\"zzz\"," META "}}");
    CHECK_CODE(last(), -32602);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\",\"params\":{" META "}}");
    CHECK_STR(jstr(last(), "result.prompts.0.arguments.0.name"), "who");
    mcp_conn_close(c);
}

TEST(completion)
{
    mcp_conn *c = conn_with(MCP_CONN_HTTP_MODERN, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{\"ref\":"
            "{\"type\":\"ref/prompt\",\"name\":\"greet\"},\"argument\":{\"name\":\"who\","
            "\"value\":\"v\"}," META "}}");
    CHECK_INT(jpath(last(), "result.completion.values")->len, 100);
    CHECK_INT(jint(last(), "result.completion.total"), 150);
    CHECK(jpath(last(), "result.completion.hasMore")->b);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{\"ref\":"
            "{\"type\":\"ref/resource\",\"uri\":\"file:///logs/{name}.txt\"},\"argument\":{"
            "\"name\":\"name\",\"value\":\"v\"}," META "}}");
    CHECK_STR(jstr(last(), "result.completion.values.0"), "v0");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{\"ref\":"
            "{\"type\":\"ref/prompt\",\"name\":\"nope\"},\"argument\":{\"name\":\"who\","
            "\"value\":\"v\"}," META "}}");
    CHECK_CODE(last(), -32602);
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{\"ref\":"
            "{\"type\":\"ref/prompt\",\"name\":\"greet\"}," META "}}");
    CHECK_CODE(last(), -32602);
    mcp_conn_close(c);
}

TEST(discover_and_stdio_eras)
{
    mcp_conn *c = conn_with(MCP_CONN_STDIO, NULL);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{" META "}}");
    CHECK_STR(jstr(last(), "result.supportedVersions.0"), "2026-07-28");
    CHECK(jpath(last(), "result.capabilities.tools"));
    CHECK_STR(jstr(last(), "result.cacheScope"), "public");
    CHECK_STR(jstr(last(), "result.instructions"), "be nice");
    /* the same stdio conn then opens a legacy session */
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{"
            "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{}}}");
    CHECK_STR(jstr(last(), "result.protocolVersion"), "2025-06-18");
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"echo\"," META "}}");
    CHECK_STR(jstr(last(), "result.resultType"), "complete");
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"echo\"}}");
    CHECK(!jpath(last(), "result.resultType"));
    mcp_conn_close(c);
}

TEST(batches)
{
    mcp_conn *c = legacy_session("2025-03-26", "{}");
    rec_clear();
    CHECK_INT(feed(c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
                      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"},"
                      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}]"),
              2);
    CHECK_INT(nout, 2);
    CHECK_INT(jint(out_at(0), "id"), 1);
    CHECK_INT(jint(out_at(1), "id"), 2);
    rec_clear();
    CHECK_INT(feed(c, "[]"), 1);
    CHECK_CODE(last(), -32600);
    mcp_conn_close(c);
    c = legacy_session("2025-06-18", "{}");
    rec_clear();
    CHECK_INT(feed(c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]"), 1);
    CHECK_CODE(last(), -32600);
    CHECK_CONTAINS(jstr(last(), "error.message"), "batch");
    mcp_conn_close(c);
}

/* The one method table: every feature's methods, found by exact name, with their eras. */
TEST(feature_method_table)
{
    const feature *f = NULL;
    const feature_method *m = feature_find_method("tools/call", 10, &f);
    CHECK(m != NULL);
    CHECK_STR(f->name, "core");
    CHECK_INT(m->id, M_TOOLS_CALL);
    CHECK_STR(m->name_param, "name");
    m = feature_find_method("tasks/update", 12, &f);
    CHECK(m != NULL);
    CHECK_STR(f->name, "tasks");
    CHECK_INT(m->id, M_EXT);
    CHECK_INT(m->eras, ERAS_MODERN);
    m = feature_find_method("resources/directory/read", 24, &f);
    CHECK(m != NULL);
    CHECK_STR(f->name, "skills");
    m = feature_find_method("notifications/cancelled", 23, NULL);
    CHECK(m != NULL && m->fn == NULL);
    CHECK(feature_find_method("tools/cal", 9, NULL) == NULL);
    CHECK(feature_find_method("tools/call ", 11, NULL) == NULL);
    CHECK(feature_find_method("", 0, NULL) == NULL);
}

int main(void)
{
    setup_server();
    RUN(feature_method_table);
    RUN(modern_tools_list_and_call);
    RUN(big_text_echo);
    RUN(legacy_tools_list_and_call);
    RUN(version_negotiation);
    RUN(before_initialize);
    RUN(ids);
    RUN(unknown_methods);
    RUN(modern_meta_errors);
    RUN(header_checks);
    RUN(ask_legacy_bounded);
    RUN(param_headers);
    RUN(pagination);
    RUN(cancellation);
    RUN(progress);
    RUN(logging);
    RUN(subscriptions_legacy);
    RUN(subscriptions_modern);
    RUN(list_changed_legacy);
    RUN(registration_errors);
    RUN(mrtr_modern);
    RUN(mrtr_principal);
    RUN(item_filter);
    RUN(ask_legacy);
    RUN(overloaded);
    RUN(threads);
    RUN(inline_defer);
    RUN(trusted_output);
    RUN(tool_results);
    RUN(resources);
    RUN(prompts);
    RUN(completion);
    RUN(discover_and_stdio_eras);
    RUN(batches);
    rec_clear();
    mcp_server_free(srv);
    return test_summary();
}
