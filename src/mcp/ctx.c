/* ctx.c - mcp_ctx as handlers see it: read the request, build the answer, finish.
 *
 * The answer is built as a list of JSON items in ctx->body: content blocks for tools/call,
 * PromptMessages ({role, content}) for prompts/get, ResourceContents for resources/read,
 * strings for completion/complete. mcp_ctx_finish() wraps them in the method's result
 * object, checks structured content against the tool's output schema, and sends the
 * response. Every item is written with the streaming JSON writer, so no DOM is built.
 *
 * A ctx is used by one thread at a time: first the thread that decoded the request, then
 * the handler's thread; the executor hand-off orders the two. Finishing frees the ctx (see
 * ctx_send_final in engine.c), and with it the request's arena. */
#include "base/log.h"
#include "mcp/ask.h"
#include "mcp/feature.h"
#include "rt/wake.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIT(b, s)  mcp_buf_append((b), (s), sizeof(s) - 1)
#define MAX_BODY   (64u << 20)
#define BIG_TEXT   (64u << 10) /* text items this long may skip body (big_text) */
#define MAX_STATE  (16u << 10)
#define MAX_VALUES 100

/* ---- reading ----------------------------------------------------------------------------- */

const char *mcp_ctx_method(const mcp_ctx *c)
{
    return c->method_name;
}

const char *mcp_ctx_name(const mcp_ctx *c)
{
    return c->name;
}

const json_value *mcp_ctx_arguments(const mcp_ctx *c)
{
    return c->args;
}

const char *mcp_ctx_protocol_version(const mcp_ctx *c)
{
    return c->version;
}

const json_value *mcp_ctx_client_capabilities(const mcp_ctx *c)
{
    return c->caps;
}

bool mcp_ctx_client_supports(const mcp_ctx *c, const char *path)
{
    const json_value *v = c->caps;
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        v = json_getn(v, path, n);
        if (!v || v->type == JSON_NULL || (v->type == JSON_BOOL && !v->b)) return false;
        path += n + (dot ? 1 : 0);
    }
    return true;
}

const json_value *mcp_ctx_meta(const mcp_ctx *c)
{
    return c->meta;
}

bool mcp_ctx_cancelled(const mcp_ctx *c)
{
    return atomic_load(&((mcp_ctx *)c)->cancelled);
}

/* ---- cancellation a handler can wait on ------------------------------------------------------ */

void ctx_wake_init(mcp_ctx *c)
{
    pthread_mutex_init(&c->wake_mu, NULL);
    c->cancel_fd = -1;
}

void ctx_wake_free(mcp_ctx *c)
{
    rt_wake_close(c->cancel_fd);
    pthread_mutex_destroy(&c->wake_mu);
}

void ctx_cancel(mcp_ctx *c)
{
    if (atomic_exchange(&c->cancelled, true)) return;
    pthread_mutex_lock(&c->wake_mu);
    c->woken = true;
    void (*fn)(void *) = c->on_cancel;
    void *ud = c->on_cancel_ud;
    c->on_cancel = NULL;
    if (c->cancel_fd >= 0) rt_wake_signal(c->cancel_fd);
    pthread_mutex_unlock(&c->wake_mu);
    if (fn)
        fn(ud); /* outside wake_mu: fn may take the handler's lock, which may be waiting
                   in mcp_ctx_on_cancel */
}

void ctx_wake_forget(mcp_ctx *c)
{
    pthread_mutex_lock(&c->wake_mu);
    c->on_cancel = NULL;
    pthread_mutex_unlock(&c->wake_mu);
}

int mcp_ctx_on_cancel(mcp_ctx *c, void (*fn)(void *ud), void *ud)
{
    pthread_mutex_lock(&c->wake_mu);
    bool now = c->woken;
    c->on_cancel = now ? NULL : fn;
    c->on_cancel_ud = ud;
    pthread_mutex_unlock(&c->wake_mu);
    if (now && fn) fn(ud);
    return 0;
}

