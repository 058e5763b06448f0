package dev.sheaf.rcu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(60)
class RcuQsbrTest {

    private static Rcu qsbr() {
        return Rcu.builder().flavor(Rcu.Flavor.QSBR).name("qsbr-test").build();
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    void readingRequiresOnline(boolean virtual) throws Throwable {
        TestThreads.runIn(virtual, () -> {
            try (Rcu rcu = qsbr()) {
                assertThrows(IllegalStateException.class, rcu::readLock);
                assertThrows(IllegalStateException.class, rcu::read);
                assertThrows(IllegalStateException.class, rcu::quiescentState);
                rcu.threadOnline();
                rcu.threadOnline(); // idempotent
                rcu.readLock();
                rcu.readLock();
                assertTrue(rcu.inReadSection());
                assertThrows(IllegalStateException.class, rcu::quiescentState);
                assertThrows(IllegalStateException.class, rcu::threadOffline);
                assertThrows(IllegalStateException.class, rcu::synchronize);
                rcu.readUnlock();
                rcu.readUnlock();
                assertThrows(IllegalStateException.class, rcu::readUnlock);
                rcu.quiescentState();
                // An online thread blocked in synchronize()/barrier() is quiescent for the call.
                rcu.synchronize();
                rcu.barrier();
                rcu.condSynchronize(rcu.getState());
                rcu.readLock(); // still online afterwards
                rcu.readUnlock();
                rcu.threadOffline();
                rcu.threadOffline(); // idempotent
                assertThrows(IllegalStateException.class, rcu::readLock);
            }
        });
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    void gracePeriodWaitsForOnlineThreadUntilQuiescentState(boolean virtual) throws Exception {
        try (Rcu rcu = qsbr()) {
            CountDownLatch online = new CountDownLatch(1);
            CountDownLatch report = new CountDownLatch(1);
            AtomicBoolean reported = new AtomicBoolean();
            Thread reader = TestThreads.start(virtual, () -> {
                rcu.threadOnline();
                online.countDown();
                try {
                    report.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                reported.set(true);
                rcu.quiescentState();
                rcu.threadOffline();
            });
            online.await();
            AtomicBoolean sawReport = new AtomicBoolean();
            Thread writer = Thread.ofPlatform().start(() -> {
                rcu.synchronize();
                sawReport.set(reported.get());
            });
            // an online thread that has not reported holds the grace period, even outside a section
            assertFalse(writer.join(Duration.ofMillis(150)));
            report.countDown();
            writer.join();
            reader.join();
            assertTrue(sawReport.get());
        }
    }

    @Test
    void offlineThreadDoesNotHoldGracePeriods() throws Exception {
        try (Rcu rcu = qsbr()) {
            CountDownLatch offline = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            Thread t = Thread.ofPlatform().start(() -> {
                rcu.threadOnline();
                rcu.threadOffline();
                offline.countDown();
                try {
                    done.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            });
            offline.await();
            rcu.synchronize();
            done.countDown();
            t.join();
        }
    }

    @Test
    void deadOnlineThreadCountsAsOffline() throws Exception {
        try (Rcu rcu = qsbr()) {
            Thread t = Thread.ofPlatform().start(rcu::threadOnline);
            t.join();
            rcu.synchronize(); // would hang if the dead online thread held it
            assertTrue(rcu.stats().gracePeriods() >= 1);
            assertEquals(0, rcu.stats().deadReadersReported(), "dying online is not an error in QSBR");
            // dying inside a section is
            Thread v = Thread.ofVirtual().start(() -> {
                rcu.threadOnline();
                rcu.readLock();
            });
            v.join();
            rcu.synchronize();
            assertEquals(1, rcu.stats().deadReadersReported());
        }
    }

    @Test
    void explicitQsbrHandle() throws Exception {
        try (Rcu rcu = qsbr()) {
            Rcu.Reader r = rcu.register(); // online
            r.lock();
            assertThrows(IllegalStateException.class, r::quiescentState);
            assertThrows(IllegalStateException.class, r::offline);
            r.unlock();
            r.quiescentState();
            rcu.synchronize(); // own online handle goes offline for the call
            java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
            rcu.call(ran::incrementAndGet);
            rcu.barrier(); // likewise: the worker's grace period must not wait for this thread's handle
            assertEquals(1, ran.get());
            r.lock();
            r.unlock();
            r.offline();
            assertThrows(IllegalStateException.class, r::lock);
            r.online();
            r.close();
            assertThrows(IllegalStateException.class, r::lock);
            assertThrows(IllegalStateException.class, r::online);
        }
    }

    @Test
    void ebrIgnoresOnlineOffline() {
        try (Rcu rcu = Rcu.create()) {
            rcu.threadOffline();
            rcu.readLock(); // EBR reads regardless
            rcu.quiescentState();
            rcu.readUnlock();
            rcu.threadOnline();
            rcu.quiescentState();
            rcu.synchronize();
        }
    }
}
