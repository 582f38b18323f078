/* bench_json.c - our JSON parser and writer beside cJSON and jansson, in the same run.
 *
 * Three workloads: parsing a 250-byte MCP tools/call request; building and serializing a
 * typical tools/call result; parsing a ~1 MB document (objects, strings with escapes and
 * non-ASCII, integers, doubles). Each is timed over enough iterations to take ~100 ms, five
 * times; the median is reported as ns/op and MB/s, with ratios to ours. Run: make bench-json. */
#include "json/json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char SMALL[] =
    "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
    "\"arguments\":{\"message\":\"hello world, this is a test of the emergency broadcast "
    "system\",\"count\":3,\"flags\":[true,false,null],\"nested\":{\"a\":1.5,\"b\":"
    "\"x\\u00e9y\"}},\"_meta\":{\"progressToken\":\"tok-1\"}}}";

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef int (*bench_fn)(const char *doc, size_t len);

/* Median ns per call of fn over 5 runs of ~100 ms each. */
static double measure(bench_fn fn, const char *doc, size_t len)
{
    long iters = 1;
    for (;;) { /* calibrate */
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) fn(doc, len);
        if (now_ns() - t0 > 2e7) break;
        iters *= 2;
    }
    iters *= 5;
    double runs[5];
    for (int r = 0; r < 5; r++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) fn(doc, len);
        runs[r] = (now_ns() - t0) / (double)iters;
    }
    qsort(runs, 5, sizeof runs[0], cmp_double);
    return runs[2];
}

static char arena_block[64 * 1024];
volatile size_t sink;

/* bench_jansson.c: jansson's headers clash with ours, so it lives apart. */
int parse_jansson(const char *doc, size_t len);
int write_jansson(const char *doc, size_t len);

static int parse_ours(const char *doc, size_t len)
{
    mcp_arena a;
    mcp_arena_init(&a, arena_block, sizeof arena_block);
    json_value *v = json_parse(doc, len, &a, NULL, NULL);
    sink += v ? v->len : 0;
    mcp_arena_free(&a);
    return v != NULL;
}

static int parse_cjson(const char *doc, size_t len)
{
    cJSON *v = cJSON_ParseWithLength(doc, len);
    sink += v != NULL;
    cJSON_Delete(v);
    return v != NULL;
}

static const char TEXT[] = "hello world, this is a test of the emergency broadcast system";

static int write_ours(const char *doc, size_t len)
{
    char stack[512];
    mcp_buf b;
    mcp_buf_init(&b, stack, sizeof stack, 0);
    json_writer w;
    json_writer_init(&w, &b, false);
    json_write_obj_begin(&w);
    json_write_keyz(&w, "jsonrpc");
    json_write_strz(&w, "2.0");
    json_write_keyz(&w, "id");
    json_write_int(&w, 42);
    json_write_keyz(&w, "result");
    json_write_obj_begin(&w);
    json_write_keyz(&w, "content");
    json_write_arr_begin(&w);
    json_write_obj_begin(&w);
    json_write_keyz(&w, "type");
    json_write_strz(&w, "text");
    json_write_keyz(&w, "text");
    json_write_strz(&w, TEXT);
    json_write_obj_end(&w);
    json_write_arr_end(&w);
    json_write_keyz(&w, "isError");
    json_write_bool(&w, false);
    json_write_obj_end(&w);
    json_write_obj_end(&w);
    sink += b.len;
    mcp_buf_free(&b);
    return 1;
}

static int write_cjson(const char *doc, size_t len)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    cJSON_AddNumberToObject(r, "id", 42);
    cJSON *res = cJSON_AddObjectToObject(r, "result");
    cJSON *content = cJSON_AddArrayToObject(res, "content");
    cJSON *blk = cJSON_CreateObject();
    cJSON_AddStringToObject(blk, "type", "text");
    cJSON_AddStringToObject(blk, "text", TEXT);
    cJSON_AddItemToArray(content, blk);
    cJSON_AddFalseToObject(res, "isError");
    char *s = cJSON_PrintUnformatted(r);
    sink += strlen(s);
    free(s);
    cJSON_Delete(r);
    return 1;
}

/* A ~1 MB document: an array of records like a tools/list or a data-heavy tool result. */
static char *make_big(size_t *len)
{
    mcp_buf b;
    mcp_buf_init(&b, NULL, 0, 0);
    mcp_buf_puts(&b, "{\"tools\":[");
    for (int i = 0; b.len < 1000000; i++) {
        mcp_buf_printf(
            &b,
            "%s{\"name\":\"tool_%d\",\"title\":\"Tool n\\u00b0%d\",\"description\":"
            "\"Does thing %d with \\\"care\\\" \xc3\xa9t\xc3\xa9 \\n and more text to "
            "look like a real description of a tool\",\"inputSchema\":{\"type\":"
            "\"object\",\"properties\":{\"count\":{\"type\":\"integer\",\"minimum\":%d},"
            "\"ratio\":{\"type\":\"number\",\"default\":%d.25e-3}},\"required\":"
            "[\"count\"]},\"annotations\":{\"readOnlyHint\":%s,\"idempotentHint\":null}}",
            i ? "," : "", i, i, i, -i, i, (i & 1) ? "true" : "false");
    }
    mcp_buf_puts(&b, "]}");
    return mcp_buf_steal(&b, len);
}

static void row(const char *what, const char *lib, double ns, size_t bytes, double ours)
{
    printf("| %-28s | %-8s | %10.1f | %8.1f | %6.2fx |\n", what, lib, ns, (double)bytes / ns * 1e3,
           ns / ours);
}

int main(void)
{
    size_t big_len;
    char *big = make_big(&big_len);
    size_t small_len = sizeof SMALL - 1;
    if (!parse_ours(SMALL, small_len) || !parse_ours(big, big_len) || !parse_cjson(big, big_len) ||
        !parse_jansson(big, big_len)) {
        fprintf(stderr, "bench_json: a parser rejected the benchmark input\n");
        return 1;
    }
    printf("| workload                     | library  |      ns/op |     MB/s | vs ours |\n");
    printf("|------------------------------|----------|-----------:|---------:|--------:|\n");
    double o = measure(parse_ours, SMALL, small_len);
    char what[64];
    snprintf(what, sizeof what, "parse tools/call (%zu B)", small_len);
    row(what, "mcpd", o, small_len, o);
    row(what, "cJSON", measure(parse_cjson, SMALL, small_len), small_len, o);
    row(what, "jansson", measure(parse_jansson, SMALL, small_len), small_len, o);
    o = measure(write_ours, NULL, 0);
    row("build+write result", "mcpd", o, 151, o);
    row("build+write result", "cJSON", measure(write_cjson, NULL, 0), 151, o);
    row("build+write result", "jansson", measure(write_jansson, NULL, 0), 151, o);
    snprintf(what, sizeof what, "parse %.2f MB document", (double)big_len / 1e6);
    o = measure(parse_ours, big, big_len);
    row(what, "mcpd", o, big_len, o);
    row(what, "cJSON", measure(parse_cjson, big, big_len), big_len, o);
    row(what, "jansson", measure(parse_jansson, big, big_len), big_len, o);
    free(big);
    return 0;
}
