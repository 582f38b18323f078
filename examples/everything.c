/* everything.c - the conformance "everything" server: every fixture the official MCP
 * conformance suite expects (docs/internals/conformance-fixtures.md), built on libmcp.
 *
 * It registers the suite's tools, resources, template, prompts and completers with the exact
 * names, texts and shapes that document gives, plus two tools of our own: `echo` (MCP_INLINE,
 * for benchmarks) and `test_slow` (steps x ms of sleeping with progress, stopping when the
 * request is cancelled, for cancellation tests). Tools that ask the client something follow the
 * libmcp pattern: the first round queues the question with mcp_ctx_sample/elicit/list_roots and
 * calls mcp_ctx_ask(); the next round finds the answer in mcp_ctx_input(key). The same code
 * serves the legacy era (real server-to-client requests) and the modern era (input_required).
 *
 * The program follows the CLI convention of all mcpd binaries: --stdio, --listen HOST:PORT
 * (Streamable HTTP, the default, on 127.0.0.1:8080), the HTTP limits, --help, --version. In stdio
 * mode nothing but the transport writes to stdout. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mcp/json.h>
#include <mcp/mcp.h>

#define PNG_B64                                                                                    \
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJg" \
    "gg"                                                                                           \
    "=="
#define WAV_B64 "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
#define NO_ARGS "{\"type\":\"object\",\"properties\":{}}"

/* The 1x1 PNG of PNG_B64, raw, for the binary resource. */
static const unsigned char png_bytes[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
    0xda, 0x63, 0xfc, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x05, 0x02, 0x00, 0x5f, 0xc8,
    0xf1, 0xd2, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

/* ---- small helpers --------------------------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A growing text buffer (the answers below are built piecewise). Aborts on out-of-memory. */
typedef struct sbuf {
    char *data;
    size_t len, cap;
} sbuf;

static void sb_init(sbuf *b)
{
    *b = (sbuf){NULL, 0, 0};
}

static void sb_append(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data) abort();
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_append(b, s, strlen(s));
}

static void sb_putc(sbuf *b, char c)
{
    sb_append(b, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_append(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_free(sbuf *b)
{
    free(b->data);
}

/* Appends s as a quoted JSON string (escaped by libmcp's writer). */
static void put_jstr(sbuf *b, const char *s)
{
    mcp_jw *w = mcp_jw_new();
    mcp_jw_string(w, s);
    const char *t = mcp_jw_text(w, NULL);
    sb_puts(b, t ? t : "\"\"");
    mcp_jw_free(w);
}

/* Finishes c with one text block made of b's bytes, and frees b. */
static void finish_text_buf(mcp_ctx *c, sbuf *b)
{
    mcp_ctx_textn(c, b->data ? b->data : "", b->len);
    mcp_ctx_finish(c);
    sb_free(b);
}

/* Appends v as compact JSON ("null" when absent). */
static void put_json(sbuf *b, const mcp_json *v)
{
    char *t = mcp_json_text(v, NULL);
    sb_puts(b, t ? t : "null");
    free(t);
}

/* The string v, or dflt if v is absent or not a string. */
static const char *str_or(const mcp_json *v, const char *dflt)
{
    const char *s = mcp_json_str(v, NULL);
    return s ? s : dflt;
}

/* The text of a sampling answer (result.content.text), or "" if it has none. */
static const char *sampled_text(const mcp_json *answer)
{
    return str_or(mcp_json_get(mcp_json_get(answer, "content"), "text"), "");
}

/* Queues one question (via ask_fn) under key and ends the round; a client without the
 * capability gets the tool error `why`. */
static void ask_one(mcp_ctx *c, int (*ask_fn)(mcp_ctx *, const char *, const char *),
                    const char *key, const char *params)
{
    if (ask_fn(c, key, params) != 0) {
        mcp_ctx_tool_error(c, "the client cannot answer %s", key);
        return;
    }
    mcp_ctx_ask(c);
}

/* Ends c with "<label>: action=<a>, content=<json>" from an elicitation answer. */
static void finish_elicited(mcp_ctx *c, const char *label, const mcp_json *answer)
{
    sbuf b;
    const mcp_json *action = mcp_json_get(answer, "action");
    sb_init(&b);
    sb_printf(&b, "%s: action=%s, content=", label, str_or(action, "unknown"));
    put_json(&b, mcp_json_get(answer, "content"));
    finish_text_buf(c, &b);
}

/* ---- content tools ------------------------------------------------------------------------- */

static void tool_simple_text(mcp_ctx *c, void *ud)
{
    mcp_ctx_text(c, "This is a simple text response for testing.");
    mcp_ctx_finish(c);
}

static void tool_image(mcp_ctx *c, void *ud)
{
    mcp_ctx_image_b64(c, PNG_B64, "image/png");
    mcp_ctx_finish(c);
}

static void tool_audio(mcp_ctx *c, void *ud)
{
    mcp_ctx_audio_b64(c, WAV_B64, "audio/wav");
    mcp_ctx_finish(c);
}

static void tool_embedded_resource(mcp_ctx *c, void *ud)
{
    mcp_ctx_resource_text(c, "test://embedded-resource", "text/plain",
                          "This is an embedded resource content.");
    mcp_ctx_finish(c);
}

static void tool_multiple_content(mcp_ctx *c, void *ud)
{
    mcp_ctx_text(c, "Multiple content types test:");
    mcp_ctx_image_b64(c, PNG_B64, "image/png");
    mcp_ctx_resource_text(c, "test://mixed-content-resource", "application/json",
                          "{\"test\":\"data\",\"value\":123}");
    mcp_ctx_finish(c);
}

static void tool_error(mcp_ctx *c, void *ud)
{
    mcp_ctx_tool_error(c, "This tool intentionally returns an error for testing");
}

static void tool_logging(mcp_ctx *c, void *ud)
{
    mcp_ctx_log(c, MCP_LOG_INFO, "everything", "Tool execution started");
    sleep_ms(50);
    mcp_ctx_log(c, MCP_LOG_INFO, "everything", "Tool processing data");
    sleep_ms(50);
    mcp_ctx_log(c, MCP_LOG_INFO, "everything", "Tool execution completed");
    mcp_ctx_text(c, "Tool with logging executed successfully");
    mcp_ctx_finish(c);
}

static void tool_progress(mcp_ctx *c, void *ud)
{
    for (int i = 0; i <= 2; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "Completed step %d of 3", i + 1);
        if (i > 0) sleep_ms(50);
        mcp_ctx_progress(c, i * 50.0, 100.0, msg);
    }
    /* The TypeScript SDK client drops a progress notification that it reads in the same chunk
     * as the response (the handler runs a microtask later, after the response removed it). */
    sleep_ms(50);
    mcp_ctx_text(c, "Progress test completed");
    mcp_ctx_finish(c);
}

static void tool_schema_2020_12(mcp_ctx *c, void *ud)
{
    mcp_ctx_text(c, "JSON Schema 2020-12 tool called");
    mcp_ctx_finish(c);
}

/* Closes its own response stream, then answers: on Streamable HTTP the client fetches the
 * result with a GET carrying Last-Event-ID (SEP-1699). On stdio closing does nothing. */
static void tool_reconnection(mcp_ctx *c, void *ud)
{
    mcp_ctx_close_stream(c);
    sleep_ms(100);
    mcp_ctx_text(c, "Reconnection test completed");
    mcp_ctx_finish(c);
}

/* ---- tools that ask the client (legacy-era fixtures) --------------------------------------- */

static void tool_sampling(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "llm");
    if (answer) {
        sbuf b;
        sb_init(&b);
        sb_printf(&b, "LLM response: %s", sampled_text(answer));
        finish_text_buf(c, &b);
        return;
    }
    const char *prompt = mcp_ctx_arg_str(c, "prompt");
    sbuf p;
    sb_init(&p);
    sb_puts(&p, "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":");
    put_jstr(&p, prompt ? prompt : "");
    sb_puts(&p, "}}],\"maxTokens\":100}");
    ask_one(c, mcp_ctx_sample, "llm", p.data);
    sb_free(&p);
}

static void tool_elicitation(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "user_info");
    if (answer) {
        finish_elicited(c, "User response", answer);
        return;
    }
    const char *message = mcp_ctx_arg_str(c, "message");
    sbuf p;
    sb_init(&p);
    sb_puts(&p, "{\"message\":");
    put_jstr(&p, message ? message : "");
    sb_puts(&p, ",\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
                "\"username\":{\"type\":\"string\",\"description\":\"User's response\"},"
                "\"email\":{\"type\":\"string\",\"description\":\"User's email address\"}},"
                "\"required\":[\"username\",\"email\"]}}");
    ask_one(c, mcp_ctx_elicit, "user_info", p.data);
    sb_free(&p);
}

static const char sep1034_params[] =
    "{\"mode\":\"form\",\"message\":\"Please review and update the form fields with defaults\","
    "\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"description\":\"User name\",\"default\":\"John Doe\"},"
    "\"age\":{\"type\":\"integer\",\"description\":\"User age\",\"default\":30},"
    "\"score\":{\"type\":\"number\",\"description\":\"User score\",\"default\":95.5},"
    "\"status\":{\"type\":\"string\",\"description\":\"User status\","
    "\"enum\":[\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"
    "\"verified\":{\"type\":\"boolean\",\"description\":\"Verification status\",\"default\":true}"
    "},\"required\":[]}}";

static void tool_sep1034(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "defaults");
    if (answer)
        finish_elicited(c, "Elicitation completed", answer);
    else
        ask_one(c, mcp_ctx_elicit, "defaults", sep1034_params);
}

