/* schema_compile.c - turns a JSON Schema DOM into the compiled graph of schema_internal.h.
 *
 * Compilation runs in two phases. Discovery walks every subschema in a known keyword position
 * (properties, items, allOf, $defs, ...; never inside unknown keywords, whose "$id" is not an
 * identifier) and records for each DOM node its base URI, its schema resource and its
 * location, and registers every $id (resource), $anchor and $dynamicAnchor. Then nodes are
 * compiled from a worklist, not by recursion, so a chain of ten thousand $refs costs no stack:
 * asking for a subschema returns its snode at once (allocated on first request, filled later),
 * which is also what makes recursive $refs into graph cycles. $ref resolves against the base
 * URI (RFC 3986), finds the resource (fetching an unknown document only through the caller's
 * resolver, never the network), then follows a JSON pointer or an anchor. Patterns are compiled
 * once with PCRE2 (UTF, JIT when available). Keyword values are checked and the first bad one
 * is reported with its location. All DOM content the validator needs (names, const/enum values,
 * number texts) is copied into the schema's arena; the caller may free the DOM afterwards. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "json/schema_internal.h"

#define MAX_DISCOVERY_DEPTH 512 /* nesting of subschemas; the parser caps DOMs at 128 */
#define MAX_PATTERN_LEN     65536
#define STD_METASCHEMA      "https://json-schema.org/draft/2020-12/schema"

/* Vocabularies a document's metaschema may switch off ("$vocabulary"). Core is always on. */
enum { V_APPLICATOR = 1, V_VALIDATION = 2, V_UNEVAL = 4, V_ALL = 7, V_CORE = 8 };

/* What discovery knows about one DOM node that is (or may be) a schema. */
typedef struct cinfo {
    const json_value *dom;
    const char *base; /* base URI inside this schema, after its own $id */
    sres *res;        /* the resource it belongs to */
    const char *path; /* location for messages */
    snode *node;      /* the compiled node, once requested */
    uint8_t vocab;
} cinfo;

typedef struct cresource {
    const char *uri;
    cinfo *root;
} cresource;

typedef struct canchor {
    const char *uri; /* the resource's URI */
    const char *name;
    cinfo *target;
    bool dynamic;
} canchor;

typedef struct fetched {
    const char *uri;
    const json_value *dom; /* NULL: the resolver did not know it */
} fetched;

typedef struct cctx {
    json_schema *s;
    mcp_arena *a;  /* the schema's arena: what validation reads */
    mcp_arena tmp; /* compile-time only: discovery records, URIs, paths */
    const json_schema_options *opts;
    json_schema_error *err;
    bool failed;
    cinfo **map; /* DOM node -> cinfo, open addressing on the pointer */
    size_t map_cap, map_n;
    cresource *res;
    size_t nres, res_cap;
    canchor *anch;
    size_t nanch, anch_cap;
    cinfo **pend; /* nodes requested but not yet filled */
    size_t npend, pend_cap;
    struct fetched *tried; /* documents already asked of the resolver, and the answers */
    size_t ntried, tried_cap;
    pcre2_compile_context *ccx;
} cctx;

static void grow(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return;
    *cap = *cap ? *cap * 2 : 16;
    *p = mcp_xrealloc(*p, *cap * elem);
}

__attribute__((format(printf, 4, 5))) static void cerr(cctx *cc, const char *path, const char *kw,
                                                       const char *fmt, ...)
{
    if (cc->failed) return; /* the first problem is the one reported */
    cc->failed = true;
    snprintf(cc->err->schema_path, sizeof cc->err->schema_path, "%s%s%s", path, kw ? "/" : "",
             kw ? kw : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cc->err->msg, sizeof cc->err->msg, fmt, ap);
    va_end(ap);
}

/* ---- locations ------------------------------------------------------------------------------ */

static size_t esc_len(const char *s, size_t n)
{
    size_t k = n;
    for (size_t i = 0; i < n; i++) k += (s[i] == '~' || s[i] == '/');
    return k;
}

static char *esc_put(char *w, const char *s, size_t n)
{
    *w++ = '/';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' || s[i] == '/') {
            *w++ = '~';
            *w++ = s[i] == '~' ? '0' : '1';
        } else {
            *w++ = s[i];
        }
    }
    return w;
}

/* path + "/" + seg1 [+ "/" + seg2], each segment escaped as a JSON pointer token. */
static const char *path_join(cctx *cc, const char *path, const char *s1, size_t n1, const char *s2,
                             size_t n2)
{
    size_t pl = strlen(path);
    size_t n = pl + 2 + esc_len(s1, n1) + (s2 ? 1 + esc_len(s2, n2) : 0);
    char *out = mcp_arena_alloc_unaligned(&cc->tmp, n), *w = out + pl;
    memcpy(out, path, pl);
    w = esc_put(w, s1, n1);
    if (s2) w = esc_put(w, s2, n2);
    *w = '\0';
    return out;
}

static char *sdup(mcp_arena *a, const char *s)
{
    return mcp_arena_strndup(a, s, strlen(s));
}

/* ---- DOM node -> discovery record ------------------------------------------------------------ */

static size_t ptr_hash(const void *p, size_t cap)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0xed5ad4bbu;
    x ^= x >> 11;
    return (size_t)x & (cap - 1);
}

static cinfo *map_get(cctx *cc, const json_value *dom)
{
    if (!cc->map_cap) return NULL;
    for (size_t i = ptr_hash(dom, cc->map_cap);; i = (i + 1) & (cc->map_cap - 1)) {
        if (!cc->map[i]) return NULL;
        if (cc->map[i]->dom == dom) return cc->map[i];
    }
}

static void map_insert(cinfo **map, size_t cap, cinfo *in)
{
    size_t i = ptr_hash(in->dom, cap);
    while (map[i]) i = (i + 1) & (cap - 1);
    map[i] = in;
}

static void map_put(cctx *cc, cinfo *in)
{
    if ((cc->map_n + 1) * 2 > cc->map_cap) {
        size_t cap = cc->map_cap ? cc->map_cap * 2 : 256;
        cinfo **m = mcp_xcalloc(cap, sizeof *m);
        for (size_t i = 0; i < cc->map_cap; i++)
            if (cc->map[i]) map_insert(m, cap, cc->map[i]);
        free(cc->map);
        cc->map = m;
        cc->map_cap = cap;
    }
    map_insert(cc->map, cc->map_cap, in);
    cc->map_n++;
}

