/* feature.c - the list of features, the one method table, and the hooks over all features.
 *
 * The list below is the only place that names features. The method table is built once per
 * process from their method tables (open addressing on a hash of the name's length and three
 * of its bytes; a name given twice is a programming error and aborts). Each server keeps one state
 * pointer per feature, in list order. Hooks that concern every feature (capabilities,
 * registrations, tools/call, the tick) are called in list order; hooks on a ctx go to the one
 * feature that holds it (ctx->holder, engine.c). */
#include "mcp/feature.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The features, core first. Adding one: define a `feature` in src/mcp/ext/<name>.c, declare it
 * here and add it to the list (and the file to CMakeLists.txt). */
extern const feature core_feature, tasks_feature, skills_feature;
static const feature *const features[] = {&core_feature, &tasks_feature, &skills_feature};
#define NFEATURES (sizeof features / sizeof *features)
_Static_assert(NFEATURES <= FEATURES_MAX, "raise FEATURES_MAX");

#define TABLE_SIZE 128 /* a power of two, well above the number of methods */

static struct slot {
    const feature_method *m;
    const feature *f;
    size_t len;
} table[TABLE_SIZE];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static atomic_bool table_built;

/* Cheap and good enough for a few dozen names of different shapes: the length and three
 * bytes (the method names differ there), so a lookup costs about one memcmp. */
static uint32_t hash(const char *s, size_t n)
{
    if (!n) return 0;
    return (uint32_t)n * 2654435761u ^ (uint32_t)(unsigned char)s[0] * 31u ^
           (uint32_t)(unsigned char)s[n - 1] * 131u ^ (uint32_t)(unsigned char)s[n / 2] * 7u;
}

static void table_build(void)
{
    size_t used = 0;
    for (size_t i = 0; i < NFEATURES; i++)
        for (size_t j = 0; j < features[i]->nmethods; j++) {
            const feature_method *m = &features[i]->methods[j];
            size_t n = strlen(m->name);
            uint32_t k = hash(m->name, n) & (TABLE_SIZE - 1);
            while (table[k].m) {
                if (table[k].len == n && !memcmp(table[k].m->name, m->name, n)) {
                    fprintf(stderr, "mcp: method %s defined twice (features %s, %s)\n", m->name,
                            table[k].f->name, features[i]->name);
                    abort();
                }
                k = (k + 1) & (TABLE_SIZE - 1);
            }
            if (++used > TABLE_SIZE / 2) abort(); /* raise TABLE_SIZE */
            table[k] = (struct slot){m, features[i], n};
        }
    atomic_store_explicit(&table_built, true, memory_order_release);
}

const feature_method *feature_find_method(const char *name, size_t len, const feature **owner)
{
    if (!atomic_load_explicit(&table_built, memory_order_acquire))
        pthread_once(&table_once, table_build);
    for (uint32_t k = hash(name, len) & (TABLE_SIZE - 1); table[k].m;
         k = (k + 1) & (TABLE_SIZE - 1))
        if (table[k].len == len && !memcmp(table[k].m->name, name, len)) {
            if (owner) *owner = table[k].f;
            return table[k].m;
        }
    return NULL;
}

void *feature_state(mcp_server *s, const feature *f)
{
    for (size_t i = 0; i < NFEATURES; i++)
        if (features[i] == f) return s->features[i];
    return NULL;
}

void features_init(mcp_server *s)
{
    pthread_once(&table_once, table_build);
    for (size_t i = 0; i < NFEATURES; i++)
        s->features[i] = features[i]->init ? features[i]->init(s) : NULL;
}

void features_free(mcp_server *s)
{
    for (size_t i = NFEATURES; i-- > 0;)
        if (features[i]->free) features[i]->free(s, s->features[i]);
}

bool feature_available(mcp_server *s, const feature *f)
{
    return !f->available || f->available(s, feature_state(s, f));
}

void features_capabilities(mcp_server *s, int era, mcp_buf *caps, mcp_buf *exts)
{
    for (size_t i = 0; i < NFEATURES; i++)
        if (features[i]->capabilities)
            features[i]->capabilities(s, s->features[i], era, caps, exts);
}

void features_registered(mcp_server *s, reg_kind kind, unsigned flags)
{
    for (size_t i = 0; i < NFEATURES; i++)
        if (features[i]->registered) features[i]->registered(s, s->features[i], kind, flags);
}

int features_before_call(mcp_ctx *ctx)
{
    mcp_server *s = ctx->conn->srv;
    for (size_t i = 0; i < NFEATURES; i++)
        if (features[i]->before_call && features[i]->before_call(ctx, s->features[i])) return -1;
    return 0;
}

void features_tick(mcp_server *s, uint64_t now_ms)
{
    for (size_t i = 0; i < NFEATURES; i++)
        if (features[i]->tick) features[i]->tick(s, s->features[i], now_ms);
}

size_t mcp_each_method(void (*fn)(void *ud, const char *name), void *ud)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof features / sizeof *features; i++)
        for (size_t j = 0; j < features[i]->nmethods; j++)
            if (features[i]->methods[j].fn) {
                fn(ud, features[i]->methods[j].name);
                n++;
            }
    return n;
}
