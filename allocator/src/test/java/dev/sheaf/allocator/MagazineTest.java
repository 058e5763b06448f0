package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** Per-thread and per-carrier magazines: bounds, re-entrancy, thread death. */
class MagazineTest {

    @Test
    void hundredThousandVirtualThreadsHoldNoMoreMagazinesThanCarrierSlots() throws Exception {
        try (SlabAllocator a = SlabAllocator.builder().capacity(256L << 20).build()) {
            SlabCache c = a.createCache("vt", 64);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 100_000; i++) {
                    ex.submit(() -> {
                        try {
                            long p = c.alloc();
                            Thread.yield(); // likely resumes on another carrier
                            long q = c.alloc();
                            c.free(p);
                            Thread.yield();
                            c.free(q);
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        }
                    });
                }
            }
            assertNull(failure.get());
            assertTrue(c.magazines.carrierCount() <= c.magazines.carrierSlotCount(),
                    c.magazines.carrierCount() + " > " + c.magazines.carrierSlotCount());
            assertTrue(c.magazines.count() <= c.magazines.carrierSlotCount());
            assertEquals(0, c.stats().activeObjects());
            a.shrink();
            c.flushAll(true);
            assertEquals(0, c.liveObjectsExact(), "every cached object went back to slabs");
            c.destroy();
        }
    }

    @Test
    void hookThatAllocatesAndFreesIsSafe() {
        SlabAllocator[] self = new SlabAllocator[1];
        SlabHook reentrant = new SlabHook() {
            final ThreadLocal<Boolean> inside = ThreadLocal.withInitial(() -> false);

            @Override
            public boolean needsLock() {
                return false;
            }

            @Override
            public void afterAlloc(SlabCache cache, long address, long size) {
                nested();
            }

            @Override
            public void beforeFree(SlabCache cache, long address, long size) {
                nested();
            }

            private void nested() {
                if (inside.get()) {
                    return;
                }
                inside.set(true);
                try {
                    long p = self[0].malloc(64);
                    long q = self[0].malloc(48);
                    self[0].free(p);
                    self[0].free(q);
                } finally {
                    inside.set(false);
                }
            }
        };
        try (SlabAllocator a = SlabAllocator.builder().capacity(128L << 20).hook(reentrant).build()) {
            self[0] = a;
            Set<Long> live = new HashSet<>();
            List<Long> order = new ArrayList<>();
            for (int round = 0; round < 20; round++) {
                for (int i = 0; i < 500; i++) {
                    long p = a.malloc(64);
                    assertTrue(live.add(p), "handed out twice");
                    order.add(p);
                }
                for (int i = 0; i < 400; i++) {
                    long p = order.remove(order.size() - 1 - (i % 3 == 0 ? 0 : Math.min(5, order.size() - 1)));
                    live.remove(p);
                    a.free(p);
                }
            }
            for (long p : order) {
                a.free(p);
            }
            assertEquals(0, a.stats().liveBytes());
        }
    }

    @Test
    void busyMagazineFallsBackToSlabs() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache("busy", 64);
            long warm = c.alloc();
            c.free(warm);
            // Simulate a re-entrant call in the middle of a slow path on this thread.
            Magazine m = magazineOf(c);
            m.busy = true;
            int mainBefore = m.main.size;
            long p = c.alloc();
            long q = c.allocNoLock();
            c.free(p);
            c.freeNoLock(q);
            assertEquals(mainBefore, m.main.size, "the busy sheaf was not touched");
            m.busy = false;
            c.flushAll(true);
            assertEquals(0, c.liveObjectsExact());
            c.destroy();
        }
    }

    @Test
    void burstsOfTwoSheavesExchangeMainAndSpareOnTheFastPath() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache("exchange", 64);
            int cap = c.sheafCapacity();
            long[] objs = new long[2 * cap];
            // The first burst fills main and spare through the slow path; later ones must not need it.
            for (int round = 0; round < 3; round++) {
                if (round == 1) {
                    assertNotNull(magazineOf(c).spare, "the first burst left a spare sheaf");
                }
                SlabCache.Stats before = c.stats();
                java.util.Set<Long> seen = new java.util.HashSet<>();
                for (int i = 0; i < objs.length; i++) {
                    objs[i] = c.alloc();
                    assertTrue(seen.add(objs[i]), "address handed out twice in one burst");
                }
                assertEquals(objs.length, c.stats().activeObjects());
                // A double free right after the exchange is still caught by the top-of-sheaf check.
                c.free(objs[0]);
                assertThrows(IllegalStateException.class, () -> c.free(objs[0]));
                for (int i = 1; i < objs.length; i++) {
                    c.free(objs[i]);
                }
                SlabCache.Stats after = c.stats();
                assertEquals(0, after.activeObjects());
                if (round > 0) {
                    assertEquals(before.allocSlowpath(), after.allocSlowpath(), "alloc left the fast path");
                    assertEquals(before.freeSlowpath(), after.freeSlowpath(), "free left the fast path");
                    assertEquals(before.allocFastpath() + objs.length, after.allocFastpath());
                    assertEquals(before.freeFastpath() + objs.length, after.freeFastpath());
                }
                assertEquals(2 * cap, magazineOf(c).cachedObjects(), "main and spare are both full again");
            }
            c.destroy();
        }
    }

    static Magazine magazineOf(SlabCache c) {
        return c.magazines.own();
    }

    @Test
    void deadThreadReturnsItsSheaves() throws Exception {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache("dies", 64);
            Thread t = Thread.ofPlatform().start(() -> {
                long[] objs = new long[100];
                c.allocBulk(objs, objs.length);
                c.freeBulk(objs, objs.length); // now cached in the thread's sheaves
            });
            t.join();
            assertTrue(c.stats().cachedObjects() > 0);
            assertEquals(1, c.magazines.count());
            assertEquals(1, c.magazines.reclaimDead());
            assertEquals(0, c.magazines.count());
            c.flushAll(false);
            assertEquals(0, c.liveObjectsExact(), "nothing the dead thread cached is lost");
            c.destroy();
        }
    }

    @Test
    void threadChurnKeepsReservedMemoryFlat() throws Exception {
        // retainBytes(0): released slabs go straight back to the OS, so reserved memory is what the
        // caches hold (the retained pool is a separate, bounded cache that would blur the trend).
        try (SlabAllocator a = SlabAllocator.builder().capacity(512L << 20).retainBytes(0).build()) {
            long[] reserved = new long[50];
            for (int round = 0; round < 50; round++) {
                List<Thread> threads = new ArrayList<>();
                long[][] handoff = new long[4][];
                for (int t = 0; t < 4; t++) {
                    int id = t;
                    threads.add(Thread.ofPlatform().start(() -> {
                        long[] mine = new long[3000];
                        for (int i = 0; i < mine.length; i++) {
                            mine[i] = a.malloc(16 + (i * 40L + id * 8) % 1000);
                        }
                        for (int i = 0; i < mine.length; i += 2) {
                            a.free(mine[i]);
                            mine[i] = 0;
                        }
                        handoff[id] = mine;
                    }));
                }
                for (Thread t : threads) {
                    t.join();
                }
                // Cross-thread frees: another thread frees what the dead ones kept.
                Thread freer = Thread.ofPlatform().start(() -> {
                    for (long[] objs : handoff) {
                        for (long p : objs) {
                            a.free(p);
                        }
                    }
                });
                freer.join();
                reserved[round] = a.stats().reservedBytes();
            }
            assertEquals(0, a.stats().liveBytes());
            System.out.println("CHURN reserved bytes per round: " + java.util.Arrays.toString(reserved));
            // No leak: the second half of the rounds needs at most a quarter more than the first.
            // Measured on a quiet machine: about +8% over 50 rounds (one 64 KiB block every few
            // rounds, fragmentation across 44 size classes that depends on how the threads
            // interleave; under load it crossed the old 10% line). What this guards against is
            // bigger: a dead thread whose sheaves were never reclaimed strands them for good, over
            // a megabyte per round here, so a leak crosses 25% within a few rounds.
            long firstHalf = java.util.Arrays.stream(reserved, 0, 25).max().orElseThrow();
            long secondHalf = java.util.Arrays.stream(reserved, 25, 50).max().orElseThrow();
            assertTrue(secondHalf <= firstHalf + firstHalf / 4,
                    "reserved grows with churn: " + java.util.Arrays.toString(reserved));
        }
    }
}
