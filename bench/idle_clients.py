#!/usr/bin/env python3
"""Idle keep-alive clients for bench/memory.sh (not a test).

  idle_clients.py PORT COUNT SOURCE_IP

Opens COUNT connections to 127.0.0.1:PORT from SOURCE_IP (any 127.x address), at most 256
connecting at a time; on each sends one `GET / HTTP/1.1` and reads its whole response
(Content-Length framing), then leaves the connection open and idle. Prints
"ready OK FAILED" once every connection has its answer or failed (or after 60 s), then holds
them all until it is killed (memory.sh stops it by PID) or 600 s pass.
"""
import selectors
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
BATCH = 256


def response_done(buf):
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    length = 0
    for line in buf[:head_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return len(buf) >= head_end + 4 + length


def main():
    port, count, source = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sel = selectors.DefaultSelector()
    idle, failed, started, pending = [], 0, 0, 0
    deadline = time.monotonic() + 60
    while (started < count or pending) and time.monotonic() < deadline:
        while started < count and pending < BATCH:
            s = socket.socket()
            s.setblocking(False)
            s.bind((source, 0))
            s.connect_ex(("127.0.0.1", port))
            sel.register(s, selectors.EVENT_WRITE, [b"", False])
            started += 1
            pending += 1
        for key, _ in sel.select(timeout=1):
            s, state = key.fileobj, key.data
            try:
                if not state[1]:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connect")
                    s.sendall(REQUEST)
                    state[1] = True
                    sel.modify(s, selectors.EVENT_READ, state)
                    continue
                data = s.recv(65536)
                if not data:
                    raise OSError("closed before the response")
                state[0] += data
                if response_done(state[0]):
                    sel.unregister(s)
                    idle.append(s)
                    pending -= 1
            except OSError:
                sel.unregister(s)
                s.close()
                failed += 1
                pending -= 1
    failed += pending
    print(f"ready {len(idle)} {failed}", flush=True)
    time.sleep(600)
    for s in idle:
        s.close()


if __name__ == "__main__":
    main()
