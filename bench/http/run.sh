#!/usr/bin/env bash
# HTTP benchmark: a modern (2026-07-28, stateless) MCP `tools/call` of the `echo` tool,
# {"message":"hello"}, against our server, beside nginx answering the same bytes with
# `return 200` from a generated config. Both servers are pinned to one core, wrk to another,
# and they are measured alternately in the same run; medians are reported.
#
#   bash scripts/deps.sh --bench            # wrk, nginx-light
#   bash bench/http/run.sh                  # 3 runs x 10 s per server at 64 connections
#   (the full harness with every scenario and peer is bench/run.sh, `make bench`)
#   bash bench/http/run.sh --all-conns      # also at 1 and 16 connections
#
# Options (environment variables in brackets):
#   -d SECS        wrk duration of one run                    [DURATION=10]
#   -n RUNS        runs per server and connection count       [RUNS=3]
#   -c "LIST"      connection counts, e.g. "1 16 64"          [CONNS=64]
#   --all-conns    same as -c "1 16 64"
#   --profile      afterwards, `perf record -g` our server during one extra 5 s wrk run at the
#                  largest connection count and print the top functions (self time)
#   --keep         keep the temporary directory (logs, nginx config, wrk outputs)
#   [EVERYTHING=path]   the server binary (default build/release/everything)
#   [SERVER_CPU=0] [WRK_CPU=1] [WARMUP=2]   cores and warm-up seconds per server
#
# Per request, "CPU us" is utime+stime of the server process (all its threads, from
# /proc/PID/stat) over the wrk run divided by the requests wrk completed. One wrk thread on
# one core saturates near 90-95k req/s with a Lua body builder (FIELD-NOTES.md), so when both
# servers hit that ceiling req/s says little and the CPU column is the comparison.
#
# The run fails (exit 1) if any answer is not 200, lacks "result", or wrk reports socket
# errors: a wrong server cannot pass as a fast one.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LUA="$ROOT/bench/http/echo.lua"
EVERYTHING=${EVERYTHING:-$ROOT/build/release/everything}
[ -x "$EVERYTHING" ] || [ ! -x "$ROOT/build/bench/everything" ] || EVERYTHING=$ROOT/build/bench/everything
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
WARMUP=${WARMUP:-2}
PROFILE=0
KEEP=0

while [ $# -gt 0 ]; do
    case "$1" in
        -d) DURATION=$2; shift 2 ;;
        -n) RUNS=$2; shift 2 ;;
        -c) CONNS=$2; shift 2 ;;
        --all-conns) CONNS="1 16 64"; shift ;;
        --profile) PROFILE=1; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option: $1" >&2; exit 2 ;;
    esac
done

die() { echo "run.sh: FAIL: $*" >&2; exit 1; }
# pick_port, wait_port, cpu_ticks, nginx_conf
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for t in wrk nginx taskset curl ss awk; do
    command -v "$t" >/dev/null || die "$t not found (run: bash scripts/deps.sh --bench)"
done
[ -x "$EVERYTHING" ] || die "no server binary at $EVERYTHING (build it, or set EVERYTHING=path)"
[ "$(nproc)" -ge 2 ] || echo "run.sh: warning: fewer than 2 cores: server and wrk share a core" >&2

TICK=$(getconf CLK_TCK)
T=$(mktemp -d "${TMPDIR:-/tmp}/mcpd-bench-http.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "$KEEP" = 1 ]; then echo "run.sh: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# utime+stime of the children this shell has waited for (wrk), in clock ticks; no fork.
self_child_ticks() {
    local s
    read -r s <"/proc/$$/stat"
    s=${s##*) }
    set -- $s
    echo $((${14} + ${15}))
}

REQ_BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}}}'
post() { # url outbody outheaders -> prints the status
    curl -sS -o "$2" -D "$3" -w '%{http_code}' -X POST "$1" \
        -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' \
        -H 'MCP-Protocol-Version: 2026-07-28' \
        -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' \
        --data-binary "$REQ_BODY"
}

# ---- our server -----------------------------------------------------------------------------
P_MCPD=$(pick_port)
taskset -c "$SERVER_CPU" "$EVERYTHING" --listen "127.0.0.1:$P_MCPD" --workers 1 --threads 1 \
    </dev/null >"$T/mcpd.out" 2>"$T/mcpd.log" &
MCPD=$!
PIDS+=("$MCPD")
wait_port "$MCPD" "$P_MCPD" || { cat "$T/mcpd.log" >&2; die "$EVERYTHING did not listen on 127.0.0.1:$P_MCPD"; }
[ "$(readlink -f "/proc/$MCPD/exe")" = "$(readlink -f "$EVERYTHING")" ] ||
    die "pid $MCPD is not $EVERYTHING: CPU would be read from the wrong process"
grep -q 'http: listening on http://' "$T/mcpd.log" ||
    echo "run.sh: warning: no 'http: listening on' line in the server log" >&2

