package dev.sheaf.rcu;

import dev.sheaf.rcu.internal.PerThreadTable;

/*
 * Implementation notes: which slot the implicit API (Rcu.readLock() and friends) reads through.
 *
 * Platform threads: a dedicated slot, registered on the thread's first section (EBR) or
 *   threadOnline() (QSBR) and kept while the thread lives. Rcu's fast path probes the registry's
 *   PerThreadTable array (one array load and an owner-id compare) and comes here only on a miss:
 *   the table's overflow ThreadLocal (a thread whose table slot another live thread holds), or
 *   registration. A dead owner's slot and table entry go with the registry's sweep.
 * Virtual threads never get a table entry, a ThreadLocal or a dedicated slot: they claim a pooled
 *   slot for the outermost section (QSBR: while online) and find it again by probing the pool, so
 *   the slots a grace period scans grow with the threads reading now.
 * Closing: registration checks the domain is open; sections on existing slots see the closed epoch
 *   (ReaderSlot's notes).
 *
 * Map: fields; the calling thread's slot (current, platformSlot); section slow paths (enterSlow,
 * exitSlow, virtual threads); QSBR state (quiescentState, online, offline); errors.
 */
/** The implicit API's thread -> slot lookup beyond the fast path's table probe. */
final class ImplicitReaders {
    private final Rcu rcu;
    private final boolean qsbr;
    private final ReaderRegistry readers;
    private final ReaderReports reports;
    private final ReaderSlot[] slotProbe;

    ImplicitReaders(Rcu rcu, boolean qsbr, ReaderRegistry readers, ReaderReports reports) {
        this.rcu = rcu;
        this.qsbr = qsbr;
        this.readers = readers;
        this.reports = reports;
        this.slotProbe = readers.threadSlots().probeArray();
    }

    // ---------------------------------------------------------------- the calling thread's slot

    /** The calling thread's implicit slot (pooled for a virtual thread), or null; never registers. */
    ReaderSlot current() {
        Thread t = Thread.currentThread();
        ReaderSlot s = PerThreadTable.peek(slotProbe, t.threadId());
        if (s != null) {
            return s;
        }
        return t.isVirtual() ? readers.findPooled(t) : platformSlot(t, false);
    }

    /**
     * A platform thread's slot past the table probe: the table's overflow, registering a slot if
     * {@code create}. Null if the thread has no slot.
     */
    private ReaderSlot platformSlot(Thread t, boolean create) {
        ReaderSlot s = readers.implicitSlot();
        if (s == null && create) {
            rcu.checkOpen();
            s = readers.registerImplicit(t, reports.deadReporter);
        }
        return s;
    }

    // ---------------------------------------------------------------- section slow paths

    /** readLock() after a table miss: finds or registers the slot, enters and returns it. */
    ReaderSlot enterSlow(Thread t) {
        if (t.isVirtual()) {
            return virtualLock(t);
        }
        ReaderSlot s = platformSlot(t, !qsbr);
        if (s == null) {
            throw notOnline();
        }
        if (qsbr) {
            s.qsbrEnter();
        } else {
            s.ebrEnter();
        }
        return s;
    }

    /** readUnlock() after a table miss. */
    void exitSlow(Thread t) {
        if (t.isVirtual()) {
            ReaderSlot s = readers.findPooled(t);
            if (s == null) {
                throw new IllegalStateException("readUnlock() without a matching readLock()");
            }
            readers.exit(s);
            return;
        }
        ReaderSlot s = platformSlot(t, false);
        if (s == null) {
            throw new IllegalStateException("readUnlock() without a matching readLock()");
        }
        if (qsbr) {
            s.qsbrExit();
        } else {
            s.ebrExit();
        }
    }

    private ReaderSlot virtualLock(Thread t) {
        ReaderSlot s = readers.findPooled(t);
        if (qsbr) {
            if (s == null) {
                throw notOnline();
            }
            s.qsbrEnter();
            return s;
        }
        if (s == null) {
            s = readers.claimPooled(t);
        }
        try {
            s.ebrEnter();
        } catch (RuntimeException e) {
            if (s.nesting == 0) {
                s.release();
            }
            throw e;
        }
        return s;
    }

    // ---------------------------------------------------------------- QSBR state

    /** Rcu.quiescentState(), QSBR. */
    void quiescentState() {
        ReaderSlot s = current();
        if (s == null) {
            throw notOnline();
        }
        s.qsbrQuiescent();
    }

    /** Rcu.threadOnline(), QSBR: claims (virtual) or registers (platform) the slot if needed. */
    void online() {
        Thread t = Thread.currentThread();
        ReaderSlot s;
        if (t.isVirtual()) {
            s = readers.findPooled(t);
            if (s == null) {
                s = readers.claimPooled(t);
            }
        } else {
            s = platformSlot(t, true);
        }
        s.qsbrOnline();
    }

    /** Rcu.threadOffline(), QSBR: a virtual thread gives its pooled slot back. */
    void offline() {
        Thread t = Thread.currentThread();
        if (t.isVirtual()) {
            ReaderSlot s = readers.findPooled(t);
            if (s != null) {
                s.qsbrOffline();
                s.release();
            }
        } else {
            ReaderSlot s = platformSlot(t, false);
            if (s != null) {
                s.qsbrOffline();
            }
        }
    }

    // ---------------------------------------------------------------- errors

    static IllegalStateException notOnline() {
        return new IllegalStateException("QSBR read section on a thread that is not online: call threadOnline() first");
    }
}
