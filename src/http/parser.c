/* parser.c - HTTP/1.1 request parsing on top of llhttp, plus response-head writers.
 *
 * llhttp (compiled in strict mode) tokenizes; this file turns its callbacks into an
 * http_request. Spans of the URL, field names and values may arrive split across reads, so
 * each is gathered in a scratch buffer and copied into the per-request arena when llhttp says
 * it is complete; the header array lives in a growable buffer and the body in another, capped
 * at the body limit. on_message_complete pauses llhttp, so http_parser_feed returns exactly one
 * request and the number of bytes it used; the caller feeds the rest again (pipelining).
 *
 * The header-section limit counts raw bytes: while headers are incomplete, llhttp is handed at
 * most the bytes still allowed, so a section one byte over the limit is refused without ever
 * being buffered. The URI and header-count limits are checked in the span callbacks, the body
 * limit against Content-Length when headers complete and against each chunk as it arrives.
 * On top of llhttp's strict checks, on_headers_complete rejects the smuggling shapes llhttp lets
 * through (repeated Content-Length or Transfer-Encoding, a coding other than exactly "chunked",
 * Transfer-Encoding on HTTP/1.0), and a raw scan of the header and trailer sections rejects what
 * llhttp 8.1 strict still lets through: bare LF line endings and obs-fold. */
#include "http/parser.h"

#include "base/alloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_KEEP_MAX (64u << 10) /* body capacity kept across keep-alive requests */

/* ---- small helpers -------------------------------------------------------------------------- */

/* ASCII lowercase of every byte (the others map to themselves): one load per byte instead of
 * two compares and a branch, on a path that compares a dozen header names per request. */
static const unsigned char lower_tab[256] = {
/* the cast: clang's -Wconstant-conversion checks both arms, (c) + 32 too, for c up to 255 */
#define L1(c)  (unsigned char)((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))
#define L4(c)  L1(c), L1((c) + 1), L1((c) + 2), L1((c) + 3)
#define L16(c) L4(c), L4((c) + 4), L4((c) + 8), L4((c) + 12)
#define L64(c) L16(c), L16((c) + 16), L16((c) + 32), L16((c) + 48)
    L64(0), L64(64), L64(128), L64(192)
#undef L64
#undef L16
#undef L4
#undef L1
};

static bool ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen) return false;
    for (size_t i = 0; i < alen; i++)
        if (lower_tab[(unsigned char)a[i]] != lower_tab[(unsigned char)b[i]]) return false;
    return true;
}

/* Case-insensitive equality of any n bytes a with n bytes b already in lowercase (header names
 * are stored lowercased: the fast side of every lookup). */
static bool ieq_lower(const char *a, const char *lower_b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower_tab[(unsigned char)a[i]] != (unsigned char)lower_b[i]) return false;
    return true;
}

/* The 8 bytes of w with 'A'..'Z' lowercased and every other byte as it was: per byte, the high
 * bit of (low 7 bits + 0x3f) says >= 'A', of (low 7 bits + 0x25) says > 'Z' (neither sum
 * carries into the next byte), and a byte with its own high bit set is left alone. */
static uint64_t lower8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, hi = 0x8080808080808080ull;
    uint64_t low7 = w & ~hi;
    uint64_t upper = (low7 + 0x3f * ones) & ~(low7 + 0x25 * ones) & ~w & hi;
    return w | (upper >> 2);
}

/* A lowercased NUL-terminated copy of b in the arena a, 8 bytes at a time. */
static char *arena_copy_lower(mcp_arena *a, const mcp_buf *b)
{
    size_t n = b->len, i = 0;
    char *d = mcp_arena_alloc_unaligned(a, n + 1);
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b->data + i, 8);
        w = lower8(w);
        memcpy(d + i, &w, 8);
    }
    for (; i < n; i++) d[i] = (char)lower_tab[(unsigned char)b->data[i]];
    d[n] = '\0';
    return d;
}

