/* test_guard.c - mcpd's guarding machinery: circuit breaker, concurrency limiter, health checks.
 * Time is passed to the breaker by the tests, so no test sleeps to make time pass; the limiter
 * and the health checker are driven by real threads and polled for their outcome. */
#include "../../src/mcpd/breaker.c"
#include "../../src/mcpd/health.c"
#include "../../src/mcpd/limiter.c"
#include "../../src/mcpd/series.c"
#include "test.h"

#include <unistd.h>

static mcpd_breaker *small_breaker(void)
{
    mcpd_breaker_config c = {.window_ms = 10000,
                             .min_calls = 4,
                             .failure_percent = 50,
                             .cooldown_ms = 1000,
                             .max_cooldown_ms = 3000,
                             .jitter_percent = 10,
                             .probes = 1,
                             .probe_successes = 2};
    return mcpd_breaker_new(&c, 42);
}

static void call(mcpd_breaker *b, uint64_t now, bool ok)
{
    mcpd_breaker_ticket t;
    uint64_t retry;
    if (!mcpd_breaker_allow(b, now, &t, &retry, NULL, 0))
        T_FAIL("refused at %llu", (unsigned long long)now);
    mcpd_breaker_record(b, now, &t, ok);
}

TEST(breaker_needs_min_calls_and_ratio)
{
    mcpd_breaker *b = small_breaker();
    call(b, 100, false);
    call(b, 101, false);
    call(b, 102, false); /* 3 failures, but fewer than min_calls outcomes */
    CHECK_INT(mcpd_breaker_state_at(b, 103), MCPD_BREAKER_CLOSED);
    call(b, 104, true);
    call(b, 105, true);
    call(b, 106, true); /* 3 of 6 failed: the next failure decides */
    CHECK_INT(mcpd_breaker_state_at(b, 107), MCPD_BREAKER_CLOSED);
    call(b, 108, false); /* 4 of 7 >= 50% */
    CHECK_INT(mcpd_breaker_state_at(b, 109), MCPD_BREAKER_OPEN);
    mcpd_breaker_free(b);
}

TEST(breaker_open_refuses_with_reason_and_retry)
{
    mcpd_breaker *b = small_breaker();
    for (int i = 0; i < 4; i++) call(b, 1000, false);
    mcpd_breaker_ticket t;
    uint64_t retry = 0;
    char why[200];
    CHECK(!mcpd_breaker_allow(b, 1000, &t, &retry, why, sizeof why));
    CHECK(retry >= 900 && retry <= 1100); /* cooldown 1000 +- 10% */
    CHECK_CONTAINS(why, "circuit open after 4 failures in 4 calls; retry in");
    mcpd_breaker_stats st;
    mcpd_breaker_stats_get(b, 1000, &st);
    CHECK_INT(st.refused, 1);
    CHECK_INT(st.opened, 1);
    mcpd_breaker_free(b);
}

TEST(breaker_half_open_limits_probes_and_closes)
{
    mcpd_breaker *b = small_breaker();
    for (int i = 0; i < 4; i++) call(b, 0, false);
    CHECK_INT(mcpd_breaker_state_at(b, 1200), MCPD_BREAKER_HALF_OPEN);
    mcpd_breaker_ticket p1, p2;
    uint64_t retry;
    CHECK(mcpd_breaker_allow(b, 1200, &p1, &retry, NULL, 0));
    CHECK(p1.probe);
    char why[200];
    CHECK(!mcpd_breaker_allow(b, 1201, &p2, &retry, why, sizeof why)); /* one probe at a time */
    CHECK_CONTAINS(why, "half-open");
    mcpd_breaker_record(b, 1202, &p1, true);
    CHECK_INT(mcpd_breaker_state_at(b, 1203), MCPD_BREAKER_HALF_OPEN); /* needs 2 */
    CHECK(mcpd_breaker_allow(b, 1204, &p2, &retry, NULL, 0));
    mcpd_breaker_record(b, 1205, &p2, true);
    CHECK_INT(mcpd_breaker_state_at(b, 1206), MCPD_BREAKER_CLOSED);
    /* closed with an empty window: one failure does not reopen it */
    call(b, 1207, false);
    CHECK_INT(mcpd_breaker_state_at(b, 1208), MCPD_BREAKER_CLOSED);
    mcpd_breaker_free(b);
}

