/* http.c - the `http` tool kind: one HTTP request template per tool, sent to a guarded upstream.
 *
 * The glue between kind.h and the engine (http_engine.c: templates, encoding, the keep-alive
 * pool, retries, the upstream's breaker, limiter and health check). Configure reads the entry
 * into an httpe_config and builds the template, so a placeholder that names no argument or a
 * URL whose host would come from an argument is a config error. The input schema comes from
 * "arguments"; "output_schema" is passed through.
 *
 * A call is built and passes the upstream's guards on the thread that runs it, which then
 * returns. Over Streamable HTTP the call runs inline on an HTTP worker, and a plain http://
 * request is sent from that worker's loop (mcp_ctx_loop), which ends the call from the answer;
 * otherwise (https, a proxy, redirects, stdio, a full upstream limit) the engine's transfer
 * thread (libcurl) does, and ends it. The kind's cancel wakes the loops, which stop their
 * cancelled requests at once; the transfer thread polls mcpd_call_cancelled. Both stop at the
 * call's deadline. The answer: a
 * 2xx JSON response becomes structured content (an object as it is, anything else as
 * {"result": value}) and text; another text response is text; an image or audio response is
 * that content; 4xx is a tool error (the upstream is fine), 5xx and connection failures a
 * backend error, which the breakers count; a
 * refusal by the upstream's open breaker says when to retry. */
#include "kind.h"
#include "mcpd/args_schema.h"
#include "mcpd/breaker.h"
#include "mcpd/http_kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char http_schema[] =
    "{\"type\":\"object\",\"required\":[\"name\",\"url\"],"
    "\"properties\":{"
    "\"url\":{\"type\":\"string\",\"minLength\":8,\"maxLength\":8192},"
    "\"method\":{\"enum\":[\"GET\",\"HEAD\",\"POST\",\"PUT\",\"PATCH\",\"DELETE\",\"OPTIONS\"]},"
    "\"query\":{\"type\":\"object\",\"maxProperties\":64,"
    "\"additionalProperties\":{\"type\":[\"string\",\"number\",\"boolean\"]}},"
    "\"headers\":{\"type\":\"object\",\"maxProperties\":64,"
    "\"additionalProperties\":{\"type\":\"string\",\"maxLength\":8192}},"
    "\"body\":{},"
    "\"body_type\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256},"
    "\"arguments\":{\"type\":\"object\",\"maxProperties\":64,"
    "\"propertyNames\":{\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]{0,63}$\"},"
    "\"additionalProperties\":{\"type\":\"object\",\"properties\":{\"optional\":{\"type\":"
    "\"boolean\"}}}},"
    "\"retries\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10},"
    "\"backoff_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":60000},"
    "\"max_backoff_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000},"
    "\"connect_timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000},"
    "\"max_response_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":268435456},"
    "\"follow_redirects\":{\"type\":\"boolean\"},"
    "\"output_schema\":{\"type\":\"object\"},"
    "\"upstream\":{\"$ref\":\"#/$defs/upstream\"}"
    "},"
    "\"$defs\":{\"upstream\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128},"
    "\"concurrency\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65536},"
    "\"queue_wait_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000},"
    "\"max_idle\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1024},"
    "\"health\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{\"url\":{\"type\":\"string\",\"minLength\":8},"
    "\"path\":{\"type\":\"string\",\"pattern\":\"^/\"},"
    "\"interval_ms\":{\"type\":\"integer\",\"minimum\":10,\"maximum\":3600000},"
    "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000},"
    "\"unhealthy_after\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100},"
    "\"healthy_after\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}}},"
    "\"breaker\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{\"window_ms\":{\"type\":\"integer\",\"minimum\":10,\"maximum\":3600000},"
    "\"min_calls\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000},"
    "\"failure_percent\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100},"
    "\"cooldown_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3600000},"
    "\"probes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}}}"
    "}}}}";

static uint32_t u32(const mcp_json *o, const char *key)
{
    int64_t v;
    return mcp_json_int(mcp_json_get(o, key), &v) ? (uint32_t)v : 0;
}

