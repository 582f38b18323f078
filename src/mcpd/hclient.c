/* hclient.c - an HTTP/1.1 client on a libuv loop: kept-alive connections per (loop, origin),
 * one write per request, the answer parsed with llhttp, every upstream input bounded.
 *
 * Pools. Each loop (hclient_loop) keeps, per target it has used, a LIFO stack of idle
 * connections: the most recently used is taken first (it is the least likely to have been
 * closed by the upstream's idle timeout), at most max_idle per loop (a connection given back
 * past that is closed), and a sweep timer, armed only while some connection is idle, closes
 * those idle longer than idle_timeout_ms and every idle connection of a retired target. An idle
 * connection keeps reading: any byte or EOF/RST while idle closes it, so a connection with
 * leftover bytes never serves another request. Targets are shared by loops and found by
 * identity; a pool holds a reference on its target, so a reload that drops an upstream leaves
 * no dangling pool, and a retired target's pools go at the next sweep.
 *
 * A request: a connection is taken (or made: the address is an IP literal parsed once, or a
 * name resolved with uv_getaddrinfo and kept HCLIENT_DNS_TTL_MS in the target, for every
 * loop; then connect with TCP_NODELAY under connect_timeout_ms), the whole request is written
 * with uv_try_write (uv_write for what the socket did not take), and the answer is fed to
 * llhttp in response mode: 1xx answers are skipped, HEAD, 204 and 304 have no body, bodies are
 * framed by Content-Length, chunked coding or the connection's close; a Content-Encoding other
 * than identity is refused (we send no Accept-Encoding), a 101 too; the status line and headers
 * are capped (HCLIENT_MAX_HEADER_BYTES, HCLIENT_MAX_HEADERS), the body at max_body (a
 * Content-Length above it fails at once). A connection is given back only when llhttp says the
 * answer keeps it alive (Connection: close and HTTP/1.0 without keep-alive do not) and nothing
 * followed the answer; any error closes it. One timer per connection bounds the connect and
 * the whole request.
 *
 * A kept connection that fails before the first byte of the answer (EOF, RST or a write error:
 * the upstream closed it while idle, the race every keep-alive client has) is retried once on
 * a new connection, as libcurl does. Nothing else is retried here: the engine decides. */
#include "mcpd/hclient.h"

#include <llhttp.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_MAX_IDLE     16u
#define DEFAULT_IDLE_TIMEOUT 30000u
#define DEFAULT_TIMEOUT      30000u
#define DEFAULT_MAX_BODY     (1u << 20)
#define SWEEP_MS             1000u
#define READ_BUF             65536u

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- targets --------------------------------------------------------------------------------- */
struct hclient_target {
    atomic_size_t refs;
    atomic_bool retired;
    char *host; /* without brackets */
    char name[300];
    uint16_t port;
    uint32_t max_idle, idle_timeout_ms;
    bool literal;       /* addr is fixed */
    pthread_mutex_t mu; /* addr and expires of a name */
    struct sockaddr_storage addr;
    uint64_t expires; /* 0: never resolved */
};

hclient_target *hclient_target_new(const hclient_target_config *c, char *err, size_t errsize)
{
    const char *h = c->host ? c->host : "";
    size_t n = strlen(h);
    if (n && h[0] == '[' && h[n - 1] == ']') h++, n -= 2;
    if (n == 0 || n > 253 || strcspn(h, " \t\r\n/?#@") < n) {
        snprintf(err, errsize, "\"%.*s\" is not a host name or an IP address", (int)n, h);
        return NULL;
    }
    hclient_target *t = xcalloc(1, sizeof *t);
    atomic_init(&t->refs, 1);
    t->host = strndup(h, n);
    if (!t->host) abort();
    t->port = c->port ? c->port : 80;
    t->max_idle = c->max_idle ? c->max_idle : DEFAULT_MAX_IDLE;
    t->idle_timeout_ms = c->idle_timeout_ms ? c->idle_timeout_ms : DEFAULT_IDLE_TIMEOUT;
    snprintf(t->name, sizeof t->name, strchr(t->host, ':') ? "[%s]:%u" : "%s:%u", t->host, t->port);
    pthread_mutex_init(&t->mu, NULL);
    if (uv_ip4_addr(t->host, t->port, (struct sockaddr_in *)&t->addr) == 0 ||
        uv_ip6_addr(t->host, t->port, (struct sockaddr_in6 *)&t->addr) == 0)
        t->literal = true;
    return t;
}

