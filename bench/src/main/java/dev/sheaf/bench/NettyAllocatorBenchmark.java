package dev.sheaf.bench;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.bench.peer.NettyPeer;
import dev.sheaf.netty.SheafByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.concurrent.TimeUnit;
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

/**
 * {@code ByteBuf} allocate+release through Netty's {@link ByteBufAllocator} API: Sheaf's
 * {@link SheafByteBufAllocator} against Netty's pooled and adaptive allocators, peers in one run,
 * leak detection off for all three (as in {@link NettyNativeApiBenchmark}). The benchmark threads are
 * event-loop-like ({@link EventLoopThreadExecutor}): Netty recycles {@code ByteBuf} objects and
 * keeps its thread caches only on {@code FastThreadLocalThread}s, which is where a server allocates.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xss1m",
        "-Djmh.executor=CUSTOM", "-Djmh.executor.class=dev.sheaf.bench.EventLoopThreadExecutor"})
@State(Scope.Thread)
public class NettyAllocatorBenchmark {

    /** Name of the Sheaf row. */
    public static final String SHEAF = "sheaf";

    @Param({SHEAF, "netty-pooled", "netty-adaptive"})
    public String peer;

    @Param({"64", "1024", "16384", "65536"})
    public int size;

    private SlabAllocator sheaf;
    private ByteBufAllocator allocator;

    @Setup(Level.Trial)
    public void open() {
        if (!(Thread.currentThread() instanceof io.netty.util.concurrent.FastThreadLocalThread)) {
            throw new IllegalStateException("not on an event-loop-like thread: " + Thread.currentThread());
        }
        if (SHEAF.equals(peer)) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
            sheaf = SlabAllocator.create();
            allocator = SheafByteBufAllocator.create(sheaf);
        } else {
            allocator = NettyPeer.nettyAllocator(peer);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        if (sheaf != null) {
            sheaf.close();
        }
    }

    @Benchmark
    public ByteBuf pair() {
        ByteBuf b = allocator.directBuffer(size, size);
        b.release();
        return b;
    }
}
