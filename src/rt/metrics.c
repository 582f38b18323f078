/* metrics.c - sharded counters and log-linear histograms, summed when read.
 *
 * Every shard owns one array of 64-bit slots, cache-line aligned and allocated apart from the
 * other shards' arrays, so two threads recording into their own shards never write the same
 * cache line. A counter or gauge is one slot; a histogram is count, sum and RT_HIST_BUCKETS
 * slots. Recording is one relaxed fetch_add per slot touched. Readers add up the shards with
 * relaxed loads: a value read while others record is some recent value of each slot, which is
 * all a scrape needs. Series are registered up front (the arrays grow then, before any thread
 * records), and rendered as Prometheus text grouped into families by name. See
 * docs/internals/runtime.md (metrics). */
#include "rt/metrics.h"

#include "base/alloc.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_COUNTER, S_GAUGE, S_HIST, S_FUNC };

typedef struct series {
    char *name, *labels, *help;
    int kind;
    bool func_counter;
    bool func_ns; /* rendered as seconds */
    size_t slot;  /* first slot in each shard */
    uint64_t (*fn)(void *ud, unsigned key);
    void *ud;
    unsigned key;
} series;

typedef struct mshard {
    _Atomic uint64_t *slots;
} mshard;

struct rt_metrics {
    unsigned nshards;
    mshard *shards;
    size_t nslots, slot_cap; /* slots in use, and allocated, in each shard */
    series *s;
    size_t ns, cap;
    struct {
        rt_metrics_collect_fn fn;
        void *ud;
    } coll[RT_METRICS_MAX_COLLECTORS];
    unsigned ncoll;
};

#define HIST_SLOTS (2 + RT_HIST_BUCKETS)

static const double le_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                   0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

rt_metrics *rt_metrics_new(unsigned nshards)
{
    rt_metrics *m = mcp_xcalloc(1, sizeof *m);
    m->nshards = nshards ? nshards : 1;
    m->shards = mcp_xcalloc(m->nshards, sizeof *m->shards);
    return m;
}

void rt_metrics_free(rt_metrics *m)
{
    if (!m) return;
    for (unsigned i = 0; i < m->nshards; i++) free((void *)m->shards[i].slots);
    for (size_t i = 0; i < m->ns; i++) {
        free(m->s[i].name);
        free(m->s[i].labels);
        free(m->s[i].help);
    }
    free(m->s);
    free(m->shards);
    free(m);
}

static char *dup_or_null(const char *s)
{
    return s ? mcp_xstrndup(s, strlen(s)) : NULL;
}

/* Grows every shard's slot array by n zeroed slots; returns the first new one. */
static size_t grow_slots(rt_metrics *m, size_t n)
{
    size_t first = m->nslots, total = first + n;
    m->nslots = total;
    if (total <= m->slot_cap) return first; /* zeroed when allocated, untouched since */
    /* Doubling: growing by each series copied every shard's array once per series registered,
     * quadratic in their number (a server's start took seconds under the sanitizers). */
    size_t cap = m->slot_cap ? m->slot_cap * 2 : 1024;
    if (cap < total) cap = total;
    size_t bytes = (cap * sizeof(uint64_t) + 63) & ~(size_t)63;
    for (unsigned i = 0; i < m->nshards; i++) {
        _Atomic uint64_t *a = aligned_alloc(64, bytes);
        if (!a) abort();
        memset((void *)a, 0, bytes);
        if (first) memcpy((void *)a, (void *)m->shards[i].slots, first * sizeof(uint64_t));
        free((void *)m->shards[i].slots);
        m->shards[i].slots = a;
    }
    m->slot_cap = cap;
    return first;
}

static int add_series(rt_metrics *m, const char *name, const char *labels, const char *help,
                      int kind, size_t nslots)
{
    if (m->ns == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->s = mcp_xrealloc(m->s, m->cap * sizeof *m->s);
    }
    series *s = &m->s[m->ns];
    memset(s, 0, sizeof *s);
    s->name = dup_or_null(name);
    s->labels = labels && *labels ? dup_or_null(labels) : NULL;
    s->help = dup_or_null(help ? help : "");
    s->kind = kind;
    s->slot = nslots ? grow_slots(m, nslots) : 0;
    return (int)m->ns++;
}

int rt_metrics_counter(rt_metrics *m, const char *name, const char *labels, const char *help)
{
    return add_series(m, name, labels, help, S_COUNTER, 1);
}

int rt_metrics_gauge(rt_metrics *m, const char *name, const char *labels, const char *help)
{
    return add_series(m, name, labels, help, S_GAUGE, 1);
}

