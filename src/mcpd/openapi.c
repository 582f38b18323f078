/* openapi.c - the `openapi` tool kind: an OpenAPI 3 document (JSON or YAML) served as http
 * tools, one per operation (or per listed operation), from one config entry.
 *
 * Configure reads the document (at most 16 MiB; YAML through yaml_json.c), takes the base URL
 * from "base_url" or the document's first server, and for each operation builds an http
 * request template (http_engine.c): the path with its {parameters}, query and header
 * parameters as query and header templates, and a JSON request body as the argument "body".
 * The tool's input schema has one property per parameter (its schema and description; path
 * parameters and those marked required are required) plus "body"; $refs to
 * #/components/schemas/ are kept and resolved through "$defs" (a copy of the components.schemas
 * the schema uses, directly or through other ones: an index of the document's schemas by name
 * makes that closure cost what it holds), and $refs to components' parameters and
 * requestBodies are followed. The input schemas of one entry are at most 64 MiB in all: a
 * document whose operations each pull in most of a large components.schemas is refused at the
 * operation that passes it, with advice to list the operations to serve.
 * Parameter names that are not identifiers ("pet-id") get one ("pet_id") in the schema; the
 * request still uses the document's name. The tool is named by its operationId (else
 * method_path), with the entry's "prefix"; its description is the summary and description;
 * GET and HEAD are read-only, DELETE destructive, PUT and DELETE idempotent.
 *
 * Every operation of an entry shares one upstream (keep-alive pool, breaker, limit, health
 * check: the "upstream" object as for http), and the entry's "headers" (e.g. an Authorization
 * with a ${SECRET}) go with every request. Calls are the http kind's calls. */
#include "kind.h"
#include "mcpd/http_kind.h"
#include "mcpd/text.h"
#include "mcpd/yaml_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPEC_BYTES   (16u << 20)
#define MAX_OPERATIONS   1024
#define MAX_SCHEMA_BYTES ((size_t)64 << 20) /* the input schemas of one entry, in all */

static const char openapi_schema[] =
    "{\"type\":\"object\",\"required\":[\"spec\"],"
    "\"properties\":{"
    "\"spec\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
    "\"base_url\":{\"type\":\"string\",\"minLength\":8,\"maxLength\":8192},"
    "\"operations\":{\"type\":\"array\",\"maxItems\":1024,\"items\":{\"type\":\"string\","
    "\"minLength\":1}},"
    "\"prefix\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_.-]{0,64}$\"},"
    "\"headers\":{\"type\":\"object\",\"maxProperties\":64,"
    "\"additionalProperties\":{\"type\":\"string\",\"maxLength\":8192}},"
    "\"retries\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10},"
    "\"connect_timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000},"
    "\"max_response_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":268435456},"
    "\"upstream\":{\"type\":\"object\"}"
    "}}";

static const char *const methods[] = {"get", "put", "post", "delete", "options", "head", "patch"};

typedef struct oa_inst {
    httpe **ops;
    size_t n;
} oa_inst;

static void oa_free(void *p)
{
    oa_inst *in = p;
    if (!in) return;
    for (size_t i = 0; i < in->n; i++) httpe_free(in->ops[i]);
    free(in->ops);
    free(in);
}

