package dev.sheaf.rcu;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * Like {@link ReaderPublishScanStress}, but the reader is a virtual-thread style reader that first
 * claims a slot from the pool (which, in a fresh registry, creates the slot and publishes a new slot
 * array) and only then enters the section - the path where the scan may load the slot array before
 * the new slot is in it. The scan must then be covered by the fence argument: a reader it could not
 * see must see the writer's update.
 *
 * r1 = datum the reader saw (0 old, 1 new); r2 = 1 if the scan found no reader holding the grace period.
 */
@JCStressTest
@Description("RCU pooled-slot claim + publish vs grace-period scan over the slot array")
@Outcome(id = "0, 1", expect = FORBIDDEN, desc = "reader saw old data and the scan missed the reader")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "reader saw old data; the scan waits for it")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw new data; the scan saw it anyway")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader entered after the scan and saw new data")
@State
public class ReaderRegistrationScanStress {
    private final ReaderRegistry registry = new ReaderRegistry(false);
    private int datum;

    @Actor
    public void reader(II_Result r) {
        ReaderSlot s = registry.claimPooled(Thread.currentThread());
        s.ebrEnter();
        r.r1 = datum;
    }

    @Actor
    public void writer(II_Result r) {
        datum = 1;
        long target = registry.advanceEpoch();
        r.r2 = ReaderRegistry.firstBlocker(registry.slots(), 0, target) < 0 ? 1 : 0;
    }
}
