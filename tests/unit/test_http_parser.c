/* test_http_parser.c - unit tests of the HTTP/1.1 request parser adapter and response writers.
 *
 * Requests are fed whole, pipelined, and byte by byte; every smuggling shape and every limit
 * (exactly at it and one byte over) is checked for its status and reason. Run under ASan, the
 * keep-alive reuse test also shows that per-request memory is recycled without leaks. */
#include "http/parser.c"

#include "test.h"

/* Feeds all of raw (in pieces of `step` bytes, 0: whole) and returns the first request, or NULL
 * on an error or an incomplete request. *used: bytes consumed up to the request. */
static http_request *feed_steps(http_parser *p, const char *raw, size_t len, size_t step,
                                size_t *used)
{
    size_t off = 0;
    http_request *r = NULL;
    while (off < len) {
        size_t n = step && step < len - off ? step : len - off;
        ssize_t k = http_parser_feed(p, raw + off, n, &r);
        if (k < 0) return NULL;
        if ((size_t)k > n) return NULL;
        off += (size_t)k;
        if (r) break;
    }
    if (used) *used = off;
    return r;
}

static http_request *feed_all(http_parser *p, const char *raw)
{
    return feed_steps(p, raw, strlen(raw), 0, NULL);
}

/* Feeds raw to a fresh default parser and checks it fails with status and a reason containing
 * why. */
static const char *const once[] = {"x-once", NULL};
static const http_limits once_limits = {.unique = once};

static int expect_error(const char *raw, size_t len, int status, const char *why)
{
    http_parser p;
    http_parser_init(&p, &once_limits);
    http_request *r = feed_steps(&p, raw, len, 0, NULL);
    int st = 0;
    const char *reason = http_parser_error(&p, &st);
    int ok = !r && st == status && reason && strstr(reason, why);
    if (!ok)
        fprintf(stderr, "  got request=%p status=%d reason=%s for %.60s\n", (void *)r, st,
                reason ? reason : "(none)", raw);
    http_parser_free(&p);
    return ok;
}

#define REJECT(raw, status, why) CHECK(expect_error(raw, strlen(raw), status, why))

TEST(simple_get)
{
    http_parser p;
    http_parser_init(&p, NULL);
    const char *raw = "GET /mcp?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
    size_t used = 0;
    http_request *r = feed_steps(&p, raw, strlen(raw), 0, &used);
    CHECK(r != NULL);
    CHECK_INT(used, strlen(raw));
    CHECK_INT(r->method, HTTP_GET);
    CHECK_STR(r->method_name, "GET");
    CHECK_STR(r->target, "/mcp?x=1&y=2");
    CHECK_STR(r->path, "/mcp");
    CHECK_INT(r->path_len, 4);
    CHECK_STR(r->query, "x=1&y=2");
    CHECK_INT(r->query_len, 7);
    CHECK_INT(r->version_major, 1);
    CHECK_INT(r->version_minor, 1);
    CHECK_STR(r->host, "example.com");
    CHECK_STR(r->accept, "*/*");
    CHECK_INT(r->header_count, 2);
    CHECK_STR(r->headers[0].name, "host"); /* names are kept lowercased */
    CHECK(r->keep_alive);
    CHECK_INT(r->body_len, 0);
    CHECK_STR(r->body, "");
    CHECK(!r->expect_continue);
    CHECK(!http_parser_busy(&p));
    http_parser_free(&p);
}

