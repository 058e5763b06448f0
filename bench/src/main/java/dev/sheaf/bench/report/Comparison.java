package dev.sheaf.bench.report;

import dev.sheaf.bench.harness.LatencyUnderFloodWorkload;
import dev.sheaf.bench.harness.WorkloadResult;
import dev.sheaf.bench.peer.Peers;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import org.HdrHistogram.Histogram;

/**
 * Everything one comparison run measured, and its rendering as text tables (console and
 * Markdown) with Sheaf-versus-peer ratios and the issues' targets checked.
 */
public final class Comparison {

    /** One column of the main table. */
    record Column(String title, boolean higherIsBetter, Function<String, Double> value) {
    }

    /** JMH benchmarks that run per peer. */
    private static final Set<String> PEER_BENCHMARKS = Set.of("pair", "burst", "pc");
    /** Harness peer workloads with a throughput figure, in table order (the latency workload is apart). */
    static final List<String> THROUGHPUT_WORKLOADS = List.of("larson", "larson-fresh", "xmalloc",
            "producer-consumer", "cache-scratch", "cache-thrash", "thread-churn");
    /** Harness results that are Sheaf experiments rather than per-peer workloads. */
    private static final Set<String> EXPERIMENTS = Set.of("rcuscale", "offheap-cache");

    private final Environment environment;
    private final String command;
    private final String profile;
    private final List<JmhRow> jmh;
    private final List<WorkloadResult> harness;
    private final List<String> notes;

    public Comparison(Environment environment, String command, String profile, List<JmhRow> jmh,
                      List<WorkloadResult> harness, List<String> notes) {
        this.environment = environment;
        this.command = command;
        this.profile = profile;
        this.jmh = jmh;
        this.harness = harness;
        this.notes = notes;
    }

    public Environment environment() {
        return environment;
    }

    public List<JmhRow> jmh() {
        return jmh;
    }

    public List<WorkloadResult> harness() {
        return harness;
    }

    /** The NettyAllocatorBenchmark rows by size, each with its ratio to Netty adaptive at that size. */
    List<List<String>> nettyAllocatorTable() {
        List<List<String>> t = new ArrayList<>();
        t.add(List.of("size", "allocator", "ns/op", "B/op", "x adaptive"));
        for (JmhRow r : nettyAllocatorRows()) {
            Double adaptive = jmhNanos(r.benchmark(), "netty-adaptive");
            t.add(List.of(r.benchmark().substring(JmhRow.NETTY_ALLOC.length()) + " B", r.peer(), format(r.nanos()),
                    Double.isNaN(r.bytesPerOp()) ? "-" : format(r.bytesPerOp()),
                    adaptive == null ? "-" : format(adaptive / r.nanos()) + "x"));
        }
        return t;
    }

    /** The NettyAllocatorBenchmark rows, smallest size first. */
    public List<JmhRow> nettyAllocatorRows() {
        return jmh.stream().filter(r -> r.benchmark().startsWith(JmhRow.NETTY_ALLOC))
                .sorted(java.util.Comparator.comparingInt(
                        (JmhRow r) -> Integer.parseInt(r.benchmark().substring(JmhRow.NETTY_ALLOC.length()))))
                .toList();
    }

    /** Peers that have at least one figure: registry order first, then user-supplied peers. */
    public List<String> peers() {
        Set<String> seen = new LinkedHashSet<>();
        for (JmhRow r : jmh) {
            if (PEER_BENCHMARKS.contains(r.benchmark())) {
                seen.add(r.peer());
            }
        }
        for (WorkloadResult r : harness) {
            if (!EXPERIMENTS.contains(r.workload()) && !r.peer().equals(LatencyUnderFloodWorkload.floorName())) {
                seen.add(r.peer());
            }
        }
        List<String> ordered = new ArrayList<>();
        for (String p : Peers.ALL) {
            if (seen.remove(p)) {
                ordered.add(p);
            }
        }
        ordered.addAll(seen);
        return ordered;
    }

    /** The JMH figure (ns per object) of a benchmark for a peer; bursts use the 1000-object burst when present. */
    public Double jmhNanos(String benchmark, String peer) {
        JmhRow best = null;
        for (JmhRow r : jmh) {
            if (r.benchmark().equals(benchmark) && r.peer().equals(peer)) {
                if (best == null || r.burst() == 1000) {
                    best = r;
                }
            }
        }
        return best == null ? null : best.nanosPerObject();
    }

    public Double jmhBytes(String benchmark, String peer) {
        for (JmhRow r : jmh) {
            if (r.benchmark().equals(benchmark) && r.peer().equals(peer) && !Double.isNaN(r.bytesPerOp())) {
                return r.bytesPerOp();
            }
        }
        return null;
    }

