/* test_api_json.c - the public JSON API (include/mcp/json.h) as a program outside libmcp uses
 * it: accessors given NULL and wrong types, parsing with error positions, the checked writer
 * (escaping, mistakes), JSON Pointer location, and schema compile/validate errors. Includes
 * only the public header. */
#include <mcp/json.h>

#include "test.h"

#include <math.h>

#define PARSE(s) mcp_json_parse((s), strlen(s), 0, NULL)

TEST(absent_reads)
{
    int64_t i = 7;
    double d = 7;
    bool b = true;
    size_t n = 9;
    CHECK_INT(mcp_json_typeof(NULL), MCP_JSON_ABSENT);
    CHECK_STR(mcp_json_type_name(NULL), "absent");
    CHECK(mcp_json_str(NULL, &n) == NULL);
    CHECK_INT(n, 9);
    CHECK(!mcp_json_int(NULL, &i) && i == 7);
    CHECK(!mcp_json_double(NULL, &d) && d == 7);
    CHECK(!mcp_json_bool(NULL, &b) && b);
    CHECK(!mcp_json_is_null(NULL));
    CHECK_INT(mcp_json_len(NULL), 0);
    CHECK(mcp_json_at(NULL, 0) == NULL);
    CHECK(mcp_json_get(NULL, "a") == NULL);
    CHECK(mcp_json_getn(NULL, "a", 1) == NULL);
    CHECK(mcp_json_member(NULL, 0, NULL, NULL) == NULL);
    CHECK(!mcp_json_equal(NULL, NULL));
    CHECK(mcp_json_text(NULL, NULL) == NULL);
    CHECK(mcp_json_root(NULL) == NULL);
    mcp_json_doc_free(NULL);
}

TEST(typed_reads)
{
    const char *t = "{\"s\":\"a\\u0000b\",\"i\":-9223372036854775808,\"f\":3.0,\"h\":3.5,"
                    "\"big\":1e300,\"t\":true,\"n\":null,\"a\":[1,\"x\"],\"o\":{}}";
    mcp_json_doc *d = PARSE(t);
    CHECK(d);
    const mcp_json *r = mcp_json_root(d);
    CHECK_INT(mcp_json_typeof(r), MCP_JSON_OBJECT);
    CHECK_INT(mcp_json_len(r), 9);
    size_t n = 0;
    const char *s = mcp_json_str(mcp_json_get(r, "s"), &n);
    CHECK_MEM(s, n, "a\0b", 3);
    CHECK(mcp_json_str(mcp_json_get(r, "s"), NULL) == s);
    int64_t i = 0;
    CHECK(mcp_json_int(mcp_json_get(r, "i"), &i) && i == INT64_MIN);
    CHECK(mcp_json_int(mcp_json_get(r, "f"), &i) && i == 3);
    i = 42;
    CHECK(!mcp_json_int(mcp_json_get(r, "h"), &i) && i == 42);
    CHECK(!mcp_json_int(mcp_json_get(r, "big"), &i) && i == 42);
    CHECK(!mcp_json_int(mcp_json_get(r, "s"), &i) && i == 42);
    double dv = 0;
    CHECK(mcp_json_double(mcp_json_get(r, "h"), &dv) && dv == 3.5);
    CHECK(mcp_json_double(mcp_json_get(r, "i"), &dv) && dv == -9223372036854775808.0);
    CHECK(!mcp_json_double(mcp_json_get(r, "t"), &dv));
    bool b = false;
    CHECK(mcp_json_bool(mcp_json_get(r, "t"), &b) && b);
    CHECK(!mcp_json_bool(mcp_json_get(r, "n"), &b));
    CHECK(mcp_json_is_null(mcp_json_get(r, "n")));
    CHECK(!mcp_json_is_null(mcp_json_get(r, "t")));
    CHECK_STR(mcp_json_type_name(mcp_json_get(r, "i")), "integer");
    CHECK_STR(mcp_json_type_name(mcp_json_get(r, "h")), "number");
    CHECK_STR(mcp_json_type_name(mcp_json_get(r, "a")), "array");
    /* wrong containers */
    const mcp_json *a = mcp_json_get(r, "a");
    CHECK_INT(mcp_json_len(a), 2);
    CHECK(mcp_json_get(a, "0") == NULL);
    CHECK(mcp_json_at(r, 0) == NULL);
    CHECK(mcp_json_at(a, 2) == NULL);
    CHECK_STR(mcp_json_str(mcp_json_at(a, 1), NULL), "x");
    CHECK_INT(mcp_json_len(mcp_json_get(r, "s")), 0);
    CHECK(mcp_json_member(a, 0, NULL, NULL) == NULL);
    CHECK(mcp_json_member(r, 9, NULL, NULL) == NULL);
    CHECK(mcp_json_get(r, NULL) == NULL);
    /* iteration in document order */
    const char *k = NULL;
    size_t kl = 0;
    CHECK(mcp_json_member(r, 1, &k, &kl) == mcp_json_get(r, "i"));
    CHECK_STR(k, "i");
    CHECK_INT(kl, 1);
    CHECK(mcp_json_getn(r, "ix", 1) == mcp_json_get(r, "i"));
    mcp_json_doc_free(d);
}

