#!/usr/bin/env bash
# Installs what the end-to-end tests need: node and npm (Debian packages) and the npm packages
# pinned in tests/e2e/package.json + package-lock.json (the official MCP TypeScript SDK) and in
# tests/inspector/ (the MCP Inspector CLI).
# Idempotent and quiet: npm runs only when a node_modules is missing or older than its
# package.json or package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../tests/e2e"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "e2e-deps: installing nodejs npm" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
for d in ../e2e ../inspector; do
    (
        cd "$d"
        if [ ! -d node_modules ] || [ package.json -nt node_modules ] ||
            { [ -f package-lock.json ] && [ package-lock.json -nt node_modules ]; }; then
            npm install --no-audit --no-fund --loglevel=error >/dev/null
            touch node_modules
        fi
    )
done
