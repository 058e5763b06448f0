package dev.sheaf.rcu.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Array;

/*
 * Implementation notes.
 *
 * Finds the calling platform thread's own object (its reader slot, its callback queue, its magazine
 * of a cache, its open rcu batch) - the Java stand-in for the kernel's this_cpu_ptr().
 * ThreadLocal.get() walks thread -> map -> table -> entry -> referent check -> value, plus a
 * checkcast; this table costs one array load and a compare.
 *
 * Slot i = threadId & (SLOTS - 1). Thread ids are positive, unique for the JVM's lifetime
 * and never reused, and handed out in sequence, so the live threads of a pool fall on distinct
 * slots until more than SLOTS of them are alive. A thread whose slot is held by another live
 * thread uses the overflow ThreadLocal: correct, only slower. Each entry carries its owner's id
 * (Entry.ownerTid), so a probe is: load the slot, compare its id with the caller's. Every table's
 * array has SLOTS entries and the mask is that constant, not the array's length: the index then
 * does not wait for a load of the length (the bounds check that still reads it is off the probe's
 * dependency chain), which the read side's lock/unlock pair measurably pays for.
 *
 * Ordering: a slot is claimed by its owner with a CAS from null to its entry. Only the owner ever
 * uses the entry it finds under its own id, and it wrote the slot itself, so its probe needs no
 * ordering: a plain load. Another thread may read a foreign entry racily; ownerTid is final, so it
 * reads the true id (JLS 17.5), finds it is not its own and ignores the entry. A slot is released
 * (CAS from the entry to null) only after its owner died or when the whole table is dropped, so no
 * owner ever sees its slot vanish under it. remove() needs only the entry, never its thread, so a
 * sweep of dead owners can call it.
 *
 * Hottest callers: peek() loads this table's array field before the slot. A caller whose every
 * load counts (the rcu read-side lock) creates the table with its entry class, keeps the array from
 * probeArray() in a final field of its own typed as that class's array, and probes it with the
 * static peek(T[], long): the same probe, one dependent load less, and no checkcast on the entry
 * (an element loaded from a ReaderSlot[] is known to be a ReaderSlot; one from an Entry[] is not).
 * The array is written only by put() and remove().
 *
 * Map: Entry; fields and constructors; lookup (get, peek, static peek, probeArray); install (put);
 * release (remove).
 */
/**
 * Per-platform-thread objects found with one array load; a ThreadLocal behind for collisions.
 *
 * @param <T> the type of the objects, each knowing its owner's thread id
 */
public final class PerThreadTable<T extends PerThreadTable.Entry> {

    /** What the table holds: an object that knows the id of the platform thread owning it. */
    public abstract static class Entry {
        /** The owning platform thread's id; 0 for objects no platform thread owns (never in a slot). */
        public final long ownerTid;

        /**
         * Creates an entry.
         *
         * @param ownerTid the owning platform thread's id, or 0 if no platform thread owns it
         */
        protected Entry(long ownerTid) {
            this.ownerTid = ownerTid;
        }
    }

    private static final int SLOTS = 256;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Entry[].class);

    /** Entry[] from the untyped constructor, T[] (really) from the typed one; see probeArray(). */
    private final T[] slots;
    @SuppressWarnings("ThreadLocalUsage") // per table on purpose: each table has its own overflow objects
    private final ThreadLocal<T> overflow = new ThreadLocal<>();

    /** Creates an empty table; {@link #probeArray()} is for tables created with their entry class. */
    @SuppressWarnings("unchecked")
    public PerThreadTable() {
        this.slots = (T[]) new Entry[SLOTS];
    }

    /**
     * Creates an empty table whose slot array is a {@code type[]}, for callers of
     * {@link #probeArray()}.
     *
     * @param type the entry class
     */
    @SuppressWarnings("unchecked")
    public PerThreadTable(Class<T> type) {
        this.slots = (T[]) Array.newInstance(type, SLOTS);
    }

    /**
     * The calling platform thread's object, or null if it has none.
     *
     * @return the caller's object, from its slot or the overflow ThreadLocal, or null
     */
    public T get() {
        T e = peek();
        return e != null ? e : overflow.get();
    }

    /**
     * The calling thread's object if it sits in its own slot, else null (no overflow lookup): the
     * fast path's probe. A hit can only be a platform thread's, since only platform threads put.
     *
     * @return the caller's object if it sits in its slot, else null
     */
    public T peek() {
        return peek(slots, Thread.currentThread().threadId());
    }

    /**
     * {@link #peek()} on an array from {@link #probeArray()}, for a caller that keeps the array in
     * a final field of its own. {@code tid} must be the calling thread's id: only an owner may use
     * the entry it finds (see the notes).
     *
     * @param slots the table's array, from {@link #probeArray()}
     * @param tid   the calling thread's id
     * @param <T>   the table's entry type
     * @return the caller's object if it sits in its slot, else null
     */
    public static <T extends Entry> T peek(T[] slots, long tid) {
        T e = slots[(int) tid & (SLOTS - 1)];
        return e != null && e.ownerTid == tid ? e : null;
    }

    /**
     * The table's slot array, for {@link #peek(Entry[], long)} on a path where the load of this
     * table's field counts. Read it only through that method; only the table writes it.
     *
     * @return the slot array (the same array for the table's whole life), a {@code T[]}
     * @throws IllegalStateException if the table was created without its entry class
     */
    public T[] probeArray() {
        if (slots.getClass() == Entry[].class) {
            throw new IllegalStateException("probeArray() needs a table created with its entry class");
        }
        return slots;
    }

    /**
     * Installs {@code value}, owned by the calling thread, as its object (it has none yet).
     *
     * @param value the caller's object
     * @throws IllegalArgumentException if {@code value} is owned by another thread
     */
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
     * thread is dead (an overflow entry dies with its thread's ThreadLocal map). Works from any
     * thread: it needs the entry's owner id, not the owner.
     *
     * @param value an object put by a thread that has died
     */
    public void remove(T value) {
        SLOT.compareAndSet(slots, (int) value.ownerTid & (SLOTS - 1), (Entry) value, (Entry) null);
    }
}
