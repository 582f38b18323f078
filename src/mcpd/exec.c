/* exec.c - the `exec` tool kind: run a program from an argv template filled from typed
 * arguments, never through a shell.
 *
 * Configure turns the entry's "arguments" (name -> JSON Schema of the value, plus mcpd's own
 * keys: optional, flag, allow_dash) into the tool's input schema, and checks the "command"
 * template: every "{name}" in it must be a declared argument, and the program (element 0) must
 * be a literal. A call fills the template on the handler thread: an element that is exactly
 * "{name}" becomes the value as ONE element (an array argument: one element per item; a
 * boolean with a "flag": the flag when true), and is dropped when the argument is absent;
 * "{name}" inside a longer element is replaced in place (the element is dropped when the
 * argument is absent). So `; rm -rf /` or `$(reboot)` are just bytes of one argument. A value
 * that starts with '-' is refused unless the argument says allow_dash (it would be read as an
 * option), and NUL bytes are refused (they cannot be in argv).
 *
 * Then the handler spawns the child itself, with posix_spawn in a new session (so the child
 * leads its own process group; posix_spawn is a vfork-like clone that holds the handler thread
 * only until the child's execve, where uv_spawn forks the whole multi-threaded process: 62% of
 * a bare spawn loop's rate), and returns; the running child is handed to mcpd's loop thread,
 * where its exit is watched on a pidfd by a uv_poll and its pipes are read by libuv. Spawning
 * on the loop instead cost a hand-off more per call (handler -> loop -> child -> loop): under
 * load every hand-off waits for the scheduler: 78% of the bare loop's calls/s that way against
 * 174% now, and 1.29 times its CPU per call against 0.99 (bench/mcpd/exec.sh, docs/mcpd.md). The
 * program is looked up in mcpd's PATH once, at configure (find_program), and stdin's /dev/null is
 * opened once: the vfork child then makes one execve and no open. stdout and stderr are read into
 * capped buffers (stdout: the first max_output bytes, after which the group is killed and the text
 * marked truncated; stderr: the last max_stderr bytes), stdin gets the "stdin" argument's value or
 * /dev/null. When the child has exited and both pipes are closed, the call ends: an exit
 * status listed in ok_exit (default [0]) gives stdout as text (or, with "output": "json", as
 * structured content); any other status an isError result with the status and the stderr
 * tail. Cancellation and timeouts send SIGTERM to the whole group and SIGKILL after
 * kill_grace_ms; when the child exits, whatever is left of its group is killed too, so no
 * grandchild outlives the call (except one that made its own session). The environment is
 * only what the entry allows: env_allow names copied from mcpd's environment (default PATH,
 * HOME, LANG, LC_ALL, TZ) and env's fixed values. */
#include "kind.h"
#include "mcpd/args_schema.h"
#include "mcpd/series.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGV      1024
#define MAX_ARG_BYTES (128u << 10)

static const char exec_schema[] =
    "{\"type\":\"object\",\"required\":[\"name\",\"command\"],"
    "\"properties\":{"
    "\"command\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":256,"
    "\"items\":{\"type\":\"string\",\"maxLength\":4096},"
    "\"prefixItems\":[{\"type\":\"string\",\"minLength\":1}]},"
    "\"arguments\":{\"type\":\"object\",\"maxProperties\":64,"
    "\"propertyNames\":{\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]{0,63}$\"},"
    "\"additionalProperties\":{\"type\":\"object\",\"required\":[\"type\"],"
    "\"properties\":{\"type\":{\"enum\":[\"string\",\"integer\",\"number\",\"boolean\","
    "\"array\"]},\"optional\":{\"type\":\"boolean\"},\"flag\":{\"type\":\"string\","
    "\"minLength\":1},\"allow_dash\":{\"type\":\"boolean\"}}}},"
    "\"stdin\":{\"type\":\"string\",\"minLength\":1},"
    "\"cwd\":{\"type\":\"string\",\"minLength\":1},"
    "\"env\":{\"type\":\"object\",\"maxProperties\":64,"
    "\"additionalProperties\":{\"type\":\"string\"}},"
    "\"env_allow\":{\"type\":\"array\",\"maxItems\":64,"
    "\"items\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]*$\"}},"
    "\"max_output\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864},"
    "\"max_stderr\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1048576},"
    "\"ok_exit\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":256,"
    "\"items\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":255}},"
    "\"output\":{\"enum\":[\"text\",\"json\"]},"
    "\"output_schema\":{\"type\":\"object\"},"
    "\"kill_grace_ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60000},"
    "\"health\":{\"type\":\"object\",\"required\":[\"command\"],\"additionalProperties\":false,"
    "\"properties\":{\"command\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":64,"
    "\"items\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096}},"
    "\"interval_ms\":{\"type\":\"integer\",\"minimum\":100,\"maximum\":3600000},"
    "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":10,\"maximum\":600000},"
    "\"unhealthy_after\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100},"
    "\"healthy_after\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}}}"
    "}}";

static const char *const default_env_allow[] = {"PATH", "HOME", "LANG", "LC_ALL", "TZ"};

typedef enum arg_type { A_STRING, A_INTEGER, A_NUMBER, A_BOOLEAN, A_ARRAY } arg_type;

