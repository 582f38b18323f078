/* frontmatter.c - reads the YAML frontmatter of a SKILL.md into JSON, with libyaml.
 *
 * The block between the opening "---" line and the first line that is "---" plus blanks is
 * handed to libyaml's event parser (syntax: block and flow maps and lists, every scalar
 * style, comments, multi-line values, escapes). The events are walked once, recursively, and
 * written as JSON while they arrive. What libyaml leaves to its user is decided here:
 *
 * - Plain scalars resolve as the YAML 1.2 core schema does (the reading the conformance
 *   suite's `yaml` package makes; libyaml itself resolves nothing): null, booleans and decimal
 *   integers become JSON null, true, false and numbers; forms whose JSON would be ambiguous
 *   (floats, octal, hex, .inf, leading zeros, beyond 2^53) are refused with advice to quote
 *   them. Quoted and block scalars are strings.
 * - Refused: anchors and aliases (libyaml does not expand aliases, and refusing them rules out
 *   "billion laughs" expansion), tags, keys that are not strings, duplicate keys, NUL in a
 *   value, more than one document, a root that is not a map.
 * - Bounded: the block's size, nesting depth, keys per map and nodes in all (frontmatter.h).
 *
 * Errors name the SKILL.md line. See docs/internals/skills.md. */
#include "mcp/ext/frontmatter.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/alloc.h"
#include "json/json.h"
#include "mcp/mcp.h"

#define MAX_DESCRIPTION 1024

typedef enum { V_STR, V_NULL, V_TRUE, V_FALSE, V_INT } vtype;

typedef struct fm {
    yaml_parser_t parser;
    yaml_event_t ev; /* the current event; has_ev says whether it needs deleting */
    bool has_ev;
    json_writer *w;
    size_t nodes;
    fm_result *out;
    char *err;
    size_t errsize;
} fm;

