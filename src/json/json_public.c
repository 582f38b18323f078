/* json_public.c - include/mcp/json.h over the internal JSON modules: the public reader, parser,
 * writer and schema validator that programs outside libmcp use.
 *
 * mcp_json is the internal DOM node itself (src/json/json.h names its struct mcp_json), so a
 * value handed to a handler is read in place, never copied. A public document is an arena and
 * its root. The public writer wraps the internal streaming writer with the checks a program
 * needs when it, not libmcp, decides the shape: each mistake (a key outside an object, a value
 * where a key is due, an unbalanced end, nesting past 256, invalid UTF-8, bad raw text) is
 * caught before the internal writer sees it and recorded with a reason; after the first one
 * the writer ignores everything until reset. The internal writer replaces invalid UTF-8 by
 * U+FFFD, which is right for text libmcp relays but would hide a program's bug, so the public
 * writer refuses it. The text is kept NUL-terminated after every call so that mcp_jw_text()
 * can stay a const reader. mcp_json_locate re-walks the text of a document that parsed,
 * guided by the DOM (member i of an object in the DOM is member i in the text), to find where
 * a JSON Pointer's value starts. */
#include <mcp/json.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "json/json.h"
#include "json/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)MCP_JSON_NULL == JSON_NULL && (int)MCP_JSON_BOOL == JSON_BOOL &&
                   (int)MCP_JSON_INT == JSON_INT && (int)MCP_JSON_DOUBLE == JSON_DOUBLE &&
                   (int)MCP_JSON_STRING == JSON_STRING && (int)MCP_JSON_ARRAY == JSON_ARRAY &&
                   (int)MCP_JSON_OBJECT == JSON_OBJECT,
               "public and internal JSON types must agree");

/* ---- reading ------------------------------------------------------------------------------- */

mcp_json_type mcp_json_typeof(const mcp_json *v)
{
    return v ? (mcp_json_type)v->type : MCP_JSON_ABSENT;
}

const char *mcp_json_type_name(const mcp_json *v)
{
    return v ? json_type_name(v) : "absent";
}

const char *mcp_json_str(const mcp_json *v, size_t *len)
{
    if (!v || v->type != JSON_STRING) return NULL;
    if (len) *len = v->len;
    return v->u.str;
}

bool mcp_json_int(const mcp_json *v, int64_t *out)
{
    int64_t n;
    if (!json_int_value(v, &n)) return false;
    if (out) *out = n;
    return true;
}

bool mcp_json_double(const mcp_json *v, double *out)
{
    if (!json_is_number(v)) return false;
    if (out) *out = json_number(v);
    return true;
}

bool mcp_json_bool(const mcp_json *v, bool *out)
{
    if (!v || v->type != JSON_BOOL) return false;
    if (out) *out = v->b;
    return true;
}

bool mcp_json_is_null(const mcp_json *v)
{
    return v && v->type == JSON_NULL;
}

size_t mcp_json_len(const mcp_json *v)
{
    return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->len : 0;
}

const mcp_json *mcp_json_at(const mcp_json *arr, size_t i)
{
    return json_at(arr, i);
}

/* Scans from the end so that, in a document parsed with MCP_JSON_DUPLICATE_KEYS, the last of
 * several equal names wins (as in JavaScript); without duplicates the order does not matter. */
static long find_member(const mcp_json *obj, const char *key, size_t keylen)
{
    if (!obj || obj->type != JSON_OBJECT || !key) return -1;
    for (uint32_t i = obj->len; i-- > 0;) {
        const json_member *m = &obj->u.members[i];
        if (m->key_len == keylen && memcmp(m->key, key, keylen) == 0) return (long)i;
    }
    return -1;
}

const mcp_json *mcp_json_getn(const mcp_json *obj, const char *key, size_t keylen)
{
    long i = find_member(obj, key, keylen);
    return i < 0 ? NULL : &obj->u.members[i].value;
}

const mcp_json *mcp_json_get(const mcp_json *obj, const char *key)
{
    return key ? mcp_json_getn(obj, key, strlen(key)) : NULL;
}

