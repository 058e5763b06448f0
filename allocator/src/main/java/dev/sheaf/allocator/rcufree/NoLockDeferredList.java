package dev.sheaf.allocator.rcufree;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Implementation notes: the deferred list of freeRcuNoLock (the kernel's per-CPU lock-free
 * llist fed from NMI context and emptied by irq_work).
 *
 * A multi-producer stack of objects linked through their own 8-byte link field (ChainLink format,
 * hardened: every stored link, the end included, is encoded with the engine's key and the
 * field's address). push() is a CAS loop on the head; takeAll() swaps the head with 0 and
 * returns the whole chain. Because nodes are only ever pushed one at a time and removed all at
 * once, the stack has no ABA problem: a CAS that succeeds installs a node whose link was written
 * against the head it replaces, whatever happened in between.
 *
 * `bytes` counts the usable bytes pushed and not yet taken. A pusher adds its object's size
 * BEFORE its CAS and a taker subtracts what it walked AFTER its walk, so at any moment bytes is at
 * least the size of every chain in the list or being walked: a taker bounds its walk by it (each
 * object holds at least its 8-byte link), and the engine's pending check reads it for the memory
 * waiting here. It is the one counter push() had anyway; the check adds a read, no locked
 * instruction. Objects behind a corrupted link are never walked, so their bytes are never
 * subtracted: the counter keeps charging the leak to the pending bound, which is what it is.
 *
 * Progress: push() is lock-free (a failed CAS means another producer succeeded); it never parks,
 * never waits for a particular thread and makes no system call. The head sits alone on its cache
 * line because producers on every core hammer it.
 *
 * Memory ordering: the producer's plain store of the object's link happens before its volatile CAS
 * of the head; the taker's volatile getAndSet reads that head, so every link of the taken chain is
 * visible to the taker.
 *
 * Layout: the superclass chain NoLockDeferredListPad0 -> NoLockDeferredListFields ->
 * NoLockDeferredListPad1 -> NoLockDeferredList (JCTools/Agrona style, as OpenBatch), 16 longs each
 * side of head and bytes.
 *
 * Map: push -> isEmpty / isEmptyRelaxed -> takeAll / taken -> bytes -> the padded superclass chain.
 */
/** Lock-free multi-producer list of objects waiting to enter the normal free-after-grace-period batches. */
final class NoLockDeferredList extends NoLockDeferredListPad1 {

    private static final VarHandle HEAD;
    private static final VarHandle BYTES;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(NoLockDeferredListFields.class, "head", long.class);
            BYTES = lookup.findVarHandle(NoLockDeferredListFields.class, "bytes", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The engine's link key (ChainLink hardening). */
    final long key;

    NoLockDeferredList(long key) {
        this.key = key;
    }

    /**
     * Pushes the object at {@code address} of {@code size} usable bytes, linked through its field at
     * {@code linkOffset}. Lock-free.
     */
    void push(long address, long linkOffset, long size) {
        BYTES.getAndAdd(this, size); // before the CAS: bytes never runs behind the list
        long node = ChainLink.pack(address, linkOffset);
        long head;
        do {
            head = (long) HEAD.getVolatile(this);
            ChainLink.setNext(node, head, key);
        } while (!HEAD.compareAndSet(this, head, node));
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
        return (long) HEAD.getAndSet(this, 0L);
    }

    /** Records that {@code walkedBytes} of a taken chain left the list. */
    void taken(long walkedBytes) {
        BYTES.getAndAdd(this, -walkedBytes);
    }

    /**
     * Bytes pushed and not yet walked by a taker: read after takeAll(), at least the taken chain's
     * size (the walk bound); also the deferred memory the pending checks add.
     */
    long bytes() {
        return (long) BYTES.getVolatile(this);
    }
}

/** Padding before the hot head. */
abstract class NoLockDeferredListPad0 {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

/** The contended fields. */
abstract class NoLockDeferredListFields extends NoLockDeferredListPad0 {
    volatile long head;
    volatile long bytes;
}

/** Padding after the hot head. */
abstract class NoLockDeferredListPad1 extends NoLockDeferredListFields {
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;
}
