/* mcpload: a small MCP load generator for what wrk cannot do. One thread, epoll, N concurrent
 * HTTP/1.1 keep-alive connections, each running a little state machine. Legacy era (sessions).
 *
 *   mcpload --port P --mode churn -c 64 -d 5
 *       each connection loops: POST initialize (reads Mcp-Session-Id) -> POST
 *       notifications/initialized (202) -> POST tools/call echo -> DELETE; reports sessions/s
 *       and the latency of one whole session (p50, p99)
 *   mcpload --port P --mode idle -c 32 -n 1000,10000,100000 [--pid SERVER_PID] [--hold S]
 *       creates idle sessions (initialize + initialized, nothing kept open) until each count of
 *       the list is reached; at 0 and at each count prints the server's RSS (with --pid); with
 *       --hold, then waits S seconds and prints the server's CPU% over them
 *   mcpload --port P --mode sse -n 10000 --hold 10 [--pid SERVER_PID]
 *       opens n connections, each initializes a session and then keeps a GET text/event-stream
 *       open; when all are open, holds them idle for --hold seconds and reports the server's
 *       RSS and CPU% (utime+stime from /proc/PID/stat) over the hold
 *   mcpload --port P --mode list -c 16 -d 5
 *       each connection initializes a session, then walks tools/list page by page (nextCursor)
 *       again and again; reports walks/s, pages/s and tools per walk
 *
 * Options: --host (127.0.0.1), --path (/mcp), --version (2025-11-25), --setup N (connections
 * being set up at once in sse mode, 64). Every answer is checked (status, "result", session
 * id); any error makes the exit status 1 with the first bad answer printed. Output: one line
 * per result, "mcpload: key=value ...". Plain POSIX + Linux epoll, C11, no libmcp. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_CHURN, M_IDLE, M_SSE, M_LIST };
enum step { S_CONNECT, S_INIT, S_INITED, S_CALL, S_DELETE, S_GET, S_STREAM, S_LIST, S_DONE };

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

typedef struct conn {
    int fd;
    enum step step;
    bool want_out;
    buf out;
    size_t out_off;
    buf in;
    buf body; /* decoded chunked body */
    char sid[160];
    char *cursor;
    uint64_t t0;        /* start of the current session or walk (ns) */
    unsigned pages;     /* pages in the current walk */
    unsigned tools;     /* tools seen in the current walk */
    bool stream_hdr;    /* sse: 200 text/event-stream header seen */
    uint64_t stream_rx; /* sse: bytes received on the stream */
    bool closed;
    bool parked; /* idle: waits at S_INIT for the next count */
} conn;

static struct {
    const char *host, *path, *version;
    int port;
    enum mode mode;
    int conns;
    double secs, hold;
    long counts[16];
    int ncounts;
    int pid;
    int setup;
    bool hold_set;
} opt = {"127.0.0.1", "/mcp", "2025-11-25", 0, M_CHURN, 16, 5, 10, {0}, 0, 0, 64, false};

static struct sockaddr_in addr;
static int ep;
static uint64_t next_id = 1;
static long errors;
static char first_err[600];
static bool stopping;            /* churn/list: duration over, start nothing new */
static long idle_limit, started; /* idle: sessions to start in all, started so far */
static long done_units;          /* sessions (churn, idle), walks (list), streams (sse) */
static long pages_total, tools_last;
static uint32_t *lat;
static size_t nlat, caplat;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mcpload: FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void bad(conn *c, const char *fmt, ...)
{
    errors++;
    if (first_err[0]) return;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(first_err, sizeof first_err, "step %d: ", (int)c->step);
    vsnprintf(first_err + n, sizeof first_err - (size_t)n, fmt, ap);
    va_end(ap);
}

static void buf_reserve(buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) die("out of memory");
    b->cap = cap;
}

