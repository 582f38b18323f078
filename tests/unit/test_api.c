/* test_api.c - the public API of include/mcp/mcp.h that is not a protocol feature: version and
 * error names, the sized entry points (older and newer callers' struct sizes), setters that
 * refuse out-of-range values, registration checks (object schemas, compact params, resource
 * size), typed argument getters, the completion argument, structured content from a writer,
 * not-found answers in both eras, and handler mistakes answered -32603. Driven through the
 * engine with a recording sink, like test_engine. */
#include "test.h"

#include <stddef.h>

#include "mcp/engine.h"
#include "mcp/internal.h"

#include "jpath.h"
#include "recorder.h"

#define CHECK_CODE(msg, code) CHECK_INT(jint((msg), "error.code"), (code))
#define META                                                                                       \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":{}}"

static mcp_server *srv;

static const char *last(void)
{
    return nout ? outs[nout - 1].data : NULL;
}

static int feed(mcp_conn *c, const char *msg)
{
    return mcp_conn_handle(c, msg, strlen(msg), NULL, NULL);
}

static mcp_conn *modern(void)
{
    mcp_conn_options o = {.mode = MCP_CONN_HTTP_MODERN, .sink = {rec_send, NULL}};
    rec_clear();
    return mcp_conn_new(srv, &o);
}

static mcp_conn *legacy(void)
{
    mcp_conn_options o = {.mode = MCP_CONN_STDIO, .sink = {rec_send, NULL}};
    mcp_conn *c = mcp_conn_new(srv, &o);
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
            "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":"
            "\"t\",\"version\":\"1\"}}}");
    feed(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    rec_clear();
    return c;
}

/* Sends tools/call name(args) on a modern conn and returns the answer (valid until the next
 * rec_clear). */
static const char *call(mcp_conn *c, const char *name, const char *args)
{
    char msg[1024];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s," META "}}",
             name, args);
    rec_clear();
    feed(c, msg);
    return last();
}

/* ---- handlers -------------------------------------------------------------------------------- */

/* Reads every kind of argument and answers with structured content built by a writer. */
static void h_typed(mcp_ctx *c, void *ud)
{
    (void)ud;
    CHECK(mcp_ctx_server(c) == srv);
    size_t n = 0;
    const char *city = mcp_ctx_arg_strn(c, "city", "nowhere", &n);
    mcp_jw *w = mcp_jw_new();
    mcp_jw_object(w);
    mcp_jw_key(w, "city");
    mcp_jw_stringn(w, city, n);
    mcp_jw_key(w, "days");
    mcp_jw_int(w, mcp_ctx_arg_int(c, "days", 3));
    mcp_jw_key(w, "ratio");
    mcp_jw_double(w, mcp_ctx_arg_double(c, "ratio", 0.5));
    mcp_jw_key(w, "loud");
    mcp_jw_bool(w, mcp_ctx_arg_bool(c, "loud", false));
    mcp_jw_key(w, "ntags");
    mcp_jw_int(w, (int64_t)mcp_json_len(mcp_ctx_arg(c, "tags")));
    mcp_jw_key(w, "first");
    mcp_jw_string(w, mcp_json_str(mcp_json_at(mcp_ctx_arg(c, "tags"), 0), NULL));
    mcp_jw_key(w, "missing");
    mcp_jw_string(w, mcp_ctx_arg_str(c, "nope"));
    mcp_jw_object_end(w);
    CHECK_INT(mcp_ctx_structured_jw(c, w), 0);
    mcp_jw_free(w);
    mcp_ctx_finish(c);
}

static void h_mistake(mcp_ctx *c, void *ud)
{
    const char *kind = ud;
    if (!strcmp(kind, "structured"))
        CHECK_INT(mcp_ctx_structured(c, "{\"a\":"), MCP_EINVAL);
    else if (!strcmp(kind, "array"))
        CHECK_INT(mcp_ctx_structured(c, "[1]"), MCP_EINVAL);
    else if (!strcmp(kind, "content"))
        CHECK_INT(mcp_ctx_content_json(c, "[1]"), MCP_EINVAL);
    else if (!strcmp(kind, "null_text"))
        mcp_ctx_text(c, NULL);
    else if (!strcmp(kind, "role"))
        mcp_ctx_message(c, "robot");
    else if (!strcmp(kind, "writer")) {
        mcp_jw *w = mcp_jw_new();
        mcp_jw_object(w); /* never closed */
        CHECK_INT(mcp_ctx_structured_jw(c, w), MCP_EINVAL);
        mcp_jw_free(w);
    }
    mcp_ctx_text(c, "all good, really");
    if (!strcmp(kind, "tool_error"))
        mcp_ctx_tool_error(c, "x");
    else
        CHECK_INT(mcp_ctx_finish(c), MCP_EINVAL);
}

