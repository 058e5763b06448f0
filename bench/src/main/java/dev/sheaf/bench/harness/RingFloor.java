package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;

import java.lang.foreign.Arena;

/**
 * No allocator at all for the producer/consumer workloads: each allocating thread bumps a pointer
 * through a region of its own, wrapping at its end, and freeing does nothing. Objects die in the
 * order they were made (through one ring), and the region is twice what a full ring of the
 * largest objects holds, so no live object is handed out twice and the stamps still check. What the workload measures with it is the hand-over through the ring
 * and the object's cache lines moving between the cores, which no allocator can go below. Only
 * for {@code xmalloc} and {@code producer-consumer} (objects of at most 256 bytes that die in
 * allocation order): {@code peers=dev.sheaf.bench.harness.RingFloor,...}.
 */
public final class RingFloor implements AllocatorPeer {
    static final String NAME = "ring-floor";
    /** The largest object, and the bytes a region holds (twice a full ring of 4096 such). */
    private static final long MAX = 256;
    private static final long REGION = 2 * 4096 * MAX;

    private final Arena arena = Arena.ofShared();
    private final ThreadLocal<Region> regions = ThreadLocal.withInitial(Region::new);

    /** A floor with no region yet (each allocating thread gets one on its first allocation). */
    public RingFloor() {
    }

    /** One thread's region and the offset of its next object. */
    private final class Region {
        final long base = arena.allocate(REGION, 64).address();
        long next;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public long allocate(long size) {
        if (size > MAX) {
            throw new IllegalArgumentException(size + " bytes asked of the ring floor (at most " + MAX + ")");
        }
        Region r = regions.get();
        long at = r.next;
        long end = at + ((size + 15) & ~15L);
        if (end > REGION) {
            at = 0;
            end = (size + 15) & ~15L;
        }
        r.next = end;
        return r.base + at;
    }

    @Override
    public void free(long handle, long size) {
        // nothing to free: the bump pointer comes round again
    }

    @Override
    public void close() {
        arena.close();
    }
}
