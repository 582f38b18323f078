#!/usr/bin/env bash
# Instructions and context switches per sql tool call (issue 13), repeatable whatever the load:
# for each mcpd binary given, the point-lookup sql tool of bench/mcpd/sql.sh and the echo plugin
# tool (bench/mcpd/echo_plugin.c, the same path without a backend) under
# `valgrind --tool=callgrind` (user-space instructions of all threads, counters zeroed after a
# 1 s warm-up, 3 s of wrk with 2 connections: more queue calls for handler threads slowed down
# by valgrind until the overload control answers 503), the sql tool then natively under
# `perf stat -e context-switches` (3 s of wrk, 16 connections); and once the bare SQLite loop
# of the same query (bench/mcpd/sql_bare.c). Prints one line per binary and one for the loop.
#
#   bash bench/mcpd/sql_cg.sh build/release/mcpd [OTHER_MCPD...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || set -- "$ROOT/build/release/mcpd"
# shellcheck source=bench/mcpd/sql_db.sh
source "$ROOT/bench/mcpd/sql_db.sh"
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT
make_sql_db "$T/b.db" 100
sql_tool_config "$T/sql.json" "$T/b.db" "$Q_POINT"
cc -O2 -shared -fPIC -I "$ROOT/include" "$ROOT/bench/mcpd/echo_plugin.c" -o "$T/libecho.so"
cc -O2 "$ROOT/bench/mcpd/sql_bare.c" -lsqlite3 -o "$T/sql_bare"
cat >"$T/echo.json" <<JSON
{"tools": [{"kind": "plugin", "name": "echo", "path": "$T/libecho.so", "concurrency": 64}]}
JSON
serve() { # CONFIG CMD... : starts mcpd, sets PID and URL
    local cfg=$1
    shift
    "$@" --config "$cfg" --listen 127.0.0.1:0 2>"$T/log" &
    PID=$!
    for _ in $(seq 600); do grep -q "listening on" "$T/log" && break; sleep 0.1; done
    URL=$(grep -o 'http://[^ ]*' "$T/log" | head -1)
    [ -n "$URL" ] || { cat "$T/log" >&2; exit 1; }
}
calls() { grep '^echo.lua:' <<<"$1" | sed 's/.*requests=\([0-9]*\).*/\1/'; }
irs() { # BIN CONFIG -> instructions per call
    serve "$2" valgrind --tool=callgrind --callgrind-out-file="$T/cg.%p" "$1"
    wrk -t1 -c2 -d1s -s "$ROOT/bench/http/echo.lua" "$URL" >/dev/null || true
    callgrind_control -z "$PID" >/dev/null 2>&1
    local out ir
    out=$(wrk -t1 -c2 -d3s -s "$ROOT/bench/http/echo.lua" "$URL") ||
        { echo "sql_cg.sh: wrong answers under callgrind: $out" >&2; exit 1; }
    callgrind_control -d "$PID" >/dev/null 2>&1
    kill "$PID"; wait "$PID" 2>/dev/null || true
    ir=$(grep -h '^summary:' "$T"/cg."$PID".1 | awk '{print $2}')
    rm -f "$T"/cg.*
    awk -v i="$ir" -v n="$(calls "$out")" 'BEGIN{printf "%.0f", i/n}'
}
for bin in "$@"; do
    sql=$(irs "$bin" "$T/sql.json")
    echo=$(irs "$bin" "$T/echo.json")
    [ -n "$sql" ] && [ -n "$echo" ] || exit 1
    serve "$T/sql.json" "$bin"
    perf stat -x, -e context-switches -p "$PID" -o "$T/perf" -- sleep 3 &
    pp=$!
    out=$(wrk -t1 -c16 -d3s -s "$ROOT/bench/http/echo.lua" "$URL")
    wait "$pp"
    kill "$PID"; wait "$PID" 2>/dev/null || true
    PID=
    cs=$(awk -F, '/context-switches/{print $1}' "$T/perf")
    echo "sql_cg.sh: $bin: sql $sql instructions per call, echo $echo, the sql kind above echo $((sql - echo));" \
        "sql: $(awk -v c="$cs" -v n="$(calls "$out")" 'BEGIN{printf "%.2f", c/n}') context switches per call"
done
out=$(valgrind --tool=callgrind --callgrind-out-file="$T/bare.cg" "$T/sql_bare" "$T/b.db" 1 "$Q_POINT" "message=$A_POINT" 2>/dev/null)
n=$(sed 's/.*calls=\([0-9]*\).*/\1/' <<<"$out")
echo "sql_cg.sh: bare SQLite loop: $(awk -v i="$(grep -h '^summary:' "$T/bare.cg" | awk '{print $2}')" -v n="$n" 'BEGIN{printf "%.0f", i/n}') instructions per call (same query)"
