/* parser.h - HTTP/1.1 request parser (an adapter around llhttp) and response-head writers.
 *
 * The connection layer feeds the bytes it reads into an http_parser; the parser hands back one
 * complete request at a time (method, target split into path and query, version, headers, the
 * assembled body, the keep-alive decision), so pipelined requests and requests split across
 * reads at any byte both work. llhttp runs in strict mode and the adapter adds the request
 * smuggling checks llhttp leaves out; every limit (header section, URI, body, header count) is
 * enforced while bytes arrive, so nothing larger than the limits is ever buffered. A rejected
 * request carries the HTTP status to answer with and a short reason; after any error the
 * connection must answer (or not) and close: the parser refuses further input.
 *
 * This layer knows nothing of MCP. A parser belongs to one connection, hence to one loop
 * thread; nothing here locks. See docs/internals/http.md. */
#ifndef MCP_HTTP_PARSER_H
#define MCP_HTTP_PARSER_H

#include "base/arena.h"
#include "base/buf.h"

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Caps on what one request may send. Zero fields take the defaults below. */
typedef struct http_limits {
    size_t max_header_bytes; /* request line + header fields + blank line; over: 431 */
    size_t max_uri;          /* request target length; over: 414 */
    size_t max_body;         /* assembled body (Content-Length or chunked); over: 413 */
    size_t max_headers;      /* number of header fields (trailers included); over: 431 */
    /* NULL-terminated list of header names (lowercase) that may appear at most once; a repeat
     * is a 400. Their values are pre-extracted (http_request.unique[i] for unique[i]), so a
     * caller reads them without a search. At most HTTP_MAX_UNIQUE names (more are ignored).
     * The list must outlive the parser. NULL: none beyond the well-known ones. */
    const char *const *unique;
} http_limits;

#define HTTP_MAX_UNIQUE 8

#define HTTP_DEFAULT_MAX_HEADER_BYTES 16384
#define HTTP_DEFAULT_MAX_URI          8192
#define HTTP_DEFAULT_MAX_BODY         (4u << 20)
#define HTTP_DEFAULT_MAX_HEADERS      100

/* One header field as received, its name in lowercase (names are case-insensitive; stored
 * lowercased once, every lookup compares bytes against one folded side); both strings are
 * NUL-terminated, the value has its leading and trailing whitespace removed. */
typedef struct http_header {
    const char *name;
    const char *value;
    size_t name_len;
    size_t value_len;
} http_header;

/* A complete request. Every pointer is owned by the parser and valid until the next
 * http_parser_feed, http_parser_reset or http_parser_free on that parser. Absent strings are
 * NULL. */
typedef struct http_request {
    uint8_t method;          /* llhttp_method_t: HTTP_GET, HTTP_POST, ... */
    const char *method_name; /* "GET", "POST", ... (static) */
    const char *target;      /* request target as sent: path and query */
    size_t target_len;
    const char *path; /* target up to '?' (NUL-terminated copy) */
    size_t path_len;
    const char *query; /* after '?', without it; NULL when the target has no '?' */
    size_t query_len;
    uint8_t version_major, version_minor;
    const http_header *headers; /* in arrival order (trailers are not kept) */
    size_t header_count;
    /* Well-known headers, pre-extracted (NULL when absent). Accept and Connection may repeat and
     * are joined with ", "; the others must appear at most once or the request is rejected. */
    const char *host, *content_type, *content_length_str, *accept, *origin, *connection, *expect,
        *last_event_id;
    /* The values of the headers named in http_limits.unique, in that list's order (NULL when
     * absent). */
    const char *unique[HTTP_MAX_UNIQUE];
    bool chunked;         /* body came with Transfer-Encoding: chunked */
    bool keep_alive;      /* llhttp_should_keep_alive: the connection may carry another request */
    bool expect_continue; /* Expect: 100-continue on an HTTP/1.1 request */
    const char *body;     /* NUL-terminated (not counted in body_len); "" when empty */
    size_t body_len;
} http_request;

/* The parser state of one connection. Treat every field as private; use the functions. */
typedef struct http_parser {
    llhttp_t ll;
    http_limits lim;
    http_request req;
    mcp_arena arena;  /* header strings of the current request */
    mcp_buf hdrs;     /* http_header array of the current request */
    mcp_buf scratch;  /* the URL, field name or value being received (may span reads) */
    mcp_buf body;     /* the body being assembled */
    const char *name; /* field name whose value is arriving (in the arena) */
    size_t name_len;
    size_t header_budget; /* header-section bytes still allowed */
    size_t meta_bytes;    /* trailer and chunk-extension bytes received so far */
    size_t nfields;       /* header and trailer fields so far */
    size_t uri_len;       /* request-target bytes seen */
    int te_count, cl_count;
    const char *te_value;
    size_t unique_len[HTTP_MAX_UNIQUE]; /* strlen of each lim.unique name */
    size_t nunique;
    bool started, headers_done, complete, returned, continue_pending;
    char sc_prev;             /* raw scan of the header section: previous byte */
    size_t sc_line, sc_lines; /* bytes in the current line, non-empty lines so far */
    bool sc_end;              /* the scan saw the blank line ending the section */
    bool in_trailers;         /* the scan covers the trailer section now */
    bool trailer_pause;       /* llhttp paused at the last chunk */
    int err_status;           /* 0, or the HTTP status of the error */
    const char *err_reason;   /* short reason text, static or in err_text */
    char err_text[64];
    char arena_block[1024]; /* first arena block: small requests make no malloc */
} http_parser;

