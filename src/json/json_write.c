/* json_write.c - the streaming writer: values in, JSON text out into an mcp_buf.
 *
 * The writer keeps, per nesting level, whether an element was written (so it knows where the
 * commas go) and whether the level is an object (so a value there must follow a key). Misuse
 * (a value where a key is due, an unbalanced end, nesting past JSON_WRITER_MAX_DEPTH) sets the
 * sticky w->error; a full buffer shows as buf->overflow. Neither stops the writer, so callers
 * check once at the end.
 *
 * Strings are scanned like the parser does, 16 bytes at a time for '"', '\\', control bytes
 * and non-ASCII bytes; plain runs are appended in one copy. Valid UTF-8 passes through except
 * U+2028/U+2029, which are escaped so the output is also valid JavaScript. Invalid UTF-8 is
 * replaced by U+FFFD, one per maximal invalid subpart (the Unicode "best practice"), so the
 * output is always valid JSON. Doubles use the shortest of %.15g/%.16g/%.17g that reads back
 * to the same bits, in the "C" locale, and always carry a '.' or an exponent so that they read
 * back as doubles. */
#include "json/json.h"
#include "json/json_internal.h"
#include "base/base64.h"
#include "base/alloc.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- strings ------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at u (lead byte >= 0x80), or minus the length of its
 * maximal invalid subpart (the lead and the continuation bytes that were still plausible). */
static int utf8_len(const unsigned char *u, size_t avail)
{
    unsigned char c = u[0], lo = 0x80, hi = 0xBF;
    int n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return -1;
    }
    if (avail < 2 || u[1] < lo || u[1] > hi) return -1;
    for (int i = 2; i < n; i++)
        if ((size_t)i >= avail || (u[i] & 0xC0) != 0x80) return -i;
    return n;
}

/* Appends the escape for the special byte at p; returns the bytes of input it consumed. */
static size_t escape_one(mcp_buf *buf, const char *p, const char *end)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)*p;
    char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    switch (c) {
    case '"':
        mcp_buf_append(buf, "\\\"", 2);
        return 1;
    case '\\':
        mcp_buf_append(buf, "\\\\", 2);
        return 1;
    case '\b':
        mcp_buf_append(buf, "\\b", 2);
        return 1;
    case '\f':
        mcp_buf_append(buf, "\\f", 2);
        return 1;
    case '\n':
        mcp_buf_append(buf, "\\n", 2);
        return 1;
    case '\r':
        mcp_buf_append(buf, "\\r", 2);
        return 1;
    case '\t':
        mcp_buf_append(buf, "\\t", 2);
        return 1;
    }
    if (c < 0x20) {
        mcp_buf_append(buf, e, 6);
        return 1;
    }
    int n = utf8_len((const unsigned char *)p, (size_t)(end - p));
    if (n < 0) {
        mcp_buf_append(buf, "\xEF\xBF\xBD", 3); /* U+FFFD */
        return (size_t)-n;
    }
    /* only U+2028 and U+2029 come here valid: the caller passes other sequences through */
    mcp_buf_append(buf, p[2] == '\xA8' ? "\\u2028" : "\\u2029", 6);
    return 3;
}

static inline bool is_line_sep(const char *p, const char *end)
{
    return end - p >= 3 && p[0] == '\xE2' && p[1] == '\x80' && (p[2] == '\xA8' || p[2] == '\xA9');
}

/* Short strings (most keys and values) are checked a word at a time: a word is plain when no
 * byte is '"', '\\', below 0x20 or above 0x7f. The classic "has a zero byte" tests can flag
 * a byte above a real hit, never a word without one, so "any" is exact. */
