/* test_pool.c - the bounded work pool: exactly-once execution, the bound, priorities, both
 * shutdowns, counters, thread names, many producers at once (run it under TSan too), and the
 * elastic sizing: blocking jobs get threads of their own up to the limit, idle ones retire.
 *
 * Assertions (which longjmp) are made only on the main thread; jobs and helper threads record
 * what happened in atomics that the test checks after the pool is joined. */
#include "test.h"
#include "rt/clock.h"
#include "rt/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

/* --- a gate that holds workers until the test opens it -------------------------------------- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    int waiting;
} gate;

static void gate_init(gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = false;
    g->waiting = 0;
}

static void gate_destroy(gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static void gate_pass(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->waiting++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
    g->waiting--;
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Waits until n threads are held at the gate. */
static void gate_wait_for(gate *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->waiting < n) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* --- test jobs ---------------------------------------------------------------------------- */

typedef struct tjob {
    rt_job job; /* first: container_of is a cast */
    gate *gate;
    long sleep_us;
    int id;
    _Atomic int runs;
    _Atomic int dones;
    _Atomic int status; /* last status given to done */
} tjob;

/* Order in which jobs ran (priority test). */
static _Atomic int order_len;
static int order[64];

static void tjob_run(rt_job *j)
{
    tjob *t = (tjob *)j;
    if (t->gate) gate_pass(t->gate);
    if (t->sleep_us) sleep_us(t->sleep_us);
    int at = atomic_fetch_add(&order_len, 1);
    if (at < 64) order[at] = t->id;
    atomic_fetch_add(&t->runs, 1);
}

static void tjob_done(rt_job *j, int status)
{
    tjob *t = (tjob *)j;
    atomic_store(&t->status, status);
    atomic_fetch_add(&t->dones, 1);
}

static void tjob_init(tjob *t, int id, int prio)
{
    memset(t, 0, sizeof *t);
    t->job.run = tjob_run;
    t->job.done = tjob_done;
    t->job.priority = prio;
    t->id = id;
}

static rt_pool *pool(unsigned threads, unsigned queue_max)
{
    rt_pool_config cfg = {.threads = threads, .queue_max = queue_max, .name = "mcp-pool"};
    rt_pool *p = rt_pool_new(&cfg);
    if (!p) T_FAIL("rt_pool_new: %s", strerror(errno));
    return p;
}

/* --- tests -------------------------------------------------------------------------------- */

TEST(all_jobs_run_exactly_once)
{
    enum { N = 20000 };
    tjob *jobs = calloc(N, sizeof *jobs);
    rt_pool *p = pool(4, N);
    for (int i = 0; i < N; i++) {
        tjob_init(&jobs[i], i, i % 3 == 0 ? RT_JOB_HIGH : RT_JOB_NORMAL);
        CHECK_INT(rt_pool_submit(p, &jobs[i].job), 0);
    }
    rt_pool_shutdown(p, true);
    for (int i = 0; i < N; i++) {
        if (atomic_load(&jobs[i].runs) != 1 || atomic_load(&jobs[i].dones) != 1)
            T_FAIL("job %d ran %d times, done %d times", i, atomic_load(&jobs[i].runs),
                   atomic_load(&jobs[i].dones));
        CHECK_INT(atomic_load(&jobs[i].status), 0);
    }
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.submitted, N);
    CHECK_INT(s.completed, N);
    CHECK_INT(s.queued, 0);
    CHECK_INT(s.running, 0);
    CHECK_INT(s.rejected, 0);
    CHECK_INT(s.cancelled, 0);
    rt_pool_free(p);
    free(jobs);
}

TEST(full_queue_rejects_with_eagain)
{
    gate g;
    gate_init(&g);
    rt_pool *p = pool(2, 8);
    tjob blockers[2], fill[8], extra[5];
    for (int i = 0; i < 2; i++) {
        tjob_init(&blockers[i], 100 + i, RT_JOB_NORMAL);
        blockers[i].gate = &g;
        CHECK_INT(rt_pool_submit(p, &blockers[i].job), 0);
    }
    gate_wait_for(&g, 2); /* both workers busy: the queue now only fills */
    for (int i = 0; i < 8; i++) {
        tjob_init(&fill[i], i, RT_JOB_NORMAL);
        CHECK_INT(rt_pool_submit(p, &fill[i].job), 0);
    }
    for (int i = 0; i < 5; i++) {
        tjob_init(&extra[i], 50 + i, i % 2 ? RT_JOB_HIGH : RT_JOB_NORMAL);
        CHECK_INT(rt_pool_submit(p, &extra[i].job), -EAGAIN);
    }
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.queued, 8);
    CHECK_INT(s.running, 2);
    CHECK_INT(s.max_queued, 8);
    CHECK_INT(s.rejected, 5);
    CHECK_INT(s.submitted, 10);
    gate_open(&g);
    rt_pool_shutdown(p, true);
    for (int i = 0; i < 8; i++) CHECK_INT(atomic_load(&fill[i].runs), 1);
    for (int i = 0; i < 5; i++) CHECK_INT(atomic_load(&extra[i].runs), 0);
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.completed, 10);
    CHECK_INT(s.rejected, 5);
    rt_pool_free(p);
    gate_destroy(&g);
}

