/* loop.h - worker threads, one libuv loop each, with one SO_REUSEPORT listener per worker.
 *
 * rt_workers runs N threads; each owns a uv_loop_t, a listening socket bound to the same
 * address with SO_REUSEPORT (the kernel spreads incoming connections across them; accepting
 * pauses, instead of spinning, while the process is out of file descriptors), a uv_async_t
 * that carries messages from other threads (rt_worker_post) and one deadline heap (rt/timer.h)
 * for every timer of the loop: its periodic tick that drives the connection timeouts of the
 * layer above, and any entry the layer above arms (rt_worker_timer_arm). Messages a loop posts
 * to itself skip the lock and the wake-up (a local queue run by a uv_idle_t). The layers above
 * keep per-worker data in slots whose on_stop runs when the loop stops. The loop knows nothing
 * of HTTP: the layer above plugs in through rt_workers_config callbacks. Counters live in a
 * cache-line-aligned struct per worker, written only by that worker's thread and summed on read
 * with relaxed atomics. See docs/internals/runtime.md. */
#ifndef MCP_RT_LOOP_H
#define MCP_RT_LOOP_H

#include "rt/timer.h"

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

typedef struct rt_worker rt_worker;
typedef struct rt_workers rt_workers;

/* Per-worker counters. Written by the owning loop thread only (relaxed atomics so that readers
 * on other threads are race-free); read with rt_workers_stats. */
typedef struct rt_counters {
    _Atomic uint64_t conns_open;     /* connections currently open */
    _Atomic uint64_t conns_accepted; /* connections accepted since start */
    _Atomic uint64_t conns_refused;  /* connections closed at once: max connections reached */
    _Atomic uint64_t requests;       /* requests handed to the handler */
    _Atomic uint64_t errors;         /* protocol errors, timeouts, I/O errors */
    _Atomic uint64_t accept_pauses;  /* times accepting paused: out of fds (EMFILE) or memory */
} rt_counters;

/* A plain snapshot of the counters, summed over workers. */
typedef struct rt_stats {
    uint64_t conns_open, conns_accepted, conns_refused, requests, errors, accept_pauses;
} rt_stats;

#define RT_COUNT_ADD(w, field, n)                                                                  \
    atomic_fetch_add_explicit(&rt_worker_counters(w)->field, (n), memory_order_relaxed)
#define RT_COUNT_SUB(w, field, n)                                                                  \
    atomic_fetch_sub_explicit(&rt_worker_counters(w)->field, (n), memory_order_relaxed)

typedef struct rt_workers_config {
    unsigned nworkers; /* 0: rt_cpu_count() */
    const char *host;  /* IPv4 or IPv6 literal; NULL: "127.0.0.1" */
    int port;          /* 0: the kernel picks one (see rt_workers_port) */
    int backlog;       /* 0: 511 */
    unsigned tick_ms;  /* period of the per-worker timer; 0: 250 */
    /* Called on the starting thread for each worker before any loop runs (set up per-worker
     * state here with rt_worker_set_data). */
    void (*on_start)(rt_worker *w, void *ud);
    /* Called on the loop thread with each accepted connection: fd is a non-blocking,
     * close-on-exec socket that the callee now owns (uv_tcp_open it, or close it). */
    void (*on_accept)(rt_worker *w, int fd, void *ud);
    /* Called on the loop thread every tick_ms with the monotonic time in ms. */
    void (*on_tick)(rt_worker *w, uint64_t now_ms, void *ud);
    /* Called on the loop thread when stopping: close every handle you opened on the loop. */
    void (*on_stop)(rt_worker *w, void *ud);
    /* Called on the stopping thread after the loop thread ended: free per-worker state. */
    void (*on_exit)(rt_worker *w, void *ud);
    void *ud;
} rt_workers_config;

/* Creates the listening sockets, the loops and the threads, and starts them. Ignores SIGPIPE
 * for the process. Returns 0 and *out (free with rt_workers_stop), or a negative errno (e.g.
 * -EADDRINUSE) with nothing left behind. Call from one thread (not a worker). */
int rt_workers_start(rt_workers **out, const rt_workers_config *cfg);

