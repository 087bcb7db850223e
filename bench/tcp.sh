#!/usr/bin/env bash
# TCP streaming through skjold `mode tcp` vs HAProxy `mode tcp` vs direct, in one run (not a test).
# iperf3 client and server on CPU 1, the proxy on CPU 0 (taskset), both proxies with nbthread 1
# and the same configuration text; everything on 127.0.0.1 with ephemeral ports. Each path is
# measured REPEATS times for DURATION seconds, interleaved (direct, haproxy, skjold, direct, ...)
# so drift hits all three alike; the median Gbit/s of each and the ratios are printed.
# With CONNRATE=1 it also measures sequential short connections per second (bench/connrate.py).
# Every process it starts is stopped by PID on exit.
#
# Usage: bench/tcp.sh [SKJOLD_BINARY]     (default build-release/proxy/skjold; missing: skjold skipped)
# Environment: DURATION=5 REPEATS=3 CONNRATE=0 CONNRATE_SECONDS=3 HAPROXY=/usr/sbin/haproxy
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
skjold=${1:-build-release/proxy/skjold}
haproxy=${HAPROXY:-/usr/sbin/haproxy}
duration=${DURATION:-5}
repeats=${REPEATS:-3}
connrate=${CONNRATE:-0}
connrate_seconds=${CONNRATE_SECONDS:-3}

for tool in iperf3 taskset python3 ss; do
    command -v "$tool" >/dev/null || { echo "tcp.sh: $tool is missing (make deps)" >&2; exit 1; }
done
[ -x "$haproxy" ] || { echo "tcp.sh: $haproxy is missing (make deps)" >&2; exit 1; }


bench_name=tcp.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Distinct free ports on 127.0.0.1, chosen by the kernel (sockets held open until all are picked).
read -r p_server p_haproxy p_skjold p_echo p_hap_echo p_skj_echo < <(free_ports 6)


# proxy_config FRONTEND_PORT SERVER_PORT: the configuration both proxies run.
proxy_config() {
    cat <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend bench
    bind 127.0.0.1:$1
    default_backend iperf
backend iperf
    server s1 127.0.0.1:$2
EOF
}

start iperf3-server "$p_server" "${pin_load[@]}" iperf3 -s -B 127.0.0.1 -p "$p_server"

targets=(direct)
declare -A port=([direct]=$p_server)
proxy_config "$p_haproxy" "$p_server" >"$work/haproxy.cfg"
if start haproxy "$p_haproxy" "${pin_proxy[@]}" "$haproxy" -db -f "$work/haproxy.cfg"; then
    targets+=(haproxy) port[haproxy]=$p_haproxy
fi
skjold_failed=0
if [ -x "$skjold" ]; then
    proxy_config "$p_skjold" "$p_server" >"$work/skjold.cfg"
    if start skjold "$p_skjold" "${pin_proxy[@]}" "$skjold" -f "$work/skjold.cfg"; then
        targets+=(skjold) port[skjold]=$p_skjold
    else
        skjold_failed=1
    fi
else
    echo "tcp.sh: $skjold not built: measuring direct and haproxy only" >&2
fi

# gbits PORT: one iperf3 run through PORT; prints Gbit/s received (or nothing on failure).
gbits() {
    timeout $(( duration + 15 )) "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "$1" -t "$duration" \
        --connect-timeout 3000 -J 2>/dev/null |
        python3 -c 'import json,sys
try: print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: pass'
}

echo "tcp stream over 127.0.0.1: $repeats x ${duration} s per path, $pinning"
for (( r = 1; r <= repeats; r++ )); do
    for t in "${targets[@]}"; do
        g=$(gbits "${port[$t]}")
        printf '  run %d %-8s %s Gbit/s\n' "$r" "$t" "${g:-FAILED}"
        echo "$t ${g:-nan}" >>"$work/results"
    done
done

# Medians (failed runs left out) and the ratios.
python3 - "$work/results" <<'REPORT'
import math, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, value = line.split()
    runs.setdefault(name, []).append(float(value))
med = {}
for name, values in runs.items():
    ok = [v for v in values if not math.isnan(v)]
    med[name] = statistics.median(ok) if ok else math.nan
    print(f"{name:8s} median {med[name]:6.2f} Gbit/s   (runs: {' '.join(f'{v:.2f}' for v in values)})")
for a, b in (("skjold", "haproxy"), ("skjold", "direct"), ("haproxy", "direct")):
    if a in med and b in med and med[b] > 0:
        print(f"{a}/{b}: {med[a] / med[b]:.2f}")
REPORT

if [ "$connrate" = 1 ]; then
    echo
    echo "short connections (connect, 16-byte request, 16-byte reply, close), sequential, ${connrate_seconds} s each:"
    start echo-server "$p_echo" "${pin_load[@]}" python3 "$here/connrate.py" serve "$p_echo"
    cports=(direct:"$p_echo")
    proxy_config "$p_hap_echo" "$p_echo" >"$work/haproxy-echo.cfg"
    start haproxy-echo "$p_hap_echo" "${pin_proxy[@]}" "$haproxy" -db -f "$work/haproxy-echo.cfg" &&
        cports+=(haproxy:"$p_hap_echo")
    if [[ " ${targets[*]} " == *" skjold "* ]]; then
        proxy_config "$p_skj_echo" "$p_echo" >"$work/skjold-echo.cfg"
        start skjold-echo "$p_skj_echo" "${pin_proxy[@]}" "$skjold" -f "$work/skjold-echo.cfg" &&
            cports+=(skjold:"$p_skj_echo")
    fi
    for c in "${cports[@]}"; do
        printf '  %-8s ' "${c%%:*}"
        "${pin_load[@]}" timeout $(( connrate_seconds + 10 )) \
            python3 "$here/connrate.py" client "${c#*:}" "$connrate_seconds" || echo FAILED
    done
fi

[ "$skjold_failed" = 0 ] || { echo "tcp.sh: skjold did not start (see above)" >&2; exit 1; }
