/* test_seal.c - sealed tokens, strict base64 and random tokens.
 *
 * Includes seal.c to reach hkdf_sha256 and seal_with_nonce, so that known-answer vectors can
 * pin the format: the expected key and tokens below were computed independently (Python's
 * cryptography package: HKDF-SHA256 and AESGCM with the salt, info, AAD and layout documented
 * in seal.h). If one of them changes, tokens in circulation stop unsealing. */
#include "test.h"
#include "base/seal.c"

#include "base/base64.h"
#include "base/random.h"

#include <sys/wait.h>

#include <unistd.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

static const char PINNED_SECRET[] = "0123456789abcdef0123456789abcdef";
static const char PINNED_KEY_HEX[] =
    "d926dca03c14741c4791b9d19b6ea6678fe1a46df0b846a974e0b8dc3ceb61b1";
static const unsigned char PINNED_NONCE[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const char PINNED_TOKEN_HELLO[] = /* "hello", "requestState", never expires */
    "AQABAgMEBQYHCAkKC3FZYHUMzWtnbG4L52aNN8WA1WtETK_YU3-4eb85";
static const char PINNED_TOKEN_EMPTY[] = /* "", "cursor", expires 1767225600000 */
    "AQABAgMEBQYHCAkKC3FZYe56F8Nn5cS8MmvcP9QNZjeYC9BsyA";

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

static mcp_seal_key test_key(unsigned char fill)
{
    mcp_seal_key k;
    memset(k.bytes, fill, sizeof k.bytes);
    return k;
}

/* Seals p into a fresh NUL-terminated heap string (test helper). */
static char *seal_str(const mcp_seal_key *k, const char *p, size_t n, uint64_t exp,
                      const char *purpose)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    int rc = mcp_seal(k, p, n, exp, purpose, &b);
    if (rc) T_FAIL("mcp_seal: %s", mcp_seal_strerror(rc));
    return mcp_buf_steal(&b, NULL);
}

/* Unseals tok into out (freed and emptied first: zero-initialize it before the first use),
 * returning the code. */
static int unseal_str(const mcp_seal_key *k, const char *tok, size_t n, const char *purpose,
                      uint64_t now, mcp_buf *out)
{
    mcp_buf_free(out);
    mcp_buf_init(out, NULL, 0, 0);
    return mcp_unseal(k, tok, n, purpose, now, out);
}

/* --- base64 -------------------------------------------------------------------------------- */

static void check_b64(const char *plain, const char *std, const char *url)
{
    char stack[16]; /* data is never NULL: CHECK_MEM's memcmp must not get NULL, even for 0 */
    mcp_buf b;
    mcp_buf_init(&b, stack, sizeof stack, 0);
    mcp_base64_encode(&b, plain, strlen(plain), false);
    CHECK_MEM(b.data, b.len, std, strlen(std));
    CHECK_INT(mcp_base64_encoded_len(strlen(plain), false), strlen(std));
    b.len = 0;
    mcp_base64_encode(&b, plain, strlen(plain), true);
    CHECK_MEM(b.data, b.len, url, strlen(url));
    CHECK_INT(mcp_base64_encoded_len(strlen(plain), true), strlen(url));
    b.len = 0;
    CHECK_INT(mcp_base64_decode(&b, std, strlen(std), false), 0);
    CHECK_MEM(b.data, b.len, plain, strlen(plain));
    b.len = 0;
    CHECK_INT(mcp_base64_decode(&b, url, strlen(url), true), 0);
    CHECK_MEM(b.data, b.len, plain, strlen(plain));
    mcp_buf_free(&b);
}

TEST(base64_rfc4648_vectors)
{
    check_b64("", "", "");
    check_b64("f", "Zg==", "Zg");
    check_b64("fo", "Zm8=", "Zm8");
    check_b64("foo", "Zm9v", "Zm9v");
    check_b64("foob", "Zm9vYg==", "Zm9vYg");
    check_b64("fooba", "Zm9vYmE=", "Zm9vYmE");
    check_b64("foobar", "Zm9vYmFy", "Zm9vYmFy");
    check_b64("\xfb\xff", "+/8=", "-_8");
}

