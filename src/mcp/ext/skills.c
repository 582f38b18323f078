/* skills.c - the skills extension (io.modelcontextprotocol/skills, SEP-2640).
 *
 * A skill is a directory of files under skill://[<authority>/]<name>/, with SKILL.md at its
 * root. Registration does all the work once: it parses the SKILL.md frontmatter (YAML read
 * with libyaml in frontmatter.c, rendered as the JSON object skills/list carries), checks the file
 * paths, digests every file (SHA-256) and pre-renders the skill's entry and the children of each of
 * its directories as JSON text. Every file is also registered as an ordinary resource whose handler
 * answers from the copy kept here, so resources/read and resources/list need nothing new.
 *
 * Requests: skills/list (paginated by registration order with the same sealed cursors as the
 * other lists), skills/get {uri}, resources/directory/read {uri, cursor?}. All three exist in
 * the modern era only and only once a skill is registered; otherwise they are -32601. Skills
 * are never removed, so the set only grows; a rwlock guards it against registration while
 * serving. This is a feature (feature.h): the set is its private state, its methods are in
 * skills_methods at the end. See docs/internals/skills.md. */
#include "mcp/feature.h"
#include "mcp/token.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "mcp/ext/frontmatter.h"

#define LIT(b, s)  mcp_buf_append((b), (s), sizeof(s) - 1)
#define MAX_FILES  512         /* SKILL.md included */
#define MAX_TOTAL  (16u << 20) /* bytes of all files of a skill */
#define MAX_RESULT (64u << 20)
#define SKILL_MD   "SKILL.md"
#define DIR_MIME   "inode/directory"

typedef struct skill_file {
    char *path; /* relative; SKILL_MD for the manifest */
    char *uri;
    char *mime;
    char *data; /* NUL-terminated copy (text) or the bytes */
    size_t len;
    bool text;
} skill_file;

typedef struct skill_child {
    char *json; /* one element of resources/directory/read's resources */
    size_t len;
} skill_child;

typedef struct skill_dir {
    char *path; /* "" for the skill's root */
    char *uri;
    skill_child *kids;
    size_t nkids, cap;
} skill_dir;

typedef struct skill {
    uint64_t seq; /* registration order: skills/list cursors point at it */
    char *name, *description;
    char *uri;  /* of SKILL.md */
    char *json; /* the skills/list entry */
    size_t json_len;
    skill_file *files; /* files[0] is SKILL.md */
    size_t nfiles;
    skill_dir *dirs; /* dirs[0] is the root */
    size_t ndirs;
} skill;

typedef struct skill_set {
    pthread_rwlock_t lock;
    skill **items; /* registration order */
    size_t n, cap;
    uint64_t next_seq;
    char *authority; /* default for skills registered without one */
    atomic_bool any;
} skill_set;

extern const feature skills_feature;

static skill_set *skills_of(mcp_server *s)
{
    return feature_state(s, &skills_feature);
}

/* ---- checks -------------------------------------------------------------------------------- */

/* True if s[0..n) is well-formed UTF-8 without NUL (RFC 3629: no overlongs, no surrogates). */
static bool utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p++;
        if (c == 0) return false;
        if (c < 0x80) continue;
        int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
        if (more < 0 || c > 0xf4 || end - p < more) return false;
        unsigned cp = c & (0x3fu >> more);
        for (int i = 0; i < more; i++) {
            if ((p[i] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (p[i] & 0x3fu);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        p += more;
    }
    return true;
}

static bool unreserved(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* An RFC 3986 reg-name, non-empty, without percent-encoding (which we would have to compare
 * decoded). */
static bool reg_name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 255) return false;
    for (; *s; s++)
        if (!unreserved(*s) && !strchr("!$&'()*+,;=", *s)) return false;
    return true;
}

/* A relative file path: segments of unreserved characters, none "." or "..". */
static bool path_ok(const char *p)
{
    size_t n = strlen(p);
    if (!n || n > 1024 || p[0] == '/' || p[n - 1] == '/' || strstr(p, "//")) return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] != '/' && !unreserved(p[i])) return false;
    for (const char *seg = p; seg;) {
        const char *e = strchr(seg, '/');
        size_t l = e ? (size_t)(e - seg) : strlen(seg);
        if ((l == 1 && seg[0] == '.') || (l == 2 && seg[0] == '.' && seg[1] == '.')) return false;
        seg = e ? e + 1 : NULL;
    }
    return true;
}

