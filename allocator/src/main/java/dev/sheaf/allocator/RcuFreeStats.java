package dev.sheaf.allocator;

/**
 * Counters of the free-after-grace-period engine (a snapshot; the pending figures include open
 * per-thread batches read without locks, so they are estimates while callers are active).
 *
 * @param pendingObjects        objects passed to freeRcu* (or submitted in rcu sheaves) and not yet freed
 * @param pendingBytes          their usable bytes
 * @param peakPendingBytes      the highest sealed-and-unfreed byte count seen (open batches excluded)
 * @param batches               batches sealed (each with a grace-period cookie)
 * @param gracePeriodsRequested distinct grace periods this engine started (startPoll) or waited for inline
 * @param freedByRcuSheaf       objects returned through rcu sheaves
 * @param freedByBulkArray      objects freed from headless bulk arrays
 * @param freedByChain          objects freed from 8-byte in-object chains (deferred-list ones excluded)
 * @param freedByDeferredList   objects that went through the no-lock deferred list
 * @param freedInline           headless objects freed inline after a synchronous grace period
 * @param batchesReadyAtSeal    batches whose cookie had already completed when sealed (no new grace period)
 * @param deferredPushes        objects pushed on the lock-free deferred list
 * @param boundWaits            grace-period waits by callers past the pending bound
 * @param freeErrors            exceptions the allocator threw while the drainer freed objects
 */
public record RcuFreeStats(long pendingObjects, long pendingBytes, long peakPendingBytes, long batches,
                           long gracePeriodsRequested, long freedByRcuSheaf, long freedByBulkArray,
                           long freedByChain, long freedByDeferredList, long freedInline,
                           long batchesReadyAtSeal, long deferredPushes, long boundWaits, long freeErrors) {

    /** Objects freed through every channel. */
    public long freed() {
        return freedByRcuSheaf + freedByBulkArray + freedByChain + freedByDeferredList + freedInline;
    }
}
