package dev.sheaf.allocator.rcufree;

/**
 * What the engine needs from its allocator; implemented inside {@link dev.sheaf.allocator.SlabAllocator}.
 *
 * <p>Object states: the target knows, for every object start, whether it is allocated (in a
 * user's hands), pending (claimed by the engine) or free. The engine moves an object from
 * allocated to pending with {@link #claim} and from pending to free with {@link #freeNow},
 * {@link #freeNowBulk} or {@link #rcuSheafReady}; nothing else may touch a pending object.
 */
public interface RcuFreeTarget {
    /**
     * Takes an object for a free after a grace period: checks, on the caller's thread and at
     * the call, that {@code address} is the start of an allocated object of this allocator
     * and, when {@code linkOffset >= 0}, that an 8-byte link fits at that offset
     * ({@link ChainLink#checkLinkField}); only then marks it pending, so that a later free,
     * claim or usable-size query of it throws. Lock-free and allocation-free. The engine
     * calls it after every check of its own that may throw, so a claimed object is never
     * dropped.
     *
     * @param address    the object's start
     * @param linkOffset the offset of the object's 8-byte link, or -1 for a headless free
     * @return the object's usable size, for the pending-memory bound
     * @throws IllegalArgumentException not an object start of this allocator, or a bad link field
     * @throws IllegalStateException    the object is not allocated (free or already pending),
     *                                  or the allocator is closed
     */
    long claim(long address, long linkOffset);

    /**
     * Whether {@code address} is, right now, the start of a pending object whose usable size
     * holds an 8-byte field at {@code linkOffset} (-1: headless). The engine asks before it
     * follows a link it read from memory a user could have written. Lock-free, never throws,
     * never reads the object's memory.
     *
     * @param address    a candidate object start, read from memory a user could write
     * @param linkOffset the offset of its 8-byte link, or -1 for none
     * @return true if it is a pending object that can hold the link
     */
    boolean isPending(long address, long linkOffset);

    /**
     * Usable size of a pending object; no state check (the engine holds it).
     *
     * @param address a pending object's start
     * @return its usable size in bytes
     */
    long usableSize(long address);

    /**
     * Frees one pending object now (free hooks run), without the public entry points' checks.
     *
     * @param address a pending object's start
     * @throws IllegalStateException the object is not pending (the engine's own bug or a
     *                               corrupted link); nothing is freed then
     */
    void freeNow(long address);

    /**
     * Frees {@code count} pending objects now. One object that cannot be freed does not stop
     * the rest: every other one is freed, then the first failure is thrown.
     *
     * @param addresses pending objects' starts
     * @param count     how many of {@code addresses}, from the first, to free
     * @return the number of objects freed
     */
    default int freeNowBulk(long[] addresses, int count) {
        int freed = 0;
        RuntimeException first = null;
        for (int i = 0; i < count; i++) {
            try {
                freeNow(addresses[i]);
                freed++;
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
        return freed;
    }

    /**
     * A sealed rcu sheaf whose grace period has passed, handed back with its first
     * {@code sheaf.size} objects as submitted: give it to its cache's barn as a full sheaf
     * ready for allocation, or free its objects and keep the empty sheaf for reuse.
     * {@code cache} is the opaque token passed to {@link RcuFreeEngine#submitRcuSheaf}. From this
     * call on the sheaf is the target's again (the engine has let go of it and of its batch).
     *
     * @param cache the token passed with the sheaf to submitRcuSheaf
     * @param sheaf the sheaf, handed back
     */
    void rcuSheafReady(Object cache, RcuSheaf sheaf);

    /**
     * Submits every partly filled rcu sheaf of every thread and carrier through
     * {@link RcuFreeEngine#submitRcuSheaf} and returns when all have been submitted. Called by
     * {@link RcuFreeEngine#rcuBarrier()} first, without any engine lock held.
     */
    default void flushRcuSheaves() {
    }

    /**
     * Submits the partly filled rcu sheaves that have held objects for at least
     * {@code maxAgeNanos} (measured on the engine's coarse clock {@code nowNanos}); the
     * drainer calls it once per drain delay so that an idle thread cannot pin its sheaf.
     * Never waits for an owner in the middle of a call: a sheaf in use is skipped.
     *
     * @param nowNanos    the engine's coarse clock
     * @param maxAgeNanos the age from which a sheaf is submitted
     */
    default void flushAgedRcuSheaves(long nowNanos, long maxAgeNanos) {
    }

    /**
     * Bytes in partly filled rcu sheaves now (racy sum), counted towards the pending bound.
     * Called on the engine's slow paths, including freeRcuNoLock's and with an engine lock
     * held, and by the idle worker: lock-free, allocation-free, never blocks.
     *
     * @return bytes in partly filled rcu sheaves
     */
    default long openRcuSheafBytes() {
        return 0;
    }
}
