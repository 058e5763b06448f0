package dev.sheaf.allocator;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicReference;

import static dev.sheaf.allocator.SlabCorruptionException.Damage;

/*
 * Implementation notes.
 *
 * Debug mode of large allocations (LargeSpans: page spans above the largest size class), on when
 * the allocator is in debug mode (SlabAllocator.Builder.debug). A span starts at the base of its
 * first 64 KiB block: that start is what gives allocate() its alignment up to 65536 and free()
 * its one-load lookup (LargeSpans.isSpanStart), so there is no room for a red zone before the
 * object. Only the tail is red-zoned (the kernel's kmalloc red zone):
 *
 *     [object: the requested bytes][red zone: to the end of the span's touched pages]
 *
 * A debug span asks PageSource for requested + RedZones.MIN_RIGHT bytes, so the zone is at least
 * that long even when the request is a page multiple; usableSize(p) is the request. The zone is
 * painted when the span is handed out and checked when it is freed (free, freeNoLock, the release
 * after a grace period) and by validate().
 *
 * No poison: PageSource madvises a span's pages the moment it is released, so a freed span holds
 * no data to poison and a write after free lands in a zero page that no other object shares until
 * its blocks are acquired again. A use after free is caught through segment(p) instead, whose
 * scope closes when the span is freed (DebugChecks.scopedSegment, as for slab objects).
 *
 * Records: one AllocTracking record per span with its user or pending a grace period, with the
 * seq protocol of slab objects (AllocTracking notes); it is dropped when the span's pages are
 * released, so the table holds only spans not yet released. A report found where nothing may
 * throw (freeNoLock, the grace-period engine) is logged at once by DebugReports and kept for
 * validate(), as for caches.
 *
 * Map: fields; handOut; release; requestedSize; segment; validate support.
 */
/** The debug checks of an allocator's large allocations (page spans): tail red zones, tracking, segments. */
final class SpanDebug {

    /** The name reports give for large allocations, which have no cache (the kernel's kmalloc_large). */
    static final String NAME = "kmalloc-large";

    final AllocTracking tracking;
    /** The first report that could not be thrown where it was found; validate() throws it. */
    private final AtomicReference<SlabCorruptionException> kept = new AtomicReference<>();

    /** Checks whose traces keep at most {@code stackDepth} frames. */
    SpanDebug(int stackDepth) {
        this.tracking = new AllocTracking(stackDepth);
    }

    /** The bytes a debug span of {@code requested} bytes asks for: the least tail red zone added. */
    static long spanRequest(long requested) {
        return requested + RedZones.MIN_RIGHT;
    }

    /** The span at {@code a} of {@code spanBytes} touched bytes goes to its user with {@code requested} bytes. */
    void handOut(long a, long requested, long spanBytes) {
        AllocTracking.ObjectRecord r = tracking.recordOf(a);
        r.beginChange();
        r.requested = requested;
        r.alloc = tracking.trace(AllocTracking.ALLOCATED);
        RedZones.paint(a, requested, 0, spanBytes);
        r.endChange(true);
    }

    /**
     * The span at {@code a} leaves its user: tail checked, segment closed, free traced. Returns a
     * report of tail damage (the free goes on; the pages are released right after), else null.
     */
    SlabCorruptionException release(long a, long spanBytes) {
        AllocTracking.ObjectRecord r = tracking.find(a);
        if (r == null) {
            return null; // handed out before debug mode could see it: nothing to check
        }
        long requested = r.requested;
        long bad = RedZones.firstBad(a, requested, 0, spanBytes);
        r.beginChange();
        DebugChecks.closeSegment(r);
        r.free = tracking.trace(AllocTracking.FREED);
        SlabCorruptionException damage = null;
        if (bad != Long.MIN_VALUE) {
            damage = DebugReports.report(NAME, a, Damage.OVERFLOW, bad, String.format(
                    "%d usable bytes, span of %d bytes; found on free", requested, spanBytes), r);
        }
        r.endChange(false);
        return damage;
    }

    /** As release, where nothing may throw (freeNoLock, the engine): a report is logged and kept. */
    void releaseQuietly(long a, long spanBytes) {
        SlabCorruptionException e = release(a, spanBytes);
        if (e != null) {
            kept.compareAndSet(null, e);
        }
    }

    /** Drops the record of a span whose pages are being released. */
    void forget(long a) {
        tracking.forget(a);
    }

    /** Takes the kept report, or null. */
    SlabCorruptionException takeKept() {
        return kept.getAndSet(null);
    }

    /** The requested size of the allocated span at {@code a}, or {@code spanBytes} if it has no record. */
    long requestedSize(long a, long spanBytes) {
        AllocTracking.ObjectRecord r = tracking.find(a);
        return r == null ? spanBytes : r.requested;
    }

    /** A segment over the allocated span {@code a} whose scope closes when it is freed. */
    MemorySegment segment(long a) {
        return DebugChecks.scopedSegment(tracking.recordOf(a), a);
    }

    /** Closes every open segment scope (the allocator is closing). */
    void closeAllSegments() {
        DebugChecks.closeAllSegments(tracking);
    }

    /**
     * validate(): the tail of span {@code s} (record {@code r}) as a seqlock reader. A span being
     * handed out or freed while it is read, or released meanwhile, is skipped ({@code skipped[0]++}).
     */
    SlabCorruptionException check(AllocTracking.ObjectRecord r, Slab s, PageSource pages, long[] skipped) {
        long s1 = r.seq();
        if (!AllocTracking.ObjectRecord.stable(s1)) {
            skipped[0]++;
            return null;
        }
        if (!AllocTracking.ObjectRecord.withUser(s1)) {
            return null; // freed: its pages are being released
        }
        long a = r.address;
        long requested = r.requested;
        long zone = RedZones.firstBad(a, requested, 0, s.bytes);
        VarHandle.loadLoadFence();
        if (r.seq() != s1 || pages.ownerOf(a) != s) {
            skipped[0]++;
            return null;
        }
        if (zone != Long.MIN_VALUE) {
            return DebugReports.report(NAME, a, Damage.OVERFLOW, zone, String.format(
                    "%d usable bytes, span of %d bytes; found by validate()", requested, s.bytes), r);
        }
        return null;
    }
}