    public WorkloadResult harness(String workload, String peer) {
        for (WorkloadResult r : harness) {
            if (r.workload().equals(workload) && r.peer().equals(peer)) {
                return r;
            }
        }
        return null;
    }

    private Double mops(String workload, String peer) {
        WorkloadResult r = harness(workload, peer);
        return r == null ? null : r.opsPerSecond() / 1e6;
    }

    private Double allocP9999(String peer) {
        WorkloadResult r = harness("latency", peer);
        Histogram h = r == null ? null : r.histograms().get("alloc");
        return h == null ? null : h.getValueAtPercentile(99.99) / 1000.0;
    }

    List<Column> columns() {
        return List.of(
                new Column("pair ns", false, p -> jmhNanos("pair", p)),
                new Column("burst ns/obj", false, p -> jmhNanos("burst", p)),
                new Column("prod/cons ns/obj", false, p -> jmhNanos("pc", p)),
                new Column("larson Mops/s", true, p -> mops("larson", p)),
                new Column("larson-fresh Mops/s", true, p -> mops("larson-fresh", p)),
                new Column("xmalloc Mops/s", true, p -> mops("xmalloc", p)),
                new Column("prod/cons Mops/s", true, p -> mops("producer-consumer", p)),
                new Column("scratch Mops/s", true, p -> mops("cache-scratch", p)),
                new Column("thrash Mops/s", true, p -> mops("cache-thrash", p)),
                new Column("churn Mops/s", true, p -> mops("thread-churn", p)),
                new Column("alloc p99.99 us", false, this::allocP9999));
    }

    /** The best Sheaf value of a column (Sheaf's two peers: SlabCache and SlabAllocator). */
    private Double sheafBest(Column c) {
        Double best = null;
        for (String p : peers()) {
            if (Peers.isSheaf(p)) {
                Double v = c.value().apply(p);
                if (v != null && (best == null || (c.higherIsBetter() ? v > best : v < best))) {
                    best = v;
                }
            }
        }
        return best;
    }

    /** How many times better the best Sheaf row is than {@code peer} in column {@code c}; null when unknown. */
    Double advantage(Column c, String peer) {
        Double s = sheafBest(c);
        Double v = c.value().apply(peer);
        if (s == null || v == null || s == 0 || v == 0) {
            return null;
        }
        return c.higherIsBetter() ? s / v : v / s;
    }

    /** Rows of strings: header first. {@code ratios} adds "(Nx)" = how many times Sheaf's best beats the peer. */
    List<List<String>> mainTable() {
        List<List<String>> rows = new ArrayList<>();
        List<Column> cols = columns();
        List<String> header = new ArrayList<>();
        header.add("peer");
        for (Column c : cols) {
            header.add(c.title());
        }
        header.add("B/op (pair)");
        rows.add(header);
        for (String p : peers()) {
            List<String> row = new ArrayList<>();
            row.add(p);
            for (Column c : cols) {
                Double v = c.value().apply(p);
                String cell = v == null ? "-" : format(v);
                if (v != null && !Peers.isSheaf(p)) {
                    Double a = advantage(c, p);
                    if (a != null) {
                        cell += String.format(Locale.ROOT, " (%.1fx)", a);
                    }
                }
                row.add(cell);
            }
            Double b = jmhBytes("pair", p);
            row.add(b == null ? "-" : String.format(Locale.ROOT, "%.1f", b));
            rows.add(row);
        }
        return rows;
    }

    /** Latency percentiles of the latency workload, alloc and free, in microseconds. */
    List<List<String>> latencyTable() {
        List<List<String>> rows = new ArrayList<>();
        // "cpu wait ms": how long the latency thread was runnable but had no CPU (other processes); "-" if unknown
        rows.add(List.of("peer", "op", "flood", "p50", "p99", "p99.9", "p99.99", "max", "samples", "cpu wait ms"));
        for (WorkloadResult r : harness) {
            if (!r.workload().equals("latency")) {
                continue;
            }
            Double waited = r.figures().get("latencyThreadWaitedMs");
            String wait = waited == null ? "-" : String.format(Locale.ROOT, "%.1f", waited);
            for (var e : r.histograms().entrySet()) {
                Histogram h = e.getValue();
                String flood = r.note().substring(r.note().lastIndexOf("doing ") + 6);
                rows.add(List.of(r.peer(), e.getKey(), flood, us(h.getValueAtPercentile(50)),
                        us(h.getValueAtPercentile(99)), us(h.getValueAtPercentile(99.9)),
                        us(h.getValueAtPercentile(99.99)), us(h.getMaxValue()), String.valueOf(h.getTotalCount()), wait));
            }
        }
        return rows;
    }

