/* log.c - stderr logging: a level filter, one write(2) per line so threads never interleave. */
#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int min_level = -1;
static const char *prog = "mcpd";
static const char *const names[] = {"debug", "info", "warn", "error"};

void mcp_log_set_level(int level)
{
    atomic_store(&min_level, level);
}

void mcp_log_set_name(const char *name)
{
    prog = name;
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
    int n = snprintf(line, sizeof line, "%s: %s: ", prog, names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2; /* truncated message */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' '; /* one event, one line */
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