static cinfo *info_add(cctx *cc, const json_value *dom, const char *base, sres *res,
                       const char *path, uint8_t vocab)
{
    cinfo *in = map_get(cc, dom);
    if (in) return in;
    in = mcp_arena_alloc(&cc->tmp, sizeof *in);
    *in = (cinfo){dom, base, res, path, NULL, vocab};
    map_put(cc, in);
    return in;
}

/* The record of a subschema of parent; one not found by discovery (reached by a pointer into
 * an unknown keyword) inherits the parent's base and resource. */
static cinfo *child_info(cctx *cc, cinfo *parent, const json_value *dom, const char *s1, size_t n1,
                         const char *s2, size_t n2)
{
    cinfo *in = map_get(cc, dom);
    if (in) return in;
    return info_add(cc, dom, parent->base, parent->res, path_join(cc, parent->path, s1, n1, s2, n2),
                    parent->vocab);
}

/* Returns the node for in, allocating it and queueing it to be filled on first request. */
static snode *get_node(cctx *cc, cinfo *in)
{
    if (in->node) return in->node;
    snode *n = mcp_arena_alloc(cc->a, sizeof *n);
    memset(n, 0, sizeof *n);
    n->res = in->res;
    n->path = sdup(cc->a, in->path);
    in->node = n;
    grow((void **)&cc->pend, &cc->pend_cap, cc->npend, sizeof *cc->pend);
    cc->pend[cc->npend++] = in;
    return n;
}

/* ---- discovery ------------------------------------------------------------------------------- */

static cresource *find_resource(cctx *cc, const char *uri)
{
    for (size_t i = 0; i < cc->nres; i++)
        if (strcmp(cc->res[i].uri, uri) == 0) return &cc->res[i];
    return NULL;
}

static void add_resource(cctx *cc, const char *uri, cinfo *root)
{
    if (find_resource(cc, uri)) return; /* the first definition wins */
    grow((void **)&cc->res, &cc->res_cap, cc->nres, sizeof *cc->res);
    cc->res[cc->nres++] = (cresource){uri, root};
}

static canchor *find_anchor(cctx *cc, const char *uri, const char *name)
{
    for (size_t i = 0; i < cc->nanch; i++)
        if (strcmp(cc->anch[i].uri, uri) == 0 && strcmp(cc->anch[i].name, name) == 0)
            return &cc->anch[i];
    return NULL;
}

static void add_anchor(cctx *cc, cinfo *in, const json_value *name, bool dynamic)
{
    if (!json_is_string(name)) {
        cerr(cc, in->path, dynamic ? "$dynamicAnchor" : "$anchor", "expected a string");
        return;
    }
    if (dynamic) { /* the resource's list of dynamic anchors, read at validation */
        sdyn *d = mcp_arena_alloc(cc->a, sizeof *d);
        *d = (sdyn){sdup(cc->a, name->u.str), get_node(cc, in), in->res->dyn};
        in->res->dyn = d;
    }
    if (find_anchor(cc, in->base, name->u.str)) return;
    grow((void **)&cc->anch, &cc->anch_cap, cc->nanch, sizeof *cc->anch);
    cc->anch[cc->nanch++] = (canchor){in->base, name->u.str, in, dynamic};
}

static sres *new_res(cctx *cc, const char *uri)
{
    sres *r = mcp_arena_alloc(cc->a, sizeof *r);
    *r = (sres){sdup(cc->a, uri), NULL};
    return r;
}

/* Keywords whose values are subschemas, by shape. */
static const char *const kw_map[] = {"properties", "patternProperties", "$defs", "dependentSchemas",
                                     "dependencies"};
static const char *const kw_arr[] = {"prefixItems", "allOf", "anyOf", "oneOf"};
static const char *const kw_one[] = {
    "items", "contains", "additionalProperties", "propertyNames",         "not",          "if",
    "then",  "else",     "unevaluatedItems",     "unevaluatedProperties", "contentSchema"};

static bool in_list(const char *k, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(k, list[i]) == 0) return true;
    return false;
}

#define IN_LIST(k, l) in_list(k, l, sizeof l / sizeof l[0])

static void discover(cctx *cc, const json_value *dom, const char *base, sres *res, const char *path,
                     uint8_t vocab, unsigned depth);

static void discover_members(cctx *cc, cinfo *in, unsigned depth)
{
    const json_value *d = in->dom;
    for (uint32_t i = 0; i < d->len && !cc->failed; i++) {
        const json_member *m = &d->u.members[i];
        const json_value *v = &m->value;
        if (IN_LIST(m->key, kw_map) && v->type == JSON_OBJECT) {
            for (uint32_t j = 0; j < v->len; j++) {
                const json_member *c = &v->u.members[j];
                discover(cc, &c->value, in->base, in->res,
                         path_join(cc, in->path, m->key, m->key_len, c->key, c->key_len), in->vocab,
                         depth + 1);
            }
        } else if (IN_LIST(m->key, kw_arr) && v->type == JSON_ARRAY) {
            for (uint32_t j = 0; j < v->len; j++) {
                char idx[16];
                int n = snprintf(idx, sizeof idx, "%u", j);
                discover(cc, &v->u.items[j], in->base, in->res,
                         path_join(cc, in->path, m->key, m->key_len, idx, (size_t)n), in->vocab,
                         depth + 1);
            }
        } else if (IN_LIST(m->key, kw_one)) {
            discover(cc, v, in->base, in->res, path_join(cc, in->path, m->key, m->key_len, NULL, 0),
                     in->vocab, depth + 1);
        }
    }
}

/* Records dom (a schema at path) and everything below it in known keywords; registers $id,
 * $anchor and $dynamicAnchor. */
static void discover(cctx *cc, const json_value *dom, const char *base, sres *res, const char *path,
                     uint8_t vocab, unsigned depth)
{
    if (cc->failed || map_get(cc, dom)) return;
    if (depth > MAX_DISCOVERY_DEPTH) {
        cerr(cc, path, NULL, "schema nested too deeply (over %d levels)", MAX_DISCOVERY_DEPTH);
        return;
    }
    if (dom->type == JSON_BOOL) info_add(cc, dom, base, res, path, vocab);
    if (dom->type != JSON_OBJECT) return;
    const json_value *id = json_get(dom, "$id");
    bool new_resource = false;
    if (id) {
        if (!json_is_string(id)) {
            cerr(cc, path, "$id", "expected a string");
            return;
        }
        const char *frag;
        base = schema_uri_split(&cc->tmp, schema_uri_resolve(&cc->tmp, base, id->u.str), &frag);
        res = new_res(cc, base);
        new_resource = true;
    }
    cinfo *in = info_add(cc, dom, base, res, path, vocab);
    if (new_resource) add_resource(cc, base, in);
    const json_value *anchor = json_get(dom, "$anchor"), *dyn = json_get(dom, "$dynamicAnchor");
    if (anchor) add_anchor(cc, in, anchor, false);
    if (dyn) add_anchor(cc, in, dyn, true);
    discover_members(cc, in, depth);
}

