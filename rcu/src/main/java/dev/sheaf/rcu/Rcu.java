package dev.sheaf.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import javax.management.ObjectName;

import dev.sheaf.rcu.internal.JmxRegistration;
import dev.sheaf.rcu.internal.PerThreadTable;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/*
 * Implementation notes: the domain and how its parts fit.
 *
 *   Rcu (this class)    public API, flavor dispatch, the read side's fast paths, state and close.
 *   ImplicitReaders     the implicit API's thread -> slot lookup past the fast path's table probe.
 *   ReaderHandles       the explicit Rcu.Reader handles: registration, borrowing, per-thread queries.
 *   BlockingWaits       blocking calls refused inside a section; the caller quiescent while it waits.
 *   Membarrier          Linux membarrier(PRIVATE_EXPEDITED) through an FFM downcall, for EBR_MEMBARRIER.
 *   ReaderSlot          one reader's published epoch + nesting (padded); the read-side memory ordering.
 *   ReaderRegistry      the global epoch, the copy-on-write slot array the scan reads, the pool of
 *                       slots lent to virtual threads, the PerThreadTable of implicit slots, sweeping.
 *   GracePeriods        rcu_seq-style sequence numbers and cookies, the grace-period driver (epoch
 *                       advance + scan + waiting for readers), stall and dead-reader detection.
 *   ReaderReports       System.Logger / listener reporting of stalls and dead readers.
 *   CallbackProducers   call(): the caller's queue, the callback limit, waking the worker.
 *   CallbackQueue/Chunk/ChunkPool  per-producer SPSC chunk chains of callbacks, recycled chunks.
 *   CallbackWorker      the Agrona Agent duty cycle: snapshot queues, one grace period, run; barrier
 *                       tickets; grace periods requested by startPoll(); dormancy of the own worker.
 *   DormantBackoff      the own worker's default idle strategy: back off, then doze.
 *   internal.PerThreadTable, internal.Dormancy  shared with the allocator: per-thread lookup, dozing.
 *
 * Read side (EBR): outermost entry = load global epoch, opaque store into the own slot, full fence;
 * exit = release store of 0. EBR_MEMBARRIER: the same without the entry fence; the grace period
 * issues membarrier(PRIVATE_EXPEDITED) around its epoch advance instead (Membarrier, ReaderRegistry),
 * or - membarrier unavailable, or the builder's test hook - the domain runs plain EBR. QSBR:
 * entry/exit touch only the own slot's nesting; quiescentState()
 * is a release store of the current epoch plus a full fence when the epoch moved (at most once per
 * grace period); online = the EBR entry publication. Why this is enough is argued in ReaderSlot
 * (store buffering) and GracePeriods (cookies, hand-off to waiters).
 *
 * Fast paths: readLock()/readUnlock()/read() take Thread.currentThread(), probe the registry's
 * PerThreadTable array held in a final field here (an array load and an owner-id compare) and then
 * touch only the slot; no ThreadLocal on a hit. A miss (virtual thread, table overflow, first
 * section) goes to ImplicitReaders. A Reader's owner pays one compare with the current thread and,
 * on its outermost lock() only, one acquire load of the slot's borrowState after announcing the
 * section (ReaderSlot's handshake); every other case goes to ReaderHandles. call() probes
 * the worker's PerThreadTable array the same way (CallbackProducers).
 *
 * Locks (none on any read-side or call() fast path), in the order they may be taken:
 *   1. CallbackWorker.dutyLock       one duty cycle at a time (own thread, user agent, close drain)
 *   2. GracePeriods.gpLock           the grace-period driver role: epoch advance, scan, idle strategy
 *                                    state, driver statistics; waiters park on it and share results
 *   3. ReaderRegistry.registrationLock  replacement of the slot / pool arrays (register, sweep)
 *   leaves, never held while taking another lock:
 *      ReaderHandles.handleLock (handle array), CallbackWorker.queueLock (queue / pool arrays),
 *      CallbackWorker.barrierLock (barrier waiters' condition; also call() waiting past the limit)
 * A callback runs under dutyLock only; it may call synchronize() (takes gpLock, order 1 -> 2) but not
 * barrier() or close(), which would wait for the duty cycle it is part of (checked, throws).
 *
 * Map: public nested types (Flavor, ReadSection, Stats, ReaderReport, Reader, Builder); constants,
 * fields, construction and state; read side; grace periods; callbacks; stats, test hooks, close.
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
 * <li>{@link Flavor#EBR_MEMBARRIER}: EBR whose sections publish the epoch without a fence; each
 *     grace period instead makes every running thread of the process fence, with Linux
 *     {@code membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)} (two calls of a few hundred nanoseconds per
 *     grace period). Cheaper sections, dearer grace periods; otherwise it behaves as EBR. Where the
 *     barrier is not available - not Linux on x86_64, a kernel without it, a seccomp filter that
 *     refuses it, or native access not granted to this module ({@code --enable-native-access}) - the
 *     domain runs the fenced EBR protocol transparently; {@link #readerFence()} tells which.
 * <li>{@link Flavor#QSBR}: sections cost nothing; a thread calls {@link #threadOnline()} before it
 *     reads, reports {@link #quiescentState()} at its own loop boundary (outside every section) and
 *     goes {@link #threadOffline()} while idle or blocking. A grace period waits for every online
 *     thread to report; a thread that dies counts as offline. {@code readLock()} on a thread that is
 *     not online throws {@link IllegalStateException}.
 * </ul>
 * In both flavors a thread blocked in {@link #synchronize()}, {@link #barrier()} or
 * {@link #condSynchronize(long)} is quiescent for that call (a QSBR thread that is online goes offline
 * for the duration and comes back online). In both EBR flavors, {@code threadOnline()}, {@code threadOffline()} and
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
 * {@link #call(Runnable)}). {@link #barrier()} returns once every callback queued before it, from any
 * thread, has run. A callback that throws goes to the domain's {@link Thread.UncaughtExceptionHandler}
 * and the others still run. The worker's duty cycle runs on the domain's own thread, or - with
 * {@link Builder#ownWorkerThread(boolean) ownWorkerThread(false)} - as the Agrona {@link Agent}
 * returned by {@link #agent()} on a thread of the caller's choosing (an {@link AgentRunner} or an
 * {@code AgentInvoker}); {@code barrier()} and {@code startPoll()} then make progress only while that
 * agent runs. The own worker thread with the default idle strategy goes dormant after about 10 ms
 * without work: it then parks for up to 100 ms instead of waking every millisecond, and
 * {@code call()}, {@code startPoll()} and {@code barrier()} wake it. A {@code call()} that races with
 * the worker going dormant may go unnoticed until that park ends, so its grace period may start up to
 * 100 ms late; the callback is never lost.
 *
 * <h2>Errors</h2>
 * {@code synchronize()}, {@code barrier()}, {@code condSynchronize()} and {@code close()} inside a read
 * section of this domain throw {@link IllegalStateException} (they would deadlock), as do
 * {@code barrier()}/{@code close()} from a callback. {@code readUnlock()} without {@code readLock()}
 * throws, as does {@code Reader.lock()} on a Reader that is closed, whose registering thread has
 * died, or that another thread is reading through. {@code call()} past twice the callback limit
 * on a thread that may not wait throws and queues nothing. After {@link #close()} every method that
 * reads, waits, queues or registers throws {@link IllegalStateException}; a section entered before
 * close may still be left, {@code close()} itself is idempotent, and the queries {@code stats()},
 * {@code name()}, {@code flavor()}, {@code inReadSection()} and {@code agent()} keep answering. A
 * {@code call()} racing with {@code close()} on another thread may throw, or queue a callback that
 * close() runs, or - if it lands after close()'s final drain - be dropped: stop producers before
 * closing. A domain that is never closed keeps its worker thread (a daemon) and hence itself alive.
 */
