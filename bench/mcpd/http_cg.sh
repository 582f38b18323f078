#!/usr/bin/env bash
# Instructions and system calls per http tool call (issue 13), repeatable whatever the load:
# the `echo` http tool of bench/mcpd/http.sh (GET of an nginx upstream answering a small JSON
# body) under `valgrind --tool=callgrind` (user-space instructions of all of mcpd's threads,
# counters zeroed after a 1 s warm-up, then 3 s of wrk with 2 connections), then natively under
# `strace -c -f` (system calls of all threads over CALLS calls, 16 connections), and nginx's
# proxy_pass to the same upstream under the same strace for comparison. Prints one line each.
#
#   bash bench/mcpd/http_cg.sh [build/release/mcpd]   # [CALLS=5000] [CG_KEEP=FILE: the profile]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCPD=${1:-$ROOT/build/release/mcpd}
CALLS=${CALLS:-5000}
WRK_CPU=${WRK_CPU:-1}
LUA=$ROOT/bench/mcpd/http.lua
die() { echo "http_cg.sh: FAIL: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
command -v valgrind >/dev/null || die "valgrind is missing: bash scripts/deps.sh --bench"
command -v strace >/dev/null || die "strace is missing: bash scripts/deps.sh --bench"
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT
# shellcheck source=bench/mcpd/http_lib.sh
source "$ROOT/bench/mcpd/http_lib.sh"
http_upstream_start
http_mcpd_config "$TMP/c.json"

serve() { # CMD... : starts mcpd under CMD, sets PID and URL
    "$@" "$MCPD" --config "$TMP/c.json" --listen 127.0.0.1:0 2>"$TMP/log" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 600); do grep -q "listening on" "$TMP/log" && break; sleep 0.1; done
    URL=$(grep -o 'http://[^ ]*' "$TMP/log" | head -1)
    [ -n "$URL" ] || die "mcpd did not start: $(cat "$TMP/log")"
}
load() { # URL MODE EXPECT CONNS SECONDS CALLS -> the answers (all checked)
    local out w
    rm -f "$TMP/done"
    taskset -c "$WRK_CPU" wrk -t1 -c"$4" -d"$5"s -s "$LUA" "$1" -- mode="$2" calls="$6" \
        expect="$3" done="$TMP/done" >"$TMP/wrk.out" &
    w=$!
    # wrk's main thread sleeps the whole -d: once the calls are in, SIGINT ends it
    while [ ! -e "$TMP/done" ] && kill -0 "$w" 2>/dev/null; do sleep 0.02; done
    kill -INT "$w" 2>/dev/null || true
    wait "$w" || die "bad answers: $(cat "$TMP/wrk.out")"
    out=$(cat "$TMP/wrk.out")
    grep '^http.lua:' <<<"$out" | sed 's/.*responses=\([0-9]*\).*/\1/'
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

# instructions per call
serve valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.%p"
load "$URL" mcp '"n":42' 2 1 100000000 >/dev/null
callgrind_control -z "$PID" >/dev/null 2>&1
N=$(load "$URL" mcp '"n":42' 2 3 100000000)
callgrind_control -d "$PID" >/dev/null 2>&1
stop "$PID"
IR=$(grep -h '^summary:' "$TMP"/cg."$PID".1 | awk '{print $2}')
[ -n "${CG_KEEP:-}" ] && cp "$TMP"/cg."$PID".1 "$CG_KEEP" # for callgrind_annotate
awk -v i="$IR" -v n="$N" 'BEGIN { printf "http_cg.sh: mcpd: %.0f instructions per call (%d calls under callgrind)\n", i / n, n }'

# system calls per call (a short warm-up first: connections, caches)
strace_calls() { # PID URL MODE EXPECT -> system calls per answer
    local pid=$1 st=$TMP/strace.$1 n
    strace -c -f -o "$st" -p "$pid" 2>/dev/null &
    local sp=$!
    sleep 0.5
    n=$(load "$2" "$3" "$4" 16 300 "$CALLS")
    kill -INT "$sp"; wait "$sp" 2>/dev/null || true
    awk -v n="$n" '/ total$/ { printf "%.1f", $4 / n }' "$st"
}
serve env
load "$URL" mcp '"n":42' 16 1 2000 >/dev/null
echo "http_cg.sh: mcpd: $(strace_calls "$PID" "$URL" mcp '"n":42') system calls per call ($CALLS calls, strace -c -f)"
stop "$PID"
PPORT=$(pick_port)
nginx_dir "$TMP/proxy" "$PPORT" "location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"
nginx -p "$TMP/proxy" -e "$TMP/proxy/error.log" -c "$TMP/proxy/nginx.conf" &
NPID=$!
PIDS+=("$NPID")
wait_port "$NPID" "$PPORT" || die "the proxy did not start"
load "http://127.0.0.1:$PPORT/?m=hello" get "$BODY" 16 1 2000 >/dev/null
echo "http_cg.sh: nginx proxy_pass: $(strace_calls "$NPID" "http://127.0.0.1:$PPORT/?m=hello" get "$BODY") system calls per request"
