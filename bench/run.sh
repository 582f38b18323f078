#!/usr/bin/env bash
# The benchmark harness (issue 4): our server beside the peers users would otherwise pick, on
# this machine, in the same run. Starts every server itself, checks each answers right before
# measuring it, runs the scenarios, and writes raw results to bench/results/<stamp>/ (then
# bench/report.sh turns them into docs/benchmarks.md and docs/bench/*.png).
#
#   make bench                      everything (deps, build, all scenarios, report): < 20 min
#   make bench-http                 scenario 1 (+8) only, short
#   bash bench/run.sh               what make bench runs after building
#   BENCH_QUICK=1 bash bench/run.sh     1 run x 2 s, fewer connections and sessions
#   SCENARIOS="3 4" bash bench/run.sh   a subset
#
# Peers:
#   mcpd   build/bench/everything --listen 127.0.0.1:PORT --workers 1 --threads 1 (examples/)
#          and, for scenario 7, build/bench/bench_server --tools 1000 (bench/servers/)
#   ts     the official TypeScript SDK server, bench/peers/ts_server.mjs (McpServer +
#          StreamableHTTPServerTransport on node's http): stateless for 1, 6; stateful for 2-5, 7
#   nginx  nginx-light answering our server's echo answer, byte for byte, with `return 200`
#          (the HTTP ceiling of this machine): scenarios 1 and 8 only
# Load: wrk -t1 with bench/http/echo.lua (unique JSON-RPC id per request) for 1, 2, 6;
# build/bench/mcpload (bench/tools/mcpload.c) for 3, 4, 5, 7. Servers are pinned to core
# $SERVER_CPU, load generators to core $LOAD_CPU; scenario 1 also runs unpinned at 64 conns.
#
# Scenarios (issue 4): 1 modern stateless tools/call echo at 1, 16, 64, 256 connections;
# 2 legacy session tools/call, JSON and SSE answers; 3 session churn; 4 RSS idle and after
# 1 000 / 10 000 / 100 000 idle sessions; 5 10 000 open SSE streams, RSS and CPU while idle;
# 6 echo argument of 100 B / 10 KB / 1 MB; 7 tools/list of 1 000 tools, all pages; 8 server CPU
# per request in scenario 1 (utime+stime / requests); "kinds": mcpd's exec, sql and http tools
# against a bare posix_spawn loop, a bare SQLite loop and nginx proxy_pass (issue 13,
# bench/mcpd/*.sh); "metrics": CPU per echo call with the per-request metrics on and off
# (issue 14: within 5%), interleaved wrk runs and callgrind's instructions per request;
# "json": build/bench/bench_json.
#
# Environment: BENCH_QUICK=1, SCENARIOS="1 2 ...", RUNS, DURATION (s), CONNS ("1 16 64 256"),
# SSE_STREAMS (10000), SSE_HOLD (s), IDLE_COUNTS (mcpd), TS_IDLE_COUNTS, SERVER_CPU (0),
# LOAD_CPU (1), EVERYTHING, BENCH_SERVER, MCPLOAD, MCPD (binaries), CK (kinds: connections, 16),
# EXEC_N (kinds: exec calls per run, 600), EXEC_REPEATS (kinds: exec.sh's rounds, 3),
# SQL_CG=0 (kinds: no callgrind count of sql calls), OUT (results directory),
# PROFILE=0 (no perf profile), BENCH_WAIT_IDLE (s to wait for idle cores, 60).
# Fails (exit 1) when a server answers wrong or a load generator sees an error.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/bench}
EVERYTHING=${EVERYTHING:-$BUILD/everything}
BENCH_SERVER=${BENCH_SERVER:-$BUILD/bench_server}
MCPLOAD=${MCPLOAD:-$BUILD/mcpload}
MCPD=${MCPD:-$BUILD/mcpd}
LUA=$ROOT/bench/http/echo.lua
TS_SERVER=$ROOT/bench/peers/ts_server.mjs
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
SCENARIOS=${SCENARIOS:-"1 2 3 4 5 6 7 kinds metrics json"}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    RUNS=${RUNS:-1}; DURATION=${DURATION:-2}; CONNS=${CONNS:-"1 64"}
    SSE_STREAMS=${SSE_STREAMS:-2000}; SSE_HOLD=${SSE_HOLD:-3}
    IDLE_COUNTS=${IDLE_COUNTS:-1000,10000}; TS_IDLE_COUNTS=${TS_IDLE_COUNTS:-1000}
else
    RUNS=${RUNS:-3}; DURATION=${DURATION:-5}; CONNS=${CONNS:-"1 16 64 256"}
    SSE_STREAMS=${SSE_STREAMS:-10000}; SSE_HOLD=${SSE_HOLD:-16}
    IDLE_COUNTS=${IDLE_COUNTS:-1000,10000,100000}; TS_IDLE_COUNTS=${TS_IDLE_COUNTS:-1000,10000}
fi
C2=${C2:-64}       # connections, scenario 2
C3=${C3:-16}       # connections, scenario 3 (churn)
C6=${C6:-16}       # connections, scenario 6
C7=${C7:-4}        # connections, scenario 7
SIZES=${SIZES:-"100 10000 1000000"}
PROFILE=${PROFILE:-1} # perf profile of mcpd in scenario 1
IDLE_HOLD=${IDLE_HOLD:-5} # scenario 4: seconds of CPU sampling with all sessions idle
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/bench/results/$STAMP}
R=$OUT/results.tsv # scenario peer x run metric value

