/* arena.c - bump allocation in blocks.
 *
 * Blocks are chained newest first. An allocation larger than half the next block size gets a
 * block of its own, so one big string does not waste the rest of a block. reset() keeps the
 * largest heap block, which makes a reused arena (one per connection or worker) settle at its
 * steady-state size and stop calling malloc. */
#include "base/arena.h"
#include "base/alloc.h"

#include <stdlib.h>
#include <string.h>

struct mcp_arena_block {
    mcp_arena_block *next;
    size_t size; /* usable bytes after the header */
    /* data follows, 16-aligned */
};

#define HDR ((sizeof(mcp_arena_block) + 15) & ~(size_t)15)
#define MIN_BLOCK 4096
#define MAX_BLOCK (1u << 20)

void mcp_arena_init(mcp_arena *a, void *buf, size_t size)
{
    memset(a, 0, sizeof(*a));
    a->initial = buf;
    a->initial_size = buf ? size : 0;
    a->ptr = buf;
    a->end = buf ? (char *)buf + size : NULL;
    a->next_size = MIN_BLOCK;
}

static mcp_arena_block *new_block(mcp_arena *a, size_t need)
{
    size_t size = a->next_size;
    if (need > size / 2) size = need; /* a big allocation gets its own block */
    else if (a->next_size < MAX_BLOCK) a->next_size *= 2;
    if (size > SIZE_MAX - HDR - 16) mcp_oom(size);
    mcp_arena_block *b = mcp_xmalloc(HDR + size + 16);
    b->size = size + 16;
    return b;
}

static void *slow_alloc(mcp_arena *a, size_t n, size_t align)
{
    mcp_arena_block *b = new_block(a, n + align);
    char *data = (char *)b + HDR;
    size_t rest_cur = a->ptr ? (size_t)(a->end - a->ptr) : 0;
    size_t rest_new = b->size - n;
    if (a->heap && rest_new < rest_cur) {
        /* dedicated block for a big allocation: keep bumping in the current one */
        b->next = a->heap->next;
        a->heap->next = b;
    } else {
        b->next = a->heap;
        a->heap = b;
        a->ptr = data + n;
        a->end = data + b->size;
    }
    a->total += n;
    return data;
}

bool mcp_arena_owns(const mcp_arena *a, const void *p)
{
    const char *q = p;
    if (a->initial && q >= a->initial && q < a->initial + a->initial_size) return true;
    for (const mcp_arena_block *b = a->heap; b; b = b->next) {
        const char *data = (const char *)b + HDR;
        if (q >= data && q < data + b->size) return true;
    }
    return false;
}

void *mcp_arena_alloc(mcp_arena *a, size_t n)
{
    if (a->ptr) {
        uintptr_t p = ((uintptr_t)a->ptr + 15) & ~(uintptr_t)15;
        if (p <= (uintptr_t)a->end && n <= (size_t)((uintptr_t)a->end - p)) {
            a->ptr = (char *)(p + n);
            a->total += n;
            return (void *)p;
        }
    }
    return slow_alloc(a, n, 16);
}

void *mcp_arena_alloc_unaligned(mcp_arena *a, size_t n)
{
    if (a->ptr && n <= (size_t)(a->end - a->ptr)) {
        void *p = a->ptr;
        a->ptr += n;
        a->total += n;
        return p;
    }
    return slow_alloc(a, n, 0);
}

char *mcp_arena_strndup(mcp_arena *a, const char *s, size_t n)
{
    char *d = mcp_arena_alloc_unaligned(a, n + 1);
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void mcp_arena_reset(mcp_arena *a)
{
    mcp_arena_block *keep = NULL;
    for (mcp_arena_block *b = a->heap, *next; b; b = next) {
        next = b->next;
        if (!keep || b->size > keep->size) {
            if (keep) free(keep);
            keep = b;
        } else {
            free(b);
        }
    }
    a->total = 0;
    if (keep && keep->size > a->initial_size) {
        keep->next = NULL;
        a->heap = keep;
        a->ptr = (char *)keep + HDR;
        a->end = a->ptr + keep->size;
    } else {
        free(keep);
        a->heap = NULL;
        a->ptr = a->initial;
        a->end = a->initial ? a->initial + a->initial_size : NULL;
    }
}

void mcp_arena_free(mcp_arena *a)
{
    for (mcp_arena_block *b = a->heap, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->heap = NULL;
    a->ptr = a->end = NULL;
}
