/* http_admit.c - the admission pipeline of the MCP endpoint.
 *
 * Every request to the endpoint passes these stages in order before it reaches the era's rules:
 * the Origin/Host guard (DNS rebinding protection), admission (refused while the server shuts
 * down), then the method and media types (Content-Type, Accept). Each stage either lets the
 * request through or answers it with a row of the error table (http_errors.c). The era is
 * decided here too, from the MCP-Protocol-Version header. Runs on the loop thread of the
 * request; touches nothing but the request and the transport's read-only configuration. */
#include "http_internal.h"

#include <string.h>
#include <strings.h>

static bool ieq_prefix(const char *s, const char *prefix)
{
    return !strncasecmp(s, prefix, strlen(prefix));
}

bool http_accepts(const char *accept, const char *type)
{
    if (!accept) return true;
    const char *slash = strchr(type, '/');
    size_t major = (size_t)(slash - type);
    for (const char *p = accept; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ';') e++;
        size_t n = (size_t)(e - p);
        while (n && p[n - 1] == ' ') n--;
        if ((n == strlen(type) && !strncasecmp(p, type, n)) || (n == 3 && !memcmp(p, "*/*", 3)) ||
            (n == major + 2 && !strncasecmp(p, type, major) && !memcmp(p + major, "/*", 2)))
            return true;
        while (*e && *e != ',') e++;
        p = e;
    }
    return false;
}

/* localhost, [::1], or a dotted-decimal 127.x.y.z (not a DNS name such as 127.evil.example). */
static bool host_is_loopback(const char *host, size_t n)
{
    if ((n == 9 && !strncasecmp(host, "localhost", 9)) || (n == 5 && !strncmp(host, "[::1]", 5)) ||
        (n == 3 && !strncmp(host, "::1", 3)))
        return true;
    if (n < 7 || n > 15 || strncmp(host, "127.", 4)) return false;
    int dots = 0, digits = 0;
    for (size_t i = 4; i < n; i++) {
        if (host[i] == '.') {
            if (!digits) return false;
            dots++;
            digits = 0;
        } else if (host[i] >= '0' && host[i] <= '9') {
            if (++digits > 3) return false;
        } else {
            return false;
        }
    }
    return dots == 2 && digits;
}

bool http_bind_is_loopback(const char *host)
{
    return !strncmp(host, "127.", 4) || !strcmp(host, "::1") || !strcmp(host, "localhost");
}

/* Splits "host[:port]" / "[v6]:port": returns the host's length. */
static size_t host_part(const char *hp)
{
    if (hp[0] == '[') {
        const char *e = strchr(hp, ']');
        return e ? (size_t)(e - hp) + 1 : strlen(hp);
    }
    const char *c = strchr(hp, ':');
    return c ? (size_t)(c - hp) : strlen(hp);
}

static bool listed(char *const *list, size_t n, const char *v, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !strncasecmp(list[i], v, len)) return true;
    return false;
}

static bool origin_ok(const mcp_http *h, const http_request *req)
{
    const char *o = req->origin;
    if (!o || h->any_origin) return true;
    if (listed(h->origins, h->norigins, o, strlen(o))) return true;
    const char *hp = NULL;
    if (!strncasecmp(o, "http://", 7))
        hp = o + 7;
    else if (!strncasecmp(o, "https://", 8))
        hp = o + 8;
    if (!hp || strchr(hp, '/')) return false;
    if (host_is_loopback(hp, host_part(hp)))
        return h->loopback || listed(h->hosts, h->nhosts, hp, host_part(hp));
    /* same origin as the Host the client addressed */
    return !h->loopback && req->host && !strcasecmp(hp, req->host);
}

bool http_host_ok(const mcp_http *h, const http_request *req)
{
    if (h->any_host || !h->loopback) return true;
    const char *hp = req->host;
    if (!hp) return false;
    size_t n = host_part(hp);
    return host_is_loopback(hp, n) || listed(h->hosts, h->nhosts, hp, n);
}

/* Each stage returns true when it answered the request (the pipeline stops there). */
typedef bool (*stage_fn)(req_ctx *r);

static bool stage_guard(req_ctx *r)
{
    if (!origin_ok(r->h, r->req))
        herr_send(r->ws, r->res, HERR_ORIGIN, NULL);
    else if (!http_host_ok(r->h, r->req))
        herr_send(r->ws, r->res, HERR_HOST, NULL);
    else
        return false;
    return true;
}

static bool stage_admit(req_ctx *r)
{
    if (!atomic_load_explicit(&r->h->draining, memory_order_relaxed)) return false;
    http_response_close_after(r->res);
    herr_send(r->ws, r->res, HERR_SHUTTING_DOWN, NULL);
    return true;
}

static bool legacy_version(const char *v)
{
    return !strcmp(v, "2025-11-25") || !strcmp(v, "2025-06-18") || !strcmp(v, "2025-03-26") ||
           !strcmp(v, "2024-11-05");
}

static bool content_type_ok(const char *ct)
{
    return ct && ieq_prefix(ct, "application/json") && (!ct[16] || ct[16] == ';' || ct[16] == ' ');
}

static bool stage_validate(req_ctx *r)
{
    http_request *req = r->req;
    const char *pv = req->mcp_protocol_version;
    r->modern = pv && !legacy_version(pv);
    herr e;
    if (req->method != HTTP_POST && req->method != HTTP_GET && req->method != HTTP_DELETE)
        e = r->modern ? HERR_METHOD_MODERN : HERR_METHOD;
    else if (req->method == HTTP_POST && !content_type_ok(req->content_type))
        e = HERR_CONTENT_TYPE;
    else if (req->method == HTTP_POST && !http_accepts(req->accept, "application/json") &&
             !http_accepts(req->accept, "text/event-stream"))
        e = HERR_ACCEPT;
    else
        return false;
    herr_send(r->ws, r->res, e, NULL);
    return true;
}

static const stage_fn pipeline[] = {stage_guard, stage_admit, stage_validate};

bool http_admit(req_ctx *r)
{
    for (size_t i = 0; i < sizeof pipeline / sizeof *pipeline; i++)
        if (pipeline[i](r)) return true;
    return false;
}