static void buf_add(buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void lat_add(uint64_t ns)
{
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = realloc(lat, caplat * sizeof *lat);
        if (!lat) die("out of memory");
    }
    lat[nlat++] = (uint32_t)(ns / 1000 > UINT32_MAX ? UINT32_MAX : ns / 1000);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t pct(double p)
{
    if (!nlat) return 0;
    size_t i = (size_t)(p / 100.0 * (double)(nlat - 1) + 0.5);
    return lat[i];
}

/* ---- the server process, from /proc ------------------------------------------------------- */

static long rss_kb(void)
{
    if (!opt.pid) return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", opt.pid);
    FILE *f = fopen(path, "r");
    if (!f) die("cannot read %s: the server is gone", path);
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) v = strtol(line + 6, NULL, 10);
    fclose(f);
    return v;
}

static long cpu_ticks(void)
{
    if (!opt.pid) return -1;
    char path[64], s[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", opt.pid);
    FILE *f = fopen(path, "r");
    if (!f) die("cannot read %s: the server is gone", path);
    size_t n = fread(s, 1, sizeof s - 1, f);
    fclose(f);
    s[n] = '\0';
    char *p = strrchr(s, ')');
    if (!p) return -1;
    /* after ") ": field 3 (state) ... utime is field 14, stime 15 */
    long ut = 0, st = 0;
    int field = 2;
    for (char *t = strtok(p + 1, " "); t; t = strtok(NULL, " ")) {
        field++;
        if (field == 14) ut = atol(t);
        if (field == 15) {
            st = atol(t);
            break;
        }
    }
    return ut + st;
}

/* ---- requests ----------------------------------------------------------------------------- */

static void arm(conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    if (c->want_out == out) return;
    c->want_out = out;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
}

static void flush_out(conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                arm(c, true);
                return;
            }
            if (errno == EINTR) continue;
            bad(c, "send: %s", strerror(errno));
            c->closed = true;
            return;
        }
        c->out_off += (size_t)n;
    }
    c->out.len = c->out_off = 0;
    arm(c, false);
}

static void send_req(conn *c, const char *method, const char *accept, const char *body)
{
    buf *o = &c->out;
    buf_printf(o, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", method, opt.path, opt.host, opt.port);
    if (accept) buf_printf(o, "Accept: %s\r\n", accept);
    if (c->sid[0])
        buf_printf(o, "Mcp-Session-Id: %s\r\nMCP-Protocol-Version: %s\r\n", c->sid, opt.version);
    if (body)
        buf_printf(o, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   strlen(body), body);
    else
        buf_add(o, "\r\n", 2);
    flush_out(c);
}

static const char *ACCEPT_BOTH = "application/json, text/event-stream";

static void do_step(conn *c)
{
    char body[1200];
    switch (c->step) {
    case S_INIT:
        if (opt.mode == M_IDLE && started >= idle_limit) {
            c->parked = true;
            break;
        }
        started++;
        c->sid[0] = '\0';
        c->t0 = now_ns();
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"initialize\",\"params\":{"
                 "\"protocolVersion\":\"%s\",\"capabilities\":{},"
                 "\"clientInfo\":{\"name\":\"mcpload\",\"version\":\"1\"}}}",
                 (unsigned long long)next_id++, opt.version);
        send_req(c, "POST", ACCEPT_BOTH, body);
        break;
    case S_INITED:
        send_req(c, "POST", ACCEPT_BOTH,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
        break;
    case S_CALL:
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"tools/call\",\"params\":{"
                 "\"name\":\"echo\",\"arguments\":{\"message\":\"hello\"}}}",
                 (unsigned long long)next_id++);
        send_req(c, "POST", ACCEPT_BOTH, body);
        break;
    case S_DELETE:
        send_req(c, "DELETE", NULL, NULL);
        break;
    case S_GET:
        send_req(c, "GET", "text/event-stream", NULL);
        c->step = S_STREAM;
        done_units++;
        break;
    case S_LIST:
        if (c->cursor && strlen(c->cursor) > 900) die("cursor too long");
        if (c->cursor)
            snprintf(body, sizeof body,
                     "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"tools/list\","
                     "\"params\":{\"cursor\":\"%s\"}}",
                     (unsigned long long)next_id++, c->cursor);
        else
            snprintf(body, sizeof body,
                     "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"tools/list\",\"params\":{}}",
                     (unsigned long long)next_id++);
        send_req(c, "POST", ACCEPT_BOTH, body);
        break;
    default:
        break;
    }
}

