/* arena.h - bump allocator for per-request memory, freed all at once.
 *
 * A request's JSON DOM, decoded strings and scratch space live in one arena and are released
 * together when the request ends: no per-node free, no leaks by construction. An arena may start
 * on caller-provided memory (a stack buffer) so that small requests make no malloc at all;
 * further blocks come from the heap and grow geometrically.
 *
 * An arena belongs to one thread at a time; it has no locking. */
#ifndef MCP_BASE_ARENA_H
#define MCP_BASE_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mcp_arena_block mcp_arena_block;

typedef struct mcp_arena {
    char *ptr;              /* next free byte in the current block */
    char *end;              /* end of the current block */
    mcp_arena_block *heap;  /* heap blocks, newest first (freed by reset/free) */
    size_t next_size;       /* size of the next heap block */
    size_t total;           /* bytes handed out so far (for accounting) */
    char *initial;          /* caller-provided first block, reused on reset */
    size_t initial_size;
} mcp_arena;

/* Initializes a on the optional caller block buf[size] (buf may be NULL). Never fails. */
void mcp_arena_init(mcp_arena *a, void *buf, size_t size);
/* Returns n bytes aligned to 16, valid until reset/free. Aborts only on OOM. */
void *mcp_arena_alloc(mcp_arena *a, size_t n);
/* Returns n bytes with no alignment guarantee (for strings). */
void *mcp_arena_alloc_unaligned(mcp_arena *a, size_t n);
/* Returns a NUL-terminated copy of s[0..n) in the arena. */
char *mcp_arena_strndup(mcp_arena *a, const char *s, size_t n);
/* Whether p points into memory a has handed out (its caller block or a heap block). */
bool mcp_arena_owns(const mcp_arena *a, const void *p);
/* Releases every heap block but the largest and rewinds: the arena is ready for reuse. */
void mcp_arena_reset(mcp_arena *a);
/* Releases every heap block. The arena must be re-initialized before reuse. */
void mcp_arena_free(mcp_arena *a);

static inline void *mcp_arena_alloc_fast(mcp_arena *a, size_t n)
{
    uintptr_t p = ((uintptr_t)a->ptr + 15) & ~(uintptr_t)15;
    if (n <= (size_t)((uintptr_t)a->end - p) && p <= (uintptr_t)a->end) {
        a->ptr = (char *)(p + n);
        a->total += n;
        return (void *)p;
    }
    return mcp_arena_alloc(a, n);
}

#endif
