/* fuzz_config.c - libFuzzer target for mcpd's config loader: the code behind --check-config.
 *
 * The input is a config file (JSON with comments and trailing commas, ${ENV} references).
 * mcpd_config_parse reads, substitutes and checks it against the shipped schema: a refusal must
 * carry at least one mistake, and printing the mistakes (each located in the text with
 * mcp_json_locate when its pointer is found there) must give one "FILE:LINE:COLUMN: " or
 * "FILE: " line per mistake. Then, when its tools are only of the kinds whose configure touches
 * nothing outside the process (exec, http) and it names no resource directories or prompt
 * files, the file is written to a private temporary directory and checked whole with
 * mcpd_check, as `mcpd --check-config FILE` does: the kinds' configure runs on it, and the
 * answer must be "valid" (exit 0) or mistakes (exit 2), each on a line of its own. sql (which
 * creates databases), plugin (dlopen) and openapi (its own harness, fuzz_openapi) are left out. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcpd/config.h"
#include "mcpd/mcpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_config: %s\n", what);
        abort();
    }
}

/* Every line of out[0..len) starts with file followed by ':'. Returns the number of lines. */
static size_t check_lines(const char *out, size_t len, const char *file)
{
    size_t lines = 0, flen = strlen(file);
    for (const char *p = out; p < out + len; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(out + len - p));
        check(nl != NULL, "a mistake not ended by a newline");
        check((size_t)(nl - p) > flen && !memcmp(p, file, flen) && p[flen] == ':',
              "a mistake line without its file name");
        p = nl + 1;
    }
    return lines;
}

/* True if every tool of the parsed config is of a kind safe to configure here. */
static bool safe_to_configure(const mcp_json *root)
{
    if (mcp_json_get(root, "resources") || mcp_json_get(root, "prompts")) return false;
    const mcp_json *tools = mcp_json_get(root, "tools");
    for (size_t i = 0; i < mcp_json_len(tools); i++) {
        const char *k = mcp_json_str(mcp_json_get(mcp_json_at(tools, i), "kind"), NULL);
        if (!k || (strcmp(k, "exec") && strcmp(k, "http"))) return false;
    }
    return true;
}

static char temp_dir[64], temp_path[128];

/* tmpfs when there is one: a file rewritten for every input costs a disk discard on ext4 */
static const char *temp_base(void)
{
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

static void remove_temp(void)
{
    unlink(temp_path);
    rmdir(temp_dir);
}

static const char *temp_file(void)
{
    if (!temp_path[0]) {
        snprintf(temp_dir, sizeof temp_dir, "%s/fuzz_config.XXXXXX", temp_base());
        check(mkdtemp(temp_dir) != NULL, "mkdtemp");
        snprintf(temp_path, sizeof temp_path, "%s/mcpd.jsonc", temp_dir);
        atexit(remove_temp);
    }
    return temp_path;
}

static void check_whole(const char *text, size_t len)
{
    const char *path = temp_file();
    FILE *f = fopen(path, "wb");
    check(f && fwrite(text, 1, len, f) == len && fclose(f) == 0, "writing the temporary file");
    char *out = NULL;
    size_t olen = 0;
    FILE *o = open_memstream(&out, &olen);
    int rc = mcpd_check(path, o);
    fclose(o);
    check(rc == 0 || rc == 2, "--check-config exit status");
    size_t lines = check_lines(out, olen, path);
    check(rc == 0 ? lines == 1 && strstr(out, ": valid (") : lines >= 1,
          "--check-config output does not match its status");
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (256u << 10)) return 0;
    const char *text = (const char *)data;
    mcpd_errs *errs = mcpd_errs_new();
    mcpd_config *c = mcpd_config_parse("f.jsonc", text, size, errs);
    size_t n = mcpd_err_count(errs);
    check(c ? n == 0 : n > 0, "a refusal without a mistake, or an acceptance with one");
    char *out = NULL;
    size_t olen = 0;
    FILE *o = open_memstream(&out, &olen);
    mcpd_errs_print(errs, o, NULL, "f.jsonc", text, size);
    fclose(o);
    size_t lines = check_lines(out, olen, "f.jsonc");
    check(lines <= n + 1 && (n == 0) == (lines == 0), "mistakes and printed lines differ");
    free(out);
    bool whole = c && safe_to_configure(c->root);
    mcpd_config_free(c);
    mcpd_errs_free(errs);
    if (whole) check_whole(text, size);
    return 0;
}
