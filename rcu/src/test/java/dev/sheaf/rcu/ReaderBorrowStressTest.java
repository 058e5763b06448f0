package dev.sheaf.rcu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An Rcu.Reader's owner locks and unlocks in a loop while other threads keep trying to borrow the
 * same Reader through lock(), and a writer replaces a node and poisons the old one after
 * synchronize(). Inside every section the thread counts itself into an occupant counter and reads
 * the current node a few times. Invariants: the counter never exceeds 1 (one thread at a time on
 * the slot), no section ever sees a poisoned node (each party is protected by its own publication;
 * under QSBR the owner keeps reporting quiescent states while borrowers read),
 * and the only failure lock() may report is the "in use" refusal. Bounded by iteration counts: each
 * borrower makes a fixed number of attempts, the owner loops until they are done (and at least a
 * fixed number of rounds), the writer stops with the owner.
 */
@Timeout(120)
class ReaderBorrowStressTest {
    private static final int OWNER_ROUNDS = 20_000;
    private static final int BORROWERS = 2;
    private static final int BORROW_ATTEMPTS = 20_000;
    private static final int READS = 4;
    private static final String IN_USE = "inside a read section of";

    @ParameterizedTest(name = "{0}")
    @EnumSource(Rcu.Flavor.class)
    void ownerAndBorrowersNeverShareTheReader(Rcu.Flavor flavor) throws Exception {
        boolean qsbr = flavor == Rcu.Flavor.QSBR;
        try (Rcu rcu = Rcu.builder().flavor(flavor).name("borrow-stress").build()) {
            AtomicReference<int[]> node = new AtomicReference<>(new int[] {1});
            AtomicInteger occupants = new AtomicInteger();
            AtomicInteger shared = new AtomicInteger();
            AtomicInteger poisoned = new AtomicInteger();
            AtomicLong ownerIn = new AtomicLong();
            AtomicLong borrowerIn = new AtomicLong();
            AtomicLong refusals = new AtomicLong();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            AtomicReference<Rcu.Reader> reader = new AtomicReference<>();
            AtomicBoolean ownerDone = new AtomicBoolean();
            CountDownLatch registered = new CountDownLatch(1);
            CountDownLatch borrowersDone = new CountDownLatch(BORROWERS);

            Runnable section = () -> {
                if (occupants.incrementAndGet() != 1) {
                    shared.incrementAndGet();
                }
                for (int i = 0; i < READS; i++) {
                    if (node.get()[0] < 0) {
                        poisoned.incrementAndGet();
                    }
                }
                occupants.decrementAndGet();
            };

            Thread owner = Thread.ofPlatform().name("reader-owner").start(() -> {
                try {
                    Rcu.Reader r = rcu.register();
                    reader.set(r);
                    registered.countDown();
                    // at least OWNER_ROUNDS, and on until every borrower made its (bounded) attempts
                    for (int i = 0; i < OWNER_ROUNDS || borrowersDone.getCount() > 0; i++) {
                        if (tryLock(r, refusals, unexpected)) {
                            section.run();
                            ownerIn.incrementAndGet();
                            r.unlock();
                        }
                        if (qsbr) {
                            r.quiescentState(); // a borrower's section does not depend on it
                        }
                    }
                    ownerDone.set(true);
                    r.offline(); // QSBR: lets a writer blocked on this Reader finish; EBR: no-op
                    r.close();
                } catch (Throwable e) {
                    unexpected.compareAndSet(null, e);
                } finally {
                    ownerDone.set(true);
                    registered.countDown();
                }
            });
            assertTrue(registered.await(60, TimeUnit.SECONDS));

            List<Thread> borrowers = new ArrayList<>();
            for (int b = 0; b < BORROWERS; b++) {
                borrowers.add(Thread.ofPlatform().name("reader-borrower-" + b).start(() -> {
                    try {
                        Rcu.Reader r = reader.get();
                        for (int i = 0; r != null && i < BORROW_ATTEMPTS && !ownerDone.get(); i++) {
                            if (tryLock(r, refusals, unexpected)) {
                                section.run();
                                borrowerIn.incrementAndGet();
                                r.unlock();
                            }
                        }
                    } catch (Throwable e) {
                        unexpected.compareAndSet(null, e);
                    } finally {
                        borrowersDone.countDown();
                    }
                }));
            }

            Thread writer = Thread.ofPlatform().name("reader-writer").start(() -> {
                try {
                    for (int i = 2; !ownerDone.get() && i < OWNER_ROUNDS; i++) {
                        int[] old = node.getAndSet(new int[] {i});
                        rcu.synchronize();
                        old[0] = -1;
                    }
                } catch (Throwable e) {
                    unexpected.compareAndSet(null, e);
                }
            });

            owner.join();
            for (Thread t : borrowers) {
                t.join();
            }
            writer.join();
            assertNull(unexpected.get(), () -> "unexpected failure: " + unexpected.get());
            assertEquals(0, shared.get(), "two threads were inside a section on one Reader at once");
            assertEquals(0, poisoned.get(), "a section saw a node poisoned after its grace period");
            assertTrue(ownerIn.get() > 0, "the owner never entered a section");
            System.out.printf("%s: owner sections %d, borrower sections %d, refusals %d%n", flavor, ownerIn.get(),
                    borrowerIn.get(), refusals.get());
        }
    }

    /** lock(), true if inside; an "in use" refusal counts; anything else is recorded as unexpected. */
    private static boolean tryLock(Rcu.Reader r, AtomicLong refusals, AtomicReference<Throwable> unexpected) {
        try {
            r.lock();
            return true;
        } catch (IllegalStateException e) {
            if (e.getMessage() == null || !e.getMessage().contains(IN_USE)) {
                unexpected.compareAndSet(null, e);
            }
            refusals.incrementAndGet();
            return false;
        }
    }
}
