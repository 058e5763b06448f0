package dev.sheaf.allocator;

import dev.sheaf.allocator.rcufree.RcuFreeEngine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import static dev.sheaf.allocator.CacheCounters.C_RCU_SHEAF;
import static dev.sheaf.allocator.CacheCounters.C_SHEAF_ALLOC;

/*
 * Implementation notes.
 *
 * The rcu sheaves of one cache (the kernel's kfree_rcu_sheaf / rcu_free_sheaf). freeRcu of a
 * cache with sheaves puts the object, marked pending, into the caller's magazine's rcu sheaf
 * (Magazine.rcuSheaf; see Magazine for the RCU_BUSY protocol that lets a barrier on another thread
 * take it). A full rcu sheaf is submitted to the RcuFreeEngine; after its grace period the engine
 * hands it back (ready): its objects become cached again and the sheaf enters the barn as a full
 * one, or, with the barn's full list at its bound, its objects go to slabs and the sheaf stays in
 * the barn as an empty one for the next rcu sheaf. Every submitted sheaf comes back, so the barn
 * is allowed as many extra empties as the peak of sheaves in flight (Barn notes): a steady stream
 * of freeRcu allocates nothing.
 *
 * Partly filled sheaves: the engine's drainer calls flushAged about once per drain delay; a sheaf
 * that held objects at the previous pass too, with no submission by its owner in between, is taken
 * (only if its owner is not inside a call) and submitted. rcuBarrier/close flush every one
 * (flushAll), waiting out an owner inside a call, and first waiting for an aged pass that holds
 * sheaves it took but has not yet submitted (`agedLock`).
 *
 * `used` goes only from false to true (the first freeRcu), so it is read plain on the per-call path:
 * a stale false costs one more volatile store, while a volatile read would forbid C2 to move or
 * reuse memory accesses across it. Barriers and the drainer skip caches that never used it.
 *
 * The engine is called with no allocator lock held. Lock order: see SlabCache's notes.
 *
 * Map: fields; free (the per-call path: lookup, then freeOwned / putPending); emptySheaf, submit; flushAged; openBytes; flushAll;
 * used flag; ready (the engine's callback) and releasePending.
 */
/** The rcu sheaves of one cache: freeRcu into sheaves, their submission and their return. */
final class RcuSheaves {

    private static final VarHandle USED;

