package dev.sheaf.allocator.jcstress;

import dev.sheaf.allocator.SlabProbes;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * The sheaf/barn exchange: an allocating thread gives an empty sheaf for a full one while a
 * freeing thread gives a full sheaf for an empty one. Whatever the order, no object and no sheaf
 * is lost or duplicated: 6 objects in 4 distinct sheaves, each held by exactly one party.
 */
@JCStressTest
@Outcome(id = "6, 4, 0", expect = Expect.ACCEPTABLE, desc = "objects and sheaves conserved")
@Outcome(expect = Expect.FORBIDDEN, desc = "an object or sheaf lost or held twice")
@State
public class BarnExchangeStress {

    private final SlabProbes.BarnExchange x = new SlabProbes.BarnExchange();

    @Actor
    public void allocSide() {
        x.allocSide();
    }

    @Actor
    public void freeSide() {
        x.freeSide();
    }

    @Arbiter
    public void check(III_Result r) {
        r.r1 = x.objects();
        r.r2 = x.sheaves();
        r.r3 = x.duplicates();
    }
}
