package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Larson and Krishnan's server workload: each thread keeps a pool of live objects of random
 * sizes (8 to 1000 bytes by default) and repeatedly replaces a random one. One replacement in
 * eight hands the old object to a shared mailbox instead of freeing it and frees whatever another
 * thread left there, so objects are regularly freed by threads that did not allocate them (the
 * original passes whole pools to new threads, which {@link LarsonFreshThreadWorkload} does; the
 * mailbox gives cross-thread traffic without thread creation in the measurement). One operation =
 * one allocation plus one free. The loop is {@link LarsonPool}'s, shared with the fresh-thread form.
 */
public final class LarsonWorkload implements Workload {
    private static final int MAILBOX_SLOTS_PER_THREAD = 64;

    @Override
    public String name() {
        return "larson";
    }

    @Override
    public String description() {
        return "server pattern: random sizes, per-thread pools of live objects, 1/8 freed by another thread";
    }

    @Override
    public long maxObjectSize(WorkloadConfig config) {
        return config.maxSize();
    }

    @Override
    public String unsupportedReason(AllocatorPeer peer, WorkloadConfig config) {
        if (!peer.crossThreadFree()) {
            return "objects are freed by other threads";
        }
        if (peer.maxSize() < config.maxSize()) {
            return "serves at most " + peer.maxSize() + " bytes, workload needs " + config.maxSize();
        }
        return null;
    }

    @Override
    public WorkloadResult run(AllocatorPeer peer, WorkloadConfig c) throws InterruptedException {
        int threads = c.threads();
        AtomicLongArray mailbox = new AtomicLongArray(threads * MAILBOX_SLOTS_PER_THREAD);
        AtomicLong allocated = new AtomicLong();
        AtomicLong freed = new AtomicLong();
        long start = System.nanoTime();
        long deadline = start + c.nanos();
        long[] ops = Workers.run("larson", threads, index -> {
            LarsonPool pool = new LarsonPool(peer, c, index);
            pool.replace(deadline, Long.MAX_VALUE, mailbox);
            pool.freeAll();
            allocated.addAndGet(pool.allocated());
            freed.addAndGet(pool.freed());
            return pool.replaced();
        });
        long elapsed = System.nanoTime() - start;
        long leftovers = 0;
        for (int i = 0; i < mailbox.length(); i++) {
            long h = mailbox.getAndSet(i, 0);
            if (h != 0) {
                peer.free(h, Stamp.size(peer, h));
                leftovers++;
            }
        }
        if (allocated.get() != freed.get() + leftovers) {
            throw new IllegalStateException("larson lost objects: allocated " + allocated + ", freed "
                    + (freed.get() + leftovers));
        }
        return new WorkloadResult(name(), peer.name(), Workers.sum(ops), elapsed)
                .figure("objectsAllocated", allocated.get())
                .note(threads + " threads, " + c.poolSize() + " live objects each, sizes " + c.minSize() + "-"
                        + c.maxSize() + " B");
    }
}
