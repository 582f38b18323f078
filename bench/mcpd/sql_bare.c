/* sql_bare.c - the baseline of bench/mcpd/sql.sh: a sql tool's query in a bare SQLite loop
 * (prepared once; per call: bind, step through the rows reading every column, reset), for
 * SECONDS on one thread. Parameters are given as name=value (bound as an integer when the value
 * is one, else as text). Prints "sql_bare: calls=N rows=R seconds=S calls_per_s=C cpu_us=U",
 * U being the process's CPU time (user + system) per call.
 *
 *   cc -O2 bench/mcpd/sql_bare.c -lsqlite3 -o sql_bare
 *   ./sql_bare DB SECONDS "SELECT ... WHERE name = :message" message=hello */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Binds every name=value argument to the parameter :name. */
static int bind_all(sqlite3_stmt *st, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        char name[128];
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof name - 1) return -1;
        snprintf(name, sizeof name, ":%.*s", (int)(eq - argv[i]), argv[i]);
        int idx = sqlite3_bind_parameter_index(st, name);
        if (!idx) return -1;
        char *end;
        long long v = strtoll(eq + 1, &end, 10);
        if (eq[1] && !*end)
            sqlite3_bind_int64(st, idx, v);
        else
            sqlite3_bind_text(st, idx, eq + 1, -1, SQLITE_STATIC);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: sql_bare DB SECONDS SQL [name=value...]\n");
        return 2;
    }
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, argv[3], -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "sql_bare: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    int ncols = sqlite3_column_count(st);
    double secs = atof(argv[2]), start = now(), end = start + secs, cpu0 = cpu_seconds();
    long calls = 0, rows = 0;
    while ((calls & 127) || now() < end) {
        if (bind_all(st, argc - 4, argv + 4) != 0) {
            fprintf(stderr, "sql_bare: bad parameter (name=value, naming one in the SQL)\n");
            return 2;
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            rows++;
            for (int i = 0; i < ncols; i++) (void)sqlite3_column_text(st, i);
        }
        sqlite3_reset(st);
        calls++;
    }
    double took = now() - start, cpu = cpu_seconds() - cpu0;
    printf("sql_bare: calls=%ld rows=%ld seconds=%.2f calls_per_s=%.0f cpu_us=%.2f\n", calls, rows,
           took, (double)calls / took, cpu * 1e6 / (double)calls);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}
