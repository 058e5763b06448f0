package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The free paths that trust a cache's tagged state byte instead of looking the slab up
 * (ObjectStates notes: cache tags) must refuse exactly what the full checks refuse: another
 * cache's object, interior addresses (aligned or not), double frees, addresses outside the heap,
 * and objects of a destroyed cache whose tag went to a new cache. Caches past the last tag work
 * untagged. Each case goes through SlabCache, its handle, SlabAllocator and its handle.
 */
class TaggedStateTest {

    @Test
    void cachesGetTagsWhenTheirSlotsAreGranules() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c64 = a.createCache("t64", 64);
            SlabCache c24 = a.createCache("t24", 24);
            SlabCache cheap = a.createCache(CacheSpec.of("cheap", 64).withFlags(SlabFlag.CHEAP_FREE_CHECKS));
            assertNotEquals(0, c64.tag);
            assertEquals(0, c24.tag, "24-byte slots put object starts inside granules");
            assertEquals(0, cheap.tag, "CHEAP_FREE_CHECKS writes no ALLOCATED byte");
            assertNotEquals(0, a.sizeClassCache(64).tag);
        }
    }

    @Test
    void anotherCachesObjectIsForeign() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache x = a.createCache("x", 64);
            SlabCache y = a.createCache("y", 64);
            long p = x.alloc();
            assertThrows(IllegalArgumentException.class, () -> y.free(p));
            try (SlabCache.Local h = y.local()) {
                assertThrows(IllegalArgumentException.class, () -> h.free(p));
                assertThrows(IllegalArgumentException.class, () -> h.freeRcu(p));
            }
            x.free(p); // untouched by the refusals
            assertThrows(IllegalStateException.class, () -> x.free(p), "double free");
        }
    }

    @Test
    void interiorAddressesAlignedOrNotAreRefused() {
        try (SlabAllocator a = Heaps.small().build(); SlabAllocator.Local h = a.local()) {
            SlabCache c = a.createCache("interior", 64);
            long p = c.alloc();
            long m = a.malloc(64);
            for (long off : new long[] {8, 16, 32, 48}) {
                assertThrows(IllegalArgumentException.class, () -> c.free(p + off), "offset " + off);
                assertThrows(IllegalArgumentException.class, () -> a.free(m + off), "offset " + off);
                assertThrows(IllegalArgumentException.class, () -> h.free(m + off), "offset " + off);
            }
            c.free(p);
            h.free(m);
            assertThrows(IllegalStateException.class, () -> a.free(m));
            assertThrows(IllegalStateException.class, () -> h.free(m));
            assertThrows(IllegalStateException.class, () -> c.free(p));
        }
    }

    @Test
    void addressesOutsideTheHeapAreRefusedWithoutReadingThem() {
        try (SlabAllocator a = Heaps.small().build(); SlabAllocator other = Heaps.small().build()) {
            SlabCache c = a.createCache("outside", 64);
            long q = other.malloc(64);
            for (long bad : new long[] {16, 0x10_0000L, Long.MAX_VALUE & ~15L, -16L, q}) {
                assertThrows(IllegalArgumentException.class, () -> c.free(bad), Long.toHexString(bad));
                assertThrows(IllegalArgumentException.class, () -> a.free(bad), Long.toHexString(bad));
            }
            other.free(q);
        }
    }

    @Test
    void aTagReusedByANewCacheDoesNotAcceptTheOldCachesAddresses() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache old = a.createCache("old", 64);
            int tag = old.tag;
            long p = old.alloc();
            old.free(p);
            old.destroy();
            SlabCache next = a.createCache("next", 128);
            assertEquals(tag, next.tag, "the lowest free tag is reused");
            assertThrows(RuntimeException.class, () -> next.free(p));
            assertThrows(RuntimeException.class, () -> a.free(p));
            long q = next.alloc();
            a.free(q);
        }
    }

    @Test
    void cachesPastTheLastTagWorkUntagged() {
        try (SlabAllocator a = Heaps.small().build()) {
            List<SlabCache> caches = new ArrayList<>();
            for (int i = 0; i < ObjectStates.MAX_TAG + 8; i++) {
                caches.add(a.createCache("many-" + i, 64));
            }
            SlabCache last = caches.getLast();
            assertEquals(0, last.tag);
            SlabCache tagged = caches.getFirst();
            long p = last.alloc();
            long t = tagged.alloc();
            assertThrows(IllegalArgumentException.class, () -> tagged.free(p));
            assertThrows(IllegalArgumentException.class, () -> last.free(t));
            assertThrows(IllegalArgumentException.class, () -> last.free(p + 16));
            last.free(p);
            assertThrows(IllegalStateException.class, () -> last.free(p));
            a.free(t);
            assertTrue(tagged.stats().toString().length() > 0);
        }
    }
}
