/* sql.c - the `sql` tool kind: one SQL statement over a SQLite file, arguments bound by name.
 *
 * The glue between kind.h and the engine (sql_engine.c, which holds the pool, the binding, the
 * caps and the output). Configure resolves the database path against the config's directory,
 * builds the engine (which opens the file and prepares the statement, so a typo in the SQL or a
 * missing table is a config error, reported at --check-config time), and checks that the
 * statement's parameters and the declared "arguments" are the same names: a parameter nobody
 * declared, or an argument no parameter uses, is a mistake. The input schema comes from
 * "arguments", the output schema from the result columns. Annotations default to what the tool
 * is: read-only, or destructive when "read_only": false.
 *
 * A call runs on its handler thread (SQLite's API is blocking; the guard's concurrency limit
 * bounds how many threads it takes, and the engine's pool has one connection per concurrent
 * call). The engine polls mcpd_call_cancelled and the remaining time while SQLite steps, so a
 * timeout or a cancellation interrupts the query itself, not just the answer. Outcomes: rows ->
 * OK; a constraint or a type error -> a tool error (the backend is fine); a lock held past the
 * busy timeout, an I/O error -> a backend error, which the breaker counts.
 *
 * The fast path. A read-only tool is tried inline first (call_inline, on the I/O thread that
 * decoded the request: no hand-off to a handler thread) within "inline_budget_us" (1000 by
 * default, 0: never): sqle_try_run runs it on an idle connection without waiting for locks and
 * interrupts it when the budget is spent; then, or when no connection is idle, the call goes to
 * a handler thread and runs as above (a read has no effect, so running it again is safe). The
 * result is handed to libmcp as text and structured content without a re-parse: the tool is
 * added with output_trusted (the engine's output matches its output schema by construction). */
#include "kind.h"
#include "mcpd/args_schema.h"
#include "mcpd/sql_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sql_schema[] =
    "{\"type\":\"object\",\"required\":[\"name\",\"database\",\"sql\"],"
    "\"properties\":{"
    "\"database\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
    "\"sql\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":65536},"
    "\"arguments\":{\"type\":\"object\",\"maxProperties\":64,"
    "\"propertyNames\":{\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]{0,63}$\"},"
    "\"additionalProperties\":{\"type\":\"object\",\"properties\":{\"optional\":{\"type\":"
    "\"boolean\"}}}},"
    "\"read_only\":{\"type\":\"boolean\"},"
    "\"max_rows\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100000},"
    "\"max_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864},"
    "\"busy_timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000},"
    "\"init_sql\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1048576},"
    "\"inline_budget_us\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000}"
    "}}";

#define DEFAULT_INLINE_US 1000u

/* A tool's instance: the engine and the inline budget. */
typedef struct sql_tool {
    sqle *q;
    uint32_t inline_us;
} sql_tool;

static char *resolve(const char *dir, const char *path)
{
    size_t n = strlen(dir) + strlen(path) + 2;
    char *p = malloc(n);
    if (!p) abort();
    if (path[0] == '/')
        snprintf(p, n, "%s", path);
    else
        snprintf(p, n, "%s/%s", dir, path);
    return p;
}

static uint32_t entry_u32(const mcp_json *e, const char *key)
{
    int64_t v;
    return mcp_json_int(mcp_json_get(e, key), &v) ? (uint32_t)v : 0;
}

/* Every parameter is a declared argument, and every argument is used. */
static void match_args(const sqle *q, const mcp_json *args, const char *pointer, mcpd_errs *errs)
{
    char ptr[512];
    for (size_t i = 0; i < sqle_param_count(q); i++) {
        const char *p = sqle_param_name(q, i);
        if (mcp_json_get(args, p)) continue;
        snprintf(ptr, sizeof ptr, "%s/sql", pointer);
        mcpd_err(errs, ptr, "the parameter :%s names no argument: declare it under \"arguments\"",
                 p);
    }
    for (size_t i = 0; i < mcp_json_len(args); i++) {
        const char *name;
        mcp_json_member(args, i, &name, NULL);
        bool used = false;
        for (size_t k = 0; k < sqle_param_count(q) && !used; k++)
            used = !strcmp(sqle_param_name(q, k), name);
        if (used) continue;
        snprintf(ptr, sizeof ptr, "%s/arguments/%s", pointer, name);
        mcpd_err(errs, ptr, "the SQL has no parameter :%s for this argument", name);
    }
}

