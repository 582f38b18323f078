/* schema.h - JSON Schema 2020-12 validation, compiled once, run many times.
 *
 * A schema (a DOM from json_parse) is compiled when a tool is registered: keywords are checked
 * and turned into a flat program, patterns are compiled with PCRE2 once, $refs are resolved
 * (local JSON pointers, $anchor, $id-relative URIs). A bad schema is reported at compile time
 * with the schema location ("/properties/age/minimum: expected a number"). A $ref to a
 * document that is not in the schema is never fetched: it is a compile error, unless the
 * caller supplies a resolver (tests use one to serve the suite's remotes/).
 *
 * Validation reads the compiled schema only, so one compiled schema may validate from many
 * threads at once. Errors name the instance path (RFC 6901, "/items/2/name"), the schema
 * keyword location and the expectation, so a client can fix its call. Work is bounded: a step
 * budget and a $ref depth limit stop hostile schema/instance pairs (recursive refs, wide
 * oneOf fan-out) with an error instead of running without end. */
#ifndef MCP_JSON_SCHEMA_H
#define MCP_JSON_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json/json.h"

typedef struct json_schema json_schema;

/* Supplies the document for an absolute URI not defined inside the schema (tests only).
 * uri has no fragment. arena is compile-time scratch, freed when json_schema_compile returns:
 * parse into it. Returns a DOM that must stay alive until json_schema_compile returns (what is
 * needed is copied), or NULL if unknown. Called at most once per URI per compile. Also asked
 * for a root "$schema" other than the 2020-12 metaschema, whose "$vocabulary" is honoured. */
typedef const json_value *(*json_schema_resolver)(void *ud, const char *uri, mcp_arena *arena);

typedef struct json_schema_options {
    json_schema_resolver resolve; /* NULL: any remote $ref is a compile error */
    void *resolve_ud;
    uint64_t max_steps;  /* validation step budget per instance; default 1 000 000 */
    uint32_t max_errors; /* errors collected per validation; default and maximum 8 */
} json_schema_options;

typedef struct json_schema_error {
    char instance_path[256]; /* JSON pointer into the instance, "" for the root */
    char schema_path[256];   /* keyword location in the schema, e.g. "/properties/a/type" */
    char msg[256];           /* e.g. "expected integer, got string" */
} json_schema_error;

typedef struct json_schema_result {
    bool valid;
    bool budget_exceeded; /* validation stopped: too much work; counts as invalid */
    uint32_t nerrors;     /* errors stored (at most max_errors) */
    json_schema_error errors[8];
} json_schema_result;

/* Compiles schema (an object or a boolean). opts may be NULL. Returns a schema to free with
 * json_schema_free, or NULL with *err filled (schema_path = where, msg = what). The schema DOM
 * may be freed after this returns: everything needed is copied. Any thread. */
json_schema *json_schema_compile(const json_value *schema, const json_schema_options *opts,
                                 json_schema_error *err);

/* Validates instance (NULL is validated as JSON null). Returns true if valid. res may be NULL
 * (faster: stops at the first error). Reads s only: safe from many threads at once. Allocates
 * nothing unless the schema uses unevaluatedProperties/Items on an instance of more than 128
 * members/items, or uniqueItems meets an array of more than 16 items. Uses up to about 0.5 MB
 * of stack in the worst case (1024 nested schema evaluations); typically a few KB. */
bool json_schema_validate(const json_schema *s, const json_value *instance,
                          json_schema_result *res);

/* Formats the first error of res as "<instance path>: <msg> (at <schema path>)" into
 * out[size]. Returns out. */
const char *json_schema_result_str(const json_schema_result *res, char *out, size_t size);

void json_schema_free(json_schema *s);

#endif
