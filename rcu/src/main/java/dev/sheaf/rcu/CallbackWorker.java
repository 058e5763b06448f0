package dev.sheaf.rcu;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.agrona.concurrent.Agent;

/*
 * Implementation notes: the domain's duty cycle - callbacks, requested grace periods, barriers.
 *
 * One duty cycle (doWork, never concurrent with itself: dutyLock):
 *   1. read the barrier ticket counter (volatile), then snapshot every callback queue. Anything a
 *      barrier() caller could have seen queued happens-before its ticket increment, hence before
 *      this snapshot.
 *   2. if anything is pending, take one cookie (GracePeriods.snapshot, which fences) and drive grace
 *      periods until it completes: one grace period serves every queue's batch.
 *   3. run the snapshotted callbacks, each isolated: a throwing callback goes to the domain's
 *      UncaughtExceptionHandler and the rest still run.
 *   4. drive grace periods requested by startPoll().
 *   5. publish the ticket read in step 1 as completed and wake barrier waiters.
 * The cycle runs on the domain's own AgentRunner thread, or on a user thread through the Agent
 * returned by Rcu.agent() (Builder.ownWorkerThread(false)).
 *
 * Queues: dedicated queues of platform threads and a pool of shared queues that virtual threads
 * claim per call(). Copy-on-write arrays, replaced under queueLock; dead owners' drained queues are
 * dropped every SWEEP_INTERVAL cycles.
 *
 * Lock order: dutyLock, then GracePeriods.gpLock; queueLock and barrierLock are leaves.
 */
final class CallbackWorker implements Agent {
    private static final CallbackQueue[] NONE = new CallbackQueue[0];
    private static final int SWEEP_INTERVAL = 1024;
    private static final int CACHE_SIZE = 256;

    private final Rcu rcu;
    private final GracePeriods gp;
    private final Thread.UncaughtExceptionHandler handler;
    final ChunkPool recycled = new ChunkPool();

    /** Direct-mapped thread -> dedicated queue cache, same scheme as ReaderRegistry.cached(). */
    private final CallbackQueue[] cache = new CallbackQueue[CACHE_SIZE];
    private final ReentrantLock queueLock = new ReentrantLock();
    private volatile CallbackQueue[] queues = NONE;
    private volatile CallbackQueue[] pool = NONE;

    private final ReentrantLock dutyLock = new ReentrantLock();
    /** Thread inside doWork now (for deadlock detection), or null. */
    private volatile Thread dutyThread;
    private final AtomicLong barrierTickets = new AtomicLong();
    private final AtomicLong gpRequested = new AtomicLong();
    private volatile long barrierCompleted;
    private final ReentrantLock barrierLock = new ReentrantLock();
    private final Condition barrierDone = barrierLock.newCondition();
    private volatile Thread wakeTarget;

    private final CallbackQueue.CallbackRunner runner = this::runOne;
    private volatile long invoked;
    private volatile long failures;
    private long cycles;

    CallbackWorker(Rcu rcu, GracePeriods gp, Thread.UncaughtExceptionHandler handler) {
        this.rcu = rcu;
        this.gp = gp;
        this.handler = handler;
    }

    @Override
    public String roleName() {
        return rcu.name() + "-worker";
    }

    @Override
    public void onStart() {
        wakeTarget = Thread.currentThread();
    }

    // ---------------------------------------------------------------- queues

    CallbackQueue cached(Thread t) {
        CallbackQueue q = cache[(int) t.threadId() & (CACHE_SIZE - 1)];
        return q != null && q.owner == t ? q : null;
    }

    void cache(Thread t, CallbackQueue q) {
        cache[(int) t.threadId() & (CACHE_SIZE - 1)] = q;
    }

    CallbackQueue registerDedicated(Thread owner) {
        CallbackQueue q = new CallbackQueue(owner);
        queueLock.lock();
        try {
            CallbackQueue[] old = queues;
            CallbackQueue[] next = Arrays.copyOf(old, old.length + 1);
            next[old.length] = q;
            queues = next;
        } finally {
            queueLock.unlock();
        }
        return q;
    }

    /** Claims a pooled queue for a virtual thread's call(); give it back with release(). */
    CallbackQueue claimPooled(Thread t) {
        CallbackQueue[] p = pool;
        int n = p.length;
        if (n > 0) {
            int start = (int) ((t.threadId() * 0x9E3779B97F4A7C15L) >>> 33) % n;
            for (int i = 0; i < n; i++) {
                int j = start + i;
                CallbackQueue q = p[j < n ? j : j - n];
                if (q.tryClaim()) {
                    return q;
                }
            }
        }
        CallbackQueue q = new CallbackQueue(null);
        q.tryClaim();
        queueLock.lock();
        try {
            CallbackQueue[] oldPool = pool;
            CallbackQueue[] nextPool = Arrays.copyOf(oldPool, oldPool.length + 1);
            nextPool[oldPool.length] = q;
            CallbackQueue[] old = queues;
            CallbackQueue[] next = Arrays.copyOf(old, old.length + 1);
            next[old.length] = q;
            queues = next;
            pool = nextPool;
        } finally {
            queueLock.unlock();
        }
        return q;
    }

