/* access_log.c - the access log: formatting records into lines, and the per-worker writer.
 *
 * Formatting: every field has a fixed place and a bound. Strings are escaped so that nothing a
 * client sends can end a line or fake a field: in JSON lines per RFC 8259 (", \ and control
 * characters escaped, DEL as \u007f, invalid UTF-8 bytes as \ufffd), in text quoted with ", \,
 * control and non-ASCII bytes as \xHH. A value longer than its bound is cut (on a character
 * boundary in JSON) and ends with "...", so a line stays under ACCESS_LINE_MAX whatever comes.
 *
 * Writing: each worker loop appends to a buffer of its own (no lock, no shared cache line);
 * the buffer goes out with one write() when the next line might not fit, and at the worker's
 * tick (every 250 ms) when it holds anything. The file is opened with O_APPEND, so the
 * workers' writes land whole and never overwrite each other. On stderr, which may be a pipe
 * shared with the log, writes are cut at line boundaries under PIPE_BUF so that they stay
 * atomic too. A failed write loses its lines: they are counted, and the failure is logged once
 * (and its end once, when writing works again); it never stops serving. Rotation reopens the
 * path and dup2()s the new file onto the old descriptor, so writers never see a closed fd. */
#include "transport/access_log.h"

#include "base/alloc.h"
#include "base/log.h"
#include "rt/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (64u << 10)

/* ---- formatting ------------------------------------------------------------------------------ */

typedef struct lw {
    char *p, *end; /* end leaves room for the newline */
} lw;

/* Short pieces (most of a line) are copied inline: a memcpy call each costs more. */
static inline void put(lw *w, const char *s, size_t n)
{
    if (n > (size_t)(w->end - w->p)) n = (size_t)(w->end - w->p);
    if (n <= 16)
        for (size_t i = 0; i < n; i++) w->p[i] = s[i];
    else
        memcpy(w->p, s, n);
    w->p += n;
}

static inline void put1(lw *w, char c)
{
    if (w->p < w->end) *w->p++ = c;
}

#define PUTL(w, lit) put((w), (lit), sizeof(lit) - 1)

