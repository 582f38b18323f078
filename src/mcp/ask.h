/* ask.h - asking the client (ask.c): legacy server-to-client requests with correlation and
 * timeouts, modern input_required with a sealed requestState. Not a public header. */
#ifndef MCP_ASK_H
#define MCP_ASK_H

#include "mcp/ctx.h"

int ask_legacy(mcp_ctx *ctx);
int ask_modern(mcp_ctx *ctx);
/* Restores answers and state from params.requestState/inputResponses. Returns 0, or -1 after
 * failing the ctx with -32602. */
int ask_restore(mcp_ctx *ctx);
/* A client's response to one of our requests: correlates it. */
void ask_on_response(mcp_conn *c, const rpc_msg *m);
void ask_tick(mcp_conn *c, uint64_t now_ms);
/* Drops the pending requests of ctx (it is ending). Conn lock held. */
void ask_forget_locked(mcp_conn *c, mcp_ctx *ctx);
/* Records an answer under key (replacing one with the same key). */
void ctx_add_answer(mcp_ctx *c, const char *key, const json_value *v);

#endif