TEST(breaker_failed_probe_reopens_longer)
{
    mcpd_breaker *b = small_breaker();
    for (int i = 0; i < 4; i++) call(b, 0, false);
    mcpd_breaker_ticket p;
    uint64_t retry;
    CHECK(mcpd_breaker_allow(b, 1200, &p, &retry, NULL, 0));
    mcpd_breaker_record(b, 1201, &p, false);
    CHECK_INT(mcpd_breaker_state_at(b, 1202), MCPD_BREAKER_OPEN);
    CHECK(!mcpd_breaker_allow(b, 1202, &p, &retry, NULL, 0));
    CHECK(retry >= 1800 && retry <= 2200); /* doubled: 2000 +- 10% */
    /* and capped at max_cooldown_ms */
    uint64_t now = 1202 + retry;
    for (int i = 0; i < 3; i++) {
        CHECK(mcpd_breaker_allow(b, now, &p, &retry, NULL, 0));
        mcpd_breaker_record(b, now, &p, false);
        CHECK(!mcpd_breaker_allow(b, now, &p, &retry, NULL, 0));
        CHECK(retry <= 3300);
        now += retry;
    }
    mcpd_breaker_free(b);
}

TEST(breaker_release_frees_probe_and_ignores_stale_outcomes)
{
    mcpd_breaker *b = small_breaker();
    mcpd_breaker_ticket old;
    uint64_t retry;
    CHECK(mcpd_breaker_allow(b, 0, &old, &retry, NULL, 0)); /* admitted while closed */
    for (int i = 0; i < 4; i++) call(b, 1, false);
    mcpd_breaker_ticket p, q;
    CHECK(mcpd_breaker_allow(b, 1200, &p, &retry, NULL, 0));
    mcpd_breaker_record(b, 1200, &old, false); /* late outcome of another era: not counted */
    CHECK_INT(mcpd_breaker_state_at(b, 1200), MCPD_BREAKER_HALF_OPEN);
    mcpd_breaker_release(b, &p); /* never reached the backend */
    CHECK(mcpd_breaker_allow(b, 1201, &q, &retry, NULL, 0));
    CHECK(q.probe);
    mcpd_breaker_free(b);
}

TEST(breaker_window_rolls)
{
    mcpd_breaker *b = small_breaker();
    call(b, 0, false);
    call(b, 0, false);
    call(b, 0, false);
    /* 11 s later those failures have left the 10 s window */
    call(b, 11000, false);
    mcpd_breaker_stats st;
    mcpd_breaker_stats_get(b, 11000, &st);
    CHECK_INT(st.window_calls, 1);
    CHECK_INT(st.state, MCPD_BREAKER_CLOSED);
    /* outcomes spread inside the window still count */
    call(b, 14000, false);
    call(b, 17000, false);
    call(b, 20000, false);
    CHECK_INT(mcpd_breaker_state_at(b, 20000), MCPD_BREAKER_OPEN);
    mcpd_breaker_free(b);
}

TEST(breaker_window_of_calls)
{
    mcpd_breaker_config c = {.window_calls = 4, .min_calls = 4, .failure_percent = 50};
    mcpd_breaker *b = mcpd_breaker_new(&c, 9);
    call(b, 0, false);
    call(b, 0, true);
    call(b, 0, true);
    call(b, 0, true);
    call(b, 3600000, true); /* the failure has left the last 4 calls, however old they are */
    mcpd_breaker_stats st;
    mcpd_breaker_stats_get(b, 3600000, &st);
    CHECK_INT(st.window_calls, 4);
    CHECK_INT(st.window_failures, 0);
    call(b, 3600001, false);
    CHECK_INT(mcpd_breaker_state_at(b, 3600001), MCPD_BREAKER_CLOSED); /* 1 of 4 */
    call(b, 3600002, false);                                           /* 2 of 4 */
    CHECK_INT(mcpd_breaker_state_at(b, 3600002), MCPD_BREAKER_OPEN);
    mcpd_breaker_free(b);
}