public final class Rcu implements AutoCloseable {

    /** How readers tell the domain they are outside every read section. */
    public enum Flavor {
        /** Epoch-based: every outermost section publishes the observed epoch (one fence). */
        EBR,
        /** Quiescent-state-based: threads go online/offline and report quiescent states. */
        QSBR,
        /**
         * Epoch-based with an asymmetric fence: sections publish the epoch without a fence and each
         * grace period issues Linux {@code membarrier(PRIVATE_EXPEDITED)}; falls back to {@link #EBR}'s
         * fenced sections where that is unavailable (see {@link Rcu#readerFence()}).
         */
        EBR_MEMBARRIER
    }

    /** How a domain orders its readers' publication against the grace-period scan. */
    public enum ReaderFence {
        /** Every outermost section entry fences after publishing the epoch ({@link Flavor#EBR}). */
        ENTRY_FENCE,
        /**
         * Section entries do not fence; each grace period issues {@code membarrier(PRIVATE_EXPEDITED)}
         * ({@link Flavor#EBR_MEMBARRIER} where available).
         */
        MEMBARRIER,
        /**
         * Sections publish nothing; going online and a quiescent state that saw a new epoch fence
         * ({@link Flavor#QSBR}).
         */
        QUIESCENT_STATE_FENCE
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
    // The stack is Thread.getStackTrace()'s own fresh array, handed to the report's handler once: a
    // value to print, not a key (array equality would not matter) and not shared with the domain.
    @SuppressWarnings("ArrayRecordComponent")
    public record ReaderReport(Kind kind, String domain, String thread, long heldNanos, StackTraceElement[] stack) {
        /** What was detected. */
        public enum Kind {
            /** The reader held a grace period longer than the stall timeout. */
            STALL,
            /** The reader's thread died inside a read section (QSBR: while online in a section). */
            DIED_IN_SECTION
        }

