package dev.sheaf.bench;

import dev.sheaf.bench.harness.LongSpscRing;
import dev.sheaf.bench.peer.AllocatorPeer;
import dev.sheaf.bench.peer.PeerUnavailableException;
import dev.sheaf.bench.peer.Peers;
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
import org.openjdk.jmh.infra.Control;

/**
 * Issue 3's producer/consumer row: one thread allocates and hands each object to another
 * thread through a garbage-free SPSC ring; that thread frees it. Every object is freed by a
 * thread that did not allocate it, which is what a server's request buffers go through.
 * A full (or empty) ring makes the side spin, so both sides run at the pair's common rate;
 * the group score is the time per object. {@code arena-confined} cannot free on another
 * thread and is not in the list. JMH runs the peers one after the other and cannot interleave
 * them within a fork; the harness's {@code producer-consumer} workload
 * ({@code XmallocWorkload.producerConsumer()}) is the same loop run in rounds interleaved across
 * peers, with each peer's median round and spread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xss1m"})
@State(Scope.Group)
public class ProducerConsumerBenchmark {

    @Param({"sheaf-cache", "sheaf-malloc", "glibc", "mimalloc", "tcmalloc", "netty-pooled", "netty-adaptive"})
    public String peer;

    @Param("64")
    public long size;

    private AllocatorPeer allocator;
    private LongSpscRing ring;

    @Setup(Level.Trial)
    public void open() throws PeerUnavailableException {
        allocator = Peers.open(peer, size);
        if (!allocator.crossThreadFree()) {
            throw new IllegalStateException(peer + " cannot free on another thread");
        }
        ring = new LongSpscRing(1024);
    }

    @TearDown(Level.Iteration)
    public void drain() {
        long h;
        while ((h = ring.poll()) != 0) {
            allocator.free(h, size);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        allocator.close();
    }

    @Benchmark
    @Group("pc")
    @GroupThreads(1)
    public void produce(Control control) {
        long h = allocator.allocate(size);
        while (!ring.offer(h)) {
            if (control.stopMeasurement) {
                allocator.free(h, size); // the consumer has stopped; keep nothing
                return;
            }
            Thread.onSpinWait();
        }
    }

    @Benchmark
    @Group("pc")
    @GroupThreads(1)
    public void consume(Control control) {
        long h;
        while ((h = ring.poll()) == 0) {
            if (control.stopMeasurement) {
                return;
            }
            Thread.onSpinWait();
        }
        allocator.free(h, size);
    }
}
