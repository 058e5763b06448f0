package dev.sheaf.netty;

import io.netty.buffer.UnpooledHeapByteBuf;

import java.util.concurrent.atomic.LongAdder;

/*
 * Implementation notes.
 *
 * Netty's unpooled heap buffer, counting its arrays' bytes into the allocator's heap metric.
 * allocateArray runs inside UnpooledHeapByteBuf's constructor, before this class's fields are
 * set, so the counter is reached through alloc() (assigned first by the super constructor).
 *
 * Map: constructor; allocateArray; freeArray.
 */
final class SheafHeapByteBuf extends UnpooledHeapByteBuf {

    SheafHeapByteBuf(SheafByteBufAllocator alloc, int initialCapacity, int maxCapacity) {
        super(alloc, initialCapacity, maxCapacity);
    }

    private LongAdder heapBytes() {
        return ((SheafByteBufAllocator) alloc()).heapBytes;
    }

    @Override
    protected byte[] allocateArray(int initialCapacity) {
        byte[] array = super.allocateArray(initialCapacity);
        heapBytes().add(array.length);
        return array;
    }

    @Override
    protected void freeArray(byte[] array) {
        heapBytes().add(-array.length);
        super.freeArray(array);
    }
}
