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
 * The netty module's returned stack (ThreadBuffers): a thread releases two buffers of an event
 * loop home (CAS push) while the loop's ThreadBuffers closes (getAndSet CLOSED, then frees what
 * it took). A push that loses the race frees its object itself. Every object is freed once.
 *
 * r1 = objects close() freed; r2 = objects never freed (must be 0; a double free throws).
 */
@JCStressTest
@Description("returned buffers: a releasing thread vs the owner's close")
@Outcome(id = "0, 0", expect = Expect.ACCEPTABLE, desc = "close came first: the releaser freed both")
@Outcome(id = "1, 0", expect = Expect.ACCEPTABLE, desc = "one buffer came home before close")
@Outcome(id = "2, 0", expect = Expect.ACCEPTABLE, desc = "both buffers came home before close")
@Outcome(expect = Expect.FORBIDDEN, desc = "an object never freed")
@State
public class ReturnHomeVsCloseStress {

    private final NettyProbes.ReturnHandOver x = new NettyProbes.ReturnHandOver(false);

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
