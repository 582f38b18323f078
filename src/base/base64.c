/* base64.c - table-driven base64 encode and strict decode (RFC 4648 sections 4 and 5).
 *
 * Encoding maps each 3 bytes to 4 characters, and a 1- or 2-byte tail to 2 or 3 characters
 * plus padding (standard) or none (url). Decoding first checks the shape (length, padding),
 * then maps whole quanta through a 256-entry table where -1 marks a byte outside the alphabet,
 * and finally requires the bits the last character carries beyond the data to be zero, so
 * every byte string has exactly one accepted encoding. */
#include "base/base64.h"

#include <errno.h>
#include <stdint.h>

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void mcp_base64_encode(mcp_buf *out, const void *p, size_t n, bool url)
{
    const unsigned char *in = p;
    const char *abc = url ? URL : STD;
    if (!n) return; /* out->data may be NULL: no pointer arithmetic on it */
    if (mcp_buf_reserve(out, mcp_base64_encoded_len(n, url)) < 0) return;
    char *o = out->data + out->len;
    size_t i = 0;
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
        *o++ = abc[(v >> 6) & 63];
        *o++ = abc[v & 63];
    }
    if (n - i) {
        uint32_t v = (uint32_t)in[i] << 16 | (n - i == 2 ? (uint32_t)in[i + 1] << 8 : 0);
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
        if (n - i == 2)
            *o++ = abc[(v >> 6) & 63];
        else if (!url)
            *o++ = '=';
        if (!url) *o++ = '=';
    }
    out->len = (size_t)(o - out->data);
}

/* Reverse tables built at compile time (designated initializers): decode needs no init step
 * and no once-guard. */
#define R_(c, v) [(unsigned char)(c)] = (v) + 1 /* stored +1 so that 0 means "not in alphabet" */
#define R_COMMON                                                                                   \
    R_('A', 0), R_('B', 1), R_('C', 2), R_('D', 3), R_('E', 4), R_('F', 5), R_('G', 6),            \
        R_('H', 7), R_('I', 8), R_('J', 9), R_('K', 10), R_('L', 11), R_('M', 12), R_('N', 13),    \
        R_('O', 14), R_('P', 15), R_('Q', 16), R_('R', 17), R_('S', 18), R_('T', 19), R_('U', 20), \
        R_('V', 21), R_('W', 22), R_('X', 23), R_('Y', 24), R_('Z', 25), R_('a', 26), R_('b', 27), \
        R_('c', 28), R_('d', 29), R_('e', 30), R_('f', 31), R_('g', 32), R_('h', 33), R_('i', 34), \
        R_('j', 35), R_('k', 36), R_('l', 37), R_('m', 38), R_('n', 39), R_('o', 40), R_('p', 41), \
        R_('q', 42), R_('r', 43), R_('s', 44), R_('t', 45), R_('u', 46), R_('v', 47), R_('w', 48), \
        R_('x', 49), R_('y', 50), R_('z', 51), R_('0', 52), R_('1', 53), R_('2', 54), R_('3', 55), \
        R_('4', 56), R_('5', 57), R_('6', 58), R_('7', 59), R_('8', 60), R_('9', 61)
static const unsigned char REV_STD[256] = {R_COMMON, R_('+', 62), R_('/', 63)};
static const unsigned char REV_URL[256] = {R_COMMON, R_('-', 62), R_('_', 63)};

/* Returns the number of data characters in s[0..n) (padding stripped), or -1 for a shape no
 * encoding has. */
static long data_chars(const char *s, size_t n, bool url)
{
    if (url) return n % 4 == 1 ? -1 : (long)n;
    if (n % 4) return -1;
    size_t pad = 0;
    while (pad < 2 && pad < n && s[n - 1 - pad] == '=') pad++;
    return (long)(n - pad); /* a third '=' or one inside the data fails the alphabet check */
}

/* Decodes the k (2..4) characters at s into k-1 bytes at o. Returns -1 on a bad character or
 * on non-zero bits beyond the data in a short final group. */
static int quantum(const unsigned char *rev, const char *s, size_t k, unsigned char *o)
{
    uint32_t v = 0;
    for (size_t j = 0; j < 4; j++) {
        unsigned d = j < k ? rev[(unsigned char)s[j]] : 1;
        if (!d) return -1;
        v = v << 6 | (d - 1);
    }
    if ((k == 2 && (v & 0xffff)) || (k == 3 && (v & 0xff))) return -1;
    o[0] = (unsigned char)(v >> 16);
    if (k > 2) o[1] = (unsigned char)(v >> 8);
    if (k > 3) o[2] = (unsigned char)v;
    return 0;
}

int mcp_base64_decode(mcp_buf *out, const char *s, size_t n, bool url)
{
    long m = data_chars(s, n, url);
    if (m < 0) return -EINVAL;
    size_t chars = (size_t)m, tail = chars % 4;
    if (tail == 1) return -EINVAL;
    size_t bytes = chars / 4 * 3 + (tail ? tail - 1 : 0);
    if (!bytes) return 0; /* only "" gets here; out->data may be NULL */
    if (mcp_buf_reserve(out, bytes) < 0) return -ENOBUFS;
    const unsigned char *rev = url ? REV_URL : REV_STD;
    unsigned char *o = (unsigned char *)out->data + out->len;
    for (size_t i = 0; i < chars; i += 4, o += 3) {
        size_t k = chars - i < 4 ? chars - i : 4;
        if (quantum(rev, s + i, k, o) < 0) return -EINVAL;
    }
    out->len += bytes;
    return 0;
}
