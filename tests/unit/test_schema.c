/* test_schema.c - unit tests of the JSON Schema compiler and validator.
 *
 * Each keyword passes and fails with the error it should give (instance path, schema path,
 * message); bad schemas are rejected at compile time with their location; hostile
 * schema/instance pairs end with budget_exceeded quickly; one compiled schema gives the same
 * answers from many threads. The official suite runs separately (test_schema_suite). */
#include <pthread.h>
#include <time.h>

#include "json/schema.h"
#include "json/schema_internal.h"
#include "test.h"

static mcp_arena g_arena; /* instances and schemas of the current test */

static const json_value *J(const char *text)
{
    json_error err;
    const json_value *v = json_parse(text, strlen(text), &g_arena, NULL, &err);
    if (!v) T_FAIL("bad test JSON %s: %s", text, err.msg);
    return v;
}

static json_schema *compile_opts(const char *text, const json_schema_options *opts)
{
    json_schema_error err;
    json_schema *s = json_schema_compile(J(text), opts, &err);
    if (!s) T_FAIL("compile %s: %s: %s", text, err.schema_path, err.msg);
    return s;
}

static json_schema *compile(const char *text)
{
    return compile_opts(text, NULL);
}

/* Compile must fail; returns the error. */
static json_schema_error compile_err(const char *text)
{
    json_schema_error err;
    json_schema *s = json_schema_compile(J(text), NULL, &err);
    if (s) {
        json_schema_free(s);
        T_FAIL("compile %s: expected an error", text);
    }
    return err;
}

/* Validates in both modes, which must agree; fills *r. */
static bool check(const json_schema *s, const char *inst, json_schema_result *r)
{
    const json_value *v = J(inst);
    bool fast = json_schema_validate(s, v, NULL);
    bool full = json_schema_validate(s, v, r);
    if (fast != full) T_FAIL("%s: fast says %d, collecting says %d", inst, fast, full);
    if (full != r->valid) T_FAIL("%s: return and res->valid differ", inst);
    return full;
}

static bool valid(const char *schema, const char *inst)
{
    json_schema *s = compile(schema);
    json_schema_result r;
    bool ok = check(s, inst, &r);
    json_schema_free(s);
    return ok;
}

/* Asserts that inst is invalid with a first error at ipath/spath whose message contains msg. */
#define CHECK_ERR(schema, inst, ipath, spath, text)                                                \
    do {                                                                                           \
        json_schema *s_ = compile(schema);                                                         \
        json_schema_result r_;                                                                     \
        bool ok_ = check(s_, inst, &r_);                                                           \
        json_schema_free(s_);                                                                      \
        if (ok_) T_FAIL("%s against %s: expected invalid", inst, schema);                          \
        CHECK(r_.nerrors >= 1);                                                                    \
        CHECK_STR(r_.errors[0].instance_path, ipath);                                              \
        CHECK_STR(r_.errors[0].schema_path, spath);                                                \
        CHECK_CONTAINS(r_.errors[0].msg, text);                                                    \
    } while (0)

/* ---- keywords ------------------------------------------------------------------------------- */

TEST(type)
{
    CHECK(valid("{\"type\":\"integer\"}", "1"));
    CHECK(valid("{\"type\":\"integer\"}", "1.0"));
    CHECK(valid("{\"type\":\"integer\"}", "-3e2"));
    CHECK(!valid("{\"type\":\"integer\"}", "1.5"));
    CHECK(valid("{\"type\":\"number\"}", "7"));
    CHECK(valid("{\"type\":[\"string\",\"null\"]}", "null"));
    CHECK(!valid("{\"type\":\"object\"}", "[]"));
    CHECK(valid("{\"type\":\"boolean\"}", "false"));
    CHECK_ERR("{\"type\":\"integer\"}", "\"x\"", "", "/type", "expected integer, got string");
    CHECK_ERR("{\"type\":\"integer\"}", "2.5", "", "/type", "expected integer, got number");
    CHECK_ERR("{\"type\":[\"string\",\"null\"]}", "3", "", "/type",
              "expected string or null, got integer");
}

TEST(enum_const)
{
    CHECK(valid("{\"const\":1}", "1.0"));
    CHECK(valid("{\"const\":{\"a\":[1,2],\"b\":null}}", "{\"b\":null,\"a\":[1.0,2]}"));
    CHECK(!valid("{\"const\":false}", "0"));
    CHECK(valid("{\"enum\":[\"a\",2,null]}", "2.0"));
    CHECK(!valid("{\"enum\":[\"a\",2,null]}", "\"b\""));
    CHECK_ERR("{\"const\":\"on\"}", "\"off\"", "", "/const", "value must be \"on\"");
    CHECK_ERR("{\"enum\":[\"a\",\"b\"]}", "\"c\"", "", "/enum",
              "value must be one of [\"a\",\"b\"]");
}

