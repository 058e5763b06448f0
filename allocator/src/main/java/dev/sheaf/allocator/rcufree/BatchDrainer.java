package dev.sheaf.allocator.rcufree;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import dev.sheaf.rcu.Rcu;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentTerminationException;

import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes: the drainer (the kernel's kfree_rcu_monitor + kfree_rcu_work).
 *
 * One duty cycle (doWork) never blocks:
 *   1. seal every open OpenBatch batch older than the drain delay (and any batch of a dead owner),
 *      each under a try-lock of its OpenBatch (RcuFreeEngine.sealDue);
 *   2. move the no-lock deferred list into a sealed batch (DeferredHandOff), and request a grace
 *      period for the batches sealed since the last one if the rule of GracePeriodRequests allows
 *      it (none outstanding, and the drain delay has passed or, past half the pending bound,
 *      enough memory was sealed);
 *   3. under a try-lock of the drain lock, adopt the sealed stack into the in-flight FIFO and free
 *      every in-flight batch whose cookie has completed (pollState: one volatile read each);
 *   4. about once per drain delay (on the coarse clock, without any engine lock), ask the target
 *      to submit the rcu sheaves that have held objects for a drain delay
 *      (RcuFreeTarget.flushAgedRcuSheaves), so a thread that went idle cannot pin its partly filled one.
 * It runs on the engine's own worker thread (EngineWorker) by default, or on the user's thread as
 * an Agrona Agent. Callers past the pending bound run step 3 (PendingBound.meet: with a blocking
 * lock between grace-period waits when they may wait, by try-lock when not), and a headless caller
 * short of bulk arrays waits for the oldest batch holding arrays (awaitInFlightArrays), so progress
 * does not depend on the worker.
 *
 * The drain lock guards the in-flight list, the scratch array and the act of freeing: a batch is
 * freed only while the lock is held, so rcuBarrier, which takes the lock, cannot return while
 * another thread is half-way through freeing a batch it must wait for. Nobody waits for a grace
 * period while holding the drain lock.
 *
 * Freeing never trusts memory a user could have written. A batch chain is XOR-linked (ChainLink
 * notes) and both its ends are engine-held. It is walked from the head; each field is decoded
 * (ChainLink hardening) and the neighbour it names is followed only if RcuFreeTarget.isPending says it
 * designates a pending object, and the last object's field must name the end. At the first bad
 * field, in object k, the walk stops; what it collected before k is freed, and a second walk
 * starts from the tail, with the same checks, until the field of k's other neighbour names k.
 * Then every object of the chain was reached and is freed, k included: one corrupt field loses
 * nothing. If the walk from the tail meets a bad field of its own first, the objects strictly
 * between the two bad fields cannot be reached and are counted lost (they stay pending,
 * untouched); both bad objects are freed, since each was reached through a validated field. The
 * two walks together free at most chainCount objects and read at most chainCount + 1 fields (see
 * below), so neither a cycle nor a corrupt chain can loop or reach beyond the batch.
 * A field that decodes to a pending object outside the batch needs the key (noise does so with
 * negligible odds); should it happen anyway, the head walk follows it to a foreign object k, and
 * the walk from the tail reaches k's predecessor without passing k, or collects all the objects
 * the count leaves without k: then k stays untouched (its own batch frees it) and the
 * predecessor's field is the one reported. This is why the tail walk may read one field more than
 * the count leaves behind k, unless k is the head (engine-held, so certainly in the chain). Every
 * bad field is reported through FreeFailures.corruptChainLink (an IllegalStateException naming the
 * object, the value its field decodes to and what became of the rest, on lastFreeError and the
 * System.Logger), and every other batch is freed as usual. The deferred list's walk
 * (DeferredHandOff.takeChain) is singly linked: there a bad link ends the walk and the objects
 * behind it are lost.
 * A target failure (freeNow/freeNowBulk/rcuSheafReady throwing) is reported the same way and the
 * batch goes on; the freed counters take freeNowBulk's return value, never the number of objects
 * attempted.
 *
 * Map: doWork (the duty cycle) -> tryDrainReady / drainReady / awaitInFlightArrays -> oldestWaiting
 * and adoptAndNumber (for waiters and rcuBarrier) -> adoptSealed -> free / freeSheaf / freeChain
 * (the two walks) -> freeBulk.
 */
/** Seals due batches and frees the ones whose grace period has passed. */
final class BatchDrainer implements Agent {

    /** Shortest period of step 4. */
    private static final long MIN_AGED_FLUSH_PERIOD_NANOS = 100_000L;

    private final RcuFreeEngine engine;
    private final Rcu rcu;
    private final RcuFreeTarget target;
    private final BulkArrayPool arrayPool;
    private final SealedBatchPool batchPool;
    private final SealedStack sealed;
    private final DeferredHandOff handOff;
    private final GracePeriodRequests gracePeriods;
    private final EngineCounters counters;
    private final FreeFailures failures;
    final ReentrantLock drainLock = new ReentrantLock();

    /** In-flight FIFO (oldest first): written under drainLock, head also read without it. */
    private volatile SealedBatch head;
    @GuardedBy("drainLock")
    private SealedBatch tail;
    /** Number given to the last adopted batch (SealedBatch.sequence). */
    @GuardedBy("drainLock")
    private long adopted;
    /** Chain objects collected for one bulk free (its contents; the reference is final). */
    private final long[] scratch = new long[256];
    private final long linkKey;
    private final long drainDelayNanos;
    /** Period of step 4: the drain delay, but at least MIN_AGED_FLUSH_PERIOD_NANOS. */
    private final long agedFlushPeriod;
    /** Coarse-clock time of the last step 4; the agent's thread only (doWork is single-threaded). */
    private long lastAgedFlush;

    BatchDrainer(RcuFreeEngine engine, Rcu rcu, RcuFreeTarget target, BulkArrayPool arrayPool,
            SealedBatchPool batchPool, SealedStack sealed, DeferredHandOff handOff, GracePeriodRequests gracePeriods,
            EngineCounters counters, FreeFailures failures, long linkKey, long drainDelayNanos) {
        this.engine = engine;
        this.rcu = rcu;
        this.target = target;
        this.arrayPool = arrayPool;
        this.batchPool = batchPool;
        this.sealed = sealed;
        this.handOff = handOff;
        this.gracePeriods = gracePeriods;
        this.counters = counters;
        this.failures = failures;
        this.linkKey = linkKey;
        this.drainDelayNanos = drainDelayNanos;
        this.agedFlushPeriod = Math.max(drainDelayNanos, MIN_AGED_FLUSH_PERIOD_NANOS);
        this.lastAgedFlush = System.nanoTime();
    }

    @Override
    public int doWork() {
        if (engine.isTerminated()) {
            // A user's AgentRunner stops the agent cleanly once the allocator has closed.
            throw new AgentTerminationException("free-after-grace-period engine is closed");
        }
        long now = System.nanoTime();
        engine.tick(now);
        int work = engine.sealDue(now);
        work += handOff.moveToOwnBatch(false);
        gracePeriods.maybeRequest(now);
        work += tryDrainReady();
        if (now - lastAgedFlush >= agedFlushPeriod) {
            lastAgedFlush = now;
            try {
                target.flushAgedRcuSheaves(now, drainDelayNanos);
            } catch (RuntimeException e) {
                failures.freeFailed(e);
            }
        }
        return work;
    }

    @Override
    public String roleName() {
        return "sheaf-rcu-free";
    }

    /** Frees ready batches if nobody else is doing it and returns how many; never blocks. */
    int tryDrainReady() {
        if (drainLock.tryLock()) {
            try {
                return drainReady();
            } finally {
                drainLock.unlock();
            }
        }
        return 0;
    }

    /** Adopts the sealed stack and frees every batch whose cookie has completed. Drain lock held. */
    @GuardedBy("drainLock")
    int drainReady() {
        adoptSealed();
        int freed = 0;
        SealedBatch prev = null;
        SealedBatch b = head;
        while (b != null) {
            SealedBatch next = b.next;
            if (b.ready || rcu.pollState(b.cookie)) {
                if (prev == null) {
                    head = next;
                } else {
                    prev.next = next;
                }
                if (tail == b) {
                    tail = prev;
                }
                b.next = null;
                free(b);
                freed++;
            } else {
                prev = b;
            }
            b = next;
        }
        return freed;
    }

    /**
     * For a headless caller that found every bulk array out: frees ready batches, else waits for
     * the oldest in-flight cookie holding arrays (no new grace period) and frees again; false if
     * no batch holding arrays is in flight. Waits with the drain lock released.
     */
    boolean awaitInFlightArrays() {
        long cookie;
        drainLock.lock();
        try {
            if (drainReady() > 0) {
                return true;
            }
            SealedBatch oldest = oldestWaitingWithArrays();
            if (oldest == null) {
                return false;
            }
            cookie = oldest.cookie;
        } finally {
            drainLock.unlock();
        }
        rcu.condSynchronize(cookie);
        drainLock.lock();
        try {
            drainReady();
        } finally {
            drainLock.unlock();
        }
        return true;
    }

    /**
     * The oldest in-flight batch published at or before {@code maxSequence} that still waits for
     * its grace period, or null. Drain lock held; read its cookie before releasing the lock.
     */
    SealedBatch oldestWaiting(long maxSequence) {
        for (SealedBatch b = head; b != null; b = b.next) {
            if (!b.ready && b.sequence <= maxSequence) {
                return b;
            }
        }
        return null;
    }

    /** The oldest in-flight batch holding bulk arrays, or null. Drain lock held. */
    private SealedBatch oldestWaitingWithArrays() {
        for (SealedBatch b = head; b != null; b = b.next) {
            if (b.arrayCount > 0) {
                return b;
            }
        }
        return null;
    }

    /**
     * Adopts the sealed stack and returns the number of the newest batch in flight: every batch
     * published before this call has a number at or below it. Drain lock held.
     */
    @GuardedBy("drainLock")
    long adoptAndNumber() {
        adoptSealed();
        return adopted;
    }

    /** True if nothing is in flight; a racy read for the worker's idle decision. */
    boolean idleOpaque() {
        return head == null;
    }

    @GuardedBy("drainLock")
    private void adoptSealed() {
        SealedBatch s = sealed.takeAll();
        if (s == null) {
            return;
        }
        // The stack is newest first: reverse it so the in-flight list stays oldest first.
        SealedBatch reversed = null;
        SealedBatch last = s;
        while (s != null) {
            SealedBatch next = s.next;
            s.next = reversed;
            reversed = s;
            s = next;
        }
        for (SealedBatch b = reversed; b != null; b = b.next) {
            b.sequence = ++adopted; // oldest first, under the drain lock: rcuBarrier's horizon
        }
        if (tail == null) {
            head = reversed;
        } else {
            tail.next = reversed;
        }
        tail = last;
    }

    private void free(SealedBatch b) {
        if (b.sheaf != null) {
            freeSheaf(b);
            return;
        }
        long chainFreed = b.chainCount > 0 ? freeChain(b.chainHead, b.chainTail, b.chainCount) : 0;
        long bulkFreed = 0;
        for (int i = 0; i < b.arrayCount; i++) {
            long[] a = b.arrays[i];
            try {
                bulkFreed += freeBulk(a, i == b.arrayCount - 1 ? b.lastLength : a.length);
            } finally {
                arrayPool.give(a);
            }
        }
        // Which chain objects came through the deferred list is not recorded per object: a shortfall
        // is charged to the deferred share last (exact whenever nothing failed).
        long viaDeferred = Math.min(b.deferredCount, chainFreed);
        counters.batchFreed(b.bytes, b.objects, chainFreed - viaDeferred, viaDeferred, bulkFreed, 0);
        batchPool.give(b);
    }

    /**
     * An rcu sheaf's batch belongs to the sheaf: read it, clear it, then hand the sheaf back. The
     * target may give the sheaf to another thread that submits it again at once, reusing the
     * batch, so nothing here touches the batch after rcuSheafReady.
     */
    private void freeSheaf(SealedBatch b) {
        Object cache = b.sheafCache;
        RcuSheaf sheaf = b.sheaf;
        long count = b.sheafCount;
        long bytes = b.bytes;
        long objects = b.objects;
        b.clear();
        long freed = count;
        try {
            target.rcuSheafReady(cache, sheaf);
        } catch (RuntimeException e) {
            // What the target did with the sheaf is unknown: count none of it as freed.
            failures.freeFailed(e);
            failures.freeAttemptFailed(count);
            freed = 0;
        }
        counters.batchFreed(bytes, objects, 0, 0, 0, freed);
    }

    /**
     * Frees the XOR-linked chain of {@code count} objects from {@code head} to {@code tail} (both
     * engine-held) and returns how many were freed. The walk from the head follows a decoded
     * neighbour only once RcuFreeTarget.isPending accepts it; at the first bad field (object k) it stops,
     * and a walk from the tail collects the objects behind k up to k's other neighbour. Together
     * the walks take at most {@code count} objects, so a cycle or a corrupt chain can neither loop
     * nor reach beyond the batch. See the notes for which objects are freed and which are lost.
     */
    private long freeChain(long head, long tail, int count) {
        long freed = 0;
        int n = 0;
        long before = 0; // the object the walk came from (0 at the head), and its decoded field
        long beforeRaw = 0;
        long cur = head;
        long raw;
        long next;
        int reached = 0;
        while (true) {
            raw = ChainLink.neighbours(cur, linkKey); // read before the object is freed and reused
            next = raw ^ before;
            if (++reached == count) {
                if (next != 0) { // the last object's field no longer names the end
                    failures.corruptChainLink(cur, raw, before, next, "where it must name the end of the chain",
                            "no object is lost");
                }
                scratch[n++] = ChainLink.address(cur);
                return freed + freeBulk(scratch, n);
            }
            if (next == 0 || !target.isPending(ChainLink.address(next), ChainLink.linkOffset(next))) {
                break;
            }
            scratch[n++] = ChainLink.address(cur);
            if (n == scratch.length) {
                freed += freeBulk(scratch, n);
                n = 0;
            }
            before = cur;
            beforeRaw = raw;
            cur = next;
        }
        // The field of k = cur is bad. Free what the head walk collected before k (so isPending
        // refuses those objects from here on), hold k back, and collect from the tail towards k.
        if (n > 0) {
            freed += freeBulk(scratch, n);
            n = 0;
        }
        long k = cur;
        long kRaw = raw;
        long kFrom = before;
        long kToward = next;
        int budget = count - reached; // chain objects behind k
        // k came through a validated field, but only the head is engine-held: unless k is the
        // head, the walk from the tail may have to collect one more object, k's slot in the count
        // then being a foreign object's (a forged field naming a pending object elsewhere).
        int limit = kFrom == 0 ? budget : budget + 1;
        int back = 0;
        long after = 0; // the object the tail walk came from (0 at the tail)
        long t = tail;
        long tRaw = 0;
        long tToward = 0;
        // The tail walk reached k's predecessor without passing k: k is in no position of the chain.
        boolean contradicted = kFrom != 0 && t == kFrom;
        boolean broken = false;
        while (!contradicted && t != k) {
            tRaw = ChainLink.neighbours(t, linkKey);
            tToward = tRaw ^ after;
            scratch[n++] = ChainLink.address(t);
            if (n == scratch.length) {
                freed += freeBulk(scratch, n);
                n = 0;
            }
            back++;
            if (tToward == k) { // met: k's other neighbour names it too
                break;
            }
            if (kFrom != 0 && tToward == kFrom) {
                contradicted = true;
                break;
            }
            if (back == limit || tToward == 0
                    || !target.isPending(ChainLink.address(tToward), ChainLink.linkOffset(tToward))) {
                broken = true;
                break;
            }
            after = t;
            t = tToward;
        }
        if (kFrom == 0 || (!contradicted && back <= budget)) {
            // k is a chain object: its field is the bad one.
            scratch[n++] = ChainLink.address(k);
            int lost = budget - back;
            failures.chainObjectsLost(lost);
            failures.corruptChainLink(k, kRaw, kFrom, kToward, null, broken ? lostOutcome(lost, t)
                    : lost == 0 ? "the walk from the tail of the chain reached every object behind it: none is lost"
                    : lostOutcome(lost, 0));
            if (broken) {
                failures.corruptChainLink(t, tRaw, after, tToward, null, lostOutcome(lost, k));
            }
        } else {
            // The walk from the tail closed the chain, or collected the whole count, without k: the
            // bad field is k's predecessor's, forged to name a pending object outside the batch,
            // which stays untouched. The predecessor itself was freed by the head walk.
            int lost = budget + 1 - back;
            failures.chainObjectsLost(lost);
            failures.corruptChainLink(kFrom, beforeRaw, beforeRaw ^ k, k,
                    "which the walk from the tail of the chain does not reach (it is no object of this batch)",
                    broken ? lostOutcome(lost, t) : lostOutcome(lost, 0));
            if (broken) {
                failures.corruptChainLink(t, tRaw, after, tToward, null, lostOutcome(lost, kFrom));
            }
        }
        return freed + (n > 0 ? freeBulk(scratch, n) : 0);
    }

    private static String lostOutcome(long lost, long otherBad) {
        if (otherBad == 0) {
            return lost == 0 ? "every object of the batch was reached: none is lost"
                    : lost + " object(s) of the batch that neither walk reached are lost"
                            + " (they stay pending, untouched)";
        }
        String between = " between it and the corrupt link of object 0x"
                + Long.toHexString(ChainLink.address(otherBad));
        return lost == 0 ? "no object lies" + between + ": none is lost"
                : lost + " object(s)" + between + " are lost (they stay pending, untouched)";
    }

    /**
     * RcuFreeTarget.freeNowBulk that never throws: a failure is reported and the objects it did not free
     * are counted. Its return value is the count; when it throws there is none, so the entries no
     * longer pending afterwards are counted, each address once (exact unless an object it freed
     * was allocated and claimed again meanwhile: then it counts low, never high).
     */
    private long freeBulk(long[] addresses, int count) {
        int freed;
        try {
            freed = target.freeNowBulk(addresses, count);
        } catch (RuntimeException e) {
            failures.freeFailed(e);
            freed = 0;
            for (int i = 0; i < count; i++) {
                long a = addresses[i];
                if (!target.isPending(a, -1) && firstOccurrence(addresses, i)) {
                    freed++;
                }
            }
        }
        if (freed != count) {
            failures.freeAttemptFailed(count - freed);
        }
        return freed;
    }

    private static boolean firstOccurrence(long[] a, int i) {
        for (int j = 0; j < i; j++) {
            if (a[j] == a[i]) {
                return false;
            }
        }
        return true;
    }
}
