/* fuzz_fsroot.c - libFuzzer target for mcpd's confinement of resource paths to the served
 * directory (src/mcpd/fsroot.c): the lexical check of a client's relative path, then the open
 * beneath the root.
 *
 * The root is a private temporary directory holding a file, a subdirectory with a file, and
 * symlinks that stay inside ("in" -> "a") and that lead out ("out" -> "/etc", "d/up" -> "../..",
 * "abs" -> the root's own parent by absolute path). The input is the path. A path the check
 * refuses must get a reason; one it passes is opened (read-only; as a directory too when the
 * input's length is odd), and whatever opens must lie beneath the root, as the kernel reports
 * for the descriptor (/proc/self/fd); what does not open must get a reason. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "mcpd/fsroot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_fsroot: %s\n", what);
        abort();
    }
}

static char root[PATH_MAX];
static size_t root_len;
static int rootfd = -1;

static void at(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", root, name);
}

static void remove_root(void)
{
    static const char *const names[] = {"d/up", "d/b", "in", "out", "abs", "a", "d"};
    char p[PATH_MAX + 8];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        at(names[i], p, sizeof p);
        if (unlink(p) != 0) rmdir(p);
    }
    close(rootfd);
    rmdir(root);
}

static void setup(void)
{
    char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "%s/fuzz_fsroot.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    check(mkdtemp(tmpl) && realpath(tmpl, root), "mkdtemp");
    root_len = strlen(root);
    char p[PATH_MAX + 8], parent[PATH_MAX];
    at("a", p, sizeof p);
    FILE *f = fopen(p, "w");
    check(f && fclose(f) == 0, "creating a");
    at("d", p, sizeof p);
    check(mkdir(p, 0700) == 0, "mkdir d");
    at("d/b", p, sizeof p);
    f = fopen(p, "w");
    check(f && fclose(f) == 0, "creating d/b");
    at("in", p, sizeof p);
    check(symlink("a", p) == 0, "symlink in");
    at("out", p, sizeof p);
    check(symlink("/etc", p) == 0, "symlink out");
    at("d/up", p, sizeof p);
    check(symlink("../..", p) == 0, "symlink d/up");
    snprintf(parent, sizeof parent, "%.*s", (int)(strrchr(root, '/') - root), root);
    at("abs", p, sizeof p);
    check(symlink(parent[0] ? parent : "/", p) == 0, "symlink abs");
    rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    check(rootfd >= 0, "opening the root");
    atexit(remove_root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (rootfd < 0) setup();
    if (size > 2 * FSROOT_PATH_MAX) return 0;
    const char *why = fsroot_check_path((const char *)data, size);
    if (why) {
        check(why[0] != '\0', "a refusal without a reason");
        return 0;
    }
    char *rel = malloc(size + 1);
    memcpy(rel, data, size);
    rel[size] = '\0';
    int fd = fsroot_open(rootfd, rel, O_RDONLY | ((size & 1) ? O_DIRECTORY : 0));
    if (fd < 0) {
        check(fd > -4096 && fsroot_strerror(fd)[0] != '\0', "a failed open without a reason");
    } else {
        char link[64], where[PATH_MAX + 1];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, where, sizeof where - 1);
        check(n > 0, "readlink of the opened descriptor");
        where[n] = '\0';
        check(!strncmp(where, root, root_len) && (where[root_len] == '/' || !where[root_len]),
              "opened a file outside the root");
        close(fd);
    }
    free(rel);
    return 0;
}
