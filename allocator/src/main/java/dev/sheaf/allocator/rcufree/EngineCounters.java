package dev.sheaf.allocator.rcufree;

import dev.sheaf.allocator.RcuFreeStats;

import java.util.concurrent.atomic.AtomicLong;

/*
 * Implementation notes: the engine's counters and their RcuFreeStats snapshot.
 *
 * Every counter is an AtomicLong updated once per batch, per grace-period request or per slow-path
 * event, never per object on freeRcu's inlined path. pendingBytes is also the pending bound's own
 * account (PendingBound reads it on slow paths) and, with releasedBytes, the grace-period rule's
 * measure of bytes sealed (GracePeriodRequests):
 *   - sealed(): SealedStack.publish adds a batch to pendingBytes/pendingObjects before pushing it,
 *     raises the peak and counts the batch;
 *   - batchFreed(): the drainer adds to releasedBytes BEFORE it subtracts from pendingBytes, and
 *     sealedEver() reads pendingBytes first, so the sum may run ahead by batches being freed right
 *     now, never behind.
 * The snapshot is racy by design: each counter is read once, in no particular order, and the open
 * batches' bytes are owner-private plain fields (an estimate).
 *
 * Map: per-batch accounting (sealed, batchFreed, pendingBytes, sealedEver) -> per-event counts
 * -> failure counts (for FreeFailures) -> snapshot.
 */
/** The engine's counters and the {@link RcuFreeStats} snapshot built from them. */
final class EngineCounters {

    private final AtomicLong pendingBytes = new AtomicLong();
    /** Bytes of freed batches, ever: pendingBytes + this = bytes sealed ever, without a second counter in publish. */
    private final AtomicLong releasedBytes = new AtomicLong();
    private final AtomicLong pendingObjects = new AtomicLong();
    private final AtomicLong peakPendingBytes = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong batchesReadyAtSeal = new AtomicLong();
    private final AtomicLong gracePeriodsRequested = new AtomicLong();
    private final AtomicLong freedByRcuSheaf = new AtomicLong();
    private final AtomicLong freedByBulkArray = new AtomicLong();
    private final AtomicLong freedByChain = new AtomicLong();
    private final AtomicLong freedByDeferredList = new AtomicLong();
    private final AtomicLong freedInline = new AtomicLong();
    private final AtomicLong deferredPushes = new AtomicLong();
    /** Objects taken off the deferred list (per take, not per push): with deferredPushes, its length for stats. */
    private final AtomicLong deferredTaken = new AtomicLong();
    private final AtomicLong boundWaits = new AtomicLong();
    private final AtomicLong freeErrors = new AtomicLong();
    private final AtomicLong corruptLinks = new AtomicLong();
    private final AtomicLong lostObjects = new AtomicLong();
    private final AtomicLong failedObjects = new AtomicLong();

    // ------------------------------------------------------------------ per-batch accounting

    /** A batch of {@code bytes}/{@code objects} was sealed and is about to be published. */
    void sealed(long bytes, long objects) {
        long pending = pendingBytes.addAndGet(bytes);
        pendingObjects.addAndGet(objects);
        long peak;
        while (pending > (peak = peakPendingBytes.get()) && !peakPendingBytes.compareAndSet(peak, pending)) {
            Thread.onSpinWait();
        }
        batches.incrementAndGet();
    }

    /** Accounts a freed batch of {@code bytes}/{@code objects}; the rest split the objects by channel. */
    void batchFreed(long bytes, long objects, long chain, long viaDeferred, long bulk, long sheaf) {
        releasedBytes.addAndGet(bytes); // before pendingBytes: sealedEver() never runs behind
        pendingBytes.addAndGet(-bytes);
        pendingObjects.addAndGet(-objects);
        if (chain != 0) {
            freedByChain.addAndGet(chain);
        }
        if (viaDeferred != 0) {
            freedByDeferredList.addAndGet(viaDeferred);
        }
        if (bulk != 0) {
            freedByBulkArray.addAndGet(bulk);
        }
        if (sheaf != 0) {
            freedByRcuSheaf.addAndGet(sheaf);
        }
    }

    /** Bytes sealed and not yet freed. */
    long pendingBytes() {
        return pendingBytes.get();
    }

    /**
     * Bytes sealed ever (a racy sum: batchFreed adds to releasedBytes before it subtracts from
     * pendingBytes, and this reads pendingBytes first, so it may run ahead by batches being freed
     * right now, never behind). Good enough to space requests; no per-batch cost for sealers.
     */
    long sealedEver() {
        long pending = pendingBytes.get();
        return pending + releasedBytes.get();
    }

    // ------------------------------------------------------------------ per-event counts

    void readyAtSeal() {
        batchesReadyAtSeal.incrementAndGet();
    }

    void gracePeriodRequested() {
        gracePeriodsRequested.incrementAndGet();
    }

    void freedInline() {
        freedInline.incrementAndGet();
    }

    void deferredPushed() {
        deferredPushes.incrementAndGet();
    }

    void deferredTaken(long n) {
        deferredTaken.addAndGet(n);
    }

    void boundWait() {
        boundWaits.incrementAndGet();
    }

    // ------------------------------------------------------------------ failure counts (FreeFailures)

    void freeError() {
        freeErrors.incrementAndGet();
    }

    void corruptLink() {
        corruptLinks.incrementAndGet();
    }

    void objectsLost(long n) {
        lostObjects.addAndGet(n);
    }

    void objectsFailed(long n) {
        failedObjects.addAndGet(n);
    }

    // ------------------------------------------------------------------ snapshot

    /**
     * The snapshot, given what the engine holds outside these counters: the open batches' objects
     * and bytes, and the deferred list's bytes.
     */
    RcuFreeStats snapshot(long openObjects, long openBytes, long deferredBytes) {
        long inDeferred = Math.max(0L, deferredPushes.get() - deferredTaken.get());
        return new RcuFreeStats(
                pendingObjects.get() + openObjects + inDeferred,
                pendingBytes.get() + openBytes + deferredBytes,
                peakPendingBytes.get(),
                batches.get(),
                gracePeriodsRequested.get(),
                freedByRcuSheaf.get(),
                freedByBulkArray.get(),
                freedByChain.get(),
                freedByDeferredList.get(),
                freedInline.get(),
                batchesReadyAtSeal.get(),
                deferredPushes.get(),
                boundWaits.get(),
                freeErrors.get(),
                corruptLinks.get(),
                lostObjects.get(),
                failedObjects.get());
    }
}