TEST(base64_round_trips_every_byte)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
    for (int url = 0; url < 2; url++) {
        for (size_t n = 0; n <= 256; n++) {
            char es[8], ds[8]; /* never NULL data (see check_b64) */
            mcp_buf e, d;
            mcp_buf_init(&e, es, sizeof es, 0);
            mcp_buf_init(&d, ds, sizeof ds, 0);
            mcp_base64_encode(&e, all + 256 - n, n, url);
            CHECK_INT(mcp_base64_decode(&d, e.data, e.len, url), 0);
            CHECK_MEM(d.data, d.len, all + 256 - n, n);
            mcp_buf_free(&e);
            mcp_buf_free(&d);
        }
    }
}

static int dec(const char *s, size_t n, bool url)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    int rc = mcp_base64_decode(&b, s, n, url);
    if (rc) CHECK_INT(b.len, 0);
    mcp_buf_free(&b);
    return rc;
}

#define DEC(s, url) dec(s, sizeof(s) - 1, url)

TEST(base64_decoding_is_strict)
{
    /* standard: padding required, in the right amount, only at the end */
    CHECK_INT(DEC("Zg", false), -EINVAL);
    CHECK_INT(DEC("Zg=", false), -EINVAL);
    CHECK_INT(DEC("Zg===", false), -EINVAL);
    CHECK_INT(DEC("Z===", false), -EINVAL);
    CHECK_INT(DEC("====", false), -EINVAL);
    CHECK_INT(DEC("Zg==Zg==", false), -EINVAL);
    CHECK_INT(DEC("Zm=v", false), -EINVAL);
    CHECK_INT(DEC("Zm9", false), -EINVAL);
    /* non-zero unused bits: "Zh==" and "Zm9=" would also decode to "f" and "fo" */
    CHECK_INT(DEC("Zh==", false), -EINVAL);
    CHECK_INT(DEC("Zm9=", false), -EINVAL);
    CHECK_INT(DEC("Zh", true), -EINVAL);
    CHECK_INT(DEC("Zm9", true), -EINVAL);
    /* alphabets do not mix; no whitespace, no NUL, no high bytes */
    CHECK_INT(DEC("-_8=", false), -EINVAL);
    CHECK_INT(DEC("+/8", true), -EINVAL);
    CHECK_INT(DEC("Zg==", true), -EINVAL);
    CHECK_INT(DEC("Zm9v\n", true), -EINVAL);
    CHECK_INT(DEC("Zm 9v", true), -EINVAL);
    CHECK_INT(DEC("Zm9v\0Zm9v", true), -EINVAL);
    CHECK_INT(DEC("Zm9v\x80", true), -EINVAL);
    CHECK_INT(DEC("Zm9v\xff\xff\xff", true), -EINVAL);
    /* a length no encoding has */
    CHECK_INT(DEC("Z", true), -EINVAL);
    CHECK_INT(DEC("Zm9vY", true), -EINVAL);
    CHECK_INT(DEC("", true), 0);
    CHECK_INT(DEC("", false), 0);
}

/* Every 2- and 3-character url string is accepted exactly when it is the encoding of what it
 * decodes to: one spelling per byte string. */
