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
 * The rcu sheaf's owner appends (plain and release stores), closes its full sheaf with the CAS
 * of `taken`, compacts and reuses the sheaf for a new life, while a stealer copies the published
 * prefix and then claims it by CAS. Every object must be taken exactly once: by the owner's close,
 * by the stealer, or still published in the new life.
 *
 * r1 = objects the stealer took; r2 = objects lost, duplicated or garbled (must be 0).
 */
@JCStressTest
@Description("rcu sheaf: owner append and close vs a copy-then-CAS stealer")
@Outcome(id = "0, 0", expect = Expect.ACCEPTABLE, desc = "the stealer found nothing (or lost every CAS)")
@Outcome(id = "[1-4], 0", expect = Expect.ACCEPTABLE, desc = "the stealer took a published prefix; the owner the rest")
@Outcome(expect = Expect.FORBIDDEN, desc = "an object was lost or taken twice")
@State
public class RcuStealVsCloseStress {

    private final SlabProbes.RcuStealVsClose x = new SlabProbes.RcuStealVsClose(false);

    @Actor
    public void owner() {
        x.owner();
    }

    @Actor
    public void stealer() {
        x.steal();
    }

    @Arbiter
    public void check(II_Result r) {
        r.r1 = x.stolen();
        r.r2 = x.misplaced();
    }
}