const mcp_json *mcp_json_member(const mcp_json *obj, size_t i, const char **key, size_t *keylen)
{
    if (!obj || obj->type != JSON_OBJECT || i >= obj->len) return NULL;
    const json_member *m = &obj->u.members[i];
    if (key) *key = m->key;
    if (keylen) *keylen = m->key_len;
    return &m->value;
}

bool mcp_json_equal(const mcp_json *a, const mcp_json *b)
{
    return a && b && json_equal(a, b);
}

char *mcp_json_text(const mcp_json *v, size_t *len)
{
    if (!v) return NULL;
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    json_serialize(&b, v, false);
    return mcp_buf_steal(&b, len);
}

/* ---- parsing ------------------------------------------------------------------------------- */

struct mcp_json_doc {
    mcp_arena arena;
    const json_value *root;
    _Alignas(16) char first[]; /* the arena's first block, for a small document */
};

/* A small document's DOM (its strings, about 32 bytes a value) fits in about twice its text:
 * that much comes with the document's own allocation, so parsing a small answer (an upstream's
 * JSON body, say) makes one malloc, not two. Past FIRST_MAX the arena grows on its own. */
#define FIRST_MAX 4096

static json_limits limits_for(unsigned flags)
{
    json_limits lim = json_default_limits;
    lim.allow_duplicate_keys = (flags & MCP_JSON_DUPLICATE_KEYS) != 0;
    lim.relaxed = (flags & MCP_JSON_RELAXED) != 0;
    return lim;
}

static void set_error(mcp_json_error *err, const json_error *je)
{
    if (!err) return;
    err->offset = je->offset;
    err->line = je->line;
    err->column = je->col;
    snprintf(err->message, sizeof err->message, "%s", je->msg);
}

mcp_json_doc *mcp_json_parse(const char *text, size_t len, unsigned flags, mcp_json_error *err)
{
    json_limits lim = limits_for(flags);
    json_error je = {0};
    size_t first = len <= (FIRST_MAX - 256) / 2 ? (2 * len + 256 + 15) & ~(size_t)15 : 0;
    mcp_json_doc *d = mcp_xmalloc(sizeof *d + first);
    mcp_arena_init(&d->arena, first ? d->first : NULL, first);
    d->root = json_parse(text, len, &d->arena, &lim, &je);
    if (!d->root) {
        set_error(err, &je);
        mcp_json_doc_free(d);
        return NULL;
    }
    if (err) memset(err, 0, sizeof *err);
    return d;
}

const mcp_json *mcp_json_root(const mcp_json_doc *doc)
{
    return doc ? doc->root : NULL;
}

void mcp_json_doc_free(mcp_json_doc *doc)
{
    if (!doc) return;
    mcp_arena_free(&doc->arena);
    free(doc);
}

/* ---- locating a value in text -------------------------------------------------------------- */

/* The walk below runs over text that parsed, so it only needs to know where things end. */
static const char *skip_ws(const char *p, const char *end, bool relaxed)
{
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
        if (!relaxed || end - p < 2 || p[0] != '/') return p;
        if (p[1] == '/') {
            while (p < end && *p != '\n') p++;
        } else if (p[1] == '*') {
            const char *q = p + 2;
            while (end - q >= 2 && !(q[0] == '*' && q[1] == '/')) q++;
            p = end - q >= 2 ? q + 2 : end;
        } else {
            return p;
        }
    }
}

static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end && *p != '"'; p++)
        if (*p == '\\') p++;
    return p < end ? p + 1 : end;
}

static const char *skip_value(const char *p, const char *end, bool relaxed)
{
    int depth = 0;
    do {
        p = skip_ws(p, end, relaxed);
        if (p >= end) return end;
        char c = *p;
        if (c == '"') {
            p = skip_string(p, end);
        } else if (c == '{' || c == '[') {
            depth++;
            p++;
        } else if (c == '}' || c == ']') {
            depth--;
            p++;
        } else if (c == ',' || c == ':') {
            p++;
        } else {
            while (p < end && strchr("+-.0123456789eEtruefalsn", *p) && *p) p++;
        }
    } while (depth > 0);
    return p;
}

/* Decodes the next segment of a JSON Pointer (RFC 6901: ~1 is '/', ~0 is '~') into seg.
 * Returns its length, or -1 if it is too long or has a bad escape. */
