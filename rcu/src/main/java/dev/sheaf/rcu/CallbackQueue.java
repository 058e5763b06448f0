package dev.sheaf.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import dev.sheaf.rcu.internal.PerThreadTable;

/*
 * Implementation notes: one producer's callback queue, a single-producer single-consumer chain of
 * CallbackChunks.
 *
 * Producer: the owning platform thread (dedicated queue, found through CallbackWorker's PerThreadTable
 *   of dedicated queues), or whichever virtual thread has claimed the queue from the
 *   pool (claim CAS = acquire, release store on give back, so successive holders' plain producer
 *   fields are ordered). add() is an array store, a release store of the chunk count and, once per
 *   CAPACITY calls, a chunk link. No allocation in steady state: chunks come from a recycle pool.
 * Consumer: only the domain worker (one duty cycle at a time). snapshot() walks from the consumer
 *   position to the producer's published end and remembers it; after a grace period that started
 *   after the snapshot, runSnapshot() runs exactly the remembered callbacks. Entries published after
 *   the snapshot wait for the next cycle. A chunk the consumer leaves behind has a successor, so the
 *   producer has left it for good and it can be recycled.
 * Counts (for Rcu's callback limit): produced is the number of callbacks ever added, written only by
 *   the producer (opaque store, beside the count publication; successive holders of a pooled queue
 *   are ordered by the claim), consumed the number the worker has run, written opaque by the worker
 *   once per chunk and at the end of a batch. Neither publishes data: they are read only as counts
 *   (opaque), and reading consumed before produced never yields a negative difference. The producer
 *   reads consumed on every add; the worker writes it a few times per cycle, so that line moves
 *   rarely.
 *
 * Map: producer fields (CallbackQueueProducerFields on PerThreadTable.Entry), CallbackQueuePad1;
 * consumer and pool fields; producer (add, pendingOwn, claim/release); consumer (snapshot,
 * runSnapshot, counts).
 */
/** The producer's fields, on the lines after the header (the owner's id is read by its probe only). */
abstract class CallbackQueueProducerFields extends PerThreadTable.Entry {
    /** The chunk the producer appends to. */
    CallbackChunk producerChunk;
    /** Callbacks ever added (producer writes, opaque; see CallbackQueue's notes). */
    long produced;

    CallbackQueueProducerFields(long ownerTid) {
        super(ownerTid);
    }
}

/** Keeps the producer's fields off the consumer's lines. */
abstract class CallbackQueuePad1 extends CallbackQueueProducerFields {
    byte q000, q001, q002, q003, q004, q005, q006, q007, q010, q011, q012, q013, q014, q015, q016, q017;
    byte q020, q021, q022, q023, q024, q025, q026, q027, q030, q031, q032, q033, q034, q035, q036, q037;
    byte q040, q041, q042, q043, q044, q045, q046, q047, q050, q051, q052, q053, q054, q055, q056, q057;
    byte q060, q061, q062, q063, q064, q065, q066, q067, q070, q071, q072, q073, q074, q075, q076, q077;
    byte q100, q101, q102, q103, q104, q105, q106, q107, q110, q111, q112, q113, q114, q115, q116, q117;
    byte q120, q121, q122, q123, q124, q125, q126, q127, q130, q131, q132, q133, q134, q135, q136, q137;
    byte q140, q141, q142, q143, q144, q145, q146, q147, q150, q151, q152, q153, q154, q155, q156, q157;
    byte q160, q161, q162, q163, q164, q165, q166, q167, q170, q171, q172, q173, q174, q175, q176, q177;

    CallbackQueuePad1(long ownerTid) {
        super(ownerTid);
    }
}

