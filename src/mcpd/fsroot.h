/* fsroot.h - open files beneath a root directory, never outside it.
 *
 * mcpd serves directories as resources. A client names a file by a relative path; these
 * functions turn that path into an open file descriptor such that the file lies beneath the
 * root: `..` segments, absolute paths and symlinks that lead out of the root are refused, and
 * the check is made by the kernel during the open itself (openat2 RESOLVE_BENEATH), so a
 * symlink swapped in between a check and an open cannot escape. On kernels without openat2 the
 * path is walked one component at a time with O_NOFOLLOW, which refuses every symlink.
 *
 * All functions may be called from any thread; they touch only their arguments. */
#ifndef MCPD_FSROOT_H
#define MCPD_FSROOT_H

#include <stdbool.h>
#include <stddef.h>

/* Longest relative path accepted, in bytes. */
#define FSROOT_PATH_MAX 1024

/* Checks that rel is a relative path fit to look up: 1..FSROOT_PATH_MAX bytes, no NUL (len
 * counts bytes), not starting with '/', no empty, "." or ".." segment, no segment over 255 bytes,
 * no control characters. Returns NULL if it is fine, else a static reason for the client. */
const char *fsroot_check_path(const char *rel, size_t len);

/* Opens rel beneath the directory rootfd with flags (O_RDONLY, O_DIRECTORY, ...; O_CLOEXEC and
 * O_NOCTTY are added). rel must have passed fsroot_check_path. Returns the fd (the caller closes
 * it), or a negative errno: -EXDEV or -ELOOP when the path leads out of the root through a
 * symlink, -ENOENT, -EACCES, ... */
int fsroot_open(int rootfd, const char *rel, int flags);

/* A short description of an fsroot_open error for a client, e.g. "the path leads out of the
 * served directory". Static string. */
const char *fsroot_strerror(int neg_errno);

#endif
