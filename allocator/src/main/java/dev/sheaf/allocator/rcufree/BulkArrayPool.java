package dev.sheaf.allocator.rcufree;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes: the bounded cache of headless bulk arrays (the kernel's cached
 * "bnode" pages of kvfree_rcu_bulk_data).
 *
 * A headless freeRcu(address) has no field to link through, so its address is stored in a
 * long[] (length bulkArrayLength, 512 by default = one 4 KiB page of addresses). Arrays are
 * created lazily and at most `limit` of them ever exist at once: the ones sitting here idle
 * plus the ones filled or in flight. When all `limit` arrays are out, take() returns null and
 * the caller falls back to waiting for a grace period and freeing inline, exactly as the
 * kernel does when it cannot get a page. limit = 0 therefore forces the inline fallback.
 *
 * The lock is taken once per array (hundreds of objects), never per object. Lock order: it may
 * be taken while holding an OpenBatch lock or the drain lock, and never takes another lock itself.
 *
 * Map: take (null when every array is out) -> give -> inUse.
 */
/** Bounded, recycling cache of {@code long[]} bulk arrays for headless freeRcu. */
final class BulkArrayPool {

    private final ReentrantLock lock = new ReentrantLock();
    @GuardedBy("lock")
    private final long[][] idle;
    private final int arrayLength;
    private final int limit;
    @GuardedBy("lock")
    private int idleCount;
    /** Arrays in existence (idle + out); guarded by lock. */
    @GuardedBy("lock")
    private int created;

    BulkArrayPool(int arrayLength, int limit) {
        if (arrayLength < 1) {
            throw new IllegalArgumentException("bulkArrayLength must be positive: " + arrayLength);
        }
        if (limit < 0) {
            throw new IllegalArgumentException("bulkArrayCache must not be negative: " + limit);
        }
        this.arrayLength = arrayLength;
        this.limit = limit;
        this.idle = new long[limit][];
    }

    int arrayLength() {
        return arrayLength;
    }

    /** An empty array, or null when all {@code limit} arrays are in use. May block briefly on the pool lock. */
    long[] take() {
        lock.lock();
        try {
            if (idleCount > 0) {
                long[] a = idle[--idleCount];
                idle[idleCount] = null;
                return a;
            }
            if (created < limit) {
                created++;
                return new long[arrayLength];
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** Returns an array whose contents are no longer needed. */
    void give(long[] array) {
        lock.lock();
        try {
            idle[idleCount++] = array;
        } finally {
            lock.unlock();
        }
    }

    /** Arrays currently out of the pool (filling or in flight). */
    int inUse() {
        lock.lock();
        try {
            return created - idleCount;
        } finally {
            lock.unlock();
        }
    }
}
