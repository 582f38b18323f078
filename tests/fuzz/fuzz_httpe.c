/* fuzz_httpe.c - libFuzzer target for the http kind's request templates (src/mcpd/http_engine.c):
 * compiling a URL template, and filling it, its query, headers and body from tool arguments.
 * No request is sent (httpe_build), so no thread or socket is involved.
 *
 * The input is a URL template and the arguments (a JSON object), split at the first newline;
 * the first byte picks the method (GET: no body; POST: a body template with placeholders in
 * values and strings; PUT: a body that is one placeholder). The query and header templates are
 * fixed and name the arguments a, b and c. A template that is refused must say why and which
 * key is wrong. A request that is built must keep the template's origin (scheme, host and
 * port are never filled from arguments), carry only printable ASCII in its URL (everything
 * else percent-encoded), only "Name: value" header lines with no CR or NUL, and a body that is
 * JSON; one that is refused must say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpd/http_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_httpe: %s\n", what);
        abort();
    }
}

static mcp_json_doc *doc(const char *text)
{
    mcp_json_doc *d = mcp_json_parse(text, strlen(text), 0, NULL);
    check(d != NULL, "a fixed template does not parse");
    return d;
}

/* The length of url's origin: scheme "://" and the authority. */
static size_t origin_len(const char *url)
{
    const char *o = strstr(url, "://");
    if (!o) return 0;
    return (size_t)(o + 3 - url) + strcspn(o + 3, "/?#");
}

static void check_request(const char *tmpl, const char *url, const char *hdrs, const char *body,
                          bool has_body)
{
    size_t ol = origin_len(tmpl);
    check(ol > 0 && !strncmp(url, tmpl, ol) && strchr("/?", url[ol]) != NULL,
          "the URL's origin differs from the template's"); /* strchr finds the NUL too */
    for (const char *p = url; *p; p++)
        check(*p > 0x20 && *p < 0x7f, "a byte that is not printable ASCII in the URL");
    for (const char *p = hdrs; *p;) {
        const char *nl = strchr(p, '\n');
        check(nl != NULL, "a header line without its newline");
        const char *colon = memchr(p, ':', (size_t)(nl - p));
        check(colon && colon > p && colon[1] == ' ', "a header line that is not Name: value");
        check(!memchr(p, '\r', (size_t)(nl - p)), "a CR in a header line");
        p = nl + 1;
    }
    if (body) {
        check(has_body, "a body for a method without one");
        mcp_json_doc *d = mcp_json_parse(body, strlen(body), MCP_JSON_DUPLICATE_KEYS, NULL);
        check(d != NULL, "the body is not JSON");
        mcp_json_doc_free(d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (64u << 10)) return 0;
    static const char *const methods[] = {"GET", "POST", "PUT"};
    int m = data[0] % 3;
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    const char *nl = memchr(text, '\n', n);
    size_t ul = nl ? (size_t)(nl - text) : n;
    char *tmpl = malloc(ul + 1);
    memcpy(tmpl, text, ul);
    tmpl[ul] = '\0';
    mcp_json_doc *q = doc("{\"a\":\"{a}\",\"both\":\"{a}-{b}\",\"n\":3,\"t\":true}");
    mcp_json_doc *h = doc("{\"X-A\":\"{a}\",\"X-C\":\"pre {c} post\"}");
    mcp_json_doc *decl = doc("{\"a\":{},\"b\":{},\"c\":{},\"d\":{}}");
    mcp_json_doc *b = m == 1   ? doc("{\"x\":\"{a}\",\"y\":[\"{b}\",1,\"s {c}\"],\"z\":{\"w\":"
                                       "\"{d}\"}}")
                      : m == 2 ? doc("\"{d}\"")
                               : NULL;
    httpe_config c = {.method = methods[m],
                      .url = tmpl,
                      .query = mcp_json_root(q),
                      .headers = mcp_json_root(h),
                      .body = b ? mcp_json_root(b) : NULL,
                      .arguments = mcp_json_root(decl)};
    char err[512] = "", key[32] = "";
    httpe *t = httpe_new(&c, err, sizeof err, key, sizeof key);
    if (!t) {
        check(err[0] && key[0], "a refused template without its reason and key");
    } else {
        mcp_json_doc *args =
            nl ? mcp_json_parse(nl + 1, (size_t)(text + n - nl - 1), 0, NULL) : NULL;
        const mcp_json *av = args ? mcp_json_root(args) : NULL;
        if (mcp_json_typeof(av) == MCP_JSON_OBJECT) {
            char *url = NULL, *hdrs = NULL, *body = NULL;
            if (httpe_build(t, av, &url, &hdrs, &body, err, sizeof err))
                check_request(tmpl, url, hdrs, body, m != 0);
            else
                check(err[0] != '\0', "a refused request without a reason");
            free(url), free(hdrs), free(body);
        }
        mcp_json_doc_free(args);
        httpe_free(t);
    }
    mcp_json_doc_free(q), mcp_json_doc_free(h), mcp_json_doc_free(decl), mcp_json_doc_free(b);
    free(tmpl);
    return 0;
}
