package dev.sheaf.bench;

import dev.sheaf.rcu.Rcu;
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
 * Grace-period latency: {@code synchronize()} with {@code readers} background platform threads
 * entering and leaving sections in a tight loop (0 = no reader in a section, the fast path), for
 * EBR and EBR_MEMBARRIER (whose grace periods issue two membarrier calls instead of a fence).
 * SampleTime mode: read the p0.50 line for the median.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
@State(Scope.Benchmark)
public class RcuGracePeriodBenchmark {

    @Param({"0", "2"})
    public int readers;

    @Param({"EBR", "EBR_MEMBARRIER"})
    public Rcu.Flavor flavor;

    Rcu rcu;
    volatile boolean stop;
    Thread[] threads;
    int datum;

    @Setup(Level.Trial)
    public void open() {
        rcu = Rcu.builder().name("bench-gp").flavor(flavor).build();
        stop = false;
        threads = new Thread[readers];
        for (int i = 0; i < readers; i++) {
            threads[i] = Thread.ofPlatform().daemon().name("bench-reader-" + i).start(() -> {
                Rcu.Reader r = rcu.register();
                long sink = 0;
                while (!stop) {
                    r.lock();
                    for (int k = 0; k < 16; k++) {
                        sink += datum; // a short section
                    }
                    r.unlock();
                }
                r.close();
                datum = (int) sink;
            });
        }
    }

    @TearDown(Level.Trial)
    public void close() throws InterruptedException {
        stop = true;
        for (Thread t : threads) {
            t.join();
        }
        rcu.close();
    }

    @Benchmark
    public void synchronize() {
        rcu.synchronize();
    }
}
