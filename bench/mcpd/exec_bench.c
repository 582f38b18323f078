/* exec_bench.c - both sides of bench/mcpd/exec.sh (issue 13: exec calls/s against a bare
 * posix_spawn + wait loop of the same program, at least 80% of it).
 *
 *   exec_bench bare N PROGRAM [ARGS...]
 *       The baseline: N times, one at a time, what any runner that captures a program's output
 *       does: stdout and stderr on pipes (both read to EOF), stdin on /dev/null, posix_spawn,
 *       waitpid. The program is looked up in PATH once, as mcpd does at configure time.
 *   exec_bench mcpd N WINDOW EXPECT COMMAND...
 *       Starts COMMAND (mcpd --stdio ..., possibly behind taskset, which execs it), initializes
 *       a session, then keeps WINDOW tools/call requests of the tool "t" in flight until N are
 *       answered; every answer must be a result whose text is EXPECT (JSON-escaped). The clock
 *       runs from the first call sent to the last answer read: mcpd's start and stop are not
 *       counted.
 *
 * Each prints one line: "exec_bench: MODE calls=N seconds=S calls_per_s=R cpu_us=C", where C is
 * the CPU (user + system) per call of the measured side and every child it waited for: the
 * bare loop's own rusage, or mcpd's /proc/PID/stat (utime, stime, cutime, cstime) read at both
 * ends of the clock. Exit 1 on any wrong answer or failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "exec_bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* PROGRAM as a path: itself if it holds a '/', else the first executable PATH entry. */
static char *resolve(const char *prog)
{
    if (strchr(prog, '/')) return strdup(prog);
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        char *f;
        if (asprintf(&f, "%.*s/%s", (int)n, n ? p : ".", prog) < 0) die("asprintf");
        if (access(f, X_OK) == 0) return f;
        free(f);
        p += n + (p[n] == ':');
    }
    errno = ENOENT;
    die(prog);
    return NULL;
}

static double rusage_s(int who)
{
    struct rusage r;
    getrusage(who, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void drain(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    }
}

static int bare(long n, char **argv)
{
    char *prog = resolve(argv[0]);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) die("/dev/null");
    /* EXEC_BENCH_SETSID=0: the children stay in this session (see exec.sh) */
    const char *ss = getenv("EXEC_BENCH_SETSID");
    bool setsid = !ss || strcmp(ss, "0") != 0;
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
    double cpu0 = rusage_s(RUSAGE_SELF) + rusage_s(RUSAGE_CHILDREN), t0 = now_s();
    for (long i = 0; i < n; i++) {
        int out[2], err[2];
        if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) die("pipe2");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, devnull, 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, err[1], 2);
        pid_t pid;
        int rc = posix_spawn(&pid, prog, &fa, setsid ? &at : NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc) errno = rc, die(prog);
        close(out[1]), close(err[1]);
        /* stdout then stderr: the program writes little, so the order cannot deadlock it */
        drain(out[0]);
        drain(err[0]);
        close(out[0]), close(err[0]);
        int st;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR) die("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "exec_bench: %s failed (status %d)\n", prog, st);
            return 1;
        }
    }
    double s = now_s() - t0, cpu = rusage_s(RUSAGE_SELF) + rusage_s(RUSAGE_CHILDREN) - cpu0;
    printf("exec_bench: bare calls=%ld seconds=%.3f calls_per_s=%.0f cpu_us=%.1f\n", n, s,
           (double)n / s, cpu * 1e6 / (double)n);
    posix_spawnattr_destroy(&at);
    free(prog);
    return 0;
}

/* utime + stime + cutime + cstime of pid, in seconds. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) die(path);
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    const char *p = strrchr(buf, ')'); /* comm may hold spaces */
    unsigned long long v[4];
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                     &v[0], &v[1], &v[2], &v[3]) != 4) {
        fprintf(stderr, "exec_bench: cannot read %s\n", path);
        exit(1);
    }
    return (double)(v[0] + v[1] + v[2] + v[3]) / (double)sysconf(_SC_CLK_TCK);
}

typedef struct reader {
    int fd;
    char *buf;
    size_t len, cap;
} reader;

