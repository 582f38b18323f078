/* resdir.c - a directory served as MCP resources, kept in step with the file system.
 *
 * At start the tree is walked once (openat + fdopendir, never following a symlinked
 * directory) and every regular file is registered with mcp_server_add_resource; libmcp pages
 * resources/list. The set of registered relative paths is kept sorted (binary search, and
 * prefix ranges for path completion) under a mutex, since the watcher thread changes it while
 * handler threads read it.
 *
 * Reads never trust the URI: the path is decoded, checked lexically (fsroot_check_path, hidden
 * segments) and opened through fsroot_open beneath the root's fd, non-blocking (a FIFO planted
 * in the tree cannot hang a handler), then fstat'd (regular files only) and read up to the cap.
 *
 * The watcher is one libuv loop on one thread for the whole process (W below), with one
 * uv_fs_event per directory (inotify is
 * not recursive), created for the directories found by the walk and for those created later.
 * An event names a directory entry; it is noted, and FLUSH_MS later each noted path is looked at
 * once (what is there now, through fsroot without following a final symlink) and registrations
 * are added, updated or removed to match: a burst of events for one file (an editor's save, a
 * large file written in many pieces) is one notification, and reordered events converge.
 * resdir_new and resdir_free post a start (the walk) and a stop (closing d's handles) to the
 * loop and wait for them. */
#include "resdir.h"

#include "ctxjson.h"
#include "fsroot.h"
#include "mime.h"
#include "mount.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define MAX_WATCHED_DIRS 4096
#define FLUSH_MS         50   /* events for one path within this are looked at once */
#define MAX_PENDING      4096 /* paths waiting for the flush */

/* The watcher loop: one libuv loop on one thread for every resdir of the process, started at
 * the first resdir that watches and kept to the end (its fds are never closed and reused while
 * other threads run, and a reload starts no thread). Other threads talk to it by posting a
 * resdir with a command (start or stop) and waiting until it is done. */
static struct {
    pthread_once_t once;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    uv_loop_t loop;
    uv_async_t wake;
    struct resdir *cmds; /* posted, under mu */
    bool ok;
} W = {
    .once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

typedef struct watch {
    uv_fs_event_t ev;
    struct resdir *d;
    char *rel;    /* "" for the root, else "a/b" */
    bool closing; /* uv_close called */
    bool counted; /* closed by a stop, which waits for it */
} watch;

struct resdir {
    mcp_server *srv;
    mount *m; /* the ud of every registration: see mount.h */
    char *name, *root, *prefix, *description, *tmpl_uri;
    size_t prefix_len;
    size_t max_file_bytes, max_files;
    unsigned max_depth;
    bool include_hidden, template_;
    resdir_mime *mime;
    size_t nmime;
    int rootfd;

    pthread_mutex_t mu; /* guards files, nfiles */
    char **files;       /* sorted relative paths of registered files */
    size_t nfiles, cap;
    bool capped_logged;

    /* the watcher: everything below is touched only on the watcher loop's thread */
    bool watching;
    uv_timer_t flush; /* coalesces events: see note_change */
    char **pending;   /* relative paths changed since the flush timer started */
    size_t npending, pcap;
    int closing; /* handles still closing after a stop */
    bool done;   /* the posted start or stop finished (under W.mu) */
    struct resdir *next_cmd;
    int cmd;
    watch **watches;
    size_t nwatches;
};

static void logf_(const resdir *d, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(const resdir *d, const char *level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mcpd: %s: resources %s: %s\n", level, d->name, msg);
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p) abort();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) abort();
    return p;
}

/* ---- URIs ---------------------------------------------------------------------------------- */

static bool uri_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '/';
}

/* prefix + rel with every byte outside unreserved and '/' percent-encoded. Caller frees. */
static char *uri_of(const resdir *d, const char *rel)
{
    size_t n = strlen(rel);
    char *u = malloc(d->prefix_len + 3 * n + 1), *o;
    if (!u) abort();
    memcpy(u, d->prefix, d->prefix_len);
    o = u + d->prefix_len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)rel[i];
        if (uri_plain(c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = "0123456789ABCDEF"[c >> 4];
            *o++ = "0123456789ABCDEF"[c & 15];
        }
    }
    *o = '\0';
    return u;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s into out[outsize]; returns the length, or -1 if malformed or too long. */