TEST(numbers)
{
    CHECK(valid("{\"minimum\":5}", "5"));
    CHECK(!valid("{\"exclusiveMinimum\":5}", "5"));
    CHECK(valid("{\"maximum\":5.5}", "5"));
    CHECK(!valid("{\"exclusiveMaximum\":5}", "5.0"));
    CHECK(valid("{\"minimum\":9007199254740992}", "9007199254740993"));
    CHECK(!valid("{\"maximum\":9007199254740992}", "9007199254740993"));
    CHECK(valid("{\"minimum\":1}", "\"strings are not numbers\""));
    CHECK_ERR("{\"minimum\":5}", "4", "", "/minimum", "number must be >= 5");
    CHECK_ERR("{\"exclusiveMaximum\":0.5}", "0.5", "", "/exclusiveMaximum", "number must be < 0.5");
}

TEST(multiple_of)
{
    CHECK(valid("{\"multipleOf\":0.0001}", "0.0075"));
    CHECK(!valid("{\"multipleOf\":0.0001}", "0.00751"));
    CHECK(valid("{\"multipleOf\":0.01}", "19.99"));
    CHECK(valid("{\"multipleOf\":0.1}", "0.3"));
    CHECK(valid("{\"multipleOf\":1.5}", "4.5"));
    CHECK(!valid("{\"multipleOf\":1.5}", "35"));
    CHECK(!valid("{\"multipleOf\":3}", "10"));
    CHECK(valid("{\"multipleOf\":3}", "-9"));
    CHECK(valid("{\"multipleOf\":0.5}", "1e308"));
    CHECK(valid("{\"multipleOf\":1e-3}", "2.5e2"));
    CHECK(!valid("{\"multipleOf\":7}", "1e-3"));
    CHECK_ERR("{\"multipleOf\":0.5}", "0.7", "", "/multipleOf", "multiple of 0.5");
}

TEST(strings)
{
    /* lengths are code points: "é" is 2 bytes, the emoji 4 */
    CHECK(valid("{\"maxLength\":3}", "\"\xc3\xa9\xc3\xa9\xc3\xa9\""));
    CHECK(!valid("{\"minLength\":4}", "\"\xc3\xa9\xc3\xa9\xc3\xa9\""));
    CHECK(valid("{\"maxLength\":1}", "\"\xf0\x9f\x98\x80\""));
    CHECK(valid("{\"minLength\":2}", "\"\\ud83d\\ude00a\""));
    CHECK_ERR("{\"minLength\":3}", "\"ab\"", "", "/minLength", "string shorter than 3 characters");
    CHECK_ERR("{\"maxLength\":1}", "\"ab\"", "", "/maxLength", "string longer than 1 character");
    CHECK(valid("{\"pattern\":\"b+\"}", "\"abbbc\"")); /* unanchored search */
    CHECK(!valid("{\"pattern\":\"^b+$\"}", "\"abbbc\""));
    CHECK(!valid("{\"pattern\":\"^a$\"}", "\"a\\n\"")); /* ECMA: $ is the end, not a newline */
    CHECK(valid("{\"pattern\":\"^\\\\p{Letter}+$\"}", "\"\xc3\xa9t\xc3\xa9\""));
    CHECK(valid("{\"pattern\":\"^\\\\u0041$\"}", "\"A\""));
    /* ECMA-262 classes: \s is Unicode white space, \d only ASCII digits, [] matches nothing */
    CHECK(valid("{\"pattern\":\"^\\\\s$\"}", "\"\\u00a0\""));
    CHECK(valid("{\"pattern\":\"^[x\\\\s]$\"}", "\"\\u2028\""));
    CHECK(!valid("{\"pattern\":\"^\\\\S$\"}", "\"\\u3000\""));
    CHECK(!valid("{\"pattern\":\"^\\\\d$\"}", "\"\\u0660\""));
    CHECK(!valid("{\"pattern\":\"a[]\"}", "\"a]\""));
    CHECK_ERR("{\"pattern\":\"^[a-z]+$\"}", "\"A1\"", "", "/pattern",
              "string does not match pattern \"^[a-z]+$\"");
}

