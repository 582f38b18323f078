/* seal.c - AES-256-GCM sealing of opaque tokens (format and rules in seal.h).
 *
 * Sealing: draw a 96-bit nonce, encrypt expiry|plaintext into a scratch buffer laid out as
 * version|nonce|ciphertext|tag with version|purpose as AAD, then base64url it onto the output.
 * Unsealing runs backwards and refuses as early as it can: length bounds before decoding,
 * strict base64url (one spelling per byte string, so no bit of the token is "free"), version,
 * then GCM verification, and only then the expiry. The plaintext is decrypted straight into the
 * caller's buffer and wiped there if the tag does not match.
 *
 * Each call has its own EVP_CIPHER_CTX, so calls are independent and thread-safe. The cipher is
 * fetched once (EVP_CIPHER_fetch under pthread_once): the legacy EVP_aes_256_gcm() would do an
 * implicit fetch, a locked lookup in the provider store, on every init. The cached cipher is
 * never freed; it is one object that lives as long as the process. */
#include "base/seal.h"
#include "base/base64.h"
#include "base/random.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#define VERSION   0x01
#define NONCE_LEN 12
#define EXP_LEN   8
#define TAG_LEN   16
#define HDR_LEN   (1 + NONCE_LEN)
#define RAW_MAX   (MCP_SEAL_TOKEN_MAX / 4 * 3)
#define SCRATCH   1024 /* stack bytes for the raw token; bigger ones go to the heap */

/* HKDF salt and info: changing either changes every derived key and invalidates every token
 * in circulation, so they are part of the format (see the pinned vector in test_seal.c). */
static const char HKDF_SALT[] = "mcpd seal salt v1";
static const char HKDF_INFO[] = "mcpd seal key v1";

/* --- the cipher, fetched once -------------------------------------------------------------- */

static EVP_CIPHER *gcm_fetched;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void gcm_fetch(void)
{
    gcm_fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *gcm(void)
{
    pthread_once(&gcm_once, gcm_fetch);
    return gcm_fetched ? gcm_fetched : EVP_aes_256_gcm();
}

/* --- keys ---------------------------------------------------------------------------------- */

int mcp_seal_key_init_random(mcp_seal_key *k)
{
    if (!k) return MCP_SEAL_EINVAL;
    return mcp_random_bytes(k->bytes, sizeof k->bytes) < 0 ? MCP_SEAL_ECRYPTO : 0;
}

/* HKDF-SHA256 (RFC 5869) of ikm into out[0..outlen). Returns 0 or -1. */
static int hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                       const void *info, size_t info_len, unsigned char *out, size_t outlen)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int ok = ctx && EVP_KDF_derive(ctx, out, outlen, params) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

int mcp_seal_key_from_secret(mcp_seal_key *k, const void *secret, size_t len)
{
    if (!k || !secret || len < MCP_SEAL_SECRET_MIN) return MCP_SEAL_EINVAL;
    if (hkdf_sha256(secret, len, HKDF_SALT, sizeof HKDF_SALT - 1, HKDF_INFO, sizeof HKDF_INFO - 1,
                    k->bytes, sizeof k->bytes) < 0)
        return MCP_SEAL_ECRYPTO;
    return 0;
}

void mcp_seal_key_clear(mcp_seal_key *k)
{
    OPENSSL_cleanse(k->bytes, sizeof k->bytes);
}

/* --- GCM ----------------------------------------------------------------------------------- */

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

/* Returns a context keyed, with the nonce set and version|purpose fed as AAD; NULL on failure. */
static EVP_CIPHER_CTX *gcm_begin(const mcp_seal_key *k, const unsigned char *nonce,
                                 const char *purpose, size_t plen, int enc)
{
    static const unsigned char ver = VERSION;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n;
    if (c && EVP_CipherInit_ex2(c, gcm(), k->bytes, nonce, enc, NULL) == 1 &&
        EVP_CipherUpdate(c, NULL, &n, &ver, 1) == 1 &&
        (!plen || EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)purpose, (int)plen) == 1))
        return c;
    EVP_CIPHER_CTX_free(c);
    return NULL;
}

/* Fills raw[0..MCP_SEAL_OVERHEAD + len) with the sealed token bytes. Returns 0 or -1. */
static int encrypt_raw(const mcp_seal_key *k, const unsigned char *nonce, const char *purpose,
                       size_t plen, uint64_t expires, const void *plain, size_t len,
                       unsigned char *raw)
{
    unsigned char exp[EXP_LEN];
    unsigned char *ct = raw + HDR_LEN, *tag = ct + EXP_LEN + len;
    int n;
    raw[0] = VERSION;
    memcpy(raw + 1, nonce, NONCE_LEN);
    put_be64(exp, expires);
    EVP_CIPHER_CTX *c = gcm_begin(k, nonce, purpose, plen, 1);
    int ok = c && EVP_EncryptUpdate(c, ct, &n, exp, EXP_LEN) == 1 &&
             (!len || EVP_EncryptUpdate(c, ct + EXP_LEN, &n, plain, (int)len) == 1) &&
             EVP_EncryptFinal_ex(c, tag, &n) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

/* Verifies and decrypts raw[0..rawlen) (version already checked) into *expires and
 * plain[0..rawlen - MCP_SEAL_OVERHEAD). Returns 0, MCP_SEAL_EFORGED or MCP_SEAL_ECRYPTO; on
 * failure plain is wiped. */
static int decrypt_raw(const mcp_seal_key *k, unsigned char *raw, size_t rawlen,
                       const char *purpose, size_t plen, uint64_t *expires, unsigned char *plain)
{
    size_t len = rawlen - MCP_SEAL_OVERHEAD;
    unsigned char exp[EXP_LEN];
    unsigned char *ct = raw + HDR_LEN, *tag = raw + rawlen - TAG_LEN;
    int n;
    EVP_CIPHER_CTX *c = gcm_begin(k, raw + 1, purpose, plen, 0);
    if (!c) return MCP_SEAL_ECRYPTO;
    int ok = EVP_DecryptUpdate(c, exp, &n, ct, EXP_LEN) == 1 &&
             (!len || EVP_DecryptUpdate(c, plain, &n, ct + EXP_LEN, (int)len) == 1) &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) == 1 &&
             EVP_DecryptFinal_ex(c, exp, &n) == 1; /* GCM final writes nothing */
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        if (len) OPENSSL_cleanse(plain, len);
        return MCP_SEAL_EFORGED;
    }
    *expires = get_be64(exp);
    return 0;
}

