#!/usr/bin/env bash
# The access log's cost: the modern `tools/call` echo of bench/http/echo.lua against two
# `everything` servers, one without an access log and one writing JSON lines to a file
# (--access-log FILE --access-log-format json), measured alternately in the same run; medians
# of req/s and of server CPU per request (utime+stime over the run / requests). Both servers on
# one core (one worker, one handler thread), wrk on another, as bench/http/run.sh.
#
#   bash bench/http/access_log.sh           # 3 runs x 5 s per server at 64 connections (~40 s)
#   [EVERYTHING=path] [DURATION=5] [RUNS=3] [CONNS=64] [SERVER_CPU=0] [WRK_CPU=1]
#
# Fails if an answer is not the echo result, or if the log does not hold one line per request.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LUA="$ROOT/bench/http/echo.lua"
EVERYTHING=${EVERYTHING:-$ROOT/build/release/everything}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}

die() { echo "access_log.sh: FAIL: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
for t in wrk taskset awk; do command -v "$t" >/dev/null || die "$t not found (bash scripts/deps.sh --bench)"; done
[ -x "$EVERYTHING" ] || die "no server binary at $EVERYTHING (build it, or set EVERYTHING=path)"

TICK=$(getconf CLK_TCK)
T=$(mktemp -d "${TMPDIR:-/tmp}/mcpd-bench-alog.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

start() { # name args... -> sets SPID SPORT
    local name=$1 port
    shift
    port=$(pick_port)
    taskset -c "$SERVER_CPU" "$EVERYTHING" --listen "127.0.0.1:$port" --workers 1 --threads 1 "$@" \
        </dev/null >/dev/null 2>"$T/$name.log" &
    SPID=$!
    SPORT=$port
    PIDS+=("$SPID")
    wait_port "$SPID" "$port" || { cat "$T/$name.log" >&2; die "$name did not start"; }
}

start off
P_OFF=$SPID PORT_OFF=$SPORT
start on --access-log "$T/access.log" --access-log-format json
P_ON=$SPID PORT_ON=$SPORT

declare -A TOTAL=([off]=0 [on]=0)
run() { # name pid port secs record
    local name=$1 pid=$2 port=$3 secs=$4 record=$5 out before after line
    out="$T/wrk-$name.txt"
    before=$(cpu_ticks "$pid")
    taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"${secs}s" -s "$LUA" "http://127.0.0.1:$port/mcp" \
        >"$out" 2>&1 || { cat "$out" >&2; die "wrk against $name failed"; }
    after=$(cpu_ticks "$pid")
    line=$(grep '^echo.lua: requests=' "$out") || { cat "$out" >&2; die "no result line ($name)"; }
    kv() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" ${line#echo.lua: }"; }
    local e
    for e in errors_connect errors_read errors_write errors_timeout non200 noresult; do
        [ "$(kv $e)" = 0 ] || { cat "$out" >&2; die "$name: $e=$(kv $e)"; }
    done
    TOTAL[$name]=$((TOTAL[$name] + $(kv requests)))
    [ "$record" = 1 ] || return 0
    local cpu
    cpu=$(awk -v b="$before" -v a="$after" -v t="$TICK" -v n="$(kv requests)" 'BEGIN{printf "%.2f", (a-b)*1e6/t/n}')
    echo "$name $(kv rps) $cpu" >>"$T/results"
    printf '  %-4s %8.0f req/s  %6s us CPU/req\n' "$name" "$(kv rps)" "$cpu" >&2
}

: >"$T/results"
run off "$P_OFF" "$PORT_OFF" 1 0
run on "$P_ON" "$PORT_ON" 1 0
for _ in $(seq 1 "$RUNS"); do
    run off "$P_OFF" "$PORT_OFF" "$DURATION" 1
    run on "$P_ON" "$PORT_ON" "$DURATION" 1
done

# every request has its line (the last ones within the 250 ms flush)
sleep 1
lines=$(wc -l <"$T/access.log")
[ "$lines" -ge "${TOTAL[on]}" ] || die "the log holds $lines lines for ${TOTAL[on]} requests"

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for n in off on; do
    rps=$(awk -v n=$n '$1==n{print $2}' "$T/results" | median)
    cpu=$(awk -v n=$n '$1==n{print $3}' "$T/results" | median)
    printf '%s: median %.0f req/s, %s us CPU/req\n' "$n" "$rps" "$cpu"
done
echo "log: $lines lines, $(wc -c <"$T/access.log") bytes"
