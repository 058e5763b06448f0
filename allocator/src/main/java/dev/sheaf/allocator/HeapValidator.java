package dev.sheaf.allocator;

import dev.sheaf.allocator.memory.FreePointer;

import java.util.IdentityHashMap;
import java.util.List;

import static dev.sheaf.allocator.SlabCorruptionException.Damage;

/*
 * Implementation notes.
 *
 * SlabAllocator.validate() (the kernel's slabinfo -v / validate_slab_cache), per cache:
 *
 *   1. a report debug mode kept where it could not throw (grace-period engine, drains, bulk);
 *   2. every slab of the cache (found in PageSource's owner table), under the node lock: its
 *      free list is followed link by link (each link must decode to a FREE object start of the
 *      same slab's carved part, at most `carved` of them), and inuse + listed == carved;
 *   3. debug caches: every tracked object (AllocTracking), whatever holds it (a user, a sheaf of
 *      any magazine, the barn, the quarantine, a slab, a grace period): red zones, and poison of
 *      a freed one, read as a seqlock reader (DebugChecks.check);
 *   4. debug mode's large allocations: a report kept by freeNoLock or the engine, then the tail
 *      red zone of every span not yet released, read the same way (SpanDebug.check).
 *
 * Concurrency: step 2 holds each node lock only for one slab, so allocation goes on; step 3 takes
 * no lock and skips (and counts) an object whose record changes while it is read or is being
 * handed out or freed at that moment, so an object in flight is never reported. What a running
 * validate() can miss: damage done to an object skipped that way, damage done after its record
 * was read, and slabs created after the owner table was read.
 *
 * Map: validate (caches, then spans); slab walk.
 */
/** The walk behind SlabAllocator.validate(). */
final class HeapValidator {

    private HeapValidator() { }

    /** Validates every cache; throws the first damage found; returns the objects skipped as in flight. */
    static long validate(PageSource pages, List<SlabCache> caches, SpanDebug spans) {
        long[] skipped = new long[1];
        IdentityHashMap<Slab, Boolean> seen = new IdentityHashMap<>();
        for (SlabCache c : caches) {
            DebugChecks d = c.debug;
            if (d != null) {
                SlabCorruptionException kept = d.takeKept();
                if (kept != null) {
                    throw kept;
                }
            }
            for (Slab s : pages.owners) {
                if (s != null && s.cache == c && seen.put(s, Boolean.TRUE) == null) {
                    checkSlab(pages, c, s);
                }
            }
            if (d != null) {
                for (AllocTracking.ObjectRecord r : d.tracking.all()) {
                    Slab s = pages.ownerOf(r.address);
                    if (s == null || s.cache != c || !c.isObjectStart(r.address, s)) {
                        continue; // its slab was released: the record outlived it (AllocTracking notes)
                    }
                    SlabCorruptionException e = d.check(r, x -> pages.ownerOf(x) == s, skipped);
                    if (e != null) {
                        throw e;
                    }
                }
            }
        }
        if (spans != null) {
            SlabCorruptionException kept = spans.takeKept();
            if (kept != null) {
                throw kept;
            }
            for (AllocTracking.ObjectRecord r : spans.tracking.all()) {
                Slab s = pages.ownerOf(r.address);
                if (s == null || !s.isLargeSpan() || !LargeSpans.isSpanStart(r.address, s)) {
                    continue; // released meanwhile
                }
                SlabCorruptionException e = spans.check(r, s, pages, skipped);
                if (e != null) {
                    throw e;
                }
            }
        }
        return skipped[0];
    }

    /** One slab's free list and counts, under its cache's node lock. */
    private static void checkSlab(PageSource pages, SlabCache c, Slab s) {
        SlabNode node = c.node;
        node.lock.lock();
        try {
            if (pages.ownerOf(s.base) != s) {
                return; // released meanwhile
            }
            long listed = 0;
            long x = s.freeHead;
            while (x != 0) {
                if (!c.isObjectStart(x, s) || ObjectStates.get(pages.stateBias, x) != ObjectStates.FREE
                        || ++listed > s.carved) {
                    throw DebugReports.report(c.name(), x, Damage.FREE_LINK, c.linkOffset(), String.format(
                            "free-list entry %d of slab 0x%x is not a free object of that slab (%s)", listed, s.base,
                            c.isObjectStart(x, s) ? ObjectStates.name(ObjectStates.get(pages.stateBias, x))
                                    : "not an object start"), c.debug == null ? null : c.debug.tracking.find(x));
                }
                long next = FreePointer.load(x + c.linkOffset(), pages.linkKey);
                if (next != 0 && !c.isObjectStart(next, s)) {
                    throw DebugReports.report(c.name(), x, Damage.FREE_LINK, c.linkOffset(), String.format(
                            "the free-list link of free object 0x%x in slab 0x%x decodes to 0x%x, not an object"
                                    + " of that slab (written after free?)", x, s.base, next),
                            c.debug == null ? null : c.debug.tracking.find(x));
                }
                x = next;
            }
            if (s.inuse + listed != s.carved) {
                throw DebugReports.report(c.name(), s.base, Damage.COUNTS, 0, String.format(
                        "slab 0x%x: %d in use + %d on the free list != %d carved", s.base, s.inuse, listed,
                        s.carved), null);
            }
        } finally {
            node.lock.unlock();
        }
    }
}
