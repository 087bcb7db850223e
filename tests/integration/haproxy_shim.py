#!/usr/bin/env python3
"""Runs HAProxy behind skjold's command-line contract, to check the integration tests themselves.

    SKJOLD_BIN=tests/integration/haproxy_shim.py build/tests/integration/integration --test-suite=tcp

If a tcp test fails against HAProxy (the reference), the test is suspect, not skjold. The shim:
- rewrites `bind ADDR:0` to a free port (HAProxy refuses port 0) and remembers proxy/bind names;
- starts `haproxy -db` and writes --ready-file (PATH.tmp, then rename) once every port is in LISTEN
  state in /proc/net/tcp (a probe connection would reach the test's backends);
- turns SIGTERM/SIGINT into SIGUSR1 (HAProxy's soft stop = skjold's SIGTERM) and exits with
  HAProxy's code. `-c`, `-v` and other modes are passed through unchanged.
Only for tests on 127.0.0.0/8; not used by `make test`.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time


def free_port(host):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.bind((host.strip("[]"), 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rewrite(paths):
    out, listeners, proxy = [], [], None
    for path in paths:
        for line in open(path):
            words = line.split()
            if words and words[0] in ("frontend", "listen", "backend", "defaults", "global"):
                proxy = words[1] if len(words) > 1 and words[0] in ("frontend", "listen") else None
            if words and words[0] == "bind" and proxy:
                name = words[words.index("name") + 1] if "name" in words else "-"
                addrs = []
                for a in words[1].split(","):
                    host, _, port = a.rpartition(":")
                    if port == "0":
                        port = str(free_port(host))
                    addrs.append(host + ":" + port)
                    listeners.append((proxy, name, host, int(port)))
                line = line.replace(words[1], ",".join(addrs), 1)
            out.append(line)
        out.append("\n")
    return "".join(out), listeners


def listening_ports():
    ports = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for row in open(f).readlines()[1:]:
                cols = row.split()
                if cols[3] == "0A":  # LISTEN
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def main(argv):
    files, ready, rest, i = [], None, [], 0
    while i < len(argv):
        if argv[i] == "-f" and i + 1 < len(argv):
            files.append(argv[i + 1]); i += 2
        elif argv[i] == "--ready-file" and i + 1 < len(argv):
            ready = argv[i + 1]; i += 2
        else:
            rest.append(argv[i]); i += 1
    if ready is None or "-c" in rest:
        os.execvp("haproxy", ["haproxy"] + argv)
    text, listeners = rewrite(files)
    cfg = ready + ".haproxy.cfg"
    with open(cfg, "w") as f:
        f.write(text)
    proc = subprocess.Popen(["haproxy", "-db", "-f", cfg] + [a for a in rest if a != "-d"])
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: proc.send_signal(signal.SIGUSR1))
    deadline = time.time() + 10
    while time.time() < deadline and proc.poll() is None:
        if all(p in listening_ports() for (_, _, _, p) in listeners):
            with open(ready + ".tmp", "w") as f:
                for proxy, name, host, port in listeners:
                    f.write(f"{proxy} {name} {host}:{port}\n")
            os.rename(ready + ".tmp", ready)
            break
        time.sleep(0.005)
    while True:
        try:
            return proc.wait()
        except InterruptedError:
            continue


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
