/* prompt.h - one MCP prompt served from a template (ptmpl.h), with declared arguments and
 * completion values.
 *
 * prompts/get checks each given argument against a size cap, renders the template with them
 * and answers its messages; completion/complete offers the argument's declared values that
 * start with what the user typed (case-insensitively), at most 100, with the total.
 *
 * Threads: prompt_new and prompt_free from one thread; the handlers run on any. */
#ifndef MCPD_PROMPT_H
#define MCPD_PROMPT_H

#include <mcp/mcp.h>

#include <stdbool.h>
#include <stddef.h>

typedef struct prompt_arg_cfg {
    const char *name; /* required: letters, digits, '_', '-', '.' */
    const char *title;
    const char *description;
    bool required;
    const char *const *completions; /* values offered by completion/complete */
    size_t ncompletions;
} prompt_arg_cfg;

typedef struct prompt_cfg {
    const char *name; /* required */
    const char *title;
    const char *description;
    const char *text; /* the template, text[0..len) */
    size_t len;
    const prompt_arg_cfg *args;
    size_t nargs;
    size_t max_arg_bytes; /* an argument value longer is refused; default 65536 */
    size_t max_bytes;     /* a rendering longer is refused; default 1 MiB */
} prompt_cfg;

typedef struct prompt prompt;

/* Checks the definition and compiles the template, registering nothing yet. Returns the
 * prompt, or NULL with the reason in err: "LINE:COLUMN: ..." for template mistakes, else what
 * was wrong. */
prompt *prompt_new(mcp_server *s, const prompt_cfg *c, char *err, size_t errsize);
/* Registers it in s, replacing the registration of an earlier prompt of the same name (as a
 * reload does). Returns 0, or -1 with the reason in err. */
int prompt_activate(prompt *p, char *err, size_t errsize);
/* Unregisters it (unless a newer prompt of the same name took over) and frees it. NULL is
 * fine. */
void prompt_free(prompt *p);

#endif
