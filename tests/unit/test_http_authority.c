/* test_http_authority.c - the strict Host and Origin parsers and the loopback decision.
 *
 * Table-driven: each Host or Origin value is parsed and the outcome (refused, or loopback or
 * not) checked, with the forms that fooled the old prefix checks first. */
#include "http/authority.c"

#include "test.h"

enum { BAD = -1, OTHER = 0, LOOP = 1 };

static int host_verdict(const char *s)
{
    http_authority a;
    if (http_parse_host(s, strlen(s), &a)) return BAD;
    return http_host_is_loopback(&a) ? LOOP : OTHER;
}

static int origin_verdict(const char *s)
{
    http_origin o;
    if (http_parse_origin(s, strlen(s), &o)) return BAD;
    return http_host_is_loopback(&o.a) ? LOOP : OTHER;
}

#define HOST_IS(s, v)                                                                              \
    do {                                                                                           \
        if (host_verdict(s) != (v)) T_FAIL("Host %s: got %d, want %d", s, host_verdict(s), v);     \
    } while (0)
#define ORIGIN_IS(s, v)                                                                            \
    do {                                                                                           \
        if (origin_verdict(s) != (v))                                                              \
            T_FAIL("Origin %s: got %d, want %d", s, origin_verdict(s), v);                         \
    } while (0)

TEST(fooled_forms_refused)
{
    ORIGIN_IS("http://127.0.0.1:80.evil.com", BAD);
    ORIGIN_IS("http://[::1].evil.com", BAD);
    HOST_IS("[::1].evil.com", BAD);
    HOST_IS("localhost:80@evil.com", BAD);
    HOST_IS("127.0.0.1.evil.com", OTHER); /* a DNS name, not an address */
    HOST_IS("127.evil.com", OTHER);
    HOST_IS("localhost.evil.com", OTHER);
    HOST_IS("user@localhost", BAD);
    HOST_IS("localhost/x", BAD);
    HOST_IS("localhost:8080/", BAD);
    HOST_IS("localhost?", BAD);
    HOST_IS("localhost#", BAD);
    HOST_IS("local%68ost", BAD);
    HOST_IS("[::1%25lo]", BAD);
    HOST_IS("[::1]x", BAD);
    HOST_IS("[::1", BAD);
    HOST_IS("::1", BAD); /* IPv6 without brackets is no authority */
    ORIGIN_IS("http://localhost.", OTHER);
    ORIGIN_IS("http://localhost/", BAD);
    ORIGIN_IS("http://user:pw@localhost", BAD);
    ORIGIN_IS("http://localhost:80@evil.com", BAD);
    ORIGIN_IS("http:/localhost", BAD);
    ORIGIN_IS("null", BAD);
    ORIGIN_IS("", BAD);
    ORIGIN_IS("://localhost", BAD);
    ORIGIN_IS("1http://localhost", BAD);
}

TEST(loopback_forms)
{
    HOST_IS("localhost", LOOP);
    HOST_IS("LocalHost:3000", LOOP);
    HOST_IS("127.0.0.1", LOOP);
    HOST_IS("127.1.2.3:65535", LOOP);
    HOST_IS("[::1]", LOOP);
    HOST_IS("[::1]:8080", LOOP);
    HOST_IS("[0:0:0:0:0:0:0:1]", LOOP);
    HOST_IS("[::2]", OTHER);
    HOST_IS("[::ffff:127.0.0.1]", OTHER); /* mapped: not the loopback address ::1 */
    HOST_IS("128.0.0.1", OTHER);
    HOST_IS("0127.0.0.1", OTHER); /* leading zero: not an address, a name */
    HOST_IS("127.0.0.256", OTHER);
    HOST_IS("127.1", OTHER);
    HOST_IS("example.com:80", OTHER);
    ORIGIN_IS("http://localhost:5173", LOOP);
    ORIGIN_IS("https://127.0.0.1", LOOP);
    ORIGIN_IS("http://[::1]:3000", LOOP);
    ORIGIN_IS("https://example.com", OTHER);
}

TEST(ports)
{
    HOST_IS("localhost:", BAD);
    HOST_IS("localhost:65536", BAD);
    HOST_IS("localhost:123456", BAD);
    HOST_IS("localhost:-1", BAD);
    HOST_IS("localhost:8a", BAD);
    HOST_IS("localhost:0", LOOP);
    HOST_IS("localhost::80", BAD);
    http_authority a;
    CHECK_INT(http_parse_host("h:8080", 6, &a), 0);
    CHECK_INT(a.port, 8080);
    CHECK_INT(http_parse_host("h", 1, &a), 0);
    CHECK_INT(a.port, -1);
    CHECK_MEM(a.host, a.host_len, "h", 1);
    CHECK_INT(http_parse_host("[::1]:9", 7, &a), 0);
    CHECK_MEM(a.host, a.host_len, "::1", 3);
    CHECK_INT(a.kind, HTTP_HOST_IPV6);
    CHECK_INT(a.port, 9);
}

TEST(origin_parts_and_same)
{
    http_origin o;
    http_authority h;
    CHECK_INT(http_parse_origin("HTTPS://Example.com", 19, &o), 0);
    CHECK(http_origin_is_web(&o));
    CHECK_MEM(o.a.host, o.a.host_len, "Example.com", 11);
    CHECK_INT(http_parse_host("example.com", 11, &h), 0);
    CHECK(!http_authority_same(&o.a, 443, &h, 80)); /* https default 443 vs Host 80 */
    CHECK(http_authority_same(&o.a, 443, &h, 443));
    CHECK_INT(http_parse_origin("http://example.com:8080", 23, &o), 0);
    CHECK_INT(http_parse_host("EXAMPLE.com:8080", 16, &h), 0);
    CHECK(http_authority_same(&o.a, 80, &h, 80));
    CHECK_INT(http_parse_host("example.com:8081", 16, &h), 0);
    CHECK(!http_authority_same(&o.a, 80, &h, 80));
    CHECK_INT(http_parse_origin("chrome-extension://abc", 22, &o), 0);
    CHECK(!http_origin_is_web(&o));
    /* lengths, not NULs: a value with a NUL inside is refused */
    CHECK_INT(http_parse_host("localhost\0evil", 14, &h), -1);
}

int main(void)
{
    RUN(fooled_forms_refused);
    RUN(loopback_forms);
    RUN(ports);
    RUN(origin_parts_and_same);
    return test_summary();
}
