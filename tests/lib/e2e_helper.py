#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Helpers for the end-to-end tests (stdlib only): sniffing frames on the
bridge, checking what was sniffed (tunnelled or L2 forwarding), the spread
statistics, UDP requests, a burst of new TCP connections (connect), a
keep-alive client, many long-lived connections held and exercised (hold),
JSON queries and checks over the CLI's output (errors, configuration
snapshots, concurrent writers, stats --watch).

    python3 tests/lib/e2e_helper.py COMMAND [ARGS]   (see --help)
"""
import argparse, http.client, ipaddress, json, math, os, signal, socket, struct
import sys, time

def cmd_sniff(a):
    """Frames leaving the bridge ports (PACKET_OUTGOING) in the net
    namespace, per port: tunnelled frames (IPIP, IP6IP6, 4in6, 6in4) by
    outer family, with their outer sources and destinations and inner
    destinations; other frames to a VIP by (family, src MAC, dst MAC), and
    from a VIP by (family, src MAC)."""
    vips = set(ipaddress.ip_address(v).packed for v in a.vip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    out = {"tunnel": {}, "to_vip": {}, "from_vip": {}}
    open(a.ready, "w").close()
    end = time.time() + a.max_seconds
    def ip(b):
        return str(ipaddress.ip_address(b)) if len(b) in (4, 16) else "?"
    def count(kind, ifn, key):
        d = out[kind].setdefault(ifn, {})
        d[key] = d.get(key, 0) + 1
    def add_tun(ifn, fam, osrc, odst, idst):
        t = out["tunnel"].setdefault(ifn, {}).setdefault(fam, {
            "n": 0, "outer_src": set(), "outer_dst": set(), "inner_dst": set()})
        t["n"] += 1
        t["outer_src"].add(ip(osrc))
        t["outer_dst"].add(ip(odst))
        t["inner_dst"].add(ip(idst))
    while not stop and time.time() < end:
        try:
            f, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] != socket.PACKET_OUTGOING or len(f) < 34:
            continue
        ifn, dmac, smac = addr[0], f[0:6].hex(":"), f[6:12].hex(":")
        et = struct.unpack("!H", f[12:14])[0]
        if et == 0x0800:
            fam, proto, src, dst = "4", f[23], f[26:30], f[30:34]
            inner = 14 + (f[14] & 15) * 4
        elif et == 0x86dd and len(f) >= 54:
            fam, proto, src, dst = "6", f[20], f[22:38], f[38:54]
            inner = 54
        else:
            continue
        if proto == 4:              # inner IPv4
            add_tun(ifn, fam, src, dst, f[inner + 16:inner + 20])
        elif proto == 41:           # inner IPv6
            add_tun(ifn, fam, src, dst, f[inner + 24:inner + 40])
        elif dst in vips:
            count("to_vip", ifn, "%s %s %s" % (fam, smac, dmac))
        elif src in vips:
            count("from_vip", ifn, "%s %s" % (fam, smac))
    for d in out["tunnel"].values():
        for t in d.values():
            for k in ("outer_src", "outer_dst", "inner_dst"):
                t[k] = sorted(t[k])
    json.dump(out, open(a.out, "w"), indent=1, sort_keys=True)

def cmd_check_sniff(a):
    """Judge a sniff summary of tunnelled forwarding (IPIP / IP6IP6, outer
    source within the encap prefixes, direct replies); print one line per
    problem."""
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
    macs = {}                    # replies to the client by source MAC
    for k, n in d["from_vip"].get(a.client_peer, {}).items():
        mac = k.split()[1]
        macs[mac] = macs.get(mac, 0) + n
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

def cmd_check_sniff_l2(a):
    """Judge a sniff summary of L2 forwarding (client frames MAC-rewritten
    to the backends, no tunnels, direct replies); print one line per
    problem."""
    d = json.load(open(a.file))
    bad = []
    if d["tunnel"]:
        bad.append("tunnelled frames on the bridge: %s" % d["tunnel"])
    be_macs = {}
    for spec in a.backend:       # PEER,MAC
        peer, mac = spec.split(",")
        be_macs[mac] = peer
        got = d["to_vip"].get(peer, {})
        for fam in ("4", "6"):
            want = "%s %s %s" % (fam, a.lb_mac, mac)
            if not got.get(want):
                bad.append("%s: no IPv%s frames to a VIP from the LB's MAC %s to %s"
                           % (peer, fam, a.lb_mac, mac))
        other = sorted(k for k in got if k.split()[1:] != [a.lb_mac, mac])
        if other:
            bad.append("%s: frames to a VIP with other MACs: %s" % (peer, other[:4]))
    reps = d["from_vip"].get(a.client_peer, {})
    for fam in ("4", "6"):
        macs = set(k.split()[1] for k in reps if k.split()[0] == fam)
        if a.lb_mac in macs:
            bad.append("IPv%s replies to the client from the LB's MAC" % fam)
        if macs - set(be_macs):
            bad.append("IPv%s replies to the client from MACs %s, not backends'"
                       % (fam, sorted(macs - set(be_macs))))
        missing = sorted(be_macs[m] for m in set(be_macs) - macs)
        if missing:
            bad.append("no IPv%s replies to the client from %s" % (fam, missing))
    via_lb = d["from_vip"].get(a.lb_peer, {})
    if via_lb:
        bad.append("frames from a VIP sent towards the LB: %s" % via_lb)
    for b in bad:
        print(b)
    return 1 if bad else 0

def batch_counts(path, names):
    """Answers per backend name in a curl batch ('PORT NAME' lines), and
    their total."""
    got = {n: 0 for n in names}
    total = 0
    for line in open(path):
        parts = line.split()
        if len(parts) == 2 and parts[1] in got:
            got[parts[1]] += 1
            total += 1
    return got, total

def binom_cdf(k, n, p):
    """P(X <= k), X ~ Binomial(n, p)."""
    p = min(max(p, 0.0), 1.0)
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))

def cmd_spread(a):
    """Per-backend counts of a batch against the weights; one line per
    backend. Each connection's backend is a fixed hash of a distinct
    5-tuple, i.e. a Bernoulli trial with p = w / sum(w); the Maglev table's
    own rounding of the weights (at least 100 slots per backend) is below 0.01.

    --test sigma: the share's standard deviation is sqrt(p(1-p)/n); a bound
    of 4 sigma fails a correct LB with probability 6.3e-5 per backend
    (< 2e-4 for three), while still catching ignored weights (equal shares
    miss 1/6 and 1/2 by 0.17). Add 0.01 for the table's rounding.

    --test binomial: the count of backend i over n connections is
    Binomial(n, p_i). A backend fails when its count is in a tail of
    probability < ALPHA even at the least extreme share in
    [p_i - 0.01, p_i + 0.01] (exact binomial tails). With ALPHA = 1e-5 and
    6 tails per VIP, a correct LB fails a VIP with probability < 6e-5.
    Weights ignored (equal shares) put a weight-4 backend (of 1, 1, 4) near
    n/3 instead of 2n/3: a tail of ~1e-15 at n = 150."""
    names, weights = a.names.split(","), [int(w) for w in a.weights.split(",")]
    got, n = batch_counts(a.file, names)
    bad = 0
    for name, w in zip(names, weights):
        p = w / sum(weights)
        k = got[name]
        if a.test == "sigma":
            share = k / n if n else 0.0
            bound = 4 * math.sqrt(p * (1 - p) / max(n, 1)) + 0.01
            ok = abs(share - p) <= bound
            print("%s weight %d: %d/%d = %.3f, expected %.3f +- %.3f %s" %
                  (name, w, k, n, share, p, bound, "ok" if ok else "BAD"))
        else:
            alpha = 1e-5
            low = binom_cdf(k, n, p - 0.01)                              # P(X <= k)
            high = 1 - binom_cdf(k - 1, n, p + 0.01) if k > 0 else 1.0   # P(X >= k)
            ok = n > 0 and low >= alpha and high >= alpha
            print("%s weight %d: %d/%d = %.3f, expected %.3f; P(<=)=%.2g P(>=)=%.2g %s"
                  % (name, w, k, n, k / n if n else 0, p, low, high,
                     "ok" if ok else "BAD"))
        bad += not ok
    return 1 if bad or n == 0 else 0

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

def cmd_connect(a):
    """COUNT new TCP connections to ADDR:PORT, one after the other, each
    from its own socket: GET / and print the answering backend's name, or
    'refused' (a RST: with direct server return a node without its server
    answers the SYN itself) or 'timeout'; then the seconds all took."""
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    t0 = time.monotonic()
    for _ in range(a.count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        try:
            s.connect((a.addr, a.port))
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            body = data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace").strip()
            print(body or "empty")
        except ConnectionRefusedError:
            print("refused")
        except ConnectionResetError:
            print("reset")
        except socket.timeout:
            print("timeout")
        finally:
            s.close()
    print("seconds %.3f" % (time.monotonic() - t0))
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

def cmd_hold(a):
    """N long-lived TCP connections to ADDR:PORT, held open and exercised
    in rounds (one GET on each per round) until SIGTERM or max-seconds. A
    connection breaks when a request fails (reset, error, no answer within
    --timeout) or another backend answers on it. After every round the
    --progress file holds 'ROUND BROKEN'; at the end --out holds a JSON
    summary: conns, broken (with why), rounds, requests, per-backend counts,
    the slowest request."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    conns = []
    for i in range(a.conns):
        c = http.client.HTTPConnection(a.addr, a.port, timeout=a.timeout)
        try:
            c.request("GET", "/")
            body = c.getresponse().read().decode().strip()
        except (OSError, http.client.HTTPException) as e:
            print("connection %d: %s" % (i, e), file=sys.stderr)
            return 1
        conns.append({"c": c, "be": body, "lport": c.sock.getsockname()[1],
                      "broken": None})
    open(a.ready, "w").write("%d\n" % len(conns))
    rounds = requests = 0
    slowest = 0.0
    end = time.time() + a.max_seconds
    def progress():
        nb = sum(1 for x in conns if x["broken"])
        with open(a.progress + ".tmp", "w") as f:
            f.write("%d %d\n" % (rounds, nb))
        os.rename(a.progress + ".tmp", a.progress)
    progress()
    while not stop and time.time() < end:
        t_round = time.time()
        for x in conns:
            if x["broken"] or stop:
                continue
            t0 = time.time()
            try:
                x["c"].request("GET", "/")
                body = x["c"].getresponse().read().decode().strip()
                if body != x["be"]:
                    x["broken"] = "answered by %s, not %s" % (body, x["be"])
            except (OSError, http.client.HTTPException) as e:
                x["broken"] = "%s: %s" % (type(e).__name__, e)
            if x["broken"]:
                x["broken"] = "%.3f port %d: %s" % (time.time(), x["lport"], x["broken"])
            else:
                requests += 1
            slowest = max(slowest, time.time() - t0)
        rounds += 1
        progress()
        time.sleep(max(0, a.period - (time.time() - t_round)))
    per_be = {}
    for x in conns:
        per_be[x["be"]] = per_be.get(x["be"], 0) + 1
    json.dump({"conns": len(conns), "rounds": rounds, "requests": requests,
               "broken": sum(1 for x in conns if x["broken"]),
               "why": [x["broken"] for x in conns if x["broken"]][:10],
               "backends": per_be, "slowest_s": round(slowest, 3)},
              open(a.out, "w"), sort_keys=True)
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

