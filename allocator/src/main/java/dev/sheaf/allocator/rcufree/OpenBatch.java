package dev.sheaf.allocator.rcufree;

import dev.sheaf.rcu.internal.PerThreadTable;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;

/*
 * Implementation notes: the open (not yet sealed) batch of one platform thread or one stripe
 * shared by virtual threads - the Java form of the kernel's per-CPU struct kfree_rcu_cpu.
 *
 * Locking: `lock` is a try-lock word (0 free, 1 held) playing the part of the kernel's per-CPU
 * raw spinlock. The owner thread takes it with one uncontended CAS per freeRcu call; the drainer
 * (sealing a batch older than the drain delay, or a dead owner's batch) and rcuBarrier take it
 * rarely. Nobody parks holding it except a headless caller fetching a bulk array from
 * BulkArrayPool. freeRcuNoLock only ever try-locks it. Every field below `lock` is guarded by
 * it, except that the drainer peeks at `objects` and `openedAt` with opaque reads to decide
 * whether a batch is due before trying the lock (a stale value only delays the decision).
 *
 * The chain is XOR-linked (ChainLink notes): adding an object writes its own field and XORs it into
 * the previous head's, two plain stores under the lock (one load, one xor, one store for the old
 * head); chainHead and chainTail are its engine-held ends, moved to the batch when it is sealed.
 *
 * Why a CAS and not a plain owner flag: an idle thread's pending objects must be sealed and freed
 * by someone else, and the only way for another thread to take them without a handshake the
 * owner cannot perform while idle is mutual exclusion. The lock word is on the owner's own
 * padded cache line, so the CAS is uncontended and cache-local in the steady state.
 *
 * `snapshot` is an rcu.getState() cookie taken, under the lock, after the latest object entered
 * (snapshotAdds == adds). If it has completed by the time the batch is sealed, no reader can
 * still hold any of its objects and the batch is freed without a new grace period (the kernel's
 * per-bnode gp_snap). The kernel pays get_state_synchronize_rcu() - a full barrier - per object;
 * here the drainer takes the snapshot once per quiet batch on its duty cycle, so the fast path
 * stays fence-free and a batch that stopped growing still benefits from grace periods that other
 * users of the domain run during its drain delay.
 *
 * Layout: the superclass chain OpenBatchPad0 -> OpenBatchFields -> OpenBatchPad1 -> OpenBatch, the
 * style of JCTools and Agrona: HotSpot places a superclass's fields before its subclass's but
 * promises no order within one class, so the pads live in classes of their own, 16 longs each
 * side of the fields the owner writes on every call.
 *
 * Map: lock word (tryLock, lock, unlock) -> drainer peeks (ownerDead, objectsOpaque,
 * openedAtOpaque) -> adding (addLinked, addChain, bulk arrays, added) -> snapshot -> moveTo
 * (sealing) -> the padded superclass chain.
 */
/** Open per-thread (or per-stripe) batch under a try-lock word. */
public final class OpenBatch extends OpenBatchPad1 {

