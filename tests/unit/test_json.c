/* test_json.c - unit tests for the JSON parser, writer and lookup helpers.
 *
 * Parser errors are checked with their exact message, offset, line and column: the messages are
 * what a client sees in a JSON-RPC parse error, so a change to one should be deliberate. Each
 * limit is tested at its boundary. The writer is checked byte for byte (escaping, pretty
 * printing, number forms) and for its misuse and overflow flags. */
#include "json/json.h"
#include "test.h"

#include <locale.h>
#include <math.h>

static mcp_arena arena;

/* Parses s (strlen) with default limits; fails the test on error. */
static json_value *parse_ok(const char *s)
{
    json_error err;
    json_value *v = json_parse(s, strlen(s), &arena, NULL, &err);
    if (!v) T_FAIL("parse of '%s' failed: %s (byte %zu)", s, err.msg, err.offset);
    return v;
}

/* Parses s[0..len) expecting the error msg at offset/line/col. */
static void check_error_n(const char *s, size_t len, const json_limits *lim, const char *msg,
                          size_t offset, unsigned line, unsigned col, int at)
{
    json_error err;
    memset(&err, 0, sizeof err);
    json_value *v = json_parse(s, len, &arena, lim, &err);
    if (v) T_FAIL("line %d: '%.*s' parsed but should fail with \"%s\"", at, (int)len, s, msg);
    if (strcmp(err.msg, msg) != 0)
        T_FAIL("line %d: '%.*s': message \"%s\", want \"%s\"", at, (int)len, s, err.msg, msg);
    if (err.offset != offset || err.line != line || err.col != col)
        T_FAIL("line %d: '%.*s' (%s): at byte %zu line %u col %u, want %zu/%u/%u", at, (int)len, s,
               msg, err.offset, err.line, err.col, offset, line, col);
}

#define ERR(s, msg, off, line, col) check_error_n(s, strlen(s), NULL, msg, off, line, col, __LINE__)
#define ERRN(s, msg, off, line, col)                                                               \
    check_error_n(s, sizeof(s) - 1, NULL, msg, off, line, col, __LINE__)
#define ERRL(s, lim, msg, off) check_error_n(s, strlen(s), lim, msg, off, 1, (off) + 1, __LINE__)

/* Serializes v compactly into a static string (for comparisons). */
static const char *dump(const json_value *v, bool pretty)
{
    static char out[1 << 16];
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    if (json_serialize(&b, v, pretty) != 0) T_FAIL("json_serialize failed");
    if (b.len >= sizeof out) T_FAIL("dump too long");
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    mcp_buf_free(&b);
    return out;
}

/* ---- parsing: values ------------------------------------------------------------------------- */

TEST(scalars)
{
    json_value *v = parse_ok("null");
    CHECK_INT(v->type, JSON_NULL);
    v = parse_ok(" true ");
    CHECK(v->type == JSON_BOOL && v->b);
    v = parse_ok("false");
    CHECK(v->type == JSON_BOOL && !v->b);
    v = parse_ok("\"hi\"");
    CHECK_INT(v->type, JSON_STRING);
    CHECK_STR(v->u.str, "hi");
    CHECK_INT(v->len, 2);
    v = parse_ok("\"\"");
    CHECK_STR(v->u.str, "");
    CHECK_INT(v->len, 0);
    v = parse_ok("-12");
    CHECK_INT(v->type, JSON_INT);
    CHECK_INT(v->u.num.i, -12);
    CHECK_STR(v->u.num.text, "-12");
    CHECK_INT(v->len, 3);
    v = parse_ok("\t\r\n 1.5e1 \n");
    CHECK_INT(v->type, JSON_DOUBLE);
    CHECK(v->u.num.d == 15.0);
    CHECK_STR(v->u.num.text, "1.5e1");
}

TEST(containers_keep_order)
{
    json_value *v = parse_ok("{\"z\":1,\"a\":[true,null,\"s\",{}],\"m\":{\"k\":[]}}");
    CHECK_INT(v->type, JSON_OBJECT);
    CHECK_INT(v->len, 3);
    CHECK_STR(v->u.members[0].key, "z");
    CHECK_STR(v->u.members[1].key, "a");
    CHECK_STR(v->u.members[2].key, "m");
    const json_value *a = &v->u.members[1].value;
    CHECK_INT(a->type, JSON_ARRAY);
    CHECK_INT(a->len, 4);
    CHECK_INT(a->u.items[0].type, JSON_BOOL);
    CHECK_INT(a->u.items[1].type, JSON_NULL);
    CHECK_STR(a->u.items[2].u.str, "s");
    CHECK(a->u.items[3].type == JSON_OBJECT && a->u.items[3].len == 0);
    const json_value *k = json_get(json_get(v, "m"), "k");
    CHECK(k && k->type == JSON_ARRAY && k->len == 0);
    CHECK_STR(dump(v, false), "{\"z\":1,\"a\":[true,null,\"s\",{}],\"m\":{\"k\":[]}}");
}

