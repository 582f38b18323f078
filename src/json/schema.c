/* schema.c - validates an instance DOM against a compiled JSON Schema (schema_internal.h).
 *
 * Validation walks the compiled graph recursively alongside the instance: v_node runs a node's
 * keyword operations in order, skipping those that do not apply to the instance's type with
 * one mask test. Without a result to fill (res == NULL) the first failure returns at once;
 * with one, evaluation continues to collect up to max_errors errors, each naming the instance
 * path (built only on error, from a chain of path frames on the C stack), the keyword's schema
 * location and a message. Branches whose failure is not itself an error (anyOf, oneOf, not,
 * if, contains, propertyNames) run with collection off and report one summary.
 *
 * unevaluatedProperties/unevaluatedItems need to know which members/items the node's other
 * keywords and in-place applicators ($ref, allOf, anyOf, if/then/else, ...) evaluated. Only a
 * node that has such a keyword starts tracking: it owns a bitmap over its instance's members or
 * items (inline up to 128, heap beyond) and passes it down through in-place applicators, which
 * mark what they evaluate; a subschema that fails contributes nothing. Schemas without these
 * keywords never touch a bitmap.
 *
 * Work is bounded: every node entry and keyword evaluation is a step (loops over members,
 * items, string bytes and compared values are charged in proportion), following $refs without
 * descending into the instance is capped at MAX_REF_CHAIN, and nesting at MAX_NODE_DEPTH. Any
 * of them ends validation as invalid with budget_exceeded. The compiled schema is never
 * written, so validation may run from many threads at once; the only per-thread state is the
 * PCRE2 match data, cached in thread-local storage. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "json/schema_internal.h"

#define MAX_NODE_DEPTH 1024 /* nested node evaluations (instance depth x in-place applicators) */
#define MAX_REF_CHAIN  64   /* $refs followed at one instance location */
#define INLINE_WORDS   2    /* evaluated-set bits kept on the stack: 128 members/items */

typedef struct scope {
    const sres *res;
    const struct scope *up;
} scope;

/* One step of the instance path: a member name, or an item index when key is NULL. */
typedef struct ipath {
    const struct ipath *up;
    const char *key;
    uint32_t klen;
    uint32_t idx;
} ipath;

/* The set of members/items of one instance that some keyword evaluated. */
typedef struct annot {
    uint64_t *bits;
    uint32_t n;
    uint64_t inl[INLINE_WORDS];
} annot;

typedef struct vctx {
    const json_schema *s;
    json_schema_result *res;
    uint64_t steps, max_steps;
    uint32_t depth; /* nested v_node calls */
    uint32_t refs;  /* $refs followed since the last step into the instance */
    bool collect;   /* record errors (res given, not inside a branch that may fail) */
    bool stop;      /* unwind now: budget exhausted or error list full */
    bool budget;
    const scope *scope; /* dynamic scope, innermost first (only with has_dynref) */
} vctx;

/* Per node evaluation: where to mark evaluated members/items, and which of the node's first
 * 64 "properties" were present (for the mask form of "required"). */
typedef struct nstate {
    annot *a;
    uint64_t seen;
} nstate;

static bool v_node(vctx *c, const snode *n, const json_value *v, const ipath *p, annot *a);

/* ---- evaluated sets -------------------------------------------------------------------------- */

static void annot_init(annot *a, uint32_t n)
{
    size_t words = ((size_t)n + 63) / 64;
    a->n = n;
    if (words <= INLINE_WORDS) {
        memset(a->inl, 0, sizeof a->inl);
        a->bits = a->inl;
    } else {
        a->bits = mcp_xcalloc(words, sizeof *a->bits);
    }
}

static void annot_free(annot *a)
{
    if (a->bits != a->inl) free(a->bits);
}

static inline void annot_set(annot *a, uint32_t i)
{
    if (a) a->bits[i >> 6] |= 1ull << (i & 63);
}

static inline bool annot_has(const annot *a, uint32_t i)
{
    return (a->bits[i >> 6] >> (i & 63)) & 1;
}

static void annot_merge(annot *d, const annot *s)
{
    for (size_t i = 0; i < ((size_t)d->n + 63) / 64; i++) d->bits[i] |= s->bits[i];
}

/* ---- errors ---------------------------------------------------------------------------------- */

