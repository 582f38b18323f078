/* pool.c - the bounded, elastic work pool: a mutex, condition variables, two intrusive FIFOs.
 *
 * rt_pool_submit links the caller's job onto the tail of the high or normal FIFO under the
 * mutex and wakes one idle worker; a full queue is refused right there, so submit never
 * allocates and never waits for space. Workers sleep on the condition variable, take the head
 * of the high FIFO (else the normal one), drop the lock, and call run then done: no lock is
 * held while user code runs, so a job may submit more work or take its own locks.
 *
 * Elastic: handlers may block (sleep, wait on a socket or a database), so a pool of one thread
 * per core would let a few slow calls hold up every quick one. Submit counts the jobs queued
 * against the workers idle or starting; when they outnumber them and fewer than `threads`
 * workers live, it reserves one more under the lock and starts it with pthread_create after
 * unlocking. Workers above min_threads wait with a deadline and retire after idle_ms without
 * work. Workers are joinable: one that ends (retiring or at shutdown) puts itself on a list of
 * finished workers; the next one to end, or the shutdown, joins it, so no stack is left behind.
 *
 * Why not lock-free: a job is a whole handler call (microseconds to seconds), so the
 * critical section (a few pointer moves) is never the bottleneck, and the mutex gives us for
 * free what a lock-free MPMC queue makes hard: an exact bound, two priorities, sleeping idle
 * workers, and a shutdown that atomically closes the queue and takes what is left in it.
 *
 * Fairness: normal jobs hash their client key into one of NBUCKETS FIFOs; the non-empty ones
 * form a ring served round robin, one job per turn (deficit round robin with equal costs), so
 * each client gets an equal share of the workers whatever it queued. Each bucket keeps its own
 * CoDel state: the time its head job first stood above the target, set and checked on submit
 * and reset whenever a job of it is taken after waiting less than the target. Clients sharing
 * a bucket (a hash collision, 1 in NBUCKETS) share a share. High jobs bypass all of it.
 *
 * Counters are C11 atomics written with relaxed ordering (they order nothing; the mutex does)
 * so rt_pool_stats_get can read them from any thread without the lock. */
#include "rt/pool.h"
#include "base/alloc.h"
#include "base/log.h"
#include "rt/clock.h"
#include "rt/signals.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_QUEUE_MAX 1024u
#define DEFAULT_STACK     (1024u * 1024u)
#define MAX_THREADS       1024u
#define DEFAULT_MAX_FLOOR 64u /* default `threads`: max(64, 8 x cores) */
#define DEFAULT_PER_CORE  8u
#define DEFAULT_IDLE_MS   10000u

/* Sanitizers inflate stack frames (redzones, shadow bookkeeping) two to three times. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STACK_FACTOR 4u
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STACK_FACTOR 4u
#endif
#endif
#ifndef STACK_FACTOR
#define STACK_FACTOR 1u
#endif

typedef struct fifo {
    rt_job *head, *tail;
} fifo;

#define NBUCKETS  256u
#define NO_BUCKET 0xffffu

/* One client bucket of normal jobs (all fields guarded by mu). */
typedef struct bucket {
    fifo q;
    unsigned n;           /* jobs in q */
    uint64_t above_since; /* ns its head has stood above the CoDel target since; 0: not */
    uint16_t next;        /* in the ring of non-empty buckets */
} bucket;

typedef struct worker worker;
struct worker {
    rt_pool *pool;
    pthread_t thread;
    unsigned index;
    worker *prev, *next; /* in p->live, or (next only) in p->ended */
};

