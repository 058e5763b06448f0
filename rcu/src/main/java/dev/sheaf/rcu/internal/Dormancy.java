package dev.sheaf.rcu.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/*
 * Implementation notes.
 *
 * One worker thread that, once idle for a while, dozes (parks for a bounded time instead of polling)
 * and the producers that wake it. The rcu domain's callback worker and the allocator's
 * free-after-grace-period worker both use it; this is the single home of the protocol and of its
 * memory-ordering argument.
 *
 * State:
 *   dormant      true from the worker's prepareToDoze() until endDoze() or a producer's CAS clears it.
 *                On its own padded line: producers read it on their publish paths, and it changes
 *                only when the worker dozes or is woken.
 *   worker       the thread to unpark, bound once before the worker's first doze.
 *   idleCycles   consecutive idle cycles; worker-only, plain, on another line than the flag.
 *
 * Worker (the one thread that dozes; every method below on that thread):
 *   each cycle that found work: onBusyCycle();
 *   each cycle that found none: if (!onIdleCycle()) back off as usual, else
 *       prepareToDoze();                       // dormant = true, then a full fence
 *       try {
 *           if (nothing pending) {             // the worker's own re-check of what producers publish
 *               doze(maxParkNanos);            // LockSupport.parkNanos, bounded
 *           }
 *       } finally {
 *           endDoze();                         // dormant = false
 *       }
 * Producer: first publish the work (the store the worker's re-check reads), then one of
 *   wake()            full fence, opaque load of dormant; if set, CAS true -> false, and the winner
 *                     unparks. Never misses a dozing worker.
 *   wakeIfDormant()   the same without the fence: a load and a branch. May miss (see below).
 *   wakeAlways()      clears dormant if set and unparks unconditionally; for work published by an
 *                     atomic read-modify-write, on paths rare enough to pay an unpark every time.
 *
 * Memory ordering. wake() and the worker form the store-buffering (Dekker) shape:
 *   worker   {dormant = true;  fullFence; load work}
 *   producer {store work;      fullFence; load dormant}
 * Full fences are totally ordered; the side whose fence comes second sees the other's store. So
 * either the re-check sees the work (the worker does not park) or the producer sees dormant (and
 * unparks). An unpark that lands after the re-check but before parkNanos is not lost: it leaves the
 * permit, and the park returns at once. With many producers, the CAS lets exactly one unpark.
 * endDoze()'s opaque clear may become visible late: a producer that still reads true wins its CAS
 * and costs one spare unpark (an empty cycle), never a lost wake-up.
 * wakeIfDormant() drops the producer's fence: its load of dormant may be satisfied before its own
 * work store is visible (store->load reordering; x86's store buffer does exactly this). If the
 * worker stores the flag and re-checks inside that window, it reads the old work and the producer
 * reads false: neither wakes the other. The work is not lost, it waits until the park bound ends
 * (or until any other wake). Use it only where that bounded delay is the documented price of a
 * fence-free publish path.
 * wakeAlways() needs no fence: whatever the flag says, the unpark either wakes a parked worker or
 * leaves the permit that ends its next park at once; the RMW that published the work orders it
 * before the unpark. It clears the flag so that later producers skip their CAS.
 * DormancyDekkerStress (jcstress) checks the wake() argument; DormancyNoFenceStress shows the
 * outcome wakeIfDormant() leaves open.
 *
 * Map: padding chain (DormancyPad0, DormancyFields, DormancyPad1); constants and fields; worker side
 * (bindWorker, onIdleCycle, onBusyCycle, prepareToDoze, doze, endDoze); producer side (wake,
 * wakeIfDormant, wakeAlways); isDormant.
 */
