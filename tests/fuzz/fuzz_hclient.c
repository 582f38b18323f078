/* fuzz_hclient.c - libFuzzer target for mcpd's HTTP/1.1 client (src/mcpd/hclient.c): whatever
 * bytes an upstream answers with, on a real loopback connection.
 *
 * Each input is one upstream's answer. The first byte picks how it is delivered: the request's
 * method (HEAD or GET: HEAD answers have no body), and where the rest is cut in two writes (so
 * a parse resumes mid-token); the upstream then closes the connection. The client sends one
 * request with a 4 KiB body cap and a 2 s time limit, and must end it exactly once: either
 * with an answer (a status of 200-599: 1xx are skipped, others refused; a body within the cap,
 * NUL-terminated, none for HEAD), or with an error and a message. The loop is closed after each
 * input and must be left with no handle (no leak of a connection, a timer or a request). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpd/hclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_hclient: %s\n", what);
        abort();
    }
}

/* The upstream, on the same loop: reads the request, answers the input, closes. */
typedef struct upstream {
    uv_tcp_t lis;
    uv_tcp_t conn;
    bool accepted, closed;
    const uint8_t *answer;
    size_t len, cut;
    uv_write_t w1, w2;
    char in[4096];
} upstream;

static void up_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    upstream *u = h->data;
    *b = uv_buf_init(u->in, sizeof u->in);
}

static void up_closed(uv_handle_t *h)
{
    ((upstream *)h->data)->closed = true;
}

static void up_written(uv_write_t *w, int status)
{
    (void)status;
    upstream *u = w->data;
    if (w == &u->w2 && !uv_is_closing((uv_handle_t *)&u->conn))
        uv_close((uv_handle_t *)&u->conn, up_closed);
}

static void up_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    upstream *u = s->data;
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, up_closed);
        return;
    }
    if (n == 0 || !memmem(u->in, (size_t)n, "\r\n\r\n", 4) || u->w1.data) return;
    uv_read_stop(s);
    uv_buf_t a = uv_buf_init((char *)u->answer, (unsigned)u->cut);
    uv_buf_t c = uv_buf_init((char *)u->answer + u->cut, (unsigned)(u->len - u->cut));
    u->w1.data = u->w2.data = u;
    uv_write(&u->w1, s, &a, 1, up_written);
    uv_write(&u->w2, s, &c, 1, up_written);
}

static void up_accept(uv_stream_t *srv, int status)
{
    upstream *u = srv->data;
    if (status < 0 || u->accepted) return;
    u->accepted = true;
    uv_tcp_init(srv->loop, &u->conn);
    u->conn.data = u;
    if (uv_accept(srv, (uv_stream_t *)&u->conn) == 0)
        uv_read_start((uv_stream_t *)&u->conn, up_alloc, up_read);
}

typedef struct outcome {
    int calls;
    hclient_err e;
    bool head;
} outcome;

static void on_done(void *ud, hclient_err e, hclient_response *r, const char *msg)
{
    outcome *o = ud;
    o->calls++;
    o->e = e;
    if (e != HC_OK) {
        check(r == NULL && msg && *msg, "an error comes with a message and no answer");
        return;
    }
    check(r && r->status >= 200 && r->status <= 599, "the status is a final one of RFC 9110");
    check(r->body && r->body_len <= 4096 && r->body[r->body_len] == 0, "the body is capped");
    check(!o->head || r->body_len == 0, "a HEAD answer has no body");
}

static void count_handle(uv_handle_t *h, void *arg)
{
    (void)h;
    (*(int *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 20) return 0;
    uv_loop_t loop;
    uv_loop_init(&loop);
    upstream u = {.answer = data + 1, .len = size - 1};
    u.cut = u.len ? (size_t)(data[0] >> 1) * u.len / 128 : 0;
    uv_tcp_init(&loop, &u.lis);
    u.lis.data = &u;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    check(uv_tcp_bind(&u.lis, (const struct sockaddr *)&a, 0) == 0, "bind");
    check(uv_listen((uv_stream_t *)&u.lis, 4, up_accept) == 0, "listen");
    int al = sizeof a;
    uv_tcp_getsockname(&u.lis, (struct sockaddr *)&a, &al);

    char err[200];
    hclient_target_config tc = {.host = "127.0.0.1", .port = ntohs(a.sin_port)};
    hclient_target *t = hclient_target_new(&tc, err, sizeof err);
    check(t != NULL, "target");
    hclient_loop *hl = hclient_loop_new(&loop);
    outcome o = {.head = data[0] & 1};
    const char *req =
        o.head ? "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" : "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    hclient_request rq = {.data = strdup(req),
                          .len = strlen(req),
                          .head = o.head,
                          .timeout_ms = 2000,
                          .max_body = 4096};
    check(hclient_send(hl, t, &rq, on_done, &o) != NULL, "the request starts");
    while (o.calls == 0) uv_run(&loop, UV_RUN_ONCE);
    check(o.calls == 1, "done is called once");

    hclient_loop_close(hl);
    uv_close((uv_handle_t *)&u.lis, NULL);
    if (u.accepted && !uv_is_closing((uv_handle_t *)&u.conn))
        uv_close((uv_handle_t *)&u.conn, up_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    int open = 0;
    uv_walk(&loop, count_handle, &open);
    check(open == 0, "every handle is closed");
    check(uv_loop_close(&loop) == 0, "the loop closes");
    hclient_target_unref(t);
    return 0;
}
