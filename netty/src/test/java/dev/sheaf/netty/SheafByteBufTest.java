package dev.sheaf.netty;

import dev.sheaf.allocator.SheafThread;
import dev.sheaf.allocator.SlabAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.concurrent.FastThreadLocalThread;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ScatteringByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SheafByteBufTest {

    static {
        LeakReports.install();
    }

    private SlabAllocator sheaf;
    private SheafByteBufAllocator alloc;
    private long baseline;

    @BeforeEach
    void setUp() {
        sheaf = SlabAllocator.builder().capacity(256L << 20).build();
        alloc = SheafByteBufAllocator.create(sheaf);
        baseline = sheaf.stats().liveBytes();
    }

    @AfterEach
    void tearDown() {
        alloc.releaseReservedSpans();
        assertEquals(0, alloc.metric().reservedSpanBytes());
        assertEquals(baseline, sheaf.stats().liveBytes(), "every Sheaf object freed");
        sheaf.close();
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    @Test
    void directBufferIsASheafObject() {
        ByteBuf buf = alloc.buffer(100);
        assertTrue(buf.isDirect());
        assertTrue(buf.hasMemoryAddress());
        assertFalse(buf.hasArray());
        assertEquals(100, buf.capacity());
        long live = sheaf.stats().liveBytes();
        assertTrue(live > baseline, "the buffer's memory is live in Sheaf");
        assertTrue(sheaf.usableSize(buf.memoryAddress()) >= 100, "the address is a Sheaf object start");
        assertTrue(buf.release());
        assertEquals(0, buf.refCnt());
        assertTrue(alloc.isDirectBufferPooled());
        assertTrue(alloc.directBuffer(16).release());
        assertTrue(alloc.ioBuffer(16).release());
    }

    @Test
    void primitivesBigAndLittleEndian() {
        ByteBuf buf = alloc.directBuffer(64);
        buf.writeByte(0x81).writeShort(0x0102).writeShortLE(0x0304).writeMedium(0x050607).writeMediumLE(0x08090a)
                .writeInt(0x0b0c0d0e).writeIntLE(0x0f101112).writeLong(0x1314151617181920L)
                .writeLongLE(0x2122232425262728L).writeFloat(1.5f).writeDouble(-2.25).writeChar('x');
        byte[] expected = {(byte) 0x81, 1, 2, 4, 3, 5, 6, 7, 0x0a, 9, 8, 0x0b, 0x0c, 0x0d, 0x0e, 0x12, 0x11, 0x10,
            0x0f, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x20, 0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21};
        byte[] head = new byte[expected.length];
        buf.getBytes(0, head);
        assertArrayEquals(expected, head);
        assertEquals((byte) 0x81, buf.readByte());
        assertEquals(0x0102, buf.readShort());
        assertEquals(0x0304, buf.readShortLE());
        assertEquals(0x050607, buf.readUnsignedMedium());
        assertEquals(0x08090a, buf.readUnsignedMediumLE());
        assertEquals(0x0b0c0d0e, buf.readInt());
        assertEquals(0x0f101112, buf.readIntLE());
        assertEquals(0x1314151617181920L, buf.readLong());
        assertEquals(0x2122232425262728L, buf.readLongLE());
        assertEquals(1.5f, buf.readFloat());
        assertEquals(-2.25, buf.readDouble());
        assertEquals('x', buf.readChar());
        assertEquals(0x0201, buf.order(ByteOrder.LITTLE_ENDIAN).getShort(1));
        buf.release();
    }

    @Test
    void bulkCopiesEveryWay(@TempDir Path tmp) throws Exception {
        byte[] data = pattern(5000, 7);
        ByteBuf buf = alloc.directBuffer(5000);
        buf.writeBytes(data);
        byte[] out = new byte[5000];
        buf.getBytes(0, out);
        assertArrayEquals(data, out);

        ByteBuffer heapNio = ByteBuffer.allocate(100);
        buf.getBytes(10, heapNio);
        assertEquals(100, heapNio.position());
        assertArrayEquals(Arrays.copyOfRange(data, 10, 110), heapNio.array());
        ByteBuffer directNio = ByteBuffer.allocateDirect(100);
        buf.getBytes(20, directNio);
        directNio.flip();
        assertEquals(ByteBuffer.wrap(data, 20, 100), directNio);

        ByteArrayOutputStream os = new ByteArrayOutputStream();
        buf.getBytes(0, os, 5000);
        assertArrayEquals(data, os.toByteArray());
        Path file = tmp.resolve("bytes");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ)) {
            assertEquals(300, buf.getBytes(0, (GatheringByteChannel) ch, 300));
            assertEquals(200, buf.getBytes(300, ch, 300, 200));
            ch.position(0);
            ByteBuf fromFile = alloc.directBuffer(500);
            assertEquals(500, fromFile.writeBytes((ScatteringByteChannel) ch, 500));
            assertArrayEquals(Arrays.copyOf(data, 500), ByteBufUtil.getBytes(fromFile));
            assertEquals(100, fromFile.setBytes(0, ch, 400, 100));
            assertArrayEquals(Arrays.copyOfRange(data, 400, 500), ByteBufUtil.getBytes(fromFile, 0, 100));
            fromFile.release();
        }

        ByteBuf other = alloc.directBuffer(5000);
        other.writeBytes(buf, 0, 5000);
        assertTrue(ByteBufUtil.equals(buf, other));
        ByteBuf heap = alloc.heapBuffer(5000);
        heap.writeBytes(buf);
        assertArrayEquals(data, ByteBufUtil.getBytes(heap));
        ByteBuf back = alloc.directBuffer(5000);
        back.writeBytes(heap);
        assertTrue(ByteBufUtil.equals(buf, 0, back, 0, 5000));

        ByteBuf fromStream = alloc.directBuffer(5000);
        ByteArrayInputStream in = new ByteArrayInputStream(data);
        while (fromStream.isWritable() && fromStream.writeBytes(in, fromStream.writableBytes()) > 0) {
            // read until full
        }
        assertArrayEquals(data, ByteBufUtil.getBytes(fromStream));
        ByteBuf fromChannel = alloc.directBuffer(5000);
        fromChannel.writeBytes(data);

        buf.setBytes(0, buf, 1, 100); // overlapping copy within the buffer
        assertArrayEquals(Arrays.copyOfRange(data, 1, 101), ByteBufUtil.getBytes(buf, 0, 100));

        ByteBuf copy = buf.copy(100, 200);
        assertTrue(copy.isDirect());
        copy.setByte(0, 0);
        assertEquals(data[100], buf.getByte(100), "copy does not share memory");
        for (ByteBuf b : new ByteBuf[] {buf, other, heap, back, fromStream, fromChannel, copy}) {
            assertTrue(b.release());
        }
        assertEquals(0, alloc.metric().usedHeapMemory());
    }

    @Test
    void nioViewsShareMemory() {
        ByteBuf buf = alloc.directBuffer(256);
        buf.writeBytes(pattern(256, 3));
        ByteBuffer nio = buf.nioBuffer(16, 32);
        assertTrue(nio.isDirect());
        assertEquals(32, nio.remaining());
        nio.put(0, (byte) 99);
        assertEquals(99, buf.getByte(16));
        ByteBuffer internal = buf.internalNioBuffer(8, 8);
        assertEquals(8, internal.position());
        assertEquals(16, internal.limit());
        assertEquals(1, buf.nioBufferCount());
        assertEquals(1, buf.nioBuffers().length);
        assertEquals(buf.memoryAddress() + 16, java.lang.foreign.MemorySegment.ofBuffer(nio).address());
        buf.release();
    }

    @Test
    void slicesDuplicatesAndRetainedSlices() {
        ByteBuf buf = alloc.directBuffer(128);
        buf.writeBytes(pattern(128, 1));
        ByteBuf slice = buf.slice(10, 20);
        assertEquals(buf.memoryAddress() + 10, slice.memoryAddress());
        slice.setByte(0, 42);
        assertEquals(42, buf.getByte(10));
        ByteBuf dup = buf.duplicate();
        assertEquals(buf.memoryAddress(), dup.memoryAddress());
        ByteBuf retained = buf.retainedSlice(0, 64);
        assertEquals(2, buf.refCnt());
        assertFalse(buf.release());
        assertEquals(pattern(128, 1)[5], retained.getByte(5));
        ByteBuf retainedDup = retained.retainedDuplicate();
        assertFalse(retained.release());
        assertTrue(retainedDup.release(), "the last reference frees the buffer");
        assertEquals(0, buf.refCnt());
        assertThrows(IllegalReferenceCountException.class, () -> slice.getByte(0));
    }

    @Test
    void compositeOfSheafComponents() {
        CompositeByteBuf comp = alloc.compositeDirectBuffer();
        ByteBuf a = alloc.directBuffer(100).writeBytes(pattern(100, 1));
        ByteBuf b = alloc.directBuffer(40000).writeBytes(pattern(40000, 2));
        comp.addComponents(true, a, b);
        assertEquals(40100, comp.readableBytes());
        assertTrue(comp.isDirect());
        byte[] all = ByteBufUtil.getBytes(comp);
        assertArrayEquals(pattern(100, 1), Arrays.copyOf(all, 100));
        assertArrayEquals(pattern(40000, 2), Arrays.copyOfRange(all, 100, 40100));
        ByteBuf flat = alloc.directBuffer(40100).writeBytes(comp, 0, 40100);
        assertArrayEquals(all, ByteBufUtil.getBytes(flat));
        assertTrue(comp.release());
        assertEquals(0, a.refCnt());
        assertEquals(0, b.refCnt());
        flat.release();
    }

    @Test
    void capacityGrowsAndShrinksAcrossSizeClasses() {
        ByteBuf buf = alloc.directBuffer(64, 1 << 21);
        byte[] data = pattern(200_000, 9);
        buf.writeBytes(data, 0, 64);
        long first = buf.memoryAddress();
        buf.writeBytes(data, 64, 200_000 - 64); // ensureWritable: size classes, then a page span
        assertNotEquals(first, buf.memoryAddress());
        assertTrue(buf.capacity() >= 200_000);
        assertArrayEquals(data, ByteBufUtil.getBytes(buf));
        buf.capacity(100);
        assertEquals(100, buf.capacity());
        assertEquals(100, buf.writerIndex());
        assertTrue(sheaf.usableSize(buf.memoryAddress()) < 200, "shrunk into a small class");
        assertArrayEquals(Arrays.copyOf(data, 100), ByteBufUtil.getBytes(buf));
        assertEquals(112 - 100, buf.maxFastWritableBytes(), "up to the 112-byte class");
        long before = buf.memoryAddress();
        buf.capacity(101);
        assertEquals(before, buf.memoryAddress(), "the same class holds one more byte");
        assertArrayEquals(Arrays.copyOf(data, 100), ByteBufUtil.getBytes(buf));
        buf.release();
    }

    @Test
    void releasedSpansAreReusedWithinTheBudget() {
        ByteBuf a = alloc.directBuffer(300_000);
        long span = a.memoryAddress();
        assertEquals(320 << 10, sheaf.usableSize(span), "a span class of four per doubling");
        long madvised = sheaf.stats().madvisedBytes();
        assertTrue(a.release());
        assertEquals(320 << 10, alloc.metric().reservedSpanBytes());
        ByteBuf b = alloc.directBuffer(310_000);
        assertEquals(span, b.memoryAddress(), "the same class reuses the kept span");
        assertEquals(0, alloc.metric().reservedSpanBytes());
        assertEquals(madvised, sheaf.stats().madvisedBytes(), "no span went back to the OS");
        ByteBuf huge = alloc.directBuffer((4 << 20) + 1);
        assertTrue(huge.release());
        assertEquals(0, alloc.metric().reservedSpanBytes(), "spans above 4 MiB are not kept");
        assertTrue(b.release());
        alloc.releaseReservedSpans();
        assertEquals(0, alloc.metric().reservedSpanBytes());

        SheafByteBufAllocator none = SheafByteBufAllocator.create(sheaf, 0);
        assertTrue(none.directBuffer(300_000).release());
        assertEquals(0, none.metric().reservedSpanBytes(), "a zero budget keeps nothing");
        assertThrows(IllegalArgumentException.class, () -> SheafByteBufAllocator.create(sheaf, -1));
    }

    @Test
    void maxCapacityIsRespected() {
        ByteBuf buf = alloc.directBuffer(8, 16);
        buf.writeLong(1).writeLong(2);
        assertThrows(IndexOutOfBoundsException.class, () -> buf.writeByte(3));
        assertThrows(IllegalArgumentException.class, () -> buf.capacity(17));
        assertThrows(IndexOutOfBoundsException.class, () -> buf.getLong(9));
        buf.release();
        assertThrows(IllegalArgumentException.class, () -> alloc.directBuffer(10, 5));
    }

    @Test
    void largeBuffersUseCreatedCachesThenPageSpans() {
        long[][] sizeAndUsable = {{32 * 1024, 32 * 1024}, {32 * 1024 + 1, 40 * 1024}, {64 * 1024, 64 * 1024},
            {100_000, 112 * 1024}, {128 * 1024, 128 * 1024}, {128 * 1024 + 1, -1}, {1 << 20, -1}};
        for (long[] su : sizeAndUsable) {
            int size = (int) su[0];
            long spansBefore = sheaf.stats().largeAllocations();
            ByteBuf buf = alloc.directBuffer(size);
            if (su[1] > 0) {
                assertEquals(su[1], sheaf.usableSize(buf.memoryAddress()), "size " + size);
                assertEquals(spansBefore, sheaf.stats().largeAllocations(), "size " + size);
            } else {
                assertEquals(spansBefore + 1, sheaf.stats().largeAllocations(), "size " + size);
            }
            buf.writeBytes(pattern(size, size));
            assertArrayEquals(pattern(size, size), ByteBufUtil.getBytes(buf));
            assertTrue(buf.release());
        }
        ByteBuf grow = alloc.directBuffer(30_000, 1 << 20).writeBytes(pattern(30_000, 5));
        grow.capacity(60_000);
        assertEquals(64 * 1024, sheaf.usableSize(grow.memoryAddress()));
        grow.capacity(200_000);
        assertArrayEquals(pattern(30_000, 5), ByteBufUtil.getBytes(grow, 0, 30_000));
        grow.capacity(50_000);
        assertEquals(56 * 1024, sheaf.usableSize(grow.memoryAddress()));
        assertArrayEquals(pattern(30_000, 5), ByteBufUtil.getBytes(grow, 0, 30_000));
        assertTrue(grow.release());
    }

    @Test
    void doubleReleaseThrowsAndFreesNothingTwice() {
        ByteBuf buf = alloc.directBuffer(64);
        ByteBuf other = alloc.directBuffer(64); // a neighbour a double free would disturb
        assertTrue(buf.release());
        long live = sheaf.stats().liveBytes();
        assertThrows(IllegalReferenceCountException.class, buf::release);
        assertThrows(IllegalReferenceCountException.class, () -> buf.release(2));
        assertEquals(live, sheaf.stats().liveBytes());
        assertThrows(IllegalReferenceCountException.class, buf::retain);
        other.writeLong(7);
        assertEquals(7, other.readLong());
        assertTrue(other.release());
    }

    @Test
    void useAfterReleaseThrows() {
        ByteBuf buf = alloc.directBuffer(64).writeLong(5);
        ByteBuf slice = buf.slice();
        buf.release();
        assertThrows(IllegalReferenceCountException.class, () -> buf.getLong(0));
        assertThrows(IllegalReferenceCountException.class, () -> buf.writeByte(1));
        assertThrows(IllegalReferenceCountException.class, buf::memoryAddress);
        assertThrows(IllegalReferenceCountException.class, () -> buf.nioBuffer(0, 8));
        assertThrows(IllegalReferenceCountException.class, () -> buf.getBytes(0, new byte[8]));
        assertThrows(IllegalReferenceCountException.class, () -> buf.capacity(128));
        assertThrows(IllegalReferenceCountException.class, () -> slice.readLong());
    }

    @Test
    void releaseOnAnotherThreadIsAPlainFree() throws Exception {
        ByteBuf[] bufs = new ByteBuf[1000];
        for (int i = 0; i < bufs.length; i++) {
            bufs[i] = alloc.directBuffer(1 + i * 37 % 40000).writeInt(i);
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                for (int i = 0; i < bufs.length; i++) {
                    assertEquals(i, bufs[i].readInt());
                    assertTrue(bufs[i].release());
                }
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        });
        t.start();
        done.get(30, TimeUnit.SECONDS);
        t.join();
    }

    @Test
    void releasedBuffersAreRecycledAndZeroed() {
        for (int round = 0; round < 10_000; round++) {
            ByteBuf buf = alloc.directBuffer(64, 256);
            assertEquals(1, buf.refCnt());
            assertEquals(0, buf.readerIndex());
            assertEquals(0, buf.writerIndex());
            assertEquals(256, buf.maxCapacity());
            assertEquals(64, buf.capacity());
            buf.writeInt(round).markWriterIndex().writeInt(round);
            buf.release();
        }
    }

    @Test
    void heapBuffersAndMetric() {
        ByteBuf heap = alloc.heapBuffer(1000);
        assertFalse(heap.isDirect());
        assertTrue(heap.hasArray());
        assertEquals(1000, alloc.metric().usedHeapMemory());
        ByteBuf direct = alloc.directBuffer(1000);
        assertTrue(alloc.metric().usedDirectMemory() >= baseline + 1000);
        assertTrue(alloc.metric().reservedDirectMemory() >= alloc.metric().usedDirectMemory());
        assertEquals(SlabAllocator.sizeClasses().length + BufferSizes.LARGE_CLASSES.length,
                alloc.metric().sizeClasses().size());
        assertTrue(alloc.metric().sizeClasses().stream().anyMatch(s -> s.activeObjects() > 0));
        heap.release();
        direct.release();
        assertEquals(0, alloc.metric().usedHeapMemory());
        assertTrue(alloc.toString().contains("usedDirectMemory"));
    }

    @Test
    void createRejectsNullAndClosed() {
        assertThrows(IllegalArgumentException.class, () -> SheafByteBufAllocator.create(null));
        SlabAllocator closed = SlabAllocator.builder().capacity(1 << 20).build();
        closed.close();
        assertThrows(IllegalArgumentException.class, () -> SheafByteBufAllocator.create(closed));
    }

    @Test
    void eventLoopThreadsAreBothKinds() throws Exception {
        ThreadFactory f = SheafEventLoopThreads.factory("loop-", true);
        CompletableFuture<ByteBufAllocator> seen = new CompletableFuture<>();
        Thread t = f.newThread(() -> {
            ByteBuf buf = alloc.directBuffer(64);
            buf.release();
            seen.complete(alloc);
        });
        assertInstanceOf(FastThreadLocalThread.class, t);
        assertInstanceOf(SheafThread.class, t);
        assertTrue(t.isDaemon());
        assertTrue(t.getName().startsWith("loop-"));
        t.start();
        assertEquals(alloc, seen.get(30, TimeUnit.SECONDS));
        t.join();
        assertThrows(IllegalArgumentException.class, () -> SheafEventLoopThreads.factory(null, false));
    }
}
