/* protocol.h - what every file of the engine agrees on: versions, eras, _meta keys, the list of
 * engine failures (mapped to codes in engine.c only), logging levels. Not a public header. */
#ifndef MCP_PROTOCOL_H
#define MCP_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

#define MODERN_VERSION "2026-07-28"
#define LATEST_LEGACY  "2025-11-25"
#define META_PV        "io.modelcontextprotocol/protocolVersion"
#define META_CAPS      "io.modelcontextprotocol/clientCapabilities"
#define META_INFO      "io.modelcontextprotocol/clientInfo"
#define META_LOG       "io.modelcontextprotocol/logLevel"
#define META_SUB       "io.modelcontextprotocol/subscriptionId"
#define META_SERVER    "io.modelcontextprotocol/serverInfo"

/* Handlers without a timeout of their own must finish within this (mcp_server_set_timeout). */
#define DEFAULT_TIMEOUT_MS 300000u

enum { ERA_LEGACY = 0, ERA_MODERN = 1 };

/* Engine failures: one list, mapped to JSON-RPC codes and HTTP statuses in engine.c only. */
typedef enum eng_fail {
    F_PARSE,
    F_INVALID_REQUEST,
    F_NOT_INITIALIZED,
    F_METHOD_NOT_FOUND,
    F_INVALID_PARAMS,
    F_MISSING_META, /* modern: -32602 with 400 */
    F_INTERNAL,
    F_OVERLOADED,
    F_HEADER_MISMATCH,
    F_MISSING_CAPABILITY,
    F_UNSUPPORTED_VERSION,
    F_RESOURCE_NOT_FOUND,
    F_HANDLER, /* a handler's own code via mcp_ctx_fail */
} eng_fail;

/* engine.c */
int log_level_from_name(const char *s, size_t len);
extern const char *const log_level_names[8];
extern const char *const supported_versions[5];
bool legacy_version_supported(const char *v, size_t len);

#endif