/* --- public -------------------------------------------------------------------------------- */

/* Seals with a given nonce; mcp_seal draws it. Separate so tests can pin known answers. */
static int seal_with_nonce(const mcp_seal_key *k, const unsigned char *nonce, const void *plain,
                           size_t len, uint64_t expires, const char *purpose, mcp_buf *out)
{
    if (!k || !purpose || !out || (len && !plain)) return MCP_SEAL_EINVAL;
    size_t plen = strlen(purpose);
    if (plen > MCP_SEAL_PURPOSE_MAX) return MCP_SEAL_EINVAL;
    if (len > MCP_SEAL_PLAIN_MAX) return MCP_SEAL_ETOOBIG;
    size_t rawlen = MCP_SEAL_OVERHEAD + len;
    if (mcp_buf_reserve(out, mcp_base64_encoded_len(rawlen, true)) < 0) return MCP_SEAL_ETOOBIG;
    unsigned char stack[SCRATCH];
    mcp_buf raw;
    mcp_buf_init(&raw, stack, sizeof stack, 0);
    mcp_buf_reserve(&raw, rawlen);
    int rc = encrypt_raw(k, nonce, purpose, plen, expires, plain, len, (unsigned char *)raw.data);
    if (rc == 0) mcp_base64_encode(out, raw.data, rawlen, true); /* room reserved above */
    mcp_buf_free(&raw);
    return rc == 0 ? 0 : MCP_SEAL_ECRYPTO;
}

int mcp_seal(const mcp_seal_key *k, const void *plain, size_t len, uint64_t expires_unix_ms,
             const char *purpose, mcp_buf *out)
{
    unsigned char nonce[NONCE_LEN];
    if (mcp_random_small(nonce, sizeof nonce) < 0) return MCP_SEAL_ECRYPTO;
    return seal_with_nonce(k, nonce, plain, len, expires_unix_ms, purpose, out);
}

/* Decodes and checks the shape of the token into raw. Returns 0 or MCP_SEAL_EMALFORMED. */
static int decode_token(const char *token, size_t len, mcp_buf *raw)
{
    if (len < mcp_base64_encoded_len(MCP_SEAL_OVERHEAD, true) || len > MCP_SEAL_TOKEN_MAX)
        return MCP_SEAL_EMALFORMED;
    if (mcp_base64_decode(raw, token, len, true) < 0) return MCP_SEAL_EMALFORMED;
    if (raw->len < MCP_SEAL_OVERHEAD || (unsigned char)raw->data[0] != VERSION)
        return MCP_SEAL_EMALFORMED;
    return 0;
}

static int open_raw(const mcp_seal_key *k, mcp_buf *raw, const char *purpose, size_t plen,
                    uint64_t now, mcp_buf *out)
{
    size_t len = raw->len - MCP_SEAL_OVERHEAD;
    if (mcp_buf_reserve(out, len) < 0) return MCP_SEAL_ETOOBIG;
    /* out->data may be NULL when len is 0 and out is empty: no arithmetic on it then */
    unsigned char *plain = len ? (unsigned char *)out->data + out->len : NULL;
    uint64_t expires;
    int rc = decrypt_raw(k, (unsigned char *)raw->data, raw->len, purpose, plen, &expires, plain);
    if (rc < 0) return rc;
    if (expires && now >= expires) {
        if (len) OPENSSL_cleanse(plain, len);
        return MCP_SEAL_EEXPIRED;
    }
    out->len += len;
    return 0;
}

int mcp_unseal(const mcp_seal_key *k, const char *token, size_t len, const char *purpose,
               uint64_t now_unix_ms, mcp_buf *out_plain)
{
    if (!k || (!token && len) || !purpose || !out_plain) return MCP_SEAL_EINVAL;
    size_t plen = strlen(purpose);
    if (plen > MCP_SEAL_PURPOSE_MAX) return MCP_SEAL_EINVAL;
    unsigned char stack[SCRATCH];
    mcp_buf raw;
    mcp_buf_init(&raw, stack, sizeof stack, RAW_MAX);
    int rc = decode_token(token, len, &raw);
    if (rc == 0) rc = open_raw(k, &raw, purpose, plen, now_unix_ms, out_plain);
    mcp_buf_free(&raw);
    return rc;
}

const char *mcp_seal_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case MCP_SEAL_EMALFORMED:
        return "malformed token";
    case MCP_SEAL_EFORGED:
        return "token not genuine (altered, other key or other purpose)";
    case MCP_SEAL_EEXPIRED:
        return "token expired";
    case MCP_SEAL_ETOOBIG:
        return "token or plaintext too large";
    case MCP_SEAL_EINVAL:
        return "invalid argument";
    case MCP_SEAL_ECRYPTO:
        return "cryptographic library failure";
    default:
        return "unknown seal error";
    }
}
