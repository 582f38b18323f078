/* stdio.c - the stdio transport: newline-delimited JSON-RPC on stdin/stdout.
 *
 * This is how local clients (desktop apps, IDEs, agents) start an MCP server. mcp_stdio_start
 * starts a reader thread of the library's own (async signals blocked): it poll()s stdin together
 * with a stop pipe, splits what it reads into lines and hands each line to one engine conn
 * (MCP_CONN_STDIO, so both protocol eras are accepted). Handlers run on a bounded work pool
 * (rt_pool); the engine's sink may be called from any thread (an embedder's too), so writes to
 * stdout are serialized by a mutex and done with writev() of the message and its newline,
 * retried on partial writes, with SIGPIPE held back (a client that closed its end is an error
 * code, not a death). The poll timeout doubles as the engine's tick (handler timeouts, expiry
 * of unanswered server-to-client requests). mcp_stdio_stop stops reading, drains and frees;
 * mcp_serve_stdio is start, a wait for EOF or SIGTERM/SIGINT, and stop.
 *
 * Bounds: a line longer than max_line is not buffered: the reader answers one JSON-RPC error
 * (id null) and discards bytes up to the next newline, then goes on. At EOF or on a signal it
 * stops reading, waits for in-flight requests up to a drain deadline, and returns.
 * A plain poll() loop is enough here: one fd, one stream, no timers but the tick. */
#include "base/alloc.h"
#include "base/log.h"
#include "base/sized.h"
#include "mcp/engine.h"
#include "mcp/mcp.h"
#include "rt/clock.h"
#include "rt/pool.h"
#include "rt/signals.h"
#include "rt/wake.h"
#include "transport/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define DEFAULT_MAX_LINE (4u << 20)
#define READ_CHUNK       (64u * 1024u)
#define DRAIN_MS         10000u
#define STOP_GRACE_MS    5000u /* after the drain: then handlers that ignore it are left */
#define TICK_MS          1000

typedef struct stdio_state {
    pthread_mutex_t out_lock;
    int out_fd;
    atomic_bool out_broken; /* EPIPE or another write error: stop writing, stop reading */
    rt_pool *pool;
    mcp_conn *conn;
} stdio_state;

struct mcp_stdio {
    stdio_state st;
    mcp_server *srv;
    size_t max_line;
    int stop_pipe[2]; /* mcp_stdio_stop writes; the reader polls the read end */
    int ended_fd;     /* readable once the reader has ended (EOF, error, stop) */
    pthread_t reader;
    int read_rc; /* the reader's: 0, or -1 on a read error */
};

/* Writes all iov bytes to fd; returns 0 or -1 (errno set). */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, 100);
                continue;
            }
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* The engine's sink: one message, one line. Any thread. */
static void stdio_send(void *ud, const mcp_out *out)
{
    stdio_state *st = ud;
    if (out->kind == MCP_OUT_CLOSE_STREAM || out->kind == MCP_OUT_END) return; /* one stream */
    static char nl[1] = {'\n'};
    struct iovec iov[2] = {{(void *)out->data, out->len}, {nl, 1}};
    pthread_mutex_lock(&st->out_lock);
    if (!atomic_load(&st->out_broken)) {
        rt_sigpipe sp; /* the sink may run on an embedder's thread: no SIGPIPE there either */
        rt_sigpipe_hold(&sp);
        int rc = write_all(st->out_fd, iov, 2);
        int e = errno;
        rt_sigpipe_release(&sp, rc < 0 && e == EPIPE);
        if (rc < 0) {
            atomic_store(&st->out_broken, true);
            mcp_log(MCP_LOGL_ERROR, "stdio: writing stdout failed: %s", strerror(e));
        }
    }
    pthread_mutex_unlock(&st->out_lock);
}

/* The engine's executor: handlers go to the pool; -EAGAIN when its queue is full. */
static int stdio_exec(void *ud, void (*fn)(void *), void *arg)
{
    return rt_pool_exec(((stdio_state *)ud)->pool, fn, arg);
}

static void send_too_long(stdio_state *st, size_t max)
{
    char detail[48], stack[256];
    snprintf(detail, sizeof detail, "%zu bytes", max);
    mcp_buf b;
    mcp_buf_init(&b, stack, sizeof stack, 0);
    herr_json(&b, HERR_TOO_LARGE, NULL, detail);
    mcp_out out = {.data = b.data, .len = b.len, .kind = MCP_OUT_RESPONSE};
    stdio_send(st, &out);
    mcp_buf_free(&b);
    mcp_log(MCP_LOGL_WARN, "stdio: dropped a line longer than %zu bytes", max);
}

