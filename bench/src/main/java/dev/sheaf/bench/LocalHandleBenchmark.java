package dev.sheaf.bench;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
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
 * The single-thread alloc+free pair on JMH's own (ordinary) threads: through the plain entry
 * points, which find the thread's magazine on every call, and through thread-bound handles
 * ({@code SlabCache.local()}, {@code SlabAllocator.local()}), which hold it. The handles are
 * created in a per-thread {@code @Setup}, which JMH runs on the benchmark thread itself. The same
 * plain pairs on Sheaf-aware threads: {@link LocalHandleFactoryThreadBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
@State(Scope.Thread)
public class LocalHandleBenchmark {

    SlabAllocator allocator;
    SlabCache cache;
    SlabCache.Local cacheHandle;
    SlabAllocator.Local allocatorHandle;

    @Setup
    public void open() {
        allocator = SlabAllocator.create();
        cache = allocator.createCache("local-handle", 64);
        cacheHandle = cache.local();
        allocatorHandle = allocator.local();
    }

    @TearDown
    public void close() {
        cacheHandle.close();
        allocatorHandle.close();
        allocator.close();
    }

    @Benchmark
    public long cachePlain() {
        long a = cache.alloc();
        cache.free(a);
        return a;
    }

    @Benchmark
    public long cacheLocal() {
        SlabCache.Local h = cacheHandle;
        long a = h.alloc();
        h.free(a);
        return a;
    }

    @Benchmark
    public long mallocPlain() {
        long a = allocator.malloc(64);
        allocator.free(a);
        return a;
    }

    @Benchmark
    public long mallocLocal() {
        SlabAllocator.Local h = allocatorHandle;
        long a = h.malloc(64);
        h.free(a);
        return a;
    }
}
