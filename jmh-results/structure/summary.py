#!/usr/bin/env python3
"""Medians of the A/A/B rounds written by run.sh: per row, old (A) runs, new (B) runs, the A/A band."""
import glob, json, os, statistics, sys

d = sys.argv[1]
rows = {}
for f in sorted(glob.glob(os.path.join(d, "*.json"))):
    kind = "new" if os.path.basename(f).startswith("new") else "old"
    for r in json.load(open(f)):
        name = r["benchmark"].rsplit(".", 1)[1]
        key = (name, r["params"]["peer"])
        score = r["primaryMetric"]["score"]
        if name == "burst":
            score /= int(r["params"]["burst"])  # ns per object
        rows.setdefault(key, {"old": [], "new": []})[kind].append(score)

print("ns per pair (pair) or per object (burst of 100); A = landed jar, B = this tree")
print("%-6s %-13s %-37s | %-19s %7s %7s %7s" % ("bench", "peer", "A runs", "B runs", "A med", "B med", "B/A"))
for (name, peer), v in sorted(rows.items()):
    a, b = v["old"], v["new"]
    am, bm = statistics.median(a), statistics.median(b)
    band = (max(a) - min(a)) / am * 100 if a else 0
    print("%-6s %-13s %-37s | %-19s %7.2f %7.2f %7.3f  A/A band %.1f%%%s" % (
        name, peer, " ".join("%.2f" % x for x in a), " ".join("%.2f" % x for x in b), am, bm, bm / am, band,
        "" if min(a) <= bm <= max(a) else ("  (B outside A range)")))
