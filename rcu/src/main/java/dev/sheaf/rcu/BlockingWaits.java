package dev.sheaf.rcu;

/*
 * Implementation notes: a domain's blocking calls as seen from the calling thread.
 *
 * A thread inside a read section of this domain (implicit API or a Reader handle, own or borrowed)
 * must not wait for a grace period: the grace period would wait for it. synchronize(),
 * condSynchronize(), barrier() and close() therefore refuse such a caller (checkNotInSection).
 * A QSBR thread that is online outside a section would hold back the grace period it waits for, so
 * the waiting methods take it offline for the wait - its implicit slot and the online handles it
 * owns - and bring it back online after, unless the domain closed meanwhile (goOffline,
 * comeBackOnline). mayWait() is the single answer to "may this thread block for a grace period":
 * not in a section, and for QSBR not online; it exists for callers that must not take their own
 * callers offline (Rcu.call() past its limit, the allocator's reclamation path).
 *
 * Map: fields; queries (inReadSection, mayWait); the wait (checkNotInSection, awaitCookie,
 * goOffline, comeBackOnline).
 */
/** Refusing blocking calls inside a section, and holding the caller quiescent while it waits. */
final class BlockingWaits {
    private final boolean qsbr;
    private final ImplicitReaders implicit;
    private final ReaderHandles handles;
    private final GracePeriods gracePeriods;

    BlockingWaits(boolean qsbr, ImplicitReaders implicit, ReaderHandles handles, GracePeriods gracePeriods) {
        this.qsbr = qsbr;
        this.implicit = implicit;
        this.handles = handles;
        this.gracePeriods = gracePeriods;
    }

    // ---------------------------------------------------------------- queries

    /** True if the calling thread is inside a read section of the domain (implicit or a handle). */
    boolean inReadSection() {
        ReaderSlot s = implicit.current();
        return (s != null && s.nesting > 0) || handles.inSectionOf(Thread.currentThread());
    }

    /** Rcu.mayWaitForGracePeriod(): not in a section and, QSBR, not online. */
    boolean mayWait() {
        Thread t = Thread.currentThread();
        ReaderSlot s = implicit.current();
        if (s != null && (s.nesting > 0 || (qsbr && s.online()))) {
            return false;
        }
        return !handles.inSectionOf(t) && !(qsbr && handles.onlineOwnedBy(t));
    }

    // ---------------------------------------------------------------- the wait

    /** Throws if the caller is inside a section; returns its implicit slot (or null). */
    ReaderSlot checkNotInSection(String what) {
        ReaderSlot s = implicit.current();
        if ((s != null && s.nesting > 0) || handles.inSectionOf(Thread.currentThread())) {
            throw new IllegalStateException(what + " inside a read section of the same RCU domain would deadlock");
        }
        return s;
    }

    /** Waits for {@code cookie} with the caller counted as quiescent (QSBR: offline meanwhile). */
    void awaitCookie(long cookie, String what) {
        ReaderSlot s = checkNotInSection(what);
        boolean wasOnline = goOffline(s);
        try {
            gracePeriods.awaitCookie(cookie);
        } finally {
            comeBackOnline(s, wasOnline);
        }
    }

    /**
     * QSBR: takes the calling thread's implicit slot {@code s} and its own online handles offline
     * for a blocking call. Returns whether the implicit slot was online.
     */
    boolean goOffline(ReaderSlot s) {
        if (!qsbr) {
            return false;
        }
        handles.takeOffline(Thread.currentThread());
        if (s != null && s.online()) {
            s.qsbrOffline();
            return true;
        }
        return false;
    }

    /** Undoes goOffline() after the wait, unless the domain has closed meanwhile. */
    void comeBackOnline(ReaderSlot s, boolean wasOnline) {
        if (!qsbr || gracePeriods.isClosed()) {
            return;
        }
        if (wasOnline) {
            s.qsbrOnline();
        }
        handles.bringBackOnline(Thread.currentThread());
    }
}
