package dev.sheaf.netty.jcstress;

import dev.sheaf.netty.NettyProbes;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * ReturnHomeVsCloseStress with the close broken on purpose (a plain read of the head, then a
 * store of CLOSED, instead of getAndSet): a push between the two is overwritten and its object
 * never freed. Its interesting outcomes show that the test shape catches the race the real close
 * excludes.
 *
 * r1 = objects close() freed; r2 = objects never freed.
 */
@JCStressTest
@Description("BROKEN ON PURPOSE: close with a plain read then store")
@Outcome(id = "[0-2], 0", expect = Expect.ACCEPTABLE, desc = "no push fell in the window this time")
@Outcome(id = "[0-2], [1-2]", expect = Expect.ACCEPTABLE_INTERESTING, desc = "the broken close lost a push")
@Outcome(expect = Expect.FORBIDDEN, desc = "impossible count")
@State
public class ReturnHomeVsPlainCloseStress {

    private final NettyProbes.ReturnHandOver x = new NettyProbes.ReturnHandOver(true);

    @Actor
    public void releaser() {
        x.release();
    }

    @Actor
    public void owner() {
        x.close();
    }

    @Arbiter
    public void check(II_Result r) {
        r.r1 = x.freedByClose();
        r.r2 = x.leaked();
    }
}
