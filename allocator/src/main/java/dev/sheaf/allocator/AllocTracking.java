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
 * Traces: a StackWalker walk that drops the leading frames of Sheaf's own classes (the allocator
 * and rcu modules, told apart from user code, tests in the same package included, by their code
 * source; cached per class in a ClassValue) and keeps at most `stackDepth` StackFrames (0: none,
 * thread and time only). A walk of Sheaf frames only (the grace-period engine's thread) keeps
 * its innermost frames instead. Frames become StackTraceElements only when a report or leak
 * attaches the trace (toThrowable: a TraceStack whose stack is the trace's, captured nothing
 * itself). Debug mode trades memory and garbage for the history.
 *
 * Map: Trace, TraceStack, frame capture; ObjectRecord (seq access); the table.
 */
/** Per-object allocation and free history of one debug cache. */
final class AllocTracking {

    /** Stack frames a trace keeps unless configured (SlabAllocator.Builder.debugStackDepth). */
    static final int DEFAULT_STACK_DEPTH = 16;
    /** The largest stack depth accepted. */
    static final int MAX_STACK_DEPTH = 1024;
    static final String ALLOCATED = "allocated";
    static final String FREED = "freed";

    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
    private static final StackWalker.StackFrame[] NO_FRAMES = new StackWalker.StackFrame[0];
    private static final java.security.CodeSource ALLOCATOR_CODE = codeSource(AllocTracking.class);
    private static final java.security.CodeSource RCU_CODE = codeSource(dev.sheaf.rcu.Rcu.class);

    /** Whether a class is Sheaf's own (allocator or rcu module), not its user's. */
    private static final ClassValue<Boolean> OWN = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> c) {
            if (!c.getName().startsWith("dev.sheaf.")) {
                return false;
            }
            java.security.CodeSource cs = codeSource(c);
            return cs != null && (cs.equals(ALLOCATOR_CODE) || cs.equals(RCU_CODE));
        }
    };

    private static java.security.CodeSource codeSource(Class<?> c) {
        java.security.ProtectionDomain pd = c.getProtectionDomain();
        return pd == null ? null : pd.getCodeSource();
    }

    /**
     * Where an object was allocated or freed: the caller's frames (Sheaf's own dropped, at most
     * the tracking's depth, innermost first), the thread's name and the time. Immutable.
     */
    static final class Trace {
        private final String what;
        private final String thread;
        private final long millis;
        private final StackWalker.StackFrame[] frames;

        Trace(String what, String thread, long millis, StackWalker.StackFrame[] frames) {
            this.what = what;
            this.thread = thread;
            this.millis = millis;
            this.frames = frames;
        }

        /** The line a report shows for this trace. */
        String message() {
            return what + " by thread '" + thread + "' at " + Instant.ofEpochMilli(millis);
        }

        /** A throwable to attach to a report: this trace's message and frames. */
        Throwable toThrowable() {
            StackTraceElement[] stack = new StackTraceElement[frames.length];
            for (int i = 0; i < stack.length; i++) {
                stack[i] = frames[i].toStackTraceElement();
            }
            return new TraceStack(message(), stack);
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

    /** A table whose traces keep at most {@code stackDepth} frames (0: thread and time only). */
    AllocTracking(int stackDepth) {
        this.stackDepth = stackDepth;
    }

    /** A trace of the calling thread's current call ({@code what}: ALLOCATED or FREED). */
    Trace trace(String what) {
        Thread t = Thread.currentThread();
        return new Trace(what, t.getName(), System.currentTimeMillis(), stackDepth == 0 ? NO_FRAMES : frames());
    }

    private StackWalker.StackFrame[] frames() {
        int depth = stackDepth;
        StackWalker.StackFrame[] user = WALKER.walk(s -> s.dropWhile(f -> OWN.get(f.getDeclaringClass()))
                .limit(depth).toArray(StackWalker.StackFrame[]::new));
        if (user.length > 0) {
            return user;
        }
        return WALKER.walk(s -> s.limit(depth).toArray(StackWalker.StackFrame[]::new)); // Sheaf's own thread
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