TEST(base64_exactly_one_spelling)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    long accepted2 = 0, accepted3 = 0;
    mcp_buf d, e;
    mcp_buf_init(&d, NULL, 0, 0);
    mcp_buf_init(&e, NULL, 0, 0);
    for (int i = 0; i < 64 * 64 * 64; i++) {
        char s[3] = {abc[i % 64], abc[i / 64 % 64], abc[i / 4096]};
        for (size_t n = 2; n <= 3; n++) {
            if (n == 2 && i >= 4096) continue;
            d.len = e.len = 0;
            if (mcp_base64_decode(&d, s, n, true) != 0) continue;
            n == 2 ? accepted2++ : accepted3++;
            mcp_base64_encode(&e, d.data, d.len, true);
            CHECK_MEM(e.data, e.len, s, n);
        }
    }
    CHECK_INT(accepted2, 256);
    CHECK_INT(accepted3, 65536);
    mcp_buf_free(&d);
    mcp_buf_free(&e);
}

TEST(base64_respects_the_cap)
{
    char stack[4];
    mcp_buf b;
    mcp_buf_init(&b, stack, sizeof stack, 4);
    mcp_buf_append(&b, "ab", 2);
    CHECK_INT(mcp_base64_decode(&b, "Zm9v", 4, true), -ENOBUFS);
    CHECK_INT(b.len, 2);
    mcp_buf_free(&b);
}

/* --- random -------------------------------------------------------------------------------- */

static bool url_alphabet(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

TEST(random_bytes_and_tokens)
{
    unsigned char a[32], b[32], zero[32] = {0};
    CHECK_INT(mcp_random_bytes(a, sizeof a), 0);
    CHECK_INT(mcp_random_bytes(b, sizeof b), 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(memcmp(a, zero, sizeof a) != 0);
    CHECK_INT(mcp_random_bytes(a, 0), 0);

    CHECK_INT(MCP_RANDOM_TOKEN_SIZE(16), 23);
    CHECK_INT(MCP_RANDOM_TOKEN_SIZE(32), 44);
    enum { N = 200 };
    static char toks[N][MCP_RANDOM_TOKEN_SIZE(16)];
    for (int i = 0; i < N; i++) {
        mcp_random_token(toks[i], 16);
        CHECK_INT(strlen(toks[i]), 22);
        CHECK(url_alphabet(toks[i]));
        for (int j = 0; j < i; j++) CHECK(strcmp(toks[i], toks[j]) != 0);
    }
    char big[MCP_RANDOM_TOKEN_SIZE(100)]; /* past the 64-byte stack scratch */
    memset(big, 'x', sizeof big);
    mcp_random_token(big, 100);
    CHECK_INT(strlen(big), 134);
    CHECK(url_alphabet(big));
}

/* The pooled variant: distinct across refills, and a forked child does not repeat what its
 * parent draws next (the pool is dropped at fork). */
TEST(random_small_pool)
{
    enum { N = 300 }; /* 300 x 16 bytes: several 1 KiB refills */
    static unsigned char ids[N][16];
    for (int i = 0; i < N; i++) {
        CHECK_INT(mcp_random_small(ids[i], 16), 0);
        for (int j = 0; j < i; j++) CHECK(memcmp(ids[i], ids[j], 16) != 0);
    }
    unsigned char odd[7], big[100];
    CHECK_INT(mcp_random_small(odd, sizeof odd), 0);
    CHECK_INT(mcp_random_small(big, sizeof big), 0); /* past the pool's limit: direct */
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        unsigned char c[16];
        int ok = mcp_random_small(c, sizeof c) == 0 && write(fds[1], c, sizeof c) == sizeof c;
        _exit(ok ? 0 : 1);
    }
    unsigned char mine[16], theirs[16];
    CHECK_INT(mcp_random_small(mine, sizeof mine), 0);
    CHECK(read(fds[0], theirs, sizeof theirs) == sizeof theirs);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(memcmp(mine, theirs, sizeof mine) != 0);
    close(fds[0]);
    close(fds[1]);
}

/* --- keys ---------------------------------------------------------------------------------- */

TEST(hkdf_rfc5869_case1)
{
    unsigned char ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++) salt[i] = (unsigned char)i;
    for (int i = 0; i < 10; i++) info[i] = (unsigned char)(0xf0 + i);
    CHECK_INT(hkdf_sha256(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm, 42), 0);
    char h[85];
    hex(okm, 42, h);
    CHECK_STR(h, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                 "34007208d5b887185865");
}