static long next_segment(const char **ptr, char *seg, size_t size)
{
    const char *s = *ptr + 1; /* past the '/' */
    size_t n = 0;
    for (; *s && *s != '/'; s++) {
        char c = *s;
        if (c == '~') {
            if (s[1] != '0' && s[1] != '1') return -1;
            c = *++s == '0' ? '~' : '/';
        }
        if (n + 1 >= size) return -1;
        seg[n++] = c;
    }
    seg[n] = '\0';
    *ptr = s;
    return (long)n;
}

static bool array_index(const char *seg, size_t n, size_t *out)
{
    if (n == 0 || n > 10 || (n > 1 && seg[0] == '0')) return false;
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (seg[i] < '0' || seg[i] > '9') return false;
        v = v * 10 + (size_t)(seg[i] - '0');
    }
    *out = v;
    return true;
}

/* Moves p from the start of a container to the start of its item (or member value) i. */
static const char *enter(const char *p, const char *end, size_t i, bool is_obj, bool relaxed)
{
    p++; /* past '{' or '[' */
    for (size_t j = 0;; j++) {
        p = skip_ws(p, end, relaxed);
        if (is_obj) {
            p = skip_ws(skip_string(p, end), end, relaxed);
            p = skip_ws(p + 1, end, relaxed); /* past ':' */
        }
        if (j == i) return p;
        p = skip_ws(skip_value(p, end, relaxed), end, relaxed);
        p++; /* past ',' */
    }
}

bool mcp_json_locate(const char *text, size_t len, unsigned flags, const char *pointer,
                     mcp_json_error *pos)
{
    if (!text || !pointer || (*pointer && *pointer != '/')) return false;
    mcp_json_doc *d = mcp_json_parse(text, len, flags, NULL);
    if (!d) return false;
    bool relaxed = (flags & MCP_JSON_RELAXED) != 0, found = true;
    const char *end = text + len, *p = skip_ws(text, end, relaxed);
    const json_value *cur = d->root;
    char seg[512];
    while (*pointer && found) {
        long n = next_segment(&pointer, seg, sizeof seg);
        size_t i = 0;
        found = false;
        if (n < 0) break;
        if (cur->type == JSON_OBJECT) {
            long m = find_member(cur, seg, (size_t)n);
            if (m < 0) break;
            i = (size_t)m;
            cur = &cur->u.members[i].value;
        } else if (cur->type == JSON_ARRAY) {
            if (!array_index(seg, (size_t)n, &i) || i >= cur->len) break;
            cur = &cur->u.items[i];
        } else {
            break;
        }
        p = enter(p, end, i, *p == '{', relaxed);
        found = true;
    }
    mcp_json_doc_free(d);
    if (!found) return false;
    if (pos) {
        memset(pos, 0, sizeof *pos);
        pos->offset = (size_t)(p - text);
        pos->line = 1;
        pos->column = 1;
        for (const char *q = text; q < p; q++) {
            if (*q == '\n') {
                pos->line++;
                pos->column = 1;
            } else {
                pos->column++;
            }
        }
    }
    return true;
}

/* ---- writing ------------------------------------------------------------------------------- */

struct mcp_jw {
    mcp_buf buf;
    json_writer w;
    const char *error; /* the first mistake, or NULL */
    bool wrote;        /* a top-level value was started */
};

/* Keeps the text NUL-terminated (not counted in len) so that mcp_jw_text() only reads. */
static void terminate(mcp_jw *jw)
{
    if (mcp_buf_reserve(&jw->buf, 1) == 0) jw->buf.data[jw->buf.len] = '\0';
}

mcp_jw *mcp_jw_new(void)
{
    mcp_jw *jw = mcp_xcalloc(1, sizeof *jw);
    mcp_buf_init(&jw->buf, NULL, 0, 0);
    json_writer_init(&jw->w, &jw->buf, false);
    return jw;
}

void mcp_jw_free(mcp_jw *jw)
{
    if (!jw) return;
    mcp_buf_free(&jw->buf);
    free(jw);
}

void mcp_jw_reset(mcp_jw *jw)
{
    if (!jw) return;
    jw->buf.len = 0;
    jw->buf.overflow = false;
    json_writer_init(&jw->w, &jw->buf, false);
    jw->error = NULL;
    jw->wrote = false;
}

