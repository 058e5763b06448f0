package dev.sheaf.bench;

import dev.sheaf.rcu.Rcu;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code call()} throughput from one thread. The callback is a shared no-op Runnable, so the figure
 * is the domain's own cost (queueing; the worker runs the batches after grace periods on the other
 * core). Run with {@code -prof gc}: the domain allocates nothing per call.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss1m"})
@State(Scope.Benchmark)
public class RcuCallBenchmark {
    static final Runnable NOOP = () -> { };
    static final int CALLS = 1024;

    Rcu rcu;

    @Setup(Level.Trial)
    public void open() {
        rcu = Rcu.builder().name("bench-call").build();
    }

    @TearDown(Level.Trial)
    public void close() {
        rcu.close();
    }

    @Benchmark
    @OperationsPerInvocation(CALLS)
    public void call() {
        Rcu r = rcu;
        for (int i = 0; i < CALLS; i++) {
            r.call(NOOP);
        }
    }
}
