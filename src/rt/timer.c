/* timer.c - an intrusive binary min-heap of deadlines for one event loop.
 *
 * Entries live in the objects they serve; the heap holds pointers ordered by (deadline,
 * arming sequence) and each entry remembers its index, so cancelling or moving one is a
 * sift from where it sits, O(log n), with no search. A 4-ary heap or a hierarchical wheel
 * would do fewer cache misses at millions of entries; at one entry per session or connection
 * per loop the binary heap's few hundred nanoseconds per operation are noise, and it gives
 * exact deadlines with no resolution to choose. rt_timers_run pops due entries one at a time
 * and calls them with the entry already out of the heap, so a callback may re-arm, cancel
 * others or free its own; entries re-armed for "now" wait for the next run, so a callback
 * cannot pin the loop. */
#include "rt/timer.h"

#include "base/alloc.h"

#include <stdlib.h>

static bool earlier(const rt_timer *a, const rt_timer *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void place(rt_timers *ts, size_t i, rt_timer *t)
{
    ts->heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(rt_timers *ts, size_t i)
{
    rt_timer *t = ts->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(t, ts->heap[parent])) break;
        place(ts, i, ts->heap[parent]);
        i = parent;
    }
    place(ts, i, t);
}

static void sift_down(rt_timers *ts, size_t i)
{
    rt_timer *t = ts->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= ts->n) break;
        if (c + 1 < ts->n && earlier(ts->heap[c + 1], ts->heap[c])) c++;
        if (!earlier(ts->heap[c], t)) break;
        place(ts, i, ts->heap[c]);
        i = c;
    }
    place(ts, i, t);
}

void rt_timers_init(rt_timers *ts)
{
    ts->heap = NULL;
    ts->n = ts->cap = 0;
    ts->seq = 0;
}

void rt_timers_free(rt_timers *ts)
{
    for (size_t i = 0; i < ts->n; i++) ts->heap[i]->slot = 0;
    free(ts->heap);
    rt_timers_init(ts);
}

void rt_timer_init(rt_timer *t, rt_timer_fn fn)
{
    t->due_ms = 0;
    t->seq = 0;
    t->slot = 0;
    t->fn = fn;
}

/* Takes the entry at index i out of the heap. */
static void remove_at(rt_timers *ts, size_t i)
{
    rt_timer *t = ts->heap[i];
    t->slot = 0;
    if (--ts->n == i) return;
    rt_timer *last = ts->heap[ts->n];
    place(ts, i, last);
    if (i > 0 && earlier(last, ts->heap[(i - 1) / 2]))
        sift_up(ts, i);
    else
        sift_down(ts, i);
}

void rt_timer_arm(rt_timers *ts, rt_timer *t, uint64_t due_ms)
{
    if (t->slot) remove_at(ts, t->slot - 1);
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 16;
        ts->heap = mcp_xrealloc(ts->heap, ts->cap * sizeof *ts->heap);
    }
    t->due_ms = due_ms;
    t->seq = ts->seq++;
    ts->heap[ts->n] = t;
    sift_up(ts, ts->n++);
}

void rt_timer_cancel(rt_timers *ts, rt_timer *t)
{
    if (t->slot) remove_at(ts, t->slot - 1);
}

uint64_t rt_timers_next(const rt_timers *ts)
{
    return ts->n ? ts->heap[0]->due_ms : UINT64_MAX;
}

size_t rt_timers_run(rt_timers *ts, uint64_t now_ms)
{
    size_t ran = 0;
    uint64_t limit = ts->seq; /* entries armed from here on wait for the next run */
    while (ts->n && ts->heap[0]->due_ms <= now_ms && ts->heap[0]->seq < limit) {
        rt_timer *t = ts->heap[0];
        remove_at(ts, 0);
        t->fn(t, now_ms);
        ran++;
    }
    return ran;
}

void rt_timers_drain(rt_timers *ts)
{
    while (ts->n) {
        rt_timer *t = ts->heap[0];
        remove_at(ts, 0);
        t->fn(t, RT_TIMER_DRAIN);
    }
}