code=$(post "http://127.0.0.1:$P_MCPD/mcp" "$T/mcpd.body" "$T/mcpd.headers") || die "curl to our server failed"
[ "$code" = 200 ] || { cat "$T/mcpd.headers" "$T/mcpd.body" >&2; die "our server answered $code to the echo call"; }
grep -qi '^content-type: *application/json' "$T/mcpd.headers" ||
    { cat "$T/mcpd.headers" >&2; die "our server did not answer application/json"; }
grep -q '"result"' "$T/mcpd.body" && grep -q '"text":"hello"' "$T/mcpd.body" ||
    { cat "$T/mcpd.body" >&2; die "our server's answer is not the echo result"; }

# ---- nginx, answering the same bytes ---------------------------------------------------------
P_NGINX=$(pick_port)
while [ "$P_NGINX" = "$P_MCPD" ]; do P_NGINX=$(pick_port); done
nginx_conf "$T/nginx" "$P_NGINX" "$T/mcpd.body"
taskset -c "$SERVER_CPU" nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" \
    </dev/null >"$T/nginx/stdout" 2>&1 &
NGINX=$!
PIDS+=("$NGINX")
wait_port "$NGINX" "$P_NGINX" || { cat "$T/nginx/stdout" "$T/nginx/error.log" >&2; die "nginx did not start"; }
[ "$(readlink -f "/proc/$NGINX/exe")" = "$(readlink -f "$(command -v nginx)")" ] ||
    die "pid $NGINX is not nginx: CPU would be read from the wrong process"
code=$(post "http://127.0.0.1:$P_NGINX/mcp" "$T/nginx.body" "$T/nginx.headers") || die "curl to nginx failed"
[ "$code" = 200 ] && cmp -s "$T/mcpd.body" "$T/nginx.body" ||
    { diff "$T/mcpd.body" "$T/nginx.body" >&2 || true; die "nginx does not answer the same bytes"; }

# ---- measurement ----------------------------------------------------------------------------
# One wrk run against server $1 (pid $2, port $3) with $4 connections for $5 seconds.
# Appends "server conns rps p50_us p99_us cpu_us_per_req" to $T/results.
RUN_N=0
run_wrk() {
    local name=$1 pid=$2 port=$3 conns=$4 secs=$5 record=${6:-1} out before after line
    RUN_N=$((RUN_N + 1))
    out="$T/wrk-$RUN_N-$name-c$conns.txt"
    before=$(cpu_ticks "$pid")
    local wb wa
    wb=$(self_child_ticks)
    taskset -c "$WRK_CPU" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$LUA" \
        "http://127.0.0.1:$port/mcp" >"$out" 2>&1 || { cat "$out" >&2; die "wrk against $name failed (c=$conns)"; }
    wa=$(self_child_ticks)
    after=$(cpu_ticks "$pid")
    line=$(grep '^echo.lua: requests=' "$out") || { cat "$out" >&2; die "no result line from echo.lua ($name)"; }
    kv() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" ${line#echo.lua: }"; }
    local req rps p50 p99 e
    req=$(kv requests); rps=$(kv rps); p50=$(kv p50_us); p99=$(kv p99_us)
    for e in errors_connect errors_read errors_write errors_timeout non200 noresult; do
        [ "$(kv $e)" = 0 ] || { cat "$out" >&2; die "$name (c=$conns): $e=$(kv $e)"; }
    done
    [ "$req" -gt 0 ] || die "$name (c=$conns): no requests completed"
    kill -0 "$pid" 2>/dev/null || die "$name exited during the run"
    local cpu busy wbusy dur
    dur=$(kv duration_us)
    cpu=$(awk -v b="$before" -v a="$after" -v t="$TICK" -v n="$req" 'BEGIN{printf "%.2f", (a-b)*1e6/t/n}')
    busy=$(awk -v b="$before" -v a="$after" -v t="$TICK" -v d="$dur" 'BEGIN{printf "%.0f", (a-b)/t/(d/1e6)*100}')
    wbusy=$(awk -v b="$wb" -v a="$wa" -v t="$TICK" -v d="$dur" 'BEGIN{printf "%.0f", (a-b)/t/(d/1e6)*100}')
    if [ "$record" = 1 ]; then
        echo "$name $conns $rps $p50 $p99 $cpu $busy $wbusy" >>"$T/results"
        printf '  run %-2s %-6s c=%-3s %8.0f req/s  p50 %6s us  p99 %6s us  %6s us CPU/req  server busy %3s%%  wrk busy %3s%%  (%s requests)\n' \
            "$RUN_N" "$name" "$conns" "$rps" "$p50" "$p99" "$cpu" "$busy" "$wbusy" "$req" >&2
    fi
}

