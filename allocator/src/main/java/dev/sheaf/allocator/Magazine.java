package dev.sheaf.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;

/*
 * Implementation notes.
 *
 * One thread's (or one carrier slot's) sheaves for one cache: the kernel's struct
 * slub_percpu_sheaves. `main` is never null; `spare` is null, empty or full.
 *
 * Ownership, not locking, protects main/spare/busy/counters:
 *  - a platform thread's magazine is reached only through its own PerThreadTable slot, so the fast path
 *    uses plain loads and stores; `busy` (plain) is set across slow paths so that a re-entrant
 *    call on the same thread (from a hook, say) falls back instead of corrupting the sheaves;
 *  - a carrier magazine is taken out of its slot with an atomic swap and given back with a
 *    CAS; whoever holds it owns it (the swap/CAS order the plain accesses between owners).
 * Other threads read `main.size`/`spare.size` racily for statistics only, and touch main/spare
 * only when the owner is dead (Thread.isAlive() == false orders the dead thread's writes).
 *
 * `rcuSheaf` is different: rcuBarrier() on another thread must be able to flush it while the
 * owner lives, so it is taken out and put back with atomics by both sides (getAndSet / release
 * store). A null rcuSheaf means "taken" (or stolen by a flush); the owner then starts a new one.
 *
 * Padding on both sides keeps the owner's hot fields off the cache lines of neighbouring
 * magazines of other threads.
 */
final class Magazine extends MagazineFields {

    static final VarHandle RCU_SHEAF;

    static {
        try {
            RCU_SHEAF = MethodHandles.lookup().findVarHandle(MagazineFields.class, "rcuSheaf", Sheaf.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused")
    private long q0, q1, q2, q3, q4, q5, q6, q7;

    Magazine(int capacity, Thread owner) {
        this.main = new Sheaf(capacity);
        this.owner = owner == null ? null : new WeakReference<>(owner);
        this.ownerTid = owner == null ? 0 : owner.threadId();
    }

    /** True when the owning platform thread is gone (never for carrier magazines). */
    boolean ownerDead() {
        if (owner == null) {
            return false;
        }
        Thread t = owner.get();
        return t == null || !t.isAlive();
    }

    Sheaf takeRcuSheaf() {
        return (Sheaf) RCU_SHEAF.getAndSet(this, (Sheaf) null);
    }

    void putRcuSheaf(Sheaf s) {
        RCU_SHEAF.setRelease(this, s);
    }

    /**
     * Puts back a sheaf a flusher took but did not submit, unless the owner has meanwhile
     * started a new one: a plain store here could overwrite the owner's sheaf and lose its objects.
     */
    boolean putRcuSheafIfAbsent(Sheaf s) {
        return RCU_SHEAF.compareAndSet(this, (Sheaf) null, s);
    }

    int cachedObjects() {
        Sheaf m = main;
        Sheaf s = spare;
        return (m == null ? 0 : m.size) + (s == null ? 0 : s.size);
    }

    int rcuObjects() {
        Sheaf r = rcuSheaf;
        return r == null ? 0 : r.size;
    }
}

@SuppressWarnings("unused")
abstract class MagazinePad {
    private long p0, p1, p2, p3, p4, p5, p6, p7;
}

abstract class MagazineFields extends MagazinePad {
    Sheaf main;
    Sheaf spare;
    boolean busy;
    long allocFast;
    long freeFast;
    /** Slow-path event counts (SlabCache's counter indices), owner-written like the two above. */
    final long[] events = new long[SlabCache.COUNTERS];
    volatile Sheaf rcuSheaf;
    WeakReference<Thread> owner;
    /** The owning platform thread's id (its PerThreadTable key), 0 for carrier magazines. */
    long ownerTid;
}