    static {
        try {
            USED = MethodHandles.lookup().findVarHandle(RcuSheaves.class, "used", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final SlabCache cache;
    private final MagazineRegistry magazines;
    private final Barn barn;
    private final CacheCounters counters;
    private final int capacity;
    private final long objectSize;
    private final long stateBias;

    /** Rcu sheaves submitted and not yet handed back by the engine. */
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Highest inFlight seen (racy maximum: it only sizes the barn's allowance of empty sheaves). */
    private volatile int peakInFlight;
    private volatile boolean used;

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

    RcuSheaves(SlabCache cache, MagazineRegistry magazines, Barn barn, CacheCounters counters, int capacity,
               long stateBias) {
        this.cache = cache;
        this.magazines = magazines;
        this.barn = barn;
        this.counters = counters;
        this.capacity = capacity;
        this.objectSize = cache.objectSize();
        this.stateBias = stateBias;
    }

    /**
     * kfree_rcu_sheaf: the validated object joins the caller's rcu sheaf. A virtual thread that
     * finds no carrier magazine hands it to the engine's chain (through {@code fallbackLinkOffset},
     * headless if negative).
     */
    void free(long a, long fallbackLinkOffset) {
        markUsed();
        Magazine m = cache.probeOwn(); // a hit is the calling platform thread's own magazine
        if (m != null) {
            freeOwned(m, a);
            return;
        }
        Thread t = Thread.currentThread();
        if (!t.isVirtual()) {
            freeOwned(magazines.ownOrNew(t), a);
            return;
        }
        m = magazines.takeOut();
        if (m == null) {
            m = magazines.newCarrier();
        }
        if (m == null) {
            if (fallbackLinkOffset >= 0) {
                cache.allocator.engine().freeRcu(a, fallbackLinkOffset);
            } else {
                cache.allocator.engine().freeRcu(a);
            }
            return;
        }
        boolean submitted;
        try {
            submitted = putPending(m, a);
        } finally {
            magazines.giveBack(m);
        }
        if (submitted) {
            cache.allocator.engine().meetPendingBound(); // with nothing held, as in freeOwned
        }
    }

    /**
     * kfree_rcu_sheaf into a magazine the caller owns ({@code m}: the calling platform thread's,
     * found by free() or held by a handle): the validated object joins its rcu sheaf.
     */
    void freeOwned(Magazine m, long a) {
        markUsed();
        if (putPending(m, a)) {
            // The pending bound, met with nothing held: no RCU_BUSY window a barrier would wait
            // on, no carrier magazine; inside a read section it only helps, never waits.
            cache.allocator.engine().meetPendingBound();
        }
    }

    /** The object, marked pending, joins {@code m}'s rcu sheaf; true when that filled and submitted the sheaf. */
    private boolean putPending(Magazine m, long a) {
        boolean submitted = false;
        // RCU_BUSY in the slot until endRcu: a concurrent rcuBarrier waits for this call to
        // end instead of missing the objects of earlier calls that this sheaf holds.
        Sheaf r = m.beginRcu();
        try {
            if (r == null) {
                r = emptySheaf();
            }
            int n = r.size;
            if (n == 0) {
                // Opening a sheaf: a caller that may not wait meets the engine's hard cap here.
                cache.allocator.engine().checkHardCapForRcuSheaf(a);
            }
            cache.claimPending(a);
            r.objects[n] = a;
            r.size = n + 1;
            if (n + 1 == capacity) {
                try {
                    submit(r);
                } catch (RuntimeException e) {
                    // Not taken (the engine is closed): this call is undone, the sheaf keeps
                    // the others, so the slot never holds a full sheaf.
                    r.size = n;
                    cache.returnToUser(a);
                    throw e;
                }
                m.rcuSubmits++;
                submitted = true;
                r = null; // the engine's now; if taking an empty one fails, the slot stays empty
                r = emptySheaf();
            }
        } finally {
            m.endRcu(r);
        }
        return submitted;
    }

    /** An empty sheaf for the rcu path: the barn's (recycled rcu sheaves included), else a new one. */
    private Sheaf emptySheaf() {
        Sheaf e = barn.takeEmpty(false);
        if (e == null) {
            counters.add(C_SHEAF_ALLOC);
            e = new Sheaf(capacity);
        }
        return e;
    }

    /** Hands a sheaf of pending objects to the engine; it comes back through ready(). */
    void submit(Sheaf r) {
        counters.add(C_RCU_SHEAF);
        RcuFreeEngine engine = cache.allocator.engine();
        int f = inFlight.incrementAndGet();
        if (f > peakInFlight) {
            // Every sheaf in flight comes back; keep room to recycle them all as empties (Barn notes).
            peakInFlight = f;
            barn.allowEmpty(f);
        }
        try {
            engine.submitRcuSheaf(cache, r);
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            throw e;
        }
    }

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
    void flushAged() {
        if (!agedLock.tryLock()) {
            return;
        }
        try {
            flushAgedLocked();
        } finally {
            agedLock.unlock();
        }
    }

    private void flushAgedLocked() {
        int n = 0;
        ReentrantLock registryLock = magazines.lock;
        registryLock.lock();
        try {
            for (Magazine m : magazines.all()) {
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
                            agedScratch = Arrays.copyOf(agedScratch, n * 2);
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
            submit(r);
        }
    }

    /** Bytes waiting in partly filled rcu sheaves (racy sum, lock-free; for the engine's pending bound). */
    long openBytes() {
        long objects = 0;
        for (Magazine m : magazines.all()) { // lock-free, for freeRcuNoLock's cap check
            objects += m.rcuObjects();
        }
        return objects * objectSize;
    }

    /** Hands every magazine's partly filled rcu sheaf to the engine (for rcuBarrier/close). */
    void flushAll() {
        // An aged pass may have taken sheaves out of their slots and not yet submitted them: wait
        // for it, or this barrier would find those slots empty and return before they are freed.
        agedLock.lock();
        try {
            for (Magazine m : magazines.all()) {
                Sheaf r = m.takeRcuSheafForFlush(); // waits out an owner in the middle of a freeRcu
                if (r != null && r.size > 0) {
                    submit(r);
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
     * false to true, so the check is a plain read (see the notes).
     */
    void markUsed() {
        if (!(boolean) USED.get(this)) {
            used = true;
        }
    }

    /** Whether freeRcu was ever called on the cache (volatile read). */
    boolean used() {
        return used;
    }

    /**
     * The engine's callback: a sealed rcu sheaf whose grace period has passed. It enters the barn
     * as a full sheaf; with the full list at its bound its objects go to slabs and the sheaf
     * itself stays in the barn as an empty one for the next rcu sheaf (no allocation, no garbage).
     */
    void ready(Sheaf s) {
        inFlight.decrementAndGet();
        if (cache.state() == SlabCache.CLOSED) {
            return;
        }
        int count = releasePending(s);
        if (cache.state() == SlabCache.LIVE && count > 0 && s.objects.length == capacity && barn.putFull(s)) {
            return;
        }
        cache.node.flushSheaf(s, false);
        if (s.objects.length == capacity && cache.state() == SlabCache.LIVE) {
            barn.putEmpty(s);
        }
    }

    /**
     * An rcu sheaf's objects after their grace period: pending -> cached, hooks run. An object
     * that is not pending (corruption) is reported and left out; the rest stay. The new count.
     */
    private int releasePending(Sheaf s) {
        long[] objects = s.objects;
        int kept = 0;
        for (int i = 0; i < s.size; i++) {
            long a = objects[i];
            if (!cache.isPending(a)) {
                counters.reportCorruption(String.format("object 0x%x of an rcu sheaf is %s after its grace period,"
                        + " not pending; left out", a, ObjectStates.name(ObjectStates.get(stateBias, a))));
                continue;
            }
            cache.runFreeHooks(a);
            ObjectStates.set(stateBias, a, ObjectStates.CACHED);
            objects[kept++] = a;
        }
        s.size = kept;
        return kept;
    }
}