static char *read_file(const char *path, size_t *len, char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsize, "cannot open %.300s: %m", path);
        return NULL;
    }
    /* a buffer that grows to what the file holds (at most one byte past the bound), rather
     * than 16 MiB for every document */
    size_t cap = 64u << 10, n = 0, k;
    char *buf = malloc(cap + 1);
    if (!buf) abort();
    while ((k = fread(buf + n, 1, cap - n, f)) > 0 && (n += k) <= MAX_SPEC_BYTES) {
        if (n < cap) continue;
        cap = cap * 2 > MAX_SPEC_BYTES ? MAX_SPEC_BYTES + 1 : cap * 2;
        buf = realloc(buf, cap + 1);
        if (!buf) abort();
    }
    fclose(f);
    if (n > MAX_SPEC_BYTES) {
        snprintf(err, errsize, "%.300s is larger than %u bytes", path, MAX_SPEC_BYTES);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* The document as parsed JSON (YAML converted first). */
static mcp_json_doc *load_spec(const char *path, char *err, size_t errsize)
{
    size_t len;
    char *text = read_file(path, &len, err, errsize);
    if (!text) return NULL;
    const char *p = text;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    char *json = NULL;
    if (*p != '{') {
        char why[256];
        json = mcpd_yaml_to_json(text, len, why, sizeof why);
        if (!json) {
            snprintf(err, errsize, "%.200s: not JSON, and not YAML: %.250s", path, why);
            free(text);
            return NULL;
        }
    }
    mcp_json_error je;
    mcp_json_doc *d = mcp_json_parse(json ? json : text, json ? strlen(json) : len, 0, &je);
    if (!d) snprintf(err, errsize, "%.300s:%u:%u: %s", path, je.line, je.column, je.message);
    free(json);
    free(text);
    return d;
}

/* Follows a local $ref ("#/components/parameters/x") once; other values are returned as is. */
static const mcp_json *deref(const mcp_json *root, const mcp_json *v)
{
    const char *ref = mcp_json_str(mcp_json_get(v, "$ref"), NULL);
    if (!ref || strncmp(ref, "#/", 2) != 0) return v;
    const mcp_json *cur = root;
    char part[256];
    for (const char *p = ref + 2; *p && cur;) {
        size_t n = strcspn(p, "/");
        snprintf(part, sizeof part, "%.*s", (int)n, p);
        cur = mcp_json_get(cur, part);
        p += n + (p[n] ? 1 : 0);
    }
    return cur;
}

/* ---- $defs: the components.schemas an input schema uses ---------------------------------- */
/* components.schemas indexed by name (open addressing over member indexes + 1), built once per
 * document. */
typedef struct defs_index {
    const mcp_json *defs; /* components.schemas, or NULL */
    uint32_t *slots;
    size_t mask;
} defs_index;

/* What one input schema uses: the members of components.schemas its $refs name, directly or
 * through other members (a queue, each member once), and about how many bytes of text all of
 * it makes (counted while scanning, which stops once it passes limit). */
typedef struct defs_use {
    const defs_index *ix;
    uint8_t *used;
    uint32_t *queue;
    size_t nq;
    size_t size, limit;
} defs_use;

static size_t name_hash(const char *s, size_t n)
{
    size_t h = 14695981039346656037u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static void defs_index_init(defs_index *ix, const mcp_json *root)
{
    ix->defs = mcp_json_get(mcp_json_get(root, "components"), "schemas");
    size_t n = mcp_json_typeof(ix->defs) == MCP_JSON_OBJECT ? mcp_json_len(ix->defs) : 0, cap = 16;
    while (cap < 2 * n) cap *= 2;
    ix->slots = calloc(cap, sizeof *ix->slots);
    if (!ix->slots) abort();
    ix->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        const char *k;
        size_t kl;
        mcp_json_member(ix->defs, i, &k, &kl);
        size_t h = name_hash(k, kl) & ix->mask;
        while (ix->slots[h]) h = (h + 1) & ix->mask;
        ix->slots[h] = (uint32_t)i + 1;
    }
}

/* The member index of name[0..len), or -1. */
static long defs_find(const defs_index *ix, const char *name, size_t len)
{
    for (size_t h = name_hash(name, len) & ix->mask; ix->slots[h]; h = (h + 1) & ix->mask) {
        const char *k;
        size_t kl;
        mcp_json_member(ix->defs, ix->slots[h] - 1, &k, &kl);
        if (kl == len && !memcmp(k, name, len)) return (long)ix->slots[h] - 1;
    }
    return -1;
}

/* Notes the member that ref (after "#/components/schemas/") names: its first JSON Pointer
 * segment, unescaped (~1 is '/', ~0 is '~'; %XX as in a URI fragment). A name that is not there
 * is left for the schema compiler to report as an unresolved $ref. */
static void defs_mark(defs_use *u, const char *ref)
{
    char name[512];
    size_t n = 0;
    for (; *ref && *ref != '/' && n < sizeof name; ref++) {
        unsigned hex;
        if (ref[0] == '~' && (ref[1] == '0' || ref[1] == '1')) {
            name[n++] = *++ref == '0' ? '~' : '/';
        } else if (ref[0] == '%' && isxdigit((unsigned char)ref[1]) &&
                   isxdigit((unsigned char)ref[2]) && sscanf(ref + 1, "%2x", &hex) == 1) {
            name[n++] = (char)hex;
            ref += 2;
        } else {
            name[n++] = *ref;
        }
    }
    long i = n < sizeof name && u->ix->defs ? defs_find(u->ix, name, n) : -1;
    if (i >= 0 && !u->used[i]) u->used[i] = 1, u->queue[u->nq++] = (uint32_t)i;
}

static const char refs_from[] = "#/components/schemas/";

/* Notes every member that v's $refs name, and adds about the size of v's text to u->size. */
static void defs_scan(defs_use *u, const mcp_json *v)
{
    for (size_t i = 0; i < mcp_json_len(v) && u->size <= u->limit; i++) {
        const char *k = NULL;
        size_t kl = 0, sl = 0;
        const mcp_json *m = mcp_json_typeof(v) == MCP_JSON_OBJECT ? mcp_json_member(v, i, &k, &kl)
                                                                  : mcp_json_at(v, i);
        mcp_json_type t = mcp_json_typeof(m);
        const char *str = mcp_json_str(m, &sl);
        u->size += kl + 4 + (t == MCP_JSON_STRING ? sl : 8);
        if (k && !strcmp(k, "$ref") && str && !strncmp(str, refs_from, sizeof refs_from - 1))
            defs_mark(u, str + sizeof refs_from - 1);
        else if (t == MCP_JSON_OBJECT || t == MCP_JSON_ARRAY)
            defs_scan(u, m);
    }
}

/* Copies a schema, pointing $refs into components.schemas at $defs instead. */
static void copy_schema(mcp_jw *w, const mcp_json *v)
{
    switch (mcp_json_typeof(v)) {
    case MCP_JSON_OBJECT:
        mcp_jw_object(w);
        for (size_t i = 0; i < mcp_json_len(v); i++) {
            const char *k;
            size_t kl;
            const mcp_json *m = mcp_json_member(v, i, &k, &kl);
            mcp_jw_keyn(w, k, kl);
            const char *ref = !strcmp(k, "$ref") ? mcp_json_str(m, NULL) : NULL;
            if (ref && !strncmp(ref, refs_from, sizeof refs_from - 1)) {
                char buf[512];
                snprintf(buf, sizeof buf, "#/$defs/%s", ref + sizeof refs_from - 1);
                mcp_jw_string(w, buf);
            } else {
                copy_schema(w, m);
            }
        }
        mcp_jw_object_end(w);
        break;
    case MCP_JSON_ARRAY:
        mcp_jw_array(w);
        for (size_t i = 0; i < mcp_json_len(v); i++) copy_schema(w, mcp_json_at(v, i));
        mcp_jw_array_end(w);
        break;
    default:
        mcp_jw_value(w, v);
    }
}

/* Adds the members the queue's members name in turn, sizing them all. Returns false once the
 * size passes u->limit. */
static bool defs_close(defs_use *u)
{
    for (size_t q = 0; q < u->nq && u->size <= u->limit; q++) /* the queue grows as it goes */
        defs_scan(u, mcp_json_member(u->ix->defs, u->queue[q], NULL, NULL));
    return u->size <= u->limit;
}

/* Writes "$defs": what defs_close found. */
static void write_defs(mcp_jw *w, const defs_use *u)
{
    mcp_jw_key(w, "$defs");
    mcp_jw_object(w);
    for (size_t q = 0; q < u->nq; q++) {
        const char *k;
        size_t kl;
        const mcp_json *m = mcp_json_member(u->ix->defs, u->queue[q], &k, &kl);
        mcp_jw_keyn(w, k, kl);
        copy_schema(w, m);
    }
    mcp_jw_object_end(w);
}

/* An identifier for an argument: [A-Za-z_][A-Za-z0-9_]{0,63}. */
static void arg_name(const char *in, char *out, size_t size)
{
    size_t n = 0;
    if (!((in[0] >= 'A' && in[0] <= 'Z') || (in[0] >= 'a' && in[0] <= 'z') || in[0] == '_'))
        out[n++] = '_';
    for (const char *p = in; *p && n + 1 < size && n < 64; p++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        out[n++] = ok ? c : '_';
    }
    out[n] = 0;
}

/* A tool name: prefix + [A-Za-z0-9_.-]{1,128}. */
static void tool_name(const char *prefix, const char *in, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "%s", prefix ? prefix : "");
    for (const char *p = in; *p && n + 1 < size && n < 128; p++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok && n > 0 && out[n - 1] == '_') continue;
        out[n++] = ok ? c : '_';
    }
    while (n > 1 && out[n - 1] == '_') n--;
    out[n] = 0;
}

