/* mount.h - stable handler targets that survive a reload.
 *
 * libmcp calls a resource or prompt handler with the `ud` given at registration, possibly a
 * moment after the registration was removed. mcpd therefore never registers a pointer to an
 * object a reload frees: it registers a mount, a process-lifetime slot named by a key (a URI
 * prefix, a prompt name) that points at the object serving it now. A handler enters the mount
 * (a read lock) for the length of the call; a reload hands the mount to the new object, and
 * freeing the old one waits for the calls inside it. At most 1024 mounts exist; they are never
 * freed (their memory stays reachable until exit).
 *
 * All functions may be called from any thread. */
#ifndef MCPD_MOUNT_H
#define MCPD_MOUNT_H

#include <stdbool.h>

typedef struct mount mount;

/* The mount named key, created if needed; NULL when 1024 mounts exist already. */
mount *mount_get(const char *key);
/* Enters m for a call: returns the object serving it now (NULL: none). Pair with mount_leave,
 * also when it returned NULL. */
void *mount_enter(mount *m);
void mount_leave(mount *m);
/* Makes owner the object serving m (waits for calls inside m); returns the previous one. */
void *mount_take(mount *m, void *owner);
/* If owner serves m, clears it (waits for calls inside m) and returns true: the caller then
 * removes its registrations. False if another object took m over meanwhile: its
 * registrations are the new owner's now. */
bool mount_release(mount *m, void *owner);

#endif
