package dev.sheaf.bench.harness;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Starts a group of platform threads together, waits for all of them, and rethrows the first
 * failure: the harness's only threading boilerplate.
 */
final class Workers {
    /** Work for one thread; returns the operations it performed. */
    interface Task {
        long run(int index) throws Exception;
    }

    private Workers() {
    }

    /** Runs {@code count} threads named {@code name-i}; returns each one's operation count. */
    static long[] run(String name, int count, Task task) throws InterruptedException {
        long[] ops = new long[count];
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] threads = new Thread[count];
        for (int i = 0; i < count; i++) {
            int index = i;
            threads[i] = Thread.ofPlatform().name(name + "-" + i).unstarted(() -> {
                try {
                    start.await();
                    ops[index] = task.run(index);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            });
            threads[i].start();
        }
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        Throwable t = failure.get();
        if (t != null) {
            if (t instanceof RuntimeException re) {
                throw re;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(name + " failed", t);
        }
        return ops;
    }

    static long sum(long[] values) {
        long s = 0;
        for (long v : values) {
            s += v;
        }
        return s;
    }
}
