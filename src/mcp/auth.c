/* auth.c - principals, item visibility and principal identity: what a transport's
 * authentication decided, as the engine sees it.
 *
 * The HTTP transport calls the program's auth callback (mcp_http_options.auth) for each request
 * and hands the principal it returns to the engine with the message (mcp_msg_info.principal);
 * the engine keeps it on the ctx. The server's filters then decide per principal which tools,
 * resources, templates and prompts the lists show and the requests reach (a hidden item is
 * answered as a missing one). The library never interprets a principal: it is the program's
 * pointer, named for sealed state (requestState) by the program's principal_id callback, or by
 * its address when there is none. */
#include "mcp/ctx.h"
#include "mcp/registry.h"
#include "mcp/token.h"

#include <stdio.h>
#include <string.h>

#define PRINCIPAL_ID_MAX 256

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

void mcp_server_set_item_filter(mcp_server *s, mcp_item_visible_fn fn, void *ud)
{
    pthread_rwlock_wrlock(&s->reg_lock);
    s->item_filter = fn;
    s->item_filter_ud = ud;
    pthread_rwlock_unlock(&s->reg_lock);
}

void mcp_server_set_principal_id(mcp_server *s, mcp_principal_id_fn fn, void *ud)
{
    pthread_rwlock_wrlock(&s->reg_lock);
    s->principal_id = fn;
    s->principal_id_ud = ud;
    pthread_rwlock_unlock(&s->reg_lock);
}

bool tool_visible(mcp_server *s, const void *principal, const char *name)
{
    return item_visible(s, principal, REG_TOOL, name);
}

bool item_visible(mcp_server *s, const void *principal, reg_kind k, const char *key)
{
    static const mcp_item_kind kinds[REG_NKINDS] = {MCP_ITEM_TOOL, MCP_ITEM_RESOURCE,
                                                    MCP_ITEM_TEMPLATE, MCP_ITEM_PROMPT};
    if (k == REG_TOOL && s->tool_filter && !s->tool_filter(s->tool_filter_ud, principal, key))
        return false;
    return !s->item_filter || s->item_filter(s->item_filter_ud, principal, kinds[k], key);
}

bool items_private(mcp_server *s, const void *principal)
{
    return principal && (s->tool_filter || s->item_filter);
}

void mcp_principal_digest(mcp_server *s, const void *principal, char hex[65])
{
    if (!principal) {
        hex[0] = '\0';
        return;
    }
    /* "id:" + the program's name for it, or "ptr:" + its address: the two never collide */
    char buf[4 + PRINCIPAL_ID_MAX];
    size_t n;
    if (s->principal_id) {
        memcpy(buf, "id:", 3);
        n = s->principal_id(s->principal_id_ud, principal, buf + 3, PRINCIPAL_ID_MAX);
        n = 3 + (n > PRINCIPAL_ID_MAX ? PRINCIPAL_ID_MAX : n);
    } else {
        n = (size_t)snprintf(buf, sizeof buf, "ptr:%p", principal);
    }
    token_digest_hex(buf, n, hex);
}
