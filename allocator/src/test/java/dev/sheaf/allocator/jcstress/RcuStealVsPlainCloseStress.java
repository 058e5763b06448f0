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
 * The broken-on-purpose twin of {@link RcuStealVsCloseStress}: the owner closes with a plain
 * read and a plain (volatile) store of `taken` instead of the CAS. A stealer's claim between the
 * two is overwritten, so the owner keeps objects the stealer took too: "k, j" with j > 0 (a
 * double free after the grace period) is expected to show up. It is marked ACCEPTABLE_INTERESTING
 * rather than FORBIDDEN so that the default jcstress run stays green while still showing the
 * outcome: it is the race the close's CAS closes.
 *
 * r1 = objects the stealer took; r2 = objects lost, duplicated or garbled.
 */
@JCStressTest
@Description("rcu sheaf: owner closes without a CAS (broken on purpose) vs a stealer")
@Outcome(id = "[0-4], 0", expect = Expect.ACCEPTABLE, desc = "no overlap this time")
@Outcome(id = "[0-4], [1-9]", expect = Expect.ACCEPTABLE_INTERESTING,
        desc = "double take: the plain close overwrote the stealer's claim")
@Outcome(expect = Expect.FORBIDDEN, desc = "impossible count")
@State
public class RcuStealVsPlainCloseStress {

    private final SlabProbes.RcuStealVsClose x = new SlabProbes.RcuStealVsClose(true);

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