TEST(equal_and_text)
{
    mcp_json_doc *a = PARSE("{\"a\":[1,2.0],\"b\":\"\\u2028\"}");
    mcp_json_doc *b = PARSE("{\"b\":\"\xE2\x80\xA8\",\"a\":[1.0,2]}");
    CHECK(a && b);
    CHECK(mcp_json_equal(mcp_json_root(a), mcp_json_root(b)));
    CHECK(!mcp_json_equal(mcp_json_root(a), mcp_json_get(mcp_json_root(b), "a")));
    size_t n = 0;
    char *t = mcp_json_text(mcp_json_root(a), &n);
    CHECK_STR(t, "{\"a\":[1,2.0],\"b\":\"\\u2028\"}");
    CHECK_INT(n, strlen(t));
    free(t);
    mcp_json_doc_free(a);
    mcp_json_doc_free(b);
}

/* Documents of every size around the one whose DOM comes inside the document's own block
 * (about 2 KiB of text) parse whole, the biggest values (in the arena's later blocks) too. */
TEST(parse_sizes)
{
    char text[4200];
    for (size_t n = 0; n < 4000; n += 37) {
        size_t len = (size_t)snprintf(text, sizeof text, "{\"a\":[1,2.5,true,null],\"s\":\"");
        memset(text + len, 'x', n);
        len += n;
        len += (size_t)snprintf(text + len, sizeof text - len, "\",\"o\":{\"k\":\"v\"}}");
        mcp_json_doc *d = mcp_json_parse(text, len, 0, NULL);
        CHECK(d != NULL);
        const mcp_json *r = mcp_json_root(d);
        size_t sl = 0;
        const char *sv = mcp_json_str(mcp_json_get(r, "s"), &sl);
        CHECK(sv && sl == n && (n == 0 || (sv[0] == 'x' && sv[n - 1] == 'x')) && sv[n] == '\0');
        CHECK_STR(mcp_json_str(mcp_json_get(mcp_json_get(r, "o"), "k"), NULL), "v");
        CHECK_INT(mcp_json_len(mcp_json_get(r, "a")), 4);
        mcp_json_doc_free(d);
    }
}

