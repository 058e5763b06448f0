package dev.sheaf.bench.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/*
 * Implementation notes.
 *
 * Reads the committed quick comparison (compare-quick-jmh.json, harness/compare-quick.json under
 * jmh-results) and reduces it to one SummaryRow per workload: Sheaf's better variant, the best native
 * peer, the better Netty allocator and Arena. JMH rows are ns per object (bursts divided by their
 * size), harness rows Mops/s (each peer's median interleaved round, as the run wrote it). A peer
 * missing from the run (mimalloc not installed, Arena on a cross-thread workload) leaves its cell
 * empty. The output depends on the files only, so the README check can regenerate it exactly.
 *
 * Map: file names and peer groups; load; JMH rows; harness rows; best-of helpers.
 */
/** The README's results table, computed from the committed quick comparison's JSON files. */
public final class ResultsSummary {

    /** The quick comparison's JMH file, relative to jmh-results. */
    public static final String JMH_FILE = "compare-quick-jmh.json";
    /** The quick comparison's harness file, relative to jmh-results. */
    public static final String HARNESS_FILE = "harness/compare-quick.json";

    private static final List<String> SHEAF = List.of("sheaf-cache", "sheaf-malloc");
    private static final List<String> NATIVE = List.of("glibc", "mimalloc", "tcmalloc");
    private static final List<String> NETTY = List.of("netty-pooled", "netty-adaptive");
    private static final List<String> ARENA = List.of("arena-confined");
    private static final String JMH_UNIT = "ns/obj";
    private static final String HARNESS_UNIT = "Mops/s";
    /** Harness workloads in table order, with the names the table gives them. */
    private static final List<List<String>> HARNESS_WORKLOADS = List.of(
            List.of("larson", "Larson server (2 threads)"),
            List.of("larson-fresh", "Larson, fresh threads"),
            List.of("xmalloc", "xmalloc (one allocates, one frees)"),
            List.of("producer-consumer", "producer/consumer (harness)"),
            List.of("cache-scratch", "cache-scratch"),
            List.of("cache-thrash", "cache-thrash"),
            List.of("thread-churn", "thread churn"));

    private final List<SummaryRow> rows;
    private final String date;
    private final String machine;

    private ResultsSummary(List<SummaryRow> rows, String date, String machine) {
        this.rows = rows;
        this.date = date;
        this.machine = machine;
    }

    /**
     * Reads the quick comparison's files under {@code resultsDir}.
     *
     * @param resultsDir the {@code jmh-results} directory
     * @return the summary
     * @throws IOException a file is missing or unreadable
     * @throws IllegalArgumentException a file is not the JSON the comparison writes
     */
    public static ResultsSummary load(Path resultsDir) throws IOException {
        List<?> jmh = (List<?>) JsonReader.read(Files.readString(resultsDir.resolve(JMH_FILE), StandardCharsets.UTF_8));
        Map<?, ?> harness = (Map<?, ?>) JsonReader.read(
                Files.readString(resultsDir.resolve(HARNESS_FILE), StandardCharsets.UTF_8));
        Map<?, ?> env = (Map<?, ?>) harness.get("environment");
        List<SummaryRow> rows = new ArrayList<>();
        rows.add(jmhRow(jmh, "alloc+free pair", "AllocatorBenchmark.pair", 0));
        rows.add(jmhRow(jmh, "burst of 100", "AllocatorBenchmark.burst", 100));
        rows.add(jmhRow(jmh, "burst of 1000", "AllocatorBenchmark.burst", 1000));
        rows.add(jmhRow(jmh, "producer/consumer (JMH)", "ProducerConsumerBenchmark.pc", 0));
        List<?> results = (List<?>) harness.get("results");
        for (List<String> w : HARNESS_WORKLOADS) {
            rows.add(harnessRow(results, w.get(0), w.get(1)));
        }
        String machine = env.get("cpu") + ", " + ((Number) env.get("cores")).intValue() + " cores, "
                + env.get("jdk");
        return new ResultsSummary(List.copyOf(rows), String.valueOf(env.get("date")), machine);
    }

    /**
     * The rows in table order.
     *
     * @return one row per workload
     */
    public List<SummaryRow> rows() {
        return rows;
    }

    /**
     * When the harness part of the run ended (ISO-8601, UTC).
     *
     * @return the run's date
     */
    public String date() {
        return date;
    }

    /**
     * The machine and JDK of the run, one line.
     *
     * @return the machine
     */
    public String machine() {
        return machine;
    }

    private static SummaryRow jmhRow(List<?> jmh, String name, String benchmark, int burst) {
        Predicate<Map<?, ?>> match = r -> {
            String b = (String) r.get("benchmark");
            if (!b.endsWith("." + benchmark)) {
                return false;
            }
            return burst == 0 || String.valueOf(burst).equals(params(r).get("burst"));
        };
        return new SummaryRow(name, JMH_UNIT, false, bestJmh(jmh, match, SHEAF, burst),
                bestJmh(jmh, match, NATIVE, burst), bestJmh(jmh, match, NETTY, burst),
                bestJmh(jmh, match, ARENA, burst));
    }

    private static Map<?, ?> params(Map<?, ?> r) {
        Object p = r.get("params");
        return p instanceof Map<?, ?> m ? m : Map.of();
    }

    private static SummaryRow.Figure bestJmh(List<?> jmh, Predicate<Map<?, ?>> match, List<String> peers, int burst) {
        SummaryRow.Figure best = null;
        for (Object o : jmh) {
            Map<?, ?> r = (Map<?, ?>) o;
            Object peer = params(r).get("peer");
            if (!match.test(r) || !peers.contains(peer)) {
                continue;
            }
            double score = ((Number) ((Map<?, ?>) r.get("primaryMetric")).get("score")).doubleValue();
            double perObject = burst > 0 ? score / burst : score;
            if (best == null || perObject < best.value()) {
                best = new SummaryRow.Figure((String) peer, perObject);
            }
        }
        return best;
    }

    private static SummaryRow harnessRow(List<?> results, String workload, String name) {
        return new SummaryRow(name, HARNESS_UNIT, true, bestHarness(results, workload, SHEAF),
                bestHarness(results, workload, NATIVE), bestHarness(results, workload, NETTY),
                bestHarness(results, workload, ARENA));
    }

    private static SummaryRow.Figure bestHarness(List<?> results, String workload, List<String> peers) {
        SummaryRow.Figure best = null;
        for (Object o : results) {
            Map<?, ?> r = (Map<?, ?>) o;
            if (!workload.equals(r.get("workload")) || !peers.contains(r.get("peer"))) {
                continue;
            }
            double mops = ((Number) r.get("opsPerSecond")).doubleValue() / 1e6;
            if (best == null || mops > best.value()) {
                best = new SummaryRow.Figure((String) r.get("peer"), mops);
            }
        }
        return best;
    }
}
