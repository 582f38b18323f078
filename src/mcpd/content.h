/* content.h - the config sections "resources" and "prompts" of mcpd.
 *
 * Each section is an array in the config file; the core (config.c) hands it over whole with
 * its JSON Pointer ("/resources"), like a tool entry to a kind (kind.h): configure reads it,
 * records every mistake with mcpd_err at a pointer below the section's, and prepares what it
 * describes; activate (once the whole config is known to be good) makes it the one serving,
 * and free unregisters it. On a reload the new section is configured and activated before the
 * old instance is freed; what both serve stays registered throughout (mount.h), so a reload
 * never makes a resource or prompt vanish for a moment, and a reload that fails (here or in
 * another section) leaves the old one serving untouched once the new instance is freed.
 *
 * "resources": [ { "name": "docs", "path": "docs",            (required; path relative to
 *                                                               the config file's directory)
 *                  "uri_prefix": "file:///docs/",              (default file:///<name>/)
 *                  "description": "...", "max_file_bytes": 1048576, "max_files": 10000,
 *                  "max_depth": 16, "include_hidden": false, "watch": true, "template": true,
 *                  "mime": { "tpl": "text/plain" } } ]
 * "prompts":   [ { "name": "review", "title": "...", "description": "...",
 *                  "file": "prompts/review.md" | "text": "inline template",   (exactly one)
 *                  "arguments": [ { "name": "code", "title": "...", "description": "...",
 *                                   "required": true, "completions": ["c", "python"] } ],
 *                  "max_bytes": 1048576 } ]
 * The template syntax is in ptmpl.h and docs/mcpd.md.
 *
 * Threads: main thread (as kind configure and free). */
#ifndef MCPD_CONTENT_H
#define MCPD_CONTENT_H

#include "kind.h"

/* JSON Schemas (2020-12) of the two sections, for the config's schema. */
extern const char mcpd_resources_schema[];
extern const char mcpd_prompts_schema[];

/* Configures the "resources" section (an array). Returns 0 and the instance in *inst, or -1
 * after recording every mistake (nothing is then registered). */
int mcpd_resources_configure(const mcpd_env *env, const mcp_json *section, const char *pointer,
                             mcpd_errs *errs, void **inst);
void mcpd_resources_activate(void *inst);
void mcpd_resources_free(void *inst);

/* Configures the "prompts" section (an array); as above. */
int mcpd_prompts_configure(const mcpd_env *env, const mcp_json *section, const char *pointer,
                           mcpd_errs *errs, void **inst);
/* Registers the prompts (replacing those of the same names). Returns 0, or -1 after recording
 * why (a definition libmcp refused). */
int mcpd_prompts_activate(void *inst, mcpd_errs *errs);
void mcpd_prompts_free(void *inst);

#endif
