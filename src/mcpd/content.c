/* content.c - the config sections "resources" and "prompts" (see content.h).
 *
 * Reading a section is checking it: every key is looked up with its expected type and range,
 * keys that are not known are refused with the list of those that are, and every mistake is
 * recorded at its JSON Pointer so that the core can say FILE:LINE:COLUMN. The schemas below
 * say the same for the config's JSON Schema (the core may check them first; this code does not
 * rely on it). Only when the whole section is right is anything registered. */
#include "content.h"

#include "mime.h"
#include "prompt.h"
#include "resdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_TEMPLATE_FILE (256u << 10)

const char mcpd_resources_schema[] =
    "{\"type\":\"array\",\"maxItems\":256,\"items\":{\"type\":\"object\","
    "\"required\":[\"name\",\"path\"],\"additionalProperties\":false,\"properties\":{"
    "\"name\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_.-]{1,64}$\"},"
    "\"path\":{\"type\":\"string\",\"minLength\":1},"
    "\"uri_prefix\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z][A-Za-z0-9+.-]*:[^\\\\s{}?#]*/$\"},"
    "\"description\":{\"type\":\"string\"},"
    "\"max_file_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864},"
    "\"max_files\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100000},"
    "\"max_depth\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":64},"
    "\"include_hidden\":{\"type\":\"boolean\"},\"watch\":{\"type\":\"boolean\"},"
    "\"template\":{\"type\":\"boolean\"},"
    "\"mime\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}}}}";

const char mcpd_prompts_schema[] =
    "{\"type\":\"array\",\"maxItems\":1024,\"items\":{\"type\":\"object\","
    "\"required\":[\"name\"],\"additionalProperties\":false,"
    "\"oneOf\":[{\"required\":[\"file\"]},{\"required\":[\"text\"]}],\"properties\":{"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128},"
    "\"title\":{\"type\":\"string\"},\"description\":{\"type\":\"string\"},"
    "\"file\":{\"type\":\"string\",\"minLength\":1},\"text\":{\"type\":\"string\"},"
    "\"max_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":16777216},"
    "\"arguments\":{\"type\":\"array\",\"maxItems\":64,\"items\":{\"type\":\"object\","
    "\"required\":[\"name\"],\"additionalProperties\":false,\"properties\":{"
    "\"name\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_.-]{1,64}$\"},"
    "\"title\":{\"type\":\"string\"},\"description\":{\"type\":\"string\"},"
    "\"required\":{\"type\":\"boolean\"},"
    "\"completions\":{\"type\":\"array\",\"maxItems\":10000,\"items\":{\"type\":\"string\"}}}}}"
    "}}}";

/* ---- reading values ----------------------------------------------------------------------- */

typedef struct {
    mcpd_errs *errs;
    const char *ptr; /* the object's pointer */
    size_t before;   /* errors before this object */
} reader;

static void sub(char *out, size_t size, const char *ptr, const char *key)
{
    snprintf(out, size, "%s/%s", ptr, key);
}

