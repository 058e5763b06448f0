package dev.sheaf.bench;

import dev.sheaf.netty.SheafEventLoopThreads;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * JMH's benchmark threads as Netty event-loop-like threads: {@code FastThreadLocalThread}s (on which
 * Netty's {@code Recycler} and the pooled allocator's thread caches work, as on an event loop) that
 * are also Sheaf-aware ({@link SheafEventLoopThreads}). Pass {@code -Djmh.executor=CUSTOM
 * -Djmh.executor.class=dev.sheaf.bench.EventLoopThreadExecutor} to the forked JVM.
 */
public final class EventLoopThreadExecutor extends ThreadPoolExecutor {

    /**
     * A fixed pool of event-loop-like daemon threads.
     *
     * @param maxThreads the number of threads
     * @param prefix the thread name prefix
     */
    public EventLoopThreadExecutor(int maxThreads, String prefix) {
        super(maxThreads, maxThreads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                SheafEventLoopThreads.factory(prefix + "-loop-", true));
    }
}
