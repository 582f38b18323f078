/* sql_engine.c - the sql kind's engine: a pool of SQLite connections, each with the statement
 * prepared once, arguments bound by name, rows capped, results as JSON and a text table.
 *
 * Safety. Values only ever reach SQLite through sqlite3_bind_*: the SQL text is fixed in the
 * config, so "1; DROP TABLE x" or "' OR 1=1 --" are just a string compared to a column. A
 * read-only tool opens its connections with SQLITE_OPEN_READONLY, is refused at configure if
 * sqlite3_stmt_readonly says its statement writes, and runs with `PRAGMA query_only`; every
 * connection has ATTACH disabled (SQLITE_LIMIT_ATTACHED 0 and an authorizer: no other file
 * can be opened from SQL), extension loading off, defensive mode on and untrusted schema. Only
 * named parameters are allowed, so each one is tied to an argument of the same name.
 *
 * Pool. Connections are opened on demand and kept on an idle stack (a mutex guards it); a run
 * pops one, so each connection is used by one thread at a time (SQLITE_OPEN_NOMUTEX) and keeps
 * its prepared statement (SQLITE_PREPARE_PERSISTENT) for the next run. How many exist at most
 * is bounded by the tool's concurrency limit (the guard admits no more runs than that).
 *
 * Limits. A busy timeout waits for locks held by other writers; a progress handler polls the
 * caller's stop() every 4096 VM steps, which interrupts a query that runs past its time or was
 * cancelled. Rows stop at max_rows and when their JSON passes max_bytes ("truncated": true).
 *
 * Output. The output schema comes from the result columns: a column with a declared type
 * (INTEGER, REAL, TEXT, BLOB, NUMERIC affinity by SQLite's rules) gets that JSON type or null;
 * an expression column gets any type. A value stored in a typed column under another storage
 * class is converted as SQLite's CAST would, so results always match the schema. BLOBs are
 * base64 text. */
#include "mcpd/sql_engine.h"
#include "mcpd/text.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ROWS    100u
#define DEFAULT_BYTES   (256u << 10)
#define DEFAULT_BUSY_MS 2000u
#define TABLE_CELL_MAX  120u
#define PROGRESS_STEPS  1000
#define SCRATCH_KEEP    (64u << 10) /* output buffers bigger than this are not kept idle */
#define INLINE_BACKOFF  64u         /* calls not tried inline after one ran past its budget */

typedef enum col_type { C_ANY, C_INTEGER, C_NUMBER, C_STRING, C_BLOB } col_type;

/* What a run may do and how it went; the connection's progress and busy handlers read it. */
typedef struct stopper {
    bool (*stop)(void *);
    void *ud;
    uint32_t busy_ms;
    uint64_t busy_start;
    uint64_t budget_end_ns; /* inline: past this monotonic time the run gives up; 0: none */
    bool nowait;            /* inline: a lock held by another connection is not waited for */
    bool stopped;           /* stop() said stop */
    bool over_budget;       /* inline: budget_end_ns passed */
    bool locked_out;        /* inline: a lock was met */
} stopper;

typedef struct conn {
    struct conn *next;
    sqlite3 *db;
    sqlite3_stmt *st;
    stopper stop; /* the current run's (the handlers installed at open point at it) */
    /* the run's output, reused from run to run (no allocation per call once warm) */
    mcp_jw *row;
    mcpd_sbuf json, table, cell;
} conn;

