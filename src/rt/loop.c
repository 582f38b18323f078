/* loop.c - worker threads with one libuv loop and one SO_REUSEPORT listener each.
 *
 * rt_workers_start does all the setup on the calling thread before any worker thread exists:
 * it creates one listening socket per worker by hand (socket, SO_REUSEPORT, bind, listen;
 * libuv 1.44 has no UV_TCP_REUSEPORT), binds the first to the requested port (0: the kernel
 * picks) and the others to the port the first got, then initializes each loop with the socket
 * (watched with a uv_poll_t), an async handle and a deadline heap (rt/timer.h: the periodic
 * tick and whatever the layer above arms; one uv timer sleeps until the earliest entry), and
 * only then starts the threads; thread creation orders all of that before the loops run. Accepting
 * is ours, not libuv's: libuv's uv_listen retries accept in a loop when the process is out of file
 * descriptors (EMFILE), which never returns to the loop, so connections are never closed and
 * fds never come back. Here a readable listener is drained with accept4 (at most ACCEPT_BURST
 * per wakeup); on EMFILE, ENFILE, ENOBUFS or ENOMEM the listener is unwatched (accepting is
 * paused, the backlog waits in the kernel) and watched again on the next tick or when the
 * layer above frees a connection (rt_worker_resume_accept). Cross-thread messages go
 * through a mutex-protected intrusive queue drained by the async callback; messages a loop
 * posts to itself go to a local array run by an idle handle (no lock, no eventfd write: see
 * docs/internals/runtime.md, "Posts"). Stopping posts a stop flag through the locked queue:
 * the async callback marks the queue closed (later posts fail, local ones too), runs what was
 * queued, lets the layer above close its handles, calls the on_stop of each per-worker slot
 * (the layers above's data by key), and closes its own handles; uv_run then returns once every
 * closed handle's callback ran, a handle left open is closed on the loop's thread, and the
 * thread ends. */
#include "rt/loop.h"

#include "base/alloc.h"
#include "base/log.h"
#include "rt/clock.h"
#include "rt/pool.h"
#include "rt/signals.h"
#include "rt/timer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_BURST 64 /* accepts per wakeup: other work on the loop is not starved */

typedef struct rt_msg {
    struct rt_msg *next;
    void (*fn)(void *arg);
    void *arg;
} rt_msg;

/* Posts made on the worker's own thread: a growing array, run in order by the idle handle. */
typedef struct rt_local_msg {
    void (*fn)(void *arg);
    void *arg;
} rt_local_msg;

typedef struct rt_local {
    rt_local_msg *v;
    size_t n, cap;
} rt_local;

typedef struct rt_slot {
    const void *key;
    void *data;
    rt_slot_stop_fn on_stop;
} rt_slot;

struct rt_worker {
    alignas(64) rt_counters counters; /* own cache line: written by this thread only */
    alignas(64) uv_loop_t loop;
    uv_poll_t listener;
    int lfd;               /* the listening socket; -1 once closed */
    bool accept_paused;    /* out of fds (or memory): the listener is not watched */
    bool starved;          /* accept failed and has not succeeded since (logged once) */
    uint64_t paused_since; /* when the first pause of this spell began (ms), for the log */
    uv_async_t async;
    uv_idle_t idle;          /* active while `local` holds posts: they run, the loop won't sleep */
    rt_local local, running; /* same-thread posts; the batch being run (loop thread only) */
    uv_timer_t timer;        /* one-shot, armed for the earliest deadline in timers */
    rt_timers timers;        /* every deadline of this loop (rt_worker_timer_arm) */
    rt_timer tick;           /* the periodic tick: accept retry, on_tick */
    uint64_t armed_for;      /* the deadline timer is armed for (UINT64_MAX: not armed) */
    uv_thread_t thread;
    uv_mutex_t mu; /* guards head, tail, stop_req, closed */
    rt_msg *head, *tail;
    bool stop_req, closed;
    rt_slot slots[RT_WORKER_SLOTS]; /* the layers above's per-loop data (loop thread only) */
    unsigned nslots;
    bool slots_stopped;
    unsigned index;
    void *data;
    rt_workers *ws;
};

struct rt_workers {
    rt_workers_config cfg;
    unsigned n;
    int port;
    rt_worker **w;
};

/* --- sockets ---------------------------------------------------------------------------- */

static int make_addr(const char *host, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return 0;
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss);
}

