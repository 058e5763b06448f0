package dev.sheaf.allocator.rcufree;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Engine tests: drive RcuFreeEngine alone through a test RcuFreeTarget (ArenaTarget).
 *
 * <p>Dormancy of the engine's own worker: with the dormant park bound set to an hour, objects freed
 * on a dormant engine are freed only if the producer woke the worker; an idle worker runs (almost)
 * no cycles; freeRcuNoLock does not wake it. No test calls rcuBarrier() before its assertion: the
 * barrier frees everything itself and would hide a lost wake-up.
 */
@Timeout(120)
class RcuFreeEngineDormancyTest extends RcuFreeEngineTestBase {

    private static final long HOUR_NANOS = TimeUnit.HOURS.toNanos(1);
    private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final long LINK = RcuFreeEngineTest.LINK;

    private void start(long dormantParkNanos) {
        rcu = Rcu.create();
        target = new ArenaTarget(64, 1024);
        engine = new RcuFreeEngine(rcu, target, RcuFreeSettings.DEFAULT.withDormantParkNanos(dormantParkNanos));
    }

    /**
     * Polls until the worker is in its dormant park: the flag is published and the thread is
     * parked (the flag is only set inside doze, whose only park is the dormant one).
     */
    private void awaitDormantPark() {
        Thread w = engine.workerThread();
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        while (!(engine.isWorkerDormant() && w.getState() == Thread.State.TIMED_WAITING && engine.isWorkerDormant())) {
            if (System.nanoTime() - deadline > 0) {
                fail("engine worker not in its dormant park after 30 s of idleness; dormant=" + engine.isWorkerDormant()
                        + ", state=" + w.getState() + ", cycles=" + engine.workerCycles());
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }

    private void awaitFreed(long address, String what) {
        await(() -> !target.isLive(address), what + " was not freed within 30 s (no rcuBarrier)");
    }

    /** Polls {@code condition} until it holds; fails with {@code message} after 30 s. */
    private void await(BooleanSupplier condition, String message) {
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail(message + ": stats " + engine.stats());
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }

    @Test
    void chainedFreeWakesDormantWorker() {
        start(HOUR_NANOS);
        awaitDormantPark();
        long a = target.alloc();
        engine.freeRcu(a, LINK);
        awaitFreed(a, "freeRcu(a, off) on a dormant engine (park bound 1 h)");
        // The counters follow the frees (batchFreed after the target's free).
        await(() -> engine.stats().freedByChain() == 1, "freedByChain did not reach 1");
    }

    @Test
    void headlessFreeWakesDormantWorker() {
        start(HOUR_NANOS);
        awaitDormantPark();
        long a = target.alloc();
        engine.freeRcu(a);
        awaitFreed(a, "headless freeRcu(a) on a dormant engine (park bound 1 h)");
        await(() -> engine.stats().freedByBulkArray() == 1, "freedByBulkArray did not reach 1");
    }

    @Test
    void rcuSheafWakesDormantWorker() {
        start(HOUR_NANOS);
        awaitDormantPark();
        long[] objects = target.claimAll(target.alloc(), target.alloc(), target.alloc());
        engine.submitRcuSheaf("cache", new TestSheaf(objects, objects.length));
        for (long a : objects) {
            awaitFreed(a, "an object of an rcu sheaf submitted to a dormant engine (park bound 1 h)");
        }
        assertEquals(1, target.sheavesReady.get());
    }

    @Test
    void workerGoesDormantAgainAfterEachWakeUp() {
        start(HOUR_NANOS);
        for (int round = 0; round < 3; round++) {
            awaitDormantPark();
            long a = target.alloc();
            engine.freeRcu(a, LINK);
            awaitFreed(a, "round " + round + ": freeRcu(a, off) on a dormant engine");
        }
    }

    @Test
    void dormantWorkerRunsAlmostNoCycles() {
        start(HOUR_NANOS);
        awaitDormantPark();
        long before = engine.workerCycles();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
        while (System.nanoTime() - end < 0) {
            LockSupport.parkNanos(10_000_000L);
        }
        long cycles = engine.workerCycles() - before;
        // Parking 2 ms per cycle would make ~150 here; overload only lowers the count.
        assertTrue(cycles <= 5, "dormant engine worker ran " + cycles + " cycles in 300 ms");
    }

    @Test
    void freeRcuNoLockDoesNotWakeDormantWorker() {
        start(HOUR_NANOS);
        engine.freeRcu(target.alloc(), LINK); // registers this thread's batch: freeRcuNoLock then adds to it
        engine.rcuBarrier();
        awaitDormantPark();
        long cycles = engine.workerCycles();
        long a = target.alloc();
        long b = target.alloc();
        engine.freeRcuNoLock(a, LINK); // first object of the open batch
        OpenBatch[] held = engine.lockLocals();
        try {
            engine.freeRcuNoLock(b, LINK); // batch held: the deferred list
        } finally {
            engine.unlockLocals(held);
        }
        // A wake would have cleared the flag on this thread, synchronously; nothing else wakes the worker.
        assertTrue(engine.isWorkerDormant(), "freeRcuNoLock woke the dormant worker");
        assertEquals(cycles, engine.workerCycles(), "freeRcuNoLock woke the dormant worker");
        assertTrue(target.isLive(a) && target.isLive(b));
        // close() (after the test) frees them through its barrier and stops the worker at once.
    }

    @Test
    void freeRcuNoLockObjectsOnDormantEngineAreFreedAfterThePark() {
        start(TimeUnit.MILLISECONDS.toNanos(200));
        engine.freeRcu(target.alloc(), LINK);
        engine.rcuBarrier();
        awaitDormantPark();
        long a = target.alloc();
        long b = target.alloc();
        engine.freeRcuNoLock(a, LINK);
        OpenBatch[] held = engine.lockLocals();
        try {
            engine.freeRcuNoLock(b, LINK);
        } finally {
            engine.unlockLocals(held);
        }
        awaitFreed(a, "freeRcuNoLock's object in the open batch of a dormant engine (park bound 200 ms)");
        awaitFreed(b, "freeRcuNoLock's deferred object on a dormant engine (park bound 200 ms)");
        await(() -> engine.stats().freedByDeferredList() == 1, "freedByDeferredList did not reach 1");
    }

    @Test
    void userRunAgentHasNoWorkerToWake() throws Exception {
        rcu = Rcu.create();
        target = new ArenaTarget(64, 64);
        engine = new RcuFreeEngine(rcu, target, RcuFreeSettings.DEFAULT.withOwnWorker(false).withDrainDelayNanos(0)
                .withDormantParkNanos(HOUR_NANOS));
        long a = target.alloc();
        engine.freeRcu(a, LINK);
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        while (target.isLive(a)) {
            if (System.nanoTime() - deadline > 0) {
                fail("user-run agent did not free the object within 30 s");
            }
            engine.agent().doWork();
            LockSupport.parkNanos(100_000L);
        }
        assertFalse(engine.isWorkerDormant());
    }
}
