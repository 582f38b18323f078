/* server.c - HTTP/1.1 connections on the worker loops of rt_workers.
 *
 * Each worker accepts on its own SO_REUSEPORT listener; an accepted connection stays on that
 * loop for life. Reads land in one 64 KiB buffer per worker (a read is consumed before the next
 * one starts) and go straight into the connection's http_parser, which keeps partial requests
 * itself; every complete request gets an http_response appended to the connection's queue and
 * is handed to the handler. Responses accumulate bytes in their own buffer; conn_flush moves the
 * bytes of the queue head (and of the responses behind it once the head is complete) into one
 * uv_write with several iovecs, so replies leave in request order and pipelined ones coalesce.
 * When unsent bytes pass max_pending_output the connection stops reading until half has
 * drained; a write made while more than max_unsent_output bytes are still unsent marks the
 * connection for closing (the client does not read). Timeouts walk nothing: each connection
 * has one entry on its loop's deadline heap (rt/timer.h), armed for the earliest deadline its
 * state can have and moved only earlier when the state changes (a request starts arriving, a
 * write starts, linger, doom); activity that pushes a deadline later (bytes read or written)
 * only stores a timestamp, and the entry, firing early, re-arms for the real deadline. It bounds
 * every state a connection can sit in: receiving a request (from its first byte, blank lines
 * included, to its end: header_timeout, then 408 and close), blocked on a write (no byte taken by
 * the socket for write_timeout: closed), idle between requests (idle_timeout: closed). The number
 * of connections is bounded by the fd limit (see conn_budget). A connection that must close sends
 * its last response, shuts down its write side and discards input until EOF (or a short linger), so
 * the client reads the error instead of a reset. A connection is freed once its handle is closed
 * and no response of it is still with a handler. */
#include "http/server.h"

#include "base/alloc.h"
#include "base/log.h"
#include "rt/clock.h"
#include "rt/pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define READ_BUF_SIZE     (64 * 1024)
#define WRITE_IOVS        16
#define TAIL_MIN          (16u << 10) /* a smaller body is copied after the head: one iovec */
#define LINGER_MS         2000
#define MAX_BLANK         1024  /* bytes of empty lines allowed before a request line */
#define LOG_EVERY_MS      10000 /* a repeated warning (connections refused) at most this often */
#define HTTP_LOG_PATH_MAX 256   /* bytes of a request's path an exchange keeps */

typedef struct conn conn;

typedef struct sworker {
    http_server *s;
    rt_worker *w;
    conn *conns; /* every connection not yet freed (doubly linked) */
    size_t nconns;
    uint64_t refused_logged; /* when a refused connection was last logged */
    uint64_t refused_quiet;  /* refused since then, not yet logged */
    char rbuf[READ_BUF_SIZE];
} sworker;

#define MAX_EXTRA_HEADERS 8

struct http_response {
    http_response *next;
    conn *c;
    mcp_buf buf;               /* bytes not yet handed to uv_write */
    char *tail;                /* a body handed over (http_response_send_buf): goes out after buf */
    size_t tail_len, tail_off; /* its size, and how much of it was written */
    bool done;                 /* complete: no more bytes will come */
    bool close;                /* the connection closes after this response */
    bool headed;               /* the status line and headers were written */
    bool head_only; /* a HEAD request: the head goes out, the body never (RFC 9110 9.3.2) */
    uint8_t nextra;
    char *extra[MAX_EXTRA_HEADERS * 2]; /* name, value pairs (malloc'd) */
    void (*on_abort)(http_response *res, void *ud);
    void *abort_ud;
    /* The exchange, measured only when on_exchange is set. */
    bool interim; /* 100 Continue: not an exchange of its own */
    int status;   /* of the head written; 0: none yet */
    const char *method;
    char *path; /* bounded copy (malloc'd) */
    void *note; /* http_response_set_note */
    uint64_t bytes_in, bytes_out, start_ns, start_unix_ms;
    http_response *lognext; /* on a write request: written, waiting for the write to end */
};

