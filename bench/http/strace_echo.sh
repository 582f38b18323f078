#!/usr/bin/env bash
# System calls the server makes per stateless tools/call echo, from `strace -c -f`: the server
# runs under strace twice, serving N and then 2N requests on one keep-alive connection (one
# curl, N URLs), and the difference over N is printed per system call, so start-up and
# shutdown cancel out. Companion of callgrind_echo.sh (same arguments, same request).
#
#   bash bench/http/strace_echo.sh SERVER_BINARY N
#   e.g. bash bench/http/strace_echo.sh build/release/loop_server 200
#
# [SERVER_ARGS="..."]: more flags for the server (e.g. --inline for loop_server).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
BIN=$1 N=$2 PORT=${PORT:-18932}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
printf '%s' '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"st","version":"1"}}}}' >"$TMP/body.json"
run() {
    local n=$1 out="$TMP/st.$1"
    strace -c -f -o "$out" "$BIN" --listen 127.0.0.1:$PORT --workers 1 --threads 1 \
        ${SERVER_ARGS:-} 2>/dev/null &
    local pid=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/ && break; sleep 0.2; done
    echo_calls "$PORT" "$n" "$TMP/body.json"
    kill -TERM "$(pgrep -P $pid)" # the server (strace's child): strace then prints and exits
    wait $pid 2>/dev/null || true
    # the "calls" column (4th) of each syscall's row
    awk '$NF ~ /^[a-z_0-9]+$/ && $NF != "total" && $NF != "syscall" && $4 ~ /^[0-9]+$/ {
             print $NF, $4 }' "$out" | sort
}
run "$N" >"$TMP/a"
run $((2 * N)) >"$TMP/b"
join -a1 -a2 -e 0 -o 0,1.2,2.2 "$TMP/a" "$TMP/b" |
    awk -v n="$N" '{ d = ($3 - $2) / n; if (d >= 0.05) { printf "  %-16s %.2f\n", $1, d; t += d } }
                   END { printf "strace_echo: syscalls_per_request=%.2f (N=%d)\n", t, n }'
