/* json.h - strict RFC 8259 JSON: parse into an arena DOM, write into a buffer, look things up.
 *
 * Parsing takes a byte buffer with a length (NUL bytes are data) and builds a DOM in an arena
 * that the caller frees at once. The parser is iterative (no recursion per nesting level) and
 * bounded by json_limits; every rejection carries a byte offset, line, column and a reason.
 * Strings are decoded (escapes resolved) and NUL-terminated in the arena, and may contain NUL.
 * Objects keep member order; duplicate member names are rejected unless the caller allows
 * them. Integers that fit in int64 are exact (JSON_INT); every other number is a double
 * (JSON_DOUBLE). Both keep their original text for round-tripping.
 *
 * Threads: a DOM is immutable after parse and may be read from any thread while its arena
 * lives. Parsing and writing touch only the arguments. */
#ifndef MCP_JSON_H
#define MCP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

typedef enum json_type {
    JSON_NULL = 0,
    JSON_BOOL,
    JSON_INT,    /* integer literal (no fraction, no exponent) that fits in int64 */
    JSON_DOUBLE, /* any other number */
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

/* The DOM node is the public mcp_json (include/mcp/json.h) without a copy: the same struct. */
typedef struct mcp_json json_value;
typedef struct json_member json_member;

struct mcp_json {
    uint8_t type; /* json_type */
    bool b;       /* JSON_BOOL */
    uint32_t len; /* STRING: bytes; ARRAY: items; OBJECT: members; numbers: text length */
    union {
        struct {
            union {
                int64_t i; /* JSON_INT */
                double d;  /* JSON_DOUBLE (may be +-inf for literals out of range) */
            };
            const char *text; /* original literal, NUL-terminated, len bytes */
        } num;
        const char *str;       /* JSON_STRING: decoded UTF-8, NUL-terminated, len bytes */
        json_value *items;     /* JSON_ARRAY: len values */
        json_member *members;  /* JSON_OBJECT: len members, in document order */
    } u;
};

struct json_member {
    const char *key; /* decoded, NUL-terminated */
    uint32_t key_len;
    json_value value;
};

/* A zero field means "use the default". */
typedef struct json_limits {
    uint32_t max_depth;      /* nesting of arrays/objects; default 128 */
    uint32_t max_string;     /* bytes of one decoded string or key; default 8 MiB */
    uint32_t max_members;    /* items of one array or members of one object; default 1 000 000 */
    size_t max_size;         /* bytes of input; default 64 MiB */
    bool allow_duplicate_keys; /* default false: {"a":1,"a":2} is an error */
    bool relaxed;              /* also accept comments and trailing commas (config files) */
} json_limits;

/* The defaults above. */
extern const json_limits json_default_limits;

typedef struct json_error {
    size_t offset; /* byte offset of the problem in the input */
    uint32_t line; /* 1-based */
    uint32_t col;  /* 1-based, in bytes */
    char msg[120]; /* short reason, e.g. "invalid escape '\\x' in string" */
} json_error;

/* Parses buf[0..len) into a DOM allocated in arena. limits may be NULL (defaults).
 * Returns the root value (in the arena), or NULL with *err filled (err may be NULL).
 * A leading UTF-8 BOM is rejected (RFC 8259 8.1: MUST NOT add, MAY ignore; we refuse).
 * Nothing is allocated outside the arena. Any thread. */
json_value *json_parse(const char *buf, size_t len, mcp_arena *arena, const json_limits *limits,
                       json_error *err);

/* Formats err as "line L, column C (byte O): msg" into out[size]. Returns out. */
const char *json_error_str(const json_error *err, char *out, size_t size);

/* ---- writer ------------------------------------------------------------------------------------
 * A streaming writer into an mcp_buf. Commas and colons are placed for the caller; strings are
 * escaped ("\"", "\\", control characters as \n \t ... or \u00XX; U+2028/2029 as \u2028/\u2029
 * so output is safe inside JavaScript; other UTF-8 passes through). Integers are exact; doubles
 * are written in the shortest form that round-trips (%.17g fallback), NaN/inf as null.
 * The writer does not validate nesting beyond its own depth stack (JSON_WRITER_MAX_DEPTH);
 * misuse sets w->error. Output errors (the buffer's cap) show as buf->overflow. */
#define JSON_WRITER_MAX_DEPTH 256

typedef struct json_writer {
    mcp_buf *buf;
    uint32_t depth;
    bool pretty;  /* two-space indentation, newline after each element */
    bool error;   /* misuse: unbalanced end, key outside object, too deep */
    uint8_t need_comma[JSON_WRITER_MAX_DEPTH + 1]; /* per level: an element was written */
    uint8_t in_object[JSON_WRITER_MAX_DEPTH + 1];
    bool after_key; /* a key was written, its value comes next */
} json_writer;

void json_writer_init(json_writer *w, mcp_buf *buf, bool pretty);
void json_write_obj_begin(json_writer *w);
void json_write_obj_end(json_writer *w);
void json_write_arr_begin(json_writer *w);
void json_write_arr_end(json_writer *w);
/* Writes a member name inside an object; the next write is its value. */
void json_write_key(json_writer *w, const char *key, size_t len);
void json_write_keyz(json_writer *w, const char *key); /* NUL-terminated key */
void json_write_str(json_writer *w, const char *s, size_t len);
void json_write_strz(json_writer *w, const char *s);
void json_write_int(json_writer *w, int64_t v);
void json_write_uint(json_writer *w, uint64_t v);
void json_write_double(json_writer *w, double v);
void json_write_bool(json_writer *w, bool v);
void json_write_null(json_writer *w);
/* Writes pre-encoded JSON text as one value, unchecked (the caller vouches for it). */
void json_write_raw(json_writer *w, const char *json, size_t len);
/* Writes a DOM value; numbers use their original text when they have one. */
void json_write_value(json_writer *w, const json_value *v);
/* Writes a base64 string value of bin[0..len) (for image/audio/blob content). */
void json_write_base64(json_writer *w, const void *bin, size_t len);

/* Appends v as compact JSON to buf. Returns 0, or -1 if buf overflowed its cap. */
int json_serialize(mcp_buf *buf, const json_value *v, bool pretty);

/* Appends the escaped string body (no quotes) of s[0..len) to buf. */
void json_escape_into(mcp_buf *buf, const char *s, size_t len);

/* ---- lookup ------------------------------------------------------------------------------------
 * Helpers for the shapes MCP uses. They never fail on a wrong type: they return NULL/false and,
 * for the typed getters with an err buffer, say what was expected and what was found, e.g.
 * "params.name: expected string, got number". */

/* Returns the value of member key in obj, or NULL (also when obj is not an object).
 * Linear scan for small objects, which is what MCP messages have. json_get is inline so that
 * a literal key's length is known at compile time (no strlen per lookup). */
const json_value *json_getn(const json_value *obj, const char *key, size_t key_len);
static inline const json_value *json_get(const json_value *obj, const char *key)
{
    return json_getn(obj, key, __builtin_strlen(key));
}
/* Returns item i of an array, or NULL. */
const json_value *json_at(const json_value *arr, size_t i);
/* "null", "boolean", "integer", "number", "string", "array", "object" (for messages). */
const char *json_type_name(const json_value *v);

static inline bool json_is_string(const json_value *v) { return v && v->type == JSON_STRING; }
static inline bool json_is_object(const json_value *v) { return v && v->type == JSON_OBJECT; }
static inline bool json_is_array(const json_value *v) { return v && v->type == JSON_ARRAY; }
static inline bool json_is_number(const json_value *v)
{
    return v && (v->type == JSON_INT || v->type == JSON_DOUBLE);
}
/* Numeric value as a double (JSON_INT converted). 0 for non-numbers. */
double json_number(const json_value *v);
/* Stores v's value and returns true if v is an integer, or a double with an integral value in
 * int64 range (as in JSON Schema: 3.0 is 3); false otherwise (*out untouched). */
bool json_int_value(const json_value *v, int64_t *out);

/* Typed getters. Each looks up key in obj; on success stores the value and returns 1; if the
 * member is absent returns 0 and leaves *out alone; if present with the wrong type returns -1
 * and writes "<ctx>.<key>: expected T, got U" to err[errsize] (err may be NULL). */
int json_get_str(const json_value *obj, const char *key, const char **out, size_t *len,
                 const char *ctx, char *err, size_t errsize);
int json_get_int(const json_value *obj, const char *key, int64_t *out, const char *ctx, char *err,
                 size_t errsize);
int json_get_bool(const json_value *obj, const char *key, bool *out, const char *ctx, char *err,
                  size_t errsize);
int json_get_obj(const json_value *obj, const char *key, const json_value **out, const char *ctx,
                 char *err, size_t errsize);
int json_get_arr(const json_value *obj, const char *key, const json_value **out, const char *ctx,
                 char *err, size_t errsize);

/* Deep equality as JSON Schema defines it: numbers compare by value (1 == 1.0), objects
 * irrespective of member order, strings bytewise. */
bool json_equal(const json_value *a, const json_value *b);

/* Deep copy of v into arena (strings and number texts copied). */
json_value *json_clone(const json_value *v, mcp_arena *arena);

#endif