/* Initializes p with the limits lim (NULL or zero fields: defaults). Never fails; allocates
 * nothing until bytes arrive. Free with http_parser_free. */
void http_parser_init(http_parser *p, const http_limits *lim);

/* Releases everything p owns; p must be re-initialized before reuse. */
void http_parser_free(http_parser *p);

/* Forgets any partial request and error, keeping p's limits and the memory it already holds
 * (for a connection object that is recycled). */
void http_parser_reset(http_parser *p);

/* Parses data[0..len). Returns the number of bytes consumed (0..len) or -1 on error.
 *
 * When a request completes, parsing stops right after its last byte: *out points to it and the
 * return value says how much of data it used; the caller handles the request and feeds the rest
 * (data + returned) again, so pipelined requests come out one by one. Otherwise *out is NULL and
 * all of data was consumed (partial requests are kept inside p; data itself need not stay
 * valid). Feeding again invalidates the previous request.
 *
 * On -1 *out is NULL and http_parser_error says what to answer; the parser is dead: answer with
 * that status and "Connection: close", then close the connection. */
ssize_t http_parser_feed(http_parser *p, const char *data, size_t len, http_request **out);

/* Returns true once per request, right after its headers completed, when the request asked for
 * "Expect: 100-continue" and its body has not fully arrived yet: the connection then writes
 * "HTTP/1.1 100 Continue\r\n\r\n" before reading on. Check it after each feed that returned no
 * request. */
bool http_parser_take_continue(http_parser *p);

/* Returns true when p holds part of a request (some bytes of it have been fed): an EOF now is an
 * incomplete request, not a clean close. */
bool http_parser_busy(const http_parser *p);

/* Where the rest of a Content-Length body being received may be read straight into, so that
 * a big body is not copied through a read buffer: returns a pointer into the body buffer and
 * sets *len (never past the body's last byte, so the read cannot take in the next request's
 * bytes); the caller then feeds exactly those bytes (http_parser_feed sees they are already
 * in place and does not copy them). NULL when no such body is under way or fewer than min
 * bytes of it remain. The pointer is valid until the next feed. Loop thread only. */
char *http_parser_body_room(http_parser *p, size_t min, size_t *len);

/* After feed returned -1: returns the short reason text and, in *status, the HTTP status to
 * answer with (400, 413, 414, 417, 431, 501, 505). Returns NULL (status 0) if there was no
 * error. The text is owned by p. */
const char *http_parser_error(const http_parser *p, int *status);

/* Returns the value of the first header named name[0..len) (ASCII case-insensitive), or NULL.
 * Owned by the parser, like the request. */
const char *http_header_getn(const http_request *req, const char *name, size_t len);

/* The same for a NUL-terminated name (inline, so that a literal's length is known at compile
 * time). */
static inline const char *http_header_get(const http_request *req, const char *name)
{
    return http_header_getn(req, name, __builtin_strlen(name));
}

/* Takes the body out of req's parser as a malloc'd NUL-terminated buffer the caller frees
 * (*len: its length), so it may outlive the request. Returns "" copies for an empty body. */
char *http_request_take_body(http_parser *p, size_t *len);

/* --- response side: pure functions appending to an mcp_buf ------------------------------- */
/* They touch nothing but b, so any thread may call them on a buffer it owns. */

/* A response header field to write. */
typedef struct http_field {
    const char *name;
    const char *value;
} http_field;

#define HTTP_BODY_CHUNKED (-1) /* write "Transfer-Encoding: chunked" */
#define HTTP_BODY_NONE    (-2) /* write no length field (1xx, 204, 304, or a body until close) */

/* Appends "HTTP/1.1 <status> <reason>\r\n", the fields, then "Content-Length: <body_len>"
 * (body_len >= 0) or "Transfer-Encoding: chunked" (HTTP_BODY_CHUNKED) or nothing
 * (HTTP_BODY_NONE), and the blank line. reason NULL: http_reason(status). Returns 0, or -1
 * with nothing appended when the reason, a name or a value holds CR or LF (response splitting),
 * a name is empty, or the
 * status is outside 100..999. Cap overflow shows in b->overflow as usual. */
int http_write_status_line_and_headers(mcp_buf *b, int status, const char *reason,
                                       const http_field *fields, size_t nfields,
                                       long long body_len);

/* Returns the standard reason phrase of status ("OK", "Not Found"), or "Unknown". Static. */
const char *http_reason(int status);

/* Appends one chunk: hex length, CRLF, data, CRLF. len 0 appends nothing (an empty chunk
 * would end the body); use http_write_last_chunk for that. */
void http_write_chunk(mcp_buf *b, const void *data, size_t len);

/* Appends the last chunk and the empty trailer section: "0\r\n\r\n". */
void http_write_last_chunk(mcp_buf *b);

/* Appends a complete error response with "Connection: close" and a text/plain body holding
 * text (e.g. the reason from http_parser_error). */
void http_write_error(mcp_buf *b, int status, const char *text);

#endif
