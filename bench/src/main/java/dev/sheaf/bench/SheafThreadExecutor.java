package dev.sheaf.bench;

import dev.sheaf.allocator.SheafThreads;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * JMH's benchmark threads as Sheaf-aware threads: pass {@code -Djmh.executor=CUSTOM
 * -Djmh.executor.class=dev.sheaf.bench.SheafThreadExecutor} to the forked JVM (JMH 1.37 creates it
 * with its {@code (int maxThreads, String prefix)} constructor), and the benchmark methods run on
 * threads of {@link SheafThreads#factory(String, boolean)}.
 */
public final class SheafThreadExecutor extends ThreadPoolExecutor {

    /**
     * A fixed pool of Sheaf-aware daemon threads.
     *
     * @param maxThreads the number of threads
     * @param prefix the thread name prefix
     */
    public SheafThreadExecutor(int maxThreads, String prefix) {
        super(maxThreads, maxThreads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                SheafThreads.factory(prefix + "-sheaf-", true));
    }
}
