#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Helpers of bench/bench_agent.sh.

  agent_load.py conf OUT --dev DEV --upstreams U --nodes N --ports P0 ...
      write xlbd's configuration: U upstreams of N TCP-checked nodes each
      (node j of upstream i: 198.18.<1 + i // 250>.<1 + i % 250>:<P0 + j>,
      so U x N distinct (address, port) pairs) and one stream route per
      upstream (VIP 198.19.<i // 250>.<1 + i % 250>:80).
  agent_load.py listen --ports P0 --count N --max-seconds S --ready FILE
      accept-and-close TCP listener on 0.0.0.0:P0 .. P0+N-1 (the namespace
      routes 198.18.0.0/16 to itself, so every address answers); stops by
      itself after S seconds.
  agent_load.py metrics FILE
      sums of a /metrics scrape, as shell assignments.
"""
import argparse
import errno
import os
import re
import selectors
import signal
import socket
import sys
import time


def node_addr(i):
    return "198.18.%d.%d" % (1 + i // 250, 1 + i % 250)


def vip_addr(i):
    return "198.19.%d.%d" % (i // 250, 1 + i % 250)


def conf(a):
    out = []
    w = out.append
    w("xlb:")
    w("  interfaces: [%s]" % a.dev)
    w("  mode: %s" % a.mode)
    w("  forward: ipip")
    w("  encap_src: 198.18.128.0/24")
    w("  on_no_healthy: fail_open")
    w("  table_size: %d" % a.table_size)
    w("  flows: 65536")
    w("  admin: {listen: \"127.0.0.1:9180\", api_key: xlbt-bench}")
    w("  log_level: info")
    w("upstreams:")
    for i in range(a.upstreams):
        w("  - id: u%d" % i)
        w("    type: roundrobin")
        w("    scheme: tcp")
        w("    nodes:")
        for j in range(a.nodes):
            w("      \"%s:%d\": 1" % (node_addr(i), a.ports + j))
        w("    checks:")
        w("      active:")
        w("        type: tcp")
        w("        timeout: 1")
        w("        healthy: {interval: 1, successes: 2}")
        w("        unhealthy: {interval: 1, tcp_failures: 2, timeouts: 2}")
    w("stream_routes:")
    for i in range(a.upstreams):
        w("  - {id: %d, server_addr: %s, server_port: 80, upstream_id: u%d}"
          % (i + 1, vip_addr(i), i))
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")


def listen(a):
    sel = selectors.DefaultSelector()
    socks = []
    for p in range(a.ports, a.ports + a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", p))
        s.listen(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    with open(a.ready, "w") as f:
        f.write("%d\n" % os.getpid())
    count = [0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(sel, time.monotonic() + a.max_seconds, count)
    finally:
        print("accepted %d connections" % count[0], flush=True)


def serve(sel, end, count):
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            while True:
                try:
                    c, _ = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as e:
                    if e.errno in (errno.EMFILE, errno.ENFILE, errno.ECONNABORTED):
                        break
                    raise
                c.close()
                count[0] += 1


def metrics(a):
    probes = nodes = unhealthy = 0
    val = {}
    with open(a.file) as f:
        for line in f:
            m = re.match(r'xlb_nodes\{state="([a-z_]+)"\} (\d+)$', line.strip())
            if m:
                nodes += int(m.group(2))
                if m.group(1) != "healthy":
                    unhealthy += int(m.group(2))
                continue
            m = re.match(r'(xlb_[a-z_]+(?:\{stat="[a-z]+"\})?) (\S+)$', line.strip())
            if m:
                val[m.group(1)] = m.group(2)
    probes = int(val.get("xlb_probes_total", 0))
    print("M_PROBES=%d" % probes)
    print("M_NODES=%d" % nodes)
    print("M_NOT_HEALTHY=%d" % unhealthy)
    for k, name in (('xlb_map_update_seconds{stat="last"}', "M_UPDATE_LAST"),
                    ('xlb_map_update_seconds{stat="max"}', "M_UPDATE_MAX"),
                    ("xlb_map_updates_total", "M_UPDATES"),
                    ("xlb_health_changes_total", "M_CHANGES"),
                    ("xlb_health_flips_total", "M_FLIPS"),
                    ('xlb_health_flip_seconds{stat="last"}', "M_FLIP_LAST")):
        print("%s=%s" % (name, val.get(k, "NA")))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("conf")
    c.add_argument("out")
    c.add_argument("--dev", required=True)
    c.add_argument("--mode", default="native")
    c.add_argument("--upstreams", type=int, default=1000)
    c.add_argument("--nodes", type=int, default=10)
    c.add_argument("--ports", type=int, default=8001)
    c.add_argument("--table-size", type=int, default=1009)
    ls = sub.add_parser("listen")
    ls.add_argument("--ports", type=int, default=8001)
    ls.add_argument("--count", type=int, default=10)
    ls.add_argument("--max-seconds", type=float, default=170)
    ls.add_argument("--ready", required=True)
    m = sub.add_parser("metrics")
    m.add_argument("file")
    a = p.parse_args()
    if a.cmd == "listen" and a.count < 1:
        sys.exit("listen: --count >= 1")
    {"conf": conf, "listen": listen, "metrics": metrics}[a.cmd](a)


if __name__ == "__main__":
    main()
