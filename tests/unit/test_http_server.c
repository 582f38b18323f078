/* test_http_server.c - the HTTP/1.1 server against plain blocking sockets.
 *
 * One server (2 workers, the default 10 s request timeout, so that a request sent in parts by a
 * test thread the machine's load holds back still arrives in time) runs in-process for the whole
 * file, and a second one with a 300 ms request timeout for the tests of that timeout; each test
 * connects to 127.0.0.1 with ordinary blocking sockets (a 30 s receive timeout, so nothing hangs,
 * and far beyond what a loaded machine running ThreadSanitizer takes to answer),
 * sends raw bytes and reads the replies with a small response reader that understands
 * Content-Length and chunked bodies. The handler echoes the body (or the path when there is no
 * body), streams three chunks on /stream and completes /later from a posted message. */
#include "http/server.h"

#include "rt/clock.h"
#include "rt/monitor.h"
#include "test.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BIG_LEN        (16u << 20)
#define RECV_TIMEOUT_S 30
#define WAIT_MS        30000 /* how long a test polls for the server's doing (a bound, not a time) */

/* The body of /big, built once: filling 16 MiB byte by byte in the handler took seconds under
 * ThreadSanitizer on a loaded machine, longer than a client waited for the first byte. */
static char *big_body;

static http_server *srv;
static http_server *impatient;          /* a 300 ms request timeout */
static _Atomic int marks;               /* /mark requests the handler has seen */
static _Atomic(http_response *) parked; /* a response the test thread completes (/park) */
static _Atomic int flood_refused;       /* /flood: chunks refused (over max_unsent_output) */

/* --- the handler ----------------------------------------------------------------------------- */

static void finish_later(void *arg)
{
    http_response_send(arg, 200, "text/plain", "later", 5);
}

static void handler(http_request *req, http_response *res, void *ud)
{
    if (strcmp(req->path, "/stream") == 0) {
        http_response_start_stream(res, 200, "text/event-stream");
        http_response_write_chunk(res, "one", 3);
        http_response_write_chunk(res, "two", 3);
        http_response_write_chunk(res, "three", 5);
        http_response_end(res);
    } else if (strcmp(req->path, "/later") == 0) {
        if (rt_worker_post(http_response_worker(res), finish_later, res))
            http_response_send(res, 503, NULL, NULL, 0);
    } else if (strcmp(req->path, "/big") == 0) {
        mcp_buf body;
        mcp_buf_init(&body, NULL, 0, 0);
        mcp_buf_append(&body, big_body, BIG_LEN);
        http_response_send_buf(res, 200, "application/octet-stream", &body);
        mcp_buf_free(&body);
    } else if (strcmp(req->path, "/flood") == 0) {
        static char chunk[64 << 10];
        http_response_start_stream(res, 200, "text/event-stream");
        for (int i = 0; i < 256; i++)
            if (http_response_write_chunk(res, chunk, sizeof chunk)) {
                atomic_fetch_add(&flood_refused, 1);
                break;
            }
        http_response_end(res);
    } else if (strcmp(req->path, "/mark") == 0) {
        atomic_fetch_add(&marks, 1);
        http_response_send(res, 200, NULL, "mark", 4);
    } else if (strcmp(req->path, "/park") == 0) {
        atomic_store(&parked, res);
    } else if (strcmp(req->path, "/sum") == 0) { /* a big body's length and checksum */
        unsigned long sum = 0;
        for (size_t i = 0; i < req->body_len; i++) sum = sum * 31 + (unsigned char)req->body[i];
        char out[64];
        int n = snprintf(out, sizeof out, "%zu %lu", req->body_len, sum);
        http_response_send(res, 200, "text/plain", out, (size_t)n);
    } else if (req->body_len) {
        http_response_send(res, 200, "text/plain", req->body, req->body_len);
    } else {
        http_response_send(res, 200, "text/plain", req->path, req->path_len);
    }
}

