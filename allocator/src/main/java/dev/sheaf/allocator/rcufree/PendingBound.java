package dev.sheaf.allocator.rcufree;

import dev.sheaf.rcu.Rcu;

import java.util.function.LongSupplier;

/*
 * Implementation notes: the pending bound and the hard cap - how much memory may wait for grace
 * periods, and who waits when there is more.
 *
 * Pending memory = bytes sealed and not yet freed (EngineCounters.pendingBytes) + the deferred
 * list's bytes + RcuFreeTarget.openRcuSheafBytes() (partly filled rcu sheaves, a racy sum the target
 * computes, so it is asked on slow paths only: opening or sealing a batch, a deferred push, a
 * submitted rcu sheaf; never per call on freeRcu's inlined path). Open per-thread batches are
 * not counted; the overshoot below bounds them.
 *
 * Who waits is decided in one place, callerMayWait(): not inside a read section, and not on an
 * online QSBR thread (waiting would take it offline and end a grace period while it holds
 * pointers).
 *   - A caller that may wait and that seals a batch, or starts a new one after the drainer sealed
 *     its last, and finds pending memory above pendingLimitBytes helps (meet): it frees ready
 *     batches and waits for the outstanding requested grace period, or requests one covering
 *     everything sealed so far if none is outstanding (GracePeriodRequests), and repeats while
 *     something it could wait for is in flight. Callers past the bound thus share one grace
 *     period at a time; waiting for the oldest batch's cookie instead would run a grace period
 *     per rcu sheaf in a flood, and a fresh getState() per waiter one per wait.
 *   - A caller that may not wait never waits and never goes offline in the engine: past the bound
 *     it frees what is ready if the drain lock is free and wakes the worker. Past the hard cap,
 *     hardCap = 2 * pendingLimitBytes (saturated), its calls on a slow path (opening a batch,
 *     sealing, the deferred list) throw IllegalStateException BEFORE target.claim, so the object
 *     stays allocated and nothing is half-done. freeRcuNoLock follows the same cap but never wakes
 *     (a wake may be a system call); headless freeRcu(a) rejects such callers outright (it may have
 *     to wait for an array or an inline grace period); submitRcuSheaf never waits or throws for the
 *     cap (the target bounds a sheaf; its caller meets the bound through meetPendingBound, and the
 *     cap through checkHardCapForRcuSheaf before it claims an object that opens a sheaf).
 *   - The cap check reads pendingBytes and the deferred list's byte counter, which push() keeps
 *     anyway (added before its CAS): no locked instruction beyond the push's own; the target's
 *     open sheaves are added only once that sum is past the bound. The aged flush (drainer) keeps
 *     any one open sheaf from holding objects for much longer than a drain delay.
 * Overshoot: what the checks do not see is bounded per thread or stripe T, not per call:
 *   - one open batch: below batchBytes (pendingLimit/16) plus one object, since the inlined path
 *     and freeRcuNoLock add only while the batch is under batchBytes, and a full one is sealed or
 *     bypassed on the slow path, where the cap is checked;
 *   - one batch being sealed, below batchBytes plus two objects (the sealing call adds one), which
 *     enters pendingBytes only after the check that admitted it;
 *   - one object per caller between its check and its add (the check is not atomic with the add);
 *   - for the rcu sheaf path, what the target keeps open (one sheaf per thread and cache, counted
 *     once it is past the bound, and submitted by the aged flush within about a drain delay).
 * So callers that may wait keep pending memory within pendingLimitBytes + T * (2 * batchBytes +
 * 4 objects) (their waits drive it back), and callers that may not wait within the same with the
 * hard cap in place of pendingLimitBytes; at 16 threads or stripes the batch term is
 * 2 * pendingLimit.
 *
 * Locks: meet() takes the deferred hand-off lock (try-lock) and the drain lock, one after the
 * other, never together, and waits for a grace period holding neither.
 *
 * Map: callerMayWait -> pastLimit / pendingMemory -> meet (help, then wait) -> checkHardCap /
 * checkHardCapForRcuSheaf.
 */
/** The pending bound (who helps and waits past it) and the hard cap (who is refused past it). */
final class PendingBound {

