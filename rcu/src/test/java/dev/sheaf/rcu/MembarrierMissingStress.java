package dev.sheaf.rcu;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The broken-on-purpose twin of {@link MembarrierPublishScanStress}: the reader enters exactly as
 * an EBR_MEMBARRIER reader does (opaque epoch store, no fence), but the writer scans without the
 * membarrier (and without a fence of its own). The reader's store may still sit in its store buffer
 * while its load already returns the old datum, and the writer's scan may read the slot before that
 * store is visible, so "0, 1" - the reader uses the old datum and the grace period misses it - is
 * expected to show up (on x86 too). Marked ACCEPTABLE_INTERESTING rather than FORBIDDEN so that the
 * run stays green while showing the outcome: it is why advanceEpoch() issues membarrier on that path.
 * The writer's datum store and slot load are plain/acquire accesses (no volatile store, whose x86
 * code would fence).
 *
 * r1 = datum the reader saw (0 old, 1 new); r2 = 1 if the scan found no reader.
 */
@JCStressTest
@Description("EBR_MEMBARRIER reader publish vs a scan without membarrier: the race the barrier closes")
@Outcome(id = "0, 1", expect = ACCEPTABLE_INTERESTING,
        desc = "reader saw old data and the scan missed it: a grace period would free under the reader")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "reader saw old data; the scan saw the reader")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw new data; the scan saw it anyway")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader entered after the scan and saw new data")
@State
public class MembarrierMissingStress {
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
        // the scan of a grace period whose target is the next epoch, without advancing or fencing
        long target = registry.epochOpaque() + 1;
        r.r2 = ReaderRegistry.firstBlocker(registry.slots(), 0, target) < 0 ? 1 : 0;
    }
}
