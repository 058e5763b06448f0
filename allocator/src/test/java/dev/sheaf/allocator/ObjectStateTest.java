package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Goes through the allocator: every entry point refuses an object that is not allocated, exactly,
 * at the call, and changes nothing else; the allocator's own links survive a user's write into
 * freed memory.
 */
class ObjectStateTest {

    private static SlabAllocator small() {
        return Heaps.small().build();
    }

    /**
     * No background drainer (its agent is never run): an object stays pending until rcuBarrier(),
     * so a test may assert "pending" without racing the engine's own frees.
     */
    private static SlabAllocator.Builder quiet() {
        return Heaps.small().rcuFreeWorkerThread(false);
    }

    private static void assertNotAllocated(Executable call, String state) {
        IllegalStateException e = assertThrows(IllegalStateException.class, call::run);
        assertTrue(e.getMessage().contains("not allocated") && e.getMessage().contains(state), e.getMessage());
    }

    @FunctionalInterface
    private interface Executable {
        void run();
    }

    @Test
    void freeOfAFreedObjectAnywhereInItsSheafIsRefused() {
        try (SlabAllocator a = small()) {
            long p = a.malloc(64);
            long q = a.malloc(64);
            a.free(p);
            a.free(q); // p is no longer on top of the sheaf
            assertNotAllocated(() -> a.free(p), "free");
            assertNotAllocated(() -> a.freeNoLock(p), "free");
            assertNotAllocated(() -> a.freeRcu(p, 8), "free");
            assertNotAllocated(() -> a.freeRcu(p), "free");
            assertNotAllocated(() -> a.freeRcuNoLock(p, 8), "free");
            assertNotAllocated(() -> a.usableSize(p), "free");
            assertNotAllocated(() -> a.segment(p), "free");
            long r = a.malloc(64);
            long s = a.malloc(64);
            assertEquals(Set.of(p, q), Set.of(r, s), "the refused calls changed nothing: both come back once");
            a.free(r);
            a.free(s);
            assertEquals(0, a.stats().liveBytes());
        }
    }

    @Test
    void everyFreeAfterFreeRcuIsRefusedAndTheObjectIsFreedOnce() {
        try (SlabAllocator a = quiet().build()) {
            for (int kind = 0; kind < 4; kind++) {
                long p = a.malloc(64);
                switch (kind) {
                    case 0 -> a.freeRcu(p, 8);
                    case 1 -> a.freeRcu(p);
                    case 2 -> a.freeRcuNoLock(p, 8);
                    default -> a.sizeClassCache(64).freeRcu(p);
                }
                assertNotAllocated(() -> a.free(p), "pending");
                assertNotAllocated(() -> a.freeNoLock(p), "pending");
                assertNotAllocated(() -> a.freeRcu(p, 8), "pending");
                assertNotAllocated(() -> a.freeRcu(p), "pending");
                assertNotAllocated(() -> a.freeRcuNoLock(p, 0), "pending");
                assertNotAllocated(() -> a.usableSize(p), "pending");
                a.rcuBarrier();
                assertNotAllocated(() -> a.free(p), "free");
            }
            assertEquals(0, a.rcuStats().freeErrors());
            assertEquals(0, a.stats().liveBytes());
        }
    }

    @Test
    void aSecondFreeRcuKeepsTheChainWhole() {
        try (SlabAllocator a = quiet().rcuSheaves(false).build()) {
            long q = a.malloc(64);
            long p = a.malloc(64);
            a.freeRcu(q, 8);
            a.freeRcu(p, 8);
            assertNotAllocated(() -> a.freeRcu(p, 8), "pending");
            a.rcuBarrier();
            assertNotAllocated(() -> a.free(q), "free");
            assertNotAllocated(() -> a.free(p), "free");
            RcuFreeStats stats = a.rcuStats();
            assertEquals(0, stats.freeErrors(), stats::toString);
            // Through the chain, or the deferred list when the drainer held the batch at that moment.
            assertEquals(2, stats.freedByChain() + stats.freedByDeferredList(), stats::toString);
        }
    }