static inline bool plain_word(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return ((((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x) & highs) == 0;
}

/* True if s[0..n), n <= 16, needs no escaping: two overlapping loads, no loop. */
static inline bool plain_short(const char *s, size_t n)
{
    uint64_t x = 0, y = 0;
    if (n >= 8) {
        memcpy(&x, s, 8);
        memcpy(&y, s + n - 8, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        x = a | (uint64_t)0x20202020 << 32; /* pad with spaces, which are plain */
        y = b | (uint64_t)0x20202020 << 32;
    } else {
        x = y = 0x2020202020202020u;
        for (size_t i = 0; i < n; i++) x = (x << 8) | (unsigned char)s[i];
    }
    return plain_word(x) && plain_word(y);
}

/* Appends s..end escaped, given that p is its first special byte (or end). */
static void escape_from(mcp_buf *buf, const char *s, const char *p, const char *end)
{
    const char *run = s;
    for (; p < end; p = json_scan_plain(p, end)) {
        if ((unsigned char)*p >= 0x80 && !is_line_sep(p, end)) {
            int n = utf8_len((const unsigned char *)p, (size_t)(end - p));
            if (n > 0) { /* valid UTF-8 stays in the run */
                p += n;
                continue;
            }
        }
        if (p > run) mcp_buf_append(buf, run, (size_t)(p - run));
        p += escape_one(buf, p, end);
        run = p;
    }
    if (end > run) mcp_buf_append(buf, run, (size_t)(end - run));
}

void json_escape_into(mcp_buf *buf, const char *s, size_t len)
{
    escape_from(buf, s, json_scan_plain(s, s + len), s + len);
}

/* Writes pre + '"' + s + '"' + post, where pre is 0 or 1 byte and post 0 to 2 bytes of
 * punctuation (a comma before a key, a colon after it; a non-empty post has 2 readable bytes). A
 * plain string, the usual case, costs one reserve and one copy. */
static void put_string(mcp_buf *buf, const char *pre, size_t npre, const char *s, size_t len,
                       const char *post, size_t npost)
{
    const char *end = s + len;
    const char *p = len <= 16 && plain_short(s, len) ? end : json_scan_plain(s, end);
    if (p == end && mcp_buf_reserve(buf, len + 5) == 0) {
        char *o = buf->data + buf->len;
        if (npre) *o++ = *pre; /* npre and npost are at most 2, written as fixed-size moves */
        *o++ = '"';
        json_copy_bytes(o, s, len);
        o += len;
        *o++ = '"';
        if (npost) memcpy(o, post, 2);
        buf->len = (size_t)(o + npost - buf->data);
        return;
    }
    if (npre) mcp_buf_putc(buf, *pre);
    mcp_buf_putc(buf, '"');
    escape_from(buf, s, p, end);
    mcp_buf_putc(buf, '"');
    if (npost) mcp_buf_append(buf, post, npost);
}

/* ---- structure ------------------------------------------------------------------------------ */

void json_writer_init(json_writer *w, mcp_buf *buf, bool pretty)
{
    w->buf = buf;
    w->depth = 0;
    w->pretty = pretty;
    w->error = false;
    w->after_key = false;
    w->need_comma[0] = 0;
    w->in_object[0] = 0;
}

static void newline_indent(json_writer *w, uint32_t depth)
{
    static const char spaces[] = "                                                                ";
    size_t n = (size_t)depth * 2;
    mcp_buf_putc(w->buf, '\n');
    for (; n > sizeof spaces - 1; n -= sizeof spaces - 1)
        mcp_buf_append(w->buf, spaces, sizeof spaces - 1);
    if (n) mcp_buf_append(w->buf, spaces, n);
}

/* Places the comma and indentation before a value, or accepts the value after a key. */
static void before_value(json_writer *w)
{
    uint32_t d = w->depth;
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->in_object[d]) w->error = true; /* a value where a member name is due */
    if (w->need_comma[d]) {
        if (d == 0)
            w->error = true; /* a second top-level value */
        else
            mcp_buf_putc(w->buf, ',');
    }
    if (w->pretty && d) newline_indent(w, d);
    w->need_comma[d] = 1;
}

static void begin(json_writer *w, char c, bool is_obj)
{
    before_value(w);
    if (w->depth >= JSON_WRITER_MAX_DEPTH) {
        w->error = true;
        return;
    }
    mcp_buf_putc(w->buf, c);
    w->depth++;
    w->need_comma[w->depth] = 0;
    w->in_object[w->depth] = is_obj;
}

static void end(json_writer *w, char c, bool is_obj)
{
    uint32_t d = w->depth;
    if (d == 0 || w->after_key || w->in_object[d] != is_obj) {
        w->error = true;
        return;
    }
    w->depth--;
    if (w->pretty && w->need_comma[d]) newline_indent(w, w->depth);
    mcp_buf_putc(w->buf, c);
}

void json_write_obj_begin(json_writer *w)
{
    begin(w, '{', true);
}

void json_write_obj_end(json_writer *w)
{
    end(w, '}', true);
}

void json_write_arr_begin(json_writer *w)
{
    begin(w, '[', false);
}

void json_write_arr_end(json_writer *w)
{
    end(w, ']', false);
}

void json_write_key(json_writer *w, const char *key, size_t len)
{
    uint32_t d = w->depth;
    bool comma = w->need_comma[d];
    if (!w->in_object[d] || w->after_key) w->error = true;
    w->need_comma[d] = 1;
    w->after_key = true;
    if (!w->pretty) {
        put_string(w->buf, ",", comma, key, len, ":", 1);
        return;
    }
    if (comma) mcp_buf_putc(w->buf, ',');
    newline_indent(w, d);
    put_string(w->buf, "", 0, key, len, ": ", 2);
}

void json_write_keyz(json_writer *w, const char *key)
{
    json_write_key(w, key, strlen(key));
}

/* ---- scalars -------------------------------------------------------------------------------- */

void json_write_str(json_writer *w, const char *s, size_t len)
{
    before_value(w);
    put_string(w->buf, "", 0, s, len, "", 0);
}

void json_write_strz(json_writer *w, const char *s)
{
    json_write_str(w, s, strlen(s));
}

/* Digits of v, right-aligned in out[0..24); returns the first. */
static char *u64_digits(uint64_t v, char out[24])
{
    char *p = out + 24;
    do *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return p;
}

void json_write_uint(json_writer *w, uint64_t v)
{
    char d[24], *p = u64_digits(v, d);
    before_value(w);
    mcp_buf_append(w->buf, p, (size_t)(d + 24 - p));
}

void json_write_int(json_writer *w, int64_t v)
{
    /* the magnitude computed in unsigned arithmetic, so INT64_MIN needs no special case */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char d[24], *p = u64_digits(mag, d);
    if (v < 0) *--p = '-';
    before_value(w);
    mcp_buf_append(w->buf, p, (size_t)(d + 24 - p));
}

/* Rewrites printf output into C-locale form: whatever the process locale used as the decimal
 * point (',' or a multibyte string) becomes '.'. */
static size_t c_number(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e')
            s[o++] = c;
        else if (o == 0 || s[o - 1] != '.')
            s[o++] = '.';
    }
    s[o] = '\0';
    return o;
}

/* The shortest %.15g/%.16g/%.17g form of finite d that reads back as d, with ".0" added when
 * it would otherwise read back as an integer. Returns its length (< 40). */
static size_t format_double(double d, char out[40])
{
    size_t n = 0;
    locale_t c_loc = json_c_locale();
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, d);
        n = c_number(out);
        if (strtod_l(out, NULL, c_loc) == d) break;
    }
    if (!strpbrk(out, ".e")) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    return n;
}

