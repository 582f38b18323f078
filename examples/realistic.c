/* realistic.c - a server as a libmcp user writes one: typed arguments (integer, array, object),
 * structured output checked against an output schema, a resource template, a prompt with
 * completion, a tool that blocks, and stdio and Streamable HTTP from one binary, at once if
 * asked. Only <mcp/...> headers. docs/guide.md walks through it; examples/ts/realistic.mjs is
 * the same server written with the TypeScript SDK (the guide compares their lengths).
 *
 *   realistic                         stdio (a client starts the process)
 *   realistic --listen 127.0.0.1:8000 Streamable HTTP on http://127.0.0.1:8000/mcp
 *   realistic --stdio --listen ...    both at once */
#include <mcp/json.h>
#include <mcp/mcp.h>

#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const notes[][2] = {
    {"groceries", "Milk, eggs, coffee."}, {"garden", "Plant tulips in October."}, {NULL, NULL}};

static const char *note_text(const char *id)
{
    for (int i = 0; id && notes[i][0]; i++)
        if (!strcmp(notes[i][0], id)) return notes[i][1];
    return NULL;
}

/* forecast: an integer with a range, an array of choices, an optional object; the answer is
 * structured content that the output schema describes. */
static void forecast(mcp_ctx *c, void *ud)
{
    int64_t days = mcp_ctx_arg_int(c, "days", 3);
    const mcp_json *metrics = mcp_ctx_arg(c, "metrics"), *at = mcp_ctx_arg(c, "at");
    double lat = 45;
    mcp_json_double(mcp_json_get(at, "lat"), &lat); /* an object argument's member */
    int64_t base = (int64_t)lround(25 - fabs(lat) / 3);
    mcp_jw *w = mcp_jw_new();
    mcp_jw_object(w);
    mcp_jw_key(w, "city");
    mcp_jw_string(w, mcp_ctx_arg_str(c, "city"));
    if (at) mcp_jw_key(w, "at"), mcp_jw_value(w, at); /* copied as given */
    mcp_jw_key(w, "days");
    mcp_jw_array(w);
    for (int64_t d = 0; d < days; d++) {
        mcp_jw_object(w);
        mcp_jw_key(w, "day");
        mcp_jw_int(w, d + 1);
        size_t n = mcp_json_len(metrics);
        for (size_t i = 0; i < (n ? n : 1); i++) { /* default: temp only */
            mcp_jw_key(w, n ? mcp_json_str(mcp_json_at(metrics, i), NULL) : "temp");
            mcp_jw_int(w, base + d + (int64_t)i * 3);
        }
        mcp_jw_object_end(w);
    }
    mcp_jw_array_end(w);
    mcp_jw_object_end(w);
    mcp_ctx_structured_jw(c, w); /* a mistake in w would end the call with -32603, logged */
    mcp_jw_free(w);
    mcp_ctx_finish(c);
}

/* stats: the mean of numbers. Its bug is left in on purpose: for an empty list the text says
 * "mean":nan, which is not JSON. libmcp does not let that pass as a result: the client gets
 * -32603 naming the tool, and the log says why. */
static void stats(mcp_ctx *c, void *ud)
{
    const mcp_json *v = mcp_ctx_arg(c, "values");
    double sum = 0, x;
    for (size_t i = 0; i < mcp_json_len(v); i++)
        if (mcp_json_double(mcp_json_at(v, i), &x)) sum += x;
    char out[96];
    snprintf(out, sizeof out, "{\"count\":%zu,\"mean\":%.17g}", mcp_json_len(v),
             sum / (double)mcp_json_len(v));
    mcp_ctx_structured(c, out);
    mcp_ctx_finish(c);
}

/* slow_report: blocks up to `seconds`, waking at once if the call is cancelled. */
static void slow_report(mcp_ctx *c, void *ud)
{
    struct pollfd p = {.fd = mcp_ctx_cancel_fd(c), .events = POLLIN};
    if (poll(&p, 1, (int)mcp_ctx_arg_int(c, "seconds", 2) * 1000) == 0)
        mcp_ctx_text(c, "report ready");
    else
        fprintf(stderr, "realistic: slow_report cancelled\n");
    mcp_ctx_finish(c); /* if cancelled meanwhile: accepted, nothing is sent */
}

/* notes:///{id} - a resource template; an unknown id is "not found" in each era's words. */
static void read_note(mcp_ctx *c, void *ud)
{
    const char *text = note_text(mcp_ctx_arg_str(c, "id"));
    if (!text) return mcp_ctx_not_found(c, "no note '%s'", mcp_ctx_arg_str(c, "id"));
    mcp_ctx_text(c, text);
    mcp_ctx_finish(c);
}

