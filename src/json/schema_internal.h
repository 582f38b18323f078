/* schema_internal.h - the compiled form of a JSON Schema, shared by the compiler
 * (schema_compile.c) and the validator (schema.c). Not a public header.
 *
 * A compiled schema is a graph of snodes in the schema's own arena. Each snode is one schema
 * object (or a boolean schema) and holds a short array of keyword operations (kwop), sorted so
 * that cheap checks run first and unevaluatedProperties/unevaluatedItems run last. Subschemas
 * and resolved $refs are plain pointers to other snodes, so recursive schemas are cycles in the
 * graph. Nothing points into the source DOM. */
#ifndef MCP_JSON_SCHEMA_INTERNAL_H
#define MCP_JSON_SCHEMA_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "json/schema.h"

/* Instance type bits. A keyword applies only to the instance types in its mask, so the
 * validator skips e.g. minLength for a number with one test. T_INT is used by "type" only. */
enum {
    T_NULL = 1,
    T_BOOL = 2,
    T_NUM = 4,
    T_STR = 8,
    T_ARR = 16,
    T_OBJ = 32,
    T_ANY = 63,
    T_INT = 64,
};

enum { N_SCHEMA = 0, N_TRUE, N_FALSE };

/* snode.flags: the node has unevaluatedProperties / unevaluatedItems and so must collect the
 * evaluated members/items of its instance from its in-place applicators. */
enum { NF_UNEVAL_P = 1, NF_UNEVAL_I = 2 };

/* Keyword operations, in the order they are evaluated within a node (see kw_rank). */
enum {
    K_TYPE,
    K_CONST,
    K_ENUM,
    K_MULTIPLE,
    K_MIN,
    K_MAX,
    K_XMIN,
    K_XMAX,
    K_MINLEN,
    K_MAXLEN,
    K_PATTERN,
    K_MINITEMS,
    K_MAXITEMS,
    K_UNIQUE,
    K_MINPROPS,
    K_MAXPROPS,
    K_PROPS,
    K_REQUIRED,
    K_DEPREQ,
    K_PATPROPS,
    K_ADDPROPS,
    K_PROPNAMES,
    K_PREFIX,
    K_ITEMS,
    K_CONTAINS,
    K_DEPSCHEMAS,
    K_ALLOF,
    K_ANYOF,
    K_ONEOF,
    K_NOT,
    K_IF,
    K_REF,
    K_DYNREF,
    K_UNEVALPROPS,
    K_UNEVALITEMS,
};

typedef struct snode snode;

/* A schema resource (the document root or a subschema with $id): the unit of $dynamicRef
 * scoping. dyn lists its $dynamicAnchors. */
typedef struct sdyn {
    const char *name;
    const snode *node;
    const struct sdyn *next;
} sdyn;

typedef struct sres {
    const char *uri;
    const sdyn *dyn;
} sres;

/* A number from the schema: exact int64 when the literal was one, its text for messages and
 * for exact decimal multipleOf. */
typedef struct snum {
    double d;
    int64_t i;
    bool is_int;
    const char *text;
} snum;

typedef struct sprop {
    const char *name;
    uint32_t len;
    const snode *node;
} sprop;

/* "properties": names in schema order; with more than 8, an open-addressing hash index. */
typedef struct sprops {
    uint32_t n;
    uint32_t hmask; /* index size - 1, 0 when there is no index */
    const sprop *v;
    const uint32_t *index; /* slot -> property number + 1, 0 = empty */
} sprops;

typedef struct spat {
    pcre2_code *re;
    const char *src; /* the pattern text, for messages */
    const snode *node;
} spat;

/* "required" (and each list of "dependentRequired"). When every name is also one of the
 * node's first 64 "properties", the properties pass records which were seen and required
 * becomes a mask test. */
typedef struct sreq {
    uint32_t n;
    bool use_mask;
    uint64_t mask;
    const char *const *names;
    const uint32_t *lens;
    const char *key; /* dependentRequired: the property that triggers the list */
    uint32_t key_len;
} sreq;