TEST(strings_decoded)
{
    json_value *v = parse_ok("\"a\\u0000b\"");
    CHECK_INT(v->len, 3);
    CHECK_MEM(v->u.str, 4, "a\0b", 4); /* NUL inside, NUL-terminated too */
    v = parse_ok("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
    CHECK_STR(v->u.str, "\"\\/\b\f\n\r\t");
    v = parse_ok("\"\\u00e9\\u20AC\\ud83d\\ude00\\uD834\\uDD1E\"");
    CHECK_STR(v->u.str, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF0\x9D\x84\x9E");
    v = parse_ok("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBF\xF4\x8F\xBF\xBF\x7F\"");
    CHECK_STR(v->u.str, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBF\xF4\x8F\xBF\xBF\x7F");
    v = parse_ok("{\"k\\u0000ey\":1}");
    CHECK_INT(v->u.members[0].key_len, 4);
    CHECK_MEM(v->u.members[0].key, 4, "k\0ey", 4);
}

/* Every position of a special byte relative to the 16-byte scan blocks. */
TEST(string_scan_boundaries)
{
    char in[128], want[128];
    for (size_t len = 0; len < 70; len++) {
        for (size_t pos = 0; pos <= len; pos++) {
            /* a string of 'a's with "\n" (escaped) at pos, then a closing quote */
            size_t n = 0;
            in[n++] = '"';
            for (size_t i = 0; i < len; i++) {
                if (i == pos) {
                    in[n++] = '\\';
                    in[n++] = 'n';
                } else {
                    in[n++] = 'a';
                }
            }
            in[n++] = '"';
            json_error err;
            json_value *v = json_parse(in, n, &arena, NULL, &err);
            CHECK(v != NULL);
            for (size_t i = 0; i < len; i++) want[i] = i == pos ? '\n' : 'a';
            CHECK_MEM(v->u.str, v->len, want, len);
            /* the same with a raw newline: rejected exactly there */
            in[1 + pos] = '\n';
            if (pos < len) {
                memset(in + 1, 'a', len);
                in[1 + pos] = '\n';
                in[1 + len] = '"';
                CHECK(json_parse(in, len + 2, &arena, NULL, &err) == NULL);
                CHECK_INT(err.offset, 1 + pos);
                /* and with a 2-byte UTF-8 character there: accepted */
                memset(in + 1, 'a', len + 1);
                in[1 + pos] = '\xC3';
                in[2 + pos] = '\xA9';
                in[2 + len] = '"';
                v = json_parse(in, len + 3, &arena, NULL, &err);
                CHECK(v && v->len == len + 1);
            }
        }
    }
}

TEST(integers)
{
    json_value *v = parse_ok("9223372036854775807");
    CHECK_INT(v->type, JSON_INT);
    CHECK(v->u.num.i == INT64_MAX);
    v = parse_ok("-9223372036854775808");
    CHECK_INT(v->type, JSON_INT);
    CHECK(v->u.num.i == INT64_MIN);
    v = parse_ok("9223372036854775808");
    CHECK_INT(v->type, JSON_DOUBLE);
    CHECK(v->u.num.d == 9223372036854775808.0);
    v = parse_ok("-9223372036854775809");
    CHECK_INT(v->type, JSON_DOUBLE);
    v = parse_ok("123456789012345678901234567890");
    CHECK_INT(v->type, JSON_DOUBLE);
    CHECK(v->u.num.d == 1.2345678901234568e29);
    v = parse_ok("-0");
    CHECK_INT(v->type, JSON_INT);
    CHECK_INT(v->u.num.i, 0);
    v = parse_ok("0");
    CHECK_INT(v->u.num.i, 0);
    v = parse_ok("100000000000000000"); /* 18 digits: past the short path */
    CHECK(v->type == JSON_INT && v->u.num.i == 100000000000000000);
    v = parse_ok("1E2");
    CHECK_INT(v->type, JSON_DOUBLE); /* an exponent makes a double */
    v = parse_ok("1.0");
    CHECK_INT(v->type, JSON_DOUBLE);
}

/* A JSON-RPC id must come back exactly: 2^53 + 1 is not a double. */
TEST(id_stays_exact)
{
    json_value *v = parse_ok("{\"jsonrpc\":\"2.0\",\"id\":9007199254740993}");
    const json_value *id = json_get(v, "id");
    CHECK_INT(id->type, JSON_INT);
    CHECK(id->u.num.i == 9007199254740993LL);
    CHECK_STR(dump(v, false), "{\"jsonrpc\":\"2.0\",\"id\":9007199254740993}");
    mcp_buf b;
    json_writer w;
    mcp_buf_init(&b, NULL, 0, 0);
    json_writer_init(&w, &b, false);
    json_write_int(&w, id->u.num.i);
    CHECK_MEM(b.data, b.len, "9007199254740993", 16);
    mcp_buf_free(&b);
}

TEST(doubles)
{
    static const char *const cases[] = {"0.1",
                                        "1.5",
                                        "-2.25",
                                        "1e22",
                                        "1e23",
                                        "123456.789e-5",
                                        "0.000001234",
                                        "3.141592653589793",
                                        "2.2250738585072014e-308",
                                        "2.2250738585072011e-308",
                                        "5e-324",
                                        "4.9e-324",
                                        "1.7976931348623157e308",
                                        "9007199254740993.0",
                                        "0.30000000000000004",
                                        "1e-22",
                                        "1e-23",
                                        "123456789012345678e-10",
                                        "1.00000000000000011102230246251565404236316680908203125",
                                        "7.2057594037927933e16",
                                        "0.0000000000000000000000000000000000000001e40"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_value *v = parse_ok(cases[i]);
        CHECK_INT(v->type, JSON_DOUBLE);
        double want = strtod(cases[i], NULL);
        if (v->u.num.d != want) T_FAIL("%s: %.17g != %.17g", cases[i], v->u.num.d, want);
    }
    json_value *v = parse_ok("1e400");
    CHECK(isinf(v->u.num.d) && v->u.num.d > 0);
    CHECK_STR(v->u.num.text, "1e400");
    v = parse_ok("-1e400");
    CHECK(isinf(v->u.num.d) && v->u.num.d < 0);
    v = parse_ok("1e-400");
    CHECK(v->u.num.d == 0.0);
    v = parse_ok("-0.0");
    CHECK(v->u.num.d == 0.0 && signbit(v->u.num.d));
    v = parse_ok("0e99999999999999999999");
    CHECK(v->u.num.d == 0.0);
}

/* Numbers must not depend on the process locale (',' as decimal point in de_DE). */
TEST(locale_independent)
{
    const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!loc) loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    if (!loc) {
        printf("  (no de_DE/fr_FR locale installed; locale test checks C only)\n");
    }
    json_value *v = parse_ok("[1.5, 1e23, 0.1]");
    CHECK(v->u.items[0].u.num.d == 1.5);
    CHECK(v->u.items[1].u.num.d == 1e23);
    mcp_buf b;
    json_writer w;
    mcp_buf_init(&b, NULL, 0, 0);
    json_writer_init(&w, &b, false);
    json_write_arr_begin(&w);
    json_write_double(&w, 1.5);
    json_write_double(&w, 0.1);
    json_write_arr_end(&w);
    CHECK_MEM(b.data, b.len, "[1.5,0.1]", 9);
    mcp_buf_free(&b);
    setlocale(LC_NUMERIC, "C");
}

/* ---- parsing: errors --------------------------------------------------------------------------
 */

TEST(errors_structure)
{
    ERR("", "unexpected end of input, expected a value", 0, 1, 1);
    ERR("  \n ", "unexpected end of input, expected a value", 4, 2, 2);
    ERR("x", "unexpected character 'x', expected a value", 0, 1, 1);
    ERR("[,]", "unexpected character ',', expected a value", 1, 1, 2);
    ERR("[1,]", "trailing comma before ']'", 3, 1, 4);
    ERR("{\"a\":1,}", "trailing comma before '}'", 7, 1, 8);
    ERR("[", "unexpected end of input in array", 1, 1, 2);
    ERR("[1", "unexpected end of input in array", 2, 1, 3);
    ERR("[1,", "unexpected end of input in array", 3, 1, 4);
    ERR("{", "unexpected end of input in object", 1, 1, 2);
    ERR("{\"a\"", "unexpected end of input in object", 4, 1, 5);
    ERR("{\"a\":", "unexpected end of input in object", 5, 1, 6);
    ERR("{\"a\":1", "unexpected end of input in object", 6, 1, 7);
    ERR("[1 2]", "expected ',' or ']' after array element", 3, 1, 4);
    ERR("[1}", "expected ',' or ']' after array element", 2, 1, 3);
    ERR("{\"a\":1 \"b\":2}", "expected ',' or '}' after object member", 7, 1, 8);
    ERR("{\"a\" 1}", "expected ':' after member name", 5, 1, 6);
    ERR("{a:1}", "expected '\"' to begin a member name, got 'a'", 1, 1, 2);
    ERR("{\"a\":1,1:2}", "expected '\"' to begin a member name, got '1'", 7, 1, 8);
    ERR("[] x", "unexpected character 'x' after document", 3, 1, 4);
    ERR("1 2", "unexpected character '2' after document", 2, 1, 3);
    ERR("tru", "invalid literal, expected 'true'", 0, 1, 1);
    ERR("[nul]", "invalid literal, expected 'null'", 1, 1, 2);
    ERR("falsy", "invalid literal, expected 'false'", 0, 1, 1);
    ERR("truex", "unexpected character 'x' after document", 4, 1, 5);
    ERR("\xEF\xBB\xBF{}", "byte order mark (U+FEFF) is not allowed", 0, 1, 1);
    ERR("[\n  1,\n  x\n]", "unexpected character 'x', expected a value", 9, 3, 3);
    ERR("{\"a\":\n\n\n   tru}", "invalid literal, expected 'true'", 11, 4, 4);
    ERR("\xC3\xA9", "unexpected character 0xc3, expected a value", 0, 1, 1);
}

/* NUL bytes are data inside strings and an error anywhere else. */
TEST(embedded_nul)
{
    ERRN("[1]\0", "unexpected character 0x00 after document", 3, 1, 4);
    ERRN("[\0]", "unexpected character 0x00, expected a value", 1, 1, 2);
    ERRN("\0", "unexpected character 0x00, expected a value", 0, 1, 1);
    ERRN("\"a\0b\"", "control character 0x00 in string; escape it as \\u0000", 2, 1, 3);
    json_error err;
    json_value *v = json_parse("\"a\\u0000b\" ", 11, &arena, NULL, &err);
    CHECK(v && v->len == 3);
}

TEST(errors_strings)
{
    ERR("\"abc", "unexpected end of input in string", 4, 1, 5);
    ERR("[\"a\\", "unexpected end of input in string", 4, 1, 5);
    ERR("\"a\nb\"", "control character 0x0a in string; escape it as \\n", 2, 1, 3);
    ERR("\"\t\"", "control character 0x09 in string; escape it as \\t", 1, 1, 2);
    ERR("\"\x01\"", "control character 0x01 in string; escape it as \\u0001", 1, 1, 2);
    ERR("\"\x1f\"", "control character 0x1f in string; escape it as \\u001f", 1, 1, 2);
    ERR("\"\\x\"", "invalid escape '\\x' in string", 1, 1, 2);
    ERR("\"ab\\U0041\"", "invalid escape '\\U' in string", 3, 1, 4);
    ERR("\"\\\t\"", "invalid escape: '\\' followed by byte 0x09 in string", 1, 1, 2);
    ERR("\"\\u12\"", "invalid \\u escape: expected 4 hex digits", 1, 1, 2);
    ERR("\"\\u12G4\"", "invalid \\u escape: expected 4 hex digits", 1, 1, 2);
    ERR("\"\\u", "invalid \\u escape: expected 4 hex digits", 1, 1, 2);
    ERR("\"\\ud800\"", "unpaired surrogate \\ud800", 1, 1, 2);
    ERR("\"\\uD800\\u0041\"", "unpaired surrogate \\ud800", 1, 1, 2);
    ERR("\"\\ud800\\n\"", "unpaired surrogate \\ud800", 1, 1, 2);
    ERR("\"\\udbff\\udbff\"", "unpaired surrogate \\udbff", 1, 1, 2);
    ERR("\"\\ud800\\u12\"", "invalid \\u escape: expected 4 hex digits", 7, 1, 8);
    ERR("\"x\\udc00\"", "unpaired surrogate \\udc00", 2, 1, 3);
    ERR("\"\\uDFFF\\uD800\"", "unpaired surrogate \\udfff", 1, 1, 2);
    ERR("\"\xff\"", "invalid UTF-8 byte 0xff in string", 1, 1, 2);
    ERR("\"ab\x80\"", "invalid UTF-8 byte 0x80 in string", 3, 1, 4);
    ERR("\"\xf5\x80\x80\x80\"", "invalid UTF-8 byte 0xf5 in string", 1, 1, 2);
    ERR("\"\xC0\x80\"", "overlong UTF-8 sequence in string", 1, 1, 2);
    ERR("\"\xC1\xBF\"", "overlong UTF-8 sequence in string", 1, 1, 2);
    ERR("\"\xE0\x80\xAF\"", "overlong UTF-8 sequence in string", 1, 1, 2);
    ERR("\"\xF0\x8F\xBF\xBF\"", "overlong UTF-8 sequence in string", 1, 1, 2);
    ERR("\"\xED\xA0\x80\"", "UTF-8 encoded surrogate in string", 1, 1, 2);
    ERR("\"\xED\xBF\xBF\"", "UTF-8 encoded surrogate in string", 1, 1, 2);
    ERR("\"\xF4\x90\x80\x80\"", "UTF-8 code point above U+10FFFF in string", 1, 1, 2);
    ERR("\"\xC3\x28\"", "truncated UTF-8 sequence in string", 1, 1, 2);
    ERR("\"\xE2\x82\"", "truncated UTF-8 sequence in string", 1, 1, 2);
    ERR("\"\xF0\x9F\x98\"", "truncated UTF-8 sequence in string", 1, 1, 2);
    ERR("\"\xE2\x82", "unexpected end of input in string", 3, 1, 4);
    ERR("{\"\xff\":1}", "invalid UTF-8 byte 0xff in string", 2, 1, 3);
}

TEST(errors_numbers)
{
    ERR("01", "leading zero in number", 0, 1, 1);
    ERR("[-01]", "leading zero in number", 2, 1, 3);
    ERR("-", "expected digit after '-'", 1, 1, 2);
    ERR("-a", "expected digit after '-'", 1, 1, 2);
    ERR("[-.5]", "expected digit after '-'", 2, 1, 3);
    ERR("1.", "expected digit after '.' in number", 2, 1, 3);
    ERR("1.e5", "expected digit after '.' in number", 2, 1, 3);
    ERR("1e", "expected digit in exponent", 2, 1, 3);
    ERR("1e+", "expected digit in exponent", 3, 1, 4);
    ERR("1E-x", "expected digit in exponent", 3, 1, 4);
    ERR("+1", "unexpected character '+', expected a value", 0, 1, 1);
    ERR(".5", "unexpected character '.', expected a value", 0, 1, 1);
    ERR("1.5.", "unexpected character '.' after document", 3, 1, 4);
    ERR("0x1", "unexpected character 'x' after document", 1, 1, 2);
    ERR("NaN", "unexpected character 'N', expected a value", 0, 1, 1);
    json_limits lim = {.max_string = 8};
    ERRL("[123456789]", &lim, "number longer than 8 bytes", 1);
}

/* ---- limits ---------------------------------------------------------------------------------- */

TEST(limit_depth)
{
    char buf[300];
    memset(buf, '[', 128);
    memset(buf + 128, ']', 128);
    json_error err;
    CHECK(json_parse(buf, 256, &arena, NULL, &err) != NULL);
    memset(buf, '[', 129);
    memset(buf + 129, ']', 129);
    CHECK(json_parse(buf, 258, &arena, NULL, &err) == NULL);
    CHECK_STR(err.msg, "nesting deeper than 128");
    CHECK_INT(err.offset, 128);
    /* objects count too, mixed with arrays */
    json_limits lim = {.max_depth = 3};
    ERRL("[{\"a\":[{}]}]", &lim, "nesting deeper than 3", 7);
    ERRL("[{\"a\":[[]]}]", &lim, "nesting deeper than 3", 7);
    CHECK(json_parse("[{\"a\":[]}]", 10, &arena, &lim, &err) != NULL);
    /* a deep stack beyond the parser's built-in frames */
    lim.max_depth = 1000;
    char *deep = malloc(2000);
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    CHECK(json_parse(deep, 2000, &arena, &lim, &err) != NULL);
    free(deep);
}

/* 100 000 '[' fail at the 129th, without recursion or a scan of the rest. */
TEST(limit_depth_100000)
{
    size_t n = 100000;
    char *buf = malloc(n);
    memset(buf, '[', n);
    json_error err;
    CHECK(json_parse(buf, n, &arena, NULL, &err) == NULL);
    CHECK_STR(err.msg, "nesting deeper than 128");
    CHECK_INT(err.offset, 128);
    json_limits lim = {.max_depth = 200000};
    CHECK(json_parse(buf, n, &arena, &lim, &err) == NULL);
    CHECK_STR(err.msg, "unexpected end of input in array");
    CHECK_INT(err.offset, n);
    free(buf);
}

TEST(limit_string)
{
    json_limits lim = {.max_string = 4};
    json_error err;
    CHECK(json_parse("[\"abcd\"]", 8, &arena, &lim, &err) != NULL);
    ERRL("[\"abcde\"]", &lim, "string longer than 4 bytes", 1);
    ERRL("{\"abcde\":1}", &lim, "string longer than 4 bytes", 1);
    /* decoded length counts: six escapes of 6 bytes each decode to 4 bytes, which fits */
    CHECK(json_parse("\"\\u0041\\u0042\\u0043\\u0044\"", 26, &arena, &lim, &err) != NULL);
    ERRL("\"\\u0041\\u0042\\u0043\\u0044\\n\"", &lim, "string longer than 4 bytes", 0);
    ERRL("\"\\u00e9\\u00e9\\u00e9\"", &lim, "string longer than 4 bytes", 0);
}

TEST(limit_members)
{
    json_limits lim = {.max_members = 3};
    json_error err;
    CHECK(json_parse("[1,2,3]", 7, &arena, &lim, &err) != NULL);
    ERRL("[1,2,3,4]", &lim, "more than 3 items in array", 6);
    CHECK(json_parse("{\"a\":1,\"b\":2,\"c\":3}", 19, &arena, &lim, &err) != NULL);
    ERRL("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", &lim, "more than 3 members in object", 19);
    /* the count is per container, not per document */
    CHECK(json_parse("[[1,2,3],[1,2,3],[1,2,3]]", 25, &arena, &lim, &err) != NULL);
}

TEST(limit_size)
{
    json_limits lim = {.max_size = 10};
    json_error err;
    CHECK(json_parse("[1,2,3,45]", 10, &arena, &lim, &err) != NULL);
    ERRL("[1,2,3,456]", &lim, "document larger than 10 bytes", 0);
}

/* A zeroed json_limits means the defaults, field by field. */
TEST(limit_zero_means_default)
{
    json_limits lim = {0};
    json_error err;
    char buf[300];
    memset(buf, '[', 129);
    memset(buf + 129, ']', 129);
    CHECK(json_parse(buf, 258, &arena, &lim, &err) == NULL);
    CHECK_STR(err.msg, "nesting deeper than 128");
    CHECK(json_parse("{\"a\":1,\"a\":2}", 13, &arena, &lim, &err) == NULL);
    CHECK(json_default_limits.max_depth == 128);
    CHECK(json_default_limits.max_string == 8u << 20);
    CHECK(json_default_limits.max_members == 1000000);
    CHECK(json_default_limits.max_size == (size_t)64 << 20);
    CHECK(!json_default_limits.allow_duplicate_keys);
}

TEST(duplicate_keys)
{
    ERR("{\"a\":1,\"a\":2}", "duplicate member name \"a\"", 7, 1, 8);
    ERR("{\"a\":1,\"b\":{\"a\":1,\"c\":2,\"c\":3}}", "duplicate member name \"c\"", 24, 1, 25);
    /* an escape does not hide a duplicate: names compare decoded */
    ERR("{\"ab\":1,\"\\u0061b\":2}", "duplicate member name \"ab\"", 8, 1, 9);
    ERR("{\"\":1,\"\":2}", "duplicate member name \"\"", 6, 1, 7);
    ERR("{\"a\\\"\\u0001\":1,\"a\\\"\\u0001\":2}", "duplicate member name \"a\\x22\\x01\"", 15, 1,
        16);
    ERR("{\"0123456789012345678901234567890123456789XYZ\":1,"
        "\"0123456789012345678901234567890123456789XYZ\":2}",
        "duplicate member name \"0123456789012345678901234567890123456789...\"", 49, 1, 50);
    /* same length, different bytes; prefixes; siblings in different objects */
    parse_ok("{\"abcdefghij1\":1,\"abcdefghij2\":2,\"ab\":3,\"abc\":4,\"x\":{\"ab\":5}}");
    json_limits lim = {.allow_duplicate_keys = true};
    json_error err;
    json_value *v = json_parse("{\"a\":1,\"a\":2}", 13, &arena, &lim, &err);
    CHECK(v && v->len == 2);
    CHECK_INT(json_get(v, "a")->u.num.i, 1); /* lookup finds the first */
}

/* Objects past 16 members use a hash table: duplicates found anywhere, and a big object is
 * linear, not quadratic. */
TEST(duplicate_keys_large)
{
    size_t n = 200000;
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    mcp_buf_putc(&b, '{');
    for (size_t i = 0; i < n; i++) mcp_buf_printf(&b, "%s\"key%zu\":%zu", i ? "," : "", i, i);
    mcp_buf_putc(&b, '}');
    json_error err;
    json_value *v = json_parse(b.data, b.len, &arena, NULL, &err);
    CHECK(v && v->len == n);
    CHECK_INT(json_get(v, "key199999")->u.num.i, 199999);
    b.len--; /* add a duplicate of an early key at the end */
    mcp_buf_printf(&b, ",\"key17\":0}");
    CHECK(json_parse(b.data, b.len, &arena, NULL, &err) == NULL);
    CHECK_STR(err.msg, "duplicate member name \"key17\"");
    CHECK_INT(err.offset, b.len - 10);
    /* and one that collides just after the switch to hashing */
    ERR("{\"1\":1,\"2\":1,\"3\":1,\"4\":1,\"5\":1,\"6\":1,\"7\":1,\"8\":1,\"9\":1,\"10\":1,\"11\":"
        "1,"
        "\"12\":1,\"13\":1,\"14\":1,\"15\":1,\"16\":1,\"17\":1,\"3\":1}",
        "duplicate member name \"3\"", 111, 1, 112);
    mcp_buf_free(&b);
}

/* Big containers take their scratch block instead of a copy (see take_entries): what sits below
 * them on the scratch stack and what comes after must survive that. */
TEST(big_containers)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    mcp_buf_puts(&b, "[\"first\",[");
    for (int i = 0; i < 5000; i++) mcp_buf_printf(&b, "%s%d", i ? "," : "", i);
    mcp_buf_puts(&b, "],{\"k\":{");
    for (int i = 0; i < 3000; i++) mcp_buf_printf(&b, "%s\"m%d\":[%d]", i ? "," : "", i, i);
    mcp_buf_puts(&b, "}},[");
    for (int i = 0; i < 2000; i++) mcp_buf_printf(&b, "%s\"s%d\"", i ? "," : "", i);
    mcp_buf_puts(&b, "],\"last\"]");
    json_error err;
    json_value *v = json_parse(b.data, b.len, &arena, NULL, &err);
    CHECK(v != NULL);
    CHECK_INT(v->len, 5);
    CHECK_STR(json_at(v, 0)->u.str, "first");
    const json_value *nums = json_at(v, 1);
    CHECK_INT(nums->len, 5000);
    for (int i = 0; i < 5000; i++) CHECK_INT(nums->u.items[i].u.num.i, i);
    const json_value *k = json_get(json_at(v, 2), "k");
    CHECK_INT(k->len, 3000);
    CHECK_STR(k->u.members[2999].key, "m2999");
    CHECK_INT(json_at(json_get(k, "m1234"), 0)->u.num.i, 1234);
    CHECK_INT(json_at(v, 3)->len, 2000);
    CHECK_STR(json_at(json_at(v, 3), 1999)->u.str, "s1999");
    CHECK_STR(json_at(v, 4)->u.str, "last");
    /* and the serialization is the input */
    mcp_buf o;
    mcp_buf_init(&o, NULL, 0, 0);
    CHECK_INT(json_serialize(&o, v, false), 0);
    CHECK_MEM(o.data, o.len, b.data, b.len);
    mcp_buf_free(&o);
    mcp_buf_free(&b);
}

/* A small message parsed with a stack block as the arena makes no heap allocation. */
TEST(no_heap_for_small_messages)
{
    char block[4096];
    mcp_arena a;
    mcp_arena_init(&a, block, sizeof block);
    const char *msg =
        "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"echo\",\"arguments\":{\"message\":\"hello\",\"flags\":[true,false,null],"
        "\"nested\":{\"a\":1.5,\"b\":\"x\\u00e9y\"}},\"_meta\":{\"progressToken\":1}}}";
    json_error err;
    json_value *v = json_parse(msg, strlen(msg), &a, NULL, &err);
    CHECK(v != NULL);
    CHECK(a.heap == NULL);
    CHECK_STR(
        json_get(json_get(json_get(v, "params"), "arguments"), "nested")->u.members[1].value.u.str,
        "x\xC3\xA9y");
    mcp_arena_free(&a);
}

TEST(error_str_and_null_err)
{
    json_error err;
    char out[200];
    CHECK(json_parse("[\n1,\n?]", 7, &arena, NULL, &err) == NULL);
    CHECK_STR(json_error_str(&err, out, sizeof out),
              "line 3, column 1 (byte 5): unexpected character '?', expected a value");
    CHECK(json_parse("[", 1, &arena, NULL, NULL) == NULL);
    CHECK(json_parse(NULL, 0, &arena, NULL, &err) == NULL);
}

/* ---- writer -----------------------------------------------------------------------------------
 */

/* Escapes s[0..len) with json_escape_into and compares with want. */
static void check_escape(const char *s, size_t len, const char *want, int at)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    json_escape_into(&b, s, len);
    if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
        T_FAIL("line %d: escaped \"%.*s\", want \"%s\"", at, (int)b.len, b.data, want);
    mcp_buf_free(&b);
}
#define ESC(s, want) check_escape(s, sizeof(s) - 1, want, __LINE__)

