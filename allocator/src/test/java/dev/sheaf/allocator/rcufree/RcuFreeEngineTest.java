package dev.sheaf.allocator.rcufree;

import static dev.sheaf.allocator.testing.StressThreads.STRESS_MILLIS;

import dev.sheaf.allocator.testing.HeldOnAnotherThread;
import dev.sheaf.allocator.testing.StressThreads;

import dev.sheaf.allocator.RcuFreeStats;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Engine tests: drive RcuFreeEngine alone through a test RcuFreeTarget (ArenaTarget).
 *
 * <p>The entry points, batching, barrier, bound and stats of the free-after-grace-period engine,
 * over real off-heap memory and the real RCU domain.
 */
class RcuFreeEngineTest extends RcuFreeEngineTestBase {

    static final long LINK = 56; // last 8 bytes of a 64-byte object; offset 0 holds the stamp


    private void start(RcuFreeSettings settings, int capacity) {
        rcu = Rcu.create();
        target = new ArenaTarget(64, capacity);
        engine = new RcuFreeEngine(rcu, target, settings);
    }

    @Test
    void chainedObjectIsFreedByBarrier() {
        start(RcuFreeSettings.DEFAULT, 1024);
        long a = target.alloc();
        engine.freeRcu(a, LINK);
        engine.rcuBarrier();
        assertFalse(target.isLive(a));
        RcuFreeStats s = engine.stats();
        assertEquals(1, s.freedByChain());
        assertEquals(0, s.pendingObjects());
        assertEquals(0, s.pendingBytes());
    }

    @Test
    void idleBatchIsFreedByTheWorkerAfterTheDrainDelay() throws InterruptedException {
        start(RcuFreeSettings.DEFAULT.withDrainDelayNanos(1_000_000L), 1024);
        long a = target.alloc();
        long b = target.alloc();
        engine.freeRcu(a, LINK);
        engine.freeRcu(b);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((target.isLive(a) || target.isLive(b)) && System.nanoTime() < deadline) {
            Thread.sleep(1); // polling an outcome, not synchronizing
        }
        assertFalse(target.isLive(a));
        assertFalse(target.isLive(b));
    }

    @Test
    void objectHeldByAReaderIsNotFreedUntilTheReaderLeaves() throws Exception {
        start(RcuFreeSettings.DEFAULT.withDrainDelayNanos(0), 1024);
        long a = target.alloc();
        HeldOnAnotherThread reader = HeldOnAnotherThread.readSection(rcu);
        engine.freeRcu(a, LINK);
        AtomicBoolean barrierDone = new AtomicBoolean();
        Thread barrier = Thread.ofPlatform().start(() -> {
            engine.rcuBarrier();
            barrierDone.set(true);
        });
        // Observe for a while: the worker drains with no delay, so an early free would show.
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        while (System.nanoTime() < until) {
            assertTrue(target.isLive(a), "freed while a reader could hold it");
            assertFalse(barrierDone.get(), "barrier returned while a reader could hold the object");
            Thread.onSpinWait();
        }
        reader.close();
        barrier.join();
        assertFalse(target.isLive(a));
    }

    @Test
    void headlessObjectsGoThroughBulkArrays() {
        start(RcuFreeSettings.DEFAULT, 4096);
        for (int i = 0; i < 3000; i++) {
            engine.freeRcu(target.alloc());
        }
        engine.rcuBarrier();
        assertEquals(0, target.liveCount());
        RcuFreeStats s = engine.stats();
        assertEquals(3000, s.freedByBulkArray());
        assertEquals(0, s.freedInline());
        assertTrue(s.batches() >= 2, "3000 headless objects need more than one batch of 4 arrays: " + s);
    }

    @Test
    void headlessFallsBackToAnInlineGracePeriodWhenNoArrayCanBeHad() {
        start(RcuFreeSettings.DEFAULT.withBulkArrayCache(0), 64);
        for (int i = 0; i < 5; i++) {
            long a = target.alloc();
            engine.freeRcu(a);
            assertFalse(target.isLive(a), "the inline fallback frees before returning");
        }
        assertEquals(5, engine.stats().freedInline());
        assertEquals(0, engine.stats().freedByBulkArray());
    }

