/* server.c - mcp_server and its registry of tools, resources, templates and prompts.
 *
 * Every registered item becomes a reg_entry: its definition checked (names, URIs, JSON texts
 * parsed, schemas compiled once), its listing pre-rendered as JSON text (so tools/list is a
 * concatenation), and its handler. Entries live in one table per kind, in registration
 * order, with an open-addressing index by key that is rebuilt on every change (changes are
 * rare, lookups are per request). A pthread rwlock guards the tables: lookups take it for
 * reading and leave with a reference on the entry, so a removal never frees an entry under a
 * running handler. After a change, list_changed notifications go to the conns that want them
 * (engine.c), outside the registry lock. */
#include "mcp/ctx.h"
#include "mcp/feature.h"
#include "mcp/token.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/log.h"
#include "rt/metrics.h"

#define LIT(b, s) mcp_buf_append((b), (s), sizeof(s) - 1)

/* ---- small helpers ------------------------------------------------------------------------ */

int srv_seterr(char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return MCP_EINVAL;
}

static char *xstrdup_opt(const char *s)
{
    return s ? mcp_xstrndup(s, strlen(s)) : NULL;
}

static uint32_t hash_key(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Parses text as JSON of type want (JSON_OBJECT / JSON_ARRAY) into a. NULL + err on failure. */
static json_value *parse_field(const char *text, int want, const char *field, mcp_arena *a,
                               char *err, size_t errsize)
{
    json_error je;
    json_value *v = json_parse(text, strlen(text), a, NULL, &je);
    if (!v) {
        char where[160];
        srv_seterr(err, errsize, "%s: %s", field, json_error_str(&je, where, sizeof(where)));
        return NULL;
    }
    if (want >= 0 && v->type != want) {
        srv_seterr(err, errsize, "%s: expected %s, got %s", field,
                   want == JSON_OBJECT ? "an object" : "an array", json_type_name(v));
        return NULL;
    }
    return v;
}

static void w_opt_str(json_writer *w, const char *key, const char *val)
{
    if (!val) return;
    json_write_keyz(w, key);
    json_write_strz(w, val);
}

/* Writes key: parsed JSON text if text is set. Returns 0 or MCP_EINVAL. */
static int w_opt_json(json_writer *w, const char *key, const char *text, int want,
                      const char *field, mcp_arena *a, char *err, size_t errsize)
{
    if (!text) return 0;
    json_value *v = parse_field(text, want, field, a, err, errsize);
    if (!v) return MCP_EINVAL;
    json_write_keyz(w, key);
    json_write_value(w, v);
    return 0;
}

/* ---- entries ------------------------------------------------------------------------------ */

static reg_entry *entry_new(reg_kind k, const char *key, const mcp_handler_fn handler, void *ud,
                            unsigned flags)
{
    reg_entry *e = mcp_xcalloc(1, sizeof(*e));
    atomic_init(&e->refs, 1);
    e->kind = (uint8_t)k;
    e->key_len = (uint32_t)strlen(key);
    e->key = mcp_xstrndup(key, e->key_len);
    e->hash = hash_key(key, e->key_len);
    e->handler = handler;
    e->ud = ud;
    e->flags = flags;
    if (flags & MCP_SERIAL) e->serial = serial_box_new();
    return e;
}

static void entry_free(reg_entry *e)
{
    free(e->key);
    free(e->json);
    free(e->mime);
    if (e->in_schema) json_schema_free(e->in_schema);
    if (e->out_schema) json_schema_free(e->out_schema);
    for (size_t i = 0; i < e->nargs; i++) free(e->arg_names[i]);
    free(e->arg_names);
    free(e->arg_required);
    for (size_t i = 0; i < e->nhparams; i++) {
        free(e->hparams[i].header);
        for (uint32_t j = 0; j < e->hparams[i].depth; j++) free(e->hparams[i].path[j]);
        free(e->hparams[i].path);
    }
    free(e->hparams);
    free(e->parts);
    serial_box_free(e->serial);
    free(e);
}

void reg_release(reg_entry *e)
{
    if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) entry_free(e);
}