TEST(high_priority_jobs_are_taken_first)
{
    gate g;
    gate_init(&g);
    atomic_store(&order_len, 0);
    rt_pool *p = pool(1, 64);
    tjob blocker, jobs[8];
    tjob_init(&blocker, -1, RT_JOB_NORMAL);
    blocker.gate = &g;
    CHECK_INT(rt_pool_submit(p, &blocker.job), 0);
    gate_wait_for(&g, 1);
    /* submitted N0 H1 N2 H3 N4 H5 N6 H7: expect H1 H3 H5 H7 N0 N2 N4 N6 */
    for (int i = 0; i < 8; i++) {
        tjob_init(&jobs[i], i, i % 2 ? RT_JOB_HIGH : RT_JOB_NORMAL);
        CHECK_INT(rt_pool_submit(p, &jobs[i].job), 0);
    }
    gate_open(&g);
    rt_pool_shutdown(p, true);
    static const int want[] = {-1, 1, 3, 5, 7, 0, 2, 4, 6};
    CHECK_INT(atomic_load(&order_len), 9);
    for (int i = 0; i < 9; i++) {
        if (order[i] != want[i]) T_FAIL("position %d: job %d, want %d", i, order[i], want[i]);
    }
    rt_pool_free(p);
    gate_destroy(&g);
}

TEST(shutdown_with_drain_runs_everything)
{
    enum { N = 300 };
    tjob jobs[N];
    rt_pool *p = pool(3, N);
    for (int i = 0; i < N; i++) {
        tjob_init(&jobs[i], i, RT_JOB_NORMAL);
        jobs[i].sleep_us = 100;
        CHECK_INT(rt_pool_submit(p, &jobs[i].job), 0);
    }
    rt_pool_shutdown(p, true); /* right away: most jobs are still queued */
    for (int i = 0; i < N; i++) {
        CHECK_INT(atomic_load(&jobs[i].runs), 1);
        CHECK_INT(atomic_load(&jobs[i].status), 0);
    }
    tjob late;
    tjob_init(&late, 0, RT_JOB_NORMAL);
    CHECK_INT(rt_pool_submit(p, &late.job), -ESHUTDOWN);
    rt_pool_shutdown(p, true); /* second call: no-op */
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.completed, N);
    CHECK_INT(s.cancelled, 0);
    rt_pool_free(p);
}

/* Cancelled jobs' done opens the gate: cancellation happens before the join, so shutdown(false)
 * can return although the running job was blocked when it began. */
static gate *cancel_gate;
static void cancel_done(rt_job *j, int status)
{
    tjob_done(j, status);
    if (status == -ECANCELED) gate_open(cancel_gate);
}

TEST(shutdown_without_drain_cancels_queued_jobs)
{
    gate g;
    gate_init(&g);
    cancel_gate = &g;
    rt_pool *p = pool(1, 64);
    tjob blocker, jobs[10];
    tjob_init(&blocker, -1, RT_JOB_NORMAL);
    blocker.gate = &g;
    CHECK_INT(rt_pool_submit(p, &blocker.job), 0);
    gate_wait_for(&g, 1);
    for (int i = 0; i < 10; i++) {
        tjob_init(&jobs[i], i, i == 9 ? RT_JOB_HIGH : RT_JOB_NORMAL);
        jobs[i].job.done = cancel_done;
        CHECK_INT(rt_pool_submit(p, &jobs[i].job), 0);
    }
    rt_pool_shutdown(p, false);
    CHECK_INT(atomic_load(&blocker.runs), 1);
    CHECK_INT(atomic_load(&blocker.status), 0);
    for (int i = 0; i < 10; i++) {
        CHECK_INT(atomic_load(&jobs[i].runs), 0);
        CHECK_INT(atomic_load(&jobs[i].dones), 1);
        CHECK_INT(atomic_load(&jobs[i].status), -ECANCELED);
    }
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.submitted, 11);
    CHECK_INT(s.completed, 1);
    CHECK_INT(s.cancelled, 10);
    CHECK_INT(s.queued, 0);
    CHECK_INT(s.running, 0);
    rt_pool_free(p);
    gate_destroy(&g);
}

