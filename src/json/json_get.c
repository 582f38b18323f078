/* json_get.c - reading a DOM: member and item lookup, typed getters with error messages,
 * deep equality and deep copy.
 *
 * MCP objects are small, so lookup is a linear scan comparing lengths before bytes. The typed
 * getters exist so that a handler can say "params.name: expected string, got integer" in one
 * line. json_equal follows JSON Schema: numbers compare by value, objects ignore member order
 * (tried at the same index first, so equal objects written in the same order cost O(n)).
 * json_equal and json_clone recurse once per nesting level; a parsed DOM is bounded by the
 * parser's max_depth (128 by default). */
#include "json/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const json_value *json_getn(const json_value *obj, const char *key, size_t key_len)
{
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    for (uint32_t i = 0; i < obj->len; i++) {
        const json_member *m = &obj->u.members[i];
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0) return &m->value;
    }
    return NULL;
}

const json_value *json_at(const json_value *arr, size_t i)
{
    if (!arr || arr->type != JSON_ARRAY || i >= arr->len) return NULL;
    return &arr->u.items[i];
}

const char *json_type_name(const json_value *v)
{
    static const char *const names[] = {"null",   "boolean", "integer", "number",
                                        "string", "array",   "object"};
    if (!v) return "nothing";
    return v->type <= JSON_OBJECT ? names[v->type] : "invalid";
}

double json_number(const json_value *v)
{
    if (!v) return 0;
    if (v->type == JSON_INT) return (double)v->u.num.i;
    if (v->type == JSON_DOUBLE) return v->u.num.d;
    return 0;
}

/* ---- typed getters -----------------------------------------------------------------------------
 */

/* Writes "<ctx>.<key>: expected <want>, got <type>" and returns -1. */
static int wrong_type(const json_value *v, const char *key, const char *want, const char *ctx,
                      char *err, size_t errsize)
{
    if (err && errsize) {
        if (ctx && *ctx)
            snprintf(err, errsize, "%s.%s: expected %s, got %s", ctx, key, want, json_type_name(v));
        else
            snprintf(err, errsize, "%s: expected %s, got %s", key, want, json_type_name(v));
    }
    return -1;
}

int json_get_str(const json_value *obj, const char *key, const char **out, size_t *len,
                 const char *ctx, char *err, size_t errsize)
{
    const json_value *v = json_get(obj, key);
    if (!v) return 0;
    if (v->type != JSON_STRING) return wrong_type(v, key, "string", ctx, err, errsize);
    *out = v->u.str;
    if (len) *len = v->len;
    return 1;
}

/* A double with an integral value in int64 range counts as an integer, as in JSON Schema
 * (a client that sends "count": 3.0 means 3). */
static bool integral_double(double d, int64_t *out)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != trunc(d)) return false;
    *out = (int64_t)d;
    return true;
}

bool json_int_value(const json_value *v, int64_t *out)
{
    if (v && v->type == JSON_INT) {
        *out = v->u.num.i;
        return true;
    }
    return v && v->type == JSON_DOUBLE && integral_double(v->u.num.d, out);
}

int json_get_int(const json_value *obj, const char *key, int64_t *out, const char *ctx, char *err,
                 size_t errsize)
{
    const json_value *v = json_get(obj, key);
    if (!v) return 0;
    if (json_int_value(v, out)) return 1;
    return wrong_type(v, key, "integer", ctx, err, errsize);
}

int json_get_bool(const json_value *obj, const char *key, bool *out, const char *ctx, char *err,
                  size_t errsize)
{
    const json_value *v = json_get(obj, key);
    if (!v) return 0;
    if (v->type != JSON_BOOL) return wrong_type(v, key, "boolean", ctx, err, errsize);
    *out = v->b;
    return 1;
}

int json_get_obj(const json_value *obj, const char *key, const json_value **out, const char *ctx,
                 char *err, size_t errsize)
{
    const json_value *v = json_get(obj, key);
    if (!v) return 0;
    if (v->type != JSON_OBJECT) return wrong_type(v, key, "object", ctx, err, errsize);
    *out = v;
    return 1;
}

