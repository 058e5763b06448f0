package dev.sheaf.allocator.rcufree;

import dev.sheaf.rcu.Rcu;

import java.util.concurrent.atomic.AtomicLong;

/*
 * Implementation notes: when the engine asks its RCU domain for a grace period (the kernel's
 * queue_rcu_work of kfree_rcu_monitor).
 *
 * A sealed batch takes a cookie without starting a grace period (SealedStack.publish sets
 * `wanted`); this class decides when one is started for everything sealed so far. The rule ties
 * grace periods to time and memory, never to calls:
 *   - at most one requested grace period is outstanding (pollState of the last requested
 *     cookie); the kernel likewise queues a new batch only on a free krwp of its KFREE_N_BATCHES;
 *   - then a new one is requested once the drain delay has passed since the last request, or,
 *     past half the pending bound, as soon as at least batchBytes (pendingLimit/16) bytes have
 *     been sealed since the last request (so each covers a large batch; the kernel shortens its
 *     monitor delay to one jiffy when a bulk page is full).
 * A request per call (per rcu sheaf, per sealed chain batch) would run grace periods back to back
 * in a flood; this rule costs at most one per batchBytes sealed or per drain delay, whichever
 * comes first, i.e. at most 16 per pendingLimit of freed memory plus the clock's. Memory stays
 * bounded by PendingBound, not by this rule; waiters there drive grace periods with
 * condSynchronize on the outstanding cookie, or request one here when none is outstanding.
 *
 * Memory ordering: `wanted` is cleared before startPoll, so a batch sealed concurrently either is
 * covered by this request (its getState() cookie is at or before the one startPoll returns) or
 * sets the flag again. lastGracePeriodRequest and sealedAtLastRequest are racy by design: two
 * callers that both pass the rule request twice, which is harmless. lastRequestedCookie only
 * moves forward (a CAS loop), so pollState of it answers "is any request outstanding".
 *
 * Map: wanted -> maybeRequest (the rule) -> outstandingOrRequest (for PendingBound's waiters) ->
 * request (start one, record it).
 */
/** The grace-period request rule: at most one outstanding, started by time or by sealed bytes. */
final class GracePeriodRequests {

    private final Rcu rcu;
    private final EngineCounters counters;
    private final long drainDelayNanos;
    private final long halfPendingLimit;
    private final long batchBytes;

    /** The newest requested cookie; 0 reads as completed (a domain's first cookie is 2 or more). */
    private final AtomicLong lastRequestedCookie = new AtomicLong();
    /** Some sealed batch waits for a grace period nobody has started yet. */
    private volatile boolean wanted;
    /** When a grace period was last requested (racy by design: a duplicate request is harmless). */
    private volatile long lastGracePeriodRequest;
    /** EngineCounters.sealedEver() at the last request: the memory rule's starting point. */
    private volatile long sealedAtLastRequest;

    GracePeriodRequests(Rcu rcu, EngineCounters counters, long drainDelayNanos, long pendingLimitBytes,
            long batchBytes) {
        this.rcu = rcu;
        this.counters = counters;
        this.drainDelayNanos = drainDelayNanos;
        this.halfPendingLimit = pendingLimitBytes / 2;
        this.batchBytes = batchBytes;
    }

    /** A batch was sealed with a cookie nobody has started a grace period for yet. */
    void wanted() {
        wanted = true;
    }

    /**
     * Requests the grace period that sealed batches wait for, by the rule in the notes: none while
     * a requested one is outstanding; then once per drain delay, or past half the pending bound
     * once batchBytes more have been sealed since the last request. Called per sealed batch, per
     * rcu sheaf and per drainer cycle; only reads unless it requests.
     */
    void maybeRequest(long now) {
        if (!wanted || !rcu.pollState(lastRequestedCookie.get())) {
            return;
        }
        if (now - lastGracePeriodRequest < drainDelayNanos
                && (counters.pendingBytes() <= halfPendingLimit
                    || counters.sealedEver() - sealedAtLastRequest < batchBytes)) {
            return;
        }
        wanted = false;
        request(now);
    }

    /**
     * The cookie of the outstanding requested grace period; if none is outstanding (everything
     * pending was sealed after the last request), a new request covering it all.
     */
    long outstandingOrRequest(long now) {
        long cookie = lastRequestedCookie.get();
        if (rcu.pollState(cookie)) {
            wanted = false;
            cookie = request(now);
        }
        return cookie;
    }

    /** Starts a grace period covering every batch sealed so far and records it as the outstanding one. */
    private long request(long now) {
        lastGracePeriodRequest = now;
        sealedAtLastRequest = counters.sealedEver(); // read before startPoll: all of it is covered
        long cookie = rcu.startPoll();
        long last;
        while ((last = lastRequestedCookie.get()) - cookie < 0) {
            if (lastRequestedCookie.compareAndSet(last, cookie)) {
                counters.gracePeriodRequested();
                break;
            }
        }
        return cookie;
    }
}
