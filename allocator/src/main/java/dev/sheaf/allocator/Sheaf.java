package dev.sheaf.allocator;

import dev.sheaf.allocator.rcufree.RcuSheaf;

/*
 * A sheaf: a fixed-capacity stack of free object addresses (the kernel's struct slab_sheaf).
 * Owned by exactly one party at a time - a magazine, the barn, or the free-after-grace-period
 * engine while it waits for a grace period - so its fields are plain; ownership transfers go
 * through a lock or a volatile/atomic publication that orders them.
 */
final class Sheaf extends RcuSheaf {

    final long[] objects;
    int size;

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
}
