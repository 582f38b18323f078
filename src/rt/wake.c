/* wake.c - one-shot wake-ups over eventfd(2); see wake.h. The counter is written once and never
 * read by us, so the descriptor stays readable until it is closed. */
#include "rt/wake.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int rt_wake_open(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

void rt_wake_signal(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one); /* only fails when the counter would overflow */
    (void)w;
}

void rt_wake_close(int fd)
{
    if (fd >= 0) close(fd);
}