typedef struct param {
    const char *name, *in;
    const mcp_json *schema, *desc;
    bool required;
    char arg[80];
} param;

/* Collects path-level and operation parameters (the operation's win by name and place). */
static size_t collect_params(const mcp_json *root, const mcp_json *item, const mcp_json *op,
                             param *out, size_t max)
{
    size_t n = 0;
    const mcp_json *lists[2] = {mcp_json_get(op, "parameters"), mcp_json_get(item, "parameters")};
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < mcp_json_len(lists[l]) && n < max; i++) {
            const mcp_json *p = deref(root, mcp_json_at(lists[l], i));
            const char *name = mcp_json_str(mcp_json_get(p, "name"), NULL);
            const char *in = mcp_json_str(mcp_json_get(p, "in"), NULL);
            if (!name || !in || !strcmp(in, "cookie")) continue;
            bool dup = false;
            for (size_t k = 0; k < n; k++)
                dup |= !strcmp(out[k].name, name) && !strcmp(out[k].in, in);
            if (dup) continue;
            param *q = &out[n++];
            *q = (param){.name = name,
                         .in = in,
                         .schema = mcp_json_get(p, "schema"),
                         .desc = mcp_json_get(p, "description")};
            mcp_json_bool(mcp_json_get(p, "required"), &q->required);
            if (!strcmp(in, "path")) q->required = true;
            arg_name(name, q->arg, sizeof q->arg);
        }
    }
    return n;
}