struct sqle {
    sqle_config cfg;
    char *path, *sql;
    size_t ncols;
    char **cols;
    col_type *types;
    size_t nparams;
    char **params;
    bool writes;
    char *output_schema;
    char *json_head;  /* {"columns":[...],"rows":[ */
    char *table_head; /* the text table's header lines */
    size_t json_head_len, table_head_len, *col_lens;
    pthread_mutex_t mu;
    conn *idle;
    size_t nconns;
    atomic_uint inline_skip; /* sqle_try_run declines this many more calls */
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void sb_base64(mcpd_sbuf *b, const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16;
        if (i + 1 < n) v |= (unsigned)d[i + 1] << 8;
        if (i + 2 < n) v |= d[i + 2];
        char q[4] = {b64[v >> 18], b64[(v >> 12) & 63], i + 1 < n ? b64[(v >> 6) & 63] : '=',
                     i + 2 < n ? b64[v & 63] : '='};
        mcpd_sb_put(b, q, 4);
    }
}

/* SQLite's affinity rules (section 3.1 of datatype3.html) on a declared type. */
static col_type affinity(const char *decl)
{
    if (!decl) return C_ANY;
    char up[64];
    size_t n = 0;
    for (; decl[n] && n < sizeof up - 1; n++)
        up[n] = (char)(decl[n] >= 'a' && decl[n] <= 'z' ? decl[n] - 32 : decl[n]);
    up[n] = 0;
    if (strstr(up, "INT")) return C_INTEGER;
    if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT")) return C_STRING;
    if (!*up || strstr(up, "BLOB")) return C_BLOB;
    return C_NUMBER; /* REAL, FLOA, DOUB and NUMERIC affinity */
}

/* ---- connections --------------------------------------------------------------------------- */
/* ATTACH would open another file from SQL: refused (SQLITE_LIMIT_ATTACHED is 0 as well). A
 * read-only tool is read-only by its open flags, query_only and the configure-time check. */
static int authorize(void *ud, int action, const char *a, const char *b, const char *c,
                     const char *d)
{
    (void)ud, (void)a, (void)b, (void)c, (void)d;
    return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY : SQLITE_OK;
}

static int on_progress(void *ud);
static int on_busy(void *ud, int n);

