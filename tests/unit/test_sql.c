/* test_sql.c - the sql kind's engine (src/mcpd/sql_engine.c) against real SQLite files:
 * configure-time checks, binding by name (injection attempts stay data), row and byte caps,
 * types and the derived output schema, writes, interruption, lock timeouts, the pool. */
#include "../../src/mcpd/sql_engine.c"
#include "../../src/mcpd/text.c"
#include "test.h"

#include <unistd.h>

static char dbpath[256];

static void exec_sql(const char *sql)
{
    sqlite3 *db;
    if (sqlite3_open(dbpath, &db) != SQLITE_OK) T_FAIL("open %s", dbpath);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) T_FAIL("exec: %s", msg);
    sqlite3_close(db);
}

static void make_db(void)
{
    snprintf(dbpath, sizeof dbpath, "/tmp/test_sql_%d.db", (int)getpid());
    unlink(dbpath);
    exec_sql("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL,"
             " avatar BLOB);"
             "INSERT INTO users VALUES(1,'ada',9.5,x'00ff10'),(2,'bob',NULL,NULL),"
             "(3,'cy',7,NULL);"
             "CREATE TABLE big(n INTEGER);"
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<500)"
             " INSERT INTO big SELECT x FROM c;");
}

static sqle *open_sql(const char *sql, bool writable, char *err)
{
    sqle_config c = {.path = dbpath, .sql = sql, .writable = writable};
    return sqle_new(&c, err, 256);
}

static mcp_json_doc *args_doc;
static const mcp_json *args(const char *json)
{
    mcp_json_doc_free(args_doc);
    args_doc = mcp_json_parse(json, strlen(json), 0, NULL);
    if (!args_doc) T_FAIL("bad test json %s", json);
    return mcp_json_root(args_doc);
}

TEST(configure_checks)
{
    make_db();
    char err[256];
    CHECK(!open_sql("DELETE FROM users WHERE id = :id", false, err));
    CHECK_STR(err, "the statement writes to the database: set \"read_only\": false to allow it");
    CHECK(!open_sql("SELECT 1; DROP TABLE users", false, err));
    CHECK_CONTAINS(err, "the SQL must be one statement; found more after it: \"DROP TABLE");
    CHECK(!open_sql("SELECT * FROM users WHERE id = ?", false, err));
    CHECK_CONTAINS(err, "parameter 1 is positional (?)");
    CHECK(!open_sql("SELECT id, name AS id FROM users", false, err));
    CHECK_CONTAINS(err, "two result columns are named \"id\"");
    CHECK(!open_sql("SELECT * FROM nope", false, err));
    CHECK_CONTAINS(err, "the SQL does not prepare: no such table: nope");
    CHECK(!open_sql("ATTACH DATABASE '/tmp/x.db' AS x", true, err));
    CHECK_CONTAINS(err, "not authorized");
    sqle_config c = {.path = "/nonexistent/dir/x.db", .sql = "SELECT 1"};
    CHECK(!sqle_new(&c, err, sizeof err));
    CHECK_CONTAINS(err, "cannot open the database /nonexistent/dir/x.db");
    /* trailing semicolons and blanks are one statement */
    sqle *e = open_sql("SELECT name FROM users WHERE id = :id;  \n", false, err);
    CHECK(e != NULL);
    CHECK_INT(sqle_param_count(e), 1);
    CHECK_STR(sqle_param_name(e, 0), "id");
    sqle_free(e);
}

