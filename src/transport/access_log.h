/* access_log.h - the access log writer: one line per request, text or JSON, per-worker buffers.
 *
 * The formatter turns an mcp_access_record into one line, every string escaped (JSON per RFC
 * 8259; text: quoted, control and non-ASCII bytes as \xHH) and bounded, so a client can neither
 * forge a line nor make one longer than ACCESS_LINE_MAX. The writer keeps one buffer per worker
 * loop: a line is appended by its worker without a lock, and the buffer goes to the file with
 * one write() when it fills or at the worker's next tick. Knows nothing of HTTP or MCP beyond
 * the record. See docs/access-log.md. */
#ifndef MCP_TRANSPORT_ACCESS_LOG_H
#define MCP_TRANSPORT_ACCESS_LOG_H

#include "mcp/mcp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACCESS_LINE_MAX 8192 /* a line never passes this, newline included */

/* Bounds on the fields, in bytes before escaping; a longer value is cut and ends with "...". */
#define ACCESS_CLIENT_MAX    64
#define ACCESS_HMETHOD_MAX   16
#define ACCESS_PATH_MAX      256
#define ACCESS_MCPMETHOD_MAX 128
#define ACCESS_NAME_MAX      256
#define ACCESS_SESSION_MAX   8
#define ACCESS_PRINCIPAL_MAX 128

/* Formats r as one line ending in '\n' into out (cap >= ACCESS_LINE_MAX). Returns its length.
 * Any thread. */
size_t access_format(char *out, size_t cap, const mcp_access_record *r, bool json);

typedef struct access_log access_log;

/* Opens path ("-": stderr) for nworkers workers. Returns the log, or NULL with a reason in
 * err. format: "text" or "json" (NULL: text); anything else is an error. Any thread. */
access_log *access_log_open(const char *path, const char *format, unsigned nworkers, char *err,
                            size_t errsize);
/* Appends r's line to worker's buffer (flushed first when full). The worker's loop thread, or
 * the stopping thread once the workers have stopped. */
void access_log_add(access_log *l, unsigned worker, const mcp_access_record *r);
/* Writes what worker's buffer holds. Same thread rule as access_log_add. */
void access_log_flush(access_log *l, unsigned worker);
/* Reopens the file at its path (dup2 onto the same fd: a write in progress goes to the old or
 * the new file, whole). Returns 0 or a negative errno (logged). Any thread. */
int access_log_reopen(access_log *l);
/* access_log_reopen for every open log of the process; returns the first error, or 0. */
int access_log_reopen_all(void);
/* Lines lost to write errors. Any thread. */
uint64_t access_log_errors(const access_log *l);
/* Flushes every buffer and closes. After the workers stopped. */
void access_log_close(access_log *l);

#endif