struct rt_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* signalled when work arrives or shutdown begins */
    pthread_cond_t gone_cv;   /* signalled when a worker ends (shutdown waits for nlive == 0) */
    fifo high;                /* guarded by mu */
    bucket buckets[NBUCKETS]; /* guarded by mu: normal jobs by client */
    uint16_t ring_head, ring_tail; /* guarded by mu: non-empty buckets, served from head */
    unsigned nqueued;              /* guarded by mu: the real count the bound is checked against */
    unsigned idle;                 /* guarded by mu: workers waiting on cv */
    unsigned starting;             /* guarded by mu: reserved workers not yet waiting for work */
    unsigned nlive;                /* guarded by mu: workers reserved or running, not yet ended */
    unsigned next_index;           /* guarded by mu: thread name numbers */
    worker *live;                  /* guarded by mu: workers started and not ended */
    worker *ended;                 /* guarded by mu: ended workers nobody joined yet */
    bool stopping; /* guarded by mu: submit refuses, workers exit when queue is empty */
    bool closed;   /* owner thread only: the queue was closed by a shutdown */
    bool joined;   /* owner thread only */
    unsigned queue_max;
    uint64_t codel_target_ns, codel_interval_ns;
    unsigned client_queue_max;
    void (*on_wait)(void *ud, uint64_t wait_ns);
    void *wait_ud;
    unsigned nthreads, min_threads, idle_ms;
    size_t stack;
    char name[16];

    _Atomic uint64_t queued, running, max_queued, submitted, rejected, completed, cancelled;
    _Atomic uint64_t wait_ns, run_ns, live_now, peak, started, retired;
    _Atomic uint64_t shed_wait, shed_client, run_ewma_ns;
};

/* --- counters ------------------------------------------------------------------------------ */

static void ctr_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void ctr_sub(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_sub_explicit(c, n, memory_order_relaxed);
}

static uint64_t ctr_get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* --- queue (callers hold p->mu) ------------------------------------------------------------ */

static void fifo_push(fifo *q, rt_job *job)
{
    job->_next = NULL;
    if (q->tail)
        q->tail->_next = job;
    else
        q->head = job;
    q->tail = job;
}

static rt_job *fifo_pop(fifo *q)
{
    rt_job *job = q->head;
    if (job) {
        q->head = job->_next;
        if (!q->head) q->tail = NULL;
    }
    return job;
}

static unsigned bucket_of(uint64_t client)
{
    uint64_t h = client * 0x9e3779b97f4a7c15ull; /* Fibonacci hashing: the top bits mix all */
    return (unsigned)(h >> 56) % NBUCKETS;
}

static void push_normal_locked(rt_pool *p, rt_job *job)
{
    unsigned i = bucket_of(job->client);
    bucket *b = &p->buckets[i];
    fifo_push(&b->q, job);
    if (b->n++) return;
    b->next = NO_BUCKET; /* it was empty: joins the ring at the tail */
    if (p->ring_head == NO_BUCKET)
        p->ring_head = (uint16_t)i;
    else
        p->buckets[p->ring_tail].next = (uint16_t)i;
    p->ring_tail = (uint16_t)i;
}

/* Takes the head job of the bucket whose turn it is; the bucket goes to the ring's tail. */
static rt_job *pop_normal_locked(rt_pool *p, uint64_t now)
{
    if (p->ring_head == NO_BUCKET) return NULL;
    unsigned i = p->ring_head;
    bucket *b = &p->buckets[i];
    rt_job *job = fifo_pop(&b->q);
    p->ring_head = b->next;
    if (p->ring_head == NO_BUCKET) p->ring_tail = NO_BUCKET;
    if (--b->n) { /* still has work: back in at the tail */
        b->next = NO_BUCKET;
        if (p->ring_head == NO_BUCKET)
            p->ring_head = (uint16_t)i;
        else
            p->buckets[p->ring_tail].next = (uint16_t)i;
        p->ring_tail = (uint16_t)i;
    }
    if (now - job->_enqueued_ns < p->codel_target_ns || !b->n) b->above_since = 0;
    return job;
}

static rt_job *take_locked(rt_pool *p)
{
    rt_job *job = fifo_pop(&p->high);
    if (!job) job = pop_normal_locked(p, rt_now_ns());
    if (job) {
        p->nqueued--;
        ctr_sub(&p->queued, 1);
    }
    return job;
}

/* --- workers ------------------------------------------------------------------------------- */

