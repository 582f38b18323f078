/* args_schema.c - writes a tool's input schema from the "arguments" of its config entry (see
 * args_schema.h). Shared by the exec, sql, http and openapi kinds. */
#include "mcpd/args_schema.h"
#include "mcpd/text.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool is_own(const char *key, const char *const *own, size_t nown)
{
    if (!strcmp(key, "optional")) return true;
    for (size_t i = 0; i < nown; i++)
        if (!strcmp(key, own[i])) return true;
    return false;
}

char *mcpd_args_schema(const mcp_json *args, const char *const *own, size_t nown)
{
    mcp_jw *w = mcpd_jw_object_schema();
    for (size_t i = 0; i < mcp_json_len(args); i++) {
        const char *name;
        const mcp_json *spec = mcp_json_member(args, i, &name, NULL);
        mcp_jw_key(w, name);
        mcp_jw_object(w);
        for (size_t k = 0; k < mcp_json_len(spec); k++) {
            const char *key;
            const mcp_json *v = mcp_json_member(spec, k, &key, NULL);
            if (is_own(key, own, nown)) continue;
            mcp_jw_key(w, key);
            mcp_jw_value(w, v);
        }
        mcp_jw_object_end(w);
    }
    mcp_jw_object_end(w);
    mcp_jw_key(w, "required");
    mcp_jw_array(w);
    for (size_t i = 0; i < mcp_json_len(args); i++) {
        const char *name;
        const mcp_json *spec = mcp_json_member(args, i, &name, NULL);
        bool optional = false;
        mcp_json_bool(mcp_json_get(spec, "optional"), &optional);
        /* an exec "flag" argument is never required: absent, its flag is left out */
        if (!optional && !mcp_json_get(spec, "flag")) mcp_jw_string(w, name);
    }
    mcp_jw_array_end(w);
    mcp_jw_key(w, "additionalProperties");
    mcp_jw_bool(w, false);
    mcp_jw_object_end(w);
    return mcpd_jw_take(w, "{\"type\":\"object\"}");
}
