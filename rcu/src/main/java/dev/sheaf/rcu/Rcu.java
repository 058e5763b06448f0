package dev.sheaf.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import dev.sheaf.rcu.internal.PerThreadTable;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/*
 * Implementation notes: the domain and how its parts fit.
 *
 *   Rcu (this class)   public API, flavor dispatch, thread -> slot lookup, error checks, close.
 *   ReaderSlot         one reader's published epoch + nesting (padded); the read-side memory ordering.
 *   ReaderRegistry     the global epoch, the copy-on-write slot array the scan reads, the pool of
 *                      slots lent to virtual threads, the thread -> slot cache, dead-slot sweeping.
 *   GracePeriods       rcu_seq-style sequence numbers and cookies, the grace-period driver (epoch
 *                      advance + scan + waiting for readers), stall and dead-reader detection.
 *   ReaderReports      System.Logger / listener reporting of stalls and dead readers.
 *   CallbackQueue/Chunk/ChunkPool  per-producer SPSC chunk chains of callbacks, recycled chunks.
 *   CallbackWorker     the Agrona Agent duty cycle: snapshot queues, one grace period, run; barrier
 *                      tickets; grace periods requested by startPoll(); dormancy of an idle own
 *                      worker (parks up to 100 ms, woken by call() / startPoll() / barrier()).
 *
 * Read side (EBR): outermost entry = load global epoch, opaque store into the own slot, full fence;
 * exit = release store of 0. QSBR: entry/exit touch only the own slot's nesting; quiescentState()
 * is a release store of the current epoch plus a full fence when the epoch moved (at most once per
 * grace period); online = the EBR entry publication. Why this is enough is
 * argued in ReaderSlot (store buffering) and GracePeriods (cookies, hand-off to waiters).
 *
 * Thread lookup for the implicit API: platform threads find their dedicated slot through a
 * direct-mapped cache indexed by thread id (hit confirmed by the slot's owner field), falling back
 * to a ThreadLocal; virtual threads never get a ThreadLocal entry or a dedicated slot, they claim a
 * pooled slot for the outermost section (QSBR: while online) and find it again by probing the pool.
 *
 * Reader handles: the owner's lock()/unlock() add one compare with the current thread and one
 * acquire load of the slot's borrower to the section; any other thread borrows the slot by CAS for
 * its outermost section and first checks the owner is alive and the slot not retired. A dead owner
 * ends the handle for good; a live borrower's section is never reaped. ReaderSlot's notes give the
 * handshake with the sweep.
 *
 * call() after queueing reads the worker's dormant flag (opaque: a load and a branch, no fence) and
 * unparks a dormant worker; CallbackWorker's notes give the one race this leaves (a callback may
 * wait up to the dormant bound for its grace period to start) and why call() pays no fence for it.
 * Before queueing, call() compares its own queue's pending count (its own produced count minus the
 * worker's opaque consumed count) with the per-queue share of the callback limit, which sits on the
 * dormant flag's line; only past it does it sum every queue (loads only) and then wait, proceed or
 * refuse (see call()'s Javadoc and CallbackWorker's notes). No locked instruction is added to the
 * fast path. A caller waits only if it may wait for a grace period (mayWaitForGracePeriod()), is not
 * running a callback (it would wait for its own duty cycle) and the domain has its own worker (a
 * user-run agent may be run by the very thread that would wait); it waits on a barrier ticket,
 * holding no lock of the domain. Refusal happens before anything is queued.
 *
 * mayWaitForGracePeriod() is the single answer to "may this thread block for a grace period": not
 * in a section of this domain (implicit or handle, own or borrowed), and for QSBR not online. The
 * waiting methods keep their documented rule (they take an online QSBR caller offline for the wait);
 * the query exists for callers that must not make that choice for their own callers.
 *
 * Locks (none on any read-side or call() fast path), in the order they may be taken:
 *   1. CallbackWorker.dutyLock       one duty cycle at a time (own thread, user agent, close drain)
 *   2. GracePeriods.gpLock           the grace-period driver role: epoch advance, scan, idle strategy
 *                                    state, driver statistics; waiters park on it and share results
 *   3. ReaderRegistry.registrationLock  replacement of the slot / pool arrays (register, sweep)
 *   leaves, never held while taking another lock:
 *      Rcu.handleLock (handle array), CallbackWorker.queueLock (queue / pool arrays),
 *      CallbackWorker.barrierLock (barrier waiters' condition; also call() waiting past the limit)
 * A callback runs under dutyLock only; it may call synchronize() (takes gpLock, order 1 -> 2) but not
 * barrier() or close(), which would wait for the duty cycle it is part of (checked, throws).
 */