TEST(writer_escaping)
{
    ESC("plain text", "plain text");
    ESC("q\"b\\s/", "q\\\"b\\\\s/");
    ESC("\b\f\n\r\t", "\\b\\f\\n\\r\\t");
    ESC("\x01\x1f\x7f", "\\u0001\\u001f\x7f");
    ESC("a\0b", "a\\u0000b");
    ESC("\xE2\x80\xA8 \xE2\x80\xA9 \xE2\x80\xAA", "\\u2028 \\u2029 \xE2\x80\xAA");
    ESC("\xC3\xA9\xF0\x9F\x98\x80", "\xC3\xA9\xF0\x9F\x98\x80");
    /* invalid UTF-8: one U+FFFD per maximal invalid subpart */
    ESC("a\xFF"
        "b",
        "a\xEF\xBF\xBD"
        "b");
    ESC("\xC3", "\xEF\xBF\xBD");
    ESC("\xE2\x82", "\xEF\xBF\xBD");
    ESC("\xE2\x82z", "\xEF\xBF\xBDz");
    ESC("\xF0\x9F\x98", "\xEF\xBF\xBD");
    ESC("\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    ESC("\xC0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD");
    ESC("\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    /* every control character */
    for (int c = 0; c < 0x20; c++) {
        char in[1] = {(char)c}, want[8];
        const char *shortform = c == '\b'   ? "\\b"
                                : c == '\f' ? "\\f"
                                : c == '\n' ? "\\n"
                                : c == '\r' ? "\\r"
                                : c == '\t' ? "\\t"
                                            : NULL;
        if (shortform)
            snprintf(want, sizeof want, "%s", shortform);
        else
            snprintf(want, sizeof want, "\\u%04x", c);
        check_escape(in, 1, want, __LINE__);
    }
    /* specials at every offset of long strings (the 16-byte scan) */
    char in[64], want[128];
    for (size_t pos = 0; pos < 40; pos++) {
        memset(in, 'x', 40);
        in[pos] = '"';
        memset(want, 'x', 41);
        want[pos] = '\\';
        want[pos + 1] = '"';
        want[41] = '\0';
        check_escape(in, 40, want, __LINE__);
    }
}

/* Output written with a writer into a fresh buffer, for comparing. */
typedef struct wbuf {
    mcp_buf b;
    json_writer w;
} wbuf;

static void wb_init(wbuf *t, bool pretty)
{
    mcp_buf_init(&t->b, NULL, 0, 0);
    json_writer_init(&t->w, &t->b, pretty);
}

static void wb_check(wbuf *t, const char *want, bool error)
{
    if (t->b.len != strlen(want) || (t->b.len && memcmp(t->b.data, want, t->b.len) != 0))
        T_FAIL("wrote \"%.*s\", want \"%s\"", (int)t->b.len, t->b.data, want);
    if (t->w.error != error) T_FAIL("writer error flag %d, want %d", t->w.error, error);
    mcp_buf_free(&t->b);
}

TEST(writer_values)
{
    wbuf t;
    wb_init(&t, false);
    json_write_obj_begin(&t.w);
    json_write_keyz(&t.w, "s");
    json_write_strz(&t.w, "v\n");
    json_write_key(&t.w, "i\"", 2);
    json_write_int(&t.w, INT64_MIN);
    json_write_keyz(&t.w, "m");
    json_write_int(&t.w, INT64_MAX);
    json_write_keyz(&t.w, "u");
    json_write_uint(&t.w, UINT64_MAX);
    json_write_keyz(&t.w, "b");
    json_write_bool(&t.w, true);
    json_write_keyz(&t.w, "f");
    json_write_bool(&t.w, false);
    json_write_keyz(&t.w, "n");
    json_write_null(&t.w);
    json_write_keyz(&t.w, "r");
    json_write_raw(&t.w, "[1,2]", 5);
    json_write_keyz(&t.w, "a");
    json_write_arr_begin(&t.w);
    json_write_int(&t.w, 0);
    json_write_arr_begin(&t.w);
    json_write_arr_end(&t.w);
    json_write_obj_begin(&t.w);
    json_write_obj_end(&t.w);
    json_write_arr_end(&t.w);
    json_write_obj_end(&t.w);
    wb_check(&t,
             "{\"s\":\"v\\n\",\"i\\\"\":-9223372036854775808,\"m\":9223372036854775807,"
             "\"u\":18446744073709551615,\"b\":true,\"f\":false,\"n\":null,\"r\":[1,2],"
             "\"a\":[0,[],{}]}",
             false);
}

TEST(writer_doubles)
{
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {1.5, "1.5"},
        {0.1, "0.1"},
        {100.0, "100.0"},
        {-0.0, "-0.0"},
        {1e20, "1e+20"},
        {1e15, "1e+15"},
        {123456.0, "123456.0"},
        {1.0 / 3, "0.3333333333333333"},
        {5e-324, "4.94065645841247e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {9007199254740993.0, "9007199254740992.0"},
        {0.30000000000000004, "0.30000000000000004"},
        {NAN, "null"},
        {INFINITY, "null"},
        {-INFINITY, "null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wbuf t;
        wb_init(&t, false);
        json_write_double(&t.w, cases[i].d);
        wb_check(&t, cases[i].want, false);
    }
}

/* Written doubles read back as the same bits and as doubles, for many bit patterns. */
TEST(writer_doubles_round_trip)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        uint64_t bits =
            i % 2 ? x : (x & 0x800FFFFFFFFFFFFFu) | ((uint64_t)(1023 + i % 80 - 40) << 52);
        memcpy(&d, &bits, 8);
        if (!isfinite(d)) continue;
        wbuf t;
        wb_init(&t, false);
        json_write_double(&t.w, d);
        json_error err;
        json_value *v = json_parse(t.b.data, t.b.len, &arena, NULL, &err);
        if (!v || v->type != JSON_DOUBLE || memcmp(&v->u.num.d, &d, 8) != 0)
            T_FAIL("%.17g wrote \"%.*s\"", d, (int)t.b.len, t.b.data);
        mcp_buf_free(&t.b);
    }
}

TEST(writer_pretty)
{
    json_value *v = parse_ok("{\"a\":1,\"b\":[true,{\"c\":null},[]],\"d\":{},\"e\":\"x\"}");
    CHECK_STR(dump(v, true), "{\n"
                             "  \"a\": 1,\n"
                             "  \"b\": [\n"
                             "    true,\n"
                             "    {\n"
                             "      \"c\": null\n"
                             "    },\n"
                             "    []\n"
                             "  ],\n"
                             "  \"d\": {},\n"
                             "  \"e\": \"x\"\n"
                             "}");
    CHECK_STR(dump(parse_ok("[]"), true), "[]");
    CHECK_STR(dump(parse_ok("7"), true), "7");
    /* deeper than the indentation string */
    json_value *deep =
        parse_ok("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    const char *out = dump(deep, true);
    CHECK_CONTAINS(out,
                   "\n                                                                        1\n");
}

TEST(writer_misuse)
{
    wbuf t;
    wb_init(&t, false); /* value inside an object without a key */
    json_write_obj_begin(&t.w);
    json_write_int(&t.w, 1);
    json_write_obj_end(&t.w);
    wb_check(&t, "{1}", true);
    wb_init(&t, false); /* key outside an object */
    json_write_arr_begin(&t.w);
    json_write_keyz(&t.w, "k");
    CHECK(t.w.error);
    mcp_buf_free(&t.b);
    wb_init(&t, false); /* key at top level */
    json_write_keyz(&t.w, "k");
    CHECK(t.w.error);
    mcp_buf_free(&t.b);
    wb_init(&t, false); /* two keys in a row */
    json_write_obj_begin(&t.w);
    json_write_keyz(&t.w, "a");
    json_write_keyz(&t.w, "b");
    CHECK(t.w.error);
    mcp_buf_free(&t.b);
    wb_init(&t, false); /* object closed after a key */
    json_write_obj_begin(&t.w);
    json_write_keyz(&t.w, "a");
    json_write_obj_end(&t.w);
    CHECK(t.w.error);
    mcp_buf_free(&t.b);
    wb_init(&t, false); /* mismatched end */
    json_write_arr_begin(&t.w);
    json_write_obj_end(&t.w);
    CHECK(t.w.error);
    mcp_buf_free(&t.b);
    wb_init(&t, false); /* end with nothing open */
    json_write_arr_end(&t.w);
    wb_check(&t, "", true);
    wb_init(&t, false); /* two top-level values */
    json_write_int(&t.w, 1);
    json_write_int(&t.w, 2);
    CHECK(t.w.error);
    mcp_buf_free(&t.b);
    wb_init(&t, false); /* too deep */
    for (int i = 0; i < JSON_WRITER_MAX_DEPTH; i++) json_write_arr_begin(&t.w);
    CHECK(!t.w.error);
    json_write_arr_begin(&t.w);
    CHECK(t.w.error);
    mcp_buf_free(&t.b);
}

/* A DOM deeper than the writer's stack is refused, not overflowed. */
TEST(writer_deep_dom)
{
    json_limits lim = {.max_depth = 1000};
    char buf[1200];
    memset(buf, '[', 600);
    memset(buf + 600, ']', 600);
    json_error err;
    json_value *v = json_parse(buf, 1200, &arena, &lim, &err);
    CHECK(v != NULL);
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    CHECK_INT(json_serialize(&b, v, false), -1);
    mcp_buf_free(&b);
}

TEST(writer_buffer_cap)
{
    json_value *v = parse_ok("{\"message\":\"hello world, this is longer than the cap\"}");
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 16);
    CHECK_INT(json_serialize(&b, v, false), -1);
    CHECK(b.overflow);
    CHECK(b.len <= 16);
    mcp_buf_free(&b);
    char stack[8];
    mcp_buf_init(&b, stack, sizeof stack, 64);
    CHECK_INT(json_serialize(&b, v, false), 0);
    CHECK(!b.overflow);
    mcp_buf_free(&b);
    mcp_buf_init(&b, NULL, 0, 10); /* base64 past the cap */
    json_writer w;
    json_writer_init(&w, &b, false);
    json_write_base64(&w, "0123456789", 10);
    CHECK(b.overflow);
    mcp_buf_free(&b);
}

TEST(writer_base64)
{
    static const char *const want[] = {"\"\"",         "\"Zg==\"",     "\"Zm8=\"",    "\"Zm9v\"",
                                       "\"Zm9vYg==\"", "\"Zm9vYmE=\"", "\"Zm9vYmFy\""};
    for (size_t n = 0; n <= 6; n++) {
        wbuf t;
        wb_init(&t, false);
        json_write_base64(&t.w, "foobar", n);
        wb_check(&t, want[n], false);
    }
    wbuf t;
    wb_init(&t, false);
    json_write_arr_begin(&t.w);
    json_write_base64(&t.w, "\xff\xfe\x00", 3);
    json_write_base64(&t.w, "\xfb", 1);
    json_write_arr_end(&t.w);
    wb_check(&t, "[\"//4A\",\"+w==\"]", false);
}

/* Values built by hand have no number text: the writer formats them. */
TEST(writer_value_without_text)
{
    json_value items[3] = {{.type = JSON_INT, .u.num.i = -5},
                           {.type = JSON_DOUBLE, .u.num.d = 2.0},
                           {.type = JSON_DOUBLE, .u.num.d = NAN}};
    json_value arr = {.type = JSON_ARRAY, .len = 3, .u.items = items};
    CHECK_STR(dump(&arr, false), "[-5,2.0,null]");
    json_value *v = parse_ok("[1E400,-0,0.10]"); /* original text is kept */
    CHECK_STR(dump(v, false), "[1E400,-0,0.10]");
}

/* ---- lookup -----------------------------------------------------------------------------------
 */

TEST(lookup)
{
    json_value *v = parse_ok("{\"name\":\"echo\",\"n\":3,\"d\":2.0,\"h\":2.5,\"b\":true,"
                             "\"o\":{},\"a\":[10,20],\"z\":null,\"k\\u0000\":1}");
    CHECK_STR(json_get(v, "name")->u.str, "echo");
    CHECK(json_get(v, "missing") == NULL);
    CHECK(json_get(json_get(v, "a"), "x") == NULL); /* not an object */
    CHECK(json_getn(v, "k\0", 2) != NULL);
    CHECK(json_getn(v, "k", 1) == NULL);
    CHECK_INT(json_at(json_get(v, "a"), 1)->u.num.i, 20);
    CHECK(json_at(json_get(v, "a"), 2) == NULL);
    CHECK(json_at(v, 0) == NULL);
    CHECK(json_at(NULL, 0) == NULL);
    CHECK(json_get(NULL, "a") == NULL);
    CHECK_STR(json_type_name(json_get(v, "z")), "null");
    CHECK_STR(json_type_name(json_get(v, "b")), "boolean");
    CHECK_STR(json_type_name(json_get(v, "n")), "integer");
    CHECK_STR(json_type_name(json_get(v, "h")), "number");
    CHECK_STR(json_type_name(json_get(v, "name")), "string");
    CHECK_STR(json_type_name(json_get(v, "a")), "array");
    CHECK_STR(json_type_name(v), "object");
    CHECK(json_number(json_get(v, "n")) == 3.0);
    CHECK(json_number(json_get(v, "h")) == 2.5);
    CHECK(json_number(json_get(v, "name")) == 0.0);
    CHECK(json_is_string(json_get(v, "name")) && !json_is_string(NULL));
    CHECK(json_is_number(json_get(v, "d")) && json_is_object(v) && json_is_array(json_get(v, "a")));
}

TEST(typed_getters)
{
    json_value *v = parse_ok("{\"name\":\"echo\",\"n\":3,\"d\":2.0,\"h\":2.5,\"big\":1e30,"
                             "\"b\":false,\"o\":{},\"a\":[]}");
    char err[128] = "";
    const char *s = NULL;
    size_t len = 0;
    int64_t i = 0;
    bool b = true;
    const json_value *o = NULL;
    CHECK_INT(json_get_str(v, "name", &s, &len, "params", err, sizeof err), 1);
    CHECK_STR(s, "echo");
    CHECK_INT(len, 4);
    CHECK_INT(json_get_str(v, "nope", &s, &len, "params", err, sizeof err), 0);
    CHECK_INT(json_get_str(v, "n", &s, &len, "params", err, sizeof err), -1);
    CHECK_STR(err, "params.n: expected string, got integer");
    CHECK_INT(json_get_str(v, "h", &s, NULL, NULL, err, sizeof err), -1);
    CHECK_STR(err, "h: expected string, got number");
    CHECK_INT(json_get_int(v, "n", &i, "p", err, sizeof err), 1);
    CHECK_INT(i, 3);
    CHECK_INT(json_get_int(v, "d", &i, "p", err, sizeof err), 1); /* 2.0 is an integer */
    CHECK_INT(i, 2);
    CHECK_INT(json_get_int(v, "h", &i, "p", err, sizeof err), -1);
    CHECK_STR(err, "p.h: expected integer, got number");
    CHECK_INT(json_get_int(v, "big", &i, "p", err, sizeof err), -1);
    CHECK_INT(json_get_int(v, "name", &i, "p", NULL, 0), -1);
    CHECK_INT(json_get_bool(v, "b", &b, "p", err, sizeof err), 1);
    CHECK(!b);
    CHECK_INT(json_get_bool(v, "o", &b, "p", err, sizeof err), -1);
    CHECK_STR(err, "p.o: expected boolean, got object");
    CHECK_INT(json_get_obj(v, "o", &o, "p", err, sizeof err), 1);
    CHECK(o && o->type == JSON_OBJECT);
    CHECK_INT(json_get_obj(v, "a", &o, "p", err, sizeof err), -1);
    CHECK_STR(err, "p.a: expected object, got array");
    CHECK_INT(json_get_arr(v, "a", &o, "p", err, sizeof err), 1);
    CHECK_INT(json_get_arr(v, "name", &o, "p", err, sizeof err), -1);
    CHECK_STR(err, "p.name: expected array, got string");
    CHECK_INT(json_get_arr(v, "zz", &o, "p", err, sizeof err), 0);
    CHECK_INT(json_get_str(json_get(v, "a"), "x", &s, &len, "p", err, sizeof err), 0);
    char tiny[8];
    CHECK_INT(json_get_str(v, "n", &s, &len, "params", tiny, sizeof tiny), -1);
    CHECK_STR(tiny, "params.");
}

TEST(equality)
{
    CHECK(json_equal(parse_ok("1"), parse_ok("1.0")));
    CHECK(json_equal(parse_ok("100"), parse_ok("1e2")));
    CHECK(json_equal(parse_ok("0"), parse_ok("-0.0")));
    CHECK(!json_equal(parse_ok("1"), parse_ok("1.5")));
    CHECK(!json_equal(parse_ok("9007199254740993"), parse_ok("9007199254740992.0")));
    CHECK(json_equal(parse_ok("9007199254740992"), parse_ok("9007199254740992.0")));
    CHECK(!json_equal(parse_ok("9223372036854775807"), parse_ok("9223372036854775808")));
    CHECK(json_equal(parse_ok("{\"a\":1,\"b\":[1,2]}"), parse_ok("{\"b\":[1,2.0],\"a\":1}")));
    CHECK(!json_equal(parse_ok("{\"a\":1,\"b\":2}"), parse_ok("{\"a\":1,\"c\":2}")));
    CHECK(!json_equal(parse_ok("{\"a\":1}"), parse_ok("{\"a\":1,\"b\":2}")));
    CHECK(!json_equal(parse_ok("[1,2]"), parse_ok("[2,1]")));
    CHECK(!json_equal(parse_ok("[1]"), parse_ok("[1,1]")));
    CHECK(json_equal(parse_ok("\"a\\u0000b\""), parse_ok("\"a\\u0000b\"")));
    CHECK(!json_equal(parse_ok("\"a\\u0000b\""), parse_ok("\"a\\u0000c\"")));
    CHECK(!json_equal(parse_ok("\"1\""), parse_ok("1")));
    CHECK(!json_equal(parse_ok("null"), parse_ok("false")));
    CHECK(!json_equal(parse_ok("true"), parse_ok("false")));
    CHECK(json_equal(parse_ok("[null,true,{}]"), parse_ok("[null,true,{}]")));
    CHECK(json_equal(NULL, NULL));
    CHECK(!json_equal(parse_ok("1"), NULL));
}

TEST(clone)
{
    mcp_arena a, b;
    mcp_arena_init(&a, NULL, 0);
    mcp_arena_init(&b, NULL, 0);
    const char *src =
        "{\"id\":9007199254740993,\"s\":\"x\\u0000y\",\"a\":[1.5,true,null,{\"k\":[]}]}";
    json_error err;
    json_value *v = json_parse(src, strlen(src), &a, NULL, &err);
    CHECK(v != NULL);
    json_value *c = json_clone(v, &b);
    CHECK(json_equal(v, c));
    mcp_arena_free(&a); /* the clone must not point into the first arena */
    CHECK_INT(json_get(c, "id")->u.num.i, 9007199254740993LL);
    CHECK_INT(json_get(c, "s")->len, 3);
    CHECK_STR(dump(c, false),
              "{\"id\":9007199254740993,\"s\":\"x\\u0000y\",\"a\":[1.5,true,null,{\"k\":[]}]}");
    CHECK(json_clone(NULL, &b) == NULL);
    mcp_arena_free(&b);
}

int main(void)
{
    mcp_arena_init(&arena, NULL, 0);
    RUN(scalars);
    RUN(containers_keep_order);
    RUN(strings_decoded);
    RUN(string_scan_boundaries);
    RUN(integers);
    RUN(id_stays_exact);
    RUN(doubles);
    RUN(locale_independent);
    RUN(errors_structure);
    RUN(embedded_nul);
    RUN(errors_strings);
    RUN(errors_numbers);
    RUN(limit_depth);
    RUN(limit_depth_100000);
    RUN(limit_string);
    RUN(limit_members);
    RUN(limit_size);
    RUN(limit_zero_means_default);
    RUN(duplicate_keys);
    RUN(duplicate_keys_large);
    RUN(big_containers);
    RUN(no_heap_for_small_messages);
    RUN(error_str_and_null_err);
    RUN(writer_escaping);
    RUN(writer_values);
    RUN(writer_doubles);
    RUN(writer_doubles_round_trip);
    RUN(writer_pretty);
    RUN(writer_misuse);
    RUN(writer_deep_dom);
    RUN(writer_buffer_cap);
    RUN(writer_base64);
    RUN(writer_value_without_text);
    RUN(lookup);
    RUN(typed_getters);
    RUN(equality);
    RUN(clone);
    mcp_arena_free(&arena);
    return test_summary();
}