int mcp_ctx_cancel_fd(mcp_ctx *c)
{
    pthread_mutex_lock(&c->wake_mu);
    if (c->cancel_fd < 0) {
        int fd = rt_wake_open();
        if (fd < 0) {
            pthread_mutex_unlock(&c->wake_mu);
            return fd;
        }
        c->cancel_fd = fd;
        if (c->woken) rt_wake_signal(fd);
    }
    int fd = c->cancel_fd;
    pthread_mutex_unlock(&c->wake_mu);
    return fd;
}

/* ---- items ------------------------------------------------------------------------------- */

/* Starts one item in body: a comma when needed and, for prompts, the message wrapper. */
static void item_begin(mcp_ctx *c, json_writer *w)
{
    if (!c->body.data) {
        mcp_buf_init(&c->body, mcp_arena_alloc(&c->arena, 1024), 1024, MAX_BODY);
    }
    if (c->nitems++) mcp_buf_putc(&c->body, ',');
    json_writer_init(w, &c->body, false);
    if (c->method == M_PROMPTS_GET) {
        json_write_obj_begin(w);
        json_write_keyz(w, "role");
        json_write_strz(w, c->role ? c->role : "user");
        json_write_keyz(w, "content");
    }
}

static void item_end(mcp_ctx *c, json_writer *w)
{
    if (c->method == M_PROMPTS_GET) json_write_obj_end(w);
}

static void w_str(json_writer *w, const char *key, const char *val)
{
    if (!val) return;
    json_write_keyz(w, key);
    json_write_strz(w, val);
}

/* resources/read contents entry: {uri, mimeType, text|blob}. */
static void contents_entry(mcp_ctx *c, const char *uri, const char *mime, const char *text,
                           size_t tlen, const void *blob, size_t blen, const char *b64)
{
    json_writer w;
    item_begin(c, &w);
    json_write_obj_begin(&w);
    w_str(&w, "uri", uri ? uri : c->name);
    w_str(&w, "mimeType", mime ? mime : c->entry ? c->entry->mime : NULL);
    if (text) {
        json_write_keyz(&w, "text");
        json_write_str(&w, text, tlen);
    } else if (b64) {
        w_str(&w, "blob", b64);
    } else {
        json_write_keyz(&w, "blob");
        json_write_base64(&w, blob, blen);
    }
    json_write_obj_end(&w);
}

void mcp_ctx_textn(mcp_ctx *c, const char *text, size_t len)
{
    if (c->method == M_RES_READ) return contents_entry(c, NULL, NULL, text, len, NULL, 0, NULL);
    json_writer w;
    item_begin(c, &w);
    json_write_obj_begin(&w);
    json_write_keyz(&w, "type");
    json_write_strz(&w, "text");
    json_write_keyz(&w, "text");
    if (len >= BIG_TEXT && !c->big_text && len <= MAX_BODY - c->body.len &&
        mcp_arena_owns(&c->arena, text)) {
        /* a request's own string (an echo): escaped once, straight into the result */
        c->big_text = text;
        c->big_len = len;
        c->big_at = c->body.len;
        json_write_raw(&w, "", 0); /* the value's place: body_into puts the text there */
    } else {
        json_write_str(&w, text, len);
    }
    json_write_obj_end(&w);
    item_end(c, &w);
}

void mcp_ctx_text(mcp_ctx *c, const char *text)
{
    if (!text) {
        ctx_mistake(c, "mcp_ctx_text: NULL text");
        return;
    }
    mcp_ctx_textn(c, text, strlen(text));
}

