package dev.sheaf.rcu;

/*
 * Implementation notes.
 *
 * The RcuMXBean of one domain: every getter reads the domain's counters at the call (Rcu.stats()
 * and the worker's pending total, plain and opaque loads), so a closed domain reads its last
 * values. Registered by Rcu.Builder.build(), unregistered by Rcu.close().
 *
 * Map: getters.
 */
final class RcuJmx implements RcuMXBean {

    private final Rcu rcu;
    private final CallbackWorker worker;

    RcuJmx(Rcu rcu, CallbackWorker worker) {
        this.rcu = rcu;
        this.worker = worker;
    }

    @Override
    public String getName() {
        return rcu.name();
    }

    @Override
    public String getFlavor() {
        return rcu.flavor().name();
    }

    @Override
    public long getGracePeriodsCompleted() {
        return rcu.stats().gracePeriods();
    }

    @Override
    public long getCallbacksPending() {
        return worker.pendingTotal();
    }

    @Override
    public long getCallbacksInvoked() {
        return rcu.stats().callbacksInvoked();
    }

    @Override
    public long getCallbackFailures() {
        return rcu.stats().callbackFailures();
    }

    @Override
    public long getLongestGracePeriodNanos() {
        return rcu.stats().longestGracePeriodNanos();
    }

    @Override
    public long getStallsReported() {
        return rcu.stats().stallsReported();
    }

    @Override
    public long getDeadReadersReported() {
        return rcu.stats().deadReadersReported();
    }

    @Override
    public int getReaderSlots() {
        return rcu.stats().readerSlots();
    }
}
