package dev.sheaf.allocator;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes.
 *
 * The small integer each SlabCache gets for the ThreadMagazines tables: the index of its magazine
 * in a Sheaf-aware thread's array. JVM-wide (a thread may use caches of several allocators), lowest
 * free index first, so the tables stay as short as the number of caches alive at once.
 *
 * An index is released when its cache can no longer install magazines (destroyed, or its allocator
 * closed) and may then go to a new cache. A live thread's table may still hold the old cache's
 * magazine at that index: ThreadMagazines.find trusts a slot only when the magazine names the
 * probing cache (Magazine.cacheId, from nextId: never reused), so a stale entry is a miss and is overwritten by the new
 * cache's magazine on the next install. An allocator that is dropped without close() keeps its
 * indexes (a few dozen ints of table length per allocator; nothing else).
 *
 * Map: nextId; acquire; release.
 */
/** JVM-wide recycling of the caches' ThreadMagazines indexes. */
final class CacheSlotIndexes {

    private static final AtomicLong IDS = new AtomicLong();
    private static final ReentrantLock LOCK = new ReentrantLock();
    @GuardedBy("LOCK")
    private static final BitSet USED = new BitSet();

    private CacheSlotIndexes() {
    }

    /** A new cache's id: positive, JVM-wide, never reused (Magazine.cacheId). */
    static long nextId() {
        return IDS.incrementAndGet();
    }

    /** The lowest index no live cache holds, now held by the caller. */
    static int acquire() {
        LOCK.lock();
        try {
            int i = USED.nextClearBit(0);
            USED.set(i);
            return i;
        } finally {
            LOCK.unlock();
        }
    }

    /** Gives an index back; the cache holding it must never install a magazine again. */
    static void release(int index) {
        LOCK.lock();
        try {
            USED.clear(index);
        } finally {
            LOCK.unlock();
        }
    }
}
