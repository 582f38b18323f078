/* errors.h - the error answers of the transports (stdio and Streamable HTTP), one table.
 *
 * Every error a transport answers by itself (the engine answers the rest) is named here and
 * described by one row of the table in http_errors.c: HTTP status, JSON-RPC code, message.
 * Both transports build the JSON-RPC error body with herr_json, so one error reads the same
 * on both. The table is listed in docs/internals/transport-http.md. */
#ifndef MCP_TRANSPORT_ERRORS_H
#define MCP_TRANSPORT_ERRORS_H

#include "base/buf.h"

/* Every error answer of the transport, one row each in http_errors.c. */
typedef enum herr {
    HERR_NOT_FOUND,         /* a path that is neither the endpoint nor /metrics */
    HERR_ORIGIN,            /* Origin not allowed */
    HERR_HOST,              /* Host not allowed (DNS rebinding) */
    HERR_SHUTTING_DOWN,     /* draining */
    HERR_METHOD,            /* an HTTP method other than GET, POST, DELETE (legacy) */
    HERR_METHOD_MODERN,     /* an HTTP method other than POST (modern) */
    HERR_CONTENT_TYPE,      /* POST without Content-Type: application/json */
    HERR_ACCEPT,            /* POST whose Accept allows neither JSON nor SSE */
    HERR_GET_ACCEPT,        /* GET without Accept: text/event-stream */
    HERR_SESSION_REQUIRED,  /* legacy request without Mcp-Session-Id */
    HERR_SESSION_NOT_FOUND, /* unknown or ended session */
    HERR_TOO_MANY_SESSIONS, /* --max-sessions reached */
    HERR_BAD_LAST_EVENT_ID, /* Last-Event-ID that is not <stream>-<seq> */
    HERR_NO_STREAM,         /* Last-Event-ID of no stream of the session */
    HERR_REPLAY_EXPIRED,    /* Last-Event-ID from before the replay window */
    HERR_STREAM_OPEN,       /* a second standalone GET */
    HERR_STREAM_BUSY,       /* a resume whose stream stayed on another connection */
    HERR_TOO_LARGE,         /* a message over the size limit (stdio line) */
    HERR_UNAUTHORIZED,      /* the auth callback refused the request's Authorization */
    HERR_COUNT
} herr;

/* Writes the JSON-RPC error response of e into b: id_json is the request's id as JSON text
 * (NULL: null); detail, when not NULL, is appended to the message after ": ". Any thread. */
void herr_json(mcp_buf *b, herr e, const char *id_json, const char *detail);
/* The HTTP status of e. */
int herr_status(herr e);

#endif
