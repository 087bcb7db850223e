#!/usr/bin/env bash
# HTTPS termination: skjold vs HAProxy 2.6 vs nginx, in one run, same pinning, same certificates,
# all on Debian's OpenSSL 3 (not a test; issue 6, Benchmark). Two figures per certificate (ECDSA
# P-256, then RSA 2048):
#   full  - a new connection and a full TLS 1.3 handshake per request (wrk with Connection: close;
#           wrk never resumes a session)
#   keep  - keep-alive HTTPS requests on 64 connections
# Each proxy runs one worker on CPU 0; wrk and the backend (one nginx, `return 200` from memory)
# run on CPU 1. The client side saturates first on 2 CPUs, so the figure to compare is requests
# per proxy CPU core: rps / (the proxy's utime+stime over the run / wall time), from /proc/PID/stat.
# skjold and HAProxy run the same HAProxy-syntax configuration; nginx the equivalent (shared
# session cache, no tickets difference: all three issue tickets by default).
# Everything listens on 127.0.0.1 (ephemeral ports); every process is stopped by PID on exit.
#
# Usage: bench/tls.sh [SKJOLD_BINARY]   (default build-release/proxy/skjold)
# Environment: DURATION=5 WARMUP=1 CONNECTIONS=64 HAPROXY=/usr/sbin/haproxy NGINX=/usr/sbin/nginx
#              PROFILE=1: perf records skjold during its full-handshake runs and prints where the time
#              goes (per library, then the top symbols).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
skjold=${1:-$root/build-release/proxy/skjold}
haproxy=${HAPROXY:-/usr/sbin/haproxy}
nginx=${NGINX:-/usr/sbin/nginx}
duration=${DURATION:-5}
warmup=${WARMUP:-1}
conns=${CONNECTIONS:-64}

bench_name=tls.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk taskset python3 ss openssl "$haproxy" "$nginx" "$skjold"

# Certificates: HAProxy's PEM convention (certificate, then key) serves skjold and HAProxy;
# nginx reads the same certificate and key files.
openssl req -x509 -nodes -days 2 -subj /CN=bench.test -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$work/ec.key" -out "$work/ec.crt" 2>/dev/null || exit 1
openssl req -x509 -nodes -days 2 -subj /CN=bench.test -newkey rsa:2048 \
    -keyout "$work/rsa.key" -out "$work/rsa.crt" 2>/dev/null || exit 1
cat "$work/ec.crt" "$work/ec.key" >"$work/ec.pem"
cat "$work/rsa.crt" "$work/rsa.key" >"$work/rsa.pem"

read -r p_backend p_haproxy p_nginx p_skjold < <(free_ports 4)


nginx_head() {
    printf 'daemon off;\nmaster_process off;\nworker_processes 1;\npid %s/%s.pid;\n' "$work" "$1"
    printf 'error_log %s/%s.error.log warn;\nevents { worker_connections 8192; }\nhttp {\n' "$work" "$1"
    printf '    access_log off;\n    keepalive_requests 100000000;\n'
    for d in client_body proxy fastcgi uwsgi scgi; do printf '    %s_temp_path %s/%s-%s;\n' "$d" "$work" "$1" "$d"; done
}

{
    nginx_head backend
    echo "    server { listen 127.0.0.1:$p_backend; location / { return 200 \"hello, world\\n\"; } }"
    echo "}"
} >"$work/backend.conf"
start backend "$p_backend" "${pin_load[@]}" "$nginx" -c "$work/backend.conf" -e "$work/backend.error.log" || exit 1

# proxy_cfg PORT PEM: what skjold and HAProxy run.
proxy_cfg() {
    cat <<EOF
global
    nbthread 1
    maxconn 4096
    tune.ssl.cachesize 20000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend bench
    bind 127.0.0.1:$1 ssl crt $2 alpn http/1.1
    default_backend be
backend be
    server b1 127.0.0.1:$p_backend
EOF
}
nginx_cfg() {
    nginx_head proxy
    cat <<EOF
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    upstream be { server 127.0.0.1:$p_backend; keepalive 64; }
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate $2.crt;
        ssl_certificate_key $2.key;
        location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
EOF
}

