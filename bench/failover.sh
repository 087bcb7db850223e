#!/usr/bin/env bash
# Failover time, skjold vs HAProxy 2.6, in one run (not a test). Everything on 127.0.0.1.
#
# Topology (CONFIG.md's Norwegian-primary example, tcp mode): frontend fe sends clients to backend
# `primary` (two servers) unless nbsrv(primary) < 1, then to `backup_pool` (one server). Each
# server writes its name on every connection. A prober opens one connection every PROBE_MS,
# kills both primary servers (SIGKILL, by PID) and measures the time from the kill to the first
# answer from the backup pool, and the probes that failed in between (client-visible errors).
#
# Modes, each TRIALS times per proxy, interleaved (skjold, haproxy, skjold, ...), every trial on
# fresh processes and ports:
#   checks   server ... check inter 500ms fall 3 rise 2
#   observe  the same + observe layer4 error-limit 1 on-error mark-down
# Both proxies run the same configuration text with `retries 0`, so a probe that meets a dead
# server is counted, not hidden by a retry delay. Medians (and min/max) are printed per mode.
#
# Usage: bench/failover.sh [SKJOLD_BINARY]   (default build-release/proxy/skjold)
# Environment: TRIALS=20 PROBE_MS=5 HAPROXY=/usr/sbin/haproxy MODES="checks observe"
# Every process it starts is stopped by PID; each trial is bounded (10 s), the whole run by
# TRIALS x modes x 2 x 10 s.
set -uo pipefail

skjold=${1:-build-release/proxy/skjold}
haproxy=${HAPROXY:-/usr/sbin/haproxy}
trials=${TRIALS:-20}
probe_ms=${PROBE_MS:-5}
modes=${MODES:-checks observe}

for tool in python3 ss; do
    command -v "$tool" >/dev/null || { echo "failover.sh: $tool is missing" >&2; exit 1; }
done
[ -x "$haproxy" ] || { echo "failover.sh: $haproxy is missing" >&2; exit 1; }
[ -x "$skjold" ] || { echo "failover.sh: $skjold is missing (build it, or pass its path)" >&2; exit 1; }

bench_name=failover.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# One answer server: writes NAME on each connection, FIN, drains, closes. Lives at most 60 s.
cat >"$work/server.py" <<'PY'
import socket, sys, threading, time
port, name = int(sys.argv[1]), sys.argv[2].encode()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(256)
s.settimeout(0.2)
deadline = time.monotonic() + 60
def serve(c):
    try:
        c.sendall(name)
        c.shutdown(socket.SHUT_WR)
        c.settimeout(1)
        while c.recv(4096):
            pass
    except OSError:
        pass
    c.close()
while time.monotonic() < deadline:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

# The prober: waits until the frontend serves "primary" steadily, kills the primary PIDs, probes
# every PROBE_MS until "backup" answers; prints "<ms from kill to backup> <failed probes>".
cat >"$work/probe.py" <<'PY'
import os, signal, socket, sys, time
port, probe_ms = int(sys.argv[1]), float(sys.argv[2]) / 1000.0
victims = [int(p) for p in sys.argv[3:]]
def ask():
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
            c.settimeout(2)
            data = b""
            while True:
                b = c.recv(64)
                if not b:
                    return data.decode(errors="replace")
                data += b
    except OSError:
        return ""
end = time.monotonic() + 5
while time.monotonic() < end and any(ask() != "primary" for _ in range(4)):
    time.sleep(0.05)
if ask() != "primary":
    print("NA 0 not-serving-primary"); sys.exit(0)
t0 = time.monotonic()
for p in victims:
    os.kill(p, signal.SIGKILL)
failed = 0
while time.monotonic() - t0 < 8:
    got = ask()
    if got == "backup":
        print("%.1f %d" % ((time.monotonic() - t0) * 1000, failed)); sys.exit(0)
    if got != "primary":
        failed += 1
    time.sleep(probe_ms)
print("NA %d timeout" % failed)
PY


