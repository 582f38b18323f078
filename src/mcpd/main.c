/* main.c - mcpd: an MCP server from a config file.
 *
 * The command line is fixed by issue 13 (docs/mcpd.md, mcpd.1): no arguments serves the
 * default config over Streamable HTTP at http://127.0.0.1:8080/mcp; --config FILE, --stdio,
 * --listen HOST:PORT, --check-config FILE (exit 0, or 2 with every mistake), and
 * --print-default-config; flags given override the file. Usage errors exit 2.
 *
 * This file only reads the command line and drives the other modules: config.c reads and
 * checks the file, the serving part builds the registry from it and serves. mcpd includes only
 * libmcp's public headers. In stdio mode nothing but the transport writes to stdout. */
#include "mcpd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: mcpd [--config FILE] [--stdio | --listen HOST:PORT] [--insecure-no-auth]\n"
    "            [--access-log FILE] [--access-log-format text|json]\n"
    "       mcpd --check-config FILE\n"
    "       mcpd --print-default-config\n"
    "\n"
    "Serves an MCP server described by a config file (JSON with comments). Without --config it\n"
    "serves the default config; without --stdio it serves Streamable HTTP at\n"
    "http://127.0.0.1:8080/mcp. Flags override the file. See mcpd(1) and docs/mcpd.md.\n"
    "\n"
    "  --config FILE             serve the config in FILE\n"
    "  --stdio                   serve MCP on stdin/stdout\n"
    "  --listen HOST:PORT        serve Streamable HTTP on HOST:PORT (port 0: any free port)\n"
    "  --admin-listen HOST:PORT  serve /metrics, /health, /ready, /status there (they are\n"
    "                            on a loopback --listen too, and only there otherwise)\n"
    "  --insecure-no-auth        allow a non-loopback --listen without auth tokens\n"
    "  --access-log FILE         one line per HTTP request to FILE (\"-\": stderr); SIGHUP\n"
    "                            reopens it (rotation). No token, header or argument is logged\n"
    "  --access-log-format FMT   text (key=value, the default) or json (JSON lines)\n"
    "  --check-config FILE       check FILE, print every mistake; exit 0 if valid, else 2\n"
    "  --print-default-config    print the default config and exit\n"
    "  --help                    show this help\n"
    "  --version                 print the version\n";

typedef struct cli {
    const char *config;
    const char *check;
    bool print_default;
    bool stdio;
    const char *listen;
    const char *admin_listen;
    const char *access_log, *access_log_format;
    bool insecure_no_auth;
} cli;

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "mcpd: %s%s%s\nTry 'mcpd --help'.\n", what, arg ? ": " : "", arg ? arg : "");
    return 2;
}

/* The value after flag argv[*i], or NULL (with a message) if there is none. */
static const char *flag_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc || argv[*i + 1][0] == '\0') return NULL;
    return argv[++*i];
}

/* Parses argv into o. Returns -1 to go on, or the exit code (0 after --help/--version). */
static int parse_args(int argc, char **argv, cli *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("mcpd %s\n", MCP_VERSION);
            return 0;
        } else if (!strcmp(a, "--stdio")) {
            o->stdio = true;
        } else if (!strcmp(a, "--insecure-no-auth")) {
            o->insecure_no_auth = true;
        } else if (!strcmp(a, "--print-default-config")) {
            o->print_default = true;
        } else if (!strcmp(a, "--access-log") || !strcmp(a, "--access-log-format")) {
            const char *v = flag_value(argc, argv, &i);
            if (!v) return bad_usage("missing value after", a);
            *(a[12] ? &o->access_log_format : &o->access_log) = v;
        } else if (!strcmp(a, "--admin-listen")) {
            if (!(o->admin_listen = flag_value(argc, argv, &i)))
                return bad_usage("missing value after", a);
        } else if (!strcmp(a, "--config") || !strcmp(a, "--check-config") ||
                   !strcmp(a, "--listen")) {
            const char *v = flag_value(argc, argv, &i);
            if (!v) return bad_usage("missing value after", a);
            *(a[2] == 'c' ? (a[3] == 'o' ? &o->config : &o->check) : &o->listen) = v;
        } else {
            return bad_usage("unknown option", a);
        }
    }
    if (o->stdio && o->listen) return bad_usage("--stdio and --listen exclude each other", NULL);
    if (o->check && o->config) return bad_usage("--check-config takes the file itself", NULL);
    if (o->access_log_format && strcmp(o->access_log_format, "text") &&
        strcmp(o->access_log_format, "json"))
        return bad_usage("--access-log-format must be text or json, not", o->access_log_format);
    if (o->stdio && o->access_log)
        return bad_usage("--access-log logs HTTP requests; it does not go with --stdio", NULL);
    return -1;
}

int main(int argc, char **argv)
{
    cli o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    if (o.print_default) {
        fwrite(mcpd_default_config, 1, mcpd_default_config_len, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (o.check) return mcpd_check(o.check, stdout);
    mcp_keep_freed_memory(); /* serving: big messages (docs/benchmarks.md, scenario 6) */
    mcpd_serve_options so = {.config_path = o.config,
                             .stdio = o.stdio,
                             .listen = o.listen,
                             .admin_listen = o.admin_listen,
                             .access_log = o.access_log,
                             .access_log_format = o.access_log_format,
                             .insecure_no_auth = o.insecure_no_auth};
    return mcpd_serve(&so);
}
