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
 * Floors under the single-thread alloc+free pair, measured beside Sheaf's pair in one run: what
 * a per-thread stack of addresses costs to pop and push back
 * <ul>
 *   <li>{@code stackInField}: held in a field of the benchmark - no thread lookup, no checks at all;</li>
 *   <li>{@code stackInThreadLocal}: found through a {@code ThreadLocal} on each operation, as a
 *       per-thread cache behind a plain {@code alloc()}/{@code free(long)} API must find it;</li>
 *   <li>{@code sheafCache}: {@code SlabCache.alloc()} and {@code free(long)}, which also look the
 *       thread's magazine up and check, on free, that the address is an object start of this
 *       cache that was handed out and is not the sheaf's top (the bad-input contract).</li>
 * </ul>
 * The distance between the rows is what the lookup and the checks cost on the machine at hand.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
@State(Scope.Thread)
public class PairFloorBenchmark {

    /** A sheaf-shaped stack of fake addresses: an array and a count. */
    static final class Stack {
        final long[] objects = new long[64];
        int size;

        Stack() {
            for (int i = 0; i < 32; i++) {
                objects[i] = 0x1_0000L + 64L * i;
            }
            size = 32;
        }

        long pop() {
            int n = size - 1;
            long a = objects[n];
            size = n;
            return a;
        }

        void push(long a) {
            int n = size;
            objects[n] = a;
            size = n + 1;
        }
    }

    private static final ThreadLocal<Stack> PER_THREAD = ThreadLocal.withInitial(Stack::new);

    private final Stack stack = new Stack();
    SlabAllocator allocator;
    SlabCache cache;

    @Setup
    public void open() {
        allocator = SlabAllocator.create();
        cache = allocator.createCache("pair-floor", 64);
    }

    @TearDown
    public void close() {
        allocator.close();
    }

    @Benchmark
    public long stackInField() {
        Stack s = stack;
        long a = s.pop();
        s.push(a);
        return a;
    }

    @Benchmark
    public long stackInThreadLocal() {
        long a = PER_THREAD.get().pop();
        PER_THREAD.get().push(a);
        return a;
    }

    @Benchmark
    public long sheafCache() {
        long a = cache.alloc();
        cache.free(a);
        return a;
    }
}
