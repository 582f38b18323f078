/* methods.c - the methods the engine answers itself, and the set-up of handler calls.
 *
 * These are the core feature (feature.h): its method table is at the end of the file. After
 * the preludes in engine.c have fixed the era and checked the envelope, the engine calls the
 * method's handler from the table. Methods the engine can answer alone (initialize, ping, discover,
 * the lists, logging/setLevel, subscriptions) write their result at once into a stack buffer
 * and send it. Methods served by handlers (tools/call, resources/read, prompts/get,
 * completion/complete) find the registry entry, check the params (input schema, required
 * prompt arguments, template variables), restore a modern requestState, and hand the ctx to
 * ctx_run_handler().
 *
 * Results end with write_result_tail(): nothing more in legacy eras; in the modern era the
 * resultType, cache hints where the spec requires them, and the server's identity in _meta. */
#include "mcp/ask.h"
#include "mcp/feature.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#define LIT(b, s)   mcp_buf_append((b), (s), sizeof(s) - 1)
#define MAX_RESULT  (64u << 20)
#define LIST_TTL_MS "60000"

static const char capabilities_json[] =
    "{\"tools\":{\"listChanged\":true},\"resources\":{\"subscribe\":true,\"listChanged\":true},"
    "\"prompts\":{\"listChanged\":true},\"completions\":{},\"logging\":{}}";

void write_result_tail(mcp_ctx *ctx, mcp_buf *b, bool cacheable, bool priv)
{
    if (ctx->era == ERA_MODERN) {
        if (b->len && b->data[b->len - 1] != '{') mcp_buf_putc(b, ',');
        LIT(b, "\"resultType\":\"complete\"");
        if (cacheable && priv)
            LIT(b, ",\"ttlMs\":0,\"cacheScope\":\"private\"");
        else if (cacheable)
            LIT(b, ",\"ttlMs\":" LIST_TTL_MS ",\"cacheScope\":\"public\"");
        LIT(b, ",\"_meta\":{\"" META_SERVER "\":");
        mcp_buf_append(b, ctx->conn->srv->info_json, ctx->conn->srv->info_len);
        mcp_buf_putc(b, '}');
    }
    mcp_buf_putc(b, '}');
}

static void begin(mcp_ctx *ctx, mcp_buf *b, char *stack, size_t size)
{
    mcp_buf_init(b, stack, size, MAX_RESULT);
    rpc_begin_result(b, &ctx->id);
    mcp_buf_putc(b, '{');
}

void result_finish(mcp_ctx *ctx, mcp_buf *b, bool cacheable, bool priv)
{
    write_result_tail(ctx, b, cacheable, priv);
    rpc_end_result(b);
    if (b->overflow)
        ctx_fail_with(ctx, F_INTERNAL, 0, NULL, "result too large");
    else
        ctx_send_final(ctx, b, MCP_STATUS_OK);
    mcp_buf_free(b);
}

void result_begin(mcp_ctx *ctx, mcp_buf *b)
{
    begin(ctx, b, NULL, 0);
}

void result_end_send(mcp_ctx *ctx, mcp_buf *b)
{
    result_finish(ctx, b, false, false);
}

void ctx_invalid(mcp_ctx *ctx, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL, msg);
}

/* A required string param; answers -32602 and returns NULL when it is not there. */
static const char *need_str(mcp_ctx *ctx, const char *key, size_t *len)
{
    const char *s = NULL;
    char err[160];
    int rc = json_get_str(ctx->params, key, &s, len, "params", err, sizeof(err));
    if (rc == 1) return s;
    if (rc == 0) snprintf(err, sizeof(err), "params.%s: required", key);
    ctx_invalid(ctx, "invalid params: %s", err);
    return NULL;
}

void ctx_reset_answer(mcp_ctx *ctx)
{
    ctx->body.len = 0;
    ctx->body.overflow = false;
    ctx->nitems = 0;
    ctx->big_text = NULL;
    ctx->role = ctx->description = NULL;
    ctx->structured = NULL;
    ctx->structured_v = NULL;
    ctx->is_error = false;
    ctx->total = 0;
    ctx->has_total = ctx->has_more = false;
    ctx->nq = 0;
    ctx->missing_cap = NULL;
}

