package dev.sheaf.rcu;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.util.concurrent.locks.LockSupport;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * An Rcu.Reader owner's outermost lock() against another thread borrowing the same Reader through
 * lock() (ReaderSlot's handshake), once per read mode on the real fields and code paths. The owner
 * actor runs the owner's path of Reader.lock() (ReaderSlot.handleEbrEnter/handleQsbrEnter: announce,
 * then check borrowState); the owner's identity is a thread alive for the whole run, because the
 * actors run on jcstress's threads. The borrower actor runs ReaderHandles.lockShared (claim, barrier
 * where the owner has no fence, read the owner's nesting, commit). Neither leaves its section.
 *
 * r1 = 1 if the owner entered its section, 0 if it was refused; r2 = 1 if the borrower entered, 0 if
 * it was refused (IllegalStateException "in use"). At the end of both actors:
 * "1, 1" both inside one slot - forbidden (one of the two would be unprotected, and "one thread at a
 * time" is broken); "0, 0" both refused - forbidden (the owner is refused only by a committed
 * borrower, so this would be a spurious failure); "1, 0" and "0, 1" are the two orders.
 *
 * {@link OldOrder} keeps the order the owner's path had before the handshake (check the borrow state,
 * then announce) to show that the test sees the race; {@link QsbrNoBarrier} drops the borrower's
 * membarrier where the owner has no fence. Their "1, 1" is ACCEPTABLE_INTERESTING so that the run
 * stays green while the count shows.
 */
public class OwnerLockVsBorrowStress {
    /** The Reader's owner: alive for the whole run, never the actor's thread (see the class notes). */
    static final Thread LIVE_OWNER = Thread.ofPlatform().daemon().name("live-owner").start(() -> {
        while (true) {
            LockSupport.park();
        }
    });
    private static final ReaderReports REPORTS = new ReaderReports("stress", System.getLogger("stress"), null);

    private OwnerLockVsBorrowStress() {
    }

    static int borrow(ReaderHandles handles, ReaderSlot slot) {
        try {
            handles.lockShared(slot, LIVE_OWNER);
            return 1;
        } catch (IllegalStateException e) {
            return 0;
        }
    }

