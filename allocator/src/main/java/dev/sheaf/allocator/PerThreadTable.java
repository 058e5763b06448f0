package dev.sheaf.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Implementation notes.
 *
 * Finds the calling platform thread's own object (its magazine of a cache, its open rcu batch)
 * - the Java stand-in for the kernel's this_cpu_ptr(). ThreadLocal.get() costs about 4.5 ns per
 * lookup on the development machine (thread -> map -> table -> entry -> referent check -> value,
 * plus a checkcast), which was two thirds of an alloc+free pair; this table costs two array loads.
 *
 * Slot i = threadId & (SLOTS - 1). Thread ids are positive, unique for the JVM's lifetime and
 * never reused, and handed out in sequence, so the live threads of a pool fall on distinct slots
 * until more than SLOTS of them are alive. A thread whose slot is held by another live thread
 * uses the overflow ThreadLocal: correct, only slower.
 *
 * Ordering: a slot is claimed with a CAS of tids[i] from 0 to the caller's id, by the owner itself,
 * which then stores its object in objects[i]. Only the owner ever reads objects[i] under its own
 * id, and it wrote both fields itself, so its reads need no ordering: plain loads. Any other
 * thread reads a foreign id and ignores the slot (whatever object it might see is never used).
 * A slot is released (object cleared, then id 0 with a release store) only after its owner died
 * or when the whole table is dropped, so no owner ever sees its slot vanish under it.
 */
/** Per-platform-thread objects found in two array loads; a ThreadLocal behind for collisions. */
final class PerThreadTable<T> {

    private static final int SLOTS = 256;
    private static final VarHandle TIDS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] tids = new long[SLOTS];
    private final Object[] objects = new Object[SLOTS];
    private final ThreadLocal<T> overflow = new ThreadLocal<>();

    /** The calling platform thread's object, or null if it has none. */
    @SuppressWarnings("unchecked")
    T get() {
        long tid = Thread.currentThread().threadId();
        int i = (int) tid & (SLOTS - 1);
        if (tids[i] == tid) {
            return (T) objects[i];
        }
        return overflow.get();
    }

    /**
     * The calling thread's object if it sits in its own slot, else null (no overflow lookup): the
     * fast path's probe. A hit can only be a platform thread's, since only platform threads put.
     */
    @SuppressWarnings("unchecked")
    T peek() {
        long tid = Thread.currentThread().threadId();
        int i = (int) tid & (SLOTS - 1);
        return tids[i] == tid ? (T) objects[i] : null;
    }

    /** Installs {@code value} as the calling thread's object (it has none yet). */
    void put(T value) {
        long tid = Thread.currentThread().threadId();
        int i = (int) tid & (SLOTS - 1);
        if (TIDS.compareAndSet(tids, i, 0L, tid)) {
            objects[i] = value;
        } else {
            overflow.set(value);
        }
    }

    /**
     * Frees the slot of thread {@code tid} if it holds {@code value}; call only once that thread
     * is dead (an overflow entry dies with its thread's ThreadLocal map).
     */
    void remove(long tid, T value) {
        int i = (int) tid & (SLOTS - 1);
        if ((long) TIDS.getAcquire(tids, i) == tid && objects[i] == value) {
            objects[i] = null;
            TIDS.setRelease(tids, i, 0L);
        }
    }
}
