package dev.sheaf.rcu.internal;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class PerThreadTableTest {

    /** An entry owned by the thread that creates it. */
    private static final class Mine extends PerThreadTable.Entry {
        Mine() {
            super(Thread.currentThread().threadId());
        }
    }

    /** 600 live threads (more than the 256 slots): every one finds exactly its own object. */
    @Test
    void collidingLiveThreadsEachSeeTheirOwnObject() throws Exception {
        PerThreadTable<Mine> table = new PerThreadTable<>();
        int n = 600;
        CyclicBarrier allInstalled = new CyclicBarrier(n);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Thread t = Thread.ofPlatform().unstarted(() -> {
                try {
                    assertNull(table.get());
                    Mine mine = new Mine();
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
        PerThreadTable<Mine> table = new PerThreadTable<>();
        AtomicReference<Mine> first = new AtomicReference<>();
        Thread a = Thread.ofPlatform().start(() -> {
            first.set(new Mine());
            table.put(first.get());
        });
        a.join();
        table.remove(first.get());
        for (int i = 0; i < 300; i++) {
            AtomicReference<Mine> mine = new AtomicReference<>();
            AtomicReference<Mine> seen = new AtomicReference<>();
            AtomicReference<Mine> before = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                before.set(table.get());
                mine.set(new Mine());
                table.put(mine.get());
                seen.set(table.get());
            });
            t.join();
            assertNull(before.get(), "a new thread must not see another thread's object");
            assertSame(mine.get(), seen.get());
            table.remove(mine.get());
        }
    }

    /** An entry can only be installed by the thread that owns it. */
    @Test
    void putOfAnotherThreadsEntryIsRejected() throws Exception {
        PerThreadTable<Mine> table = new PerThreadTable<>();
        AtomicReference<Mine> other = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> other.set(new Mine()));
        t.join();
        assertThrows(IllegalArgumentException.class, () -> table.put(other.get()));
        assertNull(table.get());
    }

    /** The static probe on a typed table's probeArray() answers exactly as peek(). */
    @Test
    void probeArrayPeekMatchesPeek() throws Exception {
        PerThreadTable<Mine> table = new PerThreadTable<>(Mine.class);
        Mine[] probe = table.probeArray();
        long tid = Thread.currentThread().threadId();
        assertNull(PerThreadTable.peek(probe, tid));
        Mine mine = new Mine();
        table.put(mine);
        assertSame(mine, table.peek());
        assertSame(mine, PerThreadTable.peek(probe, tid));
        AtomicReference<Mine> seen = new AtomicReference<>(mine);
        Thread t = Thread.ofPlatform().start(() -> seen.set(PerThreadTable.peek(probe,
                Thread.currentThread().threadId())));
        t.join();
        assertNull(seen.get(), "another thread never finds a foreign entry");
        assertThrows(IllegalStateException.class, () -> new PerThreadTable<Mine>().probeArray(),
                "an untyped table has no typed probe array");
    }
}