/* Completes note ids (for the template and the prompt). */
static void complete_id(mcp_ctx *c, void *ud)
{
    const char *prefix; /* the engine checked that argument.value is a string */
    mcp_ctx_completing(c, &prefix);
    for (int i = 0; notes[i][0]; i++)
        if (!strncmp(notes[i][0], prefix, strlen(prefix))) mcp_ctx_complete_value(c, notes[i][0]);
    mcp_ctx_finish(c);
}

static void summarize(mcp_ctx *c, void *ud)
{
    const char *id = mcp_ctx_arg_str(c, "id"), *text = note_text(id);
    if (!text) return mcp_ctx_not_found(c, "no note '%s'", id);
    char msg[512];
    snprintf(msg, sizeof msg, "Summarize this note in %s words:\n%s",
             mcp_ctx_arg_strn(c, "words", "ten", NULL), text);
    mcp_ctx_text(c, msg); /* a message of the user (mcp_ctx_message() switches roles) */
    mcp_ctx_finish(c);
}

static const mcp_tool_def tools[] = {
    {.name = "forecast",
     .description = "Weather forecast for a city",
     .params = "city: string 'City name', days?: integer(1..7) = 3 'Days ahead', "
               "metrics?: string(temp|wind|rain)[] 'What to include', "
               "at?: object 'Coordinates {lat, lon}, to refine the city'",
     .output_schema = "{\"type\":\"object\",\"required\":[\"city\",\"days\"],\"properties\":{"
                      "\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"array\"}}}",
     .handler = forecast},
    {.name = "stats",
     .description = "Mean of numbers",
     .params = "values: number[]",
     .output_schema = "{\"type\":\"object\",\"required\":[\"count\",\"mean\"],\"properties\":{"
                      "\"count\":{\"type\":\"integer\"},\"mean\":{\"type\":\"number\"}}}",
     .handler = stats},
    {.name = "slow_report",
     .description = "Takes its time",
     .params = "seconds?: integer(1..30) = 2",
     .handler = slow_report},
};
static const mcp_prompt_arg prompt_args[] = {{.name = "id", .required = true}, {.name = "words"}};

static int add_all(mcp_server *s, char *err, size_t n)
{
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if (mcp_server_add_tool(s, &tools[i], err, n)) return -1;
    mcp_template_def note = {.uri_template = "notes:///{id}",
                             .name = "note",
                             .mime_type = "text/plain",
                             .handler = read_note,
                             .complete = complete_id};
    mcp_prompt_def prompt = {.name = "summarize",
                             .description = "Summarize a note",
                             .args = prompt_args,
                             .nargs = 2,
                             .handler = summarize,
                             .complete = complete_id};
    return mcp_server_add_template(s, &note, err, n) || mcp_server_add_prompt(s, &prompt, err, n);
}

int main(int argc, char **argv)
{
    char err[256] = "", host[64] = "127.0.0.1";
    int port = -1;
    bool use_stdio = argc == 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--stdio"))
            use_stdio = true;
        else if (!strcmp(argv[i], "--listen") && i + 1 < argc &&
                 sscanf(argv[++i], "%63[^:]:%d", host, &port) == 2)
            continue;
        else
            return fprintf(stderr, "usage: realistic [--stdio] [--listen HOST:PORT]\n"), 2;
    }
    mcp_server *s = mcp_server_new_err(&(mcp_server_info){.name = "realistic", .version = "1.0.0"},
                                       err, sizeof err);
    if (!s || add_all(s, err, sizeof err)) return fprintf(stderr, "realistic: %s\n", err), 1;
    int rc = 0;
    if (port >= 0 && !use_stdio) {
        rc = mcp_serve_http(s, &(mcp_http_options){.host = host, .port = port});
    } else { /* both: HTTP in the background, stdio until its input ends */
        mcp_http *h = port >= 0 ? mcp_http_start(s, &(mcp_http_options){.host = host, .port = port},
                                                 err, sizeof err)
                                : NULL;
        if (port >= 0 && !h) return fprintf(stderr, "realistic: %s\n", err), 1;
        rc = mcp_serve_stdio(s, NULL);
        if (h) mcp_http_stop(h);
    }
    if (rc == MCP_SERVE_ABANDONED) return 1; /* handlers still run: leave s to the exit */
    mcp_server_free(s);
    return rc == MCP_OK ? 0 : 1;
}