struct conn {
    uv_tcp_t tcp; /* first: the close callback frees through it */
    uv_shutdown_t shut;
    sworker *sw;
    uint64_t peer_key; /* http_response_peer_key, computed once; 0: not yet */
    char peer[56];     /* "addr:port" for on_exchange, computed once; "": not yet */
    uint64_t req_ns, req_unix_ms, req_bytes; /* the request arriving (on_exchange only) */
    struct wreq *last_w;                     /* the latest write request not yet completed */
    conn *prev, *next;
    http_parser parser;
    http_response *head, *tail;
    http_response *spare; /* the last finished response, kept with its buffer for the next */
    size_t inflight;      /* bytes in uv_write requests not yet completed */
    unsigned nwrites;     /* uv_write requests not yet completed */
    unsigned undone;      /* responses not yet completed by their handler */
    uint64_t req_start;   /* when the request being received began (ms) */
    uint64_t last_active; /* last read or write completion (ms) */
    uint64_t write_since; /* last time the socket took bytes while a write was pending (ms) */
    size_t last_wq;       /* libuv's write queue size at the last timeout check */
    rt_timer tmr;         /* its timeouts, on the worker's deadline heap (conn_rearm) */
    size_t blank;         /* bytes of empty lines before the current request line */
    bool receiving;       /* a request (or empty lines before one) is arriving */
    bool doomed;          /* over max_unsent_output: write nothing more, close at the tick */
    bool reading;         /* uv_read_start is in effect */
    bool paused;          /* reading stopped for backpressure */
    bool close_after;     /* parse no more: the connection closes after the queued replies */
    bool close_sent;      /* a closing response went out: write nothing more */
    bool lingering;       /* write side shut down; input discarded until EOF */
    bool closing;         /* uv_close called */
    bool handle_closed;   /* close callback ran */
};

typedef struct wreq {
    uv_write_t req;
    conn *c;
    http_response *logged, *logged_tail; /* responses whose last bytes this write carries */
    size_t bytes;
    unsigned n;
    uv_buf_t bufs[WRITE_IOVS];
    void *frees[WRITE_IOVS]; /* what to free when the write completes (bufs may point inside) */
} wreq;

struct http_server {
    http_server_config cfg;
    rt_workers *ws;
};

static void conn_flush(conn *c);

/* --- connection lifetime ------------------------------------------------------------------ */

static void response_free(http_response *r)
{
    free(r->path);
    for (unsigned i = 0; i < (unsigned)r->nextra * 2; i++) free(r->extra[i]);
    mcp_buf_free(&r->buf);
    free(r->tail);
    free(r);
}

/* Bytes of r not yet handed to the socket or a write request. */
static size_t resp_pending(const http_response *r)
{
    return r->buf.len + (r->tail_len - r->tail_off);
}

#define SPARE_MAX_BUF (64u << 10) /* a bigger buffer is not kept for the next response */

/* A finished response: kept as the connection's spare (no malloc for the next one, whose
 * bytes then go into the same buffer), or freed. */
static void response_recycle(conn *c, http_response *r)
{
    if (c->spare || !r->buf.owned || r->buf.cap > SPARE_MAX_BUF) {
        response_free(r);
        return;
    }
    for (unsigned i = 0; i < (unsigned)r->nextra * 2; i++) free(r->extra[i]);
    free(r->tail);
    free(r->path);
    mcp_buf keep = r->buf;
    keep.len = 0;
    keep.overflow = false;
    memset(r, 0, sizeof *r);
    r->buf = keep;
    c->spare = r;
}

/* --- exchanges (access logs) ---------------------------------------------------------------- */

static bool logging(const conn *c)
{
    return c->sw->s->cfg.on_exchange != NULL;
}

/* The peer as "addr:port" ("[v6]:port"), computed once per connection. */
static const char *conn_peer(conn *c)
{
    if (c->peer[0]) return c->peer;
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "";
    snprintf(c->peer, sizeof c->peer, "-");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len)) return c->peer;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    }
    return c->peer;
}

/* Stamps a new response with the request's arrival (req NULL: an error of the server's own,
 * for the request being received). */
static void exchange_begin(conn *c, http_response *r, const http_request *req)
{
    if (!logging(c)) return;
    if (!c->req_ns) { /* nothing of a request arrived (a timeout on an idle connection) */
        c->req_ns = rt_now_ns();
        c->req_unix_ms = rt_now_unix_ms();
    }
    r->start_ns = c->req_ns;
    r->start_unix_ms = c->req_unix_ms;
    r->bytes_in = c->req_bytes;
    c->req_ns = c->req_bytes = 0;
    if (!req) return;
    r->method = req->method_name;
    size_t n = req->path_len < HTTP_LOG_PATH_MAX ? req->path_len : HTTP_LOG_PATH_MAX;
    r->path = mcp_xstrndup(req->path, n);
}

/* Hands r's exchange to on_exchange (once; a 100 Continue has none). */
static void exchange_end(conn *c, http_response *r, bool aborted)
{
    const http_server_config *cfg = &c->sw->s->cfg;
    if (!cfg->on_exchange || r->interim) return;
    http_exchange x = {.worker = rt_worker_index(c->sw->w),
                       .peer = conn_peer(c),
                       .method = r->method,
                       .path = r->path,
                       .status = r->status,
                       .bytes_in = r->bytes_in,
                       .bytes_out = r->bytes_out,
                       .start_unix_ms = r->start_unix_ms,
                       .duration_ns = rt_now_ns() - r->start_ns,
                       .aborted = aborted,
                       .note = r->note};
    r->note = NULL;
    r->interim = true; /* told */
    cfg->on_exchange(&x, cfg->ud);
}

