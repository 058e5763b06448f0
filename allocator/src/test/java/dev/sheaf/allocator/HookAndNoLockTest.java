package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;
import dev.sheaf.allocator.testing.HeldOnAnotherThread;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.ReentrantLock;

import static org.junit.jupiter.api.Assertions.*;

/** Hooks (leak tracker) and the no-lock path, through the allocator and its caches. */
class HookAndNoLockTest {

    @Test
    void leakTrackerRecordsAndReportsOnClose() {
        List<String> reports = new ArrayList<>();
        LeakTracker tracker = LeakTracker.create(true, reports::add);
        SlabAllocator a = Heaps.small().hook(tracker).build();
        long p = a.malloc(64);
        long q = a.malloc(100_000);
        long r = a.malloc(10);
        a.free(r);
        assertEquals(2, tracker.liveCount());
        assertTrue(tracker.isLive(p) && tracker.isLive(q));
        assertFalse(tracker.leaks().stream().filter(l -> l.address() == p).findFirst().orElseThrow().stack().isEmpty());
        a.close();
        assertEquals(1, reports.size());
        assertTrue(reports.get(0).contains("2 unfreed"), reports.get(0));
        assertEquals(0, tracker.unknownFrees());
    }

    @Test
    void leakTrackerReportsOnDestroy() {
        List<String> reports = new ArrayList<>();
        LeakTracker tracker = LeakTracker.create(false, reports::add);
        try (SlabAllocator a = Heaps.small().hook(tracker).build()) {
            SlabCache c = a.createCache("leaky", 32);
            long p = c.alloc();
            long other = a.malloc(32);
            assertThrows(IllegalStateException.class, c::destroy);
            assertEquals(1, reports.size());
            assertTrue(reports.get(0).contains("'leaky'") && reports.get(0).contains("1 unfreed"), reports.get(0));
            c.free(p);
            c.destroy();
            a.free(other);
        }
    }

    /** RFC part 2: memory from mallocNoLock passed to free/freeRcu with the leak tracker on. */
    @Test
    void mallocNoLockThenFreeWithLeakTracker() {
        List<String> reports = new ArrayList<>();
        LeakTracker tracker = LeakTracker.create(false, reports::add);
        SlabAllocator a = Heaps.small().hook(tracker).build();
        long[] objs = new long[200];
        for (int i = 0; i < objs.length; i++) {
            objs[i] = a.mallocNoLock(64 + (i % 3) * 64);
            assertNotEquals(0, objs[i]);
        }
        assertEquals(0, tracker.liveCount(), "the no-lock path skips the locking alloc hook");
        for (int i = 0; i < 100; i++) {
            a.free(objs[i]);
        }
        for (int i = 100; i < 150; i++) {
            a.freeNoLock(objs[i]);
        }
        assertEquals(150, tracker.unknownFrees(), "unknown objects are accepted");
        long big = a.mallocNoLock(300_000);
        assertNotEquals(0, big);
        a.free(big);
        for (int i = 150; i < 200; i++) {
            a.free(objs[i]);
        }
        assertEquals(0, a.stats().liveBytes());
        a.close();
        assertTrue(reports.isEmpty(), "no false leak report: " + reports);
    }

