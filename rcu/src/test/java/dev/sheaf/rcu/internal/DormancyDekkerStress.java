package dev.sheaf.rcu.internal;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * Dormancy's Dekker argument on the real methods: the worker publishes dormancy
 * ({@link Dormancy#prepareToDoze()}: flag, full fence) and re-checks for work; the producer
 * publishes work and calls {@link Dormancy#wake()} (full fence, flag load, CAS). At least one must
 * see the other: a worker that re-checked too early to see the work must be woken. No worker thread
 * is bound, so the wake-up is only the CAS; the worker never clears the flag here, so a producer
 * that reads it set wins the CAS.
 *
 * r1 = work the worker's re-check saw (0 none, 1 the producer's); r2 = 1 if the producer woke it.
 */
@JCStressTest
@Description("Dormancy: worker flag + fence + re-check vs producer publish + fence + flag (wake)")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "worker parks without the work and nobody wakes it")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "worker missed the work; the producer wakes it")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "worker saw the work and does not park")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "both saw each other: one spare unpark")
@State
public class DormancyDekkerStress {
    private final Dormancy dormancy = new Dormancy(0);
    private int work;

    @Actor
    public void worker(II_Result r) {
        dormancy.prepareToDoze();
        r.r1 = work;
    }

    @Actor
    public void producer(II_Result r) {
        work = 1;
        r.r2 = dormancy.wake() ? 1 : 0;
    }
}
