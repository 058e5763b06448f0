package dev.sheaf.netty;

import dev.sheaf.allocator.CacheSpec;
import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/*
 * Implementation notes.
 *
 * Where a direct buffer of n bytes lives in Sheaf:
 *   n <= SlabAllocator.MAX_SIZE_CLASS       the kmalloc size-class cache that holds n;
 *   up to the largest of LARGE_CLASSES      the smallest created cache that holds n;
 *   above                                   a page span, through SpanReserve (which keeps recently
 *                                           released spans of common sizes for reuse).
 * The created caches exist because a page span is given back to the OS (madvise) when it is freed:
 * a buffer of 64 KiB allocated and released per message would make a system call each time, while
 * a cache keeps freed objects in its sheaves for the next allocation. Four classes per doubling
 * bound the unused tail of an object to a fifth of it.
 *
 * A buffer holds its cache and allocates and frees through it (SlabCache.alloc/free): that skips
 * kmalloc's size-to-class step and the free's address-to-cache lookup, and SlabCache.free still
 * checks that the address is an allocated object of that cache. Both work on any thread.
 *
 * Classes are numbered densely (classIndex): the kmalloc classes a buffer can get, then the created
 * caches; ThreadBuffers keeps its ready buffers per class number. classIndex(n) is one table load:
 * by8[ceil(n/8)] up to 1 KiB, by256[ceil(n/256)] above, -1 for a page span. That is exact because every class up to 1 KiB is a multiple of 8 bytes and every class above is a
 * multiple of 256 bytes, so no class lies between n and n rounded up to the table's step (the
 * constructor checks it). fit(n) is the usable size an allocation of n gets, so a capacity change
 * knows whether the current object still is the right one.
 *
 * Map: classes; tables and constructor; cacheFor, fit; page spans; accessors.
 */
final class BufferSizes {

    /** Object sizes of the created caches above the kmalloc classes, ascending. */
    static final int[] LARGE_CLASSES = {40 << 10, 48 << 10, 56 << 10, 64 << 10, 80 << 10, 96 << 10, 112 << 10,
        128 << 10};
    /** Largest size a cache serves; above it, page spans. */
    static final int MAX_CACHED = LARGE_CLASSES[LARGE_CLASSES.length - 1];
    private static final int FINE_LIMIT = 1024;

    private final SlabAllocator sheaf;
    private final SpanReserve spans;
    private final SlabCache[] large;
    /** Every class a buffer can get, by class number. */
    private final SlabCache[] classes;
    /** Class number for sizes 0..1024 by ceil(size / 8). */
    private final byte[] by8;
    /** Class number for sizes 1025..MAX_CACHED by ceil(size / 256). */
    private final byte[] by256;

    BufferSizes(SlabAllocator sheaf, long spanReserveBytes) {
        this.sheaf = sheaf;
        this.spans = new SpanReserve(sheaf, spanReserveBytes);
        this.large = new SlabCache[LARGE_CLASSES.length];
        for (int i = 0; i < large.length; i++) {
            large[i] = sheaf.createCache(CacheSpec.of("netty-" + (LARGE_CLASSES[i] >> 10) + "k", LARGE_CLASSES[i]));
        }
        List<SlabCache> numbered = new ArrayList<>();
        this.by8 = new byte[FINE_LIMIT / 8 + 1];
        for (int i = 0; i < by8.length; i++) {
            by8[i] = number(numbered, smallestHolding(Math.max(1, i * 8), 8));
        }
        this.by256 = new byte[MAX_CACHED / 256 + 1];
        for (int i = FINE_LIMIT / 256 + 1; i < by256.length; i++) {
            by256[i] = number(numbered, smallestHolding(i * 256, 256));
        }
        this.classes = numbered.toArray(new SlabCache[0]);
    }

    /** The class number of c, numbering it if new (classes appear in ascending size). */
    private static byte number(List<SlabCache> numbered, SlabCache c) {
        int i = numbered.indexOf(c);
        if (i < 0) {
            i = numbered.size();
            numbered.add(c);
        }
        if (i > Byte.MAX_VALUE) {
            throw new IllegalStateException("more than " + Byte.MAX_VALUE + " buffer classes");
        }
        return (byte) i;
    }

    /** The cache of the smallest class >= size; checks that the table's step cannot skip a class. */
    private SlabCache smallestHolding(int size, int step) {
        SlabCache c;
        if (size <= SlabAllocator.MAX_SIZE_CLASS) {
            c = sheaf.sizeClassCache(size);
        } else {
            int i = Arrays.binarySearch(LARGE_CLASSES, size);
            c = large[i >= 0 ? i : -i - 1];
        }
        if (c.objectSize() % step != 0) {
            throw new IllegalStateException("class " + c.objectSize() + " is not a multiple of " + step);
        }
        return c;
    }

    /**
     * The cache that serves a buffer of size bytes, or null above {@link #MAX_CACHED} (a page span).
     *
     * @param size bytes, at least 0 (0 gets the smallest class)
     */
    SlabCache cacheFor(int size) {
        int i = classIndex(size);
        return i >= 0 ? classes[i] : null;
    }

    /**
     * The number of the class that serves a buffer of size bytes, or -1 above {@link #MAX_CACHED}.
     *
     * @param size bytes, at least 0
     */
    int classIndex(int size) {
        if (size <= FINE_LIMIT) {
            return by8[(size + 7) >>> 3];
        }
        if (size <= MAX_CACHED) {
            return by256[(size + 255) >>> 8];
        }
        return -1;
    }

    /** The cache of class number i (0 <= i < classCount()). */
    SlabCache cache(int i) {
        return classes[i];
    }

    /** How many classes there are. */
    int classCount() {
        return classes.length;
    }

    /**
     * The usable size an allocation of size bytes gets: the cache's object size, the span class's
     * size, or -1 for a span above {@link SpanReserve#MAX_RESERVED} (page-rounded).
     */
    long fit(int size) {
        SlabCache c = cacheFor(size);
        return c != null ? c.objectSize() : SpanReserve.fit(size);
    }

    /**
     * A page span of at least size bytes (size above {@link #MAX_CACHED}).
     *
     * @throws OutOfMemoryError      Sheaf's capacity is exhausted
     * @throws IllegalStateException Sheaf is closed
     */
    long allocateSpan(int size) {
        return spans.allocate(size);
    }

    void freeSpan(long address) {
        spans.free(address);
    }

    long spanSize(long address) {
        return spans.usableSize(address);
    }

    SpanReserve spans() {
        return spans;
    }

    SlabAllocator sheaf() {
        return sheaf;
    }

    /** The created caches, smallest first. */
    List<SlabCache> largeCaches() {
        return List.of(large);
    }
}