die() { echo "bench: FAIL: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
log() { echo "bench: $*" >&2; }

for t in wrk nginx taskset curl ss awk node; do
    command -v "$t" >/dev/null || die "$t not found (run: bash scripts/deps.sh --bench)"
done
for b in "$EVERYTHING" "$BENCH_SERVER" "$MCPLOAD"; do
    [ -x "$b" ] || die "no binary at $b (build: cmake -B build/bench -DMCP_BENCH=ON ...)"
done
[ -d "$ROOT/bench/peers/node_modules/@modelcontextprotocol/sdk" ] ||
    die "no TypeScript SDK in bench/peers/node_modules (run: bash bench/peers/install.sh)"
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 cores: servers and load share a core"
# 10 000 SSE streams need 10 000 descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((SSE_STREAMS + 200)) ]; then
    log "warning: ulimit -n is $(ulimit -n): scenario 5 opens $((SSE_STREAMS = $(ulimit -n) - 200)) streams"
fi

mkdir -p "$OUT/logs"
: >"$R"
TICK=$(getconf CLK_TCK)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers ---------------------------------------------------------------------------------

# start NAME CMD... : runs CMD pinned to $SERVER_CPU (@PORT@ in it becomes a free port); sets
# SPID and SPORT. The pid is the server itself (taskset execs it), so /proc/SPID is its CPU.
start() {
    local name=$1 a args=()
    shift
    SPORT=$(pick_port)
    for a in "$@"; do args+=("${a//@PORT@/$SPORT}"); done
    taskset -c "$SERVER_CPU" "${args[@]}" </dev/null >"$OUT/logs/$name.out" 2>"$OUT/logs/$name.log" &
    SPID=$!
    PIDS+=("$SPID")
    wait_port "$SPID" "$SPORT" || { tail -20 "$OUT/logs/$name.log" >&2; die "$name did not listen on $SPORT"; }
}

stop() { # stop PID
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }

rec() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$R"; } # scenario peer x run metric value

MODERN_BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}}}'
INIT_BODY='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'

# check_echo NAME PORT VERSION : one echo call like the wrk script's; dies unless it is the
# echo result. Leaves the body in $OUT/logs/NAME.body.
check_echo() {
    local name=$1 port=$2 ver=$3 code
    code=$(curl -sS -o "$OUT/logs/$name.body" -D "$OUT/logs/$name.headers" -w '%{http_code}' \
        "http://127.0.0.1:$port/mcp" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -H "MCP-Protocol-Version: $ver" \
        -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' --data-binary "$MODERN_BODY") ||
        die "curl to $name failed"
    [ "$code" = 200 ] && grep -q '"result"' "$OUT/logs/$name.body" &&
        grep -q '"text":"hello"' "$OUT/logs/$name.body" ||
        { cat "$OUT/logs/$name.headers" "$OUT/logs/$name.body" >&2; die "$name: wrong answer to the echo call ($code)"; }
}

# new_session PORT : initialize + notifications/initialized with curl; prints the session id.
new_session() {
    local port=$1 h sid code
    h=$(curl -sS -D - -o "$OUT/logs/init.body" "http://127.0.0.1:$port/mcp" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        --data-binary "$INIT_BODY") || die "initialize on port $port failed"
    sid=$(sed -n 's/^[Mm][Cc][Pp]-[Ss]ession-[Ii][Dd]: *//p' <<<"$h" | tr -d '\r')
    [ -n "$sid" ] && grep -q '"result"' "$OUT/logs/init.body" ||
        { echo "$h" >&2; cat "$OUT/logs/init.body" >&2; die "initialize on port $port: no session"; }
    code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/mcp" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-11-25' \
        --data-binary '{"jsonrpc":"2.0","method":"notifications/initialized"}')
    [ "$code" = 202 ] || die "notifications/initialized on port $port: $code (want 202)"
    echo "$sid"
}

# wrk_run SCEN PEER X RUN PID PORT CONNS SECS PIN [lua args...] : one wrk run; records rps,
# p50_us, p99_us, cpu_us (server utime+stime per request), busy (server CPU %). PIN=0: no
# taskset for wrk. RUN=0: warm-up, nothing recorded.
WRK_N=0
wrk_run() {
    local scen=$1 peer=$2 x=$3 run=$4 pid=$5 port=$6 conns=$7 secs=$8 pin=$9
    shift 9
    local out before after line pre=()
    WRK_N=$((WRK_N + 1))
    out="$OUT/logs/wrk-$WRK_N-s$scen-$peer-$x.txt"
    [ "$pin" = 1 ] && pre=(taskset -c "$LOAD_CPU")
    before=$(cpu_ticks "$pid")
    "${pre[@]+"${pre[@]}"}" wrk -t1 -c"$conns" -d"${secs}s" --timeout 20s --latency -s "$LUA" \
        "http://127.0.0.1:$port/mcp" -- "$@" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk against $peer failed (scenario $scen, $x)"; }
    after=$(cpu_ticks "$pid")
    line=$(grep '^echo.lua: requests=' "$out") || { cat "$out" >&2; die "no result line from echo.lua ($peer)"; }
    kv() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" ${line#echo.lua: }"; }
    local e req dur
    for e in errors_connect errors_read errors_write errors_timeout non200 noresult; do
        [ "$(kv $e)" = 0 ] || { cat "$out" >&2; die "$peer (scenario $scen, $x): $e=$(kv $e)"; }
    done
    req=$(kv requests); dur=$(kv duration_us)
    [ "$req" -gt 0 ] || die "$peer (scenario $scen, $x): no requests completed"
    kill -0 "$pid" 2>/dev/null || die "$peer exited during the run"
    [ "$run" = 0 ] && return 0
    rec "$scen" "$peer" "$x" "$run" rps "$(kv rps)"
    rec "$scen" "$peer" "$x" "$run" p50_us "$(kv p50_us)"
    rec "$scen" "$peer" "$x" "$run" p99_us "$(kv p99_us)"
    rec "$scen" "$peer" "$x" "$run" cpu_us "$(awk -v b="$before" -v a="$after" -v t="$TICK" -v n="$req" 'BEGIN{printf "%.2f", (a-b)*1e6/t/n}')"
    rec "$scen" "$peer" "$x" "$run" busy "$(awk -v b="$before" -v a="$after" -v t="$TICK" -v d="$dur" 'BEGIN{printf "%.0f", (a-b)/t/(d/1e6)*100}')"
    printf 'bench:   s%s %-9s %-8s run %s: %9.0f req/s  p50 %7s us  p99 %8s us\n' \
        "$scen" "$peer" "$x" "$run" "$(kv rps)" "$(kv p50_us)" "$(kv p99_us)" >&2
}