/* Returns a listening fd bound with SO_REUSEPORT to host:port, or a negative errno. */
static int listen_socket(const char *host, int port, int backlog)
{
    struct sockaddr_storage ss;
    int rc = make_addr(host, port, &ss);
    if (rc) return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    socklen_t len =
        ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&ss, len) || listen(fd, backlog)) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len)) return -errno;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* --- loop callbacks --------------------------------------------------------------------- */

static bool accept_again_later(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void pause_accept(rt_worker *w, int err)
{
    uv_poll_stop(&w->listener);
    w->accept_paused = true;
    RT_COUNT_ADD(w, accept_pauses, 1);
    if (w->starved) return; /* one line per spell, however often it pauses and retries */
    w->starved = true;
    w->paused_since = rt_now_ms();
    mcp_log(
        MCP_LOGL_WARN,
        "rt: worker %u: accept failed (%s): accepting paused until fds come back (%llu "
        "connections open on this worker)",
        w->index, strerror(err),
        (unsigned long long)atomic_load_explicit(&w->counters.conns_open, memory_order_relaxed));
}

static void accepted(rt_worker *w, int fd)
{
    if (w->starved) {
        w->starved = false;
        mcp_log(MCP_LOGL_INFO, "rt: worker %u: accepting again after %llu ms", w->index,
                (unsigned long long)(rt_now_ms() - w->paused_since));
    }
    w->ws->cfg.on_accept(w, fd, w->ws->cfg.ud);
}

static void on_listener(uv_poll_t *p, int status, int events)
{
    rt_worker *w = p->data;
    for (int i = 0; i < ACCEPT_BURST && w->lfd >= 0 && !w->accept_paused; i++) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            accepted(w, fd);
            continue;
        }
        int err = errno;
        if (err == EAGAIN) return;
        if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
        RT_COUNT_ADD(w, errors, 1);
        if (accept_again_later(err)) {
            pause_accept(w, err);
            return;
        }
        mcp_log(MCP_LOGL_ERROR, "rt: worker %u: accept: %s", w->index, strerror(err));
        return; /* level-triggered: the next loop iteration tries again */
    }
}

void rt_worker_resume_accept(rt_worker *w)
{
    if (!w->accept_paused || w->lfd < 0 || uv_is_closing((uv_handle_t *)&w->listener)) return;
    if (uv_poll_start(&w->listener, UV_READABLE, on_listener) == 0) w->accept_paused = false;
}

static void on_timer(uv_timer_t *t);

