#!/usr/bin/env bash
# HTTPS termination: skjold vs HAProxy 2.6 vs nginx, in one run, same pinning, same certificates,
# all on Debian's OpenSSL 3 (not a test; issue 6, Benchmark). Three figures per certificate
# (ECDSA P-256, then RSA 2048):
#   full    - a new connection and a full TLS 1.3 handshake per request (bench/tls_load full:
#             never offers a session)
#   resumed - a new connection per request resuming the previous connection's session (TLS 1.3
#             ticket, PSK with ECDHE; bench/tls_load resume)
#   keep    - keep-alive HTTPS requests on 64 connections (wrk)
# Not wrk with "Connection: close" for the first two: wrk keeps one SSL object per connection
# and SSL_clear()s it, so it offers its last ticket and mixes resumed and full handshakes in a
# proportion that depends on the server's ticket policy.
# Each proxy runs one worker on CPU 0; the clients and the backend (one nginx, `return 200` from
# memory) run on CPU 1. The client side saturates first on 2 CPUs, so the figure to compare is
# requests per proxy CPU core: rps / (the proxy's CPU time over the run / wall time), the CPU
# time from /proc/PID/task/*/schedstat (nanoseconds, every thread). Each figure is measured REPS
# times, the proxies taking turns, and the median per-core value is shown.
# skjold and HAProxy run the same HAProxy-syntax configuration; nginx the equivalent (shared
# session cache, tickets on: all three issue tickets by default; server connections kept alive
# and reused by all three: `http-reuse always` is what nginx's upstream keepalive does).
# Everything listens on 127.0.0.1 (ephemeral ports); every process is stopped by PID on exit.
#
# Usage: bench/tls.sh [SKJOLD_BINARY]   (default build-release/proxy/skjold; bench/tls_load is
#        taken from the same build directory)
# Environment: DURATION=5 WARMUP=1 CONNECTIONS=64 REPS=3 HAPROXY=/usr/sbin/haproxy
#              NGINX=/usr/sbin/nginx TLS_LOAD=BUILD/bench/tls_load FIGURES="full resumed keep"
#              PROFILE=1: perf records skjold during its full-handshake runs and prints where the time
#              goes (per library, then the top symbols).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
skjold=${1:-$root/build-release/proxy/skjold}
haproxy=${HAPROXY:-/usr/sbin/haproxy}
nginx=${NGINX:-/usr/sbin/nginx}
tls_load=${TLS_LOAD:-$(dirname "$skjold")/../bench/tls_load}
duration=${DURATION:-5}
warmup=${WARMUP:-1}
conns=${CONNECTIONS:-64}
reps=${REPS:-3}
figures=${FIGURES:-full resumed keep}

bench_name=tls.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk taskset python3 ss openssl "$haproxy" "$nginx" "$skjold" "$tls_load"

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
    http-reuse always
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

