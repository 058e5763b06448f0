package dev.sheaf.allocator.jcstress;

import dev.sheaf.allocator.DebugProbes;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

/**
 * validate()'s per-object check racing the object's owner, who hands it out, overwrites every
 * byte as its user and frees it (poisoning it again): the check finds it intact or skips it as
 * in flight, and never reports it (the seqlock of AllocTracking.ObjectRecord).
 */
@JCStressTest
@Outcome(id = "0", expect = Expect.ACCEPTABLE, desc = "checked while stable: intact")
@Outcome(id = "2", expect = Expect.ACCEPTABLE, desc = "in flight: skipped")
@Outcome(id = "1", expect = Expect.FORBIDDEN, desc = "an object in flight reported as damaged")
@State
public class DebugValidateVsOwnerStress {

    private final DebugProbes.OwnerVsValidate x = new DebugProbes.OwnerVsValidate();

    @Actor
    public void owner() {
        x.owner();
    }

    @Actor
    public void validator(I_Result r) {
        r.r1 = x.validate();
    }
}
