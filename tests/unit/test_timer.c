/* test_timer.c - the per-loop deadline heap (src/rt/timer.c): order, ties, moves, cancels,
 * callbacks that re-arm or cancel others, drain, and a randomized check against a model. */
#include "test.h"

#include "../../src/rt/timer.c"

#include <stdlib.h>

typedef struct item {
    rt_timer t; /* first: the callback casts back */
    int id;
    int fired;
    uint64_t fired_at;
    rt_timers *ts;
    int rearm;           /* re-arm this many more times, 1 ms later each */
    struct item *victim; /* cancelled by this one's callback */
} item;

static int order[64], norder;

static void on_fire(rt_timer *t, uint64_t now)
{
    item *it = (item *)t;
    it->fired++;
    it->fired_at = now;
    if (norder < 64) order[norder++] = it->id;
    if (now == RT_TIMER_DRAIN) return;
    if (it->victim) rt_timer_cancel(it->ts, &it->victim->t);
    if (it->rearm > 0) {
        it->rearm--;
        rt_timer_arm(it->ts, t, now);
    }
}

static void items_init(item *it, int n, rt_timers *ts)
{
    memset(it, 0, sizeof *it * (size_t)n);
    for (int i = 0; i < n; i++) {
        rt_timer_init(&it[i].t, on_fire);
        it[i].id = i;
        it[i].ts = ts;
    }
    norder = 0;
}

TEST(order_and_ties)
{
    rt_timers ts;
    rt_timers_init(&ts);
    item it[5];
    items_init(it, 5, &ts);
    CHECK(rt_timers_next(&ts) == UINT64_MAX);
    rt_timer_arm(&ts, &it[0].t, 30);
    rt_timer_arm(&ts, &it[1].t, 10);
    rt_timer_arm(&ts, &it[2].t, 20);
    rt_timer_arm(&ts, &it[3].t, 10); /* same deadline as 1, armed after: runs after */
    rt_timer_arm(&ts, &it[4].t, 40);
    CHECK_INT(rt_timers_count(&ts), 5);
    CHECK_INT(rt_timers_next(&ts), 10);
    CHECK_INT(rt_timers_run(&ts, 9), 0);
    CHECK_INT(rt_timers_run(&ts, 20), 3);
    CHECK_INT(norder, 3);
    CHECK_INT(order[0], 1);
    CHECK_INT(order[1], 3);
    CHECK_INT(order[2], 2);
    CHECK(!rt_timer_armed(&it[1].t));
    CHECK(rt_timer_armed(&it[0].t));
    CHECK_INT(rt_timers_next(&ts), 30);
    CHECK_INT(rt_timers_run(&ts, 100), 2);
    CHECK_INT(order[3], 0);
    CHECK_INT(order[4], 4);
    CHECK_INT(rt_timers_count(&ts), 0);
    rt_timers_free(&ts);
}

TEST(move_and_cancel)
{
    rt_timers ts;
    rt_timers_init(&ts);
    item it[4];
    items_init(it, 4, &ts);
    for (int i = 0; i < 4; i++) rt_timer_arm(&ts, &it[i].t, (uint64_t)(10 * (i + 1)));
    rt_timer_arm(&ts, &it[3].t, 5);  /* moved earlier */
    rt_timer_arm(&ts, &it[0].t, 35); /* moved later */
    rt_timer_cancel(&ts, &it[1].t);
    rt_timer_cancel(&ts, &it[1].t); /* twice: no-op */
    CHECK(!rt_timer_armed(&it[1].t));
    CHECK_INT(rt_timers_count(&ts), 3);
    CHECK_INT(rt_timers_next(&ts), 5);
    CHECK_INT(rt_timers_run(&ts, 1000), 3);
    CHECK_INT(order[0], 3);
    CHECK_INT(order[1], 2);
    CHECK_INT(order[2], 0);
    CHECK_INT(it[1].fired, 0);
    rt_timers_free(&ts);
}