static int fm_seterr(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fm_seterr(char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return MCP_EINVAL;
}

/* Reports msg at the current event's line (line 1 of the block is line 2 of SKILL.md). */
static int fm_err(fm *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fm_err(fm *f, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fm_seterr(f->err, f->errsize, "SKILL.md: line %zu: %s", f->ev.start_mark.line + 2, msg);
}

/* Moves to the next event. */
static int fm_next(fm *f)
{
    if (f->has_ev) yaml_event_delete(&f->ev);
    f->has_ev = yaml_parser_parse(&f->parser, &f->ev) != 0;
    if (f->has_ev) return 0;
    const yaml_parser_t *p = &f->parser;
    return fm_seterr(f->err, f->errsize, "SKILL.md: line %zu: %s%s%s", p->problem_mark.line + 2,
                     p->problem ? p->problem : "invalid YAML", p->context ? " " : "",
                     p->context ? p->context : "");
}

/* ---- plain scalars: the YAML 1.2 core schema ---------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    if (!n) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static bool one_of(const char *s, size_t n, const char *const *words)
{
    for (; *words; words++)
        if (strlen(*words) == n && !memcmp(*words, s, n)) return true;
    return false;
}

/* True if s[0..n) is a YAML 1.2 core float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
 * with a '.' or an exponent, or one of the .inf / .nan spellings. */
static bool yaml_float(const char *s, size_t n)
{
    static const char *const special[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", NULL};
    size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (one_of(s + i, n - i, special)) return i == 0 || s[i + 1] != 'n';
    size_t d0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    size_t ints = i - d0, fracs = 0;
    bool dot = i < n && s[i] == '.', exp = false;
    if (dot) {
        size_t f0 = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        fracs = i - f0;
    }
    if (!ints && !fracs) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) i++;
        size_t e0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        exp = i > e0;
        if (!exp) return false;
    }
    return i == n && (dot || exp) && (ints || !dot || fracs);
}

/* The type of the current scalar event. */
static int fm_resolve(fm *f, vtype *t)
{
    const char *s = (const char *)f->ev.data.scalar.value;
    size_t n = f->ev.data.scalar.length;
    if (memchr(s, '\0', n)) return fm_err(f, "a NUL character in a value is not supported");
    if (f->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return *t = V_STR, 0;
    static const char *const nulls[] = {"", "null", "Null", "NULL", "~", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    if (one_of(s, n, nulls)) return *t = V_NULL, 0;
    if (one_of(s, n, trues)) return *t = V_TRUE, 0;
    if (one_of(s, n, falses)) return *t = V_FALSE, 0;
    size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (all_digits(s + sign, n - sign)) {
        if ((s[sign] == '0' && (n - sign > 1 || sign)) || n - sign > 15)
            return fm_err(f, "'%.*s' is a YAML integer JSON cannot carry as written; quote it",
                          (int)n, s);
        return *t = V_INT, 0;
    }
    bool radix = n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x');
    for (size_t i = 2; radix && i < n; i++)
        radix = strchr(s[1] == 'o' ? "01234567" : "0123456789abcdefABCDEF", s[i]) != NULL;
    if (radix || yaml_float(s, n))
        return fm_err(f, "'%.*s' is a YAML number; quote it to keep it a string", (int)n, s);
    return *t = V_STR, 0;
}

/* ---- the walk -------------------------------------------------------------------------------- */

static int fm_node(fm *f, int depth);

/* Refuses what the current node-starting event carries that we do not support, and counts it. */
static int fm_check_node(fm *f, int depth)
{
    const yaml_event_t *e = &f->ev;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    if (e->type == YAML_ALIAS_EVENT)
        return fm_err(f, "aliases (*%s) are not supported", (const char *)e->data.alias.anchor);
    if (e->type == YAML_SCALAR_EVENT)
        anchor = e->data.scalar.anchor, tag = e->data.scalar.tag;
    else if (e->type == YAML_SEQUENCE_START_EVENT)
        anchor = e->data.sequence_start.anchor, tag = e->data.sequence_start.tag;
    else if (e->type == YAML_MAPPING_START_EVENT)
        anchor = e->data.mapping_start.anchor, tag = e->data.mapping_start.tag;
    else
        return fm_err(f, "unexpected YAML event");
    if (anchor) return fm_err(f, "anchors (&%s) are not supported", (const char *)anchor);
    if (tag) return fm_err(f, "tags (%s) are not supported", (const char *)tag);
    if (++f->nodes > FM_MAX_NODES) return fm_err(f, "more than %d values", FM_MAX_NODES);
    if (depth > FM_MAX_DEPTH) return fm_err(f, "nested more than %d deep", FM_MAX_DEPTH);
    return 0;
}

static int fm_scalar(fm *f)
{
    vtype t;
    if (fm_resolve(f, &t)) return MCP_EINVAL;
    const char *s = (const char *)f->ev.data.scalar.value;
    size_t n = f->ev.data.scalar.length;
    switch (t) {
    case V_STR:
        json_write_str(f->w, s, n);
        break;
    case V_NULL:
        json_write_null(f->w);
        break;
    case V_TRUE:
    case V_FALSE:
        json_write_bool(f->w, t == V_TRUE);
        break;
    case V_INT:
        if (s[0] == '+') s++, n--;
        json_write_raw(f->w, s, n);
        break;
    }
    return 0;
}

static int fm_seq(fm *f, int depth)
{
    json_write_arr_begin(f->w);
    for (;;) {
        if (fm_next(f)) return MCP_EINVAL;
        if (f->ev.type == YAML_SEQUENCE_END_EVENT) break;
        if (fm_node(f, depth + 1)) return MCP_EINVAL;
    }
    json_write_arr_end(f->w);
    return 0;
}

typedef struct key_set {
    char *k[FM_MAX_KEYS];
    size_t n;
} key_set;

/* Reads the current event as a map key: a string scalar, new in this map. */
static int fm_key(fm *f, int depth, key_set *seen)
{
    if (fm_check_node(f, depth)) return MCP_EINVAL;
    if (f->ev.type != YAML_SCALAR_EVENT) return fm_err(f, "map keys must be strings");
    vtype t;
    if (fm_resolve(f, &t)) return MCP_EINVAL;
    const char *s = (const char *)f->ev.data.scalar.value;
    size_t n = f->ev.data.scalar.length;
    if (t != V_STR) return fm_err(f, "key '%.*s' is not a string in YAML; quote it", (int)n, s);
    for (size_t i = 0; i < seen->n; i++)
        if (strlen(seen->k[i]) == n && !memcmp(seen->k[i], s, n))
            return fm_err(f, "duplicate key '%.*s'", (int)n, s);
    if (seen->n == FM_MAX_KEYS) return fm_err(f, "more than %d keys in a map", FM_MAX_KEYS);
    seen->k[seen->n++] = mcp_xstrndup(s, n);
    json_write_key(f->w, s, n);
    return 0;
}

/* Keeps a top-level name or description that is a string (the current event is its value). */
static void fm_keep(fm *f, const char *key)
{
    char **dst = !strcmp(key, "name")          ? &f->out->name
                 : !strcmp(key, "description") ? &f->out->description
                                               : NULL;
    vtype t;
    if (!dst || f->ev.type != YAML_SCALAR_EVENT || fm_resolve(f, &t) || t != V_STR) return;
    *dst = mcp_xstrndup((const char *)f->ev.data.scalar.value, f->ev.data.scalar.length);
}

static int fm_map(fm *f, int depth)
{
    key_set seen = {.n = 0};
    int rc = 0;
    json_write_obj_begin(f->w);
    for (;;) {
        if ((rc = fm_next(f))) break;
        if (f->ev.type == YAML_MAPPING_END_EVENT) break;
        if ((rc = fm_key(f, depth + 1, &seen)) || (rc = fm_next(f))) break;
        if (depth == 0) fm_keep(f, seen.k[seen.n - 1]);
        if ((rc = fm_node(f, depth + 1))) break;
    }
    for (size_t i = 0; i < seen.n; i++) free(seen.k[i]);
    if (!rc) json_write_obj_end(f->w);
    return rc;
}

/* Writes the node whose first event is the current one; leaves its last event current. */
static int fm_node(fm *f, int depth)
{
    if (fm_check_node(f, depth)) return MCP_EINVAL;
    switch (f->ev.type) {
    case YAML_SCALAR_EVENT:
        return fm_scalar(f);
    case YAML_SEQUENCE_START_EVENT:
        return fm_seq(f, depth);
    default:
        return fm_map(f, depth);
    }
}

/* The whole stream: nothing (an empty map), or one document whose root is a map. */
static int fm_stream(fm *f)
{
    if (fm_next(f) || fm_next(f)) return MCP_EINVAL; /* STREAM-START, then the document */
    if (f->ev.type == YAML_STREAM_END_EVENT) {
        json_write_obj_begin(f->w);
        json_write_obj_end(f->w);
        return 0;
    }
    if (fm_next(f)) return MCP_EINVAL;
    if (f->ev.type != YAML_MAPPING_START_EVENT)
        return fm_err(f, "the frontmatter must be a map of 'key: value' lines");
    if (fm_node(f, 0) || fm_next(f)) return MCP_EINVAL; /* DOCUMENT-END */
    if (fm_next(f)) return MCP_EINVAL;
    if (f->ev.type != YAML_STREAM_END_EVENT)
        return fm_err(f, "more than one YAML document in the frontmatter");
    return 0;
}

/* Finds the block: *start and *end bound its text, without the '---' lines. */
static int fm_block(const char *md, size_t len, size_t *start, size_t *end, char *err,
                    size_t errsize)
{
    size_t pos;
    if (len >= 4 && !memcmp(md, "---\n", 4))
        pos = 4;
    else if (len >= 5 && !memcmp(md, "---\r\n", 5))
        pos = 5;
    else
        return fm_seterr(err, errsize, "SKILL.md: must begin with a '---' line (frontmatter)");
    *start = pos;
    while (pos < len) {
        const char *s = md + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        if (n >= 3 && !memcmp(s, "---", 3)) {
            size_t d = 3;
            while (d < n && (s[d] == ' ' || s[d] == '\t' || s[d] == '\r')) d++;
            if (d == n) {
                *end = pos;
                return pos - *start > FM_MAX_BYTES
                           ? fm_seterr(err, errsize, "SKILL.md: the frontmatter is over %u bytes",
                                       FM_MAX_BYTES)
                           : 0;
            }
        }
        pos += n + (nl != NULL);
    }
    return fm_seterr(err, errsize, "SKILL.md: the frontmatter has no closing '---'");
}

/* The Agent Skills name rule: ^(?!.*--)[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$ */
static bool skill_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--")) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

int fm_parse(const char *md, size_t len, mcp_buf *json, fm_result *out, char *err, size_t errsize)
{
    size_t start = 0, end = 0;
    if (fm_block(md, len, &start, &end, err, errsize)) return MCP_EINVAL;
    json_writer w;
    json_writer_init(&w, json, false);
    fm f = {.w = &w, .out = out, .err = err, .errsize = errsize};
    if (!yaml_parser_initialize(&f.parser)) mcp_oom(sizeof f.parser);
    yaml_parser_set_encoding(&f.parser, YAML_UTF8_ENCODING);
    yaml_parser_set_input_string(&f.parser, (const unsigned char *)md + start, end - start);
    int rc = fm_stream(&f);
    if (f.has_ev) yaml_event_delete(&f.ev);
    yaml_parser_delete(&f.parser);
    if (rc) return rc;
    if (!out->name || !skill_name_ok(out->name))
        return fm_seterr(err, errsize,
                         "SKILL.md: name: required, 1-64 characters of [a-z0-9-] without leading, "
                         "trailing or consecutive hyphens");
    size_t dl = out->description ? strlen(out->description) : 0;
    if (!dl || dl > MAX_DESCRIPTION)
        return fm_seterr(err, errsize, "SKILL.md: description: required, 1-%d characters",
                         MAX_DESCRIPTION);
    return 0;
}
