/* test_spare.c - unit tests of the per-thread spare blocks (src/base/spare.c).
 *
 * A block given back is the next one taken on the same thread (not under AddressSanitizer,
 * where nothing is kept); a second one given back while one is kept is freed; another thread
 * has its own spares, freed when it exits (LeakSanitizer and the TSan build see the frees). */
#include "base/spare.c"

#include "test.h"

#include <pthread.h>

#ifdef SPARE_OFF
#define KEEPS 0
#else
#define KEEPS 1
#endif

TEST(same_thread_reuse)
{
    char *a = mcp_spare_take(MCP_SPARE_CTX, 8192);
    char *b = mcp_spare_take(MCP_SPARE_CTX, 8192);
    CHECK(a && b && a != b);
    memset(a, 1, 8192);
    memset(b, 2, 8192);
    mcp_spare_put(MCP_SPARE_CTX, a);
    mcp_spare_put(MCP_SPARE_CTX, b); /* one is kept already: b is freed */
    mcp_spare_put(MCP_SPARE_CTX, NULL);
    char *c = mcp_spare_take(MCP_SPARE_CTX, 8192);
    CHECK(c != NULL);
    CHECK(!KEEPS || c == a);
    /* the kinds are separate slots */
    char *s = mcp_spare_take(MCP_SPARE_STREAM, 512);
    mcp_spare_put(MCP_SPARE_STREAM, s);
    char *d = mcp_spare_take(MCP_SPARE_CTX, 8192); /* none kept: a new block */
    CHECK(d != c);
    char *s2 = mcp_spare_take(MCP_SPARE_STREAM, 512);
    CHECK(!KEEPS || s2 == s);
    free(s2);
    free(d);
    mcp_spare_put(MCP_SPARE_CTX, c); /* kept until the process ends (reachable from TLS) */
}

static void *thread_body(void *arg)
{
    void **out = arg;
    void *p = mcp_spare_take(MCP_SPARE_CTX, 8192);
    out[0] = p;
    mcp_spare_put(MCP_SPARE_CTX, p);
    out[1] = spares[MCP_SPARE_CTX]; /* its own slot; freed at its exit */
    return NULL;
}

TEST(other_thread_own_slot)
{
    void *mine = spares[MCP_SPARE_CTX];
    void *seen[2] = {0};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, thread_body, seen), 0);
    CHECK_INT(pthread_join(t, NULL), 0);
    CHECK(spares[MCP_SPARE_CTX] == mine);
    CHECK(KEEPS ? seen[1] == seen[0] : seen[1] == NULL);
}

int main(void)
{
    RUN(same_thread_reuse);
    RUN(other_thread_own_slot);
    return test_summary();
}
