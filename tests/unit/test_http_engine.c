/* test_http_engine.c - the http kind's engine: template checks at configure, encoding per place
 * (path, query, header, JSON body), absent optional arguments, the backoff's bounds, upstream
 * sharing, which templates may take the loop path (proxy variables, https, redirects); the loop
 * path itself on a stand-in for libmcp's loop (mcp/loop.h's four functions, below) against a
 * scripted upstream on the same loop: the bytes sent, keep-alive, retries, cancellation and the
 * loop's stop; and YAML to JSON for the openapi kind. Requests through the real server are in
 * tests/e2e/mcpd_backends.test.mjs. */
/* the engine's calls into mcp/loop.h go to this file's stand-ins */
#define mcp_loop_uv   test_loop_uv
#define mcp_loop_get  test_loop_get
#define mcp_loop_set  test_loop_set
#define mcp_loop_post test_loop_post
#include <uv.h>
typedef struct mcp_loop mcp_loop;
struct uv_loop_s *test_loop_uv(const mcp_loop *l);
void *test_loop_get(const mcp_loop *l, const void *key);
int test_loop_set(mcp_loop *l, const void *key, void *data,
                  void (*on_stop)(mcp_loop *l, void *data));
int test_loop_post(mcp_loop *l, void (*fn)(void *ud), void *ud);
#include "../../src/mcpd/breaker.c"
#include "../../src/mcpd/health.c"
#include "../../src/mcpd/http_engine.c"
#include "../../src/mcpd/limiter.c"
#include "../../src/mcpd/series.c"
#include "../../src/mcpd/text.c"
#include "../../src/mcpd/yaml_json.c"
#include "test.h"

static mcp_json_doc *docs[16];
static size_t ndocs;

static const mcp_json *J(const char *text)
{
    mcp_json_doc *d = mcp_json_parse(text, strlen(text), 0, NULL);
    if (!d) T_FAIL("bad test JSON: %s", text);
    docs[ndocs++ % 16] = d;
    return mcp_json_root(d);
}

static void free_docs(void)
{
    for (size_t i = 0; i < 16; i++) mcp_json_doc_free(docs[i]);
    memset(docs, 0, sizeof docs);
}

static httpe *make(const char *method, const char *url, const char *query, const char *headers,
                   const char *body, const char *args, char *err, char *key)
{
    httpe_config c = {.method = method,
                      .url = url,
                      .query = query ? J(query) : NULL,
                      .headers = headers ? J(headers) : NULL,
                      .body = body ? J(body) : NULL,
                      .arguments = J(args)};
    return httpe_new(&c, err, 256, key, 32);
}

TEST(configure_checks)
{
    char err[256], key[32];
    const char *a = "{\"id\":{},\"host\":{}}";
    CHECK(!make("GET", "http://{host}/x", NULL, NULL, NULL, a, err, key));
    CHECK_STR(key, "url");
    CHECK_CONTAINS(err, "the scheme, host and port must be fixed");
    CHECK(!make("GET", "http://example.com:{id}/x", NULL, NULL, NULL, a, err, key));
    CHECK(!make("GET", "file:///etc/passwd", NULL, NULL, NULL, a, err, key));
    CHECK_STR(err, "expected an http:// or https:// URL");
    CHECK(!make("GET", "http://example.com/{nope}", NULL, NULL, NULL, a, err, key));
    CHECK_STR(err, "\"{nope}\" names no argument: declare it under \"arguments\"");
    CHECK(!make("GET", "http://example.com/x#frag", NULL, NULL, NULL, a, err, key));
    /* found by fuzz_httpe: the template's own bytes went out unchecked */
    free_docs(); /* J() keeps 16 */
    CHECK(!make("GET", "http://1\xb2.0.0.1/doc", NULL, NULL, NULL, a, err, key));
    CHECK_STR(key, "url");
    CHECK_STR(err, "the URL may hold only printable ASCII (percent-encode the rest): byte 0xb2 at "
                   "offset 8");
    CHECK(!make("GET", "http://example.com/a b/{id}", NULL, NULL, NULL, a, err, key));
    CHECK_STR(err, "the URL may hold only printable ASCII (percent-encode the rest): byte 0x20 at "
                   "offset 20");
    CHECK(!make("BREW", "http://example.com/", NULL, NULL, NULL, a, err, key));
    CHECK_STR(key, "method");
    CHECK(!make("GET", "http://example.com/", NULL, NULL, "{\"a\":1}", a, err, key));
    CHECK_STR(err, "a GET request has no body");
    CHECK(!make("POST", "http://example.com/", NULL, NULL, "{\"a\":\"{zz}\"}", a, err, key));
    CHECK_STR(key, "body");
    CHECK(!make("GET", "http://example.com/", NULL, "{\"Bad Name\":\"x\"}", NULL, a, err, key));
    CHECK_STR(key, "headers");
    CHECK(!make("GET", "http://example.com/", "{\"q\":\"{nope}\"}", NULL, NULL, a, err, key));
    CHECK_STR(key, "query");
    httpe *t = make("GET", "http://example.com", NULL, NULL, NULL, a, err, key);
    CHECK(t != NULL);
    CHECK_STR(httpe_upstream_name(t), "http://example.com");
    httpe_free(t);
    free_docs();
}

