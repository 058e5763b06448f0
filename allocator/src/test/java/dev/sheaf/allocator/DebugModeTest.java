package dev.sheaf.allocator;

import dev.sheaf.allocator.memory.NativeMemory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static dev.sheaf.allocator.SlabCorruptionException.Damage;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Debug mode: one test per detection, each run with debug on (reported) and off (not reported),
 * and the entry points that must run the checks.
 */
class DebugModeTest {

    private static SlabAllocator allocator(boolean debug) {
        return SlabAllocator.builder().capacity(64L << 20).debug(debug).build();
    }

    private static void poke(long address, byte value) {
        NativeMemory.EVERYTHING.set(ValueLayout.JAVA_BYTE, address, value);
    }

    /** Two objects of a 24-byte cache; the higher one, so the byte below it is always slab memory. */
    private static long higherOfTwo(SlabCache c) {
        long x = c.alloc();
        long y = c.alloc();
        return Math.max(x, y);
    }

    private static boolean mentions(Throwable t, String method) {
        return Arrays.stream(t.getStackTrace()).anyMatch(e -> e.getMethodName().equals(method));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void overflowByOneByte(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            SlabCache c = a.createCache("obj24", 24);
            long p = higherOfTwo(c);
            poke(p + 24, (byte) 1);
            if (debug) {
                SlabCorruptionException e = assertThrows(SlabCorruptionException.class, () -> c.free(p));
                assertEquals(Damage.OVERFLOW, e.damage());
                assertEquals(24, e.offset());
                assertEquals(p, e.address());
                assertEquals("obj24", e.cacheName());
                assertTrue(e.getMessage().contains("obj24") && e.getMessage().contains("offset 24"), e.getMessage());
                Throwable alloc = e.getSuppressed()[0];
                assertTrue(alloc.getMessage().startsWith("allocated by thread"), alloc.getMessage());
                assertTrue(mentions(alloc, "higherOfTwo"), "the allocation's stack is attached");
                assertEquals("higherOfTwo", alloc.getStackTrace()[0].getMethodName(), "Sheaf's own frames skipped");
                assertEquals(AllocTracking.DEFAULT_STACK_DEPTH, alloc.getStackTrace().length);
                assertThrows(IllegalStateException.class, () -> c.free(p), "the free completed");
                a.validate(); // repaired: reported once
            } else {
                c.free(p);
                a.validate();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void underflowByOneByte(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            SlabCache c = a.createCache("obj24", 24);
            long p = higherOfTwo(c);
            poke(p - 1, (byte) 1);
            if (debug) {
                SlabCorruptionException e = assertThrows(SlabCorruptionException.class, () -> c.free(p));
                assertEquals(Damage.UNDERFLOW, e.damage());
                assertEquals(-1, e.offset());
            } else {
                c.free(p);
                a.validate();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void mallocRedZoneStartsAtTheRequestedSize(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            long p = a.malloc(10);
            assertEquals(debug ? 10 : 16, a.usableSize(p));
            assertEquals(debug ? 10 : 16, a.segment(p).byteSize());
            poke(p + 10, (byte) 1);
            if (debug) {
                SlabCorruptionException e = assertThrows(SlabCorruptionException.class, () -> a.validate());
                assertEquals(Damage.OVERFLOW, e.damage());
                assertEquals(10, e.offset());
                assertEquals("kmalloc-16", e.cacheName());
                assertThrows(SlabCorruptionException.class, () -> a.free(p));
            } else {
                a.validate();
                a.free(p);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void writeAfterFree(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            SlabCache c = a.createCache("obj48", 48);
            long p = c.alloc();
            c.free(p);
            poke(p + 20, (byte) 1); // the object sits in the quarantine (debug) or a sheaf
            if (debug) {
                SlabCorruptionException e = assertThrows(SlabCorruptionException.class, a::validate);
                assertEquals(Damage.WRITE_AFTER_FREE, e.damage());
                assertEquals(20, e.offset());
                assertEquals(2, e.getSuppressed().length, "allocation and free traces");
                assertTrue(e.getSuppressed()[1].getMessage().startsWith("freed by thread"));
                assertTrue(mentions(e.getSuppressed()[1], "writeAfterFree"));
            } else {
                assertEquals(0, a.validate());
            }
        }
    }

    @Test
    void writeAfterFreeIsReportedWhenTheObjectLeavesTheQuarantine() {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache("obj48", 48);
            long[] objects = new long[DebugChecks.QUARANTINE_BOUND + 1];
            for (int i = 0; i < objects.length; i++) {
                objects[i] = c.alloc();
            }
            c.free(objects[0]);
            poke(objects[0] + 40, (byte) 7);
            for (int i = 1; i < objects.length - 1; i++) {
                c.free(objects[i]);
            }
            SlabCorruptionException e = assertThrows(SlabCorruptionException.class,
                    () -> c.free(objects[objects.length - 1]));
            assertEquals(objects[0], e.address());
            assertEquals(Damage.WRITE_AFTER_FREE, e.damage());
            assertEquals(40, e.offset());
            a.validate(); // repaired, every object freed
            assertEquals(0, c.stats().activeObjects());
        }
    }

    @Test
    void writeAfterFreeIsReportedWhenTheObjectIsHandedOutAgain() {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache(CacheSpec.of("nosheaves", 48).withSheafCapacity(0));
            long[] objects = new long[DebugChecks.QUARANTINE_BOUND + 1];
            for (int i = 0; i < objects.length; i++) {
                objects[i] = c.alloc();
            }
            for (long p : objects) {
                c.free(p); // objects[0] leaves the quarantine for its slab's free list (the list head)
            }
            poke(objects[0] + 30, (byte) 9);
            SlabCorruptionException e = assertThrows(SlabCorruptionException.class, c::alloc);
            assertEquals(objects[0], e.address());
            assertEquals(Damage.WRITE_AFTER_FREE, e.damage());
            assertEquals(30, e.offset());
            assertEquals(0, c.stats().activeObjects(), "the damaged object went back, repaired");
            long again = c.alloc();
            a.validate();
            c.free(again);
        }
    }

    @Test
    void validateSkipsNothingWhenIdleAndChecksEveryPlace() {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache("places", 40);
            long[] objects = new long[2000];
            for (int i = 0; i < objects.length; i++) {
                objects[i] = c.alloc();
            }
            for (int i = 0; i < objects.length; i += 2) {
                c.free(objects[i]); // quarantine, then sheaves, barn and slabs
            }
            for (int i = 1; i < objects.length; i += 4) {
                c.freeRcu(objects[i]); // pending, then back after the grace period
            }
            assertEquals(0, a.validate());
            a.rcuBarrier();
            assertEquals(0, a.validate());
        }
    }

    /**
     * validate() while other threads allocate, write whole objects and free (correctly): never a
     * report, whatever it finds in flight. The workers run a fixed number of operations; the
     * validating thread loops until they are done.
     */
    @Test
    void validateNeverReportsObjectsInFlight() throws Exception {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache("busy", 40);
            int workers = 2;
            java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(workers);
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            for (int w = 0; w < workers; w++) {
                final int seed = w;
                Thread t = new Thread(() -> {
                    try {
                        long[] held = new long[64];
                        for (int i = 0; i < 20_000; i++) {
                            int k = (i * 31 + seed) & 63;
                            if (held[k] != 0) {
                                if ((i & 7) == 0) {
                                    c.freeRcu(held[k]);
                                } else {
                                    c.free(held[k]);
                                }
                            }
                            long p = (i & 3) == 0 ? a.malloc(33) : c.alloc();
                            BytePatterns.fill(p, (i & 3) == 0 ? 33 : 40, (byte) i);
                            if ((i & 3) == 0) {
                                a.free(p);
                                held[k] = 0;
                            } else {
                                held[k] = p;
                            }
                        }
                        for (long p : held) {
                            c.free(p);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    } finally {
                        done.countDown();
                    }
                });
                t.start();
            }
            long validations = 0;
            while (done.getCount() > 0) {
                a.validate();
                validations++;
            }
            done.await();
            assertNull(failure.get());
            a.rcuBarrier();
            assertEquals(0, a.validate());
            assertTrue(validations > 0);
        }
    }

    @Test
    void typesafeByRcuCachesAreNotPoisonedButRedZoned() {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache(CacheSpec.of("typesafe", 24).withFlags(SlabFlag.TYPESAFE_BY_RCU));
            long p = higherOfTwo(c);
            c.free(p);
            poke(p + 8, (byte) 1); // a reader may read it; nothing to report
            a.validate();
            long q = higherOfTwo(c);
            poke(q + 24, (byte) 1);
            assertEquals(Damage.OVERFLOW, assertThrows(SlabCorruptionException.class, () -> c.free(q)).damage());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void corruptedFreeLink(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            SlabCache c = a.createCache(CacheSpec.of("nosheaves", 32).withSheafCapacity(0));
            long[] objects = new long[DebugChecks.QUARANTINE_BOUND + 8];
            for (int i = 0; i < objects.length; i++) {
                objects[i] = c.alloc();
            }
            for (long p : objects) {
                c.free(p); // with debug, the first 8 leave the quarantine for their slab
            }
            long victim = objects[1]; // on its slab's free list, linked to objects[0]
            NativeMemory.EVERYTHING.set(ValueLayout.JAVA_LONG_UNALIGNED, victim, 0x1234_5678_9abcL);
            SlabCorruptionException e = assertThrows(SlabCorruptionException.class, a::validate);
            assertEquals(Damage.FREE_LINK, e.damage(), "validate() checks links with debug on or off");
            // The alloc path: debug off repairs silently (a counter), debug on keeps a report.
            long before = c.stats().corruptions();
            long[] again = new long[objects.length];
            for (int i = 0; i < again.length; i++) {
                again[i] = c.alloc();
            }
            assertEquals(before + 1, c.stats().corruptions());
            if (debug) {
                assertEquals(Damage.FREE_LINK, assertThrows(SlabCorruptionException.class, a::validate).damage());
            }
            a.validate();
            for (long p : again) {
                c.free(p);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void doubleFreeAnywhere(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            SlabCache c = a.createCache("obj64", 64);
            long p = c.alloc();
            c.free(p);
            assertDoubleFree(debug, () -> c.free(p));
            assertDoubleFree(debug, () -> a.free(p));
            assertDoubleFree(debug, () -> c.freeBulk(new long[] {p}, 1));
            assertDoubleFree(debug, () -> c.freeRcu(p));
            assertDoubleFree(debug, () -> c.freeNoLock(p));
            try (SlabCache.Local h = c.local()) {
                assertDoubleFree(debug, () -> h.free(p));
            }
            long m = a.malloc(100);
            a.free(m);
            assertDoubleFree(debug, () -> a.free(m));
            try (SlabAllocator.Local h = a.local()) {
                assertDoubleFree(debug, () -> h.free(m));
            }
        }
    }

    private static void assertDoubleFree(boolean debug, org.junit.jupiter.api.function.Executable call) {
        IllegalStateException e = assertThrows(IllegalStateException.class, call);
        if (debug) {
            SlabCorruptionException s = assertInstanceOf(SlabCorruptionException.class, e);
            assertEquals(Damage.DOUBLE_FREE, s.damage());
            assertEquals(2, s.getSuppressed().length, "allocation and first free attached");
        } else {
            assertFalse(e instanceof SlabCorruptionException);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void useOfAFreedSegment(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            long p = a.malloc(40);
            MemorySegment seg = a.segment(p);
            seg.set(ValueLayout.JAVA_INT, 0, 42);
            a.free(p);
            if (debug) {
                assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_INT, 0));
            } else {
                seg.get(ValueLayout.JAVA_INT, 0); // reads whatever is there now
            }
        }
    }

    @Test
    void segmentOfAnRcuFreedObjectClosesAfterTheGracePeriod() {
        try (SlabAllocator a = allocator(true)) {
            long p = a.malloc(40);
            MemorySegment seg = a.segment(p);
            a.freeRcu(p);
            a.rcuBarrier();
            assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_INT, 0));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void leakReportedWithItsAllocationStack(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            SlabCache c = a.createCache("leaky", 40);
            long p = leakOne(c);
            IllegalStateException e = assertThrows(IllegalStateException.class, c::destroy);
            if (debug) {
                assertEquals(1, e.getSuppressed().length);
                assertTrue(mentions(e.getSuppressed()[0], "leakOne"), "the leaked object's allocation stack");
            } else {
                assertEquals(0, e.getSuppressed().length);
            }
            c.free(p);
            c.destroy();
        }
    }

    private static long leakOne(SlabCache c) {
        return c.alloc();
    }

    @Test
    void everyEntryPointRunsTheChecks() {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache("entry", 24);
            // Handle.
            try (SlabCache.Local h = c.local()) {
                long p = h.alloc();
                poke(p + 24, (byte) 1);
                assertThrows(SlabCorruptionException.class, () -> h.free(p));
            }
            // Bulk.
            long[] out = new long[4];
            c.allocBulk(out, 4);
            poke(out[2] - 1, (byte) 1);
            assertEquals(Damage.UNDERFLOW,
                    assertThrows(SlabCorruptionException.class, () -> c.freeBulk(out, 4)).damage());
            // No-lock: the report is kept for validate().
            long q = c.allocNoLock();
            poke(q + 24, (byte) 1);
            c.freeNoLock(q);
            assertEquals(Damage.OVERFLOW, assertThrows(SlabCorruptionException.class, a::validate).damage());
            // freeRcu: checked when the grace period ends, kept for validate().
            long r = c.alloc();
            poke(r + 25, (byte) 1);
            c.freeRcu(r);
            a.rcuBarrier();
            SlabCorruptionException e = assertThrows(SlabCorruptionException.class, a::validate);
            assertEquals(25, e.offset());
            // malloc through a handle and mallocNoLock keep the requested size.
            try (SlabAllocator.Local h = a.local()) {
                long m = h.malloc(5);
                assertEquals(5, a.usableSize(m));
                poke(m + 5, (byte) 1);
                assertThrows(SlabCorruptionException.class, () -> h.free(m));
            }
            long n = a.mallocNoLock(7);
            assertEquals(7, a.usableSize(n));
            a.free(n);
            a.validate();
        }
    }

    private static int quarantined(SlabCache c) {
        return c.debug.quarantine.size();
    }

    /** Fills the quarantine of {@code c} with freshly freed objects, so that the oldest one leaves it. */
    private static long[] allocQuarantineFull(SlabCache c) {
        long[] objects = new long[DebugChecks.QUARANTINE_BOUND];
        for (int i = 0; i < objects.length; i++) {
            objects[i] = c.alloc();
        }
        return objects;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void freeBulkObjectsPassThroughTheQuarantine(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            SlabCache c = a.createCache("bulk", 48);
            long[] first = {c.alloc(), c.alloc()};
            c.freeBulk(first, 2);
            if (debug) {
                assertEquals(2, quarantined(c));
            }
            poke(first[0] + 40, (byte) 7); // a write after free while it waits
            long[] rest = allocQuarantineFull(c);
            if (debug) {
                SlabCorruptionException e = assertThrows(SlabCorruptionException.class,
                        () -> c.freeBulk(rest, rest.length));
                assertEquals(first[0], e.address(), "found as it left the quarantine");
                assertEquals(Damage.WRITE_AFTER_FREE, e.damage());
                assertEquals(DebugChecks.QUARANTINE_BOUND, quarantined(c), "every object was freed");
            } else {
                c.freeBulk(rest, rest.length);
            }
            a.validate();
            a.shrink();
            assertEquals(0, c.stats().activeObjects());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void freeNoLockObjectsPassThroughTheQuarantine(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            SlabCache c = a.createCache("nolock", 48);
            long p = c.alloc();
            c.freeNoLock(p);
            if (debug) {
                assertEquals(1, quarantined(c), "the quarantine's lock was free");
            }
            poke(p + 40, (byte) 7);
            for (long q : allocQuarantineFull(c)) {
                c.freeNoLock(q); // the last one evicts p: reported where nothing may throw
            }
            if (debug) {
                SlabCorruptionException e = assertThrows(SlabCorruptionException.class, a::validate);
                assertEquals(p, e.address());
                assertEquals(Damage.WRITE_AFTER_FREE, e.damage());
            }
            a.validate();
            a.shrink();
            assertEquals(0, c.stats().activeObjects());
        }
    }

    @Test
    void freeNoLockPutsTheObjectWhenTheQuarantineIsBusy() throws Exception {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache("nolock", 48);
            long p = c.alloc();
            java.util.concurrent.locks.ReentrantLock lock = quarantineLock(c);
            java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
            Thread holder = new Thread(() -> {
                lock.lock();
                try {
                    held.countDown();
                    done.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    lock.unlock();
                }
            });
            holder.start();
            held.await();
            try {
                c.freeNoLock(p); // must not wait for the holder
            } finally {
                done.countDown();
                holder.join();
            }
            assertEquals(0, quarantined(c), "put as with debug off");
            assertThrows(SlabCorruptionException.class, () -> c.free(p), "still freed: a second free is refused");
            a.validate();
        }
    }

    private static java.util.concurrent.locks.ReentrantLock quarantineLock(SlabCache c) throws Exception {
        java.lang.reflect.Field f = Quarantine.class.getDeclaredField("lock");
        f.setAccessible(true);
        return (java.util.concurrent.locks.ReentrantLock) f.get(c.debug.quarantine);
    }

    /** freeRcu with rcu sheaves (the default) and without (the engine's per-object release). */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"true,-1", "true,0", "false,-1", "false,0"})
    void rcuFreedObjectsPassThroughTheQuarantine(boolean debug, int sheafCapacity) {
        try (SlabAllocator a = allocator(debug)) {
            SlabCache c = a.createCache(CacheSpec.of("rcu", 48).withSheafCapacity(sheafCapacity));
            long p = c.alloc();
            c.freeRcu(p);
            a.rcuBarrier();
            if (debug) {
                assertEquals(1, quarantined(c), "after its grace period it waits in the quarantine");
            }
            poke(p + 40, (byte) 7);
            long[] rest = allocQuarantineFull(c);
            for (int i = 0; i < rest.length - 1; i++) {
                c.freeRcu(rest[i]);
            }
            a.rcuBarrier();
            if (debug) {
                assertEquals(DebugChecks.QUARANTINE_BOUND, quarantined(c));
                SlabCorruptionException e = assertThrows(SlabCorruptionException.class,
                        () -> c.free(rest[rest.length - 1]));
                assertEquals(p, e.address(), "found as it left the quarantine");
                assertEquals(Damage.WRITE_AFTER_FREE, e.damage());
            } else {
                c.free(rest[rest.length - 1]);
            }
            a.validate();
            a.shrink();
            assertEquals(0, c.stats().activeObjects());
        }
    }

