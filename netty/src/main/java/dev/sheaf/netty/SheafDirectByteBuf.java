package dev.sheaf.netty;

import dev.sheaf.allocator.SlabCache;
import io.netty.buffer.AbstractReferenceCountedByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ScatteringByteChannel;

/*
 * Implementation notes.
 *
 * A direct ByteBuf over one Sheaf object: address is what its cache (or, for a page span, the
 * SlabAllocator) handed out, capacity
 * the ByteBuf's capacity (at most the object's usable size). Bytes are read and written through
 * MEMORY, one segment over the whole address space, at absolute offsets (address + index) with
 * unaligned big- or little-endian layouts: FFM only, and no per-buffer segment object.
 *
 * Safety rests on AbstractByteBuf's checks: every public accessor checks accessibility (refCnt > 0)
 * and the index range against capacity before it reaches a _get/_set here, and every bulk method
 * here calls checkIndex/checkSrcIndex/checkDstIndex first. So no access goes outside the live
 * object while the buffer is referenced. A stale reference to a released buffer sees refCnt 0 and
 * gets IllegalReferenceCountException; once the object is recycled and handed out again it is a
 * new buffer, the same contract as Netty's pooled buffers.
 *
 * Memory: BufferSizes picks the cache (a kmalloc class, a created cache for sizes just above the
 * classes, or none: a page span); the buffer keeps it and frees its object into it.
 *
 * Lifecycle: on an event-loop thread (a FastThreadLocalThread) a buffer belongs to that thread's
 * ThreadBuffers (home): it keeps its Sheaf object between uses, an allocation pops it and reuse()
 * resets capacity, maxCapacity, refCnt, indices and marks, and deallocate (refCnt reached 0, on
 * whatever thread) gives it back to its home with its object (see ThreadBuffers). Elsewhere
 * (home null: plain and virtual threads) newUnpooled allocates the object first (an
 * OutOfMemoryError leaves nothing taken) into a new buffer, and deallocate frees the object into
 * Sheaf, a plain cross-thread free when it runs on another thread; the buffer object is then
 * garbage, as with Netty's pooled allocator on such threads.
 *
 * usable is the object's size (cache object size or span size), so capacity may grow to it in place
 * and maxFastWritableBytes reports it, as Netty's pooled buffers report their run's length.
 *
 * Capacity changes: a new capacity that the object's class still holds, and that no smaller class
 * would hold (BufferSizes.cacheFor names the current cache, SpanReserve.fit the current span class,
 * or a span above the span classes stays over half full), only
 * moves the capacity; otherwise a new object of the right class is allocated, the common bytes are
 * copied and the old object is freed. A failing allocation leaves the buffer unchanged.
 *
 * tmpNioBuf is the buffer's internal NIO view (internalNioBuffer, channel reads and writes), made on
 * first use per object and dropped whenever address or capacity change. Like Netty's own buffers,
 * a ByteBuf is used by one thread at a time.
 *
 * Map: memory and layouts; fields; lifecycle (newUnpooled, attach, reuse, freeMemory, deallocate);
 * capacity; flags; primitive accessors; bulk get; bulk set; NIO views; copy.
 */
final class SheafDirectByteBuf extends AbstractReferenceCountedByteBuf {

    /** Every address: offsets into it are absolute addresses. */
    private static final MemorySegment MEMORY = wholeAddressSpace();
    private static final ValueLayout.OfShort SHORT_BE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Stream copies go through a heap array of at most this many bytes. */
    private static final int STREAM_CHUNK = 8192;

    private final SheafByteBufAllocator alloc;
    private final BufferSizes sizes;
    /** The event-loop thread's ready buffers this buffer returns to, or null (see the notes). */
    private final ThreadBuffers home;
    /** The cache of the object, or null for a page span. */
    private SlabCache cache;
    /** The number of the cache's class in BufferSizes, or -1 for a page span. */
    private int classIndex;
    /** The Sheaf object's address while the buffer has one; 0 once its object went back. */
    private long address;
    private int capacity;
    /** Bytes of the object (at least capacity): its cache's object size or its span's size. */
    private long usable;
    private ByteBuffer tmpNioBuf;
    /** ThreadBuffers' returned stack: the next node, and how many nodes lie below this one. */
    SheafDirectByteBuf nextReturned;
    int returnedDepth;

    SheafDirectByteBuf(SheafByteBufAllocator alloc, BufferSizes sizes, ThreadBuffers home) {
        super(0);
        this.alloc = alloc;
        this.sizes = sizes;
        this.home = home;
    }

