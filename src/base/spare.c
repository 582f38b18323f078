/* spare.c - per-thread spare blocks (spare.h): one slot per kind in thread-local storage. The
 * first block a thread keeps registers a pthread key whose destructor frees the thread's
 * blocks when it exits (the main thread's stay reachable from its TLS until the process ends). */
#include "base/spare.h"

#include "base/alloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define SPARE_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPARE_OFF 1
#endif
#endif

static _Thread_local void *spares[MCP_SPARE_KINDS];

void *mcp_spare_take(int kind, size_t size)
{
    void *p = spares[kind];
    if (!p) return mcp_xmalloc(size);
    spares[kind] = NULL;
    return p;
}

#ifdef SPARE_OFF
void mcp_spare_put(int kind, void *p)
{
    (void)kind;
    free(p);
}
#else
static _Thread_local bool registered;
static pthread_key_t exit_key;
static bool key_ok;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/* At thread exit: frees the exiting thread's spares (its TLS is still there). */
static void on_exit_free(void *unused)
{
    (void)unused;
    for (int k = 0; k < MCP_SPARE_KINDS; k++) {
        free(spares[k]);
        spares[k] = NULL;
    }
}

static void make_key(void)
{
    key_ok = pthread_key_create(&exit_key, on_exit_free) == 0;
}

/* Whether the calling thread may keep spares: its exit will free them. */
static bool thread_registered(void)
{
    if (registered) return true;
    pthread_once(&exit_once, make_key);
    registered = key_ok && pthread_setspecific(exit_key, &registered) == 0;
    return registered;
}

void mcp_spare_put(int kind, void *p)
{
    if (!p || spares[kind] || !thread_registered())
        free(p);
    else
        spares[kind] = p;
}
#endif
