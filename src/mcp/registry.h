/* registry.h - the server and its registry: tools, resources, templates, prompts, each a
 * refcounted entry in a table by registration order and by key. Implemented in server.c.
 * Not a public header. */
#ifndef MCP_REGISTRY_H
#define MCP_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "json/json.h"
#include "json/schema.h"
#include "mcp/engine.h"
#include "mcp/mcp.h"

#define FEATURES_MAX 8 /* core, tasks, skills and room for more (feature.c) */

/* ---- registry ---------------------------------------------------------------------------- */
typedef enum reg_kind { REG_TOOL, REG_RESOURCE, REG_TEMPLATE, REG_PROMPT, REG_NKINDS } reg_kind;

typedef struct tmpl_part {
    const char *lit; /* literal text before the variable */
    size_t lit_len;
    const char *var; /* variable name, or NULL for the trailing literal */
    size_t var_len;
} tmpl_part;

/* A tool argument mirrored into an Mcp-Param-<name> header (x-mcp-header, 2026-07-28). */
typedef struct hdr_param {
    char *header; /* "Mcp-Param-<name>" as annotated (header names compare case-blind) */
    char **path;  /* the chain of property names from the arguments object */
    uint32_t depth;
} hdr_param;

/* One registered item. Refcounted: the registry holds one reference, every call in flight
 * holds one, so removing an item never pulls it from under a running handler. Immutable
 * after registration. */
typedef struct serial_box serial_box;

typedef struct reg_entry {
    atomic_uint refs;
    uint8_t kind;
    uint64_t seq; /* registration order; cursors point at it */
    char *key;    /* name, URI or URI template */
    uint32_t key_len, hash;
    char *json; /* the item as listed (tools/list element, ...) */
    size_t json_len;
    mcp_handler_fn handler, complete;
    void *ud;
    unsigned flags;
    json_schema *in_schema, *out_schema;
    hdr_param *hparams; /* tools: x-mcp-header annotations */
    size_t nhparams;
    char *mime;
    size_t nargs; /* prompts */
    char **arg_names;
    bool *arg_required;
    size_t nparts; /* templates */
    tmpl_part *parts;
    uint32_t timeout_ms; /* tools: 0 = the server's */
    struct serial_box *serial; /* MCP_SERIAL: the calls waiting for it (serial.c); else NULL */
} reg_entry;

typedef struct reg_table {
    reg_entry **items; /* registration order */
    size_t n, cap;
    reg_entry **index; /* open addressing by key, index_cap a power of two */
    size_t index_cap;
} reg_table;

struct mcp_metrics_writer;
struct srv_alert_rules;

struct mcp_server {
    char *name, *version, *instructions;
    char *info_json; /* Implementation object */
    size_t info_len;
    pthread_rwlock_t reg_lock; /* read-mostly; a snapshot scheme may replace it */
    reg_table tables[REG_NKINDS];
    uint64_t next_seq;
    unsigned page_size;
    uint8_t key[32]; /* sealing key */
    pthread_mutex_t conns_lock;
    mcp_conn *conns;
    _Atomic uint64_t next_conn_serial;
    void *features[FEATURES_MAX]; /* each feature's private state (feature.h) */
    /* legacy asking (ask.c): server-to-client requests awaiting an answer, over all conns */
    _Atomic size_t asks_pending;
    _Atomic size_t asks_max; /* set by the first conn that names it; 0: default */
    _Atomic uint64_t asks_refused;
    _Atomic uint32_t timeout_ms; /* handlers without their own; MCP_TIMEOUT_NONE: none */
    _Atomic bool abandoned;      /* a transport left handlers running on it: never freed */
    mcp_tool_visible_fn tool_filter; /* auth.c; NULL: every tool is visible */
    void *tool_filter_ud;
    mcp_item_visible_fn item_filter; /* auth.c; NULL: every item is visible */
    void *item_filter_ud;
    mcp_principal_id_fn principal_id; /* auth.c; NULL: a principal is its pointer */
    void *principal_id_ud;
    mcp_observer_fn observer; /* engine.c: every request's begin and end; NULL: none */
    void *observer_ud;
    struct rt_metrics *app_metrics; /* metrics_api.c: the program's series; NULL until one */
    void *app_collect_ud;           /* metrics_api.c: the program's collector */
    void (*app_collect)(void *ud, struct mcp_metrics_writer *w);
    bool app_collect_on; /* app_collect is a collector of app_metrics */
    pthread_mutex_t alert_mu;   /* metrics_api.c: the rules of mcp_server_set_alert_rules */
    _Atomic uint64_t alert_gen; /* bumped by each set; 0: never set */
    struct srv_alert_rules *alert_rules;
};

/* Finds an item and takes a reference (release with reg_release). NULL if absent. */
reg_entry *reg_find(mcp_server *s, reg_kind k, const char *key, size_t len);
void reg_release(reg_entry *e);
/* Matches uri against the templates; fills vars (an object in arena) on success. */
reg_entry *reg_match_template(mcp_server *s, const char *uri, size_t len, mcp_arena *a,
                              json_value **vars);
/* Writes the page of kind k after cursor position `after` (0: first page) as the members
 * `"<field>":[...]` and, if more remain, `,"nextCursor":"..."` into b. Items principal may not
 * see (the server's filters) are left out; a page may then hold fewer items. */
void reg_write_page(mcp_server *s, reg_kind k, uint64_t after, const void *principal, mcp_buf *b);
/* True if principal may see and call tool name (no filter: true). auth.c. */
bool tool_visible(mcp_server *s, const void *principal, const char *name);
/* True if principal may see and use the item of kind k under key (tools: both filters). */
bool item_visible(mcp_server *s, const void *principal, reg_kind k, const char *key);
/* True if what a list shows may depend on who asks: a filter is set and the request has a
 * principal (every unauthenticated request sees the same, so their lists stay public). */
bool items_private(mcp_server *s, const void *principal);

/* The name of each kind's list: its field in a page ("tools", ...) and its cursors' list. */
extern const char *const reg_list_name[REG_NKINDS];
/* Formats into err[errsize] (either may be 0) and returns MCP_EINVAL: registration errors. */
/* The registration functions behind the public *_sz entry points (api.c), which hand them a
 * definition of the current size. Same returns as the public ones. */
mcp_server *srv_new(const mcp_server_info *info, char *err, size_t errsize);
int srv_set_task_limits(mcp_server *s, const mcp_task_limits *lim);
int srv_add_tool(mcp_server *s, const mcp_tool_def *d, char *err, size_t errsize);
int srv_add_resource(mcp_server *s, const mcp_resource_def *d, char *err, size_t errsize);
int srv_add_template(mcp_server *s, const mcp_template_def *d, char *err, size_t errsize);
int srv_add_prompt(mcp_server *s, const mcp_prompt_def *d, char *err, size_t errsize);
int srv_add_skill(mcp_server *s, const mcp_skill_def *d, char *err, size_t errsize);
/* params.c: the JSON Schema text (malloc'd) for a tool's compact parameter list, or NULL with
 * the reason in err[errsize]. */
char *params_to_schema(const char *params, char *err, size_t errsize);
int srv_seterr(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends a notification to every conn of s that wants it (list_changed: kind k; updated: uri). */
void conns_broadcast_list_changed(mcp_server *s, reg_kind k);
void conns_broadcast_updated(mcp_server *s, const char *uri);

#endif
