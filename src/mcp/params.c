/* params.c - a tool's parameters declared compactly (mcp_tool_def.params), turned into the
 * JSON Schema that tools/list shows and that arguments are validated against.
 *
 *     "city: string 'City name', days?: integer(1..7) = 3, tags?: string[]"
 * becomes
 *     {"type":"object","properties":{"city":{"type":"string","description":"City name"},
 *      "days":{"type":"integer","minimum":1,"maximum":7,"default":3},
 *      "tags":{"type":"array","items":{"type":"string"}}},"required":["city"]}
 *
 * Grammar (also in docs/guide.md):
 *     list   = [param *(sep param)]            sep = ',' | ';' | newline
 *     param  = name ['?'] ':' type ['=' default] [description]
 *     name   = 1-64 of [A-Za-z0-9_.-], starting with a letter or '_'
 *     type   = base ['(' constraint ')'] ['[]']
 *     base   = string | integer | number | boolean | object
 *     constraint = choices (string: a|b|c) | range (integer, number: [min]..[max])
 *     default = a bare token: a number or true/false for those types, a word for a string
 *     description = '...' (single quotes; '' is a quote)
 * Whitespace is free between tokens. '?' makes the parameter optional; the others are listed
 * in "required". A default is an annotation for clients; the handler's getter default is what
 * applies when the argument is absent. Anything the grammar cannot say takes a full
 * input_schema instead. Errors name the byte offset and what was expected. */
#include "mcp/ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#define MAX_PARAMS 128

typedef struct cursor {
    const char *start, *p;
    char *err;
    size_t errsize;
} cursor;

static int bad(cursor *c, const char *what)
{
    return srv_seterr(c->err, c->errsize, "params: at offset %zu: %s", (size_t)(c->p - c->start),
                      what);
}

static void skip_space(cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r') c->p++;
}

static bool name_char(char ch, bool first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (!first && ((ch >= '0' && ch <= '9') || ch == '.' || ch == '-'));
}

/* Reads [A-Za-z0-9_.-]+ into out; returns its length (0: none). */
static size_t word(cursor *c, char *out, size_t size)
{
    size_t n = 0;
    while (name_char(*c->p, n == 0) && n + 1 < size) out[n++] = *c->p++;
    out[n] = '\0';
    return n;
}

/* A bare token: up to whitespace, a separator, a quote or a bracket. */
static size_t token(cursor *c, const char **tok, const char *stops)
{
    *tok = c->p;
    while (*c->p && !strchr(stops, *c->p)) c->p++;
    return (size_t)(c->p - *tok);
}

/* Writes a number token as a JSON number of the base type; false if it is not one. */
static bool write_number(json_writer *w, const char *tok, size_t n, bool integer)
{
    char stack[256];
    mcp_arena a;
    mcp_arena_init(&a, stack, sizeof stack);
    const json_value *v = json_parse(tok, n, &a, NULL, NULL);
    bool ok = v && (integer ? v->type == JSON_INT : json_is_number(v));
    if (ok) json_write_raw(w, tok, n);
    mcp_arena_free(&a);
    return ok;
}

/* '(' constraint ')' for base: enum choices for strings, a range for numbers. */
static int constraint(cursor *c, json_writer *w, const char *base)
{
    c->p++; /* '(' */
    const char *tok;
    if (!strcmp(base, "string")) {
        json_write_keyz(w, "enum");
        json_write_arr_begin(w);
        for (;;) {
            skip_space(c);
            size_t n = token(c, &tok, "|)\n");
            while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t')) n--;
            if (!n) return bad(c, "expected a choice");
            json_write_str(w, tok, n);
            if (*c->p == ')') break;
            if (*c->p != '|') return bad(c, "expected '|' or ')' after a choice");
            c->p++;
        }
        json_write_arr_end(w);
    } else if (!strcmp(base, "integer") || !strcmp(base, "number")) {
        bool integer = base[0] == 'i';
        skip_space(c);
        size_t n = token(c, &tok, ". )\n");
        if (n && (json_write_keyz(w, "minimum"), !write_number(w, tok, n, integer)))
            return bad(c, "expected the minimum");
        skip_space(c);
        if (strncmp(c->p, "..", 2)) return bad(c, "expected '..' in a range");
        c->p += 2;
        skip_space(c);
        n = token(c, &tok, " )\n");
        if (n && (json_write_keyz(w, "maximum"), !write_number(w, tok, n, integer)))
            return bad(c, "expected the maximum");
        skip_space(c);
        if (*c->p != ')') return bad(c, "expected ')' after a range");
    } else {
        return bad(c, "only string (choices) and integer or number (a range) take '('");
    }
    c->p++; /* ')' */
    return 0;
}

