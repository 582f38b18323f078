/* loop.c - mcpd's event loop thread: children, timers and anything else kinds run on libuv.
 *
 * One libuv loop on one thread. Other threads hand it work with mcpd_loop_post(): the closure
 * goes onto a mutex-guarded FIFO and a uv_async wakes the loop, which runs the queue in order
 * (so a call's "start timer" always runs before its "end"). Stopping waits until nothing holds
 * the loop (mcpd_loop_hold: a call in progress, whose end still has to be posted), then closes
 * the wake-up handle, runs the loop until every handle is closed, and joins the thread; posts
 * after that are refused so their callers clean up themselves. */
#include "mcpd.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct post {
    void (*fn)(uv_loop_t *, void *);
    void *ud;
    struct post *next;
} post;

static struct {
    uv_loop_t loop;
    uv_async_t wake;
    pthread_t thread;
    pthread_mutex_t mu;
    post *head, *tail;
    bool running, stopping, closed;
    atomic_uint holds;
    void (*on_start)(uv_loop_t *, void *);
    void *start_ud;
    pthread_cond_t started_cv;
    bool started;
} L = {.mu = PTHREAD_MUTEX_INITIALIZER, .started_cv = PTHREAD_COND_INITIALIZER};

static void run_posts(uv_async_t *a)
{
    pthread_mutex_lock(&L.mu);
    post *p = L.head;
    L.head = L.tail = NULL;
    bool stop = L.stopping;
    pthread_mutex_unlock(&L.mu);
    while (p) {
        post *next = p->next;
        p->fn(&L.loop, p->ud);
        free(p);
        p = next;
    }
    pthread_mutex_lock(&L.mu);
    if (stop && !L.head && atomic_load(&L.holds) == 0 && !L.closed) {
        L.closed = true;
        uv_close((uv_handle_t *)&L.wake, NULL);
    }
    pthread_mutex_unlock(&L.mu);
}

void mcpd_loop_hold(void)
{
    atomic_fetch_add(&L.holds, 1);
}

void mcpd_loop_unhold(void)
{
    if (atomic_fetch_sub(&L.holds, 1) == 1) {
        pthread_mutex_lock(&L.mu);
        if (L.stopping && !L.closed) uv_async_send(&L.wake);
        pthread_mutex_unlock(&L.mu);
    }
}

static void *loop_main(void *arg)
{
    if (L.on_start) L.on_start(&L.loop, L.start_ud);
    pthread_mutex_lock(&L.mu);
    L.started = true;
    pthread_cond_signal(&L.started_cv);
    pthread_mutex_unlock(&L.mu);
    uv_run(&L.loop, UV_RUN_DEFAULT);
    return NULL;
}

uv_loop_t *mcpd_loop(void)
{
    return &L.loop;
}

int mcpd_loop_start(void (*on_start)(uv_loop_t *, void *), void *ud)
{
    if (uv_loop_init(&L.loop) || uv_async_init(&L.loop, &L.wake, run_posts)) return -1;
    L.on_start = on_start;
    L.start_ud = ud;
    L.running = true;
    if (pthread_create(&L.thread, NULL, loop_main, NULL)) {
        L.running = false;
        return -1;
    }
    /* on_start has run when this returns (e.g. SIGHUP is handled before mcpd says it serves) */
    pthread_mutex_lock(&L.mu);
    while (!L.started) pthread_cond_wait(&L.started_cv, &L.mu);
    pthread_mutex_unlock(&L.mu);
    return 0;
}

int mcpd_loop_post(void (*fn)(uv_loop_t *loop, void *ud), void *ud)
{
    post *p = malloc(sizeof *p);
    if (!p) abort();
    *p = (post){.fn = fn, .ud = ud};
    pthread_mutex_lock(&L.mu);
    if (!L.running || L.closed) {
        pthread_mutex_unlock(&L.mu);
        free(p);
        return -1;
    }
    if (L.tail)
        L.tail->next = p;
    else
        L.head = p;
    L.tail = p;
    uv_async_send(&L.wake);
    pthread_mutex_unlock(&L.mu);
    return 0;
}

void mcpd_loop_stop(void (*on_stop)(uv_loop_t *, void *), void *ud)
{
    if (!L.running) return;
    if (on_stop) mcpd_loop_post(on_stop, ud);
    pthread_mutex_lock(&L.mu);
    L.stopping = true;
    uv_async_send(&L.wake);
    pthread_mutex_unlock(&L.mu);
    pthread_join(L.thread, NULL);
    uv_loop_close(&L.loop);
    L.running = false;
    L.stopping = L.closed = L.started = false;
}