hclient_target *hclient_target_ref(hclient_target *t)
{
    atomic_fetch_add(&t->refs, 1);
    return t;
}

void hclient_target_unref(hclient_target *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1) return;
    pthread_mutex_destroy(&t->mu);
    free(t->host);
    free(t);
}

void hclient_target_retire(hclient_target *t)
{
    atomic_store(&t->retired, true);
}

const char *hclient_target_name(const hclient_target *t)
{
    return t->name;
}

/* The cached address of t, if it is fresh. */
static bool target_addr(hclient_target *t, struct sockaddr_storage *out)
{
    if (t->literal) {
        *out = t->addr;
        return true;
    }
    pthread_mutex_lock(&t->mu);
    bool ok = t->expires && now_ms() < t->expires;
    if (ok) *out = t->addr;
    pthread_mutex_unlock(&t->mu);
    return ok;
}

/* ---- loops, pools, connections ----------------------------------------------------------------
 */
typedef struct hpool hpool;
typedef struct hconn hconn;

struct hclient_loop {
    uv_loop_t *uv;
    hpool *pools;
    hclient_req *live;      /* requests not ended */
    uv_timer_t sweep, kick; /* kick: ends the requests that failed inside hclient_send */
    uint32_t nidle, nconns;
    uint64_t connects;
    size_t handles; /* handles open (the two timers and each connection's two) */
    bool closing, in_send;
    char buf[READ_BUF]; /* every read of this loop lands here and is parsed at once */
};

struct hpool {
    hpool *next;
    hclient_target *t;
    hconn *idle_head, *idle_tail; /* LIFO: taken and given at the head, swept at the tail */
    uint32_t nidle;
};

struct hconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t wr;
    hclient_loop *l;
    hpool *pool;        /* while idle or busy; NULL once closing */
    hconn *prev, *next; /* in the pool's idle list */
    hclient_req *req;   /* the request on it; NULL while idle */
    llhttp_t parser;
    uint64_t idle_since;
    unsigned served; /* answers read on it */
    bool idle, closing, connecting, writing;
};

typedef struct gai_job {
    uv_getaddrinfo_t gai;
    hclient_req *req; /* NULL once the request went */
    hclient_target *t;
} gai_job;

struct hclient_req {
    hclient_req *prev, *next; /* the loop's live list */
    hclient_loop *l;
    hpool *pool;
    hconn *conn;
    gai_job *resolving;
    char *data;
    size_t len;
    bool head, retried, answer_started, complete, sent_any;
    hclient_err failed;     /* failed inside hclient_send: ended by the loop's kick */
    unsigned informational; /* 1xx answers skipped */
    uint32_t timeout_ms, connect_timeout_ms;
    uint64_t deadline;
    size_t max_body;
    hclient_done_fn done;
    void *ud;
    /* the answer */
    hclient_response resp;
    size_t body_cap, header_bytes;
    unsigned nheaders;
    int which;      /* the header being read: one of H_* */
    char hname[24]; /* its name as sent (longer names are none we read) */
    size_t hname_len;
    char hval[512]; /* its value, for the headers we read */
    size_t hval_len;
    bool hval_over;
    hclient_err user_err;
    char msg[320];
};

enum { H_OTHER, H_CONTENT_TYPE, H_RETRY_AFTER, H_CONTENT_ENCODING };

