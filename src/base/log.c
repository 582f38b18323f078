/* log.c - the library's log: a level filter, then one write(2) per line to stderr (so threads
 * never interleave) or one call of the embedder's callback.
 *
 * Four internal levels (debug, info, warn, error) map onto the public mcp_log_level (debug,
 * info, warning, error). The name and the callback are process-wide settings guarded by one
 * mutex, held only to copy them: events are rare (start, stop, a timeout, dropped input), so a
 * lock costs nothing measurable and keeps a name change or a callback swap safe while other
 * threads log. The callback is called without the lock. */
#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int min_level = -1;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char prog[64];       /* under mu; empty: the program's own name */
static mcp_log_fn callback; /* under mu */
static void *callback_ud;   /* under mu */
static const char *const names[] = {"debug", "info", "warn", "error"};
static const mcp_log_level public_level[] = {MCP_LOG_DEBUG, MCP_LOG_INFO, MCP_LOG_WARNING,
                                             MCP_LOG_ERROR};

int mcp_log_set_level(mcp_log_level level)
{
    int l = level <= MCP_LOG_DEBUG     ? MCP_LOGL_DEBUG
            : level <= MCP_LOG_NOTICE  ? MCP_LOGL_INFO
            : level <= MCP_LOG_WARNING ? MCP_LOGL_WARN
                                       : MCP_LOGL_ERROR;
    atomic_store(&min_level, l);
    return 0;
}

int mcp_log_set_name(const char *name)
{
    pthread_mutex_lock(&mu);
    snprintf(prog, sizeof prog, "%s", name ? name : "");
    pthread_mutex_unlock(&mu);
    return 0;
}

int mcp_log_set_callback(mcp_log_fn fn, void *ud)
{
    pthread_mutex_lock(&mu);
    callback = fn;
    callback_ud = ud;
    pthread_mutex_unlock(&mu);
    return 0;
}

static int current_level(void)
{
    int l = atomic_load(&min_level);
    if (l >= 0) return l;
    const char *env = getenv("MCPD_LOG");
    l = MCP_LOGL_INFO;
    for (int i = 0; env && i < 4; i++)
        if (strcmp(env, names[i]) == 0) l = i;
    atomic_store(&min_level, l);
    return l;
}

void mcp_log(int level, const char *fmt, ...)
{
    if (level < current_level()) return;
    if (level < 0 || level > MCP_LOGL_ERROR) level = MCP_LOGL_ERROR;
    char line[1024];
    pthread_mutex_lock(&mu);
    mcp_log_fn fn = callback;
    void *ud = callback_ud;
    int n = fn ? 0
               : snprintf(line, sizeof line,
                          "%s: %s: ", prog[0] ? prog : program_invocation_short_name, names[level]);
    pthread_mutex_unlock(&mu);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2; /* truncated message */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' '; /* one event, one line */
    if (fn) {
        line[len] = '\0';
        fn(public_level[level], line, ud);
        return;
    }
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
