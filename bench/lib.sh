# Shared pieces of the bench/*.sh race scripts (sourced, not run). Each script sets `bench_name`
# before sourcing; afterwards it has $work (a scratch dir removed at exit), the pids array (every
# process started; stopped by PID at exit), free_ports N, wait_port, and pin_proxy/pin_load/pinning.

work=$(mktemp -d "/tmp/skjold-$bench_name.XXXXXX")
pids=()
bench_cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$work"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Proxy on CPU 0, load generator and servers on CPU 1, when the machine allows it.
if taskset -c 0,1 true 2>/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_proxy=(taskset -c 0) pin_load=(taskset -c 1) pinning="proxy on CPU 0; load and servers on CPU 1"
else
    pin_proxy=() pin_load=() pinning="NOT pinned (fewer than 2 usable CPUs): figures are rough"
fi

# free_ports N: N distinct free ports on 127.0.0.1, chosen by the kernel (all held until picked).
free_ports() {
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# wait_port PID PORT NAME: waits (at most 5 s) until PORT listens; fails if PID died first,
# showing the end of $work/NAME.log.
wait_port() {
    for (( i = 0; i < 50; i++ )); do
        ss -Hltn "sport = :$2" | grep -q . && return 0
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    echo "$bench_name: $3 did not start listening on 127.0.0.1:$2; its output:" >&2
    tail -n 20 "$work/$3.log" >&2
    return 1
}

# start NAME PORT COMMAND...: starts COMMAND in the background (output in $work/NAME.log), adds its
# PID to pids (the last one), and waits until it listens on PORT.
start() {
    local name=$1 port=$2
    shift 2
    "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    wait_port $! "$port" "$name"
}

# rss_kib PID: VmRSS of PID in KiB (empty once it has exited).
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# nginx_common NAME / nginx_http_common NAME: the top of an nginx configuration that runs in the
# foreground without a master, with every path it writes in $work (nginx wants them writable).
nginx_common() {
    cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/$1.pid;
error_log $work/$1.error.log warn;
events { worker_connections 4096; }
EOF
}
nginx_http_common() {
    cat <<EOF
    access_log off;
    client_body_temp_path $work/$1-body;
    proxy_temp_path $work/$1-proxy;
    fastcgi_temp_path $work/$1-fastcgi;
    uwsgi_temp_path $work/$1-uwsgi;
    scgi_temp_path $work/$1-scgi;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
EOF
}

# need COMMAND|PATH...: stops the script with a message when a command (looked up in $PATH) or an
# executable path is missing.
need() {
    local t
    for t in "$@"; do
        if [[ $t == */* ]]; then
            [ -x "$t" ] || { echo "$bench_name: $t is missing (make deps; make bench builds build-release/)" >&2; exit 1; }
        else
            command -v "$t" >/dev/null || { echo "$bench_name: $t is missing (make deps)" >&2; exit 1; }
        fi
    done
}

# hello_servers_conf NAME PORT...: an nginx configuration (on stdout) whose servers answer
# `200 hello, world` from memory on each PORT of 127.0.0.1: the backends of the race scripts.
hello_servers_conf() {
    local name=$1 p
    shift
    nginx_common "$name"
    echo "http {"
    nginx_http_common "$name"
    for p in "$@"; do
        echo "    server { listen 127.0.0.1:$p; location / { return 200 \"hello, world\\n\"; } }"
    done
    echo "}"
}
