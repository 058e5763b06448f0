package dev.sheaf.allocator;

/** Per-cache behaviour flags, declared at cache creation. */
public enum SlabFlag {
    /**
     * The kernel's SLAB_TYPESAFE_BY_RCU: a slab's memory goes back to the page source only
     * after a grace period of the allocator's RCU domain, so an RCU reader may still read an
     * object after it is freed and even reused (it must revalidate what it finds). The free-list
     * link then lives at the cache's link offset, which must lie outside the fields readers
     * inspect.
     */
    TYPESAFE_BY_RCU,
    /**
     * Debug: a freed object is filled with 0x6b (the link field excepted) when it reaches a slab,
     * so use after free shows as poison. Costs a fill per slab-level free.
     */
    POISON,
    /**
     * Opt-out of exact free checks on the fast paths: alloc and free skip their state-map stores.
     * Still refused at the call: a free (or freeRcu, usableSize) of an object pending a grace
     * period, of one back in its slab, of a slot never handed out, and a second freeRcu. Missed:
     * a second free of an object that still sits in a sheaf or the barn, which is then handed
     * out twice. For callers who have measured that one byte store per alloc and per free
     * matters more to them than that guarantee.
     */
    CHEAP_FREE_CHECKS,
    /**
     * The kernel's free path: a freed object goes to the freeing thread's sheaves wherever it came
     * from; no home slabs, no remote sheaves. By default each thread refills from a home slab of
     * its own and an object of another live thread's home slab goes back to that thread in a whole
     * sheaf (remote frees), so no thread hands out memory next to objects another thread is still
     * writing. This flag saves the one partly used slab each thread holds per cache, at the price of
     * that false sharing where threads free each other's objects.
     */
    LOCAL_FREES,
    /**
     * Debug mode for this cache (the kernel's {@code slub_debug} for one cache; see
     * {@link SlabAllocator.Builder#debug(boolean)}): red zones around every object, poison and a
     * quarantine for freed ones (no poison with {@link #TYPESAFE_BY_RCU}), allocation and free
     * tracking, segments that close on free, {@link SlabCorruptionException} reports. Changes the
     * slot layout (the red zones widen every slot) and overrides {@link #CHEAP_FREE_CHECKS}.
     */
    DEBUG
}
