/* prompt.c - one MCP prompt served from a template (see prompt.h).
 *
 * The prompt's definition (arguments, their completion values, the compiled template) is
 * immutable once registered, so handlers read it without locks; the registration's ud is a
 * mount (mount.h), which a reload hands to the prompt that replaces this one. */
#include "prompt.h"

#include "ctxjson.h"
#include "mount.h"
#include "text.h"
#include "ptmpl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct prompt {
    mcp_server *srv;
    mount *m;
    char *name, *title, *description;
    prompt_arg_cfg *args;
    size_t nargs;
    size_t max_arg_bytes, max_bytes;
    ptmpl *tmpl;
};

static char *dup_opt(const char *s)
{
    if (!s) return NULL;
    char *p = strdup(s);
    if (!p) abort();
    return p;
}

static void add_message(const char *role, const char *text, size_t len, void *ud)
{
    mcp_ctx *ctx = ud;
    mcp_ctx_message(ctx, role);
    mcp_ctx_textn(ctx, text, len);
}

static void on_get(mcp_ctx *ctx, void *ud)
{
    prompt *p = mount_enter(ud);
    if (!p) {
        mount_leave(ud);
        return mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS, "Unknown prompt: %.200s",
                            mcp_ctx_name(ctx));
    }
    const char *vals[64] = {0};
    for (size_t i = 0; i < p->nargs; i++) {
        size_t len = 0;
        vals[i] = mcp_json_str(mcp_json_get(ctx_args_json(ctx), p->args[i].name), &len);
        if (vals[i] && len > p->max_arg_bytes) {
            mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS,
                         "argument '%s' is %zu bytes, over this prompt's limit of %zu bytes",
                         p->args[i].name, len, p->max_arg_bytes);
            return mount_leave(ud);
        }
        if (vals[i] && strlen(vals[i]) != len) {
            mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS, "argument '%s' contains a NUL character",
                         p->args[i].name);
            return mount_leave(ud);
        }
    }
    if (p->description) mcp_ctx_description(ctx, p->description);
    if (ptmpl_render(p->tmpl, vals, p->max_bytes, add_message, ctx)) {
        mcp_ctx_fail(ctx, MCP_ERR_INVALID_PARAMS,
                     "the prompt's text would pass its limit of %zu bytes: shorten the arguments",
                     p->max_bytes);
        return mount_leave(ud);
    }
    mount_leave(ud);
    mcp_ctx_finish(ctx);
}

static void on_complete(mcp_ctx *ctx, void *ud)
{
    prompt *p = mount_enter(ud);
    const mcp_json *arg = mcp_json_get(ctx_args_json(ctx), "argument");
    const char *name = mcp_json_str(mcp_json_get(arg, "name"), NULL);
    size_t vlen = 0;
    const char *v = mcp_json_str(mcp_json_get(arg, "value"), &vlen);
    if (!v) v = "";
    int64_t total = 0;
    for (size_t i = 0; p && name && i < p->nargs; i++) {
        if (strcmp(p->args[i].name, name)) continue;
        for (size_t k = 0; k < p->args[i].ncompletions; k++) {
            const char *c = p->args[i].completions[k];
            if (strncasecmp(c, v, vlen)) continue;
            if (total++ < 100) mcp_ctx_complete_value(ctx, c);
        }
    }
    mount_leave(ud);
    mcp_ctx_complete_total(ctx, total, total > 100);
    mcp_ctx_finish(ctx);
}

static void free_fields(prompt *p)
{
    for (size_t i = 0; i < p->nargs; i++) {
        prompt_arg_cfg *a = &p->args[i];
        free((char *)a->name);
        free((char *)a->title);
        free((char *)a->description);
        for (size_t k = 0; k < a->ncompletions; k++) free((char *)a->completions[k]);
        free((char **)a->completions);
    }
    free(p->args);
    ptmpl_free(p->tmpl);
    free(p->name);
    free(p->title);
    free(p->description);
    free(p);
}

static void copy_args(prompt *p, const prompt_cfg *c)
{
    p->nargs = c->nargs;
    p->args = calloc(c->nargs + 1, sizeof(*p->args));
    if (!p->args) abort();
    for (size_t i = 0; i < c->nargs; i++) {
        const prompt_arg_cfg *a = &c->args[i];
        char **vals = calloc(a->ncompletions + 1, sizeof(*vals));
        if (!vals) abort();
        for (size_t k = 0; k < a->ncompletions; k++) vals[k] = dup_opt(a->completions[k]);
        p->args[i] =
            (prompt_arg_cfg){dup_opt(a->name), dup_opt(a->title),         dup_opt(a->description),
                             a->required,      (const char *const *)vals, a->ncompletions};
    }
}

