/* ptmpl.h - prompt templates: a small text syntax with no code in it.
 *
 *   {{name}}                 the value of argument name ("" when it was not given)
 *   {{#name}} ... {{/name}}  the part between, only when name was given and is not empty
 *   {{^name}} ... {{/name}}  the part between, only when name is absent or empty
 *   {{@user}} {{@assistant}} starts a new message with that role (the first one is "user")
 *   {{! anything }}          a comment, dropped
 *   \{{                      a literal "{{"
 *
 * Spaces inside the braces are allowed ({{ name }}). Names must be declared arguments: a
 * template that uses an undeclared name, leaves a section open or closes the wrong one is
 * refused when it is compiled, with its line and column. Values are inserted as they are and
 * never read as template text again, so an argument cannot inject tags. Sections nest up to 8
 * deep and may not contain a role tag.
 *
 * A compiled template is immutable: render from any number of threads at once. */
#ifndef MCPD_PTMPL_H
#define MCPD_PTMPL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ptmpl ptmpl;

/* Compiles text[0..len) against the declared argument names. Returns the template, or NULL
 * with "LINE:COLUMN: reason" in err (e.g. "3:14: unknown argument 'langauge' (declared:
 * code, language)"). Free with ptmpl_free. */
ptmpl *ptmpl_compile(const char *text, size_t len, const char *const *names, size_t nnames,
                     char *err, size_t errsize);
void ptmpl_free(ptmpl *t);

/* Receives each message of a rendering: role "user" or "assistant", text[0..len) (not
 * NUL-terminated), white space at both ends trimmed; empty messages are skipped. */
typedef void (*ptmpl_message_fn)(const char *role, const char *text, size_t len, void *ud);

/* Renders with values[i] for names[i] of the compile call (NULL: not given). Returns 0, or -1
 * if the text would pass max_bytes (nothing is emitted then). */
int ptmpl_render(const ptmpl *t, const char *const *values, size_t max_bytes, ptmpl_message_fn fn,
                 void *ud);

#endif