/* Ends the exchanges a finished write request carried (write failed: aborted). */
static void exchanges_written(conn *c, wreq *w, bool failed)
{
    for (http_response *r = w->logged, *n; r; r = n) {
        n = r->lognext;
        exchange_end(c, r, failed);
        if (c->closing)
            response_free(r);
        else
            response_recycle(c, r);
    }
    w->logged = w->logged_tail = NULL;
}

static void conn_free(conn *c)
{
    sworker *sw = c->sw;
    if (c->prev)
        c->prev->next = c->next;
    else
        sw->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    for (http_response *r = c->head, *n; r; r = n) {
        n = r->next;
        exchange_end(c, r, true);
        response_free(r);
    }
    if (c->spare) response_free(c->spare);
    http_parser_free(&c->parser);
    free(c);
    rt_worker_resume_accept(sw->w); /* its fd is back: accepting may go on if it paused */
}

static void maybe_free(conn *c)
{
    if (c->handle_closed && c->undone == 0) conn_free(c);
}

static void on_close(uv_handle_t *h)
{
    conn *c = h->data;
    c->handle_closed = true;
    maybe_free(c);
}

static void conn_close(conn *c)
{
    if (c->closing) return;
    c->closing = true;
    rt_worker_timer_cancel(c->sw->w, &c->tmr); /* and never armed again (conn_rearm) */
    c->sw->nconns--;
    RT_COUNT_SUB(c->sw->w, conns_open, 1);
    uv_close((uv_handle_t *)&c->tcp, on_close);
    /* Tell the handlers of responses still open; each may complete its response now. */
    for (http_response *r = c->head; r; r = r->next) {
        if (r->done || !r->on_abort) continue;
        void (*fn)(http_response *, void *) = r->on_abort;
        r->on_abort = NULL;
        fn(r, r->abort_ud);
    }
}

/* --- responses ---------------------------------------------------------------------------- */

static http_response *response_new(conn *c, bool close)
{
    http_response *r = c->spare;
    if (r) {
        c->spare = NULL;
    } else {
        r = mcp_xcalloc(1, sizeof *r);
        mcp_buf_init(&r->buf, NULL, 0, 0);
    }
    r->c = c;
    r->close = close;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->undone++;
    if (close) c->close_after = true;
    return r;
}

static void response_complete(http_response *r)
{
    conn *c = r->c;
    r->done = true;
    c->undone--;
    if (c->closing)
        maybe_free(c);
    else
        conn_flush(c);
}

/* Queues a complete response of the given raw bytes (100 Continue, errors). */
static void push_error(conn *c, int status, const char *text)
{
    http_response *r = response_new(c, true);
    exchange_begin(c, r, NULL);
    r->status = status;
    http_write_error(&r->buf, status, text);
    RT_COUNT_ADD(c->sw->w, errors, 1);
    response_complete(r);
}

static void push_continue(conn *c)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    http_response *r = response_new(c, false);
    r->interim = true;
    mcp_buf_append(&r->buf, line, sizeof line - 1);
    response_complete(r);
}

/* --- writing ------------------------------------------------------------------------------ */

static void read_resume(conn *c);
static void conn_rearm(conn *c);
static void conn_timer(rt_timer *t, uint64_t now);

static void on_write(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    conn *c = w->c;
    for (unsigned i = 0; i < w->n; i++) free(w->frees[i]);
    c->inflight -= w->bytes;
    c->nwrites--;
    if (c->last_w == w) c->last_w = NULL;
    exchanges_written(c, w, status < 0);
    free(w);
    if (c->closing) return;
    if (status < 0) {
        RT_COUNT_ADD(c->sw->w, errors, 1);
        conn_close(c);
        return;
    }
    c->last_active = c->write_since = rt_now_ms();
    if (c->paused && c->inflight <= c->sw->s->cfg.max_pending_output / 2) read_resume(c);
    conn_flush(c);
}

/* Moves the bytes of r into w; returns false when w has no iovec left. */
static bool take_bytes(wreq *w, http_response *r)
{
    if (!resp_pending(r)) return true;
    if (w->n + 2 > WRITE_IOVS) return false;
    if (r->buf.len) {
        size_t len;
        char *data = mcp_buf_steal(&r->buf, &len);
        w->frees[w->n] = data;
        w->bufs[w->n++] = uv_buf_init(data, (unsigned)len);
        w->bytes += len;
        r->bytes_out += len;
    }
    if (r->tail) { /* handed over as it is: no copy */
        size_t len = r->tail_len - r->tail_off;
        w->frees[w->n] = r->tail;
        w->bufs[w->n++] = uv_buf_init(r->tail + r->tail_off, (unsigned)len);
        w->bytes += len;
        r->bytes_out += len;
        r->tail = NULL;
        r->tail_len = r->tail_off = 0;
    }
    return true;
}

