#!/usr/bin/env bash
# `make run`: runs skjold in the foreground on examples/demo.cfg, which is self-contained: its demo
# servers are `listen` sections of the same file answering with `http-request return`, so nothing
# else is started. Prints what to try first. Ctrl-C stops skjold (graceful stop).
# Usage: run-demo.sh SKJOLD CONFIG
set -uo pipefail
skjold=${1:?usage: run-demo.sh SKJOLD CONFIG} cfg=${2:?usage: run-demo.sh SKJOLD CONFIG}
here=$(cd "$(dirname "$0")" && pwd)
# The config names its geo list relative to the repository root: run from there.
skjold=$(realpath "$skjold") cfg=$(realpath "$cfg")
cd "$here/.." || exit 1
ports=(8080 8081 9001 9002 9003 9004)

# Ctrl-C reaches skjold directly (same foreground process group); this shell only waits for it
# to finish its graceful stop. (A handler, not SIG_IGN, which skjold would inherit.)
trap ':' INT TERM

# listening PORT: true once something listens on 127.0.0.1:PORT.
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

for p in "${ports[@]}"; do
    if listening "$p"; then
        echo "run-demo: port $p is already in use; the demo needs ${ports[*]} free on 127.0.0.1." >&2
        ss -ltnp "sport = :$p" >&2
        exit 1
    fi
done

cat <<MSG
skjold demo: $cfg  (mode http; access log below)
  frontend demo   127.0.0.1:8080, and 127.0.0.1:8081 with accept-proxy
  backend norway  oslo1 127.0.0.1:9001, oslo2 127.0.0.1:9002   (clients in examples/geoip_no.txt)
  backend cloud   cloud1 127.0.0.1:9003, cloud2 127.0.0.1:9004 (everyone else)
  The four servers are listen sections of the same file answering with http-request return.
Try, in another terminal (twice each: the servers of a pool take turns):
  curl -s http://127.0.0.1:8080/                          # cloud pool: 127.0.0.1 is not Norwegian
  curl -s --interface 127.0.0.2 http://127.0.0.1:8080/    # Norwegian pool: 127.0.0.2 stands in for Norway
  printf 'PROXY TCP4 84.208.0.1 127.0.0.1 40000 8081\\r\\nGET / HTTP/1.0\\r\\n\\r\\n' | socat - TCP:127.0.0.1:8081
                                                          # Norwegian pool: 84.208.0.1 is in the list
  curl -s http://127.0.0.1:8080/healthz                   # answered by skjold itself (monitor-uri)
  curl -s -A Wget http://127.0.0.1:8080/                  # 403: the bot rule
  echo "show stat" | socat - UNIX-CONNECT:/tmp/skjold-demo.sock   # HAProxy's stats CSV
  echo "disable server norway/oslo1" | socat - UNIX-CONNECT:/tmp/skjold-demo.sock
Ctrl-C stops skjold (graceful stop).

MSG
"$skjold" -f "$cfg"
status=$?
echo "run-demo: skjold exited with status $status"
exit "$status"
