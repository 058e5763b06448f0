package dev.sheaf.allocator.testing;

import dev.sheaf.rcu.Rcu;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/** Threads of the stress tests: starters, RCU readers, and the run that stops and joins them. */
public final class StressThreads {

    private StressThreads() {
    }

    /** Starts {@code body} on a new virtual or platform thread; its first failure goes to {@code failure}. */
    public static Thread start(boolean virtual, Runnable body, AtomicReference<Throwable> failure) {
        Runnable r = () -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        };
        return virtual ? Thread.ofVirtual().start(r) : Thread.ofPlatform().start(r);
    }

    /** How long a stress run lasts at least (-Dsheaf.stress.millis). */
    public static final long STRESS_MILLIS = Long.getLong("sheaf.stress.millis", 2000L);

    /** The body of one read section; it runs inside the section and throws when its object changed. */
    public interface ReadSection {
        void read(ThreadLocalRandom rnd);
    }

    /**
     * A reader thread of the safety tests: read sections of {@code flavor} (EBR lock/unlock, or
     * QSBR online with a quiescent state after each) until {@code stop} or a failure. A virtual
     * reader parks between sections: with two carriers and two spinning readers Thread.yield()
     * tends to re-mount the same reader and starve the writers.
     */
    public static void readSections(Rcu rcu, Rcu.Flavor flavor, boolean virtual, AtomicBoolean stop,
                             AtomicReference<Throwable> failure, ReadSection section) {
        if (flavor == Rcu.Flavor.QSBR) {
            rcu.threadOnline();
        }
        try {
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            while (!stop.get() && failure.get() == null) {
                if (flavor == Rcu.Flavor.EBR) {
                    rcu.readLock();
                }
                try {
                    section.read(rnd);
                } finally {
                    if (flavor == Rcu.Flavor.EBR) {
                        rcu.readUnlock();
                    } else {
                        rcu.quiescentState();
                    }
                }
                if (virtual) {
                    LockSupport.parkNanos(20_000);
                }
            }
        } finally {
            if (flavor == Rcu.Flavor.QSBR) {
                rcu.threadOffline();
            }
        }
    }

    /** Stays inside a read section for a random while, sometimes giving up the CPU. */
    public static void dwell(ThreadLocalRandom rnd) {
        for (int k = rnd.nextInt(200); k > 0; k--) {
            Thread.onSpinWait();
        }
        if ((rnd.nextInt() & 63) == 0) {
            Thread.yield();
        }
    }

    /**
     * Lets a stress run last {@code millis}, and longer until every writer is warm (has reached
     * every entry point however loaded the machine is; the test's @Timeout bounds a hang), then
     * stops and joins every thread - also when interrupted by that timeout, so that no reader
     * outlives the memory it reads.
     */
    public static void runStress(long millis, CountDownLatch writersWarm,
                          AtomicReference<Throwable> failure,
                          AtomicBoolean stop, List<Thread> threads)
            throws InterruptedException {
        try {
            Thread.sleep(millis); // duration of the run, not synchronization
            while (!writersWarm.await(100, TimeUnit.MILLISECONDS) && failure.get() == null) {
                // a starved writer still has to reach every entry point
            }
        } finally {
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
        }
    }
}