TEST(breaker_forced_by_health)
{
    mcpd_breaker *b = small_breaker();
    mcpd_breaker_force_open(b, 0, 5000, "api failed its health check (503)");
    CHECK_INT(mcpd_breaker_state_at(b, 100000), MCPD_BREAKER_OPEN); /* held past any cooldown */
    mcpd_breaker_ticket t;
    uint64_t retry;
    char why[200];
    CHECK(!mcpd_breaker_allow(b, 1000, &t, &retry, why, sizeof why));
    CHECK_CONTAINS(why, "circuit open: api failed its health check (503); retry in");
    mcpd_breaker_force_close(b, 2000);
    CHECK(mcpd_breaker_allow(b, 2000, &t, &retry, NULL, 0));
    CHECK(!t.probe);
    mcpd_breaker_free(b);
}

static void *hammer(void *arg)
{
    mcpd_breaker *b = arg;
    for (int i = 0; i < 2000; i++) {
        mcpd_breaker_ticket t;
        uint64_t retry, now = mcpd_now_ms();
        if (mcpd_breaker_allow(b, now, &t, &retry, NULL, 0)) mcpd_breaker_record(b, now, &t, i % 3);
    }
    return NULL;
}

TEST(breaker_threads)
{
    /* threads hammering one breaker: TSan checks the locking */
    mcpd_breaker *b = mcpd_breaker_new(NULL, 1);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, hammer, b);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    mcpd_breaker_stats st;
    mcpd_breaker_stats_get(b, mcpd_now_ms(), &st);
    CHECK_INT(st.state, MCPD_BREAKER_CLOSED); /* a third failing stays under 50% */
    mcpd_breaker_free(b);
}

/* ---- limiter ---------------------------------------------------------------------------- */
TEST(limiter_try_and_refuse)
{
    mcpd_limiter *l = mcpd_limiter_new(2, 0, 0);
    CHECK(mcpd_limiter_try(l));
    CHECK(mcpd_limiter_acquire(l, 0, NULL, 0));
    char why[160];
    CHECK(!mcpd_limiter_acquire(l, 0, why, sizeof why)); /* wait_ms 0: refused at once */
    CHECK_CONTAINS(why, "too many concurrent calls (limit 2");
    CHECK(!mcpd_limiter_try(l));
    CHECK_INT(mcpd_limiter_refused(l), 2);
    mcpd_limiter_release(l);
    CHECK(mcpd_limiter_try(l));
    CHECK_INT(mcpd_limiter_in_use(l), 2);
    mcpd_limiter_release(l);
    mcpd_limiter_release(l);
    CHECK_INT(mcpd_limiter_in_use(l), 0);
    mcpd_limiter_free(l);
}

TEST(limiter_bounded_wait_times_out)
{
    mcpd_limiter *l = mcpd_limiter_new(1, 30, 4);
    CHECK(mcpd_limiter_try(l));
    char why[160];
    CHECK(!mcpd_limiter_acquire(l, 0, why, sizeof why));
    CHECK_CONTAINS(why, "no slot freed within 30 ms");
    CHECK(!mcpd_limiter_acquire(l, 5, why, sizeof why)); /* a shorter cap wins */
    CHECK_CONTAINS(why, "within 5 ms");
    mcpd_limiter_release(l);
    mcpd_limiter_free(l);
}

