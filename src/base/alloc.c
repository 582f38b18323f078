/* alloc.c - allocation that cannot fail: one place decides what out-of-memory does. */
#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void mcp_oom(size_t n)
{
    fprintf(stderr, "libmcp: fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *mcp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) mcp_oom(n);
    return p;
}

void *mcp_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) mcp_oom(n * size);
    return p;
}

void *mcp_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) mcp_oom(n);
    return q;
}

char *mcp_xstrndup(const char *s, size_t n)
{
    char *d = mcp_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