    @Test
    void aSlotNeverHandedOutIsRefused() {
        try (SlabAllocator a = small()) {
            SlabCache c = a.createCache("never", 64);
            long p = c.alloc();
            long[] taken = new long[c.sheafCapacity() * 3];
            c.allocBulk(taken, taken.length); // carve far enough that p + slot is inside the carved part
            Set<Long> out = new HashSet<>();
            out.add(p);
            for (long t : taken) {
                out.add(t);
            }
            c.freeBulk(taken, taken.length);
            long free = 0;
            for (long x : taken) {
                if (x != p) {
                    free = x;
                    break;
                }
            }
            long f = free;
            assertNotAllocated(() -> c.freeRcu(f), "free");
            assertNotAllocated(() -> a.freeRcu(f), "free");
            assertNotAllocated(() -> c.free(f), "free");
            c.free(p);
            c.destroy();
        }
    }

    @Test
    void freeBulkWithARepeatedAddressFreesNothing() {
        try (SlabAllocator a = small()) {
            SlabCache c = a.createCache("bulk", 48);
            long[] objects = new long[8];
            c.allocBulk(objects, 8);
            long[] twice = objects.clone();
            twice[7] = twice[2];
            assertNotAllocated(() -> c.freeBulk(twice, 8), "cached");
            assertEquals(8, c.stats().activeObjects(), "nothing was freed");
            c.freeBulk(objects, 8);
            assertEquals(0, c.stats().activeObjects());
            c.destroy();
        }
    }

    @Test
    void aSecondFreeNoLockIsRefusedAtTheCall() {
        try (SlabAllocator a = small()) {
            long p = a.malloc(64);
            a.freeNoLock(p);
            assertNotAllocated(() -> a.freeNoLock(p), "free");
            assertEquals(0, a.shrink() < 0 ? 1 : 0);
            a.shrink(); // nothing is reported later, from an unrelated call
        }
    }

    @Test
    void aLargeSpanDeferredByAHookIsNoLongerAllocated() {
        SlabHook busy = new SlabHook() {
            @Override
            public boolean tryBeforeFree(SlabCache cache, long address, long size) {
                return false;
            }
        };
        try (SlabAllocator a = Heaps.small().hook(busy).build()) {
            long span = a.malloc(1 << 20);
            a.freeNoLock(span);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.free(span));
            assertTrue(e.getMessage().contains("not allocated"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> a.usableSize(span));
            a.shrink(); // drains the deferred span: hooks run, pages go back
            assertEquals(0, a.stats().largeBytes());
        }
    }

    @Test
    void aLinkOffsetThatOverflowsIsRefusedAndTheObjectStaysAllocated() {
        try (SlabAllocator a = small()) {
            long p = a.malloc(64);
            assertThrows(IllegalArgumentException.class, () -> a.freeRcu(p, Long.MAX_VALUE - 7));
            assertThrows(IllegalArgumentException.class, () -> a.freeRcuNoLock(p, Long.MAX_VALUE - 7));
            assertThrows(IllegalArgumentException.class, () -> a.freeRcu(p, -8));
            assertThrows(IllegalArgumentException.class, () -> a.freeRcu(p, 60));
            assertEquals(64, a.usableSize(p));
            a.free(p);
        }
    }

    @Test
    void destroyAfterFreeRcuOnAFreshAllocatorWaitsForTheGracePeriod() {
        try (SlabAllocator a = small()) {
            SlabCache c = a.createCache("rcu-then-destroy", 64);
            c.freeRcu(c.alloc());
            c.destroy();
        }
    }