static size_t put_esc(char *out, size_t size, size_t o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o + 2 < size; i++) {
        if (s[i] == '~' || s[i] == '/') {
            out[o++] = '~';
            out[o++] = s[i] == '~' ? '0' : '1';
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

static size_t put_ipath(char *out, size_t size, const ipath *p)
{
    if (!p) return 0;
    size_t o = put_ipath(out, size, p->up);
    if (o + 1 >= size) return o;
    out[o++] = '/';
    if (p->key) return put_esc(out, size, o, p->key, p->klen);
    char idx[16];
    int n = snprintf(idx, sizeof idx, "%u", p->idx);
    return put_esc(out, size, o, idx, (size_t)n);
}

static json_schema_error *new_error(vctx *c, const ipath *p)
{
    json_schema_result *r = c->res;
    if (r->nerrors >= c->s->max_errors) {
        c->stop = true;
        return NULL;
    }
    json_schema_error *e = &r->errors[r->nerrors++];
    e->instance_path[put_ipath(e->instance_path, sizeof e->instance_path, p)] = '\0';
    e->schema_path[0] = e->msg[0] = '\0';
    return e;
}

/* Records an error at instance p, keyword kw of node n (kw may be NULL: the node itself). */
__attribute__((format(printf, 5, 6), noinline, cold)) static void
verr(vctx *c, const snode *n, const char *kw, const ipath *p, const char *fmt, ...)
{
    if (!c->collect) return;
    json_schema_error *e = new_error(c, p);
    if (!e) return;
    snprintf(e->schema_path, sizeof e->schema_path, "%s%s%s", n->path, kw ? "/" : "", kw ? kw : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (c->res->nerrors >= c->s->max_errors) c->stop = true;
}

/* Ends validation: too much work. Recorded even inside branches, so the result says why. */
__attribute__((noinline, cold)) static bool budget_hit(vctx *c, const ipath *p, const char *why)
{
    if (c->budget) return false;
    c->stop = c->budget = true;
    if (!c->res) return false;
    c->res->budget_exceeded = true;
    json_schema_error *e = new_error(c, p);
    if (e) snprintf(e->msg, sizeof e->msg, "%s", why);
    return false;
}

static inline bool charge(vctx *c, uint64_t n, const ipath *p)
{
    c->steps += n;
    if (c->steps <= c->max_steps) return true;
    return budget_hit(c, p, "validation step budget exhausted");
}

/* A value as short JSON text for messages ("\"abc\"", "[1,2]", cut with "..."). */
static const char *short_json(const json_value *v, char *out, size_t size)
{
    mcp_buf b;
    mcp_buf_init(&b, out, size - 4, size - 4);
    json_serialize(&b, v, false);
    size_t n = b.len < size - 4 ? b.len : size - 4;
    if (b.overflow) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    mcp_buf_free(&b);
    return out;
}

static const char *num_text(const snum *s, char *buf, size_t size)
{
    if (s->text) return s->text;
    snprintf(buf, size, "%.17g", s->d);
    return buf;
}

/* ---- values ---------------------------------------------------------------------------------- */

static inline uint8_t vtype(const json_value *v)
{
    static const uint8_t map[] = {
        [JSON_NULL] = T_NULL,  [JSON_BOOL] = T_BOOL, [JSON_INT] = T_NUM,   [JSON_DOUBLE] = T_NUM,
        [JSON_STRING] = T_STR, [JSON_ARRAY] = T_ARR, [JSON_OBJECT] = T_OBJ};
    return v->type <= JSON_OBJECT ? map[v->type] : 0;
}

static bool is_integer(const json_value *v)
{
    if (v->type == JSON_INT) return true;
    return v->type == JSON_DOUBLE && isfinite(v->u.num.d) && v->u.num.d == floor(v->u.num.d);
}

/* Compares int64 i with double d exactly (no rounding of i to double). */
static int cmp_int_double(int64_t i, double d)
{
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    double t = trunc(d);
    int64_t ti = (int64_t)t;
    if (i != ti) return i < ti ? -1 : 1;
    return d > t ? -1 : d < t ? 1 : 0;
}

static int num_cmp(const json_value *v, const snum *s)
{
    if (v->type == JSON_INT) {
        if (s->is_int) return (v->u.num.i > s->i) - (v->u.num.i < s->i);
        return cmp_int_double(v->u.num.i, s->d);
    }
    if (s->is_int) return -cmp_int_double(s->i, v->u.num.d);
    return (v->u.num.d > s->d) - (v->u.num.d < s->d);
}

static bool num_eq(const json_value *a, const json_value *b)
{
    if (a->type == JSON_INT && b->type == JSON_INT) return a->u.num.i == b->u.num.i;
    if (a->type == JSON_DOUBLE && b->type == JSON_DOUBLE) return a->u.num.d == b->u.num.d;
    if (a->type == JSON_INT) return cmp_int_double(a->u.num.i, b->u.num.d) == 0;
    return cmp_int_double(b->u.num.i, a->u.num.d) == 0;
}

/* JSON equality (1 == 1.0, member order ignored) that charges its work to the budget. */
static bool veq(vctx *c, const json_value *a, const json_value *b, const ipath *p)
{
    if (json_is_number(a) && json_is_number(b)) return num_eq(a, b);
    if (a->type != b->type || !charge(c, 1, p)) return false;
    switch (a->type) {
    case JSON_NULL:
        return true;
    case JSON_BOOL:
        return a->b == b->b;
    case JSON_STRING:
        return a->len == b->len && charge(c, a->len / 256, p) &&
               memcmp(a->u.str, b->u.str, a->len) == 0;
    case JSON_ARRAY:
        if (a->len != b->len) return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!veq(c, &a->u.items[i], &b->u.items[i], p)) return false;
        return true;
    case JSON_OBJECT:
        if (a->len != b->len) return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const json_member *m = &a->u.members[i], *o = &b->u.members[i];
            const json_value *bv = &o->value;
            if (o->key_len != m->key_len || memcmp(o->key, m->key, m->key_len) != 0) {
                if (!charge(c, b->len / 8, p)) return false; /* out of order: linear lookup */
                bv = json_getn(b, m->key, m->key_len);
            }
            if (!bv || !veq(c, &m->value, bv, p)) return false;
        }
        return true;
    default:
        return false;
    }
}

/* ---- multipleOf ------------------------------------------------------------------------------ */

/* A decimal literal as m * 10^e (sign dropped), when its significant digits fit in 19. */
typedef struct dec {
    uint64_t m;
    int64_t e;
} dec;

static bool dec_digits(const char *t, size_t n, size_t *i, dec *d, int *digits, bool frac)
{
    for (; *i < n && t[*i] >= '0' && t[*i] <= '9'; (*i)++) {
        int dg = t[*i] - '0';
        if (d->m == 0 && dg == 0) {
            if (frac) d->e--;
            continue;
        }
        if (*digits == 19) { /* too many digits: only zeros can be dropped exactly */
            if (dg != 0) return false;
            if (!frac) d->e++;
            continue;
        }
        d->m = d->m * 10 + (uint64_t)dg;
        (*digits)++;
        if (frac) d->e--;
    }
    return true;
}

static bool dec_parse(const char *t, size_t n, dec *d)
{
    size_t i = 0;
    int digits = 0;
    *d = (dec){0, 0};
    if (i < n && t[i] == '-') i++;
    if (!dec_digits(t, n, &i, d, &digits, false)) return false;
    if (i < n && t[i] == '.') {
        i++;
        if (!dec_digits(t, n, &i, d, &digits, true)) return false;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        bool neg = ++i < n && t[i] == '-';
        if (i < n && (t[i] == '-' || t[i] == '+')) i++;
        int64_t x = 0;
        for (; i < n && t[i] >= '0' && t[i] <= '9'; i++) {
            x = x * 10 + (t[i] - '0');
            if (x > 1000000) return false;
        }
        d->e += neg ? -x : x;
    }
    return i == n && n > 0;
}

static bool value_dec(const json_value *v, dec *d)
{
    if (v->u.num.text) return dec_parse(v->u.num.text, v->len, d);
    if (v->type != JSON_INT) return false;
    d->m = v->u.num.i < 0 ? 0 - (uint64_t)v->u.num.i : (uint64_t)v->u.num.i;
    d->e = 0;
    return true;
}

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

/* 10^k mod m by squaring. */
static uint64_t pow10_mod(int64_t k, uint64_t m)
{
    u128 r = 1 % m, b = 10 % m;
    for (; k > 0; k >>= 1) {
        if (k & 1) r = r * b % m;
        b = b * b % m;
    }
    return (uint64_t)r;
}

/* Exact test of x = k * d for decimals: 1 yes, 0 no, -1 cannot tell. */
static int dec_multiple(dec x, dec d)
{
    if (x.m == 0) return 1;
    if (d.m == 0) return -1;
    if (x.e >= d.e) /* x/d = x.m * 10^(x.e - d.e) / d.m */
        return (u128)(x.m % d.m) * pow10_mod(x.e - d.e, d.m) % d.m == 0;
    u128 dd = d.m; /* need d.m * 10^(d.e - x.e) to divide x.m */
    for (int64_t k = d.e - x.e; k > 0; k--) {
        dd *= 10;
        if (dd > x.m) return 0;
    }
    return x.m % (uint64_t)dd == 0;
}
#else
static int dec_multiple(dec x, dec d)
{
    (void)x, (void)d;
    return -1;
}
#endif

static bool multiple_of(const json_value *v, const snum *s)
{
    if (v->type == JSON_INT && s->is_int) return v->u.num.i % s->i == 0;
    dec x, d;
    json_value sv = {.type = s->is_int ? JSON_INT : JSON_DOUBLE, .u.num.i = s->i};
    if (s->text) sv.u.num.text = s->text, sv.len = (uint32_t)strlen(s->text);
    if (value_dec(v, &x) && value_dec(&sv, &d)) {
        int r = dec_multiple(x, d);
        if (r >= 0) return r == 1;
    }
    double q = json_number(v) / s->d; /* fallback: no exact decimal form */
    if (!isfinite(q)) return false;
    return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q));
}

