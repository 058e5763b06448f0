package dev.sheaf.rcu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Rcu.Flavor.EBR_MEMBARRIER on both of its paths: the membarrier protocol (where this JVM has it)
 * and the fenced fallback forced through the builder's test hook. Grace periods must wait for
 * readers of every kind (implicit platform, implicit virtual, Reader handle); synchronize, call,
 * barrier and the cookies must work; the flavor must report the protocol it runs.
 */
@Timeout(60)
class RcuMembarrierTest {

    private static Rcu domain(boolean forceFence) {
        Rcu.Builder b = Rcu.builder().name("memb-" + (forceFence ? "fenced" : "asym")).flavor(Rcu.Flavor.EBR_MEMBARRIER);
        return (forceFence ? b.forceEntryFence() : b).build();
    }

    @Test
    void readerFenceNamesTheProtocolInUse() {
        try (Rcu memb = domain(false); Rcu fenced = domain(true); Rcu ebr = Rcu.create();
             Rcu qsbr = Rcu.builder().flavor(Rcu.Flavor.QSBR).build()) {
            Rcu.ReaderFence expected = Membarrier.available() ? Rcu.ReaderFence.MEMBARRIER : Rcu.ReaderFence.ENTRY_FENCE;
            assertSame(expected, memb.readerFence(), Rcu.membarrierStatus());
            assertEquals(Membarrier.available(), "available".equals(Rcu.membarrierStatus()), Rcu.membarrierStatus());
            assertSame(Rcu.ReaderFence.ENTRY_FENCE, fenced.readerFence());
            assertSame(Rcu.ReaderFence.ENTRY_FENCE, ebr.readerFence());
            assertSame(Rcu.ReaderFence.QUIESCENT_STATE_FENCE, qsbr.readerFence());
            assertSame(Rcu.Flavor.EBR_MEMBARRIER, memb.flavor());
            assertSame(Rcu.Flavor.EBR_MEMBARRIER, fenced.flavor());
        }
    }

    /** The build grants this module native access and the build machine runs Linux x86_64. */
    @Test
    void membarrierPathIsTestedOnLinuxX8664() {
        String os = System.getProperty("os.name", "");
        String arch = System.getProperty("os.arch", "");
        if (os.startsWith("Linux") && arch.equals("amd64") && !Rcu.membarrierStatus().contains("query")
                && !Rcu.membarrierStatus().contains("REGISTER")) {
            assertEquals("available", Rcu.membarrierStatus());
        }
    }

    @Test
    void barrierIsCallableWhenAvailable() {
        if (Membarrier.available()) {
            Membarrier.barrier(); // throws if the kernel refuses it after registration
            Membarrier.barrier();
        } else {
            assertFalse("available".equals(Membarrier.unavailableReason()));
        }
    }

    /**
     * A reader (of the given kind) enters, a synchronizer starts a grace period, the reader leaves:
     * synchronize() must not return before the reader has set {@code left}, which it does just before
     * its unlock. Deterministic: nothing depends on how long anything takes.
     */
    @ParameterizedTest(name = "forceFence={0} reader={1}")
    @CsvSource({"false,implicit", "false,virtual", "false,handle", "false,section",
            "true,implicit", "true,virtual", "true,handle", "true,section"})
    void gracePeriodWaitsForReader(boolean forceFence, String kind) throws Exception {
        try (Rcu rcu = domain(forceFence)) {
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean left = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Runnable body = () -> {
                try {
                    Rcu.Reader h = kind.equals("handle") ? rcu.register() : null;
                    Rcu.ReadSection s = null;
                    if (h != null) {
                        h.lock();
                    } else if (kind.equals("section")) {
                        s = rcu.read();
                    } else {
                        rcu.readLock();
                    }
                    inside.countDown();
                    release.await();
                    left.set(true);
                    if (h != null) {
                        h.unlock();
                        h.close();
                    } else if (s != null) {
                        s.close();
                    } else {
                        rcu.readUnlock();
                    }
                } catch (Throwable e) {
                    failure.set(e);
                    inside.countDown();
                }
            };
            Thread reader = TestThreads.start(kind.equals("virtual"), "memb-reader", body);
            inside.await();
            long cookie = rcu.getState();
            assertFalse(rcu.pollState(cookie), "a grace period completed while a reader was inside");
            AtomicBoolean sawLeft = new AtomicBoolean();
            Thread sync = Thread.ofPlatform().name("memb-sync").start(() -> {
                rcu.synchronize();
                sawLeft.set(left.get());
            });
            assertFalse(rcu.pollState(cookie), "a grace period completed while a reader was inside");
            release.countDown();
            reader.join();
            sync.join();
            assertNull(failure.get());
            assertTrue(sawLeft.get(), "synchronize() returned before the reader left its section");
            assertTrue(rcu.pollState(cookie));
        }
    }

    @ParameterizedTest(name = "forceFence={0}")
    @ValueSource(booleans = {false, true})
    void synchronizeCallBarrierAndCookies(boolean forceFence) throws Exception {
        try (Rcu rcu = domain(forceFence)) {
            long before = rcu.stats().gracePeriods();
            rcu.synchronize();
            assertTrue(rcu.stats().gracePeriods() > before);
            AtomicInteger ran = new AtomicInteger();
            rcu.readLock();
            rcu.call(ran::incrementAndGet);
            rcu.readLock(); // nested: no second publication
            assertTrue(rcu.inReadSection());
            assertThrows(IllegalStateException.class, rcu::synchronize);
            rcu.readUnlock();
            rcu.readUnlock();
            assertFalse(rcu.inReadSection());
            rcu.barrier();
            assertEquals(1, ran.get());
            long cookie = rcu.startPoll();
            rcu.condSynchronize(cookie);
            assertTrue(rcu.pollState(cookie));
            // a nested section in one thread and a grace period in another, many times
            for (int i = 0; i < 100; i++) {
                try (Rcu.ReadSection s = rcu.read()) {
                    assertTrue(rcu.inReadSection());
                }
                rcu.synchronize();
            }
            assertThrows(IllegalStateException.class, rcu::readUnlock);
        }
        Rcu closed = domain(forceFence);
        closed.close();
        assertThrows(IllegalStateException.class, closed::readLock);
        assertThrows(IllegalStateException.class, closed::synchronize);
    }

    @ParameterizedTest(name = "forceFence={0}")
    @ValueSource(booleans = {false, true})
    void virtualThreadsReturnTheirPooledSlots(boolean forceFence) throws Throwable {
        try (Rcu rcu = domain(forceFence)) {
            for (int i = 0; i < 8; i++) {
                TestThreads.runIn(true, () -> {
                    rcu.readLock();
                    Thread.yield(); // may move to another carrier inside the section
                    rcu.readUnlock();
                });
            }
            assertTrue(rcu.stats().pooledReaderSlots() <= 1, rcu.stats().toString());
            rcu.synchronize();
        }
    }
}
