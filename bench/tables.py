#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Benchmark results as JSON, and the README tables made from them.

    bench/tables.py record NAME COMMAND RC SECONDS OUTPUT [DATA.json]
        write bench/results/NAME.json: the command line, the date, the
        commit, kernel, CPU and load average, the benchmark's output (every
        line), its markdown tables as {"title", "rows": [{header: cell}]}
        (numbers as numbers) and, under "data", the JSON the benchmark
        wrote itself (wire_rate, rps, katran).
    bench/tables.py readme        rewrite every generated region of
                                  README.md and bench/README.md
    bench/tables.py check         exit 1 (with a diff) when a region differs
                                  from what the committed JSON gives

A region is the text between "<!-- bench:ID begin (bench/tables.py) -->"
and "<!-- bench:ID end -->"; RENDER below says what each ID holds. The
"kernels" region of README.md is written by scripts/vmtest.sh from
bench/results/kernels/kernels.md; check compares it with that file too.
Only the standard library: check runs in `make lint`, without a benchmark.
"""
import datetime
import difflib
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
DOCS = ["README.md", "bench/README.md"]
NUM = re.compile(r"^-?\d+(\.\d+)?$")
SEP = re.compile(r"^\|[\s:|-]+\|\s*$")

# What each result file holds (bench/README.md's list of results).
HOLDS = {
    "xdp": "per-packet cost of the fast path, DSR and NAT (BPF_PROG_TEST_RUN)",
    "passive": "passive-health bookkeeping per packet, event -> map write",
    "maglev": "Maglev table build time, slot-share error, disruption",
    "flip": "health flip -> fast path avoids the node; table write and swap",
    "agent": "xlbd with 10,000 nodes: start-up, CPU, memory, one node's flip",
    "scale": "xlbd with 10,000 VIPs x 10 nodes from one file: start, reload, memory",
    "wire_rate": "packets/s on veth, xlb against a MAC-swap XDP_TX floor",
    "rps": "requests/s through xlb (DSR), plain routing and HAProxy (wrk)",
    "rps_nat": "requests/s through xlb NAT, plain routing and HAProxy (wrk)",
    "scaleout": "three nodes: health divergence, held connections",
    "discovery": "registry change -> nodes in the maps (etcd, DNS, Consul)",
    "katran": "xlb and Katran's balancer per packet, one interleaved run (BPF_PROG_TEST_RUN)",
    "batch": "xlb -batch of 10,000 VIPs x 10 backends; vip add at 100 and 10,000 VIPs",
    "metrics": "/metrics of a live xlbd with 100,000 nodes: bytes, series, seconds, promtool",
    "flows": "the flow cache at 10M flows: held, memory per flow; removing a backend",
    "modes": "GUE VIP with a flow table against stateless at 1M connections: SYN, established, memory",
}


def tables(lines, raw=False):
    """Every markdown table in lines: a header row, a |---| row, data rows."""
    out, title, i = [], "", 0
    while i < len(lines):
        line = lines[i].rstrip("\n")
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("|") and SEP.match(nxt):
            head = [h.strip() for h in line.strip().strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not raw:
                    cells = [float(c) if NUM.match(c) else c for c in cells]
                rows.append(dict(zip(head, cells)))
                i += 1
            out.append({"title": title, "head": head, "rows": rows})
            continue
        if line.strip():
            title = line.strip()
        i += 1
    return out


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    git = ["git", "-C", ROOT]
    commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    # Results and generated tables change during a run; anything else is code.
    dirty = subprocess.run(git + ["status", "--porcelain", "--", ".", ":!bench/results",
                                  ":!README.md", ":!bench/README.md"],
                           capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + ("+changes" if dirty else ""),
        "kernel": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load_avg": " ".join("%.2f" % x for x in os.getloadavg()),
    }


def record(name, command, rc, seconds, output, data=None):
    with open(output) as f:
        lines = [line.rstrip("\n") for line in f]
    doc = {"name": name, "command": command, "exit": int(rc), "seconds": int(seconds)}
    doc.update(machine())
    doc["tables"] = [{"title": t["title"], "rows": t["rows"]} for t in tables(lines)]
    if data:
        with open(data) as f:
            doc["data"] = json.load(f)
    doc["output"] = lines
    path = os.path.join(RESULTS, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


# --- rendering -----------------------------------------------------------------


class Results:
    def __init__(self):
        self.docs = {}

    def __getitem__(self, name):
        if name not in self.docs:
            with open(os.path.join(RESULTS, name + ".json")) as f:
                self.docs[name] = json.load(f)
        return self.docs[name]

    def table(self, name, i):
        return tables(self[name]["output"], raw=True)[i]

    def line(self, name, prefix):
        for line in self[name]["output"]:
            if line.startswith(prefix):
                return line
        raise KeyError("%s.json: no line starting with %r" % (name, prefix))


def md(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def source(r, name):
    d = r[name]
    return ("`%s` (bench/results/%s.json; %s, load average %s):"
            % (d["command"], name, d["date"], d["load_avg"]))


def select(t, keep=None, cols=None):
    cols = cols or t["head"]
    rows = [[row.get(c, "") for c in cols] for row in t["rows"] if not keep or keep(row)]
    return md(cols, rows)


def r_results(r):
    rows = []
    for name in HOLDS:
        d = r[name]
        rows.append(["[%s.json](results/%s.json)" % (name, name), HOLDS[name],
                     "`%s`" % d["command"], d["date"], d["commit"],
                     "%s, %s CPUs, Linux %s" % (d["cpu"], d["cpus"], d["kernel"]), d["load_avg"]])
    return md(["file", "holds", "command", "recorded", "commit", "machine", "load average"],
              rows)


def r_xdp(r):
    t = r.table("xdp", 0)
    return [source(r, "xdp"), t["title"], ""] + \
        select(t, keep=lambda row: not row["case"].startswith("NAT"))


def r_xdp_nat(r):
    t = r.table("xdp", 0)
    m = re.match(r"NAT SYNs: (\d+) new connections translated, (\d+) without a free port; "
                 r"NAT table: (\d+) connections", r.line("xdp", "NAT SYNs:"))
    ok, fail, size = (int(x) for x in m.groups())
    out = [source(r, "xdp"), ""]
    out += select(t, keep=lambda row: row["case"].startswith("NAT") or
                  row["case"] == "IPv4 TCP established flow")
    out += ["", "NAT SYNs into a table of {:,} connections: {:,} of {:,} translated, {:,} "
            "({:.1f} %) without a free port among their candidates (`drop_nat_ports`)."
            .format(size, ok, ok + fail, fail, 100.0 * fail / max(ok + fail, 1))]
    return out


def whole(name, i, title=True):
    """The i-th table of name's output as it was printed, under its title."""
    def render(r):
        t = r.table(name, i)
        return [source(r, name)] + ([t["title"]] if title else []) + [""] + select(t)
    return render


