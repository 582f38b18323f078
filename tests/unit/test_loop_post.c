/* test_loop_post.c - posts and per-worker slots of the worker loops (src/rt/loop.c, included):
 * a post from the worker's own thread goes to the local queue (no lock, no eventfd wake-up:
 * the cross-thread queue stays empty and the async handle is not signalled), runs after the
 * posting callback returns, in order, with posts made by posts run in a later pass, and runs
 * even when nothing else would wake the loop; the stop sequence runs queued posts, then the
 * layer above's on_stop, then the slots' on_stop in the order set, refuses posts and slot
 * changes from then on, and runs the loop until the handles closed there are closed; a handle
 * left open is closed on the loop's thread so the loop closes. The worker count defaults to the
 * affinity mask's CPUs. */
#include "test.h"

#include "rt/loop.c"

#include <pthread.h>
#include <sched.h>

static rt_worker *W;
static _Atomic int loop_fails; /* checks made on the loop thread (CHECK jumps: main thread only) */
#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "loop thread: %s:%d: EXPECT(%s)\n", __FILE__, __LINE__, #cond);        \
            atomic_fetch_add(&loop_fails, 1);                                                      \
        }                                                                                          \
    } while (0)
static char seq[64];
static _Atomic int nseq;

static void mark(char c)
{
    int i = atomic_fetch_add(&nseq, 1);
    if (i < (int)sizeof seq - 1) seq[i] = c;
}

static void on_accept(rt_worker *w, int fd, void *ud)
{
    close(fd);
}

static void wait_n(int n)
{
    for (int i = 0; i < 6000 && atomic_load(&nseq) < n; i++) usleep(10000); /* up to 60 s */
}

/* ---- same-thread posts ------------------------------------------------------------------------
 */

static bool no_wakeup; /* the posts went to the local queue only */

static void post_d(void *arg)
{
    mark('d');
}

static void post_letter(void *arg)
{
    char c = (char)(intptr_t)arg;
    mark(c);
    if (c == 'a') rt_worker_post(W, post_d, NULL); /* runs after b and c */
}

static void post_three(void *arg)
{
    for (char c = 'a'; c <= 'c'; c++)
        EXPECT(rt_worker_post(W, post_letter, (void *)(intptr_t)c) == 0);
    no_wakeup = W->head == NULL && W->local.n == 3 && uv_is_active((uv_handle_t *)&W->idle);
    mark('|'); /* the end of this callback: before any of them */
}

TEST(same_thread_posts_run_after_the_callback_in_order_without_a_wakeup)
{
    rt_workers *ws;
    rt_workers_config cfg = {.nworkers = 1, .on_accept = on_accept};
    CHECK_INT(rt_workers_start(&ws, &cfg), 0);
    W = rt_workers_get(ws, 0);
    atomic_store(&nseq, 0);
    memset(seq, 0, sizeof seq);
    CHECK_INT(rt_worker_post(W, post_three, NULL), 0); /* from this thread: the locked queue */
    wait_n(5);
    rt_workers_stop(ws); /* joins the loop thread: what it wrote is seen */
    CHECK_STR(seq, "|abcd");
    CHECK_INT(atomic_load(&loop_fails), 0);
    CHECK(no_wakeup);
}

/* ---- the stop sequence ------------------------------------------------------------------------
 */

static int slot_a, slot_b, slot_c; /* keys */
static uv_timer_t held, forgotten;
static _Atomic int posts_refused, sets_refused;

static void held_close_cb(uv_handle_t *h)
{
    mark('x'); /* after every on_stop: the loop ran on for it */
}

static void slot_stop(rt_worker *w, void *data)
{
    mark(*(char *)data);
    if (rt_worker_post(w, post_d, NULL) == -ECANCELED) atomic_fetch_add(&posts_refused, 1);
    if (rt_worker_slot_set(w, &slot_c, data, NULL, NULL) == -ECANCELED)
        atomic_fetch_add(&sets_refused, 1);
    if (*(char *)data == 'B') uv_close((uv_handle_t *)&held, held_close_cb);
}

static void never(uv_timer_t *t)
{
    mark('!');
}