prompt *prompt_new(mcp_server *s, const prompt_cfg *c, char *err, size_t errsize)
{
    if (!c->name || !*c->name) return mcpd_seterr(err, errsize, "name: required"), NULL;
    if (c->nargs > 64) return mcpd_seterr(err, errsize, "arguments: at most 64"), NULL;
    for (size_t i = 0; i < c->nargs; i++) {
        if (!c->args[i].name || !*c->args[i].name)
            return mcpd_seterr(err, errsize, "arguments/%zu/name: required", i), NULL;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->args[i].name, c->args[j].name))
                return mcpd_seterr(err, errsize, "arguments/%zu/name: '%s' is declared twice", i,
                                   c->args[i].name),
                       NULL;
    }
    const char *names[64];
    for (size_t i = 0; i < c->nargs; i++) names[i] = c->args[i].name;
    char terr[256];
    ptmpl *t = ptmpl_compile(c->text ? c->text : "", c->text ? c->len : 0, names, c->nargs, terr,
                             sizeof terr);
    if (!t) return mcpd_seterr(err, errsize, "%s", terr), NULL;
    char key[300];
    snprintf(key, sizeof key, "prompt:%s", c->name);
    mount *m = mount_get(key);
    if (!m) {
        ptmpl_free(t);
        return mcpd_seterr(err, errsize,
                           "too many resource directories and prompts (at most 1024)"),
               NULL;
    }
    prompt *p = calloc(1, sizeof *p);
    if (!p) abort();
    *p = (prompt){.srv = s,
                  .m = m,
                  .name = dup_opt(c->name),
                  .title = dup_opt(c->title),
                  .description = dup_opt(c->description),
                  .tmpl = t,
                  .max_arg_bytes = c->max_arg_bytes ? c->max_arg_bytes : 65536,
                  .max_bytes = c->max_bytes ? c->max_bytes : (1u << 20)};
    copy_args(p, c);
    return p;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* True if a and b look the same in prompts/list (what libmcp's registration holds). */
static bool same_listing(const prompt *a, const prompt *b)
{
    if (!same_str(a->title, b->title) || !same_str(a->description, b->description) ||
        a->nargs != b->nargs)
        return false;
    for (size_t i = 0; i < a->nargs; i++) {
        const prompt_arg_cfg *x = &a->args[i], *y = &b->args[i];
        if (strcmp(x->name, y->name) || !same_str(x->title, y->title) ||
            !same_str(x->description, y->description) || x->required != y->required)
            return false;
    }
    return true;
}

int prompt_activate(prompt *p, char *err, size_t errsize)
{
    if (!p->srv) return 0; /* checking a config only */
    /* The template and completion values live here, not in libmcp: when only they changed,
     * the registration stays and the prompt is never missing for a moment. */
    prompt *prev = mount_enter(p->m);
    bool same = prev && same_listing(prev, p);
    mount_leave(p->m);
    if (same) {
        mount_take(p->m, p);
        return 0;
    }
    mcp_prompt_arg pa[64];
    for (size_t i = 0; i < p->nargs; i++)
        pa[i] = (mcp_prompt_arg){p->args[i].name, p->args[i].title, p->args[i].description,
                                 p->args[i].required};
    mcp_prompt_def def = {.name = p->name,
                          .title = p->title,
                          .description = p->description,
                          .args = pa,
                          .nargs = p->nargs,
                          .handler = on_get,
                          .complete = on_complete,
                          .ud = p->m};
    char terr[256];
    int rc = mcp_server_add_prompt(p->srv, &def, terr, sizeof terr);
    if (rc == MCP_EEXIST) { /* a reload that changed the listing: replaced (a brief gap) */
        mcp_server_remove_prompt(p->srv, p->name);
        rc = mcp_server_add_prompt(p->srv, &def, terr, sizeof terr);
    }
    if (rc) return mcpd_seterr(err, errsize, "%s", terr);
    mount_take(p->m, p);
    return 0;
}

void prompt_free(prompt *p)
{
    if (!p) return;
    if (mount_release(p->m, p)) mcp_server_remove_prompt(p->srv, p->name);
    free_fields(p);
}
