package dev.sheaf.netty;

import dev.sheaf.allocator.SheafThread;
import dev.sheaf.allocator.ThreadMagazines;
import io.netty.util.concurrent.FastThreadLocalThread;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Implementation notes.
 *
 * LoopThread is both of the per-thread fast paths at once: a FastThreadLocalThread (Netty's
 * FastThreadLocal and Recycler index an array in the thread) and a SheafThread (Sheaf's per-call
 * malloc/free read the thread's magazine table from a field). Its table is created for itself, as
 * SheafThread's contract requires.
 *
 * Map: factory; LoopThread.
 */
/**
 * Thread factories for Netty event loop groups whose threads reach Sheaf's per-thread magazines
 * with a field load (they implement {@link SheafThread}) and Netty's fast thread-locals (they are
 * {@link FastThreadLocalThread}s), e.g.
 * {@code new MultiThreadIoEventLoopGroup(n, SheafEventLoopThreads.factory("io-", false), NioIoHandler.newFactory())}.
 * On any other thread the allocator is correct, with a per-call table lookup instead.
 */
public final class SheafEventLoopThreads {

    private SheafEventLoopThreads() {
    }

    /**
     * A factory of threads named {@code prefix + N}.
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
            LoopThread t = new LoopThread(r, namePrefix + count.incrementAndGet());
            t.setDaemon(daemon);
            return t;
        };
    }

    /** A Netty fast-thread-local thread carrying its Sheaf magazine table. */
    private static final class LoopThread extends FastThreadLocalThread implements SheafThread {
        private final ThreadMagazines magazines = new ThreadMagazines(this);

        LoopThread(Runnable task, String name) {
            super(task, name);
        }

        @Override
        public ThreadMagazines sheafMagazines() {
            return magazines;
        }
    }
}
