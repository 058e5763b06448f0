package dev.sheaf.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import dev.sheaf.rcu.internal.Dormancy;
import dev.sheaf.rcu.internal.PerThreadTable;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.AgentTerminationException;

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
 * Queues: dedicated queues of platform threads (found through the PerThreadTable threadQueues,
 * whose entry a sweep removes with its dead owner's queue) and a pool of shared queues that virtual
 * threads claim per call(). Copy-on-write arrays, replaced under queueLock; dead owners' drained queues are
 * dropped every SWEEP_INTERVAL cycles.
 *
 * Lock order: dutyLock, then GracePeriods.gpLock; queueLock and barrierLock are leaves.
 *
 * Callback limit (Rcu.call): the pending total is the sum over queues of produced - consumed
 * (CallbackQueue's counts), loads only. call() computes it only when its own queue holds at least
 * share = limit / (number of queues) callbacks: while every queue holds less, so does the sum. share
 * sits on its own padded line (every call() loads it) and changes only with the queue array (under
 * queueLock). One producer is therefore held to the limit exactly. With several, a bound
 * can be passed by what the other queues add while each holds less than its share (together less
 * than one limit while the number of queues is steady) plus one call per producer racing past the
 * same check: bounded, not exact; exact would cost a shared counter, a locked instruction per call.
 * A caller that may wait takes a barrier ticket (one whole cycle, which runs everything it saw
 * queued) and re-checks; it holds no lock meanwhile.
 *
 * Dormancy (own worker thread with the default idle strategy only, see DormantBackoff): an idle
 * worker backing off at 1 ms would still wake ~1000 times a second. After IDLE_CYCLES_BEFORE_DORMANT
 * consecutive empty cycles (the backoff has ramped up to 1 ms and stayed there ~10 ms) doze()
 * follows Dormancy's worker protocol (flag and fence, re-check, bounded park, clear); the
 * re-check, under dutyLock.tryLock, is: no queue holds entries past the consumer position, no
 * requested grace period is open, no barrier ticket is outstanding, the domain is open. The park
 * bound is DORMANT_PARK_NANOS (100 ms) unless a test sets another.
 * Wakers: call() publishes its callback (release store of the chunk count), then
 * Dormancy.wakeIfDormant() - an opaque load and a branch, no fence. requestGracePeriod() and
 * barrierTicket() publish their request with an atomic RMW and then Dormancy.wakeAlways(). close()
 * needs nothing more: it turns the domain CLOSING before its barrier ticket, and the re-check
 * declines to park then. The race left on purpose is the one Dormancy's notes describe for
 * wakeIfDormant(): a callback racing with the worker going dormant waits until the park bound
 * ends (<= DORMANT_PARK_NANOS) for its grace period to start, or until any other call(),
 * startPoll() or barrier() wakes the worker; it is never lost. Closing the window would cost a
 * full fence per call().
 *
 * Map: fields; own thread start and Agent callbacks; queues (table, registration, pool); callback
 * limit (share, pendingTotal); requests from other threads (grace periods, barriers, wake-ups);
 * dormancy (doze, re-check); duty cycle (doWork, drainAndClose, cycle, sweep); statistics; padding
 * chain (CallbackWorkerPad0, CallbackWorkerFields: share, CallbackWorkerPad1).
 */
final class CallbackWorker extends CallbackWorkerPad1 implements Agent {
    private static final CallbackQueue[] NONE = new CallbackQueue[0];
    private static final int SWEEP_INTERVAL = 1024;
    /** Default dormant park bound: how long a missed wake-up (see the notes) can delay a grace period. */
    static final long DORMANT_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /**
     * Empty cycles before dozing: 64 spins + 16 yields + 10 growing parks (1 µs .. 512 µs) bring the
     * default backoff to its 1 ms park, then about 10 ms of those.
     */
    static final int IDLE_CYCLES_BEFORE_DORMANT = 64 + 16 + 10 + 10;
    private static final VarHandle CYCLES;
    private static final VarHandle INVOKED;
    private static final VarHandle FAILURES;
    private static final VarHandle SHARE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            CYCLES = l.findVarHandle(CallbackWorker.class, "cycles", long.class);
            INVOKED = l.findVarHandle(CallbackWorker.class, "invoked", long.class);
            FAILURES = l.findVarHandle(CallbackWorker.class, "failures", long.class);
            SHARE = l.findVarHandle(CallbackWorkerFields.class, "share", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Rcu rcu;
    private final GracePeriods gp;
    private final Thread.UncaughtExceptionHandler handler;
    final ChunkPool recycled = new ChunkPool();
    /** The own worker thread's dormancy (see the notes and Dormancy). */
    final Dormancy dormancy = new Dormancy(IDLE_CYCLES_BEFORE_DORMANT);

    /** Dedicated queues of platform threads; a dead owner's entry leaves it when the sweep drops the queue. */
    private final PerThreadTable<CallbackQueue> threadQueues = new PerThreadTable<>(CallbackQueue.class);
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

    private final CallbackQueue.CallbackRunner runner = this::runOne;
    /**
     * Counters of the duty cycle: written only by the dutyLock holder (plain read, release store, so
     * no read-modify-write is needed); an acquire read sees every callback counted as run.
     */
    private long invoked;
    private long failures;
    /** Duty cycles run; written opaque by the cycle (under dutyLock), read opaque by tests. */
    private long cycles;

    /** Rcu.Builder.callbackLimit: the soft bound; twice it is the hard cap. */
    final long callbackLimit;

    CallbackWorker(Rcu rcu, GracePeriods gp, Thread.UncaughtExceptionHandler handler, long callbackLimit) {
        this.rcu = rcu;
        this.gp = gp;
        this.handler = handler;
        this.callbackLimit = callbackLimit;
        SHARE.setOpaque(this, callbackLimit);
    }

    /**
     * Starts the domain's own daemon worker thread running this agent with {@code idle}; errors
     * the runner catches are logged.
     */
    AgentRunner startOwnThread(IdleStrategy idle, System.Logger logger) {
        String name = rcu.name();
        AgentRunner runner = new AgentRunner(idle,
                e -> logger.log(System.Logger.Level.ERROR, "RCU worker error in domain '" + name + "'", e),
                null, this);
        AgentRunner.startOnThread(runner, r -> {
            Thread t = new Thread(r, name + "-worker");
            t.setDaemon(true);
            return t;
        });
        return runner;
    }

    @Override
    public String roleName() {
        return rcu.name() + "-worker";
    }

    @Override
    public void onStart() {
        dormancy.bindWorker(Thread.currentThread());
    }

    // ---------------------------------------------------------------- queues

    /** The table of dedicated queues; call() probes its array (see PerThreadTable). */
    PerThreadTable<CallbackQueue> threadQueues() {
        return threadQueues;
    }

    /** The calling platform thread's dedicated queue, registered and installed on its first call(). */
    CallbackQueue dedicatedQueue(Thread t) {
        CallbackQueue q = threadQueues.get();
        if (q == null) {
            q = registerDedicated(t);
            threadQueues.put(q);
        }
        return q;
    }

    private CallbackQueue registerDedicated(Thread owner) {
        CallbackQueue q = new CallbackQueue(owner);
        queueLock.lock();
        try {
            CallbackQueue[] old = queues;
            CallbackQueue[] next = Arrays.copyOf(old, old.length + 1);
            next[old.length] = q;
            queues = next;
            updateShare(next.length);
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
            updateShare(next.length);
        } finally {
            queueLock.unlock();
        }
        return q;
    }

    int queueCount() {
        return queues.length;
    }

    // ---------------------------------------------------------------- callback limit

    /** Under queueLock, with the new array's length (see the notes). */
    private void updateShare(int queueCount) {
        SHARE.setOpaque(this, Math.max(1L, callbackLimit / Math.max(1, queueCount)));
    }

    /** call()'s trigger: the sum is needed only once the caller's queue holds this many. */
    long share() {
        return (long) SHARE.getOpaque(this);
    }

    /** Callbacks queued and not run yet, summed over every queue (loads only). */
    long pendingTotal() {
        long total = 0;
        for (CallbackQueue q : queues) {
            total += q.pending();
        }
        return total;
    }

    /** Unconditional wake for a producer past the limit that does not wait (slow path). */
    void wakeForBacklog() {
        wake();
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

    /** Wake for requests published by an atomic RMW before it (grace period, barrier, backlog). */
    private void wake() {
        dormancy.wakeAlways();
    }

    /**
     * call()'s wake, after it has published the callback: an opaque load and a branch, no fence
     * (see the notes for the reordering this allows and what it costs).
     */
    void wakeIfDormant() {
        dormancy.wakeIfDormant();
    }

    /**
     * Steps 1-3 of dormancy on the worker thread, between duty cycles. Returns false without
     * parking if there is work (or the domain is closing), so the caller backs off normally.
     */
    boolean doze(long parkNanos) {
        dormancy.prepareToDoze(); // the tryLock CAS of the re-check is a full fence too
        try {
            if (!idleForDormancy()) {
                return false;
            }
            dormancy.doze(parkNanos);
            return true;
        } finally {
            dormancy.endDoze(); // late or duplicate: at worst one waker's extra unpark
        }
    }

    /** The re-check of step 2; dutyLock keeps the consumer fields of the queues ours. */
    private boolean idleForDormancy() {
        if (!rcu.isOpen() || !dutyLock.tryLock()) {
            return false;
        }
        try {
            if (barrierTickets.get() > barrierCompleted) {
                return false;
            }
            long wanted = gpRequested.get();
            if (wanted != 0 && !gp.done(wanted)) {
                return false;
            }
            for (CallbackQueue q : queues) {
                if (!q.drained()) {
                    return false;
                }
            }
            return true;
        } finally {
            dutyLock.unlock();
        }
    }

    /** Test hook: the worker has published dormancy (it is parked or about to park). */
    boolean isDormant() {
        return dormancy.isDormant();
    }

    /** Test hook: duty cycles run so far. */
    long cycles() {
        return (long) CYCLES.getOpaque(this);
    }

    // ---------------------------------------------------------------- duty cycle

    /**
     * One duty cycle. Once the domain is closed it throws {@link AgentTerminationException}, so an
     * AgentRunner (the domain's own, or a user's) stops the agent cleanly instead of idling on.
     */
    @Override
    public int doWork() {
        if (gp.isClosed()) {
            throw new AgentTerminationException("rcu domain is closed");
        }
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
                INVOKED.setRelease(this, invoked + ran);
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
            long c = cycles + 1;
            CYCLES.setOpaque(this, c);
            if (c % SWEEP_INTERVAL == 0) {
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
            FAILURES.setRelease(this, failures + 1);
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
                    threadQueues.remove(q); // its owner is dead
                }
            }
            queues = Arrays.copyOf(next, n);
            updateShare(n);
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
        return (long) INVOKED.getAcquire(this);
    }

    long failures() {
        return (long) FAILURES.getAcquire(this);
    }
}

abstract class CallbackWorkerPad0 {
    byte p000, p001, p002, p003, p004, p005, p006, p007, p010, p011, p012, p013, p014, p015, p016, p017;
    byte p020, p021, p022, p023, p024, p025, p026, p027, p030, p031, p032, p033, p034, p035, p036, p037;
    byte p040, p041, p042, p043, p044, p045, p046, p047, p050, p051, p052, p053, p054, p055, p056, p057;
    byte p060, p061, p062, p063, p064, p065, p066, p067, p070, p071, p072, p073, p074, p075, p076, p077;
    byte p100, p101, p102, p103, p104, p105, p106, p107, p110, p111, p112, p113, p114, p115, p116, p117;
    byte p120, p121, p122, p123, p124, p125, p126, p127, p130, p131, p132, p133, p134, p135, p136, p137;
    byte p140, p141, p142, p143, p144, p145, p146, p147, p150, p151, p152, p153, p154, p155, p156, p157;
    byte p160, p161, p162, p163, p164, p165, p166, p167, p170, p171, p172, p173, p174, p175, p176, p177;
}

/** The read-mostly field every call() loads (see CallbackWorker's notes on the callback limit). */
abstract class CallbackWorkerFields extends CallbackWorkerPad0 {
    /** Callback-limit share per queue; accessed through CallbackWorker.SHARE (opaque). */
    long share;
}

/** Keeps the worker's per-cycle fields off the line of share. */
abstract class CallbackWorkerPad1 extends CallbackWorkerFields {
    byte q000, q001, q002, q003, q004, q005, q006, q007, q010, q011, q012, q013, q014, q015, q016, q017;
    byte q020, q021, q022, q023, q024, q025, q026, q027, q030, q031, q032, q033, q034, q035, q036, q037;
    byte q040, q041, q042, q043, q044, q045, q046, q047, q050, q051, q052, q053, q054, q055, q056, q057;
    byte q060, q061, q062, q063, q064, q065, q066, q067, q070, q071, q072, q073, q074, q075, q076, q077;
    byte q100, q101, q102, q103, q104, q105, q106, q107, q110, q111, q112, q113, q114, q115, q116, q117;
    byte q120, q121, q122, q123, q124, q125, q126, q127, q130, q131, q132, q133, q134, q135, q136, q137;
    byte q140, q141, q142, q143, q144, q145, q146, q147, q150, q151, q152, q153, q154, q155, q156, q157;
    byte q160, q161, q162, q163, q164, q165, q166, q167, q170, q171, q172, q173, q174, q175, q176, q177;
}