    // A segment over the whole address space is a restricted method: the module needs native access
    // (see module-info), as the allocator does.
    @SuppressWarnings("restricted")
    private static MemorySegment wholeAddressSpace() {
        return MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    }

    // -------------------------------------------------------------------------------------------
    // Lifecycle

    /**
     * A buffer that belongs to no thread (see the notes), over a new object of its class.
     *
     * @throws OutOfMemoryError      Sheaf's capacity is exhausted
     * @throws IllegalStateException Sheaf is closed
     */
    static SheafDirectByteBuf newUnpooled(SheafByteBufAllocator alloc, BufferSizes sizes, int initialCapacity,
                                          int maxCapacity) {
        int ci = sizes.classIndex(initialCapacity);
        SheafDirectByteBuf buf = new SheafDirectByteBuf(alloc, sizes, null);
        if (ci >= 0) {
            SlabCache c = sizes.cache(ci);
            buf.attach(c, ci, c.alloc(), c.objectSize());
        } else {
            long a = sizes.allocateSpan(initialCapacity);
            buf.attach(null, -1, a, sizes.spanSize(a));
        }
        buf.reuse(initialCapacity, maxCapacity);
        return buf;
    }

    /** Gives the buffer an object of cache c (class ci; null and -1 for a span). */
    void attach(SlabCache c, int ci, long address, long usable) {
        this.cache = c;
        this.classIndex = ci;
        this.address = address;
        this.usable = usable;
        this.tmpNioBuf = null;
    }

    /** Forgets the object (it went back to Sheaf in a batch). */
    void detach() {
        address = 0;
        tmpNioBuf = null;
    }

    /** A new life over the buffer's object: capacity, maxCapacity, refCnt 1, indices and marks 0. */
    void reuse(int capacity, int maxCapacity) {
        if (capacity != this.capacity) {
            this.capacity = capacity;
            this.tmpNioBuf = null;
        }
        maxCapacity(maxCapacity);
        resetRefCnt();
        clear();
        markReaderIndex();
        markWriterIndex();
    }

    long address() {
        return address;
    }

    int classIndex() {
        return classIndex;
    }

    /** Frees the object into Sheaf (its cache, or the span reserve) and forgets it. */
    void freeMemory() {
        long a = address;
        address = 0;
        tmpNioBuf = null;
        if (cache != null) {
            cache.free(a);
        } else {
            sizes.freeSpan(a);
        }
    }

    @Override
    protected void deallocate() {
        ThreadBuffers h = home;
        if (h != null) {
            h.release(this);
        } else {
            freeMemory();
        }
    }

    // -------------------------------------------------------------------------------------------
    // Capacity

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public ByteBuf capacity(int newCapacity) {
        checkNewCapacity(newCapacity);
        int old = capacity;
        if (newCapacity == old) {
            return this;
        }
        SlabCache current = cache;
        SlabCache next = sizes.cacheFor(newCapacity);
        long spanFit = next == null ? SpanReserve.fit(newCapacity) : 0;
        boolean inPlace = newCapacity <= usable && (next != null ? next == current
                : current == null && (spanFit == usable || (spanFit < 0 && newCapacity > usable / 2)));
        if (inPlace) {
            capacity = newCapacity;
        } else {
            long moved;
            long movedUsable;
            if (next != null) {
                moved = next.alloc();
                movedUsable = next.objectSize();
            } else {
                moved = sizes.allocateSpan(newCapacity);
                movedUsable = sizes.spanSize(moved);
            }
            MemorySegment.copy(MEMORY, address, MEMORY, moved, Math.min(old, newCapacity));
            long previous = address;
            address = moved;
            cache = next;
            classIndex = next != null ? sizes.classIndex(newCapacity) : -1;
            capacity = newCapacity;
            usable = movedUsable;
            if (current != null) {
                current.free(previous);
            } else {
                sizes.freeSpan(previous);
            }
        }
        tmpNioBuf = null;
        trimIndicesToCapacity(newCapacity);
        return this;
    }

    /**
     * Writable bytes without a new object: up to the object's usable size (as Netty's pooled
     * buffers report up to their run's length), so cumulators grow in place.
     */
    @Override
    public int maxFastWritableBytes() {
        return (int) Math.min(usable, maxCapacity()) - writerIndex();
    }

    @Override
    public ByteBufAllocator alloc() {
        return alloc;
    }

    // -------------------------------------------------------------------------------------------
    // Flags