/* Discovers a whole document retrieved as uri (the root schema has uri ""). */
static cinfo *discover_document(cctx *cc, const json_value *dom, const char *uri, uint8_t vocab)
{
    const char *prefix = "";
    if (*uri) {
        size_t n = strlen(uri);
        char *p = mcp_arena_alloc_unaligned(&cc->tmp, n + 2);
        memcpy(p, uri, n);
        memcpy(p + n, "#", 2);
        prefix = p;
    }
    discover(cc, dom, uri, new_res(cc, uri), prefix, vocab, 0);
    cinfo *root = map_get(cc, dom);
    if (!root) {
        cerr(cc, prefix, NULL, "schema must be an object or a boolean, got %s",
             json_type_name(dom));
        return NULL;
    }
    add_resource(cc, uri, root);
    return root;
}

/* ---- documents from the resolver ------------------------------------------------------------- */

/* Asks the resolver for a document, once per URI ("$schema" and "$ref" may name the same). */
static const json_value *fetch_dom(cctx *cc, const char *uri)
{
    if (!cc->opts->resolve) return NULL;
    for (size_t i = 0; i < cc->ntried; i++)
        if (strcmp(cc->tried[i].uri, uri) == 0) return cc->tried[i].dom;
    const json_value *dom = cc->opts->resolve(cc->opts->resolve_ud, uri, &cc->tmp);
    grow((void **)&cc->tried, &cc->tried_cap, cc->ntried, sizeof *cc->tried);
    cc->tried[cc->ntried++] = (fetched){uri, dom};
    return dom;
}

static cresource *fetch(cctx *cc, const char *uri)
{
    const json_value *dom = fetch_dom(cc, uri);
    if (!dom || !discover_document(cc, dom, uri, V_ALL)) return NULL;
    return find_resource(cc, uri);
}

/* The vocabularies of the root document, from its "$schema" metaschema's "$vocabulary" when
 * the resolver can supply a metaschema other than the standard one. */
static uint8_t root_vocab(cctx *cc, const json_value *schema)
{
    const json_value *ms = json_get(schema, "$schema");
    if (!json_is_string(ms) || strcmp(ms->u.str, STD_METASCHEMA) == 0) return V_ALL;
    const char *frag;
    const char *uri = schema_uri_split(&cc->tmp, ms->u.str, &frag);
    const json_value *voc = json_get(fetch_dom(cc, uri), "$vocabulary");
    if (!json_is_object(voc)) return V_ALL;
    static const struct {
        const char *uri;
        uint8_t bit;
    } known[] = {
        {"https://json-schema.org/draft/2020-12/vocab/applicator", V_APPLICATOR},
        {"https://json-schema.org/draft/2020-12/vocab/validation", V_VALIDATION},
        {"https://json-schema.org/draft/2020-12/vocab/unevaluated", V_UNEVAL},
    };
    uint8_t v = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (json_get(voc, known[i].uri)) v |= known[i].bit;
    return v;
}

/* ---- $ref resolution ------------------------------------------------------------------------- */

/* Next token of a decoded JSON pointer p[*i..n) into a tmp string with ~1 and ~0 undone. */
static char *pointer_token(cctx *cc, const char *p, size_t n, size_t *i, size_t *tl, bool *bad)
{
    size_t s = *i, e = s;
    while (e < n && p[e] != '/') e++;
    char *t = mcp_arena_alloc_unaligned(&cc->tmp, e - s + 1);
    size_t o = 0;
    for (size_t k = s; k < e; k++) {
        if (p[k] != '~') {
            t[o++] = p[k];
        } else if (k + 1 < e && (p[k + 1] == '0' || p[k + 1] == '1')) {
            t[o++] = p[++k] == '0' ? '~' : '/';
        } else {
            *bad = true;
        }
    }
    t[o] = '\0';
    *tl = o;
    *i = e + 1;
    return t;
}

static bool array_index(const char *t, size_t n, uint32_t len, uint32_t *out)
{
    if (n == 0 || n > 9 || (n > 1 && t[0] == '0')) return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9') return false;
        v = v * 10 + (uint32_t)(t[i] - '0');
    }
    *out = v;
    return v < len;
}

/* Follows the (percent-encoded) JSON pointer frag from the resource root. */
static cinfo *follow_pointer(cctx *cc, cinfo *cur, const char *frag)
{
    size_t n;
    char *p = schema_uri_unescape(&cc->tmp, frag, strlen(frag), &n);
    if (!p) return NULL;
    for (size_t i = 1; i <= n;) {
        size_t tl;
        bool bad = false;
        char *t = pointer_token(cc, p, n, &i, &tl, &bad);
        const json_value *d = cur->dom, *next = NULL;
        uint32_t idx;
        if (bad) return NULL;
        if (d->type == JSON_OBJECT)
            next = json_getn(d, t, tl);
        else if (d->type == JSON_ARRAY && array_index(t, tl, d->len, &idx))
            next = &d->u.items[idx];
        if (!next) return NULL;
        cur = child_info(cc, cur, next, t, tl, NULL, 0);
    }
    return cur;
}

/* Resolves a $ref/$dynamicRef value of the schema in. Returns the target, or NULL after
 * reporting. *anchor gets the fragment when it names a $dynamicAnchor. */
static cinfo *resolve_ref(cctx *cc, cinfo *in, const char *kw, const char *ref, const char **anchor)
{
    const char *frag, *abs = schema_uri_resolve(&cc->tmp, in->base, ref);
    const char *doc = schema_uri_split(&cc->tmp, abs, &frag);
    cresource *r = find_resource(cc, doc);
    if (!r && !cc->failed) r = fetch(cc, doc);
    if (cc->failed) return NULL;
    if (!r) {
        cerr(cc, in->path, kw, "unresolved $ref \"%s\" (remote references are not fetched)", abs);
        return NULL;
    }
    cinfo *t = r->root;
    if (*frag == '/') {
        t = follow_pointer(cc, r->root, frag);
    } else if (*frag) {
        canchor *an = find_anchor(cc, r->root->base, frag);
        t = an ? an->target : NULL;
        if (an && an->dynamic) *anchor = frag;
    }
    if (!t) cerr(cc, in->path, kw, "unresolved $ref \"%s\"", ref);
    return t;
}