/* Whether the operation takes a JSON request body (application/json or any +json), with its
 * schema in *schema (NULL: any value) and whether it is required. */
static bool body_schema(const mcp_json *root, const mcp_json *op, const mcp_json **schema,
                        bool *required)
{
    const mcp_json *rb = deref(root, mcp_json_get(op, "requestBody"));
    *schema = NULL;
    *required = false;
    if (!rb) return false;
    mcp_json_bool(mcp_json_get(rb, "required"), required);
    const mcp_json *content = mcp_json_get(rb, "content");
    if (mcp_json_typeof(content) != MCP_JSON_OBJECT) return false; /* (an array has a length) */
    for (size_t i = 0; i < mcp_json_len(content); i++) {
        const char *type;
        const mcp_json *m = mcp_json_member(content, i, &type, NULL);
        if (strstr(type, "json")) {
            *schema = mcp_json_get(m, "schema");
            return true;
        }
    }
    return false;
}

/* The tool's input schema, or NULL when it would pass limit bytes (with the components it
 * uses). ix indexes the document's components.schemas. */
static char *input_schema(const defs_index *ix, const param *ps, size_t np, bool has_body,
                          const mcp_json *body, bool body_required, size_t limit)
{
    size_t n = mcp_json_len(ix->defs);
    defs_use u = {.ix = ix, .limit = limit};
    u.used = calloc(n + 1, 1);
    u.queue = calloc(n + 1, sizeof *u.queue);
    if (!u.used || !u.queue) abort();
    for (size_t i = 0; i < np; i++) {
        if (ps[i].schema) defs_scan(&u, ps[i].schema);
        u.size += 32;
    }
    if (has_body && body) defs_scan(&u, body);
    char *text = NULL;
    if (defs_close(&u)) {
        mcp_jw *w = mcpd_jw_object_schema();
        for (size_t i = 0; i < np; i++) {
            mcp_jw_key(w, ps[i].arg);
            if (mcp_json_typeof(ps[i].schema) == MCP_JSON_OBJECT &&
                !mcp_json_get(ps[i].schema, "$ref")) {
                /* the parameter's schema, with its description when the schema has none */
                mcp_jw_object(w);
                for (size_t k = 0; k < mcp_json_len(ps[i].schema); k++) {
                    const char *key;
                    size_t kl;
                    const mcp_json *m = mcp_json_member(ps[i].schema, k, &key, &kl);
                    mcp_jw_keyn(w, key, kl);
                    copy_schema(w, m);
                }
                if (ps[i].desc && !mcp_json_get(ps[i].schema, "description")) {
                    mcp_jw_key(w, "description");
                    mcp_jw_value(w, ps[i].desc);
                }
                mcp_jw_object_end(w);
            } else if (ps[i].schema) {
                copy_schema(w, ps[i].schema);
            } else {
                mcp_jw_raw(w, "{\"type\":\"string\"}", 17);
            }
        }
        if (has_body) {
            mcp_jw_key(w, "body");
            if (body)
                copy_schema(w, body);
            else
                mcp_jw_raw(w, "{}", 2);
        }
        mcp_jw_object_end(w);
        mcp_jw_key(w, "required");
        mcp_jw_array(w);
        for (size_t i = 0; i < np; i++)
            if (ps[i].required) mcp_jw_string(w, ps[i].arg);
        if (has_body && body_required) mcp_jw_string(w, "body");
        mcp_jw_array_end(w);
        mcp_jw_key(w, "additionalProperties");
        mcp_jw_bool(w, false);
        if (u.nq) write_defs(w, &u);
        mcp_jw_object_end(w);
        text = mcpd_jw_take(w, "{\"type\":\"object\"}");
    }
    free(u.used);
    free(u.queue);
    return text;
}