/* ---- building a skill ---------------------------------------------------------------------- */

static void skill_free(skill *k)
{
    if (!k) return;
    for (size_t i = 0; i < k->nfiles; i++) {
        free(k->files[i].path);
        free(k->files[i].uri);
        free(k->files[i].mime);
        free(k->files[i].data);
    }
    free(k->files);
    for (size_t i = 0; i < k->ndirs; i++) {
        for (size_t j = 0; j < k->dirs[i].nkids; j++) free(k->dirs[i].kids[j].json);
        free(k->dirs[i].kids);
        free(k->dirs[i].path);
        free(k->dirs[i].uri);
    }
    free(k->dirs);
    free(k->name);
    free(k->description);
    free(k->uri);
    free(k->json);
    free(k);
}

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    char tmp[1];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    char *s = mcp_xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

static void dir_add_kid(skill_dir *d, mcp_buf *b)
{
    if (d->nkids == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 4;
        d->kids = mcp_xrealloc(d->kids, d->cap * sizeof *d->kids);
    }
    d->kids[d->nkids].len = b->len;
    d->kids[d->nkids++].json = mcp_xstrndup(b->data, b->len);
}

/* Renders a child of a directory: {uri, name, mimeType[, size]}. */
static void render_kid(skill_dir *parent, const char *uri, const char *name, const char *mime,
                       int64_t size)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    json_writer w;
    json_writer_init(&w, &b, false);
    json_write_obj_begin(&w);
    json_write_keyz(&w, "uri");
    json_write_strz(&w, uri);
    json_write_keyz(&w, "name");
    json_write_strz(&w, name);
    json_write_keyz(&w, "mimeType");
    json_write_strz(&w, mime);
    if (size >= 0) {
        json_write_keyz(&w, "size");
        json_write_int(&w, size);
    }
    json_write_obj_end(&w);
    dir_add_kid(parent, &b);
    mcp_buf_free(&b);
}

static skill_dir *find_dir(skill *k, const char *path, size_t n)
{
    for (size_t i = 0; i < k->ndirs; i++)
        if (strlen(k->dirs[i].path) == n && !memcmp(k->dirs[i].path, path, n)) return &k->dirs[i];
    return NULL;
}

static bool has_file(const skill *k, const char *path, size_t n)
{
    for (size_t i = 0; i < k->nfiles; i++)
        if (strlen(k->files[i].path) == n && !memcmp(k->files[i].path, path, n)) return true;
    return false;
}

/* The directory path[0..n) of k, made (with its parents) if new. NULL if a file has that path. */
static skill_dir *make_dir(skill *k, const char *base, const char *path, size_t n)
{
    skill_dir *d = find_dir(k, path, n);
    if (d) return d;
    if (has_file(k, path, n)) return NULL;
    const char *slash = n ? memrchr(path, '/', n) : NULL;
    size_t pn = slash ? (size_t)(slash - path) : 0;
    skill_dir *parent = make_dir(k, base, path, pn);
    if (!parent) return NULL;
    size_t pi = (size_t)(parent - k->dirs); /* the realloc below may move it */
    k->dirs = mcp_xrealloc(k->dirs, (k->ndirs + 1) * sizeof *k->dirs);
    d = &k->dirs[k->ndirs++];
    memset(d, 0, sizeof *d);
    d->path = mcp_xstrndup(path, n);
    d->uri = str_printf("%s/%.*s", base, (int)n, path);
    const char *leaf = strrchr(d->path, '/');
    render_kid(&k->dirs[pi], d->uri, leaf ? leaf + 1 : d->path, DIR_MIME, -1);
    return d;
}