static void h_tool_error_after_mistake(mcp_ctx *c, void *ud)
{
    (void)ud;
    mcp_ctx_structured(c, "nope");
    mcp_ctx_tool_error(c, "this hides nothing");
}

static void h_not_found(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *id = mcp_ctx_arg_str(c, "id");
    if (id && !strcmp(id, "1")) {
        mcp_ctx_text(c, "one");
        mcp_ctx_finish(c);
        return;
    }
    if (ud)
        mcp_ctx_not_found(c, "no item %s", id ? id : "?");
    else
        mcp_ctx_not_found(c, NULL);
}

static void h_complete(mcp_ctx *c, void *ud)
{
    (void)ud;
    const char *value = NULL;
    const char *name = mcp_ctx_completing(c, &value);
    char v[200];
    snprintf(v, sizeof v, "%s=%s+%s", name ? name : "?", value ? value : "?",
             mcp_ctx_arg_strn(c, "owner", "-", NULL));
    mcp_ctx_complete_value(c, v);
    CHECK(mcp_ctx_arg(c, "ref") == NULL); /* completion reads context.arguments */
    mcp_ctx_finish(c);
}

static void h_text(mcp_ctx *c, void *ud)
{
    (void)ud;
    CHECK(mcp_ctx_completing(c, NULL) == NULL);
    mcp_ctx_text(c, "t");
    mcp_ctx_finish(c);
}

static void setup(void)
{
    char err[256] = "";
    srv = mcp_server_new_err(&(mcp_server_info){.name = "api", .version = "1"}, err, sizeof err);
    CHECK(srv);
    mcp_tool_def typed = {.name = "typed",
                          .params = "city: string 'City name', days?: integer(1..7) = 3\n"
                                    "ratio?: number(0..1); loud?: boolean = false, tags?: string[]",
                          .output_schema = "{\"type\":\"object\",\"required\":[\"days\"]}",
                          .handler = h_typed,
                          .flags = MCP_INLINE};
    CHECK_INT(mcp_server_add_tool(srv, &typed, err, sizeof err), 0);
    static const char *const kinds[] = {"structured", "array",     "content",
                                        "writer",     "null_text", "role"};
    for (size_t i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "mistake_%s", kinds[i]);
        mcp_tool_def d = {
            .name = name, .handler = h_mistake, .ud = (void *)kinds[i], .flags = MCP_INLINE};
        CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), 0);
    }
    mcp_tool_def te = {
        .name = "mistake_tool_error", .handler = h_tool_error_after_mistake, .flags = MCP_INLINE};
    CHECK_INT(mcp_server_add_tool(srv, &te, err, sizeof err), 0);
    mcp_tool_def nf = {.name = "lookup",
                       .params = "id: string",
                       .handler = h_not_found,
                       .ud = (void *)1,
                       .flags = MCP_INLINE};
    CHECK_INT(mcp_server_add_tool(srv, &nf, err, sizeof err), 0);
    mcp_template_def t = {.uri_template = "item:///{id}",
                          .name = "item",
                          .handler = h_not_found,
                          .ud = (void *)1,
                          .complete = h_complete,
                          .flags = MCP_INLINE};
    CHECK_INT(mcp_server_add_template(srv, &t, err, sizeof err), 0);
    mcp_prompt_arg pa[] = {{.name = "id"}, {.name = "owner"}};
    mcp_prompt_def p = {.name = "item",
                        .args = pa,
                        .nargs = 2,
                        .handler = h_not_found,
                        .ud = (void *)1,
                        .complete = h_complete,
                        .flags = MCP_INLINE};
    CHECK_INT(mcp_server_add_prompt(srv, &p, err, sizeof err), 0);
    mcp_resource_def r0 = {.uri = "res:///unknown", .name = "u", .handler = h_text};
    mcp_resource_def r1 = {.uri = "res:///empty", .name = "e", .has_size = true, .handler = h_text};
    mcp_resource_def r2 = {.uri = "res:///twelve", .name = "t", .size = 12, .handler = h_text};
    mcp_resource_def r3 = {.uri = "res:///old", .name = "o", .size = -1, .handler = h_text};
    CHECK_INT(mcp_server_add_resource(srv, &r0, err, sizeof err), 0);
    CHECK_INT(mcp_server_add_resource(srv, &r1, err, sizeof err), 0);
    CHECK_INT(mcp_server_add_resource(srv, &r2, err, sizeof err), 0);
    CHECK_INT(mcp_server_add_resource(srv, &r3, err, sizeof err), 0);
}

