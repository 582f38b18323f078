/* fsroot.c - open files beneath a root directory, never outside it (see fsroot.h).
 *
 * The lexical check refuses what is wrong on its face (absolute paths, `..`, empty segments),
 * so that a client gets a precise reason. The open itself then relies on the kernel:
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) resolves every component, symlinks
 * included, and fails with EXDEV as soon as resolution would leave the root; it is atomic with
 * respect to renames and symlink swaps made by others during the call. Where openat2 is missing
 * (ENOSYS, or a seccomp filter answering EPERM) we fall back to walking the path ourselves one
 * directory at a time with O_NOFOLLOW, which is just as safe but refuses symlinks altogether. */
#include "fsroot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *fsroot_check_path(const char *rel, size_t len)
{
    if (!rel || len == 0) return "empty path";
    if (len > FSROOT_PATH_MAX) return "path too long (at most 1024 bytes)";
    if (memchr(rel, '\0', len)) return "path contains a NUL byte";
    if (rel[0] == '/') return "absolute paths are not allowed";
    size_t seg = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || rel[i] == '/') {
            const char *s = rel + i - seg;
            if (seg == 0) return "empty path segment";
            if (seg == 1 && s[0] == '.') return "'.' segments are not allowed";
            if (seg == 2 && s[0] == '.' && s[1] == '.') return "'..' segments are not allowed";
            if (seg > 255) return "path segment too long";
            seg = 0;
            continue;
        }
        if ((unsigned char)rel[i] < 0x20 || rel[i] == 0x7f)
            return "path contains a control character";
        seg++;
    }
    return NULL;
}

static atomic_int no_openat2; /* set once openat2 proved unavailable */

/* The fallback: each directory component opened with O_NOFOLLOW | O_DIRECTORY. */
static int walk_open(int rootfd, const char *rel, int flags)
{
    char buf[FSROOT_PATH_MAX + 1];
    size_t len = strlen(rel);
    if (len > FSROOT_PATH_MAX) return -ENAMETOOLONG;
    memcpy(buf, rel, len + 1);
    int dir = rootfd;
    char *seg = buf;
    for (;;) {
        char *slash = strchr(seg, '/');
        if (!slash) break;
        *slash = '\0';
        int next = openat(dir, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        if (dir != rootfd) close(dir);
        if (next < 0) return e == ENOTDIR ? -ELOOP : -e;
        dir = next;
        seg = slash + 1;
    }
    int fd = openat(dir, seg, flags | O_NOFOLLOW | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY));
    int e = errno;
    if (dir != rootfd) close(dir);
    return fd < 0 ? -e : fd;
}

int fsroot_open(int rootfd, const char *rel, int flags)
{
    if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
        struct open_how how = {
            .flags = (unsigned long long)(flags | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY)),
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        long fd;
        do {
            fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
        } while (fd < 0 && errno == EAGAIN);
        if (fd >= 0) return (int)fd;
        if (errno != ENOSYS && errno != EPERM) return -errno;
        if (errno == ENOSYS) atomic_store_explicit(&no_openat2, 1, memory_order_relaxed);
    }
    return walk_open(rootfd, rel, flags);
}

const char *fsroot_strerror(int neg_errno)
{
    switch (-neg_errno) {
    case EXDEV:
    case ELOOP:
        return "the path leads out of the served directory (through a symlink)";
    case ENOENT:
        return "no such file";
    case ENOTDIR:
        return "a path segment is not a directory";
    case EACCES:
    case EPERM:
        return "permission denied";
    case EISDIR:
        return "the path is a directory";
    case ENAMETOOLONG:
        return "path too long";
    default:
        return "cannot open the file";
    }
}
