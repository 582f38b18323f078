/* registry.c - what mcpd serves: generations of tools built from a config, swapped on reload.
 *
 * A generation (mcpd_gen) is everything one config produced: the config, each tool entry's
 * kind instance, and the tools with their guards. It is reference-counted: the served
 * pointer holds one reference, and every call holds one from its start to its end. A call
 * looks its tool up by name in the generation current when it starts, so a reload (SIGHUP)
 * builds a complete new generation off to the side, swaps the pointer under a mutex, and
 * drops the old one: calls already running finish on the old tools, and the old kinds are
 * freed when the last of those calls ends. A config that fails to load or configure is
 * reported (every mistake, located) and the running generation stays.
 *
 * libmcp's registry holds one registration per tool name whose handler is the same function
 * for all (it looks the tool up as above). A reload adds the new names, removes the gone ones,
 * and re-registers a tool whose definition (description, schemas, annotations) changed; an
 * unchanged tool keeps its registration, so calls to it never see a gap. Then clients get
 * notifications/tools/list_changed.
 *
 * Reloads run on libuv's thread pool (uv_queue_work from the SIGHUP handler on mcpd's loop),
 * one at a time: a SIGHUP during a reload schedules one more. */
#include "content.h"
#include "mcpd.h"
#include "mcpd/series.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKSTOP_MS 5000

struct mcpd_gen {
    atomic_int refs;
    mcpd_config *cfg;
    mcpd_tool *tools;
    size_t ntools, cap;
    struct inst {
        const mcpd_kind *kind;
        void *inst;
    } * insts;
    size_t ninsts;
    /* the "resources" and "prompts" sections (content.h), configured for `server` (NULL: only
     * checked) and made the ones serving by content_activate */
    void *resources, *prompts;
    mcp_server *content_server;
};

struct mcpd_tools {
    mcpd_gen *g;
    const mcp_json *entry;
    const char *pointer;
    const mcpd_config *cfg;
};

static char *dup_or_null(const char *s)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static const char *entry_str(const mcp_json *e, const char *key)
{
    return mcp_json_str(mcp_json_get(e, key), NULL);
}

static uint32_t entry_u32(const mcp_json *e, const char *key, uint32_t dflt)
{
    int64_t v;
    return mcp_json_int(mcp_json_get(e, key), &v) ? (uint32_t)v : dflt;
}

static bool schema_ok(const char *text, const char *what, const char *pointer, mcpd_errs *errs)
{
    if (!text) return true;
    char err[256];
    mcp_schema *s = mcp_schema_compile(text, strlen(text), err, sizeof err);
    if (!s) mcpd_err(errs, pointer, "the tool's %s is not a valid JSON Schema: %s", what, err);
    mcp_schema_free(s);
    return s != NULL;
}

int mcpd_tools_add(mcpd_tools *t, const mcpd_tool_spec *spec, const char *pointer, mcpd_errs *errs)
{
    mcpd_gen *g = t->g;
    const mcp_json *e = t->entry;
    const char *ptr = pointer ? pointer : t->pointer;
    const char *name = spec->name ? spec->name : entry_str(e, "name");
    if (!name || !*name) {
        mcpd_err(errs, ptr, "a tool needs a \"name\"");
        return -1;
    }
    for (size_t i = 0; i < g->ntools; i++) {
        if (strcmp(g->tools[i].name, name)) continue;
        mcpd_err(errs, ptr, "a tool named \"%s\" is already defined at %s", name,
                 g->tools[i].pointer);
        return -1;
    }
    if (!schema_ok(spec->input_schema, "input schema", ptr, errs) ||
        !schema_ok(spec->output_schema, "output schema", ptr, errs))
        return -1;
    if (g->ntools == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->tools = realloc(g->tools, g->cap * sizeof *g->tools);
        if (!g->tools) abort();
    }
    mcpd_tool *x = &g->tools[g->ntools++];
    char *ann = NULL;
    if (!spec->annotations && mcp_json_get(e, "annotations"))
        ann = mcp_json_text(mcp_json_get(e, "annotations"), NULL);
    *x = (mcpd_tool){
        .name = dup_or_null(name),
        .title = dup_or_null(spec->title ? spec->title : entry_str(e, "title")),
        .description =
            dup_or_null(spec->description ? spec->description : entry_str(e, "description")),
        .input_schema = dup_or_null(spec->input_schema),
        .output_schema = dup_or_null(spec->output_schema),
        .annotations = ann ? ann : dup_or_null(spec->annotations),
        .tool = spec->tool,
        .pointer = dup_or_null(ptr),
        .timeout_ms =
            spec->timeout_ms ? spec->timeout_ms : entry_u32(e, "timeout_ms", t->cfg->timeout_ms),
        .concurrency = spec->concurrency ? spec->concurrency
                                         : entry_u32(e, "concurrency", t->cfg->concurrency),
        .queue_wait_ms = entry_u32(e, "queue_wait_ms", t->cfg->queue_wait_ms),
        .spawns = spec->spawns,
        .quick = spec->quick,
        .mcp_flags = (spec->quick || spec->try_inline ? MCP_INLINE : 0u) |
                     (spec->output_trusted ? MCP_OUTPUT_TRUSTED : 0u),
        .breaker_cfg = mcp_json_get(e, "breaker"),
        .health = spec->health,
    };
    return 0;
}