    @Test
    void headlessFallbackStartsWhenTheArrayPoolRunsDry() {
        // Two arrays of 4 slots: the ninth object cannot get an array while the first eight wait.
        start(new RcuFreeSettings(60_000_000_000L, 64L << 20, 4, 2), 64);
        long[] objects = new long[9];
        for (int i = 0; i < objects.length; i++) {
            objects[i] = target.alloc();
            engine.freeRcu(objects[i]);
        }
        assertFalse(target.isLive(objects[8]));
        engine.rcuBarrier();
        assertEquals(0, target.liveCount());
        RcuFreeStats s = engine.stats();
        assertTrue(s.freedInline() >= 1, s::toString);
        assertEquals(9, s.freedInline() + s.freedByBulkArray());
    }

    @Test
    void headlessInsideAReadSectionThrowsAndLosesNothing() {
        start(RcuFreeSettings.DEFAULT, 64);
        long a = target.alloc();
        rcu.readLock();
        try {
            assertThrows(IllegalStateException.class, () -> engine.freeRcu(a));
        } finally {
            rcu.readUnlock();
        }
        assertTrue(target.isLive(a));
        engine.freeRcu(a);
        engine.rcuBarrier();
        assertFalse(target.isLive(a));
    }

    @Test
    void twoArgumentFormsMayBeCalledInsideAReadSection() {
        start(RcuFreeSettings.DEFAULT, 64);
        long a = target.alloc();
        long b = target.alloc();
        rcu.readLock();
        try {
            engine.freeRcu(a, LINK);
            engine.freeRcuNoLock(b, LINK);
            assertThrows(IllegalStateException.class, engine::rcuBarrier);
        } finally {
            rcu.readUnlock();
        }
        engine.rcuBarrier();
        assertFalse(target.isLive(a));
        assertFalse(target.isLive(b));
    }

    @Test
    void badAddressesAndLinkFieldsAreRejectedAtTheCall() {
        start(RcuFreeSettings.DEFAULT, 64);
        long a = target.alloc();
        long outside = target.base + 64L * 64 + 64;
        assertThrows(IllegalArgumentException.class, () -> engine.freeRcu(a + 8, LINK));
        assertThrows(IllegalArgumentException.class, () -> engine.freeRcu(outside, LINK));
        assertThrows(IllegalArgumentException.class, () -> engine.freeRcu(a + 8));
        assertThrows(IllegalArgumentException.class, () -> engine.freeRcu(outside));
        assertThrows(IllegalArgumentException.class, () -> engine.freeRcuNoLock(a + 8, LINK));
        assertThrows(IllegalArgumentException.class, () -> engine.freeRcu(a, 60)); // crosses the end
        assertThrows(IllegalArgumentException.class, () -> engine.freeRcu(a, 12)); // not 8-byte aligned
        assertThrows(IllegalArgumentException.class, () -> engine.freeRcu(a, -8));
        assertThrows(IllegalArgumentException.class, () -> engine.freeRcuNoLock(a, 64));
        long free = target.alloc();
        target.free(free);
        assertThrows(IllegalStateException.class, () -> engine.freeRcu(free, LINK));
        assertThrows(IllegalStateException.class, () -> engine.freeRcu(free));
        // Nothing was queued by the rejected calls: a is still live and can be freed normally.
        engine.rcuBarrier();
        assertTrue(target.isLive(a));
        assertEquals(0, engine.stats().pendingObjects());
        engine.freeRcu(a, LINK);
        engine.rcuBarrier();
        assertFalse(target.isLive(a));
    }

    @Test
    void closedEngineRejectsCalls() {
        start(RcuFreeSettings.DEFAULT, 64);
        long a = target.alloc();
        engine.freeRcu(a, LINK);
        engine.close();
        assertFalse(target.isLive(a), "close frees what was pending");
        long b = target.alloc();
        assertThrows(IllegalStateException.class, () -> engine.freeRcu(b, LINK));
        assertThrows(IllegalStateException.class, () -> engine.freeRcu(b));
        assertThrows(IllegalStateException.class, () -> engine.freeRcuNoLock(b, LINK));
        target.free(b);
    }

    @Test
    void rcuSheafReturnsAfterTheGracePeriod() {
        start(RcuFreeSettings.DEFAULT, 64);
        long[] sheaf = new long[8];
        for (int i = 0; i < sheaf.length; i++) {
            sheaf[i] = target.alloc();
        }
        target.claimAll(sheaf); // the allocator claims what it puts in an rcu sheaf
        Object token = new Object();
        engine.submitRcuSheaf(token, new TestSheaf(sheaf, 8));
        engine.rcuBarrier();
        assertEquals(1, target.sheavesReady.get());
        assertEquals(0, target.liveCount());
        assertEquals(8, engine.stats().freedByRcuSheaf());
    }