/* Adds a file (copying its bytes) and lists it in its directory. */
static int add_file(skill *k, const char *base, size_t idx, const mcp_skill_file *sf, char *err,
                    size_t errsize)
{
    const char *path = sf->path;
    if (!path || !path_ok(path))
        return srv_seterr(err, errsize,
                          "files[%zu].path: must be relative, '/'-separated segments of "
                          "[A-Za-z0-9._~-], none '.' or '..'",
                          idx);
    size_t n = strlen(path);
    if (!strcmp(path, SKILL_MD) || has_file(k, path, n) || find_dir(k, path, n))
        return srv_seterr(err, errsize,
                          "files: '%s' is given twice (or is SKILL.md, or a directory)", path);
    if (!sf->text && !sf->data && sf->len)
        return srv_seterr(err, errsize, "files: '%s': text or data is required", path);
    if (sf->text && !utf8_ok(sf->text, strlen(sf->text)))
        return srv_seterr(err, errsize, "files: '%s': text is not UTF-8 (give bytes in data)",
                          path);
    const char *slash = strrchr(path, '/');
    skill_dir *d = make_dir(k, base, path, slash ? (size_t)(slash - path) : 0);
    if (!d) return srv_seterr(err, errsize, "files: '%s': a directory of it is also a file", path);
    skill_file *f = &k->files[k->nfiles++];
    f->path = mcp_xstrndup(path, n);
    f->uri = str_printf("%s/%s", base, path);
    f->text = sf->text != NULL;
    f->len = f->text ? strlen(sf->text) : sf->len;
    f->data = mcp_xmalloc(f->len + 1);
    if (f->len) memcpy(f->data, f->text ? sf->text : sf->data, f->len);
    f->data[f->len] = '\0';
    const char *mime = sf->mime_type ? sf->mime_type
                       : f->text     ? "text/plain"
                                     : "application/octet-stream";
    f->mime = mcp_xstrndup(mime, strlen(mime));
    render_kid(d, f->uri, slash ? slash + 1 : path, f->mime, (int64_t)f->len);
    return 0;
}

/* Renders the skills/list entry: {uri, frontmatter, resources:[{uri, digest, size}...]}. */
static void render_entry(skill *k, const mcp_buf *frontmatter)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    json_writer w;
    json_writer_init(&w, &b, false);
    json_write_obj_begin(&w);
    json_write_keyz(&w, "uri");
    json_write_strz(&w, k->uri);
    json_write_keyz(&w, "frontmatter");
    json_write_raw(&w, frontmatter->data, frontmatter->len);
    json_write_keyz(&w, "resources");
    json_write_arr_begin(&w);
    for (size_t i = 0; i < k->nfiles; i++) {
        char hex[72] = "sha256:";
        token_digest_hex(k->files[i].data, k->files[i].len, hex + 7);
        json_write_obj_begin(&w);
        json_write_keyz(&w, "uri");
        json_write_strz(&w, k->files[i].uri);
        json_write_keyz(&w, "digest");
        json_write_strz(&w, hex);
        json_write_keyz(&w, "size");
        json_write_int(&w, (int64_t)k->files[i].len);
        json_write_obj_end(&w);
    }
    json_write_arr_end(&w);
    json_write_obj_end(&w);
    k->json = mcp_buf_steal(&b, &k->json_len);
}

/* The checks that need no parsing: SKILL.md present and UTF-8, the file count and total size. */
static int check_def(const mcp_skill_def *def, char *err, size_t errsize)
{
    const char *md = def->skill_md;
    if (!md) return srv_seterr(err, errsize, "skill_md: required");
    size_t total = strlen(md);
    if (!utf8_ok(md, total)) return srv_seterr(err, errsize, "SKILL.md: not UTF-8");
    if (def->nfiles && !def->files) return srv_seterr(err, errsize, "files: NULL");
    if (def->nfiles + 1 > MAX_FILES)
        return srv_seterr(err, errsize, "files: at most %d per skill, SKILL.md included",
                          MAX_FILES);
    for (size_t i = 0; i < def->nfiles; i++)
        total += def->files[i].text ? strlen(def->files[i].text) : def->files[i].len;
    if (total > MAX_TOTAL)
        return srv_seterr(err, errsize, "files: %zu bytes in all, more than 16 MiB", total);
    return 0;
}