/* ---- per-kind entry checks ---------------------------------------------------------------- */
#define MAX_KINDS 16

/* The compiled schema and parsed text of each kind's config_schema (built once, under lock). */
static struct kind_schema {
    const mcpd_kind *kind;
    mcp_schema *schema;
    mcp_json_doc *doc;
} kind_schemas[MAX_KINDS];
static pthread_mutex_t kind_schemas_mu = PTHREAD_MUTEX_INITIALIZER;

static struct kind_schema *kind_schema(const mcpd_kind *k)
{
    pthread_mutex_lock(&kind_schemas_mu);
    struct kind_schema *ks = NULL;
    for (size_t i = 0; i < MAX_KINDS && !ks; i++) {
        if (kind_schemas[i].kind == k) ks = &kind_schemas[i];
        if (!kind_schemas[i].kind) {
            char err[256];
            const char *text = k->config_schema ? k->config_schema : "{}";
            kind_schemas[i].schema = mcp_schema_compile(text, strlen(text), err, sizeof err);
            kind_schemas[i].doc = mcp_json_parse(text, strlen(text), 0, NULL);
            if (!kind_schemas[i].schema || !kind_schemas[i].doc) {
                fprintf(stderr, "mcpd: the %s kind's config schema does not compile: %s\n", k->name,
                        err);
                abort();
            }
            kind_schemas[i].kind = k;
            ks = &kind_schemas[i];
        }
    }
    pthread_mutex_unlock(&kind_schemas_mu);
    return ks;
}

typedef struct entry_check {
    mcpd_errs *errs;
    const char *pointer;
} entry_check;

static bool on_entry_error(const mcp_schema_error *e, void *ud)
{
    entry_check *ec = ud;
    char ptr[1024];
    snprintf(ptr, sizeof ptr, "%s%s", ec->pointer, e->instance_path);
    mcpd_err(ec->errs, ptr, "%s", e->message);
    return true;
}

/* The keys every tool entry may have (the config schema's $defs/tool/properties). */
static mcp_json_doc *common_doc;
static pthread_once_t common_once = PTHREAD_ONCE_INIT;

static void common_init(void)
{
    common_doc = mcp_json_parse(mcpd_config_schema, mcpd_config_schema_len, 0, NULL);
}

static const mcp_json *common_tool_keys(void)
{
    pthread_once(&common_once, common_init);
    const mcp_json *defs = mcp_json_get(mcp_json_root(common_doc), "$defs");
    return mcp_json_get(mcp_json_get(defs, "tool"), "properties");
}

/* Checks entry against its kind's schema and refuses keys neither the kind nor the common tool
 * keys know. Returns true if it is fine. */
static bool check_entry(const mcpd_kind *k, const mcp_json *entry, const char *pointer,
                        mcpd_errs *errs)
{
    size_t before = mcpd_err_count(errs);
    struct kind_schema *ks = kind_schema(k);
    entry_check ec = {errs, pointer};
    mcp_schema_validate(ks->schema, entry, on_entry_error, &ec);
    const mcp_json *own = mcp_json_get(mcp_json_root(ks->doc), "properties");
    const mcp_json *common = common_tool_keys();
    for (size_t i = 0; i < mcp_json_len(entry); i++) {
        const char *key;
        mcp_json_member(entry, i, &key, NULL);
        if (mcp_json_get(own, key) || mcp_json_get(common, key)) continue;
        char ptr[1024];
        snprintf(ptr, sizeof ptr, "%s/%s", pointer, key);
        const char *s = mcpd_suggest(key, own);
        if (!s) s = mcpd_suggest(key, common);
        if (s)
            mcpd_err(errs, ptr, "unknown key \"%s\" for a tool of kind %s (did you mean \"%s\"?)",
                     key, k->name, s);
        else
            mcpd_err(errs, ptr, "unknown key \"%s\" for a tool of kind %s", key, k->name);
    }
    return mcpd_err_count(errs) == before;
}