static void entry_set_json(reg_entry *e, mcp_buf *b)
{
    e->json_len = b->len;
    e->json = mcp_xstrndup(b->data, b->len);
}

/* ---- tables ------------------------------------------------------------------------------- */

static void table_reindex(reg_table *t)
{
    size_t cap = 8;
    while (cap < t->n * 2) cap *= 2;
    free(t->index);
    t->index = mcp_xcalloc(cap, sizeof(*t->index));
    t->index_cap = cap;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = t->items[i]->hash & (cap - 1);
        while (t->index[j]) j = (j + 1) & (cap - 1);
        t->index[j] = t->items[i];
    }
}

static reg_entry *table_get(const reg_table *t, const char *key, size_t len)
{
    if (!t->index_cap) return NULL;
    uint32_t h = hash_key(key, len);
    for (size_t j = h & (t->index_cap - 1);; j = (j + 1) & (t->index_cap - 1)) {
        reg_entry *e = t->index[j];
        if (!e) return NULL;
        if (e->hash == h && e->key_len == len && !memcmp(e->key, key, len)) return e;
    }
}

/* Adds e (owning its reference) unless its key exists. Returns 0 or MCP_EEXIST. */
static int table_add(mcp_server *s, reg_entry *e)
{
    pthread_rwlock_wrlock(&s->reg_lock);
    reg_table *t = &s->tables[e->kind];
    if (table_get(t, e->key, e->key_len)) {
        pthread_rwlock_unlock(&s->reg_lock);
        entry_free(e);
        return MCP_EEXIST;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->items = mcp_xrealloc(t->items, t->cap * sizeof(*t->items));
    }
    e->seq = ++s->next_seq;
    t->items[t->n++] = e;
    table_reindex(t);
    pthread_rwlock_unlock(&s->reg_lock);
    conns_broadcast_list_changed(s, (reg_kind)e->kind);
    return 0;
}

static int table_remove(mcp_server *s, reg_kind k, const char *key)
{
    if (!key) return MCP_ENOENT;
    size_t len = strlen(key);
    pthread_rwlock_wrlock(&s->reg_lock);
    reg_table *t = &s->tables[k];
    reg_entry *e = table_get(t, key, len);
    if (!e) {
        pthread_rwlock_unlock(&s->reg_lock);
        return MCP_ENOENT;
    }
    size_t i = 0;
    while (t->items[i] != e) i++;
    memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof(*t->items));
    t->n--;
    table_reindex(t);
    pthread_rwlock_unlock(&s->reg_lock);
    reg_release(e);
    conns_broadcast_list_changed(s, k);
    return 0;
}

reg_entry *reg_find(mcp_server *s, reg_kind k, const char *key, size_t len)
{
    pthread_rwlock_rdlock(&s->reg_lock);
    reg_entry *e = table_get(&s->tables[k], key, len);
    if (e) atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    pthread_rwlock_unlock(&s->reg_lock);
    return e;
}

const char *const reg_list_name[REG_NKINDS] = {"tools", "resources", "resourceTemplates",
                                               "prompts"};

/* Index of the first item with seq > after (items are sorted by seq). */
static size_t first_after(const reg_table *t, uint64_t after)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->items[mid]->seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void reg_write_page(mcp_server *s, reg_kind k, uint64_t after, const void *principal, mcp_buf *b)
{
    pthread_rwlock_rdlock(&s->reg_lock);
    const reg_table *t = &s->tables[k];
    size_t i = first_after(t, after), end = i + s->page_size;
    if (end > t->n) end = t->n;
    mcp_buf_putc(b, '"');
    mcp_buf_puts(b, reg_list_name[k]);
    LIT(b, "\":[");
    bool first = true;
    for (size_t j = i; j < end; j++) {
        if (!item_visible(s, principal, k, t->items[j]->key)) continue;
        if (!first) mcp_buf_putc(b, ',');
        first = false;
        mcp_buf_append(b, t->items[j]->json, t->items[j]->json_len);
    }
    mcp_buf_putc(b, ']');
    if (end < t->n) cursor_write(s, b, reg_list_name[k], t->items[end - 1]->seq, NULL, 0);
    pthread_rwlock_unlock(&s->reg_lock);
}