abstract class DormancyPad0 {
    byte p000, p001, p002, p003, p004, p005, p006, p007, p010, p011, p012, p013, p014, p015, p016, p017;
    byte p020, p021, p022, p023, p024, p025, p026, p027, p030, p031, p032, p033, p034, p035, p036, p037;
    byte p040, p041, p042, p043, p044, p045, p046, p047, p050, p051, p052, p053, p054, p055, p056, p057;
    byte p060, p061, p062, p063, p064, p065, p066, p067, p070, p071, p072, p073, p074, p075, p076, p077;
    byte p100, p101, p102, p103, p104, p105, p106, p107, p110, p111, p112, p113, p114, p115, p116, p117;
    byte p120, p121, p122, p123, p124, p125, p126, p127, p130, p131, p132, p133, p134, p135, p136, p137;
    byte p140, p141, p142, p143, p144, p145, p146, p147, p150, p151, p152, p153, p154, p155, p156, p157;
    byte p160, p161, p162, p163, p164, p165, p166, p167, p170, p171, p172, p173, p174, p175, p176, p177;
}

/** The read-mostly fields: every producer loads dormant, the worker writes it only to doze. */
abstract class DormancyFields extends DormancyPad0 {
    /** See the notes; accessed through {@link Dormancy#DORMANT} only. */
    volatile boolean dormant;
    /** The thread a wake-up unparks; null until bound. */
    volatile Thread worker;
}

abstract class DormancyPad1 extends DormancyFields {
    byte q000, q001, q002, q003, q004, q005, q006, q007, q010, q011, q012, q013, q014, q015, q016, q017;
    byte q020, q021, q022, q023, q024, q025, q026, q027, q030, q031, q032, q033, q034, q035, q036, q037;
    byte q040, q041, q042, q043, q044, q045, q046, q047, q050, q051, q052, q053, q054, q055, q056, q057;
    byte q060, q061, q062, q063, q064, q065, q066, q067, q070, q071, q072, q073, q074, q075, q076, q077;
    byte q100, q101, q102, q103, q104, q105, q106, q107, q110, q111, q112, q113, q114, q115, q116, q117;
    byte q120, q121, q122, q123, q124, q125, q126, q127, q130, q131, q132, q133, q134, q135, q136, q137;
    byte q140, q141, q142, q143, q144, q145, q146, q147, q150, q151, q152, q153, q154, q155, q156, q157;
    byte q160, q161, q162, q163, q164, q165, q166, q167, q170, q171, q172, q173, q174, q175, q176, q177;
}

/**
 * The dormancy of one worker thread: after a number of consecutive idle cycles it dozes (a bounded
 * park) instead of polling, and producers wake it. Allocation-free; no method takes a lambda.
 *
 * <p>The worker, on its own thread:
 * <pre>{@code
 * dormancy.bindWorker(Thread.currentThread());       // once, before the first doze
 * while (running) {
 *     if (doWork() > 0) {
 *         dormancy.onBusyCycle();
 *     } else if (!dormancy.onIdleCycle()) {
 *         backOff();                                  // not idle for long enough yet
 *     } else {
 *         dormancy.prepareToDoze();                   // flag, full fence
 *         try {
 *             if (nothingPending()) {                 // re-check what producers publish
 *                 dormancy.doze(maxParkNanos);
 *             }
 *         } finally {
 *             dormancy.endDoze();
 *         }
 *     }
 * }
 * }</pre>
 * A producer, on any thread, after it has published its work where {@code nothingPending()} reads
 * it: {@link #wake()} (never misses a dozing worker), {@link #wakeIfDormant()} (no fence; a wake-up
 * may be missed and the work then waits for the park bound) or {@link #wakeAlways()} (after an
 * atomic read-modify-write publish). The class's implementation notes give the memory-ordering
 * argument.
 */
public final class Dormancy extends DormancyPad1 {
    private static final VarHandle DORMANT;

