/* test_mcpd_fsroot.c - mcpd's confinement of paths beneath a served directory, and its MIME
 * table: `..`, absolute paths, symlinks out of the root (relative, absolute, chained, in a
 * middle segment) refused; symlinks that stay inside served; a symlink swapped back and forth
 * by another thread while we open never lets a read escape. */
#include "test.h"

#include "../../src/mcpd/fsroot.c"
#include "../../src/mcpd/mime.c"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

static char tmp[256];
static int rootfd;

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    FILE *f = fopen(p, "w");
    if (!f) T_FAIL("cannot create %s", p);
    fputs(text, f);
    fclose(f);
}

static void link_at(const char *target, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    unlink(p);
    if (symlink(target, p)) T_FAIL("symlink %s -> %s failed", p, target);
}

/* Reads rel beneath the root into buf; returns the fd result (negative errno) or bytes. */
static long read_rel(const char *rel, char *buf, size_t size)
{
    int fd = fsroot_open(rootfd, rel, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return fd;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return n;
}

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/mcpd_fsroot_%d", (int)getpid());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s.outside && mkdir -p %s/sub %s.outside", tmp, tmp, tmp,
             tmp);
    if (system(cmd)) abort();
    char p[512];
    snprintf(p, sizeof p, "%s.outside/secret", tmp);
    FILE *f = fopen(p, "w");
    fputs("SECRET", f);
    fclose(f);
    put("a.txt", "hello");
    put("sub/b.md", "# b");
    link_at("../a.txt", "sub/up.txt"); /* inside: fine */
    link_at("sub", "subdir-link");     /* a directory link inside */
    snprintf(p, sizeof p, "%s.outside/secret", tmp);
    link_at(p, "abs-out"); /* absolute, out */
    link_at("../../etc/passwd", "sub/rel-out");
    snprintf(p, sizeof p, "%s.outside", tmp);
    link_at(p, "outdir");            /* a directory out: used as a middle segment */
    link_at("sub/rel-out", "chain"); /* a link to a link that leaves */
    rootfd = open(tmp, O_RDONLY | O_DIRECTORY);
}

static void teardown(void)
{
    close(rootfd);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s.outside", tmp, tmp);
    if (system(cmd)) abort();
}

TEST(lexical_checks)
{
    CHECK(fsroot_check_path("a.txt", 5) == NULL);
    CHECK(fsroot_check_path("sub/b.md", 8) == NULL);
    CHECK_STR(fsroot_check_path("../a", 4), "'..' segments are not allowed");
    CHECK_STR(fsroot_check_path("sub/../../x", 11), "'..' segments are not allowed");
    CHECK_STR(fsroot_check_path("sub/..", 6), "'..' segments are not allowed");
    CHECK_STR(fsroot_check_path("/etc/passwd", 11), "absolute paths are not allowed");
    CHECK_STR(fsroot_check_path("a//b", 4), "empty path segment");
    CHECK_STR(fsroot_check_path("a/", 2), "empty path segment");
    CHECK_STR(fsroot_check_path("./a", 3), "'.' segments are not allowed");
    CHECK_STR(fsroot_check_path("a\0b", 3), "path contains a NUL byte");
    CHECK_STR(fsroot_check_path("a\nb", 3), "path contains a control character");
    CHECK_STR(fsroot_check_path("", 0), "empty path");
    char big[2000];
    memset(big, 'a', sizeof big);
    CHECK_STR(fsroot_check_path(big, sizeof big), "path too long (at most 1024 bytes)");
    CHECK_STR(fsroot_check_path(big, 300), "path segment too long");
    CHECK(fsroot_check_path("..a/b..", 7) == NULL); /* dots inside names are names */
}

TEST(inside_is_served)
{
    char buf[64];
    CHECK_INT(read_rel("a.txt", buf, sizeof buf), 5);
    CHECK_STR(buf, "hello");
    CHECK_INT(read_rel("sub/b.md", buf, sizeof buf), 3);
    CHECK_INT(read_rel("sub/up.txt", buf, sizeof buf), 5); /* a symlink that stays inside */
    CHECK_STR(buf, "hello");
    CHECK_INT(read_rel("subdir-link/b.md", buf, sizeof buf), 3);
    CHECK_INT(read_rel("nope.txt", buf, sizeof buf), -ENOENT);
}