# Process CPU time in nanoseconds, all threads: the first field of each task's schedstat.
cpu_ns() {
    local f t sum=0
    for f in /proc/"$1"/task/*/schedstat; do
        read -r t _ <"$f" 2>/dev/null && sum=$(( sum + t ))
    done
    echo "$sum"
}

# load CERT FIGURE TARGET SECONDS OUT: one client run of FIGURE against TARGET.
load() {
    local url="https://127.0.0.1:${port[$3]}/"
    case $2 in
        full) timeout $(( $4 + 10 )) "${pin_load[@]}" "$tls_load" "${port[$3]}" "$4" "$conns" full >"$5" 2>&1 ;;
        resumed) timeout $(( $4 + 10 )) "${pin_load[@]}" "$tls_load" "${port[$3]}" "$4" "$conns" resume >"$5" 2>&1 ;;
        keep) timeout $(( $4 + 10 )) "${pin_load[@]}" wrk -t1 -c"$conns" -d"${4}s" "$url" >"$5" 2>&1 ;;
    esac
}

# run_one CERT FIGURE TARGET REP: one measured run, one result line appended to $work/rows.
run_one() {
    local cert=$1 mode=$2 t=$3 rep=$4 out="$work/load-$1-$2-$3-$4.txt"
    load "$cert" "$mode" "$t" "$warmup" /dev/null
    local c0 c1 n0 n1 perf_pid=
    if [ "${PROFILE:-0}" = 1 ] && [ "$t" = skjold ] && [ "$mode" = full ] && [ "$rep" = 1 ] && command -v perf >/dev/null; then
        perf record -q -F 999 -g -p "${pid[$t]}" -o "$work/perf-$cert.data" -- sleep "$duration" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    c0=$(cpu_ns "${pid[$t]}") n0=$(date +%s%N)
    load "$cert" "$mode" "$t" "$duration" "$out"
    c1=$(cpu_ns "${pid[$t]}") n1=$(date +%s%N)
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid"
        {
            echo "== where skjold's time goes, $cert full handshakes (perf, share of samples) =="
            perf report -i "$work/perf-$cert.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8
            perf report -i "$work/perf-$cert.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
                grep -E '^ +[0-9]' | head -15
        } >>"$work/profile"
    fi
    local rps errs reused
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    errs=$(awk '/Socket errors:/ { gsub(",", ""); e += $4 + $6 + $8 + $10 } /Non-2xx/ { e += $NF } /^Errors:/ { e += $2 }
                END { print e + 0 }' "$out")
    reused=$(awk '/^Reused:/ { if ($4 > 0) r = int(100 * $2 / $4) } END { print (r == "" ? "-" : r) }' "$out")
    echo "$cert $mode $t ${rps:-0} $errs $(( c1 - c0 )) $(( n1 - n0 )) $reused" >>"$work/rows"
}

echo "HTTPS termination, ${conns} connections, ${warmup} s warm-up + ${duration} s per figure, median of $reps, $pinning"
echo "full = new connection + full TLS 1.3 handshake per request; resumed = new connection + TLS 1.3"
echo "ticket resumption per request (tls_load); keep = keep-alive requests (wrk)"
echo "load before: $(uptime)"
for cert in ec rsa; do
    start_proxies "$cert" || { stop_proxies; continue; }
    for mode in $figures; do
        for (( rep = 1; rep <= reps; rep++ )); do
            for t in haproxy nginx skjold; do [ -n "${pid[$t]:-}" ] && run_one "$cert" "$mode" "$t" "$rep"; done
        done
    done
    stop_proxies
done
echo "load after: $(uptime)"

python3 - "$work/rows" <<'REPORT'
import sys
runs = {}
for line in open(sys.argv[1]):
    cert, mode, t, rps, errs, ns_cpu, ns_wall, reused = line.split()
    cpu = int(ns_cpu) / int(ns_wall)
    runs.setdefault((cert, mode, t), []).append((float(rps), int(errs), cpu, float(rps) / cpu if cpu > 0 else 0.0, reused))
table = {}
for k, v in runs.items():
    v.sort(key=lambda r: r[3])
    table[k] = v[len(v) // 2]
print(f"{'cert':4s} {'figure':7s} {'proxy':8s} {'req/s':>8s} {'errors':>6s} {'reused':>6s} {'CPU':>5s} {'req/s per core':>14s}  (each run's per core)")
for (cert, mode, t), (rps, errs, cpu, core, reused) in table.items():
    each = " ".join(f"{r[3]:.0f}" for r in runs[(cert, mode, t)])
    print(f"{cert:4s} {mode:7s} {t:8s} {rps:8.0f} {errs:6d} {reused:>5s}% {cpu * 100:4.0f}% {core:14.0f}  ({each})")
for cert in ("ec", "rsa"):
    for mode in ("full", "resumed", "keep"):
        s = table.get((cert, mode, "skjold"))
        best = max((table[k][3] for k in table if k[0] == cert and k[1] == mode and k[2] != "skjold"), default=0)
        if s and best > 0:
            print(f"{cert} {mode}: skjold / best of haproxy,nginx per core = {s[3] / best:.2f}")
REPORT
if [ -s "$work/profile" ]; then cat "$work/profile"; fi   # (a bare `[ ] &&` would be the exit status)
