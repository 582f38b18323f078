/* fuzz_ptmpl.c - libFuzzer target for mcpd's prompt template compiler and renderer (ptmpl.c).
 *
 * The input is a template compiled against three declared arguments. A template that compiles
 * is rendered with the arguments absent, empty and given (the values are slices of the input,
 * so they may contain tags themselves), under a small output cap: rendering must stay within the
 * cap, emit only the two roles and only trimmed, non-empty messages, and emit nothing when it
 * refuses; a template that does not compile must carry "LINE:COLUMN: " before its reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpd/ptmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_ptmpl: %s\n", what);
        abort();
    }
}

typedef struct {
    size_t total, cap;
} tally;

static void on_message(const char *role, const char *text, size_t len, void *ud)
{
    tally *t = ud;
    check(!strcmp(role, "user") || !strcmp(role, "assistant"), "unknown role");
    check(len > 0, "empty message emitted");
    check(text[0] != ' ' && text[0] != '\n' && text[len - 1] != ' ' && text[len - 1] != '\n',
          "message not trimmed");
    t->total += len;
    check(t->total <= t->cap, "rendering passed its cap");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"a", "b.c", "long_name-1"};
    char err[256];
    ptmpl *t = ptmpl_compile((const char *)data, size, names, 3, err, sizeof err);
    if (!t) {
        unsigned line, col;
        check(sscanf(err, "%u:%u: ", &line, &col) == 2 && line >= 1 && col >= 1,
              "an error without its position");
        return 0;
    }
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *half = copy + size / 2;
    const char *sets[][3] = {{NULL, NULL, NULL}, {"", "", ""}, {copy, half, "x"}};
    for (size_t i = 0; i < 3; i++) {
        tally tl = {0, 4096};
        int rc = ptmpl_render(t, sets[i], tl.cap, on_message, &tl);
        check(rc == 0 || tl.total == 0, "a refused rendering emitted messages");
    }
    free(copy);
    ptmpl_free(t);
    return 0;
}
