/* test_hclient.c - mcpd's HTTP/1.1 client against a real listening socket whose answers the test
 * scripts byte by byte: every framing (Content-Length, chunked, close-delimited, HEAD, 204,
 * 304, 1xx), keep-alive reuse proven by the server's connection count, Connection: close and
 * HTTP/1.0, the stale-connection retry, the idle watch and timeout, and hostile upstreams
 * (garbage, endless or too many headers, huge chunk sizes, a slow trickle, silence, RST
 * mid-body, bytes after the body, Content-Encoding, bodies over the cap), timeouts,
 * cancellation and closing the loop with requests in flight. */
#include "../../src/mcpd/hclient.c"
#include "test.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the scripted server ----------------------------------------------------------------------
 * One thread, poll() over the listener and its connections. Each complete request (headers and
 * a Content-Length body) takes the next step of the script: bytes to send (at once, or one
 * byte every trickle_ms), then what to do with the connection. */
enum { KEEP, CLOSE, RST, HANG };

typedef struct step {
    const char *bytes;
    size_t len; /* 0: strlen */
    int then;
    int trickle_ms;
} step;

#define MAXC 32
static struct {
    int lfd, port;
    pthread_t th;
    pthread_mutex_t mu;
    step script[16];
    int nsteps, next;
    int accepted, requests;
    atomic_bool stop, close_all;
    int fds[MAXC];
    char in[MAXC][4096];
    size_t inlen[MAXC];
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void srv_drop(int i, bool rst)
{
    if (rst) {
        struct linger lg = {1, 0};
        setsockopt(S.fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(S.fds[i]);
    S.fds[i] = -1;
    S.inlen[i] = 0;
}

/* A whole request at the front of conn i's input: its length, or 0. */
static size_t srv_request_len(int i)
{
    S.in[i][S.inlen[i]] = 0;
    char *e = strstr(S.in[i], "\r\n\r\n");
    if (!e) return 0;
    size_t hl = (size_t)(e + 4 - S.in[i]);
    char *cl = strcasestr(S.in[i], "content-length:");
    size_t bl = cl && cl < e ? (size_t)atol(cl + 15) : 0;
    return S.inlen[i] >= hl + bl ? hl + bl : 0;
}

static void srv_answer(int i)
{
    pthread_mutex_lock(&S.mu);
    step st = S.next < S.nsteps ? S.script[S.next++]
                                : (step){"HTTP/1.1 500 No Script\r\n"
                                         "Content-Length: 0\r\n\r\n",
                                         0, KEEP, 0};
    S.requests++; /* S.mu held throughout: the bytes are the script's copies (script()) */
    size_t n = st.len ? st.len : strlen(st.bytes);
    if (st.trickle_ms) {
        for (size_t k = 0; k < n && !atomic_load(&S.stop); k++) {
            if (send(S.fds[i], st.bytes + k, 1, MSG_NOSIGNAL) != 1) break;
            usleep((useconds_t)st.trickle_ms * 1000);
        }
    } else {
        for (size_t off = 0; off < n;) {
            ssize_t w = send(S.fds[i], st.bytes + off, n - off, MSG_NOSIGNAL);
            if (w <= 0) break;
            off += (size_t)w;
        }
    }
    if (st.then == CLOSE) srv_drop(i, false);
    if (st.then == RST) srv_drop(i, true);
    pthread_mutex_unlock(&S.mu);
}

static void *srv_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&S.stop)) {
        if (atomic_exchange(&S.close_all, false))
            for (int i = 0; i < MAXC; i++)
                if (S.fds[i] >= 0) srv_drop(i, false);
        struct pollfd p[MAXC + 1];
        int map[MAXC + 1], np = 0;
        p[np] = (struct pollfd){.fd = S.lfd, .events = POLLIN};
        map[np++] = -1;
        for (int i = 0; i < MAXC; i++)
            if (S.fds[i] >= 0) {
                p[np] = (struct pollfd){.fd = S.fds[i], .events = POLLIN};
                map[np++] = i;
            }
        if (poll(p, (nfds_t)np, 10) <= 0) continue;
        for (int k = 0; k < np; k++) {
            if (!p[k].revents) continue;
            if (map[k] < 0) {
                int fd = accept(S.lfd, NULL, NULL);
                for (int i = 0; i < MAXC && fd >= 0; i++)
                    if (S.fds[i] < 0) {
                        S.fds[i] = fd;
                        fd = -1;
                        pthread_mutex_lock(&S.mu);
                        S.accepted++;
                        pthread_mutex_unlock(&S.mu);
                    }
                if (fd >= 0) close(fd);
                continue;
            }
            int i = map[k];
            ssize_t n = recv(S.fds[i], S.in[i] + S.inlen[i], sizeof S.in[i] - 1 - S.inlen[i], 0);
            if (n <= 0) {
                srv_drop(i, false);
                continue;
            }
            S.inlen[i] += (size_t)n;
            size_t rl;
            while (S.fds[i] >= 0 && (rl = srv_request_len(i)) > 0) {
                memmove(S.in[i], S.in[i] + rl, S.inlen[i] - rl);
                S.inlen[i] -= rl;
                srv_answer(i);
            }
        }
    }
    for (int i = 0; i < MAXC; i++)
        if (S.fds[i] >= 0) srv_drop(i, false);
    return NULL;
}