TEST(encoding_per_place)
{
    char err[256], key[32];
    httpe *t = make("POST", "https://api.example.com/v1/items/{id}/x?mode={mode}",
                    "{\"q\":\"{q}\",\"tags\":\"{tags}\",\"fixed\":\"a b\",\"n\":3}",
                    "{\"X-Tag\":\"tag {id}\",\"X-Opt\":\"{q}\"}",
                    "{\"id\":\"{id}\",\"n\":\"{n}\",\"note\":\"id={id}\",\"opt\":\"{q}\"}",
                    "{\"id\":{},\"mode\":{},\"q\":{},\"tags\":{},\"n\":{}}", err, key);
    CHECK(t != NULL);
    char *url, *hdrs, *body;
    CHECK(httpe_build(t,
                      J("{\"id\":\"a/../b c\",\"mode\":\"x&y=z\",\"q\":\"\\u00e9?\","
                        "\"tags\":[\"t1\",\"t 2\"],\"n\":7}"),
                      &url, &hdrs, &body, err, sizeof err));
    CHECK_STR(url, "https://api.example.com/v1/items/a%2F..%2Fb%20c/x?mode=x%26y%3Dz"
                   "&q=%C3%A9%3F&tags=t1&tags=t%202&fixed=a%20b&n=3");
    CHECK_STR(hdrs, "X-Tag: tag a/../b c\nX-Opt: \xc3\xa9?\n");
    CHECK_STR(body, "{\"id\":\"a/../b c\",\"n\":7,\"note\":\"id=a/../b c\",\"opt\":\"\xc3\xa9?\"}");
    free(url), free(hdrs), free(body);
    /* absent optional arguments: query parameter and header left out, body member dropped */
    CHECK(httpe_build(t, J("{\"id\":\"1\",\"mode\":\"m\",\"n\":1}"), &url, &hdrs, &body, err,
                      sizeof err));
    CHECK_STR(url, "https://api.example.com/v1/items/1/x?mode=m&fixed=a%20b&n=3");
    CHECK_STR(hdrs, "X-Tag: tag 1\n");
    CHECK_STR(body, "{\"id\":\"1\",\"n\":1,\"note\":\"id=1\"}");
    free(url), free(hdrs), free(body);
    /* values that cannot be sent */
    CHECK(!httpe_build(t, J("{\"id\":\"..\",\"mode\":\"m\",\"n\":1}"), &url, &hdrs, &body, err,
                       sizeof err));
    CHECK_STR(err, "argument \"id\": \"..\" cannot be a path segment");
    CHECK(!httpe_build(t, J("{\"id\":\"x\\r\\nEvil: 1\",\"mode\":\"m\",\"n\":1}"), &url, &hdrs,
                       &body, err, sizeof err));
    CHECK_STR(err, "argument \"id\": a line break or NUL cannot go into the header X-Tag");
    httpe_free(t);
    free_docs();
}

