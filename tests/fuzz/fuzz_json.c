/* fuzz_json.c - libFuzzer target for the JSON parser and writer.
 *
 * Parses the input with tight limits (so that deep or huge inputs hit the limit paths quickly).
 * Whatever parses must serialize, parse again to an equal DOM and serialize to the same bytes
 * (compact and pretty); the fuzzer aborts on any difference. The first byte also selects
 * whether duplicate member names are allowed, so both paths of that check get explored, and
 * whether the text is read relaxed (comments and trailing commas, as mcpd reads config files;
 * a first byte of '/' starts a comment). In relaxed mode a value's JSON Pointer, picked by the
 * input's bytes, must be located by mcp_json_locate at a byte that starts a value of its type
 * (config mistakes are reported at that position). The escaper is also fed the raw input,
 * which is arbitrary bytes, and its output must parse as a string. */
#include "json/json.h"
#include "mcp/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_json: %s\n", what);
        abort();
    }
}

/* Serializes v, reparses, and checks equality and a stable second serialization. */
static void round_trip(const json_value *v, const json_limits *lim, bool pretty)
{
    mcp_arena a;
    mcp_buf b1, b2;
    json_error err;
    mcp_arena_init(&a, NULL, 0);
    mcp_buf_init(&b1, NULL, 0, 0);
    mcp_buf_init(&b2, NULL, 0, 0);
    check(json_serialize(&b1, v, pretty) == 0, "serialize failed");
    const json_value *v2 = json_parse(b1.data, b1.len, &a, lim, &err);
    if (!v2) fprintf(stderr, "reparse: %s at %zu\n", err.msg, err.offset);
    check(v2 != NULL, "serialized output does not parse");
    check(json_equal(v, v2), "reparsed DOM differs");
    check(json_serialize(&b2, v2, pretty) == 0, "second serialize failed");
    check(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0, "serialization not stable");
    json_value *c = json_clone(v2, &a);
    check(json_equal(c, v2), "clone differs");
    mcp_buf_free(&b1);
    mcp_buf_free(&b2);
    mcp_arena_free(&a);
}

/* Escaping arbitrary bytes must give a valid JSON string. */
static void escape_bytes(const uint8_t *data, size_t size)
{
    mcp_arena a;
    mcp_buf b;
    json_error err;
    mcp_arena_init(&a, NULL, 0);
    mcp_buf_init(&b, NULL, 0, 0);
    mcp_buf_putc(&b, '"');
    json_escape_into(&b, (const char *)data, size);
    mcp_buf_putc(&b, '"');
    const json_value *v = json_parse(b.data, b.len, &a, NULL, &err);
    check(v && v->type == JSON_STRING, "escaped bytes are not a JSON string");
    check(v->len <= size * 3, "escaped string grew too much");
    mcp_buf_free(&b);
    mcp_arena_free(&a);
}

/* Appends "/" and key escaped per RFC 6901 to ptr. Returns false if it does not fit. */
static bool push_key(char *ptr, size_t size, const char *key, size_t len)
{
    size_t o = strlen(ptr);
    if (o + 1 >= size) return false;
    ptr[o++] = '/';
    for (size_t i = 0; i < len; i++) {
        if (o + 3 >= size) return false;
        if (key[i] == '~' || key[i] == '/') {
            ptr[o++] = '~';
            ptr[o++] = key[i] == '~' ? '0' : '1';
        } else {
            ptr[o++] = key[i];
        }
    }
    ptr[o] = '\0';
    return true;
}

/* Walks from the root to a value chosen by the input's bytes, then checks that
 * mcp_json_locate finds where that value starts in the text. */
static void locate(const uint8_t *data, size_t size, const json_value *v, unsigned flags)
{
    char ptr[512] = "";
    for (size_t k = 0; k < 8 && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) && v->len; k++) {
        size_t i = data[(k * 7 + 3) % size] % v->len;
        if (v->type == JSON_ARRAY) {
            char num[24];
            snprintf(num, sizeof num, "%zu", i);
            if (!push_key(ptr, 100, num, strlen(num))) return;
            v = &v->u.items[i];
        } else {
            const json_member *m = &v->u.members[i];
            if (memchr(m->key, '\0', m->key_len) || !push_key(ptr, 500, m->key, m->key_len)) return;
            v = &m->value;
        }
    }
    mcp_json_error pos;
    check(mcp_json_locate((const char *)data, size, flags, ptr, &pos), "a value not located");
    check(pos.offset < size && pos.line >= 1 && pos.column >= 1, "a position outside the text");
    static const char first[] = "ntII\"[{"; /* by json_type; numbers below */
    char c = (char)data[pos.offset];
    if (v->type == JSON_INT || v->type == JSON_DOUBLE)
        check(c == '-' || (c >= '0' && c <= '9'), "a number located elsewhere");
    else if (v->type == JSON_BOOL)
        check(c == (v->b ? 't' : 'f'), "a boolean located elsewhere");
    else
        check(c == first[v->type], "a value located elsewhere");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_limits lim = {
        .max_depth = 64,
        .max_string = 4096,
        .max_members = 1024,
        .max_size = 1 << 20,
        .allow_duplicate_keys = size > 0 && (data[0] & 1) && data[0] != '{',
        .relaxed = size > 0 && (data[0] & 4),
    };
    mcp_arena a;
    json_error err;
    mcp_arena_init(&a, NULL, 0);
    const json_value *v = json_parse((const char *)data, size, &a, &lim, &err);
    if (v) {
        round_trip(v, &lim, false);
        round_trip(v, &lim, true);
        /* with duplicate keys, a pointer names the last member of that name */
        if (!lim.allow_duplicate_keys) locate(data, size, v, lim.relaxed ? MCP_JSON_RELAXED : 0);
    } else {
        check(err.offset <= size && err.line >= 1 && err.col >= 1 && err.msg[0], "bad error");
    }
    mcp_arena_free(&a);
    escape_bytes(data, size);
    return 0;
}
