package dev.sheaf.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.sheaf.bench.peer.PeerUnavailableException;
import dev.sheaf.bench.peer.Peers;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.openjdk.jmh.infra.Control;

/** The JMH benchmark bodies, called directly (no forks, no timing) so a broken benchmark fails CI. */
class BenchmarkSmokeTest {

    static Iterable<String> peers() {
        return Peers.ALL;
    }

    @ParameterizedTest
    @MethodSource("peers")
    void pairAndBurst(String peer) {
        AllocatorBenchmark b = new AllocatorBenchmark();
        b.peer = peer;
        b.size = 64;
        b.burst = 100;
        try {
            b.open();
        } catch (PeerUnavailableException e) {
            Assumptions.abort(e.getMessage());
        }
        try {
            for (int i = 0; i < 1000; i++) {
                assertNotEquals(0, b.pair());
            }
            for (int i = 0; i < 10; i++) {
                assertNotEquals(0, b.burst());
            }
        } finally {
            b.close();
        }
    }

    @ParameterizedTest
    @MethodSource("peers")
    void producerConsumer(String peer) throws InterruptedException {
        ProducerConsumerBenchmark b = new ProducerConsumerBenchmark();
        b.peer = peer;
        b.size = 64;
        try {
            b.open();
        } catch (PeerUnavailableException e) {
            Assumptions.abort(e.getMessage());
        } catch (IllegalStateException e) {
            Assumptions.abort(e.getMessage()); // cannot free on another thread: not in the benchmark's list
        }
        Control control = new Control();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread consumer = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < 50_000; i++) {
                    b.consume(control);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        for (int i = 0; i < 50_000; i++) {
            b.produce(control);
        }
        consumer.join();
        b.drain();
        b.close();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }

    @Test
    void nettyOwnApi() {
        for (String peer : new String[] {"netty-pooled", "netty-adaptive"}) {
            NettyNativeApiBenchmark b = new NettyNativeApiBenchmark();
            b.peer = peer;
            b.size = 64;
            b.burst = 100;
            b.open();
            for (int i = 0; i < 1000; i++) {
                b.pair();
            }
            b.burst();
        }
    }

    /** Every free-after-grace-period path frees exactly what it was given, and nothing stays live. */
    @ParameterizedTest
    @ValueSource(strings = {"default", "chain", "headless", "sheaf", "call"})
    void freeRcuPaths(String path) {
        FreeRcuBenchmark b = new FreeRcuBenchmark();
        FreeRcuBenchmark.Env env = new FreeRcuBenchmark.Env();
        FreeRcuBenchmark.Counters counters = new FreeRcuBenchmark.Counters();
        env.path = path;
        env.drain = "sustained";
        env.open(1);
        int invocations = 20;
        try {
            for (int i = 0; i < invocations; i++) {
                env.allocate();
                b.freeRcu(env, counters);
            }
            if (path.equals("call")) {
                env.rcu.barrier();
            } else {
                env.allocator.rcuBarrier();
            }
            assertEquals((long) invocations * FreeRcuBenchmark.BATCH, env.freed());
            assertEquals(0, env.allocator.stats().liveBytes());
        } finally {
            env.close();
        }
    }

    /** Bursts on caches of each sheaf capacity free everything they allocate. */
    @Test
    void sheafCapacities() {
        for (int capacity : new int[] {-1, 256}) {
            SheafCapacityBenchmark b = new SheafCapacityBenchmark();
            b.capacity = capacity;
            b.burst = 400;
            b.open();
            try {
                for (int i = 0; i < 100; i++) {
                    assertNotEquals(0, b.burst());
                    assertEquals(0, b.cache().stats().activeObjects(), "a burst left objects live");
                }
            } finally {
                b.close(); // destroy() refuses a cache with live objects
            }
        }
    }

    /** The floor rows hand back what they took; Sheaf's row hands out real objects. */
    @Test
    void pairFloors() {
        PairFloorBenchmark b = new PairFloorBenchmark();
        b.open();
        try {
            for (int i = 0; i < 1000; i++) {
                assertEquals(b.stackInField(), b.stackInField());
                assertEquals(b.stackInThreadLocal(), b.stackInThreadLocal());
                assertNotEquals(0, b.sheafCache());
            }
        } finally {
            b.close();
        }
    }
}
