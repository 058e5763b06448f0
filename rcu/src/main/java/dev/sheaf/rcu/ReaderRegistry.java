package dev.sheaf.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import dev.sheaf.rcu.internal.PerThreadTable;

/*
 * Implementation notes: the global reader epoch and the set of reader slots.
 *
 * epoch: starts at 1 and only the grace-period driver (one at a time, under GracePeriods' lock)
 *   advances it, by a volatile store followed by a full fence, after which it scans the slots with
 *   acquire loads. With asymmetricFence (Rcu.Flavor.EBR_MEMBARRIER and Membarrier available) the
 *   driver issues membarrier(PRIVATE_EXPEDITED) before and after the epoch store instead, and the
 *   slots it creates do not fence on entry (ReaderSlot's notes). The barrier after the store is the
 *   writer half of the store-buffering pattern (liburcu's memb flavour issues it before it reads the
 *   readers' counters); the one before is its "write new ptr before changing the qparity": a reader
 *   that loads the new epoch then loads after the updater's unlink without a fence of its own. The
 *   downcall is a call the JIT moves no memory access across, and the kernel fences the caller
 *   before and after it. close() replaces it with CLOSED (negative), which readers treat as the closed flag,
 *   so the EBR fast path needs no extra load for "everything after close() throws".
 * slots: copy-on-write array of every slot the scan must look at (dedicated and pooled), replaced
 *   under registrationLock. A slot added after a scan loaded the array is safe to miss: its owner's
 *   first publication follows the volatile array store, and the scan's fence precedes its array
 *   load, so such a reader's loads see the writer's updates (same store-buffering argument as in
 *   ReaderSlot). With asymmetricFence the membarrier after the epoch store precedes the array load:
 *   a reader whose barrier point followed its array store would be seen by that load, so a missed
 *   reader's barrier point precedes its array store and hence its section's loads.
 * pool: copy-on-write array of the slots lent to virtual threads, a subset of slots. A virtual thread
 *   claims a free one by CAS at its outermost section (or when it goes online) and returns it at the
 *   end, so the pool grows only to the number of virtual threads inside a section at the same time.
 *   Probing starts at a hash of the thread id, which also makes the holder's own lookup short.
 * threadSlots: the implicit API's PerThreadTable of platform threads' dedicated slots. An owner
 *   installs its slot on registration; the sweep removes it when it reaps the slot of a dead owner.
 *   Rcu.Reader slots are never in it.
 * Reclamation: dedicated slots whose owner died are removed by sweep(), which runs on the
 *   registration slow path, every 64 grace periods and whenever a scan finds a blocking slot's
 *   occupant dead. An owner that died inside a section (nesting > 0) is reported; either way the slot
 *   is cleared, so a dead thread - like an offline one - never holds a grace period back. A slot of
 *   an Rcu.Reader borrowed by another thread stays while that borrower is inside a section (see
 *   ReaderSlot); a borrower that died inside one is reported and its section cleared. Pooled slots
 *   held by a dead virtual thread are cleared and returned to the pool by the scan (reapPooled).
 *
 * Lock order: GracePeriods.gpLock may be held while taking registrationLock, never the reverse.
 * registrationLock protects only the replacement of the slots/pool arrays.
 *
 * Map: padding chain (ReaderRegistryPad0, ReaderRegistryFields: epoch, ReaderRegistryPad1); fields;
 * epoch (advance, close); scan (quiescentFor, firstBlocker); thread -> implicit slot; dedicated slots
 * (register, unregister, sweep, reap); pooled slots (find, claim, reap); ReadSection close path.
 */
abstract class ReaderRegistryPad0 {
    byte p000, p001, p002, p003, p004, p005, p006, p007, p010, p011, p012, p013, p014, p015, p016, p017;
    byte p020, p021, p022, p023, p024, p025, p026, p027, p030, p031, p032, p033, p034, p035, p036, p037;
    byte p040, p041, p042, p043, p044, p045, p046, p047, p050, p051, p052, p053, p054, p055, p056, p057;
    byte p060, p061, p062, p063, p064, p065, p066, p067, p070, p071, p072, p073, p074, p075, p076, p077;
    byte p100, p101, p102, p103, p104, p105, p106, p107, p110, p111, p112, p113, p114, p115, p116, p117;
    byte p120, p121, p122, p123, p124, p125, p126, p127, p130, p131, p132, p133, p134, p135, p136, p137;
    byte p140, p141, p142, p143, p144, p145, p146, p147, p150, p151, p152, p153, p154, p155, p156, p157;
    byte p160, p161, p162, p163, p164, p165, p166, p167, p170, p171, p172, p173, p174, p175, p176, p177;
}

