package dev.sheaf.bench.harness;

/**
 * Knobs shared by the harness workloads. Defaults fit a 2-core machine.
 *
 * @param seconds     how long one run of a workload on one peer lasts (one round, when the harness runs rounds)
 * @param threads     worker threads (workloads that pair threads use {@code threads / 2} pairs, at least 1)
 * @param minSize     smallest object size for random-size workloads
 * @param maxSize     largest object size for random-size workloads
 * @param poolSize    live objects per thread (Larson) or per round (thread churn)
 * @param opsPerSecond fixed request rate of the latency thread
 * @param seed        random seed, so runs are repeatable
 */
public record WorkloadConfig(double seconds, int threads, int minSize, int maxSize, int poolSize, int opsPerSecond,
                             long seed) {

    public WorkloadConfig {
        if (!(seconds > 0)) {
            throw new IllegalArgumentException("seconds must be positive: " + seconds);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        if (minSize < 8 || maxSize < minSize) {
            throw new IllegalArgumentException("need 8 <= minSize <= maxSize: " + minSize + ", " + maxSize);
        }
        if (poolSize < 1 || opsPerSecond < 1) {
            throw new IllegalArgumentException("poolSize and opsPerSecond must be positive");
        }
    }

    /** Larson's sizes (8 to 1000 bytes), 2 threads, 1000 live objects per thread, 50 000 latency samples/s. */
    public static WorkloadConfig defaults(double seconds) {
        return new WorkloadConfig(seconds, 2, 8, 1000, 1000, 50_000, 42);
    }

    public WorkloadConfig withSeconds(double s) {
        return new WorkloadConfig(s, threads, minSize, maxSize, poolSize, opsPerSecond, seed);
    }

    public WorkloadConfig withThreads(int t) {
        return new WorkloadConfig(seconds, t, minSize, maxSize, poolSize, opsPerSecond, seed);
    }

    public long nanos() {
        return (long) (seconds * 1e9);
    }
}