static conn *conn_open(sqle *e, char *err, size_t errsize)
{
    conn *c = mcpd_xcalloc(1, sizeof *c);
    int flags =
        (e->cfg.writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(e->path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errsize, "cannot open the database %s: %s", e->path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);
    /* installed once: each run sets c->stop (the busy handler is the busy timeout) */
    c->stop.busy_ms = e->cfg.busy_timeout_ms;
    sqlite3_progress_handler(c->db, PROGRESS_STEPS, on_progress, &c->stop);
    sqlite3_busy_handler(c->db, on_busy, &c->stop);
    sqlite3_limit(c->db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    if (!e->cfg.writable) sqlite3_exec(c->db, "PRAGMA query_only=1", NULL, NULL, NULL);
    sqlite3_set_authorizer(c->db, authorize, e);
    c->row = mcp_jw_new();
    const char *tail = NULL;
    rc = sqlite3_prepare_v3(c->db, e->sql, -1, SQLITE_PREPARE_PERSISTENT, &c->st, &tail);
    if (rc != SQLITE_OK || !c->st) {
        snprintf(err, errsize, "the SQL does not prepare: %s",
                 rc == SQLITE_OK ? "it is empty" : sqlite3_errmsg(c->db));
        goto fail;
    }
    while (tail &&
           (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';'))
        tail++;
    if (tail && *tail) {
        snprintf(err, errsize, "the SQL must be one statement; found more after it: \"%.40s\"",
                 tail);
        goto fail;
    }
    return c;
fail:
    sqlite3_finalize(c->st);
    sqlite3_close_v2(c->db);
    mcp_jw_free(c->row);
    free(c);
    return NULL;
}

static void conn_close(conn *c)
{
    sqlite3_finalize(c->st);
    sqlite3_close_v2(c->db);
    mcp_jw_free(c->row);
    free(c->json.p);
    free(c->table.p);
    free(c->cell.p);
    free(c);
}

/* ---- configure ----------------------------------------------------------------------------- */
static bool read_shape(sqle *e, sqlite3_stmt *st, char *err, size_t errsize)
{
    e->writes = !sqlite3_stmt_readonly(st);
    if (e->writes && !e->cfg.writable) {
        snprintf(err, errsize,
                 "the statement writes to the database: set \"read_only\": false "
                 "to allow it");
        return false;
    }
    e->nparams = (size_t)sqlite3_bind_parameter_count(st);
    e->params = mcpd_xcalloc(e->nparams, sizeof *e->params);
    for (size_t i = 0; i < e->nparams; i++) {
        const char *n = sqlite3_bind_parameter_name(st, (int)i + 1);
        if (!n || n[0] == '?') {
            snprintf(err, errsize,
                     "parameter %zu is positional (?): use a named one such as "
                     ":name, bound from the argument of that name",
                     i + 1);
            return false;
        }
        e->params[i] = mcpd_xstrdup(n + 1);
    }
    e->ncols = (size_t)sqlite3_column_count(st);
    e->cols = mcpd_xcalloc(e->ncols, sizeof *e->cols);
    e->types = mcpd_xcalloc(e->ncols, sizeof *e->types);
    for (size_t i = 0; i < e->ncols; i++) {
        e->cols[i] = mcpd_xstrdup(sqlite3_column_name(st, (int)i));
        e->types[i] = affinity(sqlite3_column_decltype(st, (int)i));
        for (size_t k = 0; k < i; k++) {
            if (strcmp(e->cols[k], e->cols[i]) == 0) {
                snprintf(err, errsize,
                         "two result columns are named \"%s\": give one another "
                         "name with AS",
                         e->cols[i]);
                return false;
            }
        }
    }
    return true;
}

static void write_output_schema(sqle *e)
{
    static const char *const tnames[] = {NULL, "integer", "number", "string", "string"};
    mcp_jw *w = mcpd_jw_object_schema();
    mcp_jw_key(w, "columns");
    mcp_jw_raw(w, "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", 42);
    mcp_jw_key(w, "rows");
    mcp_jw_object(w);
    mcp_jw_key(w, "type");
    mcp_jw_string(w, "array");
    mcp_jw_key(w, "items");
    mcp_jw_object(w);
    mcp_jw_key(w, "type");
    mcp_jw_string(w, "object");
    mcp_jw_key(w, "properties");
    mcp_jw_object(w);
    for (size_t i = 0; i < e->ncols; i++) {
        mcp_jw_key(w, e->cols[i]);
        mcp_jw_object(w);
        if (e->types[i] != C_ANY) {
            mcp_jw_key(w, "type");
            mcp_jw_array(w);
            mcp_jw_string(w, tnames[e->types[i]]);
            mcp_jw_string(w, "null");
            mcp_jw_array_end(w);
        }
        if (e->types[i] == C_BLOB) {
            mcp_jw_key(w, "contentEncoding");
            mcp_jw_string(w, "base64");
        }
        mcp_jw_object_end(w);
    }
    mcp_jw_object_end(w);
    mcp_jw_object_end(w); /* items */
    mcp_jw_object_end(w); /* rows */
    mcp_jw_key(w, "row_count");
    mcp_jw_raw(w, "{\"type\":\"integer\"}", 18);
    mcp_jw_key(w, "truncated");
    mcp_jw_raw(w, "{\"type\":\"boolean\"}", 18);
    mcp_jw_key(w, "changes");
    mcp_jw_raw(w, "{\"type\":\"integer\"}", 18);
    mcp_jw_object_end(w);
    mcp_jw_key(w, "required");
    mcp_jw_raw(w, "[\"columns\",\"rows\",\"row_count\",\"truncated\"]", 42);
    mcp_jw_object_end(w);
    e->output_schema = mcpd_jw_take(w, "{\"type\":\"object\"}");
}

/* Creates the database from init_sql when the file is missing or empty. A failure removes the
 * half-made file, so the next start tries again. */
static bool create_db(const char *path, const char *init_sql, char *err, size_t errsize)
{
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > 0) return true;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    char *msg = NULL;
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, "BEGIN", NULL, NULL, &msg);
        if (rc == SQLITE_OK) rc = sqlite3_exec(db, init_sql, NULL, NULL, &msg);
        if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK)
        snprintf(err, errsize, "cannot create the database %s with init_sql: %s", path,
                 msg  ? msg
                 : db ? sqlite3_errmsg(db)
                      : sqlite3_errstr(rc));
    sqlite3_free(msg);
    sqlite3_close_v2(db);
    if (rc != SQLITE_OK) unlink(path);
    return rc == SQLITE_OK;
}

