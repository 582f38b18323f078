/* jpath.h - reading the engine's JSON outputs in unit tests: jpath walks "a.b.0.c" (a key
 * starting with io.modelcontextprotocol/ runs to the next dot after the slash), jint and jstr
 * read a number or a string there (jstr into a static copy). One parse at a time. */
#ifndef MCP_TEST_JPATH_H
#define MCP_TEST_JPATH_H

#include "base/arena.h"
#include "json/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char jstack[1 << 16];
static mcp_arena jarena;

static inline const json_value *jpath(const char *msg, const char *path)
{
    if (!msg) return NULL;
    mcp_arena_free(&jarena);
    mcp_arena_init(&jarena, jstack, sizeof(jstack));
    const json_value *v = json_parse(msg, strlen(msg), &jarena, NULL, NULL);
    char seg[128];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (!strncmp(path, "io.modelcontextprotocol/", 24)) n = 24 + strcspn(path + 24, ".");
        snprintf(seg, sizeof(seg), "%.*s", (int)n, path);
        v = v->type == JSON_ARRAY ? json_at(v, (size_t)atoi(seg)) : json_get(v, seg);
        path += n + (path[n] == '.');
    }
    return v;
}

static inline int64_t jint(const char *msg, const char *path)
{
    const json_value *v = jpath(msg, path);
    return v && v->type == JSON_INT ? v->u.num.i : -999999;
}

static inline const char *jstr(const char *msg, const char *path)
{
    static char copy[4096];
    const json_value *v = jpath(msg, path);
    if (!v || v->type != JSON_STRING) return NULL;
    snprintf(copy, sizeof(copy), "%s", v->u.str);
    return copy;
}

#endif