/* image / audio block from raw bytes (data) or base64 text (b64). */
static void media(mcp_ctx *c, const char *type, const void *data, size_t len, const char *b64,
                  const char *mime)
{
    if (c->method == M_RES_READ) return contents_entry(c, NULL, mime, NULL, 0, data, len, b64);
    json_writer w;
    item_begin(c, &w);
    json_write_obj_begin(&w);
    w_str(&w, "type", type);
    json_write_keyz(&w, "data");
    if (b64)
        json_write_strz(&w, b64);
    else
        json_write_base64(&w, data, len);
    w_str(&w, "mimeType", mime);
    json_write_obj_end(&w);
    item_end(c, &w);
}

void mcp_ctx_image(mcp_ctx *c, const void *data, size_t len, const char *mime_type)
{
    media(c, "image", data, len, NULL, mime_type);
}

void mcp_ctx_audio(mcp_ctx *c, const void *data, size_t len, const char *mime_type)
{
    media(c, "audio", data, len, NULL, mime_type);
}

void mcp_ctx_image_b64(mcp_ctx *c, const char *base64, const char *mime_type)
{
    media(c, "image", NULL, 0, base64, mime_type);
}

void mcp_ctx_audio_b64(mcp_ctx *c, const char *base64, const char *mime_type)
{
    media(c, "audio", NULL, 0, base64, mime_type);
}

void mcp_ctx_resource_link(mcp_ctx *c, const char *uri, const char *name, const char *mime_type,
                           const char *description)
{
    json_writer w;
    item_begin(c, &w);
    json_write_obj_begin(&w);
    w_str(&w, "type", "resource_link");
    w_str(&w, "uri", uri);
    w_str(&w, "name", name);
    w_str(&w, "mimeType", mime_type);
    w_str(&w, "description", description);
    json_write_obj_end(&w);
    item_end(c, &w);
}

/* Embedded resource block (tools, prompts) or a contents entry (resources/read). */
static void embedded(mcp_ctx *c, const char *uri, const char *mime, const char *text,
                     const void *data, size_t len)
{
    if (c->method == M_RES_READ)
        return contents_entry(c, uri, mime, text, text ? strlen(text) : 0, data, len, NULL);
    json_writer w;
    item_begin(c, &w);
    json_write_obj_begin(&w);
    w_str(&w, "type", "resource");
    json_write_keyz(&w, "resource");
    json_write_obj_begin(&w);
    w_str(&w, "uri", uri);
    w_str(&w, "mimeType", mime);
    if (text) {
        w_str(&w, "text", text);
    } else {
        json_write_keyz(&w, "blob");
        json_write_base64(&w, data, len);
    }
    json_write_obj_end(&w);
    json_write_obj_end(&w);
    item_end(c, &w);
}

void mcp_ctx_resource_text(mcp_ctx *c, const char *uri, const char *mime_type, const char *text)
{
    embedded(c, uri, mime_type, text ? text : "", NULL, 0);
}

void mcp_ctx_resource_blob(mcp_ctx *c, const char *uri, const char *mime_type, const void *data,
                           size_t len)
{
    embedded(c, uri, mime_type, NULL, data, len);
}

/* Parses JSON text a handler gave to `fn`; NULL after recording the mistake (not an object,
 * or not JSON: with the parser's line and column). */
static json_value *handler_json(mcp_ctx *c, const char *json, const char *fn)
{
    json_error je;
    json_value *v = json ? json_parse(json, strlen(json), &c->arena, NULL, &je) : NULL;
    if (!json) {
        ctx_mistake(c, "%s: no JSON text", fn);
    } else if (!v) {
        char where[200];
        ctx_mistake(c, "%s: invalid JSON: %s", fn, json_error_str(&je, where, sizeof where));
    } else if (v->type != JSON_OBJECT) {
        ctx_mistake(c, "%s: expected a JSON object, got %s", fn, json_type_name(v));
        v = NULL;
    }
    return v;
}

int mcp_ctx_content_json(mcp_ctx *c, const char *json)
{
    json_value *v = handler_json(c, json, "mcp_ctx_content_json");
    if (!v) return MCP_EINVAL;
    json_writer w;
    item_begin(c, &w);
    json_write_value(&w, v);
    item_end(c, &w);
    return 0;
}