TEST(objects)
{
    const char *sch = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                      "\"age\":{\"type\":\"integer\",\"minimum\":0}},\"required\":[\"name\"],"
                      "\"additionalProperties\":false}";
    CHECK(valid(sch, "{\"name\":\"x\",\"age\":3}"));
    CHECK_ERR(sch, "{\"age\":3}", "", "/required", "missing required property \"name\"");
    CHECK_ERR(sch, "{\"name\":\"x\",\"age\":-1}", "/age", "/properties/age/minimum", ">= 0");
    CHECK_ERR(sch, "{\"name\":\"x\",\"extra\":1}", "", "/additionalProperties",
              "property \"extra\" is not allowed");
    CHECK(valid("{\"required\":[\"a\",\"b\"]}", "{\"b\":1,\"a\":2}"));
    CHECK_ERR("{\"required\":[\"a\",\"b\"]}", "{\"a\":1}", "", "/required", "\"b\"");
    CHECK(!valid("{\"minProperties\":2}", "{\"a\":1}"));
    CHECK_ERR("{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "", "/maxProperties",
              "object has more than 1 property");
    CHECK(valid("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
                "\"additionalProperties\":false}",
                "{\"x-a\":\"1\"}"));
    CHECK_ERR("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}}}", "{\"x-a\":1}", "/x-a",
              "/patternProperties/^x-/type", "expected string");
    CHECK_ERR("{\"propertyNames\":{\"maxLength\":2}}", "{\"abc\":1}", "", "/propertyNames",
              "property name \"abc\"");
    CHECK_ERR("{\"dependentRequired\":{\"card\":[\"cvv\"]}}", "{\"card\":1}", "",
              "/dependentRequired", "property \"card\" requires property \"cvv\"");
    CHECK(!valid("{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"a\":1}"));
    CHECK(valid("{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"c\":1}"));
    /* draft 7 "dependencies", both forms */
    const char *deps = "{\"dependencies\":{\"a\":[\"b\"],\"c\":{\"required\":[\"d\"]}}}";
    CHECK(valid(deps, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}"));
    CHECK_ERR(deps, "{\"a\":1}", "", "/dependencies", "property \"a\" requires property \"b\"");
    CHECK_ERR(deps, "{\"c\":1}", "", "/dependencies/c/required", "missing required property \"d\"");
}

/* More than 8 properties switch to the hash index; more than 64 lose the required mask. */
TEST(many_properties)
{
    char sch[8192], inst[4096];
    size_t o = (size_t)snprintf(sch, sizeof sch, "{\"properties\":{");
    for (int i = 0; i < 70; i++)
        o += (size_t)snprintf(sch + o, sizeof sch - o, "%s\"p%d\":{\"type\":\"integer\"}",
                              i ? "," : "", i);
    o += (size_t)snprintf(sch + o, sizeof sch - o,
                          "},\"required\":[\"p0\",\"p69\"],"
                          "\"additionalProperties\":false}");
    o = (size_t)snprintf(inst, sizeof inst, "{");
    for (int i = 0; i < 70; i++)
        o += (size_t)snprintf(inst + o, sizeof inst - o, "%s\"p%d\":%d", i ? "," : "", i, i);
    snprintf(inst + o, sizeof inst - o, "}");
    CHECK(valid(sch, inst));
    CHECK_ERR(sch, "{\"p0\":1,\"p69\":\"x\"}", "/p69", "/properties/p69/type", "expected integer");
    CHECK_ERR(sch, "{\"p69\":1}", "", "/required", "\"p0\"");
    CHECK_ERR(sch, "{\"p0\":1,\"p69\":1,\"p70\":1}", "", "/additionalProperties", "\"p70\"");
}

TEST(arrays)
{
    CHECK(valid("{\"items\":{\"type\":\"integer\"}}", "[1,2,3]"));
    CHECK_ERR("{\"items\":{\"type\":\"integer\"}}", "[1,2,\"x\"]", "/2", "/items/type",
              "expected integer, got string");
    CHECK(valid("{\"prefixItems\":[{\"type\":\"string\"}],\"items\":false}", "[\"a\"]"));
    CHECK_ERR("{\"prefixItems\":[{\"type\":\"string\"}],\"items\":false}", "[\"a\",1]", "",
              "/items", "array item 1 is not allowed");
    CHECK_ERR("{\"minItems\":2}", "[1]", "", "/minItems", "array has fewer than 2 items");
    CHECK(!valid("{\"maxItems\":1}", "[1,2]"));
    CHECK(valid("{\"contains\":{\"const\":3}}", "[1,3]"));
    CHECK_ERR("{\"contains\":{\"const\":3}}", "[1,2]", "", "/contains",
              "array contains no matching item");
    CHECK_ERR("{\"contains\":{\"const\":3},\"minContains\":2}", "[3,1]", "", "/minContains",
              "fewer than 2");
    CHECK_ERR("{\"contains\":{\"const\":3},\"maxContains\":1}", "[3,3]", "", "/maxContains",
              "more than 1");
    CHECK(valid("{\"contains\":{\"const\":3},\"minContains\":0}", "[]"));
}

TEST(unique_items)
{
    CHECK(valid("{\"uniqueItems\":true}", "[1,2,\"1\",[1],{\"a\":1}]"));
    CHECK_ERR("{\"uniqueItems\":true}", "[1,2,1.0]", "", "/uniqueItems",
              "array items 0 and 2 are equal");
    CHECK(!valid("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":[2]},{\"b\":[2.0],\"a\":1}]"));
    CHECK(valid("{\"uniqueItems\":false}", "[1,1]"));
    /* long arrays take the hashing path */
    char inst[4096];
    size_t o = (size_t)snprintf(inst, sizeof inst, "[");
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(inst + o, sizeof inst - o, "%s{\"k\":%d}", i ? "," : "", i);
    snprintf(inst + o, sizeof inst - o, "]");
    CHECK(valid("{\"uniqueItems\":true}", inst));
    snprintf(inst + o, sizeof inst - o, ",{\"k\":150.0}]");
    CHECK_ERR("{\"uniqueItems\":true}", inst, "", "/uniqueItems", "items 150 and 200 are equal");
}

TEST(combinators)
{
    const char *any = "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}";
    CHECK(valid(any, "1"));
    CHECK_ERR(any, "null", "", "/anyOf", "does not match any of the anyOf schemas");
    const char *one = "{\"oneOf\":[{\"minimum\":0},{\"maximum\":10}]}";
    CHECK(valid(one, "-5"));
    CHECK_ERR(one, "5", "", "/oneOf", "more than one oneOf schema (0 and 1)");
    CHECK_ERR("{\"not\":{\"type\":\"null\"}}", "null", "", "/not", "must not match");
    CHECK(valid("{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "2"));
    CHECK_ERR("{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "4", "", "/allOf/1/maximum", "<= 3");
    const char *ite = "{\"if\":{\"properties\":{\"kind\":{\"const\":\"n\"}}},"
                      "\"then\":{\"properties\":{\"v\":{\"type\":\"number\"}}},"
                      "\"else\":{\"properties\":{\"v\":{\"type\":\"string\"}}}}";
    CHECK(valid(ite, "{\"kind\":\"n\",\"v\":1}"));
    CHECK(valid(ite, "{\"kind\":\"s\",\"v\":\"x\"}"));
    CHECK_ERR(ite, "{\"kind\":\"n\",\"v\":\"x\"}", "/v", "/then/properties/v/type",
              "expected number");
    CHECK(valid("true", "{}"));
    CHECK_ERR("false", "{}", "", "", "false schema");
    CHECK_ERR("{\"properties\":{\"a\":false}}", "{\"a\":1}", "", "/properties",
              "property \"a\" is not allowed");
}

TEST(nested_paths)
{
    const char *sch =
        "{\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
        "\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"]}}}}";
    CHECK_ERR(sch, "{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":5}]}", "/items/2/name",
              "/properties/items/items/properties/name/type", "expected string, got integer");
    CHECK_ERR(sch, "{\"items\":[{}]}", "/items/0", "/properties/items/items/required",
              "missing required property \"name\"");
    /* member names are escaped in paths (RFC 6901) */
    CHECK_ERR("{\"properties\":{\"a/b~c\":{\"type\":\"null\"}}}", "{\"a/b~c\":1}", "/a~1b~0c",
              "/properties/a~1b~0c/type", "expected null");
}