TEST(stats_add_up)
{
    enum { N = 20 };
    tjob jobs[N];
    rt_pool *p = pool(1, N);
    uint64_t t0 = rt_now_ns();
    for (int i = 0; i < N; i++) {
        tjob_init(&jobs[i], i, RT_JOB_NORMAL);
        jobs[i].sleep_us = 1000;
        CHECK_INT(rt_pool_submit(p, &jobs[i].job), 0);
    }
    rt_pool_shutdown(p, true);
    uint64_t elapsed = rt_now_ns() - t0;
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.threads, 1);
    CHECK_INT(s.queue_max, N);
    CHECK_INT(s.submitted, N);
    CHECK_INT(s.completed, N);
    CHECK_INT(s.queued + s.running + s.cancelled + s.rejected, 0);
    CHECK(s.max_queued >= N / 2 && s.max_queued <= N); /* submitting is far faster than 1 ms */
    CHECK(s.run_ns >= (uint64_t)N * 1000000u);         /* each slept at least 1 ms */
    CHECK(s.run_ns <= elapsed);
    /* one worker: job i waited for the i-1 before it, about (N-1)*N/2 ms in all; half of that
     * leaves room for a slow submit loop */
    CHECK(s.wait_ns >= (uint64_t)(N - 1) * N / 4 * 1000000u);
    rt_pool_free(p);
}

/* --- job lifetimes: the pool must not touch a job after done (or run, without done) --------- */

static _Atomic int freed;
static void heap_run(rt_job *j)
{
    (void)j;
}
static void heap_done(rt_job *j, int status)
{
    (void)status;
    free(j);
    atomic_fetch_add(&freed, 1);
}
static void self_free_run(rt_job *j)
{
    free(j);
    atomic_fetch_add(&freed, 1);
}

TEST(jobs_may_free_themselves)
{
    atomic_store(&freed, 0);
    rt_pool *p = pool(2, 1024);
    for (int i = 0; i < 500; i++) {
        rt_job *j = calloc(1, sizeof *j);
        j->run = i % 2 ? heap_run : self_free_run;
        j->done = i % 2 ? heap_done : NULL;
        CHECK_INT(rt_pool_submit(p, j), 0);
    }
    rt_pool_free(p); /* without shutdown: drains */
    CHECK_INT(atomic_load(&freed), 500);
}

/* --- a running job may submit more work (no lock held while it runs) ------------------------ */

typedef struct chain {
    rt_job job;
    rt_pool *pool;
    _Atomic int *count;
    int left;
} chain;

static void chain_run(rt_job *j)
{
    chain *c = (chain *)j;
    atomic_fetch_add(c->count, 1);
    /* Last touch of c before the submit: once queued it may already run on another worker. */
    if (--c->left > 0 && rt_pool_submit(c->pool, j) != 0) atomic_store(c->count, -1000);
}

TEST(job_may_resubmit_itself)
{
    _Atomic int count = 0;
    rt_pool *p = pool(2, 16);
    chain c = {.job = {.run = chain_run}, .pool = p, .count = &count, .left = 100};
    CHECK_INT(rt_pool_submit(p, &c.job), 0);
    while (atomic_load(&count) >= 0 && atomic_load(&count) < 100) sched_yield();
    rt_pool_free(p);
    CHECK_INT(atomic_load(&count), 100);
}

/* --- names, defaults, bad arguments --------------------------------------------------------- */

typedef struct name_job {
    rt_job job;
    char name[16];
} name_job;

static void name_run(rt_job *j)
{
    name_job *n = (name_job *)j;
    pthread_getname_np(pthread_self(), n->name, sizeof n->name);
}