static void srv_start(void)
{
    S.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(S.lfd, (struct sockaddr *)&a, sizeof a) || listen(S.lfd, 64)) abort();
    socklen_t al = sizeof a;
    getsockname(S.lfd, (struct sockaddr *)&a, &al);
    S.port = ntohs(a.sin_port);
    for (int i = 0; i < MAXC; i++) S.fds[i] = -1;
    atomic_store(&S.stop, false);
    pthread_create(&S.th, NULL, srv_main, NULL);
}

static void script(const step *steps, int n);

static void srv_stop(void)
{
    atomic_store(&S.stop, true);
    pthread_join(S.th, NULL);
    close(S.lfd);
    script(NULL, 0);
}

/* Sets the script (and resets the counters). */
static void script(const step *steps, int n)
{
    pthread_mutex_lock(&S.mu);
    for (int i = 0; i < S.nsteps; i++) free((char *)S.script[i].bytes);
    for (int i = 0; i < n; i++) {
        size_t len = steps[i].len ? steps[i].len : strlen(steps[i].bytes);
        char *copy = malloc(len + 1);
        memcpy(copy, steps[i].bytes, len);
        copy[len] = 0;
        S.script[i] = steps[i];
        S.script[i].bytes = copy;
        S.script[i].len = len;
    }
    S.nsteps = n;
    S.next = 0;
    S.accepted = S.requests = 0;
    pthread_mutex_unlock(&S.mu);
}

static int srv_count(int *what)
{
    pthread_mutex_lock(&S.mu);
    int v = *what;
    pthread_mutex_unlock(&S.mu);
    return v;
}

/* ---- the client side ------------------------------------------------------------------------- */
static uv_loop_t loop;
static hclient_loop *hl;
static hclient_target *target;

typedef struct result {
    bool done;
    hclient_err e;
    int status;
    char *body, *ct;
    size_t body_len;
    int64_t retry_after;
    char msg[400];
} result;

static void on_done(void *ud, hclient_err e, hclient_response *r, const char *msg)
{
    result *res = ud;
    res->done = true;
    res->e = e;
    if (r) {
        res->status = r->status;
        res->body = r->body;
        res->body_len = r->body_len;
        res->ct = r->content_type;
        res->retry_after = r->retry_after;
        r->body = r->content_type = NULL;
    }
    snprintf(res->msg, sizeof res->msg, "%s", msg ? msg : "");
}

static void result_free(result *r)
{
    free(r->body);
    free(r->ct);
    memset(r, 0, sizeof *r);
}

