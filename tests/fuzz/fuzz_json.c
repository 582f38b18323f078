/* fuzz_json.c - libFuzzer target for the JSON parser and writer.
 *
 * Parses the input with tight limits (so that deep or huge inputs hit the limit paths quickly).
 * Whatever parses must serialize, parse again to an equal DOM and serialize to the same bytes
 * (compact and pretty); the fuzzer aborts on any difference. The first byte also selects
 * whether duplicate member names are allowed, so both paths of that check get explored. The
 * escaper is also fed the raw input, which is arbitrary bytes, and its output must parse as a
 * string. */
#include "json/json.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_limits lim = {
        .max_depth = 64,
        .max_string = 4096,
        .max_members = 1024,
        .max_size = 1 << 20,
        .allow_duplicate_keys = size > 0 && (data[0] & 1) && data[0] != '{',
    };
    mcp_arena a;
    json_error err;
    mcp_arena_init(&a, NULL, 0);
    const json_value *v = json_parse((const char *)data, size, &a, &lim, &err);
    if (v) {
        round_trip(v, &lim, false);
        round_trip(v, &lim, true);
    } else {
        check(err.offset <= size && err.line >= 1 && err.col >= 1 && err.msg[0], "bad error");
    }
    mcp_arena_free(&a);
    escape_bytes(data, size);
    return 0;
}
