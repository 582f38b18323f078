/* fuzz_yaml.c - libFuzzer target for mcpd's YAML to JSON conversion (src/mcpd/yaml_json.c),
 * through which OpenAPI documents written in YAML are read.
 *
 * Whatever is converted must be one JSON value that parses (YAML mappings may repeat a key,
 * which JSON's parser is told to allow here; the importer refuses it later with a position);
 * whatever is refused must say why. Anchors and aliases are always refused (no "billion
 * laughs"), so the output can never be much larger than the input: the harness checks a
 * generous bound on that too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpd/yaml_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_yaml: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (256u << 10)) return 0;
    char err[256] = "";
    char *json = mcpd_yaml_to_json((const char *)data, size, err, sizeof err);
    if (!json) {
        check(err[0] != '\0', "a refusal without a reason");
        return 0;
    }
    size_t n = strlen(json);
    check(n <= 16 * size + 64, "the JSON is far larger than the YAML");
    mcp_json_error je;
    mcp_json_doc *d = mcp_json_parse(json, n, MCP_JSON_DUPLICATE_KEYS, &je);
    if (!d) fprintf(stderr, "fuzz_yaml: %s at %zu in %s\n", je.message, je.offset, json);
    check(d != NULL, "the JSON does not parse");
    mcp_json_doc_free(d);
    free(json);
    return 0;
}
