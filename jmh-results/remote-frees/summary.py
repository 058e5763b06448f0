#!/usr/bin/env python3
"""Summary of run.sh: per jar, the median over rounds of each harness workload's median (its own
5 interleaved rounds), the range of every round, each Sheaf peer's ratio to the best native peer
(median of per-round ratios), peak reserved MiB; then the JMH pair and bursts with each jar's
ratio to the first jar (median over rounds). Usage: summary.py DIR JAR..."""
import collections, glob, json, os, re, statistics, sys

d = sys.argv[1]
jars = [os.path.basename(j)[:-4].removeprefix('bench-') if j.endswith('.jar') else j for j in sys.argv[2:]]
NATIVES = ('glibc', 'mimalloc', 'tcmalloc')
med = collections.defaultdict(list); spread = collections.defaultdict(list); peak = collections.defaultdict(list)
ratio = collections.defaultdict(list); jmh = collections.defaultdict(list)
for j in jars:
    for run in sorted(glob.glob(f'{d}/{j}-r*')):
        for f in glob.glob(f'{run}/harness/*.json'):
            by = {}
            for r in json.load(open(f))['results']:
                w, p, v = r['workload'], r['peer'], r['opsPerSecond'] / 1e6
                by[(w, p)] = v
                med[(j, w, p)].append(v)
                peak[(j, w, p)].append(r['figures'].get('peakReservedBytes', -1))
                m = re.search(r'Mops/s: ([0-9., ]+)\)', r.get('note', ''))
                spread[(j, w, p)] += [float(x) for x in m.group(1).split(',')] if m else [v]
            for (w, p), v in by.items():
                if p.startswith('sheaf'):
                    nat = {n: by[(w, n)] for n in NATIVES if (w, n) in by}
                    if nat:
                        ratio[(j, w, p, 'best')].append(v / max(nat.values()))
                    for n in ('glibc', 'tcmalloc'):
                        if n in nat:
                            ratio[(j, w, p, n)].append(v / nat[n])
        for kind in ('pair', 'burst'):
            f = f'{run}/{kind}.json'
            if not os.path.exists(f) or os.path.getsize(f) == 0:
                continue
            rows = {}
            for row in json.load(open(f)):
                name = row['benchmark'].split('.')[-1]
                par = row.get('params', {})
                key = name + (f'[{par["burst"]}]' if 'burst' in par else '')
                rows[key] = row['primaryMetric']['score']
            for k, v in rows.items():
                jmh[(j, k)].append(v)

def m(x):
    return statistics.median(x) if x else None

print('Harness (Mops/s: median of the runs\' medians [every round\'s min-max], peak reserved MiB)')
for w in sorted({k[1] for k in med}):
    print(f'\n{w}')
    for p in ('sheaf-cache', 'sheaf-malloc') + NATIVES:
        cells = []
        for j in jars:
            v = med.get((j, w, p))
            if not v:
                continue
            pk = m(peak[(j, w, p)])
            cells.append(f'{j}: {m(v):7.2f} [{min(spread[(j, w, p)]):6.2f}-{max(spread[(j, w, p)]):6.2f}]'
                         f' {pk / 1048576 if pk and pk > 0 else float("nan"):5.1f} MiB')
        print(f'  {p:13s} ' + ' | '.join(cells))
    for p in ('sheaf-cache', 'sheaf-malloc'):
        for j in jars:
            b = ratio.get((j, w, p, 'best'))
            if b:
                print(f'  {p:13s} {j}: x best native {m(b):.2f} (runs {", ".join(f"{x:.2f}" for x in b)}),'
                      f' x glibc {m(ratio[(j, w, p, "glibc")]):.2f}, x tcmalloc {m(ratio[(j, w, p, "tcmalloc")]):.2f}')

print('\nJMH (ns per pair / per burst, median over runs; ratio to ' + jars[0] + ')')
for k in sorted({k[1] for k in jmh}):
    cells = []
    base = m(jmh.get((jars[0], k), []))
    for j in jars:
        v = m(jmh.get((j, k), []))
        if v is None:
            continue
        cells.append(f'{j}: {v:9.2f}' + (f' ({v / base:.3f})' if base and j != jars[0] else ''))
    print(f'  {k:28s} ' + ' | '.join(cells))
