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
