package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;
import dev.sheaf.allocator.testing.StressThreads;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Adaptive sheaf capacity (SheafSizing): growth under long bursts up to four times the table's
 * value, shrinking after quiet windows, pinned capacities, the per-thread memory in stats, and the
 * magazine rules (threads, carrier magazines, dead threads) with grown sheaves. The heaps run no
 * background drainer, so windows close only when a test calls SheafSizing.closeWindow.
 */
class SheafSizingTest {

    private static final int BURST = 1600;

    private static SlabAllocator heap() {
        return Heaps.small().rcuFreeWorkerThread(false).build();
    }

    private static void burst(SlabCache c, long[] objs, int n) {
        for (int i = 0; i < n; i++) {
            objs[i] = c.alloc();
        }
        for (int i = 0; i < n; i++) {
            c.free(objs[i]);
        }
    }

    private static long slowPaths(SlabCache c) {
        SlabCache.Stats s = c.stats();
        return s.allocSlowpath() + s.freeSlowpath();
    }

    @Test
    void repeatedLongBurstsGrowTheCapacityUpToFourTimesTheTable() {
        try (SlabAllocator a = heap()) {
            SlabCache c = a.createCache("grow", 64);
            assertEquals(60, c.sheafCapacity());
            assertEquals(240, c.sheafCapacityLimit());
            long[] objs = new long[BURST];
            for (int i = 0; i < 20; i++) {
                burst(c, objs, BURST);
                Magazine m = MagazineTest.magazineOf(c);
                assertTrue(m.capacity <= c.sheafCapacityLimit(), "bounded: " + m.capacity);
            }
            Magazine m = MagazineTest.magazineOf(c);
            assertEquals(240, m.capacity);
            assertEquals(240, m.main.objects.length, "sheaves have room for the bound");
            assertEquals(240, m.spare.objects.length);
            SlabCache.Stats s = c.stats();
            assertEquals(60, s.sheafCapacity(), "sheafCapacity stays the starting value");
            assertEquals(240, s.largestSheafCapacity());
            assertEquals(240, s.sheafCapacityLimit());
            // A grown magazine moves a whole burst in a quarter of the exchanges.
            long before = slowPaths(c);
            burst(c, objs, BURST);
            long grownBurst = slowPaths(c) - before;
            assertTrue(grownBurst <= 2 * BURST / 240 + 2, grownBurst + " slow paths per burst at 240");
            a.shrink(); // the caller asks for its memory back: its magazine starts again from 60
            assertEquals(60, MagazineTest.magazineOf(c).capacity);
            assertEquals(0, c.stats().magazineBytes());
            c.flushAll(true);
            assertEquals(0, c.liveObjectsExact());
            c.destroy();
        }
    }

    @Test
    void quietWindowsShrinkTheCapacityOnTheNextSlowPath() {
        try (SlabAllocator a = heap()) {
            SlabCache c = a.createCache("shrink", 64);
            long[] objs = new long[BURST];
            for (int i = 0; i < 10; i++) {
                burst(c, objs, BURST);
            }
            Magazine m = MagazineTest.magazineOf(c);
            assertEquals(240, m.capacity);
            // The window of the bursts closes (it saw many slow paths: no step), then one quiet one.
            c.sizing.closeWindow();
            c.sizing.closeWindow();
            assertEquals(240, m.capacity, "nothing changes off the owner's slow path");
            long slow = slowPaths(c);
            int n = 0;
            while (slowPaths(c) == slow) { // allocate until the first slow path
                objs[n++] = c.alloc();
            }
            assertEquals(120, m.capacity, "one quiet window: one halving");
            c.sizing.closeWindow();
            c.sizing.closeWindow();
            c.sizing.closeWindow();
            slow = slowPaths(c);
            while (slowPaths(c) == slow) {
                objs[n++] = c.alloc();
            }
            assertEquals(60, m.capacity, "never below the table's value");
            assertEquals(60, c.stats().largestSheafCapacity());
            for (int i = 0; i < n; i++) {
                c.free(objs[i]);
            }
            // Pushes stop at the shrunk capacity: main never takes more than 60 now.
            m = MagazineTest.magazineOf(c);
            assertTrue(m.mainSize <= m.main.objects.length);
            c.flushAll(true);
            assertEquals(0, c.liveObjectsExact());
            c.destroy();
        }
    }

    @Test
    void eightDrainerPassesMakeAWindow() {
        try (SlabAllocator a = heap()) {
            SlabCache c = a.createCache("passes", 64);
            long[] objs = new long[BURST];
            for (int i = 0; i < 10; i++) {
                burst(c, objs, BURST);
            }
            Magazine m = MagazineTest.magazineOf(c);
            assertEquals(240, m.capacity);
            for (int i = 0; i < SheafSizing.PASSES_PER_WINDOW - 1; i++) {
                c.sizing.tick();
            }
            int n = allocUntilSlowPath(c, objs, 0);
            assertEquals(240, m.capacity, "no window closed yet");
            for (int i = 0; i < SheafSizing.PASSES_PER_WINDOW + 1; i++) {
                c.sizing.tick();
            }
            n = allocUntilSlowPath(c, objs, n);
            // Two windows closed: the busy one of the bursts (no step) and a quiet one (one step).
            assertEquals(120, m.capacity);
            for (int i = 0; i < n; i++) {
                c.free(objs[i]);
            }
            c.flushAll(true);
            assertEquals(0, c.liveObjectsExact());
            c.destroy();
        }
    }

