package dev.sheaf.allocator.rcufree;

import dev.sheaf.rcu.internal.Dormancy;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/*
 * Implementation notes: the engine's own worker thread (ownWorker = true), which runs the drainer's
 * duty cycle, and its dormancy. With ownWorker = false the user runs the drainer as an Agrona
 * Agent (RcuFreeEngine.agent()) and there is no worker and no dormancy.
 *
 * Loop: one drainer cycle (BatchDrainer.doWork) per iteration. After work, the idle strategy is
 * reset; with something pending but nothing done (a batch waiting for its grace period), the idle
 * strategy backs off (by default up to a quarter of the drain delay); with nothing pending at all
 * the worker rests.
 *
 * Dormancy (the protocol and its memory-ordering argument live once, in dev.sheaf.rcu.internal.Dormancy).
 * An idle worker would otherwise wake every drain delay for as long as the process lives. While
 * nothingPending() holds it parks for the quiet park, max(drainDelay, MIN_QUIET_PARK_NANOS); once
 * that has held for QUIET_NANOS_BEFORE_DORMANT of consecutive cycles it dozes: Dormancy's flag and
 * fence, a re-check of nothingPending(), and if still nothing is pending a park up to the dormant
 * bound (RcuFreeSettings.dormantParkNanos, or the quiet park if longer). nothingPending() also asks
 * the target for open rcu sheaf bytes: the worker stays awake while a partly filled rcu sheaf
 * exists, so the aged flush submits it within about a drain delay.
 * The producers that can turn an idle engine busy call wake() after storing their object: the
 * first object of an open batch in freeRcu(a, off) (its slow path, also when it splices deferred
 * objects or seals) and in headless freeRcu(a), freeRcu(a, off)'s deferred push when its batch is
 * held, submitRcuSheaf, and a caller past the pending bound that may not wait, through
 * Dormancy.wake() (a full fence, then the flag): the worker's re-check sees the object or the
 * producer sees the flag. That is one fence per batch or per rcu sheaf, on once-per-batch paths.
 * freeRcu's inlined common case never wakes: a batch that already has an object cannot belong to
 * a dormant engine (the re-check would have seen it). freeRcuNoLock never wakes (no system call,
 * by contract): an object it queues on a dormant engine, or a batch it opens, waits until the park
 * times out (at most the dormant bound) unless a waking producer or an rcuBarrier gets to it first;
 * it is never lost. A later freeRcu(a, off) into a batch opened by freeRcuNoLock does not wake
 * either (not the first object) and shares that bound.
 *
 * Memory ordering: Dormancy's notes order the flag against the objects producers store. `cycles`
 * is written opaque by the worker only (a test hook). `running` is volatile: stop() clears it and
 * unparks, and the loop re-reads it every cycle (and before a doze's park).
 *
 * Map: start / stop -> run (the loop) -> dormancy: rest, doze, wake (onto Dormancy) -> test hooks.
 */
/** The engine's own worker thread: runs the drainer and goes dormant when nothing is pending. */
final class EngineWorker {

    /** How long nothingPending() must have held, in consecutive worker cycles, before the worker dozes. */
    private static final long QUIET_NANOS_BEFORE_DORMANT = 10_000_000L;
    /** Shortest quiet park: an idle worker never wakes more often than this. */
    private static final long MIN_QUIET_PARK_NANOS = 100_000L;
    private static final VarHandle CYCLES;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CYCLES = lookup.findVarHandle(EngineWorker.class, "cycles", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final BatchDrainer drainer;
    private final BooleanSupplier nothingPending;
    private final Consumer<RuntimeException> onError;
    private final IdleStrategy idle;
    private final Thread thread;
    private volatile boolean running;
    /** Worker loop iterations, written opaque by the worker only; a test hook. */
    @SuppressWarnings("unused") // read and written through CYCLES
    private volatile long cycles;

    private final Dormancy dormancy;
    private final long quietPark;
    private final long dormantPark;

    /**
     * A worker (not started) running {@code drainer}; {@code nothingPending} is the engine's idle
     * test, {@code onError} reports what a cycle threw.
     */
    EngineWorker(BatchDrainer drainer, BooleanSupplier nothingPending, Consumer<RuntimeException> onError,
            RcuFreeSettings settings) {
        this.drainer = drainer;
        this.nothingPending = nothingPending;
        this.onError = onError;
        this.idle = settings.idleStrategy() != null ? settings.idleStrategy()
                : new BackoffIdleStrategy(64, 16, 1_000L, Math.max(10_000L, settings.drainDelayNanos() / 4));
        this.quietPark = Math.max(settings.drainDelayNanos(), MIN_QUIET_PARK_NANOS);
        this.dormantPark = Math.max(settings.dormantParkNanos(), quietPark); // never wake more often than awake
        this.thread = Thread.ofPlatform().daemon().name("sheaf-rcu-free").unstarted(this::run);
        this.dormancy = new Dormancy(Math.max(1L, QUIET_NANOS_BEFORE_DORMANT / quietPark));
        dormancy.bindWorker(thread);
    }

    void start() {
        running = true;
        thread.start();
    }

    /** Ends the loop and joins the thread; an interrupt while joining is kept for the caller. */
    void stop() {
        running = false;
        LockSupport.unpark(thread);
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (running) {
            CYCLES.setOpaque(this, (long) CYCLES.getOpaque(this) + 1);
            int work;
            try {
                work = drainer.doWork();
            } catch (AgentTerminationException e) {
                break; // closed under us: stop() ends the loop too
            } catch (RuntimeException e) {
                onError.accept(e);
                work = 0;
            }
            if (work > 0) {
                busy();
                idle.reset();
            } else if (nothingPending.getAsBoolean()) {
                idle.reset();
                rest();
            } else {
                busy();
                idle.idle();
            }
        }
    }

    // ------------------------------------------------------------------ dormancy

    /** Something was done or is pending: the quiet streak is over. */
    private void busy() {
        dormancy.onBusyCycle();
    }

    /** Nothing is pending: a quiet park, or, after a quiet streak of QUIET_NANOS_BEFORE_DORMANT, a doze. */
    private void rest() {
        if (!dormancy.onIdleCycle()) {
            LockSupport.parkNanos(this, quietPark);
            return;
        }
        dormancy.prepareToDoze();
        try {
            if (running && nothingPending.getAsBoolean()) { // declined: something appeared, the next cycle sees it
                dormancy.doze(dormantPark);
            }
        } finally {
            dormancy.endDoze();
        }
    }

    /**
     * Wakes a dormant worker; called by a producer after it has stored its object, on once-per-batch
     * slow paths only (Dormancy.wake: never misses a dozing worker).
     */
    void wake() {
        dormancy.wake();
    }

    // ------------------------------------------------------------------ test hooks

    /** The worker has published dormancy (parked or about to park). */
    boolean isDormant() {
        return dormancy.isDormant();
    }

    /** Iterations of the loop so far. */
    long cycles() {
        return (long) CYCLES.getOpaque(this);
    }

    Thread thread() {
        return thread;
    }
}