/* ---- tests ----------------------------------------------------------------------------------- */

TEST(version_and_errors)
{
    CHECK_STR(mcp_version(), MCP_VERSION_STRING);
    CHECK_STR(mcp_version(), MCP_VERSION); /* the build's project version */
    CHECK_INT(MCP_VERSION_NUMBER,
              MCP_VERSION_MAJOR * 10000 + MCP_VERSION_MINOR * 100 + MCP_VERSION_PATCH);
    CHECK_INT(MCP_EINVAL, -22);
    CHECK_INT(MCP_EEXIST, -17);
    CHECK_INT(MCP_ENOENT, -2);
    CHECK_STR(mcp_strerror(0), "success");
    CHECK_STR(mcp_strerror(MCP_EINVAL), "invalid argument");
    CHECK_STR(mcp_strerror(MCP_ERANGE), "out of range");
    CHECK_STR(mcp_strerror(MCP_ECANCELED), "cancelled");
    CHECK_STR(mcp_strerror(MCP_SERVE_ABANDONED), "timed out");
    CHECK_STR(mcp_strerror(MCP_SERVE_ADDRINUSE), "address already in use");
    CHECK_INT(MCP_SERVE_OK, MCP_OK);
    CHECK(MCP_SERVE_FAILED < 0);
    CHECK_STR(mcp_strerror(12345), "unknown error");
    CHECK_STR(mcp_strerror(-1), "unknown error");
}

