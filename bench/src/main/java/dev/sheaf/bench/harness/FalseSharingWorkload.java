package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import dev.sheaf.bench.peer.RawMemory;

/**
 * Hoard's cache-thrash and cache-scratch tests. Each thread loops: allocate a small object, write
 * its bytes many times, free it. An allocator that hands objects on one cache line to different
 * threads makes those writes fight over the line (active false sharing: thrash). In scratch, every
 * thread first frees an object the main thread allocated next to the others' objects; an allocator
 * that then reuses that memory for the thread's own objects drags the sharing along (passive
 * false sharing). One operation = one allocate/write/free round.
 */
public final class FalseSharingWorkload implements Workload {
    /** Byte writes per round, as in Hoard's tests (they use a repetition count of the same order). */
    private static final int WRITES = 100;
    private static final int OBJECT_SIZE = 8;

    private final boolean scratch;

    private FalseSharingWorkload(boolean scratch) {
        this.scratch = scratch;
    }

    public static FalseSharingWorkload thrash() {
        return new FalseSharingWorkload(false);
    }

    public static FalseSharingWorkload scratch() {
        return new FalseSharingWorkload(true);
    }

    @Override
    public String name() {
        return scratch ? "cache-scratch" : "cache-thrash";
    }

    @Override
    public String description() {
        return scratch ? "passive false sharing: threads free neighbouring objects from main, then churn small objects"
                : "active false sharing: threads churn small objects and write them";
    }

    @Override
    public long maxObjectSize(WorkloadConfig config) {
        return OBJECT_SIZE;
    }

    @Override
    public String unsupportedReason(AllocatorPeer peer, WorkloadConfig config) {
        return scratch && !peer.crossThreadFree() ? "frees objects allocated by the main thread" : null;
    }

    @Override
    public WorkloadResult run(AllocatorPeer peer, WorkloadConfig c) throws InterruptedException {
        int threads = c.threads();
        long[] initial = new long[threads];
        if (scratch) {
            for (int i = 0; i < threads; i++) {
                initial[i] = peer.allocate(OBJECT_SIZE); // allocated back to back by one thread
            }
        }
        long start = System.nanoTime();
        long deadline = start + c.nanos();
        long[] ops = Workers.run(name(), threads, index -> {
            if (scratch) {
                peer.free(initial[index], OBJECT_SIZE);
            }
            long rounds = 0;
            byte b = (byte) index;
            do { // at least one batch, however late the thread started
                for (int k = 0; k < 64; k++) {
                    long h = peer.allocate(OBJECT_SIZE);
                    long a = peer.address(h);
                    for (int w = 0; w < WRITES; w++) {
                        RawMemory.putByte(a + (w & (OBJECT_SIZE - 1)), (byte) (RawMemory.getByte(a) + b));
                    }
                    peer.free(h, OBJECT_SIZE);
                }
                rounds += 64;
            } while (System.nanoTime() - deadline < 0);
            return rounds;
        });
        long elapsed = System.nanoTime() - start;
        return new WorkloadResult(name(), peer.name(), Workers.sum(ops), elapsed)
                .note(threads + " threads, " + OBJECT_SIZE + "-byte objects, " + WRITES + " writes each");
    }
}
