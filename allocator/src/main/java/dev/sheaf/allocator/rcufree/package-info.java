/**
 * The free-after-grace-period engine: objects passed to freeRcu are batched per thread, sealed with
 * an RCU cookie and freed through an {@link dev.sheaf.allocator.rcufree.RcuFreeTarget} once a
 * grace period has passed (the Linux kernel's kvfree_rcu batching in mm/slab_common.c, with the
 * RFC's 8-byte rcu_ptr and kfree_rcu_nolock).
 *
 * <p>Not exported: the allocator's module uses it internally ({@code SlabAllocator} builds the
 * engine and implements its target); its public types are public only for that package.
 *
 * <p>Where to start reading: the implementation notes of {@link dev.sheaf.allocator.rcufree.RcuFreeEngine}
 * (entry points, where an object waits, lock order, and one line per class), then OpenBatch (the
 * per-thread open batch and its fast path), ChainLink (the in-object link), BatchDrainer (sealing
 * by age and freeing), PendingBound and GracePeriodRequests (the two rules that bound memory and
 * grace periods), and EngineWorker (the own thread and its dormancy).
 */
package dev.sheaf.allocator.rcufree;