/* Takes the finished head response off the queue. Its exchange ends now, or, when bytes of
 * it may still be in a write request (w: the one being built; else the latest in flight),
 * when that write completes. */
static void pop_head(conn *c, wreq *w)
{
    http_response *r = c->head;
    c->head = r->next;
    if (!c->head) c->tail = NULL;
    if (r->close) c->close_sent = true;
    wreq *later = w && w->n ? w : c->nwrites ? c->last_w : NULL;
    if (later && logging(c) && !r->interim) {
        r->lognext = NULL;
        if (later->logged_tail)
            later->logged_tail->lognext = r;
        else
            later->logged = r;
        later->logged_tail = r;
        return;
    }
    exchange_end(c, r, false);
    response_recycle(c, r);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    conn *c = req->data;
    if (status < 0 && !c->closing) conn_close(c);
}

/* After the last response: half-close, then drain input so the client sees no reset. */
static void start_linger(conn *c)
{
    c->lingering = true;
    c->last_active = rt_now_ms();
    conn_rearm(c);
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown))
        conn_close(c);
    else if (!c->reading)
        read_resume(c);
}

static void issue_write(conn *c, wreq *w)
{
    bool first = c->nwrites == 0;
    if (first) c->write_since = rt_now_ms(); /* the write clock starts */
    c->inflight += w->bytes;
    c->nwrites++;
    if (first) conn_rearm(c);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, w->bufs, w->n, on_write);
    if (rc) { /* synchronous failure: no callback comes */
        c->inflight -= w->bytes;
        c->nwrites--;
        for (unsigned i = 0; i < w->n; i++) free(w->frees[i]);
        conn_close(c);
        exchanges_written(c, w, true);
        free(w);
        return;
    }
    c->last_w = w;
}

static void backpressure(conn *c)
{
    if (c->reading && !c->lingering && c->inflight > c->sw->s->cfg.max_pending_output) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
        c->paused = true;
    }
}