TEST(no_query)
{
    http_parser p;
    http_parser_init(&p, NULL);
    http_request *r = feed_all(&p, "DELETE /mcp HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(r != NULL);
    CHECK_INT(r->method, HTTP_DELETE);
    CHECK_STR(r->path, "/mcp");
    CHECK(r->query == NULL);
    http_request *r2 = feed_all(&p, "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(r2 != NULL);
    CHECK_STR(r2->path, "/a");
    CHECK_STR(r2->query, "");
    http_parser_free(&p);
}

TEST(simple_post)
{
    http_parser p;
    http_parser_init(&p, NULL);
    const char *raw = "POST /mcp HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                      "Content-Length: 13\r\n\r\n{\"jsonrpc\":1}";
    http_request *r = feed_all(&p, raw);
    CHECK(r != NULL);
    CHECK_INT(r->method, HTTP_POST);
    CHECK_STR(r->content_type, "application/json");
    CHECK_STR(r->content_length_str, "13");
    CHECK_MEM(r->body, r->body_len, "{\"jsonrpc\":1}", 13);
    CHECK_INT(r->body[r->body_len], 0);
    CHECK(!r->chunked);
    size_t n = 0;
    char *b = http_request_take_body(&p, &n);
    CHECK_MEM(b, n, "{\"jsonrpc\":1}", 13);
    free(b);
    http_parser_free(&p);
}

TEST(pipelined_three)
{
    const char *raw = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                      "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                      "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
    http_parser p;
    http_parser_init(&p, NULL);
    size_t len = strlen(raw), off = 0;
    const char *paths[] = {"/a", "/b", "/c"};
    const char *bodies[] = {"hello", "abcde", ""};
    for (int i = 0; i < 3; i++) {
        http_request *r = NULL;
        ssize_t k = http_parser_feed(&p, raw + off, len - off, &r);
        CHECK(k > 0);
        CHECK(r != NULL);
        off += (size_t)k;
        CHECK_STR(r->path, paths[i]);
        CHECK_STR(r->body, bodies[i]);
        CHECK_INT(r->chunked, i == 1);
    }
    CHECK_INT(off, len);
    http_parser_free(&p);
}

TEST(chunked_byte_by_byte)
{
    const char *raw = "POST /mcp HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "a\r\n0123456789\r\n1;name;q=\"x y\"\r\nA\r\n0\r\n"
                      "X-Trailer: t\r\n\r\n"
                      "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    http_parser p;
    http_parser_init(&p, NULL);
    size_t used = 0, len = strlen(raw);
    http_request *r = feed_steps(&p, raw, len, 1, &used);
    CHECK(r != NULL);
    CHECK(r->chunked);
    CHECK_MEM(r->body, r->body_len, "0123456789A", 11);
    CHECK(http_header_get(r, "x-trailer") == NULL); /* trailers are not kept */
    r = feed_steps(&p, raw + used, len - used, 1, NULL);
    CHECK(r != NULL);
    CHECK_STR(r->path, "/next");
    http_parser_free(&p);
}

TEST(split_at_every_byte)
{
    const char *raw = "POST /x?q=1 HTTP/1.1\r\nHost: h\r\nMcp-Session-Id: abc\r\n"
                      "Content-Length: 4\r\n\r\nbody";
    size_t len = strlen(raw);
    for (size_t cut = 1; cut < len; cut++) {
        http_parser p;
        http_parser_init(&p, NULL);
        http_request *r = NULL;
        ssize_t k = http_parser_feed(&p, raw, cut, &r);
        CHECK_INT(k, cut);
        CHECK(r == NULL);
        CHECK(http_parser_busy(&p));
        k = http_parser_feed(&p, raw + cut, len - cut, &r);
        CHECK_INT(k, len - cut);
        CHECK(r != NULL);
        CHECK_STR(r->target, "/x?q=1");
        CHECK_STR(http_header_get(r, "Mcp-Session-Id"), "abc");
        CHECK_STR(r->body, "body");
        http_parser_free(&p);
    }
}

TEST(mcp_headers)
{
    http_parser p;
    http_parser_init(&p, NULL);
    http_request *r = feed_all(&p, "POST /mcp HTTP/1.1\r\nhost: h:8080\r\n"
                                   "MCP-Protocol-Version: 2025-11-25\r\n"
                                   "mcp-session-id:   s-1  \r\nMcp-Method: tools/call\r\n"
                                   "Mcp-Name: echo\r\nOrigin: http://localhost\r\n"
                                   "Last-Event-ID: 42\r\nConnection: keep-alive\r\n"
                                   "Accept: application/json\r\nAccept: text/event-stream\r\n"
                                   "X-Custom: v\r\nContent-Length: 0\r\n"
                                   "CONTENT-TYPE: application/json\r\n"
                                   "Origim: near-miss\r\nMcp-Methods: near-miss\r\n\r\n");
    CHECK(r != NULL);
    CHECK_STR(r->host, "h:8080");
    CHECK_STR(http_header_get(r, "mcp-protocol-version"), "2025-11-25");
    CHECK_STR(http_header_get(r, "Mcp-Session-Id"), "s-1");
    CHECK_STR(http_header_get(r, "Mcp-Method"), "tools/call");
    CHECK_STR(http_header_get(r, "Mcp-Name"), "echo");
    CHECK_STR(r->origin, "http://localhost");
    CHECK_STR(r->last_event_id, "42");
    CHECK_STR(r->connection, "keep-alive");
    CHECK_STR(r->accept, "application/json, text/event-stream");
    CHECK_STR(http_header_get(r, "MCP-SESSION-ID"), "s-1");
    CHECK_STR(http_header_get(r, "x-custom"), "v");
    CHECK_STR(http_header_get(r, "X-CUSTOM"), "v");
    CHECK(http_header_get(r, "x-custo") == NULL);
    CHECK(http_header_get(r, "x-customs") == NULL);
    CHECK_STR(r->content_type, "application/json");
    CHECK_STR(http_header_get(r, "origim"), "near-miss");
    CHECK_INT(r->header_count, 15);
    http_parser_free(&p);
}

/* Names are stored lowercased (8 bytes at a time, then the tail): every byte of a token that is
 * not 'A'..'Z' stays as it was, including the ones next to the letters in ASCII ('@' is not a
 * token byte, but '^', '`', '_', '|' and '~' are). */
TEST(names_lowercased)
{
    http_parser p;
    http_parser_init(&p, NULL);
    http_request *r = feed_all(&p, "GET / HTTP/1.1\r\nHost: h\r\n"
                                   "AZaz09^_`|~!#$%&'*+-.XYZ: 1\r\nX-Ab: 2\r\nABCDEFGH: 3\r\n\r\n");
    CHECK(r != NULL);
    CHECK_INT(r->header_count, 4);
    CHECK_STR(r->headers[0].name, "host");
    CHECK_STR(r->headers[1].name, "azaz09^_`|~!#$%&'*+-.xyz");
    CHECK_STR(r->headers[2].name, "x-ab");
    CHECK_STR(r->headers[3].name, "abcdefgh");
    CHECK_STR(http_header_get(r, "azAZ09^_`|~!#$%&'*+-.xyZ"), "1");
    CHECK(http_header_get(r, "AZAZ09~_`|~!#$%&'*+-.XYZ") == NULL); /* '^' is not '~' */
    for (unsigned c = 0; c < 256; c++) {
        char w[16], want[16];
        memset(w, c, 8), memset(w + 8, 'Q', 8);
        uint64_t x, y;
        memcpy(&x, w, 8);
        y = lower8(x);
        memcpy(want, &y, 8);
        CHECK(want[0] == (char)lower_tab[c] && want[7] == (char)lower_tab[c]);
        CHECK_INT(lower_tab[c], c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    http_parser_free(&p);
}

/* The headers the user lists as unique are pre-extracted, whatever the case they were sent in. */
TEST(unique_slots)
{
    static const char *const mcp[] = {"mcp-protocol-version", "mcp-session-id", "mcp-method", NULL};
    static const http_limits lim = {.unique = mcp};
    http_parser p;
    http_parser_init(&p, &lim);
    http_request *r = feed_all(&p, "POST / HTTP/1.1\r\nHost: h\r\nMCP-Method: tools/call\r\n"
                                   "User-Agent: x\r\nmcp-PROTOCOL-version: 2026-07-28\r\n"
                                   "Mcp-Methods: no\r\nContent-Length: 0\r\n\r\n");
    CHECK(r != NULL);
    CHECK_STR(r->unique[0], "2026-07-28");
    CHECK(r->unique[1] == NULL);
    CHECK_STR(r->unique[2], "tools/call");
    CHECK(r->unique[3] == NULL);
    /* the next request on the connection starts with empty slots */
    r = feed_all(&p, "POST / HTTP/1.1\r\nHost: h\r\nMcp-Session-Id: s\r\n\r\n");
    CHECK(r != NULL);
    CHECK(r->unique[0] == NULL && r->unique[2] == NULL);
    CHECK_STR(r->unique[1], "s");
    http_parser_free(&p);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX-ONCE: a\r\nX-Other: c\r\nx-Once: b\r\n\r\n", 400,
           "duplicate x-once");
}

TEST(keep_alive)
{
    http_parser p;
    http_parser_init(&p, NULL);
    http_request *r = feed_all(&p, "GET / HTTP/1.0\r\n\r\n");
    CHECK(r != NULL);
    CHECK(!r->keep_alive);
    http_parser_free(&p);

    http_parser_init(&p, NULL);
    r = feed_all(&p, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(r != NULL);
    CHECK(r->keep_alive);
    CHECK_INT(r->version_minor, 0);
    http_parser_free(&p);

    http_parser_init(&p, NULL);
    r = feed_all(&p, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    CHECK(r != NULL);
    CHECK(!r->keep_alive);
    http_parser_free(&p);

    http_parser_init(&p, NULL);
    r = feed_all(&p, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(r != NULL);
    CHECK(r->keep_alive);
    http_parser_free(&p);
}

/* A big Content-Length body read straight into the body buffer: the room never reaches past
 * the body (so a pipelined request's bytes stay out), the bytes fed in place are not copied,
 * and the request that follows is parsed as usual. */
TEST(body_room)
{
    http_parser p;
    http_parser_init(&p, NULL);
    http_request *r = NULL;
    size_t room = 0;
    CHECK(http_parser_body_room(&p, 1, &room) == NULL); /* no request yet */
    const char *head = "POST /mcp HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab";
    CHECK_INT(http_parser_feed(&p, head, strlen(head), &r), strlen(head));
    CHECK(r == NULL);
    CHECK(http_parser_body_room(&p, 9, &room) == NULL); /* 8 left: under min */
    char *at = http_parser_body_room(&p, 4, &room);
    CHECK(at != NULL);
    CHECK_INT(room, 8);
    memcpy(at, "cdef", 4); /* a short read */
    CHECK_INT(http_parser_feed(&p, at, 4, &r), 4);
    CHECK(r == NULL);
    at = http_parser_body_room(&p, 1, &room);
    CHECK(at != NULL);
    CHECK_INT(room, 4);
    memcpy(at, "ghij", 4);
    CHECK_INT(http_parser_feed(&p, at, 4, &r), 4);
    CHECK(r != NULL);
    CHECK_INT(r->body_len, 10);
    CHECK_STR(r->body, "abcdefghij");
    CHECK(http_parser_body_room(&p, 1, &room) == NULL); /* complete */
    r = feed_all(&p, "POST /mcp HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz");
    CHECK(r != NULL);
    CHECK_STR(r->body, "xyz");
    http_parser_free(&p);

    /* chunked bodies are not read in place */
    http_parser_init(&p, NULL);
    head = "POST /mcp HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab";
    CHECK_INT(http_parser_feed(&p, head, strlen(head), &r), strlen(head));
    CHECK(http_parser_body_room(&p, 1, &room) == NULL);
    http_parser_free(&p);
}

/* Found by fuzz_http (clang UBSan: "applying zero offset to null pointer"): the first chunk of a
 * chunked body arrives while the body buffer has no memory yet (no Content-Length reserved it),
 * and on_body compared its address with NULL + 0. The chunk is now copied, and the body is whole.
 */
TEST(chunked_first_chunk_into_empty_body)
{
    http_parser p;
    http_parser_init(&p, NULL);
    const char *head = "POST /mcp HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    http_request *r = NULL;
    CHECK_INT(http_parser_feed(&p, head, strlen(head), &r), strlen(head));
    CHECK(p.body.data == NULL);
    const char *rest = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
    CHECK_INT(http_parser_feed(&p, rest, strlen(rest), &r), strlen(rest));
    CHECK(r != NULL);
    CHECK_INT(r->body_len, 11);
    CHECK_STR(r->body, "hello world");
    http_parser_free(&p);
}

TEST(expect_continue)
{
    http_parser p;
    http_parser_init(&p, NULL);
    const char *head = "POST /mcp HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
                       "Content-Length: 3\r\n\r\n";
    http_request *r = NULL;
    CHECK(!http_parser_take_continue(&p));
    CHECK_INT(http_parser_feed(&p, head, strlen(head), &r), strlen(head));
    CHECK(r == NULL);
    CHECK(http_parser_take_continue(&p));
    CHECK(!http_parser_take_continue(&p)); /* once */
    CHECK_INT(http_parser_feed(&p, "abc", 3, &r), 3);
    CHECK(r != NULL);
    CHECK(r->expect_continue);
    CHECK_STR(r->body, "abc");
    http_parser_free(&p);

    /* body in the same read: no 100 needed */
    http_parser_init(&p, NULL);
    r = feed_all(&p, "POST /mcp HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                     "Content-Length: 1\r\n\r\nx");
    CHECK(r != NULL);
    CHECK(!http_parser_take_continue(&p));
    http_parser_free(&p);

    /* HTTP/1.0 ignores the expectation */
    http_parser_init(&p, NULL);
    r = feed_all(&p, "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
    CHECK(r != NULL);
    CHECK(!r->expect_continue);
    http_parser_free(&p);

    REJECT("POST / HTTP/1.1\r\nHost: h\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx", 417,
           "expectation");
}

/* ---- smuggling shapes -------------------------------------------------------------------------
 */

TEST(smuggle_cl_and_te)
{
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
           "0\r\n\r\n",
           400, "both Content-Length and Transfer-Encoding");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
           "0\r\n\r\n",
           400, "both Content-Length and Transfer-Encoding");
}

TEST(smuggle_duplicate_cl)
{
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd", 400,
           "duplicate Content-Length");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400,
           "duplicate Content-Length");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4, 4\r\n\r\nabcd", 400, "Content-Length");
}

TEST(smuggle_invalid_cl)
{
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400,
           "invalid Content-Length");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", 400,
           "invalid Content-Length");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", 400,
           "invalid Content-Length");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400,
           "invalid Content-Length");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400,
           "Content-Length");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400, "Content-Length");
}