void mcp_ctx_message(mcp_ctx *c, const char *role)
{
    if (!role || (strcmp(role, "user") && strcmp(role, "assistant"))) {
        ctx_mistake(c, "mcp_ctx_message: role must be \"user\" or \"assistant\"");
        return;
    }
    c->role = role[0] == 'a' ? "assistant" : "user";
}

void mcp_ctx_description(mcp_ctx *c, const char *description)
{
    c->description =
        description ? mcp_arena_strndup(&c->arena, description, strlen(description)) : NULL;
}

/* MCP_OUTPUT_TRUSTED: taken at the handler's word, but in sanitizer builds (the test builds),
 * which check it as if the flag were not set (mcp.h). */
static bool output_trusted(const mcp_ctx *c)
{
    return !MCP_CHECK_TRUSTED_OUTPUT && c->entry && (c->entry->flags & MCP_OUTPUT_TRUSTED);
}

int mcp_ctx_structured(mcp_ctx *c, const char *json)
{
    json_value *v = NULL;
    if (!output_trusted(c)) {
        v = handler_json(c, json, "mcp_ctx_structured");
        if (!v) return MCP_EINVAL;
    } else if (!json || json[0] != '{') {
        return ctx_mistake(c, "mcp_ctx_structured: expected a JSON object");
    }
    size_t n = strlen(json);
    c->structured_v = v;
    c->structured = mcp_arena_strndup(&c->arena, json, n);
    c->structured_len = n;
    return 0;
}

void mcp_ctx_complete_value(mcp_ctx *c, const char *value)
{
    if (!value) {
        ctx_mistake(c, "mcp_ctx_complete_value: NULL value");
        return;
    }
    c->total++;
    if (c->nitems >= MAX_VALUES) {
        c->has_more = true;
        return;
    }
    json_writer w;
    item_begin(c, &w);
    json_write_strz(&w, value);
}

void mcp_ctx_complete_total(mcp_ctx *c, int64_t total, bool has_more)
{
    c->total = total;
    c->has_total = true;
    c->has_more = has_more;
}

/* ---- finishing --------------------------------------------------------------------------- */

static void body_into(mcp_ctx *c, mcp_buf *b)
{
    if (!c->nitems) return;
    if (!c->big_text) {
        mcp_buf_append(b, c->body.data, c->body.len);
        return;
    }
    mcp_buf_append(b, c->body.data, c->big_at);
    rpc_write_str(b, c->big_text, c->big_len);
    mcp_buf_append(b, c->body.data + c->big_at, c->body.len - c->big_at);
}

/* Checks structured content against the tool's output schema. 0, or -1 after failing. */
static int check_output(mcp_ctx *c)
{
    const reg_entry *e = c->entry;
    if (!e || !e->out_schema || c->is_error) return 0;
    if (c->structured && output_trusted(c)) return 0;
    char msg[600];
    if (!c->structured_v) {
        snprintf(msg, sizeof(msg),
                 "tool '%.128s' declares an output schema but returned no structured content",
                 c->name);
        ctx_fail_with(c, F_INTERNAL, 0, NULL, msg);
        return -1;
    }
    json_schema_result r;
    if (json_schema_validate(e->out_schema, c->structured_v, &r)) return 0;
    char why[400];
    snprintf(msg, sizeof(msg),
             "tool '%.128s' returned structured content that does not match "
             "its output schema: %s",
             c->name, json_schema_result_str(&r, why, sizeof(why)));
    ctx_fail_with(c, F_INTERNAL, 0, NULL, msg);
    return -1;
}

