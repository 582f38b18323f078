/* signals.h - SIGTERM and SIGINT as a readable file descriptor (the self-pipe trick).
 *
 * Servers that block in poll() (stdio's reader, the HTTP main thread) need to learn of a
 * termination signal without doing work in a signal handler. rt_signals_open installs handlers
 * for SIGTERM and SIGINT that write one byte to a pipe and returns the pipe's read end to poll.
 * rt_signals_close puts the previous handlers back. One user at a time per process. Only the
 * mcp_serve_* conveniences use it; the start/stop API touches no disposition.
 *
 * The library's own threads (pool workers, event loops, the stdio reader) are started with every
 * asynchronous signal blocked (rt_thread_create_quiet), so the embedder's signals are delivered
 * to the embedder's threads, and a write to a closed socket or pipe fails with EPIPE instead of
 * raising SIGPIPE: libmcp never changes SIGPIPE's disposition. Where a write may run on an
 * embedder's thread (stdio's sink), rt_sigpipe_hold/release block SIGPIPE around it and
 * consume the one the write raised. */
#ifndef MCP_RT_SIGNALS_H
#define MCP_RT_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

typedef struct rt_signals {
    int fd; /* readable (POLLIN) once SIGTERM or SIGINT arrived; one byte per signal: its number */
    struct sigaction old[2];
    struct sigaction old_hup;
    bool hup; /* SIGHUP is ours too (rt_signals_take_hup) */
} rt_signals;

/* Installs the handlers. Returns 0, or -1 with errno set (no pipe). Main thread. */
int rt_signals_open(rt_signals *s);

/* Also takes SIGHUP (its byte is SIGHUP), but only when its disposition is the default: a
 * program that handles SIGHUP itself keeps it. Returns true when taken. After
 * rt_signals_open, same thread. */
bool rt_signals_take_hup(rt_signals *s);

/* Restores the previous handlers and closes the pipe. Same thread as rt_signals_open. */
void rt_signals_close(rt_signals *s);

#include <pthread.h>
#include <stdbool.h>

/* Blocks every asynchronous signal in the calling thread, the previous mask in *old; threads
 * created before rt_quiet_end inherit the blocked set. */
void rt_quiet_begin(sigset_t *old);
void rt_quiet_end(const sigset_t *old);
/* pthread_create with every asynchronous signal blocked in the new thread (synchronous ones,
 * SIGSEGV and the like, stay deliverable). The caller's mask is unchanged when it returns.
 * attr may be NULL. Returns 0 or an errno. Any thread. */
int rt_thread_create_quiet(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                           void *arg);

/* SIGPIPE held back around a write on a thread libmcp does not own. */
typedef struct rt_sigpipe {
    sigset_t old;
    bool was_pending; /* one was pending before: it is the embedder's, leave it */
} rt_sigpipe;
void rt_sigpipe_hold(rt_sigpipe *s);
/* epipe: the write failed with EPIPE, so a SIGPIPE is pending: consume it. */
void rt_sigpipe_release(rt_sigpipe *s, bool epipe);

#endif
