package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Remote frees (RemoteFrees): an object freed by a thread other than its slab's home goes home in
 * a remote sheaf, through the home's inbox, and is never lost: not when the home dies, closes a
 * handle, or the cache is destroyed. Two long-lived platform threads ("A" and "B", one executor
 * each) play the home and the remote thread; every step is a task the test waits for.
 */
class RemoteFreesTest {

    private static final int CAP = 8;

    private static <T> T on(ExecutorService thread, Callable<T> task) throws Exception {
        return thread.submit(task).get(30, TimeUnit.SECONDS);
    }

    private static void stop(ExecutorService thread) throws InterruptedException {
        thread.shutdown();
        assertTrue(thread.awaitTermination(30, TimeUnit.SECONDS));
    }

    /** The threads end; every object is back in the slabs and the cache destroys. */
    private static void destroyWithNothingLive(SlabCache c, ExecutorService... threads) throws InterruptedException {
        for (ExecutorService t : threads) {
            stop(t);
        }
        c.flushAll(true);
        assertEquals(0, c.liveObjectsExact(), c.stats().toString());
        c.destroy();
    }

    private static SlabCache pinned(SlabAllocator a) {
        return a.createCache(CacheSpec.of("remote", 64).withSheafCapacity(CAP));
    }

    private static long[] allocOn(ExecutorService thread, SlabCache c, int n) throws Exception {
        return on(thread, () -> {
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                out[i] = c.alloc();
            }
            return out;
        });
    }

    private static Set<Long> setOf(long[] xs) {
        Set<Long> s = new HashSet<>();
        for (long x : xs) {
            s.add(x);
        }
        return s;
    }

    @Test
    void aRemoteObjectDoesNotComeBackToTheFreeingThread() throws Exception {
        ExecutorService a = Executors.newSingleThreadExecutor();
        ExecutorService b = Executors.newSingleThreadExecutor();
        try (SlabAllocator heap = Heaps.small().build()) {
            SlabCache c = pinned(heap);
            long x = allocOn(a, c, 1)[0];
            long y = on(b, () -> {
                c.free(x);
                return c.alloc();
            });
            assertNotEquals(x, y, "B's next alloc handed out the object A's slab owns");
            assertTrue(Math.abs(y - x) >= 64, "B's object shares a cache line with A's");
            assertEquals(1, c.stats().remoteFrees());
            on(b, () -> {
                c.free(y);
                return null;
            });
            assertEquals(0, c.stats().activeObjects());
            destroyWithNothingLive(c, a, b);
        }
    }

    @Test
    void aFullRemoteSheafGoesToItsHomeAndIsAllocatedThere() throws Exception {
        ExecutorService a = Executors.newSingleThreadExecutor();
        ExecutorService b = Executors.newSingleThreadExecutor();
        try (SlabAllocator heap = Heaps.small().build()) {
            SlabCache c = pinned(heap);
            long[] first = allocOn(a, c, CAP); // A's main is empty now
            on(b, () -> {
                for (long x : first) {
                    c.free(x);
                }
                return null;
            });
            SlabCache.Stats s = c.stats();
            assertEquals(CAP, s.remoteFrees());
            assertEquals(1, s.remoteSheavesSent());
            assertEquals(CAP, s.cachedObjects(), "the sent sheaf counts as cached in A's inbox");
            long[] again = allocOn(a, c, CAP);
            assertEquals(setOf(first), setOf(again), "A's next sheaf is the one B sent home");
            assertEquals(1, c.stats().inboxTakes());
            on(a, () -> {
                c.freeBulk(again, again.length);
                return null;
            });
            destroyWithNothingLive(c, a, b);
        }
    }

    @Test
    void objectsSentToAHomeThatDiesAreNotLost() throws Exception {
        ExecutorService a = Executors.newSingleThreadExecutor();
        ExecutorService b = Executors.newSingleThreadExecutor();
        try (SlabAllocator heap = Heaps.small().build()) {
            SlabCache c = pinned(heap);
            long[] objs = allocOn(a, c, 3 * CAP);
            // Half goes home while A lives (a full sheaf in A's inbox, part in B's remote sheaf)...
            on(b, () -> {
                for (int i = 0; i < CAP + CAP / 2; i++) {
                    c.free(objs[i]);
                }
                return null;
            });
            stop(a); // ...A dies with a sheaf in its inbox...
            on(b, () -> {
                for (int i = CAP + CAP / 2; i < objs.length; i++) {
                    c.free(objs[i]); // ...and the rest is freed while and after A is retired
                }
                // B's own allocations reclaim dead A (a slab refill runs reclaimDead).
                long[] mine = new long[4 * CAP];
                for (int i = 0; i < mine.length; i++) {
                    mine[i] = c.alloc();
                }
                c.freeBulk(mine, mine.length);
                return null;
            });
            assertEquals(0, c.stats().activeObjects());
            destroyWithNothingLive(c, b);
        }
    }

    @Test
    void closingAHandleGivesBackTheInboxAndTheHomeSlab() throws Exception {
        ExecutorService a = Executors.newSingleThreadExecutor();
        ExecutorService b = Executors.newSingleThreadExecutor();
        try (SlabAllocator heap = Heaps.small().build()) {
            SlabCache c = pinned(heap);
            SlabCache.Local h = on(a, c::local);
            long[] objs = on(a, () -> {
                long[] out = new long[CAP];
                for (int i = 0; i < out.length; i++) {
                    out[i] = h.alloc();
                }
                return out;
            });
            on(b, () -> {
                for (long x : objs) {
                    c.free(x);
                }
                return null;
            });
            assertEquals(1, c.stats().remoteSheavesSent());
            on(a, () -> {
                h.close();
                return null;
            });
            assertEquals(0, c.stats().magazineBytes(), "nothing stays in A's magazine after close");
            assertEquals(0, c.stats().activeObjects());
            destroyWithNothingLive(c, a, b);
        }
    }

    @Test
    void noLockFreesOfRemoteObjectsNeverWaitAndLoseNothing() throws Exception {
        ExecutorService a = Executors.newSingleThreadExecutor();
        ExecutorService b = Executors.newSingleThreadExecutor();
        try (SlabAllocator heap = Heaps.small().build()) {
            SlabCache c = pinned(heap);
            long[] objs = allocOn(a, c, 4 * CAP);
            on(b, () -> {
                for (long x : objs) {
                    c.freeNoLock(x);
                }
                return null;
            });
            assertEquals(0, c.stats().activeObjects());
            destroyWithNothingLive(c, a, b);
        }
    }

    @Test
    void aHomeSlabIsRefilledByNobodyElse() throws Exception {
        ExecutorService a = Executors.newSingleThreadExecutor();
        ExecutorService b = Executors.newSingleThreadExecutor();
        try (SlabAllocator heap = Heaps.small().build()) {
            SlabCache c = pinned(heap);
            long x = allocOn(a, c, 1)[0];
            long[] fromB = allocOn(b, c, 4 * CAP);
            Slab home = heap.pages().ownerOf(x);
            for (long y : fromB) {
                assertNotSame(home, heap.pages().ownerOf(y), "B refilled from A's home slab");
            }
            on(b, () -> {
                c.freeBulk(fromB, fromB.length);
                return null;
            });
            on(a, () -> {
                c.free(x);
                return null;
            });
            destroyWithNothingLive(c, a, b);
        }
    }

    @Test
    void aCarrierMagazineIsAHomeToo() throws Exception {
        // A virtual thread allocates through a carrier magazine, which claims a home slab like a
        // platform thread's; a platform thread's frees of those objects are remote and go home to
        // that carrier magazine, whose inbox the next virtual thread on it takes.
        ExecutorService b = Executors.newSingleThreadExecutor();
        try (SlabAllocator heap = Heaps.small().build()) {
            SlabCache c = pinned(heap);
            long[] objs = new long[4 * CAP];
            Thread v = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < objs.length; i++) {
                    objs[i] = c.alloc();
                }
            });
            v.join();
            on(b, () -> {
                for (long x : objs) {
                    c.free(x);
                }
                return null;
            });
            SlabCache.Stats s = c.stats();
            assertEquals(objs.length, s.remoteFrees(), s.toString());
            assertTrue(s.remoteSheavesSent() >= 3, s.toString());
            Thread v2 = Thread.ofVirtual().start(() -> {
                long[] again = new long[objs.length];
                for (int i = 0; i < again.length; i++) {
                    again[i] = c.alloc();
                }
                c.freeBulk(again, again.length);
            });
            v2.join();
            assertEquals(0, c.stats().activeObjects());
            destroyWithNothingLive(c, b);
        }
    }

    @Test
    void localFreesKeepTheKernelsFreePath() throws Exception {
        // LOCAL_FREES (and SlabAllocator.Builder.remoteFrees(false)): no home slabs; a remote
        // object goes to the freeing thread's sheaf, which hands it out next.
        ExecutorService a = Executors.newSingleThreadExecutor();
        ExecutorService b = Executors.newSingleThreadExecutor();
        try (SlabAllocator heap = Heaps.small().remoteFrees(false).build()) {
            SlabCache c = heap.createCache(CacheSpec.of("local", 64).withSheafCapacity(CAP)
                    .withFlags(SlabFlag.LOCAL_FREES));
            long x = allocOn(a, c, 1)[0];
            long y = on(b, () -> {
                c.free(x);
                return c.alloc();
            });
            assertEquals(x, y, "the kernel's path: the freeing thread's sheaf hands the object out next");
            long p = on(a, () -> heap.malloc(64));
            long q = on(b, () -> {
                heap.free(p);
                return heap.malloc(64);
            });
            assertEquals(p, q, "remoteFrees(false) gives the size classes the kernel's path");
            assertEquals(0, c.stats().remoteFrees());
            on(b, () -> {
                c.free(y);
                heap.free(q);
                return null;
            });
            destroyWithNothingLive(c, a, b);
        }
    }
}
