package dev.sheaf.allocator;

/**
 * An allocation/free hook (the kernel's slab_post_alloc_hook / slab_free_hook users: kmemleak,
 * KASAN, memcg accounting). Hooks are registered on {@link SlabAllocator.Builder#hook} and run
 * on the calling thread, outside every allocator lock and outside the magazine's critical
 * section, so a hook may itself allocate or free.
 *
 * <p>Rules every hook must follow:
 * <ul>
 *   <li>A hook that {@linkplain #needsLock() needs a lock} is skipped by the no-lock allocation
 *       path ({@code mallocNoLock}/{@code allocNoLock}); so a free hook must accept an object it
 *       never saw allocated, without an error, a false report or corruption.</li>
 *   <li>On the no-lock free path the allocator calls {@link #tryBeforeFree}; a hook that cannot
 *       run without waiting returns false, and the free is deferred to a later ordinary
 *       operation, which calls {@link #beforeFree} then. With one lock-taking hook it runs once
 *       per free; when several need locks and a later one cannot run, the earlier ones see the
 *       object again at the drain (the same tolerance as for unknown objects covers it).</li>
 *   <li>{@code cache} is null for large allocations (PageSource spans).</li>
 * </ul>
 */
public interface SlabHook {

    /**
     * True when the hook may block (takes a lock); such hooks are skipped by no-lock allocations.
     *
     * @return true when the hook takes locks (then the no-lock paths skip or defer it)
     */
    default boolean needsLock() {
        return true;
    }

    /**
     * After an object was handed out.
     *
     * @param cache the object's cache, or null for a large allocation
     * @param address the object's address
     * @param size its usable size in bytes
     */
    default void afterAlloc(SlabCache cache, long address, long size) { }

    /**
     * Before an object goes back (for {@code freeRcu}: when its grace period has passed).
     *
     * @param cache the object's cache, or null for a large allocation
     * @param address the object's address
     * @param size its usable size in bytes
     */
    default void beforeFree(SlabCache cache, long address, long size) { }

    /**
     * No-lock variant of {@link #beforeFree}: never waits; false if it could not run now.
     *
     * @param cache the object's cache, or null for a large allocation
     * @param address the object's address
     * @param size its usable size in bytes
     * @return false when the hook could not run without waiting (it runs later through beforeFree)
     */
    default boolean tryBeforeFree(SlabCache cache, long address, long size) {
        if (needsLock()) {
            return false;
        }
        beforeFree(cache, address, size);
        return true;
    }

    /**
     * A cache is being destroyed with {@code liveObjects} objects still allocated.
     *
     * @param cache the cache
     * @param liveObjects objects still allocated
     */
    default void cacheDestroyed(SlabCache cache, long liveObjects) { }

    /**
     * The allocator is closing; every object still allocated is released with it.
     *
     * @param allocator the allocator being closed
     */
    default void allocatorClosed(SlabAllocator allocator) { }
}
