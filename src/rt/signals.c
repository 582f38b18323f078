/* signals.c - SIGTERM/SIGINT through a self-pipe, quiet library threads and SIGPIPE held back
 * around writes; see signals.h. The handler only writes one byte (async-signal-safe) and keeps
 * errno. */
#include "rt/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;
    ssize_t w = write(sig_pipe[1], &c, 1);
    (void)w;
    errno = saved;
}

int rt_signals_open(rt_signals *s)
{
    if (pipe(sig_pipe) < 0) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
        fcntl(sig_pipe[i], F_SETFL, O_NONBLOCK);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &s->old[0]);
    sigaction(SIGINT, &sa, &s->old[1]);
    s->fd = sig_pipe[0];
    s->hup = false;
    return 0;
}

bool rt_signals_take_hup(rt_signals *s)
{
    struct sigaction cur;
    if (sigaction(SIGHUP, NULL, &cur) || cur.sa_handler != SIG_DFL) return false;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    s->hup = sigaction(SIGHUP, &sa, &s->old_hup) == 0;
    return s->hup;
}

void rt_signals_close(rt_signals *s)
{
    sigaction(SIGTERM, &s->old[0], NULL);
    sigaction(SIGINT, &s->old[1], NULL);
    if (s->hup) sigaction(SIGHUP, &s->old_hup, NULL);
    s->hup = false;
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
    s->fd = -1;
}

void rt_quiet_begin(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    static const int sync_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t i = 0; i < sizeof sync_signals / sizeof sync_signals[0]; i++)
        sigdelset(&all, sync_signals[i]);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

void rt_quiet_end(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

int rt_thread_create_quiet(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    sigset_t old;
    rt_quiet_begin(&old);
    int rc = pthread_create(t, attr, fn, arg); /* the new thread inherits the mask */
    rt_quiet_end(&old);
    return rc;
}

void rt_sigpipe_hold(rt_sigpipe *s)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    s->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &s->old);
}

void rt_sigpipe_release(rt_sigpipe *s, bool epipe)
{
    if (epipe && !s->was_pending) {
        sigset_t pipe_set;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &s->old, NULL);
}