    private final Rcu rcu;
    private final RcuFreeTarget target;
    private final NoLockDeferredList deferred;
    private final EngineCounters counters;
    private final GracePeriodRequests gracePeriods;
    private final DeferredHandOff handOff;
    private final BatchDrainer drainer;
    /** The own worker, or null (ownWorker = false). */
    private final EngineWorker worker;
    /** The engine's coarse clock (RcuFreeEngine.coarseNow), for the time of a request. */
    private final LongSupplier coarseClock;
    private final long pendingLimitBytes;
    /** 2 * pendingLimitBytes (saturated): what callers that may not wait must stay below. */
    private final long hardCapBytes;

    PendingBound(Rcu rcu, RcuFreeTarget target, NoLockDeferredList deferred, EngineCounters counters,
            GracePeriodRequests gracePeriods, DeferredHandOff handOff, BatchDrainer drainer, EngineWorker worker,
            LongSupplier coarseClock, long pendingLimitBytes) {
        this.rcu = rcu;
        this.target = target;
        this.deferred = deferred;
        this.counters = counters;
        this.gracePeriods = gracePeriods;
        this.handOff = handOff;
        this.drainer = drainer;
        this.worker = worker;
        this.coarseClock = coarseClock;
        this.pendingLimitBytes = pendingLimitBytes;
        this.hardCapBytes = pendingLimitBytes > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : 2 * pendingLimitBytes;
    }

    /**
     * Whether the calling thread may wait for a grace period here: the one place the engine asks.
     * Inside a read section it may not (the wait would deadlock), nor may an online QSBR thread
     * (the wait would count it quiescent without its consent while it holds pointers).
     */
    boolean callerMayWait() {
        return rcu.mayWaitForGracePeriod(); // false in a read section and on an online QSBR thread
    }

    /** Pending memory is past pendingLimitBytes (a target call: slow paths only). */
    boolean pastLimit() {
        return pendingMemory() > pendingLimitBytes;
    }

    /**
     * Pending memory for the bound: sealed and unfreed, on the deferred list, and in partly filled
     * rcu sheaves (a target call: slow paths only). Open per-thread batches are not counted; the
     * notes bound them.
     */
    private long pendingMemory() {
        return counters.pendingBytes() + deferred.bytes() + target.openRcuSheafBytes();
    }

    /**
     * Past the pending bound: help drain, and if the caller may wait for a grace period, wait for
     * one. A caller that may not wait only frees what is ready, without blocking, and wakes the
     * worker: it never waits and never goes offline here.
     */
    void meet() {
        if (pendingMemory() <= pendingLimitBytes) {
            return;
        }
        if (!callerMayWait()) {
            drainer.tryDrainReady();
            if (worker != null) {
                worker.wake();
            }
            return;
        }
        while (true) {
            handOff.moveToOwnBatch(false);
            drainer.drainLock.lock();
            try {
                drainer.drainReady();
                if (pendingMemory() <= pendingLimitBytes || drainer.oldestWaiting(Long.MAX_VALUE) == null) {
                    return;
                }
            } finally {
                drainer.drainLock.unlock();
            }
            long cookie = gracePeriods.outstandingOrRequest(coarseClock.getAsLong());
            counters.boundWait();
            rcu.condSynchronize(cookie);
        }
    }

    /** The hard cap for the rcu sheaf path: checked only for a caller that may not wait. */
    void checkHardCapForRcuSheaf(long address) {
        if (!callerMayWait()) {
            checkHardCap(address);
        }
    }

    /**
     * The hard cap for callers that may not wait, checked before target.claim so that a rejected
     * call leaves the object allocated and queues nothing. Reads counters only (no locked
     * instruction); the target's open rcu sheaves are added only once the engine's own count is
     * past the bound.
     *
     * @throws IllegalStateException pending memory is past the hard cap
     */
    void checkHardCap(long address) {
        long own = counters.pendingBytes() + deferred.bytes();
        if (own <= pendingLimitBytes) {
            return;
        }
        long pending = own + target.openRcuSheafBytes();
        if (pending > hardCapBytes) {
            throw new IllegalStateException("free after a grace period of 0x" + Long.toHexString(address)
                    + " refused: the caller may not wait for a grace period and pending memory (" + pending
                    + " bytes) is past the hard cap of 2 * pendingLimitBytes = " + hardCapBytes
                    + " bytes; the object was not taken and is still allocated");
        }
    }
}
