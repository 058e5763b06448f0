package dev.sheaf.allocator;

import static dev.sheaf.allocator.testing.StressThreads.dwell;
import static dev.sheaf.allocator.testing.StressThreads.readSections;
import static dev.sheaf.allocator.testing.StressThreads.start;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The lock-free rcu sheaf path under real threads: owners alloc and freeRcu (SlabCache.freeRcu
 * with small sheaves, SlabAllocator.freeRcu(a) and freeRcu(a, off) of size-class objects) while
 * one thread loops rcuBarrier, another runs aged passes back to back (as does the drainer, every
 * 200 us), and short-lived owners die holding partly filled sheaves (reclaimed while barriers
 * run). Checked: an address is never handed out while live; an object a reader holds keeps its
 * stamps until the reader leaves; the count of objects freed through rcu sheaves equals the
 * count of freeRcu calls (a double take, e.g. a close without its CAS, breaks it);
 * each barrier frees at least every sheaf object whose freeRcu returned before it began; after a
 * final barrier all memory is back. Runs a fixed number of operations (no sleeps, no timing).
 */
class RcuSheafStealStressTest {

    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    private static final long STAMP = 0;
    private static final long STAMP2 = 16;
    private static final int SLOTS = 64;
    private static final int ROUNDS = 200_000;
    private static final int OWNERS = 3;
    private static final int SHORT_LIVED = 200;

    private final ConcurrentHashMap<Long, Boolean> live = new ConcurrentHashMap<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    /** freeRcu calls that have returned (counted after each return). */
    private final AtomicLong freedCalls = new AtomicLong();
    private final AtomicLong stamps = new AtomicLong(1);

    @Test
    @Timeout(300)
    void ownersBarriersAndTheDrainerNeverLoseOrDoubleFree() throws Exception {
        try (Rcu rcu = Rcu.builder().flavor(Rcu.Flavor.EBR).build();
             SlabAllocator a = SlabAllocator.builder().rcu(rcu).rcuDrainDelay(Duration.ofNanos(200_000))
                     .rcuPendingLimit(4L << 20).build()) {
            long liveBefore = a.stats().liveBytes();
            SlabCache cache = a.createCache(CacheSpec.of("rcu-steal", 64).withSheafCapacity(8));
            AtomicLongArray published = new AtomicLongArray(SLOTS);
            for (int i = 0; i < SLOTS; i++) {
                published.set(i, claim(cache.alloc()));
            }
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> owners = new ArrayList<>();
            for (int w = 0; w < OWNERS; w++) {
                owners.add(start(false, () -> own(a, cache, published, ROUNDS), failure));
            }
            owners.add(start(false, () -> {
                for (int i = 0; i < SHORT_LIVED && failure.get() == null; i++) {
                    Thread t = start(false, () -> own(a, cache, published, 5), failure);
                    join(t); // it dies holding a partly filled rcu sheaf; a later registration reclaims it
                }
            }, failure));
            List<Thread> others = new ArrayList<>();
            AtomicLong barriers = new AtomicLong();
            others.add(start(false, () -> {
                while (!stop.get() && failure.get() == null) {
                    long before = freedCalls.get();
                    a.rcuBarrier();
                    long freed = a.rcuStats().freedByRcuSheaf();
                    if (freed < before) {
                        throw new AssertionError("rcuBarrier returned with " + (before - freed)
                                + " objects of earlier freeRcu calls not freed");
                    }
                    barriers.incrementAndGet();
                }
            }, failure));
            others.add(start(false, () -> {
                // Aged passes back to back (the drainer's run only every 200 us): a sheaf seen
                // twice without a submission is stolen from while its owner appends and closes.
                while (!stop.get() && failure.get() == null) {
                    cache.rcuSheaves.flushAged();
                }
            }, failure));
            others.add(start(false, () -> readSections(rcu, Rcu.Flavor.EBR, false, stop, failure, rnd -> {
                long o = published.get(rnd.nextInt(SLOTS));
                long s1 = ALL.get(ValueLayout.JAVA_LONG, o + STAMP);
                long t1 = ALL.get(ValueLayout.JAVA_LONG, o + STAMP2);
                dwell(rnd);
                long s2 = ALL.get(ValueLayout.JAVA_LONG, o + STAMP);
                long t2 = ALL.get(ValueLayout.JAVA_LONG, o + STAMP2);
                if (s1 != s2 || t1 != t2 || s1 != t1) {
                    throw new AssertionError("object 0x" + Long.toHexString(o) + " changed under a reader: "
                            + s1 + "/" + t1 + " -> " + s2 + "/" + t2);
                }
            }), failure));
            try {
                for (Thread t : owners) {
                    t.join();
                }
            } finally {
                stop.set(true);
                for (Thread t : others) {
                    t.join();
                }
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            a.rcuBarrier();
            RcuFreeStats s = a.rcuStats();
            assertEquals(0, s.pendingObjects(), s::toString);
            assertEquals(0, s.freeErrors(), s::toString);
            assertEquals(freedCalls.get(), s.freedByRcuSheaf(), "every freeRcu went through an rcu sheaf, once");
            assertTrue(barriers.get() > 0);
            for (int i = 0; i < SLOTS; i++) {
                long p = published.get(i);
                live.remove(p);
                a.free(p);
            }
            assertTrue(live.isEmpty(), live.size() + " objects unaccounted");
            assertEquals(0, cache.stats().activeObjects(), () -> cache.stats().toString());
            cache.flushAll(true);
            assertEquals(0, cache.liveObjectsExact());
            a.shrink();
            assertEquals(liveBefore, a.stats().liveBytes(), "nothing leaked or freed twice");
        }
    }

    /** One owner: {@code rounds} times replace a published object and freeRcu the old one, then churn. */
    private void own(SlabAllocator a, SlabCache cache, AtomicLongArray published, int rounds) {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        long[] churn = new long[4];
        for (int n = 0; n < rounds && failure.get() == null; n++) {
            int kind = n % 3;
            long fresh = claim(kind == 0 ? cache.alloc() : a.malloc(64));
            long old = published.getAndSet(rnd.nextInt(SLOTS), fresh);
            release(old);
            if (cache.owns(old)) {
                cache.freeRcu(old);
            } else if ((n & 1) == 0) {
                a.freeRcu(old);
            } else {
                a.freeRcu(old, 8);
            }
            freedCalls.incrementAndGet();
            // Reuse: what comes back early would have its stamps overwritten under a reader.
            for (int i = 0; i < churn.length; i++) {
                churn[i] = claim(cache.alloc());
                ALL.set(ValueLayout.JAVA_LONG, churn[i] + STAMP, -1);
            }
            for (int i = 0; i < churn.length; i++) {
                release(churn[i]);
                cache.free(churn[i]);
            }
        }
    }

    /** A newly allocated object: never live twice; stamped for the readers. */
    private long claim(long p) {
        if (live.putIfAbsent(p, Boolean.TRUE) != null) {
            throw new AssertionError(String.format("0x%x handed out while live", p));
        }
        long stamp = stamps.getAndIncrement();
        ALL.set(ValueLayout.JAVA_LONG, p + STAMP, stamp);
        ALL.set(ValueLayout.JAVA_LONG, p + STAMP2, stamp);
        return p;
    }

    private void release(long p) {
        if (live.remove(p) == null) {
            throw new AssertionError(String.format("0x%x freed but not live", p));
        }
    }

    private static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