/* Drops the first n bytes of b (what a partial write sent). */
static void buf_consume(mcp_buf *b, size_t n)
{
    if (n < b->len) memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

/* The usual case, nothing in flight: the bytes of the head responses go out with one
 * uv_try_write from their own buffers (no request, no callback, no copy). What the socket did
 * not take is left in the buffers for the uv_write path. */
static void try_write_now(conn *c)
{
    uv_buf_t bufs[WRITE_IOVS];
    http_response *rs[WRITE_IOVS];
    unsigned n = 0;
    for (http_response *r = c->head; r && n + 2 <= WRITE_IOVS; r = r->next) {
        if (r->buf.len) {
            bufs[n] = uv_buf_init(r->buf.data, (unsigned)r->buf.len);
            rs[n++] = r;
        }
        if (r->tail_len > r->tail_off) {
            bufs[n] = uv_buf_init(r->tail + r->tail_off, (unsigned)(r->tail_len - r->tail_off));
            rs[n++] = r;
        }
        if (!r->done || r->close) break; /* in order; nothing after a closing response */
    }
    if (!n) return;
    int wr = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    if (wr <= 0) return; /* EAGAIN, or an error the uv_write path will report */
    size_t left = (size_t)wr;
    for (unsigned i = 0; i < n && left; i++) {
        size_t k = left < bufs[i].len ? left : bufs[i].len;
        rs[i]->bytes_out += k;
        if (bufs[i].base == rs[i]->buf.data)
            buf_consume(&rs[i]->buf, k);
        else
            rs[i]->tail_off += k; /* the tail: no memmove of what is left */
        left -= k;
    }
    c->last_active = rt_now_ms();
    while (c->head && c->head->done && !resp_pending(c->head) && !c->close_sent) pop_head(c, NULL);
}

/* Writes what the queue head (and the complete responses behind it) hold, in order. */
static void conn_flush(conn *c)
{
    if (c->closing || c->lingering) return;
    if (c->nwrites == 0 && !c->close_sent) try_write_now(c);
    bool pending = false;
    for (http_response *r = c->head; r && !c->close_sent; r = r->next) {
        if (resp_pending(r)) {
            pending = true;
            break;
        }
        if (!r->done) break;
    }
    if (!pending) {
        while (c->head && c->head->done && !resp_pending(c->head) && !c->close_sent)
            pop_head(c, NULL);
        backpressure(c);
        bool last = c->close_sent || (c->close_after && !c->head);
        if (last && c->nwrites == 0) start_linger(c);
        return;
    }
    wreq *w = mcp_xcalloc(1, sizeof *w);
    w->c = c;
    while (c->head && !c->close_sent && take_bytes(w, c->head) && c->head->done) pop_head(c, w);
    if (w->n)
        issue_write(c, w);
    else
        free(w);
    if (c->closing) return;
    backpressure(c);
    bool last = c->close_sent || (c->close_after && !c->head);
    if (last && c->nwrites == 0) start_linger(c);
}

/* --- reading ------------------------------------------------------------------------------ */

static void dispatch(conn *c, http_request *req)
{
    RT_COUNT_ADD(c->sw->w, requests, 1);
    http_response *r = response_new(c, !req->keep_alive);
    r->head_only = req->method == HTTP_HEAD;
    exchange_begin(c, r, req);
    c->sw->s->cfg.on_request(req, r, c->sw->s->cfg.ud);
}

/* Empty lines before a request line are allowed (RFC 9112 2.2) but are no progress: they
 * start the request clock like any first byte, and more than MAX_BLANK of them is an error. */
static bool count_blank(conn *c, size_t n)
{
    c->blank += n;
    if (c->blank <= MAX_BLANK) return true;
    push_error(c, 400, "too many empty lines before the request line");
    return false;
}

static void conn_feed(conn *c, const char *p, size_t len)
{
    while (len && !c->close_after && !c->closing) {
        if (!c->receiving) {
            c->receiving = true;
            c->req_start = rt_now_ms();
            if (logging(c) && !c->req_ns) {
                c->req_ns = rt_now_ns();
                c->req_unix_ms = rt_now_unix_ms();
            }
            conn_rearm(c);
        }
        http_request *req = NULL;
        ssize_t n = http_parser_feed(&c->parser, p, len, &req);
        if (n > 0) c->req_bytes += (uint64_t)n;
        if (n < 0) {
            int status;
            const char *why = http_parser_error(&c->parser, &status);
            push_error(c, status ? status : 400, why ? why : "bad request");
            return;
        }
        p += n;
        len -= (size_t)n;
        if (req) {
            c->receiving = false;
            c->blank = 0;
            c->last_active = rt_now_ms();
            dispatch(c, req);
        } else if (!http_parser_busy(&c->parser)) {
            if (!count_blank(c, (size_t)n)) return;
        } else {
            c->last_active = rt_now_ms();
            if (http_parser_take_continue(&c->parser)) push_continue(c);
        }
        if (!n && !req) break;
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    conn *c = h->data;
    size_t room;
    char *direct = http_parser_body_room(&c->parser, READ_BUF_SIZE, &room);
    *buf = direct ? uv_buf_init(direct, (unsigned)(room > UINT_MAX ? UINT_MAX : room))
                  : uv_buf_init(c->sw->rbuf, READ_BUF_SIZE);
}

static void on_eof(conn *c, ssize_t n)
{
    if (n != UV_EOF) RT_COUNT_ADD(c->sw->w, errors, 1);
    bool owed = false; /* a response still with its handler (a call running, a stream open) */
    for (http_response *r = c->head; r; r = r->next) owed |= !r->done;
    if (n != UV_EOF || c->lingering || owed || (!c->head && c->nwrites == 0)) {
        /* A peer that ends its side while a reply is still being produced is taken as gone
         * (clients do not half-close and then wait): the handlers hear of it (on_abort). */
        conn_close(c);
        return;
    }
    /* Half-close with complete replies still unsent: send them, then close. */
    c->close_after = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    conn_flush(c);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    conn *c = st->data;
    if (n < 0) {
        on_eof(c, n);
        return;
    }
    if (c->lingering) c->last_active = rt_now_ms();       /* else only a request's bytes count */
    if (c->close_after || c->lingering || n == 0) return; /* discarded */
    conn_feed(c, buf->base, (size_t)n);
}

static void read_resume(conn *c)
{
    c->paused = false;
    conn_rearm(c); /* a request arriving counts again */
    if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
}

/* --- worker hooks ------------------------------------------------------------------------- */

static void free_handle(uv_handle_t *h)
{
    free(h->data);
}

/* Over max_conns: the connection is closed at once (the client sees it closed, not a hang in
 * the backlog), counted, and logged at most once per LOG_EVERY_MS per worker. */
static void refuse(sworker *sw, int fd)
{
    close(fd);
    RT_COUNT_ADD(sw->w, conns_refused, 1);
    sw->refused_quiet++;
    uint64_t now = rt_now_ms();
    if (sw->refused_logged && now - sw->refused_logged < LOG_EVERY_MS) return;
    mcp_log(MCP_LOGL_WARN,
            "http: worker %u: %zu connections open (the limit): %llu new connection(s) closed at "
            "once",
            rt_worker_index(sw->w), sw->nconns, (unsigned long long)sw->refused_quiet);
    sw->refused_logged = now;
    sw->refused_quiet = 0;
}

static void on_accept(rt_worker *w, int fd, void *ud)
{
    sworker *sw = rt_worker_data(w);
    if (sw->nconns >= sw->s->cfg.max_conns) {
        refuse(sw, fd);
        return;
    }
    conn *c = mcp_xcalloc(1, sizeof *c);
    uv_tcp_init(rt_worker_loop(w), &c->tcp);
    c->tcp.data = c;
    if (uv_tcp_open(&c->tcp, fd)) {
        close(fd);
        uv_close((uv_handle_t *)&c->tcp, free_handle);
        return;
    }
    c->sw = sw;
    c->next = sw->conns;
    if (sw->conns) sw->conns->prev = c;
    sw->conns = c;
    sw->nconns++;
    RT_COUNT_ADD(w, conns_accepted, 1);
    RT_COUNT_ADD(w, conns_open, 1);
    http_parser_init(&c->parser, &sw->s->cfg.limits);
    uv_tcp_nodelay(&c->tcp, 1);
    c->last_active = rt_now_ms();
    rt_timer_init(&c->tmr, conn_timer);
    read_resume(c); /* arms the idle deadline */
}

/* True when the socket has taken no byte of a pending write for write_timeout_ms. libuv
 * completes a write request only when all of it is sent, so progress is read from its write
 * queue size, which shrinks as the socket takes bytes. */
static bool write_stalled(conn *c, const http_server_config *cfg, uint64_t now)
{
    if (c->nwrites == 0) return false;
    size_t q = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    if (q < c->last_wq) c->write_since = now;
    c->last_wq = q;
    return now - c->write_since >= cfg->write_timeout_ms;
}

static void close_stalled(conn *c, const http_server_config *cfg)
{
    mcp_log(MCP_LOGL_WARN,
            "http: closing a connection: the client took no byte for %u ms (%zu bytes unsent)",
            cfg->write_timeout_ms, c->inflight);
    RT_COUNT_ADD(c->sw->w, errors, 1);
    conn_close(c);
}

static void tick_one(conn *c, const http_server_config *cfg, uint64_t now)
{
    if (c->closing) return;
    if (c->doomed) {
        conn_close(c);
    } else if (c->lingering) {
        if (now - c->last_active >= LINGER_MS) conn_close(c);
    } else if (write_stalled(c, cfg, now)) {
        close_stalled(c, cfg);
    } else if (!c->close_after && !c->paused && c->receiving) {
        /* (paused: the client is slow to read, not to send; the write timeout covers it) */
        if (now - c->req_start >= cfg->header_timeout_ms) push_error(c, 408, "request timeout");
    } else if (!c->head && c->nwrites == 0 && now - c->last_active >= cfg->idle_timeout_ms) {
        conn_close(c);
    }
}

/* How often progress of a pending write is looked at (and a connection whose handler has the
 * request is looked at again): an eighth of the shortest timeout, between 1 ms and a second.
 * Only connections with a write pending or a request at a handler are looked at this often. */
static uint64_t poll_every(const http_server_config *cfg)
{
    uint64_t t = cfg->header_timeout_ms < cfg->idle_timeout_ms ? cfg->header_timeout_ms
                                                               : cfg->idle_timeout_ms;
    if (cfg->write_timeout_ms < t) t = cfg->write_timeout_ms;
    t /= 8;
    if (t > 1000) t = 1000;
    return t ? t : 1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The earliest time tick_one can have something to do for c in its present state. */
static uint64_t next_due(const conn *c, const http_server_config *cfg, uint64_t now)
{
    uint64_t poll = now + poll_every(cfg);
    if (c->doomed) return now;
    if (c->lingering) return c->last_active + LINGER_MS;
    uint64_t due = UINT64_MAX;
    if (c->nwrites) due = min_u64(c->write_since + cfg->write_timeout_ms, poll);
    if (!c->close_after && !c->paused && c->receiving)
        due = min_u64(due, c->req_start + cfg->header_timeout_ms);
    else if (!c->head && c->nwrites == 0)
        due = min_u64(due, c->last_active + cfg->idle_timeout_ms);
    if (due == UINT64_MAX || due <= now) due = poll; /* a handler has the request */
    return due;
}

/* Moves c's entry earlier if its state now has an earlier deadline (never later: a later
 * deadline is found when the entry fires). Loop thread. */
static void conn_rearm(conn *c)
{
    if (c->closing) return;
    const http_server_config *cfg = &c->sw->s->cfg;
    uint64_t due = next_due(c, cfg, rt_now_ms());
    if (rt_timer_armed(&c->tmr) && rt_timer_due(&c->tmr) <= due) return;
    rt_worker_timer_arm(c->sw->w, &c->tmr, due);
}

static void conn_timer(rt_timer *t, uint64_t now)
{
    conn *c = (conn *)(void *)((char *)t - offsetof(conn, tmr));
    if (now == RT_TIMER_DRAIN) return; /* the loop stops: on_stop closed every connection */
    const http_server_config *cfg = &c->sw->s->cfg;
    tick_one(c, cfg, now);
    if (!c->closing) rt_worker_timer_arm(c->sw->w, t, next_due(c, cfg, now));
}

static void on_tick(rt_worker *w, uint64_t now, void *ud)
{
    sworker *sw = rt_worker_data(w);
    if (sw->s->cfg.on_tick) sw->s->cfg.on_tick(w, now, sw->s->cfg.ud);
}

static void on_start(rt_worker *w, void *ud)
{
    sworker *sw = mcp_xcalloc(1, sizeof *sw);
    sw->s = ud;
    sw->w = w;
    rt_worker_set_data(w, sw);
}

static void on_stop(rt_worker *w, void *ud)
{
    sworker *sw = rt_worker_data(w);
    for (conn *c = sw->conns; c; c = c->next) conn_close(c);
}

static void on_exit_worker(rt_worker *w, void *ud)
{
    sworker *sw = rt_worker_data(w);
    if (!sw) return;                        /* start failed before on_start ran for this worker */
    while (sw->conns) conn_free(sw->conns); /* only those with responses still at a handler */
    free(sw);
}

/* --- public API ----------------------------------------------------------------------------- */

static void set_defaults(http_server_config *cfg)
{
    if (!cfg->max_conns) cfg->max_conns = 10000;
    if (!cfg->header_timeout_ms) cfg->header_timeout_ms = 10000;
    if (!cfg->idle_timeout_ms) cfg->idle_timeout_ms = 60000;
    if (!cfg->write_timeout_ms) cfg->write_timeout_ms = 30000;
    if (!cfg->max_pending_output) cfg->max_pending_output = 1u << 20;
    if (!cfg->max_unsent_output) cfg->max_unsent_output = 8u << 20;
}

/* File descriptors kept for everything but client connections: stdio, per worker its epoll,
 * eventfd and listener, the work pool, and the application's own files, sockets and child
 * processes' pipes (an eighth of the limit). */
static uint64_t fd_headroom(uint64_t limit, unsigned workers)
{
    return 32 + 4 * (uint64_t)workers + limit / 8;
}

/* Connections per worker that the fd limit allows: (limit - headroom) / workers. The soft
 * limit is first raised toward the hard one as far as max_conns needs (as nginx's
 * worker_rlimit_nofile or Go's runtime do); max_conns is then lowered to the budget. */
static void conn_budget(http_server_config *cfg, unsigned workers)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY) return;
    uint64_t want = (uint64_t)cfg->max_conns * workers;
    uint64_t need = (want + 32 + 4 * (uint64_t)workers) * 8 / 7 + 1;
    if (rl.rlim_cur < need && rl.rlim_max > rl.rlim_cur) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up;
    }
    uint64_t limit = rl.rlim_cur, head = fd_headroom(limit, workers);
    uint64_t per = limit > head ? (limit - head) / workers : 0;
    if (per < 1) per = 1;
    if (per >= cfg->max_conns) return;
    mcp_log(MCP_LOGL_WARN,
            "http: %zu connections per worker asked, the fd limit %llu allows %llu (%llu fds kept "
            "for the server's own files, sockets and child processes): using %llu",
            cfg->max_conns, (unsigned long long)limit, (unsigned long long)per,
            (unsigned long long)head, (unsigned long long)per);
    cfg->max_conns = (size_t)per;
}

