package dev.sheaf.allocator.rcufree;

import dev.sheaf.allocator.RcuFreeStats;
import dev.sheaf.allocator.memory.FreePointer;

import dev.sheaf.rcu.Rcu;
import dev.sheaf.rcu.internal.PerThreadTable;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes: free after a grace period (the kernel's kvfree_rcu batching in
 * mm/slab_common.c, with the RFC's 8-byte rcu_ptr and kfree_rcu_nolock).
 *
 * Entry points and where an object waits:
 *   freeRcu(a, off)      -> chained through its own 8-byte field into the caller's OpenBatch
 *   freeRcu(a)           -> stored in a bulk array (long[], pooled) of the caller's OpenBatch;
 *                           every array out -> wait for the oldest in-flight batch holding
 *                           arrays (no new grace period) and retry once; no array in flight at
 *                           all (bulkArrayCache = 0) -> synchronize() and free inline
 *   freeRcuNoLock(a,off) -> like freeRcu(a, off) if the OpenBatch try-lock succeeds and the open
 *                           batch has room, else pushed on the lock-free NoLockDeferredList
 *   submitRcuSheaf       -> a full rcu sheaf from SlabCache.freeRcu becomes its own batch
 * Every entry point runs every check that may throw (open, the hard cap, read sections) before
 * target.claim, which moves the object allocated -> pending; after the claim nothing throws, so a
 * claimed object is never dropped. freeRcu(a, off) and freeRcuNoLock take their OpenBatch lock
 * first and claim under it (a claim that throws releases it), so the decision "open batch with
 * room" and the cap check that must precede the claim see the same batch.
 * A platform thread owns one OpenBatch (PerThreadTable lookup, registered once). Virtual threads
 * share a fixed power-of-two set of stripes picked from the thread id and probed with try-locks,
 * so 100 000 virtual threads own no state. An OpenBatch outlives its thread in the registry; the
 * drainer seals a dead owner's batch and unregisters it once empty, so nothing a thread queued is
 * lost when it dies.
 *
 * Batching: an open batch is sealed when it reaches batchObjects objects or pendingLimit/16
 * bytes (by its owner, at once), when it is older than drainDelay (by the drainer), or by
 * rcuBarrier. Sealing takes a cookie: if rcu.pollState(snapshot) is already true (snapshot =
 * rcu.getState() taken by the drainer after the last object entered, see OpenBatch) the batch is
 * freed without a new grace period; otherwise cookie = rcu.getState() and the batch waits for a
 * requested grace period (rcu.startPoll, the kernel's queue_rcu_work), which covers every batch
 * sealed before it. The request rule ties grace periods to time and memory, never to calls:
 *   - at most one requested grace period is outstanding (pollState of the last requested
 *     cookie); the kernel likewise queues a new batch only on a free krwp of its KFREE_N_BATCHES;
 *   - then a new one is requested once the drain delay has passed since the last request, or,
 *     past half the pending bound, as soon as at least pendingLimit/16 (batchBytes) bytes have
 *     been sealed since the last request (so each covers a large batch; the kernel shortens its
 *     monitor delay to one jiffy when a bulk page is full).
 * A request per call (per rcu sheaf, per sealed chain batch) would run grace periods back to back
 * in a flood; this rule costs at most one per batchBytes sealed or per drain delay, whichever
 * comes first, i.e. at most 16 per pendingLimit of freed memory plus the clock's. Memory stays
 * bounded by the pending bound below, not by this rule. Waiters (bound, barrier) drive grace periods with condSynchronize.
 * Sealed batches go on a Treiber stack (push only by sealers, taken whole by the drainer) and are
 * freed once pollState(cookie) holds. One grace period serves every batch sealed while it was
 * pending: thousands of objects.
 *
 * Pending bound: pending memory = `pendingBytes` (sealed, not yet freed) + the deferred list's
 * bytes + RcuFreeTarget.openRcuSheafBytes() (partly filled rcu sheaves, a racy sum the RcuFreeTarget computes,
 * so it is asked on slow paths only: opening or sealing a batch, a deferred push, a submitted rcu
 * sheaf; never per call on freeRcu's inlined path). Who waits is decided in one place,
 * callerMayWait() (today: not inside a read section; with QSBR an online thread may not wait
 * either, since waiting would take it offline and end a grace period while it holds pointers).
 *   - A caller that may wait and that seals a batch, or starts a new one after the drainer sealed
 *     its last, and finds pending memory above pendingLimitBytes helps: it frees ready batches and
 *     waits for the outstanding requested grace period, or requests one covering everything
 *     sealed so far if none is outstanding, and repeats while something it could wait for is in
 *     flight. Callers past the bound thus share one grace period at a time.
 *   - A caller that may not wait never waits and never goes offline in the engine: past the bound
 *     it frees what is ready if the drain lock is free and wakes the worker. Past the hard cap,
 *     hardCap = 2 * pendingLimitBytes, its calls on a slow path (opening a batch, sealing, the
 *     deferred list) throw IllegalStateException BEFORE target.claim, so the object stays
 *     allocated and nothing is half-done. freeRcuNoLock follows the same cap but never wakes (a
 *     wake may be a system call); headless freeRcu(a) rejects such callers outright (it may have
 *     to wait for an array or an inline grace period); submitRcuSheaf never waits or throws for
 *     the cap (the RcuFreeTarget bounds a sheaf; its caller meets the bound through meetPendingBound, and the
 *     cap through checkHardCapForRcuSheaf before it claims an object that opens a sheaf).
 *   - The cap check reads pendingBytes and the deferred list's byte counter, which push() keeps
 *     anyway (added before its CAS): no locked instruction beyond the push's own; the target's
 *     open sheaves are added only once that sum is past the bound. The aged flush (drainer) keeps
 *     any one open sheaf from holding objects for much longer than a drain delay.
 * Overshoot: what the checks do not see is bounded per thread or stripe T, not per call:
 *   - one open batch: below batchBytes (pendingLimit/16) plus one object, since the inlined path
 *     and freeRcuNoLock add only while the batch is under batchBytes, and a full one is sealed or
 *     bypassed on the slow path, where the cap is checked;
 *   - one batch being sealed, below batchBytes plus two objects (the sealing call adds one), which
 *     enters pendingBytes only after the check that admitted it;
 *   - one object per caller between its check and its add (the check is not atomic with the add);
 *   - for the rcu sheaf path, what the RcuFreeTarget keeps open (one sheaf per thread and cache, counted
 *     once it is past the bound, and submitted by the aged flush within about a drain delay).
 * So callers that may wait keep pending memory within pendingLimitBytes + T * (2 * batchBytes +
 * 4 objects) (their waits drive it back), and callers that may not wait within the same with the
 * hard cap in place of pendingLimitBytes; at 16 threads or stripes the batch term is 2 * pendingLimit.
 *
 * Hardened links (ChainLink notes): every link the engine stores inside an object - chain links of
 * freeRcu(a, off) and freeRcuNoLock, deferred-list nodes, end markers included - is
 * link ^ linkKey ^ reverseBytes(fieldAddress), linkKey drawn once per engine from SecureRandom.
 * Batch chains (OpenBatch, SealedBatch) are XOR-linked: each field holds packed(prev) ^ packed(next)
 * and the engine holds both ends (chainHead = newest, chainTail = oldest). The deferred list is a
 * singly linked Treiber stack; a chain taken from it is rewritten into the XOR form while it is
 * walked, by spliceDeferred (into an open batch, in front of its head) or moveDeferred (into a
 * batch of its own). Sealing (OpenBatch.moveTo) and hand-over to a barrier move both ends with the
 * count; the headless bulk arrays hold no links.
 * Validation: a walk starts from an engine-held end (a batch's chainHead or chainTail, the deferred
 * list head), follows a decoded link only after target.isPending(address, linkOffset) accepts it,
 * and is bounded by what its owner counted independently of the links (a batch's chainCount, the
 * deferred list's byte count): a cycle or a corrupt chain can neither loop nor hang, and a batch
 * chain's last field must name the end. A bad link is never dereferenced. In a batch chain the
 * drainer then walks from the tail back to the bad field (BatchDrainer notes): every object reached
 * from either end is freed, the bad one included, and only the objects between two bad fields are
 * lost. On the deferred list the objects behind a bad link are lost. Each bad field is reported as
 * an IllegalStateException naming the object whose field was bad and the value it decodes to
 * (corruptChainLink, corruptLink), through freeFailed (lastFreeError, freeErrors, a System.Logger
 * ERROR record), and counted in corruptLinks; lostObjects counts the objects of sealed batches no
 * walk reached, which stay pending and untouched. The rest of the batch and every other batch are
 * still freed. RcuFreeTarget failures are caught per call, counted (failedObjects) and reported the same
 * way, and the batch goes on; the freed counters count what freeNowBulk says it freed, not what
 * was attempted.
 *
 * Lock order (what each protects):
 *   OpenBatch.lock      - its open batch; may be held while taking BulkArrayPool.lock or
 *                        SealedBatchPool.lock (try-lock only), never while waiting for a grace period.
 *                        Held across the target's lock-free calls (claim, isPending, usableSize,
 *                        openRcuSheafBytes) and, on a corrupt deferred link, the error logger.
 *   deferredMoveLock   - the hand-off deferred list -> sealed batch (so rcuBarrier cannot miss
 *                        objects the drainer has taken but not yet published); leaf-level except
 *                        for the pools, the target's lock-free calls and the error logger.
 *   BatchDrainer.drainLock - the in-flight list and the act of freeing; may take the pool locks and
 *                        calls into the RcuFreeTarget (allocator locks). Never held together with an
 *                        OpenBatch lock, and never held while waiting for a grace period.
 *   registryLock       - copy-on-write registry of OpenBatches; leaf.
 * Nothing here holds a lock while calling rcu.synchronize/condSynchronize.
 *
 * Dormancy of the own worker (runWorker): parking max(drainDelay, 100 µs) whenever nothing is
 * pending still woke an idle process ~500 times a second. Once nothingPending() has held for about
 * 10 ms of consecutive cycles the worker dozes: opaque store workerDormant = true, full fence,
 * re-check nothingPending(), and if still nothing is pending park up to the dormant bound
 * (RcuFreeSettings.dormantParkNanos, 100 ms, or the drain delay if longer), then clear the flag.
 * nothingPending() also asks the RcuFreeTarget for open rcu sheaf bytes: a worker stays awake while a
 * partly filled rcu sheaf exists, so the aged flush submits it within about a drain delay. The
 * producers that can turn an idle engine busy wake it: the first object of an open batch in
 * freeRcu(a, off) (freeRcuSlow, also when it splices deferred objects or seals) and in headless
 * freeRcu(a), freeRcu(a, off)'s deferred push when its batch is held, and submitRcuSheaf. Each
 * stores its object, then wakeDrainer(): full fence, read the flag, and the producer that wins the
 * CAS true -> false unparks. Fences on both sides close the race (Dekker: the worker sees the
 * object or the producer sees the flag), and they cost one fence per batch or per rcu sheaf, since
 * these are already the once-per-batch slow paths; freeRcu's inlined common case gains nothing,
 * because a batch that already has an object cannot belong to a dormant engine (the re-check would
 * have seen it). freeRcuNoLock never wakes (no system call, by contract): an object it queues on a
 * dormant engine, or a batch it opened, waits until the park times out (<= the dormant bound)
 * unless a waking producer or an rcuBarrier gets to it first; it is never lost. A later
 * freeRcu(a, off) into a batch opened by freeRcuNoLock does not wake either (not the first object)
 * and shares that bound. The user-run agent (ownWorker = false) has no dormancy.
 *
 * Memory ordering: an object's link is written (plain) under its OpenBatch lock, before the CAS
 * of the deferred list, or, when a taken deferred chain is rewritten into the XOR form, by the
 * taker under the OpenBatch lock or deferredMoveLock before it publishes; sealing happens under the
 * OpenBatch lock and publishes the batch with the volatile CAS of the sealed stack; the drainer's
 * getAndSet of the stack therefore sees every link and array slot. Counters are AtomicLongs
 * updated once per batch, never per object.
 */
/**
 * Free after a grace period. The methods of this class are the contract between
 * {@link SlabAllocator} and the engine; see the notes above for the algorithm.
 */
public final class RcuFreeEngine implements AutoCloseable {



    static final int DEFAULT_BATCH_OBJECTS = 4096;
    /** Default dormant park bound (RcuFreeSettings.dormantParkNanos). */
    static final long DORMANT_PARK_NANOS = 100_000_000L;
    /** How long nothingPending() must have held, in consecutive worker cycles, before the worker dozes. */
    private static final long QUIET_NANOS_BEFORE_DORMANT = 10_000_000L;
    /** Bulk arrays one open batch may hold before it is sealed. */
    private static final int MAX_ARRAYS_PER_BATCH = 4;
    private static final VarHandle CLOSED;
    private static final VarHandle COARSE_NOW;
    private static final VarHandle WORKER_DORMANT;
    private static final VarHandle WORKER_CYCLES;
    private static final System.Logger LOG = System.getLogger(RcuFreeEngine.class.getName());

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CLOSED = lookup.findVarHandle(RcuFreeEngine.class, "closed", boolean.class);
            COARSE_NOW = lookup.findVarHandle(RcuFreeEngine.class, "coarseNow", long.class);
            WORKER_DORMANT = lookup.findVarHandle(RcuFreeEngine.class, "workerDormant", boolean.class);
            WORKER_CYCLES = lookup.findVarHandle(RcuFreeEngine.class, "workerCycles", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // Every field is final or volatile: SlabAllocator.engine() reads the reference to this engine
    // plain, which is safe only while that holds (JLS 17.5).
    private final Rcu rcu;
    private final RcuFreeTarget target;
    private final RcuFreeSettings settings;
    private final long batchBytes;

    private final PerThreadTable<OpenBatch> locals = new PerThreadTable<>();
    private final OpenBatch[] stripes;
    private final int stripeMask;
    private final ReentrantLock registryLock = new ReentrantLock();
    private volatile OpenBatch[] registry;

    /** Key of the hardened in-object links (ChainLink notes), drawn once per engine. */
    private final long linkKey = FreePointer.newKey();
    private final NoLockDeferredList deferred = new NoLockDeferredList(linkKey);
    private final ReentrantLock deferredMoveLock = new ReentrantLock();
    private final BulkArrayPool arrayPool;
    private final SealedBatchPool batchPool;
    private final AtomicReference<SealedBatch> sealed = new AtomicReference<>();
    private final BatchDrainer drainer;
    /** Coarse clock kept by the drainer, so the fast paths never read the time. */
    private volatile long coarseNow = System.nanoTime();

    private final AtomicLong pendingBytes = new AtomicLong();
    private final AtomicLong pendingObjects = new AtomicLong();
    private final AtomicLong peakPendingBytes = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong batchesReadyAtSeal = new AtomicLong();
    private final AtomicLong gracePeriodsRequested = new AtomicLong();
    /** The newest requested cookie; 0 reads as completed (a domain's first cookie is 2 or more). */
    private final AtomicLong lastRequestedCookie = new AtomicLong();
    /** Bytes of freed batches, ever: pendingBytes + this = bytes sealed ever, without a second counter in publish. */
    private final AtomicLong releasedBytes = new AtomicLong();
    /** Some sealed batch waits for a grace period nobody has started yet. */
    private volatile boolean gracePeriodWanted;
    /** When a grace period was last requested (racy by design: a duplicate request is harmless). */
    private volatile long lastGracePeriodRequest;
    /** sealedBytes() at the last request: the memory rule's starting point. */
    private volatile long sealedAtLastRequest;
    private final AtomicLong freedByRcuSheaf = new AtomicLong();
    private final AtomicLong freedByBulkArray = new AtomicLong();
    private final AtomicLong freedByChain = new AtomicLong();
    private final AtomicLong freedByDeferredList = new AtomicLong();
    private final AtomicLong freedInline = new AtomicLong();
    private final AtomicLong deferredPushes = new AtomicLong();
    private final AtomicLong boundWaits = new AtomicLong();
    private final AtomicLong freeErrors = new AtomicLong();
    private final AtomicLong corruptLinks = new AtomicLong();
    private final AtomicLong lostObjects = new AtomicLong();
    private final AtomicLong failedObjects = new AtomicLong();
    /** Objects taken off the deferred list (per take, not per push): with deferredPushes, its length for stats. */
    private final AtomicLong deferredTaken = new AtomicLong();
    private volatile RuntimeException lastFreeError;
    /** 2 * pendingLimitBytes (saturated): what callers that may not wait must stay below. */
    private final long hardCapBytes;

    private volatile boolean closed;
    private volatile boolean terminated;
    private final Thread worker;
    private volatile boolean workerRunning;
    /** The own worker is dozing or about to (see the notes); producers CAS it true -> false and unpark. */
    private volatile boolean workerDormant;
    /** Worker loop iterations, written opaque by the worker only; a test hook. */
    private volatile long workerCycles;

    public RcuFreeEngine(Rcu rcu, RcuFreeTarget target, RcuFreeSettings settings) {
        this.rcu = java.util.Objects.requireNonNull(rcu, "rcu");
        this.target = java.util.Objects.requireNonNull(target, "target");
        this.settings = settings == null ? RcuFreeSettings.DEFAULT : settings;
        this.batchBytes = Math.max(1L, this.settings.pendingLimitBytes() / 16);
        long limit = this.settings.pendingLimitBytes();
        this.hardCapBytes = limit > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : 2 * limit;
        int n = Integer.highestOneBit(Math.max(4, Runtime.getRuntime().availableProcessors() * 4) * 2 - 1);
        this.stripes = new OpenBatch[n];
        for (int i = 0; i < n; i++) {
            stripes[i] = new OpenBatch(null, MAX_ARRAYS_PER_BATCH, linkKey);
        }
        this.stripeMask = n - 1;
        this.registry = stripes.clone();
        this.arrayPool = new BulkArrayPool(this.settings.bulkArrayLength(), this.settings.bulkArrayCache());
        this.batchPool = new SealedBatchPool(256, MAX_ARRAYS_PER_BATCH);
        this.drainer = new BatchDrainer(this, rcu, target, arrayPool, batchPool, linkKey,
                this.settings.drainDelayNanos());
        if (this.settings.ownWorker()) {
            IdleStrategy idle = this.settings.idleStrategy() != null ? this.settings.idleStrategy()
                    : new BackoffIdleStrategy(64, 16, 1_000L, Math.max(10_000L, this.settings.drainDelayNanos() / 4));
            workerRunning = true;
            worker = Thread.ofPlatform().daemon().name("sheaf-rcu-free").unstarted(() -> runWorker(idle));
            worker.start();
        } else {
            worker = null;
        }
    }

    // ------------------------------------------------------------------ entry points

    /**
     * Two-argument kfree_rcu: frees the object after a grace period, chaining it through its own
     * 8-byte field at {@code address + linkOffset} (overwritten with an encoded link; readers must
     * not inspect it, and nobody may write it until the object is freed). Allocates nothing and
     * needs no array.
     *
     * <p>Waiting rule: while pending memory is under {@link RcuFreeSettings#pendingLimitBytes} it never
     * blocks. Past it, a caller that may wait for a grace period (outside a read section) and
     * opens or seals a batch helps drain and waits for a grace period. A caller that may not wait
     * (inside a read section) never waits: it helps without blocking and wakes the worker, and once
     * pending memory is past the hard cap of 2 &times; pendingLimitBytes, a call of it that would
     * open a batch, seal one or go to the deferred list throws IllegalStateException before the
     * object is taken (it stays allocated, nothing is queued); adding to its open batch still
     * succeeds, which that batch's size bounds.
     *
     * @throws IllegalArgumentException not a live object start of the allocator, or the link field
     *                                  is not an 8-byte aligned field inside the object
     * @throws IllegalStateException    already free or pending, the allocator/engine is closed, or a
     *                                  caller that may not wait past the hard cap (see above)
     */
    public void freeRcu(long address, long linkOffset) {
        checkOpen();
        OpenBatch local = tryAcquireLocal();
        // The common case in a few instructions, so that the JIT inlines this method into its
        // callers; everything else (a held batch, deferred splice, first object, sealing, the
        // pending bound and the hard cap) is out of line. Measured: with all of it inline the
        // method compiled too big to be inlined and each call paid two real calls. An open batch
        // under its thresholds takes the object without a pending check: the batch bounds it.
        if (local != null) {
            int n = local.objects();
            if (n != 0 && n + 1 < settings.batchObjects() && local.bytes() < batchBytes
                    && deferred.isEmptyRelaxed()) {
                local.addLinked(address, linkOffset, claimLocked(local, address, linkOffset), 0L);
                local.unlock();
                return;
            }
        }
        freeRcuSlow(local, address, linkOffset);
    }

    /** claimLinked with {@code local} locked; releases the lock if it throws (nothing was taken). */
    private long claimLocked(OpenBatch local, long address, long linkOffset) {
        try {
            return claimLinked(address, linkOffset);
        } catch (Throwable e) {
            local.unlock();
            throw e;
        }
    }

    /**
     * target.claim for the two-argument forms: a negative offset would read as headless (-1) to
     * the RcuFreeTarget, so the engine rejects it itself, before the claim.
     */
    private long claimLinked(long address, long linkOffset) {
        if (linkOffset < 0) {
            throw new IllegalArgumentException("link offset " + linkOffset + " of object 0x"
                    + Long.toHexString(address) + " is negative");
        }
        return target.claim(address, linkOffset);
    }

    /**
     * freeRcu(a, off) when its batch is held by someone else (local null), empty, about to seal,
     * or deferred frees wait: the hard cap for callers that may not wait, then the claim, then
     * the batch work. The open batch stays locked from the check to the add.
     */
    private void freeRcuSlow(OpenBatch local, long address, long linkOffset) {
        boolean mayWait = callerMayWait();
        if (local == null) {
            // The drainer or a barrier holds our batch for a few instructions; never park for it.
            // A barrier holding it does not wake the drainer, so this does.
            if (!mayWait) {
                checkHardCap(address);
            }
            pushDeferred(address, linkOffset, claimLinked(address, linkOffset));
            wakeDrainer();
            return;
        }
        boolean sealedOne;
        boolean fresh;
        boolean wake; // the batch was empty: the drainer may be dormant
        try {
            if (!mayWait) {
                checkHardCap(address);
            }
            long size = claimLinked(address, linkOffset);
            wake = local.objects() == 0;
            if (!deferred.isEmptyRelaxed()) {
                spliceDeferred(local);
                wake = true;
            }
            // First object of a batch: the previous one was sealed, perhaps by the drainer, so
            // this is where an owner that never fills a batch still meets the pending bound.
            fresh = local.objects() == 0;
            local.addLinked(address, linkOffset, size, now());
            sealedOne = (local.objects() >= settings.batchObjects() || local.bytes() >= batchBytes) && sealLocked(local);
        } finally {
            local.unlock();
        }
        if (wake || sealedOne) {
            wakeDrainer();
        }
        if (sealedOne || (fresh && pendingMemory() > settings.pendingLimitBytes())) {
            afterSeal();
        }
    }

    /**
     * Headless kfree_rcu: the address goes into a per-thread bulk array. When every array is in
     * flight the caller waits for the oldest in-flight grace period and retries once; when no array
     * can be had even so, it waits for a grace period of its own and frees the object before returning.
     *
     * @throws IllegalArgumentException not a live object start of the allocator
     * <p>Waiting rule: it may always have to wait, so a caller that may not wait for a grace
     * period (inside a read section) is rejected before the object is taken; past the pending
     * bound the caller helps drain and waits, as {@link #freeRcu(long, long)}.
     *
     * @throws IllegalArgumentException not a live object start of the allocator
     * @throws IllegalStateException    the caller may not wait for a grace period (inside an RCU
     *                                  read section: waiting there would deadlock), already free or
     *                                  pending, or closed
     */
    public void freeRcu(long address) {
        checkOpen();
        if (!callerMayWait()) {
            throw new IllegalStateException("headless freeRcu(0x" + Long.toHexString(address)
                    + ") by a caller that may not wait for a grace period (inside an RCU read section, or an online"
                    + " QSBR thread) may have"
                    + " to wait and would deadlock");
        }
        long size = target.claim(address, -1);
        for (int attempt = 0; ; attempt++) {
            OpenBatch local = acquireLocal();
            boolean sealedOne = false;
            boolean noArray = false;
            boolean fresh;
            boolean wake; // the batch was empty: the drainer may be dormant
            try {
                wake = local.objects() == 0;
                if (!deferred.isEmpty()) {
                    spliceDeferred(local);
                    wake = true;
                }
                fresh = local.objects() == 0;
                if (!local.hasArraySlot()) {
                    if (!local.canAddArray()) {
                        sealedOne = sealLocked(local);
                    }
                    long[] array = arrayPool.take();
                    if (array == null) {
                        noArray = true;
                    } else {
                        local.addArray(array);
                    }
                }
                if (!noArray) {
                    local.addToArray(address, size, now());
                    if (!sealedOne && local.bytes() >= batchBytes) {
                        sealedOne = sealLocked(local);
                    }
                }
            } finally {
                local.unlock();
            }
            if (wake || sealedOne) {
                wakeDrainer();
            }
            if (sealedOne || (fresh && pendingMemory() > settings.pendingLimitBytes())) {
                afterSeal();
            }
            if (!noArray) {
                return;
            }
            // Every array is out. Arrays in flight come back one grace period later: wait for the
            // oldest (no new grace period) and retry once. Nothing in flight: the kernel's last
            // resort, a grace period of our own and an inline free.
            if (attempt == 0 && awaitInFlightArrays()) {
                continue;
            }
            gracePeriodsRequested.incrementAndGet();
            rcu.synchronize();
            try {
                target.freeNow(address);
                freedInline.incrementAndGet();
            } catch (RuntimeException e) {
                // Claimed and not freed: the allocator's failure, not the caller's; report it like the drainer.
                freeFailed(e);
                freeAttemptFailed(1);
            }
            return;
        }
    }

    /** Frees ready batches, else waits for the oldest in-flight cookie and frees again; false if nothing is in flight. */
    private boolean awaitInFlightArrays() {
        long cookie;
        drainer.drainLock.lock();
        try {
            if (drainer.drainReady() > 0) {
                return true;
            }
            SealedBatch oldest = drainer.oldestWaitingWithArrays();
            if (oldest == null) {
                return false;
            }
            cookie = oldest.cookie;
        } finally {
            drainer.drainLock.unlock();
        }
        rcu.condSynchronize(cookie);
        drainer.drainLock.lock();
        try {
            drainer.drainReady();
        } finally {
            drainer.drainLock.unlock();
        }
        return true;
    }

    /**
     * kfree_rcu_nolock (two-argument only): never parks, spin-waits or makes a system call. It
     * try-locks the caller's open batch; if that fails or the batch is full it pushes the object
     * on a lock-free list linked through the same field, which the drainer or the next ordinary
     * freeRcu* moves into the normal batches. Never wakes the engine's worker either (that would
     * be a system call): on an idle engine whose worker has gone dormant, the object is picked up
     * when the dormant park ends - within {@link RcuFreeSettings#dormantParkNanos} (100 ms by default) -
     * or earlier by the next freeRcu*, rcu sheaf or rcuBarrier; it is never lost, only freed later.
     *
     * <p>Waiting rule: it never waits, whatever the pending memory. Adding to its open batch is
     * bounded by that batch; a call that would open a batch or push on the deferred list while
     * pending memory is past the hard cap of 2 &times; {@link RcuFreeSettings#pendingLimitBytes} throws
     * IllegalStateException before the object is taken (it stays allocated, nothing is queued;
     * free it later). The check reads counters only: no locked instruction.
     *
     * @throws IllegalArgumentException as {@link #freeRcu(long, long)}
     * @throws IllegalStateException    already free or pending, closed, or past the hard cap (see above)
     */
    public void freeRcuNoLock(long address, long linkOffset) {
        checkOpen();
        Thread t = Thread.currentThread();
        // Only look up, never register: registering takes the registry lock.
        OpenBatch local = t.isVirtual() ? tryAcquireStripe(t) : tryLockOwn(locals.get());
        if (local == null) {
            checkHardCap(address);
            pushDeferred(address, linkOffset, claimLinked(address, linkOffset));
            return;
        }
        try {
            // Sealing a full batch calls rcu.startPoll(), which may take locks: leave that to others.
            int n = local.objects();
            if (n != 0 && n < settings.batchObjects() && local.bytes() < batchBytes) {
                local.addLinked(address, linkOffset, claimLinked(address, linkOffset), 0L);
                return;
            }
            checkHardCap(address); // opening a batch, or the deferred list: memory beyond this batch
            long size = claimLinked(address, linkOffset);
            if (n == 0) {
                local.addLinked(address, linkOffset, size, now());
                return;
            }
            pushDeferred(address, linkOffset, size);
        } finally {
            local.unlock();
        }
    }

    /**
     * Seals an rcu sheaf (its first {@code sheaf.size} objects) with a grace-period cookie; never
     * blocks and, after a sheaf's first trip, allocates nothing: the batch record lives in the
     * sheaf. The caller gives the sheaf up until the drainer hands it back through
     * {@link RcuFreeTarget#rcuSheafReady} after the grace period. Call it without holding allocator
     * locks the RcuFreeTarget needs in rcuSheafReady.
     */
    public void submitRcuSheaf(Object cache, RcuSheaf sheaf) {
        // Accepted while closing: close() asks the allocator to flush its rcu sheaves.
        if (terminated) {
            throw new IllegalStateException("free-after-grace-period engine is closed");
        }
        long[] objects = sheaf.addresses();
        int count = sheaf.count();
        if (count < 0 || count > objects.length) {
            throw new IllegalArgumentException("sheaf count " + count + " outside 0.." + objects.length);
        }
        SealedBatch b = sheaf.batch;
        if (b == null) {
            b = new SealedBatch(0);
            sheaf.batch = b;
        }
        b.sheafCache = cache;
        b.sheaf = sheaf;
        b.sheafCount = count;
        b.objects = count;
        b.bytes = count == 0 ? 0 : (long) count * target.usableSize(objects[0]);
        publish(b, false, 0L);
        maybeRequestGracePeriod(coarseNow);
        wakeDrainer();
    }

    /**
     * kvfree_rcu_barrier: flushes the rcu sheaves (through the allocator), every per-thread and
     * per-stripe batch and the deferred list, then waits; on return every object passed to any
     * freeRcu* (or submitted in an rcu sheaf) before the call is free.
     *
     * @throws IllegalStateException inside an RCU read section (it would wait for itself)
     */
    public void rcuBarrier() {
        if (rcu.inReadSection()) {
            throw new IllegalStateException("rcuBarrier inside an RCU read section would deadlock");
        }
        target.flushRcuSheaves();
        // Deferred list first: an object taken from it by a splicer is then already inside an
        // OpenBatch that the pass below seals (the splicer holds that lock across the take).
        moveDeferred(true);
        for (OpenBatch l : registry) {
            l.lock();
            try {
                sealLocked(l);
            } finally {
                l.unlock();
            }
        }
        drainer.drainLock.lock();
        try {
            // Everything this barrier sealed or flushed is on the sealed stack or in flight now;
            // adopting numbers it, so `last` covers exactly the batches published before this
            // point (a number taken at publish time, before the push, could name a batch that
            // is not on the stack yet: the barrier would then return without it).
            long last = drainer.adoptAndNumber();
            while (true) {
                drainer.drainReady();
                SealedBatch waiting = drainer.oldestWaiting(last);
                if (waiting == null) {
                    return;
                }
                long cookie = waiting.cookie;
                drainer.drainLock.unlock();
                try {
                    rcu.condSynchronize(cookie);
                } finally {
                    drainer.drainLock.lock();
                }
            }
        } finally {
            drainer.drainLock.unlock();
        }
    }

    /**
     * Takes the lock of every registered OpenBatch, as the drainer or a barrier does, and returns
     * them; for tests that force the no-lock fallback. Release with {@link #unlockLocals}.
     */
    public OpenBatch[] lockLocals() {
        OpenBatch[] r = registry;
        for (OpenBatch l : r) {
            l.lock();
        }
        return r;
    }

    public void unlockLocals(OpenBatch[] held) {
        for (OpenBatch l : held) {
            l.unlock();
        }
    }

    /** The drainer as an Agrona Agent, for running it on the user's thread ({@code ownWorker = false}). */
    public Agent agent() {
        return drainer;
    }

    public RcuFreeStats stats() {
        long openObjects = 0;
        long openBytes = 0;
        for (OpenBatch l : registry) {
            openObjects += l.objectsOpaque();
        }
        // Open bytes are read racily; they are owner-private plain fields, so this is an estimate.
        for (OpenBatch l : registry) {
            openBytes += l.bytes();
        }
        long inDeferred = Math.max(0L, deferredPushes.get() - deferredTaken.get());
        return new RcuFreeStats(
                pendingObjects.get() + openObjects + inDeferred,
                pendingBytes.get() + openBytes + deferred.bytes(),
                peakPendingBytes.get(),
                batches.get(),
                gracePeriodsRequested.get(),
                freedByRcuSheaf.get(),
                freedByBulkArray.get(),
                freedByChain.get(),
                freedByDeferredList.get(),
                freedInline.get(),
                batchesReadyAtSeal.get(),
                deferredPushes.get(),
                boundWaits.get(),
                freeErrors.get(),
                corruptLinks.get(),
                lostObjects.get(),
                failedObjects.get());
    }

    /**
     * The most recent error of freeing, or null: an exception the RcuFreeTarget threw while the engine
     * freed objects, or an IllegalStateException for a corrupt link (see {@link RcuFreeStats#corruptLinks}).
     */
    RuntimeException lastFreeError() {
        return lastFreeError;
    }

    /** True once close() has finished: the drainer's agent ends (AgentTerminationException). */
    boolean isTerminated() {
        return terminated;
    }

    /** Waits like {@link #rcuBarrier()}, then stops the worker. Later freeRcu* calls throw IllegalStateException. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        rcuBarrier();
        closed = true;
        rcuBarrier(); // anything that raced with the first barrier
        terminated = true;
        if (worker != null) {
            workerRunning = false;
            LockSupport.unpark(worker);
            boolean interrupted = false;
            while (worker.isAlive()) {
                try {
                    worker.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ------------------------------------------------------------------ per-thread state

    private OpenBatch tryAcquireLocal() {
        OpenBatch l = locals.peek(); // a hit is the calling platform thread's own batch
        if (l != null && l.tryLock()) {
            return l;
        }
        return tryAcquireLocalSlow(Thread.currentThread());
    }

    /** tryAcquireLocal() for virtual threads, a first call, or a batch held by the drainer or a barrier. */
    private OpenBatch tryAcquireLocalSlow(Thread t) {
        if (t.isVirtual()) {
            return tryAcquireStripe(t);
        }
        OpenBatch l = locals.get();
        if (l == null) {
            l = register(t);
        }
        if (l.tryLock()) {
            return l;
        }
        // Only the drainer or a barrier can hold an owner's batch, for a short critical section
        // that never parks: a bounded spin is cheaper than the deferred list's shared CAS.
        for (int i = 0; i < 64; i++) {
            Thread.onSpinWait();
            if (l.tryLock()) {
                return l;
            }
        }
        return null;
    }

    private static OpenBatch tryLockOwn(OpenBatch l) {
        return l != null && l.tryLock() ? l : null;
    }

    /** Blocking variant for the headless path. */
    private OpenBatch acquireLocal() {
        Thread t = Thread.currentThread();
        if (!t.isVirtual()) {
            OpenBatch l = locals.get();
            if (l == null) {
                l = register(t);
            }
            l.lock();
            return l;
        }
        OpenBatch l;
        while ((l = tryAcquireStripe(t)) == null) {
            Thread.yield();
        }
        return l;
    }

    private OpenBatch tryAcquireStripe(Thread t) {
        long id = t.threadId();
        int h = (int) (id ^ (id >>> 17)) * 0x9E3779B9;
        int start = h >>> 16;
        for (int i = 0; i <= stripeMask; i++) {
            OpenBatch l = stripes[(start + i) & stripeMask];
            if (l.tryLock()) {
                return l;
            }
        }
        return null;
    }

    private OpenBatch register(Thread t) {
        OpenBatch l = new OpenBatch(t, MAX_ARRAYS_PER_BATCH, linkKey);
        registryLock.lock();
        try {
            OpenBatch[] r = registry;
            OpenBatch[] n = Arrays.copyOf(r, r.length + 1);
            n[r.length] = l;
            registry = n;
        } finally {
            registryLock.unlock();
        }
        locals.put(l);
        return l;
    }

    private void unregister(OpenBatch dead) {
        locals.remove(dead);
        registryLock.lock();
        try {
            OpenBatch[] r = registry;
            for (int i = 0; i < r.length; i++) {
                if (r[i] == dead) {
                    OpenBatch[] n = new OpenBatch[r.length - 1];
                    System.arraycopy(r, 0, n, 0, i);
                    System.arraycopy(r, i + 1, n, i, r.length - i - 1);
                    registry = n;
                    return;
                }
            }
        } finally {
            registryLock.unlock();
        }
    }

    // ------------------------------------------------------------------ sealing and hand-off

    /** A claimed object onto the deferred list; no wake-up (freeRcuNoLock may not make a system call). */
    private void pushDeferred(long address, long linkOffset, long size) {
        deferred.push(address, linkOffset, size);
        deferredPushes.incrementAndGet();
    }

    /**
     * Wakes a dormant own worker after the caller has stored its object. Once-per-batch slow
     * paths only: the full fence pairs with the one in doze() (see the notes), so either the
     * worker's re-check sees the object or this sees the flag.
     */
    private void wakeDrainer() {
        VarHandle.fullFence();
        if ((boolean) WORKER_DORMANT.getOpaque(this) && WORKER_DORMANT.compareAndSet(this, true, false)) {
            LockSupport.unpark(worker);
        }
    }

    /**
     * Moves the deferred list into the caller's open batch. OpenBatch lock held. The walk starts at
     * the list head (an engine-held value) and follows validated links only (nextDeferred); a bad
     * link ends it. Each object's field is rewritten into the batch chain's XOR form once its
     * successor is known, and addChain writes the last one's, so the chain that enters the batch
     * is exactly the objects counted.
     */
    private void spliceDeferred(OpenBatch local) {
        long chain = deferred.takeAll();
        if (chain == 0) {
            return;
        }
        long budget = deferred.bytes(); // read after the take: at least the chain's bytes
        int n = 0;
        long bytes = 0;
        long prev = 0;
        long cur = chain;
        while (true) {
            n++;
            bytes += target.usableSize(ChainLink.address(cur));
            long next = nextDeferred(cur, bytes, budget);
            if (next == 0) {
                break;
            }
            ChainLink.setNeighbours(cur, prev ^ next, linkKey); // after nextDeferred read the old link
            prev = cur;
            cur = next;
        }
        deferred.taken(bytes);
        deferredTaken.addAndGet(n);
        local.addChain(chain, cur, prev, n, bytes, coarseNow);
    }

    /**
     * The next object of a chain taken from the deferred list, or 0 at its end. A link that names
     * no pending object, or a chain longer than the list's byte count allows (each object holds at
     * least its 8-byte link: a cycle), is reported and ends the walk; the objects behind it cannot
     * be reached and stay pending.
     */
    private long nextDeferred(long link, long walkedBytes, long budget) {
        long next = ChainLink.next(link, linkKey);
        if (next == 0) {
            return 0;
        }
        if (walkedBytes + Long.BYTES > budget
                || !target.isPending(ChainLink.address(next), ChainLink.linkOffset(next))) {
            corruptLink(link, next);
            return 0;
        }
        return next;
    }

    /**
     * Moves the deferred list into a sealed batch of its own. The drainer passes wait = false
     * (try-lock); rcuBarrier passes true so it cannot overtake a hand-off in progress.
     */
    int moveDeferred(boolean wait) {
        if (!wait && deferred.isEmpty()) {
            return 0;
        }
        if (wait) {
            deferredMoveLock.lock();
        } else if (!deferredMoveLock.tryLock()) {
            return 0;
        }
        try {
            long chain = deferred.takeAll();
            if (chain == 0) {
                return 0;
            }
            long budget = deferred.bytes();
            int n = 0;
            long bytes = 0;
            long prev = 0;
            long cur = chain;
            while (true) { // as spliceDeferred: into the XOR form, the walk's last object ends it
                n++;
                bytes += target.usableSize(ChainLink.address(cur));
                long next = nextDeferred(cur, bytes, budget);
                ChainLink.setNeighbours(cur, prev ^ next, linkKey);
                if (next == 0) {
                    break;
                }
                prev = cur;
                cur = next;
            }
            deferred.taken(bytes);
            deferredTaken.addAndGet(n);
            SealedBatch b = batchPool.take();
            b.chainHead = chain;
            b.chainTail = cur;
            b.chainCount = n;
            b.deferredCount = n;
            b.objects = n;
            b.bytes = bytes;
            publish(b, false, 0L);
            return 1;
        } finally {
            deferredMoveLock.unlock();
        }
    }

    /** Seals the open batch of {@code l} if it has objects. OpenBatch lock held. */
    private boolean sealLocked(OpenBatch l) {
        if (l.objects() == 0) {
            return false;
        }
        SealedBatch b = batchPool.take();
        boolean current = l.snapshotCurrent();
        long snapshot = l.snapshot();
        l.moveTo(b);
        publish(b, current, snapshot);
        return true;
    }

    private void publish(SealedBatch b, boolean hasSnapshot, long snapshot) {
        if (hasSnapshot && rcu.pollState(snapshot)) {
            b.cookie = snapshot;
            b.ready = true;
            batchesReadyAtSeal.incrementAndGet();
        } else {
            // A cookie without starting a grace period: maybeRequestGracePeriod starts one for
            // everything sealed meanwhile, by the clock or by memory (one per batch would make the
            // grace-period rate follow the call rate).
            b.cookie = rcu.getState();
            gracePeriodWanted = true;
        }
        long pending = pendingBytes.addAndGet(b.bytes);
        pendingObjects.addAndGet(b.objects);
        long peak;
        while (pending > (peak = peakPendingBytes.get()) && !peakPendingBytes.compareAndSet(peak, pending)) {
            Thread.onSpinWait();
        }
        batches.incrementAndGet();
        // No sequence number here: the drainer numbers batches when it adopts them (drain lock held).
        SealedBatch head;
        do {
            head = sealed.get();
            b.next = head;
        } while (!sealed.compareAndSet(head, b));
    }

    /**
     * Requests the grace period that sealed batches wait for, by the rule in the notes: none while
     * a requested one is outstanding; then once per drain delay, or past half the pending bound
     * once batchBytes more have been sealed since the last request. Called per sealed batch, per
     * rcu sheaf and per drainer cycle; only reads unless it requests. The flag is cleared before
     * startPoll so a batch sealed concurrently either is covered by this request or sets the
     * flag again.
     */
    void maybeRequestGracePeriod(long now) {
        if (!gracePeriodWanted || !rcu.pollState(lastRequestedCookie.get())) {
            return;
        }
        if (now - lastGracePeriodRequest < settings.drainDelayNanos()
                && (pendingBytes.get() <= settings.pendingLimitBytes() / 2
                    || sealedBytes() - sealedAtLastRequest < batchBytes)) {
            return;
        }
        gracePeriodWanted = false;
        requestGracePeriod(now);
    }

    /** Starts a grace period covering every batch sealed so far and records it as the outstanding one. */
    private long requestGracePeriod(long now) {
        lastGracePeriodRequest = now;
        sealedAtLastRequest = sealedBytes(); // read before startPoll: all of it is covered
        long cookie = rcu.startPoll();
        long last;
        while ((last = lastRequestedCookie.get()) - cookie < 0) {
            if (lastRequestedCookie.compareAndSet(last, cookie)) {
                gracePeriodsRequested.incrementAndGet();
                break;
            }
        }
        return cookie;
    }

    /**
     * Bytes sealed ever (a racy sum: batchFreed adds to releasedBytes before it subtracts from
     * pendingBytes, and this reads pendingBytes first, so it may run ahead by batches being freed
     * right now, never behind). Good enough to space requests; no per-batch cost for sealers.
     */
    private long sealedBytes() {
        long pending = pendingBytes.get();
        return pending + releasedBytes.get();
    }

    /**
     * A caller sealed a full batch: ask for its grace period and respect the pending bound. Under
     * the bound the freeing is left to the drainer (freeing thousands of objects here would put
     * the very cost freeRcu defers back on the caller); past it the caller helps.
     */
    private void afterSeal() {
        maybeRequestGracePeriod(coarseNow);
        meetPendingBound();
    }

    /**
     * Past the pending bound: help drain, and if the caller may wait for a grace period, wait for
     * one. A caller that may not wait (callerMayWait) only frees what is ready, without blocking,
     * and wakes the worker: it never waits and never goes offline here. Also called by the rcu
     * sheaf path after submitRcuSheaf, which already asked for the grace period.
     */
    public void meetPendingBound() {
        long limit = settings.pendingLimitBytes();
        if (pendingMemory() <= limit) {
            return;
        }
        if (!callerMayWait()) {
            drainer.tryDrainReady();
            wakeDrainer();
            return;
        }
        while (true) {
            moveDeferred(false);
            long cookie;
            drainer.drainLock.lock();
            try {
                drainer.drainReady();
                if (pendingMemory() <= limit || drainer.oldestWaiting(Long.MAX_VALUE) == null) {
                    return;
                }
            } finally {
                drainer.drainLock.unlock();
            }
            // Wait for the outstanding requested grace period: every caller past the bound shares
            // it, and it frees what was sealed before it. None outstanding: what is pending was
            // all sealed after the last request, and one new request covers it all. Waiting for
            // the oldest batch's cookie instead would run a grace period per rcu sheaf in a flood,
            // and a fresh getState() per waiter one per wait.
            cookie = lastRequestedCookie.get();
            if (rcu.pollState(cookie)) {
                gracePeriodWanted = false;
                cookie = requestGracePeriod(coarseNow);
            }
            boundWaits.incrementAndGet();
            rcu.condSynchronize(cookie);
        }
    }

    /**
     * Whether the calling thread may wait for a grace period here: the one place the engine asks.
     * Inside a read section it may not (the wait would deadlock), nor may an online QSBR thread
     * (the wait would count it quiescent without its consent while it holds pointers).
     */
    private boolean callerMayWait() {
        return rcu.mayWaitForGracePeriod(); // false in a read section and on an online QSBR thread
    }

    /**
     * Pending memory for the bound: sealed and unfreed, on the deferred list, and in partly filled
     * rcu sheaves (a RcuFreeTarget call: slow paths only). Open per-thread batches are not counted; the
     * notes bound them.
     */
    private long pendingMemory() {
        return pendingBytes.get() + deferred.bytes() + target.openRcuSheafBytes();
    }

    /**
     * The hard cap for the allocator's rcu sheaf path (SlabCache.freeRcu): it calls this before it
     * claims an object that opens an rcu sheaf (a slow path: once per sheaf, never per object), so
     * a caller that may not wait meets the same cap as freeRcu(a, off). Does nothing for a caller
     * that may wait (it meets the bound through meetPendingBound after the submit).
     *
     * @throws IllegalStateException the caller may not wait and pending memory is past the hard cap
     */
    public void checkHardCapForRcuSheaf(long address) {
        if (!callerMayWait()) {
            checkHardCap(address);
        }
    }

    /**
     * The hard cap for callers that may not wait, checked before target.claim so that a rejected
     * call leaves the object allocated and queues nothing. Reads counters only (no locked
     * instruction); the target's open rcu sheaves are added only once the engine's own count is
     * past the bound.
     */
    private void checkHardCap(long address) {
        long own = pendingBytes.get() + deferred.bytes();
        if (own <= settings.pendingLimitBytes()) {
            return;
        }
        long pending = own + target.openRcuSheafBytes();
        if (pending > hardCapBytes) {
            throw new IllegalStateException("free after a grace period of 0x" + Long.toHexString(address)
                    + " refused: the caller may not wait for a grace period and pending memory (" + pending
                    + " bytes) is past the hard cap of 2 * pendingLimitBytes = " + hardCapBytes
                    + " bytes; the object was not taken and is still allocated");
        }
    }

    // ------------------------------------------------------------------ drainer support

    SealedBatch takeSealed() {
        return sealed.get() == null ? null : sealed.getAndSet(null);
    }

    void tick(long now) {
        coarseNow = now;
    }

    /** Seals open batches older than the drain delay and empties dead owners'. Never blocks. */
    int sealDue(long now) {
        int work = 0;
        long delay = settings.drainDelayNanos();
        for (OpenBatch l : registry) {
            boolean dead = l.ownerDead();
            if (l.objectsOpaque() == 0) {
                if (dead && l.tryLock()) {
                    try {
                        if (l.objects() == 0) {
                            unregister(l);
                        }
                    } finally {
                        l.unlock();
                    }
                }
                continue;
            }
            boolean due = dead || now - l.openedAtOpaque() >= delay;
            int seen = l.objectsOpaque();
            // An owner still adding gains nothing from a snapshot and should not meet our lock.
            boolean quiet = seen == l.drainerSeen;
            l.drainerSeen = seen;
            if ((due || quiet) && l.tryLock()) {
                try {
                    if (due) {
                        if (sealLocked(l)) {
                            work++;
                        }
                    } else if (l.objects() > 0 && !l.snapshotCurrent()) {
                        // Remember a cookie that covers everything in the quiet batch now.
                        l.takeSnapshot(rcu.getState());
                    }
                } finally {
                    l.unlock();
                }
            }
        }
        return work;
    }

    /** Accounts a freed batch of {@code bytes}/{@code objects}; the rest split the objects by channel. */
    void batchFreed(long bytes, long objects, long chain, long viaDeferred, long bulk, long sheaf) {
        releasedBytes.addAndGet(bytes); // before pendingBytes: sealedBytes() never runs behind
        pendingBytes.addAndGet(-bytes);
        pendingObjects.addAndGet(-objects);
        if (chain != 0) {
            freedByChain.addAndGet(chain);
        }
        if (viaDeferred != 0) {
            freedByDeferredList.addAndGet(viaDeferred);
        }
        if (bulk != 0) {
            freedByBulkArray.addAndGet(bulk);
        }
        if (sheaf != 0) {
            freedByRcuSheaf.addAndGet(sheaf);
        }
    }

    /** Reports an error of freeing (a RcuFreeTarget failure or a corrupt link): lastFreeError, the counter, the log. */
    void freeFailed(RuntimeException e) {
        freeErrors.incrementAndGet();
        lastFreeError = e;
        LOG.log(System.Logger.Level.ERROR, "free after a grace period: " + e.getMessage(), e);
    }

    /** {@code n} objects handed to the RcuFreeTarget were not freed by it (already reported). */
    void freeAttemptFailed(long n) {
        failedObjects.addAndGet(n);
    }

    /**
     * The link read from the pending object {@code link} designates, on the singly linked deferred
     * list, decoded to {@code decoded}, which the engine will not follow (ChainLink's validation rule).
     * Reports an IllegalStateException; what is behind it is unknown (the list keeps no count).
     */
    void corruptLink(long link, long decoded) {
        corruptLinks.incrementAndGet();
        freeFailed(new IllegalStateException("corrupt deferred-list link in pending object 0x"
                + Long.toHexString(ChainLink.address(link)) + " (link field at offset " + ChainLink.linkOffset(link)
                + "): it decodes to 0x" + Long.toHexString(decoded) + " (object 0x"
                + Long.toHexString(ChainLink.address(decoded)) + " with its link at offset " + ChainLink.linkOffset(decoded)
                + ", which is not a pending object); not followed, the objects behind it, if any, are lost (they"
                + " stay pending, untouched). Something wrote to the object after it was passed to freeRcu."));
    }

    /**
     * A batch chain's field in the pending object {@code link} designates decoded to {@code raw}
     * (packed(prev) ^ packed(next), ChainLink notes); beside {@code from}, the neighbour the walk came
     * from (0 at an end), it names {@code toward}, which the engine does not follow.
     * {@code expected}: what the walk needed there, when that is not simply a pending object (null);
     * {@code outcome}: what became of the objects behind it. Reports an IllegalStateException and
     * counts the link; the lost objects are counted by {@link #chainObjectsLost}.
     */
    void corruptChainLink(long link, long raw, long from, long toward, String expected, String outcome) {
        corruptLinks.incrementAndGet();
        String named = toward == 0 ? "the end of the chain"
                : "object 0x" + Long.toHexString(ChainLink.address(toward)) + " with its link at offset "
                        + ChainLink.linkOffset(toward);
        String what = expected != null ? named + ", " + expected
                : toward == 0 ? named + " before the walk reached the batch's other end"
                : named + ", which is not a pending object";
        String beside = from == 0 ? "at its end of the chain"
                : "beside object 0x" + Long.toHexString(ChainLink.address(from));
        freeFailed(new IllegalStateException("corrupt link in pending object 0x"
                + Long.toHexString(ChainLink.address(link)) + " (link field at offset " + ChainLink.linkOffset(link)
                + "): it decodes to 0x" + Long.toHexString(raw) + ", which " + beside + " names " + what
                + "; not followed, " + outcome + ". Something wrote to the object after it was passed to freeRcu."));
    }

    /** {@code n} objects of a sealed batch's chain that neither walk could reach (they stay pending). */
    void chainObjectsLost(long n) {
        if (n > 0) {
            lostObjects.addAndGet(n);
        }
    }

    /** Drainer step 4: the RcuFreeTarget submits rcu sheaves that have held objects for a drain delay. */
    void flushAgedRcuSheaves(long now) {
        target.flushAgedRcuSheaves(now, settings.drainDelayNanos());
    }

    private boolean nothingPending() {
        if (sealed.get() != null || !deferred.isEmpty() || !drainer.idleOpaque()) {
            return false;
        }
        for (OpenBatch l : registry) {
            if (l.objectsOpaque() != 0) {
                return false;
            }
        }
        // Partly filled rcu sheaves: stay awake until the aged flush has submitted them.
        return target.openRcuSheafBytes() == 0;
    }

    private void runWorker(IdleStrategy idle) {
        long quietPark = Math.max(settings.drainDelayNanos(), 100_000L);
        long quietCyclesBeforeDormant = Math.max(1L, QUIET_NANOS_BEFORE_DORMANT / quietPark);
        long dormantPark = Math.max(settings.dormantParkNanos(), quietPark); // never wake more often than awake
        long quietCycles = 0;
        while (workerRunning) {
            WORKER_CYCLES.setOpaque(this, (long) WORKER_CYCLES.getOpaque(this) + 1);
            int work;
            try {
                work = drainer.doWork();
            } catch (org.agrona.concurrent.AgentTerminationException e) {
                break; // closed under us: close() ends the loop too
            } catch (RuntimeException e) {
                freeFailed(e);
                work = 0;
            }
            if (work > 0) {
                quietCycles = 0;
                idle.reset();
            } else if (nothingPending()) {
                idle.reset();
                if (quietCycles < quietCyclesBeforeDormant) {
                    quietCycles++;
                    LockSupport.parkNanos(this, quietPark);
                } else {
                    doze(dormantPark); // declined: something appeared, the next cycle sees it
                }
            } else {
                quietCycles = 0;
                idle.idle();
            }
        }
    }

    /** The worker's dormant park (see the notes): flag, fence, re-check, park; the flag is cleared after. */
    private void doze(long parkNanos) {
        WORKER_DORMANT.setOpaque(this, true);
        VarHandle.fullFence(); // the Dekker fence: orders the re-check's peeks (OpenBatch.objects) after the flag
        try {
            if (workerRunning && nothingPending()) {
                LockSupport.parkNanos(this, parkNanos);
            }
        } finally {
            WORKER_DORMANT.setOpaque(this, false); // a producer that still sees true costs one spare unpark
        }
    }

    /** Test hook: the link key, so that a test can name the value a corrupt link decodes to. */
    long linkKeyForTest() {
        return linkKey;
    }

    /** Test hook: the own worker has published dormancy (parked or about to park). */
    boolean isWorkerDormant() {
        return workerDormant;
    }

    /** Test hook: iterations of the own worker's loop so far. */
    long workerCycles() {
        return (long) WORKER_CYCLES.getOpaque(this);
    }

    /** Test hook: the own worker thread (null with ownWorker = false). */
    Thread workerThread() {
        return worker;
    }

    /**
     * The drainer's clock, read plain by every call (a volatile read costs a compiler barrier per
     * call); only batch ages depend on it, and a long read is atomic on every 64-bit JVM (JDK 25
     * has no 32-bit port).
     */
    private long now() {
        return (long) COARSE_NOW.get(this);
    }

    /** Plain read of `closed`: same contract as SlabCache's lifecycle check (see its notes). */
    private void checkOpen() {
        if ((boolean) CLOSED.get(this)) {
            throw new IllegalStateException("free-after-grace-period engine is closed");
        }
    }
}
