/* clock.h - monotonic and wall-clock time in integer units.
 *
 * Durations, timeouts and metrics use the monotonic clock: it never jumps when NTP or an admin
 * sets the time. Anything that crosses processes or machines (the expiry inside a sealed token,
 * timestamps in logs) needs wall-clock time, hence rt_now_unix_ms. All are vDSO calls on Linux
 * (no syscall), safe from any thread. */
#ifndef MCP_RT_CLOCK_H
#define MCP_RT_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Returns CLOCK_MONOTONIC in nanoseconds (arbitrary origin; only differences mean anything). */
static inline uint64_t rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Returns CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t rt_now_ms(void)
{
    return rt_now_ns() / 1000000u;
}

/* Returns wall-clock time (CLOCK_REALTIME) in milliseconds since the Unix epoch. Can jump. */
static inline uint64_t rt_now_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