TEST(injection_stays_data)
{
    make_db();
    char err[256];
    sqle *e = open_sql("SELECT id, name FROM users WHERE name = :name", false, err);
    CHECK(e != NULL);
    const char *attempts[] = {
        "{\"name\":\"' OR 1=1 --\"}",
        "{\"name\":\"ada'; DROP TABLE users; --\"}",
        "{\"name\":\"ada\\\" OR \\\"1\\\"=\\\"1\"}",
        "{\"name\":\"x' UNION SELECT 1, sqlite_version() --\"}",
    };
    for (size_t i = 0; i < sizeof attempts / sizeof *attempts; i++) {
        sqle_result r;
        sqle_run(e, args(attempts[i]), NULL, NULL, &r);
        CHECK_INT(r.status, SQLE_OK);
        CHECK_CONTAINS(r.structured, "\"rows\":[],\"row_count\":0");
        sqle_result_free(&r);
    }
    sqle_result r;
    sqle_run(e, args("{\"name\":\"ada\"}"), NULL, NULL, &r);
    CHECK_STR(r.structured, "{\"columns\":[\"id\",\"name\"],\"rows\":[{\"id\":1,\"name\":\"ada\"}],"
                            "\"row_count\":1,\"truncated\":false}");
    CHECK_STR(r.text, "| id | name |\n| --- | --- |\n| 1 | ada |\n1 row(s)\n");
    sqle_result_free(&r);
    sqle_free(e);
    /* the table is still there */
    e = open_sql("SELECT count(*) AS n FROM users", false, err);
    sqle_run(e, args("{}"), NULL, NULL, &r);
    CHECK_CONTAINS(r.structured, "[{\"n\":3}]");
    sqle_result_free(&r);
    sqle_free(e);
}

static bool valid_against(const char *schema, const char *json)
{
    mcp_schema *s = mcp_schema_compile(schema, strlen(schema), NULL, 0);
    mcp_json_doc *d = mcp_json_parse(json, strlen(json), 0, NULL);
    bool ok = s && d && mcp_schema_validate(s, mcp_json_root(d), NULL, NULL);
    mcp_schema_free(s);
    mcp_json_doc_free(d);
    return ok;
}

TEST(types_and_output_schema)
{
    make_db();
    exec_sql("INSERT INTO users VALUES(4,'dee','high',NULL)"); /* text in a REAL column */
    char err[256];
    sqle *e = open_sql("SELECT id, name, score, avatar, length(name) AS len FROM users ORDER BY id",
                       false, err);
    CHECK(e != NULL);
    CHECK_CONTAINS(sqle_output_schema(e), "\"id\":{\"type\":[\"integer\",\"null\"]}");
    CHECK_CONTAINS(sqle_output_schema(e), "\"score\":{\"type\":[\"number\",\"null\"]}");
    CHECK_CONTAINS(sqle_output_schema(e),
                   "\"avatar\":{\"type\":[\"string\",\"null\"],\"contentEncoding\":\"base64\"}");
    CHECK_CONTAINS(sqle_output_schema(e), "\"len\":{}");
    sqle_result r;
    sqle_run(e, args("{}"), NULL, NULL, &r);
    CHECK_INT(r.status, SQLE_OK);
    CHECK_CONTAINS(r.structured,
                   "{\"id\":1,\"name\":\"ada\",\"score\":9.5,\"avatar\":\"AP8Q\",\"len\":3}");
    CHECK_CONTAINS(r.structured,
                   "{\"id\":2,\"name\":\"bob\",\"score\":null,\"avatar\":null,\"len\":3}");
    CHECK_CONTAINS(r.structured, "{\"id\":3,\"name\":\"cy\",\"score\":7.0,");
    CHECK_CONTAINS(r.structured,
                   "{\"id\":4,\"name\":\"dee\",\"score\":0.0,"); /* CAST('high' AS REAL) */
    CHECK(valid_against(sqle_output_schema(e), r.structured));
    CHECK_CONTAINS(r.text, "| 1 | ada | 9.5 | (3 bytes) | 3 |");
    sqle_result_free(&r);
    sqle_free(e);
}

