package dev.sheaf.allocator.rcufree;

import dev.sheaf.allocator.RcuFreeStats;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Engine tests: drive RcuFreeEngine alone through a test RcuFreeTarget (ArenaTarget).
 *
 * <p>Misuse never hangs, leaks or crashes the JVM: user stores into pending objects' link fields are
 * reported and never followed, a bad object does not cost the rest of its batch, and callers that
 * may not wait for a grace period meet a hard cap instead of a wait. Most tests run the drainer as
 * an agent nobody calls (ownWorker = false), so nothing is freed behind the test's back: only
 * rcuBarrier frees, after the test has written what it wants into a pending object.
 */
@Timeout(120)
class RcuFreeEngineMisuseTest extends RcuFreeEngineTestBase {

    private static final long LINK = RcuFreeEngineTest.LINK;
    /** pendingLimitBytes of the cap tests: batchBytes = 64, so every 64-byte object fills a batch. */
    private static final long LIMIT = 1024;
    private static final long HARD_CAP = 2 * LIMIT;

    private void start(RcuFreeSettings settings, int capacity) {
        rcu = Rcu.create();
        target = new ArenaTarget(64, capacity);
        engine = new RcuFreeEngine(rcu, target, settings);
    }

    private void startQuiet(long pendingLimitBytes) {
        start(RcuFreeSettings.DEFAULT.withOwnWorker(false).withPendingLimitBytes(pendingLimitBytes), 1024);
    }