        /**
         * The report as logged: what happened, the thread, and its stack (one frame a line).
         *
         * @return the report's text
         */
        @Override
        public String toString() {
            return ReaderReports.format(this);
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
        private final ReaderHandles handles;

        private Reader(ReaderSlot slot) {
            this.slot = slot;
            this.owner = slot.owner;
            this.qsbr = Rcu.this.qsbr;
            this.handles = Rcu.this.handles;
        }

        /**
         * Enters a (possibly nested) read section.
         *
         * @throws IllegalStateException if the Reader is closed, its owner has died, another thread is
         *                               inside a section on it, or (QSBR) it is offline
         */
        public void lock() {
            ReaderSlot s = slot;
            if (Thread.currentThread() == owner) {
                // the owner's path: its slot cannot be reaped while it runs; announce, then check
                // for a borrower (ReaderSlot's notes)
                if (!(qsbr ? s.handleQsbrEnter() : s.handleEbrEnter())) {
                    handles.ownerRefused(s);
                }
            } else {
                handles.lockShared(s, owner);
            }
        }

        /** Leaves a read section; throws {@link IllegalStateException} without a matching lock(). */
        public void unlock() {
            ReaderSlot s = slot;
            if (Thread.currentThread() == owner) {
                if (qsbr) {
                    s.handleQsbrExit();
                } else {
                    s.handleEbrExit();
                }
            } else {
                handles.unlockShared(s);
            }
        }

        /**
         * True inside a section entered through this handle on the calling thread.
         *
         * @return true inside a section on this handle entered by the calling thread
         */
        public boolean inReadSection() {
            return slot.inSectionOf(Thread.currentThread());
        }

        /**
     * QSBR: reports that the calling thread holds no reference obtained in a read section (call it
     * outside every section, at the thread's loop boundary); throws if the thread is not online.
     * EBR: no-op.
     *
     * @throws IllegalStateException after close(), or (QSBR) inside a section or on a thread that is
     *                               not online
     */
    public void quiescentState() {
            if (qsbr) {
                slot.qsbrQuiescent();
            }
        }

        /** QSBR: goes online (no-op if online); throws if closed or its owner died. EBR: no-op. */
        public void online() {
            handles.checkUsable(slot, owner);
            if (qsbr) {
                slot.qsbrOnline();
            }
        }

        /**
         * QSBR: goes offline (not inside a section). EBR: no-op.
         *
         * @throws IllegalStateException (QSBR) inside a section entered by the owner
         */
        public void offline() {
            if (qsbr) {
                slot.qsbrOffline();
            }
        }

        /**
         * Unregisters the handle; it must not be inside a section (of any thread). Idempotent.
         * Called by the handle's owner, or by any thread once the owner has ended (a borrower
         * cannot close the owner's handle while the owner may still use it).
         *
         * @throws IllegalStateException inside a section on this handle (the owner's or a borrower's)
         * @throws WrongThreadException  called by another thread while the owner is alive
         */
        @Override
        public void close() {
            handles.close(slot, owner);
        }
    }

