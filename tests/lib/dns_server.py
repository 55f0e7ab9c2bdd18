#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A scripted DNS responder for the dns discovery tests, and the seed maker
for fuzz/corpus/dns/.

  dns_server.py serve MODEFILE   answer on 127.0.0.1 (UDP, and TCP that only
                                 hangs up), print the port; each query is
                                 answered as the word in MODEFILE says
  dns_server.py seeds DIR        write raw answers (good and bad) to DIR

Modes: good (SRV with the targets' addresses in the additional section),
garbage (random bytes), short (a good answer cut in half), wrongid (a good
answer with another id), servfail, refused, noqr (QR bit clear), badrdata
(an SRV record 3 bytes long), tc (truncated: the client retries over TCP,
where the connection is closed), silent (no answer), nxdomain.

A real DNS server (unbound) serves the tests' good data; this one exists
for answers no real server gives. Messages are written by hand on purpose:
they must be able to be wrong.
"""
import errno
import os
import random
import socket
import struct
import sys
import threading

SRV_NAME = "_x._tcp.svc.test"
HOST_NAME = "host.svc.test"
T_A, T_NS, T_CNAME, T_SOA, T_AAAA, T_SRV, T_OPT = 1, 2, 5, 6, 28, 33, 41


def name(n):
    out = b""
    for label in n.strip(".").split(".") if n.strip(".") else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner, rtype, ttl, rdata, cls=1):
    return name(owner) + struct.pack("!HHIH", rtype, cls, ttl, len(rdata)) + rdata


def a(ip):
    return socket.inet_pton(socket.AF_INET, ip)


def aaaa(ip):
    return socket.inet_pton(socket.AF_INET6, ip)


def srv(prio, weight, port, target):
    return struct.pack("!HHH", prio, weight, port) + name(target)


def soa(minimum):
    return name("ns.svc.test") + name("admin.svc.test") + struct.pack("!IIIII", 1, 3600, 600, 86400, minimum)


def msg(qid, qname, qtype, an=(), ns=(), ar=(), rcode=0, flags=0x8180):
    hdr = struct.pack("!HHHHHH", qid, (flags & ~0xF) | rcode, 1, len(an), len(ns), len(ar))
    q = name(qname) + struct.pack("!HH", qtype, 1)
    return hdr + q + b"".join(an) + b"".join(ns) + b"".join(ar)


def good(qid, qname, qtype):
    """The records the responder holds (TTL 1)."""
    if qname.lower() == SRV_NAME and qtype == T_SRV:
        return msg(qid, qname, qtype,
                   an=[rr(qname, T_SRV, 1, srv(1, 5, 7001, "t1.svc.test")),
                       rr(qname, T_SRV, 1, srv(2, 0, 7002, "t2.svc.test"))],
                   ar=[rr("t1.svc.test", T_A, 1, a("198.18.1.1")),
                       rr("t2.svc.test", T_A, 1, a("198.18.1.2")),
                       rr("t2.svc.test", T_AAAA, 1, aaaa("fd00:78:6c62::12"))])
    if qname.lower() == HOST_NAME and qtype == T_A:
        return msg(qid, qname, qtype, an=[rr(qname, T_A, 1, a("198.18.2.1"))])
    if qname.lower() == HOST_NAME and qtype == T_AAAA:
        return msg(qid, qname, qtype, an=[rr(qname, T_AAAA, 1, aaaa("fd00:78:6c62::21"))])
    if qname.lower() == HOST_NAME:		# name exists, no such records
        return msg(qid, qname, qtype, ns=[rr("svc.test", T_SOA, 1, soa(1))])
    return msg(qid, qname, qtype, ns=[rr("svc.test", T_SOA, 1, soa(1))], rcode=3)


def parse_query(data):
    qid, = struct.unpack("!H", data[:2])
    off, labels = 12, []
    while data[off]:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode())
        off += 1 + n
    qtype, = struct.unpack("!H", data[off + 1:off + 3])
    return qid, ".".join(labels), qtype


def answer(mode, data):
    try:
        qid, qname, qtype = parse_query(data)
    except (IndexError, struct.error, UnicodeDecodeError):
        return None
    ok = good(qid, qname, qtype)
    if mode == "good":
        return ok
    if mode == "garbage":
        return bytes(random.getrandbits(8) for _ in range(random.randint(1, 200)))
    if mode == "short":
        return ok[:len(ok) // 2]
    if mode == "wrongid":
        return struct.pack("!H", qid ^ 0x5555) + ok[2:]
    if mode == "servfail":
        return msg(qid, qname, qtype, rcode=2)
    if mode == "refused":
        return msg(qid, qname, qtype, rcode=5)
    if mode == "noqr":
        return ok[:2] + bytes([ok[2] & 0x7F]) + ok[3:]
    if mode == "badrdata":
        return msg(qid, qname, qtype, an=[rr(qname, T_SRV, 1, b"\0\1\0")])
    if mode == "tc":
        return msg(qid, qname, qtype, flags=0x8380)
    if mode == "nxdomain":
        return msg(qid, qname, qtype, ns=[rr("svc.test", T_SOA, 1, soa(1))], rcode=3)
    return None			# silent


def tcp_hangup(sock):
    while True:
        conn, _ = sock.accept()
        conn.close()


def bind_pair():
    """A UDP and a TCP socket on the same free loopback port. The UDP port
    the kernel picks may be taken for TCP (by a connection's local port):
    then try another."""
    for _ in range(100):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind(("127.0.0.1", port))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            udp.close()
            tcp.close()
            continue
        return udp, tcp, port
    raise OSError(errno.EADDRINUSE, "no loopback port free for both UDP and TCP")


def serve(modefile):
    udp, tcp, port = bind_pair()
    tcp.listen(16)
    threading.Thread(target=tcp_hangup, args=(tcp,), daemon=True).start()
    print(port, flush=True)
    while True:
        data, peer = udp.recvfrom(4096)
        try:
            with open(modefile) as f:
                mode = f.read().strip()
        except OSError:
            mode = "good"
        out = answer(mode, data)
        if out is not None:
            udp.sendto(out, peer)


def seeds(d):
    os.makedirs(d, exist_ok=True)
    soa_ns = [rr("svc.test", T_SOA, 30, soa(5))]
    files = {
        "srv_additional": good(1, SRV_NAME, T_SRV),
        "srv_no_additional": msg(2, SRV_NAME, T_SRV,
                                 an=[rr(SRV_NAME, T_SRV, 7, srv(10, 60, 8080, "a.svc.test")),
                                     rr(SRV_NAME, T_SRV, 9, srv(20, 20, 8081, "b.svc.test"))]),
        "srv_root_target": msg(3, SRV_NAME, T_SRV, an=[rr(SRV_NAME, T_SRV, 5, srv(0, 0, 0, "."))]),
        "srv_opt": msg(4, SRV_NAME, T_SRV, an=[rr(SRV_NAME, T_SRV, 5, srv(1, 1, 80, "t1.svc.test"))],
                       ar=[rr("t1.svc.test", T_A, 5, a("198.18.1.1")),
                           name("") + struct.pack("!HHIH", T_OPT, 1232, 0, 0)]),
        "a": good(5, HOST_NAME, T_A),
        "aaaa": good(6, HOST_NAME, T_AAAA),
        "a_cname": msg(7, HOST_NAME, T_A,
                       an=[rr(HOST_NAME, T_CNAME, 3, name("web.svc.test")),
                           rr("web.svc.test", T_A, 8, a("198.18.3.1")),
                           rr("web.svc.test", T_A, 8, a("198.18.3.2"))]),
        "a_cname_loop": msg(8, HOST_NAME, T_A,
                            an=[rr(HOST_NAME, T_CNAME, 3, name("x.svc.test")),
                                rr("x.svc.test", T_CNAME, 3, name(HOST_NAME))]),
        "nxdomain_soa": msg(9, SRV_NAME, T_SRV, ns=soa_ns, rcode=3),
        "nodata_soa": msg(10, HOST_NAME, T_AAAA, ns=soa_ns),
        "servfail": msg(11, SRV_NAME, T_SRV, rcode=2),
        "truncated": good(12, SRV_NAME, T_SRV)[:40],
        "tc_bit": msg(13, SRV_NAME, T_SRV, flags=0x8380),
        "bad_rdata": msg(14, SRV_NAME, T_SRV, an=[rr(SRV_NAME, T_SRV, 1, b"\0\1\0")]),
        "a_wrong_len": msg(15, HOST_NAME, T_A, an=[rr(HOST_NAME, T_A, 1, b"\1\2\3")]),
        # a compression pointer that points at itself
        "pointer_loop": struct.pack("!HHHHHH", 16, 0x8180, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 33, 1),
        "other_question": good(17, "other.svc.test", T_SRV),
        "huge_ttl": msg(18, HOST_NAME, T_A, an=[rr(HOST_NAME, T_A, 0x80000001, a("198.18.4.1"))]),
    }
    # compressed names: the SRV target points into the question
    q = name(SRV_NAME)
    hdr = struct.pack("!HHHHHH", 19, 0x8180, 1, 1, 0, 1)
    body = q + struct.pack("!HH", T_SRV, 1)
    body += b"\xc0\x0c" + struct.pack("!HHIH", T_SRV, 1, 4, 8) + struct.pack("!HHH", 1, 2, 3) + b"\xc0\x0c"
    body += b"\xc0\x0c" + struct.pack("!HHIH", T_A, 1, 4, 4) + a("198.18.5.1")
    files["srv_compressed"] = hdr + body
    for k, v in files.items():
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "seeds":
        seeds(sys.argv[2])
    else:
        sys.exit("usage: dns_server.py serve MODEFILE | seeds DIR")
