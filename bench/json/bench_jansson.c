/* bench_jansson.c - the jansson side of bench_json.c, in its own file because jansson's
 * header defines JSON_OBJECT and friends, as ours does. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

extern volatile size_t sink;
int parse_jansson(const char *doc, size_t len);
int write_jansson(const char *doc, size_t len);

static const char TEXT[] = "hello world, this is a test of the emergency broadcast system";

int parse_jansson(const char *doc, size_t len)
{
    json_t *v = json_loadb(doc, len, JSON_REJECT_DUPLICATES, NULL);
    sink += v != NULL;
    json_decref(v);
    return v != NULL;
}

int write_jansson(const char *doc, size_t len)
{
    json_t *r = json_pack("{s:s,s:i,s:{s:[{s:s,s:s}],s:b}}", "jsonrpc", "2.0", "id", 42, "result",
                          "content", "type", "text", "text", TEXT, "isError", 0);
    char *s = json_dumps(r, JSON_COMPACT);
    sink += strlen(s);
    free(s);
    json_decref(r);
    return 1;
}
