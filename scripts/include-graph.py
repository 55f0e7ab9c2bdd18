#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The folder-level include graph of xlb's product code, checked.

Reads every `#include "..."` (and `#include <xlb/...>`) line under include/, bpf/ and user/, resolves
it as the compiler does (the including file's folder, then -Iinclude,
-Iuser/lib; `*.skel.h` are the generated skeletons), and maps each file to
its folder. Prints one line per folder: the folders it includes, with the
number of include lines. Exits 1 when an include goes to a folder that the
order below does not allow (an upward or sideways arrow), when a folder is
missing from the order, or when an include cannot be resolved; exits 0
otherwise. The order itself is checked: a folder may only name folders
declared before it, so the allowed arrows cannot form a cycle.

    scripts/include-graph.py [-q]     (-q: print only problems)

To add a folder under user/lib/: declare it below, after everything it
includes, and give it a README.md saying what it owns.
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# Lowest first. Each folder may include itself and the folders it names,
# which must all be declared before it.
ORDER = [
    ("abi", []),                        # include/xlb/: shared by BPF and userspace
    ("bpf", ["abi"]),                   # bpf/: the XDP programs
    ("skel", ["bpf"]),                  # generated skeletons of bpf/ (build/include)
    ("base", ["abi"]),                  # user/lib/base/
    ("dataplane", ["abi", "skel", "base"]),
    ("config", ["abi", "base", "dataplane"]),
    ("health", ["abi", "base", "config"]),
    ("discovery", ["abi", "base", "config"]),
    ("agent", ["abi", "skel", "base", "dataplane", "config", "health", "discovery"]),
    ("xlb", ["abi", "skel", "base", "dataplane", "config"]),  # user/xlb/: the CLI (config: id limits)
    ("xlbd", ["abi", "base", "dataplane", "config", "agent"]),  # user/xlbd/
]

# Quoted includes, and the ABI's own <xlb/...> form.
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+(?:"([^"]+)"|<(xlb/[^>]+)>)')
SEARCH = ["include", "user/lib"]


def folder_of(rel):
    """The graph node of a path relative to the root, or None."""
    parts = rel.split("/")
    if parts[0] == "include":
        return "abi"
    if parts[0] == "bpf":
        return "bpf"
    if parts[0] == "user" and len(parts) >= 3:
        if parts[1] == "lib":
            return parts[2] if len(parts) >= 4 else "lib"
        return parts[1]
    return None


def sources():
    for top in ("include", "bpf", "user"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), ROOT)


def resolve(rel, name):
    here = os.path.dirname(rel)
    for d in [here] + SEARCH:
        cand = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(ROOT, cand)):
            return cand
    return None


def main():
    quiet = "-q" in sys.argv[1:]
    problems = []
    allowed = {}
    for name, deps in ORDER:
        for d in deps:
            if d not in allowed:
                problems.append(f"order: {name} names {d}, which is not declared before it")
        allowed[name] = set(deps)

    edges = {}
    for rel in sources():
        src = folder_of(rel)
        if src not in allowed:
            problems.append(f"{rel}: folder '{src}' is not in the declared order "
                            f"(scripts/include-graph.py)")
            continue
        with open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                name = m.group(1) or m.group(2)
                if name.endswith(".skel.h"):
                    dst = "skel"
                else:
                    target = resolve(rel, name)
                    if target is None:
                        problems.append(f"{rel}:{lineno}: cannot resolve \"{name}\"")
                        continue
                    dst = folder_of(target)
                if dst == src:
                    continue
                edges.setdefault(src, {}).setdefault(dst, 0)
                edges[src][dst] += 1
                if dst not in allowed[src]:
                    problems.append(f"{rel}:{lineno}: {src} -> {dst} goes against the "
                                    f"declared order (\"{name}\")")

    if not quiet:
        for name, _ in ORDER:
            out = edges.get(name, {})
            arrows = " ".join(f"{d}({n})" for d, n in sorted(out.items()))
            print(f"{name:10} -> {arrows}" if arrows else f"{name:10}")
    for p in problems:
        print(f"include-graph: {p}", file=sys.stderr)
    if problems:
        print(f"include-graph: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
