/* test_json_relaxed.c - the relaxed parse mode (comments and trailing commas, for config files)
 * and mcp_json_locate (where a JSON Pointer's value starts in the text, also in relaxed text).
 *
 * Relaxed mode must accept exactly strict JSON plus // and block comments wherever whitespace
 * may stand and one trailing comma before a closing bracket, and refuse everything else with
 * the same precise messages; strict mode must refuse all of it as before. */
#include "json/json.h"
#include <mcp/json.h>
#include "test.h"

static mcp_arena arena;
static const json_limits relaxed = {.relaxed = true};

static json_value *parse_relaxed(const char *s, json_error *err)
{
    return json_parse(s, strlen(s), &arena, &relaxed, err);
}

static void check_relaxed_error(const char *s, const char *msg, unsigned line, unsigned col, int at)
{
    json_error err = {0};
    if (parse_relaxed(s, &err)) T_FAIL("line %d: '%s' parsed in relaxed mode", at, s);
    if (strcmp(err.msg, msg) || err.line != line || err.col != col)
        T_FAIL("line %d: '%s': %u:%u %s, want %u:%u %s", at, s, err.line, err.col, err.msg, line,
               col, msg);
}
#define RERR(s, msg, line, col) check_relaxed_error(s, msg, line, col, __LINE__)

TEST(comments_anywhere_whitespace_may_be)
{
    json_error err;
    const char *doc = "// a config\n"
                      "{ /* first */ \"a\" /* before colon */ : /* value */ 1 // end of line\n"
                      ", \"b\": [1, /* inner */ 2 /**/] /* before brace */ }\n"
                      "// trailing comment, no newline";
    json_value *v = parse_relaxed(doc, &err);
    if (!v) T_FAIL("relaxed parse failed: %u:%u %s", err.line, err.col, err.msg);
    CHECK_INT(json_get(v, "a")->u.num.i, 1);
    CHECK_INT(json_get(v, "b")->len, 2);
    CHECK(parse_relaxed("/* only */ 5 /* after */", &err));
    CHECK(parse_relaxed("\"// not a comment\"", &err));
    CHECK_STR(parse_relaxed("\"/* kept */\"", &err)->u.str, "/* kept */");
}

TEST(trailing_commas)
{
    json_error err;
    json_value *v = parse_relaxed("{\"a\": [1, 2, ], \"b\": {\"c\": 3,},}", &err);
    CHECK(v);
    CHECK_INT(json_get(v, "a")->len, 2);
    CHECK_INT(json_get(json_get(v, "b"), "c")->u.num.i, 3);
    CHECK(parse_relaxed("[1, // last\n]", &err));
    CHECK(parse_relaxed("[[],[],]", &err));
    CHECK_INT(parse_relaxed("[[],[],]", &err)->len, 2);
}

TEST(relaxed_still_refuses)
{
    RERR("[1,,]", "unexpected character ',', expected a value", 1, 4);
    RERR("[,]", "unexpected character ',', expected a value", 1, 2);
    RERR("{,}", "expected '\"' to begin a member name, got ','", 1, 2);
    RERR("{\"a\":1,,}", "expected '\"' to begin a member name, got ','", 1, 8);
    RERR("{\"a\":}", "unexpected character '}', expected a value", 1, 6);
    RERR("[1] ,", "unexpected character ',' after document", 1, 5);
    RERR("{\"a\": 1 /* open", "unterminated block comment", 1, 9);
    RERR("\n\n  /* x", "unterminated block comment", 3, 3);
    RERR("[1 / 2]", "expected ',' or ']' after array element", 1, 4);
    RERR("# not a comment", "unexpected character '#', expected a value", 1, 1);
    RERR("{'a': 1}", "expected '\"' to begin a member name, got '''", 1, 2);
}

