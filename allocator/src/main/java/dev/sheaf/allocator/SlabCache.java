package dev.sheaf.allocator;

import dev.sheaf.allocator.memory.FreePointer;
import dev.sheaf.allocator.memory.NativeMemory;
import dev.sheaf.allocator.rcufree.RcuFreeEngine;

import dev.sheaf.rcu.internal.PerThreadTable;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes.
 *
 * A cache of equal-sized objects (the kernel's kmem_cache with sheaves). Layers, fastest first:
 *
 *   magazine (per platform thread, or per carrier slot for virtual threads)
 *     main sheaf  - alloc pops, free pushes; a plain array access on the owner's thread
 *     spare sheaf - swapped with main when main runs empty/full
 *     rcu sheaf   - collects freeRcu() objects; a full one goes to the RcuFreeEngine engine, comes back
 *                   after a grace period and enters the barn as a full sheaf
 *   barn          - bounded stacks of full and empty sheaves, exchanged whole
 *   slabs         - partial list under the node lock; objects linked through in-object links
 *   PageSource    - new slabs, released slabs
 *
 * Alloc order (alloc_from_pcs): pop main; main empty -> swap with a non-empty spare -> barn:
 * give the empty main, take a full sheaf -> refill main in bulk from partial slabs -> grow by a
 * new slab. Free order (free_to_pcs): push main; main full -> swap with an empty spare -> take
 * an empty from the barn (or a new sheaf) if there is no spare -> barn: give the full main, take
 * an empty -> barn full list at its bound: flush main to slabs in one critical section.
 *
 * Platform threads find their magazine in a PerThreadTable (one array load, keyed by thread id)
 * and use it with plain accesses. The fast paths probe the table first (PerThreadTable.peek): a hit
 * can only be the calling platform thread's own magazine, so virtual threads, new threads and slot
 * collisions are sorted out only on a miss. The magazine holds main's array and count itself (see
 * Magazine), which saves a dependent load on a path made of little else.
 * The main/spare exchange is part of the inlined fast path (popMain/pushMain), not of the slow
 * path it is in the kernel. In a caller's loop, a call that the profile shows is ever taken makes
 * C2 keep the loop's values on the stack and reload every field it could otherwise have hoisted,
 * on every iteration: a rarely taken call to the slow path cost a burst of 100 objects about
 * 10 ns per object (AllocatorBenchmark.burst, 21-23 ns per object before, 7.7 after; bursts of
 * up to two sheaves now make no call at all). Bursts that reach the barn still make one.
 * `busy` makes a re-entrant call fall back to the slab layer. Virtual threads never get their
 * own magazine: they take the magazine out of a slot picked by the CPU they run on now
 * (sched_getcpu through a critical downcall; thread-id striping where that is unavailable) with
 * an atomic swap, use it, and give it back with a CAS to the slot of the CPU they are on at the
 * end (or any empty slot); a take-out that finds its own slot empty scans the other slots first
 * (a virtual thread may have migrated while holding this slot's magazine). Keying measured with
 * two virtual threads on two carriers, 45 M alloc/free pairs, on a loaded machine: before the
 * scan, CPU keying fell back to the slab layer for 1.3% of allocations and thread-id striping
 * for 8.9%; with the scan both fell back 0 times and timings were within noise, so CPU keying
 * (the kernel's) stays, thread-id striping is the fallback (-Dsheaf.carrierKey=thread).
 * At most `carrierSlots.length()` carrier magazines exist, so 100 000
 * virtual threads hold no more sheaves than there are CPUs; a virtual thread that finds its slot
 * empty and the bound reached goes to the slab layer directly. Magazines of platform threads
 * that died are found by a sweep of the registry when a new thread registers, before a cache
 * grows, and on shrink/destroy,
 * and their sheaves go back to the barn or slabs: nothing cached is lost.
 *
 * The no-lock path (allocNoLock/freeNoLock; kmalloc_nolock) uses the same layers but only
 * tryLocks, never creates a magazine or a sheaf, never makes a system call (PageSource's range
 * is mapped up front), and never waits for another thread. An alloc that cannot proceed returns
 * 0. A free that cannot proceed pushes the object onto a lock-free list linked through the
 * object's own link field (DeferredFreeList); ordinary slow paths (refill, flush, shrink,
 * destroy, stats) drain it.
 *
 * Every object has a state (ObjectStates: free, cached, allocated, pending) in a byte map found by
 * arithmetic on the address. Alloc entry points mark what they return allocated; free, freeNoLock,
 * freeRcu and usableSize accept only an allocated object, so a double free, a free of a cached or
 * pending object or of a slot never handed out is refused at the call, exactly for calls ordered
 * by happens-before. The slab layer marks what it hands to a sheaf cached and what comes back free,
 * and accepts back only a cached object. CHEAP_FREE_CHECKS drops the two fast-path stores (alloc's
 * allocated, free's cached): a user's object then stays cached, so a second free of an object still
 * in a sheaf is missed, while pending and slab-free objects are still refused (`withUser`).
 *
 * Links kept in free memory (the slab free list, the deferred lists) are hardened (FreePointer)
 * and validated before they are followed: inside the slab's carved prefix, an object start, in
 * the state the list requires. A bad slab free-list link is reported as corruption and the list
 * is rebuilt from the state map (every free object of the slab is found again); a bad
 * deferred-list link is reported and the walk stops there, never following it.
 *
 * Lock order and what each lock protects (the only nestings; tryLock may nest in any order since
 * it never waits):
 *
 *   agedLock     (rcu sheaves taken out of their slots until submitted: aged flush by tryLock,
 *                 barrier flush by lock; the aged flush's scratch array)
 *     -> registryLock, then, released, the engine's locks (submitting the sheaves it took)
 *   registryLock (writes of the copy-on-write magazine registry, carrier magazine count)
 *     -> released before any sheaf of a reclaimed magazine is flushed; nothing nests under it
 *   Barn.lock     (the barn's full/empty stacks)             leaf
 *   nodeLock      (partial list, every Slab's mutable fields, slab counts)
 *     -> PageSource.lock only by tryLock (no-lock growth); ordinary growth and slab release call
 *        PageSource after nodeLock is released
 *   PageSource.lock (block bitmap, retained runs, reserved byte count)  leaf
 *   hook locks (e.g. LeakTracker's)                            leaf, taken with no allocator lock held
 *   SlabAllocator.cachesLock (list of caches)                  -> registryLock/nodeLock/Barn.lock
 *
 * Lifecycle: `state` is written with volatile stores (destroy, close) and read plain by the public
 * entry points. Use after destroy()/close() is detected whenever it is ordered after them by the
 * caller's own synchronization; a call racing them on another thread may pass the check, exactly
 * as it could pass a volatile one a moment before the store. Such a late call never touches
 * unmapped memory: close() gives the pages back with madvise and the range stays mapped until
 * nothing can reach it (PageSource), so its writes land in zero pages, and the state map then
 * reads every object as free, so its frees are refused. Slow paths read `state` volatile, under
 * their locks.
 *
 * TYPESAFE_BY_RCU: a slab that becomes empty beyond the retention bound is handed to the RCU
 * domain's call() and returned to PageSource after a grace period; its objects are reusable at
 * once while it stays on the partial list.
 */
/**
 * A cache of objects of one size: the kernel's {@code kmem_cache}. Created by
 * {@link SlabAllocator#createCache}. Thread-safe; the fast paths allocate nothing and take no
 * lock.
 *
 * <p>Errors: {@link IllegalArgumentException} for an address this cache did not hand out
 * (outside the allocator, in free memory, another cache's object, not an object start);
 * {@link IllegalStateException} for a detected double free and for use after
 * {@link #destroy()} or after the allocator's {@code close()}. {@code free(0)} is a no-op.
 */
public final class SlabCache {

    /** Counters of one cache (slabinfo columns plus sheaf counters). Racy while in use. */
    public record Stats(String name, long objectSize, long slotSize, int objectsPerSlab, long slabBytes,
                        long slabs, long partialSlabs, long totalObjects, long activeObjects,
                        long cachedObjects, long deferredObjects, long rcuSheafObjects,
                        int sheafCapacity, int barnFull, int barnEmpty, int magazines,
                        long allocFastpath, long allocSlowpath, long freeFastpath, long freeSlowpath,
                        long sheafRefills, long sheafFlushes, long barnGet, long barnGetFail,
                        long barnPut, long barnPutFail, long sheafAlloc, long deferredFrees,
                        long noLockFailures, long rcuSheavesSubmitted, long directAllocs, long corruptions) { }

    private static final VarHandle STATE;
    private static final VarHandle RCU_USED;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(SlabCache.class, "state", int.class);
            RCU_USED = MethodHandles.lookup().findVarHandle(SlabCache.class, "rcuUsed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final int LIVE = 0;
    static final int DESTROYED = 1;
    static final int CLOSED = 2;

    // Indices of slow-path counters.
    private static final int C_ALLOC_SLOW = 0;
    private static final int C_FREE_SLOW = 1;
    private static final int C_REFILL = 2;
    private static final int C_FLUSH = 3;
    private static final int C_BARN_GET = 4;
    private static final int C_BARN_GET_FAIL = 5;
    private static final int C_BARN_PUT = 6;
    private static final int C_BARN_PUT_FAIL = 7;
    private static final int C_SHEAF_ALLOC = 8;
    private static final int C_DEFERRED = 9;
    private static final int C_NOLOCK_FAIL = 10;
    private static final int C_RCU_SHEAF = 11;
    private static final int C_DIRECT = 12;
    private static final int C_RETIRED_ALLOC_FAST = 13;
    private static final int C_RETIRED_FREE_FAST = 14;
    private static final int C_CORRUPT = 15;
    static final int COUNTERS = 16;

    private static final int MAX_BARN_SHEAVES = 10;
    private static final int MIN_EMPTY_SLABS = 2;
    private static final byte POISON_FREE = 0x6b;

    final SlabAllocator allocator;
    private final PageSource pages;
    private final String name;
    private final long objectSize;
    private final long slotSize;
    private final long alignment;
    private final long linkOffset;
    private final long rcuLinkOffset;
    /** ObjectStates bias of this heap (PageSource.stateBias), held here for the fast paths. */
    private final long stateBias;
    /** Key of this heap's hardened links (PageSource.linkKey). */
    private final long linkKey;
    private final Set<SlabFlag> flags;
    private final boolean typesafe;
    private final boolean poison;
    /** False with CHEAP_FREE_CHECKS: alloc and free skip their state stores (see withUser). */
    private final boolean exactStates;
    /**
     * The state of an object with a user: ALLOCATED, or with CHEAP_FREE_CHECKS CACHED (what the
     * slab layer wrote when it handed the object to a sheaf), so that nothing on the fast paths
     * needs to write it and a cached object passes as allocated.
     */
    private final byte withUser;
    private final boolean sheaves;
    private final int capacity;
    /** Objects a main sheaf may hold on the fast path: the capacity, or 0 for a cache without sheaves. */
    private final int fastCapacity;
    private final int objectsPerSlab;
    private final int slabBlocks;
    private final long slabBytes;
    /** ceil(2^40 / slotSize): object index = (offset * recip) >>> 40, exact for slabs <= 1 MiB. */
    private final long recip;
    final boolean kmalloc;

    private final SlabHook[] hooks;
    private final SlabHook[] noLockAllocHooks;
    private final boolean hasHooks;

    private final ReentrantLock nodeLock = new ReentrantLock();
    private Slab partialHead;
    private Slab partialTail;
    private int nrPartial;
    private int nrEmpty;
    private long nrSlabs;
    /** Objects taken out of slabs (in sheaves, deferred lists, rcu sheaves, or with users). */
    private long outOfSlabs;

    private final Barn barn;
    private final DeferredFreeList deferred;
    private final DeferredFreeList deferredHooks;

    private final PerThreadTable<Magazine> local = new PerThreadTable<>();
    private final AtomicReferenceArray<Magazine> carrierSlots;
    private final int carrierMask;
    private final ReentrantLock registryLock = new ReentrantLock();
    /** Every registered magazine; copy-on-write under registryLock, read without it. */
    private volatile Magazine[] magazines = new Magazine[0];
    private int carrierMagazines;

    private final AtomicLongArray counters = new AtomicLongArray(COUNTERS);
    /** Rcu sheaves submitted and not yet handed back by the engine. */
    private final AtomicInteger rcuInFlight = new AtomicInteger();
    /** Highest rcuInFlight seen (racy maximum: it only sizes the barn's allowance of empty sheaves). */
    private volatile int rcuPeakInFlight;
    private volatile boolean rcuUsed;
    private volatile int state;

    SlabCache(SlabAllocator allocator, PageSource pages, CacheSpec spec, boolean kmalloc,
              SlabHook[] hooks, int carrierSlotCount) {
        this.allocator = allocator;
        this.pages = pages;
        this.name = spec.name();
        this.objectSize = spec.objectSize();
        this.alignment = Math.max(8, spec.alignment());
        // At least one state granule, so every object start has its own state byte.
        this.slotSize = Math.max(ObjectStates.GRANULE, (objectSize + alignment - 1) & -alignment);
        this.stateBias = pages.stateBias;
        this.linkKey = pages.linkKey;
        this.linkOffset = spec.linkOffset();
        this.rcuLinkOffset = spec.rcuLinkOffset();
        this.flags = spec.flags();
        this.typesafe = spec.has(SlabFlag.TYPESAFE_BY_RCU);
        this.poison = spec.has(SlabFlag.POISON);
        this.exactStates = !spec.has(SlabFlag.CHEAP_FREE_CHECKS);
        this.withUser = exactStates ? ObjectStates.ALLOCATED : ObjectStates.CACHED;
        this.kmalloc = kmalloc;
        int cap = spec.sheafCapacity() < 0 ? defaultSheafCapacity(objectSize) : spec.sheafCapacity();
        this.sheaves = cap > 0;
        this.capacity = Math.max(cap, 1);
        this.fastCapacity = sheaves ? capacity : 0;
        this.slabBlocks = chooseSlabBlocks(slotSize);
        this.slabBytes = (long) slabBlocks << PageSource.BLOCK_SHIFT;
        this.objectsPerSlab = (int) (slabBytes / slotSize);
        this.recip = ((1L << 40) + slotSize - 1) / slotSize;
        this.hooks = hooks;
        this.hasHooks = hooks.length > 0;
        this.noLockAllocHooks = java.util.Arrays.stream(hooks).filter(h -> !h.needsLock()).toArray(SlabHook[]::new);
        this.barn = new Barn(MAX_BARN_SHEAVES, MAX_BARN_SHEAVES);
        this.deferred = new DeferredFreeList(linkOffset, pages.linkKey);
        this.deferredHooks = new DeferredFreeList(linkOffset, pages.linkKey);
        this.carrierSlots = new AtomicReferenceArray<>(carrierSlotCount);
        this.carrierMask = carrierSlotCount - 1;
    }

    /** The kernel's sheaf capacity table (objects per sheaf by object size). */
    static int defaultSheafCapacity(long objectSize) {
        if (objectSize < 256) {
            return 60;
        }
        if (objectSize < 1024) {
            return 26;
        }
        if (objectSize < 4096) {
            return 12;
        }
        return 4;
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
    // Public API

    /** The cache's name. */
    public String name() {
        return name;
    }

    /** Bytes per object as requested at creation (also the usable size). */
    public long objectSize() {
        return objectSize;
    }

    /** Distance between objects in a slab (object size rounded up to the alignment). */
    public long slotSize() {
        return slotSize;
    }

    public long alignment() {
        return alignment;
    }

    public long linkOffset() {
        return linkOffset;
    }

    /** The rcu link offset declared at creation, or -1. */
    public long rcuLinkOffset() {
        return rcuLinkOffset;
    }

    public Set<SlabFlag> flags() {
        return flags;
    }

    /** Objects per sheaf; 0 when the cache has no sheaves. */
    public int sheafCapacity() {
        return sheaves ? capacity : 0;
    }

    public int objectsPerSlab() {
        return objectsPerSlab;
    }

    public long slabBytes() {
        return slabBytes;
    }

    /** True when {@code address} is the start or interior of an allocated slab of this cache. */
    public boolean owns(long address) {
        Slab s = pages.ownerOf(address);
        return s != null && s.cache == this;
    }

    /**
     * Allocates one object; its contents are unspecified.
     *
     * @return the object's address, never 0
     * @throws OutOfMemoryError      the allocator's capacity is exhausted
     * @throws IllegalStateException the cache is destroyed or the allocator closed
     */
    public long alloc() {
        if (!isLive()) {
            throw dead();
        }
        long a;
        Magazine m = local.peek(); // a hit is the calling platform thread's own magazine
        if (m != null && !m.busy) {
            a = popMain(m);
            if (a == 0) {
                a = allocSlowOwned(m);
            }
        } else {
            a = allocOther(m);
        }
        if (a == 0) {
            throw allocator.outOfMemory(objectSize);
        }
        if (exactStates) {
            ObjectStates.set(stateBias, a, ObjectStates.ALLOCATED);
        }
        if (hasHooks) {
            runAllocHooks(a, hooks);
        }
        return a;
    }

    /** alloc() without a table hit: busy (re-entrant), overflow slot, new thread, or virtual thread. */
    private long allocOther(Magazine hit) {
        if (hit != null) {
            return allocDirect(false);
        }
        Thread t = Thread.currentThread();
        if (t.isVirtual()) {
            return allocCarrier(false);
        }
        Magazine m = local.get();
        if (m == null) {
            m = newPlatformMagazine(t);
        } else if (m.busy) {
            return allocDirect(false);
        }
        long a = popMain(m);
        return a != 0 ? a : allocSlowOwned(m);
    }

    /**
     * Pops the owner's main sheaf, first exchanging an empty main for a non-empty spare; 0 when
     * both are empty (no object lives at address 0). The exchange is here, not in the slow path,
     * so a burst of up to two sheaves never calls out of the caller's loop (see the notes).
     */
    private static long popMain(Magazine m) {
        int n = m.mainSize;
        long[] objects = m.mainObjects;
        if (n == 0) {
            // Written out, not a Magazine method: at call sites this rare C2 inlines a callee only
            // while it is tiny and not yet compiled on its own ("already compiled into a medium
            // method" put the call, and its cost, back into the loop in one fork of two).
            Sheaf spare = m.spare;
            if (spare == null || (n = spare.size) == 0) {
                return 0;
            }
            Sheaf main = m.main;
            main.size = 0;
            m.spare = main;
            m.main = spare;
            m.mainObjects = objects = spare.objects;
        }
        long a = objects[--n];
        m.mainSize = n;
        m.allocFast++;
        return a;
    }

    /** Pushes onto the owner's main sheaf when it has room; false when it is full. */
    private boolean pushMain(Magazine m, long a) {
        int n = m.mainSize;
        long[] objects = m.mainObjects;
        if (n >= fastCapacity) {
            Sheaf spare = m.spare; // exchange a full main for an empty spare, written out as in popMain
            if (fastCapacity == 0 || spare == null || spare.size != 0) {
                return false;
            }
            Sheaf main = m.main;
            main.size = n;
            m.spare = main;
            m.main = spare;
            m.mainObjects = objects = spare.objects;
            n = 0;
        }
        objects[n] = a;
        m.mainSize = n + 1;
        m.freeFast++;
        return true;
    }

    /**
     * kmalloc_nolock for this cache: never parks, never spin-waits on another thread, makes no
     * system call and allocates no sheaf; alloc hooks that need a lock are skipped.
     *
     * @return the object's address, or 0 when none is available without waiting
     * @throws IllegalStateException the cache is destroyed or the allocator closed
     */
    public long allocNoLock() {
        if (!isLive()) {
            throw dead();
        }
        long a = allocNoLockInternal();
        if (a != 0) {
            if (exactStates) {
                ObjectStates.set(stateBias, a, ObjectStates.ALLOCATED);
            }
            if (noLockAllocHooks.length > 0) {
                runAllocHooks(a, noLockAllocHooks);
            }
        }
        return a;
    }

    long allocNoLockInternal() {
        Thread t = Thread.currentThread();
        if (!t.isVirtual()) {
            Magazine m = local.get();
            if (m != null && !m.busy) {
                long a = popMain(m);
                if (a != 0) {
                    return a;
                }
                m.busy = true;
                try {
                    return allocSlow(m, true);
                } finally {
                    m.busy = false;
                }
            }
            return allocDirect(true);
        }
        return allocCarrier(true);
    }

    /**
     * Frees an object of this cache. {@code free(0)} is a no-op.
     *
     * @throws IllegalArgumentException not an object start of this cache
     * @throws IllegalStateException    the object is not allocated (already freed, pending a
     *                                  grace period, never handed out), or cache destroyed /
     *                                  allocator closed; nothing is changed then
     */
    public void free(long address) {
        if (address == 0) {
            return;
        }
        if (!isLive()) {
            throw dead();
        }
        checkObject(address, pages.ownerOf(address));
        freeValidated(address);
    }

    /**
     * kfree_nolock: never parks, spin-waits or makes a system call; when a lock it needs is busy,
     * the object goes onto a lock-free deferred list freed by a later ordinary operation.
     *
     * @throws IllegalArgumentException not an object start of this cache
     * @throws IllegalStateException    the object is not allocated (as {@link #free}), or cache
     *                                  destroyed / allocator closed; nothing is changed then
     */
    public void freeNoLock(long address) {
        if (address == 0) {
            return;
        }
        if (!isLive()) {
            throw dead();
        }
        checkObject(address, pages.ownerOf(address));
        freeNoLockValidated(address);
    }

    /**
     * Allocates {@code count} objects into {@code out[0..count)} (kmem_cache_alloc_bulk): whole
     * sheaves are taken from the magazine and the barn where possible, the rest from slabs.
     *
     * @throws OutOfMemoryError capacity exhausted (objects already taken are freed again)
     */
    public void allocBulk(long[] out, int count) {
        if (count < 0 || count > out.length) {
            throw new IllegalArgumentException("count " + count + " outside 0.." + out.length);
        }
        if (!isLive()) {
            throw dead();
        }
        int done = 0;
        Thread t = Thread.currentThread();
        Magazine m = null;
        boolean carrier = false;
        if (sheaves) {
            if (!t.isVirtual()) {
                m = local.get();
                if (m == null) {
                    m = newPlatformMagazine(t);
                } else if (m.busy) {
                    m = null;
                }
            } else {
                m = takeOut();
                carrier = m != null;
            }
        }
        try {
            if (m != null) {
                m.busy = true;
                int n = Math.min(m.mainSize, count);
                System.arraycopy(m.mainObjects, m.mainSize - n, out, 0, n);
                m.mainSize -= n;
                done = n;
                m.allocFast += n;
            }
            while (done < count) {
                int got = takeObjects(out, done, count - done, false);
                if (got == 0) {
                    for (int i = 0; i < done; i++) {
                        putObject(out[i]); // still cached: never handed out, no hooks ran
                    }
                    throw allocator.outOfMemory(objectSize);
                }
                done += got;
            }
        } finally {
            if (m != null) {
                if (carrier) {
                    giveBack(m);
                } else {
                    m.busy = false;
                }
            }
        }
        for (int i = 0; i < count; i++) {
            ObjectStates.set(stateBias, out[i], withUser);
        }
        if (hasHooks) {
            for (int i = 0; i < count; i++) {
                runAllocHooks(out[i], hooks);
            }
        }
    }

    /**
     * Frees {@code count} objects of {@code objects[0..count)} (kmem_cache_free_bulk). Every
     * address is validated first; on a bad address (or one that is not allocated, or that appears
     * twice) nothing is freed and the exception says which.
     *
     * @throws IllegalArgumentException an address is not an object start of this cache
     * @throws IllegalStateException    an object is not allocated, or cache destroyed / allocator closed
     */
    public void freeBulk(long[] objects, int count) {
        if (count < 0 || count > objects.length) {
            throw new IllegalArgumentException("count " + count + " outside 0.." + objects.length);
        }
        if (!isLive()) {
            throw dead();
        }
        for (int i = 0; i < count; i++) {
            long a = objects[i];
            if (a != 0) {
                checkObject(a, pages.ownerOf(a));
            }
        }
        // Claim every object (allocated -> cached) before freeing any, so that a repeated or
        // unallocated one leaves the whole call undone.
        int claimed = 0;
        try {
            for (; claimed < count; claimed++) {
                long a = objects[claimed];
                if (a != 0) {
                    takeFromUser(a);
                }
            }
        } catch (IllegalStateException e) {
            for (int i = 0; i < claimed; i++) {
                if (objects[i] != 0) {
                    ObjectStates.set(stateBias, objects[i], withUser);
                }
            }
            throw e;
        }
        for (int i = 0; i < count; i++) {
            long a = objects[i];
            if (a != 0) {
                if (hasHooks) {
                    runFreeHooks(a);
                }
                putObject(a);
            }
        }
    }

    /**
     * Frees the object after an RCU grace period (kfree_rcu). With sheaves, the object joins the
     * calling thread's rcu sheaf, which after its grace period becomes a full sheaf in the barn;
     * otherwise it is chained through the cache's rcu link offset (headless if none).
     *
     * @throws IllegalArgumentException not an object start of this cache
     * @throws IllegalStateException    the object is not allocated (already freed or already
     *                                  pending), or cache destroyed / allocator closed
     */
    public void freeRcu(long address) {
        if (address == 0) {
            return;
        }
        if (!isLive()) {
            throw dead();
        }
        checkObject(address, pages.ownerOf(address));
        if (sheaves) {
            freeRcuToSheaf(address, rcuLinkOffset); // marks the cache itself
            return;
        }
        markRcuUsed(); // so that destroy() waits for the engine's batches
        if (rcuLinkOffset >= 0) {
            allocator.engine().freeRcu(address, rcuLinkOffset);
        } else {
            allocator.engine().freeRcu(address);
        }
    }

    /**
     * Destroys the cache (kmem_cache_destroy). Every cached object (sheaves of every magazine,
     * barn, deferred lists, pending rcu sheaves) goes back to slabs first; if objects are still
     * allocated, hooks are told, {@link IllegalStateException} names the cache and the count, and
     * the cache stays usable (free the objects and destroy again). Otherwise every slab goes back
     * to the page source. Callers must stop using the cache on other threads first.
     */
    public void destroy() {
        allocator.destroyCache(this);
    }

    /** Counters; exact when no other thread uses the cache, approximate otherwise. */
    public Stats stats() {
        long slabs, partial, out;
        nodeLock.lock();
        try {
            slabs = nrSlabs;
            partial = nrPartial;
            out = outOfSlabs;
        } finally {
            nodeLock.unlock();
        }
        long[] c = new long[COUNTERS];
        for (int i = 0; i < COUNTERS; i++) {
            c[i] = counters.get(i);
        }
        long cached = 0, rcuObjects = 0, allocFast = c[C_RETIRED_ALLOC_FAST], freeFast = c[C_RETIRED_FREE_FAST];
        int mags;
        registryLock.lock();
        try {
            mags = magazines.length;
            for (Magazine m : magazines) {
                cached += m.cachedObjects();
                rcuObjects += m.rcuObjects();
                allocFast += m.allocFast;
                freeFast += m.freeFast;
                for (int i = 0; i < COUNTERS; i++) {
                    c[i] += m.events[i];
                }
            }
        } finally {
            registryLock.unlock();
        }
        cached += barn.fullObjects();
        long deferredObjects = deferred.count() + deferredHooks.count();
        int[] bc = barn.counts();
        long active = Math.max(0, out - cached - deferredObjects - rcuObjects);
        return new Stats(name, objectSize, slotSize, objectsPerSlab, slabBytes, slabs, partial,
                slabs * objectsPerSlab, active, cached, deferredObjects, rcuObjects, sheafCapacity(),
                bc[0], bc[1], mags, allocFast, c[C_ALLOC_SLOW], freeFast, c[C_FREE_SLOW],
                c[C_REFILL], c[C_FLUSH], c[C_BARN_GET], c[C_BARN_GET_FAIL], c[C_BARN_PUT], c[C_BARN_PUT_FAIL],
                c[C_SHEAF_ALLOC], c[C_DEFERRED], c[C_NOLOCK_FAIL], c[C_RCU_SHEAF], c[C_DIRECT], c[C_CORRUPT]);
    }

    @Override
    public String toString() {
        return "SlabCache[" + name + ", " + objectSize + " B]";
    }

    // ---------------------------------------------------------------------------------------
    // Validation

    private IllegalStateException dead() {
        return new IllegalStateException(state == DESTROYED
                ? "cache '" + name + "' is destroyed" : "allocator is closed (cache '" + name + "')");
    }

    /**
     * The lifecycle check of the public entry points: a plain read (see the class notes). A
     * volatile read here cost about 3.5 ns per call, because C2 may not move or reuse any memory
     * access across it, on paths that are otherwise a handful of loads.
     */
    boolean isLive() {
        return (int) STATE.get(this) == LIVE;
    }

    int state() {
        return state;
    }

    /** Checks that {@code address} is an object start of this cache in a live slab. */
    void checkObject(long address, Slab s) {
        if (s == null || s.cache != this) {
            throw allocator.badAddress(address, s, this);
        }
        checkInSlab(address, s);
    }

    /**
     * Whether {@code address} is an object start in the carved part of {@code s}: the one answer
     * to "is this an object start", for any address (never throws). Exact even where off * recip
     * wraps: idx * slotSize == off with idx < carved names the object at idx, however idx was found.
     */
    boolean isObjectStart(long address, Slab s) {
        long off = address - s.base;
        long idx = (off * recip) >>> 40;
        return idx * slotSize == off && idx < s.carved;
    }

    /** isObjectStart, or the exception that says which rule failed. */
    void checkInSlab(long address, Slab s) {
        if (!isObjectStart(address, s)) {
            throw notInSlab(address, s);
        }
    }

    private RuntimeException notInSlab(long address, Slab s) {
        long off = address - s.base;
        long idx = (off * recip) >>> 40;
        if (idx * slotSize != off || idx >= objectsPerSlab) {
            return new IllegalArgumentException(String.format(
                    "address 0x%x is not the start of an object of cache '%s' (interior address)", address, name));
        }
        return new IllegalStateException(String.format(
                "double free or invalid free of 0x%x in cache '%s': object was never handed out", address, name));
    }

    /** Throws unless the object start {@code a} is with a user (see withUser). */
    void checkAllocated(long a) {
        byte st = ObjectStates.get(stateBias, a);
        if (st != withUser) {
            throw notAllocated(a, st);
        }
    }

    /** A user's object leaves the user: allocated -> cached, or IllegalStateException. */
    private void takeFromUser(long a) {
        checkAllocated(a);
        ObjectStates.set(stateBias, a, ObjectStates.CACHED);
    }

    /** The free-after-grace-period engine takes an allocated object: allocated -> pending. */
    void claimPending(long a) {
        checkAllocated(a);
        ObjectStates.set(stateBias, a, ObjectStates.PENDING);
    }

    boolean isPending(long a) {
        return ObjectStates.get(stateBias, a) == ObjectStates.PENDING;
    }

    private IllegalStateException notAllocated(long a, byte st) {
        return new IllegalStateException(String.format("object 0x%x of cache '%s' is not allocated: it is %s%s",
                a, name, ObjectStates.name(st), st == ObjectStates.FREE || st == ObjectStates.CACHED
                        ? " (double free, or a free of an address never handed out)" : ""));
    }

    /** Reports damage found in the allocator's own links; the caller goes on without the bad link. */
    void reportCorruption(String what) {
        counters.incrementAndGet(C_CORRUPT);
        CORRUPTION_LOG.log(System.Logger.Level.ERROR, "cache '" + name + "': " + what);
    }

    private static final System.Logger CORRUPTION_LOG = System.getLogger("dev.sheaf.allocator.corruption");

    // ---------------------------------------------------------------------------------------
    // Hooks

    private void runAllocHooks(long a, SlabHook[] hs) {
        for (SlabHook h : hs) {
            h.afterAlloc(this, a, objectSize);
        }
    }

    private void runFreeHooks(long a) {
        for (SlabHook h : hooks) {
            h.beforeFree(this, a, objectSize);
        }
    }

    /** Tries every free hook without waiting; false if one could not run. */
    private boolean tryFreeHooks(long a) {
        for (SlabHook h : hooks) {
            if (!h.tryBeforeFree(this, a, objectSize)) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------------------------------
    // Free paths (address validated)

    /** free() after the address checks: the object must be allocated; hooks run before it leaves the user. */
    void freeValidated(long a) {
        checkAllocated(a);
        if (hasHooks) {
            runFreeHooks(a);
        }
        if (exactStates) {
            ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        }
        putObject(a);
    }

    /** The engine's free of a pending object (its grace period has passed); no public checks. */
    void releasePending(long a) {
        byte st = ObjectStates.get(stateBias, a);
        if (st != ObjectStates.PENDING) {
            throw new IllegalStateException(String.format(
                    "object 0x%x of cache '%s' released after its grace period is %s, not pending",
                    a, name, ObjectStates.name(st)));
        }
        if (hasHooks) {
            runFreeHooks(a);
        }
        ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        putObject(a);
    }

    /** Puts a validated object whose free hooks already ran. */
    private void putObject(long a) {
        Magazine m = local.peek();
        if (m == null || m.busy) {
            putObjectOther(a, m);
            return;
        }
        if (!pushMain(m, a)) {
            freeSlowOwned(m, a);
        }
    }

    /** putObject without a table hit: busy (re-entrant), overflow slot, new thread, or virtual thread. */
    private void putObjectOther(long a, Magazine hit) {
        if (hit != null) {
            freeToSlabs(a, false);
            return;
        }
        Thread t = Thread.currentThread();
        if (t.isVirtual()) {
            freeCarrier(a, false);
            return;
        }
        Magazine m = local.get();
        if (m == null) {
            if (!sheaves) {
                freeToSlabs(a, false);
                return;
            }
            m = newPlatformMagazine(t);
        } else if (m.busy) {
            freeToSlabs(a, false);
            return;
        }
        if (!pushMain(m, a)) {
            freeSlowOwned(m, a);
        }
    }

    private void freeSlowOwned(Magazine m, long a) {
        m.busy = true;
        try {
            freeSlow(m, a, false);
        } finally {
            m.busy = false;
        }
    }

    void freeNoLockValidated(long a) {
        checkAllocated(a);
        if (hasHooks && !tryFreeHooks(a)) {
            ObjectStates.set(stateBias, a, ObjectStates.CACHED);
            counters.incrementAndGet(C_DEFERRED);
            deferredHooks.push(a);
            return;
        }
        ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        Thread t = Thread.currentThread();
        boolean done;
        if (!t.isVirtual()) {
            Magazine m = local.get();
            if (m != null && !m.busy) {
                if (pushMain(m, a)) {
                    return;
                }
                m.busy = true;
                try {
                    done = freeSlow(m, a, true);
                } finally {
                    m.busy = false;
                }
            } else {
                done = freeToSlabs(a, true);
            }
        } else {
            done = freeCarrier(a, true);
        }
        if (!done) {
            counters.incrementAndGet(C_DEFERRED);
            deferred.push(a);
        }
    }

    private boolean freeCarrier(long a, boolean noLock) {
        if (!sheaves) {
            return freeToSlabs(a, noLock);
        }
        Magazine m = takeOut();
        if (m == null && !noLock) {
            m = newCarrierMagazine();
        }
        if (m == null) {
            return freeToSlabs(a, noLock);
        }
        try {
            return pushMain(m, a) || freeSlow(m, a, noLock);
        } finally {
            giveBack(m);
        }
    }

    /** free_to_pcs slow path with main full; the caller owns {@code m}. False only in noLock mode. */
    private boolean freeSlow(Magazine m, long a, boolean noLock) {
        if (!sheaves) {
            return freeToSlabs(a, noLock);
        }
        m.syncMain();
        try {
            return freeSlowSynced(m, a, noLock);
        } finally {
            m.loadMain();
        }
    }

    private boolean freeSlowSynced(Magazine m, long a, boolean noLock) {
        count(m, C_FREE_SLOW);
        Sheaf main = m.main; // full: pushMain failed, and exchanged main for an empty spare if there was one
        Sheaf spare = m.spare; // so null or not empty
        if (spare == null) {
            Sheaf e = barn.takeEmpty(noLock);
            if (e == null && !noLock) {
                count(m, C_SHEAF_ALLOC);
                e = new Sheaf(capacity);
            }
            if (e != null) {
                m.spare = main;
                m.main = e;
            } else if (!flushSheaf(main, true)) {
                count(m, C_NOLOCK_FAIL);
                return false;
            }
        } else {
            Sheaf r = barn.replaceFull(main, noLock);
            if (r == Barn.NO_EMPTY) {
                count(m, C_BARN_PUT);
                count(m, C_SHEAF_ALLOC);
                m.main = new Sheaf(capacity);
            } else if (r != null) {
                count(m, C_BARN_PUT);
                m.main = r;
            } else {
                count(m, C_BARN_PUT_FAIL);
                if (!flushSheaf(main, noLock)) {
                    count(m, C_NOLOCK_FAIL);
                    return false;
                }
            }
        }
        Sheaf s = m.main;
        s.objects[s.size++] = a;
        return true;
    }

    // ---------------------------------------------------------------------------------------
    // Alloc paths

    private long allocSlowOwned(Magazine m) {
        m.busy = true;
        try {
            return allocSlow(m, false);
        } finally {
            m.busy = false;
        }
    }

    private long allocCarrier(boolean noLock) {
        if (!sheaves) {
            return allocDirect(noLock);
        }
        Magazine m = takeOut();
        if (m == null && !noLock) {
            m = newCarrierMagazine();
        }
        if (m == null) {
            return allocDirect(noLock);
        }
        try {
            long a = popMain(m);
            return a != 0 ? a : allocSlow(m, noLock);
        } finally {
            giveBack(m);
        }
    }

    /** alloc_from_pcs slow path with main empty; the caller owns {@code m}. 0 = nothing available. */
    private long allocSlow(Magazine m, boolean noLock) {
        if (!sheaves) {
            return allocDirect(noLock);
        }
        m.syncMain();
        try {
            return allocSlowSynced(m, noLock);
        } finally {
            m.loadMain();
        }
    }

    private long allocSlowSynced(Magazine m, boolean noLock) {
        count(m, C_ALLOC_SLOW);
        Sheaf main = m.main; // empty: popMain failed, and exchanged main for a non-empty spare if there was one
        Sheaf spare = m.spare; // so null or empty
        Sheaf full = barn.replaceEmpty(spare == null ? null : main, noLock);
        if (full != null) {
            count(m, C_BARN_GET);
            if (spare == null) {
                m.spare = main;
            }
            m.main = full;
        } else {
            count(m, C_BARN_GET_FAIL);
            count(m, C_REFILL);
            int got = takeObjects(main.objects, 0, capacity, noLock);
            main.size = got;
            if (got == 0) {
                if (noLock) {
                    count(m, C_NOLOCK_FAIL);
                }
                return 0;
            }
        }
        Sheaf s = m.main;
        int n = s.size - 1;
        long a = s.objects[n];
        s.size = n;
        return a;
    }

    /** One object straight from the slabs (no magazine available). 0 = nothing available. */
    private long allocDirect(boolean noLock) {
        counters.incrementAndGet(C_DIRECT);
        if (noLock) {
            if (!nodeLock.tryLock()) {
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
                nodeLock.unlock();
            }
        }
        drainDeferred();
        nodeLock.lock();
        try {
            if (partialHead != null) {
                return popOne();
            }
        } finally {
            nodeLock.unlock();
        }
        reclaimDeadMagazines();
        long address = pages.acquire(slabBlocks, slabBytes);
        if (address == 0) {
            allocator.shrinkForRetry();
            address = pages.acquire(slabBlocks, slabBytes);
        }
        nodeLock.lock();
        try {
            if (address != 0) {
                addNewSlabLocked(address, false);
            }
            return partialHead != null ? popOne() : 0;
        } finally {
            nodeLock.unlock();
        }
    }

    /** Node lock held, partial list not empty. */
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

    // ---------------------------------------------------------------------------------------
    // Slab layer

    /**
     * Moves up to {@code want} objects from slabs into {@code dst[off..)}; grows the cache by a
     * slab when no partial slab is left. Returns the number taken (0 = capacity exhausted, or
     * in noLock mode a busy lock).
     */
    int takeObjects(long[] dst, int off, int want, boolean noLock) {
        if (!noLock) {
            drainDeferred();
        }
        if (noLock) {
            if (!nodeLock.tryLock()) {
                return 0;
            }
            try {
                int got = popPartials(dst, off, want);
                if (got > 0) {
                    return got;
                }
                // Growth without waiting: PageSource by tryLock, no system call.
                long address = pages.tryAcquire(slabBlocks, slabBytes);
                if (address == 0) {
                    return 0;
                }
                addNewSlabLocked(address, true);
                return popPartials(dst, off, want);
            } finally {
                nodeLock.unlock();
            }
        }
        int got;
        nodeLock.lock();
        try {
            got = popPartials(dst, off, want);
        } finally {
            nodeLock.unlock();
        }
        if (got > 0) {
            return got;
        }
        // Before growing, take back what dead threads cached.
        if (reclaimDeadMagazines() > 0) {
            nodeLock.lock();
            try {
                got = popPartials(dst, off, want);
            } finally {
                nodeLock.unlock();
            }
            if (got > 0) {
                return got;
            }
        }
        long address = pages.acquire(slabBlocks, slabBytes);
        if (address == 0) {
            // Capacity exhausted: give back what other caches retain and retry once.
            allocator.shrinkForRetry();
            address = pages.acquire(slabBlocks, slabBytes);
            if (address == 0) {
                return 0;
            }
        }
        nodeLock.lock();
        try {
            addNewSlabLocked(address, false);
            return popPartials(dst, off, want);
        } finally {
            nodeLock.unlock();
        }
    }

    private void addNewSlabLocked(long address, boolean noLock) {
        if (!noLock) {
            SlabEvents.grow(name, slabBytes); // a JFR commit may flush buffers: not on the no-lock path
        }
        Slab s = new Slab(address, slabBlocks, this, slabBytes);
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
            a = s.base + s.carved * slotSize;
            s.carved++;
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
            next = rebuildFreeList(s);
        }
        s.freeHead = next;
        return a;
    }

    /** Whether {@code x} is a free object start of {@code s}. */
    private boolean isFreeInSlab(Slab s, long x) {
        return isObjectStart(x, s) && ObjectStates.get(stateBias, x) == ObjectStates.FREE;
    }

    /** Node lock held. Relinks every free object of the carved part of {@code s}; the new head. */
    private long rebuildFreeList(Slab s) {
        long head = 0;
        for (int i = s.carved - 1; i >= 0; i--) {
            long x = s.base + i * slotSize;
            if (ObjectStates.get(stateBias, x) == ObjectStates.FREE) {
                FreePointer.store(x + linkOffset, head, linkKey);
                head = x;
            }
        }
        return head;
    }

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

    /** Frees one object to its slab. False only in noLock mode when the node lock is busy. */
    boolean freeToSlabs(long a, boolean noLock) {
        Slab release;
        if (noLock) {
            if (!nodeLock.tryLock()) {
                return false;
            }
        } else {
            nodeLock.lock();
        }
        try {
            release = pushToSlab(a, !noLock);
        } finally {
            nodeLock.unlock();
        }
        if (release != null) {
            releaseSlab(release);
        }
        return true;
    }

    /**
     * Returns a sheaf's objects to their slabs in one critical section. An object that is not
     * cached (corruption) is reported and skipped; the rest are still flushed.
     */
    private boolean flushSheaf(Sheaf sheaf, boolean noLock) {
        if (noLock) {
            if (!nodeLock.tryLock()) {
                return false;
            }
        } else {
            nodeLock.lock();
        }
        counters.incrementAndGet(C_FLUSH);
        List<Slab> releases = null;
        try {
            for (int i = 0; i < sheaf.size; i++) {
                Slab r = pushToSlab(sheaf.objects[i], !noLock);
                if (r != null) {
                    if (releases == null) {
                        releases = new ArrayList<>(2);
                    }
                    releases.add(r);
                }
            }
            sheaf.size = 0;
        } finally {
            nodeLock.unlock();
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
    private Slab pushToSlab(long a, boolean mayRelease) {
        Slab s = pages.ownerOf(a);
        if (s == null || s.cache != this || s.inuse == 0 || ObjectStates.get(stateBias, a) != ObjectStates.CACHED) {
            reportCorruption(String.format("object 0x%x going back to its slab is not a cached object of this"
                    + " cache (%s); skipped", a, s == null || s.cache != this ? "no slab of this cache"
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
        if (before == objectsPerSlab) {
            addPartialHead(s);
        }
        if (s.inuse == 0) {
            // Empty slabs live at the tail; keep a few, give the rest back.
            removePartial(s);
            if (mayRelease && nrEmpty >= MIN_EMPTY_SLABS && state == LIVE) {
                nrSlabs--;
                return s;
            }
            nrEmpty++;
            addPartialTail(s);
        }
        return null;
    }

    private void releaseSlab(Slab s) {
        if (typesafe) {
            allocator.releaseAfterGracePeriod(s);
        } else {
            pages.release(s, slabBytes, true);
        }
    }

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

    /** Frees every deferred no-lock free; returns the number freed. */
    long drainDeferred() {
        return drainDeferred(deferredHooks, hasHooks) + drainDeferred(deferred, false);
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
                reportCorruption(String.format("the deferred-free link of object 0x%x is corrupt (decodes to 0x%x);"
                        + " the objects behind it are not freed", a, next));
                next = 0;
            }
            if (runHooks) {
                runFreeHooks(a);
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
        return s != null && s.cache == this && isObjectStart(x, s)
                && ObjectStates.get(stateBias, x) == ObjectStates.CACHED;
    }

    // ---------------------------------------------------------------------------------------
    // Magazines

    private Magazine newPlatformMagazine(Thread t) {
        // A new thread is the moment thread churn shows: first take back what dead ones cached.
        reclaimDeadMagazines();
        Magazine m = new Magazine(capacity, t);
        registryLock.lock();
        try {
            register(m);
        } finally {
            registryLock.unlock();
        }
        local.put(m);
        return m;
    }

    private Magazine newCarrierMagazine() {
        registryLock.lock();
        try {
            if (carrierMagazines >= carrierSlots.length()) {
                return null;
            }
            carrierMagazines++;
            Magazine m = new Magazine(capacity, null);
            register(m);
            return m;
        } finally {
            registryLock.unlock();
        }
    }

    /**
     * Carrier keying: the CPU the carrier runs on (sched_getcpu, a critical downcall) unless
     * -Dsheaf.carrierKey=thread selects thread-id striping (the portable fallback).
     */
    private static final boolean KEY_BY_CPU = NativeMemory.hasCpuId()
            && !"thread".equals(System.getProperty("sheaf.carrierKey"));

    private int slotIndex() {
        int key = KEY_BY_CPU ? NativeMemory.currentCpu()
                : (int) (Thread.currentThread().threadId() * 0x9E3779B97F4A7C15L >>> 40);
        return key & carrierMask;
    }

    /**
     * Takes a carrier magazine out: this CPU's slot first, then any other slot that holds one
     * (the owner of this slot may be a virtual thread that migrated while it held it). Null
     * when every magazine is out.
     */
    private Magazine takeOut() {
        int slot = slotIndex();
        Magazine m = carrierSlots.getAndSet(slot, null);
        if (m != null) {
            return m;
        }
        for (int i = 1; i < carrierSlots.length(); i++) {
            int j = (slot + i) & carrierMask;
            if (carrierSlots.get(j) != null && (m = carrierSlots.getAndSet(j, null)) != null) {
                return m;
            }
        }
        return null;
    }

    private void giveBack(Magazine m) {
        int slot = slotIndex();
        if (carrierSlots.compareAndSet(slot, null, m)) {
            return;
        }
        // At most length() carrier magazines exist and we hold one, so at every instant some
        // slot is empty. A scan is not atomic, though: another magazine can move into a slot
        // after we passed it empty. Each failed CAS means another thread moved a magazine, so
        // rescanning is lock-free (no waiting on any particular thread), like a Treiber retry.
        while (true) {
            for (int i = 0; i < carrierSlots.length(); i++) {
                if (carrierSlots.get(i) == null && carrierSlots.compareAndSet(i, null, m)) {
                    return;
                }
            }
        }
    }

    /** The calling platform thread's magazine, or null if it has none yet. */
    Magazine ownMagazine() {
        return local.get();
    }

    /** Number of magazines (platform and carrier) registered now. */
    int magazineCount() {
        registryLock.lock();
        try {
            return magazines.length;
        } finally {
            registryLock.unlock();
        }
    }

    int carrierMagazineCount() {
        registryLock.lock();
        try {
            return carrierMagazines;
        } finally {
            registryLock.unlock();
        }
    }

    int carrierSlotCount() {
        return carrierSlots.length();
    }

    /** Registry lock held. */
    private void register(Magazine m) {
        Magazine[] old = magazines;
        Magazine[] next = java.util.Arrays.copyOf(old, old.length + 1);
        next[old.length] = m;
        magazines = next;
    }

    /** Registry lock held. */
    private void unregister(List<Magazine> gone) {
        Magazine[] old = magazines;
        Magazine[] next = new Magazine[old.length - gone.size()];
        int n = 0;
        for (Magazine m : old) {
            if (!gone.contains(m)) {
                next[n++] = m;
            }
        }
        magazines = n == next.length ? next : java.util.Arrays.copyOf(next, n);
    }

    /** Returns the sheaves of magazines whose platform thread died; the number reclaimed. */
    int reclaimDeadMagazines() {
        List<Magazine> dead = null;
        registryLock.lock();
        try {
            for (Magazine m : magazines) {
                if (!m.retiring && m.ownerDead()) {
                    m.retiring = true;
                    if (dead == null) {
                        dead = new ArrayList<>();
                    }
                    dead.add(m);
                }
            }
        } finally {
            registryLock.unlock();
        }
        if (dead == null) {
            return 0;
        }
        // Retired while still registered: a concurrent rcuBarrier must still find a dead owner's
        // rcu sheaf, and its flush waits on RCU_BUSY while retire() submits it.
        for (Magazine m : dead) {
            local.remove(m);
            retire(m);
        }
        registryLock.lock();
        try {
            unregister(dead);
        } finally {
            registryLock.unlock();
        }
        return dead.size();
    }

    /**
     * Counts a slow-path event in the owner's magazine: plain increments, like the fast-path
     * counters. Shared atomic counters here made every refill and flush of every thread write one
     * contended cache line (the kernel keeps these per CPU for the same reason).
     */
    private static void count(Magazine m, int counter) {
        m.events[counter]++;
    }

    /** Empties a magazine nobody uses any more (dead owner, or destroy/close). */
    private void retire(Magazine m) {
        counters.addAndGet(C_RETIRED_ALLOC_FAST, m.allocFast);
        counters.addAndGet(C_RETIRED_FREE_FAST, m.freeFast);
        m.allocFast = 0;
        m.freeFast = 0;
        for (int i = 0; i < COUNTERS; i++) {
            counters.addAndGet(i, m.events[i]);
            m.events[i] = 0;
        }
        returnSheaf(m.syncMain());
        m.loadMain();
        returnSheaf(m.spare);
        // Take the rcu sheaf the way its owner would, so a barrier flushing concurrently waits
        // until it is submitted instead of finding the slot empty and returning early.
        Sheaf r = m.beginRcu();
        try {
            if (r != null && r.size > 0) {
                submitRcuSheaf(r);
            }
        } finally {
            m.endRcu(null);
        }
    }

    private void returnSheaf(Sheaf s) {
        if (s == null || s.size == 0) {
            return;
        }
        if (s.size == capacity && state == LIVE) {
            Sheaf copy = new Sheaf(capacity);
            System.arraycopy(s.objects, 0, copy.objects, 0, s.size);
            copy.size = s.size;
            if (barn.putFull(copy)) {
                s.size = 0;
                return;
            }
        }
        flushSheaf(s, false);
    }

    // ---------------------------------------------------------------------------------------
    // rcu sheaf

    /** kfree_rcu_sheaf: the validated object joins the caller's rcu sheaf. */
    void freeRcuToSheaf(long a, long fallbackLinkOffset) {
        markRcuUsed();
        Magazine m = local.peek(); // a hit is the calling platform thread's own magazine
        boolean carrier = false;
        if (m == null) {
            Thread t = Thread.currentThread();
            if (!t.isVirtual()) {
                m = local.get();
                if (m == null) {
                    m = newPlatformMagazine(t);
                }
            } else {
                carrier = true;
                m = takeOut();
                if (m == null) {
                    m = newCarrierMagazine();
                }
                if (m == null) {
                    if (fallbackLinkOffset >= 0) {
                        allocator.engine().freeRcu(a, fallbackLinkOffset);
                    } else {
                        allocator.engine().freeRcu(a);
                    }
                    return;
                }
            }
        }
        boolean submitted = false;
        try {
            // RCU_BUSY in the slot until endRcu: a concurrent rcuBarrier waits for this call to
            // end instead of missing the objects of earlier calls that this sheaf holds.
            Sheaf r = m.beginRcu();
            try {
                if (r == null) {
                    r = emptyRcuSheaf();
                }
                int n = r.size;
                if (n == 0) {
                    // Opening a sheaf: a caller that may not wait meets the engine's hard cap here.
                    allocator.engine().checkHardCapForRcuSheaf(a);
                }
                claimPending(a);
                r.objects[n] = a;
                r.size = n + 1;
                if (n + 1 == capacity) {
                    try {
                        submitRcuSheaf(r);
                    } catch (RuntimeException e) {
                        // Not taken (the engine is closed): this call is undone, the sheaf keeps
                        // the others, so the slot never holds a full sheaf.
                        r.size = n;
                        ObjectStates.set(stateBias, a, withUser);
                        throw e;
                    }
                    m.rcuSubmits++;
                    submitted = true;
                    r = null; // the engine's now; if taking an empty one fails, the slot stays empty
                    r = emptyRcuSheaf();
                }
            } finally {
                m.endRcu(r);
            }
        } finally {
            if (carrier) {
                giveBack(m);
            }
        }
        if (submitted) {
            // The pending bound, met with nothing held: no RCU_BUSY window a barrier would wait
            // on, no carrier magazine; inside a read section it only helps, never waits.
            allocator.engine().meetPendingBound();
        }
    }

    /** An empty sheaf for the rcu path: the barn's (recycled rcu sheaves included), else a new one. */
    private Sheaf emptyRcuSheaf() {
        Sheaf e = barn.takeEmpty(false);
        if (e == null) {
            counters.incrementAndGet(C_SHEAF_ALLOC);
            e = new Sheaf(capacity);
        }
        return e;
    }

    private void submitRcuSheaf(Sheaf r) {
        counters.incrementAndGet(C_RCU_SHEAF);
        RcuFreeEngine engine = allocator.engine();
        int f = rcuInFlight.incrementAndGet();
        if (f > rcuPeakInFlight) {
            // Every sheaf in flight comes back; keep room to recycle them all as empties (Barn notes).
            rcuPeakInFlight = f;
            barn.allowEmpty(f);
        }
        try {
            engine.submitRcuSheaf(this, r);
        } catch (RuntimeException e) {
            rcuInFlight.decrementAndGet();
            throw e;
        }
    }

    /**
     * Held across a pass that takes rcu sheaves out of their slots until they are submitted: by the
     * aged flush (tryLock: a second pass skips) and by the barrier's flush (lock: it must not miss
     * sheaves in the aged pass's hands). Guards agedScratch.
     */
    private final ReentrantLock agedLock = new ReentrantLock();
    /** The aged flush's sheaves between its registry pass and their submission. */
    private Sheaf[] agedScratch = new Sheaf[4];
    /** Test hook: runs in an aged pass between taking sheaves and submitting them (null: none). */
    volatile Runnable agedPassHook;

    /** Test hook: whether {@code t} waits for an aged pass to finish (a barrier's flush). */
    boolean waitsForAgedPass(Thread t) {
        return agedLock.hasQueuedThread(t);
    }

    /**
     * Submits every rcu sheaf that held objects at the previous call too, with no submission by
     * its owner in between: called by the engine's drainer about once per drain delay, so an idle
     * thread's partly filled sheaf waits between one and two periods. A sheaf whose owner is
     * inside a call is left for the next pass. Allocation-free once warm; no waiting.
     */
    void flushAgedRcuSheaves() {
        if (!agedLock.tryLock()) {
            return;
        }
        try {
            flushAgedRcuSheavesLocked();
        } finally {
            agedLock.unlock();
        }
    }

    private void flushAgedRcuSheavesLocked() {
        int n = 0;
        registryLock.lock();
        try {
            for (Magazine m : magazines) {
                Sheaf r = m.rcuSheaf;
                int submits = m.rcuSubmits;
                if (r == null || r == Magazine.RCU_BUSY || r.size == 0) {
                    m.agedSeen = null;
                } else if (m.agedSeen != r || m.agedSeenSubmits != submits) {
                    m.agedSeen = r;
                    m.agedSeenSubmits = submits;
                } else {
                    m.agedSeen = null;
                    Sheaf taken = m.takeRcuSheafIfIdle(r);
                    if (taken != null) {
                        if (n == agedScratch.length) {
                            agedScratch = java.util.Arrays.copyOf(agedScratch, n * 2);
                        }
                        agedScratch[n++] = taken;
                    }
                }
            }
        } finally {
            registryLock.unlock();
        }
        Runnable hook = agedPassHook;
        if (hook != null && n > 0) {
            hook.run();
        }
        for (int i = 0; i < n; i++) { // the engine is called with no allocator lock held
            Sheaf r = agedScratch[i];
            agedScratch[i] = null;
            submitRcuSheaf(r);
        }
    }

    /** Bytes waiting in partly filled rcu sheaves (racy sum, lock-free; for the engine's pending bound). */
    long openRcuSheafBytes() {
        long objects = 0;
        for (Magazine m : magazines) { // the array itself: lock-free, for freeRcuNoLock's cap check
            objects += m.rcuObjects();
        }
        return objects * objectSize;
    }

    /** Hands every magazine's partly filled rcu sheaf to the engine (for rcuBarrier/close). */
    void flushRcuSheaves() {
        // An aged pass may have taken sheaves out of their slots and not yet submitted them: wait
        // for it, or this barrier would find those slots empty and return before they are freed.
        agedLock.lock();
        try {
            for (Magazine m : magazines) {
                Sheaf r = m.takeRcuSheafForFlush(); // waits out an owner in the middle of a freeRcu
                if (r != null && r.size > 0) {
                    submitRcuSheaf(r);
                } else if (r != null && !m.putRcuSheafIfAbsent(r)) {
                    barn.putEmpty(r); // the owner started another; keep ours as a spare empty
                }
            }
        } finally {
            agedLock.unlock();
        }
    }

    /**
     * Marks the cache as one whose rcu sheaves barriers must flush. The flag only ever goes from
     * false to true, so the check is a plain read: a stale false costs one more volatile store, and
     * a volatile read on every freeRcu would fence the accesses around it.
     */
    private void markRcuUsed() {
        if (!(boolean) RCU_USED.get(this)) {
            rcuUsed = true;
        }
    }

    boolean rcuUsed() {
        return rcuUsed;
    }

    /** Objects on the deferred no-lock lists (lock-free read). */
    long deferredCount() {
        return deferred.count() + deferredHooks.count();
    }

    /**
     * The engine's callback: a sealed rcu sheaf whose grace period has passed. It enters the barn
     * as a full sheaf; with the full list at its bound its objects go to slabs and the sheaf
     * itself stays in the barn as an empty one for the next rcu sheaf (no allocation, no garbage).
     */
    void rcuSheafReady(Sheaf s) {
        rcuInFlight.decrementAndGet();
        if (state == CLOSED) {
            return;
        }
        int count = releasePendingSheaf(s);
        if (state == LIVE && count > 0 && s.objects.length == capacity && barn.putFull(s)) {
            return;
        }
        flushSheaf(s, false);
        if (s.objects.length == capacity && state == LIVE) {
            barn.putEmpty(s);
        }
    }

    /**
     * An rcu sheaf's objects after their grace period: pending -> cached, hooks run. An object
     * that is not pending (corruption) is reported and left out; the rest stay. The new count.
     */
    private int releasePendingSheaf(Sheaf s) {
        long[] objects = s.objects;
        int kept = 0;
        for (int i = 0; i < s.size; i++) {
            long a = objects[i];
            if (ObjectStates.get(stateBias, a) != ObjectStates.PENDING) {
                reportCorruption(String.format("object 0x%x of an rcu sheaf is %s after its grace period, not pending;"
                        + " left out", a, ObjectStates.name(ObjectStates.get(stateBias, a))));
                continue;
            }
            if (hasHooks) {
                runFreeHooks(a);
            }
            ObjectStates.set(stateBias, a, ObjectStates.CACHED);
            objects[kept++] = a;
        }
        s.size = kept;
        return kept;
    }

    // ---------------------------------------------------------------------------------------
    // Lifecycle (called by SlabAllocator under its caches lock)

    /** Returns every cached object to slabs; with {@code allMagazines}, live threads' too. */
    void flushAll(boolean allMagazines) {
        drainDeferred();
        reclaimDeadMagazines();
        if (allMagazines) {
            for (Magazine m : magazines) {
                if (m.mainSize > 0) {
                    flushSheaf(m.syncMain(), false);
                    m.loadMain();
                }
                if (m.spare != null && m.spare.size > 0) {
                    flushSheaf(m.spare, false);
                }
            }
        } else {
            Magazine own = Thread.currentThread().isVirtual() ? null : ownMagazine();
            if (own != null && !own.busy) {
                flushSheaf(own.syncMain(), false);
                own.loadMain();
                if (own.spare != null) {
                    flushSheaf(own.spare, false);
                }
            }
        }
        for (Sheaf s : barn.takeAllFull()) {
            flushSheaf(s, false);
            barn.putEmpty(s);
        }
    }

    /** Releases empty slabs kept for reuse (shrink). */
    void releaseEmptySlabs() {
        List<Slab> out = new ArrayList<>();
        nodeLock.lock();
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
            nodeLock.unlock();
        }
        for (Slab s : out) {
            releaseSlab(s);
        }
    }

    long liveObjectsExact() {
        nodeLock.lock();
        try {
            return outOfSlabs;
        } finally {
            nodeLock.unlock();
        }
    }

    /** destroy() after a successful flush: marks the cache dead and releases every slab. */
    void markDestroyed() {
        state = DESTROYED;
        releaseEmptySlabsAll();
    }

    private void releaseEmptySlabsAll() {
        List<Slab> out = new ArrayList<>();
        nodeLock.lock();
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
            nodeLock.unlock();
        }
        for (Slab s : out) {
            releaseSlab(s);
        }
    }

    void markClosed() {
        state = CLOSED;
    }

    void runDestroyHooks(long live) {
        for (SlabHook h : hooks) {
            h.cacheDestroyed(this, live);
        }
    }
}