TEST(unevaluated)
{
    const char *sch = "{\"allOf\":[{\"properties\":{\"a\":true}}],\"properties\":{\"b\":true},"
                      "\"unevaluatedProperties\":false}";
    CHECK(valid(sch, "{\"a\":1,\"b\":2}"));
    CHECK_ERR(sch, "{\"a\":1,\"c\":2}", "", "/unevaluatedProperties",
              "property \"c\" is not allowed");
    const char *any = "{\"anyOf\":[{\"properties\":{\"a\":{\"type\":\"string\"}}},"
                      "{\"properties\":{\"b\":true}}],\"unevaluatedProperties\":false}";
    CHECK(valid(any, "{\"a\":\"x\",\"b\":1}"));
    CHECK(!valid(any, "{\"a\":1,\"b\":1}")); /* the failed branch evaluated nothing */
    const char *items = "{\"prefixItems\":[true],\"contains\":{\"type\":\"string\"},"
                        "\"unevaluatedItems\":{\"type\":\"integer\"}}";
    CHECK(valid(items, "[null,\"s\",3,\"t\"]"));
    CHECK_ERR(items, "[null,\"s\",3.5]", "/2", "/unevaluatedItems/type", "expected integer");
    /* more than 128 members: the evaluated set lives on the heap */
    char inst[8192];
    size_t o = (size_t)snprintf(inst, sizeof inst, "{");
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(inst + o, sizeof inst - o, "%s\"x%d\":%d", i ? "," : "", i, i);
    snprintf(inst + o, sizeof inst - o, "}");
    CHECK(valid("{\"anyOf\":[{\"patternProperties\":{\"^x\":true}},false],"
                "\"unevaluatedProperties\":false}",
                inst));
    CHECK(!valid("{\"anyOf\":[{\"patternProperties\":{\"^x1\":true}},false],"
                 "\"unevaluatedProperties\":false}",
                 inst));
}

/* ---- references ----------------------------------------------------------------------------- */