/* Formats r's message (what done will be told). */
__attribute__((format(printf, 2, 3))) static void say(hclient_req *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

static void conn_close(hconn *c);
static void req_fail(hclient_req *r, hclient_err e);
static void conn_use(hclient_req *r, hconn *c);
static void conn_new(hclient_req *r);

hclient_loop *hclient_loop_new(uv_loop_t *loop)
{
    hclient_loop *l = xcalloc(1, sizeof *l);
    l->uv = loop;
    uv_timer_init(loop, &l->sweep);
    uv_timer_init(loop, &l->kick);
    l->sweep.data = l->kick.data = l;
    l->handles = 2;
    return l;
}

uint64_t hclient_loop_connects(const hclient_loop *l)
{
    return l->connects;
}

uint32_t hclient_loop_conns(const hclient_loop *l)
{
    return l->nconns;
}

static void loop_handle_gone(hclient_loop *l)
{
    if (--l->handles == 0 && l->closing) free(l);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    hconn *c = h->data;
    hclient_loop *l = c->l;
    if (h == (uv_handle_t *)&c->timer)
        c->timer.data = NULL;
    else
        c->tcp.data = NULL;
    if (!c->timer.data && !c->tcp.data) free(c);
    loop_handle_gone(l);
}

static void on_loop_timer_closed(uv_handle_t *h)
{
    loop_handle_gone(h->data);
}

/* Whether a request of l uses p. */
static bool pool_busy(const hclient_loop *l, const hpool *p)
{
    for (const hclient_req *r = l->live; r; r = r->next)
        if (r->pool == p) return true;
    return false;
}

/* Frees p if its target is retired and p holds nothing; returns whether it did (*pp is then
 * the next pool). */
static bool pool_drop_retired(hclient_loop *l, hpool **pp)
{
    hpool *p = *pp;
    if (!atomic_load(&p->t->retired) || p->nidle || pool_busy(l, p)) return false;
    *pp = p->next;
    hclient_target_unref(p->t);
    free(p);
    return true;
}

/* l's pool for t (made on first use). Retired pools met on the way are dropped (a reload that
 * dropped an upstream leaves its pools to the loops; the sweep drops those with idle ones). */
static hpool *pool_get(hclient_loop *l, hclient_target *t)
{
    for (hpool **pp = &l->pools; *pp;) {
        if ((*pp)->t == t) return *pp;
        if (!pool_drop_retired(l, pp)) pp = &(*pp)->next;
    }
    hpool *p = xcalloc(1, sizeof *p);
    p->t = hclient_target_ref(t);
    p->next = l->pools;
    l->pools = p;
    return p;
}

static void idle_unlink(hconn *c)
{
    hpool *p = c->pool;
    if (!c->idle) return;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->idle_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        p->idle_tail = c->prev;
    c->prev = c->next = NULL;
    c->idle = false;
    p->nidle--;
    c->l->nidle--;
}

/* Closes every idle connection idle since before `before` (all: UINT64_MAX) of p. */
static void pool_sweep(hpool *p, uint64_t before)
{
    while (p->idle_tail && p->idle_tail->idle_since < before) conn_close(p->idle_tail);
}

static void on_sweep(uv_timer_t *tm)
{
    hclient_loop *l = tm->data;
    uint64_t now = now_ms();
    for (hpool **pp = &l->pools; *pp;) {
        hpool *p = *pp;
        bool retired = atomic_load(&p->t->retired);
        pool_sweep(p, retired ? UINT64_MAX : now - p->t->idle_timeout_ms);
        if (!pool_drop_retired(l, pp)) pp = &p->next; /* busy ones close when done */
    }
    if (!l->nidle) uv_timer_stop(&l->sweep);
}

/* Gives c back to its pool after an answer that keeps it alive, or closes it. */
static void conn_release(hconn *c, bool keep)
{
    hpool *p = c->pool;
    c->req = NULL;
    uv_timer_stop(&c->timer);
    if (!keep || c->l->closing || p->nidle >= p->t->max_idle || atomic_load(&p->t->retired)) {
        conn_close(c);
        return;
    }
    llhttp_reset(&c->parser);
    c->idle = true;
    c->idle_since = now_ms();
    c->prev = NULL;
    c->next = p->idle_head;
    if (p->idle_head)
        p->idle_head->prev = c;
    else
        p->idle_tail = c;
    p->idle_head = c;
    p->nidle++;
    if (c->l->nidle++ == 0) uv_timer_start(&c->l->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
}

static void conn_close(hconn *c)
{
    if (c->closing) return;
    idle_unlink(c);
    c->closing = true;
    c->pool = NULL;
    c->req = NULL;
    c->l->nconns--;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

/* ---- requests ending ------------------------------------------------------------------------- */
static void req_unlink(hclient_req *r)
{
    hclient_loop *l = r->l;
    if (r->prev)
        r->prev->next = r->next;
    else
        l->live = r->next;
    if (r->next) r->next->prev = r->prev;
}

static void req_free(hclient_req *r)
{
    if (r->resolving) r->resolving->req = NULL;
    free(r->data);
    free(r->resp.body);
    free(r->resp.content_type);
    free(r);
}

static void on_kick(uv_timer_t *tm);

static void req_fail(hclient_req *r, hclient_err e)
{
    hconn *c = r->conn;
    r->conn = NULL;
    if (c) conn_close(c);
    if (r->l->in_send) { /* done never runs inside hclient_send: the kick ends it */
        r->failed = e;
        uv_timer_start(&r->l->kick, on_kick, 0, 0);
        return;
    }
    req_unlink(r);
    r->done(r->ud, e, NULL, r->msg);
    req_free(r);
}

static void on_kick(uv_timer_t *tm)
{
    hclient_loop *l = tm->data;
    for (hclient_req *r = l->live, *next; r; r = next) {
        next = r->next;
        if (r->failed) req_fail(r, r->failed);
    }
}

static void req_complete(hclient_req *r, bool keep)
{
    hconn *c = r->conn;
    r->conn = NULL;
    c->served++;
    conn_release(c, keep && !c->writing); /* an answer before the request was all sent */
    req_unlink(r);
    if (!r->resp.body) r->resp.body = xcalloc(1, 1);
    r->done(r->ud, HC_OK, &r->resp, NULL);
    req_free(r);
}

void hclient_cancel(hclient_req *r)
{
    hconn *c = r->conn;
    r->conn = NULL;
    if (c) conn_close(c);
    req_unlink(r);
    req_free(r);
}

const char *hclient_strerror(hclient_err e)
{
    switch (e) {
    case HC_OK:
        return "ok";
    case HC_ECONNECT:
        return "could not connect";
    case HC_EIO:
        return "the connection failed";
    case HC_ETIMEOUT:
        return "timed out";
    case HC_ETOOBIG:
        return "the response is too large";
    case HC_EPROTO:
        return "the response is not valid HTTP/1.1";
    case HC_ESTOPPED:
        return "stopping";
    }
    return "?";
}

/* A kept connection failed before any byte of the answer: once, a new connection. */
static bool retry_stale(hclient_req *r)
{
    hconn *c = r->conn;
    if (r->retried || r->answer_started || !c || !c->served || r->l->closing) return false;
    r->retried = true;
    r->conn = NULL;
    conn_close(c);
    conn_new(r);
    return true;
}

/* ---- the answer -------------------------------------------------------------------------------
 */
static hclient_req *req_of(llhttp_t *p)
{
    return ((hconn *)p->data)->req;
}

/* Records why a parser callback stops the answer; returns -1 for llhttp. */
__attribute__((format(printf, 3, 4))) static int user_error(hclient_req *r, hclient_err e,
                                                            const char *fmt, ...)
{
    r->user_err = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int count_header_bytes(hclient_req *r, size_t n)
{
    r->header_bytes += n;
    if (r->header_bytes > HCLIENT_MAX_HEADER_BYTES)
        return user_error(r, HC_EPROTO, "%s: the response's status line and headers pass %zu bytes",
                          hclient_target_name(r->pool->t), (size_t)HCLIENT_MAX_HEADER_BYTES);
    return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t n)
{
    (void)at;
    return count_header_bytes(req_of(p), n);
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    hclient_req *r = req_of(p);
    if (count_header_bytes(r, n)) return -1;
    if (r->hname_len + n < sizeof r->hname) memcpy(r->hname + r->hname_len, at, n);
    r->hname_len += n; /* a longer name is none we read */
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    hclient_req *r = req_of(p);
    size_t n = r->hname_len;
    const char *h = r->hname;
    r->which = H_OTHER;
    if (n == 12 && !strncasecmp(h, "content-type", 12))
        r->which = H_CONTENT_TYPE;
    else if (n == 11 && !strncasecmp(h, "retry-after", 11))
        r->which = H_RETRY_AFTER;
    else if (n == 16 && !strncasecmp(h, "content-encoding", 16))
        r->which = H_CONTENT_ENCODING;
    if (n < sizeof r->hname) r->hname[n] = 0;
    r->hval_len = 0;
    r->hval_over = false;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    hclient_req *r = req_of(p);
    if (count_header_bytes(r, n)) return -1;
    if (r->which == H_OTHER) return 0;
    if (r->hval_len + n >= sizeof r->hval) {
        r->hval_over = true;
        return 0;
    }
    memcpy(r->hval + r->hval_len, at, n);
    r->hval_len += n;
    return 0;
}

/* The seconds of a Retry-After value: a delta, or an HTTP-date (IMF-fixdate) from now. */
static int64_t retry_after_of(const char *v)
{
    char *end;
    long long s = strtoll(v, &end, 10);
    if (end != v && *end == 0) return s < 0 ? 0 : s > 86400 ? 86400 : s;
    struct tm tm = {0};
    const char *e = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!e || *e) return -1;
    int64_t d = (int64_t)timegm(&tm) - (int64_t)time(NULL);
    return d < 0 ? 0 : d > 86400 ? 86400 : d;
}

static int on_header_value_complete(llhttp_t *p)
{
    hclient_req *r = req_of(p);
    if (++r->nheaders > HCLIENT_MAX_HEADERS)
        return user_error(r, HC_EPROTO, "%s: the response has more than %zu header fields",
                          hclient_target_name(r->pool->t), (size_t)HCLIENT_MAX_HEADERS);
    if (r->which == H_OTHER) goto next;
    if (r->hval_over) {
        r->user_err = HC_EPROTO;
        say(r, "%s: the %s header of the response passes %zu bytes",
            hclient_target_name(r->pool->t), r->hname, sizeof r->hval - 1);
        return -1;
    }
    r->hval[r->hval_len] = 0;
    if (r->which == H_CONTENT_TYPE) {
        free(r->resp.content_type);
        r->resp.content_type = strdup(r->hval);
        if (!r->resp.content_type) abort();
    } else if (r->which == H_RETRY_AFTER) {
        r->resp.retry_after = retry_after_of(r->hval);
    } else if (strcasecmp(r->hval, "identity") != 0) {
        r->user_err = HC_EPROTO;
        say(r,
            "%s: the response has Content-Encoding \"%s\" (none was asked for; only "
            "identity is accepted)",
            hclient_target_name(r->pool->t), r->hval);
        return -1;
    }
next:
    r->hname_len = 0;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    hclient_req *r = req_of(p);
    int status = llhttp_get_status_code(p);
    if (status < 100 || status > 599) /* llhttp takes any number: RFC 9110 has 1xx to 5xx */
        return user_error(r, HC_EPROTO, "%s: malformed response: the status code %d is not one",
                          hclient_target_name(r->pool->t), status);
    if (status >= 100 && status < 200 && status != 101) { /* informational: skipped */
        if (++r->informational > 8)
            return user_error(r, HC_EPROTO, "%s: more than %zu informational (1xx) answers",
                              hclient_target_name(r->pool->t), (size_t)8);
        return 0;
    }
    if (status == 101)
        return user_error(r, HC_EPROTO, "%s: the upstream switched protocols (101): %zu",
                          hclient_target_name(r->pool->t), (size_t)101);
    r->resp.status = status;
    if (!r->head && status != 204 && status != 304 && p->content_length > r->max_body &&
        p->content_length != UINT64_MAX && (p->flags & F_CONTENT_LENGTH))
        return user_error(r, HC_ETOOBIG,
                          "%s: the response's Content-Length is larger than the limit of %zu "
                          "bytes (max_response_bytes)",
                          hclient_target_name(r->pool->t), r->max_body);
    return r->head || status == 204 || status == 304 ? 1 : 0; /* 1: no body, whatever it says */
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    hclient_req *r = req_of(p);
    hclient_response *s = &r->resp;
    if (s->body_len + n > r->max_body)
        return user_error(r, HC_ETOOBIG,
                          "%s: the response is larger than the limit of %zu bytes "
                          "(max_response_bytes)",
                          hclient_target_name(r->pool->t), r->max_body);
    if (s->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < s->body_len + n + 1) cap *= 2;
        char *b = realloc(s->body, cap);
        if (!b) abort();
        s->body = b;
        r->body_cap = cap;
    }
    memcpy(s->body + s->body_len, at, n);
    s->body_len += n;
    s->body[s->body_len] = 0;
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    hclient_req *r = req_of(p);
    r->header_bytes = 0;
    r->nheaders = 0;
    r->hname_len = 0;
    r->resp.retry_after = -1;
    free(r->resp.content_type);
    r->resp.content_type = NULL;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    hclient_req *r = req_of(p);
    if (r->resp.status == 0) return 0; /* a 1xx answer ended: the real one follows */
    r->complete = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- reading ----------------------------------------------------------------------------------
 */
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    hconn *c = h->data;
    *buf = uv_buf_init(c->l->buf, sizeof c->l->buf);
}

static void parse(hclient_req *r, const char *data, size_t n)
{
    hconn *c = r->conn;
    r->answer_started = true;
    llhttp_errno_t e = llhttp_execute(&c->parser, data, n);
    if (e == HPE_OK) return;
    if (e == HPE_PAUSED && r->complete) {
        const char *stop = llhttp_get_error_pos(&c->parser);
        bool leftover = stop && stop < data + n;
        req_complete(r, !leftover && llhttp_should_keep_alive(&c->parser));
        return;
    }
    if (r->user_err) {
        req_fail(r, r->user_err);
        return;
    }
    say(r, "%s: malformed response: %s (%s)", hclient_target_name(r->pool->t),
        llhttp_get_error_reason(&c->parser), llhttp_errno_name(e));
    req_fail(r, HC_EPROTO);
}

static void on_eof(hclient_req *r, ssize_t err)
{
    hconn *c = r->conn;
    if (!r->answer_started) {
        if (retry_stale(r)) return;
        if (err == UV_EOF)
            say(r, "%s: the connection was closed before any answer",
                hclient_target_name(r->pool->t));
        else
            say(r, "%s: the connection failed (%s) before any answer",
                hclient_target_name(r->pool->t), uv_strerror((int)err));
        req_fail(r, HC_EIO);
        return;
    }
    llhttp_errno_t fe = err == UV_EOF ? llhttp_finish(&c->parser) : HPE_OK;
    if (err == UV_EOF && (fe == HPE_OK || fe == HPE_PAUSED) && r->complete) {
        req_complete(r, false); /* a close-delimited body */
        return;
    }
    if (r->user_err) {
        req_fail(r, r->user_err);
        return;
    }
    if (err == UV_EOF)
        say(r, "%s: the connection was closed in the middle of the answer",
            hclient_target_name(r->pool->t));
    else
        say(r, "%s: the connection failed (%s) in the middle of the answer",
            hclient_target_name(r->pool->t), uv_strerror((int)err));
    req_fail(r, HC_EIO);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    hconn *c = s->data;
    if (n == 0 || c->closing) return;
    hclient_req *r = c->req;
    if (!r) { /* idle: EOF, RST or stray bytes. It can serve nothing more. */
        conn_close(c);
        return;
    }
    if (n > 0)
        parse(r, c->l->buf, (size_t)n);
    else
        on_eof(r, n);
}

/* ---- writing ----------------------------------------------------------------------------------
 */
static void write_failed(hclient_req *r, int status)
{
    if (retry_stale(r)) return;
    say(r, "%s: sending the request failed: %s", hclient_target_name(r->pool->t),
        uv_strerror(status));
    req_fail(r, r->sent_any ? HC_EIO : HC_ECONNECT);
}

static void on_written(uv_write_t *w, int status)
{
    hconn *c = w->data;
    c->writing = false;
    hclient_req *r = c->req;
    if (status == UV_ECANCELED || c->closing || !r) return; /* the connection closed under it */
    if (status < 0) write_failed(r, status);
}

static void on_timer(uv_timer_t *tm);

/* Sends r on c, a connected connection. */
static void conn_use(hclient_req *r, hconn *c)
{
    r->conn = c;
    c->req = r;
    r->answer_started = r->complete = false;
    r->user_err = HC_OK;
    r->resp.status = 0;
    uint64_t now = now_ms();
    uv_timer_start(&c->timer, on_timer, r->deadline > now ? r->deadline - now : 0, 0);
    uv_buf_t b = uv_buf_init(r->data, (unsigned)r->len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)r->len) {
        r->sent_any = true;
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        write_failed(r, n);
        return;
    }
    if (n > 0) r->sent_any = true;
    size_t off = n > 0 ? (size_t)n : 0;
    b = uv_buf_init(r->data + off, (unsigned)(r->len - off));
    c->wr.data = c;
    int rc = uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc < 0)
        write_failed(r, rc);
    else
        c->writing = true;
}