TEST(lone_body_placeholder)
{
    char err[256], key[32];
    httpe *t =
        make("PUT", "http://example.com/doc", NULL, NULL, "\"{doc}\"", "{\"doc\":{}}", err, key);
    CHECK(t != NULL);
    char *url, *hdrs, *body;
    CHECK(httpe_build(t, J("{\"doc\":[1,{\"a\":null}]}"), &url, &hdrs, &body, err, sizeof err));
    CHECK_STR(body, "[1,{\"a\":null}]");
    free(url), free(hdrs), free(body);
    CHECK(httpe_build(t, J("{}"), &url, &hdrs, &body, err, sizeof err));
    CHECK(body == NULL); /* absent: no body at all */
    free(url), free(hdrs);
    httpe_free(t);
    free_docs();
}

TEST(backoff_full_jitter)
{
    for (uint64_t r = 0; r < 1000; r += 7) {
        CHECK(httpe_backoff(100, 2000, 1, r) <= 100);
        CHECK(httpe_backoff(100, 2000, 3, r) <= 400);
        CHECK(httpe_backoff(100, 2000, 10, r) <= 2000);
    }
    CHECK_INT(httpe_backoff(100, 2000, 2, 200), 200); /* 200 % 201 */
    CHECK_INT(httpe_backoff(100, 2000, 30, 2000), 2000);
}

TEST(upstreams_are_shared_by_name)
{
    char err[256], key[32];
    httpe_config c = {
        .url = "http://a.example/x", .arguments = J("{}"), .upstream = {.name = "api"}};
    httpe *t1 = httpe_new(&c, err, sizeof err, key, sizeof key);
    c.url = "http://b.example/y";
    httpe *t2 = httpe_new(&c, err, sizeof err, key, sizeof key);
    CHECK(t1->up == t2->up);
    CHECK_INT(t1->up->refs, 2);
    httpe_free(t1);
    CHECK_INT(t2->up->refs, 1);
    httpe_free(t2);
    CHECK(table == NULL);
    free_docs();
}

TEST(yaml_to_json)
{
    char err[256];
    const char *y = "openapi: 3.0.3\n"
                    "n: 12\nf: 1.5\nneg: -3\nt: true\nz: ~\ne:\ns: '012'\nv: 1.0.2\nhex: 0x1f\n"
                    "list:\n  - a\n  - {b: [1, 2]}\nblock: |\n  line1\n  line2\n";
    char *j = mcpd_yaml_to_json(y, strlen(y), err, sizeof err);
    CHECK(j != NULL);
    CHECK_STR(j, "{\"openapi\":\"3.0.3\",\"n\":12,\"f\":1.5,\"neg\":-3,\"t\":true,\"z\":null,"
                 "\"e\":null,\"s\":\"012\",\"v\":\"1.0.2\",\"hex\":\"0x1f\","
                 "\"list\":[\"a\",{\"b\":[1,2]}],\"block\":\"line1\\nline2\\n\"}");
    free(j);
    const char *bad[] = {"a: &x 1\nb: *x\n", "a: [1, 2\n", "? [1]\n: 2\n", "a:\n  b: {c: \x01}\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        j = mcpd_yaml_to_json(bad[i], strlen(bad[i]), err, sizeof err);
        if (j) T_FAIL("accepted %s: %s", bad[i], j);
    }
    j = mcpd_yaml_to_json(bad[0], strlen(bad[0]), err, sizeof err);
    CHECK_STR(err, "line 1: anchors and aliases (&, *) are not accepted");
}

/* ---- the loop path --------------------------------------------------------------------------- */
struct mcp_loop {
    uv_loop_t uv;
    const void *key;
    void *data;
    void (*on_stop)(mcp_loop *l, void *data);
    void (*post_fn)(void *ud); /* one pending post is all these tests need */
    void *post_ud;
    int posts;
};

struct uv_loop_s *test_loop_uv(const mcp_loop *l)
{
    return (struct uv_loop_s *)&l->uv;
}
void *test_loop_get(const mcp_loop *l, const void *key)
{
    return l->key == key ? l->data : NULL;
}
int test_loop_set(mcp_loop *l, const void *key, void *data,
                  void (*on_stop)(mcp_loop *l, void *data))
{
    l->key = key;
    l->data = data;
    l->on_stop = on_stop;
    return 0;
}
int test_loop_post(mcp_loop *l, void (*fn)(void *ud), void *ud)
{
    l->post_fn = fn;
    l->post_ud = ud;
    l->posts++;
    return 0;
}

