package dev.sheaf.allocator.rcufree;

import dev.sheaf.allocator.RcuFreeStats;
import dev.sheaf.allocator.memory.FreePointer;

import dev.sheaf.rcu.Rcu;
import dev.sheaf.rcu.internal.PerThreadTable;
import org.agrona.concurrent.Agent;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Implementation notes: free after a grace period (the kernel's kvfree_rcu batching in
 * mm/slab_common.c, with the RFC's 8-byte rcu_ptr and kfree_rcu_nolock). This class holds the
 * entry points, sealing and the barrier; each other concept has its own class (see the map).
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
 * An object then moves: OpenBatch (open, per thread or stripe) -> SealedBatch on the SealedStack
 * (sealed, with a cookie) -> BatchDrainer's in-flight list -> freed through the RcuFreeTarget once
 * its grace period has passed. Every entry point runs every check that may throw (open, the hard
 * cap, read sections) before target.claim, which moves the object allocated -> pending; after
 * the claim nothing throws, so a claimed object is never dropped. freeRcu(a, off) and
 * freeRcuNoLock take their OpenBatch lock first and claim under it (a claim that throws releases
 * it), so the decision "open batch with room" and the cap check that must precede the claim see
 * the same batch.
 *
 * Sealing: an open batch is sealed when it reaches batchObjects objects or batchBytes
 * (pendingLimit/16) bytes (by its owner, at once), when it is older than drainDelay or its owner
 * died (by the drainer, sealDue), or by rcuBarrier. The fast path takes no cookie and reads no
 * clock: the drainer keeps the coarse clock and takes a snapshot cookie of a quiet batch, so a
 * batch whose snapshot has completed by sealing time is freed without a new grace period.
 * A caller that seals leaves the freeing to the drainer while under the pending bound (freeing
 * thousands of objects there would put the very cost freeRcu defers back on the caller).
 *
 * Barrier: rcuBarrier flushes the target's rcu sheaves, the deferred list (first, so an object a
 * splicer took is already inside an OpenBatch the next pass seals) and every open batch, then,
 * under the drain lock, numbers everything published so far and waits until no batch at or
 * below that number is in flight.
 *
 * Lock order (what each protects):
 *   OpenBatch lock       - its open batch; may be held while taking BulkArrayPool.lock or
 *                          SealedBatchPool.lock (try-lock only), never while waiting for a grace
 *                          period. Held across the target's lock-free calls (claim, isPending,
 *                          usableSize, openRcuSheafBytes) and, on a corrupt deferred link, the
 *                          error logger.
 *   DeferredHandOff lock - the hand-off deferred list -> sealed batch; leaf-level except for the
 *                          pools, the target's lock-free calls and the error logger.
 *   BatchDrainer.drainLock - the in-flight list and the act of freeing; may take the pool locks
 *                          and calls target.freeNow/freeNowBulk/rcuSheafReady. Never held together
 *                          with an OpenBatch lock, and never held while waiting for a grace period.
 *   OpenBatchRegistry lock - copy-on-write registry of OpenBatches; leaf.
 * Nothing here holds a lock while calling rcu.synchronize/condSynchronize.
 * Against the slab allocator's locks (SlabCache notes): drainLock precedes every allocator lock,
 * since the drainer frees through the target with it held; an OpenBatch lock or the hand-off lock
 * is held only across the target's lock-free calls; and the allocator calls into the engine
 * holding no lock of its own, except submitRcuSheaf, which SlabCache calls holding its agedLock
 * (the aged flush, a barrier's flush) or, retiring a dead thread's magazine in flushAll, under
 * SlabAllocator.cachesLock, and which takes no engine lock.
 *
 * Memory ordering: an object's link is written (plain) under its OpenBatch lock, before the CAS
 * of the deferred list, or, when a taken deferred chain is rewritten into the XOR form, by the
 * taker under the OpenBatch lock or the hand-off lock before it publishes; sealing happens under
 * the OpenBatch lock and publishes the batch with the volatile CAS of the SealedStack; the
 * drainer's getAndSet of the stack therefore sees every link and array slot. Every field of this
 * class is final or volatile (SlabAllocator.engine() reads the reference plainly, JLS 17.5).
 *
 * Where the rest is:
 *   OpenBatch            - one thread's or stripe's open batch under its try-lock word
 *   OpenBatchRegistry    - which OpenBatch a thread uses; virtual-thread stripes; dead owners
 *   NoLockDeferredList   - the lock-free list of freeRcuNoLock; DeferredHandOff moves it into batches
 *   ChainLink            - the hardened 8-byte in-object link and the XOR-linked chain format
 *   SealedBatch(Pool), SealedStack - sealed batches, their recycling, their way to the drainer
 *   GracePeriodRequests  - when a grace period is requested (at most one outstanding)
 *   PendingBound         - the pending bound and the hard cap: who helps, waits or is refused
 *   BatchDrainer         - the duty cycle; freeing a batch, chain recovery from corrupt links
 *   EngineWorker         - the own worker thread and its dormancy
 *   BulkArrayPool        - the headless path's bulk arrays
 *   EngineCounters, FreeFailures - counters and stats; how failures are reported
 *
 * Map of this file: fields and constructor -> entry points (freeRcu(a, off) and its slow path,
 * freeRcu(a), freeRcuNoLock, submitRcuSheaf) -> rcuBarrier -> the pending bound's public face ->
 * agent, stats, close -> sealing (sealLocked, afterSeal, sealDue) -> drainer and worker support
 * -> test hooks.
 */
/**
 * Free after a grace period. The methods of this class are the contract between
 * {@link dev.sheaf.allocator.SlabAllocator} and the engine; see the notes above for the algorithm.
 */
public final class RcuFreeEngine implements AutoCloseable {

    /** Bulk arrays one open batch may hold before it is sealed. */
    private static final int MAX_ARRAYS_PER_BATCH = 4;
    /** Idle SealedBatch objects kept for reuse. */
    private static final int SEALED_BATCH_POOL = 256;
    private static final VarHandle CLOSED;
    private static final VarHandle COARSE_NOW;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CLOSED = lookup.findVarHandle(RcuFreeEngine.class, "closed", boolean.class);
            COARSE_NOW = lookup.findVarHandle(RcuFreeEngine.class, "coarseNow", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // Read on freeRcu(a, off)'s inlined path: closed, locals, settings, batchBytes, deferred, target.
    private final Rcu rcu;
    private final RcuFreeTarget target;
    private final RcuFreeSettings settings;
    private final long batchBytes;
    private final PerThreadTable<OpenBatch> locals = new PerThreadTable<>();
    /** Key of the hardened in-object links (ChainLink notes), drawn once per engine. */
    private final long linkKey = FreePointer.newKey();
    private final NoLockDeferredList deferred = new NoLockDeferredList(linkKey);

    private final OpenBatchRegistry openBatches;
    private final BulkArrayPool arrayPool;
    private final SealedBatchPool batchPool;
    private final EngineCounters counters = new EngineCounters();
    private final FreeFailures failures = new FreeFailures(counters);
    private final GracePeriodRequests gracePeriods;
    private final SealedStack sealed;
    private final DeferredHandOff handOff;
    private final BatchDrainer drainer;
    /** The own worker, or null with ownWorker = false. */
    private final EngineWorker worker;
    private final PendingBound bound;
    /** Coarse clock kept by the drainer, so the fast paths never read the time. */
    private volatile long coarseNow = System.nanoTime();
    private volatile boolean closed;
    private volatile boolean terminated;

    /**
     * An engine freeing through {@code target} after grace periods of {@code rcu}.
     *
     * @param rcu      the RCU domain whose grace periods the engine waits for
     * @param target   the allocator the engine claims objects from and frees them to
     * @param settings tunables; null means {@link RcuFreeSettings#DEFAULT}
     */
    public RcuFreeEngine(Rcu rcu, RcuFreeTarget target, RcuFreeSettings settings) {
        this.rcu = java.util.Objects.requireNonNull(rcu, "rcu");
        this.target = java.util.Objects.requireNonNull(target, "target");
        this.settings = settings == null ? RcuFreeSettings.DEFAULT : settings;
        long limit = this.settings.pendingLimitBytes();
        this.batchBytes = Math.max(1L, limit / 16);
        this.openBatches = new OpenBatchRegistry(locals, MAX_ARRAYS_PER_BATCH, linkKey);
        this.arrayPool = new BulkArrayPool(this.settings.bulkArrayLength(), this.settings.bulkArrayCache());
        this.batchPool = new SealedBatchPool(SEALED_BATCH_POOL, MAX_ARRAYS_PER_BATCH);
        this.gracePeriods = new GracePeriodRequests(rcu, counters, this.settings.drainDelayNanos(), limit,
                batchBytes);
        this.sealed = new SealedStack(rcu, gracePeriods, counters);
        this.handOff = new DeferredHandOff(deferred, target, linkKey, batchPool, sealed, counters, failures);
        this.drainer = new BatchDrainer(this, rcu, target, arrayPool, batchPool, sealed, handOff, gracePeriods,
                counters, failures, linkKey, this.settings.drainDelayNanos());
        this.worker = this.settings.ownWorker()
                ? new EngineWorker(drainer, this::nothingPending, failures::freeFailed, this.settings) : null;
        this.bound = new PendingBound(rcu, target, deferred, counters, gracePeriods, handOff, drainer, worker,
                this::coarseNow, limit);
        if (worker != null) {
            worker.start();
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
     * @param address    the start of a live object of the allocator
     * @param linkOffset the offset of the object's 8-byte link field
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
        // pending bound and the hard cap) is out of line, since with all of it inline the method
        // would compile too big to be inlined. An open batch under its thresholds takes the
        // object without a pending check: the batch bounds it.
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

    /** The calling thread's OpenBatch, try-locked, or null; a platform thread's own batch inline. */
    private OpenBatch tryAcquireLocal() {
        OpenBatch l = locals.peek(); // a hit is the calling platform thread's own batch
        if (l != null && l.tryLock()) {
            return l;
        }
        return openBatches.tryAcquireSlow(Thread.currentThread());
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
        boolean mayWait = bound.callerMayWait();
        if (local == null) {
            // The drainer or a barrier holds our batch for a few instructions; never park for it.
            // A barrier holding it does not wake the drainer, so this does.
            if (!mayWait) {
                bound.checkHardCap(address);
            }
            handOff.push(address, linkOffset, claimLinked(address, linkOffset));
            wakeWorker();
            return;
        }
        boolean sealedOne;
        boolean fresh;
        boolean wake; // the batch was empty: the worker may be dormant
        try {
            if (!mayWait) {
                bound.checkHardCap(address);
            }
            long size = claimLinked(address, linkOffset);
            wake = local.objects() == 0;
            if (!deferred.isEmptyRelaxed()) {
                handOff.spliceInto(local, coarseNow);
                wake = true;
            }
            // First object of a batch: the previous one was sealed, perhaps by the drainer, so
            // this is where an owner that never fills a batch still meets the pending bound.
            fresh = local.objects() == 0;
            local.addLinked(address, linkOffset, size, now());
            sealedOne = (local.objects() >= settings.batchObjects() || local.bytes() >= batchBytes)
                    && sealLocked(local);
        } finally {
            local.unlock();
        }
        afterAdd(wake, sealedOne, fresh);
    }

    /**
     * Headless kfree_rcu: the address goes into a per-thread bulk array. When every array is in
     * flight the caller waits for the oldest in-flight grace period and retries once; when no array
     * can be had even so, it waits for a grace period of its own and frees the object before returning.
     *
     * <p>Waiting rule: it may always have to wait, so a caller that may not wait for a grace
     * period (inside a read section) is rejected before the object is taken; past the pending
     * bound the caller helps drain and waits, as {@link #freeRcu(long, long)}.
     *
     * @param address the start of a live object of the allocator
     * @throws IllegalArgumentException not a live object start of the allocator
     * @throws IllegalStateException    the caller may not wait for a grace period (inside an RCU
     *                                  read section: waiting there would deadlock), already free or
     *                                  pending, or closed
     */
    public void freeRcu(long address) {
        checkOpen();
        if (!bound.callerMayWait()) {
            throw new IllegalStateException("headless freeRcu(0x" + Long.toHexString(address)
                    + ") by a caller that may not wait for a grace period (inside an RCU read section, or an online"
                    + " QSBR thread) may have to wait and would deadlock");
        }
        long size = target.claim(address, -1);
        for (int attempt = 0; ; attempt++) {
            OpenBatch local = openBatches.acquire();
            boolean sealedOne = false;
            boolean noArray = false;
            boolean fresh;
            boolean wake; // the batch was empty: the worker may be dormant
            try {
                wake = local.objects() == 0;
                if (!deferred.isEmpty()) {
                    handOff.spliceInto(local, coarseNow);
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
            afterAdd(wake, sealedOne, fresh);
            if (!noArray) {
                return;
            }
            // Every array is out. Arrays in flight come back one grace period later: wait for the
            // oldest (no new grace period) and retry once. Nothing in flight: the kernel's last
            // resort, a grace period of our own and an inline free.
            if (attempt == 0 && drainer.awaitInFlightArrays()) {
                continue;
            }
            counters.gracePeriodRequested();
            rcu.synchronize();
            try {
                target.freeNow(address);
                counters.freedInline();
            } catch (RuntimeException e) {
                // Claimed and not freed: the allocator's failure, not the caller's; report it like the drainer.
                failures.freeFailed(e);
                failures.freeAttemptFailed(1);
            }
            return;
        }
    }

    /**
     * kfree_rcu_nolock (two-argument only): never parks, spin-waits or makes a system call. It
     * try-locks the caller's open batch; if that fails or the batch is full it pushes the object
     * on a lock-free list linked through the same field, which the drainer or the next ordinary
     * freeRcu* moves into the normal batches. Never wakes the engine's worker either (that would
     * be a system call): on an idle engine whose worker has gone dormant, the object is picked up
     * when the dormant park ends - within {@link RcuFreeSettings#dormantParkNanos} - or earlier by
     * the next freeRcu*, rcu sheaf or rcuBarrier; it is never lost, only freed later.
     *
     * <p>Waiting rule: it never waits, whatever the pending memory. Adding to its open batch is
     * bounded by that batch; a call that would open a batch or push on the deferred list while
     * pending memory is past the hard cap of 2 &times; {@link RcuFreeSettings#pendingLimitBytes} throws
     * IllegalStateException before the object is taken (it stays allocated, nothing is queued;
     * free it later). The check reads counters only: no locked instruction.
     *
     * @param address    the start of a live object of the allocator
     * @param linkOffset the offset of the object's 8-byte link field
     * @throws IllegalArgumentException as {@link #freeRcu(long, long)}
     * @throws IllegalStateException    already free or pending, closed, or past the hard cap (see above)
     */
    public void freeRcuNoLock(long address, long linkOffset) {
        checkOpen();
        Thread t = Thread.currentThread();
        // Only look up, never register: registering takes the registry lock.
        OpenBatch local = t.isVirtual() ? openBatches.tryAcquireStripe(t) : tryLockOwn(locals.get());
        if (local == null) {
            bound.checkHardCap(address);
            handOff.push(address, linkOffset, claimLinked(address, linkOffset));
            return;
        }
        try {
            // Sealing a full batch calls rcu.startPoll(), which may take locks: leave that to others.
            int n = local.objects();
            if (n != 0 && n < settings.batchObjects() && local.bytes() < batchBytes) {
                local.addLinked(address, linkOffset, claimLinked(address, linkOffset), 0L);
                return;
            }
            bound.checkHardCap(address); // opening a batch, or the deferred list: memory beyond this batch
            long size = claimLinked(address, linkOffset);
            if (n == 0) {
                local.addLinked(address, linkOffset, size, now());
                return;
            }
            handOff.push(address, linkOffset, size);
        } finally {
            local.unlock();
        }
    }

    private static OpenBatch tryLockOwn(OpenBatch l) {
        return l != null && l.tryLock() ? l : null;
    }

    /**
     * Seals an rcu sheaf (its first {@code sheaf.count()} objects) with a grace-period cookie; never
     * blocks and, after a sheaf's first trip, allocates nothing: the batch record lives in the
     * sheaf. The caller gives the sheaf up until the drainer hands it back through
     * {@link RcuFreeTarget#rcuSheafReady} after the grace period. Call it without holding allocator
     * locks the RcuFreeTarget needs in rcuSheafReady.
     *
     * @param cache the opaque token handed back with the sheaf in {@link RcuFreeTarget#rcuSheafReady}
     * @param sheaf the full (or flushed) rcu sheaf
     * @throws IllegalArgumentException the sheaf's count lies outside its array
     * @throws IllegalStateException    the engine is closed
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
        sealed.publish(b, false, 0L);
        gracePeriods.maybeRequest(coarseNow);
        wakeWorker();
    }

    // ------------------------------------------------------------------ barrier

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
        handOff.moveToOwnBatch(true);
        for (OpenBatch l : openBatches.all()) {
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

    // ------------------------------------------------------------------ the pending bound (PendingBound)

    /**
     * Past the pending bound: help drain, and if the caller may wait for a grace period, wait for
     * one. A caller that may not wait (inside a read section, or an online QSBR thread) only frees
     * what is ready, without blocking, and wakes the worker: it never waits and never goes offline
     * here. Called by the rcu sheaf path after submitRcuSheaf, which already asked for the grace
     * period.
     */
    public void meetPendingBound() {
        bound.meet();
    }

    /**
     * The hard cap for the allocator's rcu sheaf path (SlabCache.freeRcu): it calls this before it
     * claims an object that opens an rcu sheaf (a slow path: once per sheaf, never per object), so
     * a caller that may not wait meets the same cap as freeRcu(a, off). Does nothing for a caller
     * that may wait (it meets the bound through meetPendingBound after the submit).
     *
     * @param address the object about to open an rcu sheaf (named in the exception)
     * @throws IllegalStateException the caller may not wait and pending memory is past the hard cap
     */
    public void checkHardCapForRcuSheaf(long address) {
        bound.checkHardCapForRcuSheaf(address);
    }

    // ------------------------------------------------------------------ agent, stats, close

    /**
     * The drainer as an Agrona Agent, for running it on the user's thread ({@code ownWorker = false}).
     *
     * @return the drainer's agent
     */
    public Agent agent() {
        return drainer;
    }

    /**
     * A racy snapshot of the engine's counters.
     *
     * @return the counters, with the open batches and the deferred list counted as pending
     */
    public RcuFreeStats stats() {
        long openObjects = 0;
        long openBytes = 0;
        OpenBatch[] all = openBatches.all();
        for (OpenBatch l : all) {
            openObjects += l.objectsOpaque();
        }
        // Open bytes are read racily; they are owner-private plain fields, so this is an estimate.
        for (OpenBatch l : all) {
            openBytes += l.bytes();
        }
        return counters.snapshot(openObjects, openBytes, deferred.bytes());
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
            worker.stop();
        }
    }

    // ------------------------------------------------------------------ sealing

    /** Seals the open batch of {@code l} if it has objects. OpenBatch lock held. */
    private boolean sealLocked(OpenBatch l) {
        if (l.objects() == 0) {
            return false;
        }
        SealedBatch b = batchPool.take();
        boolean current = l.snapshotCurrent();
        long snapshot = l.snapshot();
        l.moveTo(b);
        sealed.publish(b, current, snapshot);
        return true;
    }

    /**
     * The slow path's end, with no lock held: wake the worker for a first object or a sealed batch,
     * and meet the pending bound after a seal or a fresh batch opened past it.
     */
    private void afterAdd(boolean wake, boolean sealedOne, boolean fresh) {
        if (wake || sealedOne) {
            wakeWorker();
        }
        if (sealedOne || (fresh && bound.pastLimit())) {
            afterSeal();
        }
    }

    /**
     * A caller sealed a full batch (or opened one past the bound): ask for its grace period and
     * respect the pending bound. Under the bound the freeing is left to the drainer; past it the
     * caller helps.
     */
    private void afterSeal() {
        gracePeriods.maybeRequest(coarseNow);
        bound.meet();
    }

    /**
     * Drainer step 1: seals open batches older than the drain delay and dead owners' batches, takes
     * a snapshot cookie of quiet ones, and drops dead owners' empty batches. Never blocks.
     */
    int sealDue(long now) {
        int work = 0;
        long delay = settings.drainDelayNanos();
        for (OpenBatch l : openBatches.all()) {
            boolean dead = l.ownerDead();
            if (l.objectsOpaque() == 0) {
                if (dead) {
                    openBatches.removeDeadIfEmpty(l);
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

    // ------------------------------------------------------------------ drainer and worker support

    /** The drainer's clock tick: every batch age and grace-period request time is on this clock. */
    void tick(long now) {
        coarseNow = now;
    }

    /** The coarse clock, read volatile (slow paths and the pending bound's requests). */
    private long coarseNow() {
        return coarseNow;
    }

    /** True once close() has finished: the drainer's agent ends (AgentTerminationException). */
    boolean isTerminated() {
        return terminated;
    }

    /**
     * The worker's idle test: nothing sealed, deferred, in flight, open, or in a partly filled rcu
     * sheaf (the worker stays awake until the aged flush has submitted it).
     */
    private boolean nothingPending() {
        if (!sealed.isEmpty() || !deferred.isEmpty() || !drainer.idleOpaque()) {
            return false;
        }
        for (OpenBatch l : openBatches.all()) {
            if (l.objectsOpaque() != 0) {
                return false;
            }
        }
        return target.openRcuSheafBytes() == 0;
    }

    /** Wakes a dormant own worker after the caller has stored its object (EngineWorker notes). */
    private void wakeWorker() {
        if (worker != null) {
            worker.wake();
        }
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

    // ------------------------------------------------------------------ test hooks

    /**
     * Takes the lock of every registered OpenBatch, as the drainer or a barrier does, and returns
     * them; for tests that force the no-lock fallback. Release with {@link #unlockLocals}.
     *
     * @return the batches now locked, to pass to {@link #unlockLocals}
     */
    public OpenBatch[] lockLocals() {
        return openBatches.lockAll();
    }

    /**
     * Releases what {@link #lockLocals} took.
     *
     * @param held the array {@link #lockLocals} returned
     */
    public void unlockLocals(OpenBatch[] held) {
        openBatches.unlockAll(held);
    }

    /** Moves the deferred list into a sealed batch of its own (DeferredHandOff.moveToOwnBatch). */
    int moveDeferred(boolean wait) {
        return handOff.moveToOwnBatch(wait);
    }

    /** The most recent error of freeing, or null (FreeFailures). */
    RuntimeException lastFreeError() {
        return failures.lastFreeError();
    }

    /** The link key, so that a test can name the value a corrupt link decodes to. */
    long linkKeyForTest() {
        return linkKey;
    }

    /** The own worker has published dormancy (parked or about to park). */
    boolean isWorkerDormant() {
        return worker != null && worker.isDormant();
    }

    /** Iterations of the own worker's loop so far. */
    long workerCycles() {
        return worker == null ? 0 : worker.cycles();
    }

    /** The own worker thread (null with ownWorker = false). */
    Thread workerThread() {
        return worker == null ? null : worker.thread();
    }
}