static void layer_stop(rt_worker *w, void *ud)
{
    mark('L');
}

static char A = 'A', B = 'B', C = 'C';

static void setup_slots(void *arg)
{
    rt_worker *w = arg;
    void *old = (void *)1;
    EXPECT(rt_worker_slot_set(w, &slot_b, &B, slot_stop, &old) == 0);
    EXPECT(old == NULL);
    EXPECT(rt_worker_slot_set(w, &slot_a, &C, slot_stop, NULL) == 0);
    EXPECT(rt_worker_slot_set(w, &slot_a, &A, slot_stop, &old) == 0); /* replaced */
    EXPECT(old == &C);
    EXPECT(rt_worker_slot_get(w, &slot_a) == &A);
    EXPECT(rt_worker_slot_get(w, &slot_c) == NULL);
    /* a full table, then the extra keys removed again */
    static char keys[RT_WORKER_SLOTS];
    for (int i = 0; i < RT_WORKER_SLOTS - 2; i++)
        EXPECT(rt_worker_slot_set(w, &keys[i], &C, slot_stop, NULL) == 0);
    EXPECT(rt_worker_slot_set(w, &slot_c, &C, slot_stop, NULL) == -ENOSPC);
    for (int i = 0; i < RT_WORKER_SLOTS - 2; i++)
        EXPECT(rt_worker_slot_set(w, &keys[i], NULL, NULL, &old) == 0);
    EXPECT(rt_worker_slot_get(w, &keys[0]) == NULL);
    uv_timer_init(rt_worker_loop(w), &held);
    uv_timer_start(&held, never, 3600000, 0);     /* active: holds the loop */
    uv_timer_init(rt_worker_loop(w), &forgotten); /* inactive and never closed by its owner */
    mark('s');
}

TEST(stop_runs_the_layer_then_the_slots_in_order_then_closes_every_handle)
{
    rt_workers *ws;
    rt_workers_config cfg = {.nworkers = 1, .on_accept = on_accept, .on_stop = layer_stop};
    CHECK_INT(rt_workers_start(&ws, &cfg), 0);
    W = rt_workers_get(ws, 0);
    atomic_store(&nseq, 0);
    memset(seq, 0, sizeof seq);
    CHECK_INT(rt_worker_post(W, setup_slots, W), 0);
    wait_n(1);
    mcp_log_set_level(MCP_LOG_ERROR); /* the forgotten handle's warning */
    rt_workers_stop(ws);              /* would print "still has handles" and leak otherwise */
    mcp_log_set_level(MCP_LOG_INFO);
    CHECK_STR(seq, "sLBAx"); /* B was set first */
    CHECK_INT(atomic_load(&loop_fails), 0);
    CHECK_INT(atomic_load(&posts_refused), 2);
    CHECK_INT(atomic_load(&sets_refused), 2);
    CHECK(uv_is_closing((uv_handle_t *)&forgotten));
}

/* ---- the default worker count -------------------------------------------------------------------
 */

TEST(workers_default_to_the_cpus_of_the_affinity_mask)
{
    cpu_set_t saved, one;
    CHECK_INT(sched_getaffinity(0, sizeof saved, &saved), 0);
    CHECK_INT(rt_cpu_count(), CPU_COUNT(&saved));
    int cpu = -1;
    for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++)
        if (CPU_ISSET(i, &saved)) cpu = i;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    CHECK_INT(sched_setaffinity(0, sizeof one, &one), 0); /* as `taskset -c N` */
    CHECK_INT(rt_cpu_count(), 1);
    rt_workers *ws;
    rt_workers_config cfg = {.on_accept = on_accept};
    int rc = rt_workers_start(&ws, &cfg);
    sched_setaffinity(0, sizeof saved, &saved);
    CHECK_INT(rc, 0);
    CHECK_INT(rt_workers_count(ws), 1);
    rt_workers_stop(ws);
}

int main(void)
{
    RUN(same_thread_posts_run_after_the_callback_in_order_without_a_wakeup);
    RUN(stop_runs_the_layer_then_the_slots_in_order_then_closes_every_handle);
    RUN(workers_default_to_the_cpus_of_the_affinity_mask);
    return test_summary();
}
