/* spare.h - a per-thread spare block per kind of fixed-size object.
 *
 * Objects made and freed once per request (an engine ctx with its first arena block, a
 * transport's stream) are bigger than glibc's per-thread cache takes (1 KiB), so each malloc
 * and free of them goes through the arena bins. A thread that frees one keeps it as its spare
 * of that kind and the next make on the same thread takes it back: no allocator call at all
 * in the steady state of a loop thread that makes and frees one per request. At most one block
 * per kind and thread is kept; a thread's spares are freed when it exits. Under
 * AddressSanitizer nothing is kept, so that a use after free is still caught.
 * Every function may be called from any thread. */
#ifndef MCP_BASE_SPARE_H
#define MCP_BASE_SPARE_H

#include <stddef.h>

/* The kinds: each is always used with the same block size. */
enum { MCP_SPARE_CTX, MCP_SPARE_STREAM, MCP_SPARE_KINDS };

/* Returns the calling thread's spare block of kind (its contents undefined), or a new block of
 * size bytes. Never NULL. Give it back with mcp_spare_put (or free()). */
void *mcp_spare_take(int kind, size_t size);

/* Keeps p (a block of kind's size from mcp_spare_take or malloc) as the calling thread's spare
 * of kind, or frees it when one is kept already. p may be NULL. */
void mcp_spare_put(int kind, void *p);

#endif
