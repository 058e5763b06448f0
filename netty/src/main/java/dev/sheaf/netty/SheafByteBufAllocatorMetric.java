package dev.sheaf.netty;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import io.netty.buffer.ByteBufAllocatorMetric;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Memory figures of a {@link SheafByteBufAllocator}, read live from the Sheaf allocator's stats
 * (racy while buffers are allocated and released). The direct figures are the whole
 * {@link SlabAllocator}'s: if other code allocates from the same Sheaf allocator, its objects are
 * counted too. Thread-safe.
 */
public final class SheafByteBufAllocatorMetric implements ByteBufAllocatorMetric {

    private final SlabAllocator sheaf;
    private final SpanReserve spans;
    private final List<SlabCache> largeCaches;
    private final LongAdder heapBytes;
    private final LongSupplier threadKeptBytes;

    SheafByteBufAllocatorMetric(BufferSizes sizes, LongAdder heapBytes, LongSupplier threadKeptBytes) {
        this.threadKeptBytes = threadKeptBytes;
        this.sheaf = sizes.sheaf();
        this.spans = sizes.spans();
        this.largeCaches = sizes.largeCaches();
        this.heapBytes = heapBytes;
    }

    /**
     * Bytes of the arrays of live heap buffers.
     *
     * @return used heap bytes
     */
    @Override
    public long usedHeapMemory() {
        return heapBytes.sum();
    }

    /**
     * Bytes handed out by the Sheaf allocator ({@link SlabAllocator.Stats#liveBytes()}) less the
     * released spans this allocator keeps for reuse ({@link #reservedSpanBytes()}) and the
     * released buffers event-loop threads keep ready ({@link #threadCachedBytes()}).
     *
     * @return used direct bytes
     * @throws IllegalStateException the Sheaf allocator is closed
     */
    @Override
    public long usedDirectMemory() {
        return sheaf.stats().liveBytes() - spans.reservedBytes() - threadKeptBytes.getAsLong();
    }

    /**
     * Bytes of released direct buffers that event-loop threads keep ready for their next
     * allocations (allocated in Sheaf, used by no buffer; freed into Sheaf when the thread ends).
     *
     * @return bytes kept on event-loop threads (racy)
     */
    public long threadCachedBytes() {
        return threadKeptBytes.getAsLong();
    }

    /**
     * Bytes of released page spans kept for reuse (allocated in Sheaf, used by no buffer).
     *
     * @return reserved span bytes
     */
    public long reservedSpanBytes() {
        return spans.reservedBytes();
    }

    /**
     * Bytes the Sheaf allocator may hold resident ({@link SlabAllocator.Stats#reservedBytes()}).
     *
     * @return reserved direct bytes
     * @throws IllegalStateException the Sheaf allocator is closed
     */
    public long reservedDirectMemory() {
        return sheaf.stats().reservedBytes();
    }

    /**
     * One row per size class a direct buffer can get, smallest first (objects, slabs, sheaves,
     * counters): the kmalloc classes, then the caches the allocator created for 40 KiB to 128 KiB.
     * Buffers above those live in page spans ({@link SlabAllocator.Stats#largeBytes()}).
     *
     * @return the size classes' stats
     * @throws IllegalStateException the Sheaf allocator is closed
     */
    public List<SlabCache.Stats> sizeClasses() {
        if (sheaf.isClosed()) {
            throw new IllegalStateException("sheaf allocator is closed");
        }
        List<SlabCache.Stats> all = sheaf.cacheStats();
        List<SlabCache.Stats> rows = new ArrayList<>(all.subList(0, Math.min(all.size(), SlabAllocator.sizeClasses().length)));
        for (SlabCache c : largeCaches) {
            rows.add(c.stats());
        }
        return List.copyOf(rows);
    }

    @Override
    public String toString() {
        return "SheafByteBufAllocatorMetric(usedHeapMemory: " + usedHeapMemory() + "; usedDirectMemory: "
                + (sheaf.isClosed() ? "closed" : Long.toString(usedDirectMemory())) + ")";
    }
}
