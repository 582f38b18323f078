/* http_admit.c - the admission pipeline of the MCP endpoint.
 *
 * Every request to the endpoint passes these stages in order before it reaches the era's rules:
 * the Origin/Host guard (DNS rebinding protection), admission (refused while the server shuts
 * down), then the method and media types (Content-Type, Accept). Each stage either lets the
 * request through or answers it with a row of the error table (http_errors.c). The era is
 * decided here too, from the MCP-Protocol-Version header. Runs on the loop thread of the
 * request; touches nothing but the request and the transport's read-only configuration. */
#include "http_internal.h"

#include "http/authority.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool ieq_prefix(const char *s, const char *prefix)
{
    return !strncasecmp(s, prefix, strlen(prefix));
}

/* Whether the media range p[0..n) (parameters cut off) covers type: the type itself, its
 * major type with a wildcard subtype, or the full wildcard. */
static bool range_covers(const char *p, size_t n, const char *type)
{
    size_t major = (size_t)(strchr(type, '/') - type);
    return (n == strlen(type) && !strncasecmp(p, type, n)) || (n == 3 && !memcmp(p, "*/*", 3)) ||
           (n == major + 2 && !strncasecmp(p, type, major) && !memcmp(p + major, "/*", 2));
}

void http_accepts2(const char *accept, const char *t1, bool *a1, const char *t2, bool *a2)
{
    *a1 = *a2 = !accept;
    for (const char *p = accept; p && *p && !(*a1 && *a2);) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ';') e++;
        size_t n = (size_t)(e - p);
        while (n && p[n - 1] == ' ') n--;
        *a1 = *a1 || range_covers(p, n, t1);
        *a2 = *a2 || range_covers(p, n, t2);
        while (*e && *e != ',') e++;
        p = e;
    }
}

bool http_accepts(const char *accept, const char *type)
{
    bool a, unused;
    http_accepts2(accept, type, &a, type, &unused);
    return a;
}

bool http_bind_is_loopback(const char *host)
{
    return !strncmp(host, "127.", 4) || !strcmp(host, "::1") || !strcmp(host, "localhost");
}

static bool listed(char *const *list, size_t n, const char *v, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !strncasecmp(list[i], v, len)) return true;
    return false;
}

/* A host named with --allow-host (port ignored); an IPv6 one is listed with its brackets. */
static bool host_listed(const mcp_http *h, const http_authority *a)
{
    if (a->kind != HTTP_HOST_IPV6) return listed(h->hosts, h->nhosts, a->host, a->host_len);
    char v6[64];
    if (a->host_len + 3 > sizeof v6) return false;
    snprintf(v6, sizeof v6, "[%.*s]", (int)a->host_len, a->host);
    return listed(h->hosts, h->nhosts, v6, a->host_len + 2);
}

/* Origin is parsed as scheme://host[:port] and nothing else (src/http/authority.c): a value
 * that is not exactly that (a path, userinfo, "127.0.0.1:80.evil.com") is never loopback. */
static bool origin_ok(const mcp_http *h, const http_request *req)
{
    const char *o = req->origin;
    if (!o || h->any_origin) return true;
    if (listed(h->origins, h->norigins, o, strlen(o))) return true;
    http_origin org;
    if (http_parse_origin(o, strlen(o), &org) || !http_origin_is_web(&org)) return false;
    if (http_host_is_loopback(&org.a)) return h->loopback || host_listed(h, &org.a);
    /* same origin as the Host the client addressed (default ports: the scheme's, and 80) */
    http_authority host;
    int dflt = org.scheme_len == 5 ? 443 : 80;
    return !h->loopback && req->host && !http_parse_host(req->host, strlen(req->host), &host) &&
           http_authority_same(&org.a, dflt, &host, dflt);
}

/* On a loopback bind, Host must parse as an authority whose host is loopback or listed. The
 * answer depends on the value and the transport's fixed configuration only, so the worker
 * remembers the last value it let through and passes the same bytes again at once. */
static bool host_ok(const mcp_http *h, wstate *ws, const http_request *req)
{
    if (h->any_host || !h->loopback) return true;
    if (!req->host) return false;
    size_t n = strlen(req->host);
    if (ws && n == ws->host_ok_len && !memcmp(req->host, ws->host_ok, n)) return true;
    http_authority a;
    if (http_parse_host(req->host, n, &a)) return false;
    if (!http_host_is_loopback(&a) && !host_listed(h, &a)) return false;
    if (ws && n < sizeof ws->host_ok) {
        memcpy(ws->host_ok, req->host, n);
        ws->host_ok_len = n;
    }
    return true;
}

bool http_guard(req_ctx *r)
{
    if (!origin_ok(r->h, r->req))
        herr_send(r->ws, r->res, HERR_ORIGIN, NULL);
    else if (!host_ok(r->h, r->ws, r->req))
        herr_send(r->ws, r->res, HERR_HOST, NULL);
    else
        return false;
    return true;
}

/* Each stage returns true when it answered the request (the pipeline stops there). */
typedef bool (*stage_fn)(req_ctx *r);

static bool stage_admit(req_ctx *r)
{
    if (!atomic_load_explicit(&r->h->draining, memory_order_relaxed)) return false;
    http_response_close_after(r->res);
    herr_send(r->ws, r->res, HERR_SHUTTING_DOWN, NULL);
    return true;
}

/* Authentication: the program's callback decides from the Authorization header. */
static bool stage_auth(req_ctx *r)
{
    if (!r->h->o.auth) return false;
    r->principal = r->h->o.auth(r->h->o.auth_ud, http_header_get(r->req, "authorization"));
    if (r->principal) return false;
    herr_send(r->ws, r->res, HERR_UNAUTHORIZED, NULL);
    return true;
}

static bool content_type_ok(const char *ct)
{
    return ct && ieq_prefix(ct, "application/json") && (!ct[16] || ct[16] == ';' || ct[16] == ' ');
}

static bool stage_validate(req_ctx *r)
{
    http_request *req = r->req;
    /* the engine knows the versions: absent or legacy is the legacy era, anything else the
     * modern one (where the engine answers an unknown version) */
    r->modern = r->pv && mcp_version_era(r->pv) != MCP_ERA_LEGACY;
    herr e;
    if (req->method == HTTP_POST)
        http_accepts2(req->accept, "application/json", &r->accept_json, "text/event-stream",
                      &r->accept_sse);
    if (req->method != HTTP_POST && req->method != HTTP_GET && req->method != HTTP_DELETE)
        e = r->modern ? HERR_METHOD_MODERN : HERR_METHOD;
    else if (req->method == HTTP_POST && !content_type_ok(req->content_type))
        e = HERR_CONTENT_TYPE;
    else if (req->method == HTTP_POST && !r->accept_json && !r->accept_sse)
        e = HERR_ACCEPT;
    else
        return false;
    herr_send(r->ws, r->res, e, NULL);
    return true;
}

static const stage_fn pipeline[] = {http_guard, stage_auth, stage_admit, stage_validate};

bool http_admit(req_ctx *r)
{
    for (size_t i = 0; i < sizeof pipeline / sizeof *pipeline; i++)
        if (pipeline[i](r)) return true;
    return false;
}