abstract class ReaderRegistryFields extends ReaderRegistryPad0 {
    volatile long epoch = 1;
}

abstract class ReaderRegistryPad1 extends ReaderRegistryFields {
    byte q000, q001, q002, q003, q004, q005, q006, q007, q010, q011, q012, q013, q014, q015, q016, q017;
    byte q020, q021, q022, q023, q024, q025, q026, q027, q030, q031, q032, q033, q034, q035, q036, q037;
    byte q040, q041, q042, q043, q044, q045, q046, q047, q050, q051, q052, q053, q054, q055, q056, q057;
    byte q060, q061, q062, q063, q064, q065, q066, q067, q070, q071, q072, q073, q074, q075, q076, q077;
    byte q100, q101, q102, q103, q104, q105, q106, q107, q110, q111, q112, q113, q114, q115, q116, q117;
    byte q120, q121, q122, q123, q124, q125, q126, q127, q130, q131, q132, q133, q134, q135, q136, q137;
    byte q140, q141, q142, q143, q144, q145, q146, q147, q150, q151, q152, q153, q154, q155, q156, q157;
    byte q160, q161, q162, q163, q164, q165, q166, q167, q170, q171, q172, q173, q174, q175, q176, q177;
}

final class ReaderRegistry extends ReaderRegistryPad1 {
    static final long CLOSED = Long.MIN_VALUE;
    private static final ReaderSlot[] NONE = new ReaderSlot[0];
    private static final VarHandle EPOCH;