/* ---- lifecycle, discovery --------------------------------------------------------------- */

/* The server's capabilities for ctx's era: the core's, then what each feature adds (tasks are
 * a capability in 2025-11-25 and an extension in 2026-07-28; skills an extension only). */
static void write_capabilities(mcp_ctx *ctx, mcp_buf *b)
{
    mcp_buf_append(b, capabilities_json, sizeof(capabilities_json) - 2); /* without the '}' */
    mcp_buf exts;
    mcp_buf_init(&exts, NULL, 0, 0);
    features_capabilities(ctx->conn->srv, ctx->era, b, &exts);
    if (exts.len) {
        LIT(b, ",\"extensions\":{");
        mcp_buf_append(b, exts.data + 1, exts.len - 1); /* without the leading comma */
        mcp_buf_putc(b, '}');
    }
    mcp_buf_free(&exts);
    mcp_buf_putc(b, '}');
}

static void do_initialize(mcp_ctx *ctx)
{
    mcp_conn *c = ctx->conn;
    size_t vlen;
    const char *v = need_str(ctx, "protocolVersion", &vlen);
    if (!v) return;
    const json_value *caps = json_get(ctx->params, "capabilities");
    if (caps && caps->type != JSON_OBJECT)
        return ctx_invalid(ctx, "invalid params: %s", "params.capabilities: expected object");
    const char *chosen = legacy_version_supported(v, vlen) ? v : LATEST_LEGACY;
    pthread_mutex_lock(&c->lock);
    snprintf(c->version, sizeof(c->version), "%s", chosen);
    if (caps) c->client_caps = json_clone(caps, &c->arena);
    c->state = LEGACY_INITIALIZED;
    pthread_mutex_unlock(&c->lock);
    char stack[2048];
    mcp_buf b;
    begin(ctx, &b, stack, sizeof(stack));
    LIT(&b, "\"protocolVersion\":");
    rpc_write_str(&b, chosen, strlen(chosen));
    LIT(&b, ",\"capabilities\":");
    write_capabilities(ctx, &b);
    LIT(&b, ",\"serverInfo\":");
    mcp_buf_append(&b, c->srv->info_json, c->srv->info_len);
    if (c->srv->instructions) {
        LIT(&b, ",\"instructions\":");
        rpc_write_str(&b, c->srv->instructions, strlen(c->srv->instructions));
    }
    result_finish(ctx, &b, false, false);
}

static void do_discover(mcp_ctx *ctx)
{
    char stack[2048];
    mcp_buf b;
    begin(ctx, &b, stack, sizeof(stack));
    LIT(&b, "\"supportedVersions\":[");
    for (int i = 0; i < 5; i++) {
        if (i) mcp_buf_putc(&b, ',');
        rpc_write_str(&b, supported_versions[i], strlen(supported_versions[i]));
    }
    LIT(&b, "],\"capabilities\":");
    write_capabilities(ctx, &b);
    const char *ins = ctx->conn->srv->instructions;
    if (ins) {
        LIT(&b, ",\"instructions\":");
        rpc_write_str(&b, ins, strlen(ins));
    }
    result_finish(ctx, &b, true, false);
}

static void do_empty(mcp_ctx *ctx)
{
    char stack[512];
    mcp_buf b;
    begin(ctx, &b, stack, sizeof(stack));
    result_finish(ctx, &b, false, false);
}

/* ---- lists ------------------------------------------------------------------------------- */

static void do_list(mcp_ctx *ctx, reg_kind k)
{
    uint64_t after;
    if (cursor_read(ctx, reg_list_name[k], NULL, 0, &after)) return;
    char stack[8192];
    mcp_buf b;
    begin(ctx, &b, stack, sizeof(stack));
    reg_write_page(ctx->conn->srv, k, after, ctx->principal, &b);
    result_finish(ctx, &b, true, items_private(ctx->conn->srv, ctx->principal));
}

/* ---- logging, legacy subscriptions ------------------------------------------------------- */