static void table_header(const sqle *e, mcpd_sbuf *t);

/* The constant starts of every structured result and text table, and the column names'
 * lengths. */
static void write_json_head(sqle *e)
{
    mcp_jw *w = mcp_jw_new();
    mcp_jw_object(w);
    mcp_jw_key(w, "columns");
    mcp_jw_array(w);
    for (size_t i = 0; i < e->ncols; i++) mcp_jw_string(w, e->cols[i]);
    mcp_jw_array_end(w);
    mcp_jw_object_end(w);
    size_t n = 0;
    const char *t = mcp_jw_text(w, &n);
    mcpd_sbuf b = {0};
    if (t && n > 1)
        mcpd_sb_put(&b, t, n - 1); /* without the closing brace */
    else
        mcpd_sb_str(&b, "{\"columns\":[]"); /* column names that are not UTF-8 */
    mcpd_sb_str(&b, ",\"rows\":[");
    e->json_head_len = b.len;
    e->json_head = mcpd_sb_take(&b);
    mcp_jw_free(w);
    e->col_lens = mcpd_xcalloc(e->ncols, sizeof *e->col_lens);
    for (size_t i = 0; i < e->ncols; i++) e->col_lens[i] = strlen(e->cols[i]);
    if (e->ncols) table_header(e, &b);
    e->table_head_len = b.len;
    e->table_head = mcpd_sb_take(&b);
}

sqle *sqle_new(const sqle_config *cfg, char *err, size_t errsize)
{
    if (cfg->init_sql && !create_db(cfg->path, cfg->init_sql, err, errsize)) return NULL;
    sqle *e = mcpd_xcalloc(1, sizeof *e);
    e->cfg = *cfg;
    e->path = mcpd_xstrdup(cfg->path);
    e->sql = mcpd_xstrdup(cfg->sql);
    e->cfg.path = e->path;
    e->cfg.sql = e->sql;
    e->cfg.init_sql = NULL;
    if (!e->cfg.max_rows) e->cfg.max_rows = DEFAULT_ROWS;
    if (!e->cfg.max_bytes) e->cfg.max_bytes = DEFAULT_BYTES;
    if (!e->cfg.busy_timeout_ms) e->cfg.busy_timeout_ms = DEFAULT_BUSY_MS;
    pthread_mutex_init(&e->mu, NULL);
    conn *c = conn_open(e, err, errsize);
    if (!c || !read_shape(e, c->st, err, errsize)) {
        if (c) conn_close(c);
        sqle_free(e);
        return NULL;
    }
    write_output_schema(e);
    write_json_head(e);
    atomic_init(&e->inline_skip, 0);
    e->idle = c;
    e->nconns = 1;
    return e;
}

