/* auth.c - principals and tool visibility: what a transport's authentication decided, as the
 * engine sees it.
 *
 * The HTTP transport calls the program's auth callback (mcp_http_options.auth) for each request
 * and hands the principal it returns to the engine with the message (mcp_msg_info.principal);
 * the engine keeps it on the ctx. The server's tool filter then decides per principal which
 * tools tools/list shows and tools/call accepts. The library never interprets a principal: it
 * is the program's pointer. */
#include "mcp/ctx.h"
#include "mcp/registry.h"

const void *mcp_ctx_principal(const mcp_ctx *c)
{
    return c ? c->principal : NULL;
}

void mcp_server_set_tool_filter(mcp_server *s, mcp_tool_visible_fn fn, void *ud)
{
    pthread_rwlock_wrlock(&s->reg_lock);
    s->tool_filter = fn;
    s->tool_filter_ud = ud;
    pthread_rwlock_unlock(&s->reg_lock);
}

bool tool_visible(mcp_server *s, const void *principal, const char *name)
{
    return !s->tool_filter || s->tool_filter(s->tool_filter_ud, principal, name);
}