typedef struct exec_arg {
    char *name;
    arg_type type;
    char *flag; /* booleans: the element written when true */
    bool allow_dash;
} exec_arg;

typedef struct exec_tool {
    char **command; /* the template */
    size_t ncommand;
    char *program; /* command[0] found in mcpd's PATH at configure, or NULL (spawned by name) */
    exec_arg *args;
    size_t nargs;
    char *stdin_arg;
    char *cwd;
    char **env; /* NAME=value, fixed part (allowlisted values resolved at configure) */
    size_t nenv;
    size_t max_output, max_stderr;
    int ok_exit[256];
    size_t nok;
    bool json_output;
    uint32_t kill_grace_ms;
    char **health; /* the health command (NULL-terminated), or NULL */
    uint32_t health_timeout_ms;
} exec_tool;

/* ---- configure --------------------------------------------------------------------------- */
static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

static void exec_free(void *inst)
{
    exec_tool *t = inst;
    if (!t) return;
    for (size_t i = 0; i < t->ncommand; i++) free(t->command[i]);
    for (size_t i = 0; i < t->nargs; i++) free(t->args[i].name), free(t->args[i].flag);
    for (size_t i = 0; i < t->nenv; i++) free(t->env[i]);
    for (size_t i = 0; t->health && t->health[i]; i++) free(t->health[i]);
    free(t->health);
    free(t->command), free(t->args), free(t->env), free(t->stdin_arg), free(t->cwd);
    free(t->program);
    free(t);
}

static const exec_arg *find_arg(const exec_tool *t, const char *name, size_t n)
{
    for (size_t i = 0; i < t->nargs; i++)
        if (strlen(t->args[i].name) == n && !memcmp(t->args[i].name, name, n)) return &t->args[i];
    return NULL;
}

/* Checks every {name} in element s; records mistakes at ptr. */
static void check_placeholders(const exec_tool *t, const char *s, const char *ptr, mcpd_errs *errs)
{
    for (const char *p = s; (p = strchr(p, '{')) != NULL;) {
        const char *e = strchr(p, '}');
        if (!e) {
            mcpd_err(errs, ptr, "unclosed '{' in \"%s\": write {name} for an argument", s);
            return;
        }
        const exec_arg *a = find_arg(t, p + 1, (size_t)(e - p - 1));
        if (!a)
            mcpd_err(errs, ptr, "\"{%.*s}\" names no argument: declare it under \"arguments\"",
                     (int)(e - p - 1), p + 1);
        else if ((a->type == A_ARRAY || a->flag) && (p != s || e[1] != '\0'))
            mcpd_err(errs, ptr, "{%s} (%s) must be a whole element of the command, e.g. \"{%s}\"",
                     a->name, a->type == A_ARRAY ? "an array" : "a flag", a->name);
        p = e + 1;
    }
}

static void read_args(exec_tool *t, const mcp_json *args, const char *pointer, mcpd_errs *errs)
{
    static const char *const types[] = {"string", "integer", "number", "boolean", "array"};
    t->nargs = mcp_json_len(args);
    t->args = xcalloc(t->nargs, sizeof *t->args);
    for (size_t i = 0; i < t->nargs; i++) {
        const char *name;
        const mcp_json *spec = mcp_json_member(args, i, &name, NULL);
        exec_arg *a = &t->args[i];
        a->name = xstrdup(name);
        const char *ty = mcp_json_str(mcp_json_get(spec, "type"), NULL);
        for (size_t k = 0; ty && k < 5; k++)
            if (!strcmp(ty, types[k])) a->type = (arg_type)k;
        const char *flag = mcp_json_str(mcp_json_get(spec, "flag"), NULL);
        char ptr[512];
        snprintf(ptr, sizeof ptr, "%s/arguments/%s", pointer, name);
        if (flag && a->type != A_BOOLEAN)
            mcpd_err(errs, ptr, "\"flag\" is for boolean arguments, this one is a %s", ty);
        if (a->type == A_BOOLEAN && !flag)
            mcpd_err(errs, ptr,
                     "a boolean argument needs a \"flag\": the element written when it is true");
        const char *it = mcp_json_str(mcp_json_get(mcp_json_get(spec, "items"), "type"), NULL);
        if (a->type == A_ARRAY && (!it || (strcmp(it, "string") && strcmp(it, "integer"))))
            mcp_json_get(spec, "items")
                ? mcpd_err(errs, ptr, "array items must be {\"type\": \"string\"} or integer")
                : mcpd_err(errs, ptr, "an array argument needs \"items\": {\"type\": \"string\"}");
        a->flag = flag ? xstrdup(flag) : NULL;
        mcp_json_bool(mcp_json_get(spec, "allow_dash"), &a->allow_dash);
    }
}

