/* ptmpl.c - prompt templates (see ptmpl.h for the syntax).
 *
 * Compiling turns the text into a flat list of nodes: literal text (offsets into a copy of the
 * template), a variable (an argument index), a section start (argument index, negated or not,
 * and the index of its end node), a section end, a role change. Rendering walks the list once,
 * jumping past a section whose condition fails, appending to a growing buffer that is checked
 * against the caller's cap before every append, and hands each finished message to a callback.
 * Nothing is evaluated: the only decisions are "given or not", so a template cannot loop,
 * recurse or run anything, and values are copied verbatim. */
#include "ptmpl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 8

typedef enum { N_TEXT, N_VAR, N_IF, N_END, N_ROLE } node_kind;

typedef struct {
    node_kind kind;
    bool neg;        /* N_IF: {{^name}} */
    size_t arg;      /* N_VAR, N_IF */
    size_t off, len; /* N_TEXT: into text; N_ROLE: 0 user, 1 assistant in off */
    size_t end;      /* N_IF: index of its N_END */
} node;

struct ptmpl {
    char *text;
    node *nodes;
    size_t n, cap;
};

static void add(ptmpl *t, node nd)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->nodes = realloc(t->nodes, t->cap * sizeof(*t->nodes));
        if (!t->nodes) abort();
    }
    t->nodes[t->n++] = nd;
}

/* Writes "LINE:COL: reason" for position pos of text into err; returns NULL. */
static ptmpl *fail(ptmpl *t, const char *text, size_t pos, char *err, size_t errsize,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static ptmpl *fail(ptmpl *t, const char *text, size_t pos, char *err, size_t errsize,
                   const char *fmt, ...)
{
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n')
            line++, col = 1;
        else
            col++;
    }
    if (err && errsize) {
        int k = snprintf(err, errsize, "%u:%u: ", line, col);
        va_list ap;
        va_start(ap, fmt);
        if (k >= 0 && (size_t)k < errsize) vsnprintf(err + k, errsize - (size_t)k, fmt, ap);
        va_end(ap);
    }
    ptmpl_free(t);
    return NULL;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static long find_arg(const char *const *names, size_t nnames, const char *s, size_t len)
{
    for (size_t i = 0; i < nnames; i++)
        if (strlen(names[i]) == len && !memcmp(names[i], s, len)) return (long)i;
    return -1;
}

static void declared_list(const char *const *names, size_t nnames, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < nnames && o + 4 < size; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "", names[i]);
    if (!nnames) snprintf(out, size, "none");
}

