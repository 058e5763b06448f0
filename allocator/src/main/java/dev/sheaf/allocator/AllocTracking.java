package dev.sheaf.allocator;

import java.lang.foreign.Arena;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Instant;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;

/*
 * Implementation notes.
 *
 * Per-object records of a debug cache (the kernel's slub_debug=U): the last allocation and free
 * (a Trace each: stack, thread, time), malloc's requested size, the object's segment arena
 * (DebugChecks.segment) and a sequence number `seq` that says what the memory holds now:
 *
 *   seq % 4 == 0  free: poisoned (unless TYPESAFE_BY_RCU) and red zones outside objectSize intact
 *   seq % 4 == 2  with its user (or pending a grace period): red zones painted for `requested`
 *   odd           changing hands (alloc or free under way on its owner's thread)
 *
 * Only the owner of the moment changes a record (the thread that allocates or frees the object),
 * so the writer needs no lock: it makes seq odd, fences (storeStoreFence) so that the stores to
 * the object that follow are not seen before it, changes memory and fields, and publishes the
 * even seq with a release store. validate() reads it as a seqlock reader (acquire seq, check the
 * memory, loadLoadFence, seq again; odd or changed means in flight: skipped and counted). Records
 * live in a ConcurrentHashMap keyed by address; one is dropped only when its slot is carved
 * anew (forget: the slab was released and its memory taken again), so a record may outlive its
 * slab, and validate() checks that its address is still a carved object of the cache. Debug
 * mode trades memory and garbage for the history.
 *
 * Map: Trace; ObjectRecord (seq access); the table.
 */
/** Per-object allocation and free history of one debug cache. */
final class AllocTracking {

    /** Where an object was allocated or freed: the stack of that call, with thread and time. */
    static final class Trace extends Throwable {
        private static final long serialVersionUID = 1L;
        private final String what;
        private final String thread;
        private final long millis;

        Trace(String what) {
            super(null, null, false, true);
            this.what = what;
            this.thread = Thread.currentThread().getName();
            this.millis = System.currentTimeMillis();
        }

        @Override
        public String getMessage() {
            return what + " by thread '" + thread + "' at " + Instant.ofEpochMilli(millis);
        }
    }

    /** One object's history and state sequence (see the notes). */
    static final class ObjectRecord {
        private static final VarHandle SEQ;

        static {
            try {
                SEQ = MethodHandles.lookup().findVarHandle(ObjectRecord.class, "seq", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final long address;
        @SuppressWarnings("unused") // accessed through SEQ
        private long seq;
        /** Bytes the user may use: the object size, or malloc's request. Written by the owner inside an odd seq. */
        volatile long requested;
        volatile Trace alloc;
        volatile Trace free;
        /** The arena of the segment handed out by DebugChecks.segment, or null; closed on free. */
        volatile Arena arena;

        ObjectRecord(long address) {
            this.address = address;
        }

        /** Acquire read of the sequence. */
        long seq() {
            return (long) SEQ.getAcquire(this);
        }

        /** Owner: makes the sequence odd (changing) and keeps later stores after it. */
        void beginChange() {
            long s = (long) SEQ.getOpaque(this);
            SEQ.setOpaque(this, s | 1);
            VarHandle.storeStoreFence(); // the object's bytes change only after the odd seq is visible
        }

        /** Owner: publishes the new stable state (FREE_STATE or USER_STATE modulo 4). */
        void endChange(boolean withUser) {
            long s = ((long) SEQ.getOpaque(this) | 3) + 1; // next multiple of 4
            SEQ.setRelease(this, withUser ? s + 2 : s);
        }

        /** Whether a stable sequence means "with its user". */
        static boolean withUser(long seq) {
            return (seq & 3) == 2;
        }

        /** Whether the sequence is stable (no change under way). */
        static boolean stable(long seq) {
            return (seq & 1) == 0;
        }
    }

    private final ConcurrentHashMap<Long, ObjectRecord> records = new ConcurrentHashMap<>();

    /** The record of {@code a}, created on its first allocation. */
    ObjectRecord recordOf(long a) {
        return records.computeIfAbsent(a, ObjectRecord::new);
    }

    /** The record of {@code a}, or null if it was never handed out in debug mode. */
    ObjectRecord find(long a) {
        return records.get(a);
    }

    /**
     * Drops the record of a slot carved anew (its slab was released and taken again): the old
     * record's sequence is left odd, so a validate() that still holds it skips it.
     */
    void forget(long a) {
        ObjectRecord r = records.remove(a);
        if (r != null) {
            r.beginChange();
        }
    }

    /** Records held now (weakly consistent while the cache is used). */
    int size() {
        return records.size();
    }

    /** Every record (weakly consistent while the cache is used). */
    Collection<ObjectRecord> all() {
        return records.values();
    }
}
