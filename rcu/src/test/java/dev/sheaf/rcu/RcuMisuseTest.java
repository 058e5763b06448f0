package dev.sheaf.rcu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Misuse never hangs, leaks or crashes: Readers of dead threads, the callback limit, and
 * mayWaitForGracePeriod().
 */
@Timeout(60)
@SuppressWarnings("try") // read sections used for their scope only
class RcuMisuseTest {

    private static final Duration BOUND = Duration.ofSeconds(10);
    /** How long a thread that should be blocked is given to (wrongly) finish. */
    private static final Duration STILL_BLOCKED = Duration.ofMillis(200);

    private static Rcu domain(Rcu.Flavor flavor) {
        return Rcu.builder().name("misuse-" + flavor).flavor(flavor).build();
    }

    /** Runs synchronize() on another thread and fails with {@code why} unless it returns in time. */
    private static void synchronizeWithin(Rcu rcu, String why) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread w = Thread.ofPlatform().name("synchronizer").start(() -> {
            try {
                rcu.synchronize();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        assertTrue(w.join(BOUND), why);
        assertNull(failure.get(), () -> "synchronize() failed: " + failure.get());
    }

    /** A Reader registered (and, if {@code lock}, locked) by a platform thread that has ended. */
    private static Rcu.Reader readerOfDeadThread(Rcu rcu, boolean lock) throws InterruptedException {
        AtomicReference<Rcu.Reader> ref = new AtomicReference<>();
        Thread owner = Thread.ofPlatform().name("reader-owner").start(() -> {
            Rcu.Reader r = rcu.register();
            if (lock) {
                r.lock(); // never unlocked: the thread dies inside the section
            }
            ref.set(r);
        });
        assertTrue(owner.join(BOUND), "the registering thread did not end");
        return ref.get();
    }

    // ==================================================================== Readers of dead threads

    @ParameterizedTest
    @EnumSource(Rcu.Flavor.class)
    void lockOnReaderOfDeadThreadThrowsBeforeAndAfterReap(Rcu.Flavor flavor) throws Exception {
        try (Rcu rcu = domain(flavor)) {
            Rcu.Reader r = readerOfDeadThread(rcu, false);
            int slotsWithDead = rcu.stats().readerSlots();

            // before any reap: the owner is dead, so lock() refuses and changes nothing
            IllegalStateException e = assertThrows(IllegalStateException.class, r::lock);
            assertTrue(e.getMessage().contains("has died"), e.getMessage());
            assertFalse(r.inReadSection());
            assertFalse(rcu.inReadSection());
            assertTrue(rcu.mayWaitForGracePeriod());
            assertEquals(slotsWithDead, rcu.stats().readerSlots());
            assertThrows(IllegalStateException.class, r::unlock);
            assertThrows(IllegalStateException.class, r::online);

            // registration sweeps dead owners' slots (QSBR: the dead handle was still online, and
            // the grace period reaps it too)
            synchronizeWithin(rcu, "a grace period was blocked by a Reader whose thread died");
            rcu.register().close();
            assertEquals(slotsWithDead - 1, rcu.stats().readerSlots(), "the dead thread's slot was not reaped");

            e = assertThrows(IllegalStateException.class, r::lock);
            assertTrue(e.getMessage().contains("has died"), e.getMessage());
            assertFalse(r.inReadSection());
            assertFalse(rcu.inReadSection());
            assertEquals(slotsWithDead - 1, rcu.stats().readerSlots(), "a refused lock() changed the registry");
            synchronizeWithin(rcu, "a refused lock() left a published slot behind");
            r.close(); // still closes cleanly
            r.close();
            assertEquals(0, rcu.stats().deadReadersReported());
        }
    }

    /**
     * A Reader's nesting is its owner's field: another thread's close() while the owner lives is
     * refused (WrongThreadException) and changes nothing; once the owner has ended, any thread
     * may close it.
     */
    @ParameterizedTest
    @EnumSource(Rcu.Flavor.class)
    void readerClosedByAnotherThreadOnlyAfterItsOwnerEnded(Rcu.Flavor flavor) throws Exception {
        try (Rcu rcu = Rcu.builder().name("close-" + flavor).flavor(flavor).build()) {
            AtomicReference<Rcu.Reader> reader = new AtomicReference<>();
            CountDownLatch registered = new CountDownLatch(1);
            CountDownLatch refused = new CountDownLatch(1);
            AtomicReference<Throwable> ownerFailure = new AtomicReference<>();
            Thread owner = Thread.ofPlatform().start(() -> {
                try {
                    Rcu.Reader r = rcu.register();
                    r.online();
                    reader.set(r);
                    registered.countDown();
                    refused.await();
                    r.lock(); // still the owner's, still usable
                    r.unlock();
                } catch (Throwable e) {
                    ownerFailure.set(e);
                }
            });
            registered.await();
            Rcu.Reader r = reader.get();
            WrongThreadException e = assertThrows(WrongThreadException.class, r::close);
            assertTrue(e.getMessage().contains(owner.getName()), e.getMessage());
            refused.countDown();
            owner.join();
            assertNull(ownerFailure.get());
            r.close(); // the owner has ended: any thread may close it
            r.close();
            synchronizeWithin(rcu, "a Reader closed after its owner ended held a grace period");
        }
    }

    @ParameterizedTest
    @EnumSource(Rcu.Flavor.class)
    void readerOfThreadThatDiedInsideSectionDoesNotBlockGracePeriods(Rcu.Flavor flavor) throws Exception {
        List<Rcu.ReaderReport> reports = new CopyOnWriteArrayList<>();
        try (Rcu rcu = Rcu.builder().name("died-in-" + flavor).flavor(flavor).readerReportListener(reports::add)
                .build()) {
            Rcu.Reader r = readerOfDeadThread(rcu, true);
            // the grace period finds the slot blocking, its owner dead: reported and reaped
            synchronizeWithin(rcu, "a grace period was blocked by a Reader whose thread died inside a section");
            assertEquals(1, reports.size(), reports.toString());
            assertEquals(Rcu.ReaderReport.Kind.DIED_IN_SECTION, reports.get(0).kind());
            assertTrue(reports.get(0).thread().contains("reader-owner"), reports.get(0).thread());

            IllegalStateException e = assertThrows(IllegalStateException.class, r::lock);
            assertTrue(e.getMessage().contains("has died"), e.getMessage());
            assertFalse(rcu.inReadSection());
            synchronizeWithin(rcu, "a refused lock() blocked the next grace period");
            AtomicInteger ran = new AtomicInteger();
            rcu.call(ran::incrementAndGet);
            rcu.barrier();
            assertEquals(1, ran.get());
        }
    }

    @ParameterizedTest
    @EnumSource(Rcu.Flavor.class)
    void borrowedReaderStaysProtectedWhenItsOwnerDies(Rcu.Flavor flavor) throws Exception {
        try (Rcu rcu = domain(flavor)) {
            AtomicReference<Rcu.Reader> ref = new AtomicReference<>();
            CountDownLatch handedOver = new CountDownLatch(1);
            CountDownLatch borrowerInside = new CountDownLatch(1);
            AtomicReference<Throwable> ownerLockWhileBorrowed = new AtomicReference<>();
            Thread owner = Thread.ofPlatform().name("reader-owner").start(() -> {
                ref.set(rcu.register());
                handedOver.countDown();
                try {
                    borrowerInside.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                try {
                    ref.get().lock(); // one thread at a time: refused while the borrower reads
                } catch (Throwable e) {
                    ownerLockWhileBorrowed.set(e);
                }
            });
            assertTrue(handedOver.await(BOUND.toMillis(), TimeUnit.MILLISECONDS), "no Reader handed over");
            Rcu.Reader r = ref.get();

            r.lock(); // the test thread borrows the owner's Reader
            assertTrue(r.inReadSection());
            assertTrue(rcu.inReadSection());
            assertFalse(rcu.mayWaitForGracePeriod());
            assertThrows(IllegalStateException.class, rcu::synchronize);
            borrowerInside.countDown();
            assertTrue(owner.join(BOUND), "the owner did not end");
            assertTrue(ownerLockWhileBorrowed.get() instanceof IllegalStateException,
                    () -> "owner's lock() during the borrow: " + ownerLockWhileBorrowed.get());

            // the owner is dead; the borrower's section must still hold grace periods back
            AtomicBoolean unlocked = new AtomicBoolean();
            AtomicBoolean syncSawUnlock = new AtomicBoolean();
            Thread writer = Thread.ofPlatform().name("writer").start(() -> {
                rcu.synchronize();
                syncSawUnlock.set(unlocked.get());
            });
            assertFalse(writer.join(STILL_BLOCKED), "grace period ended while the borrower was inside its section");
            Thread.ofPlatform().start(() -> rcu.register().close()).join(); // a registration sweep
            assertFalse(writer.join(STILL_BLOCKED), "the sweep reclaimed a borrowed slot still inside a section");

            r.lock(); // nested: the borrower's own section, not a new one
            r.unlock();
            unlocked.set(true);
            r.unlock();
            assertTrue(writer.join(BOUND), "synchronize() did not return after the borrower left");
            assertTrue(syncSawUnlock.get(), "synchronize() returned before the borrower left its section");

            IllegalStateException e = assertThrows(IllegalStateException.class, r::lock);
            assertTrue(e.getMessage().contains("has died"), e.getMessage());
            assertFalse(rcu.inReadSection());
            synchronizeWithin(rcu, "the dead owner's Reader blocked a grace period after the borrow");
        }
    }

    @Test
    void readerUsedFromAnotherThreadWhileOwnerLives() throws Exception {
        try (Rcu rcu = Rcu.create()) {
            Rcu.Reader r = rcu.register(); // owner: the test thread, alive throughout
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread borrower = Thread.ofPlatform().start(() -> {
                try {
                    r.lock();
                    r.unlock();
                    r.lock();
                    r.unlock();
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            assertTrue(borrower.join(BOUND));
            assertNull(failure.get(), () -> "hand-off use failed: " + failure.get());
            r.lock(); // back with the owner
            r.unlock();
            r.close();
        }
    }

    // ==================================================================== callback limit

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    void callerThatMayWaitWaitsPastLimitThenSucceeds(boolean virtual) throws Exception {
        try (Rcu rcu = Rcu.builder().name("limit-wait").callbackLimit(8).build()) {
            CountDownLatch gate = new CountDownLatch(1);
            CountDownLatch slowStarted = new CountDownLatch(1);
            AtomicInteger ran = new AtomicInteger();
            AtomicBoolean ninthQueued = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread producer = TestThreads.start(virtual, "producer", () -> {
                try {
                    assertTrue(rcu.mayWaitForGracePeriod());
                    rcu.call(() -> {
                        slowStarted.countDown();
                        try {
                            gate.await(); // a slow callback: the backlog cannot drain meanwhile
                        } catch (InterruptedException e) {
                            throw new RuntimeException(e);
                        }
                        ran.incrementAndGet();
                    });
                    for (int i = 1; i < 8; i++) {
                        rcu.call(ran::incrementAndGet);
                    }
                    rcu.call(ran::incrementAndGet); // 8 pending: waits for the worker
                    ninthQueued.set(true);
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            assertTrue(slowStarted.await(BOUND.toMillis(), TimeUnit.MILLISECONDS), "slow callback never started");
            assertFalse(producer.join(STILL_BLOCKED), "call() past the limit did not wait for the backlog");
            assertFalse(ninthQueued.get());
            gate.countDown();
            assertTrue(producer.join(BOUND), "call() kept waiting after the backlog drained");
            assertNull(failure.get(), () -> "producer failed: " + failure.get());
            assertTrue(ninthQueued.get());
            rcu.barrier();
            assertEquals(9, ran.get());
        }
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    void insideReadSectionPastHardCapThrowsAndQueuesNothing(boolean virtual) throws Throwable {
        AtomicInteger ran = new AtomicInteger();
        AtomicBoolean rejectedRan = new AtomicBoolean();
        try (Rcu rcu = Rcu.builder().name("limit-section").callbackLimit(4).build()) {
            TestThreads.runIn(virtual, () -> {
                rcu.readLock(); // the worker's grace period waits for this section: nothing runs
                try {
                    assertFalse(rcu.mayWaitForGracePeriod());
                    for (int i = 0; i < 8; i++) {
                        rcu.call(ran::incrementAndGet); // 4..7 pending: past the limit, below the cap
                    }
                    IllegalStateException e = assertThrows(IllegalStateException.class,
                            () -> rcu.call(() -> rejectedRan.set(true)));
                    assertTrue(e.getMessage().contains("callbackLimit (4)"), e.getMessage());
                    assertTrue(e.getMessage().contains("limit-section"), e.getMessage());
                    assertThrows(IllegalStateException.class, () -> rcu.call(() -> rejectedRan.set(true)));
                } finally {
                    rcu.readUnlock();
                }
            });
            rcu.barrier();
            assertEquals(8, ran.get());
            assertEquals(8, rcu.stats().callbacksInvoked());
            rcu.call(ran::incrementAndGet); // the backlog is gone: accepted again
            rcu.barrier();
            assertEquals(9, ran.get());
        }
        assertFalse(rejectedRan.get(), "a refused callback ran");
    }

    @Test
    void onlineQsbrThreadPastLimitIsAcceptedBelowHardCap() {
        AtomicInteger ran = new AtomicInteger();
        AtomicBoolean rejectedRan = new AtomicBoolean();
        try (Rcu rcu = Rcu.builder().name("limit-qsbr").flavor(Rcu.Flavor.QSBR).callbackLimit(3).build()) {
            rcu.threadOnline(); // no quiescent state: the worker's grace period cannot end
            assertFalse(rcu.mayWaitForGracePeriod());
            for (int i = 0; i < 6; i++) {
                rcu.call(ran::incrementAndGet);
            }
            assertThrows(IllegalStateException.class, () -> rcu.call(() -> rejectedRan.set(true)));
            rcu.threadOffline();
            rcu.barrier();
            assertEquals(6, ran.get());
        }
        assertFalse(rejectedRan.get(), "a refused callback ran");
    }

    @Test
    void userRunAgentNeverWaitsInCall() throws Exception {
        AtomicInteger ran = new AtomicInteger();
        try (Rcu rcu = Rcu.builder().name("limit-agent").ownWorkerThread(false).callbackLimit(2).build()) {
            assertTrue(rcu.mayWaitForGracePeriod()); // synchronize() needs no agent
            for (int i = 0; i < 4; i++) {
                rcu.call(ran::incrementAndGet); // nobody runs the agent: waiting would hang
            }
            assertThrows(IllegalStateException.class, () -> rcu.call(ran::incrementAndGet));
            assertEquals(4, rcu.agent().doWork());
            assertEquals(4, ran.get());
            rcu.call(ran::incrementAndGet);
        }
        assertEquals(5, ran.get()); // close() ran the last one
    }

    @Test
    void callbackLimitIsValidated() {
        assertThrows(IllegalArgumentException.class, () -> Rcu.builder().callbackLimit(0));
        assertThrows(IllegalArgumentException.class, () -> Rcu.builder().callbackLimit(Long.MAX_VALUE / 2 + 1));
        Rcu.builder().callbackLimit(1).build().close();
    }

    // ==================================================================== mayWaitForGracePeriod

    @Test
    void mayWaitForGracePeriodEbr() throws Exception {
        try (Rcu rcu = Rcu.create(); Rcu other = Rcu.builder().name("other").build()) {
            assertTrue(rcu.mayWaitForGracePeriod());
            rcu.readLock();
            assertFalse(rcu.mayWaitForGracePeriod());
            rcu.readLock();
            rcu.readUnlock();
            assertFalse(rcu.mayWaitForGracePeriod());
            assertTrue(other.mayWaitForGracePeriod(), "a section of another domain does not count");
            rcu.readUnlock();
            assertTrue(rcu.mayWaitForGracePeriod());
            try (Rcu.ReadSection s = rcu.read()) {
                assertFalse(rcu.mayWaitForGracePeriod());
            }
            Rcu.Reader r = rcu.register();
            assertTrue(rcu.mayWaitForGracePeriod());
            r.lock();
            assertFalse(rcu.mayWaitForGracePeriod());
            AtomicBoolean elsewhere = new AtomicBoolean();
            Thread t = Thread.ofPlatform().start(() -> elsewhere.set(rcu.mayWaitForGracePeriod()));
            assertTrue(t.join(BOUND));
            assertTrue(elsewhere.get(), "another thread's section counted for this thread");
            r.unlock();
            assertTrue(rcu.mayWaitForGracePeriod());
            r.close();
            AtomicBoolean inCallback = new AtomicBoolean();
            rcu.call(() -> inCallback.set(rcu.mayWaitForGracePeriod()));
            rcu.barrier();
            assertTrue(inCallback.get(), "a callback may wait for a grace period (synchronize() is allowed there)");
        }
    }

    @Test
    void mayWaitForGracePeriodQsbr() throws Exception {
        try (Rcu rcu = Rcu.builder().name("qsbr-maywait").flavor(Rcu.Flavor.QSBR).build()) {
            assertTrue(rcu.mayWaitForGracePeriod(), "offline thread");
            rcu.threadOnline();
            assertFalse(rcu.mayWaitForGracePeriod(), "online thread outside a section");
            rcu.readLock();
            assertFalse(rcu.mayWaitForGracePeriod());
            rcu.readUnlock();
            rcu.quiescentState();
            assertFalse(rcu.mayWaitForGracePeriod());
            rcu.synchronize(); // keeps its documented behaviour: offline for the wait, then back online
            assertFalse(rcu.mayWaitForGracePeriod(), "synchronize() left the thread offline");
            rcu.threadOffline();
            assertTrue(rcu.mayWaitForGracePeriod());

            Rcu.Reader r = rcu.register(); // starts online
            assertFalse(rcu.mayWaitForGracePeriod(), "online through a Reader handle");
            r.offline();
            assertTrue(rcu.mayWaitForGracePeriod());
            r.online();
            r.lock();
            assertFalse(rcu.mayWaitForGracePeriod());
            r.unlock();
            assertFalse(rcu.mayWaitForGracePeriod());
            AtomicBoolean elsewhere = new AtomicBoolean();
            Thread t = Thread.ofPlatform().start(() -> elsewhere.set(rcu.mayWaitForGracePeriod()));
            assertTrue(t.join(BOUND));
            assertTrue(elsewhere.get(), "another thread's online Reader counted for this thread");
            r.offline();
            r.close();
            assertTrue(rcu.mayWaitForGracePeriod());
        }
    }
}
