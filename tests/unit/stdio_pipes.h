/* stdio_pipes.h - stdin and stdout of the test process replaced by pipes whose other ends the
 * test holds (in_w: what the server reads; out_r: what it writes), for the stdio transport's
 * tests; restore_stdio puts the real ones back. Line helpers with a 60 s bound. */
#ifndef MCP_TEST_STDIO_PIPES_H
#define MCP_TEST_STDIO_PIPES_H

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int in_w, out_r; /* the client's ends */

static void swap_stdio(int *saved_in, int *saved_out)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out)) abort();
    *saved_in = dup(0);
    *saved_out = dup(1);
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(out[1]);
    in_w = in[1];
    out_r = out[0];
}

static void restore_stdio(int saved_in, int saved_out)
{
    dup2(saved_in, 0);
    dup2(saved_out, 1);
    close(saved_in);
    close(saved_out);
}

static void send_line(const char *s)
{
    size_t n = strlen(s);
    if (write(in_w, s, n) != (ssize_t)n || write(in_w, "\n", 1) != 1) abort();
}

/* Reads one line (up to 60 s); returns its length, 0 on timeout or EOF. */
static size_t read_line(char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = out_r, .events = POLLIN};
        if (poll(&p, 1, 60000) <= 0) break;
        if (read(out_r, buf + n, 1) != 1) break;
        if (buf[n] == '\n') break;
        n++;
    }
    buf[n] = '\0';
    return n;
}

#endif
