#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Collect the markdown tables of a benchmark run into JSON.

    python3 bench/tables.py RESULTS.md [EXTRA.json ...] > RESULTS.json

Every markdown table (a header row, a |---| row, data rows) becomes
{"title": the last non-table line before it, "rows": [{header: cell}]};
numbers stay numbers. EXTRA files (the JSON some benchmarks write
themselves) are included under their file names.
"""
import json
import os
import re
import sys

NUM = re.compile(r"^-?\d+(\.\d+)?$")


def cell(text):
    text = text.strip()
    return float(text) if NUM.match(text) else text


def tables(lines):
    out, title, i = [], "", 0
    while i < len(lines):
        line = lines[i].rstrip("\n")
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("|") and re.match(r"^\|[\s:|-]+\|\s*$", nxt):
            head = [h.strip() for h in line.strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [cell(c) for c in lines[i].rstrip("\n").strip("|").split("|")]
                rows.append(dict(zip(head, cells)))
                i += 1
            out.append({"title": title, "rows": rows})
            continue
        if line.strip():
            title = line.strip()
        i += 1
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        doc = {"tables": tables(f.readlines())}
    for extra in sys.argv[2:]:
        if os.path.exists(extra):
            with open(extra) as f:
                doc[os.path.basename(extra)] = json.load(f)
    json.dump(doc, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
