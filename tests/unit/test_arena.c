/* test_arena.c - arena and buffer: alignment, big allocations, reset reuse, caps. */
#include "test.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"

#include <unistd.h>

#include <stdint.h>

TEST(arena_alignment_and_growth)
{
    mcp_arena a;
    char stack[100];
    mcp_arena_init(&a, stack, sizeof stack);
    for (int i = 1; i < 5000; i++) {
        char *p = mcp_arena_alloc(&a, (size_t)(i % 97) + 1);
        CHECK(((uintptr_t)p & 15) == 0);
        memset(p, 0xab, (size_t)(i % 97) + 1);
    }
    char *big = mcp_arena_alloc(&a, 1 << 22);
    memset(big, 1, 1 << 22);
    char *small = mcp_arena_alloc(&a, 8);
    CHECK(small != NULL);
    mcp_arena_reset(&a);
    char *again = mcp_arena_alloc(&a, 16);
    CHECK(again != NULL);
    mcp_arena_free(&a);
}

TEST(arena_strndup)
{
    mcp_arena a;
    mcp_arena_init(&a, NULL, 0);
    char *s = mcp_arena_strndup(&a, "hello world", 5);
    CHECK_STR(s, "hello");
    s = mcp_arena_strndup(&a, "", 0);
    CHECK_STR(s, "");
    mcp_arena_free(&a);
}

TEST(arena_owns)
{
    char stack[256], other = 0;
    mcp_arena a;
    mcp_arena_init(&a, stack, sizeof stack);
    char *s = mcp_arena_strndup(&a, "small", 5);
    char *big = mcp_arena_alloc(&a, 100000); /* a heap block of its own */
    char *mid = mcp_arena_alloc(&a, 3000);
    CHECK(mcp_arena_owns(&a, s));
    CHECK(mcp_arena_owns(&a, big) && mcp_arena_owns(&a, big + 99999));
    CHECK(mcp_arena_owns(&a, mid));
    CHECK(!mcp_arena_owns(&a, &other));
    CHECK(!mcp_arena_owns(&a, "literal"));
    mcp_arena_free(&a);
}

TEST(buf_cap_overflow_is_sticky)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 10);
    mcp_buf_append(&b, "12345", 5);
    CHECK(!b.overflow);
    mcp_buf_append(&b, "123456", 6);
    CHECK(b.overflow);
    CHECK_INT(b.len, 5);
    mcp_buf_putc(&b, 'x');
    CHECK_INT(b.len, 6);
    mcp_buf_free(&b);
}

TEST(buf_stack_then_heap)
{
    char stack[8];
    mcp_buf b;
    mcp_buf_init(&b, stack, sizeof stack, 0);
    mcp_buf_puts(&b, "abcdefgh");
    CHECK(b.data == stack);
    mcp_buf_printf(&b, "%d-%s", 42, "zz");
    CHECK(b.owned);
    size_t n;
    char *s = mcp_buf_steal(&b, &n);
    CHECK_STR(s, "abcdefgh42-zz");
    CHECK_INT(n, 13);
    free(s);
}

TEST(buf_steal_at_cap_is_terminated)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 4);
    mcp_buf_puts(&b, "abcd");
    mcp_buf_puts(&b, "e"); /* refused: over the cap */
    CHECK(b.overflow);
    size_t n;
    char *s = mcp_buf_steal(&b, &n);
    CHECK_STR(s, "abcd");
    CHECK_INT(n, 4);
    free(s);
}