/* Stops accepting, runs on_stop on each loop, runs messages still queued, joins the threads,
 * runs on_exit and frees ws. Call once, from the thread that started them (not a worker). */
void rt_workers_stop(rt_workers *ws);

/* Closes every worker's listener (new connections are refused by the kernel); connections
 * already accepted go on. Asynchronous: each loop closes its own. Any thread but a worker's. */
void rt_workers_stop_accepting(rt_workers *ws);

/* Watches w's listener again if accepting was paused for lack of fds or memory (call it when
 * a connection is freed; the worker's tick also retries). No-op otherwise. Loop thread of w. */
void rt_worker_resume_accept(rt_worker *w);

/* Returns the port the listeners are bound to. Any thread. */
int rt_workers_port(const rt_workers *ws);
/* Returns the number of workers. Any thread. */
unsigned rt_workers_count(const rt_workers *ws);
/* Returns worker i (i < count); valid until rt_workers_stop. Any thread. */
rt_worker *rt_workers_get(rt_workers *ws, unsigned i);
/* Fills *out with the counters summed over the workers (no locks; each value is exact, the
 * sum is a near-instant snapshot). Any thread. */
void rt_workers_stats(const rt_workers *ws, rt_stats *out);

/* Queues fn(arg) to run on w's loop thread and wakes it. Returns 0, or -ECANCELED once w is
 * stopping (fn will not run; the caller still owns arg). Any thread. Messages from one thread
 * run in the order posted. From w's own thread it makes no system call (a local queue, run by
 * an idle handle once the current callback returns, never re-entrantly); from another, a
 * mutex and an eventfd wake-up (uv_async_send, coalesced). */
int rt_worker_post(rt_worker *w, void (*fn)(void *arg), void *arg);

/* Arms t (an entry embedded in the caller's object, rt_timer_init'ed) in w's deadline heap to
 * run at due_ms (monotonic ms, rt_now_ms), or moves it there; the loop sleeps until the
 * earliest deadline of all its entries. t's callback runs on w's loop thread, with t disarmed;
 * when the loop stops, after on_stop, every entry still armed is called with RT_TIMER_DRAIN
 * (release what it holds). Loop thread of w only: other threads rt_worker_post to it. */
void rt_worker_timer_arm(rt_worker *w, rt_timer *t, uint64_t due_ms);
/* Disarms t (armed on w by rt_worker_timer_arm); no-op when it is not armed. Loop thread of
 * w only. */
void rt_worker_timer_cancel(rt_worker *w, rt_timer *t);

/* Returns the worker whose loop runs the calling thread, or NULL on any other thread. */
rt_worker *rt_worker_current(void);

/* Per-worker data of the layers above, by key (any unique address). At most RT_WORKER_SLOTS
 * keys per worker. */
#define RT_WORKER_SLOTS 16
/* Called once on w's loop thread when w stops: after the queued messages ran and the layer
 * above's on_stop, before w's own handles close; the loop runs on until every handle closed
 * by then (uv_close) has had its close callback. */
typedef void (*rt_slot_stop_fn)(rt_worker *w, void *data);
/* Returns the data set for key on w, or NULL. Loop thread of w. */
void *rt_worker_slot_get(const rt_worker *w, const void *key);
/* Sets data for key on w (data NULL: removes the key), replacing what was set (its on_stop is
 * not called; *old, if not NULL, receives the data replaced, or NULL). Returns 0; -ENOSPC
 * when w has RT_WORKER_SLOTS keys already; -ECANCELED once w's slots have been stopped.
 * Loop thread of w. */
int rt_worker_slot_set(rt_worker *w, const void *key, void *data, rt_slot_stop_fn on_stop,
                       void **old);

/* Accessors. The loop, data and index may be used from w's loop thread (data also from
 * on_start/on_exit); counters from any thread. */
uv_loop_t *rt_worker_loop(rt_worker *w);
unsigned rt_worker_index(const rt_worker *w);
void *rt_worker_data(const rt_worker *w);
void rt_worker_set_data(rt_worker *w, void *data);
rt_counters *rt_worker_counters(rt_worker *w);

#endif
