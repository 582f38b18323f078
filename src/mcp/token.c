/* token.c - sealed tokens for cursors and requestState, and SHA-256 digests.
 *
 * A token is base64url(version 0x01 | nonce[12] | AES-256-GCM(expiry_s[8] | payload) |
 * tag[16]) with the purpose ("cursor", "requestState") as additional authenticated data, so
 * a token minted for one purpose cannot be replayed as another. The key comes from the
 * server's secret (HMAC-SHA256 of a fixed label) or is random per process. Opening checks
 * the version, the tag (tampering, another key, another purpose) and the expiry (wall
 * clock, since tokens cross processes), and says which check failed.
 *
 * This is the engine's own small implementation over OpenSSL; when base/seal.h lands it can
 * take over behind these same four functions. Any thread. */
#include "mcp/internal.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"

#define NONCE     12
#define TAG       16
#define HDR       (1 + NONCE)
#define MAX_TOKEN (1u << 20)

int64_t token_clock_skew_s; /* tests move the clock with it */

static uint64_t now_s(void)
{
    return (uint64_t)((int64_t)time(NULL) + token_clock_skew_s);
}

void token_random_key(uint8_t key[32])
{
    if (RAND_bytes(key, 32) != 1) abort();
}

void token_derive_key(const void *secret, size_t len, uint8_t key[32])
{
    static const char label[] = "mcpd token key v1";
    unsigned int n = 32;
    HMAC(EVP_sha256(), secret, (int)len, (const unsigned char *)label, sizeof(label) - 1, key, &n);
}

void token_digest_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(const uint8_t *p, size_t n, mcp_buf *out)
{
    if (mcp_buf_reserve(out, (n + 2) / 3 * 4) < 0) return;
    char *o = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64url[v >> 18];
        *o++ = b64url[(v >> 12) & 63];
        *o++ = b64url[(v >> 6) & 63];
        *o++ = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = b64url[v >> 18];
        *o++ = b64url[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = b64url[v >> 18];
        *o++ = b64url[(v >> 12) & 63];
        *o++ = b64url[(v >> 6) & 63];
    }
    out->len = (size_t)(o - out->data);
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

long token_b64_decode(const char *s, size_t n, void *out)
{
    uint8_t *o = out;
    uint32_t acc = 0;
    int bits = 0;
    while (n && s[n - 1] == '=') n--;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6) return -1; /* a lone trailing character */
    return (long)(o - (uint8_t *)out);
}

static int gcm(bool enc, const uint8_t key[32], const uint8_t *nonce, const char *aad,
               const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int len = 0, ok = x && EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, key, nonce, enc ? 1 : 0);
    ok = ok && EVP_CipherUpdate(x, NULL, &len, (const uint8_t *)aad, (int)strlen(aad));
    ok = ok && EVP_CipherUpdate(x, out, &len, in, (int)n);
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TAG, tag);
    ok = ok && EVP_CipherFinal_ex(x, out + len, &len);
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TAG, tag);
    EVP_CIPHER_CTX_free(x);
    return ok ? 0 : -1;
}

int token_seal(mcp_server *s, const char *purpose, const void *data, size_t len, uint32_t ttl_s,
               mcp_buf *out)
{
    size_t pn = 8 + len, total = HDR + pn + TAG;
    uint8_t *raw = mcp_xmalloc(total), *plain = mcp_xmalloc(pn);
    uint64_t exp = ttl_s ? now_s() + ttl_s : 0;
    for (int i = 0; i < 8; i++) plain[i] = (uint8_t)(exp >> (56 - 8 * i));
    if (len) memcpy(plain + 8, data, len);
    raw[0] = 1;
    if (RAND_bytes(raw + 1, NONCE) != 1) abort();
    int rc = gcm(true, s->key, raw + 1, purpose, plain, pn, raw + HDR, raw + HDR + pn);
    if (!rc) b64url_encode(raw, total, out);
    free(raw);
    free(plain);
    return rc;
}

static void *open_fail(char *err, size_t errsize, const char *why)
{
    if (err && errsize) snprintf(err, errsize, "%s", why);
    return NULL;
}

void *token_open(mcp_server *s, const char *purpose, const char *tok, size_t len, mcp_arena *a,
                 size_t *out_len, char *err, size_t errsize)
{
    if (len > MAX_TOKEN) return open_fail(err, errsize, "too long");
    uint8_t *raw = mcp_arena_alloc(a, len + 1);
    long n = token_b64_decode(tok, len, raw);
    if (n < 0) return open_fail(err, errsize, "not base64url");
    if ((size_t)n < HDR + 8 + TAG || raw[0] != 1) return open_fail(err, errsize, "malformed");
    size_t pn = (size_t)n - HDR - TAG;
    uint8_t *plain = mcp_arena_alloc(a, pn + 1);
    if (gcm(false, s->key, raw + 1, purpose, raw + HDR, pn, plain, raw + HDR + pn))
        return open_fail(err, errsize, "tampered, or sealed by another server or for another use");
    uint64_t exp = 0;
    for (int i = 0; i < 8; i++) exp = exp << 8 | plain[i];
    if (exp && now_s() >= exp) return open_fail(err, errsize, "expired");
    plain[pn] = 0;
    *out_len = pn - 8;
    return plain + 8;
}
