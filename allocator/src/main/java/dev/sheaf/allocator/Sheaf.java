package dev.sheaf.allocator;

/*
 * A sheaf: a fixed-capacity stack of free object addresses (the kernel's struct slab_sheaf).
 * Owned by exactly one party at a time - a magazine, the barn, or the free-after-grace-period
 * engine while it waits for a grace period - so its fields are plain; ownership transfers go
 * through a lock or a volatile/atomic publication that orders them.
 */
final class Sheaf {

    final long[] objects;
    int size;
    /**
     * The engine's batch record for this sheaf while it waits for a grace period, created on the
     * first submission and reused by every later one, so an rcu sheaf costs no allocation per trip.
     * Touched only by the engine, between submitRcuSheaf and the rcuSheafReady hand-back.
     */
    RcuBatch rcuBatch;

    Sheaf(int capacity) {
        this.objects = new long[capacity];
    }

    Sheaf(long[] objects, int size) {
        this.objects = objects;
        this.size = size;
    }

    boolean isFull() {
        return size == objects.length;
    }

    boolean isEmpty() {
        return size == 0;
    }
}
