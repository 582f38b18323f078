/* timer.h - deadlines of one event loop: an intrusive binary min-heap of timer entries.
 *
 * Every periodic or deadline job of a loop (its tick, session expiry, busy-session ticks) is
 * one rt_timer embedded in the object it serves and kept in the loop's rt_timers; the loop
 * sleeps until the earliest deadline (src/rt/loop.c arms one uv_timer_t for it). Arming,
 * moving and cancelling cost O(log n), running a due entry O(log n), an idle entry nothing:
 * nothing walks all entries. Owners that see frequent activity re-arm lazily: they record the
 * activity time and, when the entry fires early, re-arm it for the real deadline, so activity
 * never touches the heap. Not thread-safe: an rt_timers and its entries belong to one thread
 * (a loop's); other threads post to that loop. See docs/internals/runtime.md. */
#ifndef MCP_RT_TIMER_H
#define MCP_RT_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_timer rt_timer;

/* Called when t is due, with the time the heap was run at (monotonic ms); t is no longer armed
 * and may be re-armed or freed by the callback. now_ms == RT_TIMER_DRAIN: the loop is going
 * away (rt_timers_drain): release what the entry holds and do not re-arm. */
typedef void (*rt_timer_fn)(rt_timer *t, uint64_t now_ms);
#define RT_TIMER_DRAIN 0

/* An entry. Embed it, initialize it with rt_timer_init; the fields are private. */
struct rt_timer {
    uint64_t due_ms; /* private */
    uint64_t seq;    /* private: FIFO among equal deadlines */
    size_t slot;     /* private: heap index + 1; 0 when not armed */
    rt_timer_fn fn;
};

typedef struct rt_timers {
    rt_timer **heap; /* private */
    size_t n, cap;
    uint64_t seq;
} rt_timers;

/* Initializes an empty heap (no allocation until the first arm). */
void rt_timers_init(rt_timers *ts);
/* Frees the heap's array. Entries still armed are forgotten (drain first if they hold
 * anything). */
void rt_timers_free(rt_timers *ts);

/* Initializes t, not armed, calling fn when due. */
void rt_timer_init(rt_timer *t, rt_timer_fn fn);
/* Arms t to fire at due_ms (monotonic ms), or moves it there if armed. */
void rt_timer_arm(rt_timers *ts, rt_timer *t, uint64_t due_ms);
/* Disarms t; no-op when it is not armed. */
void rt_timer_cancel(rt_timers *ts, rt_timer *t);
/* Whether t is armed. */
static inline bool rt_timer_armed(const rt_timer *t)
{
    return t->slot != 0;
}
/* The deadline t is armed for (meaningless when not armed). */
static inline uint64_t rt_timer_due(const rt_timer *t)
{
    return t->due_ms;
}

/* The earliest deadline armed, or UINT64_MAX when none is. */
uint64_t rt_timers_next(const rt_timers *ts);
/* The number of entries armed. */
static inline size_t rt_timers_count(const rt_timers *ts)
{
    return ts->n;
}
/* Runs every entry due at now_ms (deadline <= now_ms), earliest first, ties in arming order.
 * An entry re-armed by its callback for a time <= now_ms runs again on the next call, not in
 * this one (a callback cannot keep the loop here). Returns the number run. */
size_t rt_timers_run(rt_timers *ts, uint64_t now_ms);
/* Disarms every entry and calls each with RT_TIMER_DRAIN (earliest first). Entries armed by
 * those callbacks are drained too. */
void rt_timers_drain(rt_timers *ts);

#endif
