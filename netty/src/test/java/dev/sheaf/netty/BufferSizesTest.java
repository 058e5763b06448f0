package dev.sheaf.netty;

import dev.sheaf.allocator.SlabAllocator;
import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class BufferSizesTest {

    static {
        LeakReports.install();
    }

    /** The table lookup agrees with a linear search over every class, for every cached size. */
    @Test
    void everySizeGetsTheSmallestClassHoldingIt() {
        int[] classes = IntStream.concat(IntStream.of(SlabAllocator.sizeClasses()),
                IntStream.of(BufferSizes.LARGE_CLASSES)).sorted().toArray();
        try (SlabAllocator sheaf = SlabAllocator.builder().capacity(64L << 20).build()) {
            BufferSizes sizes = new BufferSizes(sheaf, 0);
            for (int size = 0; size <= BufferSizes.MAX_CACHED; size++) {
                int want = Math.max(1, size);
                int expected = IntStream.of(classes).filter(c -> c >= want).findFirst().orElseThrow();
                assertEquals(expected, sizes.cacheFor(size).objectSize(), "size " + size);
                assertEquals(expected, sizes.fit(size), "size " + size);
            }
            assertNull(sizes.cacheFor(BufferSizes.MAX_CACHED + 1));
            assertEquals(160 << 10, sizes.fit(BufferSizes.MAX_CACHED + 1));
            assertEquals(4 << 20, sizes.fit(4 << 20));
            assertEquals(-1, sizes.fit((4 << 20) + 1));
        }
    }
}
