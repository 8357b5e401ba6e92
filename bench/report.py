#!/usr/bin/env python3
"""Turns the samples bench/run.sh collected into a markdown report.

usage: report.py SAMPLES.tsv DATA_DIR HEADER.md

SAMPLES.tsv lines: file<TAB>tool<TAB>round<TAB>seconds<TAB>peak_rss_kb. Per file and tool it
prints the median time, the fastest time, MB/s and elements/s at the median, and the largest
peak RSS of all rounds; then the issue's targets, each with the ratio measured.
"""

import statistics
import sys
from collections import defaultdict

# Display order and descriptions; bench/run.sh defines the commands.
TOOLS = {
    "redtail-check": "`redtail rdb --check`",
    "redtail-json": "`redtail rdb --format json`",
    "redtail-decode": "decoder only (`decode` example)",
    "rdb-nil": "`rdb -f nil` (rdb crate)",
    "rdb-json": "`rdb -f json` (rdb crate)",
    "redis-check-rdb": "`redis-check-rdb`",
}
RSS_LIMIT_MB = 64
# "at least 3x the rdb crate's JSON, which is about 300 MB/s" (measured when the issue was written)
JSON_MBPS = 300


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            meta[k] = v
    return meta


def main():
    samples_path, data_dir, header_path = sys.argv[1:4]
    samples = defaultdict(list)  # (file, tool) -> [(secs, rss_kb)]
    files = []
    for line in open(samples_path):
        f, tool, _round, secs, rss = line.rstrip("\n").split("\t")
        samples[(f, tool)].append((float(secs), int(rss)))
        if f not in files:
            files.append(f)

    stats = {}  # (file, tool) -> dict
    out = [open(header_path).read().rstrip(), ""]
    out.append("| file | size MB | tool | median s | min s | MB/s | M elements/s | peak RSS MB | runs |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for f in files:
        meta = read_meta(f"{data_dir}/{f}.meta")
        size = int(meta["bytes"])
        elements = int(meta["elements"])
        for tool in TOOLS:
            runs = samples.get((f, tool))
            if not runs:
                continue
            med = statistics.median(s for s, _ in runs)
            best = min(s for s, _ in runs)
            rss = max(r for _, r in runs) / 1024
            st = dict(median=med, mbps=size / 1e6 / med, eps=elements / med, rss=rss)
            stats[(f, tool)] = st
            out.append(
                f"| {f} | {size / 1e6:.0f} | {TOOLS[tool]} | {med:.3f} | {best:.3f} | "
                f"{st['mbps']:.0f} | {st['eps'] / 1e6:.1f} | {rss:.1f} | {len(runs)} |"
            )

    out += ["", "## Targets (issue 2, \"Performance\")", ""]
    out.append("| target | file | measured | result |")
    out.append("|---|---|---|---|")

    def ratio_row(label, f, a, b, need):
        if (f, a) not in stats or (f, b) not in stats:
            return
        r = stats[(f, b)]["median"] / stats[(f, a)]["median"]
        ok = "pass" if r >= need else "**FAIL**"
        out.append(f"| {label} ≥ {need}× | {f} | {r:.2f}× | {ok} |")

    for f in files:
        ratio_row("`--check` vs `rdb -f nil`", f, "redtail-check", "rdb-nil", 1.5)
        ratio_row("`--check` vs redis-check-rdb", f, "redtail-check", "redis-check-rdb", 2.0)
    # The JSON target is set on strings and collections.
    for f in files:
        if f not in ("strings", "collections"):
            continue
        ratio_row("`--format json` vs `rdb -f json`", f, "redtail-json", "rdb-json", 3.0)
        if (f, "redtail-json") in stats:
            m = stats[(f, "redtail-json")]["mbps"]
            ok = "pass" if m >= JSON_MBPS else "**FAIL**"
            out.append(f"| `--format json` ≥ {JSON_MBPS} MB/s | {f} | {m:.0f} MB/s | {ok} |")
    for f in files:
        if f != "bigkeys":
            continue
        for tool in ("redtail-check", "redtail-json"):
            if (f, tool) in stats:
                e = stats[(f, tool)]["eps"] / 1e6
                ok = "pass" if e >= 20 else "**FAIL**"
                out.append(f"| {TOOLS[tool]} ≥ 20M elements/s | {f} | {e:.1f}M/s | {ok} |")
    for f in files:
        for tool in ("redtail-check", "redtail-json"):
            if (f, tool) in stats:
                r = stats[(f, tool)]["rss"]
                ok = "pass" if r < RSS_LIMIT_MB else "**FAIL**"
                out.append(f"| {TOOLS[tool]} peak RSS < {RSS_LIMIT_MB} MB | {f} | {r:.1f} MB | {ok} |")
    if not any(t in ("redtail-check", "redtail-json") for _, t in stats):
        out.append("| (redtail CLI not measured in this run) | | | |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
