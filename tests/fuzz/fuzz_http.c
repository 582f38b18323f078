/* fuzz_http.c - libFuzzer target for the HTTP/1.1 request parser adapter.
 *
 * The first two bytes choose how the rest is cut into pieces (a seed for piece sizes) and
 * which limits apply (tight limits reach the limit paths quickly). The rest is fed piece by
 * piece as a connection would: whatever feed returns must be within the piece, a complete
 * request must be self-consistent (lengths match strings, the path is a prefix of the target,
 * the body fits the limit), and after an error the parser must refuse more input. The same
 * input is then fed whole to a second parser, which must produce the same sequence of requests
 * (or the same error), since the split of the bytes must never change the outcome. The Host and
 * Origin headers of every request, and the raw input itself, go through the authority parsers
 * (authority.c), whose answers must be self-consistent. */
#include "http/authority.h"
#include "http/parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_http: %s\n", what);
        abort();
    }
}

/* A digest of one outcome, compared between the two ways of feeding. */
typedef struct outcome {
    unsigned requests;
    unsigned long hash;
    int status;
} outcome;

static unsigned long mix(unsigned long h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ul;
    return h ^ n;
}

/* An accepted authority lies inside the text, has a host of its kind and a port in range, and
 * names the same host as itself; loopback is decided from the host alone. */
static void check_authority(const char *s, size_t len, const http_authority *a)
{
    check(a->host >= s && a->host + a->host_len <= s + len && a->host_len > 0, "host outside");
    check(a->port >= -1 && a->port <= 65535, "port out of range");
    for (size_t i = 0; i < a->host_len; i++) {
        char c = a->host[i];
        if (a->kind == HTTP_HOST_IPV4) check((c >= '0' && c <= '9') || c == '.', "IPv4 host");
        if (a->kind == HTTP_HOST_IPV6)
            check(c == ':' || c == '.' || (c >= '0' && c <= '9') ||
                      ((c | 32) >= 'a' && (c | 32) <= 'f'),
                  "IPv6 host");
    }
    check(http_authority_same(a, 80, a, 80), "an authority differs from itself");
    if (http_host_is_loopback(a) && a->kind == HTTP_HOST_NAME)
        check(a->host_len == 9 && !strncasecmp(a->host, "localhost", 9), "a loopback name");
}

static void authorities(const char *s, size_t len)
{
    http_authority a;
    http_origin o;
    if (http_parse_host(s, len, &a) == 0) check_authority(s, len, &a);
    if (http_parse_origin(s, len, &o) == 0) {
        check(o.scheme == s && o.scheme_len > 0 && o.scheme_len + 3 <= len, "origin scheme");
        check(!memcmp(s + o.scheme_len, "://", 3), "origin without ://");
        check_authority(s, len, &o.a);
        (void)http_origin_is_web(&o);
    }
}

static void check_request(const http_request *r, const http_limits *lim, outcome *o)
{
    check(strlen(r->target) == r->target_len, "target length");
    check(r->target_len <= lim->max_uri, "target over limit");
    check(strlen(r->path) == r->path_len, "path length");
    check(memcmp(r->target, r->path, r->path_len) == 0, "path not a prefix of target");
    check(!r->query || strlen(r->query) == r->query_len, "query length");
    check(r->body_len <= lim->max_body, "body over limit");
    check(r->body[r->body_len] == '\0', "body not terminated");
    check(r->header_count <= lim->max_headers, "too many headers");
    for (size_t i = 0; i < r->header_count; i++) {
        check(strlen(r->headers[i].name) == r->headers[i].name_len, "name length");
        check(strlen(r->headers[i].value) == r->headers[i].value_len, "value length");
        check(http_header_get(r, r->headers[i].name) != NULL, "lookup of a present header");
    }
    for (size_t i = 0; lim->unique && lim->unique[i]; i++) /* slots agree with a search */
        check(r->unique[i] == http_header_get(r, lim->unique[i]), "unique header slot");
    const char *host = http_header_get(r, "host"), *origin = http_header_get(r, "origin");
    if (host) authorities(host, strlen(host));
    if (origin) authorities(origin, strlen(origin));
    check(r->version_major == 1, "version");
    o->requests++;
    o->hash = mix(o->hash, r->target, r->target_len);
    o->hash = mix(o->hash, r->body, r->body_len);
    o->hash = mix(o->hash, &r->header_count, sizeof r->header_count);
    o->hash = mix(o->hash, &r->keep_alive, sizeof r->keep_alive);
}

/* Feeds one piece, handing out every complete request. Returns false after an error. */
static bool feed_piece(http_parser *p, const char *d, size_t n, const http_limits *lim, outcome *o)
{
    while (n > 0) {
        http_request *r = NULL;
        ssize_t k = http_parser_feed(p, d, n, &r);
        if (k < 0) {
            check(r == NULL, "request with an error");
            http_parser_error(p, &o->status);
            check(o->status >= 400 && o->status <= 505, "error status");
            check(http_parser_feed(p, d, n, &r) == -1, "feed after error");
            return false;
        }
        check((size_t)k <= n, "consumed more than fed");
        if (r)
            check_request(r, lim, o);
        else
            check((size_t)k == n, "no request but bytes left");
        (void)http_parser_take_continue(p);
        d += k;
        n -= (size_t)k;
    }
    return true;
}

static void run(const char *d, size_t n, const http_limits *lim, unsigned seed, outcome *o)
{
    http_parser p;
    http_parser_init(&p, lim);
    size_t off = 0;
    while (off < n) {
        size_t piece = seed ? 1 + (seed % 37) : n - off;
        seed = seed * 1103515245u + 12345u;
        if (piece > n - off) piece = n - off;
        if (!feed_piece(&p, d + off, piece, lim, o)) break;
        off += piece;
    }
    http_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    authorities((const char *)data + 2, size - 2);
    unsigned seed = data[0] | 1u;
    static const char *const unique[] = {"mcp-protocol-version", "mcp-session-id", "mcp-method",
                                         "mcp-name", NULL};
    http_limits lim = {.unique = unique};
    if (data[1] & 1)
        lim = (http_limits){.max_header_bytes = 256,
                            .max_uri = 64,
                            .max_body = 128,
                            .max_headers = 8,
                            .unique = unique};
    if (data[1] & 2) seed = 0; /* whole input at once, then byte-sized pieces below */
    if (data[1] & 4) seed = 1;
    http_limits eff = lim;
    http_parser tmp;
    http_parser_init(&tmp, &lim);
    eff = tmp.lim;
    http_parser_free(&tmp);
    const char *d = (const char *)data + 2;
    size_t n = size - 2;
    outcome a = {0, 14695981039346656037ul, 0}, b = a;
    run(d, n, &eff, seed, &a);
    run(d, n, &eff, 0, &b);
    check(a.requests == b.requests && a.hash == b.hash && a.status == b.status,
          "outcome depends on how the bytes were split");
    return 0;
}