TEST(key_from_secret_is_deterministic)
{
    mcp_seal_key a, b, c;
    CHECK_INT(mcp_seal_key_from_secret(&a, PINNED_SECRET, 32), 0);
    CHECK_INT(mcp_seal_key_from_secret(&b, PINNED_SECRET, 32), 0);
    CHECK(memcmp(a.bytes, b.bytes, 32) == 0);
    char h[65];
    hex(a.bytes, 32, h);
    CHECK_STR(h, PINNED_KEY_HEX);
    CHECK_INT(mcp_seal_key_from_secret(&c, "0123456789abcdef0123456789abcdeF", 32), 0);
    CHECK(memcmp(a.bytes, c.bytes, 32) != 0);
    CHECK_INT(mcp_seal_key_from_secret(&c, PINNED_SECRET, 15), MCP_SEAL_EINVAL);
    CHECK_INT(mcp_seal_key_from_secret(&c, NULL, 32), MCP_SEAL_EINVAL);
    CHECK_INT(mcp_seal_key_init_random(&b), 0);
    CHECK_INT(mcp_seal_key_init_random(&c), 0);
    CHECK(memcmp(b.bytes, c.bytes, 32) != 0);
    mcp_seal_key_clear(&c);
    CHECK(memcmp(c.bytes, (unsigned char[32]){0}, 32) == 0);
}

TEST(pinned_tokens)
{
    mcp_seal_key k;
    CHECK_INT(mcp_seal_key_from_secret(&k, PINNED_SECRET, 32), 0);
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    CHECK_INT(seal_with_nonce(&k, PINNED_NONCE, "hello", 5, 0, "requestState", &b), 0);
    CHECK_MEM(b.data, b.len, PINNED_TOKEN_HELLO, strlen(PINNED_TOKEN_HELLO));
    b.len = 0;
    CHECK_INT(seal_with_nonce(&k, PINNED_NONCE, NULL, 0, 1767225600000u, "cursor", &b), 0);
    CHECK_MEM(b.data, b.len, PINNED_TOKEN_EMPTY, strlen(PINNED_TOKEN_EMPTY));
    mcp_buf_free(&b);

    CHECK_INT(unseal_str(&k, PINNED_TOKEN_HELLO, strlen(PINNED_TOKEN_HELLO), "requestState",
                         UINT64_MAX, &b),
              0);
    CHECK_MEM(b.data, b.len, "hello", 5);
    mcp_buf_free(&b);
    CHECK_INT(unseal_str(&k, PINNED_TOKEN_EMPTY, strlen(PINNED_TOKEN_EMPTY), "cursor",
                         1767225599999u, &b),
              0);
    CHECK_INT(b.len, 0);
    CHECK_INT(unseal_str(&k, PINNED_TOKEN_EMPTY, strlen(PINNED_TOKEN_EMPTY), "cursor",
                         1767225600000u, &b),
              MCP_SEAL_EEXPIRED);
    mcp_buf_free(&b);
}

/* --- seal and unseal ----------------------------------------------------------------------- */