static void write_tool_result(mcp_ctx *c, mcp_buf *b)
{
    LIT(b, "\"content\":[");
    if (c->nitems) {
        body_into(c, b);
    } else if (c->structured) { /* the serialized JSON as text, for older clients */
        LIT(b, "{\"type\":\"text\",\"text\":");
        rpc_write_str(b, c->structured, c->structured_len);
        mcp_buf_putc(b, '}');
    }
    mcp_buf_putc(b, ']');
    if (c->structured) {
        LIT(b, ",\"structuredContent\":");
        mcp_buf_append(b, c->structured, c->structured_len);
    }
    if (c->is_error) LIT(b, ",\"isError\":true");
}

static void write_complete_result(mcp_ctx *c, mcp_buf *b)
{
    char tmp[48];
    LIT(b, "\"completion\":{\"values\":[");
    body_into(c, b);
    int n = snprintf(tmp, sizeof(tmp), "],\"total\":%lld,\"hasMore\":%s}", (long long)c->total,
                     c->has_more ? "true" : "false");
    mcp_buf_append(b, tmp, (size_t)n);
}

static void write_method_result(mcp_ctx *c, mcp_buf *b)
{
    switch (c->method) {
    case M_TOOLS_CALL:
        write_tool_result(c, b);
        break;
    case M_RES_READ:
        LIT(b, "\"contents\":[");
        body_into(c, b);
        mcp_buf_putc(b, ']');
        break;
    case M_PROMPTS_GET:
        if (c->description) {
            LIT(b, "\"description\":");
            rpc_write_str(b, c->description, strlen(c->description));
            mcp_buf_putc(b, ',');
        }
        LIT(b, "\"messages\":[");
        body_into(c, b);
        mcp_buf_putc(b, ']');
        break;
    case M_COMPLETE:
        write_complete_result(c, b);
        break;
    }
}

/* A handler mistake ends the call with -32603 naming the tool (or prompt, or URI), logged. */
static int report_mistake(mcp_ctx *c)
{
    char msg[600];
    snprintf(msg, sizeof msg, "%s '%.128s': %s",
             c->method == M_TOOLS_CALL    ? "tool"
             : c->method == M_RES_READ    ? "resource"
             : c->method == M_PROMPTS_GET ? "prompt"
                                          : "completion for",
             c->name ? c->name : "?", c->mistake);
    mcp_log(MCP_LOGL_ERROR, "handler mistake: %s", msg);
    ctx_fail_with(c, F_INTERNAL, 0, NULL, msg);
    return MCP_EINVAL;
}

int ctx_mistake(mcp_ctx *c, const char *fmt, ...)
{
    if (c->mistake) return MCP_EINVAL;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->mistake = mcp_arena_strndup(&c->arena, msg, strlen(msg));
    return MCP_EINVAL;
}

int mcp_ctx_finish(mcp_ctx *c)
{
    if (atomic_load(&c->cancelled)) {
        ctx_free(c);
        return MCP_ECANCELED;
    }
    if (c->mistake) return report_mistake(c);
    if (c->body.overflow || (c->big_text && c->big_len > MAX_BODY - c->body.len)) {
        ctx_fail_with(c, F_INTERNAL, 0, NULL, "result too large");
        return MCP_EINVAL;
    }
    if (check_output(c)) return MCP_EINVAL;
    char stack[4096];
    mcp_buf b;
    mcp_buf_init(&b, stack, sizeof(stack), 0);
    /* one allocation of the final size for a large result (no growth, and a buffer the
     * transport can take as it is): the body, structured content twice, the envelope */
    size_t need = c->body.len + (c->structured ? 2 * c->structured_len + 64 : 0) + 1024;
    if (c->big_text) need += c->big_len + c->big_len / 8; /* grows if escapes need more */
    if (need > sizeof stack) mcp_buf_reserve(&b, need);
    rpc_begin_result(&b, &c->id);
    mcp_buf_putc(&b, '{');
    write_method_result(c, &b);
    write_result_tail(c, &b, c->method == M_RES_READ, true);
    rpc_end_result(&b);
    ctx_send_final(c, &b, MCP_STATUS_OK);
    mcp_buf_free(&b);
    return 0;
}

