package dev.sheaf.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Implementation notes.
 *
 * A fixed block of queued callbacks: the unit a producer hands to the worker. The producer fills
 * {@code callbacks[count]} and publishes with a release store of {@code count}; when full it links a
 * fresh chunk through {@code next} (release) and never touches this one again. The worker reads
 * {@code count} and {@code next} with acquire loads, runs and clears the entries, and recycles a
 * chunk once it has moved past it.
 *
 * Map: fields; count (publishCount, countAcquire); link (link, nextAcquire); reset.
 */
/** A fixed block of queued callbacks: the unit a producer hands to the worker. */
final class CallbackChunk {
    static final int CAPACITY = 1024;
    private static final VarHandle COUNT;
    private static final VarHandle NEXT;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            COUNT = l.findVarHandle(CallbackChunk.class, "count", int.class);
            NEXT = l.findVarHandle(CallbackChunk.class, "next", CallbackChunk.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Runnable[] callbacks = new Runnable[CAPACITY];
    /** Producer: plain reads of its own value, release stores. Consumer: acquire loads. */
    int count;
    CallbackChunk next;

    void publishCount(int n) {
        COUNT.setRelease(this, n);
    }

    int countAcquire() {
        return (int) COUNT.getAcquire(this);
    }

    void link(CallbackChunk n) {
        NEXT.setRelease(this, n);
    }

    CallbackChunk nextAcquire() {
        return (CallbackChunk) NEXT.getAcquire(this);
    }

    /** Worker side, before recycling: every entry has already been cleared while running it. */
    void reset() {
        count = 0;
        next = null;
    }
}
