package dev.sheaf.allocator;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import dev.sheaf.allocator.memory.NativeMemory;

import dev.sheaf.rcu.internal.PerThreadTable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes.
 *
 * Every magazine of one cache, and how a thread finds its own.
 *
 * Platform threads: one magazine each, found in a PerThreadTable keyed by thread id (one array
 * load). SlabCache holds the same table and probes it on its fast paths (PerThreadTable.peek);
 * this class registers, looks up and removes entries. Sheaf-aware threads (SheafThread) keep
 * their magazine in their own ThreadMagazines instead, and only there: own() and newPlatform()
 * pick the place by the calling thread, so every path finds the same magazine.
 *
 * Handles (SlabCache.Local, SlabAllocator.Local) hold the owner's one magazine; closing a handle
 * gives its sheaves back (giveBackSheaves) but the magazine stays registered: the thread's plain
 * calls and its other handles keep using it.
 *
 * Virtual threads never get their own magazine: they take the magazine out of a carrier slot
 * picked by the CPU they run on now (sched_getcpu through a critical downcall; thread-id striping
 * where that is unavailable or with -Dsheaf.carrierKey=thread) with an atomic swap, use it, and
 * give it back with a CAS to the slot of the CPU they are on at the end (or any empty slot). A
 * take-out that finds its own slot empty scans the other slots first: a virtual thread may have
 * migrated while holding this slot's magazine; without the scan, either keying sends calls to the
 * slab layer while a magazine lies idle in another slot. CPU keying (the kernel's) is the default,
 * thread-id striping the fallback.
 * At most `carrierSlots.length()` carrier magazines exist, so any number of virtual threads hold
 * no more sheaves than there are slots; a virtual thread that finds every magazine out and the
 * bound reached goes to the slab layer directly.
 *
 * The registry (`all`) is a copy-on-write array written under `lock`. Stats read it under the lock;
 * the pending-bytes sum, the rcu sheaves' aged flush, the barrier's flush and flushAll read the
 * array without it (a magazine registered later holds nothing they must see).
 *
 * Reclaim: magazines of platform threads that died are found by a sweep of the registry when a
 * new thread registers, before a cache grows, and on shrink/destroy. Each is marked `retiring`
 * under the lock by the one sweeper that retires it, emptied (counters absorbed, main and spare to
 * the barn or slabs, rcu sheaf submitted) while still registered, so that a concurrent rcuBarrier
 * still finds its rcu sheaf, and only then unregistered: nothing cached is lost.
 *
 * Lock order: see SlabCache's notes. `lock` is released before a reclaimed magazine's sheaves are
 * flushed; nothing nests under it.
 *
 * Map: fields; platform and carrier magazines (own, newPlatform); carrier slots (takeOut,
 * giveBack); counts; register/unregister; flushToSlabs; reclaim of dead owners (reclaimDead,
 * retire), a closed handle's sheaves (giveBackSheaves).
 */
/** The magazines of one cache: per platform thread, per carrier slot, and the reclaim of dead ones. */
final class MagazineRegistry {

    /**
     * Carrier keying: the CPU the carrier runs on (sched_getcpu, a critical downcall) unless
     * -Dsheaf.carrierKey=thread selects thread-id striping (the portable fallback).
     */
    private static final boolean KEY_BY_CPU = NativeMemory.hasCpuId()
            && !"thread".equals(System.getProperty("sheaf.carrierKey"));

    private final SlabCache cache;
    private final SheafSizing sizing;
    /** The platform threads' magazines; SlabCache probes the same table on its fast paths. */
    private final PerThreadTable<Magazine> local;
    private final AtomicReferenceArray<Magazine> carrierSlots;
    private final int carrierMask;
    /** Guards writes of `all` and carrierMagazines, and the aged rcu flush's pass (see the notes). */
    final ReentrantLock lock = new ReentrantLock();
    /** Every registered magazine; copy-on-write under lock, read without it. */
    private volatile Magazine[] all = new Magazine[0];
    @GuardedBy("lock")
    private int carrierMagazines;

    MagazineRegistry(SlabCache cache, SheafSizing sizing, PerThreadTable<Magazine> local, int carrierSlotCount) {
        this.cache = cache;
        this.sizing = sizing;
        this.local = local;
        this.carrierSlots = new AtomicReferenceArray<>(carrierSlotCount);
        this.carrierMask = carrierSlotCount - 1;
    }

    // ---------------------------------------------------------------------------------------
    // Platform and carrier magazines

    /**
     * The calling platform thread's magazine, or null if it has none yet: from the thread's own
     * ThreadMagazines if it is a Sheaf-aware thread (its magazine is only there), else from the
     * PerThreadTable.
     */
    Magazine own() {
        ThreadMagazines tm = ThreadMagazines.of(Thread.currentThread());
        return tm != null ? tm.find(cache) : local.get();
    }

    /** The calling platform thread's magazine, created and registered if it has none yet. */
    Magazine ownOrNew(Thread t) {
        Magazine m = own();
        return m != null ? m : newPlatform(t);
    }

    /** Creates and registers the calling platform thread's magazine (it has none yet). */
    Magazine newPlatform(Thread t) {
        // A new thread is the moment thread churn shows: first take back what dead ones cached.
        reclaimDead();
        Magazine m = new Magazine(sizing.sheafLength, sizing.base, t, cache);
        lock.lock();
        try {
            register(m);
        } finally {
            lock.unlock();
        }
        ThreadMagazines tm = ThreadMagazines.of(t);
        if (tm != null) {
            tm.install(cache, m);
        } else {
            local.put(m);
        }
        return m;
    }

    /** A new carrier magazine, held by the caller (give it back); null at the bound. */
    Magazine newCarrier() {
        lock.lock();
        try {
            if (carrierMagazines >= carrierSlots.length()) {
                return null;
            }
            carrierMagazines++;
            Magazine m = new Magazine(sizing.sheafLength, sizing.base, null, cache);
            register(m);
            return m;
        } finally {
            lock.unlock();
        }
    }

    private int slotIndex() {
        int key = KEY_BY_CPU ? NativeMemory.currentCpu()
                : (int) ((Thread.currentThread().threadId() * 0x9E3779B97F4A7C15L) >>> 40);
        return key & carrierMask;
    }

    /**
     * Takes a carrier magazine out: this CPU's slot first, then any other slot that holds one
     * (the owner of this slot may be a virtual thread that migrated while it held it). Null
     * when every magazine is out.
     */
    Magazine takeOut() {
        int slot = slotIndex();
        Magazine m = carrierSlots.getAndSet(slot, null);
        if (m != null) {
            return m;
        }
        for (int i = 1; i < carrierSlots.length(); i++) {
            int j = (slot + i) & carrierMask;
            if (carrierSlots.get(j) != null && (m = carrierSlots.getAndSet(j, null)) != null) {
                return m;
            }
        }
        return null;
    }

    /** Gives a carrier magazine back: to this CPU's slot, else to any empty one. */
    void giveBack(Magazine m) {
        int slot = slotIndex();
        if (carrierSlots.compareAndSet(slot, null, m)) {
            return;
        }
        // At most length() carrier magazines exist and we hold one, so at every instant some
        // slot is empty. A scan is not atomic, though: another magazine can move into a slot
        // after we passed it empty. Each failed CAS means another thread moved a magazine, so
        // rescanning is lock-free (no waiting on any particular thread), like a Treiber retry.
        while (true) {
            for (int i = 0; i < carrierSlots.length(); i++) {
                if (carrierSlots.get(i) == null && carrierSlots.compareAndSet(i, null, m)) {
                    return;
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Registry

    /** Every registered magazine, read without the lock (a possibly stale snapshot). */
    Magazine[] all() {
        return all;
    }

    /** Number of magazines (platform and carrier) registered now. */
    int count() {
        lock.lock();
        try {
            return all.length;
        } finally {
            lock.unlock();
        }
    }

    int carrierCount() {
        lock.lock();
        try {
            return carrierMagazines;
        } finally {
            lock.unlock();
        }
    }

    int carrierSlotCount() {
        return carrierSlots.length();
    }

    /**
     * Adds every registered magazine's counters to {@code snapshot} and its cached and rcu
     * objects to {@code objects[0]} and {@code objects[1]}, and raises {@code objects[2]} to its
     * capacity (racy reads); the number of magazines.
     */
    int addTo(long[] snapshot, long[] objects) {
        lock.lock();
        try {
            for (Magazine m : all) {
                objects[0] += m.cachedObjects();
                objects[1] += m.rcuObjects();
                objects[2] = Math.max(objects[2], m.capacity);
                CacheCounters.addMagazine(snapshot, m);
            }
            return all.length;
        } finally {
            lock.unlock();
        }
    }

    /** Lock held. */
    private void register(Magazine m) {
        Magazine[] old = all;
        Magazine[] next = Arrays.copyOf(old, old.length + 1);
        next[old.length] = m;
        all = next;
    }

    /** Lock held. */
    private void unregister(List<Magazine> gone) {
        Magazine[] old = all;
        Magazine[] next = new Magazine[old.length - gone.size()];
        int n = 0;
        for (Magazine m : old) {
            if (!gone.contains(m)) {
                next[n++] = m;
            }
        }
        all = n == next.length ? next : Arrays.copyOf(next, n);
    }

    /**
     * Flushes the main and spare sheaves to slabs: of every magazine with {@code all} (destroy,
     * close: no other thread may use the cache), else of the calling platform thread's own. A
     * flushed magazine starts again from the base capacity (SheafSizing): the caller asked for
     * the memory back.
     */
    void flushToSlabs(boolean all) {
        SlabNode node = cache.node;
        if (all) {
            for (Magazine m : this.all) {
                m.capacity = sizing.base;
                if (m.mainSize > 0) {
                    node.flushSheaf(m.syncMain(), false);
                    m.loadMain();
                }
                if (m.spare != null && m.spare.size > 0) {
                    node.flushSheaf(m.spare, false);
                }
                endRemote(m, false);
            }
        } else {
            Magazine own = Thread.currentThread().isVirtual() ? null : own();
            if (own != null && !own.busy) {
                own.capacity = sizing.base;
                node.flushSheaf(own.syncMain(), false);
                own.loadMain();
                if (own.spare != null) {
                    node.flushSheaf(own.spare, false);
                }
                endRemote(own, false);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Reclaim

    /** Returns the sheaves of magazines whose platform thread died; the number reclaimed. */
    int reclaimDead() {
        List<Magazine> dead = null;
        lock.lock();
        try {
            for (Magazine m : all) {
                if (!m.retiring && m.ownerDead()) {
                    m.retiring = true;
                    if (dead == null) {
                        dead = new ArrayList<>();
                    }
                    dead.add(m);
                }
            }
        } finally {
            lock.unlock();
        }
        if (dead == null) {
            return 0;
        }
        // Retired while still registered: a concurrent rcuBarrier must still find a dead owner's
        // rcu sheaf, and its flush waits for the closed sheaf's slot store while retire() submits it.
        for (Magazine m : dead) {
            local.remove(m); // a no-op for a magazine of a Sheaf-aware thread (never in the table)
            retire(m);
        }
        lock.lock();
        try {
            unregister(dead);
        } finally {
            lock.unlock();
        }
        return dead.size();
    }

    /** Empties a magazine nobody uses any more (dead owner). */
    private void retire(Magazine m) {
        cache.counters.absorb(m);
        returnSheaf(m.syncMain(), m.capacity);
        m.loadMain();
        returnSheaf(m.spare, m.capacity);
        endRemote(m, true);
        // Close the rcu sheaf the way its owner would, so a barrier flushing concurrently waits
        // until it is submitted instead of finding nothing to take and returning early.
        cache.rcuSheaves.retireRcuSheaf(m);
    }

    /**
     * A magazine's remote frees end (RemoteFrees.close: its remote sheaf and inbox to the barn or
     * slabs; {@code retire} closes the inbox for good), then its home slab goes back to the node.
     */
    private void endRemote(Magazine m, boolean retire) {
        cache.remoteFrees.close(m, retire);
        cache.node.disown(m);
    }

    /**
     * A closed handle's sheaves (SlabCache.Local.close): main and spare go back as a dead owner's
     * do, the rcu sheaf goes to the engine; the magazine stays the owner's, registered and
     * empty. The owner calls this; a call from inside one of its own slow paths (busy: a hook
     * closing a handle) leaves the sheaves where they are.
     */
    void giveBackSheaves(Magazine m) {
        if (m.busy) {
            return;
        }
        m.busy = true;
        try {
            returnSheaf(m.syncMain(), m.capacity);
            m.loadMain();
            returnSheaf(m.spare, m.capacity);
            endRemote(m, false);
            cache.rcuSheaves.retireRcuSheaf(m);
        } finally {
            m.busy = false;
        }
    }

    /**
     * A retired magazine's sheaf: a full one (at least the magazine's {@code capacity}) into the
     * barn as a copy, else its objects to slabs.
     */
    private void returnSheaf(Sheaf s, int capacity) {
        if (s == null || s.size == 0) {
            return;
        }
        if (s.size >= capacity && cache.state() == SlabCache.LIVE) {
            Sheaf copy = new Sheaf(sizing.sheafLength);
            System.arraycopy(s.objects, 0, copy.objects, 0, s.size);
            copy.size = s.size;
            if (cache.barn.putFull(copy)) {
                s.size = 0;
                return;
            }
        }
        cache.node.flushSheaf(s, false);
    }
}