TEST(escapes_are_refused)
{
    char buf[64];
    long r = read_rel("abs-out", buf, sizeof buf);
    CHECK(r == -EXDEV || r == -ELOOP);
    r = read_rel("sub/rel-out", buf, sizeof buf);
    CHECK(r == -EXDEV || r == -ELOOP);
    r = read_rel("outdir/secret", buf, sizeof buf);
    CHECK(r == -EXDEV || r == -ELOOP);
    r = read_rel("chain", buf, sizeof buf);
    CHECK(r == -EXDEV || r == -ELOOP);
    /* even a path the lexical check would refuse cannot escape through the open itself */
    r = read_rel("../mcpd_x", buf, sizeof buf);
    CHECK(r == -EXDEV || r == -ELOOP);
    CHECK_STR(fsroot_strerror(-EXDEV),
              "the path leads out of the served directory (through a symlink)");
}

TEST(fallback_walk_refuses_symlinks)
{
    char buf[64];
    int fd = walk_open(rootfd, "sub/b.md", O_RDONLY);
    CHECK(fd >= 0);
    close(fd);
    CHECK_INT(walk_open(rootfd, "outdir/secret", O_RDONLY), -ELOOP);
    CHECK_INT(walk_open(rootfd, "abs-out", O_RDONLY), -ELOOP);
    CHECK_INT(walk_open(rootfd, "sub/up.txt", O_RDONLY), -ELOOP);
    (void)buf;
}

static atomic_bool stop_swapping;

static void *swapper(void *arg)
{
    (void)arg;
    char out[512], in[512], tmpl[512];
    snprintf(out, sizeof out, "%s.outside", tmp);
    snprintf(in, sizeof in, "%s/swap", tmp);
    snprintf(tmpl, sizeof tmpl, "%s/swap.new", tmp);
    while (!atomic_load(&stop_swapping)) {
        /* swap: a real directory with a harmless file, then a link out, atomically by rename */
        unlink(tmpl);
        symlink(out, tmpl);
        rename(tmpl, in);
        unlink(tmpl);
        symlink("sub", tmpl);
        rename(tmpl, in);
    }
    return NULL;
}

TEST(symlink_swap_race_never_escapes)
{
    char out[512];
    snprintf(out, sizeof out, "%s/sub/secret", tmp);
    put("sub/secret", "harmless");
    pthread_t t;
    atomic_store(&stop_swapping, false);
    pthread_create(&t, NULL, swapper, NULL);
    int inside = 0, refused = 0;
    for (int i = 0; i < 20000; i++) {
        char buf[64];
        long r = read_rel("swap/secret", buf, sizeof buf);
        if (r >= 0) {
            if (strcmp(buf, "harmless")) {
                atomic_store(&stop_swapping, true);
                pthread_join(t, NULL);
                T_FAIL("read escaped the root: \"%s\"", buf);
            }
            inside++;
        } else {
            refused++;
        }
    }
    atomic_store(&stop_swapping, true);
    pthread_join(t, NULL);
    CHECK(inside + refused == 20000);
}

TEST(mime_types)
{
    CHECK_STR(mime_by_name("README.md"), "text/markdown");
    CHECK_STR(mime_by_name("docs/X.JSON"), "application/json");
    CHECK_STR(mime_by_name("a/b/c.png"), "image/png");
    CHECK(mime_by_name("Makefile") == NULL);
    CHECK(mime_by_name(".bashrc") == NULL);
    CHECK(mime_by_name("a.unknownext") == NULL);
    CHECK(mime_by_name("dir.md/file") == NULL);
    CHECK(mime_is_text("text/markdown"));
    CHECK(mime_is_text("application/json"));
    CHECK(mime_is_text("application/ld+json"));
    CHECK(!mime_is_text("image/png"));
    CHECK(!mime_is_text("application/pdf"));
    CHECK(mime_valid("text/x-c"));
    CHECK(!mime_valid("text"));
    CHECK(!mime_valid("text/"));
    CHECK(!mime_valid("a/b/c"));
    CHECK(!mime_valid("text/pl ain"));
    /* the table must stay sorted for bsearch */
    for (size_t i = 1; i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(table[i - 1].ext, table[i].ext) >= 0)
            T_FAIL("table unsorted at %s", table[i].ext);
}

int main(void)
{
    setup();
    RUN(lexical_checks);
    RUN(inside_is_served);
    RUN(escapes_are_refused);
    RUN(fallback_walk_refuses_symlinks);
    RUN(symlink_swap_race_never_escapes);
    RUN(mime_types);
    teardown();
    return test_summary();
}
