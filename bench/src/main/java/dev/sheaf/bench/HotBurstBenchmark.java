package dev.sheaf.bench;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import dev.sheaf.bench.peer.DirectNative;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Bursts of {@code burst} allocations of 64 bytes followed by as many frees, on one thread, with
 * default settings: Sheaf's {@code SlabCache} (plain and through {@code SlabCache.Local}) and
 * {@code SlabAllocator.malloc}, beside glibc, mimalloc and tcmalloc called straight from the
 * benchmark method ({@link DirectNative}). The score is the time of the whole burst; divide by
 * {@code burst} for the cost per object (the ratios between rows are the same either way).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
@State(Scope.Thread)
public class HotBurstBenchmark {

    static final long SIZE = 64;

    @Param({"100", "400", "1000", "1600"})
    public int burst;

    long[] objects;
    SlabAllocator allocator;
    SlabCache cache;
    SlabCache.Local localCache;

    @Setup
    public void open() {
        objects = new long[burst];
        allocator = SlabAllocator.create();
        cache = allocator.createCache("hot-burst", SIZE);
        localCache = cache.local();
    }

    @TearDown
    public void close() {
        localCache.close();
        allocator.close();
    }

    @Benchmark
    public long glibc() {
        long[] o = objects;
        for (int i = 0; i < o.length; i++) {
            o[i] = DirectNative.glibcMalloc(SIZE);
        }
        long x = 0;
        for (long a : o) {
            x += a;
            DirectNative.glibcFree(a);
        }
        return x;
    }

    @Benchmark
    public long mimalloc() {
        long[] o = objects;
        for (int i = 0; i < o.length; i++) {
            o[i] = DirectNative.mimallocMalloc(SIZE);
        }
        long x = 0;
        for (long a : o) {
            x += a;
            DirectNative.mimallocFree(a);
        }
        return x;
    }

    @Benchmark
    public long tcmalloc() {
        long[] o = objects;
        for (int i = 0; i < o.length; i++) {
            o[i] = DirectNative.tcmallocMalloc(SIZE);
        }
        long x = 0;
        for (long a : o) {
            x += a;
            DirectNative.tcmallocFree(a);
        }
        return x;
    }

    @Benchmark
    public long cache() {
        SlabCache c = cache;
        long[] o = objects;
        for (int i = 0; i < o.length; i++) {
            o[i] = c.alloc();
        }
        long x = 0;
        for (long a : o) {
            x += a;
            c.free(a);
        }
        return x;
    }

    @Benchmark
    public long localCache() {
        SlabCache.Local c = localCache;
        long[] o = objects;
        for (int i = 0; i < o.length; i++) {
            o[i] = c.alloc();
        }
        long x = 0;
        for (long a : o) {
            x += a;
            c.free(a);
        }
        return x;
    }

    @Benchmark
    public long malloc() {
        SlabAllocator h = allocator;
        long[] o = objects;
        for (int i = 0; i < o.length; i++) {
            o[i] = h.malloc(SIZE);
        }
        long x = 0;
        for (long a : o) {
            x += a;
            h.free(a);
        }
        return x;
    }
}