/* ---- the server --------------------------------------------------------------------------- */

static char *info_json(const mcp_server_info *info, size_t *len, char *err, size_t errsize)
{
    char stack[4096];
    mcp_arena a;
    mcp_arena_init(&a, stack, sizeof(stack));
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    json_writer w;
    json_writer_init(&w, &b, false);
    json_write_obj_begin(&w);
    w_opt_str(&w, "name", info->name);
    w_opt_str(&w, "title", info->title);
    w_opt_str(&w, "version", info->version);
    w_opt_str(&w, "description", info->description);
    w_opt_str(&w, "websiteUrl", info->website_url);
    int rc = w_opt_json(&w, "icons", info->icons, JSON_ARRAY, "icons", &a, err, errsize);
    json_write_obj_end(&w);
    mcp_arena_free(&a);
    if (rc) {
        mcp_buf_free(&b);
        return NULL;
    }
    return mcp_buf_steal(&b, len);
}

mcp_server *srv_new(const mcp_server_info *info, char *err, size_t errsize)
{
    if (!info) return srv_seterr(err, errsize, "no server info"), NULL;
    if (!info->name || !*info->name) return srv_seterr(err, errsize, "name: required"), NULL;
    if (!info->version || !*info->version)
        return srv_seterr(err, errsize, "version: required"), NULL;
    mcp_server *s = mcp_xcalloc(1, sizeof(*s));
    s->info_json = info_json(info, &s->info_len, err, errsize);
    if (!s->info_json) {
        free(s);
        return NULL;
    }
    s->name = xstrdup_opt(info->name);
    s->version = xstrdup_opt(info->version);
    s->instructions = xstrdup_opt(info->instructions);
    s->page_size = 100;
    atomic_init(&s->timeout_ms, DEFAULT_TIMEOUT_MS);
    pthread_rwlock_init(&s->reg_lock, NULL);
    pthread_mutex_init(&s->conns_lock, NULL);
    pthread_mutex_init(&s->alert_mu, NULL);
    token_random_key(s->key);
    features_init(s);
    return s;
}

void mcp_server_abandon(mcp_server *s)
{
    atomic_store(&s->abandoned, true);
}

void mcp_server_free(mcp_server *s)
{
    if (!s) return;
    if (atomic_load(&s->abandoned)) { /* handlers a stop gave up on may still use it */
        mcp_log(MCP_LOGL_WARN, "server %s: not freed: handlers left running by a stop use it",
                s->name);
        return;
    }
    features_free(s);
    rt_metrics_free(s->app_metrics);
    for (int k = 0; k < REG_NKINDS; k++) {
        reg_table *t = &s->tables[k];
        for (size_t i = 0; i < t->n; i++) reg_release(t->items[i]);
        free(t->items);
        free(t->index);
    }
    pthread_rwlock_destroy(&s->reg_lock);
    pthread_mutex_destroy(&s->conns_lock);
    pthread_mutex_destroy(&s->alert_mu);
    free(s->alert_rules);
    free(s->info_json);
    free(s->name);
    free(s->version);
    free(s->instructions);
    free(s);
}

int mcp_server_set_secret(mcp_server *s, const void *secret, size_t len)
{
    if (!secret || len < 16) return MCP_EINVAL;
    return token_derive_key(secret, len, s->key) < 0 ? MCP_EINVAL : 0;
}

int mcp_server_set_page_size(mcp_server *s, unsigned n)
{
    if (!s) return MCP_EINVAL;
    if (n < 1 || n > 10000) return MCP_ERANGE;
    s->page_size = n;
    return 0;
}

int mcp_server_set_timeout(mcp_server *s, uint32_t ms)
{
    atomic_store_explicit(&s->timeout_ms, ms ? ms : DEFAULT_TIMEOUT_MS, memory_order_relaxed);
    return 0;
}

