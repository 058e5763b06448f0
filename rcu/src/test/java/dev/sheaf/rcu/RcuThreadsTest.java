package dev.sheaf.rcu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Virtual threads, dead threads, stall reports. */
@Timeout(120)
@SuppressWarnings("try") // read sections used for their scope only
class RcuThreadsTest {

    @Test
    void hundredThousandVirtualThreadsLeaveFewSlots() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            AtomicInteger reads = new AtomicInteger();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 100_000; i++) {
                    ex.submit(() -> {
                        rcu.readLock();
                        reads.incrementAndGet();
                        rcu.readUnlock();
                        try (Rcu.ReadSection s = rcu.read()) {
                            reads.incrementAndGet();
                        }
                        rcu.call(reads::incrementAndGet);
                    });
                }
            }
            rcu.barrier();
            assertEquals(300_000, reads.get());
            Rcu.Stats st = rcu.stats();
            // a slot per virtual thread reading at the same moment, not per virtual thread that ever read
            assertTrue(st.readerSlots() <= 64, "reader slots: " + st);
            assertTrue(st.pooledReaderSlots() >= 1);
            rcu.synchronize();
        }
    }

    @Test
    void virtualThreadMayParkInsideSection() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean left = new AtomicBoolean();
            Thread vt = Thread.ofVirtual().start(() -> {
                rcu.readLock();
                inside.countDown();
                try {
                    release.await(); // parks, unmounting from its carrier
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                left.set(true);
                rcu.readUnlock();
            });
            inside.await();
            // many other virtual threads read meanwhile, possibly on the same carrier
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 1000; i++) {
                    ex.submit(() -> {
                        rcu.readLock();
                        Thread.yield();
                        rcu.readUnlock();
                    });
                }
            }
            AtomicBoolean syncSawLeft = new AtomicBoolean();
            Thread w = Thread.ofPlatform().start(() -> {
                rcu.synchronize();
                syncSawLeft.set(left.get());
            });
            assertFalse(w.join(Duration.ofMillis(150)));
            release.countDown();
            w.join();
            vt.join();
            assertTrue(syncSawLeft.get());
        }
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    void threadDyingInsideSectionIsReportedAndReleased(boolean virtual) throws Exception {
        List<Rcu.ReaderReport> reports = new CopyOnWriteArrayList<>();
        try (Rcu rcu = Rcu.builder().name("dead-test").readerReportListener(reports::add).build()) {
            Runnable leaky = () -> rcu.readLock(); // never unlocks
            Thread t = TestThreads.start(virtual, "leaky-reader", leaky);
            t.join();
            rcu.synchronize(); // must not hang
            rcu.synchronize();
            assertEquals(1, reports.size(), reports.toString());
            Rcu.ReaderReport r = reports.get(0);
            assertEquals(Rcu.ReaderReport.Kind.DIED_IN_SECTION, r.kind());
            assertTrue(r.thread().contains("leaky-reader"), r.thread());
            assertEquals(1, rcu.stats().deadReadersReported());
        }
    }

    @Test
    void deadPlatformThreadSlotsAreReclaimed() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            for (int round = 0; round < 20; round++) {
                Thread[] ts = new Thread[10];
                for (int i = 0; i < ts.length; i++) {
                    ts[i] = Thread.ofPlatform().start(() -> {
                        rcu.readLock();
                        rcu.readUnlock();
                    });
                }
                for (Thread t : ts) {
                    t.join();
                }
            }
            // registration sweeps dead slots; the next registration sees at most one round's worth
            Thread last = Thread.ofPlatform().start(() -> {
                rcu.readLock();
                rcu.readUnlock();
            });
            last.join();
            assertTrue(rcu.stats().readerSlots() <= 11, rcu.stats().toString());
        }
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    void stallIsReportedOnceWithThreadAndStack(boolean virtual) throws Exception {
        List<Rcu.ReaderReport> reports = new CopyOnWriteArrayList<>();
        CountDownLatch firstReport = new CountDownLatch(1);
        try (Rcu rcu = Rcu.builder().name("stall-test").stallTimeout(Duration.ofMillis(30))
                .readerReportListener(r -> {
                    reports.add(r);
                    firstReport.countDown();
                }).build()) {
            CountDownLatch inside = new CountDownLatch(1);
            Runnable slowReader = () -> {
                rcu.readLock();
                inside.countDown();
                try {
                    firstReport.await();
                    // keep holding for several more stall timeouts: still one report
                    long until = System.nanoTime() + Duration.ofMillis(150).toNanos();
                    while (System.nanoTime() < until) {
                        LockSupport.parkNanos(1_000_000);
                    }
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                rcu.readUnlock();
            };
            Thread t = TestThreads.start(virtual, "slow-reader", slowReader);
            inside.await();
            rcu.synchronize();
            t.join();
            assertEquals(1, reports.size(), reports.toString());
            Rcu.ReaderReport r = reports.get(0);
            assertEquals(Rcu.ReaderReport.Kind.STALL, r.kind());
            assertTrue(r.thread().contains("slow-reader"), r.thread());
            assertTrue(r.stack().length > 0);
            assertTrue(r.toString().contains("slow-reader"));
            assertTrue(r.heldNanos() >= Duration.ofMillis(30).toNanos());
            assertEquals(1, rcu.stats().stallsReported());
        }
    }
}