static void read_env(exec_tool *t, const mcp_json *e)
{
    const mcp_json *env = mcp_json_get(e, "env"), *allow = mcp_json_get(e, "env_allow");
    size_t nallow = allow ? mcp_json_len(allow) : sizeof default_env_allow / sizeof(char *);
    t->env = xcalloc(mcp_json_len(env) + nallow + 1, sizeof *t->env);
    for (size_t i = 0; i < nallow; i++) {
        const char *name = allow ? mcp_json_str(mcp_json_at(allow, i), NULL) : default_env_allow[i];
        const char *val = getenv(name);
        if (!val || mcp_json_get(env, name)) continue;
        size_t n = strlen(name) + strlen(val) + 2;
        t->env[t->nenv] = malloc(n);
        if (!t->env[t->nenv]) abort();
        snprintf(t->env[t->nenv++], n, "%s=%s", name, val);
    }
    for (size_t i = 0; i < mcp_json_len(env); i++) {
        const char *name;
        const char *val = mcp_json_str(mcp_json_member(env, i, &name, NULL), NULL);
        size_t n = strlen(name) + strlen(val) + 2;
        t->env[t->nenv] = malloc(n);
        if (!t->env[t->nenv]) abort();
        snprintf(t->env[t->nenv++], n, "%s=%s", name, val);
    }
}

/* The program's path as execvp would find it in mcpd's PATH now (malloc'd), looked up once here
 * rather than by each spawn (posix_spawnp tries every PATH entry before it in the child, while
 * the spawning thread waits: nine failed execve per call with this machine's PATH). NULL when
 * the name holds a '/' (no search), when it is not found (each spawn then searches and reports
 * the error), or when a relative PATH entry comes first (it would be relative to the tool's
 * cwd in the child). Like a shell's hash table: a spawn that finds the file gone searches
 * again; a reload looks again. */
static char *find_program(const char *name)
{
    const char *path = getenv("PATH");
    if (strchr(name, '/') || !path) return NULL;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        if (n == 0 || p[0] != '/') return NULL;
        size_t len = n + strlen(name) + 2;
        char *f = malloc(len);
        if (!f) abort();
        snprintf(f, len, "%.*s/%s", (int)n, p, name);
        struct stat st;
        if (stat(f, &st) == 0 && S_ISREG(st.st_mode) && access(f, X_OK) == 0) return f;
        free(f);
        p += n + (p[n] == ':');
    }
    return NULL;
}

static int exec_configure(const mcpd_env *env, const mcp_json *e, const char *pointer,
                          mcpd_tools *tools, mcpd_errs *errs, void **inst)
{
    size_t before = mcpd_err_count(errs);
    exec_tool *t = xcalloc(1, sizeof *t);
    read_args(t, mcp_json_get(e, "arguments"), pointer, errs);
    const mcp_json *cmd = mcp_json_get(e, "command");
    t->ncommand = mcp_json_len(cmd);
    t->command = xcalloc(t->ncommand, sizeof *t->command);
    for (size_t i = 0; i < t->ncommand; i++) {
        char ptr[512];
        snprintf(ptr, sizeof ptr, "%s/command/%zu", pointer, i);
        const char *s = mcp_json_str(mcp_json_at(cmd, i), NULL);
        t->command[i] = xstrdup(s);
        if (i == 0 && strchr(s, '{'))
            mcpd_err(errs, ptr, "the program must be a fixed path, not filled from an argument");
        else
            check_placeholders(t, s, ptr, errs);
    }
    const char *in = mcp_json_str(mcp_json_get(e, "stdin"), NULL);
    if (in) {
        char ptr[512];
        snprintf(ptr, sizeof ptr, "%s/stdin", pointer);
        const exec_arg *a = find_arg(t, in, strlen(in));
        if (!a || a->type != A_STRING)
            mcpd_err(errs, ptr, "\"%s\" must name a string argument declared under \"arguments\"",
                     in);
        t->stdin_arg = xstrdup(in);
    }
    const char *cwd = mcp_json_str(mcp_json_get(e, "cwd"), NULL);
    if (cwd && cwd[0] != '/') {
        size_t n = strlen(env->config_dir) + strlen(cwd) + 2;
        t->cwd = malloc(n);
        if (!t->cwd) abort();
        snprintf(t->cwd, n, "%s/%s", env->config_dir, cwd);
    } else if (cwd) {
        t->cwd = xstrdup(cwd);
    }
    read_env(t, e);
    if (t->ncommand) t->program = find_program(t->command[0]);
    int64_t v;
    t->max_output = mcp_json_int(mcp_json_get(e, "max_output"), &v) ? (size_t)v : 65536;
    t->max_stderr = mcp_json_int(mcp_json_get(e, "max_stderr"), &v) ? (size_t)v : 4096;
    t->kill_grace_ms = mcp_json_int(mcp_json_get(e, "kill_grace_ms"), &v) ? (uint32_t)v : 1000;
    const mcp_json *ok = mcp_json_get(e, "ok_exit");
    for (size_t i = 0; i < mcp_json_len(ok); i++)
        if (mcp_json_int(mcp_json_at(ok, i), &v)) t->ok_exit[t->nok++] = (int)v;
    if (!ok) t->ok_exit[t->nok++] = 0;
    const char *out = mcp_json_str(mcp_json_get(e, "output"), NULL);
    t->json_output = out && !strcmp(out, "json");
    const mcp_json *hc = mcp_json_get(mcp_json_get(e, "health"), "command");
    if (hc) {
        t->health = xcalloc(mcp_json_len(hc) + 1, sizeof *t->health);
        for (size_t i = 0; i < mcp_json_len(hc); i++) {
            const char *s = mcp_json_str(mcp_json_at(hc, i), NULL);
            t->health[i] = xstrdup(s);
            char ptr[512];
            snprintf(ptr, sizeof ptr, "%s/health/command/%zu", pointer, i);
            if (strchr(s, '{'))
                mcpd_err(errs, ptr, "the health command takes no arguments: \"%s\" is not filled",
                         s);
        }
        t->health_timeout_ms =
            mcp_json_int(mcp_json_get(mcp_json_get(e, "health"), "timeout_ms"), &v) ? (uint32_t)v
                                                                                    : 5000;
    }
    if (mcpd_err_count(errs) != before) {
        exec_free(t);
        return -1;
    }
    static const char *const ours[] = {"flag", "allow_dash"};
    char *isch = mcpd_args_schema(mcp_json_get(e, "arguments"), ours, 2);
    char *osch = mcp_json_text(mcp_json_get(e, "output_schema"), NULL);
    mcpd_tool_spec spec = {.input_schema = isch,
                           .output_schema = osch,
                           .tool = t,
                           .spawns = true,
                           .health = mcp_json_get(e, "health")};
    int rc = mcpd_tools_add(tools, &spec, NULL, errs);
    free(isch);
    free(osch);
    if (rc != 0) {
        exec_free(t);
        return -1;
    }
    *inst = t;
    return 0;
}