/* ---- regular expressions ------------------------------------------------------------------- */

/* Per-thread match data and match context: the compiled patterns are shared read-only, but a
 * match needs scratch space. Freed by the key destructor when the thread exits. */
typedef struct rx_tls {
    pcre2_match_data *md;
    pcre2_match_context *mc;
} rx_tls;

static pthread_key_t rx_key;
static pthread_once_t rx_once = PTHREAD_ONCE_INIT;

static void rx_tls_free(void *p)
{
    rx_tls *t = p;
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->mc);
    free(t);
}

static void rx_key_init(void)
{
    if (pthread_key_create(&rx_key, rx_tls_free) != 0) abort();
}

static rx_tls *rx_state(void)
{
    static _Thread_local rx_tls *tl;
    if (tl) return tl;
    pthread_once(&rx_once, rx_key_init);
    rx_tls *t = mcp_xmalloc(sizeof *t);
    t->md = pcre2_match_data_create(1, NULL);
    t->mc = pcre2_match_context_create(NULL);
    if (!t->md || !t->mc) mcp_oom(sizeof *t);
    pcre2_set_heap_limit(t->mc, 4096); /* KiB of backtracking frames for the interpreter */
    pthread_setspecific(rx_key, t);
    return tl = t;
}

/* 1 match, 0 no match (also for a subject that is not valid UTF-8), -1 budget hit. The match
 * limit grows with the subject so ordinary patterns never reach it; a pathological one does,
 * and that ends validation like any other exhausted budget. */
static int rx_match(vctx *c, const pcre2_code *re, const char *s, size_t len, const ipath *p)
{
    if (!charge(c, 1 + len / 32, p)) return -1;
    rx_tls *t = rx_state();
    size_t cap = len < (1u << 24) ? len : (1u << 24);
    pcre2_set_match_limit(t->mc, (uint32_t)(10000 + 64 * cap));
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, t->md, t->mc);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) return 0;
    budget_hit(c, p, "regular expression match limit exceeded");
    return -1;
}

/* ---- scalar keywords ------------------------------------------------------------------------- */

static const char *type_list(uint32_t m, char *buf, size_t size)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{T_OBJ, "object"},  {T_ARR, "array"},    {T_STR, "string"}, {T_NUM, "number"},
                 {T_INT, "integer"}, {T_BOOL, "boolean"}, {T_NULL, "null"}};
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(m & names[i].bit) || (names[i].bit == T_INT && (m & T_NUM))) continue;
        int k = snprintf(buf + o, size - o, "%s%s", o ? " or " : "", names[i].name);
        if (k < 0 || (size_t)k >= size - o) break;
        o += (size_t)k;
    }
    return o ? buf : "nothing";
}

/* The failure reports below are out of line: their message buffers would otherwise sit in
 * the frame of every nested keyword evaluation. */
#define COLD __attribute__((noinline, cold))

COLD static bool type_fail(vctx *c, const snode *n, const kwop *k, const json_value *v,
                           const ipath *p)
{
    char buf[80];
    if (c->collect) /* formatting costs more than the check: only when it is wanted */
        verr(c, n, k->name, p, "expected %s, got %s", type_list(k->u.mask, buf, sizeof buf),
             json_type_name(v));
    return false;
}

/* "value must be <const>" / "value must be one of <enum>". */
COLD static bool value_fail(vctx *c, const snode *n, const kwop *k, const ipath *p,
                            const char *what)
{
    char buf[160];
    if (c->collect && !c->stop)
        verr(c, n, k->name, p, "value must be %s%s", what, short_json(k->u.val, buf, sizeof buf));
    return false;
}