static long pct_decode(const char *s, char *out, size_t outsize)
{
    size_t o = 0;
    for (const char *p = s; *p; p++) {
        if (o + 1 >= outsize) return -1;
        if (*p != '%') {
            out[o++] = *p;
            continue;
        }
        int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
        if (hi < 0 || lo < 0) return -1;
        out[o++] = (char)(hi * 16 + lo);
        p += 2;
    }
    out[o] = '\0';
    return (long)o;
}

/* ---- the set of registered paths ------------------------------------------------------------ */

/* Index of rel in files, or of where it would go (*found says which). Caller holds mu. */
static size_t files_find(const resdir *d, const char *rel, bool *found)
{
    size_t lo = 0, hi = d->nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->files[mid], rel);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

size_t resdir_count(resdir *d)
{
    pthread_mutex_lock(&d->mu);
    size_t n = d->nfiles;
    pthread_mutex_unlock(&d->mu);
    return n;
}

static bool hidden_segment(const char *rel)
{
    for (const char *p = rel; *p; p++)
        if (*p == '.' && (p == rel || p[-1] == '/')) return true;
    return false;
}

static const char *mime_of(const resdir *d, const char *rel)
{
    const char *slash = strrchr(rel, '/'), *base = slash ? slash + 1 : rel;
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        for (size_t i = 0; i < d->nmime; i++)
            if (!strcasecmp(dot + 1, d->mime[i].ext)) return d->mime[i].mime;
    return mime_by_name(base);
}

static void on_read(mcp_ctx *ctx, void *ud);

/* Registers rel (a regular file beneath the root). Returns true if it is registered now. */
static bool file_add(resdir *d, const char *rel)
{
    pthread_mutex_lock(&d->mu);
    bool found;
    size_t at = files_find(d, rel, &found);
    if (found || d->nfiles >= d->max_files) {
        bool log_cap = !found && !d->capped_logged;
        if (log_cap) d->capped_logged = true;
        pthread_mutex_unlock(&d->mu);
        if (log_cap)
            logf_(d, "warning", "more than max_files (%zu) files: the rest are not listed",
                  d->max_files);
        return found;
    }
    if (d->nfiles == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->files = xrealloc(d->files, d->cap * sizeof(*d->files));
    }
    memmove(d->files + at + 1, d->files + at, (d->nfiles - at) * sizeof(*d->files));
    d->files[at] = xstrdup(rel);
    d->nfiles++;
    pthread_mutex_unlock(&d->mu);

    char *uri = uri_of(d, rel);
    mcp_resource_def def = {.uri = uri,
                            .name = rel,
                            .description = d->description,
                            .mime_type = mime_of(d, rel),
                            .size = -1,
                            .handler = on_read,
                            .ud = d->m};
    char err[256];
    int rc = mcp_server_add_resource(d->srv, &def, err, sizeof err);
    if (rc && rc != MCP_EEXIST) logf_(d, "warning", "%s: not served: %s", uri, err);
    free(uri);
    return true;
}

/* Unregisters rel if it is registered. Returns true if it was. */
static bool file_remove(resdir *d, const char *rel)
{
    pthread_mutex_lock(&d->mu);
    bool found;
    size_t at = files_find(d, rel, &found);
    if (found) {
        free(d->files[at]);
        memmove(d->files + at, d->files + at + 1, (d->nfiles - at - 1) * sizeof(*d->files));
        d->nfiles--;
    }
    pthread_mutex_unlock(&d->mu);
    if (!found) return false;
    char *uri = uri_of(d, rel);
    mcp_server_remove_resource(d->srv, uri);
    mcp_server_resource_updated(d->srv, uri);
    free(uri);
    return true;
}

