/* exec.c - the `exec` tool kind: run a program from an argv template filled from typed
 * arguments, never through a shell. (Being written: configure refuses every entry for now.) */
#include "kind.h"

static int exec_configure(const mcpd_env *env, const mcp_json *entry, const char *pointer,
                          mcpd_tools *t, mcpd_errs *errs, void **inst)
{
    mcpd_err(errs, pointer, "the exec kind is not available yet");
    return -1;
}

static void exec_call(void *inst, mcpd_call *c)
{
    mcpd_call_fail(c, MCPD_BACKEND_ERROR, "the exec kind is not available yet");
}

static void exec_free(void *inst) {}

const mcpd_kind mcpd_kind_exec = {
    .version = MCPD_KIND_VERSION,
    .name = "exec",
    .config_schema = "{\"type\":\"object\"}",
    .configure = exec_configure,
    .call = exec_call,
    .free = exec_free,
};
