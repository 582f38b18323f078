/* config.c - reads mcpd's config file and explains every mistake in it.
 *
 * A load goes: read the file (at most 16 MiB) -> parse it as relaxed JSON (comments, trailing
 * commas; a syntax error stops here with its line and column) -> substitute ${NAME} in every
 * string value from the environment (a missing variable is a mistake at that string; the
 * substituted document is written out and parsed again, so the rest of mcpd sees plain
 * values) -> validate against the schema shipped in the binary (config.schema.json) -> read
 * the settings. Every mistake is kept as a JSON Pointer and a message and located in the
 * original text only when printed (mcp_json_locate), so kinds report mistakes the same way
 * (mcpd_err) without knowing about text. An unknown key gets a "did you mean" when a known
 * key is within two edits of it. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_CONFIG_BYTES (16u << 20)
#define MAX_ERRS         200

/* ---- mistakes ---------------------------------------------------------------------------- */
typedef struct err_entry {
    char *pointer;
    char *msg;
    unsigned line, col; /* set when the position is known without a pointer (syntax errors) */
} err_entry;

struct mcpd_errs {
    err_entry *e;
    size_t n, cap;
    size_t dropped;
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) abort();
    return d;
}

mcpd_errs *mcpd_errs_new(void)
{
    mcpd_errs *e = calloc(1, sizeof *e);
    if (!e) abort();
    return e;
}

void mcpd_errs_free(mcpd_errs *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->n; i++) free(e->e[i].pointer), free(e->e[i].msg);
    free(e->e);
    free(e);
}

static err_entry *add_err(mcpd_errs *e, const char *pointer, const char *msg)
{
    if (e->n == MAX_ERRS) {
        e->dropped++;
        return NULL;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->e = realloc(e->e, e->cap * sizeof *e->e);
        if (!e->e) abort();
    }
    err_entry *x = &e->e[e->n++];
    *x = (err_entry){.pointer = xstrdup(pointer), .msg = xstrdup(msg)};
    return x;
}

void mcpd_verr(mcpd_errs *e, const char *pointer, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    add_err(e, pointer, msg);
}

void mcpd_err(mcpd_errs *e, const char *pointer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mcpd_verr(e, pointer, fmt, ap);
    va_end(ap);
}

size_t mcpd_err_count(const mcpd_errs *e)
{
    return e->n + e->dropped;
}

bool mcpd_errs_under(const mcpd_errs *e, const char *pointer)
{
    size_t n = strlen(pointer);
    for (size_t i = 0; i < e->n; i++)
        if (!strncmp(e->e[i].pointer, pointer, n) &&
            (e->e[i].pointer[n] == '\0' || e->e[i].pointer[n] == '/'))
            return true;
    return false;
}
const char *mcpd_errs_message(const mcpd_errs *e, size_t i)
{
    return i < e->n ? e->e[i].msg : NULL;
}
const char *mcpd_errs_pointer(const mcpd_errs *e, size_t i)
{
    return i < e->n ? e->e[i].pointer : NULL;
}

/* Writes s with its control characters escaped (\n, \r, \t, \xHH), so that a key or value of
 * the file quoted in a mistake cannot break its one line (or forge another in the log). */
static void put_line_safe(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != 0x7f)
            fputc(c, out);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c == '\t')
            fputs("\\t", out);
        else
            fprintf(out, "\\x%02x", c);
    }
}