COLD static bool number_fail(vctx *c, const snode *n, const kwop *k, const ipath *p,
                             const char *what)
{
    char buf[32];
    verr(c, n, k->name, p, "number must be %s %s", what, num_text(k->u.num, buf, sizeof buf));
    return false;
}

static bool k_type(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    uint32_t m = k->u.mask;
    if (m & vtype(v)) return true;
    if ((m & T_INT) && is_integer(v)) return true;
    return type_fail(c, n, k, v, p);
}

static bool k_const(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    return veq(c, v, k->u.val, p) || value_fail(c, n, k, p, "");
}

static bool k_enum(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    for (uint32_t i = 0; i < k->n; i++)
        if (veq(c, v, &k->u.val->u.items[i], p)) return true;
    return value_fail(c, n, k, p, "one of ");
}

static bool k_number(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    static const char *const rel[] = {
        [K_MIN] = ">=", [K_MAX] = "<=", [K_XMIN] = ">", [K_XMAX] = "<"};
    int cmp = num_cmp(v, k->u.num);
    bool ok = k->op == K_MIN    ? cmp >= 0
              : k->op == K_MAX  ? cmp <= 0
              : k->op == K_XMIN ? cmp > 0
                                : cmp < 0;
    return ok || number_fail(c, n, k, p, rel[k->op]);
}

static bool k_multiple(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    return multiple_of(v, k->u.num) || number_fail(c, n, k, p, "a multiple of");
}

/* Code points in UTF-8: every byte that is not a continuation byte starts one. */
static uint64_t utf8_count(const char *s, size_t n)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((uint8_t)s[i] & 0xC0) != 0x80;
    return k;
}

static bool k_length(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    uint64_t lim = k->u.count, bytes = v->len;
    bool min = k->op == K_MINLEN;
    /* a code point is 1 to 4 bytes: the byte length often decides without counting */
    if (min ? bytes / 4 >= lim : bytes <= lim) return true;
    if (min && bytes < lim) goto fail;
    if (!charge(c, bytes / 256, p)) return false;
    uint64_t cps = utf8_count(v->u.str, v->len);
    if (min ? cps >= lim : cps <= lim) return true;
fail:
    verr(c, n, k->name, p, "string %s than %llu character%s", min ? "shorter" : "longer",
         (unsigned long long)lim, lim == 1 ? "" : "s");
    return false;
}

static bool k_pattern(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    int r = rx_match(c, k->u.pat->re, v->u.str, v->len, p);
    if (r > 0) return true;
    if (r == 0) verr(c, n, k->name, p, "string does not match pattern \"%.100s\"", k->u.pat->src);
    return false;
}

static bool k_count(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    uint64_t lim = k->u.count;
    bool min = k->op == K_MINITEMS || k->op == K_MINPROPS;
    if (min ? v->len >= lim : v->len <= lim) return true;
    bool arr = v->type == JSON_ARRAY;
    verr(c, n, k->name, p, "%s has %s than %llu %s%s", arr ? "array" : "object",
         min ? "fewer" : "more", (unsigned long long)lim, arr ? "item" : "propert",
         arr ? (lim == 1 ? "" : "s") : (lim == 1 ? "y" : "ies"));
    return false;
}

/* ---- uniqueItems ----------------------------------------------------------------------------- */

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

/* A hash consistent with veq: numbers by value, objects independent of member order. */
static uint64_t vhash(vctx *c, const json_value *v, const ipath *p)
{
    uint64_t h = 0;
    double d;
    if (!charge(c, 1, p)) return 0;
    switch (v->type) {
    case JSON_BOOL:
        return 2 + v->b;
    case JSON_INT:
    case JSON_DOUBLE:
        d = json_number(v);
        if (d == 0) d = 0; /* -0.0 == 0 */
        memcpy(&h, &d, sizeof h);
        return mix(h ^ 7);
    case JSON_STRING:
        charge(c, v->len / 256, p);
        return mix(schema_hash(v->u.str, v->len) ^ ((uint64_t)v->len << 32));
    case JSON_ARRAY:
        h = 11;
        for (uint32_t i = 0; i < v->len && !c->stop; i++)
            h = mix(h * 31 + vhash(c, &v->u.items[i], p));
        return h;
    case JSON_OBJECT:
        h = 13;
        for (uint32_t i = 0; i < v->len && !c->stop; i++) {
            const json_member *m = &v->u.members[i];
            h += mix(schema_hash(m->key, m->key_len) * 0x9e3779b97f4a7c15ull ^
                     vhash(c, &m->value, p));
        }
        return h;
    default:
        return 1;
    }
}

typedef struct hitem {
    uint64_t h;
    uint32_t i;
} hitem;

