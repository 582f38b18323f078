/* http_kind.h - what the http kind shares with the openapi kind, which makes http tools. */
#ifndef MCPD_HTTP_KIND_H
#define MCPD_HTTP_KIND_H

#include "mcpd/http_engine.h"

#include <mcp/mcp.h>

/* Reads an entry's "upstream" object into *c; a health "path" is joined to origin into
 * health_url[health_size], which c->health_url then points to. */
void mcpd_http_upstream_config(const mcp_json *up, const char *origin, httpe_upstream_config *c,
                               char *health_url, size_t health_size);

/* Adds a 2xx response to ctx: a JSON object as structured content (any other JSON value as
 * {"result": value}) and text; images and audio as such; other text as text. The structured
 * content is JSON it parsed itself, with libmcp's limits: a tool that declares no output
 * schema may be added output_trusted. */
void mcpd_http_answer(mcp_ctx *ctx, const httpe_result *r);

/* Sends t with the call's arguments and ends the call with the answer or the error. */
typedef struct mcpd_call mcpd_call;
void mcpd_http_call(httpe *t, mcpd_call *c);
/* The kind's cancel (http and openapi): requests on the loop path stop at once (the transfer
 * thread polls). mcpd's loop. */
void mcpd_http_cancel(void *inst, mcpd_call *c);

#endif