/* Copies the registered paths under dir ("" for all) into a new array (caller frees each and
 * the array); *n gets the count. */
static char **files_under(resdir *d, const char *dir, size_t *n)
{
    size_t dl = strlen(dir);
    pthread_mutex_lock(&d->mu);
    char **out = malloc((d->nfiles + 1) * sizeof(*out));
    if (!out) abort();
    size_t k = 0;
    for (size_t i = 0; i < d->nfiles; i++)
        if (!dl || (!strncmp(d->files[i], dir, dl) && d->files[i][dl] == '/'))
            out[k++] = xstrdup(d->files[i]);
    pthread_mutex_unlock(&d->mu);
    *n = k;
    return out;
}

/* ---- the walk ------------------------------------------------------------------------------- */

static void join_rel(char *out, size_t size, const char *dir, const char *name)
{
    if (*dir)
        snprintf(out, size, "%s/%s", dir, name);
    else
        snprintf(out, size, "%s", name);
}

static void watch_dir(resdir *d, const char *rel);

/* True if rel may become a resource: a path fsroot accepts, and UTF-8 (a URI, a name and a
 * completion value are made of it; a file whose name is not text is left out of the list). */
static bool servable_name(const char *rel)
{
    size_t n = strlen(rel);
    return !fsroot_check_path(rel, n) && mime_utf8_text(rel, n);
}

/* What rel is now, seen from the root without following a final symlink: 'f' a regular file
 * (or a symlink to one that stays beneath the root), 'd' a directory, 0 anything else. */
static char entry_kind(resdir *d, const char *rel)
{
    struct stat st;
    int fd = fsroot_open(d->rootfd, rel, O_PATH | O_NOFOLLOW);
    if (fd < 0) return 0;
    int rc = fstat(fd, &st);
    close(fd);
    if (rc) return 0;
    if (S_ISDIR(st.st_mode)) return 'd';
    if (S_ISREG(st.st_mode)) return 'f';
    if (!S_ISLNK(st.st_mode)) return 0;
    fd = fsroot_open(d->rootfd, rel, O_PATH);
    if (fd < 0) return 0; /* dangling, or leads out of the root */
    rc = fstat(fd, &st);
    close(fd);
    return !rc && S_ISREG(st.st_mode) ? 'f' : 0;
}

/* Registers the files beneath rel ("" for the root), depth levels down; with watch, watches
 * every directory met. */
