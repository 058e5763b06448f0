package dev.sheaf.allocator;

/*
 * Implementation notes.
 *
 * Metadata of one slab (a run of PageSource blocks carved into equal slots) or of one large
 * span (cache == null, one object). Kept on the heap, never inside the slab, so a stray write
 * into object memory cannot corrupt the allocator's own bookkeeping.
 *
 * Free objects of a slab form a singly linked list through an 8-byte link stored inside each
 * free object at the cache's link offset (SLUB's free pointer); 0 ends the list. Slots past
 * `carved` have never been handed out and are carved lazily in address order, so a new slab
 * costs no writes into its memory (and no page faults) until objects are actually used.
 *
 * The free-list links are hardened and validated before they are followed (FreePointer,
 * SlabNode.takeFromSlab); the state of each object lives in the heap's state map
 * (ObjectStates), not here.
 *
 * All mutable fields are guarded by the owning cache's SlabNode lock; `state` of a large span is
 * changed by compare-and-set instead (a span has no cache): LIVE (allocated), then FREED, or
 * deferred by freeNoLock, or pending after freeRcu* (LargeSpans' SPAN_* states).
 *
 * Map: states; identity (base, blocks, cache, bytes); node-locked fields; home; span state.
 */
final class Slab {

    static final int LIVE = 0;
    static final int FREED = 1;

    final long base;
    final int blocks;
    /** Owning cache; null for a large span. */
    final SlabCache cache;
    /** For a large span: the usable (page-rounded) size. For a slab: slab bytes. */
    final long bytes;

    // Guarded by the cache's SlabNode.lock.
    long freeHead;
    int inuse;
    int carved;
    Slab prev;
    Slab next;
    boolean onPartial;
    /**
     * The magazine refilling from this slab (RemoteFrees: its home slab), or null. Written under
     * the node lock; read without it by remote-free routing, as a hint. An owned slab is on no list.
     */
    volatile Magazine home;

    /** Large spans only: LIVE while allocated, then one of LargeSpans' span states (CAS). */
    volatile int state;

    Slab(long base, int blocks, SlabCache cache, long bytes) {
        this.base = base;
        this.blocks = blocks;
        this.cache = cache;
        this.bytes = bytes;
    }

    boolean isLargeSpan() {
        return cache == null;
    }
}