    @Test
    void mallocNoLockThenFreeRcuWithLeakTracker() {
        List<String> reports = new ArrayList<>();
        LeakTracker tracker = LeakTracker.create(false, reports::add);
        SlabAllocator a = Heaps.small().hook(tracker).build();
        List<Long> objs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            objs.add(a.mallocNoLock(64));
        }
        long tracked = a.malloc(64);
        for (int i = 0; i < 100; i++) {
            a.freeRcu(objs.get(i), 8);          // rcu sheaf
        }
        for (int i = 100; i < 200; i++) {
            a.freeRcu(objs.get(i));             // headless
        }
        for (int i = 200; i < 300; i++) {
            a.freeRcuNoLock(objs.get(i), 8);    // chain / deferred
        }
        a.freeRcu(tracked, 8);
        a.rcuBarrier();
        assertEquals(0, tracker.liveCount());
        assertEquals(300, tracker.unknownFrees());
        assertEquals(0, a.stats().liveBytes());
        a.close();
        assertTrue(reports.isEmpty(), "no false leak report: " + reports);
    }

    @Test
    void freeNoLockDefersWhenLocksAreBusyAndNothingIsLost() throws Exception {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache(CacheSpec.of("nl", 64).withSheafCapacity(0));
            long[] objs = new long[1000];
            c.allocBulk(objs, objs.length);
            ReentrantLock node = nodeLockOf(c);
            try (HeldOnAnotherThread ignored = HeldOnAnotherThread.lock(node)) {
                for (long p : objs) {
                    c.freeNoLock(p);
                }
                assertEquals(0, c.allocNoLock(), "no-lock alloc cannot wait for the node lock");
                assertEquals(1000, c.node.deferredCount());
            }
            // An ordinary operation drains the list.
            long p = c.alloc();
            assertEquals(0, c.node.deferredCount());
            c.free(p);
            assertEquals(0, c.liveObjectsExact());
            c.destroy();
        }
    }

    @Test
    void freeNoLockDefersWhenAHookIsBusy() throws Exception {
        LeakTracker tracker = LeakTracker.create(false, s -> { });
        try (SlabAllocator a = Heaps.small().hook(tracker).build()) {
            long[] objs = new long[100];
            for (int i = 0; i < objs.length; i++) {
                objs[i] = a.malloc(64);
            }
            ReentrantLock hookLock = lockOf(tracker);
            try (HeldOnAnotherThread ignored = HeldOnAnotherThread.lock(hookLock)) {
                for (long p : objs) {
                    a.freeNoLock(p);
                }
            }
            assertEquals(100, tracker.liveCount(), "hooks did not run yet");
            a.shrink();
            assertEquals(0, tracker.liveCount(), "the drain ran the hooks once");
            assertEquals(0, tracker.unknownFrees());
            assertEquals(0, a.stats().liveBytes());
        }
    }

    @Test
    void mallocNoLockRetriesTheNextSizeClass() throws Exception {
        try (SlabAllocator a = Heaps.small().build()) {
            // Warm the 112-byte class (the next one after 96) so it has free objects.
            long w = a.malloc(112);
            a.free(w);
            SlabCache c96 = a.sizeClassCache(96);
            ReentrantLock node = nodeLockOf(c96);
            long p;
            try (HeldOnAnotherThread ignored = HeldOnAnotherThread.lock(node)) {
                p = a.mallocNoLock(96);
            }
            assertNotEquals(0, p);
            assertEquals(112, a.usableSize(p));
            a.free(p);
        }
    }

    /** Every lock the no-lock path could want is held elsewhere: it must neither block nor lose anything. */
    @Test
    void noLockPathNeverBlocksWhileEveryLockIsHeld() throws Exception {
        LeakTracker tracker = LeakTracker.create(false, s -> { });
        try (SlabAllocator a = Heaps.small().hook(tracker).build()) {
            SlabCache c = a.sizeClassCache(64);
            SlabCache next = a.sizeClassCache(72);
            ReentrantLock[] locks = {nodeLockOf(c), nodeLockOf(next), barnLockOf(c), barnLockOf(next),
                    pageLockOf(a), lockOf(tracker)};
            CountDownLatch warmed = new CountDownLatch(1);
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread holder = Thread.ofPlatform().start(() -> {
                try {
                    warmed.await();
                    for (ReentrantLock l : locks) {
                        l.lock();
                    }
                    try {
                        held.countDown();
                        release.await();
                    } finally {
                        for (ReentrantLock l : locks) {
                            l.unlock();
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            List<Long> got = new ArrayList<>();
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            Thread worker = Thread.ofPlatform().start(() -> {
                try {
                    long[] warm = new long[100];
                    for (int i = 0; i < warm.length; i++) {
                        warm[i] = a.malloc(64);
                    }
                    for (long p : warm) {
                        a.free(p);
                    }
                    warmed.countDown();
                    held.await();
                    long p;
                    while ((p = a.mallocNoLock(64)) != 0) {
                        got.add(p);
                    }
                    if (a.mallocNoLock(200_000) != 0) {
                        throw new AssertionError("a span needs the page lock");
                    }
                    for (long q : got) {
                        a.freeNoLock(q);
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            worker.join(30_000); // hang detection only
            boolean blocked = worker.isAlive();
            release.countDown();
            holder.join();
            worker.join();
            assertFalse(blocked, "the no-lock path blocked on a held lock");
            assertNull(failure.get());
            assertTrue(got.size() >= 60, "the magazine served without locks: " + got.size());
            a.shrink();
            assertEquals(0, a.stats().liveBytes());
            assertEquals(0, tracker.liveCount());
        }
    }

    // The locks the no-lock paths must never wait for, reached through package-private fields.

    static ReentrantLock barnLockOf(SlabCache c) {
        return c.barn.lock;
    }

    static ReentrantLock pageLockOf(SlabAllocator a) {
        return a.pages().lock;
    }

    static ReentrantLock nodeLockOf(SlabCache c) {
        return c.node.lock;
    }

    static ReentrantLock lockOf(LeakTracker t) {
        return t.lock;
    }
}