TEST(round_trip_many_sizes)
{
    mcp_seal_key k = test_key(7);
    static const size_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 100, 1000, 5000, MCP_SEAL_PLAIN_MAX};
    char *plain = malloc(MCP_SEAL_PLAIN_MAX + 1);
    for (size_t i = 0; i < MCP_SEAL_PLAIN_MAX + 1; i++) plain[i] = (char)(i * 31 + 7);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        mcp_buf tok, out;
        mcp_buf_init(&tok, NULL, 0, 0);
        mcp_buf_puts(&tok, "prefix:"); /* seal appends */
        CHECK_INT(mcp_seal(&k, plain, n, 0, "requestState", &tok), 0);
        CHECK_INT(tok.len, 7 + mcp_base64_encoded_len(n + MCP_SEAL_OVERHEAD, true));
        CHECK(tok.len - 7 <= MCP_SEAL_TOKEN_MAX);
        mcp_buf_init(&out, NULL, 0, 0);
        mcp_buf_puts(&out, "x"); /* unseal appends */
        CHECK_INT(mcp_unseal(&k, tok.data + 7, tok.len - 7, "requestState", 1, &out), 0);
        CHECK_INT(out.len, n + 1);
        CHECK(memcmp(out.data + 1, plain, n) == 0);
        mcp_buf_free(&tok);
        mcp_buf_free(&out);
    }
    mcp_buf tok;
    mcp_buf_init(&tok, NULL, 0, 0);
    CHECK_INT(mcp_seal(&k, plain, MCP_SEAL_PLAIN_MAX + 1, 0, "x", &tok), MCP_SEAL_ETOOBIG);
    CHECK_INT(tok.len, 0);
    mcp_buf_free(&tok);
    free(plain);
}

TEST(same_plaintext_seals_differently)
{
    mcp_seal_key k = test_key(1);
    char *a = seal_str(&k, "same", 4, 0, "cursor");
    char *b = seal_str(&k, "same", 4, 0, "cursor");
    CHECK(strcmp(a, b) != 0);
    CHECK(a[0] == 'A' && b[0] == 'A'); /* the top 6 bits of version 0x01; the nonce differs */
    mcp_buf out = {0};
    CHECK_INT(unseal_str(&k, a, strlen(a), "cursor", 0, &out), 0);
    CHECK_MEM(out.data, out.len, "same", 4);
    mcp_buf_free(&out);
    CHECK_INT(unseal_str(&k, b, strlen(b), "cursor", 0, &out), 0);
    CHECK_MEM(out.data, out.len, "same", 4);
    mcp_buf_free(&out);
    free(a);
    free(b);
}

TEST(every_single_bit_flip_is_refused)
{
    mcp_seal_key k = test_key(2);
    char *tok = seal_str(&k, "state: step 2 of 3", 18, 0, "requestState");
    size_t n = strlen(tok);
    mcp_buf raw, enc, out;
    mcp_buf_init(&raw, NULL, 0, 0);
    mcp_buf_init(&enc, NULL, 0, 0);
    mcp_buf_init(&out, NULL, 0, 0);
    CHECK_INT(mcp_base64_decode(&raw, tok, n, true), 0);
    /* in the decoded bytes: the version byte is malformed, every other bit is forged */
    for (size_t bit = 0; bit < raw.len * 8; bit++) {
        raw.data[bit / 8] ^= (char)(1 << bit % 8);
        enc.len = 0;
        mcp_base64_encode(&enc, raw.data, raw.len, true);
        int rc = mcp_unseal(&k, enc.data, enc.len, "requestState", 0, &out);
        int want = bit < 8 ? MCP_SEAL_EMALFORMED : MCP_SEAL_EFORGED;
        if (rc != want) T_FAIL("raw bit %zu: %d, want %d", bit, rc, want);
        CHECK_INT(out.len, 0);
        raw.data[bit / 8] ^= (char)(1 << bit % 8);
    }
    /* in the text: a flip gives a character outside the alphabet or unused bits (malformed),
     * or other bytes (forged); never success */
    int malformed = 0, forged = 0;
    for (size_t bit = 0; bit < n * 8; bit++) {
        tok[bit / 8] ^= (char)(1 << bit % 8);
        int rc = mcp_unseal(&k, tok, n, "requestState", 0, &out);
        if (rc != MCP_SEAL_EMALFORMED && rc != MCP_SEAL_EFORGED)
            T_FAIL("text bit %zu: %d (%s)", bit, rc, mcp_seal_strerror(rc));
        rc == MCP_SEAL_EFORGED ? forged++ : malformed++;
        CHECK_INT(out.len, 0);
        tok[bit / 8] ^= (char)(1 << bit % 8);
    }
    CHECK(forged > 0 && malformed > 0);
    CHECK_INT(mcp_unseal(&k, tok, n, "requestState", 0, &out), 0);
    mcp_buf_free(&raw);
    mcp_buf_free(&enc);
    mcp_buf_free(&out);
    free(tok);
}

