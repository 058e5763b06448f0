package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;

/*
 * Implementation notes
 *
 * Larson and Krishnan's benchmark in its original form: each of `threads` lineages owns a pool of
 * live objects (LarsonPool); a thread of the lineage replaces random objects for a fixed number of
 * replacements, then exits, and a freshly started thread continues with the same pool. Objects are
 * therefore freed by threads that did not allocate them, and every allocator thread cache is
 * orphaned by its thread's death while the objects it served live on: dead-thread reclaim and
 * thread start-up are part of the measurement, as in the original.
 *
 * Shape: Workers starts one long-lived thread per lineage. It fills the pool (the original's main
 * thread does the warm-up fill), then starts each generation's thread and joins it, so exactly one
 * thread works on a pool at a time; Thread.start and Thread.join order one generation's writes
 * before the next one's reads. The lineage thread is blocked in join while a generation runs, so
 * only `threads` threads compete for CPUs. After the deadline it frees the pool.
 *
 * Counting: one operation = one replacement (one free plus one allocation), as in LarsonWorkload;
 * the fill and the final free are not counted; thread start-up time is inside the timing.
 *
 * Map: REPLACEMENTS_PER_POOL_OBJECT (a thread's life), run (lineages), lineage (one lineage's
 * generations), Generation (one fresh thread's work and its failure).
 */

/**
 * Larson as the original runs it: 2 threads (by default) with pools of live objects of 8 to 1000
 * bytes, where every thread, after a fixed number of replacements, hands its pool to a fresh
 * thread and exits. Remote frees, thread churn and reclaiming dead threads' caches are all part of
 * it. Operations are counted as in {@link LarsonWorkload}; the replacement loop is the same
 * ({@link LarsonPool}).
 */
public final class LarsonFreshThreadWorkload implements Workload {
    /** A thread's life: this many replacements per object of the pool (10 000 for the default pool of 1000). */
    static final int REPLACEMENTS_PER_POOL_OBJECT = 10;

    private final LarsonWorkload larson = new LarsonWorkload();

    @Override
    public String name() {
        return "larson-fresh";
    }

    @Override
    public String description() {
        return "Larson's original form: every thread hands its pool of live objects to a fresh thread after "
                + REPLACEMENTS_PER_POOL_OBJECT + " x pool size replacements and exits";
    }

    @Override
    public long maxObjectSize(WorkloadConfig config) {
        return larson.maxObjectSize(config);
    }

    @Override
    public String unsupportedReason(AllocatorPeer peer, WorkloadConfig config) {
        return larson.unsupportedReason(peer, config);
    }

    @Override
    public WorkloadResult run(AllocatorPeer peer, WorkloadConfig c) throws InterruptedException {
        int lineages = c.threads();
        long perThread = (long) REPLACEMENTS_PER_POOL_OBJECT * c.poolSize();
        long[] generations = new long[lineages];
        long[] allocated = new long[lineages];
        long[] freed = new long[lineages];
        long start = System.nanoTime();
        long deadline = start + c.nanos();
        long[] ops = Workers.run("larson-fresh", lineages, index -> {
            LarsonPool pool = new LarsonPool(peer, c, index);
            generations[index] = lineage(pool, index, deadline, perThread);
            pool.freeAll();
            allocated[index] = pool.allocated();
            freed[index] = pool.freed();
            return pool.replaced();
        }); // Workers.run joins the lineage threads: their array writes are visible here
        long elapsed = System.nanoTime() - start;
        for (int i = 0; i < lineages; i++) {
            if (allocated[i] != freed[i]) {
                throw new IllegalStateException("larson-fresh lost objects: lineage " + i + " allocated "
                        + allocated[i] + ", freed " + freed[i]);
            }
        }
        return new WorkloadResult(name(), peer.name(), Workers.sum(ops), elapsed)
                .figure("objectsAllocated", Workers.sum(allocated))
                .figure("threadGenerations", Workers.sum(generations))
                .note(lineages + " threads, " + c.poolSize() + " live objects each, sizes " + c.minSize() + "-"
                        + c.maxSize() + " B, a fresh thread every " + perThread + " replacements");
    }

    /** Runs fresh threads on {@code pool} one after the other until the deadline; returns how many ran. */
    private static long lineage(LarsonPool pool, int index, long deadline, long perThread) throws InterruptedException {
        long count = 0;
        do { // at least one generation, however late the lineage started
            Generation g = new Generation(pool, deadline, perThread);
            Thread t = Thread.ofPlatform().name("larson-fresh-" + index + "-" + count).start(g);
            t.join();
            count++;
            if (g.failure != null) {
                if (g.failure instanceof RuntimeException re) {
                    throw re;
                }
                if (g.failure instanceof Error e) {
                    throw e;
                }
                throw new IllegalStateException("larson-fresh generation failed", g.failure);
            }
        } while (System.nanoTime() - deadline < 0);
        return count;
    }

    /** One fresh thread's life on a pool; its failure is read by the lineage thread after join. */
    private static final class Generation implements Runnable {
        private final LarsonPool pool;
        private final long deadline;
        private final long replacements;
        /** Written by the generation thread, read after Thread.join (which orders it). */
        private Throwable failure;

        Generation(LarsonPool pool, long deadline, long replacements) {
            this.pool = pool;
            this.deadline = deadline;
            this.replacements = replacements;
        }

        @Override
        public void run() {
            try {
                pool.replace(deadline, replacements, null);
            } catch (Throwable t) {
                failure = t;
            }
        }
    }
}
