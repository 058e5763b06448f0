package dev.sheaf.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;


/*
 * Implementation notes: one producer's callback queue, a single-producer single-consumer chain of
 * CallbackChunks.
 *
 * Producer: the owning platform thread (dedicated queue, found through CallbackWorker's thread ->
 *   queue cache or a ThreadLocal), or whichever virtual thread has claimed the queue from the
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
 */
final class CallbackQueue {
    private static final VarHandle CLAIMED;
    private static final VarHandle PRODUCED;
    private static final VarHandle CONSUMED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            CLAIMED = l.findVarHandle(CallbackQueue.class, "claimed", int.class);
            PRODUCED = l.findVarHandle(CallbackQueue.class, "produced", long.class);
            CONSUMED = l.findVarHandle(CallbackQueue.class, "consumed", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // producer side
    private CallbackChunk producerChunk;
    /** Callbacks ever added (producer writes, opaque; see the notes). */
    private long produced;
    long l1, l2, l3, l4, l5, l6, l7, l8; // keep the producer's field off the consumer's line
    // consumer side (worker only)
    private CallbackChunk consumerChunk;
    private int consumerIndex;
    private CallbackChunk snapChunk;
    private int snapCount;
    /** Callbacks run (worker writes, opaque; see the notes). */
    private long consumed;

    final boolean pooled;
    /** Dedicated queues: the owning platform thread (compared by identity in the lookup cache). */
    final Thread owner;
    @SuppressWarnings("unused") // read and written through the CLAIMED VarHandle
    private int claimed;

    CallbackQueue(Thread owner) {
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
