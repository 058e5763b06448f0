package dev.sheaf.allocator;

import dev.sheaf.allocator.rcufree.OpenBatch;
import dev.sheaf.allocator.testing.Heaps;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.*;

/** The allocator's side of the rcu sheaf: fill, submit, return as a full barn sheaf, barrier flush. */
class SheafRcuPathTest {

    @Test
    void fullRcuSheafComesBackAsAFullBarnSheafReadyForAllocation() {
        try (SlabAllocator a = Heaps.small().build()) {
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
    void anIdleThreadsPartlyFilledRcuSheafIsCountedAndFlushedAfterTwoAgedPasses() {
        // No background drainer: only this test's calls run aged passes.
        try (SlabAllocator a = Heaps.small().rcuFreeWorkerThread(false).build()) {
            SlabCache c = a.createCache("rcu-aged", 64);
            long[] objs = new long[5];
            c.allocBulk(objs, objs.length);
            for (long p : objs) {
                c.freeRcu(p);
            }
            assertEquals(5 * 64, c.rcuSheaves.openBytes(), "a partly filled rcu sheaf counts as pending memory");
            c.rcuSheaves.flushAged(); // first sighting
            assertEquals(0, c.stats().rcuSheavesSubmitted());
            c.rcuSheaves.flushAged(); // still there, no submission since: aged
            assertEquals(1, c.stats().rcuSheavesSubmitted());
            assertEquals(0, c.rcuSheaves.openBytes());
            a.rcuBarrier();
            assertEquals(0, c.stats().activeObjects());
            c.freeRcu(c.alloc());
            c.rcuSheaves.flushAged();
            c.freeRcu(c.alloc()); // a younger object joins; the oldest one's age is what counts
            long before = c.stats().rcuSheavesSubmitted();
            c.rcuSheaves.flushAged();
            assertEquals(before + 1, c.stats().rcuSheavesSubmitted());
            a.rcuBarrier();
            c.destroy();
        }
    }

    /**
     * Regression (found by the long fuzz run): a barrier that runs while an aged pass holds sheaves
     * it took but has not submitted must wait for them, not return with their objects unfreed.
     */
    @Test
    void aBarrierWaitsForAnAgedPassThatHoldsSheaves() throws Exception {
        try (SlabAllocator a = Heaps.small().rcuFreeWorkerThread(false).build()) {
            SlabCache c = a.createCache("rcu-aged-race", 64);
            long[] objs = new long[3];
            c.allocBulk(objs, objs.length);
            for (long p : objs) {
                c.freeRcu(p);
            }
            CountDownLatch inPass = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            c.rcuSheaves.agedPassHook = () -> {
                inPass.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            try {
                c.rcuSheaves.flushAged(); // first sighting
                Thread pass = Thread.ofPlatform().start(c.rcuSheaves::flushAged);
                assertTrue(inPass.await(30, java.util.concurrent.TimeUnit.SECONDS), "no aged pass took the sheaf");
                Thread barrier = Thread.ofPlatform().start(a::rcuBarrier);
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (!c.rcuSheaves.waitsForAgedPass(barrier) && barrier.isAlive()) {
                    assertTrue(System.nanoTime() < deadline, "the barrier neither waited for the pass nor ended");
                    Thread.onSpinWait();
                }
                assertTrue(barrier.isAlive(), "the barrier returned while an aged pass still held a sheaf");
                c.rcuSheaves.agedPassHook = null;
                release.countDown();
                barrier.join(java.time.Duration.ofSeconds(30));
                pass.join(java.time.Duration.ofSeconds(30));
                assertFalse(barrier.isAlive());
                for (long p : objs) {
                    assertFalse(c.isPending(p), "pending after the barrier returned: 0x" + Long.toHexString(p));
                }
            } finally {
                c.rcuSheaves.agedPassHook = null;
                release.countDown(); // never leave a pass (the drainer's, maybe) parked in the hook
            }
            assertEquals(0, c.stats().activeObjects());
            c.destroy();
        }
    }

    @Test
    void barrierFlushesPartlyFilledRcuSheavesOfOtherLiveThreads() throws Exception {
        // No background drainer: its aged pass would submit the other thread's sheaf two drain
        // delays after its last freeRcu, racing the count below; only the barrier may flush it.
        try (SlabAllocator a = Heaps.small().rcuFreeWorkerThread(false).build()) {
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
        try (SlabAllocator sheaves = Heaps.small().build();
             SlabAllocator chain = Heaps.small().rcuSheaves(false).build()) {
            for (SlabAllocator a : new SlabAllocator[] {sheaves, chain}) {
                for (int i = 0; i < 1000; i++) {
                    a.freeRcu(a.malloc(64), 8);
                }
                assertThrows(IllegalArgumentException.class, () -> a.freeRcu(a.malloc(64) + 8, 8));
                a.rcuBarrier();
            }
            assertEquals(1000, sheaves.rcuStats().freedByRcuSheaf());
            // A chain freeRcu whose own batch the drainer holds at that instant (sealing it, or
            // taking a snapshot; under load the drainer can be descheduled holding it) goes through
            // the deferred list instead of waiting: same chain, counted under freedByDeferredList.
            RcuFreeStats cs = chain.rcuStats();
            assertEquals(1000, cs.freedByChain() + cs.freedByDeferredList(), cs::toString);
            assertEquals(1000, cs.freed(), cs::toString);
            assertEquals(64, sheaves.stats().liveBytes(), "only the object of the rejected call is live");
        }
    }

    /**
     * The flake of kmallocFreeRcuUsesTheSheafOrTheChain made deterministic: while the drainer (here:
     * the test, through lockLocals) holds the caller's open batch, a chain freeRcu does not wait
     * for it but pushes the object on the deferred list; nothing is lost, it is counted there.
     */
    @Test
    void chainFreeRcuWhoseBatchIsHeldGoesThroughTheDeferredList() {
        try (SlabAllocator a = Heaps.small().rcuSheaves(false).build()) {
            a.freeRcu(a.malloc(64), 8); // registers this thread's open batch
            OpenBatch[] held = a.engine().lockLocals();
            try {
                a.freeRcu(a.malloc(64), 8);
            } finally {
                a.engine().unlockLocals(held);
            }
            a.rcuBarrier();
            RcuFreeStats s = a.rcuStats();
            assertEquals(1, s.freedByDeferredList(), s::toString);
            assertEquals(1, s.freedByChain(), s::toString);
            assertEquals(0, a.stats().liveBytes());
        }
    }

    /**
     * rcuBarrier on one thread while another keeps freeing into its rcu sheaf: every object whose
     * freeRcu returned before the barrier began must be free when it returns. The owner spends
     * almost all its time inside freeRcu holding its rcu sheaf; a flush that took "no sheaf" for an
     * answer then returned without the objects of the owner's earlier calls.
     */
    @Test
    void barrierCoversTheRcuSheafOfAnOwnerInTheMiddleOfAFreeRcu() throws Exception {
        try (SlabAllocator a = SlabAllocator.builder().capacity(256L << 20).build()) {
            SlabCache c = a.createCache("rcu-busy", 64);
            java.util.concurrent.atomic.AtomicLong returned = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Thread owner = Thread.ofPlatform().start(() -> {
                try {
                    long n = 0;
                    while (!stop.get()) {
                        c.freeRcu(c.alloc());
                        returned.set(++n);
                        if (n == 1000) {
                            started.countDown();
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                    started.countDown();
                }
            });
            try {
                started.await();
                for (int i = 0; i < 300 && failure.get() == null; i++) {
                    long before = returned.get();
                    a.rcuBarrier();
                    long freed = a.rcuStats().freedByRcuSheaf();
                    assertTrue(freed >= before, "barrier " + i + " returned with " + (before - freed)
                            + " object(s) freed before it still pending");
                }
            } finally {
                stop.set(true);
                owner.join();
            }
            assertNull(failure.get());
            a.rcuBarrier();
            assertEquals(returned.get(), a.rcuStats().freedByRcuSheaf());
        }
    }

    /**
     * More rcu sheaves in flight than the barn holds: the ones that find the full list at its
     * bound come back as empty sheaves and are reused, so a steady freeRcu stream creates none.
     */
    @Test
    void rcuSheavesAreRecycledWhenTheBarnIsFull() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache(CacheSpec.of("rcu-recycle", 64).withSheafCapacity(4));
            long[] objs = new long[4 * 40]; // 40 sheaves in flight per round, the barn keeps 10 full
            long[] created = new long[6];
            for (int round = 0; round < created.length; round++) {
                long before = c.stats().sheafAlloc();
                c.allocBulk(objs, objs.length);
                for (long p : objs) {
                    c.freeRcu(p);
                }
                a.rcuBarrier();
                created[round] = c.stats().sheafAlloc() - before;
            }
            assertEquals(0, c.stats().activeObjects());
            assertEquals(6L * objs.length, a.rcuStats().freedByRcuSheaf());
            for (int round = 2; round < created.length; round++) {
                assertEquals(0, created[round], "sheaves created per round " + java.util.Arrays.toString(created));
            }
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
            assertTrue(c.magazines.carrierCount() <= c.magazines.carrierSlotCount());
            RcuFreeStats s = a.rcuStats();
            assertEquals(10_000, s.freedByRcuSheaf() + s.freedByChain() + s.freedByBulkArray() + s.freedInline());
        }
    }
}