TEST(wrong_purpose_or_key_is_forged)
{
    mcp_seal_key k = test_key(3), other = test_key(4);
    char *tok = seal_str(&k, "abc", 3, 0, "cursor");
    size_t n = strlen(tok);
    mcp_buf out = {0};
    CHECK_INT(unseal_str(&k, tok, n, "requestState", 0, &out), MCP_SEAL_EFORGED);
    CHECK_INT(unseal_str(&k, tok, n, "cursorX", 0, &out), MCP_SEAL_EFORGED);
    CHECK_INT(unseal_str(&k, tok, n, "curso", 0, &out), MCP_SEAL_EFORGED);
    CHECK_INT(unseal_str(&k, tok, n, "", 0, &out), MCP_SEAL_EFORGED);
    CHECK_INT(unseal_str(&other, tok, n, "cursor", 0, &out), MCP_SEAL_EFORGED);
    CHECK_INT(out.len, 0);
    CHECK_INT(unseal_str(&k, tok, n, "cursor", 0, &out), 0);
    mcp_buf_free(&out);
    free(tok);
    /* the empty purpose is a purpose like any other */
    tok = seal_str(&k, "abc", 3, 0, "");
    CHECK_INT(unseal_str(&k, tok, strlen(tok), "", 0, &out), 0);
    mcp_buf_free(&out);
    free(tok);
}

TEST(expiry)
{
    mcp_seal_key k = test_key(5);
    char *tok = seal_str(&k, "abc", 3, 1000, "requestState");
    size_t n = strlen(tok);
    mcp_buf out = {0};
    CHECK_INT(unseal_str(&k, tok, n, "requestState", 999, &out), 0);
    CHECK_MEM(out.data, out.len, "abc", 3);
    mcp_buf_free(&out);
    CHECK_INT(unseal_str(&k, tok, n, "requestState", 1000, &out), MCP_SEAL_EEXPIRED);
    CHECK_INT(out.len, 0);
    CHECK_INT(unseal_str(&k, tok, n, "requestState", UINT64_MAX, &out), MCP_SEAL_EEXPIRED);
    /* a forged token is reported as forged even when it would have expired */
    CHECK_INT(unseal_str(&k, tok, n, "cursor", 5000, &out), MCP_SEAL_EFORGED);
    free(tok);
    tok = seal_str(&k, "abc", 3, 0, "requestState"); /* 0: never expires */
    CHECK_INT(unseal_str(&k, tok, strlen(tok), "requestState", UINT64_MAX, &out), 0);
    mcp_buf_free(&out);
    free(tok);
}

