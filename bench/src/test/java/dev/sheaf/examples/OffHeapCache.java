package dev.sheaf.examples;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.sheaf.allocator.CacheSpec;
import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import dev.sheaf.allocator.SlabFlag;
import dev.sheaf.rcu.Rcu;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * README recipe "An off-heap cache": a direct-mapped table of off-heap entries whose readers take
 * no lock and allocate nothing. Entries replaced by a writer are freed after a grace period
 * ({@code freeRcu}); the {@code TYPESAFE_BY_RCU} variant frees at once and its readers revalidate.
 * The README's code blocks are the regions between the example markers, verbatim.
 */
public final class OffHeapCache implements AutoCloseable {

    // example:begin cache
    // entry: key at 0, value at 8, the 8 bytes freeRcu chains it through at 16
    private final SlabAllocator heap = SlabAllocator.create();
    private final Rcu rcu = heap.rcu();
    private final SlabCache entries = heap.createCache(CacheSpec.of("entry", 24).withRcuLinkOffset(16));
    // segments over the published entries (null = empty); a segment taken while its object was
    // allocated stays readable after freeRcu, until the grace period ends
    private final AtomicReferenceArray<MemorySegment> table = new AtomicReferenceArray<>(1 << 16);

    /** Any thread: a lock-free, garbage-free read. */
    public long get(long key, long missing) {
        try (Rcu.ReadSection section = rcu.read()) {
            MemorySegment e = table.getAcquire(slot(key));
            return e != null && e.get(JAVA_LONG, 0) == key ? e.get(JAVA_LONG, 8) : missing;
        }
    }

    /** Any thread: publishes a new entry and frees the one it replaces after a grace period. */
    public void put(long key, long value) {
        MemorySegment e = heap.segment(entries.alloc());
        e.set(JAVA_LONG, 0, key);
        e.set(JAVA_LONG, 8, value);
        MemorySegment old = table.getAndSet(slot(key), e);    // a full fence: written before it is seen
        if (old != null) {
            entries.freeRcu(old.address());                    // readers inside a section may still hold it
        }
    }
    // example:end cache

    private static int slot(long key) {
        return (int) (key * 0x9E3779B97F4A7C15L >>> 48);
    }

    /** Frees every entry, waits for the pending ones and closes the allocator. */
    @Override
    public void close() {
        for (int i = 0; i < table.length(); i++) {
            MemorySegment e = table.getAndSet(i, null);
            if (e != null) {
                entries.freeRcu(e.address());
            }
        }
        heap.close();
    }

    /**
     * The {@code TYPESAFE_BY_RCU} variant: a freed entry may be reused at once, but its memory stays
     * an entry of this cache until a grace period passes, so a reader revalidates what it read.
     *
     * @param heap  the allocator
     * @param key   the key to store, replace and read
     * @return the value read back
     */
    static long typesafe(SlabAllocator heap, long key) {
        AtomicReferenceArray<MemorySegment> table = new AtomicReferenceArray<>(1 << 16);
        Rcu rcu = heap.rcu();
        // example:begin typesafe
        // the free-list link goes at 16, outside the key and value that readers check
        SlabCache entries = heap.createCache(CacheSpec.of("entry-tsr", 24)
                .withFlags(SlabFlag.TYPESAFE_BY_RCU).withLinkOffset(16));
        // writers free a replaced entry at once: entries.free(old.address()); readers check after reading
        try (Rcu.ReadSection section = rcu.read()) {
            MemorySegment e = table.getAcquire(slot(key));
            if (e != null) {
                long value = e.get(JAVA_LONG, 8);
                VarHandle.loadLoadFence();
                if (e.get(JAVA_LONG, 0) == key && table.getAcquire(slot(key)) == e) {
                    return value;                      // it was this key's entry while we read it
                }
            }
        }
        // example:end typesafe
        for (long v = 1; v <= 3; v++) {
            MemorySegment e = heap.segment(entries.alloc());
            e.set(JAVA_LONG, 0, key);
            e.set(JAVA_LONG, 8, v);
            MemorySegment old = table.getAndSet(slot(key), e);
            if (old != null) {
                entries.free(old.address());
            }
        }
        try (Rcu.ReadSection section = rcu.read()) {
            MemorySegment e = table.getAcquire(slot(key));
            long value = e.get(JAVA_LONG, 8);
            VarHandle.loadLoadFence();
            return e.get(JAVA_LONG, 0) == key && table.getAcquire(slot(key)) == e ? value : -1;
        }
    }

    /**
     * Runs the recipe: one writer thread and one reader thread on real memory.
     *
     * @param args unused
     * @throws InterruptedException interrupted while joining a thread
     */
    public static void main(String[] args) throws InterruptedException {
        try (OffHeapCache cache = new OffHeapCache()) {
            Thread writer = new Thread(() -> {
                for (long i = 0; i < 200_000; i++) {
                    cache.put(i % 1000, i);
                }
            });
            Thread reader = new Thread(() -> {
                for (long i = 0; i < 200_000; i++) {
                    long v = cache.get(i % 1000, -1);
                    if (v != -1 && v % 1000 != i % 1000) {
                        throw new AssertionError("key " + (i % 1000) + " read value " + v);
                    }
                }
            });
            writer.start();
            reader.start();
            writer.join();
            reader.join();
            cache.put(7, 7007);
            if (cache.get(7, -1) != 7007) {
                throw new AssertionError("lost a put");
            }
            if (typesafe(cache.heap, 5) != 3) {
                throw new AssertionError("typesafe read");
            }
        }
    }
}
