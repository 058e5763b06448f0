package dev.sheaf.allocator.rcufree;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes: recycling of SealedBatch objects so that sealing and freeing batches
 * allocates nothing in steady state.
 *
 * take() is called by sealers, some of which must not block (freeRcuNoLock never seals; the
 * rcu-sheaf submit and the owner of a full batch must not park), so it only try-locks: a
 * contended or empty pool yields a fresh SealedBatch (garbage only under contention or growth).
 * give() is called by the drainer under the drain lock and may wait for the pool lock briefly.
 * The pool keeps at most `capacity` idle batches; surplus ones go to the garbage collector.
 * The lock protects `idle` and `idleCount` and never nests another lock.
 *
 * Map: take (never blocks) -> give.
 */
/** Small bounded pool of idle {@link SealedBatch} objects. */
final class SealedBatchPool {

    private final ReentrantLock lock = new ReentrantLock();
    @GuardedBy("lock")
    private final SealedBatch[] idle;
    private final int maxArrays;
    @GuardedBy("lock")
    private int idleCount;

    SealedBatchPool(int capacity, int maxArrays) {
        this.idle = new SealedBatch[capacity];
        this.maxArrays = maxArrays;
    }

    /** An empty batch; never blocks. */
    SealedBatch take() {
        if (lock.tryLock()) {
            try {
                if (idleCount > 0) {
                    SealedBatch b = idle[--idleCount];
                    idle[idleCount] = null;
                    return b;
                }
            } finally {
                lock.unlock();
            }
        }
        return new SealedBatch(maxArrays);
    }

    void give(SealedBatch batch) {
        batch.clear();
        lock.lock();
        try {
            if (idleCount < idle.length) {
                idle[idleCount++] = batch;
            }
        } finally {
            lock.unlock();
        }
    }
}
