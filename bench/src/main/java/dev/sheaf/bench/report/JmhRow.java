package dev.sheaf.bench.report;

import java.util.Collection;
import java.util.List;
import java.util.ArrayList;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;

/**
 * One JMH result reduced to what the tables need.
 *
 * @param benchmark   short name: {@code pair}, {@code burst}, {@code pc}, {@code netty-api pair},
 *                    {@code netty-alloc 1024} (ByteBufAllocator allocate+release of 1024 bytes)...
 * @param peer        the peer parameter
 * @param burst       objects per burst (0 when not a burst)
 * @param nanos       score in ns/op
 * @param error       99.9% confidence half-width (NaN with too few iterations)
 * @param bytesPerOp  {@code gc.alloc.rate.norm}, or NaN without {@code -prof gc}
 */
public record JmhRow(String benchmark, String peer, int burst, double nanos, double error, double bytesPerOp) {

    /** Prefix of the {@code NettyAllocatorBenchmark} rows, followed by the buffer size in bytes. */
    public static final String NETTY_ALLOC = "netty-alloc ";

    /** ns per object: bursts are divided by their size. */
    public double nanosPerObject() {
        return burst > 0 ? nanos / burst : nanos;
    }

    public static List<JmhRow> from(Collection<RunResult> results) {
        List<JmhRow> rows = new ArrayList<>();
        for (RunResult r : results) {
            var params = r.getParams();
            String full = params.getBenchmark();
            String cls = full.substring(0, full.lastIndexOf('.'));
            String method = full.substring(full.lastIndexOf('.') + 1);
            String name = cls.endsWith("NettyNativeApiBenchmark") ? "netty-api " + method
                    : cls.endsWith("NettyAllocatorBenchmark") ? NETTY_ALLOC + params.getParam("size")
                    : cls.endsWith("OffHeapCacheBenchmark") ? "cache " + method
                    : cls.endsWith("HotPathBenchmark") ? "hot " + method
                    : cls.endsWith("FactoryThreadBenchmark") ? "factory " + method
                    : cls.endsWith("HotBurstBenchmark") ? "hot-burst " + method
                    : cls.endsWith("FreeRcuBenchmark") ? "freeRcu " + params.getParam("drain")
                    : cls.endsWith("RcuReadBenchmark") ? "rcu-read " + method : method;
            var keys = params.getParamsKeys();
            String peer = keys.contains("peer") ? params.getParam("peer")
                    : keys.contains("map") ? params.getParam("map")
                    : keys.contains("path") ? params.getParam("path") : "-";
            String burstParam = keys.contains("burst") ? params.getParam("burst") : null;
            boolean perBurst = "burst".equals(method) || cls.endsWith("HotBurstBenchmark");
            int burst = perBurst && burstParam != null ? Integer.parseInt(burstParam) : 0;
            Result<?> primary = r.getPrimaryResult();
            Result<?> gc = r.getSecondaryResults().get("gc.alloc.rate.norm");
            double bytes = gc == null ? Double.NaN : gc.getScore() / (burst > 0 ? burst : 1);
            rows.add(new JmhRow(name, peer, burst, primary.getScore(), primary.getScoreError(), bytes));
        }
        return rows;
    }
}
