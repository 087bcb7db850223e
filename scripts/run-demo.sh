#!/usr/bin/env bash
# `make run`: starts the two demo servers examples/demo.cfg balances across (socat on
# 127.0.0.1:9001 and :9002, each answering with scripts/demo-backend.sh), prints what to try,
# then runs skjold in the foreground. Ctrl-C stops skjold; the servers are stopped by PID.
# Usage: run-demo.sh SKJOLD CONFIG
set -uo pipefail
skjold=${1:?usage: run-demo.sh SKJOLD CONFIG} cfg=${2:?usage: run-demo.sh SKJOLD CONFIG}
here=$(cd "$(dirname "$0")" && pwd)
frontend_port=8080
servers=("s1 9001" "s2 9002")

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
}
trap cleanup EXIT
# Ctrl-C reaches skjold directly (same foreground process group); this shell only waits for it
# to finish its graceful stop, then cleans up. (A handler, not SIG_IGN, which skjold would inherit.)
trap ':' INT TERM

# listening PORT: true once something listens on 127.0.0.1:PORT.
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

for p in "$frontend_port" 9001 9002; do
    if listening "$p"; then
        echo "run-demo: port $p is already in use; the demo needs 8080, 9001 and 9002 free." >&2
        ss -ltnp "sport = :$p" >&2
        exit 1
    fi
done

for s in "${servers[@]}"; do
    set -- $s
    socat "TCP-LISTEN:$2,bind=127.0.0.1,reuseaddr,fork,backlog=128" \
        "EXEC:$here/demo-backend.sh $1 $2" 2>/dev/null &
    pids+=($!)
done
for s in "${servers[@]}"; do
    set -- $s
    for (( i = 0; i < 50; i++ )); do listening "$2" && break; sleep 0.1; done
    listening "$2" || { echo "run-demo: demo server $1 did not start on 127.0.0.1:$2" >&2; exit 1; }
done

cat <<MSG
skjold demo: $cfg
  frontend demo  127.0.0.1:$frontend_port  (mode tcp, roundrobin)
  servers   s1   127.0.0.1:9001  and  s2  127.0.0.1:9002  (small socat answerers)
Try, in another terminal (run it twice: s1 and s2 take turns):
  curl -s http://127.0.0.1:$frontend_port/
  printf 'hello\\n' | socat -t2 - TCP:127.0.0.1:$frontend_port
Ctrl-C stops skjold (graceful stop) and the demo servers.

MSG
"$skjold" -f "$cfg"
status=$?
echo "run-demo: skjold exited with status $status"
exit "$status"
