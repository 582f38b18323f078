/* config.h - mcpd's config file: read, substitute ${ENV}, validate against the shipped schema,
 * and report every mistake as FILE:LINE:COLUMN: POINTER: what was expected.
 *
 * Main thread only. A config is immutable once loaded; a reload loads a new one. */
#ifndef MCPD_CONFIG_H
#define MCPD_CONFIG_H

#include "kind.h"

#include <stdio.h>

/* ---- mistakes ---------------------------------------------------------------------------- */
/* Returns an empty list of mistakes. Free with mcpd_errs_free(). */
mcpd_errs *mcpd_errs_new(void);
void mcpd_errs_free(mcpd_errs *e);
/* Prints each mistake on one line to out: "PREFIXFILE:LINE:COLUMN: POINTER: message" (prefix may
 * be NULL, e.g. "mcpd: error: " for log lines), located in
 * text[0..len) (the file as read; parsed relaxed) when the pointer is found there, else
 * "FILE: POINTER: message". Mistakes whose pointer is the same are printed once. */
void mcpd_errs_print(const mcpd_errs *e, FILE *out, const char *prefix, const char *file,
                     const char *text, size_t len);
/* True if a mistake was recorded at pointer or below it. */
bool mcpd_errs_under(const mcpd_errs *e, const char *pointer);
/* The message of mistake i (for tests), or NULL. */
const char *mcpd_errs_message(const mcpd_errs *e, size_t i);
const char *mcpd_errs_pointer(const mcpd_errs *e, size_t i);

/* ---- the config -------------------------------------------------------------------------- */
typedef struct mcpd_token {
    const char *name;
    unsigned char sha256[32];
    const mcp_json *tools;     /* array of names, or NULL: every tool */
    const mcp_json *resources; /* array of URI prefixes or resources entry names; NULL: all */
    const mcp_json *prompts;   /* array of prompt names, or NULL: every prompt */
    char **res_prefixes;       /* "resources" as URI prefixes (names resolved), nres of them */
    size_t nres;
} mcpd_token;

typedef struct mcpd_config {
    char *path; /* as given, or "(default)" */
    char *dir;  /* its directory, for relative paths */
    char *text; /* the file as read */
    size_t len;
    mcp_json_doc *doc; /* the file with ${ENV} substituted */
    const mcp_json *root;
    mcp_server_info info;
    unsigned page_size;
    bool stdio;      /* "transport": "stdio" */
    bool has_listen; /* "listen" given */
    char host[256];  /* from "listen" (brackets removed) */
    int port;
    mcp_http_options http; /* host/port from listen; allowed lists point into origins/hosts */
    const char *origins[32], *hosts[32];
    mcp_alert_rule alerts[64]; /* http.alerts; http.alert_rules points here when given */
    uint32_t timeout_ms;       /* defaults for tools */
    uint32_t concurrency;
    uint32_t queue_wait_ms;
    uint32_t max_children;         /* global */
    char *access_log;              /* access_log.path, relative ones resolved; NULL: none */
    const char *access_log_format; /* access_log.format, or NULL */
    mcpd_token *tokens;            /* auth; ntokens == 0: no auth */
    size_t ntokens;
    bool invalid; /* mcpd_config_load: it failed the schema (the mistakes are in errs) */
} mcpd_config;

/* The default config text (src/mcpd/default.jsonc, embedded at build time). */
extern const char mcpd_default_config[];
extern const size_t mcpd_default_config_len;
/* The config schema text (src/mcpd/config.schema.json, embedded at build time). */
extern const char mcpd_config_schema[];
extern const size_t mcpd_config_schema_len;

/* Reads and checks the file at path (NULL: the default config). Returns the config (with
 * `invalid` set if it failed the schema: free it, but configure its tools first to report
 * their mistakes too), or NULL when it cannot be read or parsed, with every mistake in errs (the
 * file's text for locating them is then in *text_out, malloc'd, for mcpd_errs_print; the caller
 * frees it). Tool entries are only checked for the common keys here; their kinds check the rest
 * when the registry is built (registry.c). */
mcpd_config *mcpd_config_load(const char *path, mcpd_errs *errs, char **text_out, size_t *len_out);
/* The same from text in memory (copied). */
mcpd_config *mcpd_config_parse(const char *path, const char *text, size_t len, mcpd_errs *errs);
void mcpd_config_free(mcpd_config *c);

/* True if host is a loopback address or "localhost". */
bool mcpd_host_is_loopback(const char *host);

/* The closest of the names in obj's keys to word (edit distance at most 2, or one a prefix of
 * the other), or NULL. */
const char *mcpd_suggest(const char *word, const mcp_json *obj);

#endif
