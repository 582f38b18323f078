/* log.h - one line per event, with a level: to stderr, or to the embedder's callback.
 *
 * Logs never go to stdout (in stdio mode stdout carries only the protocol). Each stderr line is
 * written with one write(2), so lines from several threads never interleave. The public side
 * (mcp_log_set_name, mcp_log_set_level, mcp_log_set_callback) is declared in mcp/mcp.h. Any
 * thread. */
#ifndef MCP_BASE_LOG_H
#define MCP_BASE_LOG_H

#include "mcp/mcp.h"

enum { MCP_LOGL_DEBUG, MCP_LOGL_INFO, MCP_LOGL_WARN, MCP_LOGL_ERROR };

/* Writes "<name>: <level>: <message>\n" to stderr, or hands the message to the callback. */
void mcp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