def cmd_reason(a):
    """Packets of one reason in `xlb -j stats`."""
    d = json.load(open(a.file))
    print(d["reasons"][a.name]["packets"])
    return 0

# --- checks of the CLI's error handling and configuration state.

def load(f):
    with open(f) as fh:
        return json.load(fh)

def cmd_json_error_line(a):
    """stdout of a failed `xlb -j`: exactly one line, a JSON object with a
    one-line "error" naming every word and "exit" equal to the status."""
    text = open(a.file).read()
    lines = text.splitlines()
    if len(lines) != 1:
        print("%d lines on stdout, expected 1: %r" % (len(lines), text[:300]))
        return 1
    try:
        d = json.loads(lines[0])
    except ValueError as e:
        print("not JSON (%s): %r" % (e, lines[0][:300]))
        return 1
    bad = []
    if not isinstance(d, dict) or not isinstance(d.get("error"), str):
        print("no \"error\" string in %r" % lines[0][:300])
        return 1
    if d.get("exit") != a.code:
        bad.append("\"exit\": %r, expected %d" % (d.get("exit"), a.code))
    if "\n" in d["error"] or not d["error"].strip():
        bad.append("error is not one non-empty line: %r" % d["error"])
    for w in a.word:
        if w.lower() not in d["error"].lower():
            bad.append("error %r does not name %r" % (d["error"], w))
    for b in bad:
        print(b)
    return 1 if bad else 0

