/* metrics_api.c - the program's own series (include/mcp/metrics.h) on an mcp_server.
 *
 * They live in an rt_metrics set of one shard made on the first registration: a program's
 * series are updated rarely (a breaker trips, a child starts), so one shard costs nothing and
 * lets a gauge be set, not only moved. The HTTP transport renders them after its own. */
#include "mcp/metrics.h"

#include "mcp/registry.h"
#include "rt/metrics.h"

#include <string.h>

static bool name_ok(const char *n)
{
    if (!n || !*n || strlen(n) > 200) return false;
    for (const char *p = n; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p > n && c >= '0' && c <= '9')) return false;
    }
    return true;
}

/* k="v" pairs, comma-separated, names as metric names without ':', values without '"',
 * '\\' or control characters. */
static bool labels_ok(const char *l)
{
    if (!l || !*l) return true;
    if (strlen(l) > 400) return false;
    const char *p = l;
    for (;;) {
        const char *k = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
               (p > k && *p >= '0' && *p <= '9'))
            p++;
        if (p == k || *p++ != '=' || *p++ != '"') return false;
        while (*p && *p != '"') {
            if (*p == '\\' || (unsigned char)*p < 0x20) return false;
            p++;
        }
        if (*p++ != '"') return false;
        if (!*p) return true;
        if (*p++ != ',') return false;
    }
}

static int reg(mcp_server *s, const char *name, const char *labels, const char *help, bool counter)
{
    if (!s || !name_ok(name) || !labels_ok(labels) || (help && strchr(help, '\n')))
        return MCP_EINVAL;
    if (!s->app_metrics) s->app_metrics = rt_metrics_new(1);
    return counter ? rt_metrics_counter(s->app_metrics, name, labels, help)
                   : rt_metrics_gauge(s->app_metrics, name, labels, help);
}

int mcp_metrics_counter(mcp_server *s, const char *name, const char *labels, const char *help)
{
    return reg(s, name, labels, help, true);
}

int mcp_metrics_gauge(mcp_server *s, const char *name, const char *labels, const char *help)
{
    return reg(s, name, labels, help, false);
}

void mcp_metrics_add(mcp_server *s, int id, int64_t delta)
{
    if (s && s->app_metrics && id >= 0) rt_metrics_add(s->app_metrics, 0, id, delta);
}

void mcp_metrics_set(mcp_server *s, int id, int64_t value)
{
    if (s && s->app_metrics && id >= 0) rt_metrics_set(s->app_metrics, id, value);
}

int64_t mcp_metrics_get(mcp_server *s, int id)
{
    return s && s->app_metrics && id >= 0 ? rt_metrics_get(s->app_metrics, id) : 0;
}

void mcp_server_metrics_render(mcp_server *s, mcp_buf *b)
{
    if (s->app_metrics) rt_metrics_render(s->app_metrics, b);
}

bool mcp_server_metrics_find(mcp_server *s, const char *name, const char *labels, int64_t *value)
{
    int id = s->app_metrics ? rt_metrics_find(s->app_metrics, name, labels) : -1;
    if (id < 0) return false;
    *value = rt_metrics_get(s->app_metrics, id);
    return true;
}
