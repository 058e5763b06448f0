package dev.sheaf.allocator;

import dev.sheaf.rcu.internal.PerThreadTable;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;

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
 *  - a platform thread's magazine is reached only through its own PerThreadTable slot, so the fast path
 *    uses plain loads and stores; `busy` (plain) is set across slow paths so that a re-entrant
 *    call on the same thread (from a hook, say) falls back instead of corrupting the sheaves;
 *  - a carrier magazine is taken out of its slot with an atomic swap and given back with a
 *    CAS; whoever holds it owns it (the swap/CAS order the plain accesses between owners).
 * Other threads read `mainSize`/`spare.size` racily for statistics only, and touch main/spare
 * only when the owner is dead (Thread.isAlive() == false orders the dead thread's writes).
 *
 * `rcuSheaf` is different: rcuBarrier() on another thread must be able to flush it while the
 * owner lives. The owner swaps in RCU_BUSY for the length of one freeRcu (getAndSet) and stores
 * its sheaf back with a release store; a flusher takes the sheaf with a CAS to null and, finding
 * RCU_BUSY, waits for that one call to end. It must: the sheaf in the owner's hands holds objects
 * of freeRcu calls that returned before the barrier began (the kernel gets the same from running
 * the flush on each CPU with the owner unable to be half-way through). The owner never waits: a
 * null slot means a flush took the sheaf, and the owner starts a new one. RCU_BUSY is never
 * left behind: the owner's window is a try/finally with no waiting for other threads in it.
 *
 * Padding on both sides keeps the owner's hot fields off the cache lines of neighbouring
 * magazines of other threads: the superclass chain MagazinePad0 -> MagazineFields ->
 * MagazinePad1 -> Magazine (JCTools/Agrona style; the JVM lays out a superclass's fields first).
 *
 * Map: Magazine (main flattening, owner check, rcu sheaf protocol, racy counts); MagazinePad0;
 * MagazineFields; MagazinePad1.
 */
final class Magazine extends MagazinePad1 {

    static final VarHandle RCU_SHEAF;
    /** The rcuSheaf value while the owner is inside a freeRcu call (see the notes). */
    static final Sheaf RCU_BUSY = new Sheaf(0);

    static {
        try {
            RCU_SHEAF = MethodHandles.lookup().findVarHandle(MagazineFields.class, "rcuSheaf", Sheaf.class);
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
     * @param sheafLength the cache's sheaf array length (SheafSizing.sheafLength)
     * @param capacity the starting fill limit: the cache's base capacity, 0 without sheaves
     * @param owner the platform thread, or null for a carrier magazine
     */
    Magazine(int sheafLength, int capacity, Thread owner) {
        super(owner == null ? 0 : owner.threadId());
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

    /** Marks the rcu sheaf in use by the owner for one freeRcu call; its sheaf, or null if a flush took it. */
    Sheaf beginRcu() {
        return (Sheaf) RCU_SHEAF.getAndSet(this, RCU_BUSY);
    }

    /** Ends the owner's call: {@code s} (may be null) becomes the rcu sheaf again. */
    void endRcu(Sheaf s) {
        RCU_SHEAF.setRelease(this, s);
    }

    /**
     * A flusher (rcuBarrier, or the reclaimer of a dead owner's magazine) takes the rcu sheaf,
     * first waiting out an owner that is inside a freeRcu call; null if there is none.
     */
    @SuppressWarnings("ThreadPriorityCheck") // yield only after a bounded spin: the owner may be off the CPU
    Sheaf takeRcuSheafForFlush() {
        int spins = 0;
        while (true) {
            Sheaf s = (Sheaf) RCU_SHEAF.getVolatile(this);
            if (s == null) {
                return null;
            }
            if (s != RCU_BUSY) {
                if (RCU_SHEAF.compareAndSet(this, s, (Sheaf) null)) {
                    return s;
                }
            } else if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield(); // the owner may be descheduled (or a parked virtual thread) mid-call
            }
        }
    }

    /**
     * The drainer's aged flush takes {@code s} if it is still the idle rcu sheaf; null when the
     * owner is inside a call or has another sheaf. Never waits.
     */
    Sheaf takeRcuSheafIfIdle(Sheaf s) {
        return s != RCU_BUSY && RCU_SHEAF.compareAndSet(this, s, (Sheaf) null) ? s : null;
    }

    /**
     * Puts back a sheaf a flusher took but did not submit, unless the owner has meanwhile
     * started a new one: a plain store here could overwrite the owner's sheaf and lose its objects.
     */
    boolean putRcuSheafIfAbsent(Sheaf s) {
        return RCU_SHEAF.compareAndSet(this, (Sheaf) null, s);
    }

    int cachedObjects() {
        Sheaf s = spare;
        return mainSize + (s == null ? 0 : s.size);
    }

    int rcuObjects() {
        Sheaf r = rcuSheaf;
        return r == null ? 0 : r.size;
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
    MagazineFields(long ownerTid) {
        super(ownerTid);
    }

    /** The main sheaf: its array is mainObjects, its count mainSize (main.size is stale, see the notes). */
    Sheaf main;
    long[] mainObjects;
    int mainSize;
    /** Objects pushMain fills main to (SheafSizing; owner-written, read racily by stats). */
    int capacity;
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

    MagazinePad1(long ownerTid) {
        super(ownerTid);
    }
}
