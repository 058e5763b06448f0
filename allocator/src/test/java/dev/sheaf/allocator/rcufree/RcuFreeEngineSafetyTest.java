package dev.sheaf.allocator.rcufree;

import static dev.sheaf.allocator.testing.StressThreads.*;

import dev.sheaf.allocator.RcuFreeStats;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Engine tests: drive RcuFreeEngine alone through a test RcuFreeTarget (ArenaTarget).
 *
 * <p>The RCU safety property for the engine on its own: readers hold published objects inside read
 * sections and re-check a stamp; writers unpublish, freeRcu through all four entry points and
 * immediately reallocate and restamp whatever the target gives back. An early free shows up as a
 * changed or poisoned stamp inside a section.
 */
class RcuFreeEngineSafetyTest {

    static final long STAMP = 0;
    static final long LINK = 56;

    @Timeout(120)
    @ParameterizedTest(name = "{0} virtual={1}")
    @CsvSource({"EBR, false", "EBR, true", "QSBR, false", "QSBR, true"})
    void readersNeverSeeTheirObjectChange(Rcu.Flavor flavor, boolean virtual) throws Exception {
        long millis = Math.min(STRESS_MILLIS, 2000);
        try (Rcu rcu = Rcu.builder().flavor(flavor).build();
             ArenaTarget target = new ArenaTarget(64, 1 << 16)) {
            RcuFreeEngine engine = new RcuFreeEngine(rcu, target, RcuFreeSettings.DEFAULT.withDrainDelayNanos(100_000L)
                    .withBatchObjects(256).withPendingLimitBytes(1 << 20));
            int slots = 64;
            AtomicLongArray published = new AtomicLongArray(slots);
            AtomicLong stamps = new AtomicLong(1);
            for (int i = 0; i < slots; i++) {
                long a = target.alloc();
                target.setLong(a, STAMP, stamps.getAndIncrement());
                published.set(i, a);
            }
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicLong sections = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                threads.add(start(virtual, () -> readSections(rcu, flavor, virtual, stop, failure, rnd -> {
                    long a = published.get(rnd.nextInt(slots));
                    long s1 = target.getLong(a, STAMP);
                    dwell(rnd); // a virtual reader may even unmount inside its section
                    long s2 = target.getLong(a, STAMP);
                    if (s1 != s2 || s1 == ArenaTarget.POISON) {
                        throw new AssertionError("object 0x" + Long.toHexString(a) + " changed under a reader: "
                                + Long.toHexString(s1) + " -> " + Long.toHexString(s2));
                    }
                    sections.incrementAndGet();
                }), failure));
            }
            Object cache = new Object();
            // Each writer must get through every entry point (the rcu sheaf twice) however loaded
            // the machine is, or the per-channel assertions below would test nothing.
            CountDownLatch writersWarm = new CountDownLatch(2);
            for (int w = 0; w < 2; w++) {
                threads.add(start(virtual, () -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    long[] sheaf = new long[32];
                    int inSheaf = 0;
                    long n = 0;
                    while (!stop.get() && failure.get() == null) {
                        long fresh = target.alloc();
                        if (fresh == 0) {
                            Thread.yield();
                            continue;
                        }
                        target.setLong(fresh, STAMP, stamps.getAndIncrement());
                        long old = published.getAndSet(rnd.nextInt(slots), fresh);
                        if (n == 256) {
                            writersWarm.countDown();
                        }
                        switch ((int) (n++ & 3)) {
                            case 0 -> engine.freeRcu(old, LINK);
                            case 1 -> engine.freeRcu(old);
                            case 2 -> engine.freeRcuNoLock(old, LINK);
                            default -> {
                                // Claimed, as by the allocator's rcu sheaf path.
                                sheaf[inSheaf++] = target.claimAll(old)[0];
                                if (inSheaf == sheaf.length) {
                                    engine.submitRcuSheaf(cache, new TestSheaf(sheaf, inSheaf));
                                    sheaf = new long[32];
                                    inSheaf = 0;
                                }
                            }
                        }
                    }
                    if (inSheaf > 0) {
                        engine.submitRcuSheaf(cache, new TestSheaf(sheaf, inSheaf));
                    }
                }, failure));
            }
            runStress(millis, writersWarm, failure, stop, threads);
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            engine.close();
            assertTrue(target.errors.isEmpty(), () -> target.errors.toString());
            assertEquals(slots, target.liveCount(), "only the published objects stay live");
            RcuFreeStats s = engine.stats();
            assertTrue(sections.get() > 0);
            assertTrue(s.freedByChain() > 0 && s.freedByBulkArray() + s.freedInline() > 0
                    && s.freedByRcuSheaf() > 0, s::toString);
            assertEquals(0, s.pendingObjects(), s::toString);
        }
    }

}
