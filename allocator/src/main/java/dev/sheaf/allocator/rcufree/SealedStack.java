package dev.sheaf.allocator.rcufree;

import dev.sheaf.rcu.Rcu;

import java.util.concurrent.atomic.AtomicReference;

/*
 * Implementation notes: the stack of sealed batches between their sealers and the drainer.
 *
 * publish() gives a sealed batch its cookie, accounts it and pushes it; takeAll() hands the whole
 * stack to the drainer, which adopts it into its in-flight FIFO (BatchDrainer). The cookie: if the
 * batch carries a snapshot (rcu.getState() taken by the drainer after the batch's last object
 * entered, OpenBatch notes) that has already completed, the batch is ready and needs no grace
 * period; otherwise cookie = rcu.getState() without starting a grace period, and
 * GracePeriodRequests starts one for everything sealed meanwhile, by the clock or by memory (one
 * per batch would make the grace-period rate follow the call rate).
 *
 * A Treiber stack: sealers push (any thread, any number), the drainer takes everything with one
 * getAndSet; nodes leave only all at once, so there is no ABA. Batches are numbered when the
 * drainer adopts them (drain lock held), not here: a number taken before the push could name a
 * batch that is not on the stack yet, and rcuBarrier's horizon would then miss it.
 *
 * Memory ordering: everything a sealer wrote into the batch, and every link and array slot of
 * its objects (written under the OpenBatch lock or the deferred hand-off lock), happens before
 * the push's volatile CAS; the drainer's getAndSet reads that head, so it sees them all.
 *
 * Map: publish (cookie, accounting, push) -> takeAll -> isEmpty.
 */
/** Treiber stack of sealed batches: sealers publish, the drainer takes them all at once. */
final class SealedStack {

    private final Rcu rcu;
    private final GracePeriodRequests gracePeriods;
    private final EngineCounters counters;
    private final AtomicReference<SealedBatch> top = new AtomicReference<>();

    SealedStack(Rcu rcu, GracePeriodRequests gracePeriods, EngineCounters counters) {
        this.rcu = rcu;
        this.gracePeriods = gracePeriods;
        this.counters = counters;
    }

    /**
     * Gives {@code b} its cookie ({@code snapshot} if {@code hasSnapshot} and it has completed),
     * accounts it and pushes it for the drainer. Never blocks.
     */
    void publish(SealedBatch b, boolean hasSnapshot, long snapshot) {
        if (hasSnapshot && rcu.pollState(snapshot)) {
            b.cookie = snapshot;
            b.ready = true;
            counters.readyAtSeal();
        } else {
            b.cookie = rcu.getState();
            gracePeriods.wanted();
        }
        counters.sealed(b.bytes, b.objects);
        SealedBatch head;
        do {
            head = top.get();
            b.next = head;
        } while (!top.compareAndSet(head, b));
    }

    /** Every published batch not yet taken, newest first (linked through SealedBatch.next), or null. */
    SealedBatch takeAll() {
        return top.get() == null ? null : top.getAndSet(null);
    }

    /** True if nothing waits to be taken; a volatile read for the worker's idle decision. */
    boolean isEmpty() {
        return top.get() == null;
    }
}
