/**
 * Sheaf's off-heap slab allocator, after the Linux kernel's SLUB with per-CPU sheaves, the
 * {@code _nolock} allocation family and {@code kvfree_rcu} batching.
 *
 * <p>Start at {@link dev.sheaf.allocator.SlabAllocator}, then {@link dev.sheaf.allocator.SlabCache}:
 * <ul>
 *   <li>{@link dev.sheaf.allocator.SlabAllocator}: kmalloc-style {@code malloc}/{@code free} over 44
 *       size classes (8 B .. 32 KiB, four per power of two), page spans above, a
 *       {@link java.lang.foreign.SegmentAllocator}, free after an RCU grace period, statistics and
 *       {@code slabinfo()}.</li>
 *   <li>{@link dev.sheaf.allocator.SlabCache}: one object size ({@code kmem_cache}), created from a
 *       {@link dev.sheaf.allocator.CacheSpec} and {@link dev.sheaf.allocator.SlabFlag}s; per-thread
 *       (per-carrier for virtual threads) main and spare sheaves, a bounded barn of whole sheaves,
 *       slabs with in-object free-list links.</li>
 *   <li>{@link dev.sheaf.allocator.SlabHook} and {@link dev.sheaf.allocator.LeakTracker}:
 *       allocation/free hooks that tolerate objects they never saw allocated;
 *       {@link dev.sheaf.allocator.SlabEvents}: JFR events.</li>
 *   <li>{@link dev.sheaf.allocator.RcuFreeStats}: counters of free after a grace period.</li>
 * </ul>
 *
 * <p>Memory comes from one {@code mmap}'d range per allocator (PageSource); addresses are plain
 * {@code long}s; {@code segment(address)} gives a bounds-checked view.
 *
 * <p>Internals, package-private here, each class one concept: SlabCache's layers Magazine,
 * MagazineRegistry, SheafExchange, Barn, SlabNode, RcuSheaves and CacheCounters; SlabAllocator's
 * LargeSpans and AllocatorRcuTarget; PageSource and ObjectStates. The lock order and what each
 * lock protects are stated in one block at the top of {@code SlabCache.java}.
 *
 * <p>Internal packages, not API and not to be exported: {@code dev.sheaf.allocator.memory} (native
 * memory access and hardened free-list links) and {@code dev.sheaf.allocator.rcufree} (the
 * free-after-grace-period engine).
 */
package dev.sheaf.allocator;