int rt_metrics_histogram(rt_metrics *m, const char *name, const char *labels, const char *help)
{
    return add_series(m, name, labels, help, S_HIST, HIST_SLOTS);
}

int rt_metrics_func(rt_metrics *m, const char *name, const char *labels, const char *help,
                    bool counter, uint64_t (*fn)(void *ud, unsigned key), void *ud, unsigned key)
{
    int id = add_series(m, name, labels, help, S_FUNC, 0);
    m->s[id].func_counter = counter;
    m->s[id].fn = fn;
    m->s[id].ud = ud;
    m->s[id].key = key;
    return id;
}

void rt_metrics_func_ns(rt_metrics *m, int id)
{
    m->s[id].func_ns = true;
}

/* ---- recording ------------------------------------------------------------------------------ */

unsigned rt_hist_bucket(uint64_t v)
{
    if (v < RT_HIST_SUB) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    if (e > RT_HIST_MAX_EXP) return RT_HIST_BUCKETS - 1;
    return (e - RT_HIST_SUB_BITS + 1) * RT_HIST_SUB +
           (unsigned)((v >> (e - RT_HIST_SUB_BITS)) & (RT_HIST_SUB - 1));
}

uint64_t rt_hist_bucket_upper(unsigned i)
{
    if (i < RT_HIST_SUB) return i;
    unsigned e = i / RT_HIST_SUB + RT_HIST_SUB_BITS - 1, sub = i % RT_HIST_SUB;
    uint64_t width = 1ull << (e - RT_HIST_SUB_BITS);
    return (1ull << e) + sub * width + width - 1;
}

void rt_metrics_add(rt_metrics *m, unsigned shard, int id, int64_t delta)
{
    _Atomic uint64_t *a = &m->shards[shard % m->nshards].slots[m->s[id].slot];
    atomic_fetch_add_explicit(a, (uint64_t)delta, memory_order_relaxed);
}

void rt_metrics_observe(rt_metrics *m, unsigned shard, int id, uint64_t ns)
{
    _Atomic uint64_t *a = &m->shards[shard % m->nshards].slots[m->s[id].slot];
    atomic_fetch_add_explicit(&a[0], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&a[1], ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&a[2 + rt_hist_bucket(ns)], 1, memory_order_relaxed);
}

void rt_metrics_set(rt_metrics *m, int id, int64_t value)
{
    atomic_store_explicit(&m->shards[0].slots[m->s[id].slot], (uint64_t)value,
                          memory_order_relaxed);
}

/* ---- reading -------------------------------------------------------------------------------- */

static uint64_t slot_sum(rt_metrics *m, size_t slot)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < m->nshards; i++)
        v += atomic_load_explicit(&m->shards[i].slots[slot], memory_order_relaxed);
    return v;
}

int64_t rt_metrics_get(rt_metrics *m, int id)
{
    const series *s = &m->s[id];
    if (s->kind == S_FUNC) return (int64_t)s->fn(s->ud, s->key);
    return (int64_t)slot_sum(m, s->slot);
}

int rt_metrics_find(rt_metrics *m, const char *name, const char *labels)
{
    for (size_t i = 0; i < m->ns; i++) {
        const char *l = m->s[i].labels ? m->s[i].labels : "";
        if (!strcmp(m->s[i].name, name) && !strcmp(l, labels ? labels : "")) return (int)i;
    }
    return -1;
}

void rt_metrics_hist_get(rt_metrics *m, int id, rt_hist_snapshot *out)
{
    size_t base = m->s[id].slot;
    out->count = slot_sum(m, base);
    out->sum_ns = slot_sum(m, base + 1);
    for (unsigned b = 0; b < RT_HIST_BUCKETS; b++) out->buckets[b] = slot_sum(m, base + 2 + b);
}

uint64_t rt_hist_quantile(const rt_hist_snapshot *s, double q)
{
    uint64_t total = 0;
    for (unsigned b = 0; b < RT_HIST_BUCKETS; b++) total += s->buckets[b];
    if (!total) return 0;
    uint64_t rank = (uint64_t)(q * (double)total + 0.5), seen = 0;
    if (rank < 1) rank = 1;
    for (unsigned b = 0; b < RT_HIST_BUCKETS; b++) {
        seen += s->buckets[b];
        if (seen >= rank) return rt_hist_bucket_upper(b);
    }
    return rt_hist_bucket_upper(RT_HIST_BUCKETS - 1);
}

/* ---- Prometheus text ------------------------------------------------------------------------ */

