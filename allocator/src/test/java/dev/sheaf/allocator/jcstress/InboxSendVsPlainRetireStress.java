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
 * The broken-on-purpose twin of {@link InboxSendVsRetireStress}: the home retires its inbox
 * with a plain read and a plain (volatile) store of CLOSED instead of the getAndSet. A sheaf
 * sent between the two is overwritten by CLOSED: taken by nobody and refused to nobody, so its
 * objects are lost ("k, j" with j > 0). ACCEPTABLE_INTERESTING rather than FORBIDDEN so the
 * default jcstress run stays green while it still shows the race the getAndSet closes.
 *
 * r1 = sheaves the home took; r2 = objects lost, duplicated or garbled.
 */
@JCStressTest
@Description("remote-free inbox: a retire without getAndSet (broken on purpose) vs a sender")
@Outcome(id = "[0-2], 0", expect = Expect.ACCEPTABLE, desc = "no sheaf sent in the window this time")
@Outcome(id = "[0-2], [1-9]", expect = Expect.ACCEPTABLE_INTERESTING,
        desc = "lost: a sheaf sent between the read and the store")
@Outcome(expect = Expect.FORBIDDEN, desc = "impossible count")
@State
public class InboxSendVsPlainRetireStress {

    private final SlabProbes.InboxHandOver x = new SlabProbes.InboxHandOver(true, true);

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