int mcp_server_list_changed(mcp_server *s, mcp_list_kind kind)
{
    static const reg_kind map[] = {[MCP_LIST_TOOLS] = REG_TOOL,
                                   [MCP_LIST_RESOURCES] = REG_RESOURCE,
                                   [MCP_LIST_PROMPTS] = REG_PROMPT};
    if (!s || (unsigned)kind >= sizeof map / sizeof map[0]) return MCP_EINVAL;
    conns_broadcast_list_changed(s, map[kind]);
    return 0;
}

int mcp_server_resource_updated(mcp_server *s, const char *uri)
{
    if (!s || !uri) return MCP_EINVAL;
    conns_broadcast_updated(s, uri);
    return 0;
}

/* ---- tools -------------------------------------------------------------------------------- */

static bool tool_name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len < 1 || len > 128) return false;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok) return false;
    }
    return true;
}

/* Counts x-mcp-header keys anywhere in the schema v. */
static size_t count_hdr_annotations(const json_value *v)
{
    size_t n = 0;
    if (v->type == JSON_OBJECT) {
        for (uint32_t i = 0; i < v->len; i++) {
            const json_member *m = &v->u.members[i];
            if (!strcmp(m->key, "x-mcp-header")) n++;
            n += count_hdr_annotations(&m->value);
        }
    } else if (v->type == JSON_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++) n += count_hdr_annotations(&v->u.items[i]);
    }
    return n;
}

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Collects the x-mcp-header annotations reachable from schema v through `properties` only. */
static int collect_hdr_params(reg_entry *e, const json_value *v, const char **path, uint32_t depth,
                              char *err, size_t errsize)
{
    const json_value *props = json_get(v, "properties");
    if (!props || props->type != JSON_OBJECT || depth >= 16) return 0;
    for (uint32_t i = 0; i < props->len; i++) {
        const json_member *m = &props->u.members[i];
        if (m->value.type != JSON_OBJECT) continue;
        path[depth] = m->key;
        const json_value *h = json_get(&m->value, "x-mcp-header");
        if (h) {
            if (h->type != JSON_STRING || !h->len)
                return srv_seterr(err, errsize,
                                  "input_schema: %s: x-mcp-header must be a non-empty "
                                  "string",
                                  m->key);
            for (uint32_t k = 0; k < h->len; k++)
                if (!is_tchar(h->u.str[k]))
                    return srv_seterr(err, errsize,
                                      "input_schema: %s: x-mcp-header '%s' is not an "
                                      "HTTP token",
                                      m->key, h->u.str);
            const char *t = NULL;
            json_get_str(&m->value, "type", &t, NULL, NULL, NULL, 0);
            if (!t || (strcmp(t, "string") && strcmp(t, "integer") && strcmp(t, "boolean")))
                return srv_seterr(err, errsize,
                                  "input_schema: %s: x-mcp-header needs type string, "
                                  "integer or boolean",
                                  m->key);
            char name[160];
            int n = snprintf(name, sizeof name, "Mcp-Param-%s", h->u.str);
            if (n < 0 || (size_t)n >= sizeof name)
                return srv_seterr(err, errsize, "input_schema: x-mcp-header too long");
            for (size_t k = 0; k < e->nhparams; k++)
                if (!strcasecmp(e->hparams[k].header, name))
                    return srv_seterr(err, errsize, "input_schema: x-mcp-header '%s' is not unique",
                                      h->u.str);
            e->hparams = mcp_xrealloc(e->hparams, (e->nhparams + 1) * sizeof *e->hparams);
            hdr_param *hp = &e->hparams[e->nhparams++];
            hp->header = mcp_xstrndup(name, (size_t)n);
            hp->depth = depth + 1;
            hp->path = mcp_xcalloc(depth + 1, sizeof(char *));
            for (uint32_t k = 0; k <= depth; k++)
                hp->path[k] = mcp_xstrndup(path[k], strlen(path[k]));
        }
        int rc = collect_hdr_params(e, &m->value, path, depth + 1, err, errsize);
        if (rc) return rc;
    }
    return 0;
}

/* Parses and compiles a schema text, writes it as member key. Both eras define a tool's input
 * schema (and 2025-11-25 its output schema, since structuredContent is an object there) as an
 * object schema: "type": "object" is required, so a mistake shows at registration rather than
 * as a client that cannot call the tool. */
