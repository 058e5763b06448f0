package dev.sheaf.allocator;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Handles, plain calls and Sheaf-aware threads at once: platform threads with handles, factory
 * threads and an interface thread on the plain API, platform threads on the plain API and virtual
 * threads with handles allocate, hand objects to each other and free them (free, freeRcu, through
 * their handle or not). Each address is handed out once at a time (a map of live addresses) and
 * keeps its owner's stamp until freed (ConcurrentStressTest's property). Duration:
 * -Dsheaf.stress.seconds (default 3).
 */
class LocalHandleStressTest {

    private static final long SECONDS = Long.getLong("sheaf.stress.seconds", 3);

    private final ConcurrentHashMap<Long, Long> live = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<long[]> handoff = new ConcurrentLinkedQueue<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    /** How a worker calls the allocator. */
    private enum Mode { HANDLES, PLAIN }

    @Test
    void handlesPlainCallsAndSheafThreadsNeverShareAnObject() throws Exception {
        try (SlabAllocator a = SlabAllocator.builder().capacity(1L << 30).build()) {
            SlabCache cache = a.createCache("local-stress", 72);
            long deadline = System.nanoTime() + SECONDS * 1_000_000_000L;
            List<Thread> threads = new ArrayList<>();
            ThreadFactory factory = SheafThreads.factory("stress-sheaf-", false);
            int id = 1;
            for (int t = 0; t < 2; t++) {
                int me = id++;
                threads.add(Thread.ofPlatform().start(() -> run(a, cache, me, deadline, Mode.HANDLES)));
            }
            for (int t = 0; t < 2; t++) {
                int me = id++;
                threads.add(factory.newThread(() -> run(a, cache, me, deadline, Mode.PLAIN)));
            }
            int loop = id++;
            threads.add(new LocalHandleTest.LoopThread(() -> run(a, cache, loop, deadline, Mode.HANDLES)));
            int plain = id++;
            threads.add(Thread.ofPlatform().unstarted(() -> run(a, cache, plain, deadline, Mode.PLAIN)));
            for (int t = 0; t < 6; t++) {
                int me = id++;
                threads.add(Thread.ofVirtual().unstarted(() -> run(a, cache, me, deadline, Mode.HANDLES)));
            }
            for (Thread t : threads) {
                if (t.getState() == Thread.State.NEW) {
                    t.start();
                }
            }
            for (Thread t : threads) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            long[] batch;
            while ((batch = handoff.poll()) != null) {
                for (long p : batch) {
                    release(a, cache, null, null, p, 0);
                }
            }
            assertTrue(live.isEmpty(), live.size() + " objects unaccounted");
            a.rcuBarrier();
            a.shrink();
            assertEquals(0, a.stats().liveBytes(), a.slabinfo());
            cache.flushAll(true);
            assertEquals(0, cache.liveObjectsExact());
            cache.destroy();
        }
    }

    private void run(SlabAllocator a, SlabCache cache, int id, long deadline, Mode mode) {
        SlabCache.Local ch = mode == Mode.HANDLES ? cache.local() : null;
        SlabAllocator.Local ah = mode == Mode.HANDLES ? a.local() : null;
        try {
            SplittableRandom rnd = new SplittableRandom(id);
            long[] mine = new long[256];
            int n = 0;
            int ops = 0;
            while ((++ops & 255) != 0 || System.nanoTime() < deadline) {
                int op = rnd.nextInt(100);
                if (n < mine.length && op < 45) {
                    boolean fromCache = rnd.nextBoolean();
                    long size = 8 + rnd.nextInt(1200);
                    long p;
                    if (ch != null) {
                        p = fromCache ? ch.alloc() : ah.malloc(size);
                    } else {
                        p = fromCache ? cache.alloc() : a.malloc(size);
                    }
                    claim(a, cache, p, id);
                    mine[n++] = p;
                } else if (op < 55 && n >= 16) {
                    long[] give = new long[16];
                    System.arraycopy(mine, n - 16, give, 0, 16);
                    n -= 16;
                    handoff.add(give);
                } else if (op < 65) {
                    long[] got = handoff.poll();
                    if (got != null) {
                        for (long p : got) {
                            release(a, cache, ch, ah, p, rnd.nextInt(3));
                        }
                    }
                } else if (n > 0) {
                    int i = rnd.nextInt(n);
                    long p = mine[i];
                    mine[i] = mine[--n];
                    release(a, cache, ch, ah, p, rnd.nextInt(3));
                }
                if (Thread.currentThread().isVirtual() && (ops & 63) == 0) {
                    Thread.yield();
                }
                if (ch != null && (ops & 4095) == 0) {
                    // Close and reopen: the sheaves go back while other threads keep going.
                    ch.close();
                    ah.close();
                    ch = cache.local();
                    ah = a.local();
                }
            }
            for (int i = 0; i < n; i++) {
                release(a, cache, ch, ah, mine[i], 0);
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            if (ch != null) {
                ch.close();
                ah.close();
            }
        }
    }

    private static long size(SlabAllocator a, SlabCache cache, long p) {
        return cache.owns(p) ? cache.objectSize() : a.usableSize(p);
    }

    private void claim(SlabAllocator a, SlabCache cache, long p, int owner) {
        long size = size(a, cache, p);
        byte stamp = (byte) (owner * 31 + (p >>> 3));
        Long prev = live.putIfAbsent(p, (size << 8) | (stamp & 0xff));
        if (prev != null) {
            throw new AssertionError(String.format("0x%x handed out while live", p));
        }
        MemorySegment.ofAddress(p).reinterpret(size).fill(stamp);
    }

    /** Checks the stamp and frees: 0 free, 1 freeRcu, 2 the allocator's free; through the handles if given. */
    private void release(SlabAllocator a, SlabCache cache, SlabCache.Local ch, SlabAllocator.Local ah,
                         long p, int how) {
        Long info = live.remove(p);
        if (info == null) {
            throw new AssertionError(String.format("0x%x freed but not live", p));
        }
        long size = info >>> 8;
        byte stamp = (byte) (info & 0xff);
        MemorySegment seg = MemorySegment.ofAddress(p).reinterpret(size);
        long expect = (stamp & 0xffL) * 0x0101010101010101L;
        for (long i = 0; i + 8 <= size; i += 8) {
            long v = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, i);
            if (v != expect) {
                throw new AssertionError(String.format("0x%x byte %d changed while live: %x", p, i, v));
            }
        }
        boolean mineCache = cache.owns(p);
        switch (how) {
            case 0 -> {
                if (mineCache) {
                    if (ch != null) {
                        ch.free(p);
                    } else {
                        cache.free(p);
                    }
                } else if (ah != null) {
                    ah.free(p);
                } else {
                    a.free(p);
                }
            }
            case 1 -> {
                if (mineCache) {
                    if (ch != null) {
                        ch.freeRcu(p);
                    } else {
                        cache.freeRcu(p);
                    }
                } else if (ah != null) {
                    ah.freeRcu(p, 0);
                } else {
                    a.freeRcu(p, 0);
                }
            }
            default -> {
                if (ah != null) {
                    ah.free(p);
                } else {
                    a.free(p);
                }
            }
        }
    }
}
