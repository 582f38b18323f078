/* ctxjson.h - a handler's request values as public mcp_json values.
 *
 * mcp.h hands out the request's arguments as `const json_value *`, a type mcpd may not look
 * into; libmcp's public JSON API reads the same values as `const mcp_json *`. This is the one
 * place that converts, so that nothing changes elsewhere when mcp.h's signature does. */
#ifndef MCPD_CTXJSON_H
#define MCPD_CTXJSON_H

#include <mcp/json.h>
#include <mcp/mcp.h>

/* The ctx's arguments (see mcp_ctx_arguments); lives as long as the ctx. */
static inline const mcp_json *ctx_args_json(const mcp_ctx *c)
{
    return (const mcp_json *)(const void *)mcp_ctx_arguments(c);
}

/* The JSON-RPC code for "no such resource" in the ctx's era: -32002 before 2026-07-28, -32602
 * (Invalid Params) from it on, as the resources pages of the two specs say. */
int ctx_resource_not_found_code(const mcp_ctx *c);

#endif
