package dev.sheaf.rcu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Dormancy of the domain's own worker: with the dormant bound set to an hour, work queued on a
 * dormant worker can only get done through a wake-up, and an idle worker runs (almost) no cycles.
 * No test calls barrier() before its assertion: barrier wakes the worker itself and would hide a
 * lost wake-up.
 */
@Timeout(120)
class RcuDormancyTest {

    private static final Duration HOUR = Duration.ofHours(1);
    private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(30);

    private static Rcu dormantDomain() {
        Rcu rcu = Rcu.builder().name("dormancy-test").dormantPark(HOUR).build();
        awaitDormant(rcu);
        return rcu;
    }

    /** Polls until the worker has published dormancy; fails after the deadline. */
    private static void awaitDormant(Rcu rcu) {
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        while (!rcu.isWorkerDormant()) {
            if (System.nanoTime() - deadline > 0) {
                fail("worker not dormant after 30 s of idleness; cycles run: " + rcu.workerCycles());
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    void callWakesDormantWorker(boolean virtual) throws Exception {
        try (Rcu rcu = dormantDomain()) {
            CountDownLatch ran = new CountDownLatch(1);
            Runnable producer = () -> rcu.call(ran::countDown);
            Thread t = TestThreads.start(virtual, producer);
            t.join();
            assertTrue(ran.await(30, TimeUnit.SECONDS),
                    "callback queued on a dormant worker (park bound 1 h) did not run within 30 s:"
                            + " the wake-up was lost");
        }
    }

    @Test
    void workerGoesDormantAgainAfterWakeUp() throws Exception {
        try (Rcu rcu = dormantDomain()) {
            for (int round = 0; round < 3; round++) {
                CountDownLatch ran = new CountDownLatch(1);
                rcu.call(ran::countDown);
                assertTrue(ran.await(30, TimeUnit.SECONDS), "round " + round + ": callback did not run within 30 s");
                awaitDormant(rcu);
            }
        }
    }

    @Test
    void startPollWakesDormantWorker() {
        try (Rcu rcu = dormantDomain()) {
            long cookie = rcu.startPoll();
            long deadline = System.nanoTime() + DEADLINE_NANOS;
            while (!rcu.pollState(cookie)) {
                if (System.nanoTime() - deadline > 0) {
                    fail("grace period requested by startPoll() on a dormant worker did not complete within 30 s");
                }
                LockSupport.parkNanos(100_000L);
            }
        }
    }

    @Test
    void dormantWorkerRunsAlmostNoCycles() {
        try (Rcu rcu = dormantDomain()) {
            long before = rcu.workerCycles();
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
            while (System.nanoTime() - end < 0) {
                LockSupport.parkNanos(10_000_000L);
            }
            long cycles = rcu.workerCycles() - before;
            // A worker still backing off at 1 ms would run ~150-300 cycles here; overload only lowers it.
            assertTrue(cycles <= 5, "dormant worker ran " + cycles + " duty cycles in 300 ms");
        }
    }

    @Test
    void closeOfDormantDomainDoesNotWaitForThePark() throws Exception {
        Rcu rcu = dormantDomain();
        CountDownLatch ran = new CountDownLatch(1);
        rcu.call(ran::countDown);
        awaitDormant(rcu);
        Thread closer = Thread.ofPlatform().start(rcu::close);
        closer.join(Duration.ofSeconds(30));
        assertFalse(closer.isAlive(), "close() of a domain with a dormant worker (park bound 1 h) took over 30 s");
        assertEquals(0, ran.getCount());
    }

    @Test
    void userIdleStrategyIsKeptWithoutDormancy() {
        try (Rcu rcu = Rcu.builder().name("no-dormancy").dormantPark(HOUR)
                .workerIdleStrategy(new SleepingMillisIdleStrategy(1)).build()) {
            // The default would be dormant after ~10 ms; watch for 20 times that.
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            while (System.nanoTime() - end < 0) {
                assertFalse(rcu.isWorkerDormant(), "a user-supplied idle strategy must not go dormant");
                LockSupport.parkNanos(1_000_000L);
            }
            CountDownLatch ran = new CountDownLatch(1);
            rcu.call(ran::countDown);
            rcu.barrier();
            assertEquals(0, ran.getCount());
        }
    }

    @Test
    void userRunAgentNeverGoesDormant() throws Exception {
        try (Rcu rcu = Rcu.builder().name("user-agent").ownWorkerThread(false).dormantPark(HOUR).build()) {
            CountDownLatch ran = new CountDownLatch(1);
            for (int i = 0; i < 200; i++) {
                rcu.agent().doWork(); // idle cycles: no dormancy on a user-run agent
            }
            assertFalse(rcu.isWorkerDormant());
            rcu.call(ran::countDown);
            long deadline = System.nanoTime() + DEADLINE_NANOS;
            while (ran.getCount() != 0) {
                if (System.nanoTime() - deadline > 0) {
                    fail("user-run agent did not run the callback within 30 s");
                }
                rcu.agent().doWork();
            }
            assertFalse(rcu.isWorkerDormant());
        }
    }
}