    /**
     * Damage found when a grace period ends cannot be thrown there: it is kept for validate() and
     * published at once (logger and JFR event; the event is what this test reads).
     */
    @Test
    void damageFoundAfterAGracePeriodIsPublishedAtOnce(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        try (SlabAllocator a = allocator(true);
             jdk.jfr.Recording recording = new jdk.jfr.Recording()) {
            recording.enable("dev.sheaf.SlabCorruption");
            recording.start();
            SlabCache c = a.createCache("rcu", 48);
            long p = c.alloc();
            poke(p + 48, (byte) 1);
            c.freeRcu(p);
            a.rcuBarrier();
            recording.stop();
            java.nio.file.Path file = dir.resolve("wt-debug2-corruption.jfr");
            recording.dump(file);
            java.util.List<jdk.jfr.consumer.RecordedEvent> events = jdk.jfr.consumer.RecordingFile.readAllEvents(file);
            // The recording is JVM-wide: other tests' reports and JFR's own events may be in it too.
            java.util.List<jdk.jfr.consumer.RecordedEvent> mine = events.stream()
                    .filter(ev -> ev.getEventType().getName().equals("dev.sheaf.SlabCorruption"))
                    .filter(ev -> ev.getLong("address") == p).toList();
            assertEquals(1, mine.size(), "published before any validate()");
            assertEquals("OVERFLOW", mine.get(0).getString("damage"));
            assertEquals(48, assertThrows(SlabCorruptionException.class, a::validate).offset(), "and kept");
        }
    }