    /**
     * Creates an EBR domain with default settings.
     *
     * @return a new open EBR domain with its own worker thread
     */
    public static Rcu create() {
        return builder().build();
    }

    /**
     * A builder; see its methods for the defaults.
     *
     * @return a new builder with the default settings
     */
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
        boolean forceEntryFence;
        String jmxName;

        Builder() {
        }

        /**
         * EBR (default), EBR_MEMBARRIER or QSBR.
         *
         * @param flavor the flavor
         * @return this builder
         */
        public Builder flavor(Flavor flavor) {
            this.flavor = Objects.requireNonNull(flavor, "flavor");
            return this;
        }

        /**
         * Name used for the worker thread and in reports (default "rcu").
         *
         * @param name the domain's name
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or empty
         */
        public Builder name(String name) {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("name must be non-empty");
            }
            this.name = name;
            return this;
        }

        /**
         * How long a reader may hold a grace period before it is reported (default 21 s, must be > 0).
         *
         * @param stallTimeout how long before a reader is reported
         * @return this builder
         * @throws IllegalArgumentException if {@code stallTimeout} is null, zero or negative
         */
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
         *
         * @param idle the worker's idle strategy
         * @return this builder
         * @throws NullPointerException if {@code idle} is null
         */
        public Builder workerIdleStrategy(IdleStrategy idle) {
            this.workerIdle = Objects.requireNonNull(idle, "idle");
            return this;
        }

        /**
         * Idle strategy of a grace period waiting for a reader after a short spin (default
         * {@code BackoffIdleStrategy(16, 16, 1 µs, 1 ms)}). Used by one grace-period driver at a time;
         * must not be shared with another domain or the worker.
         *
         * @param idle the idle strategy of a grace period waiting for a reader
         * @return this builder
         * @throws NullPointerException if {@code idle} is null
         */
        public Builder readerWaitIdleStrategy(IdleStrategy idle) {
            this.readerWaitIdle = Objects.requireNonNull(idle, "idle");
            return this;
        }

        /**
         * True (default): the domain starts its own daemon worker thread. False: the caller runs the
         * duty cycle from {@link Rcu#agent()} on its own thread.
         *
         * @param own whether the domain starts its own worker thread
         * @return this builder
         */
        public Builder ownWorkerThread(boolean own) {
            this.ownWorkerThread = own;
            return this;
        }

