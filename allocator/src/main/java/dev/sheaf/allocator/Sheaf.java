package dev.sheaf.allocator;

import dev.sheaf.allocator.rcufree.RcuSheaf;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Implementation notes.
 *
 * A sheaf: a fixed-capacity stack of free object addresses (the kernel's struct slab_sheaf).
 * Owned by exactly one party at a time - a magazine, the barn, or the free-after-grace-period
 * engine while it waits for a grace period - so `objects` and `size` are plain; ownership
 * transfers go through a lock or a volatile/atomic publication that orders them.
 *
 * While a sheaf is a magazine's rcu sheaf, other threads may steal its objects (RcuSheaves notes):
 * `published` and `taken` each pack (generation << 32 | count). The owner alone writes
 * `published` (release, after the object and its state byte), so objects[0, count) of that
 * generation are stored; `taken` is the prefix no longer the owner's, moved forward only by CAS
 * (stealers, and the owner's close to the capacity). During that life `size` is not used: the
 * owner's count is published's. Outside that life (barn, main, engine) the pair stays as the last
 * rcu life left it, closed (taken count == capacity) or never opened (both zero), so a stealer
 * holding a stale reference finds nothing to take. A generation is an int: it wraps after 2^32
 * lives of one sheaf, and a stealer would have to stall across all of them to be fooled.
 * No padding between the two: `taken` is written once per life by the owner's close and only
 * rarely by stealers (a barrier, the aged flush), so the owner's cache line is seldom disturbed.
 *
 * Map: fields and VarHandles; capacity table; constructors; RcuSheaf view; the packed pair.
 */
final class Sheaf extends RcuSheaf {

    static final VarHandle PUBLISHED;
    static final VarHandle TAKEN;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PUBLISHED = l.findVarHandle(Sheaf.class, "published", long.class);
            TAKEN = l.findVarHandle(Sheaf.class, "taken", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final long[] objects;
    int size;
    /** (generation << 32 | count) stored by the rcu owner; read by stealers with acquire. */
    long published;
    /** (generation << 32 | count) of the prefix no longer the owner's; changed only by CAS. */
    long taken;
    /**
     * In a magazine's inbox (RemoteFrees): the sheaf below this one and this one's depth (1 at
     * the bottom), written by the sender before the CAS that publishes the sheaf.
     */
    Sheaf below;
    int depth;

    /** The kernel's sheaf capacity table (objects per sheaf by object size). */
    static int defaultCapacity(long objectSize) {
        if (objectSize < 256) {
            return 60;
        }
        if (objectSize < 1024) {
            return 26;
        }
        if (objectSize < 4096) {
            return 12;
        }
        return 4;
    }

    Sheaf(int capacity) {
        this.objects = new long[capacity];
    }

    Sheaf(long[] objects, int size) {
        this.objects = objects;
        this.size = size;
    }

    @Override
    protected long[] addresses() {
        return objects;
    }

    @Override
    protected int count() {
        return size;
    }

    boolean isFull() {
        return size == objects.length;
    }

    boolean isEmpty() {
        return size == 0;
    }

    static long pack(int generation, int count) {
        return (long) generation << 32 | (count & 0xffff_ffffL);
    }

    static int generation(long packed) {
        return (int) (packed >>> 32);
    }

    static int count(long packed) {
        return (int) packed;
    }

    /** Objects published and not taken (racy, for statistics and the pending-bytes sum). */
    int rcuHeld() {
        long p = (long) PUBLISHED.getAcquire(this);
        long t = (long) TAKEN.getVolatile(this);
        return generation(p) == generation(t) ? Math.max(0, count(p) - count(t)) : 0;
    }
}
