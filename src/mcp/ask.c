/* ask.c - asking the client, both ways.
 *
 * Legacy eras: mcp_ctx_ask() sends each queued question as a real server-to-client request
 * (its id from the conn's own counter, tagged with the originating request's tag so that
 * Streamable HTTP puts it on that request's stream) and parks the ctx. Each client response
 * is correlated by id; when the last one is in, the handler runs again (through the
 * executor) with the answers in mcp_ctx_input(). A JSON-RPC error from the client, or no
 * answer within client_request_timeout_ms (counted by mcp_conn_tick), ends the call: an
 * isError result for tools/call, -32603 for the other methods, saying what went unanswered.
 * Waiting requests are bounded per conn (max_client_requests) and per server
 * (max_client_requests_total): a round that would pass either is not sent and the call
 * fails with -32000 "server overloaded" (status hint 503), since what runs out is the
 * server's capacity, not the call's input. Closing the conn frees every waiting ctx.
 *
 * Modern era: mcp_ctx_ask() answers at once with resultType "input_required", the questions
 * in inputRequests and a sealed requestState carrying the method, the tool/prompt name or
 * URI, a SHA-256 digest of the arguments, all answers so far and the handler's state. The
 * client's retry brings requestState and inputResponses back; ask_restore() verifies and
 * merges them before the handler runs again. The payload also carries a digest of the
 * principal the request came from (auth.c: the program names it, or its address does), so a
 * state minted for one principal is refused when another one, or nobody, presents it (the
 * 2026-07-28 spec's replay protection, basic/patterns/mrtr). A tampered, expired, foreign or
 * other principal's state is refused with -32602 and a precise message. */
#include "mcp/ask.h"
#include "mcp/feature.h"
#include "mcp/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#define LIT(b, s)   mcp_buf_append((b), (s), sizeof(s) - 1)
#define STATE_TTL_S 600

void ctx_add_answer(mcp_ctx *c, const char *key, const json_value *v)
{
    for (uint32_t i = 0; i < c->na; i++)
        if (!strcmp(c->as[i].key, key)) {
            c->as[i].value = v;
            return;
        }
    if (c->na == c->acap) {
        uint32_t cap = c->acap ? c->acap * 2 : 4;
        answer *n = mcp_arena_alloc(&c->arena, cap * sizeof(*n));
        if (c->na) memcpy(n, c->as, c->na * sizeof(*n));
        c->as = n;
        c->acap = cap;
    }
    c->as[c->na++] = (answer){key, v};
}

/* ---- legacy: real requests --------------------------------------------------------------- */

/* Writes the request; a held ctx's requests carry its holder's _meta (e.g. related-task of a
 * 2025-11-25 task), unless the params have a _meta of their own. */
static void write_request(mcp_buf *b, int64_t id, const question *q, const char *meta)
{
    char tmp[64];
    int n =
        snprintf(tmp, sizeof(tmp), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":", (long long)id);
    mcp_buf_append(b, tmp, (size_t)n);
    rpc_write_str(b, q->method, strlen(q->method));
    LIT(b, ",\"params\":");
    size_t plen = q->params_len;
    bool add =
        meta && plen >= 2 && q->params[plen - 1] == '}' && !memmem(q->params, plen, "\"_meta\"", 7);
    if (!add) {
        mcp_buf_append(b, q->params, plen);
    } else {
        mcp_buf_append(b, q->params, plen - 1);
        if (plen > 2) mcp_buf_putc(b, ',');
        LIT(b, "\"_meta\":");
        mcp_buf_puts(b, meta);
        mcp_buf_putc(b, '}');
    }
    mcp_buf_putc(b, '}');
}

/* Tells ctx's holder that asking started or ended (before the conn's lock: lock order). */
static void holder_asking(mcp_ctx *ctx, bool on)
{
    if (ctx->holder && ctx->holder->asking) ctx->holder->asking(ctx, on);
}

/* Counts n more waiting requests on c and its server, or refuses (false) past a bound. */
static bool asks_reserve_locked(mcp_conn *c, uint32_t n)
{
    mcp_server *s = c->srv;
    size_t mine = atomic_load_explicit(&c->npending, memory_order_relaxed);
    size_t total = atomic_fetch_add(&s->asks_pending, n) + n;
    if (mine + n <= c->opts.max_client_requests && total <= atomic_load(&s->asks_max)) return true;
    atomic_fetch_sub(&s->asks_pending, n);
    atomic_fetch_add_explicit(&s->asks_refused, 1, memory_order_relaxed);
    return false;
}