/* ---- filling the template ---------------------------------------------------------------- */
typedef struct strv {
    char **v;
    size_t n, cap;
} strv;

static void strv_push(strv *s, char *x)
{
    if (s->n + 2 > s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) abort();
    }
    s->v[s->n++] = x;
    s->v[s->n] = NULL;
}

static void strv_free(strv *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
}

/* The text of a scalar argument value (malloc'd), or NULL with a reason in why. */
static char *value_text(const exec_arg *a, const mcp_json *v, char *why, size_t whysize)
{
    char num[64];
    const char *s = NULL;
    size_t len = 0;
    int64_t i;
    double d;
    if (mcp_json_typeof(v) == MCP_JSON_STRING) {
        s = mcp_json_str(v, &len);
        if (memchr(s, '\0', len)) {
            snprintf(why, whysize, "argument %s contains a NUL byte, which cannot be passed",
                     a->name);
            return NULL;
        }
        if (s[0] == '-' && !a->allow_dash) {
            snprintf(why, whysize,
                     "argument %s must not start with '-' (the program would read it as an "
                     "option)",
                     a->name);
            return NULL;
        }
    } else if (mcp_json_int(v, &i)) {
        snprintf(num, sizeof num, "%lld", (long long)i);
        s = num;
    } else if (mcp_json_double(v, &d)) {
        snprintf(num, sizeof num, "%.17g", d);
        s = num;
    } else {
        snprintf(why, whysize, "argument %s: expected a %s", a->name, mcp_json_type_name(v));
        return NULL;
    }
    return xstrdup(s);
}

/* Fills template element tpl into argv. Returns 0, or -1 with a reason in why. */
static int fill_element(const exec_tool *t, const char *tpl, const mcp_json *args, strv *argv,
                        char *why, size_t whysize)
{
    const char *open = strchr(tpl, '{');
    if (!open) {
        strv_push(argv, xstrdup(tpl));
        return 0;
    }
    const char *close = strchr(open, '}');
    const exec_arg *a = find_arg(t, open + 1, (size_t)(close - open - 1));
    const mcp_json *v = mcp_json_get(args, a->name);
    if (open == tpl && close[1] == '\0') { /* a whole element */
        if (!v) return 0;
        if (a->type == A_BOOLEAN) {
            bool b = false;
            if (mcp_json_bool(v, &b) && b) strv_push(argv, xstrdup(a->flag));
            return 0;
        }
        if (a->type == A_ARRAY) {
            for (size_t i = 0; i < mcp_json_len(v); i++) {
                char *x = value_text(a, mcp_json_at(v, i), why, whysize);
                if (!x) return -1;
                strv_push(argv, x);
            }
            return 0;
        }
        char *x = value_text(a, v, why, whysize);
        if (!x) return -1;
        strv_push(argv, x);
        return 0;
    }
    /* placeholders inside a longer element: all must be present */
    size_t cap = strlen(tpl) + 1, len = 0;
    char *out = malloc(cap);
    if (!out) abort();
    for (const char *p = tpl; *p;) {
        const char *o = strchr(p, '{');
        size_t lit = o ? (size_t)(o - p) : strlen(p);
        const char *piece = p;
        char *val = NULL;
        if (lit == 0) {
            const char *c = strchr(o, '}');
            const exec_arg *x = find_arg(t, o + 1, (size_t)(c - o - 1));
            const mcp_json *xv = mcp_json_get(args, x->name);
            if (!xv) {
                free(out);
                return 0; /* an absent argument drops the element */
            }
            val = value_text(x, xv, why, whysize);
            if (!val) {
                free(out);
                return -1;
            }
            piece = val;
            lit = strlen(val);
            p = c + 1;
        } else {
            p += lit;
        }
        while (len + lit + 1 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            if (!out) abort();
        }
        memcpy(out + len, piece, lit);
        len += lit;
        free(val);
    }
    out[len] = '\0';
    strv_push(argv, out);
    return 0;
}

