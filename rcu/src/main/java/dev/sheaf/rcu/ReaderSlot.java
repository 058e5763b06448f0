package dev.sheaf.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import dev.sheaf.rcu.internal.PerThreadTable;

/*
 * Implementation notes: one reader's published state.
 *
 * A slot belongs to exactly one thread at a time: a platform thread that read through the implicit
 * API (dedicated slot, found through ReaderRegistry's PerThreadTable of implicit slots, kept
 * until the thread dies and a sweep drops it), an explicit Rcu.Reader handle
 * (dedicated slot, held by the caller), or a virtual thread that borrowed a pooled slot for the
 * duration of its outermost read section (EBR) or its online period (QSBR).
 *
 * epoch: 0 means quiescent (EBR: outside every section; QSBR: offline). Otherwise it is the global
 *   epoch the owner observed when it entered its outermost section (EBR) or last reported a
 *   quiescent state / went online (QSBR). Written by the owner (or a borrower), read by the
 *   grace-period scan.
 *   - 0 -> e (EBR outermost entry, QSBR online): opaque store then VarHandle.fullFence(). This is the
 *     reader half of a store-buffering pattern: reader {store slot; load shared data}, writer
 *     {store shared data (unlink); advance epoch; full fence; load slot}. With a full fence on both
 *     sides at least one thread sees the other's store: either the scan sees the slot and waits, or
 *     the reader's loads see the unlink. A plain or release store alone could sit in the store
 *     buffer while the reader already loads the old pointer (x86 reorders exactly this).
 *   - e -> 0 (EBR exit, QSBR offline) and e -> e' (QSBR quiescent state): release store, so that
 *     every load the reader made in the section happens-before the scan that observes the change
 *     and hence before the writer frees the memory. A stale view makes the writer wait longer,
 *     never shorter.
 *   - Why a reader that observed the new epoch N sees the writer's unlink: the updater fences
 *     (GracePeriods.snapshot) before reading gpSeq and reads the value before the driver's gpSeq
 *     store, which precedes the epoch store N; the reader's fence after its epoch load (EBR entry,
 *     QSBR online, and QSBR quiescent state when the epoch moved) then comes after the updater's
 *     fence in the fences' total order, so its later loads see the unlink. Without that fence the
 *     argument would lean on multi-copy atomicity (true on x86 and ARMv8, not promised by the JMM).
 *     An unchanged epoch needs no new fence: the previous report already fenced, and any grace
 *     period that advanced past it waits for this slot.
 * Asymmetric fence (Rcu.Flavor.EBR_MEMBARRIER, slots with entryFence false): the 0 -> e store is
 *   opaque and not followed by a fence; the grace-period driver issues membarrier(PRIVATE_EXPEDITED)
 *   instead (ReaderRegistry.advanceEpoch), which acts as a full fence executed by this thread at some
 *   point of its program during the call. Either that point follows the slot store, and the scan
 *   after the call sees the slot; or it precedes the store, and the reader's later loads follow a
 *   fence that follows the driver's (and so the updater's) fence: the same two cases as with the
 *   reader's own fence. What the reader still needs is that its own instruction stream keeps
 *   program order: the JIT must not move later loads above the epoch store (the CPU may, but the
 *   membarrier IPI orders whatever the CPU did). The JMM offers no compiler-only StoreLoad fence;
 *   what is relied on is HotSpot's: C2 compiles every VarHandle access stronger than plain (opaque
 *   here) as an Unsafe access that C2Access::needs_cpu_membar() brackets with MemBarCPUOrder nodes
 *   (C2AccessFence, barrierSetC2.cpp), membars on all memory that no memory access is scheduled
 *   across; C1 kills its value map at Unsafe stores and does not move loads; the interpreter runs
 *   bytecodes in order. A virtual thread that moves to another carrier between the store and its
 *   loads passes through the scheduler's CASes (full fences). MembarrierPublishScanStress checks
 *   the shape on this JVM, MembarrierMissingStress shows the outcome without the driver's barrier.
 *   A reader that observed the new epoch: the driver also issues a membarrier before the epoch
 *   store, so such a reader's barrier point precedes its epoch load and hence its later loads.
 * Closing: EBR entries see the registry's negative epoch; QSBR slots receive ReaderRegistry.CLOSED
 *   themselves (negative, so "epoch <= 0" is the single check on the QSBR entry path).
 * nesting: section depth, a plain field of the thread using the slot: the owner, or the borrower of
 *   an Rcu.Reader (below), whose CAS and release of borrower order it with the owner's accesses.
 *   Other threads read it only after that thread has terminated (Thread.isAlive() == false gives
 *   happens-before) or after a release of borrower they have seen.
 *
 * Rcu.Reader slots lent to another thread ("one thread at a time"): a thread other than the owner
 * enters only by CAS of borrower null -> itself, and clears borrower (release, after its epoch
 * release store) when it leaves its outermost section. While borrower is set:
 *   - the borrower is the slot's occupant: the scan checks its liveness, not the owner's, and the
 *     owner's own lock() refuses (its fast path loads borrower; one thread at a time);
 *   - the sweep never clears the slot while the borrower lives, even if the owner has died.
 * A dead owner ends the handle: the sweep stores retired (volatile) and then loads borrower; a
 * borrower CASes borrower and then loads retired (and the owner's liveness). Volatile accesses are
 * sequentially consistent, so at least one side sees the other: either the borrower refuses (and
 * clears borrower), or the sweep leaves the slot registered until that section ends. A borrower
 * that dies inside its section is reported and cleared like a dead owner; the owner, if alive,
 * keeps the handle (the sweep clears the section before releasing borrower, so the owner's later
 * writes follow the clearing).
 * retired (volatile): no section may start on the slot any more (closed, reaped, or being reaped);
 *   removed (volatile, written under registrationLock): the slot has left the registry's array.
 *
 * The hot fields sit on their own cache lines (padding superclasses, as in JCTools), so a reader
 * entering a section dirties only its own line and the scan's loads do not false-share with other
 * readers. borrower sits there too: an Rcu.Reader owner's lock()/unlock() loads it on every call and
 * a borrower writes it only around its sections, so the owner's section touches one line. The cold fields after the right pad are written on claim/release and by the scan.
 *
 * Map: padding chain (ReaderSlotPad0 on PerThreadTable.Entry, ReaderSlotFields: epoch, nesting,
 * entryFence, borrower;
 * ReaderSlotPad1); cold fields; owner side EBR; owner side QSBR; borrowers; ReadSection; scan side;
 * pool side.
 */
