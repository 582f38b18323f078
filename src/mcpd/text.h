/* text.h - small helpers the backend kinds and the content modules share: allocation that
 * aborts on out-of-memory, error text, a growing text buffer, and taking a JSON writer's text. */
#ifndef MCPD_TEXT_H
#define MCPD_TEXT_H

#include <mcp/json.h>

#include <stddef.h>

/* calloc/strdup that abort on out-of-memory (n 0 allocates one element; s NULL copies ""). */
void *mcpd_xcalloc(size_t n, size_t size);
char *mcpd_xstrdup(const char *s);

/* Formats into err[errsize] (err NULL or errsize 0: nothing) and returns -1, for
 * `return mcpd_seterr(err, errsize, "...", ...);`. */
int mcpd_seterr(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A growing, NUL-terminated text buffer; zero-initialise it, free p when done. */
typedef struct mcpd_sbuf {
    char *p;
    size_t len, cap;
} mcpd_sbuf;

void mcpd_sb_put(mcpd_sbuf *b, const char *s, size_t n);
void mcpd_sb_str(mcpd_sbuf *b, const char *s);
/* Returns the text (malloc'd, "" if empty) and empties b. */
char *mcpd_sb_take(mcpd_sbuf *b);

/* Returns a new writer that has written {"type":"object","properties":{ (a schema whose
 * properties come next). */
mcp_jw *mcpd_jw_object_schema(void);

/* Returns a malloc'd copy of the writer's text, or of fallback if the writer failed, and frees
 * the writer. */
char *mcpd_jw_take(mcp_jw *w, const char *fallback);

#endif
