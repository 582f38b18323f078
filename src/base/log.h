/* log.h - one line per event on stderr, with a level.
 *
 * Logs never go to stdout (in stdio mode stdout carries only the protocol). Each line is
 * written with one write(2), so lines from several threads never interleave. Any thread. */
#ifndef MCP_BASE_LOG_H
#define MCP_BASE_LOG_H

enum { MCP_LOGL_DEBUG, MCP_LOGL_INFO, MCP_LOGL_WARN, MCP_LOGL_ERROR };

/* Lines below level are dropped (default: info; MCPD_LOG=debug|info|warn|error overrides). */
void mcp_log_set_level(int level);
/* Sets the program name that starts every line (default "mcpd"); the string must live on. */
void mcp_log_set_name(const char *name);
/* Writes "<name>: <level>: <message>\n" to stderr. */
void mcp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
