/* auth.c - static bearer tokens for HTTP, with per-token allowlists.
 *
 * The config lists tokens by name with the SHA-256 of the secret ("sha256": 64 hex digits;
 * `printf %s TOKEN | sha256sum` makes one), never the secret itself. libmcp's HTTP transport
 * calls mcpd_auth_check for every request with its Authorization header: mcpd hashes the
 * presented bearer token and compares the hash with every configured one in constant time
 * (all of them, so the time says nothing about which matched). The principal returned is the
 * token's name, interned for the life of the process, so a request authenticated just before a
 * reload never holds a pointer into a freed config; the allowlist is looked up by that name in
 * the config current when it is needed (a token removed by a reload stops working at once).
 * The allowlists cover tools (by name), resources and resource templates (by URI prefix: a
 * name in the list stands for that resources entry's uri_prefix) and prompts (by name);
 * libmcp answers a hidden item as a missing one, so names do not leak. The token's name is
 * also its identity in sealed requestState: state minted for one token is refused when
 * another presents it.
 * With no tokens configured every request is served as "anonymous" (mcpd refuses to start
 * that way on a non-loopback address unless --insecure-no-auth). Over stdio there is no
 * principal and everything is visible. */
#include "mcpd.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKEN      4096
#define MAX_PRINCIPALS 4096

static const char anonymous[] = "anonymous";
static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;
static char *names[MAX_PRINCIPALS];
static size_t nnames;

/* The interned copy of name (kept until exit), or NULL when the table is full. */
static const char *intern(const char *name)
{
    pthread_mutex_lock(&names_mu);
    const char *r = NULL;
    for (size_t i = 0; i < nnames && !r; i++)
        if (!strcmp(names[i], name)) r = names[i];
    if (!r && nnames < MAX_PRINCIPALS) {
        names[nnames] = strdup(name);
        if (!names[nnames]) abort();
        r = names[nnames++];
    }
    pthread_mutex_unlock(&names_mu);
    return r;
}

void mcpd_auth_free_names(void)
{
    pthread_mutex_lock(&names_mu);
    for (size_t i = 0; i < nnames; i++) free(names[i]);
    nnames = 0;
    pthread_mutex_unlock(&names_mu);
}

/* The token of "Bearer <token>" (scheme case-insensitive), or NULL. */
static const char *bearer(const char *h, size_t *len)
{
    if (!h || strncasecmp(h, "Bearer ", 7)) return NULL;
    h += 7;
    while (*h == ' ') h++;
    size_t n = strlen(h);
    while (n && h[n - 1] == ' ') n--;
    if (!n || n > MAX_TOKEN) return NULL;
    *len = n;
    return h;
}

const void *mcpd_auth_check(void *ud, const char *authorization)
{
    mcpd_gen *g = mcpd_gen_current();
    const mcpd_config *c = mcpd_gen_config(g);
    const void *who = NULL;
    if (!c || c->ntokens == 0) {
        who = anonymous;
    } else {
        size_t n;
        const char *tok = bearer(authorization, &n);
        unsigned char md[32];
        unsigned mdlen = 0;
        if (tok && EVP_Digest(tok, n, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32) {
            const mcpd_token *hit = NULL;
            for (size_t i = 0; i < c->ntokens; i++) /* all of them: constant time */
                if (CRYPTO_memcmp(md, c->tokens[i].sha256, 32) == 0) hit = &c->tokens[i];
            if (hit) who = intern(hit->name);
        }
    }
    mcpd_gen_unref(g);
    return who;
}

/* Whether list (a JSON array of strings; NULL: everything) holds name. */
static bool listed(const mcp_json *list, const char *name)
{
    if (!list) return true;
    for (size_t k = 0; k < mcp_json_len(list); k++) {
        const char *t = mcp_json_str(mcp_json_at(list, k), NULL);
        if (t && !strcmp(t, name)) return true;
    }
    return false;
}

/* Whether one of t's resource prefixes starts key (a URI, or a template's uri_template). */
static bool under_prefix(const mcpd_token *t, const char *key)
{
    if (!t->resources) return true;
    for (size_t k = 0; k < t->nres; k++)
        if (!strncmp(key, t->res_prefixes[k], strlen(t->res_prefixes[k]))) return true;
    return false;
}

bool mcpd_item_allowed(void *ud, const void *principal, mcp_item_kind kind, const char *key)
{
    (void)ud;
    if (!principal || principal == anonymous) return true;
    mcpd_gen *g = mcpd_gen_current();
    const mcpd_config *c = mcpd_gen_config(g);
    bool ok = false; /* a token the current config no longer has: nothing */
    for (size_t i = 0; c && i < c->ntokens; i++) {
        const mcpd_token *t = &c->tokens[i];
        if (strcmp(t->name, principal)) continue;
        if (kind == MCP_ITEM_TOOL)
            ok = listed(t->tools, key);
        else if (kind == MCP_ITEM_PROMPT)
            ok = listed(t->prompts, key);
        else
            ok = under_prefix(t, key);
        break;
    }
    mcpd_gen_unref(g);
    return ok;
}

size_t mcpd_principal_id(void *ud, const void *principal, char *out, size_t size)
{
    (void)ud;
    if (principal == anonymous) return 0; /* "" : no token name is empty */
    size_t n = strlen(principal);
    if (n > size) n = size;
    memcpy(out, principal, n);
    return n;
}
