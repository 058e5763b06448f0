package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Larson and Krishnan's server workload: each thread keeps a pool of live objects of random
 * sizes (8 to 1000 bytes by default) and repeatedly replaces a random one. One replacement in
 * eight hands the old object to a shared mailbox instead of freeing it and frees whatever another
 * thread left there, so objects are regularly freed by threads that did not allocate them (the
 * original passes whole pools to new threads; the mailbox gives the same cross-thread traffic
 * without thread creation in the measurement). One operation = one allocation plus one free.
 */
public final class LarsonWorkload implements Workload {
    private static final int MAILBOX_SLOTS_PER_THREAD = 64;
    private static final int CHECK_CLOCK_EVERY = 256;

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
            FastRandom rnd = new FastRandom(c.seed() + index);
            long[] pool = new long[c.poolSize()];
            long allocs = 0;
            long frees = 0;
            for (int i = 0; i < pool.length; i++) {
                long size = rnd.between(c.minSize(), c.maxSize());
                pool[i] = peer.allocate(size);
                Stamp.write(peer, pool[i], size, index);
                allocs++;
            }
            long replaced = 0;
            while (true) {
                for (int k = 0; k < CHECK_CLOCK_EVERY; k++) {
                    int slot = rnd.nextInt(pool.length);
                    long old = pool[slot];
                    long oldSize = Stamp.size(peer, old);
                    if ((rnd.nextLong() & 7) == 0) {
                        // publish ours, free a neighbour's (getAndSet: full fence, so its stamp is visible)
                        long other = mailbox.getAndSet(rnd.nextInt(mailbox.length()), old);
                        if (other != 0) {
                            peer.free(other, Stamp.size(peer, other));
                            frees++;
                        }
                    } else {
                        peer.free(old, oldSize);
                        frees++;
                    }
                    long size = rnd.between(c.minSize(), c.maxSize());
                    long h = peer.allocate(size);
                    Stamp.write(peer, h, size, index);
                    pool[slot] = h;
                    allocs++;
                }
                replaced += CHECK_CLOCK_EVERY;
                if (System.nanoTime() - deadline >= 0) {
                    break;
                }
            }
            for (long h : pool) {
                peer.free(h, Stamp.size(peer, h));
                frees++;
            }
            allocated.addAndGet(allocs);
            freed.addAndGet(frees);
            return replaced;
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