/* Records the first mistake; returns false so callers can `return fail(...)`. */
static bool fail(mcp_jw *jw, const char *why)
{
    if (!jw->error) jw->error = why;
    return false;
}

/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). */
static bool valid_utf8(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s, *end = u + len;
    while (u < end) {
        unsigned char c = *u;
        if (c < 0x80) {
            u++;
            continue;
        }
        int n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (end - u < n || u[1] < lo || u[1] > hi) return false;
        for (int i = 2; i < n; i++)
            if ((u[i] & 0xC0) != 0x80) return false;
        u += n;
    }
    return true;
}

/* Checks that a value may come now (after a key, as an array item, or as the one top-level
 * value). */
static bool value_ok(mcp_jw *jw)
{
    if (!jw || jw->error) return false;
    const json_writer *w = &jw->w;
    if (w->after_key) return true;
    if (w->in_object[w->depth]) return fail(jw, "a value where a member name is due");
    if (w->depth == 0 && jw->wrote) return fail(jw, "a second top-level value");
    if (w->depth == 0) jw->wrote = true;
    return true;
}

static void begin(mcp_jw *jw, bool is_obj)
{
    if (!value_ok(jw)) return;
    if (jw->w.depth >= JSON_WRITER_MAX_DEPTH) {
        fail(jw, "nesting deeper than 256");
        return;
    }
    if (is_obj)
        json_write_obj_begin(&jw->w);
    else
        json_write_arr_begin(&jw->w);
    terminate(jw);
}

static void end(mcp_jw *jw, bool is_obj)
{
    if (!jw || jw->error) return;
    const json_writer *w = &jw->w;
    if (w->depth == 0) {
        fail(jw, is_obj ? "an object end without its start" : "an array end without its start");
        return;
    }
    if (w->after_key) {
        fail(jw, "an end after a member name without its value");
        return;
    }
    if (w->in_object[w->depth] != is_obj) {
        fail(jw, is_obj ? "an object end inside an array" : "an array end inside an object");
        return;
    }
    if (is_obj)
        json_write_obj_end(&jw->w);
    else
        json_write_arr_end(&jw->w);
    terminate(jw);
}

void mcp_jw_object(mcp_jw *jw)
{
    begin(jw, true);
}

void mcp_jw_object_end(mcp_jw *jw)
{
    end(jw, true);
}

void mcp_jw_array(mcp_jw *jw)
{
    begin(jw, false);
}

void mcp_jw_array_end(mcp_jw *jw)
{
    end(jw, false);
}

void mcp_jw_keyn(mcp_jw *jw, const char *key, size_t len)
{
    if (!jw || jw->error) return;
    const json_writer *w = &jw->w;
    if (!key) {
        fail(jw, "a NULL member name");
        return;
    }
    if (w->after_key) {
        fail(jw, "a member name where a value is due");
        return;
    }
    if (w->depth == 0 || !w->in_object[w->depth]) {
        fail(jw, "a member name outside an object");
        return;
    }
    if (!valid_utf8(key, len)) {
        fail(jw, "invalid UTF-8 in a member name");
        return;
    }
    json_write_key(&jw->w, key, len);
    terminate(jw);
}

void mcp_jw_key(mcp_jw *jw, const char *key)
{
    mcp_jw_keyn(jw, key, key ? strlen(key) : 0);
}

void mcp_jw_stringn(mcp_jw *jw, const char *s, size_t len)
{
    if (!s) {
        mcp_jw_null(jw);
        return;
    }
    if (!jw || jw->error) return;
    if (!valid_utf8(s, len)) {
        fail(jw, "invalid UTF-8 in a string");
        return;
    }
    if (!value_ok(jw)) return;
    json_write_str(&jw->w, s, len);
    terminate(jw);
}

void mcp_jw_string(mcp_jw *jw, const char *s)
{
    mcp_jw_stringn(jw, s, s ? strlen(s) : 0);
}

void mcp_jw_int(mcp_jw *jw, int64_t v)
{
    if (!value_ok(jw)) return;
    json_write_int(&jw->w, v);
    terminate(jw);
}