void json_write_double(json_writer *w, double v)
{
    char s[40];
    if (!isfinite(v)) {
        json_write_null(w);
        return;
    }
    size_t n = format_double(v, s);
    before_value(w);
    mcp_buf_append(w->buf, s, n);
}

void json_write_bool(json_writer *w, bool v)
{
    before_value(w);
    if (v)
        mcp_buf_append(w->buf, "true", 4);
    else
        mcp_buf_append(w->buf, "false", 5);
}

void json_write_null(json_writer *w)
{
    before_value(w);
    mcp_buf_append(w->buf, "null", 4);
}

void json_write_raw(json_writer *w, const char *json, size_t len)
{
    before_value(w);
    if (mcp_buf_reserve(w->buf, len) < 0) return;
    json_copy_bytes(w->buf->data + w->buf->len, json, len);
    w->buf->len += len;
}

void json_write_base64(json_writer *w, const void *bin, size_t len)
{
    before_value(w);
    mcp_buf_putc(w->buf, '"');
    mcp_base64_encode(w->buf, bin, len, false);
    mcp_buf_putc(w->buf, '"');
}

/* ---- DOM ------------------------------------------------------------------------------------- */

void json_write_value(json_writer *w, const json_value *v)
{
    /* Recursion stays bounded: a container deeper than the writer allows is not entered. */
    if ((v->type == JSON_ARRAY || v->type == JSON_OBJECT) && w->depth >= JSON_WRITER_MAX_DEPTH) {
        w->error = true;
        return;
    }
    switch (v->type) {
    case JSON_NULL:
        json_write_null(w);
        break;
    case JSON_BOOL:
        json_write_bool(w, v->b);
        break;
    case JSON_INT:
    case JSON_DOUBLE:
        if (v->u.num.text && v->len)
            json_write_raw(w, v->u.num.text, v->len);
        else if (v->type == JSON_INT)
            json_write_int(w, v->u.num.i);
        else
            json_write_double(w, v->u.num.d);
        break;
    case JSON_STRING:
        json_write_str(w, v->u.str, v->len);
        break;
    case JSON_ARRAY:
        json_write_arr_begin(w);
        for (uint32_t i = 0; i < v->len; i++) json_write_value(w, &v->u.items[i]);
        json_write_arr_end(w);
        break;
    case JSON_OBJECT:
        json_write_obj_begin(w);
        for (uint32_t i = 0; i < v->len; i++) {
            json_write_key(w, v->u.members[i].key, v->u.members[i].key_len);
            json_write_value(w, &v->u.members[i].value);
        }
        json_write_obj_end(w);
        break;
    default:
        w->error = true;
        break;
    }
}

int json_serialize(mcp_buf *buf, const json_value *v, bool pretty)
{
    json_writer w;
    json_writer_init(&w, buf, pretty);
    json_write_value(&w, v);
    return buf->overflow || w.error ? -1 : 0;
}