TEST(callbacks_rearm_and_cancel)
{
    rt_timers ts;
    rt_timers_init(&ts);
    item it[3];
    items_init(it, 3, &ts);
    it[0].rearm = 2;       /* fires at 100, re-arms for 100 twice */
    it[0].victim = &it[2]; /* and cancels 2 (due 50) the first time */
    rt_timer_arm(&ts, &it[0].t, 10);
    rt_timer_arm(&ts, &it[1].t, 10);
    rt_timer_arm(&ts, &it[2].t, 50);
    /* a re-arm for a time already past waits for the next run: the loop is never pinned */
    CHECK_INT(rt_timers_run(&ts, 100), 2);
    CHECK_INT(it[0].fired, 1);
    CHECK_INT(it[1].fired, 1);
    CHECK(!rt_timer_armed(&it[2].t));
    CHECK_INT(rt_timers_next(&ts), 100);
    CHECK_INT(rt_timers_run(&ts, 100), 1);
    CHECK_INT(rt_timers_run(&ts, 100), 1);
    CHECK_INT(it[0].fired, 3);
    CHECK_INT(it[2].fired, 0);
    CHECK_INT(rt_timers_count(&ts), 0);
    rt_timers_free(&ts);
}

TEST(drain)
{
    rt_timers ts;
    rt_timers_init(&ts);
    item it[3];
    items_init(it, 3, &ts);
    for (int i = 0; i < 3; i++) rt_timer_arm(&ts, &it[i].t, (uint64_t)(100 - i));
    rt_timers_drain(&ts);
    CHECK_INT(rt_timers_count(&ts), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(it[i].fired, 1);
        CHECK(it[i].fired_at == RT_TIMER_DRAIN);
    }
    CHECK_INT(order[0], 2);
    rt_timers_free(&ts);
}

/* Random arms, moves, cancels and runs against a plain array model. */
TEST(randomized_against_model)
{
    enum { N = 500, OPS = 20000 };
    rt_timers ts;
    rt_timers_init(&ts);
    static item it[N];
    items_init(it, N, &ts);
    static uint64_t due[N];
    static bool armed[N];
    memset(armed, 0, sizeof armed);
    srand(14);
    uint64_t now = 0;
    for (int op = 0; op < OPS; op++) {
        int i = rand() % N, what = rand() % 10;
        if (what < 5) {
            due[i] = now + (uint64_t)(rand() % 1000);
            armed[i] = true;
            rt_timer_arm(&ts, &it[i].t, due[i]);
        } else if (what < 7) {
            armed[i] = false;
            rt_timer_cancel(&ts, &it[i].t);
        } else {
            now += (uint64_t)(rand() % 50);
            size_t expect = 0;
            for (int k = 0; k < N; k++)
                if (armed[k] && due[k] <= now) expect++;
            for (int k = 0; k < N; k++) it[k].fired = 0;
            CHECK_INT(rt_timers_run(&ts, now), expect);
            for (int k = 0; k < N; k++) {
                if (armed[k] && due[k] <= now) {
                    CHECK_INT(it[k].fired, 1);
                    armed[k] = false;
                } else {
                    CHECK_INT(it[k].fired, 0);
                }
                CHECK(rt_timer_armed(&it[k].t) == armed[k]);
            }
        }
        uint64_t min = UINT64_MAX;
        size_t n = 0;
        for (int k = 0; k < N; k++)
            if (armed[k]) {
                n++;
                if (due[k] < min) min = due[k];
            }
        CHECK_INT(rt_timers_count(&ts), n);
        CHECK(rt_timers_next(&ts) == min);
    }
    rt_timers_free(&ts);
}

int main(void)
{
    RUN(order_and_ties);
    RUN(move_and_cancel);
    RUN(callbacks_rearm_and_cancel);
    RUN(drain);
    RUN(randomized_against_model);
    return test_summary();
}