/* ---- keyword compilers ----------------------------------------------------------------------- */

/* Per-node state while its keywords are compiled. */
typedef struct nb {
    cctx *cc;
    cinfo *in;
    kwop *ops;
    uint32_t n;
    sprops *props;
    spat *pats;
    uint32_t npats;
    uint32_t nprefix;
    sreq *req;
    const json_value *minc, *maxc; /* minContains / maxContains */
    const snode *if_, *then_, *else_;
    bool has_if;
} nb;

static kwop *add_op(nb *b, uint8_t op, uint8_t types, const char *kw)
{
    kwop *k = &b->ops[b->n++];
    memset(k, 0, sizeof *k);
    k->op = op;
    k->types = types;
    k->name = sdup(b->cc->a, kw);
    return k;
}

static void bad(nb *b, const char *kw, const char *what)
{
    cerr(b->cc, b->in->path, kw, "%s", what);
}

static const snode *sub(nb *b, const json_value *v, const char *kw, const char *key, size_t klen)
{
    return get_node(b->cc, child_info(b->cc, b->in, v, kw, strlen(kw), key, klen));
}

static const snode *sub_at(nb *b, const json_value *v, const char *kw, uint32_t i)
{
    char idx[16];
    int n = snprintf(idx, sizeof idx, "%u", i);
    return sub(b, v, kw, idx, (size_t)n);
}

static bool get_count(const json_value *v, uint64_t *out)
{
    if (v->type == JSON_INT && v->u.num.i >= 0) {
        *out = (uint64_t)v->u.num.i;
        return true;
    }
    if (v->type == JSON_DOUBLE && v->u.num.d >= 0 && v->u.num.d == floor(v->u.num.d)) {
        *out = v->u.num.d >= 1.8e19 ? UINT64_MAX : (uint64_t)v->u.num.d;
        return true;
    }
    return false;
}

static void kw_type_name(nb *b, const char *kw, const json_value *v, uint32_t *mask)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } names[] = {{"null", T_NULL},  {"boolean", T_BOOL}, {"integer", T_INT}, {"number", T_NUM},
                 {"string", T_STR}, {"array", T_ARR},    {"object", T_OBJ}};
    if (!json_is_string(v)) {
        bad(b, kw, "expected a type name or an array of them");
        return;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(v->u.str, names[i].name) == 0) {
            *mask |= names[i].bit;
            return;
        }
    cerr(b->cc, b->in->path, kw, "unknown type \"%s\"", v->u.str);
}

static void kw_type(nb *b, const char *kw, const json_value *v)
{
    uint32_t mask = 0;
    if (v->type == JSON_ARRAY)
        for (uint32_t i = 0; i < v->len; i++) kw_type_name(b, kw, &v->u.items[i], &mask);
    else
        kw_type_name(b, kw, v, &mask);
    add_op(b, K_TYPE, T_ANY, kw)->u.mask = mask;
}

static void kw_const(nb *b, const char *kw, const json_value *v)
{
    add_op(b, K_CONST, T_ANY, kw)->u.val = json_clone(v, b->cc->a);
}

static void kw_enum(nb *b, const char *kw, const json_value *v)
{
    if (v->type != JSON_ARRAY) {
        bad(b, kw, "expected an array");
        return;
    }
    kwop *k = add_op(b, K_ENUM, T_ANY, kw);
    k->u.val = json_clone(v, b->cc->a);
    k->n = v->len;
}

static void kw_number(nb *b, const char *kw, const json_value *v)
{
    static const struct {
        const char *name;
        uint8_t op;
    } ops[] = {{"multipleOf", K_MULTIPLE},
               {"minimum", K_MIN},
               {"maximum", K_MAX},
               {"exclusiveMinimum", K_XMIN},
               {"exclusiveMaximum", K_XMAX}};
    if (!json_is_number(v)) {
        bad(b, kw, "expected a number");
        return;
    }
    uint8_t op = K_MULTIPLE;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(kw, ops[i].name) == 0) op = ops[i].op;
    if (op == K_MULTIPLE && !(json_number(v) > 0)) {
        bad(b, kw, "expected a number greater than 0");
        return;
    }
    snum *s = mcp_arena_alloc(b->cc->a, sizeof *s);
    s->is_int = v->type == JSON_INT;
    s->i = s->is_int ? v->u.num.i : 0;
    s->d = json_number(v);
    s->text = v->u.num.text ? mcp_arena_strndup(b->cc->a, v->u.num.text, v->len) : NULL;
    add_op(b, op, T_NUM, kw)->u.num = s;
}

static void kw_count(nb *b, const char *kw, const json_value *v)
{
    static const struct {
        const char *name;
        uint8_t op, types;
    } ops[] = {{"minLength", K_MINLEN, T_STR},       {"maxLength", K_MAXLEN, T_STR},
               {"minItems", K_MINITEMS, T_ARR},      {"maxItems", K_MAXITEMS, T_ARR},
               {"minProperties", K_MINPROPS, T_OBJ}, {"maxProperties", K_MAXPROPS, T_OBJ}};
    uint64_t c;
    if (!get_count(v, &c)) {
        bad(b, kw, "expected a non-negative integer");
        return;
    }
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(kw, ops[i].name) == 0) add_op(b, ops[i].op, ops[i].types, kw)->u.count = c;
}

/* ECMA-262 long General_Category names, which PCRE2 10.42 does not know, to short ones. */
static const char *gc_short(const char *name, size_t n)
{
    static const char *const map[][2] = {
        {"Letter", "L"},
        {"Cased_Letter", "LC"},
        {"Uppercase_Letter", "Lu"},
        {"Lowercase_Letter", "Ll"},
        {"Titlecase_Letter", "Lt"},
        {"Modifier_Letter", "Lm"},
        {"Other_Letter", "Lo"},
        {"Mark", "M"},
        {"Combining_Mark", "M"},
        {"Nonspacing_Mark", "Mn"},
        {"Spacing_Mark", "Mc"},
        {"Enclosing_Mark", "Me"},
        {"Number", "N"},
        {"Decimal_Number", "Nd"},
        {"digit", "Nd"},
        {"Letter_Number", "Nl"},
        {"Other_Number", "No"},
        {"Punctuation", "P"},
        {"punct", "P"},
        {"Connector_Punctuation", "Pc"},
        {"Dash_Punctuation", "Pd"},
        {"Open_Punctuation", "Ps"},
        {"Close_Punctuation", "Pe"},
        {"Initial_Punctuation", "Pi"},
        {"Final_Punctuation", "Pf"},
        {"Other_Punctuation", "Po"},
        {"Symbol", "S"},
        {"Math_Symbol", "Sm"},
        {"Currency_Symbol", "Sc"},
        {"Modifier_Symbol", "Sk"},
        {"Other_Symbol", "So"},
        {"Separator", "Z"},
        {"Space_Separator", "Zs"},
        {"Line_Separator", "Zl"},
        {"Paragraph_Separator", "Zp"},
        {"Other", "C"},
        {"Control", "Cc"},
        {"cntrl", "Cc"},
        {"Format", "Cf"},
        {"Surrogate", "Cs"},
        {"Private_Use", "Co"},
        {"Unassigned", "Cn"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i][0]) == n && memcmp(map[i][0], name, n) == 0) return map[i][1];
    return NULL;
}

