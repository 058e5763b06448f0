package dev.sheaf.bench;

import dev.sheaf.bench.peer.NettyPeer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Netty through its own object API ({@code directBuffer} + {@code release}), without the
 * {@code HandleTable} the address-style peer needs: shows what that mapping costs, so the
 * Netty rows of {@link AllocatorBenchmark} can be read fairly.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xss1m"})
@State(Scope.Thread)
public class NettyNativeApiBenchmark {

    @Param({"netty-pooled", "netty-adaptive"})
    public String peer;

    @Param("64")
    public int size;

    @Param("1000")
    public int burst;

    private ByteBufAllocator allocator;
    private ByteBuf[] bufs;

    @Setup(Level.Trial)
    public void open() {
        allocator = NettyPeer.nettyAllocator(peer);
        bufs = new ByteBuf[burst];
    }

    @Benchmark
    public ByteBuf pair() {
        ByteBuf b = allocator.directBuffer(size, size);
        b.release();
        return b;
    }

    @Benchmark
    public int burst() {
        ByteBuf[] bs = bufs;
        for (int i = 0; i < bs.length; i++) {
            bs[i] = allocator.directBuffer(size, size);
        }
        int x = 0;
        for (int i = 0; i < bs.length; i++) {
            x += bs[i].writerIndex();
            bs[i].release();
            bs[i] = null;
        }
        return x;
    }
}
