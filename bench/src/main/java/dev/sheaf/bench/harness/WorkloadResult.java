package dev.sheaf.bench.harness;

import java.util.LinkedHashMap;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one workload measured on one peer: operations over wall time, named extra figures,
 * and latency histograms (nanoseconds) when the workload records them.
 */
public final class WorkloadResult {
    /** Figure: how many interleaved rounds the reported (median) round was picked from. */
    public static final String ROUNDS = "rounds";
    /** Figure: the slowest round's throughput, million operations per second. */
    public static final String MIN_MOPS = "min Mops/s";
    /** Figure: the fastest round's throughput, million operations per second. */
    public static final String MAX_MOPS = "max Mops/s";
    /**
     * Figure: the peer's peak reserved bytes in the reported round ({@code AllocatorPeer.peakReservedBytes()});
     * -1 when the peer does not expose it.
     */
    public static final String PEAK_RESERVED_BYTES = "peakReservedBytes";

    private final String workload;
    private final String peer;
    private final long operations;
    private final long elapsedNanos;
    private final Map<String, Double> figures = new LinkedHashMap<>();
    private final Map<String, Histogram> histograms = new LinkedHashMap<>();
    private String note = "";

    public WorkloadResult(String workload, String peer, long operations, long elapsedNanos) {
        this.workload = workload;
        this.peer = peer;
        this.operations = operations;
        this.elapsedNanos = elapsedNanos;
    }

    /**
     * Bytes as mebibytes for tables: {@code "12.3 MiB"}, or {@code "n/a"} when negative (not exposed).
     *
     * @param bytes a byte count, negative when unknown
     * @return the text
     */
    public static String mebibytes(double bytes) {
        return bytes < 0 ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }

    public WorkloadResult figure(String name, double value) {
        figures.put(name, value);
        return this;
    }

    public WorkloadResult histogram(String name, Histogram h) {
        histograms.put(name, h);
        return this;
    }

    public WorkloadResult note(String text) {
        this.note = text;
        return this;
    }

    public String workload() {
        return workload;
    }

    public String peer() {
        return peer;
    }

    public long operations() {
        return operations;
    }

    public long elapsedNanos() {
        return elapsedNanos;
    }

    /** Operations per second of wall time. */
    public double opsPerSecond() {
        return elapsedNanos == 0 ? 0 : operations * 1e9 / elapsedNanos;
    }

    public Map<String, Double> figures() {
        return figures;
    }

    public Map<String, Histogram> histograms() {
        return histograms;
    }

    public String note() {
        return note;
    }
}