TEST(refs)
{
    CHECK(valid("{\"$defs\":{\"a/b\":{\"type\":\"integer\"}},\"$ref\":\"#/$defs/a~1b\"}", "1"));
    CHECK(
        !valid("{\"$defs\":{\"a%b\":{\"type\":\"integer\"}},\"$ref\":\"#/$defs/a%25b\"}", "\"x\""));
    CHECK(valid("{\"$defs\":{\"t~\":{\"type\":\"integer\"}},\"$ref\":\"#/$defs/t~0\"}", "2"));
    CHECK(valid("{\"$defs\":{\"x\":{\"$anchor\":\"num\",\"type\":\"number\"}},"
                "\"items\":{\"$ref\":\"#num\"}}",
                "[1,2.5]"));
    /* $id changes the base of relative references */
    const char *ids = "{\"$id\":\"http://example.com/root.json\",\"$defs\":{\"A\":{\"$id\":"
                      "\"nested/a.json\",\"type\":\"string\"}},\"properties\":{\"a\":{\"$ref\":"
                      "\"http://example.com/nested/a.json\"},\"b\":{\"$ref\":\"nested/a.json\"}}}";
    CHECK(valid(ids, "{\"a\":\"x\",\"b\":\"y\"}"));
    CHECK(!valid(ids, "{\"b\":1}"));
    /* a recursive schema: a tree */
    const char *tree = "{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
                       "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}}}";
    CHECK(valid(tree, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[]},{\"v\":3}]}"));
    CHECK_ERR(tree, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":\"x\"}]}]}", "/kids/0/kids/0/v",
              "/properties/v/type", "expected integer");
}

TEST(dynamic_ref)
{
    const char *sch = "{\"$id\":\"http://x.test/list\",\"$ref\":\"generic\",\"$defs\":{"
                      "\"item\":{\"$dynamicAnchor\":\"t\",\"type\":\"integer\"},"
                      "\"generic\":{\"$id\":\"generic\",\"type\":\"array\","
                      "\"items\":{\"$dynamicRef\":\"#t\"},"
                      "\"$defs\":{\"d\":{\"$dynamicAnchor\":\"t\"}}}}}";
    CHECK(valid(sch, "[1,2]"));
    CHECK(!valid(sch, "[1,\"x\"]"));
}

static const json_value *serve(void *ud, const char *uri, mcp_arena *arena)
{
    (void)ud;
    if (strcmp(uri, "https://schemas.test/name.json") != 0) return NULL;
    const char *doc = "{\"type\":\"string\",\"minLength\":1,\"$defs\":{\"upper\":"
                      "{\"pattern\":\"^[A-Z]+$\"}}}";
    return json_parse(doc, strlen(doc), arena, NULL, NULL);
}

TEST(resolver)
{
    json_schema_options opts = {.resolve = serve};
    json_schema *s = compile_opts("{\"properties\":{\"n\":{\"$ref\":\"https://schemas.test/"
                                  "name.json\"},\"u\":{\"$ref\":\"https://schemas.test/"
                                  "name.json#/$defs/upper\"}}}",
                                  &opts);
    json_schema_result r;
    CHECK(check(s, "{\"n\":\"a\",\"u\":\"AB\"}", &r));
    CHECK(!check(s, "{\"n\":\"\"}", &r));
    CHECK_STR(r.errors[0].schema_path, "https://schemas.test/name.json#/minLength");
    CHECK(!check(s, "{\"u\":\"ab\"}", &r));
    json_schema_free(s);
    /* one document as both "$schema" and "$ref" target: asked for once, used twice */
    s = compile_opts("{\"$schema\":\"https://schemas.test/name.json\","
                     "\"$ref\":\"https://schemas.test/name.json\"}",
                     &opts);
    CHECK(check(s, "\"a\"", &r));
    CHECK(!check(s, "\"\"", &r));
    json_schema_free(s);
}

/* ---- compile errors ------------------------------------------------------------------------- */

TEST(compile_errors)
{
    json_schema_error e = compile_err("{\"properties\":{\"age\":{\"minimum\":\"0\"}}}");
    CHECK_STR(e.schema_path, "/properties/age/minimum");
    CHECK_STR(e.msg, "expected a number");
    e = compile_err("{\"pattern\":\"(ab\"}");
    CHECK_STR(e.schema_path, "/pattern");
    CHECK_CONTAINS(e.msg, "invalid regular expression \"(ab\"");
    CHECK_CONTAINS(e.msg, "missing closing parenthesis");
    e = compile_err("{\"patternProperties\":{\"[a-\":true}}");
    CHECK_STR(e.schema_path, "/patternProperties/[a-");
    e = compile_err("{\"$defs\":{\"a\":true},\"$ref\":\"#/$defs/nope\"}");
    CHECK_STR(e.schema_path, "/$ref");
    CHECK_STR(e.msg, "unresolved $ref \"#/$defs/nope\"");
    e = compile_err("{\"items\":{\"$ref\":\"https://example.com/x.json\"}}");
    CHECK_STR(e.schema_path, "/items/$ref");
    CHECK_STR(e.msg,
              "unresolved $ref \"https://example.com/x.json\" (remote references are not fetched)");
    e = compile_err("{\"$ref\":\"#nowhere\"}");
    CHECK_CONTAINS(e.msg, "unresolved $ref \"#nowhere\"");
    e = compile_err("{\"type\":\"text\"}");
    CHECK_STR(e.msg, "unknown type \"text\"");
    e = compile_err("{\"minLength\":-1}");
    CHECK_STR(e.msg, "expected a non-negative integer");
    e = compile_err("{\"multipleOf\":0}");
    CHECK_CONTAINS(e.msg, "greater than 0");
    e = compile_err("{\"items\":[{\"type\":\"string\"}]}");
    CHECK_STR(e.schema_path, "/items");
    CHECK_CONTAINS(e.msg, "schema must be an object or a boolean, got array");
    e = compile_err("{\"required\":[\"a\",1]}");
    CHECK_STR(e.msg, "expected an array of strings");
    e = compile_err("{\"anyOf\":[]}");
    CHECK_STR(e.msg, "expected a non-empty array");
    e = compile_err("42");
    CHECK_CONTAINS(e.msg, "schema must be an object or a boolean");
    /* unknown keywords and annotations are ignored; minLength 2.0 is an integer */
    CHECK(
        valid("{\"x-custom\":{\"type\":5},\"format\":\"email\",\"title\":\"t\",\"minLength\":2.0}",
              "\"not an email\""));
}

