package dev.sheaf.allocator;

import dev.sheaf.allocator.memory.NativeMemory;
import dev.sheaf.allocator.testing.Heaps;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The input rules of SlabAllocator and SlabCache: each bad input gets its exception and loses nothing. */
class SlabAllocatorRulesTest {

    private static SlabAllocator small() {
        return Heaps.small().build();
    }

    @Test
    void badSizes() {
        try (SlabAllocator a = small()) {
            assertThrows(IllegalArgumentException.class, () -> a.malloc(0));
            assertThrows(IllegalArgumentException.class, () -> a.malloc(-1));
            assertThrows(IllegalArgumentException.class, () -> a.malloc((64L << 20) + 1));
            assertThrows(IllegalArgumentException.class, () -> a.mallocNoLock(0));
            assertThrows(IllegalArgumentException.class, () -> a.allocate(-1, 8));
            assertThrows(IllegalArgumentException.class, () -> a.createCache("x", 4));
            assertThrows(IllegalArgumentException.class, () -> a.createCache("x", SlabAllocator.MAX_CACHE_OBJECT_SIZE + 1));
            assertThrows(IllegalArgumentException.class, () -> a.createCache("", 64));
            long p = a.malloc(64);
            a.free(p);
            assertEquals(0, a.stats().liveBytes());
        }
    }

    @Test
    void badAlignments() {
        try (SlabAllocator a = small()) {
            assertThrows(IllegalArgumentException.class, () -> a.allocate(64, 3));
            assertThrows(IllegalArgumentException.class, () -> a.allocate(64, 0));
            assertThrows(IllegalArgumentException.class, () -> a.allocate(64, 1 << 17));
            assertThrows(IllegalArgumentException.class, () -> a.createCache(CacheSpec.of("x", 64).withAlignment(24)));
            assertThrows(IllegalArgumentException.class, () -> a.createCache(CacheSpec.of("x", 64).withLinkOffset(4)));
            assertThrows(IllegalArgumentException.class, () -> a.createCache(CacheSpec.of("x", 64).withLinkOffset(64)));
            assertThrows(IllegalArgumentException.class, () -> a.createCache(CacheSpec.of("x", 64).withRcuLinkOffset(60)));
        }
    }

    @Test
    void segmentAllocatorHonoursAlignmentAndZeroes() {
        try (SlabAllocator a = small()) {
            List<MemorySegment> segs = new ArrayList<>();
            for (long align = 1; align <= 65536; align <<= 1) {
                for (long size : new long[] {1, 7, 100, 5000, 40000}) {
                    MemorySegment s = a.allocate(size, align);
                    assertEquals(0, s.address() % align, "alignment " + align + " size " + size);
                    assertEquals(size, s.byteSize());
                    for (long i = 0; i < size; i += 97) {
                        assertEquals(0, s.get(ValueLayout.JAVA_BYTE, i));
                    }
                    s.fill((byte) 0x55);
                    segs.add(s);
                }
            }
            MemorySegment seg = a.allocate(ValueLayout.JAVA_LONG, 10);
            seg.setAtIndex(ValueLayout.JAVA_LONG, 9, 42);
            segs.add(seg);
            for (MemorySegment s : segs) {
                a.free(s);
            }
            assertEquals(0, a.stats().liveBytes());
        }
    }

    @Test
    void segmentIsBoundsChecked() {
        try (SlabAllocator a = small()) {
            long p = a.malloc(50);
            MemorySegment s = a.segment(p);
            assertEquals(56, s.byteSize());
            s.set(ValueLayout.JAVA_BYTE, 55, (byte) 1);
            assertThrows(IndexOutOfBoundsException.class, () -> s.get(ValueLayout.JAVA_BYTE, 56));
            long big = a.malloc(100_000);
            assertEquals(102_400, a.segment(big).byteSize());
            a.free(p);
            a.free(big);
        }
    }

    @Test
    void badAddresses() {
        try (SlabAllocator a = small()) {
            long p = a.malloc(64);
            assertThrows(IllegalArgumentException.class, () -> a.free(12345678L));
            assertThrows(IllegalArgumentException.class, () -> a.free(p + 8));
            assertThrows(IllegalArgumentException.class, () -> a.free(p + 1));
            assertThrows(IllegalArgumentException.class, () -> a.usableSize(p + 8));
            assertThrows(IllegalArgumentException.class, () -> a.freeNoLock(p + 8));
            long big = a.malloc(200_000);
            assertThrows(IllegalArgumentException.class, () -> a.free(big + 4096));
            // A block of the range that no slab owns: free memory.
            long freeBlock = a.pages().base + a.pages().capacity - PageSource.BLOCK_SIZE;
            assertThrows(IllegalArgumentException.class, () -> a.free(freeBlock));
            // Another cache's object.
            SlabCache c = a.createCache("objs", 64);
            assertThrows(IllegalArgumentException.class, () -> c.free(p));
            // Everything still works.
            a.free(p);
            a.free(big);
            long q = c.alloc();
            c.free(q);
            assertEquals(0, a.stats().liveBytes());
            c.destroy();
        }
    }