static void *waiter(void *arg)
{
    mcpd_limiter *l = arg;
    bool ok = mcpd_limiter_acquire(l, 0, NULL, 0);
    if (ok) mcpd_limiter_release(l);
    return (void *)(intptr_t)ok;
}

TEST(limiter_waiter_gets_released_slot)
{
    mcpd_limiter *l = mcpd_limiter_new(1, 60000, 1);
    CHECK(mcpd_limiter_try(l));
    pthread_t th;
    pthread_create(&th, NULL, waiter, l);
    while (mcpd_limiter_waiting(l) < 1) usleep(1000);
    char why[160];
    CHECK(!mcpd_limiter_acquire(l, 0, why, sizeof why)); /* the one waiting place is taken */
    CHECK_CONTAINS(why, "1 more waiting");
    mcpd_limiter_release(l);
    void *ok;
    pthread_join(th, &ok);
    CHECK(ok != NULL);
    CHECK_INT(mcpd_limiter_in_use(l), 0);
    mcpd_limiter_free(l);
}

/* A waiter whose stop flag is set stops waiting when woken (a cancelled call), with its
 * reason, and a slot released then still reaches the other waiter. */
typedef struct stoppable {
    mcpd_limiter *l;
    atomic_bool stop;
    char why[160];
    bool ok;
} stoppable;

static void *stoppable_waiter(void *arg)
{
    stoppable *w = arg;
    w->ok = mcpd_limiter_acquire_unless(w->l, 0, &w->stop, w->why, sizeof w->why);
    if (w->ok) mcpd_limiter_release(w->l);
    return NULL;
}

TEST(limiter_wait_stops_when_woken)
{
    mcpd_limiter *l = mcpd_limiter_new(1, 600000, 4); /* a wait far longer than the test */
    CHECK(mcpd_limiter_try(l));
    stoppable a = {.l = l}, b = {.l = l};
    atomic_init(&a.stop, false);
    atomic_init(&b.stop, false);
    pthread_t ta, tb;
    pthread_create(&ta, NULL, stoppable_waiter, &a);
    pthread_create(&tb, NULL, stoppable_waiter, &b);
    while (mcpd_limiter_waiting(l) < 2) usleep(1000);
    atomic_store(&a.stop, true);
    mcpd_limiter_wake(l);
    pthread_join(ta, NULL);
    CHECK(!a.ok);
    CHECK_STR(a.why, "cancelled while waiting for a slot");
    CHECK_INT(mcpd_limiter_refused(l), 0); /* a cancellation is not a refusal */
    mcpd_limiter_release(l);
    pthread_join(tb, NULL);
    CHECK(b.ok);
    CHECK_INT(mcpd_limiter_in_use(l), 0);
    mcpd_limiter_free(l);
}

/* ---- health --------------------------------------------------------------------------------- */
typedef struct fake_upstream {
    atomic_bool up;
    atomic_bool silent; /* never reports (a hung probe) */
    atomic_int probes;
    pthread_mutex_t mu;
    mcpd_health_report_fn pending;
    void *pending_ud;
} fake_upstream;

static void fake_probe(void *ud, mcpd_health_report_fn rep, void *rud)
{
    fake_upstream *u = ud;
    atomic_fetch_add(&u->probes, 1);
    /* silent is read under the mutex, so that once the test has turned it off and released the
     * held probe (fake_speak), no probe can be held any more: the checker's free waits for every
     * outstanding probe, so one held for ever would hang it */
    pthread_mutex_lock(&u->mu);
    if (atomic_load(&u->silent)) {
        /* One probe is held at a time. The checker starts a probe only once the last one has
         * reported or timed out, so one still held has timed out: it answers now, late (the
         * checker drops it). Overwritten instead, it would stay outstanding for ever and the
         * checker's free would wait for it (a test thread slowed by 5 ms under load hung CI). */
        mcpd_health_report_fn late = u->pending;
        void *late_ud = u->pending_ud;
        u->pending = rep;
        u->pending_ud = rud;
        pthread_mutex_unlock(&u->mu);
        if (late) late(late_ud, true, NULL);
        return;
    }
    pthread_mutex_unlock(&u->mu);
    if (atomic_load(&u->up))
        rep(rud, true, NULL);
    else
        rep(rud, false, "GET /health: 503");
}

