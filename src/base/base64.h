/* base64.h - RFC 4648 base64, standard and URL-safe, with strict decoding.
 *
 * Two dialects, chosen by the url flag:
 *   url=false: alphabet A-Z a-z 0-9 + /, padded with '=' to a multiple of 4 characters.
 *   url=true:  alphabet A-Z a-z 0-9 - _, no padding (the JWT / MCP token convention).
 * Decoding is strict, because decoded bytes are often authenticated and two spellings of the
 * same bytes would let a token be altered without detection: it refuses characters outside
 * the dialect's alphabet (whitespace included), missing or stray padding, a length that no
 * encoding can have, and non-zero unused bits in the last character (RFC 4648 section 3.5).
 * Pure functions on caller memory: any thread. */
#ifndef MCP_BASE_BASE64_H
#define MCP_BASE_BASE64_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>

/* Returns the number of characters encoding n bytes takes in the given dialect. */
static inline size_t mcp_base64_encoded_len(size_t n, bool url)
{
    return url ? n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) : (n + 2) / 3 * 4;
}

/* Appends the encoding of p[0..n) to out (no NUL). On out's cap, appends nothing and sets
 * out->overflow, like every mcp_buf append. */
void mcp_base64_encode(mcp_buf *out, const void *p, size_t n, bool url);

/* Appends the bytes that s[0..n) encodes to out. Returns 0; -EINVAL when s is not a valid
 * encoding in the dialect (see above); -ENOBUFS when out's cap is reached. On error out->len is
 * as before the call (bytes past it may have been written). */
int mcp_base64_decode(mcp_buf *out, const char *s, size_t n, bool url);

#endif
