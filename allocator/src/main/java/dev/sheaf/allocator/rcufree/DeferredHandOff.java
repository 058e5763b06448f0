package dev.sheaf.allocator.rcufree;

import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes: the way in and out of the no-lock deferred list (NoLockDeferredList), the
 * kernel's irq_work that moves an NMI-time llist into the normal kfree_rcu batches.
 *
 * In: push() - an object whose OpenBatch could not be had (freeRcuNoLock's failed try-lock or full
 * batch, freeRcu(a, off) while the drainer or a barrier holds its batch). No wake-up here:
 * freeRcuNoLock may not make a system call, the other pushers wake the worker themselves.
 * Out: the whole list is taken at once and walked into the XOR form of a batch chain (ChainLink
 * notes), either
 *   - spliced into the caller's open batch, in front of its head (spliceInto, OpenBatch lock held,
 *     by the next ordinary freeRcu*), or
 *   - published as a sealed batch of its own (moveToOwnBatch, under handOffLock, by the drainer,
 *     a waiter past the pending bound and rcuBarrier).
 * Both use one walk (takeChain): it starts at the list head (an engine-held value), follows a
 * decoded link only once RcuFreeTarget.isPending accepts it, and is bounded by the list's byte
 * count (each object holds at least its 8-byte link), so a cycle or a corrupt link ends it; a bad
 * link is reported (FreeFailures.corruptLink) and the objects behind it are lost (they stay pending,
 * untouched). Each object's field is rewritten into the XOR form once its successor is known and
 * validated; the tail's field is written by the destination (OpenBatch.addChain names the old
 * head beside it, moveToOwnBatch closes the chain), so the chain is exactly the objects counted.
 *
 * handOffLock: held from the take to the publish of moveToOwnBatch, so rcuBarrier (which waits for
 * it) cannot miss objects the drainer has taken but not yet published. A splicer needs no such
 * lock: it holds its OpenBatch lock across the take, and the barrier's pass over the open batches
 * waits for it. Leaf-level except for SealedBatchPool (try-lock), the target's lock-free calls and
 * the error logger.
 *
 * Memory ordering: the pusher's plain link store precedes its CAS of the list head; the taker's
 * getAndSet reads that head, then rewrites the links plainly under the OpenBatch lock or
 * handOffLock, before the lock release or the publishing CAS that hands them on.
 *
 * Map: push -> spliceInto -> moveToOwnBatch -> takeChain (the one walk) -> nextDeferred.
 */
/** Moves objects through the no-lock deferred list: pushed in, taken out into the normal batches. */
final class DeferredHandOff {

    private final NoLockDeferredList deferred;
    private final RcuFreeTarget target;
    private final long linkKey;
    private final SealedBatchPool batchPool;
    private final SealedStack sealed;
    private final EngineCounters counters;
    private final FreeFailures failures;
    private final ReentrantLock handOffLock = new ReentrantLock();

    DeferredHandOff(NoLockDeferredList deferred, RcuFreeTarget target, long linkKey, SealedBatchPool batchPool,
            SealedStack sealed, EngineCounters counters, FreeFailures failures) {
        this.deferred = deferred;
        this.target = target;
        this.linkKey = linkKey;
        this.batchPool = batchPool;
        this.sealed = sealed;
        this.counters = counters;
        this.failures = failures;
    }

    /** A claimed object onto the deferred list; no wake-up (freeRcuNoLock may not make a system call). */
    void push(long address, long linkOffset, long size) {
        deferred.push(address, linkOffset, size);
        counters.deferredPushed();
    }

    /**
     * Moves the deferred list in front of the caller's open batch {@code local} ({@code now}: its
     * opening time if it was empty). OpenBatch lock held.
     */
    void spliceInto(OpenBatch local, long now) {
        takeChain(local, now);
    }

    /**
     * Moves the deferred list into a sealed batch of its own; 1 if it published one. The drainer
     * and waiters pass wait = false (try-lock); rcuBarrier passes true so it cannot overtake a
     * hand-off in progress.
     */
    int moveToOwnBatch(boolean wait) {
        if (!wait && deferred.isEmpty()) {
            return 0;
        }
        if (wait) {
            handOffLock.lock();
        } else if (!handOffLock.tryLock()) {
            return 0;
        }
        try {
            return takeChain(null, 0L) ? 1 : 0;
        } finally {
            handOffLock.unlock();
        }
    }

    /**
     * Takes the whole list and walks it into the XOR form (see the notes); the chain then goes in
     * front of {@code into}'s head, or, with {@code into} null, into a sealed batch of its own that
     * is published. False if the list was empty.
     */
    private boolean takeChain(OpenBatch into, long now) {
        long chain = deferred.takeAll();
        if (chain == 0) {
            return false;
        }
        long budget = deferred.bytes(); // read after the take: at least the chain's bytes
        int n = 0;
        long bytes = 0;
        long prev = 0;
        long cur = chain;
        while (true) {
            n++;
            bytes += target.usableSize(ChainLink.address(cur));
            long next = nextDeferred(cur, bytes, budget);
            if (next == 0) {
                break;
            }
            ChainLink.setNeighbours(cur, prev ^ next, linkKey); // after nextDeferred read the old link
            prev = cur;
            cur = next;
        }
        deferred.taken(bytes);
        counters.deferredTaken(n);
        if (into != null) {
            into.addChain(chain, cur, prev, n, bytes, now); // writes the tail's field
            return true;
        }
        ChainLink.setNeighbours(cur, prev, linkKey); // the tail ends the chain
        SealedBatch b = batchPool.take();
        b.chainHead = chain;
        b.chainTail = cur;
        b.chainCount = n;
        b.deferredCount = n;
        b.objects = n;
        b.bytes = bytes;
        sealed.publish(b, false, 0L);
        return true;
    }

    /**
     * The next object of a chain taken from the deferred list, or 0 at its end. A link that names
     * no pending object, or a chain longer than the list's byte count allows (each object holds at
     * least its 8-byte link: a cycle), is reported and ends the walk; the objects behind it cannot
     * be reached and stay pending.
     */
    private long nextDeferred(long link, long walkedBytes, long budget) {
        long next = ChainLink.next(link, linkKey);
        if (next == 0) {
            return 0;
        }
        if (walkedBytes + Long.BYTES > budget
                || !target.isPending(ChainLink.address(next), ChainLink.linkOffset(next))) {
            failures.corruptLink(link, next);
            return 0;
        }
        return next;
    }
}