static void on_timer(uv_timer_t *tm)
{
    hconn *c = tm->data;
    hclient_req *r = c->req;
    if (!r) return;
    if (c->connecting)
        say(r, "connect to %s timed out after %u ms", hclient_target_name(r->pool->t),
            r->connect_timeout_ms);
    else
        say(r, "%s: no complete answer within %u ms", hclient_target_name(r->pool->t),
            r->timeout_ms);
    req_fail(r, HC_ETIMEOUT);
}

/* ---- connecting -------------------------------------------------------------------------------
 */
static void on_connect(uv_connect_t *cr, int status)
{
    hconn *c = cr->handle->data;
    c->connecting = false;
    hclient_req *r = c->req;
    if (status == UV_ECANCELED || c->closing || !r) return;
    if (status < 0) {
        say(r, "connect to %s: %s", hclient_target_name(r->pool->t), uv_strerror(status));
        req_fail(r, HC_ECONNECT);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    conn_use(r, c);
}

static void conn_connect(hclient_req *r, const struct sockaddr_storage *addr)
{
    hclient_loop *l = r->l;
    hconn *c = xcalloc(1, sizeof *c);
    c->l = l;
    c->pool = r->pool;
    uv_tcp_init(l->uv, &c->tcp);
    uv_timer_init(l->uv, &c->timer);
    c->tcp.data = c->timer.data = c;
    l->handles += 2;
    l->nconns++;
    l->connects++;
    llhttp_init(&c->parser, HTTP_RESPONSE, &parser_settings);
    c->parser.data = c;
    r->conn = c;
    c->req = r;
    uint64_t now = now_ms();
    uint64_t left = r->deadline > now ? r->deadline - now : 0;
    uv_timer_start(&c->timer, on_timer, r->connect_timeout_ms < left ? r->connect_timeout_ms : left,
                   0);
    c->connecting = true;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)addr, on_connect);
    if (rc < 0) {
        c->connecting = false;
        say(r, "connect to %s: %s", hclient_target_name(r->pool->t), uv_strerror(rc));
        req_fail(r, HC_ECONNECT);
    }
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    gai_job *j = g->data;
    hclient_req *r = j->req;
    hclient_target *t = j->t;
    struct sockaddr_storage addr;
    bool ok = status == 0 && res && res->ai_addrlen <= sizeof addr;
    if (ok) {
        memset(&addr, 0, sizeof addr);
        memcpy(&addr, res->ai_addr, res->ai_addrlen);
        ((struct sockaddr_in *)&addr)->sin_port = htons(t->port); /* same place in sin6 */
        pthread_mutex_lock(&t->mu);
        t->addr = addr;
        t->expires = now_ms() + HCLIENT_DNS_TTL_MS;
        pthread_mutex_unlock(&t->mu);
    }
    if (res) uv_freeaddrinfo(res);
    hclient_target_unref(t);
    free(j);
    if (!r) return; /* the request went meanwhile */
    r->resolving = NULL;
    if (!ok) {
        say(r, "resolving %s: %s", t->host, status ? uv_strerror(status) : "no address");
        req_fail(r, HC_ECONNECT);
        return;
    }
    conn_connect(r, &addr);
}

