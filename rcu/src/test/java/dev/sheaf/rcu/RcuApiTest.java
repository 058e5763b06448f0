package dev.sheaf.rcu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
@SuppressWarnings("try") // read sections used for their scope only
class RcuApiTest {

    @Test
    void nestingAndInReadSection() {
        try (Rcu rcu = Rcu.create()) {
            assertFalse(rcu.inReadSection());
            rcu.readLock();
            rcu.readLock();
            assertTrue(rcu.inReadSection());
            rcu.readUnlock();
            assertTrue(rcu.inReadSection());
            rcu.readUnlock();
            assertFalse(rcu.inReadSection());
            try (Rcu.ReadSection s = rcu.read()) {
                assertTrue(rcu.inReadSection());
                try (Rcu.ReadSection inner = rcu.read()) {
                    assertTrue(rcu.inReadSection());
                }
                assertTrue(rcu.inReadSection());
            }
            assertFalse(rcu.inReadSection());
        }
    }

    @Test
    void unlockWithoutLockThrows() {
        try (Rcu rcu = Rcu.create()) {
            assertThrows(IllegalStateException.class, rcu::readUnlock);
            rcu.readLock();
            rcu.readUnlock();
            assertThrows(IllegalStateException.class, rcu::readUnlock);
        }
    }

    @Test
    void synchronizeBarrierCondSynchronizeInsideSectionThrow() {
        try (Rcu rcu = Rcu.create()) {
            long cookie = rcu.getState();
            rcu.readLock();
            try {
                assertThrows(IllegalStateException.class, rcu::synchronize);
                assertThrows(IllegalStateException.class, rcu::barrier);
                assertThrows(IllegalStateException.class, () -> rcu.condSynchronize(cookie));
                assertThrows(IllegalStateException.class, rcu::close);
            } finally {
                rcu.readUnlock();
            }
            rcu.synchronize();
            rcu.barrier();
            rcu.condSynchronize(cookie);
        }
    }

    @Test
    void sectionOfAnotherDomainDoesNotBlock() {
        try (Rcu a = Rcu.builder().name("a").build(); Rcu b = Rcu.builder().name("b").build()) {
            a.readLock();
            b.synchronize();
            b.barrier();
            assertFalse(b.inReadSection());
            a.readUnlock();
        }
    }