    /** What the engine decodes from {@code stored} in the link field at {@code object + LINK}. */
    private long decoded(long object, long stored) {
        return stored ^ engine.linkKeyForTest() ^ Long.reverseBytes(object + LINK);
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    @Test
    void aPointerWrittenIntoAChainLinkIsReportedNotFollowedAndTheRestIsFreed() {
        startQuiet(64L << 20);
        long x = target.alloc();
        engine.freeRcu(x); // pending in a bulk array: a raw pointer to it must not free it early
        long a = target.alloc();
        long b = target.alloc();
        long c = target.alloc();
        long d = target.alloc();
        for (long o : new long[] {a, b, c, d}) {
            engine.freeRcu(o, LINK); // the chain runs d (head) - c - b - a (tail)
        }
        long written = ChainLink.pack(x, LINK); // what an unhardened link to x would look like
        target.setLong(c, LINK, written);

        engine.rcuBarrier();

        assertFalse(target.isLive(d));
        assertFalse(target.isLive(c));
        assertEquals(1, target.frees.get(target.index(x)), "x was freed once, by its own batch, never through c");
        // The walk from the tail reaches the objects behind the bad link: a, then b, whose field names c.
        for (long o : new long[] {a, b, c, d}) {
            assertEquals(1, target.frees.get(target.index(o)), "every chain object is freed exactly once");
        }
        RcuFreeStats s = engine.stats();
        assertEquals(1, s.corruptLinks(), s::toString);
        assertEquals(0, s.lostObjects(), s::toString);
        assertEquals(4, s.freedByChain(), s::toString);
        assertEquals(1, s.freedByBulkArray(), s::toString);
        assertEquals(5, s.freed(), s::toString);
        assertEquals(0, s.pendingObjects(), s::toString);
        assertEquals(1, s.freeErrors(), s::toString);
        assertEquals(0, s.failedObjects(), s::toString);
        RuntimeException e = engine.lastFreeError();
        assertInstanceOf(IllegalStateException.class, e);
        assertTrue(e.getMessage().contains("pending object " + hex(c)), e::getMessage);
        assertTrue(e.getMessage().contains("decodes to " + hex(decoded(c, written))), e::getMessage);
        assertTrue(e.getMessage().contains("beside object " + hex(d)), e::getMessage);
        assertTrue(e.getMessage().contains("none is lost"), e::getMessage);
        assertTrue(target.errors.isEmpty(), target.errors::toString); // nothing was freed twice or wrongly
    }

    @Test
    void aZeroedEndOfChainIsReportedAndNothingIsLost() {
        startQuiet(64L << 20);
        long a = target.alloc();
        long b = target.alloc();
        engine.freeRcu(a, LINK); // a is the last object: its link is the (encoded) end
        engine.freeRcu(b, LINK);
        target.setLong(a, LINK, 0L);

        engine.rcuBarrier();

        assertFalse(target.isLive(a));
        assertFalse(target.isLive(b));
        RcuFreeStats s = engine.stats();
        assertEquals(1, s.corruptLinks(), s::toString);
        assertEquals(0, s.lostObjects(), s::toString);
        assertEquals(2, s.freedByChain(), s::toString);
        assertTrue(engine.lastFreeError().getMessage().contains("pending object " + hex(a)));
        assertTrue(engine.lastFreeError().getMessage().contains("decodes to " + hex(decoded(a, 0L))));
    }

    @Test
    void aCorruptDeferredListNodeIsReportedNotFollowed() {
        startQuiet(64L << 20);
        long a = target.alloc();
        long b = target.alloc();
        long c = target.alloc();
        OpenBatch[] held = engine.lockLocals();
        try {
            engine.freeRcuNoLock(a, LINK); // every batch held: the deferred list c -> b -> a -> end
            engine.freeRcuNoLock(b, LINK);
            engine.freeRcuNoLock(c, LINK);
        } finally {
            engine.unlockLocals(held);
        }
        long written = 0x00007f0012345678L;
        target.setLong(b, LINK, written);

        engine.rcuBarrier();

        assertFalse(target.isLive(c));
        assertFalse(target.isLive(b));
        assertTrue(target.isPending(a), "the object behind the bad link stays pending");
        assertNotEquals(ArenaTarget.POISON, target.getLong(a, 0));
        RcuFreeStats s = engine.stats();
        assertEquals(3, s.deferredPushes(), s::toString);
        assertEquals(1, s.corruptLinks(), s::toString);
        assertEquals(2, s.freedByDeferredList(), s::toString);
        assertEquals(2, s.freed(), s::toString);
        // The list cannot count what it cannot reach; the lost object stays charged as pending.
        assertEquals(1, s.pendingObjects(), s::toString);
        assertEquals(64, s.pendingBytes(), s::toString);
        String m = engine.lastFreeError().getMessage();
        assertTrue(m.contains("pending object " + hex(b)), m);
        assertTrue(m.contains("decodes to " + hex(decoded(b, written))), m);
        // The engine goes on: a later object on the same path is freed normally.
        long d = target.alloc();
        engine.freeRcuNoLock(d, LINK);
        engine.rcuBarrier();
        assertFalse(target.isLive(d));
        assertEquals(1, engine.stats().corruptLinks());
    }

    @Test
    void aSecondFreeRcuOfAPendingObjectThrowsAndLosesNothing() {
        startQuiet(64L << 20);
        long q = target.alloc();
        long p = target.alloc();
        engine.freeRcu(q, 8);
        engine.freeRcu(p, 8);
        assertThrows(IllegalStateException.class, () -> engine.freeRcu(p, 8));

        engine.rcuBarrier(); // also proves the failed call released its batch lock

        assertEquals(1, target.frees.get(target.index(q)));
        assertEquals(1, target.frees.get(target.index(p)));
        RcuFreeStats s = engine.stats();
        assertEquals(2, s.freed(), s::toString);
        assertEquals(2, s.freedByChain(), s::toString);
        assertEquals(0, s.freeErrors(), s::toString);
        assertEquals(0, s.corruptLinks(), s::toString);
        assertEquals(0, s.lostObjects(), s::toString);
        assertEquals(0, s.failedObjects(), s::toString);
        assertEquals(null, engine.lastFreeError());
    }

    @Test
    void anObjectTheAllocatorCannotFreeDoesNotCostTheRestOfItsBatch() {
        startQuiet(64L << 20);
        long[] chain = new long[5];
        long[] headless = new long[5];
        for (int i = 0; i < 5; i++) {
            chain[i] = target.alloc();
            headless[i] = target.alloc();
        }
        for (int i = 0; i < 5; i++) {
            engine.freeRcu(chain[i], LINK);
            engine.freeRcu(headless[i]);
        }
        target.failFree = chain[2];
        engine.rcuBarrier();
        target.failFree = 0;
        for (int i = 0; i < 5; i++) {
            assertEquals(i != 2, !target.isLive(chain[i]), "chain object " + i);
            assertFalse(target.isLive(headless[i]), "headless object " + i);
        }
        RcuFreeStats s = engine.stats();
        assertEquals(4, s.freedByChain(), s::toString);
        assertEquals(5, s.freedByBulkArray(), s::toString);
        assertEquals(1, s.failedObjects(), s::toString);
        assertEquals(1, s.freeErrors(), s::toString);
        assertEquals(0, s.pendingObjects(), "the engine let go of the failed object: " + s);
        assertTrue(engine.lastFreeError().getMessage().contains("injected"));

        // A failure inside a bulk array: the rest of the array is freed, and counted as such.
        long h = target.alloc();
        long[] more = {target.alloc(), target.alloc(), target.alloc()};
        engine.freeRcu(h);
        for (long o : more) {
            engine.freeRcu(o);
        }
        target.failFree = h;
        engine.rcuBarrier();
        target.failFree = 0;
        for (long o : more) {
            assertFalse(target.isLive(o));
        }
        s = engine.stats();
        assertEquals(8, s.freedByBulkArray(), "only what freeNowBulk really freed is counted: " + s);
        assertEquals(2, s.failedObjects(), s::toString);
    }

    @Test
    void noLockPastTheHardCapThrowsBeforeTakingTheObject() {
        startQuiet(LIMIT);
        // This thread has no batch (never registered): every call goes to the deferred list, whose
        // bytes count towards the cap (no worker, no barrier: nothing drains).
        int accepted = 0;
        long rejected = 0;
        while (rejected == 0) {
            long a = target.alloc();
            try {
                engine.freeRcuNoLock(a, LINK);
                accepted++;
            } catch (IllegalStateException e) {
                assertTrue(e.getMessage().contains("hard cap of 2 * pendingLimitBytes = " + HARD_CAP), e::getMessage);
                rejected = a;
            }
            assertTrue(accepted < 100, "no hard cap after " + accepted + " objects: " + engine.stats());
        }
        // Deferred pushes until they pass 2 * LIMIT, then the refusal.
        assertEquals(HARD_CAP / 64 + 1, accepted, engine.stats()::toString);
        assertTrue(target.isLive(rejected) && !target.isPending(rejected), "the rejected object stays allocated");
        assertEquals(accepted, engine.stats().deferredPushes());

        engine.rcuBarrier();
        assertEquals(accepted, engine.stats().freed());
        engine.freeRcuNoLock(rejected, LINK); // accepted again once the backlog is gone
        engine.rcuBarrier();
        assertFalse(target.isLive(rejected));
        assertEquals(1, target.frees.get(target.index(rejected)));
    }

    @Test
    void openRcuSheavesCountTowardsTheHardCap() {
        startQuiet(LIMIT);
        engine.freeRcu(target.alloc(), LINK); // registers this thread: freeRcuNoLock opens a batch, then pushes
        while (engine.stats().pendingBytes() <= LIMIT + 64) { // the open batch (64) is not checked
            engine.freeRcuNoLock(target.alloc(), LINK); // just past LIMIT, far below the cap
        }
        assertTrue(engine.stats().pendingBytes() < HARD_CAP - 128, engine.stats()::toString);
        long a = target.alloc();
        target.openRcuSheafBytes = HARD_CAP;
        assertThrows(IllegalStateException.class, () -> engine.freeRcuNoLock(a, LINK));
        assertTrue(target.isLive(a) && !target.isPending(a));
        target.openRcuSheafBytes = 0;
        engine.freeRcuNoLock(a, LINK);
        engine.rcuBarrier();
        assertEquals(0, target.liveCount());
    }

    @Test
    void aCallerInAReadSectionProceedsBelowTheHardCapAndIsRefusedPastIt() {
        startQuiet(LIMIT);
        int accepted = 0;
        long rejected = 0;
        rcu.readLock();
        try {
            // Every object seals a batch of its own, and no grace period can end while this
            // thread reads: pending memory only grows. Past LIMIT the calls must still return
            // (waiting here would deadlock), up to the hard cap.
            while (rejected == 0) {
                long a = target.alloc();
                try {
                    engine.freeRcu(a, LINK);
                    accepted++;
                } catch (IllegalStateException e) {
                    assertTrue(e.getMessage().contains("hard cap"), e::getMessage);
                    rejected = a;
                }
                assertTrue(accepted < 100, "no hard cap after " + accepted + " objects: " + engine.stats());
            }
            long r = rejected;
            assertThrows(IllegalStateException.class, () -> engine.checkHardCapForRcuSheaf(r),
                    "the allocator's rcu sheaf path meets the same cap");
        } finally {
            rcu.readUnlock();
        }
        engine.checkHardCapForRcuSheaf(rejected); // a caller that may wait is never refused
        RcuFreeStats s = engine.stats();
        assertTrue(accepted * 64L > LIMIT, "calls past the bound proceeded without waiting: " + s);
        assertEquals(HARD_CAP / 64 + 1, accepted, s::toString);
        assertEquals(0, s.boundWaits(), s::toString);
        assertTrue(target.isLive(rejected) && !target.isPending(rejected), "the rejected object stays allocated");

        engine.rcuBarrier();
        assertEquals(accepted, engine.stats().freedByChain());
        engine.freeRcu(rejected, LINK);
        engine.rcuBarrier();
        assertEquals(0, target.liveCount());
    }

    @Test
    void aCallerThatMayWaitWaitsPastTheBoundAndIsNeverRefused() {
        start(RcuFreeSettings.DEFAULT.withPendingLimitBytes(LIMIT), 1024);
        int n = (int) (HARD_CAP / 64) + 30; // more than the hard cap holds: waiting, not refusal, bounds it
        for (int i = 0; i < n; i++) {
            engine.freeRcu(target.alloc(), LINK);
        }
        engine.rcuBarrier();
        assertEquals(0, target.liveCount());
        assertEquals(n, engine.stats().freed());
    }

    @Test
    void theDrainerFlushesAgedRcuSheaves() throws Exception {
        rcu = Rcu.create();
        target = new ArenaTarget(64, 64);
        long delay = 1_000_000L;
        long[] partial = target.claimAll(target.alloc(), target.alloc()); // as the allocator's rcu sheaf path
        AtomicLong maxAge = new AtomicLong(-1);
        AtomicBoolean submitted = new AtomicBoolean();
        CountDownLatch called = new CountDownLatch(1);
        // The worker may call before the constructor returns.
        AtomicReference<RcuFreeEngine> built = new AtomicReference<>();
        // An idle thread's partly filled rcu sheaf: only the aged flush can submit it.
        target.openRcuSheafBytes = 2 * 64;
        target.flushAgedRcuSheaves = (now, age) -> {
            RcuFreeEngine e = built.get();
            if (e == null) {
                return;
            }
            maxAge.set(age);
            if (submitted.compareAndSet(false, true)) {
                e.submitRcuSheaf("cache", new TestSheaf(partial, 2));
                target.openRcuSheafBytes = 0;
            }
            called.countDown();
        };
        engine = new RcuFreeEngine(rcu, target, RcuFreeSettings.DEFAULT.withDrainDelayNanos(delay));
        built.set(engine);
        assertTrue(called.await(30, TimeUnit.SECONDS), "the drainer never called flushAgedRcuSheaves");
        assertEquals(delay, maxAge.get());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (target.liveCount() != 0 && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(1_000_000L); // polling an outcome (no barrier: it would flush by itself)
        }
        assertEquals(0, target.liveCount(), "the flushed sheaf was freed after its grace period");
        assertEquals(2, engine.stats().freedByRcuSheaf());
    }
}