def r_wire_rate(r):
    d = r["wire_rate"]["data"]
    rows = []
    span = lambda v: "%.2f (%.2f-%.2f)" % (v["mpps_median"], v["mpps_min"], v["mpps_max"])
    for placement, label in (("same", "everything on one CPU"),
                             ("split", "DUT receive on the other CPU")):
        p = d.get(placement)
        if not p:
            continue
        e, k = p.get("encap"), p.get("katran")
        rows.append([label, span(p["floor"]), span(e) if e else "-", span(p["xlb"]),
                     "**%.2f**" % p["ratio_xlb_floor"],
                     "%.2f" % p["ratio_xlb_encap"] if "ratio_xlb_encap" in p else "-",
                     span(k) if k else "-",
                     "%.2f" % p["ratio_xlb_katran"] if "ratio_xlb_katran" in p else "-"])
    out = [source(r, "wire_rate"), ""]
    out += md(["placement", "MAC-swap floor Mpps (median, min-max)",
               "IPIP-encap floor Mpps", "xlb Mpps (median, min-max)", "xlb / MAC-swap floor",
               "xlb / encap floor", "Katran Mpps (median, min-max)", "xlb / Katran (rate)"], rows)
    same = d.get("same")
    if same:
        f, x = (1000.0 / same[k]["mpps_median"] for k in ("floor", "xlb"))
        out += ["", "On one CPU a frame costs %.0f ns with the MAC swap and %.0f ns with xlb "
                "(1 / median rate)%s." % (f, x, ", %.0f ns with Katran (%s)" % (
                    1000.0 / same["katran"]["mpps_median"], same["katran_commit"][:8])
                    if "katran" in same else "")]
        parts = [(k, name) for k, name in (("floor", "MAC swap"), ("encap", "IPIP-encap floor"),
                                           ("xlb", "xlb"), ("katran", "Katran"))
                 if same.get(k, {}).get("stats")]
        if parts:
            out += ["", "Per frame on one CPU, from the kernel's BPF run-time statistics "
                    "(a %.0f s pass; each program's figure less the %.1f ns the statistics "
                    "add): " % (same["stats_seconds"], same["stats_clock_ns"]) +
                    "; ".join("%s: program %.1f ns, generator %.1f, counter %.1f, the rest "
                              "(veth, XDP_TX, kernel) %.1f" %
                              (name, same[k]["stats"]["dut_prog_ns"], same[k]["stats"]["gen_ns"],
                               same[k]["stats"]["count_ns"], same[k]["stats"]["rest_ns"])
                              for k, name in parts) + "."]
    return out


