/* args_schema.h - a tool's input schema from a config entry's "arguments" object.
 *
 * Kinds declare arguments the same way: "arguments": {"name": {JSON Schema of the value, plus
 * the kind's own keys such as "optional"}}. This writes the tool's input schema from them:
 * every argument a property (its schema without mcpd's keys), required unless "optional": true
 * or it has an exec "flag" (absent: the flag is left out),
 * no other properties allowed. */
#ifndef MCPD_ARGS_SCHEMA_H
#define MCPD_ARGS_SCHEMA_H

#include <mcp/json.h>

#include <stddef.h>

/* Returns the input schema text (malloc'd; the caller frees it). `own` lists nown keys that
 * are mcpd's, not JSON Schema ("optional" always is). args may be NULL (no arguments). */
char *mcpd_args_schema(const mcp_json *args, const char *const *own, size_t nown);

#endif