abstract class ReaderSlotPad0 extends PerThreadTable.Entry {
    ReaderSlotPad0(long ownerTid) {
        super(ownerTid);
    }

    byte p000, p001, p002, p003, p004, p005, p006, p007, p010, p011, p012, p013, p014, p015, p016, p017;
    byte p020, p021, p022, p023, p024, p025, p026, p027, p030, p031, p032, p033, p034, p035, p036, p037;
    byte p040, p041, p042, p043, p044, p045, p046, p047, p050, p051, p052, p053, p054, p055, p056, p057;
    byte p060, p061, p062, p063, p064, p065, p066, p067, p070, p071, p072, p073, p074, p075, p076, p077;
    byte p100, p101, p102, p103, p104, p105, p106, p107, p110, p111, p112, p113, p114, p115, p116, p117;
    byte p120, p121, p122, p123, p124, p125, p126, p127, p130, p131, p132, p133, p134, p135, p136, p137;
    byte p140, p141, p142, p143, p144, p145, p146, p147, p150, p151, p152, p153, p154, p155, p156, p157;
    byte p160, p161, p162, p163, p164, p165, p166, p167, p170, p171, p172, p173, p174, p175, p176, p177;
}

abstract class ReaderSlotFields extends ReaderSlotPad0 {
    ReaderSlotFields(long ownerTid, boolean entryFence) {
        super(ownerTid);
        this.entryFence = entryFence;
    }

    /**
     * True: an EBR outermost entry fences after publishing its epoch. False (EBR_MEMBARRIER with
     * membarrier available): the grace period's membarrier stands in for it. On the hot line, read
     * with nesting.
     */
    final boolean entryFence;

    /** See the implementation notes; accessed through {@link ReaderSlot#EPOCH} except for owner reads. */
    long epoch;
    /** Section depth; owner-only. */
    int nesting;
    /**
     * Rcu.Reader slots: the non-owner thread inside a section on it now, or null (see the notes).
     * On the hot line: the owner's lock()/unlock() load it next to nesting.
     */
    @SuppressWarnings("unused") // read and written through ReaderSlot's BORROWER VarHandle
    volatile Thread borrower;
}

abstract class ReaderSlotPad1 extends ReaderSlotFields {
    ReaderSlotPad1(long ownerTid, boolean entryFence) {
        super(ownerTid, entryFence);
    }

