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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The single-thread alloc+free pair of 64-byte objects, every way a JVM user can call it, beside
 * the anchor the hot-path targets are stated against: glibc, mimalloc and tcmalloc called straight
 * from the benchmark method through {@code static final} critical downcall handles
 * ({@link DirectNative}: no peer interface, no handle table). A library that is not installed
 * fails its own row only.
 * <ul>
 *   <li>{@code cachePair}: {@code SlabCache.alloc()} / {@code free(long)}, the thread's magazine
 *       looked up on each call;</li>
 *   <li>{@code localCachePair}: the same through a thread-bound {@code SlabCache.Local};</li>
 *   <li>{@code mallocPair}, {@code localMallocPair}: {@code SlabAllocator.malloc(64)} / {@code free}, plain
 *       and through {@code SlabAllocator.Local}.</li>
 * </ul>
 * The factory-thread row (the plain API on a thread from {@code SlabAllocator.threadFactory()})
 * is {@link FactoryThreadBenchmark}. Run with {@code -prof gc} for B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
@State(Scope.Thread)
public class HotPathBenchmark {

    static final long SIZE = 64;

    SlabAllocator allocator;
    SlabCache cache;
    SlabCache.Local localCache;
    SlabAllocator.Local localHeap;

    @Setup
    public void open() {
        allocator = SlabAllocator.create();
        cache = allocator.createCache("hot-path", SIZE);
        localCache = cache.local();
        localHeap = allocator.local();
    }

    @TearDown
    public void close() {
        localCache.close();
        localHeap.close();
        allocator.close();
    }

    @Benchmark
    public long glibcPair() {
        long a = DirectNative.glibcMalloc(SIZE);
        DirectNative.glibcFree(a);
        return a;
    }

    @Benchmark
    public long mimallocPair() {
        long a = DirectNative.mimallocMalloc(SIZE);
        DirectNative.mimallocFree(a);
        return a;
    }

    @Benchmark
    public long tcmallocPair() {
        long a = DirectNative.tcmallocMalloc(SIZE);
        DirectNative.tcmallocFree(a);
        return a;
    }

    @Benchmark
    public long cachePair() {
        long a = cache.alloc();
        cache.free(a);
        return a;
    }

    @Benchmark
    public long localCachePair() {
        SlabCache.Local l = localCache;
        long a = l.alloc();
        l.free(a);
        return a;
    }

    @Benchmark
    public long mallocPair() {
        long a = allocator.malloc(SIZE);
        allocator.free(a);
        return a;
    }

    @Benchmark
    public long localMallocPair() {
        SlabAllocator.Local l = localHeap;
        long a = l.malloc(SIZE);
        l.free(a);
        return a;
    }
}
