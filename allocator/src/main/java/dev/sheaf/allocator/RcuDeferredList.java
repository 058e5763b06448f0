package dev.sheaf.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Implementation notes: the deferred list of freeRcuNoLock (the kernel's per-CPU lock-free
 * llist fed from NMI context and emptied by irq_work).
 *
 * A multi-producer, single-taker stack of objects linked through their own 8-byte link field
 * (RcuLink format). push() is a CAS loop on the head; takeAll() swaps the head with 0 and
 * returns the whole chain. Because nodes are only ever pushed one at a time and removed all at
 * once, the stack has no ABA problem: a CAS that succeeds installs a node whose link was written
 * against the head it replaces, whatever happened in between.
 *
 * Progress: push() is lock-free (a failed CAS means another producer succeeded); it never parks,
 * never waits for a particular thread and makes no system call. The head sits alone on its cache
 * line because producers on every core hammer it.
 *
 * Memory ordering: the producer's plain store of the object's link happens before its volatile CAS
 * of the head; the taker's volatile getAndSet reads that head, so every link of the taken chain is
 * visible to the taker. count is approximate (updated after the CAS) and is only used for stats.
 */
/** Lock-free multi-producer list of objects waiting to enter the normal free-after-grace-period batches. */
final class RcuDeferredList extends RcuDeferredListHead {

    private static final VarHandle HEAD;
    private static final VarHandle COUNT;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(RcuDeferredListFields.class, "head", long.class);
            COUNT = lookup.findVarHandle(RcuDeferredListFields.class, "count", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Pushes the object at {@code address}, linked through its field at {@code linkOffset}. Lock-free. */
    void push(long address, long linkOffset) {
        long node = RcuLink.pack(address, linkOffset);
        long head;
        do {
            head = (long) HEAD.getVolatile(this);
            RcuLink.setNext(node, head);
        } while (!HEAD.compareAndSet(this, head, node));
        COUNT.getAndAdd(this, 1L);
    }

    /** True if nothing is waiting; one volatile read of a line that stays shared while the list is empty. */
    boolean isEmpty() {
        return (long) HEAD.getVolatile(this) == 0L;
    }

    /**
     * isEmpty() as a plain read, for the per-call check of freeRcu: a stale "empty" only leaves
     * the list to the next caller or the drainer, and avoids a compiler barrier on every call.
     */
    boolean isEmptyRelaxed() {
        return (long) HEAD.get(this) == 0L;
    }

    /** Detaches and returns the whole chain (newest first, 0 when empty). */
    long takeAll() {
        if ((long) HEAD.getVolatile(this) == 0L) {
            return 0L;
        }
        long chain = (long) HEAD.getAndSet(this, 0L);
        return chain;
    }

    /** Records that {@code n} taken objects left the list (stats only). */
    void taken(long n) {
        COUNT.getAndAdd(this, -n);
    }

    /** Objects pushed and not yet taken, approximately. */
    long size() {
        return Math.max(0L, (long) COUNT.getOpaque(this));
    }
}

/** Padding before the hot head. */
abstract class RcuDeferredListPadBefore {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

/** The contended fields. */
abstract class RcuDeferredListFields extends RcuDeferredListPadBefore {
    volatile long head;
    volatile long count;
}

/** Padding after the hot head. */
abstract class RcuDeferredListHead extends RcuDeferredListFields {
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;
}
