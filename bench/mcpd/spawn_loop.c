/* spawn_loop.c - the baseline of bench/mcpd/exec.sh: N times posix_spawn + waitpid of a
 * program, its stdout into a pipe that is read to the end (as mcpd does), one at a time.
 * Prints "spawn_loop: calls=N seconds=S calls_per_s=R". */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: spawn_loop N PROGRAM [ARGS...]\n");
        return 2;
    }
    long n = atol(argv[1]);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        int p[2];
        if (pipe(p)) return 1;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        posix_spawn_file_actions_addclose(&fa, p[0]);
        pid_t pid;
        if (posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ)) return 1;
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        char buf[4096];
        while (read(p[0], buf, sizeof buf) > 0) {
        }
        close(p[0]);
        int st;
        waitpid(pid, &st, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("spawn_loop: calls=%ld seconds=%.3f calls_per_s=%.0f\n", n, s, (double)n / s);
    return 0;
}
