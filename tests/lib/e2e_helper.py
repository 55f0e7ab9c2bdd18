#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Helpers for the end-to-end tests (stdlib only): sniffing frames on the
bridge, checking what was sniffed, the spread statistics, UDP requests, a
keep-alive client, JSON queries over the CLI's output.

    python3 tests/lib/e2e_helper.py COMMAND [ARGS]   (see --help)
"""
import argparse, http.client, ipaddress, json, math, signal, socket, struct
import sys, time

def cmd_sniff(a):
    """Frames leaving the bridge ports (PACKET_OUTGOING) in the net
    namespace: tunnelled frames per port and outer family, and the source
    MACs of replies (IP source = a VIP) per port."""
    vips = set(ipaddress.ip_address(v).packed for v in a.vip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    tun, rep = {}, {}
    open(a.ready, "w").close()
    end = time.time() + a.max_seconds
    def ip(b):
        return str(ipaddress.ip_address(b))
    def add_tun(ifn, fam, osrc, odst, idst):
        t = tun.setdefault(ifn, {}).setdefault(fam, {
            "n": 0, "outer_src": set(), "outer_dst": set(), "inner_dst": set()})
        t["n"] += 1
        t["outer_src"].add(ip(osrc))
        t["outer_dst"].add(ip(odst))
        t["inner_dst"].add(ip(idst) if idst else "?")
    while not stop and time.time() < end:
        try:
            f, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] != socket.PACKET_OUTGOING or len(f) < 34:
            continue
        ifn, smac = addr[0], f[6:12].hex(":")
        et = struct.unpack("!H", f[12:14])[0]
        if et == 0x0800:
            ihl = (f[14] & 15) * 4
            proto, src, dst = f[23], f[26:30], f[30:34]
            inner = 14 + ihl
            if proto == 4:
                add_tun(ifn, "4", src, dst, f[inner + 16:inner + 20])
                continue
            if src in vips:
                r = rep.setdefault(ifn, {})
                r[smac] = r.get(smac, 0) + 1
        elif et == 0x86dd and len(f) >= 54:
            nh, src, dst = f[20], f[22:38], f[38:54]
            if nh == 41:
                add_tun(ifn, "6", src, dst, f[54 + 24:54 + 40])
                continue
            if nh == 4:
                add_tun(ifn, "6", src, dst, f[54 + 16:54 + 20])
                continue
            if src in vips:
                r = rep.setdefault(ifn, {})
                r[smac] = r.get(smac, 0) + 1
    for d in tun.values():
        for t in d.values():
            for k in ("outer_src", "outer_dst", "inner_dst"):
                t[k] = sorted(t[k])
    json.dump({"tunnel": tun, "reply": rep}, open(a.out, "w"), indent=1)

def cmd_check_sniff(a):
    """Judge a sniff summary; print one line per problem."""
    d = json.load(open(a.file))
    bad = []
    srcs = {"4": set(), "6": set()}
    for spec in a.backend:       # PEER,ADDR4,ADDR6,MAC
        peer, a4, a6, mac = spec.split(",")
        for fam, addr, vip, net in (("4", a4, a.vip4, a.encap4),
                                    ("6", a6, a.vip6, a.encap6)):
            t = d["tunnel"].get(peer, {}).get(fam)
            if not t or t["n"] == 0:
                bad.append("%s: no IPv%s-outer tunnelled frames" % (peer, fam))
                continue
            if t["outer_dst"] != [addr]:
                bad.append("%s: outer dst %s, expected [%s]" %
                           (peer, t["outer_dst"], addr))
            if t["inner_dst"] != [vip]:
                bad.append("%s: inner dst %s, expected [%s]" %
                           (peer, t["inner_dst"], vip))
            out = [x for x in t["outer_src"]
                   if ipaddress.ip_address(x) not in ipaddress.ip_network(net)]
            if out:
                bad.append("%s: outer src %s outside %s" % (peer, out[:5], net))
            srcs[fam].update(t["outer_src"])
    for fam in ("4", "6"):
        # Hundreds of flows over the prefix: a handful of distinct outer
        # sources at the very least, if the source varies per flow.
        if len(srcs[fam]) < a.min_srcs:
            bad.append("IPv%s outer sources: %d distinct, expected >= %d" %
                       (fam, len(srcs[fam]), a.min_srcs))
    macs = d["reply"].get(a.client_peer, {})
    be_macs = set(spec.split(",")[3] for spec in a.backend)
    if not macs:
        bad.append("no reply frames from a VIP towards the client")
    if a.lb_mac in macs:
        bad.append("%d replies to the client came from the LB's MAC %s" %
                   (macs[a.lb_mac], a.lb_mac))
    other = set(macs) - be_macs
    if other:
        bad.append("replies from MACs %s, expected only backends' %s" %
                   (sorted(other), sorted(be_macs)))
    missing = be_macs - set(macs)
    if missing:
        bad.append("no direct replies from backend MACs %s" % sorted(missing))
    for b in bad:
        print(b)
    return 1 if bad else 0

def cmd_spread(a):
    """Per-backend share of a batch against the weights.

    Each connection's backend is a fixed hash of a distinct 5-tuple,
    i.e. a Bernoulli trial with p = w / sum(w). The share's standard
    deviation is sqrt(p(1-p)/n); a bound of 4 sigma fails a correct LB with
    probability 6.3e-5 per backend (< 2e-4 for three), while still catching
    ignored weights (equal shares miss 1/6 and 1/2 by 0.17). Add 0.01 for
    the Maglev table's own rounding of the weights (65537 slots: far less)."""
    names, weights = a.names.split(","), [int(w) for w in a.weights.split(",")]
    got = {n: 0 for n in names}
    total = 0
    for line in open(a.file):
        parts = line.split()
        if len(parts) == 2 and parts[1] in got:
            got[parts[1]] += 1
            total += 1
    bad = 0
    for n, w in zip(names, weights):
        p = w / sum(weights)
        share = got[n] / total if total else 0.0
        bound = 4 * math.sqrt(p * (1 - p) / max(total, 1)) + 0.01
        ok = abs(share - p) <= bound
        bad += not ok
        print("%s weight %d: %d/%d = %.3f, expected %.3f +- %.3f %s" %
              (n, w, got[n], total, share, p, bound, "ok" if ok else "BAD"))
    return 1 if bad or total == 0 else 0