    private static final VarHandle LOCK;
    private static final VarHandle OBJECTS;
    private static final VarHandle OPENED_AT;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            LOCK = lookup.findVarHandle(OpenBatchFields.class, "lock", int.class);
            OBJECTS = lookup.findVarHandle(OpenBatchFields.class, "objects", int.class);
            OPENED_AT = lookup.findVarHandle(OpenBatchFields.class, "openedAt", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Drainer-private: objects seen on its previous pass, to tell a quiet batch from a growing one. */
    int drainerSeen = -1;

    /** The owning platform thread, or null for a virtual-thread stripe. */
    final WeakReference<Thread> owner;

    OpenBatch(Thread owner, int maxArrays, long linkKey) {
        super(owner == null ? 0 : owner.threadId(), linkKey); // ownerTid: the PerThreadTable key, 0 for a stripe
        this.owner = owner == null ? null : new WeakReference<>(owner);
        this.arrays = new long[maxArrays][];
    }

    boolean tryLock() {
        return (int) LOCK.getOpaque(this) == 0 && LOCK.compareAndSet(this, 0, 1);
    }

    /** Takes the lock, spinning then yielding; for callers that may wait (barrier, headless, dead-owner sweep). */
    @SuppressWarnings("ThreadPriorityCheck") // the holder runs a few stores; yield only after a bounded spin
    void lock() {
        int spins = 0;
        while (!tryLock()) {
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    void unlock() {
        LOCK.setRelease(this, 0);
    }

    /** True if the owner is a platform thread that has terminated (or been collected). */
    boolean ownerDead() {
        if (owner == null) {
            return false;
        }
        Thread t = owner.get();
        return t == null || !t.isAlive();
    }

    int objectsOpaque() {
        return (int) OBJECTS.getOpaque(this);
    }

    long openedAtOpaque() {
        return (long) OPENED_AT.getOpaque(this);
    }

    /**
     * Adds one object as the new head of the XOR-linked chain (ChainLink notes): its field names the
     * old head as its only neighbour, and the old head gains it as its second. Lock held.
     */
    void addLinked(long address, long linkOffset, long size, long now) {
        long node = ChainLink.pack(address, linkOffset);
        long head = chainHead;
        ChainLink.setNeighbours(node, head, linkKey);
        if (head != 0) {
            ChainLink.addNeighbour(head, node);
        } else {
            chainTail = node;
        }
        chainHead = node;
        chainCount++;
        added(size, now);
    }

    /**
     * Splices a chain of {@code n} objects totalling {@code chainBytes}, from {@code head} to
     * {@code tail} (taken from the deferred list, validated and already in XOR form except for the
     * tail, whose other neighbour is {@code tailPrev}, 0 when n is 1), in front of the chain: the
     * tail's field is rewritten to name tailPrev and the old head, so a bad link that ended the
     * walk is gone. Lock held.
     */
    void addChain(long head, long tail, long tailPrev, int n, long chainBytes, long now) {
        long oldHead = chainHead;
        ChainLink.setNeighbours(tail, tailPrev ^ oldHead, linkKey);
        if (oldHead != 0) {
            ChainLink.addNeighbour(oldHead, tail);
        } else {
            chainTail = tail;
        }
        chainHead = head;
        chainCount += n;
        deferredCount += n;
        if (objects == 0) {
            OPENED_AT.setOpaque(this, now);
        }
        OBJECTS.setOpaque(this, objects + n);
        bytes += chainBytes;
        adds++;
    }

    /** True if the current bulk array has room for one more address. Lock held. */
    boolean hasArraySlot() {
        return arrayCount > 0 && lastLength < arrays[arrayCount - 1].length;
    }

    /** True if another bulk array can join this batch. Lock held. */
    boolean canAddArray() {
        return arrayCount < arrays.length;
    }

    void addArray(long[] array) {
        arrays[arrayCount++] = array;
        lastLength = 0;
    }

    /** Stores one headless address; {@link #hasArraySlot()} must be true. Lock held. */
    void addToArray(long address, long size, long now) {
        arrays[arrayCount - 1][lastLength++] = address;
        added(size, now);
    }

    private void added(long size, long now) {
        // Plain stores on the per-call path: the drainer's opaque peeks only steer when it tries
        // the lock, and unlock()'s release store publishes these values anyway.
        int n = objects;
        if (n == 0) {
            openedAt = now;
        }
        objects = n + 1;
        bytes += size;
        adds++;
    }

    int objects() {
        return objects;
    }

    long bytes() {
        return bytes;
    }

    long snapshot() {
        return snapshot;
    }

    /** True if {@link #snapshot()} was taken after the latest object entered. Lock held. */
    boolean snapshotCurrent() {
        return snapshotAdds == adds;
    }

    /** Records rcu.getState() taken now, with the lock held, so after every object in the batch. */
    void takeSnapshot(long cookie) {
        snapshot = cookie;
        snapshotAdds = adds;
    }

    /** Moves the open batch into {@code b} and leaves this one empty (a partly filled array moves too). Lock held. */
    void moveTo(SealedBatch b) {
        b.chainHead = chainHead;
        b.chainTail = chainTail;
        b.chainCount = chainCount;
        b.deferredCount = deferredCount;
        for (int i = 0; i < arrayCount; i++) {
            b.arrays[i] = arrays[i];
            arrays[i] = null;
        }
        b.arrayCount = arrayCount;
        b.lastLength = lastLength;
        b.objects = objects;
        b.bytes = bytes;
        chainHead = 0;
        chainTail = 0;
        chainCount = 0;
        deferredCount = 0;
        arrayCount = 0;
        lastLength = 0;
        bytes = 0;
        OBJECTS.setOpaque(this, 0);
    }
}

/** Padding before the hot fields, so the owner's writes share no cache line with a neighbour object. */
abstract class OpenBatchPad0 extends PerThreadTable.Entry {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;

    OpenBatchPad0(long ownerTid) {
        super(ownerTid);
    }
}

/** The fields written on every call by the owner. */
abstract class OpenBatchFields extends OpenBatchPad0 {
    OpenBatchFields(long ownerTid, long linkKey) {
        super(ownerTid);
        this.linkKey = linkKey;
    }

    /** The engine's link key (ChainLink hardening), read with the chain head on every add. */
    final long linkKey;

    int lock;
    /** Ends of the XOR-linked chain (ChainLink notes), packed: newest and oldest object, 0 when empty. */
    long chainHead;
    long chainTail;
    int chainCount;
    int deferredCount;
    long[][] arrays;
    int arrayCount;
    int lastLength;
    int objects;
    long bytes;
    long openedAt;
    /** Objects ever added (monotonic), and its value when `snapshot` was taken. */
    long adds;
    long snapshot;
    long snapshotAdds = -1;
}

/** Padding after the hot fields. */
abstract class OpenBatchPad1 extends OpenBatchFields {
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;

    OpenBatchPad1(long ownerTid, long linkKey) {
        super(ownerTid, linkKey);
    }
}