static void run_job(rt_pool *p, rt_job *job)
{
    /* Read everything before run: when done is NULL, run may free the job. */
    void (*done)(rt_job *, int) = job->done;
    uint64_t start = rt_now_ns();
    ctr_add(&p->wait_ns, start - job->_enqueued_ns);
    if (p->on_wait) p->on_wait(p->wait_ud, start - job->_enqueued_ns);
    job->run(job);
    uint64_t ran = rt_now_ns() - start;
    ctr_add(&p->run_ns, ran);
    /* a recent mean for rt_pool_retry_after_s: racing updates lose a sample, no more */
    uint64_t ewma = ctr_get(&p->run_ewma_ns);
    ewma = ewma ? ewma - ewma / 8 + ran / 8 : ran;
    atomic_store_explicit(&p->run_ewma_ns, ewma, memory_order_relaxed);
    if (done) done(job, 0);
    ctr_add(&p->completed, 1);
    ctr_sub(&p->running, 1);
}

static void set_thread_name(rt_pool *p, unsigned index)
{
    char name[16]; /* Linux limit, NUL included */
    char num[12];
    int nlen = snprintf(num, sizeof num, "-%u", index);
    int keep = (int)sizeof name - 1 - nlen;
    snprintf(name, sizeof name, "%.*s%s", keep, p->name, num);
    pthread_setname_np(pthread_self(), name);
}

