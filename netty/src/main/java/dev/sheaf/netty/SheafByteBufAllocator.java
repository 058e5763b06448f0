package dev.sheaf.netty;

import dev.sheaf.allocator.SlabAllocator;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocatorMetricProvider;

import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.FastThreadLocalThread;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
 * Per-thread state: on a FastThreadLocalThread (an event loop) a direct buffer comes from the
 * thread's ThreadBuffers, found with one FastThreadLocal load (an index into the thread's own
 * array): ready buffers that keep their Sheaf object between uses (see ThreadBuffers). Every
 * ThreadBuffers is also in `threads`, so that the metric can count kept bytes and so that one
 * whose owner died without removing its FastThreadLocals (a thread not started through
 * FastThreadLocalRunnable) is closed by the next thread that creates its own. On any other thread
 * a buffer gets a new Sheaf object per allocation (SheafDirectByteBuf.newUnpooled); Sheaf's own
 * per-call paths are then the per-thread part.
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
 * duplicates, composites). On an event-loop thread (a {@code FastThreadLocalThread}, e.g. from
 * {@link SheafEventLoopThreads}) a released buffer is kept ready with its memory for the thread's
 * next allocation of its size class (at most 64 buffers or about 256 KiB per class and thread; a
 * buffer released on another thread goes back to the thread that allocated it), so allocate and
 * release make no Sheaf call and no garbage; the kept memory is freed into Sheaf when the thread
 * ends ({@link SheafByteBufAllocatorMetric#threadCachedBytes()} shows it). On any other thread a
 * buffer gets a new Sheaf object and its memory is freed into Sheaf when the reference count
 * reaches zero, on any thread. Changing a buffer's capacity past its
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
    /** Every live ThreadBuffers of this allocator (see the notes). */
    private final Set<ThreadBuffers> threads = ConcurrentHashMap.newKeySet();
    private final FastThreadLocal<ThreadBuffers> threadBuffers = new FastThreadLocal<>() {
        @Override
        protected ThreadBuffers initialValue() {
            return open(Thread.currentThread());
        }

        @Override
        protected void onRemoval(ThreadBuffers tb) {
            close(tb);
        }
    };

    /** Default of the span reserve's budget. */
    public static final long DEFAULT_SPAN_RESERVE_BYTES = 16L << 20;

    private SheafByteBufAllocator(SlabAllocator sheaf, long spanReserveBytes) {
        super(true);
        this.sheaf = sheaf;
        this.sizes = new BufferSizes(sheaf, spanReserveBytes);
        this.metric = new SheafByteBufAllocatorMetric(sizes, heapBytes, this::threadKeptBytes);
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
        if (sheaf.isClosed()) {
            throw new IllegalStateException("sheaf allocator is closed");
        }
        SheafDirectByteBuf buf;
        if (Thread.currentThread() instanceof FastThreadLocalThread) {
            ThreadBuffers tb = threadBuffers.get();
            int ci = sizes.classIndex(initialCapacity);
            buf = ci >= 0 ? tb.allocate(ci, initialCapacity, maxCapacity) : tb.allocateSpan(initialCapacity, maxCapacity);
        } else {
            buf = SheafDirectByteBuf.newUnpooled(this, sizes, initialCapacity, maxCapacity);
        }
        return toLeakAwareBuffer(buf);
    }

    /** A new thread's ready buffers; closes those of threads that died without removing theirs. */
    private ThreadBuffers open(Thread t) {
        for (ThreadBuffers tb : threads) {
            if (!tb.owner.isAlive()) {
                close(tb);
            }
        }
        ThreadBuffers tb = new ThreadBuffers(this, sizes, t);
        threads.add(tb);
        return tb;
    }

    private void close(ThreadBuffers tb) {
        if (threads.remove(tb)) {
            tb.close();
        }
    }

    /** Bytes kept ready on event-loop threads (racy, for the metric). */
    private long threadKeptBytes() {
        long bytes = 0;
        for (ThreadBuffers tb : threads) {
            bytes += tb.keptBytes();
        }
        return bytes;
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