int http_server_start(http_server **out, const http_server_config *cfg)
{
    http_server *s = mcp_xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    set_defaults(&s->cfg);
    conn_budget(&s->cfg, cfg->workers ? cfg->workers : rt_cpu_count());
    rt_workers_config wc = {
        .nworkers = cfg->workers,
        .host = cfg->host,
        .port = cfg->port,
        .tick_ms = cfg->tick_ms,
        .on_start = on_start,
        .on_accept = on_accept,
        .on_tick = on_tick,
        .on_stop = on_stop,
        .on_exit = on_exit_worker,
        .ud = s,
    };
    *out = s; /* before the workers run: their handlers may read it (through the caller's ud) */
    int rc = rt_workers_start(&s->ws, &wc);
    if (rc) {
        *out = NULL;
        free(s);
        return rc;
    }
    return 0;
}

void http_server_stop_accepting(http_server *s)
{
    rt_workers_stop_accepting(s->ws);
}

void http_server_stop(http_server *s)
{
    rt_workers_stop(s->ws);
    free(s);
}

int http_server_port(const http_server *s)
{
    return rt_workers_port(s->ws);
}
size_t http_server_max_conns(const http_server *s)
{
    return s->cfg.max_conns;
}
rt_workers *http_server_workers(http_server *s)
{
    return s->ws;
}
rt_worker *http_response_worker(http_response *res)
{
    return res->c->sw->w;
}

