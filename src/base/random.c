/* random.c - thin wrappers over RAND_bytes: chunking to its int length, one failure policy.
 *
 * mcp_random_bytes reports failure, for callers that can answer an error (sealing a token).
 * mcp_random_token aborts instead, because its callers mint identifiers that must not be
 * predictable and have no sensible fallback. Both draw from OpenSSL's per-thread public DRBG;
 * no lock of ours is involved. */
#include "base/random.h"
#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

int mcp_random_bytes(void *p, size_t n)
{
    unsigned char *d = p;
    for (size_t left = n; left;) {
        int chunk = left > INT_MAX ? INT_MAX : (int)left;
        if (RAND_bytes(d, chunk) != 1) {
            OPENSSL_cleanse(p, n); /* never hand out a half-random buffer */
            return -EIO;
        }
        d += chunk;
        left -= (size_t)chunk;
    }
    return 0;
}

void mcp_random_token(char *out, size_t nbytes)
{
    unsigned char small[64];
    unsigned char *raw = nbytes <= sizeof small ? small : mcp_xmalloc(nbytes);
    if (mcp_random_bytes(raw, nbytes) < 0) {
        fprintf(stderr, "mcpd: fatal: no random bytes for a token\n");
        abort();
    }
    size_t size = MCP_RANDOM_TOKEN_SIZE(nbytes);
    mcp_buf b;
    mcp_buf_init(&b, out, size, size); /* writes straight into out; the cap cannot be hit */
    mcp_base64_encode(&b, raw, nbytes, true);
    out[b.len] = '\0';
    if (raw != small) free(raw);
}