/* Refuses keys of obj not in known (NULL-terminated). */
static void only_keys(reader *r, const mcp_json *obj, const char *const *known)
{
    for (size_t i = 0; i < mcp_json_len(obj); i++) {
        const char *k;
        mcp_json_member(obj, i, &k, NULL);
        bool ok = false;
        for (const char *const *q = known; *q && !ok; q++) ok = !strcmp(*q, k);
        if (ok) continue;
        char list[400], p[300];
        size_t o = 0;
        for (const char *const *q = known; *q && o + 40 < sizeof list; q++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", q == known ? "" : ", ", *q);
        sub(p, sizeof p, r->ptr, k);
        mcpd_err(r->errs, p, "unknown key '%.60s' (expected one of: %s)", k, list);
    }
}

static const char *str_at(reader *r, const mcp_json *obj, const char *key, bool required)
{
    const mcp_json *v = mcp_json_get(obj, key);
    char p[300];
    sub(p, sizeof p, r->ptr, key);
    if (!v) {
        if (required) mcpd_err(r->errs, r->ptr, "missing required key '%s'", key);
        return NULL;
    }
    size_t len = 0;
    const char *s = mcp_json_str(v, &len);
    if (!s) {
        mcpd_err(r->errs, p, "expected a string, got %s", mcp_json_type_name(v));
        return NULL;
    }
    if (strlen(s) != len) {
        mcpd_err(r->errs, p, "the string contains a NUL character");
        return NULL;
    }
    if (required && !len) mcpd_err(r->errs, p, "expected a non-empty string");
    return s;
}

static int64_t int_at(reader *r, const mcp_json *obj, const char *key, int64_t lo, int64_t hi)
{
    const mcp_json *v = mcp_json_get(obj, key);
    int64_t n = 0;
    if (!v) return 0;
    char p[300];
    sub(p, sizeof p, r->ptr, key);
    if (!mcp_json_int(v, &n)) {
        mcpd_err(r->errs, p, "expected an integer, got %s", mcp_json_type_name(v));
        return 0;
    }
    if (n < lo || n > hi) {
        mcpd_err(r->errs, p, "expected an integer from %lld to %lld, got %lld", (long long)lo,
                 (long long)hi, (long long)n);
        return 0;
    }
    return n;
}

static bool bool_at(reader *r, const mcp_json *obj, const char *key, bool dflt)
{
    const mcp_json *v = mcp_json_get(obj, key);
    bool b = dflt;
    if (v && !mcp_json_bool(v, &b)) {
        char p[300];
        sub(p, sizeof p, r->ptr, key);
        mcpd_err(r->errs, p, "expected true or false, got %s", mcp_json_type_name(v));
    }
    return b;
}

static bool is_array(mcpd_errs *errs, const mcp_json *v, const char *ptr)
{
    if (mcp_json_typeof(v) == MCP_JSON_ARRAY) return true;
    mcpd_err(errs, ptr, "expected an array, got %s", mcp_json_type_name(v));
    return false;
}

static bool is_object(mcpd_errs *errs, const mcp_json *v, const char *ptr)
{
    if (mcp_json_typeof(v) == MCP_JSON_OBJECT) return true;
    mcpd_err(errs, ptr, "expected an object, got %s", mcp_json_type_name(v));
    return false;
}

/* path, or config_dir/path when relative. Caller frees. */
static char *resolve(const mcpd_env *env, const char *path)
{
    const char *dir = env->config_dir && *env->config_dir ? env->config_dir : ".";
    size_t n = strlen(dir) + strlen(path) + 2;
    char *out = malloc(n);
    if (!out) abort();
    if (path[0] == '/')
        snprintf(out, n, "%s", path);
    else
        snprintf(out, n, "%s/%s", dir, path);
    return out;
}

/* ---- resources ---------------------------------------------------------------------------- */

typedef struct {
    resdir **dirs;
    size_t n;
} resources;

void mcpd_resources_activate(void *inst)
{
    resources *r = inst;
    for (size_t i = 0; r && i < r->n; i++) resdir_activate(r->dirs[i]);
}

void mcpd_resources_free(void *inst)
{
    resources *r = inst;
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) resdir_free(r->dirs[i]);
    free(r->dirs);
    free(r);
}

/* Reads entry i into cfg (strings point into the JSON, mime into *mime, root malloc'd). */
static void read_resdir(const mcpd_env *env, const mcp_json *e, reader *r, resdir_config *cfg,
                        resdir_mime **mime)
{
    static const char *const keys[] = {
        "name",      "path",           "uri_prefix", "description", "max_file_bytes", "max_files",
        "max_depth", "include_hidden", "watch",      "template",    "mime",           "optional",
        NULL};
    only_keys(r, e, keys);
    const char *path = str_at(r, e, "path", true);
    *cfg = (resdir_config){
        .name = str_at(r, e, "name", true),
        .root = path && *path ? resolve(env, path) : NULL,
        .uri_prefix = str_at(r, e, "uri_prefix", false),
        .description = str_at(r, e, "description", false),
        .max_file_bytes = (size_t)int_at(r, e, "max_file_bytes", 1, 64 << 20),
        .max_files = (size_t)int_at(r, e, "max_files", 1, 100000),
        .max_depth = mcp_json_get(e, "max_depth") ? (int)int_at(r, e, "max_depth", 0, 64) : -1,
        .include_hidden = bool_at(r, e, "include_hidden", false),
        .watch = bool_at(r, e, "watch", true),
        .template_ = bool_at(r, e, "template", true),
    };
    const mcp_json *m = mcp_json_get(e, "mime");
    char p[300];
    sub(p, sizeof p, r->ptr, "mime");
    if (!m || !is_object(r->errs, m, p)) return;
    *mime = calloc(mcp_json_len(m) + 1, sizeof(**mime));
    if (!*mime) abort();
    for (size_t i = 0; i < mcp_json_len(m); i++) {
        const char *k, *t = mcp_json_str(mcp_json_member(m, i, &k, NULL), NULL);
        if (!t) {
            char q[400];
            snprintf(q, sizeof q, "%s/%s", p, k);
            mcpd_err(r->errs, q, "expected a MIME type string such as \"text/plain\"");
            continue;
        }
        (*mime)[cfg->nmime++] = (resdir_mime){k, t};
    }
    cfg->mime = *mime;
}

