/* pool.h - the bounded work pool: runs blocking or long handlers off the I/O threads.
 *
 * A transport that must call something slow (a tool handler, a file read, a subprocess) hands
 * it to the pool as an rt_job and goes back to its loop. The pool is elastic, sized for work
 * that blocks: it keeps min_threads workers (the core count) and starts another whenever a job
 * arrives with no idle worker to take it, up to `threads` (default max(64, 8 x cores)); a
 * worker above min_threads that stays idle for idle_ms retires. So a handler sleeping on a
 * socket occupies one thread, not a core's share of the pool, and quick jobs queued behind it
 * get a thread of their own. The queue is bounded: when it is
 * full, submit fails at once with -EAGAIN and the caller sheds the request (the HTTP layer
 * answers 503 with Retry-After); nothing already accepted is ever dropped. Two priorities:
 * high jobs (cancellation, cleanup: short work that frees resources) are taken before any
 * normal job. Counters are readable at any time without taking the pool's lock.
 *
 * Fair degradation (opt-in, see rt_pool_config): normal jobs carry a client key (a session,
 * principal or peer hashed by the caller) and wait in one FIFO per key bucket, served round
 * robin, so a client flooding the pool waits behind its own jobs, not in front of everyone's.
 * Admission is decided by queue wait, CoDel-style: when the oldest job of a client's bucket
 * has waited longer than the target for a whole interval, that client's new jobs are refused
 * (-EAGAIN) until its queue drains below the target; a per-client bound caps its waiting jobs.
 * rt_pool_retry_after_s estimates when a refused caller should come back.
 *
 * Lifetime of a job: the caller owns its memory. From a successful rt_pool_submit until the
 * pool calls done (or run, when done is NULL) the pool owns the link fields and the caller
 * must not touch the job. Every accepted job gets exactly one of:
 *   - run(job) on a pool thread, then done(job, 0) on the same thread, or
 *   - done(job, -ECANCELED), without run, on the thread calling rt_pool_shutdown(p, false).
 * After calling done the pool never touches the job again, so done may free it. A job without
 * done may free itself at the end of run, but is dropped silently by a cancelling shutdown.
 * See docs/internals/pool.md. */
#ifndef MCP_RT_POOL_H
#define MCP_RT_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_pool rt_pool;
typedef struct rt_job rt_job;

enum rt_job_priority {
    RT_JOB_NORMAL = 0,
    RT_JOB_HIGH = 1, /* taken before every queued normal job; keep such work short */
};

struct rt_job {
    /* public: set by the owner before submit */
    void (*run)(rt_job *job); /* required; runs on a pool thread */
    /* optional; status 0 after run, -ECANCELED when shutdown dropped the job unrun */
    void (*done)(rt_job *job, int status);
    int priority; /* enum rt_job_priority */
    /* fairness key of normal jobs: who asked (0: anonymous, one client like any other) */
    uint64_t client;
    /* private: owned by the pool while the job is queued */
    rt_job *_next;
    uint64_t _enqueued_ns;
};

typedef struct rt_pool_config {
    /* most worker threads; 0: max(64, 8 x the CPUs this process may run on); at most 1024 */
    unsigned threads;
    /* jobs waiting (both priorities together); 0: 1024 */
    unsigned queue_max;
    /* bytes per worker stack; 0: 1 MiB (x4 under ASan/TSan; JSON Schema validation may use
     * ~0.5 MiB). Handlers must not recurse deeply or put big buffers on the stack; raise this
     * for ones that do. Rounded up to the page size and PTHREAD_STACK_MIN. */
    size_t stack_size;
    /* prefix for thread names ("<name>-N", cut to 15 chars); NULL: "mcp-pool" */
    const char *name;
    /* workers kept even when idle, started with the pool; 0: the CPUs this process may run on,
     * at most `threads` */
    unsigned min_threads;
    /* a worker above min_threads idle this long retires; 0: 10000 ms */
    unsigned idle_ms;
    /* CoDel-style shedding of normal jobs: refuse a client's new jobs once the oldest of its
     * waiting jobs has waited over codel_target_ms for codel_interval_ms (0: 10 x target).
     * 0: off (only queue_max sheds). */
    unsigned codel_target_ms;
    unsigned codel_interval_ms;
    /* most normal jobs one client key may have waiting; 0: no bound but queue_max */
    unsigned client_queue_max;
    /* optional; called on the worker thread as each job starts, with how long it waited */
    void (*on_wait)(void *ud, uint64_t wait_ns);
    void *wait_ud;
} rt_pool_config;