/* ---- generations ------------------------------------------------------------------------- */
/* Starts or stops the health probes of g's tools (while g is the generation served). */
static void gen_probes(mcpd_gen *g, bool on)
{
    for (size_t i = 0; g && i < g->ntools; i++)
        on ? mcpd_guard_probe_start(&g->tools[i]) : mcpd_guard_probe_stop(&g->tools[i]);
}

static void gen_free(mcpd_gen *g)
{
    mcpd_resources_free(g->resources);
    mcpd_prompts_free(g->prompts);
    for (size_t i = 0; i < g->ntools; i++) {
        mcpd_tool *t = &g->tools[i];
        mcpd_guard_free(t);
        free(t->name), free(t->title), free(t->description), free(t->input_schema);
        free(t->output_schema), free(t->annotations), free(t->pointer);
    }
    for (size_t i = 0; i < g->ninsts; i++)
        if (g->insts[i].kind->free) g->insts[i].kind->free(g->insts[i].inst);
    free(g->tools);
    free(g->insts);
    mcpd_config_free(g->cfg);
    free(g);
}

void mcpd_gen_unref(mcpd_gen *g)
{
    if (g && atomic_fetch_sub(&g->refs, 1) == 1) gen_free(g);
}

static void unref_on_loop(uv_loop_t *loop, void *g)
{
    (void)loop;
    mcpd_gen_unref(g);
}

void mcpd_gen_unref_soon(mcpd_gen *g)
{
    if (!g) return;
    int r = atomic_load(&g->refs);
    while (r > 1)
        if (atomic_compare_exchange_weak(&g->refs, &r, r - 1)) return;
    if (mcpd_loop_post(unref_on_loop, g) != 0) mcpd_gen_unref(g);
}

/* Configures the "resources" and "prompts" sections of g's config for server (NULL: only
 * checks them). Mistakes go to errs. */
static void content_build(mcpd_gen *g, mcp_server *server, const mcpd_env *env, mcpd_errs *errs)
{
    const mcp_json *res = mcp_json_get(g->cfg->root, "resources");
    const mcp_json *pr = mcp_json_get(g->cfg->root, "prompts");
    g->content_server = server;
    if (res) mcpd_resources_configure(env, res, "/resources", errs, &g->resources);
    if (pr) mcpd_prompts_configure(env, pr, "/prompts", errs, &g->prompts);
}

/* Makes g's resources and prompts the ones served by server (configuring them afresh if g was
 * built without it, as at start-up). Returns 0, or -1 after logging why. */
static int content_activate(mcpd_gen *g, mcp_server *server)
{
    mcpd_errs *errs = mcpd_errs_new();
    if (g->content_server != server) {
        mcpd_resources_free(g->resources);
        mcpd_prompts_free(g->prompts);
        g->resources = g->prompts = NULL;
        mcpd_env env = {.server = server,
                        .config_path = g->cfg->path,
                        .config_dir = g->cfg->dir,
                        .loop = mcpd_loop()};
        content_build(g, server, &env, errs);
    }
    mcpd_resources_activate(g->resources);
    mcpd_prompts_activate(g->prompts, errs);
    int rc = mcpd_err_count(errs) ? -1 : 0;
    if (rc) mcpd_errs_print(errs, stderr, "mcpd: error: ", g->cfg->path, NULL, 0);
    mcpd_errs_free(errs);
    return rc;
}

static _Atomic uint64_t next_generation = 1;

/* Configures every tool entry of cfg into a new generation (taking cfg). Returns it, or NULL
 * with the mistakes in errs (cfg then freed). */
