package dev.sheaf.rcu;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes: a domain's explicit Rcu.Reader handles.
 *
 * handles: copy-on-write array of the dedicated slots of registered handles, replaced under
 *   handleLock (a leaf lock). Blocking calls read it to refuse a caller inside a section on a
 *   handle and to take the caller's own online QSBR handles offline for the wait. register() drops
 *   slots the registry has reaped (owner dead, no borrower left), so threads that register a Reader
 *   and die without closing it do not grow the array.
 *
 * Owner and borrowers: the owner's lock()/unlock() (in Rcu.Reader) add one compare with the
 *   current thread and one acquire load of the slot's borrower to the section. Any other thread -
 *   or the owner while the slot is borrowed - comes here: a thread other than the owner borrows the
 *   slot by CAS for its outermost section, after checking the owner is alive and the slot not
 *   retired, and re-checks both after the CAS (a full fence): a sweep that retired the slot before
 *   the CAS is seen; one that retires it after sees the borrow and leaves the slot. A dead owner
 *   ends the handle for good; a live borrower's section is never reaped. ReaderSlot's notes give
 *   the handshake with the sweep, ReaderBorrowReapStress checks it.
 *
 * offlineForWait (QSBR): a blocking call takes the calling thread's own online handles offline and
 *   marks them in that owner-only field; the same thread brings them back online after the wait.
 *
 * Map: fields; registration (add, unregister); borrowed sections (lockShared, unlockShared);
 * handle life (checkUsable, close); the calling thread's handles (inSectionOf, onlineOwnedBy,
 * takeOffline, bringBackOnline); errors.
 */
/** The explicit reader handles of one domain: registration, borrowing, and the per-thread queries. */
final class ReaderHandles {
    private final boolean qsbr;
    private final ReaderRegistry readers;
    private final ReaderReports reports;
    private final ReentrantLock handleLock = new ReentrantLock();
    private volatile ReaderSlot[] handles = new ReaderSlot[0];

    ReaderHandles(boolean qsbr, ReaderRegistry readers, ReaderReports reports) {
        this.qsbr = qsbr;
        this.readers = readers;
        this.reports = reports;
    }

    // ---------------------------------------------------------------- registration

    /** Registers a dedicated slot owned by {@code owner} as a handle (QSBR: online). */
    ReaderSlot add(Thread owner) {
        ReaderSlot s = readers.registerDedicated(owner, reports.deadReporter);
        handleLock.lock();
        try {
            ReaderSlot[] old = handles;
            ReaderSlot[] next = new ReaderSlot[old.length + 1];
            int n = 0;
            for (ReaderSlot h : old) {
                if (!h.removed) {
                    next[n++] = h;
                }
            }
            next[n++] = s;
            handles = n == next.length ? next : Arrays.copyOf(next, n);
        } finally {
            handleLock.unlock();
        }
        if (qsbr) {
            s.qsbrOnline();
        }
        return s;
    }

    private void unregister(ReaderSlot s) {
        readers.unregister(s);
        handleLock.lock();
        try {
            ReaderSlot[] old = handles;
            int n = 0;
            ReaderSlot[] next = new ReaderSlot[old.length];
            for (ReaderSlot x : old) {
                if (x != s) {
                    next[n++] = x;
                }
            }
            handles = Arrays.copyOf(next, n);
        } finally {
            handleLock.unlock();
        }
    }

    // ---------------------------------------------------------------- borrowed sections

    private void enter(ReaderSlot s) {
        if (qsbr) {
            s.qsbrEnter();
        } else {
            s.ebrEnter();
        }
    }

    private int exit(ReaderSlot s) {
        return qsbr ? s.qsbrExit() : s.ebrExit();
    }

