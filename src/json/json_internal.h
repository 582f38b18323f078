/* json_internal.h - what the parser and the writer share: the plain-run string scan and the
 * "C" locale that makes number conversion independent of the process locale. Private to
 * src/json. */
#ifndef MCP_JSON_INTERNAL_H
#define MCP_JSON_INTERNAL_H

#include <locale.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(JSON_NO_SIMD)
#include <emmintrin.h>
#define JSON_SSE2 1
#endif

/* The "C" locale, created once (thread-safe). Defined in json.c. */
locale_t json_c_locale(void);

/* Returns the first byte in [p, end) that is '"', '\\', below 0x20 or above 0x7f, or end.
 * 16 bytes at a time with SSE2, 8 with SWAR elsewhere. */
static inline const char *json_scan_plain(const char *p, const char *end)
{
#ifdef JSON_SSE2
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmplt_epi8(x, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x;
        if (hit & highs) break; /* the byte loop below finds which one */
        p += 8;
    }
#endif
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        p++;
    }
    return p;
}

/* Copies n bytes. Most strings and numbers in a message are short, and a libc call per copy
 * costs more than the work: up to 32 bytes use two overlapping fixed-size moves, which read
 * and write exactly n bytes. */
static inline void json_copy_bytes(char *d, const char *s, size_t n)
{
    if (n > 32) {
        memcpy(d, s, n);
    } else if (n >= 16) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++) d[i] = s[i];
    }
}

#endif
