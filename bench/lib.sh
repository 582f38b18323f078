# Shell helpers shared by bench/run.sh, bench/http/run.sh and bench/http/*_echo.sh (source it;
# it defines functions only). Each caller has its own die().

# A free TCP port on 127.0.0.1 (not listening now; a race with other programs is unlikely).
pick_port() {
    local p used
    used=$(ss -Htan | awk '{print $4}' | sed -n 's/.*:\([0-9]*\)$/\1/p' | sort -u)
    while :; do
        p=$((20000 + RANDOM % 30000))
        grep -qx "$p" <<<"$used" || { echo "$p"; return; }
    done
}

# Wait until something accepts on 127.0.0.1:$2 while process $1 lives (up to 20 s).
wait_port() {
    local pid=$1 port=$2 i
    for i in $(seq 1 400); do
        kill -0 "$pid" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    return 1
}

# Sends N stateless tools/call requests (modern era, tool `echo`, the JSON body in file $3) to
# 127.0.0.1:$1/mcp on one keep-alive connection: one curl, N URLs. For callgrind_echo.sh and
# strace_echo.sh, which count what the server spends per request.
echo_calls() {
    local port=$1 n=$2 body=$3 urls=() i
    for i in $(seq 1 "$n"); do urls+=("http://127.0.0.1:$port/mcp"); done
    curl -s -X POST -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
        -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' --data-binary @"$body" \
        "${urls[@]}" >/dev/null
}

# utime+stime of a process (all threads), in clock ticks. Field 2 (comm) may hold spaces.
cpu_ticks() {
    local s
    s=$(cat "/proc/$1/stat") || die "process $1 is gone"
    s=${s##*) }
    awk '{print $12 + $13}' <<<"$s"
}

# nginx_conf DIR PORT BODYFILE: writes DIR/nginx.conf for one nginx worker (no master, no
# daemon, no access log, endless keep-alive) answering POST/GET /mcp on 127.0.0.1:PORT with
# `return 200` and the bytes of BODYFILE as application/json. Run it with
#   nginx -p DIR -e DIR/error.log -c DIR/nginx.conf
nginx_conf() {
    local dir=$1 port=$2 body nbody
    body=$(cat "$3")
    case "$body" in *'$'*) die "the body holds '\$', which nginx would expand in 'return'" ;; esac
    nbody=${body//\\/\\\\}
    nbody=${nbody//\'/\\\'}
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 1000000000;
    keepalive_timeout 75s;
    default_type application/json;
    server {
        listen 127.0.0.1:$port;
        location = /mcp {
            return 200 '$nbody';
        }
    }
}
EOF
}