/* --- a blocking client ---------------------------------------------------------------------- */

typedef struct tconn {
    int fd;
    size_t len;
    char buf[1 << 16];
} tconn;

typedef struct tresp {
    int status;
    bool close;
    char body[8192];
    size_t body_len;
} tresp;

static int t_connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void t_send(int fd, const char *s)
{
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += (size_t)n;
    }
}

/* Reads more into t; returns bytes read (0 on EOF, -1 on error or timeout). */
static ssize_t t_fill(tconn *t)
{
    if (t->len == sizeof t->buf) return -1;
    ssize_t n = recv(t->fd, t->buf + t->len, sizeof t->buf - t->len, 0);
    if (n > 0) t->len += (size_t)n;
    return n;
}

static void t_consume(tconn *t, size_t n)
{
    memmove(t->buf, t->buf + n, t->len - n);
    t->len -= n;
}

/* Returns the offset just past the next CRLF at or after from, filling as needed; -1 if none. */
static long t_line(tconn *t, size_t from)
{
    for (;;) {
        for (size_t i = from; i + 1 < t->len; i++)
            if (t->buf[i] == '\r' && t->buf[i + 1] == '\n') return (long)(i + 2);
        if (t_fill(t) <= 0) return -1;
    }
}

static bool t_need(tconn *t, size_t n)
{
    while (t->len < n)
        if (t_fill(t) <= 0) return false;
    return true;
}

static bool read_chunked(tconn *t, tresp *r)
{
    for (;;) {
        long e = t_line(t, 0);
        if (e < 0) return false;
        size_t n = strtoul(t->buf, NULL, 16);
        t_consume(t, (size_t)e);
        if (n == 0) return t_line(t, 0) == 2 && (t_consume(t, 2), true);
        if (!t_need(t, n + 2) || r->body_len + n > sizeof r->body) return false;
        memcpy(r->body + r->body_len, t->buf, n);
        r->body_len += n;
        t_consume(t, n + 2);
    }
}

/* Reads one response into r; returns false on EOF, timeout or a malformed reply. */
static bool t_read(tconn *t, tresp *r)
{
    memset(r, 0, sizeof *r);
    size_t end = 0;
    long e;
    while ((e = t_line(t, end)) >= 0 && (size_t)e != end + 2) end = (size_t)e;
    if (e < 0) return false;
    t->buf[e - 1] = '\0';
    r->status = atoi(t->buf + 9);
    r->close = strstr(t->buf, "Connection: close") != NULL;
    const char *cl = strstr(t->buf, "Content-Length: ");
    bool chunked = strstr(t->buf, "Transfer-Encoding: chunked") != NULL;
    size_t n = cl ? strtoul(cl + 16, NULL, 10) : 0;
    t_consume(t, (size_t)e);
    if (chunked) return read_chunked(t, r);
    if (n > sizeof r->body || !t_need(t, n)) return false;
    memcpy(r->body, t->buf, n);
    r->body_len = n;
    t_consume(t, n);
    return true;
}

static tconn *t_open_to(http_server *s)
{
    tconn *t = calloc(1, sizeof *t);
    t->fd = t_connect_to(http_server_port(s));
    return t;
}

static tconn *t_open(void)
{
    return t_open_to(srv);
}

static void t_close(tconn *t)
{
    close(t->fd);
    free(t);
}

#define CHECK_BODY(r, s) CHECK_MEM((r).body, (r).body_len, s, strlen(s))

/* --- tests ------------------------------------------------------------------------------------ */

TEST(get_and_keepalive)
{
    tconn *t = t_open();
    CHECK(t->fd >= 0);
    tresp r;
    t_send(t->fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t_read(t, &r));
    CHECK_INT(r.status, 200);
    CHECK_BODY(r, "/hello");
    t_send(t->fd, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "/again");
    CHECK(!r.close);
    t_close(t);
}

