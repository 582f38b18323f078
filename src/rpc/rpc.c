/* rpc.c - JSON-RPC 2.0 envelope decoding and response writing.
 *
 * Decoding walks the members of the top-level object once, remembering jsonrpc, id, method,
 * params, result and error, then applies the rules in the order a client can best act on:
 * the id is read first so that every later complaint can echo it. Writing appends fixed
 * fragments and escaped strings to an mcp_buf; there is no intermediate DOM. */
#include "rpc/rpc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct envelope {
    const json_value *jsonrpc, *id, *method, *params, *result, *error;
} envelope;

static void collect(const json_value *v, envelope *e)
{
    memset(e, 0, sizeof(*e));
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        const char *k = m->key;
        switch (m->key_len) {
        case 2:
            if (!memcmp(k, "id", 2)) e->id = &m->value;
            break;
        case 5:
            if (!memcmp(k, "error", 5)) e->error = &m->value;
            break;
        case 6:
            if (!memcmp(k, "method", 6))
                e->method = &m->value;
            else if (!memcmp(k, "params", 6))
                e->params = &m->value;
            else if (!memcmp(k, "result", 6))
                e->result = &m->value;
            break;
        case 7:
            if (!memcmp(k, "jsonrpc", 7)) e->jsonrpc = &m->value;
            break;
        }
    }
}

int rpc_id_from_json(const json_value *v, rpc_id *out)
{
    memset(out, 0, sizeof(*out));
    if (v->type == JSON_STRING) {
        out->type = RPC_ID_STR;
        out->s = v->u.str;
        out->len = v->len;
        return 0;
    }
    if (v->type == JSON_INT) {
        out->type = RPC_ID_INT;
        out->i = v->u.num.i;
        return 0;
    }
    return -1;
}

static int fail(char *err, size_t errsize, const char *msg)
{
    if (err && errsize) snprintf(err, errsize, "%s", msg);
    return RPC_INVALID_REQUEST;
}

static int decode_response(const envelope *e, rpc_msg *out, char *err, size_t errsize)
{
    if (!e->id) return fail(err, errsize, "invalid request: missing method");
    if (e->result && e->error)
        return fail(err, errsize, "invalid response: both result and error present");
    if (e->error && e->error->type != JSON_OBJECT)
        return fail(err, errsize, "invalid response: error must be an object");
    out->kind = e->result ? RPC_RESULT : RPC_ERROR;
    out->result = e->result;
    out->error = e->error;
    return 0;
}

int rpc_decode(const json_value *v, rpc_msg *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof(*out));
    if (!v || v->type != JSON_OBJECT)
        return fail(err, errsize, "invalid request: a message must be a JSON object");
    envelope e;
    collect(v, &e);
    if (e.id && e.id->type != JSON_NULL && rpc_id_from_json(e.id, &out->id) < 0)
        return fail(err, errsize, "invalid request: id must be a string or an integer");
    if (!e.jsonrpc || e.jsonrpc->type != JSON_STRING || e.jsonrpc->len != 3 ||
        memcmp(e.jsonrpc->u.str, "2.0", 3) != 0)
        return fail(err, errsize, "invalid request: \"jsonrpc\" must be \"2.0\"");
    if (e.id && e.id->type == JSON_NULL)
        return fail(err, errsize, "invalid request: id must not be null");
    if (!e.method) {
        if (e.result || e.error) return decode_response(&e, out, err, errsize);
        return fail(err, errsize, "invalid request: missing method");
    }
    if (e.method->type != JSON_STRING)
        return fail(err, errsize, "invalid request: method must be a string");
    out->kind = e.id ? RPC_REQUEST : RPC_NOTIFICATION;
    out->method = e.method->u.str;
    out->method_len = e.method->len;
    if (e.params && e.params->type != JSON_OBJECT) {
        if (err && errsize) snprintf(err, errsize, "invalid params: params must be an object");
        return RPC_INVALID_PARAMS;
    }
    out->params = e.params;
    return 0;
}

bool rpc_id_equal(const rpc_id *a, const rpc_id *b)
{
    if (a->type != b->type) return false;
    if (a->type == RPC_ID_INT) return a->i == b->i;
    if (a->type == RPC_ID_STR) return a->len == b->len && !memcmp(a->s, b->s, a->len);
    return true;
}

void rpc_write_str(mcp_buf *b, const char *s, size_t len)
{
    mcp_buf_putc(b, '"');
    json_escape_into(b, s, len);
    mcp_buf_putc(b, '"');
}

void rpc_write_id(mcp_buf *b, const rpc_id *id)
{
    if (id->type == RPC_ID_STR) {
        rpc_write_str(b, id->s, id->len);
    } else if (id->type == RPC_ID_INT) {
        mcp_buf_put_i64(b, id->i);
    } else {
        mcp_buf_append(b, "null", 4);
    }
}

#define LIT(b, s) mcp_buf_append((b), (s), sizeof(s) - 1)

void rpc_begin_result(mcp_buf *b, const rpc_id *id)
{
    LIT(b, "{\"jsonrpc\":\"2.0\",\"id\":");
    rpc_write_id(b, id);
    LIT(b, ",\"result\":");
}

void rpc_begin_error(mcp_buf *b, const rpc_id *id)
{
    LIT(b, "{\"jsonrpc\":\"2.0\",\"id\":");
    rpc_write_id(b, id);
    LIT(b, ",\"error\":");
}

void rpc_end_result(mcp_buf *b)
{
    mcp_buf_putc(b, '}');
}

void rpc_write_error(mcp_buf *b, const rpc_id *id, int code, const char *msg, const char *data_json)
{
    char tmp[24];
    LIT(b, "{\"jsonrpc\":\"2.0\",\"id\":");
    rpc_write_id(b, id);
    LIT(b, ",\"error\":{\"code\":");
    int n = snprintf(tmp, sizeof(tmp), "%d", code);
    mcp_buf_append(b, tmp, (size_t)n);
    LIT(b, ",\"message\":");
    rpc_write_str(b, msg, strlen(msg));
    if (data_json) {
        LIT(b, ",\"data\":");
        mcp_buf_puts(b, data_json);
    }
    LIT(b, "}}");
}

void rpc_write_notification(mcp_buf *b, const char *method, const char *params_json,
                            size_t params_len)
{
    LIT(b, "{\"jsonrpc\":\"2.0\",\"method\":");
    rpc_write_str(b, method, strlen(method));
    if (params_json) {
        LIT(b, ",\"params\":");
        mcp_buf_append(b, params_json, params_len);
    }
    mcp_buf_putc(b, '}');
}

/* Skips the JSON id value at p (an integer, null, or a string with escapes). */
static const char *skip_id(const char *p, const char *end)
{
    if (p < end && *p == '"') {
        for (p++; p < end && *p != '"'; p++)
            if (*p == '\\') p++;
        return p < end ? p + 1 : end;
    }
    while (p < end && *p != ',') p++;
    return p;
}

int rpc_response_error_code(const char *data, size_t len)
{
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":", err[] = ",\"error\":{\"code\":";
    const char *p = data, *end = data + len;
    if (len < sizeof head - 1 || memcmp(p, head, sizeof head - 1)) return 0;
    p = skip_id(p + sizeof head - 1, end);
    if ((size_t)(end - p) < sizeof err - 1 || memcmp(p, err, sizeof err - 1)) return 0;
    p += sizeof err - 1;
    bool neg = p < end && *p == '-';
    if (neg) p++;
    long v = 0;
    for (; p < end && *p >= '0' && *p <= '9' && v < 100000000; p++) v = v * 10 + (*p - '0');
    return (int)(neg ? -v : v);
}
