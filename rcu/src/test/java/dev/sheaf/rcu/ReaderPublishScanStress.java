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
 * The reader-publish / grace-period-scan store-buffering shape, on the real code: the reader enters
 * an EBR section through {@link ReaderSlot#ebrEnter()} (publish epoch, full fence) and then loads the
 * shared datum; the writer updates the datum ("unlink"), advances the epoch through
 * {@link ReaderRegistry#advanceEpoch()} (volatile store, full fence) and scans the slots with
 * {@link ReaderRegistry#firstBlocker}. If the reader saw the old datum, the scan must have seen the
 * reader (or the writer would free memory the reader still uses). Lives in package dev.sheaf.rcu
 * because the slot and registry are package-private.
 *
 * r1 = datum the reader saw (0 old, 1 new); r2 = 1 if the scan found no reader holding the grace period.
 */
@JCStressTest
@Description("RCU reader publish vs grace-period scan (store buffering)")
@Outcome(id = "0, 1", expect = FORBIDDEN, desc = "reader saw old data and the scan missed the reader")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "reader saw old data; the scan waits for it")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "reader saw new data; the scan saw it anyway")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "reader entered after the scan and saw new data")
@State
public class ReaderPublishScanStress {
    private final ReaderRegistry registry = new ReaderRegistry(false);
    private final ReaderSlot slot = registry.registerDedicated(Thread.currentThread(), s -> { });
    private int datum;

    @Actor
    public void reader(II_Result r) {
        slot.ebrEnter();
        r.r1 = datum;
        // stays inside the section: the grace period this scan belongs to must wait for it
    }

    @Actor
    public void writer(II_Result r) {
        datum = 1;
        long target = registry.advanceEpoch();
        r.r2 = ReaderRegistry.firstBlocker(registry.slots(), 0, target) < 0 ? 1 : 0;
    }
}
