package dev.sheaf.allocator;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Platform and virtual threads allocate and free through every entry point (malloc/cache,
 * bulk, no-lock), hand objects to each other for cross-thread frees, and check each object:
 * an address is never live twice (a concurrent map of live addresses), and an object's bytes
 * keep its owner's stamp until it is freed, so no other thread and no allocator link write
 * touched it. A janitor thread shrinks and reads statistics meanwhile. Duration:
 * -Dsheaf.stress.seconds (default 3).
 */
class ConcurrentStressTest {

    private static final long SECONDS = Long.getLong("sheaf.stress.seconds", 3);

    private final ConcurrentHashMap<Long, Long> live = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<long[]> handoff = new ConcurrentLinkedQueue<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    @Test
    void mixedThreadsNeverShareAnObject() throws Exception {
        try (SlabAllocator a = SlabAllocator.builder().capacity(1L << 30).build()) {
            SlabCache cache = a.createCache(CacheSpec.of("stress-obj", 72).withLinkOffset(64));
            long deadline = System.nanoTime() + SECONDS * 1_000_000_000L;
            List<Thread> platform = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int id = t + 1;
                platform.add(Thread.ofPlatform().start(() -> run(a, cache, id, deadline, false)));
            }
            // A janitor shrinks and reads statistics while the others work.
            platform.add(Thread.ofPlatform().start(() -> {
                try {
                    while (System.nanoTime() < deadline) {
                        a.shrink();
                        a.stats();
                        a.slabinfo();
                        java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
            try (ExecutorService vts = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < 16; t++) {
                    int id = 100 + t;
                    fs.add(vts.submit(() -> run(a, cache, id, deadline, true)));
                }
                for (Future<?> f : fs) {
                    f.get();
                }
            }
            for (Thread t : platform) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            // Free what was handed off and never taken.
            long[] batch;
            while ((batch = handoff.poll()) != null) {
                for (long p : batch) {
                    if (p != 0) {
                        release(a, cache, p, 0);
                    }
                }
            }
            assertTrue(live.isEmpty(), live.size() + " objects unaccounted");
            a.shrink();
            assertEquals(0, a.stats().liveBytes(), a.slabinfo());
            cache.flushAll(true);
            assertEquals(0, cache.liveObjectsExact());
            cache.destroy();
        }
    }

    private void run(SlabAllocator a, SlabCache cache, int id, long deadline, boolean virtual) {
        try {
            SplittableRandom rnd = new SplittableRandom(id);
            long[] mine = new long[256];
            int n = 0;
            long[] bulk = new long[32];
            int ops = 0;
            while ((++ops & 255) != 0 || System.nanoTime() < deadline) {
                int op = rnd.nextInt(100);
                if (n < mine.length && op < 45) {
                    long p;
                    int kind = rnd.nextInt(4);
                    if (kind == 0) {
                        p = cache.alloc();
                    } else if (kind == 1) {
                        p = cache.allocNoLock();
                    } else if (kind == 2) {
                        p = a.malloc(8 + rnd.nextInt(1200));
                    } else {
                        p = a.mallocNoLock(8 + rnd.nextInt(300));
                    }
                    if (p != 0) {
                        claim(a, cache, p, id);
                        mine[n++] = p;
                    }
                } else if (op < 50 && n + bulk.length <= mine.length) {
                    cache.allocBulk(bulk, bulk.length);
                    for (long p : bulk) {
                        claim(a, cache, p, id);
                        mine[n++] = p;
                    }
                } else if (op < 60 && n >= 16) {
                    long[] give = new long[16];
                    System.arraycopy(mine, n - 16, give, 0, 16);
                    n -= 16;
                    handoff.add(give);
                } else if (op < 70) {
                    long[] got = handoff.poll();
                    if (got != null) {
                        boolean bulkFree = rnd.nextBoolean();
                        for (long p : got) {
                            release(a, cache, p, bulkFree ? 3 : rnd.nextInt(3));
                        }
                    }
                } else if (n > 0) {
                    int i = rnd.nextInt(n);
                    long p = mine[i];
                    mine[i] = mine[--n];
                    release(a, cache, p, rnd.nextInt(3));
                }
                if (virtual && (ops & 63) == 0) {
                    Thread.yield();
                }
            }
            for (int i = 0; i < n; i++) {
                release(a, cache, mine[i], 0);
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
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

    private void release(SlabAllocator a, SlabCache cache, long p, int how) {
        Long info = live.remove(p);
        if (info == null) {
            throw new AssertionError(String.format("0x%x freed but not live", p));
        }
        long size = info >>> 8;
        byte stamp = (byte) (info & 0xff);
        MemorySegment seg = MemorySegment.ofAddress(p).reinterpret(size);
        for (long i = 0; i < size; i += 8) {
            long v = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, i);
            long expect = (stamp & 0xffL) * 0x0101010101010101L;
            if (v != expect) {
                throw new AssertionError(String.format("0x%x byte %d changed while live: %x", p, i, v));
            }
        }
        boolean mineCache = cache.owns(p);
        switch (how) {
            case 0 -> {
                if (mineCache) {
                    cache.free(p);
                } else {
                    a.free(p);
                }
            }
            case 1 -> {
                if (mineCache) {
                    cache.freeNoLock(p);
                } else {
                    a.freeNoLock(p);
                }
            }
            case 2 -> a.free(p);
            default -> {
                if (mineCache) {
                    cache.freeBulk(new long[] {p}, 1);
                } else {
                    a.free(p);
                }
            }
        }
    }
}
