package dev.sheaf.allocator.rcufree.jcstress;

import dev.sheaf.allocator.rcufree.OpenBatchHandOffProbe;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * The hand-over of an XOR-linked batch chain from its owner to the drainer (OpenBatch): the owner
 * adds three objects, each add writing the new head's field and XOR-ing into the old head's under
 * the batch lock, while the drainer seals the batch under the same lock; the arbiter seals the
 * rest. Whatever the interleaving, the drainer takes a prefix of the adds, and each sealed chain
 * must walk intact from its head to its tail and back (every field's XOR of neighbours visible),
 * each object in exactly one chain.
 */
@JCStressTest
@Outcome(id = {"0, 3, 0, 1", "1, 2, 0, 1", "2, 1, 0, 1", "3, 0, 0, 1"}, expect = Expect.ACCEPTABLE,
        desc = "the drainer sealed the first objects, the arbiter the rest; both chains intact both ways")
@Outcome(expect = Expect.FORBIDDEN, desc = "an object lost or duplicated, or a field that does not walk both ways")
@State
public class OpenBatchHandOffStress {

    private final OpenBatchHandOffProbe probe = new OpenBatchHandOffProbe();

    @Actor
    public void owner() {
        probe.ownerAddAll();
    }

    @Actor
    public void drainer() {
        probe.drainerSeal();
    }

    @Arbiter
    public void rest(IIII_Result r) {
        probe.arbiterSeal();
        r.r1 = probe.sealedByDrainer();
        r.r2 = probe.sealedByArbiter();
        r.r3 = probe.corrupt();
        r.r4 = probe.eachOnce();
    }
}