/* Reads what is there; calls on_line for each complete line. Returns 0, or -1 at EOF. */
static int read_lines(reader *r, void (*on_line)(const char *, size_t, void *), void *ud)
{
    if (r->cap - r->len < 65536) {
        r->cap = r->cap * 2 + 65536;
        r->buf = realloc(r->buf, r->cap);
        if (!r->buf) die("realloc");
    }
    ssize_t got = read(r->fd, r->buf + r->len, r->cap - r->len);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
    if (got <= 0) return -1;
    r->len += (size_t)got;
    size_t start = 0;
    for (char *nl; (nl = memchr(r->buf + start, '\n', r->len - start)) != NULL;) {
        on_line(r->buf + start, (size_t)(nl - (r->buf + start)), ud);
        start = (size_t)(nl - r->buf) + 1;
    }
    memmove(r->buf, r->buf + start, r->len - start);
    r->len -= start;
    return 0;
}

typedef struct answers {
    const char *expect; /* "\"text\":\"...\"" */
    long answered, ok, init_done;
} answers;

static void on_answer(const char *line, size_t len, void *ud)
{
    answers *a = ud;
    if (!memmem(line, len, "\"id\":", 5)) return; /* a notification */
    if (memmem(line, len, "\"id\":0,", 7)) {
        a->init_done = 1;
        return;
    }
    a->answered++;
    if (memmem(line, len, a->expect, strlen(a->expect)) && !memmem(line, len, "\"isError\"", 9))
        a->ok++;
    else if (a->answered - a->ok <= 3)
        fprintf(stderr, "exec_bench: wrong answer: %.*s\n", (int)(len > 300 ? 300 : len), line);
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 1000);
            continue;
        }
        if (w < 0) die("write to mcpd");
        s += w, n -= (size_t)w;
    }
}

static int mcpd(long n, long window, const char *expect, char **cmd)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) die("pipe2");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    pid_t pid;
    int rc = posix_spawnp(&pid, cmd[0], &fa, NULL, cmd, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) errno = rc, die(cmd[0]);
    close(in[0]), close(out[1]);
    signal(SIGPIPE, SIG_IGN);
    answers a = {.expect = NULL};
    char *want;
    if (asprintf(&want, "\"text\":\"%s\"", expect) < 0) die("asprintf");
    a.expect = want;
    reader r = {.fd = out[0]};
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"exec_bench\",\"version\":"
        "\"1\"}}}\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
    write_all(in[1], init, sizeof init - 1);
    while (!a.init_done)
        if (read_lines(&r, on_answer, &a) != 0) {
            fprintf(stderr, "exec_bench: mcpd ended before answering initialize\n");
            return 1;
        }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    double cpu0 = proc_cpu_s(pid), t0 = now_s();
    long sent = 0;
    char req[160];
    while (a.answered < n) {
        while (sent < n && sent - a.answered < window) {
            int len = snprintf(req, sizeof req,
                               "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
                               "\"params\":{\"name\":\"t\",\"arguments\":{}}}\n",
                               sent + 1);
            write_all(in[1], req, (size_t)len);
            sent++;
        }
        if (read_lines(&r, on_answer, &a) != 0) {
            fprintf(stderr, "exec_bench: mcpd ended after %ld of %ld answers\n", a.answered, n);
            return 1;
        }
    }
    double s = now_s() - t0, cpu = proc_cpu_s(pid) - cpu0;
    close(in[1]);
    drain(out[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) die("waitpid");
    if (a.ok != n) {
        fprintf(stderr, "exec_bench: %ld of %ld answers were not %s\n", n - a.ok, n, want);
        return 1;
    }
    printf("exec_bench: mcpd calls=%ld seconds=%.3f calls_per_s=%.0f cpu_us=%.1f\n", n, s,
           (double)n / s, cpu * 1e6 / (double)n);
    free(want);
    free(r.buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "bare")) return bare(atol(argv[2]), argv + 3);
    if (argc >= 6 && !strcmp(argv[1], "mcpd"))
        return mcpd(atol(argv[2]), atol(argv[3]), argv[4], argv + 5);
    fprintf(stderr, "usage: exec_bench bare N PROGRAM [ARGS...]\n"
                    "       exec_bench mcpd N WINDOW EXPECT COMMAND...\n");
    return 2;
}