void mcpd_http_upstream_config(const mcp_json *up, const char *origin, httpe_upstream_config *c,
                               char *health_url, size_t health_size)
{
    const mcp_json *h = mcp_json_get(up, "health"), *b = mcp_json_get(up, "breaker");
    *c = (httpe_upstream_config){.name = mcp_json_str(mcp_json_get(up, "name"), NULL),
                                 .concurrency = u32(up, "concurrency"),
                                 .queue_wait_ms = u32(up, "queue_wait_ms"),
                                 .max_idle = u32(up, "max_idle"),
                                 .health_interval_ms = u32(h, "interval_ms"),
                                 .health_timeout_ms = u32(h, "timeout_ms"),
                                 .unhealthy_after = u32(h, "unhealthy_after"),
                                 .healthy_after = u32(h, "healthy_after"),
                                 .breaker_window_ms = u32(b, "window_ms"),
                                 .breaker_min_calls = u32(b, "min_calls"),
                                 .breaker_failure_percent = u32(b, "failure_percent"),
                                 .breaker_cooldown_ms = u32(b, "cooldown_ms"),
                                 .breaker_probes = u32(b, "probes")};
    const char *hu = mcp_json_str(mcp_json_get(h, "url"), NULL);
    const char *hp = mcp_json_str(mcp_json_get(h, "path"), NULL);
    if (hu)
        snprintf(health_url, health_size, "%s", hu);
    else if (hp)
        snprintf(health_url, health_size, "%s%s", origin, hp);
    c->health_url = hu || hp ? health_url : NULL;
}

/* The origin (scheme://authority) of url, for a health path; empty if it has none. */
static void origin_of(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    size_t n = p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : 0;
    snprintf(out, size, "%.*s", (int)n, url);
}

static int http_configure(const mcpd_env *env, const mcp_json *e, const char *pointer,
                          mcpd_tools *tools, mcpd_errs *errs, void **inst)
{
    (void)env;
    const char *url = mcp_json_str(mcp_json_get(e, "url"), NULL);
    char origin[1024], health[2048];
    origin_of(url, origin, sizeof origin);
    httpe_config c = {.method = mcp_json_str(mcp_json_get(e, "method"), NULL),
                      .url = url,
                      .query = mcp_json_get(e, "query"),
                      .headers = mcp_json_get(e, "headers"),
                      .body = mcp_json_get(e, "body"),
                      .body_type = mcp_json_str(mcp_json_get(e, "body_type"), NULL),
                      .arguments = mcp_json_get(e, "arguments"),
                      .retries = u32(e, "retries"),
                      .retries_set = mcp_json_get(e, "retries") != NULL,
                      .backoff_ms = u32(e, "backoff_ms"),
                      .max_backoff_ms = u32(e, "max_backoff_ms"),
                      .connect_timeout_ms = u32(e, "connect_timeout_ms"),
                      .max_response_bytes = u32(e, "max_response_bytes")};
    mcp_json_bool(mcp_json_get(e, "follow_redirects"), &c.follow_redirects);
    mcpd_http_upstream_config(mcp_json_get(e, "upstream"), origin, &c.upstream, health,
                              sizeof health);
    c.upstream.generation = env->generation;
    char err[512], key[32], ptr[512];
    httpe *t = httpe_new(&c, err, sizeof err, key, sizeof key);
    if (!t) {
        snprintf(ptr, sizeof ptr, "%s/%s", pointer, key);
        mcpd_err(errs, ptr, "%s", err);
        return -1;
    }
    char *input = mcpd_args_schema(c.arguments, NULL, 0);
    char *output = mcp_json_text(mcp_json_get(e, "output_schema"), NULL);
    /* quick: a call only builds the request and queues it (httpe_start never blocks).
     * output_trusted without an output_schema: mcpd_http_answer hands over only JSON it parsed
     * itself (the same parser and limits as libmcp's), so libmcp need not parse it again. */
    mcpd_tool_spec spec = {.input_schema = input,
                           .output_schema = output,
                           .tool = t,
                           .quick = true,
                           .output_trusted = output == NULL};
    int rc = mcpd_tools_add(tools, &spec, NULL, errs);
    free(input);
    free(output);
    if (rc != 0) {
        httpe_free(t);
        return -1;
    }
    *inst = t;
    return 0;
}

static bool should_stop(void *ud)
{
    return mcpd_call_cancelled(ud);
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = c < 0x80             ? 0
                   : (c & 0xE0) == 0xC0 ? 1
                   : (c & 0xF0) == 0xE0 ? 2
                   : (c & 0xF8) == 0xF0 ? 3
                                        : 9;
        if (k == 9 || i + k >= n + (k ? 0 : 1)) return false;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return false;
        i += k + 1;
    }
    return true;
}