TEST(row_and_byte_caps)
{
    make_db();
    char err[256];
    sqle_config c = {.path = dbpath, .sql = "SELECT n FROM big ORDER BY n", .max_rows = 10};
    sqle *e = sqle_new(&c, err, sizeof err);
    sqle_result r;
    sqle_run(e, args("{}"), NULL, NULL, &r);
    CHECK_CONTAINS(r.structured, "\"row_count\":10,\"truncated\":true");
    CHECK_CONTAINS(r.text, "10 row(s); more were left out (row or byte limit)");
    sqle_result_free(&r);
    sqle_free(e);
    c = (sqle_config){
        .path = dbpath, .sql = "SELECT n FROM big ORDER BY n", .max_rows = 1000, .max_bytes = 100};
    e = sqle_new(&c, err, sizeof err);
    sqle_run(e, args("{}"), NULL, NULL, &r);
    CHECK_CONTAINS(r.structured, "\"truncated\":true");
    CHECK(strlen(r.structured) < 200);
    CHECK(valid_against(sqle_output_schema(e), r.structured));
    sqle_result_free(&r);
    /* exactly at the limit is not truncated */
    c = (sqle_config){.path = dbpath, .sql = "SELECT n FROM big WHERE n <= 3", .max_rows = 3};
    sqle_free(e);
    e = sqle_new(&c, err, sizeof err);
    sqle_run(e, args("{}"), NULL, NULL, &r);
    CHECK_CONTAINS(r.structured, "\"row_count\":3,\"truncated\":false");
    sqle_result_free(&r);
    sqle_free(e);
}

TEST(writes_and_constraints)
{
    make_db();
    char err[256];
    sqle *e = open_sql("INSERT INTO users(name, score) VALUES(:name, :score)", true, err);
    CHECK(e != NULL);
    sqle_result r;
    sqle_run(e, args("{\"name\":\"eve\",\"score\":1.25}"), NULL, NULL, &r);
    CHECK_INT(r.status, SQLE_OK);
    CHECK_CONTAINS(r.structured, "\"changes\":1");
    CHECK_STR(r.text, "1 row(s) changed\n");
    sqle_result_free(&r);
    sqle_run(e, args("{\"name\":\"eve\"}"), NULL, NULL, &r);
    CHECK_INT(r.status, SQLE_USER_ERROR);
    CHECK_CONTAINS(r.message, "UNIQUE constraint failed: users.name");
    sqle_run(e, args("{}"), NULL, NULL, &r); /* absent binds NULL */
    CHECK_INT(r.status, SQLE_USER_ERROR);
    CHECK_CONTAINS(r.message, "NOT NULL constraint failed");
    sqle_free(e);
    /* a read-only tool cannot write even through a function with side effects */
    e = open_sql("SELECT name FROM users WHERE id = :id", false, err);
    sqle_run(e, args("{\"id\":{\"a\":[1]}}"), NULL, NULL, &r); /* objects bind as JSON text */
    CHECK_INT(r.status, SQLE_OK);
    CHECK_CONTAINS(r.structured, "\"row_count\":0");
    sqle_result_free(&r);
    sqle_free(e);
}

static bool stop_now(void *ud)
{
    return ++*(int *)ud > 2;
}

TEST(interrupt_and_busy)
{
    make_db();
    char err[256];
    sqle *e = open_sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c)"
                       " SELECT count(*) AS n FROM c",
                       false, err);
    CHECK(e != NULL);
    int polls = 0;
    sqle_result r;
    sqle_run(e, args("{}"), stop_now, &polls, &r);
    CHECK_INT(r.status, SQLE_INTERRUPTED);
    CHECK_STR(r.message, "the query was interrupted");
    sqle_free(e);
    /* another connection holds the write lock: a writer gives up after busy_timeout_ms */
    sqle_config c = {.path = dbpath,
                     .sql = "UPDATE users SET score = 1",
                     .writable = true,
                     .busy_timeout_ms = 20};
    e = sqle_new(&c, err, sizeof err);
    CHECK(e != NULL);
    c.busy_timeout_ms = 600000;
    sqle *patient = sqle_new(&c, err, sizeof err); /* made before the lock is taken */
    CHECK(patient != NULL);
    sqlite3 *db;
    sqlite3_open(dbpath, &db);
    sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL);
    sqle_run(e, args("{}"), NULL, NULL, &r);
    CHECK_INT(r.status, SQLE_DB_ERROR);
    CHECK_STR(r.message, "the database is locked: still busy after 20 ms");
    /* a long busy timeout does not outlive the call: waiting for the lock polls stop() */
    polls = 0;
    sqle_run(patient, args("{}"), stop_now, &polls, &r);
    CHECK_INT(r.status, SQLE_INTERRUPTED);
    sqle_free(patient);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    sqle_run(e, args("{}"), NULL, NULL, &r);
    CHECK_INT(r.status, SQLE_OK);
    sqle_result_free(&r);
    sqle_free(e);
}

