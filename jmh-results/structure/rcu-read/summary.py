#!/usr/bin/env python3
"""Medians of the alternating RcuReadBenchmark runs in this folder: old = landed jar, new = this tree."""
import glob, json, os, statistics

d = os.path.dirname(os.path.abspath(__file__))
rows = {}
for f in sorted(glob.glob(os.path.join(d, "*.json"))):
    v = os.path.basename(f).split("-")[0]
    for r in json.load(open(f)):
        rows.setdefault(r["benchmark"].rsplit(".", 1)[1], {}).setdefault(v, []).append(r["primaryMetric"]["score"])
print("ns per lock+unlock (RcuReadBenchmark); old = landed jar af29859, new = this tree; runs alternate old new old new")
for k, v in sorted(rows.items()):
    print("%-22s old %-12s new %-12s new/old %.3f" % (k, " ".join("%.2f" % x for x in v["old"]),
          " ".join("%.2f" % x for x in v["new"]), statistics.median(v["new"]) / statistics.median(v["old"])))
