package dev.sheaf.allocator;

/*
 * Implementation notes.
 *
 * The allocator's questions about an address, each answered by exactly one method:
 *
 *   "inside this allocator's memory, and in which slab or span?"  slabOf (PageSource.ownerOf, one
 *                                                                  array load; badAddress says why not)
 *   "an object start?"      isObjectStart / checkObjectStart: SlabCache.isObjectStart for a slab
 *                           (checkInSlab throws), LargeSpans.isSpanStart for a span
 *   "allocated?"            SlabCache.checkAllocated (the state map), LargeSpans.checkAllocated
 *   "pending?"              SlabCache.isPending, LargeSpans.isPending
 *
 * objectStart is the sequence every free and every engine claim shares: open, in a slab or span,
 * a live cache, an object start. SlabCache's own entry points ask the same questions through its
 * inlined checkObject/checkInSlab (no call on the fast path); the answers are the same methods.
 * Error messages and exception types are part of the contract (tests check them). The methods are
 * static and take the allocator's own fields, so an inlined call loads nothing the allocator would
 * not load itself (no checker object between the entry point and its fields).
 *
 * "an allocated object start, and of which cache?" taggedCache: the state byte alone, when it
 * carries a cache tag (ObjectStates notes); null means "ask the questions above".
 *
 * Map: slabOf; isObjectStart, checkObjectStart; objectStart; taggedCache.
 */
/** Where an address lies, and whether it is an object start: the allocator's address checks. */
final class AddressChecks {

    private AddressChecks() {
    }

    /**
     * The slab or span holding {@code address}: the one answer to "is it inside this allocator's
     * memory, and in which slab or span", or the exception that says why not.
     */
    static Slab slabOf(SlabAllocator allocator, PageSource pages, long address) {
        Slab s = pages.ownerOf(address);
        if (s == null) {
            throw allocator.badAddress(address, null, null);
        }
        return s;
    }

    /** Whether {@code address} is an object start of slab or span {@code s} (never throws). */
    static boolean isObjectStart(long address, Slab s) {
        return s.cache == null ? LargeSpans.isSpanStart(address, s) : s.cache.isObjectStart(address, s);
    }

    /** isObjectStart, or the exception that says which rule failed. */
    static void checkObjectStart(long address, Slab s) {
        if (s.cache == null) {
            LargeSpans.checkSpanStart(address, s);
        } else {
            s.cache.checkInSlab(address, s);
        }
    }

    /**
     * The slab or span of an object start about to be freed or claimed, after the checks every
     * such path shares: the allocator is open, the address lies in a slab or span of this
     * allocator, a slab's cache is live, and the address is an object start.
     */
    static Slab objectStart(SlabAllocator allocator, PageSource pages, long address) {
        if (allocator.closedFast()) {
            throw allocator.closedError();
        }
        Slab s = slabOf(allocator, pages, address);
        SlabCache c = s.cache;
        if (c != null && !c.isLive()) {
            throw new IllegalStateException("cache '" + c.name() + "' is destroyed");
        }
        checkObjectStart(address, s);
        return s;
    }

    /**
     * The live cache whose tagged ALLOCATED byte sits at {@code address}, with the allocator open:
     * then {@code address} is an allocated object start of it and needs no other check. Null when
     * the address is outside the heap or unaligned, its byte carries no tag, or the allocator or
     * cache is closed: the caller then runs objectStart, which throws what is wrong. Reads only
     * the state map (never memory derived from an address it has not range-checked).
     */
    static SlabCache taggedCache(SlabAllocator allocator, PageSource pages, SlabCache[] byTag, long address) {
        if (Long.compareUnsigned(address - pages.base, pages.capacity) >= 0
                || (address & (ObjectStates.GRANULE - 1)) != 0) {
            return null;
        }
        byte b = ObjectStates.get(pages.stateBias, address);
        SlabCache c = byTag[ObjectStates.tagOf(b)]; // [0] is null
        // c's byte must be the one read: a tag goes to a new cache only once no object of the
        // old one is allocated, so the byte names the cache holding the tag now.
        return c != null && c.allocatedByte() == b && c.isLive() && !allocator.closedFast() ? c : null;
    }
}
