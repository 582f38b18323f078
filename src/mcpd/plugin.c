/* plugin.c - the `plugin` tool kind: tools from a shared object loaded with dlopen.
 *
 * configure resolves the entry's "path" against the config's directory, refuses a file that
 * is not a regular file or that others may write (the file or its directory: whoever can write
 * it can run code as mcpd), opens it with RTLD_NOW (every symbol resolved now, so a plugin built
 * against another libmcp fails here, not at its first call) and calls its mcpd_plugin_init
 * with a host whose add_tool turns each mcpd_plugin_tool into an mcpd tool (kind.h), so plugin
 * tools get the guard layer like every other kind. A call runs the plugin's function on the
 * handler thread and maps its return value to an mcpd outcome, or to a round of questions
 * (MCPD_PLUGIN_INPUT_REQUIRED: mcpd_call_ask). free calls mcpd_plugin_fini and
 * drops the dlopen reference (the object stays mapped while another generation holds one).
 * The plugin interface is include/mcp/mcpd_plugin.h. */
#include "kind.h"

#include <mcp/mcpd_plugin.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct ptool {
    mcpd_plugin_call_fn call;
    void *ud;
} ptool;

typedef struct plugin {
    void *dl;
    void *state;
    mcpd_plugin_fini_fn fini;
    ptool **tools;
    size_t ntools;
} plugin;

typedef struct host_ctx {
    plugin *p;
    mcpd_tools *t;
    mcpd_errs *errs;
    const char *pointer;
} host_ctx;

static int host_add_tool(mcpd_plugin_host *host, const mcpd_plugin_tool *tool, char *err,
                         size_t errsize)
{
    host_ctx *h = host->host_data;
    if (!h || !tool || !tool->call) {
        snprintf(err, errsize, "add_tool: %s",
                 !h ? "called after mcpd_plugin_init returned" : "a tool needs a call function");
        return -1;
    }
    size_t before = mcpd_err_count(h->errs);
    ptool *pt = calloc(1, sizeof *pt);
    if (!pt) abort();
    *pt = (ptool){tool->call, tool->ud};
    mcpd_tool_spec spec = {.name = tool->name,
                           .title = tool->title,
                           .description = tool->description,
                           .input_schema = tool->input_schema,
                           .output_schema = tool->output_schema,
                           .annotations = tool->annotations,
                           .tool = pt};
    if (mcpd_tools_add(h->t, &spec, h->pointer, h->errs)) {
        free(pt);
        snprintf(err, errsize, "add_tool %s: refused (%zu mistake(s) reported)",
                 tool->name ? tool->name : "(entry name)", mcpd_err_count(h->errs) - before);
        return -1;
    }
    plugin *p = h->p;
    ptool **grown = realloc(p->tools, (p->ntools + 1) * sizeof(*grown));
    if (!grown) abort();
    p->tools = grown;
    p->tools[p->ntools++] = pt;
    return 0;
}

static void plugin_free(void *inst)
{
    plugin *p = inst;
    if (!p) return;
    if (p->fini && p->state) p->fini(p->state);
    for (size_t i = 0; i < p->ntools; i++) free(p->tools[i]);
    free(p->tools);
    if (p->dl) dlclose(p->dl);
    free(p);
}

/* Refuses a plugin file that others could replace. Returns 0 or -1 after recording why. */
static int check_file(const char *path, const char *ptr, mcpd_errs *errs)
{
    struct stat st;
    if (stat(path, &st)) {
        mcpd_err(errs, ptr, "expected a shared object: %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        mcpd_err(errs, ptr, "expected a shared object: %s is not a regular file", path);
        return -1;
    }
    if (st.st_mode & (S_IWOTH | S_IWGRP)) {
        mcpd_err(errs, ptr, "%s is writable by %s: refused (chmod go-w it)", path,
                 st.st_mode & S_IWOTH ? "everyone" : "its group");
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
    if (!stat(slash ? dir : ".", &st) && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
        mcpd_err(errs, ptr, "the directory of %s is writable by everyone: refused", path);
        return -1;
    }
    return 0;
}

static int plugin_configure(const mcpd_env *env, const mcp_json *entry, const char *pointer,
                            mcpd_tools *t, mcpd_errs *errs, void **inst)
{
    *inst = NULL;
    char ptr[300], path[4096];
    snprintf(ptr, sizeof ptr, "%s/path", pointer);
    const char *rel = mcp_json_str(mcp_json_get(entry, "path"), NULL);
    if (!rel || !*rel) {
        mcpd_err(errs, rel ? ptr : pointer, "expected \"path\": the plugin's shared object");
        return -1;
    }
    if (rel[0] == '/')
        snprintf(path, sizeof path, "%s", rel);
    else
        snprintf(path, sizeof path, "%s/%s", env->config_dir ? env->config_dir : ".", rel);
    if (check_file(path, ptr, errs)) return -1;
    dlerror();
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        mcpd_err(errs, ptr, "cannot load the plugin: %s", dlerror());
        return -1;
    }
    mcpd_plugin_init_fn init;
    *(void **)&init = dlsym(dl, "mcpd_plugin_init");
    if (!init) {
        mcpd_err(errs, ptr, "%s does not export mcpd_plugin_init (see mcp/mcpd_plugin.h)", path);
        dlclose(dl);
        return -1;
    }
    plugin *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->dl = dl;
    *(void **)&p->fini = dlsym(dl, "mcpd_plugin_fini");
    host_ctx h = {p, t, errs, pointer};
    mcpd_plugin_host host = {MCPD_PLUGIN_ABI, env->server, host_add_tool, &h};
    char err[512] = "";
    size_t before = mcpd_err_count(errs);
    int rc = init(&host, mcp_json_get(entry, "config"), &p->state, err, sizeof err);
    host.host_data = NULL;
    if (rc || mcpd_err_count(errs) != before) {
        if (rc) mcpd_err(errs, pointer, "plugin: %s", err[0] ? err : "mcpd_plugin_init failed");
        plugin_free(p); /* fini(state) if init left a state, even when it failed */
        return -1;
    }
    if (!p->ntools) {
        mcpd_err(errs, pointer, "plugin: %s added no tool", path);
        plugin_free(p);
        return -1;
    }
    *inst = p;
    return 0;
}

static void plugin_call(void *inst, mcpd_call *c)
{
    ptool *pt = mcpd_call_tool(c);
    char err[1024] = "";
    int rc = pt->call(mcpd_call_ctx(c), mcpd_call_args(c), pt->ud, err, sizeof err);
    if (rc == MCPD_PLUGIN_OK) return mcpd_call_finish(c, MCPD_OK);
    if (rc == MCPD_PLUGIN_INPUT_REQUIRED) return mcpd_call_ask(c);
    mcpd_call_fail(c, rc == MCPD_PLUGIN_TOOL_ERROR ? MCPD_TOOL_ERROR : MCPD_BACKEND_ERROR, "%s",
                   err[0] ? err : "the plugin's tool failed without saying why");
}

const mcpd_kind mcpd_kind_plugin = {
    .version = MCPD_KIND_VERSION,
    .name = "plugin",
    .config_schema = "{\"type\":\"object\",\"required\":[\"path\"],\"properties\":{"
                     "\"path\":{\"type\":\"string\",\"minLength\":1},"
                     "\"config\":{}}}",
    .configure = plugin_configure,
    .call = plugin_call,
    .free = plugin_free,
};