/* The inline path: the same answers as sqle_run when it can, and never a wait. */
TEST(try_run_inline)
{
    make_db();
    char err[256];
    sqle *e = open_sql("SELECT id, name FROM users WHERE name = :name", false, err);
    CHECK(e != NULL);
    sqle_result r, r2;
    CHECK(sqle_try_run(e, args("{\"name\":\"ada\"}"), 1000, &r));
    CHECK_INT(r.status, SQLE_OK);
    CHECK_STR(r.structured, "{\"columns\":[\"id\",\"name\"],\"rows\":[{\"id\":1,\"name\":"
                            "\"ada\"}],\"row_count\":1,\"truncated\":false}");
    CHECK_INT(r.structured_len, strlen(r.structured));
    CHECK_STR(r.text, "| id | name |\n| --- | --- |\n| 1 | ada |\n1 row(s)\n");
    /* r holds the only connection: the next try finds none idle and opens none */
    CHECK(!sqle_try_run(e, args("{\"name\":\"bob\"}"), 1000, &r2));
    CHECK_INT(sqle_connections(e), 1);
    sqle_result_free(&r);
    CHECK(!sqle_try_run(e, args("{}"), 0, &r2)); /* no budget: never inline */
    /* a lock held by a writer: gives up at once instead of waiting busy_timeout_ms */
    sqlite3 *db;
    sqlite3_open(dbpath, &db);
    sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL);
    uint64_t t0 = mono_ns();
    CHECK(!sqle_try_run(e, args("{\"name\":\"ada\"}"), 1000000, &r));
    CHECK(mono_ns() - t0 < 1000000000u); /* not the 2 s busy timeout (a generous bound) */
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(sqle_try_run(e, args("{\"name\":\"ada\"}"), 1000, &r));
    sqle_result_free(&r);
    sqle_free(e);
    /* a statement that writes is never run inline */
    e = open_sql("UPDATE users SET score = 1", true, err);
    CHECK(!sqle_try_run(e, args("{}"), 1000, &r));
    sqle_free(e);
    /* past its budget it is interrupted and given up; the next calls then skip the try */
    e = open_sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c)"
                 " SELECT count(*) AS n FROM c",
                 false, err);
    CHECK(!sqle_try_run(e, args("{}"), 1, &r));
    CHECK_INT(atomic_load(&e->inline_skip), INLINE_BACKOFF);
    CHECK(!sqle_try_run(e, args("{}"), 1000, &r));
    CHECK_INT(atomic_load(&e->inline_skip), INLINE_BACKOFF - 1);
    sqle_free(e);
    /* a SQL error is an answer: the pool would say the same */
    e = open_sql("SELECT json(:v) AS j", false, err);
    CHECK(sqle_try_run(e, args("{\"v\":\"{x\"}"), 1000, &r));
    CHECK_INT(r.status, SQLE_USER_ERROR);
    CHECK_CONTAINS(r.message, "malformed JSON");
    sqle_result_free(&r);
    sqle_free(e);
}

/* Results reuse their connection's buffers: a big one is not kept idle, later ones are right. */
TEST(buffers_reused)
{
    make_db();
    char err[256];
    sqle_config c = {.path = dbpath,
                     .sql = "SELECT n, printf('%0*d', :w, n) AS pad FROM big WHERE n <= :k",
                     .max_rows = 1000,
                     .max_bytes = 8u << 20};
    sqle *e = sqle_new(&c, err, sizeof err);
    CHECK(e != NULL);
    sqle_result r;
    sqle_run(e, args("{\"w\":1000,\"k\":500}"), NULL, NULL, &r);
    CHECK_INT(r.status, SQLE_OK);
    CHECK(r.structured_len > 500000);
    CHECK(valid_against(sqle_output_schema(e), r.structured));
    sqle_result_free(&r);
    CHECK(e->idle && e->idle->json.cap == 0 && e->idle->table.cap == 0); /* trimmed */
    sqle_run(e, args("{\"w\":1,\"k\":2}"), NULL, NULL, &r);
    CHECK_STR(r.structured, "{\"columns\":[\"n\",\"pad\"],\"rows\":[{\"n\":1,\"pad\":\"1\"},"
                            "{\"n\":2,\"pad\":\"2\"}],\"row_count\":2,\"truncated\":false}");
    sqle_result_free(&r);
    sqle_run(e, args("{\"w\":1,\"k\":0}"), NULL, NULL, &r);
    CHECK_STR(r.structured,
              "{\"columns\":[\"n\",\"pad\"],\"rows\":[],\"row_count\":0,\"truncated\":false}");
    CHECK_STR(r.text, "| n | pad |\n| --- | --- |\n0 row(s)\n");
    sqle_result_free(&r);
    sqle_free(e);
}

