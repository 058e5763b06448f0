package dev.sheaf.allocator;

import java.util.concurrent.atomic.AtomicLongArray;

/*
 * Implementation notes.
 *
 * The event counters of one cache (the kernel's stat_items, SLUB_STATS). Two kinds:
 *
 *  - per magazine: the fast-path counts (Magazine.allocFast/freeFast) and the slow-path events
 *    (Magazine.events, indexed by the constants below) are plain fields written by the magazine's
 *    owner only. Every refill or flush of every thread writing one shared atomic would make the
 *    slow paths contend on one cache line (the kernel keeps these per CPU for the same reason).
 *  - shared: events of paths that have no magazine (direct slab access, the engine's callbacks,
 *    rcu sheaves, corruption reports) are atomic adds into `shared`; a retired magazine's counts
 *    are added here too (absorb), so that nothing counted is lost when a thread dies.
 *
 * A snapshot (SlabCache.stats) adds the live magazines' plain fields, read racily under the
 * registry lock, to the shared array: exact when no other thread uses the cache.
 *
 * Map: event indices; count (owner's plain increment); add (shared); absorb (retire a
 * magazine); snapshot; stats (SlabCache.Stats); reportCorruption.
 */
/** The counters of one cache and its corruption report. */
final class CacheCounters {

    // Event indices, shared by Magazine.events and `shared`.
    static final int C_ALLOC_SLOW = 0;
    static final int C_FREE_SLOW = 1;
    static final int C_REFILL = 2;
    static final int C_FLUSH = 3;
    static final int C_BARN_GET = 4;
    static final int C_BARN_GET_FAIL = 5;
    static final int C_BARN_PUT = 6;
    static final int C_BARN_PUT_FAIL = 7;
    static final int C_SHEAF_ALLOC = 8;
    static final int C_DEFERRED = 9;
    static final int C_NOLOCK_FAIL = 10;
    static final int C_RCU_SHEAF = 11;
    static final int C_DIRECT = 12;
    /** Fast-path allocations: of retired magazines in `shared`, of all magazines in a snapshot. */
    static final int C_ALLOC_FAST = 13;
    /** Fast-path frees: of retired magazines in `shared`, of all magazines in a snapshot. */
    static final int C_FREE_FAST = 14;
    static final int C_CORRUPT = 15;
    /** Objects a free routed to a remote sheaf (RemoteFrees). */
    static final int C_REMOTE = 16;
    /** Remote sheaves pushed on their home's inbox. */
    static final int C_REMOTE_SENT = 17;
    /** Alloc slow paths served by the magazine's inbox. */
    static final int C_INBOX = 18;
    /** Length of Magazine.events and of `shared`. */
    static final int COUNTERS = 19;

    private static final System.Logger CORRUPTION_LOG = System.getLogger("dev.sheaf.allocator.corruption");

    private final String cacheName;
    private final AtomicLongArray shared = new AtomicLongArray(COUNTERS);

    CacheCounters(String cacheName) {
        this.cacheName = cacheName;
    }

    /** Counts an event in the owner's magazine: a plain increment, like the fast-path counters. */
    static void count(Magazine m, int counter) {
        m.events[counter]++;
    }

    /** Counts an event of a path without a magazine. */
    void add(int counter) {
        shared.incrementAndGet(counter);
    }

    /** Moves a retired magazine's counts into the shared counters and zeroes them. */
    void absorb(Magazine m) {
        shared.addAndGet(C_ALLOC_FAST, m.allocFast);
        shared.addAndGet(C_FREE_FAST, m.freeFast);
        m.allocFast = 0;
        m.freeFast = 0;
        for (int i = 0; i < COUNTERS; i++) {
            shared.addAndGet(i, m.events[i]);
            m.events[i] = 0;
        }
    }

    /** The shared counters; the caller adds the live magazines (see addMagazine). */
    long[] snapshot() {
        long[] c = new long[COUNTERS];
        for (int i = 0; i < COUNTERS; i++) {
            c[i] = shared.get(i);
        }
        return c;
    }

    /** Adds a live magazine's counts to a snapshot (racy read of the owner's plain fields). */
    static void addMagazine(long[] snapshot, Magazine m) {
        snapshot[C_ALLOC_FAST] += m.allocFast;
        snapshot[C_FREE_FAST] += m.freeFast;
        for (int i = 0; i < COUNTERS; i++) {
            snapshot[i] += m.events[i];
        }
    }

    /** The cache's Stats: slab counts, this snapshot plus the live magazines, barn and deferred counts. */
    SlabCache.Stats stats(SlabCache cache) {
        long[] n = cache.node.counts();
        long slabs = n[0], partial = n[1], out = n[2];
        long[] c = snapshot();
        long[] objects = new long[3]; // cached in magazines, in rcu sheaves, largest magazine capacity
        objects[2] = cache.sheafCapacity();
        int mags = cache.magazines.addTo(c, objects);
        Barn barn = cache.barn;
        long cached = objects[0] + barn.fullObjects()
                + (cache.debug != null ? cache.debug.quarantine.size() : 0); // debug: freed, waiting before reuse
        long rcuObjects = objects[1];
        long deferredObjects = cache.node.deferredCount();
        int[] bc = barn.counts();
        long active = Math.max(0, out - cached - deferredObjects - rcuObjects);
        int perSlab = cache.objectsPerSlab();
        return new SlabCache.Stats(cacheName, cache.objectSize(), cache.slotSize(), perSlab, cache.slabBytes(),
                slabs, partial, slabs * perSlab, active, cached, deferredObjects, rcuObjects, cache.sheafCapacity(),
                bc[0], bc[1], mags, c[C_ALLOC_FAST], c[C_ALLOC_SLOW], c[C_FREE_FAST], c[C_FREE_SLOW],
                c[C_REFILL], c[C_FLUSH], c[C_BARN_GET], c[C_BARN_GET_FAIL], c[C_BARN_PUT], c[C_BARN_PUT_FAIL],
                c[C_SHEAF_ALLOC], c[C_DEFERRED], c[C_NOLOCK_FAIL], c[C_RCU_SHEAF], c[C_DIRECT], c[C_CORRUPT],
                objects[0] * cache.objectSize(), (int) objects[2], cache.sheafCapacityLimit(),
                c[C_REMOTE], c[C_REMOTE_SENT], c[C_INBOX]);
    }

    /** Reports damage found in the allocator's own links; the caller goes on without the bad link. */
    void reportCorruption(String what) {
        shared.incrementAndGet(C_CORRUPT);
        CORRUPTION_LOG.log(System.Logger.Level.ERROR, "cache '" + cacheName + "': " + what);
    }
}
