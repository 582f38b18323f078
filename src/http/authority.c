/* authority.c - strict Host and Origin parsing for the DNS-rebinding guard.
 *
 * One small grammar serves both headers: an authority is a host (a bracketed IPv6 literal
 * checked with inet_pton, or a run of unreserved characters that is an IPv4 address when it
 * is four dotted decimal parts, else a name) optionally followed by ":" and a decimal port;
 * the parse must end exactly at the end of the input. An origin is an RFC 3986 scheme, "://",
 * and such an authority. The loopback decision is made on the parsed host only. Userinfo,
 * percent-encoding, zone ids and sub-delimiters are refused: no browser sends them in these
 * headers, and each is a way to make a naive prefix check see "127.0.0.1". */
#include "http/authority.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Four dotted parts of 1-3 digits, each 0..255, no leading zero (0127 is octal to some). */
static bool is_ipv4(const char *s, size_t n, unsigned char out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (i >= n || s[i] != '.') return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && is_digit(s[i]) && i - start < 3) v = v * 10 + (unsigned)(s[i++] - '0');
        size_t digits = i - start;
        if (!digits || v > 255 || (digits > 1 && s[start] == '0')) return false;
        out[part] = (unsigned char)v;
    }
    return i == n;
}

/* Parses "[v6]" at s; returns the bytes used (brackets included) or 0. */
static size_t parse_ipv6(const char *s, size_t len, http_authority *out)
{
    const char *end = memchr(s, ']', len);
    if (!end) return 0;
    size_t n = (size_t)(end - s) - 1;
    char tmp[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    if (n == 0 || n >= sizeof tmp) return 0;
    memcpy(tmp, s + 1, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET6, tmp, bin) != 1) return 0; /* also refuses zone ids ("%25eth0") */
    out->host = s + 1;
    out->host_len = n;
    out->kind = HTTP_HOST_IPV6;
    return n + 2;
}

/* ":" 1*5DIGIT up to 65535 at the very end of s. */
static int parse_port(const char *s, size_t len)
{
    if (len < 2 || len > 6 || s[0] != ':') return -1;
    long v = 0;
    for (size_t i = 1; i < len; i++) {
        if (!is_digit(s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= 65535 ? (int)v : -1;
}

int http_parse_host(const char *s, size_t len, http_authority *out)
{
    memset(out, 0, sizeof *out);
    out->port = -1;
    size_t used;
    if (len && s[0] == '[') {
        used = parse_ipv6(s, len, out);
        if (!used) return -1;
    } else {
        used = 0;
        while (used < len && is_unreserved(s[used])) used++;
        if (!used) return -1;
        unsigned char v4[4];
        out->host = s;
        out->host_len = used;
        out->kind = is_ipv4(s, used, v4) ? HTTP_HOST_IPV4 : HTTP_HOST_NAME;
    }
    if (used == len) return 0;
    out->port = parse_port(s + used, len - used);
    return out->port < 0 ? -1 : 0;
}

int http_parse_origin(const char *s, size_t len, http_origin *out)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    if (!len || !is_alpha(s[0])) return -1;
    while (i < len &&
           (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (len - i < 3 || memcmp(s + i, "://", 3)) return -1;
    out->scheme = s;
    out->scheme_len = i;
    return http_parse_host(s + i + 3, len - i - 3, &out->a);
}

bool http_host_is_loopback(const http_authority *a)
{
    if (a->kind == HTTP_HOST_NAME) return a->host_len == 9 && !strncasecmp(a->host, "localhost", 9);
    if (a->kind == HTTP_HOST_IPV4) {
        unsigned char v4[4];
        return is_ipv4(a->host, a->host_len, v4) && v4[0] == 127;
    }
    char tmp[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    if (a->host_len >= sizeof tmp) return false;
    memcpy(tmp, a->host, a->host_len);
    tmp[a->host_len] = '\0';
    return inet_pton(AF_INET6, tmp, bin) == 1 && !memcmp(bin, &in6addr_loopback, 16);
}

bool http_origin_is_web(const http_origin *o)
{
    return (o->scheme_len == 4 && !strncasecmp(o->scheme, "http", 4)) ||
           (o->scheme_len == 5 && !strncasecmp(o->scheme, "https", 5));
}

bool http_authority_same(const http_authority *a, int a_default_port, const http_authority *b,
                         int b_default_port)
{
    int pa = a->port >= 0 ? a->port : a_default_port;
    int pb = b->port >= 0 ? b->port : b_default_port;
    return a->kind == b->kind && a->host_len == b->host_len &&
           !strncasecmp(a->host, b->host, a->host_len) && pa == pb;
}