# mcpload_kv LINE KEY : a value from an mcpload output line.
mkv() { sed -n "s/.* $2=\([0-9.-]*\).*/\1/p" <<<" $1"; }

# ---- machine description ------------------------------------------------------------------
core_busy() { # busy% of the two cores over one second
    local a b
    a=$(grep -E "^cpu($SERVER_CPU|$LOAD_CPU) " /proc/stat)
    sleep 1
    b=$(grep -E "^cpu($SERVER_CPU|$LOAD_CPU) " /proc/stat)
    printf '%s\n%s\n' "$a" "$b" | awk '{ idle = $5 + $6; tot = 0; for (i = 2; i <= 9; i++) tot += $i
        if ($1 in t0) { printf "%s %.0f%% ", $1, 100 - 100 * (idle - i0[$1]) / (tot - t0[$1]) }
        else { t0[$1] = tot; i0[$1] = idle } }'
}
# On a shared machine, wait (up to BENCH_WAIT_IDLE seconds, default 60) for both cores to be
# under 25% busy before starting; the load found is recorded either way.
waited=0
while [ "$waited" -lt "${BENCH_WAIT_IDLE:-60}" ]; do
    awk -v l="$(core_busy)" 'BEGIN{ n = split(l, f, " "); for (i = 2; i <= n; i += 2) if (f[i] + 0 > 25) exit 1 }' && break
    [ "$waited" = 0 ] && log "the cores are busy with other programs; waiting up to ${BENCH_WAIT_IDLE:-60} s"
    waited=$((waited + 5))
    sleep 4
done
pkgv() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
    echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "cores=$(nproc)"
    echo "kernel=$(uname -sr)"
    echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "mem=$(free -m | awk '/^Mem:/{print $2}') MiB"
    echo "nginx=$(pkgv nginx-light)"
    echo "wrk=$(pkgv wrk)"
    echo "node=$(node --version)"
    echo "sdk=$(node -p "require('$ROOT/bench/peers/node_modules/@modelcontextprotocol/sdk/package.json').version")"
    echo "zod=$(node -p "require('$ROOT/bench/peers/node_modules/zod/package.json').version")"
    echo "gnuplot=$(pkgv gnuplot-nox)"
    echo "runs=$RUNS"
    echo "duration=$DURATION"
    echo "conns=$CONNS"
    echo "quick=${BENCH_QUICK:-0}"
    echo "scenarios=$SCENARIOS"
    echo "c2=$C2 c3=$C3 c6=$C6 c7=$C7"
    echo "sse_streams=$SSE_STREAMS"
    echo "sse_hold=$SSE_HOLD"
    echo "other_load=$(core_busy)"
} >"$OUT/meta.txt"
log "results in $OUT; $(grep other_load "$OUT/meta.txt")"
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }

MCPD_ARGS=(--listen 127.0.0.1:@PORT@ --workers 1 --threads 1)

