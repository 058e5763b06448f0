package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;

/**
 * Threads that allocate and die while their objects live on: in every round {@code threads}
 * fresh platform threads each free their share of the previous round's objects (allocated by
 * threads that have since exited) and allocate {@code poolSize} new ones. Allocators with
 * per-thread caches must hand a dead thread's cache back, or memory leaks round after round.
 * One operation = one object allocated (and later freed). Thread start-up is inside the timing,
 * as it is for a service that spawns threads.
 */
public final class ThreadChurnWorkload implements Workload {
    private static final int SIZE = 64;

    @Override
    public String name() {
        return "thread-churn";
    }

    @Override
    public String description() {
        return "short-lived threads allocate objects that outlive them; the next round's threads free them";
    }

    @Override
    public long maxObjectSize(WorkloadConfig config) {
        return SIZE;
    }

    @Override
    public String unsupportedReason(AllocatorPeer peer, WorkloadConfig config) {
        return peer.crossThreadFree() ? null : "objects are freed by threads that did not allocate them";
    }

    @Override
    public WorkloadResult run(AllocatorPeer peer, WorkloadConfig c) throws InterruptedException {
        int threads = c.threads();
        int perThread = c.poolSize();
        long[][][] generations = {new long[threads][], new long[threads][]};
        long start = System.nanoTime();
        long deadline = start + c.nanos();
        long objects = 0;
        int rounds = 0;
        do {
            long[][] live = generations[rounds & 1];
            long[][] born = generations[(rounds + 1) & 1];
            // Thread.join in Workers.run orders each round's stores before the next round's loads
            Workers.run("churn", threads, index -> {
                long[] previous = live[index];
                live[index] = null;
                if (previous != null) {
                    for (long h : previous) {
                        peer.free(h, Stamp.size(peer, h));
                    }
                }
                long[] mine = new long[perThread];
                for (int i = 0; i < perThread; i++) {
                    mine[i] = peer.allocate(SIZE);
                    Stamp.write(peer, mine[i], SIZE, index);
                }
                born[(index + 1) % threads] = mine; // a different thread frees them next round
                return perThread;
            });
            objects += (long) threads * perThread;
            rounds++;
        } while (System.nanoTime() - deadline < 0);
        long elapsed = System.nanoTime() - start;
        for (long[] objs : generations[rounds & 1]) {
            for (long h : objs) {
                peer.free(h, Stamp.size(peer, h));
            }
        }
        return new WorkloadResult(name(), peer.name(), objects, elapsed)
                .figure("threadGenerations", rounds)
                .note(threads + " threads per round, " + perThread + " objects of " + SIZE + " B each");
    }
}