TEST(server_new_reasons)
{
    char err[128] = "";
    CHECK(mcp_server_new_err(NULL, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "no server info");
    CHECK(mcp_server_new_err(&(mcp_server_info){.name = "x"}, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "version: required");
    CHECK(mcp_server_new_err(&(mcp_server_info){.version = "1"}, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "name: required");
    mcp_server_info bad_icons = {.name = "x", .version = "1", .icons = "{}"};
    CHECK(mcp_server_new_err(&bad_icons, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "icons");
    CHECK(mcp_server_new(&bad_icons) == NULL);
}

TEST(setters_refuse)
{
    CHECK_INT(mcp_server_set_page_size(srv, 0), MCP_ERANGE);
    CHECK_INT(mcp_server_set_page_size(srv, 10001), MCP_ERANGE);
    CHECK_INT(mcp_server_set_page_size(srv, 100), 0);
    CHECK_INT(mcp_server_set_task_limits(srv, NULL), MCP_EINVAL);
    mcp_task_limits neg = {.default_ttl_ms = -1};
    CHECK_INT(mcp_server_set_task_limits(srv, &neg), MCP_ERANGE);
    mcp_task_limits inverted = {.default_ttl_ms = 5000, .max_ttl_ms = 1000};
    CHECK_INT(mcp_server_set_task_limits(srv, &inverted), MCP_ERANGE);
    mcp_task_limits ok = {.poll_interval_ms = 500};
    CHECK_INT(mcp_server_set_task_limits(srv, &ok), 0);
    CHECK_INT(mcp_server_list_changed(srv, (mcp_list_kind)7), MCP_EINVAL);
    CHECK_INT(mcp_server_list_changed(srv, MCP_LIST_TOOLS), 0);
    CHECK_INT(mcp_server_resource_updated(srv, NULL), MCP_EINVAL);
}

/* A caller built against an older header passes a shorter struct; one built against a newer
 * header a longer one, whose unknown tail must be zero. */
TEST(sized_entry_points)
{
    char err[200] = "";
    mcp_tool_def d = {.name = "old_caller", .handler = h_text};
    CHECK_INT(mcp_server_add_tool_sz(srv, offsetof(mcp_tool_def, flags), &d, err, sizeof err), 0);
    struct {
        mcp_tool_def d;
        uint64_t future;
    } newer = {{.name = "new_caller", .handler = h_text}, 0};
    CHECK_INT(mcp_server_add_tool_sz(srv, sizeof newer, &newer.d, err, sizeof err), 0);
    newer.d.name = "new_caller2";
    newer.future = 1;
    CHECK_INT(mcp_server_add_tool_sz(srv, sizeof newer, &newer.d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "newer <mcp/mcp.h>");
    CHECK_INT(mcp_server_add_tool(srv, NULL, err, sizeof err), MCP_EINVAL);
    CHECK_INT(mcp_server_remove_tool(srv, "old_caller"), 0);
    CHECK_INT(mcp_server_remove_tool(srv, "new_caller"), 0);
    CHECK_INT(mcp_server_remove_tool(srv, "new_caller"), MCP_ENOENT);
}

/* The transports' option structs travel with their size too. */
TEST(sized_transport_options)
{
    char err[200] = "";
    struct {
        mcp_http_options o;
        uint64_t future;
    } newer = {{.host = "127.0.0.1"}, 7};
    CHECK(mcp_http_start_sz(srv, sizeof newer, &newer.o, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "mcp_http_options: sets a field this libmcp");
    struct {
        mcp_stdio_options o;
        uint64_t future;
    } snewer = {{.max_line = 0}, 7};
    CHECK(mcp_stdio_start_sz(srv, sizeof snewer, &snewer.o, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "mcp_stdio_options: sets a field");
    /* an older caller's struct ends before `workers`: the rest takes the defaults */
    mcp_http_options old = {.host = "127.0.0.1", .port = 0};
    mcp_http *h =
        mcp_http_start_sz(srv, offsetof(mcp_http_options, workers), &old, err, sizeof err);
    if (!h) T_FAIL("start: %s", err);
    CHECK(mcp_http_port(h) > 0);
    CHECK_INT(mcp_http_stop(h), MCP_SERVE_OK);
}

TEST(schemas_must_be_objects)
{
    char err[200] = "";
    mcp_tool_def d = {.name = "s", .handler = h_text, .input_schema = "{\"properties\":{}}"};
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "input_schema: must be an object schema with \"type\": \"object\"");
    d.input_schema = "{\"type\":\"string\"}";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), MCP_EINVAL);
    d.input_schema = "true";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "input_schema: expected an object");
    d.input_schema = NULL;
    d.output_schema = "{\"type\":\"array\"}";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "output_schema: must be an object schema");
    d.output_schema = NULL;
    d.params = "a: string";
    d.input_schema = "{\"type\":\"object\"}";
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "params and input_schema");
}

TEST(compact_params)
{
    mcp_conn *c = modern();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META "}}");
    const char *l = last();
    CHECK_STR(jstr(l, "result.tools.0.name"), "typed");
    CHECK_STR(jstr(l, "result.tools.0.inputSchema.type"), "object");
    CHECK_STR(jstr(l, "result.tools.0.inputSchema.properties.city.type"), "string");
    CHECK_STR(jstr(l, "result.tools.0.inputSchema.properties.city.description"), "City name");
    CHECK_INT(jint(l, "result.tools.0.inputSchema.properties.days.minimum"), 1);
    CHECK_INT(jint(l, "result.tools.0.inputSchema.properties.days.maximum"), 7);
    CHECK_INT(jint(l, "result.tools.0.inputSchema.properties.days.default"), 3);
    CHECK_STR(jstr(l, "result.tools.0.inputSchema.properties.ratio.type"), "number");
    CHECK(jpath(l, "result.tools.0.inputSchema.properties.loud.default"));
    CHECK_STR(jstr(l, "result.tools.0.inputSchema.properties.tags.type"), "array");
    CHECK_STR(jstr(l, "result.tools.0.inputSchema.properties.tags.items.type"), "string");
    CHECK_STR(jstr(l, "result.tools.0.inputSchema.required.0"), "city");
    CHECK(!jpath(l, "result.tools.0.inputSchema.required.1"));
    /* arguments are validated against the generated schema */
    l = call(c, "typed", "{\"city\":\"Oslo\",\"days\":9}");
    CHECK(jpath(l, "result.isError"));
    CHECK_CONTAINS(jstr(l, "result.content.0.text"), "/days");
    l = call(c, "typed", "{\"days\":2}");
    CHECK(jpath(l, "result.isError"));
    mcp_conn_close(c);
}

