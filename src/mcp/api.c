/* api.c - the public surface of libmcp that is not a feature of its own: version, error
 * names, the sized entry points that keep definition structs growable, and the handler's
 * conveniences (typed argument getters, the completion argument, structured content from a
 * writer, not-found).
 *
 * Sized entry points. mcp.h turns mcp_server_add_tool(s, def, ...) into
 * mcp_server_add_tool_sz(s, sizeof(mcp_tool_def), def, ...) (variadic macros, so that a
 * compound literal's commas pass through), so libmcp learns how large the caller's struct is.
 * Here it is copied into a zeroed struct of the size this libmcp knows (copy_sized): an older
 * caller's missing tail reads as zero (the default), a newer caller's extra tail must be zero
 * (fields this libmcp would ignore are refused rather than dropped). The registration code
 * (server.c, ext/skills.c) then sees only current-size structs. docs/abi.md has the policy. */
#include "mcp/ctx.h"
#include "base/sized.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* ---- a server program's main --------------------------------------------------------------- */

int mcp_parse_hostport(const char *s, char *host, size_t hostsize, int *port)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || colon == s || !host) return MCP_EINVAL;
    const char *h = s;
    size_t n = (size_t)(colon - s);
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']') return MCP_EINVAL;
        h++;
        n -= 2;
    }
    if (n >= hostsize) return MCP_EINVAL;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || colon[1] < '0' || colon[1] > '9' || p < 0 || p > 65535) return MCP_EINVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

void mcp_keep_freed_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
#endif
}

/* ---- version, errors ----------------------------------------------------------------------- */

const char *mcp_version(void)
{
    return MCP_VERSION_STRING;
}

const char *mcp_strerror(int err)
{
    switch (err) {
    case MCP_OK:
        return "success";
    case MCP_ENOENT:
        return "not found";
    case MCP_EIO:
        return "input/output error";
    case MCP_EBUSY:
        return "busy";
    case MCP_EEXIST:
        return "already exists";
    case MCP_EINVAL:
        return "invalid argument";
    case MCP_ENOSPC:
        return "no space left";
    case MCP_ERANGE:
        return "out of range";
    case MCP_ENOTSUP:
        return "not supported";
    case MCP_EADDRINUSE:
        return "address already in use";
    case MCP_ECANCELED:
        return "cancelled";
    case MCP_ESHUTDOWN:
        return "shutting down";
    case MCP_ETIMEDOUT:
        return "timed out";
    default:
        return "unknown error";
    }
}

/* ---- sized entry points -------------------------------------------------------------------- */

/* copy_sized (base/sized.h) with the reason in err: 0 or MCP_EINVAL. */
#define COPY_SIZED(dst, src, src_size, type, err, errsize)                                         \
    (copy_sized((dst), sizeof *(dst), (src), (src_size))                                           \
         ? srv_seterr((err), (errsize), "%s", SIZED_TOO_NEW(type))                                 \
         : 0)

mcp_server *mcp_server_new_sz(size_t info_size, const mcp_server_info *info, char *err,
                              size_t errsize)
{
    mcp_server_info i;
    if (COPY_SIZED(&i, info, info_size, "mcp_server_info", err, errsize)) return NULL;
    return srv_new(info ? &i : NULL, err, errsize);
}

int mcp_server_set_task_limits_sz(mcp_server *s, size_t lim_size, const mcp_task_limits *lim)
{
    mcp_task_limits l;
    if (COPY_SIZED(&l, lim, lim_size, "mcp_task_limits", NULL, 0)) return MCP_EINVAL;
    return srv_set_task_limits(s, lim ? &l : NULL);
}

/* The body of every mcp_server_add_*_sz: copy, then register the current-size definition. */
#define ADD_SIZED(type, fn)                                                                        \
    type d;                                                                                        \
    if (COPY_SIZED(&d, def, def_size, #type, err, errsize)) return MCP_EINVAL;                     \
    return fn(s, def ? &d : NULL, err, errsize)

int mcp_server_add_tool_sz(mcp_server *s, size_t def_size, const mcp_tool_def *def, char *err,
                           size_t errsize)
{
    ADD_SIZED(mcp_tool_def, srv_add_tool);
}

int mcp_server_add_resource_sz(mcp_server *s, size_t def_size, const mcp_resource_def *def,
                               char *err, size_t errsize)
{
    ADD_SIZED(mcp_resource_def, srv_add_resource);
}

int mcp_server_add_template_sz(mcp_server *s, size_t def_size, const mcp_template_def *def,
                               char *err, size_t errsize)
{
    ADD_SIZED(mcp_template_def, srv_add_template);
}

int mcp_server_add_prompt_sz(mcp_server *s, size_t def_size, const mcp_prompt_def *def, char *err,
                             size_t errsize)
{
    ADD_SIZED(mcp_prompt_def, srv_add_prompt);
}

int mcp_server_add_skill_sz(mcp_server *s, size_t def_size, const mcp_skill_def *def, char *err,
                            size_t errsize)
{
    ADD_SIZED(mcp_skill_def, srv_add_skill);
}

/* ---- reading arguments --------------------------------------------------------------------- */

mcp_server *mcp_ctx_server(const mcp_ctx *c)
{
    return c->conn->srv;
}

const mcp_json *mcp_ctx_arg(const mcp_ctx *c, const char *name)
{
    if (!name) return NULL;
    if (c->method == M_COMPLETE)
        return mcp_json_get(mcp_json_get(json_get(c->args, "context"), "arguments"), name);
    return mcp_json_get(c->args, name);
}

const char *mcp_ctx_arg_strn(const mcp_ctx *c, const char *name, const char *dflt, size_t *len)
{
    const char *s = mcp_json_str(mcp_ctx_arg(c, name), len);
    if (s) return s;
    if (len) *len = dflt ? strlen(dflt) : 0;
    return dflt;
}

const char *mcp_ctx_arg_str(const mcp_ctx *c, const char *name)
{
    return mcp_json_str(mcp_ctx_arg(c, name), NULL);
}

int64_t mcp_ctx_arg_int(const mcp_ctx *c, const char *name, int64_t dflt)
{
    int64_t v = dflt;
    mcp_json_int(mcp_ctx_arg(c, name), &v);
    return v;
}

double mcp_ctx_arg_double(const mcp_ctx *c, const char *name, double dflt)
{
    double v = dflt;
    mcp_json_double(mcp_ctx_arg(c, name), &v);
    return v;
}

bool mcp_ctx_arg_bool(const mcp_ctx *c, const char *name, bool dflt)
{
    bool v = dflt;
    mcp_json_bool(mcp_ctx_arg(c, name), &v);
    return v;
}

const char *mcp_ctx_completing(const mcp_ctx *c, const char **value)
{
    if (c->method != M_COMPLETE) return NULL;
    const json_value *arg = json_get(c->args, "argument");
    if (value) *value = mcp_json_str(json_get(arg, "value"), NULL);
    return mcp_json_str(json_get(arg, "name"), NULL);
}

/* ---- answering ----------------------------------------------------------------------------- */

int mcp_ctx_structured_jw(mcp_ctx *c, const mcp_jw *w)
{
    const char *text = mcp_jw_text(w, NULL);
    if (!text) {
        const char *why = w ? mcp_jw_error(w) : "no writer";
        return ctx_mistake(c, "mcp_ctx_structured_jw: %s",
                           why ? why : "the writer's text is not complete");
    }
    return mcp_ctx_structured(c, text);
}

void mcp_ctx_not_found(mcp_ctx *c, const char *fmt, ...)
{
    char msg[1024];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    ctx_not_found(c, fmt ? msg : NULL);
}