static const char *type_name(const series *s)
{
    switch (s->kind) {
    case S_COUNTER:
        return "counter";
    case S_HIST:
        return "histogram";
    case S_FUNC:
        return s->func_counter ? "counter" : "gauge";
    default:
        return "gauge";
    }
}

/* name{labels[,extra]} */
static void series_name(mcp_buf *b, const series *s, const char *suffix, const char *extra)
{
    mcp_buf_printf(b, "%s%s", s->name, suffix);
    if (!s->labels && !extra) return;
    mcp_buf_printf(b, "{%s%s%s}", s->labels ? s->labels : "", s->labels && extra ? "," : "",
                   extra ? extra : "");
}

static void render_hist(rt_metrics *m, const series *s, mcp_buf *b, rt_hist_snapshot *snap)
{
    rt_metrics_hist_get(m, (int)(s - m->s), snap);
    unsigned fine = 0;
    uint64_t cum = 0;
    char le[48];
    for (size_t k = 0; k < sizeof le_bounds / sizeof *le_bounds; k++) {
        uint64_t bound_ns = (uint64_t)(le_bounds[k] * 1e9);
        while (fine < RT_HIST_BUCKETS && rt_hist_bucket_upper(fine) <= bound_ns)
            cum += snap->buckets[fine++];
        snprintf(le, sizeof le, "le=\"%g\"", le_bounds[k]);
        series_name(b, s, "_bucket", le);
        mcp_buf_printf(b, " %llu\n", (unsigned long long)cum);
    }
    series_name(b, s, "_bucket", "le=\"+Inf\"");
    mcp_buf_printf(b, " %llu\n", (unsigned long long)snap->count);
    series_name(b, s, "_sum", NULL);
    mcp_buf_printf(b, " %.9f\n", (double)snap->sum_ns / 1e9);
    series_name(b, s, "_count", NULL);
    mcp_buf_printf(b, " %llu\n", (unsigned long long)snap->count);
}

static void render_series(rt_metrics *m, const series *s, mcp_buf *b, rt_hist_snapshot *snap)
{
    if (s->kind == S_HIST) {
        render_hist(m, s, b, snap);
        return;
    }
    series_name(b, s, "", NULL);
    if (s->func_ns)
        mcp_buf_printf(b, " %.9f\n", (double)s->fn(s->ud, s->key) / 1e9);
    else
        mcp_buf_printf(b, " %lld\n", (long long)rt_metrics_get(m, (int)(s - m->s)));
}

/* ---- collected series ----------------------------------------------------------------------- */

typedef struct sample {
    char *labels; /* NULL: none */
    double value;
    unsigned fam;
} sample;

typedef struct family {
    char *name, *help;
    bool counter;
} family;

struct rt_metrics_writer {
    rt_metrics *m;
    sample *s;
    size_t ns, cap;
    family *f;
    size_t nf, fcap;
    size_t *index; /* open addressing on (family, labels): sample number + 1, 0 empty */
    size_t icap;   /* a power of two, at least twice ns */
};

bool rt_metrics_name_ok(const char *n)
{
    if (!n || !*n || strlen(n) > 200) return false;
    for (const char *p = n; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p > n && c >= '0' && c <= '9')) return false;
    }
    return true;
}

bool rt_metrics_labels_ok(const char *l)
{
    if (!l || !*l) return true;
    if (strlen(l) > 400) return false;
    const char *p = l;
    for (;;) {
        const char *k = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
               (p > k && *p >= '0' && *p <= '9'))
            p++;
        if (p == k || *p++ != '=' || *p++ != '"') return false;
        while (*p && *p != '"') {
            if (*p == '\\' || (unsigned char)*p < 0x20) return false;
            p++;
        }
        if (*p++ != '"') return false;
        if (!*p) return true;
        if (*p++ != ',') return false;
    }
}

int rt_metrics_collector(rt_metrics *m, rt_metrics_collect_fn fn, void *ud)
{
    if (m->ncoll == RT_METRICS_MAX_COLLECTORS) return -ENOSPC;
    m->coll[m->ncoll].fn = fn;
    m->coll[m->ncoll].ud = ud;
    m->ncoll++;
    return 0;
}

static bool registered(const rt_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->ns; i++)
        if (!strcmp(m->s[i].name, name)) return true;
    return false;
}

