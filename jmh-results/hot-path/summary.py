#!/usr/bin/env python3
"""Medians (and min-max) over the rounds of run.sh, with the ratios issue 14's targets are stated in."""
import glob, json, os, statistics, sys
from collections import defaultdict

d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
scores, norms = defaultdict(list), defaultdict(list)
for f in sorted(glob.glob(os.path.join(d, '*-r[0-9]*.json'))):
    try:
        rows = json.load(open(f))
    except ValueError:
        print(f'skipped {os.path.basename(f)}: not complete JSON (a run still writing it?)')
        continue
    for row in rows:
        name = row['benchmark'].split('.')[-2] + '.' + row['benchmark'].split('.')[-1]
        params = row.get('params') or {}
        key = name + ''.join(f' {k}={v}' for k, v in sorted(params.items()))
        s = row['primaryMetric']['score']
        if 'burst' in params and 'HotBurst' in name:
            s /= int(params['burst'])
        scores[key].append(s)
        g = (row.get('secondaryMetrics') or {}).get('gc.alloc.rate.norm')
        if g:
            norms[key].append(g['score'] / (int(params['burst']) if 'burst' in params and 'HotBurst' in name else 1))

med = {k: statistics.median(v) for k, v in scores.items()}
print(f"{'row':70s} {'median ns':>10s} {'min':>8s} {'max':>8s} {'B/op':>8s} n")
for k in sorted(med):
    v = scores[k]
    b = statistics.median(norms[k]) if norms.get(k) else float('nan')
    print(f"{k:70s} {med[k]:10.2f} {min(v):8.2f} {max(v):8.2f} {b:8.3f} {len(v)}")

def get(prefix):
    for k in med:
        if k == prefix or k.startswith(prefix + ' '):
            if k == prefix or all(p in k for p in prefix.split()):
                return med[k]
    return None

def ratio(label, a, b, limit, op='<='):
    if a is None or b is None:
        print(f"  (n/a) {label}")
        return
    r = a / b
    ok = r <= limit
    print(f"  {'MET   ' if ok else 'MISSED'} {label}: {a:.2f} / {b:.2f} = {r:.3f} (target {op} {limit:.3f})")

print("\nTargets (medians):")
glibc = med.get('HotPathBenchmark.glibcPair')
ratio('SlabCache.Local pair vs direct glibc', med.get('HotPathBenchmark.localCachePair'), glibc, 0.35)
ratio('SlabCache pair vs direct glibc', med.get('HotPathBenchmark.cachePair'), glibc, 0.6)
ratio('factory-thread SlabCache pair vs direct glibc', med.get('FactoryThreadBenchmark.cachePair'), glibc, 0.4)
ratio('SlabAllocator.Local malloc+free vs direct glibc', med.get('HotPathBenchmark.localMallocPair'), glibc, 0.5)
ratio('SlabAllocator malloc+free vs direct glibc (info)', med.get('HotPathBenchmark.mallocPair'), glibc, 1.0)
for drain in ('caller', 'sustained'):
    call = med.get(f'FreeRcuBenchmark.freeRcu drain={drain} path=call')
    for path, lim in (('local-sheaf', .25), ('local-malloc', .25), ('default', .5), ('headless', 1.0), ('sheaf', 1.0)):
        ratio(f'freeRcu {path} vs rcu.call(free), drain={drain}',
              med.get(f'FreeRcuBenchmark.freeRcu drain={drain} path={path}'), call, lim)
for burst in (100, 400, 1000, 1600):
    c = med.get(f'HotBurstBenchmark.cache burst={burst}')
    m = med.get(f'HotBurstBenchmark.malloc burst={burst}')
    for p in ('glibc', 'mimalloc', 'tcmalloc'):
        n = med.get(f'HotBurstBenchmark.{p} burst={burst}')
        ratio(f'SlabCache burst {burst} vs {p} (1.1x faster)', c, n, 1 / 1.1)
        ratio(f'malloc burst {burst} vs {p} (level)', m, n, 1.0)
st = med.get('RcuReadBenchmark.stampedLockOptimistic')
for row, lim in (('ebrImplicit', 3), ('membImplicit', 3), ('ebrHandle', 2), ('membHandle', 2), ('qsbrImplicit', 1.5),
                 ('qsbrHandle', 1.5)):
    ratio(f'{row} vs StampedLock optimistic', med.get(f'RcuReadBenchmark.{row}'), st, lim)
for k in sorted(norms):
    if ('Pair' in k or 'freeRcu' in k) and statistics.median(norms[k]) > 0.01:
        print(f"  MISSED gc.alloc.rate.norm <= 0.01 B/op: {k} {statistics.median(norms[k]):.4f}")
