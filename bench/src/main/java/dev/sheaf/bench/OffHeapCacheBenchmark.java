package dev.sheaf.bench;

import dev.sheaf.bench.cache.ByteCache;
import dev.sheaf.bench.cache.HeapByteCache;
import dev.sheaf.bench.cache.RcuOffHeapCache;
import dev.sheaf.bench.cache.RefCountedOffHeapCache;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
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

/**
 * The off-heap cache against its reference-counted twin and {@code ConcurrentHashMap<Long, byte[]>}:
 * a get, a put, and a get racing a put on another thread ({@code readWrite} group). 64-byte values,
 * {@code entries} keys, 90% of requests on a hot 1%. Run with {@code -prof gc}: the heap map pays in
 * garbage what the off-heap maps do not.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xss1m"})
@State(Scope.Benchmark)
public class OffHeapCacheBenchmark {
    private static final int VALUE = 64;

    /** rcu: SlabCache.freeRcu (rcu sheaf); rcu-link: SlabAllocator.freeRcu(entry, linkOffset). */
    @Param({"rcu", "rcu-link", "refcount", "heap"})
    public String map;

    @Param("100000")
    public int entries;

    ByteCache cache;

    @Setup(Level.Trial)
    public void open() {
        cache = switch (map) {
            case "rcu" -> new RcuOffHeapCache(entries, VALUE);
            case "rcu-link" -> new RcuOffHeapCache(entries, VALUE, true);
            case "refcount" -> new RefCountedOffHeapCache(entries, VALUE);
            case "heap" -> new HeapByteCache(entries, VALUE);
            default -> throw new IllegalArgumentException(map);
        };
        byte[] v = new byte[VALUE];
        for (int k = 0; k < entries; k++) {
            cache.put(k, v, VALUE);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        cache.close();
    }

    /** Per-thread key stream, buffers and read handle ({@link ByteCache#reader()}: no thread lookup per get). */
    @State(Scope.Thread)
    public static class Client {
        private long seed = System.nanoTime() | 1;
        final byte[] buffer = new byte[VALUE];
        ByteCache.Reader reader;

        @Setup(Level.Trial)
        public void open(OffHeapCacheBenchmark b) {
            reader = b.cache.reader();
        }

        @TearDown(Level.Trial)
        public void close() {
            reader.close();
        }

        long nextKey(int entries) {
            long x = seed;
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            seed = x;
            int r = (int) (x >>> 33);
            return (r & 15) < 14 ? r % Math.max(1, entries / 100) : r % entries; // ~90% on the hot 1%
        }
    }

    @Benchmark
    public int get(Client c) {
        return c.reader.get(c.nextKey(entries), c.buffer);
    }

    @Benchmark
    public void put(Client c) {
        cache.put(c.nextKey(entries), c.buffer, VALUE);
    }

    @Benchmark
    @Group("readWrite")
    @GroupThreads(1)
    public int readWriteGet(Client c) {
        return c.reader.get(c.nextKey(entries), c.buffer);
    }

    @Benchmark
    @Group("readWrite")
    @GroupThreads(1)
    public void readWritePut(Client c) {
        cache.put(c.nextKey(entries), c.buffer, VALUE);
    }
}