    @Test
    void freeOfZeroIsANoOp() {
        try (SlabAllocator a = small()) {
            a.free(0);
            a.freeNoLock(0);
            a.freeRcu(0);
            a.freeRcu(0, 0);
            a.freeRcuNoLock(0, 0);
            SlabCache c = a.createCache("z", 32);
            c.free(0);
            c.freeNoLock(0);
            c.freeRcu(0);
        }
    }

    @Test
    void doubleFreeOnTopOfSheafIsDetected() {
        try (SlabAllocator a = small()) {
            long p = a.malloc(64);
            a.free(p);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.free(p));
            assertTrue(e.getMessage().contains("double free"), e.getMessage());
            assertEquals(p, a.malloc(64), "the object is still usable once");
            a.free(p);
        }
    }

    @Test
    void doubleFreeAtSlabLevelIsDetected() {
        try (SlabAllocator a = small()) {
            SlabCache c = a.createCache(CacheSpec.of("nosheaf", 64).withSheafCapacity(0));
            long p = c.alloc();
            long q = c.alloc();
            c.free(q);
            c.free(p);
            // p is now the head of its slab's free list, q inside it: both are free.
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.free(p));
            assertTrue(e.getMessage().contains("is not allocated: it is free"), e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> c.free(q));
            assertTrue(e.getMessage().contains("is not allocated: it is free"), e.getMessage());
            // Never handed out: beyond the carved prefix.
            e = assertThrows(IllegalStateException.class, () -> c.free(p + 64 * 100));
            assertTrue(e.getMessage().contains("never handed out"), e.getMessage());
            long r = c.alloc();
            c.free(r);
            c.destroy();
        }
    }

    @Test
    void doubleFreeOfLargeAllocationIsDetected() {
        try (SlabAllocator a = small()) {
            long p = a.malloc(100_000);
            a.free(p);
            assertThrows(IllegalArgumentException.class, () -> a.free(p), "span returned: free memory");
        }
    }

    @Test
    void useAfterCloseThrows() {
        SlabAllocator a = small();
        SlabCache c = a.createCache("c", 64);
        long p = a.malloc(64);
        long q = c.alloc();
        a.close();
        a.close();
        assertThrows(IllegalStateException.class, () -> a.malloc(8));
        assertThrows(IllegalStateException.class, () -> a.mallocNoLock(8));
        assertThrows(IllegalStateException.class, () -> a.free(p));
        assertThrows(IllegalStateException.class, () -> a.freeNoLock(p));
        assertThrows(IllegalStateException.class, () -> a.usableSize(p));
        assertThrows(IllegalStateException.class, () -> a.segment(p));
        assertThrows(IllegalStateException.class, () -> a.createCache("d", 8));
        assertThrows(IllegalStateException.class, () -> a.stats());
        assertThrows(IllegalStateException.class, () -> a.freeRcu(p, 0));
        assertThrows(IllegalStateException.class, () -> a.shrink());
        assertThrows(IllegalStateException.class, c::alloc);
        assertThrows(IllegalStateException.class, () -> c.free(q));
        assertThrows(IllegalStateException.class, () -> c.freeRcu(q));
        assertThrows(IllegalStateException.class, c::destroy);
    }

    @Test
    void destroyWithLiveObjectsNamesCacheAndCountAndKeepsWorking() {
        try (SlabAllocator a = small()) {
            SlabCache c = a.createCache("session", 100);
            long[] objs = new long[300];
            c.allocBulk(objs, objs.length);
            for (int i = 3; i < objs.length; i++) {
                c.free(objs[i]);
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, c::destroy);
            assertTrue(e.getMessage().contains("'session'") && e.getMessage().contains(" 3 "), e.getMessage());
            // Nothing else is held: only the slab(s) with the three objects.
            assertEquals(0, c.stats().cachedObjects());
            assertEquals(3, c.stats().activeObjects());
            for (int i = 0; i < 3; i++) {
                c.free(objs[i]);
            }
            long before = a.stats().slabs();
            c.destroy();
            assertTrue(a.stats().slabs() < before, "slabs returned");
            a.shrink();
            assertEquals(0, a.stats().reservedBytes());
            assertThrows(IllegalStateException.class, c::alloc);
            assertThrows(IllegalStateException.class, () -> c.free(objs[0]));
            assertThrows(IllegalStateException.class, c::destroy);
        }
    }

    @Test
    void sizeClassCachesCannotBeDestroyed() {
        try (SlabAllocator a = small()) {
            assertThrows(IllegalStateException.class, () -> a.sizeClassCache(64).destroy());
        }
    }

    @Test
    void capacityExhaustedGivesOutOfMemoryAndZeroFromNoLock() {
        try (SlabAllocator a = SlabAllocator.builder().capacity(4L << 20).build()) {
            List<Long> held = new ArrayList<>();
            OutOfMemoryError oom = null;
            try {
                while (true) {
                    held.add(a.malloc(4096));
                }
            } catch (OutOfMemoryError e) {
                oom = e;
            }
            assertNotNull(oom);
            assertTrue(held.size() > 500);
            // The no-lock path returns 0 (also after trying the next class).
            long n;
            while ((n = a.mallocNoLock(4096)) != 0) {
                held.add(n);
            }
            assertEquals(0, a.mallocNoLock(4096));
            assertThrows(OutOfMemoryError.class, () -> a.malloc(1 << 20));
            assertEquals(0, a.mallocNoLock(1 << 20));
            // Still consistent: free everything, allocate again.
            for (long p : held) {
                a.free(p);
            }
            a.shrink();
            long big = a.malloc(2L << 20);
            a.free(big);
            assertEquals(0, a.stats().liveBytes());
        }
    }

    @Test
    void largeAllocationsComeFromSpansAndGoBack() {
        try (SlabAllocator a = small()) {
            long before = a.stats().reservedBytes();
            long p = a.malloc(1_000_000);
            assertEquals(1_003_520, a.usableSize(p));
            assertEquals(before + 1_003_520, a.stats().reservedBytes());
            a.segment(p).fill((byte) 7);
            a.free(p);
            assertEquals(before, a.stats().reservedBytes());
        }
    }

    @Test
    void shrinkGivesMemoryBack() {
        try (SlabAllocator a = small()) {
            long[] objs = new long[20_000];
            for (int i = 0; i < objs.length; i++) {
                objs[i] = a.malloc(256);
            }
            long full = a.stats().reservedBytes();
            for (long p : objs) {
                a.free(p);
            }
            long released = a.shrink();
            assertTrue(released > 0);
            assertTrue(a.stats().reservedBytes() < full / 4, a.stats().toString());
        }
    }

    @Test
    void arenaFallbackWorks() {
        try (SlabAllocator a = SlabAllocator.builder().capacity(16L << 20).forceArena(true).build()) {
            assertFalse(a.pages().isMapped());
            long p = a.malloc(100);
            a.segment(p).fill((byte) 1);
            long big = a.malloc(100_000);
            a.free(p);
            a.free(big);
            a.shrink();
        }
    }

    @Test
    void typesafeByRcuCacheReusesObjectsAndReturnsSlabsAfterGracePeriod() {
        try (SlabAllocator a = small()) {
            SlabCache c = a.createCache(CacheSpec.of("tsrcu", 128).withLinkOffset(120).withFlags(SlabFlag.TYPESAFE_BY_RCU));
            long[] objs = new long[5000];
            c.allocBulk(objs, objs.length);
            for (long p : objs) {
                MemorySegment s = a.segment(p);
                s.set(ValueLayout.JAVA_LONG, 0, 0xABCDL);
            }
            c.freeBulk(objs, objs.length);
            // The link lives at 120: the field readers use (offset 0) survives the free.
            for (long p : objs) {
                assertEquals(0xABCDL, NativeMemory.EVERYTHING.get(ValueLayout.JAVA_LONG, p));
            }
            a.shrink();
            a.rcu().barrier();
            c.destroy();
        }
    }

    @Test
    void poisonFillsFreedObjects() {
        try (SlabAllocator a = small()) {
            SlabCache c = a.createCache(CacheSpec.of("poisoned", 64).withSheafCapacity(0).withFlags(SlabFlag.POISON));
            long p = c.alloc();
            long keep = c.alloc();
            c.free(p);
            assertEquals((byte) 0x6b, NativeMemory.EVERYTHING.get(ValueLayout.JAVA_BYTE, p + 63));
            c.free(keep);
            c.destroy();
        }
    }
}