static const char sep1330_params[] =
    "{\"message\":\"Please select options from the enum fields\","
    "\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
    "\"untitledSingle\":{\"type\":\"string\",\"description\":\"Select one option\","
    "\"enum\":[\"option1\",\"option2\",\"option3\"]},"
    "\"titledSingle\":{\"type\":\"string\",\"description\":\"Select one option with titles\","
    "\"oneOf\":[{\"const\":\"value1\",\"title\":\"First Option\"},"
    "{\"const\":\"value2\",\"title\":\"Second Option\"},"
    "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
    "\"legacyEnum\":{\"type\":\"string\",\"description\":\"Select one option (legacy)\","
    "\"enum\":[\"opt1\",\"opt2\",\"opt3\"],"
    "\"enumNames\":[\"Option One\",\"Option Two\",\"Option Three\"]},"
    "\"untitledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options\","
    "\"minItems\":1,\"maxItems\":3,"
    "\"items\":{\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
    "\"titledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options with titles\","
    "\"minItems\":1,\"maxItems\":3,\"items\":{\"anyOf\":["
    "{\"const\":\"value1\",\"title\":\"First Choice\"},"
    "{\"const\":\"value2\",\"title\":\"Second Choice\"},"
    "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}"
    "},\"required\":[]}}";

static void tool_sep1330(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "enums");
    if (answer)
        finish_elicited(c, "Elicitation completed", answer);
    else
        ask_one(c, mcp_ctx_elicit, "enums", sep1330_params);
}

/* ---- modern-era fixtures (server-stateless, input-required-result-*) ------------------------ */

#define ASK_NAME                                                                                   \
    "{\"message\":\"What is your name?\",\"requestedSchema\":{\"type\":\"object\","                \
    "\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"]}}"
#define ASK_CAPITAL                                                                                \
    "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\","                            \
    "\"text\":\"What is the capital of France?\"}}],\"maxTokens\":100}"
#define ASK_GREETING                                                                               \
    "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\","                            \
    "\"text\":\"Generate a greeting\"}}],\"maxTokens\":50}"

/* Without sampling declared, nothing is queued and the engine answers -32021 naming it. */
static void tool_missing_capability(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "needs_sampling");
    if (answer) {
        mcp_ctx_text(c, "sampling is available");
        mcp_ctx_finish(c);
        return;
    }
    mcp_ctx_sample(c, "needs_sampling", ASK_CAPITAL);
    mcp_ctx_ask(c);
}

static void tool_streaming_elicitation(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "user_name");
    if (answer)
        finish_elicited(c, "Elicitation completed", answer);
    else
        ask_one(c, mcp_ctx_elicit, "user_name", ASK_NAME);
}

static void tool_logging_plain(mcp_ctx *c, void *ud)
{
    mcp_ctx_log(c, MCP_LOG_INFO, "everything", "test_logging_tool ran");
    mcp_ctx_text(c, "Logging tool executed");
    mcp_ctx_finish(c);
}

/* The suite wants the notification, not a changed set. */
static void tool_trigger_tool_change(mcp_ctx *c, void *ud)
{
    mcp_server_list_changed(ud, MCP_LIST_TOOLS);
    mcp_ctx_text(c, "tools/list_changed sent");
    mcp_ctx_finish(c);
}

static void tool_trigger_prompt_change(mcp_ctx *c, void *ud)
{
    mcp_server_list_changed(ud, MCP_LIST_PROMPTS);
    mcp_ctx_text(c, "prompts/list_changed sent");
    mcp_ctx_finish(c);
}

/* The name from an elicitation answer {action:"accept", content:{name:string}}, NULL if the
 * answer is not of that shape. */
static const char *answered_name(const mcp_json *answer, const char *field)
{
    const mcp_json *v = mcp_json_get(mcp_json_get(answer, "content"), field);
    if (!mcp_json_str(mcp_json_get(answer, "action"), NULL)) return NULL;
    return mcp_json_str(v, NULL);
}

static void tool_mrtr_elicitation(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "user_name");
    if (!answer) {
        ask_one(c, mcp_ctx_elicit, "user_name", ASK_NAME);
        return;
    }
    const char *name = answered_name(answer, "name");
    if (!name) {
        mcp_ctx_fail(c, MCP_ERR_INVALID_PARAMS,
                     "inputResponses.user_name: expected an "
                     "elicitation result with content.name");
        return;
    }
    sbuf b;
    sb_init(&b);
    sb_printf(&b, "Hello, %s!", name);
    finish_text_buf(c, &b);
}

static void tool_mrtr_sampling(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "capital_question");
    if (!answer) {
        ask_one(c, mcp_ctx_sample, "capital_question", ASK_CAPITAL);
        return;
    }
    sbuf b;
    sb_init(&b);
    sb_printf(&b, "The model answered: %s", sampled_text(answer));
    finish_text_buf(c, &b);
}

static void tool_mrtr_roots(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "client_roots");
    if (!answer) {
        if (mcp_ctx_list_roots(c, "client_roots") != 0)
            mcp_ctx_tool_error(c, "the client cannot list roots");
        else
            mcp_ctx_ask(c);
        return;
    }
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "Client roots: ");
    put_json(&b, mcp_json_get(answer, "roots"));
    finish_text_buf(c, &b);
}

