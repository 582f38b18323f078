#!/usr/bin/env bash
# sql kind benchmark (issue 13): calls/s of an mcpd `sql` tool over Streamable HTTP (modern era,
# wrk with bench/http/echo.lua, the tool named "echo" taking "message") against the same query
# in a bare SQLite loop on one thread (bench/mcpd/sql_bare.c). mcpd is pinned to SERVER_CPU, wrk
# to WRK_CPU. Prints both rates, mcpd's CPU per call and the ratio.
#
#   bash bench/mcpd/sql.sh            # [DURATION=5] [CONNS=16] [MCPD=build/release/mcpd]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCPD=${MCPD:-$ROOT/build/release/mcpd}
DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
TMP=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT
[ -x "$MCPD" ] || { echo "sql.sh: build mcpd first (make)" >&2; exit 2; }
cc -O2 "$ROOT/bench/mcpd/sql_bare.c" -lsqlite3 -o "$TMP/sql_bare"
cat > "$TMP/c.json" <<JSON
{"tools": [{"kind": "sql", "name": "echo", "database": "$TMP/b.db",
  "init_sql": "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, email TEXT); CREATE INDEX users_name ON users(name); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<1000) INSERT INTO users(name, email) SELECT 'user' || x, 'u' || x || '@example.com' FROM c; INSERT INTO users(name, email) VALUES ('hello', 'hello@example.com');",
  "sql": "SELECT id, name, email FROM users WHERE name = :message",
  "arguments": {"message": {"type": "string"}}, "concurrency": 64}]}
JSON
taskset -c "$SERVER_CPU" "$MCPD" --config "$TMP/c.json" --listen 127.0.0.1:0 2> "$TMP/log" &
PID=$!
for _ in $(seq 100); do grep -q "listening on" "$TMP/log" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$TMP/log" | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
t0=$(ticks)
OUT=$(taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$ROOT/bench/http/echo.lua" "$URL")
t1=$(ticks)
LINE=$(echo "$OUT" | grep '^echo.lua:')
echo "$LINE" | grep -q 'non200=0 noresult=0' || { echo "sql.sh: FAIL: bad answers: $LINE" >&2; exit 1; }
REQS=$(echo "$LINE" | sed 's/.*requests=\([0-9]*\).*/\1/')
RPS=$(echo "$LINE" | sed 's/.*rps=\([0-9.]*\).*/\1/')
HZ=$(getconf CLK_TCK)
CPU_US=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="$REQS" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
BARE=$(taskset -c "$SERVER_CPU" "$TMP/sql_bare" "$TMP/b.db" "$DURATION")
BRATE=$(echo "$BARE" | sed 's/.*calls_per_s=\([0-9]*\).*/\1/')
echo "sql.sh: mcpd sql tool: ${RPS} calls/s over HTTP (${CONNS} conns), ${CPU_US} us CPU per call"
echo "sql.sh: bare SQLite loop: ${BRATE} calls/s on one thread"
awk -v a="$RPS" -v b="$BRATE" 'BEGIN { printf "sql.sh: ratio %.1f%% (issue 13 asks for at least 50%%)\n", 100 * a / b }'
