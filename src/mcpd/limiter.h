/* limiter.h - a concurrency limit (a counting semaphore) with a bounded wait.
 *
 * A tool or an upstream gets one: at most `max` calls run at once; a call beyond waits at most
 * `wait_ms` for a slot, and at most `max_waiters` calls may wait at all, so a flood turns into
 * quick, clear errors instead of a pile of blocked threads. The global child-process limit of
 * mcpd and every tool's own limit (guard.c) are ones too; a waiting call that is cancelled
 * stops waiting at once (mcpd_limiter_acquire_unless + mcpd_limiter_wake). Every function may be
 * called from any thread. */
#ifndef MCPD_LIMITER_H
#define MCPD_LIMITER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mcpd_limiter mcpd_limiter;

/* Returns a limiter of `max` slots (at least 1), waits of at most wait_ms, at most
 * max_waiters waiting (0: max). Free with mcpd_limiter_free() once nobody holds or waits for
 * a slot. Aborts on out-of-memory. */
mcpd_limiter *mcpd_limiter_new(uint32_t max, uint32_t wait_ms, uint32_t max_waiters);
void mcpd_limiter_free(mcpd_limiter *l);

/* Takes a slot, waiting up to the limiter's wait_ms (or less: wait_ms_cap, 0 for none, if it
 * is shorter, e.g. what is left of a call's deadline). Returns true with a slot held (give it
 * back with mcpd_limiter_release), or false with a sentence in why[whysize] (may be NULL),
 * e.g. "too many concurrent calls (limit 4): no slot freed within 500 ms". Blocks the calling
 * thread: use it on handler threads, never on an event loop (use mcpd_limiter_try there). */
bool mcpd_limiter_acquire(mcpd_limiter *l, uint32_t wait_ms_cap, char *why, size_t whysize);
/* The same, but the wait also ends as soon as *stop is true (checked when the limiter is
 * woken: whoever sets it calls mcpd_limiter_wake). Returns false, without counting a refusal,
 * when it was stopped ("cancelled while waiting for a slot"). stop may be NULL. */
bool mcpd_limiter_acquire_unless(mcpd_limiter *l, uint32_t wait_ms_cap, const atomic_bool *stop,
                                 char *why, size_t whysize);
/* Wakes every waiter to look at its stop flag. Any thread; takes only the limiter's mutex, so
 * it may run from a libmcp cancel callback. */
void mcpd_limiter_wake(mcpd_limiter *l);
/* Takes a slot if one is free at once; never waits. */
bool mcpd_limiter_try(mcpd_limiter *l);
/* The same, but a miss is not counted as a refusal: for a first attempt whose caller goes on to
 * wait for a slot another way (the guard's inline attempt). */
bool mcpd_limiter_try_first(mcpd_limiter *l);
/* Gives a slot back and wakes one waiter. */
void mcpd_limiter_release(mcpd_limiter *l);

/* Slots in use, and calls waiting now. */
uint32_t mcpd_limiter_in_use(mcpd_limiter *l);
uint32_t mcpd_limiter_waiting(mcpd_limiter *l);
/* Calls refused since creation. */
uint64_t mcpd_limiter_refused(mcpd_limiter *l);
/* Calls that waited for a slot since creation (whether they got one or not). */
uint64_t mcpd_limiter_waits(mcpd_limiter *l);

#endif