static void tool_mrtr_request_state(mcp_ctx *c, void *ud)
{
    size_t len = 0;
    const void *state = mcp_ctx_state(c, &len);
    const mcp_json *answer = mcp_ctx_input(c, "confirm");
    if (!answer) {
        mcp_ctx_set_state(c, "state-ok", 8);
        ask_one(c, mcp_ctx_elicit, "confirm",
                "{\"message\":\"Please confirm\",\"requestedSchema\":{\"type\":\"object\","
                "\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"]}}");
        return;
    }
    sbuf b;
    sb_init(&b);
    if (state && len == 8 && memcmp(state, "state-ok", 8) == 0)
        sb_puts(&b, "state-ok: confirmed");
    else
        sb_puts(&b, "confirmed (no request state came back)");
    finish_text_buf(c, &b);
}

static void tool_mrtr_multiple(mcp_ctx *c, void *ud)
{
    const mcp_json *name = mcp_ctx_input(c, "user_name");
    const mcp_json *greeting = mcp_ctx_input(c, "greeting");
    const mcp_json *roots = mcp_ctx_input(c, "client_roots");
    if (name && greeting && roots) {
        sbuf b;
        sb_init(&b);
        const char *n = answered_name(name, "name");
        sb_printf(&b, "name=%s, greeting=%s, roots=", n ? n : "?", sampled_text(greeting));
        put_json(&b, mcp_json_get(roots, "roots"));
        finish_text_buf(c, &b);
        return;
    }
    int rc = 0;
    if (!name) rc |= mcp_ctx_elicit(c, "user_name", ASK_NAME);
    if (!greeting) rc |= mcp_ctx_sample(c, "greeting", ASK_GREETING);
    if (!roots) rc |= mcp_ctx_list_roots(c, "client_roots");
    if (rc != 0)
        mcp_ctx_tool_error(c, "the client lacks elicitation, sampling or roots");
    else
        mcp_ctx_ask(c);
}

static void tool_mrtr_multi_round(mcp_ctx *c, void *ud)
{
    const mcp_json *step1 = mcp_ctx_input(c, "step1");
    const mcp_json *step2 = mcp_ctx_input(c, "step2");
    if (!step1) {
        ask_one(c, mcp_ctx_elicit, "step1",
                "{\"message\":\"Step 1: What is your name?\",\"requestedSchema\":{\"type\":"
                "\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
                "\"required\":[\"name\"]}}");
        return;
    }
    if (!step2) {
        mcp_ctx_set_state(c, "round2", 6);
        ask_one(c, mcp_ctx_elicit, "step2",
                "{\"message\":\"Step 2: What is your favorite color?\",\"requestedSchema\":{"
                "\"type\":\"object\",\"properties\":{\"color\":{\"type\":\"string\"}},"
                "\"required\":[\"color\"]}}");
        return;
    }
    const char *n = answered_name(step1, "name"), *col = answered_name(step2, "color");
    sbuf b;
    sb_init(&b);
    sb_printf(&b, "%s likes %s", n ? n : "?", col ? col : "?");
    finish_text_buf(c, &b);
}

static void tool_mrtr_tampered(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "confirm");
    if (!answer) {
        mcp_ctx_set_state(c, "sealed", 6);
        ask_one(c, mcp_ctx_elicit, "confirm",
                "{\"message\":\"Please confirm\",\"requestedSchema\":{\"type\":\"object\","
                "\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"]}}");
        return;
    }
    mcp_ctx_text(c, "state verified");
    mcp_ctx_finish(c);
}

/* Asks only what the client declared: a client with sampling alone gets one sampling request. */
static void tool_mrtr_capabilities(mcp_ctx *c, void *ud)
{
    if (mcp_ctx_input(c, "ask") || mcp_ctx_input(c, "confirm") || mcp_ctx_input(c, "roots")) {
        mcp_ctx_text(c, "answered within the declared capabilities");
        mcp_ctx_finish(c);
        return;
    }
    int queued = 0;
    if (mcp_ctx_client_supports(c, "sampling"))
        queued += mcp_ctx_sample(c, "ask", ASK_CAPITAL) == 0;
    else if (mcp_ctx_client_supports(c, "elicitation"))
        queued += mcp_ctx_elicit(c, "confirm", ASK_NAME) == 0;
    else if (mcp_ctx_client_supports(c, "roots"))
        queued += mcp_ctx_list_roots(c, "roots") == 0;
    if (queued) {
        mcp_ctx_ask(c);
        return;
    }
    mcp_ctx_text(c, "the client declared nothing to ask with");
    mcp_ctx_finish(c);
}

/* ---- tasks (io.modelcontextprotocol/tasks, 2025-11-25 tasks) --------------------------------- */

static double num_arg(const mcp_ctx *c, const char *name, double dflt)
{
    return mcp_ctx_arg_double(c, name, dflt);
}

/* Sleeps ms in small steps; returns false if the call was cancelled meanwhile. */
static bool sleep_unless_cancelled(mcp_ctx *c, long ms)
{
    for (long t = 0; t < ms; t += 20) {
        if (mcp_ctx_cancelled(c)) return false;
        sleep_ms(ms - t < 20 ? ms - t : 20);
    }
    return !mcp_ctx_cancelled(c);
}

static void tool_greet(mcp_ctx *c, void *ud)
{
    const char *name = mcp_ctx_arg_str(c, "name");
    sbuf b;
    sb_init(&b);
    sb_printf(&b, "Hello, %s!", name ? name : "world");
    finish_text_buf(c, &b);
}

static void tool_slow_compute(mcp_ctx *c, void *ud)
{
    double secs = num_arg(c, "seconds", 1);
    const char *label = mcp_ctx_arg_str(c, "label");
    if (secs < 0) secs = 0;
    if (secs > 600) secs = 600;
    if (!sleep_unless_cancelled(c, (long)(secs * 1000))) {
        mcp_ctx_finish(c); /* cancelled: nothing to say */
        return;
    }
    sbuf b;
    sb_init(&b);
    sb_printf(&b, "Computed %s in %g s", label ? label : "result", secs);
    finish_text_buf(c, &b);
}

static void tool_failing_job(mcp_ctx *c, void *ud)
{
    if (!sleep_unless_cancelled(c, 1000)) {
        mcp_ctx_finish(c);
        return;
    }
    mcp_ctx_tool_error(c, "the job failed: the input could not be processed");
}

static void tool_protocol_error_job(mcp_ctx *c, void *ud)
{
    if (!sleep_unless_cancelled(c, 300)) {
        mcp_ctx_finish(c);
        return;
    }
    mcp_ctx_fail(c, MCP_ERR_INTERNAL, "the job hit an internal error");
}

#define ASK_CONFIRM                                                                                \
    "{\"mode\":\"form\",\"message\":\"Delete the file?\",\"requestedSchema\":{\"type\":"           \
    "\"object\",\"properties\":{\"confirm\":{\"type\":\"boolean\"}},\"required\":[\"confirm\"]}}"

static void tool_confirm_delete(mcp_ctx *c, void *ud)
{
    const mcp_json *a = mcp_ctx_input(c, "confirm");
    const char *file = mcp_ctx_arg_str(c, "filename");
    if (!a) {
        ask_one(c, mcp_ctx_elicit, "confirm", ASK_CONFIRM);
        return;
    }
    const mcp_json *action = mcp_json_get(a, "action");
    const mcp_json *yes = mcp_json_get(mcp_json_get(a, "content"), "confirm");
    bool yes_b = false;
    bool ok = !strcmp(str_or(action, ""), "accept") && mcp_json_bool(yes, &yes_b) && yes_b;
    sbuf b;
    sb_init(&b);
    sb_printf(&b, "%s %s", ok ? "Deleted" : "Kept", file ? file : "the file");
    finish_text_buf(c, &b);
}