static size_t count(const char *hay, size_t n, const char *needle)
{
    size_t k = 0, m = strlen(needle);
    const char *p = hay, *end = hay + n;
    while ((p = memmem(p, (size_t)(end - p), needle, m))) {
        k++;
        p += m;
    }
    return k;
}

/* One whole answer arrived: status, its headers (NUL-terminated block) and body. */
static void on_answer(conn *c, int status, const char *hdrs, const char *body, size_t blen)
{
    bool has_result = body && memmem(body, blen, "\"result\"", 8);
    switch (c->step) {
    case S_INIT: {
        const char *h = strcasestr(hdrs, "\nmcp-session-id:");
        if (status != 200 || !has_result || !h) {
            bad(c, "initialize: status %d, %s, body %.300s", status,
                h ? "session id" : "no session id", body ? body : "");
            c->step = opt.mode == M_IDLE || opt.mode == M_CHURN ? S_INIT : S_DONE;
            break;
        }
        h += 16;
        while (*h == ' ') h++;
        size_t n = strcspn(h, "\r\n");
        if (n == 0 || n >= sizeof c->sid) {
            bad(c, "bad session id");
            c->step = S_DONE;
            break;
        }
        memcpy(c->sid, h, n);
        c->sid[n] = '\0';
        c->step = S_INITED;
        break;
    }
    case S_INITED:
        if (status != 202) bad(c, "notifications/initialized: status %d (want 202)", status);
        if (opt.mode == M_CHURN) {
            c->step = S_CALL;
        } else if (opt.mode == M_IDLE) {
            done_units++;
            c->step = S_INIT;
        } else if (opt.mode == M_SSE) {
            c->step = S_GET;
        } else {
            c->step = S_LIST;
            c->t0 = now_ns();
        }
        break;
    case S_CALL:
        if (status != 200 || !has_result || !memmem(body, blen, "hello", 5))
            bad(c, "tools/call: status %d, body %.300s", status, body ? body : "");
        c->step = S_DELETE;
        break;
    case S_DELETE:
        if (status != 200 && status != 204) bad(c, "DELETE: status %d", status);
        if (!stopping) {
            done_units++;
            lat_add(now_ns() - c->t0);
        }
        c->step = S_INIT;
        break;
    case S_LIST: {
        if (status != 200 || !has_result) {
            bad(c, "tools/list: status %d, body %.300s", status, body ? body : "");
            c->step = S_DONE;
            break;
        }
        c->pages++;
        c->tools += (unsigned)count(body, blen, "\"inputSchema\"");
        if (!stopping) pages_total++;
        free(c->cursor);
        c->cursor = NULL;
        const char *k = memmem(body, blen, "\"nextCursor\":\"", 14);
        if (k) {
            k += 14;
            const char *e = memchr(k, '"', (size_t)(body + blen - k));
            if (!e) {
                bad(c, "unterminated nextCursor");
                c->step = S_DONE;
                break;
            }
            c->cursor = strndup(k, (size_t)(e - k));
        } else {
            if (!stopping) {
                done_units++;
                tools_last = c->tools;
                lat_add(now_ns() - c->t0);
            }
            c->pages = c->tools = 0;
            c->t0 = now_ns();
        }
        break;
    }
    default:
        break;
    }
}