/* The PCRE2 spelling of the property in \p{name}: "Letter" -> "L", "gc=Lu" -> "Lu",
 * "Script=Greek" -> "Greek"; anything else unchanged (PCRE2 then judges it). */
static void property_name(const char *name, size_t n, const char **out, size_t *out_n)
{
    const char *eq = memchr(name, '=', n);
    if (eq) {
        size_t kl = (size_t)(eq - name);
        bool gc = (kl == 2 && memcmp(name, "gc", 2) == 0) ||
                  (kl == 16 && memcmp(name, "General_Category", 16) == 0);
        name = eq + 1;
        n -= kl + 1;
        if (!gc) { /* Script=, sc=, Script_Extensions=, scx=: PCRE2 takes the bare name */
            *out = name, *out_n = n;
            return;
        }
    }
    const char *s = gc_short(name, n);
    *out = s ? s : name;
    *out_n = s ? strlen(s) : n;
}

/* ECMA-262 white space and line terminators beyond the ASCII ones PCRE2's \s has (without
 * PCRE2_UCP, which would also widen \d and \w, wrongly for ECMA-262). \uXXXX, because
 * PCRE2_ALT_BSUX (ECMA-262 escapes) turns off \x{...}. */
#define ECMA_SPACE "\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

static void put_str(char *out, size_t *o, const char *s, size_t n)
{
    memcpy(out + *o, s, n);
    *o += n;
}

/* Writes the escape at src[i] (a backslash) translated to PCRE2; returns the index of its last
 * byte. \p{Letter} -> \p{L}; \s and \S get ECMA-262's Unicode white space (inside a class, \S
 * stays ASCII: a negated set cannot be nested there). */
static size_t ecma_escape(const char *src, size_t len, size_t i, bool in_class, char *out,
                          size_t *o)
{
    char e = i + 1 < len ? src[i + 1] : '\0';
    const char *close;
    if ((e == 'p' || e == 'P') && i + 2 < len && src[i + 2] == '{' &&
        (close = memchr(src + i + 3, '}', len - i - 3))) {
        const char *name;
        size_t n;
        property_name(src + i + 3, (size_t)(close - src - i - 3), &name, &n);
        put_str(out, o, src + i, 3);
        put_str(out, o, name, n);
        out[(*o)++] = '}';
        return (size_t)(close - src);
    }
    if (e == 's' && in_class) {
        put_str(out, o, "\\s" ECMA_SPACE, sizeof "\\s" ECMA_SPACE - 1);
    } else if (e == 's' || (e == 'S' && !in_class)) {
        put_str(out, o, e == 's' ? "[\\s" : "[^\\s", e == 's' ? 3 : 4);
        put_str(out, o, ECMA_SPACE "]", sizeof ECMA_SPACE);
    } else {
        put_str(out, o, src + i, e ? 2 : 1);
    }
    return e ? i + 1 : i;
}

/* Rewrites an ECMA-262 pattern into the PCRE2 spelling of the same thing (see ecma_escape). */
static char *ecma_pattern(cctx *cc, const char *src, size_t len, size_t *out_len)
{
    size_t escapes = 0;
    for (size_t i = 0; i < len; i++) escapes += src[i] == '\\';
    /* an escape grows by at most "[^\\s" ECMA_SPACE "]" less its own two bytes */
    char *out = mcp_arena_alloc_unaligned(&cc->tmp, len + escapes * (sizeof ECMA_SPACE + 8) + 1);
    size_t o = 0;
    bool in_class = false;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\\') {
            i = ecma_escape(src, len, i, in_class, out, &o);
            continue;
        }
        if (src[i] == '[')
            in_class = true;
        else if (src[i] == ']')
            in_class = false;
        out[o++] = src[i];
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static pcre2_code *regex(nb *b, const char *kw, const char *key, const json_value *src)
{
    int ec;
    PCRE2_SIZE off;
    size_t len;
    const char *pat = ecma_pattern(b->cc, src->u.str, src->len, &len);
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pat, len,
                      PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS,
                      &ec, &off, b->cc->ccx);
    if (!re) {
        char msg[120];
        pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg);
        const char *path = key ? path_join(b->cc, b->in->path, kw, strlen(kw), key, strlen(key))
                               : path_join(b->cc, b->in->path, kw, strlen(kw), NULL, 0);
        cerr(b->cc, path, NULL, "invalid regular expression \"%.60s\": %s at offset %zu",
             src->u.str, msg, (size_t)off);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* on failure pcre2_match interprets */
    schema_regex *r = mcp_arena_alloc(b->cc->a, sizeof *r);
    *r = (schema_regex){re, b->cc->s->regexes};
    b->cc->s->regexes = r;
    return re;
}

static void kw_pattern(nb *b, const char *kw, const json_value *v)
{
    if (!json_is_string(v)) {
        bad(b, kw, "expected a string");
        return;
    }
    spat *p = mcp_arena_alloc(b->cc->a, sizeof *p);
    *p = (spat){regex(b, kw, NULL, v), mcp_arena_strndup(b->cc->a, v->u.str, v->len), NULL};
    add_op(b, K_PATTERN, T_STR, kw)->u.pat = p;
}

static void kw_unique(nb *b, const char *kw, const json_value *v)
{
    if (v->type != JSON_BOOL) {
        bad(b, kw, "expected a boolean");
        return;
    }
    if (v->b) add_op(b, K_UNIQUE, T_ARR, kw);
}

/* Fills r from an array of unique strings. */
static bool string_list(nb *b, const json_value *v, sreq *r)
{
    if (v->type != JSON_ARRAY) return false;
    const char **names = mcp_arena_alloc(b->cc->a, (v->len + 1) * sizeof *names);
    uint32_t *lens = mcp_arena_alloc(b->cc->a, (v->len + 1) * sizeof *lens);
    for (uint32_t i = 0; i < v->len; i++) {
        const json_value *s = &v->u.items[i];
        if (s->type != JSON_STRING) return false;
        names[i] = mcp_arena_strndup(b->cc->a, s->u.str, s->len);
        lens[i] = s->len;
    }
    r->n = v->len;
    r->names = names;
    r->lens = lens;
    return true;
}

