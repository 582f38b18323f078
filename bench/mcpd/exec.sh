#!/usr/bin/env bash
# exec.sh - exec tool calls/s of mcpd against a bare posix_spawn + wait loop of the same program
# (issue 13: at least 80% of it). Both run `echo hi` N times; mcpd over stdio, the calls
# pipelined (concurrency 1 so both run one child at a time, then the default 16).
# Usage: bench/mcpd/exec.sh [MCPD_BIN] [N]   (default build/release/mcpd, 2000)
set -euo pipefail
BIN=${1:-build/release/mcpd}
N=${2:-2000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cc -O2 -o "$dir/spawn_loop" "$(dirname "$0")/spawn_loop.c"
"$dir/spawn_loop" "$N" echo hi
for conc in 1 16; do
    cat > "$dir/c.json" <<JSON
{"limits": {"concurrency": $conc, "max_children": 64, "queue_wait_ms": 600000, "timeout_ms": 600000},
 "tools": [{"kind": "exec", "name": "hi", "command": ["echo", "hi"]}]}
JSON
    {
        echo '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
        echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
        for ((i = 1; i <= N; i++)); do
            echo "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"tools/call\",\"params\":{\"name\":\"hi\",\"arguments\":{}}}"
        done
    } > "$dir/in.jsonl"
    start=$(date +%s.%N)
    "$BIN" --config "$dir/c.json" --stdio < "$dir/in.jsonl" > "$dir/out.jsonl" 2> "$dir/err.log"
    end=$(date +%s.%N)
    ok=$(grep -c '"text":"hi\\n"' "$dir/out.jsonl" || true)
    awk -v n="$N" -v ok="$ok" -v s="$start" -v e="$end" -v c="$conc" \
        'BEGIN { printf "mcpd_exec: concurrency=%d calls=%d ok=%d seconds=%.3f calls_per_s=%.0f\n", c, n, ok, e - s, n / (e - s) }'
done
