/* test_mcpd_config.c - mcpd's config checking: each bad config gives exactly the expected
 * message, at the expected line and column (what `mcpd --check-config` prints), and good
 * configs (the default included) pass.
 *
 * Each case writes a file, runs mcpd_check on it (config.c + registry.c + the kinds'
 * configure) into a memory stream, and compares the first line after the file name. */
#include "mcpd/mcpd.h"
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

#define SHA  "0000000000000000000000000000000000000000000000000000000000000001"
#define SHA2 "0000000000000000000000000000000000000000000000000000000000000002"

static char dir[64];

/* Runs --check-config on text; returns its output with the file name cut off (static). */
static const char *check(const char *text, int *rc)
{
    static char out[4096];
    char path[128];
    snprintf(path, sizeof path, "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    *rc = mcpd_check(path, m);
    fclose(m);
    const char *p = strstr(buf, "c.json") ? strstr(buf, "c.json") + 6 : buf;
    snprintf(out, sizeof out, "%s", p);
    free(buf);
    return out;
}

typedef struct bad {
    const char *text;
    const char *want; /* the first line of the output, after the file name */
} bad;

static const bad bads[] = {
    /* syntax, relaxed JSON */
    {"{\"tools\": [}", ":1:12: unexpected character '}', expected a value"},
    {"{\n  \"listen\": \"127.0.0.1:80\" /* open\n}", ":2:28: unterminated block comment"},
    {"{\"a\": 1,, }", ":1:9: expected '\"' to begin a member name, got ','"},
    {"", ":1:1: unexpected end of input, expected a value"},
    {"[]", ":1:1: expected object, got array"},
    /* top-level keys */
    {"{\"listn\": \"127.0.0.1:80\"}",
     ":1:11: /listn: unknown key \"listn\" (did you mean \"listen\"?)"},
    {"{\"bogus\": 1}", ":1:11: /bogus: unknown key \"bogus\""},
    /* found by fuzz_config: a key with a line break broke its mistake into two lines (and could
     * forge a line of the log); control characters are now escaped */
    {"{\"a\\nb\\u0001\": 1}", ":1:16: /a\\nb\\x01: unknown key \"a\\nb\\x01\"\n"},
    {"{\"listen\": \"localhost\"}",
     ":1:12: /listen: expected HOST:PORT (or [IPv6]:PORT) with PORT in 0..65535, got "
     "\"localhost\"\n"},
    {"{\"listen\": \"127.0.0.1:99999\"}",
     ":1:12: /listen: expected HOST:PORT (or [IPv6]:PORT) with PORT in 0..65535, got "
     "\"127.0.0.1:99999\"\n"},
    {"{\"transport\": \"tcp\"}", ":1:15: /transport: value must be one of"},
    {"{\"server\": {\"name\": \"\"}}", ":1:21: /server/name: string shorter than 1 character"},
    {"{\"server\": {\"nmae\": \"x\"}}",
     ":1:21: /server/nmae: unknown key \"nmae\" (did you mean \"name\"?)"},
    {"{\"server\": {\"page_size\": 0}}", ":1:26: /server/page_size: number must be"},
    {"{\"http\": {\"path\": \"mcp\"}}", ":1:19: /http/path: string does not match pattern"},
    {"{\"http\": {\"workers\": \"4\"}}", ":1:22: /http/workers: expected integer, got string"},
    {"{\"limits\": {\"timeout_ms\": 0}}", ":1:27: /limits/timeout_ms: number must be"},
    {"{\"limits\": {\"max_children\": 1.5}}",
     ":1:29: /limits/max_children: expected integer, got number"},
    {"{\"auth\": {}}", ":1:10: /auth: missing required property \"tokens\""},
    {"{\"auth\": {\"tokens\": [{\"name\": \"ci\", \"sha256\": \"abc\"}]}}",
     ":1:47: /auth/tokens/0/sha256: string does not match pattern"},
    /* found by fuzz_config: a digit below '0' made a negative shift (UB) decoding the hash */
    {"{\"auth\": {\"tokens\": [{\"name\": \"ci\", \"sha256\": \"..000000000000000000000000000"
     "00000000000000000000000000000000001\"}]}}",
     ":1:47: /auth/tokens/0/sha256: string does not match pattern \"^[0-9a-f]{64}$\"\n"},
    {"{\"auth\": {\"tokens\": [{\"name\": \"a\", \"sha256\": \"" SHA "\"}, {\"name\": \"a\", "
     "\"sha256\": \"" SHA2 "\"}]}}",
     ":1:124: /auth/tokens/1/name: a token named \"a\" is already defined (/auth/tokens/0)"},
    {"{\"auth\": {\"tokens\": [{\"name\": \"a\", \"sha256\": \"" SHA "\", \"resources\": [\"dcs\"]}]},"
     " \"resources\": [{\"name\": \"docs\", \"path\": \".\"}]}",
     ":1:128: /auth/tokens/0/resources/0: \"dcs\" is neither a URI prefix (scheme:...) nor the name "
     "of a resources entry (named: docs)"},
    {"{\"auth\": {\"tokens\": [{\"name\": \"a\", \"sha256\": \"" SHA "\", \"prompts\": [\"x\"]}]}}",
     ":1:126: /auth/tokens/0/prompts/0: no prompt is named \"x\" (prompts: none)"},
    {"{\"auth\": {\"tokens\": [{\"name\": \"a\", \"sha256\": \"" SHA "\", \"resources\": [\"\"]}]}}",
     ":1:128: /auth/tokens/0/resources/0: string shorter than 1 character"},
    /* ${ENV} */
    {"{\"server\": {\"name\": \"${MCPD_TEST_UNSET_VAR}\"}}",
     ":1:21: /server/name: environment variable MCPD_TEST_UNSET_VAR is not set (write "
     "${MCPD_TEST_UNSET_VAR:-default} for a default)\n"},
    {"{\"server\": {\"name\": \"${1BAD}\"}}",
     ":1:21: /server/name: malformed environment reference: expected ${NAME} or ${NAME:-default} "
     "with NAME of letters, digits and '_' (write $${ for a literal ${)\n"},
    {"{\"server\": {\"name\": \"${OPEN\"}}",
     ":1:21: /server/name: malformed environment reference: expected ${NAME} or ${NAME:-default} "
     "with NAME of letters, digits and '_' (write $${ for a literal ${)\n"},
    /* tools: common keys */
    {"{\"tools\": {}}", ":1:11: /tools: expected array, got object"},
    {"{\"tools\": [{\"name\": \"x\"}]}", ":1:12: /tools/0: missing required property \"kind\""},
    {"{\"tools\": [{\"kind\": \"shell\", \"name\": \"x\"}]}",
     ":1:21: /tools/0/kind: unknown tool kind \"shell\": expected one of exec"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"a b\", \"command\": [\"ls\"]}]}",
     ":1:37: /tools/0/name: string does not match pattern"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"], \"timout_ms\": "
     "5}]}",
     ":1:74: /tools/0/timout_ms: unknown key \"timout_ms\" for a tool of kind exec (did you mean "
     "\"timeout_ms\"?)"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"], \"concurrency\": "
     "0}]}",
     ":1:76: /tools/0/concurrency: number must be >= 1"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"], \"annotations\": "
     "{\"readOnly\": true}}]}",
     ":1:89: /tools/0/annotations/readOnly: unknown key \"readOnly\" (did you mean "
     "\"readOnlyHint\"?)"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"]}, {\"kind\": "
     "\"exec\", \"name\": \"x\", \"command\": [\"ls\"]}]}",
     ":1:62: /tools/1: a tool named \"x\" is already defined at /tools/0"},
    /* tools: exec */
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\"}]}",
     ":1:12: /tools/0: missing required property \"command\""},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": []}]}",
     ":1:53: /tools/0/command: array has fewer than 1 item"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"{p}\"], \"arguments\": "
     "{\"p\": {\"type\": \"string\"}}}]}",
     ":1:54: /tools/0/command/0: the program must be a fixed path, not filled from an argument"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\", \"{path}\"]}]}",
     ":1:60: /tools/0/command/1: \"{path}\" names no argument: declare it under \"arguments\""},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\", \"{path\"], "
     "\"arguments\": {\"path\": {\"type\": \"string\"}}}]}",
     ":1:60: /tools/0/command/1: unclosed '{' in \"{path\": write {name} for an argument"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"], \"arguments\": "
     "{\"v\": {\"type\": \"boolean\"}}}]}",
     ":1:80: /tools/0/arguments/v: a boolean argument needs a \"flag\": the element written "
     "when it is true"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\", \"--x={f}\"], "
     "\"arguments\": {\"f\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}]}",
     ":1:60: /tools/0/command/1: {f} (an array) must be a whole element of the command, e.g. "
     "\"{f}\""},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"], \"arguments\": "
     "{\"n\": {\"type\": \"date\"}}}]}",
     ":1:89: /tools/0/arguments/n/type: value must be one of "
     "[\"string\",\"integer\",\"number\",\"boolean\",\"array\"]"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"cat\"], \"stdin\": "
     "\"text\"}]}",
     ":1:71: /tools/0/stdin: \"text\" must name a string argument declared under \"arguments\""},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"], \"ok_exit\": "
     "[256]}]}",
     ":1:73: /tools/0/ok_exit/0: number must be <= 255"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"], \"output\": "
     "\"xml\"}]}",
     ":1:71: /tools/0/output: value must be one of [\"text\",\"json\"]"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"], \"output_schema\": "
     "{\"type\": 5}}]}",
     ":1:12: /tools/0: the tool's output schema is not a valid JSON Schema"},
    {"{\"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"], \"health\": "
     "{\"command\": [\"test\", \"{f}\"]}}]}",
     ":1:92: /tools/0/health/command/1: the health command takes no arguments: \"{f}\" is not "
     "filled\n"},
};