# wait_port PID PORT: until PORT listens (at most 5 s), or PID died; silent (a trial whose port
# was taken is retried), unlike lib.sh's.
wait_port() {
    for (( i = 0; i < 100; i++ )); do
        ss -Hltn "sport = :$2" | grep -q . && return 0
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

config() {   # MODE FE P1 P2 B1
    local extra=""
    [ "$1" = observe ] && extra=" observe layer4 error-limit 1 on-error mark-down"
    cat <<EOF
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0
frontend fe
    bind 127.0.0.1:$2
    use_backend backup_pool if { nbsrv(primary) lt 1 }
    default_backend primary
backend primary
    balance roundrobin
    server p1 127.0.0.1:$3 check inter 500ms fall 3 rise 2$extra
    server p2 127.0.0.1:$4 check inter 500ms fall 3 rise 2$extra
backend backup_pool
    server b1 127.0.0.1:$5 check inter 500ms fall 3 rise 2
EOF
}

stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# trial PROXY MODE N: prints "<ms> <errors>" or "NA <errors> <why>". A port taken between
# free_ports and bind (an ephemeral port of some client) makes the attempt start again.
trial() {
    local out attempt
    for attempt in 1 2 3; do
        out=$(trial_once "$@")
        case "$out" in "NA 0 no-start"*) continue ;; esac
        break
    done
    echo "$out"
}

trial_once() {
    local proxy=$1 mode=$2 n=$3 fe p1 p2 b1 spids=() lb
    read -r fe p1 p2 b1 < <(free_ports 4)
    python3 "$work/server.py" "$p1" primary & spids+=($!)
    python3 "$work/server.py" "$p2" primary & spids+=($!)
    python3 "$work/server.py" "$b1" backup & spids+=($!)
    pids+=("${spids[@]}")
    # Every server listens before the proxy starts: all start UP, none has to rise first.
    if ! wait_port "${spids[0]}" "$p1" || ! wait_port "${spids[1]}" "$p2" || ! wait_port "${spids[2]}" "$b1"; then
        for p in "${spids[@]}"; do stop_pid "$p"; done
        echo "NA 0 no-start:servers"
        return
    fi
    config "$mode" "$fe" "$p1" "$p2" "$b1" >"$work/$proxy-$mode.cfg"
    if [ "$proxy" = skjold ]; then
        timeout -s KILL 20 "$skjold" -f "$work/$proxy-$mode.cfg" >"$work/$proxy-$mode-$n.log" 2>&1 &
    else
        timeout -s KILL 20 "$haproxy" -db -f "$work/$proxy-$mode.cfg" >"$work/$proxy-$mode-$n.log" 2>&1 &
    fi
    lb=$!
    pids+=("$lb")
    local out="NA 0 no-start"
    if wait_port "$lb" "$fe"; then
        sleep 1.2   # two checks of every server: all fully UP
        out=$(timeout 15 python3 "$work/probe.py" "$fe" "$probe_ms" "${spids[0]}" "${spids[1]}")
    else
        out="NA 0 no-start:$(head -c 200 "$work/$proxy-$mode-$n.log" | tr '\n' ' ')"
    fi
    stop_pid "$lb"
    for p in "${spids[@]}"; do stop_pid "$p"; done
    echo "$out"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "NA"} else if (NR%2) {print a[(NR+1)/2]} else {printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}}'; }

echo "failover.sh: $(date -u +%FT%TZ), skjold=$skjold, $("$haproxy" -v | head -1)"
echo "tcp mode, loopback, $trials trials per mode and proxy, probe every ${probe_ms} ms, retries 0"
for mode in $modes; do
    : >"$work/skjold-$mode.res"
    : >"$work/haproxy-$mode.res"
    for (( i = 1; i <= trials; i++ )); do
        for proxy in skjold haproxy; do
            r=$(trial "$proxy" "$mode" "$i")
            echo "$r" >>"$work/$proxy-$mode.res"
            printf '  %-7s %-7s trial %2d: %s\n' "$mode" "$proxy" "$i" "$r"
        done
    done
done
echo
printf '%-8s %-8s %8s %8s %8s %12s %6s\n' mode proxy median_ms min_ms max_ms median_errors NA
for mode in $modes; do
    for proxy in skjold haproxy; do
        f="$work/$proxy-$mode.res"
        ok=$(grep -v '^NA' "$f")
        med=$(echo "$ok" | awk 'NF{print $1}' | median)
        mn=$(echo "$ok" | awk 'NF{print $1}' | sort -n | head -1)
        mx=$(echo "$ok" | awk 'NF{print $1}' | sort -n | tail -1)
        err=$(echo "$ok" | awk 'NF{print $2}' | median)
        na=$(grep -c '^NA' "$f")
        printf '%-8s %-8s %8s %8s %8s %12s %6s\n' "$mode" "$proxy" "$med" "${mn:-NA}" "${mx:-NA}" "$err" "$na"
    done
done
