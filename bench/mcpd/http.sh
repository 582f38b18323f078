#!/usr/bin/env bash
# http kind benchmark (issue 13): server CPU per call of an mcpd `http` tool against nginx
# `proxy_pass` to the same upstream, and both rates.
#
# The upstream is a second nginx answering `return 200` with a small JSON body; both proxies
# fetch it with GET /?m=hello over kept-alive connections (nginx: an upstream block with
# `keepalive`, `proxy_http_version 1.1` and an empty Connection header, and no limit on the
# requests per upstream connection; mcpd: libcurl's connection cache). wrk (bench/mcpd/http.lua)
# sends the same number of calls (CALLS) to each, 16 connections, and checks every answer: nginx
# must return the upstream's bytes, mcpd a tools/call result whose structured content holds them.
# The proxy under test is pinned to SERVER_CPU, wrk and the upstream to WRK_CPU; mcpd runs one
# HTTP worker (`http.workers`), as nginx runs one worker process. CPU per call is
# utime+stime of the proxy's process (nginx runs one worker and no master; mcpd: every thread of
# its process) over the run, divided by the answers. The two run PAIRS times, interleaved (nginx,
# mcpd, nginx, mcpd, ...); the summary lines are the medians, and the ratio is the median of the
# pairs' ratios.
#
#   bash scripts/deps.sh --bench && bash bench/mcpd/http.sh   # [CALLS=30000] [PAIRS=3] [CONNS=16]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCPD=${MCPD:-$ROOT/build/release/mcpd}
CALLS=${CALLS:-30000}
PAIRS=${PAIRS:-3}
CONNS=${CONNS:-16}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
LUA=$ROOT/bench/mcpd/http.lua
die() { echo "http.sh: FAIL: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
[ -x "$MCPD" ] || die "build mcpd first (make)"
command -v nginx >/dev/null || die "nginx is missing: bash scripts/deps.sh --bench"
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT

# shellcheck source=bench/mcpd/http_lib.sh
source "$ROOT/bench/mcpd/http_lib.sh"
http_upstream_start

PPORT=$(pick_port)
nginx_dir "$TMP/proxy" "$PPORT" "location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"
taskset -c "$SERVER_CPU" nginx -p "$TMP/proxy" -e "$TMP/proxy/error.log" -c "$TMP/proxy/nginx.conf" & PIDS+=($!)
NPID=$!
wait_port "$NPID" "$PPORT" || die "the proxy did not start"

# one HTTP worker, as nginx has one worker process: both pinned to the one core SERVER_CPU
# (mcpd's default is one worker per online core, whatever the affinity mask)
http_mcpd_config "$TMP/c.json"
taskset -c "$SERVER_CPU" "$MCPD" --config "$TMP/c.json" --listen 127.0.0.1:0 2>"$TMP/mcpd.log" & PIDS+=($!)
MPID=$!
for _ in $(seq 300); do grep -q "listening on" "$TMP/mcpd.log" && break; sleep 0.1; done
MURL=$(grep -o 'http://[^ ]*' "$TMP/mcpd.log" | head -1)
[ -n "$MURL" ] || die "mcpd did not start: $(cat "$TMP/mcpd.log")"

HZ=$(getconf CLK_TCK)
measure() { # PID URL MODE EXPECT -> "answers cpu_us_per_answer answers_per_s"
    local pid=$1 url=$2 mode=$3 expect=$4 t0 t1 out line n dus
    rm -f "$TMP/done"
    t0=$(cpu_ticks "$pid")
    taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d300s -s "$LUA" "$url" -- \
        mode="$mode" calls="$CALLS" expect="$expect" done="$TMP/done" >"$TMP/wrk.out" &
    local w=$!
    while [ ! -e "$TMP/done" ] && kill -0 "$w" 2>/dev/null; do sleep 0.02; done
    kill -INT "$w" 2>/dev/null || true
    wait "$w" || die "bad answers ($mode): $(cat "$TMP/wrk.out")"
    t1=$(cpu_ticks "$pid")
    out=$(cat "$TMP/wrk.out")
    line=$(echo "$out" | grep '^http.lua:') || die "no summary from wrk: $out"
    n=$(sed 's/.*responses=\([0-9]*\).*/\1/' <<<"$line")
    dus=$(sed 's/.*duration_us=\([0-9]*\).*/\1/' <<<"$line")
    awk -v n="$n" -v t="$((t1 - t0))" -v hz="$HZ" -v d="$dus" \
        'BEGIN { printf "%d %.1f %.0f\n", n, t / hz * 1e6 / n, n / (d / 1e6) }'
}
# a short warm-up of each (connections, caches), not counted
CALLS=2000 measure "$NPID" "http://127.0.0.1:$PPORT/?m=hello" get "$BODY" >/dev/null
CALLS=2000 measure "$MPID" "$MURL" mcp '"n":42' >/dev/null

: >"$TMP/runs"
for p in $(seq 1 "$PAIRS"); do
    read -r NREQ NCPU NRPS < <(measure "$NPID" "http://127.0.0.1:$PPORT/?m=hello" get "$BODY")
    read -r MREQ MCPU MRPS < <(measure "$MPID" "$MURL" mcp '"n":42')
    echo "http.sh: pair $p: nginx ${NRPS} req/s ${NCPU} us/req (${NREQ}); mcpd ${MRPS} calls/s ${MCPU} us/call (${MREQ})"
    echo "$NRPS $NCPU $MRPS $MCPU" >>"$TMP/runs"
done
med() { # COLUMN -> the median of that column of the runs
    awk -v c="$1" '{print $c}' "$TMP/runs" | sort -g |
        awk '{v[NR]=$1} END { if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'
}
RATIO=$(awk '{print $4 / $2}' "$TMP/runs" | sort -g |
    awk '{v[NR]=$1} END { if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }')
echo "http.sh: nginx proxy_pass: $(med 1) req/s, $(med 2) us CPU per request ($CALLS requests, median of $PAIRS)"
echo "http.sh: mcpd http tool:   $(med 3) calls/s, $(med 4) us CPU per call ($CALLS calls, median of $PAIRS)"
awk -v r="$RATIO" 'BEGIN { printf "http.sh: CPU per call %.2fx nginx (median of the pairs; issue 13 asks for at most 1.5x)\n", r }'