/* ---- bounded work --------------------------------------------------------------------------- */

/* CPU time of this thread: the work done, which the machine's load does not stretch (wall
 * time did: the fan-out took 2.3 s under ThreadSanitizer with 4 suites running at once). */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

TEST(budget_ref_cycle)
{
    json_schema *s = compile("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}");
    json_schema_result r;
    double t0 = now_ms();
    CHECK(!json_schema_validate(s, J("1"), &r));
    CHECK(r.budget_exceeded);
    CHECK(!json_schema_validate(s, J("1"), NULL));
    CHECK(now_ms() - t0 < 100);
    CHECK_CONTAINS(r.errors[0].msg, "$ref recursion");
    json_schema_free(s);
    /* a mutual cycle through an applicator */
    s = compile("{\"anyOf\":[false,{\"allOf\":[{\"$ref\":\"#\"}]}]}");
    CHECK(!json_schema_validate(s, J("{}"), &r));
    CHECK(r.budget_exceeded);
    json_schema_free(s);
}

/* Nested anyOf of depth 16, every branch failing only at the last keyword: 2^16 leaves per
 * item, times a 2000-item array. Without the budget this would run for minutes. */
TEST(budget_fan_out)
{
    char sch[2048];
    size_t o = (size_t)snprintf(sch, sizeof sch, "{\"$defs\":{\"l0\":{\"type\":\"string\"}");
    for (int i = 1; i <= 16; i++)
        o += (size_t)snprintf(sch + o, sizeof sch - o,
                              ",\"l%d\":{\"anyOf\":[{\"$ref\":\"#/$defs/l%d\"},"
                              "{\"$ref\":\"#/$defs/l%d\"}]}",
                              i, i - 1, i - 1);
    snprintf(sch + o, sizeof sch - o, "},\"items\":{\"$ref\":\"#/$defs/l16\"}}");
    json_schema *s = compile(sch);
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    mcp_buf_putc(&b, '[');
    for (int i = 0; i < 2000; i++) mcp_buf_puts(&b, i ? ",1" : "1");
    mcp_buf_putc(&b, ']');
    const json_value *inst = json_parse(b.data, b.len, &g_arena, NULL, NULL);
    mcp_buf_free(&b);
    json_schema_result r;
    double t0 = now_ms();
    CHECK(!json_schema_validate(s, inst, &r));
    CHECK(r.budget_exceeded);
    CHECK(!json_schema_validate(s, inst, NULL));
    double ms = now_ms() - t0;
    if (ms > 2000) T_FAIL("fan-out took %.0f ms", ms);
    CHECK_STR(r.errors[r.nerrors - 1].msg, "validation step budget exhausted");
    json_schema_free(s);
    /* a smaller budget from the options */
    json_schema_options opts = {.max_steps = 10};
    s = compile_opts("{\"items\":{\"type\":\"integer\"}}", &opts);
    CHECK(json_schema_validate(s, J("[1,2]"), &r));
    CHECK(!json_schema_validate(s, J("[1,2,3,4,5,6,7,8,9,10,11]"), &r));
    CHECK(r.budget_exceeded);
    json_schema_free(s);
}

TEST(budget_regex)
{
    /* catastrophic backtracking stops at the match limit, as an exhausted budget */
    json_schema *s = compile("{\"pattern\":\"^(a+)+$\"}");
    char inst[128];
    memset(inst, 'a', sizeof inst);
    inst[0] = '"', inst[sizeof inst - 3] = '!', inst[sizeof inst - 2] = '"';
    inst[sizeof inst - 1] = '\0';
    json_schema_result r;
    double t0 = now_ms();
    CHECK(!json_schema_validate(s, J(inst), &r));
    CHECK(now_ms() - t0 < 500);
    json_schema_free(s);
}

static const char *brackets(char c)
{
    static char open[128], close[128];
    char *b = c == '[' ? open : close;
    memset(b, c, 127);
    return b;
}

