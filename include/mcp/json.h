/* json.h - libmcp's public JSON: read parsed values, parse text, write text, validate against a
 * JSON Schema.
 *
 * Everything a program needs to read a tool's arguments, build structured content or a custom
 * result, and check a document against a schema, without libmcp's internal headers.
 *
 * Values. An mcp_json is a read-only parsed JSON value. Values handed to a handler (arguments,
 * capabilities, _meta, answers to questions) live as long as the handler's ctx; values of a
 * document from mcp_json_parse() live until mcp_json_doc_free(). No function here takes
 * ownership of a value. Every reader accepts NULL and then returns the "absent" answer (type
 * MCP_JSON_ABSENT, NULL, false, 0), so lookups chain without checks:
 *     int64_t n; if (mcp_json_int(mcp_json_get(args, "count"), &n)) ...
 * Strings are UTF-8, NUL-terminated, and may contain NUL: use the length when it matters.
 * Integers that fit in int64 are exact; other numbers are doubles.
 *
 * Threads. A parsed value is immutable and may be read from any thread while it lives. A writer
 * or a document is used by one thread at a time. A compiled schema may validate from any number
 * of threads at once.
 *
 * Errors. Functions that can fail return NULL or false and fill an mcp_json_error (may be NULL)
 * with a line, a column and a reason; nothing here aborts except on out-of-memory. */
#ifndef MCP_JSON_PUBLIC_H
#define MCP_JSON_PUBLIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mcp_json mcp_json;

typedef enum mcp_json_type {
    MCP_JSON_ABSENT = -1, /* a NULL value: the member or item does not exist */
    MCP_JSON_NULL = 0,
    MCP_JSON_BOOL,
    MCP_JSON_INT,    /* an integer literal that fits in int64 */
    MCP_JSON_DOUBLE, /* any other number */
    MCP_JSON_STRING,
    MCP_JSON_ARRAY,
    MCP_JSON_OBJECT,
} mcp_json_type;

/* ---- reading ------------------------------------------------------------------------------- */
/* The value's type; MCP_JSON_ABSENT for NULL. */
mcp_json_type mcp_json_typeof(const mcp_json *v);
/* "null", "boolean", "integer", "number", "string", "array", "object", or "absent" (for
 * messages). Static strings. */
const char *mcp_json_type_name(const mcp_json *v);

/* The string's bytes (NUL-terminated, valid while v lives) and, if len is not NULL, its length;
 * NULL if v is not a string. */
const char *mcp_json_str(const mcp_json *v, size_t *len);
/* Stores an integer and returns true if v is a number with an integral value that fits in
 * int64 (3 and 3.0 do; 3.5 and 1e300 don't); otherwise returns false and leaves *out alone. */
bool mcp_json_int(const mcp_json *v, int64_t *out);
/* Stores a number (integers converted) and returns true if v is a number. */
bool mcp_json_double(const mcp_json *v, double *out);
/* Stores a boolean and returns true if v is true or false. */
bool mcp_json_bool(const mcp_json *v, bool *out);
/* True if v is JSON null (false for NULL: an absent value is not null). */
bool mcp_json_is_null(const mcp_json *v);

/* Items of an array or members of an object; 0 for anything else. */
size_t mcp_json_len(const mcp_json *v);
/* Item i of an array, or NULL. */
const mcp_json *mcp_json_at(const mcp_json *arr, size_t i);
/* The value of member key of an object, or NULL. getn takes a key with a length (keys may
 * contain NUL). */
const mcp_json *mcp_json_get(const mcp_json *obj, const char *key);
const mcp_json *mcp_json_getn(const mcp_json *obj, const char *key, size_t keylen);
/* Member i of an object, in document order: returns its value and stores its key (and the key's
 * length when keylen is not NULL); NULL if obj is not an object or i is out of range.
 *     for (size_t i = 0; i < mcp_json_len(obj); i++) {
 *         const char *k; const mcp_json *v = mcp_json_member(obj, i, &k, NULL); ... } */
const mcp_json *mcp_json_member(const mcp_json *obj, size_t i, const char **key, size_t *keylen);

/* Deep equality as JSON Schema defines it (1 == 1.0; member order ignored). False if either
 * is absent. */
bool mcp_json_equal(const mcp_json *a, const mcp_json *b);

/* Compact JSON text of v, NUL-terminated, malloc'd: the caller frees it with free(). Stores the
 * length in *len when len is not NULL. NULL for an absent value. */
char *mcp_json_text(const mcp_json *v, size_t *len);

/* ---- parsing ------------------------------------------------------------------------------- */
typedef struct mcp_json_error {
    size_t offset;     /* byte offset of the problem in the input */
    unsigned line;     /* 1-based */
    unsigned column;   /* 1-based, in bytes */
    char message[160]; /* e.g. "expected ',' or '}' after an object member" */
} mcp_json_error;

/* Parse flags. */
/* Also accept // and block comments wherever whitespace may stand, and one trailing comma
 * before a closing ']' or '}' (config files). */
#define MCP_JSON_RELAXED 0x1u
#define MCP_JSON_DUPLICATE_KEYS 0x2u /* accept duplicate member names (the last one wins in get) */

typedef struct mcp_json_doc mcp_json_doc;

