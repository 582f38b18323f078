#!/usr/bin/env bash
# Instructions the server spends per stateless tools/call echo, from callgrind (repeatable
# whatever the machine's load, unlike times): the server runs under valgrind twice, serving N
# and then 2N requests on one keep-alive connection (one curl, N URLs), and the difference over N
# is printed, so start-up and shutdown cancel out.
#
#   bash bench/http/callgrind_echo.sh SERVER_BINARY SIZE N
#   e.g. bash bench/http/callgrind_echo.sh build/bench/everything 1000000 3
#        bash bench/http/callgrind_echo.sh build/bench/everything 5 200     (the "hello" size)
#
# SERVER_BINARY takes mcpd's/everything's flags (--listen, --workers, --threads, --max-body).
# [SERVER_ARGS="..."]: more flags for it, e.g. "--access-log /tmp/a.log" (docs/metrics.md).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
BIN=$1 SIZE=$2 N=$3 PORT=${PORT:-18931}
TMP=$(mktemp -d)
[ -z "${KEEP:-}" ] || echo "callgrind_echo: keeping $TMP" >&2
trap '[ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
python3 - "$SIZE" >"$TMP/body.json" <<'PY'
import json, sys
msg = "hello" if sys.argv[1] == "5" else "x" * int(sys.argv[1])
print(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
    "name": "echo", "arguments": {"message": msg}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "cg", "version": "1"}}}},
    separators=(",", ":")), end="")
PY
run() {
    local n=$1 out="$TMP/cg.$1"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" --listen 127.0.0.1:$PORT \
        --workers 1 --threads 1 --max-body 8388608 ${SERVER_ARGS:-} 2>/dev/null &
    local pid=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/ && break; sleep 0.3; done
    echo_calls "$PORT" "$n" "$TMP/body.json"
    kill -TERM $pid
    wait $pid 2>/dev/null || true
    callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !d {gsub(",", "", $1); print $1; d = 1}'
}
a=$(run "$N")
b=$(run $((2 * N)))
echo "callgrind_echo: size=$SIZE instructions_per_request=$(((b - a) / N)) (N=$N: $a, 2N: $b)"