    @Test
    void aUserWriteIntoAFreedObjectsLinkIsReportedAndNothingIsHandedOutTwice() {
        try (SlabAllocator a = small()) {
            SlabCache c = a.createCache(CacheSpec.of("uaf", 64).withSheafCapacity(0));
            int n = c.objectsPerSlab();
            long[] all = new long[n];
            for (int i = 0; i < n; i++) {
                all[i] = c.alloc();
            }
            for (int i = 0; i < n; i++) {
                c.free(all[i]);
            }
            // A use after free: the user scribbles over a freed object, link field included.
            MemorySegment victim = MemorySegment.ofAddress(all[n / 2]).reinterpret(64);
            victim.fill((byte) 0x41);
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < n; i++) {
                long x = c.alloc();
                assertTrue(seen.add(x), "handed out twice: 0x" + Long.toHexString(x));
                assertTrue(c.owns(x));
            }
            assertTrue(c.stats().corruptions() >= 1, "the corrupt link was reported");
            for (long x : seen) {
                c.free(x);
            }
            c.destroy();
        }
    }

    @Test
    void aUserWriteIntoADeferredObjectIsReportedAndNeverFollowed() {
        SlabHook busy = new SlabHook() {
            @Override
            public boolean tryBeforeFree(SlabCache cache, long address, long size) {
                return false; // every no-lock free is deferred until an ordinary call drains
            }
        };
        try (SlabAllocator a = Heaps.small().hook(busy).build()) {
            SlabCache c = a.createCache("deferred", 64);
            long p = c.alloc();
            long q = c.alloc();
            long r = c.alloc();
            c.freeNoLock(p);
            c.freeNoLock(q); // the list is q -> p
            assertNotAllocated(() -> c.freeNoLock(q), "cached");
            // A use after free: the user writes the address of a live object into q's link.
            MemorySegment.ofAddress(q).reinterpret(64).set(ValueLayout.JAVA_LONG, c.linkOffset(), r);
            a.shrink(); // drains: q is freed, its link is refused, r is never touched
            assertEquals(1, c.stats().corruptions());
            assertEquals(64, a.usableSize(r), "the live object the bad link named is still allocated");
            c.free(r);
        }
    }

    @Test
    void cheapFreeChecksStillRefusePendingAndSlabFreeObjects() {
        try (SlabAllocator a = quiet().build()) {
            SlabCache c = a.createCache(CacheSpec.of("cheap", 64).withFlags(SlabFlag.CHEAP_FREE_CHECKS));
            long p = c.alloc();
            c.freeRcu(p);
            assertNotAllocated(() -> c.free(p), "pending");
            assertNotAllocated(() -> c.freeRcu(p), "pending");
            a.rcuBarrier();
            long q = c.alloc();
            long r = c.alloc();
            c.free(q);
            c.free(r);
            c.free(q); // the documented miss: q still sits in the sheaf, so it passes as allocated
            c.destroy(); // flushing the sheaf finds q twice: the second is reported, not pushed again
            assertEquals(1, c.stats().corruptions());
        }
        try (SlabAllocator a = Heaps.small().cheapFreeChecks(true).build()) {
            assertTrue(a.sizeClassCache(64).flags().contains(SlabFlag.CHEAP_FREE_CHECKS));
            long keep = a.malloc(64); // keeps the slab from being released by shrink()
            long p = a.malloc(64);
            a.free(p);
            a.shrink(); // back in its slab
            assertNotAllocated(() -> a.free(p), "free");
            a.free(keep);
        }
    }

    @Test
    void writesAfterCloseLandInMappedMemory() {
        SlabAllocator a = small();
        long p = a.malloc(64);
        a.close();
        // A caller racing close() may still write; the range stays mapped until unreachable.
        MemorySegment.ofAddress(p).reinterpret(64).set(ValueLayout.JAVA_LONG, 0, 42);
        assertThrows(IllegalStateException.class, () -> a.free(p));
        assertThrows(IllegalStateException.class, () -> a.freeRcu(p, 8));
        assertThrows(IllegalStateException.class, () -> a.malloc(64));
    }
}
