package dev.sheaf.allocator;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes.
 *
 * A bounded FIFO of freed, poisoned objects of one debug cache that wait before they are reused
 * (KASAN's quarantine): a late write through a dangling pointer then hits poison, which is
 * checked when the object leaves the quarantine and by validate(), instead of a new owner's
 * data. A ring of `bound` addresses under a leaf lock (taken with no allocator lock held);
 * admit() returns the object that falls out, which the caller frees to its slab; tryAdmit() is
 * the no-lock free's variant, which gives up when the lock is busy. Objects in the quarantine
 * are CACHED in the state map before they enter it (a second free is refused) and count as out
 * of slabs until drained (SlabCache.flushAll drains it).
 *
 * Map: fields; admit, tryAdmit; drain; size.
 */
/** Freed objects of a debug cache waiting before reuse. */
final class Quarantine {

    /** tryAdmit's answer when the lock was busy (never an object address: those are aligned and positive). */
    static final long BUSY = -1;

    private final ReentrantLock lock = new ReentrantLock();
    @GuardedBy("lock")
    private final long[] ring;
    @GuardedBy("lock")
    private int head;
    @GuardedBy("lock")
    private int size;

    Quarantine(int bound) {
        this.ring = new long[bound];
    }

    /** Puts {@code a} in; the oldest object when the ring was full (to be freed now), else 0. */
    long admit(long a) {
        lock.lock();
        try {
            return admitLocked(a);
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private long admitLocked(long a) {
        if (size < ring.length) {
            ring[(head + size++) % ring.length] = a;
            return 0;
        }
        long out = ring[head];
        ring[head] = a;
        head = (head + 1) % ring.length;
        return out;
    }

    /**
     * admit() without waiting (the no-lock free path): {@link #BUSY} when the lock is held by
     * another thread (nothing changed), else what admit() returns.
     */
    long tryAdmit(long a) {
        if (!lock.tryLock()) {
            return BUSY;
        }
        try {
            return admitLocked(a);
        } finally {
            lock.unlock();
        }
    }

    /** Takes every object out, oldest first. */
    long[] drain() {
        lock.lock();
        try {
            long[] out = new long[size];
            for (int i = 0; i < size; i++) {
                out[i] = ring[(head + i) % ring.length];
            }
            head = 0;
            size = 0;
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** Objects waiting now. */
    int size() {
        lock.lock();
        try {
            return size;
        } finally {
            lock.unlock();
        }
    }
}
