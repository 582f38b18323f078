#!/usr/bin/env bash
# sql kind benchmark (issue 13): calls/s of mcpd `sql` tools over Streamable HTTP (modern era,
# wrk with bench/http/echo.lua: the tool is named "echo" and takes "message") against the same
# query in a bare SQLite loop on one thread (bench/mcpd/sql_bare.c), for two queries
# (bench/mcpd/sql_db.sh):
#   search  the headline, on which issue 13's 50% is judged: the default config's search_books
#           (LIKE on title and author, ORDER BY year DESC LIMIT 10) over BOOKS (3000) books;
#   point   the floor: an indexed point lookup (~3 us in SQLite, less than the syscalls of one
#           HTTP exchange), with what the sql kind costs above an echo tool in the same run.
# Beside them, in the same run: an echo tool (bench/mcpd/echo_plugin.c, a plugin: the whole
# mcpd path without a backend) and nginx answering the point tool's answer bytes with
# `return 200` (the CPU floor of one HTTP exchange on this machine). Servers are pinned to
# SERVER_CPU, wrk to WRK_CPU; CPU per call is the server's utime+stime over the calls. Each
# run goes nginx, echo, then per query mcpd and bare in turn; RUNS runs, medians printed.
#
#   bash bench/mcpd/sql.sh     # [RUNS=3] [DURATION=5] [CONNS=16] [BOOKS=3000] [MCPD=...]
# Lines "sql.sh: run R: NAME key=value..." per run, then the medians; bench/run.sh reads the
# run lines.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCPD=${MCPD:-$ROOT/build/release/mcpd}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
BOOKS=${BOOKS:-3000}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
die() { echo "sql.sh: FAIL: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/mcpd/sql_db.sh
source "$ROOT/bench/mcpd/sql_db.sh"
[ -x "$MCPD" ] || die "build mcpd first (make)"
for t in wrk nginx sqlite3 curl taskset; do
    command -v "$t" >/dev/null || die "$t is missing: bash scripts/deps.sh --bench"
done
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT
cc -O2 "$ROOT/bench/mcpd/sql_bare.c" -lsqlite3 -o "$TMP/sql_bare"
cc -O2 -shared -fPIC -I "$ROOT/include" "$ROOT/bench/mcpd/echo_plugin.c" -o "$TMP/libecho.so"
make_sql_db "$TMP/b.db" "$BOOKS"
HZ=$(getconf CLK_TCK)
BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"MSG"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'

serve() { # NAME CONFIG: starts mcpd, sets PORT_<NAME> and PID_<NAME>
    local port
    port=$(pick_port)
    taskset -c "$SERVER_CPU" "$MCPD" --config "$2" --listen "127.0.0.1:$port" 2>"$TMP/$1.log" &
    PIDS+=($!)
    wait_port "$!" "$port" || { cat "$TMP/$1.log" >&2; die "mcpd ($1) did not start"; }
    printf -v "PORT_$1" %s "$port"
    printf -v "PID_$1" %s "$!"
}
call_once() { # PORT MESSAGE -> the answer body
    curl -sS -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' \
        --data "${BODY/MSG/$2}" "http://127.0.0.1:$1/mcp"
}
load() { # PID PORT MESSAGE -> "rps cpu_us_per_call"
    local t0 t1 out line reqs
    t0=$(cpu_ticks "$1")
    out=$(taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$ROOT/bench/http/echo.lua" \
        "http://127.0.0.1:$2/mcp" -- "message=$3")
    t1=$(cpu_ticks "$1")
    line=$(grep '^echo.lua:' <<<"$out") || die "wrk: $out"
    grep -q 'non200=0 noresult=0' <<<"$line" || die "bad answers: $line"
    reqs=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
    awk -v l="$line" -v n="$reqs" -v t="$((t1 - t0))" -v hz="$HZ" 'BEGIN {
        match(l, /rps=[0-9.]+/); printf "%s %.1f\n", substr(l, RSTART + 4, RLENGTH - 4), t / hz * 1e6 / n }'
}
bare() { # SQL MESSAGE -> "calls/s cpu_us_per_call"
    taskset -c "$SERVER_CPU" "$TMP/sql_bare" "$TMP/b.db" "$DURATION" "$1" "message=$2" |
        sed 's/.*calls_per_s=\([0-9]*\) cpu_us=\([0-9.]*\).*/\1 \2/'
}

sql_tool_config "$TMP/point.json" "$TMP/b.db" "$Q_POINT"
sql_tool_config "$TMP/search.json" "$TMP/b.db" "$Q_SEARCH"
cat >"$TMP/echo.json" <<JSON
{"tools": [{"kind": "plugin", "name": "echo", "path": "$TMP/libecho.so", "concurrency": 64}]}
JSON
serve point "$TMP/point.json"
serve search "$TMP/search.json"
serve echo "$TMP/echo.json"
# every answer is checked once by content (wrk checks status and "result" on every call)
call_once "$PORT_point" "$A_POINT" >"$TMP/point.body"
grep -q '"row_count":1,' "$TMP/point.body" || die "the point tool answers: $(cat "$TMP/point.body")"
call_once "$PORT_search" "$A_SEARCH" | grep -q '"row_count":10,' || die "the search tool does not find 10 books"
call_once "$PORT_echo" "$A_POINT" | grep -q '"text":"hello"' || die "the echo tool does not echo"
nginx_conf "$TMP/ng" "$(pick_port)" "$TMP/point.body"
PORT_nginx=$(sed -n 's/.*listen 127.0.0.1:\([0-9]*\);.*/\1/p' "$TMP/ng/nginx.conf")
taskset -c "$SERVER_CPU" nginx -p "$TMP/ng" -e "$TMP/ng/error.log" -c "$TMP/ng/nginx.conf" </dev/null &
PIDS+=($!)
PID_nginx=$!
wait_port "$PID_nginx" "$PORT_nginx" || die "nginx did not start"

for r in $(seq 1 "$RUNS"); do
    read -r rps cpu < <(load "$PID_nginx" "$PORT_nginx" x)
    echo "sql.sh: run $r: nginx_static rps=$rps cpu_us=$cpu"
    read -r rps cpu < <(load "$PID_echo" "$PORT_echo" "$A_POINT")
    echo "sql.sh: run $r: echo rps=$rps cpu_us=$cpu"
    for q in search point; do
        if [ $q = search ]; then sql=$Q_SEARCH a=$A_SEARCH; else sql=$Q_POINT a=$A_POINT; fi
        pid=PID_$q port=PORT_$q
        read -r rps cpu < <(load "${!pid}" "${!port}" "$a")
        read -r b bc < <(bare "$sql" "$a")
        echo "sql.sh: run $r: $q mcpd_rps=$rps mcpd_cpu_us=$cpu bare_rps=$b bare_cpu_us=$bc"
    done
done | tee "$TMP/runs"

med() { # PATTERN KEY -> median of KEY over the run lines matching PATTERN
    grep " $1 " "$TMP/runs" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ng=$(med nginx_static cpu_us) ec=$(med echo cpu_us) er=$(med echo rps)
echo "sql.sh: medians of $RUNS runs ($CONNS connections, ${DURATION} s each):"
for q in search point; do
    m=$(med $q mcpd_rps) c=$(med $q mcpd_cpu_us) b=$(med $q bare_rps) bc=$(med $q bare_cpu_us)
    if [ $q = search ]; then
        what="search (headline: search_books over $BOOKS books)"
        goal=" (issue 13 asks for at least 50%)"
    else
        what="point lookup (floor)"
        goal=""
    fi
    awk -v w="$what" -v m="$m" -v c="$c" -v b="$b" -v bc="$bc" -v g="$goal" 'BEGIN {
        printf "sql.sh: %s: mcpd %.0f calls/s, %.1f us CPU per call; bare SQLite %.0f calls/s, %.1f us CPU per call; ratio %.1f%% of the calls/s%s, %.1f%% by CPU per call\n",
            w, m, c, b, bc, 100 * m / b, g, 100 * bc / c }'
done
awk -v p="$(med point mcpd_cpu_us)" -v e="$ec" -v er="$er" -v n="$ng" 'BEGIN {
    printf "sql.sh: echo tool (plugin): %.0f calls/s, %.1f us CPU per call; the sql kind above it (point lookup): %.1f us CPU per call\n", er, e, p - e
    printf "sql.sh: nginx return 200 of the same answer: %.1f us CPU per request (the floor of any HTTP exchange here)\n", n }'
