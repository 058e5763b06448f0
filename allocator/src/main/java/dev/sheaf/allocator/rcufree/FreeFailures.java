package dev.sheaf.allocator.rcufree;

/*
 * Implementation notes: how the engine reports what it could not free.
 *
 * Freeing runs on the drainer, on a waiter's thread or inside rcuBarrier, far from the freeRcu
 * call that queued the object, so nothing is thrown to a caller. Each failure is:
 *   - recorded as lastFreeError (volatile: the newest wins) and counted (freeErrors);
 *   - logged as a System.Logger ERROR record with the exception;
 *   - for a corrupt link, an IllegalStateException naming the object whose field was bad, the value
 *     it decodes to and what became of the objects behind it, counted in corruptLinks; objects no
 *     walk reached are counted in lostObjects (they stay pending, untouched);
 *   - for an RcuFreeTarget failure, the objects it did not free are counted in failedObjects.
 * The batch and every other batch go on. Reporting takes no engine lock; it may run with the drain
 * lock, an OpenBatch lock or the deferred hand-off lock held (the logger is the only thing it calls).
 *
 * Map: freeFailed / freeAttemptFailed (any failure) -> corruptLink (the singly linked deferred
 * list) -> corruptChainLink / chainObjectsLost (an XOR-linked batch chain) -> lastFreeError.
 */
/** Reports and counts what the engine could not free: RcuFreeTarget failures and corrupt links. */
final class FreeFailures {

    private static final System.Logger LOG = System.getLogger(RcuFreeEngine.class.getName());

    private final EngineCounters counters;
    private volatile RuntimeException lastFreeError;

    FreeFailures(EngineCounters counters) {
        this.counters = counters;
    }

    /** Reports an error of freeing (a RcuFreeTarget failure or a corrupt link): lastFreeError, the counter, the log. */
    void freeFailed(RuntimeException e) {
        counters.freeError();
        lastFreeError = e;
        LOG.log(System.Logger.Level.ERROR, "free after a grace period: " + e.getMessage(), e);
    }

    /** {@code n} objects handed to the RcuFreeTarget were not freed by it (already reported). */
    void freeAttemptFailed(long n) {
        counters.objectsFailed(n);
    }

    /**
     * The link read from the pending object {@code link} designates, on the singly linked deferred
     * list, decoded to {@code decoded}, which the engine will not follow (ChainLink's validation rule).
     * Reports an IllegalStateException; what is behind it is unknown (the list keeps no count).
     */
    void corruptLink(long link, long decoded) {
        counters.corruptLink();
        freeFailed(new IllegalStateException("corrupt deferred-list link in pending object 0x"
                + Long.toHexString(ChainLink.address(link)) + " (link field at offset " + ChainLink.linkOffset(link)
                + "): it decodes to 0x" + Long.toHexString(decoded) + " (object 0x"
                + Long.toHexString(ChainLink.address(decoded)) + " with its link at offset "
                + ChainLink.linkOffset(decoded)
                + ", which is not a pending object); not followed, the objects behind it, if any, are lost (they"
                + " stay pending, untouched). Something wrote to the object after it was passed to freeRcu."));
    }

    /**
     * A batch chain's field in the pending object {@code link} designates decoded to {@code raw}
     * (packed(prev) ^ packed(next), ChainLink notes); beside {@code from}, the neighbour the walk came
     * from (0 at an end), it names {@code toward}, which the engine does not follow.
     * {@code expected}: what the walk needed there, when that is not simply a pending object (null);
     * {@code outcome}: what became of the objects behind it. Reports an IllegalStateException and
     * counts the link; the lost objects are counted by {@link #chainObjectsLost}.
     */
    void corruptChainLink(long link, long raw, long from, long toward, String expected, String outcome) {
        counters.corruptLink();
        String named = toward == 0 ? "the end of the chain"
                : "object 0x" + Long.toHexString(ChainLink.address(toward)) + " with its link at offset "
                        + ChainLink.linkOffset(toward);
        String what = expected != null ? named + ", " + expected
                : toward == 0 ? named + " before the walk reached the batch's other end"
                : named + ", which is not a pending object";
        String beside = from == 0 ? "at its end of the chain"
                : "beside object 0x" + Long.toHexString(ChainLink.address(from));
        freeFailed(new IllegalStateException("corrupt link in pending object 0x"
                + Long.toHexString(ChainLink.address(link)) + " (link field at offset " + ChainLink.linkOffset(link)
                + "): it decodes to 0x" + Long.toHexString(raw) + ", which " + beside + " names " + what
                + "; not followed, " + outcome + ". Something wrote to the object after it was passed to freeRcu."));
    }

    /** {@code n} objects of a sealed batch's chain that neither walk could reach (they stay pending). */
    void chainObjectsLost(long n) {
        if (n > 0) {
            counters.objectsLost(n);
        }
    }

    /**
     * The most recent error of freeing, or null: an exception the RcuFreeTarget threw while the engine
     * freed objects, or an IllegalStateException for a corrupt link.
     */
    RuntimeException lastFreeError() {
        return lastFreeError;
    }
}