TEST(bad_configs)
{
    size_t n = sizeof bads / sizeof *bads, wrong = 0;
    for (size_t i = 0; i < n; i++) {
        int rc;
        const char *out = check(bads[i].text, &rc);
        if (getenv("SHOW")) fprintf(stderr, "%s", out);
        if (rc != 2 || strncmp(out, bads[i].want, strlen(bads[i].want)) != 0) {
            fprintf(stderr, "case %zu (%s): exit %d\n  got:  %s  want: %s\n", i, bads[i].text, rc,
                    out, bads[i].want);
            wrong++;
        }
    }
    CHECK_INT(wrong, 0);
    CHECK(n >= 30);
}

TEST(every_mistake_reported)
{
    int rc;
    const char *out = check(
        "{\"limits\": {\"timeout_ms\": 0},\n"
        " \"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\", \"{p}\"]},\n"
        "           {\"kind\": \"exec\", \"nam\": \"y\", \"command\": [\"ls\"]}]}",
        &rc);
    CHECK_INT(rc, 2);
    /* the schema's mistakes, then the exec kind's in an entry the schema found fine */
    CHECK(strstr(out, ":1:27: /limits/timeout_ms: number must be >= 1\n") != NULL);
    CHECK(strstr(out,
                 ":3:36: /tools/1/nam: unknown key \"nam\" for a tool of kind exec (did you mean "
                 "\"name\"?)\n") != NULL);
    CHECK(strstr(out, ":2:60: /tools/0/command/1: \"{p}\" names no argument") != NULL);
    CHECK(strstr(out, ":3:12: /tools/1: missing required property \"name\"\n") != NULL);
}