static void asks_release_locked(mcp_conn *c, uint32_t n)
{
    atomic_fetch_sub_explicit(&c->npending, n, memory_order_relaxed);
    atomic_fetch_sub(&c->srv->asks_pending, n);
}

void mcp_server_client_requests(mcp_server *s, uint64_t *pending, uint64_t *refused)
{
    *pending = atomic_load(&s->asks_pending);
    *refused = atomic_load_explicit(&s->asks_refused, memory_order_relaxed);
}

static void ask_refuse(mcp_ctx *ctx, size_t mine, size_t limit, size_t total_limit)
{
    char msg[240];
    snprintf(msg, sizeof(msg),
             "server overloaded: too many requests to the client awaiting an answer (%zu in "
             "this session, at most %zu; at most %zu in the server); retry later",
             mine, limit, total_limit);
    ctx_fail_with(ctx, F_OVERLOADED, 0, NULL, msg);
}

int ask_legacy(mcp_ctx *ctx)
{
    mcp_conn *c = ctx->conn;
    holder_asking(ctx, true);
    const char *meta =
        ctx->holder && ctx->holder->message_meta ? ctx->holder->message_meta(ctx) : NULL;
    pthread_mutex_lock(&c->lock);
    if (c->closed || atomic_load(&ctx->cancelled)) { /* nobody is there to answer */
        pthread_mutex_unlock(&c->lock);
        ctx_free(ctx);
        return 0;
    }
    if (!asks_reserve_locked(c, ctx->nq)) {
        size_t mine = atomic_load_explicit(&c->npending, memory_order_relaxed);
        pthread_mutex_unlock(&c->lock);
        holder_asking(ctx, false);
        ask_refuse(ctx, mine, c->opts.max_client_requests, atomic_load(&c->srv->asks_max));
        return 0;
    }
    ctx->waiting = ctx->nq;
    ctx->deadline_ms = 0; /* the client's answer has its own timeout */
    ctx->ask_error = NULL;
    ctx->rounds++;
    for (uint32_t i = 0; i < ctx->nq; i++) {
        pending_out *p = mcp_xcalloc(1, sizeof(*p));
        p->id = c->next_out_id++;
        p->ctx = ctx;
        p->key = ctx->qs[i].key;
        p->method = ctx->qs[i].method;
        p->next = c->pending;
        c->pending = p;
        atomic_fetch_add_explicit(&c->npending, 1, memory_order_relaxed);
        char stack[1024];
        mcp_buf b;
        mcp_buf_init(&b, stack, sizeof(stack), 0);
        write_request(&b, p->id, &ctx->qs[i], meta);
        mcp_out out = {b.data, b.len, MCP_OUT_REQUEST, MCP_STATUS_OK, ctx->tag, false, false, NULL};
        c->opts.sink.send(c->opts.sink.ud, &out);
        mcp_buf_free(&b);
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void ask_forget_locked(mcp_conn *c, mcp_ctx *ctx)
{
    for (pending_out **pp = &c->pending; *pp;) {
        pending_out *p = *pp;
        if (p->ctx == ctx) {
            *pp = p->next;
            asks_release_locked(c, 1);
            free(p);
        } else {
            pp = &p->next;
        }
    }
    ctx->waiting = 0;
}

/* All answers are in (or one failed): run the handler again, or end the call. */
static void resume(mcp_ctx *ctx)
{
    holder_asking(ctx, false);
    if (atomic_load(&ctx->cancelled)) {
        ctx_free(ctx);
    } else if (ctx->ask_error) {
        if (ctx->method == M_TOOLS_CALL)
            mcp_ctx_tool_error(ctx, "%s", ctx->ask_error);
        else
            ctx_fail_with(ctx, F_INTERNAL, 0, NULL, ctx->ask_error);
    } else {
        ctx_reset_answer(ctx);
        ctx_run_handler(ctx);
    }
}

static const char *client_error_text(mcp_ctx *ctx, const pending_out *p, const json_value *err)
{
    int64_t code = 0;
    const char *msg = "";
    json_get_int(err, "code", &code, NULL, NULL, 0);
    json_get_str(err, "message", &msg, NULL, NULL, NULL, 0);
    char tmp[512];
    int n =
        snprintf(tmp, sizeof(tmp), "the client did not answer %s (key '%.64s'): error %lld: %.300s",
                 p->method, p->key, (long long)code, msg);
    return mcp_arena_strndup(&ctx->arena, tmp,
                             (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void ask_on_response(mcp_conn *c, const rpc_msg *m)
{
    if (m->id.type != RPC_ID_INT) return;
    pthread_mutex_lock(&c->lock);
    pending_out **pp = &c->pending;
    while (*pp && (*pp)->id != m->id.i) pp = &(*pp)->next;
    pending_out *p = *pp;
    if (!p) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    *pp = p->next;
    asks_release_locked(c, 1);
    mcp_ctx *ctx = p->ctx;
    if (m->kind == RPC_RESULT)
        ctx_add_answer(ctx, p->key, json_clone(m->result, &ctx->arena));
    else if (!ctx->ask_error)
        ctx->ask_error = client_error_text(ctx, p, m->error);
    bool done = --ctx->waiting == 0;
    free(p);
    pthread_mutex_unlock(&c->lock);
    if (done) resume(ctx);
}

/* Finds one expired request, fails its ctx's round and detaches the ctx. Lock held. */
static mcp_ctx *expire_one_locked(mcp_conn *c, uint64_t now_ms)
{
    for (pending_out *p = c->pending; p; p = p->next) {
        if (!p->deadline) {
            p->deadline = now_ms + c->opts.client_request_timeout_ms;
            if (!p->deadline) p->deadline = 1;
            continue;
        }
        if (now_ms < p->deadline) continue;
        mcp_ctx *ctx = p->ctx;
        char tmp[256];
        int n =
            snprintf(tmp, sizeof(tmp), "the client did not answer %s (key '%.64s') within %u ms",
                     p->method, p->key, c->opts.client_request_timeout_ms);
        ctx->ask_error = mcp_arena_strndup(&ctx->arena, tmp, (size_t)n);
        ask_forget_locked(c, ctx);
        return ctx;
    }
    return NULL;
}

void ask_tick(mcp_conn *c, uint64_t now_ms)
{
    /* the sweep ticks every session each second: most have nothing pending, so no lock */
    if (!atomic_load_explicit(&c->npending, memory_order_relaxed)) return;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        mcp_ctx *ctx = expire_one_locked(c, now_ms);
        pthread_mutex_unlock(&c->lock);
        if (!ctx) return;
        resume(ctx);
    }
}

/* ---- modern: input_required and requestState --------------------------------------------- */

static void args_digest(mcp_ctx *ctx, char hex[65])
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    if (ctx->method != M_RES_READ && ctx->args) json_serialize(&b, ctx->args, false);
    token_digest_hex(b.data ? b.data : "", b.len, hex);
    mcp_buf_free(&b);
}

/* The sealed payload: {"m":method,"n":name,"d":digest,"p":principal,"a":{answers},
 * "s":"<b64 state>"}; "p" is the digest of who asked ("" for nobody: stdio, no auth). */
static void write_payload(mcp_ctx *ctx, mcp_buf *b)
{
    char hex[65], who[65];
    args_digest(ctx, hex);
    mcp_principal_digest(ctx->conn->srv, ctx->principal, who);
    json_writer w;
    json_writer_init(&w, b, false);
    json_write_obj_begin(&w);
    json_write_keyz(&w, "m");
    json_write_strz(&w, ctx->method_name);
    json_write_keyz(&w, "n");
    json_write_strz(&w, ctx->name ? ctx->name : "");
    json_write_keyz(&w, "d");
    json_write_str(&w, hex, 64);
    json_write_keyz(&w, "p");
    json_write_strz(&w, who);
    json_write_keyz(&w, "a");
    json_write_obj_begin(&w);
    for (uint32_t i = 0; i < ctx->na; i++) {
        json_write_keyz(&w, ctx->as[i].key);
        json_write_value(&w, ctx->as[i].value);
    }
    json_write_obj_end(&w);
    if (ctx->state_len) {
        json_write_keyz(&w, "s");
        json_write_base64(&w, ctx->state, ctx->state_len);
    }
    json_write_obj_end(&w);
}

int ask_modern(mcp_ctx *ctx)
{
    mcp_buf pl, b;
    mcp_buf_init(&pl, NULL, 0, 0);
    write_payload(ctx, &pl);
    char stack[4096];
    mcp_buf_init(&b, stack, sizeof(stack), 0);
    rpc_begin_result(&b, &ctx->id);
    LIT(&b, "{\"resultType\":\"input_required\",\"inputRequests\":{");
    for (uint32_t i = 0; i < ctx->nq; i++) {
        const question *q = &ctx->qs[i];
        if (i) mcp_buf_putc(&b, ',');
        rpc_write_str(&b, q->key, strlen(q->key));
        LIT(&b, ":{\"method\":");
        rpc_write_str(&b, q->method, strlen(q->method));
        LIT(&b, ",\"params\":");
        mcp_buf_append(&b, q->params, q->params_len);
        mcp_buf_putc(&b, '}');
    }
    LIT(&b, "},\"requestState\":\"");
    token_seal(ctx->conn->srv, "requestState", pl.data, pl.len, STATE_TTL_S, &b);
    LIT(&b, "\",\"_meta\":{\"" META_SERVER "\":");
    mcp_buf_append(&b, ctx->conn->srv->info_json, ctx->conn->srv->info_len);
    LIT(&b, "}}");
    rpc_end_result(&b);
    ctx_send_final(ctx, &b, MCP_STATUS_OK);
    mcp_buf_free(&b);
    mcp_buf_free(&pl);
    return 0;
}

static int state_fail(mcp_ctx *ctx, const char *why)
{
    char msg[400];
    snprintf(msg, sizeof(msg), "invalid params: invalid requestState: %s", why);
    ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL, msg);
    return -1;
}

/* Checks that the payload was issued for this very request, to the same principal. 0 or -1
 * after failing. */
static int state_matches(mcp_ctx *ctx, const json_value *p)
{
    const json_value *m = json_get(p, "m"), *n = json_get(p, "n"), *d = json_get(p, "d");
    const json_value *who = json_get(p, "p");
    if (!json_is_string(m) || !json_is_string(n) || !json_is_string(d) || !json_is_string(who))
        return state_fail(ctx, "malformed");
    char hex[65];
    mcp_principal_digest(ctx->conn->srv, ctx->principal, hex);
    if (strcmp(who->u.str, hex)) return state_fail(ctx, "it was issued to another principal");
    args_digest(ctx, hex);
    if (strcmp(m->u.str, ctx->method_name) || strcmp(n->u.str, ctx->name ? ctx->name : "")) {
        char why[300];
        snprintf(why, sizeof(why), "it was issued for %.40s '%.128s', not this request", m->u.str,
                 n->u.str);
        return state_fail(ctx, why);
    }
    if (strcmp(d->u.str, hex))
        return state_fail(ctx, "the arguments differ from the first request");
    return 0;
}

static int restore_state(mcp_ctx *ctx, const json_value *rs)
{
    char err[160];
    size_t n;
    char *p = token_open(ctx->conn->srv, "requestState", rs->u.str, rs->len, &ctx->arena, &n, err,
                         sizeof(err));
    if (!p) return state_fail(ctx, err);
    json_value *v = json_parse(p, n, &ctx->arena, NULL, NULL);
    if (!json_is_object(v)) return state_fail(ctx, "malformed");
    if (state_matches(ctx, v)) return -1;
    const json_value *a = json_get(v, "a"), *s = json_get(v, "s");
    for (uint32_t i = 0; json_is_object(a) && i < a->len; i++)
        ctx_add_answer(ctx, a->u.members[i].key, &a->u.members[i].value);
    if (json_is_string(s)) {
        char *bin = mcp_arena_alloc(&ctx->arena, s->len + 1);
        long len = token_b64_decode(s->u.str, s->len, bin);
        if (len < 0) return state_fail(ctx, "malformed");
        ctx->state = bin;
        ctx->state_len = (size_t)len;
    }
    return 0;
}

int ask_restore(mcp_ctx *ctx)
{
    const json_value *rs = json_get(ctx->params, "requestState");
    const json_value *ir = json_get(ctx->params, "inputResponses");
    if (rs && !json_is_string(rs)) return state_fail(ctx, "expected a string");
    if (ir && !json_is_object(ir)) {
        ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL,
                      "invalid params: params.inputResponses: expected object");
        return -1;
    }
    for (uint32_t i = 0; ir && i < ir->len; i++) {
        if (ir->u.members[i].value.type != JSON_OBJECT) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "invalid params: params.inputResponses.%.100s: expected object, got %s",
                     ir->u.members[i].key, json_type_name(&ir->u.members[i].value));
            ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL, msg);
            return -1;
        }
    }
    if (rs && restore_state(ctx, rs)) return -1;
    for (uint32_t i = 0; ir && i < ir->len; i++)
        ctx_add_answer(ctx, ir->u.members[i].key, &ir->u.members[i].value);
    return 0;
}