static mcpd_gen *gen_build(mcpd_config *cfg, mcp_server *server, bool reload, mcpd_errs *errs)
{
    mcpd_gen *g = calloc(1, sizeof *g);
    if (!g) abort();
    atomic_init(&g->refs, 1);
    g->cfg = cfg;
    const mcp_json *tools = mcp_json_get(cfg->root, "tools");
    size_t before = mcpd_err_count(errs);
    mcpd_env env = {.server = server,
                    .config_path = cfg->path,
                    .config_dir = cfg->dir,
                    .loop = mcpd_loop(),
                    .reload = reload,
                    .generation = server ? atomic_fetch_add(&next_generation, 1) : 0};
    g->insts = calloc(mcp_json_len(tools) + 1, sizeof *g->insts);
    if (!g->insts) abort();
    size_t ntools = mcp_json_typeof(tools) == MCP_JSON_ARRAY ? mcp_json_len(tools) : 0;
    for (size_t i = 0; i < ntools; i++) {
        const mcp_json *e = mcp_json_at(tools, i);
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/tools/%zu", i);
        /* the config schema already found this entry wrong (a failed load reports it all) */
        if (mcp_json_typeof(e) != MCP_JSON_OBJECT || mcpd_errs_under(errs, ptr)) continue;
        bool enabled = true;
        if (mcp_json_bool(mcp_json_get(e, "enabled"), &enabled) && !enabled) continue;
        const char *kname = entry_str(e, "kind");
        const mcpd_kind *k = mcpd_kind_find(kname);
        if (!k) {
            char kp[80];
            snprintf(kp, sizeof kp, "%s/kind", ptr);
            mcpd_err(errs, kp, "unknown tool kind \"%s\": expected one of %s", kname,
                     mcpd_kind_names());
            continue;
        }
        if (!check_entry(k, e, ptr, errs)) continue;
        mcpd_tools reg = {.g = g, .entry = e, .pointer = ptr, .cfg = cfg};
        size_t first = g->ntools;
        void *inst = NULL;
        size_t errs_before = mcpd_err_count(errs);
        int rc = k->configure(&env, e, ptr, &reg, errs, &inst);
        if (rc != 0 && mcpd_err_count(errs) == errs_before)
            mcpd_err(errs, ptr, "the %s kind refused this entry", k->name);
        if (rc != 0) {
            while (g->ntools > first) { /* drop what it added before it failed */
                mcpd_tool *t = &g->tools[--g->ntools];
                free(t->name), free(t->title), free(t->description), free(t->input_schema);
                free(t->output_schema), free(t->annotations), free(t->pointer);
            }
            continue;
        }
        g->insts[g->ninsts++] = (struct inst){k, inst};
        for (size_t j = first; j < g->ntools; j++) {
            g->tools[j].kind = k;
            g->tools[j].inst = inst;
        }
    }
    content_build(g, server, &env, errs);
    if (mcpd_err_count(errs) != before) {
        gen_free(g);
        return NULL;
    }
    for (size_t i = 0; i < g->ntools; i++) mcpd_guard_new(&g->tools[i]);
    return g;
}

/* Loads path (NULL: the default) into a generation, or prints every mistake to out (each line
 * starting with prefix: NULL for --check-config's plain lines, "mcpd: error: " for the log) and
 * returns NULL. */
static mcpd_gen *load_gen(const char *path, mcp_server *server, bool reload, FILE *out,
                          const char *prefix)
{
    mcpd_errs *errs = mcpd_errs_new();
    char *text = NULL;
    size_t len = 0;
    mcpd_config *cfg = mcpd_config_load(path, errs, &text, &len);
    bool invalid = cfg && cfg->invalid;
    mcpd_gen *g = cfg ? gen_build(cfg, server, reload, errs) : NULL;
    if (g && invalid) { /* built only to report the tools' mistakes too */
        mcpd_gen_unref(g);
        g = NULL;
    }
    if (!g) {
        const char *src = path ? text : mcpd_default_config;
        size_t srclen = path ? len : mcpd_default_config_len;
        mcpd_errs_print(errs, out, prefix, path ? path : "(default config)", src, srclen);
    }
    free(text);
    mcpd_errs_free(errs);
    return g;
}

int mcpd_check(const char *path, FILE *out)
{
    mcpd_gen *g = load_gen(path, NULL, false, out, NULL);
    if (!g) return 2;
    fprintf(out, "%s: valid (%zu tools)\n", path ? path : "(default config)", g->ntools);
    mcpd_gen_unref(g);
    return 0;
}

