/* replay.c - runs the fuzz corpora and saved crashers through the libFuzzer harnesses in an
 * ordinary build (gcc, ASan+UBSan, release, TSan), so `make test` re-checks every input that
 * ever found a bug, and every seed, without clang or libFuzzer.
 *
 * Each harness tests/fuzz/fuzz_NAME.c is compiled into this program with its
 * LLVMFuzzerTestOneInput renamed fuzz_one_NAME (CMakeLists.txt, fuzz_replay). With no arguments
 * the program feeds every regular file of MCP_FUZZ_DIR/corpus/NAME/ and
 * MCP_FUZZ_DIR/crashers/NAME/ to fuzz_one_NAME, in name order, and prints one line per harness.
 * A harness that finds a broken property calls abort(), and the sanitizers end the run on
 * their own reports, so reaching the end means every input passed. `fuzz_replay NAME FILE...`
 * runs only the given files through one harness (to debug a crash found by the fuzzer). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HARNESS(name) int fuzz_one_##name(const uint8_t *data, size_t size);
#define HARNESSES(X)                                                                               \
    X(json)                                                                                        \
    X(schema)                                                                                      \
    X(http)                                                                                        \
    X(engine)                                                                                      \
    X(frontmatter)                                                                                 \
    X(params)                                                                                      \
    X(ptmpl)                                                                                       \
    X(config)                                                                                      \
    X(yaml)                                                                                        \
    X(openapi)                                                                                     \
    X(base64)                                                                                      \
    X(httpe)                                                                                       \
    X(fsroot)                                                                                      \
    X(hclient)
HARNESSES(HARNESS)

typedef struct harness {
    const char *name;
    int (*one)(const uint8_t *data, size_t size);
} harness;

#define ENTRY(name) {#name, fuzz_one_##name},
static const harness harnesses[] = {HARNESSES(ENTRY)};
#define NHARNESSES (sizeof harnesses / sizeof *harnesses)

/* Reads the file at path into a malloc'd buffer of exactly its size (so ASan catches a read
 * past the input, as libFuzzer's copy does). Returns NULL when it cannot be read. */
static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    for (size_t k; b && (k = fread(b + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap) b = realloc(b, cap *= 2);
    }
    fclose(f);
    if (!b) abort();
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) abort();
    memcpy(exact, b, n);
    free(b);
    *size = n;
    return exact;
}

static int run_file(const harness *h, const char *path)
{
    size_t size = 0;
    uint8_t *data = read_all(path, &size);
    if (!data) {
        fprintf(stderr, "fuzz_replay: %s: cannot read %s\n", h->name, path);
        return -1;
    }
    h->one(data, size);
    free(data);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs every regular file of dir (which may be missing). Returns the number run, or -1. */
static long run_dir(const harness *h, const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0) return 0;
    long count = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (names[i]->d_name[0] != '.' && count >= 0) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            count = run_file(h, path) == 0 ? count + 1 : -1;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

static const harness *find(const char *name)
{
    for (size_t i = 0; i < NHARNESSES; i++)
        if (!strcmp(harnesses[i].name, name)) return &harnesses[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        const harness *h = find(argv[1]);
        if (!h) {
            fprintf(stderr, "fuzz_replay: no harness \"%s\"\n", argv[1]);
            return 2;
        }
        for (int i = 2; i < argc; i++)
            if (run_file(h, argv[i]) != 0) return 1;
        printf("fuzz_replay: %s: %d inputs passed\n", h->name, argc - 2);
        return 0;
    }
    long total = 0;
    for (size_t i = 0; i < NHARNESSES; i++) {
        const harness *h = &harnesses[i];
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/corpus/%s", MCP_FUZZ_DIR, h->name);
        long seeds = run_dir(h, dir);
        snprintf(dir, sizeof dir, "%s/crashers/%s", MCP_FUZZ_DIR, h->name);
        long crashers = run_dir(h, dir);
        if (seeds < 0 || crashers < 0) return 1;
        if (seeds == 0) {
            fprintf(stderr, "fuzz_replay: %s: no corpus in %s/corpus/%s\n", h->name, MCP_FUZZ_DIR,
                    h->name);
            return 1;
        }
        printf("fuzz_replay: %-12s %4ld corpus inputs, %3ld crashers passed\n", h->name, seeds,
               crashers);
        total += seeds + crashers;
    }
    printf("fuzz_replay: %ld inputs passed\n", total);
    return 0;
}