/* Builds the request template's pieces as JSON text: {"url":..,"query":{..},"headers":{..},
 * "arguments":{..}}, parsed by the caller. */
static char *request_parts(const char *base, const char *path, const param *ps, size_t np,
                           bool has_body, const mcp_json *extra_headers)
{
    char url[8192];
    size_t n = (size_t)snprintf(url, sizeof url, "%s", base);
    while (n > 0 && url[n - 1] == '/') url[--n] = 0;
    for (const char *p = path; *p && n + 80 < sizeof url;) {
        if (*p == '{') {
            size_t l = strcspn(p + 1, "}");
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)l, p + 1);
            const char *arg = name;
            for (size_t i = 0; i < np; i++)
                if (!strcmp(ps[i].in, "path") && !strcmp(ps[i].name, name)) arg = ps[i].arg;
            n += (size_t)snprintf(url + n, sizeof url - n, "{%s}", arg);
            p += l + (p[l + 1] ? 2 : 1);
        } else {
            url[n++] = *p++;
            url[n] = 0;
        }
    }
    mcp_jw *w = mcp_jw_new();
    mcp_jw_object(w);
    mcp_jw_key(w, "url");
    mcp_jw_string(w, url);
    for (int pass = 0; pass < 2; pass++) {
        mcp_jw_key(w, pass ? "headers" : "query");
        mcp_jw_object(w);
        for (size_t i = 0; i < np; i++) {
            if (strcmp(ps[i].in, pass ? "header" : "query")) continue;
            char t[100];
            snprintf(t, sizeof t, "{%s}", ps[i].arg);
            mcp_jw_key(w, ps[i].name);
            mcp_jw_string(w, t);
        }
        for (size_t i = 0; pass && i < mcp_json_len(extra_headers); i++) {
            const char *k;
            const mcp_json *v = mcp_json_member(extra_headers, i, &k, NULL);
            mcp_jw_key(w, k);
            mcp_jw_value(w, v);
        }
        mcp_jw_object_end(w);
    }
    mcp_jw_key(w, "arguments");
    mcp_jw_object(w);
    for (size_t i = 0; i < np; i++) {
        mcp_jw_key(w, ps[i].arg);
        mcp_jw_object(w);
        mcp_jw_object_end(w);
    }
    if (has_body) {
        mcp_jw_key(w, "body");
        mcp_jw_object(w);
        mcp_jw_object_end(w);
    }
    mcp_jw_object_end(w); /* arguments */
    mcp_jw_object_end(w);
    return mcpd_jw_take(w, "{}");
}

