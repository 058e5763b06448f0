package dev.sheaf.bench;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import dev.sheaf.bench.peer.DirectNative;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * What debug mode ({@code SlabAllocator.builder().debug(true)}) costs, single thread, 64-byte
 * objects, beside debug off and glibc: the {@code SlabCache} and {@code malloc} pairs, a burst of
 * 100 allocations then 100 frees (per object), and {@code segmentPair}: alloc, {@code segment(p)},
 * free, where in debug mode the free closes the segment's shared arena (a thread handshake).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
@State(Scope.Thread)
public class DebugModeBenchmark {

    static final long SIZE = 64;
    static final int BURST = 100;

    @Param({"off", "on"})
    public String debug;

    SlabAllocator allocator;
    SlabCache cache;
    final long[] burst = new long[BURST];

    @Setup
    public void open() {
        allocator = SlabAllocator.builder().debug(debug.equals("on")).build();
        cache = allocator.createCache("debug-bench", SIZE);
    }

    @TearDown
    public void close() {
        allocator.close();
    }

    @Benchmark
    public long glibcPair() {
        long a = DirectNative.glibcMalloc(SIZE);
        DirectNative.glibcFree(a);
        return a;
    }

    @Benchmark
    public long cachePair() {
        long a = cache.alloc();
        cache.free(a);
        return a;
    }

    @Benchmark
    public long mallocPair() {
        long a = allocator.malloc(SIZE);
        allocator.free(a);
        return a;
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public long cacheBurst() {
        long[] b = burst;
        for (int i = 0; i < BURST; i++) {
            b[i] = cache.alloc();
        }
        for (int i = 0; i < BURST; i++) {
            cache.free(b[i]);
        }
        return b[0];
    }

    @Benchmark
    public long segmentPair() {
        long a = allocator.malloc(SIZE);
        MemorySegment s = allocator.segment(a);
        s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1);
        allocator.free(a);
        return a;
    }
}