TEST(threads_are_named_and_defaults_apply)
{
    rt_pool *p = rt_pool_new(NULL);
    CHECK(p != NULL);
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK(s.threads >= 64); /* sized for blocking work: max(64, 8 x cores) */
    CHECK(s.min_threads >= 1 && s.min_threads < s.threads);
    CHECK_INT(s.live, s.min_threads); /* the rest start on demand */
    CHECK_INT(s.queue_max, 1024);
    name_job n = {.job = {.run = name_run}};
    CHECK_INT(rt_pool_submit(p, &n.job), 0);
    rt_pool_shutdown(p, true);
    CHECK(strncmp(n.name, "mcp-pool-", 9) == 0);
    rt_pool_free(p);

    /* a long name is cut so the index still fits in Linux's 15 characters */
    rt_pool_config cfg = {.threads = 1, .name = "a-very-long-pool-name", .stack_size = 1};
    p = rt_pool_new(&cfg);
    CHECK(p != NULL);
    CHECK_INT(rt_pool_submit(p, &n.job), 0);
    rt_pool_shutdown(p, true);
    CHECK_STR(n.name, "a-very-long-p-0");
    rt_job bad = {0};
    CHECK_INT(rt_pool_submit(p, &bad), -EINVAL);
    CHECK_INT(rt_pool_submit(p, NULL), -EINVAL);
    rt_pool_free(p);
    rt_pool_free(NULL);
}

/* --- elastic: blocking jobs get threads of their own, idle ones retire ----------------------- */

/* Polls cond (an expression) for up to 60 s; the machine may be loaded, so no tight bound. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        for (int w_ = 0; w_ < 12000 && !(cond); w_++) sleep_us(5000);                              \
    } while (0)

TEST(pool_grows_for_blocking_jobs_and_retires_idle_ones)
{
    enum { SLOW = 6 };
    gate g;
    gate_init(&g);
    rt_pool_config cfg = {.threads = 8, .min_threads = 1, .idle_ms = 50, .name = "grow"};
    rt_pool *p = rt_pool_new(&cfg);
    CHECK(p != NULL);
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.live, 1);
    CHECK_INT(s.min_threads, 1);
    tjob slow[SLOW], fast;
    for (int i = 0; i < SLOW; i++) {
        tjob_init(&slow[i], i, RT_JOB_NORMAL);
        slow[i].gate = &g;
        CHECK_INT(rt_pool_submit(p, &slow[i].job), 0);
    }
    gate_wait_for(&g, SLOW); /* all six block at once: six threads */
    /* a quick job submitted behind six blocked ones runs while they still block */
    tjob_init(&fast, 99, RT_JOB_NORMAL);
    CHECK_INT(rt_pool_submit(p, &fast.job), 0);
    WAIT_FOR(atomic_load(&fast.dones) == 1);
    CHECK_INT(atomic_load(&fast.runs), 1);
    for (int i = 0; i < SLOW; i++) CHECK_INT(atomic_load(&slow[i].runs), 0);
    rt_pool_stats_get(p, &s);
    CHECK(s.live >= SLOW + 1 && s.live <= 8);
    CHECK(s.peak >= SLOW + 1);
    gate_open(&g);
    /* once idle for idle_ms, every worker above min_threads retires (and is joined) */
    WAIT_FOR((rt_pool_stats_get(p, &s), s.live == 1));
    CHECK_INT(s.live, 1);
    CHECK_INT(s.retired, s.started - 1);
    for (int i = 0; i < SLOW; i++) CHECK_INT(atomic_load(&slow[i].dones), 1);
    /* and the pool grows again after that */
    gate g2;
    gate_init(&g2);
    for (int i = 0; i < 3; i++) {
        tjob_init(&slow[i], i, RT_JOB_NORMAL);
        slow[i].gate = &g2;
        CHECK_INT(rt_pool_submit(p, &slow[i].job), 0);
    }
    gate_wait_for(&g2, 3);
    gate_open(&g2);
    rt_pool_free(p);
    gate_destroy(&g);
    gate_destroy(&g2);
}

TEST(pool_growth_stops_at_threads)
{
    gate g;
    gate_init(&g);
    rt_pool_config cfg = {.threads = 2, .min_threads = 1, .name = "cap"};
    rt_pool *p = rt_pool_new(&cfg);
    tjob jobs[4];
    for (int i = 0; i < 4; i++) {
        tjob_init(&jobs[i], i, RT_JOB_NORMAL);
        jobs[i].gate = &g;
        CHECK_INT(rt_pool_submit(p, &jobs[i].job), 0);
    }
    gate_wait_for(&g, 2);
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.live, 2);
    CHECK_INT(s.queued, 2); /* the other two wait for a thread */
    gate_open(&g);
    rt_pool_shutdown(p, true);
    for (int i = 0; i < 4; i++) CHECK_INT(atomic_load(&jobs[i].runs), 1);
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.live, 0);
    rt_pool_free(p);
    gate_destroy(&g);
}