void mcp_jw_double(mcp_jw *jw, double v)
{
    if (!value_ok(jw)) return;
    json_write_double(&jw->w, v);
    terminate(jw);
}

void mcp_jw_bool(mcp_jw *jw, bool v)
{
    if (!value_ok(jw)) return;
    json_write_bool(&jw->w, v);
    terminate(jw);
}

void mcp_jw_null(mcp_jw *jw)
{
    if (!value_ok(jw)) return;
    json_write_null(&jw->w);
    terminate(jw);
}

void mcp_jw_value(mcp_jw *jw, const mcp_json *v)
{
    if (!jw || jw->error) return;
    if (!v) {
        fail(jw, "an absent value given to mcp_jw_value");
        return;
    }
    if (!value_ok(jw)) return;
    json_write_value(&jw->w, v);
    if (jw->w.error) fail(jw, "nesting deeper than 256");
    terminate(jw);
}

void mcp_jw_raw(mcp_jw *jw, const char *json, size_t len)
{
    if (!jw || jw->error) return;
    mcp_arena a;
    char stack[1024];
    mcp_arena_init(&a, stack, sizeof stack);
    bool ok = json && json_parse(json, len, &a, NULL, NULL) != NULL;
    mcp_arena_free(&a);
    if (!ok) {
        fail(jw, "invalid JSON text given to mcp_jw_raw");
        return;
    }
    if (!value_ok(jw)) return;
    json_write_raw(&jw->w, json, len);
    terminate(jw);
}

const char *mcp_jw_text(const mcp_jw *jw, size_t *len)
{
    if (!jw || jw->error || !jw->wrote || jw->w.depth != 0 || jw->w.after_key || jw->buf.overflow)
        return NULL;
    if (len) *len = jw->buf.len;
    return jw->buf.data;
}

const char *mcp_jw_error(const mcp_jw *jw)
{
    if (!jw) return "no writer";
    return jw->error;
}

/* ---- JSON Schema --------------------------------------------------------------------------- */

struct mcp_schema {
    json_schema *s;
};

mcp_schema *mcp_schema_compile(const char *schema, size_t len, char *err, size_t errsize)
{
    mcp_arena a;
    mcp_arena_init(&a, NULL, 0);
    json_error je = {0};
    const json_value *dom = schema ? json_parse(schema, len, &a, NULL, &je) : NULL;
    json_schema *s = NULL;
    if (!dom) {
        if (err && errsize) {
            if (schema)
                snprintf(err, errsize, "line %u, column %u: %s", (unsigned)je.line,
                         (unsigned)je.col, je.msg);
            else
                snprintf(err, errsize, "no schema text");
        }
    } else {
        json_schema_error se;
        memset(&se, 0, sizeof se);
        s = json_schema_compile(dom, NULL, &se);
        if (!s && err && errsize) {
            if (se.schema_path[0])
                snprintf(err, errsize, "%s: %s", se.schema_path, se.msg);
            else
                snprintf(err, errsize, "%s", se.msg);
        }
    }
    mcp_arena_free(&a);
    if (!s) return NULL;
    mcp_schema *ps = mcp_xmalloc(sizeof *ps);
    ps->s = s;
    return ps;
}

void mcp_schema_free(mcp_schema *s)
{
    if (!s) return;
    json_schema_free(s->s);
    free(s);
}

bool mcp_schema_validate(const mcp_schema *s, const mcp_json *v, mcp_schema_error_fn on_error,
                         void *ud)
{
    if (!s) return false;
    if (!on_error) return json_schema_validate(s->s, v, NULL);
    json_schema_result *res = mcp_xmalloc(sizeof *res); /* 6 KiB: not on a handler's stack */
    bool ok = json_schema_validate(s->s, v, res);
    if (!ok && res->nerrors == 0) {
        mcp_schema_error e = {"", "", "validation stopped: the instance needs too much work"};
        on_error(&e, ud);
    }
    for (uint32_t i = 0; !ok && i < res->nerrors; i++) {
        const json_schema_error *je = &res->errors[i];
        mcp_schema_error e = {je->instance_path, je->schema_path, je->msg};
        if (!on_error(&e, ud)) break;
    }
    free(res);
    return ok;
}