# ---- scenario 1 (+8): modern stateless tools/call echo ---------------------------------------
if has 1; then
    log "scenario 1: stateless tools/call echo at $CONNS connections ($RUNS x ${DURATION}s)"
    start mcpd "$EVERYTHING" "${MCPD_ARGS[@]}"; P_M=$SPID; PORT_M=$SPORT
    check_echo mcpd "$PORT_M" 2026-07-28
    start ts node "$TS_SERVER" --port @PORT@ --mode stateless --json; P_T=$SPID; PORT_T=$SPORT
    check_echo ts "$PORT_T" 2025-11-25

    # nginx answers our server's echo answer, byte for byte (bench/lib.sh: nginx_conf).
    NG=$OUT/nginx
    PORT_N=$(pick_port)
    nginx_conf "$NG" "$PORT_N" "$OUT/logs/mcpd.body"
    taskset -c "$SERVER_CPU" nginx -p "$NG" -e "$NG/error.log" -c "$NG/nginx.conf" \
        </dev/null >"$OUT/logs/nginx.log" 2>&1 &
    P_N=$!
    PIDS+=("$P_N")
    wait_port "$P_N" "$PORT_N" || { cat "$OUT/logs/nginx.log" "$NG/error.log" >&2; die "nginx did not start"; }
    [ "$(readlink -f "/proc/$P_N/exe")" = "$(readlink -f "$(command -v nginx)")" ] ||
        die "pid $P_N is not nginx: CPU would be read from the wrong process"
    check_echo nginx "$PORT_N" 2026-07-28
    cmp -s "$OUT/logs/mcpd.body" "$OUT/logs/nginx.body" || die "nginx does not answer the same bytes"

    first=${CONNS%% *}
    wrk_run 1 mcpd warm 0 "$P_M" "$PORT_M" "$first" 2 1
    wrk_run 1 nginx warm 0 "$P_N" "$PORT_N" "$first" 2 1
    wrk_run 1 ts warm 0 "$P_T" "$PORT_T" "$first" 2 1 version=2025-11-25
    for c in $CONNS; do
        for r in $(seq 1 "$RUNS"); do
            # rotate who goes first, so drift hits all alike
            order=("mcpd nginx ts" "nginx ts mcpd" "ts mcpd nginx")
            for peer in ${order[$(((r - 1) % 3))]}; do
                case $peer in
                mcpd) wrk_run 1 mcpd "$c" "$r" "$P_M" "$PORT_M" "$c" "$DURATION" 1 ;;
                nginx) wrk_run 1 nginx "$c" "$r" "$P_N" "$PORT_N" "$c" "$DURATION" 1 ;;
                ts) wrk_run 1 ts "$c" "$r" "$P_T" "$PORT_T" "$c" "$DURATION" 1 version=2025-11-25 ;;
                esac
            done
        done
    done
    # profile of our server under scenario 1 at 64 connections (pinned): self cost per
    # function (perf record -g), and system calls per request (perf stat)
    if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
        log "scenario 1: profiling mcpd (perf record -g, 5 s at 64 connections)"
        if perf record -g -o "$OUT/perf.data" -p "$P_M" -- sleep 6 >"$OUT/logs/perf.log" 2>&1 &
            PERF=$!
            sleep 0.5
            wrk_run 1p mcpd 64 0 "$P_M" "$PORT_M" 64 5 1
            wait "$PERF"; then
            {
                echo "perf record -g, build/bench/everything pinned to core $SERVER_CPU, wrk -c64 5 s; self cost:"
                perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio -g none \
                    --percent-limit 0.6 2>/dev/null | grep -v '^#' | grep -v '^$' | head -30 |
                    sed 's/ *- *- *$//' || true
                echo
                echo "inclusive cost of the system calls (children included):"
                perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
                    grep -E '\] (__GI___libc_write|write|read|epoll_ctl|epoll_wait|accept4|writev|sendmsg|recvmsg)$|\] (__GI___libc_write|read|epoll_ctl|epoll_wait|writev) ' |
                    sed 's/ *- *- *$//' | head -8 || true
                echo
                echo "user space only (libmcp/everything, libc, libuv), self cost in % of all samples:"
                perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio -g none \
                    --dsos "$(basename "$EVERYTHING"),libc.so.6,libuv.so.1.0.0" --percent-limit 0.3 \
                    2>/dev/null | grep -v '^#' | grep -v '^$' | head -30 | sed 's/ *- *- *$//' || true
            } >"$OUT/profile.txt"
            perf stat -e raw_syscalls:sys_enter -p "$P_M" -o "$OUT/logs/perf-stat.txt" -- sleep 4 \
                >/dev/null 2>&1 &
            PERF=$!
            sleep 0.3
            WRK_N=$((WRK_N + 1))
            taskset -c "$LOAD_CPU" wrk -t1 -c64 -d3s -s "$LUA" "http://127.0.0.1:$PORT_M/mcp" \
                >"$OUT/logs/wrk-syscalls.txt" 2>&1 || die "wrk (syscall count) failed"
            wait "$PERF" || true
            sc=$(awk '/raw_syscalls:sys_enter/{gsub(",", "", $1); print $1}' "$OUT/logs/perf-stat.txt")
            rq=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' "$OUT/logs/wrk-syscalls.txt")
            [ -n "$sc" ] && [ -n "$rq" ] && rec 1p mcpd 64 1 syscalls_per_req "$(awk -v a="$sc" -v b="$rq" 'BEGIN{printf "%.2f", a/b}')"
        else
            log "perf record failed (see $OUT/logs/perf.log); trying callgrind"
            PROFILE=callgrind
        fi
    fi
    # fallback (or PROFILE=callgrind): a second mcpd under valgrind --tool=callgrind, 3 s of
    # wrk at 16 connections, instructions by function (self)
    if [ "$PROFILE" = callgrind ] && command -v valgrind >/dev/null; then
        log "scenario 1: profiling mcpd under callgrind (3 s at 16 connections)"
        start mcpd-cg valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
            "$EVERYTHING" "${MCPD_ARGS[@]}"
        P_CG=$SPID
        taskset -c "$LOAD_CPU" wrk -t1 -c16 -d3s -s "$LUA" "http://127.0.0.1:$SPORT/mcp" \
            >"$OUT/logs/wrk-callgrind.txt" 2>&1 || die "wrk (callgrind) failed"
        stop "$P_CG"
        {
            echo "valgrind --tool=callgrind, build/bench/everything, wrk -c16 3 s; instructions (self):"
            callgrind_annotate --inclusive=no "$OUT/callgrind.out" 2>/dev/null |
                sed -n '/^Ir/,$p' | sed -n '4,34p' || true
        } >"$OUT/profile.txt"
    fi
    # unpinned variant: every thread of the servers may run on any core, wrk unpinned too
    log "scenario 1, unpinned, 64 connections"
    for p in "$P_M" "$P_N" "$P_T"; do taskset -a -p -c 0-$(($(nproc) - 1)) "$p" >/dev/null; done
    for r in $(seq 1 "$RUNS"); do
        wrk_run 1u mcpd 64 "$r" "$P_M" "$PORT_M" 64 "$DURATION" 0
        wrk_run 1u nginx 64 "$r" "$P_N" "$PORT_N" 64 "$DURATION" 0
        wrk_run 1u ts 64 "$r" "$P_T" "$PORT_T" 64 "$DURATION" 0 version=2025-11-25
    done
    rec 1m mcpd after 0 rss_kb "$(rss_kb "$P_M")"
    rec 1m nginx after 0 rss_kb "$(rss_kb "$P_N")"
    rec 1m ts after 0 rss_kb "$(rss_kb "$P_T")"
    stop "$P_M"; stop "$P_N"; stop "$P_T"