static void do_set_level(mcp_ctx *ctx)
{
    size_t n;
    const char *lv = need_str(ctx, "level", &n);
    if (!lv) return;
    int level = log_level_from_name(lv, n);
    if (level < 0) return ctx_invalid(ctx, "invalid params: unknown logging level '%.40s'", lv);
    atomic_store(&ctx->conn->log_level, level);
    do_empty(ctx);
}

static void do_subscribe(mcp_ctx *ctx, bool on)
{
    mcp_conn *c = ctx->conn;
    size_t n;
    const char *uri = need_str(ctx, "uri", &n);
    if (!uri) return;
    if (on && !item_visible(c->srv, ctx->principal, REG_RESOURCE, uri)) {
        ctx->name = uri;
        return ctx_not_found(ctx, NULL);
    }
    pthread_mutex_lock(&c->lock);
    size_t i = 0;
    while (i < c->nsubs && strcmp(c->subs[i], uri)) i++;
    if (on && i == c->nsubs) {
        if (c->nsubs == c->subs_cap) {
            c->subs_cap = c->subs_cap ? c->subs_cap * 2 : 8;
            c->subs = mcp_xrealloc(c->subs, c->subs_cap * sizeof(*c->subs));
        }
        c->subs[c->nsubs++] = mcp_xstrndup(uri, n);
    } else if (!on && i < c->nsubs) {
        free(c->subs[i]);
        c->subs[i] = c->subs[--c->nsubs];
    }
    pthread_mutex_unlock(&c->lock);
    do_empty(ctx);
}

/* ---- modern subscriptions/listen --------------------------------------------------------- */

static bool filter_flag(const json_value *f, const char *key)
{
    const json_value *v = json_get(f, key);
    return v && v->type == JSON_BOOL && v->b;
}

static listener *listener_new(mcp_ctx *ctx, const json_value *f)
{
    listener *l = mcp_xcalloc(1, sizeof(*l));
    l->tag = ctx->tag;
    l->id = ctx->id;
    if (ctx->id.type == RPC_ID_STR) l->id.s = l->id_str = mcp_xstrndup(ctx->id.s, ctx->id.len);
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    rpc_write_id(&b, &ctx->id);
    l->id_json = mcp_buf_steal(&b, NULL);
    l->tools = filter_flag(f, "toolsListChanged");
    l->prompts = filter_flag(f, "promptsListChanged");
    l->resources = filter_flag(f, "resourcesListChanged");
    const json_value *uris = json_get(f, "resourceSubscriptions");
    if (json_is_array(uris)) {
        l->uris = mcp_xcalloc(uris->len + 1, sizeof(char *));
        for (uint32_t i = 0; i < uris->len; i++)
            if (json_is_string(&uris->u.items[i]) &&
                item_visible(ctx->conn->srv, ctx->principal, REG_RESOURCE, uris->u.items[i].u.str))
                l->uris[l->nuris++] = mcp_xstrndup(uris->u.items[i].u.str, uris->u.items[i].len);
    }
    return l;
}

static void write_ack(const listener *l, mcp_buf *b)
{
    mcp_buf p;
    mcp_buf_init(&p, NULL, 0, 0);
    LIT(&p, "{\"_meta\":{\"" META_SUB "\":");
    mcp_buf_puts(&p, l->id_json);
    LIT(&p, "},\"notifications\":{");
    size_t mark = p.len;
    if (l->tools) LIT(&p, "\"toolsListChanged\":true,");
    if (l->prompts) LIT(&p, "\"promptsListChanged\":true,");
    if (l->resources) LIT(&p, "\"resourcesListChanged\":true,");
    if (l->uris) {
        LIT(&p, "\"resourceSubscriptions\":[");
        for (size_t i = 0; i < l->nuris; i++) {
            if (i) mcp_buf_putc(&p, ',');
            rpc_write_str(&p, l->uris[i], strlen(l->uris[i]));
        }
        LIT(&p, "],");
    }
    if (p.len > mark) p.len--; /* the last comma */
    LIT(&p, "}}");
    rpc_write_notification(b, "notifications/subscriptions/acknowledged", p.data, p.len);
    mcp_buf_free(&p);
}