static void kw_required(nb *b, const char *kw, const json_value *v)
{
    sreq *r = mcp_arena_alloc(b->cc->a, sizeof *r);
    memset(r, 0, sizeof *r);
    if (!string_list(b, v, r)) {
        bad(b, kw, "expected an array of strings");
        return;
    }
    if (r->n == 0) return;
    b->req = r;
    add_op(b, K_REQUIRED, T_OBJ, kw)->u.req = r;
}

static void kw_dep_required(nb *b, const char *kw, const json_value *v)
{
    if (v->type != JSON_OBJECT) {
        bad(b, kw, "expected an object");
        return;
    }
    sreq *r = mcp_arena_alloc(b->cc->a, (v->len + 1) * sizeof *r);
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        memset(&r[i], 0, sizeof r[i]);
        if (!string_list(b, &m->value, &r[i])) {
            bad(b, kw, "expected an object of arrays of strings");
            return;
        }
        r[i].key = mcp_arena_strndup(b->cc->a, m->key, m->key_len);
        r[i].key_len = m->key_len;
    }
    kwop *k = add_op(b, K_DEPREQ, T_OBJ, kw);
    k->u.req = r;
    k->n = v->len;
}

/* An object of name -> subschema, as sprop entries. */
static sprop *prop_list(nb *b, const char *kw, const json_value *v)
{
    sprop *p = mcp_arena_alloc(b->cc->a, (v->len + 1) * sizeof *p);
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        p[i].name = mcp_arena_strndup(b->cc->a, m->key, m->key_len);
        p[i].len = m->key_len;
        p[i].node = sub(b, &m->value, kw, m->key, m->key_len);
    }
    return p;
}

static void props_index(nb *b, sprops *ps)
{
    uint32_t cap = 16;
    while (cap < ps->n * 2) cap *= 2;
    uint32_t *idx = mcp_arena_alloc(b->cc->a, cap * sizeof *idx);
    memset(idx, 0, cap * sizeof *idx);
    for (uint32_t i = 0; i < ps->n; i++) {
        uint32_t h = schema_hash(ps->v[i].name, ps->v[i].len) & (cap - 1);
        while (idx[h]) h = (h + 1) & (cap - 1);
        idx[h] = i + 1;
    }
    ps->index = idx;
    ps->hmask = cap - 1;
}

static void kw_properties(nb *b, const char *kw, const json_value *v)
{
    if (v->type != JSON_OBJECT) {
        bad(b, kw, "expected an object");
        return;
    }
    sprops *ps = mcp_arena_alloc(b->cc->a, sizeof *ps);
    memset(ps, 0, sizeof *ps);
    ps->n = v->len;
    ps->v = prop_list(b, kw, v);
    if (ps->n > 8) props_index(b, ps);
    b->props = ps;
    add_op(b, K_PROPS, T_OBJ, kw)->u.props = ps;
}

static void kw_pattern_props(nb *b, const char *kw, const json_value *v)
{
    if (v->type != JSON_OBJECT) {
        bad(b, kw, "expected an object");
        return;
    }
    spat *p = mcp_arena_alloc(b->cc->a, (v->len + 1) * sizeof *p);
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        json_value key = {.type = JSON_STRING, .len = m->key_len, .u.str = m->key};
        p[i].re = regex(b, kw, m->key, &key);
        p[i].src = mcp_arena_strndup(b->cc->a, m->key, m->key_len);
        p[i].node = sub(b, &m->value, kw, m->key, m->key_len);
    }
    b->pats = p;
    b->npats = v->len;
    kwop *k = add_op(b, K_PATPROPS, T_OBJ, kw);
    k->u.pat = p;
    k->n = v->len;
}

static void kw_dep_schemas(nb *b, const char *kw, const json_value *v)
{
    if (v->type != JSON_OBJECT) {
        bad(b, kw, "expected an object");
        return;
    }
    kwop *k = add_op(b, K_DEPSCHEMAS, T_OBJ, kw);
    k->u.deps = prop_list(b, kw, v);
    k->n = v->len;
}

/* allOf/anyOf/oneOf/prefixItems: a non-empty array of subschemas. */
static void kw_list(nb *b, const char *kw, const json_value *v)
{
    if (v->type != JSON_ARRAY || v->len == 0) {
        bad(b, kw, "expected a non-empty array");
        return;
    }
    const snode **nodes = mcp_arena_alloc(b->cc->a, v->len * sizeof *nodes);
    for (uint32_t i = 0; i < v->len; i++) nodes[i] = sub_at(b, &v->u.items[i], kw, i);
    uint8_t op = K_ALLOF, types = T_ANY;
    if (strcmp(kw, "anyOf") == 0)
        op = K_ANYOF;
    else if (strcmp(kw, "oneOf") == 0)
        op = K_ONEOF;
    else if (strcmp(kw, "prefixItems") == 0)
        op = K_PREFIX, types = T_ARR, b->nprefix = v->len;
    kwop *k = add_op(b, op, types, kw);
    k->u.nodes = nodes;
    k->n = v->len;
}

/* Keywords with one subschema and no sibling interplay. */
static void kw_single(nb *b, const char *kw, const json_value *v)
{
    static const struct {
        const char *name;
        uint8_t op, types;
    } ops[] = {{"items", K_ITEMS, T_ARR},
               {"propertyNames", K_PROPNAMES, T_OBJ},
               {"not", K_NOT, T_ANY},
               {"unevaluatedItems", K_UNEVALITEMS, T_ARR},
               {"unevaluatedProperties", K_UNEVALPROPS, T_OBJ}};
    const snode *n = sub(b, v, kw, NULL, 0);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(kw, ops[i].name) == 0) add_op(b, ops[i].op, ops[i].types, kw)->u.node = n;
}

static void kw_additional(nb *b, const char *kw, const json_value *v)
{
    sadd *a = mcp_arena_alloc(b->cc->a, sizeof *a);
    memset(a, 0, sizeof *a);
    a->node = sub(b, v, kw, NULL, 0);
    add_op(b, K_ADDPROPS, T_OBJ, kw)->u.add = a; /* props/pats linked in finish_node */
}