typedef struct kwop {
    uint8_t op;       /* K_* */
    uint8_t types;    /* instance types the keyword applies to */
    uint32_t n;       /* list length; K_ITEMS: number of prefixItems */
    const char *name; /* keyword, for the schema path of errors */
    union {
        uint32_t mask;  /* K_TYPE */
        uint64_t count; /* min/max Length/Items/Properties */
        const snum *num;
        const json_value *val;     /* K_CONST; K_ENUM: an array */
        const spat *pat;           /* K_PATTERN (node unused); K_PATPROPS: n patterns */
        const sprops *props;       /* K_PROPS */
        const sreq *req;           /* K_REQUIRED: one; K_DEPREQ: n */
        const sprop *deps;         /* K_DEPSCHEMAS: n */
        const snode *node;         /* single subschema; K_REF */
        const snode *const *nodes; /* K_PREFIX, K_ALLOF/ANYOF/ONEOF: n */
        const struct sadd *add;    /* K_ADDPROPS */
        const struct scontains *contains;
        const struct site *ite; /* K_IF */
        const struct sdynref *dyn;
    } u;
} kwop;

typedef struct sadd {
    const snode *node;
    const sprops *props; /* the sibling "properties", or NULL */
    const spat *pats;    /* the sibling "patternProperties" */
    uint32_t npats;
} sadd;

typedef struct scontains {
    const snode *node;
    uint64_t min, max;           /* minContains (default 1), maxContains (default UINT64_MAX) */
    const char *min_kw, *max_kw; /* keyword to blame in errors */
} scontains;

typedef struct site {
    const snode *if_, *then_, *else_;
} site;

typedef struct sdynref {
    const snode *node;  /* static target */
    const char *anchor; /* dynamic anchor name to look up in the dynamic scope */
} sdynref;

struct snode {
    const kwop *kw;
    uint16_t nkw;
    uint8_t kind;  /* N_* */
    uint8_t flags; /* NF_* */
    const sres *res;
    const char *path; /* schema location, JSON pointer ("" root) or "uri#pointer" */
};

typedef struct schema_regex {
    pcre2_code *re;
    struct schema_regex *next;
} schema_regex;

struct json_schema {
    mcp_arena arena; /* every snode, kwop, string and cloned value */
    const snode *root;
    uint64_t max_steps;
    uint32_t max_errors;
    bool has_dynref;       /* track the dynamic scope only when some $dynamicRef needs it */
    schema_regex *regexes; /* compiled patterns, freed with the schema */
    /* A flat root (schema_flat_setup): "type": "object" or none, "properties" whose subschemas
     * are true, false or one "type", "required" names among them, "additionalProperties"
     * true or false, nothing else. A valid instance of such a schema is recognised in one pass
     * over its members (what every tool's argument schema of a few typed fields is); anything
     * else, or a failure, goes through the full validator, which reports the errors. */
    const sprops *flat_props; /* NULL: the root is not flat */
    uint64_t flat_required;   /* bits of flat_props that must be present */
    bool flat_closed;         /* additionalProperties false */
    bool flat_object;         /* "type": "object" (else a non-object is valid) */
};

/* Looks at the compiled root of s and, when it is flat, fills s->flat_* (schema.c). */
void schema_flat_setup(json_schema *s);

/* FNV-1a: the "properties" index is built with it at compile time and probed at validation. */
static inline uint32_t schema_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* ---- URI references (schema_uri.c), RFC 3986 ------------------------------------------------ */

/* Resolves ref against base (section 5.2.2 with dot-segment removal). base may be "" (no base:
 * ref is returned normalized). Returns a string in a. */
char *schema_uri_resolve(mcp_arena *a, const char *base, const char *ref);
/* Splits uri at '#': returns the part before it (in a) and points *frag at the fragment ("" if
 * none). */
char *schema_uri_split(mcp_arena *a, const char *uri, const char **frag);
/* Percent-decodes s[0..n) into a NUL-terminated string in a; *out_len gets its length.
 * Returns NULL on a malformed escape. */
char *schema_uri_unescape(mcp_arena *a, const char *s, size_t n, size_t *out_len);

#endif