RPS_CFG = {"plain": "plain routing", "xlb": "xlb", "xlbnat": "xlb NAT",
           "haproxy": "HAProxy, TCP mode"}
RPS_MODE = {"keepalive": "keep-alive", "close": "new connection per request"}


def r_rps_of(name):
    """From the JSON rps.sh writes: per configuration and mode, medians."""
    def render(r):
        d = r[name]["data"]
        res = d["results"]
        w = d["wrk"]
        rows, lines = [], []
        for mode in RPS_MODE:
            plain = res.get("plain/" + mode)
            for cfg in RPS_CFG:
                x = res.get(cfg + "/" + mode)
                if not x:
                    continue
                dsoft = ("%+.2f" % (x["machine_softirq_us_per_req"] -
                                    plain["machine_softirq_us_per_req"]) if plain else "")
                rows.append([RPS_CFG[cfg], RPS_MODE[mode], "{:,.0f}".format(x["rps_median"]),
                             "{:,.0f}".format(x["rps_min"]), "{:,.0f}".format(x["rps_max"]),
                             "%.3f" % x["vs_plain"] if plain else "", dsoft,
                             "%.2f" % x["haproxy_proc_us_per_req"] if cfg == "haproxy" else "",
                             "%.2f" % x["xlb_pkts_per_req"] if cfg.startswith("xlb") else "",
                             "%.3f" % x["xlb_prog_us_per_req"]
                             if cfg.startswith("xlb") and x.get("xlb_prog_us_per_req", 0) > 0
                             else ""])
            hap = res.get("haproxy/" + mode)
            for cfg in ("xlb", "xlbnat"):
                x = res.get(cfg + "/" + mode)
                if x and hap:
                    lines.append("%s, %s: requests/s %.2f x HAProxy's; machine softirq per "
                                 "request / HAProxy's process time = %.3f (an upper bound "
                                 "for xlb)"
                                 % (RPS_CFG[cfg], RPS_MODE[mode],
                                    x["rps_median"] / hap["rps_median"],
                                    x["machine_softirq_us_per_req"] /
                                    hap["haproxy_proc_us_per_req"]))
                    if x.get("xlb_prog_us_per_req", 0) > 0:
                        lines.append("%s, %s: LB CPU per request, xlb's program run time "
                                     "(kernel BPF statistics) / HAProxy's process time = "
                                     "%.4f (target <= 0.05)"
                                     % (RPS_CFG[cfg], RPS_MODE[mode],
                                        x["xlb_prog_us_per_req"] /
                                        hap["haproxy_proc_us_per_req"]))
        out = [source(r, name), "wrk -t%d -c%d -d%ds, %d runs per figure, median; backends: "
               "%s; LB device NAPI: %s" % (w["threads"], w["connections"], w["seconds"],
                                                 d["runs"], d["backends"], d["lb_napi"]), ""]
        out += md(["configuration", "connections", "req/s median", "min", "max", "vs plain",
                   "softirq vs plain µs/req", "HAProxy process µs/req", "xlb packets/req",
                   "xlb program µs/req"],
                  rows)
        return out + ([""] + lines if lines else [])
    return render


def r_scaleout(r):
    t = r.table("scaleout", 0)
    out = [source(r, "scaleout"), ""] + select(t)
    out += ["", r.line("scaleout", "median (min-max)")]
    return out


def r_scaleout_run(r):
    return [source(r, "scaleout"), "", r.line("scaleout", "scale-out"),
            "", r.line("scaleout", "etcd: one put")]