static int sql_configure(const mcpd_env *env, const mcp_json *e, const char *pointer,
                         mcpd_tools *tools, mcpd_errs *errs, void **inst)
{
    bool read_only = true;
    mcp_json_bool(mcp_json_get(e, "read_only"), &read_only);
    char *path = resolve(env->config_dir, mcp_json_str(mcp_json_get(e, "database"), NULL));
    sqle_config cfg = {.path = path,
                       .sql = mcp_json_str(mcp_json_get(e, "sql"), NULL),
                       .writable = !read_only,
                       .max_rows = entry_u32(e, "max_rows"),
                       .max_bytes = entry_u32(e, "max_bytes"),
                       .busy_timeout_ms = entry_u32(e, "busy_timeout_ms"),
                       .init_sql = mcp_json_str(mcp_json_get(e, "init_sql"), NULL)};
    char err[512], ptr[512];
    sqle *q = sqle_new(&cfg, err, sizeof err);
    free(path);
    if (!q) {
        snprintf(ptr, sizeof ptr, "%s/%s", pointer,
                 !strncmp(err, "cannot open", 11)     ? "database"
                 : !strncmp(err, "cannot create", 13) ? "init_sql"
                                                      : "sql");
        mcpd_err(errs, ptr, "%s", err);
        return -1;
    }
    size_t before = mcpd_err_count(errs);
    const mcp_json *args = mcp_json_get(e, "arguments");
    match_args(q, args, pointer, errs);
    if (mcpd_err_count(errs) != before) {
        sqle_free(q);
        return -1;
    }
    char *input = mcpd_args_schema(args, NULL, 0);
    const char *ann = NULL;
    if (!mcp_json_get(e, "annotations"))
        ann = read_only
                  ? "{\"readOnlyHint\":true,\"openWorldHint\":false}"
                  : "{\"readOnlyHint\":false,\"destructiveHint\":true,\"openWorldHint\":false}";
    sql_tool *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->q = q;
    t->inline_us = DEFAULT_INLINE_US;
    if (mcp_json_get(e, "inline_budget_us")) t->inline_us = entry_u32(e, "inline_budget_us");
    mcpd_tool_spec spec = {.input_schema = input,
                           .output_schema = sqle_output_schema(q),
                           .annotations = ann,
                           .tool = t,
                           .try_inline = read_only && t->inline_us > 0,
                           .output_trusted = true};
    int rc = mcpd_tools_add(tools, &spec, NULL, errs);
    free(input);
    if (rc != 0) {
        sqle_free(q);
        free(t);
        return -1;
    }
    *inst = t;
    return 0;
}

static bool should_stop(void *ud)
{
    const mcpd_call *c = ud;
    return mcpd_call_cancelled(c) || mcpd_call_remaining_ms(c) <= 0;
}

/* Ends the call with the run's result. */
static void end_call(mcpd_call *c, sqle_result *r)
{
    switch (r->status) {
    case SQLE_OK: {
        mcp_ctx *ctx = mcpd_call_ctx(c);
        mcp_ctx_textn(ctx, r->text, r->text_len);
        mcp_ctx_structured(ctx, r->structured);
        sqle_result_free(r);
        mcpd_call_finish(c, MCPD_OK);
        return;
    }
    case SQLE_USER_ERROR:
        mcpd_call_fail(c, MCPD_TOOL_ERROR, "SQL error: %s", r->message);
        return;
    case SQLE_DB_ERROR:
        mcpd_call_fail(c, MCPD_BACKEND_ERROR, "database error: %s", r->message);
        return;
    case SQLE_INTERRUPTED:
        if (mcpd_call_cancelled(c) && mcpd_call_remaining_ms(c) > 0)
            mcpd_call_fail(c, MCPD_CANCELLED, "the query was cancelled");
        else
            mcpd_call_fail(c, MCPD_TIMEOUT, "the query did not finish within %u ms",
                           mcpd_call_timeout_ms(c));
        return;
    }
}

static void sql_call(void *inst, mcpd_call *c)
{
    sql_tool *t = inst;
    sqle_result r;
    sqle_run(t->q, mcpd_call_args(c), should_stop, c, &r);
    end_call(c, &r);
}

static bool sql_call_inline(void *inst, mcpd_call *c)
{
    sql_tool *t = inst;
    sqle_result r;
    if (!sqle_try_run(t->q, mcpd_call_args(c), t->inline_us, &r)) return false;
    end_call(c, &r);
    return true;
}

static void sql_free(void *inst)
{
    sql_tool *t = inst;
    sqle_free(t->q);
    free(t);
}

const mcpd_kind mcpd_kind_sql = {
    .version = MCPD_KIND_VERSION,
    .name = "sql",
    .config_schema = sql_schema,
    .configure = sql_configure,
    .call = sql_call,
    .free = sql_free,
    .call_inline = sql_call_inline,
};