/* The upstream, on the same loop: each request (headers, then Content-Length bytes) gets the
 * next scripted answer; "" leaves it unanswered. The last request's bytes are kept. */
static struct {
    uv_tcp_t lis;
    int port, accepted, requests;
    const char *answers[8];
    int nanswers;
    char last[4096];
    size_t lastlen;
} U;

typedef struct uconn {
    uv_tcp_t tcp;
    char in[8192];
    size_t len;
} uconn;

static void u_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    uconn *c = h->data;
    *b = uv_buf_init(c->in + c->len, (unsigned)(sizeof c->in - 1 - c->len));
}

static void u_closed(uv_handle_t *h)
{
    free(h->data);
}

static void u_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void u_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    uconn *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)s, u_closed);
        return;
    }
    c->len += (size_t)n;
    c->in[c->len] = 0;
    char *e;
    while ((e = strstr(c->in, "\r\n\r\n"))) {
        size_t hl = (size_t)(e + 4 - c->in);
        char *cl = strcasestr(c->in, "content-length:");
        size_t rl = hl + (cl && cl < e ? (size_t)atol(cl + 15) : 0);
        if (c->len < rl) return;
        memcpy(U.last, c->in, rl);
        U.lastlen = rl;
        U.last[rl] = 0;
        memmove(c->in, c->in + rl, c->len - rl + 1);
        c->len -= rl;
        const char *a = U.requests < U.nanswers ? U.answers[U.requests] : "";
        U.requests++;
        if (!*a) continue;
        uv_write_t *w = malloc(sizeof *w);
        uv_buf_t ob = uv_buf_init((char *)a, (unsigned)strlen(a));
        uv_write(w, s, &ob, 1, u_written);
    }
}

static void u_accept(uv_stream_t *srv, int status)
{
    (void)status;
    uconn *c = calloc(1, sizeof *c);
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    uv_accept(srv, (uv_stream_t *)&c->tcp);
    U.accepted++;
    uv_read_start((uv_stream_t *)&c->tcp, u_alloc, u_read);
}

static void u_start(mcp_loop *l, const char **answers, int n)
{
    memset(&U, 0, sizeof U);
    for (int i = 0; i < n; i++) U.answers[i] = answers[i];
    U.nanswers = n;
    uv_tcp_init(&l->uv, &U.lis);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_bind(&U.lis, (struct sockaddr *)&a, 0);
    uv_listen((uv_stream_t *)&U.lis, 16, u_accept);
    int al = sizeof a;
    uv_tcp_getsockname(&U.lis, (struct sockaddr *)&a, &al);
    U.port = ntohs(a.sin_port);
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->data && h->type == UV_TCP && h != (uv_handle_t *)&U.lis ? u_closed : NULL);
}

/* Stops the stand-in loop as libmcp does: on_stop, then every handle closed. */
static void loop_stop(mcp_loop *l)
{
    if (l->on_stop) l->on_stop(l, l->data);
    uv_run(&l->uv, UV_RUN_NOWAIT);
    uv_walk(&l->uv, close_any, NULL);
    uv_run(&l->uv, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&l->uv), 0);
}

typedef struct outcome {
    bool done;
    httpe_result r;
    bool stop;
} outcome;

static bool o_stop(void *ud)
{
    return ((outcome *)ud)->stop;
}

static void o_done(void *ud, httpe_result *r)
{
    outcome *o = ud;
    o->done = true;
    o->r = *r;
}

static void o_run(mcp_loop *l, outcome *o)
{
    for (int i = 0; i < 2000 && !o->done; i++) {
        if (l->post_fn) {
            void (*fn)(void *) = l->post_fn;
            l->post_fn = NULL;
            fn(l->post_ud);
        }
        uv_run(&l->uv, UV_RUN_ONCE);
    }
    CHECK(o->done);
}

