package dev.sheaf.rcu;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.ReentrantLock;

import org.agrona.concurrent.IdleStrategy;

/*
 * Implementation notes: the grace-period engine (sequence numbers, shared grace periods, the scan).
 *
 * gpSeq follows the kernel's rcu_seq: an even value means idle, odd means a grace period is in
 * progress; each grace period adds 2. A cookie is the gpSeq value at which the caller's grace period
 * is known complete: snapshot() = (gpSeq + 3) & ~1, i.e. the end of the next grace period that
 * starts after the call (if one is in progress it may already have scanned past the caller's
 * readers, so it does not count). pollState(c) is one volatile read of gpSeq and a compare.
 * close() sets the sign bit, so the same single read also answers "closed".
 *
 * Sharing: whoever needs a cookie completed takes gpLock and, if the cookie is still pending, drives
 * one grace period itself; callers that arrive meanwhile park on the lock and find their cookie
 * completed by the driver when they get it (a caller that arrived during a grace period needs at
 * most the next one). A grace period with no reader in a section is thus: lock, two gpSeq stores,
 * one epoch store, one fence, one acquire load per slot, unlock - no timer, no hand-off to another
 * thread. The domain's worker drives grace periods the same way for callbacks and startPoll().
 *
 * Waiting for a reader: spin briefly, then the IdleStrategy (default: BackoffIdleStrategy, spin ->
 * yield -> park with a growing timeout), never an unbounded busy spin. While waiting the driver
 * checks whether the reader's thread died (reported, slot cleared) and whether it has held the
 * grace period longer than the stall timeout (reported once per section). The reader's thread is
 * the slot's occupant: an Rcu.Reader's borrower while it is inside a section, else the owner or
 * holder (a Reader's slot publishes two epochs, the owner's and a borrower's; the slot holds the
 * grace period back while either does, see ReaderSlot). The driver leaves a slot only once it is quiescent, never on the strength of a reap alone:
 * a reap that finds a live borrower leaves the slot published, and the wait goes on.
 *
 * Memory ordering: a caller fences before reading gpSeq (snapshot). Having read a gpSeq value older
 * than the driver's "in progress" store, its fence precedes the driver's fence (which follows that
 * store and the epoch store) in the total order of fences; with the reader's entry fence this is the
 * three-fence argument that a reader either is seen by the scan or sees the caller's updates. The
 * driver's final gpSeq store is a volatile store after the scan's acquire loads, so a waiter that
 * reads the completed gpSeq happens-after every reader's section exit (reader release -> scan acquire
 * -> gpSeq volatile -> waiter).
 *
 * Lock order: gpLock, then ReaderRegistry.registrationLock. gpLock protects the driver role: epoch
 * advance, scan, idle strategy state and the statistics written by the driver.
 *
 * Map: padding chain (GracePeriodsPad0, GracePeriodsFields: gpSeq, GracePeriodsPad1); fields;
 * cookies (snapshot, done); driving (awaitCookie, runOne, waitFor, reapDead); close; statistics.
 */
abstract class GracePeriodsPad0 {
    byte p000, p001, p002, p003, p004, p005, p006, p007, p010, p011, p012, p013, p014, p015, p016, p017;
    byte p020, p021, p022, p023, p024, p025, p026, p027, p030, p031, p032, p033, p034, p035, p036, p037;
    byte p040, p041, p042, p043, p044, p045, p046, p047, p050, p051, p052, p053, p054, p055, p056, p057;
    byte p060, p061, p062, p063, p064, p065, p066, p067, p070, p071, p072, p073, p074, p075, p076, p077;
    byte p100, p101, p102, p103, p104, p105, p106, p107, p110, p111, p112, p113, p114, p115, p116, p117;
    byte p120, p121, p122, p123, p124, p125, p126, p127, p130, p131, p132, p133, p134, p135, p136, p137;
    byte p140, p141, p142, p143, p144, p145, p146, p147, p150, p151, p152, p153, p154, p155, p156, p157;
    byte p160, p161, p162, p163, p164, p165, p166, p167, p170, p171, p172, p173, p174, p175, p176, p177;
}

abstract class GracePeriodsFields extends GracePeriodsPad0 {
    volatile long gpSeq;
}

abstract class GracePeriodsPad1 extends GracePeriodsFields {
    byte q000, q001, q002, q003, q004, q005, q006, q007, q010, q011, q012, q013, q014, q015, q016, q017;
    byte q020, q021, q022, q023, q024, q025, q026, q027, q030, q031, q032, q033, q034, q035, q036, q037;
    byte q040, q041, q042, q043, q044, q045, q046, q047, q050, q051, q052, q053, q054, q055, q056, q057;
    byte q060, q061, q062, q063, q064, q065, q066, q067, q070, q071, q072, q073, q074, q075, q076, q077;
    byte q100, q101, q102, q103, q104, q105, q106, q107, q110, q111, q112, q113, q114, q115, q116, q117;
    byte q120, q121, q122, q123, q124, q125, q126, q127, q130, q131, q132, q133, q134, q135, q136, q137;
    byte q140, q141, q142, q143, q144, q145, q146, q147, q150, q151, q152, q153, q154, q155, q156, q157;
    byte q160, q161, q162, q163, q164, q165, q166, q167, q170, q171, q172, q173, q174, q175, q176, q177;
}

