package dev.sheaf.rcu;

import java.util.concurrent.TimeUnit;

import dev.sheaf.rcu.internal.Dormancy;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * The default idle strategy of a domain's own worker thread: Agrona's
 * BackoffIdleStrategy(64, 16, 1 µs, 1 ms), and once {@link Dormancy#onIdleCycle()} says the worker
 * has been idle long enough ({@link CallbackWorker#IDLE_CYCLES_BEFORE_DORMANT} empty cycles) one
 * dormant park per empty cycle ({@link CallbackWorker#doze(long)}) until a cycle finds work. Not
 * used with a user-supplied workerIdleStrategy or a user-run agent.
 */
final class DormantBackoff implements IdleStrategy {
    private final CallbackWorker worker;
    private final Dormancy dormancy;
    private final long dormantParkNanos;
    private final BackoffIdleStrategy backoff = new BackoffIdleStrategy(64, 16,
            TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(1));

    DormantBackoff(CallbackWorker worker, long dormantParkNanos) {
        this.worker = worker;
        this.dormancy = worker.dormancy;
        this.dormantParkNanos = dormantParkNanos;
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            dormancy.onBusyCycle();
            backoff.reset();
        } else if (!dormancy.onIdleCycle()) {
            backoff.idle();
        } else if (!worker.doze(dormantParkNanos)) {
            backoff.idle(); // work appeared or closing: the next cycle finds out, no busy loop
        }
    }

    @Override
    public void idle() {
        backoff.idle();
    }

    @Override
    public void reset() {
        dormancy.onBusyCycle();
        backoff.reset();
    }

    @Override
    public String alias() {
        return "dormant-backoff";
    }
}