#define ASK_FIELD(what)                                                                            \
    "{\"mode\":\"form\",\"message\":\"Your " what "?\",\"requestedSchema\":{\"type\":"             \
    "\"object\",\"properties\":{\"value\":{\"type\":\"string\"}}}}"

static void tool_multi_input(mcp_ctx *c, void *ud)
{
    const mcp_json *first = mcp_ctx_input(c, "first"), *second = mcp_ctx_input(c, "second");
    if (!first || !second) {
        if (mcp_ctx_elicit(c, "first", ASK_FIELD("first name")) ||
            mcp_ctx_elicit(c, "second", ASK_FIELD("last name"))) {
            mcp_ctx_tool_error(c, "the client cannot answer elicitations");
            return;
        }
        mcp_ctx_ask(c);
        return;
    }
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "Got both answers: ");
    put_json(&b, mcp_json_get(first, "content"));
    sb_puts(&b, " and ");
    put_json(&b, mcp_json_get(second, "content"));
    finish_text_buf(c, &b);
}

/* Round 1 asks synchronously (input_required); round 2 turns into a task and answers from it. */
static void tool_with_task(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "user_name");
    if (!answer) {
        ask_one(c, mcp_ctx_elicit, "user_name", ASK_NAME);
        return;
    }
    mcp_ctx_start_task(c);
    const char *name = answered_name(answer, "name");
    sleep_ms(200);
    sbuf b;
    sb_init(&b);
    sb_printf(&b, "Hello, %s! (from a task)", name ? name : "stranger");
    finish_text_buf(c, &b);
}

/* ---- our own tools: echo, test_slow, test_serial ------------------------------------------- */

static void tool_echo(mcp_ctx *c, void *ud)
{
    const char *m = mcp_ctx_arg_str(c, "message");
    mcp_ctx_text(c, m ? m : "");
    mcp_ctx_finish(c);
}

static void tool_echo_region(mcp_ctx *c, void *ud)
{
    const char *r = mcp_ctx_arg_str(c, "region");
    mcp_ctx_text(c, r ? r : "");
    mcp_ctx_finish(c);
}

static int64_t int_arg(const mcp_ctx *c, const char *name, int64_t dflt)
{
    return mcp_ctx_arg_int(c, name, dflt);
}

/* MCP_SERIAL: the mailbox runs one call at a time, so `running` never exceeds 1 here. */
static void tool_serial(mcp_ctx *c, void *ud)
{
    static _Atomic int running;
    int now = atomic_fetch_add(&running, 1) + 1;
    sleep_ms((long)int_arg(c, "ms", 10));
    atomic_fetch_sub(&running, 1);
    char text[64];
    snprintf(text, sizeof text, "concurrent: %d", now);
    mcp_ctx_text(c, text);
    mcp_ctx_finish(c);
}

static void tool_slow(mcp_ctx *c, void *ud)
{
    int64_t steps = int_arg(c, "steps", 10), ms = int_arg(c, "ms", 100);
    bool stubborn = mcp_ctx_arg_bool(c, "stubborn", false);
    for (int64_t i = 0; i < steps; i++) {
        if (!stubborn && mcp_ctx_cancelled(c)) {
            mcp_ctx_finish(c); /* accepted, sends nothing */
            return;
        }
        sleep_ms((long)ms);
        mcp_ctx_progress(c, (double)(i + 1), (double)steps, NULL);
    }
    mcp_ctx_text(c, "done");
    mcp_ctx_finish(c);
}

/* ---- resources ------------------------------------------------------------------------------ */

static void res_static_text(mcp_ctx *c, void *ud)
{
    mcp_ctx_resource_text(c, "test://static-text", "text/plain",
                          "This is the content of the static text resource.");
    mcp_ctx_finish(c);
}

static void res_static_binary(mcp_ctx *c, void *ud)
{
    mcp_ctx_resource_blob(c, "test://static-binary", "image/png", png_bytes, sizeof png_bytes);
    mcp_ctx_finish(c);
}

static void res_watched(mcp_ctx *c, void *ud)
{
    mcp_ctx_resource_text(c, "test://watched-resource", "text/plain", "Watched resource content");
    mcp_ctx_finish(c);
}

static void res_template(mcp_ctx *c, void *ud)
{
    const char *id = mcp_ctx_arg_str(c, "id");
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "{\"id\":");
    put_jstr(&b, id ? id : "");
    sb_puts(&b, ",\"templateTest\":true,\"data\":");
    sbuf d;
    sb_init(&d);
    sb_printf(&d, "Data for ID: %s", id ? id : "");
    put_jstr(&b, d.data);
    sb_free(&d);
    sb_putc(&b, '}');
    mcp_ctx_resource_text(c, mcp_ctx_name(c), "application/json", b.data);
    mcp_ctx_finish(c);
    sb_free(&b);
}

/* ---- prompts -------------------------------------------------------------------------------- */

static void prompt_simple(mcp_ctx *c, void *ud)
{
    mcp_ctx_message(c, "user");
    mcp_ctx_text(c, "This is a simple prompt for testing.");
    mcp_ctx_finish(c);
}

static void prompt_with_args(mcp_ctx *c, void *ud)
{
    const char *a1 = mcp_ctx_arg_str(c, "arg1"), *a2 = mcp_ctx_arg_str(c, "arg2");
    sbuf b;
    sb_init(&b);
    sb_printf(&b, "Prompt with arguments: arg1='%s', arg2='%s'", a1 ? a1 : "", a2 ? a2 : "");
    mcp_ctx_message(c, "user");
    finish_text_buf(c, &b);
}

static void prompt_embedded_resource(mcp_ctx *c, void *ud)
{
    const char *uri = mcp_ctx_arg_str(c, "resourceUri");
    mcp_ctx_message(c, "user");
    mcp_ctx_resource_text(c, uri ? uri : "test://example-resource", "text/plain",
                          "Embedded resource content for testing.");
    mcp_ctx_text(c, "Please process the embedded resource above.");
    mcp_ctx_finish(c);
}

static void prompt_with_image(mcp_ctx *c, void *ud)
{
    mcp_ctx_message(c, "user");
    mcp_ctx_image_b64(c, PNG_B64, "image/png");
    mcp_ctx_text(c, "Please analyze the image above.");
    mcp_ctx_finish(c);
}

static void prompt_mrtr(mcp_ctx *c, void *ud)
{
    const mcp_json *answer = mcp_ctx_input(c, "user_context");
    if (!answer) {
        /* Without elicitation nothing is queued and the engine fails the request naming it. */
        mcp_ctx_elicit(c, "user_context",
                       "{\"message\":\"What context should the prompt use?\","
                       "\"requestedSchema\":{\"type\":\"object\",\"properties\":{\"context\":"
                       "{\"type\":\"string\"}},\"required\":[\"context\"]}}");
        mcp_ctx_ask(c);
        return;
    }
    const char *ctxt = answered_name(answer, "context");
    sbuf b;
    sb_init(&b);
    sb_printf(&b, "Use this context: %s", ctxt ? ctxt : "(none)");
    mcp_ctx_message(c, "user");
    finish_text_buf(c, &b);
}

/* ---- completion ----------------------------------------------------------------------------- */

/* Offers the candidates that start with the argument's value. */
static void complete_from(mcp_ctx *c, const char *const *candidates)
{
    const mcp_json *arg = mcp_json_get(mcp_ctx_arguments(c), "argument");
    const mcp_json *value = mcp_json_get(arg, "value");
    const char *prefix = str_or(value, "");
    for (; *candidates; candidates++)
        if (strncmp(*candidates, prefix, strlen(prefix)) == 0)
            mcp_ctx_complete_value(c, *candidates);
    mcp_ctx_finish(c);
}