static void handle_line(stdio_state *st, char *line, size_t len)
{
    if (len && line[len - 1] == '\r') len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == len) return; /* blank lines are keep-alives at most */
    mcp_conn_handle(st->conn, line, len, NULL, NULL);
}

typedef struct line_reader {
    char *buf;
    size_t len, cap, max;
    bool discarding; /* inside an oversize line: drop bytes up to the next newline */
} line_reader;

/* Splits the newly read bytes buf[0..len) into lines; keeps an incomplete tail. */
static void feed(stdio_state *st, line_reader *r, size_t start)
{
    size_t from = 0, scan = start;
    for (;;) {
        char *nl = memchr(r->buf + scan, '\n', r->len - scan);
        if (!nl) break;
        size_t end = (size_t)(nl - r->buf);
        if (r->discarding)
            r->discarding = false;
        else if (end - from > r->max)
            send_too_long(st, r->max);
        else
            handle_line(st, r->buf + from, end - from);
        from = scan = end + 1;
    }
    size_t rest = r->len - from;
    if (r->discarding)
        rest = 0;
    else if (rest > r->max) { /* no newline within the limit: answer now, skip the rest */
        send_too_long(st, r->max);
        r->discarding = true;
        rest = 0;
    }
    memmove(r->buf, r->buf + r->len - rest, rest);
    r->len = rest;
}

/* Reads stdin until EOF, a stop request or a broken stdout. Returns 0, or -1 on a read error. */
static int read_loop(stdio_state *st, size_t max_line, int stop_fd)
{
    line_reader r = {.max = max_line, .cap = READ_CHUNK * 2};
    r.buf = mcp_xmalloc(r.cap);
    int rc = 0;
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                            {.fd = stop_fd, .events = POLLIN}};
    while (!atomic_load(&st->out_broken)) {
        int n = poll(fds, 2, TICK_MS);
        mcp_conn_tick(st->conn, rt_now_ms());
        if (n < 0 && errno != EINTR) break;
        if (n <= 0) continue;
        if (fds[1].revents) break; /* mcp_stdio_stop */
        if (r.cap - r.len < READ_CHUNK) {
            r.cap = r.len + READ_CHUNK * 2;
            r.buf = mcp_xrealloc(r.buf, r.cap);
        }
        ssize_t got = read(STDIN_FILENO, r.buf + r.len, READ_CHUNK);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got < 0) {
            mcp_log(MCP_LOGL_ERROR, "stdio: reading stdin failed: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (got == 0) {
            if (r.len && !r.discarding) handle_line(st, r.buf, r.len); /* last line, no \n */
            break;
        }
        size_t start = r.len;
        r.len += (size_t)got;
        feed(st, &r, start);
    }
    free(r.buf);
    return rc;
}

/* Waits until no request is in flight or the deadline passes. */
static void drain(stdio_state *st)
{
    uint64_t deadline = rt_now_ms() + DRAIN_MS;
    while (mcp_conn_inflight(st->conn) > 0 && rt_now_ms() < deadline) {
        mcp_conn_tick(st->conn, rt_now_ms());
        usleep(5000);
    }
    if (mcp_conn_inflight(st->conn) > 0)
        mcp_log(MCP_LOGL_WARN, "stdio: %u requests still in flight after %u ms; abandoning them",
                mcp_conn_inflight(st->conn), DRAIN_MS);
}

static void *reader_main(void *arg)
{
    mcp_stdio *h = arg;
    h->read_rc = read_loop(&h->st, h->max_line, h->stop_pipe[0]);
    rt_wake_signal(h->ended_fd);
    return NULL;
}

static void stdio_free(mcp_stdio *h)
{
    for (int i = 0; i < 2; i++)
        if (h->stop_pipe[i] >= 0) close(h->stop_pipe[i]);
    rt_wake_close(h->ended_fd);
    if (h->st.pool) rt_pool_free(h->st.pool);
    pthread_mutex_destroy(&h->st.out_lock);
    free(h);
}

