package dev.sheaf.allocator;

import java.util.List;

/**
 * The JMX view of a {@link SlabAllocator}, registered on the platform MBeanServer when the allocator
 * is built with {@link SlabAllocator.Builder#jmxName(String)} and unregistered by
 * {@link SlabAllocator#close()}. Attributes are racy snapshots read on the caller's thread (a JMX
 * connector's, say): {@link SlabAllocator#stats()}, the per-cache rows of
 * {@link SlabAllocator#slabinfo()}, and the counters of free after a grace period; {@link #shrink()}
 * is an operation.
 */
public interface SlabAllocatorMXBean {

    /**
     * One cache's row (a line of {@link SlabAllocator#slabinfo()}), as an open-type composite.
     */
    interface CacheRow {
        /**
         * The cache's name ({@code kmalloc-64}, or a created cache's).
         *
         * @return the name
         */
        String getName();

        /**
         * Object size in bytes.
         *
         * @return bytes
         */
        long getObjectSize();

        /**
         * Slot size in bytes (object plus padding).
         *
         * @return bytes
         */
        long getSlotSize();

        /**
         * Objects per slab.
         *
         * @return the count
         */
        int getObjectsPerSlab();

        /**
         * Slabs of the cache.
         *
         * @return the count
         */
        long getSlabs();

        /**
         * Object slots in the cache's slabs.
         *
         * @return the count
         */
        long getTotalObjects();

        /**
         * Objects handed out and not freed.
         *
         * @return the count
         */
        long getActiveObjects();

        /**
         * Free objects held in sheaves and the barn.
         *
         * @return the count
         */
        long getCachedObjects();

        /**
         * Objects per sheaf.
         *
         * @return the capacity
         */
        int getSheafCapacity();

        /**
         * Allocations served from a sheaf.
         *
         * @return the count
         */
        long getAllocFastpath();

        /**
         * Allocations that took the slow path.
         *
         * @return the count
         */
        long getAllocSlowpath();

        /**
         * Frees into a sheaf.
         *
         * @return the count
         */
        long getFreeFastpath();

        /**
         * Frees that took the slow path.
         *
         * @return the count
         */
        long getFreeSlowpath();

        /**
         * Frees of objects by another thread than the one whose sheaf they came from.
         *
         * @return the count
         */
        long getRemoteFrees();
    }

    /**
     * Bytes of address space ({@link SlabAllocator.Stats#capacity()}).
     *
     * @return bytes
     */
    long getCapacity();

    /**
     * Bytes that may be resident ({@link SlabAllocator.Stats#reservedBytes()}).
     *
     * @return bytes
     */
    long getReservedBytes();

    /**
     * Highest reserved bytes seen.
     *
     * @return bytes
     */
    long getPeakReservedBytes();

    /**
     * Bytes of released slabs kept for reuse.
     *
     * @return bytes
     */
    long getRetainedBytes();

    /**
     * Bytes with users.
     *
     * @return bytes
     */
    long getLiveBytes();

    /**
     * Objects in sheaves and barns.
     *
     * @return the count
     */
    long getCachedObjects();

    /**
     * Bytes of the cached objects.
     *
     * @return bytes
     */
    long getCachedBytes();

    /**
     * Live large (page span) allocations.
     *
     * @return the count
     */
    long getLargeAllocations();

    /**
     * Bytes of live large allocations.
     *
     * @return bytes
     */
    long getLargeBytes();

    /**
     * Slabs of all caches.
     *
     * @return the count
     */
    long getSlabs();

    /**
     * Live caches.
     *
     * @return the count
     */
    int getCaches();

    /**
     * Bytes given back to the OS with madvise.
     *
     * @return bytes
     */
    long getMadvisedBytes();

    /**
     * The text of {@link SlabAllocator#slabinfo()}.
     *
     * @return the slabinfo text
     */
    String getSlabinfo();

    /**
     * One row per cache that has slabs or cached objects, size classes first.
     *
     * @return the rows
     */
    List<CacheRow> getCacheRows();

    /**
     * Objects freed with freeRcu and waiting for their grace period (0 before the first freeRcu).
     *
     * @return the count
     */
    long getRcuPendingObjects();

    /**
     * Bytes of those objects.
     *
     * @return bytes
     */
    long getRcuPendingBytes();

    /**
     * Highest pending bytes seen.
     *
     * @return bytes
     */
    long getRcuPeakPendingBytes();

    /**
     * Objects freed after their grace period.
     *
     * @return the count
     */
    long getRcuFreed();

    /**
     * Grace periods the free-after-grace-period engine requested.
     *
     * @return the count
     */
    long getRcuGracePeriodsRequested();

    /**
     * Errors of free after a grace period (frees that threw, corrupt links).
     *
     * @return the count
     */
    long getRcuFreeErrors();

    /**
     * Grace periods completed by the allocator's RCU domain (0 before it is created).
     *
     * @return the count
     */
    long getRcuGracePeriodsCompleted();

    /**
     * {@link SlabAllocator#shrink()}: gives cached and retained memory back to the OS.
     *
     * @return the bytes given back to the OS
     */
    long shrink();
}