void mcp_ctx_tool_error(mcp_ctx *c, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->method != M_TOOLS_CALL) {
        ctx_fail_with(c, F_INTERNAL, 0, NULL, msg);
        return;
    }
    if (c->mistake && !atomic_load(&c->cancelled)) {
        report_mistake(c);
        return;
    }
    ctx_reset_answer(c);
    c->is_error = true;
    mcp_ctx_text(c, msg);
    mcp_ctx_finish(c);
}

void mcp_ctx_fail(mcp_ctx *c, int code, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctx_fail_with(c, F_HANDLER, code, NULL, msg);
}

/* ---- progress, logging ------------------------------------------------------------------- */

void mcp_ctx_progress(mcp_ctx *c, double progress, double total, const char *message)
{
    if (!c->progress_token || atomic_load(&c->cancelled)) return;
    if (c->sent_progress && !(progress > c->last_progress)) return;
    c->sent_progress = true;
    c->last_progress = progress;
    char stack[512];
    mcp_buf p, b;
    mcp_buf_init(&p, stack, sizeof(stack), 0);
    json_writer w;
    json_writer_init(&w, &p, false);
    json_write_obj_begin(&w);
    json_write_keyz(&w, "progressToken");
    json_write_value(&w, c->progress_token);
    json_write_keyz(&w, "progress");
    json_write_double(&w, progress);
    if (total >= 0) {
        json_write_keyz(&w, "total");
        json_write_double(&w, total);
    }
    w_str(&w, "message", message);
    const char *meta = c->holder && c->holder->message_meta ? c->holder->message_meta(c) : NULL;
    if (meta) { /* e.g. a 2025-11-25 task: everything about it says which */
        json_write_keyz(&w, "_meta");
        json_write_raw(&w, meta, strlen(meta));
    }
    json_write_obj_end(&w);
    char ostack[640];
    mcp_buf_init(&b, ostack, sizeof(ostack), 0);
    rpc_write_notification(&b, "notifications/progress", p.data, p.len);
    ctx_send(c, b.data, b.len, MCP_OUT_NOTIFICATION);
    mcp_buf_free(&p);
    mcp_buf_free(&b);
}

void mcp_ctx_close_stream(mcp_ctx *c)
{
    if (c->conn->opts.mode == MCP_CONN_HTTP_LEGACY) ctx_send(c, NULL, 0, MCP_OUT_CLOSE_STREAM);
}

void mcp_ctx_log(mcp_ctx *c, mcp_log_level level, const char *logger, const char *msg)
{
    int min = c->era == ERA_MODERN ? c->log_level : atomic_load(&c->conn->log_level);
    if (min < 0 || (int)level < min || (int)level > MCP_LOG_EMERGENCY) return;
    if (atomic_load(&c->cancelled)) return;
    mcp_buf p, b;
    mcp_buf_init(&p, NULL, 0, 0);
    json_writer w;
    json_writer_init(&w, &p, false);
    json_write_obj_begin(&w);
    w_str(&w, "level", log_level_names[level]);
    w_str(&w, "logger", logger);
    json_write_keyz(&w, "data");
    json_write_strz(&w, msg ? msg : "");
    json_write_obj_end(&w);
    mcp_buf_init(&b, NULL, 0, 0);
    rpc_write_notification(&b, "notifications/message", p.data, p.len);
    ctx_send(c, b.data, b.len, MCP_OUT_NOTIFICATION);
    mcp_buf_free(&p);
    mcp_buf_free(&b);
}

/* ---- asking ------------------------------------------------------------------------------ */

const json_value *mcp_ctx_input(const mcp_ctx *c, const char *key)
{
    for (uint32_t i = c->na; i-- > 0;)
        if (!strcmp(c->as[i].key, key)) return c->as[i].value;
    return NULL;
}