/* --- many producers against a small queue, with a stats reader (the TSan test) -------------- */

enum { PRODUCERS = 8, PER_PRODUCER = 4000 };

typedef struct producer {
    pthread_t thread;
    rt_pool *pool;
    tjob *jobs;
    long rejected;
    int bad;
} producer;

static void *producer_main(void *arg)
{
    producer *pr = arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        int rc;
        while ((rc = rt_pool_submit(pr->pool, &pr->jobs[i].job)) == -EAGAIN) {
            pr->rejected++;
            sched_yield();
        }
        if (rc != 0) pr->bad++;
    }
    return NULL;
}

static _Atomic bool reader_stop;
static void *stats_reader(void *arg)
{
    rt_pool_stats s;
    uint64_t last = 0;
    int regress = 0;
    while (!atomic_load(&reader_stop)) {
        rt_pool_stats_get(arg, &s);
        if (s.completed < last || s.queued > s.queue_max) regress++;
        last = s.completed;
    }
    return (void *)(intptr_t)regress;
}

TEST(concurrent_submitters)
{
    static tjob jobs[PRODUCERS][PER_PRODUCER];
    producer prs[PRODUCERS];
    rt_pool *p = pool(4, 64);
    atomic_store(&reader_stop, false);
    pthread_t reader;
    pthread_create(&reader, NULL, stats_reader, p);
    for (int t = 0; t < PRODUCERS; t++) {
        for (int i = 0; i < PER_PRODUCER; i++)
            tjob_init(&jobs[t][i], t * PER_PRODUCER + i, i % 5 ? RT_JOB_NORMAL : RT_JOB_HIGH);
        prs[t] = (producer){.pool = p, .jobs = jobs[t]};
        pthread_create(&prs[t].thread, NULL, producer_main, &prs[t]);
    }
    long rejected = 0;
    for (int t = 0; t < PRODUCERS; t++) {
        pthread_join(prs[t].thread, NULL);
        rejected += prs[t].rejected;
        CHECK_INT(prs[t].bad, 0);
    }
    rt_pool_shutdown(p, true);
    atomic_store(&reader_stop, true);
    void *regress;
    pthread_join(reader, &regress);
    CHECK_INT((intptr_t)regress, 0);
    for (int t = 0; t < PRODUCERS; t++)
        for (int i = 0; i < PER_PRODUCER; i++) CHECK_INT(atomic_load(&jobs[t][i].runs), 1);
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.submitted, PRODUCERS * PER_PRODUCER);
    CHECK_INT(s.completed, PRODUCERS * PER_PRODUCER);
    CHECK_INT(s.rejected, rejected);
    CHECK(s.max_queued <= 64);
    rt_pool_free(p);
}

/* --- fair degradation -------------------------------------------------------------------- */

static rt_pool *fair_pool(unsigned target_ms, unsigned interval_ms, unsigned client_max)
{
    rt_pool_config cfg = {.threads = 1,
                          .min_threads = 1,
                          .queue_max = 64,
                          .codel_target_ms = target_ms,
                          .codel_interval_ms = interval_ms,
                          .client_queue_max = client_max};
    rt_pool *p = rt_pool_new(&cfg);
    if (!p) T_FAIL("rt_pool_new: %s", strerror(errno));
    return p;
}

TEST(clients_are_served_round_robin)
{
    gate g;
    gate_init(&g);
    atomic_store(&order_len, 0);
    rt_pool *p = fair_pool(0, 0, 0);
    tjob blocker, flood[10], polite[2];
    tjob_init(&blocker, -1, RT_JOB_NORMAL);
    blocker.gate = &g;
    CHECK_INT(rt_pool_submit(p, &blocker.job), 0);
    gate_wait_for(&g, 1);
    for (int i = 0; i < 10; i++) {
        tjob_init(&flood[i], i, RT_JOB_NORMAL);
        flood[i].job.client = 0xf100d;
        CHECK_INT(rt_pool_submit(p, &flood[i].job), 0);
    }
    for (int i = 0; i < 2; i++) {
        tjob_init(&polite[i], 100 + i, RT_JOB_NORMAL);
        polite[i].job.client = 0x9011;
        CHECK_INT(rt_pool_submit(p, &polite[i].job), 0);
    }
    gate_open(&g);
    rt_pool_shutdown(p, true);
    CHECK_INT(atomic_load(&order_len), 13);
    /* the polite client's jobs come second and fourth, not after the flood */
    const int want[] = {-1, 0, 100, 1, 101, 2, 3, 4, 5, 6, 7, 8, 9};
    for (int i = 0; i < 13; i++)
        if (order[i] != want[i]) T_FAIL("order[%d] = %d, want %d", i, order[i], want[i]);
    rt_pool_free(p);
    gate_destroy(&g);
}

