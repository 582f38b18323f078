/* internal.h - every internal header of the engine at once, for the unit tests, which reach
 * inside. The engine's own files include what they use:
 *   protocol.h  versions, eras, _meta keys, engine failures, logging levels
 *   registry.h  the server and its registry (server.c)
 *   ctx.h       the conn and the ctx: structs, sending, finishing (engine.c, ctx.c, methods.c)
 *   ask.h       asking the client (ask.c)
 *   token.h     sealed tokens and digests (token.c)
 *   feature.h   the feature interface, the method table (feature.c), the cursor codec (cursor.c)
 * Extensions live in ext/ and include core headers; no core file includes an extension's.
 * See docs/internals/engine.md. */
#ifndef MCP_ENGINE_INTERNAL_H
#define MCP_ENGINE_INTERNAL_H

#include "mcp/ask.h"
#include "mcp/ctx.h"
#include "mcp/feature.h"
#include "mcp/protocol.h"
#include "mcp/registry.h"
#include "mcp/token.h"

#endif
