/* resdir.h - a directory served as MCP resources, kept in step with the file system.
 *
 * Every regular file beneath the root (to max_depth, at most max_files, hidden files only if
 * asked) is registered as a resource whose URI is uri_prefix + the percent-encoded relative
 * path; a template uri_prefix + "{path}" reaches files by a path given whole (a '/' in it sent
 * as %2F) and completes path values. Reads go through fsroot (no `..`, no symlink out of the
 * root), are capped at max_file_bytes, and are served as text (UTF-8 types) or a base64 blob.
 *
 * With watch set, inotify (through libuv's uv_fs_event, one per directory, on a loop thread the
 * resdir owns) keeps the registry in step: a file created is registered (clients get
 * resources/list_changed), a file written gets notifications/resources/updated to the clients
 * that subscribed to it, a file removed is unregistered (list_changed, and updated).
 *
 * Threads: resdir_new and resdir_free from one thread (the owner); handlers run on any thread. */
#ifndef MCPD_RESDIR_H
#define MCPD_RESDIR_H

#include <mcp/mcp.h>

#include <stdbool.h>
#include <stddef.h>

typedef struct resdir_mime {
    const char *ext;  /* without the dot, e.g. "tpl" */
    const char *mime; /* e.g. "text/plain" */
} resdir_mime;

typedef struct resdir_config {
    const char *name;        /* required: names the directory in logs and the default prefix */
    const char *root;        /* required: the directory served */
    const char *uri_prefix;  /* absolute URI ending in '/'; default "file:///<name>/" */
    const char *description; /* given to the template, and to each file as "<description>" */
    size_t max_file_bytes;   /* a larger file is refused at read; default 1 MiB, at most 64 MiB */
    size_t max_files;        /* files registered; default 10000, at most 100000 */
    int max_depth;           /* directory levels below the root (0: the root's files only);
                              * -1: the default 16; at most 64 */
    bool include_hidden;     /* serve names starting with '.'; default false */
    bool watch;              /* follow changes with inotify */
    bool template_;          /* register the {path} template */
    const resdir_mime *mime; /* extra extensions, checked before the built-in table */
    size_t nmime;
} resdir_config;

typedef struct resdir resdir;

/* Opens the root, registers its files and the template in s, and (with watch) starts watching;
 * it answers reads once activated. With s NULL (checking a config) it only checks cfg and the
 * root, and registers nothing.
 * Returns the resdir, or NULL with the reason in err (e.g. "root: /srv/x: No such file or
 * directory", "uri_prefix: must end with '/'") and nothing registered. Free with resdir_free. */
resdir *resdir_new(mcp_server *s, const resdir_config *cfg, char *err, size_t errsize);

/* Makes d the one that answers for its URIs (until then, an older resdir with the same
 * prefix, as during a reload, or nobody). Call once the whole config is known to be good. */
void resdir_activate(resdir *d);

/* Stops watching, unregisters everything the resdir registered, and frees it. Call when no
 * handler of it can be running (after the transport stopped, or once the reload that replaced
 * it let the old calls finish). NULL is fine. */
void resdir_free(resdir *d);

/* How many files are registered now (for tests and logs). Any thread. */
size_t resdir_count(resdir *d);

#endif