static int write_head(http_response *res, int status, const char *type, long long len)
{
    http_field f[2 + MAX_EXTRA_HEADERS];
    size_t n = 0;
    if (type) f[n++] = (http_field){"Content-Type", type};
    if (res->close) f[n++] = (http_field){"Connection", "close"};
    for (unsigned i = 0; i < res->nextra; i++)
        f[n++] = (http_field){res->extra[2 * i], res->extra[2 * i + 1]};
    res->headed = true;
    res->status = status;
    return http_write_status_line_and_headers(&res->buf, status, NULL, f, n, len);
}

int http_response_header(http_response *res, const char *name, const char *value)
{
    if (res->headed || res->nextra == MAX_EXTRA_HEADERS || !name || !value) return -1;
    res->extra[2 * res->nextra] = mcp_xstrndup(name, strlen(name));
    res->extra[2 * res->nextra + 1] = mcp_xstrndup(value, strlen(value));
    res->nextra++;
    return 0;
}

void http_response_on_abort(http_response *res, void (*fn)(http_response *res, void *ud), void *ud)
{
    res->on_abort = fn;
    res->abort_ud = ud;
}

void http_response_close_after(http_response *res)
{
    if (res->close) return;
    res->close = true;
    res->c->close_after = true;
}

static void fail_500(http_response *res)
{
    res->status = 500;
    http_write_error(&res->buf, 500, "invalid response");
    res->close = true;
    res->c->close_after = true;
}

