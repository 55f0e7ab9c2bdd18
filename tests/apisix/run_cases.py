#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""APISIX compatibility of xlbd's Admin API, measured (stdlib only).

Sends every case of tests/apisix/cases.json (one Admin API request each,
written from APISIX's schema and its Admin API tests) to a live xlbd and
compares the answer with APISIX's: the status, and for an error the
meaning of APISIX's message (a regular expression over "error_msg"). A case
marked "l4_refusal" is a key xlb refuses on purpose at L4: there xlbd must
answer 400 with a message matching the refusal's regex. Every error must be
a JSON object carrying "error_msg" (or "message", as APISIX's "Key not
found") that names the field as the client sent it, not as a path into
xlbd's running configuration (upstreams[N]...).

A case: "id"; "method", "path" (below the agent; {KEY} is the API key),
"body" (any JSON value) or "raw" (text sent as is), "api_key" (null: none,
a string: that key; absent: the right one); "status", APISIX's; "error",
a regex for APISIX's message; for a 2xx answer "expect" (a JSON subset at
each dotted path), "expect_equal" (equal values), "expect_len" (array
lengths), "expect_match" (regex over the value), "expect_keys" (paths that
must exist), "expect_absent" (paths that must not); "l4_refusal" (why xlb
refuses it) with "l4_error" (the regex xlbd's 400 must match); "setup",
requests sent first; "source", the APISIX file and test block or line the
fact comes from.

Before each case the objects are all deleted and the case's "setup"
requests are sent (their answers are not judged). Prints one line per
mismatch and "N cases, M match, K mismatch"; exit 1 on any mismatch.

    run_cases.py [--cases FILE] [--only REGEX] [-v]
        build the reference topology (scripts/topology.sh, one backend),
        start build/xlbd (XLBD) in its lb namespace, run the cases there,
        stop xlbd and tear the topology down. Root; run it under the e2e
        lock: flock /tmp/xlb-e2e.lock python3 tests/apisix/run_cases.py
    run_cases.py --etcd [--only REGEX] ...
        the same with the objects in etcd (started in the lb namespace,
        APISIX's layout under /apisix): createdIndex and modifiedIndex are
        etcd's revisions, and every write is given 0.3 s to come back
        through the watch before the next request.
    run_cases.py --url http://127.0.0.1:9180 --key KEY [--cases FILE] ...
        run the cases against an xlbd that is already running.
"""
import argparse, http.client, json, os, re, shutil, signal, subprocess, sys, time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "xlbt-apisix-cases-key"
ETCD_URL = "http://127.0.0.1:23791"
# With etcd, how long a write takes to come back through the watch.
SETTLE = {"s": 0.0}
# Error text that names xlbd's running configuration instead of the body.
CONF_PATH = re.compile(r"\b(upstreams|stream_routes)\[\d+\]")


def request(url, key, method, path, body=None, raw=None):
    """One request; (status, parsed JSON or None, raw text)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
    headers = {"X-API-KEY": key} if key is not None else {}
    data = None
    if raw is not None:
        data = raw.encode()
    elif body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        status = r.status
    except (OSError, http.client.HTTPException) as e:
        return 0, None, "no answer: %s" % e
    finally:
        conn.close()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    return status, doc, text


def reset(url, key):
    """Delete every stream route, then every upstream."""
    for kind in ("stream_routes", "upstreams"):
        st, doc, _ = request(url, key, "GET", "/apisix/admin/" + kind)
        if st != 200 or not isinstance(doc, dict):
            continue
        for item in doc.get("list") or []:
            k = item.get("key", "") if isinstance(item, dict) else ""
            oid = k.rsplit("/", 1)[-1]
            if oid:
                request(url, key, "DELETE", "/apisix/admin/%s/%s" % (kind, oid))
                time.sleep(SETTLE["s"])


def lookup(doc, path):
    """The value at a dotted path ("list.0.value.id"), or KeyError."""
    cur = doc
    for part in path.split("."):
        if isinstance(cur, list):
            cur = cur[int(part)]
        elif isinstance(cur, dict):
            cur = cur[part]
        else:
            raise KeyError(part)
    return cur


def subset(want, got):
    """want is contained in got (objects by key, arrays item by item)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(
            k in got and subset(v, got[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and all(
            subset(w, g) for w, g in zip(want, got))
    return want == got and type(want) is type(got)


MISSING = object()
# Checks of a 2xx answer: case field -> (test(wanted, value), what differs).
ANSWER_CHECKS = {
    "expect": (subset, "%(k)s is %(got)s, APISIX %(want)s"),
    "expect_equal": (lambda w, g: w == g, "%(k)s is %(got)s, APISIX %(want)s"),
    "expect_len": (lambda w, g: isinstance(g, list) and len(g) == w,
                   "%(k)s has %(got)s, APISIX %(want)s items"),
    "expect_match": (lambda w, g: re.search(w, str(g)), "%(k)s is %(got)s, APISIX /%(want)s/"),
}


def at(doc, path):
    """The value at a dotted path ("list.0.value.id"), or MISSING."""
    try:
        return lookup(doc, path)
    except (KeyError, IndexError, ValueError, TypeError):
        return MISSING


def judge_answer(case, doc):
    """The differences in a 2xx answer's content."""
    bad = []
    for field, (test, why) in ANSWER_CHECKS.items():
        for k, want in (case.get(field) or {}).items():
            got = at(doc, k)
            if got is MISSING:
                bad.append("answer lacks %s" % k)
            elif not test(want, got):
                if field == "expect_len" and isinstance(got, list):
                    got = len(got)
                bad.append(why % {"k": k, "got": json.dumps(got)[:60],
                                  "want": json.dumps(want)[:60]})
    bad += ["answer lacks %s" % k for k in case.get("expect_keys") or [] if at(doc, k) is MISSING]
    bad += ["answer has %s, APISIX none" % k for k in case.get("expect_absent") or []
            if at(doc, k) is not MISSING]
    return bad


def judge(case, status, doc, text):
    """The list of differences between the answer and APISIX's."""
    bad = []
    refusal = case.get("l4_refusal")
    want_status = 400 if refusal else case["status"]
    want_error = case.get("l4_error") if refusal else case.get("error")
    if status != want_status:
        bad.append("status %d, APISIX %d%s" % (
            status, case["status"], " (L4 refusal: 400)" if refusal else ""))
    if status >= 400:
        msg = None
        if isinstance(doc, dict):
            msg = doc.get("error_msg", doc.get("message"))
        if not isinstance(msg, str):
            bad.append("error is not JSON with error_msg: %r" % text[:80])
        else:
            if CONF_PATH.search(msg):
                bad.append("error names the running configuration: %r" % msg[:100])
            if want_error and want_status == status and not re.search(want_error, msg, re.I):
                bad.append("error %r does not say /%s/" % (msg[:120], want_error))
    elif status == want_status:
        bad += judge_answer(case, doc)
    return bad


def run_cases(url, key, cases, verbose):
    n = match = 0
    for case in cases:
        n += 1
        reset(url, key)
        for s in case.get("setup") or []:
            st, _, text = request(url, key, s["method"], s["path"], s.get("body"), s.get("raw"))
            if verbose:
                print("  setup %s %s -> %d %s" % (s["method"], s["path"], st, text[:100]))
            time.sleep(max(s.get("sleep", 0), SETTLE["s"]))
        ckey = case["api_key"] if "api_key" in case else key
        status, doc, text = request(url, ckey, case["method"],
                                    case["path"].replace("{KEY}", key),
                                    case.get("body"), case.get("raw"))
        time.sleep(SETTLE["s"])  # the next reset must see what this one wrote
        bad = judge(case, status, doc, text)
        if verbose:
            print("  %s %s %s -> %d %s" % (case["id"], case["method"], case["path"],
                                          status, text[:160]))
        if bad:
            print("MISMATCH %s (%s %s; %s): %s" % (case["id"], case["method"], case["path"],
                                                   case["source"], "; ".join(bad)))
        else:
            match += 1
    reset(url, key)
    print("%d cases, %d match, %d mismatch" % (n, match, n - match))
    return 0 if match == n else 1


def load_cases(path, only):
    with open(path) as f:
        doc = json.load(f)
    cases = doc["cases"]
    seen = set()
    for c in cases:
        for k in ("id", "method", "path", "status", "source"):
            if k not in c:
                sys.exit("%s: case %s lacks %s" % (path, c.get("id", "?"), k))
        if c["id"] in seen:
            sys.exit("%s: case %s twice" % (path, c["id"]))
        if c.get("l4_refusal") and not c.get("l4_error"):
            sys.exit("%s: case %s: l4_refusal without l4_error" % (path, c["id"]))
        seen.add(c["id"])
    if only:
        cases = [c for c in cases if re.search(only, c["id"])]
    return cases


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True).stdout


def stop(proc, log):
    """SIGTERM to a process we started (SIGKILL after 5 s), and close its log."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if log:
        log.close()


def run_live(args, cases):
    """Topology up, xlbd in the lb namespace, the cases run inside it."""
    if os.geteuid() != 0:
        print("# SKIP needs root (network namespaces, XDP)")
        return 77
    xlbd = os.environ.get("XLBD", os.path.join(ROOT, "build", "xlbd"))
    if not os.access(xlbd, os.X_OK):
        print("# SKIP no %s (make first)" % xlbd)
        return 77
    if args.etcd and not shutil.which("etcd"):
        print("# SKIP --etcd: no etcd on PATH")
        return 77
    topo = os.path.join(ROOT, "scripts", "topology.sh")
    tid = str(os.getpid() % 100000)
    ns, run_dir = "xlbt-%s-lb" % tid, "/run/xlbt-%s" % tid
    pin = "%s/bpf/lb" % run_dir
    proc = etcd = None
    log = etcd_log = None
    try:
        out = subprocess.run(["bash", topo, "up", tid, "1"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        if out.returncode:
            print(out.stdout)
            print("topology %s did not come up" % tid)
            return 1
        dev = sh("bash", "-c", '. "$1"; XLBT_ID=$2; xlbt_dev lb', "_", topo, tid).strip()
        os.makedirs(run_dir + "/tmp", exist_ok=True)
        conf = run_dir + "/tmp/apisix-cases.yaml"
        objects = "upstreams: []\nstream_routes: []\n"
        if args.etcd:
            etcd_log = open(run_dir + "/tmp/etcd.log", "w")
            etcd = subprocess.Popen(
                ["ip", "netns", "exec", ns, "etcd", "--name", "xlbt-cases",
                 "--data-dir", run_dir + "/tmp/etcd", "--listen-client-urls", ETCD_URL,
                 "--advertise-client-urls", ETCD_URL,
                 "--listen-peer-urls", "http://127.0.0.1:23891",
                 "--initial-advertise-peer-urls", "http://127.0.0.1:23891",
                 "--initial-cluster", "xlbt-cases=http://127.0.0.1:23891"],
                stdout=etcd_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            for _ in range(150):
                r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sf", "--max-time",
                                    "1", "-o", "/dev/null", ETCD_URL + "/health"])
                if r.returncode == 0:
                    break
                time.sleep(0.1)
            else:
                print("etcd did not come up")
                return 1
            objects = ("deployment:\n  role: traditional\n"
                       "  etcd: {host: [\"%s\"], prefix: /apisix, timeout: 5}\n" % ETCD_URL)
        with open(conf, "w") as f:
            f.write("xlb:\n  interfaces: [%s]\n  encap_src: 198.18.128.0/24\n"
                    "  admin: {listen: \"127.0.0.1:9180\", api_key: %s}\n"
                    "  log_level: warn\n%s" % (dev, KEY, objects))
        log = open(run_dir + "/tmp/xlbd.log", "w")
        env = dict(os.environ, XLB_PIN_DIR=pin)
        proc = subprocess.Popen(["ip", "netns", "exec", ns, xlbd, "-c", conf],
                                stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
        url = "http://127.0.0.1:9180"
        for _ in range(100):
            if proc.poll() is not None:
                break
            r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sf", "--max-time", "1",
                                "-o", "/dev/null", url + "/metrics"])
            if r.returncode == 0:
                break
            time.sleep(0.1)
        else:
            print("xlbd did not come up")
            return 1
        if proc.poll() is not None:
            log.flush()
            print(open(run_dir + "/tmp/xlbd.log").read()[-2000:])
            print("xlbd exited: %d" % proc.returncode)
            return 1
        inner = [sys.executable, os.path.abspath(__file__), "--url", url, "--key", KEY,
                 "--cases", args.cases]
        if args.only:
            inner += ["--only", args.only]
        if args.verbose:
            inner.append("-v")
        if args.etcd:
            inner += ["--settle", "0.3"]
        return subprocess.run(["ip", "netns", "exec", ns] + inner).returncode
    finally:
        stop(proc, log)
        stop(etcd, etcd_log)
        subprocess.run(["bash", topo, "down", tid], stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default=os.path.join(ROOT, "tests", "apisix", "cases.json"))
    p.add_argument("--url", help="an xlbd already running (its Admin API)")
    p.add_argument("--key", default=KEY, help="its X-API-KEY")
    p.add_argument("--only", help="run the cases whose id matches this regex")
    p.add_argument("-v", "--verbose", action="store_true", help="print every answer")
    p.add_argument("--etcd", action="store_true", help="the objects in etcd (its own one)")
    p.add_argument("--settle", type=float, default=0.0,
                   help="seconds after each write (with --url: an xlbd on etcd)")
    args = p.parse_args()
    SETTLE["s"] = args.settle
    args.cases = os.path.abspath(args.cases)
    cases = load_cases(args.cases, args.only)
    if args.url:
        return run_cases(args.url, args.key, cases, args.verbose)
    return run_live(args, cases)


if __name__ == "__main__":
    sys.exit(main())
