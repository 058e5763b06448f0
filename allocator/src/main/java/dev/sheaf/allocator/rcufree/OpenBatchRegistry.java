package dev.sheaf.allocator.rcufree;

import dev.sheaf.rcu.internal.PerThreadTable;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes: which OpenBatch a calling thread uses, and the registry of all of them
 * (the kernel's per-CPU krcp, looked up per thread instead of per CPU).
 *
 * A platform thread owns one OpenBatch: found through the PerThreadTable the engine shares with
 * this class (its hit is the engine's inlined fast path; everything else is here), registered on
 * the thread's first call. Virtual threads share a fixed power-of-two set of stripes (4 per
 * processor, at least 4, rounded up) picked from the thread id and probed with try-locks, so any
 * number of virtual threads own no state.
 *
 * Acquiring: the non-blocking paths (freeRcu(a, off), freeRcuNoLock) only try-lock. An owner's
 * batch can be held only by the drainer or a barrier, for a short critical section that never
 * parks, so tryAcquireSlow spins a bounded number of times before giving up (the caller then
 * uses the deferred list, whose shared CAS costs more than the spin). freeRcuNoLock never
 * registers (registering takes registryLock). The headless path may wait: acquire() locks the
 * owner's batch, or probes the stripes until one is free.
 *
 * Registry: a copy-on-write array of every OpenBatch (stripes first), read without a lock by the
 * drainer, rcuBarrier, the worker's idle check and stats; registryLock serializes writers and is a
 * leaf. An OpenBatch outlives its thread in the registry: the drainer seals a dead owner's batch
 * (RcuFreeEngine.sealDue) and removes it here once it is empty (removeDeadIfEmpty, under its
 * try-lock), so nothing a thread queued is lost when it dies.
 *
 * Map: tryAcquireSlow -> tryAcquireStripe -> acquire -> all / lockAll / unlockAll -> register /
 * removeDeadIfEmpty.
 */
/** The per-thread OpenBatches, the virtual-thread stripes and the copy-on-write registry of all of them. */
final class OpenBatchRegistry {

    /** Spins on an owner's batch held by the drainer or a barrier before the caller falls back. */
    private static final int OWNER_SPINS = 64;

    private final PerThreadTable<OpenBatch> locals;
    private final OpenBatch[] stripes;
    private final int stripeMask;
    private final int maxArrays;
    private final long linkKey;
    private final ReentrantLock registryLock = new ReentrantLock();
    private volatile OpenBatch[] registry;

    OpenBatchRegistry(PerThreadTable<OpenBatch> locals, int maxArrays, long linkKey) {
        this.locals = locals;
        this.maxArrays = maxArrays;
        this.linkKey = linkKey;
        int n = Integer.highestOneBit(Math.max(4, Runtime.getRuntime().availableProcessors() * 4) * 2 - 1);
        this.stripes = new OpenBatch[n];
        for (int i = 0; i < n; i++) {
            stripes[i] = new OpenBatch(null, maxArrays, linkKey);
        }
        this.stripeMask = n - 1;
        this.registry = stripes.clone();
    }

    /**
     * The engine's tryAcquireLocal() for virtual threads, a first call, or a batch held by the
     * drainer or a barrier: the calling thread's OpenBatch, try-locked, or null.
     */
    OpenBatch tryAcquireSlow(Thread t) {
        if (t.isVirtual()) {
            return tryAcquireStripe(t);
        }
        OpenBatch l = locals.get();
        if (l == null) {
            l = register(t);
        }
        if (l.tryLock()) {
            return l;
        }
        for (int i = 0; i < OWNER_SPINS; i++) {
            Thread.onSpinWait();
            if (l.tryLock()) {
                return l;
            }
        }
        return null;
    }

    /** A free stripe for the virtual thread {@code t}, locked, or null if every stripe is held. */
    OpenBatch tryAcquireStripe(Thread t) {
        long id = t.threadId();
        int h = (int) (id ^ (id >>> 17)) * 0x9E3779B9;
        int start = h >>> 16;
        for (int i = 0; i <= stripeMask; i++) {
            OpenBatch l = stripes[(start + i) & stripeMask];
            if (l.tryLock()) {
                return l;
            }
        }
        return null;
    }

    /** The calling thread's batch, locked, waiting for it if necessary (the headless path). */
    @SuppressWarnings("ThreadPriorityCheck") // each stripe's holder runs a few stores; yield between probes
    OpenBatch acquire() {
        Thread t = Thread.currentThread();
        if (!t.isVirtual()) {
            OpenBatch l = locals.get();
            if (l == null) {
                l = register(t);
            }
            l.lock();
            return l;
        }
        OpenBatch l;
        while ((l = tryAcquireStripe(t)) == null) {
            Thread.yield();
        }
        return l;
    }

    /** Every registered OpenBatch (a copy-on-write snapshot: do not modify). */
    OpenBatch[] all() {
        return registry;
    }

    /** Takes the lock of every registered OpenBatch and returns them; release with {@link #unlockAll}. */
    OpenBatch[] lockAll() {
        OpenBatch[] r = registry;
        for (OpenBatch l : r) {
            l.lock();
        }
        return r;
    }

    void unlockAll(OpenBatch[] held) {
        for (OpenBatch l : held) {
            l.unlock();
        }
    }

    /** Removes {@code l}, whose owner is dead, if it is empty; never blocks (try-lock). */
    void removeDeadIfEmpty(OpenBatch l) {
        if (l.tryLock()) {
            try {
                if (l.objects() == 0) {
                    unregister(l);
                }
            } finally {
                l.unlock();
            }
        }
    }

    private OpenBatch register(Thread t) {
        OpenBatch l = new OpenBatch(t, maxArrays, linkKey);
        registryLock.lock();
        try {
            OpenBatch[] r = registry;
            OpenBatch[] n = Arrays.copyOf(r, r.length + 1);
            n[r.length] = l;
            registry = n;
        } finally {
            registryLock.unlock();
        }
        locals.put(l);
        return l;
    }

    private void unregister(OpenBatch dead) {
        locals.remove(dead);
        registryLock.lock();
        try {
            OpenBatch[] r = registry;
            for (int i = 0; i < r.length; i++) {
                if (r[i] == dead) {
                    OpenBatch[] n = new OpenBatch[r.length - 1];
                    System.arraycopy(r, 0, n, 0, i);
                    System.arraycopy(r, i + 1, n, i, r.length - i - 1);
                    registry = n;
                    return;
                }
            }
        } finally {
            registryLock.unlock();
        }
    }
}
