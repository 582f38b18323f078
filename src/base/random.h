/* random.h - cryptographically strong random bytes and tokens (OpenSSL's DRBG).
 *
 * Everything unguessable comes from here: nonces, keys, session ids. OpenSSL 3 keeps a DRBG
 * per thread and reseeds after fork, so these are safe from any thread, in any process. */
#ifndef MCP_BASE_RANDOM_H
#define MCP_BASE_RANDOM_H

#include <stddef.h>

/* Bytes of buffer mcp_random_token needs for nbytes of randomness: base64url, no padding,
 * plus the NUL. */
#define MCP_RANDOM_TOKEN_SIZE(nbytes) ((nbytes) / 3 * 4 + ((nbytes) % 3 ? (nbytes) % 3 + 1 : 0) + 1)

/* Fills p[0..n) with random bytes. Returns 0, or -EIO if the RNG failed (no entropy source);
 * p is then cleared. Any thread. */
int mcp_random_bytes(void *p, size_t n);

/* Like mcp_random_bytes for small n (ids: at most 64 bytes), from a per-thread pool of DRBG
 * output refilled 1 KiB at a time: one RAND_bytes call costs about 8k instructions whatever
 * its size, which was a tenth of a whole legacy session's cost. Bytes handed out are wiped
 * from the pool; a forked child starts with an empty pool. Returns 0 or -EIO. Any thread. */
int mcp_random_small(void *p, size_t n);

/* Writes nbytes random bytes as base64url without padding (alphabet A-Z a-z 0-9 - _), NUL
 * terminated, to out, which must hold MCP_RANDOM_TOKEN_SIZE(nbytes) bytes. Use nbytes >= 16
 * (128 bits) for anything that grants access, like session ids. Aborts if the RNG fails: a
 * guessable id is worse than no server. Any thread. */
void mcp_random_token(char *out, size_t nbytes);

#endif