TEST(compact_params_errors)
{
    static const struct {
        const char *params, *want;
    } cases[] = {
        {"a string", "expected ':'"},
        {"a: strin", "expected a type"},
        {"a: string, a: integer", "named twice"},
        {"a: integer = x", "not a number of that type"},
        {"a: integer = 1.5", "not a number of that type"},
        {"a: boolean = yes", "true or false"},
        {"a: string[] = x", "array takes no default"},
        {"a: boolean(1..2)", "take '('"},
        {"a: integer(1-2)", "expected the minimum"},
        {"a: integer(1 2)", "'..'"},
        {"a: string(x|)", "expected a choice"},
        {"a: string 'open", "unterminated description"},
        {"a: string b: string", "after a parameter"},
        {": string", "expected a parameter name"},
        {"9a: string", "expected a parameter name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[200] = "";
        mcp_tool_def d = {.name = "p", .params = cases[i].params, .handler = h_text};
        int rc = mcp_server_add_tool(srv, &d, err, sizeof err);
        if (rc != MCP_EINVAL || !strstr(err, cases[i].want) || !strstr(err, "params: at offset"))
            T_FAIL("params \"%s\": rc %d, err \"%s\", want \"%s\"", cases[i].params, rc, err,
                   cases[i].want);
    }
    /* the empty list, quotes, choices */
    char err[200] = "";
    mcp_tool_def d = {.name = "p", .params = "  ", .handler = h_text};
    CHECK_INT(mcp_server_add_tool(srv, &d, err, sizeof err), 0);
    CHECK_INT(mcp_server_remove_tool(srv, "p"), 0);
    char *s =
        params_to_schema("u?: string(metric | imperial) = metric 'it''s, units'", err, sizeof err);
    CHECK(s);
    CHECK_STR(s, "{\"type\":\"object\",\"properties\":{\"u\":{\"type\":\"string\",\"enum\":["
                 "\"metric\",\"imperial\"],\"default\":\"metric\",\"description\":\"it's, "
                 "units\"}},\"required\":[]}");
    free(s);
}

TEST(typed_getters_and_structured_writer)
{
    mcp_conn *c = modern();
    const char *l = call(c, "typed",
                         "{\"city\":\"Oslo\",\"days\":5.0,\"ratio\":1,\"loud\":true,"
                         "\"tags\":[\"a\",\"b\"]}");
    CHECK_STR(jstr(l, "result.structuredContent.city"), "Oslo");
    CHECK_INT(jint(l, "result.structuredContent.days"), 5);
    CHECK_STR(jstr(l, "result.content.0.type"), "text");
    CHECK(jpath(l, "result.structuredContent.loud")->b);
    CHECK_INT(jint(l, "result.structuredContent.ntags"), 2);
    CHECK_STR(jstr(l, "result.structuredContent.first"), "a");
    CHECK(mcp_json_is_null(jpath(l, "result.structuredContent.missing")));
    l = call(c, "typed", "{\"city\":\"Bergen\"}");
    CHECK_INT(jint(l, "result.structuredContent.days"), 3);
    CHECK(!jpath(l, "result.structuredContent.loud")->b);
    CHECK_INT(jint(l, "result.structuredContent.ntags"), 0);
    double ratio = 0;
    CHECK(mcp_json_double(jpath(l, "result.structuredContent.ratio"), &ratio) && ratio == 0.5);
    mcp_conn_close(c);
}

TEST(handler_mistakes)
{
    static const char *const kinds[] = {"structured", "array",     "content",
                                        "writer",     "null_text", "role"};
    static const char *const why[] = {"mcp_ctx_structured: invalid JSON: line 1",
                                      "mcp_ctx_structured: expected a JSON object, got array",
                                      "mcp_ctx_content_json: expected a JSON object",
                                      "mcp_ctx_structured_jw: the writer's text is not complete",
                                      "mcp_ctx_text: NULL text",
                                      "mcp_ctx_message: role must be"};
    mcp_conn *c = modern();
    for (size_t i = 0; i < 6; i++) {
        char name[32], want[200];
        snprintf(name, sizeof name, "mistake_%s", kinds[i]);
        const char *l = call(c, name, "{}");
        CHECK_CODE(l, -32603);
        snprintf(want, sizeof want, "tool '%s': %s", name, why[i]);
        CHECK_CONTAINS(jstr(l, "error.message"), want);
        CHECK(!jpath(l, "result"));
    }
    const char *l = call(c, "mistake_tool_error", "{}");
    CHECK_CODE(l, -32603);
    CHECK_CONTAINS(jstr(l, "error.message"), "tool 'mistake_tool_error': mcp_ctx_structured");
    mcp_conn_close(c);
}

TEST(not_found_both_eras)
{
    /* modern: -32602 with data.uri, for the engine's own answer and the handler's */
    mcp_conn *c = modern();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"nothing:///x\"," META "}}");
    CHECK_CODE(last(), -32602);
    CHECK_STR(jstr(last(), "error.message"), "Resource not found");
    CHECK_STR(jstr(last(), "error.data.uri"), "nothing:///x");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"item:///7\"," META "}}");
    CHECK_CODE(last(), -32602);
    CHECK_STR(jstr(last(), "error.message"), "no item 7");
    CHECK_STR(jstr(last(), "error.data.uri"), "item:///7");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"item:///1\"," META "}}");
    CHECK_STR(jstr(last(), "result.contents.0.text"), "one");
    /* a tool: isError with the message, so the model sees it */
    const char *l = call(c, "lookup", "{\"id\":\"9\"}");
    CHECK(jpath(l, "result.isError"));
    CHECK_STR(jstr(l, "result.content.0.text"), "no item 9");
    /* a prompt: -32602 */
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":{\"name\":"
            "\"item\",\"arguments\":{\"id\":\"5\"}," META "}}");
    CHECK_CODE(last(), -32602);
    CHECK_STR(jstr(last(), "error.message"), "no item 5");
    mcp_conn_close(c);

    /* legacy (2025-11-25): -32002 with data.uri, both ways */
    c = legacy();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"nothing:///x\"}}");
    CHECK_CODE(last(), -32002);
    CHECK_STR(jstr(last(), "error.data.uri"), "nothing:///x");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
            "\"item:///7\"}}");
    CHECK_CODE(last(), -32002);
    CHECK_STR(jstr(last(), "error.message"), "no item 7");
    CHECK_STR(jstr(last(), "error.data.uri"), "item:///7");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":{\"name\":"
            "\"item\",\"arguments\":{\"id\":\"5\"}}}");
    CHECK_CODE(last(), -32602);
    mcp_conn_close(c);
}