    byte q000, q001, q002, q003, q004, q005, q006, q007, q010, q011, q012, q013, q014, q015, q016, q017;
    byte q020, q021, q022, q023, q024, q025, q026, q027, q030, q031, q032, q033, q034, q035, q036, q037;
    byte q040, q041, q042, q043, q044, q045, q046, q047, q050, q051, q052, q053, q054, q055, q056, q057;
    byte q060, q061, q062, q063, q064, q065, q066, q067, q070, q071, q072, q073, q074, q075, q076, q077;
    byte q100, q101, q102, q103, q104, q105, q106, q107, q110, q111, q112, q113, q114, q115, q116, q117;
    byte q120, q121, q122, q123, q124, q125, q126, q127, q130, q131, q132, q133, q134, q135, q136, q137;
    byte q140, q141, q142, q143, q144, q145, q146, q147, q150, q151, q152, q153, q154, q155, q156, q157;
    byte q160, q161, q162, q163, q164, q165, q166, q167, q170, q171, q172, q173, q174, q175, q176, q177;
}

final class ReaderSlot extends ReaderSlotPad1 implements Rcu.ReadSection {
    static final VarHandle EPOCH;
    private static final VarHandle CLAIMED;
    private static final VarHandle BORROWER;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            EPOCH = lookup.findVarHandle(ReaderSlotFields.class, "epoch", long.class);
            CLAIMED = lookup.findVarHandle(ReaderSlot.class, "claimed", int.class);
            BORROWER = lookup.findVarHandle(ReaderSlotFields.class, "borrower", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final ReaderRegistry registry;
    /** True for slots lent to virtual threads; false for dedicated slots. */
    final boolean pooled;
    /**
     * Dedicated slots: the owning thread (null for pooled slots); the sweep checks its liveness. A
     * dead owner's slot (and so its Thread object) is dropped by the next sweep.
     */
    final Thread owner;
    /** Pooled slots: the virtual thread holding the slot now, or null. */
    private volatile Thread holder;
    /** Pooled slots: 1 while held. CAS 0 -> 1 claims; release store 1 -> 0 returns. */
    @SuppressWarnings("unused") // read and written through the CLAIMED VarHandle
    private int claimed;
    /** nesting value of a closed Rcu.Reader: every later lock() fails on the existing nesting check. */
    static final int RETIRED_NESTING = Integer.MIN_VALUE / 2;
    /**
     * Dedicated slots: no section may start any more (closed, owner dead); set before a reaped slot
     * leaves the array, see the notes on borrowers.
     */
    volatile boolean retired;
    /** Set (under registrationLock) once a dedicated slot has left the registry's array. */
    volatile boolean removed;
    /** Handles: taken offline by their owner for a blocking call (owner-only). */
    boolean offlineForWait;
    /** Epoch value of the section already reported as stalled (report once per section). */
    long stallReportedEpoch;

    ReaderSlot(ReaderRegistry registry, Thread owner) {
        super(owner.threadId(), !registry.asymmetricFence);
        this.registry = registry;
        this.pooled = false;
        this.owner = owner;
    }

    ReaderSlot(ReaderRegistry registry) {
        super(0L, !registry.asymmetricFence);
        this.registry = registry;
        this.pooled = true;
        this.owner = null;
    }

    // ---------------------------------------------------------------- owner side, EBR

    /** Enters a read section (EBR, fenced or asymmetric). The epoch read doubles as the closed check. */
    void ebrEnter() {
        int n = nesting;
        if (n <= 0) {
            if (n < 0) {
                throw new IllegalStateException("this Rcu.Reader has been closed");
            }
            long e = registry.epoch();
            if (e <= 0) {
                throw Rcu.closedException();
            }
            EPOCH.setOpaque(this, e); // opaque, not plain: C2 keeps later loads below it (see the notes)
            if (entryFence) {
                VarHandle.fullFence(); // store->load: see the implementation notes
            }
        }
        nesting = n + 1;
    }

    /** Leaves a read section (EBR); returns the remaining depth. */
    int ebrExit() {
        int n = nesting - 1;
        if (n < 0) {
            throw new IllegalStateException("readUnlock() without a matching readLock()");
        }
        nesting = n;
        if (n == 0) {
            EPOCH.setRelease(this, 0L);
        }
        return n;
    }

    // ---------------------------------------------------------------- owner side, QSBR

    /**
     * Enters a section (QSBR): one load of the own slot and the nesting increment. Closed domains
     * are detected through the slot too: close() stores {@link ReaderRegistry#CLOSED} into every
     * QSBR slot, so no load of shared state is needed here.
     */
    void qsbrEnter() {
        if (epoch <= 0) {
            throw epoch == 0
                    ? ImplicitReaders.notOnline()
                    : Rcu.closedException();
        }
        nesting++;
    }

    int qsbrExit() {
        int n = nesting - 1;
        if (n < 0) {
            throw new IllegalStateException("readUnlock() without a matching readLock()");
        }
        nesting = n;
        return n;
    }

    boolean online() {
        return epoch > 0;
    }

    /** close(), QSBR: marks the slot so the owner's next section or quiescent state fails. */
    void markClosed() {
        EPOCH.setRelease(this, ReaderRegistry.CLOSED);
    }

    void qsbrOnline() {
        if (epoch != 0) {
            if (epoch < 0) {
                throw Rcu.closedException();
            }
            return;
        }
        long e = registry.epoch();
        if (e <= 0) {
            throw Rcu.closedException();
        }
        EPOCH.setOpaque(this, e);
        VarHandle.fullFence(); // 0 -> e is the same store-buffering case as an EBR entry
    }

    void qsbrOffline() {
        if (nesting > 0) {
            throw new IllegalStateException("threadOffline() inside a read section");
        }
        EPOCH.setRelease(this, 0L);
    }

    void qsbrQuiescent() {
        if (nesting > 0) {
            throw new IllegalStateException("quiescentState() inside a read section");
        }
        long mine = epoch;
        if (mine <= 0) {
            throw mine == 0 ? new IllegalStateException("quiescentState() on a thread that is not online")
                    : Rcu.closedException();
        }
        long e = registry.epoch(); // acquire: later loads see everything published before epoch e
        if (e <= 0) {
            throw Rcu.closedException();
        }
        if (e != mine) {
            EPOCH.setRelease(this, e);
            // Orders the epoch load before the loads of the next "section" (see the notes): only
            // paid when the epoch moved since the last report, i.e. at most once per grace period.
            VarHandle.fullFence();
        }
    }

    // ---------------------------------------------------------------- borrowers (Rcu.Reader on another thread)

    /** The borrower, acquire: a null seen here orders a sweep's clearing before the caller's writes. */
    Thread borrower() {
        return (Thread) BORROWER.getAcquire(this);
    }

    /**
     * The borrower, volatile: the sweep's half of the handshake (retired store, then this load) must
     * be two synchronization actions for the store-buffering argument; an acquire load may be
     * ordered before a volatile store (a release lets later accesses move up).
     */
    Thread borrowerVolatile() {
        return (Thread) BORROWER.getVolatile(this);
    }

    /** Claims the slot for {@code t}'s section (a full fence, see the notes); false if borrowed. */
    boolean tryBorrow(Thread t) {
        return BORROWER.compareAndSet(this, (Thread) null, t);
    }

    /** Ends a borrow: after the section's epoch store, so a sweep that sees null sees it quiescent. */
    void endBorrow() {
        BORROWER.setRelease(this, (Thread) null);
    }

    /** True if the owner is dead or the slot was retired: no new section may start on it. */
    boolean ownerGone() {
        return retired || !owner.isAlive();
    }

    /** True if {@code t} is inside a section on this slot (as owner or borrower). */
    boolean inSectionOf(Thread t) {
        Thread b = borrower();
        return b != null ? b == t : thread() == t && nesting > 0;
    }

    // ---------------------------------------------------------------- ReadSection (try-with-resources)

    @Override
    public void close() {
        registry.exit(this);
    }

    // ---------------------------------------------------------------- scan side

    long epochAcquire() {
        return (long) EPOCH.getAcquire(this);
    }

    /** The thread that owns or holds the slot now, or null (pooled and free). */
    Thread thread() {
        return pooled ? holder : owner;
    }

    /** The thread whose section the slot may hold now: the borrower if any, else thread(). */
    Thread occupant() {
        Thread b = pooled ? null : borrower();
        return b != null ? b : thread();
    }

    String threadName() {
        if (pooled) {
            Thread t = holder;
            return t == null ? "<free pooled slot>" : t.toString();
        }
        Thread b = borrower();
        return b != null ? b + " (on an Rcu.Reader of " + owner + ")" : owner.toString();
    }

    /** Clears a slot whose owner died (scan side, after Thread.isAlive() returned false). */
    void clearDead() {
        nesting = 0;
        EPOCH.setRelease(this, 0L);
    }

    // ---------------------------------------------------------------- pool side

    boolean tryClaim(Thread t) {
        if ((int) CLAIMED.getOpaque(this) != 0 || !CLAIMED.compareAndSet(this, 0, 1)) {
            return false;
        }
        holder = t;
        return true;
    }

    boolean heldBy(Thread t) {
        return holder == t;
    }

    /** Returns a pooled slot; the caller has already cleared epoch and nesting. */
    void release() {
        holder = null;
        CLAIMED.setRelease(this, 0);
    }

    boolean isClaimed() {
        return (int) CLAIMED.getOpaque(this) != 0;
    }
}
