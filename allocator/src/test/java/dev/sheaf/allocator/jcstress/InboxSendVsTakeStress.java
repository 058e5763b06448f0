package dev.sheaf.allocator.jcstress;

import dev.sheaf.allocator.SlabProbes;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The remote-free hand-over (RemoteFrees): a thread sends two remote sheaves, one after the
 * other, to a home's inbox while the home takes it whole (getAndSet null): a send lands in the
 * chain taken or after it. Every object ends in exactly one place.
 *
 * r1 = sheaves the home took; r2 = objects lost, duplicated or garbled (must be 0).
 */
@JCStressTest
@Description("remote-free inbox: a sender vs the home taking it")
@Outcome(id = "0, 0", expect = Expect.ACCEPTABLE, desc = "the home came first")
@Outcome(id = "1, 0", expect = Expect.ACCEPTABLE, desc = "one sheaf came before the home")
@Outcome(id = "2, 0", expect = Expect.ACCEPTABLE, desc = "both sheaves came before the home")
@Outcome(expect = Expect.FORBIDDEN, desc = "an object lost or duplicated")
@State
public class InboxSendVsTakeStress {

    private final SlabProbes.InboxHandOver x = new SlabProbes.InboxHandOver(false, false);

    @Actor
    public void sender() {
        x.send();
    }

    @Actor
    public void home() {
        x.home();
    }

    @Arbiter
    public void check(II_Result r) {
        r.r1 = x.takenSheaves();
        r.r2 = x.misplaced();
    }
}
