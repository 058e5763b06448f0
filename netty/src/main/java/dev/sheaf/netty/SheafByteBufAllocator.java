package dev.sheaf.netty;

import dev.sheaf.allocator.SlabAllocator;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocatorMetricProvider;

import java.util.concurrent.atomic.LongAdder;

/*
 * Implementation notes.
 *
 * AbstractByteBufAllocator does the ByteBufAllocator surface (buffer/ioBuffer/directBuffer/
 * heapBuffer/composite*, argument checks, capacity growth policy); this class supplies the two
 * factories. BufferSizes (one per allocator: it creates Sheaf caches for the sizes just above the
 * kmalloc classes) decides which Sheaf object a direct buffer gets. Direct buffers are SheafDirectByteBuf (a recycled ByteBuf over one Sheaf object, see
 * its notes); heap buffers are Netty's unpooled heap buffers counting their bytes into heapBytes.
 * Both pass through toLeakAwareBuffer, so Netty's ResourceLeakDetector samples them at its
 * configured level and reports a buffer that was never released with Netty's usual records.
 *
 * The allocator holds no state of its own besides the heap counter: thread safety and per-thread
 * speed are the SlabAllocator's (its per-call entry points find a SheafThread's magazines with a
 * field load; see SheafEventLoopThreads).
 *
 * Map: factory; ByteBufAllocator factories; metric; accessors.
 */
/**
 * A Netty {@link io.netty.buffer.ByteBufAllocator} whose direct buffers are objects of a Sheaf
 * {@link SlabAllocator}: its size classes up to {@link SlabAllocator#MAX_SIZE_CLASS}, eight caches
 * this allocator creates in it for 40 KiB to 128 KiB (so that buffers of those sizes are reused
 * without a system call), page spans above; released spans of 160 KiB to 4 MiB are kept for reuse
 * up to a budget ({@link #create(SlabAllocator, long)}, {@link #releaseReservedSpans()}). Use it as {@code ChannelOption.ALLOCATOR} / {@code ChildChannelOption}:
 *
 * <pre>{@code
 * SlabAllocator sheaf = SlabAllocator.create();
 * ByteBufAllocator alloc = SheafByteBufAllocator.create(sheaf);
 * bootstrap.option(ChannelOption.ALLOCATOR, alloc).childOption(ChannelOption.ALLOCATOR, alloc);
 * }</pre>
 *
 * <p>Direct buffers behave as Netty's unpooled direct buffers (memory address, NIO views, slices,
 * duplicates, composites); their {@code ByteBuf} objects are recycled, and the memory is freed into
 * Sheaf when the reference count reaches zero, on any thread. Changing a buffer's capacity past its
 * size class moves it into a new Sheaf object. Heap buffers are Netty's unpooled heap buffers.
 * Every buffer goes through Netty's leak detector.
 *
 * <p>Thread-safe. The {@link SlabAllocator} must outlive every buffer: after it is closed,
 * allocation and release throw {@link IllegalStateException}.
 */
public final class SheafByteBufAllocator extends AbstractByteBufAllocator implements ByteBufAllocatorMetricProvider {

    private final SlabAllocator sheaf;
    private final BufferSizes sizes;
    /** Bytes of live heap buffers' arrays. */
    final LongAdder heapBytes = new LongAdder();
    private final SheafByteBufAllocatorMetric metric;

    /** Default of the span reserve's budget. */
    public static final long DEFAULT_SPAN_RESERVE_BYTES = 16L << 20;

    private SheafByteBufAllocator(SlabAllocator sheaf, long spanReserveBytes) {
        super(true);
        this.sheaf = sheaf;
        this.sizes = new BufferSizes(sheaf, spanReserveBytes);
        this.metric = new SheafByteBufAllocatorMetric(sizes, heapBytes);
    }

    /**
     * An allocator whose direct buffers are objects of {@code sheaf}.
     *
     * @param sheaf the Sheaf allocator that provides the memory; it must outlive the buffers
     * @return a new allocator, preferring direct buffers
     * @throws IllegalArgumentException if {@code sheaf} is null or closed
     * @throws IllegalStateException    if {@code sheaf} is closed concurrently
     */
    public static SheafByteBufAllocator create(SlabAllocator sheaf) {
        return create(sheaf, DEFAULT_SPAN_RESERVE_BYTES);
    }

    /**
     * An allocator whose direct buffers are objects of {@code sheaf}, keeping up to
     * {@code spanReserveBytes} of released page spans (buffers of 160 KiB to 4 MiB) for reuse.
     *
     * @param sheaf the Sheaf allocator that provides the memory; it must outlive the buffers
     * @param spanReserveBytes bytes of released spans kept for reuse, 0 for none
     * @return a new allocator, preferring direct buffers
     * @throws IllegalArgumentException if {@code sheaf} is null or closed, or the budget negative
     * @throws IllegalStateException    if {@code sheaf} is closed concurrently
     */
    public static SheafByteBufAllocator create(SlabAllocator sheaf, long spanReserveBytes) {
        if (sheaf == null) {
            throw new IllegalArgumentException("sheaf allocator is null");
        }
        if (sheaf.isClosed()) {
            throw new IllegalArgumentException("sheaf allocator is closed");
        }
        if (spanReserveBytes < 0) {
            throw new IllegalArgumentException("span reserve " + spanReserveBytes + " negative");
        }
        return new SheafByteBufAllocator(sheaf, spanReserveBytes);
    }

    /**
     * Frees the released page spans this allocator keeps for reuse into Sheaf (which gives their
     * memory back to the OS). Buffers in use are not affected. Thread-safe.
     *
     * @throws IllegalStateException the Sheaf allocator is closed
     */
    public void releaseReservedSpans() {
        sizes.spans().release();
    }

    /**
     * A direct buffer over a new Sheaf object of at least {@code initialCapacity} bytes.
     *
     * @throws OutOfMemoryError      the Sheaf allocator's capacity is exhausted
     * @throws IllegalStateException the Sheaf allocator is closed
     */
    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return toLeakAwareBuffer(SheafDirectByteBuf.newInstance(this, sizes, initialCapacity, maxCapacity));
    }

    /** An unpooled heap buffer, counted in {@link SheafByteBufAllocatorMetric#usedHeapMemory()}. */
    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return toLeakAwareBuffer(new SheafHeapByteBuf(this, initialCapacity, maxCapacity));
    }

    /**
     * True: direct buffers are recycled objects over pooled (slab) memory.
     *
     * @return true
     */
    @Override
    public boolean isDirectBufferPooled() {
        return true;
    }

    /**
     * Used heap and direct memory, and Sheaf's own figures.
     *
     * @return the metric of this allocator (one object, read live)
     */
    @Override
    public SheafByteBufAllocatorMetric metric() {
        return metric;
    }

    /**
     * The Sheaf allocator that provides the direct buffers' memory.
     *
     * @return the Sheaf allocator
     */
    public SlabAllocator slabAllocator() {
        return sheaf;
    }

    @Override
    public String toString() {
        return "SheafByteBufAllocator(" + metric + ")";
    }
}