static int tool_schema(json_writer *w, const char *key, const char *text, const char *field,
                       json_schema **out, mcp_arena *a, char *err, size_t errsize)
{
    json_value *v = parse_field(text, JSON_OBJECT, field, a, err, errsize);
    if (!v) return MCP_EINVAL;
    const json_value *type = json_get(v, "type");
    if (!json_is_string(type) || strcmp(type->u.str, "object"))
        return srv_seterr(err, errsize, "%s: must be an object schema with \"type\": \"object\"",
                          field);
    json_schema_error se;
    *out = json_schema_compile(v, NULL, &se);
    if (!*out) return srv_seterr(err, errsize, "%s: %s: %s", field, se.schema_path, se.msg);
    json_write_keyz(w, key);
    json_write_value(w, v);
    return 0;
}

static int tool_render(reg_entry *e, const mcp_tool_def *d, mcp_arena *a, mcp_buf *b, char *err,
                       size_t errsize)
{
    json_writer w;
    json_writer_init(&w, b, false);
    json_write_obj_begin(&w);
    w_opt_str(&w, "name", d->name);
    w_opt_str(&w, "title", d->title);
    w_opt_str(&w, "description", d->description);
    const char *in = d->input_schema ? d->input_schema : "{\"type\":\"object\"}";
    int rc = tool_schema(&w, "inputSchema", in, "input_schema", &e->in_schema, a, err, errsize);
    if (!rc) {
        const char *path[16];
        json_value *v = json_parse(in, strlen(in), a, NULL, NULL);
        rc = collect_hdr_params(e, v, path, 0, err, errsize);
        if (!rc && count_hdr_annotations(v) != e->nhparams)
            rc = srv_seterr(err, errsize,
                            "input_schema: x-mcp-header is allowed only on properties "
                            "reached through 'properties' alone");
    }
    if (!rc && d->output_schema)
        rc = tool_schema(&w, "outputSchema", d->output_schema, "output_schema", &e->out_schema, a,
                         err, errsize);
    if (!rc)
        rc = w_opt_json(&w, "annotations", d->annotations, JSON_OBJECT, "annotations", a, err,
                        errsize);
    if (!rc) rc = w_opt_json(&w, "icons", d->icons, JSON_ARRAY, "icons", a, err, errsize);
    if (!rc && (d->flags & (MCP_TASK_OPTIONAL | MCP_TASK_REQUIRED))) {
        json_write_keyz(&w, "execution");
        json_write_obj_begin(&w);
        json_write_keyz(&w, "taskSupport");
        json_write_strz(&w, d->flags & MCP_TASK_REQUIRED ? "required" : "optional");
        json_write_obj_end(&w);
    }
    if (!rc) rc = w_opt_json(&w, "_meta", d->meta, JSON_OBJECT, "meta", a, err, errsize);
    json_write_obj_end(&w);
    return rc;
}

/* Renders an entry with render(e, def, ...) and adds it. Shared tail of every add_*. */
typedef int (*render_fn)(reg_entry *e, const void *def, mcp_arena *a, mcp_buf *b, char *err,
                         size_t errsize);

static int add_entry(mcp_server *s, reg_entry *e, render_fn render, const void *def, char *err,
                     size_t errsize)
{
    char stack[8192];
    mcp_arena a;
    mcp_arena_init(&a, stack, sizeof(stack));
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    int rc = render(e, def, &a, &b, err, errsize);
    if (!rc) entry_set_json(e, &b);
    mcp_buf_free(&b);
    mcp_arena_free(&a);
    if (rc) {
        entry_free(e);
        return rc;
    }
    rc = table_add(s, e);
    if (rc == MCP_EEXIST) srv_seterr(err, errsize, "already registered");
    return rc;
}

static int render_tool(reg_entry *e, const void *def, mcp_arena *a, mcp_buf *b, char *err,
                       size_t errsize)
{
    return tool_render(e, def, a, b, err, errsize);
}

