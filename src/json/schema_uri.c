/* schema_uri.c - URI-reference resolution for $id and $ref (RFC 3986 section 5).
 *
 * JSON Schema identifies resources by absolute URIs: every $id is resolved against the base URI
 * of its parent schema, and every $ref against the base of the schema it sits in. This file
 * splits a URI into its five components, resolves a reference against a base with the
 * algorithm of RFC 3986 5.2.2 (including remove_dot_segments), and percent-decodes fragments.
 * No normalization beyond that (no case folding, no default ports): the test suite and real
 * schemas spell one resource one way. Everything is allocated in the caller's arena. */
#include <string.h>

#include "json/schema_internal.h"

/* One component: start and length, or absent (s == NULL). */
typedef struct part {
    const char *s;
    size_t n;
} part;

typedef struct uri {
    part scheme, auth, path, query, frag;
} uri;

static bool scheme_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

/* A scheme is letters/digits/+-. up to the first ':' that comes before any '/', '?' or '#'. */
static size_t scheme_len(const char *s)
{
    size_t i = 0;
    while (s[i] && scheme_char(s[i], i == 0)) i++;
    return (i > 0 && s[i] == ':') ? i : 0;
}

static void uri_parse(const char *s, uri *u)
{
    memset(u, 0, sizeof *u);
    size_t sl = scheme_len(s);
    if (sl) {
        u->scheme = (part){s, sl};
        s += sl + 1;
    }
    if (s[0] == '/' && s[1] == '/') {
        s += 2;
        size_t n = strcspn(s, "/?#");
        u->auth = (part){s, n};
        s += n;
    }
    size_t n = strcspn(s, "?#");
    u->path = (part){s, n};
    s += n;
    if (*s == '?') {
        n = strcspn(s + 1, "#");
        u->query = (part){s + 1, n};
        s += 1 + n;
    }
    if (*s == '#') u->frag = (part){s + 1, strlen(s + 1)};
}

/* remove_dot_segments (5.2.4) of in[0..n) into out (room for n + 1 bytes); returns length. */
static size_t remove_dots(const char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        const char *p = in + i;
        size_t left = n - i;
        if (left >= 3 && memcmp(p, "../", 3) == 0)
            i += 3;
        else if (left >= 2 && memcmp(p, "./", 2) == 0)
            i += 2;
        else if (left >= 3 && memcmp(p, "/./", 3) == 0)
            i += 2;
        else if (left == 2 && memcmp(p, "/.", 2) == 0) {
            out[o++] = '/';
            i += 2;
        } else if ((left >= 4 && memcmp(p, "/../", 4) == 0) ||
                   (left == 3 && memcmp(p, "/..", 3) == 0)) {
            while (o > 0 && out[o - 1] != '/') o--;
            if (o > 0) o--; /* drop the last segment and its slash */
            i += 3;
            if (left == 3) out[o++] = '/';
        } else if ((left == 1 && p[0] == '.') || (left == 2 && memcmp(p, "..", 2) == 0)) {
            i = n;
        } else {
            size_t k = 1;
            while (k < left && p[k] != '/') k++;
            memcpy(out + o, p, k);
            o += k;
            i += k;
        }
    }
    out[o] = '\0';
    return o;
}

static void put(char **w, const char *s, size_t n)
{
    memcpy(*w, s, n);
    *w += n;
}

/* Writes the components of t as a URI string (5.3) into the arena. */
static char *uri_recompose(mcp_arena *a, const uri *t)
{
    size_t cap = t->scheme.n + t->auth.n + t->path.n + t->query.n + t->frag.n + 8;
    char *out = mcp_arena_alloc_unaligned(a, cap), *w = out;
    if (t->scheme.s) {
        put(&w, t->scheme.s, t->scheme.n);
        *w++ = ':';
    }
    if (t->auth.s) {
        put(&w, "//", 2);
        put(&w, t->auth.s, t->auth.n);
    }
    put(&w, t->path.s ? t->path.s : "", t->path.n);
    if (t->query.s) {
        *w++ = '?';
        put(&w, t->query.s, t->query.n);
    }
    if (t->frag.s) {
        *w++ = '#';
        put(&w, t->frag.s, t->frag.n);
    }
    *w = '\0';
    return out;
}

/* merge (5.2.3) of the base path and a relative path, then remove_dot_segments. */
static part merged_path(mcp_arena *a, const uri *b, part rel)
{
    size_t keep = 0;
    bool slash = b->auth.s && b->path.n == 0;
    if (!slash)
        for (size_t i = b->path.n; i > 0; i--)
            if (b->path.s[i - 1] == '/') {
                keep = i;
                break;
            }
    size_t n = (slash ? 1 : keep) + rel.n;
    char *tmp = mcp_arena_alloc_unaligned(a, n + 1), *out = mcp_arena_alloc_unaligned(a, n + 1);
    if (slash)
        tmp[0] = '/';
    else
        memcpy(tmp, b->path.s, keep);
    memcpy(tmp + (slash ? 1 : keep), rel.s, rel.n);
    return (part){out, remove_dots(tmp, n, out)};
}

static part clean_path(mcp_arena *a, part p)
{
    char *out = mcp_arena_alloc_unaligned(a, p.n + 1);
    return (part){out, remove_dots(p.s ? p.s : "", p.n, out)};
}

char *schema_uri_resolve(mcp_arena *a, const char *base, const char *ref)
{
    uri b, r, t;
    uri_parse(base ? base : "", &b);
    uri_parse(ref, &r);
    memset(&t, 0, sizeof t);
    t.frag = r.frag;
    if (r.scheme.s) {
        t.scheme = r.scheme, t.auth = r.auth, t.query = r.query;
        t.path = clean_path(a, r.path);
        return uri_recompose(a, &t);
    }
    t.scheme = b.scheme;
    if (r.auth.s) {
        t.auth = r.auth, t.query = r.query;
        t.path = clean_path(a, r.path);
    } else if (r.path.n == 0) {
        t.auth = b.auth, t.path = b.path;
        t.query = r.query.s ? r.query : b.query;
    } else {
        t.auth = b.auth, t.query = r.query;
        t.path = r.path.s[0] == '/' ? clean_path(a, r.path) : merged_path(a, &b, r.path);
    }
    return uri_recompose(a, &t);
}

char *schema_uri_split(mcp_arena *a, const char *u, const char **frag)
{
    const char *h = strchr(u, '#');
    if (!h) {
        *frag = "";
        return mcp_arena_strndup(a, u, strlen(u));
    }
    *frag = h + 1;
    return mcp_arena_strndup(a, u, (size_t)(h - u));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *schema_uri_unescape(mcp_arena *a, const char *s, size_t n, size_t *out_len)
{
    char *out = mcp_arena_alloc_unaligned(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        if (i + 2 >= n) return NULL;
        int hi = hexval(s[i + 1]);
        int lo = hexval(s[i + 2]);
        if (hi < 0 || lo < 0) return NULL;
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}
