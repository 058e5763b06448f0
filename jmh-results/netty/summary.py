#!/usr/bin/env python3
"""Medians of the Netty rows (allocate-release-r*.json, echo.json) and issue 17's targets."""
import glob, json, os, statistics

here = os.path.dirname(os.path.abspath(__file__))
rows = {}
for f in sorted(glob.glob(os.path.join(here, 'allocate-release-r*.json'))):
    for b in json.load(open(f)):
        key = (b['params']['peer'], int(b['params']['size']))
        ns = b['primaryMetric']['score']
        bop = b['secondaryMetrics'].get('gc.alloc.rate.norm', {}).get('score', float('nan'))
        rows.setdefault(key, []).append((ns, bop))
out = ['ByteBuf allocate+release through ByteBufAllocator (ns/op, median of rounds; min-max; B/op)']
med = {}
for (peer, size), vals in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    ns = [v[0] for v in vals]
    m = statistics.median(ns)
    med[(peer, size)] = m
    out.append(f'{peer:15s} {size:6d} B  {m:8.2f}  ({min(ns):.2f}-{max(ns):.2f})  {statistics.median(v[1] for v in vals):6.3f} B/op  n={len(ns)}')
out.append('')
out.append('Targets (issue 17):')
for size in (64, 1024, 16384):
    if ('sheaf', size) in med and ('netty-adaptive', size) in med:
        r = med[('netty-adaptive', size)] / med[('sheaf', size)]
        out.append(f'  >= 2x Netty adaptive at {size} B: {r:.2f}x  {"MET" if r >= 2 else "MISSED"}')
if ('sheaf', 65536) in med and ('netty-adaptive', 65536) in med:
    r = med[('netty-adaptive', 65536)] / med[('sheaf', 65536)]
    out.append(f'  at least level with Netty adaptive at 64 KiB: {r:.2f}x  {"MET" if r >= 1 else "MISSED"}')
echo = os.path.join(here, 'echo.json')
if os.path.exists(echo):
    runs = json.load(open(echo))
    out.append('')
    out.append('Loopback echo (median of rounds): messages/s, p50 and p99 round trip in microseconds')
    groups = {}
    for r in runs:
        groups.setdefault((r['size'], r['window'], r['allocator']), []).append(r)
    for (size, window, alloc), rs in sorted(groups.items()):
        out.append(f'  size {size:6d} window {window:3d} {alloc:15s} {statistics.median(r["messagesPerSecond"] for r in rs):12,.0f} msg/s'
                   f'  p50 {statistics.median(r["p50Micros"] for r in rs):8.1f}  p99 {statistics.median(r["p99Micros"] for r in rs):8.1f}  n={len(rs)}')
    for size in sorted({k[0] for k in groups}):
        for window in sorted({k[1] for k in groups}):
            s = groups.get((size, window, 'sheaf')); p = groups.get((size, window, 'netty-pooled'))
            if s and p:
                a = statistics.median(r['messagesPerSecond'] for r in s); b = statistics.median(r['messagesPerSecond'] for r in p)
                out.append(f'  echo throughput >= Netty pooled, size {size} window {window}: {a / b:.2f}x  {"MET" if a >= b else "MISSED"}')
text = '\n'.join(out) + '\n'
open(os.path.join(here, 'summary.txt'), 'w').write(text)
print(text, end='')
