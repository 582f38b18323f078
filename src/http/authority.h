/* authority.h - strict parsers for the Host and Origin request headers, and the loopback test.
 *
 * The DNS-rebinding guard of a server decides on these two headers, so they are parsed as
 * what they are, never by their first characters: Host as an RFC 9110 7.2 authority
 * (uri-host [":" port], no userinfo, an IPv6 literal in brackets), Origin as an RFC 6454
 * serialized origin (scheme "://" host [":" port] and nothing else). Anything else is refused
 * as a whole, so "127.0.0.1:80.evil.com", "[::1].evil.com" or "localhost:80@evil.com" never
 * count as loopback. Pure functions: no allocation, no I/O; any thread. Knows nothing of MCP.
 * See docs/internals/http.md. */
#ifndef MCP_HTTP_AUTHORITY_H
#define MCP_HTTP_AUTHORITY_H

#include <stdbool.h>
#include <stddef.h>

typedef enum http_host_kind {
    HTTP_HOST_NAME, /* a reg-name of unreserved characters: letters, digits, "-", ".", "_", "~" */
    HTTP_HOST_IPV4, /* dotted-decimal, four parts of 0..255 without leading zeros */
    HTTP_HOST_IPV6, /* a bracketed IPv6 literal (the brackets are not part of host) */
} http_host_kind;

/* A parsed authority. host points into the parsed string (not NUL-terminated). */
typedef struct http_authority {
    const char *host;
    size_t host_len;
    http_host_kind kind;
    int port; /* 0..65535, or -1 when absent */
} http_authority;

/* A parsed origin: the scheme (lower- or upper-case as sent) and the authority. */
typedef struct http_origin {
    const char *scheme;
    size_t scheme_len;
    http_authority a;
} http_origin;

/* Parses s[0..len) as a Host header value: host [":" port] with host a reg-name, an IPv4
 * address or "[" IPv6 "]", port 1..5 digits up to 65535. Returns 0 and fills *out, or -1
 * (empty, userinfo, a path, a bad character, a bad port, anything after the authority). */
int http_parse_host(const char *s, size_t len, http_authority *out);

/* Parses s[0..len) as an Origin header value: scheme "://" host [":" port], nothing after
 * (no path, not even "/"). "null" and every other form is -1. Returns 0 and fills *out. */
int http_parse_origin(const char *s, size_t len, http_origin *out);

/* True if a parsed host names this machine: "localhost" (any case), an IPv4 address in
 * 127.0.0.0/8, or the IPv6 address ::1 (any spelling, e.g. 0:0:0:0:0:0:0:1). */
bool http_host_is_loopback(const http_authority *a);

/* True if the scheme of o is http or https (any case). */
bool http_origin_is_web(const http_origin *o);

/* True if two authorities name the same host (case-insensitive) and port. An absent port
 * equals the default port given for that side (e.g. 80 for Host, the scheme's for Origin). */
bool http_authority_same(const http_authority *a, int a_default_port, const http_authority *b,
                         int b_default_port);

#endif
