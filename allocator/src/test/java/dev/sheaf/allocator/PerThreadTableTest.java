package dev.sheaf.allocator;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class PerThreadTableTest {

    /** 600 live threads (more than the 256 slots): every one finds exactly its own object. */
    @Test
    void collidingLiveThreadsEachSeeTheirOwnObject() throws Exception {
        PerThreadTable<Object> table = new PerThreadTable<>();
        int n = 600;
        CyclicBarrier allInstalled = new CyclicBarrier(n);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Thread t = Thread.ofPlatform().unstarted(() -> {
                try {
                    assertNull(table.get());
                    Object mine = new Object();
                    table.put(mine);
                    allInstalled.await();
                    for (int k = 0; k < 1000; k++) {
                        assertSame(mine, table.get());
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }

    /** A dead thread's slot, once removed, is claimed by a later thread with the same slot. */
    @Test
    void removedSlotIsReusedAndNeverSeenByOthers() throws Exception {
        PerThreadTable<Object> table = new PerThreadTable<>();
        Object first = new Object();
        Thread a = Thread.ofPlatform().start(() -> table.put(first));
        a.join();
        table.remove(a.threadId(), first);
        for (int i = 0; i < 300; i++) {
            Object mine = new Object();
            AtomicReference<Object> seen = new AtomicReference<>();
            AtomicReference<Object> before = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                before.set(table.get());
                table.put(mine);
                seen.set(table.get());
            });
            t.join();
            assertNull(before.get(), "a new thread must not see another thread's object");
            assertSame(mine, seen.get());
            table.remove(t.threadId(), mine);
        }
    }
}
