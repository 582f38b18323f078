/* fuzz_params.c - libFuzzer target for a tool's compact parameter list (src/mcp/params.c).
 *
 * The input, NUL-terminated, is read as mcp_tool_def.params. Whatever is accepted must be a
 * JSON Schema that parses, is an object with "type": "object", and compiles; whatever is
 * refused must say where and why in a "params: at offset N: " message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "json/json.h"
#include "json/schema.h"
#include "mcp/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_params: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (64u << 10)) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256] = "";
    char *schema = params_to_schema(text, err, sizeof err);
    if (!schema) {
        check(!strncmp(err, "params: ", 8), "a refusal without a reason");
    } else {
        mcp_arena a;
        mcp_arena_init(&a, NULL, 0);
        json_value *v = json_parse(schema, strlen(schema), &a, NULL, NULL);
        check(v && v->type == JSON_OBJECT, "the schema is not a JSON object");
        const json_value *t = json_get(v, "type");
        check(json_is_string(t) && !strcmp(t->u.str, "object"), "not an object schema");
        json_schema_error se;
        json_schema *s = json_schema_compile(v, NULL, &se);
        check(s != NULL, "the schema does not compile");
        json_schema_free(s);
        mcp_arena_free(&a);
        free(schema);
    }
    free(text);
    return 0;
}