int http_response_send(http_response *res, int status, const char *content_type, const void *body,
                       size_t len)
{
    int rc = 0;
    if (!res->c->closing) {
        rc = write_head(res, status, content_type, (long long)len);
        if (rc)
            fail_500(res);
        else if (len && !res->head_only)
            mcp_buf_append(&res->buf, body, len);
    }
    response_complete(res);
    return rc;
}

int http_response_send_buf(http_response *res, int status, const char *content_type, mcp_buf *body)
{
    if (body->len < TAIL_MIN || !body->owned || res->c->closing || res->head_only) {
        int rc = http_response_send(res, status, content_type, body->data, body->len);
        mcp_buf_free(body);
        return rc;
    }
    int rc = write_head(res, status, content_type, (long long)body->len);
    if (rc) {
        fail_500(res);
        mcp_buf_free(body);
    } else {
        res->tail_len = body->len;
        res->tail = mcp_buf_steal(body, NULL); /* the heap block itself when it has room */
    }
    response_complete(res);
    return rc;
}

int http_response_start_stream(http_response *res, int status, const char *content_type)
{
    if (res->c->closing) return 0;
    int rc = write_head(res, status, content_type, HTTP_BODY_CHUNKED);
    if (rc) fail_500(res);
    conn_flush(res->c);
    return rc;
}

/* Bytes the connection holds for the client: in write requests, and in response buffers. */
static size_t unsent(const conn *c)
{
    size_t n = c->inflight;
    for (const http_response *r = c->head; r; r = r->next) n += resp_pending(r);
    return n;
}

/* True (and the connection marked for closing at the next tick: closing here would call
 * the caller's own abort handler under it) when more than max_unsent_output bytes are still
 * unsent: the client does not read. One write of any size is taken when little is pending. */
static bool over_unsent(conn *c)
{
    if (c->doomed) return true;
    size_t n = unsent(c), cap = c->sw->s->cfg.max_unsent_output;
    if (n <= cap) return false;
    mcp_log(MCP_LOGL_WARN,
            "http: closing a connection: %zu bytes of output unsent (limit %zu): the client does "
            "not read",
            n, cap);
    RT_COUNT_ADD(c->sw->w, errors, 1);
    c->doomed = true;
    c->close_after = true; /* parse no more */
    conn_rearm(c);
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    return true;
}

int http_response_write_chunk(http_response *res, const void *data, size_t len)
{
    if (res->c->closing || res->c->close_sent) return -1;
    if (res->head_only) return 0;
    if (over_unsent(res->c)) return -1;
    http_write_chunk(&res->buf, data, len);
    if (res == res->c->head) conn_flush(res->c);
    return 0;
}

void http_response_end(http_response *res)
{
    if (!res->c->closing && !res->head_only) http_write_last_chunk(&res->buf);
    response_complete(res);
}

void http_response_set_note(http_response *res, void *note)
{
    res->note = note;
}

void *http_response_note(http_response *res)
{
    return res->note;
}

/* FNV-1a over the peer's address bytes (never its port): one key per client host. */
uint64_t http_response_peer_key(http_response *res)
{
    conn *c = res->c;
    if (!c) return 1;
    if (c->peer_key) return c->peer_key;
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *p = NULL;
    size_t n = 0;
    if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len)) {
        if (ss.ss_family == AF_INET) {
            p = (const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr;
            n = 4;
        } else if (ss.ss_family == AF_INET6) {
            p = (const unsigned char *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
            n = 16;
        }
    }
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    c->peer_key = h ? h : 1;
    return c->peer_key;
}