static int hitem_cmp(const void *a, const void *b)
{
    const hitem *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Finds two equal items: pairwise for short arrays, by sorted hashes for long ones. */
__attribute__((noinline)) static bool find_duplicate(vctx *c, const json_value *v, const ipath *p,
                                                     uint32_t *a, uint32_t *b)
{
    const json_value *it = v->u.items;
    if (v->len <= 16) {
        for (uint32_t i = 0; i < v->len; i++)
            for (uint32_t j = i + 1; j < v->len && !c->stop; j++)
                if (veq(c, &it[i], &it[j], p)) return *a = i, *b = j, true;
        return false;
    }
    hitem *hs = mcp_xmalloc(v->len * sizeof *hs);
    for (uint32_t i = 0; i < v->len && !c->stop; i++) hs[i] = (hitem){vhash(c, &it[i], p), i};
    bool found = false;
    if (!c->stop) qsort(hs, v->len, sizeof *hs, hitem_cmp);
    for (uint32_t i = 0; i < v->len && !found && !c->stop; i++)
        for (uint32_t j = i + 1; j < v->len && hs[j].h == hs[i].h && !c->stop; j++)
            if (veq(c, &it[hs[i].i], &it[hs[j].i], p)) {
                *a = hs[i].i, *b = hs[j].i, found = true;
                break;
            }
    free(hs);
    return found;
}

static bool k_unique(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    uint32_t a, b;
    if (!find_duplicate(c, v, p, &a, &b)) return !c->stop;
    verr(c, n, k->name, p, "array items %u and %u are equal", a < b ? a : b, a < b ? b : a);
    return false;
}

/* ---- object keywords ------------------------------------------------------------------------- */

/* Validates child (a subschema of node n's keyword k) against member m of the object at p. */
static bool v_member(vctx *c, const snode *n, const kwop *k, const snode *child,
                     const json_member *m, const ipath *p)
{
    if (child->kind == N_FALSE) {
        verr(c, n, k->name, p, "property \"%.*s\" is not allowed",
             (int)(m->key_len > 100 ? 100 : m->key_len), m->key);
        return false;
    }
    ipath ip = {p, m->key, m->key_len, 0};
    uint32_t refs = c->refs;
    c->refs = 0;
    bool ok = v_node(c, child, &m->value, &ip, NULL);
    c->refs = refs;
    return ok;
}

static bool v_item(vctx *c, const snode *n, const kwop *k, const snode *child, const json_value *v,
                   uint32_t i, const ipath *p)
{
    if (child->kind == N_FALSE) {
        verr(c, n, k->name, p, "array item %u is not allowed", i);
        return false;
    }
    ipath ip = {p, NULL, 0, i};
    uint32_t refs = c->refs;
    c->refs = 0;
    bool ok = v_node(c, child, &v->u.items[i], &ip, NULL);
    c->refs = refs;
    return ok;
}

static int props_find(const sprops *ps, const char *key, uint32_t len)
{
    if (!ps->hmask) {
        for (uint32_t i = 0; i < ps->n; i++)
            if (ps->v[i].len == len && memcmp(ps->v[i].name, key, len) == 0) return (int)i;
        return -1;
    }
    for (uint32_t h = schema_hash(key, len) & ps->hmask;; h = (h + 1) & ps->hmask) {
        uint32_t e = ps->index[h];
        if (!e) return -1;
        const sprop *sp = &ps->v[e - 1];
        if (sp->len == len && memcmp(sp->name, key, len) == 0) return (int)(e - 1);
    }
}

/* Goes on after a failed child only while collecting errors. */
#define FAIL_OR_GO_ON(c, ok)                                                                       \
    do {                                                                                           \
        (ok) = false;                                                                              \
        if (!(c)->collect || (c)->stop) return false;                                              \
    } while (0)

static bool k_props(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p,
                    nstate *st)
{
    const sprops *ps = k->u.props;
    bool ok = true;
    if (!charge(c, v->len / 8, p)) return false;
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        int j = props_find(ps, m->key, m->key_len);
        if (j < 0) continue;
        if (j < 64) st->seen |= 1ull << j;
        annot_set(st->a, i);
        if (!v_member(c, n, k, ps->v[j].node, m, p)) FAIL_OR_GO_ON(c, ok);
    }
    return ok;
}

static bool missing(vctx *c, const snode *n, const kwop *k, const ipath *p, const char *name)
{
    verr(c, n, k->name, p, "missing required property \"%.100s\"", name);
    return c->collect && !c->stop; /* go on to name the next one */
}

static bool k_required(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p,
                       const nstate *st)
{
    const sreq *r = k->u.req;
    bool ok = true;
    if (r->use_mask && (st->seen & r->mask) == r->mask) return true;
    if (!r->use_mask && !charge(c, ((uint64_t)r->n * v->len) / 64, p)) return false;
    for (uint32_t i = 0; i < r->n; i++) {
        if (json_getn(v, r->names[i], r->lens[i])) continue;
        ok = false;
        if (!missing(c, n, k, p, r->names[i])) return false;
    }
    return ok;
}

static bool k_dep_required(vctx *c, const snode *n, const kwop *k, const json_value *v,
                           const ipath *p)
{
    bool ok = true;
    for (uint32_t d = 0; d < k->n; d++) {
        const sreq *r = &k->u.req[d];
        if (!charge(c, 1 + ((uint64_t)r->n * v->len) / 64, p)) return false;
        if (!json_getn(v, r->key, r->key_len)) continue;
        for (uint32_t i = 0; i < r->n; i++) {
            if (json_getn(v, r->names[i], r->lens[i])) continue;
            verr(c, n, k->name, p, "property \"%.100s\" requires property \"%.100s\"", r->key,
                 r->names[i]);
            FAIL_OR_GO_ON(c, ok);
        }
    }
    return ok;
}

static bool k_pattern_props(vctx *c, const snode *n, const kwop *k, const json_value *v,
                            const ipath *p, nstate *st)
{
    bool ok = true;
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        for (uint32_t j = 0; j < k->n; j++) {
            int r = rx_match(c, k->u.pat[j].re, m->key, m->key_len, p);
            if (r < 0) return false;
            if (r == 0) continue;
            annot_set(st->a, i);
            if (!v_member(c, n, k, k->u.pat[j].node, m, p)) FAIL_OR_GO_ON(c, ok);
        }
    }
    return ok;
}

/* 1 if the member is covered by "properties" or "patternProperties", 0 if not, -1 on budget. */
static int covered(vctx *c, const sadd *a, const json_member *m, const ipath *p)
{
    if (a->props && props_find(a->props, m->key, m->key_len) >= 0) return 1;
    for (uint32_t j = 0; j < a->npats; j++) {
        int r = rx_match(c, a->pats[j].re, m->key, m->key_len, p);
        if (r != 0) return r;
    }
    return 0;
}