static void complete_prompt_args(mcp_ctx *c, void *ud)
{
    static const char *const values[] = {"testValue1", "testValue2", "test", "other", NULL};
    complete_from(c, values);
}

static void complete_template_id(mcp_ctx *c, void *ud)
{
    static const char *const values[] = {"1", "2", "3", "123", NULL};
    complete_from(c, values);
}

/* ---- registration --------------------------------------------------------------------------- */

static const char schema_2020_12[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
    "\"$defs\":{\"address\":{\"$anchor\":\"addressDef\",\"type\":\"object\",\"properties\":{"
    "\"street\":{\"type\":\"string\"},\"city\":{\"type\":\"string\"}}}},"
    "\"properties\":{\"name\":{\"type\":\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"},"
    "\"contactMethod\":{\"type\":\"string\",\"enum\":[\"phone\",\"email\"]},"
    "\"phone\":{\"type\":\"string\"},\"email\":{\"type\":\"string\"}},"
    "\"allOf\":[{\"anyOf\":[{\"required\":[\"phone\"]},{\"required\":[\"email\"]}]}],"
    "\"if\":{\"properties\":{\"contactMethod\":{\"const\":\"phone\"}},"
    "\"required\":[\"contactMethod\"]},"
    "\"then\":{\"required\":[\"phone\"]},\"else\":{\"required\":[\"email\"]},"
    "\"additionalProperties\":false}";

typedef struct tool_spec {
    const char *name, *description, *schema;
    mcp_handler_fn fn;
    unsigned flags;
} tool_spec;

/* In tools/list order: test_simple_text must come first (conformance §10.9). */
static const tool_spec tools[] = {
    {"test_simple_text", "Returns a simple text response", NO_ARGS, tool_simple_text, MCP_INLINE},
    {"test_image_content", "Returns a 1x1 PNG image", NO_ARGS, tool_image, MCP_INLINE},
    {"test_audio_content", "Returns a short WAV clip", NO_ARGS, tool_audio, MCP_INLINE},
    {"test_embedded_resource", "Returns an embedded text resource", NO_ARGS, tool_embedded_resource,
     MCP_INLINE},
    {"test_multiple_content_types", "Returns text, an image and an embedded resource", NO_ARGS,
     tool_multiple_content, MCP_INLINE},
    {"test_tool_with_logging", "Sends three log messages while it runs", NO_ARGS, tool_logging, 0},
    {"test_error_handling", "Always returns a tool error", NO_ARGS, tool_error, MCP_INLINE},
    {"test_tool_with_progress", "Reports progress 0, 50 and 100 of 100", NO_ARGS, tool_progress, 0},
    {"test_sampling", "Asks the client's LLM to answer a prompt",
     "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\","
     "\"description\":\"The prompt to send to the LLM\"}},\"required\":[\"prompt\"]}",
     tool_sampling, 0},
    {"test_elicitation", "Asks the user for a username and an email address",
     "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\","
     "\"description\":\"The message to show the user\"}},\"required\":[\"message\"]}",
     tool_elicitation, 0},
    {"test_elicitation_sep1034_defaults", "Elicitation whose fields have defaults (SEP-1034)",
     NO_ARGS, tool_sep1034, 0},
    {"test_elicitation_sep1330_enums", "Elicitation with every enum shape (SEP-1330)", NO_ARGS,
     tool_sep1330, 0},
    {"json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features", schema_2020_12,
     tool_schema_2020_12, MCP_INLINE},
    {"test_reconnection", "Answers after the client reconnects (SSE polling, SEP-1699)", NO_ARGS,
     tool_reconnection, 0},
    {"test_missing_capability", "Needs the client's sampling capability", NO_ARGS,
     tool_missing_capability, 0},
    {"test_streaming_elicitation", "Asks the user for a name (input_required when stateless)",
     NO_ARGS, tool_streaming_elicitation, 0},
    {"test_logging_tool", "Logs one message if the request asked for logs", NO_ARGS,
     tool_logging_plain, MCP_INLINE},
    {"test_input_required_result_elicitation", "MRTR: asks for the user's name", NO_ARGS,
     tool_mrtr_elicitation, 0},
    {"test_input_required_result_sampling", "MRTR: asks the client's LLM a question", NO_ARGS,
     tool_mrtr_sampling, 0},
    {"test_input_required_result_list_roots", "MRTR: asks for the client's roots", NO_ARGS,
     tool_mrtr_roots, 0},
    {"test_input_required_result_request_state", "MRTR: carries state between rounds", NO_ARGS,
     tool_mrtr_request_state, 0},
    {"test_input_required_result_multiple_inputs", "MRTR: elicitation, sampling and roots at once",
     NO_ARGS, tool_mrtr_multiple, 0},
    {"test_input_required_result_multi_round", "MRTR: two rounds of questions", NO_ARGS,
     tool_mrtr_multi_round, 0},
    {"test_input_required_result_tampered_state", "MRTR: rejects a tampered requestState", NO_ARGS,
     tool_mrtr_tampered, 0},
    {"test_input_required_result_capabilities", "MRTR: asks only what the client declared", NO_ARGS,
     tool_mrtr_capabilities, 0},
    {"greet", "Greets someone (never a task)",
     "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
     "\"required\":[\"name\"]}",
     tool_greet, MCP_INLINE},
    {"slow_compute", "Computes for a number of seconds (may run as a task)",
     "{\"type\":\"object\",\"properties\":{\"seconds\":{\"type\":\"number\"},\"label\":"
     "{\"type\":\"string\"}}}",
     tool_slow_compute, MCP_TASK_OPTIONAL},
    {"failing_job", "A task whose job fails (a tool error)", NO_ARGS, tool_failing_job,
     MCP_TASK_REQUIRED},
    {"protocol_error_job", "A task that ends with a protocol error", NO_ARGS,
     tool_protocol_error_job, MCP_TASK_OPTIONAL},
    {"confirm_delete", "Asks for confirmation before deleting (may run as a task)",
     "{\"type\":\"object\",\"properties\":{\"filename\":{\"type\":\"string\"}}}",
     tool_confirm_delete, MCP_TASK_OPTIONAL},
    {"multi_input", "Asks two questions at once (may run as a task)", NO_ARGS, tool_multi_input,
     MCP_TASK_OPTIONAL},
    {"test_tool_with_task", "Asks a name, then finishes as a task", NO_ARGS, tool_with_task,
     MCP_TASK_REQUIRED | MCP_TASK_DEFERRED},
    {"test_header_param", "Mirrors its region argument into the Mcp-Param-Region header",
     "{\"type\":\"object\",\"properties\":{\"region\":{\"type\":\"string\","
     "\"x-mcp-header\":\"Region\"}},\"required\":[\"region\"]}",
     tool_echo_region, MCP_INLINE},
    {"echo", "Returns the message as text",
     "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}},"
     "\"required\":[\"message\"]}",
     tool_echo, MCP_INLINE},
    {"test_slow",
     "Sleeps steps x ms with progress each step; stops when cancelled (unless stubborn: a "
     "handler that ignores cancellation, for shutdown tests)",
     "{\"type\":\"object\",\"properties\":{"
     "\"steps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000},"
     "\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60000},"
     "\"stubborn\":{\"type\":\"boolean\"}}}",
     tool_slow, 0},
    {"test_serial",
     "Sleeps ms; declared MCP_SERIAL (not re-entrant): answers how many of its calls ran at "
     "once, counting itself (always 1)",
     "{\"type\":\"object\",\"properties\":{"
     "\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60000}}}",
     tool_serial, MCP_SERIAL},
};

