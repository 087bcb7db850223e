#!/usr/bin/env bash
# Installs the Debian 12 packages skjold needs to build, test and benchmark.
# Idempotent: asks dpkg first and stays silent when everything is present; only a missing
# package costs an `apt-get update` + `apt-get install`. Called by every Makefile target.
set -euo pipefail

packages=(
    # build
    build-essential g++ meson ninja-build pkg-config
    liburing-dev libssl-dev libmaxminddb-dev node-llhttp libfmt-dev
    doctest-dev libbenchmark-dev
    # tests, demo and benchmarks
    curl openssl socat iperf3 haproxy nginx-light python3 util-linux iproute2 groff-base wrk
    libmaxmind-db-writer-perl   # bench/world_mmdb.pl writes the world .mmdb for prefix_table_bench
    # the sanitizer build (clang, ASan + UBSan + LeakSanitizer) and its libFuzzer targets; the
    # runtimes are only "recommended" by clang, and we install without recommendations
    clang libclang-rt-14-dev
    # stats socket tools tested against skjold (tests/integration/stats_tools_test.cc)
    hatop prometheus-haproxy-exporter tmux
    # promtool checks the Prometheus exporter's page (tests/integration/prometheus_test.cc)
    prometheus
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi

# haproxy and nginx ship init scripts that their postinst starts (nginx then holds port 80).
# Tests never need them running: forbid service starts while we install, unless the machine
# already has a policy (Docker images ship one that does the same).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, written by skjold scripts/install-deps.sh\nexit 101\n' \
        | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi

"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null

# Under systemd the policy above is not consulted: stop whatever the packages started.
# Only the services of packages installed just now: an operator's own nginx stays as it was.
if [ -d /run/systemd/system ]; then
    for p in "${missing[@]}"; do
        case "$p" in haproxy) svc=haproxy ;; nginx-light) svc=nginx ;; *) continue ;; esac
        "${sudo[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
    done
fi
echo "install-deps: done"