static void do_listen(mcp_ctx *ctx)
{
    const json_value *f = json_get(ctx->params, "notifications");
    if (!json_is_object(f))
        return ctx_invalid(ctx, "invalid params: %s", "params.notifications: required object");
    mcp_conn *c = ctx->conn;
    listener *l = listener_new(ctx, f);
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    write_ack(l, &b);
    mcp_out out = {b.data, b.len, MCP_OUT_NOTIFICATION, MCP_STATUS_OK, ctx->tag, false,
                   false,  NULL};
    pthread_mutex_lock(&c->lock);
    if (!c->closed) {
        l->next = c->listeners;
        c->listeners = l;
        c->opts.sink.send(c->opts.sink.ud, &out);
        l = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (l) listener_free(l);
    mcp_buf_free(&b);
    ctx_free(ctx); /* the stream stays open; its response comes from mcp_conn_shutdown() */
}

/* ---- handler calls ----------------------------------------------------------------------- */

static void set_meta(mcp_ctx *ctx)
{
    if (!ctx->meta) {
        const json_value *m = json_get(ctx->params, "_meta");
        ctx->meta = json_is_object(m) ? m : NULL;
    }
    const json_value *t = json_get(ctx->meta, "progressToken");
    if (t && (t->type == JSON_STRING || t->type == JSON_INT)) ctx->progress_token = t;
}

/* params.arguments as an object (empty when absent). NULL after answering -32602. */
static const json_value *need_args(mcp_ctx *ctx)
{
    static const json_value empty = {.type = JSON_OBJECT};
    const json_value *a = json_get(ctx->params, "arguments");
    if (!a || a->type == JSON_NULL) return &empty;
    if (a->type == JSON_OBJECT) return a;
    ctx_invalid(ctx, "invalid params: params.arguments: expected object, got %s",
                json_type_name(a));
    return NULL;
}

/* Formats schema errors as "invalid arguments: /count: expected integer, got string; ...". */
static void args_error(mcp_ctx *ctx, const json_schema_result *r)
{
    char msg[1024];
    size_t n = (size_t)snprintf(msg, sizeof(msg), "invalid arguments: ");
    if (r->budget_exceeded || !r->nerrors)
        snprintf(msg + n, sizeof(msg) - n, "%s",
                 r->budget_exceeded ? "too complex to validate" : "do not match the input schema");
    for (uint32_t i = 0; i < r->nerrors && n < sizeof(msg) - 1; i++) {
        const json_schema_error *e = &r->errors[i];
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s%s%s", i ? "; " : "", e->instance_path,
                              e->instance_path[0] ? ": " : "", e->msg);
    }
    mcp_ctx_tool_error(ctx, "%s", msg);
}

static void do_call(mcp_ctx *ctx, const mcp_msg_info *info)
{
    size_t n;
    const char *name = need_str(ctx, "name", &n);
    if (!name) return;
    ctx->name = name;
    if (!tool_visible(ctx->conn->srv, ctx->principal, name))
        return ctx_invalid(ctx, "Unknown tool: %.200s", name);
    ctx->entry = reg_find(ctx->conn->srv, REG_TOOL, name, n);
    if (!ctx->entry) return ctx_invalid(ctx, "Unknown tool: %.200s", name);
    const json_value *args = need_args(ctx);
    if (!args) return;
    ctx->args = args;
    set_meta(ctx);
    if (check_param_headers(ctx, info)) return;
    if (ctx->era == ERA_MODERN && ask_restore(ctx)) return;
    json_schema_result r;
    if (!json_schema_validate(ctx->entry->in_schema, ctx->args, NULL)) {
        json_schema_validate(ctx->entry->in_schema, ctx->args, &r);
        return args_error(ctx, &r);
    }
    if (features_before_call(ctx)) return;
    ctx_run_handler(ctx);
}

