package dev.sheaf.allocator;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Remote frees under load: producers allocate and stamp objects (owner, sequence), consumers on
 * other threads check the stamp and free them, so nearly every free is remote. Producers and
 * consumers are long-lived platform threads, short-lived platform threads that die right after a
 * hand-over (their inboxes and remote sheaves still in flight), and virtual threads (carrier
 * magazines as homes). Invariants: no address is handed out while it is live (the live map), no
 * stamp changes while its owner holds the object, and at the end every object is back: the cache
 * destroys with none live.
 */
class RemoteFreeStressTest {

    private static final int BATCH = 50;
    private static final int BATCHES_PER_PRODUCER = 1000;
    private static final long STOP = -1;

    private final ConcurrentHashMap<Long, Long> live = new ConcurrentHashMap<>();
    private final BlockingQueue<long[]> handoff = new ArrayBlockingQueue<>(64);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicInteger stamps = new AtomicInteger();
    /** Set by the first consumer that meets STOP: the short-lived consumers stop being replaced. */
    private final AtomicBoolean stopped = new AtomicBoolean();

    @Test
    void objectsCrossThreadsAndComeHomeIntact() throws Exception {
        try (SlabAllocator a = SlabAllocator.builder().capacity(512L << 20).build()) {
            SlabCache cache = a.createCache("remote-stress", 64);
            List<Thread> producers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                int id = i;
                producers.add(Thread.ofPlatform().start(() -> produce(cache, id, BATCHES_PER_PRODUCER)));
            }
            for (int i = 0; i < 2; i++) {
                int id = 10 + i;
                producers.add(Thread.ofVirtual().start(() -> produce(cache, id, BATCHES_PER_PRODUCER)));
            }
            // Short-lived producers: each dies right after its hand-over.
            producers.add(Thread.ofPlatform().start(() -> {
                for (int g = 0; g < 60 && failure.get() == null; g++) {
                    int id = 100 + g;
                    Thread t = Thread.ofPlatform().start(() -> produce(cache, id, 5));
                    join(t);
                }
            }));
            List<Thread> consumers = new ArrayList<>();
            consumers.add(Thread.ofPlatform().start(() -> consume(cache, 1, Integer.MAX_VALUE)));
            consumers.add(Thread.ofVirtual().start(() -> consume(cache, 2, Integer.MAX_VALUE)));
            // Short-lived consumers: each takes a few batches and dies with a partial remote sheaf.
            consumers.add(Thread.ofPlatform().start(() -> {
                for (int g = 0; failure.get() == null; g++) {
                    int id = 1000 + g;
                    Thread t = Thread.ofPlatform().start(() -> consume(cache, id, 3));
                    join(t);
                    if (stopped.get()) {
                        break;
                    }
                }
            }));
            for (Thread t : producers) {
                t.join();
            }
            for (int i = 0; i < 3; i++) {
                handoff.put(new long[] {STOP});
            }
            for (Thread t : consumers) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            long[] batch;
            while ((batch = handoff.poll()) != null) { // whatever the last consumers left
                for (long p : batch) {
                    if (p != STOP) {
                        release(cache, p);
                    }
                }
            }
            assertTrue(live.isEmpty(), live.size() + " objects unaccounted");
            SlabCache.Stats s = cache.stats();
            assertEquals(0, s.activeObjects(), s.toString());
            assertTrue(s.remoteFrees() > 0, "no free was remote: " + s);
            assertTrue(s.inboxTakes() > 0, "no sheaf was taken home: " + s);
            cache.flushAll(true);
            assertEquals(0, cache.liveObjectsExact());
            cache.destroy();
        }
    }

    /**
     * Larson's original form on malloc: two lineages each keep a pool of live objects of random
     * sizes and hand it to a fresh thread every 10 000 replacements, so most frees meet an object
     * of another (live or just dead) thread's home slab while homes are claimed, exhausted and
     * retired under them. Each object carries a stamp its pool slot remembers: a stamp that changed
     * (two holders) or any exception fails the test; at the end nothing is live.
     */
    @Test
    void poolsHandedToFreshThreadsOnMalloc() throws Exception {
        try (SlabAllocator a = SlabAllocator.builder().capacity(512L << 20).build()) {
            Thread[] lineages = new Thread[4];
            for (int l = 0; l < lineages.length; l++) {
                int lineage = l;
                lineages[l] = Thread.ofPlatform().start(() -> {
                    SplittableRandom rnd = new SplittableRandom(lineage);
                    long[] pool = new long[1000];
                    long[] stamp = new long[pool.length];
                    try {
                        for (int i = 0; i < pool.length; i++) {
                            stamp[i] = (long) lineage << 32 | i;
                            pool[i] = stamped(a.malloc(8 + rnd.nextInt(993)), stamp[i]);
                        }
                        for (int g = 0; g < 200 && failure.get() == null; g++) {
                            long seed = rnd.nextLong();
                            Thread t = Thread.ofPlatform().start(() -> {
                                try {
                                    SplittableRandom r = new SplittableRandom(seed);
                                    for (int k = 0; k < 10_000; k++) {
                                        int slot = r.nextInt(pool.length);
                                        checkHead(pool[slot], stamp[slot]);
                                        a.free(pool[slot]);
                                        stamp[slot] += 1L << 40;
                                        pool[slot] = stamped(a.malloc(8 + r.nextInt(993)), stamp[slot]);
                                    }
                                } catch (Throwable e) {
                                    failure.compareAndSet(null, e);
                                }
                            });
                            t.join(); // the pool passes to the next generation across start/join
                        }
                        for (int i = 0; i < pool.length; i++) {
                            checkHead(pool[i], stamp[i]);
                            a.free(pool[i]);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            for (Thread t : lineages) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(0, a.stats().liveBytes(), a.slabinfo());
        }
    }

    private static long stamped(long p, long stamp) {
        MemorySegment.ofAddress(p).reinterpret(8).set(ValueLayout.JAVA_LONG, 0, stamp);
        return p;
    }

    /** A malloc'd object's 8-byte stamp (its size may be 8). */
    private static void checkHead(long p, long stamp) {
        long head = MemorySegment.ofAddress(p).reinterpret(8).get(ValueLayout.JAVA_LONG, 0);
        if (head != stamp) {
            throw new AssertionError(String.format("0x%x: stamp %x, expected %x", p, head, stamp));
        }
    }

    private void produce(SlabCache cache, int id, int batches) {
        try {
            SplittableRandom rnd = new SplittableRandom(id);
            for (int b = 0; b < batches && failure.get() == null; b++) {
                long[] out = new long[BATCH];
                for (int i = 0; i < BATCH; i++) {
                    out[i] = claim(cache.alloc(), id);
                }
                // Some objects the producer frees itself, locally.
                for (int i = 0; i < BATCH; i += 1 + rnd.nextInt(8)) {
                    release(cache, out[i]);
                    out[i] = claim(cache.alloc(), id);
                }
                if (!handoff.offer(out, 30, TimeUnit.SECONDS)) {
                    throw new AssertionError("producer " + id + ": no consumer for 30 s");
                }
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        }
    }

    private void consume(SlabCache cache, int id, int batches) {
        try {
            long[] mine = new long[BATCH];
            for (int b = 0; b < batches; b++) {
                long[] in = handoff.poll(30, TimeUnit.SECONDS);
                if (in == null) {
                    throw new AssertionError("consumer " + id + " starved");
                }
                if (in[0] == STOP) {
                    stopped.set(true);
                    return;
                }
                for (int i = 0; i < in.length; i++) {
                    long p = in[i];
                    int kind = i % 3;
                    if (kind == 2) {
                        checkStamp(p);
                        live.remove(p);
                        cache.freeNoLock(p);
                    } else {
                        release(cache, p);
                    }
                }
                // The consumer's own objects, allocated and freed here (local frees).
                for (int i = 0; i < mine.length; i++) {
                    mine[i] = claim(cache.alloc(), id);
                }
                for (long p : mine) {
                    release(cache, p);
                }
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        }
    }

    /** A fresh object: it must not be live; it gets a stamp only its holder writes. */
    private long claim(long p, int owner) {
        long stamp = (long) owner << 32 | stamps.incrementAndGet();
        Long before = live.putIfAbsent(p, stamp);
        if (before != null) {
            throw new AssertionError(String.format("0x%x handed out while live (stamp %x)", p, before));
        }
        MemorySegment m = MemorySegment.ofAddress(p).reinterpret(64);
        m.set(ValueLayout.JAVA_LONG, 0, stamp);
        m.set(ValueLayout.JAVA_LONG, 56, ~stamp);
        return p;
    }

    private void checkStamp(long p) {
        Long stamp = live.get(p);
        MemorySegment m = MemorySegment.ofAddress(p).reinterpret(64);
        long head = m.get(ValueLayout.JAVA_LONG, 0);
        long tail = m.get(ValueLayout.JAVA_LONG, 56);
        if (stamp == null || head != stamp || tail != ~stamp) {
            throw new AssertionError(String.format("0x%x: stamp %x/%x, expected %s", p, head, ~tail,
                    stamp == null ? "a live object" : Long.toHexString(stamp)));
        }
    }

    private void release(SlabCache cache, long p) {
        checkStamp(p);
        live.remove(p);
        cache.free(p);
    }

    private void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure.compareAndSet(null, e);
        }
    }
}
