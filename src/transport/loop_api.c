/* loop_api.c - the public mcp_loop API (include/mcp/loop.h) over the HTTP workers' loops.
 *
 * An mcp_loop is an rt_worker (src/rt/loop.c) seen from outside: the pointer is the worker's,
 * never dereferenced as anything else. The HTTP transport names each worker's loop to the
 * engine on the worker's thread (mcp_engine_set_loop, in http_current_ws), and the engine gives
 * it to inline handlers invoked there (mcp_ctx_loop). Posts are rt_worker_post (no system call
 * from the worker's own thread); per-loop state is the worker's slots, each holding a small
 * record with the program's data and on_stop, so the program's callback keeps its own type. */
#include "base/alloc.h"
#include "mcp/mcp.h"
#include "rt/loop.h"

#include <errno.h>
#include <stdlib.h>

typedef struct loop_slot {
    void *data;
    void (*on_stop)(mcp_loop *l, void *data);
} loop_slot;

static rt_worker *worker_of(const mcp_loop *l)
{
    return (rt_worker *)(void *)(mcp_loop *)l;
}

struct uv_loop_s *mcp_loop_uv(const mcp_loop *l)
{
    return rt_worker_loop(worker_of(l));
}

bool mcp_loop_is_current(const mcp_loop *l)
{
    return l && rt_worker_current() == worker_of(l);
}

int mcp_loop_post(mcp_loop *l, void (*fn)(void *ud), void *ud)
{
    if (!l || !fn) return MCP_EINVAL;
    return rt_worker_post(worker_of(l), fn, ud) ? MCP_ESHUTDOWN : 0;
}

void *mcp_loop_get(const mcp_loop *l, const void *key)
{
    if (!mcp_loop_is_current(l)) return NULL;
    loop_slot *s = rt_worker_slot_get(worker_of(l), key);
    return s ? s->data : NULL;
}

static void slot_stop(rt_worker *w, void *data)
{
    loop_slot *s = data;
    if (s->on_stop) s->on_stop((mcp_loop *)(void *)w, s->data);
    free(s);
}

int mcp_loop_set(mcp_loop *l, const void *key, void *data, void (*on_stop)(mcp_loop *l, void *data))
{
    if (!key || !mcp_loop_is_current(l)) return MCP_EINVAL;
    loop_slot *s = NULL;
    if (data) {
        s = mcp_xmalloc(sizeof *s);
        s->data = data;
        s->on_stop = on_stop;
    }
    void *old = NULL;
    int rc = rt_worker_slot_set(worker_of(l), key, s, slot_stop, &old);
    if (rc) {
        free(s);
        return rc == -ENOSPC ? MCP_ENOSPC : MCP_ESHUTDOWN;
    }
    free(old);
    return 0;
}