TEST(parse_errors)
{
    mcp_json_error e;
    memset(&e, 0x55, sizeof e);
    const char *t = "{\n  \"a\": 1,\n  \"b\" 2\n}";
    CHECK(mcp_json_parse(t, strlen(t), 0, &e) == NULL);
    CHECK_INT(e.line, 3);
    CHECK_INT(e.column, 7);
    CHECK_INT(e.offset, 18);
    CHECK(e.message[0] != '\0');
    CHECK(strlen(e.message) < sizeof e.message);
    /* duplicates: refused unless allowed, and then the last wins */
    const char *dup = "{\"a\":1,\"a\":2}";
    CHECK(mcp_json_parse(dup, strlen(dup), 0, &e) == NULL);
    CHECK_CONTAINS(e.message, "duplicate");
    mcp_json_doc *d = mcp_json_parse(dup, strlen(dup), MCP_JSON_DUPLICATE_KEYS, &e);
    CHECK(d);
    int64_t v = 0;
    CHECK(mcp_json_int(mcp_json_get(mcp_json_root(d), "a"), &v) && v == 2);
    mcp_json_doc_free(d);
    /* depth bound */
    char deep[300];
    memset(deep, '[', 129);
    memset(deep + 129, ']', 129);
    CHECK(mcp_json_parse(deep, 258, 0, &e) == NULL);
    mcp_json_doc_free(mcp_json_parse(deep + 1, 256, 0, NULL));
    /* trailing garbage, empty input, NULL input */
    CHECK(mcp_json_parse("1 2", 3, 0, &e) == NULL);
    CHECK_INT(e.column, 3);
    CHECK(mcp_json_parse("", 0, 0, &e) == NULL);
    CHECK(mcp_json_parse(NULL, 0, 0, &e) == NULL);
    /* relaxed: the flag reaches the parser (refused until relaxed parsing exists, or parsed) */
    const char *rel = "{\"a\":1,} // c";
    d = mcp_json_parse(rel, strlen(rel), MCP_JSON_RELAXED, &e);
    if (d) {
        CHECK(mcp_json_int(mcp_json_get(mcp_json_root(d), "a"), &v) && v == 1);
        mcp_json_doc_free(d);
    } else {
        CHECK_CONTAINS(e.message, "not supported");
    }
}

TEST(locate)
{
    const char *t =
        "{\n  \"tools\": [\n    {\"name\": \"a\"},\n    {\"name\": \"b\", \"timeout_ms\": "
        "\"x\"}\n  ],\n  \"a/b\": {\"~\": [10, 20]}\n}";
    mcp_json_error pos;
    CHECK(mcp_json_locate(t, strlen(t), 0, "/tools/1/timeout_ms", &pos));
    CHECK_INT(pos.line, 4);
    CHECK_INT(pos.column, 33);
    CHECK(t[pos.offset] == '"' && t[pos.offset + 1] == 'x');
    CHECK(mcp_json_locate(t, strlen(t), 0, "", &pos));
    CHECK_INT(pos.offset, 0);
    CHECK(mcp_json_locate(t, strlen(t), 0, "/a~1b/~0/1", &pos));
    CHECK(memcmp(t + pos.offset, "20", 2) == 0);
    CHECK_INT(pos.line, 6);
    CHECK(mcp_json_locate(t, strlen(t), 0, "/tools/0", &pos));
    CHECK(t[pos.offset] == '{');
    CHECK(!mcp_json_locate(t, strlen(t), 0, "/tools/2", &pos));
    CHECK(!mcp_json_locate(t, strlen(t), 0, "/tools/01", &pos));
    CHECK(!mcp_json_locate(t, strlen(t), 0, "/nope", &pos));
    CHECK(!mcp_json_locate(t, strlen(t), 0, "tools", &pos));
    CHECK(!mcp_json_locate(t, strlen(t), 0, "/a~2b", &pos));
    CHECK(!mcp_json_locate(t, strlen(t), 0, "/tools/0/name/x", &pos));
    CHECK(!mcp_json_locate("{", 1, 0, "", &pos));
    /* relaxed text: comments are skipped on the way (once the parser accepts the flag) */
    const char *r = "{ // tools\n  \"a\": /* one */ 1,\n  \"b\": [2, /* x */ 3,],\n}";
    mcp_json_doc *d = mcp_json_parse(r, strlen(r), MCP_JSON_RELAXED, NULL);
    if (d) {
        CHECK(mcp_json_locate(r, strlen(r), MCP_JSON_RELAXED, "/b/1", &pos));
        CHECK(r[pos.offset] == '3');
        CHECK_INT(pos.line, 3);
        CHECK(mcp_json_locate(r, strlen(r), MCP_JSON_RELAXED, "/a", &pos));
        CHECK(r[pos.offset] == '1');
        mcp_json_doc_free(d);
    } else {
        CHECK(!mcp_json_locate(r, strlen(r), MCP_JSON_RELAXED, "/a", &pos));
    }
}

