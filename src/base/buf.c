/* buf.c - growable buffer: doubling growth, a cap, and a sticky overflow flag. */
#include "base/buf.h"
#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void mcp_buf_init(mcp_buf *b, void *stack, size_t size, size_t max)
{
    b->data = stack;
    b->len = 0;
    b->cap = stack ? size : 0;
    b->max = max ? max : (size_t)-1;
    b->overflow = false;
    b->owned = false;
}

void mcp_buf_free(mcp_buf *b)
{
    if (b->owned) free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->owned = false;
}

int mcp_buf_reserve_slow(mcp_buf *b, size_t n)
{
    if (b->overflow) return -1;
    if (n > b->max || b->len > b->max - n) {
        b->overflow = true;
        return -1;
    }
    size_t need = b->len + n;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    if (cap > b->max) cap = b->max;
    if (b->owned) {
        b->data = mcp_xrealloc(b->data, cap);
    } else {
        char *d = mcp_xmalloc(cap);
        if (b->len) memcpy(d, b->data, b->len);
        b->data = d;
        b->owned = true;
    }
    b->cap = cap;
    return 0;
}

void mcp_buf_append_slow(mcp_buf *b, const void *p, size_t n)
{
    if (mcp_buf_reserve_slow(b, n) < 0) return;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

void mcp_buf_printf(mcp_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        mcp_buf_append(b, small, (size_t)n);
        return;
    }
    if (mcp_buf_reserve(b, (size_t)n + 1) < 0) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *mcp_buf_steal(mcp_buf *b, size_t *len)
{
    /* The terminator is not content: it fits even when the cap (or overflow) was reached.
     * Heap memory with room is handed over as is (no copy on the response path). */
    char *s;
    if (b->owned && b->len < b->cap) {
        s = b->data;
    } else {
        s = mcp_xmalloc(b->len + 1);
        if (b->len) memcpy(s, b->data, b->len);
        if (b->owned) free(b->data);
    }
    s[b->len] = '\0';
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    b->owned = b->overflow = false;
    return s;
}

void mcp_buf_put_u64(mcp_buf *b, uint64_t v)
{
    char d[20], *p = d + sizeof d;
    do *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    mcp_buf_append(b, p, (size_t)(d + sizeof d - p));
}

void mcp_buf_put_i64(mcp_buf *b, int64_t v)
{
    if (v < 0) mcp_buf_putc(b, '-');
    /* the magnitude in unsigned arithmetic: INT64_MIN needs no special case */
    mcp_buf_put_u64(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

void mcp_buf_put_hex(mcp_buf *b, uint64_t v)
{
    char d[16], *p = d + sizeof d;
    do *--p = "0123456789abcdef"[v & 15];
    while ((v >>= 4) != 0);
    mcp_buf_append(b, p, (size_t)(d + sizeof d - p));
}