void mcpd_errs_print(const mcpd_errs *e, FILE *out, const char *prefix, const char *file,
                     const char *text, size_t len)
{
    if (!prefix) prefix = "";
    for (size_t i = 0; i < e->n; i++) {
        const err_entry *x = &e->e[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(e->e[j].pointer, x->pointer) && !strcmp(e->e[j].msg, x->msg);
        if (seen) continue;
        mcp_json_error pos = {.line = x->line, .column = x->col};
        bool located = pos.line > 0 ||
                       (text && mcp_json_locate(text, len, MCP_JSON_RELAXED, x->pointer, &pos));
        if (located)
            fprintf(out, "%s%s:%u:%u: ", prefix, file, pos.line, pos.column);
        else
            fprintf(out, "%s%s: ", prefix, file);
        if (x->pointer[0]) {
            put_line_safe(out, x->pointer);
            fputs(": ", out);
        }
        put_line_safe(out, x->msg);
        fputc('\n', out);
    }
    if (e->dropped) fprintf(out, "%s%s: %zu more mistakes not shown\n", prefix, file, e->dropped);
}

/* ---- suggestions ------------------------------------------------------------------------- */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

const char *mcpd_suggest(const char *word, const mcp_json *obj)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; i < mcp_json_len(obj); i++) {
        const char *k;
        mcp_json_member(obj, i, &k, NULL);
        size_t d = edit_distance(word, k), lw = strlen(word), lk = strlen(k);
        if (d > 2 && lw >= 4 && lk >= 4 && !strncasecmp(word, k, lw < lk ? lw : lk))
            d = 2; /* "readOnly" for "readOnlyHint" */
        if (d < bestd) bestd = d, best = k;
    }
    return best;
}

/* ---- ${ENV} substitution ----------------------------------------------------------------- */
typedef struct subst {
    mcp_jw *w;
    mcpd_errs *errs;
    char ptr[1024];
} subst;

/* Writes s with ${NAME}, ${NAME:-default} and $${ replaced; records a mistake at the current
 * pointer for a missing variable or a malformed reference. */
static void subst_string(subst *st, const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    size_t cap = len + 1;
    if (!out) abort();
    for (size_t i = 0; i < len;) {
        const char *piece = s + i;
        size_t plen = 1, adv = 1;
        if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            piece = "${", plen = 2, adv = 3;
        } else if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            const char *close = memchr(s + i, '}', len - i);
            size_t n = 0;
            while (i + 2 + n < len &&
                   (s[i + 2 + n] == '_' || (s[i + 2 + n] >= 'A' && s[i + 2 + n] <= 'Z') ||
                    (s[i + 2 + n] >= 'a' && s[i + 2 + n] <= 'z') ||
                    (n > 0 && s[i + 2 + n] >= '0' && s[i + 2 + n] <= '9')))
                n++;
            const char *after = s + i + 2 + n;
            bool dflt = after + 1 < s + len && after[0] == ':' && after[1] == '-';
            if (!close || n == 0 || n > 255 || (!dflt && after != close)) {
                mcpd_err(st->errs, st->ptr,
                         "malformed environment reference: expected ${NAME} or "
                         "${NAME:-default} with NAME of letters, digits and '_' (write $${ "
                         "for a literal ${)");
                break;
            }
            char name[256];
            memcpy(name, s + i + 2, n);
            name[n] = '\0';
            const char *val = getenv(name);
            if (!val && dflt) {
                val = after + 2;
                plen = (size_t)(close - val);
            } else if (!val) {
                mcpd_err(st->errs, st->ptr,
                         "environment variable %s is not set (write ${%s:-default} for a "
                         "default)",
                         name, name);
                break;
            } else {
                plen = strlen(val);
            }
            piece = val;
            adv = (size_t)(close - (s + i)) + 1;
        }
        while ((size_t)(o - out) + plen + 1 > cap) {
            size_t used = (size_t)(o - out);
            cap *= 2;
            out = realloc(out, cap);
            if (!out) abort();
            o = out + used;
        }
        memcpy(o, piece, plen);
        o += plen;
        i += adv;
    }
    mcp_jw_stringn(st->w, out, (size_t)(o - out));
    free(out);
}

/* Appends "/token" (escaped per RFC 6901) to st->ptr; returns the old length to restore. */
static size_t push_ptr(subst *st, const char *tok, size_t n)
{
    size_t l = strlen(st->ptr), o = l;
    if (o + 1 < sizeof st->ptr) st->ptr[o++] = '/';
    for (size_t i = 0; i < n && o + 2 < sizeof st->ptr; i++) {
        if (tok[i] == '~' || tok[i] == '/') {
            st->ptr[o++] = '~';
            st->ptr[o++] = tok[i] == '~' ? '0' : '1';
        } else {
            st->ptr[o++] = tok[i];
        }
    }
    st->ptr[o] = '\0';
    return l;
}

