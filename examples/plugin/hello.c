/* hello.c - an example mcpd plugin: three tools written in C, loaded by mcpd with dlopen.
 *
 *   greet      {"name": string, "times"?: 1..5}  ->  "<greeting>, <name>!" (times lines), with
 *              structured content {"greeting": ...}; the greeting comes from the plugin's
 *              config ({"greeting": "Hello"} by default)
 *   word_count {"text": string}  ->  {"words": n, "bytes": n}; text longer than 1 MiB is a
 *              tool error the model sees
 *   introduce  {}  ->  asks the user's name (elicitation: MCPD_PLUGIN_INPUT_REQUIRED), then
 *              "<greeting>, <name>!"
 *
 * Build: cc -shared -fPIC -I include -o libmcpd_hello.so examples/plugin/hello.c (CMake does it:
 * target mcpd_hello). Config entry:
 *   { "kind": "plugin", "name": "hello", "path": "libmcpd_hello.so",
 *     "config": { "greeting": "Bonjour" } }
 * It includes only mcp/ public headers; see mcp/mcpd_plugin.h for the contract. */
#include <mcp/mcpd_plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hello {
    char greeting[64];
} hello;

static int greet(mcp_ctx *ctx, const mcp_json *args, void *ud, char *err, size_t errsize)
{
    const hello *h = ud;
    const char *name = mcp_json_str(mcp_json_get(args, "name"), NULL);
    int64_t times = 1;
    mcp_json_int(mcp_json_get(args, "times"), &times);
    char line[256];
    for (int64_t i = 0; i < times; i++) {
        snprintf(line, sizeof line, "%s, %.150s!", h->greeting, name);
        mcp_ctx_text(ctx, line);
    }
    mcp_jw *w = mcp_jw_new();
    mcp_jw_object(w);
    mcp_jw_key(w, "greeting");
    mcp_jw_string(w, line);
    mcp_jw_object_end(w);
    const char *json = mcp_jw_text(w, NULL);
    int rc = json ? mcp_ctx_structured(ctx, json) : -1;
    mcp_jw_free(w);
    if (rc) {
        snprintf(err, errsize, "could not build the structured result");
        return MCPD_PLUGIN_BACKEND_ERROR;
    }
    return MCPD_PLUGIN_OK;
}

static int word_count(mcp_ctx *ctx, const mcp_json *args, void *ud, char *err, size_t errsize)
{
    size_t len = 0;
    const char *text = mcp_json_str(mcp_json_get(args, "text"), &len);
    if (len > (1u << 20)) {
        snprintf(err, errsize, "text is %zu bytes; this tool counts at most 1048576", len);
        return MCPD_PLUGIN_TOOL_ERROR;
    }
    long words = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' &&
            (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n' || text[i - 1] == '\t'))
            words++;
    char out[96];
    snprintf(out, sizeof out, "{\"words\":%ld,\"bytes\":%zu}", words, len);
    mcp_ctx_text(ctx, out);
    return mcp_ctx_structured(ctx, out) ? MCPD_PLUGIN_BACKEND_ERROR : MCPD_PLUGIN_OK;
}

/* Asks for the user's name (elicitation) before greeting: the first round queues the
 * question and returns MCPD_PLUGIN_INPUT_REQUIRED; mcpd calls again with the answer. */
static int introduce(mcp_ctx *ctx, const mcp_json *args, void *ud, char *err, size_t errsize)
{
    (void)args;
    const hello *h = ud;
    const mcp_json *a = mcp_ctx_input(ctx, "name");
    if (!a) {
        if (mcp_ctx_elicit(ctx, "name",
                           "{\"message\":\"What is your name?\",\"requestedSchema\":{\"type\":"
                           "\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
                           "\"required\":[\"name\"]}}")) {
            snprintf(err, errsize, "the client cannot answer questions (no elicitation)");
            return MCPD_PLUGIN_TOOL_ERROR;
        }
        return MCPD_PLUGIN_INPUT_REQUIRED;
    }
    const char *action = mcp_json_str(mcp_json_get(a, "action"), NULL);
    const char *name = mcp_json_str(mcp_json_get(mcp_json_get(a, "content"), "name"), NULL);
    if (!action || strcmp(action, "accept") || !name) {
        snprintf(err, errsize, "no name was given");
        return MCPD_PLUGIN_TOOL_ERROR;
    }
    char line[256];
    snprintf(line, sizeof line, "%s, %.150s!", h->greeting, name);
    mcp_ctx_text(ctx, line);
    return MCPD_PLUGIN_OK;
}

int mcpd_plugin_init(mcpd_plugin_host *host, const mcp_json *config, void **state, char *err,
                     size_t errsize)
{
    if (host->abi < MCPD_PLUGIN_ABI) {
        snprintf(err, errsize, "needs plugin ABI %d, the host has %u", MCPD_PLUGIN_ABI, host->abi);
        return -1;
    }
    const mcp_json *g = mcp_json_get(config, "greeting");
    size_t glen = 0;
    const char *greeting = mcp_json_str(g, &glen);
    if (g && (!greeting || glen == 0 || glen >= 64)) {
        snprintf(err, errsize, "config.greeting: expected a string of 1 to 63 bytes");
        return -1;
    }
    hello *h = calloc(1, sizeof *h);
    if (!h) return -1;
    snprintf(h->greeting, sizeof h->greeting, "%s", greeting ? greeting : "Hello");
    *state = h;
    const mcpd_plugin_tool tools[] = {
        {.name = "greet",
         .title = "Greet someone",
         .description = "Greets a person by name, up to five times.",
         .input_schema = "{\"type\":\"object\",\"required\":[\"name\"],"
                         "\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1,"
                         "\"maxLength\":100},\"times\":{\"type\":\"integer\",\"minimum\":1,"
                         "\"maximum\":5}},\"additionalProperties\":false}",
         .output_schema = "{\"type\":\"object\",\"required\":[\"greeting\"],"
                          "\"properties\":{\"greeting\":{\"type\":\"string\"}}}",
         .annotations = "{\"readOnlyHint\":true,\"openWorldHint\":false}",
         .call = greet,
         .ud = h},
        {.name = "word_count",
         .description = "Counts the words and bytes of a text.",
         .input_schema = "{\"type\":\"object\",\"required\":[\"text\"],"
                         "\"properties\":{\"text\":{\"type\":\"string\"}}}",
         .output_schema = "{\"type\":\"object\",\"required\":[\"words\",\"bytes\"],"
                          "\"properties\":{\"words\":{\"type\":\"integer\"},"
                          "\"bytes\":{\"type\":\"integer\"}}}",
         .annotations = "{\"readOnlyHint\":true}",
         .call = word_count,
         .ud = h},
        {.name = "introduce",
         .description = "Asks the user's name, then greets them.",
         .annotations = "{\"readOnlyHint\":true}",
         .call = introduce,
         .ud = h},
    };
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if (host->add_tool(host, &tools[i], err, errsize)) return -1; /* fini frees h */
    return 0;
}

void mcpd_plugin_fini(void *state)
{
    free(state);
}