/* Reports a held probe late (from the test thread), if one is held. */
static void fake_release(fake_upstream *u)
{
    pthread_mutex_lock(&u->mu);
    mcpd_health_report_fn r = u->pending;
    void *rud = u->pending_ud;
    u->pending = NULL;
    pthread_mutex_unlock(&u->mu);
    if (r) r(rud, true, NULL);
}

/* Turns silence off and releases the probe held meanwhile, if any: after this no probe is held. */
static void fake_speak(fake_upstream *u)
{
    pthread_mutex_lock(&u->mu);
    atomic_store(&u->silent, false);
    pthread_mutex_unlock(&u->mu);
    fake_release(u);
}

TEST(health_verdict_hysteresis)
{
    /* the verdict logic alone, on a target that no loop runs */
    mcpd_health h = {0};
    mcpd_breaker *b = mcpd_breaker_new(NULL, 3);
    target t = {.h = &h, .name = (char *)"api", .healthy = true};
    t.def = (mcpd_health_target){
        .interval_ms = 5000, .unhealthy_after = 2, .healthy_after = 2, .breaker = b};
    verdict_locked(&h, &t, 0, false, "connection refused");
    CHECK(t.healthy); /* one failure is not enough */
    CHECK_INT(mcpd_breaker_state_at(b, 0), MCPD_BREAKER_CLOSED);
    verdict_locked(&h, &t, 10, true, NULL);
    verdict_locked(&h, &t, 20, false, "connection refused"); /* not in a row */
    CHECK(t.healthy);
    verdict_locked(&h, &t, 30, false, "connection refused");
    CHECK(!t.healthy);
    mcpd_breaker_ticket tk;
    uint64_t retry;
    char why[300];
    CHECK(!mcpd_breaker_allow(b, 40, &tk, &retry, why, sizeof why));
    CHECK_CONTAINS(why, "api failed its health check (connection refused)");
    CHECK(retry <= 5000);
    verdict_locked(&h, &t, 50, true, NULL);
    CHECK(!t.healthy); /* healthy_after 2 */
    verdict_locked(&h, &t, 60, true, NULL);
    CHECK(t.healthy);
    CHECK_INT(mcpd_breaker_state_at(b, 70), MCPD_BREAKER_CLOSED);
    mcpd_breaker_free(b);
}

static void wait_checks(mcpd_health *h, uint64_t n)
{
    uint64_t until = mcpd_health_checks_done(h) + n;
    while (mcpd_health_checks_done(h) < until) usleep(1000);
}

TEST(health_loop_opens_and_closes_breaker)
{
    mcpd_health *h = mcpd_health_new(NULL);
    CHECK(h != NULL);
    fake_upstream u = {.up = true};
    pthread_mutex_init(&u.mu, NULL);
    mcpd_breaker *b = mcpd_breaker_new(NULL, 5);
    mcpd_health_target def = {.name = "api",
                              .interval_ms = 5,
                              .unhealthy_after = 2,
                              .healthy_after = 1,
                              .probe = fake_probe,
                              .ud = &u,
                              .breaker = b};
    uint64_t id = mcpd_health_add(h, &def);
    wait_checks(h, 2);
    CHECK(mcpd_health_status(h, id, NULL, 0));
    atomic_store(&u.up, false);
    while (mcpd_breaker_state_at(b, mcpd_now_ms()) != MCPD_BREAKER_OPEN) usleep(1000);
    char why[160];
    CHECK(!mcpd_health_status(h, id, why, sizeof why));
    CHECK_STR(why, "GET /health: 503");
    atomic_store(&u.up, true);
    while (mcpd_breaker_state_at(b, mcpd_now_ms()) != MCPD_BREAKER_CLOSED) usleep(1000);
    CHECK(mcpd_health_status(h, id, NULL, 0));
    mcpd_health_remove(h, id);
    int n = atomic_load(&u.probes);
    usleep(20000);
    CHECK_INT(atomic_load(&u.probes), n); /* removed: no more probes */
    mcpd_breaker_free(b);
    mcpd_health_free(h);
    pthread_mutex_destroy(&u.mu);
}

