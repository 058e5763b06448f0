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
 * @param freeErrors            errors reported through {@code lastFreeError}: exceptions the allocator
 *                              threw while the engine freed objects, and corrupt links
 * @param corruptLinks          in-object links (chain or deferred-list) that a user store had changed:
 *                              reported and never followed
 * @param lostObjects           batch-chain objects strictly between two corrupt links, which neither the
 *                              walk from the head nor the one from the tail could reach (one corrupt link
 *                              loses nothing); they stay pending (untouched, never freed). Objects behind
 *                              a corrupt link of the deferred list are not counted here (the lock-free
 *                              list keeps no exact count), but its byte count keeps charging them to the
 *                              pending bound
 * @param failedObjects         objects the engine handed to the allocator that it did not free (its freeNow
 *                              or freeNowBulk threw for them, or an rcu sheaf whose hand-back threw)
 */
public record RcuFreeStats(long pendingObjects, long pendingBytes, long peakPendingBytes, long batches,
                           long gracePeriodsRequested, long freedByRcuSheaf, long freedByBulkArray,
                           long freedByChain, long freedByDeferredList, long freedInline,
                           long batchesReadyAtSeal, long deferredPushes, long boundWaits, long freeErrors,
                           long corruptLinks, long lostObjects, long failedObjects) {

    /**
     * Objects freed through every channel (only what the allocator really freed).
     *
     * @return the number of objects freed after their grace period
     */
    public long freed() {
        return freedByRcuSheaf + freedByBulkArray + freedByChain + freedByDeferredList + freedInline;
    }
}
