package dev.sheaf.bench.cache;

import dev.sheaf.allocator.CacheSpec;
import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import dev.sheaf.bench.peer.RawMemory;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The writer side shared by {@link RcuOffHeapCache} and {@link RefCountedOffHeapCache}: a chained
 * hash table whose bucket array and entries (key, value, links) live off-heap, entries in one
 * Sheaf {@link SlabCache}.
 *
 * <p>Implementation notes. Writers serialize per stripe (a lock per {@code stripes} buckets, taken
 * through the subclass, which chooses the lock type); readers are the subclass's business. An
 * update never modifies a published entry: it writes a fresh entry and swings the link that
 * pointed at the old one with a release store ({@link OffHeapEntries#publish}), so a reader
 * that loaded the old entry still sees a consistent key, value and {@code next}. The replaced or
 * removed entry is handed to {@link #retire}, which frees it when no reader can hold it any more.
 * Past {@code maxEntries} a writer evicts the tail of some chain, scanning from a rotating cursor;
 * it takes other stripes only with a try-lock, so writers never wait on each other in two places
 * (no lock order needed). Size is an {@link AtomicLong} touched by writers only.
 */
public abstract class OffHeapChainedMap implements ByteCache {
    private static final int EVICTION_SCAN = 64;

    protected final SlabAllocator allocator;
    protected final SlabCache entries;
    private final MemorySegment bucketSegment;
    /** Address of bucket 0. */
    protected final long buckets;
    protected final int mask;
    protected final int stripeMask;
    private final long maxEntries;
    private final int maxValueLength;
    private final AtomicLong size = new AtomicLong();
    /** Where the next eviction scan starts; a racy hint, so plain. */
    private int evictCursor;
    private boolean closed;

    OffHeapChainedMap(SlabAllocator allocator, String name, long maxEntries, int maxValueLength, int stripes) {
        if (maxEntries < 1 || maxEntries > 1L << 30) {
            throw new IllegalArgumentException("maxEntries must be in 1..2^30: " + maxEntries);
        }
        if (maxValueLength < 1 || Integer.bitCount(stripes) != 1) {
            throw new IllegalArgumentException("maxValueLength must be positive and stripes a power of two");
        }
        this.allocator = allocator;
        this.maxEntries = maxEntries;
        this.maxValueLength = maxValueLength;
        // the rcu link is declared so SlabCache.freeRcu can chain an entry when its rcu sheaf is not usable
        this.entries = allocator.createCache(CacheSpec.of(name + "-entries", OffHeapEntries.entrySize(maxValueLength))
                .withRcuLinkOffset(OffHeapEntries.RCU_LINK));
        int bucketCount = Integer.highestOneBit((int) Math.max(2, maxEntries - 1)) << 1;
        this.mask = bucketCount - 1;
        this.stripeMask = Math.min(stripes, bucketCount) - 1;
        this.bucketSegment = allocator.allocate(8L * bucketCount, 8); // zero-filled: every chain empty
        this.buckets = bucketSegment.address();
    }

    /** Takes the write lock of a stripe; returns a token for {@link #unlockWrite}. */
    abstract long lockWrite(int stripe);

    /** Tries the write lock of a stripe without waiting; 0 when it is busy. */
    abstract long tryLockWrite(int stripe);

    abstract void unlockWrite(int stripe, long token);

    /** The entry is unreachable from the table: free it once no reader can hold it. */
    abstract void retire(long entry);

    static int bucketIndex(long key, int mask) {
        // HashMap's and ConcurrentHashMap's spread: keys that are close stay close, so a hot range
        // of keys shares cache lines of the bucket array, as it does in the heap map we compare
        // with. Measured against Fibonacci hashing (which scattered a hot 1% of 100 000 keys over
        // the whole 1 MiB bucket array): gets per second of the RCU map went from 17 M to 30 M.
        int h = Long.hashCode(key);
        return (h ^ (h >>> 16)) & mask;
    }

    final long bucketAddress(int index) {
        return buckets + 8L * index;
    }

    @Override
    public final void put(long key, byte[] value, int length) {
        if (length < 0 || length > maxValueLength || length > value.length) {
            throw new IllegalArgumentException("value length " + length + " outside 0.." + maxValueLength);
        }
        int b = bucketIndex(key, mask);
        int stripe = b & stripeMask;
        long token = lockWrite(stripe);
        try {
            checkOpen();
            long head = bucketAddress(b);
            long link = head;
            long e;
            while ((e = RawMemory.getLong(link)) != 0 && OffHeapEntries.key(e) != key) {
                link = e + OffHeapEntries.NEXT;
            }
            long fresh = entries.alloc();
            if (e != 0) {
                OffHeapEntries.init(fresh, key, value, length, RawMemory.getLong(e + OffHeapEntries.NEXT));
                OffHeapEntries.publish(link, fresh);
                retire(e);
            } else {
                OffHeapEntries.init(fresh, key, value, length, RawMemory.getLong(head));
                OffHeapEntries.publish(head, fresh);
                if (size.incrementAndGet() > maxEntries) {
                    evictOne(stripe);
                }
            }
        } finally {
            unlockWrite(stripe, token);
        }
    }

    @Override
    public final boolean remove(long key) {
        int b = bucketIndex(key, mask);
        int stripe = b & stripeMask;
        long token = lockWrite(stripe);
        try {
            checkOpen();
            long link = bucketAddress(b);
            long e;
            while ((e = RawMemory.getLong(link)) != 0) {
                if (OffHeapEntries.key(e) == key) {
                    OffHeapEntries.publish(link, RawMemory.getLong(e + OffHeapEntries.NEXT));
                    size.decrementAndGet();
                    retire(e);
                    return true;
                }
                link = e + OffHeapEntries.NEXT;
            }
            return false;
        } finally {
            unlockWrite(stripe, token);
        }
    }

    /** Unlinks the tail of the first non-empty chain found from the cursor; the caller holds {@code heldStripe}. */
    private void evictOne(int heldStripe) {
        for (int i = 0; i < EVICTION_SCAN; i++) {
            int b = evictCursor++ & mask;
            int stripe = b & stripeMask;
            long token = stripe == heldStripe ? -1 : tryLockWrite(stripe);
            if (token == 0) {
                continue;
            }
            try {
                long link = bucketAddress(b);
                long e = RawMemory.getLong(link);
                if (e == 0) {
                    continue;
                }
                long next;
                while ((next = RawMemory.getLong(e + OffHeapEntries.NEXT)) != 0) {
                    link = e + OffHeapEntries.NEXT;
                    e = next;
                }
                OffHeapEntries.publish(link, 0);
                size.decrementAndGet();
                retire(e);
                return;
            } finally {
                if (token != -1) {
                    unlockWrite(stripe, token);
                }
            }
        }
        // every stripe scanned was busy: stay over the bound until the next insert tries again
    }

    @Override
    public final long size() {
        return size.get();
    }

    @Override
    public final int maxValueLength() {
        return maxValueLength;
    }

    /** Bytes the allocator handed out for this map (entries and bucket array). */
    @Override
    public long offHeapBytes() {
        return allocator.stats().liveBytes();
    }

    /** Bytes per entry the OS actually backs: reserved memory over entries. */
    public double reservedBytesPerEntry() {
        long n = size();
        return n == 0 ? Double.NaN : (double) allocator.stats().reservedBytes() / n;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(name() + " is closed");
        }
    }

    /** Frees every entry and the allocator. Callers stop using the map on other threads first. */
    @Override
    public void close() {
        for (int stripe = 0; stripe <= stripeMask; stripe++) {
            long token = lockWrite(stripe);
            try {
                if (closed) {
                    return;
                }
                for (int b = stripe; b <= mask; b += stripeMask + 1) {
                    long e = RawMemory.getLong(bucketAddress(b));
                    OffHeapEntries.publish(bucketAddress(b), 0);
                    while (e != 0) {
                        long next = RawMemory.getLong(e + OffHeapEntries.NEXT);
                        size.decrementAndGet();
                        retire(e);
                        e = next;
                    }
                }
            } finally {
                unlockWrite(stripe, token);
            }
        }
        closed = true;
        afterEntriesRetired();
        allocator.free(bucketSegment);
        allocator.close(); // destroys the entry cache with everything else
    }

    /** Waits until retired entries are really free (RCU: a barrier). */
    void afterEntriesRetired() {
    }
}
