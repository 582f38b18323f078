/* json_locate.c - where in a document's text a JSON Pointer's value starts (line and column),
 * so that messages about a parsed document (a config file) can point at the right place.
 *
 * The DOM keeps no positions (it would cost every request 8 bytes per value), so locating
 * walks the text a second time: the document is parsed first (which proves the text is valid
 * under the same limits), the DOM says which member or item each pointer token selects (by
 * index, so escapes in names and duplicate names need no second decoder), and a small scanner
 * skips that many values in the text. The scanner trusts the parse: it only tracks strings,
 * comments (relaxed mode) and bracket depth. */
#include "json/json.h"

#include <stdlib.h>
#include <string.h>

typedef struct walker {
    const char *p, *end;
    bool relaxed;
} walker;

static void skip_space(walker *w)
{
    for (;;) {
        while (w->p < w->end && (*w->p == ' ' || *w->p == '\n' || *w->p == '\r' || *w->p == '\t'))
            w->p++;
        if (!w->relaxed || w->end - w->p < 2 || w->p[0] != '/') return;
        if (w->p[1] == '/') {
            const char *nl = memchr(w->p, '\n', (size_t)(w->end - w->p));
            w->p = nl ? nl + 1 : w->end;
        } else if (w->p[1] == '*') {
            const char *q = w->p + 2;
            while (q + 1 < w->end && !(q[0] == '*' && q[1] == '/')) q++;
            w->p = q + 2 <= w->end ? q + 2 : w->end;
        } else {
            return;
        }
    }
}

static void skip_string(walker *w)
{
    for (w->p++; w->p < w->end && *w->p != '"'; w->p++)
        if (*w->p == '\\') w->p++;
    if (w->p < w->end) w->p++;
}

/* Skips the value at w->p (whitespace before it already skipped). */
static void skip_value(walker *w)
{
    size_t depth = 0;
    do {
        skip_space(w);
        if (w->p >= w->end) return;
        char c = *w->p;
        if (c == '"') {
            skip_string(w);
        } else if (c == '[' || c == '{') {
            depth++;
            w->p++;
        } else if (c == ']' || c == '}') {
            depth--;
            w->p++;
        } else {
            w->p++;
            while (w->p < w->end && !strchr(",]}: \t\r\n/\"", *w->p)) w->p++;
        }
    } while (depth > 0);
}

/* Moves from the '[' or '{' at w->p to the start of entry i (its name for an object). */
static void enter_entry(walker *w, size_t i, bool is_obj)
{
    w->p++;
    for (size_t k = 0; k < i; k++) {
        skip_space(w);
        if (is_obj) {
            skip_string(w); /* the name */
            skip_space(w);
            w->p++; /* ':' */
            skip_space(w);
        }
        skip_value(w);
        skip_space(w);
        w->p++; /* ',' */
    }
    skip_space(w);
    if (is_obj) {
        skip_string(w);
        skip_space(w);
        w->p++;
    }
    skip_space(w);
}

/* Decodes the next reference token of pointer (~1 is '/', ~0 is '~') into a malloc'd
 * string; advances *pp past it. */
static char *next_token(const char **pp, size_t *len)
{
    const char *s = *pp + 1, *e = strchr(s, '/');
    if (!e) e = s + strlen(s);
    char *t = malloc((size_t)(e - s) + 1), *o = t;
    if (!t) abort();
    for (const char *q = s; q < e; q++) {
        if (*q == '~' && q + 1 < e && (q[1] == '0' || q[1] == '1')) {
            *o++ = q[1] == '0' ? '~' : '/';
            q++;
        } else {
            *o++ = *q;
        }
    }
    *o = '\0';
    *len = (size_t)(o - t);
    *pp = e;
    return t;
}

/* The index selected by token in v (an array index or the last member with that name), or
 * -1 if there is none. */
static long select_entry(const json_value *v, const char *tok, size_t tl)
{
    if (v->type == JSON_ARRAY) {
        char *endp;
        if (tl == 0 || (tl > 1 && tok[0] == '0') || tok[0] < '0' || tok[0] > '9') return -1;
        unsigned long i = strtoul(tok, &endp, 10);
        return *endp || i >= v->len ? -1 : (long)i;
    }
    if (v->type != JSON_OBJECT) return -1;
    for (size_t i = v->len; i-- > 0;)
        if (v->u.members[i].key_len == tl && memcmp(v->u.members[i].key, tok, tl) == 0)
            return (long)i;
    return -1;
}

bool json_locate(const char *buf, size_t len, const json_limits *limits, const char *pointer,
                 json_error *pos)
{
    mcp_arena arena;
    mcp_arena_init(&arena, NULL, 0);
    const json_value *v = json_parse(buf, len, &arena, limits, NULL);
    walker w = {.p = buf, .end = buf + len, .relaxed = limits && limits->relaxed};
    bool found = v != NULL && pointer != NULL && (*pointer == '\0' || *pointer == '/');
    if (found) skip_space(&w);
    for (const char *pp = pointer; found && *pp;) {
        size_t tl;
        char *tok = next_token(&pp, &tl);
        long i = select_entry(v, tok, tl);
        free(tok);
        if (i < 0) {
            found = false;
            break;
        }
        bool is_obj = v->type == JSON_OBJECT;
        v = is_obj ? &v->u.members[i].value : &v->u.items[i];
        enter_entry(&w, (size_t)i, is_obj);
    }
    mcp_arena_free(&arena);
    if (!found || !pos) return found;
    const char *ls = buf;
    unsigned line = 1;
    for (const char *q = buf; (q = memchr(q, '\n', (size_t)(w.p - q))) != NULL; q++) {
        line++;
        ls = q + 1;
    }
    pos->offset = (size_t)(w.p - buf);
    pos->line = line;
    pos->col = (uint32_t)(w.p - ls) + 1;
    pos->msg[0] = '\0';
    return true;
}