    /**
     * The harness throughput workloads' spread: per peer and workload, the median round's Mops/s with
     * the slowest and fastest round, {@code "12.3 (11.0-13.1)"}, and the rounds per cell in the header;
     * empty when no result has rounds.
     */
    List<List<String>> roundsTable() {
        return perWorkloadTable("peer \\ Mops/s: median (min-max)", r -> {
            Double min = r.figures().get(WorkloadResult.MIN_MOPS);
            Double max = r.figures().get(WorkloadResult.MAX_MOPS);
            String median = format(r.opsPerSecond() / 1e6);
            return min == null || max == null ? median : median + " (" + format(min) + "-" + format(max) + ")";
        });
    }

    /**
     * Peak reserved bytes of each peer in the median round of each harness workload, in MiB;
     * {@code n/a} where the peer does not expose it. Empty when no result carries the figure.
     */
    List<List<String>> peakReservedTable() {
        return perWorkloadTable("peer \\ peak reserved (MiB)", r -> {
            Double b = r.figures().get(WorkloadResult.PEAK_RESERVED_BYTES);
            return b == null || b < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", b / (1024.0 * 1024));
        });
    }

    /** Rows of peers, a column per throughput workload that ran in rounds (header: its round count). */
    private List<List<String>> perWorkloadTable(String corner, Function<WorkloadResult, String> cell) {
        List<String> workloads = new ArrayList<>();
        List<String> header = new ArrayList<>();
        header.add(corner);
        for (String w : THROUGHPUT_WORKLOADS) {
            for (WorkloadResult r : harness) {
                Double rounds = r.figures().get(WorkloadResult.ROUNDS);
                if (r.workload().equals(w) && rounds != null) {
                    workloads.add(w);
                    header.add(w + " (" + rounds.intValue() + " rounds)");
                    break;
                }
            }
        }
        List<List<String>> rows = new ArrayList<>();
        if (workloads.isEmpty()) {
            return rows;
        }
        rows.add(header);
        for (String p : peers()) {
            List<String> row = new ArrayList<>();
            row.add(p);
            for (String w : workloads) {
                WorkloadResult r = harness(w, p);
                row.add(r == null ? "-" : cell.apply(r));
            }
            rows.add(row);
        }
        return rows;
    }

    /** JMH burst sizes, when the run had more than one. */
    List<List<String>> burstTable() {
        Set<Integer> sizes = new java.util.TreeSet<>();
        for (JmhRow r : jmh) {
            if (r.benchmark().equals("burst")) {
                sizes.add(r.burst());
            }
        }
        List<List<String>> rows = new ArrayList<>();
        if (sizes.size() < 2) {
            return rows;
        }
        List<String> header = new ArrayList<>();
        header.add("peer \\ burst (ns/obj)");
        for (int s : sizes) {
            header.add(String.valueOf(s));
        }
        rows.add(header);
        for (String p : peers()) {
            List<String> row = new ArrayList<>();
            row.add(p);
            for (int s : sizes) {
                String cell = "-";
                for (JmhRow r : jmh) {
                    if (r.benchmark().equals("burst") && r.peer().equals(p) && r.burst() == s) {
                        cell = format(r.nanosPerObject());
                    }
                }
                row.add(cell);
            }
            rows.add(row);
        }
        return rows;
    }

