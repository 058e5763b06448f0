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
 */
final class CallbackQueue {
    private static final VarHandle CLAIMED;

    static {
        try {
            CLAIMED = MethodHandles.lookup().findVarHandle(CallbackQueue.class, "claimed", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // producer side
    private CallbackChunk producerChunk;
    long l1, l2, l3, l4, l5, l6, l7, l8; // keep the producer's field off the consumer's line
    // consumer side (worker only)
    private CallbackChunk consumerChunk;
    private int consumerIndex;
    private CallbackChunk snapChunk;
    private int snapCount;

    final boolean pooled;
    /** Dedicated queues: the owning platform thread (compared by identity in the lookup cache). */
    final Thread owner;
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
        }
        consumerChunk = c;
        consumerIndex = i;
        return ran;
    }

    /** Runs one callback, isolating failures. */
    interface CallbackRunner {
        void run(Runnable cb);
    }
}
