/* sql_engine.h - one SQL statement over one SQLite database, run with bound arguments.
 *
 * The engine of the `sql` tool kind (sql.c is its glue to kind.h): it knows SQLite and the
 * public JSON API, nothing of mcpd's calls, so it is unit-tested alone. */
#ifndef MCPD_SQL_ENGINE_H
#define MCPD_SQL_ENGINE_H

#include <mcp/json.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sqle sqle;

typedef struct sqle_config {
    const char *path;         /* the database file (must exist) */
    const char *sql;          /* one statement; named parameters :name, @name or $name */
    bool writable;            /* false: opened read-only and the statement must only read */
    uint32_t max_rows;        /* rows returned at most; 0: 100 */
    size_t max_bytes;         /* bytes of the JSON rows at most; 0: 256 KiB */
    uint32_t busy_timeout_ms; /* wait for a lock at most this long; 0: 2000 */
    const char *init_sql;     /* optional: statements that create the database when the file does
                                 not exist or is empty (run once, in one transaction) */
} sqle_config;

/* Opens the database (first connection of the pool), prepares the statement and checks it:
 * exactly one statement, only named parameters, read-only unless writable, unique column
 * names. Returns the engine, or NULL with the reason in err[errsize], e.g. "the statement
 * writes to the database: set \"read_only\": false to allow it". Free with sqle_free() once no
 * run is in progress. Any thread. */
sqle *sqle_new(const sqle_config *cfg, char *err, size_t errsize);
void sqle_free(sqle *e);

/* The statement's parameter names without their prefix (":id" -> "id"), in order. */
size_t sqle_param_count(const sqle *e);
const char *sqle_param_name(const sqle *e, size_t i);

/* The output schema derived from the result columns (JSON Schema text, valid while e lives). */
const char *sqle_output_schema(const sqle *e);

typedef enum sqle_status {
    SQLE_OK,         /* rows (or changes) in the result */
    SQLE_USER_ERROR, /* the statement failed for its input (constraint, type): not the db's fault */
    SQLE_DB_ERROR,   /* the database failed (busy past the timeout, I/O, corrupt, cannot open) */
    SQLE_INTERRUPTED, /* stop() said stop */
} sqle_status;

typedef struct sqle_result {
    sqle_status status;
    /* SQLE_OK: {"columns":[..],"rows":[{..}],"row_count":n,"truncated":b} (plus "changes" for
     * a writing statement), valid JSON matching sqle_output_schema by construction; and the
     * rows as a text table. Both NUL-terminated, in the connection's buffers: valid until
     * sqle_result_free, which gives the connection back. */
    const char *structured, *text;
    size_t structured_len, text_len;
    char message[512]; /* otherwise: what went wrong */
    sqle *owner_;      /* private: the connection held for the output (SQLE_OK) */
    void *conn_;
} sqle_result;

/* Runs the statement with parameters bound from args (an object: each parameter takes the
 * argument of its name; absent or null binds NULL; strings, integers, numbers, booleans (1/0)
 * bind as such, arrays and objects as their JSON text). stop(ud) is polled while SQLite works
 * (every few thousand VM steps); returning true interrupts the statement. Takes a connection
 * from the pool (opens one if none is idle) and gives it back. Fills *r; free it with
 * sqle_result_free. Any thread; runs in parallel on different connections. */
void sqle_run(sqle *e, const mcp_json *args, bool (*stop)(void *ud), void *ud, sqle_result *r);

/* sqle_run for a thread that must not wait (an I/O thread): a read-only statement, on an idle
 * connection only (none is opened), giving up at once on a lock instead of waiting, and
 * interrupted once it has run budget_us microseconds. Returns true with *r filled (SQLE_OK or
 * SQLE_USER_ERROR); false, *r empty, when it gave up (no idle connection, a writing statement,
 * budget_us 0, a lock, the budget spent, any database error): run it with sqle_run on a
 * thread that may block. After a run spent its budget the next 64 calls give up at once
 * rather than spend theirs. A read-only statement has no effect, so a run given up is just
 * run again. Any thread. */
bool sqle_try_run(sqle *e, const mcp_json *args, uint32_t budget_us, sqle_result *r);

/* Frees what a run holds (gives its connection back). Any run's result, also not SQLE_OK. */
void sqle_result_free(sqle_result *r);

/* Connections open now (idle or busy), for tests. */
size_t sqle_connections(sqle *e);

#endif