    /** Allocates into objs from index n until the calling thread takes a slow path; the new n. */
    private static int allocUntilSlowPath(SlabCache c, long[] objs, int n) {
        long slow = slowPaths(c);
        int i = n;
        while (slowPaths(c) == slow) {
            objs[i++] = c.alloc();
        }
        return i;
    }

    @Test
    void anExplicitCapacityIsPinned() {
        try (SlabAllocator a = heap()) {
            SlabCache c = a.createCache(CacheSpec.of("pinned", 64).withSheafCapacity(60));
            assertEquals(60, c.sheafCapacity());
            assertEquals(60, c.sheafCapacityLimit());
            long[] objs = new long[BURST];
            for (int i = 0; i < 20; i++) {
                burst(c, objs, BURST);
                if ((i & 3) == 0) {
                    c.sizing.closeWindow();
                }
                assertEquals(60, MagazineTest.magazineOf(c).capacity);
            }
            Magazine m = MagazineTest.magazineOf(c);
            assertEquals(60, m.main.objects.length, "a pinned cache's sheaves are exactly its capacity");
            // At most 60 objects move per slow path: beyond the 120 in main and spare, a burst
            // needs one per sheaf each way.
            long before = slowPaths(c);
            burst(c, objs, BURST);
            long pinnedBurst = slowPaths(c) - before;
            assertTrue(pinnedBurst >= 2 * (BURST - 120) / 60, pinnedBurst + " slow paths per burst at 60");
            SlabCache.Stats s = c.stats();
            assertEquals(60, s.largestSheafCapacity());
            assertEquals(60, s.sheafCapacityLimit());
            c.flushAll(true);
            c.destroy();
        }
    }

    @Test
    void aCacheWithoutSheavesReportsNoCapacity() {
        try (SlabAllocator a = heap()) {
            SlabCache c = a.createCache(CacheSpec.of("none", 64).withSheafCapacity(0));
            long[] objs = new long[200];
            burst(c, objs, objs.length);
            SlabCache.Stats s = c.stats();
            assertEquals(0, s.sheafCapacity());
            assertEquals(0, s.sheafCapacityLimit());
            assertEquals(0, s.largestSheafCapacity());
            assertEquals(0, s.magazineBytes());
            assertEquals(0, c.liveObjectsExact());
            c.destroy();
        }
    }

    @Test
    void statsReportTheBytesCachedPerThread() throws Exception {
        try (SlabAllocator a = heap()) {
            SlabCache c = a.createCache("bytes", 64);
            long[] objs = new long[100];
            burst(c, objs, objs.length);
            // 100 allocations: two refills of 60 (20 left in main); 100 frees: main to 60, a new
            // main for the other 60. No barn sheaf is involved.
            assertEquals(120 * 64, c.stats().magazineBytes());
            Thread t = Thread.ofPlatform().start(() -> {
                long[] mine = new long[10];
                burst(c, mine, mine.length);
            });
            t.join(); // its magazine stays registered until a reclaim
            long sum = 0;
            for (Magazine m : c.magazines.all()) {
                sum += m.cachedObjects();
            }
            SlabCache.Stats s = c.stats();
            assertEquals(2, s.magazines());
            assertEquals((120 + 60) * 64, s.magazineBytes());
            assertEquals(sum * 64, s.magazineBytes());
            assertEquals(sum, s.cachedObjects(), "nothing in the barn: cached objects are the magazines'");
            // Long bursts fill grown sheaves: more bytes per thread, never more than two sheaves at the bound.
            long[] big = new long[BURST];
            for (int i = 0; i < 10; i++) {
                burst(c, big, BURST);
            }
            long own = MagazineTest.magazineOf(c).cachedObjects();
            assertTrue(own > 120 && own <= 2 * 240, own + " objects cached");
            sum = 0; // the bursts' slab growth reclaimed the dead helper's magazine
            for (Magazine m : c.magazines.all()) {
                sum += m.cachedObjects();
            }
            assertEquals(sum * 64, c.stats().magazineBytes());
            c.flushAll(true);
            assertEquals(0, c.stats().magazineBytes());
            c.destroy();
        }
    }

    @Test
    void aVirtualThreadsCarrierMagazineGrows() throws Exception {
        try (SlabAllocator a = heap()) {
            SlabCache c = a.createCache("carrier-grow", 64);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread vt = StressThreads.start(true, () -> {
                long[] objs = new long[BURST];
                for (int i = 0; i < 10; i++) {
                    burst(c, objs, BURST);
                }
            }, failure);
            vt.join();
            assertNull(failure.get());
            // One virtual thread at a time: every call found the one carrier magazine in some slot.
            assertEquals(1, c.magazines.carrierCount());
            Magazine carrier = c.magazines.all()[0];
            assertNull(carrier.owner, "a carrier magazine");
            assertEquals(240, carrier.capacity);
            assertEquals(240, c.stats().largestSheafCapacity());
            c.flushAll(true);
            assertEquals(0, c.liveObjectsExact());
            c.destroy();
        }
    }

