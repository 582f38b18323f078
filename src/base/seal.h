/* seal.h - sealed opaque tokens: state the server hands to a client and gets back unchanged.
 *
 * The stateless MCP era keeps no per-client state on the server: an input_required result
 * carries the state in an opaque requestState string that the client echoes on retry, and
 * pagination cursors and session ids work the same way. A sealed token is encrypted and
 * authenticated (AES-256-GCM), bound to a purpose ("requestState", "cursor", ...) so one kind
 * cannot be replayed as another, and carries an expiry that is checked on unseal. The server
 * keeps only the key; processes that share a configured secret accept each other's tokens.
 *
 * Token (base64url, no padding) of: version (1 byte, 0x01) | nonce (12) | ciphertext | tag (16),
 * where the ciphertext encrypts expiry (8 bytes, big-endian Unix ms, 0 = never) | plaintext, and
 * the additional authenticated data is version | purpose. The expiry is inside, not in clear,
 * so the token stays opaque and is only judged expired once proved genuine.
 *
 * Limits: a token is at most MCP_SEAL_TOKEN_MAX characters (64 KiB: far above any real state,
 * small enough that a hostile token costs little to refuse), so plaintext is at most
 * MCP_SEAL_PLAIN_MAX bytes. Random 96-bit nonces: one key should seal fewer than 2^32 tokens
 * (NIST SP 800-38D); rotate a configured secret before that (see docs/internals/seal.md).
 *
 * All functions may be called from any thread concurrently; a key is read-only once set. */
#ifndef MCP_BASE_SEAL_H
#define MCP_BASE_SEAL_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

#define MCP_SEAL_KEY_LEN     32
#define MCP_SEAL_TOKEN_MAX   65536u /* characters */
#define MCP_SEAL_OVERHEAD    37u    /* version 1 + nonce 12 + expiry 8 + tag 16 */
#define MCP_SEAL_PLAIN_MAX   (MCP_SEAL_TOKEN_MAX / 4 * 3 - MCP_SEAL_OVERHEAD) /* 49115 */
#define MCP_SEAL_PURPOSE_MAX 255u
#define MCP_SEAL_SECRET_MIN  16u /* bytes of configured secret: 128 bits if it is random */

/* Error codes: negative, and outside the errno range so they are never confused with one. */
enum mcp_seal_error {
    MCP_SEAL_EMALFORMED = -1001, /* not base64url, too short or long, unknown version */
    MCP_SEAL_EFORGED = -1002,    /* authentication failed: altered, other key, other purpose */
    MCP_SEAL_EEXPIRED = -1003,   /* genuine, but its expiry has passed */
    MCP_SEAL_ETOOBIG = -1004,    /* plaintext over MCP_SEAL_PLAIN_MAX, or out's cap reached */
    MCP_SEAL_EINVAL = -1005,     /* bad argument: NULL, purpose too long, secret too short */
    MCP_SEAL_ECRYPTO = -1006,    /* OpenSSL or the RNG failed: a server error, not the client's */
};

typedef struct mcp_seal_key {
    unsigned char bytes[MCP_SEAL_KEY_LEN];
} mcp_seal_key;

/* Sets *k to 32 random bytes (tokens die with the process). Returns 0 or MCP_SEAL_ECRYPTO. */
int mcp_seal_key_init_random(mcp_seal_key *k);

/* Derives *k from a configured secret with HKDF-SHA256 (fixed salt and info, so every process
 * given the same secret derives the same key). Returns 0; MCP_SEAL_EINVAL when len is below
 * MCP_SEAL_SECRET_MIN; MCP_SEAL_ECRYPTO if OpenSSL fails. HKDF does not stretch: the secret
 * must be random (e.g. `openssl rand -base64 32`), not a password. */
int mcp_seal_key_from_secret(mcp_seal_key *k, const void *secret, size_t len);

/* Wipes *k (OPENSSL_cleanse: not optimized away). */
void mcp_seal_key_clear(mcp_seal_key *k);

/* Seals plain[0..len) for purpose (NUL-terminated, at most MCP_SEAL_PURPOSE_MAX bytes), valid
 * until expires_unix_ms (wall clock; 0: never). Appends the token (no NUL) to out. Returns 0
 * or a negative mcp_seal_error; on error out->len is unchanged. */
int mcp_seal(const mcp_seal_key *k, const void *plain, size_t len, uint64_t expires_unix_ms,
             const char *purpose, mcp_buf *out);

/* Checks and opens token[0..len) (need not be NUL-terminated), which must have been sealed
 * with k for the same purpose and not have expired at now_unix_ms. Appends the plaintext to
 * out_plain. Returns 0, MCP_SEAL_EMALFORMED, MCP_SEAL_EFORGED, MCP_SEAL_EEXPIRED (tested in
 * that order: an altered token is never reported as expired), MCP_SEAL_ETOOBIG (out_plain's
 * cap), MCP_SEAL_EINVAL or MCP_SEAL_ECRYPTO. On error out_plain->len is unchanged and no
 * unauthenticated byte is left past it. */
int mcp_unseal(const mcp_seal_key *k, const char *token, size_t len, const char *purpose,
               uint64_t now_unix_ms, mcp_buf *out_plain);

/* Returns a static description of a code from this module (or "unknown seal error"). */
const char *mcp_seal_strerror(int code);

#endif
