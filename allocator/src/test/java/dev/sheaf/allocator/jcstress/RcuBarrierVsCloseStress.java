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
 * The barrier rule: an owner adds the last object of its rcu sheaf and closes it (close CAS,
 * compaction, submission, and only then the slot store) while a barrier-style flush steals,
 * waiting out a closing owner, and then reads the submissions. The three objects of calls that
 * returned before the race must each be seen exactly once, stolen or submitted; the fourth is
 * concurrent with the barrier and may be missed, but never seen twice.
 *
 * r1 = earlier objects seen exactly once (must be 3); r2 = the fourth: 0 unseen, 1 stolen,
 * 2 submitted (3 would be both).
 */
@JCStressTest
@Description("rcu sheaf: barrier flush vs an owner between its close and its slot store")
@Outcome(id = "3, [0-2]", expect = Expect.ACCEPTABLE, desc = "every earlier object stolen or submitted")
@Outcome(expect = Expect.FORBIDDEN, desc = "the barrier missed an earlier object, or saw one twice")
@State
public class RcuBarrierVsCloseStress {

    private final SlabProbes.RcuBarrierVsClose x = new SlabProbes.RcuBarrierVsClose();

    @Actor
    public void owner() {
        x.owner();
    }

    @Actor
    public void barrier() {
        x.barrier();
    }

    @Arbiter
    public void check(II_Result r) {
        r.r1 = x.earlierSeenOnce();
        r.r2 = x.fourth();
    }
}