    @Override
    @Deprecated
    @SuppressWarnings("InlineMeSuggester") // overrides Netty's deprecated abstract method; no API of ours
    public ByteOrder order() {
        return ByteOrder.BIG_ENDIAN;
    }

    @Override
    public ByteBuf unwrap() {
        return null;
    }

    @Override
    public boolean isDirect() {
        return true;
    }

    @Override
    public boolean isContiguous() {
        return true;
    }

    @Override
    public boolean hasArray() {
        return false;
    }

    @Override
    public byte[] array() {
        throw new UnsupportedOperationException("direct buffer");
    }

    @Override
    public int arrayOffset() {
        throw new UnsupportedOperationException("direct buffer");
    }

    @Override
    public boolean hasMemoryAddress() {
        return true;
    }

    @Override
    public long memoryAddress() {
        ensureAccessible();
        return address;
    }

    // -------------------------------------------------------------------------------------------
    // Primitive accessors (indices checked by AbstractByteBuf)

    @Override
    protected byte _getByte(int index) {
        return MEMORY.get(ValueLayout.JAVA_BYTE, address + index);
    }

    @Override
    protected short _getShort(int index) {
        return MEMORY.get(SHORT_BE, address + index);
    }

    @Override
    protected short _getShortLE(int index) {
        return MEMORY.get(SHORT_LE, address + index);
    }

    @Override
    protected int _getUnsignedMedium(int index) {
        return (_getByte(index) & 0xff) << 16 | (_getShort(index + 1) & 0xffff);
    }

    @Override
    protected int _getUnsignedMediumLE(int index) {
        return (_getByte(index) & 0xff) | (_getShortLE(index + 1) & 0xffff) << 8;
    }

    @Override
    protected int _getInt(int index) {
        return MEMORY.get(INT_BE, address + index);
    }

    @Override
    protected int _getIntLE(int index) {
        return MEMORY.get(INT_LE, address + index);
    }

    @Override
    protected long _getLong(int index) {
        return MEMORY.get(LONG_BE, address + index);
    }

    @Override
    protected long _getLongLE(int index) {
        return MEMORY.get(LONG_LE, address + index);
    }

    @Override
    protected void _setByte(int index, int value) {
        MEMORY.set(ValueLayout.JAVA_BYTE, address + index, (byte) value);
    }

    @Override
    protected void _setShort(int index, int value) {
        MEMORY.set(SHORT_BE, address + index, (short) value);
    }

    @Override
    protected void _setShortLE(int index, int value) {
        MEMORY.set(SHORT_LE, address + index, (short) value);
    }

    @Override
    protected void _setMedium(int index, int value) {
        _setByte(index, value >>> 16);
        _setShort(index + 1, value);
    }

    @Override
    protected void _setMediumLE(int index, int value) {
        _setByte(index, value);
        _setShortLE(index + 1, value >>> 8);
    }

    @Override
    protected void _setInt(int index, int value) {
        MEMORY.set(INT_BE, address + index, value);
    }

    @Override
    protected void _setIntLE(int index, int value) {
        MEMORY.set(INT_LE, address + index, value);
    }

    @Override
    protected void _setLong(int index, long value) {
        MEMORY.set(LONG_BE, address + index, value);
    }

    @Override
    protected void _setLongLE(int index, long value) {
        MEMORY.set(LONG_LE, address + index, value);
    }

    // -------------------------------------------------------------------------------------------
    // Bulk get

