package dev.sheaf.allocator.jcstress;

import dev.sheaf.allocator.SlabProbes;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * An owner in the middle of a freeRcu call races rcuBarrier's flush of its rcu sheaf, which
 * already holds an object of an earlier call. The flush must take that object whatever the
 * interleaving (taking the sheaf before the call, or waiting out the call and taking both), and
 * nothing may be lost or held twice. Before the owner marked its call (RCU_BUSY), a flush that
 * found the slot empty mid-call returned with nothing: the outcome "0, 2".
 */
@JCStressTest
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "flush first; the owner started a new sheaf")
@Outcome(id = "2, 0", expect = Expect.ACCEPTABLE, desc = "the flush waited for the call and took both")
@Outcome(expect = Expect.FORBIDDEN, desc = "the flush missed an earlier object, or an object was lost or duplicated")
@State
public class RcuSheafHandoffStress {

    private final SlabProbes.RcuSheafHandoff x = new SlabProbes.RcuSheafHandoff();

    @Actor
    public void owner() {
        x.ownerCall();
    }

    @Actor
    public void barrier() {
        x.flush();
    }

    @Arbiter
    public void check(II_Result r) {
        r.r1 = x.flushed();
        r.r2 = x.remaining();
    }
}
