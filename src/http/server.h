/* server.h - HTTP/1.1 server on rt_workers: connections, pipelining, keep-alive, timeouts.
 *
 * Each connection lives on the worker loop that accepted it. Requests are handed to the
 * handler one at a time in arrival order; each gets an http_response, and responses go out in
 * request order whatever order they complete in. A response completes either at once (inside
 * the handler) or later: the handler keeps res and finishes it on the same loop thread; another
 * thread must go through rt_worker_post(http_response_worker(res), ...). Knows nothing of MCP.
 * See docs/internals/runtime.md. */
#ifndef MCP_HTTP_SERVER_H
#define MCP_HTTP_SERVER_H

#include "http/parser.h"
#include "rt/loop.h"

#include <stddef.h>
#include <stdint.h>

typedef struct http_server http_server;
typedef struct http_response http_response;

/* Called on the connection's loop thread. req (and every pointer in it) is valid only during
 * the call: copy what a later completion needs. res stays valid until it is completed with
 * http_response_send or http_response_end (or the server stops). */
typedef void (*http_on_request)(http_request *req, http_response *res, void *ud);

/* One finished exchange (a request and its response), for an access log. The strings live
 * only during the on_exchange call. */
typedef struct http_exchange {
    unsigned worker;        /* index of the worker whose loop the connection is on */
    const char *peer;       /* "127.0.0.1:51234", "[::1]:51234"; "-" if unknown */
    const char *method;     /* "POST"; NULL when the request line did not parse */
    const char *path;       /* the target's path (no query), at most 256 bytes; or NULL */
    int status;             /* HTTP status; 0 when no response head was written */
    uint64_t bytes_in;      /* bytes of the request as received (head, body, framing) */
    uint64_t bytes_out;     /* bytes of the response handed to the socket */
    uint64_t start_unix_ms; /* wall clock when its first byte arrived */
    uint64_t duration_ns;   /* first byte read to last byte written (or to the close) */
    bool aborted;           /* the connection ended before the response was all written */
    void *note;             /* what the handler attached (http_response_set_note), or NULL */
} http_exchange;

typedef struct http_server_config {
    const char *host; /* NULL: 127.0.0.1 */
    int port;         /* 0: any (see http_server_port) */
    unsigned workers; /* 0: rt_cpu_count() (the CPUs of the process's affinity mask) */
    /* per worker; 0: 10000. Lowered to what the fd limit allows (RLIMIT_NOFILE, whose soft
     * value is raised toward the hard one as needed; see docs/limits.md). Beyond it: closed at
     * once, counted, logged */
    size_t max_conns;
    uint32_t header_timeout_ms; /* a request (blank lines before it too) must arrive whole
                                   within it; 0: 10000. Then 408 and close */
    uint32_t idle_timeout_ms;   /* keep-alive idle time; 0: 60000 */
    uint32_t write_timeout_ms;  /* a pending write that the client takes no byte of for this
                                   long closes the connection; 0: 30000 */
    uint32_t tick_ms;           /* timeout resolution; 0: 250 */
    size_t max_pending_output;  /* unsent bytes before reading pauses; 0: 1 MiB */
    size_t max_unsent_output;   /* a write while more than this is unsent closes the
                                   connection (logged); 0: 8 MiB */
    http_limits limits;         /* parser limits; zero fields: parser defaults */
    http_on_request on_request;
    /* Optional: called on each worker's loop thread every tick_ms, after the timeouts. */
    void (*on_tick)(rt_worker *w, uint64_t now_ms, void *ud);
    /* Optional (access logs): called once for every response that was handed to on_request
     * and every error the server answers by itself (not 100 Continue), when its last byte
     * was written, or when its connection ended first (aborted), or at stop. Runs on the
     * connection's loop thread, or on the stopping thread for responses left at stop: quick,
     * no blocking. NULL: nothing is measured (no clock read, no copy). */
    void (*on_exchange)(const http_exchange *x, void *ud);
    void *ud;
} http_server_config;

/* Starts listening and serving. Returns 0 and *out (free with http_server_stop), or a negative
 * errno. Call from a non-worker thread. */
int http_server_start(http_server **out, const http_server_config *cfg);

/* Closes every connection, joins the workers and frees s. Responses not yet completed are
 * dropped: handlers must not touch them after this starts. Call from the starting thread. */
void http_server_stop(http_server *s);

/* Stops accepting new connections (the listeners close); open ones go on. Call from a
 * non-worker thread, before http_server_stop. */
void http_server_stop_accepting(http_server *s);

/* Returns the listening port. Any thread. */
int http_server_port(const http_server *s);

/* Returns the connections allowed per worker: max_conns, lowered to the fd budget. Any
 * thread. */
size_t http_server_max_conns(const http_server *s);

/* Returns the worker group (for stats and posting). Any thread. */
rt_workers *http_server_workers(http_server *s);

/* Returns the worker whose loop owns res: the only thread allowed to complete it. */
rt_worker *http_response_worker(http_response *res);

/* Adds a response header (copied) to be written with the status line; call before
 * http_response_send / http_response_start_stream. At most 8 per response. Returns 0, or -1
 * (too many, or the head is already written). The values are checked when the head is
 * written: a name or value that is not a valid field gives a 500. Loop thread of res. */
int http_response_header(http_response *res, const char *name, const char *value);

/* Registers fn, called once on the loop thread if the connection closes (peer gone, I/O error,
 * server stop) while res is not yet completed. fn may complete res (and should, soon: the
 * connection's memory waits for it); nothing written to it is sent any more. Loop thread of
 * res. */
void http_response_on_abort(http_response *res, void (*fn)(http_response *res, void *ud), void *ud);

/* Marks res as the connection's last response: `Connection: close` is sent with it and the
 * connection closes after it. Call before the head is written. Loop thread of res. */
void http_response_close_after(http_response *res);

/* Sends a complete response with Content-Length: len and copies body (may be NULL when len is
 * 0). content_type may be NULL. Completes res (it must not be used again). Returns 0, or -1
 * (res still completed, with a 500) if the status or type is invalid. Loop thread of res. */
int http_response_send(http_response *res, int status, const char *content_type, const void *body,
                       size_t len);

/* Like http_response_send, but takes the body instead of copying it: a large heap body goes to
 * the socket from its own memory (b is left empty; the caller still calls mcp_buf_free on it,
 * which then frees nothing). Loop thread of res. */
int http_response_send_buf(http_response *res, int status, const char *content_type, mcp_buf *body);

/* Starts a chunked response. Returns 0 or -1 (invalid status/type). Loop thread of res. */
int http_response_start_stream(http_response *res, int status, const char *content_type);

/* Appends one chunk (len 0: nothing) to a started stream; data is copied. Returns 0, or -1 if
 * the connection is gone or is closing because more than max_unsent_output bytes are unsent
 * (nothing is appended; the caller should end the stream; its abort handler runs at the
 * next tick). Loop thread of res. */
int http_response_write_chunk(http_response *res, const void *data, size_t len);

/* Ends a stream with the last chunk and completes res (it must not be used again). Loop thread
 * of res. */
void http_response_end(http_response *res);

/* Attaches note to res; on_exchange receives it (and must free it if it owns memory). Only
 * with on_exchange set. Loop thread of res. */
void http_response_set_note(http_response *res, void *note);
/* The note attached to res, or NULL. Loop thread of res. */
void *http_response_note(http_response *res);

/* A key naming the client host of res's connection (a hash of its peer IP address, not the
 * port), for per-client fairness; never 0. Computed once per connection. Loop thread of res. */
uint64_t http_response_peer_key(http_response *res);

#endif