fi

# ---- scenario 2: legacy session tools/call, JSON and SSE --------------------------------------
if has 2; then
    log "scenario 2: legacy session tools/call, JSON and SSE, $C2 connections"
    start mcpd "$EVERYTHING" "${MCPD_ARGS[@]}"; P_M=$SPID; PORT_M=$SPORT
    SID_M=$(new_session "$PORT_M")
    start ts-json node "$TS_SERVER" --port @PORT@ --mode stateful --json; P_TJ=$SPID; PORT_TJ=$SPORT
    SID_TJ=$(new_session "$PORT_TJ")
    start ts-sse node "$TS_SERVER" --port @PORT@ --mode stateful --sse; P_TS=$SPID; PORT_TS=$SPORT
    SID_TS=$(new_session "$PORT_TS")
    # our server picks JSON when the client accepts it, SSE when it accepts only SSE; the SDK
    # picks by its enableJsonResponse option and wants both types in Accept.
    curl -sS -D - -o /dev/null "http://127.0.0.1:$PORT_M/mcp" -H 'Content-Type: application/json' \
        -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $SID_M" -H 'MCP-Protocol-Version: 2025-11-25' \
        --data '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}' |
        grep -qi '^content-type: text/event-stream' || die "mcpd: Accept text/event-stream did not give SSE"
    wrk_run 2 mcpd json 0 "$P_M" "$PORT_M" "$C2" 2 1 session="$SID_M" accept=both
    wrk_run 2 ts json 0 "$P_TJ" "$PORT_TJ" "$C2" 2 1 session="$SID_TJ" accept=both
    for r in $(seq 1 "$RUNS"); do
        wrk_run 2 mcpd json "$r" "$P_M" "$PORT_M" "$C2" "$DURATION" 1 session="$SID_M" accept=both
        wrk_run 2 mcpd sse "$r" "$P_M" "$PORT_M" "$C2" "$DURATION" 1 session="$SID_M" accept=sse
        wrk_run 2 ts json "$r" "$P_TJ" "$PORT_TJ" "$C2" "$DURATION" 1 session="$SID_TJ" accept=both
        wrk_run 2 ts sse "$r" "$P_TS" "$PORT_TS" "$C2" "$DURATION" 1 session="$SID_TS" accept=both
    done
    rec 2m ts after 0 rss_kb "$(rss_kb "$P_TJ")"
    rec 2m mcpd after 0 rss_kb "$(rss_kb "$P_M")"
    stop "$P_M"; stop "$P_TJ"; stop "$P_TS"
fi

# ---- scenario 3: session churn -----------------------------------------------------------------
if has 3; then
    log "scenario 3: session churn (initialize, initialized, call, DELETE), $C3 connections"
    start mcpd "$EVERYTHING" "${MCPD_ARGS[@]}"; P_M=$SPID; PORT_M=$SPORT
    start ts node "$TS_SERVER" --port @PORT@ --mode stateful --json; P_T=$SPID; PORT_T=$SPORT
    for r in $(seq 1 "$RUNS"); do
        for peer in mcpd ts; do
            if [ $peer = mcpd ]; then pid=$P_M port=$PORT_M; else pid=$P_T port=$PORT_T; fi
            before=$(cpu_ticks "$pid")
            line=$(taskset -c "$LOAD_CPU" "$MCPLOAD" --port "$port" --mode churn -c "$C3" -d "$DURATION") ||
                die "mcpload churn against $peer failed"
            after=$(cpu_ticks "$pid")
            echo "$line" >>"$OUT/logs/churn-$peer.txt"
            rec 3 $peer churn "$r" rate "$(mkv "$line" rate)"
            rec 3 $peer churn "$r" p50_us "$(mkv "$line" p50_us)"
            rec 3 $peer churn "$r" p99_us "$(mkv "$line" p99_us)"
            rec 3 $peer churn "$r" cpu_us "$(awk -v b="$before" -v a="$after" -v t="$TICK" -v n="$(mkv "$line" sessions)" 'BEGIN{printf "%.2f", (a-b)*1e6/t/n}')"
            log "  s3 $peer run $r: $line"
        done
    done
    rec 3m mcpd after 0 rss_kb "$(rss_kb "$P_M")"
    rec 3m ts after 0 rss_kb "$(rss_kb "$P_T")"
    stop "$P_M"; stop "$P_T"
fi

