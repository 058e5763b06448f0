package dev.sheaf.allocator;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes.
 *
 * The per-cache depot of whole sheaves (the kernel's struct node_barn): a bounded stack of full
 * sheaves and a bounded stack of empty ones, exchanged with magazines one whole sheaf at a time
 * so a refill or flush of `capacity` objects costs one short critical section.
 *
 * Guarded by `lock`, a leaf lock: nothing else is acquired while it is held. Every operation has
 * a `noLock` mode that only tryLocks and reports failure instead of waiting (kmalloc_nolock).
 * `fullObjects` is written under the lock and read racily by stats (a plain long read).
 *
 * Empty sheaves: up to `maxEmpty`, plus an allowance the cache raises to the most rcu sheaves it
 * has had waiting for a grace period at once and the rcu stealers' sheaf (allowEmpty). Every such sheaf comes back, and when
 * the full list is at its bound it comes back as an empty one (its objects flushed to slabs); with
 * room for them all, the rcu path takes its next sheaf from here instead of allocating one, and a
 * steady stream of freeRcu allocates nothing. The array grows (under the lock) only when the
 * allowance reaches a new high, so it is bounded by the cache's peak of sheaves in flight.
 *
 * Lock order: see SlabCache's notes (a leaf).
 *
 * Map: fields; allowEmpty; lock helpers; takeEmpty, replaceEmpty, replaceFull (exchanges);
 * putFull, putEmpty, takeAllFull; racy counts.
 */
final class Barn {

    /** Result of {@link #replaceFull} when the full sheaf was taken but no empty one was there. */
    static final Sheaf NO_EMPTY = new Sheaf(0);

    /** Package-private so that tests can hold it and drive the no-lock paths into their fallbacks. */
    final ReentrantLock lock = new ReentrantLock();
    @GuardedBy("lock")
    private final Sheaf[] full;
    @GuardedBy("lock")
    private Sheaf[] empty;
    private final int maxEmpty;
    /** maxEmpty plus the rcu allowance; guarded by lock. */
    @GuardedBy("lock")
    private int emptyLimit;
    @GuardedBy("lock")
    private int nrFull;
    @GuardedBy("lock")
    private int nrEmpty;
    private volatile long fullObjects;

    Barn(int maxFull, int maxEmpty) {
        this.full = new Sheaf[maxFull];
        this.empty = new Sheaf[maxEmpty];
        this.maxEmpty = maxEmpty;
        this.emptyLimit = maxEmpty;
    }

    /** Raises the bound on empty sheaves to maxEmpty + {@code extra} (never lowers it). */
    void allowEmpty(int extra) {
        lock.lock();
        try {
            emptyLimit = Math.max(emptyLimit, maxEmpty + Math.max(0, extra));
        } finally {
            lock.unlock();
        }
    }

    /** Stores an empty sheaf if the bound allows; lock held. */
    @GuardedBy("lock")
    private boolean storeEmptyLocked(Sheaf sheaf) {
        if (nrEmpty == empty.length) {
            if (nrEmpty >= emptyLimit) {
                return false;
            }
            empty = java.util.Arrays.copyOf(empty, Math.min(emptyLimit, Math.max(4, nrEmpty * 2)));
        }
        empty[nrEmpty++] = sheaf;
        return true;
    }

    /** Lock held: one writer at a time, so the volatile update is atomic enough; stats read it racily. */
    @SuppressWarnings("NonAtomicVolatileUpdate")
    private void addFullObjects(long delta) {
        fullObjects += delta;
    }

    private boolean lock(boolean noLock) {
        if (noLock) {
            return lock.tryLock();
        }
        lock.lock();
        return true;
    }

    /**
     * barn_replace_empty_sheaf: give an empty sheaf (may be null: keep nothing), take a full
     * one. Returns the full sheaf, or null when there is none (or the lock is busy in noLock
     * mode); then {@code emptyIn} stays with the caller. An empty sheaf that finds no room is
     * dropped.
     */
    Sheaf replaceEmpty(Sheaf emptyIn, boolean noLock) {
        if (!lock(noLock)) {
            return null;
        }
        try {
            if (nrFull == 0) {
                return null;
            }
            Sheaf f = full[--nrFull];
            full[nrFull] = null;
            addFullObjects(-f.size);
            if (emptyIn != null) {
                storeEmptyLocked(emptyIn);
            }
            return f;
        } finally {
            lock.unlock();
        }
    }

    /**
     * barn_replace_full_sheaf: give a full sheaf, take an empty one. Returns the empty sheaf;
     * {@link #NO_EMPTY} when the full one was stored but no empty exists (the caller makes one,
     * or - in noLock mode, where that is not allowed - the exchange is not done and null is
     * returned); null when the full list is at its bound or the lock is busy (caller flushes).
     */
    Sheaf replaceFull(Sheaf fullIn, boolean noLock) {
        if (!lock(noLock)) {
            return null;
        }
        try {
            if (nrFull == full.length) {
                return null;
            }
            if (nrEmpty == 0) {
                if (noLock) {
                    return null;
                }
                full[nrFull++] = fullIn;
                addFullObjects(fullIn.size);
                return NO_EMPTY;
            }
            full[nrFull++] = fullIn;
            addFullObjects(fullIn.size);
            Sheaf e = empty[--nrEmpty];
            empty[nrEmpty] = null;
            return e;
        } finally {
            lock.unlock();
        }
    }

    /** Stores a full (or partly filled) sheaf if there is room; false otherwise. */
    boolean putFull(Sheaf sheaf) {
        lock.lock();
        try {
            if (nrFull == full.length) {
                return false;
            }
            full[nrFull++] = sheaf;
            addFullObjects(sheaf.size);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** An empty sheaf, or null. */
    Sheaf takeEmpty(boolean noLock) {
        if (!lock(noLock)) {
            return null;
        }
        try {
            if (nrEmpty == 0) {
                return null;
            }
            Sheaf e = empty[--nrEmpty];
            empty[nrEmpty] = null;
            return e;
        } finally {
            lock.unlock();
        }
    }

    /** Keeps an empty sheaf if there is room (otherwise it is dropped). */
    void putEmpty(Sheaf sheaf) {
        sheaf.size = 0;
        lock.lock();
        try {
            storeEmptyLocked(sheaf);
        } finally {
            lock.unlock();
        }
    }

    /** Removes and returns every full sheaf (for flushing to slabs); empties are kept. */
    Sheaf[] takeAllFull() {
        lock.lock();
        try {
            Sheaf[] out = new Sheaf[nrFull];
            for (int i = 0; i < nrFull; i++) {
                out[i] = full[i];
                full[i] = null;
            }
            nrFull = 0;
            fullObjects = 0;
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** Removes and returns every empty sheaf. */
    Sheaf[] takeAllEmpty() {
        lock.lock();
        try {
            Sheaf[] out = new Sheaf[nrEmpty];
            for (int i = 0; i < nrEmpty; i++) {
                out[i] = empty[i];
                empty[i] = null;
            }
            nrEmpty = 0;
            return out;
        } finally {
            lock.unlock();
        }
    }

    long fullObjects() {
        return fullObjects;
    }

    int[] counts() {
        lock.lock();
        try {
            return new int[] {nrFull, nrEmpty};
        } finally {
            lock.unlock();
        }
    }
}