int srv_add_tool(mcp_server *s, const mcp_tool_def *d, char *err, size_t errsize)
{
    if (!s || !d) return srv_seterr(err, errsize, "no definition");
    if (!tool_name_ok(d->name))
        return srv_seterr(err, errsize, "name: must be 1-128 characters of [A-Za-z0-9_.-]");
    if (!d->handler) return srv_seterr(err, errsize, "handler: required");
    if (d->params) { /* the compact form: libmcp writes the schema */
        if (d->input_schema) return srv_seterr(err, errsize, "params and input_schema: set one");
        char *schema = params_to_schema(d->params, err, errsize);
        if (!schema) return MCP_EINVAL;
        mcp_tool_def full = *d;
        full.params = NULL;
        full.input_schema = schema;
        int rc = srv_add_tool(s, &full, err, errsize);
        free(schema);
        return rc;
    }
    reg_entry *e = entry_new(REG_TOOL, d->name, d->handler, d->ud, d->flags);
    e->timeout_ms = d->timeout_ms;
    int rc = add_entry(s, e, render_tool, d, err, errsize);
    if (!rc) features_registered(s, REG_TOOL, d->flags);
    return rc;
}

int mcp_server_remove_tool(mcp_server *s, const char *name)
{
    return table_remove(s, REG_TOOL, name);
}

/* ---- resources ---------------------------------------------------------------------------- */

