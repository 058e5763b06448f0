package dev.sheaf.bench;

import dev.sheaf.allocator.SheafThread;
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
 * The plain alloc+free pairs of {@link HotPathBenchmark} on Sheaf-aware threads: the fork runs
 * JMH's benchmark threads on {@link SheafThreadExecutor}, so {@code alloc()}/{@code free(long)}
 * find the thread's magazine in the thread's own table. The setup refuses to run on any other
 * thread, so a fork that ignored the executor property cannot report numbers.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m", "-Djmh.executor=CUSTOM",
        "-Djmh.executor.class=dev.sheaf.bench.SheafThreadExecutor"})
@State(Scope.Thread)
public class FactoryThreadBenchmark {

    SlabAllocator allocator;
    SlabCache cache;

    @Setup
    public void open() {
        if (!(Thread.currentThread() instanceof SheafThread)) {
            throw new IllegalStateException("not on a Sheaf-aware thread: " + Thread.currentThread());
        }
        allocator = SlabAllocator.create();
        cache = allocator.createCache("factory-thread", 64);
    }

    @TearDown
    public void close() {
        allocator.close();
    }

    @Benchmark
    public long cachePair() {
        long a = cache.alloc();
        cache.free(a);
        return a;
    }

    @Benchmark
    public long mallocPair() {
        long a = allocator.malloc(64);
        allocator.free(a);
        return a;
    }
}