    @Test
    void synchronizeWaitsForReaderThatStartedBefore() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean readerLeft = new AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                rcu.readLock();
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                readerLeft.set(true);
                rcu.readUnlock();
            });
            entered.await();
            AtomicBoolean syncDone = new AtomicBoolean();
            Thread writer = Thread.ofPlatform().start(() -> {
                rcu.synchronize();
                syncDone.set(readerLeft.get());
            });
            // the writer must still be waiting: the reader is parked inside its section
            assertFalse(writer.join(java.time.Duration.ofMillis(200)));
            release.countDown();
            writer.join();
            reader.join();
            assertTrue(syncDone.get(), "synchronize() returned before the reader left");
            assertTrue(rcu.stats().longestGracePeriodNanos() > 0);
        }
    }

    @Test
    void concurrentSynchronizeCallersShareGracePeriods() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread reader = Thread.ofPlatform().start(() -> {
                rcu.readLock();
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                rcu.readUnlock();
            });
            entered.await();
            long before = rcu.stats().gracePeriods();
            Thread[] callers = new Thread[9];
            for (int i = 0; i < callers.length; i++) {
                callers[i] = Thread.ofPlatform().start(rcu::synchronize);
            }
            // one caller drives the grace period held by the reader; the other eight park on it
            while (rcu.queuedGracePeriodWaiters() < callers.length - 1) {
                Thread.onSpinWait();
            }
            release.countDown();
            for (Thread c : callers) {
                c.join();
            }
            reader.join();
            // nine callers, at most two grace periods: the one held by the reader, plus at most one
            // more serving every caller that took its cookie after that one had started
            long used = rcu.stats().gracePeriods() - before;
            assertTrue(used >= 1 && used <= 2, "grace periods used by nine concurrent callers: " + used);
        }
    }

    @Test
    void synchronizeAndBarrierAreUninterruptibleAndKeepTheInterrupt() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean left = new AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                rcu.readLock();
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                left.set(true);
                rcu.readUnlock();
            });
            entered.await();
            AtomicBoolean sawLeft = new AtomicBoolean();
            AtomicBoolean stillInterrupted = new AtomicBoolean();
            AtomicInteger ran = new AtomicInteger();
            Thread w = Thread.ofPlatform().start(() -> {
                rcu.call(ran::incrementAndGet);
                Thread.currentThread().interrupt();
                rcu.synchronize();
                sawLeft.set(left.get());
                rcu.barrier();
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            });
            assertFalse(w.join(java.time.Duration.ofMillis(100)));
            w.interrupt(); // again, while parked in the grace period
            assertFalse(w.join(java.time.Duration.ofMillis(50)));
            release.countDown();
            w.join();
            reader.join();
            assertTrue(sawLeft.get(), "synchronize() returned early after an interrupt");
            assertTrue(stillInterrupted.get(), "the interrupt status must be kept");
            assertEquals(1, ran.get());
        }
    }

    @Test
    void polledApi() {
        try (Rcu rcu = Rcu.create()) {
            long c = rcu.getState();
            assertFalse(rcu.pollState(c), "getState() must not complete a grace period by itself");
            rcu.synchronize();
            assertTrue(rcu.pollState(c));
            long gps = rcu.stats().gracePeriods();
            rcu.condSynchronize(c); // returns at once, no new grace period
            assertEquals(gps, rcu.stats().gracePeriods());
            long c2 = rcu.startPoll();
            while (!rcu.pollState(c2)) {
                Thread.onSpinWait(); // the worker drives it
            }
            long c3 = rcu.getState();
            rcu.condSynchronize(c3);
            assertTrue(rcu.pollState(c3));
            assertTrue(rcu.stats().gracePeriods() >= 2);
        }
    }

    @Test
    void callRunsAfterGracePeriodAndBarrierWaits() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            AtomicInteger ran = new AtomicInteger();
            AtomicLong cookie = new AtomicLong();
            for (int i = 0; i < 5000; i++) {
                rcu.call(ran::incrementAndGet);
            }
            rcu.barrier();
            assertEquals(5000, ran.get());
            // A callback queued inside a section does not run before the section ends.
            CountDownLatch inSection = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean readerDone = new AtomicBoolean();
            AtomicBoolean ranEarly = new AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                rcu.readLock();
                inSection.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                readerDone.set(true);
                rcu.readUnlock();
            });
            inSection.await();
            rcu.call(() -> ranEarly.set(!readerDone.get()));
            Thread.sleep(50); // give the worker a chance to misbehave (not used for synchronization)
            release.countDown();
            reader.join();
            rcu.barrier();
            assertFalse(ranEarly.get(), "callback ran while a pre-existing reader was still in its section");
        }
    }

    @Test
    void callbacksFromManyThreadsIncludingUnflushedBuffers() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            AtomicInteger ran = new AtomicInteger();
            Thread[] ts = new Thread[4];
            for (int i = 0; i < ts.length; i++) {
                boolean virtual = (i & 1) == 1;
                Runnable body = () -> {
                    for (int k = 0; k < 777; k++) {
                        rcu.call(ran::incrementAndGet);
                    }
                };
                ts[i] = TestThreads.start(virtual, body);
            }
            for (Thread t : ts) {
                t.join();
            }
            rcu.barrier();
            assertEquals(4 * 777, ran.get());
        }
    }

    @Test
    void throwingCallbackIsReportedAndOthersRun() throws Exception {
        AtomicInteger reported = new AtomicInteger();
        try (Rcu rcu = Rcu.builder().uncaughtExceptionHandler((t, e) -> {
            if (e instanceof IllegalArgumentException && "boom".equals(e.getMessage())) {
                reported.incrementAndGet();
            }
        }).build()) {
            AtomicInteger ran = new AtomicInteger();
            rcu.call(ran::incrementAndGet);
            rcu.call(() -> {
                throw new IllegalArgumentException("boom");
            });
            rcu.call(ran::incrementAndGet);
            rcu.barrier();
            assertEquals(2, ran.get());
            assertEquals(1, reported.get());
            assertEquals(1, rcu.stats().callbackFailures());
            assertEquals(3, rcu.stats().callbacksInvoked());
        }
    }

    @Test
    void barrierFromCallbackThrows() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            AtomicBoolean threw = new AtomicBoolean();
            rcu.call(() -> {
                try {
                    rcu.barrier();
                } catch (IllegalStateException e) {
                    threw.set(true);
                }
            });
            rcu.barrier();
            assertTrue(threw.get());
        }
    }

    @Test
    void closeRunsPendingCallbacksThenEverythingThrows() {
        Rcu rcu = Rcu.create();
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 3000; i++) {
            rcu.call(ran::incrementAndGet);
        }
        // a callback that queues another one while close() drains: both run
        AtomicInteger chained = new AtomicInteger();
        rcu.call(() -> rcu.call(chained::incrementAndGet));
        rcu.close();
        assertEquals(3000, ran.get());
        assertEquals(1, chained.get());
        assertThrows(IllegalStateException.class, rcu::readLock);
        assertThrows(IllegalStateException.class, rcu::read);
        assertThrows(IllegalStateException.class, rcu::synchronize);
        assertThrows(IllegalStateException.class, rcu::barrier);
        assertThrows(IllegalStateException.class, rcu::getState);
        assertThrows(IllegalStateException.class, rcu::startPoll);
        assertThrows(IllegalStateException.class, () -> rcu.pollState(0));
        assertThrows(IllegalStateException.class, () -> rcu.condSynchronize(0));
        assertThrows(IllegalStateException.class, () -> rcu.call(() -> { }));
        assertThrows(IllegalStateException.class, rcu::register);
        assertThrows(IllegalStateException.class, rcu::threadOnline);
        assertThrows(IllegalStateException.class, rcu::threadOffline);
        assertThrows(IllegalStateException.class, rcu::quiescentState);
        rcu.close(); // idempotent
    }

    @Test
    void nullCallbackRejected() {
        try (Rcu rcu = Rcu.create()) {
            assertThrows(IllegalArgumentException.class, () -> rcu.call(null));
        }
    }

    @Test
    void explicitReaderHandle() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            Rcu.Reader r = rcu.register();
            r.lock();
            r.lock();
            assertTrue(r.inReadSection());
            assertTrue(rcu.inReadSection());
            assertThrows(IllegalStateException.class, rcu::synchronize);
            AtomicBoolean syncReturned = new AtomicBoolean();
            Thread w = Thread.ofPlatform().start(() -> {
                rcu.synchronize();
                syncReturned.set(true);
            });
            assertFalse(w.join(java.time.Duration.ofMillis(100)));
            r.unlock();
            assertFalse(w.join(java.time.Duration.ofMillis(50)));
            r.unlock();
            w.join();
            assertTrue(syncReturned.get());
            assertThrows(IllegalStateException.class, r::unlock);
            int before = rcu.stats().readerSlots();
            r.close();
            assertEquals(before - 1, rcu.stats().readerSlots());
            assertThrows(IllegalStateException.class, r::lock);
        }
    }

    @Test
    void builderRejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> Rcu.builder().stallTimeout(java.time.Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> Rcu.builder().name(""));
    }

    @Test
    void closeStopsAUserRunAgentRunner() throws Exception {
        Rcu rcu = Rcu.builder().name("closing-agent").ownWorkerThread(false).build();
        org.agrona.concurrent.AgentRunner runner = new org.agrona.concurrent.AgentRunner(
                new org.agrona.concurrent.BackoffIdleStrategy(), e -> { }, null, rcu.agent());
        Thread t = org.agrona.concurrent.AgentRunner.startOnThread(runner);
        CountDownLatch ran = new CountDownLatch(1);
        rcu.call(ran::countDown);
        assertTrue(ran.await(30, java.util.concurrent.TimeUnit.SECONDS), "the user's runner runs callbacks");
        rcu.close();
        t.join(java.time.Duration.ofSeconds(30));
        assertFalse(t.isAlive(), "the runner's thread ends once the domain is closed");
        assertTrue(runner.isClosed());
    }

    @Test
    void agentModeRunsOnCallerThread() throws Exception {
        try (Rcu rcu = Rcu.builder().ownWorkerThread(false).build()) {
            AtomicInteger ran = new AtomicInteger();
            AtomicLong ranOn = new AtomicLong();
            rcu.call(() -> {
                ran.incrementAndGet();
                ranOn.set(Thread.currentThread().threadId());
            });
            // nothing runs until the agent does
            assertEquals(0, ran.get());
            org.agrona.concurrent.AgentInvoker invoker =
                    new org.agrona.concurrent.AgentInvoker(e -> { }, null, rcu.agent());
            invoker.start();
            while (ran.get() == 0) {
                invoker.invoke();
            }
            assertEquals(Thread.currentThread().threadId(), ranOn.get());
            // startPoll progresses through the agent
            long c = rcu.startPoll();
            while (!rcu.pollState(c)) {
                invoker.invoke();
            }
            // one duty cycle, one grace period, every thread's batch (including partly filled chunks)
            AtomicInteger batch = new AtomicInteger();
            Thread[] producers = new Thread[3];
            for (int i = 0; i < producers.length; i++) {
                producers[i] = (i == 2 ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
                    for (int k = 0; k < 1500; k++) {
                        rcu.call(batch::incrementAndGet);
                    }
                });
            }
            for (Thread p : producers) {
                p.join();
            }
            long gpBefore = rcu.stats().gracePeriods();
            invoker.invoke();
            assertEquals(4500, batch.get());
            assertEquals(1, rcu.stats().gracePeriods() - gpBefore);
            // close() in agent mode drains on the closing thread
            AtomicInteger late = new AtomicInteger();
            for (int i = 0; i < 2000; i++) {
                rcu.call(late::incrementAndGet);
            }
            rcu.call(() -> rcu.call(late::incrementAndGet)); // queued again while close() drains
            rcu.close();
            assertEquals(2001, late.get());
            assertEquals(0, invoker.invoke(), "the agent does nothing once the domain is closed");
        }
    }
}
