/* token.h - sealed tokens (cursors, requestState) and digests (token.c). Not a public
 * header. */
#ifndef MCP_TOKEN_H
#define MCP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "mcp/mcp.h"

int token_seal(mcp_server *s, const char *purpose, const void *data, size_t len, uint32_t ttl_s,
               mcp_buf *out);
/* Opens a token; returns the payload in arena, or NULL with a reason in err. */
void *token_open(mcp_server *s, const char *purpose, const char *tok, size_t len, mcp_arena *a,
                 size_t *out_len, char *err, size_t errsize);
void token_digest_hex(const void *data, size_t len, char out[65]);
void token_random_key(uint8_t key[32]);
/* Decodes strict padded base64 (RFC 4648) into out (room for n bytes). -1 if bad. */
long token_b64_decode(const char *s, size_t n, void *out);
extern int64_t token_clock_skew_s; /* seconds added to the clock (tests) */
/* Derives the key from a configured secret (at least 16 bytes). Returns 0 or -1. */
int token_derive_key(const void *secret, size_t len, uint8_t key[32]);

#endif