TEST(malformed_tokens)
{
    mcp_seal_key k = test_key(6);
    char *tok = seal_str(&k, "abcdef", 6, 0, "cursor");
    size_t n = strlen(tok);
    mcp_buf out = {0};
    CHECK_INT(unseal_str(&k, "", 0, "cursor", 0, &out), MCP_SEAL_EMALFORMED);
    CHECK_INT(unseal_str(&k, NULL, 0, "cursor", 0, &out), MCP_SEAL_EMALFORMED);
    /* bad characters anywhere: padding, the standard alphabet, space, NUL */
    static const char bad[] = "=+/ \n\0.!";
    for (size_t i = 0; i < sizeof bad - 1; i++) {
        for (size_t at = 0; at < n; at += 7) {
            char save = tok[at];
            tok[at] = bad[i];
            CHECK_INT(unseal_str(&k, tok, n, "cursor", 0, &out), MCP_SEAL_EMALFORMED);
            tok[at] = save;
        }
    }
    /* truncation: below the minimum it is malformed; otherwise it never succeeds */
    for (size_t len = 0; len < n; len++) {
        int rc = unseal_str(&k, tok, len, "cursor", 0, &out);
        if (len < 50)
            CHECK_INT(rc, MCP_SEAL_EMALFORMED);
        else
            CHECK(rc == MCP_SEAL_EMALFORMED || rc == MCP_SEAL_EFORGED);
    }
    /* extension, and a token sealed with a future format version */
    char *longer = malloc(n + 5);
    memcpy(longer, tok, n);
    memcpy(longer + n, "AAAA", 4);
    CHECK_INT(unseal_str(&k, longer, n + 4, "cursor", 0, &out), MCP_SEAL_EFORGED);
    free(longer);
    mcp_buf raw, enc;
    mcp_buf_init(&raw, NULL, 0, 0);
    mcp_buf_init(&enc, NULL, 0, 0);
    mcp_base64_decode(&raw, tok, n, true);
    raw.data[0] = 2;
    mcp_base64_encode(&enc, raw.data, raw.len, true);
    CHECK_INT(unseal_str(&k, enc.data, enc.len, "cursor", 0, &out), MCP_SEAL_EMALFORMED);
    mcp_buf_free(&raw);
    mcp_buf_free(&enc);
    /* huge: one past the bound is refused before decoding; at the bound it decodes to a
     * version-0 token */
    char *huge = malloc(MCP_SEAL_TOKEN_MAX + 1);
    memset(huge, 'A', MCP_SEAL_TOKEN_MAX + 1);
    CHECK_INT(unseal_str(&k, huge, MCP_SEAL_TOKEN_MAX + 1, "cursor", 0, &out), MCP_SEAL_EMALFORMED);
    CHECK_INT(unseal_str(&k, huge, MCP_SEAL_TOKEN_MAX, "cursor", 0, &out), MCP_SEAL_EMALFORMED);
    CHECK_INT(unseal_str(&k, huge, SIZE_MAX, "cursor", 0, &out), MCP_SEAL_EMALFORMED);
    free(huge);
    CHECK_INT(out.len, 0);
    mcp_buf_free(&out);
    free(tok);
}

TEST(arguments_and_caps)
{
    mcp_seal_key k = test_key(8);
    mcp_buf out = {0};
    mcp_buf_init(&out, NULL, 0, 0);
    CHECK_INT(mcp_seal(&k, "a", 1, 0, NULL, &out), MCP_SEAL_EINVAL);
    CHECK_INT(mcp_seal(NULL, "a", 1, 0, "p", &out), MCP_SEAL_EINVAL);
    CHECK_INT(mcp_seal(&k, NULL, 1, 0, "p", &out), MCP_SEAL_EINVAL);
    char purpose[MCP_SEAL_PURPOSE_MAX + 2];
    memset(purpose, 'p', sizeof purpose);
    purpose[MCP_SEAL_PURPOSE_MAX + 1] = '\0';
    CHECK_INT(mcp_seal(&k, "a", 1, 0, purpose, &out), MCP_SEAL_EINVAL);
    CHECK_INT(mcp_unseal(&k, "a", 1, purpose, 0, &out), MCP_SEAL_EINVAL);
    purpose[MCP_SEAL_PURPOSE_MAX] = '\0'; /* the longest allowed */
    CHECK_INT(mcp_seal(&k, "a", 1, 0, purpose, &out), 0);
    mcp_buf plain;
    mcp_buf_init(&plain, NULL, 0, 0);
    CHECK_INT(mcp_unseal(&k, out.data, out.len, purpose, 0, &plain), 0);
    CHECK_MEM(plain.data, plain.len, "a", 1);
    mcp_buf_free(&plain);
    mcp_buf_free(&out);

    /* caps: seal's output and unseal's plaintext */
    char small[40];
    mcp_buf_init(&out, small, sizeof small, sizeof small);
    CHECK_INT(mcp_seal(&k, "abcdef", 6, 0, "p", &out), MCP_SEAL_ETOOBIG);
    CHECK_INT(out.len, 0);
    char *tok = seal_str(&k, "abcdef", 6, 0, "p");
    mcp_buf_init(&plain, small, 4, 4);
    CHECK_INT(mcp_unseal(&k, tok, strlen(tok), "p", 0, &plain), MCP_SEAL_ETOOBIG);
    CHECK_INT(plain.len, 0);
    free(tok);
}