/* A new connection for r: the address from the cache, or resolved first. */
static void conn_new(hclient_req *r)
{
    hclient_target *t = r->pool->t;
    struct sockaddr_storage addr;
    if (target_addr(t, &addr)) {
        conn_connect(r, &addr);
        return;
    }
    gai_job *j = xcalloc(1, sizeof *j);
    j->req = r;
    j->t = hclient_target_ref(t);
    j->gai.data = j;
    char port[8];
    snprintf(port, sizeof port, "%u", t->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    r->resolving = j;
    int rc = uv_getaddrinfo(r->l->uv, &j->gai, on_resolved, t->host, port, &hints);
    if (rc < 0) {
        r->resolving = NULL;
        hclient_target_unref(t);
        free(j);
        say(r, "resolving %s: %s", t->host, uv_strerror(rc));
        req_fail(r, HC_ECONNECT);
    }
}

hclient_req *hclient_send(hclient_loop *l, hclient_target *t, hclient_request *rq,
                          hclient_done_fn done, void *ud)
{
    if (l->closing) {
        free(rq->data);
        return NULL;
    }
    hclient_req *r = xcalloc(1, sizeof *r);
    r->l = l;
    r->pool = pool_get(l, t);
    r->data = rq->data;
    r->len = rq->len;
    rq->data = NULL;
    r->head = rq->head;
    r->timeout_ms = rq->timeout_ms ? rq->timeout_ms : DEFAULT_TIMEOUT;
    r->connect_timeout_ms = rq->connect_timeout_ms && rq->connect_timeout_ms < r->timeout_ms
                                ? rq->connect_timeout_ms
                                : r->timeout_ms;
    r->deadline = now_ms() + r->timeout_ms;
    r->max_body = rq->max_body ? rq->max_body : DEFAULT_MAX_BODY;
    r->resp.retry_after = -1;
    r->done = done;
    r->ud = ud;
    r->next = l->live;
    if (l->live) l->live->prev = r;
    l->live = r;
    hconn *c = r->pool->idle_head;
    l->in_send = true;
    if (c) {
        idle_unlink(c);
        conn_use(r, c); /* a write failure here retries on a new connection */
    } else {
        conn_new(r);
    }
    l->in_send = false;
    return r;
}

void hclient_loop_close(hclient_loop *l)
{
    if (l->closing) return;
    l->closing = true;
    while (l->live) {
        hclient_req *r = l->live;
        say(r, "%s: the server is stopping", hclient_target_name(r->pool->t));
        if (r->resolving) uv_cancel((uv_req_t *)&r->resolving->gai);
        req_fail(r, HC_ESTOPPED);
    }
    while (l->pools) {
        hpool *p = l->pools;
        pool_sweep(p, UINT64_MAX);
        l->pools = p->next;
        hclient_target_unref(p->t);
        free(p);
    }
    uv_close((uv_handle_t *)&l->sweep, on_loop_timer_closed);
    uv_close((uv_handle_t *)&l->kick, on_loop_timer_closed);
}
