#!/usr/bin/env bash
# HTTP/1.1 keep-alive through skjold `mode http` vs HAProxy 2.6 vs nginx vs direct, in one run (not
# a test; issue 3, Benchmark). wrk -c64 (one thread) and the backend servers on CPU 1; each proxy on
# CPU 0 with one thread/worker. skjold and HAProxy run the same HAProxy-syntax configuration: an
# `acl is_norway src -f examples/geoip_no.txt`, `use_backend`, and a two-server round-robin backend
# (127.0.0.1 is not Norwegian, so every request takes the two-server backend; the list is still
# looked up per request). nginx runs the equivalent: a `geo` block from the same list, `map` to an
# upstream of the same two servers with `keepalive 64`.
# The backend servers: one nginx process (`master_process off`, CPU 1) with two listeners, each
# answering `return 200` with a 13-byte body from memory (no file I/O), keep-alive unlimited.
#
# Each target runs WARMUP seconds unmeasured, then DURATION seconds measured. Printed per target:
# requests/s, p50 and p99 latency (wrk --latency), non-2xx/socket errors, the proxy's CPU use over
# the measured run (utime+stime of every thread, from /proc/PID/stat), and requests/s per proxy CPU
# core (rps / CPU share), then the per-core ratio skjold/HAProxy. Per core is the figure that
# matters on 2 CPUs: wrk and the servers on CPU 1 cap raw rps near the same value for every proxy.
# Everything listens on 127.0.0.1 (ephemeral ports); every process is stopped by PID on exit.
#
# Usage: bench/http.sh [SKJOLD_BINARY]   (default build-release/proxy/skjold; missing or not starting: skipped)
# Environment: DURATION=10 WARMUP=2 CONNECTIONS=64 REPEATS=1 HAPROXY=/usr/sbin/haproxy NGINX=/usr/sbin/nginx
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
skjold=${1:-$root/build-release/proxy/skjold}
haproxy=${HAPROXY:-/usr/sbin/haproxy}
nginx=${NGINX:-/usr/sbin/nginx}
duration=${DURATION:-10}
warmup=${WARMUP:-2}
conns=${CONNECTIONS:-64}
repeats=${REPEATS:-1}
geo_list=$root/examples/geoip_no.txt

[ -r "$geo_list" ] || { echo "http.sh: $geo_list is missing" >&2; exit 1; }

bench_name=http.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk taskset python3 ss "$haproxy" "$nginx"

read -r p_s1 p_s2 p_haproxy p_nginx p_skjold < <(free_ports 5)

hello_servers_conf servers "$p_s1" "$p_s2" >"$work/servers.conf"

