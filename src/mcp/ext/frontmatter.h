/* frontmatter.h - SKILL.md frontmatter (YAML, read with libyaml) rendered as a JSON object.
 * Private to the skills extension and its tests and fuzz target. */
#ifndef MCP_EXT_FRONTMATTER_H
#define MCP_EXT_FRONTMATTER_H

#include <stddef.h>

#include "base/buf.h"

#define FM_MAX_BYTES (64u << 10) /* of the block between the two '---' lines */
#define FM_MAX_DEPTH 16          /* nested maps and lists */
#define FM_MAX_KEYS  64          /* per map */
#define FM_MAX_NODES 4096        /* scalars, maps and lists in all */

/* The result of reading one SKILL.md. name and description are the top-level string values of
 * those keys (NULL when absent or not strings), malloc'd: the caller frees them (also after an
 * error). */
typedef struct fm_result {
    char *name, *description;
} fm_result;

/* Reads the frontmatter at the start of md[0..len) (md need not be NUL-terminated) and appends
 * it to json as one JSON object. Checks that name and description are there and well-formed.
 * Returns 0, or MCP_EINVAL with a reason in err[errsize] ("SKILL.md: line 4: ..."); json may
 * then hold a partial object. Any thread; no shared state. */
int fm_parse(const char *md, size_t len, mcp_buf *json, fm_result *out, char *err, size_t errsize);

#endif
