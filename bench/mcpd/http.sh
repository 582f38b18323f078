#!/usr/bin/env bash
# http kind benchmark (issue 13): server CPU per call of an mcpd `http` tool (a GET to an upstream,
# called over Streamable HTTP in the modern era with wrk and bench/http/echo.lua; the tool is
# named "echo" and takes "message") against nginx `proxy_pass` to the same upstream (plain GETs
# from wrk). The upstream is a second nginx answering `return 200` with a small JSON body. The
# server under test is pinned to SERVER_CPU, wrk and the upstream to WRK_CPU. CPU per call is
# utime+stime of the server process over the run divided by the calls wrk completed.
#
#   bash scripts/deps.sh --bench && bash bench/mcpd/http.sh   # [DURATION=5] [CONNS=16]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCPD=${MCPD:-$ROOT/build/release/mcpd}
DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
die() { echo "http.sh: FAIL: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
[ -x "$MCPD" ] || die "build mcpd first (make)"
command -v nginx >/dev/null || die "nginx is missing: bash scripts/deps.sh --bench"
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT

nginx_dir() { # DIR PORT BODY-DIRECTIVES
    mkdir -p "$1/tmp"
    cat >"$1/nginx.conf" <<NGINX
daemon off; master_process off; worker_processes 1; pid $1/nginx.pid; error_log $1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off; keepalive_requests 1000000000;
    client_body_temp_path $1/tmp/b; proxy_temp_path $1/tmp/p; fastcgi_temp_path $1/tmp/f;
    uwsgi_temp_path $1/tmp/u; scgi_temp_path $1/tmp/s;
    upstream up { server 127.0.0.1:${UPORT}; keepalive 64; }
    server { listen 127.0.0.1:$2; $3 }
}
NGINX
}

UPORT=$(pick_port)
nginx_dir "$TMP/up" "$UPORT" "location / { default_type application/json; return 200 '{\"ok\":true,\"n\":42}'; }"
taskset -c "$WRK_CPU" nginx -p "$TMP/up" -e "$TMP/up/error.log" -c "$TMP/up/nginx.conf" & PIDS+=($!)
wait_port "${PIDS[0]}" "$UPORT" || die "the upstream did not start"

HZ=$(getconf CLK_TCK)
measure() { # PID URL [wrk args...] -> "requests cpu_us_per_request rps"
    local pid=$1 url=$2; shift 2
    local t0 t1 out reqs
    t0=$(cpu_ticks "$pid")
    out=$(taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" "$@" "$url")
    t1=$(cpu_ticks "$pid")
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$out" | grep -q 'Non-2xx' && die "non-2xx answers: $out"
    if echo "$out" | grep -q '^echo.lua:'; then
        echo "$out" | grep '^echo.lua:' | grep -q 'non200=0 noresult=0' || die "bad answers: $out"
    fi
    awk -v n="$reqs" -v t="$((t1 - t0))" -v hz="$HZ" -v d="$DURATION" \
        'BEGIN { printf "%d %.1f %.0f\n", n, t / hz * 1e6 / n, n / d }'
}

PPORT=$(pick_port)
nginx_dir "$TMP/proxy" "$PPORT" "location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"
taskset -c "$SERVER_CPU" nginx -p "$TMP/proxy" -e "$TMP/proxy/error.log" -c "$TMP/proxy/nginx.conf" & PIDS+=($!)
wait_port "${PIDS[1]}" "$PPORT" || die "the proxy did not start"
read -r NREQ NCPU NRPS < <(measure "${PIDS[1]}" "http://127.0.0.1:$PPORT/?m=hello")

cat >"$TMP/c.json" <<JSON
{"tools": [{"kind": "http", "name": "echo", "url": "http://127.0.0.1:${UPORT}/", "query": {"m": "{message}"},
  "arguments": {"message": {"type": "string"}}, "concurrency": 64, "upstream": {"concurrency": 64, "max_idle": 64}}]}
JSON
taskset -c "$SERVER_CPU" "$MCPD" --config "$TMP/c.json" --listen 127.0.0.1:0 2>"$TMP/mcpd.log" & PIDS+=($!)
for _ in $(seq 100); do grep -q "listening on" "$TMP/mcpd.log" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$TMP/mcpd.log" | head -1)
read -r MREQ MCPU MRPS < <(measure "${PIDS[2]}" "$URL" -s "$ROOT/bench/http/echo.lua")

echo "http.sh: nginx proxy_pass: ${NRPS} req/s, ${NCPU} us CPU per request (${NREQ} requests)"
echo "http.sh: mcpd http tool:   ${MRPS} calls/s, ${MCPU} us CPU per call (${MREQ} calls)"
awk -v a="$MCPU" -v b="$NCPU" 'BEGIN { printf "http.sh: CPU per call %.1fx nginx (issue 13 asks for at most 1.5x)\n", a / b }'
