package dev.sheaf.allocator;

import java.util.Arrays;

/*
 * Implementation notes.
 *
 * A Sheaf-aware thread's own magazines, indexed by cache (SlabCache.threadIndex, from
 * CacheSlotIndexes): the Java stand-in for this_cpu_ptr() on threads Sheaf knows, the trick of
 * Netty's FastThreadLocalThread. The fast paths find it with Thread.currentThread() and an exact
 * class check of SheafThreads.FactoryThread (a final class: one klass compare), then the
 * SheafThread interface for other classes; an ordinary thread pays only those type checks before
 * its PerThreadTable probe.
 *
 * Invariants:
 *  - only the owner thread reads or writes `byCache` (the owner check in of() enforces it even
 *    for a SheafThread that hands out another thread's table), so every access is plain;
 *  - a slot is trusted only if its magazine names the probing cache (Magazine.cacheId, a
 *    JVM-wide id never reused): indexes are recycled after a cache dies, and a stale magazine is
 *    then a miss, never a wrong hit; a magazine holds no reference to its cache, so a stale
 *    entry keeps only its (emptied) sheaves reachable, never a closed allocator;
 *  - a magazine installed here is registered in its cache's MagazineRegistry and is NOT put into
 *    the cache's PerThreadTable: for such a thread this table is the one place its magazine is
 *    found (MagazineRegistry.own), so plain API and handles always agree.
 * The array grows on demand (to the highest index used, doubled) and dies with the thread; the
 * magazines in it are reclaimed as any dead thread's are (MagazineRegistry.reclaimDead: the owner
 * is dead).
 *
 * Map: constructor; of (which table, if any); find; install.
 */
/**
 * The magazine table of one {@link SheafThread}: create one per thread, in that thread's
 * constructor ({@code new ThreadMagazines(this)}), and return it from
 * {@link SheafThread#sheafMagazines()}. It has no public operations; Sheaf uses it only on its
 * owner thread.
 */
public final class ThreadMagazines {

    private static final Magazine[] NONE = new Magazine[0];

    private final Thread owner;
    /** Magazines by cache index; stale entries of dead caches are ignored (see the notes). Owner-only. */
    private Magazine[] byCache = NONE;

    /**
     * An empty table for {@code owner}.
     *
     * @param owner the thread whose table this is (the thread under construction)
     * @throws IllegalArgumentException if {@code owner} is null
     */
    public ThreadMagazines(Thread owner) {
        if (owner == null) {
            throw new IllegalArgumentException("owner is null");
        }
        this.owner = owner;
    }

    /**
     * The table of {@code t} (the calling thread), or null for a thread that has none. The final
     * factory class is checked first: an exact klass compare, where an interface check scans the
     * class's secondary supers.
     */
    static ThreadMagazines of(Thread t) {
        if (t instanceof SheafThreads.FactoryThread f) {
            return f.magazines;
        }
        if (t instanceof SheafThread s) {
            ThreadMagazines tm = s.sheafMagazines();
            return tm != null && tm.owner == t ? tm : null;
        }
        return null;
    }

    /** The owner's magazine of {@code c}, or null. Owner thread only. */
    Magazine find(SlabCache c) {
        Magazine[] a = byCache;
        int i = c.threadIndex;
        if (i < a.length) {
            Magazine m = a[i];
            if (m != null && m.cacheId == c.id) {
                return m;
            }
        }
        return null;
    }

    /** Installs the owner's new magazine of {@code c} (replacing a stale one). Owner thread only. */
    void install(SlabCache c, Magazine m) {
        int i = c.threadIndex;
        if (i >= byCache.length) {
            byCache = Arrays.copyOf(byCache, Math.max(i + 1, byCache.length * 2));
        }
        byCache[i] = m;
    }
}
