package dev.sheaf.netty;

import com.sun.management.ThreadMXBean;
import dev.sheaf.allocator.SlabAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.FastThreadLocalThread;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ready buffers an event-loop thread keeps (ThreadBuffers): reuse on the owner, buffers sent
 * home by other threads, bounds, thread death with and without FastThreadLocal cleanup, spans,
 * class moves, a closed Sheaf, and a two-thread stress with identity and memory stamps. Every
 * test ends with Sheaf's live bytes back at the baseline once the threads are gone.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ThreadBuffersTest {

    private SlabAllocator sheaf;
    private SheafByteBufAllocator alloc;
    private long baseline;

    @BeforeEach
    void setUp() {
        sheaf = SlabAllocator.builder().capacity(512L << 20).build();
        alloc = SheafByteBufAllocator.create(sheaf);
        baseline = sheaf.stats().liveBytes();
    }

    @AfterEach
    void tearDown() {
        if (!sheaf.isClosed()) {
            alloc.releaseReservedSpans();
            assertEquals(baseline, sheaf.stats().liveBytes(), "every Sheaf object freed");
            sheaf.close();
        }
    }

    /** Runs body on a new event-loop thread (FastThreadLocals removed when it ends) and joins it. */
    private static void onLoop(ThrowingRunnable body) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = new FastThreadLocalThread(() -> {
            try {
                body.run();
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        });
        t.start();
        done.get(60, TimeUnit.SECONDS);
        t.join();
    }

    /** The Sheaf buffer under Netty's leak-detection wrapper, if any (the level is global). */
    private static ByteBuf inner(ByteBuf b) {
        return b instanceof SheafDirectByteBuf ? b : b.unwrap();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void theOwnerReusesItsBuffersWithTheirMemory() throws Exception {
        onLoop(() -> {
            ByteBuf first = alloc.directBuffer(64, 64);
            long address = first.memoryAddress();
            first.writeLong(42);
            first.release();
            ByteBuf again = alloc.directBuffer(60, 128);
            assertSame(inner(first), inner(again), "the released buffer is the next one handed out");
            assertEquals(address, again.memoryAddress());
            assertEquals(1, again.refCnt());
            assertEquals(0, again.readerIndex());
            assertEquals(0, again.writerIndex());
            assertEquals(60, again.capacity());
            assertEquals(128, again.maxCapacity());
            assertTrue(alloc.metric().threadCachedBytes() > 0, "a refill keeps ready buffers");
            assertEquals(sheaf.stats().liveBytes() - alloc.metric().threadCachedBytes(),
                    alloc.metric().usedDirectMemory());
            again.release();
        });
        assertEquals(0, alloc.metric().threadCachedBytes(), "the thread's end frees what it kept");
    }

    @Test
    void steadyStateAllocatesNoGarbage() throws Exception {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long[] bytes = new long[1];
        ResourceLeakDetector.Level level = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED); // sampling makes records
        try {
            onLoop(() -> {
            int[] sizes = {64, 1000, 16384, 65536};
            for (int round = 0; round < 2; round++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 1_000_000; i++) {
                    int size = sizes[i & 3];
                    ByteBuf b = alloc.directBuffer(size, size);
                    b.release();
                }
                bytes[0] = mx.getCurrentThreadAllocatedBytes() - before; // the second round counts
            }
            });
        } finally {
            ResourceLeakDetector.setLevel(level);
        }
        assertTrue(bytes[0] < 4096, "1M allocate+release pairs after warm-up allocated " + bytes[0] + " bytes");
    }

    @Test
    void buffersReleasedOnAnotherThreadGoHome() throws Exception {
        Set<ByteBuf> handedOut = Collections.newSetFromMap(new IdentityHashMap<>());
        onLoop(() -> {
            // Fewer than the class keeps (ThreadBuffers.kept(256) = 64), more than one refill gives.
            for (int i = 0; i < 40; i++) {
                handedOut.add(inner(alloc.directBuffer(256, 256)));
            }
            Thread releaser = new Thread(() -> handedOut.forEach(ByteBuf::release));
            releaser.start();
            releaser.join();
            // The owner takes them back when its stack runs dry: each of them is handed out again.
            List<ByteBuf> again = new ArrayList<>();
            try {
                for (int i = 0; i < 40 + ThreadBuffers.kept(256); i++) {
                    again.add(alloc.directBuffer(256, 256));
                }
                long reused = again.stream().map(ThreadBuffersTest::inner).filter(handedOut::contains).count();
                assertEquals(40, reused, "every buffer came home");
            } finally {
                again.forEach(ByteBuf::release);
            }
        });
    }

    @Test
    void returnsAreBoundedWhileTheOwnerIsIdle() throws Exception {
        int n = ThreadBuffers.RETURN_LIMIT + 500;
        List<ByteBuf> bufs = new ArrayList<>();
        CyclicBarrier released = new CyclicBarrier(2);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread owner = new FastThreadLocalThread(() -> {
            try {
                for (int i = 0; i < n; i++) {
                    bufs.add(alloc.directBuffer(1024, 1024));
                }
                released.await(); // handed over
                released.await(); // all released by the test thread
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        owner.start();
        released.await();
        long live = sheaf.stats().liveBytes();
        bufs.forEach(ByteBuf::release); // on this thread: home, up to the limit
        long kept = sheaf.stats().liveBytes() - baseline;
        assertTrue(kept <= (long) ThreadBuffers.RETURN_LIMIT * 1024 + (256 << 10),
                "kept " + kept + " bytes for an idle owner, live was " + live);
        released.await();
        owner.join();
        assertNull(failure.get());
    }

    @Test
    void aDeadOwnerWithoutCleanupIsSweptByTheNextThread() throws Exception {
        List<ByteBuf> late = new ArrayList<>();
        Thread bare = new FastThreadLocalThread() {
            @Override
            public void run() { // no FastThreadLocalRunnable: its FastThreadLocals are never removed
                for (int i = 0; i < 10; i++) {
                    alloc.directBuffer(128, 128).release();
                }
                late.add(alloc.directBuffer(128, 128));
            }
        };
        bare.start();
        bare.join();
        assertTrue(sheaf.stats().liveBytes() > baseline, "the dead thread's buffers are still kept");
        onLoop(() -> alloc.directBuffer(64, 64).release()); // a new thread's first allocation sweeps
        late.getFirst().release(); // released after its home was closed: freed into Sheaf here
    }

    @Test
    void spansAndClassMovesOnTheLoop() throws Exception {
        BlockingQueue<ByteBuf> other = new ArrayBlockingQueue<>(4);
        onLoop(() -> {
            ByteBuf span = alloc.directBuffer(1 << 20, 1 << 20);
            span.setByte((1 << 20) - 1, 7);
            span.release();
            ByteBuf grows = alloc.directBuffer(64, 1 << 20);
            grows.writeBytes(new byte[64]);
            grows.capacity(5000); // moves to another class
            grows.capacity(300_000); // moves to a page span
            grows.release();
            ByteBuf shrinks = alloc.directBuffer(40_000, 1 << 20);
            shrinks.capacity(100); // a small class
            other.put(shrinks);
            other.put(alloc.directBuffer(2 << 20, 2 << 20));
        });
        other.take().release(); // a class buffer whose home is gone
        other.take().release(); // a span whose home is gone
    }

    @Test
    void aClosedSheafRefusesAllocation() throws Exception {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        onLoop(() -> {
            alloc.directBuffer(64, 64).release(); // the thread keeps ready buffers
            sheaf.close();
            try {
                alloc.directBuffer(64, 64);
            } catch (IllegalStateException e) {
                thrown.set(e);
            }
        });
        assertTrue(thrown.get() instanceof IllegalStateException);
        assertThrows(IllegalStateException.class, () -> alloc.directBuffer(64, 64));
    }

    /**
     * A buffer still held when its Sheaf allocator closes: Sheaf keeps its memory mapped while
     * anything can reach it (the buffer holds the allocator), so using the buffer reads the
     * returned (zeroed) pages instead of crashing the JVM, and a release refuses cleanly where it
     * would call into the closed Sheaf. A crash here would end surefire's forked JVM and fail the build.
     */
    @Test
    void buffersHeldAcrossCloseNeverTouchUnmappedMemory() throws Exception {
        ByteBuf plain = alloc.directBuffer(4096, 4096);
        plain.writeLong(7);
        BlockingQueue<ByteBuf> fromLoop = new ArrayBlockingQueue<>(1);
        onLoop(() -> {
            ByteBuf b = alloc.directBuffer(64, 64);
            b.writeLong(9);
            fromLoop.put(b); // its home closes when the loop thread ends
        });
        ByteBuf loop = fromLoop.take();
        sheaf.close();
        for (ByteBuf b : List.of(plain, loop)) {
            b.setLong(0, 42); // mapped: the pages went back to the OS, the range did not
            assertEquals(42, b.getLong(0));
        }
        assertThrows(IllegalStateException.class, plain::release); // frees into the closed Sheaf
        assertThrows(IllegalStateException.class, loop::release); // its home is closed: the same
        assertThrows(IllegalStateException.class, () -> alloc.directBuffer(64, 64));
    }

    /**
     * Two event-loop threads allocate, stamp and hand buffers to each other; the receiver checks the
     * stamp and releases. Invariants: no buffer object and no address is live twice at once, every
     * stamp arrives intact, and all memory is back once both threads ended.
     */
    @Test
    void twoLoopsHandingBuffersToEachOther() throws Exception {
        int perThread = 200_000;
        Set<Long> liveAddresses = ConcurrentHashMap.newKeySet();
        Set<ByteBuf> liveBuffers = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        List<BlockingQueue<ByteBuf>> inbox = List.of(new ArrayBlockingQueue<>(64), new ArrayBlockingQueue<>(64));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicIntegerArray delivered = new AtomicIntegerArray(2);
        AtomicIntegerArray doneSending = new AtomicIntegerArray(2);
        List<Thread> threads = new ArrayList<>();
        for (int me = 0; me < 2; me++) {
            int self = me;
            threads.add(new FastThreadLocalThread(() -> {
                try {
                    BlockingQueue<ByteBuf> mine = inbox.get(self);
                    BlockingQueue<ByteBuf> theirs = inbox.get(1 - self);
                    int sent = 0;
                    int received = 0;
                    for (;;) {
                        if (sent < perThread) {
                            int size = 16 << (sent % 8);
                            ByteBuf b = alloc.directBuffer(size, size);
                            if (!liveBuffers.add(b) || !liveAddresses.add(b.memoryAddress())) {
                                throw new AssertionError("handed out twice: " + b);
                            }
                            b.writeLong(((long) self << 32) | sent);
                            if (theirs.offer(b)) {
                                delivered.incrementAndGet(self);
                            } else {
                                retire(b, liveBuffers, liveAddresses); // their inbox is full: ours to release
                            }
                            if (++sent == perThread) {
                                doneSending.set(self, 1);
                            }
                        }
                        ByteBuf in = mine.poll();
                        if (in != null) {
                            long stamp = in.readLong();
                            if ((stamp >>> 32) != 1 - self) {
                                throw new AssertionError("stamp " + Long.toHexString(stamp));
                            }
                            retire(in, liveBuffers, liveAddresses);
                            received++;
                        } else if (sent == perThread && doneSending.get(1 - self) == 1
                                && received == delivered.get(1 - self)) {
                            break;
                        } else if (sent == perThread) {
                            Thread.onSpinWait();
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    doneSending.set(self, 1);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        for (BlockingQueue<ByteBuf> q : inbox) {
            for (ByteBuf b; (b = q.poll()) != null; ) {
                retire(b, liveBuffers, liveAddresses);
            }
        }
        assertNull(failure.get());
        assertTrue(liveBuffers.isEmpty());
    }

    private static void retire(ByteBuf b, Set<ByteBuf> liveBuffers, Set<Long> liveAddresses) {
        if (!liveAddresses.remove(b.memoryAddress()) || !liveBuffers.remove(b)) {
            throw new AssertionError("released but not live: " + b);
        }
        b.release();
    }
}
