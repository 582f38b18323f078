/* yaml_json.c - YAML documents (OpenAPI files) turned into JSON text with libyaml.
 *
 * libyaml's event parser drives the public JSON writer: mappings become objects, sequences
 * arrays, and scalars are typed as YAML 1.2's core schema says for plain scalars (null, ~,
 * true/false, integers, floats; anything else a string); quoted and block scalars are always
 * strings. Anchors and aliases are refused: an alias can expand a small file into a huge tree
 * ("billion laughs"), and OpenAPI documents use $ref instead. Only the first document of a
 * stream is read; nesting is capped at 128 and mapping keys must be scalars. */
#include "mcpd/yaml_json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 128

static bool all_digits(const char *s, bool allow_sign)
{
    if (allow_sign && (*s == '-' || *s == '+')) s++;
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

/* Writes a plain scalar with the core schema's types. */
static void plain_scalar(mcp_jw *w, const char *s, size_t len)
{
    if (!len || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")) {
        mcp_jw_null(w);
        return;
    }
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
        mcp_jw_bool(w, true);
        return;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
        mcp_jw_bool(w, false);
        return;
    }
    if (all_digits(s, true) && len < 19) {
        mcp_jw_int(w, strtoll(s, NULL, 10));
        return;
    }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    bool numeric = *end == 0 && errno == 0 && strchr("+-.0123456789", s[0]) &&
                   !strpbrk(s, "xXnN"); /* no hex, inf or nan spelled as words */
    if (numeric) {
        mcp_jw_double(w, d);
        return;
    }
    mcp_jw_stringn(w, s, len);
}

char *mcpd_yaml_to_json(const char *text, size_t len, char *err, size_t errsize)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errsize, "cannot start the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    mcp_jw *w = mcp_jw_new();
    /* per level: whether it is a mapping, and whether a key is due next */
    bool is_map[MAX_DEPTH + 1], want_key[MAX_DEPTH + 1];
    int depth = 0;
    bool done = false, ok = true;
    while (!done && ok) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            snprintf(err, errsize, "line %zu, column %zu: %s", p.problem_mark.line + 1,
                     p.problem_mark.column + 1, p.problem ? p.problem : "bad YAML");
            ok = false;
            break;
        }
        bool key_pos = depth > 0 && is_map[depth] && want_key[depth];
        const char *anchor = NULL;
        if (ev.type == YAML_SCALAR_EVENT) anchor = (const char *)ev.data.scalar.anchor;
        if (ev.type == YAML_MAPPING_START_EVENT)
            anchor = (const char *)ev.data.mapping_start.anchor;
        if (ev.type == YAML_SEQUENCE_START_EVENT)
            anchor = (const char *)ev.data.sequence_start.anchor;
        if (ev.type == YAML_ALIAS_EVENT || anchor) {
            snprintf(err, errsize, "line %zu: anchors and aliases (&, *) are not accepted",
                     ev.start_mark.line + 1);
            ok = false;
        } else if (key_pos && ev.type != YAML_SCALAR_EVENT && ev.type != YAML_MAPPING_END_EVENT) {
            snprintf(err, errsize, "line %zu: a mapping key must be a scalar",
                     ev.start_mark.line + 1);
            ok = false;
        } else {
            switch (ev.type) {
            case YAML_SCALAR_EVENT: {
                const char *s = (const char *)ev.data.scalar.value;
                size_t n = ev.data.scalar.length;
                if (key_pos)
                    mcp_jw_keyn(w, s, n);
                else if (ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                    plain_scalar(w, s, n);
                else
                    mcp_jw_stringn(w, s, n);
                if (depth > 0 && is_map[depth]) want_key[depth] = !want_key[depth];
                break;
            }
            case YAML_MAPPING_START_EVENT:
            case YAML_SEQUENCE_START_EVENT:
                if (depth >= MAX_DEPTH) {
                    snprintf(err, errsize, "line %zu: nested deeper than %d",
                             ev.start_mark.line + 1, MAX_DEPTH);
                    ok = false;
                    break;
                }
                if (depth > 0 && is_map[depth]) want_key[depth] = true; /* the value is this */
                depth++;
                is_map[depth] = ev.type == YAML_MAPPING_START_EVENT;
                want_key[depth] = true;
                if (is_map[depth])
                    mcp_jw_object(w);
                else
                    mcp_jw_array(w);
                break;
            case YAML_MAPPING_END_EVENT:
            case YAML_SEQUENCE_END_EVENT:
                if (is_map[depth])
                    mcp_jw_object_end(w);
                else
                    mcp_jw_array_end(w);
                depth--;
                break;
            case YAML_DOCUMENT_END_EVENT:
            case YAML_STREAM_END_EVENT:
                done = true;
                break;
            default:
                break;
            }
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    char *out = NULL;
    if (ok) {
        size_t n;
        const char *t = mcp_jw_text(w, &n);
        if (!t) {
            snprintf(err, errsize, "the YAML is empty or not valid as JSON (%s)",
                     mcp_jw_error(w) ? mcp_jw_error(w) : "no document");
        } else {
            out = strdup(t);
            if (!out) abort();
        }
    }
    mcp_jw_free(w);
    return out;
}
