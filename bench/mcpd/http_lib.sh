# Shared by bench/mcpd/http.sh and http_cg.sh (source it after bench/lib.sh, with TMP, PIDS,
# WRK_CPU and die() set): the upstream both proxies fetch, nginx's config, and mcpd's.

BODY='{"ok":true,"n":42}'

# nginx_dir DIR PORT BODY-DIRECTIVES: one nginx worker (no master, no daemon, no access log,
# endless keep-alive) on 127.0.0.1:PORT, with an upstream block `up` (kept-alive connections to
# the upstream at UPORT) for proxy_pass.
nginx_dir() {
    mkdir -p "$1/tmp"
    cat >"$1/nginx.conf" <<NGINX
daemon off; master_process off; worker_processes 1; pid $1/nginx.pid; error_log $1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off; keepalive_requests 1000000000;
    client_body_temp_path $1/tmp/b; proxy_temp_path $1/tmp/p; fastcgi_temp_path $1/tmp/f;
    uwsgi_temp_path $1/tmp/u; scgi_temp_path $1/tmp/s;
    upstream up { server 127.0.0.1:${UPORT}; keepalive 64; keepalive_requests 1000000000; }
    server { listen 127.0.0.1:$2; $3 }
}
NGINX
}

# Starts the upstream (an nginx answering `return 200` with BODY) on WRK_CPU; sets UPORT.
http_upstream_start() {
    UPORT=$(pick_port)
    nginx_dir "$TMP/up" "$UPORT" "location / { default_type application/json; return 200 '$BODY'; }"
    taskset -c "$WRK_CPU" nginx -p "$TMP/up" -e "$TMP/up/error.log" -c "$TMP/up/nginx.conf" &
    PIDS+=($!)
    wait_port "$!" "$UPORT" || die "the upstream did not start"
}

# http_mcpd_config FILE: mcpd with one HTTP worker (as nginx has one worker process) and the
# http tool `echo` fetching the upstream with GET /?m=MESSAGE.
http_mcpd_config() {
    cat >"$1" <<JSON
{"http": {"workers": 1}, "tools": [{"kind": "http", "name": "echo", "url": "http://127.0.0.1:${UPORT}/", "query": {"m": "{message}"},
  "arguments": {"message": {"type": "string"}}, "concurrency": 64, "upstream": {"concurrency": 64, "max_idle": 64}}]}
JSON
}