/* Waits on cv; false when a worker above min_threads waited idle_ms for nothing (retire). */
static bool idle_wait(rt_pool *p)
{
    if (p->nlive <= p->min_threads) {
        pthread_cond_wait(&p->cv, &p->mu);
        return true;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += p->idle_ms / 1000;
    until.tv_nsec += (long)(p->idle_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(&p->cv, &p->mu, &until) != ETIMEDOUT;
}

/* Returns the next job, sleeping while there is none; NULL when the pool stops and the queue
 * is empty, or when this worker retires. Called and returns with p->mu held. */
static rt_job *wait_for_job(rt_pool *p)
{
    for (;;) {
        rt_job *job = take_locked(p);
        if (job || p->stopping) return job;
        p->idle++;
        bool woken = idle_wait(p);
        p->idle--;
        if (!woken && !p->nqueued && !p->stopping && p->nlive > p->min_threads) {
            ctr_add(&p->retired, 1);
            return NULL;
        }
    }
}

/* Joins and frees a list of ended workers (not the caller). */
static void join_ended(worker *w)
{
    while (w) {
        worker *next = w->next;
        pthread_join(w->thread, NULL);
        free(w);
        w = next;
    }
}

/* The worker leaves the live list and becomes the one ended worker left to join; it joins
 * those that ended before it. Called with p->mu held; returns with it released. */
static void worker_end(worker *w)
{
    rt_pool *p = w->pool;
    if (w->prev)
        w->prev->next = w->next;
    else
        p->live = w->next;
    if (w->next) w->next->prev = w->prev;
    worker *before = p->ended;
    w->next = NULL;
    p->ended = w;
    p->nlive--;
    ctr_sub(&p->live_now, 1);
    pthread_cond_broadcast(&p->gone_cv);
    pthread_mutex_unlock(&p->mu);
    join_ended(before);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    rt_pool *p = w->pool;
    set_thread_name(p, w->index);
    pthread_mutex_lock(&p->mu);
    p->starting--;
    rt_job *job;
    while ((job = wait_for_job(p))) {
        ctr_add(&p->running, 1); /* before unlock: queued+running never misses the job */
        pthread_mutex_unlock(&p->mu);
        run_job(p, job);
        pthread_mutex_lock(&p->mu);
    }
    worker_end(w);
    return NULL;
}

/* --- configuration ------------------------------------------------------------------------- */

unsigned rt_cpu_count(void)
{
    /* The affinity mask, not the machine: a container pinned to 2 CPUs, or `taskset -c 0`,
     * wants 2 (1) of everything sized by cores. A mask wider than cpu_set_t's 1024 CPUs is read
     * into a bigger set. */
    for (int n = CPU_SETSIZE; n <= (1 << 16); n *= 2) {
        cpu_set_t *set = CPU_ALLOC((size_t)n);
        if (!set) break;
        size_t size = CPU_ALLOC_SIZE((size_t)n);
        int rc = sched_getaffinity(0, size, set);
        int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
        CPU_FREE(set);
        if (rc == 0 && count > 0) return (unsigned)count;
        if (rc != 0 && errno != EINVAL) break; /* EINVAL: the kernel's mask is wider */
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

static size_t stack_bytes(size_t want)
{
    if (!want) want = (size_t)DEFAULT_STACK * STACK_FACTOR;
    if (want < (size_t)PTHREAD_STACK_MIN) want = (size_t)PTHREAD_STACK_MIN;
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096u;
    return (want + pg - 1) / pg * pg;
}

static void apply_config(rt_pool *p, const rt_pool_config *cfg)
{
    unsigned cpus = rt_cpu_count();
    unsigned dflt =
        cpus * DEFAULT_PER_CORE > DEFAULT_MAX_FLOOR ? cpus * DEFAULT_PER_CORE : DEFAULT_MAX_FLOOR;
    unsigned threads = cfg && cfg->threads ? cfg->threads : dflt;
    p->nthreads = threads > MAX_THREADS ? MAX_THREADS : threads;
    unsigned min = cfg && cfg->min_threads ? cfg->min_threads : cpus;
    p->min_threads = min > p->nthreads ? p->nthreads : min;
    p->idle_ms = cfg && cfg->idle_ms ? cfg->idle_ms : DEFAULT_IDLE_MS;
    p->queue_max = cfg && cfg->queue_max ? cfg->queue_max : DEFAULT_QUEUE_MAX;
    p->stack = stack_bytes(cfg ? cfg->stack_size : 0);
    unsigned target = cfg ? cfg->codel_target_ms : 0;
    unsigned interval = cfg && cfg->codel_interval_ms ? cfg->codel_interval_ms : 10u * target;
    p->codel_target_ns = (uint64_t)target * 1000000u;
    p->codel_interval_ns = (uint64_t)interval * 1000000u;
    p->client_queue_max = cfg ? cfg->client_queue_max : 0;
    p->on_wait = cfg ? cfg->on_wait : NULL;
    p->wait_ud = cfg ? cfg->wait_ud : NULL;
    const char *name = cfg && cfg->name ? cfg->name : "mcp-pool";
    snprintf(p->name, sizeof p->name, "%s", name);
}

/* Reserves a worker slot (counted live and starting, so no other submit starts one for the
 * same jobs). Called with p->mu held. */
static worker *reserve_locked(rt_pool *p)
{
    worker *w = mcp_xcalloc(1, sizeof *w);
    w->pool = p;
    w->index = p->next_index++;
    p->nlive++;
    p->starting++;
    uint64_t live = ctr_get(&p->live_now) + 1;
    atomic_store_explicit(&p->live_now, live, memory_order_relaxed);
    if (live > ctr_get(&p->peak)) atomic_store_explicit(&p->peak, live, memory_order_relaxed);
    return w;
}

/* Starts a reserved worker; called without p->mu. Returns 0 or an errno (the slot is given
 * back). The worker is linked into p->live before it can end, under the lock. */
static int start_worker(rt_pool *p, worker *w)
{
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (!rc) rc = pthread_attr_setstacksize(&attr, p->stack);
    pthread_mutex_lock(&p->mu); /* the new thread waits for it before touching anything */
    if (!rc) rc = rt_thread_create_quiet(&w->thread, &attr, worker_main, w);
    if (!rc) {
        w->next = p->live;
        if (p->live) p->live->prev = w;
        p->live = w;
        ctr_add(&p->started, 1);
    } else {
        p->nlive--;
        p->starting--;
        ctr_sub(&p->live_now, 1);
        pthread_cond_broadcast(&p->gone_cv);
    }
    pthread_mutex_unlock(&p->mu);
    pthread_attr_destroy(&attr);
    if (rc) free(w);
    return rc;
}

/* --- public -------------------------------------------------------------------------------- */

rt_pool *rt_pool_new(const rt_pool_config *cfg)
{
    rt_pool *p = mcp_xcalloc(1, sizeof *p);
    apply_config(p, cfg);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* idle deadlines ignore clock changes */
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&p->gone_cv, NULL);
    p->ring_head = p->ring_tail = NO_BUCKET;
    for (unsigned i = 0; i < p->min_threads; i++) {
        pthread_mutex_lock(&p->mu);
        worker *w = reserve_locked(p);
        pthread_mutex_unlock(&p->mu);
        int rc = start_worker(p, w);
        if (rc) {
            rt_pool_free(p); /* nothing queued: joins the ones started */
            errno = rc;
            return NULL;
        }
    }
    return p;
}

static void note_depth_locked(rt_pool *p)
{
    /* Only writers (who hold mu) store max_queued, so load-compare-store cannot lose a peak. */
    if (p->nqueued > ctr_get(&p->max_queued))
        atomic_store_explicit(&p->max_queued, p->nqueued, memory_order_relaxed);
}

/* The counter to charge when job's client is to be shed (its bound, or its queue wait stood
 * above the CoDel target for an interval), else NULL. Called with p->mu held. */
static _Atomic uint64_t *client_shed_locked(rt_pool *p, const rt_job *job)
{
    bucket *b = &p->buckets[bucket_of(job->client)];
    if (p->client_queue_max && b->n >= p->client_queue_max) return &p->shed_client;
    if (!p->codel_target_ns || !b->n) return NULL;
    uint64_t now = job->_enqueued_ns;
    uint64_t waited = now > b->q.head->_enqueued_ns ? now - b->q.head->_enqueued_ns : 0;
    if (waited < p->codel_target_ns) {
        b->above_since = 0;
        return NULL;
    }
    if (!b->above_since) b->above_since = now;
    return now - b->above_since >= p->codel_interval_ns ? &p->shed_wait : NULL;
}

int rt_pool_submit(rt_pool *p, rt_job *job)
{
    if (!job || !job->run) return -EINVAL;
    job->_enqueued_ns = rt_now_ns(); /* outside the lock: keep the critical section short */
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return -ESHUTDOWN;
    }
    _Atomic uint64_t *shed = p->nqueued >= p->queue_max     ? &p->rejected
                             : job->priority == RT_JOB_HIGH ? NULL
                                                            : client_shed_locked(p, job);
    if (shed) {
        pthread_mutex_unlock(&p->mu);
        ctr_add(&p->rejected, 1);
        if (shed != &p->rejected) ctr_add(shed, 1);
        return -EAGAIN;
    }
    if (job->priority == RT_JOB_HIGH)
        fifo_push(&p->high, job);
    else
        push_normal_locked(p, job);
    p->nqueued++;
    ctr_add(&p->queued, 1);
    ctr_add(&p->submitted, 1);
    note_depth_locked(p);
    bool wake = p->idle > 0;
    /* Jobs waiting beyond the workers about to take them: one more worker, if allowed. */
    worker *w =
        p->nqueued > p->idle + p->starting && p->nlive < p->nthreads ? reserve_locked(p) : NULL;
    pthread_mutex_unlock(&p->mu);
    /* Signal after unlocking so the woken worker does not block on mu at once. Safe: a worker
     * that starts waiting after our unlock re-checks the queue first and sees the job. */
    if (wake) pthread_cond_signal(&p->cv);
    if (w) {
        int rc = start_worker(p, w);
        if (rc) /* the job stays queued for a busy worker */
            mcp_log(MCP_LOGL_WARN, "%s: cannot start a worker thread: %s", p->name, strerror(rc));
    }
    return 0;
}

void rt_pool_stats_get(rt_pool *p, rt_pool_stats *out)
{
    out->threads = p->nthreads;
    out->queue_max = p->queue_max;
    out->queued = ctr_get(&p->queued);
    out->running = ctr_get(&p->running);
    out->max_queued = ctr_get(&p->max_queued);
    out->submitted = ctr_get(&p->submitted);
    out->rejected = ctr_get(&p->rejected);
    out->completed = ctr_get(&p->completed);
    out->cancelled = ctr_get(&p->cancelled);
    out->wait_ns = ctr_get(&p->wait_ns);
    out->run_ns = ctr_get(&p->run_ns);
    out->min_threads = p->min_threads;
    out->live = ctr_get(&p->live_now);
    out->peak = ctr_get(&p->peak);
    out->started = ctr_get(&p->started);
    out->retired = ctr_get(&p->retired);
    out->shed_wait = ctr_get(&p->shed_wait);
    out->shed_client = ctr_get(&p->shed_client);
}

unsigned rt_pool_retry_after_s(rt_pool *p)
{
    uint64_t queued = ctr_get(&p->queued), live = ctr_get(&p->live_now);
    uint64_t run = ctr_get(&p->run_ewma_ns);
    if (!live) live = 1;
    /* drain rate = live / run jobs per ns; the queue empties in queued / rate */
    uint64_t ns = (queued + 1) * run / live;
    uint64_t s = (ns + 999999999u) / 1000000000u;
    return s < 1 ? 1 : s > 60 ? 60 : (unsigned)s;
}

static void refuse_from_worker(rt_pool *p)
{
    pthread_t self = pthread_self();
    pthread_mutex_lock(&p->mu);
    for (worker *w = p->live; w; w = w->next) {
        if (pthread_equal(self, w->thread)) {
            fprintf(stderr, "libmcp: fatal: %s: rt_pool_shutdown called from its own worker\n",
                    p->name);
            abort();
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* Closes the queue. With drain=false, also empties it and returns the jobs (high first). */
static rt_job *close_queue(rt_pool *p, bool drain)
{
    rt_job *left = NULL, **tail = &left;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    if (!drain) {
        rt_job *job;
        while ((job = take_locked(p))) {
            *tail = job;
            tail = &job->_next;
        }
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return left;
}

static void cancel_jobs(rt_pool *p, rt_job *job)
{
    while (job) {
        rt_job *next = job->_next; /* done may free job */
        ctr_add(&p->cancelled, 1);
        if (job->done) job->done(job, -ECANCELED);
        job = next;
    }
}

/* Waits for every worker to end, up to deadline_ms (0: for ever) or *hurry. True if all did.
 * Called and returns with p->mu held. gone_cv uses the default (realtime) clock, so the wait
 * is cut into 100 ms slices measured on the monotonic clock. */
static bool wait_workers_locked(rt_pool *p, uint64_t deadline_ms, const _Atomic bool *hurry)
{
    while (p->nlive > 0) {
        if (!deadline_ms && !hurry) {
            pthread_cond_wait(&p->gone_cv, &p->mu);
            continue;
        }
        if ((deadline_ms && rt_now_ms() >= deadline_ms) || (hurry && atomic_load(hurry)))
            return false;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->gone_cv, &p->mu, &until);
    }
    return true;
}

int rt_pool_shutdown_until(rt_pool *p, bool drain, uint64_t deadline_ms, const _Atomic bool *hurry)
{
    if (p->joined) return 0;
    refuse_from_worker(p);
    /* Cancel before joining: queued requests get their answer without waiting for the
     * longest running handler to finish. */
    if (!p->closed) cancel_jobs(p, close_queue(p, drain));
    p->closed = true;
    pthread_mutex_lock(&p->mu);
    bool all = wait_workers_locked(p, deadline_ms, hurry);
    worker *ended = p->ended;
    p->ended = NULL;
    pthread_mutex_unlock(&p->mu);
    join_ended(ended);
    if (!all) return -ETIMEDOUT;
    p->joined = true;
    return 0;
}

void rt_pool_shutdown(rt_pool *p, bool drain)
{
    rt_pool_shutdown_until(p, drain, 0, NULL);
}

void rt_pool_free(rt_pool *p)
{
    if (!p) return;
    rt_pool_shutdown(p, true);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->gone_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* ---- rt_pool_exec ---------------------------------------------------------------------------- */

typedef struct exec_job {
    rt_job job;
    void (*fn)(void *);
    void *arg;
} exec_job;

static void exec_run(rt_job *j)
{
    exec_job *e = (exec_job *)j;
    e->fn(e->arg);
}

static void exec_done(rt_job *j, int status)
{
    exec_job *e = (exec_job *)j;
    if (status != 0) e->fn(e->arg); /* never dropped: a cancelled job still runs, here */
    free(e);
}

int rt_pool_exec(rt_pool *p, void (*fn)(void *arg), void *arg)
{
    return rt_pool_exec_as(p, 0, fn, arg);
}

int rt_pool_exec_as(rt_pool *p, uint64_t client, void (*fn)(void *arg), void *arg)
{
    exec_job *e = mcp_xcalloc(1, sizeof *e);
    e->job.client = client;
    e->job.run = exec_run;
    e->job.done = exec_done;
    e->fn = fn;
    e->arg = arg;
    int rc = rt_pool_submit(p, &e->job);
    if (rc < 0) free(e);
    return rc;
}
