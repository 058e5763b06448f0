package dev.sheaf.bench.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class HandleTableTest {

    @Test
    void acquireReleaseRoundTrip() {
        HandleTable t = new HandleTable(4);
        Object a = new Object();
        long h = t.acquire(a, 1234);
        assertEquals(1234, t.address(h));
        assertSame(a, t.release(h));
        assertEquals(0, t.live());
        assertThrows(IllegalStateException.class, () -> t.release(h));
    }

    @Test
    void fullTableIsOutOfMemoryAndRecovers() {
        HandleTable t = new HandleTable(3);
        long[] hs = {t.acquire("a", 1), t.acquire("b", 2), t.acquire("c", 3)};
        assertThrows(OutOfMemoryError.class, () -> t.acquire("d", 4));
        t.release(hs[1]);
        assertEquals(hs[1], t.acquire("e", 5));
        assertThrows(IllegalArgumentException.class, () -> new HandleTable(0));
    }

    /** Platform and virtual threads acquire and release concurrently: a handle is never live twice. */
    @Test
    void concurrentUseNeverHandsOutALiveHandle() throws InterruptedException {
        int capacity = 64;
        HandleTable t = new HandleTable(capacity);
        AtomicIntegerArray owners = new AtomicIntegerArray(capacity + 1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] threads = new Thread[4];
        for (int i = 0; i < threads.length; i++) {
            int id = i + 1;
            Runnable r = () -> {
                try {
                    long[] mine = new long[8];
                    for (int round = 0; round < 20_000; round++) {
                        for (int k = 0; k < mine.length; k++) {
                            mine[k] = t.acquire(id, id);
                            if (!owners.compareAndSet((int) mine[k], 0, id)) {
                                throw new AssertionError("handle " + mine[k] + " live twice");
                            }
                        }
                        for (long h : mine) {
                            owners.set((int) h, 0);
                            assertEquals(id, t.release(h));
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            };
            threads[i] = i % 2 == 0 ? Thread.ofPlatform().start(r) : Thread.ofVirtual().start(r);
        }
        for (Thread th : threads) {
            th.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertEquals(0, t.live());
    }
}
