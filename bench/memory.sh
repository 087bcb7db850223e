#!/usr/bin/env bash
# Resident memory with idle keep-alive client connections: skjold `mode http` vs HAProxy 2.6, in
# one run, same configuration (not a test; issue 8, "Limits and abuse"). Each proxy runs with one
# thread on CPU 0, one backend (an nginx answering `return 200` from memory, CPU 1). For each
# proxy in turn: VmRSS once it has served one request (warm), then CLIENTS connections
# (bench/idle_clients.py: one GET each, answer read whole, then idle) and VmRSS with all of them
# open, then the clients close and VmRSS once more. Printed: the three figures and the growth per
# idle connection ((with - warm) / connections). skjold's design goal: an idle keep-alive
# connection holds no receive buffer, only its session slot.
# Everything listens on 127.0.0.1; every process is stopped by PID on exit.
#
# Usage: bench/memory.sh [SKJOLD_BINARY]   (default build-release/proxy/skjold)
# Environment: CLIENTS=10000 HAPROXY=/usr/sbin/haproxy NGINX=/usr/sbin/nginx
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
skjold=${1:-$root/build-release/proxy/skjold}
haproxy=${HAPROXY:-/usr/sbin/haproxy}
nginx=${NGINX:-/usr/sbin/nginx}
clients=${CLIENTS:-10000}

# Each idle connection is one descriptor in the client and one in the proxy (plus a few).
want=$((clients + 1000))
ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt "$want" ]; then
    clients=$(( $(ulimit -n) - 1000 ))
    echo "memory.sh: the descriptor limit is $(ulimit -n) (hard); measuring $clients connections" >&2
fi

bench_name=memory.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need taskset python3 ss curl "$skjold" "$haproxy" "$nginx"

read -r p_server p_skjold p_haproxy < <(free_ports 3)

{
    nginx_common server
    echo "http {"
    nginx_http_common server
    echo "    server { listen 127.0.0.1:$p_server; location / { return 200 \"hello, world\\n\"; } }"
    echo "}"
} >"$work/server.conf"

# The configuration both proxies run (timeouts far above the measurement: nobody is closed idle).
proxy_config() {
    cat <<EOF
global
    nbthread 1
    maxconn $((clients + 100))
defaults
    mode http
    timeout connect 2s
    timeout client 600s
    timeout server 600s
    timeout http-keep-alive 600s
frontend mem
    bind 127.0.0.1:$1
    default_backend app
backend app
    server s1 127.0.0.1:$p_server
EOF
}
proxy_config "$p_skjold" >"$work/skjold.cfg"
# HAProxy counts two descriptors per connection (client and server side) against the limit and
# by default refuses to start below that; the idle clients need one each plus a pooled few.
proxy_config "$p_haproxy" | sed 's/^global$/global\n    no strict-limits/' >"$work/haproxy.cfg"

start server "$p_server" "${pin_load[@]}" "$nginx" -c "$work/server.conf" -p "$work" || exit 1

echo "== memory.sh: $clients idle keep-alive client connections (one GET each), mode http, one thread"
echo "   $pinning; skjold: $skjold; $("$haproxy" -v | head -n 1)"
printf '%-10s %12s %16s %14s %18s %8s\n' proxy "warm KiB" "with idle KiB" "closed KiB" "per connection B" clients

# measure NAME PORT SOURCE_IP COMMAND...
measure() {
    local name=$1 port=$2 src=$3
    shift 3
    start "$name" "$port" "${pin_proxy[@]}" "$@" || { echo "memory.sh: $name did not start" >&2; return 1; }
    local pid=${pids[-1]}
    curl -s --noproxy '*' -o /dev/null "http://127.0.0.1:$port/" || echo "memory.sh: $name: warm-up request failed" >&2
    sleep 1
    local warm; warm=$(rss_kib "$pid"); warm=${warm:-0}
    coproc CLIENTS_PROC { exec "${pin_load[@]}" python3 "$here/idle_clients.py" "$port" "$clients" "$src" 2>"$work/$name.clients.log"; }
    local cpid=$CLIENTS_PROC_PID
    pids+=("$cpid")
    local line=""
    read -r -t 120 line <&"${CLIENTS_PROC[0]}"
    local ok fail
    read -r _ ok fail <<<"$line"
    sleep 2
    local with; with=$(rss_kib "$pid"); with=${with:-0}
    kill "$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    sleep 2
    local closed; closed=$(rss_kib "$pid"); closed=${closed:-0}
    local per=0
    [ "${ok:-0}" -gt 0 ] && per=$(( (with - warm) * 1024 / ok ))
    printf '%-10s %12s %16s %14s %18s %8s\n' "$name" "$warm" "$with" "$closed" "$per" "${ok:-0} ok${fail:+, $fail failed}"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

measure skjold "$p_skjold" 127.0.0.2 "$skjold" -f "$work/skjold.cfg"
measure haproxy "$p_haproxy" 127.0.0.3 "$haproxy" -db -f "$work/haproxy.cfg"
