package dev.sheaf.rcu;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The Rcu.Reader borrow / sweep handshake (ReaderSlot's notes), on the real fields and the real
 * sweep: a thread other than the owner borrows the slot (CAS of borrowState) and then checks retired;
 * the sweep, finding the owner dead, stores retired and then checks borrowState. The owner is a thread
 * that was never started (isAlive() is false), standing for an owner that died just after the
 * borrower's pre-check saw it alive; the borrower's half is therefore only the CAS and the retired
 * load that follow that pre-check. Both must never go ahead: a borrower inside a section on a slot
 * the sweep has removed from the registry would be read by no grace period.
 *
 * r1 = 1 if the borrower went ahead into its section; r2 = 1 if the sweep removed the slot.
 */
@JCStressTest
@Description("Rcu.Reader borrower CAS + retired load vs sweep retired store + borrower load")
@Outcome(id = "1, 1", expect = FORBIDDEN, desc = "borrower inside a section of a slot the sweep removed")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "borrower went ahead; the sweep left the slot")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "borrower saw retired and backed off; slot removed")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "both backed off; a later sweep removes the slot")
@State
public class ReaderBorrowReapStress {
    private static final Thread DEAD_OWNER = new Thread(() -> { }, "never-started-owner");
    /**
     * The borrower's identity: a thread alive for the whole run. The actor's own thread will not do:
     * jcstress may end it while the other actor still walks the stride, and a borrower that died
     * inside its section is rightly reaped (which would read as the forbidden outcome).
     */
    private static final Thread LIVE_BORROWER = Thread.ofPlatform().daemon().name("live-borrower")
            .start(() -> {
                while (true) {
                    java.util.concurrent.locks.LockSupport.park();
                }
            });

    private final ReaderRegistry registry = new ReaderRegistry(false);
    private final ReaderSlot slot = registry.registerHandle(DEAD_OWNER, s -> { });

    @Actor
    public void borrower(II_Result r) {
        if (slot.tryBorrow(LIVE_BORROWER)) {
            if (slot.retired || !slot.commitBorrow()) {
                slot.endBorrow();
            } else {
                slot.borrowEnter();
                r.r1 = 1;
            }
        }
    }

    @Actor
    public void sweeper(II_Result r) {
        registry.sweep(s -> { });
        r.r2 = slot.removed ? 1 : 0;
    }
}
