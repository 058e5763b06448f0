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
 * The store-buffering shape of {@link Rcu.Flavor#EBR_MEMBARRIER} on the real code: the reader
 * enters through {@link ReaderSlot#ebrEnter()} on a slot of an asymmetric registry (opaque epoch
 * store, no fence) and loads the datum; the writer updates the datum, advances the epoch through
 * {@link ReaderRegistry#advanceEpoch()} (membarrier, epoch store, membarrier) and scans. If the
 * reader saw the old datum, the scan must have seen the reader. This is what the JIT's ordering of
 * the reader's opaque store before its later loads plus the kernel's barrier must give; the twin
 * {@link MembarrierMissingStress} shows the same shape failing without the barrier. Where
 * membarrier is unavailable the registry is the fenced one (the fallback), so the test still holds.
 *
 * r1 = datum the reader saw (0 old, 1 new); r2 = 1 if the scan found no reader holding the grace period.
 */
@JCStressTest
@Description("EBR_MEMBARRIER reader publish (no fence) vs grace period with membarrier")
@Outcome(id = "0, 1", expect = FORBIDDEN, desc = "reader saw old data and the scan missed the reader")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "reader saw old data; the scan waits for it")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw new data; the scan saw it anyway")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader entered after the scan and saw new data")
@State
public class MembarrierPublishScanStress {
    private final ReaderRegistry registry = new ReaderRegistry(false, Membarrier.available());
    private final ReaderSlot slot = registry.registerDedicated(Thread.currentThread(), s -> { });
    private int datum;

    @Actor
    public void reader(II_Result r) {
        slot.ebrEnter();
        r.r1 = datum;
    }

    @Actor
    public void writer(II_Result r) {
        datum = 1;
        long target = registry.advanceEpoch();
        r.r2 = ReaderRegistry.firstBlocker(registry.slots(), 0, target) < 0 ? 1 : 0;
    }
}
