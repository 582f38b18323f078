/* buf.h - growable byte buffer with a hard cap.
 *
 * Output (JSON, HTTP responses) is built in an mcp_buf. The cap bounds what one response may
 * use; going past it does not allocate further but sets a sticky error flag that the caller
 * checks once at the end, so writers need no error check per byte.
 *
 * A buffer belongs to one thread at a time. */
#ifndef MCP_BASE_BUF_H
#define MCP_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct mcp_buf {
    char *data;    /* heap memory, or the caller's initial block */
    size_t len;    /* bytes used */
    size_t cap;    /* bytes available in data */
    size_t max;    /* hard cap on len; 0 means SIZE_MAX */
    bool overflow; /* set when an append was refused for the cap */
    bool owned;    /* data is heap memory owned by the buffer */
} mcp_buf;

/* Initializes b, empty, with an optional caller block (stack[size], may be NULL) and a cap
 * (0: none). Never fails. */
void mcp_buf_init(mcp_buf *b, void *stack, size_t size, size_t max);
/* Frees heap memory owned by b; b may be re-initialized afterwards. */
void mcp_buf_free(mcp_buf *b);
/* Makes room for n more bytes. Returns 0, or -1 (and sets overflow) past the cap. */
int mcp_buf_reserve_slow(mcp_buf *b, size_t n);
/* Appends. On a cap overflow nothing is appended and b->overflow is set. */
void mcp_buf_append_slow(mcp_buf *b, const void *p, size_t n);
/* Appends printf-formatted text (same cap rules). */
void mcp_buf_printf(mcp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the bytes as a heap string the caller frees (NUL-terminated, also when the cap was
 * reached: the terminator does not count against it); b becomes empty. */
char *mcp_buf_steal(mcp_buf *b, size_t *len);

static inline int mcp_buf_reserve(mcp_buf *b, size_t n)
{
    if (b->cap - b->len >= n) return 0;
    return mcp_buf_reserve_slow(b, n);
}

static inline void mcp_buf_append(mcp_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len >= n) {
        if (n) memcpy(b->data + b->len, p, n);
        b->len += n;
        return;
    }
    mcp_buf_append_slow(b, p, n);
}

static inline void mcp_buf_putc(mcp_buf *b, char c)
{
    if (b->len < b->cap) {
        b->data[b->len++] = c;
        return;
    }
    mcp_buf_append_slow(b, &c, 1);
}

static inline void mcp_buf_puts(mcp_buf *b, const char *s)
{
    mcp_buf_append(b, s, strlen(s));
}

/* Appends v in decimal (same cap rules); no printf on hot paths. */
void mcp_buf_put_u64(mcp_buf *b, uint64_t v);
void mcp_buf_put_i64(mcp_buf *b, int64_t v);
/* Appends v in lowercase hexadecimal without leading zeros ("0" for 0). */
void mcp_buf_put_hex(mcp_buf *b, uint64_t v);

#endif