static void subst_value(subst *st, const mcp_json *v)
{
    size_t n = mcp_json_len(v), len, l;
    char idx[24];
    switch (mcp_json_typeof(v)) {
    case MCP_JSON_STRING: {
        const char *s = mcp_json_str(v, &len);
        if (memchr(s, '$', len))
            subst_string(st, s, len);
        else
            mcp_jw_stringn(st->w, s, len);
        break;
    }
    case MCP_JSON_ARRAY:
        mcp_jw_array(st->w);
        for (size_t i = 0; i < n; i++) {
            l = push_ptr(st, idx, (size_t)snprintf(idx, sizeof idx, "%zu", i));
            subst_value(st, mcp_json_at(v, i));
            st->ptr[l] = '\0';
        }
        mcp_jw_array_end(st->w);
        break;
    case MCP_JSON_OBJECT:
        mcp_jw_object(st->w);
        for (size_t i = 0; i < n; i++) {
            const char *k;
            size_t kl;
            const mcp_json *m = mcp_json_member(v, i, &k, &kl);
            mcp_jw_keyn(st->w, k, kl);
            l = push_ptr(st, k, kl);
            subst_value(st, m);
            st->ptr[l] = '\0';
        }
        mcp_jw_object_end(st->w);
        break;
    default:
        mcp_jw_value(st->w, v);
    }
}

/* ---- schema validation ------------------------------------------------------------------- */
typedef struct vstate {
    mcpd_errs *errs;
    const mcp_json *schema_doc;
    const mcp_json *instance;
    const char *prefix; /* prepended to instance paths */
} vstate;

/* The JSON value at pointer in root, or NULL (no ~ escapes needed for schema paths). */
static const mcp_json *at_pointer(const mcp_json *root, const char *p)
{
    char tok[256];
    while (root && *p == '/') {
        const char *e = strchr(p + 1, '/');
        size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);
        if (n >= sizeof tok) return NULL;
        memcpy(tok, p + 1, n);
        tok[n] = '\0';
        if (mcp_json_typeof(root) == MCP_JSON_ARRAY)
            root = mcp_json_at(root, strtoul(tok, NULL, 10));
        else
            root = mcp_json_get(root, tok);
        p += n + 1;
    }
    return root;
}

/* The "properties" object of the schema that holds the keyword at kpath (its parent), following
 * a local $ref, for suggestions. */
static const mcp_json *schema_props(const mcp_json *schema, const char *kpath)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", kpath);
    char *slash = strrchr(buf, '/');
    if (!slash) return NULL;
    *slash = '\0';
    char *ref = strstr(buf, "/$ref");
    const mcp_json *node;
    if (ref) {
        *ref = '\0';
        const char *target = mcp_json_str(mcp_json_get(at_pointer(schema, buf), "$ref"), NULL);
        if (!target || target[0] != '#') return NULL;
        node = at_pointer(at_pointer(schema, target + 1), ref + 5);
    } else {
        node = at_pointer(schema, buf);
    }
    return mcp_json_get(node, "properties");
}

static bool on_schema_error(const mcp_schema_error *e, void *ud)
{
    vstate *vs = ud;
    char ptr[1024];
    snprintf(ptr, sizeof ptr, "%s%s", vs->prefix, e->instance_path);
    const char *q = strstr(e->message, "property \"");
    if (q == e->message && strstr(e->message, "\" is not allowed")) {
        /* point at the unknown key itself, and suggest a known one */
        char key[256];
        const char *start = q + 10, *end = strstr(start, "\" is not allowed");
        size_t n = (size_t)(end - start) < sizeof key - 1 ? (size_t)(end - start) : sizeof key - 1;
        memcpy(key, start, n);
        key[n] = '\0';
        size_t l = strlen(ptr);
        snprintf(ptr + l, sizeof ptr - l, "/%s", key);
        const char *s = mcpd_suggest(key, schema_props(vs->schema_doc, e->keyword_path));
        if (s)
            mcpd_err(vs->errs, ptr, "unknown key \"%s\" (did you mean \"%s\"?)", key, s);
        else
            mcpd_err(vs->errs, ptr, "unknown key \"%s\"", key);
        return true;
    }
    mcpd_err(vs->errs, ptr, "%s", e->message);
    return true;
}

static mcp_schema *config_schema;
static mcp_json_doc *config_schema_doc;