/* '=' default, checked against the base type. */
static int default_value(cursor *c, json_writer *w, const char *base)
{
    c->p++; /* '=' */
    skip_space(c);
    const char *tok;
    size_t n = token(c, &tok, " \t\r\n,;'");
    if (!n) return bad(c, "expected a default value after '='");
    json_write_keyz(w, "default");
    if (!strcmp(base, "string")) {
        json_write_str(w, tok, n);
    } else if (!strcmp(base, "boolean")) {
        if (n == 4 && !memcmp(tok, "true", 4))
            json_write_bool(w, true);
        else if (n == 5 && !memcmp(tok, "false", 5))
            json_write_bool(w, false);
        else
            return bad(c, "a boolean default is true or false");
    } else if (!strcmp(base, "object") || !write_number(w, tok, n, base[0] == 'i')) {
        return bad(c, base[0] == 'o' ? "an object takes no default"
                                     : "the default is not a "
                                       "number of that type");
    }
    return 0;
}

/* '...' with '' for a quote. */
static int description(cursor *c, json_writer *w)
{
    char buf[1024];
    size_t n = 0;
    for (c->p++;; c->p++) {
        if (!*c->p) return bad(c, "unterminated description (a closing ' is missing)");
        if (*c->p == '\'') {
            if (c->p[1] != '\'') break;
            c->p++;
        }
        if (n + 1 >= sizeof buf) return bad(c, "description longer than 1023 bytes");
        buf[n++] = *c->p;
    }
    c->p++;
    json_write_keyz(w, "description");
    json_write_str(w, buf, n);
    return 0;
}

/* One parameter's schema (after "name ?:"). */
static int param_schema(cursor *c, json_writer *w)
{
    static const char *const bases[] = {"string", "integer", "number", "boolean", "object"};
    char base[16];
    skip_space(c);
    word(c, base, sizeof base);
    bool known = false;
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) known |= !strcmp(base, bases[i]);
    if (!known) return bad(c, "expected a type: string, integer, number, boolean or object");
    const char *after = c->p;
    /* the [] suffix comes after the constraint: look ahead to open the array first */
    if (*c->p == '(') {
        const char *close = strchr(c->p, ')');
        if (close) after = close + 1;
    }
    bool array = after[0] == '[' && after[1] == ']';
    json_write_obj_begin(w);
    if (array) {
        json_write_keyz(w, "type");
        json_write_strz(w, "array");
        json_write_keyz(w, "items");
        json_write_obj_begin(w);
    }
    json_write_keyz(w, "type");
    json_write_strz(w, base);
    if (*c->p == '(' && constraint(c, w, base)) return MCP_EINVAL;
    if (array) {
        if (c->p[0] != '[' || c->p[1] != ']') return bad(c, "expected '[]'");
        c->p += 2;
        json_write_obj_end(w);
    }
    skip_space(c);
    if (*c->p == '=') {
        if (array) return bad(c, "an array takes no default");
        if (default_value(c, w, base)) return MCP_EINVAL;
        skip_space(c);
    }
    if (*c->p == '\'' && description(c, w)) return MCP_EINVAL;
    json_write_obj_end(w);
    return 0;
}

static int parse_list(cursor *c, json_writer *w, char names[][65], bool *required, size_t *count)
{
    for (;;) {
        while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n') c->p++;
        if (!*c->p) return 0;
        if (*count == MAX_PARAMS) return bad(c, "more than 128 parameters");
        char *name = names[*count];
        if (!word(c, name, 65)) return bad(c, "expected a parameter name");
        if (name_char(*c->p, false)) return bad(c, "parameter name longer than 64 bytes");
        for (size_t i = 0; i < *count; i++)
            if (!strcmp(names[i], name)) return bad(c, "parameter named twice");
        skip_space(c);
        required[*count] = *c->p != '?';
        if (*c->p == '?') c->p++;
        skip_space(c);
        if (*c->p != ':') return bad(c, "expected ':' after the parameter name");
        c->p++;
        json_write_keyz(w, name);
        (*count)++;
        if (param_schema(c, w)) return MCP_EINVAL;
        skip_space(c);
        if (*c->p && !strchr(",;\n", *c->p))
            return bad(c, "expected ',' ';' or a newline after a parameter");
        if (*c->p) c->p++;
    }
}

char *params_to_schema(const char *params, char *err, size_t errsize)
{
    char(*names)[65] = mcp_xcalloc(MAX_PARAMS, sizeof *names);
    bool required[MAX_PARAMS];
    cursor c = {params, params, err, errsize};
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 1u << 20);
    json_writer w;
    json_writer_init(&w, &b, false);
    json_write_obj_begin(&w);
    json_write_keyz(&w, "type");
    json_write_strz(&w, "object");
    json_write_keyz(&w, "properties");
    json_write_obj_begin(&w);
    size_t count = 0;
    int rc = parse_list(&c, &w, names, required, &count);
    if (!rc) {
        json_write_obj_end(&w);
        json_write_keyz(&w, "required");
        json_write_arr_begin(&w);
        for (size_t i = 0; i < count; i++)
            if (required[i]) json_write_strz(&w, names[i]);
        json_write_arr_end(&w);
        json_write_obj_end(&w);
    }
    free(names);
    if (!rc && b.overflow) rc = srv_seterr(err, errsize, "params: the schema exceeds 1 MiB");
    if (rc) {
        mcp_buf_free(&b);
        return NULL;
    }
    return mcp_buf_steal(&b, NULL);
}