static void walk(resdir *d, const char *rel, unsigned depth)
{
    int fd = *rel ? fsroot_open(d->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
                  : openat(d->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return;
    }
    if (d->watching) watch_dir(d, rel);
    struct dirent *de;
    char path[FSROOT_PATH_MAX + 2];
    while ((de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (de->d_name[0] == '.' && !d->include_hidden) continue;
        join_rel(path, sizeof path, rel, de->d_name);
        if (!servable_name(path)) continue;
        char kind = entry_kind(d, path);
        if (kind == 'f')
            file_add(d, path);
        else if (kind == 'd' && depth < d->max_depth)
            walk(d, path, depth + 1);
    }
    closedir(dir);
}

/* ---- reading -------------------------------------------------------------------------------- */

/* Reads rel into a malloc'd buffer (NUL-terminated) of at most max_file_bytes; on failure ends
 * the ctx with a precise error and returns NULL. */
static char *read_file(resdir *d, mcp_ctx *ctx, const char *uri, const char *rel, size_t *len)
{
    int fd = fsroot_open(d->rootfd, rel, O_RDONLY | O_NONBLOCK);
    if (fd == -ENOENT) {
        mcp_ctx_fail(ctx, ctx_resource_not_found_code(ctx), "Resource not found: %.300s", uri);
        return NULL;
    }
    if (fd < 0) {
        mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS, "%.300s: %s", uri, fsroot_strerror(fd));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS, "%.300s: not a regular file", uri);
        return NULL;
    }
    if ((uint64_t)st.st_size > d->max_file_bytes) {
        close(fd);
        mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS,
                     "%.300s: the file is %lld bytes, over this server's limit of %zu bytes "
                     "(max_file_bytes)",
                     uri, (long long)st.st_size, d->max_file_bytes);
        return NULL;
    }
    char *buf = malloc(d->max_file_bytes + 2);
    if (!buf) abort();
    size_t n = 0;
    for (;;) { /* the file may have grown since fstat: read one byte past the cap to know */
        ssize_t r = read(fd, buf + n, d->max_file_bytes + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(buf);
            mcp_ctx_fail(ctx, MCP_ERR_INTERNAL, "%.300s: read failed: %s", uri, strerror(e));
            return NULL;
        }
        if (r == 0 || (n += (size_t)r) > d->max_file_bytes) break;
    }
    close(fd);
    if (n > d->max_file_bytes) {
        free(buf);
        mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS,
                     "%.300s: the file grew past this server's limit of %zu bytes", uri,
                     d->max_file_bytes);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void serve(resdir *d, mcp_ctx *ctx, const char *uri, const char *rel)
{
    const char *bad = fsroot_check_path(rel, strlen(rel));
    if (bad) return mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS, "%.300s: %s", uri, bad);
    if (!d->include_hidden && hidden_segment(rel))
        return mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS,
                            "%.300s: hidden files are not served (include_hidden is off)", uri);
    size_t n;
    char *buf = read_file(d, ctx, uri, rel, &n);
    if (!buf) return;
    const char *mime = mime_of(d, rel);
    bool text = mime_utf8_text(buf, n);
    if (mime && !mime_is_text(mime)) text = false;
    if (!mime) mime = text ? "text/plain" : "application/octet-stream";
    if (text)
        mcp_ctx_resource_text(ctx, uri, mime, buf);
    else
        mcp_ctx_resource_blob(ctx, uri, mime, buf, n);
    free(buf);
    mcp_ctx_finish(ctx);
}

/* resources/read of a registered file: the URI is ours, so it starts with the prefix. */
static void on_read(mcp_ctx *ctx, void *ud)
{
    resdir *d = mount_enter(ud);
    const char *uri = mcp_ctx_name(ctx);
    char rel[FSROOT_PATH_MAX + 1];
    if (!d || !uri || strncmp(uri, d->prefix, d->prefix_len))
        mcp_ctx_fail(ctx, ctx_resource_not_found_code(ctx), "Resource not found: %.300s",
                     uri ? uri : "");
    else if (pct_decode(uri + d->prefix_len, rel, sizeof rel) < 0)
        mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS, "%.300s: malformed percent-encoding", uri);
    else
        serve(d, ctx, uri, rel);
    mount_leave(ud);
}

/* resources/read through the template: the engine matched and decoded {path}. */
static void on_template_read(mcp_ctx *ctx, void *ud)
{
    resdir *d = mount_enter(ud);
    const char *uri = mcp_ctx_name(ctx);
    size_t len = 0;
    const char *rel = mcp_json_str(mcp_json_get(ctx_args_json(ctx), "path"), &len);
    if (!d)
        mcp_ctx_fail(ctx, ctx_resource_not_found_code(ctx), "Resource not found: %.300s",
                     uri ? uri : "");
    else if (!rel || strlen(rel) != len)
        mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS, "%.300s: path contains a NUL byte",
                     uri ? uri : "");
    else
        serve(d, ctx, uri, rel);
    mount_leave(ud);
}

/* completion/complete for the template's {path}: registered paths starting with the value. */
static void on_template_complete(mcp_ctx *ctx, void *ud)
{
    resdir *d = mount_enter(ud);
    if (!d) {
        mount_leave(ud);
        mcp_ctx_complete_total(ctx, 0, false);
        mcp_ctx_finish(ctx);
        return;
    }
    const mcp_json *arg = mcp_json_get(ctx_args_json(ctx), "argument");
    size_t vlen = 0;
    const char *v = mcp_json_str(mcp_json_get(arg, "value"), &vlen);
    if (!v) v = "";
    int64_t total = 0;
    pthread_mutex_lock(&d->mu);
    bool found;
    for (size_t i = files_find(d, v, &found); i < d->nfiles; i++) {
        if (strncmp(d->files[i], v, vlen)) break;
        if (total++ < 100) mcp_ctx_complete_value(ctx, d->files[i]);
    }
    pthread_mutex_unlock(&d->mu);
    mount_leave(ud);
    mcp_ctx_complete_total(ctx, total, total > 100);
    mcp_ctx_finish(ctx);
}

