#!/usr/bin/env bash
# run.sh MODE SRC BUILD - builds tests/consumer against libmcp one way and talks to it.
#   install    cmake --install BUILD into BUILD/consumer/prefix (the other modes use it)
#   pkgconfig  cc main.c $(pkg-config --cflags --libs mcp): libmcp.so, found through mcp.pc
#   package    a CMake project with find_package(mcp): mcp::mcp, libmcp.a
#   subdir     a CMake project with add_subdirectory(SRC): mcp::mcp built from source
#   symbols    libmcp.so exports only mcp_*, libmcp.a defines no other global symbol, and every
#              one of them is declared in include/mcp/ (internal mcp_* helpers stay local)
# CONSUMER_FLAGS (from CMake) carries the build's sanitizer flags: an instrumented libmcp needs
# its runtime in the program too.
set -euo pipefail
mode=$1 src=$2 build=$3
flags=${CONSUMER_FLAGS:-}
work=$build/consumer
prefix=$work/prefix
fail() { echo "consumer($mode): $*" >&2; exit 1; }

# Starts the built server on stdio with one session and one call; checks the answer.
talk() {
    local bin=$1 out
    out=$(printf '%s\n' \
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
        '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
        '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"greet","arguments":{"name":"consumer"}}}' |
        timeout 60 "$bin" 2>"$work/$mode.stderr") || fail "server exited $?: $(cat "$work/$mode.stderr")"
    grep -q '"id":2,"result":{"content":\[{"type":"text","text":"hello, consumer"}' <<<"$out" ||
        fail "unexpected answer: $out"
    if grep -E 'ERROR: (Address|Thread|Leak)Sanitizer|runtime error:' "$work/$mode.stderr"; then
        fail "sanitizer report"
    fi
    echo "consumer($mode): ok"
}

cmake_consumer() { # $1: mode, then extra cmake args
    local m=$1
    shift
    local dir=$work/$m
    rm -rf "$dir"
    cmake -S "$src/tests/consumer" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DMCP_CONSUMER_MODE="$m" \
        "$@" >"$work/$m.cmake.log" 2>&1 || { cat "$work/$m.cmake.log"; fail "cmake failed"; }
    ninja -j2 -C "$dir" consumer >"$work/$m.build.log" 2>&1 ||
        { tail -40 "$work/$m.build.log"; fail "build failed"; }
    talk "$dir/consumer"
}

mkdir -p "$work"
case $mode in
install)
    rm -rf "$prefix"
    cmake --install "$build" --prefix "$prefix" >"$work/install.log" ||
        { cat "$work/install.log"; fail "install failed"; }
    for f in include/mcp/mcp.h lib/libmcp.a lib/libmcp.so lib/pkgconfig/mcp.pc \
        lib/cmake/mcp/mcpConfig.cmake lib/cmake/mcp/mcpTargets.cmake; do
        [ -e "$prefix/$f" ] || fail "not installed: $f"
    done
    grep -q 'SONAME.*libmcp\.so\.[0-9]' <<<"$(readelf -d "$prefix/lib/libmcp.so")" || fail "no soname"
    echo "consumer(install): ok"
    ;;
pkgconfig)
    export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
    # shellcheck disable=SC2046,SC2086
    cc -std=c11 -Wall -Werror $flags -o "$work/consumer-pc" "$src/tests/consumer/main.c" \
        $(pkg-config --cflags --libs mcp) -Wl,-rpath,"$prefix/lib"
    libs=$(ldd "$work/consumer-pc") # not piped into grep -q: pipefail and SIGPIPE
    grep -q "$prefix/lib/libmcp.so" <<<"$libs" || fail "not linked to libmcp.so: $libs"
    talk "$work/consumer-pc"
    ;;
package) cmake_consumer package -DCMAKE_PREFIX_PATH="$prefix" ;;
subdir) flags="" cmake_consumer subdir -DMCP_SOURCE_DIR="$src" ;; # plain build: faster
symbols)
    # (outputs kept in variables: with pipefail, "nm | grep -q" fails when grep exits early)
    so=$(nm -D --defined-only "$build/libmcp.so" | awk '{print $3}')
    ar=$(nm -g --defined-only "$build/libmcp.a" | awk 'NF==3 {print $3}')
    bad=$(grep -v '^mcp_' <<<"$so" || true)
    [ -z "$bad" ] || fail "libmcp.so exports non-mcp_ symbols: $(echo $bad | head -c 600)"
    bad=$(grep -v '^mcp_' <<<"$ar" || true)
    [ -z "$bad" ] || fail "libmcp.a defines global non-mcp_ symbols: $(echo $bad | head -c 600)"
    grep -qx mcp_server_new_sz <<<"$so" || fail "libmcp.so: no mcp_server_new_sz"
    grep -qx mcp_server_new_sz <<<"$ar" || fail "libmcp.a: no mcp_server_new_sz"
    # and only the public API: every global name is declared in include/mcp/ (no mcp_buf_*, ...)
    for sym in $so $ar; do
        grep -qw -- "$sym" "$src"/include/mcp/*.h || fail "$sym is global but not in include/mcp/"
    done
    echo "consumer(symbols): ok"
    ;;
*) fail "unknown mode" ;;
esac
