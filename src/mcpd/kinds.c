/* kinds.c - the table of tool kinds built into mcpd, and lookups in it.
 *
 * This is the one place that names the kinds (kind.h): config.c finds a tool entry's kind here
 * by its "kind" string and never switches on names again. Each kind lives in its own file and
 * exports one `const mcpd_kind mcpd_kind_<name>`; adding a kind is one line in each list
 * below (one per line, so branches that add kinds merge cleanly). */
#include "kind.h"

#include <string.h>

extern const mcpd_kind mcpd_kind_exec;
extern const mcpd_kind mcpd_kind_sql;
extern const mcpd_kind mcpd_kind_http;
extern const mcpd_kind mcpd_kind_openapi;
extern const mcpd_kind mcpd_kind_plugin;

static const mcpd_kind *const kinds[] = {
    &mcpd_kind_exec, &mcpd_kind_sql, &mcpd_kind_http, &mcpd_kind_openapi, &mcpd_kind_plugin,
};

#define NKINDS (sizeof kinds / sizeof *kinds)

const mcpd_kind *mcpd_kind_find(const char *name)
{
    for (size_t i = 0; name && i < NKINDS; i++)
        if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
    return NULL;
}

const char *mcpd_kind_names(void)
{
    static char names[256];
    if (names[0]) return names;
    size_t n = 0;
    for (size_t i = 0; i < NKINDS; i++) {
        size_t l = strlen(kinds[i]->name);
        if (n + l + 3 >= sizeof names) break;
        if (i) memcpy(names + n, ", ", 2), n += 2;
        memcpy(names + n, kinds[i]->name, l);
        n += l;
    }
    names[n] = '\0';
    return names;
}

void mcpd_kinds_collect(mcp_metrics_writer *w)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (kinds[i]->collect) kinds[i]->collect(w);
}
