package dev.sheaf.allocator;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import dev.sheaf.allocator.memory.FreePointer;
import dev.sheaf.allocator.memory.NativeMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import static dev.sheaf.allocator.CacheCounters.C_DEFERRED;
import static dev.sheaf.allocator.CacheCounters.C_DIRECT;
import static dev.sheaf.allocator.CacheCounters.C_FLUSH;

/*
 * Implementation notes.
 *
 * The slab layer of one cache: the kernel's kmem_cache_node. It owns the partial list, the node
 * lock, slab growth and release, and the deferred no-lock frees it drains.
 *
 * Partial list: slabs with at least one free object, doubly linked through Slab.prev/next.
 * Slabs with objects in use sit at the head (a freed object's slab moves to the head when it
 * leaves the full state), empty slabs at the tail; allocation takes from the head, so objects
 * are packed into few slabs and empty ones stay empty. Full slabs are on no list: they are
 * found again from an object's address (PageSource.ownerOf). Up to MIN_EMPTY_SLABS empty slabs
 * are kept; the next one that empties is released (to PageSource, or with TYPESAFE_BY_RCU after
 * a grace period through the allocator).
 *
 * Home slabs (RemoteFrees): a magazine's refill takes from its home slab, claimed from the
 * head of the partial list when it has none. An owned slab is on no list (like a full one), is
 * never released while owned, and gets its freed objects on its free list for its owner; it
 * becomes homeless when the owner takes its last free object (full) or hands it back (disown:
 * onto the list, or released when empty beyond the bound). Direct allocs (takeOne) and refills
 * without a magazine take only listed, unowned slabs.
 *
 * Invariants (node lock held): `nrPartial` counts the list, `nrEmpty` the slabs on it with
 * inuse == 0, `nrSlabs` every slab of the cache, `outOfSlabs` the objects taken out of slabs
 * (in sheaves, on deferred lists, in rcu sheaves, or with users). Every mutable field of a Slab
 * of this cache is guarded by `lock`.
 *
 * Slots: object i of a slab starts at base + objectOffset + i * slotSize (objectOffset is a debug
 * cache's left red zone, else 0); a released slab drops debug mode's records of its slots, and a
 * slot carved anew drops a stale one that escaped that.
 *
 * Object states (ObjectStates): objects leave a slab CACHED and come back only CACHED, then FREE.
 * A slab free-list link is validated before it becomes the head (an object start of the slab's
 * carved part, FREE); a bad one is reported and the list is rebuilt from the state map. An object
 * going back that is not a cached object of this cache is reported and skipped.
 *
 * No-lock mode (kmalloc_nolock): the lock only by tryLock; growth only by PageSource.tryAcquire
 * (no system call); an emptied slab stays on the list (releasing may madvise). A no-lock free that
 * finds a lock busy goes onto a deferred list (DeferredFreeList, linked through the object's own
 * link field; `deferredHooks` when its free hooks could not run yet), drained by the ordinary
 * slow paths (takeObjects, direct alloc, SlabCache.flushAll, close). A drained list's links are
 * validated before they are followed; the walk stops at a bad one.
 *
 * TYPESAFE_BY_RCU: a slab that becomes empty beyond the retention bound is handed to the RCU
 * domain's call() (SlabAllocator.releaseAfterGracePeriod) and returned to PageSource after a
 * grace period; the memory of its objects stays type-stable until then.
 *
 * Lock order: see SlabCache's notes. PageSource's lock is taken under the node lock only by
 * tryLock; ordinary growth and release call PageSource with the node lock released.
 *
 * Map: fields; chooseSlabBlocks (slab size); takeOne (direct alloc); takeObjects (refill),
 * popHome and disown (home slabs); growth; takeFromSlab and the free list's validation;
 * popPartials; freeToSlabs, flushSheaf, pushToSlab (frees); release; the partial list; deferred no-lock frees; shrink, destroy, counts.
 */
/** The slab layer of one cache (kmem_cache_node): partial list, node lock, growth and release. */
final class SlabNode {

    /** Empty slabs kept for reuse; the next one that empties is released. */
    private static final int MIN_EMPTY_SLABS = 2;
    private static final byte POISON_FREE = 0x6b;