TEST(smuggle_te_not_chunked)
{
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
           "Transfer-Encoding");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400,
           "Transfer-Encoding");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400,
           "Transfer-Encoding other than chunked");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 400,
           "Transfer-Encoding");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           400, "Transfer-Encoding");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           400, "multiple Transfer-Encoding headers");
    REJECT("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
           "Transfer-Encoding in an HTTP/1.0");
}

TEST(smuggle_obs_fold)
{
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 400, "obs-fold");
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", 400, "obs-fold");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n chunked\r\n\r\n0\r\n\r\n", 400,
           "");
}

TEST(smuggle_in_trailers)
{
    const char *pre =
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n";
    char raw[256];
    snprintf(raw, sizeof raw, "%sX: a\r\n b\r\n\r\n", pre);
    REJECT(raw, 400, "obs-fold");
    snprintf(raw, sizeof raw, "%sX: a\r\n\n", pre);
    REJECT(raw, 400, "bare CR or LF");
    snprintf(raw, sizeof raw, "%sX: a\rb\r\n\r\n", pre);
    REJECT(raw, 400, "");
    /* a good trailer section, then the next request */
    snprintf(raw, sizeof raw, "%sX: a\r\nY: b\r\n\r\nGET /n HTTP/1.1\r\nHost: h\r\n\r\n", pre);
    for (size_t step = 0; step < 4; step++) {
        http_parser p;
        http_parser_init(&p, NULL);
        size_t used = 0;
        http_request *r = feed_steps(&p, raw, strlen(raw), step, &used);
        CHECK(r != NULL);
        CHECK_STR(r->body, "abc");
        r = feed_steps(&p, raw + used, strlen(raw) - used, step, NULL);
        CHECK(r != NULL);
        CHECK_STR(r->path, "/n");
        http_parser_free(&p);
    }
}