int mcpd_resources_configure(const mcpd_env *env, const mcp_json *section, const char *pointer,
                             mcpd_errs *errs, void **inst)
{
    *inst = NULL;
    if (!is_array(errs, section, pointer)) return -1;
    size_t n = mcp_json_len(section), before = mcpd_err_count(errs);
    resources *res = calloc(1, sizeof *res);
    if (!res || !(res->dirs = calloc(n + 1, sizeof(*res->dirs)))) abort();
    for (size_t i = 0; i < n; i++) {
        char ptr[200];
        snprintf(ptr, sizeof ptr, "%s/%zu", pointer, i);
        const mcp_json *e = mcp_json_at(section, i);
        if (!is_object(errs, e, ptr)) continue;
        reader r = {errs, ptr, mcpd_err_count(errs)};
        resdir_config cfg;
        resdir_mime *mime = NULL;
        read_resdir(env, e, &r, &cfg, &mime);
        bool optional = bool_at(&r, e, "optional", false);
        if (mcpd_err_count(errs) == r.before) {
            char err[400], p[300];
            struct stat st;
            sub(p, sizeof p, ptr, "path");
            if (stat(cfg.root, &st) && errno == ENOENT && optional)
                fprintf(stderr, "mcpd: warning: %s: %s does not exist: not served (optional)\n",
                        ptr, cfg.root);
            else if (stat(cfg.root, &st))
                mcpd_err(errs, p, "expected a directory: %s: %s", cfg.root, strerror(errno));
            else if (!S_ISDIR(st.st_mode))
                mcpd_err(errs, p, "expected a directory: %s is not one", cfg.root);
            else if (!(res->dirs[res->n] = resdir_new(env->server, &cfg, err, sizeof err))) {
                mcpd_err(errs, ptr, "%s", err);
            } else {
                res->n++;
            }
        }
        free((char *)cfg.root);
        free(mime);
    }
    if (mcpd_err_count(errs) != before) {
        mcpd_resources_free(res);
        return -1;
    }
    *inst = res;
    return 0;
}

/* ---- prompts ------------------------------------------------------------------------------ */

typedef struct {
    prompt **items;
    size_t n;
} prompts;

int mcpd_prompts_activate(void *inst, mcpd_errs *errs)
{
    prompts *p = inst;
    int rc = 0;
    for (size_t i = 0; p && i < p->n; i++) {
        char err[300];
        if (prompt_activate(p->items[i], err, sizeof err)) {
            mcpd_err(errs, NULL, "prompt %zu: %s", i, err);
            rc = -1;
        }
    }
    return rc;
}

void mcpd_prompts_free(void *inst)
{
    prompts *p = inst;
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) prompt_free(p->items[i]);
    free(p->items);
    free(p);
}

/* Reads the template file into a malloc'd string; NULL after recording why. */
static char *read_template(const mcpd_env *env, const char *file, const char *ptr, mcpd_errs *errs,
                           size_t *len)
{
    char *path = resolve(env, file), p[300];
    sub(p, sizeof p, ptr, "file");
    FILE *f = fopen(path, "rb");
    if (!f) {
        mcpd_err(errs, p, "cannot open the template %s: %s", path, strerror(errno));
        free(path);
        return NULL;
    }
    char *buf = malloc(MAX_TEMPLATE_FILE + 1);
    if (!buf) abort();
    *len = fread(buf, 1, MAX_TEMPLATE_FILE + 1, f);
    fclose(f);
    if (*len > MAX_TEMPLATE_FILE)
        mcpd_err(errs, p, "the template %s is larger than %u bytes", path, MAX_TEMPLATE_FILE);
    else if (!mime_utf8_text(buf, *len))
        mcpd_err(errs, p, "the template %s is not UTF-8 text", path);
    else {
        buf[*len] = '\0';
        free(path);
        return buf;
    }
    free(path);
    free(buf);
    return NULL;
}

