package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import dev.sheaf.bench.peer.PeerUnavailableException;
import dev.sheaf.bench.peer.Peers;
import dev.sheaf.bench.report.ResultsWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * The HdrHistogram harness: runs allocation workloads against every peer, one after the other,
 * in this JVM, and prints one line per (workload, peer).
 *
 * <pre>
 * Harness [all | name,name,...] [seconds=S] [rounds=R] [threads=N] [peers=a,b] [rate=OPS_PER_S] [out=DIR]
 * </pre>
 * Names: larson, larson-fresh, xmalloc, producer-consumer, cache-scratch, cache-thrash, thread-churn,
 * latency, rcuscale, offheap-cache, selftest. Peer workloads run {@code rounds} rounds (default
 * {@value Rounds#DEFAULT}) of {@code seconds} each (default 0.5, or 2 with {@code -Dsheaf.profile=full}),
 * interleaved across peers, and report each peer's median round with the slowest and fastest
 * ({@link #runPeerWorkloads}); {@code -Dsheaf.results} sets where JSON and {@code .hgrm} files go.
 */
public final class Harness {

    /** Peer workloads, in report order. */
    public static List<Workload> peerWorkloads() {
        return List.of(new LarsonWorkload(), new LarsonFreshThreadWorkload(), new XmallocWorkload(),
                XmallocWorkload.producerConsumer(), FalseSharingWorkload.scratch(), FalseSharingWorkload.thrash(),
                new ThreadChurnWorkload(), new LatencyUnderFloodWorkload());
    }

    private Harness() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        String selection = "all";
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq > 0) {
                options.put(a.substring(0, eq), a.substring(eq + 1));
            } else {
                selection = a;
            }
        }
        boolean full = "full".equals(System.getProperty("sheaf.profile", "quick"));
        // seconds per round: with the default 5 rounds each peer gets 2.5 s (quick) or 10 s (full) per workload
        WorkloadConfig config = WorkloadConfig.defaults(Double.parseDouble(options.getOrDefault("seconds", full ? "2" : "0.5")));
        int rounds = Integer.parseInt(options.getOrDefault("rounds", String.valueOf(Rounds.DEFAULT)));
        if (options.containsKey("threads")) {
            config = config.withThreads(Integer.parseInt(options.get("threads")));
        }
        if (options.containsKey("rate")) {
            config = new WorkloadConfig(config.seconds(), config.threads(), config.minSize(), config.maxSize(),
                    config.poolSize(), Integer.parseInt(options.get("rate")), config.seed());
        }
        List<String> peerNames = options.containsKey("peers") ? Arrays.asList(options.get("peers").split(","))
                : Peers.selected();
        Path out = Path.of(options.getOrDefault("out", System.getProperty("sheaf.results", "jmh-results")));
        PrintStream o = System.out;
        if ("selftest".equals(selection)) {
            selfTest(o);
            return;
        }
        List<String> wanted = "all".equals(selection) ? null : Arrays.asList(selection.split(","));
        List<WorkloadResult> results = new ArrayList<>();
        List<String> peers = Peers.available(peerNames, o);
        List<Workload> workloads = new ArrayList<>();
        for (Workload w : peerWorkloads()) {
            if (wanted == null || wanted.contains(w.name())) {
                workloads.add(w);
            }
        }
        results.addAll(runPeerWorkloads(workloads, peers, config, rounds, o));
        for (SheafExperiment e : SheafExperiment.all(full)) {
            if (wanted == null || wanted.contains(e.name())) {
                results.addAll(e.run(config, o));
            }
        }
        ResultsWriter.writeHarness(out.resolve("harness"), "harness-" + (full ? "full" : "quick"), results,
                "Harness " + String.join(" ", args));
        o.println("results written to " + out.resolve("harness").toAbsolutePath());
    }

    /**
     * Runs each workload on each peer that supports it and skips the others with a printed note.
     * Workloads with {@link Workload#interleavedRounds()} run {@code rounds} rounds interleaved across
     * the peers (A B C, A B C, ...; every round opens a fresh peer and closes it) and report each peer's
     * median round, with the slowest and fastest round ({@link WorkloadResult#MIN_MOPS},
     * {@link WorkloadResult#MAX_MOPS}) and every round in the note; the others run once per peer for
     * {@code rounds} times {@code config.seconds()}. Every result carries the peer's
     * {@link AllocatorPeer#peakReservedBytes()} of its round. Runs on the calling thread (workloads start
     * their own).
     *
     * @param workloads what to run, in order
     * @param peers     peer names, after each workload's baselines
     * @param config    the workloads' knobs; {@code seconds} is per round
     * @param rounds    rounds per peer, at least 1
     * @param o         where progress and results are printed
     * @return one result per (workload, peer) that ran
     * @throws IllegalArgumentException when {@code rounds < 1}
     * @throws IllegalStateException    when a workload finds a broken invariant (lost or overwritten object)
     * @throws InterruptedException     when interrupted
     */
    public static List<WorkloadResult> runPeerWorkloads(List<Workload> workloads, List<String> peers,
                                                        WorkloadConfig config, int rounds, PrintStream o)
            throws InterruptedException {
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds must be >= 1: " + rounds);
        }
        List<WorkloadResult> results = new ArrayList<>();
        for (Workload w : workloads) {
            boolean interleaved = w.interleavedRounds();
            int wRounds = interleaved ? rounds : 1;
            WorkloadConfig wConfig = interleaved ? config : config.withSeconds(config.seconds() * rounds);
            o.println("== " + w.name() + ": " + w.description()
                    + (wRounds > 1 ? " (" + wRounds + " rounds interleaved across peers)" : ""));
            List<String> names = new ArrayList<>(w.baselines());
            names.addAll(peers);
            List<List<WorkloadResult>> byPeer = Rounds.interleave(names.size(), wRounds,
                    (i, round) -> runOnce(w, names.get(i), wConfig, o));
            for (List<WorkloadResult> runs : byPeer) {
                if (runs.isEmpty()) {
                    continue;
                }
                Rounds.Summary<WorkloadResult> s = Rounds.summarize(runs, WorkloadResult::opsPerSecond);
                WorkloadResult median = s.median();
                median.figure(WorkloadResult.ROUNDS, s.rounds())
                        .figure(WorkloadResult.MIN_MOPS, s.min() / 1e6)
                        .figure(WorkloadResult.MAX_MOPS, s.max() / 1e6);
                if (s.rounds() > 1) {
                    median.note(median.note() + "; median of " + s.rounds()
                            + " rounds interleaved with the other peers (Mops/s: " + Rounds.describe(s.values(), 1e6)
                            + ")");
                }
                results.add(median);
                o.println("   " + describe(median));
            }
        }
        return results;
    }

    /**
     * One round of {@code w} on a freshly opened peer, closed afterwards; null (after a printed note)
     * when the peer is unavailable or cannot run the workload.
     */
    private static WorkloadResult runOnce(Workload w, String name, WorkloadConfig config, PrintStream o)
            throws InterruptedException {
        try (AllocatorPeer peer = w.open(name, config)) {
            String why = w.unsupportedReason(peer, config);
            if (why != null) {
                o.printf(Locale.ROOT, "   %-15s skipped: %s%n", name, why);
                return null;
            }
            WorkloadResult r = w.run(peer, config);
            // sampled after the run, before close: a peer that only knows its current footprint
            // reports it as of the end of the round
            r.figure(WorkloadResult.PEAK_RESERVED_BYTES, peer.peakReservedBytes());
            return r;
        } catch (PeerUnavailableException e) {
            o.println("   note: skipping peer " + e.getMessage());
            return null;
        }
    }

    /** One line: throughput, latency percentiles when recorded, the workload's note. */
    public static String describe(WorkloadResult r) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-15s %10.3f Mops/s", r.peer(),
                r.opsPerSecond() / 1e6));
        for (var e : r.histograms().entrySet()) {
            Histogram h = e.getValue();
            sb.append(String.format(Locale.ROOT, "  %s p50/p99/p99.9/p99.99/max %s/%s/%s/%s/%s", e.getKey(),
                    micros(h.getValueAtPercentile(50)), micros(h.getValueAtPercentile(99)),
                    micros(h.getValueAtPercentile(99.9)), micros(h.getValueAtPercentile(99.99)),
                    micros(h.getMaxValue())));
        }
        if (!r.histograms().isEmpty()) {
            sb.append(" us");
        }
        for (var e : r.figures().entrySet()) {
            if (e.getKey().equals(WorkloadResult.PEAK_RESERVED_BYTES)) {
                sb.append("  peakReserved=").append(WorkloadResult.mebibytes(e.getValue()));
            } else if (e.getValue() == Math.rint(e.getValue()) && Math.abs(e.getValue()) < 1e6) {
                sb.append(String.format(Locale.ROOT, "  %s=%d", e.getKey(), e.getValue().longValue()));
            } else {
                sb.append(String.format(Locale.ROOT, "  %s=%.4g", e.getKey(), e.getValue()));
            }
        }
        if (!r.note().isEmpty()) {
            sb.append("  (").append(r.note()).append(')');
        }
        return sb.toString();
    }

    private static String micros(long nanos) {
        return String.format(Locale.ROOT, "%.2f", nanos / 1000.0);
    }

    /**
     * A fast end-to-end check (a few seconds): every peer workload on glibc and on the Sheaf peers
     * when available, one round of a few milliseconds each. Used by CI through the tests.
     *
     * @param o where progress and results are printed
     * @return every result
     * @throws IllegalStateException when a workload did nothing or recorded an empty histogram
     * @throws InterruptedException  when interrupted
     */
    public static List<WorkloadResult> selfTest(PrintStream o) throws InterruptedException {
        WorkloadConfig quick = new WorkloadConfig(0.05, 2, 8, 1000, 200, 20_000, 7);
        List<String> peers = Peers.available(List.of(Peers.SHEAF_CACHE, Peers.SHEAF_MALLOC, "glibc"), o);
        List<WorkloadResult> results = runPeerWorkloads(peerWorkloads(), peers, quick, 1, o);
        for (WorkloadResult r : results) {
            if (r.operations() <= 0) {
                throw new IllegalStateException("self-test: " + r.workload() + " on " + r.peer() + " did nothing");
            }
            for (var h : r.histograms().values()) {
                if (h.getTotalCount() == 0) {
                    throw new IllegalStateException("self-test: empty histogram in " + r.workload());
                }
            }
        }
        o.println("self-test passed: " + results.size() + " runs");
        return results;
    }
}
