#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A small real backend for the end-to-end tests (Python stdlib only).

Run inside a backend's network namespace. It answers:

  HTTP (threaded, HTTP/1.1 keep-alive) on every --http-port, bound to
  --http-bind (default "::", dual-stack: IPv4 and IPv6 on one socket):
    GET  any path -> body "NAME\\n"
    POST any path -> body "NAME LEN\\n", LEN = request body bytes received
                     (full-size client segments through the tunnel)
    headers X-Backend: NAME and X-Client-Addr: IP PORT (the peer as the
    backend sees it: with direct server return, the client's own address)
  UDP echo on every --udp-port for every --udp-bind address (explicit
  addresses, typically the VIPs, so that replies leave FROM the VIP):
    any datagram -> "NAME\\n"

The PID file (--pid-file) is written once every socket is bound, so a test
may wait for it as the readiness signal. SIGTERM or SIGINT stop the server
and remove the PID file.

Example:
  backend_server.py --name be2 --http-port 80 --http-port 8080 \\
      --udp-port 53 --udp-bind 198.18.100.1 --udp-bind fd00:78:6c62:100::1 \\
      --pid-file /run/xlbt-123/tmp/be2.pid
"""

import argparse
import http.server
import os
import signal
import socket
import sys
import threading


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says close
    timeout = 60  # an idle keep-alive connection ends its thread after this

    def version_string(self):
        return "xlbt-backend"

    def _reply(self, body):
        data = body.encode()
        peer = self.client_address
        host = peer[0]
        if host.startswith("::ffff:") and "." in host:
            host = host[len("::ffff:"):]  # v4 client on the dual-stack socket
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Backend", self.server.name)
        self.send_header("X-Client-Addr", "%s %d" % (host, peer[1]))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._reply(self.server.name + "\n")

    def do_POST(self):
        want = int(self.headers.get("Content-Length", "0"))
        got = 0
        while got < want:
            chunk = self.rfile.read(min(65536, want - got))
            if not chunk:
                break
            got += len(chunk)
        self._reply("%s %d\n" % (self.server.name, got))

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s: %s %s\n" % (self.server.name,
                                              self.address_string(),
                                              fmt % args))


class HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, port, name, verbose):
        self.address_family = family_of(addr)
        self.name = name
        self.verbose = verbose
        super().__init__((addr, port), Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6 and \
                self.server_address[0] == "::":
            # One socket for both families (v4 clients as ::ffff:a.b.c.d).
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def udp_echo(sock, name):
    reply = (name + "\n").encode()
    while True:
        try:
            _, peer = sock.recvfrom(65535)
            sock.sendto(reply, peer)
        except OSError as err:
            sys.stderr.write("%s: udp: %s\n" % (name, err))


def udp_socket(addr, port):
    sock = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((addr, port))
    return sock


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True, help="backend name, e.g. be2")
    p.add_argument("--http-port", type=int, action="append", default=[],
                   help="HTTP port (repeatable)")
    p.add_argument("--http-bind", default="::",
                   help='HTTP address (default "::", dual-stack)')
    p.add_argument("--udp-port", type=int, action="append", default=[],
                   help="UDP echo port (repeatable; needs --udp-bind)")
    p.add_argument("--udp-bind", action="append", default=[],
                   help="UDP address, e.g. a VIP (repeatable)")
    p.add_argument("--pid-file", help="written once every socket is bound")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log each HTTP request to stderr")
    args = p.parse_args()
    if not args.http_port and not args.udp_port:
        p.error("nothing to serve: give --http-port and/or --udp-port")
    if args.udp_port and not args.udp_bind:
        p.error("--udp-port needs --udp-bind (replies must come from the VIP)")
    return args


def main():
    args = parse_args()
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = []
    try:
        for port in args.http_port:
            srv = HTTPServer(args.http_bind, port, args.name, args.verbose)
            threads.append(threading.Thread(target=srv.serve_forever,
                                            daemon=True))
        for port in args.udp_port:
            for addr in args.udp_bind:
                sock = udp_socket(addr, port)
                threads.append(threading.Thread(target=udp_echo,
                                                args=(sock, args.name),
                                                daemon=True))
    except OSError as err:
        sys.stderr.write("%s: cannot bind: %s\n" % (args.name, err))
        return 1
    for t in threads:
        t.start()

    if args.pid_file:
        tmp = args.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pid_file)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        if args.pid_file:
            try:
                os.unlink(args.pid_file)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
