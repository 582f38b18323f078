/* fuzz_hclient.c - libFuzzer target for mcpd's HTTP/1.1 client (src/mcpd/hclient.c): what an
 * upstream answers, parsed by llhttp in response mode with every size bounded.
 *
 * One libuv loop runs both sides: a listener on 127.0.0.1 that answers each request (once its
 * blank line is in) with the input's bytes and then closes the connection, and the client,
 * which sends one GET (or HEAD) and runs the loop until its done callback. The first byte picks
 * HEAD (bit 0), a 64-byte body cap (bit 1) and a second request after the first (bit 2: a
 * kept-alive connection the upstream closed is retried, or a new one made). done must come
 * exactly once per request: HC_OK with a final status (200..599), a NUL-terminated body within
 * the cap (none for HEAD), or an error of the enum with a message. */
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

static uv_loop_t loop;
static uv_tcp_t listener;
static hclient_loop *hl;
static hclient_target *target;
static const uint8_t *answer; /* this input's answer */
static size_t answer_len;

/* ---- the upstream: answers each request with the input, then closes --------------------- */
typedef struct sconn {
    uv_tcp_t h;
    uv_write_t w;
    char head[4096];
    size_t n;
    char *out; /* the answer being written */
    bool answered;
} sconn;

static void on_sclosed(uv_handle_t *h)
{
    sconn *c = h->data;
    free(c->out);
    free(c);
}

static void on_swritten(uv_write_t *w, int status)
{
    (void)status;
    sconn *c = w->data;
    uv_close((uv_handle_t *)&c->h, on_sclosed);
}

static void on_salloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    sconn *c = h->data;
    *buf = uv_buf_init(c->head + c->n, (unsigned)(sizeof c->head - c->n));
}

static void on_sread(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    sconn *c = s->data;
    if (n < 0 || c->n + (size_t)n >= sizeof c->head) {
        uv_read_stop(s);
        if (!c->answered) uv_close((uv_handle_t *)&c->h, on_sclosed);
        return;
    }
    c->n += (size_t)n;
    if (c->answered || !memmem(c->head, c->n, "\r\n\r\n", 4)) return;
    c->answered = true;
    uv_read_stop(s);
    c->out = malloc(answer_len ? answer_len : 1);
    memcpy(c->out, answer, answer_len);
    uv_buf_t b = uv_buf_init(c->out, (unsigned)answer_len);
    c->w.data = c;
    if (!answer_len || uv_write(&c->w, s, &b, 1, on_swritten) != 0)
        uv_close((uv_handle_t *)&c->h, on_sclosed);
}

static void on_connection(uv_stream_t *l, int status)
{
    check(status == 0, "accept");
    sconn *c = calloc(1, sizeof *c);
    uv_tcp_init(&loop, &c->h);
    c->h.data = c;
    check(uv_accept(l, (uv_stream_t *)&c->h) == 0, "accept");
    uv_read_start((uv_stream_t *)&c->h, on_salloc, on_sread);
}

static void setup(void)
{
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &listener);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    check(uv_tcp_bind(&listener, (const struct sockaddr *)&a, 0) == 0, "bind");
    check(uv_listen((uv_stream_t *)&listener, 64, on_connection) == 0, "listen");
    struct sockaddr_in got;
    int len = sizeof got;
    uv_tcp_getsockname(&listener, (struct sockaddr *)&got, &len);
    hl = hclient_loop_new(&loop);
    char err[200];
    hclient_target_config tc = {.host = "127.0.0.1", .port = ntohs(got.sin_port)};
    target = hclient_target_new(&tc, err, sizeof err);
    check(target != NULL, "target");
}

/* ---- the client ------------------------------------------------------------------------- */
typedef struct outcome {
    unsigned calls;
    bool head;
    size_t max_body;
} outcome;

static void on_done(void *ud, hclient_err e, hclient_response *r, const char *msg)
{
    outcome *o = ud;
    o->calls++;
    check(e >= HC_OK && e <= HC_ESTOPPED, "an error outside the enum");
    check((e == HC_OK) == (r != NULL), "a response with an error, or none without");
    if (e != HC_OK) {
        check(msg && msg[0], "an error without a message");
        return;
    }
    check(r->status >= 200 && r->status <= 599, "a final answer with a status outside 200..599");
    check(r->body_len <= o->max_body, "a body over the cap");
    check(!r->body || r->body[r->body_len] == '\0', "a body not NUL-terminated");
    check(!o->head || r->body_len == 0, "a body for HEAD");
}

static void one_request(bool head, size_t max_body)
{
    static const char get[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    static const char hd[] = "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    const char *text = head ? hd : get;
    hclient_request rq = {.data = strdup(text),
                          .len = strlen(text),
                          .head = head,
                          .timeout_ms = 5000,
                          .max_body = max_body};
    outcome o = {0, head, max_body ? max_body : (1u << 20)};
    check(hclient_send(hl, target, &rq, on_done, &o) != NULL, "the request did not start");
    while (o.calls == 0) uv_run(&loop, UV_RUN_ONCE);
    for (int i = 0; i < 4; i++) uv_run(&loop, UV_RUN_NOWAIT); /* closes, and no second done */
    check(o.calls == 1, "done called more than once");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size || size > (256u << 10)) return 0;
    if (!hl) setup();
    answer = data + 1;
    answer_len = size - 1;
    one_request(data[0] & 1, (data[0] & 2) ? 64 : 0);
    if (data[0] & 4) one_request(false, 0);
    return 0;
}