static http_parser *P(llhttp_t *ll)
{
    return (http_parser *)ll->data;
}

/* Records the first error; returns -1 so callbacks can `return fail(...)`. */
static int fail(http_parser *p, int status, const char *reason)
{
    if (!p->err_status) {
        p->err_status = status;
        p->err_reason = reason;
    }
    return -1;
}

/* Like fail, with a formatted reason (naming the limit that was hit). */
static int fail_limit(http_parser *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_limit(http_parser *p, int status, const char *fmt, ...)
{
    if (p->err_status) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err_text, sizeof p->err_text, fmt, ap);
    va_end(ap);
    return fail(p, status, p->err_text);
}

static char *arena_copy(http_parser *p, const mcp_buf *b)
{
    return mcp_arena_strndup(&p->arena, b->len ? b->data : "", b->len);
}

/* ---- request line -----------------------------------------------------------------------------
 */

static int on_message_begin(llhttp_t *ll)
{
    P(ll)->started = true;
    return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t len)
{
    http_parser *p = P(ll);
    /* Past the limit bytes are dropped and the error raised once the target ends, so that the
     * outcome does not depend on where reads split it (llhttp may still find it malformed). */
    p->uri_len += len;
    if (p->uri_len <= p->lim.max_uri) mcp_buf_append(&p->scratch, at, len);
    return 0;
}

/* Splits the target into NUL-terminated path and query copies. */
static int on_url_complete(llhttp_t *ll)
{
    http_parser *p = P(ll);
    http_request *r = &p->req;
    if (p->uri_len > p->lim.max_uri)
        return fail_limit(p, 414, "request target longer than %zu bytes", p->lim.max_uri);
    r->target = arena_copy(p, &p->scratch);
    r->target_len = p->scratch.len;
    const char *q = memchr(r->target, '?', r->target_len);
    r->path_len = q ? (size_t)(q - r->target) : r->target_len;
    r->path = mcp_arena_strndup(&p->arena, r->target, r->path_len);
    if (q) {
        r->query = q + 1;
        r->query_len = r->target_len - r->path_len - 1;
    }
    p->scratch.len = 0;
    return 0;
}

/* ---- header fields ----------------------------------------------------------------------------
 */

/* The well-known headers; `multi` ones may repeat and are joined with ", ". */
enum { K_HOST, K_CTYPE, K_CLEN, K_ACCEPT, K_ORIGIN, K_CONN, K_EXPECT, K_LEID, K_TE, K_COUNT };

static const struct {
    const char *name;
    size_t len;
    bool multi;
} known[K_COUNT] = {
    [K_HOST] = {"host", 4, false},
    [K_CTYPE] = {"content-type", 12, false},
    [K_CLEN] = {"content-length", 14, false},
    [K_ACCEPT] = {"accept", 6, true},
    [K_ORIGIN] = {"origin", 6, false},
    [K_CONN] = {"connection", 10, true},
    [K_EXPECT] = {"expect", 6, false},
    [K_LEID] = {"last-event-id", 13, false},
    [K_TE] = {"transfer-encoding", 17, true},
};

static const char **known_slot(http_parser *p, int k)
{
    http_request *r = &p->req;
    switch (k) {
    case K_HOST:
        return &r->host;
    case K_CTYPE:
        return &r->content_type;
    case K_CLEN:
        return &r->content_length_str;
    case K_ACCEPT:
        return &r->accept;
    case K_ORIGIN:
        return &r->origin;
    case K_CONN:
        return &r->connection;
    case K_EXPECT:
        return &r->expect;
    case K_LEID:
        return &r->last_event_id;
    default:
        return &p->te_value;
    }
}

/* The well-known header named name[0..len) (lowercase), or -1. Keyed by length, then compared
 * (a request has a dozen headers, each looked up once: no loop over the table). */