/* Parses as much of c->in as forms whole answers. Returns false if the connection must go. */
static bool parse_in(conn *c)
{
    for (;;) {
        if (c->step == S_STREAM && c->stream_hdr) {
            c->stream_rx += c->in.len;
            c->in.len = 0;
            return true;
        }
        char *end = memmem(c->in.p, c->in.len, "\r\n\r\n", 4);
        if (!end) return true;
        size_t hlen = (size_t)(end - c->in.p) + 4;
        int status = 0;
        if (sscanf(c->in.p, "HTTP/1.%*d %d", &status) != 1) {
            bad(c, "not an HTTP answer: %.100s", c->in.p);
            return false;
        }
        char saved = c->in.p[hlen - 2];
        c->in.p[hlen - 2] = '\0'; /* headers as one string (ends with "\r\n") */
        const char *hdrs = c->in.p;
        bool chunked = strcasestr(hdrs, "\ntransfer-encoding: chunked") != NULL;
        const char *cl = strcasestr(hdrs, "\ncontent-length:");
        long clen = cl ? strtol(cl + 16, NULL, 10) : 0;
        if (c->step == S_STREAM) {
            if (status != 200 || !strcasestr(hdrs, "\ncontent-type: text/event-stream")) {
                bad(c, "GET stream: status %d, headers %.300s", status, hdrs);
                return false;
            }
            c->stream_hdr = true;
            c->in.p[hlen - 2] = saved;
            memmove(c->in.p, c->in.p + hlen, c->in.len - hlen);
            c->in.len -= hlen;
            continue;
        }
        const char *body = NULL;
        size_t blen = 0, total = hlen;
        if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
            /* no body */
        } else if (chunked) {
            c->body.len = 0;
            size_t pos = hlen;
            for (;;) {
                char *nl = memmem(c->in.p + pos, c->in.len - pos, "\r\n", 2);
                if (!nl) goto need_more;
                unsigned long sz = strtoul(c->in.p + pos, NULL, 16);
                size_t data = (size_t)(nl - c->in.p) + 2;
                if (data + sz + 2 > c->in.len) goto need_more;
                if (sz == 0) {
                    total = data + 2;
                    break;
                }
                buf_add(&c->body, c->in.p + data, sz);
                pos = data + sz + 2;
            }
            buf_add(&c->body, "", 0);
            body = c->body.p;
            blen = c->body.len;
        } else {
            if (hlen + (size_t)clen > c->in.len) goto need_more;
            body = c->in.p + hlen;
            blen = (size_t)clen;
            total = hlen + blen;
            if (saved == '\r' && blen == 0) body = "";
        }
        {
            /* NUL-terminate the body for the %s in error messages (restored below). */
            char after = 0;
            bool inplace = body && body != c->body.p && body[0] != '\0';
            if (inplace) { /* total <= in.len < in.cap: the byte exists */
                after = c->in.p[total];
                c->in.p[total] = '\0';
            }
            on_answer(c, status, hdrs, body, blen);
            if (inplace) c->in.p[total] = after;
        }
        memmove(c->in.p, c->in.p + total, c->in.len - total);
        c->in.len -= total;
        if (c->step == S_DONE) return true;
        if (stopping && opt.mode != M_SSE) return true;
        do_step(c);
        if (c->closed) return false;
        continue;
    need_more:
        c->in.p[hlen - 2] = saved;
        return true;
    }
}

static conn *conns;
static int nconns;
static int opened; /* connections started */

static void conn_start(conn *c)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket: %s (raise ulimit -n?)", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
        die("connect: %s", strerror(errno));
    c->step = S_CONNECT;
    c->want_out = true;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    opened++;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->closed = true;
}

static void on_event(conn *c, uint32_t ev)
{
    if (c->fd < 0) return;
    if (c->step == S_CONNECT) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) die("connect to %s:%d: %s", opt.host, opt.port, strerror(err));
        if (!(ev & (EPOLLOUT | EPOLLIN))) return;
        arm(c, false);
        c->step = S_INIT;
        do_step(c);
        if (c->closed) conn_close(c);
        return;
    }
    if (ev & EPOLLOUT) flush_out(c);
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (;;) {
            buf_reserve(&c->in, 65536);
            ssize_t n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1, 0);
            if (n > 0) {
                c->in.len += (size_t)n;
                if (!parse_in(c)) {
                    conn_close(c);
                    return;
                }
                if ((size_t)n < 65536) break;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (n < 0 && errno == EINTR) continue;
            if (!stopping) bad(c, "server closed the connection (%s)", n ? strerror(errno) : "EOF");
            conn_close(c);
            return;
        }
    }
    if (c->closed) conn_close(c);
}

