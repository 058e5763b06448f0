package dev.sheaf.allocator.rcufree;

import dev.sheaf.allocator.RcuFreeStats;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Engine tests: drive RcuFreeEngine alone through a test RcuFreeTarget (ArenaTarget).
 *
 * <p>Batch chains are XOR-linked (ChainLink notes), so a corrupt link field costs nothing but the
 * objects between two corrupt fields: the drainer walks from the head to the first bad field and
 * from the tail back to it. Every test writes into pending objects' link fields of a chain whose
 * shape it knows (objects freed in order o0..o(n-1): head o(n-1), tail o0), then checks exactly
 * which objects were freed, which stay pending untouched, and what was counted and reported. The
 * drainer runs as an agent nobody calls: only rcuBarrier (or moveDeferred) acts.
 */
@Timeout(120)
class RcuFreeEngineChainRecoveryTest extends RcuFreeEngineTestBase {

    private static final long LINK = RcuFreeEngineTest.LINK;
    /** A value a stray user store might leave in a link field. */
    private static final long GARBAGE = 0x4141414141414141L;

    private void start() {
        start(1024);
    }

    private void start(int capacity) {
        rcu = Rcu.create();
        target = new ArenaTarget(64, capacity);
        engine = new RcuFreeEngine(rcu, target, RcuFreeSettings.DEFAULT.withOwnWorker(false));
    }

    private long[] allocate(int n) {
        long[] o = new long[n];
        for (int i = 0; i < n; i++) {
            o[i] = target.alloc();
            target.setLong(o[i], 0, i + 1); // a payload a lost object must keep (freed ones are poisoned)
        }
        return o;
    }

    /** One batch chain o0..o(n-1), tail o0, head o(n-1). */
    private long[] chain(int n) {
        long[] o = allocate(n);
        for (long a : o) {
            engine.freeRcu(a, LINK);
        }
        return o;
    }