int ctx_resource_not_found_code(const mcp_ctx *c)
{
    const char *v = mcp_ctx_protocol_version(c);
    return v && strcmp(v, "2026-07-28") >= 0 ? MCP_ERR_INVALID_PARAMS : -32002;
}

/* ---- the watcher (loop thread) ----------------------------------------------------------------
 */

static void cmd_done(resdir *d);

static void on_watch_closed(uv_handle_t *h)
{
    watch *w = h->data;
    resdir *d = w->d;
    bool counted = w->counted;
    free(w->rel);
    free(w);
    if (counted && !--d->closing) cmd_done(d);
}

static void unwatch_at(resdir *d, size_t i)
{
    watch *w = d->watches[i];
    d->watches[i] = d->watches[--d->nwatches];
    w->closing = true;
    uv_fs_event_stop(&w->ev);
    uv_close((uv_handle_t *)&w->ev, on_watch_closed);
}

/* Stops watching rel and every directory beneath it. */
static void unwatch_tree(resdir *d, const char *rel)
{
    size_t rl = strlen(rel);
    for (size_t i = d->nwatches; i-- > 0;) {
        const char *r = d->watches[i]->rel;
        if (!strcmp(r, rel) || (!strncmp(r, rel, rl) && r[rl] == '/')) unwatch_at(d, i);
    }
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status);
static void note_change(resdir *d, const char *rel);

static void watch_dir(resdir *d, const char *rel)
{
    for (size_t i = 0; i < d->nwatches; i++)
        if (!strcmp(d->watches[i]->rel, rel)) return;
    if (d->nwatches >= MAX_WATCHED_DIRS) {
        logf_(d, "warning", "%s: not watched: more than %d directories", rel, MAX_WATCHED_DIRS);
        return;
    }
    char abs[PATH_MAX + FSROOT_PATH_MAX + 2];
    snprintf(abs, sizeof abs, "%s%s%s", d->root, *rel ? "/" : "", rel);
    watch *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->d = d;
    w->rel = xstrdup(rel);
    uv_fs_event_init(&W.loop, &w->ev);
    w->ev.data = w;
    int rc = uv_fs_event_start(&w->ev, on_fs_event, abs, 0);
    if (rc) {
        logf_(d, "warning", "%s: cannot watch: %s", abs, uv_strerror(rc));
        uv_close((uv_handle_t *)&w->ev, on_watch_closed);
        return;
    }
    if (d->nwatches % 64 == 0) d->watches = xrealloc(d->watches, (d->nwatches + 64) * sizeof(w));
    d->watches[d->nwatches++] = w;
}

static unsigned depth_of(const char *rel)
{
    unsigned n = *rel ? 1 : 0;
    for (const char *p = rel; *p; p++) n += *p == '/';
    return n;
}

/* Something happened to rel: make the registry match what is there now. */
static void sync_entry(resdir *d, const char *rel)
{
    char kind = entry_kind(d, rel);
    if (kind == 'f') {
        if (!file_add(d, rel)) return;
        char *uri = uri_of(d, rel);
        mcp_server_resource_updated(d->srv, uri);
        free(uri);
        return;
    }
    file_remove(d, rel); /* a file replaced by a directory, or gone */
    if (kind == 'd') {
        if (depth_of(rel) <= d->max_depth) walk(d, rel, depth_of(rel));
        return;
    }
    /* gone: a directory removed takes its files and watches with it */
    size_t n;
    char **under = files_under(d, rel, &n);
    for (size_t i = 0; i < n; i++) {
        file_remove(d, under[i]);
        free(under[i]);
    }
    free(under);
    unwatch_tree(d, rel);
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    watch *w = h->data;
    if (w->closing) return;
    if (status < 0) {
        logf_(w->d, "warning", "watching %s: %s", *w->rel ? w->rel : ".", uv_strerror(status));
        return;
    }
    if (!filename || (filename[0] == '.' && !w->d->include_hidden)) return;
    char rel[FSROOT_PATH_MAX + 2];
    join_rel(rel, sizeof rel, w->rel, filename);
    if (servable_name(rel)) note_change(w->d, rel);
}

