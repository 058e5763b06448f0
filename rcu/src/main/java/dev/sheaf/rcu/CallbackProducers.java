package dev.sheaf.rcu;

import dev.sheaf.rcu.internal.PerThreadTable;

/*
 * Implementation notes: the producer side of Rcu.call().
 *
 * Queue lookup: a platform thread appends to its dedicated queue, found by probing the worker's
 *   PerThreadTable array (Rcu's probe, one array load and an owner-id compare) and registered on its
 *   first call(); a virtual thread claims a pooled queue for the one call and gives it back.
 * Callback limit, before queueing: call() compares its own queue's pending count (its produced count
 *   minus the worker's opaque consumed count) with the per-queue share of the limit; only past it
 *   does admit() sum every queue (loads only) and then wait, proceed or refuse. No locked
 *   instruction is added to the fast path. A caller waits only if it may wait for a grace period
 *   (BlockingWaits.mayWait()), is not running a callback (it would wait for its own duty cycle) and
 *   the domain has its own worker (a user-run agent may be run by the very thread that would
 *   wait); it waits on a barrier ticket, holding no lock of the domain. Refusal happens before
 *   anything is queued. CallbackWorker's notes bound what racing producers can overshoot.
 * Wake-up, after queueing: Dormancy.wakeIfDormant() through the worker - a load and a branch, no
 *   fence; the missed wake-up this allows delays a grace period by at most the dormant park bound
 *   (Dormancy's and CallbackWorker's notes).
 *
 * Map: fields; call (dedicated queue), callVirtual (pooled queue); admit (the limit's slow path).
 */
/** Rcu.call()'s queueing: the caller's queue, the callback limit, the worker's wake-up. */
final class CallbackProducers {
    private final String name;
    private final CallbackWorker worker;
    private final BlockingWaits waits;
    private final boolean ownWorkerThread;
    /** The probe array of worker.threadQueues(). */
    private final CallbackQueue[] queueProbe;

    CallbackProducers(String name, CallbackWorker worker, BlockingWaits waits, boolean ownWorkerThread) {
        this.name = name;
        this.worker = worker;
        this.waits = waits;
        this.ownWorkerThread = ownWorkerThread;
        this.queueProbe = worker.threadQueues().probeArray();
    }

    /** Queues {@code callback} for thread {@code t} (the caller); Rcu.call() has checked the state. */
    void call(Thread t, Runnable callback) {
        CallbackQueue q = PerThreadTable.peek(queueProbe, t.threadId());
        if (q == null) {
            if (t.isVirtual()) {
                callVirtual(t, callback);
                return;
            }
            q = worker.dedicatedQueue(t);
        }
        if (q.pendingOwn() >= worker.share()) {
            admit(t); // the sum over every queue, and waiting or refusing past the limit
        }
        q.add(callback, worker.recycled);
        worker.wakeIfDormant(); // after the publish: see the notes for the race left
    }

    private void callVirtual(Thread t, Runnable callback) {
        CallbackQueue q = worker.claimPooled(t);
        if (q.pendingOwn() >= worker.share()) {
            q.release(); // not held while admit() may wait
            admit(t);
            q = worker.claimPooled(t);
        }
        try {
            q.add(callback, worker.recycled);
        } finally {
            q.release();
        }
        worker.wakeIfDormant();
    }

    /**
     * call()'s slow path, before queueing: returns when the caller may queue, or throws (see
     * Rcu.call()'s Javadoc). Holds no lock; a wait is a barrier ticket, one worker cycle at a time.
     */
    private void admit(Thread t) {
        long limit = worker.callbackLimit;
        long pending = worker.pendingTotal();
        if (pending < limit) {
            return;
        }
        if (ownWorkerThread && !worker.isDutyThread(t) && waits.mayWait()) {
            do {
                if (!worker.awaitBarrier(worker.barrierTicket())) {
                    throw Rcu.closedException();
                }
                pending = worker.pendingTotal();
            } while (pending >= limit);
            return;
        }
        if (pending >= 2 * limit) {
            worker.wakeForBacklog();
            throw new IllegalStateException("RCU domain '" + name + "': " + pending
                    + " callbacks pending, at the hard cap of twice callbackLimit (" + limit
                    + "); this thread may not wait for them (read section, online QSBR thread, callback"
                    + " or no own worker thread): the callback was not queued");
        }
        worker.wakeForBacklog();
    }
}