/* The family of name (added when new); -1 when the name is registered or its type differs. */
static int family_of(rt_metrics_writer *w, const char *name, bool counter, const char *help)
{
    for (size_t i = 0; i < w->nf; i++)
        if (!strcmp(w->f[i].name, name)) return w->f[i].counter == counter ? (int)i : -1;
    if (registered(w->m, name)) return -1;
    if (w->nf == w->fcap) {
        w->fcap = w->fcap ? w->fcap * 2 : 16;
        w->f = mcp_xrealloc(w->f, w->fcap * sizeof *w->f);
    }
    w->f[w->nf] = (family){dup_or_null(name), dup_or_null(help ? help : ""), counter};
    return (int)w->nf++;
}

static bool same_labels(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static size_t sample_hash(unsigned fam, const char *labels)
{
    uint64_t h = 1469598103934665603ull ^ fam;
    for (const char *p = labels ? labels : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (size_t)(h ^ (h >> 32));
}

/* The index slot of (fam, labels): the one holding it, or the empty one where it goes. */
static size_t *index_slot(rt_metrics_writer *w, unsigned fam, const char *labels)
{
    size_t i = sample_hash(fam, labels) & (w->icap - 1);
    for (;; i = (i + 1) & (w->icap - 1)) {
        size_t k = w->index[i];
        if (!k || (w->s[k - 1].fam == fam && same_labels(w->s[k - 1].labels, labels)))
            return &w->index[i];
    }
}

static void index_grow(rt_metrics_writer *w)
{
    free(w->index);
    w->icap = w->icap ? w->icap * 2 : 256;
    w->index = mcp_xcalloc(w->icap, sizeof *w->index);
    for (size_t k = 0; k < w->ns; k++) *index_slot(w, w->s[k].fam, w->s[k].labels) = k + 1;
}

int rt_metrics_write(rt_metrics_writer *w, const char *name, const char *labels, bool counter,
                     const char *help, double value)
{
    if (!rt_metrics_name_ok(name) || !rt_metrics_labels_ok(labels) || (help && strchr(help, '\n')))
        return -EINVAL;
    if (w->ns == RT_METRICS_MAX_COLLECTED) return -ENOSPC;
    int fam = family_of(w, name, counter, help);
    if (fam < 0) return -EINVAL;
    const char *l = labels && *labels ? labels : NULL;
    if (2 * (w->ns + 1) > w->icap) index_grow(w);
    size_t *slot = index_slot(w, (unsigned)fam, l);
    if (*slot) return -EINVAL; /* written already */
    if (w->ns == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->s = mcp_xrealloc(w->s, w->cap * sizeof *w->s);
    }
    w->s[w->ns++] = (sample){dup_or_null(l), value, (unsigned)fam};
    *slot = w->ns;
    return 0;
}

/* A sample value as Prometheus reads it: integers exactly, NaN and infinities by name. */
static void render_value(mcp_buf *b, double v)
{
    if (isnan(v))
        mcp_buf_printf(b, " NaN\n");
    else if (isinf(v))
        mcp_buf_printf(b, " %sInf\n", v > 0 ? "+" : "-");
    else
        mcp_buf_printf(b, " %.17g\n", v);
}

static void render_collected(rt_metrics *m, mcp_buf *b)
{
    rt_metrics_writer w = {.m = m};
    for (unsigned i = 0; i < m->ncoll; i++) m->coll[i].fn(m->coll[i].ud, &w);
    for (size_t f = 0; f < w.nf; f++) {
        mcp_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", w.f[f].name, w.f[f].help, w.f[f].name,
                       w.f[f].counter ? "counter" : "gauge");
        for (size_t i = 0; i < w.ns; i++) {
            if (w.s[i].fam != f) continue;
            mcp_buf_printf(b, "%s", w.f[f].name);
            if (w.s[i].labels) mcp_buf_printf(b, "{%s}", w.s[i].labels);
            render_value(b, w.s[i].value);
        }
    }
    for (size_t i = 0; i < w.ns; i++) free(w.s[i].labels);
    for (size_t f = 0; f < w.nf; f++) free(w.f[f].name), free(w.f[f].help);
    free(w.s);
    free(w.f);
    free(w.index);
}

void rt_metrics_render(rt_metrics *m, mcp_buf *b)
{
    rt_hist_snapshot *snap = mcp_xmalloc(sizeof *snap);
    for (size_t i = 0; i < m->ns; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = !strcmp(m->s[j].name, m->s[i].name);
        if (seen) continue; /* rendered with its family */
        mcp_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->s[i].name, m->s[i].help, m->s[i].name,
                       type_name(&m->s[i]));
        for (size_t j = i; j < m->ns; j++)
            if (!strcmp(m->s[j].name, m->s[i].name)) render_series(m, &m->s[j], b, snap);
    }
    free(snap);
    if (m->ncoll) render_collected(m, b);
}
