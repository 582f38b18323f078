#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, only when some are missing.
# Idempotent: a second run makes no change and asks no registry.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
      libuv1-dev libpcre2-dev libssl-dev libyaml-dev node-llhttp
      libsqlite3-dev libcurl4-openssl-dev
      prometheus chromium fonts-dejavu-core)  # promtool, headless chromium (e2e_http_admin)
if [ "${1:-}" = "--bench" ]; then
    # bench/run.sh: load generator, the nginx peer, plots, profiles, ports, pinning
    pkgs+=(libcjson-dev libjansson-dev wrk nginx-light gnuplot-nox linux-perf curl iproute2
           util-linux sqlite3 valgrind strace)
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