def cmd_snapshot(a):
    """Canonical text of the configuration state (no traffic counters)."""
    vips = sorted(load(a.vips), key=lambda v: v["vip"])
    bes = [{k: v for k, v in b.items()
            if k not in ("packets", "bytes", "new_flows")}
           for b in load(a.backends)]
    bes.sort(key=lambda b: (b["vip_id"], b["backend"]))
    st = load(a.status)
    st.pop("agent_running", None)
    maps = st.get("maps", {})
    maps.pop("flows", None)
    print(json.dumps({"vips": vips, "backends": bes, "status": st,
                      "config": load(a.config)}, sort_keys=True, indent=1))
    return 0

def cmd_concurrency(a):
    """After the parallel adds: each added backend / VIP present exactly
    once; per VIP the backends count of `vip list` equals its entries in
    `backend list`; VIP ids unique; status counts agree; the VIP built in
    parallel has the digest of one built one by one with the same members;
    empty VIPs share one digest."""
    vips, bes, st = load(a.vips), load(a.backends), load(a.status)
    bad = []
    by_name = {}
    for v in vips:
        by_name.setdefault(v["vip"], []).append(v)
    for name in [a.svc, a.ref] + ["%s:80/tcp" % x for x in a.vip]:
        n = len(by_name.get(name, []))
        if n != 1:
            bad.append("VIP %s listed %d times, expected once" % (name, n))
    if bad:
        print("\n".join(bad))
        return 1
    ids = [v["id"] for v in vips]
    if len(set(ids)) != len(ids):
        bad.append("VIP ids not unique: %s" % sorted(ids))
    per_vip = {}
    for b in bes:
        per_vip.setdefault(b["vip_id"], []).append(b["backend"])
    for v in vips:
        got = len(per_vip.get(v["id"], []))
        if v["backends"] != got:
            bad.append("VIP %s: vip list says %d backends, backend list has %d"
                       % (v["vip"], v["backends"], got))
    svc = by_name[a.svc][0]
    mine = per_vip.get(svc["id"], [])
    for x in a.addr:
        n = mine.count(x)
        if n != 1:
            bad.append("backend %s in %s: %d times, expected once" % (x, a.svc, n))
    if len(mine) != a.svc_backends:
        bad.append("%s has %d backends, expected %d" % (a.svc, len(mine), a.svc_backends))
    ref = by_name[a.ref][0]
    if ref["backends"] != svc["backends"] or ref["table_digest"] != svc["table_digest"]:
        bad.append("%s (parallel) backends %d digest %s; %s (one by one) backends %d digest %s"
                   % (a.svc, svc["backends"], svc["table_digest"], a.ref,
                      ref["backends"], ref["table_digest"]))
    empty = set(v["table_digest"] for v in vips if v["backends"] == 0)
    if len(empty) > 1:
        bad.append("VIPs without backends have different digests: %s" % sorted(empty))
    if svc["table_digest"] in empty:
        bad.append("%s has the empty table's digest" % a.svc)
    m = st.get("maps", {})
    if m.get("vips", {}).get("used") != len(vips):
        bad.append("status vips used %r, vip list %d" % (m.get("vips"), len(vips)))
    if m.get("members", {}).get("used") != len(bes):
        bad.append("status members used %r, backend list %d" % (m.get("members"), len(bes)))
    for b in bad:
        print(b)
    return 1 if bad else 0

