#!/usr/bin/env bash
# Instructions per call of an mcpd `http` tool (issue 13), split by who spends them, repeatable
# whatever the machine's load: for each mcpd binary given, bench/mcpd/http.sh's tool (GET
# /?m=hello of an nginx `return 200` upstream answering {"ok":true,"n":42}) runs under
# `valgrind --tool=callgrind` with instrumentation off; after 20 warm-up calls it is switched on
# for N calls (one curl, one keep-alive connection, the modern stateless tools/call of
# bench/http/callgrind_echo.sh), then off. Printed per binary: all instructions per call, and the
# inclusive parts of libmcp's request half (server.c on_read: HTTP parse, admission, JSON parse,
# MCP checks, dispatch up to the hand-off to the transfer), of its answer half (mcpd's http_done:
# the upstream body parsed and the result built and written) and the rest (the upstream
# exchange: mcpd's upstream client). The total wobbles by a few thousand between runs (how the transfer
# thread's events batch under valgrind); the two libmcp parts stay within a few hundred.
#
#   bash bench/mcpd/http_split_cg.sh build/release/mcpd [OTHER_MCPD...]    [N=400]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || set -- "$ROOT/build/release/mcpd"
N=${N:-400}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
die() { echo "http_split_cg.sh: FAIL: $*" >&2; exit 1; }
T=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
UPORT=$(pick_port)
mkdir -p "$T/up/tmp"
cat >"$T/up/nginx.conf" <<NGINX
daemon off; master_process off; worker_processes 1; pid $T/up/nginx.pid; error_log $T/up/error.log warn;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000000;
    client_body_temp_path $T/up/tmp/b; proxy_temp_path $T/up/tmp/p; fastcgi_temp_path $T/up/tmp/f;
    uwsgi_temp_path $T/up/tmp/u; scgi_temp_path $T/up/tmp/s;
    server { listen 127.0.0.1:$UPORT; location / { default_type application/json; return 200 '{"ok":true,"n":42}'; } } }
NGINX
nginx -p "$T/up" -e "$T/up/error.log" -c "$T/up/nginx.conf" &
PIDS+=($!)
wait_port "${PIDS[0]}" "$UPORT" || die "the upstream did not start"
cat >"$T/c.json" <<JSON
{"http": {"workers": 1}, "tools": [{"kind": "http", "name": "echo", "url": "http://127.0.0.1:${UPORT}/",
  "query": {"m": "{message}"}, "arguments": {"message": {"type": "string"}}}]}
JSON
printf '%s' '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"cg","version":"1"}}}}' >"$T/body.json"
send() { # PORT COUNT: COUNT calls on one connection; every answer must hold the upstream's bytes
    local urls=() out
    for _ in $(seq 1 "$2"); do urls+=("http://127.0.0.1:$1/mcp"); done
    out=$(curl -s -X POST -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
        -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' --data-binary @"$T/body.json" "${urls[@]}")
    [ "$(grep -o '"structuredContent":{"ok":true,"n":42}' <<<"$out" | wc -l)" = "$2" ] ||
        die "wrong answers: ${out:0:300}"
}
incl() { # PROFILE FUNCTION -> its inclusive instructions
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
        awk -v f=":$2" '!d && (index($0, f " ") || substr($0, length($0) - length(f) + 1) == f) {
            gsub(",", "", $1); print $1; d = 1 }'
}
for bin in "$@"; do
    port=$(pick_port)
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$T/cg" "$bin" \
        --config "$T/c.json" --listen "127.0.0.1:$port" 2>"$T/log" &
    pid=$!
    PIDS+=($pid)
    for _ in $(seq 600); do
        grep -q "listening on" "$T/log" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "listening on" "$T/log" || die "$bin did not start: $(cat "$T/log")"
    send "$port" 20
    callgrind_control -i on "$pid" >/dev/null 2>&1
    send "$port" "$N"
    callgrind_control -i off "$pid" >/dev/null 2>&1
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    total=$(callgrind_annotate "$T/cg" 2>/dev/null |
        awk '/PROGRAM TOTALS/ && !d { gsub(",", "", $1); print $1; d = 1 }')
    req=$(incl "$T/cg" on_read)
    ans=$(incl "$T/cg" http_done)
    awk -v b="$bin" -v n="$N" -v t="$total" -v r="${req:-0}" -v a="${ans:-0}" 'BEGIN {
        printf "http_split_cg.sh: %s: %.0f instructions per call: request half %.0f, answer half %.0f, rest %.0f (N=%d)\n",
            b, t / n, r / n, a / n, (t - r - a) / n, n }'
    rm -f "$T/cg"
done