    private void corrupt(long object) {
        target.setLong(object, LINK, GARBAGE);
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** Every object is freed exactly once except {@code lost}, which stay pending with their payload. */
    private void assertFreedExcept(long[] o, Set<Integer> lost) {
        for (int i = 0; i < o.length; i++) {
            if (lost.contains(i)) {
                assertTrue(target.isPending(o[i]), "lost object o" + i + " stays pending");
                assertEquals(i + 1, target.getLong(o[i], 0), "lost object o" + i + " is never touched");
            } else {
                assertEquals(1, target.frees.get(target.index(o[i])), "o" + i + " is freed exactly once");
            }
        }
        assertTrue(target.errors.isEmpty(), target.errors::toString);
    }

    /** {@code freed}: chain objects freed, those that came through the deferred list included. */
    private void assertStats(long freed, long corruptLinks, long lostObjects) {
        RcuFreeStats s = engine.stats();
        assertEquals(freed, s.freedByChain() + s.freedByDeferredList(), s::toString);
        assertEquals(corruptLinks, s.corruptLinks(), s::toString);
        assertEquals(corruptLinks, s.freeErrors(), s::toString);
        assertEquals(lostObjects, s.lostObjects(), s::toString);
        assertEquals(0, s.failedObjects(), s::toString);
    }

    @Test
    void twoCorruptLinksLoseExactlyTheObjectsStrictlyBetweenThem() {
        start();
        long[] o = chain(10);
        corrupt(o[7]); // the walk from the head (o9) stops here
        corrupt(o[3]); // the walk from the tail (o0) stops here

        engine.rcuBarrier();

        assertFreedExcept(o, Set.of(4, 5, 6));
        assertStats(7, 2, 3);
        String m = engine.lastFreeError().getMessage(); // the second report: the tail walk's
        assertTrue(m.contains("pending object " + hex(o[3])), m);
        assertTrue(m.contains("3 object(s) between it and the corrupt link of object " + hex(o[7]) + " are lost"), m);

        // The engine goes on: the next batch is freed whole.
        long[] more = chain(3);
        engine.rcuBarrier();
        assertFreedExcept(more, Set.of());
        assertStats(10, 2, 3);
    }

    @Test
    void adjacentCorruptLinksLoseNothing() {
        start();
        long[] o = chain(8);
        corrupt(o[5]);
        corrupt(o[4]);

        engine.rcuBarrier();

        assertFreedExcept(o, Set.of());
        assertStats(8, 2, 0);
        String m = engine.lastFreeError().getMessage();
        assertTrue(m.contains("pending object " + hex(o[4])), m);
        assertTrue(m.contains("no object lies between it and the corrupt link of object " + hex(o[5])), m);
    }

    @Test
    void aCorruptHeadOrTailFieldLosesNothing() {
        start();
        long[] o = chain(6);
        corrupt(o[5]); // the head: the walk from the head stops at once, the one from the tail does the rest
        engine.rcuBarrier();
        assertFreedExcept(o, Set.of());
        assertStats(6, 1, 0);
        assertTrue(engine.lastFreeError().getMessage().contains("pending object " + hex(o[5])));
        assertTrue(engine.lastFreeError().getMessage().contains("at its end of the chain"));

        long[] p = chain(6);
        corrupt(p[0]); // the tail: only its end marker is wrong
        engine.rcuBarrier();
        assertFreedExcept(p, Set.of());
        assertStats(12, 2, 0);
        assertTrue(engine.lastFreeError().getMessage().contains("where it must name the end of the chain"));

        long[] q = chain(6);
        corrupt(q[5]);
        corrupt(q[0]); // both ends: the objects in between cannot be reached from either
        engine.rcuBarrier();
        assertFreedExcept(q, Set.of(1, 2, 3, 4));
        assertStats(14, 4, 4);
    }

    @Test
    void aOneObjectChainWithAGarbageFieldIsFreed() {
        start();
        long[] o = chain(1);
        corrupt(o[0]);
        engine.rcuBarrier();
        assertFreedExcept(o, Set.of());
        assertStats(1, 1, 0);
    }

    @Test
    void aChainLongerThanTheDrainersScratchArrayIsRecoveredFromBothEnds() {
        start(4096);
        long[] o = chain(900); // walks that flush their collection several times
        corrupt(o[800]);
        corrupt(o[100]);
        engine.rcuBarrier();
        Set<Integer> lost = new HashSet<>();
        for (int i = 101; i < 800; i++) {
            lost.add(i);
        }
        assertFreedExcept(o, lost);
        assertStats(900 - 699, 2, 699);

        long[] p = chain(900);
        corrupt(p[450]);
        engine.rcuBarrier();
        assertFreedExcept(p, Set.of());
        assertStats(900 - 699 + 900, 3, 699);
    }

    /**
     * Deferred objects spliced into an open batch are rewritten into the XOR form: a chain that
     * runs across the splice is walked from both ends like any other.
     */
    @Test
    void aChainWithSplicedDeferredObjectsIsRecoveredAcrossTheSplice() {
        start();
        long[] o = allocate(6); // the final chain: o5 (head) - o4 - o3 - o2 - o1 - o0 (tail)
        engine.freeRcu(o[0], LINK); // opens the batch (registers this thread)
        OpenBatch[] held = engine.lockLocals();
        try {
            for (int i = 1; i <= 3; i++) {
                engine.freeRcuNoLock(o[i], LINK); // the deferred list: o3 -> o2 -> o1
            }
        } finally {
            engine.unlockLocals(held);
        }
        engine.freeRcu(o[4], LINK); // splices o3 - o2 - o1 in front of o0, then adds o4
        engine.freeRcu(o[5], LINK);
        assertEquals(3, engine.stats().deferredPushes());
        corrupt(o[1]); // the spliced chain's last object, next to the batch's old head o0

        engine.rcuBarrier();

        assertFreedExcept(o, Set.of());
        assertStats(6, 1, 0);
        assertEquals(3, engine.stats().freedByDeferredList());

        long[] p = allocate(6);
        engine.freeRcu(p[0], LINK);
        held = engine.lockLocals();
        try {
            for (int i = 1; i <= 3; i++) {
                engine.freeRcuNoLock(p[i], LINK);
            }
        } finally {
            engine.unlockLocals(held);
        }
        engine.freeRcu(p[4], LINK);
        engine.freeRcu(p[5], LINK);
        corrupt(p[4]); // head walk: p5, p4
        corrupt(p[2]); // tail walk: p0, p1, p2; p3 lies between
        engine.rcuBarrier();
        assertFreedExcept(p, Set.of(3));
        assertStats(11, 3, 1);
    }

    /** The deferred list moved into a sealed batch of its own is XOR-linked as well. */
    @Test
    void aDeferredListMovedToABatchOfItsOwnIsRecoveredFromBothEnds() {
        start();
        long[] o = allocate(5);
        for (long a : o) {
            engine.freeRcuNoLock(a, LINK); // this thread has no batch: every object is deferred
        }
        assertEquals(1, engine.moveDeferred(true)); // sealed: o4 (head) - o3 - o2 - o1 - o0 (tail)
        corrupt(o[2]);

        engine.rcuBarrier();

        assertFreedExcept(o, Set.of());
        assertStats(5, 1, 0);
        assertEquals(5, engine.stats().freedByDeferredList());
    }

    /**
     * A field rewritten with the engine's own encoding so that it names a pending object of the
     * engine that is not in the chain (what a stray store cannot do without the key): the walk from
     * the head follows it, and the walk from the tail, which closes the chain without that object,
     * exposes the forgery. The foreign object is left to its own batch, and the chain is freed whole.
     */
    @Test
    void aForgedLinkToAPendingObjectOutsideTheChainIsExposedByTheWalkFromTheTail() {
        start();
        long x = target.alloc();
        engine.freeRcu(x); // pending in a bulk array of the same batch
        long[] o = chain(5);
        long forged = ChainLink.pack(o[4], LINK) ^ ChainLink.pack(x, LINK); // o3's neighbours o4 and x
        target.setLong(o[3], LINK, forged ^ engine.linkKeyForTest() ^ Long.reverseBytes(o[3] + LINK));

        engine.rcuBarrier();

        assertEquals(1, target.frees.get(target.index(x)), "x was freed by its own batch, once");
        assertFreedExcept(o, Set.of());
        RcuFreeStats s = engine.stats();
        assertEquals(5, s.freedByChain(), s::toString);
        assertEquals(1, s.freedByBulkArray(), s::toString);
        assertEquals(1, s.corruptLinks(), s::toString);
        assertEquals(0, s.lostObjects(), s::toString);
        String m = engine.lastFreeError().getMessage();
        assertTrue(m.contains("pending object " + hex(o[3])), m);
        assertTrue(m.contains("names object " + hex(x)), m);
        assertTrue(m.contains("does not reach"), m);
    }

    /** Without corruption nothing is reported and every object of long, spliced chains is freed once. */
    @Test
    void intactChainsAreFreedWithoutAReport() {
        start();
        long[] o = allocate(300);
        for (int i = 0; i < o.length; i++) {
            if (i % 7 == 3) {
                OpenBatch[] held = engine.lockLocals();
                try {
                    engine.freeRcuNoLock(o[i], LINK);
                } finally {
                    engine.unlockLocals(held);
                }
            } else {
                engine.freeRcu(o[i], LINK);
            }
        }
        engine.rcuBarrier();
        assertFreedExcept(o, Set.of());
        assertStats(300, 0, 0);
    }
}