final class GracePeriods extends GracePeriodsPad1 {
    private static final long CLOSED_BIT = Long.MIN_VALUE;
    /** Spins on a blocking slot before handing over to the idle strategy. */
    private static final int SPINS = 64;
    /** Grace periods between two sweeps of dead dedicated slots. */
    private static final int SWEEP_INTERVAL = 64;
    private static final VarHandle LONGEST;

    static {
        try {
            LONGEST = MethodHandles.lookup().findVarHandle(GracePeriods.class, "longestNanos", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ReentrantLock gpLock = new ReentrantLock();
    private final ReaderRegistry readers;
    private final IdleStrategy readerWait;
    private final long stallTimeoutNanos;
    private final ReaderReports reports;

    // Written by the driver under gpLock, read by stats() racily (opaque is enough for counters).
    private volatile long completed;
    private long longestNanos;

    GracePeriods(ReaderRegistry readers, IdleStrategy readerWait, long stallTimeoutNanos, ReaderReports reports) {
        this.readers = readers;
        this.readerWait = readerWait;
        this.stallTimeoutNanos = stallTimeoutNanos;
        this.reports = reports;
    }

    // ---------------------------------------------------------------- cookies

    /** Cookie for a full grace period starting after this call. Full fence first (see notes). */
    long snapshot() {
        VarHandle.fullFence();
        long s = gpSeq;
        if (s < 0) {
            throw Rcu.closedException();
        }
        return (s + 3) & ~1L;
    }

    /** One volatile read and a compare. */
    boolean done(long cookie) {
        long s = gpSeq;
        if (s < 0) {
            throw Rcu.closedException();
        }
        return s - cookie >= 0;
    }

    boolean isClosed() {
        return gpSeq < 0;
    }

    // ---------------------------------------------------------------- driving

    /** Returns once {@code cookie} has completed, driving grace periods as needed. */
    void awaitCookie(long cookie) {
        while (!done(cookie)) {
            gpLock.lock();
            try {
                if (!done(cookie)) {
                    runOne();
                }
            } finally {
                gpLock.unlock();
            }
        }
    }

    /**
     * Runs one grace period; caller holds gpLock. If a previous driver left one half done (an Error
     * escaped its scan), gpSeq is still odd: this one restarts that grace period from a fresh epoch
     * advance and a full scan, so nothing is ever marked complete without a complete scan.
     * Uninterruptible like synchronize_rcu(): an interrupt is remembered and restored at the end,
     * so that parking in the idle strategy keeps parking instead of returning at once.
     */
    @GuardedBy("gpLock")
    private void runOne() {
        long seq = gpSeq & ~1L;
        gpSeq = seq + 1;
        long start = System.nanoTime();
        boolean interrupted = false;
        try {
            long target = readers.advanceEpoch();
            ReaderSlot[] snap = readers.slots();
            int i = ReaderRegistry.firstBlocker(snap, 0, target);
            while (i >= 0) {
                interrupted |= waitFor(snap[i], target, start);
                i = ReaderRegistry.firstBlocker(snap, i + 1, target);
            }
            gpSeq = seq + 2;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        long took = System.nanoTime() - start;
        if (took > longestNanos) {
            LONGEST.setOpaque(this, took);
        }
        long c = completed + 1;
        completed = c;
        if ((c % SWEEP_INTERVAL) == 0) {
            readers.sweep(reports.deadReporter);
        }
    }

    /** Waits until {@code s} does not hold back {@code target}; returns true if interrupted meanwhile. */
    private boolean waitFor(ReaderSlot s, long target, long start) {
        for (int spin = 0; spin < SPINS; spin++) {
            if (ReaderRegistry.quiescentFor(s, target)) {
                return false;
            }
            Thread.onSpinWait();
        }
        boolean interrupted = false;
        IdleStrategy idle = readerWait;
        idle.reset();
        while (!ReaderRegistry.quiescentFor(s, target)) {
            idle.idle();
            interrupted |= Thread.interrupted();
            Thread t = s.occupant();
            if (t != null && !t.isAlive()) {
                reapDead(s); // clears the slot; the loop condition re-checks it
                continue;
            }
            long held = System.nanoTime() - start;
            if (held > stallTimeoutNanos) {
                long v = s.oldestEpoch();
                if (v != 0 && v < target && s.stallReportedEpoch != v) {
                    s.stallReportedEpoch = v;
                    reports.stall(s, t, held);
                }
            }
        }
        return interrupted;
    }

    private void reapDead(ReaderSlot s) {
        if (s.pooled) {
            readers.reapPooled(s, reports.deadReporter);
        } else {
            readers.sweep(reports.deadReporter);
        }
    }

    /** Marks the sequence closed: every later cookie operation throws. */
    void close() {
        gpLock.lock();
        try {
            gpSeq = gpSeq | CLOSED_BIT;
        } finally {
            gpLock.unlock();
        }
    }

    /** Threads parked waiting for the driver role (tests: shows callers sharing a grace period). */
    int queuedWaiters() {
        return gpLock.getQueueLength();
    }

    long completed() {
        return completed;
    }

    long longestNanos() {
        return (long) LONGEST.getOpaque(this);
    }
}