TEST(good_configs)
{
    int rc;
    const char *out = check("// nothing but comments and an empty object\n{/* */}", &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(out, ": valid (0 tools)\n");
    setenv("MCPD_TEST_NAME", "from-env", 1);
    out = check(
        "{\"server\": {\"name\": \"${MCPD_TEST_NAME}\", \"title\": \"${NOPE_X:-dflt} $${x}\"},"
        " \"tools\": [{\"kind\": \"exec\", \"name\": \"x\", \"command\": [\"ls\"],"
        " \"enabled\": false},],}",
        &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(out, ": valid (0 tools)\n");
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    CHECK_INT(mcpd_check(NULL, m), 0);
    fclose(m);
    CHECK(strstr(buf, "(default config): valid") != NULL);
    free(buf);
}

TEST(env_substitution_values)
{
    setenv("MCPD_TEST_SECRET", "s3cr\"et", 1);
    mcpd_errs *e = mcpd_errs_new();
    const char *text = "{\"server\": {\"name\": \"a-${MCPD_TEST_SECRET}-${NOPE_Y:-d}-$${Z}\"}}";
    mcpd_config *c = mcpd_config_parse("x.json", text, strlen(text), e);
    CHECK(c != NULL);
    CHECK_STR(c->info.name, "a-s3cr\"et-d-${Z}");
    mcpd_config_free(c);
    mcpd_errs_free(e);
}

TEST(alert_rules_and_fairness)
{
    mcpd_errs *e = mcpd_errs_new();
    const char *text =
        "{\"http\": {\"queue_target_ms\": 50, \"client_queue_max\": 7, \"alerts\": ["
        "{\"name\": \"slow\", \"signal\": \"p99_latency\", \"raise\": 2.5, \"clear\": 1,"
        " \"window_ms\": 30000, \"for_ms\": 5000}]}}";
    mcpd_config *c = mcpd_config_parse("x.json", text, strlen(text), e);
    CHECK(c != NULL);
    CHECK_INT(c->http.queue_target_ms, 50);
    CHECK_INT(c->http.client_queue_max, 7);
    CHECK_INT(c->http.n_alert_rules, 1);
    CHECK_STR(c->http.alert_rules[0].name, "slow");
    CHECK_STR(c->http.alert_rules[0].signal, "p99_latency");
    CHECK(c->http.alert_rules[0].raise == 2.5 && c->http.alert_rules[0].clear == 1);
    CHECK_INT(c->http.alert_rules[0].window_ms, 30000);
    CHECK_INT(c->http.alert_rules[0].for_ms, 5000);
    mcpd_config_free(c);
    mcpd_errs_free(e);
    int rc;
    const char *out = check("{\"http\": {\"alerts\": [{\"name\": \"x\", \"signal\": \"cpu\","
                            " \"raise\": 1, \"clear\": 0}]}}",
                            &rc);
    CHECK_INT(rc, 2);
    CHECK(strstr(out, "/http/alerts/0/signal") != NULL);
    /* what the schema cannot say: names unique, clear <= raise, an hour's window at most */
    out = check("{\"http\": {\"alerts\": [{\"name\": \"x\", \"signal\": \"fds\", \"raise\": 1,"
                " \"clear\": 2}, {\"name\": \"x\", \"signal\": \"rss\", \"raise\": 1, \"clear\": 0,"
                " \"window_ms\": 3600001}]}}",
                &rc);
    CHECK_INT(rc, 2);
    CHECK_CONTAINS(out, "/http/alerts/0/clear: must be at most raise (1), got 2");
    CHECK_CONTAINS(out,
                   "/http/alerts/1/name: a rule named \"x\" is already defined (/http/alerts/0)");
    CHECK_CONTAINS(out, "/http/alerts/1/window_ms: at most 3600000 (an hour of evaluations), got "
                        "3600001");
}

/* Writes an OpenAPI document of nops POST operations into dir/spec.json: operation i's body is
 * components.schemas S<i % nschemas>; with `chain`, S0 names every other schema, so that any
 * operation on S0 uses all of them. Each schema has `width` string properties. */
static void write_spec(size_t nops, size_t nschemas, size_t width, bool chain)
{
    char path[128];
    snprintf(path, sizeof path, "%s/spec.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"openapi\": \"3.0.0\", \"servers\": [{\"url\": \"http://127.0.0.1:9\"}],"
               " \"paths\": {");
    for (size_t i = 0; i < nops; i++)
        fprintf(f,
                "%s\"/r%zu\": {\"post\": {\"operationId\": \"op%zu\", \"requestBody\": "
                "{\"content\": {\"application/json\": {\"schema\": {\"$ref\": "
                "\"#/components/schemas/S%zu\"}}}}}}",
                i ? ", " : "", i, i, chain ? 0 : i % nschemas);
    fprintf(f, "}, \"components\": {\"schemas\": {");
    for (size_t i = 0; i < nschemas; i++) {
        fprintf(f, "%s\"S%zu\": {\"type\": \"object\", \"properties\": {", i ? ", " : "", i);
        for (size_t j = 0; j < width; j++)
            fprintf(f, "%s\"p%zu\": {\"type\": \"string\", \"description\": \"%0100zu\"}",
                    j ? ", " : "", j, j);
        if (chain && i == 0)
            for (size_t j = 1; j < nschemas; j++)
                fprintf(f, ", \"s%zu\": {\"$ref\": \"#/components/schemas/S%zu\"}", j, j);
        fprintf(f, "}}");
    }
    fprintf(f, "}}}\n");
    fclose(f);
}

/* Each operation's input schema carries the components.schemas it uses, not all of them: 600
 * operations on 600 schemas of 10 kB each made 3.6 GB of schemas before (each tool copied all
 * of components.schemas), and the input schemas of one entry are bounded in all. */
TEST(openapi_schemas_bounded)
{
    int rc;
    write_spec(600, 600, 100, false);
    const char *out = check("{\"tools\": [{\"kind\": \"openapi\", \"spec\": \"spec.json\"}]}", &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(out, ": valid (600 tools)\n");
    /* every operation uses S0, which names the 99 others: 1.4 MB each, over 64 MiB at the 48th */
    write_spec(100, 100, 100, true);
    out = check("{\"tools\": [{\"kind\": \"openapi\", \"spec\": \"spec.json\"}]}", &rc);
    CHECK_INT(rc, 2);
    CHECK_STR(out, ":1:40: /tools/0/spec: operation op47 (POST /r47): the input schemas of this "
                   "document's operations, with the components.schemas they use, pass 64 MiB in "
                   "all: list the operations to serve in \"operations\"\n"); /* that one only */
    /* listing a few of them serves them */
    out = check("{\"tools\": [{\"kind\": \"openapi\", \"spec\": \"spec.json\", \"operations\":"
                " [\"op1\", \"op7\"]}]}",
                &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(out, ": valid (2 tools)\n");
    char path[128];
    snprintf(path, sizeof path, "%s/spec.json", dir);
    unlink(path);
}

/* The document is read into a buffer that grows to its size: 16 MiB is read whole, one byte
 * more is refused. */
TEST(openapi_spec_size)
{
    char path[128];
    snprintf(path, sizeof path, "%s/spec.json", dir);
    static const char doc[] = "{\"openapi\": \"3.0.0\", \"servers\": [{\"url\": \"http://h\"}], "
                              "\"paths\": {}}";
    for (size_t extra = 0; extra < 2; extra++) {
        FILE *f = fopen(path, "w");
        fputs(doc, f);
        for (size_t i = sizeof doc - 1; i < (16u << 20) + extra; i++) fputc(' ', f);
        fclose(f);
        int rc;
        const char *out =
            check("{\"tools\": [{\"kind\": \"openapi\", \"spec\": \"spec.json\"}]}", &rc);
        if (!extra) {
            CHECK_INT(rc, 0);
            CHECK_STR(out, ": valid (0 tools)\n");
        } else {
            CHECK_INT(rc, 2);
            CHECK_CONTAINS(out, ":1:40: /tools/0/spec: ");
            CHECK_CONTAINS(out, "/spec.json is larger than 16777216 bytes\n");
        }
    }
    unlink(path);
}

/* Found by fuzz_openapi: a "content" or "paths" that is an array (which has a length) was
 * walked as an object, reading member names that were never set. */
TEST(openapi_arrays_where_objects_go)
{
    char path[128];
    snprintf(path, sizeof path, "%s/spec.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"openapi\": \"3.0.0\", \"servers\": [{\"url\": \"http://h\"}], \"paths\": "
          "{\"/a\": {\"post\": {\"operationId\": \"a\", \"requestBody\": {\"content\": "
          "[{\"schema\": {}}]}}}}}",
          f);
    fclose(f);
    int rc;
    const char *cfg = "{\"tools\": [{\"kind\": \"openapi\", \"spec\": \"spec.json\"}]}";
    const char *out = check(cfg, &rc);
    CHECK_INT(rc, 0); /* a content that is not an object: no JSON body */
    CHECK_STR(out, ": valid (1 tools)\n");
    f = fopen(path, "w");
    fputs("{\"openapi\": \"3.0.0\", \"servers\": [{\"url\": \"http://h\"}], \"paths\": "
          "[{\"get\": {}}]}",
          f);
    fclose(f);
    out = check(cfg, &rc);
    CHECK_INT(rc, 2);
    CHECK_STR(out, ":1:40: /tools/0/spec: spec.json: expected \"paths\" to be an object, got "
                   "array\n");
    unlink(path);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/mcpd-test-%d", (int)getpid());
    mkdir(dir, 0700);
    RUN(bad_configs);
    RUN(every_mistake_reported);
    RUN(good_configs);
    RUN(env_substitution_values);
    RUN(alert_rules_and_fairness);
    RUN(openapi_schemas_bounded);
    RUN(openapi_spec_size);
    RUN(openapi_arrays_where_objects_go);
    char path[128];
    snprintf(path, sizeof path, "%s/c.json", dir);
    unlink(path);
    rmdir(dir);
    return test_summary();
}