static httpe *loop_tpl(const char *method, const char *path, const char *body, uint32_t retries)
{
    char url[200], err[256], key[32];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", U.port, path);
    httpe_config c = {.method = method,
                      .url = url,
                      .query = J("{\"v\":\"2\"}"),
                      .headers = J("{\"X-Tag\":\"tag-{id}\"}"),
                      .body = body ? J(body) : NULL,
                      .arguments = J("{\"id\":{}}"),
                      .retries = retries,
                      .retries_set = true,
                      .backoff_ms = 1,
                      .upstream = {.name = "u"}};
    httpe *t = httpe_new(&c, err, sizeof err, key, sizeof key);
    if (!t) T_FAIL("%s: %s", key, err);
    return t;
}

#define OK_JSON                                                                                    \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"n\":42}"

TEST(loop_path_sends_once_and_keeps_alive)
{
    mcp_loop l = {0};
    uv_loop_init(&l.uv);
    const char *ans[] = {OK_JSON, OK_JSON,
                         "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: "
                         "2\r\n\r\nok"};
    u_start(&l, ans, 3);
    httpe *t = loop_tpl("GET", "/items/{id}", NULL, 0);
    CHECK(httpe_loop_eligible(t));
    outcome o = {0};
    httpe_start(t, J("{\"id\":\"a b\"}"), mcpd_now_ms() + 5000, &l, o_stop, &o, o_done);
    o_run(&l, &o);
    CHECK_INT(o.r.status, HTTPE_OK);
    CHECK_INT(o.r.http_status, 200);
    CHECK(o.r.json);
    CHECK_STR(o.r.body, "{\"n\":42}");
    CHECK_STR(o.r.content_type, "application/json");
    char want[400];
    snprintf(want, sizeof want,
             "GET /items/a%%20b?v=2 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: mcpd/" MCP_VERSION
             "\r\nAccept: */*\r\nX-Tag: tag-a b\r\n\r\n",
             U.port);
    CHECK_STR(U.last, want);
    httpe_result_free(&o.r);
    memset(&o, 0, sizeof o);
    httpe_start(t, J("{\"id\":\"7\"}"), mcpd_now_ms() + 5000, &l, o_stop, &o, o_done);
    o_run(&l, &o);
    CHECK_INT(o.r.status, HTTPE_OK);
    httpe_result_free(&o.r);
    httpe *p = loop_tpl("POST", "/new", "{\"id\":\"{id}\",\"k\":[1]}", 0);
    memset(&o, 0, sizeof o);
    httpe_start(p, J("{\"id\":\"x\"}"), mcpd_now_ms() + 5000, &l, o_stop, &o, o_done);
    o_run(&l, &o);
    CHECK_INT(o.r.http_status, 201);
    CHECK(!o.r.json);
    CHECK_CONTAINS(U.last, "POST /new?v=2 HTTP/1.1\r\n");
    CHECK_CONTAINS(U.last, "\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n"
                           "{\"id\":\"x\",\"k\":[1]}");
    httpe_result_free(&o.r);
    CHECK_INT(U.accepted, 1); /* three requests, one connection */
    loop_stop(&l);
    httpe_free(t);
    httpe_free(p);
    free_docs();
}

TEST(loop_path_retries_idempotent_methods_only)
{
    mcp_loop l = {0};
    uv_loop_init(&l.uv);
    const char *busy =
        "HTTP/1.1 503 Busy\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nbusy";
    const char *ans[] = {busy, OK_JSON, busy, busy};
    u_start(&l, ans, 4);
    httpe *g = loop_tpl("GET", "/g", NULL, 2);
    outcome o = {0};
    httpe_start(g, J("{}"), mcpd_now_ms() + 5000, &l, o_stop, &o, o_done);
    o_run(&l, &o);
    CHECK_INT(o.r.status, HTTPE_OK);
    CHECK_INT(o.r.attempts, 2);
    httpe_result_free(&o.r);
    httpe *p = loop_tpl("POST", "/p", NULL, 2);
    memset(&o, 0, sizeof o);
    httpe_start(p, J("{}"), mcpd_now_ms() + 5000, &l, o_stop, &o, o_done);
    o_run(&l, &o);
    CHECK_INT(o.r.status, HTTPE_UPSTREAM_ERROR);
    CHECK_INT(o.r.attempts, 1);
    CHECK_STR(o.r.message, "HTTP 503 from u: busy");
    CHECK_CONTAINS(U.last, "Content-Length: 0\r\n\r\n"); /* a POST without a body says so */
    httpe_result_free(&o.r);
    CHECK_INT(U.requests, 3);
    loop_stop(&l);
    httpe_free(g);
    httpe_free(p);
    free_docs();
}