static void loop_once(int timeout_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events);
}

static void usage(void)
{
    fputs("usage: mcpload --port P --mode churn|idle|sse|list [-c CONNS] [-d SECS]\n"
          "               [-n N[,N...]] [--hold SECS] [--pid PID] [--host H] [--path P]\n"
          "               [--version V] [--setup N]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage();
        i++;
        if (!strcmp(a, "--port"))
            opt.port = atoi(v);
        else if (!strcmp(a, "--host"))
            opt.host = v;
        else if (!strcmp(a, "--path"))
            opt.path = v;
        else if (!strcmp(a, "--version"))
            opt.version = v;
        else if (!strcmp(a, "-c"))
            opt.conns = atoi(v);
        else if (!strcmp(a, "-d"))
            opt.secs = atof(v);
        else if (!strcmp(a, "--hold")) {
            opt.hold = atof(v);
            opt.hold_set = true;
        } else if (!strcmp(a, "--pid"))
            opt.pid = atoi(v);
        else if (!strcmp(a, "--setup"))
            opt.setup = atoi(v);
        else if (!strcmp(a, "-n")) {
            char *s = strdup(v);
            for (char *t = strtok(s, ","); t && opt.ncounts < 16; t = strtok(NULL, ","))
                opt.counts[opt.ncounts++] = atol(t);
            free(s);
        } else if (!strcmp(a, "--mode")) {
            if (!strcmp(v, "churn"))
                opt.mode = M_CHURN;
            else if (!strcmp(v, "idle"))
                opt.mode = M_IDLE;
            else if (!strcmp(v, "sse"))
                opt.mode = M_SSE;
            else if (!strcmp(v, "list"))
                opt.mode = M_LIST;
            else
                usage();
        } else
            usage();
    }
    if (opt.port <= 0 || opt.conns <= 0) usage();
    if ((opt.mode == M_IDLE || opt.mode == M_SSE) && opt.ncounts == 0) usage();
    signal(SIGPIPE, SIG_IGN);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) die("--host: not an IPv4 address");
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1: %s", strerror(errno));

    if (opt.mode == M_SSE) {
        long want = opt.counts[0];
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        if ((rlim_t)want + 64 > rl.rlim_cur)
            die("-n %ld needs ulimit -n above %ld (now %llu)", want, want + 64,
                (unsigned long long)rl.rlim_cur);
        nconns = (int)want;
        conns = calloc((size_t)nconns, sizeof *conns);
        if (!conns) die("out of memory");
        for (int i = 0; i < nconns; i++) conns[i].fd = -1;
        uint64_t t0 = now_ns();
        long rss0 = rss_kb();
        /* open them, at most --setup in the middle of initialize/initialized at once */
        while (done_units < want) {
            while (opened < nconns && opened - done_units < opt.setup) conn_start(&conns[opened]);
            loop_once(100);
            if (errors) break;
            if (now_ns() - t0 > 120e9)
                die("sse: only %ld of %ld streams open after 120 s", done_units, want);
        }
        /* let the last answers (stream headers, priming events) arrive */
        uint64_t settle = now_ns();
        while (now_ns() - settle < 1e9) loop_once(50);
        double setup_s = (double)(now_ns() - t0) / 1e9;
        long rss1 = rss_kb(), cpu1 = cpu_ticks();
        uint64_t h0 = now_ns();
        while (now_ns() - h0 < opt.hold * 1e9) loop_once(100);
        double held = (double)(now_ns() - h0) / 1e9;
        long rss2 = rss_kb(), cpu2 = cpu_ticks();
        long open = 0, hdr = 0;
        uint64_t rx = 0;
        for (int i = 0; i < nconns; i++) {
            if (conns[i].fd >= 0 && conns[i].step == S_STREAM) open++;
            if (conns[i].stream_hdr) hdr++;
            rx += conns[i].stream_rx;
        }
        double tick = (double)sysconf(_SC_CLK_TCK);
        printf("mcpload: mode=sse streams=%ld open=%ld headers=%ld setup_s=%.2f hold_s=%.2f "
               "rss0_kb=%ld rss_kb=%ld rss_end_kb=%ld cpu_pct=%.2f stream_bytes=%llu "
               "errors=%ld\n",
               want, open, hdr, setup_s, held, rss0, rss1, rss2,
               opt.pid ? (double)(cpu2 - cpu1) / tick / held * 100.0 : -1.0, (unsigned long long)rx,
               errors);
        if (open != want && !errors) {
            errors++;
            snprintf(first_err, sizeof first_err, "%ld of %ld streams closed during the hold",
                     want - open, want);
        }
    } else {
        nconns = opt.conns;
        conns = calloc((size_t)nconns, sizeof *conns);
        if (!conns) die("out of memory");
        uint64_t t0 = now_ns();
        if (opt.mode == M_IDLE) printf("mcpload: mode=idle sessions=0 rss_kb=%ld\n", rss_kb());
        fflush(stdout);
        for (int i = 0; i < nconns; i++) conn_start(&conns[i]);
        if (opt.mode == M_IDLE) {
            for (int k = 0; k < opt.ncounts && !errors; k++) {
                long target = opt.counts[k];
                uint64_t s0 = now_ns();
                long d0 = done_units;
                idle_limit = target;
                for (int i = 0; i < nconns; i++)
                    if (conns[i].fd >= 0 && conns[i].parked) {
                        conns[i].parked = false;
                        do_step(&conns[i]);
                    }
                while (done_units < target && !errors) loop_once(100);
                double dt = (double)(now_ns() - s0) / 1e9;
                usleep(300000); /* let the server settle (free lists, sweeps) */
                printf("mcpload: mode=idle sessions=%ld rss_kb=%ld rate=%.0f errors=%ld\n",
                       done_units, rss_kb(), (double)(done_units - d0) / dt, errors);
                fflush(stdout);
            }
            if (opt.hold_set && opt.pid && !errors) { /* CPU with all those sessions idle */
                long cpu1 = cpu_ticks();
                uint64_t h0 = now_ns();
                while (now_ns() - h0 < opt.hold * 1e9) loop_once(100);
                double held = (double)(now_ns() - h0) / 1e9;
                printf("mcpload: mode=idle sessions=%ld hold_s=%.2f cpu_pct=%.2f rss_kb=%ld\n",
                       done_units, held,
                       (double)(cpu_ticks() - cpu1) / (double)sysconf(_SC_CLK_TCK) / held * 100.0,
                       rss_kb());
            }
        } else {
            while (now_ns() - t0 < opt.secs * 1e9 && !errors) loop_once(50);
            stopping = true;
            double dt = (double)(now_ns() - t0) / 1e9;
            qsort(lat, nlat, sizeof *lat, cmp_u32);
            if (opt.mode == M_CHURN)
                printf("mcpload: mode=churn conns=%d secs=%.2f sessions=%ld rate=%.1f "
                       "p50_us=%u p99_us=%u errors=%ld\n",
                       nconns, dt, done_units, (double)done_units / dt, pct(50), pct(99), errors);
            else
                printf("mcpload: mode=list conns=%d secs=%.2f walks=%ld rate=%.2f pages=%ld "
                       "pages_per_s=%.1f tools_per_walk=%ld p50_us=%u p99_us=%u errors=%ld\n",
                       nconns, dt, done_units, (double)done_units / dt, pages_total,
                       (double)pages_total / dt, tools_last, pct(50), pct(99), errors);
        }
    }
    fflush(stdout);
    if (errors) {
        fprintf(stderr, "mcpload: FAIL: %ld errors; first: %s\n", errors, first_err);
        return 1;
    }
    return 0;
}
