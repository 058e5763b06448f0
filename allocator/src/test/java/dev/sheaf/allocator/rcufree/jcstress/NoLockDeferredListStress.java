package dev.sheaf.allocator.rcufree.jcstress;

import dev.sheaf.allocator.rcufree.NoLockDeferredListProbe;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * The no-lock deferred list of freeRcuNoLock (NoLockDeferredList): one producer pushes while
 * another pushes and then takes the whole list (CAS push vs push, and push vs take); the arbiter
 * takes the rest. Every object must be taken exactly once, with its own link offset decoded
 * intact (hardened links), and the list's byte count must settle at 0, whatever the interleaving.
 */
@JCStressTest
@Outcome(id = "1, 1, 0, 0", expect = Expect.ACCEPTABLE, desc = "both objects taken exactly once, byte count settled")
@Outcome(expect = Expect.FORBIDDEN, desc = "an object lost, duplicated, its link corrupted, or the byte count off")
@State
public class NoLockDeferredListStress {

    private final NoLockDeferredListProbe probe = new NoLockDeferredListProbe();

    @Actor
    public void producer() {
        probe.pushA();
    }

    @Actor
    public void producerThenDrainer() {
        probe.pushB();
        probe.takeAll();
    }

    @Arbiter
    public void rest(IIII_Result r) {
        probe.takeAll();
        r.r1 = probe.seenA();
        r.r2 = probe.seenB();
        r.r3 = probe.corrupt();
        r.r4 = (int) probe.bytesLeft();
    }
}
