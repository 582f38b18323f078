/* loop.h - libmcp lends its event loops to inline handlers: start I/O there, finish later.
 *
 * Streamable HTTP serves requests on worker threads, each running one libuv event loop. An
 * MCP_INLINE handler runs on that loop's thread (mcp_ctx_is_inline true), and may use the loop
 * itself: start a timer or a socket read on it and return without finishing the ctx; a later
 * callback on the same loop finishes it (mcp_ctx_finish, mcp_ctx_structured, mcp_ctx_tool_error).
 * No thread is held while the call waits, and the answer goes out from the loop with no thread
 * hop and no system call but the socket write. This is how a proxying tool (an HTTP client on
 * the worker's loop) costs about what a proxy does.
 *
 *     static void on_timer(uv_timer_t *t) {            // on the loop, later
 *         call *k = t->data;
 *         mcp_ctx_text(k->ctx, "done");
 *         mcp_ctx_finish(k->ctx);
 *         uv_close((uv_handle_t *)t, free_call);
 *     }
 *     static void h_wait(mcp_ctx *c, void *ud) {       // registered with MCP_INLINE
 *         mcp_loop *l = mcp_ctx_loop(c);
 *         if (!l) { ...block on this handler thread instead, or mcp_ctx_defer... }
 *         call *k = new_call(c);
 *         uv_timer_init(mcp_loop_uv(l), &k->timer);
 *         uv_timer_start(&k->timer, on_timer, 10, 0);
 *     }                                                 // returns; c stays unfinished
 *
 * Rules:
 * - Only libuv handles of the loop's own thread: everything of a loop (its uv_loop_t, the
 *   handles on it, the data of mcp_loop_get) is used on that thread alone. Other threads hand
 *   it work with mcp_loop_post.
 * - Cancellation: an mcp_ctx_on_cancel callback runs on the cancelling thread (maybe another
 *   loop's, maybe the one stopping the server) with libmcp's locks held; it may call
 *   mcp_loop_post (and nothing else of libmcp), whose fn then stops the I/O and finishes the
 *   ctx on the loop. fn and the call's own completion may race: keep the call's memory until
 *   both are done (e.g. a flag set by on_cancel before it posts, read after mcp_ctx_finish
 *   returns: after that return the ctx's on_cancel never runs again).
 * - Stopping: mcp_http_stop drains in-flight requests (drain_ms), then cancels what is left
 *   (on_cancel), then each loop runs what was posted to it, then the on_stop of each
 *   mcp_loop_set key, in the order set: close your handles there with uv_close. The loop runs
 *   until their close callbacks have run, then is closed; a handle still open then is closed
 *   by libmcp with a warning in the log. Posts are refused once the loop is stopping.
 *
 * A program that uses mcp_loop_uv links libuv itself (pkg-config libuv; libmcp is built on the
 * system's shared libuv, so both use the same one) and includes <uv.h>. Elsewhere (stdio, a
 * handler thread) mcp_ctx_loop is NULL and the handler works without a loop.
 *
 * This header is included by <mcp/mcp.h> (and includes it): either may be included. See
 * docs/guide.md, "Handlers that use the event loop", and docs/internals/runtime.md, "Posts". */
#ifndef MCP_LOOP_H
#define MCP_LOOP_H

#include <stdbool.h>

#include <mcp/mcp.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mcp_loop mcp_loop;
struct uv_loop_s;

/* The event loop of the I/O thread running c inline (an MCP_INLINE handler on an HTTP worker,
 * while mcp_ctx_is_inline(c) is true), or NULL (a handler thread, stdio, after mcp_ctx_defer).
 * The handler's thread, during its invocation. The loop outlives every ctx it served: it stops
 * only inside mcp_http_stop, after the drain. */
mcp_loop *mcp_ctx_loop(const mcp_ctx *c);

/* The libuv loop behind l (libmcp runs on libuv; a program that links libuv may open handles
 * on it), only ever used from l's own thread. Never NULL. Any thread may ask, l's thread
 * uses it. */
struct uv_loop_s *mcp_loop_uv(const mcp_loop *l);

/* True on l's own thread. Any thread. */
bool mcp_loop_is_current(const mcp_loop *l);

/* Runs fn(ud) on l's thread soon. Any thread; from l's own thread it costs no system call and
 * fn runs after the current callback returns (never re-entrantly, and before the loop waits
 * for I/O again). Posts from one thread run in the order posted. Returns 0; MCP_ESHUTDOWN
 * when l is stopping (fn will not be called: ud is still the caller's); MCP_EINVAL if l or fn
 * is NULL. Safe to call from an mcp_ctx_on_cancel callback. l must be a loop libmcp gave out
 * (mcp_ctx_loop) and its server not yet stopped (mcp_http_stop not returned). */
int mcp_loop_post(mcp_loop *l, void (*fn)(void *ud), void *ud);

/* Per-loop state for programs, by key (any unique address, e.g. &some_static). Returns the
 * data set for key on l, or NULL (none set, or not called on l's thread). l's thread. */
void *mcp_loop_get(const mcp_loop *l, const void *key);

/* Sets data for key on l, replacing what was set for key (whose on_stop is then not called).
 * At most 16 keys per loop. data NULL removes the key (its on_stop is not called). on_stop(l,
 * data), if not NULL, is called once on l's thread when the loop stops, after the transport
 * has drained its requests and before the loop is closed: close your libuv handles there
 * (uv_close) and free data (in the close callbacks); the loop runs until their close callbacks
 * have run. Returns 0; MCP_ENOSPC when l has 16 keys already; MCP_ESHUTDOWN once l's on_stop
 * callbacks have run (nothing set: data is still the caller's); MCP_EINVAL if l or key is
 * NULL or the caller is not on l's thread. l's thread. */
int mcp_loop_set(mcp_loop *l, const void *key, void *data,
                 void (*on_stop)(mcp_loop *l, void *data));

#ifdef __cplusplus
}
#endif

#endif
