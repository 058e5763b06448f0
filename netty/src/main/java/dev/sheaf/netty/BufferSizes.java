package dev.sheaf.netty;

import dev.sheaf.allocator.CacheSpec;
import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;

import java.util.Arrays;
import java.util.List;

/*
 * Implementation notes.
 *
 * Where a direct buffer of n bytes lives in Sheaf:
 *   n <= SlabAllocator.MAX_SIZE_CLASS       a kmalloc size class (SlabAllocator.malloc);
 *   up to the largest of LARGE_CLASSES      the smallest created cache (SlabCache.alloc) that holds n;
 *   above                                   a page span (SlabAllocator.malloc).
 * The caches exist because a page span is given back to the OS (madvise) when it is freed: a
 * buffer of 64 KiB allocated and released per message would make a system call each time, while a
 * cache keeps freed objects in its sheaves for the next allocation. Four classes per doubling
 * bound the unused tail of an object to a fifth of it.
 *
 * Every object is freed with SlabAllocator.free(address), which finds its cache from the address,
 * on any thread. fit(n) is the usable size an allocation of n would get, so a capacity change
 * knows whether the current object still is the right one.
 *
 * Map: classes; constructor; accessors; allocate; fit; free, usableSize.
 */
final class BufferSizes {

    /** Object sizes of the created caches above the kmalloc classes, ascending. */
    static final int[] LARGE_CLASSES = {40 << 10, 48 << 10, 56 << 10, 64 << 10, 80 << 10, 96 << 10, 112 << 10,
        128 << 10};
    /** Sheaf's kmalloc class sizes, ascending. */
    private static final int[] SMALL_CLASSES = SlabAllocator.sizeClasses();

    private final SlabAllocator sheaf;
    private final SlabCache[] large;

    BufferSizes(SlabAllocator sheaf) {
        this.sheaf = sheaf;
        this.large = new SlabCache[LARGE_CLASSES.length];
        for (int i = 0; i < large.length; i++) {
            large[i] = sheaf.createCache(CacheSpec.of("netty-" + (LARGE_CLASSES[i] >> 10) + "k", LARGE_CLASSES[i]));
        }
    }

    SlabAllocator sheaf() {
        return sheaf;
    }

    /** The created caches, smallest first. */
    List<SlabCache> largeCaches() {
        return List.of(large);
    }

    /**
     * A new object of at least max(size, 1) bytes.
     *
     * @throws OutOfMemoryError      Sheaf's capacity is exhausted
     * @throws IllegalStateException Sheaf is closed
     */
    long allocate(int size) {
        if (size > SlabAllocator.MAX_SIZE_CLASS && size <= LARGE_CLASSES[LARGE_CLASSES.length - 1]) {
            return large[largeIndex(size)].alloc();
        }
        return sheaf.malloc(Math.max(1, size));
    }

    /** The usable size an allocation of size bytes gets, or -1 for a page span (page-rounded). */
    static long fit(int size) {
        if (size <= SlabAllocator.MAX_SIZE_CLASS) {
            int i = Arrays.binarySearch(SMALL_CLASSES, Math.max(1, size));
            return SMALL_CLASSES[i >= 0 ? i : -i - 1];
        }
        if (size <= LARGE_CLASSES[LARGE_CLASSES.length - 1]) {
            return LARGE_CLASSES[largeIndex(size)];
        }
        return -1;
    }

    private static int largeIndex(int size) {
        int i = Arrays.binarySearch(LARGE_CLASSES, size);
        return i >= 0 ? i : -i - 1;
    }

    void free(long address) {
        sheaf.free(address);
    }

    long usableSize(long address) {
        return sheaf.usableSize(address);
    }
}
