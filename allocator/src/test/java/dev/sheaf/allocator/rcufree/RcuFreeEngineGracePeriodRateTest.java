package dev.sheaf.allocator.rcufree;

import dev.sheaf.allocator.RcuFreeStats;

import dev.sheaf.rcu.Rcu;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Engine tests: drive RcuFreeEngine alone through a test RcuFreeTarget (ArenaTarget).
 *
 * <p>The grace-period request rule under a flood past half the pending bound (GracePeriodRequests
 * notes): grace periods follow memory, not calls, and pending memory stays bounded.
 * Small seals (8-object rcu sheaves, 16-object chain batches) make a per-seal request visible: it
 * would run grace periods back to back.
 */
class RcuFreeEngineGracePeriodRateTest extends RcuFreeEngineTestBase {

    private static final int THREADS = 2;
    private static final int OBJECTS_PER_THREAD = 200_000;
    private static final long LINK = 56;
    private static final long LIMIT = 8L << 20;
    private static final long BATCH_BYTES = LIMIT / 16;
    /** Long enough that the clock allows only a few requests in this run; the memory rule does the rest. */
    private static final long DRAIN_DELAY = 5_000_000_000L;


    @ParameterizedTest
    @ValueSource(strings = {"rcu sheaf", "chain"})
    void floodPastHalfTheBoundCostsGracePeriodsPerMemoryNotPerCall(String path) throws Exception {
        rcu = Rcu.create();
        target = new ArenaTarget(64, 1 << 18);
        // The idle strategy keeps the drainer polling while batches wait (the default one backs off
        // up to a quarter of the long drain delay).
        engine = new RcuFreeEngine(rcu, target, RcuFreeSettings.DEFAULT.withPendingLimitBytes(LIMIT)
                .withDrainDelayNanos(DRAIN_DELAY).withBatchObjects(16)
                .withIdleStrategy(new BackoffIdleStrategy(16, 16, 1_000, 100_000)));
        long gp0 = rcu.stats().gracePeriods();
        AtomicLong submittedBytes = new AtomicLong();
        AtomicLong peak = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Object token = new Object();
        List<Thread> workers = new ArrayList<>();
        long start = System.nanoTime();
        for (int t = 0; t < THREADS; t++) {
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    int done = 0;
                    while (done < OBJECTS_PER_THREAD && failure.get() == null) {
                        int n = path.equals("chain") ? 1 : 8;
                        long[] objects = new long[n];
                        for (int i = 0; i < n; i++) {
                            objects[i] = target.alloc();
                            if (objects[i] == 0) {
                                failure.compareAndSet(null,
                                        new AssertionError("target exhausted: pending memory grew"));
                                return;
                            }
                        }
                        long s = submittedBytes.addAndGet(64L * n);
                        if (n == 1) {
                            engine.freeRcu(objects[0], LINK);
                        } else {
                            engine.submitRcuSheaf(token, new TestSheaf(target.claimAll(objects), n));
                            engine.meetPendingBound();
                        }
                        done += n;
                        peak.accumulateAndGet(s - target.freedBytes.get(), Math::max);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        long elapsed = System.nanoTime() - start;
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        long gracePeriods = rcu.stats().gracePeriods() - gp0;
        RcuFreeStats s = engine.stats();
        long total = (long) THREADS * OBJECTS_PER_THREAD * 64;
        // The rule: one request per drain delay, or past half the bound one per BATCH_BYTES sealed;
        // bound waits share the outstanding one. A few more for the first request and for racing
        // requesters (two callers finding the last request complete at once). Measured: 11-23.
        // The old rule, a request per seal past half the bound, ran up to a few thousand here
        // (how many depends on how often the RCU worker gets a core; every run of this class
        // failed with it, one of its two cases now and then passing).
        long allowed = total / BATCH_BYTES + elapsed / DRAIN_DELAY + 8;
        System.out.printf("%s: %d grace periods (allowed %d), peak pending %d of %d, %d ms, %s%n",
                path, gracePeriods, allowed, peak.get(), LIMIT, elapsed / 1_000_000, s);
        assertTrue(gracePeriods <= allowed, "grace periods " + gracePeriods + " > " + allowed + " for "
                + total / BATCH_BYTES + " x batchBytes sealed in " + elapsed / 1_000_000 + " ms; " + s);
        // Memory bounded all the same: each thread may hold one open batch and one being sealed
        // (a submitted rcu sheaf is smaller), and a flood this long does get past half the bound.
        long slack = 2L * THREADS * BATCH_BYTES;
        assertTrue(peak.get() <= LIMIT + slack, "peak pending " + peak.get() + " > " + (LIMIT + slack) + " " + s);
        assertTrue(s.peakPendingBytes() <= LIMIT + slack, s::toString);
        assertTrue(s.peakPendingBytes() > LIMIT / 2, "the flood got past half the bound: " + s);
        engine.rcuBarrier();
        assertEquals(0, target.liveCount());
        assertEquals(THREADS * OBJECTS_PER_THREAD, engine.stats().freed());
    }
}
