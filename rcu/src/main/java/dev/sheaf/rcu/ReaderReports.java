package dev.sheaf.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/*
 * Implementation notes.
 *
 * Reports readers that hold grace periods back: stalls (held longer than the stall timeout, reported
 * once per section) and threads that died inside a section. Each report goes to the domain's
 * {@link System.Logger} at WARNING and, if configured, to the builder's listener. Called only by the
 * grace-period driver (under its lock) or the registration sweep.
 *
 * Map: counters; stall, diedInSection; publish (logger, listener); format; counts.
 */
/** Reports of readers that hold grace periods back: logged, counted, passed to the listener. */
final class ReaderReports {
    private static final VarHandle STALLS;
    private static final VarHandle DEAD;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STALLS = l.findVarHandle(ReaderReports.class, "stalls", long.class);
            DEAD = l.findVarHandle(ReaderReports.class, "dead", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String domain;
    private final System.Logger logger;
    private final Consumer<Rcu.ReaderReport> listener;
    /** {@link #diedInSection} as a reusable callback: the grace-period path allocates nothing. */
    final Consumer<ReaderSlot> deadReporter = this::diedInSection;
    private volatile long stalls;
    private volatile long dead;

    ReaderReports(String domain, System.Logger logger, Consumer<Rcu.ReaderReport> listener) {
        this.domain = domain;
        this.logger = logger;
        this.listener = listener;
    }

    void stall(ReaderSlot s, Thread t, long heldNanos) {
        STALLS.getAndAdd(this, 1L);
        StackTraceElement[] stack = t == null ? new StackTraceElement[0] : t.getStackTrace();
        Rcu.ReaderReport r = new Rcu.ReaderReport(Rcu.ReaderReport.Kind.STALL, domain, s.threadName(), heldNanos,
                stack);
        publish(r);
    }

    void diedInSection(ReaderSlot s) {
        DEAD.getAndAdd(this, 1L);
        Rcu.ReaderReport r = new Rcu.ReaderReport(Rcu.ReaderReport.Kind.DIED_IN_SECTION, domain, s.threadName(),
                0L, new StackTraceElement[0]);
        publish(r);
    }

    private void publish(Rcu.ReaderReport r) {
        try {
            logger.log(System.Logger.Level.WARNING, r.toString());
        } catch (RuntimeException ignored) {
            // a broken logging backend must not stop grace periods
        }
        if (listener != null) {
            try {
                listener.accept(r);
            } catch (RuntimeException ignored) {
                // same
            }
        }
    }

    /** Rcu.ReaderReport.toString(): the text that is logged. */
    static String format(Rcu.ReaderReport r) {
        StringBuilder sb = new StringBuilder();
        if (r.kind() == Rcu.ReaderReport.Kind.STALL) {
            sb.append("RCU stall in domain '").append(r.domain()).append("': reader ").append(r.thread())
                    .append(" has held a grace period for ").append(TimeUnit.NANOSECONDS.toMillis(r.heldNanos()))
                    .append(" ms");
        } else {
            sb.append("RCU reader ").append(r.thread()).append(" died inside a read section of domain '")
                    .append(r.domain()).append("'; its slot was reclaimed");
        }
        for (StackTraceElement e : r.stack()) {
            sb.append(System.lineSeparator()).append("\tat ").append(e);
        }
        return sb.toString();
    }

    long stalls() {
        return stalls;
    }

    long dead() {
        return dead;
    }
}
