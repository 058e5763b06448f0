package dev.sheaf.allocator;

import dev.sheaf.rcu.Rcu;

/**
 * Free after a grace period (the kernel's kvfree_rcu machinery). SEAM SKELETON: the
 * method set below is the contract between SlabAllocator and this engine; the body
 * is a placeholder to be replaced by the real batching engine.
 */
final class RcuFree implements AutoCloseable {

    /** What the engine needs from its allocator; implemented by {@link SlabAllocator}. */
    interface Target {
        /**
         * Checks, on the caller's thread and at the call, that {@code address} is the start of a
         * live object this allocator handed out. Lock-free and allocation-free.
         *
         * @throws IllegalArgumentException not an object start of this allocator
         * @throws IllegalStateException    the object is already free, or the allocator is closed
         */
        void checkFreeable(long address);

        /** Usable size of a live object, for the pending-memory bound. */
        long usableSize(long address);

        /** Frees one object now through the ordinary free path (free hooks included). */
        void freeNow(long address);

        /** Frees {@code count} objects now through the ordinary bulk free path. */
        void freeNowBulk(long[] addresses, int count);

        /**
         * A sealed rcu sheaf whose grace period has passed: give it to its cache's barn as a
         * full sheaf ready for allocation, or free its objects if the barn has no room.
         * {@code cache} is the opaque token passed to {@link #submitRcuSheaf}.
         */
        void rcuSheafReady(Object cache, long[] objects, int count);
    }

    /** Tunables; {@link #DEFAULT} fits most users. */
    record Settings(long drainDelayNanos, long pendingLimitBytes, int bulkArrayLength, int bulkArrayCache) {
        static final Settings DEFAULT = new Settings(2_000_000L, 64L << 20, 512, 16);
    }

    private final Rcu rcu;
    private final Target target;

    RcuFree(Rcu rcu, Target target, Settings settings) {
        this.rcu = rcu;
        this.target = target;
    }

    /** Two-argument kfree_rcu: chains the object through its own 8-byte field. Never blocks. */
    void freeRcu(long address, long linkOffset) {
        target.checkFreeable(address);
        rcu.call(() -> target.freeNow(address)); // placeholder
    }

    /** Headless kfree_rcu: per-thread bulk arrays; waits for a grace period when none can be had. */
    void freeRcu(long address) {
        target.checkFreeable(address);
        if (rcu.inReadSection()) {
            throw new IllegalStateException("headless freeRcu inside an RCU read section would deadlock");
        }
        rcu.call(() -> target.freeNow(address)); // placeholder
    }

    /** kfree_rcu_nolock: never parks, spins or makes a system call. */
    void freeRcuNoLock(long address, long linkOffset) {
        target.checkFreeable(address);
        rcu.call(() -> target.freeNow(address)); // placeholder
    }

    /** Seals a full rcu sheaf with a grace-period cookie; never blocks. */
    void submitRcuSheaf(Object cache, long[] objects, int count) {
        rcu.call(() -> target.rcuSheafReady(cache, objects, count)); // placeholder
    }

    /** On return every object passed to any freeRcu* before the call is free. */
    void rcuBarrier() {
        rcu.barrier();
    }

    RcuFreeStats stats() {
        return new RcuFreeStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    @Override
    public void close() {
        rcuBarrier();
    }
}
