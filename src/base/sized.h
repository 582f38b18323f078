/* sized.h - copying a struct whose size the caller's header gave (docs/abi.md).
 *
 * Public functions that take a growable struct receive its size as the caller's compiler saw
 * it (the header's macros pass sizeof). The struct is copied into a zeroed one of the size
 * this libmcp knows: an older caller's missing tail reads as zero (the defaults); a newer
 * caller's extra tail must be zero, since a field this libmcp would ignore must not be
 * dropped silently. */
#ifndef MCP_BASE_SIZED_H
#define MCP_BASE_SIZED_H

#include <stddef.h>
#include <string.h>

/* Copies src (src_size bytes, may be NULL: all zero) into dst[dst_size]. Returns 0, or -1 if
 * src sets a byte beyond dst_size. */
static inline int copy_sized(void *dst, size_t dst_size, const void *src, size_t src_size)
{
    memset(dst, 0, dst_size);
    if (!src) return 0;
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
    for (size_t i = dst_size; i < src_size; i++)
        if (((const unsigned char *)src)[i]) return -1;
    return 0;
}

/* The reason given for copy_sized's -1, with the struct's name. */
#define SIZED_TOO_NEW(type)                                                                        \
    type ": sets a field this libmcp " MCP_VERSION_STRING " does not know (built against a "       \
         "newer <mcp/mcp.h>)"

#endif