static void kw_contains(nb *b, const char *kw, const json_value *v)
{
    scontains *c = mcp_arena_alloc(b->cc->a, sizeof *c);
    *c = (scontains){sub(b, v, kw, NULL, 0), 1, UINT64_MAX, "contains", "contains"};
    add_op(b, K_CONTAINS, T_ARR, kw)->u.contains = c;
}

static void kw_contains_bound(nb *b, const char *kw, const json_value *v)
{
    uint64_t c;
    if (!get_count(v, &c)) {
        bad(b, kw, "expected a non-negative integer");
        return;
    }
    if (kw[1] == 'i')
        b->minc = v;
    else
        b->maxc = v;
}

static void kw_if(nb *b, const char *kw, const json_value *v)
{
    const snode *n = sub(b, v, kw, NULL, 0);
    if (kw[0] == 'i')
        b->if_ = n, b->has_if = true;
    else if (kw[0] == 't')
        b->then_ = n;
    else
        b->else_ = n;
}

/* Draft 7 "dependencies", still emitted by schema generators: a list of names is
 * dependentRequired, a schema is dependentSchemas. */
static void kw_dependencies(nb *b, const char *kw, const json_value *v)
{
    if (v->type != JSON_OBJECT) {
        bad(b, kw, "expected an object");
        return;
    }
    sreq *r = mcp_arena_alloc(b->cc->a, (v->len + 1) * sizeof *r);
    sprop *d = mcp_arena_alloc(b->cc->a, (v->len + 1) * sizeof *d);
    uint32_t nr = 0, nd = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        const char *key = mcp_arena_strndup(b->cc->a, m->key, m->key_len);
        if (m->value.type != JSON_ARRAY) {
            d[nd++] = (sprop){key, m->key_len, sub(b, &m->value, kw, m->key, m->key_len)};
            continue;
        }
        memset(&r[nr], 0, sizeof r[nr]);
        if (!string_list(b, &m->value, &r[nr])) {
            bad(b, kw, "expected arrays of strings or schemas");
            return;
        }
        r[nr].key = key;
        r[nr++].key_len = m->key_len;
    }
    kwop *k = add_op(b, K_DEPREQ, T_OBJ, kw);
    k->u.req = r, k->n = nr;
    k = add_op(b, K_DEPSCHEMAS, T_OBJ, kw);
    k->u.deps = d, k->n = nd;
}

static void kw_ref(nb *b, const char *kw, const json_value *v)
{
    if (!json_is_string(v)) {
        bad(b, kw, "expected a string");
        return;
    }
    const char *anchor = NULL;
    cinfo *t = resolve_ref(b->cc, b->in, kw, v->u.str, &anchor);
    if (!t) return;
    const snode *n = get_node(b->cc, t);
    if (kw[1] == 'd' && anchor) { /* $dynamicRef to a $dynamicAnchor: looked up at run time */
        sdynref *d = mcp_arena_alloc(b->cc->a, sizeof *d);
        *d = (sdynref){n, sdup(b->cc->a, anchor)};
        add_op(b, K_DYNREF, T_ANY, kw)->u.dyn = d;
        b->cc->s->has_dynref = true;
        return;
    }
    add_op(b, K_REF, T_ANY, kw)->u.node = n;
}

static void kw_defs(nb *b, const char *kw, const json_value *v)
{
    if (v->type != JSON_OBJECT) {
        bad(b, kw, "expected an object");
        return;
    }
    for (uint32_t i = 0; i < v->len; i++) /* compiled so that errors in them are reported */
        sub(b, &v->u.members[i].value, kw, v->u.members[i].key, v->u.members[i].key_len);
}

static void kw_string(nb *b, const char *kw, const json_value *v)
{
    if (!json_is_string(v)) bad(b, kw, "expected a string");
}

typedef void (*kw_fn)(nb *b, const char *kw, const json_value *v);

static const struct kwdef {
    const char *name;
    kw_fn fn;
    uint8_t vocab;
} kwdefs[] = {
    {"type", kw_type, V_VALIDATION},
    {"const", kw_const, V_VALIDATION},
    {"enum", kw_enum, V_VALIDATION},
    {"multipleOf", kw_number, V_VALIDATION},
    {"minimum", kw_number, V_VALIDATION},
    {"maximum", kw_number, V_VALIDATION},
    {"exclusiveMinimum", kw_number, V_VALIDATION},
    {"exclusiveMaximum", kw_number, V_VALIDATION},
    {"minLength", kw_count, V_VALIDATION},
    {"maxLength", kw_count, V_VALIDATION},
    {"minItems", kw_count, V_VALIDATION},
    {"maxItems", kw_count, V_VALIDATION},
    {"minProperties", kw_count, V_VALIDATION},
    {"maxProperties", kw_count, V_VALIDATION},
    {"pattern", kw_pattern, V_VALIDATION},
    {"uniqueItems", kw_unique, V_VALIDATION},
    {"required", kw_required, V_VALIDATION},
    {"dependentRequired", kw_dep_required, V_VALIDATION},
    {"minContains", kw_contains_bound, V_VALIDATION},
    {"maxContains", kw_contains_bound, V_VALIDATION},
    {"properties", kw_properties, V_APPLICATOR},
    {"patternProperties", kw_pattern_props, V_APPLICATOR},
    {"additionalProperties", kw_additional, V_APPLICATOR},
    {"propertyNames", kw_single, V_APPLICATOR},
    {"dependentSchemas", kw_dep_schemas, V_APPLICATOR},
    {"prefixItems", kw_list, V_APPLICATOR},
    {"items", kw_single, V_APPLICATOR},
    {"contains", kw_contains, V_APPLICATOR},
    {"allOf", kw_list, V_APPLICATOR},
    {"anyOf", kw_list, V_APPLICATOR},
    {"oneOf", kw_list, V_APPLICATOR},
    {"not", kw_single, V_APPLICATOR},
    {"if", kw_if, V_APPLICATOR},
    {"then", kw_if, V_APPLICATOR},
    {"else", kw_if, V_APPLICATOR},
    {"dependencies", kw_dependencies, V_APPLICATOR | V_VALIDATION},
    {"unevaluatedProperties", kw_single, V_UNEVAL},
    {"unevaluatedItems", kw_single, V_UNEVAL},
    {"$ref", kw_ref, V_CORE},
    {"$dynamicRef", kw_ref, V_CORE},
    {"$defs", kw_defs, V_CORE},
    {"$schema", kw_string, V_CORE},
    {"$comment", kw_string, V_CORE},
};

static const struct kwdef *find_kw(const char *k)
{
    for (size_t i = 0; i < sizeof kwdefs / sizeof kwdefs[0]; i++)
        if (strcmp(k, kwdefs[i].name) == 0) return &kwdefs[i];
    return NULL; /* unknown or annotation-only (format, default, title, ...): ignored */
}