# How busy the two cores are before we start (our servers are idle now): other programs on
# them make req/s meaningless and inflate CPU per request (cache, context switches).
core_busy() { # prints "busy% of core $SERVER_CPU, busy% of core $WRK_CPU" over one second
    local a b
    a=$(grep -E "^cpu($SERVER_CPU|$WRK_CPU) " /proc/stat)
    sleep 1
    b=$(grep -E "^cpu($SERVER_CPU|$WRK_CPU) " /proc/stat)
    printf '%s\n%s\n' "$a" "$b" | awk '{ idle = $5 + $6; tot = 0; for (i = 2; i <= 9; i++) tot += $i
        if ($1 in t0) { printf "%s %.0f%% ", $1, 100 - 100 * (idle - i0[$1]) / (tot - t0[$1]) }
        else { t0[$1] = tot; i0[$1] = idle } }'
}
OTHER_LOAD=$(core_busy)
echo "run.sh: before start, busy from other programs: $OTHER_LOAD" >&2
awk -v l="$OTHER_LOAD" 'BEGIN{ n = split(l, f, " "); for (i = 2; i <= n; i += 2) if (f[i] + 0 > 10) exit 1 }' ||
    echo "run.sh: WARNING: the benchmark cores are not idle; req/s and latency will be noisy" >&2

echo "run.sh: mcpd $EVERYTHING (pid $MCPD, 127.0.0.1:$P_MCPD), nginx $(nginx -v 2>&1 | sed 's/.*\///') (pid $NGINX, 127.0.0.1:$P_NGINX)" >&2
echo "run.sh: servers on core $SERVER_CPU, wrk on core $WRK_CPU; $RUNS runs x ${DURATION}s per server; connections: $CONNS" >&2
: >"$T/results"
first_conns=${CONNS%% *}
max_conns=$(tr ' ' '\n' <<<"$CONNS" | sort -n | tail -1)
if [ "$WARMUP" -gt 0 ]; then
    run_wrk mcpd "$MCPD" "$P_MCPD" "$first_conns" "$WARMUP" 0
    run_wrk nginx "$NGINX" "$P_NGINX" "$first_conns" "$WARMUP" 0
fi
for c in $CONNS; do
    for r in $(seq 1 "$RUNS"); do
        # Alternate, and swap who goes first each round, so drift hits both alike.
        if [ $((r % 2)) = 1 ]; then
            run_wrk mcpd "$MCPD" "$P_MCPD" "$c" "$DURATION"
            run_wrk nginx "$NGINX" "$P_NGINX" "$c" "$DURATION"
        else
            run_wrk nginx "$NGINX" "$P_NGINX" "$c" "$DURATION"
            run_wrk mcpd "$MCPD" "$P_MCPD" "$c" "$DURATION"
        fi
    done
done

# ---- report ---------------------------------------------------------------------------------
median() { sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'; }
col() { awk -v s="$1" -v c="$2" -v k="$3" '$1==s && $2==c {print $k}' "$T/results" | median; }
us() { awk -v v="$1" 'BEGIN{ if (v >= 1000) printf "%.2f ms", v/1000; else printf "%.0f us", v }'; }

echo
echo "HTTP tools/call echo (2026-07-28, stateless): $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'),"
echo "$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo), $(uname -r), $(wrk --version 2>&1 | head -1 | awk '{print $1, $2}'), nginx $(nginx -v 2>&1 | sed 's/.*\///');"
echo "servers pinned to core $SERVER_CPU (mcpd --workers 1 --threads 1), wrk -t1 on core $WRK_CPU, ${DURATION}s x $RUNS runs each, medians;"
echo "cores busy with other programs before the start: $OTHER_LOAD"
echo
echo "| server | conns | req/s (median) | p50 | p99 | CPU us/request | req/s vs nginx | CPU vs nginx | server core busy | wrk core busy |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONNS; do
    n_rps=$(col nginx "$c" 3); n_cpu=$(col nginx "$c" 6)
    for s in mcpd nginx; do
        rps=$(col $s "$c" 3); p50=$(col $s "$c" 4); p99=$(col $s "$c" 5); cpu=$(col $s "$c" 6)
        busy=$(col $s "$c" 7); wbusy=$(col $s "$c" 8)
        awk -v s="$s" -v c="$c" -v r="$rps" -v p50="$(us "$p50")" -v p99="$(us "$p99")" -v cpu="$cpu" \
            -v nr="$n_rps" -v nc="$n_cpu" -v b="$busy" -v wb="$wbusy" 'BEGIN{
            printf "| %s | %d | %.0f | %s | %s | %.2f | %.2fx | %.2fx | %.0f%% | %.0f%% |\n", s, c, r, p50, p99, cpu,
                (nr > 0 ? r/nr : 0), (nc > 0 ? cpu/nc : 0), b, wb }'
    done
done

# ---- optional profile -----------------------------------------------------------------------
if [ "$PROFILE" = 1 ]; then
    command -v perf >/dev/null || die "--profile needs perf (linux-perf)"
    echo
    echo "perf record -g on mcpd (pid $MCPD) during a 5 s wrk run at c=$max_conns (self time):"
    perf record -g -o "$T/perf.data" -p "$MCPD" -- sleep 6 >"$T/perf.log" 2>&1 &
    PERF=$!
    sleep 0.5
    run_wrk mcpd "$MCPD" "$P_MCPD" "$max_conns" 5 0
    wait "$PERF" || { cat "$T/perf.log" >&2; die "perf record failed"; }
    perf report -i "$T/perf.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.7 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -40
    if [ "$KEEP" = 1 ]; then echo "(perf data: $T/perf.data)"; fi
fi
