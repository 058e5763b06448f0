package dev.sheaf.allocator;

import static dev.sheaf.allocator.testing.StressThreads.*;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Free after a grace period end to end through {@link SlabAllocator} and {@link SlabCache}. */
class RcuSlabAllocatorTest {

    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    static final long STAMP = 0;   // where the cache's free-list link also lives: a free shows at once
    static final long STAMP2 = 16;
    static final long RCU_LINK = 56;

    /**
     * Readers hold published objects inside read sections and check two stamps; writers
     * unpublish, free through freeRcu(a, off) (rcu sheaf or chain, per builder), freeRcu(a)
     * (headless), SlabCache.freeRcu (rcu sheaf) and freeRcuNoLock, then allocate aggressively from
     * the same cache and overwrite what they get.
     */
    @Timeout(120)
    @ParameterizedTest(name = "{0} virtual={1} rcuSheaves={2}")
    @CsvSource({"EBR, false, true", "EBR, true, false", "QSBR, false, false", "QSBR, true, true"})
    void readersNeverSeeTheirObjectChange(Rcu.Flavor flavor, boolean virtual, boolean rcuSheaves) throws Exception {
        long millis = Math.min(STRESS_MILLIS, 2000);
        try (Rcu rcu = Rcu.builder().flavor(flavor).build();
             SlabAllocator a = SlabAllocator.builder().rcu(rcu).rcuSheaves(rcuSheaves)
                     .rcuDrainDelay(java.time.Duration.ofNanos(200_000)).rcuPendingLimit(4L << 20).build()) {
            long liveBefore = a.stats().liveBytes();
            SlabCache cache = a.createCache(CacheSpec.of("rcu-safety", 64).withRcuLinkOffset(RCU_LINK));
            int slots = 64;
            AtomicLongArray published = new AtomicLongArray(slots);
            AtomicLong stamps = new AtomicLong(1);
            for (int i = 0; i < slots; i++) {
                published.set(i, stamped(cache.alloc(), stamps.getAndIncrement()));
            }
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            // Each writer must get through every entry point a few times however loaded the
            // machine is, or the per-channel assertions below would test nothing.
            CountDownLatch writersWarm = new CountDownLatch(2);
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                threads.add(start(virtual, () -> readSections(rcu, flavor, virtual, stop, failure, rnd -> {
                    long o = published.get(rnd.nextInt(slots));
                    long s1 = ALL.get(ValueLayout.JAVA_LONG, o + STAMP);
                    long t1 = ALL.get(ValueLayout.JAVA_LONG, o + STAMP2);
                    dwell(rnd);
                    long s2 = ALL.get(ValueLayout.JAVA_LONG, o + STAMP);
                    long t2 = ALL.get(ValueLayout.JAVA_LONG, o + STAMP2);
                    if (s1 != s2 || t1 != t2 || s1 != t1) {
                        throw new AssertionError("object 0x" + Long.toHexString(o) + " changed under a reader: "
                                + s1 + "/" + t1 + " -> " + s2 + "/" + t2);
                    }
                }), failure));
            }
            for (int w = 0; w < 2; w++) {
                threads.add(start(virtual, () -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    long[] churn = new long[16];
                    long n = 0;
                    while (!stop.get() && failure.get() == null) {
                        long fresh = stamped(cache.alloc(), stamps.getAndIncrement());
                        long old = published.getAndSet(rnd.nextInt(slots), fresh);
                        switch ((int) (n++ & 3)) {
                            case 0 -> a.freeRcu(old, RCU_LINK);
                            case 1 -> a.freeRcu(old);
                            case 2 -> cache.freeRcu(old);
                            default -> a.freeRcuNoLock(old, RCU_LINK);
                        }
                        if (n == 64) {
                            writersWarm.countDown();
                        }
                        // Allocate aggressively from the same cache and overwrite what comes back.
                        for (int i = 0; i < churn.length; i++) {
                            churn[i] = stamped(cache.alloc(), -1);
                        }
                        for (int i = 0; i < churn.length; i++) {
                            cache.free(churn[i]);
                        }
                    }
                }, failure));
            }
            runStress(millis, writersWarm, failure, stop, threads);
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            a.rcuBarrier();
            RcuFreeStats s = a.rcuStats();
            assertEquals(0, s.pendingObjects(), s::toString);
            assertEquals(0, s.freeErrors(), s::toString);
            assertTrue(s.freedByRcuSheaf() > 0, s::toString);
            assertTrue(s.freedByBulkArray() + s.freedInline() > 0, s::toString);
            assertTrue(s.freedByChain() + s.freedByDeferredList() > 0, s::toString);
            for (int i = 0; i < slots; i++) {
                cache.free(published.get(i));
            }
            assertEquals(liveBefore, a.stats().liveBytes(), "nothing leaked or freed twice");
        }
    }

    /**
     * Deferred frees alone must not fill a small heap: the default pending bound is at most an eighth
     * of the capacity, so a caller that may wait meets it and drives grace periods long before the
     * heap runs out. No drainer thread, so only the callers' own waits free anything; each path
     * (rcu sheaf, 8-byte chain, headless) moves four times the capacity through freeRcu.
     */
    @ParameterizedTest
    @CsvSource({"true, 0", "false, 0", "false, -1"})
    void deferredFreesAloneNeverExhaustASmallHeap(boolean rcuSheaves, long linkOffset) {
        long capacity = 64L << 20;
        try (SlabAllocator a = SlabAllocator.builder().capacity(capacity).rcuSheaves(rcuSheaves)
                .rcuFreeWorkerThread(false).build()) {
            for (long moved = 0; moved < 4 * capacity; moved += 64) {
                long p = a.malloc(64);
                if (linkOffset < 0) {
                    a.freeRcu(p);
                } else {
                    a.freeRcu(p, linkOffset);
                }
            }
            RcuFreeStats s = a.rcuStats();
            assertTrue(s.peakPendingBytes() <= capacity / 2, s::toString);
            a.rcuBarrier();
            assertEquals(0, a.rcuStats().pendingObjects(), a.rcuStats()::toString);
        }
    }

    @Test
    void barrierFreesEverythingQueuedThroughEveryEntryPoint() {
        try (SlabAllocator a = SlabAllocator.builder().rcuDrainDelay(java.time.Duration.ofSeconds(60)).build()) {
            long before = a.stats().liveBytes();
            SlabCache cache = a.createCache(CacheSpec.of("rcu-barrier", 128).withRcuLinkOffset(64));
            for (int i = 0; i < 5000; i++) {
                switch (i & 3) {
                    case 0 -> a.freeRcu(a.malloc(48), 8);
                    case 1 -> a.freeRcu(a.malloc(200));
                    case 2 -> cache.freeRcu(cache.alloc());
                    default -> a.freeRcuNoLock(a.mallocNoLock(64), 0);
                }
            }
            a.rcuBarrier();
            assertEquals(before, a.stats().liveBytes(), "every freeRcu'd object is free after rcuBarrier");
            RcuFreeStats s = a.rcuStats();
            assertEquals(0, s.pendingObjects(), s::toString);
            assertEquals(5000, s.freed(), s::toString);
            cache.destroy();
        }
    }

    @Test
    void addressesTheAllocatorDidNotHandOutAreRejectedAtTheCall() {
        try (SlabAllocator a = SlabAllocator.create()) {
            long p = a.malloc(64);
            assertThrows(IllegalArgumentException.class, () -> a.freeRcu(p + 8, 0));
            assertThrows(IllegalArgumentException.class, () -> a.freeRcu(p + 8));
            assertThrows(IllegalArgumentException.class, () -> a.freeRcuNoLock(p + 8, 0));
            MemorySegment foreign = java.lang.foreign.Arena.ofAuto().allocate(64, 64);
            assertThrows(IllegalArgumentException.class, () -> a.freeRcu(foreign.address(), 0));
            assertThrows(IllegalArgumentException.class, () -> a.freeRcu(foreign.address()));
            assertThrows(IllegalArgumentException.class, () -> a.freeRcuNoLock(foreign.address(), 0));
            assertThrows(IllegalArgumentException.class, () -> a.freeRcuNoLock(p, 60));
            a.rcuBarrier();
            assertEquals(0, a.rcuStats().pendingObjects());
            a.free(p); // still live: the rejected calls queued nothing
        }
    }

    /** The chain path and the rcu sheaf path (whole sheaves submitted) both meet the pending bound. */
    @ParameterizedTest(name = "rcuSheaves={0}")
    @ValueSource(booleans = {false, true})
    void pendingMemoryStaysBoundedThroughTheAllocator(boolean rcuSheaves) throws Exception {
        long limit = 1L << 20;
        try (SlabAllocator a = SlabAllocator.builder().rcuSheaves(rcuSheaves).rcuPendingLimit(limit)
                .rcuDrainDelay(java.time.Duration.ofMillis(50)).build()) {
            int threads = 3;
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                boolean virtual = t == 1;
                Runnable r = () -> {
                    try {
                        while (!stop.get()) {
                            a.freeRcu(a.malloc(256), 0);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                };
                workers.add(virtual ? Thread.ofVirtual().start(r) : Thread.ofPlatform().start(r));
            }
            Thread.sleep(Math.min(STRESS_MILLIS, 1500)); // duration of the run
            stop.set(true);
            for (Thread w : workers) {
                w.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            RcuFreeStats s = a.rcuStats();
            long slack = 2L * (threads + 1) * (limit / 16);
            assertTrue(s.peakPendingBytes() <= limit + slack, s::toString);
            a.rcuBarrier();
        }
    }

    /** close() ends a user's AgentRunner of the drainer (and of the RCU domain) instead of leaving it idling. */
    @Test
    void closeStopsTheUsersAgentRunners() throws Exception {
        Rcu rcu = Rcu.builder().name("user-run").ownWorkerThread(false).build();
        SlabAllocator a = SlabAllocator.builder().rcu(rcu).rcuFreeWorkerThread(false).build();
        org.agrona.concurrent.AgentRunner drainer = new org.agrona.concurrent.AgentRunner(
                new org.agrona.concurrent.BackoffIdleStrategy(), e -> { }, null, a.rcuFreeAgent());
        org.agrona.concurrent.AgentRunner gracePeriods = new org.agrona.concurrent.AgentRunner(
                new org.agrona.concurrent.BackoffIdleStrategy(), e -> { }, null, rcu.agent());
        Thread d = org.agrona.concurrent.AgentRunner.startOnThread(drainer);
        Thread g = org.agrona.concurrent.AgentRunner.startOnThread(gracePeriods);
        for (int i = 0; i < 1000; i++) {
            a.freeRcu(a.malloc(64), 0);
        }
        a.close(); // waits for the 1000 frees, driven by the user's runners
        d.join(java.time.Duration.ofSeconds(30));
        assertFalse(d.isAlive(), "the drainer's runner ends once the allocator is closed");
        rcu.close();
        g.join(java.time.Duration.ofSeconds(30));
        assertFalse(g.isAlive(), "the domain's runner ends once the domain is closed");
        assertTrue(drainer.isClosed() && gracePeriods.isClosed());
    }

    /** No Sheaf thread at all: the user's own loop runs both duty cycles as Agrona agents. */
    @Test
    void drainerRunsAsAnAgentOnTheCallersThread() throws Exception {
        try (Rcu rcu = Rcu.builder().ownWorkerThread(false).build();
             SlabAllocator a = SlabAllocator.builder().rcu(rcu).rcuFreeWorkerThread(false).rcuSheaves(false)
                     .rcuDrainDelay(java.time.Duration.ofNanos(0)).build()) {
            org.agrona.concurrent.Agent drainer = a.rcuFreeAgent();
            org.agrona.concurrent.Agent gracePeriods = rcu.agent();
            long live = a.stats().liveBytes();
            for (int i = 0; i < 1000; i++) {
                a.freeRcu(a.malloc(64), 0);
            }
            long rounds = 0;
            while (a.rcuStats().freed() < 1000) {
                drainer.doWork();
                gracePeriods.doWork();
                rounds++;
                assertTrue(rounds < 10_000_000, () -> "no progress: " + a.rcuStats());
            }
            assertEquals(live, a.stats().liveBytes());
            assertTrue(Thread.getAllStackTraces().keySet().stream()
                    .noneMatch(t -> t.getName().startsWith("sheaf-rcu-free")), "no drainer thread was started");
        }
    }

    private static long stamped(long o, long stamp) {
        ALL.set(ValueLayout.JAVA_LONG, o + STAMP, stamp);
        ALL.set(ValueLayout.JAVA_LONG, o + STAMP2, stamp);
        return o;
    }

}