    /** Fenced EBR: the owner's entry fence is the handshake's StoreLoad. */
    @JCStressTest
    @Description("Rcu.Reader owner lock() vs a borrower's lock(), EBR (entry fence)")
    @Outcome(id = "1, 1", expect = FORBIDDEN, desc = "owner and borrower both inside one slot")
    @Outcome(id = "0, 0", expect = FORBIDDEN, desc = "both refused: the owner failed spuriously")
    @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "owner inside, borrower refused")
    @Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "borrower inside, owner refused")
    @State
    public static class Ebr {
        private final ReaderRegistry registry = new ReaderRegistry(false);
        private final ReaderHandles handles = new ReaderHandles(false, registry, REPORTS);
        private final ReaderSlot slot = registry.registerHandle(LIVE_OWNER, s -> { });

        @Actor
        public void owner(II_Result r) {
            r.r1 = slot.handleEbrEnter() ? 1 : 0;
        }

        @Actor
        public void borrower(II_Result r) {
            r.r2 = borrow(handles, slot);
        }
    }

    /** EBR_MEMBARRIER (where available, else fenced): no owner fence; the borrower issues membarrier. */
    @JCStressTest
    @Description("Rcu.Reader owner lock() vs a borrower's lock(), EBR_MEMBARRIER (borrower membarrier)")
    @Outcome(id = "1, 1", expect = FORBIDDEN, desc = "owner and borrower both inside one slot")
    @Outcome(id = "0, 0", expect = FORBIDDEN, desc = "both refused: the owner failed spuriously")
    @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "owner inside, borrower refused")
    @Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "borrower inside, owner refused")
    @State
    public static class EbrMembarrier {
        private final ReaderRegistry registry = new ReaderRegistry(false, Membarrier.available());
        private final ReaderHandles handles = new ReaderHandles(false, registry, REPORTS);
        private final ReaderSlot slot = registry.registerHandle(LIVE_OWNER, s -> { });

        @Actor
        public void owner(II_Result r) {
            r.r1 = slot.handleEbrEnter() ? 1 : 0;
        }

        @Actor
        public void borrower(II_Result r) {
            r.r2 = borrow(handles, slot);
        }
    }

    /** QSBR: no owner fence where membarrier is available (the borrower issues it), else an owner fence. */
    @JCStressTest
    @Description("Rcu.Reader owner lock() vs a borrower's lock(), QSBR")
    @Outcome(id = "1, 1", expect = FORBIDDEN, desc = "owner and borrower both inside one slot")
    @Outcome(id = "0, 0", expect = FORBIDDEN, desc = "both refused: the owner failed spuriously")
    @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "owner inside, borrower refused")
    @Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "borrower inside, owner refused")
    @State
    public static class Qsbr {
        private final ReaderRegistry registry = new ReaderRegistry(true);
        private final ReaderHandles handles = new ReaderHandles(true, registry, REPORTS);
        private final ReaderSlot slot = registry.registerHandle(LIVE_OWNER, s -> { });

        public Qsbr() {
            slot.qsbrOnline();
        }

        @Actor
        public void owner(II_Result r) {
            r.r1 = slot.handleQsbrEnter() ? 1 : 0;
        }

        @Actor
        public void borrower(II_Result r) {
            r.r2 = borrow(handles, slot);
        }
    }

    /**
     * The broken order, fenced EBR: the owner checks the borrow state first and announces after (an
     * implicit-slot entry: epoch, fence, nesting), the borrower is unchanged.
     */
    @JCStressTest
    @Description("Check-then-announce owner (the order the handshake replaced) vs a borrower: the race")
    @Outcome(id = "1, 1", expect = ACCEPTABLE_INTERESTING, desc = "both inside one slot: the race the handshake closes")
    @Outcome(id = "0, 0", expect = FORBIDDEN, desc = "both refused")
    @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "owner inside, borrower refused")
    @Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "borrower inside, owner refused")
    @State
    public static class OldOrder {
        private final ReaderRegistry registry = new ReaderRegistry(false);
        private final ReaderHandles handles = new ReaderHandles(false, registry, REPORTS);
        private final ReaderSlot slot = registry.registerHandle(LIVE_OWNER, s -> { });

        @Actor
        public void owner(II_Result r) {
            if (slot.borrowStateVolatile() == ReaderSlot.FREE) {
                slot.ebrEnter();
                r.r1 = 1;
            }
        }

        @Actor
        public void borrower(II_Result r) {
            r.r2 = borrow(handles, slot);
        }
    }

    /**
     * The borrower without its barrier, QSBR: the owner's announcement (nesting store, no fence) and
     * its borrowState load may be reordered by the CPU's store buffer, the borrower's CAS fences only
     * its own side. A copy of lockShared's handshake minus borrowBarrier(); shows why the borrower
     * issues membarrier where the owner has no fence.
     */
    @JCStressTest
    @Description("QSBR owner lock() vs a borrower that skips the membarrier: the store-buffering race")
    @Outcome(id = "1, 1", expect = ACCEPTABLE_INTERESTING, desc = "both inside one slot: the race the barrier closes")
    @Outcome(id = "0, 0", expect = FORBIDDEN, desc = "both refused")
    @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "owner inside, borrower refused")
    @Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "borrower inside, owner refused")
    @State
    public static class QsbrNoBarrier {
        private final ReaderRegistry registry = new ReaderRegistry(true);
        private final ReaderSlot slot = registry.registerHandle(LIVE_OWNER, s -> { });

        public QsbrNoBarrier() {
            slot.qsbrOnline();
        }

        @Actor
        public void owner(II_Result r) {
            r.r1 = slot.handleQsbrEnter() ? 1 : 0;
        }

        @Actor
        public void borrower(II_Result r) {
            if (slot.tryBorrow(Thread.currentThread())) {
                if (slot.ownerNesting() == 0 && slot.commitBorrow()) {
                    slot.borrowEnter();
                    r.r2 = 1;
                } else {
                    slot.endBorrow();
                }
            }
        }
    }
}
