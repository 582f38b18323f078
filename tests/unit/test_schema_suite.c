/* test_schema_suite.c - runs the official JSON Schema Test Suite (draft 2020-12).
 *
 * Each file under MCP_TESTDATA/json-schema/draft2020-12 is a list of groups {description,
 * schema, tests: [{description, data, valid}]}. Every group's schema is compiled once and every
 * test validated twice, fast (no result) and collecting errors, which must agree with each other
 * and with "valid". Remote references are served by a resolver from the suite's remotes/
 * (http://localhost:1234/X -> remotes/X) and from a copy of the 2020-12 metaschemas kept next
 * to this file (https://json-schema.org/draft/2020-12/...), never from the network.
 *
 * Every top-level file is in scope and must pass; cases we skip on purpose are listed below
 * with the reason and printed. optional/ and optional/format/ are run and reported, not
 * required. The last line is "N passed, N failed" over the in-scope cases. */
#include <glob.h>
#include <string.h>

#include "json/schema.h"
#include "test.h"

#define SUITE_DIR   MCP_TESTDATA "/json-schema/draft2020-12"
#define REMOTES_DIR MCP_TESTDATA "/json-schema/remotes/"
#define LOCALHOST   "http://localhost:1234/"
#define METASCHEMA  "https://json-schema.org/draft/2020-12/"

typedef struct skip {
    const char *file, *group, *test; /* test NULL: the whole group */
    const char *reason;
} skip;

/* Cases skipped on purpose. Empty: everything in scope passes. */
static const skip skips[] = {
    {NULL, NULL, NULL, NULL},
};

typedef struct counts {
    int passed, failed, skipped;
} counts;

static const char *find_skip(const char *file, const char *group, const char *test)
{
    for (size_t i = 0; i < sizeof skips / sizeof skips[0]; i++) {
        const skip *s = &skips[i];
        if (!s->file || strcmp(s->file, file) != 0 || strcmp(s->group, group) != 0) continue;
        if (!s->test || strcmp(s->test, test) == 0) return s->reason;
    }
    return NULL;
}

/* The directory of this source file, where data/metaschema-2020-12/ lives. */
static void source_dir(char *out, size_t size)
{
    snprintf(out, size, "%s", __FILE__);
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(out, size, ".");
}

static const json_value *parse_file(const char *path, mcp_arena *arena, bool quiet)
{
    size_t len;
    char *buf = test_read_file(path, &len);
    if (!buf) {
        if (!quiet) fprintf(stderr, "cannot read %s\n", path);
        return NULL;
    }
    json_error err;
    const json_value *v = json_parse(buf, len, arena, NULL, &err);
    if (!v) fprintf(stderr, "%s: parse error at byte %zu: %s\n", path, err.offset, err.msg);
    free(buf);
    return v;
}

static const json_value *resolve(void *ud, const char *uri, mcp_arena *arena)
{
    char path[1024], dir[512];
    (void)ud;
    if (strncmp(uri, LOCALHOST, strlen(LOCALHOST)) == 0) {
        snprintf(path, sizeof path, "%s%s", REMOTES_DIR, uri + strlen(LOCALHOST));
    } else if (strncmp(uri, METASCHEMA, strlen(METASCHEMA)) == 0) {
        source_dir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/data/metaschema-2020-12/%s.json", dir,
                 uri + strlen(METASCHEMA));
    } else {
        return NULL;
    }
    return parse_file(path, arena, true);
}

static const char *str_member(const json_value *obj, const char *key)
{
    const json_value *v = json_get(obj, key);
    return json_is_string(v) ? v->u.str : "?";
}

static void run_test(const char *file, const char *group, const json_schema *s, const json_value *t,
                     counts *c, bool verbose)
{
    const char *desc = str_member(t, "description");
    const json_value *data = json_get(t, "data"), *want = json_get(t, "valid");
    const char *reason = find_skip(file, group, desc);
    if (reason) {
        c->skipped++;
        printf("  SKIP %s / %s / %s: %s\n", file, group, desc, reason);
        return;
    }
    json_schema_result r;
    bool fast = json_schema_validate(s, data, NULL);
    bool full = json_schema_validate(s, data, &r);
    char msg[600];
    if (fast == full && full == (want && want->b) && !r.budget_exceeded) {
        c->passed++;
        return;
    }
    c->failed++;
    if (verbose)
        printf("  FAIL %s / %s / %s: want %s, fast %s, full %s%s: %s\n", file, group, desc,
               want && want->b ? "valid" : "invalid", fast ? "valid" : "invalid",
               full ? "valid" : "invalid", r.budget_exceeded ? " (budget)" : "",
               json_schema_result_str(&r, msg, sizeof msg));
}

static void run_group(const char *file, const json_value *g, counts *c, bool verbose)
{
    const char *group = str_member(g, "description");
    const json_value *tests = json_get(g, "tests");
    json_schema_options opts = {.resolve = resolve};
    json_schema_error err;
    json_schema *s = json_schema_compile(json_get(g, "schema"), &opts, &err);
    for (uint32_t i = 0; tests && i < tests->len; i++) {
        const json_value *t = &tests->u.items[i];
        if (s) {
            run_test(file, group, s, t, c, verbose);
        } else if (find_skip(file, group, str_member(t, "description"))) {
            c->skipped++;
        } else {
            c->failed++;
            if (verbose)
                printf("  FAIL %s / %s / %s: compile error at %s: %s\n", file, group,
                       str_member(t, "description"), err.schema_path, err.msg);
        }
    }
    json_schema_free(s);
}

static counts run_file(const char *path, const char *name, bool verbose)
{
    counts c = {0, 0, 0};
    mcp_arena arena;
    mcp_arena_init(&arena, NULL, 0);
    const json_value *groups = parse_file(path, &arena, false);
    if (!json_is_array(groups)) {
        c.failed++;
        printf("  FAIL %s: not a list of test groups\n", name);
    }
    for (uint32_t i = 0; groups && i < groups->len; i++)
        run_group(name, &groups->u.items[i], &c, verbose);
    mcp_arena_free(&arena);
    printf("%-40s %4d passed, %3d failed, %2d skipped\n", name, c.passed, c.failed, c.skipped);
    return c;
}

static counts run_dir(const char *pattern, const char *prefix, bool verbose)
{
    counts total = {0, 0, 0};
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) {
        printf("no files match %s\n", pattern);
        total.failed++;
        return total;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, base);
        counts c = run_file(g.gl_pathv[i], name, verbose);
        total.passed += c.passed, total.failed += c.failed, total.skipped += c.skipped;
    }
    globfree(&g);
    return total;
}

int main(int argc, char **argv)
{
    bool verbose_optional = argc > 1 && strcmp(argv[1], "-v") == 0;
    printf("-- optional (reported, not required)\n");
    counts o = run_dir(SUITE_DIR "/optional/*.json", "optional/", verbose_optional);
    counts f = run_dir(SUITE_DIR "/optional/format/*.json", "optional/format/", verbose_optional);
    printf("optional: %d passed, %d failed (format is an annotation: its \"invalid\" cases fail "
           "by design)\n",
           o.passed + f.passed, o.failed + f.failed);
    printf("-- draft2020-12 (required)\n");
    counts r = run_dir(SUITE_DIR "/*.json", "", true);
    printf("skipped: %d\n", r.skipped);
    t_passed = r.passed;
    t_failed = r.failed;
    return test_summary();
}
