#!/usr/bin/env python3
"""Short-connection rate helper for bench/tcp.sh (not a test).

  connrate.py serve PORT            answer each connection on 127.0.0.1:PORT: read a 16-byte
                                    request, write a 16-byte reply, close (runs until killed)
  connrate.py client PORT SECONDS   sequential connect / request / reply / close against
                                    127.0.0.1:PORT for SECONDS (at most 1,000,000 connections);
                                    prints connections per second

Sequential on purpose: one connection at a time measures the per-connection cost the proxy adds
(accept, connect to the server, relay, two closes). Python sets the ceiling: compare paths within
one run, never with figures from another tool. The server closes first, so TIME_WAIT stays on its
side and the client does not run out of ephemeral ports.
"""
import selectors
import socket
import sys
import time

REQUEST = b"GET-ONE-REPLY!\r\n"
REPLY = b"HERE-IS-REPLY!\r\n"
MAX_CONNECTIONS = 1_000_000


def serve(port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, bytearray())
                continue
            conn, got = key.fileobj, key.data
            try:
                chunk = conn.recv(64)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            got += chunk
            if chunk and len(got) < len(REQUEST):
                continue
            sel.unregister(conn)
            if chunk:
                try:
                    conn.send(REPLY)  # 16 bytes always fit in an empty socket buffer
                except OSError:
                    pass
            conn.close()


def client(port, seconds):
    done = errors = 0
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline and done + errors < MAX_CONNECTIONS:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(REQUEST)
                got = b""
                while len(got) < len(REPLY):
                    chunk = s.recv(64)
                    if not chunk:
                        break
                    got += chunk
                if got == REPLY:
                    done += 1
                else:
                    errors += 1
        except OSError:
            errors += 1
    elapsed = time.monotonic() - start
    print(f"{done / elapsed:8.0f} conn/s   ({done} connections, {errors} errors, {elapsed:.1f} s)")
    return 0 if done and not errors else 1


def main(argv):
    if len(argv) == 3 and argv[1] == "serve":
        serve(int(argv[2]))
        return 0
    if len(argv) == 4 and argv[1] == "client":
        return client(int(argv[2]), float(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