static bool k_additional(vctx *c, const snode *n, const kwop *k, const json_value *v,
                         const ipath *p, nstate *st)
{
    bool ok = true;
    if (!charge(c, v->len / 8, p)) return false;
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        int r = covered(c, k->u.add, m, p);
        if (r < 0) return false;
        if (r) continue;
        annot_set(st->a, i);
        if (!v_member(c, n, k, k->u.add->node, m, p)) FAIL_OR_GO_ON(c, ok);
    }
    return ok;
}

static bool k_prop_names(vctx *c, const snode *n, const kwop *k, const json_value *v,
                         const ipath *p)
{
    bool ok = true, collect = c->collect;
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        json_value name = {.type = JSON_STRING, .len = m->key_len, .u.str = m->key};
        uint32_t refs = c->refs;
        c->collect = false, c->refs = 0;
        bool good = v_node(c, k->u.node, &name, p, NULL);
        c->collect = collect, c->refs = refs;
        if (c->stop) return false;
        if (good) continue;
        verr(c, n, k->name, p, "property name \"%.*s\" is not valid",
             (int)(m->key_len > 100 ? 100 : m->key_len), m->key);
        FAIL_OR_GO_ON(c, ok);
    }
    return ok;
}

static bool k_dep_schemas(vctx *c, const snode *n, const kwop *k, const json_value *v,
                          const ipath *p, nstate *st)
{
    bool ok = true;
    for (uint32_t d = 0; d < k->n; d++) {
        const sprop *dp = &k->u.deps[d];
        if (!charge(c, 1 + v->len / 64, p)) return false;
        if (!json_getn(v, dp->name, dp->len)) continue;
        if (!v_node(c, dp->node, v, p, st->a)) FAIL_OR_GO_ON(c, ok);
    }
    return ok;
}

static bool k_uneval_props(vctx *c, const snode *n, const kwop *k, const json_value *v,
                           const ipath *p, nstate *st)
{
    bool ok = true;
    if (!charge(c, v->len / 8, p)) return false;
    for (uint32_t i = 0; i < v->len; i++) {
        if (annot_has(st->a, i)) continue;
        if (!v_member(c, n, k, k->u.node, &v->u.members[i], p)) FAIL_OR_GO_ON(c, ok);
        annot_set(st->a, i);
    }
    return ok;
}

/* ---- array keywords -------------------------------------------------------------------------- */

static bool k_prefix(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p,
                     nstate *st)
{
    bool ok = true;
    for (uint32_t i = 0; i < k->n && i < v->len; i++) {
        annot_set(st->a, i);
        if (!v_item(c, n, k, k->u.nodes[i], v, i, p)) FAIL_OR_GO_ON(c, ok);
    }
    return ok;
}

static bool k_items(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p,
                    nstate *st)
{
    bool ok = true;
    for (uint32_t i = k->n; i < v->len; i++) {
        annot_set(st->a, i);
        if (!v_item(c, n, k, k->u.node, v, i, p)) FAIL_OR_GO_ON(c, ok);
    }
    return ok;
}

static bool k_uneval_items(vctx *c, const snode *n, const kwop *k, const json_value *v,
                           const ipath *p, nstate *st)
{
    bool ok = true;
    if (!charge(c, v->len / 8, p)) return false;
    for (uint32_t i = 0; i < v->len; i++) {
        if (annot_has(st->a, i)) continue;
        if (!v_item(c, n, k, k->u.node, v, i, p)) FAIL_OR_GO_ON(c, ok);
        annot_set(st->a, i);
    }
    return ok;
}

static bool k_contains(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p,
                       nstate *st)
{
    const scontains *sc = k->u.contains;
    bool collect = c->collect, all = st->a || sc->max != UINT64_MAX;
    uint64_t count = 0;
    c->collect = false;
    for (uint32_t i = 0; i < v->len; i++) {
        ipath ip = {p, NULL, 0, i};
        uint32_t refs = c->refs;
        c->refs = 0;
        bool good = v_node(c, sc->node, &v->u.items[i], &ip, NULL);
        c->refs = refs;
        if (c->stop) break;
        if (!good) continue;
        annot_set(st->a, i);
        if (++count >= sc->min && !all) break;
    }
    c->collect = collect;
    if (c->stop) return false;
    if (count < sc->min) {
        if (sc->min == 1)
            verr(c, n, sc->min_kw, p, "array contains no matching item");
        else
            verr(c, n, sc->min_kw, p, "array contains fewer than %llu matching items",
                 (unsigned long long)sc->min);
        return false;
    }
    if (count > sc->max) {
        verr(c, n, sc->max_kw, p, "array contains more than %llu matching items",
             (unsigned long long)sc->max);
        return false;
    }
    return true;
}

/* ---- in-place applicators -------------------------------------------------------------------- */

static bool k_allof(vctx *c, const kwop *k, const json_value *v, const ipath *p, nstate *st)
{
    bool ok = true;
    for (uint32_t i = 0; i < k->n; i++)
        if (!v_node(c, k->u.nodes[i], v, p, st->a)) FAIL_OR_GO_ON(c, ok);
    return ok;
}

/* Runs a branch whose failure is not an error by itself; its evaluated set, if wanted, is
 * merged into a only when it passes. */
static bool branch(vctx *c, const snode *b, const json_value *v, const ipath *p, annot *a)
{
    if (!a) return v_node(c, b, v, p, NULL);
    if (!charge(c, a->n / 64, p)) return false; /* the set is cleared and merged */
    annot t;
    annot_init(&t, a->n);
    bool ok = v_node(c, b, v, p, &t);
    if (ok) annot_merge(a, &t);
    annot_free(&t);
    return ok;
}

static bool k_anyof(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p,
                    nstate *st)
{
    bool any = false, collect = c->collect;
    c->collect = false;
    for (uint32_t i = 0; i < k->n && !c->stop; i++) {
        any |= branch(c, k->u.nodes[i], v, p, st->a);
        if (any && !st->a) break; /* with an evaluated set to fill, every branch counts */
    }
    c->collect = collect;
    if (c->stop) return false;
    if (!any) verr(c, n, k->name, p, "value does not match any of the anyOf schemas");
    return any;
}