    @Override
    public ByteBuf getBytes(int index, ByteBuf dst, int dstIndex, int length) {
        checkDstIndex(index, length, dstIndex, dst.capacity());
        if (dst.hasMemoryAddress()) {
            MemorySegment.copy(MEMORY, address + index, MEMORY, dst.memoryAddress() + dstIndex, length);
        } else if (dst.hasArray()) {
            MemorySegment.copy(MEMORY, ValueLayout.JAVA_BYTE, address + index, dst.array(),
                    dst.arrayOffset() + dstIndex, length);
        } else {
            dst.setBytes(dstIndex, this, index, length);
        }
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, byte[] dst, int dstIndex, int length) {
        checkDstIndex(index, length, dstIndex, dst.length);
        MemorySegment.copy(MEMORY, ValueLayout.JAVA_BYTE, address + index, dst, dstIndex, length);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, ByteBuffer dst) {
        if (dst.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        int length = dst.remaining();
        checkIndex(index, length);
        MemorySegment.copy(MEMORY, address + index, MemorySegment.ofBuffer(dst), 0, length);
        dst.position(dst.position() + length);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, OutputStream out, int length) throws IOException {
        checkIndex(index, length);
        if (length == 0) {
            return this;
        }
        byte[] chunk = new byte[Math.min(length, STREAM_CHUNK)];
        for (int done = 0; done < length; ) {
            int n = Math.min(chunk.length, length - done);
            MemorySegment.copy(MEMORY, ValueLayout.JAVA_BYTE, address + index + done, chunk, 0, n);
            out.write(chunk, 0, n);
            done += n;
        }
        return this;
    }

    @Override
    public int getBytes(int index, GatheringByteChannel out, int length) throws IOException {
        checkIndex(index, length);
        if (length == 0) {
            return 0;
        }
        return out.write(internalNio(index, length));
    }

    @Override
    public int getBytes(int index, FileChannel out, long position, int length) throws IOException {
        checkIndex(index, length);
        if (length == 0) {
            return 0;
        }
        return out.write(internalNio(index, length), position);
    }

    // -------------------------------------------------------------------------------------------
    // Bulk set

    @Override
    public ByteBuf setBytes(int index, ByteBuf src, int srcIndex, int length) {
        checkSrcIndex(index, length, srcIndex, src.capacity());
        if (src.hasMemoryAddress()) {
            MemorySegment.copy(MEMORY, src.memoryAddress() + srcIndex, MEMORY, address + index, length);
        } else if (src.hasArray()) {
            MemorySegment.copy(src.array(), src.arrayOffset() + srcIndex, MEMORY, ValueLayout.JAVA_BYTE,
                    address + index, length);
        } else {
            src.getBytes(srcIndex, this, index, length);
        }
        return this;
    }

    @Override
    public ByteBuf setBytes(int index, byte[] src, int srcIndex, int length) {
        checkSrcIndex(index, length, srcIndex, src.length);
        MemorySegment.copy(src, srcIndex, MEMORY, ValueLayout.JAVA_BYTE, address + index, length);
        return this;
    }

    @Override
    public ByteBuf setBytes(int index, ByteBuffer src) {
        int length = src.remaining();
        checkIndex(index, length);
        MemorySegment.copy(MemorySegment.ofBuffer(src), 0, MEMORY, address + index, length);
        src.position(src.position() + length);
        return this;
    }

    @Override
    public int setBytes(int index, InputStream in, int length) throws IOException {
        checkIndex(index, length);
        byte[] chunk = new byte[Math.min(Math.max(length, 1), STREAM_CHUNK)];
        int n = in.read(chunk, 0, Math.min(length, chunk.length));
        if (n <= 0) {
            return n;
        }
        MemorySegment.copy(chunk, 0, MEMORY, ValueLayout.JAVA_BYTE, address + index, n);
        return n;
    }

    @Override
    public int setBytes(int index, ScatteringByteChannel in, int length) throws IOException {
        checkIndex(index, length);
        try {
            return in.read(internalNio(index, length));
        } catch (ClosedChannelException ignored) {
            return -1;
        }
    }

    @Override
    public int setBytes(int index, FileChannel in, long position, int length) throws IOException {
        checkIndex(index, length);
        try {
            return in.read(internalNio(index, length), position);
        } catch (ClosedChannelException ignored) {
            return -1;
        }
    }

    // -------------------------------------------------------------------------------------------
    // NIO views and copy

    @Override
    public int nioBufferCount() {
        return 1;
    }

    @Override
    public ByteBuffer nioBuffer(int index, int length) {
        checkIndex(index, length);
        return MEMORY.asSlice(address + index, length).asByteBuffer();
    }

    @Override
    public ByteBuffer[] nioBuffers(int index, int length) {
        return new ByteBuffer[] {nioBuffer(index, length)};
    }

    @Override
    public ByteBuffer internalNioBuffer(int index, int length) {
        checkIndex(index, length);
        return internalNio(index, length);
    }

    /** The buffer's own NIO view, positioned at index with length bytes remaining; indices checked. */
    private ByteBuffer internalNio(int index, int length) {
        ByteBuffer b = tmpNioBuf;
        if (b == null) {
            b = MEMORY.asSlice(address, capacity).asByteBuffer();
            tmpNioBuf = b;
        }
        b.clear().position(index).limit(index + length);
        return b;
    }

    @Override
    public ByteBuf copy(int index, int length) {
        checkIndex(index, length);
        ByteBuf copy = alloc.directBuffer(length, maxCapacity());
        return copy.writeBytes(this, index, length);
    }
}
