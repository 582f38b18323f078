/* wake.h - a one-shot wake-up another thread can poll: an eventfd.
 *
 * The engine uses it for mcp_ctx_cancel_fd(): a handler blocked in poll() on its own sockets
 * adds this descriptor and learns of a cancellation without polling a flag. Any thread. */
#ifndef MCP_RT_WAKE_H
#define MCP_RT_WAKE_H

/* Returns a new non-blocking, close-on-exec eventfd (not readable yet), or a negative errno. */
int rt_wake_open(void);
/* Makes fd readable (POLLIN) from now on. Async-signal-safe; never blocks. */
void rt_wake_signal(int fd);
/* Closes fd (negative: nothing). */
void rt_wake_close(int fd);

#endif