static int known_index(const char *name, size_t len)
{
    int a = -1, b = -1;
    switch (len) {
    case 4:
        a = K_HOST;
        break;
    case 6:
        a = K_ACCEPT, b = name[0] == 'o' ? K_ORIGIN : K_EXPECT;
        break;
    case 10:
        a = K_CONN;
        break;
    case 12:
        a = K_CTYPE;
        break;
    case 13:
        a = K_LEID;
        break;
    case 14:
        a = K_CLEN;
        break;
    case 17:
        a = K_TE;
        break;
    default:
        return -1;
    }
    if (!memcmp(name, known[a].name, len)) return a;
    if (b >= 0 && !memcmp(name, known[b].name, len)) return b;
    return -1;
}

/* Counts trailer and chunk-extension bytes, which are parsed but never stored; the limit is
 * enforced when the element completes (meta_check), so the outcome does not depend on where the
 * reads split it. */
static int count_meta(http_parser *p, size_t len)
{
    p->meta_bytes += len;
    return 0;
}

static int meta_check(http_parser *p)
{
    if (p->meta_bytes > p->lim.max_header_bytes)
        return fail_limit(p, 431, "trailers or chunk extensions over %zu bytes",
                          p->lim.max_header_bytes);
    return 0;
}

static int on_chunk_ext_complete(llhttp_t *ll)
{
    return meta_check(P(ll));
}

static int on_header_field(llhttp_t *ll, const char *at, size_t len)
{
    http_parser *p = P(ll);
    if (p->headers_done) return count_meta(p, len);
    mcp_buf_append(&p->scratch, at, len);
    return 0;
}

static int on_header_field_complete(llhttp_t *ll)
{
    http_parser *p = P(ll);
    if (++p->nfields > p->lim.max_headers)
        return fail_limit(p, 431, "more than %zu header fields", p->lim.max_headers);
    if (p->headers_done) return meta_check(p);
    if (p->scratch.len == 0) return fail(p, 400, "empty header name");
    p->name = arena_copy_lower(&p->arena, &p->scratch);
    p->name_len = p->scratch.len;
    p->scratch.len = 0;
    return 0;
}

#ifdef MCP_FUZZING
/* llhttp strict rejects control characters (HTAB aside) and DEL in values before it hands them
 * over, so the hot path does not re-check; under the fuzzer we verify that promise. */
static void assert_value_bytes(const char *at, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)at[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) abort();
    }
}
#endif

static int on_header_value(llhttp_t *ll, const char *at, size_t len)
{
    http_parser *p = P(ll);
#ifdef MCP_FUZZING
    assert_value_bytes(at, len);
#endif
    if (p->headers_done) return count_meta(p, len);
    mcp_buf_append(&p->scratch, at, len);
    return 0;
}

/* Records a well-known header: singletons must not repeat, list headers are joined. */
static int note_known(http_parser *p, int k, const char *v, size_t vlen)
{
    const char **slot = known_slot(p, k);
    if (k == K_TE) p->te_count++;
    if (k == K_CLEN) p->cl_count++;
    if (!*slot) {
        *slot = v;
        return 0;
    }
    if (k == K_CLEN) return fail(p, 400, "duplicate Content-Length");
    if (k == K_TE) return fail(p, 400, "multiple Transfer-Encoding headers");
    if (!known[k].multi) {
        snprintf(p->err_text, sizeof p->err_text, "duplicate %s header", known[k].name);
        return fail(p, 400, p->err_text);
    }
    size_t olen = strlen(*slot);
    char *j = mcp_arena_alloc_unaligned(&p->arena, olen + 2 + vlen + 1);
    memcpy(j, *slot, olen);
    memcpy(j + olen, ", ", 2);
    memcpy(j + olen + 2, v, vlen + 1);
    *slot = j;
    return 0;
}

/* A header the user named in lim.unique may appear once; h is the one just appended (its name
 * lowercase, as the list's are). Its value is kept in the request's slot for it. */
