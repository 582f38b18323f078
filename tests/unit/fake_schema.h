/* fake_schema.h - TEMPORARY stand-in for src/json/schema.c while it is being written: checks
 * "type", "properties" types and "required" only. Included by test_engine.c when
 * ENGINE_FAKE_SCHEMA is defined. Remove once the real validator lands. */
#include <stdlib.h>

#include "json/schema.h"

struct json_schema {
    mcp_arena a;
    json_value *v;
};

json_schema *json_schema_compile(const json_value *schema, const json_schema_options *opts,
                                 json_schema_error *err)
{
    (void)opts;
    if (schema->type != JSON_OBJECT && schema->type != JSON_BOOL) {
        snprintf(err->schema_path, sizeof(err->schema_path), "%s", "");
        snprintf(err->msg, sizeof(err->msg), "%s", "expected a schema");
        return NULL;
    }
    json_schema *s = calloc(1, sizeof(*s));
    mcp_arena_init(&s->a, NULL, 0);
    s->v = json_clone(schema, &s->a);
    return s;
}

static bool fake_type_ok(const char *t, const json_value *v)
{
    const char *n = json_type_name(v);
    if (!strcmp(t, "number")) return json_is_number(v);
    return !strcmp(t, n);
}

bool json_schema_validate(const json_schema *s, const json_value *inst, json_schema_result *res)
{
    if (res) memset(res, 0, sizeof(*res));
    const json_value *t = json_get(s->v, "type");
    json_schema_error *e = res ? &res->errors[0] : NULL;
    if (json_is_string(t) && !fake_type_ok(t->u.str, inst)) {
        if (e)
            snprintf(e->msg, sizeof(e->msg), "expected %s, got %s", t->u.str, json_type_name(inst));
        goto bad;
    }
    const json_value *props = json_get(s->v, "properties");
    for (uint32_t i = 0; props && i < props->len; i++) {
        const json_value *pt = json_get(&props->u.members[i].value, "type");
        const json_value *iv = json_get(inst, props->u.members[i].key);
        if (iv && json_is_string(pt) && !fake_type_ok(pt->u.str, iv)) {
            if (e) {
                snprintf(e->instance_path, sizeof(e->instance_path), "/%s",
                         props->u.members[i].key);
                snprintf(e->msg, sizeof(e->msg), "expected %s, got %s", pt->u.str,
                         json_type_name(iv));
            }
            goto bad;
        }
    }
    const json_value *req = json_get(s->v, "required");
    for (uint32_t i = 0; req && i < req->len; i++) {
        if (!json_get(inst, req->u.items[i].u.str)) {
            if (e)
                snprintf(e->msg, sizeof(e->msg), "missing required property '%s'",
                         req->u.items[i].u.str);
            goto bad;
        }
    }
    if (res) res->valid = true;
    return true;
bad:
    if (res) res->nerrors = 1;
    return false;
}

const char *json_schema_result_str(const json_schema_result *res, char *out, size_t size)
{
    snprintf(out, size, "%s: %s", res->errors[0].instance_path, res->errors[0].msg);
    return out;
}

void json_schema_free(json_schema *s)
{
    mcp_arena_free(&s->a);
    free(s);
}
