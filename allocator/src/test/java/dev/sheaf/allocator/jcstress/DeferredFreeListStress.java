package dev.sheaf.allocator.jcstress;

import dev.sheaf.allocator.SlabProbes;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * The lock-free deferred free list of freeNoLock: two threads push concurrently, one of them then
 * detaches the list while the other may still push; the arbiter drains what is left. Every object
 * must be seen exactly once, with intact links.
 */
@JCStressTest
@Outcome(id = "1, 1, 1, 0", expect = Expect.ACCEPTABLE, desc = "every push drained exactly once")
@Outcome(expect = Expect.FORBIDDEN, desc = "an object lost, duplicated, or a link corrupted")
@State
public class DeferredFreeListStress {

    private final SlabProbes.DeferredList list = new SlabProbes.DeferredList();

    @Actor
    public void producer() {
        list.push(0);
        list.push(1);
    }

    @Actor
    public void producerAndDrainer() {
        list.push(2);
        list.drain();
    }

    @Arbiter
    public void rest(IIII_Result r) {
        list.drain();
        r.r1 = list.seen(0);
        r.r2 = list.seen(1);
        r.r3 = list.seen(2);
        r.r4 = list.unknown();
    }
}
