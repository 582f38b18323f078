/* http_session.c - the session table of the legacy era.
 *
 * Sessions live in a hash table shared by the workers (an rwlock; lookups take the read side).
 * A session owns its engine conn, its POST streams that may still be resumed, and its
 * standalone GET stream. Sessions are refcounted: the table holds one reference, and so does
 * every stream of the session and every request that found it. Ending a session takes it out
 * of the table, closes its conn (no sink call after that) and ends its streams on their
 * workers. Any thread, but never with a session or stream lock held where noted. */
#include "http_internal.h"

#include "base/alloc.h"
#include "base/random.h"
#include "rt/clock.h"

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
    session_unref(s); /* the table's */
    return true;
}