int json_get_arr(const json_value *obj, const char *key, const json_value **out, const char *ctx,
                 char *err, size_t errsize)
{
    const json_value *v = json_get(obj, key);
    if (!v) return 0;
    if (v->type != JSON_ARRAY) return wrong_type(v, key, "array", ctx, err, errsize);
    *out = v;
    return 1;
}

/* ---- equality
 * ------------------------------------------------------------------------------------ */

/* int64 against double without the rounding of (double)i: 2^53 + 1 is not 2^53. */
static bool int_equals_double(int64_t i, double d)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return false;
    return d == trunc(d) && (int64_t)d == i;
}

static bool numbers_equal(const json_value *a, const json_value *b)
{
    if (a->type == JSON_INT && b->type == JSON_INT) return a->u.num.i == b->u.num.i;
    if (a->type == JSON_DOUBLE && b->type == JSON_DOUBLE) return a->u.num.d == b->u.num.d;
    if (a->type == JSON_INT) return int_equals_double(a->u.num.i, b->u.num.d);
    return int_equals_double(b->u.num.i, a->u.num.d);
}

static bool objects_equal(const json_value *a, const json_value *b)
{
    if (a->len != b->len) return false;
    for (uint32_t i = 0; i < a->len; i++) {
        const json_member *m = &a->u.members[i], *n = &b->u.members[i];
        const json_value *bv;
        if (n->key_len == m->key_len && memcmp(n->key, m->key, m->key_len) == 0)
            bv = &n->value;
        else
            bv = json_getn(b, m->key, m->key_len);
        if (!bv || !json_equal(&m->value, bv)) return false;
    }
    return true;
}

bool json_equal(const json_value *a, const json_value *b)
{
    if (!a || !b) return a == b;
    if (json_is_number(a) && json_is_number(b)) return numbers_equal(a, b);
    if (a->type != b->type) return false;
    switch (a->type) {
    case JSON_NULL:
        return true;
    case JSON_BOOL:
        return a->b == b->b;
    case JSON_STRING:
        return a->len == b->len && memcmp(a->u.str, b->u.str, a->len) == 0;
    case JSON_ARRAY:
        if (a->len != b->len) return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!json_equal(&a->u.items[i], &b->u.items[i])) return false;
        return true;
    case JSON_OBJECT:
        return objects_equal(a, b);
    default:
        return false;
    }
}

/* ---- deep copy
 * ----------------------------------------------------------------------------------- */

static void clone_into(json_value *d, const json_value *v, mcp_arena *arena)
{
    *d = *v;
    switch (v->type) {
    case JSON_INT:
    case JSON_DOUBLE:
        if (v->u.num.text) d->u.num.text = mcp_arena_strndup(arena, v->u.num.text, v->len);
        break;
    case JSON_STRING:
        d->u.str = mcp_arena_strndup(arena, v->u.str, v->len);
        break;
    case JSON_ARRAY:
        d->u.items = v->len ? mcp_arena_alloc(arena, v->len * sizeof(json_value)) : NULL;
        for (uint32_t i = 0; i < v->len; i++) clone_into(&d->u.items[i], &v->u.items[i], arena);
        break;
    case JSON_OBJECT:
        d->u.members = v->len ? mcp_arena_alloc(arena, v->len * sizeof(json_member)) : NULL;
        for (uint32_t i = 0; i < v->len; i++) {
            const json_member *m = &v->u.members[i];
            d->u.members[i].key = mcp_arena_strndup(arena, m->key, m->key_len);
            d->u.members[i].key_len = m->key_len;
            clone_into(&d->u.members[i].value, &m->value, arena);
        }
        break;
    default:
        break;
    }
}

json_value *json_clone(const json_value *v, mcp_arena *arena)
{
    if (!v) return NULL;
    json_value *d = mcp_arena_alloc(arena, sizeof *d);
    clone_into(d, v, arena);
    return d;
}
