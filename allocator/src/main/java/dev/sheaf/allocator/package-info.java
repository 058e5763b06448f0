/**
 * Sheaf's off-heap slab allocator, after the Linux kernel's SLUB with per-CPU sheaves, the
 * {@code _nolock} allocation family and {@code kvfree_rcu} batching.
 *
 * <ul>
 *   <li>{@link dev.sheaf.allocator.SlabAllocator}: kmalloc-style {@code malloc}/{@code free} over 44
 *       size classes (8 B .. 32 KiB, four per power of two), page spans above, a
 *       {@link java.lang.foreign.SegmentAllocator}, free after an RCU grace period, statistics and
 *       {@code slabinfo()}.</li>
 *   <li>{@link dev.sheaf.allocator.SlabCache}: one object size ({@code kmem_cache}), created from a
 *       {@link dev.sheaf.allocator.CacheSpec}; per-thread (per-carrier for virtual threads) main and
 *       spare sheaves, a bounded barn of whole sheaves, slabs with in-object free-list links.</li>
 *   <li>{@link dev.sheaf.allocator.SlabHook} and {@link dev.sheaf.allocator.LeakTracker}:
 *       allocation/free hooks that tolerate objects they never saw allocated.</li>
 * </ul>
 *
 * <p>Memory comes from one {@code mmap}'d range per allocator (PageSource); addresses are plain
 * {@code long}s; {@code segment(address)} gives a bounds-checked view. The lock order and what
 * each lock protects are stated in one block at the top of {@code SlabCache.java}.
 */
package dev.sheaf.allocator;