static sqle *shared;
static void *runner(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        mcp_json_doc *d = mcp_json_parse("{\"id\":2}", 8, 0, NULL);
        sqle_result r;
        sqle_run(shared, mcp_json_root(d), NULL, NULL, &r);
        if (r.status != SQLE_OK || !strstr(r.structured, "bob")) abort();
        sqle_result_free(&r);
        mcp_json_doc_free(d);
    }
    return NULL;
}

TEST(pool_in_parallel)
{
    make_db();
    char err[256];
    shared = open_sql("SELECT name FROM users WHERE id = :id", false, err);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, runner, NULL);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    CHECK(sqle_connections(shared) >= 1 && sqle_connections(shared) <= 4);
    sqle_free(shared);
}

TEST(init_sql_creates_once)
{
    char path[300], err[256];
    snprintf(path, sizeof path, "%s.init", dbpath);
    unlink(path);
    sqle_config c = {.path = path,
                     .sql = "SELECT count(*) AS n FROM t",
                     .init_sql = "CREATE TABLE t(x); INSERT INTO t VALUES(1),(2);"};
    sqle *e = sqle_new(&c, err, sizeof err);
    CHECK(e != NULL);
    sqle_free(e);
    e = sqle_new(&c, err, sizeof err); /* exists now: init_sql does not run again */
    sqle_result r;
    sqle_run(e, args("{}"), NULL, NULL, &r);
    CHECK_CONTAINS(r.structured, "[{\"n\":2}]");
    sqle_result_free(&r);
    sqle_free(e);
    unlink(path);
    c.init_sql = "CREATE TABLE t(x); INSERT INTO nope VALUES(1);";
    CHECK(!sqle_new(&c, err, sizeof err));
    CHECK_CONTAINS(err, "with init_sql: no such table: nope");
    CHECK(access(path, F_OK) != 0); /* the half-made file is gone */
}

TEST(table_cells_escaped_and_cut)
{
    char err[512];
    sqle *e = open_sql("SELECT :v AS v", false, err);
    CHECK(e != NULL);
    sqle_result r;
    sqle_run(e, args("{\"v\":\"a|b\\nc\\td|\"}"), NULL, NULL, &r);
    CHECK_CONTAINS(r.text, "| a\\|b c d\\| |\n");
    sqle_result_free(&r);
    sqle_run(e, args("{\"v\":\"\"}"), NULL, NULL, &r);
    CHECK_CONTAINS(r.text, "| --- |\n|  |\n1 row(s)");
    sqle_result_free(&r);
    char big[300], json[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    big[5] = '|';
    snprintf(json, sizeof json, "{\"v\":\"%s\"}", big);
    sqle_run(e, args(json), NULL, NULL, &r);
    CHECK_CONTAINS(r.text, "| xxxxx\\|xxxx");
    CHECK_CONTAINS(r.text, "x... |\n");
    sqle_result_free(&r);
    sqle_free(e);
}

int main(void)
{
    RUN(configure_checks);
    RUN(injection_stays_data);
    RUN(types_and_output_schema);
    RUN(row_and_byte_caps);
    RUN(writes_and_constraints);
    RUN(interrupt_and_busy);
    RUN(pool_in_parallel);
    RUN(try_run_inline);
    RUN(buffers_reused);
    RUN(init_sql_creates_once);
    RUN(table_cells_escaped_and_cut);
    mcp_json_doc_free(args_doc);
    unlink(dbpath);
    return test_summary();
}
