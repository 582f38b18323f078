#!/usr/bin/env bash
# Installs the benchmark peer's npm packages: the official MCP TypeScript SDK and zod, pinned in
# bench/peers/package.json + package-lock.json (the same pins as tests/e2e/package.json), into
# bench/peers/node_modules. Installs node and npm (Debian) first if missing.
# Idempotent and quiet: npm runs only when node_modules is missing or older than package.json or
# package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "bench peers: installing nodejs npm" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -d node_modules ] || [ package.json -nt node_modules ] ||
    { [ -f package-lock.json ] && [ package-lock.json -nt node_modules ]; }; then
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error >/dev/null
    else
        npm install --no-audit --no-fund --loglevel=error >/dev/null
    fi
    touch node_modules
fi