static bool wanted(const mcp_json *list, const char *op_id, bool *seen)
{
    if (!list) return true;
    for (size_t i = 0; i < mcp_json_len(list); i++) {
        if (!strcmp(mcp_json_str(mcp_json_at(list, i), NULL), op_id)) {
            seen[i] = true;
            return true;
        }
    }
    return false;
}

typedef struct oa_ctx {
    const mcpd_env *env;
    const mcp_json *entry, *root;
    const char *pointer, *base;
    mcpd_tools *tools;
    mcpd_errs *errs;
    oa_inst *in;
    httpe_upstream_config up;
    defs_index ix;       /* the document's components.schemas by name */
    size_t schema_bytes; /* of the input schemas made so far (at most MAX_SCHEMA_BYTES) */
    bool stop;           /* past a bound (operations, schema bytes): no more operations */
} oa_ctx;

/* Makes the tool of one operation. Returns false after recording a mistake. */
static bool add_operation(oa_ctx *x, const char *path, const char *method, const mcp_json *item,
                          const mcp_json *op, const char *op_id)
{
    param ps[64];
    size_t np = collect_params(x->root, item, op, ps, 64);
    bool body_required;
    const mcp_json *body;
    bool has_body = body_schema(x->root, op, &body, &body_required);
    char upper[16];
    size_t k = 0;
    for (; method[k] && k < sizeof upper - 1; k++) upper[k] = (char)(method[k] - 32);
    upper[k] = 0;
    char *parts = request_parts(x->base, path, ps, np, has_body, mcp_json_get(x->entry, "headers"));
    mcp_json_doc *pd = mcp_json_parse(parts, strlen(parts), 0, NULL);

    free(parts);
    const mcp_json *pr = mcp_json_root(pd);
    mcp_json_doc *bd = has_body ? mcp_json_parse("\"{body}\"", 8, 0, NULL) : NULL;
    int64_t v;
    httpe_config c = {.method = upper,
                      .url = mcp_json_str(mcp_json_get(pr, "url"), NULL),
                      .query = mcp_json_get(pr, "query"),
                      .headers = mcp_json_get(pr, "headers"),
                      .body = bd ? mcp_json_root(bd) : NULL,
                      .arguments = mcp_json_get(pr, "arguments"),
                      .retries_set = mcp_json_int(mcp_json_get(x->entry, "retries"), &v),
                      .upstream = x->up};
    if (c.retries_set) c.retries = (uint32_t)v;
    if (mcp_json_int(mcp_json_get(x->entry, "connect_timeout_ms"), &v))
        c.connect_timeout_ms = (uint32_t)v;
    if (mcp_json_int(mcp_json_get(x->entry, "max_response_bytes"), &v))
        c.max_response_bytes = (size_t)v;
    char err[512], key[32], ptr[512], name[200];
    httpe *t = httpe_new(&c, err, sizeof err, key, sizeof key);
    mcp_json_doc_free(pd);
    mcp_json_doc_free(bd);
    snprintf(ptr, sizeof ptr, "%s/spec", x->pointer);
    if (!t) {
        mcpd_err(x->errs, ptr, "operation %s (%s %s): %s", op_id, upper, path, err);
        return false;
    }
    tool_name(mcp_json_str(mcp_json_get(x->entry, "prefix"), NULL), op_id, name, sizeof name);
    char *input = input_schema(&x->ix, ps, np, has_body, body, body_required,
                               MAX_SCHEMA_BYTES - x->schema_bytes);
    if (!input) {
        mcpd_err(x->errs, ptr,
                 "operation %s (%s %s): the input schemas of this document's operations, with the "
                 "components.schemas they use, pass %zu MiB in all: list the operations to serve "
                 "in \"operations\"",
                 op_id, upper, path, MAX_SCHEMA_BYTES >> 20);
        x->stop = true;
        httpe_free(t);
        return false;
    }
    x->schema_bytes += strlen(input);
    const char *summary = mcp_json_str(mcp_json_get(op, "summary"), NULL);
    const char *desc = mcp_json_str(mcp_json_get(op, "description"), NULL);
    char description[4096];
    snprintf(description, sizeof description, "%s%s%s", summary ? summary : "",
             summary && desc ? "\n\n" : "", desc ? desc : "");
    if (!description[0]) snprintf(description, sizeof description, "%s %s", upper, path);
    char ann[160];
    bool ro = !strcmp(upper, "GET") || !strcmp(upper, "HEAD");
    snprintf(ann, sizeof ann,
             "{\"readOnlyHint\":%s,\"destructiveHint\":%s,\"idempotentHint\":%s,\"openWorldHint\":"
             "true}",
             ro ? "true" : "false", !strcmp(upper, "DELETE") ? "true" : "false",
             ro || !strcmp(upper, "PUT") || !strcmp(upper, "DELETE") ? "true" : "false");
    mcpd_tool_spec spec = {.name = name,
                           .title = summary,
                           .description = description,
                           .input_schema = input,
                           .annotations = mcp_json_get(x->entry, "annotations") ? NULL : ann,
                           .tool = t,
                           .quick = true,           /* http calls never block (httpe_start) */
                           .output_trusted = true}; /* no output schema (mcpd_http_answer) */
    int rc = mcpd_tools_add(x->tools, &spec, ptr, x->errs);
    free(input);
    if (rc != 0) {
        httpe_free(t);
        return false;
    }
    x->in->ops[x->in->n++] = t;
    return true;
}