/* Parses text[0..len) (RFC 8259, strict unless flags relax it; depth at most 128, input at most
 * 64 MiB). Returns a document, or NULL with *err filled (err may be NULL). Free it with
 * mcp_json_doc_free(); its values live until then. Any thread. */
mcp_json_doc *mcp_json_parse(const char *text, size_t len, unsigned flags, mcp_json_error *err);
/* The document's root value (never NULL for a document). */
const mcp_json *mcp_json_root(const mcp_json_doc *doc);
/* Frees the document and every value in it. NULL is fine. */
void mcp_json_doc_free(mcp_json_doc *doc);

/* Finds where the value at JSON Pointer `pointer` (RFC 6901, "" for the root, e.g.
 * "/tools/2/timeout_ms") starts in text[0..len), parsed with flags: stores its position in
 * *pos (offset, line, column; message empty) and returns true; false if the text does not parse
 * or has no such value. For error messages about a document that was parsed from text (e.g.
 * "config.json:14:7: /tools/2/timeout_ms: expected integer"). Any thread. */
bool mcp_json_locate(const char *text, size_t len, unsigned flags, const char *pointer,
                     mcp_json_error *pos);

/* ---- writing ------------------------------------------------------------------------------- */
/* A writer builds compact JSON text. It places commas and colons; strings are escaped
 * correctly (quotes, backslashes, control characters, U+2028/2029); invalid UTF-8 in a string
 * is a mistake. A mistake (a key outside an object, a value where a key is due, unbalanced
 * ends, nesting past 256, invalid UTF-8) makes the writer fail: later calls do nothing and
 * mcp_jw_text() returns NULL, so one check at the end suffices. */
typedef struct mcp_jw mcp_jw;

/* Returns a new, empty writer (its text has no size cap). Free with mcp_jw_free() (NULL is
 * fine). Aborts on out-of-memory. */
mcp_jw *mcp_jw_new(void);
void mcp_jw_free(mcp_jw *w);
/* Empties the writer for reuse (also clears a failure). */
void mcp_jw_reset(mcp_jw *w);

void mcp_jw_object(mcp_jw *w);     /* { */
void mcp_jw_object_end(mcp_jw *w); /* } */
void mcp_jw_array(mcp_jw *w);      /* [ */
void mcp_jw_array_end(mcp_jw *w);  /* ] */
/* A member name inside an object; the next call writes its value. */
void mcp_jw_key(mcp_jw *w, const char *key);
void mcp_jw_keyn(mcp_jw *w, const char *key, size_t len);
void mcp_jw_string(mcp_jw *w, const char *s); /* NULL writes null */
void mcp_jw_stringn(mcp_jw *w, const char *s, size_t len);
void mcp_jw_int(mcp_jw *w, int64_t v);
void mcp_jw_double(mcp_jw *w, double v); /* shortest text that round-trips; NaN, inf: null */
void mcp_jw_bool(mcp_jw *w, bool v);
void mcp_jw_null(mcp_jw *w);
/* Copies a parsed value; an absent one (NULL) is a mistake. */
void mcp_jw_value(mcp_jw *w, const mcp_json *v);
/* Inserts JSON text as one value, as given (its spacing kept); it is parsed first (strict,
 * depth at most 128), and a writer given bad text fails. */
void mcp_jw_raw(mcp_jw *w, const char *json, size_t len);

/* The text written so far, NUL-terminated, valid until the next call on w; stores its length in
 * *len when len is not NULL. NULL if the writer failed or the text is not complete (an object or
 * array still open, a key without its value). */
const char *mcp_jw_text(const mcp_jw *w, size_t *len);
/* Why the writer failed (a static string, e.g. "a member name outside an object"), or NULL if
 * it has not (an incomplete text is not a failure). */
const char *mcp_jw_error(const mcp_jw *w);

/* ---- JSON Schema (2020-12) ----------------------------------------------------------------- */
typedef struct mcp_schema mcp_schema;

/* Compiles schema text (draft 2020-12; "format" is an annotation). Returns the schema, or NULL
 * with a reason in err[errsize] (err may be NULL), e.g. "/properties/a/minimum: expected a
 * number". Free with mcp_schema_free(). Any thread. */
mcp_schema *mcp_schema_compile(const char *schema, size_t len, char *err, size_t errsize);
void mcp_schema_free(mcp_schema *s);

/* One reason an instance failed. The strings live until the callback returns. */
typedef struct mcp_schema_error {
    const char *instance_path; /* JSON Pointer into the instance, "" for the root */
    const char *keyword_path;  /* JSON Pointer into the schema, e.g. "/properties/port/maximum" */
    const char *message;       /* e.g. "70000 is greater than the maximum 65535" */
} mcp_schema_error;

/* Called once per error found; return false to stop early. */
typedef bool (*mcp_schema_error_fn)(const mcp_schema_error *e, void *ud);

/* Validates v against s (an absent v is validated as JSON null). Returns true if it is valid;
 * otherwise false, after calling on_error (may be NULL) for each error found (at most 8). False
 * for a NULL s. Any thread, concurrently. */
bool mcp_schema_validate(const mcp_schema *s, const mcp_json *v, mcp_schema_error_fn on_error,
                         void *ud);

#ifdef __cplusplus
}
#endif
#endif