static hclient_req *start(result *res, const char *method, uint32_t timeout_ms, size_t max_body)
{
    char *data = malloc(256);
    int n = snprintf(data, 256, "%s / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method);
    hclient_request rq = {.data = data,
                          .len = (size_t)n,
                          .head = !strcmp(method, "HEAD"),
                          .timeout_ms = timeout_ms ? timeout_ms : 5000,
                          .max_body = max_body};
    memset(res, 0, sizeof *res);
    return hclient_send(hl, target, &rq, on_done, res);
}

static void wait_done(result *res)
{
    while (!res->done) uv_run(&loop, UV_RUN_ONCE);
}

/* One GET to the end. */
static void get(result *res, uint32_t timeout_ms, size_t max_body)
{
    CHECK(start(res, "GET", timeout_ms, max_body) != NULL);
    wait_done(res);
}

static void setup(uint32_t max_idle, uint32_t idle_timeout_ms)
{
    uv_loop_init(&loop);
    hl = hclient_loop_new(&loop);
    char err[200];
    hclient_target_config c = {.host = "127.0.0.1",
                               .port = (uint16_t)S.port,
                               .max_idle = max_idle,
                               .idle_timeout_ms = idle_timeout_ms};
    target = hclient_target_new(&c, err, sizeof err);
    if (!target) abort();
}

static void teardown(void)
{
    hclient_loop_close(hl);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    hclient_target_unref(target);
}

/* Runs the loop until cond or about 10 s pass. */
#define RUN_UNTIL(cond)                                                                            \
    do {                                                                                           \
        for (int k_ = 0; k_ < 1000 && !(cond); k_++) {                                             \
            uv_run(&loop, UV_RUN_NOWAIT);                                                          \
            usleep(10000);                                                                         \
        }                                                                                          \
        CHECK(cond);                                                                               \
    } while (0)

static char *fmt_cl(const char *body)
{
    char *s = malloc(strlen(body) + 200);
    sprintf(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
            strlen(body), body);
    return s;
}

/* ---- framing --------------------------------------------------------------------------------- */
TEST(content_length_keep_alive_reuses_one_connection)
{
    char *a = fmt_cl("{\"n\":1}");
    step st[] = {{a, 0, KEEP, 0}, {a, 0, KEEP, 0}, {a, 0, KEEP, 0}};
    script(st, 3);
    setup(0, 0);
    result r;
    for (int i = 0; i < 3; i++) {
        get(&r, 0, 0);
        CHECK_INT(r.e, HC_OK);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "{\"n\":1}");
        CHECK_STR(r.ct, "application/json");
        CHECK_INT(r.retry_after, -1);
        result_free(&r);
    }
    CHECK_INT(srv_count(&S.accepted), 1);
    CHECK_INT(hclient_loop_connects(hl), 1);
    CHECK_INT(hclient_loop_conns(hl), 1);
    teardown();
    free(a);
}

TEST(chunked_and_retry_after)
{
    step st[] = {{"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
                  0, KEEP, 0},
                 {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, KEEP, 0}};
    script(st, 2);
    setup(0, 0);
    result r;
    get(&r, 0, 0);
    CHECK_INT(r.e, HC_OK);
    CHECK_INT(r.status, 503);
    CHECK_STR(r.body, "hello world");
    CHECK_INT(r.retry_after, 7);
    result_free(&r);
    get(&r, 0, 0);
    CHECK_STR(r.body, "ok");
    CHECK(r.ct == NULL);
    result_free(&r);
    CHECK_INT(srv_count(&S.accepted), 1);
    teardown();
}