/* ---- serving ----------------------------------------------------------------------------- */
static struct served {
    mcp_server *server;
    const char *path;
    pthread_mutex_t mu;
    mcpd_gen *current;
    uv_signal_t hup;
    uv_work_t reload_work;
    bool reloading, reload_again;
    bool reload_ok;
    bool needs_auth; /* serving a non-loopback address without --insecure-no-auth */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

const mcpd_config *mcpd_gen_config(const mcpd_gen *g)
{
    return g ? g->cfg : NULL;
}

mcpd_gen *mcpd_gen_current(void)
{
    pthread_mutex_lock(&S.mu);
    mcpd_gen *g = S.current;
    if (g) atomic_fetch_add(&g->refs, 1);
    pthread_mutex_unlock(&S.mu);
    return g;
}

void mcpd_gen_collect(mcp_metrics_writer *w)
{
    mcpd_gen *g = mcpd_gen_current();
    for (size_t i = 0; g && i < g->ntools; i++) mcpd_guard_collect(&g->tools[i], w);
    mcpd_gen_unref_soon(g); /* the last reference is dropped on the loop, not a scraper */
}

/* libmcp's collector (mcp_metrics_collector): mcpd's counters, the tools', the kinds'. */
static void collect(void *ud, mcp_metrics_writer *w)
{
    mcpd_series_collect(w);
    mcpd_guard_collect_children(w);
    mcpd_gen_collect(w);
    mcpd_kinds_collect(w);
}

/* The one handler of every tool. */
static void on_tool_call(mcp_ctx *ctx, void *ud)
{
    mcpd_gen *g = mcpd_gen_current();
    const char *name = mcp_ctx_name(ctx);
    for (size_t i = 0; g && i < g->ntools; i++) {
        if (strcmp(g->tools[i].name, name) == 0) {
            mcpd_guard_call(g, &g->tools[i], ctx); /* takes our reference */
            return;
        }
    }
    mcp_ctx_tool_error(ctx, "tool %s is no longer served (the config was reloaded)", name);
    mcpd_gen_unref(g);
}

static const mcpd_tool *find_tool(const mcpd_gen *g, const char *name)
{
    for (size_t i = 0; g && i < g->ntools; i++)
        if (!strcmp(g->tools[i].name, name)) return &g->tools[i];
    return NULL;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_def(const mcpd_tool *a, const mcpd_tool *b)
{
    return same_text(a->title, b->title) && same_text(a->description, b->description) &&
           same_text(a->input_schema, b->input_schema) &&
           same_text(a->output_schema, b->output_schema) &&
           same_text(a->annotations, b->annotations) && a->mcp_flags == b->mcp_flags;
}

/* Makes libmcp's tool registry match next (coming from prev, NULL at start). Returns the
 * number of changes, or -1 after logging a tool libmcp refused. */
static int sync_tools(const mcpd_gen *prev, const mcpd_gen *next)
{
    int changes = 0;
    for (size_t i = 0; prev && i < prev->ntools; i++) {
        const mcpd_tool *n = find_tool(next, prev->tools[i].name);
        if (n && same_def(n, &prev->tools[i])) continue;
        mcp_server_remove_tool(S.server, prev->tools[i].name);
        changes++;
    }
    for (size_t i = 0; i < next->ntools; i++) {
        const mcpd_tool *t = &next->tools[i], *p = find_tool(prev, t->name);
        if (p && same_def(p, t)) continue;
        mcp_tool_def d = {.name = t->name,
                          .title = t->title,
                          .description = t->description,
                          .input_schema = t->input_schema,
                          .output_schema = t->output_schema,
                          .annotations = t->annotations,
                          .handler = on_tool_call,
                          .flags = t->mcp_flags,
                          /* a backstop: mcpd's guard answers at timeout_ms and stops the work;
                           * libmcp answers for it only if a kind never ends its call */
                          .timeout_ms = t->timeout_ms + BACKSTOP_MS};
        char err[256];
        if (mcp_server_add_tool(S.server, &d, err, sizeof err) != 0) {
            fprintf(stderr, "mcpd: error: %s (%s): %s\n", t->name, t->pointer, err);
            return -1;
        }
        changes++;
    }
    return changes;
}

static void reload_run(uv_work_t *w)
{
    fprintf(stderr, "mcpd: info: SIGHUP: reloading %s\n", S.path ? S.path : "the default config");
    mcpd_gen *g = load_gen(S.path, S.server, true, stderr, "mcpd: error: ");
    if (g && S.needs_auth && g->cfg->ntokens == 0) {
        fprintf(stderr,
                "mcpd: error: %s: the new config has no auth tokens, but mcpd serves a "
                "non-loopback address\n",
                g->cfg->path);
        mcpd_gen_unref(g);
        g = NULL;
    }
    char err[256];
    if (g && mcp_server_set_alert_rules(S.server, g->cfg->http.alert_rules,
                                        g->cfg->http.n_alert_rules, err, sizeof err) != 0) {
        fprintf(stderr, "mcpd: error: %s: http.alerts: %s\n", g->cfg->path, err);
        mcpd_gen_unref(g);
        g = NULL;
    }
    S.reload_ok = g != NULL;
    mcpd_count_reload(g != NULL);
    if (!g) {
        fprintf(stderr, "mcpd: error: reload failed, keeping the current config\n");
        return;
    }
    atomic_fetch_add(&g->refs, 1); /* ours until the log line below: serving may end meanwhile */
    pthread_mutex_lock(&S.mu);
    mcpd_gen *old = S.current;
    S.current = g;
    pthread_mutex_unlock(&S.mu);
    int changes = sync_tools(old, g);
    content_activate(g, S.server);
    gen_probes(old, false);
    gen_probes(g, true);
    mcp_server_list_changed(S.server, MCP_LIST_TOOLS);
    fprintf(stderr, "mcpd: info: reloaded %s: %zu tools, %d registrations changed\n", g->cfg->path,
            g->ntools, changes);
    mcpd_gen_unref(old);
    mcpd_gen_unref(g);
}

static void on_hup(uv_signal_t *h, int sig);

static void reload_done(uv_work_t *w, int status)
{
    S.reloading = false;
    if (S.reload_again) {
        S.reload_again = false;
        on_hup(&S.hup, SIGHUP);
    }
}

static void on_hup(uv_signal_t *h, int sig)
{
    mcp_http_reopen_access_log(NULL); /* rotation: quick (an open and a dup2), any thread */
    if (S.reloading) {
        S.reload_again = true;
        return;
    }
    S.reloading = true;
    uv_queue_work(h->loop, &S.reload_work, reload_run, reload_done);
}

static void loop_started(uv_loop_t *loop, void *ud)
{
    uv_signal_init(loop, &S.hup);
    uv_signal_start(&S.hup, on_hup, SIGHUP);
}

static void loop_stopping(uv_loop_t *loop, void *ud)
{
    uv_signal_stop(&S.hup);
    uv_close((uv_handle_t *)&S.hup, NULL);
}

/* The principal for the access log: mcpd's principals are their token names (auth.c). */
static const char *principal_name(void *ud, const void *principal)
{
    return principal;
}

/* Serves HTTP with options copied out of c, whose generation a reload may free. */
static int serve_http(const mcpd_config *c, const mcpd_serve_options *o)
{
    const char *admin_listen = o->admin_listen;
    mcp_http_options h = c->http;
    char admin_host[256];
    if (admin_listen) { /* checked by mcpd_serve */
        mcp_parse_hostport(admin_listen, admin_host, sizeof admin_host, &h.admin_port);
        h.admin_host = admin_host;
    }
    char host[sizeof c->host];
    char *origins[32] = {0}, *hosts[32] = {0};
    memcpy(host, c->host, sizeof host);
    h.host = host;
    h.port = c->port;
    char *path = dup_or_null(c->http.path);
    h.path = path;
    for (size_t i = 0; i < h.n_allowed_origins; i++) origins[i] = dup_or_null(c->origins[i]);
    for (size_t i = 0; i < h.n_allowed_hosts; i++) hosts[i] = dup_or_null(c->hosts[i]);
    h.allowed_origins = (const char *const *)origins;
    h.allowed_hosts = (const char *const *)hosts;
    h.auth = mcpd_auth_check;
    char *alog = dup_or_null(o->access_log ? o->access_log : c->access_log);
    char *afmt = dup_or_null(o->access_log_format ? o->access_log_format : c->access_log_format);
    h.access_log = alog;
    h.access_log_format = afmt;
    h.principal_name = principal_name;
    int rc = mcp_serve_http(S.server, &h);
    free(alog);
    free(afmt);
    /* exit status: 0 served, 2 the address is already served by another process, 1 otherwise */
    rc = rc == MCP_SERVE_OK ? 0 : rc == MCP_SERVE_ADDRINUSE ? 2 : 1;
    for (size_t i = 0; i < 32; i++) free(origins[i]), free(hosts[i]);
    free(path);
    return rc;
}

int mcpd_serve(const mcpd_serve_options *o)
{
    S.path = o->config_path;
    mcpd_gen *g = load_gen(o->config_path, NULL, false, stderr, "mcpd: error: ");
    if (!g) return 2;
    mcpd_config *c = g->cfg;
    bool stdio = o->stdio || (c->stdio && !o->listen);
    char ah[256];
    int ap;
    if (o->admin_listen && mcp_parse_hostport(o->admin_listen, ah, sizeof ah, &ap)) {
        fprintf(stderr, "mcpd: --admin-listen: expected HOST:PORT, got \"%s\"\n", o->admin_listen);
        mcpd_gen_unref(g);
        return 2;
    }
    if (o->listen && mcp_parse_hostport(o->listen, c->host, sizeof c->host, &c->port)) {
        fprintf(stderr, "mcpd: --listen: expected HOST:PORT, got \"%s\"\n", o->listen);
        mcpd_gen_unref(g);
        return 2;
    }
    if (!stdio && !mcpd_host_is_loopback(c->host) && c->ntokens == 0 && !o->insecure_no_auth) {
        fprintf(stderr,
                "mcpd: refusing to serve %s:%d without auth: anyone who can reach it could "
                "call every tool. Add \"auth\": {\"tokens\": [...]} to the config, listen on "
                "a loopback address, or pass --insecure-no-auth\n",
                c->host, c->port);
        mcpd_gen_unref(g);
        return 2;
    }
    const char *alog = o->access_log ? o->access_log : c->access_log;
    if (!stdio && alog && strcmp(alog, "-")) {
        /* a log that cannot be opened is a mistake in the flags or config: said here, exit 2 */
        int fd = open(alog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            fprintf(stderr, "mcpd: access log %s: cannot open: %s\n", alog, strerror(errno));
            mcpd_gen_unref(g);
            return 2;
        }
        close(fd);
    }
    S.needs_auth = !stdio && !mcpd_host_is_loopback(c->host) && !o->insecure_no_auth;
    S.server = mcp_server_new(&c->info);
    if (c->page_size) mcp_server_set_page_size(S.server, c->page_size);
    mcp_server_set_item_filter(S.server, mcpd_item_allowed, NULL);
    mcp_server_set_principal_id(S.server, mcpd_principal_id, NULL);
    mcp_metrics_collector(S.server, collect, NULL);
    mcpd_guard_set_max_children(c->max_children);
    if (mcpd_loop_start(loop_started, NULL) != 0) {
        fprintf(stderr, "mcpd: cannot start the event loop thread\n");
        mcp_server_free(S.server);
        mcpd_gen_unref(g);
        return 1;
    }
    S.current = g;
    int rc = sync_tools(NULL, g) < 0 || content_activate(g, S.server) ? 2 : 0;
    gen_probes(g, true);
    if (rc == 0) {
        fprintf(stderr, "mcpd: info: serving %s: %zu tools\n", c->path, g->ntools);
        if (stdio) {
            rc = mcp_serve_stdio(S.server, NULL) ? 1 : 0;
        } else {
            rc = serve_http(c, o);
        }
    }
    /* probes first: an exec probe needs the loop to report; a reload from now on starts none */
    pthread_mutex_lock(&S.mu);
    g = S.current;
    atomic_fetch_add(&g->refs, 1);
    pthread_mutex_unlock(&S.mu);
    gen_probes(g, false);
    mcpd_guard_health_free();
    mcpd_gen_unref(g);
    mcpd_loop_stop(loop_stopping, NULL); /* waits for a reload in progress and every call */
    pthread_mutex_lock(&S.mu);
    g = S.current;
    S.current = NULL;
    pthread_mutex_unlock(&S.mu);
    gen_probes(g, false);
    mcpd_gen_unref(g);
    mcp_server_free(S.server);
    mcpd_auth_free_names();
    return rc;
}
