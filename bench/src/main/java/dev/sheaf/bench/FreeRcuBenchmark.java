package dev.sheaf.bench;

import dev.sheaf.allocator.CacheSpec;
import dev.sheaf.allocator.RcuFreeStats;
import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import dev.sheaf.bench.peer.RawMemory;
import dev.sheaf.rcu.Rcu;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.concurrent.TimeUnit;

/**
 * Free after a grace period, 64-byte objects, one caller thread (the drainer and the RCU worker
 * run on the other core). Each invocation frees {@value #BATCH} objects allocated in an untimed
 * per-invocation setup, so the score is the cost of one free-after-grace-period call on the
 * caller's thread:
 * <ul>
 *   <li>{@code default}: {@code SlabAllocator.freeRcu(addr, off)} as built by default - a kmalloc object joins the
 *       caller's rcu sheaf of its size class;</li>
 *   <li>{@code chain}: {@code SlabAllocator.freeRcu(addr, off)} with rcu sheaves off - the 8-byte in-object chain;</li>
 *   <li>{@code headless}: {@code SlabAllocator.freeRcu(addr)} - bulk arrays;</li>
 *   <li>{@code sheaf}: {@code SlabCache.freeRcu(addr)} - the rcu sheaf;</li>
 *   <li>{@code local-sheaf}, {@code local-malloc}: the same two through the thread-bound handles
 *       {@code SlabCache.Local.freeRcu(addr)} and {@code SlabAllocator.Local.freeRcu(addr, off)};</li>
 *   <li>{@code call}: {@code rcu.call(() -> allocator.free(addr))} per object, the approach the RFC calls inefficient.</li>
 * </ul>
 * Auxiliary counters (averages over the measurement iterations, computed at the end of each
 * iteration from the engine and domain stats): {@code freedPerSecond} objects actually freed per
 * second (not just queued), {@code gracePeriodsPerMillion} grace periods the domain ran per million
 * objects freed, and {@code peakPendingMiB} the engine's peak sealed-and-unfreed memory since the
 * trial began (bound: rcuPendingLimit, 64 MiB by default). The whole-trial totals are printed at
 * the end of each trial. Run with {@code -prof gc} for B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
public class FreeRcuBenchmark {

    static final int BATCH = 1000;
    static final int DRAIN_EVERY = 256;

    /** One allocator, domain and batch of objects per trial. */
    @State(Scope.Thread)
    public static class Env {
        @Param({"default", "chain", "headless", "sheaf", "local-sheaf", "local-malloc", "call"})
        public String path;

        /**
         * caller: every {@value #DRAIN_EVERY} invocations the untimed setup waits for everything
         * pending (rcuBarrier / rcu.barrier), so the score is the cost of the call on the caller's
         * thread; sustained: nothing is waited for outside the timed region, so the score also
         * carries the help-drain and pending-bound waits a flood has to pay on two cores.
         */
        @Param({"caller", "sustained"})
        public String drain;

        Rcu rcu;
        SlabAllocator allocator;
        SlabCache cache;
        /** The benchmark thread's handles (JMH runs setup and benchmark on one thread per Scope.Thread state). */
        SlabCache.Local localCache;
        SlabAllocator.Local localHeap;
        final long[] objects = new long[BATCH];
        long invocations;
        long iterationStart;
        long freedAtStart;
        long gracePeriodsAtStart;

        /**
         * JMH sums EVENTS counters over the measurement iterations of every fork: each iteration
         * adds value / this, so the reported figure is the average whatever -f and -i are.
         */
        int measurementIterations;

        @Setup(Level.Trial)
        public void open(BenchmarkParams params) {
            open(Math.max(1, params.getMeasurement().getCount()) * Math.max(1, params.getForks()));
        }

        void open(int measurementIterations) {
            this.measurementIterations = measurementIterations;
            rcu = Rcu.builder().name("bench-free-rcu").build();
            allocator = SlabAllocator.builder().rcu(rcu).rcuSheaves(!path.equals("chain")).build();
            cache = allocator.createCache(CacheSpec.of("bench-rcu-64", 64));
            localCache = cache.local();
            localHeap = allocator.local();
        }

        @Setup(Level.Invocation)
        public void allocate() {
            if (++invocations % DRAIN_EVERY == 0 && drain.equals("caller")) {
                if (path.equals("call")) {
                    rcu.barrier();
                } else {
                    allocator.rcuBarrier();
                }
            }
            for (int i = 0; i < BATCH; i++) {
                long a = path.endsWith("sheaf") ? cache.alloc() : allocator.malloc(64);
                // The user has written its object before freeing it, so its line is in the caller's
                // cache, as it is in real use; without this the chain path's link store would pay
                // for the setup's artefact (a line last written by the drainer on the other core).
                RawMemory.putLong(a + 8, i);
                objects[i] = a;
            }
        }

        long freed() {
            return path.equals("call") ? rcu.stats().callbacksInvoked() : allocator.rcuStats().freed();
        }

        @Setup(Level.Iteration)
        public void iterationStart() {
            iterationStart = System.nanoTime();
            freedAtStart = freed();
            gracePeriodsAtStart = rcu.stats().gracePeriods();
        }

        void iterationEnd(Counters c) {
            if (iterationStart == 0) {
                return;
            }
            long elapsed = System.nanoTime() - iterationStart;
            long freed = freed() - freedAtStart;
            long gps = rcu.stats().gracePeriods() - gracePeriodsAtStart;
            double share = 1.0 / measurementIterations;
            c.freedPerSecond = share * freed * 1e9 / Math.max(1, elapsed);
            c.gracePeriodsPerMillion = freed == 0 ? Double.NaN : share * gps * 1e6 / freed;
            c.peakPendingMiB = path.equals("call") ? Double.NaN
                    : share * allocator.rcuStats().peakPendingBytes() / (double) (1 << 20);
        }

        @TearDown(Level.Trial)
        public void close() {
            localCache.close();
            localHeap.close();
            allocator.rcuBarrier();
            rcu.barrier();
            RcuFreeStats s = allocator.rcuStats();
            Rcu.Stats r = rcu.stats();
            System.out.printf("%n[free-rcu %s] domain grace periods=%d callbacks=%d; engine %s%n",
                    path, r.gracePeriods(), r.callbacksInvoked(), s);
            allocator.close();
            rcu.close();
        }
    }

    /** Per-iteration figures read from the stats at the end of the iteration. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Counters {
        public double freedPerSecond;
        public double gracePeriodsPerMillion;
        public double peakPendingMiB;

        Env env;

        @TearDown(Level.Iteration)
        public void iterationEnd() {
            if (env != null) {
                env.iterationEnd(this);
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void freeRcu(Env e, Counters c) {
        c.env = e;
        long[] o = e.objects;
        switch (e.path) {
            case "default", "chain" -> {
                SlabAllocator a = e.allocator;
                for (int i = 0; i < BATCH; i++) {
                    a.freeRcu(o[i], 0);
                }
            }
            case "headless" -> {
                SlabAllocator a = e.allocator;
                for (int i = 0; i < BATCH; i++) {
                    a.freeRcu(o[i]);
                }
            }
            case "sheaf" -> {
                SlabCache cache = e.cache;
                for (int i = 0; i < BATCH; i++) {
                    cache.freeRcu(o[i]);
                }
            }
            case "local-sheaf" -> {
                SlabCache.Local l = e.localCache;
                for (int i = 0; i < BATCH; i++) {
                    l.freeRcu(o[i]);
                }
            }
            case "local-malloc" -> {
                SlabAllocator.Local l = e.localHeap;
                for (int i = 0; i < BATCH; i++) {
                    l.freeRcu(o[i], 0);
                }
            }
            default -> {
                SlabAllocator a = e.allocator;
                Rcu rcu = e.rcu;
                for (int i = 0; i < BATCH; i++) {
                    long addr = o[i];
                    rcu.call(() -> a.free(addr));
                }
            }
        }
    }
}
