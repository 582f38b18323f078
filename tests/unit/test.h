/* test.h - the unit-test harness: one executable per test file, run by CTest.
 *
 * A test file defines functions with TEST(name) and lists them in main() with RUN(name).
 * Assertions print both sides and the location; a failed assertion ends that test (not the
 * run) and the process exits non-zero if any test failed. The last line is the plain
 * "N passed, N failed" that CI reads. Unit tests may #include the .c they test. */
#ifndef MCP_TEST_H
#define MCP_TEST_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((unused)) static int t_passed, t_failed, t_cur_failed;
__attribute__((unused)) static jmp_buf t_jmp;
__attribute__((unused)) static const char *t_name;

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                                                  \
    do {                                                                                           \
        t_name = #name;                                                                            \
        t_cur_failed = 0;                                                                          \
        if (!setjmp(t_jmp)) test_##name();                                                         \
        if (t_cur_failed)                                                                          \
            t_failed++;                                                                            \
        else                                                                                       \
            t_passed++;                                                                            \
    } while (0)

#define T_FAIL(...)                                                                                \
    do {                                                                                           \
        fprintf(stderr, "FAIL %s (%s:%d): ", t_name, __FILE__, __LINE__);                          \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        t_cur_failed = 1;                                                                          \
        longjmp(t_jmp, 1);                                                                         \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) T_FAIL("CHECK(%s)", #cond);                                                   \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) T_FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);                            \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            T_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");  \
    } while (0)

#define CHECK_MEM(a, alen, b, blen)                                                                \
    do {                                                                                           \
        size_t al_ = (alen), bl_ = (blen);                                                         \
        if (al_ != bl_ || memcmp((a), (b), al_) != 0)                                              \
            T_FAIL("%s == %s: \"%.*s\" != \"%.*s\"", #a, #b, (int)al_, (const char *)(a),          \
                   (int)bl_, (const char *)(b));                                                   \
    } while (0)

/* substring check: haystack contains needle */
#define CHECK_CONTAINS(h, n)                                                                       \
    do {                                                                                           \
        const char *h_ = (h), *n_ = (n);                                                           \
        if (!h_ || !strstr(h_, n_))                                                                \
            T_FAIL("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_);                      \
    } while (0)

static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", t_passed, t_failed);
    return t_failed ? 1 : 0;
}

/* Reads a whole file into a malloc'd buffer; returns NULL if it cannot. */
static inline char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    p[n] = '\0';
    *len = (size_t)n;
    return p;
}

#endif