def cmd_udp(a):
    """COUNT requests from COUNT distinct sockets (distinct source ports),
    each tried up to 3 times; print 'PORT NAME REPLY_SRC' or 'PORT ERR'."""
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    socks, fails = [], 0
    for _ in range(a.count):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
        s.settimeout(1.0)
        socks.append(s)
        port = s.getsockname()[1]
        for _ in range(3):
            s.sendto(b"hello", (a.addr, a.port))
            try:
                data, src = s.recvfrom(2048)
                print(port, data.decode().strip(), "%s:%d" % (src[0], src[1]))
                break
            except socket.timeout:
                continue
        else:
            print(port, "ERR timeout")
            fails += 1
            if fails >= 5:
                break
    return 0

def cmd_keepalive(a):
    """One TCP connection to ADDR:PORT that lands on WANT (new connections
    until one does), then GET / every 0.1 s over it; one line per request:
    'ok NAME LPORT' or 'err WHAT'. Ends on SIGTERM or after max-seconds."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    log = open(a.log, "w", buffering=1)
    conn = None
    for _ in range(a.tries):
        c = http.client.HTTPConnection(a.addr, a.port, timeout=2)
        try:
            c.request("GET", "/")
            body = c.getresponse().read().decode().strip()
        except OSError as e:
            log.write("connect-err %s\n" % e)
            c.close()
            continue
        if body == a.want:
            conn = c
            break
        c.close()
    if conn is None:
        log.write("err never reached %s\n" % a.want)
        return 1
    lport = conn.sock.getsockname()[1]
    open(a.ready, "w").write("%d\n" % lport)
    end = time.time() + a.max_seconds
    while not stop and time.time() < end:
        try:
            conn.request("GET", "/")
            body = conn.getresponse().read().decode().strip()
            now = conn.sock.getsockname()[1] if conn.sock else -1
            if now != lport:
                log.write("err connection changed: port %d -> %d\n" % (lport, now))
                return 1
            log.write("ok %s %d\n" % (body, now))
        except (OSError, http.client.HTTPException) as e:
            log.write("err %s: %s\n" % (type(e).__name__, e))
            return 1
        time.sleep(0.1)
    return 0

# --- JSON queries: tolerant of how the CLI nests things, strict on values.

def walk(o):
    if isinstance(o, dict):
        yield o
        for v in o.values():
            yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)

def parse_spec(spec):
    addr, rest = spec.rsplit(":", 1)
    port, proto = rest.split("/")
    return ipaddress.ip_address(addr.strip("[]")), int(port), proto.lower()

def same_addr(v, addr):
    try:
        return ipaddress.ip_address(str(v).strip("[]")) == addr
    except ValueError:
        return False

def vip_match(d, spec):
    addr, port, proto = parse_spec(spec)
    for k in ("vip", "name", "service", "key"):
        v = d.get(k)
        if isinstance(v, str) and v.lower() == spec.lower():
            return True
        if isinstance(v, dict) and vip_match(v, spec):
            return True
    for k in ("addr", "address", "vip", "ip"):
        if k in d and same_addr(d[k], addr):
            if int(d.get("port", -1)) == port and \
               str(d.get("proto", d.get("protocol", ""))).lower() in \
               (proto, {"tcp": "6", "udp": "17"}[proto]):
                return True
    return False

def packets_of(d):
    if isinstance(d.get("packets"), int):
        return d["packets"]
    for v in d.values():
        if isinstance(v, dict) and isinstance(v.get("packets"), int):
            return v["packets"]
    return None

def cmd_vip_packets(a):
    doc = json.load(open(a.file))
    for d in walk(doc):
        if vip_match(d, a.spec) and packets_of(d) is not None:
            print(packets_of(d))
            return 0
        for k, v in d.items():      # {"198.18.100.1:80/tcp": {"packets": N}}
            if k.lower() == a.spec.lower() and isinstance(v, dict) and \
               packets_of(v) is not None:
                print(packets_of(v))
                return 0
    print("none")
    return 1

def cmd_flows_count(a):
    doc = json.load(open(a.file))
    if isinstance(doc, dict):
        doc = doc.get("flows")
    if not isinstance(doc, list):
        print("none")
        return 1
    print(len(doc))
    return 0

def cmd_backend_state(a):
    doc = json.load(open(a.file))
    addr = ipaddress.ip_address(a.addr)
    for d in walk(doc):
        if "vip" in d and not vip_match(d, a.vip):
            continue            # the same backend under another VIP
        if "state" in d and any(same_addr(d.get(k), addr)
                                for k in ("addr", "address", "backend", "ip")):
            print(str(d["state"]).lower())
            return 0
    print("none")
    return 1

def cmd_json_error(a):
    """Exit 0 if stdout or stderr of a failed -j command is a JSON object
    with an "error" member."""
    for f in a.files:
        try:
            doc = json.load(open(f))
        except (ValueError, OSError):
            continue
        if any("error" in d for d in walk(doc)):
            return 0
    return 1

def cmd_map_type(a):
    print(json.load(sys.stdin).get("type", "?"))
    return 0

p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="cmd", required=True)
c = sub.add_parser("sniff")
c.add_argument("--out", required=True)
c.add_argument("--ready", required=True)
c.add_argument("--vip", action="append", default=[])
c.add_argument("--max-seconds", type=float, default=300)
c = sub.add_parser("check-sniff")
c.add_argument("file")
c.add_argument("--backend", action="append", default=[])
c.add_argument("--vip4")
c.add_argument("--vip6")
c.add_argument("--encap4")
c.add_argument("--encap6")
c.add_argument("--client-peer")
c.add_argument("--lb-mac")
c.add_argument("--min-srcs", type=int, default=8)
c = sub.add_parser("spread")
c.add_argument("file")
c.add_argument("--names")
c.add_argument("--weights")
c = sub.add_parser("udp")
c.add_argument("--addr")
c.add_argument("--port", type=int)
c.add_argument("--count", type=int)
c = sub.add_parser("keepalive")
c.add_argument("--addr")
c.add_argument("--port", type=int)
c.add_argument("--want")
c.add_argument("--tries", type=int, default=100)
c.add_argument("--ready")
c.add_argument("--log")
c.add_argument("--max-seconds", type=float, default=60)
c = sub.add_parser("vip-packets")
c.add_argument("file")
c.add_argument("spec")
c = sub.add_parser("flows-count")
c.add_argument("file")
c = sub.add_parser("backend-state")
c.add_argument("file")
c.add_argument("addr")
c.add_argument("vip")
c = sub.add_parser("json-error")
c.add_argument("files", nargs="+")
c = sub.add_parser("map-type")
a = p.parse_args()
sys.exit(globals()["cmd_" + a.cmd.replace("-", "_")](a))