void sqle_free(sqle *e)
{
    if (!e) return;
    while (e->idle) {
        conn *c = e->idle;
        e->idle = c->next;
        conn_close(c);
    }
    for (size_t i = 0; i < e->ncols; i++) free(e->cols[i]);
    for (size_t i = 0; i < e->nparams; i++) free(e->params[i]);
    free(e->cols);
    free(e->types);
    free(e->params);
    free(e->output_schema);
    free(e->json_head);
    free(e->table_head);
    free(e->col_lens);
    free(e->path);
    free(e->sql);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

size_t sqle_param_count(const sqle *e)
{
    return e->nparams;
}

const char *sqle_param_name(const sqle *e, size_t i)
{
    return i < e->nparams ? e->params[i] : NULL;
}

const char *sqle_output_schema(const sqle *e)
{
    return e->output_schema;
}

size_t sqle_connections(sqle *e)
{
    pthread_mutex_lock(&e->mu);
    size_t n = e->nconns;
    pthread_mutex_unlock(&e->mu);
    return n;
}

/* ---- running --------------------------------------------------------------------------------- */
static int bind_args(sqlite3_stmt *st, const sqle *e, const mcp_json *args)
{
    for (size_t i = 0; i < e->nparams; i++) {
        int idx = (int)i + 1, rc = SQLITE_OK;
        const mcp_json *v = mcp_json_get(args, e->params[i]);
        int64_t n;
        double d;
        bool b;
        size_t len;
        const char *s;
        switch (mcp_json_typeof(v)) {
        case MCP_JSON_ABSENT:
        case MCP_JSON_NULL:
            rc = sqlite3_bind_null(st, idx);
            break;
        case MCP_JSON_BOOL:
            mcp_json_bool(v, &b);
            rc = sqlite3_bind_int(st, idx, b);
            break;
        case MCP_JSON_INT:
            mcp_json_int(v, &n);
            rc = sqlite3_bind_int64(st, idx, n);
            break;
        case MCP_JSON_DOUBLE:
            mcp_json_double(v, &d);
            rc = sqlite3_bind_double(st, idx, d);
            break;
        case MCP_JSON_STRING:
            s = mcp_json_str(v, &len);
            rc = sqlite3_bind_text64(st, idx, s, len, SQLITE_TRANSIENT, SQLITE_UTF8);
            break;
        default:
            s = mcp_json_text(v, &len);
            rc = sqlite3_bind_text64(st, idx, s, len, free, SQLITE_UTF8);
            break;
        }
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

/* Decimal text of v into buf (at least 21 bytes); returns its length. */
static size_t fmt_i64(char *buf, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) buf[len++] = '-';
    while (n) buf[len++] = tmp[--n];
    buf[len] = 0;
    return len;
}

/* Writes column i of the current row as JSON (into w) and returns its table text in *cell and
 * *cell_len (pointing into num[64], into scratch, or at SQLite's own text). */
static void write_cell(const sqle *e, sqlite3_stmt *st, int i, mcp_jw *w, char *num,
                       mcpd_sbuf *scratch, const char **cell, size_t *cell_len)
{
    int t = sqlite3_column_type(st, i);
    col_type want = e->types[i];
    if (t == SQLITE_NULL) {
        mcp_jw_null(w);
        *cell = "NULL";
        *cell_len = 4;
        return;
    }
    if (want == C_INTEGER || (want == C_ANY && t == SQLITE_INTEGER) ||
        (want == C_NUMBER && t == SQLITE_INTEGER)) {
        sqlite3_int64 v = sqlite3_column_int64(st, i);
        mcp_jw_int(w, v);
        *cell = num;
        *cell_len = fmt_i64(num, v);
    } else if (want == C_NUMBER || (want == C_ANY && t == SQLITE_FLOAT)) {
        double v = sqlite3_column_double(st, i);
        mcp_jw_double(w, v);
        *cell = num;
        *cell_len = (size_t)snprintf(num, 64, "%.17g", v);
    } else if (want == C_BLOB || (want == C_ANY && t == SQLITE_BLOB)) {
        const unsigned char *p = sqlite3_column_blob(st, i);
        size_t n = (size_t)sqlite3_column_bytes(st, i);
        scratch->len = 0;
        sb_base64(scratch, p, n);
        mcp_jw_stringn(w, scratch->p ? scratch->p : "", scratch->len);
        *cell = num;
        *cell_len = (size_t)snprintf(num, 64, "(%zu bytes)", n);
    } else {
        const char *s = (const char *)sqlite3_column_text(st, i);
        size_t n = (size_t)sqlite3_column_bytes(st, i);
        mcp_jw_stringn(w, s ? s : "", n);
        *cell = s ? s : "";
        *cell_len = n;
    }
}

/* A table cell: one line, '|' escaped, at most TABLE_CELL_MAX bytes (cut on a UTF-8 start). */
static void table_cell(mcpd_sbuf *out, const char *s, size_t n)
{
    size_t cut = n > TABLE_CELL_MAX ? TABLE_CELL_MAX : n;
    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
    mcpd_sb_put(out, " ", 1);
    size_t run = 0; /* start of the bytes copied as they are (one put per run, not per byte) */
    for (size_t i = 0; i < cut; i++) {
        char ch = s[i];
        if (ch != '|' && ch != '\n' && ch != '\r' && ch != '\t') continue;
        if (i > run) mcpd_sb_put(out, s + run, i - run);
        mcpd_sb_str(out, ch == '|' ? "\\|" : " ");
        run = i + 1;
    }
    if (cut > run) mcpd_sb_put(out, s + run, cut - run);
    if (cut < n) mcpd_sb_put(out, "...", 3);
    mcpd_sb_put(out, " |", 2);
}

static void table_header(const sqle *e, mcpd_sbuf *t)
{
    mcpd_sb_str(t, "|");
    for (size_t i = 0; i < e->ncols; i++) table_cell(t, e->cols[i], e->col_lens[i]);
    mcpd_sb_str(t, "\n|");
    for (size_t i = 0; i < e->ncols; i++) mcpd_sb_str(t, " --- |");
    mcpd_sb_str(t, "\n");
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Past the inline budget? (Sets over_budget.) */
static bool past_budget(stopper *s)
{
    if (s->budget_end_ns && !s->over_budget && mono_ns() > s->budget_end_ns) s->over_budget = true;
    return s->over_budget;
}

static int on_progress(void *ud)
{
    stopper *s = ud;
    if (s->stop && s->stop(s->ud)) s->stopped = true;
    return s->stopped || past_budget(s);
}

/* Waits for another connection's lock in steps of at most 5 ms, up to busy_ms, and gives up at
 * once when the call is cancelled or out of time (sqlite3_busy_timeout would sleep on), or
 * at the first try for an inline run (which must not wait: it goes to a handler thread). */
static int on_busy(void *ud, int n)
{
    stopper *s = ud;
    if (s->nowait) {
        s->locked_out = true;
        return 0;
    }
    uint64_t now = mono_ns() / 1000000u;
    if (n == 0) s->busy_start = now;
    if (on_progress(s)) return 0;
    uint64_t spent = now - s->busy_start;
    if (spent >= s->busy_ms) return 0;
    uint64_t step = s->busy_ms - spent < 5 ? s->busy_ms - spent : 5;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step * 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

static sqle_status classify(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_INTERRUPT:
        return SQLE_INTERRUPTED;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_AUTH:
    case SQLITE_ERROR:
        return SQLE_USER_ERROR;
    default:
        return SQLE_DB_ERROR; /* BUSY, LOCKED, IOERR, CORRUPT, FULL, CANTOPEN, NOMEM... */
    }
}

static conn *take_idle(sqle *e)
{
    pthread_mutex_lock(&e->mu);
    conn *c = e->idle;
    if (c) e->idle = c->next;
    pthread_mutex_unlock(&e->mu);
    return c;
}

static conn *take_conn(sqle *e, char *err, size_t errsize)
{
    conn *c = take_idle(e);
    if (c) return c;
    c = conn_open(e, err, errsize);
    if (c) {
        pthread_mutex_lock(&e->mu);
        e->nconns++;
        pthread_mutex_unlock(&e->mu);
    }
    return c;
}

static void sb_trim(mcpd_sbuf *b)
{
    if (b->cap <= SCRATCH_KEEP) return;
    free(b->p);
    *b = (mcpd_sbuf){0};
}

/* Resets the statement (ending its read transaction) and puts c back on the idle stack. Output
 * buffers a big result grew are freed, so idle connections hold little memory. */
static void give_conn(sqle *e, conn *c)
{
    sqlite3_reset(c->st);
    c->stop = (stopper){.busy_ms = e->cfg.busy_timeout_ms};
    if (c->json.cap > SCRATCH_KEEP || c->table.cap > SCRATCH_KEEP) {
        mcp_jw_free(c->row); /* it held a row as big */
        c->row = mcp_jw_new();
    }
    sb_trim(&c->json);
    sb_trim(&c->table);
    sb_trim(&c->cell);
    pthread_mutex_lock(&e->mu);
    c->next = e->idle;
    e->idle = c;
    pthread_mutex_unlock(&e->mu);
}

/* Writes the current row into c->row (JSON) and c->table (a table line). Returns the row's
 * JSON text, or NULL if it is not valid (text that is not UTF-8). */
static const char *write_row(const sqle *e, conn *c, size_t *rlen)
{
    char num[64];
    mcp_jw_reset(c->row);
    mcp_jw_object(c->row);
    mcpd_sb_put(&c->table, "|", 1);
    for (size_t i = 0; i < e->ncols; i++) {
        const char *cell;
        size_t cell_len;
        mcp_jw_keyn(c->row, e->cols[i], e->col_lens[i]);
        write_cell(e, c->st, (int)i, c->row, num, &c->cell, &cell, &cell_len);
        table_cell(&c->table, cell, cell_len);
    }
    mcpd_sb_put(&c->table, "\n", 1);
    mcp_jw_object_end(c->row);
    return mcp_jw_text(c->row, rlen);
}

/* The end of the outputs: the structured result's tail and the table's last line. */
static void finish_output(const sqle *e, conn *c, size_t nrows, bool truncated)
{
    char num[24];
    mcpd_sb_str(&c->json, "],\"row_count\":");
    mcpd_sb_put(&c->json, num, fmt_i64(num, (int64_t)nrows));
    mcpd_sb_str(&c->json, truncated ? ",\"truncated\":true" : ",\"truncated\":false");
    int64_t changes = e->writes ? sqlite3_changes64(c->db) : 0;
    if (e->writes) {
        mcpd_sb_str(&c->json, ",\"changes\":");
        mcpd_sb_put(&c->json, num, fmt_i64(num, changes));
    }
    mcpd_sb_put(&c->json, "}", 1);
    if (e->writes && !e->ncols) {
        mcpd_sb_put(&c->table, num, fmt_i64(num, changes));
        mcpd_sb_str(&c->table, " row(s) changed\n");
        return;
    }
    mcpd_sb_put(&c->table, num, fmt_i64(num, (int64_t)nrows));
    mcpd_sb_str(&c->table,
                truncated ? " row(s); more were left out (row or byte limit)\n" : " row(s)\n");
}

/* Steps through the rows into c's output buffers (the statement is bound). Returns the last
 * sqlite3_step code: SQLITE_DONE (also when the rows were cut at a cap), or an error
 * (SQLITE_INTERRUPT for an inline run past its budget). */
static int collect_rows(sqle *e, conn *c)
{
    size_t nrows = 0, bytes = 0;
    bool truncated = false;
    int rc;
    c->json.len = c->table.len = 0;
    mcpd_sb_put(&c->json, e->json_head, e->json_head_len);
    mcpd_sb_put(&c->table, e->table_head, e->table_head_len);
    while ((rc = sqlite3_step(c->st)) == SQLITE_ROW) {
        if (nrows >= e->cfg.max_rows) {
            truncated = true;
            break;
        }
        if ((nrows & 15) == 15 && past_budget(&c->stop)) return SQLITE_INTERRUPT;
        size_t line_at = c->table.len, rlen;
        const char *rtext = write_row(e, c, &rlen);
        if (!rtext || bytes + rlen + 1 > e->cfg.max_bytes) {
            truncated = true; /* a row too big to add (or not valid UTF-8 text) ends the rows */
            c->table.len = line_at;
            c->table.p[line_at] = 0;
            break;
        }
        bytes += rlen + 1;
        if (nrows) mcpd_sb_put(&c->json, ",", 1);
        mcpd_sb_put(&c->json, rtext, rlen);
        nrows++;
    }
    if (truncated) rc = SQLITE_DONE;
    if (rc == SQLITE_DONE) finish_output(e, c, nrows, truncated);
    return rc;
}

/* Runs the bound statement on c into r. On SQLE_OK r keeps c (its buffers hold the output)
 * until sqle_result_free; otherwise c goes back to the pool now. */
static void run_on(sqle *e, conn *c, const mcp_json *args, sqle_result *r)
{
    int rc = bind_args(c->st, e, args);
    if (rc == SQLITE_OK) rc = collect_rows(e, c);
    if (rc == SQLITE_DONE) {
        r->status = SQLE_OK;
        r->structured = c->json.p;
        r->structured_len = c->json.len;
        r->text = c->table.p;
        r->text_len = c->table.len;
        r->owner_ = e;
        r->conn_ = c;
        return;
    }
    r->status = c->stop.stopped || c->stop.over_budget ? SQLE_INTERRUPTED : classify(rc);
    if (r->status == SQLE_INTERRUPTED)
        snprintf(r->message, sizeof r->message, "the query was interrupted");
    else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        snprintf(r->message, sizeof r->message, "the database is locked: still busy after %u ms",
                 e->cfg.busy_timeout_ms);
    else
        snprintf(r->message, sizeof r->message, "%s", sqlite3_errmsg(c->db));
    give_conn(e, c);
}

void sqle_run(sqle *e, const mcp_json *args, bool (*stop)(void *ud), void *ud, sqle_result *r)
{
    memset(r, 0, sizeof *r);
    conn *c = take_conn(e, r->message, sizeof r->message);
    if (!c) {
        r->status = SQLE_DB_ERROR;
        return;
    }
    c->stop = (stopper){.stop = stop, .ud = ud, .busy_ms = e->cfg.busy_timeout_ms};
    run_on(e, c, args, r);
}

bool sqle_try_run(sqle *e, const mcp_json *args, uint32_t budget_us, sqle_result *r)
{
    memset(r, 0, sizeof *r);
    if (e->writes || !budget_us) return false;
    unsigned skip = atomic_load_explicit(&e->inline_skip, memory_order_relaxed);
    if (skip) { /* a recent run overran: don't waste another budget yet (a lost decrement of a
                   racing thread only declines one call more) */
        atomic_store_explicit(&e->inline_skip, skip - 1, memory_order_relaxed);
        return false;
    }
    conn *c = take_idle(e);
    if (!c) return false;
    c->stop = (stopper){.busy_ms = e->cfg.busy_timeout_ms,
                        .nowait = true,
                        .budget_end_ns = mono_ns() + (uint64_t)budget_us * 1000u};
    run_on(e, c, args, r);
    if (r->status == SQLE_OK || r->status == SQLE_USER_ERROR) return true;
    /* over the budget, a lock met, or a database error: the pool's run says it properly */
    if (r->status == SQLE_INTERRUPTED)
        atomic_store_explicit(&e->inline_skip, INLINE_BACKOFF, memory_order_relaxed);
    memset(r, 0, sizeof *r);
    return false;
}

void sqle_result_free(sqle_result *r)
{
    if (r->conn_) give_conn(r->owner_, r->conn_);
    r->conn_ = NULL;
    r->structured = r->text = NULL;
}