typedef struct rt_pool_stats {
    unsigned threads; /* the most workers (rt_pool_config.threads after defaults) */
    unsigned queue_max;
    uint64_t queued;     /* waiting now */
    uint64_t running;    /* in run or done now */
    uint64_t max_queued; /* deepest the queue has been */
    uint64_t submitted;  /* accepted by rt_pool_submit */
    uint64_t rejected;   /* refused with -EAGAIN (queue full, or shed as below) */
    uint64_t completed;  /* run (and done) returned */
    uint64_t cancelled;  /* dropped by rt_pool_shutdown(p, false) */
    uint64_t wait_ns;    /* total time completed jobs spent queued */
    uint64_t run_ns;     /* total time completed jobs spent in run */
    unsigned min_threads;
    uint64_t live;        /* workers alive now (running, idle or starting) */
    uint64_t peak;        /* most workers alive at once */
    uint64_t started;     /* workers started, the first min_threads included */
    uint64_t retired;     /* workers that ended after idle_ms without work */
    uint64_t shed_wait;   /* refused with -EAGAIN by queue wait (CoDel) */
    uint64_t shed_client; /* refused with -EAGAIN: the client's own bound */
} rt_pool_stats;

/* Starts a pool with cfg (NULL: all defaults) and its min_threads workers. Returns the pool, or
 * NULL with errno set when one of those could not be started (EAGAIN: process or memory limits;
 * a worker that cannot be started later, on demand, is logged and its job waits instead). Free with
 * rt_pool_free. Any thread may call it. */
rt_pool *rt_pool_new(const rt_pool_config *cfg);

/* Queues job (run set; priority, client, done as wanted). Returns 0; -EAGAIN when the queue is
 * full, or (normal jobs) its client is over client_queue_max or shed by queue wait (shed the
 * load; the job was not taken and still belongs to the caller); -ESHUTDOWN once
 * shutdown has begun; -EINVAL when job or job->run is NULL. Never allocates or blocks on
 * anything but the pool's short critical section (it may start a worker thread, outside the lock,
 * when no idle one is there). Any thread may call it, pool threads
 * included (a running job may submit follow-up work). */
int rt_pool_submit(rt_pool *p, rt_job *job);

/* Runs fn(arg) on the pool: a convenience over rt_pool_submit that allocates the job. Returns 0,
 * or the error of rt_pool_submit (fn will not run). A job a cancelling shutdown drops still
 * runs fn, on the shutting-down thread: accepted work is never lost. Any thread. */
int rt_pool_exec(rt_pool *p, void (*fn)(void *arg), void *arg);

/* rt_pool_exec queued as client's (rt_job.client): fairness and shedding per client. Any
 * thread. */
int rt_pool_exec_as(rt_pool *p, uint64_t client, void (*fn)(void *arg), void *arg);

/* Returns the seconds a refused caller should wait before retrying (Retry-After): the jobs
 * waiting divided by the measured drain rate (workers alive / recent mean run time), rounded
 * up, between 1 and 60. Takes no lock. Any thread. */
unsigned rt_pool_retry_after_s(rt_pool *p);

/* Fills *out with the counters. Takes no lock: each counter is exact, but counters read during
 * activity may be from slightly different instants, so sums hold only when the pool is quiet.
 * Any thread may call it, at any time until rt_pool_free. */
void rt_pool_stats_get(rt_pool *p, rt_pool_stats *out);

/* Stops accepting work, then: drain=true lets the workers run every queued job; drain=false
 * calls done(job, -ECANCELED) for each queued job on the calling thread, in queue order (high
 * first). In both cases waits for running jobs to finish and joins every worker, so when it
 * returns no callback is running or will run. Call it from the owning thread, never from a
 * pool thread (that would wait for itself: it aborts instead). A second call does nothing. */
void rt_pool_shutdown(rt_pool *p, bool drain);

/* rt_pool_shutdown that gives up waiting for running jobs at deadline_ms (monotonic, rt_now_ms)
 * or as soon as *hurry (may be NULL) becomes true, checked every 100 ms. Returns 0 when every
 * worker was joined (as rt_pool_shutdown), or -ETIMEDOUT when some still run a job: the pool is
 * then closed but alive, and must not be freed while they may still touch it (a process that
 * gives up on them exits). Same threads as rt_pool_shutdown. */
int rt_pool_shutdown_until(rt_pool *p, bool drain, uint64_t deadline_ms, const _Atomic bool *hurry);

/* Frees the pool; p may be NULL. If rt_pool_shutdown was not called, it first shuts down with
 * drain=true (accepted work is never lost silently). Same threads as rt_pool_shutdown. */
void rt_pool_free(rt_pool *p);

/* The number of CPUs this process may run on (its affinity mask: `taskset -c 0` gives 1), or
 * the online CPUs if the mask cannot be read; at least 1. What "the cores" means wherever
 * libmcp sizes something by them (pool threads, HTTP workers). Any thread. */
unsigned rt_cpu_count(void);

#endif