TEST(health_probe_timeout_fails_and_late_report_is_dropped)
{
    mcpd_health *h = mcpd_health_new(NULL);
    fake_upstream u = {.up = true, .silent = true};
    pthread_mutex_init(&u.mu, NULL);
    mcpd_breaker *b = mcpd_breaker_new(NULL, 5);
    mcpd_health_target def = {.name = "slow",
                              .interval_ms = 5,
                              .timeout_ms = 5,
                              .unhealthy_after = 1,
                              .probe = fake_probe,
                              .ud = &u,
                              .breaker = b};
    uint64_t id = mcpd_health_add(h, &def);
    while (mcpd_breaker_state_at(b, mcpd_now_ms()) != MCPD_BREAKER_OPEN) usleep(1000);
    char why[160];
    CHECK(!mcpd_health_status(h, id, why, sizeof why));
    CHECK_STR(why, "no answer within 5 ms");
    fake_release(&u); /* the late answer of a timed-out probe: ignored */
    fake_speak(&u);
    while (mcpd_breaker_state_at(b, mcpd_now_ms()) != MCPD_BREAKER_CLOSED) usleep(1000);
    mcpd_health_free(h); /* removes the target itself */
    mcpd_breaker_free(b);
    pthread_mutex_destroy(&u.mu);
}

static void *free_checker(void *h)
{
    mcpd_health_free(h);
    return NULL;
}

TEST(health_free_waits_for_outstanding_probe)
{
    mcpd_health *h = mcpd_health_new(NULL);
    fake_upstream u = {.up = false};
    pthread_mutex_init(&u.mu, NULL);
    mcpd_breaker *b = mcpd_breaker_new(NULL, 5);
    mcpd_health_target def = {.name = "x",
                              .interval_ms = 1,
                              .timeout_ms = 60000,
                              .probe = fake_probe,
                              .ud = &u,
                              .breaker = b};
    mcpd_health_add(h, &def);
    wait_checks(h, 3);
    atomic_store(&u.silent, true);
    for (bool held = false; !held;) {
        usleep(1000);
        pthread_mutex_lock(&u.mu);
        held = u.pending != NULL;
        pthread_mutex_unlock(&u.mu);
    }
    pthread_t th;
    pthread_create(&th, NULL, free_checker, h);
    usleep(20000);
    fake_release(&u); /* free returns only after this report */
    pthread_join(th, NULL);
    mcpd_breaker_free(b);
    pthread_mutex_destroy(&u.mu);
}

int main(void)
{
    RUN(breaker_needs_min_calls_and_ratio);
    RUN(breaker_open_refuses_with_reason_and_retry);
    RUN(breaker_half_open_limits_probes_and_closes);
    RUN(breaker_failed_probe_reopens_longer);
    RUN(breaker_release_frees_probe_and_ignores_stale_outcomes);
    RUN(breaker_window_rolls);
    RUN(breaker_window_of_calls);
    RUN(breaker_forced_by_health);
    RUN(breaker_threads);
    RUN(limiter_try_and_refuse);
    RUN(limiter_bounded_wait_times_out);
    RUN(limiter_waiter_gets_released_slot);
    RUN(limiter_wait_stops_when_woken);
    RUN(health_verdict_hysteresis);
    RUN(health_loop_opens_and_closes_breaker);
    RUN(health_probe_timeout_fails_and_late_report_is_dropped);
    RUN(health_free_waits_for_outstanding_probe);
    return test_summary();
}
