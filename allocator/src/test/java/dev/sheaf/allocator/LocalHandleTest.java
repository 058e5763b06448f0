package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Thread-bound handles (SlabCache.Local, SlabAllocator.Local) and Sheaf-aware threads
 * (SheafThreads.factory(), SheafThread): the fast paths, every misuse, reclaim, virtual threads.
 */
class LocalHandleTest {

    /** A thread class of another framework (Netty's FastThreadLocalThread, say) made Sheaf-aware. */
    static final class LoopThread extends Thread implements SheafThread {
        private final ThreadMagazines magazines = new ThreadMagazines(this);

        LoopThread(Runnable r) {
            super(r, "loop");
        }

        @Override
        public ThreadMagazines sheafMagazines() {
            return magazines;
        }
    }

    /** A wrong SheafThread: it hands out a table made for another thread. */
    static final class ForeignTableThread extends Thread implements SheafThread {
        private final ThreadMagazines foreign = new ThreadMagazines(Thread.currentThread());

        ForeignTableThread(Runnable r) {
            super(r, "foreign-table");
        }

        @Override
        public ThreadMagazines sheafMagazines() {
            return foreign;
        }
    }

    /** Runs {@code body} on a thread of {@code factory}, rethrowing what it threw. */
    static void runOn(ThreadFactory factory, ThrowingRunnable body) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = factory.newThread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        if (failure.get() != null) {
            throw new AssertionError("on " + t.getName(), failure.get());
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void cacheHandleOnAPlatformThreadSharesTheThreadsMagazine() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache("handle", 64);
            try (SlabCache.Local h = c.local()) {
                long[] objs = new long[10];
                for (int i = 0; i < objs.length; i++) {
                    objs[i] = h.alloc();
                }
                SlabCache.Stats s = c.stats();
                assertEquals(10, s.activeObjects());
                assertEquals(1, s.magazines(), "handle and plain calls share one magazine");
                long fast = s.freeFastpath();
                for (int i = 0; i < objs.length; i++) {
                    if ((i & 1) == 0) {
                        h.free(objs[i]);
                    } else {
                        c.free(objs[i]); // plain free of a handle's object: consistent
                    }
                }
                assertEquals(fast + 10, c.stats().freeFastpath());
                long p = c.alloc();
                h.free(p);
                try (SlabCache.Local second = c.local()) {
                    second.free(h.alloc()); // two handles of one cache on one thread
                }
                assertEquals(0, c.stats().activeObjects());
                assertEquals(1, c.stats().magazines());
            }
            c.destroy();
        }
    }

    /** No aged flush of partly filled rcu sheaves during a test: their counts stay put. */
    static SlabAllocator.Builder noAgedFlush() {
        return Heaps.small().rcuDrainDelay(Duration.ofHours(1));
    }

    @Test
    void closeGivesTheSheavesBackAndKeepsTheThreadsMagazine() {
        try (SlabAllocator a = noAgedFlush().build()) {
            SlabCache c = a.createCache("close", 64);
            SlabCache.Local h = c.local();
            long[] objs = new long[c.sheafCapacity() + 5];
            for (int i = 0; i < objs.length; i++) {
                objs[i] = h.alloc();
            }
            for (long p : objs) {
                h.free(p);
            }
            long r = h.alloc();
            h.freeRcu(r);
            Magazine m = c.magazines.own();
            assertTrue(m.cachedObjects() > 0);
            assertEquals(1, m.rcuObjects());
            long submitted = c.stats().rcuSheavesSubmitted();
            h.close();
            h.close(); // idempotent
            assertEquals(0, m.cachedObjects(), "main and spare given back");
            assertEquals(0, m.rcuObjects(), "rcu sheaf handed to the engine");
            assertEquals(submitted + 1, c.stats().rcuSheavesSubmitted());
            assertSame(m, c.magazines.own(), "the thread keeps its magazine");
            c.free(c.alloc()); // plain calls go on
            a.rcuBarrier();
            c.flushAll(false);
            assertEquals(0, c.liveObjectsExact(), "nothing lost");
            c.destroy();
        }
    }

    @Test
    void anotherThreadGetsWrongThreadException() throws Exception {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache("confined", 64);
            SlabCache.Local h = c.local();
            SlabAllocator.Local ah = a.local();
            long p = h.alloc();
            long q = ah.malloc(100);
            runOn(Thread.ofPlatform().factory(), () -> {
                assertThrows(WrongThreadException.class, h::alloc);
                assertThrows(WrongThreadException.class, () -> h.free(p));
                assertThrows(WrongThreadException.class, () -> h.freeRcu(p));
                assertThrows(WrongThreadException.class, h::close);
                assertThrows(WrongThreadException.class, () -> ah.malloc(8));
                assertThrows(WrongThreadException.class, () -> ah.free(q));
                assertThrows(WrongThreadException.class, () -> ah.freeRcu(q, 0));
                assertThrows(WrongThreadException.class, () -> ah.freeRcu(q));
                assertThrows(WrongThreadException.class, ah::close);
            });
            runOn(Thread.ofVirtual().factory(), () -> assertThrows(WrongThreadException.class, h::alloc));
            h.free(p); // still the owner's, untouched
            ah.free(q);
            h.close();
            ah.close();
            assertEquals(0, c.stats().activeObjects());
            assertEquals(0, a.stats().liveBytes());
        }
    }

    @Test
    void cacheHandleRefusesEveryMisuseAndLosesNothing() {
        try (SlabAllocator a = Heaps.small().build(); SlabAllocator other = Heaps.small().build()) {
            SlabCache c = a.createCache("misuse", 64);
            SlabCache d = a.createCache("misuse-other", 64);
            SlabCache.Local h = c.local();
            long p = h.alloc();
            long foreignHeap = other.malloc(64);
            long otherCache = d.alloc();
            assertThrows(IllegalArgumentException.class, () -> h.free(foreignHeap));
            assertThrows(IllegalArgumentException.class, () -> h.free(otherCache));
            assertThrows(IllegalArgumentException.class, () -> h.free(p + 8), "interior");
            assertThrows(IllegalArgumentException.class, () -> h.freeRcu(p + 8), "interior");
            assertThrows(IllegalArgumentException.class, () -> h.free(12345L), "outside any allocator");
            assertThrows(IllegalStateException.class, () -> h.free(p + c.slotSize()), "never handed out");
            long q = h.alloc();
            h.free(q);
            assertThrows(IllegalStateException.class, () -> h.free(q), "double free");
            assertThrows(IllegalStateException.class, () -> h.freeRcu(q), "freeRcu after free");
            long r = h.alloc();
            h.freeRcu(r);
            assertThrows(IllegalStateException.class, () -> h.free(r), "free while pending");
            assertThrows(IllegalStateException.class, () -> h.freeRcu(r), "double freeRcu");
            h.free(0); // no-op
            h.freeRcu(0);
            assertEquals(1, c.stats().activeObjects(), "refused calls changed nothing: p is still live");
            h.close();
            assertThrows(IllegalStateException.class, h::alloc, "after close");
            assertThrows(IllegalStateException.class, () -> h.free(p), "after close");
            assertThrows(IllegalStateException.class, () -> h.freeRcu(p), "after close");
            c.free(p); // the plain API still takes it
            d.free(otherCache);
            other.free(foreignHeap);

            SlabCache.Local h2 = c.local();
            a.rcuBarrier();
            c.destroy();
            assertThrows(IllegalStateException.class, h2::alloc, "after destroy");
            assertThrows(IllegalStateException.class, () -> h2.free(p), "after destroy");
            assertThrows(IllegalStateException.class, c::local, "local() after destroy");
            h2.close(); // only ends the handle

            SlabCache.Local h3 = d.local();
            long s = h3.alloc();
            a.close();
            assertThrows(IllegalStateException.class, h3::alloc, "after allocator close");
            assertThrows(IllegalStateException.class, () -> h3.free(s), "after allocator close");
            h3.close();
        }
    }

    @Test
    void allocatorHandleRefusesEveryMisuseAndLosesNothing() {
        try (SlabAllocator a = Heaps.small().build(); SlabAllocator other = Heaps.small().build()) {
            SlabAllocator.Local h = a.local();
            long p = h.malloc(64);
            long foreign = other.malloc(64);
            assertThrows(IllegalArgumentException.class, () -> h.malloc(0));
            assertThrows(IllegalArgumentException.class, () -> h.malloc(-1));
            assertThrows(IllegalArgumentException.class, () -> h.free(foreign));
            assertThrows(IllegalArgumentException.class, () -> h.free(p + 8), "interior");
            assertThrows(IllegalArgumentException.class, () -> h.freeRcu(p + 8, 0), "interior");
            assertThrows(IllegalArgumentException.class, () -> h.freeRcu(p, 60), "link field past the object");
            assertThrows(IllegalArgumentException.class, () -> h.freeRcu(p, 4), "unaligned link field");
            long q = h.malloc(64);
            h.free(q);
            assertThrows(IllegalStateException.class, () -> h.free(q), "double free");
            assertThrows(IllegalStateException.class, () -> h.freeRcu(q, 0), "freeRcu after free");
            assertThrows(IllegalStateException.class, () -> h.freeRcu(q), "headless freeRcu after free");
            long big = h.malloc(100_000);
            assertThrows(IllegalArgumentException.class, () -> h.free(big + 8), "interior of a span");
            h.free(big);
            assertThrows(IllegalArgumentException.class, () -> h.free(big), "double free of a span: free memory");
            assertEquals(64, a.stats().liveBytes(), "refused calls changed nothing: p is still live");
            h.close();
            assertThrows(IllegalStateException.class, () -> h.malloc(8), "after close");
            assertThrows(IllegalStateException.class, () -> h.free(p), "after close");
            a.free(p);
            other.free(foreign);
            SlabAllocator.Local h2 = a.local();
            long s = h2.malloc(32);
            a.close();
            assertThrows(IllegalStateException.class, () -> h2.malloc(8), "after allocator close");
            assertThrows(IllegalStateException.class, () -> h2.free(s), "after allocator close");
            assertThrows(IllegalStateException.class, () -> h2.freeRcu(s, 0), "after allocator close");
            assertThrows(IllegalStateException.class, a::local, "local() after close");
            h2.close();
        }
    }

    @Test
    void allocatorHandleServesEveryKindOfObject() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache created = a.createCache("created", 48);
            try (SlabAllocator.Local h = a.local()) {
                long[] objs = new long[200];
                for (int i = 0; i < objs.length; i++) {
                    objs[i] = h.malloc(1 + i * 37L);
                }
                long big = h.malloc(200_000);
                long mine = created.alloc();
                h.free(mine); // a created cache's object through the allocator handle
                h.free(big);
                for (int i = 0; i < objs.length; i++) {
                    switch (i % 3) {
                        case 0 -> h.free(objs[i]);
                        case 1 -> h.freeRcu(objs[i], 0);
                        default -> h.freeRcu(objs[i]);
                    }
                }
                long rcuBig = h.malloc(100_000);
                h.freeRcu(rcuBig, 0); // a span: the engine's path
            }
            a.rcuBarrier();
            assertEquals(0, a.stats().liveBytes());
            created.destroy();
        }
    }

    @Test
    void handlesOfCachesWithoutSheavesOrWithCheapChecks() {
        try (SlabAllocator a = Heaps.small().sheafCapacity(0).build()) {
            SlabCache none = a.createCache(CacheSpec.of("no-sheaves", 64).withSheafCapacity(0).withRcuLinkOffset(0));
            SlabCache cheap = a.createCache(CacheSpec.of("cheap", 64).withFlags(SlabFlag.CHEAP_FREE_CHECKS));
            try (SlabCache.Local n = none.local(); SlabCache.Local c = cheap.local(); SlabAllocator.Local h = a.local()) {
                for (int i = 0; i < 100; i++) {
                    n.free(n.alloc());
                    n.freeRcu(n.alloc()); // the engine's chain through the rcu link
                    c.free(c.alloc());
                    h.free(h.malloc(64)); // size classes without sheaves
                    h.freeRcu(h.malloc(64), 0);
                    h.freeRcu(h.malloc(64));
                }
                long p = n.alloc();
                n.free(p);
                assertThrows(IllegalStateException.class, () -> n.free(p), "double free without sheaves");
                assertThrows(IllegalArgumentException.class, () -> c.free(c.alloc() + 8), "interior, cheap checks");
            }
            a.rcuBarrier();
            assertEquals(0, none.stats().activeObjects());
            assertEquals(0, a.sizeClassCache(64).stats().activeObjects());
        }
    }

    @Test
    void reentrantHandleCallsFallBackToTheSlabs() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache("busy", 64);
            try (SlabCache.Local h = c.local(); SlabAllocator.Local ah = a.local()) {
                long keep = h.alloc();
                long keep2 = ah.malloc(64);
                Magazine m = c.magazines.own();
                Magazine km = a.sizeClassCache(64).magazines.own();
                int cached = m.cachedObjects();
                m.busy = true; // as inside this thread's own slow path (a hook calling back)
                km.busy = true;
                try {
                    long p = h.alloc();
                    h.free(p);
                    h.free(keep);
                    long q = ah.malloc(64);
                    ah.free(q);
                    ah.free(keep2);
                } finally {
                    m.busy = false;
                    km.busy = false;
                }
                assertEquals(cached, m.cachedObjects(), "the busy magazine was not touched");
            }
            assertEquals(0, c.stats().activeObjects());
            assertEquals(0, a.stats().liveBytes());
            c.destroy();
        }
    }

    @Test
    void hooksMayCallBackIntoTheHandlesCache() {
        AtomicReference<SlabCache.Local> handle = new AtomicReference<>();
        SlabHook hook = new SlabHook() {
            private boolean inside;

            @Override
            public void afterAlloc(SlabCache cache, long address, long size) {
                SlabCache.Local h = handle.get();
                if (h != null && !inside && cache.name().equals("hooked")) {
                    inside = true;
                    try {
                        h.free(h.alloc()); // nested handle calls on the owner thread
                    } finally {
                        inside = false;
                    }
                }
            }
        };
        try (SlabAllocator a = Heaps.small().hook(hook).build()) {
            SlabCache c = a.createCache("hooked", 64);
            try (SlabCache.Local h = c.local()) {
                handle.set(h);
                long[] objs = new long[3 * c.sheafCapacity()];
                for (int i = 0; i < objs.length; i++) {
                    objs[i] = h.alloc();
                }
                for (long p : objs) {
                    h.free(p);
                }
                handle.set(null);
            }
            assertEquals(0, c.stats().activeObjects());
            c.destroy();
        }
    }

    @Test
    void deadThreadWithAnOpenHandleIsReclaimed() throws Exception {
        for (ThreadFactory f : new ThreadFactory[] {Thread.ofPlatform().factory(), SheafThreads.factory()}) {
            try (SlabAllocator a = noAgedFlush().build()) {
                SlabCache c = a.createCache("dies-open", 64);
                runOn(f, () -> {
                    SlabCache.Local h = c.local();
                    SlabAllocator.Local ah = a.local();
                    long[] objs = new long[100];
                    for (int i = 0; i < objs.length; i++) {
                        objs[i] = h.alloc();
                    }
                    for (long p : objs) {
                        h.free(p);
                    }
                    h.freeRcu(h.alloc());
                    ah.free(ah.malloc(64)); // never closed either
                });
                assertTrue(c.stats().cachedObjects() > 0);
                assertEquals(1, c.stats().rcuSheafObjects());
                assertEquals(1, c.magazines.count());
                assertEquals(1, c.magazines.reclaimDead(), "the dead owner's magazine");
                assertEquals(0, c.magazines.count());
                a.rcuBarrier();
                c.flushAll(false);
                assertEquals(0, c.liveObjectsExact(), "nothing the dead thread cached is lost");
                c.destroy();
                assertEquals(1, a.sizeClassCache(64).magazines.reclaimDead());
                assertEquals(0, a.stats().liveBytes());
            }
        }
    }

    @Test
    void virtualThreadHandlesHoardNoSheaves() throws Exception {
        try (SlabAllocator a = SlabAllocator.builder().capacity(256L << 20).build()) {
            SlabCache c = a.createCache("vt-handles", 64);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 10_000; i++) {
                    ex.submit(() -> {
                        try (SlabCache.Local h = c.local(); SlabAllocator.Local ah = a.local()) {
                            long p = h.alloc();
                            long q = ah.malloc(64);
                            Thread.yield(); // likely resumes on another carrier
                            h.free(p);
                            ah.freeRcu(q, 0);
                            h.freeRcu(h.alloc());
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        }
                    });
                }
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            // Carrier magazines only, plus those of the few platform threads of the rcu machinery
            // that may free into a cache (the engine's worker, releasing what fell back to its
            // chain); 10,000 hoarding handles would show here.
            int slots = c.magazines.carrierSlotCount();
            int platform = 4;
            for (MagazineRegistry r : new MagazineRegistry[] {c.magazines, a.sizeClassCache(64).magazines}) {
                assertTrue(r.carrierCount() <= slots && r.count() <= slots + platform, "magazines " + r.count()
                        + " (carrier " + r.carrierCount() + "), carrier slots " + slots);
            }
            // main+spare per magazine, and the barn; sheaves may grow up to the cache's limit
            long bound = (2L * (slots + platform) + 10) * c.sheafCapacityLimit();
            long cached = c.stats().cachedObjects();
            assertTrue(cached <= bound, "cached " + cached + " > " + bound);
            a.rcuBarrier();
            assertEquals(0, a.stats().liveBytes());
            assertEquals(0, c.stats().activeObjects());
            c.destroy();
        }
    }

    /** On the calling Sheaf-aware thread: its magazine of {@code c} is in its own table, not in the probe table. */
    static void assertFoundInThreadTable(SlabCache c) {
        ThreadMagazines tm = ThreadMagazines.of(Thread.currentThread());
        assertNotNull(tm, "a Sheaf-aware thread");
        Magazine m = tm.find(c);
        assertNotNull(m, "the magazine is in the thread's table");
        assertSame(m, c.magazines.own());
        assertNull(c.perThreadTableEntry(), "and not in the PerThreadTable: the fast path found it in the thread");
    }

    @Test
    void factoryAndInterfaceThreadsUseTheirOwnTable() throws Exception {
        for (ThreadFactory f : new ThreadFactory[] {SheafThreads.factory(), SlabAllocator.threadFactory(),
                LoopThread::new}) {
            try (SlabAllocator a = Heaps.small().build()) {
                SlabCache c = a.createCache("fast", 64);
                runOn(f, () -> {
                    long before = c.stats().allocFastpath();
                    for (int i = 0; i < 1000; i++) {
                        c.free(c.alloc());
                    }
                    for (int i = 0; i < 1000; i++) {
                        a.free(a.malloc(64));
                    }
                    a.freeRcu(a.malloc(64), 0);
                    c.freeRcu(c.alloc());
                    try (SlabCache.Local h = c.local(); SlabAllocator.Local ah = a.local()) {
                        h.free(h.alloc());
                        ah.free(ah.malloc(64));
                    }
                    SlabCache.Stats s = c.stats();
                    assertEquals(1, s.magazines(), "one magazine: plain calls and handles agree");
                    assertTrue(s.allocFastpath() - before >= 1000, "alloc took the fast path");
                    assertFoundInThreadTable(c);
                    assertFoundInThreadTable(a.sizeClassCache(64));
                    assertEquals(1, a.sizeClassCache(64).stats().magazines());
                });
                a.rcuBarrier();
                assertEquals(0, a.stats().liveBytes());
                assertEquals(0, c.stats().activeObjects());
                c.destroy();
            }
        }
    }

    @Test
    void aThreadHandingOutAnotherThreadsTableUsesTheProbeTable() throws Exception {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache("foreign-table", 64);
            runOn(ForeignTableThread::new, () -> {
                assertNull(ThreadMagazines.of(Thread.currentThread()));
                c.free(c.alloc());
                try (SlabCache.Local h = c.local()) {
                    h.free(h.alloc());
                }
                assertNotNull(c.perThreadTableEntry());
                assertSame(c.perThreadTableEntry(), c.magazines.own());
                assertEquals(1, c.stats().magazines());
            });
            c.destroy();
        }
    }

    @Test
    void aRecycledCacheIndexNeverReusesAStaleMagazine() throws Exception {
        try (SlabAllocator a = Heaps.small().build();
             ExecutorService one = Executors.newSingleThreadExecutor(SheafThreads.factory())) {
            SlabCache first = a.createCache("first", 64);
            int index = first.threadIndex;
            one.submit(() -> first.free(first.alloc())).get();
            first.destroy();
            SlabCache second = a.createCache("second", 64);
            one.submit(() -> {
                ThreadMagazines tm = ThreadMagazines.of(Thread.currentThread());
                if (second.threadIndex == index) {
                    assertNull(tm.find(second), "the slot holds the destroyed cache's magazine: a miss");
                }
                long p = second.alloc();
                second.free(p);
                Magazine m = tm.find(second);
                assertNotNull(m);
                assertEquals(second.id, m.cacheId);
                assertTrue(m.cachedObjects() > 0);
                return null;
            }).get();
            assertEquals(0, second.stats().activeObjects());
            assertEquals(1, second.stats().magazines());
            second.destroy();
        }
    }
}