TEST(post_content_length_and_chunked)
{
    tconn *t = t_open();
    tresp r;
    t_send(t->fd, "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "hello");
    t_send(t->fd, "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "hello world");
    t_close(t);
}

/* A 300 KB body (read straight into the body buffer once 64 KiB or more of it is still to
 * come) arrives in two sends with a request pipelined right behind it: the body is whole and
 * the next request's bytes stay out of it. */
TEST(big_body_then_pipelined)
{
    enum { N = 300000 };
    char *body = malloc(N + 1);
    unsigned long sum = 0;
    for (size_t i = 0; i < N; i++) {
        body[i] = (char)('a' + i * 7 % 26);
        sum = sum * 31 + (unsigned char)body[i];
    }
    body[N] = '\0';
    char want[64];
    snprintf(want, sizeof want, "%d %lu", N, sum);
    tconn *t = t_open();
    tresp r;
    char head[128];
    snprintf(head, sizeof head, "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", N);
    t_send(t->fd, head);
    body[100000] = '\0'; /* the first third now, the rest with the next request behind it */
    t_send(t->fd, body);
    body[100000] = (char)('a' + 100000 * 7 % 26);
    usleep(50 * 1000);
    size_t rest = N - 100000, tail = strlen("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    char *more = malloc(rest + tail + 1);
    memcpy(more, body + 100000, rest);
    memcpy(more + rest, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n", tail + 1);
    t_send(t->fd, more);
    CHECK(t_read(t, &r));
    CHECK_INT(r.status, 200);
    CHECK_BODY(r, want);
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "/after");
    t_close(t);
    free(more);
    free(body);
}

TEST(pipelined_in_order)
{
    tconn *t = t_open();
    tresp r;
    t_send(t->fd, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /later HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "/a");
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "later");
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "/c");
    t_close(t);
}

TEST(expect_continue)
{
    tconn *t = t_open();
    tresp r;
    t_send(t->fd,
           "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    CHECK(t_read(t, &r));
    CHECK_INT(r.status, 100);
    t_send(t->fd, "abc");
    CHECK(t_read(t, &r));
    CHECK_INT(r.status, 200);
    CHECK_BODY(r, "abc");
    t_close(t);
}

TEST(oversize_header_431)
{
    tconn *t = t_open();
    tresp r;
    size_t n = 20000;
    char *big = malloc(n + 64);
    memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
    memset(big + 23, 'a', n);
    strcpy(big + 23 + n, "\r\n\r\n");
    t_send(t->fd, big);
    free(big);
    CHECK(t_read(t, &r));
    CHECK_INT(r.status, 431);
    CHECK(r.close);
    t_close(t);
}

TEST(cl_and_te_400_close)
{
    tconn *t = t_open();
    tresp r;
    t_send(t->fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    CHECK(t_read(t, &r));
    CHECK_INT(r.status, 400);
    CHECK(r.close);
    CHECK_INT(t_fill(t), 0); /* then EOF */
    t_close(t);
}

TEST(stalled_client_408_others_served)
{
    tconn *slow = t_open_to(impatient);
    t_send(slow->fd, "GET / HTTP/1.1\r\nHo");
    tconn *t = t_open_to(impatient);
    tresp r;
    t_send(t->fd, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "/fast");
    CHECK(t_read(slow, &r));
    CHECK_INT(r.status, 408);
    CHECK(r.close);
    CHECK_INT(t_fill(slow), 0);
    t_close(slow);
    t_close(t);
}

TEST(streamed_chunks)
{
    tconn *t = t_open();
    tresp r;
    t_send(t->fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t_read(t, &r));
    CHECK_INT(r.status, 200);
    CHECK_BODY(r, "onetwothree");
    t_close(t);
}

TEST(two_hundred_concurrent)
{
    enum { N = 200 };
    static tconn *c[N];
    for (int i = 0; i < N; i++) {
        c[i] = t_open();
        CHECK(c[i]->fd >= 0);
    }
    for (int i = 0; i < N; i++) t_send(c[i]->fd, "GET /n HTTP/1.1\r\nHost: x\r\n\r\n");
    int ok = 0;
    for (int i = 0; i < N; i++) {
        tresp r;
        if (t_read(c[i], &r) && r.status == 200) ok++;
        t_close(c[i]);
    }
    CHECK_INT(ok, N);
}

/* Waits for the handler to park a /park request; returns it, or NULL after WAIT_MS. */
static http_response *wait_parked(void)
{
    http_response *res = NULL;
    for (uint64_t end = rt_now_ms() + WAIT_MS; !(res = atomic_load(&parked)) && rt_now_ms() < end;)
        usleep(1000);
    atomic_store(&parked, NULL);
    return res;
}

/* A response completed from another thread, through rt_worker_post. */
TEST(completed_from_other_thread)
{
    tconn *t = t_open();
    tresp r;
    t_send(t->fd, "GET /park HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    http_response *res = wait_parked();
    CHECK(res != NULL);
    CHECK_INT(rt_worker_post(http_response_worker(res), finish_later, res), 0);
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "later");
    CHECK(t_read(t, &r));
    CHECK_BODY(r, "/after");
    t_close(t);
}

/* A second server: one worker, one connection at most, 200 ms idle timeout. The first
 * connection's request is held at the handler while the second connects, so the first cannot
 * have gone idle and closed meanwhile (on a loaded machine it did, and the second was taken). */
TEST(idle_timeout_and_max_conns)
{
    http_server *s2;
    http_server_config cfg = {
        .workers = 1, .max_conns = 1, .idle_timeout_ms = 200, .tick_ms = 50, .on_request = handler};
    CHECK_INT(http_server_start(&s2, &cfg), 0);
    tconn *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    a->fd = t_connect_to(http_server_port(s2));
    tresp r;
    t_send(a->fd, "GET /park HTTP/1.1\r\nHost: x\r\n\r\n");
    http_response *held = wait_parked();
    b->fd = t_connect_to(http_server_port(s2));
    ssize_t refused = t_fill(b); /* closed at once: over max_conns */
    bool got =
        held && !rt_worker_post(http_response_worker(held), finish_later, held) && t_read(a, &r);
    uint64_t t0 = rt_now_ms();
    ssize_t idle = t_fill(a); /* closed by the idle timeout */
    uint64_t waited = rt_now_ms() - t0;
    rt_stats st;
    rt_workers_stats(http_server_workers(s2), &st);
    http_server_stop(s2);
    t_close(a);
    t_close(b);
    CHECK(got);
    CHECK_BODY(r, "later");
    CHECK(refused <= 0);
    CHECK_INT(idle, 0);
    CHECK(waited < 10000); /* the idle timeout, before any default one (10 s and more) */
    CHECK_INT(st.conns_refused, 1);
}

/* Reads a /big reply and checks every byte; returns false on any mismatch. */
static bool read_big(tconn *t)
{
    long e;
    size_t end = 0;
    while ((e = t_line(t, end)) >= 0 && (size_t)e != end + 2) end = (size_t)e;
    if (e < 0 || atoi(t->buf + 9) != 200) return false;
    t_consume(t, (size_t)e);
    for (size_t got = 0; got < BIG_LEN;) {
        if (!t->len && t_fill(t) <= 0) return false;
        size_t n = t->len < BIG_LEN - got ? t->len : BIG_LEN - got;
        if (memcmp(t->buf, big_body + got, n)) return false;
        got += n;
        t_consume(t, n);
    }
    return true;
}

/* A client that does not read: past 1 MiB unsent the server stops reading its requests. */
TEST(backpressure_pauses_reading)
{
    tconn *t = calloc(1, sizeof *t);
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 65536;
    setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)http_server_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    CHECK_INT(connect(t->fd, (struct sockaddr *)&a, sizeof a), 0);
    t_send(t->fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    /* The reply's first byte: the server has queued it, so it stopped reading in the same call
     * (a fixed wait here let a starved worker read /big and /mark together, or not at all). */
    char first;
    bool replying = recv(t->fd, &first, 1, MSG_PEEK) == 1;
    t_send(t->fd, "GET /mark HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(200 * 1000); /* time enough for a server that did read on to see /mark */
    int before = atomic_load(&marks);
    bool big_ok = read_big(t);
    tresp r;
    bool mark_ok = t_read(t, &r);
    t_close(t);
    CHECK(replying);
    CHECK_INT(before, 0);
    CHECK(big_ok);
    CHECK(mark_ok);
    CHECK_BODY(r, "mark");
    CHECK_INT(atomic_load(&marks), 1);
}

/* Sends one CRLF every 100 ms: empty lines are no progress, so the request timeout (300 ms)
 * cuts the connection with 408 (it used to stay open for as long as the lines came). */
TEST(blank_line_slowloris_408)
{
    tconn *t = t_open_to(impatient);
    struct timeval tv = {.tv_usec = 100 * 1000};
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t got = -1; /* (fewer than the 512 lines that would get 400 instead) */
    for (uint64_t end = rt_now_ms() + WAIT_MS; got < 0 && rt_now_ms() < end;) {
        t_send(t->fd, "\r\n");
        got = t_fill(t);
    }
    CHECK(got > 0);
    CHECK(t->len > 12 && !memcmp(t->buf, "HTTP/1.1 408", 12));
    t_close(t);
}

TEST(too_many_blank_lines_400)
{
    tconn *t = t_open();
    char lines[2100];
    for (size_t i = 0; i + 1 < sizeof lines; i += 2) memcpy(lines + i, "\r\n", 2);
    lines[sizeof lines - 1] = '\0';
    t_send(t->fd, lines);
    tresp r;
    bool got = t_read(t, &r);
    t_close(t);
    CHECK(got);
    CHECK_INT(r.status, 400);
    CHECK_BODY(r, "too many empty lines before the request line\n");
}

/* Opens a client socket with a small receive buffer (so unread output backs up quickly). */
static tconn *t_open_small(int port)
{
    tconn *t = calloc(1, sizeof *t);
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 16384;
    setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(t->fd, (struct sockaddr *)&a, sizeof a)) t->fd = -1;
    return t;
}

/* Reads until EOF or error; returns the bytes read. */
static size_t t_drain(tconn *t)
{
    size_t total = 0;
    for (;;) {
        t->len = 0;
        ssize_t n = t_fill(t);
        if (n <= 0) return total;
        total += (size_t)n;
    }
}

/* A client that stops reading: a write the socket takes nothing of for write_timeout_ms ends
 * the connection; a stream that piles up more than max_unsent_output is refused and closed. */
TEST(write_timeout_and_unsent_cap)
{
    http_server *s3;
    http_server_config cfg = {.workers = 1,
                              .write_timeout_ms = 300,
                              .max_unsent_output = 1u << 20,
                              .tick_ms = 50,
                              .on_request = handler};
    CHECK_INT(http_server_start(&s3, &cfg), 0);
    int port = http_server_port(s3);
    tconn *a = t_open_small(port);
    t_send(a->fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    tconn *b = t_open_small(port);
    t_send(b->fd, "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");
    rt_stats st; /* neither reads: wait for the server to give up on both */
    for (uint64_t end = rt_now_ms() + WAIT_MS; rt_now_ms() < end;) {
        usleep(10 * 1000);
        rt_workers_stats(http_server_workers(s3), &st);
        if (st.conns_open == 0 && atomic_load(&flood_refused)) break;
    }
    size_t got_a = t_drain(a), got_b = t_drain(b);
    http_server_stop(s3);
    t_close(a);
    t_close(b);
    CHECK(got_a < BIG_LEN);           /* cut before the end */
    CHECK(got_b < 256 * (64u << 10)); /* likewise */
    CHECK_INT(atomic_load(&flood_refused), 1);
    CHECK_INT(st.conns_open, 0);
}

/* Out of file descriptors: accepting pauses (it used to spin in accept forever, and the loop
 * never ran again), and goes on once connections close and fds come back. */
TEST(emfile_pauses_and_resumes)
{
    http_server *s4;
    http_server_config cfg = {.workers = 1, .tick_ms = 50, .on_request = handler};
    CHECK_INT(http_server_start(&s4, &cfg), 0);
    int port = http_server_port(s4);
    enum { N = 40 };
    int fds[N];
    for (int i = 0; i < N; i++) fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    struct rlimit saved, low;
    getrlimit(RLIMIT_NOFILE, &saved);
    low = saved;
    /* room for a few accepted connections only; counted with raw system calls (rt/monitor.h):
     * an opendir here could take a number libuv closed unseen by ThreadSanitizer, a false race */
    low.rlim_cur = (rlim_t)rt_proc_open_fds() + 8;
    CHECK_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < N; i++) connect(fds[i], (struct sockaddr *)&a, sizeof a);
    rt_stats st = {0};
    for (uint64_t end = rt_now_ms() + WAIT_MS; !st.accept_pauses && rt_now_ms() < end;) {
        usleep(10 * 1000);
        rt_workers_stats(http_server_workers(s4), &st);
    }
    CHECK(st.accept_pauses >= 1);
    for (int i = 0; i < N; i++) close(fds[i]);
    setrlimit(RLIMIT_NOFILE, &saved);
    int fd = t_connect_to(port);
    tconn *t = calloc(1, sizeof *t);
    t->fd = fd;
    tresp r;
    t_send(fd, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
    bool ok = t_read(t, &r);
    t_close(t);
    http_server_stop(s4);
    CHECK(ok);
    CHECK_BODY(r, "/again");
}

TEST(counters)
{
    rt_stats st;
    rt_workers_stats(http_server_workers(srv), &st);
    CHECK(st.requests >= 210);
    CHECK(st.conns_accepted >= 208);
    CHECK(st.errors >= 3);
}

/* SO_REUSEPORT would let a second server share the port silently: the probe bind refuses it. */
TEST(address_in_use_is_refused)
{
    http_server_config cfg = {
        .workers = 2, .port = http_server_port(srv), .tick_ms = 50, .on_request = handler};
    http_server *dup = NULL;
    CHECK_INT(http_server_start(&dup, &cfg), -EADDRINUSE);
    CHECK(dup == NULL);
}

int main(void)
{
    big_body = malloc(BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i++) big_body[i] = (char)('a' + i % 26);
    http_server_config cfg = {.workers = 2, .tick_ms = 50, .on_request = handler};
    http_server_config quick = {
        .workers = 2, .header_timeout_ms = 300, .tick_ms = 50, .on_request = handler};
    if (http_server_start(&srv, &cfg) || http_server_start(&impatient, &quick)) {
        fprintf(stderr, "cannot start the server\n");
        return 1;
    }
    RUN(get_and_keepalive);
    RUN(post_content_length_and_chunked);
    RUN(big_body_then_pipelined);
    RUN(pipelined_in_order);
    RUN(expect_continue);
    RUN(oversize_header_431);
    RUN(cl_and_te_400_close);
    RUN(stalled_client_408_others_served);
    RUN(streamed_chunks);
    RUN(two_hundred_concurrent);
    RUN(completed_from_other_thread);
    RUN(idle_timeout_and_max_conns);
    RUN(backpressure_pauses_reading);
    RUN(blank_line_slowloris_408);
    RUN(too_many_blank_lines_400);
    RUN(write_timeout_and_unsent_cap);
    RUN(emfile_pauses_and_resumes);
    RUN(counters);
    RUN(address_in_use_is_refused);
    http_server_stop(impatient);
    http_server_stop(srv);
    free(big_body);
    return test_summary();
}
