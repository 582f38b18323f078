/* random.c - thin wrappers over RAND_bytes: chunking to its int length, one failure policy.
 *
 * mcp_random_bytes reports failure, for callers that can answer an error (sealing a token).
 * mcp_random_token aborts instead, because its callers mint identifiers that must not be
 * predictable and have no sensible fallback. Both draw from OpenSSL's per-thread public DRBG;
 * no lock of ours is involved. mcp_random_small serves small ids from a per-thread pool. */
#include "base/random.h"
#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define POOL_SIZE 1024

static _Thread_local unsigned char pool[POOL_SIZE];
static _Thread_local size_t pool_left; /* unused bytes at the end of pool */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void pool_forget(void)
{
    OPENSSL_cleanse(pool, sizeof pool);
    pool_left = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, pool_forget); /* the child must not repeat the parent's ids */
}

int mcp_random_small(void *p, size_t n)
{
    if (n > 64) return mcp_random_bytes(p, n);
    pthread_once(&atfork_once, register_atfork);
    if (pool_left < n) {
        if (mcp_random_bytes(pool, sizeof pool) < 0) return -EIO;
        pool_left = sizeof pool;
    }
    unsigned char *src = pool + sizeof pool - pool_left;
    memcpy(p, src, n);
    OPENSSL_cleanse(src, n);
    pool_left -= n;
    return 0;
}

void mcp_random_token(char *out, size_t nbytes)
{
    unsigned char small[64];
    unsigned char *raw = nbytes <= sizeof small ? small : mcp_xmalloc(nbytes);
    if (mcp_random_small(raw, nbytes) < 0) {
        fprintf(stderr, "libmcp: fatal: no random bytes for a token\n");
        abort();
    }
    size_t size = MCP_RANDOM_TOKEN_SIZE(nbytes);
    mcp_buf b;
    mcp_buf_init(&b, out, size, size); /* writes straight into out; the cap cannot be hit */
    mcp_base64_encode(&b, raw, nbytes, true);
    out[b.len] = '\0';
    if (raw != small) free(raw);
}
