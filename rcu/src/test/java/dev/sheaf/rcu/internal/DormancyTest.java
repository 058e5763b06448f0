package dev.sheaf.rcu.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class DormancyTest {

    @Test
    void idleCyclesCountUpToTheThresholdAndResetOnWork() {
        Dormancy d = new Dormancy(3);
        assertFalse(d.onIdleCycle());
        assertFalse(d.onIdleCycle());
        assertFalse(d.onIdleCycle());
        assertTrue(d.onIdleCycle());
        assertTrue(d.onIdleCycle());
        d.onBusyCycle();
        assertFalse(d.onIdleCycle());
        assertThrows(IllegalArgumentException.class, () -> new Dormancy(-1));
    }

    @Test
    void oneProducerOfManyWinsTheWakeUp() {
        Dormancy d = new Dormancy(0);
        assertFalse(d.wake(), "nothing to wake before the worker dozes");
        d.prepareToDoze();
        assertTrue(d.isDormant());
        assertTrue(d.wakeIfDormant());
        assertFalse(d.isDormant());
        assertFalse(d.wake(), "the flag is cleared by the winner");
        d.prepareToDoze();
        d.endDoze();
        assertFalse(d.wake());
    }

    /** A wake-up that lands before the park leaves the permit: the park returns at once. */
    @Test
    void wakeBeforeTheParkIsNotLost() {
        Dormancy d = new Dormancy(0);
        d.bindWorker(Thread.currentThread());
        d.prepareToDoze();
        assertTrue(d.wake());
        long start = System.nanoTime();
        d.doze(TimeUnit.HOURS.toNanos(1));
        d.endDoze();
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30), "the permit ended the park");
    }

    /** wakeAlways() unparks whether or not the flag is set. */
    @Test
    void wakeAlwaysUnparksADozingWorker() throws Exception {
        Dormancy d = new Dormancy(0);
        AtomicBoolean woke = new AtomicBoolean();
        Thread w = Thread.ofPlatform().unstarted(() -> {
            d.prepareToDoze();
            try {
                d.doze(TimeUnit.HOURS.toNanos(1));
            } finally {
                d.endDoze();
            }
            woke.set(true);
        });
        d.bindWorker(w);
        w.start();
        while (w.isAlive()) {
            d.wakeAlways();
            w.join(10);
        }
        assertTrue(woke.get());
    }
}