TEST(completion_argument)
{
    mcp_conn *c = modern();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{"
            "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"item\"},\"argument\":{\"name\":\"id\","
            "\"value\":\"4\"},\"context\":{\"arguments\":{\"owner\":\"ann\"}}," META "}}");
    CHECK_STR(jstr(last(), "result.completion.values.0"), "id=4+ann");
    rec_clear();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{"
            "\"ref\":{\"type\":\"ref/resource\",\"uri\":\"item:///{id}\"},\"argument\":{\"name\":"
            "\"id\",\"value\":\"\"}," META "}}");
    CHECK_STR(jstr(last(), "result.completion.values.0"), "id=+-");
    mcp_conn_close(c);
}

TEST(resource_size)
{
    mcp_conn *c = modern();
    feed(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\",\"params\":{" META "}}");
    const char *l = last();
    CHECK_STR(jstr(l, "result.resources.0.uri"), "res:///unknown");
    CHECK(!jpath(l, "result.resources.0.size"));
    CHECK_STR(jstr(l, "result.resources.1.uri"), "res:///empty");
    CHECK(jpath(l, "result.resources.1.size"));
    CHECK_INT(jint(l, "result.resources.1.size"), 0);
    CHECK_INT(jint(l, "result.resources.2.size"), 12);
    CHECK(!jpath(l, "result.resources.3.size"));
    mcp_conn_close(c);
    char err[100];
    mcp_resource_def bad = {
        .uri = "res:///neg", .name = "n", .size = -5, .has_size = true, .handler = h_text};
    CHECK_INT(mcp_server_add_resource(srv, &bad, err, sizeof err), MCP_EINVAL);
    CHECK_CONTAINS(err, "size");
}

int main(void)
{
    setup();
    RUN(version_and_errors);
    RUN(server_new_reasons);
    RUN(setters_refuse);
    RUN(sized_entry_points);
    RUN(sized_transport_options);
    RUN(schemas_must_be_objects);
    RUN(compact_params);
    RUN(compact_params_errors);
    RUN(typed_getters_and_structured_writer);
    RUN(handler_mistakes);
    RUN(not_found_both_eras);
    RUN(completion_argument);
    RUN(resource_size);
    rec_clear();
    mcp_server_free(srv);
    return test_summary();
}