# ---- scenario 4: memory of idle sessions -------------------------------------------------------
if has 4; then
    log "scenario 4: RSS idle and with $IDLE_COUNTS idle sessions (ts: $TS_IDLE_COUNTS)"
    # idle RSS with the default flags (a bigger --max-sessions may size tables up front)
    start mcpd4i "$EVERYTHING" "${MCPD_ARGS[@]}"
    sleep 1
    check_echo mcpd4i "$SPORT" 2026-07-28
    sleep 0.5
    rec 4m mcpd idle 1 rss_kb "$(rss_kb "$SPID")"
    stop "$SPID"
    for peer in mcpd ts; do
        if [ $peer = mcpd ]; then
            start mcpd4 "$EVERYTHING" "${MCPD_ARGS[@]}" --max-sessions 200000; counts=$IDLE_COUNTS
        else
            start ts4 node "$TS_SERVER" --port @PORT@ --mode stateful --json; counts=$TS_IDLE_COUNTS
        fi
        sleep 1 # let start-up allocations settle (node's JIT, our arenas)
        taskset -c "$LOAD_CPU" "$MCPLOAD" --port "$SPORT" --mode idle -c 32 -n "$counts" --pid "$SPID" \
            --hold "$IDLE_HOLD" >"$OUT/logs/idle-$peer.txt" ||
            { cat "$OUT/logs/idle-$peer.txt" >&2; die "mcpload idle against $peer failed"; }
        while read -r line; do
            log "  s4 $peer: $line"
            if [[ "$line" == *hold_s=* ]]; then
                rec 4m $peer "$(mkv "$line" sessions)" 1 idle_cpu_pct "$(mkv "$line" cpu_pct)"
            else
                rec 4 $peer "$(mkv "$line" sessions)" 1 rss_kb "$(mkv "$line" rss_kb)"
            fi
        done <"$OUT/logs/idle-$peer.txt"
        stop "$SPID"
    done
fi

# ---- scenario 5: 10 000 open SSE streams, idle -------------------------------------------------
if has 5; then
    log "scenario 5: $SSE_STREAMS open GET SSE streams, idle for ${SSE_HOLD}s"
    for peer in mcpd ts; do
        if [ $peer = mcpd ]; then
            start mcpd5 "$EVERYTHING" "${MCPD_ARGS[@]}" --max-sessions $((SSE_STREAMS + 1000)) \
                --max-conns $((SSE_STREAMS + 1000))
        else
            start ts5 node "$TS_SERVER" --port @PORT@ --mode stateful --json
        fi
        sleep 1
        line=$(taskset -c "$LOAD_CPU" "$MCPLOAD" --port "$SPORT" --mode sse -n "$SSE_STREAMS" \
            --hold "$SSE_HOLD" --pid "$SPID") || die "mcpload sse against $peer failed"
        echo "$line" >"$OUT/logs/sse-$peer.txt"
        log "  s5 $peer: $line"
        rec 5 $peer "$SSE_STREAMS" 1 rss0_kb "$(mkv "$line" rss0_kb)"
        rec 5 $peer "$SSE_STREAMS" 1 rss_kb "$(mkv "$line" rss_end_kb)"
        rec 5 $peer "$SSE_STREAMS" 1 cpu_pct "$(mkv "$line" cpu_pct)"
        rec 5 $peer "$SSE_STREAMS" 1 setup_s "$(mkv "$line" setup_s)"
        stop "$SPID"
    done
fi

# ---- scenario 6: argument size -----------------------------------------------------------------
if has 6; then
    log "scenario 6: echo of $SIZES-byte arguments, $C6 connections"
    start mcpd6 "$EVERYTHING" "${MCPD_ARGS[@]}" --max-body 8388608; P_M=$SPID; PORT_M=$SPORT
    check_echo mcpd6 "$PORT_M" 2026-07-28
    start ts6 node "$TS_SERVER" --port @PORT@ --mode stateless --json; P_T=$SPID; PORT_T=$SPORT
    check_echo ts6 "$PORT_T" 2025-11-25
    for s in $SIZES; do
        for r in $(seq 1 "$RUNS"); do
            wrk_run 6 mcpd "$s" "$r" "$P_M" "$PORT_M" "$C6" "$DURATION" 1 size="$s"
            wrk_run 6 ts "$s" "$r" "$P_T" "$PORT_T" "$C6" "$DURATION" 1 version=2025-11-25 size="$s"
        done
    done
    stop "$P_M"; stop "$P_T"
fi

# ---- scenario 7: tools/list with 1 000 tools, every page -----------------------------------------
if has 7; then
    log "scenario 7: tools/list of 1000 tools, all pages, $C7 connections"
    start bench_server "$BENCH_SERVER" "${MCPD_ARGS[@]}" --tools 1000; P_M=$SPID; PORT_M=$SPORT
    start ts7 node "$TS_SERVER" --port @PORT@ --mode stateful --json --tools 1000; P_T=$SPID; PORT_T=$SPORT
    for r in $(seq 1 "$RUNS"); do
        for peer in mcpd ts; do
            if [ $peer = mcpd ]; then pid=$P_M port=$PORT_M; else pid=$P_T port=$PORT_T; fi
            before=$(cpu_ticks "$pid")
            line=$(taskset -c "$LOAD_CPU" "$MCPLOAD" --port "$port" --mode list -c "$C7" -d "$DURATION") ||
                die "mcpload list against $peer failed"
            after=$(cpu_ticks "$pid")
            [ "$(mkv "$line" tools_per_walk)" = 1001 ] || die "$peer: a walk saw $(mkv "$line" tools_per_walk) tools, not 1001: $line"
            log "  s7 $peer run $r: $line"
            rec 7 $peer list "$r" walks_s "$(mkv "$line" rate)"
            rec 7 $peer list "$r" pages_s "$(mkv "$line" pages_per_s)"
            rec 7 $peer list "$r" pages_per_walk "$(awk -v p="$(mkv "$line" pages)" -v w="$(mkv "$line" walks)" 'BEGIN{printf "%.1f", w ? p/w : 0}')"
            rec 7 $peer list "$r" p50_us "$(mkv "$line" p50_us)"
            rec 7 $peer list "$r" p99_us "$(mkv "$line" p99_us)"
            rec 7 $peer list "$r" cpu_us "$(awk -v b="$before" -v a="$after" -v t="$TICK" -v n="$(mkv "$line" walks)" 'BEGIN{printf "%.1f", (a-b)*1e6/t/n}')"
        done
    done
    stop "$P_M"; stop "$P_T"