final class CallbackQueue extends CallbackQueuePad1 {
    private static final VarHandle CLAIMED;
    private static final VarHandle PRODUCED;
    private static final VarHandle CONSUMED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            CLAIMED = l.findVarHandle(CallbackQueue.class, "claimed", int.class);
            PRODUCED = l.findVarHandle(CallbackQueueProducerFields.class, "produced", long.class);
            CONSUMED = l.findVarHandle(CallbackQueue.class, "consumed", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // consumer side (worker only); the producer's fields are in CallbackQueueProducerFields
    private CallbackChunk consumerChunk;
    private int consumerIndex;
    private CallbackChunk snapChunk;
    private int snapCount;
    /** Callbacks run (worker writes, opaque; see the notes). */
    private long consumed;

    final boolean pooled;
    /** Dedicated queues: the owning platform thread (the sweep checks its liveness); null if pooled. */
    final Thread owner;
    @SuppressWarnings("unused") // read and written through the CLAIMED VarHandle
    private int claimed;

    CallbackQueue(Thread owner) {
        super(owner == null ? 0L : owner.threadId());
        this.pooled = owner == null;
        this.owner = owner;
        CallbackChunk c = new CallbackChunk();
        producerChunk = c;
        consumerChunk = c;
        snapChunk = c;
    }

    // ---------------------------------------------------------------- producer

    void add(Runnable cb, ChunkPool recycled) {
        CallbackChunk c = producerChunk;
        int n = c.count;
        if (n == CallbackChunk.CAPACITY) {
            CallbackChunk fresh = recycled.poll();
            if (fresh == null) {
                fresh = new CallbackChunk();
            }
            c.link(fresh);
            producerChunk = c = fresh;
            n = 0;
        }
        c.callbacks[n] = cb;
        c.publishCount(n + 1);
        PRODUCED.setOpaque(this, produced + 1);
    }

    /** Producer side: callbacks of this queue not run yet (own count plain, the worker's opaque). */
    long pendingOwn() {
        return produced - (long) CONSUMED.getOpaque(this);
    }

    /** Any thread: callbacks of this queue not run yet; consumed first, so never negative. */
    long pending() {
        long c = (long) CONSUMED.getOpaque(this);
        return (long) PRODUCED.getOpaque(this) - c;
    }

    boolean tryClaim() {
        return (int) CLAIMED.getOpaque(this) == 0 && CLAIMED.compareAndSet(this, 0, 1);
    }

    void release() {
        CLAIMED.setRelease(this, 0);
    }

    boolean ownerDead() {
        if (pooled) {
            return false;
        }
        return !owner.isAlive();
    }

    // ---------------------------------------------------------------- consumer

    /** Remembers the producer's published end; true if there is anything to run up to it. */
    boolean snapshot() {
        CallbackChunk c = consumerChunk;
        int n = c.countAcquire();
        while (n == CallbackChunk.CAPACITY) {
            CallbackChunk next = c.nextAcquire();
            if (next == null) {
                break;
            }
            c = next;
            n = c.countAcquire();
        }
        snapChunk = c;
        snapCount = n;
        return c != consumerChunk || n != consumerIndex;
    }

    /** True if nothing is queued beyond the consumer position (worker side). */
    boolean drained() {
        CallbackChunk c = consumerChunk;
        return c.countAcquire() == consumerIndex && (consumerIndex < CallbackChunk.CAPACITY || c.nextAcquire() == null);
    }

    /** Runs the callbacks up to the last snapshot; returns how many ran. */
    long runSnapshot(CallbackRunner runner, ChunkPool recycled) {
        long ran = 0;
        long base = consumed;
        CallbackChunk c = consumerChunk;
        int i = consumerIndex;
        CallbackChunk end = snapChunk;
        int endCount = snapCount;
        while (true) {
            int limit = c == end ? endCount : CallbackChunk.CAPACITY;
            Runnable[] cbs = c.callbacks;
            for (; i < limit; i++) {
                Runnable cb = cbs[i];
                cbs[i] = null;
                runner.run(cb);
                ran++;
            }
            if (c == end) {
                break;
            }
            CallbackChunk next = c.nextAcquire();
            c.reset();
            recycled.offer(c);
            c = next;
            i = 0;
            CONSUMED.setOpaque(this, base + ran); // a chunk's worth: waiting producers see progress
        }
        consumerChunk = c;
        consumerIndex = i;
        CONSUMED.setOpaque(this, base + ran);
        return ran;
    }

    /** Runs one callback, isolating failures. */
    interface CallbackRunner {
        void run(Runnable cb);
    }
}