mcp_stdio *mcp_stdio_start_sz(mcp_server *s, size_t opts_size, const mcp_stdio_options *opts_in,
                              char *err, size_t errsize)
{
    mcp_stdio_options o;
    if (copy_sized(&o, sizeof o, opts_in, opts_size)) {
        if (err) snprintf(err, errsize, "%s", SIZED_TOO_NEW("mcp_stdio_options"));
        return NULL;
    }
    const mcp_stdio_options *opts = &o;
    mcp_stdio *h = mcp_xcalloc(1, sizeof *h);
    h->srv = s;
    h->max_line = opts && opts->max_line ? opts->max_line : DEFAULT_MAX_LINE;
    h->st.out_fd = STDOUT_FILENO;
    atomic_init(&h->st.out_broken, false);
    pthread_mutex_init(&h->st.out_lock, NULL);
    h->stop_pipe[0] = h->stop_pipe[1] = -1;
    h->ended_fd = rt_wake_open();
    if (h->ended_fd < 0 || pipe2(h->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        if (err) snprintf(err, errsize, "stdio: no pipe: %s", strerror(errno));
        stdio_free(h);
        return NULL;
    }
    rt_pool_config pc = {.threads = opts ? opts->threads : 0,
                         .queue_max = opts ? opts->queue_max : 0,
                         .name = "mcp-stdio"};
    h->st.pool = rt_pool_new(&pc);
    if (!h->st.pool) {
        if (err) snprintf(err, errsize, "stdio: cannot start the work pool: %s", strerror(errno));
        stdio_free(h);
        return NULL;
    }
    mcp_conn_options co = {.mode = MCP_CONN_STDIO,
                           .sink = {.send = stdio_send, .ud = &h->st},
                           .exec = stdio_exec,
                           .exec_ud = &h->st,
                           .max_message = h->max_line};
    h->st.conn = mcp_conn_new(s, &co);
    int rc = rt_thread_create_quiet(&h->reader, NULL, reader_main, h);
    if (rc) {
        if (err) snprintf(err, errsize, "stdio: cannot start the reader: %s", strerror(rc));
        mcp_conn_close(h->st.conn);
        stdio_free(h);
        return NULL;
    }
    mcp_log(MCP_LOGL_INFO, "stdio: serving");
    return h;
}

int mcp_stdio_wait(mcp_stdio *h, int timeout_ms)
{
    struct pollfd p = {.fd = h->ended_fd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    return n > 0 ? 1 : 0;
}

int mcp_stdio_stop(mcp_stdio *h)
{
    char c = 's';
    ssize_t w = write(h->stop_pipe[1], &c, 1); /* the reader may have ended already */
    (void)w;
    uint64_t began = rt_now_ms();
    pthread_join(h->reader, NULL);
    mcp_server_cancel_tasks(h->srv);
    drain(&h->st);
    mcp_conn_shutdown(h->st.conn);
    mcp_conn_close(h->st.conn);
    if (rt_pool_shutdown_until(h->st.pool, true, began + DRAIN_MS + STOP_GRACE_MS, NULL)) {
        mcp_log(MCP_LOGL_ERROR,
                "stdio: handlers still running %u ms after the stop began; "
                "leaving them (what they use is not freed)",
                DRAIN_MS + STOP_GRACE_MS);
        mcp_server_abandon(h->srv); /* and s: mcp_server_free leaves it too */
        return MCP_SERVE_ABANDONED; /* h and its pool stay: a handler may still touch them */
    }
    int rc = h->read_rc || atomic_load(&h->st.out_broken) ? MCP_SERVE_FAILED : MCP_SERVE_OK;
    stdio_free(h);
    mcp_log(MCP_LOGL_INFO, "stdio: stopped");
    return rc;
}

int mcp_serve_stdio_sz(mcp_server *s, size_t opts_size, const mcp_stdio_options *opts)
{
    rt_signals sig;
    if (rt_signals_open(&sig) < 0) return MCP_SERVE_FAILED;
    char err[256] = "";
    mcp_stdio *h = mcp_stdio_start_sz(s, opts_size, opts, err, sizeof err);
    if (!h) {
        mcp_log(MCP_LOGL_ERROR, "%s", err);
        rt_signals_close(&sig);
        return MCP_SERVE_FAILED;
    }
    struct pollfd fds[2] = {{.fd = h->ended_fd, .events = POLLIN},
                            {.fd = sig.fd, .events = POLLIN}};
    while (poll(fds, 2, -1) <= 0) { /* EINTR: the signal's byte is in the pipe */
    }
    if (!fds[0].revents) mcp_log(MCP_LOGL_INFO, "stdio: signal received, finishing in-flight work");
    int rc = mcp_stdio_stop(h);
    rt_signals_close(&sig);
    return rc;
}
