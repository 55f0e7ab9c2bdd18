#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Hostile clients of the agent's HTTP interface (stdlib only), for
tests/e2e/test_admin_limits.sh.

    admin_client.py idle HOST PORT N SECONDS READY
        open N connections (those the kernel completes within 2 s), write
        how many to READY, send nothing, hold them SECONDS (or until
        SIGTERM), then close them all.
    admin_client.py header HOST PORT SIZE
        send a request whose one header is SIZE bytes, reading whatever the
        agent answers meanwhile; print "STATUS SENT" (STATUS 0: no answer).
    admin_client.py slow HOST PORT
        send half a request head and wait; print the status the agent
        answers (0: closed without one) and the seconds it took.
"""
import select, signal, socket, sys, time

def connect(host, port, timeout=2.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(None)
    return s

def cmd_idle(host, port, n, seconds, ready):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, port))
        socks.append(s)
    end = time.time() + 2
    pending = list(socks)
    up = []
    while pending and time.time() < end:
        _, w, _ = select.select([], pending, [], 0.1)
        for s in w:
            pending.remove(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                up.append(s)
    with open(ready, "w") as f:
        f.write("%d\n" % len(up))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.time() + seconds
    while not stop and time.time() < end:
        time.sleep(0.1)
    for s in socks:
        s.close()

def status_of(data):
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0

def cmd_header(host, port, size):
    s = connect(host, port)
    s.setblocking(False)
    head = b"GET /metrics HTTP/1.1\r\nHost: xlb\r\nX-Big: "
    chunk = b"a" * 65536
    sent, total, data = 0, len(head) + size, b""
    buf = head
    end = time.time() + 30
    while time.time() < end:
        want_w = [s] if sent < total else []
        r, w, _ = select.select([s], want_w, [], 1.0)
        if r:
            try:
                got = s.recv(65536)
            except OSError:
                break
            if not got:
                break
            data += got
            if b"\r\n\r\n" in data:
                break
        if w:
            if not buf:
                buf = chunk[:min(len(chunk), total - sent)]
            try:
                n = s.send(buf)
            except OSError:
                continue
            sent += n
            buf = buf[n:]
        if not r and not w and sent >= total:
            break
    print(status_of(data), sent)

def cmd_slow(host, port):
    s = connect(host, port)
    t0 = time.time()
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: xlb\r\n")
    s.settimeout(30)
    data = b""
    try:
        while True:
            got = s.recv(4096)
            if not got:
                break
            data += got
    except OSError:
        pass
    print(status_of(data), "%.1f" % (time.time() - t0))

def main():
    a = sys.argv[1:]
    if a[:1] == ["idle"] and len(a) == 6:
        cmd_idle(a[1], int(a[2]), int(a[3]), float(a[4]), a[5])
    elif a[:1] == ["header"] and len(a) == 4:
        cmd_header(a[1], int(a[2]), int(a[3]))
    elif a[:1] == ["slow"] and len(a) == 3:
        cmd_slow(a[1], int(a[2]))
    else:
        sys.exit(__doc__)

if __name__ == "__main__":
    main()