    private final SlabCache cache;
    private final PageSource pages;
    private final CacheCounters counters;
    private final long objectSize;
    private final long slotSize;
    /** Where an object starts in its slot (SlabCache.objectOffset: a debug cache's left red zone). */
    private final long objectOffset;
    private final int objectsPerSlab;
    private final int slabBlocks;
    private final long slabBytes;
    private final long linkOffset;
    private final long linkKey;
    private final long stateBias;
    private final boolean poison;
    private final boolean typesafe;

    /** The node lock (package-private for tests that hold it to force the no-lock fallbacks). */
    final ReentrantLock lock = new ReentrantLock();
    @GuardedBy("lock")
    private Slab partialHead;
    @GuardedBy("lock")
    private Slab partialTail;
    @GuardedBy("lock")
    private int nrPartial;
    @GuardedBy("lock")
    private int nrEmpty;
    @GuardedBy("lock")
    private long nrSlabs;
    /** Objects taken out of slabs (in sheaves, deferred lists, rcu sheaves, or with users). */
    @GuardedBy("lock")
    private long outOfSlabs;

    /** No-lock frees whose hooks ran (or that have none). */
    private final DeferredFreeList deferred;
    /** No-lock frees whose free hooks could not run without waiting: they run at the drain. */
    private final DeferredFreeList deferredHooks;

    SlabNode(SlabCache cache, PageSource pages, CacheCounters counters, boolean typesafe, boolean poison) {
        this.cache = cache;
        this.pages = pages;
        this.counters = counters;
        this.objectSize = cache.objectSize();
        this.slotSize = cache.slotSize();
        this.objectOffset = cache.objectOffset;
        this.objectsPerSlab = cache.objectsPerSlab();
        this.slabBytes = cache.slabBytes();
        this.slabBlocks = (int) (slabBytes >>> PageSource.BLOCK_SHIFT);
        this.linkOffset = cache.linkOffset();
        this.linkKey = pages.linkKey;
        this.stateBias = pages.stateBias;
        this.poison = poison;
        this.typesafe = typesafe;
        this.deferred = new DeferredFreeList(linkOffset, linkKey);
        this.deferredHooks = new DeferredFreeList(linkOffset, linkKey);
    }

    /**
     * Slab size in 64 KiB blocks (1..16): the smallest whose tail waste is at most 1/32 of the
     * slab with at least 8 objects, else the one with the least waste fraction.
     */
    static int chooseSlabBlocks(long slot) {
        int best = 16;
        double bestWaste = 2;
        for (int blocks = 1; blocks <= 16; blocks <<= 1) {
            long bytes = (long) blocks << PageSource.BLOCK_SHIFT;
            long n = bytes / slot;
            if (n == 0) {
                continue;
            }
            double waste = (double) (bytes - n * slot) / bytes;
            if (n >= 8 && waste <= 1.0 / 32) {
                return blocks;
            }
            if (waste < bestWaste - 1e-9) {
                bestWaste = waste;
                best = blocks;
            }
        }
        return best;
    }

    // ---------------------------------------------------------------------------------------
    // Taking objects out

    /** One object straight from the slabs (no magazine available). 0 = nothing available. */
    long takeOne(boolean noLock) {
        counters.add(C_DIRECT);
        if (noLock) {
            if (!lock.tryLock()) {
                return 0;
            }
            try {
                if (partialHead == null) {
                    long address = pages.tryAcquire(slabBlocks, slabBytes);
                    if (address == 0) {
                        return 0;
                    }
                    addNewSlabLocked(address, true);
                }
                return popOne();
            } finally {
                lock.unlock();
            }
        }
        drainDeferred();
        lock.lock();
        try {
            if (partialHead != null) {
                return popOne();
            }
        } finally {
            lock.unlock();
        }
        cache.magazines.reclaimDead();
        long address = pages.acquire(slabBlocks, slabBytes);
        if (address == 0) {
            cache.allocator.shrinkForRetry();
            address = pages.acquire(slabBlocks, slabBytes);
        }
        lock.lock();
        try {
            if (address != 0) {
                addNewSlabLocked(address, false);
            }
            return partialHead != null ? popOne() : 0;
        } finally {
            lock.unlock();
        }
    }