static bool base_url(oa_ctx *x, char *out, size_t size)
{
    const char *b = mcp_json_str(mcp_json_get(x->entry, "base_url"), NULL);
    if (!b)
        b = mcp_json_str(mcp_json_get(mcp_json_at(mcp_json_get(x->root, "servers"), 0), "url"),
                         NULL);
    char ptr[512];
    snprintf(ptr, sizeof ptr, "%s/%s", x->pointer,
             mcp_json_get(x->entry, "base_url") ? "base_url" : "spec");
    if (!b || (strncmp(b, "http://", 7) && strncmp(b, "https://", 8))) {
        mcpd_err(x->errs, ptr,
                 "expected an absolute http(s) base URL: the document's first "
                 "server has none, so set \"base_url\"");
        return false;
    }
    snprintf(out, size, "%s", b);
    return true;
}

static int oa_configure(const mcpd_env *env, const mcp_json *e, const char *pointer,
                        mcpd_tools *tools, mcpd_errs *errs, void **inst)
{
    const char *spec = mcp_json_str(mcp_json_get(e, "spec"), NULL);
    char path[4096], err[512], ptr[512], base[8192], origin[1024], health[2048];
    snprintf(path, sizeof path, "%s%s%s", spec[0] == '/' ? "" : env->config_dir,
             spec[0] == '/' ? "" : "/", spec);
    snprintf(ptr, sizeof ptr, "%s/spec", pointer);
    mcp_json_doc *doc = load_spec(path, err, sizeof err);
    if (!doc) {
        mcpd_err(errs, ptr, "%s", err);
        return -1;
    }
    const mcp_json *root = mcp_json_root(doc);
    const char *ver = mcp_json_str(mcp_json_get(root, "openapi"), NULL);
    oa_ctx x = {.env = env,
                .entry = e,
                .root = root,
                .pointer = pointer,
                .base = base,
                .tools = tools,
                .errs = errs};
    if (!ver || strncmp(ver, "3.", 2) != 0) {
        mcpd_err(errs, ptr, "%s: expected an OpenAPI 3 document (\"openapi\": \"3.x\")", spec);
        mcp_json_doc_free(doc);
        return -1;
    }
    if (!base_url(&x, base, sizeof base)) {
        mcp_json_doc_free(doc);
        return -1;
    }
    const char *o = strstr(base, "://");
    snprintf(origin, sizeof origin, "%.*s", (int)(o + 3 - base + strcspn(o + 3, "/?#")), base);
    mcpd_http_upstream_config(mcp_json_get(e, "upstream"), origin, &x.up, health, sizeof health);
    x.up.generation = env->generation;
    if (!x.up.name) x.up.name = origin;
    x.in = calloc(1, sizeof *x.in);
    if (!x.in) abort();
    defs_index_init(&x.ix, root);
    x.in->ops = calloc(MAX_OPERATIONS, sizeof *x.in->ops);
    if (!x.in->ops) abort();
    const mcp_json *list = mcp_json_get(e, "operations");
    bool seen[1024] = {0};
    size_t before = mcpd_err_count(errs);
    const mcp_json *paths = mcp_json_get(root, "paths");
    if (paths && mcp_json_typeof(paths) != MCP_JSON_OBJECT) {
        mcpd_err(errs, ptr, "%s: expected \"paths\" to be an object, got %s", spec,
                 mcp_json_type_name(paths));
        paths = NULL;
    }
    for (size_t i = 0; i < mcp_json_len(paths); i++) {
        const char *p;
        const mcp_json *item = mcp_json_member(paths, i, &p, NULL);
        for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
            const mcp_json *op = mcp_json_get(item, methods[m]);
            if (!op) continue;
            char id[512];
            const char *oid = mcp_json_str(mcp_json_get(op, "operationId"), NULL);
            snprintf(id, sizeof id, "%s%s%s", oid ? oid : methods[m], oid ? "" : "_", oid ? "" : p);
            if (!wanted(list, oid ? oid : id, seen)) continue;
            if (x.in->n >= MAX_OPERATIONS) {
                mcpd_err(errs, ptr,
                         "more than %d operations: list the ones to serve in "
                         "\"operations\"",
                         MAX_OPERATIONS);
                x.stop = true;
                break;
            }
            add_operation(&x, p, methods[m], item, op, oid ? oid : id);
            if (x.stop) break;
        }
        if (x.stop) break;
    }
    for (size_t i = 0; i < mcp_json_len(list) && !x.stop; i++) {
        if (seen[i]) continue;
        snprintf(ptr, sizeof ptr, "%s/operations/%zu", pointer, i);
        mcpd_err(errs, ptr, "the document has no operation \"%s\"",
                 mcp_json_str(mcp_json_at(list, i), NULL));
    }
    mcp_json_doc_free(doc);
    free(x.ix.slots);
    if (mcpd_err_count(errs) != before) {
        oa_free(x.in);
        return -1;
    }
    *inst = x.in;
    return 0;
}

static void oa_call(void *inst, mcpd_call *c)
{
    (void)inst;
    mcpd_http_call(mcpd_call_tool(c), c);
}

const mcpd_kind mcpd_kind_openapi = {
    .version = MCPD_KIND_VERSION,
    .name = "openapi",
    .config_schema = openapi_schema,
    .configure = oa_configure,
    .call = oa_call,
    .cancel = mcpd_http_cancel,
    .free = oa_free,
};
