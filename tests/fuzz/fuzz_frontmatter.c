/* fuzz_frontmatter.c - libFuzzer target for the SKILL.md frontmatter reader (libyaml + our walk).
 *
 * The input is prefixed with "---\n" when it does not start with it, so that most inputs reach
 * libyaml, then read. Whatever is accepted must be one JSON object that parses again, with a
 * name and a description; whatever is refused must say why in a "SKILL.md: " message. The
 * limits are the real ones: the reader must refuse deep, wide or huge inputs quickly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "json/json.h"
#include "mcp/ext/frontmatter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_frontmatter: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (128u << 10)) return 0;
    bool framed = size >= 4 && !memcmp(data, "---\n", 4);
    char *md = malloc(size + 5);
    size_t len = 0;
    if (!framed) memcpy(md, "---\n", 4), len = 4;
    memcpy(md + len, data, size);
    len += size;
    mcp_buf out;
    mcp_buf_init(&out, NULL, 0, 0);
    fm_result r = {NULL, NULL};
    char err[256] = "";
    int rc = fm_parse(md, len, &out, &r, err, sizeof err);
    if (rc) {
        check(!strncmp(err, "SKILL.md: ", 10), "a refusal without a reason");
    } else {
        check(r.name && r.description, "accepted without name and description");
        mcp_arena a;
        mcp_arena_init(&a, NULL, 0);
        json_error je;
        const json_value *v = json_parse(out.data, out.len, &a, NULL, &je);
        check(v && v->type == JSON_OBJECT, "accepted frontmatter is not a JSON object");
        mcp_arena_free(&a);
    }
    free(r.name);
    free(r.description);
    mcp_buf_free(&out);
    free(md);
    return 0;
}
