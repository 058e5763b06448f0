package dev.sheaf.allocator;

import dev.sheaf.allocator.rcufree.ChainLink;
import dev.sheaf.allocator.rcufree.RcuFreeTarget;
import dev.sheaf.allocator.rcufree.RcuSheaf;

/*
 * Implementation notes.
 *
 * The free-after-grace-period engine's view of a SlabAllocator: it claims objects (allocated ->
 * pending), asks whether one is pending, frees pending ones after their grace period, and drives
 * the caches' rcu sheaves (RcuSheaves). A separate class, so that these callbacks do not become
 * public methods of SlabAllocator. Address checks are AddressChecks' (slabOf, objectStart) and
 * the caches' and LargeSpans' state checks; nothing here decides them again.
 *
 * The drainer calls flushAgedRcuSheaves and openRcuSheafBytes allocation-free: they read the
 * allocator's cache array itself, not a copy. flushAgedRcuSheaves, the drainer's periodic pass,
 * also ticks every cache's sheaf sizing clock (SheafSizing.tick: the idle signal). No allocator
 * lock is held when the engine calls in.
 *
 * Map: claim, isPending, usableSize, freeNow (objects); rcu sheaf callbacks.
 */
/** The RcuFreeEngine's callbacks into a SlabAllocator. */
final class AllocatorRcuTarget implements RcuFreeTarget {

    private final SlabAllocator allocator;
    private final PageSource pages;
    private final LargeSpans spans;

    AllocatorRcuTarget(SlabAllocator allocator, PageSource pages, LargeSpans spans) {
        this.allocator = allocator;
        this.pages = pages;
        this.spans = spans;
    }

    @Override
    public long claim(long address, long linkOffset) {
        Slab s = AddressChecks.objectStart(allocator, pages, address);
        SlabCache c = s.cache;
        long size = c == null ? s.bytes : c.objectSize();
        if (linkOffset >= 0) {
            ChainLink.checkLinkField(address, linkOffset, size);
        }
        if (c == null) {
            LargeSpans.claimPending(address, s);
        } else {
            c.claimPending(address);
        }
        return size;
    }

    @Override
    public boolean isPending(long address, long linkOffset) {
        Slab s = allocator.pages().ownerOf(address);
        if (s == null || (address & (Long.BYTES - 1)) != 0 || !AddressChecks.isObjectStart(address, s)) {
            return false;
        }
        SlabCache c = s.cache;
        if (c == null ? !LargeSpans.isPending(s) : !c.isPending(address)) {
            return false;
        }
        long size = c == null ? s.bytes : c.objectSize();
        return linkOffset < 0 || ((linkOffset & (Long.BYTES - 1)) == 0 && linkOffset <= size - Long.BYTES);
    }

    @Override
    public long usableSize(long address) {
        Slab s = AddressChecks.slabOf(allocator, pages, address);
        return s.cache == null ? s.bytes : s.cache.objectSize();
    }

    @Override
    public void freeNow(long address) {
        Slab s = allocator.pages().ownerOf(address);
        if (s == null) {
            throw new IllegalStateException(String.format(
                    "pending object 0x%x lies in no slab or span of this allocator", address));
        }
        SlabCache c = s.cache;
        if (c != null) {
            c.releasePending(address);
        } else {
            spans.releasePending(address, s);
        }
    }

    @Override
    public void rcuSheafReady(Object cache, RcuSheaf sheaf) {
        ((SlabCache) cache).rcuSheaves.ready((Sheaf) sheaf);
    }

    @Override
    public void flushAgedRcuSheaves(long nowNanos, long maxAgeNanos) {
        for (SlabCache c : allocator.caches()) { // the array itself: this runs on the drainer, allocation-free
            c.sizing.tick(); // the same period is the sheaf sizing clock (SheafSizing)
            if (c.rcuSheaves.used()) {
                c.rcuSheaves.flushAged();
            }
        }
    }

    @Override
    public long openRcuSheafBytes() {
        long bytes = 0;
        for (SlabCache c : allocator.caches()) {
            if (c.rcuSheaves.used()) {
                bytes += c.rcuSheaves.openBytes();
            }
        }
        return bytes;
    }

    @Override
    public void flushRcuSheaves() {
        for (SlabCache c : allocator.caches()) {
            if (c.rcuSheaves.used()) {
                c.rcuSheaves.flushAll();
            }
        }
    }
}