TEST(close_delimited_and_http10_are_not_reused)
{
    step st[] = {
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", 0, CLOSE, 0},
        {"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", 0, KEEP, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye", 0, KEEP, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew", 0, KEEP, 0}};
    script(st, 4);
    setup(0, 0);
    result r;
    get(&r, 0, 0);
    CHECK_INT(r.e, HC_OK);
    CHECK_STR(r.body, "until the end");
    result_free(&r);
    get(&r, 0, 0);
    CHECK_STR(r.body, "old");
    result_free(&r);
    get(&r, 0, 0);
    CHECK_STR(r.body, "bye");
    result_free(&r);
    get(&r, 0, 0);
    CHECK_STR(r.body, "new");
    result_free(&r);
    CHECK_INT(srv_count(&S.accepted), 4);
    CHECK_INT(hclient_loop_connects(hl), 4);
    teardown();
}

TEST(head_204_304_and_1xx_have_no_body)
{
    step st[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 0, KEEP, 0},
                 {"HTTP/1.1 204 No Content\r\n\r\n", 0, KEEP, 0},
                 {"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", 0, KEEP, 0},
                 {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                  "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone",
                  0, KEEP, 0}};
    script(st, 4);
    setup(0, 0);
    result r;
    CHECK(start(&r, "HEAD", 0, 0));
    wait_done(&r);
    CHECK_INT(r.e, HC_OK);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body_len, 0);
    result_free(&r);
    get(&r, 0, 0);
    CHECK_INT(r.status, 204);
    result_free(&r);
    get(&r, 0, 0);
    if (r.status != 304) T_FAIL("%d: %s", r.e, r.msg);
    CHECK_INT(r.body_len, 0);
    result_free(&r);
    get(&r, 0, 0);
    CHECK_INT(r.e, HC_OK);
    CHECK_INT(r.status, 201);
    CHECK_STR(r.body, "done");
    result_free(&r);
    CHECK_INT(srv_count(&S.accepted), 1);
    teardown();
}

/* ---- hostile upstreams ------------------------------------------------------------------------
 */
static void expect_error(const char *bytes, size_t len, int then, int trickle, uint32_t timeout,
                         size_t max_body, hclient_err want, const char *says)
{
    step st[] = {{bytes, len, then, trickle},
                 {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, KEEP, 0}};
    script(st, 2);
    setup(0, 0);
    result r;
    get(&r, timeout, max_body);
    if (r.e != want) T_FAIL("error %d (%s), wanted %d", r.e, r.msg, want);
    CHECK_CONTAINS(r.msg, says);
    result_free(&r);
    CHECK_INT(hclient_loop_conns(hl), 0); /* the bad connection is gone, never pooled */
    get(&r, 0, 0);                        /* and the next request is served fine */
    CHECK_INT(r.e, HC_OK);
    CHECK_STR(r.body, "ok");
    result_free(&r);
    teardown();
}

TEST(garbage)
{
    expect_error("SSH-2.0-OpenSSH\r\n", 0, KEEP, 0, 0, 0, HC_EPROTO, "malformed response");
    expect_error("HTTP/1.1 10\r\nContent-Length: 0\r\n\r\n", 0, KEEP, 0, 0, 0, HC_EPROTO,
                 "the status code 10 is not one"); /* found by fuzz_hclient */
}

TEST(endless_headers)
{
    size_t n = 80000;
    char *b = malloc(n + 64);
    strcpy(b, "HTTP/1.1 200 OK\r\nX-Long: ");
    size_t k = strlen(b);
    memset(b + k, 'a', n - k);
    b[n] = 0;
    expect_error(b, n, KEEP, 0, 0, 0, HC_EPROTO, "pass 65536 bytes");
    free(b);
}

TEST(too_many_headers)
{
    char *b = malloc(200 * 16 + 64);
    strcpy(b, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 200; i++) sprintf(b + strlen(b), "X-%d: v\r\n", i);
    strcat(b, "Content-Length: 0\r\n\r\n");
    expect_error(b, 0, KEEP, 0, 0, 0, HC_EPROTO, "more than 128 header fields");
    free(b);
}

TEST(huge_chunk_size)
{
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n",
                 0, KEEP, 0, 0, 0, HC_EPROTO, "malformed response");
}

