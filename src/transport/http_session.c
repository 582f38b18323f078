/* http_session.c - the session table of the legacy era.
 *
 * Sessions live in a hash table shared by the workers (an rwlock; lookups take the read side).
 * A session owns its engine conn, its POST streams that may still be resumed, and its
 * standalone GET stream. Sessions are refcounted: the table holds one reference, and so does
 * every stream of the session and every request that found it. Ending a session takes it out
 * of the table, closes its conn (no sink call after that) and ends its streams on their
 * workers. Any thread, but never with a session or stream lock held where noted.
 *
 * Time is deadline-driven, on the loops' deadline heaps (rt/timer.h): nothing walks the
 * sessions. Each session has an expiry entry on its home worker, armed for last activity +
 * session_idle_ms and re-armed lazily when it fires early (activity only stores a timestamp),
 * and, while requests are in flight, a tick entry that runs the engine's timeouts once a
 * second on the worker that started it. An idle session costs no CPU until it expires. */
#include "http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/random.h"
#include "rt/clock.h"
#include "rt/loop.h"

#include <stddef.h>

#include <stdlib.h>
#include <string.h>

static size_t sess_hash(const mcp_http *h, const char *id)
{
    uint64_t x = 1469598103934665603ull;
    for (const char *p = id; *p; p++) x = (x ^ (unsigned char)*p) * 1099511628211ull;
    return (size_t)(x & (h->nbuckets - 1));
}

/* Returns the live session with that id, with a reference, or NULL. Any thread. */
session *session_find(mcp_http *h, const char *id)
{
    if (!id || strlen(id) != 32) return NULL;
    pthread_rwlock_rdlock(&h->sess_lock);
    session *s = h->buckets[sess_hash(h, id)];
    while (s && strcmp(s->id, id)) s = s->hnext;
    if (s) session_ref(s);
    pthread_rwlock_unlock(&h->sess_lock);
    return s;
}