/* ---- running ----------------------------------------------------------------------------- */
/* Closes a pidfd with the raw system call that opened it (pidfd_open has no libc wrapper here).
 * ThreadSanitizer then sees neither: with close(3) it saw only the close, of a number it still
 * took for a socket that libuv had closed with a raw close(2) on another thread, and reported a
 * race on that descriptor. */
static void close_pidfd(int fd)
{
    syscall(SYS_close, fd);
}

typedef struct job {
    mcpd_call *call;
    const exec_tool *t;
    strv argv;
    char *in;
    size_t in_len;
    int pid, pidfd;
    uv_poll_t exitw; /* the pidfd: readable when the child exits */
    uv_pipe_t out, err, inp;
    uv_write_t wreq;
    uv_timer_t kill_timer;
    int handles; /* open handles; the call ends when the last one closed */
    char *obuf;
    size_t olen;
    bool truncated;
    char *ebuf; /* the stderr tail: the last max_stderr bytes */
    size_t elen;
    bool exited, out_done, err_done, stopping;
    int64_t status;
    int term_signal;
    int fds[3]; /* from the spawn to the loop: stdin's write end (or -1), stdout, stderr */
} job;

static void job_free(job *j)
{
    strv_free(&j->argv);
    free(j->in), free(j->obuf), free(j->ebuf);
    free(j);
}

static void kill_group(job *j, int sig)
{
    if (j->pid > 0) kill(-j->pid, sig);
}

static bool ok_status(const exec_tool *t, int64_t s)
{
    for (size_t i = 0; i < t->nok; i++)
        if (t->ok_exit[i] == s) return true;
    return false;
}

