package dev.sheaf.rcu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Readers walk an off-heap linked list while writers replace nodes and retire the old ones with
 * call() (or synchronize()), poisoning them when the grace period has passed. A reader that ever sees
 * a poisoned node proves a grace period ended too early. Bounded by {@code sheaf.stress.seconds}
 * (default 2) per case.
 */
@Timeout(120)
class RcuSafetyStressTest {
    static final long SECONDS = Long.getLong("sheaf.stress.seconds", 2);

    // node layout: [0] magic, [8] value, [16] next node offset (0 = end)
    static final long NODE = 24;
    static final long LIVE = 0x11FE_11FE_11FE_11FEL;
    static final long POISON = 0x6B6B_6B6B_6B6B_6B6BL;
    static final int LENGTH = 32;
    static final int NODES = 1 << 17;
    /** Freed nodes are reused only once this many are waiting, so poison stays visible long. */
    static final int REUSE_AFTER = 20_000;
    static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    @ParameterizedTest(name = "{0} readers={1}")
    @CsvSource({"EBR,platform", "EBR,virtual", "QSBR,platform", "QSBR,virtual", "EBR_MEMBARRIER,platform",
            "EBR_MEMBARRIER,virtual"})
    void readersNeverSeePoison(Rcu.Flavor flavor, String readerKind) throws Exception {
        boolean virtual = readerKind.equals("virtual");
        boolean qsbr = flavor == Rcu.Flavor.QSBR;
        try (Arena arena = Arena.ofShared(); Rcu rcu = Rcu.builder().flavor(flavor).name("stress").build()) {
            MemorySegment mem = arena.allocate(NODE * NODES, 8);
            MemorySegment all = mem; // nodes are named by their offset; node 0 is never used, so 0 ends the list
            long base = 0;
            AtomicLong bump = new AtomicLong();
            ConcurrentLinkedQueue<Long> freed = new ConcurrentLinkedQueue<>();
            AtomicLong freedCount = new AtomicLong();
            ReentrantLock writerLock = new ReentrantLock();
            long[] head = new long[1];

            java.util.function.LongSupplier alloc = () -> {
                if (freedCount.get() > REUSE_AFTER) {
                    Long a = freed.poll();
                    if (a != null) {
                        freedCount.decrementAndGet();
                        return a;
                    }
                }
                long i = 1 + bump.getAndIncrement();
                if (i >= NODES) {
                    Long a;
                    while ((a = freed.poll()) == null) {
                        Thread.onSpinWait();
                    }
                    freedCount.decrementAndGet();
                    return a;
                }
                return base + i * NODE;
            };
            // build the list
            long prev = 0;
            for (int i = LENGTH - 1; i >= 0; i--) {
                long n = alloc.getAsLong();
                all.set(ValueLayout.JAVA_LONG, n, LIVE);
                all.set(ValueLayout.JAVA_LONG, n + 8, i);
                all.set(ValueLayout.JAVA_LONG, n + 16, prev);
                prev = n;
            }
            AtomicLong headRef = new AtomicLong(prev);

            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong poisonSeen = new AtomicLong();
            AtomicLong traversals = new AtomicLong();
            AtomicLong retired = new AtomicLong();
            AtomicLong poisoned = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();

            int readers = virtual ? 16 : 2;
            for (int r = 0; r < readers; r++) {
                Runnable reader = () -> {
                    try {
                        if (qsbr) {
                            rcu.threadOnline();
                        }
                        long local = 0;
                        while (!stop.get()) {
                            rcu.readLock();
                            try {
                                long n = headRef.get();
                                int steps = 0;
                                while (n != 0 && steps++ < 4 * LENGTH) {
                                    long magic = (long) LONG.getAcquire(all, n);
                                    if (magic != LIVE) {
                                        poisonSeen.incrementAndGet();
                                    }
                                    n = (long) LONG.getAcquire(all, n + 16);
                                    if (virtual && (steps & 15) == 0) {
                                        Thread.yield(); // may unmount inside the section
                                    }
                                }
                            } finally {
                                rcu.readUnlock();
                            }
                            if (qsbr) {
                                rcu.quiescentState();
                            }
                            local++;
                        }
                        traversals.addAndGet(local);
                        if (qsbr) {
                            rcu.threadOffline();
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                };
                threads.add(TestThreads.start(virtual, reader));
            }
            int writers = 2;
            for (int w = 0; w < writers; w++) {
                boolean useSynchronize = w == 1;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        ThreadLocalRandom rnd = ThreadLocalRandom.current();
                        long ops = 0;
                        while (!stop.get()) {
                            long old;
                            writerLock.lock();
                            try {
                                int pos = rnd.nextInt(LENGTH);
                                long fresh = alloc.getAsLong();
                                long p = 0;
                                long cur = headRef.get();
                                for (int i = 0; i < pos; i++) {
                                    p = cur;
                                    cur = all.get(ValueLayout.JAVA_LONG, cur + 16);
                                }
                                old = cur;
                                all.set(ValueLayout.JAVA_LONG, fresh + 8, all.get(ValueLayout.JAVA_LONG, old + 8));
                                all.set(ValueLayout.JAVA_LONG, fresh + 16, all.get(ValueLayout.JAVA_LONG, old + 16));
                                LONG.setRelease(all, fresh, LIVE);
                                if (p == 0) {
                                    headRef.set(fresh);
                                } else {
                                    LONG.setRelease(all, p + 16, fresh); // rcu_assign_pointer
                                }
                            } finally {
                                writerLock.unlock();
                            }
                            final long victim = old;
                            Runnable poison = () -> {
                                LONG.setRelease(all, victim, POISON);
                                all.set(ValueLayout.JAVA_LONG, victim + 16, 0xBAD0_BAD0L); // wild pointer if followed
                                poisoned.incrementAndGet();
                                freed.add(victim);
                                freedCount.incrementAndGet();
                            };
                            retired.incrementAndGet();
                            if (useSynchronize && (ops & 7) == 0) {
                                rcu.synchronize();
                                poison.run();
                            } else {
                                rcu.call(poison);
                            }
                            ops++;
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            Thread.sleep(SECONDS * 1000);
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            rcu.barrier();
            assertTrue(failures.isEmpty(), failures.size() + " reader/writer failures, first: "
                    + (failures.isEmpty() ? "" : failures.get(0)));
            assertEquals(0, poisonSeen.get(), "readers saw poisoned (freed) nodes");
            assertEquals(retired.get(), poisoned.get());
            assertTrue(traversals.get() > 0 && retired.get() > 0);
            System.out.printf("stress %s/%s: %d traversals, %d nodes retired, %s%n", flavor, readerKind,
                    traversals.get(), retired.get(), rcu.stats());
        }
    }
}
