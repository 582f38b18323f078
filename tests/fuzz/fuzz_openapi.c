/* fuzz_openapi.c - libFuzzer target for the openapi kind's document import (src/mcpd/openapi.c,
 * with yaml_json.c for YAML documents and http_engine.c for the request templates).
 *
 * The input is an OpenAPI document, JSON or YAML. It is written to a private temporary
 * directory next to a config that serves it ({"kind": "openapi", "spec": ...}, with a base URL
 * so that documents without servers still import), and the config is checked with
 * mcpd_check, the code of `mcpd --check-config`: every operation becomes a tool (its input
 * schema built from the parameters and request body, its request template compiled). The
 * answer must be "valid" (exit 0) or mistakes (exit 2), each on one line that starts with the
 * config's path; no document may crash, leak, hang or blow up the import. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcpd/mcpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_openapi: %s\n", what);
        abort();
    }
}

static char dir[64], config_path[128], spec_path[128];

/* tmpfs when there is one: a file rewritten for every input costs a disk discard on ext4 */
static const char *temp_base(void)
{
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

static void remove_temp(void)
{
    unlink(config_path);
    unlink(spec_path);
    rmdir(dir);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/fuzz_openapi.XXXXXX", temp_base());
    check(mkdtemp(dir) != NULL, "mkdtemp");
    atexit(remove_temp);
    snprintf(config_path, sizeof config_path, "%s/mcpd.json", dir);
    snprintf(spec_path, sizeof spec_path, "%s/spec", dir);
    FILE *f = fopen(config_path, "w");
    check(f != NULL, "writing the config");
    fprintf(f, "{\"tools\": [{\"kind\": \"openapi\", \"spec\": \"spec\", \"prefix\": \"p_\", "
               "\"base_url\": \"http://127.0.0.1:9/api\", \"headers\": {\"X-Key\": \"k\"}}]}\n");
    check(fclose(f) == 0, "writing the config");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (256u << 10)) return 0;
    if (!config_path[0]) setup();
    FILE *f = fopen(spec_path, "wb");
    check(f && fwrite(data, 1, size, f) == size && fclose(f) == 0, "writing the document");
    char *out = NULL;
    size_t olen = 0;
    FILE *o = open_memstream(&out, &olen);
    int rc = mcpd_check(config_path, o);
    fclose(o);
    check(rc == 0 || rc == 2, "--check-config exit status");
    size_t lines = 0, plen = strlen(config_path);
    for (const char *p = out; p < out + olen; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(out + olen - p));
        check(nl != NULL, "a line not ended by a newline");
        check((size_t)(nl - p) > plen && !memcmp(p, config_path, plen) && p[plen] == ':',
              "a line without the config's path");
        p = nl + 1;
    }
    check(rc == 0 ? lines == 1 && strstr(out, ": valid (") : lines >= 1,
          "the output does not match the exit status");
    free(out);
    return 0;
}