    int queueCount() {
        return queues.length;
    }

    // ---------------------------------------------------------------- requests from other threads

    /** Asks the duty cycle to complete {@code cookie}; wakes the worker only for a new target. */
    void requestGracePeriod(long cookie) {
        long prev = gpRequested.get();
        if (prev - cookie >= 0) {
            return; // an equal or later cookie is already requested
        }
        if (gpRequested.getAndAccumulate(cookie, Math::max) - cookie < 0) {
            wake();
        }
    }

    /** Takes a barrier ticket; the barrier is done once barrierCompleted reaches it. */
    long barrierTicket() {
        long t = barrierTickets.incrementAndGet();
        wake();
        return t;
    }

    boolean barrierReached(long ticket) {
        return barrierCompleted >= ticket;
    }

    /**
     * Waits until {@code ticket} completes or the domain stops; false if it stopped first.
     * Uninterruptible like rcu_barrier(): an interrupt is remembered and restored on return.
     */
    boolean awaitBarrier(long ticket) {
        boolean interrupted = false;
        barrierLock.lock();
        try {
            while (barrierCompleted < ticket) {
                if (gp.isClosed()) {
                    return false;
                }
                wake();
                try {
                    barrierDone.await(1, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            barrierLock.unlock();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    boolean isDutyThread(Thread t) {
        return dutyThread == t;
    }

    private void wake() {
        Thread t = wakeTarget;
        if (t != null) {
            java.util.concurrent.locks.LockSupport.unpark(t);
        }
    }

    // ---------------------------------------------------------------- duty cycle

    @Override
    public int doWork() {
        if (!dutyLock.tryLock()) {
            return 0;
        }
        try {
            return cycle();
        } finally {
            dutyLock.unlock();
        }
    }

    /**
     * Close path: runs duty cycles on the calling thread until nothing is queued, then runs
     * {@code closeAction} still holding dutyLock, so a user-run agent cannot start a cycle between
     * the last drain and the domain turning closed.
     */
    void drainAndClose(Runnable closeAction) {
        dutyLock.lock();
        try {
            while (cycle() > 0) {
                // keep going: callbacks may have queued more
            }
        } finally {
            try {
                closeAction.run();
            } finally {
                dutyLock.unlock();
            }
        }
    }

    private int cycle() {
        if (gp.isClosed()) {
            return 0;
        }
        dutyThread = Thread.currentThread();
        try {
            int work = 0;
            long ticket = barrierTickets.get();
            CallbackQueue[] qs = queues;
            boolean pending = false;
            for (CallbackQueue q : qs) {
                pending |= q.snapshot();
            }
            if (pending) {
                gp.awaitCookie(gp.snapshot());
                long ran = 0;
                for (CallbackQueue q : qs) {
                    ran += q.runSnapshot(runner, recycled);
                }
                invoked = invoked + ran;
                work += (int) Math.min(ran, Integer.MAX_VALUE - 2);
            }
            long wanted = gpRequested.get();
            if (wanted != 0 && !gp.done(wanted)) {
                gp.awaitCookie(wanted);
                work++;
            }
            if (ticket > barrierCompleted) {
                barrierCompleted = ticket;
                barrierLock.lock();
                try {
                    barrierDone.signalAll();
                } finally {
                    barrierLock.unlock();
                }
                work++;
            }
            if (++cycles % SWEEP_INTERVAL == 0) {
                sweepQueues();
            }
            return work;
        } finally {
            dutyThread = null;
        }
    }

    private void runOne(Runnable cb) {
        try {
            cb.run();
        } catch (Throwable t) {
            failures = failures + 1;
            try {
                handler.uncaughtException(Thread.currentThread(), t);
            } catch (Throwable ignored) {
                // a failing handler must not stop the other callbacks
            }
        }
    }

    private void sweepQueues() {
        CallbackQueue[] qs = queues;
        int dead = 0;
        for (CallbackQueue q : qs) {
            if (q.ownerDead() && q.drained()) {
                dead++;
            }
        }
        if (dead == 0) {
            return;
        }
        queueLock.lock();
        try {
            CallbackQueue[] old = queues;
            CallbackQueue[] next = new CallbackQueue[old.length];
            int n = 0;
            for (CallbackQueue q : old) {
                if (!(q.ownerDead() && q.drained())) {
                    next[n++] = q;
                } else {
                    int i = (int) q.owner.threadId() & (CACHE_SIZE - 1);
                    if (cache[i] == q) {
                        cache[i] = null;
                    }
                }
            }
            queues = Arrays.copyOf(next, n);
        } finally {
            queueLock.unlock();
        }
    }

    /** Wakes barrier waiters after close so they can fail instead of waiting forever. */
    void wakeAllWaiters() {
        barrierLock.lock();
        try {
            barrierDone.signalAll();
        } finally {
            barrierLock.unlock();
        }
    }

    long invoked() {
        return invoked;
    }

    long failures() {
        return failures;
    }
}
