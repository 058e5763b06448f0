package dev.sheaf.bench.report;

import java.util.Locale;

/**
 * One workload of the README's results table: Sheaf's best figure and the best of each group of
 * peers, from one comparison run.
 *
 * @param workload       the workload as the table names it
 * @param unit           the unit of every figure in the row
 * @param higherIsBetter true for throughput (Mops/s), false for time (ns per object)
 * @param sheaf          Sheaf's better variant ({@code SlabCache} or {@code malloc}), or null
 * @param nativeBest     the best of glibc, mimalloc and tcmalloc (through FFM), or null
 * @param netty          the better of Netty's pooled and adaptive allocators, or null
 * @param arena          {@code Arena} per object, or null when it cannot run the workload
 */
public record SummaryRow(String workload, String unit, boolean higherIsBetter, Figure sheaf, Figure nativeBest,
                         Figure netty, Figure arena) {

    /**
     * One peer's figure.
     *
     * @param peer  the peer's name in the results files, e.g. {@code tcmalloc}
     * @param value the figure in the row's unit
     */
    public record Figure(String peer, double value) {
    }

    /**
     * How many times better Sheaf is than the best native peer (below 1 the peer wins).
     *
     * @return the ratio, or NaN when either figure is missing
     */
    public double ratio() {
        if (sheaf == null || nativeBest == null) {
            return Double.NaN;
        }
        return higherIsBetter ? sheaf.value() / nativeBest.value() : nativeBest.value() / sheaf.value();
    }

    /**
     * The ratio as the table prints it, e.g. {@code 1.52x}, or {@code -}.
     *
     * @return the formatted ratio
     */
    public String ratioText() {
        double r = ratio();
        return Double.isNaN(r) ? "-" : String.format(Locale.ROOT, "%.2fx", r);
    }
}
