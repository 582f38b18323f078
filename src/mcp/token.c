/* token.c - the engine's sealed tokens (cursors, requestState) and SHA-256 digests.
 *
 * A thin layer over base/seal.h: a token is mcp_seal(payload) with the purpose ("cursor",
 * "requestState") authenticated, so a token minted for one purpose cannot be replayed as
 * another, and an expiry on the wall clock (tokens cross processes). The key comes from the
 * server's secret (HKDF-SHA256) or is random per process. Opening says which check failed.
 * Any thread. */
#include "mcp/token.h"

#include "mcp/registry.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/base64.h"
#include "base/seal.h"

int64_t token_clock_skew_s; /* tests move the clock with it */

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)((int64_t)tv.tv_sec + token_clock_skew_s) * 1000u +
           (uint64_t)tv.tv_usec / 1000u;
}

void token_random_key(uint8_t key[32])
{
    mcp_seal_key k;
    if (mcp_seal_key_init_random(&k) < 0) abort();
    memcpy(key, k.bytes, 32);
    mcp_seal_key_clear(&k);
}

int token_derive_key(const void *secret, size_t len, uint8_t key[32])
{
    mcp_seal_key k;
    if (mcp_seal_key_from_secret(&k, secret, len) < 0) return -1;
    memcpy(key, k.bytes, 32);
    mcp_seal_key_clear(&k);
    return 0;
}

void token_digest_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

long token_b64_decode(const char *s, size_t n, void *out)
{
    mcp_buf b;
    mcp_buf_init(&b, out, n + 1, n + 1);
    if (mcp_base64_decode(&b, s, n, false) < 0) return -1;
    return (long)b.len;
}

int token_seal(mcp_server *s, const char *purpose, const void *data, size_t len, uint32_t ttl_s,
               mcp_buf *out)
{
    mcp_seal_key k;
    memcpy(k.bytes, s->key, sizeof k.bytes);
    uint64_t exp = ttl_s ? now_ms() + (uint64_t)ttl_s * 1000u : 0;
    int rc = mcp_seal(&k, data, len, exp, purpose, out);
    mcp_seal_key_clear(&k);
    return rc < 0 ? -1 : 0;
}

static const char *open_reason(int rc)
{
    switch (rc) {
    case MCP_SEAL_EMALFORMED:
        return "malformed";
    case MCP_SEAL_EFORGED:
        return "tampered, or sealed by another server or for another use";
    case MCP_SEAL_EEXPIRED:
        return "expired";
    case MCP_SEAL_ETOOBIG:
        return "too long";
    default:
        return mcp_seal_strerror(rc);
    }
}

void *token_open(mcp_server *s, const char *purpose, const char *tok, size_t len, mcp_arena *a,
                 size_t *out_len, char *err, size_t errsize)
{
    mcp_seal_key k;
    memcpy(k.bytes, s->key, sizeof k.bytes);
    char *plain = mcp_arena_alloc(a, len + 1); /* the plaintext is shorter than its token */
    mcp_buf b;
    mcp_buf_init(&b, plain, len + 1, len + 1);
    int rc = mcp_unseal(&k, tok, len, purpose, now_ms(), &b);
    mcp_seal_key_clear(&k);
    if (rc < 0) {
        if (err && errsize) snprintf(err, errsize, "%s", open_reason(rc));
        return NULL;
    }
    plain[b.len] = '\0';
    *out_len = b.len;
    return plain;
}
