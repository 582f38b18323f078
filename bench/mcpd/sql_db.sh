# The data and the queries of the sql kind's benchmarks (bench/mcpd/sql.sh, sql_cg.sh): source
# it. Both queries take one argument, :message (the bench's wrk script calls a tool "echo" with
# "message"), so the same tool definition serves either.
#
#   Q_POINT   the floor: an indexed point lookup in users (1 001 rows), one row back
#   Q_SEARCH  the headline: the default config's search_books (a substring of a title or an
#             author, newest first, 10 rows) over BOOKS books (3 000), called with "Knuth"
#             (about 1 in 17 books matches)

Q_POINT="SELECT id, name, email FROM users WHERE name = :message"
Q_SEARCH="SELECT id, title, author, year, pages FROM books WHERE title LIKE '%' || :message || '%' OR author LIKE '%' || :message || '%' ORDER BY year DESC LIMIT 10"
A_POINT=hello
A_SEARCH=Knuth

# make_sql_db FILE [BOOKS]: creates the database (sqlite3 CLI).
make_sql_db() {
    local n=${2:-3000}
    rm -f "$1"
    sqlite3 "$1" <<SQL
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, email TEXT);
CREATE INDEX users_name ON users(name);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<1000)
INSERT INTO users(name, email) SELECT 'user' || x, 'u' || x || '@example.com' FROM c;
INSERT INTO users(name, email) VALUES ('hello', 'hello@example.com');
CREATE TABLE books(id INTEGER PRIMARY KEY, title TEXT NOT NULL, author TEXT NOT NULL,
                   year INTEGER NOT NULL, pages INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<$n),
  adj(i, w) AS (VALUES (0,'Practical'),(1,'Advanced'),(2,'Introduction to'),(3,'Modern'),
                       (4,'The Art of'),(5,'Principles of'),(6,'Essential')),
  topic(i, w) AS (VALUES (0,'Compilers'),(1,'Operating Systems'),(2,'Databases'),
                         (3,'Networking'),(4,'Algorithms'),(5,'Cryptography'),
                         (6,'Distributed Systems'),(7,'Type Theory'),(8,'Graphics'),
                         (9,'Programming'),(10,'Computer Architecture')),
  first(i, w) AS (VALUES (0,'Donald'),(1,'Barbara'),(2,'Edsger'),(3,'Grace'),(4,'Ken'),
                         (5,'Frances'),(6,'Niklaus'),(7,'Leslie'),(8,'John'),(9,'Radia'),
                         (10,'Dennis'),(11,'Margaret'),(12,'Alan')),
  last(i, w) AS (VALUES (0,'Knuth'),(1,'Liskov'),(2,'Dijkstra'),(3,'Hopper'),(4,'Thompson'),
                        (5,'Allen'),(6,'Wirth'),(7,'Lamport'),(8,'McCarthy'),(9,'Perlman'),
                        (10,'Ritchie'),(11,'Hamilton'),(12,'Kay'),(13,'Backus'),(14,'Hoare'),
                        (15,'Milner'),(16,'Turing'))
INSERT INTO books(title, author, year, pages)
SELECT adj.w || ' ' || topic.w || ', volume ' || (x / 77 + 1), first.w || ' ' || last.w,
       1950 + (x * 37) % 75, 100 + (x * 53) % 900
FROM c JOIN adj ON adj.i = x % 7 JOIN topic ON topic.i = x % 11
       JOIN first ON first.i = x % 13 JOIN last ON last.i = x % 17;
SQL
}

# sql_tool_config FILE DB SQL: an mcpd config serving SQL as the sql tool "echo".
sql_tool_config() {
    local sql=${3//\\/\\\\}
    sql=${sql//\"/\\\"}
    cat >"$1" <<JSON
{"tools": [{"kind": "sql", "name": "echo", "database": "$2", "sql": "$sql",
  "arguments": {"message": {"type": "string"}}, "concurrency": 64}]}
JSON
}