void session_ref(session *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void session_unref(session *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    pthread_mutex_destroy(&s->handle_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void on_expiry(rt_timer *t, uint64_t now);
static void on_tick(rt_timer *t, uint64_t now);

session *session_new(mcp_http *h)
{
    session *s = mcp_xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1); /* the creator's */
    s->h = h;
    unsigned char r[16];
    if (mcp_random_small(r, sizeof r) < 0) abort(); /* a guessable id is worse than none */
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        s->id[2 * i] = hex[r[i] >> 4];
        s->id[2 * i + 1] = hex[r[i] & 15];
    }
    s->id[32] = '\0';
    pthread_mutex_init(&s->handle_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    s->next_num = 1;
    atomic_init(&s->last_active, rt_now_ms());
    rt_timer_init(&s->expiry, on_expiry);
    rt_timer_init(&s->tick, on_tick);
    atomic_init(&s->ticking, false);
    return s;
}

void session_insert(mcp_http *h, session *s)
{
    session_ref(s); /* the table's */
    pthread_rwlock_wrlock(&h->sess_lock);
    size_t b = sess_hash(h, s->id);
    s->hnext = h->buckets[b];
    h->buckets[b] = s;
    pthread_rwlock_unlock(&h->sess_lock);
    atomic_fetch_add(&h->sessions_total, 1);
}

void session_request_done(session *s)
{
    atomic_fetch_sub_explicit(&s->active, 1, memory_order_relaxed);
    atomic_store_explicit(&s->last_active, rt_now_ms(), memory_order_relaxed);
}

/* Removes a finished POST stream from its session once nothing is left to resume. */
void session_drop_stream(session *s, hstream *st)
{
    bool found = false;
    pthread_mutex_lock(&s->lock);
    for (hstream **p = &s->streams; *p; p = &(*p)->snext)
        if (*p == st) {
            *p = st->snext;
            s->nstreams--;
            found = true;
            break;
        }
    pthread_mutex_unlock(&s->lock);
    if (found) hstream_unref(st);
}

void session_add_stream(session *s, hstream *st)
{
    pthread_mutex_lock(&s->lock);
    st->num = s->next_num++;
    /* kept for resumption: the session's list holds a reference */
    if (!s->ended) {
        hstream_ref(st);
        st->snext = s->streams;
        s->streams = st;
        s->nstreams++;
    }
    hstream *evict = NULL;
    if (s->nstreams > SESSION_MAX_STREAMS) { /* forget the oldest finished, undelivered one */
        hstream **pp = NULL;
        for (hstream **p = &s->streams; *p; p = &(*p)->snext) {
            pthread_mutex_lock(
                &(*p)->lock); /* final and res are the stream's (order: session, stream) */
            if ((*p)->final && !(*p)->res) pp = p;
            pthread_mutex_unlock(&(*p)->lock);
        }
        if (pp) {
            evict = *pp;
            *pp = evict->snext;
            s->nstreams--;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (evict) hstream_unref(evict);
}

hstream *session_stream(session *s, uint32_t num, bool *expired)
{
    hstream *st = NULL;
    pthread_mutex_lock(&s->lock);
    if (num == 0)
        st = s->get;
    else
        for (hstream *x = s->streams; x; x = x->snext)
            if (x->num == num) st = x;
    if (st) hstream_ref(st);
    *expired = !st && num > 0 && num < s->next_num; /* handed out, since forgotten */
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* Drops the oldest event of the session's stream whose oldest event is oldest. Returns false
 * when no stream keeps any. s->lock held. */
static bool drop_session_oldest(session *s)
{
    hstream *pick = NULL;
    uint64_t t = UINT64_MAX;
    for (hstream *x = s->streams; x; x = x->snext) {
        uint64_t o = hstream_oldest(x);
        if (o < t) t = o, pick = x;
    }
    if (s->get && hstream_oldest(s->get) < t) pick = s->get;
    return pick && hstream_prune(pick, 0, true) > 0;
}

void session_prune(mcp_http *h, session *s, uint64_t now)
{
    size_t kept = atomic_load_explicit(&s->retained, memory_order_relaxed);
    if (!kept || (kept <= SESSION_REPLAY_BYTES && now < s->next_prune)) return;
    s->next_prune = now + PRUNE_PERIOD_MS;
    uint64_t ttl = h->o.replay_ttl_ms, cutoff = now > ttl ? now - ttl : 0;
    pthread_mutex_lock(&s->lock);
    for (hstream *x = s->streams; x; x = x->snext) hstream_prune(x, cutoff, false);
    if (s->get) hstream_prune(s->get, cutoff, false);
    while (atomic_load_explicit(&s->retained, memory_order_relaxed) > SESSION_REPLAY_BYTES &&
           drop_session_oldest(s)) {
    }
    pthread_mutex_unlock(&s->lock);
}

hstream *session_get_stream(session *s)
{
    pthread_mutex_lock(&s->lock);
    if (!s->get && !s->ended) {
        hstream *g = hstream_new(s->h, s, NULL, NULL);
        g->legacy = true;
        g->standalone = true;
        g->num = 0;
        g->mode = MODE_SSE;
        g->expected = 0x7fffffff;
        g->accept_sse = true;
        g->accept_json = false;
        const char *v = mcp_conn_protocol_version(s->conn);
        g->priming = v && strcmp(v, "2025-11-25") >= 0;
        s->get = g;
    }
    hstream *st = s->get;
    if (st) hstream_ref(st);
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* Whether the session's standalone GET stream is open: a listening client is active (its
 * idle time then counts from now). Lock order: session, then stream. */
bool session_listening(session *s, uint64_t now)
{
    bool yes = false;
    pthread_mutex_lock(&s->lock);
    if (s->get) {
        pthread_mutex_lock(&s->get->lock);
        yes = s->get->res != NULL;
        pthread_mutex_unlock(&s->get->lock);
    }
    pthread_mutex_unlock(&s->lock);
    if (yes) atomic_store_explicit(&s->last_active, now, memory_order_relaxed);
    return yes;
}

/* ---- timers ---------------------------------------------------------------------------------- */

static bool session_ended(session *s)
{
    pthread_mutex_lock(&s->lock);
    bool ended = s->ended;
    pthread_mutex_unlock(&s->lock);
    return ended;
}

void session_start_expiry(wstate *ws, session *s)
{
    s->home = ws;
    session_ref(s); /* the armed entry's */
    uint64_t last = atomic_load_explicit(&s->last_active, memory_order_relaxed);
    rt_worker_timer_arm(ws->w, &s->expiry, last + s->h->o.session_idle_ms);
    if (atomic_load_explicit(&s->retained, memory_order_relaxed)) session_watch(ws, s);
}

/* The idle deadline passed, or so it seemed when the entry was armed: ends s if it has been
 * idle for session_idle_ms (no request in flight, no client listening), else re-arms for the
 * real deadline. Home loop thread. */
static void on_expiry(rt_timer *t, uint64_t now)
{
    session *s = (session *)(void *)((char *)t - offsetof(session, expiry));
    mcp_http *h = s->h;
    if (now == RT_TIMER_DRAIN || session_ended(s)) {
        session_unref(s);
        return;
    }
    uint64_t idle = h->o.session_idle_ms;
    uint64_t last = atomic_load_explicit(&s->last_active, memory_order_relaxed);
    uint64_t due;
    if (atomic_load(&s->active) > 0 || session_listening(s, now))
        due = now + idle; /* busy: its last request's end (or the stream's) starts the clock */
    else if (now < last + idle)
        due = last + idle;
    else
        due = 0;
    if (due) {
        rt_worker_timer_arm(s->home->w, t, due);
        return;
    }
    if (session_end(h, s)) {
        atomic_fetch_add(&h->sessions_expired, 1);
        mcp_log(MCP_LOGL_DEBUG, "http: session %.8s... expired", s->id);
    }
    session_unref(s); /* the entry's */
}

static void cancel_expiry(session *s)
{
    if (!rt_timer_armed(&s->expiry)) return; /* fired already: its callback saw the end */
    rt_worker_timer_cancel(s->home->w, &s->expiry);
    session_unref(s); /* the entry's */
}

static void cancel_expiry_msg(void *arg)
{
    session *s = arg;
    cancel_expiry(s);
    session_unref(s); /* the message's */
}

/* After s ended: its expiry entry goes at once rather than at its deadline (up to
 * session_idle_ms away), on its home loop. Any thread. */
static void stop_expiry(session *s)
{
    if (!s->home) return;
    if (rt_worker_current() == s->home->w) {
        cancel_expiry(s);
        return;
    }
    session_ref(s); /* the message's */
    /* a worker that is stopping drains its heap instead (the entry's callback unrefs) */
    if (rt_worker_post(s->home->w, cancel_expiry_msg, s)) session_unref(s);
}

/* Ticks s's conn (with tick; else only looks) if s is still in the table (under the table's
 * read lock: session_end takes it out, with the write lock, before closing the conn). Returns
 * whether requests are still in flight. */
static bool tick_live(session *s, uint64_t now, bool tick)
{
    mcp_http *h = s->h;
    bool busy = false;
    pthread_rwlock_rdlock(&h->sess_lock);
    session *x = h->buckets[sess_hash(h, s->id)];
    while (x && x != s) x = x->hnext;
    if (x) {
        if (tick) {
            mcp_conn_tick(s->conn, now);
            session_prune(h, s, now);
        }
        busy = mcp_conn_inflight(s->conn) > 0 ||
               atomic_load_explicit(&s->retained, memory_order_relaxed) > 0;
    }
    pthread_rwlock_unlock(&h->sess_lock);
    return busy;
}

static void arm_tick(wstate *ws, session *s, uint64_t now)
{
    s->tick_ws = ws;
    rt_worker_timer_arm(ws->w, &s->tick, now + SESSION_TICK_MS);
}

void session_watch(wstate *ws, session *s)
{
    if (atomic_load_explicit(&s->ticking, memory_order_relaxed) ||
        atomic_exchange(&s->ticking, true))
        return;     /* another worker's entry runs (or is about to) */
    session_ref(s); /* the entry's */
    arm_tick(ws, s, rt_now_ms());
}

static void arm_tick_msg(void *arg)
{
    session *s = arg;
    arm_tick(s->home, s, rt_now_ms()); /* the message's reference is now the entry's */
}

void session_watch_any(session *s)
{
    if (atomic_load_explicit(&s->ticking, memory_order_relaxed)) return;
    if (!s->home || atomic_exchange(&s->ticking, true)) return;
    session_ref(s);
    if (rt_worker_post(s->home->w, arm_tick_msg, s)) { /* stopping: nothing to prune for */
        atomic_store(&s->ticking, false);
        session_unref(s);
    }
}

/* Runs the engine's timeouts of a session with requests in flight and re-arms while some
 * remain. Loop thread of s->tick_ws. */
static void on_tick(rt_timer *t, uint64_t now)
{
    session *s = (session *)(void *)((char *)t - offsetof(session, tick));
    wstate *ws = s->tick_ws;
    if (now != RT_TIMER_DRAIN && tick_live(s, now, true)) {
        arm_tick(ws, s, now);
        return;
    }
    atomic_store(&s->ticking, false);
    /* a request that came in on another worker between the look and the store saw ticking
     * set and armed nothing: look again, and keep the entry if one did */
    if (now != RT_TIMER_DRAIN && tick_live(s, now, false) && !atomic_exchange(&s->ticking, true)) {
        arm_tick(ws, s, now);
        return;
    }
    session_unref(s); /* the entry's */
}

static bool table_remove(mcp_http *h, session *s)
{
    bool in_table = false;
    pthread_rwlock_wrlock(&h->sess_lock);
    for (session **p = &h->buckets[sess_hash(h, s->id)]; *p; p = &(*p)->hnext)
        if (*p == s) {
            *p = s->hnext;
            in_table = true;
            break;
        }
    pthread_rwlock_unlock(&h->sess_lock);
    return in_table;
}

/* Ends a session: out of the table (if still there), conn closed, streams ended. Any thread
 * but never with a session or stream lock held. Returns false if it was already ended. */
bool session_end(mcp_http *h, session *s)
{
    if (!table_remove(h, s)) return false;
    atomic_fetch_sub(&h->nsessions, 1);
    mcp_conn_close(s->conn); /* no sink call after this */
    pthread_mutex_lock(&s->lock);
    s->ended = true;
    hstream *list = s->streams, *get = s->get;
    s->streams = NULL;
    s->get = NULL;
    s->nstreams = 0;
    pthread_mutex_unlock(&s->lock);
    while (list) {
        hstream *n = list->snext;
        pthread_mutex_lock(&list->lock);
        if (list->counted) atomic_fetch_sub(&s->active, 1);
        list->counted = false;
        list->final = true;
        pthread_mutex_unlock(&list->lock);
        hstream_end_async(list);
        hstream_unref(list);
        list = n;
    }
    if (get) {
        hstream_end_async(get);
        hstream_unref(get);
    }
    stop_expiry(s);
    session_unref(s); /* the table's */
    return true;
}