/* The changes noted since the timer started, each looked at once. */
static void on_flush(uv_timer_t *t)
{
    resdir *d = t->data;
    char **todo = d->pending;
    size_t n = d->npending;
    d->pending = NULL;
    d->npending = d->pcap = 0;
    for (size_t i = 0; i < n; i++) {
        sync_entry(d, todo[i]);
        free(todo[i]);
    }
    free(todo);
}

/* Notes that rel changed; the flush timer looks at it FLUSH_MS later, once however many events
 * came for it meanwhile (an editor's save, a large file written in many pieces). */
static void note_change(resdir *d, const char *rel)
{
    for (size_t i = 0; i < d->npending; i++)
        if (!strcmp(d->pending[i], rel)) return;
    if (d->npending == MAX_PENDING) { /* a storm: look at what we have now, then go on */
        uv_timer_stop(&d->flush);
        on_flush(&d->flush);
    }
    if (d->npending == d->pcap) {
        d->pcap = d->pcap ? d->pcap * 2 : 16;
        d->pending = xrealloc(d->pending, d->pcap * sizeof(*d->pending));
    }
    d->pending[d->npending++] = xstrdup(rel);
    if (!uv_is_active((uv_handle_t *)&d->flush)) uv_timer_start(&d->flush, on_flush, FLUSH_MS, 0);
}

static void on_flush_closed(uv_handle_t *h)
{
    resdir *d = h->data;
    if (!--d->closing) cmd_done(d);
}

/* Closes d's handles; cmd_done runs when the last one is closed. */
static void stop_on_loop(resdir *d)
{
    d->closing = (int)d->nwatches + 1;
    for (size_t i = 0; i < d->nwatches; i++) d->watches[i]->counted = true;
    while (d->nwatches) unwatch_at(d, d->nwatches - 1);
    uv_timer_stop(&d->flush);
    for (size_t i = 0; i < d->npending; i++) free(d->pending[i]);
    free(d->pending);
    d->pending = NULL;
    d->npending = 0;
    uv_close((uv_handle_t *)&d->flush, on_flush_closed);
}

/* Walks and watches d's tree (the walk registers the files too, so nothing created meanwhile
 * is missed). */
static void start_on_loop(resdir *d)
{
    uv_timer_init(&W.loop, &d->flush);
    d->flush.data = d;
    walk(d, "", 0);
    cmd_done(d);
}

static void cmd_done(resdir *d)
{
    pthread_mutex_lock(&W.mu);
    d->done = true;
    pthread_cond_broadcast(&W.cond);
    pthread_mutex_unlock(&W.mu);
}

static void on_wake(uv_async_t *a)
{
    pthread_mutex_lock(&W.mu);
    resdir *list = W.cmds;
    W.cmds = NULL;
    pthread_mutex_unlock(&W.mu);
    while (list) {
        resdir *d = list;
        list = d->next_cmd;
        if (d->cmd == 1)
            start_on_loop(d);
        else
            stop_on_loop(d);
    }
}

static void *watcher_main(void *arg)
{
    uv_run(&W.loop, UV_RUN_DEFAULT);
    return NULL;
}

static void watcher_init(void)
{
    pthread_t t;
    pthread_attr_t attr;
    uv_loop_init(&W.loop);
    uv_async_init(&W.loop, &W.wake, on_wake);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    W.ok = pthread_create(&t, &attr, watcher_main, NULL) == 0;
    pthread_attr_destroy(&attr);
}