    static {
        try {
            DORMANT = MethodHandles.lookup().findVarHandle(DormancyFields.class, "dormant", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long idleCyclesBeforeDoze;
    /** Consecutive idle cycles; worker-only. */
    private long idleCycles;

    /**
     * Creates the dormancy of one worker.
     *
     * @param idleCyclesBeforeDoze consecutive idle cycles after which {@link #onIdleCycle()} says
     *                             to doze; at least 0
     * @throws IllegalArgumentException if {@code idleCyclesBeforeDoze} is negative
     */
    public Dormancy(long idleCyclesBeforeDoze) {
        if (idleCyclesBeforeDoze < 0) {
            throw new IllegalArgumentException("idleCyclesBeforeDoze must be >= 0: " + idleCyclesBeforeDoze);
        }
        this.idleCyclesBeforeDoze = idleCyclesBeforeDoze;
    }

    // ---------------------------------------------------------------- worker side

    /**
     * Names the thread that dozes and that wake-ups unpark; call before its first doze.
     *
     * @param worker the worker thread
     */
    public void bindWorker(Thread worker) {
        this.worker = worker;
    }

    /**
     * Worker: counts a cycle that found no work.
     *
     * @return true once the worker has been idle for the configured number of consecutive cycles:
     *         time to doze; false while it should back off as usual
     */
    public boolean onIdleCycle() {
        if (idleCycles < idleCyclesBeforeDoze) {
            idleCycles++;
            return false;
        }
        return true;
    }

    /** Worker: a cycle found work (or the back-off was reset); the idle count starts again. */
    public void onBusyCycle() {
        idleCycles = 0;
    }

    /**
     * Worker: publishes dormancy, then a full fence, so that the re-check which follows reads what
     * every producer published before it missed the flag (see the notes).
     */
    public void prepareToDoze() {
        DORMANT.setOpaque(this, true);
        VarHandle.fullFence(); // the worker's half of the Dekker pair
    }

    /**
     * Worker, between {@link #prepareToDoze()} and {@link #endDoze()}, after its re-check found
     * nothing pending: parks up to {@code maxParkNanos}, returning early on a wake-up (or spuriously).
     *
     * @param maxParkNanos the park bound: the longest a missed wake-up can delay work
     */
    public void doze(long maxParkNanos) {
        LockSupport.parkNanos(this, maxParkNanos);
    }

    /** Worker: clears the flag after a doze or a declined re-check; late or twice costs one spare unpark. */
    public void endDoze() {
        DORMANT.setOpaque(this, false);
    }

    // ---------------------------------------------------------------- producer side

    /**
     * Producer, after publishing its work: full fence, then wakes the worker if it is dozing. Never
     * misses a worker that dozes (see the notes).
     *
     * @return true if this call cleared the flag and unparked the worker
     */
    public boolean wake() {
        VarHandle.fullFence(); // the producer's half of the Dekker pair
        return wakeIfDormant();
    }

    /**
     * Producer, after publishing its work: wakes the worker if it reads the flag set - a load and a
     * branch, no fence. May miss a worker going dormant at the same time, which then picks the work
     * up when its park bound ends (see the notes).
     *
     * @return true if this call cleared the flag and unparked the worker
     */
    public boolean wakeIfDormant() {
        if ((boolean) DORMANT.getOpaque(this) && DORMANT.compareAndSet(this, true, false)) {
            unparkWorker(); // one unpark however many producers saw the flag
            return true;
        }
        return false;
    }

    /**
     * Producer, after publishing its work with an atomic read-modify-write: unparks the worker
     * whatever the flag says (the park permit makes this race-free) and clears the flag so later
     * producers skip their CAS.
     */
    public void wakeAlways() {
        if ((boolean) DORMANT.getOpaque(this)) {
            DORMANT.compareAndSet(this, true, false);
        }
        unparkWorker();
    }

    private void unparkWorker() {
        Thread t = worker;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /**
     * Whether the worker has published dormancy (it is parked, about to park, or re-checking).
     *
     * @return the flag, read volatile
     */
    public boolean isDormant() {
        return dormant;
    }
}