/* Reads arguments into a new array (*nargs); completions point into the JSON. */
static prompt_arg_cfg *read_args(reader *r, const mcp_json *arr, size_t *nargs)
{
    char ptr[300];
    sub(ptr, sizeof ptr, r->ptr, "arguments");
    *nargs = 0;
    if (!arr || !is_array(r->errs, arr, ptr)) return NULL;
    size_t n = mcp_json_len(arr);
    prompt_arg_cfg *args = calloc(n + 1, sizeof(*args));
    if (!args) abort();
    for (size_t i = 0; i < n; i++) {
        static const char *const keys[] = {"name",     "title",       "description",
                                           "required", "completions", NULL};
        char ap[360];
        snprintf(ap, sizeof ap, "%s/%zu", ptr, i);
        const mcp_json *a = mcp_json_at(arr, i);
        if (!is_object(r->errs, a, ap)) continue;
        reader ar = {r->errs, ap, 0};
        only_keys(&ar, a, keys);
        prompt_arg_cfg *c = &args[(*nargs)++];
        *c = (prompt_arg_cfg){str_at(&ar, a, "name", true),
                              str_at(&ar, a, "title", false),
                              str_at(&ar, a, "description", false),
                              bool_at(&ar, a, "required", false),
                              NULL,
                              0};
        const mcp_json *comp = mcp_json_get(a, "completions");
        char cp[380];
        sub(cp, sizeof cp, ap, "completions");
        if (!comp || !is_array(r->errs, comp, cp)) continue;
        const char **vals = calloc(mcp_json_len(comp) + 1, sizeof(*vals));
        if (!vals) abort();
        for (size_t k = 0; k < mcp_json_len(comp); k++) {
            const char *v = mcp_json_str(mcp_json_at(comp, k), NULL);
            if (v) {
                vals[c->ncompletions++] = v;
            } else {
                char vp[420];
                snprintf(vp, sizeof vp, "%s/%zu", cp, k);
                mcpd_err(r->errs, vp, "expected a string");
            }
        }
        c->completions = vals;
    }
    return args;
}

static void free_args(prompt_arg_cfg *args, size_t n)
{
    for (size_t i = 0; i < n; i++) free((char **)args[i].completions);
    free(args);
}

/* Configures entry e; returns the prompt or NULL after recording mistakes. */
static prompt *read_prompt(const mcpd_env *env, const mcp_json *e, const char *ptr, mcpd_errs *errs)
{
    static const char *const keys[] = {"name", "title",     "description", "file",
                                       "text", "arguments", "max_bytes",   NULL};
    reader r = {errs, ptr, mcpd_err_count(errs)};
    only_keys(&r, e, keys);
    prompt_cfg cfg = {.name = str_at(&r, e, "name", true),
                      .title = str_at(&r, e, "title", false),
                      .description = str_at(&r, e, "description", false),
                      .max_bytes = (size_t)int_at(&r, e, "max_bytes", 1, 16 << 20)};
    const char *file = str_at(&r, e, "file", false), *text = str_at(&r, e, "text", false);
    if (!mcp_json_get(e, "file") == !mcp_json_get(e, "text"))
        mcpd_err(errs, ptr, "expected exactly one of 'file' (a template file) or 'text'");
    cfg.args = read_args(&r, mcp_json_get(e, "arguments"), &cfg.nargs);
    char *owned = NULL;
    if (file && *file) owned = read_template(env, file, ptr, errs, &cfg.len);
    cfg.text = owned ? owned : text;
    if (!owned && text) cfg.len = strlen(text);
    prompt *p = NULL;
    if (mcpd_err_count(errs) == r.before) {
        char err[400], where[300];
        p = prompt_new(env->server, &cfg, err, sizeof err);
        if (!p && err[0] >= '0' && err[0] <= '9') { /* a template mistake: LINE:COLUMN first */
            sub(where, sizeof where, ptr, file ? "file" : "text");
            mcpd_err(errs, where, "%s%s%s", file ? file : "template", ":", err);
        } else if (!p) {
            mcpd_err(errs, ptr, "%s", err);
        }
    }
    free(owned);
    free_args((prompt_arg_cfg *)cfg.args, cfg.nargs);
    return p;
}

int mcpd_prompts_configure(const mcpd_env *env, const mcp_json *section, const char *pointer,
                           mcpd_errs *errs, void **inst)
{
    *inst = NULL;
    if (!is_array(errs, section, pointer)) return -1;
    size_t n = mcp_json_len(section), before = mcpd_err_count(errs);
    prompts *ps = calloc(1, sizeof *ps);
    if (!ps || !(ps->items = calloc(n + 1, sizeof(*ps->items)))) abort();
    for (size_t i = 0; i < n; i++) {
        char ptr[200];
        snprintf(ptr, sizeof ptr, "%s/%zu", pointer, i);
        const mcp_json *e = mcp_json_at(section, i);
        if (!is_object(errs, e, ptr)) continue;
        for (size_t j = 0; j < i; j++) {
            const char *a = mcp_json_str(mcp_json_get(e, "name"), NULL);
            const char *b = mcp_json_str(mcp_json_get(mcp_json_at(section, j), "name"), NULL);
            if (a && b && !strcmp(a, b)) {
                char p[220];
                sub(p, sizeof p, ptr, "name");
                mcpd_err(errs, p, "the prompt '%.100s' is already defined at %s/%zu", a, pointer,
                         j);
            }
        }
        if (mcpd_err_count(errs) != before) continue;
        prompt *p = read_prompt(env, e, ptr, errs);
        if (p) ps->items[ps->n++] = p;
    }
    if (mcpd_err_count(errs) != before) {
        mcpd_prompts_free(ps);
        return -1;
    }
    *inst = ps;
    return 0;
}
