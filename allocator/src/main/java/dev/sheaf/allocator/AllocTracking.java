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
 * (a Trace each: the caller's frames, thread, time), malloc's requested size, the object's segment
 * arena (DebugChecks.segment) and a sequence number `seq` that says what the memory holds now:
 *
 *   seq % 4 == 0  free: poisoned (unless TYPESAFE_BY_RCU) and red zones outside objectSize intact
 *   seq % 4 == 2  with its user (or pending a grace period): red zones painted for `requested`
 *   odd           changing hands (alloc or free under way on its owner's thread)
 *
 * Only the owner of the moment changes a record (the thread that allocates or frees the object),
 * so the writer needs no lock: it makes seq odd, fences (storeStoreFence) so that the stores to
 * the object that follow are not seen before it, changes memory and fields, and publishes the
 * even seq with a release store. validate() reads it as a seqlock reader (acquire seq, check the
 * memory, loadLoadFence, seq again; odd or changed means in flight: skipped and counted).
 *
 * Records live in a ConcurrentHashMap keyed by address. One is dropped when its slab leaves the
 * cache (forgetSlab, when the slab is released; forget for a large span's release) and, for a
 * record that escaped that, when its slot is carved anew; so the table holds at most one record
 * per slot of the cache's slabs and per live span, however long debug mode runs. validate()
 * still checks that a record's address is a carved object of the cache, since a record may be
 * read just after its slab left. A dropped record's seq is left odd, so a validate() holding it
 * skips it.
 *
 * Traces: the call's stack is captured as the JVM captures an exception's (a Throwable's native
 * backtrace: method and bytecode index per frame, nothing decoded), since that is the cheapest
 * capture there is: a StackWalker walk, even one that keeps a few frames, costs more, because
 * it resolves every frame it passes, while the backtrace is decoded only when a report or a
 * leak attaches the trace (toThrowable). Decoding drops the leading frames of
 * Sheaf's own classes (the allocator and rcu packages from the allocator's and rcu's code
 * source, so tests and benchmarks in or beside those packages count as callers; cached per class
 * in a ClassValue) and keeps the next `stackDepth` frames; a stack of Sheaf frames only (the
 * grace-period engine's thread) keeps its innermost ones. A depth of 0 captures no stack at all,
 * only the thread and the time: the cheap setting. Debug mode trades memory and garbage for the
 * history.
 *
 * Map: Trace, TraceStack, own frames; ObjectRecord (seq access); the table.
 */
/** Per-object allocation and free history of one debug cache. */
final class AllocTracking {

    /** Stack frames a trace keeps unless configured (SlabAllocator.Builder.debugStackDepth). */
    static final int DEFAULT_STACK_DEPTH = 16;
    /** The largest stack depth accepted. */
    static final int MAX_STACK_DEPTH = 1024;
    static final String ALLOCATED = "allocated";
    static final String FREED = "freed";

    private static final java.security.CodeSource ALLOCATOR_CODE = codeSource(AllocTracking.class);
    private static final java.security.CodeSource RCU_CODE = codeSource(dev.sheaf.rcu.Rcu.class);

    /** Whether a class is Sheaf's own (the allocator's or rcu's packages and code), not its user's. */
    private static final ClassValue<Boolean> OWN = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> c) {
            String pkg = c.getPackageName();
            if (!pkg.startsWith("dev.sheaf.allocator") && !pkg.startsWith("dev.sheaf.rcu")) {
                return false;
            }
            java.security.CodeSource cs = codeSource(c);
            return cs != null && (cs.equals(ALLOCATOR_CODE) || cs.equals(RCU_CODE));
        }
    };

    /** Whether a decoded frame is Sheaf's own (reports only: it may load the frame's class). */
    private static boolean isOwn(StackTraceElement e) {
        String name = e.getClassName();
        if (!name.startsWith("dev.sheaf.allocator") && !name.startsWith("dev.sheaf.rcu")) {
            return false;
        }
        try {
            return OWN.get(Class.forName(name, false, AllocTracking.class.getClassLoader()));
        } catch (ClassNotFoundException | LinkageError e2) {
            return false; // a hidden class (a lambda's): not nameable, and not one of Sheaf's frames to skip
        }
    }

    private static java.security.CodeSource codeSource(Class<?> c) {
        java.security.ProtectionDomain pd = c.getProtectionDomain();
        return pd == null ? null : pd.getCodeSource();
    }

    /**
     * Where an object was allocated or freed: the call's stack (captured, decoded on demand;
     * null when the depth is 0), the thread's name and the time. Immutable once created.
     */
    static final class Trace {
        private final String what;
        private final String thread;
        private final long millis;
        private final Capture stack;
        private final int depth;

        Trace(String what, String thread, long millis, Capture stack, int depth) {
            this.what = what;
            this.thread = thread;
            this.millis = millis;
            this.stack = stack;
            this.depth = depth;
        }

        /** The line a report shows for this trace. */
        String message() {
            return what + " by thread '" + thread + "' at " + Instant.ofEpochMilli(millis);
        }

        /**
         * A throwable to attach to a report: this trace's message and the caller's frames (Sheaf's
         * own leading frames dropped, at most the depth, innermost first).
         */
        Throwable toThrowable() {
            StackTraceElement[] all = stack == null ? new StackTraceElement[0] : stack.getStackTrace();
            int from = 0;
            while (from < all.length && isOwn(all[from])) {
                from++;
            }
            if (from == all.length) {
                from = 0; // Sheaf frames only (the engine's thread): keep the innermost
            }
            int n = Math.min(depth, all.length - from);
            return new TraceStack(message(), java.util.Arrays.copyOfRange(all, from, from + n));
        }
    }

    /** A captured stack: the JVM's backtrace of the call, decoded only by getStackTrace(). */
    static final class Capture extends Throwable {
        private static final long serialVersionUID = 1L;

        Capture() {
            super(null, null, false, true);
        }
    }

    /**
     * A Trace as a throwable, attached to reports as a suppressed exception: its stack trace is
     * the trace's frames (it captures none of its own).
     */
    static final class TraceStack extends Throwable {
        private static final long serialVersionUID = 1L;

        TraceStack(String message, StackTraceElement[] stack) {
            super(message, null, false, true); // writable, so that setStackTrace takes the trace's frames
            setStackTrace(stack);
        }

        @Override
        @SuppressWarnings("UnsynchronizedOverridesSynchronized") // captures nothing: no state to guard
        public Throwable fillInStackTrace() {
            return this; // the stack is the trace's, set by the constructor
        }
    }

    private final int stackDepth;

    /** A table whose traces show at most {@code stackDepth} frames (0: no stack, thread and time only). */
    AllocTracking(int stackDepth) {
        this.stackDepth = stackDepth;
    }

    /** A trace of the calling thread's current call ({@code what}: ALLOCATED or FREED). */
    Trace trace(String what) {
        int depth = stackDepth;
        return new Trace(what, Thread.currentThread().getName(), System.currentTimeMillis(),
                depth == 0 ? null : new Capture(), depth);
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
     * Drops the record of {@code a} (a slot carved anew, a released span): its sequence is left
     * odd, so a validate() that still holds it skips it.
     */
    void forget(long a) {
        ObjectRecord r = records.remove(a);
        if (r != null) {
            r.beginChange();
        }
    }

    /**
     * Drops the records of the first {@code carved} slots of a slab leaving the cache, the slots
     * at {@code first + i * slotSize}.
     */
    void forgetSlab(long first, long slotSize, int carved) {
        if (records.isEmpty()) {
            return;
        }
        for (int i = 0; i < carved; i++) {
            forget(first + i * slotSize);
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