TEST(a_client_over_its_bound_is_refused_others_are_not)
{
    gate g;
    gate_init(&g);
    rt_pool *p = fair_pool(0, 0, 4);
    tjob blocker, flood[6], polite;
    tjob_init(&blocker, -1, RT_JOB_NORMAL);
    blocker.gate = &g;
    CHECK_INT(rt_pool_submit(p, &blocker.job), 0);
    gate_wait_for(&g, 1);
    for (int i = 0; i < 6; i++) {
        tjob_init(&flood[i], i, RT_JOB_NORMAL);
        flood[i].job.client = 7;
        CHECK_INT(rt_pool_submit(p, &flood[i].job), i < 4 ? 0 : -EAGAIN);
    }
    tjob_init(&polite, 100, RT_JOB_NORMAL);
    polite.job.client = 8;
    CHECK_INT(rt_pool_submit(p, &polite.job), 0);
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.shed_client, 2);
    CHECK_INT(s.rejected, 2);
    gate_open(&g);
    rt_pool_shutdown(p, true);
    CHECK_INT(atomic_load(&polite.runs), 1);
    rt_pool_free(p);
    gate_destroy(&g);
}

TEST(codel_sheds_a_client_whose_queue_stands_above_target)
{
    gate g;
    gate_init(&g);
    rt_pool *p = fair_pool(2, 10, 0);
    tjob blocker, slow[4], polite;
    tjob_init(&blocker, -1, RT_JOB_NORMAL);
    blocker.gate = &g;
    CHECK_INT(rt_pool_submit(p, &blocker.job), 0);
    gate_wait_for(&g, 1);
    for (int i = 0; i < 4; i++) {
        tjob_init(&slow[i], i, RT_JOB_NORMAL);
        slow[i].job.client = 1;
    }
    CHECK_INT(rt_pool_submit(p, &slow[0].job), 0); /* queue empty: always accepted */
    sleep_us(5000);                                /* its head now waits over the target */
    CHECK_INT(rt_pool_submit(p, &slow[1].job), 0); /* above target: the interval starts */
    sleep_us(20000);                               /* ... and passes */
    CHECK_INT(rt_pool_submit(p, &slow[2].job), -EAGAIN);
    /* another client with nothing queued is not shed */
    tjob_init(&polite, 100, RT_JOB_NORMAL);
    polite.job.client = 2;
    CHECK_INT(rt_pool_submit(p, &polite.job), 0);
    rt_pool_stats s;
    rt_pool_stats_get(p, &s);
    CHECK_INT(s.shed_wait, 1);
    CHECK(rt_pool_retry_after_s(p) >= 1 && rt_pool_retry_after_s(p) <= 60);
    /* once its queue drains, the client is admitted again */
    gate_open(&g);
    while (true) {
        rt_pool_stats_get(p, &s);
        if (s.completed == 4) break;
        sleep_us(1000);
    }
    CHECK_INT(rt_pool_submit(p, &slow[3].job), 0);
    rt_pool_shutdown(p, true);
    CHECK_INT(atomic_load(&slow[3].runs), 1);
    CHECK_INT(atomic_load(&slow[2].runs), 0);
    rt_pool_free(p);
    gate_destroy(&g);
}

int main(void)
{
    RUN(all_jobs_run_exactly_once);
    RUN(full_queue_rejects_with_eagain);
    RUN(high_priority_jobs_are_taken_first);
    RUN(shutdown_with_drain_runs_everything);
    RUN(shutdown_without_drain_cancels_queued_jobs);
    RUN(stats_add_up);
    RUN(jobs_may_free_themselves);
    RUN(job_may_resubmit_itself);
    RUN(threads_are_named_and_defaults_apply);
    RUN(concurrent_submitters);
    RUN(pool_grows_for_blocking_jobs_and_retires_idle_ones);
    RUN(pool_growth_stops_at_threads);
    RUN(clients_are_served_round_robin);
    RUN(a_client_over_its_bound_is_refused_others_are_not);
    RUN(codel_sheds_a_client_whose_queue_stands_above_target);
    return test_summary();
}