    /** A large allocation (a page span) whose request ends inside a page. */
    private static final long LARGE = 100_000;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void largeOverflowByOneByteIsReportedOnFree(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            long p = allocLarge(a, LARGE);
            assertEquals(debug ? LARGE : 102_400, a.usableSize(p), "debug: the request; else the touched pages");
            assertEquals(debug ? LARGE : 102_400, a.segment(p).byteSize());
            poke(p + LARGE, (byte) 1);
            if (debug) {
                SlabCorruptionException e = assertThrows(SlabCorruptionException.class, () -> a.free(p));
                assertEquals(Damage.OVERFLOW, e.damage());
                assertEquals(LARGE, e.offset());
                assertEquals(p, e.address());
                assertEquals(SpanDebug.NAME, e.cacheName());
                assertTrue(mentions(e.getSuppressed()[0], "allocLarge"), "the allocation's stack is attached");
                assertEquals(0, a.stats().largeAllocations(), "the free completed");
            } else {
                a.free(p);
            }
            a.validate();
        }
    }

    private static long allocLarge(SlabAllocator a, long size) {
        return a.malloc(size);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void largeOverflowIsFoundByValidate(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            long p = a.malloc(LARGE);
            poke(p + LARGE + 2000, (byte) 1); // inside the last touched page
            if (debug) {
                SlabCorruptionException e = assertThrows(SlabCorruptionException.class, a::validate);
                assertEquals(Damage.OVERFLOW, e.damage());
                assertEquals(LARGE + 2000, e.offset());
                assertThrows(SlabCorruptionException.class, () -> a.free(p));
            } else {
                assertEquals(0, a.validate());
                a.free(p);
            }
        }
    }

    @Test
    void aPageMultipleLargeRequestStillHasATailRedZone() {
        try (SlabAllocator a = allocator(true)) {
            long size = 2 * PageSource.BLOCK_SIZE; // whole blocks: the zone gets pages of its own
            long p = a.malloc(size);
            assertEquals(size, a.usableSize(p));
            poke(p + size, (byte) 1);
            assertEquals(size, assertThrows(SlabCorruptionException.class, () -> a.free(p)).offset());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void largeDamageFoundByFreeNoLockOrAGracePeriodIsKeptForValidate(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            long p = a.mallocNoLock(LARGE);
            long q = a.malloc(LARGE + 1);
            poke(p + LARGE, (byte) 1);
            poke(q + LARGE + 1, (byte) 2);
            a.freeNoLock(p);
            a.freeRcu(q);
            a.rcuBarrier();
            if (debug) {
                SlabCorruptionException first = assertThrows(SlabCorruptionException.class, a::validate);
                assertEquals(p, first.address(), "the first report kept");
                assertEquals(LARGE, first.offset());
            }
            assertEquals(0, a.validate());
            a.shrink(); // releases the span deferred by freeNoLock
            assertEquals(0, a.stats().largeAllocations());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void useOfAFreedLargeSegment(boolean debug) {
        try (SlabAllocator a = allocator(debug)) {
            long p = a.malloc(LARGE);
            MemorySegment seg = a.segment(p);
            seg.set(ValueLayout.JAVA_INT, 0, 42);
            a.free(p);
            if (debug) {
                assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_INT, 0));
            } else {
                seg.get(ValueLayout.JAVA_INT, 0); // the pages went back: reads a zero page
            }
            long q = a.malloc(LARGE);
            MemorySegment rcu = a.segment(q);
            a.freeRcu(q);
            a.rcuBarrier();
            if (debug) {
                assertThrows(IllegalStateException.class, () -> rcu.get(ValueLayout.JAVA_INT, 0));
            }
        }
    }

    @Test
    void largeRecordsAreDroppedWhenTheSpanIsReleased() {
        try (SlabAllocator a = allocator(true)) {
            for (int i = 0; i < 100; i++) {
                long p = a.malloc(LARGE + i * 4096L);
                long q = a.mallocNoLock(LARGE);
                a.free(p);
                a.freeNoLock(q);
                a.validate();
            }
            a.shrink(); // releases the spans deferred by freeNoLock
            assertEquals(0, a.stats().largeAllocations());
            assertEquals(0, spanDebug(a).tracking.size());
        }
    }

    private static SpanDebug spanDebug(SlabAllocator a) {
        return a.largeSpans().debug;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3})
    void stackDepthBoundsTheTraces(int depth) {
        try (SlabAllocator a = SlabAllocator.builder().capacity(64L << 20).debug(true).debugStackDepth(depth).build()) {
            SlabCache c = a.createCache("obj24", 24);
            long p = higherOfTwo(c);
            poke(p + 24, (byte) 1);
            SlabCorruptionException e = assertThrows(SlabCorruptionException.class, () -> c.free(p));
            for (Throwable t : e.getSuppressed()) {
                assertEquals(depth, t.getStackTrace().length, t.getMessage());
                assertTrue(t.getMessage().contains("by thread '" + Thread.currentThread().getName() + "' at "),
                        "thread and time are kept at any depth");
            }
            if (depth > 0) {
                assertEquals("higherOfTwo", e.getSuppressed()[0].getStackTrace()[0].getMethodName());
                assertEquals("lambda$stackDepthBoundsTheTraces$0", e.getSuppressed()[1].getStackTrace()[0].getMethodName());
            }
            long m = a.malloc(LARGE);
            poke(m + LARGE, (byte) 1);
            assertEquals(depth, assertThrows(SlabCorruptionException.class, () -> a.free(m))
                    .getSuppressed()[0].getStackTrace().length, "large allocations too");
        }
    }

    @Test
    void stackDepthIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> SlabAllocator.builder().debugStackDepth(-1));
        assertThrows(IllegalArgumentException.class,
                () -> SlabAllocator.builder().debugStackDepth(AllocTracking.MAX_STACK_DEPTH + 1));
    }

    @Test
    void aFreeAfterAGracePeriodKeepsTheEnginesFrames() {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache(CacheSpec.of("rcu", 48).withSheafCapacity(0));
            long p = c.alloc();
            poke(p + 48, (byte) 1);
            c.freeRcu(p);
            a.rcuBarrier();
            SlabCorruptionException e = assertThrows(SlabCorruptionException.class, a::validate);
            Throwable free = e.getSuppressed()[1];
            assertTrue(free.getMessage().startsWith("freed by thread"), free.getMessage());
            assertTrue(free.getStackTrace().length > 0, "a walk of Sheaf frames only keeps them");
        }
    }

    /**
     * A long run in debug mode: records of objects whose slab was released are dropped, so the
     * table holds at most the objects of the slabs the cache still has.
     */
    @Test
    void trackingStaysBoundedThroughSlabReleases() {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache("churn", 200);
            SlabCache other = a.createCache("other", 56); // moves the churn's slabs between rounds
            long[] objects = new long[3000];
            java.util.List<Long> kept = new java.util.ArrayList<>();
            for (int round = 0; round < 30; round++) {
                for (int i = 0; i < objects.length; i++) {
                    objects[i] = c.alloc();
                }
                assertTrue(c.debug.tracking.size() <= objects.length + DebugChecks.QUARANTINE_BOUND);
                kept.add(other.alloc());
                for (long p : objects) {
                    c.free(p);
                }
                a.shrink(); // the quarantine and sheaves go back to slabs, and the empty slabs are released
                assertEquals(0, c.stats().activeObjects());
                assertEquals(0, c.debug.tracking.size(), "round " + round + ": the released slabs' records are gone");
                assertEquals(0, a.validate());
            }
            for (long p : kept) {
                other.free(p);
            }
            other.destroy();
            assertEquals(0, other.debug.tracking.size(), "a destroyed cache's records are gone");
        }
    }

    @Test
    void debugLayoutKeepsAlignmentAndTags() {
        try (SlabAllocator a = allocator(true)) {
            SlabCache c = a.createCache(CacheSpec.of("aligned", 100).withAlignment(64));
            assertEquals(0, c.slotSize() % 64);
            assertTrue(c.slotSize() >= 64 + 100 + RedZones.MIN_RIGHT);
            long[] objects = new long[200];
            for (int i = 0; i < objects.length; i++) {
                objects[i] = c.alloc();
                assertEquals(0, objects[i] % 64);
                assertTrue(c.owns(objects[i]));
            }
            assertNotEquals(0, c.tag, "debug slots stay tag eligible");
            a.validate();
            for (long p : objects) {
                c.free(p);
            }
            a.validate();
            assertThrows(IllegalArgumentException.class, () -> c.free(objects[0] - 8), "a red zone is no object start");
        }
    }

    @Test
    void sizeClassesKeepTheirNaturalAlignmentInDebugMode() {
        try (SlabAllocator a = allocator(true)) {
            for (long size : new long[] {16, 64, 256, 4096, 8192}) {
                long p = a.malloc(size);
                assertEquals(0, p % Math.min(4096, size), "malloc(" + size + ")");
                a.free(p);
            }
            MemorySegment s = a.allocate(100, 64);
            assertEquals(0, s.address() % 64);
            a.free(s);
            a.validate();
        }
    }

    @Test
    void debugSwitches() {
        try (SlabAllocator a = allocator(false)) { // explicit: -Dsheaf.debug=true must not turn it on here
            assertNull(a.createCache("plain", 24).debug);
            assertNotNull(a.createCache(CacheSpec.of("one", 24).withDebug()).debug);
            assertNull(a.sizeClassCache(24).debug);
        }
        try (SlabAllocator a = allocator(true)) {
            assertNotNull(a.createCache("any", 24).debug);
            assertNotNull(a.sizeClassCache(24).debug);
        }
    }
}
