package dev.sheaf.allocator;

import dev.sheaf.rcu.internal.PerThreadTable;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Set;

/*
 * Implementation notes.
 *
 * A cache of equal-sized objects (the kernel's kmem_cache with sheaves). Layers, fastest first,
 * each in its own class:
 *
 *   Magazine (per platform thread, or per carrier slot for virtual threads; MagazineRegistry)
 *     main sheaf  - alloc pops, free pushes; a plain array access on the owner's thread
 *     spare sheaf - swapped with main when main runs empty/full
 *     rcu sheaf   - collects freeRcu() objects (RcuSheaves); a full one goes to the RcuFreeEngine,
 *                   comes back after a grace period and enters the barn as a full sheaf
 *     remote sheaf, inbox - objects of another thread's home slab, sent home whole (RemoteFrees)
 *   Barn          - bounded stacks of full and empty sheaves, exchanged whole
 *   SlabNode      - partial list under the node lock; objects linked through in-object links;
 *                   deferred no-lock frees
 *   PageSource    - new slabs, released slabs
 *
 * This class: the public API and the fast paths. CacheCounters: counters and Stats.
 *
 * Alloc order (alloc_from_pcs) and free order (free_to_pcs): the main sheaf, then the spare
 * (exchanged in popMain/pushMain), then the barn and the slabs (SheafExchange, which states them).
 * A free first asks whether the object is the magazine's to keep (RemoteFrees): pushMain takes it
 * when its block names no home or this magazine (PageSource.homeIds), and the slow path routes
 * anything else home, or keeps it when that home is gone.
 *
 * Sheaf capacity (SheafSizing): each magazine holds its own `capacity`, which pushMain compares
 * with mainSize (no other load); a table-sized cache's magazines grow it on slow paths that come
 * often and shrink it when the drainer's windows pass quietly; every sheaf array of the cache
 * has room for the bound, so sheaves move freely between magazines and the barn.
 *
 * Fast path rules. Platform threads find their magazine in a PerThreadTable (one array load, keyed
 * by thread id) and use it with plain accesses. The fast paths probe the table first
 * (PerThreadTable.peek): a hit can only be the calling platform thread's own magazine, so virtual
 * threads, new threads and slot collisions are sorted out only on a miss. The magazine holds main's
 * array and count itself (see Magazine), which saves a dependent load on a path made of little
 * else. The main/spare exchange is part of the inlined fast path (popMain/pushMain), not of the
 * slow path as in the kernel: in a caller's loop, a call that the profile shows is ever taken makes
 * C2 keep the loop's values on the stack and reload every field it could otherwise have hoisted,
 * on every iteration; so bursts of up to two sheaves make no call at all, and only bursts that
 * reach the barn make one. The exchange is written out in popMain/pushMain, not called: at call
 * sites this rare, C2 inlines a callee only while it is tiny and not yet compiled on its own
 * ("already compiled into a medium method"). Nothing may add a load or a call to alloc, free,
 * popMain or pushMain beyond the home test (one load from homeIds, one from the magazine's hot
 * line: the price of never handing out a line another thread is writing, RemoteFrees). `busy` makes a re-entrant call fall back to the slab layer.
 *
 * Where the probe looks (probe()): a Sheaf-aware thread (SheafThreads' final factory class, checked
 * first by exact class, then the SheafThread interface) keeps its magazines in its own
 * ThreadMagazines, indexed by `threadIndex` and trusted only when the magazine names this cache;
 * every other platform thread's is in the PerThreadTable. A thread's magazine lives in exactly one
 * of the two (MagazineRegistry.own/newPlatform choose by the thread), so every path finds the same.
 *
 * Handles (Local; SlabAllocator.Local): bound to their creating thread (an identity compare with
 * Thread.currentThread(), WrongThreadException otherwise) and holding its one magazine in a final
 * field, so a handle call makes no lookup: allocWith/freeValidated(Magazine, long) are alloc/free
 * with the magazine given. The checks are the same methods the plain paths call; `busy` sends a
 * re-entrant handle call to the slab layer; a virtual thread's handle holds no magazine (null) and
 * borrows a carrier magazine per call. A handle's close() gives the magazine's sheaves back
 * (MagazineRegistry.giveBackSheaves); the magazine stays the thread's.
 *
 * The no-lock paths (allocNoLock/freeNoLock; kmalloc_nolock) are NoLockPaths'; they use the
 * same layers, only by tryLock, and never wait.
 *
 * Object states (ObjectStates, where the rules are): alloc entry points mark what they return
 * allocated; free, freeNoLock, freeRcu and usableSize accept only an allocated object, exactly for
 * calls ordered by happens-before. CHEAP_FREE_CHECKS drops the two fast-path stores (alloc's
 * allocated, free's cached): a user's object then stays cached (`withUser`).
 *
 * Debug mode (DebugChecks, which states the checks): a debug cache sets `hasHooks`, so its fast
 * paths take the hooked branch they already test and nothing else is tested with debug off. The
 * hooked free (freeHooked) runs the user's hooks, then debug's release, and puts a debug object
 * into the quarantine instead of a sheaf. Every free path does so: freeBulk, the engine's release
 * after a grace period (releasePending; RcuSheaves.ready through quarantineFromRcuSheaf, where
 * the evicted object takes the freed one's place in the sheaf), and freeNoLock only when the
 * quarantine's lock is free (tryQuarantine; otherwise it puts the object as with debug off,
 * and objects its hooks deferred reach their slab from the deferred drain without the
 * quarantine); handOut's hooked branch runs debug's hand-out check,
 * which may refuse a damaged object (giveBackUnused). A debug cache's objects start
 * `objectOffset` bytes into their slots (RedZones), which isObjectStart and SlabNode's carving
 * add. Debug mode forces exact states (CHEAP_FREE_CHECKS is ignored).
 *
 * Address checks, one method per question: checkObject "which slab, this cache's?"; isObjectStart
 * "an object start?" (checkInSlab throws); checkAllocated "allocated?"; isPending "pending?".
 *
 * Lock order and what each lock protects (the only nestings; tryLock may nest in any order since
 * it never waits). The other classes point here.
 *
 *   RcuSheaves.agedLock (objects stolen from rcu sheaves until submitted: aged flush by
 *                 tryLock, barrier flush by lock; the aged flush's scratch array)
 *     -> Barn.lock (the stealers' sheaves), then, released, the engine's locks (submitting them)
 *   MagazineRegistry.lock (writes of the copy-on-write registry, carrier magazine count)
 *     -> released before any sheaf of a reclaimed magazine is flushed; nothing nests under it
 *   Barn.lock     (the barn's full/empty stacks)             leaf
 *   SlabNode.lock (partial list, every Slab's mutable fields, slab counts)
 *     -> PageSource.lock only by tryLock (no-lock growth); ordinary growth and slab release call
 *        PageSource after SlabNode.lock is released
 *   PageSource.lock (block bitmap, retained runs, reserved byte count)  leaf
 *   hook locks (e.g. LeakTracker's), debug mode's Quarantine lock and per-record monitors
 *                                                              leaf, taken with no allocator lock held
 *   debug mode's tracking table (ConcurrentHashMap bins)       leaf; also under SlabNode.lock (carving)
 *   SlabAllocator.cachesLock (list of caches)                  -> MagazineRegistry/SlabNode/Barn locks,
 *                 CacheSlotIndexes.LOCK
 *   CacheSlotIndexes.LOCK (the JVM-wide cache index bitmap)    leaf
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
 * Map: Stats; constants and fields (the fast paths' first); constructor; public API with the inlined
 * fast paths (alloc, popMain, pushMain, free, bulk, freeRcu, local, stats); address and state
 * checks; hooks; free paths (the handle's freeValidated, probe); alloc slow paths (allocWith);
 * lifecycle (flushAll, destroy, close); Local.
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

    /**
     * Counters of one cache (slabinfo columns plus sheaf counters). Racy while in use.
     *
     * @param name the cache name
     * @param objectSize bytes per object as requested
     * @param slotSize distance between objects in a slab
     * @param objectsPerSlab objects per slab
     * @param slabBytes bytes per slab
     * @param slabs slabs of the cache
     * @param partialSlabs slabs on the partial list
     * @param totalObjects object slots in all slabs
     * @param activeObjects objects with users
     * @param cachedObjects objects in sheaves and the barn
     * @param deferredObjects objects on the deferred no-lock lists
     * @param rcuSheafObjects objects in partly filled rcu sheaves
     * @param sheafCapacity objects per sheaf a thread starts with ({@link SlabCache#sheafCapacity()}), or 0
     * @param barnFull full sheaves in the barn
     * @param barnEmpty empty sheaves in the barn
     * @param magazines registered magazines
     * @param allocFastpath allocations served by a main sheaf
     * @param allocSlowpath allocations that found main and spare empty
     * @param freeFastpath frees taken by a main sheaf
     * @param freeSlowpath frees that found main and spare full
     * @param sheafRefills sheaves refilled from slabs
     * @param sheafFlushes sheaves flushed to slabs
     * @param barnGet full sheaves taken from the barn
     * @param barnGetFail barn visits that found no full sheaf
     * @param barnPut full sheaves given to the barn
     * @param barnPutFail barn visits that found the full list at its bound
     * @param sheafAlloc sheaves allocated
     * @param deferredFrees no-lock frees deferred
     * @param noLockFailures no-lock calls that could not proceed
     * @param rcuSheavesSubmitted rcu sheaves handed to the engine
     * @param directAllocs allocations served straight from slabs
     * @param corruptions corruptions found in the allocator's own links
     * @param magazineBytes bytes of free objects cached per thread: objects in the main, spare and
     *                      remote sheaves and the inboxes of every magazine times the object size
     *                      (the barn's are not included; cachedObjects counts both)
     * @param largestSheafCapacity the largest sheaf capacity of any magazine now (at most
     *                             sheafCapacityLimit; sheafCapacity when no magazine exists)
     * @param sheafCapacityLimit the bound adaptive capacities may grow to
     *                           ({@link SlabCache#sheafCapacityLimit()})
     * @param remoteFrees frees of objects whose slab is another thread's home slab, sent home in
     *                    a remote sheaf instead of into the freeing thread's main sheaf
     * @param remoteSheavesSent remote sheaves pushed on their home magazine's inbox
     * @param inboxTakes alloc slow paths served by the sheaves other threads sent home
     */
    public record Stats(String name, long objectSize, long slotSize, int objectsPerSlab, long slabBytes,
                        long slabs, long partialSlabs, long totalObjects, long activeObjects,
                        long cachedObjects, long deferredObjects, long rcuSheafObjects,
                        int sheafCapacity, int barnFull, int barnEmpty, int magazines,
                        long allocFastpath, long allocSlowpath, long freeFastpath, long freeSlowpath,
                        long sheafRefills, long sheafFlushes, long barnGet, long barnGetFail,
                        long barnPut, long barnPutFail, long sheafAlloc, long deferredFrees,
                        long noLockFailures, long rcuSheavesSubmitted, long directAllocs, long corruptions,
                        long magazineBytes, int largestSheafCapacity, int sheafCapacityLimit,
                        long remoteFrees, long remoteSheavesSent, long inboxTakes) { }

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(SlabCache.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final int LIVE = 0;
    static final int DESTROYED = 1;
    static final int CLOSED = 2;

    /** Bound of the barn's full and empty lists, in sheaves. */
    private static final int MAX_BARN_SHEAVES = 10;

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
    private final Set<SlabFlag> flags;
    /** False with CHEAP_FREE_CHECKS: alloc and free skip their state stores (see withUser). */
    private final boolean exactStates;
    /**
     * The state of an object with a user: ALLOCATED, or with CHEAP_FREE_CHECKS CACHED (what the
     * slab layer wrote when it handed the object to a sheaf), so that nothing on the fast paths
     * needs to write it and a cached object passes as allocated.
     */
    private final byte withUser;
    /** This cache's tag in the state map (ObjectStates notes), 0 if it has none. */
    final int tag;
    /** The heap range, for the tagged free check (PageSource.base / capacity). */
    private final long heapBase;
    private final long heapSize;
    /** PageSource.homeIds: the home of each block's slab, read by pushMain (RemoteFrees). */
    private final int[] homeIds;
    private final boolean sheaves;
    /** The sheaf capacity policy: base, bound, sheaf length (each magazine holds its own capacity). */
    final SheafSizing sizing;
    private final int objectsPerSlab;
    private final int slabBlocks;
    private final long slabBytes;
    /** ceil(2^40 / slotSize): object index = (offset * recip) >>> 40, exact for slabs <= 1 MiB. */
    private final long recip;
    final boolean kmalloc;
    /** The size class of a kmalloc cache (SlabAllocator.Local's magazine index), else -1. */
    final int sizeClass;
    /** This cache's index in Sheaf-aware threads' ThreadMagazines (CacheSlotIndexes). */
    final int threadIndex;
    /** JVM-wide id, never reused: what a ThreadMagazines slot must name to be this cache's. */
    final long id = CacheSlotIndexes.nextId();

    private final SlabHook[] hooks;
    private final SlabHook[] noLockAllocHooks;
    /** User hooks or debug mode: the one flag the fast paths test for both (DebugChecks notes). */
    private final boolean hasHooks;
    /** Debug mode's checks, or null; read only on the hooked paths. */
    final DebugChecks debug;
    /** Where an object starts inside its slot: the left red zone of a debug cache, else 0. */
    final long objectOffset;

    /** The platform threads' magazines, probed by the fast paths (MagazineRegistry writes it). */
    private final PerThreadTable<Magazine> local = new PerThreadTable<>();
    final Barn barn;
    final CacheCounters counters;
    final SlabNode node;
    final MagazineRegistry magazines;
    final RcuSheaves rcuSheaves;
    private final SheafExchange exchange;
    /** Remote frees: objects of another magazine's home slab go home (RemoteFrees). */
    final RemoteFrees remoteFrees;
    /** kmalloc_nolock / kfree_nolock of this cache. */
    final NoLockPaths noLockPaths;
    private volatile int state;

    SlabCache(SlabAllocator allocator, PageSource pages, CacheSpec spec, boolean kmalloc,
              SlabHook[] hooks, int carrierSlotCount, int tag) {
        this.allocator = allocator;
        this.pages = pages;
        this.name = spec.name();
        this.objectSize = spec.objectSize();
        this.alignment = Math.max(8, spec.alignment());
        boolean debugMode = spec.has(SlabFlag.DEBUG);
        // At least one state granule, so every object start has its own state byte; a debug
        // cache's slot holds the red zones around the object (RedZones).
        this.slotSize = debugMode ? RedZones.slotSize(objectSize, alignment)
                : Math.max(ObjectStates.GRANULE, (objectSize + alignment - 1) & -alignment);
        this.objectOffset = debugMode ? RedZones.leftPad(alignment) : 0;
        this.stateBias = pages.stateBias;
        this.linkOffset = spec.linkOffset();
        this.rcuLinkOffset = spec.rcuLinkOffset();
        this.flags = spec.flags();
        this.exactStates = debugMode || !spec.has(SlabFlag.CHEAP_FREE_CHECKS);
        this.tag = exactStates && slotSize % ObjectStates.GRANULE == 0 ? tag : 0;
        this.withUser = exactStates ? ObjectStates.allocated(this.tag) : ObjectStates.CACHED;
        this.heapBase = pages.base;
        this.heapSize = pages.capacity;
        this.homeIds = pages.homeIds;
        this.kmalloc = kmalloc;
        this.sizeClass = kmalloc ? SizeClasses.classOf(objectSize) : -1;
        int cap = spec.sheafCapacity() < 0 ? Sheaf.defaultCapacity(objectSize) : spec.sheafCapacity();
        this.sheaves = cap > 0;
        this.sizing = new SheafSizing(cap, spec.sheafCapacity() >= 0);
        this.slabBlocks = SlabNode.chooseSlabBlocks(slotSize);
        this.slabBytes = (long) slabBlocks << PageSource.BLOCK_SHIFT;
        this.objectsPerSlab = (int) (slabBytes / slotSize);
        this.recip = ((1L << 40) + slotSize - 1) / slotSize;
        this.hooks = hooks;
        this.debug = debugMode ? new DebugChecks(name, objectSize, objectOffset, slotSize, linkOffset,
                !spec.has(SlabFlag.TYPESAFE_BY_RCU), allocator.debugStackDepth()) : null;
        this.hasHooks = hooks.length > 0 || debugMode;
        this.noLockAllocHooks = Arrays.stream(hooks).filter(h -> !h.needsLock()).toArray(SlabHook[]::new);
        this.barn = new Barn(MAX_BARN_SHEAVES, MAX_BARN_SHEAVES);
        this.counters = new CacheCounters(name);
        this.node = new SlabNode(this, pages, counters, spec.has(SlabFlag.TYPESAFE_BY_RCU), spec.has(SlabFlag.POISON));
        this.magazines = new MagazineRegistry(this, sizing, local, carrierSlotCount);
        // Rcu sheaves enter the barn and then magazines: they share the one sheaf length.
        this.rcuSheaves = new RcuSheaves(this, magazines, barn, counters, sizing.sheafLength, stateBias);
        this.remoteFrees = new RemoteFrees(this, pages, barn, node, sizing.sheafLength);
        this.exchange = new SheafExchange(barn, node, sizing, spec.has(SlabFlag.LOCAL_FREES) ? null : remoteFrees);
        this.noLockPaths = new NoLockPaths(this, magazines, node, stateBias, hasHooks);
        this.threadIndex = CacheSlotIndexes.acquire(); // last: released by markDestroyed/markClosed
    }

    // ---------------------------------------------------------------------------------------
    // Public API

    /**
     * The cache's name.
     *
     * @return the cache's name
     */
    public String name() {
        return name;
    }

    /**
     * Bytes per object as requested at creation (also the usable size).
     *
     * @return the object size in bytes
     */
    public long objectSize() {
        return objectSize;
    }

    /**
     * Distance between objects in a slab (object size rounded up to the alignment).
     *
     * @return the slot size in bytes
     */
    public long slotSize() {
        return slotSize;
    }

    /**
     * The alignment of every object.
     *
     * @return the alignment in bytes
     */
    public long alignment() {
        return alignment;
    }

    /**
     * Where a free object keeps its free-list link.
     *
     * @return the offset of the link field
     */
    public long linkOffset() {
        return linkOffset;
    }

    /**
     * The rcu link offset declared at creation, or -1.
     *
     * @return the rcu link offset, or -1
     */
    public long rcuLinkOffset() {
        return rcuLinkOffset;
    }

    /**
     * The cache's flags.
     *
     * @return the flags given at creation
     */
    public Set<SlabFlag> flags() {
        return flags;
    }

    /**
     * Objects per sheaf a thread starts with: the capacity the spec pinned, or the kernel's table
     * value for the object size; 0 when the cache has no sheaves. With the table's value, a
     * thread whose bursts keep reaching the barn grows its own capacity up to
     * {@link #sheafCapacityLimit()} and shrinks back when idle ({@link Stats#largestSheafCapacity()}
     * shows the largest now).
     *
     * @return objects per sheaf at the start, or 0
     */
    public int sheafCapacity() {
        return sizing.base;
    }

    /**
     * The most objects per sheaf any thread may reach: four times {@link #sheafCapacity()} when
     * the capacity is adaptive (the spec's {@code -1}), equal to it when the spec pinned it.
     *
     * @return the bound on objects per sheaf, or 0 without sheaves
     */
    public int sheafCapacityLimit() {
        return sizing.max;
    }

    /**
     * Objects per slab.
     *
     * @return objects per slab
     */
    public int objectsPerSlab() {
        return objectsPerSlab;
    }

    /**
     * Bytes per slab.
     *
     * @return bytes per slab
     */
    public long slabBytes() {
        return slabBytes;
    }

    /**
     * True when {@code address} is the start or interior of an allocated slab of this cache.
     *
     * @param address any address
     * @return whether it lies in a live slab of this cache
     */
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
        return allocFor(0);
    }

    /**
     * alloc() for {@code requested} usable bytes (malloc's request; 0: the object size), which
     * only debug mode uses (its red zone starts there).
     */
    long allocFor(long requested) {
        if (!isLive()) {
            throw dead();
        }
        long a;
        Magazine m = probe(); // a hit is the calling platform thread's own magazine
        if (m != null && !m.busy) {
            a = popMain(m);
            if (a == 0) {
                a = allocSlowOwned(m);
            }
        } else {
            a = allocOther(m);
        }
        return handOut(a, requested);
    }

    /**
     * The end of alloc and allocWith: 0 is out of memory, else the object goes to its user
     * (state, hooks; {@code requested} as in allocFor).
     */
    private long handOut(long a, long requested) {
        if (a == 0) {
            throw allocator.outOfMemory(objectSize);
        }
        if (exactStates) {
            ObjectStates.set(stateBias, a, withUser);
        }
        if (hasHooks) {
            runAllocHooks(a, hooks, requested);
        }
        return a;
    }

    /** alloc() without a table hit: busy (re-entrant), overflow slot, new thread, or virtual thread. */
    private long allocOther(Magazine hit) {
        if (hit != null) {
            return node.takeOne(false);
        }
        Thread t = Thread.currentThread();
        if (t.isVirtual()) {
            return allocCarrier(false);
        }
        Magazine m = magazines.own();
        if (m == null) {
            m = magazines.newPlatform(t);
        } else if (m.busy) {
            return node.takeOne(false);
        }
        long a = popMain(m);
        return a != 0 ? a : allocSlowOwned(m);
    }

    /**
     * Pops the owner's main sheaf, first exchanging an empty main for a non-empty spare; 0 when
     * both are empty (no object lives at address 0). The exchange is here, not in the slow path,
     * so a burst of up to two sheaves never calls out of the caller's loop (see the notes).
     */
    static long popMain(Magazine m) {
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

    /**
     * Pushes onto the owner's main sheaf when the object's block names no home or this magazine and
     * main holds fewer than the magazine's capacity; onto the remote sheaf when it names the home
     * that sheaf is for and it has room; false otherwise, and the slow path (freeSlow) decides.
     */
    boolean pushMain(Magazine m, long a) {
        int home = homeIds[(int) ((a - heapBase) >>> PageSource.BLOCK_SHIFT)];
        if (home == 0 || home == m.homeId) {
            return pushLocal(m, a);
        }
        // Another thread's home slab: onto the remote sheaf for that home while it stays below the
        // send point; a new home, a missing sheaf or the send is the slow path's (RemoteFrees.route).
        Sheaf r = m.remote;
        int n;
        if (r == null || m.remoteHomeId != home || (n = r.size) >= m.capacity - 1) {
            return false;
        }
        r.objects[n] = a;
        r.size = n + 1;
        CacheCounters.count(m, CacheCounters.C_REMOTE);
        return true;
    }

    /** pushMain without the home test: for an object the slow path found local. */
    private boolean pushLocal(Magazine m, long a) {
        int n = m.mainSize;
        long[] objects = m.mainObjects;
        if (n >= m.capacity) {
            // Exchange a full main for an empty spare, written out as in popMain. A cache without
            // sheaves (capacity 0, never a spare) returns here; `!sheaves` is redundant with
            // `spare == null` but keeps the branch shape C2 compiles bursts best with (checked
            // in SheafCapacityBenchmark: without it, bursts of 100 are slower).
            Sheaf spare = m.spare;
            if (!sheaves || spare == null || spare.size != 0) {
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
        return allocNoLockFor(0);
    }

    /** allocNoLock for {@code requested} usable bytes (as allocFor). */
    long allocNoLockFor(long requested) {
        if (!isLive()) {
            throw dead();
        }
        long a = noLockPaths.alloc();
        if (a != 0) {
            if (exactStates) {
                ObjectStates.set(stateBias, a, withUser);
            }
            if (noLockAllocHooks.length > 0 || debug != null) {
                runAllocHooks(a, noLockAllocHooks, requested);
            }
        }
        return a;
    }

    /**
     * Frees an object of this cache. {@code free(0)} is a no-op.
     *
     * @param address an object of this cache, or 0
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
        checkObject(address);
        freeValidated(address);
    }

    /**
     * kfree_nolock: never parks, spin-waits or makes a system call; when a lock it needs is busy,
     * the object goes onto a lock-free deferred list freed by a later ordinary operation.
     *
     * @param address an object of this cache, or 0
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
        checkObject(address);
        noLockPaths.free(address);
    }

    /**
     * Allocates {@code count} objects into {@code out[0..count)} (kmem_cache_alloc_bulk): whole
     * sheaves are taken from the magazine and the barn where possible, the rest from slabs.
     *
     * @param out receives the addresses
     * @param count how many objects, 0..out.length
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
                m = magazines.own();
                if (m == null) {
                    m = magazines.newPlatform(t);
                } else if (m.busy) {
                    m = null;
                }
            } else {
                m = magazines.takeOut();
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
                int got = node.takeObjects(out, done, count - done, false);
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
                    magazines.giveBack(m);
                } else {
                    m.busy = false;
                }
            }
        }
        for (int i = 0; i < count; i++) {
            ObjectStates.set(stateBias, out[i], withUser);
        }
        if (hasHooks) {
            if (debug != null) {
                handOutBulkDebug(out, count);
            }
            for (int i = 0; i < count; i++) {
                runUserAllocHooks(out[i], hooks);
            }
        }
    }

    /**
     * Debug mode's hand-out checks of a bulk alloc, before any user hook ran: on damage every
     * object goes back (the damaged one repaired) and the first report is thrown.
     */
    private void handOutBulkDebug(long[] out, int count) {
        SlabCorruptionException first = null;
        boolean[] refused = null;
        for (int i = 0; i < count; i++) {
            SlabCorruptionException e = debug.handOut(out[i], objectSize);
            if (e != null) {
                first = first == null ? e : first;
                refused = refused == null ? new boolean[count] : refused;
                refused[i] = true; // repaired and still free in its record
            }
        }
        if (first != null) {
            for (int i = 0; i < count; i++) {
                if (!refused[i]) {
                    debug.release(out[i]); // never used: poisoned again, no report (zones just painted)
                }
                giveBackUnused(out[i]);
            }
            throw first;
        }
    }

    /**
     * Frees {@code count} objects of {@code objects[0..count)} (kmem_cache_free_bulk). Every
     * address is validated first; on a bad address (or one that is not allocated, or that appears
     * twice) nothing is freed and the exception says which.
     *
     * @param objects the addresses (0 entries are skipped)
     * @param count how many entries, 0..objects.length
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
                checkObject(a);
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
                    returnToUser(objects[i]);
                }
            }
            throw e;
        }
        SlabCorruptionException damage = null;
        for (int i = 0; i < count; i++) {
            long a = objects[i];
            if (a != 0) {
                if (hasHooks) {
                    SlabCorruptionException e = freeClaimedHooked(a);
                    damage = damage == null ? e : damage;
                } else {
                    putObject(a);
                }
            }
        }
        if (damage != null) {
            throw damage; // every object was freed; the first damage found
        }
    }

    /**
     * Frees the object after an RCU grace period (kfree_rcu). With sheaves, the object joins the
     * calling thread's rcu sheaf, which after its grace period becomes a full sheaf in the barn;
     * otherwise it is chained through the cache's rcu link offset (headless if none).
     *
     * @param address an object of this cache, or 0
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
        checkObject(address);
        if (sheaves) {
            rcuSheaves.free(address, rcuLinkOffset); // marks the cache itself
            return;
        }
        freeRcuWithoutSheaves(address);
    }

    /** freeRcu of a validated object of a cache without sheaves: the engine's chain (or headless). */
    void freeRcuWithoutSheaves(long address) {
        rcuSheaves.markUsed(); // so that destroy() waits for the engine's batches
        if (rcuLinkOffset >= 0) {
            allocator.engine().freeRcu(address, rcuLinkOffset);
        } else {
            allocator.engine().freeRcu(address);
        }
    }

    /**
     * A handle bound to the calling thread, holding that thread's magazine of this cache: its
     * alloc/free skip the per-call lookup of the thread's magazine. See {@link Local} for the
     * rules. A thread may hold several handles of one cache; they and the thread's plain calls
     * share its one magazine.
     *
     * @return a new handle owned by the calling thread
     * @throws IllegalStateException the cache is destroyed or the allocator closed
     */
    public Local local() {
        if (!isLive()) {
            throw dead();
        }
        Thread t = Thread.currentThread();
        return new Local(this, t, t.isVirtual() ? null : magazines.ownOrNew(t));
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

    /**
     * Counters; exact when no other thread uses the cache, approximate otherwise.
     *
     * @return a snapshot of the slab, sheaf and barn counters
     */
    public Stats stats() {
        return counters.stats(this);
    }

    @Override
    public String toString() {
        return "SlabCache[" + name + ", " + objectSize + " B]";
    }

    // ---------------------------------------------------------------------------------------
    // Validation

    IllegalStateException dead() {
        return new IllegalStateException(state == DESTROYED
                ? "cache '" + name + "' is destroyed" : "allocator is closed (cache '" + name + "')");
    }

    /**
     * The lifecycle check of the public entry points: a plain read (see the class notes). A
     * volatile read would forbid C2 to move or reuse memory accesses across it, on paths that
     * are otherwise a handful of loads.
     */
    boolean isLive() {
        return (int) STATE.get(this) == LIVE;
    }

    int state() {
        return state;
    }

    /**
     * Whether {@code address} is, by its state byte alone, an object start of this cache with a
     * user (ObjectStates notes: cache tags): in the heap, granule-aligned, and carrying this
     * cache's tagged ALLOCATED byte. Never throws and reads nothing outside the state map; false
     * sends the caller to checkObject, which says what is wrong. Always false for an untagged cache.
     */
    boolean isTaggedObject(long address) {
        return tag != 0 && Long.compareUnsigned(address - heapBase, heapSize) < 0
                && (address & (ObjectStates.GRANULE - 1)) == 0 && ObjectStates.get(stateBias, address) == withUser;
    }

    /**
     * The address check of this cache's own entry points: an object start of this cache in a live
     * slab. A tagged byte answers it without the slab lookup (isTaggedObject); whatever else is
     * found goes through checkObject(address, slab), which throws what is wrong.
     */
    void checkObject(long address) {
        if (!isTaggedObject(address)) {
            checkObject(address, pages.ownerOf(address));
        }
    }

    /** The state byte of this cache's objects with a user (tagged ALLOCATED, or CACHED: see withUser). */
    byte allocatedByte() {
        return withUser;
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
        long off = address - s.base - objectOffset;
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
        long off = address - s.base - objectOffset;
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

    /** A claim undone (an rcu sheaf the engine refused, a bulk free refused): back with the user. */
    void returnToUser(long a) {
        ObjectStates.set(stateBias, a, withUser);
    }

    /** Whether the object start {@code a} waits for a grace period: the one answer to "is it pending". */
    boolean isPending(long a) {
        return ObjectStates.get(stateBias, a) == ObjectStates.PENDING;
    }

    private IllegalStateException notAllocated(long a, byte st) {
        if (debug != null) {
            return debug.doubleFree(a, st);
        }
        return new IllegalStateException(String.format("object 0x%x of cache '%s' is not allocated: it is %s%s",
                a, name, ObjectStates.name(st), st == ObjectStates.FREE || st == ObjectStates.CACHED
                        ? " (double free, or a free of an address never handed out)" : ""));
    }

    // ---------------------------------------------------------------------------------------
    // Hooks

    /**
     * The hooked end of an alloc: debug mode's hand-out (on damage the object goes back and the
     * report is thrown), then the user hooks.
     */
    private void runAllocHooks(long a, SlabHook[] hs, long requested) {
        if (debug != null) {
            SlabCorruptionException e = debug.handOut(a, requested == 0 ? objectSize : requested);
            if (e != null) {
                giveBackUnused(a);
                throw e;
            }
        }
        runUserAllocHooks(a, hs);
    }

    private void runUserAllocHooks(long a, SlabHook[] hs) {
        for (SlabHook h : hs) {
            h.afterAlloc(this, a, objectSize);
        }
    }

    /**
     * An object that debug mode refused to hand out goes back to its slab (never waiting: the
     * no-lock alloc path calls this too), marked cached, no free hook run.
     */
    private void giveBackUnused(long a) {
        ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        if (!node.freeToSlabs(a, true)) {
            node.defer(a, false);
        }
    }

    /** The free hooks where nothing may throw a report (engine, drains): debug reports are kept for validate(). */
    void runFreeHooks(long a) {
        SlabCorruptionException e = runFreeHooksReporting(a);
        if (e != null) {
            debug.keep(e);
        }
    }

    /** The user's free hooks, then debug mode's release; the release's report, or null. */
    private SlabCorruptionException runFreeHooksReporting(long a) {
        for (SlabHook h : hooks) {
            h.beforeFree(this, a, objectSize);
        }
        return debug == null ? null : debug.release(a);
    }

    /** Tries every free hook without waiting; false if one could not run. */
    boolean tryFreeHooks(long a) {
        for (SlabHook h : hooks) {
            if (!h.tryBeforeFree(this, a, objectSize)) {
                return false;
            }
        }
        if (debug != null) {
            debug.releaseQuietly(a); // may wait briefly on the tracking table (debug mode only)
        }
        return true;
    }

    // ---------------------------------------------------------------------------------------
    // Free paths (address validated)

    /** free() after the address checks: the object must be allocated; hooks run before it leaves the user. */
    void freeValidated(long a) {
        checkAllocated(a);
        if (hasHooks) {
            freeHooked(a, null, false);
            return;
        }
        if (exactStates) {
            ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        }
        putObject(a);
    }

    /**
     * A handle's free after the address checks: as freeValidated, into the handle's magazine
     * {@code m} (the owner's; null on a virtual thread: a carrier magazine).
     */
    void freeValidated(Magazine m, long a) {
        checkAllocated(a);
        if (hasHooks) {
            freeHooked(a, m, true);
            return;
        }
        if (exactStates) {
            ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        }
        putOwned(m, a);
    }

    /** A handle's put of a cached object into its magazine {@code m} (see freeValidated(Magazine, long)). */
    private void putOwned(Magazine m, long a) {
        if (m == null) {
            freeCarrier(a, false);
        } else if (m.busy) {
            node.freeToSlabs(a, false); // re-entrant: a hook of this thread's slow path frees
        } else if (!pushMain(m, a)) {
            freeSlowOwned(m, a);
        }
    }

    /**
     * The hooked free of an allocated object (out of the fast paths): the hooks run (the user's,
     * then debug mode's release), the object is cached and put (a handle's into {@code m}); in
     * debug mode it enters the quarantine instead and the oldest quarantined object is freed to
     * its slab. A debug report is thrown after the free is complete.
     */
    private void freeHooked(long a, Magazine m, boolean handle) {
        SlabCorruptionException damage = runFreeHooksReporting(a);
        if (exactStates) {
            ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        }
        if (debug != null) {
            SlabCorruptionException late = quarantine(a);
            damage = damage == null ? late : damage;
        } else if (handle) {
            putOwned(m, a);
        } else {
            putObject(a);
        }
        if (damage != null) {
            throw damage;
        }
    }

    /**
     * freeBulk's hooked free of an object it already claimed (cached): the hooks, then the
     * quarantine in debug mode, else a put. The first report found, to be thrown when the whole
     * bulk is freed.
     */
    private SlabCorruptionException freeClaimedHooked(long a) {
        SlabCorruptionException damage = runFreeHooksReporting(a);
        if (debug != null) {
            SlabCorruptionException late = quarantine(a);
            return damage == null ? late : damage;
        }
        putObject(a);
        return damage;
    }

    /**
     * Debug mode: the freed object {@code a}, already cached, enters the quarantine; the oldest
     * one, if the quarantine was full, has its free memory checked and goes to its slab. The
     * evicted object's damage report (memory repaired), or null.
     */
    private SlabCorruptionException quarantine(long a) {
        long out = debug.quarantine.admit(a);
        if (out == 0) {
            return null;
        }
        SlabCorruptionException late = debug.evicted(out);
        node.freeToSlabs(out, false);
        return late;
    }

    /**
     * freeNoLock's step into the quarantine (debug mode, free hooks already run): true when the
     * object, marked cached first, entered it without waiting (the evicted one, if any, goes to
     * its slab or the deferred list, its report kept for validate()); false with debug off or
     * when the quarantine's lock was busy, and the caller puts the object as usual.
     */
    boolean tryQuarantine(long a) {
        if (debug == null) {
            return false;
        }
        ObjectStates.set(stateBias, a, ObjectStates.CACHED); // before another thread can evict it
        long out = debug.quarantine.tryAdmit(a);
        if (out == Quarantine.BUSY) {
            return false;
        }
        if (out != 0) {
            SlabCorruptionException late = debug.evicted(out);
            if (late != null) {
                debug.keep(late);
            }
            if (!node.freeToSlabs(out, true)) {
                node.defer(out, false);
            }
        }
        return true;
    }

    /** The engine's free of a pending object (its grace period has passed); no public checks. */
    void releasePending(long a) {
        if (!isPending(a)) {
            throw new IllegalStateException(String.format(
                    "object 0x%x of cache '%s' released after its grace period is %s, not pending",
                    a, name, ObjectStates.name(ObjectStates.get(stateBias, a))));
        }
        if (hasHooks) {
            runFreeHooks(a);
            ObjectStates.set(stateBias, a, ObjectStates.CACHED);
            if (debug != null) {
                SlabCorruptionException late = quarantine(a);
                if (late != null) {
                    debug.keep(late); // logged when found; validate() throws it
                }
                return;
            }
            putObject(a);
            return;
        }
        ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        putObject(a);
    }

    /**
     * An rcu sheaf's object after its grace period, hooks run and cached (RcuSheaves.ready): in
     * debug mode it enters the quarantine and the object it evicts (free memory checked, a report
     * kept for validate()) takes its place in the sheaf; 0 when nothing was evicted. With debug
     * off, {@code a} itself.
     */
    long quarantineFromRcuSheaf(long a) {
        if (debug == null) {
            return a;
        }
        long out = debug.quarantine.admit(a);
        if (out != 0) {
            SlabCorruptionException late = debug.evicted(out);
            if (late != null) {
                debug.keep(late);
            }
        }
        return out;
    }

    /**
     * The fast paths' probe: a hit is the calling platform thread's own magazine; null sends the
     * caller to its slow lookup (busy aside, the same cases as a PerThreadTable miss). A
     * Sheaf-aware thread's magazine is in its ThreadMagazines, every other's in the table.
     */
    private Magazine probe() {
        ThreadMagazines tm = ThreadMagazines.of(Thread.currentThread());
        return tm != null ? tm.find(this) : local.peek();
    }

    /** Test hook: the calling thread's entry in the PerThreadTable (none for a Sheaf-aware thread). */
    Magazine perThreadTableEntry() {
        return local.get();
    }

    /** The fast paths' probe, for RcuSheaves: a hit is the calling platform thread's own magazine. */
    Magazine probeOwn() {
        return probe();
    }

    /** Puts a validated object whose free hooks already ran. */
    private void putObject(long a) {
        Magazine m = probe();
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
            node.freeToSlabs(a, false);
            return;
        }
        Thread t = Thread.currentThread();
        if (t.isVirtual()) {
            freeCarrier(a, false);
            return;
        }
        Magazine m = magazines.own();
        if (m == null) {
            if (!sheaves) {
                node.freeToSlabs(a, false);
                return;
            }
            m = magazines.newPlatform(t);
        } else if (m.busy) {
            node.freeToSlabs(a, false);
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

    boolean freeCarrier(long a, boolean noLock) {
        if (!sheaves) {
            return node.freeToSlabs(a, noLock);
        }
        Magazine m = magazines.takeOut();
        if (m == null && !noLock) {
            m = magazines.newCarrier();
        }
        if (m == null) {
            return node.freeToSlabs(a, noLock);
        }
        try {
            return pushMain(m, a) || freeSlow(m, a, noLock);
        } finally {
            magazines.giveBack(m);
        }
    }

    /** free_to_pcs slow path with main full; the caller owns {@code m}. False only in noLock mode. */
    boolean freeSlow(Magazine m, long a, boolean noLock) {
        if (!sheaves) {
            return node.freeToSlabs(a, noLock);
        }
        int home = homeIds[(int) ((a - heapBase) >>> PageSource.BLOCK_SHIFT)];
        if (home != 0 && home != m.homeId && remoteFrees.route(m, a, noLock)) {
            return true;
        }
        // Kept here. pushMain may have refused it as another home's (homeIds changes under us: read
        // again above, it may now say otherwise), so main is not known to be full: push first,
        // and only a refused push leaves main full and the spare null or full for the exchange.
        if (pushLocal(m, a)) {
            return true;
        }
        m.syncMain();
        try {
            return exchange.replaceFullMain(m, a, noLock);
        } finally {
            m.loadMain();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Alloc paths

    /**
     * A handle's alloc after the lifecycle checks: as alloc(), from the handle's magazine {@code m}
     * (the owner's; null on a virtual thread: a carrier magazine).
     */
    long allocWith(Magazine m, long requested) {
        long a;
        if (m == null) {
            a = allocCarrier(false);
        } else if (m.busy) {
            a = node.takeOne(false); // re-entrant: a hook of this thread's slow path allocates
        } else {
            a = popMain(m);
            if (a == 0) {
                a = allocSlowOwned(m);
            }
        }
        return handOut(a, requested);
    }

    private long allocSlowOwned(Magazine m) {
        m.busy = true;
        try {
            return allocSlow(m, false);
        } finally {
            m.busy = false;
        }
    }

    long allocCarrier(boolean noLock) {
        if (!sheaves) {
            return node.takeOne(noLock);
        }
        Magazine m = magazines.takeOut();
        if (m == null && !noLock) {
            m = magazines.newCarrier();
        }
        if (m == null) {
            return node.takeOne(noLock);
        }
        try {
            long a = popMain(m);
            return a != 0 ? a : allocSlow(m, noLock);
        } finally {
            magazines.giveBack(m);
        }
    }

    /** alloc_from_pcs slow path with main empty; the caller owns {@code m}. 0 = nothing available. */
    long allocSlow(Magazine m, boolean noLock) {
        if (!sheaves) {
            return node.takeOne(noLock);
        }
        m.syncMain();
        try {
            return exchange.replaceEmptyMain(m, noLock);
        } finally {
            m.loadMain();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Lifecycle (called by SlabAllocator under its caches lock)

    /** Returns every cached object to slabs; with {@code allMagazines}, live threads' too. */
    void flushAll(boolean allMagazines) {
        if (debug != null) {
            for (long a : debug.quarantine.drain()) {
                SlabCorruptionException e = debug.evicted(a);
                if (e != null) {
                    debug.keep(e);
                }
                node.freeToSlabs(a, false);
            }
        }
        node.drainDeferred();
        magazines.reclaimDead();
        magazines.flushToSlabs(allMagazines);
        for (Sheaf s : barn.takeAllFull()) {
            node.flushSheaf(s, false);
            barn.putEmpty(s);
        }
    }

    /** Objects out of slabs (with users or cached anywhere), exact when nothing runs concurrently. */
    long liveObjectsExact() {
        return node.outOfSlabs();
    }

    /** destroy() after a successful flush: marks the cache dead and releases every slab. */
    void markDestroyed() {
        state = DESTROYED;
        node.releaseAllSlabs();
        CacheSlotIndexes.release(threadIndex); // stale ThreadMagazines entries name this cache: ignored
    }

    /** close() of the allocator: the cache is dead (called once, for a live cache). */
    void markClosed() {
        state = CLOSED;
        CacheSlotIndexes.release(threadIndex);
    }

    void runDestroyHooks(long live) {
        for (SlabHook h : hooks) {
            h.cacheDestroyed(this, live);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Thread-bound handle

    /**
     * A handle of one cache bound to the thread that created it ({@link SlabCache#local()}), like
     * a confined {@link java.lang.foreign.Arena}: only that thread may call its methods, others get
     * {@link WrongThreadException}. It holds the thread's magazine,
     * so its calls skip the lookup the plain entry points make; every check of the plain entry
     * points stays (address, object state, hooks, lifecycle), with the same exceptions.
     *
     * <p>The thread's plain calls and all its handles of the cache share one magazine, so mixing
     * them is consistent. {@link #close()} gives the magazine's cached objects back (to the barn
     * or the slabs; its partly filled rcu sheaf to the grace-period engine) and ends the handle;
     * the thread's magazine stays for its plain calls and other handles. A thread that dies with
     * an open handle is reclaimed like any dead thread.
     *
     * <p>On a virtual thread the handle holds no magazine (so that many virtual threads hoard no
     * sheaves): each call borrows a carrier magazine as the plain entry points do (an atomic swap
     * out and a CAS back), which is the cost of a plain call there.
     */
    public static final class Local implements AutoCloseable {
        private final SlabCache cache;
        private final Thread owner;
        /** The owner's magazine; null on a virtual thread (carrier magazines per call). */
        private final Magazine magazine;
        /** Owner-only. */
        private boolean closed;

        Local(SlabCache cache, Thread owner, Magazine magazine) {
            this.cache = cache;
            this.owner = owner;
            this.magazine = magazine;
        }

        /**
         * Allocates one object, as {@link SlabCache#alloc()}.
         *
         * @return the object's address, never 0
         * @throws WrongThreadException  called by a thread other than the handle's owner
         * @throws OutOfMemoryError      the allocator's capacity is exhausted
         * @throws IllegalStateException the handle is closed, the cache destroyed or the allocator closed
         */
        public long alloc() {
            checkUsable();
            return cache.allocWith(magazine, 0);
        }

        /**
         * Frees an object of the cache, as {@link SlabCache#free(long)}; {@code free(0)} is a no-op.
         *
         * @param address an object of the cache, or 0
         * @throws WrongThreadException     called by a thread other than the handle's owner
         * @throws IllegalArgumentException not an object start of the cache
         * @throws IllegalStateException    the object is not allocated, the handle is closed, the
         *                                  cache destroyed or the allocator closed; nothing is changed then
         */
        public void free(long address) {
            if (address == 0) {
                return;
            }
            checkUsable();
            cache.checkObject(address);
            cache.freeValidated(magazine, address);
        }

        /**
         * Frees the object after an RCU grace period, as {@link SlabCache#freeRcu(long)}: with
         * sheaves it joins the held magazine's rcu sheaf.
         *
         * @param address an object of the cache, or 0
         * @throws WrongThreadException     called by a thread other than the handle's owner
         * @throws IllegalArgumentException not an object start of the cache
         * @throws IllegalStateException    the object is not allocated, the handle is closed, the
         *                                  cache destroyed or the allocator closed
         */
        public void freeRcu(long address) {
            if (address == 0) {
                return;
            }
            checkUsable();
            cache.checkObject(address);
            if (!cache.sheaves) {
                cache.freeRcuWithoutSheaves(address);
            } else if (magazine != null) {
                cache.rcuSheaves.freeOwned(magazine, address);
            } else {
                cache.rcuSheaves.free(address, cache.rcuLinkOffset); // virtual thread: a carrier magazine
            }
        }

        /**
         * Ends the handle and gives the magazine's cached objects back (see the class comment).
         * A second close() is a no-op; close() after the cache is destroyed or the allocator
         * closed only ends the handle.
         *
         * @throws WrongThreadException called by a thread other than the handle's owner
         */
        @Override
        public void close() {
            if (Thread.currentThread() != owner) {
                throw wrongThread();
            }
            if (closed) {
                return;
            }
            closed = true;
            if (magazine != null && cache.isLive()) {
                cache.magazines.giveBackSheaves(magazine);
            }
        }

        /** The owner check, then the handle's and the cache's lifecycle (plain reads). */
        private void checkUsable() {
            if (Thread.currentThread() != owner) {
                throw wrongThread();
            }
            if (closed) {
                throw new IllegalStateException("handle of cache '" + cache.name + "' is closed");
            }
            if (!cache.isLive()) {
                throw cache.dead();
            }
        }

        private WrongThreadException wrongThread() {
            return new WrongThreadException("handle of cache '" + cache.name + "' belongs to thread "
                    + owner.getName() + ", used by " + Thread.currentThread().getName());
        }

        @Override
        public String toString() {
            return "SlabCache.Local[" + cache.name + ", " + owner.getName() + (closed ? ", closed]" : "]");
        }
    }
}
