package dev.sheaf.allocator.rcufree;

/**
 * What the engine sees of an rcu sheaf (the allocator's per-thread array of objects freed after a
 * grace period, the kernel's rcu_sheaf): its objects and a slot for the engine's batch record. The
 * allocator's sheaf extends this class, so the engine never names an allocator type and the batch
 * record travels with the sheaf: an rcu sheaf costs no allocation per trip after its first.
 *
 * <p>Owned by one party at a time: the allocator until {@link RcuFreeEngine#submitRcuSheaf}, the
 * engine until {@link RcuFreeTarget#rcuSheafReady} hands it back. {@link #batch} is touched only by
 * the engine, between those two calls.
 */
public abstract class RcuSheaf {

    SealedBatch batch;

    /** For the allocator's sheaf. */
    protected RcuSheaf() {
    }

    /**
     * The array holding the sheaf's objects.
     *
     * @return the objects, the first {@link #count()} of them valid
     */
    protected abstract long[] addresses();

    /**
     * How many objects the sheaf holds.
     *
     * @return the number of valid entries of {@link #addresses()}
     */
    protected abstract int count();
}
