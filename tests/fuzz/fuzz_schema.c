/* fuzz_schema.c - libFuzzer target for the JSON Schema compiler and validator.
 *
 * The input is a schema and an instance separated by the first NUL byte (or, if there is none,
 * the first newline), both parsed with tight limits. The schema is compiled (a resolver serves
 * one small fixed document for any http://f/ URI so that remote-reference paths run too) and,
 * if it compiles, the instance is validated twice, fast and collecting errors, with a small
 * step budget. The two answers must agree unless the budget ran out. Anything else -- a
 * crash, a leak, a sanitizer report, a hang -- is a bug. Seed corpus: tests/fuzz/corpus/schema/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const json_limits limits = {
    .max_depth = 32, .max_string = 4096, .max_members = 2000, .max_size = 1 << 16};

static const json_value *resolve(void *ud, const char *uri, mcp_arena *arena)
{
    static const char doc[] = "{\"$id\":\"http://f/d.json\",\"type\":[\"object\",\"integer\"],"
                              "\"$defs\":{\"s\":{\"$anchor\":\"s\",\"type\":\"string\"},"
                              "\"d\":{\"$dynamicAnchor\":\"node\",\"items\":{\"$dynamicRef\":"
                              "\"#node\"}}},\"properties\":{\"n\":{\"$ref\":\"#\"}}}";
    (void)ud;
    if (strncmp(uri, "http://f/", 9) != 0) return NULL;
    return json_parse(doc, sizeof doc - 1, arena, &limits, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *sep = memchr(text, '\0', size);
    if (!sep) sep = memchr(text, '\n', size);
    size_t slen = sep ? (size_t)(sep - text) : size;
    char stack[16384];
    mcp_arena arena;
    mcp_arena_init(&arena, stack, sizeof stack);
    const json_value *schema = json_parse(text, slen, &arena, &limits, NULL);
    const json_value *inst =
        sep ? json_parse(sep + 1, size - slen - 1, &arena, &limits, NULL) : NULL;
    if (!schema) goto done;
    json_schema_options opts = {.resolve = resolve, .max_steps = 20000, .max_errors = 4};
    json_schema_error err;
    json_schema *s = json_schema_compile(schema, &opts, &err);
    if (!s) goto done;
    json_value null_value = {.type = JSON_NULL};
    if (!inst) inst = &null_value;
    json_schema_result r;
    bool fast = json_schema_validate(s, inst, NULL);
    bool full = json_schema_validate(s, inst, &r);
    if (!r.budget_exceeded && fast != full) abort();
    if (full != r.valid || (!full && r.nerrors == 0)) abort();
    char msg[512];
    json_schema_result_str(&r, msg, sizeof msg);
    json_schema_free(s);
done:
    mcp_arena_free(&arena);
    return 0;
}
