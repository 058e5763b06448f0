package dev.sheaf.bench;

import dev.sheaf.allocator.CacheSpec;
import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * What a cache's sheaf capacity ({@link CacheSpec#withSheafCapacity}) does to bursts: the same
 * glibc-simple burst as {@link AllocatorBenchmark#burst} on a {@link SlabCache} of 64-byte objects
 * whose sheaves hold {@code capacity} objects ({@code -1}: the default, adaptive from the
 * kernel's table value, 60 at this size, up to four times that; other values pin the capacity).
 *
 * <p>A thread keeps two sheaves (main and spare). A burst that fits in them never leaves the
 * inlined fast path; a longer one exchanges sheaves with the barn and, past the barn's ten,
 * refills and flushes through the slabs. A larger capacity lets longer bursts stay on the fast
 * path, at the price of more free objects cached per thread and per barn and of longer (rarer)
 * refill and flush critical sections. The default row shows the adaptive capacity: a thread
 * whose bursts keep reaching the barn grows its own sheaves, so the rows 100 to 1600 of
 * {@code -1} need no tuning.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
@State(Scope.Thread)
public class SheafCapacityBenchmark {

    /** Objects per sheaf; -1 picks the kernel's table. */
    @Param({"-1", "256", "1024"})
    public int capacity;

    /** Objects per burst: allocate them all, then free them all. */
    @Param({"100", "400", "1000", "1600"})
    public int burst;

    private SlabAllocator allocator;
    private SlabCache cache;
    private long[] objects;

    @Setup(Level.Trial)
    public void open() {
        allocator = SlabAllocator.builder().capacity(256L << 20).build();
        cache = allocator.createCache(CacheSpec.of("capacity-" + capacity, 64).withSheafCapacity(capacity));
        objects = new long[burst];
    }

    @TearDown(Level.Trial)
    public void close() {
        cache.destroy();
        allocator.close();
    }

    /** The cache under test (for the smoke test's checks). */
    SlabCache cache() {
        return cache;
    }

    /** Time for the whole burst; divide by {@code burst} for the cost per object. */
    @Benchmark
    public long burst() {
        SlabCache c = cache;
        long[] os = objects;
        int n = burst;
        for (int i = 0; i < n; i++) {
            os[i] = c.alloc();
        }
        long x = 0;
        for (int i = 0; i < n; i++) {
            x += os[i];
            c.free(os[i]);
        }
        return x;
    }
}