TEST(strerror_is_distinct)
{
    static const int codes[] = {0,
                                MCP_SEAL_EMALFORMED,
                                MCP_SEAL_EFORGED,
                                MCP_SEAL_EEXPIRED,
                                MCP_SEAL_ETOOBIG,
                                MCP_SEAL_EINVAL,
                                MCP_SEAL_ECRYPTO,
                                -1};
    enum { N = sizeof codes / sizeof *codes };
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i; j++)
            CHECK(strcmp(mcp_seal_strerror(codes[i]), mcp_seal_strerror(codes[j])) != 0);
}

/* --- many threads sealing and unsealing with one key (run under TSan) ----------------------- */

enum { THREADS = 4, ROUNDS = 10000 };

typedef struct worker_arg {
    const mcp_seal_key *key;
    int id;
    int failures;
} worker_arg;

static void *seal_worker(void *p)
{
    worker_arg *w = p;
    char purpose[16], plain[64], tokbuf[256], outbuf[64];
    snprintf(purpose, sizeof purpose, "p%d", w->id);
    for (int i = 0; i < ROUNDS; i++) {
        int n = snprintf(plain, sizeof plain, "thread %d round %d", w->id, i);
        mcp_buf tok, out;
        mcp_buf_init(&tok, tokbuf, sizeof tokbuf, 0);
        mcp_buf_init(&out, outbuf, sizeof outbuf, 0);
        if (mcp_seal(w->key, plain, (size_t)n, 2000, purpose, &tok) != 0 ||
            mcp_unseal(w->key, tok.data, tok.len, purpose, 1000, &out) != 0 ||
            out.len != (size_t)n || memcmp(out.data, plain, (size_t)n) != 0 ||
            mcp_unseal(w->key, tok.data, tok.len, "other", 1000, &out) != MCP_SEAL_EFORGED)
            w->failures++;
        mcp_buf_free(&tok);
        mcp_buf_free(&out);
    }
    return NULL;
}

TEST(threads_seal_and_unseal_concurrently)
{
    mcp_seal_key k;
    CHECK_INT(mcp_seal_key_init_random(&k), 0);
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){.key = &k, .id = i};
        CHECK_INT(pthread_create(&th[i], NULL, seal_worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) CHECK_INT(args[i].failures, 0);
}

int main(void)
{
    RUN(base64_rfc4648_vectors);
    RUN(base64_round_trips_every_byte);
    RUN(base64_decoding_is_strict);
    RUN(base64_exactly_one_spelling);
    RUN(base64_respects_the_cap);
    RUN(random_bytes_and_tokens);
    RUN(random_small_pool);
    RUN(hkdf_rfc5869_case1);
    RUN(key_from_secret_is_deterministic);
    RUN(pinned_tokens);
    RUN(round_trip_many_sizes);
    RUN(same_plaintext_seals_differently);
    RUN(every_single_bit_flip_is_refused);
    RUN(wrong_purpose_or_key_is_forged);
    RUN(expiry);
    RUN(malformed_tokens);
    RUN(arguments_and_caps);
    RUN(strerror_is_distinct);
    RUN(threads_seal_and_unseal_concurrently);
    return test_summary();
}