static void puts_(lw *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Decimal digits of v, at least width of them (zero-padded): no printf on the per-line path. */
static void putu_w(lw *w, uint64_t v, int width)
{
    char t[24];
    int n = 0;
    do {
        t[sizeof t - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < width);
    put(w, t + sizeof t - n, (size_t)n);
}

static void putu(lw *w, uint64_t v)
{
    putu_w(w, v, 1);
}

static void hex2(lw *w, const char *pre, unsigned char c)
{
    static const char hx[] = "0123456789abcdef";
    put(w, pre, strlen(pre));
    put1(w, hx[c >> 4]);
    put1(w, hx[c & 15]);
}

/* The length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlongs, no surrogates,
 * nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t k = c < 0x80                 ? 1
               : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    if (!k || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (k == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))) return 0;
    if (k == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))) return 0;
    return k;
}

/* How many of the first n bytes of s are printable ASCII other than " and \. */
static size_t plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') i++;
    return i;
}

/* A JSON string (null for NULL), at most max bytes of s. */
static void json_str(lw *w, const char *s, size_t max)
{
    if (!s) {
        puts_(w, "null");
        return;
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    put(w, "\"", 1);
    while (i < n) {
        size_t run = plain_run(u + i, (n < max ? n : max) - i);
        put(w, s + i, run); /* the usual case: printable ASCII, copied as a block */
        if ((i += run) >= n) break;
        unsigned char c = u[i];
        size_t k = utf8_len(u + i, n - i);
        if (i + (k ? k : 1) > max) break;
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            put(w, t, 2);
        } else if (c < 0x20 || c == 0x7f) {
            hex2(w, "\\u00", c);
        } else if (!k) {
            puts_(w, "\\ufffd");
        } else {
            put(w, s + i, k);
        }
        i += k ? k : 1;
    }
    if (i < n) puts_(w, "...");
    put(w, "\"", 1);
}

/* A quoted text value ("-" unquoted for NULL), at most max bytes of s. */
static void text_str(lw *w, const char *s, size_t max)
{
    if (!s) {
        put(w, "-", 1);
        return;
    }
    size_t n = strlen(s), i = 0;
    put(w, "\"", 1);
    for (; i < n && i < max; i++) {
        size_t run = plain_run((const unsigned char *)s + i, (n < max ? n : max) - i);
        put(w, s + i, run);
        if ((i += run) >= n || i >= max) break;
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            put(w, t, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            hex2(w, "\\x", c);
        } else {
            put(w, s + i, 1);
        }
    }
    if (i < n) puts_(w, "...");
    put(w, "\"", 1);
}

/* The UTC date of a day count since 1970-01-01 (H. Hinnant's civil_from_days): gmtime_r
 * takes glibc's time zone lock, once per line. */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put_time(lw *w, uint64_t unix_ms)
{
    uint64_t sec = unix_ms / 1000, tod = sec % 86400;
    int64_t y;
    unsigned m, d;
    civil((int64_t)(sec / 86400), &y, &m, &d);
    putu_w(w, (uint64_t)y, 4);
    put(w, "-", 1);
    putu_w(w, m, 2);
    put(w, "-", 1);
    putu_w(w, d, 2);
    put(w, "T", 1);
    putu_w(w, tod / 3600, 2);
    put(w, ":", 1);
    putu_w(w, tod / 60 % 60, 2);
    put(w, ":", 1);
    putu_w(w, tod % 60, 2);
    put(w, ".", 1);
    putu_w(w, unix_ms % 1000, 3);
    put(w, "Z", 1);
}

static void put_ms(lw *w, uint64_t us)
{
    putu(w, us / 1000);
    put(w, ".", 1);
    putu_w(w, us % 1000, 3);
}

/* One field: its key (klen bytes) and a value written by the caller right after. */
static void key(lw *w, bool json, const char *k, size_t klen, bool first)
{
    if (!first) put1(w, json ? ',' : ' ');
    if (json) put1(w, '"');
    put(w, k, klen);
    if (json) put1(w, '"');
    put1(w, json ? ':' : '=');
}
#define KEY(w, json, k)                   key((w), (json), (k), sizeof(k) - 1, false)
#define STR_FIELD(w, json, k, v, max)     str_field((w), (json), (k), sizeof(k) - 1, (v), (max))
#define INT_FIELD(w, json, k, v, present) int_field((w), (json), (k), sizeof(k) - 1, (v), (present))

static void str_field(lw *w, bool json, const char *k, size_t klen, const char *v, size_t max)
{
    key(w, json, k, klen, false);
    if (json)
        json_str(w, v, max);
    else
        text_str(w, v, max);
}

static void int_field(lw *w, bool json, const char *k, size_t klen, long long v, bool present)
{
    key(w, json, k, klen, false);
    if (!present) {
        if (json)
            PUTL(w, "null");
        else
            put1(w, '-');
        return;
    }
    if (v < 0) put1(w, '-');
    putu(w, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

size_t access_format(char *out, size_t cap, const mcp_access_record *r, bool json)
{
    lw w = {out, out + cap - 1};
    if (json) put1(&w, '{');
    key(&w, json, "time", 4, true);
    if (json) put1(&w, '"');
    put_time(&w, r->time_unix_ms);
    if (json) put1(&w, '"');
    STR_FIELD(&w, json, "client", r->client, ACCESS_CLIENT_MAX);
    STR_FIELD(&w, json, "method", r->http_method, ACCESS_HMETHOD_MAX);
    STR_FIELD(&w, json, "path", r->path, ACCESS_PATH_MAX);
    INT_FIELD(&w, json, "status", r->status, true);
    STR_FIELD(&w, json, "mcp_method", r->mcp_method, ACCESS_MCPMETHOD_MAX);
    STR_FIELD(&w, json, "name", r->name, ACCESS_NAME_MAX);
    INT_FIELD(&w, json, "rpc_error", r->rpc_error, r->rpc_error != 0);
    KEY(&w, json, "duration_ms");
    put_ms(&w, r->duration_us);
    KEY(&w, json, "bytes_in");
    putu(&w, r->bytes_in);
    KEY(&w, json, "bytes_out");
    putu(&w, r->bytes_out);
    STR_FIELD(&w, json, "session", r->session, ACCESS_SESSION_MAX);
    STR_FIELD(&w, json, "principal", r->principal, ACCESS_PRINCIPAL_MAX);
    INT_FIELD(&w, json, "batch", r->batch, true);
    KEY(&w, json, "aborted");
    if (r->aborted)
        PUTL(&w, "true");
    else
        PUTL(&w, "false");
    if (json) put1(&w, '}');
    *w.p++ = '\n'; /* end keeps its room */
    return (size_t)(w.p - out);
}

/* ---- writing --------------------------------------------------------------------------------- */

typedef struct wbuf {
    char *data;
    size_t len;
    char pad[64 - sizeof(char *) - sizeof(size_t)]; /* one cache line per worker */
} wbuf;

struct access_log {
    char *path; /* NULL: stderr */
    int fd;
    bool json;
    unsigned n;
    wbuf *bufs;
    pthread_mutex_t reopen_mu;
    _Atomic uint64_t lost;
    _Atomic bool failing;
    access_log *next; /* in every_log */
};

static pthread_mutex_t every_mu = PTHREAD_MUTEX_INITIALIZER;
static access_log *every_log;

static const char *log_name(const access_log *l)
{
    return l->path ? l->path : "stderr";
}

static int open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    return fd < 0 ? -errno : fd;
}

access_log *access_log_open(const char *path, const char *format, unsigned nworkers, char *err,
                            size_t errsize)
{
    bool json = format && !strcmp(format, "json");
    if (format && !json && strcmp(format, "text")) {
        snprintf(err, errsize, "access log format must be \"text\" or \"json\", not \"%.32s\"",
                 format);
        return NULL;
    }
    bool to_stderr = !strcmp(path, "-");
    int fd = to_stderr ? STDERR_FILENO : open_file(path);
    if (fd < 0) {
        snprintf(err, errsize, "cannot open the access log %s: %s", path, strerror(-fd));
        return NULL;
    }
    access_log *l = mcp_xcalloc(1, sizeof *l);
    l->path = to_stderr ? NULL : mcp_xstrndup(path, strlen(path));
    l->fd = fd;
    l->json = json;
    l->n = nworkers ? nworkers : 1;
    l->bufs = mcp_xcalloc(l->n, sizeof *l->bufs);
    for (unsigned i = 0; i < l->n; i++) l->bufs[i].data = mcp_xmalloc(BUF_SIZE);
    pthread_mutex_init(&l->reopen_mu, NULL);
    pthread_mutex_lock(&every_mu);
    l->next = every_log;
    every_log = l;
    pthread_mutex_unlock(&every_mu);
    return l;
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t k = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) k++;
    return k;
}

/* How much of p[0..len) one write takes: all of it to a file; to stderr whole lines up to
 * PIPE_BUF (a longer line alone). */
static size_t write_span(const access_log *l, const char *p, size_t len)
{
    if (l->path || len <= PIPE_BUF) return len;
    const char *nl = memrchr(p, '\n', PIPE_BUF);
    if (nl) return (size_t)(nl - p) + 1;
    nl = memchr(p, '\n', len);
    return nl ? (size_t)(nl - p) + 1 : len;
}

static void write_out(access_log *l, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(l->fd, p, write_span(l, p, len));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            uint64_t k = count_lines(p, len);
            atomic_fetch_add_explicit(&l->lost, k, memory_order_relaxed);
            if (!atomic_exchange(&l->failing, true))
                mcp_log(MCP_LOGL_ERROR,
                        "access log %s: cannot write: %s; lines are lost until it can (counted)",
                        log_name(l), strerror(e));
            return;
        }
        p += w;
        len -= (size_t)w;
    }
    if (atomic_load_explicit(&l->failing, memory_order_relaxed) &&
        atomic_exchange(&l->failing, false))
        mcp_log(MCP_LOGL_INFO, "access log %s: writing again (%llu lines lost so far)", log_name(l),
                (unsigned long long)atomic_load(&l->lost));
}