/**
 * A user-space RCU (read-copy-update) domain.
 *
 * <p>Readers bracket their accesses to shared structures with {@link #readLock()}/{@link #readUnlock()}
 * (or {@code try (var s = rcu.read()) {...}}); writers publish a new version, unlink the old one and
 * then either wait with {@link #synchronize()} or hand the reclamation to {@link #call(Runnable)},
 * which runs the callback on the domain's worker after a grace period: once every reader that could
 * have seen the old version has left its section.
 *
 * <h2>Flavors</h2>
 * <ul>
 * <li>{@link Flavor#EBR} (default): each outermost section publishes the global epoch in the thread's
 *     own slot and fences; leaving clears the slot. No lock, no allocation, no shared write.
 * <li>{@link Flavor#QSBR}: sections cost nothing; a thread calls {@link #threadOnline()} before it
 *     reads, reports {@link #quiescentState()} at its own loop boundary (outside every section) and
 *     goes {@link #threadOffline()} while idle or blocking. A grace period waits for every online
 *     thread to report; a thread that dies counts as offline. {@code readLock()} on a thread that is
 *     not online throws {@link IllegalStateException}.
 * </ul>
 * In both flavors a thread blocked in {@link #synchronize()}, {@link #barrier()} or
 * {@link #condSynchronize(long)} is quiescent for that call (a QSBR thread that is online goes offline
 * for the duration and comes back online). In EBR, {@code threadOnline()}, {@code threadOffline()} and
 * {@code quiescentState()} are no-ops.
 *
 * <h2>Threads</h2>
 * A platform thread gets a slot on its first section and keeps it while alive; the slots of dead
 * threads are reclaimed. A virtual thread borrows a pooled slot for its outermost section (QSBR: while
 * online) and gives it back, so the slots scanned grow with the threads reading now, not with every
 * thread that ever read. A virtual thread may park inside a section; grace periods simply wait.
 * Hot loops can avoid the thread lookup of the implicit API with an explicit {@link Reader} handle
 * ({@link #register()}); a Reader lives as long as the thread that registered it, after which its
 * {@code lock()} throws. {@link #mayWaitForGracePeriod()} tells whether the calling thread may block
 * for a grace period.
 *
 * <h2>Grace periods and cookies</h2>
 * Concurrent {@code synchronize()} callers share grace periods. {@link #getState()} returns a cookie
 * without starting a grace period, {@link #startPoll()} also starts one, {@link #pollState(long)} is a
 * single volatile read and compare, {@link #condSynchronize(long)} waits only if the cookie's grace
 * period has not completed yet. A grace period with no reader in a section completes on the caller's
 * thread without sleeping. Callers wait for readers by spinning briefly and then with the builder's
 * {@link IdleStrategy}; a reader holding a grace period longer than the stall timeout is reported once
 * through {@link System.Logger} (and the builder's {@link Builder#readerReportListener listener}),
 * naming the thread and its stack. A thread that dies inside a section is reported and no longer
 * holds grace periods back.
 *
 * <h2>Callbacks</h2>
 * {@code call(cb)} appends to the calling thread's queue (no allocation in steady state, no lock);
 * the worker takes every queue's batch, waits for one grace period and runs them all.
 * Pending callbacks are bounded ({@link Builder#callbackLimit(long)}): past the limit a caller that
 * may wait waits for the worker, one that may not is refused past twice the limit (see
 * {@link #call(Runnable)}). {@link #barrier()} returns once every callback queued before it, from
 * any thread, has run. A callback that throws goes to the domain's
 * {@link Thread.UncaughtExceptionHandler} and the others still run. The worker's duty cycle runs on the domain's own thread, or - with
 * {@link Builder#ownWorkerThread(boolean) ownWorkerThread(false)} - as the Agrona {@link Agent}
 * returned by {@link #agent()} on a thread of the caller's choosing (an {@link AgentRunner} or an
 * {@code AgentInvoker}); {@code barrier()} and {@code startPoll()} then make progress only while that
 * agent runs. The own worker thread with the default idle strategy goes dormant after about 10 ms
 * without work: it then parks for up to 100 ms instead of waking every millisecond, and
 * {@code call()}, {@code startPoll()} and {@code barrier()} wake it. A {@code call()} that races
 * with the worker going dormant may go unnoticed until that park ends, so its grace period may
 * start up to 100 ms late; the callback is never lost.
 *
 * <h2>Errors</h2>
 * {@code synchronize()}, {@code barrier()}, {@code condSynchronize()} and {@code close()} inside a read
 * section of this domain throw {@link IllegalStateException} (they would deadlock), as do
 * {@code barrier()}/{@code close()} from a callback. {@code readUnlock()} without {@code readLock()}
 * throws, as does {@code Reader.lock()} on a Reader that is closed, whose registering thread has
 * died, or that another thread is reading through. {@code call()} past twice the callback limit
 * on a thread that may not wait throws and queues nothing. After {@link #close()} every method
 * that reads, waits, queues or registers throws {@link IllegalStateException}; a section entered before close may still be left, {@code close()}
 * itself is idempotent, and the queries {@code stats()}, {@code name()}, {@code flavor()},
 * {@code inReadSection()} and {@code agent()} keep answering. A {@code call()} racing with
 * {@code close()} on another thread may throw, or queue a callback that close() runs, or - if it
 * lands after close()'s final drain - be dropped: stop producers before closing. A domain that is
 * never closed keeps its worker thread (a daemon) and hence itself alive.
 */
public final class Rcu implements AutoCloseable {

    /** How readers tell the domain they are outside every read section. */
    public enum Flavor {
        /** Epoch-based: every outermost section publishes the observed epoch (one fence). */
        EBR,
        /** Quiescent-state-based: threads go online/offline and report quiescent states. */
        QSBR
    }