static bool k_oneof(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p,
                    nstate *st)
{
    bool collect = c->collect;
    uint32_t count = 0, first = 0, second = 0;
    c->collect = false;
    for (uint32_t i = 0; i < k->n && !c->stop && count < 2; i++) {
        if (!branch(c, k->u.nodes[i], v, p, st->a)) continue;
        if (count++)
            second = i;
        else
            first = i;
    }
    c->collect = collect;
    if (c->stop) return false;
    if (count == 1) return true;
    if (count == 0)
        verr(c, n, k->name, p, "value does not match any of the oneOf schemas");
    else
        verr(c, n, k->name, p, "value matches more than one oneOf schema (%u and %u)", first,
             second);
    return false;
}

static bool k_not(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p)
{
    bool collect = c->collect;
    c->collect = false;
    bool matched = v_node(c, k->u.node, v, p, NULL);
    c->collect = collect;
    if (c->stop) return false;
    if (matched) verr(c, n, k->name, p, "value must not match the \"not\" schema");
    return !matched;
}

static bool k_if(vctx *c, const kwop *k, const json_value *v, const ipath *p, nstate *st)
{
    const site *s = k->u.ite;
    if (!s->then_ && !s->else_ && !st->a) return true; /* nothing depends on the outcome */
    bool collect = c->collect;
    c->collect = false;
    bool cond = branch(c, s->if_, v, p, st->a);
    c->collect = collect;
    if (c->stop) return false;
    const snode *next = cond ? s->then_ : s->else_;
    return next ? v_node(c, next, v, p, st->a) : true;
}

static bool follow(vctx *c, const snode *target, const json_value *v, const ipath *p, nstate *st)
{
    if (c->refs >= MAX_REF_CHAIN)
        return budget_hit(c, p, "$ref recursion too deep without progress in the instance");
    c->refs++;
    bool ok = v_node(c, target, v, p, st->a);
    c->refs--;
    return ok;
}

/* $dynamicRef: the outermost resource in the dynamic scope with a matching $dynamicAnchor. */
static bool k_dynref(vctx *c, const kwop *k, const json_value *v, const ipath *p, nstate *st)
{
    const snode *t = k->u.dyn->node;
    for (const scope *sc = c->scope; sc; sc = sc->up)
        for (const sdyn *d = sc->res->dyn; d; d = d->next)
            if (strcmp(d->name, k->u.dyn->anchor) == 0) {
                t = d->node;
                break;
            }
    return follow(c, t, v, p, st);
}

/* ---- nodes ----------------------------------------------------------------------------------- */

static bool v_kw(vctx *c, const snode *n, const kwop *k, const json_value *v, const ipath *p,
                 nstate *st)
{
    switch (k->op) {
    case K_TYPE:
        return k_type(c, n, k, v, p);
    case K_CONST:
        return k_const(c, n, k, v, p);
    case K_ENUM:
        return k_enum(c, n, k, v, p);
    case K_MULTIPLE:
        return k_multiple(c, n, k, v, p);
    case K_MIN:
    case K_MAX:
    case K_XMIN:
    case K_XMAX:
        return k_number(c, n, k, v, p);
    case K_MINLEN:
    case K_MAXLEN:
        return k_length(c, n, k, v, p);
    case K_PATTERN:
        return k_pattern(c, n, k, v, p);
    case K_MINITEMS:
    case K_MAXITEMS:
    case K_MINPROPS:
    case K_MAXPROPS:
        return k_count(c, n, k, v, p);
    case K_UNIQUE:
        return k_unique(c, n, k, v, p);
    case K_PROPS:
        return k_props(c, n, k, v, p, st);
    case K_REQUIRED:
        return k_required(c, n, k, v, p, st);
    case K_DEPREQ:
        return k_dep_required(c, n, k, v, p);
    case K_PATPROPS:
        return k_pattern_props(c, n, k, v, p, st);
    case K_ADDPROPS:
        return k_additional(c, n, k, v, p, st);
    case K_PROPNAMES:
        return k_prop_names(c, n, k, v, p);
    case K_PREFIX:
        return k_prefix(c, n, k, v, p, st);
    case K_ITEMS:
        return k_items(c, n, k, v, p, st);
    case K_CONTAINS:
        return k_contains(c, n, k, v, p, st);
    case K_DEPSCHEMAS:
        return k_dep_schemas(c, n, k, v, p, st);
    case K_ALLOF:
        return k_allof(c, k, v, p, st);
    case K_ANYOF:
        return k_anyof(c, n, k, v, p, st);
    case K_ONEOF:
        return k_oneof(c, n, k, v, p, st);
    case K_NOT:
        return k_not(c, n, k, v, p);
    case K_IF:
        return k_if(c, k, v, p, st);
    case K_REF:
        return follow(c, k->u.node, v, p, st);
    case K_DYNREF:
        return k_dynref(c, k, v, p, st);
    case K_UNEVALPROPS:
        return k_uneval_props(c, n, k, v, p, st);
    case K_UNEVALITEMS:
        return k_uneval_items(c, n, k, v, p, st);
    default:
        return true;
    }
}

static bool v_keywords(vctx *c, const snode *n, const json_value *v, const ipath *p, nstate *st,
                       uint8_t vt)
{
    bool ok = true;
    for (const kwop *k = n->kw, *e = k + n->nkw; k < e; k++) {
        if (!(k->types & vt)) continue;
        if (!charge(c, 1, p)) return false;
        if (!v_kw(c, n, k, v, p, st)) FAIL_OR_GO_ON(c, ok);
    }
    return ok;
}

/* A node with unevaluated*: evaluates with its own set, then hands it to the caller's. Kept
 * out of v_node so that the common path's stack frame holds no bitmap. */
__attribute__((noinline)) static bool v_tracked(vctx *c, const snode *n, const json_value *v,
                                                const ipath *p, annot *a, uint8_t vt)
{
    if (!charge(c, v->len / 64, p)) return false;
    annot own;
    annot_init(&own, v->len);
    nstate st = {&own, 0};
    bool ok = v_keywords(c, n, v, p, &st, vt);
    if (ok && a) annot_merge(a, &own);
    annot_free(&own);
    return ok;
}