static int check_unique(http_parser *p, const http_header *h)
{
    for (size_t i = 0; i < p->nunique; i++) {
        if (p->unique_len[i] != h->name_len || memcmp(h->name, p->lim.unique[i], h->name_len))
            continue;
        if (p->req.unique[i]) {
            snprintf(p->err_text, sizeof p->err_text, "duplicate %.40s header", p->lim.unique[i]);
            return fail(p, 400, p->err_text);
        }
        p->req.unique[i] = h->value;
        return 0;
    }
    return 0;
}

static int on_header_value_complete(llhttp_t *ll)
{
    http_parser *p = P(ll);
    if (p->headers_done) return meta_check(p);
    const char *s = p->scratch.len ? p->scratch.data : "";
    size_t n = p->scratch.len;
    while (n && (s[0] == ' ' || s[0] == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    http_header h = {p->name, mcp_arena_strndup(&p->arena, s, n), p->name_len, n};
    p->scratch.len = 0;
    mcp_buf_append(&p->hdrs, &h, sizeof h);
    if (p->hdrs.overflow) return fail(p, 431, "too many header fields");
    int k = known_index(h.name, h.name_len);
    return k >= 0 ? note_known(p, k, h.value, n) : check_unique(p, &h);
}

/* ---- headers complete: the framing decisions --------------------------------------------------
 */

/* Transfer-Encoding must be exactly "chunked" and only on HTTP/1.1. */
static int check_framing(http_parser *p)
{
    http_request *r = &p->req;
    if (p->te_count && p->cl_count)
        return fail(p, 400, "both Content-Length and Transfer-Encoding");
    if (p->te_count) {
        if (r->version_minor == 0) return fail(p, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (!ieq(p->te_value, strlen(p->te_value), "chunked", 7))
            return fail(p, 400, "Transfer-Encoding other than chunked");
        if (!(p->ll.flags & F_CHUNKED)) return fail(p, 400, "Transfer-Encoding other than chunked");
    }
    if (p->cl_count && p->ll.content_length > p->lim.max_body)
        return fail_limit(p, 413, "body larger than %zu bytes", p->lim.max_body);
    return 0;
}

/* Expect: 100-continue is honoured on HTTP/1.1 only (RFC 9110 10.1.1); others get 417. */
static int check_expect(http_parser *p)
{
    http_request *r = &p->req;
    if (!r->expect || r->version_minor == 0) return 0;
    if (!ieq(r->expect, strlen(r->expect), "100-continue", 12))
        return fail(p, 417, "unsupported expectation");
    r->expect_continue = true;
    return 0;
}

static int on_headers_complete(llhttp_t *ll)
{
    http_parser *p = P(ll);
    http_request *r = &p->req;
    r->version_major = ll->http_major;
    r->version_minor = ll->http_minor;
    r->method = ll->method;
    r->method_name = llhttp_method_name((llhttp_method_t)ll->method);
    if (r->version_major != 1) return fail(p, 505, "HTTP version not supported");
    if (r->method == HTTP_CONNECT) return fail(p, 501, "CONNECT not supported");
    if (check_framing(p) || check_expect(p)) return -1;
    if (r->version_minor == 1 && !r->host) return fail(p, 400, "missing Host header");
    ll->upgrade = 0; /* Upgrade is ignored: we answer in HTTP/1.1 (RFC 9110 7.8) */
    r->chunked = (ll->flags & F_CHUNKED) != 0;
    r->keep_alive = llhttp_should_keep_alive(ll) != 0;
    r->headers = (const http_header *)(void *)p->hdrs.data;
    r->header_count = p->hdrs.len / sizeof(http_header);
    p->headers_done = true;
    bool body_follows = r->chunked || ll->content_length > 0;
    p->continue_pending = r->expect_continue && body_follows;
    if (!r->chunked && ll->content_length > 0)
        mcp_buf_reserve(&p->body, (size_t)ll->content_length + 1);
    return 0;
}

/* ---- body and completion ----------------------------------------------------------------------
 */

static int on_body(llhttp_t *ll, const char *at, size_t len)
{
    http_parser *p = P(ll);
    if (len > p->lim.max_body - p->body.len)
        return fail_limit(p, 413, "body larger than %zu bytes", p->lim.max_body);
    /* read in place (a body with no buffer yet, as a chunked one starts, is never in place) */
    if (p->body.data && at == p->body.data + p->body.len && len < p->body.cap - p->body.len)
        p->body.len += len;
    else
        mcp_buf_append(&p->body, at, len);
    return 0;
}

/* Refuses an oversized chunk from its size line, before any of its data arrives. */
static int on_chunk_header(llhttp_t *ll)
{
    http_parser *p = P(ll);
    if (ll->content_length > p->lim.max_body - p->body.len)
        return fail_limit(p, 413, "body larger than %zu bytes", p->lim.max_body);
    if (ll->content_length == 0) {
        /* last chunk: pause so that feed can raw-scan the trailer section from here on */
        p->trailer_pause = true;
        return HPE_PAUSED;
    }
    return 0;
}

static int on_chunk_ext(llhttp_t *ll, const char *at, size_t len)
{
    return count_meta(P(ll), len);
}

static int on_message_complete(llhttp_t *ll)
{
    http_parser *p = P(ll);
    http_request *r = &p->req;
    r->body = "";
    r->body_len = p->body.len;
    if (p->body.len) {
        mcp_buf_putc(&p->body, '\0'); /* fits: the cap is max_body + 1 */
        r->body = p->body.data;
        p->body.len--;
    }
    p->complete = true;
    p->continue_pending = false;
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_chunk_extension_name = on_chunk_ext,
    .on_chunk_extension_value = on_chunk_ext,
    .on_chunk_extension_name_complete = on_chunk_ext_complete,
    .on_chunk_extension_value_complete = on_chunk_ext_complete,
    .on_message_complete = on_message_complete,
};

/* ---- lifecycle --------------------------------------------------------------------------------
 */

void http_parser_init(http_parser *p, const http_limits *lim)
{
    memset(p, 0, sizeof *p);
    if (lim) p->lim = *lim;
    if (!p->lim.max_header_bytes) p->lim.max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES;
    if (!p->lim.max_uri) p->lim.max_uri = HTTP_DEFAULT_MAX_URI;
    if (!p->lim.max_body) p->lim.max_body = HTTP_DEFAULT_MAX_BODY;
    if (!p->lim.max_headers) p->lim.max_headers = HTTP_DEFAULT_MAX_HEADERS;
    for (const char *const *u = p->lim.unique; u && *u && p->nunique < HTTP_MAX_UNIQUE; u++)
        p->unique_len[p->nunique++] = strlen(*u);
    mcp_arena_init(&p->arena, p->arena_block, sizeof p->arena_block);
    mcp_buf_init(&p->hdrs, NULL, 0, p->lim.max_headers * sizeof(http_header));
    mcp_buf_init(&p->scratch, NULL, 0, p->lim.max_header_bytes + p->lim.max_uri);
    mcp_buf_init(&p->body, NULL, 0, p->lim.max_body + 1);
    llhttp_init(&p->ll, HTTP_REQUEST, &settings);
    p->ll.data = p;
    p->header_budget = p->lim.max_header_bytes;
}

void http_parser_free(http_parser *p)
{
    mcp_arena_free(&p->arena);
    mcp_buf_free(&p->hdrs);
    mcp_buf_free(&p->scratch);
    mcp_buf_free(&p->body);
}

/* Clears per-request state, keeping memory for the next request on this connection. */
static void next_request(http_parser *p)
{
    mcp_arena_reset(&p->arena);
    p->hdrs.len = p->scratch.len = 0;
    if (p->body.cap > BODY_KEEP_MAX) mcp_buf_free(&p->body);
    p->body.len = 0;
    memset(&p->req, 0, sizeof p->req);
    p->name = NULL;
    p->name_len = p->meta_bytes = p->nfields = p->uri_len = 0;
    p->te_count = p->cl_count = 0;
    p->te_value = NULL;
    p->started = p->headers_done = p->complete = p->returned = p->continue_pending = false;
    p->header_budget = p->lim.max_header_bytes;
    p->sc_prev = 0;
    p->sc_line = p->sc_lines = 0;
    p->sc_end = p->in_trailers = p->trailer_pause = false;
}

void http_parser_reset(http_parser *p)
{
    next_request(p);
    p->hdrs.overflow = p->scratch.overflow = p->body.overflow = false;
    p->err_status = 0;
    p->err_reason = NULL;
    llhttp_reset(&p->ll);
}

/* ---- raw header-section scan ------------------------------------------------------------------
 */

/* Skips a run of ordinary bytes (neither CR nor LF) at d, with two vectorized memchr calls
 * rather than a byte loop. Returns its length (at least 1: d[0] is ordinary). */
static size_t scan_run(http_parser *p, const char *d, size_t n)
{
    const char *cr = memchr(d, '\r', n);
    size_t end = cr ? (size_t)(cr - d) : n;
    const char *lf = memchr(d, '\n', end);
    if (lf) end = (size_t)(lf - d);
    p->sc_line += end;
    p->sc_prev = d[end - 1];
    return end;
}

/* llhttp (8.1, strict) still accepts a bare LF ending the header section and obs-fold
 * continuation lines, so the raw bytes of the request line and header fields are checked here
 * before llhttp sees them: every LF must follow a CR, every CR precede an LF, and no line after
 * the request line may start with SP or HTAB. The trailer section of a chunked body is scanned
 * the same way (on_chunk_header pauses llhttp at the last chunk to find where it starts).
 * Leading empty lines (before the request line) are
 * allowed, as llhttp allows them. Returns the offset of the first bad byte in d[0..n), or n;
 * *why is set when a bad byte was found. Stops scanning at the end of the section. */
static size_t scan_head(http_parser *p, const char *d, size_t n, const char **why)
{
    *why = NULL;
    size_t i = 0;
    while (i < n && !p->sc_end) {
        char c = d[i];
        if ((p->sc_prev == '\r' && c != '\n') || (c == '\n' && p->sc_prev != '\r')) {
            *why = "bare CR or LF line ending";
            return i;
        }
        if (c == '\r' || c == '\n') {
            if (c == '\n' && p->sc_line == 0 && p->sc_lines > 0)
                p->sc_end = true;
            else if (c == '\n' && p->sc_line > 0)
                p->sc_lines++;
            if (c == '\n') p->sc_line = 0;
            p->sc_prev = c;
            i++;
            continue;
        }
        if (p->sc_line == 0 && p->sc_lines > 0 && (c == ' ' || c == '\t')) {
            *why = "obs-fold (header continuation line)";
            return i;
        }
        i += scan_run(p, d + i, n - i);
    }
    return n;
}

/* ---- feeding ----------------------------------------------------------------------------------
 */

/* Maps an llhttp error no callback explained to a status and reason. */
static void map_llhttp_error(http_parser *p, llhttp_errno_t e)
{
    const char *why = llhttp_get_error_reason(&p->ll);
    if (why && strstr(why, "Duplicate Content-Length")) {
        fail(p, 400, "duplicate Content-Length");
        return;
    }
    switch (e) {
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        fail(p, 400, "both Content-Length and Transfer-Encoding");
        return;
    case HPE_INVALID_CONTENT_LENGTH:
        fail(p, 400,
             why && strstr(why, "Duplicate") ? "duplicate Content-Length"
                                             : "invalid Content-Length");
        return;
    case HPE_INVALID_TRANSFER_ENCODING:
        fail(p, 400, "Transfer-Encoding other than chunked");
        return;
    case HPE_INVALID_HEADER_TOKEN:
        fail(p, 400, "invalid character in header");
        return;
    case HPE_CR_EXPECTED:
    case HPE_LF_EXPECTED:
        fail(p, 400, "bare CR or LF line ending");
        return;
    case HPE_INVALID_URL:
        fail(p, 400, "invalid request target");
        return;
    case HPE_INVALID_METHOD:
        fail(p, 400, "invalid method");
        return;
    case HPE_INVALID_VERSION:
        fail(p, 400, "invalid HTTP version");
        return;
    case HPE_INVALID_CHUNK_SIZE:
        fail(p, 400, "invalid chunk size");
        return;
    case HPE_CLOSED_CONNECTION:
        fail(p, 400, "data after Connection: close");
        return;
    case HPE_PAUSED_H2_UPGRADE:
        fail(p, 505, "HTTP/2 not supported");
        return;
    default:
        snprintf(p->err_text, sizeof p->err_text, "malformed request: %s", why ? why : "?");
        fail(p, 400, p->err_text);
    }
}

/* Runs llhttp over data[0..n). Returns bytes used, or -1 on error. */
static ssize_t run(http_parser *p, const char *data, size_t n)
{
    llhttp_errno_t e = llhttp_execute(&p->ll, data, n);
    if (e == HPE_OK && !p->err_status) return (ssize_t)n;
    if (e == HPE_PAUSED && p->trailer_pause && !p->err_status) {
        size_t used = (size_t)(llhttp_get_error_pos(&p->ll) - data);
        llhttp_resume(&p->ll);
        p->trailer_pause = false;
        p->in_trailers = true;
        p->sc_prev = '\n'; /* the scan restarts as if after the request line */
        p->sc_line = 0;
        p->sc_lines = 1;
        p->sc_end = false;
        return (ssize_t)used;
    }
    if (e == HPE_PAUSED && p->complete && !p->err_status) {
        size_t used = (size_t)(llhttp_get_error_pos(&p->ll) - data);
        llhttp_resume(&p->ll);
        return (ssize_t)used;
    }
    if (!p->err_status) map_llhttp_error(p, e);
    return -1;
}

ssize_t http_parser_feed(http_parser *p, const char *data, size_t len, http_request **out)
{
    *out = NULL;
    if (p->err_status) return -1;
    if (p->returned) next_request(p);
    size_t off = 0;
    while (off < len) {
        size_t n = len - off;
        if (!p->headers_done) {
            if (p->header_budget == 0) {
                fail_limit(p, 431, "header section larger than %zu bytes", p->lim.max_header_bytes);
                return -1;
            }
            if (n > p->header_budget) n = p->header_budget;
        }
        bool headers_before = p->headers_done;
        const char *bad = NULL;
        if (!p->headers_done || p->in_trailers) n = scan_head(p, data + off, n, &bad);
        ssize_t used = run(p, data + off, n);
        if (used < 0) return -1;
        if (bad) {
            fail(p, 400, bad);
            return -1;
        }
        if (!headers_before && !p->headers_done) p->header_budget -= (size_t)used;
        off += (size_t)used;
        if (p->complete) {
            p->returned = true;
            *out = &p->req;
            break;
        }
    }
    if (!p->headers_done && p->started && p->header_budget == 0 && !*out) {
        fail_limit(p, 431, "header section larger than %zu bytes", p->lim.max_header_bytes);
        return -1;
    }
    if (p->scratch.overflow || p->hdrs.overflow) {
        fail_limit(p, 431, "header section larger than %zu bytes", p->lim.max_header_bytes);
        return -1;
    }
    return (ssize_t)off;
}

bool http_parser_take_continue(http_parser *p)
{
    bool c = p->continue_pending;
    p->continue_pending = false;
    return c;
}

char *http_parser_body_room(http_parser *p, size_t min, size_t *len)
{
    if (!p->headers_done || p->complete || p->returned || p->err_status || p->req.chunked ||
        p->ll.content_length < min || !p->body.data)
        return NULL;
    size_t room = p->body.cap - p->body.len - 1; /* the 1: the NUL put after the body */
    if (p->body.cap <= p->body.len || room < min) return NULL;
    if (room > p->ll.content_length) room = (size_t)p->ll.content_length;
    *len = room;
    return p->body.data + p->body.len;
}

bool http_parser_busy(const http_parser *p)
{
    return p->started && !p->complete;
}

const char *http_parser_error(const http_parser *p, int *status)
{
    if (status) *status = p->err_status;
    return p->err_status ? p->err_reason : NULL;
}

const char *http_header_getn(const http_request *req, const char *name, size_t n)
{
    for (size_t i = 0; i < req->header_count; i++)
        if (req->headers[i].name_len == n && ieq_lower(name, req->headers[i].name, n))
            return req->headers[i].value;
    return NULL;
}

char *http_request_take_body(http_parser *p, size_t *len)
{
    if (!p->complete || p->body.len == 0) {
        if (len) *len = 0;
        return mcp_xstrndup("", 0);
    }
    char *s = mcp_buf_steal(&p->body, len);
    p->req.body = "";
    p->req.body_len = 0;
    return s;
}

/* ---- response side ----------------------------------------------------------------------------
 */

const char *http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static bool safe_text(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n') return false;
    return true;
}

int http_write_status_line_and_headers(mcp_buf *b, int status, const char *reason,
                                       const http_field *fields, size_t nfields, long long body_len)
{
    if (status < 100 || status > 999) return -1;
    if (!reason) reason = http_reason(status);
    if (!safe_text(reason)) return -1;
    for (size_t i = 0; i < nfields; i++)
        if (!*fields[i].name || !safe_text(fields[i].name) || !safe_text(fields[i].value))
            return -1;
    char code[3] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10)};
    mcp_buf_append(b, "HTTP/1.1 ", 9);
    mcp_buf_append(b, code, 3);
    mcp_buf_putc(b, ' ');
    mcp_buf_puts(b, reason);
    mcp_buf_append(b, "\r\n", 2);
    for (size_t i = 0; i < nfields; i++) {
        mcp_buf_puts(b, fields[i].name);
        mcp_buf_append(b, ": ", 2);
        mcp_buf_puts(b, fields[i].value);
        mcp_buf_append(b, "\r\n", 2);
    }
    if (body_len >= 0) {
        mcp_buf_append(b, "Content-Length: ", 16);
        mcp_buf_put_u64(b, (uint64_t)body_len);
        mcp_buf_append(b, "\r\n", 2);
    } else if (body_len == HTTP_BODY_CHUNKED)
        mcp_buf_puts(b, "Transfer-Encoding: chunked\r\n");
    mcp_buf_append(b, "\r\n", 2);
    return 0;
}

void http_write_chunk(mcp_buf *b, const void *data, size_t len)
{
    if (!len) return;
    mcp_buf_put_hex(b, len);
    mcp_buf_append(b, "\r\n", 2);
    mcp_buf_append(b, data, len);
    mcp_buf_append(b, "\r\n", 2);
}

void http_write_last_chunk(mcp_buf *b)
{
    mcp_buf_append(b, "0\r\n\r\n", 5);
}

void http_write_error(mcp_buf *b, int status, const char *text)
{
    static const http_field f[] = {{"Content-Type", "text/plain; charset=utf-8"},
                                   {"Connection", "close"}};
    size_t n = strlen(text);
    if (http_write_status_line_and_headers(b, status, NULL, f, 2, (long long)n + 1) == 0) {
        mcp_buf_append(b, text, n);
        mcp_buf_putc(b, '\n');
    }
}