    /** Garbage-free handle for try-with-resources read sections: {@code try (var s = rcu.read()) {}}. */
    public interface ReadSection extends AutoCloseable {
        /** Leaves the read section entered by {@link Rcu#read()}. */
        @Override
        void close();
    }

    /**
     * Counters of a domain.
     *
     * @param gracePeriods            grace periods completed
     * @param callbacksInvoked        callbacks run (including those that threw)
     * @param longestGracePeriodNanos longest grace period so far
     * @param stallsReported          stall warnings issued
     * @param deadReadersReported     threads found dead inside a read section (or online, QSBR)
     * @param callbackFailures        callbacks that threw
     * @param readerSlots             slots a grace period scans now (dedicated + pooled)
     * @param pooledReaderSlots       of which pooled (lent to virtual threads)
     */
    public record Stats(long gracePeriods, long callbacksInvoked, long longestGracePeriodNanos, long stallsReported,
                        long deadReadersReported, long callbackFailures, int readerSlots, int pooledReaderSlots) {
    }

    /**
     * A reader that held a grace period back.
     *
     * @param kind       stall or death inside a section
     * @param domain     the domain's name
     * @param thread     the reader's thread ({@link Thread#toString()})
     * @param heldNanos  how long it had held the grace period (0 for a dead thread)
     * @param stack      the reader's stack when reported (empty for a dead thread)
     */
    public record ReaderReport(Kind kind, String domain, String thread, long heldNanos, StackTraceElement[] stack) {
        /** What was detected. */
        public enum Kind { STALL, DIED_IN_SECTION }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            if (kind == Kind.STALL) {
                sb.append("RCU stall in domain '").append(domain).append("': reader ").append(thread)
                        .append(" has held a grace period for ").append(TimeUnit.NANOSECONDS.toMillis(heldNanos))
                        .append(" ms");
            } else {
                sb.append("RCU reader ").append(thread).append(" died inside a read section of domain '")
                        .append(domain).append("'; its slot was reclaimed");
            }
            for (StackTraceElement e : stack) {
                sb.append(System.lineSeparator()).append("\tat ").append(e);
            }
            return sb.toString();
        }
    }

    /**
     * An explicit reader: a slot held by the caller, so {@link #lock()}/{@link #unlock()} need no
     * thread lookup. In QSBR it starts online. Not garbage: obtain one per thread and keep it.
     * {@link #close()} unregisters it.
     *
     * <p>A Reader belongs to the thread that registered it (its owner) and lives as long as that
     * thread: once the owner has died its slot is reclaimed (a section the owner left open is
     * reported and no longer holds grace periods back) and the handle is dead. While the owner is
     * alive the handle may be handed to another thread and used there, one thread at a time (the
     * hand-off must order the threads' accesses, as any hand-off of a non-thread-safe object); a
     * section entered on another thread stays protected until it is left, even if the owner dies
     * meanwhile, and a thread that dies inside one is reported like a dead owner.
     *
     * <p>{@link #lock()} throws {@link IllegalStateException} and changes nothing if the Reader was
     * closed, if its owner has died (whether or not its slot has been reclaimed yet), if another
     * thread is inside a section on it, or (QSBR) if it is offline; {@link #online()} refuses closed
     * and dead Readers too. {@link #unlock()} throws on a thread without a section on this handle.
     * Register a new Reader on the thread that reads instead of reviving a dead one.
     */
    public final class Reader implements AutoCloseable {
        private final ReaderSlot slot;
        private final Thread owner;
        private final boolean qsbr; // copy of the domain's flavor: one load less per section

        private Reader(ReaderSlot slot) {
            this.slot = slot;
            this.owner = slot.owner;
            this.qsbr = Rcu.this.qsbr;
        }

        /**
         * Enters a (possibly nested) read section.
         *
         * @throws IllegalStateException if the Reader is closed, its owner has died, another thread is
         *                               inside a section on it, or (QSBR) it is offline
         */
        public void lock() {
            ReaderSlot s = slot;
            if (Thread.currentThread() == owner && s.borrower() == null) {
                enter(s); // the owner's path: its slot cannot be reaped while it runs
            } else {
                lockShared(s);
            }
        }

        /** Leaves a read section; throws {@link IllegalStateException} without a matching lock(). */
        public void unlock() {
            ReaderSlot s = slot;
            if (Thread.currentThread() == owner && s.borrower() == null) {
                exit(s);
            } else {
                unlockShared(s);
            }
        }

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

        /** lock() by a borrower, or by the owner of a borrowed slot: see ReaderSlot's notes. */
        private void lockShared(ReaderSlot s) {
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
                throw new IllegalStateException("this Rcu.Reader has been closed");
            }
            if (s.ownerGone()) {
                throw ownerGone();
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
                    throw ownerGone();
                }
                int n = s.nesting;
                if (n != 0) {
                    throw n < 0 ? new IllegalStateException("this Rcu.Reader has been closed") : inUseBy(owner);
                }
                enter(s);
                ok = true;
            } finally {
                if (!ok) {
                    s.endBorrow();
                }
            }
        }

        private void unlockShared(ReaderSlot s) {
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

        private IllegalStateException ownerGone() {
            return new IllegalStateException("this Rcu.Reader's registering thread " + owner
                    + " has died and its slot is reclaimed: register a new Reader on the reading thread");
        }

        private static IllegalStateException inUseBy(Thread t) {
            return new IllegalStateException("this Rcu.Reader is inside a read section of " + t
                    + ": use a Reader from one thread at a time");
        }

        /** True inside a section entered through this handle on the calling thread. */
        public boolean inReadSection() {
            return slot.inSectionOf(Thread.currentThread());
        }

        /** QSBR: reports a quiescent state (outside every section). EBR: no-op. */
        public void quiescentState() {
            if (qsbr) {
                slot.qsbrQuiescent();
            }
        }

        /** QSBR: goes online (no-op if online); throws if closed or its owner died. EBR: no-op. */
        public void online() {
            if (slot.nesting < 0) {
                throw new IllegalStateException("this Rcu.Reader has been closed");
            }
            if (slot.ownerGone()) {
                throw ownerGone();
            }
            if (qsbr) {
                slot.qsbrOnline();
            }
        }

        /** QSBR: goes offline (not inside a section). EBR: no-op. */
        public void offline() {
            if (qsbr) {
                slot.qsbrOffline();
            }
        }

        /** Unregisters the handle; it must not be inside a section (of any thread). Idempotent. */
        @Override
        public void close() {
            int n = slot.nesting;
            if (n == ReaderSlot.RETIRED_NESTING) {
                return;
            }
            if (!owner.isAlive()) {
                readers.sweep(reports.deadReporter); // reaps a section the dead owner left open
                n = slot.nesting;
            }
            if (n > 0 || slot.borrower() != null) {
                throw new IllegalStateException("Rcu.Reader closed inside a read section");
            }
            ReaderSlot.EPOCH.setRelease(slot, 0L);
            slot.nesting = ReaderSlot.RETIRED_NESTING;
            unregisterHandle(slot);
        }
    }

    /** Creates an EBR domain with default settings. */
    public static Rcu create() {
        return builder().build();
    }

    /** A builder; see its methods for the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** Settings of a domain. */
    public static final class Builder {
        Flavor flavor = Flavor.EBR;
        String name = "rcu";
        Duration stallTimeout = Duration.ofSeconds(21);
        IdleStrategy workerIdle;
        IdleStrategy readerWaitIdle;
        boolean ownWorkerThread = true;
        Thread.UncaughtExceptionHandler handler;
        Consumer<ReaderReport> readerReportListener;
        long dormantParkNanos = CallbackWorker.DORMANT_PARK_NANOS;
        long callbackLimit = DEFAULT_CALLBACK_LIMIT;

        Builder() {
        }

        /** EBR (default) or QSBR. */
        public Builder flavor(Flavor flavor) {
            this.flavor = Objects.requireNonNull(flavor, "flavor");
            return this;
        }

        /** Name used for the worker thread and in reports (default "rcu"). */
        public Builder name(String name) {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("name must be non-empty");
            }
            this.name = name;
            return this;
        }

        /** How long a reader may hold a grace period before it is reported (default 21 s, must be > 0). */
        public Builder stallTimeout(Duration stallTimeout) {
            if (stallTimeout == null || stallTimeout.isNegative() || stallTimeout.isZero()) {
                throw new IllegalArgumentException("stallTimeout must be positive: " + stallTimeout);
            }
            this.stallTimeout = stallTimeout;
            return this;
        }

        /**
         * Idle strategy of the worker's duty cycle when it has nothing to do (default
         * {@code BackoffIdleStrategy(64, 16, 1 µs, 1 ms)}, going dormant - parked up to 100 ms until
         * the next call(), startPoll() or barrier() - after about 10 ms idle). A strategy passed here is
         * used exactly as given, without dormancy. Used only with the domain's own worker thread.
         */
        public Builder workerIdleStrategy(IdleStrategy idle) {
            this.workerIdle = Objects.requireNonNull(idle, "idle");
            return this;
        }

        /**
         * Idle strategy of a grace period waiting for a reader after a short spin (default
         * {@code BackoffIdleStrategy(16, 16, 1 µs, 1 ms)}). Used by one grace-period driver at a time;
         * must not be shared with another domain or the worker.
         */
        public Builder readerWaitIdleStrategy(IdleStrategy idle) {
            this.readerWaitIdle = Objects.requireNonNull(idle, "idle");
            return this;
        }

        /**
         * True (default): the domain starts its own daemon worker thread. False: the caller runs the
         * duty cycle from {@link Rcu#agent()} on its own thread.
         */
        public Builder ownWorkerThread(boolean own) {
            this.ownWorkerThread = own;
            return this;
        }

        /** Receives callbacks that throw (default: logged through System.Logger at ERROR). */
        public Builder uncaughtExceptionHandler(Thread.UncaughtExceptionHandler handler) {
            this.handler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /** Also receives stall and dead-reader reports (they are always logged). */
        public Builder readerReportListener(Consumer<ReaderReport> listener) {
            this.readerReportListener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Pending callbacks (queued by {@link Rcu#call(Runnable)}, not run yet) beyond which a caller
         * that may wait waits for the worker, and twice which a caller that may not wait is refused;
         * see {@link Rcu#call(Runnable)}. Default {@value Rcu#DEFAULT_CALLBACK_LIMIT} (2^20): a
         * pending callback keeps its {@code Runnable} and whatever it captures reachable, so a
         * million of them is already tens of MiB of heap - far more than one grace period's batch
         * of a healthy domain needs, yet a stuck reader or a starved worker then stops producers
         * well before the heap runs out. Must be between 1 and {@code Long.MAX_VALUE / 2}.
         */
        public Builder callbackLimit(long limit) {
            if (limit < 1 || limit > Long.MAX_VALUE / 2) {
                throw new IllegalArgumentException("callbackLimit must be in [1, Long.MAX_VALUE / 2]: " + limit);
            }
            this.callbackLimit = limit;
            return this;
        }

        /**
         * Test hook, not API: the dormant park bound of the default worker idle strategy (default
         * 100 ms). A test makes it very long so that only a wake-up can get a callback run.
         */
        Builder dormantPark(Duration bound) {
            if (bound == null || bound.isNegative() || bound.isZero()) {
                throw new IllegalArgumentException("dormant park bound must be positive: " + bound);
            }
            this.dormantParkNanos = bound.toNanos();
            return this;
        }

        /** Creates the domain (and starts its worker thread unless ownWorkerThread(false)). */
        public Rcu build() {
            return new Rcu(this);
        }
    }

    /** Default of {@link Builder#callbackLimit(long)}. */
    public static final long DEFAULT_CALLBACK_LIMIT = 1L << 20;
    private static final System.Logger LOGGER = System.getLogger(Rcu.class.getName());
    private static final int OPEN = 0;
    private static final int CLOSING = 1;
    private static final int CLOSED = 2;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Rcu.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Flavor flavor;
    private final boolean qsbr;
    private final ReaderRegistry readers;
    /** The probe array of readers.threadSlots(), held here so the read side's lookup starts one load closer. */
    private final PerThreadTable.Entry[] slotProbe;
    private final ReaderReports reports;
    private final GracePeriods gracePeriods;
    private final CallbackWorker worker;
    private final AgentRunner runner;
    /** The probe array of worker.threadQueues(), for call()'s lookup. */
    private final PerThreadTable.Entry[] queueProbe;
    private final ReentrantLock handleLock = new ReentrantLock();
    private volatile ReaderSlot[] handles = new ReaderSlot[0];
    private volatile int state;

    private Rcu(Builder b) {
        this.name = b.name;
        this.flavor = b.flavor;
        this.qsbr = b.flavor == Flavor.QSBR;
        this.readers = new ReaderRegistry(qsbr);
        this.slotProbe = readers.threadSlots().probeArray();
        this.reports = new ReaderReports(name, LOGGER, b.readerReportListener);
        IdleStrategy readerWait = b.readerWaitIdle != null ? b.readerWaitIdle
                : new BackoffIdleStrategy(16, 16, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(1));
        this.gracePeriods = new GracePeriods(readers, readerWait, b.stallTimeout.toNanos(), reports);
        Thread.UncaughtExceptionHandler h = b.handler != null ? b.handler
                : (t, e) -> LOGGER.log(System.Logger.Level.ERROR, "RCU callback failed in domain '" + name + "'", e);
        this.worker = new CallbackWorker(this, gracePeriods, h, b.callbackLimit);
        this.queueProbe = worker.threadQueues().probeArray();
        if (b.ownWorkerThread) {
            // Dormancy only with the default: a user's strategy (say busy-spinning) is kept as given.
            IdleStrategy idle = b.workerIdle != null ? b.workerIdle
                    : new DormantBackoff(worker, b.dormantParkNanos);
            this.runner = new AgentRunner(idle,
                    e -> LOGGER.log(System.Logger.Level.ERROR, "RCU worker error in domain '" + name + "'", e),
                    null, worker);
            AgentRunner.startOnThread(runner, r -> {
                Thread t = new Thread(r, name + "-worker");
                t.setDaemon(true);
                return t;
            });
        } else {
            this.runner = null;
        }
    }

    static IllegalStateException closedException() {
        return new IllegalStateException("RCU domain is closed");
    }

    private void checkOpen() {
        if (state != OPEN) {
            throw closedException();
        }
    }

    /** Neither closing nor closed (the worker does not go dormant once close() has begun). */
    boolean isOpen() {
        return state == OPEN;
    }

    /** The domain's name. */
    public String name() {
        return name;
    }

    /** The domain's flavor. */
    public Flavor flavor() {
        return flavor;
    }

    // ==================================================================== read side

    /**
     * Enters a read section (sections nest). EBR: publishes the epoch on the outermost entry. QSBR:
     * bookkeeping only; throws {@link IllegalStateException} if the thread is not online.
     */
    public void readLock() {
        Thread t = Thread.currentThread();
        ReaderSlot s = PerThreadTable.peek(slotProbe, t.threadId());
        if (s == null) {
            if (t.isVirtual()) {
                virtualLock(t);
                return;
            }
            s = platformSlot(t, !qsbr);
            if (s == null) {
                throw notOnline();
            }
        }
        if (qsbr) {
            s.qsbrEnter();
        } else {
            s.ebrEnter();
        }
    }

    /** Leaves a read section; throws {@link IllegalStateException} without a matching readLock(). */
    public void readUnlock() {
        Thread t = Thread.currentThread();
        ReaderSlot s = PerThreadTable.peek(slotProbe, t.threadId());
        if (s == null) {
            if (t.isVirtual()) {
                virtualUnlock(t);
                return;
            }
            s = platformSlot(t, false);
            if (s == null) {
                throw new IllegalStateException("readUnlock() without a matching readLock()");
            }
        }
        if (qsbr) {
            s.qsbrExit();
        } else {
            s.ebrExit();
        }
    }

    /**
     * Enters a read section and returns a garbage-free handle whose {@code close()} leaves it:
     * {@code try (Rcu.ReadSection s = rcu.read()) { ... }}.
     */
    public ReadSection read() {
        Thread t = Thread.currentThread();
        ReaderSlot s = PerThreadTable.peek(slotProbe, t.threadId());
        if (s == null) {
            if (t.isVirtual()) {
                return virtualLock(t);
            }
            s = platformSlot(t, !qsbr);
            if (s == null) {
                throw notOnline();
            }
        }
        if (qsbr) {
            s.qsbrEnter();
        } else {
            s.ebrEnter();
        }
        return s;
    }

    /**
     * Slow path of the implicit API on a platform thread: the table's overflow, registering a slot
     * if {@code create}. Null if the thread has no slot.
     */
    private ReaderSlot platformSlot(Thread t, boolean create) {
        ReaderSlot s = readers.implicitSlot();
        if (s == null && create) {
            s = registerPlatform(t);
        }
        return s;
    }

    /** True if the calling thread is inside a read section of this domain (implicit API or a handle). */
    public boolean inReadSection() {
        Thread t = Thread.currentThread();
        ReaderSlot s = currentSlotOrNull();
        if (s != null && s.nesting > 0) {
            return true;
        }
        for (ReaderSlot h : handles) {
            if (h.inSectionOf(t)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the calling thread may block until a grace period completes: false inside a read
     * section of this domain (implicit API or a {@link Reader}, including one borrowed from another
     * thread), where waiting would deadlock, and - QSBR - while the thread is online (through
     * {@link #threadOnline()} or a Reader it registered), where waiting would either hold back the
     * grace period it waits for or need to take the thread offline without its consent; true
     * otherwise. {@link #synchronize()}, {@link #condSynchronize(long)} and {@link #barrier()} still
     * accept an online QSBR caller outside a section (they take it offline for the wait, as
     * documented); this query is for code that must not make that choice for its caller, such as a
     * reclamation path deciding whether a caller may block. Callbacks may wait (they may call
     * synchronize()). A pure query of the calling thread's state: no fence, no allocation, does not
     * check whether the domain is open.
     */
    public boolean mayWaitForGracePeriod() {
        Thread t = Thread.currentThread();
        ReaderSlot s = currentSlotOrNull();
        if (s != null && (s.nesting > 0 || (qsbr && s.online()))) {
            return false;
        }
        for (ReaderSlot h : handles) {
            if (h.inSectionOf(t) || (qsbr && h.owner == t && h.online())) {
                return false;
            }
        }
        return true;
    }

    /**
     * QSBR: reports that the calling thread holds no reference obtained in a read section (call it
     * outside every section, at the thread's loop boundary); throws if the thread is not online.
     * EBR: no-op.
     */
    public void quiescentState() {
        if (!qsbr) {
            checkOpen();
            return;
        }
        ReaderSlot s = currentSlotOrNull();
        if (s == null) {
            throw notOnline();
        }
        s.qsbrQuiescent();
    }

    /** QSBR: the calling thread goes online (idempotent); required before reading. EBR: no-op. */
    public void threadOnline() {
        checkOpen();
        if (!qsbr) {
            return;
        }
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

    /**
     * QSBR: the calling thread goes offline (idempotent; not inside a section); grace periods stop
     * waiting for it. EBR: no-op.
     */
    public void threadOffline() {
        checkOpen();
        if (!qsbr) {
            return;
        }
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

    /**
     * Registers an explicit reader handle owned by the calling thread (QSBR: online); it lives as
     * long as that thread (see {@link Reader}).
     */
    public Reader register() {
        checkOpen();
        ReaderSlot s = readers.registerDedicated(Thread.currentThread(), reports.deadReporter);
        handleLock.lock();
        try {
            // Drops handles whose slot the registry has reaped (owner dead, no borrower left), so
            // threads that register a Reader and die without closing it do not grow the array.
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
        return new Reader(s);
    }

    private void unregisterHandle(ReaderSlot s) {
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

    private ReaderSlot registerPlatform(Thread t) {
        checkOpen();
        return readers.registerImplicit(t, reports.deadReporter);
    }

    /** The calling thread's implicit slot (pooled for a virtual thread), or null; never registers. */
    private ReaderSlot currentSlotOrNull() {
        Thread t = Thread.currentThread();
        ReaderSlot s = PerThreadTable.peek(slotProbe, t.threadId());
        if (s != null) {
            return s;
        }
        return t.isVirtual() ? readers.findPooled(t) : platformSlot(t, false);
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

    private void virtualUnlock(Thread t) {
        ReaderSlot s = readers.findPooled(t);
        if (s == null) {
            throw new IllegalStateException("readUnlock() without a matching readLock()");
        }
        readers.exit(s);
    }

    private static IllegalStateException notOnline() {
        return new IllegalStateException("QSBR read section on a thread that is not online: call threadOnline() first");
    }

    // ==================================================================== grace periods

    /**
     * Waits for a full grace period: on return every read section that was running when this method
     * was called has ended. Concurrent callers share grace periods.
     *
     * @throws IllegalStateException inside a read section of this domain, or after close()
     */
    public void synchronize() {
        checkOpen();
        waitQuiescent(gracePeriods.snapshot(), "synchronize()");
    }

    /**
     * A cookie for the grace period that must complete before {@link #pollState(long)} returns true;
     * does not start one. Implies a full memory fence.
     */
    public long getState() {
        checkOpen();
        return gracePeriods.snapshot();
    }

    /** Like {@link #getState()}, and asks the worker to run that grace period. */
    public long startPoll() {
        checkOpen();
        long c = gracePeriods.snapshot();
        worker.requestGracePeriod(c);
        return c;
    }

    /** True once the grace period of {@code cookie} has completed: one volatile read and a compare. */
    public boolean pollState(long cookie) {
        return gracePeriods.done(cookie);
    }

    /**
     * Returns at once if {@code cookie}'s grace period has completed, otherwise waits for it.
     *
     * @throws IllegalStateException inside a read section of this domain, or after close()
     */
    public void condSynchronize(long cookie) {
        if (gracePeriods.done(cookie)) {
            checkNotInSection("condSynchronize()");
            return;
        }
        waitQuiescent(cookie, "condSynchronize()");
    }

    /** Waits for {@code cookie} with the caller counted as quiescent (QSBR: offline meanwhile). */
    private void waitQuiescent(long cookie, String what) {
        ReaderSlot s = checkNotInSection(what);
        boolean wasOnline = goOffline(s);
        try {
            gracePeriods.awaitCookie(cookie);
        } finally {
            comeBackOnline(s, wasOnline);
        }
    }

    /**
     * QSBR: takes the calling thread's implicit slot and its own online handles offline for a
     * blocking call (they would otherwise hold back the grace period the call waits for). Returns
     * whether the implicit slot was online. Handles remember it in their owner-only field.
     */
    private boolean goOffline(ReaderSlot s) {
        if (!qsbr) {
            return false;
        }
        Thread t = Thread.currentThread();
        for (ReaderSlot h : handles) {
            if (h.thread() == t && h.online()) {
                h.qsbrOffline();
                h.offlineForWait = true;
            }
        }
        if (s != null && s.online()) {
            s.qsbrOffline();
            return true;
        }
        return false;
    }

    private void comeBackOnline(ReaderSlot s, boolean wasOnline) {
        if (!qsbr || gracePeriods.isClosed()) {
            return;
        }
        if (wasOnline) {
            s.qsbrOnline();
        }
        Thread t = Thread.currentThread();
        for (ReaderSlot h : handles) {
            if (h.offlineForWait && h.thread() == t) {
                h.offlineForWait = false;
                h.qsbrOnline();
            }
        }
    }

    private ReaderSlot checkNotInSection(String what) {
        Thread t = Thread.currentThread();
        ReaderSlot s = currentSlotOrNull();
        if (s != null && s.nesting > 0) {
            throw new IllegalStateException(what + " inside a read section of the same RCU domain would deadlock");
        }
        for (ReaderSlot h : handles) {
            if (h.inSectionOf(t)) {
                throw new IllegalStateException(what + " inside a read section of the same RCU domain would deadlock");
            }
        }
        return s;
    }

    // ==================================================================== callbacks

    /**
     * Queues {@code callback} to run on the domain's worker after a grace period. No allocation by
     * the domain in steady state; callable inside a read section. Wakes a dormant worker (see
     * Callbacks in the class comment: racing with the worker going dormant, the grace period may
     * start up to 100 ms late).
     *
     * <p>Pending callbacks are bounded by {@link Builder#callbackLimit(long) callbackLimit} (the
     * limit) and twice that (the hard cap), counted over every thread's queue. A caller that finds
     * the limit reached:
     * <ul>
     * <li>waits - like {@link #barrier()}, uninterruptibly - until the worker has brought the
     *     backlog under the limit, then queues, if it may wait: {@link #mayWaitForGracePeriod()}
     *     is true, it is not running a callback, and the domain has its own worker thread;
     * <li>otherwise (inside a read section, an online QSBR thread, a callback, or
     *     {@code ownWorkerThread(false)}, where the caller may be the thread that has to run the
     *     agent) queues anyway and wakes the worker while fewer than the hard cap are pending, and
     *     beyond it throws {@link IllegalStateException} naming the limit, without queueing.
     * </ul>
     * A call that throws has queued nothing. The count is exact for one producer; racing producers
     * may overshoot the bounds somewhat (each checks the total only once its own queue holds its
     * share of the limit), never without bound.
     *
     * @throws IllegalArgumentException if {@code callback} is null
     * @throws IllegalStateException    after close(), or past the hard cap on a caller that may not
     *                                  wait
     */
    public void call(Runnable callback) {
        if (callback == null) {
            throw new IllegalArgumentException("callback is null");
        }
        Thread t = Thread.currentThread();
        if (state != OPEN && !(state == CLOSING && worker.isDutyThread(t))) {
            throw closedException(); // callbacks may still queue callbacks while close() drains
        }
        CallbackQueue q = PerThreadTable.peek(queueProbe, t.threadId());
        if (q == null) {
            if (t.isVirtual()) {
                callVirtual(t, callback);
                return;
            }
            q = worker.dedicatedQueue(t);
        }
        if (q.pendingOwn() >= worker.share()) {
            admit(t); // the sum over every queue, and waiting or refusing past the limit
        }
        q.add(callback, worker.recycled);
        worker.wakeIfDormant(); // after the publish: see CallbackWorker's notes for the race left
    }

    private void callVirtual(Thread t, Runnable callback) {
        CallbackQueue q = worker.claimPooled(t);
        if (q.pendingOwn() >= worker.share()) {
            q.release(); // not held while admit() may wait
            admit(t);
            q = worker.claimPooled(t);
        }
        try {
            q.add(callback, worker.recycled);
        } finally {
            q.release();
        }
        worker.wakeIfDormant();
    }

    /**
     * call()'s slow path, before queueing: returns when the caller may queue, or throws (see
     * call()'s Javadoc). Holds no lock; a wait is a barrier ticket, one worker cycle at a time.
     */
    private void admit(Thread t) {
        long limit = worker.callbackLimit;
        long pending = worker.pendingTotal();
        if (pending < limit) {
            return;
        }
        if (runner != null && !worker.isDutyThread(t) && mayWaitForGracePeriod()) {
            do {
                if (!worker.awaitBarrier(worker.barrierTicket())) {
                    throw closedException();
                }
                pending = worker.pendingTotal();
            } while (pending >= limit);
            return;
        }
        if (pending >= 2 * limit) {
            worker.wakeForBacklog();
            throw new IllegalStateException("RCU domain '" + name + "': " + pending
                    + " callbacks pending, at the hard cap of twice callbackLimit (" + limit
                    + "); this thread may not wait for them (read section, online QSBR thread, callback"
                    + " or no own worker thread): the callback was not queued");
        }
        worker.wakeForBacklog();
    }

    /**
     * Returns once every callback queued (by any thread) before this call has run.
     *
     * @throws IllegalStateException inside a read section, from a callback, or after close()
     */
    public void barrier() {
        checkOpen();
        checkNotInSection("barrier()");
        if (worker.isDutyThread(Thread.currentThread())) {
            throw new IllegalStateException("barrier() from an RCU callback would deadlock");
        }
        ReaderSlot s = currentSlotOrNull();
        boolean wasOnline = goOffline(s);
        try {
            if (!worker.awaitBarrier(worker.barrierTicket())) {
                throw closedException();
            }
        } finally {
            comeBackOnline(s, wasOnline);
        }
    }

    /**
     * The domain's duty cycle as an Agrona agent, for {@code ownWorkerThread(false)}: run it with an
     * {@link AgentRunner} or {@code AgentInvoker} of your own. With the domain's own worker thread the
     * agent is already running and must not be started again.
     */
    public Agent agent() {
        return worker;
    }

    // ==================================================================== stats, close

    /** Test hook: the own worker has published dormancy (parked or about to park). */
    boolean isWorkerDormant() {
        return worker.isDormant();
    }

    /** Test hook: duty cycles the worker has run. */
    long workerCycles() {
        return worker.cycles();
    }

    /** Test hook: threads parked on the grace-period driver lock. */
    int queuedGracePeriodWaiters() {
        return gracePeriods.queuedWaiters();
    }

    /** A snapshot of the domain's counters. */
    public Stats stats() {
        return new Stats(gracePeriods.completed(), worker.invoked(), gracePeriods.longestNanos(), reports.stalls(),
                reports.dead(), worker.failures(), readers.slots().length, readers.poolSize());
    }

    /**
     * Runs every queued callback (after its grace period), stops the worker and closes the domain.
     * Waits for readers still inside a section. Idempotent.
     *
     * @throws IllegalStateException inside a read section of this domain or from a callback
     */
    @Override
    public void close() {
        if (state != OPEN) {
            return;
        }
        checkNotInSection("close()");
        if (worker.isDutyThread(Thread.currentThread())) {
            throw new IllegalStateException("close() from an RCU callback would deadlock");
        }
        if (!STATE.compareAndSet(this, OPEN, CLOSING)) {
            return;
        }
        goOffline(currentSlotOrNull()); // for good: the domain is closing
        try {
            if (runner != null) {
                worker.awaitBarrier(worker.barrierTicket());
                runner.close();
            }
        } finally {
            worker.drainAndClose(() -> {
                gracePeriods.close();
                readers.close();
                state = CLOSED;
            });
            worker.wakeAllWaiters();
        }
    }
}
