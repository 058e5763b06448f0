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
 * Harness [all | name,name,...] [seconds=S] [threads=N] [peers=a,b] [rate=OPS_PER_S] [out=DIR]
 * </pre>
 * Names: larson, xmalloc, cache-scratch, cache-thrash, thread-churn, latency, rcuscale, offheap-cache,
 * selftest. {@code -Dsheaf.profile=full} makes the default run longer; {@code -Dsheaf.results} sets
 * where JSON and {@code .hgrm} files go.
 */
public final class Harness {

    /** Peer workloads, in report order. */
    public static List<Workload> peerWorkloads() {
        return List.of(new LarsonWorkload(), new XmallocWorkload(), FalseSharingWorkload.scratch(),
                FalseSharingWorkload.thrash(), new ThreadChurnWorkload(), new LatencyUnderFloodWorkload());
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
        WorkloadConfig config = WorkloadConfig.defaults(Double.parseDouble(options.getOrDefault("seconds", full ? "10" : "2")));
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
        results.addAll(runPeerWorkloads(workloads, peers, config, o));
        for (SheafExperiment e : SheafExperiment.all(full)) {
            if (wanted == null || wanted.contains(e.name())) {
                results.addAll(e.run(config, o));
            }
        }
        ResultsWriter.writeHarness(out.resolve("harness"), "harness-" + (full ? "full" : "quick"), results,
                "Harness " + String.join(" ", args));
        o.println("results written to " + out.resolve("harness").toAbsolutePath());
    }

    /** Runs each workload on each peer that supports it; skips the others with a printed note. */
    public static List<WorkloadResult> runPeerWorkloads(List<Workload> workloads, List<String> peers,
                                                        WorkloadConfig config, PrintStream o)
            throws InterruptedException {
        List<WorkloadResult> results = new ArrayList<>();
        for (Workload w : workloads) {
            o.println("== " + w.name() + ": " + w.description());
            List<String> names = new ArrayList<>(w.baselines());
            names.addAll(peers);
            for (String name : names) {
                try (AllocatorPeer peer = w.open(name, config)) {
                    String why = w.unsupportedReason(peer, config);
                    if (why != null) {
                        o.printf(Locale.ROOT, "   %-15s skipped: %s%n", name, why);
                        continue;
                    }
                    WorkloadResult r = w.run(peer, config);
                    results.add(r);
                    o.println("   " + describe(r));
                } catch (PeerUnavailableException e) {
                    o.println("   note: skipping peer " + e.getMessage());
                }
            }
        }
        return results;
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
            sb.append(String.format(Locale.ROOT, "  %s=%.4g", e.getKey(), e.getValue()));
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
     * A fast end-to-end check (about a second): every peer workload on glibc and on a Sheaf peer
     * when available, each for a few milliseconds. Used by CI through the tests.
     */
    public static List<WorkloadResult> selfTest(PrintStream o) throws InterruptedException {
        WorkloadConfig quick = new WorkloadConfig(0.05, 2, 8, 1000, 200, 20_000, 7);
        List<String> peers = Peers.available(List.of(Peers.SHEAF_CACHE, Peers.SHEAF_MALLOC, "glibc"), o);
        List<WorkloadResult> results = runPeerWorkloads(peerWorkloads(), peers, quick, o);
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