/* Queues one question after checking the method and the client's capability. */
static int queue(mcp_ctx *c, const char *key, const char *method, const char *params,
                 const char *cap)
{
    if (!key ||
        (c->method != M_TOOLS_CALL && c->method != M_RES_READ && c->method != M_PROMPTS_GET))
        return MCP_EINVAL;
    if (!mcp_ctx_client_supports(c, cap)) {
        c->missing_cap = cap;
        return MCP_EINVAL;
    }
    json_value *v = json_parse(params, strlen(params), &c->arena, NULL, NULL);
    if (!v || v->type != JSON_OBJECT) return MCP_EINVAL;
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    json_serialize(&b, v, false);
    question q = {mcp_arena_strndup(&c->arena, key, strlen(key)), method,
                  mcp_arena_strndup(&c->arena, b.data, b.len), b.len};
    mcp_buf_free(&b);
    for (uint32_t i = 0; i < c->nq; i++)
        if (!strcmp(c->qs[i].key, key)) return c->qs[i] = q, 0;
    if (c->nq == c->qcap) {
        uint32_t cap2 = c->qcap ? c->qcap * 2 : 4;
        question *nq = mcp_arena_alloc(&c->arena, cap2 * sizeof(*nq));
        if (c->nq) memcpy(nq, c->qs, c->nq * sizeof(*nq));
        c->qs = nq;
        c->qcap = cap2;
    }
    c->qs[c->nq++] = q;
    return 0;
}

int mcp_ctx_elicit(mcp_ctx *c, const char *key, const char *params)
{
    if (!params) return MCP_EINVAL;
    const char *cap =
        strstr(params, "\"mode\"") && strstr(params, "\"url\"") ? "elicitation.url" : "elicitation";
    return queue(c, key, "elicitation/create", params, cap);
}

int mcp_ctx_sample(mcp_ctx *c, const char *key, const char *params)
{
    return params ? queue(c, key, "sampling/createMessage", params, "sampling") : MCP_EINVAL;
}

int mcp_ctx_list_roots(mcp_ctx *c, const char *key)
{
    return queue(c, key, "roots/list", "{}", "roots");
}

int mcp_ctx_set_state(mcp_ctx *c, const void *data, size_t len)
{
    if (len > MAX_STATE || (len && !data)) return MCP_EINVAL;
    void *copy = mcp_arena_alloc(&c->arena, len ? len : 1);
    if (len) memcpy(copy, data, len);
    c->state = copy;
    c->state_len = len;
    return 0;
}

const void *mcp_ctx_state(const mcp_ctx *c, size_t *len)
{
    if (len) *len = c->state_len;
    return c->state;
}

/* No question queued: -32021 naming a capability the handler wanted, else internal error. */
static int ask_nothing(mcp_ctx *c)
{
    if (!c->missing_cap) {
        ctx_fail_with(c, F_INTERNAL, 0, NULL, "internal error: handler asked nothing");
        return MCP_EINVAL;
    }
    const char *cap = c->missing_cap;
    char data[160], msg[160];
    if (!strcmp(cap, "elicitation.url"))
        snprintf(data, sizeof(data), "{\"requiredCapabilities\":{\"elicitation\":{\"url\":{}}}}");
    else
        snprintf(data, sizeof(data), "{\"requiredCapabilities\":{\"%s\":{}}}", cap);
    snprintf(msg, sizeof(msg), "Missing required client capability: %s", cap);
    ctx_fail_with(c, F_MISSING_CAPABILITY, 0, data, msg);
    return MCP_EINVAL;
}

int mcp_ctx_ask(mcp_ctx *c)
{
    ctx_wake_forget(c); /* the round is over: its callback's ud may be gone */
    if (!c->nq) return ask_nothing(c);
    if (atomic_load(&c->cancelled)) {
        ctx_free(c);
        return 0;
    }
    if (c->era == ERA_MODERN && c->holder && c->holder->ask) return c->holder->ask(c);
    return c->era == ERA_MODERN ? ask_modern(c) : ask_legacy(c);
}
