#!/usr/bin/env bash
# Reloads under load (not a test; issue 7, Reload): wrk keeps HTTP/1.1 keep-alive load on the
# proxy while the configuration is reloaded RELOADS times, skjold (SIGHUP, in-process) vs HAProxy
# 2.6 in master-worker mode (-W, SIGUSR2: a new worker process, the old one finishes), in one run,
# same configuration, same pinning (proxy on CPU 0, wrk and the servers on CPU 1). Printed per
# proxy: requests, failed requests (wrk's socket errors + non-2xx), requests/s, p99 latency over
# the whole run, and the proxy's reloads seen done. Then skjold's reload time (its "reload ok ...
# in N ms" lines) for the same configuration with the world geo lists of ../shared/testdata
# (all-countries-v4/v6, ~400k prefixes) when they are there: the time from SIGHUP to every worker
# running the new configuration, median and max.
# Everything listens on 127.0.0.1; every process is stopped by PID on exit.
#
# Usage: bench/reload.sh [SKJOLD_BINARY]   (default build-release/proxy/skjold)
# Environment: DURATION=20 RELOADS=100 CONNECTIONS=64 HAPROXY=/usr/sbin/haproxy NGINX=/usr/sbin/nginx
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
skjold=${1:-$root/build-release/proxy/skjold}
haproxy=${HAPROXY:-/usr/sbin/haproxy}
nginx=${NGINX:-/usr/sbin/nginx}
duration=${DURATION:-20}
reloads=${RELOADS:-100}
conns=${CONNECTIONS:-64}
geo_list=$root/examples/geoip_no.txt
world_v4=$root/../shared/testdata/all-countries-v4.txt
world_v6=$root/../shared/testdata/all-countries-v6.txt

bench_name=reload.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk taskset python3 ss curl "$nginx" "$skjold"

read -r p_s1 p_s2 p_haproxy p_skjold p_world < <(free_ports 5)
hello_servers_conf servers "$p_s1" "$p_s2" >"$work/servers.conf"

# proxy_config PORT [LIST...]: the configuration both proxies run (the geo ACL reads every LIST).
proxy_config() {
    local port=$1 lists=""
    shift
    for l in "${@:-$geo_list}"; do lists+=" -f $l"; done
    cat <<EOF
global
    nbthread 1
    maxconn 4096
    hard-stop-after 30s
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend bench
    bind 127.0.0.1:$port
    acl is_norway src$lists
    use_backend norway if is_norway
    default_backend cloud
backend norway
    server n1 127.0.0.1:$p_s1
backend cloud
    balance roundrobin
    server c1 127.0.0.1:$p_s1
    server c2 127.0.0.1:$p_s2
EOF
}

start servers "$p_s1" "${pin_load[@]}" "$nginx" -c "$work/servers.conf" -e "$work/servers.error.log" || exit 1
wait_port "${pids[-1]}" "$p_s2" servers || exit 1

proxy_config "$p_haproxy" >"$work/haproxy.cfg"
proxy_config "$p_skjold" >"$work/skjold.cfg"
declare -A port=() pid=() sig=()
targets=()
if [ -x "$haproxy" ] && start haproxy "$p_haproxy" "${pin_proxy[@]}" "$haproxy" -W -db -f "$work/haproxy.cfg"; then
    targets+=(haproxy) port[haproxy]=$p_haproxy pid[haproxy]=${pids[-1]} sig[haproxy]=USR2
fi
if start skjold "$p_skjold" "${pin_proxy[@]}" "$skjold" -f "$work/skjold.cfg"; then
    targets+=(skjold) port[skjold]=$p_skjold pid[skjold]=${pids[-1]} sig[skjold]=HUP
else
    echo "reload.sh: skjold did not start" >&2
    exit 1
fi

# run TARGET: wrk for DURATION seconds while RELOADS reloads are sent at even intervals.
run() {
    local t=$1 u="http://127.0.0.1:${port[$1]}/"
    timeout $(( duration + 15 )) "${pin_load[@]}" wrk -t1 -c"$conns" -d"${duration}s" --latency "$u" >"$work/wrk-$t.txt" 2>&1 &
    local wrk_pid=$!
    sleep 0.5
    local gap
    gap=$(python3 -c "print(max(0.01, ($duration - 1.5) / $reloads))")
    for (( i = 0; i < reloads; i++ )); do
        kill -"${sig[$t]}" "${pid[$t]}" 2>/dev/null || break
        sleep "$gap"
    done
    wait "$wrk_pid"
}

echo "Reloads under load: wrk -t1 -c$conns for ${duration} s while $reloads reloads are sent; $pinning"
for t in "${targets[@]}"; do run "$t"; done
sleep 1
skjold_reloads=$(grep -c "reload ok" "$work/skjold.log")
haproxy_reloads=$(grep -c "Loading success" "$work/haproxy.log" 2>/dev/null || echo 0)

python3 - "$work" "$skjold_reloads" "$haproxy_reloads" "${targets[@]}" <<'REPORT'
import re, sys
work, done = sys.argv[1], {"skjold": sys.argv[2], "haproxy": sys.argv[3]}
print(f"{'proxy':8s} {'requests':>9s} {'failed':>7s} {'req/s':>8s} {'p99 ms':>7s} {'reloads done':>12s}")
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
for t in sys.argv[4:]:
    text = open(f"{work}/wrk-{t}.txt").read()
    req = re.search(r"(\d+) requests in", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    failed = 0
    for m in re.finditer(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        failed += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    failed += int(m.group(1)) if m else 0
    print(f"{t:8s} {req.group(1) if req else '-':>9s} {failed:7d} {float(rps.group(1)) if rps else 0:8.0f} "
          f"{ms(*p99.groups()) if p99 else float('nan'):7.2f} {done.get(t, '-'):>12s}")
REPORT

# skjold's reload time with the world lists (about 400k prefixes read, compiled, adopted).
if [ -r "$world_v4" ] && [ -r "$world_v6" ]; then
    # The lists say "CIDR CC": the prefixes alone make a `src -f` list of the whole world.
    cut -d' ' -f1 "$world_v4" >"$work/world-v4.txt"
    cut -d' ' -f1 "$world_v6" >"$work/world-v6.txt"
    proxy_config "$p_world" "$work/world-v4.txt" "$work/world-v6.txt" >"$work/world.cfg"
    if start world "$p_world" "${pin_proxy[@]}" "$skjold" -f "$work/world.cfg"; then
        for (( i = 0; i < 10; i++ )); do
            before=$(grep -c "reload ok" "$work/world.log")
            kill -HUP "${pids[-1]}"
            for (( w = 0; w < 100; w++ )); do
                [ "$(grep -c "reload ok\|reload failed" "$work/world.log")" -gt "$before" ] && break
                sleep 0.05
            done
        done
        grep -o "reload ok.* in [0-9]* ms" "$work/world.log" | grep -o "[0-9]* ms$" | sort -n |
            awk '{ v[NR] = $1 } END { if (NR) printf "skjold reload with the world lists (v4+v6): median %d ms, max %d ms over %d reloads\n", v[int((NR + 1) / 2)], v[NR], NR }'
    fi
else
    echo "(world lists not found beside the checkout: reload time with them not measured)"
fi
