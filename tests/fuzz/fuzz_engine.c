/* fuzz_engine.c - libFuzzer target for the protocol engine.
 *
 * The input is a sequence of JSON-RPC messages separated by newlines, fed in order to one
 * conn (stdio mode: both eras) of a server with a few tools (two of them run as tasks), a
 * resource, a template and a prompt; the first byte picks the conn mode. Handlers run inline; one
 * of them asks the client, so client responses in the input exercise correlation; ticks expire the
 * rest. Each message goes through mcp_conn_handle, the entry every transport uses, with transport
 * information picked by its length: none (stdio), a modern MCP-Protocol-Version header alone or
 * with Mcp-Method/Mcp-Name/Mcp-Param-* headers (which must agree with the body), a legacy
 * version header, or an admission limited to initialize (legacy HTTP before its session),
 * whose refusal must hand back the message's id as JSON. Batches (JSON arrays) are messages
 * like any other. Now and then a tag is cancelled, as when an HTTP client goes away.
 * Outputs go to a sink that checks each one parses as JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json/json.h"
#include "mcp/engine.h"

static mcp_server *srv;

static void sink(void *ud, const mcp_out *o)
{
    (void)ud;
    char stack[1 << 14];
    mcp_arena a;
    mcp_arena_init(&a, stack, sizeof(stack));
    if (!json_parse(o->data, o->len, &a, NULL, NULL)) abort(); /* the engine wrote bad JSON */
    mcp_arena_free(&a);
}

static void h_echo(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *t = mcp_ctx_arg_str(c, "text");
    mcp_ctx_text(c, t ? t : "");
    mcp_ctx_progress(c, 1, 2, "half");
    mcp_ctx_log(c, MCP_LOG_ERROR, "fuzz", "log");
    mcp_ctx_finish(c);
}

static void h_ask(mcp_ctx *c, void *ud)
{
    (void)ud;
    if (!mcp_ctx_input(c, "k")) {
        mcp_ctx_set_state(c, "s", 1);
        if (mcp_ctx_elicit(c, "k", "{\"message\":\"m\",\"requestedSchema\":{\"type\":\"object\"}}"))
            mcp_ctx_list_roots(c, "k");
        mcp_ctx_ask(c);
        return;
    }
    mcp_ctx_structured(c, "{\"ok\":true}");
    mcp_ctx_finish(c);
}

static void h_complete(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_complete_value(c, "a");
    mcp_ctx_finish(c);
}

static void setup(void)
{
    mcp_server_info info = {.name = "fuzz", .version = "1"};
    srv = mcp_server_new(&info);
    mcp_server_set_page_size(srv, 1);
    /* the task store outlives each input's conn: keep it small */
    mcp_server_set_task_limits(srv, &(mcp_task_limits){.max_tasks = 64});
    mcp_tool_def t1 = {.name = "echo",
                       .input_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
                                       "\"string\"}}}",
                       .handler = h_echo,
                       .flags = MCP_INLINE};
    mcp_tool_def t2 = {.name = "ask", .handler = h_ask, .flags = MCP_INLINE};
    /* tools that run as tasks (tasks/get, list, cancel, result; both eras) */
    mcp_tool_def t3 = {.name = "job", .handler = h_echo, .flags = MCP_INLINE | MCP_TASK_OPTIONAL};
    mcp_tool_def t4 = {.name = "must", .handler = h_ask, .flags = MCP_INLINE | MCP_TASK_REQUIRED};
    mcp_server_add_tool(srv, &t1, NULL, 0);
    mcp_server_add_tool(srv, &t2, NULL, 0);
    mcp_server_add_tool(srv, &t3, NULL, 0);
    mcp_server_add_tool(srv, &t4, NULL, 0);
    mcp_resource_def r = {
        .uri = "file:///a", .name = "a", .size = -1, .handler = h_echo, .flags = MCP_INLINE};
    mcp_server_add_resource(srv, &r, NULL, 0);
    mcp_template_def tp = {.uri_template = "file:///t/{x}",
                           .name = "t",
                           .handler = h_echo,
                           .complete = h_complete,
                           .flags = MCP_INLINE};
    mcp_server_add_template(srv, &tp, NULL, 0);
    static const mcp_prompt_arg args[] = {{.name = "x", .required = true}};
    mcp_prompt_def p = {.name = "p",
                        .args = args,
                        .nargs = 1,
                        .handler = h_echo,
                        .complete = h_complete,
                        .flags = MCP_INLINE};
    mcp_server_add_prompt(srv, &p, NULL, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *get_header(const void *hctx, const char *name)
{
    (void)hctx;
    return strncasecmp(name, "mcp-param-", 10) ? NULL : "v";
}

/* Hands one message to the conn with transport information picked by its length. */
static void handle(mcp_conn *c, const char *p, size_t n)
{
    mcp_msg_names names;
    mcp_msg_info info = {.protocol_version_header = "2026-07-28", .names = &names};
    void *tag = (void *)(uintptr_t)(1 + n % 3);
    switch (n % 6) {
    case 0: /* stdio: no headers */
        mcp_conn_handle(c, p, n, NULL, tag);
        return;
    case 2:
        info.method_header = "tools/call";
        info.name_header = "echo";
        info.get_header = get_header;
        break;
    case 3:
        info.protocol_version_header = "2025-11-25";
        break;
    case 4:
        info.protocol_version_header = n & 8 ? "2025-06-18" : NULL;
        info.admit = MCP_ADMIT_INITIALIZE;
        break;
    case 5:
        mcp_conn_cancel_tag(c, (void *)(uintptr_t)(1 + (n / 6) % 3));
        break;
    default:
        break;
    }
    int rc = mcp_conn_handle(c, p, n, &info, tag);
    if (rc == MCP_NOT_ADMITTED) {
        char stack[512];
        mcp_arena a;
        mcp_arena_init(&a, stack, sizeof stack);
        const json_value *id = json_parse(info.id, strlen(info.id), &a, NULL, NULL);
        if (!id || (id->type != JSON_NULL && id->type != JSON_INT && id->type != JSON_DOUBLE &&
                    id->type != JSON_STRING))
            abort(); /* the id handed back for the transport's refusal is not an id */
        mcp_arena_free(&a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) setup();
    if (!size) return 0;
    mcp_conn_options o = {.mode = (mcp_conn_mode)(data[0] % 3), .sink = {sink, NULL}};
    mcp_conn *c = mcp_conn_new(srv, &o);
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    uint64_t now = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        handle(c, p, n);
        mcp_conn_tick(c, now += 30000);
        p += n + 1;
    }
    mcp_conn_shutdown(c);
    mcp_conn_close(c);
    return 0;
}