TEST(strict_refuses_relaxed_syntax)
{
    json_error err;
    CHECK(!json_parse("[1,]", 4, &arena, NULL, &err));
    CHECK_STR(err.msg, "trailing comma before ']'");
    CHECK(!json_parse("{\"a\":1,}", 8, &arena, NULL, &err));
    CHECK_STR(err.msg, "trailing comma before '}'");
    CHECK(!json_parse("// c\n1", 6, &arena, NULL, &err));
    CHECK_STR(err.msg, "unexpected character '/', expected a value");
    CHECK(!json_parse("1 /* c */", 9, &arena, NULL, &err));
}

static void check_locate(const char *text, unsigned flags, const char *ptr, unsigned line,
                         unsigned col, int at)
{
    mcp_json_error pos;
    if (!mcp_json_locate(text, strlen(text), flags, ptr, &pos))
        T_FAIL("line %d: '%s' not found", at, ptr);
    if (pos.line != line || pos.column != col)
        T_FAIL("line %d: '%s' at %u:%u, want %u:%u", at, ptr, pos.line, pos.column, line, col);
}
#define LOC(text, flags, ptr, line, col) check_locate(text, flags, ptr, line, col, __LINE__)

TEST(locate)
{
    const char *doc = "{\n"
                      "  // servers\n"
                      "  \"name\": \"x\", /* inline, with \"quotes\" and ] */\n"
                      "  \"tools\": [\n"
                      "    {\"kind\": \"exec\", \"argv\": [\"ls\", \"-l\"],},\n"
                      "    {\"a/b\": {\"m~n\": [true, null, {\"deep\": -1.5e3}]}},\n"
                      "  ],\n"
                      "  \"esc\\u0061ped\": \"s\\\"}\"\n"
                      "}\n";
    LOC(doc, MCP_JSON_RELAXED, "", 1, 1);
    LOC(doc, MCP_JSON_RELAXED, "/name", 3, 11);
    LOC(doc, MCP_JSON_RELAXED, "/tools", 4, 12);
    LOC(doc, MCP_JSON_RELAXED, "/tools/0", 5, 5);
    LOC(doc, MCP_JSON_RELAXED, "/tools/0/kind", 5, 14);
    LOC(doc, MCP_JSON_RELAXED, "/tools/0/argv/1", 5, 37);
    LOC(doc, MCP_JSON_RELAXED, "/tools/1/a~1b/m~0n/2/deep", 6, 43);
    LOC(doc, MCP_JSON_RELAXED, "/tools/1/a~1b/m~0n/1", 6, 28);
    LOC(doc, MCP_JSON_RELAXED, "/escaped", 8, 19);
    mcp_json_error pos;
    CHECK(!mcp_json_locate(doc, strlen(doc), MCP_JSON_RELAXED, "/nope", &pos));
    CHECK(!mcp_json_locate(doc, strlen(doc), MCP_JSON_RELAXED, "/tools/2", &pos));
    CHECK(!mcp_json_locate(doc, strlen(doc), MCP_JSON_RELAXED, "/tools/01", &pos));
    CHECK(!mcp_json_locate(doc, strlen(doc), MCP_JSON_RELAXED, "/tools/-", &pos));
    CHECK(!mcp_json_locate(doc, strlen(doc), MCP_JSON_RELAXED, "/name/x", &pos));
    CHECK(!mcp_json_locate(doc, strlen(doc), MCP_JSON_RELAXED, "name", &pos));
    CHECK(!mcp_json_locate(doc, strlen(doc), 0, "", &pos)); /* comments: not strict JSON */
    const char *dup = "{\"a\": 1, \"a\": 2}";
    LOC(dup, MCP_JSON_DUPLICATE_KEYS, "/a", 1, 15); /* the last one, as json_get finds it */
    LOC("[0,[1,[2,[3]]]]", 0, "/1/1/1/0", 1, 11);
    LOC("{\"\":{\"\":7}}", 0, "//", 1, 9);
}

int main(void)
{
    mcp_arena_init(&arena, NULL, 0);
    RUN(comments_anywhere_whitespace_may_be);
    RUN(trailing_commas);
    RUN(relaxed_still_refuses);
    RUN(strict_refuses_relaxed_syntax);
    RUN(locate);
    mcp_arena_free(&arena);
    return test_summary();
}