void mcpd_http_answer(mcp_ctx *ctx, const httpe_result *r)
{
    const char *ct = r->content_type ? r->content_type : "";
    if (r->json) {
        mcp_json_doc *d = mcp_json_parse(r->body, r->body_len, 0, NULL);
        if (d) {
            const mcp_json *v = mcp_json_root(d);
            if (mcp_json_typeof(v) == MCP_JSON_OBJECT) {
                /* from its '{' to its '}' (MCP_OUTPUT_TRUSTED checks only the '{', and a
                 * trailing newline copied into a stdio message would end it early) */
                char *end = r->body + r->body_len;
                while (end > r->body &&
                       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
                    end--;
                char was = *end;
                *end = 0;
                mcp_ctx_structured(ctx, r->body + strspn(r->body, " \t\r\n"));
                *end = was;
            } else {
                mcp_jw *w = mcp_jw_new();
                mcp_jw_object(w);
                mcp_jw_key(w, "result");
                mcp_jw_value(w, v);
                mcp_jw_object_end(w);
                mcp_ctx_structured(ctx, mcp_jw_text(w, NULL));
                mcp_jw_free(w);
            }
            mcp_json_doc_free(d);
        }
    }
    if (!strncmp(ct, "image/", 6) || !strncmp(ct, "audio/", 6)) {
        char mime[128];
        snprintf(mime, sizeof mime, "%.*s", (int)strcspn(ct, "; "), ct);
        if (ct[0] == 'i')
            mcp_ctx_image(ctx, r->body, r->body_len, mime);
        else
            mcp_ctx_audio(ctx, r->body, r->body_len, mime);
    } else if (utf8_ok((const unsigned char *)r->body, r->body_len)) {
        mcp_ctx_textn(ctx, r->body, r->body_len);
    } else {
        char note[200];
        snprintf(note, sizeof note, "(%zu bytes of %s, not text)", r->body_len,
                 *ct ? ct : "an unknown type");
        mcp_ctx_text(ctx, note);
    }
}

/* The end of a request (the transfer thread, or the handler thread when it was refused). */
static void http_done(void *ud, httpe_result *r)
{
    mcpd_call *c = ud;
    switch (r->status) {
    case HTTPE_OK:
        mcpd_http_answer(mcpd_call_ctx(c), r);
        httpe_result_free(r);
        mcpd_call_finish(c, MCPD_OK);
        return;
    case HTTPE_CLIENT_ERROR:
        mcpd_call_fail(c, MCPD_TOOL_ERROR, "%s", r->message);
        break;
    case HTTPE_UPSTREAM_ERROR:
        mcpd_call_fail(c, MCPD_BACKEND_ERROR, "%s", r->message);
        break;
    case HTTPE_TIMEOUT:
        mcpd_call_fail(c, MCPD_TIMEOUT, "%s", r->message);
        break;
    case HTTPE_CANCELLED:
        mcpd_call_fail(c, MCPD_CANCELLED, "%s", r->message);
        break;
    /* refused by the upstream's own breaker or limit: already counted there */
    case HTTPE_REFUSED:
        mcpd_call_fail(c, MCPD_TOOL_ERROR, "%s", r->message);
        break;
    }
    httpe_result_free(r);
}

void mcpd_http_call(httpe *t, mcpd_call *c)
{
    int64_t left = mcpd_call_remaining_ms(c);
    mcp_loop *loop = mcp_ctx_loop(mcpd_call_ctx(c)); /* inline on an HTTP worker: its loop */
    httpe_start(t, mcpd_call_args(c), mcpd_now_ms() + (uint64_t)(left > 0 ? left : 1), loop,
                should_stop, c, http_done);
}

void mcpd_http_cancel(void *inst, mcpd_call *c)
{
    (void)inst, (void)c;
    httpe_wake_cancelled(); /* the loops look at their requests' should_stop */
}

static void http_call(void *inst, mcpd_call *c)
{
    mcpd_http_call(inst, c);
}

static void http_free(void *inst)
{
    httpe_free(inst);
}

const mcpd_kind mcpd_kind_http = {
    .version = MCPD_KIND_VERSION,
    .name = "http",
    .config_schema = http_schema,
    .configure = http_configure,
    .call = http_call,
    .cancel = mcpd_http_cancel,
    .free = http_free,
    .collect = httpe_collect, /* the upstreams, shared with openapi's tools */
};