static bool uri_absolute(const char *u)
{
    if (!u || !((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z'))) return false;
    for (const char *p = u + 1; *p; p++) {
        if (*p == ':') return p[1] != '\0';
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.';
        if (!ok) return false;
    }
    return false;
}

static int render_resource(reg_entry *e, const void *def, mcp_arena *a, mcp_buf *b, char *err,
                           size_t errsize)
{
    const mcp_resource_def *d = def;
    json_writer w;
    json_writer_init(&w, b, false);
    json_write_obj_begin(&w);
    w_opt_str(&w, "uri", d->uri);
    w_opt_str(&w, "name", d->name);
    w_opt_str(&w, "title", d->title);
    w_opt_str(&w, "description", d->description);
    w_opt_str(&w, "mimeType", d->mime_type);
    if (d->has_size && d->size < 0) return srv_seterr(err, errsize, "size: negative");
    if (d->size > 0 || d->has_size) {
        json_write_keyz(&w, "size");
        json_write_int(&w, d->size);
    }
    int rc =
        w_opt_json(&w, "annotations", d->annotations, JSON_OBJECT, "annotations", a, err, errsize);
    if (!rc) rc = w_opt_json(&w, "icons", d->icons, JSON_ARRAY, "icons", a, err, errsize);
    json_write_obj_end(&w);
    return rc;
}

int srv_add_resource(mcp_server *s, const mcp_resource_def *d, char *err, size_t errsize)
{
    if (!s || !d) return srv_seterr(err, errsize, "no definition");
    if (!uri_absolute(d->uri)) return srv_seterr(err, errsize, "uri: must be an absolute URI");
    if (!d->name || !*d->name) return srv_seterr(err, errsize, "name: required");
    if (!d->handler) return srv_seterr(err, errsize, "handler: required");
    reg_entry *e = entry_new(REG_RESOURCE, d->uri, d->handler, d->ud, d->flags);
    e->mime = xstrdup_opt(d->mime_type);
    return add_entry(s, e, render_resource, d, err, errsize);
}

int mcp_server_remove_resource(mcp_server *s, const char *uri)
{
    return table_remove(s, REG_RESOURCE, uri);
}

/* ---- templates ---------------------------------------------------------------------------- */

/* Splits an RFC 6570 level-1 template into parts pointing into e->key. */
static int tmpl_compile(reg_entry *e, char *err, size_t errsize)
{
    const char *p = e->key, *lit = p;
    size_t cap = 4, n = 0;
    tmpl_part *parts = mcp_xmalloc(cap * sizeof(*parts));
    for (;;) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open) break;
        if (!close || memchr(open + 1, '{', (size_t)(close - open - 1))) goto bad;
        const char *var = open + 1;
        size_t vlen = (size_t)(close - var);
        if (!vlen || strchr("+#./;?&=,!@|", *var)) goto bad;
        if (n && open == lit && parts[n - 1].var) goto adjacent;
        if (n + 2 > cap) parts = mcp_xrealloc(parts, (cap *= 2) * sizeof(*parts));
        parts[n++] = (tmpl_part){lit, (size_t)(open - lit), var, vlen};
        lit = p = close + 1;
    }
    if (strchr(p, '}')) goto bad;
    parts[n++] = (tmpl_part){lit, strlen(lit), NULL, 0};
    e->parts = parts;
    e->nparts = n;
    return 0;
adjacent:
    free(parts);
    return srv_seterr(err, errsize, "uri_template: adjacent variables cannot be matched");
bad:
    free(parts);
    return srv_seterr(err, errsize, "uri_template: only level-1 {var} expressions are supported");
}

static int render_template(reg_entry *e, const void *def, mcp_arena *a, mcp_buf *b, char *err,
                           size_t errsize)
{
    const mcp_template_def *d = def;
    json_writer w;
    json_writer_init(&w, b, false);
    json_write_obj_begin(&w);
    w_opt_str(&w, "uriTemplate", d->uri_template);
    w_opt_str(&w, "name", d->name);
    w_opt_str(&w, "title", d->title);
    w_opt_str(&w, "description", d->description);
    w_opt_str(&w, "mimeType", d->mime_type);
    int rc =
        w_opt_json(&w, "annotations", d->annotations, JSON_OBJECT, "annotations", a, err, errsize);
    if (!rc) rc = w_opt_json(&w, "icons", d->icons, JSON_ARRAY, "icons", a, err, errsize);
    json_write_obj_end(&w);
    return rc;
}

int srv_add_template(mcp_server *s, const mcp_template_def *d, char *err, size_t errsize)
{
    if (!s || !d) return srv_seterr(err, errsize, "no definition");
    if (!uri_absolute(d->uri_template))
        return srv_seterr(err, errsize, "uri_template: must be an absolute URI template");
    if (!d->name || !*d->name) return srv_seterr(err, errsize, "name: required");
    if (!d->handler) return srv_seterr(err, errsize, "handler: required");
    reg_entry *e = entry_new(REG_TEMPLATE, d->uri_template, d->handler, d->ud, d->flags);
    e->complete = d->complete;
    e->mime = xstrdup_opt(d->mime_type);
    if (tmpl_compile(e, err, errsize)) {
        entry_free(e);
        return MCP_EINVAL;
    }
    return add_entry(s, e, render_template, d, err, errsize);
}

int mcp_server_remove_template(mcp_server *s, const char *uri_template)
{
    return table_remove(s, REG_TEMPLATE, uri_template);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new arena string; NULL if malformed. */
static char *pct_decode(const char *s, size_t n, mcp_arena *a, uint32_t *out_len)
{
    char *d = mcp_arena_alloc_unaligned(a, n + 1), *o = d;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        if (i + 2 >= n) return NULL;
        int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
        if (hi < 0 || lo < 0) return NULL;
        *o++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *o = '\0';
    *out_len = (uint32_t)(o - d);
    return d;
}

/* Matches uri against one template; on success *vars holds the variables. */
static bool tmpl_match(const reg_entry *e, const char *uri, size_t len, mcp_arena *a,
                       json_value **vars)
{
    json_member *m = mcp_arena_alloc(a, (e->nparts ? e->nparts : 1) * sizeof(*m));
    size_t pos = 0, nv = 0;
    for (size_t i = 0; i < e->nparts; i++) {
        const tmpl_part *p = &e->parts[i];
        if (len - pos < p->lit_len || memcmp(uri + pos, p->lit, p->lit_len)) return false;
        pos += p->lit_len;
        if (!p->var) {
            if (pos != len) return false;
            break;
        }
        const tmpl_part *next = &e->parts[i + 1];
        size_t end = len;
        if (next->lit_len) {
            const char *f = memmem(uri + pos, len - pos, next->lit, next->lit_len);
            if (!f) return false;
            end = (size_t)(f - uri);
        }
        if (end == pos || memchr(uri + pos, '/', end - pos) || memchr(uri + pos, '?', end - pos) ||
            memchr(uri + pos, '#', end - pos))
            return false;
        json_member *mm = &m[nv++];
        memset(mm, 0, sizeof(*mm));
        mm->key = mcp_arena_strndup(a, p->var, p->var_len);
        mm->key_len = (uint32_t)p->var_len;
        mm->value.type = JSON_STRING;
        mm->value.u.str = pct_decode(uri + pos, end - pos, a, &mm->value.len);
        if (!mm->value.u.str) return false;
        pos = end;
    }
    json_value *obj = mcp_arena_alloc(a, sizeof(*obj));
    memset(obj, 0, sizeof(*obj));
    obj->type = JSON_OBJECT;
    obj->len = (uint32_t)nv;
    obj->u.members = m;
    *vars = obj;
    return true;
}

reg_entry *reg_match_template(mcp_server *s, const char *uri, size_t len, mcp_arena *a,
                              json_value **vars)
{
    reg_entry *found = NULL;
    pthread_rwlock_rdlock(&s->reg_lock);
    const reg_table *t = &s->tables[REG_TEMPLATE];
    for (size_t i = 0; i < t->n && !found; i++) {
        if (tmpl_match(t->items[i], uri, len, a, vars)) found = t->items[i];
    }
    if (found) atomic_fetch_add_explicit(&found->refs, 1, memory_order_relaxed);
    pthread_rwlock_unlock(&s->reg_lock);
    return found;
}

/* ---- prompts ------------------------------------------------------------------------------ */

static int render_prompt(reg_entry *e, const void *def, mcp_arena *a, mcp_buf *b, char *err,
                         size_t errsize)
{
    const mcp_prompt_def *d = def;
    json_writer w;
    json_writer_init(&w, b, false);
    json_write_obj_begin(&w);
    w_opt_str(&w, "name", d->name);
    w_opt_str(&w, "title", d->title);
    w_opt_str(&w, "description", d->description);
    if (d->nargs) {
        json_write_keyz(&w, "arguments");
        json_write_arr_begin(&w);
        for (size_t i = 0; i < d->nargs; i++) {
            json_write_obj_begin(&w);
            w_opt_str(&w, "name", d->args[i].name);
            w_opt_str(&w, "title", d->args[i].title);
            w_opt_str(&w, "description", d->args[i].description);
            json_write_keyz(&w, "required");
            json_write_bool(&w, d->args[i].required);
            json_write_obj_end(&w);
        }
        json_write_arr_end(&w);
    }
    int rc = w_opt_json(&w, "icons", d->icons, JSON_ARRAY, "icons", a, err, errsize);
    json_write_obj_end(&w);
    return rc;
}

int srv_add_prompt(mcp_server *s, const mcp_prompt_def *d, char *err, size_t errsize)
{
    if (!s || !d) return srv_seterr(err, errsize, "no definition");
    if (!d->name || !*d->name) return srv_seterr(err, errsize, "name: required");
    if (!d->handler) return srv_seterr(err, errsize, "handler: required");
    for (size_t i = 0; i < d->nargs; i++)
        if (!d->args[i].name || !*d->args[i].name)
            return srv_seterr(err, errsize, "args[%zu].name: required", i);
    reg_entry *e = entry_new(REG_PROMPT, d->name, d->handler, d->ud, d->flags);
    e->complete = d->complete;
    e->nargs = d->nargs;
    e->arg_names = mcp_xcalloc(d->nargs ? d->nargs : 1, sizeof(char *));
    e->arg_required = mcp_xcalloc(d->nargs ? d->nargs : 1, sizeof(bool));
    for (size_t i = 0; i < d->nargs; i++) {
        e->arg_names[i] = xstrdup_opt(d->args[i].name);
        e->arg_required[i] = d->args[i].required;
    }
    return add_entry(s, e, render_prompt, d, err, errsize);
}

int mcp_server_remove_prompt(mcp_server *s, const char *name)
{
    return table_remove(s, REG_PROMPT, name);
}
