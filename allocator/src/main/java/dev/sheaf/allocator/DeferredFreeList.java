package dev.sheaf.allocator;

import dev.sheaf.allocator.memory.FreePointer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Implementation notes.
 *
 * The lock-free multi-producer list of frees that could not take a lock (the kernel's
 * per-CPU defer_free list, drained from irq_work). The list is linked through the 8-byte
 * field at `linkOffset` inside each deferred object, so it needs no memory of its own and can
 * never fail. Links are hardened (FreePointer) with the heap's key; whoever walks the list
 * validates each decoded link before following it (the list cannot: it does not know objects).
 *
 * push: write next := head into the object, then CAS head from that value to the object
 * (Treiber). The CAS is a full fence, so the link store is visible before the object is. A
 * failed CAS re-reads the head and retries; that is lock-free progress (some push succeeded),
 * not a wait on another thread.
 * drainAll: one getAndSet(head, 0) detaches the whole list; the swap acquires, so the links
 * written by every pusher of the detached nodes are visible. Since nodes are only ever pushed
 * and the whole list is detached at once, there is no ABA hazard: a node is never popped
 * individually while others push.
 *
 * `count` is informational (stats); it may briefly disagree with the list.
 *
 * Map: push; isEmpty, count; drainAll, consumed; next (a validated walk is the caller's).
 */
final class DeferredFreeList {

    private static final VarHandle HEAD;
    private static final VarHandle COUNT;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            HEAD = l.findVarHandle(DeferredFreeList.class, "head", long.class);
            COUNT = l.findVarHandle(DeferredFreeList.class, "count", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long linkOffset;
    private final long key;
    @SuppressWarnings("unused")
    private long p1, p2, p3, p4, p5, p6, p7;
    private volatile long head;
    private volatile long count;
    @SuppressWarnings("unused")
    private long q1, q2, q3, q4, q5, q6, q7;

    DeferredFreeList(long linkOffset, long key) {
        this.linkOffset = linkOffset;
        this.key = key;
    }

    void push(long address) {
        long h;
        do {
            h = head;
            FreePointer.store(address + linkOffset, h, key);
        } while (!HEAD.compareAndSet(this, h, address));
        COUNT.getAndAdd(this, 1L);
    }

    boolean isEmpty() {
        return head == 0;
    }

    long count() {
        return count;
    }

    /** Detaches the whole list; the first address or 0. Walk it with {@link #next}. */
    long drainAll() {
        long h = (long) HEAD.getAndSet(this, 0L);
        return h;
    }

    /** Called by the drainer for each node it consumed. */
    void consumed(long n) {
        COUNT.getAndAdd(this, -n);
    }

    /** The decoded link stored in {@code address}: unvalidated, see the notes. */
    long next(long address) {
        return FreePointer.load(address + linkOffset, key);
    }
}