/* Deep instances against a recursive schema stay within the stack. */
TEST(deep_instance)
{
    json_schema *s = compile("{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"array\","
                             "\"items\":{\"$ref\":\"#\"}}],\"unevaluatedItems\":false}");
    char inst[300];
    snprintf(inst, sizeof inst, "%.127s1%.127s", brackets('['), brackets(']'));
    json_schema_result r;
    CHECK(check(s, inst, &r));
    snprintf(inst, sizeof inst, "%.127snull%.127s", brackets('['), brackets(']'));
    CHECK(!check(s, inst, &r));
    json_schema_free(s);
}

/* ---- results -------------------------------------------------------------------------------- */

TEST(error_collection)
{
    json_schema *s = compile("{\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":"
                             "\"string\"}},\"required\":[\"c\",\"d\"]}");
    json_schema_result r;
    CHECK(!check(s, "{\"a\":1,\"b\":2}", &r));
    CHECK_INT(r.nerrors, 4);
    CHECK_STR(r.errors[0].instance_path, "/a");
    CHECK_STR(r.errors[1].instance_path, "/b");
    CHECK_CONTAINS(r.errors[2].msg, "\"c\"");
    CHECK_CONTAINS(r.errors[3].msg, "\"d\"");
    char out[300];
    CHECK_STR(json_schema_result_str(&r, out, sizeof out),
              "/a: expected string, got integer (at /properties/a/type)");
    CHECK(check(s, "{\"c\":1,\"d\":2}", &r));
    CHECK_STR(json_schema_result_str(&r, out, sizeof out), "valid");
    json_schema_free(s);
    json_schema_options opts = {.max_errors = 1};
    s = compile_opts("{\"items\":{\"type\":\"string\"}}", &opts);
    CHECK(!check(s, "[1,2,3]", &r));
    CHECK_INT(r.nerrors, 1);
    CHECK_STR(json_schema_result_str(&r, out, sizeof out),
              "/0: expected string, got integer (at /items/type)");
    json_schema_free(s);
}

/* The compiled schema must not point into the DOM it came from. */
TEST(dom_freed_after_compile)
{
    mcp_arena a;
    mcp_arena_init(&a, NULL, 0);
    const char *text = "{\"$defs\":{\"n\":{\"enum\":[\"alpha\",\"beta\"]}},\"properties\":{"
                       "\"k\":{\"$ref\":\"#/$defs/n\"},\"m\":{\"multipleOf\":0.25,"
                       "\"pattern\":\"x\"}},\"required\":[\"k\"],\"dependentRequired\":{"
                       "\"m\":[\"k\"]},\"const\":{\"k\":\"beta\"}}";
    const json_value *v = json_parse(text, strlen(text), &a, NULL, NULL);
    CHECK(v);
    json_schema *s = json_schema_compile(v, NULL, NULL);
    mcp_arena_free(&a); /* ASan reports any later read of the DOM */
    CHECK(s);
    json_schema_result r;
    CHECK(check(s, "{\"k\":\"beta\"}", &r));
    CHECK(!check(s, "{\"k\":\"alpha\"}", &r));
    CHECK(!check(s, "{\"k\":\"gamma\"}", &r));
    json_schema_free(s);
}

/* ---- threads -------------------------------------------------------------------------------- */

static const char *const thread_cases[][2] = {
    {"{\"name\":\"abc\",\"tags\":[\"a\",\"b\"],\"n\":4}", "1"},
    {"{\"name\":\"ab\",\"tags\":[\"a\",\"a\"],\"n\":4}", "0"},
    {"{\"name\":\"abc\",\"tags\":[],\"n\":4.5}", "0"},
    {"{\"name\":\"ABC\",\"n\":8,\"x-1\":true}", "0"},
    {"{\"name\":\"xyz\",\"n\":0,\"extra\":{\"deep\":[1,2,3]}}", "1"},
    {"{\"tags\":[\"q\"]}", "0"},
};

typedef struct thread_arg {
    const json_schema *s;
    const json_value *inst[6];
    int mismatches;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *t = p;
    for (int i = 0; i < 3000; i++) {
        int k = i % 6;
        json_schema_result r;
        bool want = thread_cases[k][1][0] == '1';
        bool got = (i & 1) ? json_schema_validate(t->s, t->inst[k], &r)
                           : json_schema_validate(t->s, t->inst[k], NULL);
        if (got != want) t->mismatches++;
    }
    return NULL;
}

TEST(threads)
{
    json_schema *s =
        compile("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"pattern\":"
                "\"^[a-z]{3}$\"},\"tags\":{\"type\":\"array\",\"uniqueItems\":true,\"items\":"
                "{\"type\":\"string\"}},\"n\":{\"type\":\"integer\",\"multipleOf\":2}},"
                "\"required\":[\"name\"],\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
                "\"unevaluatedProperties\":{\"type\":\"object\"}}");
    thread_arg args[8];
    pthread_t th[8];
    for (int t = 0; t < 8; t++) {
        args[t].s = s;
        args[t].mismatches = 0;
        for (int k = 0; k < 6; k++) args[t].inst[k] = J(thread_cases[k][0]);
    }
    for (int t = 0; t < 8; t++) CHECK(pthread_create(&th[t], NULL, thread_main, &args[t]) == 0);
    for (int t = 0; t < 8; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < 8; t++) CHECK_INT(args[t].mismatches, 0);
    json_schema_free(s);
}