def cmd_watch_json(a):
    """`-j stats --watch 1 --count N`: N lines, each a snapshot object."""
    lines = open(a.file).read().splitlines()
    if len(lines) != a.count:
        print("%d lines, expected %d" % (len(lines), a.count))
        return 1
    for l in lines:
        d = json.loads(l)
        for k in ("vips", "backends", "reasons", "interval_s"):
            if k not in d:
                print("snapshot without %r: %s" % (k, l[:200]))
                return 1
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
c = sub.add_parser("check-sniff-l2")
c.add_argument("file")
c.add_argument("--backend", action="append", default=[])
c.add_argument("--lb-mac")
c.add_argument("--lb-peer")
c.add_argument("--client-peer")
c = sub.add_parser("spread")
c.add_argument("file")
c.add_argument("--names")
c.add_argument("--weights")
c.add_argument("--test", choices=("sigma", "binomial"), default="sigma")
c = sub.add_parser("udp")
c.add_argument("--addr")
c.add_argument("--port", type=int)
c.add_argument("--count", type=int)
c = sub.add_parser("connect")
c.add_argument("--addr", required=True)
c.add_argument("--port", type=int, default=80)
c.add_argument("--count", type=int, default=50)
c.add_argument("--timeout", type=float, default=1.0)
c = sub.add_parser("keepalive")
c.add_argument("--addr")
c.add_argument("--port", type=int)
c.add_argument("--want")
c.add_argument("--tries", type=int, default=100)
c.add_argument("--ready")
c.add_argument("--log")
c.add_argument("--max-seconds", type=float, default=60)
c = sub.add_parser("hold")
c.add_argument("--addr", required=True)
c.add_argument("--port", type=int, default=80)
c.add_argument("--conns", type=int, default=120)
c.add_argument("--period", type=float, default=0.2)
c.add_argument("--timeout", type=float, default=10)
c.add_argument("--ready", required=True)
c.add_argument("--progress", required=True)
c.add_argument("--out", required=True)
c.add_argument("--max-seconds", type=float, default=300)
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
c = sub.add_parser("reason")
c.add_argument("file")
c.add_argument("name")
c = sub.add_parser("json-error-line")
c.add_argument("file")
c.add_argument("code", type=int)
c.add_argument("word", nargs="*")
c = sub.add_parser("snapshot")
for n in ("vips", "backends", "status", "config"):
    c.add_argument(n)
c = sub.add_parser("concurrency")
for n in ("vips", "backends", "status"):
    c.add_argument(n)
c.add_argument("--svc")
c.add_argument("--ref")
c.add_argument("--svc-backends", type=int)
c.add_argument("--addr", action="append", default=[])
c.add_argument("--vip", action="append", default=[])
c = sub.add_parser("watch-json")
c.add_argument("file")
c.add_argument("count", type=int)
a = p.parse_args()
sys.exit(globals()["cmd_" + a.cmd.replace("-", "_")](a))
