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
 *   quiescent state / went online (QSBR). Written by the owner, read by the grace-period scan.
 *   borrowEpoch is the same for the section of an Rcu.Reader's borrower (below), published like an
 *   EBR entry in every mode: a QSBR owner's quiescent-state report covers its own references, not a
 *   borrower's.
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
 * nesting: section depth of the thread the slot belongs to (owner, holder), a plain field of that
 *   thread. Other threads read it only after that thread has terminated (Thread.isAlive() == false
 *   gives happens-before), or - an Rcu.Reader's borrower - in the handshake below.
 *
 * Rcu.Reader slots lent to another thread ("one thread at a time"). Owner and borrower each have
 * their own state: the owner epoch and nesting, a borrower borrowEpoch and borrowNesting. The scan
 * treats the slot as inside a section if either epoch holds the grace period back, so whichever
 * thread is inside is protected by its own publication, and either side backs out of its own state
 * only, without ever writing the other's.
 *   borrowState (int, on the hot line) decides who may be inside:
 *     FREE      no borrow attempt;
 *     CLAIMED   (CLAIMED_BY_BORROWER) a borrower won the CAS FREE -> CLAIMED and is deciding;
 *     BORROWED  the borrower committed (CAS CLAIMED -> BORROWED) and is inside its section;
 *     OWNER_WON the owner, inside its section, settled a tie (CAS CLAIMED -> OWNER_WON); the
 *               claiming borrower then backs out.
 *   Only a borrower leaves CLAIMED, BORROWED and OWNER_WON: endBorrow() clears borrower and then
 *   stores FREE (release, after its own epoch release store). borrower (volatile) names the thread
 *   of the current attempt, stored right after the claim; it is for identity (nested sections,
 *   liveness, messages), not for the decision.
 *   Handshake (announce, then check, on both sides; store buffering as for the epoch):
 *     owner, outermost entry: nesting 0 -> 1 (opaque), epoch store, [StoreLoad], load borrowState;
 *     borrower: CAS FREE -> CLAIMED (a full fence), [StoreLoad], load the owner's nesting.
 *   With a StoreLoad ordering on both sides at least one sees the other. The owner's StoreLoad is
 *   the EBR entry fence itself (fenced EBR: free), or, where the owner does not fence (handleFence
 *   false: EBR_MEMBARRIER, and QSBR where Membarrier is available), the borrower issues
 *   membarrier(PRIVATE_EXPEDITED) after its CAS: the owner executes a full fence at some point of
 *   its program during that call; if that point follows its nesting store, the borrower's later load
 *   sees the store; if it precedes it, the owner's borrowState load follows a fence that follows the
 *   borrower's CAS and sees CLAIMED or a later value. The owner keeps program order between its
 *   nesting store and that load by the opaque store (the HotSpot property of the asymmetric fence
 *   above). QSBR without Membarrier: the owner fences (handleFence true); borrowing stays rare, so
 *   the heavy side belongs on the borrower wherever a heavy barrier exists.
 *   Decisions, each with no wait on the other thread:
 *     - borrower: the owner's nesting != 0 -> back out (endBorrow; negative: the handle is closed);
 *       0 -> CAS CLAIMED -> BORROWED; success: publish borrowEpoch and enter; failure (the
 *       owner wrote OWNER_WON) -> back out.
 *     - owner (borrowState as loaded after its announcement): FREE -> inside (every later claim sees
 *       the announcement); OWNER_WON -> inside (a borrower that lost to this owner's earlier
 *       section is still backing out and cannot commit); CLAIMED -> one CAS CLAIMED -> OWNER_WON:
 *       success or a witness FREE -> inside, witness BORROWED -> refused; BORROWED -> refused. A
 *       refused owner clears its own nesting and epoch, and lock() throws "in use" - the borrower
 *       did commit, so the refusal is not spurious. A tie therefore costs the owner at most one CAS.
 *   Nested entries skip the check: while the owner's nesting is positive every claim backs out.
 *   The outermost exit stores nesting 0 with release, so a borrower that reads 0 (acquire) enters
 *   after the owner's section; the borrower's endBorrow() gives the owner the same order.
 *   Reader.close() announces the same way: nesting RETIRED_NESTING (volatile store), then a
 *   volatile load of borrowState; a claim it misses reads the negative nesting and backs out, and
 *   close() undoes its store and refuses if it sees a claim.
 * Borrowers and the sweep (a dead owner ends the handle): the sweep stores retired (volatile) and
 *   then loads borrowState; a borrower CASes borrowState and then loads retired (and the owner's
 *   liveness). Volatile accesses are sequentially consistent, so at least one side sees the other:
 *   either the borrower refuses (and ends its borrow), or the sweep leaves the slot registered
 *   until the borrow ends. A borrower that dies inside its section is reported and its half
 *   cleared like a dead owner; the owner, if alive, keeps the handle.
 * retired (volatile): no section may start on the slot any more (closed, reaped, or being reaped);
 *   removed (volatile, written under registrationLock): the slot has left the registry's array.
 *
 * The hot fields sit on their own cache lines (padding superclasses, as in JCTools), so a reader
 * entering a section dirties only its own line and the scan's loads do not false-share with other
 * readers. The borrower's fields sit there too: an Rcu.Reader owner's outermost lock() loads
 * borrowState and a borrower writes its fields only around its sections, so the owner's section
 * touches one line. The cold fields after the right pad are written on claim/release and by the scan.
 *
 * Map: padding chain (ReaderSlotPad0 on PerThreadTable.Entry, ReaderSlotFields: epoch, nesting,
 * entryFence, handleFence, borrowEpoch, borrowNesting, borrowState, borrower; ReaderSlotPad1); cold
 * fields; owner side EBR; owner side QSBR; Rcu.Reader owner; borrowers; ReadSection; scan side;
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
    ReaderSlotFields(long ownerTid, boolean entryFence, boolean handleFence) {
        super(ownerTid);
        this.entryFence = entryFence;
        this.handleFence = handleFence;
    }

    /**
     * True: an EBR outermost entry fences after publishing its epoch. False (EBR_MEMBARRIER with
     * membarrier available): the grace period's membarrier stands in for it. On the hot line, read
     * with nesting.
     */
    final boolean entryFence;
    /**
     * Rcu.Reader slots: true if a full fence separates the owner's outermost announcement from its
     * borrowState load; false if a borrower issues membarrier instead (see the notes).
     */
    final boolean handleFence;

    /** See the implementation notes; accessed through {@link ReaderSlot#EPOCH} except for owner reads. */
    long epoch;
    /** Section depth of the owner (or holder); see the notes for the borrower's handshake read. */
    int nesting;
    /** An Rcu.Reader borrower's published epoch, through {@link ReaderSlot#BORROW_EPOCH}. */
    long borrowEpoch;
    /** An Rcu.Reader borrower's section depth; the borrower's own field. */
    int borrowNesting;
    /** FREE, CLAIMED, BORROWED or OWNER_WON (see the notes), through the BORROW_STATE VarHandle. */
    @SuppressWarnings("unused") // read and written through ReaderSlot's BORROW_STATE VarHandle
    volatile int borrowState;
    /**
     * Rcu.Reader slots: the thread of the current borrow attempt or section, or null (see the
     * notes). Identity only; borrowState decides.
     */
    @SuppressWarnings("unused") // read and written through ReaderSlot's BORROWER VarHandle
    volatile Thread borrower;
}

