package dev.sheaf.bench.cache;

import dev.sheaf.allocator.RcuFreeStats;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.rcu.Rcu;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The off-heap cache Sheaf is for: readers never lock and never write shared memory; they walk a
 * bucket chain inside an RCU read section with acquire loads and copy the value out. Writers
 * ({@link OffHeapChainedMap}) replace entries copy-on-write and release the old ones after a grace
 * period: by default with {@code SlabCache.freeRcu(entry)}, whose cache declares the entry's 8-byte
 * {@code rcuLink} field (the object joins the thread's rcu sheaf, which returns to allocation as a
 * whole after its grace period, and falls back to chaining through that field); optionally with
 * {@code SlabAllocator.freeRcu(entry, rcuLinkOffset)}, the two-argument chain. Either way every
 * reader that might hold the entry has left its section before the entry is reused.
 *
 * <p>A reader can see a value that was replaced a moment ago (the usual RCU semantics), never a
 * freed or reused entry. {@link #get} allocates nothing.
 */
public final class RcuOffHeapCache extends OffHeapChainedMap {
    private final Rcu rcu;
    private final boolean viaLinkField;
    /** Platform threads' explicit reader handles (registered on first get, reclaimed when the thread dies). */
    private final ThreadLocal<Rcu.Reader> readers;
    private final ReentrantLock[] locks;

    /** A map with its own RCU domain and allocator, retiring entries through the entry cache's rcu sheaf. */
    public RcuOffHeapCache(long maxEntries, int maxValueLength) {
        this(maxEntries, maxValueLength, false);
    }

    /**
     * @param viaLinkField retire entries with {@code SlabAllocator.freeRcu(entry, rcuLinkOffset)} (the 8-byte
     *                     chain) instead of {@code SlabCache.freeRcu(entry)} (the rcu sheaf, falling back to
     *                     the same field, which the entry cache declares)
     */
    public RcuOffHeapCache(long maxEntries, int maxValueLength, boolean viaLinkField) {
        super(SlabAllocator.builder().rcu(Rcu.builder().name("offheap-cache").build()).build(), "rcu-map", maxEntries,
                maxValueLength, 64);
        this.rcu = allocator.rcu();
        this.viaLinkField = viaLinkField;
        this.readers = ThreadLocal.withInitial(rcu::register);
        this.locks = new ReentrantLock[stripeMask + 1];
        for (int i = 0; i < locks.length; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    @Override
    public String name() {
        return viaLinkField ? "sheaf-rcu-map-link" : "sheaf-rcu-map";
    }

    /**
     * The generic entry point: finds the calling thread's reader handle (a ThreadLocal lookup, a few
     * ns) on every call. Hot loops use {@link #reader()} instead.
     */
    @Override
    public int get(long key, byte[] dst) {
        Thread t = Thread.currentThread();
        if (t.isVirtual()) { // virtual threads use the domain's pooled slots, not a handle each
            rcu.readLock();
            try {
                return find(buckets, mask, key, dst);
            } finally {
                rcu.readUnlock();
            }
        }
        Rcu.Reader reader = readers.get(); // one lookup; the handle enters and leaves without another
        reader.lock();
        try {
            return find(buckets, mask, key, dst);
        } finally {
            reader.unlock();
        }
    }

    /**
     * A platform thread's read handle bound to an {@link Rcu.Reader} of its own: a get is enter the
     * section (the handle's slot, no thread lookup), hash, walk the chain, compare the key, copy the
     * value, leave. Virtual threads get the generic path (pooled slots, claimed per section).
     */
    @Override
    public ByteCache.Reader reader() {
        if (Thread.currentThread().isVirtual()) {
            return this::get;
        }
        return new HandleReader(rcu.register(), buckets, mask);
    }

    /** Holds what a get needs in its own final fields: no load through the map on the way. */
    private static final class HandleReader implements ByteCache.Reader {
        private final Rcu.Reader handle;
        private final long buckets;
        private final int mask;

        HandleReader(Rcu.Reader handle, long buckets, int mask) {
            this.handle = handle;
            this.buckets = buckets;
            this.mask = mask;
        }

        @Override
        public int get(long key, byte[] dst) {
            Rcu.Reader h = handle;
            h.lock();
            try {
                return find(buckets, mask, key, dst);
            } finally {
                h.unlock();
            }
        }

        @Override
        public void close() {
            handle.close();
        }
    }

    /** Walks the chain of {@code key}; the caller is inside a read section. */
    private static int find(long buckets, int mask, long key, byte[] dst) {
        long e = OffHeapEntries.loadAcquire(buckets + 8L * bucketIndex(key, mask));
        while (e != 0) {
            if (OffHeapEntries.key(e) == key) {
                return OffHeapEntries.copyValue(e, dst);
            }
            e = OffHeapEntries.loadAcquire(e + OffHeapEntries.NEXT);
        }
        return -1;
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
        if (viaLinkField) {
            allocator.freeRcu(entry, OffHeapEntries.RCU_LINK);
        } else {
            entries.freeRcu(entry);
        }
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
        rcu.close(); // the domain is this map's own
    }
}
