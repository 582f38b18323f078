/* text.c - the shared helpers of text.h: aborting allocation, a text buffer, writer text. */
#include "mcpd/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *mcpd_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

char *mcpd_xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) abort();
    return d;
}

int mcpd_seterr(char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void mcpd_sb_put(mcpd_sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void mcpd_sb_str(mcpd_sbuf *b, const char *s)
{
    mcpd_sb_put(b, s, strlen(s));
}

char *mcpd_sb_take(mcpd_sbuf *b)
{
    char *p = b->p ? b->p : mcpd_xstrdup("");
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

char *mcpd_jw_take(mcp_jw *w, const char *fallback)
{
    const char *t = mcp_jw_text(w, NULL);
    char *out = mcpd_xstrdup(t ? t : fallback);
    mcp_jw_free(w);
    return out;
}

mcp_jw *mcpd_jw_object_schema(void)
{
    mcp_jw *w = mcp_jw_new();
    mcp_jw_object(w);
    mcp_jw_key(w, "type");
    mcp_jw_string(w, "object");
    mcp_jw_key(w, "properties");
    mcp_jw_object(w);
    return w;
}
