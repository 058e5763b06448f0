package dev.sheaf.rcu;

import java.time.Duration;

/**
 * A user-space RCU domain. SKELETON: the signatures are the contract; the
 * implementation lands with the RCU issue.
 */
public final class Rcu implements AutoCloseable {

    /** How readers tell the domain they are outside every read section. */
    public enum Flavor { EBR, QSBR }

    /** Garbage-free handle for try-with-resources read sections. */
    public interface ReadSection extends AutoCloseable {
        @Override
        void close();
    }

    /** Counters of a domain. */
    public record Stats(long gracePeriods, long callbacksInvoked, long longestGracePeriodNanos, long stallsReported) { }

    public static Rcu create() { return builder().build(); }

    public static Builder builder() { return new Builder(); }

    public static final class Builder {
        Flavor flavor = Flavor.EBR;
        String name = "rcu";
        Duration stallTimeout = Duration.ofSeconds(21);

        public Builder flavor(Flavor flavor) { this.flavor = flavor; return this; }
        public Builder name(String name) { this.name = name; return this; }
        public Builder stallTimeout(Duration stallTimeout) { this.stallTimeout = stallTimeout; return this; }
        public Rcu build() { return new Rcu(this); }
    }

    private Rcu(Builder b) { }

    public void readLock() { throw new UnsupportedOperationException(); }
    public void readUnlock() { throw new UnsupportedOperationException(); }
    public ReadSection read() { throw new UnsupportedOperationException(); }
    public boolean inReadSection() { throw new UnsupportedOperationException(); }
    public void quiescentState() { throw new UnsupportedOperationException(); }
    public void threadOnline() { throw new UnsupportedOperationException(); }
    public void threadOffline() { throw new UnsupportedOperationException(); }
    public void synchronize() { throw new UnsupportedOperationException(); }
    public void call(Runnable callback) { throw new UnsupportedOperationException(); }
    public void barrier() { throw new UnsupportedOperationException(); }
    public long getState() { throw new UnsupportedOperationException(); }
    public long startPoll() { throw new UnsupportedOperationException(); }
    public boolean pollState(long cookie) { throw new UnsupportedOperationException(); }
    public void condSynchronize(long cookie) { throw new UnsupportedOperationException(); }
    public Stats stats() { throw new UnsupportedOperationException(); }
    @Override
    public void close() { }
}
