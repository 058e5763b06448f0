package dev.sheaf.bench;

import dev.sheaf.rcu.Rcu;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.concurrent.locks.StampedLock;
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
 * Read-side cost: enter + read one shared field + exit, one thread, for the RCU flavors (implicit
 * thread lookup, try-with-resources section, explicit handle; EBR_MEMBARRIER rows name the reader
 * fence in use, printed at setup) against ReentrantReadWriteLock,
 * StampedLock optimistic read and an AtomicLong reference count. Run with {@code -prof gc}: every
 * row should be 0 B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
public class RcuReadBenchmark {

    /**
     * Everything one benchmark thread uses: the domains, its reader handles and the shared datum.
     * Thread scope, so setup and teardown run on the benchmark thread itself (threadOnline() and
     * register() belong to the calling thread).
     */
    @State(Scope.Thread)
    public static class Domains {
        Rcu ebr;
        Rcu qsbr;
        Rcu memb;
        Rcu.Reader ebrHandle;
        Rcu.Reader membHandle;
        Rcu.Reader qsbrHandle;
        final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();
        final StampedLock stamped = new StampedLock();
        final AtomicLong refcount = new AtomicLong();
        int datum = 42;

        @Setup(Level.Trial)
        public void open() {
            ebr = Rcu.builder().name("bench-ebr").build();
            qsbr = Rcu.builder().name("bench-qsbr").flavor(Rcu.Flavor.QSBR).build();
            memb = Rcu.builder().name("bench-memb").flavor(Rcu.Flavor.EBR_MEMBARRIER).build();
            System.out.println("EBR_MEMBARRIER reader fence: " + memb.readerFence() + " (" + Rcu.membarrierStatus() + ")");
            ebrHandle = ebr.register();
            membHandle = memb.register();
            qsbrHandle = qsbr.register();
            qsbr.threadOnline();
        }

        @TearDown(Level.Trial)
        public void close() {
            ebrHandle.close();
            qsbrHandle.close();
            membHandle.close();
            qsbr.threadOffline();
            memb.close();
            ebr.close();
            qsbr.close();
        }
    }

    @Benchmark
    public int ebrImplicit(Domains d) {
        Rcu rcu = d.ebr;
        rcu.readLock();
        int v = d.datum;
        rcu.readUnlock();
        return v;
    }

    @Benchmark
    public int ebrReadSection(Domains d) {
        try (Rcu.ReadSection _ = d.ebr.read()) {
            return d.datum;
        }
    }

    @Benchmark
    public int ebrHandle(Domains d) {
        Rcu.Reader h = d.ebrHandle;
        h.lock();
        int v = d.datum;
        h.unlock();
        return v;
    }

    @Benchmark
    public int membImplicit(Domains d) {
        Rcu rcu = d.memb;
        rcu.readLock();
        int v = d.datum;
        rcu.readUnlock();
        return v;
    }

    @Benchmark
    public int membReadSection(Domains d) {
        try (Rcu.ReadSection _ = d.memb.read()) {
            return d.datum;
        }
    }

    @Benchmark
    public int membHandle(Domains d) {
        Rcu.Reader h = d.membHandle;
        h.lock();
        int v = d.datum;
        h.unlock();
        return v;
    }

    @Benchmark
    public int qsbrImplicit(Domains d) {
        Rcu rcu = d.qsbr;
        rcu.readLock();
        int v = d.datum;
        rcu.readUnlock();
        return v;
    }

    @Benchmark
    public int qsbrHandle(Domains d) {
        Rcu.Reader h = d.qsbrHandle;
        h.lock();
        int v = d.datum;
        h.unlock();
        return v;
    }

    @Benchmark
    public int reentrantReadWriteLock(Domains d) {
        ReentrantReadWriteLock.ReadLock l = d.rw.readLock();
        l.lock();
        try {
            return d.datum;
        } finally {
            l.unlock();
        }
    }

    @Benchmark
    public int stampedLockOptimistic(Domains d) {
        StampedLock sl = d.stamped;
        long stamp = sl.tryOptimisticRead();
        int v = d.datum;
        return sl.validate(stamp) ? v : -1;
    }

    @Benchmark
    public int atomicRefcount(Domains d) {
        d.refcount.incrementAndGet();
        int v = d.datum;
        d.refcount.decrementAndGet();
        return v;
    }
}
