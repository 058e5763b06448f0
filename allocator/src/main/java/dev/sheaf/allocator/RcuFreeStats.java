package dev.sheaf.allocator;

/**
 * Counters of the free-after-grace-period engine. SEAM SKELETON: fields may grow.
 *
 * @param pendingObjects      objects passed to freeRcu* and not yet freed
 * @param pendingBytes        their usable bytes
 * @param peakPendingBytes    the highest pendingBytes seen
 * @param batches             batches sealed with a grace-period cookie
 * @param gracePeriodsRequested grace periods this engine started or waited for
 * @param freedByRcuSheaf     objects returned through rcu sheaves
 * @param freedByBulkArray    objects freed from headless bulk arrays
 * @param freedByChain        objects freed from 8-byte in-object chains
 * @param freedByDeferredList objects that went through the no-lock deferred list
 * @param freedInline         headless objects freed inline after a synchronous grace period
 */
public record RcuFreeStats(long pendingObjects, long pendingBytes, long peakPendingBytes, long batches,
                           long gracePeriodsRequested, long freedByRcuSheaf, long freedByBulkArray,
                           long freedByChain, long freedByDeferredList, long freedInline) {
}