    @Test
    void barrierFlushesTheAllocatorsRcuSheavesFirst() {
        start(RcuFreeSettings.DEFAULT, 64);
        long[] partial = target.claimAll(target.alloc(), target.alloc());
        AtomicBoolean flushed = new AtomicBoolean();
        target.flushRcuSheaves = () -> {
            if (flushed.compareAndSet(false, true)) {
                engine.submitRcuSheaf("cache", new TestSheaf(partial, 2));
            }
        };
        engine.rcuBarrier();
        assertEquals(0, target.liveCount());
    }

    @Test
    void noLockFallsBackToTheDeferredListWhileItsBatchIsLockedAndLosesNothing() throws Exception {
        start(RcuFreeSettings.DEFAULT, 4096);
        // Register this thread and a virtual-thread stripe user, then hold every batch lock.
        long warm = target.alloc();
        engine.freeRcu(warm, LINK);
        OpenBatch[] held = engine.lockLocals();
        List<Long> objects = new ArrayList<>();
        try {
            for (int i = 0; i < 100; i++) {
                long a = target.alloc();
                objects.add(a);
                engine.freeRcuNoLock(a, LINK); // must return without waiting for the held lock
            }
            Thread vt = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 100; i++) {
                    long a = target.alloc();
                    synchronized (objects) {
                        objects.add(a);
                    }
                    engine.freeRcuNoLock(a, LINK);
                }
            });
            vt.join();
            assertEquals(200, engine.stats().deferredPushes());
        } finally {
            engine.unlockLocals(held);
        }
        // The next ordinary call moves the deferred list into its own batch.
        long next = target.alloc();
        engine.freeRcu(next, LINK);
        engine.rcuBarrier();
        for (long a : objects) {
            assertFalse(target.isLive(a));
        }
        assertFalse(target.isLive(next));
        assertEquals(200, engine.stats().freedByDeferredList());
    }

    @Test
    void noLockUnderContentionWithLockHoldersLosesNothing() throws Exception {
        start(RcuFreeSettings.DEFAULT.withBatchObjects(64), 1 << 15);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong submitted = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread locker = Thread.ofPlatform().start(() -> {
            while (!stop.get()) {
                OpenBatch[] held = engine.lockLocals();
                Thread.onSpinWait();
                engine.unlockLocals(held);
            }
        });
        List<Thread> producers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            boolean virtual = (t & 1) == 1;
            producers.add(StressThreads.start(virtual, () -> {
                while (!stop.get()) {
                    long a = target.alloc();
                    if (a == 0) {
                        Thread.yield();
                        continue;
                    }
                    engine.freeRcuNoLock(a, LINK);
                    submitted.incrementAndGet();
                }
            }, failure));
        }
        Thread.sleep(Math.min(STRESS_MILLIS, 2000)); // duration of the run, not synchronization
        stop.set(true);
        for (Thread p : producers) {
            p.join();
        }
        locker.join();
        assertEquals(null, failure.get());
        engine.rcuBarrier();
        assertEquals(0, target.liveCount());
        assertEquals(submitted.get(), target.freedObjects.get());
        RcuFreeStats s = engine.stats();
        assertEquals(submitted.get(), s.freed());
        assertTrue(s.deferredPushes() > 0, s::toString);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void pendingMemoryStaysBoundedUnderAFlood(boolean virtual) throws Exception {
        int threads = 4;
        long limit = 256 << 10;
        start(RcuFreeSettings.DEFAULT.withPendingLimitBytes(limit).withDrainDelayNanos(50_000_000L), 1 << 15);
        long batchBytes = limit / 16;
        AtomicLong submittedBytes = new AtomicLong();
        AtomicLong peak = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers.add(StressThreads.start(virtual, () -> {
                long i = 0;
                while (!stop.get()) {
                    long a = target.alloc();
                    if (a == 0) {
                        failure.compareAndSet(null, new AssertionError("target exhausted: pending memory grew"));
                        return;
                    }
                    long s = submittedBytes.addAndGet(64);
                    if (((i++ + id) & 1) == 0) {
                        engine.freeRcu(a, LINK);
                    } else {
                        engine.freeRcu(a);
                    }
                    long pending = s - target.freedBytes.get();
                    peak.accumulateAndGet(pending, Math::max);
                }
            }, failure));
        }
        Thread.sleep(Math.min(STRESS_MILLIS, 2000)); // duration of the run, not synchronization
        stop.set(true);
        for (Thread w : workers) {
            w.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        // Slack: each thread (or stripe in use) may hold one open batch and one being sealed.
        long slack = 2L * threads * batchBytes;
        RcuFreeStats s = engine.stats();
        assertTrue(peak.get() <= limit + slack, "peak pending " + peak.get() + " > " + (limit + slack) + " " + s);
        assertTrue(s.peakPendingBytes() <= limit + slack, s::toString);
        assertTrue(s.freed() > 10 * (limit / 64), "the flood made progress: " + s);
        engine.rcuBarrier();
        assertEquals(0, target.liveCount());
    }

    @Test
    void barrierCoversEverythingSubmittedBeforeItUnderConcurrentFrees() throws Exception {
        start(RcuFreeSettings.DEFAULT.withDrainDelayNanos(20_000_000L), 1 << 14);
        int threads = 3;
        int logSize = 1 << 20;
        AtomicLongArray[] logAddr = new AtomicLongArray[threads];
        AtomicLongArray[] logGen = new AtomicLongArray[threads];
        AtomicLong[] logged = new AtomicLong[threads];
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            logAddr[t] = new AtomicLongArray(logSize);
            logGen[t] = new AtomicLongArray(logSize);
            logged[t] = new AtomicLong();
            workers.add(StressThreads.start(id == 1, () -> {
                int n = 0;
                while (!stop.get() && n < logSize) {
                    long a = target.alloc();
                    if (a == 0) {
                        Thread.yield();
                        continue;
                    }
                    logAddr[id].set(n, a);
                    logGen[id].set(n, target.frees.get(target.index(a)));
                    switch (n % 3) {
                        case 0 -> engine.freeRcu(a, LINK);
                        case 1 -> engine.freeRcu(a);
                        default -> engine.freeRcuNoLock(a, LINK);
                    }
                    logged[id].set(++n); // published after the call returned
                }
            }, failure));
        }
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(STRESS_MILLIS, 2000));
        int barriers = 0;
        while (System.nanoTime() < end) {
            long[] before = new long[threads];
            for (int t = 0; t < threads; t++) {
                before[t] = logged[t].get();
            }
            engine.rcuBarrier();
            barriers++;
            for (int t = 0; t < threads; t++) {
                for (int i = 0; i < before[t]; i++) {
                    long a = logAddr[t].get(i);
                    assertTrue(target.frees.get(target.index(a)) > logGen[t].get(i),
                            "object passed to freeRcu before the barrier was not free after it");
                }
            }
        }
        stop.set(true);
        for (Thread w : workers) {
            w.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertTrue(barriers > 0);
    }

    @Test
    void deadThreadsPendingObjectsAreFreed() throws Exception {
        start(RcuFreeSettings.DEFAULT.withDrainDelayNanos(1_000_000L), 1024);
        long[] objects = new long[10];
        Thread t = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < objects.length; i++) {
                objects[i] = target.alloc();
                engine.freeRcu(objects[i], LINK);
            }
        });
        t.join();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (target.liveCount() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(1); // polling an outcome
        }
        assertEquals(0, target.liveCount(), "the drainer collects a dead thread's batch without a barrier");
    }

    @Test
    void agentModeRunsOnTheCallersThread() throws Exception {
        rcu = Rcu.create();
        target = new ArenaTarget(64, 64);
        engine = new RcuFreeEngine(rcu, target, RcuFreeSettings.DEFAULT.withOwnWorker(false).withDrainDelayNanos(0));
        long a = target.alloc();
        engine.freeRcu(a, LINK);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (target.isLive(a) && System.nanoTime() < deadline) {
            engine.agent().doWork();
            Thread.onSpinWait();
        }
        assertFalse(target.isLive(a));
    }

    @Test
    void oneGracePeriodServesManyObjects() {
        start(RcuFreeSettings.DEFAULT, 1 << 14);
        for (int i = 0; i < 10_000; i++) {
            engine.freeRcu(target.alloc(), LINK);
        }
        engine.rcuBarrier();
        RcuFreeStats s = engine.stats();
        assertEquals(10_000, s.freedByChain() + s.freedByDeferredList());
        assertTrue(s.gracePeriodsRequested() <= 10, "10 000 objects should need a handful of grace periods: " + s);
    }

    @Test
    void settingsRejectNonsense() {
        assertThrows(IllegalArgumentException.class, () -> RcuFreeSettings.DEFAULT.withPendingLimitBytes(0));
        assertThrows(IllegalArgumentException.class, () -> RcuFreeSettings.DEFAULT.withBulkArrayCache(-1));
        assertThrows(IllegalArgumentException.class, () -> RcuFreeSettings.DEFAULT.withBatchObjects(0));
        assertThrows(IllegalArgumentException.class, () -> RcuFreeSettings.DEFAULT.withDrainDelayNanos(-1));
    }
}