static bool v_false(vctx *c, const snode *n, const ipath *p)
{
    verr(c, n, NULL, p, "no value is allowed here (false schema)");
    return false;
}

static bool v_node(vctx *c, const snode *n, const json_value *v, const ipath *p, annot *a)
{
    if (!charge(c, 1, p)) return false;
    if (n->kind != N_SCHEMA) return n->kind == N_TRUE || v_false(c, n, p);
    if (c->depth >= MAX_NODE_DEPTH) return budget_hit(c, p, "schema evaluation nested too deeply");
    const scope *outer = c->scope;
    scope sc;
    if (c->s->has_dynref && n->res != outer->res) { /* entering another resource */
        sc = (scope){n->res, outer};
        c->scope = &sc;
    }
    c->depth++;
    uint8_t vt = vtype(v);
    bool ok;
    if (((n->flags & NF_UNEVAL_P) && vt == T_OBJ) || ((n->flags & NF_UNEVAL_I) && vt == T_ARR)) {
        ok = v_tracked(c, n, v, p, a, vt);
    } else {
        nstate st = {(vt & (T_OBJ | T_ARR)) ? a : NULL, 0};
        ok = v_keywords(c, n, v, p, &st, vt);
    }
    c->depth--;
    c->scope = outer;
    return ok;
}

/* ---- flat schemas: one pass for a valid instance ----------------------------------------- */

/* The type mask a property's subschema demands: 0 for true (anything), -1 when the subschema is
 * more than true, false or one "type" (false: -2). */
static int64_t flat_prop_mask(const snode *n)
{
    if (n->kind == N_TRUE) return 0;
    if (n->kind == N_FALSE) return -2;
    if (n->flags || n->nkw != 1 || n->kw[0].op != K_TYPE) return -1;
    return n->kw[0].u.mask;
}

void schema_flat_setup(json_schema *s)
{
    const snode *r = s->root;
    if (s->has_dynref || r->kind != N_SCHEMA || r->flags) return;
    const sprops *props = NULL;
    const sreq *req = NULL;
    bool closed = false, object = false;
    for (uint16_t i = 0; i < r->nkw; i++) {
        const kwop *k = &r->kw[i];
        if (k->op == K_TYPE && k->u.mask == T_OBJ) {
            object = true;
        } else if (k->op == K_PROPS && k->u.props->n <= 64) {
            props = k->u.props;
        } else if (k->op == K_REQUIRED && k->u.req->use_mask) {
            req = k->u.req;
        } else if (k->op == K_ADDPROPS && !k->u.add->npats && k->u.add->node->kind != N_SCHEMA) {
            closed = k->u.add->node->kind == N_FALSE;
        } else {
            return;
        }
    }
    if (!props) return;
    for (uint32_t j = 0; j < props->n; j++)
        if (flat_prop_mask(props->v[j].node) == -1) return;
    s->flat_props = props;
    s->flat_required = req ? req->mask : 0;
    s->flat_closed = closed;
    s->flat_object = object;
}

/* True when v is certainly valid against the flat schema s; false means "ask the full
 * validator" (v may be invalid, or too big for this pass to stay within the step budget the
 * full validator would charge). */
static bool flat_valid(const json_schema *s, const json_value *v)
{
    if (v->type != JSON_OBJECT) return !s->flat_object; /* the other keywords are for objects */
    if (v->len > 64 || 8 * (uint64_t)v->len + 64 > s->max_steps) return false;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        const json_member *m = &v->u.members[i];
        int j = props_find(s->flat_props, m->key, m->key_len);
        if (j < 0) {
            if (s->flat_closed) return false;
            continue;
        }
        seen |= 1ull << j;
        int64_t mask = flat_prop_mask(s->flat_props->v[j].node);
        if (mask < 0) return false;
        const json_value *x = &m->value;
        if (mask && !(mask & vtype(x)) && !((mask & T_INT) && is_integer(x))) return false;
    }
    return (seen & s->flat_required) == s->flat_required;
}

/* ---- entry points ---------------------------------------------------------------------------- */

bool json_schema_validate(const json_schema *s, const json_value *instance, json_schema_result *res)
{
    if (s->flat_props && instance && flat_valid(s, instance)) {
        if (res) {
            res->valid = true;
            res->budget_exceeded = false;
            res->nerrors = 0;
        }
        return true;
    }
    vctx c = {.s = s, .res = res, .max_steps = s->max_steps, .collect = res != NULL};
    json_value null_value = {.type = JSON_NULL};
    if (!instance) instance = &null_value; /* an absent value is validated as null */
    scope root = {s->root->res, NULL};
    c.scope = &root;
    if (res) {
        res->valid = true;
        res->budget_exceeded = false;
        res->nerrors = 0;
    }
    bool ok = v_node(&c, s->root, instance, NULL, NULL) && !c.budget;
    if (res) {
        res->valid = ok;
        if (!ok && res->nerrors == 0) {
            json_schema_error *e = &res->errors[res->nerrors++];
            e->instance_path[0] = e->schema_path[0] = '\0';
            snprintf(e->msg, sizeof e->msg, "value is invalid");
        }
    }
    return ok;
}

const char *json_schema_result_str(const json_schema_result *res, char *out, size_t size)
{
    if (!size) return out;
    if (!res || res->valid || res->nerrors == 0) {
        snprintf(out, size, "%s", res && !res->valid ? "invalid" : "valid");
        return out;
    }
    const json_schema_error *e = &res->errors[0];
    if (e->schema_path[0])
        snprintf(out, size, "%s: %s (at %s)", e->instance_path[0] ? e->instance_path : "(root)",
                 e->msg, e->schema_path);
    else
        snprintf(out, size, "%s: %s", e->instance_path[0] ? e->instance_path : "(root)", e->msg);
    return out;
}
