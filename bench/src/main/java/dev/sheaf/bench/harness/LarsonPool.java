package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import java.util.concurrent.atomic.AtomicLongArray;

/*
 * Implementation notes
 *
 * One Larson thread's state: its pool of live objects, its random stream and its counts. It is what
 * the original benchmark hands from a thread to the fresh thread that continues it, so both Larson
 * workloads run their loop here: LarsonWorkload keeps one pool per thread for the whole run and
 * passes 1 old object in 8 through a shared mailbox; LarsonFreshThreadWorkload hands the pool to a
 * new thread every so many replacements and passes nothing sideways.
 *
 * Invariants: every slot of the pool holds a live, stamped object between calls; allocated - freed
 * equals the pool's size plus what this pool put into a mailbox minus what it took out and freed.
 * replace() works on locals and writes the counts back once, so the JIT keeps the loop in registers.
 *
 * Threading: one thread at a time. A pool moves between threads only across Thread.start or
 * Thread.join, which order the previous owner's writes (fields and the objects' stamps) before the
 * next owner's reads. Mailbox slots are exchanged with getAndSet (a full fence), so a neighbour's
 * object arrives with its stamp visible.
 *
 * Map: the constructor (fills the pool), replace (the measured loop), freeAll, the counts.
 */

/** A Larson thread's pool of live objects of random sizes, and the replacement loop both Larson workloads run. */
final class LarsonPool {
    /** Replacements between two reads of the clock. */
    private static final int CHECK_CLOCK_EVERY = 256;

    private final AllocatorPeer peer;
    private final WorkloadConfig config;
    private final int owner;
    private final FastRandom rnd;
    private final long[] objects;
    private long allocated;
    private long freed;
    private long replaced;

    /** Allocates and stamps {@code config.poolSize()} objects on the calling thread; {@code owner} goes in each stamp. */
    LarsonPool(AllocatorPeer peer, WorkloadConfig config, int owner) {
        this.peer = peer;
        this.config = config;
        this.owner = owner;
        this.rnd = new FastRandom(config.seed() + owner);
        this.objects = new long[config.poolSize()];
        for (int i = 0; i < objects.length; i++) {
            long size = rnd.between(config.minSize(), config.maxSize());
            objects[i] = peer.allocate(size);
            Stamp.write(peer, objects[i], size, owner);
        }
        allocated = objects.length;
    }

    /**
     * Replaces random objects (free the old one, allocate one of a random size in its slot) until
     * {@code limit} replacements are done or the clock passes {@code deadline}, whichever comes first;
     * at least one batch is done however late. With a {@code mailbox}, one replacement in eight puts the
     * old object into a random slot of it instead and frees whatever another thread left there.
     *
     * @return the replacements made by this call
     */
    long replace(long deadline, long limit, AtomicLongArray mailbox) {
        AllocatorPeer p = peer;
        FastRandom r = rnd;
        long[] pool = objects;
        int min = config.minSize();
        int max = config.maxSize();
        long allocs = 0;
        long frees = 0;
        long done = 0;
        while (true) {
            int batch = (int) Math.min(CHECK_CLOCK_EVERY, limit - done);
            for (int k = 0; k < batch; k++) {
                int slot = r.nextInt(pool.length);
                long old = pool[slot];
                long oldSize = Stamp.size(p, old);
                if (mailbox != null && (r.nextLong() & 7) == 0) {
                    // publish ours, free a neighbour's (getAndSet: full fence, so its stamp is visible)
                    long other = mailbox.getAndSet(r.nextInt(mailbox.length()), old);
                    if (other != 0) {
                        p.free(other, Stamp.size(p, other));
                        frees++;
                    }
                } else {
                    p.free(old, oldSize);
                    frees++;
                }
                long size = r.between(min, max);
                long h = p.allocate(size);
                Stamp.write(p, h, size, owner);
                pool[slot] = h;
                allocs++;
            }
            done += batch;
            if (done >= limit || System.nanoTime() - deadline >= 0) {
                break;
            }
        }
        allocated += allocs;
        freed += frees;
        replaced += done;
        return done;
    }

    /** Frees every object of the pool (the pool is unusable afterwards). */
    void freeAll() {
        for (long h : objects) {
            peer.free(h, Stamp.size(peer, h));
            freed++;
        }
    }

    /** Objects this pool allocated, the initial fill included. */
    long allocated() {
        return allocated;
    }

    /** Objects this pool freed (its own and those it took from a mailbox). */
    long freed() {
        return freed;
    }

    /** Replacements made: Larson's operation count. */
    long replaced() {
        return replaced;
    }
}
