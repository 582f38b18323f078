#!/usr/bin/env bash
# Instructions and context switches per sql tool call (issue 13), repeatable whatever the load:
# for each mcpd binary given, the sql tool of bench/mcpd/sql.sh under
# `valgrind --tool=callgrind` (user-space instructions of all threads, counters zeroed after a
# warm-up, 5 s of wrk with 4 connections), then natively under `perf stat -e context-switches`
# (3 s of wrk, 16 connections). Prints one line per binary.
#
#   bash bench/mcpd/sql_cg.sh build/release/mcpd [OTHER_MCPD...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || set -- "$ROOT/build/release/mcpd"
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT
sqlite3 "$T/b.db" "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, email TEXT); CREATE INDEX users_name ON users(name); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<1000) INSERT INTO users(name, email) SELECT 'user' || x, 'u' || x || '@example.com' FROM c; INSERT INTO users(name, email) VALUES ('hello', 'hello@example.com');"
cat > "$T/c.json" <<JSON
{"tools": [{"kind": "sql", "name": "echo", "database": "$T/b.db",
  "sql": "SELECT id, name, email FROM users WHERE name = :message",
  "arguments": {"message": {"type": "string"}}, "concurrency": 64}]}
JSON
serve() { # CMD... : starts mcpd, sets PID and URL
    "$@" --config "$T/c.json" --listen 127.0.0.1:0 2>"$T/log" &
    PID=$!
    for _ in $(seq 600); do grep -q "listening on" "$T/log" && break; sleep 0.1; done
    URL=$(grep -o 'http://[^ ]*' "$T/log" | head -1)
    [ -n "$URL" ] || { cat "$T/log" >&2; exit 1; }
}
calls() { grep '^echo.lua:' <<<"$1" | sed 's/.*requests=\([0-9]*\).*/\1/'; }
for bin in "$@"; do
    serve valgrind --tool=callgrind --callgrind-out-file="$T/cg.%p" "$bin"
    wrk -t1 -c4 -d2s -s "$ROOT/bench/http/echo.lua" "$URL" >/dev/null
    callgrind_control -z "$PID" >/dev/null
    out=$(wrk -t1 -c4 -d5s -s "$ROOT/bench/http/echo.lua" "$URL")
    callgrind_control -d "$PID" >/dev/null
    kill "$PID"; wait "$PID" 2>/dev/null || true
    ir=$(grep -h '^summary:' "$T"/cg.$PID.1 | awk '{print $2}')
    irc=$(awk -v i="$ir" -v n="$(calls "$out")" 'BEGIN{printf "%.0f", i/n}')
    rm -f "$T"/cg.*
    serve "$bin"
    perf stat -x, -e context-switches -p "$PID" -o "$T/perf" -- sleep 3 &
    pp=$!
    out=$(wrk -t1 -c16 -d3s -s "$ROOT/bench/http/echo.lua" "$URL")
    wait "$pp"
    kill "$PID"; wait "$PID" 2>/dev/null || true
    cs=$(awk -F, '/context-switches/{print $1}' "$T/perf")
    echo "sql_cg.sh: $bin: $irc instructions per call, $(awk -v c="$cs" -v n="$(calls "$out")" 'BEGIN{printf "%.2f", c/n}') context switches per call"
done
PID=
