/* signals.c - SIGTERM/SIGINT through a self-pipe; see signals.h. The handler only writes one
 * byte (async-signal-safe) and keeps errno. */
#include "rt/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
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
    signal(SIGPIPE, SIG_IGN);
    s->fd = sig_pipe[0];
    return 0;
}

void rt_signals_close(rt_signals *s)
{
    sigaction(SIGTERM, &s->old[0], NULL);
    sigaction(SIGINT, &s->old[1], NULL);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
    s->fd = -1;
}