fi

# ---- kinds: mcpd's backend tool kinds against their bare baselines (issue 13) -----------------
# bench/mcpd/{exec,sql,http}.sh with build/bench/mcpd, RUNS times, the three interleaved: exec
# calls/s against a bare posix_spawn + waitpid loop (stdio, concurrency 1 and 16); sql calls/s
# over HTTP against the same query in a bare SQLite loop (the search_books query, the headline,
# and a point lookup, the floor, beside an echo tool and nginx static in the same run), then
# instructions per sql call once under callgrind (sql_cg.sh); http tool calls/s and CPU per call
# against nginx proxy_pass to the same upstream. Each script checks every answer.
if has kinds; then
    [ -x "$MCPD" ] || die "no binary at $MCPD (build: ninja -C build/bench mcpd)"
    log "kinds: exec, sql, http tools of mcpd against their baselines ($RUNS runs)"
    kenv=(MCPD="$MCPD" SERVER_CPU="$SERVER_CPU" WRK_CPU="$LOAD_CPU" DURATION="$DURATION" CONNS="${CK:-16}")
    for r in $(seq 1 "$RUNS"); do
        # exec.sh interleaves its own rounds (bare, mcpd c1, mcpd c16, ...): each round is
        # recorded as a run, so the report's medians and median ratio are over all of them
        out=$OUT/logs/kinds-exec-$r.txt
        env "${kenv[@]}" LOAD_CPU="$LOAD_CPU" N="${EXEC_N:-$([ "${BENCH_QUICK:-0}" = 1 ] && echo 300 || echo 600)}" \
            REPEATS="${EXEC_REPEATS:-3}" bash "$ROOT/bench/mcpd/exec.sh" >"$out" 2>&1 ||
            { cat "$out" >&2; die "bench/mcpd/exec.sh failed"; }
        while read -r _ _ round who rest; do
            [ "$who" = mcpd ] && { who=c$(sed -n 's/^concurrency=\([0-9]*\).*/\1/p' <<<"$rest"); }
            rec kinds exec "$who" "$r.$round" rps "$(sed -n 's/.*calls_per_s=\([0-9.]*\).*/\1/p' <<<"$rest")"
            rec kinds exec "$who" "$r.$round" cpu_us "$(sed -n 's/.*cpu_us=\([0-9.]*\).*/\1/p' <<<"$rest")"
        done < <(grep '^exec.sh: round ' "$out")
        out=$OUT/logs/kinds-sql-$r.txt
        env "${kenv[@]}" RUNS=1 bash "$ROOT/bench/mcpd/sql.sh" >"$out" 2>&1 || { cat "$out" >&2; die "bench/mcpd/sql.sh failed"; }
        sqlv() { sed -n "s/^sql.sh: run 1: $1 .*$2=\([0-9.]*\).*/\1/p" "$out"; }
        for q in search point; do
            rec kinds sql "${q}_mcpd" "$r" rps "$(sqlv $q mcpd_rps)"
            rec kinds sql "${q}_mcpd" "$r" cpu_us "$(sqlv $q mcpd_cpu_us)"
            rec kinds sql "${q}_bare" "$r" rps "$(sqlv $q bare_rps)"
            rec kinds sql "${q}_bare" "$r" cpu_us "$(sqlv $q bare_cpu_us)"
        done
        rec kinds sql echo "$r" rps "$(sqlv echo rps)"
        rec kinds sql echo "$r" cpu_us "$(sqlv echo cpu_us)"
        rec kinds sql nginx_static "$r" cpu_us "$(sqlv nginx_static cpu_us)"
        out=$OUT/logs/kinds-http-$r.txt
        env "${kenv[@]}" CALLS="${HTTP_CALLS:-$([ "${BENCH_QUICK:-0}" = 1 ] && echo 10000 || echo 30000)}" \
            bash "$ROOT/bench/mcpd/http.sh" >"$out" 2>&1 || { cat "$out" >&2; die "bench/mcpd/http.sh failed"; }
        rec kinds http nginx "$r" rps "$(sed -n 's/^http.sh: nginx proxy_pass: \([0-9.]*\) req.*/\1/p' "$out")"
        rec kinds http nginx "$r" cpu_us "$(sed -n 's/^http.sh: nginx .*, \([0-9.]*\) us CPU.*/\1/p' "$out")"
        rec kinds http mcpd "$r" rps "$(sed -n 's/^http.sh: mcpd http tool: *\([0-9.]*\) calls.*/\1/p' "$out")"
        rec kinds http mcpd "$r" cpu_us "$(sed -n 's/^http.sh: mcpd .*, \([0-9.]*\) us CPU.*/\1/p' "$out")"
        log "  kinds run $r: $(grep -h 'ratio\|nginx (' "$OUT/logs/kinds-exec-$r.txt" "$OUT/logs/kinds-sql-$r.txt" "$out" | tr '\n' ' ')"
    done
    # instructions per sql call and per echo call (callgrind: the same whatever the load), once
    if [ "${SQL_CG:-1}" = 1 ] && command -v valgrind >/dev/null; then
        out=$OUT/logs/kinds-sql-cg.txt
        bash "$ROOT/bench/mcpd/sql_cg.sh" "$MCPD" >"$out" 2>&1 || { cat "$out" >&2; die "bench/mcpd/sql_cg.sh failed"; }
        line=$(grep "^sql_cg.sh: $MCPD:" "$out")
        rec kinds sqlcg point 1 ir_sql "$(sed 's/.*: sql \([0-9]*\) instructions.*/\1/' <<<"$line")"
        rec kinds sqlcg point 1 ir_echo "$(sed 's/.*, echo \([0-9]*\),.*/\1/' <<<"$line")"
        rec kinds sqlcg point 1 cs_sql "$(sed 's/.*sql: \([0-9.]*\) context switches.*/\1/' <<<"$line")"
        rec kinds sqlcg point 1 ir_bare "$(sed -n 's/^sql_cg.sh: bare SQLite loop: \([0-9]*\) instructions.*/\1/p' "$out")"
        log "  $(tr '\n' ' ' <"$out")"
    fi