/* RUN with a fresh arena per test. */
/* The one-pass check of flat argument schemas (schema_flat_setup) must agree with the full
 * validator on every instance, valid or not, and leave errors to it. */
TEST(flat_fast_path)
{
    static const char *const flat[] = {
        "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}},"
        "\"required\":[\"message\"]}",
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":"
        "[\"string\",\"null\"]},\"c\":true,\"d\":false},\"additionalProperties\":false}",
        "{\"properties\":{\"n\":{\"type\":\"number\"}},\"required\":[\"n\"],"
        "\"additionalProperties\":true,\"description\":\"no type\"}",
    };
    static const char *const not_flat[] = {
        "{\"type\":\"object\",\"properties\":{\"m\":{\"type\":\"string\",\"minLength\":2}}}",
        "{\"type\":[\"object\",\"null\"],\"properties\":{\"m\":{\"type\":\"string\"}}}",
        "{\"type\":\"object\",\"properties\":{\"m\":{\"type\":\"string\"}},"
        "\"additionalProperties\":{\"type\":\"string\"}}",
        "{\"type\":\"object\",\"properties\":{\"m\":{\"type\":\"string\"}},\"maxProperties\":1}",
    };
    static const char *const inst[] = {
        "{\"message\":\"hi\"}",
        "{\"message\":3}",
        "{}",
        "{\"message\":\"hi\",\"x\":1}",
        "{\"a\":1}",
        "{\"a\":1.0}",
        "{\"a\":1.5}",
        "{\"a\":2,\"b\":null}",
        "{\"b\":\"s\"}",
        "{\"b\":true}",
        "{\"c\":[1]}",
        "{\"d\":1}",
        "{\"n\":-0.5}",
        "{\"n\":\"1\"}",
        "{\"n\":1,\"zz\":{}}",
        "{\"m\":\"x\"}",
        "{\"m\":\"xy\",\"o\":1}",
        "[]",
        "\"s\"",
        "null",
        "7",
    };
    for (size_t i = 0; i < sizeof flat / sizeof *flat + sizeof not_flat / sizeof *not_flat; i++) {
        bool is_flat = i < sizeof flat / sizeof *flat;
        json_schema *s = compile(is_flat ? flat[i] : not_flat[i - sizeof flat / sizeof *flat]);
        CHECK(is_flat == (s->flat_props != NULL));
        for (size_t k = 0; k < sizeof inst / sizeof *inst; k++) {
            const json_value *v = J(inst[k]);
            json_schema_result with, without;
            bool a = json_schema_validate(s, v, &with);
            bool q = json_schema_validate(s, v, NULL);
            const sprops *keep = s->flat_props;
            s->flat_props = NULL; /* the full validator alone */
            bool b = json_schema_validate(s, v, &without);
            s->flat_props = keep;
            if (a != b || q != b || with.nerrors != without.nerrors)
                T_FAIL("schema %zu, %s: one pass %d/%d, full %d", i, inst[k], a, q, b);
            if (!b) CHECK_STR(with.errors[0].msg, without.errors[0].msg);
        }
        json_schema_free(s);
    }
    /* a tiny step budget is still the full validator's to enforce */
    json_schema_options o = {.max_steps = 3};
    json_schema *s = compile_opts(flat[0], &o);
    json_schema_result r;
    bool ok = json_schema_validate(s, J("{\"message\":\"a\",\"x\":1,\"y\":2,\"z\":3}"), &r);
    s->flat_props = NULL;
    json_schema_result r2;
    CHECK(ok == json_schema_validate(s, J("{\"message\":\"a\",\"x\":1,\"y\":2,\"z\":3}"), &r2));
    json_schema_free(s);
}

static void run_one(void (*fn)(void), const char *name)
{
    mcp_arena_init(&g_arena, NULL, 0);
    t_name = name;
    t_cur_failed = 0;
    if (!setjmp(t_jmp)) fn();
    if (t_cur_failed)
        t_failed++;
    else
        t_passed++;
    mcp_arena_free(&g_arena);
}

int main(void)
{
    static const struct {
        void (*fn)(void);
        const char *name;
    } tests[] = {
#define T(n) {test_##n, #n}
        T(type),
        T(enum_const),
        T(numbers),
        T(multiple_of),
        T(strings),
        T(objects),
        T(many_properties),
        T(arrays),
        T(unique_items),
        T(combinators),
        T(nested_paths),
        T(unevaluated),
        T(refs),
        T(dynamic_ref),
        T(resolver),
        T(compile_errors),
        T(budget_ref_cycle),
        T(budget_fan_out),
        T(budget_regex),
        T(deep_instance),
        T(error_collection),
        T(dom_freed_after_compile),
        T(threads),
        T(flat_fast_path),
#undef T
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) run_one(tests[i].fn, tests[i].name);
    return test_summary();
}
