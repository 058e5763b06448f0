package dev.sheaf.rcu;

/**
 * The JMX view of an {@link Rcu} domain, registered on the platform MBeanServer when the domain is
 * built with {@link Rcu.Builder#jmxName(String)} and unregistered by {@link Rcu#close()}. Every
 * attribute is a racy snapshot, read on the caller's thread (a JMX connector's, say).
 */
public interface RcuMXBean {

    /**
     * The domain's name.
     *
     * @return the name given to the builder
     */
    String getName();

    /**
     * The domain's flavor ({@code EBR}, {@code EBR_MEMBARRIER} or {@code QSBR}).
     *
     * @return the flavor's name
     */
    String getFlavor();

    /**
     * Grace periods completed.
     *
     * @return the count
     */
    long getGracePeriodsCompleted();

    /**
     * Callbacks queued by {@link Rcu#call(Runnable)} and not run yet.
     *
     * @return the count
     */
    long getCallbacksPending();

    /**
     * Callbacks run.
     *
     * @return the count
     */
    long getCallbacksInvoked();

    /**
     * Callbacks that threw.
     *
     * @return the count
     */
    long getCallbackFailures();

    /**
     * Longest grace period so far.
     *
     * @return nanoseconds
     */
    long getLongestGracePeriodNanos();

    /**
     * Stall warnings issued (readers that held a grace period past the stall timeout).
     *
     * @return the count
     */
    long getStallsReported();

    /**
     * Threads found dead inside a read section (or online, QSBR).
     *
     * @return the count
     */
    long getDeadReadersReported();

    /**
     * Reader slots a grace period scans now.
     *
     * @return the count
     */
    int getReaderSlots();
}