TEST(buf_put_numbers)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    mcp_buf_put_u64(&b, 0);
    mcp_buf_putc(&b, ' ');
    mcp_buf_put_u64(&b, UINT64_MAX);
    mcp_buf_putc(&b, ' ');
    mcp_buf_put_i64(&b, INT64_MIN);
    mcp_buf_putc(&b, ' ');
    mcp_buf_put_i64(&b, -7);
    mcp_buf_putc(&b, ' ');
    mcp_buf_put_hex(&b, 0);
    mcp_buf_putc(&b, ' ');
    mcp_buf_put_hex(&b, 0x1f0a);
    mcp_buf_putc(&b, ' ');
    mcp_buf_put_hex(&b, UINT64_MAX);
    mcp_buf_putc(&b, '\0');
    CHECK_STR(b.data, "0 18446744073709551615 -9223372036854775808 -7 0 1f0a ffffffffffffffff");
    mcp_buf_free(&b);
    mcp_buf_init(&b, NULL, 0, 3); /* the cap holds for them too */
    mcp_buf_put_u64(&b, 1234);
    CHECK(b.overflow && b.len == 0);
    mcp_buf_free(&b);
}

/* Runs mcp_log with stderr redirected to a pipe; returns what was written. */
static size_t capture_log(int level, const char *msg, char *out, size_t size)
{
    int fds[2], saved = dup(2);
    CHECK(pipe(fds) == 0);
    dup2(fds[1], 2);
    mcp_log(level, "%s", msg);
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, size - 1);
    close(fds[0]);
    out[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

TEST(log_one_line_per_event_and_level_filter)
{
    char out[2048];
    mcp_log_set_name("t");
    mcp_log_set_level(MCP_LOG_INFO);
    capture_log(MCP_LOGL_WARN, "two\nlines\r", out, sizeof out);
    CHECK_STR(out, "t: warn: two lines \n");
    CHECK_INT(capture_log(MCP_LOGL_DEBUG, "dropped", out, sizeof out), 0);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    size_t n = capture_log(MCP_LOGL_ERROR, big, out, sizeof out);
    CHECK(n <= 1024 && n > 100); /* truncated to one bounded line */
    CHECK(out[n - 1] == '\n');
    /* no name set: the program's own */
    mcp_log_set_name(NULL);
    capture_log(MCP_LOGL_INFO, "hi", out, sizeof out);
    CHECK_STR(out, "test_arena: info: hi\n");
    mcp_log_set_level(MCP_LOG_WARNING);
    CHECK_INT(capture_log(MCP_LOGL_INFO, "dropped", out, sizeof out), 0);
    mcp_log_set_level(MCP_LOG_INFO);
}

static char cb_msg[128];
static mcp_log_level cb_level;
static void *cb_ud;

static void log_cb(mcp_log_level level, const char *msg, void *ud)
{
    snprintf(cb_msg, sizeof cb_msg, "%s", msg);
    cb_level = level;
    cb_ud = ud;
}

TEST(log_callback_gets_the_message_and_its_level)
{
    char out[256];
    CHECK_INT(mcp_log_set_callback(log_cb, out), 0);
    CHECK_INT(capture_log(MCP_LOGL_WARN, "a\nb", out, sizeof out), 0); /* not on stderr */
    CHECK_STR(cb_msg, "a b");
    CHECK_INT(cb_level, MCP_LOG_WARNING);
    CHECK(cb_ud == out);
    capture_log(MCP_LOGL_ERROR, "e", out, sizeof out);
    CHECK_INT(cb_level, MCP_LOG_ERROR);
    CHECK_INT(mcp_log_set_callback(NULL, NULL), 0);
    mcp_log_set_name("t");
    capture_log(MCP_LOGL_INFO, "back", out, sizeof out);
    CHECK_STR(out, "t: info: back\n");
}

int main(void)
{
    RUN(arena_alignment_and_growth);
    RUN(arena_strndup);
    RUN(arena_owns);
    RUN(buf_cap_overflow_is_sticky);
    RUN(buf_stack_then_heap);
    RUN(buf_steal_at_cap_is_terminated);
    RUN(buf_put_numbers);
    RUN(log_one_line_per_event_and_level_filter);
    RUN(log_callback_gets_the_message_and_its_level);
    return test_summary();
}
