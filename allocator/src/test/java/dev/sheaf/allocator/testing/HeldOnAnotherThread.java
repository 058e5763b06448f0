package dev.sheaf.allocator.testing;

import dev.sheaf.rcu.Rcu;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Something held by another platform thread - a lock, an RCU read section - from construction
 * until {@link #close()}: for tests that must run against a holder (the no-lock path's fallbacks,
 * a reader that keeps a grace period open).
 */
public final class HeldOnAnotherThread implements AutoCloseable {
    private final CountDownLatch release = new CountDownLatch(1);
    private final Thread holder;

    private HeldOnAnotherThread(Runnable acquire, Runnable releaseIt) throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        holder = Thread.ofPlatform().start(() -> {
            acquire.run();
            try {
                held.countDown();
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                releaseIt.run();
            }
        });
        held.await();
    }

    /** {@code lock} held by another thread until close. */
    public static HeldOnAnotherThread lock(ReentrantLock lock) throws InterruptedException {
        return new HeldOnAnotherThread(lock::lock, lock::unlock);
    }

    /** Another thread inside a read section of {@code rcu} until close. */
    public static HeldOnAnotherThread readSection(Rcu rcu) throws InterruptedException {
        return new HeldOnAnotherThread(rcu::readLock, rcu::readUnlock);
    }

    /** Lets the holder release and waits for it to finish. */
    @Override
    public void close() throws InterruptedException {
        release.countDown();
        holder.join();
    }
}