/* ---- node assembly --------------------------------------------------------------------------- */

static bool prop_number(const sprops *ps, const char *name, uint32_t len, uint32_t *out)
{
    for (uint32_t i = 0; i < ps->n && i < 64; i++)
        if (ps->v[i].len == len && memcmp(ps->v[i].name, name, len) == 0) {
            *out = i;
            return true;
        }
    return false;
}

/* "required" as a mask over the properties seen, when every name is a declared property. */
static void required_mask(nb *b)
{
    if (!b->req || !b->props) return;
    uint64_t mask = 0;
    for (uint32_t i = 0; i < b->req->n; i++) {
        uint32_t j;
        if (!prop_number(b->props, b->req->names[i], b->req->lens[i], &j)) return;
        mask |= 1ull << j;
    }
    b->req->use_mask = true;
    b->req->mask = mask;
}

static void finish_contains(nb *b, kwop *k)
{
    scontains *c = (scontains *)k->u.contains;
    uint64_t v;
    if (b->minc && get_count(b->minc, &v)) c->min = v, c->min_kw = "minContains";
    if (b->maxc && get_count(b->maxc, &v)) c->max = v, c->max_kw = "maxContains";
}

/* Links the keywords that depend on siblings. */
static void finish_node(nb *b)
{
    for (uint32_t i = 0; i < b->n; i++) {
        kwop *k = &b->ops[i];
        if (k->op == K_ADDPROPS) {
            sadd *a = (sadd *)k->u.add;
            a->props = b->props, a->pats = b->pats, a->npats = b->npats;
        } else if (k->op == K_ITEMS) {
            k->n = b->nprefix;
        } else if (k->op == K_CONTAINS) {
            finish_contains(b, k);
        }
    }
    if (b->has_if) { /* even alone: its annotations count for unevaluated* */
        site *s = mcp_arena_alloc(b->cc->a, sizeof *s);
        *s = (site){b->if_, b->then_, b->else_};
        add_op(b, K_IF, T_ANY, "if")->u.ite = s;
    }
    required_mask(b);
}

/* Stable sort by op: the enum order is the evaluation order. */
static void sort_ops(kwop *ops, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        kwop k = ops[i];
        uint32_t j = i;
        while (j > 0 && ops[j - 1].op > k.op) {
            ops[j] = ops[j - 1];
            j--;
        }
        ops[j] = k;
    }
}

static void fill_object(cctx *cc, cinfo *in)
{
    const json_value *d = in->dom;
    nb b = {.cc = cc, .in = in};
    b.ops = mcp_arena_alloc(&cc->tmp, (d->len + 3) * sizeof *b.ops); /* "dependencies" makes two */
    for (uint32_t i = 0; i < d->len && !cc->failed; i++) {
        const json_member *m = &d->u.members[i];
        const struct kwdef *kd = find_kw(m->key);
        if (kd && (kd->vocab & (in->vocab | V_CORE))) kd->fn(&b, m->key, &m->value);
    }
    finish_node(&b);
    sort_ops(b.ops, b.n);
    snode *n = in->node;
    kwop *ops = mcp_arena_alloc(cc->a, (b.n + 1) * sizeof *ops);
    memcpy(ops, b.ops, b.n * sizeof *ops);
    n->kw = ops;
    n->nkw = (uint16_t)b.n;
    for (uint32_t i = 0; i < b.n; i++) {
        if (ops[i].op == K_UNEVALPROPS) n->flags |= NF_UNEVAL_P;
        if (ops[i].op == K_UNEVALITEMS) n->flags |= NF_UNEVAL_I;
    }
}

static void fill(cctx *cc, cinfo *in)
{
    const json_value *d = in->dom;
    if (d->type == JSON_BOOL) {
        in->node->kind = d->b ? N_TRUE : N_FALSE;
        return;
    }
    if (d->type != JSON_OBJECT) {
        cerr(cc, in->path, NULL, "schema must be an object or a boolean, got %s",
             json_type_name(d));
        return;
    }
    in->node->kind = N_SCHEMA;
    fill_object(cc, in);
}

/* ---- entry points ---------------------------------------------------------------------------- */

static void cctx_free(cctx *cc)
{
    free(cc->map);
    free(cc->res);
    free(cc->anch);
    free(cc->pend);
    free(cc->tried);
    pcre2_compile_context_free(cc->ccx);
    mcp_arena_free(&cc->tmp);
}

static void compile_all(cctx *cc, const json_value *schema)
{
    uint8_t vocab = schema->type == JSON_OBJECT ? root_vocab(cc, schema) : V_ALL;
    cinfo *root = discover_document(cc, schema, "", vocab);
    if (!root || cc->failed) return;
    cc->s->root = get_node(cc, root);
    while (cc->npend && !cc->failed) fill(cc, cc->pend[--cc->npend]);
}

json_schema *json_schema_compile(const json_value *schema, const json_schema_options *opts,
                                 json_schema_error *err)
{
    static const json_schema_options defaults;
    json_schema_error dummy;
    if (!opts) opts = &defaults;
    if (!err) err = &dummy;
    memset(err, 0, sizeof *err);
    if (!schema) {
        snprintf(err->msg, sizeof err->msg, "no schema");
        return NULL;
    }
    json_schema *s = mcp_xcalloc(1, sizeof *s);
    mcp_arena_init(&s->arena, NULL, 0);
    s->max_steps = opts->max_steps ? opts->max_steps : 1000000;
    s->max_errors = opts->max_errors && opts->max_errors < 8 ? opts->max_errors : 8;
    cctx cc = {.s = s, .a = &s->arena, .opts = opts, .err = err};
    mcp_arena_init(&cc.tmp, NULL, 0);
    cc.ccx = pcre2_compile_context_create(NULL);
    if (!cc.ccx) mcp_oom(sizeof(void *));
    pcre2_set_compile_extra_options(cc.ccx, PCRE2_EXTRA_ALT_BSUX);
    pcre2_set_max_pattern_length(cc.ccx, MAX_PATTERN_LEN);
    compile_all(&cc, schema);
    bool failed = cc.failed;
    cctx_free(&cc);
    if (failed) {
        json_schema_free(s);
        return NULL;
    }
    schema_flat_setup(s);
    return s;
}

void json_schema_free(json_schema *s)
{
    if (!s) return;
    for (schema_regex *r = s->regexes; r; r = r->next) pcre2_code_free(r->re);
    mcp_arena_free(&s->arena);
    free(s);
}
