package dev.sheaf.bench;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import dev.sheaf.netty.SheafByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.Recycler;
import io.netty.util.ResourceLeakDetector;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Where the time of a {@code ByteBuf} allocate+release through {@link SheafByteBufAllocator} goes:
 * the whole pair beside its parts (Sheaf's 64-byte pair per call and through a handle, Netty's
 * {@code Recycler} get+recycle, one uncontended CAS), on event-loop-like threads as
 * {@link NettyAllocatorBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xss1m",
        "-Djmh.executor=CUSTOM", "-Djmh.executor.class=dev.sheaf.bench.EventLoopThreadExecutor"})
@State(Scope.Thread)
public class NettyPathAttribution {

    private static final Recycler<Box> BOXES = new Recycler<>() {
        @Override
        protected Box newObject(Handle<Box> handle) {
            return new Box(handle);
        }
    };

    /** A recycled object with one field, as a pooled ByteBuf's shell. */
    static final class Box {
        final Recycler.Handle<Box> handle;
        long value;

        Box(Recycler.Handle<Box> handle) {
            this.handle = handle;
        }
    }

    private SlabAllocator sheaf;
    private SlabCache cache;
    private SlabCache.Local local;
    private ByteBufAllocator allocator;
    private final AtomicInteger count = new AtomicInteger();

    /** Opens Sheaf and its ByteBufAllocator. */
    @Setup(Level.Trial)
    public void open() {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        sheaf = SlabAllocator.create();
        cache = sheaf.sizeClassCache(64);
        local = cache.local();
        allocator = SheafByteBufAllocator.create(sheaf);
    }

    /** Closes Sheaf. */
    @TearDown(Level.Trial)
    public void close() {
        local.close();
        sheaf.close();
    }

    /** The whole pair at 64 B. @return the buffer */
    @Benchmark
    public ByteBuf byteBufPair() {
        ByteBuf b = allocator.directBuffer(64, 64);
        b.release();
        return b;
    }

    /** Sheaf's pair per call. @return the address */
    @Benchmark
    public long sheafPair() {
        long a = cache.alloc();
        cache.free(a);
        return a;
    }

    /** Sheaf's pair through a handle. @return the address */
    @Benchmark
    public long sheafLocalPair() {
        long a = local.alloc();
        local.free(a);
        return a;
    }

    /** Netty's Recycler get+recycle. @return the object */
    @Benchmark
    public Object recyclerPair() {
        Box b = BOXES.get();
        b.value = 1;
        b.handle.recycle(b);
        return b;
    }

    /** A plain set then a CAS 1 to 0, as a reset and a final release. @return the count */
    @Benchmark
    public int casPair() {
        count.lazySet(1);
        return count.compareAndSet(1, 0) ? 0 : 1;
    }
}
