/* test_loop_timers.c - the deadline heap of a worker loop (rt_worker_timer_arm, src/rt/loop.c):
 * entries armed from the loop thread fire there, in deadline order, once each; an entry moved
 * earlier fires earlier; a cancelled one never fires; entries still armed when the workers stop
 * are drained (called with RT_TIMER_DRAIN) so they can release what they hold. Assertions are
 * on order and counts, never on how late an entry fired. */
#include "test.h"

#include "rt/clock.h"
#include "rt/loop.h"

#include <stdatomic.h>
#include <unistd.h>

typedef struct entry {
    rt_timer t; /* first */
    int id;
    _Atomic int fired, drained;
    _Atomic bool on_loop;
} entry;

static entry e[5];
static _Atomic int order[8], norder;
static rt_worker *the_worker;

static void on_fire(rt_timer *t, uint64_t now)
{
    entry *x = (entry *)t;
    if (now == RT_TIMER_DRAIN) {
        atomic_fetch_add(&x->drained, 1);
        return;
    }
    atomic_store(&x->on_loop, rt_worker_current() == the_worker);
    atomic_fetch_add(&x->fired, 1);
    int i = atomic_fetch_add(&norder, 1);
    if (i < 8) atomic_store(&order[i], x->id);
}

/* Runs on the loop: arms 0..3 at +300, +100, +200, +60000 ms; moves 3 to +50; cancels 2;
 * arms 4 an hour away (drained at stop). */
static void arm_all(void *arg)
{
    rt_worker *w = arg;
    uint64_t now = rt_now_ms();
    static const uint64_t after[] = {300, 100, 200, 60000, 3600000};
    for (int i = 0; i < 5; i++) {
        rt_timer_init(&e[i].t, on_fire);
        e[i].id = i;
        rt_worker_timer_arm(w, &e[i].t, now + after[i]);
    }
    rt_worker_timer_arm(w, &e[3].t, now + 50);
    rt_worker_timer_cancel(w, &e[2].t);
}

static void on_accept(rt_worker *w, int fd, void *ud)
{
    close(fd);
}

TEST(entries_fire_in_order_on_the_loop_and_drain_at_stop)
{
    rt_workers *ws;
    rt_workers_config cfg = {.nworkers = 1, .port = 0, .on_accept = on_accept};
    CHECK_INT(rt_workers_start(&ws, &cfg), 0);
    the_worker = rt_workers_get(ws, 0);
    CHECK_INT(rt_worker_post(the_worker, arm_all, the_worker), 0);
    for (int i = 0; i < 3000 && atomic_load(&norder) < 3; i++) usleep(10000); /* up to 30 s */
    CHECK_INT(atomic_load(&norder), 3);
    CHECK_INT(atomic_load(&order[0]), 3);
    CHECK_INT(atomic_load(&order[1]), 1);
    CHECK_INT(atomic_load(&order[2]), 0);
    rt_workers_stop(ws);
    for (int i = 0; i < 5; i++) {
        int want_fired = i == 0 || i == 1 || i == 3;
        CHECK_INT(atomic_load(&e[i].fired), want_fired);
        if (want_fired) CHECK(atomic_load(&e[i].on_loop));
    }
    CHECK_INT(atomic_load(&e[2].drained), 0); /* cancelled: gone for good */
    CHECK_INT(atomic_load(&e[4].drained), 1);
}

int main(void)
{
    RUN(entries_fire_in_order_on_the_loop_and_drain_at_stop);
    return test_summary();
}