    /** Node lock held, partial list not empty. */
    @GuardedBy("lock")
    private long popOne() {
        Slab s = partialHead;
        if (s.inuse == 0) {
            nrEmpty--;
        }
        long a = takeFromSlab(s);
        s.inuse++;
        if (s.inuse == objectsPerSlab) {
            removePartial(s);
        }
        outOfSlabs++;
        return a;
    }

    /**
     * Moves up to {@code want} objects from slabs into {@code dst[off..)}; grows the cache by a
     * slab when no partial slab is left. Returns the number taken (0 = capacity exhausted, or
     * in noLock mode a busy lock).
     */
    int takeObjects(long[] dst, int off, int want, boolean noLock) {
        return takeObjects(null, dst, off, want, noLock);
    }

    /**
     * takeObjects for magazine {@code home} (owned by the caller), or for no magazine (null):
     * a magazine's refill takes from its home slab, claiming one first if it has none (popHome).
     */
    int takeObjects(Magazine home, long[] dst, int off, int want, boolean noLock) {
        if (noLock) {
            if (!lock.tryLock()) {
                return 0;
            }
            try {
                int got = pop(home, dst, off, want);
                if (got > 0) {
                    return got;
                }
                // Growth without waiting: PageSource by tryLock, no system call.
                long address = pages.tryAcquire(slabBlocks, slabBytes);
                if (address == 0) {
                    return 0;
                }
                addNewSlabLocked(address, true);
                return pop(home, dst, off, want);
            } finally {
                lock.unlock();
            }
        }
        drainDeferred();
        int got;
        lock.lock();
        try {
            got = pop(home, dst, off, want);
        } finally {
            lock.unlock();
        }
        if (got > 0) {
            return got;
        }
        // Before growing, take back what dead threads cached.
        if (cache.magazines.reclaimDead() > 0) {
            lock.lock();
            try {
                got = pop(home, dst, off, want);
            } finally {
                lock.unlock();
            }
            if (got > 0) {
                return got;
            }
        }
        long address = pages.acquire(slabBlocks, slabBytes);
        if (address == 0) {
            // Capacity exhausted: give back what other caches retain and retry once.
            cache.allocator.shrinkForRetry();
            address = pages.acquire(slabBlocks, slabBytes);
            if (address == 0) {
                return 0;
            }
        }
        lock.lock();
        try {
            addNewSlabLocked(address, false);
            return pop(home, dst, off, want);
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private int pop(Magazine home, long[] dst, int off, int want) {
        return home == null ? popPartials(dst, off, want) : popHome(home, dst, off, want);
    }

    /**
     * Node lock held; the caller owns {@code m}. Takes up to {@code want} objects from m's home
     * slab, claiming the partial list's head when m has none; a slab m empties of free objects
     * becomes homeless (full: on no list) and the next one is claimed. Slab.home and the slab's
     * PageSource.homeIds change together.
     */
    @GuardedBy("lock")
    private int popHome(Magazine m, long[] dst, int off, int want) {
        int got = 0;
        while (got < want) {
            Slab s = m.homeSlab;
            if (s == null) {
                s = partialHead;
                if (s == null) {
                    break;
                }
                removePartial(s);
                if (s.inuse == 0) {
                    nrEmpty--;
                }
                s.home = m;
                m.homeSlab = s;
                pages.setHome(s, m.homeId);
            }
            while (got < want && s.inuse < objectsPerSlab) {
                dst[off + got++] = takeFromSlab(s);
                s.inuse++;
            }
            if (s.inuse == objectsPerSlab) {
                s.home = null;
                m.homeSlab = null;
                pages.setHome(s, 0);
            }
        }
        outOfSlabs += got;
        return got;
    }

    /**
     * Hands m's home slab back (the magazine's use ends, or it flushes): onto the partial list,
     * or released when it is empty and enough empty slabs are kept. The caller owns {@code m}
     * (or its owner is dead).
     */
    void disown(Magazine m) {
        Slab release = null;
        lock.lock();
        try {
            Slab s = m.homeSlab;
            if (s != null) {
                m.homeSlab = null;
                s.home = null;
                pages.setHome(s, 0);
                if (s.inuse > 0) {
                    addPartialHead(s);
                } else if (nrEmpty >= MIN_EMPTY_SLABS && cache.state() == SlabCache.LIVE) {
                    nrSlabs--;
                    release = s;
                } else {
                    nrEmpty++;
                    addPartialTail(s);
                }
            }
        } finally {
            lock.unlock();
        }
        if (release != null) {
            releaseSlab(release);
        }
    }

    /** Node lock held. A new slab at {@code address} joins the tail of the partial list. */
    @GuardedBy("lock")
    private void addNewSlabLocked(long address, boolean noLock) {
        if (!noLock) {
            SlabEvents.grow(cache.name(), slabBytes); // a JFR commit may flush buffers: not on the no-lock path
        }
        Slab s = new Slab(address, slabBlocks, cache, slabBytes);
        pages.publish(s);
        nrSlabs++;
        nrEmpty++;
        addPartialTail(s);
    }

    /**
     * Node lock held, slab not full. Takes one object out of {@code s} (the free list's head, else
     * the next uncarved slot) and marks it cached. The free list's next link is validated before
     * it becomes the head (see the notes); a bad one is reported and the list rebuilt.
     */
    private long takeFromSlab(Slab s) {
        long a = s.freeHead;
        if (a == 0) {
            a = s.base + objectOffset + s.carved * slotSize;
            s.carved++;
            if (cache.debug != null) {
                cache.debug.tracking.forget(a); // a fresh slot: a record from a released slab is stale
            }
            ObjectStates.set(stateBias, a, ObjectStates.CACHED);
            return a;
        }
        // Cached before the link is read, so a link back to this object fails validation.
        ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        long next = FreePointer.load(a + linkOffset, linkKey);
        if (next != 0 && !isFreeInSlab(s, next)) {
            reportCorruption(String.format("the free-list link of free object 0x%x in slab 0x%x is corrupt"
                    + " (decodes to 0x%x; the object was written after it was freed); free list rebuilt",
                    a, s.base, next));
            if (cache.debug != null) { // kept for validate(): this slow path is in the middle of a refill
                cache.debug.keep(DebugReports.report(cache.name(), a, SlabCorruptionException.Damage.FREE_LINK,
                        linkOffset, String.format("the link decodes to 0x%x; the free list was rebuilt", next),
                        cache.debug.tracking.find(a)));
            }
            next = rebuildFreeList(s);
        }
        s.freeHead = next;
        return a;
    }

    /**
     * Reports damage found in this node's links or objects, while the cache is live. After
     * destroy() or close() its slabs' memory is released or madvised and reads zeros (PageSource),
     * so a late call racing them meets links that decode to nothing: that is not damage, the call
     * goes on without the link and ends in IllegalStateException at its next lifecycle check.
     */
    private void reportCorruption(String what) {
        if (cache.state() == SlabCache.LIVE) {
            counters.reportCorruption(what);
        }
    }

    /** Whether {@code x} is a free object start of {@code s}. */
    private boolean isFreeInSlab(Slab s, long x) {
        return cache.isObjectStart(x, s) && ObjectStates.get(stateBias, x) == ObjectStates.FREE;
    }

    /** Node lock held. Relinks every free object of the carved part of {@code s}; the new head. */
    private long rebuildFreeList(Slab s) {
        long head = 0;
        for (int i = s.carved - 1; i >= 0; i--) {
            long x = s.base + objectOffset + i * slotSize;
            if (ObjectStates.get(stateBias, x) == ObjectStates.FREE) {
                FreePointer.store(x + linkOffset, head, linkKey);
                head = x;
            }
        }
        return head;
    }

    /** Node lock held. Takes up to {@code want} objects from the head of the partial list. */
    @GuardedBy("lock")
    private int popPartials(long[] dst, int off, int want) {
        int got = 0;
        while (got < want) {
            Slab s = partialHead;
            if (s == null) {
                break;
            }
            if (s.inuse == 0) {
                nrEmpty--;
            }
            while (got < want && s.inuse < objectsPerSlab) {
                dst[off + got++] = takeFromSlab(s);
                s.inuse++;
            }
            if (s.inuse == objectsPerSlab) {
                removePartial(s);
            } else if (s.inuse > 0 && got == want) {
                break;
            }
        }
        outOfSlabs += got;
        return got;
    }

    // ---------------------------------------------------------------------------------------
    // Putting objects back

    /** Frees one cached object to its slab. False only in noLock mode when the node lock is busy. */
    boolean freeToSlabs(long a, boolean noLock) {
        Slab release;
        if (noLock) {
            if (!lock.tryLock()) {
                return false;
            }
        } else {
            lock.lock();
        }
        try {
            release = pushToSlab(a, !noLock);
        } finally {
            lock.unlock();
        }
        if (release != null) {
            releaseSlab(release);
        }
        return true;
    }

    /**
     * Returns a sheaf's objects to their slabs in one critical section. An object that is not
     * cached (corruption) is reported and skipped; the rest are still flushed. False only in
     * noLock mode when the node lock is busy.
     */
    boolean flushSheaf(Sheaf sheaf, boolean noLock) {
        return flushSheaf(sheaf, noLock, !noLock);
    }

    /**
     * flushSheaf that keeps the slabs it empties ({@code mayRelease} false) on the partial list
     * until shrink: for objects coming back from a grace period (RcuSheaves.ready), whose number
     * the caller allocated a grace period ago and is about to allocate again. Releasing them
     * would make the next allocations grow the cache again (a new Slab each time).
     */
    boolean flushSheaf(Sheaf sheaf, boolean noLock, boolean mayRelease) {
        if (noLock) {
            if (!lock.tryLock()) {
                return false;
            }
        } else {
            lock.lock();
        }
        counters.add(C_FLUSH);
        List<Slab> releases = null;
        try {
            for (int i = 0; i < sheaf.size; i++) {
                Slab r = pushToSlab(sheaf.objects[i], mayRelease && !noLock);
                if (r != null) {
                    if (releases == null) {
                        releases = new ArrayList<>(2);
                    }
                    releases.add(r);
                }
            }
            sheaf.size = 0;
        } finally {
            lock.unlock();
        }
        if (releases != null) {
            for (Slab r : releases) {
                releaseSlab(r);
            }
        }
        return true;
    }

    /**
     * Node lock held. Returns a slab that should leave the cache, or null. The no-lock path
     * passes {@code mayRelease = false}: releasing may make a system call, so the empty slab
     * stays on the partial list until an ordinary operation shrinks the cache.
     */
    @GuardedBy("lock")
    private Slab pushToSlab(long a, boolean mayRelease) {
        Slab s = pages.ownerOf(a);
        if (s == null || s.cache != cache || s.inuse == 0 || ObjectStates.get(stateBias, a) != ObjectStates.CACHED) {
            reportCorruption(String.format("object 0x%x going back to its slab is not a cached object of"
                    + " this cache (%s); skipped", a, s == null || s.cache != cache ? "no slab of this cache"
                    : s.inuse == 0 ? "its slab is all free" : ObjectStates.name(ObjectStates.get(stateBias, a))));
            return null;
        }
        if (poison) {
            NativeMemory.EVERYTHING.asSlice(a, objectSize).fill(POISON_FREE);
        }
        FreePointer.store(a + linkOffset, s.freeHead, linkKey);
        ObjectStates.set(stateBias, a, ObjectStates.FREE);
        s.freeHead = a;
        int before = s.inuse;
        s.inuse = before - 1;
        outOfSlabs--;
        if (s.home != null) {
            return null; // an owned slab (never full) keeps its free objects, on no list, for its owner
        }
        if (before == objectsPerSlab) {
            addPartialHead(s);
        }
        if (s.inuse == 0) {
            // Empty slabs live at the tail; keep a few, give the rest back.
            removePartial(s);
            if (mayRelease && nrEmpty >= MIN_EMPTY_SLABS && cache.state() == SlabCache.LIVE) {
                nrSlabs--;
                return s;
            }
            nrEmpty++;
            addPartialTail(s);
        }
        return null;
    }

    /** A slab that left the cache goes back to PageSource (after a grace period if TYPESAFE_BY_RCU). */
    private void releaseSlab(Slab s) {
        if (cache.debug != null) {
            // Out of the cache with no object in use: its records go, so the table stays bounded.
            cache.debug.tracking.forgetSlab(s.base + objectOffset, slotSize, s.carved);
        }
        if (typesafe) {
            cache.allocator.releaseAfterGracePeriod(s);
        } else {
            pages.release(s, slabBytes, true);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Partial list (node lock held)

    @GuardedBy("lock")
    private void addPartialHead(Slab s) {
        s.onPartial = true;
        s.prev = null;
        s.next = partialHead;
        if (partialHead != null) {
            partialHead.prev = s;
        } else {
            partialTail = s;
        }
        partialHead = s;
        nrPartial++;
    }

    @GuardedBy("lock")
    private void addPartialTail(Slab s) {
        s.onPartial = true;
        s.next = null;
        s.prev = partialTail;
        if (partialTail != null) {
            partialTail.next = s;
        } else {
            partialHead = s;
        }
        partialTail = s;
        nrPartial++;
    }

    @GuardedBy("lock")
    private void removePartial(Slab s) {
        if (!s.onPartial) {
            return;
        }
        if (s.prev != null) {
            s.prev.next = s.next;
        } else {
            partialHead = s.next;
        }
        if (s.next != null) {
            s.next.prev = s.prev;
        } else {
            partialTail = s.prev;
        }
        s.prev = s.next = null;
        s.onPartial = false;
        nrPartial--;
    }

    // ---------------------------------------------------------------------------------------
    // Deferred no-lock frees

    /**
     * Defers a cached object whose no-lock free could not proceed; {@code hooksDue} when its free
     * hooks could not run yet (they run at the drain).
     */
    void defer(long a, boolean hooksDue) {
        counters.add(C_DEFERRED);
        (hooksDue ? deferredHooks : deferred).push(a);
    }

    /** Frees every deferred no-lock free; returns the number freed. */
    long drainDeferred() {
        return drainDeferred(deferredHooks, true) + drainDeferred(deferred, false);
    }

    /**
     * Frees one deferred list. Each next link is validated before it is followed (an object start
     * of this cache, cached); since a freed node becomes free, a cycle ends at its first repeat.
     */
    private long drainDeferred(DeferredFreeList list, boolean runHooks) {
        if (list.isEmpty()) {
            return 0;
        }
        long a = list.drainAll();
        long c = 0;
        while (a != 0) {
            long next = list.next(a);
            if (next != 0 && !isCachedObject(next)) {
                reportCorruption(String.format("the deferred-free link of object 0x%x is corrupt"
                        + " (decodes to 0x%x); the objects behind it are not freed", a, next));
                next = 0;
            }
            if (runHooks) {
                cache.runFreeHooks(a);
            }
            freeToSlabs(a, false);
            a = next;
            c++;
        }
        list.consumed(c);
        return c;
    }

    /** Whether {@code x} is a cached object start of this cache (lock-free; reads no object memory). */
    private boolean isCachedObject(long x) {
        Slab s = pages.ownerOf(x);
        return s != null && s.cache == cache && cache.isObjectStart(x, s)
                && ObjectStates.get(stateBias, x) == ObjectStates.CACHED;
    }

    /** Objects on the deferred no-lock lists (lock-free read). */
    long deferredCount() {
        return deferred.count() + deferredHooks.count();
    }

    // ---------------------------------------------------------------------------------------
    // Shrink, destroy, counts

    /** Releases the empty slabs kept for reuse (shrink). */
    void releaseEmptySlabs() {
        List<Slab> out = new ArrayList<>();
        lock.lock();
        try {
            Slab s = partialTail;
            while (s != null && s.inuse == 0) {
                Slab prev = s.prev;
                removePartial(s);
                nrEmpty--;
                nrSlabs--;
                out.add(s);
                s = prev;
            }
        } finally {
            lock.unlock();
        }
        for (Slab s : out) {
            releaseSlab(s);
        }
    }

    /** Releases every slab (destroy, after every object came back: all slabs are on the list). */
    void releaseAllSlabs() {
        List<Slab> out = new ArrayList<>();
        lock.lock();
        try {
            for (Slab s = partialHead; s != null; ) {
                Slab next = s.next;
                removePartial(s);
                out.add(s);
                s = next;
            }
            nrEmpty = 0;
            nrSlabs = 0;
        } finally {
            lock.unlock();
        }
        for (Slab s : out) {
            releaseSlab(s);
        }
    }

    /** Objects out of slabs, read under the node lock. */
    long outOfSlabs() {
        lock.lock();
        try {
            return outOfSlabs;
        } finally {
            lock.unlock();
        }
    }

    /** {slabs, partial slabs, objects out of slabs}, read together under the node lock. */
    long[] counts() {
        lock.lock();
        try {
            return new long[] {nrSlabs, nrPartial, outOfSlabs};
        } finally {
            lock.unlock();
        }
    }
}
