/* rpc.h - the JSON-RPC 2.0 envelope: decode one message, write results and errors.
 *
 * rpc_decode() classifies a parsed message as a request, a notification, a result or an
 * error response, and checks the envelope only: "jsonrpc" is "2.0", a method is a string,
 * an id is a string or an integer that fits in int64 (MCP forbids null ids; floats and
 * objects are invalid). What a method's params mean is the engine's business.
 *
 * The writers produce compact messages straight into an mcp_buf: the result writer opens
 * `{"jsonrpc":"2.0","id":..,"result":` and the caller writes the result object and closes
 * with rpc_end_result(). Ids are echoed exactly: strings re-escaped, integers as int64.
 *
 * Everything here touches only its arguments; any thread. */
#ifndef MCP_RPC_H
#define MCP_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "json/json.h"

#define RPC_PARSE_ERROR      (-32700)
#define RPC_INVALID_REQUEST  (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS   (-32602)
#define RPC_INTERNAL_ERROR   (-32603)

typedef enum rpc_id_type { RPC_ID_NONE = 0, RPC_ID_INT, RPC_ID_STR } rpc_id_type;

/* A request id. For RPC_ID_STR, s points at the decoded string (owned by whoever owns the
 * DOM it came from) of len bytes. */
typedef struct rpc_id {
    uint8_t type; /* rpc_id_type */
    uint32_t len;
    int64_t i;
    const char *s;
} rpc_id;

typedef enum rpc_kind {
    RPC_REQUEST,
    RPC_NOTIFICATION,
    RPC_RESULT, /* a response carrying "result" */
    RPC_ERROR,  /* a response carrying "error" */
} rpc_kind;

typedef struct rpc_msg {
    rpc_kind kind;
    rpc_id id;          /* RPC_ID_NONE for notifications */
    const char *method; /* requests and notifications */
    uint32_t method_len;
    const json_value *params; /* object, or NULL when absent */
    const json_value *result; /* RPC_RESULT */
    const json_value *error;  /* RPC_ERROR */
} rpc_msg;

/* Decodes the envelope of v into *out. Returns 0, or RPC_INVALID_REQUEST with the reason in
 * err[errsize]; out->id is then set when the id could be read (so the error can echo it),
 * else RPC_ID_NONE (the error goes out with a null id). Params that are not an object are
 * reported as RPC_INVALID_PARAMS (MCP params are always objects). */
int rpc_decode(const json_value *v, rpc_msg *out, char *err, size_t errsize);

/* Reads a string or int64 id from v. Returns 0, or -1 for any other type. */
int rpc_id_from_json(const json_value *v, rpc_id *out);
/* True if both ids have the same type and value. */
bool rpc_id_equal(const rpc_id *a, const rpc_id *b);
/* Writes id as JSON (null for RPC_ID_NONE). */
void rpc_write_id(mcp_buf *b, const rpc_id *id);

/* Writes `{"jsonrpc":"2.0","id":<id>,"result":`; the caller writes one JSON value next and
 * then calls rpc_end_result(). */
void rpc_begin_result(mcp_buf *b, const rpc_id *id);
void rpc_end_result(mcp_buf *b);
/* Writes `{"jsonrpc":"2.0","id":<id>,"error":`; the caller writes the error object next and
 * then calls rpc_end_result(). */
void rpc_begin_error(mcp_buf *b, const rpc_id *id);
/* The error code of a response written by the writers above (`{"jsonrpc":"2.0","id":..,
 * "error":{"code":N`), or 0 for a result or anything else. */
int rpc_response_error_code(const char *data, size_t len);
/* Writes a complete error response. msg is plain text (escaped here); data_json is JSON text
 * for "data" or NULL. */
void rpc_write_error(mcp_buf *b, const rpc_id *id, int code, const char *msg,
                     const char *data_json);
/* Writes `{"jsonrpc":"2.0","method":"<method>"` and, when params_json is not NULL,
 * `,"params":<params_json>`, then `}`. */
void rpc_write_notification(mcp_buf *b, const char *method, const char *params_json,
                            size_t params_len);
/* Appends a JSON string literal for s[0..len) (quotes included). */
void rpc_write_str(mcp_buf *b, const char *s, size_t len);

#endif
