/* yaml_json.h - a YAML document as JSON text (for OpenAPI files written in YAML). */
#ifndef MCPD_YAML_JSON_H
#define MCPD_YAML_JSON_H

#include <mcp/json.h>

#include <stddef.h>

/* Converts the first YAML document in text[0..len) to compact JSON text (malloc'd; the caller
 * frees it). Returns NULL with the reason in err[errsize] (e.g. "line 4, column 3: found
 * character that cannot start any token"); anchors and aliases are refused. Any thread. */
char *mcpd_yaml_to_json(const char *text, size_t len, char *err, size_t errsize);

#endif
