package dev.sheaf.rcu.internal;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The broken-on-purpose twin of {@link DormancyDekkerStress}: the producer wakes with
 * {@link Dormancy#wakeIfDormant()}, which has no fence. Its flag load may pass its own work store
 * (store buffering), so "0, 0" - the worker parks without the work and nobody wakes it - is
 * expected to show up (on x86 too). It is marked ACCEPTABLE_INTERESTING rather than FORBIDDEN so
 * that the default jcstress run stays green while still showing the outcome: it is the bounded
 * delay that callers of wakeIfDormant() (Rcu.call()) accept, and the reason wake() fences.
 *
 * r1 = work the worker's re-check saw (0 none, 1 the producer's); r2 = 1 if the producer woke it.
 */
@JCStressTest
@Description("Dormancy without the producer fence (wakeIfDormant): the missed wake-up it accepts")
@Outcome(id = "0, 0", expect = ACCEPTABLE_INTERESTING,
        desc = "missed wake-up: the work waits for the park bound (the race wake()'s fence closes)")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "worker missed the work; the producer wakes it")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "worker saw the work and does not park")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "both saw each other: one spare unpark")
@State
public class DormancyNoFenceStress {
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
        r.r2 = dormancy.wakeIfDormant() ? 1 : 0;
    }
}