fi

# ---- metrics: what the per-request metrics cost (issue 14) --------------------------------------
# Two everything servers on core $SERVER_CPU, one with --no-request-metrics (no per-method and
# per-tool series: the engine's observer is not set), the echo call of scenario 1 at
# $CM connections, METRICS_RUNS pairs of runs alternating which goes first; CPU/request of
# each and the median of the pairs' on/off ratios. Then, when valgrind is installed,
# callgrind's instructions per request of each (bench/http/callgrind_echo.sh, 200 and 400
# requests on one connection, the difference): repeatable whatever else the machine runs.
if has metrics; then
    CM=${CM:-16}
    MR=${METRICS_RUNS:-$([ "${BENCH_QUICK:-0}" = 1 ] && echo 2 || echo 5)}
    log "metrics: echo with the per-request metrics on and off, $CM connections ($MR x 2 x ${DURATION}s)"
    start mcpd_mon "$EVERYTHING" "${MCPD_ARGS[@]}"; P_ON=$SPID; PORT_ON=$SPORT
    check_echo mcpd_mon "$PORT_ON" 2026-07-28
    start mcpd_moff "$EVERYTHING" "${MCPD_ARGS[@]}" --no-request-metrics; P_OFF=$SPID; PORT_OFF=$SPORT
    check_echo mcpd_moff "$PORT_OFF" 2026-07-28
    wrk_run metrics on "$CM" 0 "$P_ON" "$PORT_ON" "$CM" 2 1
    wrk_run metrics off "$CM" 0 "$P_OFF" "$PORT_OFF" "$CM" 2 1
    for r in $(seq 1 "$MR"); do
        if [ $((r % 2)) = 1 ]; then order="on off"; else order="off on"; fi
        for v in $order; do
            if [ $v = on ]; then
                wrk_run metrics on "$CM" "$r" "$P_ON" "$PORT_ON" "$CM" "$DURATION" 1
            else
                wrk_run metrics off "$CM" "$r" "$P_OFF" "$PORT_OFF" "$CM" "$DURATION" 1
            fi
        done
    done
    counted='^mcpd_requests_total{method="tools/call",outcome="ok"} [1-9]'
    grep -q "$counted" <<<"$(curl -s "http://127.0.0.1:$PORT_ON/metrics")" ||
        die "the server with metrics on counted no tools/call"
    grep -q "$counted" <<<"$(curl -s "http://127.0.0.1:$PORT_OFF/metrics")" &&
        die "the server with --no-request-metrics counted tools/call"
    stop "$P_ON"; stop "$P_OFF"
    if command -v valgrind >/dev/null; then
        for v in on off; do
            line=$(SERVER_ARGS=$([ $v = off ] && echo --no-request-metrics) PORT=$(pick_port) \
                bash "$ROOT/bench/http/callgrind_echo.sh" "$EVERYTHING" 5 200 2>&1 | tail -1)
            echo "$line" >>"$OUT/logs/metrics-callgrind.txt"
            ins=$(sed -n 's/.*instructions_per_request=\([0-9]*\).*/\1/p' <<<"$line")
            [ -n "$ins" ] && [ "$ins" -gt 0 ] || die "callgrind_echo ($v): $line"
            rec metrics "$v" cg 1 instructions "$ins"
            log "  metrics $v: $ins instructions per request (callgrind)"
        done
    fi
fi

# ---- the JSON micro-benchmark (bench/json, also `make bench-json`) -------------------------------
if has json && [ -x "$BUILD/bench_json" ]; then
    log "json: bench_json (parse/build against cJSON and jansson)"
    taskset -c "$SERVER_CPU" "$BUILD/bench_json" >"$OUT/bench_json.txt" 2>&1 || die "bench_json failed"
fi

log "done: $R"
echo "$OUT"
