package dev.sheaf.rcu.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Implementation notes.
 *
 * Finds the calling platform thread's own object (its reader slot, its magazine of a cache, its open
 * rcu batch)
 * - the Java stand-in for the kernel's this_cpu_ptr(). ThreadLocal.get() costs about 4.5 ns per
 * lookup on the development machine (thread -> map -> table -> entry -> referent check -> value,
 * plus a checkcast), which was two thirds of an alloc+free pair; this table costs one array load
 * and a compare.
 *
 * Slot i = threadId & (slots.length - 1). Thread ids are positive, unique for the JVM's lifetime
 * and never reused, and handed out in sequence, so the live threads of a pool fall on distinct
 * slots until more than SLOTS of them are alive. A thread whose slot is held by another live
 * thread uses the overflow ThreadLocal: correct, only slower. Each entry carries its owner's id
 * (Entry.ownerTid), so a probe is: load the slot, compare its id with the caller's. Masking with
 * the array's own length lets the JIT drop the bounds check.
 *
 * Ordering: a slot is claimed by its owner with a CAS from null to its entry. Only the owner ever
 * uses the entry it finds under its own id, and it wrote the slot itself, so its probe needs no
 * ordering: a plain load. Another thread may read a foreign entry racily; ownerTid is final, so it
 * reads the true id (JLS 17.5), finds it is not its own and ignores the entry. A slot is released
 * (CAS from the entry to null) only after its owner died or when the whole table is dropped, so no
 * owner ever sees its slot vanish under it.
 */
/** Per-platform-thread objects found with one array load; a ThreadLocal behind for collisions. */
public final class PerThreadTable<T extends PerThreadTable.Entry> {

    /** What the table holds: an object that knows the id of the platform thread owning it. */
    public abstract static class Entry {
        /** The owning platform thread's id; 0 for objects no platform thread owns (never in a slot). */
        public final long ownerTid;

        protected Entry(long ownerTid) {
            this.ownerTid = ownerTid;
        }
    }

    private static final int SLOTS = 256;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Entry[].class);

    private final Entry[] slots = new Entry[SLOTS];
    @SuppressWarnings("ThreadLocalUsage") // per table on purpose: each table has its own overflow objects
    private final ThreadLocal<T> overflow = new ThreadLocal<>();

    /** The calling platform thread's object, or null if it has none. */
    public T get() {
        T e = peek();
        return e != null ? e : overflow.get();
    }

    /**
     * The calling thread's object if it sits in its own slot, else null (no overflow lookup): the
     * fast path's probe. A hit can only be a platform thread's, since only platform threads put.
     */
    @SuppressWarnings("unchecked")
    public T peek() {
        long tid = Thread.currentThread().threadId();
        Entry[] s = slots;
        Entry e = s[(int) tid & (s.length - 1)];
        return e != null && e.ownerTid == tid ? (T) e : null;
    }

    /** Installs {@code value}, owned by the calling thread, as its object (it has none yet). */
    public void put(T value) {
        long tid = Thread.currentThread().threadId();
        if (value.ownerTid != tid) {
            throw new IllegalArgumentException("entry of thread " + value.ownerTid + " put by thread " + tid);
        }
        if (!SLOT.compareAndSet(slots, (int) tid & (SLOTS - 1), (Entry) null, (Entry) value)) {
            overflow.set(value);
        }
    }

    /**
     * Frees the slot of {@code value}'s owner if it holds {@code value}; call only once that
     * thread is dead (an overflow entry dies with its thread's ThreadLocal map).
     */
    public void remove(T value) {
        SLOT.compareAndSet(slots, (int) value.ownerTid & (SLOTS - 1), (Entry) value, (Entry) null);
    }
}