    @Test
    void aDeadThreadsGrownSheavesAreReclaimedWithNothingLost() throws Exception {
        try (SlabAllocator a = heap()) {
            SlabCache c = a.createCache("dead-grown", 64);
            int[] capacity = new int[1];
            Thread t = Thread.ofPlatform().start(() -> {
                long[] objs = new long[BURST];
                for (int i = 0; i < 10; i++) {
                    burst(c, objs, BURST);
                }
                capacity[0] = MagazineTest.magazineOf(c).capacity;
            });
            t.join();
            assertEquals(240, capacity[0]);
            long cached = c.stats().cachedObjects();
            assertEquals(1, c.magazines.reclaimDead());
            assertEquals(0, c.magazines.count());
            SlabCache.Stats s = c.stats();
            assertEquals(0, s.magazineBytes());
            assertEquals(60, s.largestSheafCapacity(), "no magazine: the starting capacity");
            assertTrue(s.barnFull() >= 1, "its full spare went to the barn");
            assertEquals(c.liveObjectsExact(), s.cachedObjects(), "everything out of slabs is cached");
            assertTrue(s.cachedObjects() <= cached);
            // A new thread takes the grown sheaves from the barn: each object exactly once.
            Set<Long> seen = new HashSet<>();
            long[] objs = new long[BURST];
            for (int i = 0; i < BURST; i++) {
                objs[i] = c.alloc();
                assertTrue(seen.add(objs[i]), "handed out twice");
            }
            for (long p : objs) {
                c.free(p);
            }
            c.flushAll(true);
            assertEquals(0, c.liveObjectsExact(), "nothing the dead thread cached is lost");
            c.destroy();
        }
    }

    /**
     * Platform and virtual threads run bursts of random length (up to past the barn) and free a
     * part of each other's objects, so magazines of different capacities share the barn's
     * sheaves, while a ticker closes windows (capacities shrink and grow concurrently). Every
     * address is live at most once; everything is accounted for at the end. Outcome-deterministic:
     * a fixed amount of work, no timing assertions.
     */
    @Test
    void threadsOfDifferentCapacitiesNeverShareAnObject() throws Exception {
        try (SlabAllocator a = heap()) {
            SlabCache c = a.createCache("sizing-stress", 64);
            ConcurrentHashMap<Long, Integer> live = new ConcurrentHashMap<>();
            ConcurrentLinkedQueue<Long> handoff = new ConcurrentLinkedQueue<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicBoolean done = new AtomicBoolean();
            Thread ticker = StressThreads.start(false, () -> {
                while (!done.get()) {
                    c.sizing.closeWindow();
                    SlabCache.Stats s = c.stats();
                    if (s.largestSheafCapacity() > s.sheafCapacityLimit()) {
                        throw new AssertionError("capacity past the bound: " + s);
                    }
                    Thread.onSpinWait();
                }
            }, failure);
            List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                int id = w + 1;
                workers.add(StressThreads.start(w >= 4, () -> {
                    SplittableRandom rnd = new SplittableRandom(id);
                    long[] objs = new long[2000];
                    for (int round = 0; round < 60; round++) {
                        int n = 1 + rnd.nextInt(objs.length);
                        for (int i = 0; i < n; i++) {
                            long p = c.alloc();
                            if (live.putIfAbsent(p, id) != null) {
                                throw new AssertionError(String.format("0x%x handed out while live", p));
                            }
                            objs[i] = p;
                        }
                        for (int i = 0; i < n; i++) {
                            if (rnd.nextInt(4) == 0) {
                                handoff.add(objs[i]); // another thread frees it
                            } else {
                                free(c, live, objs[i]);
                            }
                        }
                        Long q;
                        int taken = 0;
                        while (taken++ < 500 && (q = handoff.poll()) != null) {
                            free(c, live, q);
                        }
                    }
                }, failure));
            }
            for (Thread t : workers) {
                t.join();
            }
            done.set(true);
            ticker.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            Long q;
            while ((q = handoff.poll()) != null) {
                free(c, live, q);
            }
            assertTrue(live.isEmpty(), live.size() + " objects unaccounted");
            for (Magazine m : c.magazines.all()) {
                assertTrue(m.capacity >= 60 && m.capacity <= 240, "capacity " + m.capacity);
            }
            c.flushAll(true);
            assertEquals(0, c.liveObjectsExact());
            c.destroy();
        }
    }

    private static void free(SlabCache c, ConcurrentHashMap<Long, Integer> live, long p) {
        if (live.remove(p) == null) {
            throw new AssertionError(String.format("0x%x freed but not live", p));
        }
        c.free(p);
    }
}
