package dev.sheaf.allocator;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.*;

/** The allocator's side of the rcu sheaf: fill, submit, return as a full barn sheaf, barrier flush. */
class SheafRcuPathTest {

    @Test
    void fullRcuSheafComesBackAsAFullBarnSheafReadyForAllocation() {
        try (SlabAllocator a = SlabAllocator.builder().capacity(64L << 20).build()) {
            SlabCache c = a.createCache(CacheSpec.of("rcu-objs", 64).withRcuLinkOffset(56));
            int cap = c.sheafCapacity();
            long[] objs = new long[cap];
            c.allocBulk(objs, cap);
            Set<Long> freed = new HashSet<>();
            for (long p : objs) {
                freed.add(p);
                c.freeRcu(p);
            }
            a.rcuBarrier();
            SlabCache.Stats s = c.stats();
            assertEquals(1, s.rcuSheavesSubmitted());
            assertEquals(1, s.barnFull(), "the sheaf waits in the barn");
            assertEquals(cap, a.rcuStats().freedByRcuSheaf());
            // Allocation takes the whole sheaf back without touching slabs.
            long refillsBefore = s.sheafRefills();
            for (int i = 0; i < cap; i++) {
                assertTrue(freed.contains(c.alloc()), "object came from the rcu sheaf");
            }
            assertEquals(refillsBefore, c.stats().sheafRefills());
        }
    }

    @Test
    void barrierFlushesPartlyFilledRcuSheavesOfOtherLiveThreads() throws Exception {
        try (SlabAllocator a = SlabAllocator.builder().capacity(64L << 20).build()) {
            SlabCache c = a.createCache("rcu-partial", 64);
            CountDownLatch freedSome = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            long[] objs = new long[5];
            Thread other = Thread.ofPlatform().start(() -> {
                c.allocBulk(objs, objs.length);
                for (long p : objs) {
                    c.freeRcu(p);
                }
                freedSome.countDown();
                try {
                    done.await(); // stays alive, holding a partly filled rcu sheaf
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            freedSome.await();
            assertEquals(5, c.stats().rcuSheafObjects());
            a.rcuBarrier();
            assertEquals(0, c.stats().rcuSheafObjects());
            assertEquals(5, a.rcuStats().freedByRcuSheaf());
            assertEquals(0, c.stats().activeObjects());
            done.countDown();
            other.join();
            c.flushAll(true);
            assertEquals(0, c.liveObjectsExact());
            c.destroy();
        }
    }

    @Test
    void kmallocFreeRcuUsesTheSheafOrTheChain() {
        try (SlabAllocator sheaves = SlabAllocator.builder().capacity(64L << 20).build();
             SlabAllocator chain = SlabAllocator.builder().capacity(64L << 20).rcuSheaves(false).build()) {
            for (SlabAllocator a : new SlabAllocator[] {sheaves, chain}) {
                for (int i = 0; i < 1000; i++) {
                    a.freeRcu(a.malloc(64), 8);
                }
                assertThrows(IllegalArgumentException.class, () -> a.freeRcu(a.malloc(64) + 8, 8));
                a.rcuBarrier();
            }
            assertEquals(1000, sheaves.rcuStats().freedByRcuSheaf());
            assertEquals(1000, chain.rcuStats().freedByChain());
            assertEquals(64, sheaves.stats().liveBytes(), "only the object of the rejected call is live");
        }
    }

    @Test
    void virtualThreadsUseCarrierRcuSheaves() throws Exception {
        try (SlabAllocator a = SlabAllocator.builder().capacity(128L << 20).build()) {
            SlabCache c = a.createCache("vt-rcu", 128);
            try (var ex = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 10_000; i++) {
                    ex.submit(() -> c.freeRcu(c.alloc()));
                }
            }
            a.rcuBarrier();
            assertEquals(0, c.stats().activeObjects());
            assertTrue(c.carrierMagazineCount() <= c.carrierSlotCount());
            RcuFreeStats s = a.rcuStats();
            assertEquals(10_000, s.freedByRcuSheaf() + s.freedByChain() + s.freedByBulkArray() + s.freedInline());
        }
    }
}