TEST(content_encoding_refused)
{
    expect_error("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", 0,
                 KEEP, 0, 0, 0, HC_EPROTO, "Content-Encoding \"gzip\"");
}

/* found by fuzz_hclient: llhttp reads any three digits, and status 20 came back as an answer */
TEST(status_outside_100_599_refused)
{
    expect_error("HTTP/1.0 020 KO\r\n\r\nold", 0, KEEP, 0, 0, 0, HC_EPROTO,
                 ": malformed response: the status code 20 is not one");
    expect_error("HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n", 0, KEEP, 0, 0, 0, HC_EPROTO,
                 ": malformed response: the status code 600 is not one");
    expect_error("HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n", 0, KEEP, 0, 0, 0, HC_EPROTO,
                 ": malformed response: the status code 99 is not one");
}

TEST(switching_protocols_refused)
{
    expect_error("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                 "upgrade\r\n\r\n",
                 0, KEEP, 0, 0, 0, HC_EPROTO, "switched protocols");
}

TEST(body_over_the_cap)
{
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0, HANG, 0, 0, 10, HC_ETOOBIG,
                 "Content-Length is larger than the limit of 10 bytes");
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n"
                 "12345678\r\n0\r\n\r\n",
                 0, KEEP, 0, 0, 10, HC_ETOOBIG, "larger than the limit of 10 bytes");
    expect_error("HTTP/1.1 200 OK\r\n\r\n0123456789abcdef", 0, CLOSE, 0, 0, 10, HC_ETOOBIG,
                 "larger than the limit of 10 bytes");
}

TEST(slow_trickle_and_silence_time_out)
{
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", 0, KEEP, 30, 300, 0,
                 HC_ETIMEOUT, "no complete answer within 300 ms");
    expect_error("", 0, HANG, 0, 200, 0, HC_ETIMEOUT, "no complete answer within 200 ms");
}

TEST(reset_or_close_mid_body)
{
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf", 0, RST, 0, 0, 0, HC_EIO,
                 "in the middle of the answer");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf", 0, CLOSE, 0, 0, 0, HC_EIO,
                 "in the middle of the answer");
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf", 0, CLOSE, 0, 0,
                 0, HC_EIO, "in the middle of the answer");
}

TEST(a_fresh_connection_closed_before_answering)
{
    expect_error("", 0, CLOSE, 0, 0, 0, HC_EIO, "closed before any answer");
}