/* Builds w's text and compares; frees nothing (the writer is reused). */
#define CHECK_TEXT(w, want)                                                                        \
    do {                                                                                           \
        size_t n_ = 0;                                                                             \
        const char *t_ = mcp_jw_text((w), &n_);                                                    \
        if (!t_) T_FAIL("writer failed: %s", mcp_jw_error(w) ? mcp_jw_error(w) : "incomplete");    \
        CHECK_MEM(t_, n_, (want), sizeof(want) - 1);                                               \
        CHECK_INT(t_[n_], 0);                                                                      \
    } while (0)

TEST(writer_values)
{
    mcp_jw *w = mcp_jw_new();
    CHECK(mcp_jw_text(w, NULL) == NULL); /* nothing written */
    CHECK(mcp_jw_error(w) == NULL);
    mcp_jw_object(w);
    mcp_jw_key(w, "s");
    mcp_jw_string(w, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xE2\x80\xA8\xE2\x80\xA9 \xC3\xA9");
    mcp_jw_key(w, "n");
    mcp_jw_string(w, NULL);
    mcp_jw_keyn(w, "k\0z", 3);
    mcp_jw_stringn(w, "a\0b", 3);
    mcp_jw_key(w, "i");
    mcp_jw_int(w, INT64_MIN);
    mcp_jw_key(w, "d");
    mcp_jw_double(w, 0.1);
    mcp_jw_key(w, "w");
    mcp_jw_double(w, 2);
    mcp_jw_key(w, "nan");
    mcp_jw_double(w, NAN);
    mcp_jw_key(w, "a");
    mcp_jw_array(w);
    mcp_jw_bool(w, true);
    mcp_jw_bool(w, false);
    mcp_jw_null(w);
    mcp_jw_array(w);
    mcp_jw_array_end(w);
    mcp_jw_object(w);
    mcp_jw_object_end(w);
    mcp_jw_raw(w, " {\"r\": [1]} ", 12);
    mcp_jw_array_end(w);
    mcp_jw_object_end(w);
    CHECK_TEXT(w,
               "{\"s\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f \\u2028\\u2029 \xC3\xA9\","
               "\"n\":null,\"k\\u0000z\":\"a\\u0000b\",\"i\":-9223372036854775808,\"d\":0.1,"
               "\"w\":2.0,\"nan\":null,\"a\":[true,false,null,[],{}, {\"r\": [1]} ]}");
    /* the text parses back to what was written */
    size_t n;
    const char *t = mcp_jw_text(w, &n);
    mcp_json_doc *d = mcp_json_parse(t, n, 0, NULL);
    CHECK(d);
    CHECK_STR(mcp_json_str(mcp_json_get(mcp_json_root(d), "s"), NULL),
              "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xE2\x80\xA8\xE2\x80\xA9 \xC3\xA9");
    /* copying a parsed value */
    mcp_jw_reset(w);
    mcp_jw_array(w);
    mcp_jw_value(w, mcp_json_root(d));
    mcp_jw_value(w, mcp_json_get(mcp_json_root(d), "i"));
    mcp_jw_array_end(w);
    CHECK(mcp_jw_text(w, NULL) != NULL);
    CHECK_CONTAINS(mcp_jw_text(w, NULL), "\"i\":-9223372036854775808");
    mcp_json_doc_free(d);
    /* a scalar alone is a document */
    mcp_jw_reset(w);
    mcp_jw_string(w, "x");
    CHECK_TEXT(w, "\"x\"");
    mcp_jw_free(w);
    mcp_jw_free(NULL);
}

/* Runs one misuse and checks the writer failed with a reason containing why. */
static void misuse(void (*f)(mcp_jw *), const char *why)
{
    mcp_jw *w = mcp_jw_new();
    f(w);
    const char *e = mcp_jw_error(w);
    bool ok = mcp_jw_text(w, NULL) == NULL && e && strstr(e, why);
    if (!ok) {
        mcp_jw_free(w);
        T_FAIL("misuse \"%s\": got error \"%s\"", why, e ? e : "(none)");
    }
    /* later calls do nothing; reset clears the failure */
    mcp_jw_int(w, 1);
    CHECK(mcp_jw_text(w, NULL) == NULL);
    mcp_jw_reset(w);
    CHECK(mcp_jw_error(w) == NULL);
    mcp_jw_int(w, 1);
    CHECK_TEXT(w, "1");
    mcp_jw_free(w);
}

static void m_key_top(mcp_jw *w)
{
    mcp_jw_key(w, "a");
}
static void m_key_in_array(mcp_jw *w)
{
    mcp_jw_array(w);
    mcp_jw_key(w, "a");
}
static void m_value_for_key(mcp_jw *w)
{
    mcp_jw_object(w);
    mcp_jw_int(w, 1);
}
static void m_two_keys(mcp_jw *w)
{
    mcp_jw_object(w);
    mcp_jw_key(w, "a");
    mcp_jw_key(w, "b");
}
static void m_end_unopened(mcp_jw *w)
{
    mcp_jw_object_end(w);
}
static void m_end_wrong(mcp_jw *w)
{
    mcp_jw_object(w);
    mcp_jw_array_end(w);
}
static void m_end_after_key(mcp_jw *w)
{
    mcp_jw_object(w);
    mcp_jw_key(w, "a");
    mcp_jw_object_end(w);
}
static void m_two_tops(mcp_jw *w)
{
    mcp_jw_int(w, 1);
    mcp_jw_int(w, 2);
}
static void m_bad_utf8(mcp_jw *w)
{
    mcp_jw_string(w, "a\xC3(");
}
static void m_surrogate(mcp_jw *w)
{
    mcp_jw_string(w, "\xED\xA0\x80");
}
static void m_overlong(mcp_jw *w)
{
    mcp_jw_string(w, "\xC0\xAF");
}
static void m_truncated(mcp_jw *w)
{
    mcp_jw_stringn(w, "\xE2\x80", 2);
}
static void m_bad_key_utf8(mcp_jw *w)
{
    mcp_jw_object(w);
    mcp_jw_key(w, "\xFF");
}
static void m_deep(mcp_jw *w)
{
    for (int i = 0; i < 257; i++) mcp_jw_array(w);
}
static void m_bad_raw(mcp_jw *w)
{
    mcp_jw_raw(w, "{\"a\":}", 6);
}
static void m_absent_value(mcp_jw *w)
{
    mcp_jw_value(w, NULL);
}

TEST(writer_misuse)
{
    misuse(m_key_top, "outside an object");
    misuse(m_key_in_array, "outside an object");
    misuse(m_value_for_key, "member name is due");
    misuse(m_two_keys, "where a value is due");
    misuse(m_end_unopened, "without its start");
    misuse(m_end_wrong, "inside an object");
    misuse(m_end_after_key, "without its value");
    misuse(m_two_tops, "second top-level");
    misuse(m_bad_utf8, "invalid UTF-8");
    misuse(m_surrogate, "invalid UTF-8");
    misuse(m_overlong, "invalid UTF-8");
    misuse(m_truncated, "invalid UTF-8");
    misuse(m_bad_key_utf8, "invalid UTF-8");
    misuse(m_deep, "deeper than 256");
    misuse(m_bad_raw, "invalid JSON");
    misuse(m_absent_value, "absent");
}

TEST(writer_incomplete_and_deep_ok)
{
    mcp_jw *w = mcp_jw_new();
    mcp_jw_object(w);
    mcp_jw_key(w, "a");
    CHECK(mcp_jw_text(w, NULL) == NULL); /* key without value */
    CHECK(mcp_jw_error(w) == NULL);      /* not a mistake yet: just not complete */
    mcp_jw_int(w, 1);
    CHECK(mcp_jw_text(w, NULL) == NULL); /* object still open */
    mcp_jw_object_end(w);
    CHECK_TEXT(w, "{\"a\":1}");
    mcp_jw_reset(w);
    for (int i = 0; i < 256; i++) mcp_jw_array(w);
    for (int i = 0; i < 256; i++) mcp_jw_array_end(w);
    size_t n = 0;
    CHECK(mcp_jw_text(w, &n) != NULL);
    CHECK_INT(n, 512);
    mcp_jw_free(w);
}

struct errs {
    int n;
    char first[512];
};

static bool collect(const mcp_schema_error *e, void *ud)
{
    struct errs *x = ud;
    if (x->n++ == 0)
        snprintf(x->first, sizeof x->first, "%s|%s|%s", e->instance_path, e->keyword_path,
                 e->message);
    return true;
}

static bool stop_at_one(const mcp_schema_error *e, void *ud)
{
    (void)e;
    ++*(int *)ud;
    return false;
}

TEST(schema)
{
    char err[200] = "";
    const char *bad = "{\"properties\":{\"a\":{\"minimum\":\"x\"}}}";
    CHECK(mcp_schema_compile(bad, strlen(bad), err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "/properties/a/minimum");
    CHECK(mcp_schema_compile("{\"type\":", 8, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "line 1");
    CHECK(mcp_schema_compile(NULL, 0, err, sizeof err) == NULL);
    CHECK(mcp_schema_compile(bad, strlen(bad), NULL, 0) == NULL);

    const char *sch = "{\"type\":\"object\",\"properties\":{\"port\":{\"type\":\"integer\","
                      "\"maximum\":65535},\"name\":{\"type\":\"string\"}},\"required\":[\"port\"]}";
    mcp_schema *s = mcp_schema_compile(sch, strlen(sch), err, sizeof err);
    CHECK(s);
    mcp_json_doc *ok = PARSE("{\"port\":80}");
    mcp_json_doc *no = PARSE("{\"port\":70000,\"name\":3}");
    struct errs x = {0};
    CHECK(mcp_schema_validate(s, mcp_json_root(ok), collect, &x));
    CHECK_INT(x.n, 0);
    CHECK(!mcp_schema_validate(s, mcp_json_root(no), collect, &x));
    CHECK_INT(x.n, 2);
    CHECK_CONTAINS(x.first, "/port|/properties/port/maximum|");
    int calls = 0;
    CHECK(!mcp_schema_validate(s, mcp_json_root(no), stop_at_one, &calls));
    CHECK_INT(calls, 1);
    CHECK(!mcp_schema_validate(s, mcp_json_root(no), NULL, NULL));
    CHECK(!mcp_schema_validate(s, NULL, NULL, NULL)); /* absent is validated as null */
    CHECK(!mcp_schema_validate(NULL, mcp_json_root(ok), NULL, NULL));
    mcp_json_doc_free(ok);
    mcp_json_doc_free(no);
    mcp_schema_free(s);
    mcp_schema_free(NULL);
}

int main(void)
{
    RUN(absent_reads);
    RUN(typed_reads);
    RUN(equal_and_text);
    RUN(parse_sizes);
    RUN(parse_errors);
    RUN(locate);
    RUN(writer_values);
    RUN(writer_misuse);
    RUN(writer_incomplete_and_deep_ok);
    RUN(schema);
    return test_summary();
}
