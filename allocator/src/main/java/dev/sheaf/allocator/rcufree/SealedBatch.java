package dev.sheaf.allocator.rcufree;

/*
 * Implementation notes: a sealed batch (the kernel's kfree_rcu_cpu_work channel contents).
 *
 * A batch holds what one per-thread (or per-stripe) OpenBatch accumulated, or one rcu sheaf, or
 * one hand-off of the deferred no-lock list, together with the grace-period cookie it waits for:
 *   - chainHead/chainTail/chainCount: objects XOR-linked through their 8-byte fields (ChainLink
 *     format, hardened), head = newest, tail = oldest; deferredCount of them came through the
 *     no-lock deferred list. Both ends are engine-held and trusted, so the drainer can walk from
 *     either; chainCount, counted as objects entered, bounds its walks (BatchDrainer notes);
 *   - arrays[0..arrayCount): headless bulk arrays, all full except the last (lastLength);
 *   - sheafCache/sheaf/sheafCount: a full rcu sheaf handed back to its cache after the grace period.
 *     Such a batch belongs to its RcuSheaf (RcuSheaf.batch), not to SealedBatchPool: it travels with the
 *     sheaf, and the drainer clears it before handing the sheaf back (the sheaf may be submitted
 *     again at once by another thread, reusing this very object).
 * `ready` is set when the cookie had already completed at sealing time: the batch is freed at once.
 *
 * Ownership: a SealedBatch is mutated by exactly one thread at a time. It is filled by its sealer,
 * published through the Treiber push of RcuFreeEngine's sealed stack (a volatile CAS: everything written
 * before is visible to the drainer after its getAndSet), then owned by whoever holds the drain
 * lock until it is recycled into SealedBatchPool. No field needs to be volatile.
 *
 * Map: the chain, array and sheaf fields -> cookie, ready, sequence, next -> bulkObjects -> clear.
 */
/** One sealed batch of objects waiting for a grace-period cookie. */
final class SealedBatch {

    long chainHead;
    long chainTail;
    int chainCount;
    int deferredCount;

    final long[][] arrays;
    int arrayCount;
    int lastLength;

    Object sheafCache;
    RcuSheaf sheaf;
    int sheafCount;

    long objects;
    long bytes;
    long cookie;
    boolean ready;
    /** Adoption order, numbered by the drainer under the drain lock, for rcuBarrier. */
    long sequence;
    /** Link in the sealed stack, then in the drainer's in-flight list. */
    SealedBatch next;

    private static final long[][] NO_ARRAYS = new long[0][];

    SealedBatch(int maxArrays) {
        this.arrays = maxArrays == 0 ? NO_ARRAYS : new long[maxArrays][];
    }

    long bulkObjects() {
        return arrayCount == 0 ? 0 : (long) (arrayCount - 1) * arrays[0].length + lastLength;
    }

    /** Drops every reference so a pooled batch keeps nothing alive. */
    void clear() {
        chainHead = 0;
        chainTail = 0;
        chainCount = 0;
        deferredCount = 0;
        for (int i = 0; i < arrayCount; i++) {
            arrays[i] = null;
        }
        arrayCount = 0;
        lastLength = 0;
        sheafCache = null;
        sheaf = null;
        sheafCount = 0;
        objects = 0;
        bytes = 0;
        cookie = 0;
        ready = false;
        sequence = 0;
        next = null;
    }
}