TEST(bytes_after_the_body_poison_nothing)
{
    step st[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", 0, KEEP, 0},
                 {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno", 0, KEEP, 0}};
    script(st, 2);
    setup(0, 0);
    result r;
    get(&r, 0, 0);
    CHECK_INT(r.e, HC_OK);
    CHECK_STR(r.body, "ok");
    result_free(&r);
    CHECK_INT(hclient_loop_conns(hl), 0); /* closed, not pooled */
    get(&r, 0, 0);
    CHECK_STR(r.body, "no");
    result_free(&r);
    CHECK_INT(srv_count(&S.accepted), 2);
    teardown();
}

/* ---- keep-alive and its races -----------------------------------------------------------------
 */
TEST(stale_connection_is_retried_once_on_a_new_one)
{
    step st[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", 0, CLOSE, 0},
                 {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2", 0, KEEP, 0}};
    script(st, 2);
    setup(0, 0);
    result r;
    get(&r, 0, 0);
    CHECK_STR(r.body, "1");
    result_free(&r);
    CHECK_INT(hclient_loop_conns(hl), 1); /* pooled: the loop has not seen the close yet */
    for (int i = 0; i < 200 && srv_count(&S.requests) < 1; i++) usleep(5000);
    usleep(50000); /* the server's close is on the wire; the loop does not run meanwhile */
    get(&r, 0, 0);
    CHECK_INT(r.e, HC_OK);
    CHECK_STR(r.body, "2");
    result_free(&r);
    CHECK_INT(hclient_loop_connects(hl), 2);
    teardown();
}

/* Sets up a loop with one connection in its pool, served one answer. */
static void one_pooled(void)
{
    char *a = fmt_cl("x");
    step st[] = {{a, 0, KEEP, 0}};
    script(st, 1); /* the server keeps a copy */
    free(a);
    setup(0, 0);
    result r;
    get(&r, 0, 0);
    result_free(&r);
    CHECK_INT(hclient_loop_conns(hl), 1);
}

TEST(idle_watch_drops_closed_connections)
{
    one_pooled();
    atomic_store(&S.close_all, true);
    RUN_UNTIL(hclient_loop_conns(hl) == 0);
    teardown();
}

TEST(idle_timeout_and_max_idle)
{
    char *a = fmt_cl("x");
    step st[] = {{a, 0, KEEP, 0}, {a, 0, KEEP, 0}, {a, 0, KEEP, 0}};
    script(st, 3);
    setup(1, 100);
    result r[3];
    for (int i = 0; i < 3; i++) CHECK(start(&r[i], "GET", 0, 0));
    for (int i = 0; i < 3; i++) wait_done(&r[i]);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(r[i].e, HC_OK);
        result_free(&r[i]);
    }
    CHECK_INT(srv_count(&S.accepted), 3);
    CHECK_INT(hclient_loop_conns(hl), 1);   /* max_idle 1: two closed on their way back */
    RUN_UNTIL(hclient_loop_conns(hl) == 0); /* idle past 100 ms: swept */
    teardown();
    free(a);
}

TEST(a_retired_target_loses_its_idle_connections)
{
    one_pooled();
    hclient_target_retire(target);
    RUN_UNTIL(hclient_loop_conns(hl) == 0 && hl->pools == NULL);
    teardown();
}

TEST(a_retired_pool_without_connections_goes_at_the_next_request)
{
    step st[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n1", 0, KEEP, 0},
                 {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2", 0, KEEP, 0}};
    script(st, 2);
    setup(0, 0);
    result r;
    get(&r, 0, 0);
    result_free(&r);
    CHECK_INT(hclient_loop_conns(hl), 0); /* closed: its pool holds nothing */
    hclient_target_retire(target);
    hclient_target *old = target;
    char err[200];
    hclient_target_config c = {.host = "127.0.0.1", .port = (uint16_t)S.port};
    target = hclient_target_new(&c, err, sizeof err);
    get(&r, 0, 0);
    CHECK_STR(r.body, "2");
    result_free(&r);
    CHECK(hl->pools && hl->pools->t == target && hl->pools->next == NULL);
    hclient_target_unref(old);
    teardown();
}

/* ---- connecting, cancelling, stopping ---------------------------------------------------------
 */
TEST(connection_refused)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd); /* a port nobody listens on */
    uv_loop_init(&loop);
    hl = hclient_loop_new(&loop);
    char err[200];
    hclient_target_config c = {.host = "127.0.0.1", .port = ntohs(a.sin_port)};
    target = hclient_target_new(&c, err, sizeof err);
    result r;
    get(&r, 0, 0);
    CHECK_INT(r.e, HC_ECONNECT);
    CHECK_CONTAINS(r.msg, "connection refused");
    result_free(&r);
    teardown();
}

TEST(names_are_resolved_and_bad_hosts_refused)
{
    char *a = fmt_cl("named");
    step st[] = {{a, 0, KEEP, 0}};
    script(st, 1);
    uv_loop_init(&loop);
    hl = hclient_loop_new(&loop);
    char err[200];
    hclient_target_config c = {.host = "localhost", .port = (uint16_t)S.port};
    target = hclient_target_new(&c, err, sizeof err);
    result r;
    get(&r, 0, 0);
    /* localhost may resolve to ::1 first where the server listens on 127.0.0.1 only */
    CHECK(r.e == HC_OK || r.e == HC_ECONNECT);
    if (r.e == HC_OK) CHECK_STR(r.body, "named");
    result_free(&r);
    teardown();
    free(a);
    hclient_target_config bad = {.host = "a b"};
    CHECK(hclient_target_new(&bad, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "not a host name");
    hclient_target_config v6 = {.host = "[::1]", .port = 8};
    hclient_target *t6 = hclient_target_new(&v6, err, sizeof err);
    CHECK(t6 && t6->literal);
    CHECK_STR(hclient_target_name(t6), "[::1]:8");
    hclient_target_unref(t6);
}

TEST(unanswered_connect_times_out_or_fails)
{
    uv_loop_init(&loop);
    hl = hclient_loop_new(&loop);
    char err[200];
    hclient_target_config c = {.host = "192.0.2.1", .port = 80}; /* TEST-NET-1: nothing answers */
    target = hclient_target_new(&c, err, sizeof err);
    char *data = strdup("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    hclient_request rq = {
        .data = data, .len = strlen(data), .timeout_ms = 5000, .connect_timeout_ms = 200};
    result r = {0};
    CHECK(hclient_send(hl, target, &rq, on_done, &r));
    wait_done(&r);
    if (r.e == HC_ETIMEOUT)
        CHECK_CONTAINS(r.msg, "timed out after 200 ms");
    else
        CHECK_INT(r.e, HC_ECONNECT); /* no route in this sandbox */
    result_free(&r);
    teardown();
}

static void cancel_it(uv_timer_t *t)
{
    hclient_cancel(t->data);
    uv_close((uv_handle_t *)t, NULL);
}

TEST(cancel_closes_the_connection_and_calls_nothing)
{
    step st[] = {{"", 0, HANG, 0}};
    script(st, 1);
    setup(0, 0);
    result r;
    hclient_req *q = start(&r, "GET", 0, 0);
    CHECK(q);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = q;
    uv_timer_start(&t, cancel_it, 50, 0);
    RUN_UNTIL(hclient_loop_conns(hl) == 0);
    CHECK(!r.done);
    teardown();
}

TEST(closing_the_loop_ends_live_requests)
{
    step st[] = {{"", 0, HANG, 0}};
    script(st, 1);
    setup(0, 0);
    result r;
    CHECK(start(&r, "GET", 0, 0));
    RUN_UNTIL(srv_count(&S.requests) == 1);
    hclient_loop_close(hl);
    CHECK(r.done);
    CHECK_INT(r.e, HC_ESTOPPED);
    result_free(&r);
    char *d = strdup("x");
    hclient_request rq = {.data = d, .len = 1};
    CHECK(hclient_send(hl, target, &rq, on_done, &r) == NULL); /* closing: refused */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    hclient_target_unref(target);
}

int main(void)
{
    srv_start();
    RUN(content_length_keep_alive_reuses_one_connection);
    RUN(chunked_and_retry_after);
    RUN(close_delimited_and_http10_are_not_reused);
    RUN(head_204_304_and_1xx_have_no_body);
    RUN(garbage);
    RUN(endless_headers);
    RUN(too_many_headers);
    RUN(huge_chunk_size);
    RUN(content_encoding_refused);
    RUN(status_outside_100_599_refused);
    RUN(switching_protocols_refused);
    RUN(body_over_the_cap);
    RUN(slow_trickle_and_silence_time_out);
    RUN(reset_or_close_mid_body);
    RUN(a_fresh_connection_closed_before_answering);
    RUN(bytes_after_the_body_poison_nothing);
    RUN(stale_connection_is_retried_once_on_a_new_one);
    RUN(idle_watch_drops_closed_connections);
    RUN(idle_timeout_and_max_idle);
    RUN(a_retired_target_loses_its_idle_connections);
    RUN(a_retired_pool_without_connections_goes_at_the_next_request);
    RUN(connection_refused);
    RUN(names_are_resolved_and_bad_hosts_refused);
    RUN(unanswered_connect_times_out_or_fails);
    RUN(cancel_closes_the_connection_and_calls_nothing);
    RUN(closing_the_loop_ends_live_requests);
    srv_stop();
    return test_summary();
}