        /**
         * Receives callbacks that throw (default: logged through System.Logger at ERROR).
         *
         * @param handler receives every callback that throws
         * @return this builder
         * @throws NullPointerException if {@code handler} is null
         */
        public Builder uncaughtExceptionHandler(Thread.UncaughtExceptionHandler handler) {
            this.handler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /**
         * Also receives stall and dead-reader reports (they are always logged).
         *
         * @param listener receives every stall and dead-reader report
         * @return this builder
         * @throws NullPointerException if {@code listener} is null
         */
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
         *
         * @param limit the soft bound on pending callbacks
         * @return this builder
         * @throws IllegalArgumentException if {@code limit} is outside [1, {@code Long.MAX_VALUE / 2}]
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

        /**
         * Test hook, not API: an {@link Flavor#EBR_MEMBARRIER} domain runs the fenced EBR protocol as
         * if membarrier were unavailable (the fallback path).
         */
        Builder forceEntryFence() {
            this.forceEntryFence = true;
            return this;
        }

        /**
         * Creates the domain (and starts its worker thread unless ownWorkerThread(false)).
         *
         * @return the new domain
         */
        public Rcu build() {
            Rcu rcu = new Rcu(this);
            if (jmxName != null) {
                try {
                    rcu.jmxRegistration = JmxRegistration.register(new RcuJmx(rcu, rcu.worker), jmxName, "Rcu");
                } catch (RuntimeException e) {
                    rcu.close();
                    throw e;
                }
            }
            return rcu;
        }

        /**
         * Registers an {@link RcuMXBean} of the domain on the platform MBeanServer when it is built,
         * unregistered by {@link Rcu#close()}. A name with a colon is a whole ObjectName; any other
         * becomes {@code dev.sheaf:type=Rcu,name=<name>}. Default: no MXBean.
         *
         * @param name the ObjectName or plain name
         * @return this builder
         * @throws IllegalArgumentException if the name is null, empty or not a valid ObjectName
         *                                  (build() throws it if the name is already registered)
         */
        public Builder jmxName(String name) {
            JmxRegistration.objectName(name, "Rcu");
            this.jmxName = name;
            return this;
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
    private final ReaderFence readerFence;
    /** The probe array of readers.threadSlots(), held here so the read side's lookup starts one load closer. */
    private final ReaderSlot[] slotProbe;
    private final ReaderRegistry readers;
    private final ReaderReports reports;
    private final GracePeriods gracePeriods;
    private final ImplicitReaders implicit;
    private final ReaderHandles handles;
    private final BlockingWaits waits;
    private final CallbackWorker worker;
    private final CallbackProducers producers;
    private final AgentRunner runner;
    private volatile int state;
    /** The MXBean's name if one was registered; set once by build(), read by close() on any thread. */
    private volatile ObjectName jmxRegistration;

    private Rcu(Builder b) {
        this.name = b.name;
        this.flavor = b.flavor;
        this.qsbr = b.flavor == Flavor.QSBR;
        boolean asymmetric = b.flavor == Flavor.EBR_MEMBARRIER && !b.forceEntryFence && Membarrier.available();
        this.readerFence = qsbr ? ReaderFence.QUIESCENT_STATE_FENCE
                : asymmetric ? ReaderFence.MEMBARRIER : ReaderFence.ENTRY_FENCE;
        this.readers = new ReaderRegistry(qsbr, asymmetric);
        this.slotProbe = readers.threadSlots().probeArray();
        this.reports = new ReaderReports(name, LOGGER, b.readerReportListener);
        IdleStrategy readerWait = b.readerWaitIdle != null ? b.readerWaitIdle
                : new BackoffIdleStrategy(16, 16, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(1));
        this.gracePeriods = new GracePeriods(readers, readerWait, b.stallTimeout.toNanos(), reports);
        this.implicit = new ImplicitReaders(this, qsbr, readers, reports);
        this.handles = new ReaderHandles(qsbr, readers, reports);
        this.waits = new BlockingWaits(qsbr, implicit, handles, gracePeriods);
        Thread.UncaughtExceptionHandler h = b.handler != null ? b.handler
                : (t, e) -> LOGGER.log(System.Logger.Level.ERROR, "RCU callback failed in domain '" + name + "'", e);
        this.worker = new CallbackWorker(this, gracePeriods, h, b.callbackLimit);
        this.producers = new CallbackProducers(name, worker, waits, b.ownWorkerThread);
        if (b.ownWorkerThread) {
            // Dormancy only with the default: a user's strategy (say busy-spinning) is kept as given.
            IdleStrategy idle = b.workerIdle != null ? b.workerIdle : new DormantBackoff(worker, b.dormantParkNanos);
            this.runner = worker.startOwnThread(idle, LOGGER);
        } else {
            this.runner = null;
        }
    }

    static IllegalStateException closedException() {
        return new IllegalStateException("RCU domain is closed");
    }

    /** Throws unless the domain is open (neither closing nor closed). */
    void checkOpen() {
        if (state != OPEN) {
            throw closedException();
        }
    }

    /** Neither closing nor closed (the worker does not go dormant once close() has begun). */
    boolean isOpen() {
        return state == OPEN;
    }

    /**
     * The domain's name.
     *
     * @return the name given to the builder
     */
    public String name() {
        return name;
    }

    /**
     * The domain's flavor.
     *
     * @return the flavor given to the builder (EBR_MEMBARRIER also when it fell back to fences)
     */
    public Flavor flavor() {
        return flavor;
    }

    /**
     * How this domain's readers are ordered against grace periods: {@link ReaderFence#MEMBARRIER}
     * for an {@link Flavor#EBR_MEMBARRIER} domain whose grace periods issue membarrier,
     * {@link ReaderFence#ENTRY_FENCE} for EBR and for an EBR_MEMBARRIER domain that fell back to it,
     * {@link ReaderFence#QUIESCENT_STATE_FENCE} for QSBR. Fixed for the domain's life.
     *
     * @return the protocol in use
     */
    public ReaderFence readerFence() {
        return readerFence;
    }

    /**
     * Why {@link Flavor#EBR_MEMBARRIER} domains fall back to {@link ReaderFence#ENTRY_FENCE} in this
     * JVM, or {@code "available"}. Decided once per JVM, on the first call or domain.
     *
     * @return the reason membarrier is unavailable, or "available"
     */
    public static String membarrierStatus() {
        return Membarrier.unavailableReason();
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
            implicit.enterSlow(t);
            return;
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
            implicit.exitSlow(t);
            return;
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
     *
     * @return the section, whose {@code close()} leaves it (not a new object)
     * @throws IllegalStateException after close(), or (QSBR) on a thread that is not online
     */
    public ReadSection read() {
        Thread t = Thread.currentThread();
        ReaderSlot s = PerThreadTable.peek(slotProbe, t.threadId());
        if (s == null) {
            return implicit.enterSlow(t);
        }
        if (qsbr) {
            s.qsbrEnter();
        } else {
            s.ebrEnter();
        }
        return s;
    }

    /**
     * True if the calling thread is inside a read section of this domain (implicit API or a handle).
     *
     * @return true inside a read section of this domain
     */
    public boolean inReadSection() {
        return waits.inReadSection();
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
     *
     * @return true if the calling thread may block until a grace period completes
     */
    public boolean mayWaitForGracePeriod() {
        return waits.mayWait();
    }

    /**
     * QSBR: reports that the calling thread holds no reference obtained in a read section (call it
     * outside every section, at the thread's loop boundary); throws if the thread is not online.
     * EBR: no-op.
     *
     * @throws IllegalStateException after close(), or (QSBR) inside a section or on a thread that is
     *                               not online
     */
    public void quiescentState() {
        if (!qsbr) {
            checkOpen();
            return;
        }
        implicit.quiescentState();
    }

    /** QSBR: the calling thread goes online (idempotent); required before reading. EBR: no-op. */
    public void threadOnline() {
        checkOpen();
        if (qsbr) {
            implicit.online();
        }
    }

    /**
     * QSBR: the calling thread goes offline (idempotent; not inside a section); grace periods stop
     * waiting for it. EBR: no-op.
     */
    public void threadOffline() {
        checkOpen();
        if (qsbr) {
            implicit.offline();
        }
    }

    /**
     * Registers an explicit reader handle owned by the calling thread (QSBR: online); it lives as
     * long as that thread (see {@link Reader}).
     *
     * @return a handle owned by the calling thread
     * @throws IllegalStateException after close()
     */
    public Reader register() {
        checkOpen();
        return new Reader(handles.add(Thread.currentThread()));
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
        waits.awaitCookie(gracePeriods.snapshot(), "synchronize()");
    }

    /**
     * A cookie for the grace period that must complete before {@link #pollState(long)} returns true;
     * does not start one. Implies a full memory fence.
     *
     * @return the cookie, for {@link #pollState(long)} or {@link #condSynchronize(long)}
     * @throws IllegalStateException after close()
     */
    public long getState() {
        checkOpen();
        return gracePeriods.snapshot();
    }

    /**
     * Like {@link #getState()}, and asks the worker to run that grace period.
     *
     * @return the cookie, as {@link #getState()} returns it
     * @throws IllegalStateException after close()
     */
    public long startPoll() {
        checkOpen();
        long c = gracePeriods.snapshot();
        worker.requestGracePeriod(c);
        return c;
    }

    /**
     * True once the grace period of {@code cookie} has completed: one volatile read and a compare.
     *
     * @param cookie a cookie from {@link #getState()} or {@link #startPoll()}
     * @return true once that cookie's grace period has completed
     * @throws IllegalStateException after close()
     */
    public boolean pollState(long cookie) {
        return gracePeriods.done(cookie);
    }

    /**
     * Returns at once if {@code cookie}'s grace period has completed, otherwise waits for it.
     *
     * @throws IllegalStateException inside a read section of this domain, or after close()
     * @param cookie a cookie from {@link #getState()} or {@link #startPoll()}
     */
    public void condSynchronize(long cookie) {
        if (gracePeriods.done(cookie)) {
            waits.checkNotInSection("condSynchronize()");
            return;
        }
        waits.awaitCookie(cookie, "condSynchronize()");
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
     * @param callback the callback, run once on the worker after a grace period
     */
    public void call(Runnable callback) {
        if (callback == null) {
            throw new IllegalArgumentException("callback is null");
        }
        Thread t = Thread.currentThread();
        if (state != OPEN && !(state == CLOSING && worker.isDutyThread(t))) {
            throw closedException(); // callbacks may still queue callbacks while close() drains
        }
        producers.call(t, callback);
    }

    /**
     * Returns once every callback queued (by any thread) before this call has run.
     *
     * @throws IllegalStateException inside a read section, from a callback, or after close()
     */
    public void barrier() {
        checkOpen();
        waits.checkNotInSection("barrier()");
        if (worker.isDutyThread(Thread.currentThread())) {
            throw new IllegalStateException("barrier() from an RCU callback would deadlock");
        }
        ReaderSlot s = implicit.current();
        boolean wasOnline = waits.goOffline(s);
        try {
            if (!worker.awaitBarrier(worker.barrierTicket())) {
                throw closedException();
            }
        } finally {
            waits.comeBackOnline(s, wasOnline);
        }
    }

    /**
     * The domain's duty cycle as an Agrona agent, for {@code ownWorkerThread(false)}: run it with an
     * {@link AgentRunner} or {@code AgentInvoker} of your own. With the domain's own worker thread the
     * agent is already running and must not be started again.
     *
     * @return the worker's duty cycle
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

    /**
     * A snapshot of the domain's counters.
     *
     * @return the counters now
     */
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
        waits.checkNotInSection("close()");
        if (worker.isDutyThread(Thread.currentThread())) {
            throw new IllegalStateException("close() from an RCU callback would deadlock");
        }
        if (!STATE.compareAndSet(this, OPEN, CLOSING)) {
            return;
        }
        JmxRegistration.unregister(jmxRegistration);
        waits.goOffline(implicit.current()); // for good: the domain is closing
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