static int add_tools(mcp_server *s, char *err, size_t errsize)
{
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        mcp_tool_def d = {.name = tools[i].name,
                          .description = tools[i].description,
                          .input_schema = tools[i].schema,
                          .handler = tools[i].fn,
                          .flags = tools[i].flags};
        if (mcp_server_add_tool(s, &d, err, errsize) != 0) return -1;
    }
    mcp_tool_def trig[] = {
        {.name = "test_trigger_tool_change",
         .description = "Sends notifications/tools/list_changed",
         .input_schema = NO_ARGS,
         .handler = tool_trigger_tool_change,
         .ud = s},
        {.name = "test_trigger_prompt_change",
         .description = "Sends notifications/prompts/list_changed",
         .input_schema = NO_ARGS,
         .handler = tool_trigger_prompt_change,
         .ud = s},
    };
    for (size_t i = 0; i < 2; i++)
        if (mcp_server_add_tool(s, &trig[i], err, errsize) != 0) return -1;
    return 0;
}

static int add_resources(mcp_server *s, char *err, size_t errsize)
{
    mcp_resource_def r[] = {
        {.uri = "test://static-text",
         .name = "static-text",
         .title = "Static Text Resource",
         .description = "A static text resource for testing",
         .mime_type = "text/plain",
         .size = -1,
         .handler = res_static_text,
         .flags = MCP_INLINE},
        {.uri = "test://static-binary",
         .name = "static-binary",
         .description = "A static binary resource (image) for testing",
         .mime_type = "image/png",
         .size = (int64_t)sizeof png_bytes,
         .handler = res_static_binary,
         .flags = MCP_INLINE},
        {.uri = "test://watched-resource",
         .name = "watched-resource",
         .description = "A resource to subscribe to",
         .mime_type = "text/plain",
         .size = -1,
         .handler = res_watched,
         .flags = MCP_INLINE},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (mcp_server_add_resource(s, &r[i], err, errsize) != 0) return -1;
    mcp_template_def t = {.uri_template = "test://template/{id}/data",
                          .name = "template",
                          .description = "A resource template with parameter substitution",
                          .mime_type = "application/json",
                          .handler = res_template,
                          .complete = complete_template_id,
                          .flags = MCP_INLINE};
    return mcp_server_add_template(s, &t, err, errsize) == 0 ? 0 : -1;
}

static int add_prompts(mcp_server *s, char *err, size_t errsize)
{
    static const mcp_prompt_arg args2[] = {
        {.name = "arg1", .description = "First test argument", .required = true},
        {.name = "arg2", .description = "Second test argument", .required = true}};
    static const mcp_prompt_arg res_arg[] = {
        {.name = "resourceUri", .description = "URI of the resource to embed", .required = true}};
    mcp_prompt_def p[] = {
        {.name = "test_simple_prompt",
         .title = "Simple Test Prompt",
         .description = "A simple prompt without arguments",
         .handler = prompt_simple,
         .flags = MCP_INLINE},
        {.name = "test_prompt_with_arguments",
         .description = "A prompt with required arguments",
         .args = args2,
         .nargs = 2,
         .handler = prompt_with_args,
         .complete = complete_prompt_args,
         .flags = MCP_INLINE},
        {.name = "test_prompt_with_embedded_resource",
         .description = "A prompt that includes an embedded resource",
         .args = res_arg,
         .nargs = 1,
         .handler = prompt_embedded_resource,
         .flags = MCP_INLINE},
        {.name = "test_prompt_with_image",
         .description = "A prompt that includes image content",
         .handler = prompt_with_image,
         .flags = MCP_INLINE},
        {.name = "test_input_required_result_prompt",
         .description = "MRTR: asks for context before building the prompt",
         .handler = prompt_mrtr},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (mcp_server_add_prompt(s, &p[i], err, errsize) != 0) return -1;
    return 0;
}

/* ---- skills (io.modelcontextprotocol/skills) ------------------------------------------------- */

static const char code_review_md[] =
    "---\n"
    "name: code-review\n"
    "description: Reviews a change for correctness, style and tests; use it before merging.\n"
    "license: MIT\n"
    "metadata:\n"
    "  author: mcpd\n"
    "  version: \"1.0\"\n"
    "---\n"
    "# Code review\n\n"
    "1. Read the change and its description.\n"
    "2. Go through [the checklist](checklist.md).\n"
    "3. Run `scripts/lint.sh` on the touched files.\n";

static const char release_notes_md[] =
    "---\n"
    "name: release-notes\n"
    "description: 'Writes release notes from the merged changes: user-visible first.'\n"
    "---\n"
    "# Release notes\n\n"
    "Group the changes by area, lead with what users notice, link each to its change.\n";

static int add_skills(mcp_server *s, char *err, size_t errsize)
{
    static const mcp_skill_file review_files[] = {
        {.path = "checklist.md",
         .mime_type = "text/markdown",
         .text = "# Checklist\n\n- Tests cover the change\n- Errors are handled\n"
                 "- Names say what things are\n"},
        {.path = "scripts/lint.sh",
         .mime_type = "text/x-shellscript",
         .text = "#!/bin/sh\nexec clang-format --dry-run --Werror \"$@\"\n"},
    };
    const mcp_skill_def k[] = {
        {.authority = "mcpd.example",
         .skill_md = code_review_md,
         .files = review_files,
         .nfiles = 2},
        {.skill_md = release_notes_md},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (mcp_server_add_skill(s, &k[i], err, errsize) != 0) return -1;
    return 0;
}

/* ---- blocking tools: block_ms, block_timeout, block_stats ------------------------------------ */
/* Handlers that block, the way a real one waits on a socket or a database: block_ms waits up to
 * `ms` for its cancellation, either in poll() on mcp_ctx_cancel_fd (via "fd", the default) or
 * on a condition variable that an mcp_ctx_on_cancel callback signals (via "callback");
 * block_timeout is the same tool with a 1000 ms timeout. block_stats tells how many are
 * running and how each ended, so tests can see a cancelled one stop. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

static atomic_int block_running, block_completed, block_cancelled;

typedef struct block_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool cancelled;
} block_wait;

static void block_wake(void *ud)
{
    block_wait *w = ud;
    pthread_mutex_lock(&w->mu);
    w->cancelled = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Waits up to ms on a condition variable; true if cancelled. */
static bool block_on_callback(mcp_ctx *c, int64_t ms)
{
    block_wait w = {.cancelled = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    mcp_ctx_on_cancel(c, block_wake, &w);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&w.mu);
    while (!w.cancelled && pthread_cond_timedwait(&w.cv, &w.mu, &until) != ETIMEDOUT) {
    }
    bool cancelled = w.cancelled;
    pthread_mutex_unlock(&w.mu);
    mcp_ctx_on_cancel(c, NULL, NULL); /* w goes with this frame */
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return cancelled;
}

/* Waits up to ms in poll() on the cancel fd; true if cancelled. */
static bool block_on_fd(mcp_ctx *c, int64_t ms)
{
    struct pollfd p = {.fd = mcp_ctx_cancel_fd(c), .events = POLLIN};
    if (p.fd < 0) return false;
    int n;
    while ((n = poll(&p, 1, (int)ms)) < 0 && errno == EINTR) {
    }
    return n > 0;
}

static void tool_block(mcp_ctx *c, void *ud)
{
    int64_t ms = int_arg(c, "ms", 1000);
    const char *via = mcp_ctx_arg_str(c, "via");
    atomic_fetch_add(&block_running, 1);
    bool cancelled =
        via && !strcmp(via, "callback") ? block_on_callback(c, ms) : block_on_fd(c, ms);
    atomic_fetch_add(cancelled ? &block_cancelled : &block_completed, 1);
    atomic_fetch_sub(&block_running, 1);
    mcp_ctx_text(c, cancelled ? "cancelled" : "done");
    mcp_ctx_finish(c); /* after a cancellation: accepted, sends nothing */
}

static void tool_block_stats(mcp_ctx *c, void *ud)
{
    char text[128];
    snprintf(text, sizeof text, "{\"running\":%d,\"completed\":%d,\"cancelled\":%d}",
             atomic_load(&block_running), atomic_load(&block_completed),
             atomic_load(&block_cancelled));
    mcp_ctx_text(c, text);
    mcp_ctx_finish(c);
}

static int add_blocking_tools(mcp_server *s, char *err, size_t errsize)
{
    const char *schema = "{\"type\":\"object\",\"properties\":{"
                         "\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":600000},"
                         "\"via\":{\"enum\":[\"fd\",\"callback\"]}}}";
    mcp_tool_def d[] = {
        {.name = "block_ms",
         .description = "Blocks for ms milliseconds, or until cancelled",
         .input_schema = schema,
         .handler = tool_block},
        {.name = "block_timeout",
         .description = "block_ms with a 1000 ms timeout",
         .input_schema = schema,
         .handler = tool_block,
         .timeout_ms = 1000},
        {.name = "block_stats",
         .description = "Counts of block_ms calls: running, completed, cancelled",
         .input_schema = NO_ARGS,
         .handler = tool_block_stats}, /* on the pool: the quick call slow ones must not delay */
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        if (mcp_server_add_tool(s, &d[i], err, errsize) != 0) return -1;
    return 0;
}

static mcp_server *build_server(void)
{
    mcp_server_info info = {.name = "everything",
                            .version = MCP_VERSION,
                            .title = "mcpd everything server",
                            .description = "Every fixture of the MCP conformance suite"};
    char err[256] = "";
    mcp_server *s = mcp_server_new(&info);
    if (!s) return NULL;
    if (add_tools(s, err, sizeof err) || add_resources(s, err, sizeof err) ||
        add_prompts(s, err, sizeof err) || add_skills(s, err, sizeof err) ||
        add_blocking_tools(s, err, sizeof err)) {
        fprintf(stderr, "everything: registration failed: %s\n", err);
        mcp_server_free(s);
        return NULL;
    }
    return s;
}

/* ---- command line --------------------------------------------------------------------------- */

static const char usage_text[] =
    "usage: everything [--listen HOST:PORT] [HTTP options]\n"
    "       everything --stdio [--max-line BYTES]\n"
    "\n"
    "The MCP conformance \"everything\" server: every fixture of the official suite.\n"
    "Without --stdio it serves Streamable HTTP (default 127.0.0.1:8080, endpoint /mcp).\n"
    "\n"
    "  --stdio                   serve MCP on stdin/stdout (newline-delimited JSON-RPC)\n"
    "  --listen HOST:PORT        serve Streamable HTTP (port 0: any free port)\n"
    "  --path PATH               the MCP endpoint (default /mcp)\n"
    "  --workers N               event-loop threads (default: CPUs this process may use)\n"
    "  --threads N               most handler threads (default: max(64, 8 x cores))\n"
    "  --queue-max N             queued handler calls before 503 (default 1024)\n"
    "  --max-sessions N          legacy sessions (default 10000)\n"
    "  --session-idle-ms MS      idle session time-out (default 1800000)\n"
    "  --sse-keepalive-ms MS     SSE keep-alive period (default 15000)\n"
    "  --replay-events N         events each SSE stream keeps for a resume (default 256)\n"
    "  --replay-bytes BYTES      bytes each SSE stream keeps for a resume (default 1048576)\n"
    "  --replay-ttl-ms MS        how long an event stays resumable (default 300000)\n"
    "  --drain-ms MS             on SIGTERM/SIGINT, time for in-flight work (default 10000);\n"
    "                            5 s after it, or at a second signal, the process exits\n"
    "  --max-body BYTES          request body limit (default 4194304)\n"
    "  --max-conns N             connections per worker (default 10000)\n"
    "  --header-timeout-ms MS    time to receive a request (default 10000)\n"
    "  --idle-timeout-ms MS      keep-alive idle time (default 60000)\n"
    "  --write-timeout-ms MS     drop a client that reads nothing for this long (default 30000)\n"
    "  --max-unsent-output BYTES output held for one connection (default 8388608)\n"
    "  --max-client-requests N   elicitation/sampling/roots awaiting answers per session (64)\n"
    "  --max-client-requests-total N   the same over all sessions (default 4096)\n"
    "  --allow-origin ORIGIN     allow this Origin (repeatable; * for any)\n"
    "  --allow-host HOST         allow this Host name (repeatable; * for any)\n"
    "  --admin-listen HOST:PORT  serve /metrics, /health, /ready, /status there too (always\n"
    "                            on a loopback --listen; only there otherwise)\n"
    "  --status-public           /status on a non-loopback admin listener without auth\n"
    "  --no-request-metrics      no per-method/per-tool series (to measure their cost)\n"
    "  --access-log FILE         one line per HTTP request to FILE (\"-\": stderr); SIGHUP\n"
    "                            reopens it (rotation)\n"
    "  --access-log-format FMT   text (default) or json\n"
    "  --max-line BYTES          longest accepted stdio line (default 4 MiB)\n"
    "  --queue-target-ms MS      shed a client whose handler calls wait longer (default 100)\n"
    "  --client-queue-max N      handler calls one client may have waiting (queue-max / 4)\n"
    "  --alert NAME:SIGNAL:RAISE:CLEAR:FOR_MS[:WINDOW_MS]   an alert rule (repeatable; replaces\n"
    "                            the defaults); SIGNAL: p99_latency queue_wait error_rate\n"
    "                            in_flight rss fds\n"
    "  --help                    show this help\n"
    "  --version                 print the version\n";

#define MAX_LIST 32

typedef struct cli {
    bool stdio;
    const char *listen;
    char host[256], admin_host[256];
    mcp_stdio_options opts;
    mcp_http_options http;
    const char *origins[MAX_LIST], *hosts[MAX_LIST];
    mcp_alert_rule rules[MAX_LIST];
    char rule_text[MAX_LIST][128];
} cli;

static int parse_num(const char *s, unsigned long long max, bool zero_ok, unsigned long long *out);

/* NAME:SIGNAL:RAISE:CLEAR:FOR_MS[:WINDOW_MS] into the next rule of o. Returns 0 or -1. */
static int parse_alert(const char *a, cli *o)
{
    size_t n = o->http.n_alert_rules;
    if (n == MAX_LIST || strlen(a) >= sizeof o->rule_text[n]) return -1;
    char *t = strcpy(o->rule_text[n], a), *f[6] = {0};
    int nf = 0;
    for (char *p = t; nf < 6; nf++) {
        f[nf] = p;
        p = strchr(p, ':');
        if (!p) {
            nf++;
            break;
        }
        *p++ = '\0';
    }
    if (nf < 5) return -1;
    char *end;
    mcp_alert_rule *r = &o->rules[n];
    r->name = f[0];
    r->signal = f[1];
    r->raise = strtod(f[2], &end);
    if (*end) return -1;
    r->clear = strtod(f[3], &end);
    if (*end) return -1;
    unsigned long long v;
    if (parse_num(f[4], 1u << 31, true, &v)) return -1;
    r->for_ms = (uint32_t)v;
    if (f[5] && parse_num(f[5], 1u << 31, true, &v)) return -1;
    r->window_ms = f[5] ? (uint32_t)v : 0;
    o->http.alert_rules = o->rules;
    o->http.n_alert_rules = n + 1;
    return 0;
}

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "everything: %s%s%s\nTry 'everything --help'.\n", what, arg ? ": " : "",
            arg ? arg : "");
    return 2;
}

/* Parses a decimal in 1..max (0 too if zero_ok). Returns 0 or -1. */
static int parse_num(const char *s, unsigned long long max, bool zero_ok, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || (v == 0 && !zero_ok) || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_listen(const char *a, cli *o)
{
    if (mcp_parse_hostport(a, o->host, sizeof o->host, &o->http.port)) return -1;
    o->http.host = o->host;
    return 0;
}

typedef struct num_flag {
    const char *name;
    unsigned long long max;
    int kind; /* 0 unsigned, 1 size_t, 2 uint32_t */
    size_t off;
} num_flag;

#define HOPT(f) offsetof(mcp_http_options, f)
static const num_flag num_flags[] = {
    {"--workers", 256, 0, HOPT(workers)},
    {"--threads", 1024, 0, HOPT(threads)},
    {"--queue-max", 1u << 24, 1, HOPT(queue_max)},
    {"--max-sessions", 1u << 24, 1, HOPT(max_sessions)},
    {"--session-idle-ms", 1u << 31, 2, HOPT(session_idle_ms)},
    {"--sse-keepalive-ms", 1u << 31, 2, HOPT(sse_keepalive_ms)},
    {"--drain-ms", 1u << 31, 2, HOPT(drain_ms)},
    {"--max-body", 1u << 30, 1, HOPT(max_body)},
    {"--max-conns", 1u << 24, 1, HOPT(max_conns)},
    {"--header-timeout-ms", 1u << 31, 2, HOPT(header_timeout_ms)},
    {"--idle-timeout-ms", 1u << 31, 2, HOPT(idle_timeout_ms)},
    {"--write-timeout-ms", 1u << 31, 2, HOPT(write_timeout_ms)},
    {"--max-unsent-output", 1u << 30, 1, HOPT(max_unsent_output)},
    {"--max-client-requests", 1u << 24, 1, HOPT(max_client_requests)},
    {"--max-client-requests-total", 1u << 24, 1, HOPT(max_client_requests_total)},
    {"--replay-events", 1u << 20, 2, HOPT(replay_events)},
    {"--replay-bytes", 1u << 30, 1, HOPT(replay_bytes)},
    {"--replay-ttl-ms", 1u << 31, 2, HOPT(replay_ttl_ms)},
    {"--queue-target-ms", 1u << 31, 2, HOPT(queue_target_ms)},
    {"--client-queue-max", 1u << 24, 1, HOPT(client_queue_max)},
};

/* Parses argv into o. Returns -1 to go on, or the exit code (0 after --help/--version). */
static int parse_args(int argc, char **argv, cli *o)
{
    bool http_flag = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        const num_flag *nf = NULL;
        for (size_t k = 0; k < sizeof num_flags / sizeof *num_flags; k++)
            if (!strcmp(a, num_flags[k].name)) nf = &num_flags[k];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("everything %s\n", MCP_VERSION);
            return 0;
        } else if (strcmp(a, "--stdio") == 0) {
            o->stdio = true;
        } else if (nf) {
            unsigned long long v;
            if (!next) return bad_usage("missing value after", a);
            if (parse_num(next, nf->max, false, &v)) return bad_usage("not a valid number", next);
            char *f = (char *)&o->http + nf->off;
            if (nf->kind == 0) *(unsigned *)(void *)f = (unsigned)v;
            if (nf->kind == 1) *(size_t *)(void *)f = (size_t)v;
            if (nf->kind == 2) *(uint32_t *)(void *)f = (uint32_t)v;
            http_flag = true;
            i++;
        } else if (strcmp(a, "--listen") == 0) {
            if (!next) return bad_usage("--listen needs HOST:PORT", NULL);
            if (parse_listen(next, o)) return bad_usage("--listen: not HOST:PORT", next);
            o->listen = argv[++i];
        } else if (strcmp(a, "--admin-listen") == 0) {
            if (!next ||
                mcp_parse_hostport(next, o->admin_host, sizeof o->admin_host, &o->http.admin_port))
                return bad_usage("--admin-listen needs HOST:PORT", next);
            o->http.admin_host = o->admin_host;
            http_flag = true;
            i++;
        } else if (strcmp(a, "--access-log") == 0 || strcmp(a, "--access-log-format") == 0) {
            if (!next) return bad_usage("missing value after", a);
            if (a[12] && strcmp(next, "text") && strcmp(next, "json"))
                return bad_usage("--access-log-format must be text or json, not", next);
            *(a[12] ? &o->http.access_log_format : &o->http.access_log) = argv[++i];
            http_flag = true;
        } else if (strcmp(a, "--no-request-metrics") == 0) {
            o->http.no_request_metrics = true;
            http_flag = true;
        } else if (strcmp(a, "--status-public") == 0) {
            o->http.status_public = true;
            http_flag = true;
        } else if (strcmp(a, "--path") == 0) {
            if (!next || next[0] != '/')
                return bad_usage("--path needs a path starting with /", next);
            o->http.path = argv[++i];
            http_flag = true;
        } else if (strcmp(a, "--allow-origin") == 0 || strcmp(a, "--allow-host") == 0) {
            bool origin = a[8] == 'o';
            size_t *n = origin ? &o->http.n_allowed_origins : &o->http.n_allowed_hosts;
            if (!next || !*next) return bad_usage("missing value after", a);
            if (*n == MAX_LIST) return bad_usage("too many values for", a);
            (origin ? o->origins : o->hosts)[(*n)++] = argv[++i];
            http_flag = true;
        } else if (strcmp(a, "--alert") == 0) {
            if (!next || parse_alert(next, o))
                return bad_usage("--alert: not NAME:SIGNAL:RAISE:CLEAR:FOR_MS[:WINDOW_MS]", next);
            i++;
            http_flag = true;
        } else if (strcmp(a, "--max-line") == 0) {
            unsigned long long v;
            if (!next) return bad_usage("--max-line needs a byte count", NULL);
            if (parse_num(next, 1ull << 31, false, &v))
                return bad_usage("--max-line: not a byte count in 1..2147483648", next);
            o->opts.max_line = (size_t)v;
            i++;
        } else {
            return bad_usage("unknown option", a);
        }
    }
    if (o->stdio && (o->listen || http_flag))
        return bad_usage("--stdio excludes --listen and the HTTP options", NULL);
    if (!o->stdio && !o->listen) parse_listen("127.0.0.1:8080", o);
    o->http.allowed_origins = o->origins;
    o->http.allowed_hosts = o->hosts;
    return -1;
}

int main(int argc, char **argv)
{
    cli o = {0};
    mcp_keep_freed_memory(); /* big messages: docs/benchmarks.md, scenario 6 */
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    mcp_server *s = build_server();
    if (!s) return 1;
    rc = o.stdio ? mcp_serve_stdio(s, &o.opts) : mcp_serve_http(s, &o.http);
    if (rc == MCP_SERVE_ABANDONED) /* handlers ignore the stop: leave them, and s, to the exit */
        _exit(0);
    mcp_server_free(s);
    return rc == MCP_SERVE_OK ? 0 : rc == MCP_SERVE_ADDRINUSE ? 2 : 1; /* 2: address in use */
}
