/* signals.h - SIGTERM and SIGINT as a readable file descriptor (the self-pipe trick).
 *
 * Servers that block in poll() (stdio's reader, the HTTP main thread) need to learn of a
 * termination signal without doing work in a signal handler. rt_signals_open installs handlers
 * for SIGTERM and SIGINT that write one byte to a pipe, ignores SIGPIPE (a closed peer is an
 * error code, not a death), and returns the pipe's read end to poll. rt_signals_close puts the
 * previous handlers back. One user at a time per process. */
#ifndef MCP_RT_SIGNALS_H
#define MCP_RT_SIGNALS_H

#include <signal.h>

typedef struct rt_signals {
    int fd; /* readable (POLLIN) once SIGTERM or SIGINT arrived */
    struct sigaction old[2];
} rt_signals;

/* Installs the handlers. Returns 0, or -1 with errno set (no pipe). Main thread. */
int rt_signals_open(rt_signals *s);

/* Restores the previous handlers and closes the pipe. Same thread as rt_signals_open. */
void rt_signals_close(rt_signals *s);

#endif
