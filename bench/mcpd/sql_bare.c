/* sql_bare.c - the baseline of bench/mcpd/sql.sh: the sql tool's query in a bare SQLite loop
 * (prepared once, bind, step through the rows, reset), for DURATION seconds on one thread.
 * Prints "sql_bare: calls=N seconds=S calls_per_s=R".
 *
 *   cc -O2 bench/mcpd/sql_bare.c -lsqlite3 -o sql_bare && ./sql_bare DB SECONDS */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: sql_bare DB SECONDS\n");
        return 2;
    }
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT id, name, email FROM users WHERE name = :message", -1, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "sql_bare: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    double secs = atof(argv[2]), start = now(), end = start + secs;
    long calls = 0, rows = 0;
    while ((calls & 1023) || now() < end) {
        sqlite3_bind_text(st, 1, "hello", 5, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            rows += sqlite3_column_int64(st, 0) > 0;
            (void)sqlite3_column_text(st, 1);
            (void)sqlite3_column_text(st, 2);
        }
        sqlite3_reset(st);
        calls++;
    }
    double took = now() - start;
    printf("sql_bare: calls=%ld rows=%ld seconds=%.2f calls_per_s=%.0f\n", calls, rows, took,
           (double)calls / took);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}