    /** Reader.lock() by a borrower, or by the owner of a borrowed slot (see the notes). */
    void lockShared(ReaderSlot s, Thread owner) {
        Thread t = Thread.currentThread();
        Thread b = s.borrower();
        if (b != null && b != t && !b.isAlive()) {
            readers.sweep(reports.deadReporter); // a borrower died inside its section: clear it
            b = s.borrower();
        }
        if (b == t) {
            enter(s); // nested section of the borrower
            return;
        }
        if (b != null) {
            throw inUseBy(b);
        }
        if (t == owner) {
            enter(s);
            return;
        }
        if (s.nesting == ReaderSlot.RETIRED_NESTING) {
            throw closedHandle();
        }
        if (s.ownerGone()) {
            throw ownerGone(owner);
        }
        if (!s.tryBorrow(t)) {
            Thread other = s.borrower();
            throw inUseBy(other != null ? other : owner);
        }
        // Re-check after the CAS (a full fence): a sweep that marked the slot retired before
        // our CAS is seen here; one that marks it after sees our borrow and leaves the slot.
        boolean ok = false;
        try {
            if (s.ownerGone()) {
                throw ownerGone(owner);
            }
            int n = s.nesting;
            if (n != 0) {
                throw n < 0 ? closedHandle() : inUseBy(owner);
            }
            enter(s);
            ok = true;
        } finally {
            if (!ok) {
                s.endBorrow();
            }
        }
    }

    /** Reader.unlock() off the owner's fast path (see the notes). */
    void unlockShared(ReaderSlot s, Thread owner) {
        Thread t = Thread.currentThread();
        Thread b = s.borrower();
        if (b == null && t == owner) {
            exit(s); // the borrow ended between the fast path's load and ours
            return;
        }
        if (b != t) {
            throw b == null ? new IllegalStateException("readUnlock() without a matching readLock()") : inUseBy(b);
        }
        if (exit(s) == 0) {
            s.endBorrow(); // after ebrExit's epoch release store
        }
    }

    // ---------------------------------------------------------------- handle life

    /** Reader.online(): refuses a closed handle and one whose owner died. */
    void checkUsable(ReaderSlot s, Thread owner) {
        if (s.nesting < 0) {
            throw closedHandle();
        }
        if (s.ownerGone()) {
            throw ownerGone(owner);
        }
    }

    /** Reader.close(): unregisters the handle; it must not be inside a section. Idempotent. */
    void close(ReaderSlot s, Thread owner) {
        int n = s.nesting;
        if (n == ReaderSlot.RETIRED_NESTING) {
            return;
        }
        if (!owner.isAlive()) {
            readers.sweep(reports.deadReporter); // reaps a section the dead owner left open
            n = s.nesting;
        }
        if (n > 0 || s.borrower() != null) {
            throw new IllegalStateException("Rcu.Reader closed inside a read section");
        }
        ReaderSlot.EPOCH.setRelease(s, 0L);
        s.nesting = ReaderSlot.RETIRED_NESTING;
        unregister(s);
    }

    // ---------------------------------------------------------------- the calling thread's handles

    /** True if {@code t} is inside a section on any handle (its own or borrowed). */
    boolean inSectionOf(Thread t) {
        for (ReaderSlot h : handles) {
            if (h.inSectionOf(t)) {
                return true;
            }
        }
        return false;
    }

    /** QSBR: true if a handle {@code t} registered is online. */
    boolean onlineOwnedBy(Thread t) {
        for (ReaderSlot h : handles) {
            if (h.owner == t && h.online()) {
                return true;
            }
        }
        return false;
    }

    /** QSBR: takes {@code t}'s online handles offline for a blocking call, remembering which. */
    void takeOffline(Thread t) {
        for (ReaderSlot h : handles) {
            if (h.thread() == t && h.online()) {
                h.qsbrOffline();
                h.offlineForWait = true;
            }
        }
    }

    /** QSBR: brings back online the handles takeOffline(t) took offline. */
    void bringBackOnline(Thread t) {
        for (ReaderSlot h : handles) {
            if (h.offlineForWait && h.thread() == t) {
                h.offlineForWait = false;
                h.qsbrOnline();
            }
        }
    }

    // ---------------------------------------------------------------- errors

    private static IllegalStateException closedHandle() {
        return new IllegalStateException("this Rcu.Reader has been closed");
    }

    private static IllegalStateException ownerGone(Thread owner) {
        return new IllegalStateException("this Rcu.Reader's registering thread " + owner
                + " has died and its slot is reclaimed: register a new Reader on the reading thread");
    }

    private static IllegalStateException inUseBy(Thread t) {
        return new IllegalStateException("this Rcu.Reader is inside a read section of " + t
                + ": use a Reader from one thread at a time");
    }
}