abstract class ReaderSlotPad1 extends ReaderSlotFields {
    ReaderSlotPad1(long ownerTid, boolean entryFence, boolean handleFence) {
        super(ownerTid, entryFence, handleFence);
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
    private static final VarHandle NESTING;
    private static final VarHandle BORROW_EPOCH;
    private static final VarHandle BORROW_STATE;
    private static final VarHandle CLAIMED;
    private static final VarHandle BORROWER;

    /** borrowState: no borrow attempt. */
    static final int FREE = 0;
    /** borrowState: a borrower claimed the slot and is deciding. */
    static final int CLAIMED_BY_BORROWER = 1;
    /** borrowState: the borrower committed and is inside its section. */
    static final int BORROWED = 2;
    /** borrowState: the owner won a tie; the claiming borrower backs out. */
    static final int OWNER_WON = 3;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            EPOCH = lookup.findVarHandle(ReaderSlotFields.class, "epoch", long.class);
            NESTING = lookup.findVarHandle(ReaderSlotFields.class, "nesting", int.class);
            BORROW_EPOCH = lookup.findVarHandle(ReaderSlotFields.class, "borrowEpoch", long.class);
            BORROW_STATE = lookup.findVarHandle(ReaderSlotFields.class, "borrowState", int.class);
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

    /** A dedicated slot; {@code handle}: an Rcu.Reader's, which other threads may borrow. */
    ReaderSlot(ReaderRegistry registry, Thread owner, boolean handle) {
        super(owner.threadId(), !registry.asymmetricFence, handle ? registry.handleFence() : !registry.asymmetricFence);
        this.registry = registry;
        this.pooled = false;
        this.owner = owner;
    }

    ReaderSlot(ReaderRegistry registry) {
        super(0L, !registry.asymmetricFence, !registry.asymmetricFence);
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

    // ---------------------------------------------------------------- Rcu.Reader owner

    /**
     * The owner's lock(), EBR: enters, or returns false (own state undone) if a borrower committed
     * first. Outermost: announce (nesting, epoch), the entry fence, then the borrowState check.
     */
    boolean handleEbrEnter() {
        int n = nesting;
        if (n != 0) {
            if (n < 0) {
                throw new IllegalStateException("this Rcu.Reader has been closed");
            }
            nesting = n + 1; // nested: the outermost entry already excluded borrowers
            return true;
        }
        long e = registry.epoch();
        if (e <= 0) {
            throw Rcu.closedException();
        }
        NESTING.setOpaque(this, 1); // the announcement a borrower reads; opaque keeps it above the load below
        EPOCH.setOpaque(this, e);
        if (entryFence) {
            VarHandle.fullFence(); // the EBR entry fence is also the handshake's StoreLoad (see the notes)
        }
        int b = (int) BORROW_STATE.getAcquire(this);
        return b == FREE || ownerSettles(b);
    }

    /** The owner's lock(), QSBR: as handleEbrEnter(), with the online check and no epoch store. */
    boolean handleQsbrEnter() {
        long e = epoch;
        if (e <= 0) {
            throw e == 0 ? ImplicitReaders.notOnline() : Rcu.closedException();
        }
        int n = nesting;
        if (n != 0) {
            if (n < 0) {
                throw new IllegalStateException("this Rcu.Reader has been closed");
            }
            nesting = n + 1;
            return true;
        }
        NESTING.setOpaque(this, 1);
        if (handleFence) {
            VarHandle.fullFence(); // no membarrier for the borrower: the owner pays the StoreLoad
        }
        int b = (int) BORROW_STATE.getAcquire(this);
        return b == FREE || ownerSettles(b);
    }

    /**
     * The owner's decision when borrowState was not FREE after its announcement (see the notes): at
     * most one CAS. Refused: clears the owner's own nesting and epoch only.
     */
    private boolean ownerSettles(int state) {
        int b = state;
        if (b == CLAIMED_BY_BORROWER) {
            b = (int) BORROW_STATE.compareAndExchange(this, CLAIMED_BY_BORROWER, OWNER_WON);
            if (b == CLAIMED_BY_BORROWER) {
                return true; // the claiming borrower's commit CAS fails
            }
        }
        if (b != BORROWED) {
            return true; // FREE: later claims see the announcement; OWNER_WON: a loser still backing out
        }
        if (!registry.qsbr) {
            EPOCH.setRelease(this, 0L);
        }
        NESTING.setRelease(this, 0);
        return false;
    }

    /** The owner's unlock(), EBR; the outermost exit releases nesting after the epoch (see the notes). */
    void handleEbrExit() {
        int n = nesting - 1;
        if (n < 0) {
            throw new IllegalStateException("readUnlock() without a matching readLock()");
        }
        if (n == 0) {
            EPOCH.setRelease(this, 0L);
            NESTING.setRelease(this, 0);
        } else {
            nesting = n;
        }
    }

    /** The owner's unlock(), QSBR. */
    void handleQsbrExit() {
        int n = nesting - 1;
        if (n < 0) {
            throw new IllegalStateException("readUnlock() without a matching readLock()");
        }
        if (n == 0) {
            NESTING.setRelease(this, 0);
        } else {
            nesting = n;
        }
    }

    /** Reader.close(): nesting RETIRED_NESTING, volatile (the close side of the borrow handshake). */
    void retire() {
        NESTING.setVolatile(this, RETIRED_NESTING);
    }

    /** Reader.close() refused after retire(): the handle stays usable. */
    void unretire() {
        NESTING.setVolatile(this, 0);
    }

    /** The owner's nesting as a borrower reads it in the handshake (acquire: after its barrier). */
    int ownerNesting() {
        return (int) NESTING.getAcquire(this);
    }

    // ---------------------------------------------------------------- borrowers (Rcu.Reader on another thread)

    /** The thread of the current borrow attempt or section, or null. */
    Thread borrower() {
        return (Thread) BORROWER.getAcquire(this);
    }

    /** borrowState, volatile: the sweep's half of its handshake (retired store, then this load). */
    int borrowStateVolatile() {
        return (int) BORROW_STATE.getVolatile(this);
    }

    /** True if a borrower committed and is inside its section now. */
    boolean borrowed() {
        return (int) BORROW_STATE.getAcquire(this) == BORROWED;
    }

    /**
     * Claims the slot for {@code t}: CAS FREE -> CLAIMED (a full fence), then records {@code t}.
     * False if another attempt is in progress, a borrower is inside, or a loser is backing out.
     */
    boolean tryBorrow(Thread t) {
        if (!BORROW_STATE.compareAndSet(this, FREE, CLAIMED_BY_BORROWER)) {
            return false;
        }
        BORROWER.setVolatile(this, t);
        return true;
    }

    /**
     * The borrower's StoreLoad of the handshake where the owner does not fence: membarrier after the
     * claim's CAS and before the load of the owner's nesting (see the notes).
     *
     * @throws IllegalStateException if the kernel refuses the barrier (the caller ends its borrow)
     */
    void borrowBarrier() {
        if (!handleFence) {
            Membarrier.barrier();
        }
    }

    /** The borrower's commit: CAS CLAIMED -> BORROWED; false if the owner settled the tie for itself. */
    boolean commitBorrow() {
        return BORROW_STATE.compareAndSet(this, CLAIMED_BY_BORROWER, BORROWED);
    }

    /**
     * A committed borrower's entry (outermost or nested). The outermost one publishes borrowEpoch
     * and fences like an EBR entry in every mode: a QSBR borrower must not depend on the owner's
     * quiescent-state reports, which say nothing about another thread's references. QSBR still
     * requires the owner's Reader to be online, as the owner's own sections do.
     */
    void borrowEnter() {
        int n = borrowNesting;
        if (n == 0) {
            if (registry.qsbr && epoch <= 0) {
                throw epoch == 0 ? ImplicitReaders.notOnline() : Rcu.closedException();
            }
            long e = registry.epoch();
            if (e <= 0) {
                throw Rcu.closedException();
            }
            BORROW_EPOCH.setOpaque(this, e);
            if (entryFence) {
                VarHandle.fullFence(); // store->load, as for the owner's EBR entry
            }
        }
        borrowNesting = n + 1;
    }

    /** A borrower's exit; the outermost one clears borrowEpoch and ends the borrow. */
    void borrowExit() {
        int n = borrowNesting - 1;
        if (n < 0) {
            throw new IllegalStateException("readUnlock() without a matching readLock()");
        }
        borrowNesting = n;
        if (n == 0) {
            BORROW_EPOCH.setRelease(this, 0L);
            endBorrow();
        }
    }

    /**
     * Ends a borrow attempt or section: clears borrower, then releases borrowState FREE (after the
     * section's epoch release store, so a sweep or owner that sees FREE sees it quiescent).
     */
    void endBorrow() {
        BORROWER.setVolatile(this, (Thread) null);
        BORROW_STATE.setRelease(this, FREE);
    }

    /** True if the owner is dead or the slot was retired: no new section may start on it. */
    boolean ownerGone() {
        return retired || !owner.isAlive();
    }

    /** True if {@code t}, the calling thread, is inside a section on this slot (as owner or borrower). */
    boolean inSectionOf(Thread t) {
        if (t == thread()) {
            return nesting > 0;
        }
        return borrower() == t && borrowNesting > 0;
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

    long borrowEpochAcquire() {
        return (long) BORROW_EPOCH.getAcquire(this);
    }

    /** The older nonzero of epoch and borrowEpoch (the one holding a grace period back), or 0. */
    long oldestEpoch() {
        long e = epochAcquire();
        long b = borrowEpochAcquire();
        return b == 0 || (e != 0 && e < b) ? e : b;
    }

    /** The thread that owns or holds the slot now, or null (pooled and free). */
    Thread thread() {
        return pooled ? holder : owner;
    }

    /**
     * The thread whose section the slot may hold now: a committed borrower, else thread() (owner and
     * borrower are never inside at the same time, see the notes).
     */
    Thread occupant() {
        if (!pooled && borrowed()) {
            Thread b = borrower();
            if (b != null) {
                return b;
            }
        }
        return thread();
    }

    String threadName() {
        if (pooled) {
            Thread t = holder;
            return t == null ? "<free pooled slot>" : t.toString();
        }
        Thread b = borrowed() ? borrower() : null;
        return b != null ? b + " (on an Rcu.Reader of " + owner + ")" : owner.toString();
    }

    /** Clears the owner's half of a slot whose owner died (scan side, after isAlive() returned false). */
    void clearDead() {
        nesting = 0;
        EPOCH.setRelease(this, 0L);
    }

    /** Clears the half of a borrower that died (sweep, after isAlive() returned false) and ends its borrow. */
    void clearDeadBorrower() {
        borrowNesting = 0;
        BORROW_EPOCH.setRelease(this, 0L);
        endBorrow();
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