/* The compiled config schema (compiled once; main thread). */
static mcp_schema *get_schema(void)
{
    if (!config_schema) {
        char err[256];
        config_schema =
            mcp_schema_compile(mcpd_config_schema, mcpd_config_schema_len, err, sizeof err);
        config_schema_doc = mcp_json_parse(mcpd_config_schema, mcpd_config_schema_len, 0, NULL);
        if (!config_schema || !config_schema_doc) {
            fprintf(stderr, "mcpd: the built-in config schema does not compile: %s\n", err);
            abort();
        }
    }
    return config_schema;
}

/* ---- settings ---------------------------------------------------------------------------- */
bool mcpd_host_is_loopback(const char *host)
{
    return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

static uint32_t get_u32(const mcp_json *obj, const char *key, uint32_t dflt)
{
    int64_t v;
    return mcp_json_int(mcp_json_get(obj, key), &v) ? (uint32_t)v : dflt;
}

static const char *get_str(const mcp_json *obj, const char *key)
{
    return mcp_json_str(mcp_json_get(obj, key), NULL);
}

/* A lower-case hex digit's value; 0 for anything else (the schema has refused it already, and
 * the settings are read even then, so a bad digit must not make a negative shift). */
static unsigned hexval(char c)
{
    if (c >= '0' && c <= '9') return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f') return (unsigned)(c - 'a' + 10);
    return 0;
}

/* http.alerts: the performance monitor's rules (docs/overload.md), with what the schema cannot
 * say checked here, located: names unique, clear <= raise, a window of at most an hour. */
static void read_alerts(mcpd_config *c, const mcp_json *al, mcpd_errs *errs)
{
    if (!al) return; /* absent: the default rules; present, even empty: these */
    for (size_t i = 0; i < mcp_json_len(al) && i < 64; i++) {
        const mcp_json *a = mcp_json_at(al, i);
        mcp_alert_rule *ru = &c->alerts[i];
        ru->name = get_str(a, "name");
        ru->signal = get_str(a, "signal");
        mcp_json_double(mcp_json_get(a, "raise"), &ru->raise);
        mcp_json_double(mcp_json_get(a, "clear"), &ru->clear);
        ru->window_ms = get_u32(a, "window_ms", 0);
        ru->for_ms = get_u32(a, "for_ms", 0);
        c->http.n_alert_rules = i + 1;
        char p[64];
        for (size_t j = 0; ru->name && j < i; j++) {
            if (!c->alerts[j].name || strcmp(c->alerts[j].name, ru->name)) continue;
            snprintf(p, sizeof p, "/http/alerts/%zu/name", i);
            mcpd_err(errs, p, "a rule named \"%s\" is already defined (/http/alerts/%zu)", ru->name,
                     j);
        }
        snprintf(p, sizeof p, "/http/alerts/%zu/clear", i);
        if (ru->clear > ru->raise)
            mcpd_err(errs, p, "must be at most raise (%g), got %g", ru->raise, ru->clear);
        snprintf(p, sizeof p, "/http/alerts/%zu/window_ms", i);
        if (ru->window_ms > 3600000u)
            mcpd_err(errs, p, "at most 3600000 (an hour of evaluations), got %u", ru->window_ms);
    }
    c->http.alert_rules = c->alerts;
}

static void read_tokens(mcpd_config *c, mcpd_errs *errs);

/* "access_log": the path (relative to the config's directory; "-": stderr), whose directory
 * must exist and be writable, and the format. */
static void read_access_log(mcpd_config *c, mcpd_errs *errs)
{
    const mcp_json *al = mcp_json_get(c->root, "access_log");
    const char *path = get_str(al, "path");
    c->access_log_format = get_str(al, "format");
    if (!path || !path[0]) return;
    if (!strcmp(path, "-") || path[0] == '/') {
        c->access_log = xstrdup(path);
        if (path[0] == '-') return;
    } else {
        size_t n = strlen(c->dir) + strlen(path) + 2;
        c->access_log = malloc(n);
        if (!c->access_log) abort();
        snprintf(c->access_log, n, "%s/%s", c->dir, path);
    }
    char *tmp = xstrdup(c->access_log);
    const char *dir = dirname(tmp);
    if (access(dir, W_OK | X_OK))
        mcpd_err(errs, "/access_log/path", "cannot create files in %s: %s", dir, strerror(errno));
    free(tmp);
}

static void read_settings(mcpd_config *c, mcpd_errs *errs)
{
    const mcp_json *r = c->root, *srv = mcp_json_get(r, "server");
    c->info.name = get_str(srv, "name") ? get_str(srv, "name") : "mcpd";
    c->info.version = get_str(srv, "version") ? get_str(srv, "version") : MCP_VERSION;
    c->info.title = get_str(srv, "title");
    c->info.description = get_str(srv, "description");
    c->info.instructions = get_str(srv, "instructions");
    c->info.website_url = get_str(srv, "website_url");
    c->page_size = get_u32(srv, "page_size", 0);
    const char *t = get_str(r, "transport");
    c->stdio = t && !strcmp(t, "stdio");
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 8080;
    const char *listen = get_str(r, "listen");
    if (listen) {
        c->has_listen = true;
        if (mcp_parse_hostport(listen, c->host, sizeof c->host, &c->port))
            mcpd_err(errs, "/listen",
                     "expected HOST:PORT (or [IPv6]:PORT) with PORT in 0..65535, got \"%s\"",
                     listen);
    }
    const mcp_json *h = mcp_json_get(r, "http");
    c->http.path = get_str(h, "path");
    c->http.workers = get_u32(h, "workers", 0);
    c->http.threads = get_u32(h, "threads", 0);
    c->http.queue_max = get_u32(h, "queue_max", 0);
    c->http.max_sessions = get_u32(h, "max_sessions", 0);
    c->http.session_idle_ms = get_u32(h, "session_idle_ms", 0);
    c->http.max_body = get_u32(h, "max_body", 0);
    c->http.drain_ms = get_u32(h, "drain_ms", 0);
    const mcp_json *ao = mcp_json_get(h, "allowed_origins"), *ah = mcp_json_get(h, "allowed_hosts");
    for (size_t i = 0; i < mcp_json_len(ao) && i < 32; i++)
        c->origins[c->http.n_allowed_origins++] = mcp_json_str(mcp_json_at(ao, i), NULL);
    for (size_t i = 0; i < mcp_json_len(ah) && i < 32; i++)
        c->hosts[c->http.n_allowed_hosts++] = mcp_json_str(mcp_json_at(ah, i), NULL);
    c->http.allowed_origins = c->origins;
    c->http.allowed_hosts = c->hosts;
    c->http.queue_target_ms = get_u32(h, "queue_target_ms", 0);
    c->http.client_queue_max = get_u32(h, "client_queue_max", 0);
    read_alerts(c, mcp_json_get(h, "alerts"), errs);
    read_access_log(c, errs);
    const mcp_json *lim = mcp_json_get(r, "limits");
    c->timeout_ms = get_u32(lim, "timeout_ms", 30000);
    c->concurrency = get_u32(lim, "concurrency", 16);
    c->queue_wait_ms = get_u32(lim, "queue_wait_ms", 1000);
    c->max_children = get_u32(lim, "max_children", 64);
    read_tokens(c, errs);
}

/* The URI prefix of the resources entry named name ("uri_prefix", or file:///<name>/ as
 * resdir.c makes it), malloc'd; NULL when no entry has that name. */
static char *mount_prefix(const mcp_json *root, const char *name)
{
    const mcp_json *res = mcp_json_get(root, "resources");
    for (size_t i = 0; i < mcp_json_len(res); i++) {
        const mcp_json *e = mcp_json_at(res, i);
        const char *n = get_str(e, "name");
        if (!n || strcmp(n, name)) continue;
        const char *p = get_str(e, "uri_prefix");
        if (p) return xstrdup(p);
        size_t len = strlen(name) + sizeof "file:////";
        char *d = malloc(len);
        if (!d) abort();
        snprintf(d, len, "file:///%s/", name);
        return d;
    }
    return NULL;
}

/* Appends the "name" of every entry of section (", "-separated) to b[size], for messages. */
static void section_names(const mcp_json *root, const char *section, char *b, size_t size)
{
    const mcp_json *a = mcp_json_get(root, section);
    size_t n = 0;
    b[0] = '\0';
    for (size_t i = 0; i < mcp_json_len(a) && n < size; i++) {
        const char *nm = get_str(mcp_json_at(a, i), "name");
        if (nm) n += (size_t)snprintf(b + n, size - n, "%s%s", n ? ", " : "", nm);
    }
    if (!b[0]) snprintf(b, size, "none");
}

/* A token's "resources" allowlist as URI prefixes: a string with a ':' is one already, any
 * other names a resources entry (its uri_prefix). */
static void read_token_resources(mcpd_config *c, mcpd_token *t, size_t ti, mcpd_errs *errs)
{
    size_t n = mcp_json_len(t->resources);
    t->res_prefixes = n ? calloc(n, sizeof *t->res_prefixes) : NULL;
    for (size_t k = 0; k < n; k++) {
        const char *v = mcp_json_str(mcp_json_at(t->resources, k), NULL);
        if (!v) continue;
        char *p = strchr(v, ':') ? xstrdup(v) : mount_prefix(c->root, v);
        if (p) {
            t->res_prefixes[t->nres++] = p;
            continue;
        }
        char ptr[96], names[512];
        snprintf(ptr, sizeof ptr, "/auth/tokens/%zu/resources/%zu", ti, k);
        section_names(c->root, "resources", names, sizeof names);
        mcpd_err(errs, ptr,
                 "\"%s\" is neither a URI prefix (scheme:...) nor the name of a resources entry "
                 "(named: %s)",
                 v, names);
    }
}

/* A token's "prompts" allowlist: every name must be a prompt of the config. */
static void check_token_prompts(const mcpd_config *c, const mcpd_token *t, size_t ti,
                                mcpd_errs *errs)
{
    const mcp_json *prompts = mcp_json_get(c->root, "prompts");
    for (size_t k = 0; k < mcp_json_len(t->prompts); k++) {
        const char *v = mcp_json_str(mcp_json_at(t->prompts, k), NULL);
        bool found = false;
        for (size_t j = 0; v && !found && j < mcp_json_len(prompts); j++) {
            const char *nm = get_str(mcp_json_at(prompts, j), "name");
            found = nm && !strcmp(nm, v);
        }
        if (found || !v) continue;
        char ptr[96], names[512];
        snprintf(ptr, sizeof ptr, "/auth/tokens/%zu/prompts/%zu", ti, k);
        section_names(c->root, "prompts", names, sizeof names);
        mcpd_err(errs, ptr, "no prompt is named \"%s\" (prompts: %s)", v, names);
    }
}

static void read_tokens(mcpd_config *c, mcpd_errs *errs)
{
    const mcp_json *toks = mcp_json_get(mcp_json_get(c->root, "auth"), "tokens");
    c->ntokens = mcp_json_len(toks);
    c->tokens = c->ntokens ? calloc(c->ntokens, sizeof *c->tokens) : NULL;
    for (size_t i = 0; i < c->ntokens; i++) {
        const mcp_json *tk = mcp_json_at(toks, i);
        const char *hex = get_str(tk, "sha256");
        c->tokens[i].name = get_str(tk, "name");
        c->tokens[i].tools = mcp_json_get(tk, "tools");
        c->tokens[i].resources = mcp_json_get(tk, "resources");
        c->tokens[i].prompts = mcp_json_get(tk, "prompts");
        read_token_resources(c, &c->tokens[i], i, errs);
        check_token_prompts(c, &c->tokens[i], i, errs);
        for (size_t k = 0; hex && k < 32 && hex[2 * k] && hex[2 * k + 1]; k++)
            c->tokens[i].sha256[k] =
                (unsigned char)(hexval(hex[2 * k]) << 4 | hexval(hex[2 * k + 1]));
        for (size_t j = 0; j < i; j++) {
            char p[64];
            snprintf(p, sizeof p, "/auth/tokens/%zu/name", i);
            if (c->tokens[j].name && c->tokens[i].name &&
                !strcmp(c->tokens[j].name, c->tokens[i].name))
                mcpd_err(errs, p, "a token named \"%s\" is already defined (/auth/tokens/%zu)",
                         c->tokens[i].name, j);
            snprintf(p, sizeof p, "/auth/tokens/%zu/sha256", i);
            if (!memcmp(c->tokens[j].sha256, c->tokens[i].sha256, 32))
                mcpd_err(errs, p, "the same token hash as /auth/tokens/%zu", j);
        }
    }
}

/* ---- loading ----------------------------------------------------------------------------- */
void mcpd_config_free(mcpd_config *c)
{
    if (!c) return;
    mcp_json_doc_free(c->doc);
    for (size_t i = 0; i < c->ntokens; i++) {
        for (size_t k = 0; k < c->tokens[i].nres; k++) free(c->tokens[i].res_prefixes[k]);
        free(c->tokens[i].res_prefixes);
    }
    free(c->tokens);
    free(c->access_log);
    free(c->path);
    free(c->dir);
    free(c->text);
    free(c);
}

/* Parses and checks text; returns NULL only when it does not parse (syntax, ${ENV}); a config
 * that fails the schema comes back with `invalid` set, so its tool entries can be checked too. */
static mcpd_config *parse_config(const char *path, const char *text, size_t len, mcpd_errs *errs)
{
    size_t before = mcpd_err_count(errs);
    mcp_json_error perr;
    mcp_json_doc *raw = mcp_json_parse(text, len, MCP_JSON_RELAXED, &perr);
    if (!raw) {
        err_entry *x = add_err(errs, "", perr.message);
        if (x) x->line = perr.line, x->col = perr.column;
        return NULL;
    }
    subst st = {.w = mcp_jw_new(), .errs = errs};
    subst_value(&st, mcp_json_root(raw));
    mcp_json_doc_free(raw);
    size_t wl;
    const char *wt = mcp_jw_text(st.w, &wl);
    mcp_json_doc *doc =
        wt && mcpd_err_count(errs) == before ? mcp_json_parse(wt, wl, 0, NULL) : NULL;
    mcp_jw_free(st.w);
    if (!doc) {
        if (mcpd_err_count(errs) == before)
            mcpd_err(errs, "", "the file does not hold valid UTF-8 after substitution");
        return NULL;
    }
    mcpd_config *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->doc = doc;
    c->root = mcp_json_root(doc);
    c->path = xstrdup(path ? path : "(default)");
    char *tmp = xstrdup(path ? path : ".");
    c->dir = xstrdup(path ? dirname(tmp) : ".");
    free(tmp);
    c->text = malloc(len + 1);
    if (!c->text) abort();
    memcpy(c->text, text, len);
    c->text[len] = '\0';
    c->len = len;
    mcp_schema *schema = get_schema();
    vstate vs = {.errs = errs, .schema_doc = mcp_json_root(config_schema_doc), .prefix = ""};
    mcp_schema_validate(schema, c->root, on_schema_error, &vs);
    read_settings(c, errs); /* tolerant of wrong types: the schema said what was wrong */
    c->invalid = mcpd_err_count(errs) != before;
    return c;
}

mcpd_config *mcpd_config_parse(const char *path, const char *text, size_t len, mcpd_errs *errs)
{
    mcpd_config *c = parse_config(path, text, len, errs);
    if (c && c->invalid) {
        mcpd_config_free(c);
        return NULL;
    }
    return c;
}

mcpd_config *mcpd_config_load(const char *path, mcpd_errs *errs, char **text_out, size_t *len_out)
{
    *text_out = NULL;
    *len_out = 0;
    if (!path) return parse_config(NULL, mcpd_default_config, mcpd_default_config_len, errs);
    FILE *f = fopen(path, "rb");
    if (!f) {
        mcpd_err(errs, "", "cannot open the file: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    if (!text) abort();
    for (;;) {
        if (len == cap) {
            cap *= 2;
            text = realloc(text, cap);
            if (!text) abort();
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0 || len > MAX_CONFIG_BYTES) break;
    }
    bool bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad || len > MAX_CONFIG_BYTES) {
        if (bad)
            mcpd_err(errs, "", "cannot read the file: %s", strerror(saved));
        else
            mcpd_err(errs, "", "the file is larger than %u bytes", MAX_CONFIG_BYTES);
        free(text);
        return NULL;
    }
    *text_out = text;
    *len_out = len;
    return parse_config(path, text, len, errs);
}
