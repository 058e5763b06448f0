package dev.sheaf.bench.cache;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.rcu.Rcu;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The off-heap cache Sheaf is for: readers never lock and never write shared memory; they walk a
 * bucket chain inside an RCU read section with acquire loads and copy the value out. Writers
 * ({@link OffHeapChainedMap}) replace entries copy-on-write and release the old ones with
 * {@code freeRcu(entry, rcuLinkOffset)}: the entry's own 8-byte field carries it until every
 * reader that might hold it has left its section, then it goes back to the slab cache.
 *
 * <p>A reader can see a value that was replaced a moment ago (the usual RCU semantics), never a
 * freed or reused entry. {@link #get} allocates nothing.
 */
public final class RcuOffHeapCache extends OffHeapChainedMap {
    private final Rcu rcu;
    private final boolean ownRcu;
    private final ReentrantLock[] locks;

    /** A map with its own RCU domain and allocator. */
    public RcuOffHeapCache(long maxEntries, int maxValueLength) {
        this(Rcu.builder().name("offheap-cache").build(), true, maxEntries, maxValueLength);
    }

    private RcuOffHeapCache(Rcu rcu, boolean ownRcu, long maxEntries, int maxValueLength) {
        super(SlabAllocator.builder().rcu(rcu).build(), "rcu-map", maxEntries, maxValueLength, 64);
        this.rcu = rcu;
        this.ownRcu = ownRcu;
        this.locks = new ReentrantLock[stripeMask + 1];
        for (int i = 0; i < locks.length; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    @Override
    public String name() {
        return "sheaf-rcu-map";
    }

    @Override
    public int get(long key, byte[] dst) {
        rcu.readLock();
        try {
            long e = OffHeapEntries.loadAcquire(bucketAddress(bucketIndex(key, mask)));
            while (e != 0) {
                if (OffHeapEntries.key(e) == key) {
                    return OffHeapEntries.copyValue(e, dst);
                }
                e = OffHeapEntries.loadAcquire(e + OffHeapEntries.NEXT);
            }
            return -1;
        } finally {
            rcu.readUnlock();
        }
    }

    @Override
    long lockWrite(int stripe) {
        locks[stripe].lock();
        return 1;
    }

    @Override
    long tryLockWrite(int stripe) {
        return locks[stripe].tryLock() ? 1 : 0;
    }

    @Override
    void unlockWrite(int stripe, long token) {
        locks[stripe].unlock();
    }

    @Override
    void retire(long entry) {
        allocator.freeRcu(entry, OffHeapEntries.RCU_LINK);
    }

    @Override
    void afterEntriesRetired() {
        allocator.rcuBarrier();
    }

    /** The RCU domain readers use. */
    public Rcu rcu() {
        return rcu;
    }

    /** Pending freeRcu memory and grace periods, for reports. */
    public dev.sheaf.allocator.RcuFreeStats rcuStats() {
        return allocator.rcuStats();
    }

    @Override
    public void close() {
        super.close();
        if (ownRcu) {
            rcu.close();
        }
    }
}
