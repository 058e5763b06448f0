package dev.sheaf.bench;

import dev.sheaf.bench.peer.AllocatorPeer;
import dev.sheaf.bench.peer.PeerUnavailableException;
import dev.sheaf.bench.peer.Peers;
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
 * Issue 3's single-thread rows: one allocate + free pair, and a burst of {@code burst}
 * allocations followed by as many frees, for every peer through {@link AllocatorPeer}.
 * Each peer runs in its own fork, so the interface call is monomorphic and inlined.
 * Run with {@code -prof gc} to see bytes per operation.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xss1m"})
@State(Scope.Thread)
public class AllocatorBenchmark {

    @Param({"sheaf-cache", "sheaf-malloc", "glibc", "mimalloc", "tcmalloc", "netty-pooled", "netty-adaptive",
            "arena-confined"})
    public String peer;

    @Param("64")
    public long size;

    /** Objects per burst (glibc-simple shape: allocate them all, then free them all). */
    @Param("1000")
    public int burst;

    private AllocatorPeer allocator;
    private long[] handles;

    @Setup(Level.Trial)
    public void open() throws PeerUnavailableException {
        allocator = Peers.open(peer, size);
        handles = new long[burst];
    }

    @TearDown(Level.Trial)
    public void close() {
        allocator.close();
    }

    @Benchmark
    public long pair() {
        long h = allocator.allocate(size);
        allocator.free(h, size);
        return h;
    }

    /** Time for the whole burst; divide by {@code burst} for the cost per object. */
    @Benchmark
    public long burst() {
        AllocatorPeer a = allocator;
        long[] hs = handles;
        long s = size;
        int n = burst;
        for (int i = 0; i < n; i++) {
            hs[i] = a.allocate(s);
        }
        long x = 0;
        for (int i = 0; i < n; i++) {
            x += hs[i];
            a.free(hs[i], s);
        }
        return x;
    }
}