    /** Rows of other harness experiments (rcuscale, off-heap cache): workload, peer, Mops/s, figures, note. */
    List<List<String>> experimentTable() {
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("experiment", "variant", "Mops/s", "figures", "note"));
        for (WorkloadResult r : harness) {
            if (!EXPERIMENTS.contains(r.workload())) {
                continue;
            }
            StringBuilder f = new StringBuilder();
            for (var e : r.figures().entrySet()) {
                if (!f.isEmpty()) {
                    f.append(", ");
                }
                f.append(e.getKey()).append('=').append(format(e.getValue()));
            }
            for (var e : r.histograms().entrySet()) {
                f.append(f.isEmpty() ? "" : ", ").append(e.getKey()).append(" p99=")
                        .append(us(e.getValue().getValueAtPercentile(99))).append("us");
            }
            rows.add(List.of(r.workload(), r.peer(), format(r.opsPerSecond() / 1e6), f.toString(), r.note()));
        }
        return rows.size() > 1 ? rows : List.of();
    }

    /** Targets from issues 3, 4 and 5 that this run can check: one line each, MET or MISSED with the figure. */
    public List<String> targets() {
        List<String> t = new ArrayList<>();
        for (String s : List.of(Peers.SHEAF_CACHE, Peers.SHEAF_MALLOC)) {
            Double pair = jmhNanos("pair", s);
            Double glibc = jmhNanos("pair", "glibc");
            if (pair != null) {
                t.add(check(pair <= 5, s + " single-thread pair <= 5 ns: " + format(pair) + " ns"));
                if (glibc != null) {
                    t.add(check(glibc / pair >= 4, s + " pair >= 4x faster than glibc via FFM: "
                            + String.format(Locale.ROOT, "%.2fx", glibc / pair)));
                }
            }
            for (String b : List.of("burst", "pc")) {
                Double v = jmhNanos(b, s);
                Double netty = jmhNanos(b, "netty-pooled");
                if (v != null && netty != null) {
                    t.add(check(netty / v >= 2, s + " " + (b.equals("pc") ? "producer/consumer" : "burst")
                            + " >= 2x faster than netty-pooled: " + String.format(Locale.ROOT, "%.2fx", netty / v)));
                }
            }
            Double bytes = jmhBytes("pair", s);
            if (bytes != null) {
                t.add(check(bytes < 0.1, s + " pair 0 B/op: " + String.format(Locale.ROOT, "%.3f", bytes) + " B/op"));
            }
        }
        List<Column> cols = columns();
        for (Column c : cols) {
            if (c.title().startsWith("alloc p99")) {
                continue;
            }
            Double worst = null;
            String worstPeer = null;
            for (String p : peers()) {
                if (!Peers.isSheaf(p)) {
                    Double a = advantage(c, p);
                    if (a != null && (worst == null || a < worst)) {
                        worst = a;
                        worstPeer = p;
                    }
                }
            }
            if (worst != null) {
                t.add(check(worst >= 1, "Sheaf leads every peer on " + c.title() + ": closest is " + worstPeer + " at "
                        + String.format(Locale.ROOT, "%.2fx", worst)));
            }
        }
        WorkloadResult floor = harness("latency", LatencyUnderFloodWorkload.floorName());
        String floorNote = floor == null || !floor.histograms().containsKey("alloc") ? ""
                : " (the machine floor, the same run with no allocator at all: "
                        + us(floor.histograms().get("alloc").getValueAtPercentile(99.99)) + " us)";
        for (String s : List.of(Peers.SHEAF_CACHE, Peers.SHEAF_MALLOC)) {
            WorkloadResult r = harness("latency", s);
            if (r != null && r.histograms().containsKey("alloc")) {
                long p = r.histograms().get("alloc").getValueAtPercentile(99.99);
                t.add(check(p < 2000, s + " alloc p99.99 < 2 us under a " + r.note().substring(r.note().lastIndexOf("doing ") + 6)
                        + " flood: " + us(p) + " us" + floorNote));
            }
        }
        WorkloadResult rcuMap = harness("offheap-cache", "sheaf-rcu-map");
        WorkloadResult refMap = harness("offheap-cache", "sheaf-refcount-map");
        if (rcuMap != null && refMap != null) {
            double ratio = rcuMap.figures().get("getsPerSecond") / refMap.figures().get("getsPerSecond");
            t.add(check(ratio >= 2, "off-heap cache gets/s >= 2x the reference-counted map: "
                    + String.format(Locale.ROOT, "%.2fx", ratio)));
        }
        if (rcuMap != null) {
            double get = rcuMap.figures().get("heapBytesPerGet");
            double put = rcuMap.figures().get("heapBytesPerPut");
            double gcs = rcuMap.figures().get("gcCount");
            t.add(check(get < 1 && put < 1 && gcs == 0, "off-heap cache has no GC cost per operation: "
                    + String.format(Locale.ROOT, "%.3f heap B/get, %.3f heap B/put, %.0f GCs during the run", get, put, gcs)));
        }
        WorkloadResult call = harness("rcuscale", "rcu.call(free)");
        for (String mode : List.of("freeRcu(addr,off)", "freeRcu(addr,off) chain", "freeRcu(addr)", "SlabCache.freeRcu")) {
            WorkloadResult r = harness("rcuscale", mode);
            if (r == null || call == null) {
                continue;
            }
            double gpRatio = call.figures().get("gracePeriodsPerMillionFrees")
                    / Math.max(r.figures().get("gracePeriodsPerMillionFrees"), 1e-9);
            double speed = r.opsPerSecond() / call.opsPerSecond();
            t.add(check(speed >= 10, "rcuscale " + mode + " >= 10x the throughput of rcu.call(free): "
                    + String.format(Locale.ROOT, "%.2fx", speed)));
            t.add(check(gpRatio >= 100, "rcuscale " + mode + " >= 100x fewer grace periods than rcu.call(free): "
                    + String.format(Locale.ROOT, "%.1fx", gpRatio)));
        }
        return t;
    }

    /**
     * Issue 15's targets (many threads), judged on the harness's medians of interleaved rounds: each
     * Sheaf peer's median against the best (or a named) native peer's median of the same run. Rows
     * the run did not produce are left out.
     */
    public List<String> manyThreadTargets() {
        List<String> t = new ArrayList<>();
        List<String> natives = List.of("glibc", "mimalloc", "tcmalloc");
        leadAtLeast(t, "cache-scratch", 1.0, natives);
        leadAtLeast(t, "cache-thrash", 1.0, natives);
        for (String larson : List.of("larson", "larson-fresh")) {
            leadAtLeast(t, larson, 1.5, List.of("glibc"));
            leadAtLeast(t, larson, 1.2, List.of("tcmalloc"));
        }
        leadAtLeast(t, "xmalloc", 1.5, natives);
        leadAtLeast(t, "producer-consumer", 1.5, natives);
        leadAtLeast(t, "thread-churn", 1.0, natives);
        return t;
    }

    /** One titled list of targets, for the console ({@code markdown} false) or the README. */
    private static void appendTargets(StringBuilder sb, String title, List<String> targets, boolean markdown) {
        if (targets.isEmpty()) {
            return;
        }
        sb.append(markdown ? "\n### " + title + "\n\n" : "\n" + title + ":\n");
        for (String t : targets) {
            if (markdown) {
                sb.append("- ").append(t.startsWith("MET") ? "**met**: " : "**missed**: ").append(t.substring(8));
            } else {
                sb.append("  ").append(t);
            }
            sb.append('\n');
        }
    }

    /** Each Sheaf peer's median throughput on {@code workload} >= k x the best of {@code peers}. */
    private void leadAtLeast(List<String> t, String workload, double k, List<String> peers) {
        WorkloadResult best = null;
        for (String p : peers) {
            WorkloadResult r = harness(workload, p);
            if (r != null && (best == null || r.opsPerSecond() > best.opsPerSecond())) {
                best = r;
            }
        }
        if (best == null) {
            return;
        }
        String vs = peers.size() == 1 ? best.peer() : "the best native (" + best.peer() + ")";
        for (String s : List.of(Peers.SHEAF_CACHE, Peers.SHEAF_MALLOC)) {
            WorkloadResult r = harness(workload, s);
            if (r != null) {
                double ratio = r.opsPerSecond() / best.opsPerSecond();
                t.add(check(ratio >= k, String.format(Locale.ROOT, "%s %s >= %.1fx %s: %.2f vs %.2f Mops/s = %.2fx",
                        s, workload, k, vs, r.opsPerSecond() / 1e6, best.opsPerSecond() / 1e6, ratio)));
            }
        }
    }

    /**
     * Issue 14's targets (the hot paths), judged against glibc called straight from the benchmark
     * method ({@code HotPathBenchmark.glibcPair}), with the rcu.call(free) row and StampedLock's
     * optimistic read of the same run as the other anchors. Rows the run did not produce are left out.
     */
    public List<String> hotPathTargets() {
        List<String> t = new ArrayList<>();
        Double glibc = jmhNanos("hot glibcPair", "-");
        if (glibc != null) {
            ratioAtMost(t, jmhNanos("hot localCachePair", "-"), glibc, 0.35, "SlabCache.Local pair", "direct glibc");
            ratioAtMost(t, jmhNanos("hot cachePair", "-"), glibc, 0.6, "SlabCache pair", "direct glibc");
            ratioAtMost(t, jmhNanos("factory cachePair", "-"), glibc, 0.4, "SlabCache pair on a factory thread",
                    "direct glibc");
            ratioAtMost(t, jmhNanos("hot localMallocPair", "-"), glibc, 0.5, "SlabAllocator.Local malloc+free",
                    "direct glibc");
        }
        Double call = jmhNanos("freeRcu caller", "call");
        if (call != null) {
            ratioAtMost(t, jmhNanos("freeRcu caller", "local-sheaf"), call, 0.25, "SlabCache.Local.freeRcu", "rcu.call(free)");
            ratioAtMost(t, jmhNanos("freeRcu caller", "local-malloc"), call, 0.25,
                    "SlabAllocator.Local.freeRcu(addr, off)", "rcu.call(free)");
            ratioAtMost(t, jmhNanos("freeRcu caller", "default"), call, 0.5, "freeRcu(addr, off)", "rcu.call(free)");
            ratioAtMost(t, jmhNanos("freeRcu caller", "headless"), call, 1.0, "headless freeRcu(addr)", "rcu.call(free)");
        }
        for (int burst : new int[] {100, 400, 1000, 1600}) {
            Double cache = jmhBurst("hot-burst cache", burst);
            Double malloc = jmhBurst("hot-burst malloc", burst);
            for (String peer : List.of("glibc", "mimalloc", "tcmalloc")) {
                Double p = jmhBurst("hot-burst " + peer, burst);
                if (p == null) {
                    continue;
                }
                ratioAtMost(t, cache, p, 1 / 1.1, "SlabCache burst of " + burst, peer + " (>= 1.1x faster)");
                ratioAtMost(t, malloc, p, 1.0, "malloc burst of " + burst, peer + " (level)");
            }
        }
        Double stamped = jmhNanos("rcu-read stampedLockOptimistic", "-");
        if (stamped != null) {
            ratioAtMost(t, jmhNanos("rcu-read ebrImplicit", "-"), stamped, 3, "EBR readLock/readUnlock",
                    "StampedLock optimistic read");
            ratioAtMost(t, jmhNanos("rcu-read membImplicit", "-"), stamped, 3, "EBR_MEMBARRIER readLock/readUnlock",
                    "StampedLock optimistic read");
            ratioAtMost(t, jmhNanos("rcu-read ebrHandle", "-"), stamped, 2, "EBR Reader handle",
                    "StampedLock optimistic read");
            ratioAtMost(t, jmhNanos("rcu-read membHandle", "-"), stamped, 2, "EBR_MEMBARRIER Reader handle",
                    "StampedLock optimistic read");
            ratioAtMost(t, jmhNanos("rcu-read qsbrImplicit", "-"), stamped, 1.5, "QSBR readLock/readUnlock",
                    "StampedLock optimistic read");
        }
        for (String row : List.of("hot cachePair", "hot localCachePair", "hot mallocPair", "hot localMallocPair")) {
            Double bytes = jmhBytes(row, "-");
            if (bytes != null) {
                t.add(check(bytes <= 0.01, row.substring(4) + " gc.alloc.rate.norm <= 0.01 B/op: "
                        + String.format(Locale.ROOT, "%.4f", bytes)));
            }
        }
        for (String path : List.of("local-sheaf", "local-malloc", "default", "headless", "sheaf")) {
            Double bytes = jmhBytes("freeRcu caller", path);
            if (bytes != null) {
                t.add(check(bytes <= 0.01, "freeRcu " + path + " gc.alloc.rate.norm <= 0.01 B/op: "
                        + String.format(Locale.ROOT, "%.4f", bytes)));
            }
        }
        WorkloadResult callScale = harness("rcuscale", "rcu.call(free)");
        for (String mode : List.of("freeRcu(addr,off)", "freeRcu(addr,off) chain", "freeRcu(addr)", "SlabCache.freeRcu")) {
            WorkloadResult r = harness("rcuscale", mode);
            if (r != null && callScale != null) {
                double speed = r.opsPerSecond() / callScale.opsPerSecond();
                t.add(check(speed >= 3, "rcuscale " + mode + " >= 3x the throughput of rcu.call(free): "
                        + String.format(Locale.ROOT, "%.2fx", speed)));
            }
        }
        return t;
    }

    /** One "A at most k times B" target line; nothing when either figure is missing. */
    private static void ratioAtMost(List<String> t, Double value, Double anchor, double k, String what, String vs) {
        if (value == null || anchor == null) {
            return;
        }
        double r = value / anchor;
        t.add(check(r <= k, String.format(Locale.ROOT, "%s <= %.2fx %s: %s vs %s ns = %.2fx", what, k, vs,
                format(value), format(anchor), r)));
    }

    /** ns per object of a burst row of {@code burst} objects. */
    private Double jmhBurst(String benchmark, int burst) {
        for (JmhRow r : jmh) {
            if (r.benchmark().equals(benchmark) && r.burst() == burst) {
                return r.nanosPerObject();
            }
        }
        return null;
    }

    private static String check(boolean ok, String what) {
        return (ok ? "MET     " : "MISSED  ") + what;
    }

    /** A figure with three significant digits at most, as every table here prints them. */
    static String format(double v) {
        if (v >= 100) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (v >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String us(long nanos) {
        return String.format(Locale.ROOT, "%.2f", nanos / 1000.0);
    }

    /** Plain-text rendering for the console. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        sb.append("Sheaf vs peers (").append(profile).append(" profile) on ").append(environment.oneLine()).append('\n');
        sb.append("(Nx) = how many times better the best Sheaf row is than that peer; ns: lower is better, Mops/s: higher is better\n\n");
        sb.append(render(mainTable(), false));
        List<List<String>> bursts = burstTable();
        if (!bursts.isEmpty()) {
            sb.append('\n').append(render(bursts, false));
        }
        List<List<String>> spread = roundsTable();
        if (!spread.isEmpty()) {
            sb.append("\nHarness rounds, interleaved across peers (median round, slowest-fastest):\n")
                    .append(render(spread, false));
            sb.append("\nPeak reserved bytes in the median round (glibc, tcmalloc: at the end of the round; glibc: the whole process):\n")
                    .append(render(peakReservedTable(), false));
        }
        sb.append("\nLatency on the latency-critical thread (microseconds, coordinated-omission-corrected):\n");
        sb.append(render(latencyTable(), false));
        List<List<String>> exp = experimentTable();
        if (!exp.isEmpty()) {
            sb.append('\n').append(render(exp, false));
        }
        sb.append("\nTargets:\n");
        for (String t : targets()) {
            sb.append("  ").append(t).append('\n');
        }
        appendTargets(sb, "Hot-path targets (issue 14; anchor: glibc called straight from the benchmark)",
                hotPathTargets(), false);
        appendTargets(sb, "Many-thread targets (issue 15; medians of interleaved harness rounds)",
                manyThreadTargets(), false);
        for (String n : notes) {
            sb.append("note: ").append(n).append('\n');
        }
        return sb.toString();
    }

    /** The generated jmh-results/README.md. */
    public String markdown(List<String> charts, List<String> files) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Sheaf benchmark results\n\n");
        sb.append("Generated by `dev.sheaf.bench.Compare` (").append(profile).append(" profile). Do not edit by hand.\n\n");
        sb.append("- Machine: ").append(environment.cpu()).append(", ").append(environment.cores()).append(" cores, ")
                .append(environment.os()).append('\n');
        sb.append("- JDK: ").append(environment.jdk()).append('\n');
        sb.append("- Date: ").append(environment.date()).append('\n');
        sb.append("- Command: `").append(command).append("`\n");
        sb.append("- Files: ");
        for (int i = 0; i < files.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append('[').append(files.get(i)).append("](").append(files.get(i)).append(')');
        }
        sb.append("\n- Every committed result file (also the RCU and freeRcu JMH runs) and the command that produced it: [COMMANDS.md](COMMANDS.md)");
        sb.append("\n- What earlier runs said, run by run: [HISTORY.md](HISTORY.md); the summary table in the repository's README is generated from this run's files (`dev.sheaf.bench.report.ReadmeResults`)");
        sb.append("\n\nThe machine is small and was shared: treat single figures as indicative, ratios measured in the same run as the result.\n\n");
        sb.append("## Sheaf against every peer\n\n");
        sb.append("64-byte objects unless noted. `pair`, `burst` (1000 allocations then 1000 frees) and `prod/cons` (one thread allocates, another frees) are JMH (ns per object, lower is better); the Mops/s columns are the HdrHistogram harness (higher is better; each peer's median of rounds interleaved across the peers, spread below; `prod/cons Mops/s` is the same one-allocates-one-frees loop as the JMH row). `(Nx)` = how many times better the best Sheaf row is than that peer (below 1.0x the peer wins). `B/op` = JMH `-prof gc` bytes allocated on the Java heap per pair. Netty and Arena peers map handles to their objects through a lock-free table (see `HandleTable`); `netty-api` rows below show Netty without it.\n\n");
        sb.append(render(mainTable(), true));
        List<List<String>> bursts = burstTable();
        if (!bursts.isEmpty()) {
            sb.append("\n### Bursts by size\n\n").append(render(bursts, true));
        }
        List<List<String>> nettyApi = new ArrayList<>();
        nettyApi.add(List.of("benchmark", "peer", "ns/obj", "B/obj"));
        for (JmhRow r : jmh) {
            if (r.benchmark().startsWith("netty-api")) {
                nettyApi.add(List.of(r.benchmark(), r.peer(), format(r.nanosPerObject()),
                        Double.isNaN(r.bytesPerOp()) ? "-" : format(r.bytesPerOp())));
            }
        }
        if (nettyApi.size() > 1) {
            sb.append("\n### Netty through its own ByteBuf API (no handle table)\n\n").append(render(nettyApi, true));
        }
        List<List<String>> nettyAlloc = nettyAllocatorTable();
        if (nettyAlloc.size() > 1) {
            sb.append("\n### ByteBuf allocate+release through ByteBufAllocator (`SheafByteBufAllocator` vs Netty)\n\n"
                    + "`directBuffer(size, size)` + `release()` on event-loop-like threads (Netty `FastThreadLocalThread`s), "
                    + "leak detection off; `x adaptive` is Netty adaptive's time over the row's.\n\n")
                    .append(render(nettyAlloc, true));
        }
        List<List<String>> cacheJmh = new ArrayList<>();
        cacheJmh.add(List.of("benchmark", "map", "ns/op", "B/op"));
        for (JmhRow r : jmh) {
            if (r.benchmark().startsWith("cache ")) {
                cacheJmh.add(List.of(r.benchmark().substring(6), r.peer(), format(r.nanos()),
                        Double.isNaN(r.bytesPerOp()) ? "-" : format(r.bytesPerOp())));
            }
        }
        if (cacheJmh.size() > 1) {
            sb.append("\n### Off-heap cache, JMH (`OffHeapCacheBenchmark`, `-prof gc`)\n\n").append(render(cacheJmh, true));
        }
        List<List<String>> spread = roundsTable();
        if (!spread.isEmpty()) {
            sb.append("\n### Harness rounds and spread\n\nEvery harness throughput workload runs in rounds interleaved across the peers (A B C, A B C, ...; each round opens a fresh peer and closes it); the table above shows each peer's median round, this one the median with the slowest and fastest round (Mops/s). A wide spread means the machine, not the allocator, moved the figure.\n\n")
                    .append(render(spread, true));
            sb.append("\n### Peak reserved memory\n\nThe peer's peak reserved bytes in its median round, MiB: Sheaf's page-source peak (`SlabAllocator.Stats.peakReservedBytes`), mimalloc's peak commit since the peer was opened (`mi_process_info`), glibc's `mallinfo2` arena + hblkhd and tcmalloc's `generic.heap_size` sampled at the end of the round (not a true peak; glibc's counts the whole JVM's malloc use); `n/a`: the peer does not expose it.\n\n")
                    .append(render(peakReservedTable(), true));
        }
        sb.append("\n## Latency under a deferred-free flood\n\nOne thread allocates and frees 64 bytes on a fixed schedule; latency is measured from each request's scheduled start (coordinated omission avoided); a flood thread (at most cores - 1 of them) floods the allocator with `freeRcu` (Sheaf, whose RCU duty cycle it also runs) or `free` (peers without deferred free). On Linux the latency thread runs alone on one CPU and the JVM's other threads on the rest; other processes are not kept away: `cpu wait ms` is how long the latency thread was runnable without a CPU during the measurement (near 0 on a quiet machine; when it is not, the percentiles are the machine's). The `floor` row is the same run with no allocator at all (each thread reuses one block of its own): what the schedule, the clock and the machine cost by themselves; a peer's tail is its own only above it. Microseconds.\n\n");
        sb.append(render(latencyTable(), true));
        List<List<String>> exp = experimentTable();
        if (!exp.isEmpty()) {
            sb.append("\n## rcuscale and the off-heap cache\n\n").append(render(exp, true));
        }
        sb.append("\n## Targets\n\n");
        for (String t : targets()) {
            sb.append("- ").append(t.startsWith("MET") ? "**met**: " : "**missed**: ").append(t.substring(8)).append('\n');
        }
        appendTargets(sb, "Hot paths (issue 14; anchor: glibc called straight from the benchmark method)",
                hotPathTargets(), true);
        appendTargets(sb, "Many threads (issue 15; medians of interleaved harness rounds)", manyThreadTargets(), true);
        if (!notes.isEmpty()) {
            sb.append("\n## Notes\n\n");
            for (String n : notes) {
                sb.append("- ").append(n).append('\n');
            }
        }
        if (!charts.isEmpty()) {
            sb.append("\n## Charts\n\n");
            for (String c : charts) {
                sb.append("![").append(c).append("](").append(c).append(")\n\n");
            }
        }
        return sb.toString();
    }

    static String render(List<List<String>> rows, boolean markdown) {
        if (rows.isEmpty()) {
            return "";
        }
        int cols = rows.get(0).size();
        int[] width = new int[cols];
        for (List<String> r : rows) {
            for (int i = 0; i < cols; i++) {
                width[i] = Math.max(width[i], r.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < rows.size(); k++) {
            List<String> r = rows.get(k);
            for (int i = 0; i < cols; i++) {
                String cell = r.get(i);
                if (markdown) {
                    sb.append("| ").append(cell.replace("|", "\\|")).append(' ');
                } else {
                    String pad = " ".repeat(width[i] - cell.length());
                    sb.append(i == 0 ? cell + pad : pad + cell).append("  ");
                }
            }
            sb.append(markdown ? "|\n" : "\n");
            if (markdown && k == 0) {
                sb.append("|---".repeat(cols)).append("|\n");
            }
        }
        return sb.toString();
    }
}
