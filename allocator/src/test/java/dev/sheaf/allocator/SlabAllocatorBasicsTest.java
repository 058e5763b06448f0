package dev.sheaf.allocator;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class SlabAllocatorBasicsTest {

    @Test
    void mallocFreeRoundTripAndUsableSize() {
        try (SlabAllocator a = SlabAllocator.builder().capacity(256L << 20).build()) {
            Set<Long> seen = new HashSet<>();
            long[] addrs = new long[5000];
            for (int i = 0; i < addrs.length; i++) {
                long size = 1 + (i * 37L) % 40000;
                addrs[i] = a.malloc(size);
                assertTrue(seen.add(addrs[i]), "address handed out twice");
                assertTrue(a.usableSize(addrs[i]) >= size);
                MemorySegment seg = a.segment(addrs[i]);
                seg.set(ValueLayout.JAVA_BYTE, size - 1, (byte) 1);
            }
            for (long x : addrs) {
                a.free(x);
            }
            assertEquals(0, a.stats().liveBytes());
        }
    }

    @Test
    void sizeClassesAreMonotoneAndCoverTo32K() {
        int[] sizes = SlabAllocator.sizeClasses();
        assertEquals(8, sizes[0]);
        assertEquals(32768, sizes[sizes.length - 1]);
        for (int i = 1; i < sizes.length; i++) {
            assertTrue(sizes[i] > sizes[i - 1]);
        }
        for (long s = 1; s <= 32768; s++) {
            int c = SizeClasses.classOf(s);
            assertTrue(SizeClasses.SIZES[c] >= s);
            assertTrue(c == 0 || SizeClasses.SIZES[c - 1] < s, "class of " + s + " not the smallest");
        }
    }
}
