#!/usr/bin/env bash
# Soak (not a test; issue 8, "Tests and reporting"): DURATION seconds of mixed load through one
# skjold, sampling its resident memory and open descriptors every 10 s. At the same time:
#   - wrk keep-alive (16 connections) and wrk with `Connection: close` (4) on a `mode http` frontend;
#   - TLS: wrk keep-alive and close over `bind ... ssl` (a self-signed EC certificate made here),
#     when this build starts such a bind (else skipped, with the reason);
#   - a curl loop (a new connection per request) through a `mode tcp` listener;
#   - malformed requests, one connection each (bench/bad_clients.py);
#   - SIGHUP every 10 s (reload of the same files);
#   - every 30 s one of the two backend servers (nginx, `return 200`) is killed with SIGKILL and
#     restarted 3 s later (health checks every 1 s take it out and back).
# Printed: one row per sample (seconds, VmRSS KiB, of which in the workers' receive-buffer rings
# and the rest, descriptors, threads, reloads and kills so far), then each load's summary and
# whether skjold survived and stopped cleanly (exit code of SIGTERM).
# Reading the curve: each worker's provided-buffer ring (core/buffer_ring.cc: 1024 buffers of
# tune.bufsize, one mmap) is touched page by page as the kernel hands its buffers out in turn, so
# "rings" climbs toward nworkers x 16 MiB and stops there: that is bounded, not a leak. "rest" is
# everything else (heap, stacks, TLS session cache, the binary); a "rest" or descriptor count that
# keeps climbing is a leak to look at.
# Everything listens on 127.0.0.1; every process is stopped by PID on exit.
#
# Usage: bench/soak.sh [SKJOLD_BINARY]   (default build-release/proxy/skjold)
# Environment: DURATION=600 (seconds) NGINX=/usr/sbin/nginx
#   SOAK_PARTS=keepalive,close,tls,tcp,bad,reload,kill (default: all) picks the loads and faults
#     above (tls = both TLS wrk runs), to find which one makes a curve climb;
#   SOAK_GLOBAL='tune.ssl.cachesize 1000' adds lines to skjold's `global` section (';' separates
#     lines). The environment reaches skjold (e.g. MALLOC_ARENA_MAX=1).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
skjold=${1:-$root/build-release/proxy/skjold}
nginx=${NGINX:-/usr/sbin/nginx}
duration=${DURATION:-600}
parts=",${SOAK_PARTS:-keepalive,close,tls,tcp,bad,reload,kill},"
part() { [[ $parts == *",$1,"* ]]; }

for tool in wrk curl python3 ss openssl; do
    command -v "$tool" >/dev/null || { echo "soak.sh: $tool is missing (make deps)" >&2; exit 1; }
done
for bin in "$skjold" "$nginx"; do
    [ -x "$bin" ] || { echo "soak.sh: $bin is missing" >&2; exit 1; }
done

bench_name=soak.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

read -r p_s1 p_s2 p_http p_tcp p_tls < <(free_ports 5)
servers=(s1 s2)
declare -A server_port=([s1]=$p_s1 [s2]=$p_s2) server_pid=()

for s in "${servers[@]}"; do
    {
        nginx_common "$s"
        echo "http {"
        nginx_http_common "$s"
        echo "    server { listen 127.0.0.1:${server_port[$s]}; location / { return 200 \"soak $s\\n\"; } }"
        echo "}"
    } >"$work/$s.conf"
done
start_server() {
    start "$1" "${server_port[$1]}" "${pin_load[@]}" "$nginx" -c "$work/$1.conf" -p "$work" || return 1
    server_pid[$1]=${pids[-1]}
}
for s in "${servers[@]}"; do start_server "$s" || exit 1; done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=soak.test \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null && cat "$work/cert.pem" "$work/key.pem" >"$work/soak.pem"

# skjold_config WITH_TLS
skjold_config() {
    cat <<EOF
global
    nbthread 2
    maxconn 4096
$(tr ';' '\n' <<<"${SOAK_GLOBAL:-}" | sed -e 's/^ */    /' -e '/^ *$/d')
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout http-request 5s
    retries 2
    option redispatch
frontend http
    bind 127.0.0.1:$p_http
    default_backend app
EOF
    [ "$1" = 1 ] && cat <<EOF
frontend tls
    bind 127.0.0.1:$p_tls ssl crt $work/soak.pem
    default_backend app
EOF
    cat <<EOF
listen tcp
    mode tcp
    bind 127.0.0.1:$p_tcp
    balance roundrobin
    server s1 127.0.0.1:$p_s1 check inter 1s fall 2 rise 1
    server s2 127.0.0.1:$p_s2 check inter 1s fall 2 rise 1
backend app
    balance roundrobin
    server s1 127.0.0.1:$p_s1 check inter 1s fall 2 rise 1
    server s2 127.0.0.1:$p_s2 check inter 1s fall 2 rise 1
EOF
}

tls=0
if [ -s "$work/soak.pem" ]; then
    skjold_config 1 >"$work/skjold.cfg"
    if start skjold "$p_http" "${pin_proxy[@]}" "$skjold" -f "$work/skjold.cfg" 2>/dev/null &&
        wait_port "${pids[-1]}" "$p_tls" skjold 2>/dev/null; then
        tls=1
    else
        tls_reason=$(grep -m1 -E 'ALERT|not available|error' "$work/skjold.log")
        kill "${pids[-1]}" 2>/dev/null
        wait "${pids[-1]}" 2>/dev/null
    fi
