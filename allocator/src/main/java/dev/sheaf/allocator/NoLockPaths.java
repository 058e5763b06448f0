package dev.sheaf.allocator;

/*
 * Implementation notes.
 *
 * kmalloc_nolock / kfree_nolock for one cache: the entry points a caller may use where it must
 * not wait (a signal handler's analogue, a hook, code holding a lock the allocator might need).
 * They use the same layers as the ordinary paths (SlabCache's popMain/pushMain, the carrier slots,
 * SheafExchange, SlabNode) in noLock mode, so they:
 *
 *  - take every lock only by tryLock, and never wait for another thread;
 *  - never create a magazine or a sheaf (a thread without a magazine goes to the slab layer);
 *  - never make a system call (PageSource's range is mapped up front; an emptied slab is not
 *    released);
 *  - run only the hooks that need no lock on alloc, and tryBeforeFree on free.
 *
 * In debug mode a free enters the quarantine when its lock is free (tryLock); when it is busy the
 * object is put as with debug off (it is still poisoned and checked, only not held back).
 *
 * An alloc that cannot proceed returns 0. A free that cannot proceed goes, already marked cached
 * (so a second free is refused at once), onto SlabNode's deferred lists: the one whose hooks are
 * still due when a hook could not run, else the plain one. Ordinary slow paths drain them.
 *
 * Map: alloc; free.
 */
/** The no-lock paths of one cache (kmalloc_nolock, kfree_nolock). */
final class NoLockPaths {

    private final SlabCache cache;
    private final MagazineRegistry magazines;
    private final SlabNode node;
    private final long stateBias;
    private final boolean hasHooks;

    NoLockPaths(SlabCache cache, MagazineRegistry magazines, SlabNode node, long stateBias, boolean hasHooks) {
        this.cache = cache;
        this.magazines = magazines;
        this.node = node;
        this.stateBias = stateBias;
        this.hasHooks = hasHooks;
    }

    /** One object without waiting; 0 when none is available so. */
    long alloc() {
        Thread t = Thread.currentThread();
        if (!t.isVirtual()) {
            Magazine m = magazines.own();
            if (m != null && !m.busy) {
                long a = SlabCache.popMain(m);
                if (a != 0) {
                    return a;
                }
                m.busy = true;
                try {
                    return cache.allocSlow(m, true);
                } finally {
                    m.busy = false;
                }
            }
            return node.takeOne(true);
        }
        return cache.allocCarrier(true);
    }

    /** Frees an object start of the cache (address checked by the caller) without waiting. */
    void free(long a) {
        cache.checkAllocated(a);
        if (hasHooks) {
            if (!cache.tryFreeHooks(a)) {
                ObjectStates.set(stateBias, a, ObjectStates.CACHED);
                node.defer(a, true);
                return;
            }
            if (cache.tryQuarantine(a)) {
                return; // debug mode: it waits in the quarantine
            }
        }
        ObjectStates.set(stateBias, a, ObjectStates.CACHED);
        Thread t = Thread.currentThread();
        boolean done;
        if (!t.isVirtual()) {
            Magazine m = magazines.own();
            if (m != null && !m.busy) {
                if (cache.pushMain(m, a)) {
                    return;
                }
                m.busy = true;
                try {
                    done = cache.freeSlow(m, a, true);
                } finally {
                    m.busy = false;
                }
            } else {
                done = node.freeToSlabs(a, true);
            }
        } else {
            done = cache.freeCarrier(a, true);
        }
        if (!done) {
            node.defer(a, false);
        }
    }
}