TEST(smuggle_line_endings)
{
    REJECT("GET / HTTP/1.1\nHost: h\n\n", 400, "bare CR or LF");
    REJECT("GET / HTTP/1.1\r\nHost: h\n\r\n", 400, "bare CR or LF");
    REJECT("GET / HTTP/1.1\r\nHost: h\r\n\n", 400, "bare CR or LF");
    REJECT("GET / HTTP/1.1\rHost: h\r\n\r\n", 400, "bare CR or LF");
    REJECT("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400, "bare CR or LF");
    REJECT("GET / HTTP/1.1\r\nX: a\rb\r\nHost: h\r\n\r\n", 400, "bare CR or LF");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
           400, "");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
           400, "");
}

TEST(smuggle_control_chars)
{
    CHECK(expect_error("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 34, 400, ""));
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400, "");
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", 400, "");
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX\x01: a\r\n\r\n", 400, "");
    REJECT("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "");
    CHECK(expect_error("GET / HTTP/1.1\r\nHo\0st: h\r\n\r\n", 28, 400, ""));
}

TEST(smuggle_space_before_colon)
{
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 3\r\n\r\nabc", 400, "");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", 400, "");
    REJECT("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400, "");
}

TEST(other_rejections)
{
    REJECT("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate host");
    REJECT("GET / HTTP/1.1\r\n\r\n", 400, "missing Host");
    REJECT("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "");
    REJECT("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 501, "CONNECT");
    REJECT("G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "");
    /* a header the user lists as unique (the transport lists its MCP headers) */
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX-Once: a\r\nx-once: b\r\n\r\n", 400, "duplicate x-once");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
           "chunk size");
    /* bytes after a Connection: close request */
    http_parser pc;
    http_parser_init(&pc, NULL);
    const char *two = "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n";
    size_t used = 0;
    http_request *rc = feed_steps(&pc, two, strlen(two), 0, &used);
    CHECK(rc != NULL);
    CHECK(!rc->keep_alive);
    CHECK(feed_steps(&pc, two + used, strlen(two) - used, 0, NULL) == NULL);
    int stc = 0;
    CHECK_STR(http_parser_error(&pc, &stc), "data after Connection: close");
    CHECK_INT(stc, 400);
    http_parser_free(&pc);
    /* after an error the parser refuses everything */
    http_parser p;
    http_parser_init(&p, NULL);
    http_request *r = NULL;
    CHECK_INT(http_parser_feed(&p, "BAD\r\n\r\n", 7, &r), -1);
    CHECK_INT(http_parser_feed(&p, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, &r), -1);
    CHECK(r == NULL);
    http_parser_reset(&p);
    CHECK(feed_all(&p, "GET / HTTP/1.1\r\nHost: h\r\n\r\n") != NULL);
    http_parser_free(&p);
}

TEST(upgrade_ignored)
{
    http_parser p;
    http_parser_init(&p, NULL);
    const char *raw = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                      "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"
                      "GET /two HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t used = 0, len = strlen(raw);
    http_request *r = feed_steps(&p, raw, len, 0, &used);
    CHECK(r != NULL);
    CHECK_STR(r->path, "/");
    r = feed_steps(&p, raw + used, len - used, 0, NULL);
    CHECK(r != NULL);
    CHECK_STR(r->path, "/two");
    http_parser_free(&p);
}

/* ---- limits ------------------------------------------------------------------------------------
 */

/* Builds "GET <target> HTTP/1.1\r\nHost: h\r\nX-Pad: <pad>\r\n\r\n" with a total length of
 * exactly total bytes (the pad adjusts). */
static char *request_of_size(size_t total)
{
    const char *pre = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ", *post = "\r\n\r\n";
    size_t fixed = strlen(pre) + strlen(post);
    char *s = malloc(total + 1);
    memcpy(s, pre, strlen(pre));
    memset(s + strlen(pre), 'a', total - fixed);
    memcpy(s + total - strlen(post), post, strlen(post));
    s[total] = 0;
    return s;
}

TEST(limit_header_bytes)
{
    http_limits lim = {.max_header_bytes = 1000};
    for (size_t step = 0; step <= 7; step += 7) {
        http_parser p;
        http_parser_init(&p, &lim);
        char *s = request_of_size(1000);
        http_request *r = feed_steps(&p, s, 1000, step, NULL);
        CHECK(r != NULL);
        CHECK_INT(strlen(http_header_get(r, "x-pad")), 1000 - 36);
        free(s);
        http_parser_free(&p);

        http_parser_init(&p, &lim);
        s = request_of_size(1001);
        CHECK(feed_steps(&p, s, 1001, step, NULL) == NULL);
        int st = 0;
        CHECK_STR(http_parser_error(&p, &st), "header section larger than 1000 bytes");
        CHECK_INT(st, 431);
        free(s);
        http_parser_free(&p);
    }
    /* default limit: 16384 */
    char *s = request_of_size(16384);
    http_parser p;
    http_parser_init(&p, NULL);
    CHECK(feed_steps(&p, s, 16384, 0, NULL) != NULL);
    http_parser_free(&p);
    free(s);
    s = request_of_size(16385);
    CHECK(expect_error(s, 16385, 431, "header section larger than 16384 bytes"));
    free(s);
}

TEST(limit_header_bytes_not_buffered)
{
    /* a never-ending header line is refused once the budget is spent, not buffered */
    http_limits lim = {.max_header_bytes = 100};
    http_parser p;
    http_parser_init(&p, &lim);
    char chunk[64];
    memset(chunk, 'a', sizeof chunk);
    http_request *r = NULL;
    CHECK_INT(http_parser_feed(&p, "GET / HTTP/1.1\r\nX: ", 19, &r), 19);
    CHECK_INT(http_parser_feed(&p, chunk, 64, &r), 64);
    CHECK_INT(http_parser_feed(&p, chunk, 64, &r), -1);
    int st = 0;
    http_parser_error(&p, &st);
    CHECK_INT(st, 431);
    CHECK(p.scratch.len <= 100);
    http_parser_free(&p);
}

static char *request_with_uri(size_t ulen)
{
    char *s = malloc(ulen + 64);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'u', ulen - 1);
    strcpy(s + 4 + ulen, " HTTP/1.1\r\nHost: h\r\n\r\n");
    return s;
}

TEST(limit_uri)
{
    http_limits lim = {.max_uri = 100};
    http_parser p;
    http_parser_init(&p, &lim);
    char *s = request_with_uri(100);
    http_request *r = feed_all(&p, s);
    CHECK(r != NULL);
    CHECK_INT(r->target_len, 100);
    free(s);
    http_parser_free(&p);

    http_parser_init(&p, &lim);
    s = request_with_uri(101);
    CHECK(feed_all(&p, s) == NULL);
    int st = 0;
    CHECK_STR(http_parser_error(&p, &st), "request target longer than 100 bytes");
    CHECK_INT(st, 414);
    free(s);
    http_parser_free(&p);

    s = request_with_uri(8192);
    http_parser_init(&p, NULL);
    CHECK(feed_steps(&p, s, strlen(s), 1000, NULL) != NULL);
    http_parser_free(&p);
    free(s);
    s = request_with_uri(8193);
    CHECK(expect_error(s, strlen(s), 414, "8192"));
    free(s);
}

static char *post_with_body(size_t blen, bool chunked)
{
    char *s = malloc(blen + 200);
    int n = chunked ? sprintf(s,
                              "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "%zx\r\n",
                              blen)
                    : sprintf(s, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n", blen);
    memset(s + n, 'b', blen);
    strcpy(s + n + blen, chunked ? "\r\n0\r\n\r\n" : "");
    return s;
}

TEST(limit_body)
{
    http_limits lim = {.max_body = 50};
    for (int chunked = 0; chunked < 2; chunked++) {
        http_parser p;
        http_parser_init(&p, &lim);
        char *s = post_with_body(50, chunked);
        http_request *r = feed_all(&p, s);
        CHECK(r != NULL);
        CHECK_INT(r->body_len, 50);
        free(s);
        http_parser_free(&p);

        http_parser_init(&p, &lim);
        s = post_with_body(51, chunked);
        CHECK(feed_all(&p, s) == NULL);
        int st = 0;
        CHECK_STR(http_parser_error(&p, &st), "body larger than 50 bytes");
        CHECK_INT(st, 413);
        free(s);
        http_parser_free(&p);
    }
    /* many small chunks adding up to one over the limit */
    const char *raw = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "19\r\naaaaaaaaaaaaaaaaaaaaaaaaa\r\n19\r\naaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
                      "1\r\na\r\n0\r\n\r\n";
    http_parser p;
    http_parser_init(&p, &lim);
    CHECK(feed_steps(&p, raw, strlen(raw), 3, NULL) == NULL);
    int st = 0;
    http_parser_error(&p, &st);
    CHECK_INT(st, 413);
    http_parser_free(&p);
    /* Content-Length over the default is refused at the headers, before any body */
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4194305\r\n\r\n", 413,
           "body larger than 4194304 bytes");
    char *s = post_with_body(4u << 20, false);
    http_parser_init(&p, NULL);
    CHECK(feed_steps(&p, s, strlen(s), 65536, NULL) != NULL);
    http_parser_free(&p);
    free(s);
}

static char *request_with_headers(size_t n)
{
    char *s = malloc(64 + n * 16);
    size_t o = (size_t)sprintf(s, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (size_t i = 1; i < n; i++) o += (size_t)sprintf(s + o, "X-%zu: v\r\n", i);
    strcpy(s + o, "\r\n");
    return s;
}

TEST(limit_header_count)
{
    char *s = request_with_headers(100);
    http_parser p;
    http_parser_init(&p, NULL);
    http_request *r = feed_all(&p, s);
    CHECK(r != NULL);
    CHECK_INT(r->header_count, 100);
    CHECK_STR(http_header_get(r, "x-99"), "v");
    http_parser_free(&p);
    free(s);
    s = request_with_headers(101);
    CHECK(expect_error(s, strlen(s), 431, "more than 100 header fields"));
    free(s);
}

TEST(limit_chunk_extensions)
{
    http_limits lim = {.max_header_bytes = 200};
    char raw[1024];
    int n = sprintf(raw, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;x=");
    memset(raw + n, 'e', 300);
    strcpy(raw + n + 300, "\r\na\r\n0\r\n\r\n");
    http_parser p;
    http_parser_init(&p, &lim);
    CHECK(feed_all(&p, raw) == NULL);
    int st = 0;
    http_parser_error(&p, &st);
    CHECK_INT(st, 431);
    http_parser_free(&p);
}

TEST(reuse_no_leak)
{
    http_parser p;
    http_parser_init(&p, NULL);
    char *big = post_with_body(200000, true);
    for (int i = 0; i < 200; i++) {
        char raw[512];
        snprintf(raw, sizeof raw,
                 "POST /r%d HTTP/1.1\r\nHost: h\r\nMcp-Session-Id: s%d\r\n"
                 "Content-Length: 2\r\n\r\nok",
                 i, i);
        http_request *r = feed_steps(&p, raw, strlen(raw), (size_t)(i % 7), NULL);
        CHECK(r != NULL);
        CHECK_STR(r->body, "ok");
        if (i % 50 == 0) {
            r = feed_steps(&p, big, strlen(big), 4096, NULL);
            CHECK(r != NULL);
            CHECK_INT(r->body_len, 200000);
        }
    }
    CHECK(p.body.cap <= BODY_KEEP_MAX || p.body.len == 200000);
    free(big);
    http_parser_free(&p);
}

TEST(busy_and_eof)
{
    http_parser p;
    http_parser_init(&p, NULL);
    http_request *r = NULL;
    CHECK(!http_parser_busy(&p));
    CHECK_INT(http_parser_feed(&p, "GET / HT", 8, &r), 8);
    CHECK(http_parser_busy(&p));
    http_parser_free(&p);
}

/* The byte-at-a-time scan that scan_head (which skips runs with memchr) must agree with. */
static size_t ref_scan(http_parser *p, const char *d, size_t n, const char **why)
{
    *why = NULL;
    for (size_t i = 0; i < n && !p->sc_end; i++) {
        char c = d[i];
        if ((p->sc_prev == '\r' && c != '\n') || (c == '\n' && p->sc_prev != '\r')) {
            *why = "bare";
            return i;
        }
        if (c == '\n') {
            if (p->sc_line == 0 && p->sc_lines > 0)
                p->sc_end = true;
            else if (p->sc_line > 0)
                p->sc_lines++;
            p->sc_line = 0;
        } else if (c != '\r') {
            if (p->sc_line == 0 && p->sc_lines > 0 && (c == ' ' || c == '\t')) {
                *why = "fold";
                return i;
            }
            p->sc_line++;
        }
        p->sc_prev = c;
    }
    return n;
}

TEST(scan_matches_reference)
{
    static const char alphabet[] = "\r\n \tab:";
    unsigned seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        char d[48];
        size_t n = 1 + (seed >> 8) % sizeof d;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            d[i] = alphabet[(seed >> 16) % 7];
        }
        http_parser a, b;
        http_parser_init(&a, NULL);
        http_parser_init(&b, NULL);
        size_t off = 0;
        while (off < n) {
            seed = seed * 1103515245u + 12345u;
            size_t piece = 1 + (seed >> 16) % 9;
            if (piece > n - off) piece = n - off;
            const char *wa, *wb;
            size_t ra = scan_head(&a, d + off, piece, &wa);
            size_t rb = ref_scan(&b, d + off, piece, &wb);
            CHECK_INT(ra, rb);
            CHECK_INT(wa == NULL, wb == NULL);
            CHECK_INT(a.sc_end, b.sc_end);
            if (wa || a.sc_end) break;
            CHECK_INT(a.sc_line, b.sc_line);
            CHECK_INT(a.sc_lines, b.sc_lines);
            CHECK_INT(a.sc_prev, b.sc_prev);
            off += piece;
        }
        http_parser_free(&a);
        http_parser_free(&b);
    }
}

/* ---- response side ----------------------------------------------------------------------------
 */

TEST(write_head)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    http_field f[] = {{"Content-Type", "application/json"}, {"Mcp-Session-Id", "abc"}};
    CHECK_INT(http_write_status_line_and_headers(&b, 200, NULL, f, 2, 12), 0);
    mcp_buf_putc(&b, 0);
    CHECK_STR(b.data, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Mcp-Session-Id: abc\r\nContent-Length: 12\r\n\r\n");
    b.len = 0;
    CHECK_INT(http_write_status_line_and_headers(&b, 200, "Fine", NULL, 0, HTTP_BODY_CHUNKED), 0);
    mcp_buf_putc(&b, 0);
    CHECK_STR(b.data, "HTTP/1.1 200 Fine\r\nTransfer-Encoding: chunked\r\n\r\n");
    b.len = 0;
    CHECK_INT(http_write_status_line_and_headers(&b, 204, NULL, NULL, 0, HTTP_BODY_NONE), 0);
    mcp_buf_putc(&b, 0);
    CHECK_STR(b.data, "HTTP/1.1 204 No Content\r\n\r\n");
    b.len = 0;
    http_field evil[] = {{"X", "a\r\nSet-Cookie: x"}};
    CHECK_INT(http_write_status_line_and_headers(&b, 200, NULL, evil, 1, 0), -1);
    CHECK_INT(b.len, 0);
    CHECK_INT(http_write_status_line_and_headers(&b, 99, NULL, NULL, 0, 0), -1);
    CHECK_INT(http_write_status_line_and_headers(&b, 200, "a\nb", NULL, 0, 0), -1);
    mcp_buf_free(&b);
}

TEST(write_chunks)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    http_write_chunk(&b, "hello world, hi", 15);
    http_write_chunk(&b, "", 0);
    http_write_last_chunk(&b);
    mcp_buf_putc(&b, 0);
    CHECK_STR(b.data, "f\r\nhello world, hi\r\n0\r\n\r\n");
    /* and our parser reads it back */
    mcp_buf_free(&b);
}

TEST(write_error_and_reason)
{
    CHECK_STR(http_reason(431), "Request Header Fields Too Large");
    CHECK_STR(http_reason(413), "Content Too Large");
    CHECK_STR(http_reason(599), "Unknown");
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    http_write_error(&b, 400, "bare CR or LF line ending");
    mcp_buf_putc(&b, 0);
    CHECK_STR(b.data, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Connection: close\r\nContent-Length: 26\r\n\r\n"
                      "bare CR or LF line ending\n");
    mcp_buf_free(&b);
}

int main(void)
{
    RUN(simple_get);
    RUN(no_query);
    RUN(simple_post);
    RUN(pipelined_three);
    RUN(chunked_byte_by_byte);
    RUN(chunked_first_chunk_into_empty_body);
    RUN(split_at_every_byte);
    RUN(mcp_headers);
    RUN(names_lowercased);
    RUN(unique_slots);
    RUN(keep_alive);
    RUN(expect_continue);
    RUN(smuggle_cl_and_te);
    RUN(smuggle_duplicate_cl);
    RUN(smuggle_invalid_cl);
    RUN(smuggle_te_not_chunked);
    RUN(smuggle_obs_fold);
    RUN(smuggle_in_trailers);
    RUN(smuggle_line_endings);
    RUN(smuggle_control_chars);
    RUN(smuggle_space_before_colon);
    RUN(other_rejections);
    RUN(upgrade_ignored);
    RUN(limit_header_bytes);
    RUN(limit_header_bytes_not_buffered);
    RUN(limit_uri);
    RUN(limit_body);
    RUN(body_room);
    RUN(limit_header_count);
    RUN(limit_chunk_extensions);
    RUN(reuse_no_leak);
    RUN(busy_and_eof);
    RUN(scan_matches_reference);
    RUN(write_head);
    RUN(write_chunks);
    RUN(write_error_and_reason);
    return test_summary();
}