    static {
        try {
            EPOCH = MethodHandles.lookup().findVarHandle(ReaderRegistryFields.class, "epoch", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final boolean qsbr;
    /** Grace periods issue membarrier; slots of this registry do not fence on EBR entry. */
    final boolean asymmetricFence;
    /** Implicit slots of platform threads; a dead owner's entry leaves it when the sweep reaps the slot. */
    private final PerThreadTable<ReaderSlot> threadSlots = new PerThreadTable<>(ReaderSlot.class);
    private final ReentrantLock registrationLock = new ReentrantLock();
    private volatile ReaderSlot[] slots = NONE;
    private volatile ReaderSlot[] pool = NONE;

    /** A fenced registry (every EBR entry fences), EBR or QSBR. */
    ReaderRegistry(boolean qsbr) {
        this(qsbr, false);
    }

    /**
     * A registry; {@code asymmetricFence} (EBR only, and only where {@link Membarrier#available()})
     * moves the readers' entry fence to the grace period's membarrier.
     */
    ReaderRegistry(boolean qsbr, boolean asymmetricFence) {
        if (asymmetricFence && (qsbr || !Membarrier.available())) {
            throw new IllegalArgumentException("asymmetric fence needs EBR and membarrier");
        }
        this.qsbr = qsbr;
        this.asymmetricFence = asymmetricFence;
    }

    // ---------------------------------------------------------------- epoch

    long epoch() {
        return epoch;
    }

    long epochOpaque() {
        return (long) EPOCH.getOpaque(this);
    }

    /**
     * Advances the epoch and fences; returns the new epoch, which every slot must reach (or be 0)
     * before the grace period ends. Caller: the single grace-period driver.
     */
    long advanceEpoch() {
        long next = epoch + 1;
        if (asymmetricFence) {
            Membarrier.barrier(); // a reader that loads `next` loads after the updaters' unlinks
            epoch = next;
            Membarrier.barrier(); // writer half of the store-buffering pattern, for every reader at once
        } else {
            epoch = next;
            VarHandle.fullFence(); // writer half of the store-buffering pattern (see ReaderSlot)
        }
        return next;
    }

    /**
     * Marks the registry closed: EBR readers see it on their epoch load; QSBR slots get the CLOSED
     * marker themselves (a QSBR section entry reads only its own slot). A QSBR owner racing with
     * close() may overwrite the marker with a quiescent-state store; it then fails at its next
     * quiescentState() instead, which reads the global epoch.
     */
    void close() {
        epoch = CLOSED;
        if (qsbr) {
            for (ReaderSlot s : slots) {
                s.markClosed();
            }
        }
    }

    // ---------------------------------------------------------------- scan

    ReaderSlot[] slots() {
        return slots;
    }

    /**
     * True if the slot does not hold back a grace period whose target epoch is {@code target}: its
     * owner's epoch and its borrower's (always 0 except on a borrowed Rcu.Reader, same cache line).
     */
    static boolean quiescentFor(ReaderSlot s, long target) {
        long v = s.epochAcquire();
        if (v != 0 && v < target) {
            return false;
        }
        long b = s.borrowEpochAcquire();
        return b == 0 || b >= target;
    }

    /**
     * One scan pass: the index of the first slot at or after {@code from} that holds back
     * {@code target}, or -1 if none does.
     */
    static int firstBlocker(ReaderSlot[] snapshot, int from, long target) {
        for (int i = from; i < snapshot.length; i++) {
            if (!quiescentFor(snapshot[i], target)) {
                return i;
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- thread -> implicit slot

    /** The implicit API's thread -> dedicated slot table (see PerThreadTable). */
    PerThreadTable<ReaderSlot> threadSlots() {
        return threadSlots;
    }

    /** The calling platform thread's implicit slot (its table slot or the overflow), or null. */
    ReaderSlot implicitSlot() {
        return threadSlots.get();
    }

    /** Registers the calling platform thread's implicit slot and installs it in the table. */
    ReaderSlot registerImplicit(Thread owner, Consumer<ReaderSlot> deadReport) {
        ReaderSlot s = registerDedicated(new ReaderSlot(this, owner, false), deadReport);
        threadSlots.put(s);
        return s;
    }

    // ---------------------------------------------------------------- dedicated slots

    /** Registers a dedicated slot that is not a Reader's (the implicit API; tests). */
    ReaderSlot registerDedicated(Thread owner, Consumer<ReaderSlot> deadReport) {
        return registerDedicated(new ReaderSlot(this, owner, false), deadReport);
    }

    /** Registers an Rcu.Reader's slot: other threads may borrow it (ReaderSlot's handshake). */
    ReaderSlot registerHandle(Thread owner, Consumer<ReaderSlot> deadReport) {
        return registerDedicated(new ReaderSlot(this, owner, true), deadReport);
    }

    /**
     * True if an Rcu.Reader owner fences between its announcement and its borrowState load; false
     * if borrowers issue membarrier instead (EBR_MEMBARRIER; QSBR where membarrier is available).
     * QSBR looks Membarrier up only here, on the first Reader registration.
     */
    boolean handleFence() {
        return qsbr ? !Membarrier.available() : !asymmetricFence;
    }

    private ReaderSlot registerDedicated(ReaderSlot s, Consumer<ReaderSlot> deadReport) {
        registrationLock.lock();
        try {
            sweepLocked(deadReport);
            ReaderSlot[] old = slots;
            ReaderSlot[] next = Arrays.copyOf(old, old.length + 1);
            next[old.length] = s;
            slots = next;
        } finally {
            registrationLock.unlock();
        }
        return s;
    }

    void unregister(ReaderSlot s) {
        registrationLock.lock();
        try {
            removeLocked(s);
        } finally {
            registrationLock.unlock();
        }
    }

    private void removeLocked(ReaderSlot s) {
        if (s.removed) {
            return;
        }
        s.retired = true;
        s.removed = true; // a Reader's slot, never in threadSlots
        ReaderSlot[] old = slots;
        int n = 0;
        ReaderSlot[] next = new ReaderSlot[old.length - 1];
        for (ReaderSlot x : old) {
            if (x != s) {
                next[n++] = x;
            }
        }
        slots = next;
    }

    /**
     * Removes dedicated slots whose owner died; a dead owner (or borrower, see ReaderSlot) still
     * inside a section is passed to {@code deadReport} first and cleared. Returns the number of
     * slots removed.
     */
    int sweep(Consumer<ReaderSlot> deadReport) {
        registrationLock.lock();
        try {
            return sweepLocked(deadReport);
        } finally {
            registrationLock.unlock();
        }
    }

    private int sweepLocked(Consumer<ReaderSlot> deadReport) {
        ReaderSlot[] old = slots;
        int dead = 0;
        for (ReaderSlot s : old) {
            if (!s.pooled && reapDedicated(s, deadReport)) {
                dead++;
            }
        }
        if (dead == 0) {
            return 0;
        }
        ReaderSlot[] next = new ReaderSlot[old.length - dead];
        int n = 0;
        for (ReaderSlot s : old) {
            if (!s.removed) {
                next[n++] = s;
            }
        }
        slots = next;
        return dead;
    }

    /**
     * One dedicated slot of the sweep (registrationLock held): clears a dead borrower's section,
     * and marks the slot removed if its owner is dead and no live borrower is inside a section.
     */
    private boolean reapDedicated(ReaderSlot s, Consumer<ReaderSlot> deadReport) {
        if (s.removed) {
            return false; // not in the array any more (a concurrent unregister races only by lock)
        }
        Thread b = s.borrower();
        if (b != null) {
            if (b.isAlive()) {
                return false; // its section is protected whatever happened to the owner
            }
            // Died inside its section or attempt (it ends the borrow when it leaves);
            // isAlive() == false orders its writes before ours.
            if (s.borrowNesting > 0) {
                deadReport.accept(s);
            }
            s.clearDeadBorrower();
        }
        if (s.owner.isAlive()) {
            return false;
        }
        s.retired = true; // volatile store, then the volatile borrowState load: see ReaderSlot's notes
        if (s.borrowStateVolatile() != ReaderSlot.FREE) {
            return false; // a borrow attempt got in first; a later sweep removes the slot after it ends
        }
        // nesting is safe to read: the owner is dead (isAlive() == false orders its last writes).
        if (s.nesting > 0) {
            deadReport.accept(s);
        }
        s.clearDead();
        s.removed = true;
        threadSlots.remove(s); // the owner is dead; a no-op for a Reader's slot
        return true;
    }

    // ---------------------------------------------------------------- pooled slots (virtual threads)

    private static int probeStart(Thread t, int length) {
        long id = t.threadId();
        int h = (int) (id ^ (id >>> 32)) * 0x9E3779B9;
        return (h >>> 1) % length;
    }

    /** The pooled slot held by {@code t}, or null. */
    ReaderSlot findPooled(Thread t) {
        ReaderSlot[] p = pool;
        int n = p.length;
        if (n == 0) {
            return null;
        }
        int start = probeStart(t, n);
        for (int i = 0; i < n; i++) {
            int j = start + i;
            ReaderSlot s = p[j < n ? j : j - n];
            if (s.heldBy(t)) {
                return s;
            }
        }
        return null;
    }

    /** Claims a free pooled slot for {@code t}, growing the pool if every slot is held. */
    ReaderSlot claimPooled(Thread t) {
        ReaderSlot[] p = pool;
        int n = p.length;
        if (n > 0) {
            int start = probeStart(t, n);
            for (int i = 0; i < n; i++) {
                int j = start + i;
                ReaderSlot s = p[j < n ? j : j - n];
                if (s.tryClaim(t)) {
                    return s;
                }
            }
        }
        ReaderSlot s = new ReaderSlot(this);
        s.tryClaim(t);
        registrationLock.lock();
        try {
            ReaderSlot[] oldPool = pool;
            ReaderSlot[] nextPool = Arrays.copyOf(oldPool, oldPool.length + 1);
            nextPool[oldPool.length] = s;
            ReaderSlot[] old = slots;
            ReaderSlot[] next = Arrays.copyOf(old, old.length + 1);
            next[old.length] = s;
            slots = next;
            pool = nextPool;
        } finally {
            registrationLock.unlock();
        }
        return s;
    }

    int poolSize() {
        return pool.length;
    }

    /** Pooled slots held by a dead virtual thread: reported, cleared and returned to the pool. */
    void reapPooled(ReaderSlot s, Consumer<ReaderSlot> deadReport) {
        Thread t = s.thread();
        if (t != null && !t.isAlive() && s.isClaimed()) {
            if (s.nesting > 0) { // a QSBR thread that died online but outside a section is simply offline
                deadReport.accept(s);
            }
            s.clearDead();
            s.release();
        }
    }

    // ---------------------------------------------------------------- ReadSection close path

    /** Leaves a section on {@code s} (used by ReadSection.close()). */
    void exit(ReaderSlot s) {
        if (qsbr) {
            s.qsbrExit();
        } else if (s.ebrExit() == 0 && s.pooled) {
            s.release();
        }
    }
}
