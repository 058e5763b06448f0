package dev.sheaf.allocator;

import dev.sheaf.rcu.internal.PerThreadTable;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * Implementation notes.
 *
 * One thread's (or one carrier slot's) sheaves for one cache: the kernel's struct
 * slub_percpu_sheaves. `main` is never null; `spare` is null, empty or full, where full means
 * at least `capacity` objects (a sheaf filled by a magazine of larger capacity may hold more).
 *
 * `capacity` is how far pushMain fills main (and a refill takes): SheafSizing moves it on the slow
 * path; every sheaf array of the cache has room for the largest capacity, so a sheaf never holds
 * more than its array. It sits next to mainSize: pushMain compares the two and loads nothing else.
 * A magazine of a cache without sheaves has capacity 0, so every push fails into the slow path.
 *
 * The main sheaf is flattened into the magazine: `mainObjects` is main's array and `mainSize` its
 * count, so the fast path reaches an object in one load fewer (magazine -> array, not magazine ->
 * sheaf -> array); on a path that is a handful of dependent loads, that one is measurable. While a
 * sheaf is main, `mainSize` is its true count and `main.size` is stale. Every path that handles
 * main as a Sheaf (the slow paths, retiring, flushing) brackets that with syncMain() (write the
 * count back) and loadMain() (re-read array and count, main may have been replaced). The fast
 * path's main/spare exchange (SlabCache.popMain/pushMain) does both by hand: it writes the
 * outgoing main's count into that sheaf, which becomes the spare, and loads the new main's array.
 *
 * Ownership, not locking, protects main/spare/busy/counters:
 *  - a platform thread's magazine is reached only by that thread: through its own PerThreadTable
 *    slot, its own ThreadMagazines (Sheaf-aware threads) or a handle confined to it, so the fast
 *    path uses plain loads and stores; `cacheId` names the magazine's cache, for ThreadMagazines; `busy` (plain) is set across slow paths so that a re-entrant
 *    call on the same thread (from a hook, say) falls back instead of corrupting the sheaves;
 *  - a carrier magazine is taken out of its slot with an atomic swap and given back with a
 *    CAS; whoever holds it owns it (the swap/CAS order the plain accesses between owners).
 * Other threads read `mainSize`/`spare.size` racily for statistics only, and touch main/spare
 * only when the owner is dead (Thread.isAlive() == false orders the dead thread's writes).
 *
 * `rcuSheaf` is different: other threads (rcuBarrier's flush, the drainer's aged flush) steal
 * the objects the owner published in it while the owner lives (RcuSheaves notes: the published /
 * taken pair on the sheaf). Only the holder of the magazine writes the slot, with a release store
 * after the sheaf's generation is opened, so the owner reads it plain and a stealer with acquire.
 * The slot holds a sheaf whose generation is closed (taken count == capacity) only between the
 * owner's close and its next slot store; the owner submits the sheaf before that store, in a
 * try/finally with no waiting in it, so a barrier that meets a closed sheaf waits (bounded) for
 * the store and then knows the submission happened before it (waitWhileClosing).
 *
 * Remote frees (RemoteFrees notes): `homeId`, `remote` and `remoteHomeId` sit beside mainSize,
 * read by pushMain; `homeSlab` is written under the node lock; all but `inbox` are owner-only;
 * `inbox` is the one field other threads write while the owner lives (CAS), and lies after the
 * padding with the slow-path fields.
 *
 * Padding on both sides keeps the owner's hot fields off the cache lines of neighbouring
 * magazines of other threads: the superclass chain MagazinePad0 -> MagazineFields ->
 * MagazinePad1 -> Magazine (JCTools/Agrona style; the JVM lays out a superclass's fields first).
 *
 * Map: Magazine (main flattening, owner check, rcu sheaf slot, racy counts); MagazinePad0;
 * MagazineFields; MagazinePad1.
 */
final class Magazine extends MagazinePad1 {

    static final VarHandle RCU_SHEAF;
    static final VarHandle INBOX;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RCU_SHEAF = l.findVarHandle(MagazineFields.class, "rcuSheaf", Sheaf.class);
            INBOX = l.findVarHandle(Magazine.class, "inbox", Sheaf.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Slow paths in the current sizing window, and that window's number (SheafSizing,
     * owner-only). Here, after the padding: slow-path fields stay off the fast path's lines.
     */
    int misses;
    int sizingWindow;

    /**
     * The slab this magazine refills from (RemoteFrees: its home slab); written under the node
     * lock by SlabNode, which claims and disowns it.
     */
    Slab homeSlab;
    /** Owner-only: the home magazine of the remote sheaf (MagazineFields.remote), or null. */
    Magazine remoteHome;
    /**
     * Full remote sheaves other magazines sent here (RemoteFrees: a Treiber stack through
     * Sheaf.below; RemoteFrees.CLOSED once retired). Here, after the padding: remote threads CAS
     * it, and that must not disturb the lines of the owner's fast path.
     */
    volatile Sheaf inbox;

    /** A magazine of no cache (tests). */
    Magazine(int sheafLength, int capacity, Thread owner) {
        this(sheafLength, capacity, owner, null);
    }

    /**
     * @param sheafLength the cache's sheaf array length (SheafSizing.sheafLength)
     * @param capacity the starting fill limit: the cache's base capacity, 0 without sheaves
     * @param owner the platform thread, or null for a carrier magazine
     * @param cache the magazine's cache (null only in tests)
     */
    Magazine(int sheafLength, int capacity, Thread owner, SlabCache cache) {
        super(owner == null ? 0 : owner.threadId(), cache);
        this.main = new Sheaf(sheafLength);
        this.capacity = capacity;
        this.mainObjects = main.objects;
        this.owner = owner == null ? null : new WeakReference<>(owner);
    }

    /** Writes the flattened count back into main and returns main, for code that handles it as a Sheaf. */
    Sheaf syncMain() {
        Sheaf s = main;
        s.size = mainSize;
        return s;
    }

    /** Re-reads main's array and count after code that may have replaced or changed main. */
    void loadMain() {
        Sheaf s = main;
        mainObjects = s.objects;
        mainSize = s.size;
    }

    /** True when the owning platform thread is gone (never for carrier magazines). */
    boolean ownerDead() {
        if (owner == null) {
            return false;
        }
        Thread t = owner.get();
        return t == null || !t.isAlive();
    }

    /** The holder's own read of its rcu sheaf (plain: only the holder writes the slot). */
    Sheaf ownRcuSheaf() {
        return (Sheaf) RCU_SHEAF.get(this);
    }

    /** The holder installs {@code s} (opened, or null); release: its generation is seen with it. */
    void publishRcuSheaf(Sheaf s) {
        RCU_SHEAF.setRelease(this, s);
    }

    /** A stealer's read of the rcu sheaf (acquire: the sheaf's opened generation comes with it). */
    Sheaf rcuSheafForSteal() {
        return (Sheaf) RCU_SHEAF.getAcquire(this);
    }

    /**
     * A barrier met {@code s} in the slot with its generation closed ({@code closedTaken}): the
     * holder is between its close and its slot store, which it reaches without waiting. Spins,
     * then yields, until the slot holds something else or {@code s} is opened again.
     */
    @SuppressWarnings("ThreadPriorityCheck") // yield only after a bounded spin: the owner may be off the CPU
    void waitWhileClosing(Sheaf s, long closedTaken) {
        int spins = 0;
        while (RCU_SHEAF.getAcquire(this) == s && (long) Sheaf.TAKEN.getVolatile(s) == closedTaken) {
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield(); // the owner may be descheduled (or a parked virtual thread) mid-close
            }
        }
    }

    /** Objects cached here: main, spare, the remote sheaf and the inbox (racy, for statistics). */
    int cachedObjects() {
        Sheaf s = spare;
        Sheaf r = remote;
        int n = mainSize + (s == null ? 0 : s.size) + (r == null ? 0 : r.size);
        Sheaf i = inbox;
        // At most depth steps: a racy walk may meet a sheaf that has since moved to another inbox.
        for (int k = i == null ? 0 : i.depth; i != null && k > 0; i = i.below, k--) {
            n += i.size;
        }
        return n;
    }

    int rcuObjects() {
        Sheaf r = rcuSheaf;
        return r == null ? 0 : r.rcuHeld();
    }
}

@SuppressWarnings("unused")
abstract class MagazinePad0 extends PerThreadTable.Entry {
    private long p00, p01, p02, p03, p04, p05, p06, p07;

    MagazinePad0(long ownerTid) {
        super(ownerTid);
    }
}

abstract class MagazineFields extends MagazinePad0 {
    /** Home ids handed out: 1, 2, ... (an int: 2^31 magazines before one would repeat). */
    private static final AtomicInteger HOME_IDS = new AtomicInteger();

    MagazineFields(long ownerTid, SlabCache cache) {
        super(ownerTid);
        this.cacheId = cache == null ? 0 : cache.id;
    }

    /**
     * The id of the cache whose magazine this is (SlabCache.id; 0 without one): a ThreadMagazines
     * slot is trusted only when it names the probing cache (slot indexes are recycled). An id, not
     * a reference, so a thread's table never keeps a dead allocator reachable (its address range
     * is unmapped only once nothing reaches it). Among the owner's hot fields, so the check reads
     * a cache line the fast path reads anyway.
     */
    final long cacheId;

    /** The main sheaf: its array is mainObjects, its count mainSize (main.size is stale, see the notes). */
    Sheaf main;
    long[] mainObjects;
    int mainSize;
    /** Objects pushMain fills main to (SheafSizing; owner-written, read racily by stats). */
    int capacity;
    /**
     * This magazine's id in PageSource.homeIds (RemoteFrees): never 0, never reused. pushMain keeps
     * an object whose block names no home or this one. Among the owner's hot fields.
     */
    final int homeId = HOME_IDS.incrementAndGet();
    /**
     * Owner-only: the sheaf of objects freed here whose home is another magazine (remoteHomeId,
     * Magazine.remoteHome), or null; pushMain appends to it while it has room (RemoteFrees).
     */
    Sheaf remote;
    int remoteHomeId;
    Sheaf spare;
    boolean busy;
    long allocFast;
    long freeFast;
    /** Slow-path event counts (CacheCounters indices), owner-written like the two above. */
    final long[] events = new long[CacheCounters.COUNTERS];
    volatile Sheaf rcuSheaf;
    /** rcu sheaves the owner submitted (owner-written, read racily by the aged flush). */
    int rcuSubmits;
    /** The aged flush's last sighting: this rcu sheaf, non-empty, after rcuSubmits submissions (drainer-only). */
    Sheaf agedSeen;
    int agedSeenSubmits;
    WeakReference<Thread> owner;
    /** Set under MagazineRegistry.lock by the one reclaimer retiring this dead owner's magazine. */
    boolean retiring;
}

@SuppressWarnings("unused")
abstract class MagazinePad1 extends MagazineFields {
    private long p10, p11, p12, p13, p14, p15, p16, p17;

    MagazinePad1(long ownerTid, SlabCache cache) {
        super(ownerTid, cache);
    }
}