void ctx_not_found(mcp_ctx *ctx, const char *msg)
{
    if (ctx->method == M_TOOLS_CALL) /* something the tool looked for: the model may retry */
        return mcp_ctx_tool_error(ctx, "%s", msg ? msg : "Not found");
    if (ctx->method != M_RES_READ && ctx->method != M_SUBSCRIBE)
        return ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL, msg ? msg : "Not found");
    mcp_buf d;
    mcp_buf_init(&d, NULL, 0, 0);
    LIT(&d, "{\"uri\":");
    rpc_write_str(&d, ctx->name ? ctx->name : "", ctx->name ? strlen(ctx->name) : 0);
    mcp_buf_putc(&d, '}');
    mcp_buf_putc(&d, '\0');
    ctx_fail_with(ctx, F_RESOURCE_NOT_FOUND, 0, d.data, msg ? msg : "Resource not found");
    mcp_buf_free(&d);
}

static void do_read(mcp_ctx *ctx)
{
    static const json_value empty = {.type = JSON_OBJECT};
    size_t n;
    const char *uri = need_str(ctx, "uri", &n);
    if (!uri) return;
    ctx->name = uri;
    ctx->args = &empty;
    mcp_server *s = ctx->conn->srv;
    if (!item_visible(s, ctx->principal, REG_RESOURCE, uri)) return ctx_not_found(ctx, NULL);
    ctx->entry = reg_find(s, REG_RESOURCE, uri, n);
    if (!ctx->entry) {
        json_value *vars = NULL;
        ctx->entry = reg_match_template(s, uri, n, &ctx->arena, &vars);
        ctx->args = vars;
        if (ctx->entry && !item_visible(s, ctx->principal, REG_TEMPLATE, ctx->entry->key)) {
            reg_release(ctx->entry);
            ctx->entry = NULL;
        }
    }
    if (!ctx->entry) return ctx_not_found(ctx, NULL);
    set_meta(ctx);
    if (ctx->era == ERA_MODERN && ask_restore(ctx)) return;
    ctx_run_handler(ctx);
}

static void do_get(mcp_ctx *ctx)
{
    size_t n;
    const char *name = need_str(ctx, "name", &n);
    if (!name) return;
    ctx->name = name;
    if (!item_visible(ctx->conn->srv, ctx->principal, REG_PROMPT, name))
        return ctx_invalid(ctx, "Unknown prompt: %.200s", name);
    ctx->entry = reg_find(ctx->conn->srv, REG_PROMPT, name, n);
    if (!ctx->entry) return ctx_invalid(ctx, "Unknown prompt: %.200s", name);
    const json_value *args = need_args(ctx);
    if (!args) return;
    ctx->args = args;
    for (uint32_t i = 0; i < ctx->args->len; i++)
        if (ctx->args->u.members[i].value.type != JSON_STRING)
            return ctx_invalid(ctx, "invalid params: arguments.%.100s: expected string",
                               ctx->args->u.members[i].key);
    const reg_entry *e = ctx->entry;
    for (size_t i = 0; i < e->nargs; i++)
        if (e->arg_required[i] && !json_get(ctx->args, e->arg_names[i]))
            return ctx_invalid(ctx, "invalid params: missing required argument '%.100s'",
                               e->arg_names[i]);
    set_meta(ctx);
    if (ctx->era == ERA_MODERN && ask_restore(ctx)) return;
    ctx_run_handler(ctx);
}

