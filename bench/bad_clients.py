#!/usr/bin/env python3
"""Malformed-request client for bench/soak.sh (not a test).

  bad_clients.py PORT SECONDS

For SECONDS (at most 100,000 connections), one connection at a time to 127.0.0.1:PORT: sends one
of the requests below (garbage, broken framing, a half request then a close, oversized heads),
reads the answer until the proxy closes (2 s at most), pauses 20 ms. Prints how the connections
ended: "bad-clients: N sent, A answered 4xx/5xx, C closed without an answer, T timed out, E errors".
"""
import socket
import sys
import time

BAD = [
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)),     # TLS on the plain port
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n folded: value\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\nHost: a\n\n",
    b"GET / HTTP/9.9\r\nHost: a\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(120)) + b"\r\n",
    b"GET / HTTP/1.1\r\nHo",                                                    # then close
    b"\xff" * 512,
]


def one(port, payload):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(payload)
        if payload.endswith(b"Ho"):
            return "closed"
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if data[:9] in (b"HTTP/1.1 ", b"HTTP/1.0 ") and data[9:10] in (b"4", b"5"):
            return "answered"
        return "closed"
    except socket.timeout:
        return "timeout"
    finally:
        s.close()


def main():
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    counts = {"answered": 0, "closed": 0, "timeout": 0, "error": 0}
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and n < 100000:
        try:
            counts[one(port, BAD[n % len(BAD)])] += 1
        except OSError:
            counts["error"] += 1
        n += 1
        time.sleep(0.02)
    print(f"bad-clients: {n} sent, {counts['answered']} answered 4xx/5xx, {counts['closed']} closed "
          f"without an answer, {counts['timeout']} timed out, {counts['error']} errors", flush=True)


if __name__ == "__main__":
    main()