/* Arms the loop's timer for the earliest deadline, unless it is armed for it already. */
static void schedule(rt_worker *w)
{
    uint64_t next = rt_timers_next(&w->timers);
    if (next == w->armed_for) return;
    w->armed_for = next;
    if (next == UINT64_MAX) {
        uv_timer_stop(&w->timer);
        return;
    }
    uint64_t now = rt_now_ms();
    uv_update_time(&w->loop); /* the delay counts from now, not from the loop's cached time */
    uv_timer_start(&w->timer, on_timer, next > now ? next - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
    rt_worker *w = t->data;
    w->armed_for = UINT64_MAX;
    rt_timers_run(&w->timers, rt_now_ms());
    schedule(w);
}

static void on_tick(rt_timer *t, uint64_t now)
{
    rt_worker *w = (rt_worker *)(void *)((char *)t - offsetof(rt_worker, tick));
    if (now == RT_TIMER_DRAIN) return;
    rt_worker_resume_accept(w); /* fds may have come back in another worker or module */
    if (w->ws->cfg.on_tick) w->ws->cfg.on_tick(w, now, w->ws->cfg.ud);
    rt_timer_arm(&w->timers, t, now + w->ws->cfg.tick_ms);
}

void rt_worker_timer_arm(rt_worker *w, rt_timer *t, uint64_t due_ms)
{
    rt_timer_arm(&w->timers, t, due_ms);
    if (due_ms < w->armed_for) schedule(w);
}

void rt_worker_timer_cancel(rt_worker *w, rt_timer *t)
{
    rt_timer_cancel(&w->timers, t); /* the loop's timer may fire for nothing once */
}

static void run_msgs(rt_msg *m)
{
    while (m) {
        rt_msg *next = m->next;
        m->fn(m->arg);
        free(m);
        m = next;
    }
}

/* Runs the same-thread posts queued so far, in order; posts they make wait for the next run.
 * Returns whether more were queued meanwhile. Loop thread. */
static bool run_local(rt_worker *w)
{
    rt_local batch = w->local;
    w->local = w->running; /* the spare array (empty): posts made meanwhile go there */
    w->running = (rt_local){0};
    for (size_t i = 0; i < batch.n; i++) batch.v[i].fn(batch.v[i].arg);
    batch.n = 0;
    w->running = batch; /* the spare of the next run (run_local never nests) */
    return w->local.n > 0;
}

static void on_idle(uv_idle_t *h)
{
    rt_worker *w = h->data;
    if (!run_local(w)) uv_idle_stop(h);
}

/* A post from w's own thread: no lock, no wake-up (the idle handle keeps the loop from
 * sleeping in epoll until the posts ran). */
static int post_local(rt_worker *w, void (*fn)(void *arg), void *arg)
{
    if (w->closed) return -ECANCELED; /* written only by this thread */
    if (w->local.n == w->local.cap) {
        w->local.cap = w->local.cap ? 2 * w->local.cap : 16;
        w->local.v = mcp_xrealloc(w->local.v, w->local.cap * sizeof *w->local.v);
    }
    w->local.v[w->local.n++] = (rt_local_msg){fn, arg};
    if (w->local.n == 1) uv_idle_start(&w->idle, on_idle);
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    rt_worker *w = h->data;
    close(w->lfd);
    w->lfd = -1;
}

static void close_listener(rt_worker *w)
{
    if (!uv_is_closing((uv_handle_t *)&w->listener))
        uv_close((uv_handle_t *)&w->listener, on_listener_closed);
}

static void stop_accepting_msg(void *arg)
{
    close_listener(arg);
}

void rt_workers_stop_accepting(rt_workers *ws)
{
    for (unsigned i = 0; i < rt_workers_count(ws); i++) {
        rt_worker *w = rt_workers_get(ws, i);
        rt_worker_post(w, stop_accepting_msg, w);
    }
}

/* Calls each slot's on_stop once, in the order set; a slot set meanwhile is refused. */
static void stop_slots(rt_worker *w)
{
    w->slots_stopped = true;
    for (unsigned i = 0; i < w->nslots; i++) {
        rt_slot s = w->slots[i];
        if (s.on_stop) s.on_stop(w, s.data);
    }
    w->nslots = 0;
}

static void close_own_handles(rt_worker *w)
{
    close_listener(w);
    uv_close((uv_handle_t *)&w->timer, NULL);
    uv_close((uv_handle_t *)&w->async, NULL);
    uv_close((uv_handle_t *)&w->idle, NULL);
}

static void on_async(uv_async_t *a)
{
    rt_worker *w = a->data;
    uv_mutex_lock(&w->mu);
    rt_msg *m = w->head;
    w->head = w->tail = NULL;
    bool stop = w->stop_req && !w->closed;
    if (stop) w->closed = true; /* posts after this fail: nothing can slip past the drain */
    uv_mutex_unlock(&w->mu);
    run_msgs(m);
    if (!stop) return;
    run_local(w); /* posts taken before the close: after it, posts from here fail too */
    if (w->ws->cfg.on_stop) w->ws->cfg.on_stop(w, w->ws->cfg.ud);
    stop_slots(w);
    rt_timers_drain(&w->timers); /* entries release what they hold */
    close_own_handles(w);
}

static _Thread_local rt_worker *tl_current;

rt_worker *rt_worker_current(void)
{
    return tl_current;
}

static void close_leftover(uv_handle_t *h, void *arg)
{
    rt_worker *w = arg;
    if (uv_is_closing(h)) return;
    mcp_log(MCP_LOGL_WARN,
            "rt: worker %u: a %s handle was left open on the stopped loop; closing it (close it "
            "in the on_stop of mcp_loop_set)",
            w->index, uv_handle_type_name(uv_handle_get_type(h)));
    uv_close(h, NULL);
}

static void thread_main(void *arg)
{
    rt_worker *w = arg;
    tl_current = w;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    /* Every active handle is closed (the loop returned only after stop); an inactive one a
     * layer above forgot (a stopped timer) would make uv_loop_close fail: close it here, on
     * its own thread, so the loop can be closed and nothing of it leaks. */
    uv_walk(&w->loop, close_leftover, w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    tl_current = NULL;
}

/* --- setup and teardown ------------------------------------------------------------------ */

/* Initializes w's loop and handles around the listening socket fd (taken over). */
static int worker_init(rt_worker *w, int fd, unsigned tick_ms)
{
    if (uv_loop_init(&w->loop) || uv_mutex_init(&w->mu)) abort(); /* out of fds or memory */
    w->lfd = fd;
    int rc = uv_poll_init_socket(&w->loop, &w->listener, fd);
    if (rc) abort(); /* a fresh socket on a fresh loop: only out of memory */
    uv_async_init(&w->loop, &w->async, on_async);
    uv_idle_init(&w->loop, &w->idle);
    uv_timer_init(&w->loop, &w->timer);
    w->listener.data = w->async.data = w->timer.data = w->idle.data = w;
    rt_timers_init(&w->timers);
    rt_timer_init(&w->tick, on_tick);
    w->armed_for = UINT64_MAX;
    rc = uv_poll_start(&w->listener, UV_READABLE, on_listener);
    if (!rc) rt_worker_timer_arm(w, &w->tick, rt_now_ms() + tick_ms);
    return rc;
}

/* Frees a worker whose loop is not running: closes its handles and the loop. */
static void worker_free(rt_worker *w)
{
    if (!w) return;
    if (!w->closed) {
        close_own_handles(w);
        uv_run(&w->loop, UV_RUN_DEFAULT);
    }
    run_msgs(w->head);
    while (w->local.n) run_local(w); /* (none: a stopped loop takes no post) */
    free(w->local.v);
    free(w->running.v);
    rt_timers_drain(&w->timers);
    rt_timers_free(&w->timers);
    if (uv_loop_close(&w->loop)) fprintf(stderr, "libmcp: rt: worker loop still has handles\n");
    uv_mutex_destroy(&w->mu);
    free(w);
}

/* SO_REUSEPORT would let us bind beside another process that serves host:port (the kernel
 * then splits connections between the two). A bind without it fails with EADDRINUSE when a
 * socket listens there; SO_REUSEADDR keeps connections in TIME_WAIT from our own previous run
 * from failing it. Returns 0 or a negative errno. */
static int probe_free(const char *host, int port)
{
    struct sockaddr_storage ss;
    int rc = make_addr(host, port, &ss);
    if (rc) return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    socklen_t len =
        ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
                 bind(fd, (struct sockaddr *)&ss, len)
             ? -errno
             : 0;
    close(fd);
    return rc;
}

static int open_sockets(rt_workers *ws, int *fds)
{
    const char *host = ws->cfg.host ? ws->cfg.host : "127.0.0.1";
    int port = ws->cfg.port;
    if (port) {
        int rc = probe_free(host, port);
        if (rc) return rc;
    }
    for (unsigned i = 0; i < ws->n; i++) {
        fds[i] = listen_socket(host, port, ws->cfg.backlog);
        if (fds[i] < 0) return fds[i];
        if (i == 0) port = ws->port = bound_port(fds[0]);
        if (port < 0) return port;
    }
    return 0;
}

static void close_fds(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
}

static int start_threads(rt_workers *ws, int *fds)
{
    for (unsigned i = 0; i < ws->n; i++) {
        rt_worker *w = mcp_xcalloc(1, sizeof *w);
        w->index = i;
        w->ws = ws;
        ws->w[i] = w;
        int rc = worker_init(w, fds[i], ws->cfg.tick_ms);
        fds[i] = -1;
        if (rc) return rc;
        if (ws->cfg.on_start) ws->cfg.on_start(w, ws->cfg.ud);
    }
    sigset_t old; /* loop threads block async signals: a peer's reset is EPIPE, not SIGPIPE */
    rt_quiet_begin(&old);
    for (unsigned i = 0; i < ws->n; i++) {
        /* Running loops cannot be unwound from here; a process out of threads is dying. */
        if (uv_thread_create(&ws->w[i]->thread, thread_main, ws->w[i])) abort();
    }
    rt_quiet_end(&old);
    return 0;
}

int rt_workers_start(rt_workers **out, const rt_workers_config *cfg)
{
    rt_workers *ws = mcp_xcalloc(1, sizeof *ws);
    ws->cfg = *cfg;
    if (!ws->cfg.backlog) ws->cfg.backlog = 511;
    if (!ws->cfg.tick_ms) ws->cfg.tick_ms = 250;
    ws->n = cfg->nworkers ? cfg->nworkers : rt_cpu_count();
    ws->w = mcp_xcalloc(ws->n, sizeof *ws->w);
    int *fds = mcp_xcalloc(ws->n, sizeof *fds);
    for (unsigned i = 0; i < ws->n; i++) fds[i] = -1;
    int rc = open_sockets(ws, fds);
    *out = ws; /* before the threads run: their callbacks may read it */
    if (!rc) rc = start_threads(ws, fds);
    close_fds(fds, ws->n);
    free(fds);
    if (rc) *out = NULL;
    if (rc && !ws->w[0]) {
        free(ws->w);
        free(ws);
        return rc;
    }
    if (rc) {
        for (unsigned i = 0; i < ws->n; i++) {
            if (ws->w[i] && ws->cfg.on_exit) ws->cfg.on_exit(ws->w[i], ws->cfg.ud);
            worker_free(ws->w[i]);
        }
        free(ws->w);
        free(ws);
        return rc;
    }
    return 0;
}

void rt_workers_stop(rt_workers *ws)
{
    for (unsigned i = 0; i < ws->n; i++) {
        rt_worker *w = ws->w[i];
        uv_mutex_lock(&w->mu);
        w->stop_req = true;
        uv_mutex_unlock(&w->mu);
        uv_async_send(&w->async);
    }
    for (unsigned i = 0; i < ws->n; i++) uv_thread_join(&ws->w[i]->thread);
    for (unsigned i = 0; i < ws->n; i++) {
        if (ws->cfg.on_exit) ws->cfg.on_exit(ws->w[i], ws->cfg.ud);
        worker_free(ws->w[i]);
    }
    free(ws->w);
    free(ws);
}

int rt_worker_post(rt_worker *w, void (*fn)(void *arg), void *arg)
{
    if (tl_current == w) return post_local(w, fn, arg);
    rt_msg *m = mcp_xmalloc(sizeof *m);
    m->next = NULL;
    m->fn = fn;
    m->arg = arg;
    uv_mutex_lock(&w->mu);
    if (w->closed) {
        uv_mutex_unlock(&w->mu);
        free(m);
        return -ECANCELED;
    }
    if (w->tail)
        w->tail->next = m;
    else
        w->head = m;
    w->tail = m;
    uv_async_send(&w->async); /* under the lock: the handle cannot be closed meanwhile */
    uv_mutex_unlock(&w->mu);
    return 0;
}

/* --- per-worker slots ------------------------------------------------------------------------ */

static rt_slot *slot_find(const rt_worker *w, const void *key)
{
    for (unsigned i = 0; i < w->nslots; i++)
        if (w->slots[i].key == key) return (rt_slot *)&w->slots[i];
    return NULL;
}

void *rt_worker_slot_get(const rt_worker *w, const void *key)
{
    rt_slot *s = slot_find(w, key);
    return s ? s->data : NULL;
}

int rt_worker_slot_set(rt_worker *w, const void *key, void *data, rt_slot_stop_fn on_stop,
                       void **old)
{
    if (old) *old = NULL;
    if (w->slots_stopped) return -ECANCELED;
    rt_slot *s = slot_find(w, key);
    if (s && old) *old = s->data;
    if (!data) { /* removal: the later slots move down, keeping the order they were set in */
        if (s) {
            size_t i = (size_t)(s - w->slots);
            memmove(s, s + 1, (w->nslots - i - 1) * sizeof *s);
            w->nslots--;
        }
        return 0;
    }
    if (!s) {
        if (w->nslots == RT_WORKER_SLOTS) return -ENOSPC;
        s = &w->slots[w->nslots++];
        s->key = key;
    }
    s->data = data;
    s->on_stop = on_stop;
    return 0;
}

/* --- accessors ----------------------------------------------------------------------------- */

int rt_workers_port(const rt_workers *ws)
{
    return ws->port;
}
unsigned rt_workers_count(const rt_workers *ws)
{
    return ws->n;
}
rt_worker *rt_workers_get(rt_workers *ws, unsigned i)
{
    return ws->w[i];
}
uv_loop_t *rt_worker_loop(rt_worker *w)
{
    return &w->loop;
}
unsigned rt_worker_index(const rt_worker *w)
{
    return w->index;
}
void *rt_worker_data(const rt_worker *w)
{
    return w->data;
}
void rt_worker_set_data(rt_worker *w, void *data)
{
    w->data = data;
}
rt_counters *rt_worker_counters(rt_worker *w)
{
    return &w->counters;
}

static uint64_t load(const _Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void rt_workers_stats(const rt_workers *ws, rt_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < ws->n; i++) {
        const rt_counters *c = &ws->w[i]->counters;
        out->conns_open += load(&c->conns_open);
        out->conns_accepted += load(&c->conns_accepted);
        out->conns_refused += load(&c->conns_refused);
        out->requests += load(&c->requests);
        out->errors += load(&c->errors);
        out->accept_pauses += load(&c->accept_pauses);
    }
}