# The configuration skjold and HAProxy both run.
proxy_config() {
    cat <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend bench
    bind 127.0.0.1:$1
    acl is_norway src -f $geo_list
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

# nginx's equivalent: the same list as a geo block, the same two servers, pooled upstream connections.
grep -Ev '^[[:space:]]*(#|$)' "$geo_list" | awk '{ print $1 " 1;" }' >"$work/geo_no.conf"
{
    nginx_common proxy
    echo "http {"
    nginx_http_common proxy
    cat <<EOF
    geo \$is_norway { default 0; include $work/geo_no.conf; }
    map \$is_norway \$pool { 1 norway; default cloud; }
    upstream norway { server 127.0.0.1:$p_s1; keepalive 64; }
    upstream cloud { server 127.0.0.1:$p_s1; server 127.0.0.1:$p_s2; keepalive 64; }
    server {
        listen 127.0.0.1:$p_nginx;
        location / {
            proxy_pass http://\$pool;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
} >"$work/nginx.conf"

start servers "$p_s1" "${pin_load[@]}" "$nginx" -c "$work/servers.conf" -e "$work/servers.error.log" || exit 1
wait_port "${pids[-1]}" "$p_s2" servers || exit 1

targets=(direct)
declare -A port=([direct]=$p_s1) pid=()
proxy_config "$p_haproxy" >"$work/haproxy.cfg"
if start haproxy "$p_haproxy" "${pin_proxy[@]}" "$haproxy" -db -f "$work/haproxy.cfg"; then
    targets+=(haproxy) port[haproxy]=$p_haproxy pid[haproxy]=${pids[-1]}
fi
if start nginx "$p_nginx" "${pin_proxy[@]}" "$nginx" -c "$work/nginx.conf" -e "$work/proxy.error.log"; then
    targets+=(nginx) port[nginx]=$p_nginx pid[nginx]=${pids[-1]}
fi
skjold_failed=0
if [ -x "$skjold" ]; then
    proxy_config "$p_skjold" >"$work/skjold.cfg"
    if start skjold "$p_skjold" "${pin_proxy[@]}" "$skjold" -f "$work/skjold.cfg"; then
        targets+=(skjold) port[skjold]=$p_skjold pid[skjold]=${pids[-1]}
    else
        skjold_failed=1
    fi
else
    echo "http.sh: $skjold not built: measuring direct, haproxy and nginx only" >&2
fi

# A smoke request per target: a proxy that answers errors is reported, not benchmarked.
for t in "${targets[@]}"; do
    body=$(curl --noproxy '*' -s --max-time 3 "http://127.0.0.1:${port[$t]}/")
    [ "$body" = "hello, world" ] || echo "http.sh: $t answers '${body:0:80}' instead of the server's body" >&2
done

# cpu_ticks PID: utime+stime (clock ticks) of the whole process, all threads.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

# measure TARGET RUN: one wrk run; appends "target rps p50_ms p99_ms errors cpu_share" to results.
measure() {
    local t=$1 run=$2 u="http://127.0.0.1:${port[$1]}/"
    timeout $(( warmup + 10 )) "${pin_load[@]}" wrk -t1 -c"$conns" -d"${warmup}s" "$u" >/dev/null 2>&1
    local p=${pid[$t]:-} before=0 after=0
    [ -n "$p" ] && before=$(cpu_ticks "$p")
    local start_ns=$(date +%s%N)
    timeout $(( duration + 15 )) "${pin_load[@]}" wrk -t1 -c"$conns" -d"${duration}s" --latency "$u" >"$work/wrk-$t-$run.txt" 2>&1
    local end_ns=$(date +%s%N)
    [ -n "$p" ] && after=$(cpu_ticks "$p")
    python3 - "$t" "$work/wrk-$t-$run.txt" "$(( after - before ))" "$hz" "$start_ns" "$end_ns" "${p:+proxy}" >>"$work/results" <<'PARSE'
import re, sys
name, path, ticks, hz, t0, t1, is_proxy = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7] == "proxy"
text = open(path).read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
errors = 0
for m in re.finditer(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
    errors += sum(int(x) for x in m.groups())
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors += int(m.group(1)) if m else 0
cpu = ticks / hz / ((t1 - t0) / 1e9) if is_proxy else float("nan")
print(name, rps.group(1) if rps else "nan", ms(*p50.groups()) if p50 else "nan",
      ms(*p99.groups()) if p99 else "nan", errors, cpu)
PARSE
}

echo "HTTP/1.1 keep-alive, wrk -t1 -c$conns, ${warmup} s warm-up + ${duration} s per target, $pinning"
for (( r = 1; r <= repeats; r++ )); do
    for t in "${targets[@]}"; do measure "$t" "$r"; done
done

python3 - "$work/results" <<'REPORT'
import math, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *vals = line.split()
    rows.setdefault(name, []).append([float(v) for v in vals])
def med(name, i):
    vals = [r[i] for r in rows[name] if not math.isnan(r[i])]
    return statistics.median(vals) if vals else math.nan
print(f"{'target':8s} {'req/s':>9s} {'p50 ms':>7s} {'p99 ms':>7s} {'errors':>6s} {'proxy CPU':>9s} {'req/s per core':>14s}")
per_core = {}
for name in rows:
    rps, p50, p99, err, cpu = (med(name, i) for i in range(5))
    per_core[name] = rps / cpu if cpu > 0 else math.nan
    cpu_text = f"{cpu * 100:8.0f}%" if not math.isnan(cpu) else f"{'-':>9s}"
    core_text = f"{per_core[name]:14.0f}" if not math.isnan(per_core[name]) else f"{'-':>14s}"
    print(f"{name:8s} {rps:9.0f} {p50:7.2f} {p99:7.2f} {err:6.0f} {cpu_text} {core_text}")
for a, b in (("skjold", "haproxy"), ("nginx", "haproxy")):
    if a in per_core and b in per_core and per_core[b] > 0:
        print(f"{a}/{b} per core: {per_core[a] / per_core[b]:.2f}   (p99 {med(a, 2):.2f} ms vs {med(b, 2):.2f} ms)")
REPORT

[ "$skjold_failed" = 0 ] || { echo "http.sh: skjold did not start (see above)" >&2; exit 1; }