void access_log_flush(access_log *l, unsigned worker)
{
    wbuf *b = &l->bufs[worker % l->n];
    if (!b->len) return;
    write_out(l, b->data, b->len);
    b->len = 0;
}

void access_log_add(access_log *l, unsigned worker, const mcp_access_record *r)
{
    wbuf *b = &l->bufs[worker % l->n];
    if (BUF_SIZE - b->len < ACCESS_LINE_MAX) access_log_flush(l, worker);
    b->len += access_format(b->data + b->len, BUF_SIZE - b->len, r, l->json);
}

int access_log_reopen(access_log *l)
{
    if (!l || !l->path) return 0;
    pthread_mutex_lock(&l->reopen_mu);
    int fd = open_file(l->path), rc = 0;
    if (fd < 0) {
        rc = fd;
        mcp_log(MCP_LOGL_ERROR, "access log %s: cannot reopen: %s; still writing to the old file",
                l->path, strerror(-fd));
    } else {
        if (dup2(fd, l->fd) < 0) rc = -errno;
        close(fd);
        if (!rc) mcp_log(MCP_LOGL_INFO, "access log %s: reopened", l->path);
    }
    pthread_mutex_unlock(&l->reopen_mu);
    return rc;
}

int access_log_reopen_all(void)
{
    int rc = 0;
    pthread_mutex_lock(&every_mu);
    for (access_log *l = every_log; l; l = l->next) {
        int r = access_log_reopen(l);
        if (r && !rc) rc = r;
    }
    pthread_mutex_unlock(&every_mu);
    return rc;
}

uint64_t access_log_errors(const access_log *l)
{
    return l ? atomic_load_explicit(&l->lost, memory_order_relaxed) : 0;
}

void access_log_close(access_log *l)
{
    if (!l) return;
    pthread_mutex_lock(&every_mu);
    for (access_log **p = &every_log; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            break;
        }
    pthread_mutex_unlock(&every_mu);
    rt_sigpipe sp;
    rt_sigpipe_hold(&sp); /* the caller's thread: a closed stderr pipe fails with EPIPE */
    for (unsigned i = 0; i < l->n; i++) {
        access_log_flush(l, i);
        free(l->bufs[i].data);
    }
    rt_sigpipe_release(&sp, atomic_load(&l->failing));
    free(l->bufs);
    if (l->path) close(l->fd);
    free(l->path);
    pthread_mutex_destroy(&l->reopen_mu);
    free(l);
}