/* Runs command cmd (1 start, 2 stop) for d on the watcher loop and waits for its end. Returns
 * false if the watcher thread could not be started. */
static bool watcher_run(resdir *d, int cmd)
{
    pthread_once(&W.once, watcher_init);
    if (!W.ok) return false;
    pthread_mutex_lock(&W.mu);
    d->cmd = cmd;
    d->done = false;
    d->next_cmd = W.cmds;
    W.cmds = d;
    pthread_mutex_unlock(&W.mu);
    uv_async_send(&W.wake);
    pthread_mutex_lock(&W.mu);
    while (!d->done) pthread_cond_wait(&W.cond, &W.mu);
    pthread_mutex_unlock(&W.mu);
    return true;
}

/* ---- life ------------------------------------------------------------------------------------ */

static bool prefix_ok(const char *p)
{
    size_t n = strlen(p);
    const char *colon = strchr(p, ':');
    if (!colon || colon == p || n < 3 || n > 512 || p[n - 1] != '/') return false;
    for (const char *q = p; q < colon; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
              (q > p && ((*q >= '0' && *q <= '9') || *q == '+' || *q == '-' || *q == '.'))))
            return false;
    for (const char *q = colon; *q; q++)
        if ((unsigned char)*q <= 0x20 || strchr("{}\"<>\\^`|#?", *q)) return false;
    return true;
}

static int check_config(const resdir_config *c, char *err, size_t errsize)
{
    if (!c->name || !*c->name) return mcpd_seterr(err, errsize, "name: required");
    if (!c->root || !*c->root) return mcpd_seterr(err, errsize, "root: required");
    if (c->uri_prefix && !prefix_ok(c->uri_prefix))
        return mcpd_seterr(
            err, errsize,
            "uri_prefix: expected an absolute URI ending in '/' (e.g. \"file:///docs/\"), "
            "without spaces, '{', '}', '?' or '#'");
    if (c->max_file_bytes > (64u << 20))
        return mcpd_seterr(err, errsize, "max_file_bytes: at most 67108864 (64 MiB)");
    if (c->max_files > 100000) return mcpd_seterr(err, errsize, "max_files: at most 100000");
    if (c->max_depth > 64 || c->max_depth < -1)
        return mcpd_seterr(err, errsize, "max_depth: from 0 to 64");
    for (size_t i = 0; i < c->nmime; i++)
        if (!c->mime[i].ext || !*c->mime[i].ext || strchr(c->mime[i].ext, '.') ||
            !mime_valid(c->mime[i].mime))
            return mcpd_seterr(err, errsize,
                               "mime: expected {\"ext\": \"type/subtype\"} with extensions given "
                               "without the dot");
    return 0;
}