/* Sets up k's root directory at base and its SKILL.md (files[0]). */
static void add_manifest(skill *k, const char *base, const char *md, size_t nfiles)
{
    k->uri = str_printf("%s/" SKILL_MD, base);
    k->files = mcp_xcalloc(nfiles + 1, sizeof *k->files); /* never moved: resources point in */
    k->dirs = mcp_xcalloc(1, sizeof *k->dirs);
    k->ndirs = 1;
    k->dirs[0].path = mcp_xstrndup("", 0);
    k->dirs[0].uri = mcp_xstrndup(base, strlen(base));
    skill_file *m = &k->files[k->nfiles++];
    m->path = mcp_xstrndup(SKILL_MD, strlen(SKILL_MD));
    m->uri = mcp_xstrndup(k->uri, strlen(k->uri));
    m->mime = mcp_xstrndup("text/markdown", 13);
    m->text = true;
    m->len = strlen(md);
    m->data = mcp_xstrndup(md, m->len);
    render_kid(&k->dirs[0], m->uri, SKILL_MD, m->mime, (int64_t)m->len);
}

/* Builds a skill from def: everything checked, copied, digested and rendered. Returns 0 with
 * *out set, or MCP_EINVAL. */
static int skill_build(const mcp_skill_def *def, const char *authority, skill **out, char *err,
                       size_t errsize)
{
    int rc = check_def(def, err, errsize);
    if (rc) return rc;
    mcp_buf fmj;
    mcp_buf_init(&fmj, NULL, 0, 0);
    fm_result f = {NULL, NULL};
    rc = fm_parse(def->skill_md, strlen(def->skill_md), &fmj, &f, err, errsize);
    skill *k = mcp_xcalloc(1, sizeof *k);
    k->name = f.name;
    k->description = f.description;
    if (!rc) {
        char *base = authority ? str_printf("skill://%s/%s", authority, k->name)
                               : str_printf("skill://%s", k->name);
        add_manifest(k, base, def->skill_md, def->nfiles);
        for (size_t i = 0; i < def->nfiles && !rc; i++)
            rc = add_file(k, base, i, &def->files[i], err, errsize);
        free(base);
    }
    if (!rc) render_entry(k, &fmj);
    mcp_buf_free(&fmj);
    if (rc) {
        skill_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

/* ---- registration -------------------------------------------------------------------------- */

static void read_file(mcp_ctx *c, void *ud)
{
    const skill_file *f = ud;
    if (f->text)
        mcp_ctx_resource_text(c, f->uri, f->mime, f->data);
    else
        mcp_ctx_resource_blob(c, f->uri, f->mime, f->data, f->len);
    mcp_ctx_finish(c);
}

/* Registers the files of k as resources; on failure removes those it added. */
static int add_resources(mcp_server *s, skill *k, char *err, size_t errsize)
{
    for (size_t i = 0; i < k->nfiles; i++) {
        skill_file *f = &k->files[i];
        char *name = i ? str_printf("%s/%s", k->name, f->path) : NULL;
        char *desc = i ? str_printf("%s, a file of the skill %s", f->path, k->name) : NULL;
        mcp_resource_def r = {.uri = f->uri,
                              .name = i ? name : k->name,
                              .description = i ? desc : k->description,
                              .mime_type = f->mime,
                              .size = (int64_t)f->len,
                              .handler = read_file,
                              .ud = f,
                              .flags = MCP_INLINE};
        int rc = mcp_server_add_resource(s, &r, err, errsize);
        free(name);
        free(desc);
        if (rc) {
            if (rc == MCP_EEXIST) srv_seterr(err, errsize, "%s: already registered", f->uri);
            while (i--) mcp_server_remove_resource(s, k->files[i].uri);
            return rc;
        }
    }
    return 0;
}

int srv_add_skill(mcp_server *s, const mcp_skill_def *def, char *err, size_t errsize)
{
    if (!s || !def) return srv_seterr(err, errsize, "no definition");
    skill_set *set = skills_of(s);
    if (def->authority && !reg_name_ok(def->authority))
        return srv_seterr(err, errsize,
                          "authority: must be an RFC 3986 reg-name (unreserved "
                          "characters and sub-delims)");
    pthread_rwlock_rdlock(&set->lock);
    char *auth = def->authority   ? mcp_xstrndup(def->authority, strlen(def->authority))
                 : set->authority ? mcp_xstrndup(set->authority, strlen(set->authority))
                                  : NULL;
    pthread_rwlock_unlock(&set->lock);
    skill *k = NULL;
    int rc = skill_build(def, auth, &k, err, errsize);
    free(auth);
    if (rc) return rc;
    rc = add_resources(s, k, err, errsize);
    if (rc) {
        skill_free(k);
        return rc;
    }
    pthread_rwlock_wrlock(&set->lock);
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 8;
        set->items = mcp_xrealloc(set->items, set->cap * sizeof *set->items);
    }
    k->seq = ++set->next_seq;
    set->items[set->n++] = k;
    atomic_store(&set->any, true);
    pthread_rwlock_unlock(&set->lock);
    return 0;
}

int mcp_server_set_skill_authority(mcp_server *s, const char *authority)
{
    if (!s || (authority && !reg_name_ok(authority))) return MCP_EINVAL;
    char *a = authority ? mcp_xstrndup(authority, strlen(authority)) : NULL;
    pthread_rwlock_wrlock(&skills_of(s)->lock);
    free(skills_of(s)->authority);
    skills_of(s)->authority = a;
    pthread_rwlock_unlock(&skills_of(s)->lock);
    return 0;
}

static void *skills_init(mcp_server *s)
{
    skill_set *set = mcp_xcalloc(1, sizeof *set);
    pthread_rwlock_init(&set->lock, NULL);
    return set;
}

static void skills_free(mcp_server *s, void *st)
{
    skill_set *set = st;
    for (size_t i = 0; i < set->n; i++) skill_free(set->items[i]);
    free(set->items);
    free(set->authority);
    pthread_rwlock_destroy(&set->lock);
    free(set);
}

/* True once a skill is registered: the extension is declared, its methods answer. */
static bool skills_any(mcp_server *s, void *st)
{
    return atomic_load(&((skill_set *)st)->any);
}

/* ---- requests ------------------------------------------------------------------------------ */

static void begin(mcp_ctx *ctx, mcp_buf *b, char *stack, size_t size)
{
    mcp_buf_init(b, stack, size, MAX_RESULT);
    rpc_begin_result(b, &ctx->id);
    mcp_buf_putc(b, '{');
}

static void do_list(mcp_ctx *ctx)
{
    uint64_t after;
    if (cursor_read(ctx, "skills", NULL, 0, &after)) return;
    mcp_server *s = ctx->conn->srv;
    char stack[8192];
    mcp_buf b;
    begin(ctx, &b, stack, sizeof stack);
    LIT(&b, "\"skills\":[");
    pthread_rwlock_rdlock(&skills_of(s)->lock);
    skill_set *set = skills_of(s);
    size_t i = 0, shown = 0;
    while (i < set->n && set->items[i]->seq <= after) i++;
    bool first = true; /* a skill is visible when its SKILL.md is (the item filter) */
    for (; i < set->n && shown < s->page_size; i++, shown++) {
        if (!item_visible(s, ctx->principal, REG_RESOURCE, set->items[i]->uri)) continue;
        if (!first) mcp_buf_putc(&b, ',');
        first = false;
        mcp_buf_append(&b, set->items[i]->json, set->items[i]->json_len);
    }
    mcp_buf_putc(&b, ']');
    if (i < set->n) cursor_write(s, &b, "skills", set->items[i - 1]->seq, NULL, 0);
    pthread_rwlock_unlock(&skills_of(s)->lock);
    result_finish(ctx, &b, true, items_private(s, ctx->principal));
}

/* params.uri, or NULL after answering -32602. */
static const char *need_uri(mcp_ctx *ctx, size_t *len)
{
    const char *s = NULL;
    char err[160];
    int rc = json_get_str(ctx->params, "uri", &s, len, "params", err, sizeof(err));
    if (rc == 1) return s;
    if (rc == 0) snprintf(err, sizeof(err), "params.uri: required");
    ctx_invalid(ctx, "invalid params: %s", err);
    return NULL;
}

static void do_get(mcp_ctx *ctx)
{
    size_t n;
    const char *uri = need_uri(ctx, &n);
    if (!uri) return;
    skill_set *set = skills_of(ctx->conn->srv);
    char stack[8192];
    mcp_buf b;
    begin(ctx, &b, stack, sizeof stack);
    bool found = false;
    pthread_rwlock_rdlock(&set->lock);
    for (size_t i = 0; i < set->n && !found; i++) {
        const skill *k = set->items[i];
        if (strlen(k->uri) != n || memcmp(k->uri, uri, n)) continue;
        if (!item_visible(ctx->conn->srv, ctx->principal, REG_RESOURCE, k->uri)) break;
        LIT(&b, "\"skill\":");
        mcp_buf_append(&b, k->json, k->json_len);
        found = true;
    }
    pthread_rwlock_unlock(&set->lock);
    if (found) return result_finish(ctx, &b, true, items_private(ctx->conn->srv, ctx->principal));
    mcp_buf_free(&b);
    ctx_invalid(ctx, "invalid params: no skill has the uri '%.200s'", uri);
}

static void do_dir_read(mcp_ctx *ctx)
{
    size_t n;
    const char *uri = need_uri(ctx, &n);
    if (!uri) return;
    if (n > 1 && uri[n - 1] == '/') n--;
    uint64_t from; /* a cursor is good for the directory it came from only */
    if (cursor_read(ctx, "directory", uri, n, &from)) return;
    mcp_server *s = ctx->conn->srv;
    skill_set *set = skills_of(s);
    char stack[8192];
    mcp_buf b;
    begin(ctx, &b, stack, sizeof stack);
    const skill_dir *d = NULL;
    pthread_rwlock_rdlock(&set->lock);
    for (size_t i = 0; i < set->n && !d; i++)
        for (size_t j = 0; j < set->items[i]->ndirs && !d; j++) {
            const skill_dir *x = &set->items[i]->dirs[j];
            if (strlen(x->uri) == n && !memcmp(x->uri, uri, n)) d = x;
        }
    if (d && !item_visible(s, ctx->principal, REG_RESOURCE, d->uri)) d = NULL; /* as missing */
    if (d) {
        LIT(&b, "\"resources\":[");
        size_t end = from + s->page_size;
        if (end > d->nkids) end = d->nkids;
        for (size_t i = from; i < end; i++) {
            if (i > from) mcp_buf_putc(&b, ',');
            mcp_buf_append(&b, d->kids[i].json, d->kids[i].len);
        }
        mcp_buf_putc(&b, ']');
        if (end < d->nkids) cursor_write(s, &b, "directory", end, uri, n);
    }
    pthread_rwlock_unlock(&set->lock);
    if (d) return result_finish(ctx, &b, true, items_private(s, ctx->principal));
    mcp_buf_free(&b);
    ctx_invalid(ctx, "invalid params: '%.200s' is not a directory of a skill", uri);
}

/* ---- the feature --------------------------------------------------------------------------- */

#define METHOD(name, call)                                                                         \
    static void name(mcp_ctx *ctx, const mcp_msg_info *info)                                       \
    {                                                                                              \
        (void)info;                                                                                \
        call(ctx);                                                                                 \
    }
METHOD(m_list, do_list)
METHOD(m_get, do_get)
METHOD(m_dir_read, do_dir_read)

/* The extension exists in 2026-07-28 only (no legacy spec defines it). */
static const feature_method skills_methods[] = {
    {"skills/list", ERAS_MODERN, M_EXT, NULL, m_list},
    {"skills/get", ERAS_MODERN, M_EXT, NULL, m_get},
    {"resources/directory/read", ERAS_MODERN, M_EXT, NULL, m_dir_read},
};

static void skills_capabilities(mcp_server *s, void *st, int era, mcp_buf *caps, mcp_buf *exts)
{
    if (era == ERA_MODERN && skills_any(s, st))
        LIT(exts, ",\"io.modelcontextprotocol/skills\":{\"directoryRead\":true}");
}

const feature skills_feature = {
    .name = "skills",
    .methods = skills_methods,
    .nmethods = sizeof skills_methods / sizeof *skills_methods,
    .init = skills_init,
    .free = skills_free,
    .available = skills_any,
    .capabilities = skills_capabilities,
};
