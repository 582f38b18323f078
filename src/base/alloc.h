/* alloc.h - the one allocation wrapper: aborts on out-of-memory.
 *
 * Every size that comes from outside is capped before it reaches these functions, so
 * running out of memory here is a bug or a dying machine, never a client's doing; we abort
 * with a message rather than thread a failure path through every caller.
 * Thread-safe (plain malloc underneath). */
#ifndef MCP_BASE_ALLOC_H
#define MCP_BASE_ALLOC_H

#include <stddef.h>

/* Returns n bytes (n may be 0: a unique non-NULL pointer). Free with free(). */
void *mcp_xmalloc(size_t n);
/* Returns n*size zeroed bytes; aborts on overflow of n*size. Free with free(). */
void *mcp_xcalloc(size_t n, size_t size);
/* Resizes p to n bytes, like realloc; never returns NULL. */
void *mcp_xrealloc(void *p, size_t n);
/* Returns a malloc'd NUL-terminated copy of the n bytes at s. Free with free(). */
char *mcp_xstrndup(const char *s, size_t n);
/* Prints "libmcp: fatal: out of memory" with the size to stderr and aborts. */
_Noreturn void mcp_oom(size_t n);

#endif