TEST(loop_path_cancel_and_stop)
{
    mcp_loop l = {0};
    uv_loop_init(&l.uv);
    const char *ans[] = {"", ""};
    u_start(&l, ans, 2);
    httpe *t = loop_tpl("GET", "/hang", NULL, 0);
    outcome a = {0}, b = {0};
    httpe_start(t, J("{}"), mcpd_now_ms() + 30000, &l, o_stop, &a, o_done);
    httpe_start(t, J("{}"), mcpd_now_ms() + 30000, &l, o_stop, &b, o_done);
    for (int i = 0; i < 500 && U.requests < 2; i++) uv_run(&l.uv, UV_RUN_ONCE);
    CHECK_INT(U.requests, 2);
    a.stop = true;
    httpe_wake_cancelled(); /* another thread's cancel: a post to the loop */
    CHECK_INT(l.posts, 1);
    o_run(&l, &a);
    CHECK_INT(a.r.status, HTTPE_CANCELLED);
    CHECK_STR(a.r.message, "the request was cancelled");
    CHECK(!b.done);
    loop_stop(&l); /* b is in flight: it ends as the loop stops */
    CHECK(b.done);
    CHECK_INT(b.r.status, HTTPE_CANCELLED);
    CHECK_STR(b.r.message, "mcpd is stopping");
    CHECK_INT(mcpd_limiter_in_use(t->up->limiter), 0);
    httpe_free(t);
    free_docs();
}

TEST(which_templates_take_the_loop_path)
{
    char err[256], key[32];
    httpe_config c = {.url = "http://127.0.0.1:9/x", .arguments = J("{}")};
    httpe *t = httpe_new(&c, err, sizeof err, key, sizeof key);
    CHECK(httpe_loop_eligible(t));
    httpe_free(t);
    c.url = "https://127.0.0.1:9/x";
    t = httpe_new(&c, err, sizeof err, key, sizeof key);
    CHECK(!httpe_loop_eligible(t));
    httpe_free(t);
    c.url = "http://127.0.0.1:9/x";
    c.follow_redirects = true;
    t = httpe_new(&c, err, sizeof err, key, sizeof key);
    CHECK(!httpe_loop_eligible(t));
    httpe_free(t);
    c.follow_redirects = false;
    setenv("http_proxy", "http://proxy:3128", 1);
    t = httpe_new(&c, err, sizeof err, key, sizeof key);
    CHECK(!httpe_loop_eligible(t));
    httpe_free(t);
    setenv("no_proxy", "example.com, .0.0.1", 1);
    t = httpe_new(&c, err, sizeof err, key, sizeof key);
    CHECK(httpe_loop_eligible(t));
    httpe_free(t);
    unsetenv("no_proxy");
    unsetenv("http_proxy");
    CHECK(no_proxy_matches("*", "x"));
    CHECK(no_proxy_matches("a.com,b.com", "api.b.com"));
    CHECK(!no_proxy_matches("b.com", "ab.com"));
    free_docs();
}

int main(void)
{
    RUN(configure_checks);
    RUN(encoding_per_place);
    RUN(lone_body_placeholder);
    RUN(backoff_full_jitter);
    RUN(upstreams_are_shared_by_name);
    RUN(yaml_to_json);
    RUN(which_templates_take_the_loop_path);
    RUN(loop_path_sends_once_and_keeps_alive);
    RUN(loop_path_retries_idempotent_methods_only);
    RUN(loop_path_cancel_and_stop);
    curl_global_cleanup();
    return test_summary();
}
