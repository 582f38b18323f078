/* recorder.h - the recording mcp_sink that the engine's unit tests share: every output is
 * copied (MCP_OUT_END only counted) under a mutex, so handlers on other threads may send.
 * Define MAXOUT before including to keep more outputs. */
#ifndef MCP_TEST_RECORDER_H
#define MCP_TEST_RECORDER_H

#include "mcp/engine.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef MAXOUT
#define MAXOUT 512
#endif

typedef struct rec_out {
    char *data;
    mcp_out_kind kind;
    mcp_out_status status;
    void *tag;
    bool final;
} rec_out;

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static rec_out outs[MAXOUT];
static int nout;
static int nend; /* MCP_OUT_END outputs seen */

static inline void rec_send(void *ud, const mcp_out *o)
{
    (void)ud;
    pthread_mutex_lock(&rec_mu);
    if (o->kind == MCP_OUT_END) { /* a cancelled request's end: no message */
        nend++;
    } else if (nout < MAXOUT) {
        outs[nout].data = strndup(o->data, o->len);
        outs[nout].kind = o->kind;
        outs[nout].status = o->status;
        outs[nout].tag = o->tag;
        outs[nout].final = o->final;
        nout++;
    }
    pthread_mutex_unlock(&rec_mu);
}

static inline void rec_clear(void)
{
    pthread_mutex_lock(&rec_mu);
    for (int i = 0; i < nout; i++) free(outs[i].data);
    nout = 0;
    pthread_mutex_unlock(&rec_mu);
}

static inline int rec_count(void)
{
    pthread_mutex_lock(&rec_mu);
    int n = nout;
    pthread_mutex_unlock(&rec_mu);
    return n;
}

/* A legacy (2025-11-25) stdio connection to srv, initialized, its outputs recorded (exec: the
 * connection's executor, NULL to run handlers inline); the recorder is cleared after the handshake.
 */
static inline mcp_conn *rec_session(mcp_server *srv, mcp_exec_fn exec)
{
    mcp_conn_options o = {.mode = MCP_CONN_STDIO, .sink = {rec_send, NULL}, .exec = exec};
    mcp_conn *c = mcp_conn_new(srv, &o);
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
                       "\"name\":\"t\",\"version\":\"1\"}}}";
    const char *done = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    mcp_conn_handle(c, init, strlen(init), NULL, (void *)0x7a);
    mcp_conn_handle(c, done, strlen(done), NULL, (void *)0x7a);
    rec_clear();
    return c;
}

#endif
