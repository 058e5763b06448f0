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
 * Owner and borrowers: owner and borrower each keep their own nesting and epoch in the slot, and
 *   decide who may be inside by announce-then-check on both sides (ReaderSlot's notes give the
 *   protocol and its memory ordering; OwnerLockVsBorrowStress checks it per read mode):
 *   - the owner's lock() (Rcu.Reader, ReaderSlot.handleEbrEnter/handleQsbrEnter) compares the
 *     current thread, announces its outermost section (nesting, EBR epoch, the EBR entry fence) and
 *     then loads borrowState once; nested entries only count. Refused only if a borrower had
 *     committed: it comes here (ownerRefused) for the message, or to reap a borrower that died
 *     inside its section and retry once. Its unlock() touches only its own state.
 *   - any other thread borrows here for its outermost section: it checks the owner is alive and
 *     the slot not retired, claims borrowState by CAS (a full fence), re-checks both (a sweep that
 *     retired the slot before the CAS is seen; one that retires it after sees the claim and leaves
 *     the slot), issues membarrier where the owner does not fence, reads the owner's nesting and
 *     commits by CAS, or backs out of its own claim. A dead owner ends the handle for good; a live
 *     borrower's section is never reaped. ReaderBorrowReapStress checks the handshake with the sweep.
 *
 * offlineForWait (QSBR): a blocking call takes the calling thread's own online handles offline and
 *   marks them in that owner-only field; the same thread brings them back online after the wait.
 *
 * Map: fields; registration (add, unregister); borrowed sections (ownerRefused, lockShared, unlockShared);
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
        ReaderSlot s = readers.registerHandle(owner, reports.deadReporter);
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

    /**
     * The owner's lock() after its fast path was refused (a borrower had committed; the owner's own
     * state is undone): reaps a borrower that died inside its section and retries once, else throws.
     */
    void ownerRefused(ReaderSlot s) {
        Thread b = s.borrower();
        if (b != null && !b.isAlive()) {
            readers.sweep(reports.deadReporter); // a borrower died inside its section: clear it
            if (qsbr ? s.handleQsbrEnter() : s.handleEbrEnter()) {
                return;
            }
            b = s.borrower();
        }
        throw b != null ? inUseBy(b) : new IllegalStateException(
                "this Rcu.Reader is inside a read section of another thread: use a Reader from one thread at a time");
    }

    /** Reader.lock() by a thread other than the owner (see the notes). */
    void lockShared(ReaderSlot s, Thread owner) {
        Thread t = Thread.currentThread();
        Thread b = s.borrower();
        if (b == t) {
            s.borrowEnter(); // nested section of the borrower
            return;
        }
        if (b != null && !b.isAlive()) {
            readers.sweep(reports.deadReporter); // a borrower died inside its section: clear it
        }
        if (s.ownerNesting() == ReaderSlot.RETIRED_NESTING) {
            throw closedHandle();
        }
        if (s.ownerGone()) {
            throw ownerGone(owner);
        }
        if (!s.tryBorrow(t)) {
            Thread other = s.borrower();
            throw inUseBy(other != null ? other : owner);
        }
        boolean ok = false;
        try {
            // Re-check after the CAS (a full fence): a sweep that marked the slot retired before
            // our CAS is seen here; one that marks it after sees our claim and leaves the slot.
            if (s.ownerGone()) {
                throw ownerGone(owner);
            }
            s.borrowBarrier(); // membarrier where the owner's entry has no fence (ReaderSlot's notes)
            int n = s.ownerNesting();
            if (n != 0) {
                throw n < 0 ? closedHandle() : inUseBy(owner);
            }
            if (!s.commitBorrow()) {
                throw inUseBy(owner); // the owner announced too and settled the tie for itself
            }
            s.borrowEnter();
            ok = true;
        } finally {
            if (!ok) {
                s.endBorrow(); // our claim (or commit) only; borrowEpoch was not published
            }
        }
    }

    /** Reader.unlock() by a thread other than the owner. */
    void unlockShared(ReaderSlot s) {
        Thread b = s.borrower();
        if (b != Thread.currentThread()) {
            throw b == null ? new IllegalStateException("readUnlock() without a matching readLock()") : inUseBy(b);
        }
        s.borrowExit(); // the outermost exit ends the borrow after its epoch release store
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
        Thread t = Thread.currentThread();
        if (t != owner && owner.isAlive()) {
            // nesting is the owner's own field: only the owner, or anyone once it has ended
            // (isAlive() false orders its last writes before ours), may read and retire it
            throw new WrongThreadException("Rcu.Reader of thread " + owner.getName() + " closed by "
                    + t.getName() + ": close it on its thread, or from any thread once that thread has ended");
        }
        int n = s.nesting;
        if (n == ReaderSlot.RETIRED_NESTING) {
            return;
        }
        if (!owner.isAlive()) {
            readers.sweep(reports.deadReporter); // reaps a section the dead owner left open
            n = s.nesting;
        }
        if (n > 0 || s.borrowStateVolatile() != ReaderSlot.FREE) {
            throw new IllegalStateException("Rcu.Reader closed inside a read section");
        }
        // Announce-then-check against a borrower, as an owner's entry does: a claim after this
        // store reads the negative nesting; one before it is seen by the volatile load below.
        s.retire();
        if (s.borrowStateVolatile() != ReaderSlot.FREE) {
            s.unretire();
            throw new IllegalStateException("Rcu.Reader closed inside a read section");
        }
        ReaderSlot.EPOCH.setRelease(s, 0L);
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