/* completion/complete: finds the prompt or template named by params.ref. */
static void do_complete(mcp_ctx *ctx)
{
    const json_value *ref = json_get(ctx->params, "ref"), *arg = json_get(ctx->params, "argument");
    const json_value *type = json_get(ref, "type");
    if (!json_is_object(ref) || !json_is_string(type))
        return ctx_invalid(ctx, "invalid params: %s", "params.ref: expected {type, name|uri}");
    if (!json_is_object(arg) || !json_is_string(json_get(arg, "name")) ||
        !json_is_string(json_get(arg, "value")))
        return ctx_invalid(ctx, "invalid params: %s", "params.argument: expected {name, value}");
    bool prompt = !strcmp(type->u.str, "ref/prompt");
    if (!prompt && strcmp(type->u.str, "ref/resource"))
        return ctx_invalid(ctx, "invalid params: unknown reference type '%.60s'", type->u.str);
    const json_value *key = json_get(ref, prompt ? "name" : "uri");
    if (!json_is_string(key))
        return ctx_invalid(ctx, "invalid params: params.ref.%s: expected string",
                           prompt ? "name" : "uri");
    ctx->name = key->u.str;
    ctx->args = ctx->params;
    reg_kind k = prompt ? REG_PROMPT : REG_TEMPLATE;
    if (item_visible(ctx->conn->srv, ctx->principal, k, key->u.str))
        ctx->entry = reg_find(ctx->conn->srv, k, key->u.str, key->len);
    if (!ctx->entry)
        return ctx_invalid(ctx,
                           prompt ? "Unknown prompt: %.200s" : "Unknown resource template: %.200s",
                           key->u.str);
    set_meta(ctx);
    if (!ctx->entry->complete) {
        mcp_ctx_finish(ctx); /* no completer: no suggestions */
        return;
    }
    ctx_run_handler(ctx);
}

/* ---- the core feature -------------------------------------------------------------------- */

#define WRAP(name, call)                                                                           \
    static void name(mcp_ctx *ctx, const mcp_msg_info *info)                                       \
    {                                                                                              \
        (void)info;                                                                                \
        call;                                                                                      \
    }
WRAP(m_initialize, do_initialize(ctx))
WRAP(m_ping, do_empty(ctx))
WRAP(m_discover, do_discover(ctx))
WRAP(m_tools_list, do_list(ctx, REG_TOOL))
WRAP(m_res_list, do_list(ctx, REG_RESOURCE))
WRAP(m_tmpl_list, do_list(ctx, REG_TEMPLATE))
WRAP(m_prompts_list, do_list(ctx, REG_PROMPT))
WRAP(m_read, do_read(ctx))
WRAP(m_get, do_get(ctx))
WRAP(m_complete, do_complete(ctx))
WRAP(m_set_level, do_set_level(ctx))
WRAP(m_subscribe, do_subscribe(ctx, true))
WRAP(m_unsubscribe, do_subscribe(ctx, false))
WRAP(m_listen, do_listen(ctx))

static const feature_method core_methods[] = {
    {"initialize", ERAS_LEGACY, M_INITIALIZE, NULL, m_initialize},
    {"ping", ERAS_LEGACY, M_PING, NULL, m_ping},
    {"server/discover", ERAS_MODERN, M_DISCOVER, NULL, m_discover},
    {"tools/list", ERAS_BOTH, M_TOOLS_LIST, NULL, m_tools_list},
    {"tools/call", ERAS_BOTH, M_TOOLS_CALL, "name", do_call},
    {"resources/list", ERAS_BOTH, M_RES_LIST, NULL, m_res_list},
    {"resources/read", ERAS_BOTH, M_RES_READ, "uri", m_read},
    {"resources/templates/list", ERAS_BOTH, M_TMPL_LIST, NULL, m_tmpl_list},
    {"prompts/list", ERAS_BOTH, M_PROMPTS_LIST, NULL, m_prompts_list},
    {"prompts/get", ERAS_BOTH, M_PROMPTS_GET, "name", m_get},
    {"completion/complete", ERAS_BOTH, M_COMPLETE, NULL, m_complete},
    {"logging/setLevel", ERAS_LEGACY, M_SET_LEVEL, NULL, m_set_level},
    {"resources/subscribe", ERAS_LEGACY, M_SUBSCRIBE, NULL, m_subscribe},
    {"resources/unsubscribe", ERAS_LEGACY, M_UNSUBSCRIBE, NULL, m_unsubscribe},
    {"subscriptions/listen", ERAS_MODERN, M_LISTEN, NULL, m_listen},
    /* notifications: engine.c handles them (no handler here) */
    {"notifications/initialized", ERAS_LEGACY, M_N_INITIALIZED, NULL, NULL},
    {"notifications/cancelled", ERAS_BOTH, M_N_CANCELLED, NULL, NULL},
};

const feature core_feature = {
    .name = "core",
    .methods = core_methods,
    .nmethods = sizeof core_methods / sizeof *core_methods,
};
