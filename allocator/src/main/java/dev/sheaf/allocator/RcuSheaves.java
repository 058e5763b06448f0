package dev.sheaf.allocator;

import dev.sheaf.allocator.rcufree.RcuFreeEngine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import static dev.sheaf.allocator.CacheCounters.C_RCU_SHEAF;
import static dev.sheaf.allocator.CacheCounters.C_SHEAF_ALLOC;

/*
 * Implementation notes.
 *
 * The rcu sheaves of one cache (the kernel's kfree_rcu_sheaf / rcu_free_sheaf). freeRcu of a
 * cache with sheaves puts the object, marked pending, into the caller's magazine's rcu sheaf
 * (Magazine.rcuSheaf). A full rcu sheaf is submitted to the RcuFreeEngine; after its grace period
 * the engine hands it back (ready): its objects become cached again and the sheaf enters the barn
 * as a full one, or, with the barn's full list at its bound, its objects go to slabs and the sheaf
 * stays in the barn as an empty one for the next rcu sheaf.
 *
 * The owner's path has no locked instruction (the steps are RcuSheafProtocol's). Each rcu sheaf
 * carries two packed longs, (generation << 32 | count) (Sheaf): `published`, written only by
 * the owner, and `taken`, the prefix [0, t) of that generation no longer the owner's, moved
 * forward only by CAS.
 *  - Owner add: claim the object (state byte PENDING), objects[n] = a, then a release store of
 *    published = (g, n + 1). Plain and release stores only.
 *  - Owner close (the sheaf is full): CAS taken from (g, t) to (g, capacity), retried while
 *    stealers move t: one CAS per sheaf, amortized over `capacity` calls. objects[t, capacity) are
 *    then the owner's alone: compacted to the front, size = capacity - t, submitted; only after
 *    the submission the slot gets the next sheaf (try/finally, nothing in between waits). If
 *    stealers took everything the same sheaf is opened again and nothing is submitted.
 *  - Opening a sheaf for a new rcu life: generation g + 1; taken = (g + 1, 0) then published =
 *    (g + 1, 0) with release stores, before the slot's release store. A stealer that acquires
 *    published of the new generation therefore reads taken of that generation or later.
 *  - Stealer (barrier flush, aged flush): slot (acquire), P = published (acquire) = (g, n), T =
 *    taken (volatile) = (g', t). If g' == g and t < n: copy objects[t, n) into a sheaf it owns,
 *    THEN CAS taken (g, t) -> (g, n); on failure drop the copy and start over. Copy before CAS is
 *    what makes the copy valid: taken only grows within a generation and generations only grow, so
 *    the value (g, t) never comes back; a successful CAS means the owner's close CAS (the only
 *    thing after which [t, n) may be rewritten: compaction, a later life) had not happened, and as
 *    that close CAS reads the stealer's CAS, the stealer's reads happen-before any such rewrite.
 *    Slots below n were stored before the release of (g, n) that P acquired, so the copy reads the
 *    owner's objects (and their PENDING state bytes). The stealer submits its sheaf to the engine.
 *  - A stale stealer (the sheaf moved on to the engine, the barn, a main sheaf or another
 *    magazine's rcu life) finds a closed pair (taken count == capacity, or >= published count) or
 *    a generation mismatch, or fails its CAS: it takes nothing it may not take. A stealer that
 *    happens to take another magazine's published objects takes pending objects all the same.
 *  - Dead-owner reclaim and a handle's close (retireRcuSheaf) act as the owner: they close the
 *    sheaf (CAS to capacity), submit objects[t, published count) and store null in the slot.
 *
 * Barrier rule (rcuBarrier's contract: every object passed to freeRcu* that happens-before the
 * barrier is freed when it returns). Such a call's publish happens-before the barrier's reads,
 * so the barrier's slot read sees that sheaf or a later one, and its published read that count or
 * later. Its objects are then (a) still published and untaken: the barrier steals them; (b) taken
 * by the aged flush or another barrier: both run under agedLock, which the barrier holds, so they
 * were submitted; (c) taken by the owner's (or reclaimer's) close: submitted before the slot store;
 * if the barrier still sees the closed sheaf in the slot it waits for that store or for the
 * sheaf's reopening (Magazine.waitWhileClosing), whose release stores order the submission before
 * the barrier's further reads; a later slot or generation it sees likewise follows the submission.
 * The barrier's engine numbering (drainLock, adoptAndNumber) then includes every such submission.
 *
 * Partly filled sheaves: the engine's drainer calls flushAged about once per drain delay; a sheaf
 * that held published, untaken objects at the previous pass too, with no submission by its owner in
 * between, has those objects stolen and submitted. Stealing never conflicts with the owner, so no
 * idleness check is needed. rcuBarrier/close steal from every magazine (flushAll).
 *
 * No garbage: the owner's next sheaf, a stealer's destination sheaf and every sheaf the engine
 * hands back come from and go to the barn's empty list, which is allowed maxEmpty plus the peak of
 * sheaves in flight plus the sheaves the stealers hold (Barn notes); every submitted sheaf comes
 * back, so a steady stream of freeRcu allocates nothing once warm (the pending bound reached). A
 * returning sheaf the barn's full list cannot hold is flushed to slabs keeping the slabs it empties
 * (until shrink): as many objects are allocated again, and regrowing would allocate Slabs.
 * Virtual threads take a carrier magazine out with an atomic swap per call (MagazineRegistry);
 * the holder is the owner.
 *
 * `used` goes only from false to true (the first freeRcu), so it is read plain on the per-call path:
 * a stale false costs one more volatile store, while a volatile read would forbid C2 to move or
 * reuse memory accesses across it. Barriers and the drainer skip caches that never used it.
 *
 * The engine is called with no allocator lock held. Lock order: see SlabCache's notes.
 *
 * Map: fields; free, freeOwned, add (the per-call path); close; emptySheaf, submit;
 * flushAged; openBytes; flushAll; retireRcuSheaf; used flag; ready (the engine's callback)
 * and releasePending.
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

    /** Stealers' sheaves held at once (aged flush and barrier, serialized by agedLock): barn allowance. */
    private static final int STEALER_SHEAVES = 1;

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
     * Held by a pass that steals from rcu sheaves until it has submitted what it stole: by the
     * aged flush (tryLock: a second pass skips) and by the barrier's flush (lock: it must not miss
     * objects in the aged pass's hands). Guards agedScratch.
     */
    private final ReentrantLock agedLock = new ReentrantLock();
    /** The aged flush's stolen sheaves between stealing and their submission. */
    private Sheaf[] agedScratch = new Sheaf[4];
    /** Test hook: runs in an aged pass between stealing and submitting (null: none). */
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
        Magazine m = cache.probeOwn(); // a hit is the calling platform thread's own magazine
        if (m == null) {
            Thread t = Thread.currentThread();
            if (!t.isVirtual()) {
                m = magazines.ownOrNew(t);
            } else {
                freeOnCarrier(a, fallbackLinkOffset);
                return;
            }
        }
        freeOwned(m, a);
    }

    private void freeOnCarrier(long a, long fallbackLinkOffset) {
        Magazine m = magazines.takeOut();
        if (m == null) {
            m = magazines.newCarrier();
        }
        if (m == null) {
            markUsed();
            if (fallbackLinkOffset >= 0) {
                cache.allocator.engine().freeRcu(a, fallbackLinkOffset);
            } else {
                cache.allocator.engine().freeRcu(a);
            }
            return;
        }
        boolean submitted;
        try {
            submitted = add(m, a);
        } finally {
            magazines.giveBack(m);
        }
        if (submitted) {
            cache.allocator.engine().meetPendingBound(); // with no carrier magazine held
        }
    }

    /**
     * The owner's path once it holds its magazine: {@code a} (validated, allocated) joins
     * {@code m}'s rcu sheaf. The caller owns {@code m} (its platform thread's, or a carrier
     * magazine it took out) for the length of the call.
     */
    void freeOwned(Magazine m, long a) {
        if (add(m, a)) {
            // The pending bound, met with the sheaf handed over: inside a read section it only helps, never waits.
            cache.allocator.engine().meetPendingBound();
        }
    }

    /** Adds {@code a} to the holder's rcu sheaf (plain and release stores only); true if a sheaf was submitted. */
    private boolean add(Magazine m, long a) {
        markUsed();
        Sheaf r = m.ownRcuSheaf();
        if (r == null) {
            r = RcuSheafProtocol.open(emptySheaf(), 0);
            m.publishRcuSheaf(r);
        }
        if (Sheaf.count(r.published) == 0) { // plain: only the holder writes it
            // Opening a sheaf: a caller that may not wait meets the engine's hard cap here.
            cache.allocator.engine().checkHardCapForRcuSheaf(a);
        }
        cache.claimPending(a);
        return RcuSheafProtocol.append(r, a) == capacity && close(m, r, a);
    }

    /**
     * The owner closes its full sheaf {@code r} (last object {@code a}): takes what stealers left,
     * submits it and installs the next sheaf. True if it submitted.
     */
    private boolean close(Magazine m, Sheaf r, long a) {
        Sheaf next = emptySheaf(); // before the close: nothing between the close and the slot store waits
        int from = RcuSheafProtocol.close(r, capacity);
        int kept = capacity - from;
        Sheaf slot = r;
        boolean submitted = false;
        try {
            if (kept == 0) {
                RcuSheafProtocol.open(r, 0); // stealers took everything: the same sheaf starts a new life
            } else {
                System.arraycopy(r.objects, from, r.objects, 0, kept);
                r.size = kept;
                try {
                    submit(r);
                } catch (RuntimeException e) {
                    // Not taken (the engine is closed): this call is undone, the sheaf keeps the
                    // others in a new life, so the slot never holds a full sheaf.
                    r.size = 0;
                    RcuSheafProtocol.open(r, kept - 1);
                    cache.returnToUser(a);
                    throw e;
                }
                m.rcuSubmits++;
                submitted = true;
                slot = RcuSheafProtocol.open(next, 0);
                next = null;
            }
        } finally {
            m.publishRcuSheaf(slot); // after the submission: the barrier rule (notes)
        }
        if (next != null) {
            barn.putEmpty(next);
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
            // Every sheaf in flight comes back; keep room to recycle them all as empties (Barn notes),
            // and the stealers' sheaves on top.
            peakInFlight = f;
            barn.allowEmpty(f + STEALER_SHEAVES);
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
     * Steals and submits the objects of every rcu sheaf that held published, untaken objects at
     * the previous call too, with no submission by its owner in between: called by the engine's
     * drainer about once per drain delay, so an idle thread's partly filled sheaf waits between
     * one and two periods. Allocation-free once warm; no waiting.
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

    @GuardedBy("agedLock")
    private void flushAgedLocked() {
        int n = 0;
        Sheaf dst = null;
        for (Magazine m : magazines.all()) { // copy-on-write array; agedSeen is this pass's (agedLock)
            Sheaf r = m.rcuSheafForSteal();
            int submits = m.rcuSubmits;
            if (r == null || r.rcuHeld() == 0) {
                m.agedSeen = null;
            } else if (m.agedSeen != r || m.agedSeenSubmits != submits) {
                m.agedSeen = r;
                m.agedSeenSubmits = submits;
            } else {
                m.agedSeen = null;
                if (dst == null) {
                    dst = emptySheaf();
                }
                if (RcuSheafProtocol.steal(m, dst, capacity, false) > 0) {
                    if (n == agedScratch.length) {
                        agedScratch = Arrays.copyOf(agedScratch, n * 2);
                    }
                    agedScratch[n++] = dst;
                    dst = null;
                }
            }
        }
        if (dst != null) {
            barn.putEmpty(dst);
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

    /**
     * Steals and submits every magazine's published rcu objects (for rcuBarrier/close), waiting
     * out an owner between its close and its slot store (the barrier rule in the notes).
     */
    void flushAll() {
        // An aged pass may hold objects it stole and has not yet submitted: wait for it, or this
        // barrier could find them taken and return before they are freed.
        agedLock.lock();
        try {
            Sheaf dst = null;
            for (Magazine m : magazines.all()) {
                if (m.rcuSheafForSteal() == null) {
                    continue;
                }
                if (dst == null) {
                    dst = emptySheaf();
                }
                if (RcuSheafProtocol.steal(m, dst, capacity, true) > 0) {
                    submit(dst);
                    dst = null;
                }
            }
            if (dst != null) {
                barn.putEmpty(dst);
            }
        } finally {
            agedLock.unlock();
        }
    }

    /**
     * Hands {@code m}'s rcu sheaf to the engine and empties the slot: called by the magazine's
     * owner (a handle's close) or by the one retirer of a dead owner's magazine. Closes the sheaf
     * as the owner does when it fills, submits what no stealer took; a concurrent barrier waits
     * for the slot store, so it cannot return before the submission.
     */
    void retireRcuSheaf(Magazine m) {
        Sheaf r = m.ownRcuSheaf(); // the owner's own, or a dead owner's (its stores ordered by Thread.isAlive())
        if (r == null) {
            return;
        }
        int n = Sheaf.count(r.published);
        int from = RcuSheafProtocol.close(r, capacity);
        try {
            if (from < n) {
                System.arraycopy(r.objects, from, r.objects, 0, n - from);
                r.size = n - from;
                submit(r);
                r = null; // the engine's now
            }
        } finally {
            m.publishRcuSheaf(null);
        }
        if (r != null) {
            barn.putEmpty(r); // closed: a stale stealer finds nothing in it
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
        // Slabs this empties stay until shrink: as many objects are allocated again a grace period
        // later, and growing the cache again would allocate a Slab each time (SlabNode.flushSheaf).
        cache.node.flushSheaf(s, false, false);
        if (s.objects.length == capacity && cache.state() == SlabCache.LIVE) {
            barn.putEmpty(s);
        }
    }

    /**
     * An rcu sheaf's objects after their grace period: pending -> cached, hooks run. An object
     * that is not pending (corruption) is reported and left out; the rest stay, except in debug
     * mode, where each enters the quarantine and what it evicts stays instead. The new count.
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
            long out = cache.quarantineFromRcuSheaf(a); // debug mode: what the quarantine evicts
            if (out != 0) {
                objects[kept++] = out;
            }
        }
        s.size = kept;
        return kept;
    }
}