def r_discovery(r):
    t = r.table("discovery", 0)
    return [source(r, "discovery"), t["title"], ""] + select(t)


# xlb / Katran targets (bench/README.md, Targets): the cases of bench_peer.c
# each covers, and the highest ratio that meets it.
KATRAN_TARGETS = [("established flow", ("est4", "est6"), 0.6),
                  ("new flow", ("syn4", "syn6"), 0.65),
                  ("non-VIP packet", ("nonvip",), 0.5)]


def katran_ratio(r, cases):
    """xlb / Katran of cases ("est4", ...) in katran.json, as "a" or "a / b"."""
    by = {c["case"]: c for c in r["katran"]["data"]["cases"]}
    return " / ".join("%.2f" % by[c]["ratio"] for c in cases)


def r_katran(r):
    d = r["katran"]["data"]
    loads = d.get("loads", 1) > 1
    rows = [[c["name"], "%.1f" % c["xlb_ns"], "%.1f" % c["katran_ns"], "%.2f" % c["ratio"],
             "%s / %s" % (c["xlb_verdict"], c["katran_verdict"])]
            + (["%.1f - %.1f" % (c["xlb_load_min_ns"], c["xlb_load_max_ns"]),
                "%.1f - %.1f" % (c["katran_load_min_ns"], c["katran_load_max_ns"])]
               if loads else [])
            + ["%.1f" % c["xlb_wall_ns"], "%.1f" % c["katran_wall_ns"]] for c in d["cases"]]
    out = [source(r, "katran"), r.table("katran", 0)["title"], ""]
    out += md(["case", "xlb ns", "Katran ns", "xlb / Katran", "verdicts"]
              + (["xlb, loads' medians", "Katran, loads' medians"] if loads else [])
              + ["xlb wall-clock ns", "Katran wall-clock ns"], rows)
    by = {c["case"]: c["ratio"] for c in d["cases"]}
    targets = ["%s %s (target <= %s: %s)"
               % (what, katran_ratio(r, cases), limit,
                  "met" if max(by[c] for c in cases) <= limit else "**missed**")
               for what, cases, limit in KATRAN_TARGETS]
    out += ["", r.line("katran", "Katran"), "",
            "xlb / Katran, Katran %s: %s." % (d["katran_commit"][:8], "; ".join(targets))]
    return out


def r_summary(r):
    def cell(name, i, match, col):
        for row in r.table(name, i)["rows"]:
            if row[next(iter(row))].startswith(match):
                return row[col]
        raise KeyError("%s: no row %r" % (name, match))

    wr = r["wire_rate"]["data"]["same"]["ratio_xlb_floor"]
    sc = r.table("scaleout", 0)["rows"]
    rows = [
        ["IPv4 TCP established flow, ns per packet (median)", cell("xdp", 0, "IPv4 TCP established", "median"), "xdp"],
        ["IPv4 TCP SYN into the 1M-flow table, ns (median)", cell("xdp", 0, "IPv4 TCP SYN, 1M", "median"), "xdp"],
        ["NAT IPv4 client -> node, ns (median)", cell("xdp", 0, "NAT IPv4 client", "median"), "xdp"],
        ["wire rate on veth, one CPU, xlb / MAC-swap floor", "%.2f" % wr, "wire_rate"],
        ["requests/s, keep-alive, xlb / plain routing", 
         "%.3f" % r["rps"]["data"]["results"]["xlb/keepalive"]["vs_plain"], "rps"],
        ["flow cache at 10M flows a family (--flows 10000000), bytes per flow, both families",
         cell("flows", 0, "bytes per flow", "value"), "flows"],
        ["removing one backend, 10M flows in the table, ms (p50)",
         cell("flows", 1, "10000000", "p50"), "flows"],
        ["LB CPU per request, new connection each: xlb program / HAProxy process",
         "%.4f" % (r["rps"]["data"]["results"]["xlb/close"]["xlb_prog_us_per_req"] /
                   r["rps"]["data"]["results"]["haproxy/close"]["haproxy_proc_us_per_req"]),
         "rps"],
        ["Maglev build M = 65537, N = 1000, µs (median)",
         next(row["median us"] for row in r.table("maglev", 0)["rows"]
              if row["M"] == "65537" and row["N"] == "1000"), "maglev"],
        ["health flip -> fast path, flock + state write, 3 backends, p99 µs",
         next(row["p99"] for row in r.table("flip", 0)["rows"]
              if row["backends"] == "3" and row["timed"].startswith("flock")), "flip"],
        ["xlbd, 10,000 nodes probed every 1 s, CPU % of one core",
         cell("agent", 0, "CPU over", "value"), "agent"],
        ["three nodes disagree after a backend goes down / up, ms, median (min-max)",
         "%s / %s" % (sc[0]["nodes differ (ms)"], sc[1]["nodes differ (ms)"]), "scaleout"],
        ["established flow, IPv4 / IPv6, xlb ns / Katran ns (one run)",
         katran_ratio(r, ("est4", "est6")), "katran"],
        ["SYN of a new 5-tuple, IPv4 / IPv6, xlb ns / Katran ns (one run)",
         katran_ratio(r, ("syn4", "syn6")), "katran"],
        ["non-VIP packet, xlb ns / Katran ns (one run)", katran_ratio(r, ("nonvip",)),
         "katran"],
    ]
    return md(["figure", "value", "from", "recorded"],
              [[a, b, "[%s](bench/results/%s.json)" % (c, c), r[c]["date"]] for a, b, c in rows])


