/* cursor.c - the one cursor codec of every paginated list (registry lists, tasks, skills,
 * skill directories).
 *
 * A cursor is a sealed token (token.c: AES-256-GCM under the server's key, purpose "cursor",
 * no expiry) whose payload is "<list>:<position>" or "<list>:<position> <scope>". The list name
 * makes a cursor of one list useless for another; the scope ties it to the request's other
 * params (a directory's URI); the position is what the list pages after (a registration
 * number, an offset). Clients cannot read or forge cursors, so positions need no other check
 * than "is a number". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/feature.h"
#include "mcp/token.h"

#define LIT(b, s) mcp_buf_append((b), (s), sizeof(s) - 1)

void cursor_write(mcp_server *s, mcp_buf *b, const char *list, uint64_t pos, const char *scope,
                  size_t scope_len)
{
    char stack[256];
    mcp_buf p;
    mcp_buf_init(&p, stack, sizeof stack, 0);
    mcp_buf_printf(&p, "%s:%llu", list, (unsigned long long)pos);
    if (scope) {
        mcp_buf_putc(&p, ' ');
        mcp_buf_append(&p, scope, scope_len);
    }
    LIT(b, ",\"nextCursor\":\"");
    token_seal(s, "cursor", p.data, p.len, 0, b);
    mcp_buf_putc(b, '"');
    mcp_buf_free(&p);
}

int cursor_read(mcp_ctx *ctx, const char *list, const char *scope, size_t scope_len, uint64_t *pos)
{
    *pos = 0;
    const json_value *cur = json_get(ctx->params, "cursor");
    if (!cur || cur->type == JSON_NULL) return 0;
    char err[128] = "not a string";
    size_t n = 0;
    const char *p = json_is_string(cur) ? token_open(ctx->conn->srv, "cursor", cur->u.str, cur->len,
                                                     &ctx->arena, &n, err, sizeof err)
                                        : NULL;
    if (p) {
        size_t ll = strlen(list);
        const char *d = p + ll + 1, *end = p + n;
        if (n <= ll || memcmp(p, list, ll) || p[ll] != ':' || d == end || *d < '0' || *d > '9') {
            snprintf(err, sizeof err, "it belongs to another list");
        } else {
            char *stop;
            char digits[24];
            size_t dn = 0;
            while (d + dn < end && d[dn] >= '0' && d[dn] <= '9' && dn < sizeof digits - 1) dn++;
            memcpy(digits, d, dn);
            digits[dn] = '\0';
            uint64_t v = strtoull(digits, &stop, 10);
            const char *rest = d + dn;
            bool scoped = rest < end && *rest == ' ';
            if (!scope ? rest == end
                       : scoped && (size_t)(end - rest - 1) == scope_len &&
                             !memcmp(rest + 1, scope, scope_len)) {
                *pos = v;
                return 0;
            }
            snprintf(err, sizeof err, "it belongs to another %s", scope ? list : "list");
        }
    }
    char msg[200];
    snprintf(msg, sizeof msg, "invalid params: invalid cursor (%s)", err);
    ctx_fail_with(ctx, F_INVALID_PARAMS, 0, NULL, msg);
    return -1;
}
