/* test_http_engine.c - the http kind's engine without a network: template checks at configure,
 * encoding per place (path, query, header, JSON body), absent optional arguments, the backoff's
 * bounds, upstream sharing; and YAML to JSON for the openapi kind. Requests against a real
 * upstream are in tests/e2e/mcpd_backends.test.mjs. */
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

int main(void)
{
    RUN(configure_checks);
    RUN(encoding_per_place);
    RUN(lone_body_placeholder);
    RUN(backoff_full_jitter);
    RUN(upstreams_are_shared_by_name);
    RUN(yaml_to_json);
    curl_global_cleanup();
    return test_summary();
}
