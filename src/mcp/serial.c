/* serial.c - actors for handlers that are not re-entrant (MCP_SERIAL).
 *
 * An entry registered with MCP_SERIAL owns a mailbox: a bounded FIFO of the calls waiting for
 * it and a flag saying whether a drainer is running. ctx_run_handler hands such calls here
 * instead of to the executor. The first call into an idle mailbox starts one drainer job on
 * the executor; the drainer takes one call at a time and runs its handler with no lock held
 * (the mailbox lock covers only the queue moves), until the mailbox is empty. So the handler
 * never runs twice at once, calls run in arrival order, and a slow call holds one pool thread,
 * not a lock others spin on. Past SERIAL_MAILBOX_MAX waiting calls, a call fails at once with
 * the engine's overloaded error (503 / -32000 over HTTP) naming the tool and the bound.
 *
 * The drainer holds a reference on the entry (the calls hold theirs), so an entry removed while
 * calls wait stays alive until the last of them ran. */
#include "mcp/ctx.h"

#include "base/alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct serial_box {
    pthread_mutex_t mu;
    mcp_ctx *head, *tail; /* waiting calls, linked through ctx->serial_next */
    unsigned n;
    bool running; /* a drainer job is queued or running */
};

serial_box *serial_box_new(void)
{
    serial_box *b = mcp_xcalloc(1, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    return b;
}

void serial_box_free(serial_box *b)
{
    if (!b) return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* Takes the next waiting call, or ends the drainer's turn (running = false) when none. */
static mcp_ctx *take(serial_box *b)
{
    pthread_mutex_lock(&b->mu);
    mcp_ctx *ctx = b->head;
    if (ctx) {
        b->head = ctx->serial_next;
        if (!b->head) b->tail = NULL;
        b->n--;
    } else {
        b->running = false;
    }
    pthread_mutex_unlock(&b->mu);
    return ctx;
}

static void drain(void *arg)
{
    reg_entry *e = arg;
    mcp_ctx *ctx;
    while ((ctx = take(e->serial))) ctx_invoke(ctx); /* no lock held across the handler */
    reg_release(e);
}

void serial_submit(mcp_ctx *ctx)
{
    reg_entry *e = ctx->entry;
    serial_box *b = e->serial;
    pthread_mutex_lock(&b->mu);
    if (b->n >= SERIAL_MAILBOX_MAX) {
        pthread_mutex_unlock(&b->mu);
        char msg[224];
        snprintf(msg, sizeof msg,
                 "'%.128s' runs one call at a time and %u calls are already waiting; retry later",
                 e->key, SERIAL_MAILBOX_MAX);
        ctx_fail_with(ctx, F_OVERLOADED, 0, NULL, msg);
        return;
    }
    ctx->serial_next = NULL;
    if (b->tail)
        b->tail->serial_next = ctx;
    else
        b->head = ctx;
    b->tail = ctx;
    b->n++;
    bool start = !b->running;
    b->running = true;
    pthread_mutex_unlock(&b->mu);
    if (!start) return;
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    mcp_conn *c = ctx->conn;
    /* ctx may run (and be freed) as soon as the drainer starts: only c and e from here */
    int rc = c->opts.exec ? c->opts.exec(c->opts.exec_ud, drain, e) : -1;
    if (!rc) return;
    if (!c->opts.exec) {
        drain(e);
        return;
    }
    /* the pool refused the drainer: every call waiting now fails (none can be running) */
    for (mcp_ctx *w; (w = take(b));)
        ctx_fail_with(w, F_OVERLOADED, 0, NULL, "server overloaded, retry later");
    reg_release(e);
}
