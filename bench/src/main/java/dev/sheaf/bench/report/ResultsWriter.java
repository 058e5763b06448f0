package dev.sheaf.bench.report;

import dev.sheaf.bench.harness.WorkloadResult;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/** Writes harness results as JSON plus one HdrHistogram {@code .hgrm} file per recorded histogram. */
public final class ResultsWriter {
    private static final double[] PERCENTILES = {50, 90, 99, 99.9, 99.99};

    private ResultsWriter() {
    }

    /** @return the JSON file written */
    public static Path writeHarness(Path dir, String baseName, List<WorkloadResult> results, String command)
            throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("environment", Environment.current().toMap(command));
        root.put("results", toList(results));
        Path json = dir.resolve(baseName + ".json");
        Files.writeString(json, Json.write(root), StandardCharsets.UTF_8);
        for (WorkloadResult r : results) {
            for (var e : r.histograms().entrySet()) {
                Path hgrm = dir.resolve(baseName + "-" + r.workload() + "-" + r.peer() + "-" + e.getKey() + ".hgrm");
                try (PrintStream ps = new PrintStream(Files.newOutputStream(hgrm), false, StandardCharsets.UTF_8)) {
                    // values recorded in nanoseconds, written in microseconds
                    e.getValue().outputPercentileDistribution(ps, 1000.0);
                }
            }
        }
        return json;
    }

    public static List<Object> toList(List<WorkloadResult> results) {
        List<Object> list = new ArrayList<>();
        for (WorkloadResult r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("workload", r.workload());
            m.put("peer", r.peer());
            m.put("operations", r.operations());
            m.put("seconds", r.elapsedNanos() / 1e9);
            m.put("opsPerSecond", r.opsPerSecond());
            if (!r.figures().isEmpty()) {
                m.put("figures", new LinkedHashMap<>(r.figures()));
            }
            for (var e : r.histograms().entrySet()) {
                m.put("latencyNanos_" + e.getKey(), percentiles(e.getValue()));
            }
            m.put("note", r.note());
            list.add(m);
        }
        return list;
    }

    public static Map<String, Object> percentiles(Histogram h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", h.getTotalCount());
        for (double p : PERCENTILES) {
            m.put("p" + (p == Math.rint(p) ? String.valueOf((int) p) : String.valueOf(p)), h.getValueAtPercentile(p));
        }
        m.put("max", h.getMaxValue());
        m.put("mean", h.getMean());
        return m;
    }
}
