package dev.sheaf.allocator;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Implementation notes.
 *
 * The ThreadFactory of Sheaf-aware platform threads. Its thread class is final and implements
 * SheafThread, so ThreadMagazines.of recognises it with one exact class compare and reads its
 * table from a final field (no interface call). Threads are not bound to any allocator: the table
 * is indexed by JVM-wide cache indexes, so one thread serves every allocator's caches.
 *
 * Map: factory methods; FactoryThread.
 */
/**
 * Thread factories whose platform threads carry a {@link ThreadMagazines} table: on them the
 * ordinary per-call entry points ({@link SlabCache#alloc()}, {@link SlabCache#free(long)},
 * {@link SlabCache#freeRcu(long)}, {@link SlabAllocator#malloc(long)},
 * {@link SlabAllocator#free(long)}, {@link SlabAllocator#freeRcu(long, long)}) find the thread's
 * magazine without probing a per-cache table. Threads of other frameworks get the same by
 * implementing {@link SheafThread}.
 */
public final class SheafThreads {

    private SheafThreads() {
    }

    /**
     * A factory of platform threads named {@code sheaf-N}, not daemon, normal priority.
     *
     * @return a new thread factory
     */
    public static ThreadFactory factory() {
        return factory("sheaf-", false);
    }

    /**
     * A factory of platform threads named {@code prefix + N}.
     *
     * @param namePrefix the thread name prefix
     * @param daemon whether the threads are daemon threads
     * @return a new thread factory
     * @throws IllegalArgumentException if {@code namePrefix} is null
     */
    public static ThreadFactory factory(String namePrefix, boolean daemon) {
        if (namePrefix == null) {
            throw new IllegalArgumentException("name prefix is null");
        }
        AtomicLong count = new AtomicLong();
        return r -> {
            FactoryThread t = new FactoryThread(r, namePrefix + count.incrementAndGet());
            t.setDaemon(daemon);
            return t;
        };
    }

    /** The factory's thread class; final, so the fast paths recognise it with one class compare. */
    static final class FactoryThread extends Thread implements SheafThread {
        final ThreadMagazines magazines = new ThreadMagazines(this);

        FactoryThread(Runnable task, String name) {
            super(task, name);
        }

        @Override
        public ThreadMagazines sheafMagazines() {
            return magazines;
        }
    }
}