else
    tls_reason="openssl could not make a certificate"
fi
if [ "$tls" = 0 ]; then
    echo "soak.sh: TLS skipped: ${tls_reason:-bind ssl did not start}"
    skjold_config 0 >"$work/skjold.cfg"
    start skjold "$p_http" "${pin_proxy[@]}" "$skjold" -f "$work/skjold.cfg" || exit 1
fi
lb=${pids[-1]}
wait_port "$lb" "$p_tcp" skjold || exit 1

echo "== soak.sh: ${duration}s of mixed load through skjold ($skjold); $pinning"
echo "   parts: ${parts:1:-1}${SOAK_GLOBAL:+; global: $SOAK_GLOBAL}"
end=$((SECONDS + duration))

# The loads, each bounded by the duration.
wrk_run() {   # NAME ARGS...
    local name=$1
    shift
    "${pin_load[@]}" wrk -t1 -d"${duration}s" --timeout 5s "$@" >"$work/$name.out" 2>&1 &
    pids+=($!)
}
part keepalive && wrk_run wrk-keepalive -c16 "http://127.0.0.1:$p_http/"
part close && wrk_run wrk-close -c4 -H "Connection: close" "http://127.0.0.1:$p_http/"
if [ "$tls" = 1 ] && part tls; then
    wrk_run wrk-tls-keepalive -c4 "https://127.0.0.1:$p_tls/"
    wrk_run wrk-tls-close -c2 -H "Connection: close" "https://127.0.0.1:$p_tls/"
fi
if part bad; then
    "${pin_load[@]}" python3 "$here/bad_clients.py" "$p_http" "$duration" >"$work/bad.out" 2>&1 &
    pids+=($!)
fi
part tcp && (
    ok=0 failed=0
    while [ "$SECONDS" -lt "$end" ] && [ $((ok + failed)) -lt 100000 ]; do
        if curl -s --noproxy '*' -m 3 -o /dev/null "http://127.0.0.1:$p_tcp/"; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
        sleep 0.05
    done
    echo "curl via mode tcp: $ok ok, $failed failed"
) >"$work/curl.out" 2>&1 &
part tcp && pids+=($!)

# rings_kib PID: resident KiB of the buffer-ring mappings (found by their size: 1024 buffers of
# the default tune.bufsize 16384, plus 16 B per ring entry; adjacent rings show as one mapping).
ring_map_kib=$((1024 * 16384 / 1024 + 1024 * 16 / 1024))
rings_kib() { awk -v m="$ring_map_kib" '/^Size:/ { sz = $2 } /^Rss:/ && sz % m == 0 { n += $2 } END { print n + 0 }' "/proc/$1/smaps" 2>/dev/null; }
sample() {   # T
    local rss rings
    rss=$(rss_kib "$lb") rings=$(rings_kib "$lb")
    printf '%8s %12s %10s %10s %6s %8s %8s %6s\n' "$1" "$rss" "$rings" "$((${rss:-0} - ${rings:-0}))" \
        "$(ls "/proc/$lb/fd" 2>/dev/null | wc -l)" "$(ls "/proc/$lb/task" 2>/dev/null | wc -l)" "$reloads" "$kills"
}
printf '%8s %12s %10s %10s %6s %8s %8s %6s\n' seconds "VmRSS KiB" rings rest fds threads reloads kills
reloads=0 kills=0 t=0 victim=0 down=""
while [ "$SECONDS" -lt "$end" ] && kill -0 "$lb" 2>/dev/null; do
    if (( t % 10 == 0 )); then
        sample "$t"
        if (( t > 0 )) && part reload; then
            kill -HUP "$lb" && reloads=$((reloads + 1))
        fi
    fi
    if (( t % 30 == 15 )) && part kill; then
        down=${servers[victim]}
        victim=$(( (victim + 1) % 2 ))
        kill -KILL "${server_pid[$down]}" 2>/dev/null && kills=$((kills + 1))
        wait "${server_pid[$down]}" 2>/dev/null
    fi
    if (( t % 30 == 18 )) && [ -n "$down" ]; then
        start_server "$down" || echo "soak.sh: could not restart $down" >&2
        down=""
    fi
    sleep 1
    t=$((t + 1))
done
kill -0 "$lb" 2>/dev/null && sample "$t"

sleep 6   # the loads end with the duration (wrk: a little after)
echo "-- loads"
for f in wrk-keepalive wrk-close wrk-tls-keepalive wrk-tls-close; do
    [ -f "$work/$f.out" ] || continue
    printf '%-18s %s; %s\n' "$f:" "$(grep -E 'requests in' "$work/$f.out" | sed 's/^ *//')" \
        "$(grep -E 'Socket errors|Non-2xx' "$work/$f.out" | sed 's/^ *//' | tr '\n' ' ')"
done
cat "$work/bad.out" "$work/curl.out" 2>/dev/null
echo "-- skjold"
if kill -0 "$lb" 2>/dev/null; then
    kill -TERM "$lb"
    wait "$lb"
    echo "survived the soak; SIGTERM exit code $?"
else
    wait "$lb"
    echo "DIED during the soak (exit code $?); the end of its log:"
    tail -n 20 "$work/skjold.log"
fi
echo "alert lines in its log: $(grep -cE 'ALERT|EMERG' "$work/skjold.log") (the first five below)"
grep -E 'ALERT|EMERG' "$work/skjold.log" | head -n 5