declare -A port=([haproxy]=$p_haproxy [nginx]=$p_nginx [skjold]=$p_skjold) pid=()
# start_proxies KEY: the three proxies on the `KEY` certificate (ec or rsa).
start_proxies() {
    proxy_cfg "$p_haproxy" "$work/$1.pem" >"$work/haproxy.cfg"
    proxy_cfg "$p_skjold" "$work/$1.pem" >"$work/skjold.cfg"
    nginx_cfg "$p_nginx" "$work/$1" >"$work/nginx.conf"
    pid=()
    start haproxy "$p_haproxy" "${pin_proxy[@]}" "$haproxy" -db -f "$work/haproxy.cfg" && pid[haproxy]=${pids[-1]}
    start nginx "$p_nginx" "${pin_proxy[@]}" "$nginx" -c "$work/nginx.conf" -e "$work/nginx.error.log" && pid[nginx]=${pids[-1]}
    start skjold "$p_skjold" "${pin_proxy[@]}" "$skjold" -f "$work/skjold.cfg" && pid[skjold]=${pids[-1]}
    for t in "${!pid[@]}"; do
        local body
        body=$(curl --noproxy '*' -sk --max-time 3 "https://127.0.0.1:${port[$t]}/")
        [ "$body" = "hello, world" ] || echo "tls.sh: $t answers '${body:0:80}' instead of the backend's body" >&2
    done
}
stop_proxies() {
    for t in "${!pid[@]}"; do
        kill "${pid[$t]}" 2>/dev/null
        wait "${pid[$t]}" 2>/dev/null
    done
    pid=()
}

# Process CPU time in clock ticks (all threads): fields 14 and 15 of /proc/PID/stat.
ticks_of() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# run_wrk CERT MODE TARGET: one measured wrk run, one result line appended to $work/rows.
run_wrk() {
    local cert=$1 mode=$2 t=$3 url="https://127.0.0.1:${port[$3]}/" extra=()
    [ "$mode" = full ] && extra=(-H "Connection: close")
    timeout $(( warmup + 10 )) "${pin_load[@]}" wrk -t1 -c"$conns" -d"${warmup}s" "${extra[@]}" "$url" >/dev/null 2>&1
    local c0 c1 n0 n1
    local perf_pid=
    if [ "${PROFILE:-0}" = 1 ] && [ "$t" = skjold ] && [ "$mode" = full ] && command -v perf >/dev/null; then
        perf record -q -F 999 -g -p "${pid[$t]}" -o "$work/perf-$cert.data" -- sleep "$duration" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    c0=$(ticks_of "${pid[$t]}") n0=$(date +%s%N)
    timeout $(( duration + 15 )) "${pin_load[@]}" wrk -t1 -c"$conns" -d"${duration}s" "${extra[@]}" "$url" \
        >"$work/wrk-$cert-$mode-$t.txt" 2>&1
    c1=$(ticks_of "${pid[$t]}") n1=$(date +%s%N)
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid"
        {
            echo "== where skjold's time goes, $cert full handshakes (perf, share of samples) =="
            perf report -i "$work/perf-$cert.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8
            perf report -i "$work/perf-$cert.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
                grep -E '^ +[0-9]' | head -15
        } >>"$work/profile"
    fi
    local rps errs
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk-$cert-$mode-$t.txt")
    errs=$(awk '/Socket errors:/ { gsub(",", ""); e += $4 + $6 + $8 + $10 } /Non-2xx/ { e += $NF } END { print e + 0 }' \
        "$work/wrk-$cert-$mode-$t.txt")
    echo "$cert $mode $t ${rps:-0} $errs $(( c1 - c0 )) $(( n1 - n0 ))" >>"$work/rows"
}

echo "HTTPS termination, wrk -t1 -c$conns, ${warmup} s warm-up + ${duration} s per figure, $pinning"
echo "full = new connection + full TLS 1.3 handshake per request; keep = keep-alive requests"
for cert in ec rsa; do
    start_proxies "$cert" || { stop_proxies; continue; }
    for mode in full keep; do
        for t in haproxy nginx skjold; do [ -n "${pid[$t]:-}" ] && run_wrk "$cert" "$mode" "$t"; done
    done
    stop_proxies
done

python3 - "$work/rows" "$(getconf CLK_TCK)" <<'REPORT'
import sys
hz = int(sys.argv[2])
table = {}
for line in open(sys.argv[1]):
    cert, mode, t, rps, errs, ticks, ns = line.split()
    cpu = int(ticks) / hz / (int(ns) / 1e9)
    table[(cert, mode, t)] = (float(rps), int(errs), cpu, float(rps) / cpu if cpu > 0 else 0.0)
print(f"{'cert':4s} {'figure':6s} {'proxy':8s} {'req/s':>8s} {'errors':>6s} {'CPU':>5s} {'req/s per core':>14s}")
for (cert, mode, t), (rps, errs, cpu, core) in table.items():
    print(f"{cert:4s} {mode:6s} {t:8s} {rps:8.0f} {errs:6d} {cpu * 100:4.0f}% {core:14.0f}")
for cert in ("ec", "rsa"):
    for mode in ("full", "keep"):
        s = table.get((cert, mode, "skjold"))
        best = max((table[k][3] for k in table if k[0] == cert and k[1] == mode and k[2] != "skjold"), default=0)
        if s and best > 0:
            print(f"{cert} {mode}: skjold / best of haproxy,nginx per core = {s[3] / best:.2f}")
REPORT
[ -s "$work/profile" ] && cat "$work/profile"