ptmpl *ptmpl_compile(const char *text, size_t len, const char *const *names, size_t nnames,
                     char *err, size_t errsize)
{
    ptmpl *t = calloc(1, sizeof *t);
    if (!t || !(t->text = malloc(len + 1))) abort();
    memcpy(t->text, text, len);
    t->text[len] = '\0';
    size_t stack[MAX_DEPTH], depth = 0, lit = 0, i = 0;
    while (i < len) {
        if (text[i] == '\\' && len - i >= 3 && text[i + 1] == '{' && text[i + 2] == '{') {
            if (i > lit) add(t, (node){.kind = N_TEXT, .off = lit, .len = i - lit});
            add(t, (node){.kind = N_TEXT, .off = i + 1, .len = 2});
            lit = i = i + 3;
            continue;
        }
        if (!(text[i] == '{' && i + 1 < len && text[i + 1] == '{')) {
            i++;
            continue;
        }
        size_t open = i;
        const char *close = NULL;
        for (size_t j = i + 2; j + 1 < len; j++)
            if (text[j] == '}' && text[j + 1] == '}') {
                close = text + j;
                break;
            }
        if (!close) return fail(t, text, open, err, errsize, "'{{' without its '}}'");
        if (open > lit) add(t, (node){.kind = N_TEXT, .off = lit, .len = open - lit});
        const char *s = text + open + 2, *e = close;
        lit = i = (size_t)(close - text) + 2;
        if (*s == '!') continue;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        char sigil = (*s == '#' || *s == '^' || *s == '/' || *s == '@') ? *s++ : 0;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        size_t nl = (size_t)(e - s);
        for (size_t k = 0; k < nl; k++)
            if (!name_char(s[k]))
                return fail(t, text, (size_t)(s - text) + k, err, errsize,
                            "unexpected character '%c' in a tag (names are letters, digits, "
                            "'_', '-', '.')",
                            s[k]);
        if (!nl) return fail(t, text, open, err, errsize, "empty tag");
        if (sigil == '@') {
            bool user = nl == 4 && !memcmp(s, "user", 4);
            if (!user && !(nl == 9 && !memcmp(s, "assistant", 9)))
                return fail(t, text, open, err, errsize,
                            "unknown role '%.*s' (expected {{@user}} or {{@assistant}})", (int)nl,
                            s);
            if (depth)
                return fail(t, text, open, err, errsize, "a role tag cannot be inside a section");
            add(t, (node){.kind = N_ROLE, .off = user ? 0 : 1});
            continue;
        }
        long arg = find_arg(names, nnames, s, nl);
        if (arg < 0) {
            char decl[256];
            declared_list(names, nnames, decl, sizeof decl);
            return fail(t, text, open, err, errsize, "unknown argument '%.*s' (declared: %s)",
                        (int)nl, s, decl);
        }
        if (sigil == '#' || sigil == '^') {
            if (depth == MAX_DEPTH)
                return fail(t, text, open, err, errsize, "sections nest deeper than %d", MAX_DEPTH);
            stack[depth++] = t->n;
            add(t, (node){.kind = N_IF, .neg = sigil == '^', .arg = (size_t)arg});
        } else if (sigil == '/') {
            if (!depth)
                return fail(t, text, open, err, errsize, "{{/%.*s}} closes no section", (int)nl, s);
            node *o = &t->nodes[stack[depth - 1]];
            if (o->arg != (size_t)arg)
                return fail(t, text, open, err, errsize, "{{/%.*s}} closes {{%c%s}}", (int)nl, s,
                            o->neg ? '^' : '#', names[o->arg]);
            o->end = t->n;
            depth--;
            add(t, (node){.kind = N_END});
        } else {
            add(t, (node){.kind = N_VAR, .arg = (size_t)arg});
        }
    }
    if (depth) {
        size_t at = stack[depth - 1];
        return fail(t, text, len, err, errsize, "{{%c%s}} is never closed",
                    t->nodes[at].neg ? '^' : '#', names[t->nodes[at].arg]);
    }
    if (len > lit) add(t, (node){.kind = N_TEXT, .off = lit, .len = len - lit});
    return t;
}

void ptmpl_free(ptmpl *t)
{
    if (!t) return;
    free(t->nodes);
    free(t->text);
    free(t);
}

typedef struct {
    const char *role;
    size_t start; /* where the current message starts in buf */
} msg;

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int ptmpl_render(const ptmpl *t, const char *const *values, size_t max_bytes, ptmpl_message_fn fn,
                 void *ud)
{
    /* first pass: the text and the message boundaries into one buffer */
    size_t cap = 256, n = 0, nmsg = 0, msgcap = 4;
    char *buf = malloc(cap);
    msg *msgs = malloc(msgcap * sizeof(*msgs));
    if (!buf || !msgs) abort();
    msgs[nmsg++] = (msg){"user", 0};
    for (size_t i = 0; i < t->n; i++) {
        const node *nd = &t->nodes[i];
        const char *src = NULL;
        size_t sl = 0;
        switch (nd->kind) {
        case N_TEXT:
            src = t->text + nd->off, sl = nd->len;
            break;
        case N_VAR:
            src = values[nd->arg] ? values[nd->arg] : "";
            sl = strlen(src);
            break;
        case N_IF: {
            bool given = values[nd->arg] && values[nd->arg][0];
            if (given == nd->neg) i = nd->end;
            continue;
        }
        case N_END:
            continue;
        case N_ROLE:
            if (nmsg == msgcap) {
                msgs = realloc(msgs, (msgcap *= 2) * sizeof(*msgs));
                if (!msgs) abort();
            }
            msgs[nmsg++] = (msg){nd->off ? "assistant" : "user", n};
            continue;
        }
        if (sl > max_bytes - n) {
            free(buf);
            free(msgs);
            return -1;
        }
        if (n + sl > cap) {
            while (n + sl > cap) cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) abort();
        }
        memcpy(buf + n, src, sl);
        n += sl;
    }
    for (size_t m = 0; m < nmsg; m++) {
        size_t start = msgs[m].start, end = m + 1 < nmsg ? msgs[m + 1].start : n;
        while (start < end && space(buf[start])) start++;
        while (end > start && space(buf[end - 1])) end--;
        if (end > start) fn(msgs[m].role, buf + start, end - start, ud);
    }
    free(buf);
    free(msgs);
    return 0;
}
