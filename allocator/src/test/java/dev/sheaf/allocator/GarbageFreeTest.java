package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;
import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Steady state allocates no Java garbage: each entry point below, slow paths included (refills,
 * flushes, barn exchanges, slab growth and release), runs {@link #CALLS} times after
 * {@link #WARM_UP} warm-up calls, and the calling thread may allocate fewer than {@link #LIMIT}
 * bytes in that time ({@code ThreadMXBean.getCurrentThreadAllocatedBytes}). Each round frees
 * what it allocates, so the allocator's memory stays bounded.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GarbageFreeTest {

    static final int WARM_UP = 300_000;
    static final int CALLS = 3_000_000;
    static final long LIMIT = 16 * 1024;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private SlabAllocator heap;
    private SlabCache cache;
    /**
     * For freeRcu: a pending bound small enough that warm-up reaches it. Until then the objects
     * and rcu sheaves waiting for grace periods grow with the backlog (memory the bound allows);
     * from then on every submitted sheaf comes back and is reused.
     */
    private SlabAllocator rcuHeap;
    private SlabCache rcuCache;
    private final long[] bulk = new long[64];

    @BeforeAll
    void open() {
        heap = Heaps.small().capacity(256L << 20).build();
        cache = heap.createCache("garbage", 64);
        rcuHeap = Heaps.small().capacity(256L << 20).rcuPendingLimit(1L << 20).build();
        rcuCache = rcuHeap.createCache("garbage-rcu", 64);
    }

    @AfterAll
    void close() {
        rcuHeap.close();
        heap.close();
    }

    /**
     * Runs {@code call} WARM_UP times, then CALLS times while counting the thread's allocations.
     * The operation returns a value that is summed, so the JIT cannot drop it.
     */
    private void assertGarbageFree(String what, LongUnaryOperator call) {
        assertGarbageFree(what, WARM_UP, CALLS, call);
    }

    /** As above with other counts, for calls that are themselves long loops. */
    private void assertGarbageFree(String what, int warmUp, int calls, LongUnaryOperator call) {
        long sink = 0;
        for (int i = 0; i < warmUp; i++) {
            sink += call.applyAsLong(i);
        }
        long before = THREADS.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < calls; i++) {
            sink += call.applyAsLong(i);
        }
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < LIMIT, () -> what + ": " + allocated + " bytes allocated in " + calls
                + " calls after warm-up (limit " + LIMIT + ")");
        assertTrue(sink != 42, "keeps the calls alive");
    }

    @Test
    void cacheAllocAndFree() {
        assertGarbageFree("SlabCache alloc+free", i -> {
            long p = cache.alloc();
            cache.free(p);
            return p;
        });
    }

    @Test
    void cacheBurstsThroughTheBarn() {
        // 64 objects per round: more than two sheaves, so the barn and the slabs are used.
        assertGarbageFree("SlabCache bursts of 64", i -> {
            for (int k = 0; k < bulk.length; k++) {
                bulk[k] = cache.alloc();
            }
            for (int k = 0; k < bulk.length; k++) {
                cache.free(bulk[k]);
            }
            return bulk[0];
        });
    }

    @Test
    void longBurstsOnAGrownMagazine() {
        // 1600 objects per round: the magazine grows its sheaves (SheafSizing) during warm-up;
        // growing and shrinking change a field, so a warm magazine allocates nothing more.
        long[] objs = new long[1600];
        assertGarbageFree("SlabCache bursts of 1600", 3_000, 20_000, i -> {
            for (int k = 0; k < objs.length; k++) {
                objs[k] = cache.alloc();
            }
            for (int k = 0; k < objs.length; k++) {
                cache.free(objs[k]);
            }
            return objs[0];
        });
        // Whether it is grown right now depends on the drainer's windows: only the bound is certain.
        assertTrue(cache.stats().largestSheafCapacity() <= cache.sheafCapacityLimit());
    }

    @Test
    void cacheBulk() {
        assertGarbageFree("SlabCache allocBulk+freeBulk", i -> {
            cache.allocBulk(bulk, bulk.length);
            cache.freeBulk(bulk, bulk.length);
            return bulk[0];
        });
    }

    @Test
    void cacheNoLock() {
        assertGarbageFree("SlabCache allocNoLock+freeNoLock", i -> {
            long p = cache.allocNoLock();
            cache.freeNoLock(p);
            return p;
        });
    }

    @Test
    void mallocAndFree() {
        assertGarbageFree("malloc+free", i -> {
            long p = heap.malloc(8 + (i & 255));
            heap.free(p);
            return p;
        });
    }

    @Test
    void mallocNoLockAndFreeNoLock() {
        assertGarbageFree("mallocNoLock+freeNoLock", i -> {
            long p = heap.mallocNoLock(64);
            heap.freeNoLock(p);
            return p;
        });
    }

    @Test
    void cacheHandleAllocAndFree() {
        try (SlabCache.Local h = cache.local()) {
            assertGarbageFree("SlabCache.Local alloc+free", i -> {
                long p = h.alloc();
                h.free(p);
                return p;
            });
        }
    }

    @Test
    void cacheHandleBurstsThroughTheBarn() {
        try (SlabCache.Local h = cache.local()) {
            assertGarbageFree("SlabCache.Local bursts of 64", i -> {
                for (int k = 0; k < bulk.length; k++) {
                    bulk[k] = h.alloc();
                }
                for (int k = 0; k < bulk.length; k++) {
                    h.free(bulk[k]);
                }
                return bulk[0];
            });
        }
    }

    @Test
    void allocatorHandleMallocAndFree() {
        try (SlabAllocator.Local h = heap.local()) {
            assertGarbageFree("SlabAllocator.Local malloc+free", i -> {
                long p = h.malloc(8 + (i & 255));
                h.free(p);
                return p;
            });
        }
    }

    @Test
    void sheafThreadPlainCalls() throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = SheafThreads.factory().newThread(() -> {
            try {
                assertGarbageFree("SheafThreads factory thread: alloc+free, malloc+free", i -> {
                    long p = cache.alloc();
                    cache.free(p);
                    long q = heap.malloc(8 + (i & 255));
                    heap.free(q);
                    return p + q;
                });
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }

    @Test
    void remoteFreesBetweenTwoThreads() throws InterruptedException {
        // The test thread allocates and a consumer frees: every free is remote, so whole sheaves go
        // home to the producer's inbox and empty ones come back through the barn. Neither thread
        // allocates garbage in steady state. The hand-off is a ring of slots (0 = empty).
        SlabCache c = heap.createCache("garbage-remote", 64);
        int total = WARM_UP + CALLS;
        AtomicLongArray ring = new AtomicLongArray(1024);
        long[] consumerBytes = new long[1];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread consumer = Thread.ofPlatform().start(() -> {
            try {
                long before = 0;
                for (int i = 0, slot = 0; i < total; i++, slot = (slot + 1) & 1023) {
                    if (i == WARM_UP) {
                        before = THREADS.getCurrentThreadAllocatedBytes();
                    }
                    long p;
                    while ((p = ring.get(slot)) == 0) {
                        Thread.onSpinWait();
                    }
                    ring.setRelease(slot, 0);
                    c.free(p);
                }
                consumerBytes[0] = THREADS.getCurrentThreadAllocatedBytes() - before;
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        long before = 0;
        for (int i = 0, slot = 0; i < total && failure.get() == null; i++, slot = (slot + 1) & 1023) {
            if (i == WARM_UP) {
                before = THREADS.getCurrentThreadAllocatedBytes();
            }
            long p = c.alloc();
            while (ring.get(slot) != 0) {
                Thread.onSpinWait();
            }
            ring.setRelease(slot, p);
        }
        long producerBytes = THREADS.getCurrentThreadAllocatedBytes() - before;
        consumer.join();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        SlabCache.Stats s = c.stats();
        assertTrue(s.remoteSheavesSent() > 0 && s.inboxTakes() > 0, s::toString);
        assertTrue(producerBytes < LIMIT, "producer: " + producerBytes + " bytes in " + CALLS + " allocs");
        assertTrue(consumerBytes[0] < LIMIT, "consumer: " + consumerBytes[0] + " bytes in " + CALLS
                + " remote frees");
    }

    @Test
    void cacheFreeRcu() {
        // Rcu sheaves fill, go to the engine and come back after their grace period: the pending
        // bound and the worker keep memory bounded; the sheaves themselves are recycled.
        assertGarbageFree("SlabCache alloc+freeRcu", i -> {
            long p = rcuCache.alloc();
            rcuCache.freeRcu(p);
            return p;
        });
    }

    @Test
    void mallocAndFreeRcuWithLink() {
        assertGarbageFree("malloc+freeRcu(a, off)", i -> {
            long p = rcuHeap.malloc(64);
            rcuHeap.freeRcu(p, 8);
            return p;
        });
    }

    @Test
    void mallocAndFreeRcuHeadless() {
        assertGarbageFree("malloc+freeRcu(a)", i -> {
            long p = rcuHeap.malloc(64);
            rcuHeap.freeRcu(p);
            return p;
        });
    }

    @Test
    void cacheHandleFreeRcu() {
        try (SlabCache.Local h = rcuCache.local()) {
            assertGarbageFree("SlabCache.Local alloc+freeRcu", i -> {
                long p = h.alloc();
                h.freeRcu(p);
                return p;
            });
        }
    }

    @Test
    void allocatorHandleFreeRcu() {
        try (SlabAllocator.Local h = rcuHeap.local()) {
            assertGarbageFree("SlabAllocator.Local malloc+freeRcu(a, off) / freeRcu(a)", i -> {
                long p = h.malloc(64);
                if ((i & 1) == 0) {
                    h.freeRcu(p, 8);
                } else {
                    h.freeRcu(p);
                }
                return p;
            });
        }
    }

    @Test
    void readSections() {
        Rcu rcu = heap.rcu();
        assertGarbageFree("Rcu readLock/readUnlock and read()", i -> {
            rcu.readLock();
            rcu.readUnlock();
            try (Rcu.ReadSection s = rcu.read()) {
                return s.hashCode();
            }
        });
    }
}
