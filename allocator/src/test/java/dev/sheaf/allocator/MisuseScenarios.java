package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;
import dev.sheaf.allocator.testing.HeldOnAnotherThread;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The misuse scenarios of {@link MisuseCrashTest}, one per child JVM: {@code main(name)} runs one
 * and ends the JVM with {@link ChildMain}'s exit codes. Kept apart from the JUnit class so a
 * scenario that crashes the JVM (today's code does, on several of them) takes only its own JVM.
 *
 * <p>The contract checked: an object start of this allocator that is not allocated now (freed,
 * in a sheaf, pending a grace period, never handed out) gets {@link IllegalStateException} from
 * free, freeNoLock, every freeRcu*, usableSize and segment and nothing else changes; an address that is no
 * object start gets {@link IllegalArgumentException}; a bad rcu link offset gets
 * IllegalArgumentException and leaves the object allocated.
 */
final class MisuseScenarios {

    /** Bound on one blocking call (barrier, join) inside a scenario. */
    static final Duration CALL_LIMIT = Duration.ofSeconds(20);

    private MisuseScenarios() {
    }

    public static void main(String[] args) {
        String name = args[0];
        ChildMain.runAndHalt("scenario " + name, Duration.ofSeconds(Long.getLong("sheaf.scenario.seconds", 90)),
                () -> run(name));
    }

    static void run(String name) throws Throwable {
        switch (name) {
            case "a1" -> a1FreeAfterFreeRcuWithOffset();
            case "a2" -> a2FreeAfterHeadlessFreeRcu();
            case "b" -> b2ndFreeRcuNoLockOnFreshThread();
            case "c" -> c3rdFreeRcuOfSameObject();
            case "d" -> dDoubleFreeNoLock();
            case "e" -> eDestroyWaitsForPendingFreeRcu();
            case "f" -> fCloseRacingWithCallers();
            case "g1" -> g1HeadlessFreeRcuOfNeverHandedOutSlot();
            case "g2" -> g2DoubleFreeNotOnTopOfSheaf();
            case "h" -> hOverflowingLinkOffset();
            case "i" -> iReaderOfDeadThread();
            case "j" -> jDeferredNoLockFreeThenFree();
            case "k" -> kGarbageInPendingLinkField();
            case "l" -> lUsableSizeAndSegmentOfFreedObject();
            case "m" -> mHeadlessFreeRcuInReadSection();
            case "n" -> nDestroyWithLiveObjects();
            case "o" -> oSegmentOutlivesItsAllocator();
            case "p" -> pHandlesUnderMisuse();
            default -> throw new IllegalArgumentException("no scenario " + name);
        }
    }

    // -------------------------------------------------------------------------------------------
    // a. free after freeRcu

    static void a1FreeAfterFreeRcuWithOffset() throws Throwable {
        withEachRcuSheafMode(heap -> {
            long bystander = heap.malloc(64);
            tag(bystander, 64);
            long p = heap.malloc(64);
            heap.freeRcu(p, 8);
            ise("free(p) after freeRcu(p, 8)", () -> heap.free(p));
            barrier(heap);
            checkTag(bystander, 64);
            heap.free(bystander);
            churn(heap, 64, 2000, Set.of());
            assertNothingLeft(heap, "live bytes after everything was freed", "rcuStats().freeErrors");
        });
    }

    static void a2FreeAfterHeadlessFreeRcu() throws Throwable {
        withEachRcuSheafMode(heap -> {
            long bystander = heap.malloc(64);
            tag(bystander, 64);
            long p = heap.malloc(64);
            heap.freeRcu(p);
            ise("free(p) after headless freeRcu(p)", () -> heap.free(p));
            barrier(heap);
            checkTag(bystander, 64);
            churn(heap, 64, 2000, Set.of(bystander));
            heap.free(bystander);
            assertNothingLeft(heap, "live bytes after everything was freed", "rcuStats().freeErrors");
        });
    }

    // -------------------------------------------------------------------------------------------
    // b. freeRcuNoLock twice on a fresh thread

    static void b2ndFreeRcuNoLockOnFreshThread() throws Throwable {
        withEachRcuSheafMode(heap -> {
            long p = heap.malloc(64);
            AtomicReference<Throwable> second = new AtomicReference<>();
            onFreshThread("freeRcuNoLock(p, 0) twice", () -> {
                heap.freeRcuNoLock(p, 0);
                try {
                    heap.freeRcuNoLock(p, 0);
                } catch (Throwable t) {
                    second.set(t);
                }
        });
        assertInstanceOf(IllegalStateException.class, second.get(),
                "second freeRcuNoLock(p, 0) must throw IllegalStateException, got " + second.get());
        barrier(heap);
        ise("free(p) after the barrier", () -> heap.free(p));
        churn(heap, 64, 1000, Set.of());
        assertNothingLeft(heap, "live bytes", "rcuStats().freeErrors");
        });
    }

    // -------------------------------------------------------------------------------------------
    // c. freeRcu(q, 8); freeRcu(p, 8); freeRcu(p, 8)

    static void c3rdFreeRcuOfSameObject() throws Throwable {
        withEachRcuSheafMode(heap -> {
            long q = heap.malloc(64);
            long p = heap.malloc(64);
            heap.freeRcu(q, 8);
            heap.freeRcu(p, 8);
            ise("third call: freeRcu(p, 8) again", () -> heap.freeRcu(p, 8));
            barrier(heap);
            assertEquals(0, heap.rcuStats().freeErrors(), "rcuStats().freeErrors after the barrier");
            assertEquals(0, heap.rcuStats().pendingObjects(), "rcuStats().pendingObjects after the barrier");
            ise("free(q) after the barrier (q must be free)", () -> heap.free(q));
            ise("free(p) after the barrier (p must be free)", () -> heap.free(p));
            churn(heap, 64, 1000, Set.of());
            assertEquals(0, heap.stats().liveBytes(), "live bytes");
        });
    }

    // -------------------------------------------------------------------------------------------
    // d. double freeNoLock

    static void dDoubleFreeNoLock() throws Throwable {
        List<Executable> checks = new ArrayList<>();
        checks.add(() -> {
            try (Closing closing = new Closing(heap(true))) {
                SlabAllocator heap = closing.heap;
                long p = heap.malloc(64);
                heap.freeNoLock(p);
                ise("second freeNoLock(p) of a 64 B object", () -> heap.freeNoLock(p));
                heap.shrink();
                churn(heap, 64, 1000, Set.of());
                assertEquals(0, heap.stats().liveBytes(), "live bytes");
            }
        });
        checks.add(() -> {
            try (Closing closing = new Closing(heap(true))) {
                SlabAllocator heap = closing.heap;
                SlabCache c = heap.createCache(CacheSpec.of("no-sheaves", 64).withSheafCapacity(0));
                long p = c.alloc();
                long other = c.alloc();
                c.freeNoLock(p);
                c.freeNoLock(other);
                ise("second freeNoLock(p) of an object of a cache without sheaves", () -> c.freeNoLock(p));
                heap.shrink();
                assertEquals(0, c.stats().activeObjects(), "active objects");
                c.destroy();
            }
        });
        checks.add(() -> {
            try (Closing closing = new Closing(heap(true))) {
                SlabAllocator heap = closing.heap;
                long span = heap.malloc(1 << 20);
                heap.freeNoLock(span);
                ise("second freeNoLock(span) of a 1 MiB span", () -> heap.freeNoLock(span));
                heap.shrink();
                assertEquals(0, heap.stats().largeAllocations(), "large allocations");
            }
        });
        assertAll("double freeNoLock", checks.stream());
    }

    // -------------------------------------------------------------------------------------------
    // e. destroy waits for pending rcu frees

    static void eDestroyWaitsForPendingFreeRcu() throws Throwable {
        List<Executable> checks = new ArrayList<>();
        for (CacheSpec spec : List.of(CacheSpec.of("e-default", 64),
                CacheSpec.of("e-rcu-link", 64).withRcuLinkOffset(8),
                CacheSpec.of("e-no-sheaves-link", 64).withSheafCapacity(0).withRcuLinkOffset(8),
                CacheSpec.of("e-no-sheaves-headless", 64).withSheafCapacity(0))) {
            checks.add(() -> {
                try (Closing closing = new Closing(heap(true))) {
                    SlabAllocator heap = closing.heap;
                    SlabCache cache = heap.createCache(spec);
                    cache.freeRcu(cache.alloc());
                    try {
                        cache.destroy();
                    } catch (RuntimeException e) {
                        throw new AssertionError("cache.freeRcu(cache.alloc()); cache.destroy() on " + spec.name()
                                + " threw " + e, e);
                    }
                }
            });
        }
        assertAll("destroy after freeRcu", checks.stream());
    }

    // -------------------------------------------------------------------------------------------
    // f. close racing with callers

    static void fCloseRacingWithCallers() throws Throwable {
        for (int round = 0; round < 20; round++) {
            SlabAllocator heap = heap(round % 2 == 0);
            AtomicReference<Throwable> bad = new AtomicReference<>();
            AtomicLong ops = new AtomicLong();
            CountDownLatch started = new CountDownLatch(2);
            Thread[] ts = new Thread[2];
            for (int t = 0; t < 2; t++) {
                int id = t;
                ts[t] = Thread.ofPlatform().name("f-caller-" + t).start(() -> {
                    started.countDown();
                    long i = 0;
                    while (true) {
                        try {
                            long p = heap.malloc(64);
                            if (((i + id) & 1) == 0) {
                                heap.free(p);
                            } else {
                                heap.freeRcu(p, 0);
                            }
                            ops.incrementAndGet();
                        } catch (IllegalStateException e) {
                            if (heap.isClosed()) {
                                return; // a late caller: the documented outcome
                            }
                            // closing but not yet closed: also a late caller
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                            return;
                        }
                        i++;
                    }
                });
            }
            assertTrue(started.await(CALL_LIMIT.toMillis(), TimeUnit.MILLISECONDS), "callers did not start");
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (ops.get() < 2000 && System.nanoTime() < until) {
                Thread.onSpinWait(); // wait until both callers are busy (progress, not a fixed delay)
            }
            Thread closer = Thread.ofPlatform().name("f-closer").start(() -> {
                try {
                    heap.close();
                } catch (IllegalStateException e) {
                    System.out.println("round note: close() threw " + e);
                } catch (Throwable e) {
                    bad.compareAndSet(null, new AssertionError("close() threw " + e, e));
                }
            });
            joinOrFail(closer, "round " + round + ": close() racing with 2 callers");
            for (Thread t : ts) {
                joinOrFail(t, "round " + round + ": caller after close()");
            }
            if (bad.get() != null) {
                throw new AssertionError("round " + round + ": a call racing close() threw something other than"
                        + " IllegalStateException: " + bad.get(), bad.get());
            }
        }
    }

    // -------------------------------------------------------------------------------------------
    // g. never-handed-out slot; double free not on top of a sheaf

    static void g1HeadlessFreeRcuOfNeverHandedOutSlot() throws Throwable {
        withEachRcuSheafMode(heap -> {
            SlabCache cache = heap.createCache("g", 64);
            long a = cache.alloc();
            tag(a, 64);
            long slot = cache.slotSize();
            long x = sameBlockNeighbour(a, slot);
            assertTrue(cache.owns(x), "neighbour slot lies in the cache's slab");
            ise("headless freeRcu of a slot never handed out (0x" + Long.toHexString(x) + ")",
                    () -> heap.freeRcu(x));
            ise("cache.freeRcu of a slot never handed out", () -> cache.freeRcu(x));
            ise("free of a slot never handed out", () -> heap.free(x));
            barrier(heap);
            assertEquals(0, heap.rcuStats().freeErrors(), "rcuStats().freeErrors");
            checkTag(a, 64);
            assertEquals(1, cache.stats().activeObjects(), "active objects: only a");
            // Nothing was freed twice: a whole slab's worth of allocations is distinct and excludes a.
            Set<Long> seen = new HashSet<>();
            long[] objs = new long[cache.objectsPerSlab() * 2];
            for (int i = 0; i < objs.length; i++) {
                objs[i] = cache.alloc();
                assertNotEquals(a, objs[i], "live object a handed out again");
                assertTrue(seen.add(objs[i]), "object handed out twice: 0x" + Long.toHexString(objs[i]));
                fill(objs[i], 64, (byte) i);
            }
            checkTag(a, 64);
            for (long o : objs) {
                cache.free(o);
            }
            cache.free(a);
            cache.destroy();
        });
    }

    static void g2DoubleFreeNotOnTopOfSheaf() throws Throwable {
        List<Executable> checks = new ArrayList<>();
        checks.add(() -> {
            try (Closing closing = new Closing(heap(true))) {
                SlabAllocator heap = closing.heap;
                long a = heap.malloc(64);
                long b = heap.malloc(64);
                heap.free(a);
                heap.free(b);
                ise("free a, free b, free a: third call", () -> heap.free(a));
                churn(heap, 64, 1000, Set.of());
                assertEquals(0, heap.stats().liveBytes(), "live bytes");
            }
        });
        checks.add(() -> {
            try (Closing closing = new Closing(heap(true))) {
                SlabAllocator heap = closing.heap;
                SlabCache c = heap.createCache(CacheSpec.of("g-no-sheaves", 64).withSheafCapacity(0));
                long a = c.alloc();
                long b = c.alloc();
                long keep = c.alloc(); // keeps the slab in use
                c.free(a);
                c.free(b);
                ise("cache without sheaves: free a, free b, free a: third call", () -> c.free(a));
                Set<Long> seen = new HashSet<>();
                for (int i = 0; i < 100; i++) {
                    long o = c.alloc();
                    assertNotEquals(keep, o, "live object handed out again");
                    assertTrue(seen.add(o), "object handed out twice: 0x" + Long.toHexString(o));
                }
                for (long o : seen) {
                    c.free(o);
                }
                c.free(keep);
                c.destroy();
            }
        });
        assertAll("free a, free b, free a", checks.stream());
    }

    // -------------------------------------------------------------------------------------------
    // h. bad link offsets

    static void hOverflowingLinkOffset() throws Throwable {
        List<Executable> checks = new ArrayList<>();
        long[] offsets = {Long.MAX_VALUE - 7, Long.MAX_VALUE, Long.MIN_VALUE, -8, 4, 60, 64, 1L << 40};
        for (boolean sheaves : new boolean[] {true, false}) {
            for (long off : offsets) {
                checks.add(() -> badOffset(sheaves, 64, off, false));
                checks.add(() -> badOffset(sheaves, 64, off, true));
            }
            checks.add(() -> badOffset(sheaves, 1 << 20, Long.MAX_VALUE - 7, false));
            checks.add(() -> badOffset(sheaves, 1 << 20, Long.MAX_VALUE - 7, true));
        }
        assertAll("freeRcu with a bad link offset", checks.stream());
    }

    private static void badOffset(boolean sheaves, long size, long off, boolean noLock) {
        try (Closing closing = new Closing(heap(sheaves))) {
            SlabAllocator heap = closing.heap;
            long p = heap.malloc(size);
            String what = (noLock ? "freeRcuNoLock" : "freeRcu") + "(p, " + off + ") of a " + size
                    + " B object, rcuSheaves=" + sheaves;
            assertThrows(IllegalArgumentException.class,
                    () -> {
                        if (noLock) {
                            heap.freeRcuNoLock(p, off);
                        } else {
                            heap.freeRcu(p, off);
                        }
                    }, what + " must throw IllegalArgumentException");
            assertEquals(heap.usableSize(p), heap.usableSize(p), what + ": p still allocated");
            barrier(heap);
            heap.free(p); // p stayed allocated: an ordinary free succeeds
            assertNothingLeft(heap, what + ": live bytes", what + ": rcuStats().freeErrors");
        }
    }

    // -------------------------------------------------------------------------------------------
    // i. reader of a dead thread

    static void iReaderOfDeadThread() throws Throwable {
        try (Closing closing = new Closing(heap(true))) {
            SlabAllocator heap = closing.heap;
            Rcu rcu = heap.rcu();
            AtomicReference<Rcu.Reader> reader = new AtomicReference<>();
            onFreshThread("register a reader", () -> reader.set(rcu.register()));
            Rcu.Reader r = reader.get();
            boolean locked = false;
            try {
                r.lock();
                locked = true;
            } catch (IllegalStateException expected) {
                // the contract
            } finally {
                if (locked) {
                    r.unlock();
                }
            }
            assertFalse(locked, "lock() of an Rcu.Reader whose registering thread died must throw IllegalStateException");
            // The domain still makes progress.
            long p = heap.malloc(64);
            heap.freeRcu(p, 0);
            barrier(heap);
        }
    }

    // -------------------------------------------------------------------------------------------
    // j. a hook defers freeNoLock; a later free of the same object

    static void jDeferredNoLockFreeThenFree() throws Throwable {
        List<Executable> checks = new ArrayList<>();
        checks.add(() -> {
            try (Closing closing = new Closing(Heaps.small().hook(new RefusingHook()).build())) {
                SlabAllocator heap = closing.heap;
                long span = heap.malloc(1 << 20);
                heap.freeNoLock(span);
                ise("free(span) after a deferred freeNoLock(span)", () -> heap.free(span));
                heap.shrink();
                long s1 = heap.malloc(1 << 20);
                long s2 = heap.malloc(1 << 20);
                assertNotEquals(s1, s2, "one span handed out twice");
                fill(s1, 1 << 20, (byte) 1);
                fill(s2, 1 << 20, (byte) 2);
                heap.free(s1);
                heap.free(s2);
                heap.shrink();
                assertEquals(0, heap.stats().largeAllocations(), "large allocations");
            }
        });
        checks.add(() -> {
            try (Closing closing = new Closing(Heaps.small().hook(new RefusingHook()).build())) {
                SlabAllocator heap = closing.heap;
                long p = heap.malloc(64);
                heap.freeNoLock(p);
                ise("free(p) of a 64 B object after a deferred freeNoLock(p)", () -> heap.free(p));
                heap.shrink();
                churn(heap, 64, 1000, Set.of());
                assertEquals(0, heap.stats().liveBytes(), "live bytes");
            }
        });
        assertAll("deferred freeNoLock then free", checks.stream());
    }

    /** A hook whose no-lock variant never runs: every freeNoLock is deferred. */
    static final class RefusingHook implements SlabHook {
        @Override
        public boolean tryBeforeFree(SlabCache cache, long address, long size) {
            return false;
        }
    }

    // -------------------------------------------------------------------------------------------
    // k. garbage in a pending object's link field

    static void kGarbageInPendingLinkField() throws Throwable {
        List<Executable> checks = new ArrayList<>();
        for (boolean sheaves : new boolean[] {false, true}) {
            checks.add(() -> garbageLink(sheaves, false));
            checks.add(() -> garbageLink(sheaves, true));
        }
        assertAll("garbage in a pending link field", checks.stream());
    }

    private static void garbageLink(boolean sheaves, boolean liveAddress) {
        String what = "rcuSheaves=" + sheaves + ", garbage=" + (liveAddress ? "a live object's address" : "0x4141...");
        try (Closing closing = new Closing(heap(sheaves))) {
            SlabAllocator heap = closing.heap;
            long live = heap.malloc(64);
            tag(live, 64);
            long[] others = new long[16];
            for (int i = 0; i < others.length; i++) {
                others[i] = heap.malloc(64);
            }
            long p = heap.malloc(64);
            for (int i = 0; i < 8; i++) {
                heap.freeRcu(others[i], 8);
            }
            heap.freeRcu(p, 8);
            for (int i = 8; i < others.length; i++) {
                heap.freeRcu(others[i], 8);
            }
            MemorySegment.ofAddress(p).reinterpret(64)
                    .set(ValueLayout.JAVA_LONG, 8, liveAddress ? live : 0x4141414141414141L);
            barrier(heap);
            // p and every other object passed to freeRcu before the barrier are free: only `live` is left.
            assertEquals(0, heap.rcuStats().pendingObjects(), what + ": rcuStats().pendingObjects after the barrier");
            assertEquals(64, heap.stats().liveBytes(), what + ": live bytes after the barrier (only the live object)");
            checkTag(live, 64);
            assertEquals(64, heap.usableSize(live), what + ": the live object is still allocated");
            churn(heap, 64, 1000, Set.of(live));
            heap.free(live);
        }
    }

    // -------------------------------------------------------------------------------------------
    // l. usableSize/segment of a freed or pending object

    static void lUsableSizeAndSegmentOfFreedObject() throws Throwable {
        List<Executable> checks = new ArrayList<>();
        checks.add(() -> {
            try (Closing closing = new Closing(heap(true))) {
                SlabAllocator heap = closing.heap;
                long p = heap.malloc(64);
                heap.free(p);
                ise("usableSize of a freed 64 B object", () -> heap.usableSize(p));
                ise("segment of a freed 64 B object", () -> heap.segment(p));
            }
        });
        checks.add(() -> {
            try (Closing closing = new Closing(heap(true))) {
                SlabAllocator heap = closing.heap;
                long keep = heap.malloc(1 << 20);
                long p = heap.malloc(1 << 20);
                heap.free(p);
                // p's blocks may be retained; whether they are mapped or not, p is no allocation now
                expectEither("usableSize of a freed 1 MiB span", () -> heap.usableSize(p));
                expectEither("segment of a freed 1 MiB span", () -> heap.segment(p));
                heap.free(keep);
            }
        });
        checks.add(() -> {
            try (Closing closing = new Closing(heap(true))) {
                SlabAllocator heap = closing.heap;
                SlabCache c = heap.createCache(CacheSpec.of("l", 48).withSheafCapacity(0));
                long keep = c.alloc();
                long p = c.alloc();
                c.free(p);
                ise("usableSize of a freed cache object", () -> heap.usableSize(p));
                ise("segment of a freed cache object", () -> heap.segment(p));
                c.free(keep);
            }
        });
        for (boolean sheaves : new boolean[] {true, false}) {
            checks.add(() -> {
                try (Closing closing = new Closing(heap(sheaves))) {
                    SlabAllocator heap = closing.heap;
                    long p = heap.malloc(64);
                    try (HeldOnAnotherThread reader = HeldOnAnotherThread.readSection(heap.rcu())) {
                        heap.freeRcu(p, 8);
                        ise("usableSize of an object pending after freeRcu, rcuSheaves=" + sheaves,
                                () -> heap.usableSize(p));
                        ise("segment of an object pending after freeRcu, rcuSheaves=" + sheaves,
                                () -> heap.segment(p));
                    }
                    barrier(heap);
                }
            });
        }
        assertAll("usableSize/segment of objects not allocated", checks.stream());
    }

    /** A freed span's blocks may lie in free memory (IAE) or be detected as freed (ISE); both are errors. */
    private static void expectEither(String what, Executable call) {
        Throwable t = assertThrows(RuntimeException.class, call, what + " must throw");
        assertTrue(t instanceof IllegalStateException || t instanceof IllegalArgumentException,
                what + " threw " + t);
    }

    // -------------------------------------------------------------------------------------------
    // m, n: the remaining contract points with a one-line reproduction

    static void mHeadlessFreeRcuInReadSection() throws Throwable {
        withEachRcuSheafMode(heap -> {
            long p = heap.malloc(64);
            try (Rcu.ReadSection s = heap.rcu().read()) {
                ise("headless freeRcu inside a read section", () -> heap.freeRcu(p));
            }
            heap.rcu().readLock();
            try {
                ise("headless freeRcu inside readLock()", () -> heap.freeRcu(p));
            } finally {
                heap.rcu().readUnlock();
            }
            assertEquals(64, heap.usableSize(p), "p still allocated");
            heap.free(p);
        });
    }

    static void nDestroyWithLiveObjects() throws Throwable {
        try (Closing closing = new Closing(heap(true))) {
            SlabAllocator heap = closing.heap;
            SlabCache c = heap.createCache("n", 64);
            long p = c.alloc();
            long q = c.alloc();
            IllegalStateException e = assertThrows(IllegalStateException.class, c::destroy,
                    "destroy with 2 objects allocated");
            assertTrue(e.getMessage().contains("2"), "message names the count: " + e.getMessage());
            long r = c.alloc(); // still usable
            c.free(p);
            c.free(q);
            c.free(r);
            c.destroy();
            try (Arena arena = Arena.ofConfined()) {
                long foreign = arena.allocate(64).address();
                assertThrows(IllegalArgumentException.class, () -> heap.free(foreign), "free of an Arena address");
            }
        }
    }

    // -------------------------------------------------------------------------------------------
    // Helpers

    /** Closes an allocator on another thread with a bounded wait, so a close that hangs is reported, not waited for. */
    static final class Closing implements AutoCloseable {
        final SlabAllocator heap;

        Closing(SlabAllocator heap) {
            this.heap = heap;
        }

        @Override
        public void close() {
            onFreshThread("close()", heap::close);
        }
    }

    /** Corruptions a cache reported (its counter: readable after close, unlike stats()). */
    private static long corruptionReports(SlabCache c) {
        return c.counters.snapshot()[CacheCounters.C_CORRUPT];
    }

    static SlabAllocator heap(boolean rcuSheaves) {
        return Heaps.small().rcuSheaves(rcuSheaves).build();
    }

    interface BoolBody {
        void run(boolean b) throws Throwable;
    }

    interface HeapBody {
        void run(SlabAllocator heap) throws Throwable;
    }

    /**
     * Runs {@code body} on a fresh heap with rcu sheaves on, then on one with them off, closing each
     * heap on a fresh thread; reports every failing mode.
     */
    static void withEachRcuSheafMode(HeapBody body) {
        each("rcuSheaves", new boolean[] {true, false}, sheaves -> {
            try (Closing closing = new Closing(heap(sheaves))) {
                body.run(closing.heap);
            }
        });
    }

    // -------------------------------------------------------------------------------------------
    // o. a segment from segment()/allocate() used after its allocator is closed and dropped

    static void oSegmentOutlivesItsAllocator() throws Throwable {
        java.util.List<MemorySegment> kept = new java.util.ArrayList<>();
        for (int round = 0; round < 20; round++) {
            SlabAllocator heap = heap(true);
            long p = heap.malloc(64);
            kept.add(heap.segment(p));
            kept.add(heap.allocate(100_000, 8));
            kept.add(heap.allocate(64, 64));
            heap.close();
        }
        // Nothing references the allocators any more; only their segments are left. Collecting
        // must not unmap what a reachable segment covers.
        for (int i = 0; i < 5; i++) {
            System.gc();
        }
        long sum = 0;
        for (MemorySegment s : kept) {
            s.set(ValueLayout.JAVA_LONG, 0, 42); // a use after close: lands in mapped memory
            sum += s.get(ValueLayout.JAVA_LONG, 0);
        }
        assertEquals(42L * kept.size(), sum, "every kept segment is still mapped");
    }

    // -------------------------------------------------------------------------------------------
    // p. the thread-bound handles (SlabCache.Local, SlabAllocator.Local) under the same misuse

    static void pHandlesUnderMisuse() throws Throwable {
        withEachRcuSheafMode(heap -> {
            SlabCache c = heap.createCache("p-handles", 64);
            try (SlabAllocator other = heap(true);
                 SlabCache.Local hc = c.local();
                 SlabAllocator.Local hm = heap.local()) {
                long keep = hc.alloc();
                long keepM = hm.malloc(64);
                MemorySegment.ofAddress(keep).reinterpret(64).set(ValueLayout.JAVA_LONG, 0, 0x5EAF_5EAFL);
                MemorySegment.ofAddress(keepM).reinterpret(64).set(ValueLayout.JAVA_LONG, 0, 0x5EAF_5EAFL);
                // Freed, not on top of the sheaf.
                long p = hc.alloc();
                long q = hc.alloc();
                hc.free(p);
                hc.free(q);
                ise("cache handle: free of a freed object", () -> hc.free(p));
                ise("cache handle: freeRcu of a freed object", () -> hc.freeRcu(p));
                long m = hm.malloc(64);
                long n = hm.malloc(64);
                hm.free(m);
                hm.free(n);
                ise("allocator handle: free of a freed object", () -> hm.free(m));
                ise("allocator handle: freeRcu(a, off) of a freed object", () -> hm.freeRcu(m, 8));
                ise("allocator handle: headless freeRcu of a freed object", () -> hm.freeRcu(m));
                // Pending a grace period.
                long r = hc.alloc();
                hc.freeRcu(r);
                ise("cache handle: free of a pending object", () -> hc.free(r));
                ise("cache handle: freeRcu of a pending object", () -> hc.freeRcu(r));
                long t = hm.malloc(64);
                hm.freeRcu(t, 8);
                ise("allocator handle: free of a pending object", () -> hm.free(t));
                ise("allocator handle: freeRcu of a pending object", () -> hm.freeRcu(t, 8));
                // Foreign, interior, outside any heap.
                long f = other.malloc(64);
                for (long bad : new long[] {f, keep + 16, keep + 8, keepM + 32, 16, -64}) {
                    assertThrows(IllegalArgumentException.class, () -> hc.free(bad), Long.toHexString(bad));
                    assertThrows(IllegalArgumentException.class, () -> hc.freeRcu(bad), Long.toHexString(bad));
                    assertThrows(IllegalArgumentException.class, () -> hm.free(bad), Long.toHexString(bad));
                    assertThrows(IllegalArgumentException.class, () -> hm.freeRcu(bad, 8), Long.toHexString(bad));
                }
                other.free(f);
                barrier(heap);
                // Nothing else changed: the kept objects are intact and free once.
                assertEquals(0x5EAF_5EAFL, MemorySegment.ofAddress(keep).reinterpret(64).get(ValueLayout.JAVA_LONG, 0));
                assertEquals(0x5EAF_5EAFL, MemorySegment.ofAddress(keepM).reinterpret(64).get(ValueLayout.JAVA_LONG, 0));
                hc.free(keep);
                hm.free(keepM);
                ise("cache handle: second free", () -> hc.free(keep));
                ise("allocator handle: second free", () -> hm.free(keepM));
            }
            // A closed handle refuses every call.
            SlabCache.Local closed = c.local();
            long s = closed.alloc();
            closed.close();
            ise("closed cache handle: alloc", closed::alloc);
            ise("closed cache handle: free", () -> closed.free(s));
            c.free(s);
            c.destroy();
        });
        // Handles racing close(): each caller thread works through its own handle; close() on another
        // thread must end every call in IllegalStateException, never in a crash or a hang, and no
        // call may find corruption: a late call reads released memory, and that is not damage.
        for (int round = 0; round < 10; round++) {
            SlabAllocator heap = heap(round % 2 == 0);
            SlabCache cache = heap.createCache("p-race", 64);
            AtomicReference<Throwable> bad = new AtomicReference<>();
            AtomicLong ops = new AtomicLong();
            Thread[] ts = new Thread[2];
            for (int k = 0; k < 2; k++) {
                int id = k;
                ts[k] = Thread.ofPlatform().name("p-caller-" + k).start(() -> {
                    try (SlabCache.Local hc = cache.local(); SlabAllocator.Local hm = heap.local()) {
                        for (long i = 0; ; i++) {
                            long a = hc.alloc();
                            long b = hm.malloc(64);
                            if (((i + id) & 1) == 0) {
                                hc.free(a);
                                hm.free(b);
                            } else {
                                hc.freeRcu(a);
                                hm.freeRcu(b, 8);
                            }
                            ops.incrementAndGet();
                        }
                    } catch (IllegalStateException e) {
                        // the documented outcome of a call racing close()
                    } catch (Throwable e) {
                        bad.compareAndSet(null, e);
                    }
                });
            }
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (ops.get() < 2000 && System.nanoTime() < until) {
                Thread.onSpinWait(); // both callers busy (progress, not a fixed delay)
            }
            Thread closer = Thread.ofPlatform().name("p-closer").start(() -> {
                try {
                    heap.close();
                } catch (IllegalStateException e) {
                    System.out.println("round note: close() threw " + e);
                }
            });
            joinOrFail(closer, "round " + round + ": close() racing with handle callers");
            for (Thread t : ts) {
                joinOrFail(t, "round " + round + ": handle caller after close()");
            }
            if (bad.get() != null) {
                throw new AssertionError("round " + round + ": a handle call racing close() threw something other"
                        + " than IllegalStateException: " + bad.get(), bad.get());
            }
            long reports = 0;
            for (SlabCache k : heap.caches()) { // the size classes and p-race
                reports += corruptionReports(k);
            }
            if (reports != 0) {
                throw new AssertionError("round " + round + ": " + reports + " corruption reports while"
                        + " handle calls raced close()");
            }
        }
    }

    /** Runs {@code body} for each value, reporting every failing value. */
    static void each(String name, boolean[] values, BoolBody body) {
        List<Executable> checks = new ArrayList<>();
        for (boolean v : values) {
            checks.add(() -> {
                try {
                    body.run(v);
                } catch (AssertionError e) {
                    throw new AssertionError(name + "=" + v + ": " + e.getMessage(), e);
                }
            });
        }
        assertAll(checks.stream());
    }

    static void ise(String what, Executable call) {
        Throwable t;
        try {
            call.execute();
            throw new AssertionError(what + ": expected IllegalStateException, but the call returned normally");
        } catch (AssertionError e) {
            throw e;
        } catch (Throwable e) {
            t = e;
        }
        if (!(t instanceof IllegalStateException)) {
            throw new AssertionError(what + ": expected IllegalStateException, got " + t, t);
        }
    }

    /** rcuBarrier on another thread, bounded: a barrier that never returns fails the scenario as a hang. */
    /** Everything was freed (live bytes 0) and the engine reported no free error. */
    static void assertNothingLeft(SlabAllocator heap, String liveWhat, String errorsWhat) {
        assertEquals(0, heap.stats().liveBytes(), liveWhat);
        assertEquals(0, heap.rcuStats().freeErrors(), errorsWhat);
    }

    static void barrier(SlabAllocator heap) {
        onFreshThread("rcuBarrier()", heap::rcuBarrier);
    }

    interface Body {
        void run() throws Throwable;
    }

    static void onFreshThread(String what, Body body) {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().daemon().name("scenario: " + what).start(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        joinOrFail(t, what);
        if (failure.get() instanceof RuntimeException re) {
            throw re;
        }
        if (failure.get() instanceof Error err) {
            throw err;
        }
        if (failure.get() != null) {
            throw new AssertionError(what + " threw " + failure.get(), failure.get());
        }
    }

    static void joinOrFail(Thread t, String what) {
        try {
            if (!t.join(CALL_LIMIT)) {
                StringBuilder sb = new StringBuilder();
                for (StackTraceElement f : t.getStackTrace()) {
                    sb.append("\n    at ").append(f);
                }
                throw new AssertionError("HANG: " + what + " did not return within " + CALL_LIMIT.toSeconds()
                        + " s; its thread is at:" + sb);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for " + what, e);
        }
    }

    /** Allocates {@code count} objects of {@code size}, checks they are distinct and not in {@code live}, writes every byte, frees them. */
    static void churn(SlabAllocator heap, long size, int count, Set<Long> live) {
        Set<Long> seen = new HashSet<>();
        long[] objs = new long[count];
        for (int i = 0; i < count; i++) {
            objs[i] = heap.malloc(size);
            assertFalse(live.contains(objs[i]), "a live object was handed out again: 0x" + Long.toHexString(objs[i]));
            assertTrue(seen.add(objs[i]), "object handed out twice: 0x" + Long.toHexString(objs[i]));
            fill(objs[i], heap.usableSize(objs[i]), (byte) i);
        }
        for (int i = 0; i < count; i++) {
            heap.free(objs[i]);
        }
        for (int i = 0; i < count; i++) {
            long p = heap.malloc(size);
            fill(p, size, (byte) ~i);
            objs[i] = p;
        }
        for (int i = count - 1; i >= 0; i--) {
            heap.free(objs[i]);
        }
    }

    static void fill(long address, long size, byte b) {
        MemorySegment.ofAddress(address).reinterpret(size).fill(b);
    }

    static void tag(long address, long size) {
        MemorySegment s = MemorySegment.ofAddress(address).reinterpret(size);
        for (long o = 0; o + 8 <= size; o += 8) {
            s.set(ValueLayout.JAVA_LONG, o, address ^ o ^ 0x5EAF_5EAF_5EAF_5EAFL);
        }
    }

    static void checkTag(long address, long size) {
        MemorySegment s = MemorySegment.ofAddress(address).reinterpret(size);
        for (long o = 0; o + 8 <= size; o += 8) {
            long v = s.get(ValueLayout.JAVA_LONG, o);
            if (v != (address ^ o ^ 0x5EAF_5EAF_5EAF_5EAFL)) {
                throw new AssertionError(String.format(
                        "live object 0x%x was overwritten at offset %d: 0x%x", address, o, v));
            }
        }
    }

    /** A slot {@code k * slot} away from {@code a} in the same 64 KiB block (so in the same slab). */
    static long sameBlockNeighbour(long a, long slot) {
        long block = a & -65536L;
        for (long k = 1; k < 16; k++) {
            if (((a + k * slot) & -65536L) == block) {
                return a + k * slot;
            }
            if (((a - k * slot) & -65536L) == block) {
                return a - k * slot;
            }
        }
        throw new AssertionError("no neighbour slot in the block of 0x" + Long.toHexString(a));
    }
}
