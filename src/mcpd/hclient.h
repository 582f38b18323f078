/* hclient.h - a small HTTP/1.1 client on a libuv loop, for plain http:// upstreams.
 *
 * The http kind's fast path (http_engine.c): a request is written on a kept-alive connection
 * of the loop that runs the call and its answer is parsed there (llhttp), with no thread
 * hand-off. It knows libuv and llhttp, nothing of MCP or of mcpd's guards: retries with
 * backoff, breakers and limits stay in the engine. Every size and time that comes from the
 * upstream is bounded; see hclient.c for the framing rules and the pool. */
#ifndef MCPD_HCLIENT_H
#define MCPD_HCLIENT_H

#include <uv.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An origin (host and port) and its pool settings. Reference-counted; any thread. The pools
 * of every loop find theirs by this object's identity, and a target whose last user let go
 * (hclient_target_retire) has its idle connections closed by each loop at its next sweep. */
typedef struct hclient_target hclient_target;

typedef struct hclient_target_config {
    const char *host;         /* a name, or an IP literal (IPv6 with or without brackets) */
    uint16_t port;            /* 0: 80 */
    uint32_t max_idle;        /* idle keep-alive connections kept per loop; 0: 16 */
    uint32_t idle_timeout_ms; /* an idle connection older than this is closed; 0: 30000 */
} hclient_target_config;

/* Returns a new target (one reference), or NULL with the reason in err (a host that is
 * neither an IP literal nor a name). A name is resolved with uv_getaddrinfo when a loop first
 * needs it, and the address kept HCLIENT_DNS_TTL_MS for every loop. Any thread. */
hclient_target *hclient_target_new(const hclient_target_config *c, char *err, size_t errsize);
hclient_target *hclient_target_ref(hclient_target *t);
/* Drops a reference; the last frees it. Any thread. */
void hclient_target_unref(hclient_target *t);
/* Says that no request will come for t any more (a reload dropped its upstream): the loops
 * close its idle connections at their next sweep and drop their pools. Any thread. */
void hclient_target_retire(hclient_target *t);
/* "host:port" as given, for messages. */
const char *hclient_target_name(const hclient_target *t);

#define HCLIENT_DNS_TTL_MS       30000u
#define HCLIENT_MAX_HEADER_BYTES 65536u /* status line and header fields of one response */
#define HCLIENT_MAX_HEADERS      128u

/* The client's state on one loop: its pools (one per target used there) and live requests.
 * Made and used on the loop's thread only. */
typedef struct hclient_loop hclient_loop;

hclient_loop *hclient_loop_new(uv_loop_t *loop);
/* Ends every live request with HC_ESTOPPED (done is called), closes every connection and
 * handle; l frees itself once libuv has closed them, so the loop must run on until then (as
 * uv_loop_close needs anyway). The loop's thread. */
void hclient_loop_close(hclient_loop *l);
/* Connections this loop opened since it was made, and those it has now (idle or busy): for
 * tests and stats. The loop's thread. */
uint64_t hclient_loop_connects(const hclient_loop *l);
uint32_t hclient_loop_conns(const hclient_loop *l);

typedef enum hclient_err {
    HC_OK = 0,
    HC_ECONNECT, /* no connection (refused, unreachable, resolution failed): nothing was sent */
    HC_EIO,      /* the connection failed after the request was (partly) sent */
    HC_ETIMEOUT, /* the connect timeout or the request's time ran out */
    HC_ETOOBIG,  /* the body passed max_body */
    HC_EPROTO,   /* the answer is not acceptable HTTP/1.1 (garbage, headers too big or too
                    many, an upgrade, a Content-Encoding, a truncated body) */
    HC_ESTOPPED, /* hclient_loop_close */
} hclient_err;

typedef struct hclient_request {
    char *data; /* the whole request: line, headers, blank line, body; taken:
                   freed by the client (malloc'd) */
    size_t len;
    bool head;                   /* a HEAD request: the answer has no body */
    uint32_t timeout_ms;         /* for everything (connect, send, answer); 0: 30000 */
    uint32_t connect_timeout_ms; /* for a new connection; 0 or above timeout_ms: timeout_ms */
    size_t max_body;             /* 0: 1 MiB */
} hclient_request;

typedef struct hclient_response {
    int status;
    char *content_type;  /* NUL-terminated, or NULL */
    int64_t retry_after; /* seconds (delta or HTTP-date), -1 if absent */
    char *body;          /* NUL-terminated (malloc'd; take it by setting NULL) */
    size_t body_len;
} hclient_response;

/* Called once per request on the loop's thread: e HC_OK with r, or an error with r NULL and
 * msg saying what went wrong ("connect to 127.0.0.1:9: connection refused"). The callee may
 * take r->body and r->content_type (setting them NULL); the rest is freed after it returns. */
typedef void (*hclient_done_fn)(void *ud, hclient_err e, hclient_response *r, const char *msg);

typedef struct hclient_req hclient_req;

/* Sends rq to t on a kept-alive connection of l (the most recently used idle one, or a new
 * one) and parses the answer; a kept connection that fails before any byte of the answer
 * (the upstream closed it while it was idle) is tried once more on a new connection. Returns
 * the request (done comes later, never from inside this call), or NULL when it could not
 * start (done is then never called; rq->data is freed either way). The loop's thread. */
hclient_req *hclient_send(hclient_loop *l, hclient_target *t, hclient_request *rq,
                          hclient_done_fn done, void *ud);
/* Abandons a request that has not ended: its connection is closed (or its resolution
 * dropped), done is never called. The loop's thread. */
void hclient_cancel(hclient_req *r);

const char *hclient_strerror(hclient_err e);

#endif