/* Ends the call from what the child produced. Loop thread, after every handle closed. */
static void job_answer(job *j)
{
    mcpd_call *c = j->call;
    const exec_tool *t = j->t;
    mcp_ctx *ctx = mcpd_call_ctx(c);
    if (mcpd_call_cancelled(c)) {
        mcpd_call_finish(c, MCPD_CANCELLED);
    } else if (!j->truncated && j->term_signal) {
        mcpd_call_fail(c, MCPD_TOOL_ERROR, "%s was killed by signal %d%s%.*s", j->argv.v[0],
                       j->term_signal, j->elen ? "; stderr:\n" : "", (int)j->elen, j->ebuf);
    } else if (!j->truncated && !ok_status(t, j->status)) {
        mcpd_call_fail(c, MCPD_TOOL_ERROR, "%s exited with status %lld%s%.*s", j->argv.v[0],
                       (long long)j->status, j->elen ? "; stderr:\n" : "", (int)j->elen, j->ebuf);
    } else if (t->json_output) {
        mcp_json_error perr;
        mcp_json_doc *d = j->truncated ? NULL : mcp_json_parse(j->obuf, j->olen, 0, &perr);
        if (!d || mcp_json_typeof(mcp_json_root(d)) != MCP_JSON_OBJECT) {
            mcp_json_doc_free(d);
            mcpd_call_fail(c, MCPD_TOOL_ERROR, "%s did not print a JSON object: %s", j->argv.v[0],
                           j->truncated ? "the output was truncated"
                           : d          ? "the value is not an object"
                                        : perr.message);
            return;
        }
        mcp_json_doc_free(d);
        mcp_ctx_textn(ctx, j->olen ? j->obuf : "", j->olen);
        mcp_ctx_structured(ctx, j->obuf);
        mcpd_call_finish(c, MCPD_OK);
    } else {
        if (j->truncated) {
            char note[128];
            int n = snprintf(note, sizeof note,
                             "\n[mcpd: output truncated at %zu bytes; the program was stopped]",
                             t->max_output);
            mcp_ctx_textn(ctx, j->obuf, j->olen);
            mcp_ctx_textn(ctx, note, (size_t)n);
        } else {
            mcp_ctx_textn(ctx, j->obuf ? j->obuf : "", j->olen);
        }
        mcpd_call_finish(c, MCPD_OK);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    job *j = h->data;
    if (--j->handles > 0) return;
    job_answer(j);
    job_free(j);
}

static void on_exitw_closed(uv_handle_t *h)
{
    job *j = h->data;
    if (j->pidfd >= 0) close_pidfd(j->pidfd);
    on_handle_closed(h);
}

static void close_handle(job *j, uv_handle_t *h)
{
    if (!uv_is_closing(h)) uv_close(h, on_handle_closed);
}

/* Once the child exited and both pipes are done, closes everything. */
static void maybe_done(job *j)
{
    if (!j->exited || !j->out_done || !j->err_done) return;
    if (!uv_is_closing((uv_handle_t *)&j->exitw))
        uv_close((uv_handle_t *)&j->exitw, on_exitw_closed);
    close_handle(j, (uv_handle_t *)&j->out);
    close_handle(j, (uv_handle_t *)&j->err);
    close_handle(j, (uv_handle_t *)&j->inp);
    close_handle(j, (uv_handle_t *)&j->kill_timer);
}

static void on_kill_timer(uv_timer_t *tm)
{
    job *j = tm->data;
    if (!j->exited) kill_group(j, SIGKILL);
}

/* Stops the child: SIGTERM to the group, SIGKILL after the grace period. */
static void stop_child(job *j)
{
    if (j->stopping || j->exited) return;
    j->stopping = true;
    mcpd_count(MCPD_CHILDREN_KILLED, 1);
    kill_group(j, j->t->kill_grace_ms ? SIGTERM : SIGKILL);
    if (j->t->kill_grace_ms) uv_timer_start(&j->kill_timer, on_kill_timer, j->t->kill_grace_ms, 0);
}

static void on_child_exit(uv_poll_t *p, int status, int events)
{
    job *j = p->data;
    int st = 0;
    pid_t r;
    do {
        r = waitpid(j->pid, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return; /* not yet */
    uv_poll_stop(p);
    j->exited = true;
    mcpd_count(MCPD_CHILDREN_RUNNING, -1);
    j->status = r > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    j->term_signal = r > 0 && WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    kill_group(j, SIGKILL); /* whatever it left behind in its group */
    uv_timer_stop(&j->kill_timer);
    maybe_done(j);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static _Thread_local char buf[65536];
    *b = uv_buf_init(buf, sizeof buf);
}

static void on_out(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    job *j = s->data;
    if (n < 0) {
        uv_read_stop(s);
        j->out_done = true;
        maybe_done(j);
        return;
    }
    size_t room = j->t->max_output - j->olen, take = (size_t)n < room ? (size_t)n : room;
    if (take) {
        if (!j->obuf) {
            j->obuf = malloc(j->t->max_output + 1);
            if (!j->obuf) abort();
        }
        memcpy(j->obuf + j->olen, b->base, take);
        j->olen += take;
        j->obuf[j->olen] = '\0';
    }
    if ((size_t)n > take) { /* over the cap: stop reading and stop the program */
        j->truncated = true;
        uv_read_stop(s);
        j->out_done = true;
        stop_child(j);
        kill_group(j, SIGKILL);
        maybe_done(j);
    }
}

static void on_err(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    job *j = s->data;
    if (n < 0) {
        uv_read_stop(s);
        j->err_done = true;
        maybe_done(j);
        return;
    }
    size_t cap = j->t->max_stderr;
    if (!cap) return;
    if (!j->ebuf) {
        j->ebuf = malloc(cap);
        if (!j->ebuf) abort();
    }
    const char *src = b->base;
    size_t len = (size_t)n;
    if (len >= cap) {
        src += len - cap;
        len = cap;
        j->elen = 0;
    } else if (j->elen + len > cap) {
        size_t drop = j->elen + len - cap;
        memmove(j->ebuf, j->ebuf + drop, j->elen - drop);
        j->elen -= drop;
    }
    memcpy(j->ebuf + j->elen, src, len);
    j->elen += len;
}

static void on_written(uv_write_t *w, int status)
{
    job *j = w->data;
    close_handle(j, (uv_handle_t *)&j->inp); /* EOF for the child */
}

/* Spawns argv with env in a session of its own, fa's file actions and cwd (may be NULL), every
 * signal at its default and none blocked; destroys fa. path is the program's file (posix_spawn)
 * or NULL: argv[0] is then looked up in mcpd's PATH (posix_spawnp), as it is when path names a
 * file that has gone since configure. Returns 0 with *pid set, or the errno. */
static int spawn_session(pid_t *pid, posix_spawn_file_actions_t *fa, const char *cwd,
                         const char *path, char *const argv[], char *const env[])
{
    if (cwd) posix_spawn_file_actions_addchdir_np(fa, cwd);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = path ? posix_spawn(pid, path, fa, &at, argv, env) : ENOENT;
    if (rc == ENOENT) rc = posix_spawnp(pid, argv[0], fa, &at, argv, env);
    posix_spawn_file_actions_destroy(fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

/* pipe2 straight through the system call, as libuv makes and closes its descriptors: the
 * ends read by the loop are closed by libuv with a raw close, and ThreadSanitizer, which saw an
 * intercepted pipe2 but not that close, would take the next accept() of the same number on an
 * HTTP worker for a race. */
static int raw_pipe(int fds[2])
{
    return (int)syscall(SYS_pipe2, fds, O_CLOEXEC);
}

/* ... and the spawning thread closes them the same way (the child's ends after the spawn; all
 * of them on a failure): TSan would otherwise pair an intercepted close on a handler thread
 * with the loop's last epoll_ctl on an earlier descriptor of the same number, which libuv
 * closed out of its sight. */
static void raw_close(int fd)
{
    syscall(SYS_close, fd);
}

/* /dev/null, opened once for every child's stdin (a dup2 in the child instead of an open, which
 * walks the path while the spawning thread waits). Never closed. */
static int devnull_fd = -1;
static pthread_once_t devnull_once = PTHREAD_ONCE_INIT;

static void devnull_open(void)
{
    devnull_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Starts the child on the calling thread with posix_spawn (a vfork-like clone in glibc: far
 * cheaper than the fork of a large multi-threaded process that uv_spawn makes; this thread waits
 * only until the child has called execve) in a new session, its stdout and stderr on pipes,
 * stdin on a pipe or /dev/null, and opens its pidfd. Sets j->pid, j->pidfd and j->fds (stdin's
 * write end or -1, stdout's and stderr's read ends). Returns 0 or a negative errno (nothing
 * left open, no child left running). */
static int start_child(job *j)
{
    int in[2] = {-1, -1}, out[2], err[2];
    pthread_once(&devnull_once, devnull_open);
    if (!j->in && devnull_fd < 0) return -ENOENT;
    if (raw_pipe(out)) return -errno;
    if (raw_pipe(err)) {
        int e = -errno;
        raw_close(out[0]), raw_close(out[1]);
        return e;
    }
    if (j->in && raw_pipe(in)) {
        int e = -errno;
        raw_close(out[0]), raw_close(out[1]), raw_close(err[0]), raw_close(err[1]);
        return e;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, j->in ? in[0] : devnull_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    pid_t pid;
    int rc = spawn_session(&pid, &fa, j->t->cwd, j->t->program, j->argv.v, j->t->env);
    raw_close(out[1]), raw_close(err[1]);
    if (in[0] >= 0) raw_close(in[0]);
    if (rc != 0) {
        raw_close(out[0]), raw_close(err[0]);
        if (in[1] >= 0) raw_close(in[1]);
        return -rc;
    }
    j->pid = pid;
    j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    j->fds[0] = in[1], j->fds[1] = out[0], j->fds[2] = err[0];
    if (j->pidfd < 0) { /* no pidfd (kernel before 5.3): cannot watch the exit */
        int e = -errno;
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        raw_close(out[0]), raw_close(err[0]);
        if (in[1] >= 0) raw_close(in[1]);
        return e;
    }
    return 0;
}

/* The loop's side of a running child: its pidfd and pipes become handles of the loop. */
static void watch_on_loop(uv_loop_t *loop, void *ud)
{
    job *j = ud;
    uv_pipe_init(loop, &j->out, 0);
    uv_pipe_init(loop, &j->err, 0);
    uv_pipe_init(loop, &j->inp, 0);
    uv_timer_init(loop, &j->kill_timer);
    mcpd_count(MCPD_CHILDREN_RUNNING, 1); /* on_child_exit takes it off */
    uv_poll_init(loop, &j->exitw, j->pidfd);
    j->out.data = j->err.data = j->inp.data = j->kill_timer.data = j->exitw.data = j;
    j->handles = 5;
    uv_pipe_open(&j->out, j->fds[1]);
    uv_pipe_open(&j->err, j->fds[2]);
    if (j->fds[0] >= 0) uv_pipe_open(&j->inp, j->fds[0]);
    mcpd_call_set_data(j->call, j);
    uv_poll_start(&j->exitw, UV_READABLE, on_child_exit);
    uv_read_start((uv_stream_t *)&j->out, on_alloc, on_out);
    uv_read_start((uv_stream_t *)&j->err, on_alloc, on_err);
    if (j->in) {
        uv_buf_t b = uv_buf_init(j->in, (unsigned)j->in_len);
        j->wreq.data = j;
        if (uv_write(&j->wreq, (uv_stream_t *)&j->inp, &b, 1, on_written) != 0)
            close_handle(j, (uv_handle_t *)&j->inp);
    }
    if (mcpd_call_cancelled(j->call)) stop_child(j);
}

/* Handler thread: fills the template, spawns the child here (the spawn costs this thread only
 * the vfork's wait for execve; the loop thread would add a hand-off per call), then hands the
 * running child to the loop, which reads its output and sees its exit. */
static void exec_call(void *inst, mcpd_call *c)
{
    exec_tool *t = mcpd_call_tool(c);
    const mcp_json *args = mcpd_call_args(c);
    job *j = xcalloc(1, sizeof *j);
    j->call = c;
    j->t = t;
    j->pidfd = -1;
    char why[256];
    size_t total = 0;
    for (size_t i = 0; i < t->ncommand; i++) {
        if (fill_element(t, t->command[i], args, &j->argv, why, sizeof why) != 0) {
            job_free(j);
            mcpd_call_fail(c, MCPD_TOOL_ERROR, "%s", why);
            return;
        }
    }
    for (size_t i = 0; i < j->argv.n; i++) total += strlen(j->argv.v[i]) + 1;
    if (j->argv.n > MAX_ARGV || total > MAX_ARG_BYTES) {
        job_free(j);
        mcpd_call_fail(c, MCPD_TOOL_ERROR,
                       "the command line would be too long (%zu elements, %zu bytes; at most "
                       "%u and %u)",
                       j->argv.n, total, MAX_ARGV, MAX_ARG_BYTES);
        return;
    }
    if (t->stdin_arg) {
        size_t len = 0;
        const char *s = mcp_json_str(mcp_json_get(args, t->stdin_arg), &len);
        j->in = malloc(len + 1);
        if (!j->in) abort();
        memcpy(j->in, s ? s : "", len);
        j->in_len = len;
    }
    int rc = start_child(j);
    if (rc != 0) {
        mcpd_call_fail(c, MCPD_BACKEND_ERROR, "cannot run %s: %s", j->argv.v[0], uv_strerror(rc));
        job_free(j);
        return;
    }
    mcpd_count(MCPD_CHILDREN_SPAWNED, 1);
    if (mcpd_loop_post(watch_on_loop, j) != 0) { /* stopping: nobody would watch the child */
        kill(-j->pid, SIGKILL);
        mcpd_count(MCPD_CHILDREN_KILLED, 1);
        waitpid(j->pid, NULL, 0);
        raw_close(j->pidfd), raw_close(j->fds[1]), raw_close(j->fds[2]);
        if (j->fds[0] >= 0) raw_close(j->fds[0]);
        job_free(j);
        mcpd_call_fail(c, MCPD_CANCELLED, "mcpd is stopping");
    }
}

static void exec_cancel(void *inst, mcpd_call *c)
{
    job *j = mcpd_call_data(c);
    if (j) stop_child(j); /* not spawned yet: spawn_on_loop sees the call cancelled */
}

/* ---- health probes: the entry's health command, exit status 0 = healthy -------------------- */
typedef struct probe {
    strv argv, env;
    char *cwd;
    uint32_t timeout_ms;
    mcpd_health_done done;
    void *done_ud;
    int pid, pidfd;
    uv_poll_t exitw;
    uv_timer_t timer;
    int handles;
} probe;

static void probe_free(probe *p)
{
    strv_free(&p->argv);
    strv_free(&p->env);
    free(p->cwd);
    free(p);
}

static void probe_closed(uv_handle_t *h)
{
    probe *p = h->data;
    if (--p->handles > 0) return;
    if (p->pidfd >= 0) close_pidfd(p->pidfd);
    probe_free(p);
}

static void probe_exit(uv_poll_t *w, int status, int events)
{
    probe *p = w->data;
    int st = 0;
    pid_t r;
    do {
        r = waitpid(p->pid, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return;
    uv_poll_stop(w);
    kill(-p->pid, SIGKILL);
    char why[160] = "";
    bool ok = r > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (r > 0 && WIFEXITED(st) && !ok)
        snprintf(why, sizeof why, "health command %s exited with status %d", p->argv.v[0],
                 WEXITSTATUS(st));
    else if (r > 0 && WIFSIGNALED(st))
        snprintf(why, sizeof why, "health command %s was killed by signal %d", p->argv.v[0],
                 WTERMSIG(st));
    p->done(p->done_ud, ok, ok ? NULL : why);
    uv_close((uv_handle_t *)&p->exitw, probe_closed);
    uv_close((uv_handle_t *)&p->timer, probe_closed);
}

static void probe_timeout(uv_timer_t *tm)
{
    probe *p = tm->data;
    kill(-p->pid, SIGKILL); /* its exit then reports the failure */
}

static void probe_on_loop(uv_loop_t *loop, void *ud)
{
    probe *p = ud;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int fd = 0; fd < 3; fd++)
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
    pid_t pid = 0;
    int rc = spawn_session(&pid, &fa, p->cwd, NULL, p->argv.v, p->env.v);
    p->pidfd = rc ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
    if (rc || p->pidfd < 0) {
        char why[160];
        snprintf(why, sizeof why, "cannot run the health command %s: %s", p->argv.v[0],
                 strerror(rc ? rc : errno));
        if (!rc) {
            kill(-pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        p->done(p->done_ud, false, why);
        probe_free(p);
        return;
    }
    p->pid = pid;
    p->handles = 2;
    uv_poll_init(loop, &p->exitw, p->pidfd);
    uv_timer_init(loop, &p->timer);
    p->exitw.data = p->timer.data = p;
    uv_poll_start(&p->exitw, UV_READABLE, probe_exit);
    uv_timer_start(&p->timer, probe_timeout, p->timeout_ms, 0);
}

/* Starts a probe; copies what it needs (the instance may be freed before it runs). */
static void exec_health(void *inst, mcpd_health_done done, void *done_ud)
{
    exec_tool *t = inst;
    probe *p = xcalloc(1, sizeof *p);
    for (size_t i = 0; t->health[i]; i++) strv_push(&p->argv, xstrdup(t->health[i]));
    for (size_t i = 0; i < t->nenv; i++) strv_push(&p->env, xstrdup(t->env[i]));
    if (!p->env.v) strv_push(&p->env, xstrdup("PATH=/usr/bin:/bin"));
    p->cwd = t->cwd ? xstrdup(t->cwd) : NULL;
    p->timeout_ms = t->health_timeout_ms;
    p->done = done;
    p->done_ud = done_ud;
    p->pidfd = -1;
    if (mcpd_loop_post(probe_on_loop, p) != 0) {
        done(done_ud, false, "mcpd is stopping");
        probe_free(p);
    }
}

const mcpd_kind mcpd_kind_exec = {
    .version = MCPD_KIND_VERSION,
    .name = "exec",
    .config_schema = exec_schema,
    .configure = exec_configure,
    .call = exec_call,
    .cancel = exec_cancel,
    .health = exec_health,
    .free = exec_free,
};
