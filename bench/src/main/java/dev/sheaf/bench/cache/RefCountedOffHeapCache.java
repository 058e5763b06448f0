package dev.sheaf.bench.cache;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.bench.peer.RawMemory;
import java.util.concurrent.locks.StampedLock;

/**
 * The same off-heap map reclaiming with reference counts, the usual alternative to RCU: a reader
 * takes its stripe's read lock to find the entry and increment its count (without the lock the
 * entry could be freed between loading its address and incrementing), drops the lock, copies the
 * value, and decrements; whoever brings the count to zero frees the entry. The table holds one
 * reference, dropped by {@link #retire}. Every read therefore writes two shared cache lines (the
 * lock word and the entry's count), which is what RCU avoids.
 */
public final class RefCountedOffHeapCache extends OffHeapChainedMap {
    private final StampedLock[] locks;

    public RefCountedOffHeapCache(long maxEntries, int maxValueLength) {
        super(SlabAllocator.create(), "refcount-map", maxEntries, maxValueLength, 64);
        this.locks = new StampedLock[stripeMask + 1];
        for (int i = 0; i < locks.length; i++) {
            locks[i] = new StampedLock();
        }
    }

    @Override
    public String name() {
        return "sheaf-refcount-map";
    }

    @Override
    public int get(long key, byte[] dst) {
        int b = bucketIndex(key, mask);
        StampedLock lock = locks[b & stripeMask];
        long stamp = lock.readLock();
        long found = 0;
        try {
            long e = RawMemory.getLong(bucketAddress(b));
            while (e != 0) {
                if (OffHeapEntries.key(e) == key) {
                    OffHeapEntries.addRefs(e, 1);
                    found = e;
                    break;
                }
                e = RawMemory.getLong(e + OffHeapEntries.NEXT);
            }
        } finally {
            lock.unlockRead(stamp);
        }
        if (found == 0) {
            return -1;
        }
        int length = OffHeapEntries.copyValue(found, dst);
        if (OffHeapEntries.addRefs(found, -1) == 0) {
            entries.free(found);
        }
        return length;
    }

    @Override
    long lockWrite(int stripe) {
        return locks[stripe].writeLock();
    }

    @Override
    long tryLockWrite(int stripe) {
        return locks[stripe].tryWriteLock();
    }

    @Override
    void unlockWrite(int stripe, long token) {
        locks[stripe].unlockWrite(token);
    }

    @Override
    void retire(long entry) {
        if (OffHeapEntries.addRefs(entry, -1) == 0) {
            entries.free(entry);
        }
    }
}