resdir *resdir_new(mcp_server *s, const resdir_config *c, char *err, size_t errsize)
{
    if (check_config(c, err, errsize)) return NULL;
    int rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        mcpd_seterr(err, errsize, "root: %s: %s", c->root, strerror(errno));
        return NULL;
    }
    char key[600];
    snprintf(key, sizeof key, "resources:%s", c->uri_prefix ? c->uri_prefix : c->name);
    mount *m = mount_get(key);
    if (!m) {
        close(rootfd);
        mcpd_seterr(err, errsize, "too many resource directories and prompts (at most 1024)");
        return NULL;
    }
    resdir *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->srv = s;
    d->m = m;
    d->rootfd = rootfd;
    d->name = xstrdup(c->name);
    char *real = realpath(c->root, NULL);
    d->root = xstrdup(real ? real : c->root);
    free(real);
    if (c->uri_prefix) {
        d->prefix = xstrdup(c->uri_prefix);
    } else {
        d->prefix = malloc(strlen(c->name) * 3 + 16);
        if (!d->prefix) abort();
        sprintf(d->prefix, "file:///%s/", c->name);
    }
    d->prefix_len = strlen(d->prefix);
    d->description = c->description ? xstrdup(c->description) : NULL;
    d->max_file_bytes = c->max_file_bytes ? c->max_file_bytes : (1u << 20);
    d->max_files = c->max_files ? c->max_files : 10000;
    d->max_depth = c->max_depth < 0 ? 16 : (unsigned)c->max_depth;
    d->include_hidden = c->include_hidden;
    d->template_ = c->template_;
    d->nmime = c->nmime;
    d->mime = calloc(c->nmime + 1, sizeof(*d->mime));
    if (!d->mime) abort();
    for (size_t i = 0; i < c->nmime; i++)
        d->mime[i] = (resdir_mime){xstrdup(c->mime[i].ext), xstrdup(c->mime[i].mime)};
    pthread_mutex_init(&d->mu, NULL);

    if (!s) { /* checking a config only (mcpd --check-config): nothing to serve */
        return d;
    }
    d->watching = c->watch;
    if (!d->watching || !watcher_run(d, 1)) {
        if (d->watching) logf_(d, "warning", "cannot start the watcher thread: not watching");
        d->watching = false;
        walk(d, "", 0);
    }
    if (d->template_) {
        size_t n = d->prefix_len + 8;
        d->tmpl_uri = malloc(n);
        if (!d->tmpl_uri) abort();
        snprintf(d->tmpl_uri, n, "%s{path}", d->prefix);
        char tdesc[600];
        snprintf(tdesc, sizeof tdesc, "Any file of %s by its path (a '/' in it as %%2F)%s%s",
                 c->name, d->description ? ": " : "", d->description ? d->description : "");
        mcp_template_def t = {.uri_template = d->tmpl_uri,
                              .name = d->name,
                              .description = tdesc,
                              .handler = on_template_read,
                              .complete = on_template_complete,
                              .ud = d->m};
        char terr[256];
        int rc = mcp_server_add_template(s, &t, terr, sizeof terr);
        if (rc && rc != MCP_EEXIST) {
            mcpd_seterr(err, errsize, "uri_prefix: %s", terr);
            free(d->tmpl_uri);
            d->tmpl_uri = NULL;
            resdir_free(d);
            return NULL;
        }
    }
    logf_(d, "info", "serving %zu files of %s as %s%s", d->nfiles, d->root, d->prefix,
          d->watching ? ", watching for changes" : "");
    return d;
}

void resdir_activate(resdir *d)
{
    if (d->srv) mount_take(d->m, d);
}

/* Removes what d registered, except what a newer resdir on the same mount serves too. */
static void unregister_all(resdir *d)
{
    bool mine = mount_release(d->m, d);
    resdir *next = mine ? NULL : mount_enter(d->m);
    if (d->tmpl_uri && !(next && next->tmpl_uri && !strcmp(next->tmpl_uri, d->tmpl_uri)))
        mcp_server_remove_template(d->srv, d->tmpl_uri);
    for (size_t i = 0; i < d->nfiles; i++) {
        bool keep = false;
        if (next) {
            pthread_mutex_lock(&next->mu);
            files_find(next, d->files[i], &keep);
            pthread_mutex_unlock(&next->mu);
        }
        if (keep) continue;
        char *uri = uri_of(d, d->files[i]);
        mcp_server_remove_resource(d->srv, uri);
        free(uri);
    }
    if (!mine) mount_leave(d->m);
}

void resdir_free(resdir *d)
{
    if (!d) return;
    if (d->watching) watcher_run(d, 2);
    free(d->watches);
    unregister_all(d);
    for (size_t i = 0; i < d->nfiles; i++) free(d->files[i]);
    free(d->files);
    for (size_t i = 0; i < d->nmime; i++) {
        free((char *)d->mime[i].ext);
        free((char *)d->mime[i].mime);
    }
    free(d->mime);
    pthread_mutex_destroy(&d->mu);
    close(d->rootfd);
    free(d->tmpl_uri);
    free(d->name);
    free(d->root);
    free(d->prefix);
    free(d->description);
    free(d);
}