RENDER = {
    "summary": r_summary,
    "results": r_results,
    "xdp": r_xdp,
    "xdp_nat": r_xdp_nat,
    "passive": whole("passive", 0),
    "maglev": whole("maglev", 0, title=False),
    "flip": whole("flip", 0),
    "flip_rebuild": whole("flip", 1),
    "agent": whole("agent", 0, title=False),
    "scale": whole("scale", 0, title=False),
    "wire_rate": r_wire_rate,
    "rps": r_rps_of("rps"),
    "rps_nat": r_rps_of("rps_nat"),
    "scaleout": r_scaleout,
    "scaleout_run": r_scaleout_run,
    "discovery": r_discovery,
    "katran": r_katran,
    "batch": whole("batch", 0, title=False),
    "metrics": whole("metrics", 0, title=False),
    "flows": whole("flows", 0),
    "flows_remove": whole("flows", 1),
    "modes": whole("modes", 0),
    "modes_open": whole("modes", 1),
    "modes_memory": whole("modes", 2),
}

REGION = re.compile(r"(<!-- bench:(\w+) begin \(bench/tables\.py\) -->\n)(.*?)(<!-- bench:\2 end -->)",
                    re.S)
KERNELS = re.compile(r"(<!-- kernels: begin \(scripts/vmtest\.sh\) -->\n)(.*?)(<!-- kernels: end -->)",
                     re.S)


def generate(text, r):
    def sub(m):
        if m.group(2) not in RENDER:
            sys.exit("bench/tables.py: unknown region bench:%s" % m.group(2))
        try:
            lines = RENDER[m.group(2)](r)
        except (OSError, KeyError, IndexError, ValueError, AttributeError) as e:
            sys.exit("bench/tables.py: region bench:%s: %s: %s (bench/run.sh measures it)"
                     % (m.group(2), type(e).__name__, e))
        return m.group(1) + "\n".join(lines) + "\n" + m.group(4)

    text = REGION.sub(sub, text)
    kernels = os.path.join(RESULTS, "kernels", "kernels.md")
    if KERNELS.search(text) and os.path.exists(kernels):
        with open(kernels) as f:
            table = f.read()
        text = KERNELS.sub(lambda m: m.group(1) + table.rstrip("\n") + "\n" + m.group(3), text)
    return text


def readme(check):
    r, bad = Results(), 0
    for doc in DOCS:
        path = os.path.join(ROOT, doc)
        with open(path) as f:
            old = f.read()
        new = generate(old, r)
        if new == old:
            continue
        if check:
            bad = 1
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), doc,
                doc + " (from bench/results/*.json)"))
        else:
            with open(path, "w") as f:
                f.write(new)
            print("tables: %s" % doc)
    if bad:
        print("bench/tables.py: figure tables differ from bench/results/*.json; "
              "run bench/tables.py readme (or bench/run.sh to measure again)", file=sys.stderr)
    return bad


def main(argv):
    if len(argv) >= 6 and argv[0] == "record":
        record(*argv[1:7])
        return 0
    if argv == ["readme"]:
        return readme(False)
    if argv == ["check"]:
        return readme(True)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
